//! Delivery modes (S5): `/notifications`, the server default, the durable
//! DM queue (429s, 500s, closed DMs, a restart mid-delivery), the daily
//! digest, and thread-message / post-reply notifications (S3).

use crate::sim::{group, Sim};
use fake_discord::world::Message;
use fake_discord::{Actor, Fault};
use std::time::Duration;

fn notify_role(sim: &Sim, group: &str) -> Option<u64> {
    sim.fake.role_named(&format!("{group} notify")).map(|r| r.id)
}

async fn set_mode(a: &Actor, mode: &str) {
    let r = a.slash("notifications", &[("mode", mode)]).await;
    assert!(r.text().starts_with("Done."), "{}", r.text());
}

/// DMs a member got that mention `needle`.
fn dms_about(a: &Actor, needle: &str) -> Vec<Message> {
    a.dms().into_iter().filter(|m| m.content.contains(needle)).collect()
}

/// `n` new members who follow `group` in DM mode (rows written directly:
/// hundreds of /join and /notifications calls would only slow the test).
async fn dm_followers(sim: &Sim, group: &str, n: usize) -> Vec<Actor> {
    let group_id: i64 =
        sqlx::query_scalar("select id from groups where name = $1").bind(group).fetch_one(&sim.pool).await.unwrap();
    let members: Vec<Actor> = (0..n).map(|i| sim.member(&format!("m{i}"))).collect();
    let ids: Vec<i64> = members.iter().map(|m| m.user_id as i64).collect();
    let guild = sim.fake.guild_id as i64;
    sqlx::query("insert into subscriptions (guild_id, user_id, kind, target_id) select $1, u, 'group', $2 from unnest($3::bigint[]) u")
        .bind(guild)
        .bind(group_id)
        .bind(&ids)
        .execute(&sim.pool)
        .await
        .unwrap();
    sqlx::query("insert into notification_prefs (guild_id, user_id, mode, updated_at) select $1, u, 'dm', now() from unnest($2::bigint[]) u")
        .bind(guild)
        .bind(&ids)
        .execute(&sim.pool)
        .await
        .unwrap();
    members
}

/// A topic by bob in the open group Rust with a post of his that dave
/// (mention mode) and erin (DM mode) follow; ada takes part too.
struct FollowedPost {
    sim: Sim,
    ada: Actor,
    bob: Actor,
    erin: Actor,
    topic: u64,
    post: u64,
}

async fn followed_post() -> FollowedPost {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let bob = sim.member("bob");
    let dave = sim.member("dave"); // mention mode, follows the post
    let erin = sim.member("erin"); // DM mode, follows the post
    let (_, channel) = group(&sim, &ada, "Rust", "Open").await;
    for a in [&bob, &dave, &erin, &ada] {
        a.slash("join", &[("group", "Rust")]).await;
        a.slash("subscribe", &[("group", "Rust")]).await;
    }
    set_mode(&erin, "Direct message for each").await;
    let topic = bob.create_topic(channel, "Hello", "first");
    let post = bob.post_message(topic, "a post worth following", None);
    for a in [&dave, &erin] {
        let r = a.message_command("Subscribe to post", post).await;
        assert!(r.text().contains("now following"), "{}", r.text());
    }
    // Dave follows the post in mention mode: replies to it ping him, and only him.
    sim.expect_ping(dave.user_id);
    FollowedPost { sim, ada, bob, erin, topic, post }
}

/// Wait until no DM is waiting in the queue (sent, dropped or failed).
async fn queue_drained(sim: &Sim) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let n = sim.count("select count(*) from deliveries where state = 'pending'").await;
        if n == 0 {
            // And the last answer reached the fake before we look at it.
            sim.clock.settle().await;
            return;
        }
        assert!(tokio::time::Instant::now() < deadline, "{n} DMs still queued after 60 s");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn notifications_shows_and_sets_each_mode_and_the_server_default() {
    let sim = Sim::start_with_notify_roles().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    group(&sim, &ada, "Rust", "Open").await;
    alice.slash("join", &[("group", "Rust")]).await;
    let role = notify_role(&sim, "Rust").unwrap();
    assert!(alice.roles().contains(&role));

    let r = alice.slash("notifications", &[]).await;
    assert!(r.is_ephemeral());
    assert!(r.text().contains("**Mentions in Discord** (this server's default)"), "{}", r.text());

    // Each mode; the notification role is held in mention mode only.
    for (choice, label, holds) in [
        ("Direct message for each", "Direct messages", false),
        ("Daily digest by direct message", "Daily digest", false),
        ("Off", "Off", false),
        ("Mentions in Discord (default)", "Mentions in Discord", true),
    ] {
        let r = alice.slash("notifications", &[("mode", choice)]).await;
        assert!(r.is_ephemeral());
        assert!(r.text().contains(&format!("Done. Your notifications: **{label}**.")), "{}", r.text());
        assert!(!r.text().contains("(this server's default)"), "{}", r.text());
        assert_eq!(alice.roles().contains(&role), holds, "{choice}");
        let mode: String =
            sqlx::query_scalar(&format!("select mode from notification_prefs where user_id = {}", alice.user_id))
                .fetch_one(&sim.pool)
                .await
                .unwrap();
        assert_eq!(guildhall::domain::delivery::Mode::from_key(&mode).unwrap().label(), label);
    }
    assert_eq!(sim.count("select count(*) from audit_log where action = 'notifications.mode'").await, 4);

    // Bad input: Discord's client offers only the choices.
    let refused = alice.try_slash_in(sim.fake.general_channel(), "notifications", &[("mode", "9")]).await.err();
    assert!(refused.as_deref().is_some_and(|e| e.contains("mode: pick one of the choices")), "{refused:?}");

    // The server default: admins only.
    let r = alice.slash("config notification-mode", &[("mode", "Off")]).await;
    assert!(r.text().starts_with("Error:"), "{}", r.text());
    let bob = sim.member("bob");
    bob.slash("join", &[("group", "Rust")]).await;
    assert!(bob.roles().contains(&role));
    let r = ada.slash("config notification-mode", &[("mode", "Direct message for each")]).await;
    assert!(r.text().contains("now get **Direct messages** (was Mentions in Discord)"), "{}", r.text());
    // Bob is on the default: his role goes (in the background).
    sim.fake
        .wait_until("bob's notification role is taken", |w| {
            !w.guilds[&sim.fake.guild_id].members[&bob.user_id].roles.contains(&role)
        })
        .await;
    let r = bob.slash("notifications", &[]).await;
    assert!(r.text().contains("**Direct messages** (this server's default)"), "{}", r.text());
    assert!(alice.roles().contains(&role), "alice chose mention mode herself");
    assert_eq!(sim.count("select count(*) from audit_log where action = 'config.notification-mode'").await, 1);
    let r = ada.slash("config show", &[]).await;
    assert!(r.text().contains("haven't chosen with /notifications get: **Direct messages**"), "{}", r.text());
}

#[tokio::test]
async fn dm_mode_delivers_each_notification_once_through_429s_and_500s_and_stops_for_closed_dms() {
    let sim = Sim::start_with_notify_roles().await;
    let ada = sim.admin("ada");
    let bob = sim.member("bob");
    let (_, channel) = group(&sim, &ada, "Rust", "Open").await;
    let readers: Vec<Actor> = (0..5).map(|i| sim.member(&format!("reader{i}"))).collect();
    let closed = sim.member("closed");
    sim.fake.set_dms_open(closed.user_id, false);
    for m in readers.iter().chain([&closed, &bob]) {
        m.slash("join", &[("group", "Rust")]).await;
        set_mode(m, "Direct message for each").await;
    }
    let role = notify_role(&sim, "Rust").unwrap();
    assert!(readers.iter().all(|r| !r.roles().contains(&role)), "DM mode: no ping role");

    // Discord has a bad moment on message sends.
    sim.fake.inject(Fault::rate_limited("POST", "/messages", 0.2).times(2));
    sim.fake.inject(Fault::server_error("POST", "/messages").skip(1).times(2));
    sim.fake.inject(Fault::server_error_after_processing("POST", "/messages").skip(3));
    let topic = bob.create_topic(channel, "Lifetimes", "How do they work?");
    let needle = format!("<#{topic}>");
    for r in &readers {
        sim.fake.wait_for(20, "every reader has the DM", || !dms_about(r, &needle).is_empty()).await;
    }
    queue_drained(&sim).await;
    for r in &readers {
        assert_eq!(dms_about(r, &needle).len(), 1, "{} got the DM once", r.name);
    }
    assert!(dms_about(&bob, &needle).is_empty(), "the author is not told of their own topic");
    let throttled = sim
        .fake
        .with(|w| w.requests.iter().filter(|(m, p, s)| m == "POST" && p.ends_with("/messages") && *s == 429).count());
    assert_eq!(throttled, 2);
    let failed = sim
        .fake
        .with(|w| w.requests.iter().filter(|(m, p, s)| m == "POST" && p.ends_with("/messages") && *s == 500).count());
    assert_eq!(failed, 3);
    assert!(
        sim.fake.with(|w| w.channel_messages(topic).iter().all(|m| m.author_id != w.bot_user_id)),
        "no ping message"
    );

    // The member with closed DMs is marked, and never tried again.
    assert!(closed.dms().is_empty());
    assert_eq!(
        sim.count(&format!(
            "select count(*) from dm_status where user_id = {} and closed_at is not null",
            closed.user_id
        ))
        .await,
        1
    );
    assert_eq!(
        sim.count(&format!("select count(*) from deliveries where user_id = {} and state = 'dropped'", closed.user_id))
            .await,
        1
    );
    let dm_channel = sim.fake.with(|w| w.dm_channel_of(closed.user_id)).expect("a DM channel was opened");
    let tries = || {
        sim.fake.with(|w| {
            w.requests
                .iter()
                .filter(|(m, p, _)| m == "POST" && p == &format!("/api/v10/channels/{dm_channel}/messages"))
                .count()
        })
    };
    assert_eq!(tries(), 1, "50007 is not retried");
    let r = closed.slash("notifications", &[]).await;
    assert!(r.text().contains("direct messages are closed to me"), "{}", r.text());

    let second = bob.create_topic(channel, "Traits", "dyn or impl?");
    let needle2 = format!("<#{second}>");
    for r in &readers {
        sim.fake.wait_for(20, "the second DM", || !dms_about(r, &needle2).is_empty()).await;
    }
    queue_drained(&sim).await;
    assert_eq!(tries(), 1, "nothing is queued for closed DMs");
    assert_eq!(sim.count(&format!("select count(*) from deliveries where user_id = {}", closed.user_id)).await, 1);
    for r in &readers {
        assert_eq!(r.dms().len(), 2, "{}: one DM per topic, none twice", r.name);
    }

    // Opening DMs and choosing DM again clears the mark.
    sim.fake.set_dms_open(closed.user_id, true);
    let r = closed.slash("notifications", &[("mode", "Direct message for each")]).await;
    assert!(r.text().contains("I'll try again"), "{}", r.text());
    let third = bob.create_topic(channel, "Macros", "how?");
    sim.fake.wait_for(20, "the reopened member hears", || !dms_about(&closed, &format!("<#{third}>")).is_empty()).await;
}

#[tokio::test]
async fn a_restart_while_dming_500_members_loses_none_and_sends_none_twice() {
    let mut sim = Sim::start().await;
    let ada = sim.admin("ada");
    let bob = sim.member("bob");
    let (_, channel) = group(&sim, &ada, "Rust", "Open").await;
    bob.slash("join", &[("group", "Rust")]).await;
    let members = dm_followers(&sim, "Rust", 500).await;
    // The DM queue's share of Discord's global limit (40 a second) makes
    // delivery take a while.
    let topic = bob.create_topic(channel, "Big news", "everyone");
    let needle = format!("<#{topic}>");
    let delivered = |sim: &Sim| {
        sim.fake.with(|w| {
            members
                .iter()
                .filter(|m| {
                    w.dm_channel_of(m.user_id)
                        .is_some_and(|c| w.channel_messages(c).iter().any(|x| x.content.contains(&needle)))
                })
                .count()
        })
    };
    sim.fake.wait_for(30, "a hundred DMs are out", || delivered(&sim) >= 100).await;
    sim.stop_bot().await;
    let at_stop = delivered(&sim);
    assert!(at_stop < 500, "stopped in the middle ({at_stop} sent)");
    sim.start_bot().await;
    sim.fake.wait_for(60, "all 500 DMs", || delivered(&sim) == 500).await;
    queue_drained(&sim).await;
    for m in &members {
        assert_eq!(dms_about(m, &needle).len(), 1, "{} got exactly one DM", m.name);
    }
    assert_eq!(sim.count("select count(*) from deliveries where state = 'sent'").await, 500);
}

/// Discord's global limit (50 requests a second for the bot, every route)
/// is reported only in a global 429, and a DM channel open counts toward it
/// as much as a send: the queue paces both under it and earns no 429.
#[tokio::test]
async fn dm_mode_stays_under_discords_global_limit_counting_dm_channel_opens() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let bob = sim.member("bob");
    let (_, channel) = group(&sim, &ada, "Rust", "Open").await;
    bob.slash("join", &[("group", "Rust")]).await;
    let members = dm_followers(&sim, "Rust", 60).await;
    // The fake enforces Discord's global limit by default; the queue paces
    // itself at its share (40 a second), within the meter's (40, and a
    // burst).
    let topic = bob.create_topic(channel, "Big news", "everyone");
    let needle = format!("<#{topic}>");
    for m in &members {
        sim.fake.wait_for(30, "every member has the DM", || !dms_about(m, &needle).is_empty()).await;
    }
    queue_drained(&sim).await;
    for m in &members {
        assert_eq!(dms_about(m, &needle).len(), 1, "{} got the DM once", m.name);
    }
    let (opens, sends, throttled) = sim.fake.with(|w| {
        let limited = |(m, p, _): &&(String, String, u16)| {
            m == "POST" && (p == "/api/v10/users/@me/channels" || p.ends_with("/messages"))
        };
        (
            w.requests.iter().filter(|(m, p, _)| m == "POST" && p == "/api/v10/users/@me/channels").count(),
            w.requests.iter().filter(|(m, p, s)| m == "POST" && p.ends_with("/messages") && *s == 200).count(),
            w.requests.iter().filter(limited).filter(|(_, _, s)| *s == 429).count(),
        )
    });
    assert_eq!(opens, 60, "one DM channel open per member, each counted by the global limit");
    assert!(sends >= 60, "{sends}");
    assert_eq!(throttled, 0, "paced under the global limit: no 429 (which would count as invalid requests)");
}

#[tokio::test]
async fn the_daily_digest_is_one_dm_per_member_per_day_with_that_days_topics() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let bob = sim.member("bob");
    let (_, rust) = group(&sim, &ada, "Rust", "Open").await;
    let (_, go) = group(&sim, &ada, "Go", "Open").await;
    for g in ["Rust", "Go"] {
        alice.slash("join", &[("group", g)]).await;
        bob.slash("join", &[("group", g)]).await;
    }
    set_mode(&alice, "Daily digest by direct message").await;
    // Start from the beginning of a day, so the test's "day" is the clock's.
    let now = sim.clock.now();
    let midnight = now.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc() + chrono::Duration::days(1);
    sim.clock.advance(midnight - now + chrono::Duration::hours(1)).await;

    let t1 = bob.create_topic(rust, "One", "x");
    let t2 = bob.create_topic(go, "Two", "y");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sim.count("select count(*) from digest_items").await < 2 {
        assert!(tokio::time::Instant::now() < deadline, "the digest items were not recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sim.clock.advance(chrono::Duration::hours(12)).await;
    assert!(alice.dms().is_empty(), "nothing before the day is over");

    sim.clock.advance(chrono::Duration::hours(12)).await;
    sim.fake.wait_for(20, "the digest arrives", || !alice.dms().is_empty()).await;
    let d = alice.dms();
    assert_eq!(d.len(), 1);
    assert!(d[0].content.contains("daily digest") && d[0].content.contains("(2 new)"), "{}", d[0].content);
    assert!(
        d[0].content.contains(&format!("<#{t1}>")) && d[0].content.contains(&format!("<#{t2}>")),
        "{}",
        d[0].content
    );
    assert!(bob.dms().is_empty(), "the author gets no digest of his own topics");

    // A quiet day: no digest. The next day's topic: its own digest.
    sim.clock.advance(chrono::Duration::days(1)).await;
    queue_drained(&sim).await;
    assert_eq!(alice.dms().len(), 1);
    let t3 = bob.create_topic(rust, "Three", "z");
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while sim.count("select count(*) from digest_items").await < 3 {
        assert!(tokio::time::Instant::now() < deadline, "the digest item was not recorded");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    sim.clock.advance(chrono::Duration::days(1)).await;
    sim.fake.wait_for(20, "the second digest", || alice.dms().len() == 2).await;
    let d2 = &alice.dms()[1];
    assert!(d2.content.contains(&format!("<#{t3}>")) && !d2.content.contains(&format!("<#{t1}>")), "{}", d2.content);
    sim.clock.advance(chrono::Duration::days(1)).await;
    queue_drained(&sim).await;
    assert_eq!(alice.dms().len(), 2, "one digest per day, never twice");
}

#[tokio::test]
async fn thread_messages_and_post_replies_notify_followers_but_never_the_author() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let bob = sim.member("bob");
    let alice = sim.member("alice"); // mention mode, follows the thread
    let carol = sim.member("carol"); // DM mode, follows the thread
    let dave = sim.member("dave"); // mention mode, follows the post
    let erin = sim.member("erin"); // DM mode, follows the post
    let (_, channel) = group(&sim, &ada, "Rust", "Open").await;
    for a in [&bob, &alice, &carol, &dave, &erin, &ada] {
        a.slash("join", &[("group", "Rust")]).await;
        // Joining follows the group; stop that: this test is about threads and posts.
        a.slash("subscribe", &[("group", "Rust")]).await;
    }
    let topic = bob.create_topic(channel, "Hello", "first");
    set_mode(&carol, "Direct message for each").await;
    set_mode(&erin, "Direct message for each").await;
    for a in [&alice, &carol] {
        let r = a.slash_in(topic, "subscribe", &[]).await;
        assert!(r.text().contains("now following this thread"), "{}", r.text());
    }
    let members = |t: u64| sim.fake.with(|w| w.thread_members.get(&t).cloned().unwrap_or_default());
    assert!(members(topic).contains(&alice.user_id), "mention mode: a thread member, notified by Discord itself");
    assert!(!members(topic).contains(&carol.user_id), "DM mode: not a thread member (no double notification)");

    let post = bob.post_message(topic, "a post worth following", None);
    for a in [&dave, &erin] {
        let r = a.message_command("Subscribe to post", post).await;
        assert!(r.text().contains("now following"), "{}", r.text());
    }
    // That post was a thread message: carol heard of it by DM.
    sim.fake
        .wait_for(20, "carol hears of the thread message", || !dms_about(&carol, &post.to_string()).is_empty())
        .await;
    let bot = sim.fake.bot_user_id();
    let bot_messages = |c: u64| {
        sim.fake.with(|w| w.channel_messages(c).iter().filter(|m| m.author_id == bot).cloned().collect::<Vec<_>>())
    };

    // Carol's own message: not told. Alice's message: carol is told.
    let own = carol.post_message(topic, "me again", None);
    let other = alice.post_message(topic, "hi carol", None);
    sim.fake.wait_for(20, "carol hears of alice's message", || !dms_about(&carol, &other.to_string()).is_empty()).await;
    assert!(dms_about(&carol, &own.to_string()).is_empty(), "not told of her own message");

    // A reply to the followed post: one reply pinging dave only; erin by DM; the thread's DM follower too.
    let reply = ada.post_message(topic, "I agree", Some(post));
    sim.fake.wait_for(20, "the reply ping", || bot_messages(topic).iter().any(|m| m.reply_to == Some(reply))).await;
    let ping: Vec<Message> = bot_messages(topic).into_iter().filter(|m| m.reply_to == Some(reply)).collect();
    assert_eq!(ping.len(), 1);
    let users = ping[0].allowed_mentions["users"].as_array().cloned().unwrap_or_default();
    assert_eq!(users, vec![serde_json::json!(dave.user_id.to_string())], "{}", ping[0].allowed_mentions);
    sim.expect_ping(dave.user_id);
    assert!(ping[0].allowed_mentions["roles"].as_array().is_none_or(|r| r.is_empty()));
    sim.fake.wait_for(20, "erin hears of the reply", || !dms_about(&erin, &reply.to_string()).is_empty()).await;
    sim.fake
        .wait_for(20, "carol hears of it as a thread message", || !dms_about(&carol, &reply.to_string()).is_empty())
        .await;

    // Dave replies to the post himself: nobody pings him about it.
    let his = dave.post_message(topic, "me too", Some(post));
    sim.fake.wait_for(20, "erin hears of dave's reply", || !dms_about(&erin, &his.to_string()).is_empty()).await;
    assert!(
        bot_messages(topic).iter().all(|m| m.reply_to != Some(his)),
        "no ping for the only mention-mode follower's own reply"
    );
    // A replayed MESSAGE_CREATE notifies nobody twice.
    assert!(sim.fake.replay_event("MESSAGE_CREATE"));
    sim.idle().await;
    queue_drained(&sim).await;
    assert_eq!(dms_about(&erin, &his.to_string()).len(), 1);
    assert_eq!(dms_about(&erin, &reply.to_string()).len(), 1);
    assert_eq!(dms_about(&carol, &reply.to_string()).len(), 1, "follows the thread only: one DM");

    // Unfollowing the thread takes alice out of it.
    alice.slash_in(topic, "subscribe", &[]).await;
    assert!(!members(topic).contains(&alice.user_id));
}

#[tokio::test]
async fn a_member_removed_from_a_closed_group_hears_nothing_more_of_its_channel() {
    let sim = Sim::start_with_notify_roles().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let lea = sim.member("lea");
    let dan = sim.member("dan");
    let (_, channel) = group(&sim, &ada, "Secret", "Closed").await;
    let r = ada.slash("group leader add", &[("group", "Secret"), ("user", &dan.user_id.to_string())]).await;
    assert!(r.text().contains("now leads"), "{}", r.text());
    for m in [&alice, &lea] {
        let r = ada.slash("group leader add", &[("group", "Secret"), ("user", &m.user_id.to_string())]).await;
        assert!(r.text().contains("now leads"), "{}", r.text());
        set_mode(m, "Direct message for each").await;
    }
    // Alice also follows the group's channel itself.
    let r = alice.slash_in(channel, "subscribe", &[]).await;
    assert!(r.text().contains("now following this channel"), "{}", r.text());
    let first = lea.create_topic(channel, "Before", "x");
    sim.fake.wait_for(20, "alice hears while a member", || !dms_about(&alice, &format!("<#{first}>")).is_empty()).await;

    let r = lea
        .slash("group remove", &[("group", "Secret"), ("user", &alice.user_id.to_string()), ("reason", "spam")])
        .await;
    assert!(!r.text().contains("Error"), "{}", r.text());
    assert!(!alice.can_view(channel));
    let later = dan.create_topic(channel, "After", "y");
    // The control: lea, who can still see it, is told; then nothing is queued.
    sim.fake.wait_for(20, "lea is told", || !dms_about(&lea, &format!("<#{later}>")).is_empty()).await;
    sim.idle().await;
    queue_drained(&sim).await;
    assert!(dms_about(&alice, &format!("<#{later}>")).is_empty(), "can't see it any more: not told");
    // Dan, the mention-mode follower, hears through the notification role.
    sim.expect_ping(notify_role(&sim, "Secret").expect("a notification role"));
}

#[tokio::test]
async fn a_followed_channel_outside_any_group_announces_its_new_topics() {
    let sim = Sim::start().await;
    let alice = sim.member("alice");
    let carol = sim.member("carol");
    let bob = sim.member("bob");
    let general = sim.fake.general_channel();
    for a in [&alice, &carol, &bob] {
        a.slash_in(general, "subscribe", &[]).await;
    }
    set_mode(&carol, "Direct message for each").await;
    let topic = bob.create_topic(general, "Hello", "first");
    let bot = sim.fake.bot_user_id();
    sim.fake
        .wait_until("the topic is announced", |w| w.channel_messages(topic).iter().any(|m| m.author_id == bot))
        .await;
    let a: Vec<Message> =
        sim.fake.with(|w| w.channel_messages(topic).iter().filter(|m| m.author_id == bot).cloned().collect());
    assert_eq!(a.len(), 1);
    assert_eq!(
        a[0].allowed_mentions["users"],
        serde_json::json!([alice.user_id.to_string()]),
        "only alice is pinged: bob wrote it, carol is on DMs"
    );
    sim.expect_ping(alice.user_id);
    sim.fake.wait_for(20, "carol's DM", || !dms_about(&carol, &format!("<#{topic}>")).is_empty()).await;
}

#[tokio::test]
async fn ninety_channel_followers_are_all_pinged_and_a_refused_ping_costs_nobody_their_dm() {
    let mut sim = Sim::start().await;
    let bob = sim.member("bob");
    let carol = sim.member("carol");
    let general = sim.fake.general_channel();
    let followers: Vec<Actor> = (0..90).map(|i| sim.member(&format!("follower{i}"))).collect();
    // Mention mode (the default), following the channel only: pinged by name.
    for a in &followers {
        sqlx::query("insert into subscriptions (guild_id, user_id, kind, target_id) values ($1, $2, 'forum', $3)")
            .bind(sim.fake.guild_id as i64)
            .bind(a.user_id as i64)
            .bind(general as i64)
            .execute(&sim.pool)
            .await
            .unwrap();
    }
    let r = carol.slash_in(general, "subscribe", &[]).await;
    assert!(r.text().contains("now following this channel"), "{}", r.text());
    set_mode(&carol, "Direct message for each").await;

    let topic = bob.create_topic(general, "Hello", "first");
    let bot = sim.fake.bot_user_id();
    let pinged = |t: u64| {
        sim.fake.with(|w| {
            w.channel_messages(t)
                .iter()
                .filter(|m| m.author_id == bot)
                .flat_map(|m| m.allowed_mentions["users"].as_array().cloned().unwrap_or_default())
                .filter_map(|u| u.as_str().and_then(|s| s.parse::<u64>().ok()))
                .collect::<Vec<u64>>()
        })
    };
    sim.fake.wait_for(20, "all 90 are pinged", || pinged(topic).len() >= 90).await;
    for a in &followers {
        sim.expect_ping(a.user_id);
    }
    let messages: Vec<Message> =
        sim.fake.with(|w| w.channel_messages(topic).iter().filter(|m| m.author_id == bot).cloned().collect());
    assert!(messages.len() >= 2, "90 mentions don't fit in 2,000 characters");
    for m in &messages {
        assert!(m.content.chars().count() <= 2000, "{} characters", m.content.chars().count());
        let users = m.allowed_mentions["users"].as_array().map(|u| u.len()).unwrap_or(0);
        assert!(users <= 100);
        assert!(m.allowed_mentions["roles"].as_array().is_none_or(|r| r.is_empty()), "no role to ping");
    }
    let mut all = pinged(topic);
    all.sort();
    let mut want: Vec<u64> = followers.iter().map(|a| a.user_id).collect();
    want.sort();
    assert_eq!(all, want, "every follower once; neither bob (the author) nor carol (DMs)");
    for a in &followers {
        assert!(messages.iter().any(|m| m.content.contains(&format!("<@{}>", a.user_id))));
    }
    sim.fake.wait_for(20, "carol's DM", || !dms_about(&carol, &format!("<#{topic}>")).is_empty()).await;

    // The bot may no longer post in the channel's threads: the ping post is
    // refused (403), yet carol still gets her DM, and nothing retries it.
    sim.fake.mutate(|w| {
        w.channels.get_mut(&general).unwrap().overwrites.push(fake_discord::world::Overwrite {
            id: bot,
            kind: 1,
            allow: 0,
            deny: fake_discord::world::perms::SEND_MESSAGES_IN_THREADS,
        })
    });
    let refused = bob.create_topic(general, "Again", "second");
    sim.fake
        .wait_for(20, "carol's DM despite the refusal", || !dms_about(&carol, &format!("<#{refused}>")).is_empty())
        .await;
    let failed = "select count(*) from audit_log where action = 'notify.post_failed'";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while sim.count(failed).await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the refusal is audited");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(pinged(refused).is_empty());
    let attempts = sim.fake.with(|w| {
        w.requests
            .iter()
            .filter(|(m, p, _)| m == "POST" && p.contains(&format!("/channels/{refused}/messages")))
            .count()
    });
    assert_eq!(attempts, 1, "a 403 is not retried");
    // A restart's catch-up doesn't try again either.
    sim.restart().await;
    sim.idle().await;
    let after = sim.fake.with(|w| {
        w.requests
            .iter()
            .filter(|(m, p, _)| m == "POST" && p.contains(&format!("/channels/{refused}/messages")))
            .count()
    });
    assert_eq!(after, 1, "not retried at start-up");
    assert_eq!(sim.count(failed).await, 1);
    queue_drained(&sim).await;
    assert_eq!(dms_about(&carol, &format!("<#{refused}>")).len(), 1);
}

#[tokio::test]
async fn a_refused_reply_ping_still_dms_the_posts_other_followers() {
    let FollowedPost { sim, ada, erin, topic, post, .. } = followed_post().await;
    // Discord refuses the ping (e.g. the replied-to message was deleted).
    sim.fake.inject(fake_discord::Fault::status(
        "POST",
        &format!("/channels/{topic}/messages"),
        400,
        50035,
        "Invalid Form Body",
    ));
    let reply = ada.post_message(topic, "I agree", Some(post));
    sim.fake.wait_for(20, "erin hears of the reply", || !dms_about(&erin, &reply.to_string()).is_empty()).await;
    let bot = sim.fake.bot_user_id();
    let posted: Vec<Message> =
        sim.fake.with(|w| w.channel_messages(topic).iter().filter(|m| m.reply_to == Some(reply)).cloned().collect());
    assert!(posted.is_empty(), "the ping was refused: {posted:?}");
    let failed = "select count(*) from audit_log where action = 'notify.post_failed'";
    let deadline = tokio::time::Instant::now() + Duration::from_secs(20);
    while sim.count(failed).await == 0 {
        assert!(tokio::time::Instant::now() < deadline, "the refusal is audited");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // The next reply pings dave as usual.
    let again = ada.post_message(topic, "really", Some(post));
    sim.fake
        .wait_for(20, "dave is pinged", || {
            sim.fake.with(|w| w.channel_messages(topic).iter().any(|m| m.author_id == bot && m.reply_to == Some(again)))
        })
        .await;
}

#[tokio::test]
async fn pin_notices_and_forwards_of_a_followed_post_are_not_replies() {
    let FollowedPost { sim, ada, bob, erin, topic, post, .. } = followed_post().await;
    let bot = sim.fake.bot_user_id();
    let bot_replies_to = |m: u64| {
        sim.fake.with(|w| w.channel_messages(topic).iter().any(|x| x.author_id == bot && x.reply_to == Some(m)))
    };

    let pin = sim.fake.owner().pin_message(topic, post);
    let general = sim.fake.general_channel();
    let forward = bob.forward_message(general, topic, post);
    let forward_here = bob.forward_message(topic, topic, post);
    // As Discord sends them: a pin notice (type 6) and forwards (reference type FORWARD).
    sim.fake.with(|w| {
        let p = fake_discord::payload::message(w, w.find_message(pin).unwrap());
        assert_eq!(
            (p["type"].as_u64(), p["message_reference"]["message_id"].as_str()),
            (Some(6), Some(&*post.to_string()))
        );
        let f = fake_discord::payload::message(w, w.find_message(forward).unwrap());
        assert_eq!(f["type"], 0);
        assert_eq!(f["message_reference"]["type"], 1);
        assert_eq!(f["message_reference"]["channel_id"], topic.to_string());
        assert_eq!(f["message_snapshots"][0]["message"]["content"], "a post worth following");
    });
    // A real reply afterwards is notified; the pin and the forwards never.
    let reply = ada.post_message(topic, "I agree", Some(post));
    sim.fake.wait_for(20, "erin hears of the reply", || !dms_about(&erin, &reply.to_string()).is_empty()).await;
    sim.fake.wait_for(20, "dave is pinged for the reply", || bot_replies_to(reply)).await;
    sim.idle().await;
    queue_drained(&sim).await;
    for m in [pin, forward, forward_here] {
        assert!(!bot_replies_to(m), "no ping for {m}");
        assert!(dms_about(&erin, &m.to_string()).is_empty(), "no DM for {m}");
    }
    assert_eq!(sim.count("select count(*) from deliveries").await, 1, "only the reply was queued");
}

#[tokio::test]
async fn a_pin_notice_in_a_followed_thread_is_not_a_new_message() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let (bob, frank) = (sim.member("bob"), sim.member("frank"));
    let (_, channel) = group(&sim, &ada, "Rust", "Open").await;
    for a in [&bob, &frank] {
        a.slash("join", &[("group", "Rust")]).await;
    }
    set_mode(&frank, "Direct message for each").await;
    let topic = bob.create_topic(channel, "Hello", "first");
    let r = frank.slash_in(topic, "subscribe", &[]).await;
    assert!(r.text().contains("now following this thread"), "{}", r.text());
    let post = bob.post_message(topic, "worth pinning", None);
    sim.fake.wait_for(20, "frank hears of the message", || !dms_about(&frank, &post.to_string()).is_empty()).await;
    let pin = sim.fake.owner().pin_message(topic, post);
    sim.idle().await;
    queue_drained(&sim).await;
    assert!(dms_about(&frank, &pin.to_string()).is_empty(), "a pin notice is Discord's, not a new message");
    assert_eq!(dms_about(&frank, &post.to_string()).len(), 1);
}

#[tokio::test]
async fn a_crash_after_discord_posted_a_dm_but_before_it_was_recorded_sends_it_once() {
    let mut sim = Sim::start().await;
    let ada = sim.admin("ada");
    let (bob, reader) = (sim.member("bob"), sim.member("reader"));
    let (_, channel) = group(&sim, &ada, "Rust", "Open").await;
    for a in [&bob, &reader] {
        a.slash("join", &[("group", "Rust")]).await;
    }
    set_mode(&reader, "Direct message for each").await;
    // Discord posts the DM at once but its answer is slow: the bot dies
    // waiting for it, so the job is claimed, sent and never recorded.
    sim.fake.inject(fake_discord::Fault::slow_answer("POST", "/messages", Duration::from_secs(3)));
    let topic = bob.create_topic(channel, "Crash course", "hold on");
    let needle = format!("<#{topic}>");
    sim.fake.wait_for(20, "the DM reached Discord", || !dms_about(&reader, &needle).is_empty()).await;
    sim.crash_bot().await;
    assert_eq!(sim.count("select count(*) from deliveries where state = 'sent'").await, 0, "never recorded");
    // A new process takes the job over once the dead one's claim lapses,
    // and sends it again with the same nonce: Discord returns the first DM.
    sim.start_bot().await;
    sim.clock.advance(chrono::Duration::minutes(2)).await;
    queue_drained(&sim).await;
    assert_eq!(sim.count("select count(*) from deliveries where state = 'sent'").await, 1);
    assert_eq!(dms_about(&reader, &needle).len(), 1, "one DM, not two");
}
