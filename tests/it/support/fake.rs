//! The fake component: a small real ELF program, built once per test run, that records the PID
//! and argv it was started with.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Path of the compiled fake component.
pub fn path() -> &'static Path {
    static BUILT: OnceLock<PathBuf> = OnceLock::new();
    BUILT.get_or_init(|| {
        let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/fixtures/fake_component.c");
        let out = Path::new(env!("CARGO_TARGET_TMPDIR"))
            .join(format!("fake-component-{}", std::process::id()));
        let status = Command::new("cc")
            .args(["-O2", "-o"])
            .arg(&out)
            .arg(&src)
            .status()
            .expect("run cc to build the fake component");
        assert!(status.success(), "cc failed to build {}", src.display());
        out
    })
}

/// The fake component's bytes, to publish on a mirror.
pub fn bytes() -> Vec<u8> {
    std::fs::read(path()).expect("read the fake component")
}

/// What the fake recorded: its PID and its argv.
pub fn read_record(file: &Path) -> Option<(u32, Vec<String>)> {
    let text = std::fs::read_to_string(file).ok()?;
    let mut lines = text.lines();
    let pid = lines.next()?.parse().ok()?;
    Some((pid, lines.map(str::to_owned).collect()))
}
