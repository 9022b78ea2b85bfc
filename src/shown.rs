//! Untrusted text (node files, settings, server answers) made safe to quote in errors and
//! logs: credentials in URLs hidden, control characters escaped, so a value cannot start a
//! forged `error:` or `hint:` line or send terminal escapes, and long values cut short.

use std::fmt::Write as _;

/// The most characters of a value shown before it is cut.
pub const MAX_SHOWN: usize = 200;

/// `text` with the userinfo of every URL in it hidden ([`redact_text`]), control characters
/// (newlines, escapes, NUL, DEL, the C1 range) written as Rust-style escapes (`\n`,
/// `\u{1b}`), and at most [`MAX_SHOWN`] characters of it followed by the full length.
pub fn quote(text: &str) -> String {
    let text = &redact_text(text);
    let mut out = String::with_capacity(text.len().min(MAX_SHOWN + 16));
    for (i, c) in text.chars().enumerate() {
        if i == MAX_SHOWN {
            let _ = write!(out, "...({} bytes in all)", text.len());
            break;
        }
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() || is_invisible_format(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// `text` made one line that cannot move the cursor: newlines, carriage returns, other control
/// characters and invisible format characters escaped as [`quote`] escapes them, nothing cut.
/// The last guard of every report that prints one finding per line (doctor, `pki check`).
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c if c.is_control() || is_invisible_format(c) => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    out
}

/// [`quote`] of bytes that may not be UTF-8 (invalid sequences become U+FFFD).
pub fn quote_bytes(bytes: &[u8]) -> String {
    quote(&String::from_utf8_lossy(bytes))
}

/// Characters that reorder or hide text on a terminal (bidi overrides, line separators).
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `text` with the userinfo of any URL it names replaced by `***`, for error chains that quote
/// a URL (reqwest's do).
pub fn redact_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c.is_whitespace() || "/?#,;\"'<>()".contains(c))
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(i) => {
                out.push_str("***@");
                out.push_str(&authority[i + 1..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_text_hides_credentials_in_messages() {
        for (text, want) in [
            (
                "error sending request for url (https://u:p@127.0.0.1:8443/v1/kubelet)",
                "error sending request for url (https://***@127.0.0.1:8443/v1/kubelet)",
            ),
            (
                "from 'http://a@h/x' and https://h2/y",
                "from 'http://***@h/x' and https://h2/y",
            ),
            ("no url here", "no url here"),
            (
                "https://a,https://u:s@b/,http://t@c?x",
                "https://a,https://***@b/,http://***@c?x",
            ),
        ] {
            assert_eq!(redact_text(text), want);
        }
    }

    #[test]
    fn control_characters_cannot_forge_lines_or_escapes() {
        for (raw, want) in [
            ("plain value", "plain value"),
            ("x\nerror: forged", "x\\nerror: forged"),
            ("x\r\nhint: forged", "x\\r\\nhint: forged"),
            ("\u{1b}[2Jcleared", "\\u{1b}[2Jcleared"),
            ("nul\0byte", "nul\\u{0}byte"),
            ("tab\there", "tab\\there"),
            ("back\\slash", "back\\\\slash"),
            ("c1\u{9b}31m", "c1\\u{9b}31m"),
            ("bidi\u{202e}txt", "bidi\\u{202e}txt"),
            ("ünïcödé", "ünïcödé"),
            ("https://u:secret@h/x", "https://***@h/x"),
        ] {
            assert_eq!(quote(raw), want, "{raw:?}");
        }
    }

    #[test]
    fn one_line_escapes_what_moves_the_cursor_and_keeps_the_rest() {
        assert_eq!(
            one_line("ok x\nhint: forged\r\u{1b}[1Afail\u{2028}"),
            "ok x\\nhint: forged\\r\\u{1b}[1Afail\\u{2028}"
        );
        assert_eq!(one_line("a\\b 'q' ünï"), "a\\b 'q' ünï");
    }

    #[test]
    fn long_values_are_cut_with_their_length() {
        let long = "a".repeat(10_000);
        let shown = quote(&long);
        assert!(shown.starts_with(&"a".repeat(MAX_SHOWN)));
        assert!(shown.ends_with("...(10000 bytes in all)"), "{shown}");
        assert!(shown.len() < MAX_SHOWN + 30);
        assert_eq!(quote_bytes(b"\xffok\n"), "\u{fffd}ok\\n");
    }
}
