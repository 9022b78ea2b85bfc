//! `mirror --check DIR`: re-verifies a mirror directory without the network. Every binary
//! must be a regular file that hashes to its side file and is an ELF executable for its
//! directory's architecture; every pins file must name the release of its directory and the
//! digests the binaries have. One line per file on stdout; exit 1 on any mismatch.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{Error, layout};
use crate::arch::{self, Arch};
use crate::env_vars;
use crate::fetch;
use crate::fsutil::{self, io_err};
use crate::kube_version::KubeVersion;

/// One verdict.
#[derive(Debug)]
struct Line {
    ok: bool,
    file: String,
    detail: String,
}

/// Checks `dir` and prints the verdicts.
pub fn check(dir: &Path) -> Result<(), Error> {
    let lines = scan(dir)?;
    if lines.is_empty() {
        return Err(Error::Empty {
            dir: dir.to_path_buf(),
        });
    }
    let mut text = String::new();
    for l in &lines {
        let mark = if l.ok { "ok  " } else { "FAIL" };
        // File names are anyone's text: one verdict, one line.
        text.push_str(&format!(
            "{mark} {}: {}\n",
            crate::shown::one_line(&l.file),
            crate::shown::one_line(&l.detail)
        ));
    }
    fsutil::print(&text)?;
    let bad = lines.iter().filter(|l| !l.ok).count();
    if bad == 0 {
        Ok(())
    } else {
        Err(Error::CheckFailed {
            dir: dir.to_path_buf(),
            bad,
            total: lines.len(),
        })
    }
}

/// Names in `dir`, sorted; a missing directory has none.
fn names(dir: &Path) -> Result<Vec<String>, fsutil::Error> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(io_err("list", dir)(e)),
    };
    let mut out: Vec<String> = entries
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    out.sort();
    Ok(out)
}

fn is_dir(path: &Path) -> bool {
    std::fs::symlink_metadata(path).is_ok_and(|m| m.is_dir())
}

/// A failure for a symbolic link inside DIR: what the mirror serves must be what was checked,
/// and a link can point at any tree (a tampered one included).
fn link_line(path: &Path, file: String) -> Option<Line> {
    let target = std::fs::read_link(path).ok()?;
    Some(Line {
        ok: false,
        file,
        detail: format!(
            "is a symbolic link to '{}': a mirror holds its files itself, and --check does not follow links",
            crate::shown::quote(&target.display().to_string())
        ),
    })
}

fn scan(dir: &Path) -> Result<Vec<Line>, Error> {
    let mut lines = Vec::new();
    for version in names(dir)? {
        let version_dir = dir.join(&version);
        if version.parse::<KubeVersion>().is_err() {
            continue;
        }
        if let Some(l) = link_line(&version_dir, version.clone()) {
            lines.push(l);
            continue;
        }
        if !is_dir(&version_dir) {
            continue;
        }
        let mut hashes: BTreeMap<(String, String), String> = BTreeMap::new();
        let linux = version_dir.join("bin/linux");
        let mut linked = false;
        for (path, file) in [
            (version_dir.join("bin"), format!("{version}/bin")),
            (linux.clone(), format!("{version}/bin/linux")),
        ] {
            if let Some(l) = link_line(&path, file) {
                lines.push(l);
                linked = true;
                break;
            }
        }
        for arch_name in if linked { Vec::new() } else { names(&linux)? } {
            let Ok(arch) = arch_name.parse::<Arch>() else {
                continue;
            };
            let arch_dir = linux.join(&arch_name);
            if let Some(l) = link_line(&arch_dir, format!("{version}/bin/linux/{arch_name}")) {
                lines.push(l);
                continue;
            }
            if !is_dir(&arch_dir) {
                continue;
            }
            let files = names(&arch_dir)?;
            for name in files.iter().filter(|n| !n.starts_with('.')) {
                let file = layout::relative(&version, &arch_name, name);
                if let Some(l) = link_line(&arch_dir.join(name), file.clone()) {
                    lines.push(l);
                    continue;
                }
                if let Some(binary) = name.strip_suffix(".sha256") {
                    if !files.iter().any(|f| f == binary) {
                        lines.push(Line {
                            ok: false,
                            file,
                            detail: format!("a side file without its binary '{binary}'"),
                        });
                    }
                    continue;
                }
                let verdict = binary(&arch_dir, name, arch);
                if let Ok(sha) = &verdict {
                    hashes.insert((arch_name.clone(), name.clone()), sha.clone());
                }
                lines.push(match verdict {
                    Ok(sha) => Line {
                        ok: true,
                        file,
                        detail: format!("sha256 {sha}, as its side file says"),
                    },
                    Err(detail) => Line {
                        ok: false,
                        file,
                        detail,
                    },
                });
            }
        }
        for name in names(&version_dir)? {
            let Some(arch) = name
                .strip_prefix("pins-")
                .and_then(|n| n.strip_suffix(".env"))
            else {
                continue;
            };
            if let Some(l) = link_line(&version_dir.join(&name), format!("{version}/{name}")) {
                lines.push(l);
                continue;
            }
            let problems = pins(&version_dir.join(&name), &version, arch, &hashes);
            lines.push(Line {
                ok: problems.is_empty(),
                file: format!("{version}/{name}"),
                detail: if problems.is_empty() {
                    "every pin matches its binary".to_string()
                } else {
                    problems.join("; ")
                },
            });
        }
    }
    Ok(lines)
}

/// The sha256 of a mirrored binary when it checks out, or what is wrong.
fn binary(arch_dir: &Path, name: &str, arch: Arch) -> Result<String, String> {
    let path = arch_dir.join(name);
    let (actual, _, header) = super::read_binary(&path).map_err(|e| match e {
        super::Unusable::Missing(e) => e.to_string(),
        super::Unusable::Wrong(why) => why,
    })?;
    let side: PathBuf = arch_dir.join(format!("{name}.sha256"));
    let expected = match fsutil::read_bounded(&side, fetch::MAX_SIDE_FILE as u64) {
        Ok(content) => fetch::parse_side_file(&content, name)
            .map_err(|why| format!("invalid side file: {why}"))?,
        Err(fsutil::BoundedReadError::Io(e)) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("no side file '{name}.sha256'"));
        }
        Err(_) => return Err(format!("cannot read side file '{name}.sha256'")),
    };
    if actual != expected {
        return Err(format!(
            "computed sha256 {actual}, the side file says {expected}"
        ));
    }
    arch::check_elf(&header, arch).map_err(|m| format!("it is {m}, not a linux/{arch} binary"))?;
    Ok(actual)
}

/// What is wrong with a pins file; empty when nothing is.
fn pins(
    path: &Path,
    version: &str,
    arch: &str,
    hashes: &BTreeMap<(String, String), String>,
) -> Vec<String> {
    let vars = match crate::envfile::read(path) {
        Ok(v) => v,
        Err(e) => return vec![crate::causes::chain(&e)],
    };
    let mut problems = Vec::new();
    if !vars
        .iter()
        .any(|(k, v)| k == env_vars::KUBE_VERSION && v == version)
    {
        problems.push(format!("{} is not {version}", env_vars::KUBE_VERSION));
    }
    for (key, value) in &vars {
        if key == env_vars::KUBE_VERSION {
            continue;
        }
        let Some(binary) = layout::binary_of_pin(key) else {
            problems.push(format!("unknown variable {key}"));
            continue;
        };
        match hashes.get(&(arch.to_string(), binary.to_string())) {
            Some(sha) if sha == value => {}
            Some(sha) => problems.push(format!("{key} is {value}, the binary hashes to {sha}")),
            None => problems.push(format!("{key} pins '{binary}', which is missing or failed")),
        }
    }
    problems
}
