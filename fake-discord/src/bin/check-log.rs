//! Validate a `FAKE_DISCORD_LOG` request log against Discord's OpenAPI spec:
//! `check-log FILE`. Prints nothing and exits 0 when every request is a
//! documented route with a valid body; otherwise lists the offenders and
//! exits 1. An independent check on top of the fake's live validation.

use fake_discord::spec::Spec;
use serde_json::Value;
use std::process::ExitCode;

fn main() -> ExitCode {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: check-log FILE");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("check-log: cannot read {path}: {e}");
            return ExitCode::from(2);
        }
    };
    let mut bad = Vec::new();
    let mut total = 0;
    for (n, line) in text.lines().enumerate().filter(|(_, l)| !l.trim().is_empty()) {
        total += 1;
        let entry: Value = match serde_json::from_str(line) {
            Ok(v) => v,
            Err(e) => {
                bad.push(format!("line {}: not JSON: {e}", n + 1));
                continue;
            }
        };
        let method = entry["method"].as_str().unwrap_or_default();
        let path = entry["path"].as_str().unwrap_or_default();
        let body = entry.get("body").filter(|b| !b.is_null());
        // A file upload is logged with a `files[n]` string per file part.
        let upload = body.and_then(Value::as_object).is_some_and(|o| o.keys().any(|k| k.starts_with("files[")));
        let checked = match body {
            Some(form) if upload => Spec::global().check_multipart(method, path, form),
            _ => Spec::global().check(method, path, body),
        };
        if let Err(why) = checked {
            bad.push(format!("line {}: {why}", n + 1));
        }
    }
    if bad.is_empty() {
        return ExitCode::SUCCESS;
    }
    eprintln!("check-log: {} of {total} requests in {path} are outside Discord's OpenAPI contract:", bad.len());
    for b in bad.iter().take(50) {
        eprintln!("  {b}");
    }
    ExitCode::FAILURE
}
