//! The environment file a unit reads with `EnvironmentFile=`: the installed binary's facts
//! and `KUBE_ARGS` for `ExecStart=... $KUBE_ARGS`.

use super::{Error, Paths, Record};
use crate::cmdline::{self, Unrepresentable};
use crate::component::Fetchable;
use crate::envfile;
use crate::fsutil;
use crate::settings::Settings;

/// Writes the component's config files and the environment file units read with
/// `EnvironmentFile=`, each only when it changes. Flags that cannot be computed yet (a node
/// file missing) leave `KUBE_ARGS` out with a warning: the binary itself is in place. An
/// argument `$KUBE_ARGS` cannot carry leaves it out too (never a stale or wrong value), and is
/// an error.
pub(super) fn write_env_file(
    settings: &Settings,
    component: Fetchable,
    paths: &Paths,
    record: &Record,
) -> Result<(), Error> {
    // kubectl is for the admin: no unit reads an environment file for it.
    let Fetchable::Component(component) = component else {
        return Ok(());
    };
    // The environment file describes the binary the units run. An install redirected with
    // `--bin-dir` is a one-off beside it (its record is its own): leave the units' file alone.
    if matches!(
        settings.origins.get(crate::env_vars::KUBE_BIN_DIR),
        Some(crate::settings::Origin::Cli(_))
    ) {
        tracing::info!(component = %component, path = %paths.env_file.display(), binary = %paths.target.display(), "installed outside the units' KUBE_BIN_DIR (--bin-dir): their environment file is left as it is");
        return Ok(());
    }
    let args = match crate::plan::plan(settings, component, &[]) {
        Ok(plan) => {
            crate::plan::write_files(&plan)?;
            Some(plan.args())
        }
        Err(e) => {
            tracing::warn!(component = %component, error = %crate::causes::chain(&e), "cannot compute flags yet, KUBE_ARGS left out of the environment file");
            None
        }
    };
    let (text, refused) = match env_file_contents(paths, record, args.as_deref()) {
        Ok(text) => (text, None),
        Err(e) => (render(paths, record, None), Some(e)),
    };
    // systemd reads it as root, but operators and doctor read it too.
    fsutil::create_dir_mode(fsutil::parent(&paths.env_file), 0o755)?;
    if fsutil::write_if_changed(&paths.env_file, text.as_bytes(), 0o644)? {
        tracing::debug!(path = %paths.env_file.display(), "environment file written");
    }
    match refused {
        None => Ok(()),
        Some(source) => Err(Error::UnitArgs {
            binary: paths.binary,
            path: paths.env_file.clone(),
            source,
        }),
    }
}

/// The environment file's content for an installed binary. `KUBE_ARGS` is for
/// `ExecStart=/opt/bin/kubelet $KUBE_ARGS`: written so that systemd's splitting of it gives
/// back exactly `args`, or refused.
pub fn env_file_contents(
    paths: &Paths,
    record: &Record,
    args: Option<&[String]>,
) -> Result<String, Unrepresentable> {
    let args = args.map(cmdline::join_for_exec_var).transpose()?;
    Ok(render(paths, record, args))
}

fn render(paths: &Paths, record: &Record, kube_args: Option<String>) -> String {
    let mut vars = vec![
        ("KUBE_VERSION", record.version.clone()),
        ("KUBE_ARCH", record.arch.clone()),
        ("KUBE_BINARY", paths.target.display().to_string()),
        ("KUBE_SHA256", record.sha256.clone()),
        ("KUBE_SOURCE", crate::http::redact_text(&record.url)),
    ];
    if let Some(args) = kube_args {
        vars.push(("KUBE_ARGS", args));
    }
    envfile::render(
        &format!(
            "Written by kube-bootstrap for {}; do not edit.",
            paths.binary
        ),
        &vars,
    )
}
