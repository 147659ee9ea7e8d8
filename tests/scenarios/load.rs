//! Load (N4, N1): many people at once on one group; nothing doubled,
//! nothing lost, everyone answered once.

use crate::sim::{ask, card, group, make_leader, Sim};
use fake_discord::world::channel_type;
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

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_hundred_requests_at_once_then_many_approvals_of_one_card_make_one_decision() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let (role, _) = group(&sim, &ada, "Rust", "Closed").await;
    let leaders: Vec<Actor> = (0..5).map(|n| sim.member(&format!("leader{n}"))).collect();
    for l in &leaders {
        make_leader(&ada, "Rust", l).await;
    }
    let parent = sim.requests_channel(&ada).await;
    let askers: Vec<Actor> = (0..200).map(|n| sim.member(&format!("asker{n}"))).collect();
    let mut set = tokio::task::JoinSet::new();
    for m in askers.clone() {
        set.spawn(async move { ask(&m, "Rust", None).await });
    }
    let replies: Vec<Reply> = set.join_all().await;
    assert!(replies.iter().all(|r| r.text().contains("was sent")), "every request is sent");
    assert_eq!(sim.count("select count(*) from join_requests where status = 'pending'").await, 200);
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
