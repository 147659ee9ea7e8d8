//! Load (N4, N1, S5): many people at once on one group; nothing doubled,
//! nothing lost, everyone answered once.

use crate::sim::{ask, card, group, make_leader, Sim};
use fake_discord::scenario::{components_of, message_text};
use fake_discord::world::{channel_type, shard_of, Message};
use fake_discord::{Actor, Reply};

/// How many members join at once (the figure).
const JOINERS: usize = 1_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_members_joining_one_group_at_once_get_one_membership_and_one_grant_each() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let (role, _) = group(&sim, &ada, "Rust", "Open").await;
    let members: Vec<Actor> = (0..JOINERS).map(|n| sim.member(&format!("joiner{n}"))).collect();
    // All at once, without waiting in between; then wait (within Discord's
    // 15 minutes for a deferred answer) until every one is answered.
    let sent: Vec<u64> = members.iter().map(|m| m.slash_nowait("join", &[("group", "Rust")])).collect();
    let ids = sent.clone();
    sim.fake
        .wait_until_for(600, "every join answered", move |w| ids.iter().all(|i| w.interactions[i].content_at.is_some()))
        .await;
    let (late, texts, mut waits) = sim.fake.with(|w| {
        let mut late = 0;
        let mut texts = Vec::new();
        let mut waits = Vec::new();
        for i in &sent {
            let it = &w.interactions[i];
            let first = it.answered_at.expect("answered").duration_since(it.sent_at);
            late += (first > std::time::Duration::from_secs(3)) as usize;
            assert_eq!(it.callbacks.len(), 1, "answered once");
            waits.push(it.content_at.unwrap().duration_since(it.sent_at));
            let m = it.original.and_then(|o| w.find_message(o)).expect("the answer");
            texts.push(fake_discord::scenario::message_text(m));
        }
        (late, texts, waits)
    });
    assert_eq!(late, 0, "every first callback within Discord's 3 seconds");
    for t in &texts {
        assert!(t.contains("You joined"), "every member is told they joined: {t}");
    }
    waits.sort();
    eprintln!(
        "{JOINERS} joins at once: answer after p50 {:?}, p99 {:?}, max {:?} (debug build; a figure, not a goal)",
        waits[JOINERS / 2],
        waits[JOINERS * 99 / 100],
        waits[JOINERS - 1]
    );
    let memberships = sim.count("select count(*) from memberships").await;
    assert_eq!(memberships, JOINERS as i64, "one membership each");
    let grants = sim.fake.with(|w| w.count_requests("PUT", &format!("/roles/{role}")));
    assert_eq!(grants, JOINERS, "one grant of the group role each");
    let holders = sim.fake.with(|w| {
        let g = &w.guilds[&sim.fake.guild_id];
        members.iter().filter(|m| g.members[&m.user_id].roles.contains(&role)).count()
    });
    assert_eq!(holders, JOINERS, "every joiner holds the role");
    // Every interaction answered once and in time: the fake records a late
    // or a second response as a violation (checked when `sim` drops), and
    // Discord refused nothing.
    let refused = sim.fake.with(|w| w.requests.iter().filter(|(_, _, s)| *s >= 400).count());
    assert_eq!(refused, 0, "no request refused (no 429 earned)");
    assert!(sim.fake.violations().is_empty(), "{:?}", sim.fake.violations());
    assert_eq!(sim.differences().await, Vec::<String>::new(), "Postgres and the guild agree");
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
    let sim = Sim::start().await;
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
