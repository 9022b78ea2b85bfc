//! The reader against systemd's own reading, case by case, and the quoting that round-trips.

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
            Ok(vec![("KEY".to_string(), value.to_string())]),
            "{text}"
        );
    }
}

#[test]
fn comment_ending_in_a_backslash_that_would_swallow_a_line_is_refused() {
    let err = parse_str("# pin the release \\\nKUBE_VERSION=v1.35.2\n").unwrap_err();
    assert_eq!((err.line, err.column), (1, 19));
    assert_eq!(err.problem, Problem::CommentContinues);
    // Nothing is lost: an empty line or another comment follows, or the file ends.
    for harmless in ["# a \\\n\nA=1\n", "# a \\\n# b\nA=1\n", "# a \\"] {
        assert!(parse_str(harmless).is_ok(), "{harmless:?}");
    }
    // A backslash inside a comment continues nothing.
    assert!(parse_str("# a \\ b\nA=1\n").unwrap()[0].0 == "A");
}

#[test]
fn inline_comments_that_systemd_keeps_in_the_value_are_refused() {
    for (text, col) in [
        ("KUBE_KUBELET_EXTRA_ARGS=\"--v=2\" # verbose\n", 33),
        ("A='x'# note\n", 6),
        ("A=\"x\" ; note\n", 7),
        ("A=value # note\n", 9),
    ] {
        let err = parse_str(text).unwrap_err();
        assert_eq!((err.line, err.column), (1, col), "{text:?}");
        assert!(
            matches!(&err.problem, Problem::InlineComment { text } if text.starts_with(['#', ';'])),
            "{err:?}"
        );
        assert!(err.problem.to_string().contains("no inline comments"));
    }
    // A '#' inside a value is the value's.
    assert_eq!(parse_str("A=x#y\nB=\"a # b\"\n").unwrap()[1].1, "a # b");
}

#[test]
fn quoted_forms_are_exact() {
    assert_eq!(quote(r#"a"b\c$d`e"#), r#""a\"b\\c\$d\`e""#);
}

#[test]
fn parses_systemd_forms() {
    let text = "# comment\n; other\nA=1\nB = 'x y'\nC=unquoted value  \nD=\"q\"tail\n";
    let got = parse_str(text).unwrap();
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

fn vars(text: &str) -> Vec<(String, String)> {
    parse_str(text).unwrap_or_else(|e| panic!("{text:?}: {e:?}"))
}

#[test]
fn reads_what_systemd_reads() {
    // (file text, the variables systemd 252's EnvironmentFile= gives; see
    // tests/it/systemd.rs for the same files read by systemd itself)
    let table: &[(&str, &[(&str, &str)])] = &[
        ("A=$HOME ${PATH}\n", &[("A", "$HOME ${PATH}")]),
        ("A=\"x\\$y\\`z\\\\w\\q\"\n", &[("A", "x$y`z\\w\\q")]),
        ("A='$x \\n'\n", &[("A", "$x \\n")]),
        ("A=1\r\nB=2\r\n", &[("A", "1"), ("B", "2")]),
        ("A=one\\\n  two\n", &[("A", "one  two")]),
        ("A=\"one\\\ntwo\"\n", &[("A", "onetwo")]),
        ("A=\"x\"  y  \n", &[("A", "xy")]),
        ("A='a' \"b\"\n", &[("A", "ab")]),
        ("A=x \"y\"\n", &[("A", "x \"y\"")]),
        ("A=\nB=  \n", &[("A", ""), ("B", "")]),
        ("  A  =  spaced value  \n", &[("A", "spaced value")]),
        ("; comment\n#A=1\nB=2", &[("B", "2")]),
        ("A=1\nA=2\n", &[("A", "2")]),
        ("A=\\ lead\n", &[("A", " lead")]),
        ("A=trail\\ \n", &[("A", "trail ")]),
        ("A=a#b ;c\n", &[("A", "a#b ;c")]),
        ("A=\"multi\nline\"\n", &[("A", "multi\nline")]),
    ];
    for (text, want) in table {
        let want: Vec<(String, String)> = want
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        assert_eq!(vars(text), want, "{text:?}");
    }
}

#[test]
fn files_systemd_would_misread_are_refused_with_their_place() {
    let table: &[(&str, usize, usize, &str)] = &[
        ("A=1\nB=\"open\nC=3\n", 2, 3, "unterminated double quote"),
        ("A='open", 1, 3, "unterminated single quote"),
        ("A=1\nexport B=2\n", 2, 1, "remove 'export '"),
        ("A=1\n  JUST_A_NAME\n", 2, 3, "has no '='"),
        ("1A=x\n", 1, 1, "not a variable name"),
        ("A-B=x\n", 1, 1, "not a variable name"),
        ("A=x\0y\n", 1, 4, "NUL byte"),
    ];
    for (text, line, column, needle) in table {
        let err = parse_str(text).expect_err(text);
        assert_eq!(
            (err.line, err.column),
            (*line, *column),
            "{text:?}: {err:?}"
        );
        assert!(
            err.problem.to_string().contains(needle),
            "{text:?}: {}",
            err.problem
        );
    }
    let err = parse_bytes(b"A=1\nB=\xff\n").expect_err("invalid UTF-8");
    assert_eq!(
        (err.line, err.column, &err.problem),
        (2, 3, &Problem::NotUtf8)
    );
    let shown = err.in_file(Path::new("/etc/leader")).to_string();
    assert_eq!(
        shown,
        "'/etc/leader':2:3: invalid UTF-8: expected UTF-8 text (systemd refuses the whole file)"
    );
}

#[test]
fn reading_refuses_fifos_devices_and_huge_files() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo");
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
    assert!(matches!(read(&fifo), Err(Error::NotRegular { .. })));
    let zero = dir.path().join("leader");
    std::os::unix::fs::symlink("/dev/zero", &zero).unwrap();
    assert!(matches!(read(&zero), Err(Error::NotRegular { .. })));
    let big = dir.path().join("big");
    std::fs::write(&big, vec![b'#'; MAX_FILE_BYTES as usize + 1]).unwrap();
    assert!(matches!(read(&big), Err(Error::TooLarge { .. })));
}
