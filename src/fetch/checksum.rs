//! Checksums: hex encoding, hashing files, and parsing `<url>.sha256` side files.

use std::io::{self, Read};
use std::path::Path;

use sha2::{Digest, Sha256};

/// Size of the buffers used to hash and copy files.
pub const BUF_SIZE: usize = 256 * 1024;

/// The largest side file we read; a real one is 64 hex digits and a file name.
pub const MAX_SIDE_FILE: usize = 4096;

/// Lowercase hex of a digest.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[(b >> 4) as usize] as char);
        out.push(DIGITS[(b & 0xf) as usize] as char);
    }
    out
}

/// Hashes everything `file` yields from its current position; returns its sha256 and size.
pub fn hash_reader(mut file: impl Read) -> io::Result<(String, u64)> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; BUF_SIZE];
    let mut size = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        size += n as u64;
    }
    Ok((hex(&hasher.finalize()), size))
}

/// The first 20 bytes of a file (fewer if it is shorter), for the ELF check. Opened
/// non-blocking: a FIFO swapped in at the path is read as empty, never waited on.
pub fn read_header(path: &Path) -> io::Result<Vec<u8>> {
    use std::os::unix::fs::OpenOptionsExt;
    let mut buf = Vec::with_capacity(20);
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(nix::libc::O_NONBLOCK | nix::libc::O_CLOEXEC)
        .open(path)?;
    if !file.metadata()?.is_file() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            "not a regular file",
        ));
    }
    file.take(20).read_to_end(&mut buf)?;
    Ok(buf)
}

/// Parses a side file: hex in either case (as a pin may be), optionally followed by whitespace and the file name
/// (`sha256sum` output). Returns the digest, or what is wrong with the content.
pub fn parse_side_file(content: &[u8], binary: &str) -> Result<String, String> {
    let text =
        std::str::from_utf8(content).map_err(|_| format!("not text: {}", preview(content)))?;
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let Some(line) = lines.next() else {
        return Err("empty".to_string());
    };
    let mut tokens = line.split_whitespace();
    let digest = tokens.next().unwrap_or_default();
    let valid_hex = digest.len() == 64 && digest.bytes().all(|b| b.is_ascii_hexdigit());
    if !valid_hex {
        return Err(format!(
            "expected 64 hex digits, found {}",
            preview(content)
        ));
    }
    if let Some(name) = tokens.next() {
        let name = name.strip_prefix('*').unwrap_or(name);
        let base = name.rsplit('/').next().unwrap_or(name);
        if base != binary {
            let name = crate::shown::quote(name);
            return Err(format!("it is the checksum of '{name}', not of '{binary}'"));
        }
    }
    if tokens.next().is_some() || lines.next().is_some() {
        return Err(format!(
            "expected one digest and at most a file name, found {}",
            preview(content)
        ));
    }
    Ok(digest.to_ascii_lowercase())
}

/// The start of some bytes, printable, for error messages.
pub fn preview(content: &[u8]) -> String {
    let mut out = String::from("\"");
    for &b in content.iter().take(48) {
        match b {
            b'"' => out.push_str("\\\""),
            b if b.is_ascii_graphic() || b == b' ' => out.push(b as char),
            b'\n' => out.push_str("\\n"),
            b => out.push_str(&format!("\\x{b:02x}")),
        }
    }
    if content.len() > 48 {
        out.push_str("...");
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

    #[test]
    fn hex_of_empty_input_is_known() {
        assert_eq!(hex(&Sha256::digest(b"")), HEX);
    }

    #[test]
    fn side_file_forms() {
        for (content, ok) in [
            (HEX.to_string(), true),
            (format!("{HEX}\n"), true),
            (format!("{HEX}  kubelet\n"), true),
            (format!("{HEX} *kubelet"), true),
            (format!("{HEX}  ./bin/kubelet"), true),
            (format!("{HEX}  kube-proxy"), false),
            (HEX.to_uppercase(), true),
            (HEX[..63].to_string(), false),
            (format!("{HEX}\n{HEX}"), false),
            (
                "<!DOCTYPE html><html><body>Not Found</body></html>".to_string(),
                false,
            ),
            (String::new(), false),
        ] {
            let got = parse_side_file(content.as_bytes(), "kubelet");
            assert_eq!(got.is_ok(), ok, "{content:?}: {got:?}");
            if ok {
                assert_eq!(got.unwrap(), HEX);
            }
        }
    }

    #[test]
    fn html_side_file_error_shows_the_content() {
        let err = parse_side_file(b"<html><body>oops</body></html>", "kubelet").unwrap_err();
        assert!(err.contains("<html><body>oops"), "{err}");
    }
}
