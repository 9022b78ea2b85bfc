//! The README's Mermaid diagram of a node's boot stays true to the units in `systemd/`: every
//! unit is drawn, with its `ExecStartPre=` and `ExecStart=` lines in the unit's order.

use std::fs;
use std::path::Path;

use crate::support::node::unit_files;

/// The body of the README's one `mermaid` block.
fn diagram() -> String {
    let readme =
        fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let start = readme
        .find("```mermaid\n")
        .expect("README has a ```mermaid block");
    let body = &readme[start + "```mermaid\n".len()..];
    body[..body.find("```").expect("the mermaid block ends")].to_string()
}

/// A unit's `ExecStartPre=` and `ExecStart=` lines as the diagram labels them: the binary's
/// path left out (`ExecStartPre=-kube-bootstrap pki init`).
fn exec_lines(unit: &Path) -> Vec<String> {
    fs::read_to_string(unit)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with("ExecStartPre=") || l.starts_with("ExecStart="))
        .map(|l| l.replace("/opt/bin/kube-bootstrap", "kube-bootstrap"))
        .collect()
}

#[test]
fn readme_boot_diagram_draws_every_unit_and_its_exec_lines_in_order() {
    let diagram = diagram();
    assert!(diagram.starts_with("flowchart"), "{diagram}");
    let units = unit_files();
    assert!(!units.is_empty());
    for unit in units {
        let name = unit.file_name().unwrap().to_str().unwrap().to_string();
        let head = format!("[{name}]");
        let at = diagram
            .lines()
            .position(|l| l.trim_start().starts_with("subgraph ") && l.trim_end().ends_with(&head))
            .unwrap_or_else(|| panic!("no subgraph for {name} in the README's diagram"));
        // The unit's subgraph: up to its `end`.
        let body: Vec<&str> = diagram
            .lines()
            .skip(at + 1)
            .take_while(|l| l.trim() != "end")
            .collect();
        let body = body.join("\n");
        let mut from = 0;
        for line in exec_lines(&unit) {
            let label = format!("\"{line}\"");
            let found = body[from..]
                .find(&label)
                .unwrap_or_else(|| panic!("{name}: {label} missing or out of order in:\n{body}"));
            from += found + label.len();
        }
    }
}
