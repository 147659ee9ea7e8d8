//! ARCHITECTURE.md's feature index stays true: one row per PRODUCT id, every
//! `path::name` it names exists, every table it names is made by a
//! migration, every command it names is in commands.md, and every feature a
//! scenario file's header claims has a row that lists at least one test.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The feature ids of PRODUCT.md, in its order.
const IDS: &[&str] = &[
    "G1", "G2", "G3", "G4", "G5", "M1", "M2", "M3", "M4", "M5", "R1", "R2", "R3", "R4", "R5", "S1", "S2", "S3", "S4",
    "S5", "S6", "L1", "L2", "L3", "L4", "A1", "A2", "A3", "A4", "A5", "A6", "P1", "O1", "O2", "O3", "N1", "N2", "N3",
    "N4", "N5", "N6",
];

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

fn read(rel: &str) -> String {
    std::fs::read_to_string(root().join(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

/// The index's rows: id → its cells after the id.
fn rows() -> BTreeMap<String, Vec<String>> {
    let doc = read("ARCHITECTURE.md");
    let start = doc.find("## Feature index").expect("ARCHITECTURE.md has a feature index");
    let section = &doc[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |n| n + 3)];
    let mut rows = BTreeMap::new();
    for line in section.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| Id")) {
        let cells: Vec<String> = line.trim_matches('|').split(" | ").map(|c| c.trim().to_string()).collect();
        let id = cells[0].clone();
        assert!(rows.insert(id.clone(), cells[1..].to_vec()).is_none(), "{id} has two rows");
    }
    rows
}

/// The texts between backticks in a cell.
fn spans(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// Whether a Rust file defines `name` (a function, type, constant, module).
fn defines(source: &str, name: &str) -> bool {
    ["fn ", "struct ", "enum ", "trait ", "const ", "mod ", "type "].iter().any(|kw| {
        source.match_indices(&format!("{kw}{name}")).any(|(at, m)| {
            let next = source[at + m.len()..].chars().next();
            !next.is_some_and(|c| c.is_alphanumeric() || c == '_')
        })
    })
}

/// The feature ids a scenario file's header (its leading `//!` lines)
/// claims, ranges like "L1-L4" expanded.
fn claimed(source: &str) -> BTreeSet<String> {
    let header: String = source.lines().take_while(|l| l.starts_with("//!")).collect::<Vec<_>>().join(" ");
    let chars: Vec<char> = header.chars().collect();
    let mut out = BTreeSet::new();
    let mut i = 0;
    while i + 1 < chars.len() {
        let is_id = "GMRSLAPON".contains(chars[i])
            && chars[i + 1].is_ascii_digit()
            && (i == 0 || !chars[i - 1].is_alphanumeric())
            && chars.get(i + 2).is_none_or(|c| !c.is_alphanumeric());
        if is_id {
            let (letter, from) = (chars[i], chars[i + 1].to_digit(10).unwrap());
            // "L1-L4" or "L1-4"
            let to = match (chars.get(i + 2), chars.get(i + 3), chars.get(i + 4)) {
                (Some('-'), Some(l), Some(d)) if *l == letter && d.is_ascii_digit() => d.to_digit(10).unwrap(),
                (Some('-'), Some(d), _) if d.is_ascii_digit() => d.to_digit(10).unwrap(),
                _ => from,
            };
            for n in from..=to {
                out.insert(format!("{letter}{n}"));
            }
        }
        i += 1;
    }
    out
}

#[test]
fn every_product_id_has_one_row_and_every_name_in_it_exists() {
    let rows = rows();
    let listed: Vec<&str> = rows.keys().map(String::as_str).collect();
    let mut expected: Vec<&str> = IDS.to_vec();
    expected.sort();
    assert_eq!(listed, expected, "the feature index has one row per PRODUCT id");

    let commands = read("commands.md");
    let tables: String = std::fs::read_dir(root().join("migrations"))
        .unwrap()
        .map(|e| std::fs::read_to_string(e.unwrap().path()).unwrap().to_lowercase())
        .collect();
    let mut problems = Vec::new();
    for (id, cells) in &rows {
        for span in cells.iter().flat_map(|c| spans(c)) {
            if let Some((path, name)) = span.split_once("::") {
                match std::fs::read_to_string(root().join(path)) {
                    Ok(source) if defines(&source, name) => {}
                    Ok(_) => problems.push(format!("{id}: {path} defines no {name}")),
                    Err(_) => problems.push(format!("{id}: no file {path}")),
                }
            } else if let Some(command) = span.strip_prefix('/') {
                if !commands.contains(&format!("`/{command}")) {
                    problems.push(format!("{id}: commands.md has no /{command}"));
                }
            } else if span.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
                let made = ["create table ", "create table if not exists "]
                    .iter()
                    .any(|kw| tables.contains(&format!("{kw}{span} ")) || tables.contains(&format!("{kw}{span}(")));
                if !made {
                    problems.push(format!("{id}: no migration makes table {span}"));
                }
            }
        }
    }
    assert!(problems.is_empty(), "the feature index names what does not exist:\n{}", problems.join("\n"));
}

#[test]
fn every_feature_a_scenario_file_claims_is_indexed_with_a_test() {
    let rows = rows();
    let mut problems = Vec::new();
    for entry in std::fs::read_dir(root().join("tests/scenarios")).unwrap() {
        let path = entry.unwrap().path();
        let source = std::fs::read_to_string(&path).unwrap();
        let file = path.file_name().unwrap().to_string_lossy().to_string();
        for id in claimed(&source) {
            let Some(cells) = rows.get(&id) else {
                problems.push(format!("{file} claims {id}, which the index has no row for"));
                continue;
            };
            let tests = cells.last().map(|c| spans(c)).unwrap_or_default();
            if !tests.iter().any(|t| t.starts_with("tests/scenarios/")) {
                problems.push(format!("{file} claims {id}, whose row lists no scenario test"));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn headers_are_read_with_their_ranges() {
    let ids = claimed("//! Leading a group (L1-L4), and M2; A5.\n//! S5's mention mode\nfn x() {}\n// G1");
    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(ids, ["A5", "L1", "L2", "L3", "L4", "M2", "S5"]);
}
