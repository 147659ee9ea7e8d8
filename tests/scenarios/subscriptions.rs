//! Subscriptions and notifications (S1-S4, S5's mention mode, S6).

use crate::sim::{group, make_leader, Sim};
use fake_discord::world::Message;
use fake_discord::Actor;

async fn subs(sim: &Sim, user: u64, kind: &str) -> i64 {
    sim.count(&format!("select count(*) from subscriptions where user_id = {user} and kind = '{kind}'")).await
}

async fn total(sim: &Sim, user: u64) -> i64 {
    sim.count(&format!("select count(*) from subscriptions where user_id = {user}")).await
}

fn notify_role(sim: &Sim, group: &str) -> Option<u64> {
    sim.fake.role_named(&format!("{group} notify")).map(|r| r.id)
}

/// The bot's messages in a thread.
fn bot_messages(sim: &Sim, channel: u64) -> Vec<Message> {
    let bot = sim.fake.bot_user_id();
    sim.fake.with(|w| w.channel_messages(channel).iter().filter(|m| m.author_id == bot).cloned().collect())
}

/// Wait for the announcement of a topic and return it.
async fn announcement(sim: &Sim, thread: u64) -> Message {
    let bot = sim.fake.bot_user_id();
    sim.fake
        .wait_until("the topic is announced", |w| w.channel_messages(thread).iter().any(|m| m.author_id == bot))
        .await;
    bot_messages(sim, thread).remove(0)
}

/// The one role an announcement pings: named in its content and the only
/// mention its allowed mentions let through.
fn pinged_role(m: &Message) -> u64 {
    let roles = m.allowed_mentions["roles"].as_array().cloned().unwrap_or_default();
    assert_eq!(roles.len(), 1, "exactly one role may be pinged: {}", m.allowed_mentions);
    assert!(m.allowed_mentions["parse"].as_array().is_none_or(|p| p.is_empty()), "{}", m.allowed_mentions);
    assert!(m.allowed_mentions["users"].as_array().is_none_or(|u| u.is_empty()), "{}", m.allowed_mentions);
    let role: u64 = roles[0].as_str().unwrap().parse().unwrap();
    assert!(m.content.contains(&format!("<@&{role}>")), "{}", m.content);
    role
}

fn holds(a: &Actor, role: u64) -> bool {
    a.roles().contains(&role)
}

#[tokio::test]
async fn a_new_topic_pings_the_groups_subscribers_once_and_not_after_they_leave() {
    let sim = Sim::start_with_notify_roles().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let bob = sim.member("bob");
    let carol = sim.member("carol");
    let (_, channel) = group(&sim, &ada, "Rust", "Open").await;
    for m in [&alice, &bob, &carol] {
        m.slash("join", &[("group", "Rust")]).await;
    }
    let role = notify_role(&sim, "Rust").expect("a notification role for a group with subscribers");
    assert!(holds(&alice, role) && holds(&carol, role));
    let r = sim.fake.with(|w| w.role(sim.fake.guild_id, role).cloned()).unwrap();
    assert_eq!(r.permissions, 0, "the notification role grants nothing");

    let topic = bob.create_topic(channel, "Lifetimes", "How do they work?");
    let a = announcement(&sim, topic).await;
    assert_eq!(pinged_role(&a), role);
    sim.expect_ping(role);
    assert!(a.content.contains("New topic in **Rust**"), "{}", a.content);
    assert!(alice.can_view(topic), "the ping lands where the member can see");

    // Replayed after a RESUME: still announced once.
    let resumes = sim.fake.resume_count();
    sim.fake.drop_gateway();
    sim.fake.wait_for_resume(resumes).await;
    sim.fake.wait_for_bot().await;
    assert!(sim.fake.replay_event("THREAD_CREATE"));
    sim.idle().await;
    assert_eq!(bot_messages(&sim, topic).len(), 1, "announced exactly once");

    // Alice leaves: the notification role goes with the group subscription.
    alice.slash("leave", &[("group", "Rust")]).await;
    assert!(!holds(&alice, role));
    let topic = bob.create_topic(channel, "Traits", "Dyn or impl?");
    let a = announcement(&sim, topic).await;
    assert_eq!(pinged_role(&a), role);
    sim.expect_ping(role);
    assert!(!holds(&alice, role), "alice is not pinged any more");
    assert!(holds(&carol, role));
    // One message per topic, whatever the number of subscribers.
    assert_eq!(bot_messages(&sim, topic).len(), 1);

    // Renaming the group renames its notification role: the same role, the new name.
    let r = ada.slash("group edit", &[("group", "Rust"), ("name", "Rustaceans")]).await;
    assert!(!r.text().contains("Error"), "{}", r.text());
    assert_eq!(notify_role(&sim, "Rustaceans"), Some(role));
    assert_eq!(notify_role(&sim, "Rust"), None);
}

#[tokio::test]
async fn the_author_alone_is_not_told_of_their_own_topic() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let bob = sim.member("bob");
    let (_, channel) = group(&sim, &ada, "Rust", "Open").await;
    bob.slash("join", &[("group", "Rust")]).await;
    let topic = bob.create_topic(channel, "Mine", "only me here");
    // The control: the topic is claimed (as every topic is), then the bot is idle.
    let claimed = format!("select count(*) from announced_topics where thread_id = {topic}");
    sim.wait_count("the topic is claimed", &claimed, 1).await;
    sim.idle().await;
    assert!(bot_messages(&sim, topic).is_empty(), "nobody else follows the group: no announcement");
}

#[tokio::test]
async fn a_member_removed_from_a_closed_group_is_not_notified() {
    let sim = Sim::start_with_notify_roles().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let lea = sim.member("lea");
    let dan = sim.member("dan");
    let (_, channel) = group(&sim, &ada, "Secret", "Closed").await;
    for m in [&alice, &lea, &dan] {
        let r = ada.slash("group leader add", &[("group", "Secret"), ("user", &m.user_id.to_string())]).await;
        assert!(r.text().contains("now leads"), "{}", r.text());
    }
    let role = notify_role(&sim, "Secret").unwrap();
    assert!(holds(&alice, role));
    let r = lea
        .slash("group remove", &[("group", "Secret"), ("user", &alice.user_id.to_string()), ("reason", "spam")])
        .await;
    assert!(!r.text().contains("Error"), "{}", r.text());
    assert!(!holds(&alice, role), "removal takes the notification role too");

    let topic = dan.create_topic(channel, "Plans", "secret plans");
    let a = announcement(&sim, topic).await;
    assert_eq!(pinged_role(&a), role);
    sim.expect_ping(role);
    assert!(!holds(&alice, role) && !alice.can_view(topic));
    assert!(holds(&lea, role));

    // Non-members can't follow a closed group, by command or on its page.
    let r = alice.slash("subscribe", &[("group", "Secret")]).await;
    assert!(r.text().contains("only its members can follow it"), "{}", r.text());
    let page = alice.slash("group info", &[("group", "Secret")]).await;
    // The page offers the toggle to everyone; pressing it is refused server-side.
    assert!(page.has_button("Subscribe"), "{}", page.text());
    let r = page.click("Subscribe").await;
    assert!(r.text().contains("only its members can follow it"), "{}", r.text());
    assert_eq!(subs(&sim, alice.user_id, "group").await, 0);
}

/// An open group Rust that alice and bob joined (following it in mention
/// mode); returns its channel, its notification role and bob.
async fn two_followers(sim: &Sim) -> (u64, u64, fake_discord::Actor) {
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let bob = sim.member("bob");
    let (_, channel) = group(sim, &ada, "Rust", "Open").await;
    alice.slash("join", &[("group", "Rust")]).await;
    bob.slash("join", &[("group", "Rust")]).await;
    (channel, notify_role(sim, "Rust").unwrap(), bob)
}

#[tokio::test]
async fn a_topic_started_while_the_bot_was_down_is_announced_once_after_start_up() {
    let mut sim = Sim::start_with_notify_roles().await;
    let (channel, role, bob) = two_followers(&sim).await;

    sim.stop_bot().await;
    let topic = bob.create_topic(channel, "Missed", "while you were out");
    sim.start_bot().await;
    let a = announcement(&sim, topic).await;
    assert_eq!(pinged_role(&a), role);
    sim.expect_ping(role);

    sim.restart().await;
    sim.idle().await;
    assert_eq!(bot_messages(&sim, topic).len(), 1, "not announced again after another restart");
}

/// gateway-events.md, Reconnect (op 7) and Invalid Session (op 9, `d:
/// true`): the bot resumes its session rather than identifying anew, and
/// what happened meanwhile reaches it, as gateway.md ("Resuming") says:
/// "the Gateway will send the missed events in order". A topic started
/// right after each (before the bot could resume: the fake keeps it for the
/// RESUME) is announced, once.
#[tokio::test]
async fn a_topic_started_after_op_7_or_a_resumable_op_9_is_announced_after_the_resume() {
    let sim = Sim::start_with_notify_roles().await;
    let (channel, role, bob) = two_followers(&sim).await;
    let identifies = sim.fake.identify_count();
    for (title, tell) in [("Lifetimes", 7), ("Traits", 9)] {
        let resumes = sim.fake.resume_count();
        if tell == 7 {
            sim.fake.reconnect_gateway();
        } else {
            sim.fake.invalidate_session_resumable();
        }
        let topic = bob.create_topic(channel, title, "in the gap");
        sim.fake.wait_for_resume(resumes).await;
        let a = announcement(&sim, topic).await;
        assert_eq!(pinged_role(&a), role);
        sim.expect_ping(role);
        assert_eq!(bot_messages(&sim, topic).len(), 1, "op {tell}: announced once");
    }
    assert_eq!(sim.fake.identify_count(), identifies, "resumed, never re-identified");
}

#[tokio::test]
async fn toggles_for_groups_channels_threads_and_posts() {
    let sim = Sim::start_with_notify_roles().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let (_, channel) = group(&sim, &ada, "Rust", "Open").await;

    // A group, by name: the notification role follows the subscription.
    let r = alice.slash("subscribe", &[("group", "Rust")]).await;
    assert!(r.is_ephemeral());
    assert!(r.text().contains("You're now subscribed to **Rust**"), "{}", r.text());
    let role = notify_role(&sim, "Rust").unwrap();
    assert!(holds(&alice, role));
    let r = alice.slash("subscribe", &[("group", "Rust")]).await;
    assert!(r.text().contains("no longer subscribed to **Rust**"), "{}", r.text());
    assert!(!holds(&alice, role));

    // The Group Page button keeps the role in step too.
    let page = alice.slash("group info", &[("group", "Rust")]).await;
    let page = page.click("Subscribe").await;
    assert!(page.text().contains("now subscribed"), "{}", page.text());
    assert!(holds(&alice, role));
    let page = page.click("Unsubscribe").await;
    assert!(page.text().contains("no longer subscribed"), "{}", page.text());
    assert!(!holds(&alice, role));
    assert_eq!(subs(&sim, alice.user_id, "group").await, 0);

    // A channel: where the command is used.
    let general = sim.fake.general_channel();
    let r = alice.slash_in(general, "subscribe", &[]).await;
    assert!(r.text().contains("now following this channel"), "{}", r.text());
    assert_eq!(subs(&sim, alice.user_id, "forum").await, 1);

    // A thread: a topic in the group's forum.
    let bob = sim.member("bob");
    bob.slash("join", &[("group", "Rust")]).await;
    let topic = bob.create_topic(channel, "Hello", "first");
    let r = alice.slash_in(topic, "subscribe", &[]).await;
    assert!(r.text().contains("now following this thread"), "{}", r.text());
    assert_eq!(subs(&sim, alice.user_id, "thread").await, 1);
    let r = alice.slash_in(topic, "subscribe", &[]).await;
    assert!(r.text().contains("no longer following this thread"), "{}", r.text());
    assert_eq!(subs(&sim, alice.user_id, "thread").await, 0);

    // A post: the message context menu.
    let post = bob.post_message(topic, "a post worth following", None);
    let r = alice.message_command("Subscribe to post", post).await;
    assert!(r.is_ephemeral());
    assert!(r.text().contains("now following [this post]"), "{}", r.text());
    assert_eq!(
        sim.count(&format!(
            "select count(*) from subscriptions where user_id = {} and kind = 'post' and target_id = {post}",
            alice.user_id
        ))
        .await,
        1
    );
    let r = alice.message_command("Subscribe to post", post).await;
    assert!(r.text().contains("no longer following"), "{}", r.text());
    assert_eq!(subs(&sim, alice.user_id, "post").await, 0);
}

#[tokio::test]
async fn my_subscriptions_pages_deletes_selected_and_unsubscribes_from_all() {
    let sim = Sim::start_with_notify_roles().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let bob = sim.member("bob");
    group(&sim, &ada, "Rust", "Open").await;
    alice.slash("join", &[("group", "Rust")]).await;
    let role = notify_role(&sim, "Rust").unwrap();
    let guild = sim.fake.guild_id as i64;
    for (user, n) in [(alice.user_id, 59), (bob.user_id, 3)] {
        sqlx::query(
            "insert into subscriptions (guild_id, user_id, kind, target_id)
             select $1, $2, 'thread', 1000 + g from generate_series(1, $3) g",
        )
        .bind(guild)
        .bind(user as i64)
        .bind(n)
        .execute(&sim.pool)
        .await
        .unwrap();
    }
    assert_eq!(total(&sim, alice.user_id).await, 60);

    let list = alice.slash("subscriptions", &[]).await;
    assert!(list.is_ephemeral());
    assert!(list.text().contains("Page 1 of 3") && list.text().contains("60 followed"), "{}", list.text());
    assert!(list.text().contains("**Rust**"), "groups come first: {}", list.text());
    let (mid, select) = list.components().into_iter().find(|(_, c)| c.kind == 3).expect("a select");
    assert_eq!(select.options.len(), 25, "a page fills Discord's select");

    let next = list.click("Next").await;
    assert!(next.text().contains("Page 2 of 3"), "{}", next.text());
    let (_, select) = next.components().into_iter().find(|(_, c)| c.kind == 3).unwrap();
    let chosen: Vec<&str> = select.options.iter().take(3).map(|(_, v)| v.as_str()).collect();
    let done = alice.select(mid, &select.custom_id, &chosen).await;
    assert!(done.text().contains("Deleted 3 subscriptions"), "{}", done.text());
    assert!(done.text().contains("57 followed"), "{}", done.text());
    assert_eq!(total(&sim, alice.user_id).await, 57);

    // Someone else's row ids are ignored.
    let bobs: Vec<String> =
        sqlx::query_scalar::<_, i64>(&format!("select id from subscriptions where user_id = {}", bob.user_id))
            .fetch_all(&sim.pool)
            .await
            .unwrap()
            .into_iter()
            .map(|i| i.to_string())
            .collect();
    let forged = alice.select(mid, &select.custom_id, &[bobs[0].as_str()]).await;
    assert!(forged.text().contains("Deleted 0 subscriptions"), "{}", forged.text());
    assert_eq!(sim.count(&format!("select count(*) from subscriptions where user_id = {}", bob.user_id)).await, 3);

    let ask = forged.click("Unsubscribe from all").await;
    assert!(ask.text().contains("Unsubscribe from all 57"), "{}", ask.text());
    let cancelled = ask.click("Cancel").await;
    assert!(cancelled.text().contains("Page 1 of 3"), "{}", cancelled.text());
    assert_eq!(total(&sim, alice.user_id).await, 57);
    let ask = cancelled.click("Unsubscribe from all").await;
    let gone = ask.click("Unsubscribe from all").await;
    assert!(gone.text().contains("You unsubscribed from everything (57 in all)"), "{}", gone.text());
    assert_eq!(total(&sim, alice.user_id).await, 0);
    assert!(!holds(&alice, role), "the group subscription's role went too");
    assert!(alice.has_role_named("Rust"), "still a member of the group");
    assert_eq!(sim.count(&format!("select count(*) from subscriptions where user_id = {}", bob.user_id)).await, 3);
}

#[tokio::test]
async fn deleting_a_group_deletes_its_notification_role() {
    let sim = Sim::start_with_notify_roles().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    group(&sim, &ada, "Rust", "Open").await;
    alice.slash("join", &[("group", "Rust")]).await;
    assert!(notify_role(&sim, "Rust").is_some());
    let ask = ada.slash("group delete", &[("group", "Rust")]).await;
    let done = ask.click("Delete group").await;
    assert!(!done.text().contains("Error"), "{}", done.text());
    assert!(notify_role(&sim, "Rust").is_none(), "no orphan role left against the 250-role limit");
}

#[tokio::test]
async fn deleting_followed_threads_from_my_subscriptions_takes_the_member_out_of_them() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let bob = sim.member("bob");
    let (_, channel) = group(&sim, &ada, "Rust", "Open").await;
    for a in [&alice, &bob] {
        a.slash("join", &[("group", "Rust")]).await;
        // Joining follows the group; stop that: this test is about threads.
        a.slash("subscribe", &[("group", "Rust")]).await;
    }
    let t1 = bob.create_topic(channel, "One", "x");
    let t2 = bob.create_topic(channel, "Two", "y");
    let t3 = bob.create_topic(channel, "Three", "z");
    for t in [t1, t2, t3] {
        let r = alice.slash_in(t, "subscribe", &[]).await;
        assert!(r.text().contains("now following this thread"), "{}", r.text());
    }
    let members = |t: u64| sim.fake.with(|w| w.thread_members.get(&t).cloned().unwrap_or_default());
    for t in [t1, t2, t3] {
        assert!(members(t).contains(&alice.user_id), "mention mode: following made alice a thread member");
    }

    // Delete selected: the first thread only.
    let list = alice.slash("subscriptions", &[]).await;
    let (mid, select) = list.components().into_iter().find(|(_, c)| c.kind == 3).expect("a select");
    assert_eq!(select.options.len(), 3, "alice follows the three threads only");
    let one = &select.options[0];
    let id: i64 = one.1.parse().unwrap();
    let target: i64 = sqlx::query_scalar("select target_id from subscriptions where id = $1")
        .bind(id)
        .fetch_one(&sim.pool)
        .await
        .unwrap();
    let done = alice.select(mid, &select.custom_id, &[one.1.as_str()]).await;
    assert!(done.text().contains("Deleted 1 subscription"), "{}", done.text());
    let deleted = target as u64;
    assert!(!members(deleted).contains(&alice.user_id), "no longer a member of the deleted thread");
    let rest: Vec<u64> = [t1, t2, t3].into_iter().filter(|t| *t != deleted).collect();
    for t in &rest {
        assert!(members(*t).contains(&alice.user_id), "the other threads are still followed");
    }

    // An archived thread refuses (50083): the rest still go, nothing breaks.
    sim.fake.mutate(|w| w.channels.get_mut(&rest[1]).unwrap().archived = true);
    let ask = done.click("Unsubscribe from all").await;
    let gone = ask.click("Unsubscribe from all").await;
    assert!(gone.text().contains("You unsubscribed from everything"), "{}", gone.text());
    assert_eq!(total(&sim, alice.user_id).await, 0);
    assert!(!members(rest[0]).contains(&alice.user_id), "Unsubscribe from all takes her out of the thread");
    assert!(members(rest[1]).contains(&alice.user_id), "an archived thread refuses: she stays in it (logged)");
}

#[tokio::test]
async fn past_the_role_cap_a_groups_followers_are_pinged_by_name() {
    let sim = Sim::start_with_notify_roles().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let carol = sim.member("carol");
    let bob = sim.member("bob");
    let (_, channel) = group(&sim, &ada, "Rust", "Open").await;
    let existing = sim.fake.with(|w| w.guilds[&sim.fake.guild_id].roles.len());
    for i in existing..230 {
        sim.fake.create_role_by_hand(&format!("filler {i}"), 0, false);
    }
    for a in [&alice, &carol, &bob] {
        a.slash("join", &[("group", "Rust")]).await;
    }
    assert!(notify_role(&sim, "Rust").is_none(), "no notification role near Discord's role limit");
    assert!(sim.count("select count(*) from audit_log where action = 'notify.role_cap'").await >= 1);
    let topic = bob.create_topic(channel, "Hello", "first");
    let a = announcement(&sim, topic).await;
    let mut users: Vec<String> =
        a.allowed_mentions["users"].as_array().unwrap().iter().map(|u| u.as_str().unwrap().to_string()).collect();
    users.sort();
    let mut want = vec![alice.user_id.to_string(), carol.user_id.to_string()];
    want.sort();
    assert_eq!(users, want, "the group's followers by name, not bob (the author)");
    sim.expect_ping(alice.user_id);
    sim.expect_ping(carol.user_id);
    assert!(a.allowed_mentions["roles"].as_array().is_none_or(|r| r.is_empty()));
    assert!(
        a.content.contains(&format!("<@{}>", alice.user_id)) && a.content.contains(&format!("<@{}>", carol.user_id))
    );
}

/// #25 item 1, N6: while a group has few followers (the default
/// `NOTIFY_BY_NAME_MAX`, 50), they are pinged by name: the author of a
/// topic is never pinged about it, no notification role is made, and a
/// join costs one member-role call (the group role), not two.
#[tokio::test]
async fn a_small_groups_followers_are_pinged_by_name_never_the_author() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let carol = sim.member("carol");
    let leo = sim.member("leo");
    let (role, channel) = group(&sim, &ada, "Rust", "Open").await;
    make_leader(&ada, "Rust", &leo).await;
    for a in [&alice, &carol] {
        a.slash("join", &[("group", "Rust")]).await;
    }
    sim.idle().await;
    assert!(notify_role(&sim, "Rust").is_none(), "no notification role for a small group");
    let member_role_calls = |user: u64| {
        sim.fake.with(|w| {
            w.requests
                .iter()
                .filter(|(m, p, _)| (m == "PUT" || m == "DELETE") && p.contains(&format!("/members/{user}/roles/")))
                .count()
        })
    };
    assert_eq!(member_role_calls(alice.user_id), 1, "one member-role call per join");
    assert!(alice.roles().contains(&role));

    // Leo, a leader (and so a follower), starts a topic: alice and carol
    // are pinged by name, Leo is not.
    let topic = leo.create_topic(channel, "Meetup", "Thursday?");
    let a = announcement(&sim, topic).await;
    let mut users: Vec<String> =
        a.allowed_mentions["users"].as_array().unwrap().iter().map(|u| u.as_str().unwrap().to_string()).collect();
    users.sort();
    let mut want = vec![alice.user_id.to_string(), carol.user_id.to_string()];
    want.sort();
    assert_eq!(users, want, "the followers by name, not the author");
    assert!(a.allowed_mentions["roles"].as_array().is_none_or(|r| r.is_empty()), "no role mention");
    sim.expect_ping(alice.user_id);
    sim.expect_ping(carol.user_id);
}

/// Past `NOTIFY_BY_NAME_MAX` followers the group's notification role is
/// made and handed to every follower (those who joined while they were
/// pinged by name too), then mentioned once (S5).
#[tokio::test]
async fn past_the_by_name_limit_every_follower_gets_the_notification_role() {
    let sim = Sim::start_with(|c| c.notify_by_name_max = 2).await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let carol = sim.member("carol");
    let dan = sim.member("dan");
    let (_, channel) = group(&sim, &ada, "Rust", "Open").await;
    for a in [&alice, &carol] {
        a.slash("join", &[("group", "Rust")]).await;
    }
    sim.idle().await;
    assert!(notify_role(&sim, "Rust").is_none(), "two followers: by name");
    dan.slash("join", &[("group", "Rust")]).await;
    sim.idle().await;
    let role = notify_role(&sim, "Rust").expect("the third follower makes the role");
    // The background pass hands it to the followers who joined before.
    sim.clock.advance(chrono::Duration::seconds(60)).await;
    let guild = sim.fake.guild_id;
    let ids = [alice.user_id, carol.user_id, dan.user_id];
    sim.fake
        .wait_until("every follower holds the role", move |w| {
            ids.iter().all(|u| w.guilds[&guild].members[u].roles.contains(&role))
        })
        .await;
    // Past the limit the role is mentioned: Discord gives no way to leave
    // its author, a holder, out (commands.md says so).
    let topic = alice.create_topic(channel, "Hello", "first");
    let a = announcement(&sim, topic).await;
    assert_eq!(pinged_role(&a), role);
    sim.expect_ping(role);
}

#[tokio::test]
async fn an_announcement_whose_answer_was_lost_is_posted_once() {
    let sim = Sim::start_with_notify_roles().await;
    let ada = sim.admin("ada");
    let (alice, bob) = (sim.member("alice"), sim.member("bob"));
    let (_, channel) = group(&sim, &ada, "Rust", "Open").await;
    alice.slash("join", &[("group", "Rust")]).await;
    bob.slash("join", &[("group", "Rust")]).await;
    // Discord posts the announcement but answers 500; the retry carries the
    // same nonce, so Discord hands back the first message.
    sim.fake.inject(fake_discord::Fault::server_error_after_processing("POST", "/messages").times(1));
    let topic = bob.create_topic(channel, "Lifetimes", "How do they work?");
    announcement(&sim, topic).await;
    sim.idle().await;
    assert_eq!(bot_messages(&sim, topic).len(), 1, "announced once despite the lost answer");
    // The announcement pinged the group's notification role, and only that.
    let role = notify_role(&sim, "Rust").unwrap();
    assert_eq!(bot_messages(&sim, topic)[0].pinged.roles, vec![role]);
    sim.expect_ping(role);
}

/// "My Subscriptions" names what a member follows as Discord shows it: the
/// list mentions channels and threads (Discord renders `<#id>` as the
/// name), the delete menu, which can't render a mention, writes their names
/// as Discord has them now, and a deleted thread or a post is said so;
/// never a bare id.
#[tokio::test]
async fn my_subscriptions_names_forums_topics_and_posts_never_by_a_bare_id() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let bob = sim.member("bob");
    let (_, forum) = group(&sim, &ada, "Fintech", "Open").await;
    let r = bob.slash("join", &[("group", "Fintech")]).await;
    assert!(!r.text().contains("Error"), "{}", r.text());
    // Topics first: alice follows them afterwards, so none is announced to her.
    let topic = bob.create_topic(forum, "Open banking APIs", "who uses them?");
    let gone = bob.create_topic(forum, "Old news", "soon deleted");
    let post = bob.post_message(topic, "a post worth following", None);
    sim.idle().await; // the bot has handled the topics: nobody follows them yet
    for (place, says) in [(forum, "now following this channel"), (topic, "this thread"), (gone, "this thread")] {
        let r = alice.slash_in(place, "subscribe", &[]).await;
        assert!(r.text().contains(says), "{}", r.text());
    }
    let r = alice.message_command("Subscribe to post", post).await;
    assert!(r.text().contains("now following [this post]"), "{}", r.text());
    assert!(sim.fake.delete_channel_by_hand(gone), "the thread is deleted by hand");

    let list = alice.slash("subscriptions", &[]).await;
    assert!(list.is_ephemeral());
    let text = list.text();
    assert!(text.contains(&format!("<#{forum}>")) && text.contains(&format!("<#{topic}>")), "{text}");
    assert!(text.contains("a deleted thread") && text.contains("a post from <t:"), "{text}");
    let (mid, select) = list.components().into_iter().find(|(_, c)| c.kind == 3).expect("the delete menu");
    let labels: Vec<&str> = select.options.iter().map(|(label, _)| label.as_str()).collect();
    assert!(labels.contains(&"Forum/channel: #fintech"), "{labels:?}");
    assert!(labels.contains(&"Thread: #Open banking APIs"), "{labels:?}");
    assert!(labels.contains(&"Thread (deleted)"), "{labels:?}");
    assert!(labels.iter().any(|l| l.starts_with("Post from 20") && l.ends_with(" UTC")), "{labels:?}");
    let bare = |shown: &str| {
        [forum, topic, gone, post].iter().any(|id| shown.replace(&format!("<#{id}>"), "").contains(&id.to_string()))
    };
    assert!(!bare(&text), "a bare id in the list: {text}");
    assert!(!labels.iter().any(|l| bare(l)), "a bare id in the menu: {labels:?}");

    // Deleting the deleted thread's subscription shows the page again, named.
    let value = select.options.iter().find(|(l, _)| l == "Thread (deleted)").map(|(_, v)| v.clone()).unwrap();
    let done = alice.select(mid, &select.custom_id, &[value.as_str()]).await;
    assert!(done.text().contains("Deleted 1 subscription."), "{}", done.text());
    let (_, select) = done.components().into_iter().find(|(_, c)| c.kind == 3).expect("the delete menu");
    let labels: Vec<&str> = select.options.iter().map(|(label, _)| label.as_str()).collect();
    assert_eq!(labels.len(), 3, "{labels:?}");
    assert!(
        labels.contains(&"Forum/channel: #fintech") && labels.contains(&"Thread: #Open banking APIs"),
        "{labels:?}"
    );
    assert!(!bare(&done.text()) && !labels.iter().any(|l| bare(l)), "{}\n{labels:?}", done.text());
}
