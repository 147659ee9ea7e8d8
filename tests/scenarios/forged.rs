//! Forged interactions (issue 12): every custom id the bot knows, built
//! with the ids of one server's rows and pressed from another server by
//! that server's own admin: each is answered, privately, and nothing of the
//! first server changes, in Postgres or on Discord, and nobody is pinged.
//! And every one that needs a right (an admin's, a leader's, the
//! requester's, the applicant's, the invitee's) pressed in the same server
//! by a member who has none of them: refused privately, nothing changes.
//! The list is every `CustomId` variant by construction: `variant_named`
//! matches without a wildcard, so a new variant does not compile until it
//! is forged here too.

use crate::sim::{ask, every_custom_id, group, make_leader, Rows, Sim};
use fake_discord::scenario::Modal;
use fake_discord::Actor;
use guildhall::custom_id::CustomId;

/// Each variant's name; no wildcard, so every variant is listed below.
fn variant_named(c: &CustomId) -> &'static str {
    match c {
        CustomId::DirectoryPage { .. } => "DirectoryPage",
        CustomId::Join { .. } => "Join",
        CustomId::Leave { .. } => "Leave",
        CustomId::Subscribe { .. } => "Subscribe",
        CustomId::Request { .. } => "Request",
        CustomId::Agree { .. } => "Agree",
        CustomId::Disagree => "Disagree",
        CustomId::AuditPage { .. } => "AuditPage",
        CustomId::GuidelinesModal => "GuidelinesModal",
        CustomId::GroupDelete { .. } => "GroupDelete",
        CustomId::GroupDeleteCancel { .. } => "GroupDeleteCancel",
        CustomId::LeadApplyForm { .. } => "LeadApplyForm",
        CustomId::LeadProposeForm { .. } => "LeadProposeForm",
        CustomId::LeadApprove { .. } => "LeadApprove",
        CustomId::LeadDecline { .. } => "LeadDecline",
        CustomId::LeadDeclineForm { .. } => "LeadDeclineForm",
        CustomId::LeadWithdraw { .. } => "LeadWithdraw",
        CustomId::RequestApprove { .. } => "RequestApprove",
        CustomId::RequestDeny { .. } => "RequestDeny",
        CustomId::RequestDenyForm { .. } => "RequestDenyForm",
        CustomId::RequestWithdraw { .. } => "RequestWithdraw",
        CustomId::SubscriptionsPage { .. } => "SubscriptionsPage",
        CustomId::SubscriptionsDelete { .. } => "SubscriptionsDelete",
        CustomId::SubscriptionsAll => "SubscriptionsAll",
        CustomId::SubscriptionsAllConfirm => "SubscriptionsAllConfirm",
        CustomId::InviteAccept { .. } => "InviteAccept",
        CustomId::InviteDecline { .. } => "InviteDecline",
        CustomId::InviteRevoke { .. } => "InviteRevoke",
        CustomId::InviteAgree { .. } => "InviteAgree",
        CustomId::ReconcileApply { .. } => "ReconcileApply",
    }
}

/// Who may press a variant, for the rows `forgeries` names: `None` when any
/// member may (it acts on the presser's own things, or only reads), else
/// who may. No wildcard: a new variant must say.
fn who_may(c: &CustomId) -> Option<&'static str> {
    match c {
        CustomId::DirectoryPage { .. }
        | CustomId::Join { .. }
        | CustomId::Leave { .. }
        | CustomId::Subscribe { .. }
        | CustomId::Request { .. }
        | CustomId::Agree { .. }
        | CustomId::Disagree
        | CustomId::LeadApplyForm { .. }
        | CustomId::LeadProposeForm { .. }
        | CustomId::SubscriptionsPage { .. }
        | CustomId::SubscriptionsDelete { .. }
        | CustomId::SubscriptionsAll
        | CustomId::SubscriptionsAllConfirm => None,
        CustomId::AuditPage { .. }
        | CustomId::GuidelinesModal
        | CustomId::GroupDelete { .. }
        | CustomId::GroupDeleteCancel { .. }
        | CustomId::LeadApprove { .. }
        | CustomId::LeadDecline { .. }
        | CustomId::LeadDeclineForm { .. }
        | CustomId::ReconcileApply { .. } => Some("an admin"),
        CustomId::RequestApprove { .. } | CustomId::RequestDeny { .. } | CustomId::RequestDenyForm { .. } => {
            Some("the group's leaders and admins")
        }
        CustomId::RequestWithdraw { .. } => Some("the requester"),
        CustomId::LeadWithdraw { .. } => Some("the applicant"),
        CustomId::InviteAccept { .. } | CustomId::InviteDecline { .. } | CustomId::InviteAgree { .. } => {
            Some("the invitee")
        }
        CustomId::InviteRevoke { .. } => Some("the inviter, the group's leaders and admins"),
    }
}

/// Everything of server `guild` that a press could change (its rows, its
/// roles, members, channels and messages on Discord), as text.
async fn state_of(sim: &Sim, guild: u64) -> String {
    let g = guild as i64;
    let db: String = sqlx::query_scalar(
        "select json_build_array(
            (select json_agg(json_build_array(id, name, archived_at, role_id, channel_id) order by id) from groups where guild_id = $1),
            (select json_agg(json_build_array(m.group_id, m.user_id, m.away_since) order by m.group_id, m.user_id)
               from memberships m join groups g on g.id = m.group_id where g.guild_id = $1),
            (select json_agg(json_build_array(l.group_id, l.user_id) order by l.group_id, l.user_id)
               from group_leaders l join groups g on g.id = l.group_id where g.guild_id = $1),
            (select json_agg(json_build_array(id, status) order by id) from join_requests where guild_id = $1),
            (select json_agg(json_build_array(id, status) order by id) from lead_applications where guild_id = $1),
            (select json_agg(json_build_array(id, status) order by id) from invitations where guild_id = $1),
            (select json_agg(json_build_array(user_id, kind, target_id) order by user_id, kind, target_id) from subscriptions where guild_id = $1),
            (select count(*) from audit_log where guild_id = $1),
            (select row_to_json(s) from guild_settings s where guild_id = $1)
         )::text",
    )
    .bind(g)
    .fetch_one(&sim.pool)
    .await
    .expect("the server's rows");
    let discord = sim.fake.with(|w| {
        let channels: Vec<_> = w.channels.values().filter(|c| c.guild_id == Some(guild)).collect();
        let mut channels = serde_json::to_value(channels).unwrap().as_array().cloned().unwrap_or_default();
        channels.sort_by_key(|c| c["id"].as_u64());
        // Every message there too (a card edited, a post deleted), but for
        // the private answers to the presses themselves.
        let messages: Vec<_> = channels
            .iter()
            .filter_map(|c| c["id"].as_u64())
            .map(|id| {
                let kept: Vec<_> = w.channel_messages(id).iter().filter(|m| m.flags & 64 == 0).collect();
                serde_json::to_value(kept).unwrap()
            })
            .collect();
        serde_json::json!([w.guilds[&guild], channels, messages]).to_string()
    });
    format!("{db}\n{discord}")
}

async fn press(forger: &Actor, at: u64, c: &CustomId) -> fake_discord::Reply {
    let id = c.encode();
    match c {
        CustomId::SubscriptionsDelete { .. } => forger.select(at, &id, &["1", "2"]).await,
        CustomId::GuidelinesModal
        | CustomId::LeadApplyForm { .. }
        | CustomId::LeadProposeForm { .. }
        | CustomId::LeadDeclineForm { .. }
        | CustomId::RequestDenyForm { .. } => {
            let modal = Modal {
                custom_id: id,
                title: String::new(),
                fields: vec![],
                min_lengths: vec![],
                values: vec![],
                source_message: Some(at),
                channel_id: None,
            };
            let values = [
                ("reason", "forged"),
                ("text", "forged guidelines"),
                ("name", "Forged"),
                ("description", "forged"),
                ("motivation", "forged"),
                ("experience", "forged"),
                ("hours", "5"),
            ];
            forger.submit(&modal, &values).await
        }
        _ => forger.click(at, &id).await,
    }
}

/// `who` presses `c` on message `at`: answered privately, refused in words
/// (some answers follow the message pressed: not a page, a list or a form
/// that only reads), and server `here` is as `before`.
async fn refused_and_unchanged(sim: &Sim, here: u64, before: &str, who: &Actor, at: u64, c: &CustomId, why: &str) {
    let r = press(who, at, c).await;
    let text = r.text();
    assert!(r.is_ephemeral(), "{} {why}: answered in public: {text}", variant_named(c));
    assert!(text.contains("Error:"), "{} {why}: not refused: {text}", variant_named(c));
    let now = state_of(sim, here).await;
    assert_eq!(now, before, "{} {why} changed something: {text}", variant_named(c));
}

/// Here: a closed group with a leader, guidelines, a pending request (its
/// card), an open lead application and a pending invitation; the rows and
/// the people (ada the admin, lena the leader, bob the requester, carol the
/// applicant and invitee).
async fn a_server_with_one_of_everything(sim: &Sim) -> (Rows, [Actor; 4]) {
    let ada = sim.admin("ada");
    let lena = sim.member("lena");
    let bob = sim.member("bob");
    let carol = sim.member("carol");
    sim.requests_channel(&ada).await;
    group(sim, &ada, "Rust", "Closed").await;
    make_leader(&ada, "Rust", &lena).await;
    let asked = ask(&bob, "Rust", None).await;
    assert!(asked.text().contains("was sent"), "{}", asked.text());
    let form = carol.slash("lead apply", &[("group", "Rust")]).await;
    let applied =
        carol.submit(&form.modal(), &[("motivation", "I care"), ("experience", "Some"), ("hours", "3")]).await;
    assert!(!applied.text().contains("Error"), "{}", applied.text());
    let invited = lena.slash("invite", &[("user", &carol.user_id.to_string()), ("group", "Rust")]).await;
    assert!(!invited.text().contains("Error"), "{}", invited.text());
    // Guidelines last: the request and the application came before them.
    let version = sim.set_guidelines(&ada, "Be kind.").await;
    let id = |sql: &'static str| {
        let pool = sim.pool.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&pool).await.expect(sql) }
    };
    let rows = Rows {
        group: id("select id from groups where name = 'Rust'").await,
        request: id("select id from join_requests where status = 'pending'").await,
        application: id("select id from lead_applications where status = 'open'").await,
        invitation: id("select id from invitations where status = 'pending'").await,
        version,
        newest_audit: id("select max(id) from audit_log").await,
    };
    sim.assert_consistent().await;
    (rows, [ada, lena, bob, carol])
}

#[tokio::test]
async fn every_custom_id_with_another_servers_rows_is_refused_there_and_changes_nothing_here() {
    let mut sim = Sim::start_without_bot().await;
    let here = sim.fake.guild_id;
    let there = sim.fake.add_guild_on_shard("Elsewhere", 0, 1);
    sim.start_process(0..1, 1).await;
    let (rows, [ada, lena, bob, carol]) = a_server_with_one_of_everything(&sim).await;
    let before = state_of(&sim, here).await;

    // There: its own admin, pressing on a message of the bot's there (their
    // own `/groups` answer, which has buttons).
    let elsewhere = sim.fake.in_guild(there);
    let dave = elsewhere.admin("dave");
    let at = dave.slash("groups", &[]).await.message().id;

    let all = every_custom_id(&rows);
    let mut named: Vec<&str> = all.iter().map(variant_named).collect();
    named.dedup();
    assert_eq!(named.len(), all.len(), "each variant once");
    for c in &all {
        let r = press(&dave, at, c).await;
        let text = r.text();
        assert!(r.is_ephemeral(), "{}: answered in public: {text}", variant_named(c));
        assert!(!text.contains("Rust"), "{}: showed the other server's group: {text}", variant_named(c));
        for who in [&lena, &bob, &carol, &ada] {
            assert!(
                !text.contains(&who.user_id.to_string()),
                "{}: named a member of the other server: {text}",
                variant_named(c)
            );
        }
        let now = state_of(&sim, here).await;
        assert_eq!(now, before, "{} changed the other server", variant_named(c));
    }
    sim.assert_consistent().await;
    assert!(sim.fake.violations().is_empty(), "{:?}", sim.fake.violations());
}

#[tokio::test]
async fn every_custom_id_that_needs_a_right_pressed_by_a_member_without_it_is_refused_and_changes_nothing() {
    let sim = Sim::start().await;
    let here = sim.fake.guild_id;
    let (rows, _) = a_server_with_one_of_everything(&sim).await;
    // eve: a member of the server, in no group, with no request,
    // application or invitation, and no admin or leader rights; pressing
    // on a message of the bot's she can see (her own `/groups` answer).
    let eve = sim.member("eve");
    let at = eve.slash("groups", &[]).await.message().id;
    let before = state_of(&sim, here).await;
    let guarded: Vec<CustomId> = every_custom_id(&rows).into_iter().filter(|c| who_may(c).is_some()).collect();
    assert!(guarded.len() >= 15, "the variants that need a right: {}", guarded.len());
    for c in &guarded {
        let why = format!("pressed by a member who is not {}", who_may(c).unwrap_or_default());
        refused_and_unchanged(&sim, here, &before, &eve, at, c, &why).await;
    }
    sim.assert_consistent().await;
}

/// The row a variant acts on, and how the stale-card test makes it stale:
/// `None` for the variants that name no row (or only read one), which
/// nothing can make stale. No wildcard: a new variant must say.
fn stale_row(c: &CustomId) -> Option<&'static str> {
    match c {
        CustomId::Join { .. }
        | CustomId::Leave { .. }
        | CustomId::Subscribe { .. }
        | CustomId::Request { .. }
        | CustomId::GroupDelete { .. }
        | CustomId::LeadApplyForm { .. } => Some("the group, deleted"),
        CustomId::Agree { .. } => Some("the group, deleted, and its guidelines, replaced"),
        CustomId::LeadApprove { .. }
        | CustomId::LeadDecline { .. }
        | CustomId::LeadDeclineForm { .. }
        | CustomId::LeadWithdraw { .. } => Some("the lead application, withdrawn"),
        CustomId::RequestApprove { .. }
        | CustomId::RequestDeny { .. }
        | CustomId::RequestDenyForm { .. }
        | CustomId::RequestWithdraw { .. } => Some("the request, approved"),
        CustomId::InviteAccept { .. }
        | CustomId::InviteDecline { .. }
        | CustomId::InviteRevoke { .. }
        | CustomId::InviteAgree { .. } => Some("the invitation, revoked"),
        // Cancelling the deletion of a group that is gone deletes nothing:
        // it only says so.
        CustomId::GroupDeleteCancel { .. }
        | CustomId::DirectoryPage { .. }
        | CustomId::Disagree
        | CustomId::AuditPage { .. }
        | CustomId::GuidelinesModal
        | CustomId::LeadProposeForm { .. }
        | CustomId::SubscriptionsPage { .. }
        | CustomId::SubscriptionsDelete { .. }
        | CustomId::SubscriptionsAll
        | CustomId::SubscriptionsAllConfirm
        | CustomId::ReconcileApply { .. } => None,
    }
}

/// The message of the bot's that carries the component `id`, if any does.
fn message_carrying(sim: &Sim, id: &str) -> Option<u64> {
    sim.fake.with(|w| {
        w.messages
            .values()
            .flatten()
            .find(|m| fake_discord::scenario::components_of(m).iter().any(|c| c.custom_id == id))
            .map(|m| m.id)
    })
}

/// Stale cards: every button, select and form that acts on a row, pressed
/// by someone who had the right, on the very message it came on, after the
/// row moved on (the request decided, the application withdrawn, the
/// invitation revoked, the guidelines replaced, the group deleted). Each is
/// refused privately in words, and nothing changes.
#[tokio::test]
async fn every_custom_id_pressed_on_a_stale_card_by_someone_who_had_the_right_is_refused_and_changes_nothing() {
    let sim = Sim::start().await;
    let here = sim.fake.guild_id;
    let (rows, [ada, lena, bob, carol]) = a_server_with_one_of_everything(&sim).await;
    let eve = sim.member("eve");
    let acting: Vec<CustomId> = every_custom_id(&rows).into_iter().filter(|c| stale_row(c).is_some()).collect();
    assert!(acting.len() >= 18, "the variants that act on a row: {}", acting.len());
    // Where each was while its row was live: the card itself, or (for a
    // form or a page button the test never opened) an answer of the bot's
    // to the one who presses.
    let presser = |c: &CustomId| -> &Actor {
        match who_may(c) {
            Some("an admin") => &ada,
            Some("the requester") => &bob,
            Some("the applicant" | "the invitee") => &carol,
            Some(_) => &lena,
            None => &eve,
        }
    };
    // eve reads the group's page while the group is there (its buttons).
    let page = eve.slash("group info", &[("group", "Rust")]).await;
    assert!(!page.components().is_empty(), "{}", page.text());
    let mut fallback = std::collections::HashMap::new();
    for who in [&ada, &lena, &bob, &carol, &eve] {
        fallback.insert(who.user_id, who.slash("groups", &[]).await.message().id);
    }
    let cards: Vec<(CustomId, u64, bool)> = acting
        .into_iter()
        .map(|c| {
            let on_card = message_carrying(&sim, &c.encode());
            let at = on_card.unwrap_or(fallback[&presser(&c).user_id]);
            (c, at, on_card.is_some())
        })
        .collect();
    let on_cards = cards.iter().filter(|(_, _, card)| *card).count();
    // The request's card, the invitation's DM and the group's page.
    assert!(on_cards >= 6, "pressed on their own card: {on_cards}");

    // The rows move on, each the way people move them.
    let approve = CustomId::RequestApprove { request: rows.request }.encode();
    let card = message_carrying(&sim, &approve).expect("the request's card");
    let r = lena.click(card, &approve).await;
    assert!(!r.text().contains("Error"), "{}", r.text());
    let withdraw = CustomId::LeadWithdraw { application: rows.application };
    let r = press(&carol, fallback[&carol.user_id], &withdraw).await;
    assert!(!r.text().contains("Error"), "{}", r.text());
    let revoke = CustomId::InviteRevoke { invitation: rows.invitation };
    let r = press(&lena, fallback[&lena.user_id], &revoke).await;
    assert!(!r.text().contains("Error"), "{}", r.text());
    let status = |sql: &'static str| {
        let pool = sim.pool.clone();
        async move { sqlx::query_scalar::<_, String>(sql).fetch_one(&pool).await.expect(sql) }
    };
    assert_eq!(status("select status from join_requests").await, "approved");
    assert_eq!(status("select status from lead_applications").await, "withdrawn");
    assert_eq!(status("select status from invitations").await, "revoked");
    sim.set_guidelines(&ada, "Be kinder.").await;
    let ask = ada.slash("group delete", &[("group", "Rust")]).await;
    let done = ask.click("Delete group").await;
    assert!(done.text().contains("Deleted the group **Rust**"), "{}", done.text());
    sim.assert_consistent().await;

    let before = state_of(&sim, here).await;
    for (c, at, _) in &cards {
        let why = format!("pressed after {}", stale_row(c).unwrap_or_default());
        refused_and_unchanged(&sim, here, &before, presser(c), *at, c, &why).await;
    }
    sim.assert_consistent().await;
}
