//! The top-level error: wraps each module's own error, and owns the exit codes, the hints and
//! the `error: ... / caused by: ... / hint: ...` report. It imports the modules' error types
//! and nothing else; no module below imports it.

use crate::fetch::{self, ExpectedFrom, FetchError};
use crate::netenv::{self, DiscoveryError};
use crate::node::{FactError, LEADER_ENDPOINT};
use crate::{exec, explain, flags, fsutil, http, mirror, pki, settings};

/// Exit code for runtime failures.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for usage and configuration errors (same as clap's).
pub const EXIT_USAGE: u8 = 2;

/// Everything that can make a command fail.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Settings(#[from] settings::Error),

    #[error(transparent)]
    Io(#[from] fsutil::Error),

    #[error(transparent)]
    Http(#[from] http::Error),

    #[error(transparent)]
    Fetch(#[from] fetch::Error),

    #[error(transparent)]
    Flags(#[from] flags::Error),

    #[error(transparent)]
    Exec(#[from] exec::Error),

    #[error(transparent)]
    Explain(#[from] explain::Error),

    #[error(transparent)]
    NetworkEnv(#[from] netenv::Error),

    #[error(transparent)]
    Pki(#[from] pki::Error),

    #[error(transparent)]
    Mirror(#[from] mirror::Error),

    #[error("{failed} of {total} doctor checks failed")]
    ChecksFailed { failed: usize, total: usize },
}

impl Error {
    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::Settings(settings::Error::Io(_)) => EXIT_FAILURE,
            Error::Settings(_)
            | Error::Flags(_)
            | Error::Exec(exec::Error::Flags(_))
            | Error::Explain(explain::Error::Flags(_) | explain::Error::UnitArgs { .. })
            | Error::Pki(pki::Error::MissingFact { .. } | pki::Error::NodeName { .. }) => {
                EXIT_USAGE
            }
            Error::Fetch(e) => fetch_exit_code(e),
            _ => EXIT_FAILURE,
        }
    }

    /// A next step for the operator, when there is an obvious one.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Settings(settings::Error::Io(e)) => io_hint(e),
            Error::Settings(settings::Error::MissingRoot { .. }) => Some(
                "--root names the directory that holds the node's files (/etc, /opt, /var, /run under it); create it or fix the path".to_string(),
            ),
            Error::Settings(settings::Error::UnknownSettings { unknown }) => {
                Some(unknown_hint(unknown))
            }
            Error::Settings(_) | Error::Http(_) => None,
            Error::Io(e) => io_hint(e),
            Error::Fetch(e) => fetch_hint(e),
            Error::Flags(e)
            | Error::Exec(exec::Error::Flags(e))
            | Error::Explain(explain::Error::Flags(e)) => flags_hint(e),
            Error::Exec(exec::Error::Io(e)) | Error::Explain(explain::Error::Io(e)) => io_hint(e),
            Error::Exec(exec::Error::BinaryRefused {
                bad_record: Some(record),
                component,
                ..
            }) => Some(format!(
                "the record, not the binary, is what could not be used: with too many open files, raise the limit (LimitNOFILE=); otherwise remove '{}' and run 'kube-bootstrap fetch {component}', which verifies the binary again and records it",
                record.display()
            )),
            Error::Exec(
                exec::Error::BinaryRefused { component, .. }
            )
            | Error::Explain(explain::Error::NotInstalled { component, .. }) => {
                Some(format!("run 'kube-bootstrap fetch {component}' first"))
            }
            Error::Exec(exec::Error::MissingFiles { missing, .. }) => Some(format!(
                "{}; 'kube-bootstrap flags --explain' shows which flag needs which file",
                missing.first().map_or_else(
                    || "run 'kube-bootstrap pki init' on the leader".into(),
                    |(_, p, why)| if why == "missing" {
                        pki::command_for(p)
                    } else {
                        pki::unusable_hint(p)
                    }
                )
            )),
            Error::Pki(e) => pki_hint(e),
            Error::Exec(exec::Error::Exec { .. }) => None,
            Error::Explain(explain::Error::UnitArgs { .. }) => Some(UNIT_ARGS_HINT.to_string()),
            Error::NetworkEnv(netenv::Error::Discovery(DiscoveryError::NoDefaultRoute { .. })) => Some(
                "add a default route (ip route add default via <gateway>), or set KUBE_NODE_IP instead of writing the file".to_string(),
            ),
            Error::NetworkEnv(netenv::Error::Io(e)) => io_hint(e),
            Error::NetworkEnv(_) => None,
            Error::Mirror(e) => mirror_hint(e),
            Error::ChecksFailed { .. } => Some(
                "the lines marked 'fail' above say what is wrong and what to do".to_string(),
            ),
        }
    }
}

/// How to fix names in the config file that are not settings: rename or remove each.
fn unknown_hint(unknown: &[settings::UnknownSetting]) -> String {
    let fixes: Vec<String> = unknown
        .iter()
        .map(|u| match u.suggestion {
            Some(meant) => format!("rename {} to {meant}", u.name),
            None => format!("remove {}", u.name),
        })
        .collect();
    let file = unknown.first().map(|u| u.file.display().to_string());
    format!(
        "{} in '{}' (README.md's Configuration table lists every setting)",
        fixes.join(", "),
        file.unwrap_or_default()
    )
}

/// pki's hints name its own commands.
fn pki_hint(e: &pki::Error) -> Option<String> {
    match e {
        pki::Error::Io { source, path, .. }
            if matches!(
                source.raw_os_error(),
                Some(nix::libc::EROFS)
                    | Some(nix::libc::EACCES)
                    | Some(nix::libc::EPERM)
                    | Some(nix::libc::ENOSPC)
            ) =>
        {
            Some(format!(
                "make room in or make '{}' writable (KUBE_PKI_DIR, --root); files already there were left as they were",
                crate::fsutil::parent(path).display()
            ))
        }
        pki::Error::MissingFact { .. } => Some(
            "pki init puts the leader's address (LEADER_ENDPOINT in /etc/leader) and this node's address (DEFAULT_IPV4 or KUBE_NODE_IP) into the apiserver certificate".into(),
        ),
        pki::Error::NoCaKey { .. } => Some(
            "run 'kube-bootstrap pki init' on the leader, or issue the file with the CA that made ca.crt".into(),
        ),
        pki::Error::WrongNode { bundle, node, .. } => Some(format!(
            "on the leader, run 'kube-bootstrap pki node {node} --out FILE' and install that bundle (this one is for '{}')",
            crate::shown::quote(bundle)
        )),
        pki::Error::NotRegular { path }
        | pki::Error::TooLarge { path, .. }
        | pki::Error::Unreadable { path, .. } => Some(pki::unusable_hint(path)),
        pki::Error::HalfPair { present, missing } => Some(pki::half_pair_hint(present, missing)),
        pki::Error::CaKeyMismatch { key, cert } => Some(pki::ca_mismatch_hint(key, cert)),
        pki::Error::NotVerified { path, .. } => Some(format!(
            "another program may be writing '{}', or its disk is failing; run the command again once nothing else writes there",
            crate::fsutil::parent(path).display()
        )),
        pki::Error::CheckFailed { .. } => {
            Some("the lines marked 'fail' above say what is wrong and what to do".into())
        }
        pki::Error::Api(crate::kubeapi::Error::Client { .. }) => Some(
            "run 'kube-bootstrap pki init' on the leader first: it makes ca.crt and super-admin.crt/.key, which 'pki rbac' uses".into(),
        ),
        pki::Error::Api(crate::kubeapi::Error::NotReady { .. }) => Some(
            "start the apiserver ('systemctl start kube-apiserver.service') and see 'journalctl -u kube-apiserver'; 'pki rbac --wait SECONDS' waits longer".into(),
        ),
        pki::Error::Api(crate::kubeapi::Error::Status { status: 401 | 403, .. }) => Some(
            "the apiserver refused super-admin.crt: run 'kube-bootstrap pki init' on this leader (its CA must be the apiserver's --client-ca-file)".into(),
        ),
        pki::Error::CaHashMismatch { .. } => Some(
            "check KUBE_DISCOVERY_TOKEN_CA_CERT_HASH against what 'kube-bootstrap pki token' printed on the leader; if this node's ca.crt is from another cluster, remove it so 'pki join' fetches the leader's".into(),
        ),
        pki::Error::Discovery { .. } => Some(
            "check LEADER_ENDPOINT in /etc/leader and that the leader's apiserver and kube-bootstrap-rbac.service run; 'pki join --wait SECONDS' waits longer".into(),
        ),
        pki::Error::TokenNeedsTls { .. } => Some(
            "set KUBE_VERSION to 1.20 or later, or join workers with 'kube-bootstrap pki node' bundles".into(),
        ),
        pki::Error::TokenExists { .. } => Some("run 'kube-bootstrap pki token' again".into()),
        pki::Error::InitOnJoinedWorker => Some(
            "on a worker, kube-kubelet.service's 'kube-bootstrap pki join' fetches ca.crt and the kubelet gets its own certificate; remove KUBE_BOOTSTRAP_TOKEN from this node's settings if it is meant to be a leader".into(),
        ),
        pki::Error::RenewNotLeader { .. } => Some(
            "on a worker the kubelet renews its own certificate (rotateCertificates); disable kube-bootstrap-pki-renew.timer here ('systemctl disable --now kube-bootstrap-pki-renew.timer')".into(),
        ),
        pki::Error::ObjectDiffers { path, .. } => Some(format!(
            "inspect it with 'kubectl get --raw {path}'; delete it to let 'kube-bootstrap pki rbac' make it as it should be"
        )),
        _ => None,
    }
}

fn fetch_exit_code(e: &fetch::Error) -> u8 {
    match e {
        fetch::Error::Several { failed, .. } => failed
            .iter()
            .map(fetch_exit_code)
            .max()
            .unwrap_or(EXIT_FAILURE),
        fetch::Error::UnitArgs { .. } => EXIT_USAGE,
        _ => EXIT_FAILURE,
    }
}

fn io_hint(e: &fsutil::Error) -> Option<String> {
    match e.source.raw_os_error() {
        Some(nix::libc::EROFS) | Some(nix::libc::EACCES) | Some(nix::libc::EPERM) => {
            // Name the directory that is read-only and the setting that moves it, if any.
            let within = |tail: &str| e.path.ancestors().find(|a| a.ends_with(tail));
            if let Some(dir) = within(fetch::STATE_DIR.trim_start_matches('/')) {
                return Some(format!(
                    "make the state directory '{}' writable: install records and locks live there (only --root moves it)",
                    dir.display()
                ));
            }
            if let Some(dir) = within(fetch::RUN_DIR.trim_start_matches('/')) {
                return Some(format!(
                    "make '{}' writable: the units' environment files live there, usually on the /run tmpfs (only --root moves it)",
                    dir.display()
                ));
            }
            let dir = e.path.parent().unwrap_or(&e.path);
            if within("etc/kubernetes").is_some() {
                return Some(format!(
                    "make '{}' writable, or choose another directory (KUBE_CONFIG_DIR, KUBE_PKI_DIR, --root)",
                    dir.display()
                ));
            }
            Some(format!(
                "make '{}' writable, or choose another directory (KUBE_BIN_DIR, --root)",
                dir.display()
            ))
        }
        _ => None,
    }
}

fn fetch_hint(e: &fetch::Error) -> Option<String> {
    match e {
        fetch::Error::Io(e) => io_hint(e),
        fetch::Error::Http(_) => None,
        fetch::Error::AllMirrorsFailed { failures, .. } => {
            failures.iter().find_map(|f| attempt_hint(&f.reason))
        }
        fetch::Error::Skew(r) => Some(format!(
            "upgrade the control plane first, or set KUBE_VERSION to a {} release within the policy; {}=off skips the check",
            r.binary,
            crate::env_vars::KUBE_SKEW_CHECK
        )),
        fetch::Error::Deadline {
            lock: Some(lock), ..
        } => Some(format!(
            "another fetch of this binary held '{}' all along: let it finish, or find it (fuser -v '{}', systemctl list-units 'kube-*'); raise KUBE_FETCH_DEADLINE to wait longer",
            lock.display(),
            lock.display()
        )),
        fetch::Error::Deadline { .. } => {
            Some("raise KUBE_FETCH_DEADLINE, or add a closer mirror to KUBE_MIRRORS".to_string())
        }
        fetch::Error::UnitArgs { .. } => Some(UNIT_ARGS_HINT.to_string()),
        fetch::Error::Several { failed, .. } => failed.iter().find_map(fetch_hint),
        fetch::Error::StalePin(p) => Some(format!(
            "when KUBE_VERSION changes, change its pins too: remove {} from {} or set it to the wanted release's sha256 ('kube-bootstrap releases' lists what is kept)",
            p.var, p.origin
        )),
        fetch::Error::DiskFull { dir, .. } => Some(format!(
            "free space on the filesystem of '{}' ('df -h {0}'), or install elsewhere (KUBE_BIN_DIR)",
            dir.display()
        )),
    }
}

const UNIT_ARGS_HINT: &str = "take the control character out of the setting or node file that gives this argument; units that run 'kube-bootstrap exec' (the shipped ones) do not use KUBE_ARGS";

/// The hint for one failed attempt at one mirror.
fn attempt_hint(e: &FetchError) -> Option<String> {
    match e {
        FetchError::InsecureHttp { pin_var, .. } => Some(format!(
            "use an https mirror, pin the checksum with {pin_var}, or set KUBE_ALLOW_HTTP=1 if the network path is trusted"
        )),
        FetchError::ChecksumMismatch {
            from: ExpectedFrom::Pin { var, origin },
            ..
        } => Some(format!(
            "the mirror serves a different file than {var} expects: if KUBE_VERSION changed, {var} ({origin}) may still pin the old release (update or remove it there); else check the mirror's copy"
        )),
        FetchError::ChecksumMismatch { .. } => {
            Some("the mirror's binary and its .sha256 disagree; the copy on the mirror is corrupt or incomplete".into())
        }
        FetchError::InvalidChecksumFile { .. } => Some(
            "the mirror must serve '<binary>.sha256' next to each binary, or pin the checksum with KUBE_SHA256_<BINARY>".into(),
        ),
        FetchError::Status { status: 404, .. } | FetchError::FileMirror { .. } => {
            Some("check KUBE_VERSION and KUBE_ARCH, and that the mirror is laid out like dl.k8s.io".into())
        }
        FetchError::Local(e) => fetch_hint(e),
        _ => None,
    }
}

fn mirror_hint(e: &mirror::Error) -> Option<String> {
    match e {
        mirror::Error::Io(e) => io_hint(e),
        mirror::Error::Http(_) => None,
        mirror::Error::Busy { .. } => Some("wait for the other run to finish".into()),
        mirror::Error::Failed { failed, .. } => failed
            .iter()
            .find_map(|f| fetch_hint(&f.reason))
            .or_else(|| {
                Some(
                    "run 'kube-bootstrap mirror' again: it resumes and keeps what is verified"
                        .into(),
                )
            }),
        mirror::Error::Empty { .. } => {
            Some("fill it with 'kube-bootstrap mirror DIR' first".into())
        }
        mirror::Error::CheckFailed { dir, .. } => Some(format!(
            "run 'kube-bootstrap mirror {}' with the same releases: it replaces what does not verify",
            dir.display()
        )),
    }
}

fn flags_hint(e: &flags::Error) -> Option<String> {
    match e {
        flags::Error::MissingFact { source, .. } => Some(fact_hint(source)),
        flags::Error::UnsupportedVersion { .. } => None,
    }
}

/// What to do about a node fact a flag needs.
pub fn fact_hint(e: &FactError) -> String {
    match e {
        FactError::Unreadable { path, var, .. } | FactError::Unset { path, var }
            if *var == LEADER_ENDPOINT =>
        {
            format!("write LEADER_ENDPOINT=<apiserver host> to '{}' (or point KUBE_LEADER_FILE elsewhere)", path.display())
        }
        FactError::Invalid { path, var, .. } if *var == LEADER_ENDPOINT => {
            format!("fix LEADER_ENDPOINT in '{}'", path.display())
        }
        FactError::Undiscovered { path, .. } => format!(
            "give the node a default route, write DEFAULT_IPV4=<address> to '{}', or set KUBE_NODE_IP",
            path.display()
        ),
        _ => "run 'kube-bootstrap network-env --output /etc/network-environment' (or setup-network-environment) so that it writes DEFAULT_IPV4, or set KUBE_NODE_IP".to_string(),
    }
}

/// Renders an error the way the program prints it: `error: ...`, every cause, then a hint.
pub fn report(err: &Error) -> String {
    let mut out = String::new();
    let errors: Vec<&dyn std::error::Error> = match err {
        Error::Fetch(fetch::Error::Several { failed, .. }) => {
            failed.iter().map(|e| e as &dyn std::error::Error).collect()
        }
        one => vec![one],
    };
    for e in errors {
        out.push_str(&format!("error: {e}\n"));
        let mut source = e.source();
        while let Some(cause) = source {
            out.push_str(&format!("  caused by: {cause}\n"));
            source = cause.source();
        }
    }
    if let Error::Fetch(fetch::Error::Several { .. }) = err {
        out.push_str(&format!("error: {err}\n"));
    }
    if let Some(hint) = err.hint() {
        out.push_str(&format!("hint: {hint}\n"));
    }
    // The last guards: credentials in a URL some library quoted in its message, and terminal
    // control sequences from a value no one quoted (values are quoted where they are shown).
    crate::http::redact_text(&out)
        .chars()
        .map(|c| match c {
            '\n' => String::from(c),
            c if c.is_control() => crate::shown::quote(&c.to_string()),
            c => String::from(c),
        })
        .collect()
}

#[cfg(test)]
mod tests;
