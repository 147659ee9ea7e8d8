//! The request SLA (R5): leaders reminded after T1, admins alerted in the
//! mod channel after T2, the request expired after T3 with word to the
//! requester; each once, also with two bot processes on one database; the
//! times set per server with `/config request-sla`.

use crate::sim::{ask, button, card, group, make_leader, refreshed, status_of, Sim};
use chrono::Duration;
use fake_discord::scenario::{components_of, message_text};
use fake_discord::world::{channel_type, Message};
use fake_discord::Actor;

/// The private review thread of a group, by its name.
fn thread_named(sim: &Sim, group: &str) -> u64 {
    let name = format!("Requests: {group}");
    sim.fake
        .with(|w| w.channels.values().find(|c| c.kind == channel_type::PRIVATE_THREAD && c.name == name).map(|c| c.id))
        .unwrap_or_else(|| panic!("a review thread for {group}"))
}

/// Messages the bot posted in a channel without embeds (reminders and
/// alerts; not cards, not answers to interactions).
fn plain_messages(sim: &Sim, channel: u64) -> Vec<Message> {
    sim.fake.with(|w| {
        w.channel_messages(channel)
            .iter()
            .filter(|m| m.interaction_id.is_none() && m.embeds.as_array().is_none_or(|e| e.is_empty()))
            .cloned()
            .collect()
    })
}

async fn audit_count(sim: &Sim, action: &str) -> i64 {
    sim.count(&format!("select count(*) from audit_log where action = '{action}'")).await
}

fn dms_saying(who: &Actor, what: &str) -> usize {
    who.dms().iter().filter(|m| m.content.contains(what)).count()
}

#[tokio::test]
async fn reminders_escalation_and_expiry_happen_once_each_with_two_bot_processes() {
    let mut sim = Sim::start().await;
    let ada = sim.admin("ada");
    let (lena, mia, gopher) = (sim.member("lena"), sim.member("mia"), sim.member("gopher"));
    let (role, _) = group(&sim, &ada, "Rust", "Closed").await;
    group(&sim, &ada, "Go", "Closed").await;
    make_leader(&ada, "Rust", &lena).await;
    sim.expect_ping(lena.user_id); // reminders ping the leaders
    make_leader(&ada, "Rust", &mia).await;
    sim.expect_ping(mia.user_id); // reminders ping the leaders
    make_leader(&ada, "Go", &gopher).await;
    sim.expect_ping(gopher.user_id); // reminders ping the leaders
    sim.requests_channel(&ada).await;
    let mods = sim.mod_channel(&ada).await;
    let (bob, carl, dan, eve) = (sim.member("bob"), sim.member("carl"), sim.member("dan"), sim.member("eve"));
    for who in [&bob, &carl, &dan] {
        assert!(ask(who, "Rust", None).await.text().contains("was sent"));
    }
    assert!(ask(&eve, "Go", None).await.text().contains("was sent"));
    let rust = thread_named(&sim, "Rust");
    let go = thread_named(&sim, "Go");
    // dan's request is decided before T1: no reminder for it
    let dan_card = sim
        .fake
        .with(|w| {
            w.channel_messages(rust).iter().find(|m| message_text(m).contains(&format!("<@{}>", dan.user_id))).cloned()
        })
        .expect("dan's card");
    assert!(lena.click(dan_card.id, &button(&dan_card, "Approve")).await.text().contains("is now a member"));
    let bob_card = sim
        .fake
        .with(|w| {
            w.channel_messages(rust).iter().find(|m| message_text(m).contains(&format!("<@{}>", bob.user_id))).cloned()
        })
        .expect("bob's card");

    // from here on, two bot processes share the database (no interactions)
    sim.start_second_bot().await;
    sim.clock.advance(Duration::hours(23)).await;
    assert!(plain_messages(&sim, rust).is_empty(), "nothing before T1: {:?}", plain_messages(&sim, rust));

    sim.clock.advance(Duration::hours(2)).await;
    let reminders = plain_messages(&sim, rust);
    assert_eq!(reminders.len(), 1, "one reminder for the group's two waiting requests");
    let text = &reminders[0].content;
    assert!(text.contains(&format!("<@{}>", lena.user_id)) && text.contains(&format!("<@{}>", mia.user_id)), "{text}");
    assert!(text.contains(&format!("<@{}>", bob.user_id)) && text.contains(&format!("<@{}>", carl.user_id)), "{text}");
    assert!(!text.contains(&format!("<@{}>", dan.user_id)), "a decided request is not reminded: {text}");
    assert!(text.contains(&format!("/{rust}/{}", bob_card.id)), "links the card: {text}");
    let mut pinged: Vec<u64> = reminders[0].allowed_mentions["users"]
        .as_array()
        .expect("allowed users")
        .iter()
        .map(|u| u.as_str().unwrap().parse().unwrap())
        .collect();
    pinged.sort();
    let mut leaders = vec![lena.user_id, mia.user_id];
    leaders.sort();
    assert_eq!(pinged, leaders, "pings exactly the group's leaders");
    assert!(reminders[0].allowed_mentions.get("parse").is_none_or(|p| p == &serde_json::json!([])));
    let go_reminders = plain_messages(&sim, go);
    assert_eq!(go_reminders.len(), 1, "each group's leaders in their own thread");
    assert!(go_reminders[0].content.contains(&format!("<@{}>", gopher.user_id)));
    assert!(!go_reminders[0].content.contains(&format!("<@{}>", lena.user_id)));
    assert!(plain_messages(&sim, mods).is_empty(), "no alert before T2");

    sim.clock.advance(Duration::hours(24)).await;
    assert_eq!(plain_messages(&sim, rust).len(), 1, "reminded once");
    assert!(plain_messages(&sim, mods).is_empty());

    sim.clock.advance(Duration::hours(24)).await; // 73 h
    let alerts = plain_messages(&sim, mods);
    assert_eq!(alerts.len(), 1, "one alert for the server's overdue requests");
    let text = &alerts[0].content;
    for (who, group) in [(&bob, "Rust"), (&carl, "Rust"), (&eve, "Go")] {
        assert!(text.contains(&format!("**{group}**: #")) && text.contains(&format!("<@{}>", who.user_id)), "{text}");
    }
    assert!(text.contains("waiting 3 days 1 h"), "the age: {text}");
    assert!(text.contains(&format!("/{rust}/{}", bob_card.id)), "links the card: {text}");
    assert_eq!(alerts[0].allowed_mentions["parse"], serde_json::json!([]), "the alert pings nobody");
    assert!(alerts[0].allowed_mentions.get("users").is_none_or(|u| u == &serde_json::json!([])));
    assert_eq!(audit_count(&sim, "request.escalate").await, 3);
    assert!(bob.dms().is_empty(), "nothing for the requester yet");

    sim.clock.advance(Duration::hours(95)).await; // 168 h: T3 reached
    for who in [&bob, &carl, &eve] {
        assert_eq!(dms_saying(who, "expired"), 1, "one expiry DM");
        assert!(dms_saying(who, "You may ask again") == 1);
        assert_eq!(status_of(&sim, who.user_id).await, "expired");
    }
    assert_eq!(status_of(&sim, dan.user_id).await, "approved");
    let c = refreshed(&sim, &bob_card);
    assert!(components_of(&c).is_empty(), "the card's buttons are off");
    assert!(message_text(&c).contains("expired"), "{}", message_text(&c));
    assert!(message_text(&c).contains("Days in server"), "the card keeps the requester's standing");
    assert_eq!(audit_count(&sim, "request.expire").await, 3);

    sim.clock.advance(Duration::days(3)).await;
    for who in [&bob, &carl, &eve] {
        assert_eq!(dms_saying(who, "expired"), 1, "still one expiry DM");
    }
    assert_eq!(plain_messages(&sim, rust).len(), 1);
    assert_eq!(plain_messages(&sim, mods).len(), 1);
    assert_eq!(audit_count(&sim, "request.remind").await, 2, "one per group");
    assert_eq!(audit_count(&sim, "request.escalate").await, 3);
    assert_eq!(audit_count(&sim, "request.expire").await, 3);

    // back to one process for interactions: an expiry starts no cooldown
    sim.stop_second_bot().await;
    let mine = bob.slash("requests", &[]).await;
    assert!(mine.text().contains("expired") && mine.text().contains("You may ask again"), "{}", mine.text());
    let r = ask(&bob, "Rust", None).await;
    assert!(r.text().contains("was sent"), "{}", r.text());
    assert!(!bob.roles().contains(&role));
    let _ = card(&sim, rust);
}

#[tokio::test]
async fn the_times_are_set_per_server_validated_audited_and_take_effect() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let lena = sim.member("lena");
    group(&sim, &ada, "Rust", "Closed").await;
    make_leader(&ada, "Rust", &lena).await;
    sim.expect_ping(lena.user_id); // reminders ping the leaders
    sim.requests_channel(&ada).await;

    let show = ada.slash("config show", &[]).await;
    assert!(show.text().contains("Leaders reminded after 1 day (24 h)"), "{}", show.text());
    assert!(show.text().contains("requests expire after 7 days"), "{}", show.text());

    // refusals change nothing
    let r = lena.slash("config request-sla", &[("remind_hours", "2")]).await;
    assert!(r.is_ephemeral() && r.text().contains("Error"), "{}", r.text());
    let r = ada.slash("config request-sla", &[("remind_hours", "100")]).await;
    assert!(r.is_ephemeral());
    assert!(r.text().contains("The times must grow") && r.text().contains("Nothing was changed"), "{}", r.text());
    let r = ada.slash("config request-sla", &[("escalate_hours", "200")]).await;
    assert!(r.text().contains("The times must grow"), "alert after expiry: {}", r.text());
    let r = ada.slash("config request-sla", &[]).await;
    assert!(r.text().contains("Give at least one time"), "{}", r.text());
    assert_eq!(audit_count(&sim, "config.request-sla").await, 0);

    let r = ada.slash("config request-sla", &[("remind_hours", "2"), ("cooldown_days", "0")]).await;
    assert!(r.is_ephemeral());
    assert!(r.text().contains("reminded of a pending request after 2 h"), "{}", r.text());
    assert_eq!(audit_count(&sim, "config.request-sla").await, 1);
    let show = ada.slash("config show", &[]).await;
    assert!(show.text().contains("Leaders reminded after 2 h"), "{}", show.text());
    assert!(show.text().contains("for 0 days"), "{}", show.text());

    // the new T1 applies
    let bob = sim.member("bob");
    ask(&bob, "Rust", None).await;
    let thread = thread_named(&sim, "Rust");
    sim.clock.advance(Duration::hours(1)).await;
    assert!(plain_messages(&sim, thread).is_empty());
    sim.clock.advance(Duration::hours(2)).await;
    let reminders = plain_messages(&sim, thread);
    assert_eq!(reminders.len(), 1);
    assert!(reminders[0].content.contains("more than 2 h"), "{}", reminders[0].content);

    // and the cooldown: with none, a denied member may ask again at once
    let c = card(&sim, thread);
    let form = lena.click(c.id, &button(&c, "Deny")).await;
    assert!(lena.submit(&form.modal(), &[]).await.text().contains("Denied"));
    let r = ask(&bob, "Rust", None).await;
    assert!(r.text().contains("was sent"), "{}", r.text());

    // reset: the defaults again
    let r = ada.slash("config request-sla", &[("reset", "true")]).await;
    assert!(r.text().contains("after 1 day (24 h)"), "{}", r.text());
    let r = ada.slash("config request-sla", &[("expire_days", "2")]).await;
    assert!(r.text().contains("The times must grow"), "72 h alert after a 48 h expiry: {}", r.text());
}

#[tokio::test]
async fn without_a_mod_channel_the_alert_is_kept_and_closed_dms_see_the_expiry_in_requests() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let lena = sim.member("lena");
    group(&sim, &ada, "Rust", "Closed").await;
    make_leader(&ada, "Rust", &lena).await;
    sim.expect_ping(lena.user_id); // reminders ping the leaders
    sim.requests_channel(&ada).await;
    let shy = sim.fake.add_user("shy", 365, false);
    sim.fake.join_guild(shy, 30);
    let shy = sim.fake.actor(shy);
    ask(&shy, "Rust", None).await;

    sim.clock.advance(Duration::hours(73)).await;
    assert_eq!(audit_count(&sim, "request.escalate_failed").await, 1);
    let show = ada.slash("config show", &[]).await;
    assert!(
        show.text().contains("could not be brought to the admins") && show.text().contains("#1"),
        "{}",
        show.text()
    );
    let l = lena.slash("requests", &[]).await;
    assert!(l.text().contains("Overdue: the admins could not be alerted"), "{}", l.text());
    let l = ada.slash("requests", &[]).await;
    assert!(l.text().contains("Overdue"), "admins see it in /requests: {}", l.text());

    sim.clock.advance(Duration::hours(96)).await;
    assert_eq!(status_of(&sim, shy.user_id).await, "expired");
    assert_eq!(sim.count("select count(*) from join_requests where dm_delivered = false").await, 1);
    assert_eq!(audit_count(&sim, "request.expire_dm_failed").await, 1);
    let mine = shy.slash("requests", &[]).await;
    assert!(mine.text().contains("expired") && mine.text().contains("You may ask again"), "{}", mine.text());
    let show = ada.slash("config show", &[]).await;
    assert!(!show.text().contains("could not be brought"), "an expired request is no longer overdue: {}", show.text());
    // the card is off; a late press is refused
    let c = card(&sim, thread_named(&sim, "Rust"));
    assert!(components_of(&c).is_empty());
    let r = lena.click(c.id, "gh:rqa:1").await;
    assert!(r.text().contains("already expired"), "{}", r.text());
    assert_eq!(status_of(&sim, shy.user_id).await, "expired");
}

#[tokio::test]
async fn a_leader_deciding_as_the_request_expires_gives_one_outcome() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let lena = sim.member("lena");
    let (role, _) = group(&sim, &ada, "Rust", "Closed").await;
    make_leader(&ada, "Rust", &lena).await;
    sim.expect_ping(lena.user_id); // reminders ping the leaders
    sim.requests_channel(&ada).await;
    let bob = sim.member("bob");
    ask(&bob, "Rust", None).await;
    let thread = thread_named(&sim, "Rust");
    sim.clock.advance(Duration::hours(167)).await;
    let c = card(&sim, thread);
    let approve = button(&c, "Approve");
    let (reply, _) = tokio::join!(lena.click(c.id, &approve), sim.clock.advance(Duration::hours(2)));
    let status = status_of(&sim, bob.user_id).await;
    // The expiry DM goes out in a pass after the expiry (a pass that met the
    // row locked by the leader's press skips it): one more pass, then count.
    sim.clock.advance(Duration::hours(1)).await;
    if status == "approved" {
        assert!(reply.text().contains("is now a member"), "{}", reply.text());
        assert!(bob.roles().contains(&role));
        assert_eq!(dms_saying(&bob, "expired"), 0);
    } else {
        assert_eq!(status, "expired");
        assert!(reply.text().contains("already expired"), "{}", reply.text());
        assert!(!bob.roles().contains(&role));
        assert_eq!(dms_saying(&bob, "expired"), 1);
    }
    assert_eq!(bob.dms().len(), 1, "one outcome told");
    sim.clock.advance(Duration::hours(1)).await;
    assert_eq!(bob.dms().len(), 1, "and only one");
    assert_eq!(status_of(&sim, bob.user_id).await, status);
}

#[tokio::test]
async fn a_reminder_and_an_alert_whose_answer_was_lost_are_posted_once() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let lena = sim.member("lena");
    group(&sim, &ada, "Rust", "Closed").await;
    make_leader(&ada, "Rust", &lena).await;
    sim.expect_ping(lena.user_id); // reminders ping the leaders
    sim.requests_channel(&ada).await;
    let mods = sim.mod_channel(&ada).await;
    let bob = sim.member("bob");
    assert!(ask(&bob, "Rust", None).await.text().contains("was sent"));
    let rust = thread_named(&sim, "Rust");
    // Discord posts the reminder and the alert but answers 500 (the answer is
    // lost); the bot tries again with the same nonce and Discord returns the
    // first message instead of posting a second.
    sim.fake.inject(
        fake_discord::Fault::server_error_after_processing("POST", &format!("/channels/{rust}/messages")).times(1),
    );
    sim.fake.inject(
        fake_discord::Fault::server_error_after_processing("POST", &format!("/channels/{mods}/messages")).times(1),
    );
    sim.clock.advance(Duration::hours(25)).await;
    assert_eq!(plain_messages(&sim, rust).len(), 1, "one reminder despite the lost answer");
    sim.clock.advance(Duration::hours(48)).await;
    assert_eq!(plain_messages(&sim, mods).len(), 1, "one alert despite the lost answer");
    assert_eq!(audit_count(&sim, "request.remind").await, 1);
    assert_eq!(audit_count(&sim, "request.escalate").await, 1);
}
