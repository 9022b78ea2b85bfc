//! Shared test support: sandbox roots, artifacts, a local mirror, the command builder and a
//! throwaway systemd node.

pub mod artifact;
pub mod cmd;
pub mod fake;
pub mod mirror;
pub mod node;
pub mod proxy;
pub mod server;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant};

use tempfile::TempDir;

pub use cmd::kb;
use mirror::Mirror;

/// The version fetched by default (`KUBE_VERSION` of [`kb`]).
pub const VERSION: &str = "v1.36.4";
/// The version installed beforehand by [`install_previous`].
pub const PREV_VERSION: &str = "v1.36.3";
/// The architecture every test requests.
pub const ARCH: &str = "amd64";

/// Size of the previously installed artifact (differs from the new one).
const PREV_SIZE: usize = 1024 * 1024 + 4096;
/// Tag byte of the previously installed artifact.
const PREV_TAG: u8 = 0x33;

/// A temporary `--root` directory and the paths the binary uses inside it.
pub struct Sandbox {
    dir: TempDir,
}

impl Sandbox {
    pub fn new() -> Self {
        Self {
            dir: tempfile::Builder::new()
                .prefix("kb-it-")
                .tempdir()
                .expect("create sandbox root"),
        }
    }

    /// The sandbox root, passed as `--root`.
    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    /// `ROOT/opt/bin`, the default install directory.
    pub fn bin_dir(&self) -> PathBuf {
        self.root().join("opt/bin")
    }

    /// `ROOT/opt/bin/<binary>`.
    pub fn installed(&self, binary: &str) -> PathBuf {
        self.bin_dir().join(binary)
    }

    /// `ROOT/var/lib/kube-bootstrap/opt-bin-<binary>.json`: the record of `/opt/bin/<binary>`,
    /// named after the installed path as systemd escapes it.
    pub fn record(&self, binary: &str) -> PathBuf {
        self.root()
            .join("var/lib/kube-bootstrap")
            .join(format!("opt-bin-{}.json", binary.replace('-', "\\x2d")))
    }

    /// `ROOT/var/lib/kube-bootstrap/<binary>.json`: where releases before per-path records kept
    /// the record.
    pub fn legacy_record(&self, binary: &str) -> PathBuf {
        self.root()
            .join("var/lib/kube-bootstrap")
            .join(format!("{binary}.json"))
    }

    /// `ROOT/run/kube-bootstrap/<binary>.env`.
    pub fn env_file(&self, binary: &str) -> PathBuf {
        self.root()
            .join("run/kube-bootstrap")
            .join(format!("{binary}.env"))
    }

    /// `ROOT/opt/bin/.<binary>.<sha256>.partial`.
    pub fn partial(&self, binary: &str, sha256: &str) -> PathBuf {
        self.bin_dir().join(format!(".{binary}.{sha256}.partial"))
    }

    /// Every `.<binary>.*.partial` file left in the install directory.
    pub fn partials(&self, binary: &str) -> Vec<PathBuf> {
        let prefix = format!(".{binary}.");
        let Ok(entries) = fs::read_dir(self.bin_dir()) else {
            return Vec::new();
        };
        entries
            .map(|e| e.expect("read bin dir entry"))
            .filter(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                name.starts_with(&prefix) && name.ends_with(".partial")
            })
            .map(|e| e.path())
            .collect()
    }

    /// Asserts that no partial download of `binary` is left behind.
    pub fn assert_no_partials(&self, binary: &str) {
        let left = self.partials(binary);
        assert!(left.is_empty(), "partial downloads left behind: {left:?}");
    }

    /// Asserts `binary` is installed with exactly `bytes` and mode 0755.
    pub fn assert_installed(&self, binary: &str, bytes: &[u8]) {
        let path = self.installed(binary);
        let found = fs::read(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        assert!(
            found == bytes,
            "{} differs from the expected artifact ({} bytes found, {} expected)",
            path.display(),
            found.len(),
            bytes.len()
        );
        let mode = fs::metadata(&path)
            .expect("stat installed")
            .permissions()
            .mode()
            & 0o7777;
        assert_eq!(mode, 0o755, "mode of {}", path.display());
    }

    /// The parsed install record of `binary`.
    pub fn read_record(&self, binary: &str) -> serde_json::Value {
        let path = self.record(binary);
        let text =
            fs::read_to_string(&path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()));
        serde_json::from_str(&text).unwrap_or_else(|e| panic!("parse {}: {e}", path.display()))
    }
}

/// A binary installed (at [`PREV_VERSION`]) before the step under test.
pub struct Previous {
    binary: String,
    bytes: Vec<u8>,
    sha256: String,
    env_file: String,
}

/// Installs `binary` at [`PREV_VERSION`] from a throwaway mirror, with an
/// artifact different from the one later tests serve.
pub fn install_previous(sb: &Sandbox, binary: &str) -> Previous {
    let bytes = artifact::elf(PREV_SIZE, PREV_TAG);
    let mirror = Mirror::start();
    mirror.publish(PREV_VERSION, binary, &bytes);
    kb(sb.root())
        .version(PREV_VERSION)
        .mirrors(&[&mirror.url()])
        .allow_http()
        .fetch(&[binary])
        .run()
        .success();
    sb.assert_installed(binary, &bytes);
    let env_file = fs::read_to_string(sb.env_file(binary)).expect("env file of previous install");
    Previous {
        binary: binary.to_owned(),
        sha256: artifact::sha256_hex(&bytes),
        bytes,
        env_file,
    }
}

impl Previous {
    /// Asserts the previous install is untouched: same bytes and mode, its
    /// record still describing it, and its env file unchanged.
    pub fn assert_intact(&self, sb: &Sandbox) {
        sb.assert_installed(&self.binary, &self.bytes);
        let record = sb.read_record(&self.binary);
        assert_eq!(record["version"], PREV_VERSION, "record: {record}");
        assert_eq!(record["sha256"], self.sha256.as_str(), "record: {record}");
        let env_file = fs::read_to_string(sb.env_file(&self.binary)).expect("env file");
        assert_eq!(env_file, self.env_file, "env file was rewritten");
    }
}

/// Polls `cond` every 10 ms; panics naming `what` if it is not true within `limit`.
pub fn wait_until(limit: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + limit;
    while !cond() {
        assert!(
            Instant::now() < deadline,
            "timed out after {limit:?} waiting for {what}"
        );
        thread::sleep(Duration::from_millis(10));
    }
}

/// Whether the tests run with effective uid 0.
pub fn running_as_root() -> bool {
    fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|ids| ids.split_whitespace().nth(1).map(|euid| euid == "0"))
        })
        .unwrap_or(false)
}

/// Quotes `s` for a POSIX shell.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Writes `content` at `root/rel`, making its directories.
pub fn write(root: &Path, rel: &str, content: &str) {
    let path = root.join(rel);
    fs::create_dir_all(path.parent().expect("a path inside the root")).expect("create dirs");
    fs::write(path, content).expect("write file");
}

/// A node sandbox: `/etc/leader` names `leader`, `/etc/network-environment` gives `node_ip`.
pub fn node_sandbox(leader: &str, node_ip: &str) -> Sandbox {
    let sb = Sandbox::new();
    write(
        sb.root(),
        "etc/leader",
        &format!("LEADER_ENDPOINT={leader}\n"),
    );
    write(
        sb.root(),
        "etc/network-environment",
        &format!("DEFAULT_IPV4={node_ip}\n"),
    );
    sb
}
