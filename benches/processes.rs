//! Scale-out benchmark (not a test): `cargo bench -p guildhall --bench processes`.
//!
//! Two servers on two shards (`(guild_id >> 22) % 2`, as Discord routes
//! them), one database, the fake Discord in this process. The same load is
//! offered to one bot process running both shards, then to two processes
//! running one shard each (`SHARD_RANGE=0..1` and `1..2`): `/group info` (a
//! read: two queries and the answer) and `/join` on an open group (a
//! write: a transaction holding a Discord role grant), each at rising
//! rates, half the interactions to each server. For each it reports the
//! answers' latency, the rate answered, and where the CPU went (the bot
//! processes, PostgreSQL, the fake Discord with the load generator), so the
//! table says what limits the whole: more bot processes help while the
//! bots' CPU is the limit, and stop helping when PostgreSQL's (or the
//! machine's) is.
//!
//! Needs a PostgreSQL server (`scripts/pg-up`); DATABASE_URL names it
//! (default postgres://postgres@127.0.0.1:5432/postgres); a scratch
//! database is made and dropped at the end.

mod common;

use common::{
    drive, ms, pct, proc_cpu, serve_until_stdin_closes, server_url, wait_answered, wait_quiet, CpuMark, Members, Spent,
};
use fake_discord::{Actor, FakeDiscord};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const CHILD_ENV: &str = "GUILDHALL_BENCH_CHILD";
const SHARDS: u64 = 2;
/// Offered rates (interactions a second, both servers together), each held
/// this long.
const RATES: [f64; 4] = [250.0, 500.0, 750.0, 1000.0];
const SECS: f64 = 2.0;
const P99_GOAL: Duration = Duration::from_millis(250);

/// Child mode: one bot process on the shards its environment names, until
/// stdin closes.
async fn child() {
    let mut config = guildhall::config::Config::from_env().expect("the child's settings");
    // The fake stands for the proxy and Discord together: interaction
    // responses, which bypass a proxy, go to it too.
    if let Some(fake) = config.api_base_url.clone() {
        config.discord_origin = fake;
    }
    config.tick = Duration::from_secs(3600);
    let bot = guildhall::start(config).await.expect("the bot starts");
    serve_until_stdin_closes(bot).await;
}

/// A bot process on shards `range` of [`SHARDS`].
struct Process(Child);

impl Process {
    async fn start(fake: &FakeDiscord, db: &str, range: std::ops::Range<u64>) -> Process {
        let child = Command::new(std::env::current_exe().expect("own path"))
            .env(CHILD_ENV, "1")
            .env("DISCORD_TOKEN", "bench-token")
            .env("DATABASE_URL", db)
            .env("DISCORD_API_BASE_URL", fake.base_url())
            .env("SHARD_COUNT", SHARDS.to_string())
            .env("SHARD_RANGE", format!("{}..{}", range.start, range.end))
            .env_remove("DISCORD_GUILD_ID")
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped())
            .spawn()
            .expect("start a bot process");
        for shard in range {
            fake.wait_for_shard([shard, SHARDS]).await;
        }
        Process(child)
    }

    fn cpu(&self) -> f64 {
        proc_cpu(self.0.id())
    }

    fn stop(mut self) {
        drop(self.0.stdin.take());
        let _ = self.0.wait();
    }
}

/// One server: its view of the fake, its admin, its members.
struct Server {
    fake: FakeDiscord,
    admin: Actor,
    members: Members,
}

struct Row {
    processes: usize,
    what: &'static str,
    rate: f64,
    sent: usize,
    ok: usize,
    p50: Duration,
    p99: Duration,
    /// Answers a second: those answered, over the time from the first send
    /// to the last answer.
    answered_per_s: f64,
    spent: Spent,
}

async fn phase(fake: &FakeDiscord, servers: &mut [Server], bots: &[Process], what: &'static str, rate: f64) -> Row {
    let n = (rate * SECS) as usize;
    // Half to each server, alternating; /join needs members who have not joined.
    let mut who: Vec<Vec<Actor>> = Vec::new();
    for (k, s) in servers.iter_mut().enumerate() {
        let mine = n / 2 + usize::from(k < n % 2);
        who.push(if what == "/join (open)" {
            s.members.take(&s.fake, mine)
        } else {
            (0..mine).map(|_| s.admin.clone()).collect()
        });
    }
    let cpu = |bots: &[Process]| bots.iter().map(Process::cpu).sum::<f64>();
    let mark = CpuMark::now(cpu(bots));
    let started = mark.started();
    let ids = drive(rate, n, |i| {
        let a = &who[i % 2][i / 2];
        match what {
            "/join (open)" => a.slash_nowait("join", &[("group", "Open")]),
            _ => a.slash_nowait("group info", &[("group", "Open")]),
        }
    })
    .await;
    wait_answered(fake, &ids, Duration::from_secs(60)).await;
    let answered = started.elapsed();
    wait_quiet(fake).await;
    let spent = mark.spent(cpu(bots), n, answered);
    let expect = if what == "/join (open)" { "You joined" } else { "Open" };
    let mut content = Vec::new();
    let mut ok = 0;
    let mut last = Duration::ZERO;
    for (i, id) in ids.iter().enumerate() {
        let (sent_at, at) = fake.with(|w| (w.interactions[id].sent_at, w.interactions[id].content_at));
        if let Some(at) = at {
            content.push(at - sent_at);
            last = last.max(at - started);
            let reply = fake_discord::scenario::Reply {
                fake: fake.clone(),
                interaction_id: *id,
                user: who[i % 2][i / 2].clone(),
            };
            if reply.text().contains(expect) {
                ok += 1;
            }
        }
    }
    content.sort();
    let p99 = if content.len() < n { Duration::MAX } else { pct(&content, 0.99) };
    Row {
        processes: bots.len(),
        what,
        rate,
        sent: n,
        ok,
        p50: pct(&content, 0.5),
        p99,
        answered_per_s: ok as f64 / last.as_secs_f64().max(1e-9),
        spent,
    }
}

#[tokio::main]
async fn main() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child().await;
        return;
    }
    let fake = FakeDiscord::start().await;
    // The bot runs behind DISCORD_API_BASE_URL, a proxy that paces for it:
    // the fake stands for the proxy and Discord together, so its own limits
    // are off (this measures the bot's cost, not Discord's pacing).
    fake.set_rate_limits(fake_discord::RateLimits::off());
    let first = fake.guild_id;
    let second = fake.add_guild_on_shard("Second", 1 - (first >> 22) % SHARDS, SHARDS);
    let name = format!("guildhall_bench_p_{}", std::process::id());
    let db = format!("{}/{name}", server_url());
    let per_server = RATES.iter().map(|r| (r * SECS) as usize).sum::<usize>() + 100;
    let mut servers: Vec<Server> = [first, second]
        .into_iter()
        .map(|g| {
            let f = fake.in_guild(g);
            let ids = f.seed_members("m", per_server);
            let admin = f.admin("ada");
            Server { fake: f, admin, members: Members { ids, next: 0 } }
        })
        .collect();

    // Set up with one process: the schema, an open group in each server.
    let bot = Process::start(&fake, &db, 0..SHARDS).await;
    fake.wait_for_commands().await;
    for s in &servers {
        let r =
            s.admin.slash("group create", &[("name", "Open"), ("bucket", "Interest"), ("visibility", "open")]).await;
        assert!(r.text().contains("Created"), "{}", r.text());
    }
    // Warm-up (not reported).
    for s in &servers {
        let ids = drive(50.0, 50, |_| s.admin.slash_nowait("group info", &[("group", "Open")])).await;
        wait_answered(&fake, &ids, Duration::from_secs(30)).await;
    }

    let mut rows = Vec::new();
    let mut bots = vec![bot];
    for processes in [1, 2] {
        if processes == 2 {
            for b in bots.drain(..) {
                b.stop();
            }
            bots.push(Process::start(&fake, &db, 0..1).await);
            bots.push(Process::start(&fake, &db, 1..2).await);
        }
        for what in ["/group info", "/join (open)"] {
            for rate in RATES {
                rows.push(phase(&fake, &mut servers, &bots, what, rate).await);
            }
        }
    }
    for b in bots {
        b.stop();
    }

    println!("## Processes: the same load on 1 bot process (2 shards) and on 2 (1 shard each), 2 servers");
    println!();
    println!("| processes | interaction | offered/s | sent | ok | content p50 ms | p99 ms | answered/s | CPU ms/interaction: bots | PostgreSQL | fake + load | cores busy |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for r in &rows {
        let p99 = if r.p99 == Duration::MAX { "unanswered".into() } else { ms(r.p99) };
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {:.0} | {:.2} | {:.2} | {:.2} | {:.0}% |",
            r.processes,
            r.what,
            r.rate,
            r.sent,
            r.ok,
            ms(r.p50),
            p99,
            r.answered_per_s,
            r.spent.bot_ms,
            r.spent.pg_ms,
            r.spent.fake_ms,
            r.spent.busy * 100.0
        );
    }
    println!();
    for what in ["/group info", "/join (open)"] {
        for processes in [1, 2] {
            let best = rows
                .iter()
                .filter(|r| r.what == what && r.processes == processes && r.ok == r.sent && r.p99 < P99_GOAL)
                .map(|r| r.rate)
                .fold(None, |m: Option<f64>, r| Some(m.map_or(r, |m| m.max(r))));
            let top = rows
                .iter()
                .filter(|r| r.what == what && r.processes == processes)
                .map(|r| r.answered_per_s)
                .fold(0.0, f64::max);
            println!(
                "- {what}, {processes} process(es): highest offered rate with p99 < 250 ms: {}; most answered a second: {top:.0}",
                best.map(|b| format!("{b:.0}/s")).unwrap_or_else(|| "none".into())
            );
        }
    }

    let admin_pool = sqlx::PgPool::connect(&format!("{}/postgres", server_url())).await.expect("server");
    let _ = sqlx::query(&format!("drop database if exists {name} with (force)")).execute(&admin_pool).await;
}
