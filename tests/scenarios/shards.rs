//! Shards and processes (O3): several bot processes on one database, each
//! running a range of the shards (SHARD_COUNT, SHARD_RANGE), against a fake
//! Discord that routes each server's events to its shard as Discord does;
//! and the bot's retries behind a shared rate-limit proxy that answers 429.

use crate::sim::Sim;
use fake_discord::world::shard_of;
use fake_discord::{Actor, FakeDiscord, Reply};

const SHARDS: u32 = 4;

/// The reply was delivered to exactly one session, on `shard`, which
/// `process` runs, and answered exactly once.
async fn answered_by(sim: &Sim, r: &Reply, shard: u64, process: usize) {
    assert_eq!(
        sim.fake.interaction_receivers(r.interaction_id),
        vec![[shard, SHARDS as u64]],
        "the interaction reached one session: shard {shard}'s"
    );
    assert!(sim.process(process).shard_ids().await.contains(&(shard as u32)), "process {process} runs shard {shard}");
    let callbacks = sim.fake.with(|w| w.interactions[&r.interaction_id].callbacks.len());
    assert_eq!(callbacks, 1, "answered once");
}

async fn create(admin: &Actor, name: &str, visibility: &str) -> Reply {
    let r = admin.slash("group create", &[("name", name), ("bucket", "Interest"), ("visibility", visibility)]).await;
    assert!(r.text().contains("Created"), "{}", r.text());
    r
}

fn expired_notes(inviter: &Actor) -> usize {
    inviter
        .dms()
        .iter()
        .filter(|m| m.interaction_id.is_none() && m.content.contains("expired without an answer"))
        .count()
}

#[tokio::test]
async fn two_processes_on_two_shards_each_answer_their_servers_and_a_killed_ones_shards_start_elsewhere() {
    let mut sim = Sim::start_without_bot().await;
    // Four servers, one on each of the four shards (the seeded one and three more).
    let count = SHARDS as u64;
    let seeded = sim.fake.guild_id;
    let mut guilds = vec![seeded];
    for shard in (0..count).filter(|s| *s != shard_of(seeded, count)) {
        guilds.push(sim.fake.add_guild_on_shard(&format!("Server {shard}"), shard, count));
    }
    guilds.sort_by_key(|g| shard_of(*g, count));
    let fake = sim.fake.clone();
    let server = |shard: usize| -> FakeDiscord { fake.in_guild(guilds[shard]) };
    // Each shard its own IDENTIFY bucket (`shard_id % max_concurrency`):
    // with one bucket, serenity's 5 s between a process's boots is not
    // always 5 s between the IDENTIFYs Discord receives, and on the Invalid
    // Session that answers one, serenity 0.12.5 was seen to end with two
    // sessions for the shard. This test is about where shards run, not
    // about the pace of starting them.
    sim.fake.set_gateway(|g| g.max_concurrency = count);
    let a = sim.start_process(0..2, SHARDS).await;
    let b = sim.start_process(2..4, SHARDS).await;
    assert_eq!(sim.process(a).shard_ids().await, [0, 1]);
    assert_eq!(sim.process(b).shard_ids().await, [2, 3]);
    // Each session's READY listed only its shard's server.
    for s in sim.fake.sessions() {
        assert_eq!(s.guilds, vec![guilds[s.shard[0] as usize]], "{s:?}");
    }
    assert_eq!(sim.fake.sessions().len(), 4);
    // The full reconcile pass after READY ran once per server: on the
    // process holding it (the other never heard of it).
    sim.wait_count(
        "a pass per server",
        "select count(distinct guild_id) from reconcile_runs where finished_at is not null",
        4,
    )
    .await;
    assert_eq!(sim.count("select count(*) from reconcile_runs").await, 4);

    // In every server an admin makes a group and a member joins from its
    // page; each interaction is answered once, by the process holding it.
    let mut pages = Vec::new();
    for (shard, holder) in [(0, a), (1, a), (2, b), (3, b)] {
        let g = server(shard);
        let (ada, alice) = (g.admin(&format!("ada{shard}")), g.member(&format!("alice{shard}")));
        let r = create(&ada, &format!("Team {shard}"), "Open").await;
        answered_by(&sim, &r, shard as u64, holder).await;
        let page = alice.slash("group info", &[("group", &format!("Team {shard}"))]).await;
        answered_by(&sim, &page, shard as u64, holder).await;
        let r = page.click("Join group").await;
        assert!(r.text().contains(&format!("You joined **Team {shard}**")), "{}", r.text());
        answered_by(&sim, &r, shard as u64, holder).await;
        assert!(alice.has_role_named(&format!("Team {shard}")));
        // carl looks at the page too, and will press Join after the kill.
        let carl = g.member(&format!("carl{shard}"));
        let later = carl.slash("group info", &[("group", &format!("Team {shard}"))]).await;
        pages.push((alice, carl, later));
    }
    assert_eq!(sim.count("select count(*) from memberships").await, 4);

    // Background work once: an invitation in a server of each process
    // expires with both processes' background loops running.
    let mut inviters = Vec::new();
    for shard in [0, 2] {
        let g = server(shard);
        let (ada, bob) = (g.admin(&format!("ada{shard}")), g.member(&format!("bob{shard}")));
        create(&ada, &format!("Club {shard}"), "Closed").await;
        let r = ada.slash("invite", &[("user", &bob.user_id.to_string()), ("group", &format!("Club {shard}"))]).await;
        assert!(!r.text().contains("Error"), "{}", r.text());
        inviters.push(ada);
    }
    sim.clock.advance(chrono::Duration::days(31)).await;
    sim.wait_count("both invitations expired", "select count(*) from invitations where status = 'expired'", 2).await;
    sim.clock.advance(chrono::Duration::days(1)).await;
    for ada in &inviters {
        assert_eq!(expired_notes(ada), 1, "{} is told once, by one process", ada.name);
    }
    assert_eq!(sim.audited("invite.expire").await, 2);

    // Process b is killed; its shards start in a new process c.
    sim.crash_process(b).await;
    let c = sim.start_process(2..4, SHARDS).await;
    assert_eq!(sim.process(c).shard_ids().await, [2, 3]);
    // c's sessions reconciled the servers of shards 2 and 3, and nothing else.
    sim.wait_count("c's passes", "select count(*) from reconcile_runs where finished_at is not null", 6).await;
    for (shard, runs) in [(0, 1), (1, 1), (2, 2), (3, 2)] {
        let n = sim.count(&format!("select count(*) from reconcile_runs where guild_id = {}", guilds[shard])).await;
        assert_eq!(n, runs, "server on shard {shard}");
    }
    // Nothing was lost: every membership stands, and the pages posted
    // before the kill still work, answered by the process holding them now.
    assert_eq!(sim.count("select count(*) from memberships where away_since is null").await, 4);
    for (shard, (alice, carl, page)) in pages.iter().enumerate() {
        assert!(alice.has_role_named(&format!("Team {shard}")), "{} kept the role", alice.name);
        let r = page.click("Join group").await;
        assert!(r.text().contains(&format!("You joined **Team {shard}**")), "{}", r.text());
        answered_by(&sim, &r, shard as u64, if shard < 2 { a } else { c }).await;
        assert!(carl.has_role_named(&format!("Team {shard}")));
    }
    assert_eq!(sim.count("select count(*) from memberships where away_since is null").await, 8);
    assert!(sim.fake.refused_identifies().is_empty(), "every IDENTIFY fit: {:?}", sim.fake.refused_identifies());
}

/// A stand-in for a shared rate-limit proxy (twilight-http-proxy,
/// nirn-proxy) in front of the fake: it forwards every request, except
/// that the first `POST .../roles` starts a rate limit of `hold`, during
/// which that route is answered 429 with `retry_after`, as Discord words it.
struct StandIn {
    url: String,
    /// Each `POST .../roles` it saw: when, and what it answered.
    hits: std::sync::Arc<std::sync::Mutex<Vec<(std::time::Instant, u16)>>>,
}

impl StandIn {
    async fn start(upstream: String, hold: std::time::Duration) -> StandIn {
        use axum::response::IntoResponse;
        let hits: std::sync::Arc<std::sync::Mutex<Vec<(std::time::Instant, u16)>>> = Default::default();
        let seen = hits.clone();
        let client = reqwest::Client::builder().no_proxy().build().unwrap();
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let (seen, client, upstream) = (seen.clone(), client.clone(), upstream.clone());
            async move {
                let (parts, body) = req.into_parts();
                let path = parts.uri.path_and_query().map(|p| p.to_string()).unwrap_or_default();
                let limited_route = parts.method == axum::http::Method::POST && parts.uri.path().ends_with("/roles");
                if limited_route {
                    let now = std::time::Instant::now();
                    let mut seen = seen.lock().unwrap();
                    let started = seen.first().map(|(t, _)| *t).unwrap_or(now);
                    let left = hold.saturating_sub(now - started);
                    if seen.is_empty() || !left.is_zero() {
                        seen.push((now, 429));
                        let body = serde_json::json!({
                            "message": "You are being rate limited.", "retry_after": left.as_secs_f64(), "global": false,
                        });
                        let headers = [
                            ("retry-after", left.as_secs_f64().ceil().to_string()),
                            ("x-ratelimit-scope", "user".to_string()),
                        ];
                        return (axum::http::StatusCode::TOO_MANY_REQUESTS, headers, axum::Json(body)).into_response();
                    }
                    seen.push((now, 200));
                }
                let body = axum::body::to_bytes(body, usize::MAX).await.unwrap();
                let mut out = client.request(parts.method.clone(), format!("{upstream}{path}")).body(body);
                for (k, v) in parts.headers.iter().filter(|(k, _)| *k != "host" && *k != "content-length") {
                    out = out.header(k, v);
                }
                let answer = out.send().await.unwrap();
                let mut back = axum::response::Response::builder().status(answer.status().as_u16());
                for (k, v) in answer.headers().iter().filter(|(k, _)| *k != "content-length" && *k != "transfer-encoding") {
                    back = back.header(k, v);
                }
                back.body(axum::body::Body::from(answer.bytes().await.unwrap())).unwrap()
            }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        StandIn { url, hits }
    }

    fn hits(&self) -> Vec<(std::time::Instant, u16)> {
        self.hits.lock().unwrap().clone()
    }
}

#[tokio::test]
async fn behind_a_shared_rate_limit_proxy_the_bot_waits_out_its_429_for_the_retry_after() {
    let mut sim = Sim::start_without_bot().await;
    // Longer than the bot's 5xx backoff (250 + 500 + 1000 ms), which gave up before.
    let hold = std::time::Duration::from_millis(2500);
    let proxy = StandIn::start(sim.fake.base_url(), hold).await;
    sim.start_bot_as(|c| c.api_base_url = Some(proxy.url.clone())).await;
    let ada = sim.admin("ada");
    create(&ada, "Rust", "Open").await;
    assert!(sim.fake.role_named("Rust").is_some(), "the group's role was made after the wait");
    let hits = proxy.hits();
    let statuses: Vec<u16> = hits.iter().map(|(_, s)| *s).collect();
    assert_eq!(statuses, [429, 200], "one 429, then the retry: nothing sent while the proxy said to wait");
    assert!(hits[1].0 - hits[0].0 >= hold, "the retry came after retry_after: {:?}", hits[1].0 - hits[0].0);
}
