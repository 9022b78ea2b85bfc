//! Test artifacts: padded copies of a real ELF executable, checksums and mirror paths.

use sha2::{Digest, Sha256};

/// Default artifact size: large enough that transfers can be cut, stalled and resumed.
pub const SIZE: usize = 2 * 1024 * 1024;

/// ELF machine number of x86-64, the architecture the tests request (`amd64`).
const EM_X86_64: u16 = 62;

/// A real x86-64 ELF executable (`/bin/true`) padded with zero bytes to `size`.
///
/// The last byte is set to `tag` so that artifacts of one size but different
/// tags differ (use distinct tags for distinct versions).
pub fn elf(size: usize, tag: u8) -> Vec<u8> {
    let mut bytes = std::fs::read("/bin/true").expect("read /bin/true");
    assert!(
        bytes.starts_with(b"\x7fELF")
            && bytes.len() > 20
            && u16::from_le_bytes([bytes[18], bytes[19]]) == EM_X86_64,
        "/bin/true must be an x86-64 ELF executable for these tests"
    );
    assert!(
        size > bytes.len(),
        "artifact size {size} is below the ELF size"
    );
    bytes.resize(size, 0);
    bytes[size - 1] = tag;
    bytes
}

/// A small HTML page, the kind of body a captive portal or CDN error returns.
pub fn html_page() -> Vec<u8> {
    b"<!DOCTYPE html>\n<html><head><title>Oops</title></head>\n<body><h1>Something went wrong</h1></body></html>\n".to_vec()
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// Path of an artifact below a mirror base, laid out like dl.k8s.io.
pub fn artifact_path(version: &str, binary: &str) -> String {
    format!("/{version}/bin/linux/amd64/{binary}")
}

/// Path of the checksum side file of an artifact below a mirror base.
pub fn side_path(version: &str, binary: &str) -> String {
    format!("{}.sha256", artifact_path(version, binary))
}

/// The kubelet most fetch tests serve: an amd64 ELF of [`SIZE`] bytes.
pub fn kubelet() -> Vec<u8> {
    elf(SIZE, 0x44)
}

/// The kubelet's path on a mirror, at [`crate::support::VERSION`].
pub fn kubelet_path() -> String {
    artifact_path(crate::support::VERSION, "kubelet")
}
