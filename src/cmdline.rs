//! Splitting a string into arguments the way systemd splits a command line: whitespace
//! separates words, single and double quotes group, backslash escapes.

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
    fn unterminated_input_is_an_error() {
        assert!(split("--a=\"x").unwrap_err().contains("unterminated"));
        assert!(split("--a='x").is_err());
        assert!(split("--a=x\\").is_err());
    }
}
