//! commands.md documents every registered command, subcommand and option.

use crate::sim::Sim;
use serde_json::Value;

/// One registered option of a leaf command: name, required, choice names.
struct Opt {
    name: String,
    required: bool,
    /// Each choice's name and value: the doc names one of them.
    choices: Vec<(String, String)>,
}

fn walk(prefix: &str, options: &Value, out: &mut Vec<(String, Vec<Opt>)>) {
    let list = options.as_array().cloned().unwrap_or_default();
    let subs: Vec<&Value> = list.iter().filter(|o| matches!(o["type"].as_u64(), Some(1) | Some(2))).collect();
    if subs.is_empty() {
        let opts = list
            .iter()
            .map(|o| Opt {
                name: o["name"].as_str().unwrap_or_default().to_string(),
                required: o["required"].as_bool().unwrap_or(false),
                choices: o["choices"]
                    .as_array()
                    .map(|cs| {
                        cs.iter()
                            .map(|c| {
                                (
                                    c["name"].as_str().unwrap_or_default().to_string(),
                                    c["value"].as_str().unwrap_or_default().to_string(),
                                )
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
            })
            .collect();
        out.push((prefix.to_string(), opts));
    }
    for s in subs {
        walk(&format!("{prefix} {}", s["name"].as_str().unwrap_or_default()), &s["options"], out);
    }
}

/// The section of commands.md under `heading`, up to the next heading of
/// its level or above.
fn section<'a>(doc: &'a str, heading: &str) -> Option<&'a str> {
    let start = doc.lines().position(|l| l == heading)?;
    let lines: Vec<&str> = doc.lines().collect();
    let end = lines[start + 1..]
        .iter()
        .position(|l| l.starts_with("### ") || l.starts_with("## ") || l.starts_with("# "))
        .map_or(lines.len(), |n| start + 1 + n);
    let from = doc.find(&format!("{heading}\n")).unwrap_or(0);
    let len: usize = lines[start..end].iter().map(|l| l.len() + 1).sum();
    Some(&doc[from..(from + len).min(doc.len())])
}

/// The option rows of a section's table: (option, "yes"/"no", the whole row).
fn option_rows(section: &str) -> Vec<(String, String, String)> {
    section
        .lines()
        .filter(|l| l.starts_with("| `"))
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            (
                cells[0].trim_matches('`').to_string(),
                cells.get(1).copied().unwrap_or_default().to_string(),
                l.to_string(),
            )
        })
        .collect()
}

#[tokio::test]
async fn commands_md_matches_the_registered_commands() {
    let sim = Sim::start().await;
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/commands.md")).expect("commands.md");
    let mut leaves = Vec::new();
    for c in sim.fake.registered_commands() {
        // Context-menu commands (USER 2, MESSAGE 3) have no options and no
        // slash: they are documented under their menu name.
        if c["type"].as_u64().unwrap_or(1) != 1 {
            let heading = format!("### `{}`", c["name"].as_str().unwrap());
            assert!(doc.lines().any(|l| l == heading), "commands.md has no section {heading}");
            continue;
        }
        walk(&format!("/{}", c["name"].as_str().unwrap()), &c["options"], &mut leaves);
        // Every description shows in Discord's client; keep them within its limit.
        assert!(c["description"].as_str().unwrap_or_default().len() <= 100);
    }
    assert!(!leaves.is_empty());
    let leaf_names: Vec<String> = leaves.iter().map(|(c, _)| c.clone()).collect();
    for (command, options) in &leaves {
        let heading = format!("### `{command}`");
        let section = section(&doc, &heading).unwrap_or_else(|| panic!("commands.md has no section {heading}"));
        let rows = option_rows(section);
        for o in options {
            let row = rows
                .iter()
                .find(|(name, _, _)| *name == o.name)
                .unwrap_or_else(|| panic!("commands.md's table for {command} has no row for option `{}`", o.name));
            let want = if o.required { "yes" } else { "no" };
            assert_eq!(
                row.1, want,
                "commands.md says `{}` of {command} is required: {}, Discord: {want}",
                o.name, row.1
            );
            for (name, value) in &o.choices {
                assert!(
                    // A long name ("follow: the membership follows ...") is
                    // documented by its first words.
                    row.2.contains(name.split(':').next().unwrap_or(name))
                        || (!value.is_empty() && row.2.contains(value.as_str())),
                    "commands.md's row for `{}` of {command} omits the choice {name} ({value})",
                    o.name
                );
            }
        }
        for (name, _, _) in &rows {
            assert!(
                options.iter().any(|o| o.name == *name),
                "commands.md documents option `{name}` of {command}, which is not registered"
            );
        }
    }
    // And nothing documented that does not exist.
    for line in doc.lines().filter(|l| l.starts_with("### `") && !l.starts_with("### `/")) {
        let name = line.trim_start_matches("### `").trim_end_matches('`');
        assert!(
            sim.fake.registered_commands().iter().any(|c| c["name"] == name && c["type"].as_u64() != Some(1)),
            "commands.md documents the context-menu command {name}, which is not registered"
        );
    }
    for line in doc.lines().filter(|l| l.starts_with("### `/")) {
        let cmd = line.trim_start_matches("### `").trim_end_matches('`');
        assert!(leaf_names.iter().any(|l| l == cmd), "commands.md documents {cmd}, which is not a registered command");
    }
}
