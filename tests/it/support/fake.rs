//! The fake component: a small real ELF program, built once per test run, that records the PID
//! and argv it was started with.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Compiles a C fixture (path relative to the crate) once per test run; returns the executable.
pub fn compile(source: &str) -> PathBuf {
    static BUILT: Mutex<BTreeMap<String, PathBuf>> = Mutex::new(BTreeMap::new());
    let mut built = BUILT.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(path) = built.get(source) {
        return path.clone();
    }
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join(source);
    let name = src.file_stem().unwrap().to_string_lossy().into_owned();
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}-{}", std::process::id()));
    let status = Command::new("cc")
        .args(["-O2", "-o"])
        .arg(&out)
        .arg(&src)
        .status()
        .expect("run cc to build a test fixture");
    assert!(status.success(), "cc failed to build {}", src.display());
    built.insert(source.to_owned(), out.clone());
    out
}

/// Path of the compiled fake component.
pub fn path() -> PathBuf {
    compile("tests/it/fixtures/fake_component.c")
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
