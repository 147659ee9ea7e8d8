//! The layers of ARCHITECTURE.md, checked from the source: no import cycle
//! spans `commands/`, `components/`, `views/` and `service/`. Views render
//! plain data and never reach into use cases or handlers; commands and
//! components (the two entry points) never import each other; use cases
//! never import either entry point. Scenario files share fixtures only
//! through `sim.rs`.

use std::path::Path;

/// Which layers each layer must not import.
const FORBIDDEN: [(&str, &[&str]); 5] = [
    // `types` holds the bot's `Data` (the use cases' `App`) and `refusal`,
    // `replies` and `error` render use-case results: all would lead back
    // into service.
    ("views", &["service", "commands", "components", "types", "refusal", "replies", "error"]),
    ("commands", &["components"]),
    ("components", &["commands"]),
    ("service", &["commands", "components"]),
    // Files made from plain figures and rows: no Discord, no use cases.
    ("render", &["service", "commands", "components", "types", "refusal", "replies", "error", "discord", "views"]),
];

/// The `crate::` paths a line of code names, as "layer::module" (or just
/// "layer"), including each name of a `crate::{a, b::c}` group.
fn crate_paths(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = line;
    while let Some(i) = rest.find("crate::") {
        rest = &rest[i + "crate::".len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let inner = &group[..group.find('}').unwrap_or(group.len())];
            out.extend(inner.split(',').map(|p| path_head(p.trim())));
        } else {
            out.push(path_head(rest));
        }
    }
    out
}

/// "service::membership::{..}" -> "service::membership".
fn path_head(p: &str) -> String {
    let ident = |s: &str| s.chars().take_while(|c| c.is_alphanumeric() || *c == '_').collect::<String>();
    let first = ident(p);
    match p[first.len()..].strip_prefix("::") {
        Some(more) if !ident(more).is_empty() => format!("{first}::{}", ident(more)),
        _ => first,
    }
}

fn rust_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(rust_files(&p));
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
    out.sort();
    out
}

fn code_lines(text: &str) -> impl Iterator<Item = (usize, &str)> {
    text.lines().enumerate().map(|(n, l)| (n + 1, l.trim())).filter(|(_, l)| !l.starts_with("//"))
}

#[test]
fn no_layer_imports_what_it_must_not() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut violations = Vec::new();
    for (layer, forbidden) in FORBIDDEN {
        for file in rust_files(&src.join(layer)) {
            let rel = file.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
            let text = std::fs::read_to_string(&file).unwrap();
            for (n, line) in code_lines(&text) {
                for path in crate_paths(line) {
                    let target = path.split("::").next().unwrap_or_default();
                    if !forbidden.contains(&target) {
                        continue;
                    }
                    violations.push(format!("src/{rel}:{n} imports crate::{path}: {line}"));
                }
            }
        }
    }
    assert!(violations.is_empty(), "layer violations:\n{}", violations.join("\n"));
}

#[test]
fn scenario_files_share_fixtures_only_through_sim() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/scenarios");
    let mut found = Vec::new();
    for file in rust_files(&dir) {
        let name = file.file_name().unwrap().to_string_lossy().to_string();
        if name == "layers.rs" {
            continue; // this file names paths in its own checks
        }
        let text = std::fs::read_to_string(&file).unwrap();
        for (n, line) in code_lines(&text) {
            let other = crate_paths(line).into_iter().filter(|p| p.split("::").next() != Some("sim"));
            found.extend(other.map(|p| format!("{name}:{n} uses crate::{p}")));
            if line.starts_with("use super::") && !line.starts_with("use super::*") {
                found.push(format!("{name}:{n}: {line}"));
            }
        }
    }
    assert!(found.is_empty(), "scenario files importing each other:\n{}", found.join("\n"));
}

#[test]
fn import_paths_are_read_whole() {
    assert_eq!(crate_paths("use crate::service::membership::{self, X};"), ["service::membership"]);
    assert_eq!(crate_paths("use crate::{discord, domain::audit};"), ["discord", "domain::audit"]);
    assert_eq!(crate_paths("f(crate::error::user(\"x\"), crate::types::Error)"), ["error::user", "types::Error"]);
    assert_eq!(crate_paths("let x = 1;"), Vec::<String>::new());
}
