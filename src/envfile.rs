//! systemd `EnvironmentFile=` files: quoting that systemd reads back exactly, and rendering.
//!
//! systemd's parser (`load_env_file`) keeps double-quoted values verbatim except for a
//! backslash before one of `"`, `\`, `` ` `` and `$`, and it does not expand variables. So every
//! value is written double-quoted with those four characters escaped.

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

/// Parses an environment file the way systemd does, for the values this module writes and
/// the common unquoted and single-quoted forms.
pub fn parse_str(text: &str) -> Vec<(String, String)> {
    #[derive(PartialEq)]
    enum State {
        Key,
        Comment,
        PreValue,
        Value,
        Single,
        Double,
        DoubleEscape,
        ValueEscape,
    }
    let mut out = Vec::new();
    let mut state = State::Key;
    let (mut key, mut value) = (String::new(), String::new());
    // Length of the value up to its last quoted or escaped character: trailing whitespace is
    // trimmed only after that point.
    let mut kept = 0;
    let mut finish = |key: &mut String, value: &mut String, kept: &mut usize| {
        let k = key.trim().to_string();
        if !k.is_empty() {
            let end = value.trim_end().len().max(*kept);
            value.truncate(end);
            out.push((k, std::mem::take(value)));
        }
        key.clear();
        value.clear();
        *kept = 0;
    };
    for c in text.chars() {
        state = match state {
            State::Key => match c {
                '#' | ';' if key.trim().is_empty() => State::Comment,
                '\n' => {
                    key.clear();
                    State::Key
                }
                '=' => State::PreValue,
                c => {
                    key.push(c);
                    State::Key
                }
            },
            State::Comment => {
                if c == '\n' {
                    State::Key
                } else {
                    State::Comment
                }
            }
            State::PreValue | State::Value => match c {
                '\n' => {
                    finish(&mut key, &mut value, &mut kept);
                    State::Key
                }
                '\'' => State::Single,
                '"' => State::Double,
                '\\' => State::ValueEscape,
                c if c.is_whitespace() && state == State::PreValue => State::PreValue,
                c => {
                    value.push(c);
                    State::Value
                }
            },
            State::ValueEscape => {
                if c != '\n' {
                    value.push(c);
                    kept = value.len();
                }
                State::Value
            }
            State::Single => {
                if c == '\'' {
                    kept = value.len();
                    State::Value
                } else {
                    value.push(c);
                    State::Single
                }
            }
            State::Double => match c {
                '"' => {
                    kept = value.len();
                    State::Value
                }
                '\\' => State::DoubleEscape,
                c => {
                    value.push(c);
                    State::Double
                }
            },
            State::DoubleEscape => {
                if matches!(c, '"' | '\\' | '`' | '$') {
                    value.push(c);
                } else if c != '\n' {
                    value.push('\\');
                    value.push(c);
                }
                State::Double
            }
        };
    }
    if state != State::Key && state != State::Comment {
        finish(&mut key, &mut value, &mut kept);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_round_trips_hard_values() {
        for value in [
            "",
            "plain",
            "with spaces",
            "double \"quotes\"",
            "single 'quotes'",
            r"back\slash and \n",
            "dollar $HOME ${PATH}",
            "back`tick`",
            "trailing space ",
            "multi\nline",
            "=equals=",
        ] {
            let text = render("header", &[("KEY", value.to_string())]);
            assert_eq!(
                parse_str(&text),
                vec![("KEY".to_string(), value.to_string())],
                "{text}"
            );
        }
    }

    #[test]
    fn quoted_forms_are_exact() {
        assert_eq!(quote(r#"a"b\c$d`e"#), r#""a\"b\\c\$d\`e""#);
    }

    #[test]
    fn parses_systemd_forms() {
        let text = "# comment\n; other\nA=1\nB = 'x y'\nC=unquoted value  \nD=\"q\"tail\n";
        let got = parse_str(text);
        let want = [
            ("A", "1"),
            ("B", "x y"),
            ("C", "unquoted value"),
            ("D", "qtail"),
        ];
        assert_eq!(got.len(), want.len(), "{got:?}");
        for ((k, v), (wk, wv)) in got.iter().zip(want) {
            assert_eq!((k.as_str(), v.as_str()), (wk, wv));
        }
    }
}
