//! The raw layers before validation: the config file, the process environment (read, never
//! modified) and the command line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::{DEFAULT_CONFIG, Error, Origin, UnknownSetting, resolve};
use crate::env_vars as var;

/// Values given on the command line; each overrides its variable.
#[derive(Debug, Default, Clone)]
pub struct CliOverrides {
    pub version: Option<String>,
    pub arch: Option<String>,
    pub mirrors: Vec<String>,
    pub bin_dir: Option<String>,
    pub verify: Option<String>,
}

/// The raw layers, before validation.
#[derive(Debug, Default)]
pub struct Overlay {
    config_path: PathBuf,
    config: BTreeMap<String, String>,
    cli: BTreeMap<&'static str, (String, &'static str)>,
    /// Process environment; `None` reads the real one (tests pass a map).
    env: Option<BTreeMap<String, String>>,
    /// Names in the config file that look like ours but are not.
    unknown: Vec<UnknownSetting>,
}

impl Overlay {
    /// Reads the config file (optional unless named with `--config`) and takes the CLI values.
    pub fn load(root: &Path, config: Option<&Path>, cli: &CliOverrides) -> Result<Overlay, Error> {
        let (path, required) = match config {
            // Typed on the command line: taken as given; only the default is under --root.
            Some(p) => (p.to_path_buf(), true),
            None => (resolve(root, Path::new(DEFAULT_CONFIG)), false),
        };
        let vars = match crate::envfile::read(&path) {
            Ok(vars) => Some(vars),
            Err(crate::envfile::Error::Read { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound && !required =>
            {
                None
            }
            Err(crate::envfile::Error::Read { source, .. }) => {
                return Err(Error::ConfigRead { path, source });
            }
            Err(other) => return Err(Error::ConfigParse(other)),
        };
        let mut overlay = match vars {
            Some(vars) => Overlay::from_vars(&path, vars),
            None => Overlay {
                config_path: path,
                ..Overlay::default()
            },
        };
        overlay.set_cli(cli);
        warn_misspelt_env();
        Ok(overlay)
    }

    /// Parses config file text (systemd's `EnvironmentFile=` format) into an overlay.
    pub fn from_config_str(path: &Path, text: &str) -> Result<Overlay, Error> {
        let vars =
            crate::envfile::parse_str(text).map_err(|at| Error::ConfigParse(at.in_file(path)))?;
        Ok(Overlay::from_vars(path, vars))
    }

    fn from_vars(path: &Path, vars: Vec<(String, String)>) -> Overlay {
        let mut config = BTreeMap::new();
        let mut unknown = Vec::new();
        for (key, value) in vars {
            if var::looks_like_ours(&key) {
                let u = UnknownSetting {
                    suggestion: var::suggest(&key),
                    name: key.clone(),
                    file: path.to_path_buf(),
                };
                unknown.push(u);
            }
            config.insert(key, value);
        }
        Overlay {
            config_path: path.to_path_buf(),
            config,
            unknown,
            ..Overlay::default()
        }
    }

    /// Names in the config file that look like ours but are not (an error: the operator wrote
    /// them for us).
    pub fn unknown(&self) -> &[UnknownSetting] {
        &self.unknown
    }

    /// Uses `env` instead of the process environment (for tests).
    pub fn with_env(mut self, env: BTreeMap<String, String>) -> Overlay {
        self.env = Some(env);
        self
    }

    pub(super) fn set_cli(&mut self, cli: &CliOverrides) {
        let mut put = |name: &'static str, flag: &'static str, value: &Option<String>| {
            if let Some(v) = value {
                self.cli.insert(name, (v.clone(), flag));
            }
        };
        put(var::KUBE_VERSION, "--kube-version", &cli.version);
        put(var::KUBE_ARCH, "--arch", &cli.arch);
        put(var::KUBE_BIN_DIR, "--bin-dir", &cli.bin_dir);
        put(var::KUBE_VERIFY, "--verify", &cli.verify);
        if !cli.mirrors.is_empty() {
            self.cli
                .insert(var::KUBE_MIRRORS, (cli.mirrors.join(" "), "--mirror"));
        }
    }

    /// The value of `name` from the highest layer that sets it; empty values count as unset.
    pub fn get(&self, name: &str) -> Option<(String, Origin)> {
        if let Some((v, flag)) = self.cli.get(name) {
            return Some((v.clone(), Origin::Cli(flag)));
        }
        let env = match &self.env {
            Some(map) => map.get(name).cloned(),
            None => std::env::var(name).ok(),
        };
        if let Some(v) = env.filter(|v| !v.is_empty()) {
            return Some((v, Origin::Env));
        }
        self.config
            .get(name)
            .filter(|v| !v.is_empty())
            .map(|v| (v.clone(), Origin::ConfigFile(self.config_path.clone())))
    }
}

/// Warns about `KUBE_*` names in the process environment that are one or two edits from one of
/// ours. Other tools set `KUBE_*` variables there too (`KUBE_EDITOR`), so it is only a warning,
/// and only for a likely typo.
fn warn_misspelt_env() {
    for (key, _) in std::env::vars_os() {
        let Some(key) = key.to_str() else { continue };
        if let Some(meant) = misspelt_env(key) {
            tracing::warn!(variable = %key, suggestion = meant, "unknown setting {key} in the environment, ignored: did you mean {meant}?");
        }
    }
}

/// The setting a `KUBE_*` name in the environment most likely meant, when it is not one itself.
fn misspelt_env(name: &str) -> Option<&'static str> {
    if name.starts_with("KUBE_") && !var::is_known(name) {
        var::suggest(name)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::misspelt_env;

    #[test]
    fn only_likely_typos_in_the_environment_are_named() {
        for (name, want) in [
            ("KUBE_VERSON", Some("KUBE_VERSION")),
            ("KUBE_VERSION", None),
            ("KUBE_EDITOR", None),
            ("KUBECONFIG", None),
            ("KUBE_SHA256_KUBELET", None),
            ("HTTPS_PROXY", None),
        ] {
            assert_eq!(misspelt_env(name), want, "{name}");
        }
    }
}
