//! The source tree's shape: imports between top-level modules form no circle, and files stay
//! small enough to read.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Files allowed over [`MAX_LINES`]: tables of rules, read row by row.
const TABLES: &[&str] = &["flags/rules.rs"];
const MAX_LINES: usize = 500;

fn src() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("src")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The top-level module a file belongs to: `fetch` for `src/fetch/lock.rs`, `node` for
/// `src/node.rs`; `None` for the crate root files.
fn owner(relative: &Path) -> Option<String> {
    let first = relative.components().next()?.as_os_str().to_str()?;
    let name = first.trim_end_matches(".rs");
    (!matches!(name, "lib" | "main")).then(|| name.to_string())
}

/// The top-level modules `text` names through `crate::`: `crate::a::b`, `crate::{a, b::c}`.
fn crate_refs(text: &str) -> BTreeSet<String> {
    let mut refs = BTreeSet::new();
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    for (at, _) in text.match_indices("crate::") {
        let rest = &text[at + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            // Top-level items of the group: split at commas outside nested braces.
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in group.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' if depth == 0 => {
                        refs.insert(ident(group[start..i].trim()));
                        break;
                    }
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        refs.insert(ident(group[start..i].trim()));
                        start = i + 1;
                    }
                    _ => {}
                }
            }
        } else {
            refs.insert(ident(rest));
        }
    }
    refs.remove("");
    refs.remove("self");
    refs
}

fn import_graph() -> BTreeMap<String, BTreeSet<String>> {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in files {
        let Some(module) = owner(file.strip_prefix(&root).unwrap()) else {
            continue;
        };
        let text = std::fs::read_to_string(&file).unwrap();
        let edges = graph.entry(module.clone()).or_default();
        edges.extend(crate_refs(&text).into_iter().filter(|m| *m != module));
    }
    graph
}

/// A circle in `graph`, as the path that closes it.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        done: &mut BTreeSet<String>,
        path: &mut Vec<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_string());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_string());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(cycle) = visit(next, graph, done, path) {
                return Some(cycle);
            }
        }
        path.pop();
        done.insert(node.to_string());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut done, &mut Vec::new()))
}

#[test]
fn crate_refs_reads_paths_and_groups() {
    let text = "use crate::fetch::{self, Paths};\nuse crate::{exec, flags::{self, Plan}, fsutil};\nlet x = crate::node::parse(s);";
    let got: Vec<_> = crate_refs(text).into_iter().collect();
    assert_eq!(got, ["exec", "fetch", "flags", "fsutil", "node"]);
}

#[test]
fn find_cycle_names_the_circle() {
    let graph: BTreeMap<String, BTreeSet<String>> = [
        ("a", vec!["b"]),
        ("b", vec!["c"]),
        ("c", vec!["a"]),
        ("d", vec![]),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(find_cycle(&graph).unwrap(), ["a", "b", "c", "a"]);
}

#[test]
fn top_level_modules_import_without_circles() {
    let graph = import_graph();
    assert!(graph.contains_key("error") && graph.contains_key("fetch"));
    if let Some(cycle) = find_cycle(&graph) {
        panic!("import circle between modules: {}", cycle.join(" -> "));
    }
}

#[test]
fn source_files_stay_under_the_size_limit() {
    let root = src();
    let mut files = Vec::new();
    rust_files(&root, &mut files);
    let mut long = Vec::new();
    for file in files {
        let relative = file
            .strip_prefix(&root)
            .unwrap()
            .to_string_lossy()
            .into_owned();
        let lines = std::fs::read_to_string(&file).unwrap().lines().count();
        if lines > MAX_LINES && !TABLES.contains(&relative.as_str()) {
            long.push(format!("{relative} ({lines} lines)"));
        }
    }
    assert!(long.is_empty(), "files over {MAX_LINES} lines: {long:?}");
}

/// The sibling files `text` names through `super::` (outside its tests): `super::a::b`,
/// `super::{a, b}`. Names that are not files of `siblings` (items of `mod.rs`) are left out.
fn sibling_refs(text: &str, siblings: &BTreeSet<String>) -> BTreeSet<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or_default();
    crate_refs(&code.replace("super::", "crate::"))
        .into_iter()
        .filter(|m| siblings.contains(m))
        .collect()
}

#[test]
fn files_of_a_module_folder_import_each_other_without_circles() {
    let root = src();
    let mut checked = 0;
    for entry in std::fs::read_dir(&root).unwrap() {
        let dir = entry.unwrap().path();
        if !dir.is_dir() {
            continue;
        }
        let files: BTreeMap<String, PathBuf> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "rs"))
            .filter_map(|p| {
                let stem = p.file_stem()?.to_str()?.to_string();
                (stem != "mod").then_some((stem, p))
            })
            .collect();
        let siblings: BTreeSet<String> = files.keys().cloned().collect();
        let graph: BTreeMap<String, BTreeSet<String>> = files
            .iter()
            .map(|(stem, path)| {
                let text = std::fs::read_to_string(path).unwrap();
                let mut refs = sibling_refs(&text, &siblings);
                refs.remove(stem);
                (stem.clone(), refs)
            })
            .collect();
        if let Some(cycle) = find_cycle(&graph) {
            panic!(
                "import circle between the files of src/{}/: {}",
                dir.file_name().unwrap().to_string_lossy(),
                cycle.join(" -> ")
            );
        }
        checked += 1;
    }
    assert!(checked >= 4, "no module folders found");
}

#[test]
fn sibling_refs_read_super_paths_and_skip_tests() {
    let siblings: BTreeSet<String> = ["retry", "failure", "network"]
        .into_iter()
        .map(String::from)
        .collect();
    let text = "use super::failure::FetchError;\nuse super::{Error, network::Network};\n#[cfg(test)]\nmod tests { use super::retry; }";
    let got: Vec<_> = sibling_refs(text, &siblings).into_iter().collect();
    assert_eq!(got, ["failure", "network"]);
}
