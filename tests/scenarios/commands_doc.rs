//! commands.md documents every registered command, subcommand and option.

use crate::sim::Sim;
use serde_json::Value;

fn walk(prefix: &str, options: &Value, out: &mut Vec<(String, Vec<String>)>) {
    let list = options.as_array().cloned().unwrap_or_default();
    let subs: Vec<&Value> = list.iter().filter(|o| matches!(o["type"].as_u64(), Some(1) | Some(2))).collect();
    if subs.is_empty() {
        let opts = list.iter().map(|o| o["name"].as_str().unwrap_or_default().to_string()).collect();
        out.push((prefix.to_string(), opts));
    }
    for s in subs {
        walk(&format!("{prefix} {}", s["name"].as_str().unwrap_or_default()), &s["options"], out);
    }
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
    for (command, options) in leaves {
        let heading = format!("### `{command}`");
        let section = doc
            .split("\n### ")
            .find(|s| format!("### {s}").starts_with(&heading))
            .unwrap_or_else(|| panic!("commands.md has no section {heading}"));
        for o in options {
            assert!(section.contains(&format!("`{o}`")), "commands.md does not document option `{o}` of {command}");
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
        let top = cmd.trim_start_matches('/').split(' ').next().unwrap();
        assert!(
            sim.fake.registered_commands().iter().any(|c| c["name"] == top),
            "commands.md documents {cmd}, which is not registered"
        );
    }
}
