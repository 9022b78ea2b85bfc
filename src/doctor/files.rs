//! Flags and the files they name: each component's flags compute, and every file they point at
//! is readable, holds a certificate that has not expired, or a private key kept private.

use std::os::unix::fs::PermissionsExt;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::causes::chain;
use crate::component::Component;
use crate::error::Error;
use crate::flags::{self, Plan, Required};
use crate::node::NodeFacts;
use crate::settings::Settings;

use super::certs::{certificate_validity, expiry};
use super::report::{Findings, Status};

/// Computes each component's plan, reporting the ones that cannot be computed.
pub fn plans(
    settings: &Settings,
    components: &[Component],
    facts: &NodeFacts,
    f: &mut Findings,
) -> Vec<Plan> {
    let mut plans = Vec::new();
    for &c in components {
        match flags::compute(c, settings, facts, &[]) {
            Ok(plan) => {
                f.ok(
                    "flags",
                    format!(
                        "{} flags computed ({} arguments, rules of Kubernetes {})",
                        c.binary(),
                        plan.flags.len(),
                        plan.rules
                    ),
                );
                for w in &plan.warnings {
                    // Said once, not once per component (the leader check may have said it).
                    if f.0.iter().any(|c| &c.finding == w) {
                        continue;
                    }
                    f.warn(
                        "flags",
                        w.clone(),
                        format!(
                            "'kube-bootstrap flags {} --explain' shows the rules applied",
                            c.name()
                        ),
                    );
                }
                plans.push(plan);
            }
            Err(e) => f.fail(
                "flags",
                format!("{}: {}", c.binary(), chain(&e)),
                Error::from(e).hint().unwrap_or_else(|| {
                    "'kube-bootstrap flags --explain' shows which value is wrong".into()
                }),
            ),
        }
    }
    plans
}

pub fn check(settings: &Settings, plans: &[Plan], f: &mut Findings) {
    let mut required: Vec<Required> = Vec::new();
    for plan in plans {
        for r in plan.required.iter().cloned() {
            match required.iter_mut().find(|q| q.path == r.path) {
                Some(q) => {
                    for flag in r.flag.split(", ") {
                        if !q.flag.split(", ").any(|known| known == flag) {
                            q.flag = format!("{}, {flag}", q.flag);
                        }
                    }
                }
                None => required.push(r),
            }
        }
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64);
    // Missing files are grouped by the command that makes them: one missing PKI is one
    // finding with one hint, not a line per file.
    let mut missing = Missing::default();
    for r in &required {
        if std::fs::symlink_metadata(&r.path).is_err() {
            missing.add(&r.path, format!("'{}' ({})", r.path.display(), r.flag));
        } else {
            check_file(r, now, crate::pki::expiry_warn_days(settings), f);
        }
    }
    // Identity, names, chain and key pairs of KUBE_PKI_DIR, as 'kube-bootstrap pki check' reads them.
    if required
        .iter()
        .any(|r| r.path.starts_with(settings.path(&settings.cluster.pki_dir)))
    {
        use crate::pki::check::Level;
        for c in crate::pki::check::findings(settings) {
            // The expiry of a file a flag names is on its own line above.
            if c.expiry && required.iter().any(|r| r.path == c.path) {
                continue;
            }
            if c.level == Level::Fail && std::fs::symlink_metadata(&c.path).is_err() {
                missing.add(&c.path, format!("'{}'", c.path.display()));
                continue;
            }
            let status = match c.level {
                Level::Ok => Status::Ok,
                Level::Warn => Status::Warn,
                Level::Fail => Status::Fail,
            };
            f.push(
                "pki",
                status,
                format!("'{}' {}", c.path.display(), c.text),
                c.hint,
            );
        }
    }
    missing.report(f);
}

/// Missing files, grouped by the command that makes them.
#[derive(Default)]
struct Missing(Vec<(String, Vec<(std::path::PathBuf, String)>)>);

impl Missing {
    fn add(&mut self, path: &std::path::Path, line: String) {
        let hint = crate::pki::command_for(path);
        let at = match self.0.iter().position(|(h, _)| *h == hint) {
            Some(at) => at,
            None => {
                self.0.push((hint, Vec::new()));
                self.0.len() - 1
            }
        };
        let files = &mut self.0[at].1;
        if !files.iter().any(|(p, _)| p == path) {
            files.push((path.to_path_buf(), line));
        }
    }

    fn report(self, f: &mut Findings) {
        for (hint, files) in self.0 {
            let finding = match files.as_slice() {
                [(_, one)] => format!("{one} cannot be read: it does not exist"),
                _ => format!(
                    "{} files do not exist: {}",
                    files.len(),
                    files
                        .iter()
                        .map(|(_, l)| l.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            f.fail("file", finding, hint);
        }
    }
}

fn check_file(r: &Required, now: i64, warn_days: u32, f: &mut Findings) {
    let path = &r.path;
    let cert_hint = || crate::pki::command_for(path);
    let bytes = match super::cluster::read_pki_file(path) {
        Ok(b) => b,
        Err(e) => {
            f.fail(
                "file",
                format!("'{}' ({}) cannot be read: {e}", path.display(), r.flag),
                cert_hint(),
            );
            return;
        }
    };
    match certificate_validity(&bytes) {
        Ok(Some((not_before, not_after))) => {
            let (status, text) = expiry(not_before, not_after, now, warn_days);
            let finding = format!("'{}' ({}) {text}", path.display(), r.flag);
            let hint = match status {
                Status::Ok => None,
                Status::Warn => Some(crate::pki::renewed_by(path)),
                _ => Some(crate::pki::command_for(path)),
            };
            f.push("certificate", status, finding, hint);
        }
        Ok(None) if path.extension().is_some_and(|e| e == "crt") => f.fail(
            "certificate",
            format!("'{}' ({}) holds no PEM certificate", path.display(), r.flag),
            cert_hint(),
        ),
        Ok(None) => {
            let mode = std::fs::metadata(path)
                .map(|m| m.permissions().mode())
                .unwrap_or(0);
            let private = String::from_utf8_lossy(&bytes).contains("PRIVATE KEY-----");
            if private && mode & 0o044 != 0 {
                f.warn(
                    "file",
                    format!(
                        "'{}' ({}) holds a private key readable by group or others (mode {:04o})",
                        path.display(),
                        r.flag,
                        mode & 0o7777
                    ),
                    format!("chmod 600 '{}'", path.display()),
                );
            } else {
                f.ok(
                    "file",
                    format!("'{}' ({}) is readable", path.display(), r.flag),
                );
            }
        }
        Err(why) => f.fail(
            "certificate",
            format!("'{}' ({}): {}", path.display(), r.flag, chain(&why)),
            cert_hint(),
        ),
    }
}
