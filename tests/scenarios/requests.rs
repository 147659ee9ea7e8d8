//! Requests to join closed groups (R1-R4): automatic criteria, the card in
//! the group's private review thread, decisions by that group's leaders
//! (first decision wins), the outcome by DM and in `/requests`, withdrawals.

use crate::sim::{ask, button, card, group, make_leader, refreshed, status_of, Sim};
use fake_discord::perms;
use fake_discord::scenario::{components_of, message_text};
use fake_discord::world::{channel_type, Message, Overwrite};
use fake_discord::{Actor, Reply};

/// The review thread of the (only) group, and its latest card.
fn thread_of(sim: &Sim, channel: u64) -> u64 {
    sim.fake
        .with(|w| {
            w.channels
                .values()
                .find(|c| c.parent_id == Some(channel) && c.kind == channel_type::PRIVATE_THREAD)
                .map(|c| c.id)
        })
        .expect("a private review thread")
}

struct Setup {
    sim: Sim,
    ada: Actor,
    lena: Actor,
    role: u64,
    thread_parent: u64,
}

/// A closed group "Rust" led by lena, a requests channel.
async fn setup() -> Setup {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let lena = sim.member("lena");
    let (role, _) = group(&sim, &ada, "Rust", "Closed").await;
    make_leader(&ada, "Rust", &lena).await;
    let thread_parent = sim.requests_channel(&ada).await;
    Setup { sim, ada, lena, role, thread_parent }
}

#[tokio::test]
async fn each_criterion_failing_is_named_and_all_passing_sends_the_request() {
    let Setup { sim, ada, lena, thread_parent, .. } = setup().await;
    let vip = sim.fake.create_role_by_hand("VIP", 0, false);
    let muted = sim.fake.create_role_by_hand("Muted", 0, false);
    let r = ada
        .slash(
            "group criteria",
            &[
                ("group", "Rust"),
                ("min_days_in_server", "7"),
                ("min_account_age_days", "30"),
                ("required_role", &vip.to_string()),
                ("blocked_role", &muted.to_string()),
            ],
        )
        .await;
    assert!(r.text().contains("at least 7 days in the server"), "{}", r.text());

    // too new to the server
    let newcomer = sim.fake.add_user("newcomer", 365, true);
    sim.fake.join_guild(newcomer, 2);
    sim.fake.give_role(newcomer, vip);
    let r = ask(&sim.fake.actor(newcomer), "Rust", None).await;
    assert!(r.is_ephemeral());
    assert!(r.text().contains("at least 7 days in the server (you: 2)"), "{}", r.text());
    assert!(!r.text().contains("account at least"), "only the failing criterion is named: {}", r.text());

    // too young an account
    let young = sim.fake.add_user("young", 3, true);
    sim.fake.join_guild(young, 10);
    sim.fake.give_role(young, vip);
    let r = ask(&sim.fake.actor(young), "Rust", None).await;
    assert!(r.text().contains("an account at least 30 days old (yours: 3)"), "{}", r.text());

    // missing the required role
    let bob = sim.member("bob");
    let r = ask(&bob, "Rust", None).await;
    assert!(r.text().contains(&format!("the <@&{vip}> role")), "{}", r.text());

    // holding a blocked role
    sim.fake.give_role(bob.user_id, vip);
    sim.fake.give_role(bob.user_id, muted);
    let r = ask(&bob, "Rust", None).await;
    assert!(r.text().contains(&format!("not the <@&{muted}> role")), "{}", r.text());
    assert_eq!(sim.count("select count(*) from join_requests").await, 0, "a failed criterion stores nothing");

    // all passing
    sim.fake.take_role(bob.user_id, muted);
    let r = ask(&bob, "Rust", Some("I write Rust at work @everyone")).await;
    assert!(r.text().contains("was sent"), "{}", r.text());
    assert_eq!(status_of(&sim, bob.user_id).await, "pending");
    let thread = thread_of(&sim, thread_parent);
    let c = card(&sim, thread);
    let text = message_text(&c);
    assert!(text.contains(&format!("<@{}>", bob.user_id)), "{text}");
    assert!(text.contains("I write Rust at work"), "{text}");
    assert!(text.contains("Days in server") && text.contains("Account age"), "{text}");
    assert!(text.contains("✅ at least 7 days"), "{text}");
    assert_eq!(c.allowed_mentions["parse"], serde_json::json!([]), "the card pings nobody");
    // only the group's leader (and people with Manage Threads) see the thread
    assert!(sim.fake.with(|w| w.can_view_thread(thread, lena.user_id)), "the leader was added to the thread");
    assert!(!sim.fake.with(|w| w.can_view_thread(thread, bob.user_id)), "the requester can't see the review thread");

    // one pending request per member per group
    let r = ask(&bob, "Rust", None).await;
    assert!(r.text().contains("already have a pending request"), "{}", r.text());
    assert_eq!(sim.count("select count(*) from join_requests").await, 1);
}

#[tokio::test]
async fn approve_grants_the_role_subscribes_dms_and_updates_the_card() {
    let Setup { sim, ada, lena, role, thread_parent } = setup().await;
    let bob = sim.member("bob");
    ask(&bob, "Rust", None).await;
    let c = card(&sim, thread_of(&sim, thread_parent));
    let r = lena.click(c.id, &button(&c, "Approve")).await;
    assert!(r.is_ephemeral());
    assert!(r.text().contains("is now a member of **Rust**"), "{}", r.text());
    assert!(bob.roles().contains(&role), "the role was granted");
    assert_eq!(status_of(&sim, bob.user_id).await, "approved");
    let subs = sim
        .count(&format!("select count(*) from subscriptions where user_id = {} and kind = 'group'", bob.user_id))
        .await;
    assert_eq!(subs, 1, "subscribed to the group");
    let c = refreshed(&sim, &c);
    assert!(components_of(&c).is_empty(), "buttons removed");
    assert!(message_text(&c).contains(&format!("approved by <@{}>", lena.user_id)), "{}", message_text(&c));
    assert!(message_text(&c).contains("Days in server"), "the decided card keeps the requester's standing");
    let dms = bob.dms();
    assert_eq!(dms.len(), 1);
    assert!(dms[0].content.contains("approved"), "{}", dms[0].content);
    let r = bob.slash("requests", &[]).await;
    assert!(r.text().contains("approved by"), "{}", r.text());

    // a leader appointed later is added to the review thread with the next card
    let thread = thread_of(&sim, thread_parent);
    let mia = sim.member("mia");
    make_leader(&ada, "Rust", &mia).await;
    assert!(!sim.fake.with(|w| w.can_view_thread(thread, mia.user_id)));
    ask(&sim.member("carl"), "Rust", None).await;
    assert!(sim.fake.with(|w| w.can_view_thread(thread, mia.user_id)));
    let threads = sim.fake.with(|w| {
        w.channels
            .values()
            .filter(|c| c.parent_id == Some(thread_parent) && c.kind == channel_type::PRIVATE_THREAD)
            .count()
    });
    assert_eq!(threads, 1, "one thread per group");
}

#[tokio::test]
async fn deny_with_a_reason_dms_it_and_the_cooldown_says_until_when() {
    let Setup { sim, lena, thread_parent, .. } = setup().await;
    let bob = sim.member("bob");
    ask(&bob, "Rust", None).await;
    let c = card(&sim, thread_of(&sim, thread_parent));
    let form = lena.click(c.id, &button(&c, "Deny")).await;
    let modal = form.modal();
    assert!(!modal.fields[0].2, "the reason is optional");
    let r = lena.submit(&modal, &[("reason", "Please introduce yourself first")]).await;
    assert!(r.text().contains("Denied request"), "{}", r.text());
    assert_eq!(status_of(&sim, bob.user_id).await, "denied");
    let dms = bob.dms();
    assert!(dms[0].content.contains("Please introduce yourself first"), "{}", dms[0].content);
    let c = refreshed(&sim, &c);
    assert!(components_of(&c).is_empty());
    assert!(message_text(&c).contains("denied by"), "{}", message_text(&c));
    assert!(message_text(&c).contains("Criteria"), "the decided card keeps the checklist: {}", message_text(&c));

    let r = ask(&bob, "Rust", None).await;
    assert!(r.text().contains("You can ask again from <t:"), "{}", r.text());
    assert_eq!(sim.count("select count(*) from join_requests").await, 1);
}

#[tokio::test]
async fn twenty_simultaneous_presses_give_one_decision_and_one_grant() {
    let Setup { sim, ada, lena, role, thread_parent } = setup().await;
    let mia = sim.member("mia");
    make_leader(&ada, "Rust", &mia).await;
    let bob = sim.member("bob");
    ask(&bob, "Rust", None).await;
    let c = card(&sim, thread_of(&sim, thread_parent));
    let (approve, deny) = (button(&c, "Approve"), button(&c, "Deny"));
    // the group's role for bob (the notification role is granted separately)
    let group_role = format!("/members/{}/roles/{role}", bob.user_id);
    let grants_before = sim.fake.with(|w| w.count_requests("PUT", &group_role));
    // twenty presses at the same moment (concurrent tasks on the runtime)
    let mut set = tokio::task::JoinSet::new();
    for n in 0..20 {
        let who = if n % 2 == 0 { lena.clone() } else { mia.clone() };
        let id = if n % 5 == 4 { deny.clone() } else { approve.clone() };
        let msg = c.id;
        set.spawn(async move { who.click(msg, &id).await });
    }
    let replies: Vec<Reply> = set.join_all().await;
    let grants = sim.fake.with(|w| w.count_requests("PUT", &group_role)) - grants_before;
    assert_eq!(grants, 1, "one role grant");
    assert_eq!(status_of(&sim, bob.user_id).await, "approved");
    let approved = replies.iter().filter(|r| r.text().contains("is now a member")).count();
    assert_eq!(approved, 1, "one decision");
    for r in replies.iter().filter(|r| r.callback_type() != 9 && !r.text().contains("is now a member")) {
        assert!(r.text().contains("already approved by <@"), "{}", r.text());
    }
    assert_eq!(bob.dms().len(), 1);
}

#[tokio::test]
async fn outsiders_other_leaders_forged_ids_and_former_leaders_cannot_decide() {
    let Setup { sim, ada, lena, role, thread_parent } = setup().await;
    group(&sim, &ada, "Go", "Closed").await;
    let gopher = sim.member("gopher");
    make_leader(&ada, "Go", &gopher).await;
    let bob = sim.member("bob");
    let eve = sim.member("eve");
    ask(&bob, "Rust", None).await;
    let c = card(&sim, thread_of(&sim, thread_parent));
    let approve = button(&c, "Approve");
    for who in [&eve, &gopher, &bob] {
        let r = who.click(c.id, &approve).await;
        assert!(r.text().contains("Only this group's leaders"), "{}", r.text());
        let r = who.click(c.id, &button(&c, "Deny")).await;
        assert!(r.text().contains("Only this group's leaders"), "{}", r.text());
    }
    for forged in ["gh:rqa:999999", "gh:rqa:0", "gh:rqa:1x", "gh:rqa:-1"] {
        let r = lena.click(c.id, forged).await;
        assert!(r.text().contains("Error"), "{forged}: {}", r.text());
    }
    assert_eq!(status_of(&sim, bob.user_id).await, "pending");
    assert!(!bob.roles().contains(&role));

    let thread = thread_of(&sim, thread_parent);
    assert!(sim.fake.with(|w| w.can_view_thread(thread, lena.user_id)));
    let r = ada.slash("group leader remove", &[("group", "Rust"), ("user", &lena.user_id.to_string())]).await;
    assert!(!r.text().contains("Error"), "{}", r.text());
    assert!(
        !sim.fake.with(|w| w.can_view_thread(thread, lena.user_id)),
        "a former leader no longer sees the group's review thread"
    );
    let r = lena.click(c.id, &approve).await;
    assert!(r.text().contains("Only this group's leaders"), "{}", r.text());
    assert_eq!(status_of(&sim, bob.user_id).await, "pending");
}

#[tokio::test]
async fn closed_dms_withdraw_already_member_and_banned() {
    let Setup { sim, ada, lena, .. } = setup().await;
    let shy = sim.fake.add_user("shy", 365, false);
    sim.fake.join_guild(shy, 30);
    let shy = sim.fake.actor(shy);
    ask(&shy, "Rust", None).await;
    // leaders decide from /requests too
    let l = lena.slash("requests", &[]).await;
    assert!(l.text().contains("waiting for your decision"), "{}", l.text());
    let r = l.click("Approve #1").await;
    assert!(r.text().contains("DMs are closed"), "{}", r.text());
    let mine = shy.slash("requests", &[]).await;
    assert!(mine.text().contains("approved by"), "{}", mine.text());

    // already a member
    let r = ask(&shy, "Rust", None).await;
    assert!(r.text().contains("already a member"), "{}", r.text());

    // withdraw
    let bob = sim.member("bob");
    ask(&bob, "Rust", None).await;
    let mine = bob.slash("requests", &[]).await;
    let r = mine.click("Withdraw #2").await;
    assert!(r.text().contains("You withdrew request #2"), "{}", r.text());
    assert_eq!(status_of(&sim, bob.user_id).await, "withdrawn");

    // banned
    let eve = sim.member("eve");
    let r = ada.slash("group ban", &[("group", "Rust"), ("user", &eve.user_id.to_string())]).await;
    assert!(!r.text().contains("Error"), "{}", r.text());
    let r = ask(&eve, "Rust", None).await;
    assert!(r.text().contains("banned"), "{}", r.text());
}

#[tokio::test]
async fn a_failed_grant_leaves_the_request_pending_and_tells_both() {
    let Setup { sim, lena, role, thread_parent, .. } = setup().await;
    let bob = sim.member("bob");
    ask(&bob, "Rust", None).await;
    let c = card(&sim, thread_of(&sim, thread_parent));
    sim.fake.move_role(role, 1000);
    let r = lena.click(c.id, &button(&c, "Approve")).await;
    assert!(r.text().contains("I couldn't admit the requester"), "{}", r.text());
    assert_eq!(status_of(&sim, bob.user_id).await, "pending");
    assert!(!bob.roles().contains(&role));
    assert!(bob.dms().iter().any(|m| m.content.contains("couldn't give you the group's role")));
    let mine = bob.slash("requests", &[]).await;
    assert!(mine.text().contains("could not be completed"), "{}", mine.text());
    assert!(components_of(&refreshed(&sim, &c)).iter().any(|b| b.label == "Approve"), "still decidable");
}

/// N6: an approval commits and is answered at once; its grant waits in the
/// queue. When Discord refuses it for good only later (here: 500s past the
/// meter's own retries first, then, on the retry after the backoff, a 403),
/// the admission is ended,
/// the request reopened with a note, its card offers the decision again,
/// the requester is told, the audit trail says why, and the 403 is never
/// retried.
#[tokio::test]
async fn a_grant_refused_after_the_approval_was_answered_reopens_the_request() {
    let Setup { sim, lena, role, thread_parent, .. } = setup().await;
    let bob = sim.member("bob");
    ask(&bob, "Rust", None).await;
    let c = card(&sim, thread_of(&sim, thread_parent));
    let grant = format!("/members/{}/roles/{role}", bob.user_id);
    sim.fake.inject(fake_discord::Fault::server_error("PUT", &grant).times(8));
    let r = lena.click(c.id, &button(&c, "Approve")).await;
    assert!(r.text().contains("is now a member of **Rust**"), "the decision is answered at once: {}", r.text());
    assert_eq!(status_of(&sim, bob.user_id).await, "approved");
    assert!(!bob.roles().contains(&role), "Discord has not granted it yet");
    sim.idle().await;
    assert_eq!(sim.count("select count(*) from role_syncs where done_at is null").await, 1, "the grant waits");
    sim.fake.clear_faults();
    sim.fake.inject(fake_discord::Fault::missing_permissions("PUT", &grant).times(5));

    // Past the first backoff the applier tries again; Discord refuses for good.
    sim.clock.advance(chrono::Duration::seconds(30)).await;
    let user = bob.user_id;
    sim.fake
        .wait_until("the requester is told", move |w| {
            w.dm_channel_of(user).is_some_and(|c| {
                w.channel_messages(c).iter().any(|m| m.content.contains("couldn't give you the group's role"))
            })
        })
        .await;
    assert_eq!(status_of(&sim, bob.user_id).await, "pending", "the request is open again");
    let members = sim.count(&format!("select count(*) from memberships where user_id = {}", bob.user_id)).await;
    assert_eq!(members, 0, "the admission was ended");
    let failed = sim.count("select count(*) from audit_log where action = 'request.approve_failed'").await;
    assert_eq!(failed, 1, "the audit trail says why");
    let c = refreshed(&sim, &c);
    assert!(components_of(&c).iter().any(|b| b.label == "Approve"), "decidable again: {}", message_text(&c));
    let mine = bob.slash("requests", &[]).await;
    assert!(mine.text().contains("could not be completed"), "{}", mine.text());
    // The 403 is never retried, however long the queue runs.
    sim.clock.advance(chrono::Duration::minutes(10)).await;
    let refused =
        sim.fake.with(|w| w.requests.iter().filter(|(m, p, s)| m == "PUT" && p.contains(&grant) && *s == 403).count());
    assert_eq!(refused, 1, "the 403 is not retried");
    assert_eq!(sim.count("select count(*) from role_syncs where done_at is null").await, 0);

    // Approved again once Discord lets it: granted.
    sim.fake.clear_faults();
    let r = lena.click(c.id, &button(&c, "Approve")).await;
    assert!(r.text().contains("is now a member of **Rust**"), "{}", r.text());
    assert!(bob.roles().contains(&role));
    sim.assert_consistent().await;
}

#[tokio::test]
async fn the_group_page_button_sends_a_request_behind_the_guidelines() {
    let Setup { sim, ada, .. } = setup().await;
    sim.set_guidelines(&ada, "Be kind.").await;
    let bob = sim.member("bob");
    let page = bob.slash("group info", &[("group", "Rust")]).await;
    let r = page.click("Send request to join").await;
    assert!(r.text().contains("Be kind."), "the guidelines first: {}", r.text());
    assert_eq!(sim.count("select count(*) from join_requests").await, 0);
    let agreed = r.click("I agree").await;
    // agreeing leads back to the closed group's explanation and its button
    let r = agreed.click("Send request to join").await;
    assert!(r.text().contains("was sent"), "{}", r.text());
    assert_eq!(status_of(&sim, bob.user_id).await, "pending");
}

/// The latest card the bot DMed `who`.
fn dm_card(who: &Actor) -> Message {
    who.dms().into_iter().rev().find(|m| !m.embeds.as_array().unwrap().is_empty()).expect("a card by DM")
}

/// A closed group "Rust" and no requests channel.
async fn no_requests_channel() -> (Sim, Actor) {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    group(&sim, &ada, "Rust", "Closed").await;
    (sim, ada)
}

#[tokio::test]
async fn a_staff_channel_without_send_messages_is_a_requests_channel() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let lena = sim.member("lena");
    let (role, _) = group(&sim, &ada, "Rust", "Closed").await;
    make_leader(&ada, "Rust", &lena).await;
    // Members may not post here, and neither may the bot in the channel
    // itself: it only has what a requests channel needs.
    let (gid, bot) = (sim.fake.guild_id, sim.fake.bot_user_id());
    let five = perms::VIEW_CHANNEL
        | perms::CREATE_PRIVATE_THREADS
        | perms::SEND_MESSAGES_IN_THREADS
        | perms::EMBED_LINKS
        | perms::READ_MESSAGE_HISTORY;
    let staff = sim.fake.create_channel_by_hand(
        "join-requests",
        channel_type::TEXT,
        None,
        vec![
            Overwrite { id: gid, kind: 0, allow: 0, deny: perms::SEND_MESSAGES },
            Overwrite { id: bot, kind: 1, allow: five, deny: perms::SEND_MESSAGES },
        ],
    );
    assert_eq!(sim.fake.with(|w| w.channel_permissions(staff, bot)) & perms::SEND_MESSAGES, 0);
    let r = ada.slash("config requests-channel", &[("channel", &staff.to_string())]).await;
    assert!(r.text().contains(&format!("the requests channel is <#{staff}>")), "{}", r.text());
    // The mod channel posts in the channel itself: there it is refused.
    let r = ada.slash("config mod-channel", &[("channel", &staff.to_string())]).await;
    assert!(r.text().contains("I'm missing Send Messages in"), "{}", r.text());

    let bob = sim.member("bob");
    let r = ask(&bob, "Rust", Some("hello")).await;
    assert!(r.text().contains("The group's leaders have it now"), "{}", r.text());
    let thread = thread_of(&sim, staff);
    let c = card(&sim, thread);
    assert!(message_text(&c).contains(&format!("<@{}>", bob.user_id)), "{}", message_text(&c));
    assert!(sim.fake.with(|w| w.can_view_thread(thread, lena.user_id)), "the leader is in the review thread");
    assert!(!sim.fake.with(|w| w.can_view_thread(thread, bob.user_id)));
    assert!(sim.fake.with(|w| w.channel_messages(staff).is_empty()), "nothing was posted in the channel itself");
    assert!(lena.dms().is_empty(), "the thread reached her: no DM");
    let r = lena.click(c.id, &button(&c, "Approve")).await;
    assert!(r.text().contains("is now a member of **Rust**"), "{}", r.text());
    assert!(bob.roles().contains(&role));
    assert!(components_of(&refreshed(&sim, &c)).is_empty());
}

#[tokio::test]
async fn without_a_requests_channel_the_leader_gets_the_card_by_dm_and_approves_there() {
    let (sim, ada) = no_requests_channel().await;
    let lena = sim.member("lena");
    make_leader(&ada, "Rust", &lena).await;
    let role = sim.fake.role_named("Rust").unwrap().id;
    let bob = sim.member("bob");
    let r = ask(&bob, "Rust", Some("I write Rust at work")).await;
    assert!(r.text().contains("The group's leaders have it now"), "{}", r.text());
    let c = dm_card(&lena);
    let text = message_text(&c);
    assert!(text.contains("**Rust**, a group you lead"), "the DM says which group: {text}");
    assert!(text.contains(&format!("<@{}>", bob.user_id)) && text.contains("I write Rust at work"), "{text}");
    assert!(text.contains(&format!("discord.com/channels/{}", sim.fake.guild_id)), "and links its server: {text}");
    assert_eq!(c.allowed_mentions["parse"], serde_json::json!([]), "the card pings nobody");

    let r = lena.click(c.id, &button(&c, "Approve")).await;
    assert!(r.is_ephemeral());
    assert!(r.text().contains("is now a member of **Rust**"), "{}", r.text());
    assert!(bob.roles().contains(&role), "admitted from a press in a DM");
    assert_eq!(status_of(&sim, bob.user_id).await, "approved");
    let c = refreshed(&sim, &c);
    assert!(components_of(&c).is_empty(), "the DM card's buttons are gone");
    assert!(message_text(&c).contains(&format!("approved by <@{}>", lena.user_id)), "{}", message_text(&c));
    assert!(bob.dms().iter().any(|m| m.content.contains("was approved")));
    // Pressed again (an old client): the first decision stands.
    let r = lena.click(c.id, "gh:rqa:1").await;
    assert!(r.text().contains("already approved by <@"), "{}", r.text());
}

#[tokio::test]
async fn a_requests_channel_the_bot_can_no_longer_use_sends_the_card_by_dm() {
    let Setup { sim, lena, thread_parent, .. } = setup().await;
    // Someone hides the requests channel from the bot.
    sim.fake.mutate(|w| {
        let bot = w.bot_user_id;
        let ch = w.channels.get_mut(&thread_parent).unwrap();
        ch.overwrites.push(Overwrite { id: bot, kind: 1, allow: 0, deny: perms::VIEW_CHANNEL });
    });
    let bob = sim.member("bob");
    let r = ask(&bob, "Rust", None).await;
    assert!(r.text().contains("The group's leaders have it now"), "{}", r.text());
    assert!(sim.fake.with(|w| w.channels.values().all(|c| c.parent_id != Some(thread_parent))), "no thread");
    let c = dm_card(&lena);
    let r = lena.click(c.id, &button(&c, "Approve")).await;
    assert!(r.text().contains("is now a member of **Rust**"), "{}", r.text());
}

#[tokio::test]
async fn two_leaders_each_get_a_card_and_both_show_the_first_decision() {
    let (sim, ada) = no_requests_channel().await;
    let (lena, mia) = (sim.member("lena"), sim.member("mia"));
    make_leader(&ada, "Rust", &lena).await;
    make_leader(&ada, "Rust", &mia).await;
    let bob = sim.member("bob");
    ask(&bob, "Rust", None).await;
    let (lenas, mias) = (dm_card(&lena), dm_card(&mia));
    assert_ne!(lenas.channel_id, mias.channel_id, "one card in each leader's DMs");
    let cards = sim.count("select count(*) from request_cards where place = 'dm'").await;
    assert_eq!(cards, 2);

    // mia denies in her DMs, with a reason, through the form
    let form = mia.click(mias.id, &button(&mias, "Deny")).await;
    let r = mia.submit(&form.modal(), &[("reason", "Introduce yourself first")]).await;
    assert!(r.text().contains("Denied request #1"), "{}", r.text());
    assert_eq!(status_of(&sim, bob.user_id).await, "denied");
    for c in [&lenas, &mias] {
        let c = refreshed(&sim, c);
        assert!(components_of(&c).is_empty(), "no buttons left on either card");
        assert!(message_text(&c).contains(&format!("denied by <@{}>", mia.user_id)), "{}", message_text(&c));
    }
    // lena's stale press is told who decided
    let r = lena.click(lenas.id, &button(&lenas, "Approve")).await;
    assert!(r.text().contains(&format!("already denied by <@{}>", mia.user_id)), "{}", r.text());
    assert!(!bob.has_role_named("Rust"));
    assert_eq!(bob.dms().len(), 1, "told once");
}

#[tokio::test]
async fn a_dm_card_is_refused_to_whoever_may_not_decide() {
    let (sim, ada) = no_requests_channel().await;
    let lena = sim.member("lena");
    make_leader(&ada, "Rust", &lena).await;
    make_leader(&ada, "Rust", &ada).await;
    let bob = sim.member("bob");
    ask(&bob, "Rust", None).await;
    let (lenas, adas) = (dm_card(&lena), dm_card(&ada));
    let approve = button(&lenas, "Approve");

    // lena no longer leads Rust: her DM card no longer lets her decide
    let r = ada.slash("group leader remove", &[("group", "Rust"), ("user", &lena.user_id.to_string())]).await;
    assert!(!r.text().contains("Error"), "{}", r.text());
    let r = lena.click(lenas.id, &approve).await;
    assert!(r.text().contains("Only this group's leaders"), "{}", r.text());
    let r = lena.click(lenas.id, &button(&lenas, "Deny")).await;
    assert!(r.text().contains("Only this group's leaders"), "no form for her: {}", r.text());

    // eve, no leader, presses the card's button from a DM of her own
    // (a forged press: only the id names the request)
    let eve = sim.member("eve");
    ask(&eve, "Rust", None).await;
    let form = ada.click(dm_card(&ada).id, &button(&dm_card(&ada), "Deny")).await;
    ada.submit(&form.modal(), &[]).await;
    let evedm = eve.dms().last().cloned().expect("eve's outcome DM");
    let r = eve.click(evedm.id, &approve).await;
    assert!(r.text().contains("Only this group's leaders"), "{}", r.text());
    for forged in ["gh:rqa:999999", "gh:rqd:999999"] {
        let r = eve.click(evedm.id, forged).await;
        assert!(r.text().contains("doesn't exist"), "{forged}: {}", r.text());
    }
    assert_eq!(status_of(&sim, bob.user_id).await, "pending");
    assert!(!bob.has_role_named("Rust"));

    // ada steps down as leader too, but is an admin: her DM card still works
    let r = ada.slash("group leader remove", &[("group", "Rust"), ("user", &ada.user_id.to_string())]).await;
    assert!(!r.text().contains("Error"), "{}", r.text());
    let r = ada.click(adas.id, &button(&adas, "Approve")).await;
    assert!(r.text().contains("is now a member of **Rust**"), "{}", r.text());
    assert!(components_of(&refreshed(&sim, &lenas)).is_empty(), "the former leader's copy shows it too");
}

#[tokio::test]
async fn when_no_leader_can_be_reached_the_card_goes_to_the_mod_channel() {
    let (sim, ada) = no_requests_channel().await;
    let shy = sim.fake.add_user("shy", 365, false);
    sim.fake.join_guild(shy, 30);
    let shy = sim.fake.actor(shy);
    make_leader(&ada, "Rust", &shy).await;
    let mods = sim.fake.create_channel_by_hand("mods", channel_type::TEXT, None, vec![]);
    let r = ada.slash("config mod-channel", &[("channel", &mods.to_string())]).await;
    assert!(r.text().contains("Done"), "{}", r.text());
    let bob = sim.member("bob");
    let r = ask(&bob, "Rust", None).await;
    assert!(r.text().contains("so the admins have it"), "{}", r.text());
    let c = card(&sim, mods);
    assert!(message_text(&c).contains("None of its leaders could be reached"), "{}", message_text(&c));
    let r = ada.click(c.id, &button(&c, "Approve")).await;
    assert!(r.text().contains("is now a member of **Rust**"), "{}", r.text());
    assert!(message_text(&refreshed(&sim, &c)).contains("approved by"));

    // A group without any leader: the mod channel too.
    group(&sim, &ada, "Go", "Closed").await;
    let r = ask(&bob, "Go", None).await;
    assert!(r.text().contains("so the admins have it"), "{}", r.text());
    assert!(message_text(&card(&sim, mods)).contains("**Go**"));
}

#[tokio::test]
async fn reaching_nobody_the_request_waits_in_requests() {
    let (sim, ada) = no_requests_channel().await;
    let shy = sim.fake.add_user("lena", 365, false);
    sim.fake.join_guild(shy, 30);
    let lena = sim.fake.actor(shy);
    make_leader(&ada, "Rust", &lena).await;
    let role = sim.fake.role_named("Rust").unwrap().id;
    let bob = sim.member("bob");
    let r = ask(&bob, "Rust", Some("hello")).await;
    assert!(r.text().contains("will see it in `/requests`"), "{}", r.text());
    assert_eq!(sim.count("select count(*) from request_cards").await, 0);
    // a leader of another group sees nothing of it
    group(&sim, &ada, "Go", "Closed").await;
    let gopher = sim.member("gopher");
    make_leader(&ada, "Go", &gopher).await;
    let other = gopher.slash("requests", &[]).await;
    assert!(!other.text().contains("hello") && !other.has_button("Approve #1"), "{}", other.text());
    let l = lena.slash("requests", &[]).await;
    assert!(l.text().contains("hello"), "{}", l.text());
    let form = l.click("Deny #1").await;
    let r = lena.submit(&form.modal(), &[]).await;
    assert!(r.text().contains("Denied request #1"), "{}", r.text());
    assert!(bob.dms()[0].content.contains("none given"), "{}", bob.dms()[0].content);
    assert!(!bob.roles().contains(&role));
}

#[tokio::test]
async fn first_requests_arriving_at_once_share_one_review_thread() {
    let Setup { sim, thread_parent, .. } = setup().await;
    // Eight members ask at the same moment; none has a thread to find yet.
    let members: Vec<Actor> = (0..8).map(|n| sim.member(&format!("asker{n}"))).collect();
    let mut set = tokio::task::JoinSet::new();
    for m in members.clone() {
        set.spawn(async move { ask(&m, "Rust", Some("Hello!")).await });
    }
    let replies: Vec<Reply> = set.join_all().await;
    for r in &replies {
        assert!(r.text().contains("sent"), "each request is sent: {}", r.text());
    }
    let threads: Vec<u64> = sim.fake.with(|w| {
        w.channels
            .values()
            .filter(|c| c.parent_id == Some(thread_parent) && c.kind == channel_type::PRIVATE_THREAD)
            .map(|c| c.id)
            .collect()
    });
    assert_eq!(threads.len(), 1, "one review thread for the group, not one per first request");
    let cards = sim.fake.with(|w| {
        w.channel_messages(threads[0]).iter().filter(|m| m.embeds.as_array().is_some_and(|e| !e.is_empty())).count()
    });
    assert_eq!(cards, members.len(), "every card is in that thread");
}
