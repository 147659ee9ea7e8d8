//! Load (N4, N1, S5): many people at once on one group; nothing doubled,
//! nothing lost, everyone answered once.

use crate::sim::{ask, card, group, make_leader, Sim};
use fake_discord::scenario::{components_of, message_text};
use fake_discord::world::{channel_type, shard_of, Message};
use fake_discord::{Actor, Latency, RateLimits, Reply};

/// How many members join at once (the figure).
const JOINERS: usize = 1_000;

/// Discord's pace, scaled in time for CI (the shape matters, not the
/// seconds; the benchmark runs at Discord's true scale): every REST call
/// takes 20-40 ms, and member-role changes share 10 per 500 ms per server.
fn discords_pace(sim: &Sim) -> (u32, std::time::Duration) {
    let scale = 0.05;
    sim.fake.set_latency(Latency::discord().scaled(0.25));
    sim.fake.set_rate_limits(RateLimits::discord().scaled(scale));
    (10, std::time::Duration::from_secs(10).mul_f64(scale))
}

/// The member-role calls the bot made (grants and revokes of any role).
fn member_role_calls(w: &fake_discord::world::World) -> usize {
    w.requests
        .iter()
        .filter(|(m, p, s)| {
            (m == "PUT" || m == "DELETE") && p.contains("/members/") && p.contains("/roles/") && *s < 300
        })
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_members_joining_at_discords_pace_hear_their_outcome_in_time_and_get_one_grant_each() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let (role, _) = group(&sim, &ada, "Rust", "Open").await;
    group(&sim, &ada, "Go", "Open").await;
    let members: Vec<Actor> = (0..JOINERS).map(|n| sim.member(&format!("joiner{n}"))).collect();
    let (per_window, window) = discords_pace(&sim);
    let calls_before = sim.fake.with(member_role_calls);
    // All at once, without waiting in between; meanwhile an unrelated
    // member looks at another group once a second.
    let began = std::time::Instant::now();
    let sent: Vec<u64> = members.iter().map(|m| m.slash_nowait("join", &[("group", "Rust")])).collect();
    let ids = sent.clone();
    let probe = sim.member("prober");
    let mut probes = Vec::new();
    let fake = sim.fake.clone();
    let everyone_told = move || fake.with(|w| ids.iter().all(|i| w.interactions[i].content_at.is_some()));
    while probes.len() < 5 || !everyone_told() {
        probes.push(probe.slash_nowait("group info", &[("group", "Go")]));
        tokio::time::sleep(std::time::Duration::from_secs(1)).await;
        assert!(began.elapsed() < std::time::Duration::from_secs(120), "every join is answered within 2 minutes");
    }
    // Every role lands (the queue drains), then every answer says so.
    let (guild, ms) = (sim.fake.guild_id, members.iter().map(|m| m.user_id).collect::<Vec<_>>());
    sim.fake
        .wait_until_for(600, "every joiner holds the role", move |w| {
            ms.iter().all(|u| w.guilds[&guild].members[u].roles.contains(&role))
        })
        .await;
    let drained = began.elapsed();
    sim.wait_count("the queue is empty", "select count(*) from role_syncs where done_at is null", 0).await;
    let ids = sent.clone();
    sim.fake
        .wait_until_for(120, "every answer says the member joined", move |w| {
            ids.iter().all(|i| {
                let it = &w.interactions[i];
                it.original.and_then(|o| w.find_message(o)).is_some_and(|m| message_text(m).contains("You joined"))
            })
        })
        .await;
    let (late_first, late_outcome, mut outcomes) = sim.fake.with(|w| {
        let (mut late_first, mut late_outcome, mut outcomes) = (0, 0, Vec::new());
        for i in &sent {
            let it = &w.interactions[i];
            assert_eq!(it.callbacks.len(), 1, "answered once");
            late_first += usize::from(it.answered_at.expect("answered").duration_since(it.sent_at).as_secs_f64() > 3.0);
            let told = it.content_at.expect("told").duration_since(it.sent_at);
            late_outcome += usize::from(told.as_secs_f64() > 3.0);
            outcomes.push(told);
        }
        (late_first, late_outcome, outcomes)
    });
    assert_eq!(late_first, 0, "every first callback within Discord's 3 seconds");
    assert_eq!(late_outcome, 0, "every member hears the decision within 3 seconds of pressing");
    let late_probes = sim.fake.with(|w| {
        probes
            .iter()
            .filter(|i| {
                let it = &w.interactions[*i];
                it.answered_at.is_none_or(|a| a.duration_since(it.sent_at).as_secs_f64() > 3.0)
            })
            .count()
    });
    assert_eq!(late_probes, 0, "an unrelated /group info is answered within 3 seconds throughout");
    let memberships = sim.count("select count(*) from memberships").await;
    assert_eq!(memberships, JOINERS as i64, "one membership each");
    let grants = sim.fake.with(|w| w.count_requests("PUT", &format!("/roles/{role}")));
    assert_eq!(grants, JOINERS, "one grant of the group role each");
    // The bucket is used at 90% of what it allows until the queue is empty.
    let calls = sim.fake.with(member_role_calls) - calls_before;
    let allowed = (drained.as_secs_f64() / window.as_secs_f64()).ceil() * f64::from(per_window);
    outcomes.sort();
    eprintln!(
        "{JOINERS} joins at Discord's pace (scaled): outcome told after p50 {:?}, p99 {:?}; \
         {calls} member-role calls ({:.2} a join) in {drained:?}, {:.0}% of the bucket's allowance",
        outcomes[JOINERS / 2],
        outcomes[JOINERS * 99 / 100],
        calls as f64 / JOINERS as f64,
        100.0 * calls as f64 / allowed
    );
    assert!(calls as f64 >= 0.9 * allowed, "the member-role bucket used at >= 90%: {calls} of {allowed}");
    let refused = sim.fake.with(|w| w.requests.iter().filter(|(_, _, s)| *s == 429).count());
    assert_eq!(refused, 0, "no 429 earned");
    assert!(sim.fake.violations().is_empty(), "{:?}", sim.fake.violations());
    sim.assert_consistent().await;
}

/// The same burst with the bot killed in the middle and started again: no
/// decision lost, no grant doubled, everyone whose press was taken told.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_crash_in_the_middle_of_a_burst_of_joins_loses_nothing_and_doubles_nothing() {
    const N: usize = 200;
    let mut sim = Sim::start().await;
    let ada = sim.admin("ada");
    let (role, _) = group(&sim, &ada, "Rust", "Open").await;
    let members: Vec<Actor> = (0..N).map(|n| sim.member(&format!("joiner{n}"))).collect();
    discords_pace(&sim);
    let sent: Vec<u64> = members.iter().map(|m| m.slash_nowait("join", &[("group", "Rust")])).collect();
    // A third of the roles handed out, then the process dies at once.
    let (guild, ms) = (sim.fake.guild_id, members.iter().map(|m| m.user_id).collect::<Vec<_>>());
    let holders = move |w: &fake_discord::world::World| {
        ms.iter().filter(|u| w.guilds[&guild].members[*u].roles.contains(&role)).count()
    };
    let h = holders.clone();
    sim.fake.wait_until_for(120, "a third of the roles land", move |w| h(w) >= N / 3).await;
    sim.crash_bot().await;
    let taken: Vec<u64> =
        sim.fake.with(|w| sent.iter().copied().filter(|i| w.interactions[i].answered_at.is_some()).collect());
    let decided = sim.count("select count(*) from memberships").await as usize;
    assert!(decided >= N / 3 && decided <= taken.len(), "{decided} decided of {} taken", taken.len());
    sim.start_bot().await;
    // Claims of the dead process lapse with their lease, answers it owed
    // are given by the sweep: time moves on, the background pass runs (and
    // retries what a loaded machine let time out meanwhile).
    sim.clock.advance(chrono::Duration::minutes(5) + chrono::Duration::seconds(1)).await;
    for _ in 0..20 {
        if sim.count("select count(*) from role_syncs where done_at is null").await == 0 {
            break;
        }
        sim.idle().await;
        sim.clock.advance(chrono::Duration::seconds(30)).await;
    }
    sim.wait_count("the queue is empty", "select count(*) from role_syncs where done_at is null", 0).await;
    let (h, want) = (holders.clone(), decided);
    sim.fake.wait_until_for(120, "every decided join has its role", move |w| h(w) == want).await;
    let ids = taken.clone();
    sim.fake
        .wait_until_for(120, "everyone whose press was taken is told the outcome", move |w| {
            ids.iter().all(|i| {
                w.interactions[i].original.and_then(|o| w.find_message(o)).is_some_and(|m| {
                    let t = message_text(m);
                    t.contains("You joined") || t.contains("You're in **Rust**")
                })
            })
        })
        .await;
    let grants = sim.fake.with(|w| w.count_requests("PUT", &format!("/roles/{role}")));
    assert!(grants >= decided, "every decided join granted: {grants} of {decided}");
    // A grant repeated after the crash is Discord's idempotent PUT: the
    // member holds the role once, and no membership is doubled.
    assert_eq!(sim.count("select count(*) from memberships").await as usize, decided, "nothing doubled");
    assert_eq!(sim.audited("membership.join").await as usize, decided, "one decision each");
    sim.assert_consistent().await;
}

/// A closed group Rust with five leaders (and a requests channel, when
/// asked), then 200 requests to it at once, each sent; returns the admin,
/// the group's role, the leaders and the requests channel.
async fn two_hundred_requests(sim: &Sim, requests_channel: bool) -> (Actor, u64, Vec<Actor>, Option<u64>) {
    let ada = sim.admin("ada");
    let (role, _) = group(sim, &ada, "Rust", "Closed").await;
    let leaders: Vec<Actor> = (0..5).map(|n| sim.member(&format!("leader{n}"))).collect();
    for l in &leaders {
        make_leader(&ada, "Rust", l).await;
    }
    let parent = if requests_channel { Some(sim.requests_channel(&ada).await) } else { None };
    let askers: Vec<Actor> = (0..200).map(|n| sim.member(&format!("asker{n}"))).collect();
    let mut set = tokio::task::JoinSet::new();
    for m in askers {
        set.spawn(async move { ask(&m, "Rust", None).await });
    }
    let replies: Vec<Reply> = set.join_all().await;
    assert!(replies.iter().all(|r| r.text().contains("was sent")), "every request is sent");
    assert_eq!(sim.count("select count(*) from join_requests where status = 'pending'").await, 200);
    (ada, role, leaders, parent)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_requests_at_once_then_many_approvals_of_one_card_make_one_decision() {
    let sim = Sim::start().await;
    let (ada, role, leaders, parent) = two_hundred_requests(&sim, true).await;
    let parent = parent.expect("a requests channel");
    let threads: Vec<u64> = sim.fake.with(|w| {
        w.channels
            .values()
            .filter(|c| c.parent_id == Some(parent) && c.kind == channel_type::PRIVATE_THREAD)
            .map(|c| c.id)
            .collect()
    });
    assert_eq!(threads.len(), 1, "one review thread");
    // Fifty presses of Approve on the newest card, by five leaders and the
    // admin, at the same moment.
    let c = card(&sim, threads[0]);
    let approve = crate::sim::button(&c, "Approve");
    let pressers: Vec<Actor> = leaders.iter().cloned().chain(std::iter::once(ada.clone())).collect();
    let mut set = tokio::task::JoinSet::new();
    for n in 0..50 {
        let who = pressers[n % pressers.len()].clone();
        let (msg, id) = (c.id, approve.clone());
        set.spawn(async move { who.click(msg, &id).await });
    }
    let presses: Vec<Reply> = set.join_all().await;
    let decided = presses.iter().filter(|r| r.text().contains("is now a member")).count();
    assert_eq!(decided, 1, "one decision");
    assert_eq!(sim.count("select count(*) from join_requests where status = 'approved'").await, 1);
    assert_eq!(sim.count("select count(*) from memberships m join groups g on g.id = m.group_id where g.name = 'Rust' and m.user_id not in (select user_id from group_leaders)").await, 1);
    let grants = sim.fake.with(|w| w.count_requests("PUT", &format!("/roles/{role}")));
    assert_eq!(grants, leaders.len() + 1, "one grant for the approved member (and one per leader made)");
    assert!(sim.fake.violations().is_empty(), "{:?}", sim.fake.violations());
}

/// The same, across two bot processes on the shard split (N4, O3): the
/// server on one process's shard, DMs on the other's (Discord routes DMs to
/// shard 0). With no requests channel each leader gets the card by DM, so
/// their presses reach the DM process; the admin and the leaders also send
/// the card's Approve (the same custom id; ids are looked up, not trusted)
/// from the server, which reaches the other process. Fifty presses at once,
/// half through each process: one decision, one grant.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_requests_then_fifty_approvals_through_two_processes_make_one_decision() {
    let mut sim = Sim::start_without_bot().await;
    // A shard count that puts the server on a shard other than 0.
    let count = (2..16).find(|n| shard_of(sim.fake.guild_id, *n) != 0).expect("a shard count") as u32;
    let shard = shard_of(sim.fake.guild_id, count as u64) as u32;
    let dms = sim.start_process(0..1, count).await;
    let server = sim.start_process(shard..shard + 1, count).await;
    let (ada, role, leaders, _) = two_hundred_requests(&sim, false).await;
    // Each leader got every card by DM; the newest request's card.
    let newest = sim.count("select max(id) from join_requests").await;
    let cards: Vec<(Actor, Message)> = leaders
        .iter()
        .map(|l| {
            let c = l
                .dms()
                .into_iter()
                .filter(|m| components_of(m).iter().any(|b| b.label == "Approve"))
                .find(|m| message_text(m).contains(&format!("#{newest}")))
                .expect("the leader has the newest card by DM");
            (l.clone(), c)
        })
        .collect();
    let approve = crate::sim::button(&cards[0].1, "Approve");
    let at_server = ada.slash("groups", &[]).await.message().id;
    let pressers: Vec<Actor> = leaders.iter().cloned().chain(std::iter::once(ada.clone())).collect();
    let mut set = tokio::task::JoinSet::new();
    for n in 0..50 {
        let approve = approve.clone();
        if n % 2 == 0 {
            // From a leader's DM card: the DM process.
            let (who, c) = cards[n / 2 % cards.len()].clone();
            set.spawn(async move { who.click(c.id, &approve).await });
        } else {
            // From the server: the server's process.
            let who = pressers[n / 2 % pressers.len()].clone();
            set.spawn(async move { who.click(at_server, &approve).await });
        }
    }
    let presses: Vec<Reply> = set.join_all().await;
    let receivers: std::collections::BTreeSet<u64> =
        presses.iter().flat_map(|r| sim.fake.interaction_receivers(r.interaction_id)).map(|s| s[0]).collect();
    assert_eq!(receivers, [0, shard as u64].into(), "the presses reached both processes' shards");
    assert!(sim.process(dms).shard_ids().await == [0] && sim.process(server).shard_ids().await == [shard]);
    let decided = presses.iter().filter(|r| r.text().contains("is now a member")).count();
    assert_eq!(decided, 1, "one decision: {:?}", presses.iter().map(|r| r.text()).collect::<Vec<_>>());
    assert_eq!(sim.count("select count(*) from join_requests where status = 'approved'").await, 1);
    let grants = sim.fake.with(|w| w.count_requests("PUT", &format!("/roles/{role}")));
    assert_eq!(grants, leaders.len() + 1, "one grant for the approved member (and one per leader made)");
    for r in &presses {
        let callbacks = sim.fake.with(|w| w.interactions[&r.interaction_id].callbacks.len());
        assert_eq!(callbacks, 1, "every press answered once");
    }
    assert!(sim.fake.violations().is_empty(), "{:?}", sim.fake.violations());
    sim.assert_consistent().await;
}

/// Followers of `group_id` written directly (ten thousand /join calls would
/// only slow the test down; the join path has its own load test above).
async fn follow(sim: &Sim, group_id: i64, users: &[u64], mode: &str) {
    let ids: Vec<i64> = users.iter().map(|u| *u as i64).collect();
    let guild = sim.fake.guild_id as i64;
    sqlx::query("insert into subscriptions (guild_id, user_id, kind, target_id) select $1, u, 'group', $2 from unnest($3::bigint[]) u")
        .bind(guild)
        .bind(group_id)
        .bind(&ids)
        .execute(&sim.pool)
        .await
        .unwrap();
    sqlx::query("insert into notification_prefs (guild_id, user_id, mode, updated_at) select $1, u, $2, now() from unnest($3::bigint[]) u")
        .bind(guild)
        .bind(mode)
        .bind(&ids)
        .execute(&sim.pool)
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_topic_for_ten_thousand_followers_five_percent_by_dm_is_one_announcement_and_500_dms() {
    let sim = Sim::start_with_notify_roles().await;
    let ada = sim.admin("ada");
    let bob = sim.member("bob");
    let (_, channel) = group(&sim, &ada, "Rust", "Open").await;
    bob.slash("join", &[("group", "Rust")]).await; // makes the notification role
    let group_id: i64 =
        sqlx::query_scalar("select id from groups where name = 'Rust'").fetch_one(&sim.pool).await.unwrap();
    let followers: Vec<u64> = (0..10_000).map(|n| sim.member(&format!("f{n}")).user_id).collect();
    let (by_dm, by_mention) = followers.split_at(500);
    follow(&sim, group_id, by_mention, "mention").await;
    follow(&sim, group_id, by_dm, "dm").await;
    let notify = sim.fake.role_named("Rust notify").expect("the notification role").id;
    sim.expect_ping(notify);

    let topic = bob.create_topic(channel, "Big news", "everyone");
    let needle = format!("<#{topic}>");
    let bot = sim.fake.bot_user_id();
    let dm_count = |w: &fake_discord::world::World| {
        by_dm
            .iter()
            .map(|u| {
                w.dm_channel_of(*u)
                    .map_or(0, |c| w.channel_messages(c).iter().filter(|m| m.content.contains(&needle)).count())
            })
            .collect::<Vec<usize>>()
    };
    sim.fake.wait_until_for(120, "all 500 DMs", |w| dm_count(w).iter().all(|n| *n >= 1)).await;
    // Done when the queue is: nothing pending or in flight.
    let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(60);
    while sim.count("select count(*) from deliveries where state = 'pending'").await > 0 {
        assert!(tokio::time::Instant::now() < deadline, "the DM queue drains");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    sim.clock.settle().await;
    let announcements = sim.fake.with(|w| w.channel_messages(topic).iter().filter(|m| m.author_id == bot).count());
    assert_eq!(announcements, 1, "one announcement in the topic");
    assert!(sim.fake.with(|w| dm_count(w).iter().all(|n| *n == 1)), "each DM follower got exactly one DM");
    assert_eq!(sim.count("select count(*) from deliveries where state = 'sent'").await, 500);
    let mention_dms = sim.fake.with(|w| by_mention.iter().filter(|u| w.dm_channel_of(**u).is_some()).count());
    assert_eq!(mention_dms, 0, "mention-mode followers get no DM");
}

/// The discord.js project's own rate-limit proxy (`@discordjs/proxy`, from
/// npm, installed by `scripts/test` into `tests/proxy`), run with Node on
/// loopback in front of the fake Discord.
struct DiscordJsProxy {
    url: String,
    child: tokio::process::Child,
}

impl DiscordJsProxy {
    async fn start(upstream: &str, mode: &str) -> DiscordJsProxy {
        use tokio::io::AsyncBufReadExt;
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/proxy");
        assert!(
            dir.join("node_modules/@discordjs/proxy").is_dir(),
            "@discordjs/proxy is not installed in tests/proxy: run scripts/test (it installs it with npm where Node is present)"
        );
        let mut child = tokio::process::Command::new("node")
            .arg("serve.mjs")
            .current_dir(&dir)
            .env("UPSTREAM", upstream)
            .env("MODE", mode)
            .stdout(std::process::Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("node runs (Node.js is needed for this scenario)");
        let mut lines = tokio::io::BufReader::new(child.stdout.take().expect("stdout")).lines();
        let line = tokio::time::timeout(std::time::Duration::from_secs(30), lines.next_line())
            .await
            .expect("the proxy starts within 30 s")
            .expect("its output")
            .expect("a line");
        let port = line.strip_prefix("listening ").expect("listening PORT").trim().to_string();
        DiscordJsProxy { url: format!("http://127.0.0.1:{port}"), child }
    }
}

/// A sample of the bot's /metrics: the sum of a counter's series whose
/// labels include every one of `labels`.
async fn metric(sim: &Sim, name: &str, labels: &[&str]) -> f64 {
    let body = reqwest::get(sim.ops_url("/metrics")).await.expect("/metrics").text().await.expect("text");
    body.lines()
        .filter(|l| l.starts_with(name) && labels.iter().all(|x| l.contains(x)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

/// Joins at Discord's pace with the bot behind `@discordjs/proxy` in
/// `mode`: every join told in time, none lost, one grant each, no refusal
/// retried, and the proxy's own 429s not counted as Discord's.
async fn joins_behind_discordjs_proxy(mode: &str) {
    const N: usize = 60;
    let mut sim = Sim::start_without_bot().await;
    // The fake's client is the proxy: a 429 it earns is the proxy's pacing
    // (counted and reported below), not the bot's.
    sim.fake.judge_client_pacing(false);
    let proxy = DiscordJsProxy::start(&sim.fake.base_url(), mode).await;
    sim.start_bot_as(|c| {
        c.api_base_url = Some(proxy.url.clone());
        c.metrics_addr = Some(std::net::SocketAddr::from(([127, 0, 0, 1], 0)));
    })
    .await;
    let ada = sim.admin("ada");
    let (role, _) = group(&sim, &ada, "Rust", "Open").await;
    let members: Vec<Actor> = (0..N).map(|n| sim.member(&format!("joiner{n}"))).collect();
    discords_pace(&sim);
    let sent: Vec<u64> = members.iter().map(|m| m.slash_nowait("join", &[("group", "Rust")])).collect();
    let ids = sent.clone();
    sim.fake
        .wait_until_for(60, "every join is told", move |w| ids.iter().all(|i| w.interactions[i].content_at.is_some()))
        .await;
    let late = sim.fake.with(|w| {
        sent.iter()
            .filter(|i| {
                let it = &w.interactions[*i];
                it.content_at.expect("told").duration_since(it.sent_at) > std::time::Duration::from_secs(3)
            })
            .count()
    });
    assert_eq!(late, 0, "{mode}: every member hears the decision within 3 seconds");
    // What the proxy turned away is tried again by the background pass.
    let (guild, ms) = (sim.fake.guild_id, members.iter().map(|m| m.user_id).collect::<Vec<_>>());
    let held =
        move |w: &fake_discord::world::World| ms.iter().all(|u| w.guilds[&guild].members[u].roles.contains(&role));
    for _ in 0..40 {
        if sim.fake.with(&held) && sim.count("select count(*) from role_syncs where done_at is null").await == 0 {
            break;
        }
        sim.idle().await;
        sim.clock.advance(chrono::Duration::seconds(30)).await;
    }
    assert!(sim.fake.with(&held), "{mode}: no join lost");
    assert_eq!(sim.count("select count(*) from memberships").await as usize, N, "{mode}: one membership each");
    let grants = sim.fake.with(|w| w.count_requests("PUT", &format!("/roles/{role}")));
    assert_eq!(grants, N, "{mode}: one grant each reached Discord");
    let refused = sim.fake.with(|w| w.requests.iter().filter(|(_, _, s)| matches!(s, 403 | 404)).count());
    assert_eq!(refused, 0, "{mode}: nothing refused, so nothing refused was retried");
    // The metrics registry is the test process's, shared with scenarios
    // that inject 429s, so the invalid-request count is not this run's
    // alone: what is this run's is that the proxy's own 429s are counted
    // under scope "proxy" (only this scenario has one), which the unit test
    // `telemetry::shared_429s_are_not_held_against_the_bot` shows is never
    // an invalid request.
    if mode == "429" {
        let by_proxy = metric(&sim, "guildhall_discord_ratelimited_total", &["scope=\"proxy\""]).await;
        assert!(by_proxy > 0.0, "the proxy answered 429s of its own, counted as the proxy's");
    }
    eprintln!("@discordjs/proxy ({mode}) earned {} 429s from Discord's limits for the bot", sim.fake.earned_429s());
    sim.assert_consistent().await;
    drop(proxy.child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn behind_discordjs_proxy_holding_requests_no_join_is_lost_and_each_is_told_in_time() {
    joins_behind_discordjs_proxy("queue").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn behind_discordjs_proxy_answering_429_no_join_is_lost_and_its_429s_are_not_discords() {
    joins_behind_discordjs_proxy("429").await;
}
