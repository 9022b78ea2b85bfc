//! The report: one finding per check, its verdict and hint, rendered as lines or as JSON.

use serde::Serialize;

use crate::component::Component;

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Ok,
    /// Not checked here, and why (a host check in a `--root` sandbox).
    Skip,
    Warn,
    Fail,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "ok",
            Status::Skip => "skip",
            Status::Warn => "warn",
            Status::Fail => "fail",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked: `config`, `leader`, `apiserver`, `node-address`, `etcd`,
    /// `service-range`, `cgroup`, `bin-dir`, `binary`, `flags`, `file`, `certificate`.
    pub check: &'static str,
    pub status: Status,
    pub finding: String,
    pub hint: Option<String>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    components: Vec<&'static str>,
    ok: bool,
    failed: usize,
    warnings: usize,
    checks: &'a [Check],
}

/// Collects the checks' findings.
#[derive(Default)]
pub struct Findings(pub Vec<Check>);

impl Findings {
    pub fn push(
        &mut self,
        check: &'static str,
        status: Status,
        finding: String,
        hint: Option<String>,
    ) {
        self.0.push(Check {
            check,
            status,
            finding,
            hint,
        });
    }

    pub fn ok(&mut self, check: &'static str, finding: String) {
        self.push(check, Status::Ok, finding, None);
    }

    /// A warning: every warning says what to do.
    pub fn skip(&mut self, check: &'static str, finding: String, hint: impl Into<String>) {
        self.push(check, Status::Skip, finding, Some(hint.into()));
    }

    pub fn warn(&mut self, check: &'static str, finding: String, hint: impl Into<String>) {
        self.push(check, Status::Warn, finding, Some(hint.into()));
    }

    /// A failure: every failure says what to do.
    pub fn fail(&mut self, check: &'static str, finding: String, hint: impl Into<String>) {
        self.push(check, Status::Fail, finding, Some(hint.into()));
    }
}

/// The report as `doctor` prints it: one line per check, or a JSON document.
pub fn text(checks: &[Check], components: &[Component], json: bool) -> String {
    if json {
        let doc = JsonReport {
            components: components.iter().map(|c| c.name()).collect(),
            ok: !checks.iter().any(|c| c.status == Status::Fail),
            failed: count(checks, Status::Fail),
            warnings: count(checks, Status::Warn),
            checks,
        };
        // Serializing strings, numbers and lists cannot fail.
        serde_json::to_string_pretty(&doc).unwrap_or_default() + "\n"
    } else {
        render(checks)
    }
}

pub fn count(checks: &[Check], status: Status) -> usize {
    checks.iter().filter(|c| c.status == status).count()
}

/// One line per check: status, name, finding, then the hint after `hint:`.
pub fn render(checks: &[Check]) -> String {
    let mut out = String::new();
    for c in checks {
        // One check, one line: text from servers and files cannot start another.
        out.push_str(&format!(
            "{:<4}  {:<13} {}",
            c.status.as_str(),
            c.check,
            crate::shown::one_line(&c.finding)
        ));
        if let Some(hint) = &c.hint {
            out.push_str(&format!("; hint: {}", crate::shown::one_line(hint)));
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_puts_status_check_finding_and_hint_on_one_line() {
        let checks = vec![
            Check {
                check: "config",
                status: Status::Ok,
                finding: "settings valid".into(),
                hint: None,
            },
            Check {
                check: "etcd",
                status: Status::Fail,
                finding: "GET http://127.0.0.1:2379/health failed: connection refused".into(),
                hint: Some("start etcd".into()),
            },
        ];
        assert_eq!(
            render(&checks),
            "ok    config        settings valid\n\
             fail  etcd          GET http://127.0.0.1:2379/health failed: connection refused; hint: start etcd\n"
        );
    }

    #[test]
    fn a_server_body_cannot_forge_a_line_or_overwrite_one() {
        let body = "oops\r\u{1b}[2K ok    etcd          healthy\nhint: forged";
        let checks = vec![Check {
            check: "apiserver",
            status: Status::Fail,
            finding: format!("GET /healthz: 500: {}", crate::doctor::probe::excerpt(body)),
            hint: Some(format!("see {body}")),
        }];
        let out = render(&checks);
        assert_eq!(out.lines().count(), 1, "{out}");
        assert!(!out.contains('\r') && !out.contains('\u{1b}'), "{out}");
        assert!(out.contains("oops\\r\\u{1b}[2K"), "{out}");
    }
}
