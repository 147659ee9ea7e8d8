//! Reconciliation (A5): Discord changing under the bot, by hand in the
//! client, while the bot runs, while it is stopped, and in a gateway
//! session gap; `/reconcile` and its policy settings.

use crate::sim::{group, Sim};
use fake_discord::{perms, Actor};

fn membership_count(sim_group: &str) -> String {
    format!(
        "select count(*) from memberships m join groups g on g.id = m.group_id
         where g.name = '{sim_group}' and m.away_since is null"
    )
}

async fn members_of(sim: &Sim, g: &str) -> i64 {
    sim.count(&membership_count(g)).await
}

async fn wait_members(sim: &Sim, g: &str, n: i64) {
    sim.wait_count(&format!("{n} member(s) of {g}"), &membership_count(g), n).await
}

fn page_members(text: &str) -> &str {
    text.lines().find(|l| l.contains("Members:")).unwrap_or("")
}

async fn set_policy(ada: &Actor, policy: &str) {
    let r = ada.slash("config reconcile-policy", &[("policy", policy)]).await;
    assert!(r.text().contains("Done: reconciliation policy is"), "{}", r.text());
}

/// Wait until the mod channel holds a notice containing `needle`.
async fn notice(sim: &Sim, staff: u64, needle: &str) -> String {
    let n = needle.to_string();
    sim.fake
        .wait_until(&format!("a notice with {needle:?}"), move |w| {
            w.channel_messages(staff).iter().any(|m| m.content.contains(&n))
        })
        .await;
    sim.texts_in(staff).into_iter().rev().find(|t| t.contains(needle)).unwrap()
}

const FOLLOW: &str = "follow: the membership follows a hand change of the role";
const RESTORE: &str = "restore: the role is put back as Guildhall's records say";
const REPORT: &str = "report: change nothing, tell admins";

#[tokio::test]
async fn a_group_role_taken_by_hand_ends_the_membership_and_its_notifications() {
    let sim = Sim::start_with_notify_roles().await;
    let ada = sim.admin("ada");
    let (alice, bob) = (sim.member("alice"), sim.member("bob"));
    let (role, _) = group(&sim, &ada, "Rust", "Open").await;
    alice.slash("join", &[("group", "Rust")]).await;
    bob.slash("join", &[("group", "Rust")]).await;
    sim.fake
        .wait_until("alice holds the notify role", |w| {
            w.guilds.values().any(|g| g.roles.iter().any(|r| r.name == "Rust notify"))
        })
        .await;
    assert!(alice.has_role_named("Rust notify"));

    sim.fake.take_role(alice.user_id, role);
    wait_members(&sim, "Rust", 1).await;
    let page = ada.slash("group info", &[("group", "Rust")]).await;
    assert_eq!(page_members(&page.text()), "Members: 1", "{}", page.text());
    // No longer following: the notification role went with it.
    sim.fake
        .wait_until("alice loses the notify role", |w| {
            let g = &w.guilds[&w.guilds.keys().next().copied().unwrap()];
            let notify = g.roles.iter().find(|r| r.name == "Rust notify").map(|r| r.id);
            !g.members[&alice.user_id].roles.iter().any(|r| Some(*r) == notify)
        })
        .await;
    assert_eq!(
        sim.count(&format!("select count(*) from subscriptions where user_id = {} and kind = 'group'", alice.user_id))
            .await,
        0
    );
    assert_eq!(sim.audited("membership.role_taken_by_hand").await, 1);
    let r = alice.slash("audit", &[]).await;
    assert!(r.text().contains("Only admins"), "members can't read the audit trail: {}", r.text());
    let trail = ada.slash("audit", &[("group", "Rust")]).await;
    assert!(trail.text().contains("someone in Discord"), "{}", trail.text());
    // Bob is untouched.
    assert!(bob.has_role_named("Rust"));
    // Postgres and Discord agree afterwards.
    sim.assert_consistent().await;
}

#[tokio::test]
async fn a_member_whose_role_is_taken_by_hand_is_told_by_dm_and_so_are_the_admins() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let (alice, bob) = (sim.member("alice"), sim.member("bob"));
    let staff = sim.mod_channel(&ada).await;
    let (open_role, _) = group(&sim, &ada, "Rust", "Open").await;
    let (closed_role, _) = group(&sim, &ada, "Chess", "Closed").await;
    alice.slash("join", &[("group", "Rust")]).await;
    sim.fake.give_role(alice.user_id, closed_role);
    wait_members(&sim, "Chess", 1).await;

    // Policy follow (the default): the membership ends, and the member hears
    // which group and how to come back; the admins hear it in the mod channel.
    sim.fake.take_role(alice.user_id, open_role);
    let n = notice(&sim, staff, "role of **Rust** was taken by hand").await;
    assert!(n.contains(&format!("<@{}>", alice.user_id)) && n.contains("end the membership"), "{n}");
    assert!(n.contains("I told them by DM"), "{n}");
    let dm = alice.dms().last().expect("a DM").content.clone();
    assert!(dm.contains("no longer a member of **Rust**") && dm.contains("`/join`"), "{dm}");
    sim.fake.take_role(alice.user_id, closed_role);
    notice(&sim, staff, "role of **Chess** was taken by hand").await;
    let dm = alice.dms().last().expect("a DM").content.clone();
    assert!(dm.contains("**Chess**") && dm.contains("`/request-join`"), "a closed group is asked to join: {dm}");
    // Neither message pinged anyone.
    let quiet = |m: &fake_discord::world::Message| m.allowed_mentions["parse"].as_array().is_none_or(|a| a.is_empty());
    assert!(sim.fake.with(|w| w.channel_messages(staff).iter().all(quiet)));
    assert!(alice.dms().iter().all(quiet));

    // Under restore the role comes back: nobody is told anything.
    bob.slash("join", &[("group", "Rust")]).await;
    set_policy(&ada, RESTORE).await;
    let before = sim.texts_in(staff).len();
    sim.fake.take_role(bob.user_id, open_role);
    sim.wait_count(
        "the role given back",
        "select count(*) from audit_log where action = 'reconcile.role_given_back'",
        1,
    )
    .await;
    sim.fake
        .wait_until("bob has the role back", |w| {
            w.guilds.values().any(|g| g.members[&bob.user_id].roles.contains(&open_role))
        })
        .await;
    sim.idle().await;
    assert!(bob.dms().is_empty(), "{:?}", bob.dms());
    assert_eq!(sim.texts_in(staff).len(), before, "{:?}", sim.texts_in(staff));
}

#[tokio::test]
async fn a_group_role_given_by_hand_records_a_membership_subscribed_like_a_join() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let (role, channel) = group(&sim, &ada, "Rust", "Open").await;
    sim.fake.give_role(alice.user_id, role);
    wait_members(&sim, "Rust", 1).await;
    assert_eq!(
        sim.count(&format!("select count(*) from subscriptions where user_id = {} and kind = 'group'", alice.user_id))
            .await,
        1
    );
    assert!(alice.can_send(channel));
    let r = alice.slash("leave", &[("group", "Rust")]).await;
    assert!(r.text().contains("You left **Rust**"), "a recorded member can leave: {}", r.text());
    assert_eq!(sim.audited("membership.role_given_by_hand").await, 1);
}

#[tokio::test]
async fn under_restore_a_hand_change_is_put_back_as_guildhall_says() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let (alice, carl) = (sim.member("alice"), sim.member("carl"));
    let (role, _) = group(&sim, &ada, "Rust", "Open").await;
    alice.slash("join", &[("group", "Rust")]).await;
    set_policy(&ada, RESTORE).await;

    sim.fake.take_role(alice.user_id, role);
    sim.fake
        .wait_until("alice has the role back", |w| {
            w.guilds.values().any(|g| g.members[&alice.user_id].roles.contains(&role))
        })
        .await;
    sim.fake.give_role(carl.user_id, role);
    sim.fake
        .wait_until("carl's hand-given role is taken back", |w| {
            w.guilds.values().any(|g| !g.members[&carl.user_id].roles.contains(&role))
        })
        .await;
    sim.wait_count(
        "both repairs audited",
        "select count(*) from audit_log where action like 'reconcile.role_%_back'",
        2,
    )
    .await;
    assert_eq!(members_of(&sim, "Rust").await, 1, "alice only");
    // Postgres and Discord agree afterwards.
    sim.assert_consistent().await;
}

#[tokio::test]
async fn under_report_nothing_changes_and_admins_are_told() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let (alice, carl) = (sim.member("alice"), sim.member("carl"));
    let staff = sim.mod_channel(&ada).await;
    let (role, _) = group(&sim, &ada, "Rust", "Open").await;
    alice.slash("join", &[("group", "Rust")]).await;
    set_policy(&ada, REPORT).await;
    let shown = ada.slash("config show", &[]).await;
    assert!(shown.text().contains("Policy **report**"), "{}", shown.text());

    sim.fake.take_role(alice.user_id, role);
    let n = notice(&sim, staff, "role of **Rust** was taken by hand").await;
    assert!(n.contains("policy: report"), "{n}");
    sim.fake.give_role(carl.user_id, role);
    notice(&sim, staff, "was given the role of **Rust** by hand").await;
    assert_eq!(members_of(&sim, "Rust").await, 1, "alice is still a member, carl is not");
    assert!(!alice.has_role_named("Rust") && carl.has_role_named("Rust"), "nothing was changed on Discord");
    // Nobody was pinged by the notices.
    assert!(sim.fake.with(|w| w
        .channel_messages(staff)
        .iter()
        .all(|m| m.allowed_mentions["parse"].as_array().is_none_or(|a| a.is_empty()))));
}

#[tokio::test]
async fn a_banned_member_keeps_no_hand_given_role_under_any_policy() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let eve = sim.member("eve");
    let (role, _) = group(&sim, &ada, "Rust", "Open").await;
    let r = ada.slash("group ban", &[("group", "Rust"), ("user", &eve.user_id.to_string())]).await;
    assert!(!r.text().contains("Error"), "{}", r.text());
    for policy in [FOLLOW, REPORT, RESTORE] {
        set_policy(&ada, policy).await;
        sim.fake.give_role(eve.user_id, role);
        sim.fake
            .wait_until("the role is taken from eve", |w| {
                w.guilds.values().any(|g| !g.members[&eve.user_id].roles.contains(&role))
            })
            .await;
    }
    assert_eq!(members_of(&sim, "Rust").await, 0);
    sim.wait_count("three take-backs", "select count(*) from audit_log where action = 'reconcile.role_taken_back'", 3)
        .await;
    // Postgres and Discord agree afterwards.
    sim.assert_consistent().await;
}

#[tokio::test]
async fn a_member_who_leaves_is_away_and_gets_their_groups_back_on_return() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let (lena, bob) = (sim.member("lena"), sim.member("bob"));
    let reviews =
        sim.fake.create_channel_by_hand("join-requests", fake_discord::world::channel_type::TEXT, None, vec![]);
    let r = ada.slash("config requests-channel", &[("channel", &reviews.to_string())]).await;
    assert!(r.text().contains("the requests channel is"), "{}", r.text());
    let (rust_role, _) = group(&sim, &ada, "Rust", "Open").await;
    group(&sim, &ada, "Vault", "Closed").await;
    group(&sim, &ada, "Den", "Closed").await;
    for g in ["Vault", "Den"] {
        ada.slash("group leader add", &[("group", g), ("user", &lena.user_id.to_string())]).await;
    }
    bob.slash("join", &[("group", "Rust")]).await;
    let r = bob.slash("request-join", &[("group", "Vault")]).await;
    assert!(r.text().contains("sent"), "{}", r.text());
    let r = lena.slash("invite", &[("user", &bob.user_id.to_string()), ("group", "Den")]).await;
    assert!(!r.text().contains("Error"), "{}", r.text());

    sim.fake.leave_guild(bob.user_id);
    wait_members(&sim, "Rust", 0).await;
    sim.wait_count("the request is withdrawn", "select count(*) from join_requests where status = 'withdrawn'", 1)
        .await;
    sim.wait_count("the invitation is cancelled", "select count(*) from invitations where status = 'revoked'", 1).await;
    let page = ada.slash("group info", &[("group", "Rust")]).await;
    assert_eq!(page_members(&page.text()), "Members: 0", "away members don't count: {}", page.text());
    // The leaders' card says why; the inviter is told.
    sim.fake
        .wait_until("the card shows the withdrawal", |w| {
            w.channels.values().filter(|c| c.parent_id == Some(reviews)).any(|t| {
                w.channel_messages(t.id)
                    .iter()
                    .any(|m| fake_discord::scenario::message_text(m).contains("They left the server"))
            })
        })
        .await;
    sim.fake
        .wait_until("lena hears of the cancelled invitation", |w| {
            w.dm_channel_of(lena.user_id).is_some_and(|c| {
                w.channel_messages(c).iter().any(|m| m.content.contains("was cancelled: the invitee left the server"))
            })
        })
        .await;

    sim.fake.rejoin_guild(bob.user_id);
    sim.fake
        .wait_until("bob has Rust again", |w| {
            w.guilds.values().any(|g| g.members.get(&bob.user_id).is_some_and(|m| m.roles.contains(&rust_role)))
        })
        .await;
    wait_members(&sim, "Rust", 1).await;
    assert_eq!(
        sim.count(&format!("select count(*) from subscriptions where user_id = {} and kind = 'group'", bob.user_id))
            .await,
        1,
        "his group subscription is back"
    );
    assert_eq!(sim.audited("member.returned").await, 1, "one audit entry");
    assert!(!bob.has_role_named("Vault") && !bob.has_role_named("Den"), "nothing he wasn't a member of");
    // Postgres and Discord agree afterwards.
    sim.assert_consistent().await;
}

#[tokio::test]
async fn a_returning_member_gets_nothing_back_when_the_server_turned_it_off() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let bob = sim.member("bob");
    group(&sim, &ada, "Rust", "Open").await;
    bob.slash("join", &[("group", "Rust")]).await;
    let r = ada.slash("config returning-members", &[("restore", "false")]).await;
    assert!(r.text().contains("starts with no groups"), "{}", r.text());
    let r = bob.slash("config returning-members", &[("restore", "true")]).await;
    assert!(r.text().contains("Only admins"), "{}", r.text());
    sim.fake.leave_guild(bob.user_id);
    wait_members(&sim, "Rust", 0).await;
    sim.fake.rejoin_guild(bob.user_id);
    sim.wait_count("the return is audited", "select count(*) from audit_log where action = 'member.returned'", 1).await;
    assert!(!bob.has_role_named("Rust"));
    assert_eq!(sim.count("select count(*) from memberships").await, 0, "the old membership ended");
    // Postgres and Discord agree afterwards.
    sim.assert_consistent().await;
}

#[tokio::test]
async fn a_deleted_role_of_a_closed_group_is_made_again_and_given_back_to_every_member() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let staff = sim.mod_channel(&ada).await;
    let members: Vec<Actor> = ["bob", "carol", "dan"].iter().map(|n| sim.member(n)).collect();
    let eve = sim.member("eve");
    let (old_role, channel) = group(&sim, &ada, "Vault", "Open").await;
    for m in &members {
        m.slash("join", &[("group", "Vault")]).await;
    }
    let r = ada.slash("group edit", &[("group", "Vault"), ("visibility", "Closed")]).await;
    assert!(r.text().contains("now closed: its channel is hidden from non-members"), "{}", r.text());
    assert!(!eve.can_view(channel), "{:?}", sim.fake.with(|w| w.channels[&channel].overwrites.clone()));

    sim.fake.delete_role_by_hand(old_role);
    notice(&sim, staff, "The role of **Vault** was deleted in Discord").await;
    for m in &members {
        let id = m.user_id;
        sim.fake
            .wait_until("the member has the new role", move |w| {
                let g = w.guilds.values().next().unwrap();
                let new = g.roles.iter().find(|r| r.name == "Vault").map(|r| r.id);
                new.is_some_and(|r| g.members[&id].roles.contains(&r))
            })
            .await;
    }
    let new_role = sim.fake.role_named("Vault").expect("made again").id;
    assert_ne!(new_role, old_role);
    for m in &members {
        assert!(m.can_view(channel), "{} sees the closed channel again", m.name);
    }
    assert!(!eve.can_view(channel), "still hidden from others");
    sim.wait_count("the regrant finished", "select count(*) from groups where regrant_pending", 0).await;
    assert_eq!(members_of(&sim, "Vault").await, 3, "nobody's membership ended");
    assert_eq!(sim.audited("membership.role_taken_by_hand").await, 0);
    let stored = sim.count(&format!("select count(*) from groups where role_id = {new_role}")).await;
    assert_eq!(stored, 1);
    // Postgres and Discord agree afterwards.
    sim.assert_consistent().await;
}

#[tokio::test]
async fn a_deleted_group_channel_is_made_again_and_admins_are_told_its_history_is_gone() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let (lena, alice) = (sim.member("lena"), sim.member("alice"));
    let staff = sim.mod_channel(&ada).await;
    let (_, old) = group(&sim, &ada, "Rust", "Closed").await;
    ada.slash("group leader add", &[("group", "Rust"), ("user", &lena.user_id.to_string())]).await;
    let outsider = alice;

    sim.fake.delete_channel_by_hand(old);
    let n = notice(&sim, staff, "The channel of **Rust** was deleted in Discord").await;
    assert!(n.contains("gone for good"), "{n}");
    let new = sim.fake.channel_named("rust").expect("made again");
    assert_ne!(new.id, old);
    assert!(lena.can_send(new.id), "the leader can post");
    assert!(
        sim.fake.with(|w| w.channel_permissions(new.id, lena.user_id) & perms::MANAGE_MESSAGES != 0),
        "the leader keeps moderation rights"
    );
    assert!(!outsider.can_view(new.id), "a closed group's channel stays hidden");
    let interest = sim.fake.channel_named("Interest").expect("bucket category").id;
    assert_eq!(new.parent_id, Some(interest));
    assert_eq!(sim.count(&format!("select count(*) from groups where channel_id = {}", new.id)).await, 1);

    // Later commands point at the new channel, not the deleted one.
    let (_, old_go) = group(&sim, &ada, "Go", "Open").await;
    sim.fake.delete_channel_by_hand(old_go);
    notice(&sim, staff, "The channel of **Go** was deleted in Discord").await;
    let go = sim.fake.channel_named("go").expect("made again").id;
    let joined = outsider.slash("join", &[("group", "Go")]).await;
    assert!(joined.text().contains(&format!("<#{go}>")), "{}", joined.text());
    assert!(outsider.can_send(go));
    // Postgres and Discord agree afterwards.
    sim.assert_consistent().await;
}

#[tokio::test]
async fn a_deleted_bucket_category_is_made_again_with_its_channels_moved_back() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let staff = sim.mod_channel(&ada).await;
    let (_, rust) = group(&sim, &ada, "Rust", "Open").await;
    let (_, go) = group(&sim, &ada, "Go", "Open").await;
    let old = sim.fake.channel_named("Interest").expect("category").id;
    sim.fake.delete_channel_by_hand(old);
    notice(&sim, staff, "The **Interest** category was deleted").await;
    let new = sim.fake.channel_named("Interest").expect("made again").id;
    assert_ne!(new, old);
    for ch in [rust, go] {
        let id = ch;
        sim.fake.wait_until("moved back", move |w| w.channels[&id].parent_id == Some(new)).await;
    }
    // Postgres and Discord agree afterwards.
    sim.assert_consistent().await;
}

#[tokio::test]
async fn a_deleted_configured_channel_is_forgotten_and_admins_are_told() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let staff = sim.mod_channel(&ada).await;
    let reviews =
        sim.fake.create_channel_by_hand("join-requests", fake_discord::world::channel_type::TEXT, None, vec![]);
    ada.slash("config requests-channel", &[("channel", &reviews.to_string())]).await;
    sim.fake.delete_channel_by_hand(reviews);
    notice(&sim, staff, "The requests channel was deleted in Discord").await;
    let shown = ada.slash("config show", &[]).await;
    assert!(shown.text().contains("Requests channel: Not set"), "{}", shown.text());
}

#[tokio::test]
async fn a_403_while_repairing_tells_the_admins_and_leaves_nothing_half_made() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let staff = sim.mod_channel(&ada).await;
    let (role, _) = group(&sim, &ada, "Rust", "Open").await;
    alice.slash("join", &[("group", "Rust")]).await;
    sim.fake.inject(fake_discord::Fault::missing_permissions("POST", "/roles"));
    sim.fake.delete_role_by_hand(role);
    let n = notice(&sim, staff, "I couldn't repair it").await;
    assert!(n.contains("Manage Roles"), "says how to fix it: {n}");
    assert!(sim.fake.role_named("Rust").is_none(), "no half-made role");
    assert_eq!(sim.count(&format!("select count(*) from groups where role_id = {role}")).await, 1, "row unchanged");
    assert_eq!(members_of(&sim, "Rust").await, 1, "nobody lost their membership");

    // Once the permission is back, /reconcile repairs it.
    sim.fake.clear_faults();
    let dry = ada.slash("reconcile", &[]).await;
    assert!(dry.text().contains("The role of **Rust** is gone"), "{}", dry.text());
    let done = dry.click("Apply").await;
    assert!(done.text().contains("1 repaired"), "{}", done.text());
    let new = sim.fake.role_named("Rust").expect("made again").id;
    sim.fake
        .wait_until("alice has it", move |w| w.guilds.values().any(|g| g.members[&alice.user_id].roles.contains(&new)))
        .await;
    // Postgres and Discord agree afterwards.
    sim.assert_consistent().await;
}

#[tokio::test]
async fn changes_made_while_the_bot_was_stopped_are_found_at_start() {
    let mut sim = Sim::start().await;
    let ada = sim.admin("ada");
    let (alice, bob, carl) = (sim.member("alice"), sim.member("bob"), sim.member("carl"));
    let (rust, _) = group(&sim, &ada, "Rust", "Open").await;
    let (_, go) = group(&sim, &ada, "Go", "Open").await;
    alice.slash("join", &[("group", "Rust")]).await;
    bob.slash("join", &[("group", "Rust")]).await;

    sim.stop_bot().await;
    sim.fake.take_role(alice.user_id, rust);
    sim.fake.give_role(carl.user_id, rust);
    sim.fake.leave_guild(bob.user_id);
    sim.fake.delete_channel_by_hand(go);
    sim.start_bot().await;

    sim.fake.wait_until("the Go channel is made again", |w| w.channels.values().any(|c| c.name == "go")).await;
    sim.wait_count(
        "alice's membership ended, carl's recorded",
        &format!("select count(*) from memberships where user_id = {} and away_since is null", carl.user_id),
        1,
    )
    .await;
    wait_members(&sim, "Rust", 1).await;
    sim.wait_count("bob is away", "select count(*) from memberships where away_since is not null", 1).await;
    sim.wait_count(
        "the pass is recorded",
        "select count(*) from reconcile_runs where trigger = 'session' and found >= 4",
        1,
    )
    .await;
    // Postgres and Discord agree afterwards.
    sim.assert_consistent().await;
}

#[tokio::test]
async fn two_bot_processes_repair_each_change_once() {
    let mut sim = Sim::start().await;
    let ada = sim.admin("ada");
    let (alice, bob) = (sim.member("alice"), sim.member("bob"));
    let (role, _) = group(&sim, &ada, "Rust", "Open").await;
    alice.slash("join", &[("group", "Rust")]).await;
    bob.slash("join", &[("group", "Rust")]).await;
    sim.start_second_bot().await;

    sim.fake.delete_role_by_hand(role);
    sim.fake
        .wait_until("a new Rust role", |w| w.guilds.values().any(|g| g.roles.iter().any(|r| r.name == "Rust")))
        .await;
    // While the new role is being handed out, a member without it is owed
    // it; take it by hand once everyone has it.
    let new = sim.fake.role_named("Rust").unwrap().id;
    sim.wait_count(
        "the regrant finished",
        &format!("select count(*) from groups where role_id = {new} and not regrant_pending"),
        1,
    )
    .await;
    sim.fake.take_role(bob.user_id, new);
    sim.wait_count("bob's membership ends", &membership_count("Rust"), 1).await;
    // Let both processes finish what they were doing, then count.
    sim.stop_second_bot().await;
    let roles = sim.fake.with(|w| w.guilds.values().next().unwrap().roles.iter().filter(|r| r.name == "Rust").count());
    assert_eq!(roles, 1, "the role was made again once");
    assert_eq!(sim.audited("reconcile.role_remade").await, 1);
    assert_eq!(sim.audited("membership.role_taken_by_hand").await, 1);
    assert!(alice.has_role_named("Rust"));
    // Postgres and Discord agree afterwards.
    sim.assert_consistent().await;
}

#[tokio::test]
async fn a_topic_started_while_the_session_was_invalidated_is_announced_after_the_new_session() {
    let sim = Sim::start_with_notify_roles().await;
    let ada = sim.admin("ada");
    let (alice, bob) = (sim.member("alice"), sim.member("bob"));
    let (role, channel) = group(&sim, &ada, "Rust", "Open").await;
    alice.slash("join", &[("group", "Rust")]).await;
    bob.slash("join", &[("group", "Rust")]).await;
    let identifies = sim.fake.identify_count();

    sim.fake.invalidate_session(true);
    sim.fake.wait_for_held_identify().await;
    // In the gap: nothing of this reaches the bot, nor is it replayed.
    let topic = bob.create_topic(channel, "In the gap", "hello?");
    sim.fake.take_role(alice.user_id, role);
    sim.fake.end_session_gap();
    sim.fake.wait_for_identify(identifies).await;

    let bot = sim.fake.bot_user_id();
    sim.fake
        .wait_until("the topic is announced", move |w| w.channel_messages(topic).iter().any(|m| m.author_id == bot))
        .await;
    wait_members(&sim, "Rust", 1).await;
    assert_eq!(sim.fake.resume_count(), 0, "a new session, not a resume");
    // The announcement pings the group's notification role.
    sim.expect_ping(sim.fake.role_named("Rust notify").expect("notify role").id);
    // Postgres and Discord agree afterwards.
    sim.assert_consistent().await;
}

#[tokio::test]
async fn a_group_role_given_an_elevated_permission_is_reported_and_under_restore_taken_off() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let staff = sim.mod_channel(&ada).await;
    let (role, _) = group(&sim, &ada, "Rust", "Open").await;
    sim.fake.edit_role_by_hand(role, perms::MANAGE_MESSAGES);
    let n = notice(&sim, staff, "The role of **Rust** changed in Discord").await;
    assert!(n.contains("elevated permissions"), "{n}");
    assert_eq!(sim.fake.role_named("Rust").unwrap().permissions, perms::MANAGE_MESSAGES, "follow only reports");

    set_policy(&ada, RESTORE).await;
    sim.fake.edit_role_by_hand(role, perms::MANAGE_MESSAGES | perms::MANAGE_ROLES);
    notice(&sim, staff, "I took its permissions off again").await;
    assert_eq!(sim.fake.role_named("Rust").unwrap().permissions, 0);
}

#[tokio::test]
async fn reconcile_lists_the_differences_and_apply_repairs_them_for_admins_only() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let (alice, carl) = (sim.member("alice"), sim.member("carl"));
    let staff = sim.mod_channel(&ada).await;
    let (role, _) = group(&sim, &ada, "Rust", "Open").await;
    alice.slash("join", &[("group", "Rust")]).await;

    let clean = ada.slash("reconcile", &[]).await;
    assert!(clean.is_ephemeral());
    assert!(clean.text().contains("nothing to repair"), "{}", clean.text());
    assert!(!clean.has_button("Apply"));

    set_policy(&ada, REPORT).await;
    sim.fake.take_role(alice.user_id, role);
    notice(&sim, staff, "taken by hand").await;
    sim.fake.give_role(carl.user_id, role);
    notice(&sim, staff, "given the role of **Rust** by hand").await;

    let refused = alice.slash("reconcile", &[]).await;
    assert!(refused.text().contains("Only admins"), "{}", refused.text());
    let dry = ada.slash("reconcile", &[]).await;
    let text = dry.text();
    assert!(text.contains("2 difference(s)"), "{text}");
    assert!(
        text.contains(&format!("<@{}>'s role of **Rust** was taken by hand: end the membership", alice.user_id)),
        "{text}"
    );
    assert!(
        text.contains(&format!("<@{}> was given the role of **Rust** by hand: record the membership", carl.user_id)),
        "{text}"
    );
    assert!(text.contains("policy is **report**"), "{text}");
    assert_eq!(members_of(&sim, "Rust").await, 1, "a dry run changes nothing");

    let forged = dry.click_as(&alice, "Apply").await;
    assert!(forged.text().contains("Only admins"), "{}", forged.text());
    assert_eq!(members_of(&sim, "Rust").await, 1);

    let done = dry.click("Apply").await;
    assert!(done.text().contains("2 found, 2 repaired"), "{}", done.text());
    wait_members(&sim, "Rust", 1).await;
    assert_eq!(
        sim.count(&format!("select count(*) from memberships where user_id = {}", carl.user_id)).await,
        1,
        "carl is the member now"
    );
    let restore = ada.slash("reconcile", &[("policy", RESTORE)]).await;
    assert!(restore.text().contains("nothing to repair"), "{}", restore.text());
    assert_eq!(sim.count("select count(*) from reconcile_runs where trigger = 'command' and repaired = 2").await, 1);
    // Postgres and Discord agree afterwards.
    sim.assert_consistent().await;
}

#[tokio::test]
async fn the_audit_trail_names_who_changed_a_role_when_the_bot_may_read_the_audit_log() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let (alice, bob) = (sim.member("alice"), sim.member("bob"));
    let (role, _) = group(&sim, &ada, "Rust", "Open").await;
    alice.slash("join", &[("group", "Rust")]).await;
    bob.slash("join", &[("group", "Rust")]).await;
    // Without View Audit Log: "someone in Discord".
    sim.fake.set_member_role(ada.user_id, alice.user_id, role, false);
    wait_members(&sim, "Rust", 1).await;
    // With it: the person who did it.
    let gid = sim.fake.guild_id;
    sim.fake.mutate(|w| {
        let g = w.guilds.get_mut(&gid).unwrap();
        let bot = g.roles.iter_mut().find(|r| r.managed).unwrap();
        bot.permissions |= perms::VIEW_AUDIT_LOG;
    });
    sim.fake.set_member_role(ada.user_id, bob.user_id, role, false);
    wait_members(&sim, "Rust", 0).await;
    let rows: Vec<(Option<i64>, String)> = sqlx::query_as(
        "select actor_id, reason from audit_log where action = 'membership.role_taken_by_hand' order by id",
    )
    .fetch_all(&sim.pool)
    .await
    .unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0].0, None);
    assert!(rows[0].1.contains("someone in Discord"), "{:?}", rows[0]);
    assert_eq!(rows[1].0, Some(ada.user_id as i64));
    assert!(rows[1].1.contains(&format!("by <@{}>", ada.user_id)), "{:?}", rows[1]);
    // Postgres and Discord agree afterwards.
    sim.assert_consistent().await;
}

#[tokio::test]
async fn a_deleted_notification_role_is_made_again_for_the_groups_followers() {
    let sim = Sim::start_with_notify_roles().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    group(&sim, &ada, "Rust", "Open").await;
    alice.slash("join", &[("group", "Rust")]).await;
    sim.fake
        .wait_until("a notify role", |w| w.guilds.values().any(|g| g.roles.iter().any(|r| r.name == "Rust notify")))
        .await;
    let old = sim.fake.role_named("Rust notify").unwrap().id;
    sim.fake.delete_role_by_hand(old);
    sim.fake
        .wait_until("alice holds a new notify role", move |w| {
            let g = w.guilds.values().next().unwrap();
            g.roles
                .iter()
                .find(|r| r.name == "Rust notify" && r.id != old)
                .is_some_and(|r| g.members[&alice.user_id].roles.contains(&r.id))
        })
        .await;
    assert_eq!(sim.audited("reconcile.notify_role_remade").await, 1);
    // Postgres and Discord agree afterwards.
    sim.assert_consistent().await;
}

#[tokio::test]
async fn a_group_role_moved_above_the_bot_is_reported_once() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let staff = sim.mod_channel(&ada).await;
    let (role, _) = group(&sim, &ada, "Rust", "Open").await;
    let top = sim.fake.with(|w| w.guilds.values().next().unwrap().roles.iter().map(|r| r.position).max().unwrap());
    sim.fake.move_role(role, top + 1);
    let n = notice(&sim, staff, "The role of **Rust** changed in Discord").await;
    assert!(n.contains("not below my highest role"), "{n}");
    // Moving other roles re-sends every role: still one notice.
    let other = sim.fake.create_role_by_hand("Other", 0, false);
    sim.fake.move_role(other, 1);
    sim.fake.edit_role_by_hand(other, 0);
    let dry = ada.slash("reconcile", &[]).await;
    assert!(dry.text().contains("not below my highest role"), "{}", dry.text());
    assert_eq!(sim.audited("reconcile.role_unsafe").await, 1);
    assert_eq!(sim.texts_in(staff).iter().filter(|t| t.contains("changed in Discord")).count(), 1);
}

#[tokio::test]
async fn the_full_pass_pages_through_a_guild_larger_than_one_page() {
    let mut sim = Sim::start().await;
    let ada = sim.admin("ada");
    let (role, _) = group(&sim, &ada, "Rust", "Open").await;
    let crowd = sim.fake.seed_members("m", 2_300);
    // Three of them hold the role already (given by hand before).
    let (first, middle, last) = (crowd[0], crowd[1_500], crowd[2_299]);
    sim.stop_bot().await;
    for u in [first, middle, last] {
        sim.fake.give_role(u, role);
    }
    let pages_before = sim.fake.with(|w| w.count_requests("GET", "/members"));
    sim.start_bot().await;
    sim.wait_count("three memberships recorded", &membership_count("Rust"), 3).await;
    let pages = sim.fake.with(|w| w.count_requests("GET", "/members")) - pages_before;
    assert!(pages >= 3, "2,300 members are three pages of 1,000: {pages} requests");
    let ids: Vec<i64> =
        sqlx::query_scalar("select user_id from memberships order by user_id").fetch_all(&sim.pool).await.unwrap();
    let mut want = vec![first as i64, middle as i64, last as i64];
    want.sort();
    assert_eq!(ids, want);
    // Postgres and Discord agree afterwards.
    sim.assert_consistent().await;
}

#[tokio::test]
async fn handing_a_remade_role_back_resumes_after_a_failure_and_a_restart() {
    let mut sim = Sim::start().await;
    let ada = sim.admin("ada");
    let staff = sim.mod_channel(&ada).await;
    let members: Vec<Actor> = ["bob", "carol", "dan"].iter().map(|n| sim.member(n)).collect();
    let (role, _) = group(&sim, &ada, "Rust", "Open").await;
    for m in &members {
        m.slash("join", &[("group", "Rust")]).await;
    }
    // The first grant goes through, then Discord refuses.
    sim.fake.inject(fake_discord::Fault::missing_permissions("PUT", "/roles/").skip(1));
    sim.fake.delete_role_by_hand(role);
    notice(&sim, staff, "Giving the new role of **Rust** back to its members").await;
    assert_eq!(sim.count("select count(*) from groups where regrant_pending").await, 1, "still owed");
    let fake = sim.fake.clone();
    let holders = || {
        fake.with(|w| {
            let g = w.guilds.values().next().unwrap();
            let r = g.roles.iter().find(|r| r.name == "Rust").unwrap().id;
            g.members.values().filter(|m| m.roles.contains(&r)).count()
        })
    };
    assert!(holders() < 3, "the refused grant waits");
    assert_eq!(members_of(&sim, "Rust").await, 3, "nobody lost a membership meanwhile");

    sim.fake.clear_faults();
    sim.restart().await;
    sim.wait_count("the regrant finished", "select count(*) from groups where regrant_pending", 0).await;
    assert_eq!(holders(), 3);
    assert_eq!(sim.audited("reconcile.role_remade").await, 1, "made once");
    // Postgres and Discord agree afterwards.
    sim.assert_consistent().await;
}
