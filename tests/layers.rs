//! The layering rules of docs/architecture.md, checked on the sources: a
//! pane that imports the app, a source that imports the configuration or a
//! model that imports a source fails here, with the file and line.

use std::path::{Path, PathBuf};

/// (directory under src/, modules of this crate it must never name)
const RULES: [(&str, &[&str]); 5] = [
    ("panes", &["app", "render", "viewer", "cli", "ssh", "wall", "snapshot_cmd"]),
    ("sources", &["config", "wiring", "app", "render", "snapshot_cmd", "panes", "viewer"]),
    ("model", &["sources", "app", "panes", "render", "config", "store", "dataplane"]),
    ("config", &["sources", "dataplane", "wiring"]),
    ("runbook", &["panes", "app", "render", "viewer"]),
];

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else { panic!("cannot read {}", dir.display()) };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn no_layer_imports_what_it_must_not() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut breaches = Vec::new();
    for (dir, banned) in RULES {
        let mut files = Vec::new();
        rust_files(&root.join(dir), &mut files);
        assert!(!files.is_empty(), "src/{dir} has no files");
        for f in files {
            let text = std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display()));
            for (n, line) in text.lines().enumerate() {
                let code = line.split("//").next().unwrap_or("");
                for m in banned {
                    if code.contains(&format!("crate::{m}::")) || code.contains(&format!("crate::{m};")) {
                        breaches.push(format!("{}:{}: src/{dir} names crate::{m}", f.display(), n + 1));
                    }
                }
            }
        }
    }
    assert!(breaches.is_empty(), "layering broken:\n{}", breaches.join("\n"));
}

#[test]
fn main_stays_a_dispatcher() {
    let main = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("src/main.rs"))
        .unwrap_or_else(|e| panic!("src/main.rs: {e}"));
    let lines = main.lines().count();
    assert!(lines < 150, "src/main.rs has {lines} lines: subcommands live in src/cli/");
}
