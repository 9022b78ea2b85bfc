//! Kubernetes release versions: parsing and validation of `vMAJOR.MINOR.PATCH[-pre]`.

use std::fmt;
use std::str::FromStr;

/// The release installed when `KUBE_VERSION` is not set.
pub const DEFAULT: &str = "v1.36.4";

/// A validated Kubernetes release such as `v1.36.4` or `v1.37.0-rc.1`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KubeVersion {
    pub major: u32,
    pub minor: u32,
    pub patch: u32,
    /// Pre-release suffix without the dash (`rc.1`), if any.
    pub pre: Option<String>,
}

/// What a valid version looks like, for error messages.
pub const EXPECTED: &str = "a release like v1.36.4 or v1.37.0-rc.1 (vMAJOR.MINOR.PATCH[-pre])";

/// The oldest release kube-bootstrap has flag rules for.
pub const OLDEST_SUPPORTED: &str = "v1.0.0";

/// The release a mistyped version most likely meant: `1.36.4` and `V1.36.4` -> `v1.36.4`.
pub fn suggest(s: &str) -> Option<String> {
    let s = s.trim();
    let rest = s.strip_prefix(['v', 'V']).unwrap_or(s);
    let meant = format!("v{rest}");
    (meant != s && meant.parse::<KubeVersion>().is_ok()).then_some(meant)
}

/// [`EXPECTED`], with a did-you-mean when `s` looks like a release mistyped.
pub fn expected_for(s: &str) -> String {
    match suggest(s) {
        Some(meant) => format!("{EXPECTED} (did you mean {meant}?)"),
        None => EXPECTED.to_string(),
    }
}

/// What a release kube-bootstrap refuses as too old should be, for error messages.
pub fn expected_supported() -> String {
    format!(
        "a release kube-bootstrap supports, {OLDEST_SUPPORTED} or newer (README.md: Supported Kubernetes releases)"
    )
}

impl KubeVersion {
    /// Whether kube-bootstrap has flag rules for this release (1.0 and newer).
    pub fn is_supported(&self) -> bool {
        self.major >= 1
    }
}

impl FromStr for KubeVersion {
    type Err = ();

    fn from_str(s: &str) -> Result<Self, ()> {
        let rest = s.strip_prefix('v').ok_or(())?;
        let (core, pre) = match rest.split_once('-') {
            Some((core, pre)) => {
                let ok = !pre.is_empty()
                    && pre
                        .split('.')
                        .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric()));
                if !ok {
                    return Err(());
                }
                (core, Some(pre.to_string()))
            }
            None => (rest, None),
        };
        let mut parts = core.split('.');
        let mut number = || -> Result<u32, ()> {
            let p = parts.next().ok_or(())?;
            // Leading zeros and signs are not part of a release number.
            if p.is_empty()
                || !p.bytes().all(|b| b.is_ascii_digit())
                || (p.len() > 1 && p.starts_with('0'))
            {
                return Err(());
            }
            p.parse().map_err(|_| ())
        };
        let (major, minor, patch) = (number()?, number()?, number()?);
        if parts.next().is_some() {
            return Err(());
        }
        Ok(KubeVersion {
            major,
            minor,
            patch,
            pre,
        })
    }
}

impl fmt::Display for KubeVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "v{}.{}.{}", self.major, self.minor, self.patch)?;
        if let Some(pre) = &self.pre {
            write!(f, "-{pre}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_releases_and_prereleases() {
        for (input, minor, pre) in [
            ("v1.36.4", 36, None),
            ("v1.0.0", 0, None),
            ("v1.37.0-rc.1", 37, Some("rc.1")),
            ("v1.30.0-alpha.3", 30, Some("alpha.3")),
        ] {
            let v: KubeVersion = input.parse().unwrap_or_else(|_| panic!("{input}"));
            assert_eq!(v.minor, minor, "{input}");
            assert_eq!(v.pre.as_deref(), pre, "{input}");
            assert_eq!(v.to_string(), input);
        }
    }

    #[test]
    fn rejects_everything_else() {
        for input in [
            "",
            "1.36.4",
            "v1.36",
            "v1.36.4.1",
            "v1.36.x",
            "v01.36.4",
            "v1.36.4-",
            "v1.36.4-rc..1",
            "v1.36.4-rc/1",
            " v1.36.4",
            "v1.36.4 ",
            "latest",
            "v-1.2.3",
            "v1.36.4+build",
        ] {
            assert!(
                input.parse::<KubeVersion>().is_err(),
                "{input:?} was accepted"
            );
        }
    }

    #[test]
    fn mistyped_versions_get_a_suggestion() {
        for (input, want) in [
            ("1.36.4", Some("v1.36.4")),
            ("V1.36.4", Some("v1.36.4")),
            (" 1.37.0-rc.1", Some("v1.37.0-rc.1")),
            ("v1.36.4", None),
            ("1.36", None),
            ("latest", None),
        ] {
            assert_eq!(suggest(input).as_deref(), want, "{input}");
        }
        let old: KubeVersion = "v0.9.0".parse().unwrap();
        assert!(!old.is_supported());
        assert!(
            OLDEST_SUPPORTED
                .parse::<KubeVersion>()
                .unwrap()
                .is_supported()
        );
    }

    #[test]
    fn default_is_valid() {
        assert!(DEFAULT.parse::<KubeVersion>().is_ok());
    }
}
