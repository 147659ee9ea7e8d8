//! Interaction-path benchmark (not a test): `cargo bench -p guildhall --bench interactions`.
//!
//! The fake Discord runs in this process; the real bot runs in a child
//! process (this same executable, re-run with `GUILDHALL_BENCH_CHILD=1`),
//! so its CPU time and memory are its own, read from /proc. Both use a
//! scratch database on the PostgreSQL server DATABASE_URL names (default
//! postgres://postgres@127.0.0.1:5432/postgres), dropped at the end.
//!
//! It drives interactions open-loop (each sent on schedule, whether or not
//! the earlier ones were answered) at 50, 200 and 1,000 a second from
//! distinct members, for `/join` (open group), `/group info`, the Group
//! Page's Subscribe toggle and a leader's Approve, and for the floor: a
//! command that does one PostgreSQL round trip and answers, registered only
//! by this benchmark (`floor` below, passed to `guildhall::start_with`).
//! For each it reports the time from INTERACTION_CREATE to the first
//! callback and to the answer with content (p50/p95/p99/max), the ratio of
//! the content p50 to the floor's, and the bot's CPU time per interaction.
//! Then a search for the highest `/join` rate whose p99 stays under 250 ms,
//! the bot's memory (idle, peak under load, with 10,000 and 100,000 members
//! in the guild) and its cold start (process start to the first interaction
//! answered), first-time (migrations applied on an empty database) and with
//! the schema in place.

mod common;

use common::{
    drive, ms, pct, proc_cpu, serve_until_stdin_closes, server_url, wait_answered, wait_quiet, CpuMark, Members, Spent,
};
use fake_discord::scenario::Reply;
use fake_discord::{Actor, FakeDiscord};
use guildhall::types::{Data, Error};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CHILD_ENV: &str = "GUILDHALL_BENCH_CHILD";
/// Offered rates, and how long each is held.
const RATES: [(f64, f64); 3] = [(50.0, 4.0), (200.0, 3.0), (1000.0, 2.0)];
const SEARCH_SECS: f64 = 2.0;
const P99_GOAL: Duration = Duration::from_millis(250);

/// The floor: one PostgreSQL round trip, then the answer.
#[poise::command(slash_command, rename = "bench-floor", ephemeral)]
async fn floor(ctx: poise::Context<'_, Data, Error>) -> Result<(), Error> {
    let n: i32 = sqlx::query_scalar("select 1").fetch_one(&*ctx.data().app.pool).await?;
    ctx.send(poise::CreateReply::default().content(format!("floor {n}")).ephemeral(true)).await?;
    Ok(())
}

/// The child talks to this origin as Discord itself (pacing by its own
/// limiter), instead of behind `DISCORD_API_BASE_URL` (the "Discord's pace"
/// section).
const ORIGIN_ENV: &str = "GUILDHALL_BENCH_ORIGIN";

/// Child mode: the bot (with the floor command) until stdin closes.
async fn child() {
    let mut config = guildhall::config::Config::from_env().expect("the child's settings");
    // The fake stands for the proxy and Discord together: interaction
    // responses, which bypass a proxy, go to it too.
    if let Some(fake) = config.api_base_url.clone() {
        config.discord_origin = fake;
    }
    config.tick = Duration::from_secs(3600);
    if let Ok(origin) = std::env::var(ORIGIN_ENV) {
        config.discord_origin = origin;
        config.api_base_url = None;
        config.tick = Duration::from_secs(5);
    }
    let bot = guildhall::start_with(config, vec![floor()]).await.expect("the bot starts");
    serve_until_stdin_closes(bot).await;
}

/// The bot's process.
struct Bot {
    child: Child,
    started: Instant,
}

impl Bot {
    fn spawn(fake: &FakeDiscord, db: &str) -> Bot {
        Bot::spawn_with(fake, db, &[])
    }

    fn spawn_with(fake: &FakeDiscord, db: &str, env: &[(&str, String)]) -> Bot {
        let started = Instant::now();
        let mut cmd = Command::new(std::env::current_exe().expect("own path"));
        cmd.env(CHILD_ENV, "1")
            .env("DISCORD_TOKEN", "bench-token")
            .env("DATABASE_URL", db)
            .env("DISCORD_API_BASE_URL", fake.base_url())
            .env("DISCORD_GUILD_ID", fake.guild_id.to_string())
            .env_remove("RUST_LOG")
            .stdin(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd.spawn().expect("start the bot process");
        Bot { child, started }
    }

    /// Start the bot and wait until it answers its first interaction: the
    /// bot and the time from process start to that answer.
    async fn start(fake: &FakeDiscord, db: &str, who: &Actor) -> (Bot, Duration) {
        let before = fake.identify_count();
        let bot = Bot::spawn(fake, db);
        fake.wait_for_identify(before).await;
        fake.wait_for_bot().await;
        // A first start registers the commands only once connected.
        let registered = || fake.registered_commands().iter().any(|c| c["name"] == "bench-floor");
        fake.wait_for(30, "the floor command registered", registered).await;
        let id = who.slash_nowait("bench-floor", &[]);
        wait_answered(fake, &[id], Duration::from_secs(30)).await;
        let at = fake.with(|w| w.interactions[&id].content_at).expect("the first interaction answered");
        let took = at - bot.started;
        (bot, took)
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    /// utime + stime, in seconds.
    fn cpu(&self) -> f64 {
        proc_cpu(self.pid())
    }

    /// (VmRSS, VmHWM) in MiB.
    fn memory(&self) -> (f64, f64) {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid())).unwrap_or_default();
        let kib = |key: &str| {
            status
                .lines()
                .find(|l| l.starts_with(key))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        (kib("VmRSS:") / 1024.0, kib("VmHWM:") / 1024.0)
    }

    /// Close its stdin (it shuts down gracefully) and wait for it.
    fn stop(mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

/// Wait until the bot's start-up reconcile pass (after its READY) has
/// finished: the work a fresh process does before it is idle. `before`:
/// how many had finished before this start.
async fn wait_start_up_pass(pool: &sqlx::PgPool, before: i64) {
    let deadline = Instant::now() + Duration::from_secs(120);
    while finished_passes(pool).await <= before {
        assert!(Instant::now() < deadline, "the start-up reconcile pass never finished");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn finished_passes(pool: &sqlx::PgPool) -> i64 {
    sqlx::query_scalar("select count(*) from reconcile_runs where trigger = 'session' and finished_at is not null")
        .fetch_one(pool)
        .await
        .expect("count reconcile passes")
}

/// What one phase measured.
struct Phase {
    what: &'static str,
    rate: f64,
    sent: usize,
    /// Answered with the expected text.
    ok: usize,
    first: Vec<Duration>,
    content: Vec<Duration>,
    spent: Spent,
    /// The answer texts that were not the expected one (a few, for the log).
    odd: Vec<String>,
}

impl Phase {
    fn p99(&self) -> Duration {
        // Unanswered interactions count as slower than anything answered.
        if self.content.len() < self.sent {
            return Duration::MAX;
        }
        pct(&self.content, 0.99)
    }
}

/// Run one phase: send `n` interactions at `rate`, wait for their answers,
/// read the timings and check each answer holds `expect`.
async fn phase(
    fake: &FakeDiscord,
    bot: &Bot,
    what: &'static str,
    rate: f64,
    n: usize,
    expect: &str,
    emit: impl FnMut(usize) -> (u64, Actor),
) -> (Phase, Vec<Reply>) {
    let mark = CpuMark::now(bot.cpu());
    let started = mark.started();
    let mut actors = Vec::with_capacity(n);
    let mut emit = emit;
    let ids = drive(rate, n, |i| {
        let (id, who) = emit(i);
        actors.push(who);
        id
    })
    .await;
    wait_answered(fake, &ids, Duration::from_secs(30)).await;
    let answered = started.elapsed();
    // Let follow-ups after the content (card edits, DMs) finish before
    // reading the CPU time.
    wait_quiet(fake).await;
    let spent = mark.spent(bot.cpu(), n, answered);
    let (mut first, mut content) = (Vec::new(), Vec::new());
    fake.with(|w| {
        for id in &ids {
            let i = &w.interactions[id];
            if let Some(a) = i.answered_at {
                first.push(a - i.sent_at);
            }
            if let Some(c) = i.content_at {
                content.push(c - i.sent_at);
            }
        }
    });
    first.sort();
    content.sort();
    let replies: Vec<Reply> =
        ids.iter().zip(actors).map(|(id, user)| Reply { fake: fake.clone(), interaction_id: *id, user }).collect();
    let mut ok = 0;
    let mut odd = Vec::new();
    for r in &replies {
        let answered = fake.with(|w| w.interactions[&r.interaction_id].content_at.is_some());
        let text = if answered { r.text() } else { String::new() };
        if text.contains(expect) {
            ok += 1;
        } else if odd.len() < 3 {
            odd.push(if answered { text } else { "(no answer)".into() });
        }
    }
    (Phase { what, rate, sent: n, ok, first, content, spent, odd }, replies)
}

/// The Group Page message and its Subscribe button, from a `/group info` answer.
fn subscribe_button(r: &Reply) -> Option<(u64, String)> {
    let m = r.messages().into_iter().next()?;
    let c = fake_discord::scenario::components_of(&m).into_iter().find(|c| c.label == "Subscribe")?;
    Some((m.id, c.custom_id))
}

/// Approve buttons on request cards not used yet, in every thread under
/// `parent` (the review thread is made by the first request; requests that
/// race it may make more than one, see BENCHMARKS.md).
fn approve_buttons(fake: &FakeDiscord, parent: u64, used: &std::collections::HashSet<String>) -> Vec<(u64, String)> {
    let msgs: Vec<fake_discord::world::Message> = fake.with(|w| {
        let threads: Vec<u64> = w.channels.values().filter(|c| c.parent_id == Some(parent)).map(|c| c.id).collect();
        threads.iter().flat_map(|t| w.channel_messages(*t).to_vec()).collect()
    });
    msgs.iter()
        .filter_map(|m| {
            let c =
                fake_discord::scenario::components_of(m).into_iter().find(|c| c.label == "Approve" && !c.disabled)?;
            (!used.contains(&c.custom_id)).then_some((m.id, c.custom_id))
        })
        .collect()
}

#[tokio::main]
async fn main() {
    if std::env::var_os(CHILD_ENV).is_some() {
        child().await;
        return;
    }
    // `GUILDHALL_BENCH_ONLY=pace`: only the "Discord's pace" section.
    if std::env::var("GUILDHALL_BENCH_ONLY").as_deref() == Ok("pace") {
        discords_pace().await;
        return;
    }
    let fake = FakeDiscord::start().await;
    // The bot runs behind DISCORD_API_BASE_URL, a proxy that paces for it:
    // the fake stands for the proxy and Discord together, so its own limits
    // are off (this measures the bot's cost, not Discord's pacing).
    fake.set_rate_limits(fake_discord::RateLimits::off());
    let name = format!("guildhall_bench_i_{}", std::process::id());
    let db = format!("{}/{name}", server_url());
    let seeded = fake.seed_members("m", 10_000);
    let mut members = Members { ids: seeded, next: 0 };
    let admin = fake.admin("ada");
    let lena = fake.member("lena");

    // Cold start, first time: an empty database, every migration applied.
    let (bot, cold_first) = Bot::start(&fake, &db, &admin).await;
    fake.wait_for_commands().await;
    let r = admin.slash("group create", &[("name", "Open"), ("bucket", "Interest"), ("visibility", "open")]).await;
    assert!(r.text().contains("Created"), "{}", r.text());
    let r = admin.slash("group create", &[("name", "Closed"), ("bucket", "Interest"), ("visibility", "closed")]).await;
    assert!(r.text().contains("Created"), "{}", r.text());
    let r = admin.slash("group leader add", &[("group", "Closed"), ("user", &lena.user_id.to_string())]).await;
    assert!(!r.text().contains("Error"), "{}", r.text());
    let requests = fake.create_channel_by_hand("join-requests", fake_discord::world::channel_type::TEXT, None, vec![]);
    let pool = sqlx::PgPool::connect(&db).await.expect("scratch database");
    {
        let mut conn = pool.acquire().await.expect("a connection");
        guildhall::domain::settings::set_requests_channel(&mut conn, fake.guild_id, Some(requests))
            .await
            .expect("requests channel");
    }
    bot.stop();

    // Cold start with the schema in place (the usual restart).
    let passes = finished_passes(&pool).await;
    let (bot, cold_warm) = Bot::start(&fake, &db, &admin).await;
    wait_start_up_pass(&pool, passes).await;
    let idle_10k = bot.memory().0;
    // Members for the load below (5 phases × 2,000 at 1,000/s alone).
    let more = fake.seed_members("x", 30_000);
    members.ids.extend(more);

    // Warm-up (not reported).
    let warm = members.take(&fake, 100);
    let ids = drive(50.0, 100, |i| warm[i].slash_nowait("bench-floor", &[])).await;
    wait_answered(&fake, &ids, Duration::from_secs(30)).await;

    let mut phases: Vec<Phase> = Vec::new();
    let mut notes: Vec<String> = Vec::new();
    let mut notes_threads = 0;
    let mut used_cards = std::collections::HashSet::new();
    let mut thread = None;
    for (rate, secs) in RATES {
        let n = (rate * secs) as usize;
        let who = members.take(&fake, n);
        let (p, _) = phase(&fake, &bot, "floor (1 query)", rate, n, "floor 1", |i| {
            (who[i].slash_nowait("bench-floor", &[]), who[i].clone())
        })
        .await;
        phases.push(p);

        let who = members.take(&fake, n);
        let (p, pages) = phase(&fake, &bot, "/group info", rate, n, "Open", |i| {
            (who[i].slash_nowait("group info", &[("group", "Open")]), who[i].clone())
        })
        .await;
        phases.push(p);

        let buttons: Vec<(u64, String)> =
            pages.iter().map(|r| subscribe_button(r).expect("a Subscribe button")).collect();
        let (p, _) = phase(&fake, &bot, "Subscribe toggle", rate, n, "now subscribed", |i| {
            (who[i].click_nowait(buttons[i].0, &buttons[i].1), who[i].clone())
        })
        .await;
        phases.push(p);

        let who = members.take(&fake, n);
        // "You joined **Open**", or (the role queue behind) "You're in **Open**".
        let (p, _) = phase(&fake, &bot, "/join (open)", rate, n, "**Open**", |i| {
            (who[i].slash_nowait("join", &[("group", "Open")]), who[i].clone())
        })
        .await;
        phases.push(p);

        // Requests to approve, sent beforehand at a modest rate.
        let who = members.take(&fake, n);
        let ids = drive(100.0, n, |i| who[i].slash_nowait("request-join", &[("group", "Closed")])).await;
        wait_answered(&fake, &ids, Duration::from_secs(60)).await;
        let t = *thread.get_or_insert_with(|| {
            fake.with(|w| {
                w.channels
                    .values()
                    .find(|c| {
                        c.parent_id == Some(requests) && c.kind == fake_discord::world::channel_type::PRIVATE_THREAD
                    })
                    .map(|c| c.id)
            })
            .expect("a review thread")
        });
        let cards = approve_buttons(&fake, requests, &used_cards);
        notes_threads = fake.with(|w| w.channels.values().filter(|c| c.parent_id == Some(requests)).count());
        let _ = t;
        if cards.len() < n {
            let answers: Vec<String> = ids
                .iter()
                .take(3)
                .map(|id| Reply { fake: fake.clone(), interaction_id: *id, user: who[0].clone() }.text())
                .collect();
            notes.push(format!(
                "Approve at {rate}/s not measured: {} cards for {n} requests; answers: {answers:?}",
                cards.len()
            ));
            continue;
        }
        used_cards.extend(cards.iter().map(|(_, c)| c.clone()));
        let (p, _) = phase(&fake, &bot, "Approve (leader)", rate, n, "is now a member", |i| {
            (lena.click_nowait(cards[i].0, &cards[i].1), lena.clone())
        })
        .await;
        phases.push(p);
    }
    let peak = bot.memory().1;

    // The highest /join rate whose p99 stays under 250 ms.
    let mut search: Vec<(f64, Duration, usize, usize)> = Vec::new();
    let mut rate: f64 = 1000.0;
    let (mut lo, mut hi): (Option<f64>, Option<f64>) = (None, None);
    for _ in 0..4 {
        let n = (rate * SEARCH_SECS) as usize;
        if members.next + n > members.ids.len() {
            let more = fake.seed_members("s", n + 1000);
            members.ids.extend(more);
        }
        let who = members.take(&fake, n);
        // "You joined **Open**", or (the role queue behind) "You're in **Open**".
        let (p, _) = phase(&fake, &bot, "/join (open)", rate, n, "**Open**", |i| {
            (who[i].slash_nowait("join", &[("group", "Open")]), who[i].clone())
        })
        .await;
        let p99 = p.p99();
        search.push((rate, p99, p.ok, n));
        if p99 < P99_GOAL && p.ok == n {
            lo = Some(rate);
        } else {
            hi = Some(rate);
        }
        rate = match (lo, hi) {
            (Some(l), None) => l * 1.5,
            (None, Some(h)) => h / 1.5,
            (Some(l), Some(h)) if h / l > 1.15 => (l + h) / 2.0,
            _ => break,
        };
    }
    bot.stop();

    // 100,000 members in the guild: memory idle, and /join at 200/s.
    let more = fake.seed_members("big", 100_000 - fake.with(|w| w.guilds[&fake.guild_id].members.len()));
    members.ids.extend(more);
    let passes = finished_passes(&pool).await;
    let (bot, cold_100k) = Bot::start(&fake, &db, &admin).await;
    wait_start_up_pass(&pool, passes).await;
    let idle_100k = bot.memory().0;
    let who = members.take(&fake, 600);
    let (p, _) = phase(&fake, &bot, "/join (open), 100k members", 200.0, 600, "You joined", |i| {
        (who[i].slash_nowait("join", &[("group", "Open")]), who[i].clone())
    })
    .await;
    phases.push(p);
    bot.stop();

    // The table.
    let floors: Vec<(f64, Duration)> =
        phases.iter().filter(|p| p.what.starts_with("floor")).map(|p| (p.rate, pct(&p.content, 0.5))).collect();
    println!("## Interactions: INTERACTION_CREATE -> first callback / -> answer with content (ms)");
    println!();
    println!("| rate/s | interaction | sent | ok | first p50 | p95 | p99 | max | content p50 | p95 | p99 | max | ×floor p50 | CPU ms/interaction: bot | PostgreSQL | fake + load | cores busy |");
    println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    for p in &phases {
        let floor = floors.iter().find(|(r, _)| *r == p.rate).map(|f| f.1);
        let ratio = floor
            .filter(|f| !f.is_zero())
            .map(|f| format!("{:.2}", pct(&p.content, 0.5).as_secs_f64() / f.as_secs_f64()))
            .unwrap_or_else(|| "-".into());
        println!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {} | {:.2} | {:.2} | {:.2} | {:.0}% |",
            p.rate,
            p.what,
            p.sent,
            p.ok,
            ms(pct(&p.first, 0.5)),
            ms(pct(&p.first, 0.95)),
            ms(pct(&p.first, 0.99)),
            ms(p.first.last().copied().unwrap_or_default()),
            ms(pct(&p.content, 0.5)),
            ms(pct(&p.content, 0.95)),
            ms(pct(&p.content, 0.99)),
            ms(p.content.last().copied().unwrap_or_default()),
            ratio,
            p.spent.bot_ms,
            p.spent.pg_ms,
            p.spent.fake_ms,
            p.spent.busy * 100.0,
        );
    }
    println!();
    println!("Search for the highest /join rate with p99 < 250 ms ({SEARCH_SECS} s at each):");
    for (rate, p99, ok, n) in &search {
        let p99 = if *p99 == Duration::MAX { "unanswered".to_string() } else { format!("{} ms", ms(*p99)) };
        println!("- {rate:.0}/s: p99 {p99}, {ok}/{n} answered as expected");
    }
    println!("=> highest rate meeting the goal: {}", lo.map(|l| format!("{l:.0}/s")).unwrap_or_else(|| "none".into()));
    println!();
    println!("Bot memory (RSS): idle {idle_10k:.1} MiB with 10,000 members; peak {peak:.1} MiB under the load above; idle {idle_100k:.1} MiB with 100,000 members");
    println!(
        "Cold start (process start -> first interaction answered): first time (empty database, migrations) {} ms; schema in place {} ms; with 100,000 members {} ms",
        ms(cold_first),
        ms(cold_warm),
        ms(cold_100k)
    );
    println!("Review threads made for the one closed group: {notes_threads}");
    for n in &notes {
        println!("{n}");
    }
    for p in phases.iter().filter(|p| !p.odd.is_empty()) {
        eprintln!("{} at {}/s, unexpected answers: {:?}", p.what, p.rate, p.odd);
    }

    pool.close().await;
    let admin_pool = sqlx::PgPool::connect(&format!("{}/postgres", server_url())).await.expect("server");
    let _ = sqlx::query(&format!("drop database if exists {name} with (force)")).execute(&admin_pool).await;

    discords_pace().await;
}

/// How many members join at once in "Discord's pace".
const PACE_JOINS: usize = 60;

/// "Discord's pace" (N6): the bot talks to a fake Discord at Discord's true
/// scale, as to Discord itself (its own limiter paces it): every call takes
/// 80 ± 40 ms (member roles 120 ± 40), member-role changes share 10 per
/// 10 s per server. `PACE_JOINS` members press Join at once while an
/// unrelated member runs `/group info` once a second.
async fn discords_pace() {
    let fake = FakeDiscord::start().await;
    let name = format!("guildhall_bench_pace_{}", std::process::id());
    let db = format!("{}/{name}", server_url());
    let admin = fake.admin("ada");
    let metrics_port = std::net::TcpListener::bind("127.0.0.1:0").expect("a port").local_addr().expect("addr").port();
    let env = [(ORIGIN_ENV, fake.base_url()), ("METRICS_ADDR", format!("127.0.0.1:{metrics_port}"))];
    let bot = Bot::spawn_with(&fake, &db, &env);
    let before = 0;
    fake.wait_for_identify(before).await;
    fake.wait_for_bot().await;
    fake.wait_for_commands().await;
    let r = admin.slash("group create", &[("name", "Open"), ("bucket", "Interest"), ("visibility", "open")]).await;
    assert!(r.text().contains("Created"), "{}", r.text());
    let r = admin.slash("group create", &[("name", "Other"), ("bucket", "Interest"), ("visibility", "open")]).await;
    assert!(r.text().contains("Created"), "{}", r.text());
    let role = fake.role_named("Open").expect("the group's role").id;
    let members: Vec<Actor> = (0..PACE_JOINS).map(|n| fake.member(&format!("p{n}"))).collect();
    let probe = fake.member("prober");
    fake.set_latency(fake_discord::Latency::discord());
    fake.set_rate_limits(fake_discord::RateLimits::discord());
    let member_role_calls = |w: &fake_discord::World| {
        w.requests
            .iter()
            .filter(|(m, p, s)| {
                (m == "PUT" || m == "DELETE") && p.contains("/members/") && p.contains("/roles/") && *s < 300
            })
            .count()
    };
    let calls_before = fake.with(member_role_calls);
    let began = Instant::now();
    let ids: Vec<u64> = members.iter().map(|m| m.slash_nowait("join", &[("group", "Open")])).collect();
    let mut probes = Vec::new();
    let ms_ids: Vec<u64> = members.iter().map(|m| m.user_id).collect();
    let guild = fake.guild_id;
    let all_held = |w: &fake_discord::World| ms_ids.iter().all(|u| w.guilds[&guild].members[u].roles.contains(&role));
    let mut last_role = None;
    // When the member-role calls last grew: the bucket's busy time.
    let (mut calls_seen, mut last_call) = (0, Duration::ZERO);
    while began.elapsed() < Duration::from_secs(900) {
        probes.push(probe.slash_nowait("group info", &[("group", "Other")]));
        tokio::time::sleep(Duration::from_secs(1)).await;
        let calls_now = fake.with(member_role_calls);
        if calls_now > calls_seen {
            (calls_seen, last_call) = (calls_now, began.elapsed());
        }
        if last_role.is_none() && fake.with(all_held) {
            last_role = Some(began.elapsed());
        }
        let told_final = fake.with(|w| {
            ids.iter().all(|i| {
                w.interactions[i]
                    .original
                    .and_then(|o| w.find_message(o))
                    .is_some_and(|m| fake_discord::scenario::message_text(m).contains("You joined"))
            })
        });
        if last_role.is_some() && told_final {
            break;
        }
    }
    let drained = last_role.unwrap_or(began.elapsed());
    let calls = fake.with(member_role_calls) - calls_before;
    let notify = fake.role_named("Open notify").map(|r| r.id);
    let (group_puts, notify_puts, deletes) = fake.with(|w| {
        let ok = |m: &str, needle: &str| {
            w.requests.iter().filter(|(rm, p, s)| rm == m && p.ends_with(needle) && *s < 300).count()
        };
        let group = ok("PUT", &format!("/roles/{role}"));
        let notify = notify.map_or(0, |n| ok("PUT", &format!("/roles/{n}")));
        let deletes = w
            .requests
            .iter()
            .filter(|(m, p, s)| m == "DELETE" && p.contains("/members/") && p.contains("/roles/") && *s < 300)
            .count();
        (group, notify, deletes)
    });
    let (mut first, mut outcome, mut probe_first) = (Vec::new(), Vec::new(), Vec::new());
    fake.with(|w| {
        for i in &ids {
            let it = &w.interactions[i];
            if let Some(a) = it.answered_at {
                first.push(a - it.sent_at);
            }
            if let Some(c) = it.content_at {
                outcome.push(c - it.sent_at);
            }
        }
        for i in &probes {
            let it = &w.interactions[i];
            if let Some(a) = it.content_at.or(it.answered_at) {
                probe_first.push(a - it.sent_at);
            }
        }
    });
    first.sort();
    outcome.sort();
    probe_first.sort();
    let metrics = match reqwest::get(format!("http://127.0.0.1:{metrics_port}/metrics")).await {
        Ok(r) => r.text().await.unwrap_or_default(),
        Err(_) => String::new(),
    };
    let pool_wait_p99 = metrics
        .lines()
        .find(|l| l.starts_with("guildhall_db_pool_wait_seconds{quantile=\"0.99\"}"))
        .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .map_or_else(|| "no wait".to_string(), |s| format!("{:.0} ms", s * 1000.0));
    bot.stop();
    // The bucket allows 10 per 10 s: one a second while calls wait.
    let busy = last_call.as_secs_f64().max(1.0);
    println!();
    println!("## Discord's pace: {PACE_JOINS} members press Join at once (latency 80 ± 40 ms, member roles 10 per 10 s per server)");
    println!();
    println!("| figure | value |");
    println!("| --- | --- |");
    println!("| first answer (deferral) p50 / p99 | {} / {} ms |", ms(pct(&first, 0.5)), ms(pct(&first, 0.99)));
    println!(
        "| outcome shown (joined, or \"applying\" with an estimate) p50 / p99 | {} / {} ms |",
        ms(pct(&outcome, 0.5)),
        ms(pct(&outcome, 0.99))
    );
    println!(
        "| answered with the outcome within 3 s | {} of {} |",
        outcome.iter().filter(|d| d.as_secs_f64() <= 3.0).count(),
        ids.len()
    );
    println!(
        "| unrelated /group info once a second: p99 (answers) | {} ms ({} probes) |",
        ms(pct(&probe_first, 0.99)),
        probe_first.len()
    );
    println!("| pool wait p99 (the bot's histogram) | {pool_wait_p99} |");
    println!(
        "| member-role calls per join | {:.2} (group role {group_puts}, notification role {notify_puts}, removals {deletes}) |",
        calls as f64 / PACE_JOINS as f64
    );
    println!(
        "| member-role calls a second while they waited, against the bucket's 1/s | {:.2} ({:.0}% of the {busy:.0} allowed in {busy:.0} s) |",
        calls as f64 / busy,
        100.0 * calls as f64 / busy
    );
    println!("| time until the last member holds the role | {:.0} s |", drained.as_secs_f64());
    let admin_pool = sqlx::PgPool::connect(&format!("{}/postgres", server_url())).await.expect("server");
    let _ = sqlx::query(&format!("drop database if exists {name} with (force)")).execute(&admin_pool).await;
}
