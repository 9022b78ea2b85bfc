//! systemd `EnvironmentFile=` files: one reader that reads what systemd reads, quoting that
//! systemd reads back exactly, and rendering.
//!
//! systemd's parser (`load_env_file`) keeps double-quoted values verbatim except for a
//! backslash before one of `"`, `\`, `` ` `` and `$`, and it does not expand variables. So every
//! value is written double-quoted with those four characters escaped.

use std::path::{Path, PathBuf};

/// Quotes `value` for a systemd environment file.
pub fn quote(value: &str) -> String {
    let mut out = String::with_capacity(value.len() + 2);
    out.push('"');
    for c in value.chars() {
        if matches!(c, '"' | '\\' | '`' | '$') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('"');
    out
}

/// Renders `KEY="value"` lines, with a comment header.
pub fn render(header: &str, vars: &[(&str, String)]) -> String {
    let mut out = String::new();
    for line in header.lines() {
        out.push_str("# ");
        out.push_str(line);
        out.push('\n');
    }
    for (key, value) in vars {
        out.push_str(key);
        out.push('=');
        out.push_str(&quote(value));
        out.push('\n');
    }
    out
}

/// Largest environment file read (the node files and the config file are a few lines).
pub const MAX_FILE_BYTES: u64 = 256 * 1024;

/// Why an environment file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("cannot read '{}'", path.display())]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("'{}' is not a regular file", path.display())]
    NotRegular { path: PathBuf },
    #[error("'{}' is larger than {max} bytes: expected a short KEY=value file", path.display())]
    TooLarge { path: PathBuf, max: u64 },
    #[error("'{}':{}:{}: {}", path.display(), at.line, at.column, at.problem)]
    Syntax { path: PathBuf, at: SyntaxError },
}

/// A place in an environment file that systemd would read differently from what was meant,
/// or not at all. Lines and columns count from 1, columns in characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyntaxError {
    pub line: usize,
    pub column: usize,
    pub problem: Problem,
}

/// What is wrong at a [`SyntaxError`]'s place.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Problem {
    #[error(
        "unterminated {quote} quote: expected a closing {quote} quote before the end of the file (systemd would take every following line into the value)"
    )]
    Unterminated { quote: &'static str },
    #[error(
        "'{}' is not a variable name: expected letters, digits and '_', not starting with a digit (systemd's EnvironmentFile= ignores this line){}",
        crate::shown::quote(name),
        if name.starts_with("export ") { "; remove 'export '" } else { "" }
    )]
    InvalidName { name: String },
    #[error(
        "'{}' has no '=': expected KEY=value (systemd ignores this line)",
        crate::shown::quote(text)
    )]
    NoAssignment { text: String },
    #[error(
        "comment ends in '\\': systemd continues the comment onto the next line and ignores that line; remove the '\\' or add an empty line after it"
    )]
    CommentContinues,
    #[error(
        "comment after the value: systemd has no inline comments and would make '{}' part of the value; put the comment on a line of its own",
        crate::shown::quote(text)
    )]
    InlineComment { text: String },
    #[error("NUL byte: expected text (systemd stops reading the file here)")]
    Nul,
    #[error("invalid UTF-8: expected UTF-8 text (systemd refuses the whole file)")]
    NotUtf8,
}

impl SyntaxError {
    pub fn in_file(self, path: &Path) -> Error {
        Error::Syntax {
            path: path.to_path_buf(),
            at: self,
        }
    }
}

/// Reads and parses an environment file: a regular file of at most [`MAX_FILE_BYTES`] (a
/// link to `/dev/zero` or a FIFO is refused, not read for ever).
pub fn read(path: &Path) -> Result<Vec<(String, String)>, Error> {
    let bytes = crate::fsutil::read_bounded(path, MAX_FILE_BYTES).map_err(|e| match e {
        crate::fsutil::BoundedReadError::Io(source) => Error::Read {
            path: path.to_path_buf(),
            source,
        },
        crate::fsutil::BoundedReadError::NotRegular => Error::NotRegular {
            path: path.to_path_buf(),
        },
        crate::fsutil::BoundedReadError::TooLarge => Error::TooLarge {
            path: path.to_path_buf(),
            max: MAX_FILE_BYTES,
        },
    })?;
    parse_bytes(&bytes).map_err(|e| e.in_file(path))
}

/// [`parse_str`] for raw bytes: invalid UTF-8 is an error at its place.
pub fn parse_bytes(bytes: &[u8]) -> Result<Vec<(String, String)>, SyntaxError> {
    match std::str::from_utf8(bytes) {
        Ok(text) => parse_str(text),
        Err(e) => {
            // The prefix up to the error is valid UTF-8 by definition.
            let valid = std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default();
            let (line, column) = position(valid);
            Err(SyntaxError {
                line,
                column,
                problem: Problem::NotUtf8,
            })
        }
    }
}

/// The line and column just after `text`.
fn position(text: &str) -> (usize, usize) {
    let line = text.matches('\n').count() + 1;
    let column = text.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
    (line, column)
}

/// Whether `name` is a variable name systemd keeps (`env_name_is_valid`).
pub fn is_valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Parses an environment file exactly as systemd 252's `EnvironmentFile=` does
/// (`src/basic/env-file.c`): `#`/`;` comments (a backslash at the end of a comment continues
/// it), single quotes verbatim, double quotes with `\"`, `\\`, `` \` `` and `\$` unescaped,
/// backslash-newline continuation, trailing blanks of unquoted values dropped, no `$`
/// expansion, no `export`, later assignments win. Files systemd would read other than meant
/// (an unterminated quote, a line it ignores, a NUL byte) are refused with their place.
///
/// dotenvy, which the design card names, differs from systemd on exactly these points (it
/// expands `$VAR`, accepts `export`, treats escapes differently), and every file read here is
/// also read by systemd, so the two readers must agree: this one follows systemd.
pub fn parse_str(text: &str) -> Result<Vec<(String, String)>, SyntaxError> {
    #[derive(Clone, Copy, PartialEq)]
    enum State {
        PreKey,
        Key,
        PreValue,
        Value,
        ValueEscape,
        Single,
        Double,
        DoubleEscape,
        Comment,
        CommentEscape,
        /// The line after a comment that ended in a backslash: systemd reads it as comment.
        Swallowed,
    }
    let blank = |c: char| matches!(c, ' ' | '\t' | '\n' | '\r');
    let newline = |c: char| matches!(c, '\n' | '\r');

    let mut out: Vec<(String, String)> = Vec::new();
    let mut state = State::PreKey;
    let (mut key, mut value) = (String::new(), String::new());
    // Byte length of the key and value before their trailing blanks (systemd's
    // last_key_whitespace and last_value_whitespace).
    let mut key_end: Option<usize> = None;
    let mut value_end: Option<usize> = None;
    let (mut line, mut column) = (1usize, 0usize);
    let mut key_at = (1, 1);
    let mut quote_at = (1, 1);
    let mut escape_at = (1, 1);
    // Whether the value so far ended in a closing quote, or in a blank (where a '#' would
    // look like a comment to a reader, but not to systemd).
    let mut after_quote = false;
    let mut after_blank = false;
    let rest_of_line = |from: usize| -> String {
        text[from..]
            .split(['\n', '\r'])
            .next()
            .unwrap_or_default()
            .trim_end()
            .to_string()
    };

    let fail = |(line, column): (usize, usize), problem| SyntaxError {
        line,
        column,
        problem,
    };
    let mut push = |key: &mut String,
                    value: &mut String,
                    key_end: Option<usize>,
                    value_end: Option<usize>,
                    at: (usize, usize)|
     -> Result<(), SyntaxError> {
        if let Some(end) = key_end {
            key.truncate(end);
        }
        if let Some(end) = value_end {
            value.truncate(end);
        }
        if !is_valid_name(key) {
            return Err(fail(
                at,
                Problem::InvalidName {
                    name: std::mem::take(key),
                },
            ));
        }
        let (k, v) = (std::mem::take(key), std::mem::take(value));
        out.retain(|(existing, _)| *existing != k);
        out.push((k, v));
        Ok(())
    };

    for (at, c) in text.char_indices() {
        column += 1;
        let here = (line, column);
        if c == '\0' {
            return Err(fail(here, Problem::Nul));
        }
        match state {
            State::PreKey => {
                if c == '#' || c == ';' {
                    state = State::Comment;
                } else if !blank(c) {
                    state = State::Key;
                    key_end = None;
                    key_at = here;
                    key.push(c);
                }
            }
            State::Key => {
                if newline(c) {
                    let text = key.trim_end().to_string();
                    return Err(fail(key_at, Problem::NoAssignment { text }));
                } else if c == '=' {
                    state = State::PreValue;
                    value_end = None;
                } else {
                    if !blank(c) {
                        key_end = None;
                    } else if key_end.is_none() {
                        key_end = Some(key.len());
                    }
                    key.push(c);
                }
            }
            State::PreValue => {
                if newline(c) {
                    push(&mut key, &mut value, key_end, None, key_at)?;
                    state = State::PreKey;
                    after_quote = false;
                } else if (c == '#' || c == ';') && after_quote {
                    let text = rest_of_line(at);
                    return Err(fail(here, Problem::InlineComment { text }));
                } else if c == '\'' {
                    state = State::Single;
                    quote_at = here;
                } else if c == '"' {
                    state = State::Double;
                    quote_at = here;
                } else if c == '\\' {
                    state = State::ValueEscape;
                } else if !blank(c) {
                    state = State::Value;
                    after_blank = false;
                    value.push(c);
                }
            }
            State::Value => {
                if c == '#' && after_blank {
                    let text = rest_of_line(at);
                    return Err(fail(here, Problem::InlineComment { text }));
                }
                after_blank = blank(c);
                if newline(c) {
                    push(&mut key, &mut value, key_end, value_end, key_at)?;
                    state = State::PreKey;
                    after_quote = false;
                } else if c == '\\' {
                    state = State::ValueEscape;
                    value_end = None;
                } else {
                    if !blank(c) {
                        value_end = None;
                    } else if value_end.is_none() {
                        value_end = Some(value.len());
                    }
                    value.push(c);
                }
            }
            State::ValueEscape => {
                state = State::Value;
                if !newline(c) {
                    value.push(c);
                }
            }
            State::Single => {
                if c == '\'' {
                    state = State::PreValue;
                    after_quote = true;
                } else {
                    value.push(c);
                }
            }
            State::Double => {
                if c == '"' {
                    state = State::PreValue;
                    after_quote = true;
                } else if c == '\\' {
                    state = State::DoubleEscape;
                } else {
                    value.push(c);
                }
            }
            State::DoubleEscape => {
                state = State::Double;
                if matches!(c, '"' | '\\' | '`' | '$') {
                    value.push(c);
                } else if c != '\n' {
                    value.push('\\');
                    value.push(c);
                }
            }
            State::Comment => {
                if c == '\\' {
                    state = State::CommentEscape;
                    escape_at = here;
                } else if newline(c) {
                    state = State::PreKey;
                }
            }
            // Only a backslash right before the newline continues the comment.
            State::CommentEscape if newline(c) => state = State::Swallowed,
            State::CommentEscape => state = State::Comment,
            // An empty line or another comment loses nothing; anything else would be lost.
            State::Swallowed => {
                if newline(c) {
                    state = State::PreKey;
                } else if c == '#' || c == ';' {
                    state = State::Comment;
                } else if !blank(c) {
                    return Err(fail(escape_at, Problem::CommentContinues));
                }
            }
        }
        if c == '\n' {
            line += 1;
            column = 0;
        }
    }
    match state {
        State::Single => Err(fail(quote_at, Problem::Unterminated { quote: "single" })),
        State::Double | State::DoubleEscape => {
            Err(fail(quote_at, Problem::Unterminated { quote: "double" }))
        }
        State::Key => {
            let text = key.trim_end().to_string();
            Err(fail(key_at, Problem::NoAssignment { text }))
        }
        State::PreValue | State::ValueEscape => {
            push(&mut key, &mut value, key_end, None, key_at)?;
            Ok(out)
        }
        State::Value => {
            push(&mut key, &mut value, key_end, value_end, key_at)?;
            Ok(out)
        }
        State::PreKey | State::Comment | State::CommentEscape | State::Swallowed => Ok(out),
    }
}

#[cfg(test)]
mod tests;
