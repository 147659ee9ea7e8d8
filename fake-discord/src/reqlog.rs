//! A log of the requests the fake received, one JSON object per line, for inspecting what the bot
//! under test actually sent.
//!
//! Enabled by the environment variable `FAKE_DISCORD_LOG` naming the file to append to. Several
//! tests in one process and several processes may append to the same file: each line is written
//! with one `write_all` of the whole line on a file opened in append mode (so lines never
//! interleave), under a process-wide mutex.

use std::fs::OpenOptions;
use std::io::{self, Write};
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;

use serde_json::Value;

/// The environment variable naming the log file.
pub const LOG_ENV: &str = "FAKE_DISCORD_LOG";

static WRITE_LOCK: Mutex<()> = Mutex::new(());
static WARNED: AtomicBool = AtomicBool::new(false);

/// Appends one JSON object per line to the file named by env FAKE_DISCORD_LOG, if set. A
/// `status` of 0: never answered (held by a timeout outage, then its connection closed).
pub fn log_request(method: &str, path: &str, body: Option<&Value>, status: u16) {
    let Some(file) = std::env::var_os(LOG_ENV) else {
        return;
    };
    if file.is_empty() {
        return;
    }
    let file = Path::new(&file);
    if let Err(e) = append_line(file, &format_line(method, path, body, status)) {
        if !WARNED.swap(true, Ordering::Relaxed) {
            tracing::warn!("cannot append to the request log {}: {e}", file.display());
        }
    }
}

/// One log line, newline included:
/// `{"method":"PUT","path":"/api/v10/...","body":null,"status":204}` (keys in this order).
fn format_line(method: &str, path: &str, body: Option<&Value>, status: u16) -> String {
    let body = body.map_or_else(|| "null".to_owned(), Value::to_string);
    format!(
        "{{\"method\":{},\"path\":{},\"body\":{body},\"status\":{status}}}\n",
        Value::from(method),
        Value::from(path),
    )
}

/// Appends `line` to `path` with a single `write_all`, under the process-wide lock.
fn append_line(path: &Path, line: &str) -> io::Result<()> {
    let _guard = WRITE_LOCK.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let mut file = OpenOptions::new().create(true).append(true).open(path)?;
    file.write_all(line.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn temp_path(name: &str) -> std::path::PathBuf {
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        std::env::temp_dir().join(format!("fake-discord-{name}-{}-{nanos}.jsonl", std::process::id()))
    }

    #[test]
    fn line_format_keeps_key_order() {
        assert_eq!(
            format_line("PUT", "/api/v10/guilds/2000/members/4000/roles/5000", None, 204),
            "{\"method\":\"PUT\",\"path\":\"/api/v10/guilds/2000/members/4000/roles/5000\",\"body\":null,\"status\":204}\n"
        );
        let line = format_line("POST", "/api/v10/channels/1/messages?x=\"y\"", Some(&json!({"content": "a\nb"})), 200);
        assert_eq!(
            line,
            "{\"method\":\"POST\",\"path\":\"/api/v10/channels/1/messages?x=\\\"y\\\"\",\"body\":{\"content\":\"a\\nb\"},\"status\":200}\n"
        );
        assert_eq!(line.matches('\n').count(), 1);
    }

    #[test]
    fn concurrent_appends_never_interleave() {
        let path = temp_path("reqlog");
        let threads: Vec<_> = (0..8)
            .map(|t| {
                let path = path.clone();
                std::thread::spawn(move || {
                    for i in 0..50 {
                        let body = json!({"t": t, "i": i, "pad": "x".repeat(2000)});
                        let line = format_line("POST", &format!("/api/v10/x/{t}/{i}"), Some(&body), 200);
                        append_line(&path, &line).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let text = std::fs::read_to_string(&path).unwrap();
        std::fs::remove_file(&path).ok();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 400);
        for line in lines {
            let v: Value = serde_json::from_str(line).unwrap();
            assert_eq!(v["method"], "POST");
            assert_eq!(v["status"], 200);
            assert_eq!(v["path"], format!("/api/v10/x/{}/{}", v["body"]["t"], v["body"]["i"]));
        }
    }

    #[test]
    fn unwritable_log_does_not_panic() {
        let dir = temp_path("missing-dir");
        assert!(append_line(&dir.join("no/such/file"), "x\n").is_err());
    }
}
