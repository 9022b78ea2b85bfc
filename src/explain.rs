//! What `flags` and `env` print: the argv, where each value comes from, and the environment
//! file, for an operator on a broken node. Nothing here starts anything.

use serde::Serialize;

use crate::component::Component;
use crate::fetch::{self, Paths};
use crate::flags::{self, Flag, Plan};
use crate::fsutil;
use crate::plan::plan;
use crate::settings::Settings;

/// Why `flags` or `env` printed nothing.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Flags(#[from] flags::Error),

    #[error(transparent)]
    Io(#[from] fsutil::Error),

    #[error("{component} is not installed as configured: {reason}")]
    NotInstalled {
        component: &'static str,
        reason: String,
    },

    #[error("cannot write KUBE_ARGS for {component}")]
    UnitArgs {
        component: &'static str,
        #[source]
        source: crate::cmdline::Unrepresentable,
    },
}

#[derive(Serialize)]
struct JsonPlan<'a> {
    component: Component,
    version: &'a str,
    rules: &'a str,
    argv: Vec<String>,
    flags: &'a [Flag],
    files: Vec<JsonFile<'a>>,
    required: Vec<JsonRequired<'a>>,
    warnings: &'a [String],
}

#[derive(Serialize)]
struct JsonFile<'a> {
    path: String,
    why: &'a str,
    content: &'a str,
}

#[derive(Serialize)]
struct JsonRequired<'a> {
    flag: &'a str,
    path: String,
    exists: bool,
}

/// `kube-bootstrap flags`: the argv, one argument per line; or `--explain`; or `--json`.
pub fn flags(
    settings: &Settings,
    component: Component,
    extra: &[String],
    explain: bool,
    json: bool,
) -> Result<(), Error> {
    if json || explain {
        // The output shows the warnings and missing files itself: said once, on stdout.
        let plan = crate::plan::unlogged(settings, component, extra)?;
        let text = if json {
            render_json(&plan)
        } else {
            render_explain(&plan)
        };
        return Ok(fsutil::print(&text)?);
    }
    let plan = plan(settings, component, extra)?;
    for (m, why) in &plan.missing_files() {
        // Here the point is to see; `exec` refuses to start without them.
        tracing::warn!(component = %component, flag = %m.flag, path = %m.path.display(), problem = %why, hint = %crate::pki::command_for(&m.path), "required file missing or unusable");
    }
    let text: String = plan.argv().iter().map(|a| format!("{a}\n")).collect();
    Ok(fsutil::print(&text)?)
}

fn render_json(plan: &Plan) -> String {
    let doc = JsonPlan {
        component: plan.component,
        version: &plan.version,
        rules: &plan.rules,
        argv: plan.argv(),
        flags: &plan.flags,
        files: plan
            .files
            .iter()
            .map(|f| JsonFile {
                path: f.path.display().to_string(),
                why: &f.why,
                content: if f.secret {
                    "(holds the bootstrap token: written, never printed)"
                } else {
                    &f.content
                },
            })
            .collect(),
        required: plan
            .required
            .iter()
            .map(|r| JsonRequired {
                flag: &r.flag,
                path: r.path.display().to_string(),
                exists: crate::fsutil::unusable_file(&r.path).is_none(),
            })
            .collect(),
        warnings: &plan.warnings,
    };
    // Serializing strings, booleans and lists cannot fail.
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_default();
    out.push('\n');
    out
}

/// The explanation: every argument followed by its reasons.
pub fn render_explain(plan: &Plan) -> String {
    let mut out = format!(
        "# {} {} (flag rules of Kubernetes {})\n",
        plan.component.binary(),
        plan.version,
        plan.rules
    );
    for w in &plan.warnings {
        out.push_str(&format!("# warning: {w}\n"));
    }
    out.push_str(&format!(
        "{}\n    <- the binary installed by 'kube-bootstrap fetch' (KUBE_BIN_DIR)\n",
        plan.binary.display()
    ));
    for flag in &plan.flags {
        out.push_str(&format!("{}\n", flag.arg()));
        for why in &flag.why {
            out.push_str(&format!("    <- {why}\n"));
        }
    }
    if !plan.files.is_empty() {
        out.push_str("\n# files kube-bootstrap writes before the component starts\n");
        for f in &plan.files {
            out.push_str(&format!("{}\n    <- {}\n", f.path.display(), f.why));
        }
    }
    if !plan.required.is_empty() {
        out.push_str("\n# files that must exist\n");
        for r in &plan.required {
            match crate::fsutil::unusable_file(&r.path) {
                None => out.push_str(&format!("{:7} {} ({})\n", "ok", r.path.display(), r.flag)),
                Some(why) => {
                    out.push_str(&format!(
                        "{:7} {} ({}): {why}\n",
                        "MISSING",
                        r.path.display(),
                        r.flag
                    ));
                    out.push_str(&format!("    <- {}\n", crate::pki::command_for(&r.path)));
                }
            }
        }
    }
    out.push_str(&format!(
        "\n# the reference for every flag and field of this release: {} in kube-bootstrap's source\n",
        crate::flags::EVIDENCE
    ));
    out
}

/// `kube-bootstrap env`: the environment file `fetch` writes, `KUBE_ARGS` included.
pub fn env(settings: &Settings, component: Component) -> Result<(), Error> {
    let record =
        fetch::verify_installed(settings, component).map_err(|stale| Error::NotInstalled {
            component: component.name(),
            reason: stale.to_string(),
        })?;
    let plan = plan(settings, component, &[])?;
    let paths = Paths::new(settings, component);
    let text =
        fetch::env_file_contents(&paths, &record.record, Some(&plan.args())).map_err(|source| {
            Error::UnitArgs {
                component: component.name(),
                source,
            }
        })?;
    Ok(fsutil::print(&text)?)
}
