//! A component's plan on this node: the node's facts read, the flags computed, and the config
//! files the plan names written. Shared by `exec`, `fetch` (for `KUBE_ARGS`) and `flags`/`env`.

use crate::component::Component;
use crate::flags::{self, Plan};
use crate::fsutil;
use crate::node::NodeFacts;
use crate::settings::Settings;

/// Mode of the files kube-bootstrap writes for components (they name key paths).
pub const CONFIG_MODE: u32 = 0o600;

/// The plan for a component on this node, its warnings logged.
pub fn plan(
    settings: &Settings,
    component: Component,
    cli_extra: &[String],
) -> Result<Plan, flags::Error> {
    let plan = unlogged(settings, component, cli_extra)?;
    for warning in &plan.warnings {
        tracing::warn!(component = %component, "{warning}");
    }
    Ok(plan)
}

/// The plan for a component on this node, its warnings left to the caller (`flags --explain`
/// and `--json` print them, so logging them too would say each twice).
pub fn unlogged(
    settings: &Settings,
    component: Component,
    cli_extra: &[String],
) -> Result<Plan, flags::Error> {
    let facts = NodeFacts::load(settings);
    flags::compute(component, settings, &facts, cli_extra)
}

/// Writes the plan's kubeconfig and config files, each only when its content changed.
pub fn write_files(plan: &Plan) -> Result<(), fsutil::Error> {
    for file in &plan.files {
        if fsutil::write_if_changed(&file.path, file.content.as_bytes(), CONFIG_MODE)? {
            tracing::info!(component = %plan.component, path = %file.path.display(), "config file updated");
        }
    }
    Ok(())
}
