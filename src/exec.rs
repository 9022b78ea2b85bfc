//! `kube-bootstrap exec`: compute the argv, refresh the component's config files, verify the
//! installed binary against its record, then execve() it so systemd supervises the component
//! itself. No async runtime and no network on this path.

use std::convert::Infallible;
use std::ffi::CString;
use std::os::unix::ffi::OsStrExt;

use crate::component::Component;
use crate::error::Error;
use crate::fetch;
use crate::flags::{self, Plan};
use crate::fsutil;
use crate::node::NodeFacts;
use crate::settings::Settings;

/// Mode of the files kube-bootstrap writes for components (they name key paths).
pub const CONFIG_MODE: u32 = 0o600;

/// The plan for a component on this node.
pub fn plan(
    settings: &Settings,
    component: Component,
    cli_extra: &[String],
) -> Result<Plan, Error> {
    let facts = NodeFacts::load(settings);
    let plan = flags::compute(component, settings, &facts, cli_extra)?;
    for warning in &plan.warnings {
        tracing::warn!(component = %component, "{warning}");
    }
    Ok(plan)
}

/// Writes the plan's kubeconfig and config files, each only when its content changed.
pub fn write_files(plan: &Plan) -> Result<(), Error> {
    for file in &plan.files {
        if fsutil::write_if_changed(&file.path, file.content.as_bytes(), CONFIG_MODE)? {
            tracing::info!(component = %plan.component, path = %file.path.display(), "config file updated");
        }
    }
    Ok(())
}

/// Runs `exec`: never returns on success.
pub fn run(
    settings: &Settings,
    component: Component,
    cli_extra: &[String],
) -> Result<Infallible, Error> {
    let plan = plan(settings, component, cli_extra)?;
    let record =
        fetch::verify_installed(settings, component).map_err(|stale| Error::BinaryRefused {
            component: component.name(),
            path: plan.binary.clone(),
            reason: stale.to_string(),
        })?;
    let missing: Vec<_> = plan
        .missing_files()
        .into_iter()
        .map(|r| (r.flag.clone(), r.path.clone()))
        .collect();
    if !missing.is_empty() {
        return Err(Error::MissingFiles {
            component: component.name(),
            missing,
        });
    }
    write_files(&plan)?;
    if component == Component::Kubelet
        && let Some((problem, hint)) =
            crate::cgroup::kubelet_problem_here(settings, flags::rules_minor(&settings.version))
    {
        // The kubelet decides (an extra argument may allow it); say why it is about to exit.
        tracing::error!(component = %component, hint = %hint, "{problem}");
    }
    let argv = plan.argv();
    tracing::info!(
        component = %component,
        version = %record.version,
        sha256 = %record.sha256,
        command = %argv.join(" "),
        "starting"
    );
    // execv, not execvp: a file the kernel cannot load must fail, never be run by /bin/sh.
    let invalid = || Error::Exec {
        path: plan.binary.clone(),
        source: std::io::ErrorKind::InvalidInput.into(),
    };
    let path = CString::new(plan.binary.as_os_str().as_bytes()).map_err(|_| invalid())?;
    let args = argv
        .iter()
        .map(|a| CString::new(a.as_str()).map_err(|_| invalid()))
        .collect::<Result<Vec<_>, _>>()?;
    let Err(errno) = nix::unistd::execv(&path, &args);
    Err(Error::Exec {
        path: plan.binary,
        source: errno.into(),
    })
}
