//! What the benchmarks share: driving interactions open-loop, waiting for
//! their answers, percentiles, and the CPU time of processes from /proc.
#![allow(dead_code)] // each benchmark uses its own part

use fake_discord::{Actor, FakeDiscord};
use std::process::Command;
use std::time::{Duration, Instant};

pub fn server_url() -> String {
    let base = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    base.rsplit_once('/').expect("DATABASE_URL has a database name").0.to_string()
}

/// utime + stime of process `pid`, in seconds (0 when it is gone).
pub fn proc_cpu(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
    // Fields after the command name (which may hold spaces): state is 3rd.
    let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| f.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 (1-based, state is 3).
    (ticks(11) + ticks(12)) / clock_ticks()
}

/// CPU seconds of every PostgreSQL process on this machine (the server and
/// its backends; the benchmark's database server is local).
pub fn postgres_cpu() -> f64 {
    let Ok(dir) = std::fs::read_dir("/proc") else { return 0.0 };
    dir.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| std::fs::read_to_string(format!("/proc/{pid}/comm")).is_ok_and(|c| c.trim() == "postgres"))
        .map(proc_cpu)
        .sum()
}

pub fn clock_ticks() -> f64 {
    static TICKS: std::sync::OnceLock<f64> = std::sync::OnceLock::new();
    *TICKS.get_or_init(|| {
        Command::new("getconf")
            .arg("CLK_TCK")
            .output()
            .ok()
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .and_then(|s| s.trim().parse().ok())
            .unwrap_or(100.0)
    })
}

/// Wait until the fake's world stops changing (card edits and DMs that
/// follow an answer have landed): no change for 200 ms, at most 10 s.
pub async fn wait_quiet(fake: &FakeDiscord) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while Instant::now() < deadline {
        if tokio::time::timeout(Duration::from_millis(200), fake.changed()).await.is_err() {
            return;
        }
    }
}

/// Wait until every interaction got content (or `limit` passed).
pub async fn wait_answered(fake: &FakeDiscord, ids: &[u64], limit: Duration) {
    let deadline = Instant::now() + limit;
    while Instant::now() < deadline {
        if fake.with(|w| ids.iter().all(|i| w.interactions[i].content_at.is_some())) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Send `n` interactions at `rate` a second, on schedule.
pub async fn drive(rate: f64, n: usize, mut emit: impl FnMut(usize) -> u64) -> Vec<u64> {
    let start = tokio::time::Instant::now();
    let mut ids = Vec::with_capacity(n);
    for i in 0..n {
        tokio::time::sleep_until(start + Duration::from_secs_f64(i as f64 / rate)).await;
        ids.push(emit(i));
    }
    ids
}

pub fn pct(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

pub fn ms(d: Duration) -> String {
    format!("{:.1}", d.as_secs_f64() * 1000.0)
}

/// Members seeded in the fake, handed out once each.
pub struct Members {
    pub ids: Vec<u64>,
    pub next: usize,
}

impl Members {
    pub fn take(&mut self, fake: &FakeDiscord, n: usize) -> Vec<Actor> {
        assert!(self.next + n <= self.ids.len(), "not enough seeded members");
        let out = self.ids[self.next..self.next + n].iter().map(|u| fake.actor(*u)).collect();
        self.next += n;
        out
    }
}

/// Where the CPU went while a phase ran: the bot processes', PostgreSQL's and
/// this process's (the fake Discord and the load), from a mark taken before.
pub struct CpuMark {
    bots: f64,
    pg: f64,
    own: f64,
    started: Instant,
}

/// CPU milliseconds per interaction, and the three's CPU time over the cores'
/// time while the phase ran.
pub struct Spent {
    pub bot_ms: f64,
    pub pg_ms: f64,
    pub fake_ms: f64,
    pub busy: f64,
}

impl CpuMark {
    /// `bots`: the bot processes' CPU seconds now.
    pub fn now(bots: f64) -> CpuMark {
        CpuMark { bots, pg: postgres_cpu(), own: proc_cpu(std::process::id()), started: Instant::now() }
    }

    pub fn started(&self) -> Instant {
        self.started
    }

    /// Since the mark, over `n` interactions; `answered`: from the mark to
    /// the last answer. Called after `wait_quiet`, whose last 200 ms are
    /// idle by definition and not counted.
    pub fn spent(&self, bots: f64, n: usize, answered: Duration) -> Spent {
        let (bot_s, pg_s, own_s) =
            (bots - self.bots, postgres_cpu() - self.pg, proc_cpu(std::process::id()) - self.own);
        let cores = std::thread::available_parallelism().map(|c| c.get()).unwrap_or(1) as f64;
        let wall = self.started.elapsed().saturating_sub(Duration::from_millis(200)).max(answered).as_secs_f64();
        let per = |s: f64| s * 1000.0 / n as f64;
        Spent {
            bot_ms: per(bot_s),
            pg_ms: per(pg_s),
            fake_ms: per(own_s),
            busy: (bot_s + pg_s + own_s) / (cores * wall),
        }
    }
}

/// A benchmark's bot child: run `bot` until the parent closes our stdin, then
/// shut it down gracefully.
pub async fn serve_until_stdin_closes(bot: guildhall::Running) {
    let _ = tokio::task::spawn_blocking(|| {
        let mut sink = Vec::new();
        let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
    })
    .await;
    bot.shutdown().await;
}
