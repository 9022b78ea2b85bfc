//! Holds the rules to their evidence: `docs/flags.md` lists every flag and config field each
//! release gets and the flags each release deprecates; the README's release table is checked
//! against it, and every `ran:` mark (a row the e2e test passed to real components) names full
//! releases inside its row's range that its settings emit the row for. Test-only.

use std::collections::BTreeMap;

use serde_json::Value;

use super::Plan;
use crate::component::Component;

const DOC: &str = include_str!("../../docs/flags.md");
const README: &str = include_str!("../../README.md");

/// A row of the evidence table.
struct Row {
    subject: String,
    from: u32,
    to: u32,
    items: Vec<String>,
    checked: String,
}

/// A row of the deprecation table.
struct Deprecation {
    component: String,
    flag: String,
    from: u32,
    current_from: Option<u32>,
}

/// The cells of the table rows under `heading`, header and separator skipped.
fn table(text: &str, heading: &str) -> Vec<Vec<String>> {
    let start = text
        .find(heading)
        .unwrap_or_else(|| panic!("no {heading:?} section"));
    text[start..]
        .lines()
        .skip_while(|l| !l.starts_with('|'))
        .take_while(|l| l.starts_with('|'))
        .skip(2)
        .map(|l| {
            l.trim_matches('|')
                .split(" | ")
                .map(|c| c.trim().to_string())
                .collect()
        })
        .collect()
}

/// `1.X` to X.
fn minor(s: &str) -> u32 {
    s.trim()
        .strip_prefix("1.")
        .and_then(|m| m.parse().ok())
        .unwrap_or_else(|| panic!("not a release: {s:?}"))
}

/// The backticked names in a cell, without a trailing parenthesis.
fn ticked(cell: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut depth = 0;
    let mut parts = cell.split('`');
    // Text outside ticks alternates with text inside; skip ticks inside parentheses.
    while let Some(outside) = parts.next() {
        depth += outside.matches('(').count() as i32 - outside.matches(')').count() as i32;
        if let Some(inside) = parts.next()
            && depth == 0
        {
            out.push(inside.to_string());
        }
    }
    out
}

fn evidence() -> Vec<Row> {
    table(DOC, "## Evidence")
        .into_iter()
        .map(|cells| {
            let (from, to) = cells[1].split_once('-').expect("releases as 1.A-1.B");
            Row {
                subject: cells[0].clone(),
                from: minor(from),
                to: minor(to),
                items: ticked(&cells[2]),
                checked: cells[4].clone(),
            }
        })
        .collect()
}

fn deprecations() -> Vec<Deprecation> {
    table(DOC, "## Deprecations")
        .into_iter()
        .map(|cells| Deprecation {
            component: cells[0].clone(),
            flag: ticked(&cells[1])[0].clone(),
            from: minor(&cells[2]),
            current_from: (cells[3] != "none").then(|| minor(&cells[3])),
        })
        .collect()
}

fn covered(rows: &[Row], subject: &str, minor: u32, item: &str) -> bool {
    rows.iter().any(|r| {
        r.subject == subject
            && (r.from..=r.to).contains(&minor)
            && r.items.iter().any(|i| i == item)
    })
}

/// The leaf paths of a document: object keys joined with `.`, lists looked through.
fn leaves(v: &Value, prefix: &str, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, v) in map {
                let path = if prefix.is_empty() {
                    k.clone()
                } else {
                    format!("{prefix}.{k}")
                };
                leaves(v, &path, out);
            }
        }
        Value::Array(items) if items.iter().any(|i| i.is_object()) => {
            for i in items {
                leaves(i, prefix, out);
            }
        }
        _ => out.push(prefix.to_string()),
    }
}

/// The table's name for a generated document.
fn subject_of(doc: &Value) -> String {
    match doc["kind"].as_str() {
        Some("Config") => "kubeconfig".into(),
        Some(kind) => kind.into(),
        None => panic!("document without kind: {doc}"),
    }
}

/// What a plan emits: (component, flag name) and (document subject, field path) pairs.
fn emitted(plan: &Plan) -> Vec<(String, String)> {
    let mut out: Vec<_> = plan
        .flags
        .iter()
        .map(|f| (plan.component.name().to_string(), f.name.clone()))
        .collect();
    for file in &plan.files {
        let doc: Value = serde_json::from_str(&file.content).unwrap();
        let mut paths = Vec::new();
        leaves(&doc, "", &mut paths);
        out.extend(paths.into_iter().map(|p| (subject_of(&doc), p)));
    }
    out
}

/// Every plan for every release 1.0-1.36, with `KUBE_CLUSTER_CIDR` and the host settings set so
/// that their flags and fields show.
fn all_plans() -> Vec<(u32, Plan)> {
    let mut out = Vec::new();
    for m in 0..=super::NEWEST_KNOWN_MINOR {
        for c in Component::ALL {
            let version = format!("v1.{m}.0");
            out.push((
                m,
                super::rules::tests::plan_with(c, &version, super::rules::tests::EVERY_SETTING),
            ));
        }
    }
    out
}

#[test]
fn every_flag_and_field_emitted_is_in_the_evidence_table() {
    let rows = evidence();
    assert!(rows.len() > 20, "table not parsed");
    for (m, plan) in all_plans() {
        let component = plan.component.name();
        for flag in &plan.flags {
            assert!(
                covered(&rows, component, m, &flag.name),
                "{component} 1.{m}: {} is not in docs/flags.md for this release",
                flag.name
            );
        }
        for file in &plan.files {
            let doc: Value = serde_json::from_str(&file.content).unwrap();
            let subject = subject_of(&doc);
            let mut paths = Vec::new();
            leaves(&doc, "", &mut paths);
            for p in paths {
                assert!(
                    covered(&rows, &subject, m, &p),
                    "{component} 1.{m}: {subject} field {p} is not in docs/flags.md for this release"
                );
            }
        }
    }
}

#[test]
fn every_evidence_row_is_emitted_somewhere_in_its_range() {
    let rows = evidence();
    let plans = all_plans();
    let mut seen: BTreeMap<(String, String), Vec<u32>> = BTreeMap::new();
    for (m, plan) in &plans {
        for key in emitted(plan) {
            seen.entry(key).or_default().push(*m);
        }
    }
    for r in &rows {
        for item in &r.items {
            let minors = seen.get(&(r.subject.clone(), item.clone()));
            for m in [r.from, r.to] {
                assert!(
                    minors.is_some_and(|ms| ms.contains(&m)),
                    "docs/flags.md says {} 1.{m} gets {item}, the rules do not emit it",
                    r.subject
                );
            }
        }
    }
}

#[test]
fn no_release_emits_a_deprecated_flag_where_it_has_a_current_form() {
    let deps = deprecations();
    assert!(deps.len() >= 10, "table not parsed");
    for (m, plan) in all_plans() {
        for flag in &plan.flags {
            for d in &deps {
                if d.component != plan.component.name() || d.flag != flag.name || m < d.from {
                    continue;
                }
                // Written over a current form that cannot say what is needed, and saying so.
                let over_current = flag
                    .why
                    .iter()
                    .any(|w| w.contains("written instead of its current form, which"));
                match d.current_from {
                    Some(current) if m >= current && !over_current => panic!(
                        "{} 1.{m} emits {}, deprecated since 1.{} with a current form from 1.{current}",
                        d.component, d.flag, d.from
                    ),
                    // No other form: written, and the reason says so.
                    _ => assert!(
                        flag.why.iter().any(|w| w.contains("deprecated since")),
                        "{} 1.{m}: {} is deprecated with no current form; --explain must say so",
                        d.component,
                        d.flag
                    ),
                }
            }
        }
    }
}

/// The README's columns after the release range, and the components each one covers.
const README_COLUMNS: &[&[&str]] = &[
    &["apiserver"],
    &["controller-manager", "scheduler"],
    &["kubelet"],
    &["proxy"],
];

#[test]
fn readme_release_table_agrees_with_the_evidence() {
    let rows = evidence();
    let readme = table(README, "### Flags by Kubernetes release");
    assert!(readme.len() >= 5, "README table not parsed");
    for cells in readme {
        let (from, to) = cells[0]
            .split_once(" - ")
            .unwrap_or_else(|| panic!("release range as '1.A - 1.B': {:?}", cells[0]));
        let (from, to) = (minor(from), minor(to));
        for (cell, components) in cells[1..].iter().zip(README_COLUMNS) {
            let chunks = ticked(cell);
            let flags = chunks
                .iter()
                .flat_map(|c| c.split_whitespace())
                .filter(|i| i.starts_with("--"));
            for item in flags {
                let name = item.split('=').next().unwrap_or(item);
                for m in [from, to] {
                    assert!(
                        components.iter().any(|c| covered(&rows, c, m, name)),
                        "README says {components:?} 1.{m} get {name}; docs/flags.md does not"
                    );
                }
            }
        }
    }
}

/// The settings tests/e2e/lib/seed.sh gives its node (`KUBE_KUBELET_FAIL_CGROUPV1` on a host
/// with cgroup v1 controllers, as the marked runs had), and the token its worker joins with.
const E2E_SETTINGS: &[(&str, &str)] = &[
    ("KUBE_CLUSTER_CIDR", "10.244.0.0/16"),
    ("KUBE_KUBELET_PROTECT_KERNEL_DEFAULTS", "true"),
    ("KUBE_PROXY_CONNTRACK_MAX_PER_CORE", "0"),
    ("KUBE_KUBELET_FAIL_CGROUPV1", "false"),
    ("KUBE_BOOTSTRAP_TOKEN", "abcdef.0123456789abcdef"),
    (
        "KUBE_DISCOVERY_TOKEN_CA_CERT_HASH",
        "sha256:0000000000000000000000000000000000000000000000000000000000000000",
    ),
];

/// The releases the `ran: vA, vB and vC e2e` mark of a Checked cell names (none without one).
fn ran(checked: &str) -> Vec<&str> {
    checked
        .split(';')
        .map(str::trim)
        .filter(|part| part.starts_with("ran"))
        .flat_map(|part| {
            let list = part
                .strip_prefix("ran: ")
                .and_then(|l| l.strip_suffix(" e2e"))
                .unwrap_or_else(|| panic!("a mark reads 'ran: vA and vB e2e', not {part:?}"));
            list.split(", ").flat_map(|v| v.split(" and "))
        })
        .collect()
}

/// `v1.Y.Z` to Y; None unless a full release of major version 1.
fn full_release(v: &str) -> Option<u32> {
    let parts: Vec<&str> = v.strip_prefix('v')?.split('.').collect();
    let numeric = |p: &&str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
    if parts.len() != 3 || !parts.iter().all(numeric) || parts[0] != "1" {
        return None;
    }
    parts[1].parse().ok()
}

#[test]
fn full_release_takes_only_v1_y_z() {
    assert_eq!(full_release("v1.34.12"), Some(34));
    assert_eq!(full_release("v1.0.0"), Some(0));
    for bad in [
        "1.34.12",
        "v1.34",
        "v1.34.x",
        "v1.34.+1",
        "v2.0.0",
        "v1.34.12-rc.0",
        "v1..1",
    ] {
        assert_eq!(full_release(bad), None, "{bad}");
    }
}

#[test]
fn ran_marks_name_full_releases_inside_their_rows() {
    assert_eq!(
        ran("read; ran: v1.34.12 and v1.36.5 e2e"),
        ["v1.34.12", "v1.36.5"]
    );
    assert_eq!(
        ran("read; ran: v1.1.0, v1.2.0 and v1.3.0 e2e"),
        ["v1.1.0", "v1.2.0", "v1.3.0"]
    );
    assert!(ran("read in part").is_empty());
    let mut by_release: BTreeMap<&str, Vec<&Row>> = BTreeMap::new();
    let rows = evidence();
    for r in &rows {
        for v in ran(&r.checked) {
            let m = full_release(v).unwrap_or_else(|| {
                panic!(
                    "{} 1.{}-1.{}: {v:?} is not a full vX.Y.Z",
                    r.subject, r.from, r.to
                )
            });
            assert!(
                (r.from..=r.to).contains(&m),
                "{} 1.{}-1.{} says it ran on {v}, outside its releases",
                r.subject,
                r.from,
                r.to
            );
            by_release.entry(v).or_default().push(r);
        }
    }
    assert!(
        by_release.values().map(Vec::len).sum::<usize>() >= 20,
        "no ran marks parsed"
    );
    // A mark holds only for what the e2e's settings make the rules emit at that release.
    for (v, marked) in by_release {
        let got: Vec<_> = Component::ALL
            .into_iter()
            .flat_map(|c| emitted(&super::rules::tests::plan_with(c, v, E2E_SETTINGS)))
            .collect();
        for r in marked {
            for item in &r.items {
                assert!(
                    got.iter().any(|(s, i)| *s == r.subject && i == item),
                    "docs/flags.md says {} {item} ran on {v}; the e2e's settings do not emit it",
                    r.subject
                );
            }
        }
    }
}
