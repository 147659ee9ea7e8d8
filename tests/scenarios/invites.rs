//! Invitations (M5): `/invite`, the DM card with *Accept* / *Decline*
//! (pressed in the DM: a user, no server), `/invites` for closed DMs, expiry
//! in the background pass, the daily cap, revoking, the inviter told of every
//! outcome, and the audit trail (A2).

use crate::sim::{group, Sim};
use fake_discord::scenario::{components_of, message_text};
use fake_discord::world::Message;
use fake_discord::{Actor, Reply};

async fn make_leader(ada: &Actor, group: &str, who: &Actor) {
    let r = ada.slash("group leader add", &[("group", group), ("user", &who.user_id.to_string())]).await;
    assert!(!r.text().contains("Error"), "{}", r.text());
}

async fn invite(who: &Actor, user: u64, group: &str) -> Reply {
    who.slash("invite", &[("user", &user.to_string()), ("group", group)]).await
}

/// The latest invitation card in the user's DMs (a message the bot posted
/// on its own, not an answer to a button).
fn dm_card(who: &Actor) -> Message {
    let card = who
        .dms()
        .into_iter()
        .rev()
        .find(|m| {
            m.interaction_id.is_none() && (m.content.contains("invitation #") || m.content.contains("invited you"))
        })
        .unwrap_or_else(|| panic!("no invitation card in {}'s DMs", who.name));
    who.fake.with(|w| w.find_message(card.id).cloned()).expect("card still there")
}

fn button_id(m: &Message, label: &str) -> String {
    components_of(m)
        .into_iter()
        .find(|c| c.label == label)
        .unwrap_or_else(|| panic!("no {label} on {}", message_text(m)))
        .custom_id
}

/// The bot's DMs to a user that are not interaction answers, as text.
fn dm_texts(who: &Actor) -> Vec<String> {
    who.dms().iter().filter(|m| m.interaction_id.is_none()).map(message_text).collect()
}

async fn status_of(sim: &Sim, invitee: u64) -> String {
    sqlx::query_scalar::<_, String>(&format!(
        "select status from invitations where invitee_id = {invitee} order by id desc limit 1"
    ))
    .fetch_one(&sim.pool)
    .await
    .unwrap()
}

async fn audited(sim: &Sim, action: &str) -> i64 {
    sim.count(&format!("select count(*) from audit_log where action = '{action}'")).await
}

struct Setup {
    sim: Sim,
    ada: Actor,
    lena: Actor,
    bob: Actor,
}

/// A closed group "Rust" led by lena; bob is in the server.
async fn setup() -> Setup {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let lena = sim.member("lena");
    let bob = sim.member("bob");
    group(&sim, &ada, "Rust", "Closed").await;
    make_leader(&ada, "Rust", &lena).await;
    Setup { sim, ada, lena, bob }
}

/// N6: an accepted invitation is answered at once; its grant waits in the
/// queue. When Discord refuses it for good only later, the admission is
/// ended, the invitation is open again (its DM card offers Accept again),
/// the invitee is told, the audit trail says why, and accepting again once
/// Discord allows it admits them.
#[tokio::test]
async fn a_grant_refused_after_the_acceptance_was_answered_reopens_the_invitation() {
    let Setup { sim, lena, bob, .. } = setup().await;
    let role = sim.fake.role_named("Rust").expect("the group's role").id;
    invite(&lena, bob.user_id, "Rust").await;
    let card = dm_card(&bob);
    let grant = format!("/members/{}/roles/{role}", bob.user_id);
    sim.fake.inject(fake_discord::Fault::server_error("PUT", &grant).times(8));
    let r = bob.click(card.id, &button_id(&card, "Accept")).await;
    assert!(r.text().contains("you're a member of **Rust** now"), "answered at once: {}", r.text());
    assert_eq!(status_of(&sim, bob.user_id).await, "accepted");
    sim.idle().await;
    assert_eq!(sim.count("select count(*) from role_syncs where done_at is null").await, 1, "the grant waits");
    sim.fake.clear_faults();
    sim.fake.inject(fake_discord::Fault::missing_permissions("PUT", &grant).times(5));

    sim.clock.advance(chrono::Duration::seconds(30)).await;
    let user = bob.user_id;
    sim.fake
        .wait_until("the invitee is told", move |w| {
            w.dm_channel_of(user).is_some_and(|c| {
                w.channel_messages(c).iter().any(|m| m.content.contains("The invitation is open again"))
            })
        })
        .await;
    assert_eq!(status_of(&sim, bob.user_id).await, "pending", "the invitation is open again");
    assert_eq!(sim.count(&format!("select count(*) from memberships where user_id = {}", bob.user_id)).await, 0);
    assert_eq!(audited(&sim, "invite.accept_failed").await, 1);
    assert!(!bob.has_role_named("Rust"));
    let card = dm_card(&bob);
    assert!(components_of(&card).iter().any(|b| b.label == "Accept"), "{}", message_text(&card));
    let refused =
        sim.fake.with(|w| w.requests.iter().filter(|(m, p, s)| m == "PUT" && p.contains(&grant) && *s == 403).count());
    assert_eq!(refused, 1, "the 403 is not retried");

    sim.fake.clear_faults();
    let r = bob.click(card.id, &button_id(&card, "Accept")).await;
    assert!(r.text().contains("you're a member of **Rust** now"), "{}", r.text());
    assert!(bob.has_role_named("Rust"));
    sim.assert_consistent().await;
}

#[tokio::test]
async fn invitations_accept_into_a_closed_group_from_the_dm() {
    let Setup { sim, lena, bob, .. } = setup().await;
    // bob had asked to join; the invitation settles that request
    let r = bob.slash("request-join", &[("group", "Rust")]).await;
    assert!(r.text().contains("was sent"), "{}", r.text());

    let r = invite(&lena, bob.user_id, "Rust").await;
    assert!(r.is_ephemeral());
    assert!(r.text().contains("Invitation #1 sent") && r.text().contains("got a DM"), "{}", r.text());
    let card = dm_card(&bob);
    let text = message_text(&card);
    assert!(text.contains(&format!("<@{}> invited you to join **Rust**", lena.user_id)), "{text}");
    assert!(text.contains("Closed"), "the group card is shown: {text}");
    assert_eq!(card.allowed_mentions["parse"], serde_json::json!([]), "nobody is pinged");

    // Accept, pressed in the DM: the interaction carries a user and no server.
    let r = bob.click(card.id, &button_id(&card, "Accept")).await;
    assert!(r.text().contains("you're a member of **Rust** now"), "{}", r.text());
    assert!(sim.fake.with(|w| w.interactions[&r.interaction_id].guild_id.is_none()));
    assert!(bob.has_role_named("Rust"), "admitted without a separate approval");
    assert_eq!(sim.count(&format!("select count(*) from memberships where user_id = {}", bob.user_id)).await, 1);
    assert_eq!(
        sim.count(&format!("select count(*) from subscriptions where user_id = {} and kind = 'group'", bob.user_id))
            .await,
        1
    );
    assert_eq!(status_of(&sim, bob.user_id).await, "accepted");

    // the card shows the outcome, without buttons
    let card = dm_card(&bob);
    assert!(components_of(&card).is_empty(), "buttons off");
    assert!(message_text(&card).contains("accepted"), "{}", message_text(&card));
    // the inviter learns it
    assert!(
        dm_texts(&lena)
            .iter()
            .any(|t| t.contains(&format!("<@{}> accepted your invitation to join **Rust**", bob.user_id))),
        "{:?}",
        dm_texts(&lena)
    );
    // the pending request was settled, saying why
    let status: String = sqlx::query_scalar("select status from join_requests where user_id = $1")
        .bind(bob.user_id as i64)
        .fetch_one(&sim.pool)
        .await
        .unwrap();
    assert_eq!(status, "withdrawn", "nobody approved it: it gave way to the invitation");
    let mine = bob.slash("requests", &[]).await;
    assert!(mine.text().contains("Joined through"), "{}", mine.text());
    assert_eq!(
        sim.count(&format!(
            "select count(*) from audit_log where action = 'request.withdraw' and actor_id = {}",
            bob.user_id
        ))
        .await,
        1,
        "audited as the invitee's, not as an approval by the inviter"
    );

    // pressing again changes nothing
    let again = bob.click(card.id, &CustomIdOf::accept(1)).await;
    assert!(again.text().contains("no longer open: accepted"), "{}", again.text());
    assert_eq!(sim.count(&format!("select count(*) from memberships where user_id = {}", bob.user_id)).await, 1);

    // audited: actor, subject, group, action
    assert_eq!(audited(&sim, "invite.create").await, 1);
    assert_eq!(audited(&sim, "invite.accept").await, 1);
    assert_eq!(audited(&sim, "membership.invite_accepted").await, 1);
    let row: (i64, i64, Option<i64>) =
        sqlx::query_as("select actor_id, subject_id, group_id from audit_log where action = 'invite.create'")
            .fetch_one(&sim.pool)
            .await
            .unwrap();
    assert_eq!((row.0 as u64, row.1 as u64), (lena.user_id, bob.user_id));
    assert!(row.2.is_some());
}

/// Custom ids as the bot writes them (for presses of stale or forged buttons).
struct CustomIdOf;
impl CustomIdOf {
    fn accept(id: i64) -> String {
        guildhall::components::CustomId::InviteAccept { invitation: id }.encode()
    }
    fn revoke(id: i64) -> String {
        guildhall::components::CustomId::InviteRevoke { invitation: id }.encode()
    }
}

#[tokio::test]
async fn accepting_shows_the_guidelines_first_and_continues_after_i_agree() {
    let Setup { sim, ada, lena, bob } = setup().await;
    sim.set_guidelines(&ada, "Be kind.").await;
    invite(&lena, bob.user_id, "Rust").await;
    let card = dm_card(&bob);
    let r = bob.click(card.id, &button_id(&card, "Accept")).await;
    assert!(r.text().contains("Be kind.") && r.text().contains("community guidelines"), "{}", r.text());
    assert!(!bob.has_role_named("Rust"), "nobody joins without accepting the guidelines");
    assert_eq!(status_of(&sim, bob.user_id).await, "pending");
    let done = r.click("I agree").await;
    assert!(done.text().contains("you're a member of **Rust** now"), "{}", done.text());
    assert!(bob.has_role_named("Rust"));
    assert_eq!(status_of(&sim, bob.user_id).await, "accepted");
    assert_eq!(audited(&sim, "guidelines.accept").await, 1);
}

#[tokio::test]
async fn invitations_decline_tells_the_inviter_and_frees_a_new_invitation() {
    let Setup { sim, lena, bob, .. } = setup().await;
    invite(&lena, bob.user_id, "Rust").await;
    let card = dm_card(&bob);
    let r = bob.click(card.id, &button_id(&card, "Decline")).await;
    assert!(r.text().contains("You declined"), "{}", r.text());
    assert!(!bob.has_role_named("Rust"));
    assert_eq!(status_of(&sim, bob.user_id).await, "declined");
    let card = dm_card(&bob);
    assert!(components_of(&card).is_empty() && message_text(&card).contains("declined"), "{}", message_text(&card));
    assert!(dm_texts(&lena).iter().any(|t| t.contains("declined your invitation")), "{:?}", dm_texts(&lena));
    assert_eq!(audited(&sim, "invite.decline").await, 1);
    // Accept on the declined card is refused
    let r = bob.click(card.id, &CustomIdOf::accept(1)).await;
    assert!(r.text().contains("no longer open: declined"), "{}", r.text());
    // a new invitation may be sent
    let r = invite(&lena, bob.user_id, "Rust").await;
    assert!(r.text().contains("Invitation #2 sent"), "{}", r.text());
}

#[tokio::test]
async fn invitations_expire_in_the_background_once_and_the_inviter_is_told() {
    let Setup { mut sim, ada, lena, bob } = setup().await;
    let r = ada.slash("config invitations", &[("expiry_days", "2")]).await;
    assert!(r.text().contains("expire after 2 days"), "{}", r.text());
    let show = ada.slash("config show", &[]).await;
    assert!(show.text().contains("Expire after 2 days; at most 10"), "{}", show.text());
    assert_eq!(audited(&sim, "config.invitations").await, 1);

    invite(&lena, bob.user_id, "Rust").await;
    // Two bot processes share the database while time passes (no interactions).
    sim.start_second_bot().await;
    sim.clock.advance(chrono::Duration::hours(47)).await;
    assert_eq!(status_of(&sim, bob.user_id).await, "pending", "not yet");
    sim.clock.advance(chrono::Duration::hours(2)).await;
    assert_eq!(status_of(&sim, bob.user_id).await, "expired");
    let card = dm_card(&bob);
    assert!(components_of(&card).is_empty() && message_text(&card).contains("expired"), "{}", message_text(&card));
    let told = |t: &String| t.contains("expired without an answer");
    assert_eq!(dm_texts(&lena).iter().filter(|t| told(t)).count(), 1, "told once, by one of the two processes");
    // once, however many passes follow
    sim.clock.advance(chrono::Duration::hours(24)).await;
    assert_eq!(dm_texts(&lena).iter().filter(|t| told(t)).count(), 1);
    assert_eq!(audited(&sim, "invite.expire").await, 1);
    sim.stop_second_bot().await;
    // Accept on the expired card is refused
    let r = bob.click(card.id, &CustomIdOf::accept(1)).await;
    assert!(r.text().contains("no longer open: expired"), "{}", r.text());
    assert!(!bob.has_role_named("Rust"));
    let mine = lena.slash("invites", &[]).await;
    assert!(mine.text().contains("Invitations you sent") && mine.text().contains("expired"), "{}", mine.text());
}

#[tokio::test]
async fn an_invitation_past_its_expiry_refuses_accept_before_the_pass_marks_it() {
    let Setup { sim, lena, bob, .. } = setup().await;
    invite(&lena, bob.user_id, "Rust").await;
    let card = dm_card(&bob);
    // Stop the background loop: nothing marks the row expired.
    let mut sim = sim;
    sim.stop_bot().await;
    sim.clock.advance(chrono::Duration::days(8)).await;
    sim.start_bot().await;
    // The new bot's background loop waits for the next move of the clock.
    let r = bob.click(card.id, &button_id(&card, "Accept")).await;
    assert!(r.text().contains("no longer open") && r.text().contains("expired"), "{}", r.text());
    assert!(!bob.has_role_named("Rust"));
}

#[tokio::test]
async fn the_daily_cap_refuses_the_next_invitation_until_a_day_has_passed() {
    let Setup { sim, ada, lena, bob } = setup().await;
    let carl = sim.member("carl");
    let dave = sim.member("dave");
    // bad values and non-admins change nothing
    // Out of range never leaves Discord's client (min_value, max_value).
    let general = sim.fake.general_channel();
    let refused = ada.try_slash_in(general, "config invitations", &[("cap_per_day", "0")]).await.err();
    assert!(refused.as_deref().is_some_and(|e| e.contains("cap_per_day: at least 1")), "{refused:?}");
    let refused = ada.try_slash_in(general, "config invitations", &[("expiry_days", "31")]).await.err();
    assert!(refused.as_deref().is_some_and(|e| e.contains("expiry_days: at most 30")), "{refused:?}");
    let r = ada.slash("config invitations", &[]).await;
    assert!(r.text().contains("Give `expiry_days`"), "{}", r.text());
    let r = lena.slash("config invitations", &[("cap_per_day", "50")]).await;
    assert!(r.text().contains("Error"), "{}", r.text());
    assert_eq!(audited(&sim, "config.invitations").await, 0);
    let r = ada.slash("config invitations", &[("cap_per_day", "2")]).await;
    assert!(r.text().contains("may send 2 in any 24 hours"), "{}", r.text());

    assert!(invite(&lena, bob.user_id, "Rust").await.text().contains("sent"));
    sim.clock.advance(chrono::Duration::hours(1)).await;
    assert!(invite(&lena, carl.user_id, "Rust").await.text().contains("sent"));
    let r = invite(&lena, dave.user_id, "Rust").await;
    assert!(r.text().contains("You've sent 2 invitations in the last 24 hours"), "{}", r.text());
    assert!(dave.dms().is_empty(), "nothing sent");
    assert_eq!(sim.count("select count(*) from invitations").await, 2);
    // the cap is per inviter: another leader may still invite
    let lou = sim.member("lou");
    make_leader(&ada, "Rust", &lou).await;
    assert!(invite(&lou, dave.user_id, "Rust").await.text().contains("sent"));
    let r = lou.slash("invites", &[]).await;
    let revoke = r.click("Revoke #3").await;
    assert!(revoke.text().contains("You revoked invitation #3"), "{}", revoke.text());
    // a rolling day after the first invitation, lena may invite again
    sim.clock.advance(chrono::Duration::hours(23)).await;
    assert!(invite(&lena, dave.user_id, "Rust").await.text().contains("sent"));
}

#[tokio::test]
async fn revoke_by_a_leader_edits_the_card_tells_the_inviter_and_accept_refuses() {
    let Setup { sim, ada, lena, bob } = setup().await;
    let mia = sim.member("mia");
    let carl = sim.member("carl");
    // mia is a member; members may not invite until the leaders allow it
    invite(&lena, mia.user_id, "Rust").await;
    let c = dm_card(&mia);
    mia.click(c.id, &button_id(&c, "Accept")).await;
    assert!(mia.has_role_named("Rust"));
    let r = invite(&mia, bob.user_id, "Rust").await;
    assert!(r.text().contains("Only leaders of **Rust** and admins can invite"), "{}", r.text());
    let r = mia.slash("group invite-policy", &[("group", "Rust"), ("members_can_invite", "true")]).await;
    assert!(r.text().contains("Only leaders of **Rust** and admins can change this"), "{}", r.text());
    let r = lena.slash("group invite-policy", &[("group", "Rust"), ("members_can_invite", "true")]).await;
    assert!(r.text().contains("members of **Rust** can invite"), "{}", r.text());
    assert_eq!(audited(&sim, "group.invite-policy").await, 1);
    let r = invite(&mia, bob.user_id, "Rust").await;
    assert!(r.text().contains("Invitation #2 sent"), "{}", r.text());
    // a non-member can't invite, even so
    let r = invite(&carl, ada.user_id, "Rust").await;
    assert!(r.text().contains("Only leaders of **Rust**"), "{}", r.text());

    // someone who neither sent it nor leads the group can't revoke it
    let r = carl.click(card_anchor(&sim), &CustomIdOf::revoke(2)).await;
    assert!(r.text().contains("Only the person who sent an invitation"), "{}", r.text());
    assert_eq!(status_of(&sim, bob.user_id).await, "pending");

    // lena (a leader, not the inviter) sees it in /invites and revokes it
    let l = lena.slash("invites", &[]).await;
    assert!(l.text().contains("Pending invitations to groups you lead"), "{}", l.text());
    let r = l.click("Revoke #2").await;
    assert!(r.text().contains("You revoked invitation #2"), "{}", r.text());
    assert_eq!(status_of(&sim, bob.user_id).await, "revoked");
    let card = dm_card(&bob);
    assert!(components_of(&card).is_empty() && message_text(&card).contains("revoked by"), "{}", message_text(&card));
    assert!(
        dm_texts(&mia).iter().any(|t| t.contains("was revoked by") && t.contains(&format!("<@{}>", lena.user_id))),
        "{:?}",
        dm_texts(&mia)
    );
    let r = bob.click(card.id, &CustomIdOf::accept(2)).await;
    assert!(r.text().contains("no longer open: revoked"), "{}", r.text());
    assert!(!bob.has_role_named("Rust"));
    assert_eq!(audited(&sim, "invite.revoke").await, 1);
    // a revoked invitation can't be revoked again
    let r = lena.slash("invites", &[]).await;
    assert!(!r.has_button("Revoke #2"));
    let r = lena.click(card_anchor(&sim), &CustomIdOf::revoke(2)).await;
    assert!(r.text().contains("no longer open: revoked"), "{}", r.text());
}

/// A message in #general anyone can press a (forged) button on.
fn card_anchor(sim: &Sim) -> u64 {
    let general = sim.fake.general_channel();
    sim.fake.with(|w| w.channel_messages(general).first().map(|m| m.id)).expect("a message")
}

#[tokio::test]
async fn an_invitee_with_closed_dms_accepts_from_invites() {
    let Setup { sim, ada, lena, .. } = setup().await;
    let shy = sim.fake.add_user("shy", 365, false);
    sim.fake.join_guild(shy, 30);
    let shy = sim.fake.actor(shy);
    let r = invite(&lena, shy.user_id, "Rust").await;
    assert!(r.text().contains("their DMs are closed") && r.text().contains("/invites"), "{}", r.text());
    assert!(shy.dms().is_empty());
    let mine = shy.slash("invites", &[]).await;
    assert!(mine.text().contains("Invitations to you") && mine.text().contains("**Rust**"), "{}", mine.text());
    let r = mine.click("Accept #1").await;
    assert!(r.text().contains("you're a member of **Rust** now"), "{}", r.text());
    assert!(shy.has_role_named("Rust"));
    assert!(dm_texts(&lena).iter().any(|t| t.contains("accepted your invitation")));
    let sent = lena.slash("invites", &[]).await;
    assert!(sent.text().contains("Invitations you sent") && sent.text().contains("accepted"), "{}", sent.text());

    // an inviter with closed DMs: the outcome is recorded and shown in /invites
    let quiet = sim.fake.add_user("quiet", 365, false);
    sim.fake.join_guild(quiet, 30);
    let quiet = sim.fake.actor(quiet);
    make_leader(&ada, "Rust", &quiet).await;
    let bob = sim.member("bobby");
    invite(&quiet, bob.user_id, "Rust").await;
    let card = dm_card(&bob);
    bob.click(card.id, &button_id(&card, "Decline")).await;
    let sent = quiet.slash("invites", &[]).await;
    assert!(
        sent.text().contains("declined") && sent.text().contains("I couldn't DM you this outcome"),
        "{}",
        sent.text()
    );
}

#[tokio::test]
async fn invitations_refuse_bots_members_duplicates_bans_archived_groups_and_other_presses() {
    let Setup { sim, ada, lena, bob } = setup().await;
    let bot = sim.fake.bot_user_id();
    let r = invite(&lena, bot, "Rust").await;
    assert!(r.text().contains("Bots can't be invited"), "{}", r.text());
    let r = invite(&lena, lena.user_id, "Rust").await;
    assert!(r.text().contains("can't invite yourself"), "{}", r.text());
    let r = invite(&lena, lena.user_id, "Nope").await;
    assert!(r.text().contains("There's no group with that name"), "{}", r.text());
    let stranger = sim.fake.add_user("stranger", 365, true);
    let r = invite(&lena, stranger, "Rust").await;
    assert!(r.text().contains("isn't a member of this server"), "{}", r.text());
    let r = invite(&ada, lena.user_id, "Rust").await;
    assert!(r.text().contains("already a member of **Rust**"), "{}", r.text());

    assert!(invite(&lena, bob.user_id, "Rust").await.text().contains("sent"));
    let r = invite(&ada, bob.user_id, "Rust").await;
    assert!(r.text().contains("already has a pending invitation #1"), "{}", r.text());

    // someone else pressing bob's Accept (a forged press) changes nothing
    let carl = sim.member("carl");
    let r = carl.click(card_anchor(&sim), &CustomIdOf::accept(1)).await;
    assert!(r.text().contains("isn't yours"), "{}", r.text());
    let r = carl.click(card_anchor(&sim), &CustomIdOf::accept(999)).await;
    assert!(r.text().contains("doesn't exist"), "{}", r.text());
    assert!(!carl.has_role_named("Rust") && !bob.has_role_named("Rust"));

    // banned: neither invited nor admitted
    let eve = sim.member("eve");
    lena.slash("group ban", &[("group", "Rust"), ("user", &eve.user_id.to_string())]).await;
    let r = invite(&lena, eve.user_id, "Rust").await;
    assert!(r.text().contains("banned them from it"), "{}", r.text());
    lena.slash("group ban", &[("group", "Rust"), ("user", &bob.user_id.to_string()), ("reason", "spam")]).await;
    let card = dm_card(&bob);
    let r = bob.click(card.id, &button_id(&card, "Accept")).await;
    assert!(r.text().contains("banned you"), "{}", r.text());
    assert!(!bob.has_role_named("Rust"));

    // an invitee who leaves the server: the invitation is cancelled (A5),
    // the inviter told, and Accept refuses
    lena.slash("group unban", &[("group", "Rust"), ("user", &bob.user_id.to_string())]).await;
    sim.fake.leave_guild(bob.user_id);
    sim.wait_count(
        "the invitation is cancelled",
        &format!("select count(*) from invitations where invitee_id = {} and status = 'revoked'", bob.user_id),
        1,
    )
    .await;
    let r = bob.click(card.id, &button_id(&card, "Accept")).await;
    assert!(r.text().contains("no longer") || r.text().contains("cancelled"), "{}", r.text());
    let inviter = lena.user_id;
    sim.fake
        .wait_until("the inviter is told", move |w| {
            w.dm_channel_of(inviter).is_some_and(|c| {
                w.channel_messages(c).iter().any(|m| m.content.contains("was cancelled: the invitee left the server"))
            })
        })
        .await;

    // archived groups take no invitations
    let r = ada.slash("group archive", &[("group", "Rust")]).await;
    assert!(!r.text().contains("Error"), "{}", r.text());
    let r = invite(&ada, carl.user_id, "Rust").await;
    assert!(r.text().contains("archived"), "{}", r.text());
}

#[tokio::test]
async fn an_invitation_no_longer_holds_once_its_inviter_may_not_invite() {
    let Setup { sim, ada, lena, bob } = setup().await;
    // lena invites bob, then stops leading the group: her invitation no longer admits.
    invite(&lena, bob.user_id, "Rust").await;
    let card = dm_card(&bob);
    let r = ada.slash("group leader remove", &[("group", "Rust"), ("user", &lena.user_id.to_string())]).await;
    assert!(!r.text().contains("Error"), "{}", r.text());
    let r = bob.click(card.id, &button_id(&card, "Accept")).await;
    assert!(r.text().contains("no longer holds") && r.text().contains("/request-join"), "{}", r.text());
    assert!(!bob.has_role_named("Rust"), "not admitted");
    assert_eq!(status_of(&sim, bob.user_id).await, "pending");

    // An admin's invitation holds: checked with Discord (Manage Server through the Admins role).
    let carol = sim.member("carol");
    let r = invite(&ada, carol.user_id, "Rust").await;
    assert!(!r.text().contains("Error"), "{}", r.text());
    let card = dm_card(&carol);
    let r = carol.click(card.id, &button_id(&card, "Accept")).await;
    assert!(!r.text().contains("Error"), "{}", r.text());
    assert!(carol.has_role_named("Rust"));
}

#[tokio::test]
async fn an_invitation_to_a_deleted_group_says_so_when_pressed() {
    let Setup { sim, ada, lena, bob } = setup().await;
    invite(&lena, bob.user_id, "Rust").await;
    let card = dm_card(&bob);
    let ask = ada.slash("group delete", &[("group", "Rust")]).await;
    let done = ask.click("Delete group").await;
    assert!(!done.text().contains("Error"), "{}", done.text());
    let r = bob.click(card.id, &button_id(&card, "Accept")).await;
    assert!(r.text().contains("doesn't exist any more") && r.text().contains("deleted"), "{}", r.text());
    assert_eq!(sim.count("select count(*) from invitations").await, 0);
}
