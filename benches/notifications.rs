//! Notification fan-out benchmark (not a test): `cargo bench -p guildhall --bench notifications`.
//!
//! Starts the fake Discord and the real bot against a scratch database on
//! the PostgreSQL server DATABASE_URL names (default
//! postgres://postgres@127.0.0.1:5432/postgres; the scratch database is
//! dropped at the end), then reports:
//! 1. mention mode, a group with 10,000 subscribers: the Discord calls the
//!    bot makes per new topic, and the time from THREAD_CREATE to the
//!    announcement reaching the fake, over several topics;
//! 2. DM mode, 1,000 members, with the fake enforcing Discord's rate limits
//!    (on by default: the global 50 requests a second over every route but
//!    the interaction endpoints, and per-route buckets), the bot talking to
//!    it as to Discord itself: the time until every DM arrived, the DM
//!    channel opens and sends it took, and the 429s the bot received on
//!    either route.

use fake_discord::FakeDiscord;
use guildhall::clock::Clock;
use guildhall::config::{Config, Token};
use std::time::{Duration, Instant};

const SUBSCRIBERS: usize = 10_000;
const TOPICS: usize = 20;
const DM_MEMBERS: usize = 1_000;

fn server_url() -> String {
    let base = std::env::var("DATABASE_URL").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    base.rsplit_once('/').expect("DATABASE_URL has a database name").0.to_string()
}

fn pct(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i]
}

fn ms(d: Duration) -> String {
    format!("{:.1} ms", d.as_secs_f64() * 1000.0)
}

async fn bulk_follow(pool: &sqlx::PgPool, guild: u64, group_id: i64, users: &[u64], mode: &str) {
    let ids: Vec<i64> = users.iter().map(|u| *u as i64).collect();
    sqlx::query("insert into subscriptions (guild_id, user_id, kind, target_id) select $1, u, 'group', $2 from unnest($3::bigint[]) u on conflict do nothing")
        .bind(guild as i64)
        .bind(group_id)
        .bind(&ids)
        .execute(pool)
        .await
        .expect("subscriptions");
    sqlx::query("insert into notification_prefs (guild_id, user_id, mode, updated_at) select $1, u, $2, now() from unnest($3::bigint[]) u on conflict (guild_id, user_id) do update set mode = excluded.mode")
        .bind(guild as i64)
        .bind(mode)
        .bind(&ids)
        .execute(pool)
        .await
        .expect("prefs");
}

async fn group(fake: &FakeDiscord, pool: &sqlx::PgPool, admin: &fake_discord::Actor, name: &str) -> (i64, u64) {
    let r = admin.slash("group create", &[("name", name), ("bucket", "Interest"), ("visibility", "open")]).await;
    assert!(r.text().contains("Created"), "{}", r.text());
    let channel = fake.channel_named(&name.to_lowercase()).expect("channel").id;
    let id: i64 = sqlx::query_scalar("select id from groups where name = $1").bind(name).fetch_one(pool).await.unwrap();
    (id, channel)
}

#[tokio::main]
async fn main() {
    let fake = FakeDiscord::start().await;
    let db = format!("{}/guildhall_bench_{}", server_url(), std::process::id());
    let config = Config {
        token: Token::new("bench-token"),
        database_url: db.clone(),
        dev_guild_id: Some(fake.guild_id),
        api_base_url: None,
        discord_origin: fake.base_url(),
        clock: Clock::system(),
        tick: Duration::from_secs(3600),
        metrics_addr: None,
        shard_count: None,
        shard_range: None,
        dm_rate_per_sec: guildhall::config::DEFAULT_DM_RATE_PER_SEC,
        rest_rate_per_sec: guildhall::config::DEFAULT_REST_RATE_PER_SEC,
        notify_by_name_max: guildhall::config::DEFAULT_NOTIFY_BY_NAME_MAX,
    };
    let before = fake.identify_count();
    let bot = guildhall::start(config).await.expect("the bot starts");
    fake.wait_for_identify(before).await;
    fake.wait_for_bot().await;
    fake.wait_for_commands().await;
    let pool = sqlx::PgPool::connect(&db).await.expect("scratch database");
    let admin = fake.admin("ada");
    let author = fake.member("author");
    let bot_id = fake.bot_user_id();

    // 1. Mention mode, 10,000 subscribers.
    let (rust, channel) = group(&fake, &pool, &admin, "Rust").await;
    author.slash("join", &[("group", "Rust")]).await; // makes the notify role
    let t = Instant::now();
    let members: Vec<u64> = (0..SUBSCRIBERS).map(|i| fake.member(&format!("s{i}")).user_id).collect();
    bulk_follow(&pool, fake.guild_id, rust, &members, "mention").await;
    eprintln!("seeded {SUBSCRIBERS} subscribers in {:?}", t.elapsed());
    let mut latencies = Vec::new();
    let mut calls = Vec::new();
    for i in 0..TOPICS {
        let requests_before = fake.with(|w| w.requests.len());
        let start = Instant::now();
        let topic = author.create_topic(channel, &format!("Topic {i}"), "news");
        fake.wait_until_for(30, "the announcement", |w| {
            w.channel_messages(topic).iter().any(|m| m.author_id == bot_id)
        })
        .await;
        latencies.push(start.elapsed());
        // Let the handler finish (its commit) before counting.
        tokio::time::sleep(Duration::from_millis(200)).await;
        calls.push(fake.with(|w| w.requests.len()) - requests_before);
    }
    latencies.sort();
    calls.sort();
    println!("## Mention mode: a new topic in a group with {SUBSCRIBERS} subscribers ({TOPICS} topics)");
    println!("Discord calls per topic: min {}, max {}", calls[0], calls[calls.len() - 1]);
    println!(
        "THREAD_CREATE -> announcement at the fake: p50 {}, p90 {}, max {}",
        ms(pct(&latencies, 0.5)),
        ms(pct(&latencies, 0.9)),
        ms(latencies[latencies.len() - 1])
    );

    // 2. DM mode, 1,000 members, Discord's global limit.
    let (dm_group, dm_channel) = group(&fake, &pool, &admin, "Letters").await;
    author.slash("join", &[("group", "Letters")]).await;
    let readers: Vec<u64> = members[..DM_MEMBERS].to_vec();
    bulk_follow(&pool, fake.guild_id, dm_group, &readers, "dm").await;
    // (DM channel opens, message sends, 429s on either) so far; the fake
    // enforces Discord's global 50 requests a second (on by default).
    let counts = |fake: &FakeDiscord| {
        fake.with(|w| {
            let (mut opens, mut sends, mut throttled) = (0, 0, 0);
            for (m, p, s) in &w.requests {
                let open = m == "POST" && p == "/api/v10/users/@me/channels";
                let send = m == "POST" && p.ends_with("/messages");
                opens += usize::from(open);
                sends += usize::from(send);
                throttled += usize::from((open || send) && *s == 429);
            }
            (opens, sends, throttled)
        })
    };
    let before = counts(&fake);
    let start = Instant::now();
    let topic = author.create_topic(dm_channel, "Letter", "to everyone");
    let needle = format!("<#{topic}>");
    let mut first = None;
    let delivered = |fake: &FakeDiscord| {
        fake.with(|w| {
            readers
                .iter()
                .filter(|u| {
                    w.dm_channel_of(**u)
                        .is_some_and(|c| w.channel_messages(c).iter().any(|m| m.content.contains(&needle)))
                })
                .count()
        })
    };
    loop {
        let n = delivered(&fake);
        if n > 0 && first.is_none() {
            first = Some(start.elapsed());
        }
        if n == DM_MEMBERS {
            break;
        }
        assert!(start.elapsed() < Duration::from_secs(300), "only {n} DMs after 5 minutes");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let total = start.elapsed();
    // Let the last answers land before counting.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after = counts(&fake);
    let (opens, sends, throttled) = (after.0 - before.0, after.1 - before.1, after.2 - before.2);
    println!("## DM mode: {DM_MEMBERS} members, the fake enforcing Discord's global 50 requests a second");
    println!(
        "first DM after {}, all {DM_MEMBERS} after {:.2} s ({:.1} DMs/s); DM channel opens: {opens}, \
         message sends: {sends} ({:.1} limited requests/s); 429s received (opens + sends): {throttled}",
        ms(first.unwrap_or_default()),
        total.as_secs_f64(),
        DM_MEMBERS as f64 / total.as_secs_f64(),
        (opens + sends) as f64 / total.as_secs_f64(),
    );

    bot.shutdown().await;
    pool.close().await;
    let admin_pool = sqlx::PgPool::connect(&format!("{}/postgres", server_url())).await.expect("server");
    let _ = sqlx::query(&format!("drop database if exists guildhall_bench_{} with (force)", std::process::id()))
        .execute(&admin_pool)
        .await;
}
