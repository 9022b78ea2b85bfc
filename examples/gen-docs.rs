//! Writes kube-bootstrap's man pages and shell completions from its clap definitions, for the
//! packaging step (`packaging/build.sh`): the release binary carries neither generator.
//!
//! Usage: `cargo run --example gen-docs -- OUT_DIR`, which writes
//! `OUT_DIR/man/kube-bootstrap.1` (and one page per subcommand, `kube-bootstrap-fetch.1`...) and
//! `OUT_DIR/completions/` (`kube-bootstrap.bash`, `_kube-bootstrap` for zsh,
//! `kube-bootstrap.fish`). `SOURCE_DATE_EPOCH` dates the pages, so a rebuild gives the same files.

use std::path::{Path, PathBuf};

use clap::CommandFactory;
use clap_complete::Shell;

const BIN: &str = "kube-bootstrap";

/// The completion files, each under the name its shell loads it by.
const SHELLS: [(Shell, &str); 3] = [
    (Shell::Bash, "kube-bootstrap.bash"),
    (Shell::Zsh, "_kube-bootstrap"),
    (Shell::Fish, "kube-bootstrap.fish"),
];

fn main() {
    let mut args = std::env::args_os().skip(1);
    let (Some(out), None) = (args.next(), args.next()) else {
        eprintln!("usage: gen-docs OUT_DIR");
        std::process::exit(2);
    };
    let date = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok());
    if let Err(e) = generate(Path::new(&out), date) {
        eprintln!("gen-docs: error: {e}");
        std::process::exit(1);
    }
}

/// Writes the man pages and completions under `out`; returns the files written.
fn generate(out: &Path, epoch: Option<i64>) -> Result<Vec<PathBuf>, String> {
    let mut written = Vec::new();
    let man_dir = out.join("man");
    let comp_dir = out.join("completions");
    for dir in [&man_dir, &comp_dir] {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create directory '{}': {e}", dir.display()))?;
    }
    let date = match epoch {
        Some(secs) => Some(day(secs)?),
        None => None,
    };
    let mut cmd = kube_bootstrap::cli::Cli::command()
        .bin_name(BIN)
        .disable_help_subcommand(true);
    cmd.build();
    man_pages(&cmd, &man_dir, date.as_deref(), &mut written)?;
    for (shell, name) in SHELLS {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut cmd.clone(), BIN, &mut buf);
        if shell == Shell::Bash {
            buf = fix_bash_arms(&buf);
        }
        let path = comp_dir.join(name);
        std::fs::write(&path, buf)
            .map_err(|e| format!("cannot write '{}': {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}

/// clap_complete's bash script spells a subcommand's state one way in its dispatch loop
/// (`kube__bootstrap__subcmd__doctor`) and another in its case arms
/// (`kube__subcmd__bootstrap__subcmd__doctor`) when the binary's name has a hyphen, so no
/// option after a subcommand ever completes (clap-rs/clap issue 6421, open). Spell the arms as
/// the loop does.
fn fix_bash_arms(script: &[u8]) -> Vec<u8> {
    String::from_utf8_lossy(script)
        .replace("kube__subcmd__bootstrap", "kube__bootstrap")
        .into_bytes()
}

/// One page for `cmd` and one for each of its subcommands, recursively: `kube-bootstrap-pki-init.1`.
fn man_pages(
    cmd: &clap::Command,
    dir: &Path,
    date: Option<&str>,
    written: &mut Vec<PathBuf>,
) -> Result<(), String> {
    for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
        man_pages(sub, dir, date, written)?;
    }
    let mut man = clap_mangen::Man::new(cmd.clone())
        .manual("kube-bootstrap manual")
        .source(format!("kube-bootstrap {}", env!("CARGO_PKG_VERSION")));
    if let Some(date) = date {
        man = man.date(date);
    }
    let path = man
        .generate_to(dir)
        .map_err(|e| format!("cannot write a man page into '{}': {e}", dir.display()))?;
    written.push(path);
    Ok(())
}

/// `SOURCE_DATE_EPOCH` as the day man pages show: `2026-12-04`.
fn day(epoch: i64) -> Result<String, String> {
    let t = time::OffsetDateTime::from_unix_timestamp(epoch)
        .map_err(|e| format!("SOURCE_DATE_EPOCH='{epoch}' is not a time: {e}"))?;
    let (y, m, d) = (t.year(), u8::from(t.month()), t.day());
    Ok(format!("{y:04}-{m:02}-{d:02}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Command;

    fn names(written: &[PathBuf]) -> Vec<String> {
        written
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect()
    }

    #[test]
    fn every_subcommand_gets_a_man_page_naming_its_options() {
        let dir = tempfile::tempdir().unwrap();
        let written = generate(dir.path(), Some(1_796_342_400)).unwrap();
        let names = names(&written);
        for page in [
            "kube-bootstrap.1",
            "kube-bootstrap-fetch.1",
            "kube-bootstrap-exec.1",
            "kube-bootstrap-flags.1",
            "kube-bootstrap-env.1",
            "kube-bootstrap-doctor.1",
            "kube-bootstrap-network-env.1",
            "kube-bootstrap-pki.1",
            "kube-bootstrap-pki-init.1",
            "kube-bootstrap-pki-node.1",
            "kube-bootstrap-pki-install.1",
            "kube-bootstrap-pki-check.1",
            "kube-bootstrap-mirror.1",
            "kube-bootstrap-releases.1",
            "kube-bootstrap-version.1",
        ] {
            assert!(names.contains(&page.to_string()), "{page} not in {names:?}");
        }
        assert!(!names.iter().any(|n| n.contains("help")), "{names:?}");
        let top = std::fs::read_to_string(dir.path().join("man/kube-bootstrap.1")).unwrap();
        assert!(
            top.starts_with(".ie \\n(.g .ds Aq"),
            "not roff: {}",
            &top[..80]
        );
        assert!(top.contains(".TH kube-bootstrap 1 2026-12-04 "), "{top}");
        assert!(top.contains("kube\\-bootstrap\\-fetch(1)"), "{top}");
        let fetch = std::fs::read_to_string(dir.path().join("man/kube-bootstrap-fetch.1")).unwrap();
        assert!(fetch.contains("\\-\\-kube\\-version"), "{fetch}");
        assert!(fetch.contains("\\-\\-root\\fR \\fI<DIR>\\fR"), "{fetch}");
    }

    /// `man` renders each page without a warning, where man-db is installed.
    #[test]
    fn man_pages_render_without_warnings() {
        if Command::new("man").arg("--version").output().is_err() {
            eprintln!("man is not installed; rendering not checked");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        for page in generate(dir.path(), None).unwrap() {
            if page.extension().is_none_or(|e| e != "1") {
                continue;
            }
            let out = Command::new("man")
                .args(["--warnings", "-E", "UTF-8", "-l"])
                .arg(&page)
                .env("MANWIDTH", "80")
                .env("MAN_KEEP_FORMATTING", "0")
                .output()
                .unwrap();
            let stderr = String::from_utf8_lossy(&out.stderr);
            assert!(
                out.status.success() && stderr.trim().is_empty(),
                "{}: {stderr}",
                page.display()
            );
            assert!(String::from_utf8_lossy(&out.stdout).contains("kube-bootstrap"));
        }
    }

    /// bash loads the completion and completes subcommands and a subcommand's options.
    #[test]
    fn bash_completion_completes_subcommands_and_options() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), None).unwrap();
        let script = dir.path().join("completions/kube-bootstrap.bash");
        let complete = |line: &str| {
            let words: Vec<&str> = line.split(' ').collect();
            let program = format!(
                "source '{}'\nCOMP_WORDS=({})\nCOMP_CWORD={}\nCOMP_LINE='{line}'\nCOMP_POINT=${{#COMP_LINE}}\nfn=$(complete -p kube-bootstrap | sed -n 's/.*-F \\([^ ]*\\).*/\\1/p')\n\"$fn\" kube-bootstrap '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
                script.display(),
                words
                    .iter()
                    .map(|w| format!("'{w}'"))
                    .collect::<Vec<_>>()
                    .join(" "),
                words.len() - 1,
                words[words.len() - 1],
                words[words.len() - 2],
            );
            let out = Command::new("bash")
                .arg("-c")
                .arg(program)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
            String::from_utf8(out.stdout).unwrap()
        };
        let subcommands = complete("kube-bootstrap ");
        for sub in ["fetch", "exec", "doctor", "pki", "mirror"] {
            assert!(
                subcommands.lines().any(|l| l == sub),
                "{sub}: {subcommands}"
            );
        }
        let pki = complete("kube-bootstrap pki ");
        for sub in ["init", "node", "install", "check"] {
            assert!(pki.lines().any(|l| l == sub), "{sub}: {pki}");
        }
        let options = complete("kube-bootstrap doctor --");
        for opt in ["--offline", "--role", "--root"] {
            assert!(options.lines().any(|l| l == opt), "{opt}: {options}");
        }
    }

    #[test]
    fn zsh_and_fish_completions_name_every_subcommand() {
        let dir = tempfile::tempdir().unwrap();
        generate(dir.path(), None).unwrap();
        for file in ["_kube-bootstrap", "kube-bootstrap.fish"] {
            let text = std::fs::read_to_string(dir.path().join("completions").join(file)).unwrap();
            for sub in ["fetch", "network-env", "pki", "mirror"] {
                assert!(text.contains(sub), "{file} lacks {sub}");
            }
        }
        for (shell, file) in [("zsh", "_kube-bootstrap"), ("fish", "kube-bootstrap.fish")] {
            // Only where the shell is installed: check that it parses.
            let path = dir.path().join("completions").join(file);
            let flag = if shell == "zsh" { "-n" } else { "--no-execute" };
            if let Ok(out) = Command::new(shell).arg(flag).arg(&path).output() {
                assert!(
                    out.status.success(),
                    "{shell}: {}",
                    String::from_utf8_lossy(&out.stderr)
                );
            }
        }
    }
}
