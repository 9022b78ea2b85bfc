//! Splitting a string into arguments the way systemd splits a command line: whitespace
//! separates words, single and double quotes group, backslash escapes. And the reverse for
//! `ExecStart=... $KUBE_ARGS`: one value that systemd splits back into exactly the arguments.

/// An argument that cannot pass through `ExecStart=... $VAR` unchanged.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("argument {} ('{}') holds a control character, which an environment file and systemd's $VAR expansion cannot carry", .index + 1, crate::shown::quote(.arg))]
pub struct Unrepresentable {
    /// 0-based position in the argument list.
    pub index: usize,
    pub arg: String,
}

/// Joins `args` into one value that systemd (252 and later) splits back into exactly `args`
/// when it expands a lone `$VAR` word of `ExecStart=`: it splits at whitespace, and quotes
/// and backslashes group and escape (`extract_first_word` with `EXTRACT_UNQUOTE|EXTRACT_RELAX`,
/// no C escapes). Plain arguments are written as they are; the others in double quotes with
/// `"` and `\` escaped, which also keeps whitespace, `'`, `$` and `%` literal (systemd does not
/// expand variables or specifiers inside a variable's value). Control characters cannot be
/// carried safely and are refused.
pub fn join_for_exec_var(args: &[String]) -> Result<String, Unrepresentable> {
    let mut out = String::new();
    for (index, arg) in args.iter().enumerate() {
        if arg.chars().any(char::is_control) {
            return Err(Unrepresentable {
                index,
                arg: arg.clone(),
            });
        }
        if index > 0 {
            out.push(' ');
        }
        let plain = !arg.is_empty()
            && !arg
                .chars()
                .any(|c| c.is_whitespace() || matches!(c, '"' | '\'' | '\\'));
        if plain {
            out.push_str(arg);
            continue;
        }
        out.push('"');
        for c in arg.chars() {
            if matches!(c, '"' | '\\') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push('"');
    }
    Ok(out)
}

/// How systemd 252 splits a `$VAR` value in `ExecStart=` (a model for tests of
/// [`join_for_exec_var`]; the systemd tests check the real thing).
#[cfg(test)]
fn split_exec_var(value: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut chars = value.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| " \t\n\r".contains(*c)) {
            chars.next();
        }
        if chars.peek().is_none() {
            return words;
        }
        let mut word = String::new();
        let mut quote = None;
        while let Some(c) = chars.next() {
            match (quote, c) {
                (_, '\\') => word.extend(chars.next()),
                (Some(q), c) if c == q => quote = None,
                (Some(_), c) => word.push(c),
                (None, '"' | '\'') => quote = Some(c),
                (None, c) if " \t\n\r".contains(c) => break,
                (None, c) => word.push(c),
            }
        }
        words.push(word);
    }
}

/// Splits `text` into words, or says what is wrong (an unterminated quote or escape).
pub fn split(text: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = text.chars();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => word.push(c),
            (_, '\\') => {
                let escaped = chars.next().ok_or("a trailing backslash")?;
                word.push(match escaped {
                    'n' => '\n',
                    't' => '\t',
                    'r' => '\r',
                    other => other,
                });
                in_word = true;
            }
            (Some(_), c) => word.push(c),
            (None, '"' | '\'') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    if let Some(q) = quote {
        return Err(format!("an unterminated {q} quote"));
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_systemd() {
        for (text, want) in [
            ("", vec![]),
            ("  --v=2   --foo ", vec!["--v=2", "--foo"]),
            (r#"--a="x y" --b='p q'"#, vec!["--a=x y", "--b=p q"]),
            (r#""--node-labels=a=b,c=d""#, vec!["--node-labels=a=b,c=d"]),
            (r"--x=a\ b", vec!["--x=a b"]),
            (r#"--q="say \"hi\"""#, vec![r#"--q=say "hi""#]),
            ("''", vec![""]),
            ("--a=$HOME", vec!["--a=$HOME"]),
        ] {
            assert_eq!(split(text).unwrap(), want, "{text}");
        }
    }

    #[test]
    fn joined_arguments_split_back_exactly() {
        let hard = [
            "--plain=value",
            "--space=a b",
            "  leading and trailing  ",
            "",
            r#"--double="quoted""#,
            "--single='quoted'",
            r"--backslash=a\b\\c\",
            r#"--mix='"\$`'"#,
            "--dollar=$HOME ${PATH} $$",
            "--percent=%n %% %",
            "--unicode=grüße ✓",
            "--etcd-servers=http://127.0.0.1:2379/ --etcd-injected=1",
        ];
        let args: Vec<String> = hard.iter().map(|s| s.to_string()).collect();
        let joined = join_for_exec_var(&args).unwrap();
        assert_eq!(split_exec_var(&joined), args, "{joined}");
        assert_eq!(
            join_for_exec_var(&["--v=2".into(), "--x=y".into()]).unwrap(),
            "--v=2 --x=y"
        );
        assert!(join_for_exec_var(&[]).unwrap().is_empty());
    }

    #[test]
    fn control_characters_cannot_be_joined() {
        for bad in ["a\nb", "nul\0", "tab\there", "esc\u{1b}[0m", "del\u{7f}"] {
            let args = vec!["--ok".to_string(), format!("--bad={bad}")];
            let err = join_for_exec_var(&args).unwrap_err();
            assert_eq!(err.index, 1);
            assert!(err.to_string().contains("argument 2 ('--bad="), "{err}");
        }
    }

    #[test]
    fn unterminated_input_is_an_error() {
        assert!(split("--a=\"x").unwrap_err().contains("unterminated"));
        assert!(split("--a='x").is_err());
        assert!(split("--a=x\\").is_err());
    }
}
