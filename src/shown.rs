//! Untrusted text (node files, settings, server answers) made safe to quote in errors and
//! logs: control characters escaped, so a value cannot start a forged `error:` or `hint:` line
//! or send terminal escapes, and long values cut short.

use std::fmt::Write as _;

/// The most characters of a value shown before it is cut.
pub const MAX_SHOWN: usize = 200;

/// `text` with control characters (newlines, escapes, NUL, DEL and the C1 range) written as
/// Rust-style escapes (`\n`, `\u{1b}`), and at most [`MAX_SHOWN`] characters of it followed by
/// `...` and the full length.
pub fn quote(text: &str) -> String {
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

/// [`quote`] of bytes that may not be UTF-8 (invalid sequences become U+FFFD).
pub fn quote_bytes(bytes: &[u8]) -> String {
    quote(&String::from_utf8_lossy(bytes))
}

/// Characters that reorder or hide text on a terminal (bidi overrides, line separators).
fn is_invisible_format(c: char) -> bool {
    matches!(c, '\u{2028}' | '\u{2029}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

#[cfg(test)]
mod tests {
    use super::*;

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
        ] {
            assert_eq!(quote(raw), want, "{raw:?}");
        }
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
