//! Leading a group (L1-L4): applications by modal, reviewed by admins in the
//! mod channel, first decision wins, the outcome by DM, withdrawals, and
//! groups left without a leader flagged once.

use crate::sim::{group, Sim};
use fake_discord::scenario::{components_of, message_text};
use fake_discord::world::{channel_type, Message};
use fake_discord::{perms, Actor, Fault, Reply};

const ANSWERS: [(&str, &str); 3] =
    [("motivation", "I run the local meetup"), ("experience", "Moderated two servers"), ("hours", "5")];

async fn apply(who: &Actor, group: &str) -> Reply {
    let form = who.slash("lead apply", &[("group", group)]).await;
    let modal = form.modal();
    assert_eq!(modal.fields.len(), 3);
    assert!(modal.fields.iter().all(|f| f.3.is_some()), "every input is bounded: {:?}", modal.fields);
    who.submit(&modal, &ANSWERS).await
}

async fn propose(who: &Actor, name: &str, bucket: &str, description: &str) -> Reply {
    let form = who.slash("lead apply", &[("bucket", bucket)]).await;
    let modal = form.modal();
    assert_eq!(modal.fields.len(), 5, "a modal holds at most five inputs");
    let mut values = vec![("name", name), ("description", description)];
    values.extend(ANSWERS);
    who.submit(&modal, &values).await
}

fn messages(sim: &Sim, channel: u64) -> Vec<Message> {
    sim.fake.with(|w| w.channel_messages(channel).to_vec())
}

/// The latest application card in the mod channel.
fn card(sim: &Sim, channel: u64) -> Message {
    messages(sim, channel).into_iter().rev().find(|m| !m.embeds.as_array().unwrap().is_empty()).expect("a card")
}

fn button(m: &Message, label: &str) -> String {
    components_of(m)
        .into_iter()
        .find(|c| c.label == label)
        .unwrap_or_else(|| panic!("no {label} on {}", message_text(m)))
        .custom_id
}

fn refreshed(sim: &Sim, m: &Message) -> Message {
    sim.fake.with(|w| w.find_message(m.id).cloned()).expect("card still there")
}

async fn status_of(sim: &Sim, applicant: u64) -> String {
    sqlx::query_scalar::<_, String>(&format!(
        "select status from lead_applications where applicant_id = {applicant} order by id desc limit 1"
    ))
    .fetch_one(&sim.pool)
    .await
    .unwrap()
}

async fn audits(sim: &Sim, action: &str) -> i64 {
    sim.count(&format!("select count(*) from audit_log where action = '{action}'")).await
}

#[tokio::test]
async fn applying_to_lead_an_existing_group_and_approval_makes_a_leader() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let (_, channel) = group(&sim, &ada, "Rust", "Open").await;
    let mods = sim.mod_channel(&ada).await;

    let r = apply(&alice, "Rust").await;
    assert!(r.is_ephemeral());
    assert!(r.text().contains("application #") && r.text().contains("in front of the admins"), "{}", r.text());

    let c = card(&sim, mods);
    let text = message_text(&c);
    assert!(text.contains("Application to lead Rust"), "{text}");
    assert!(text.contains(&format!("<@{}>", alice.user_id)) && text.contains("I run the local meetup"), "{text}");
    assert!(text.contains("Hours per week: 5"), "{text}");
    assert_eq!(c.allowed_mentions["parse"], serde_json::json!([]), "the card pings nobody");
    let thread = sim
        .fake
        .with(|w| w.channels.values().any(|ch| ch.parent_id == Some(mods) && ch.kind == channel_type::PUBLIC_THREAD));
    assert!(thread, "a discussion thread was started on the card");

    let approve = button(&c, "Approve");
    let decided = ada.click(c.id, &approve).await;
    assert!(decided.is_ephemeral());
    assert!(decided.text().contains("now leads **Rust**"), "{}", decided.text());
    let p = sim.fake.with(|w| w.channel_permissions(channel, alice.user_id));
    assert!(p & perms::MANAGE_MESSAGES != 0, "the new leader moderates the group's channel");
    assert!(alice.has_role_named("Rust"), "a leader is a member");
    assert_eq!(status_of(&sim, alice.user_id).await, "approved");

    let c = refreshed(&sim, &c);
    assert!(components_of(&c).is_empty(), "the card's buttons are gone");
    assert!(message_text(&c).contains(&format!("approved by <@{}>", ada.user_id)), "{}", message_text(&c));
    let dms = alice.dms();
    assert_eq!(dms.len(), 1);
    assert!(dms[0].content.contains("approved"), "{}", dms[0].content);

    let st = alice.slash("lead status", &[]).await;
    assert!(st.text().contains("approved by"), "{}", st.text());
    assert_eq!(audits(&sim, "lead.apply").await, 1);
    assert_eq!(audits(&sim, "lead.posted").await, 1);
    assert_eq!(audits(&sim, "lead.approve").await, 1);
    assert_eq!(audits(&sim, "leader.add").await, 1);

    // Pressing again after the decision: told who decided, nothing changes.
    let again = ada.click(c.id, &approve).await;
    assert!(again.text().contains("already decided"), "{}", again.text());
}

#[tokio::test]
async fn a_proposed_group_is_created_as_group_create_would_when_approved() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let mods = sim.mod_channel(&ada).await;

    let r = propose(&alice, "Climate Action", "Impact", "People fixing the climate").await;
    assert!(r.text().contains("**Climate Action**"), "{}", r.text());
    let c = card(&sim, mods);
    let text = message_text(&c);
    assert!(text.contains("Proposal for a new group: Climate Action") && text.contains("Bucket: Impact"), "{text}");
    assert!(sim.fake.role_named("Climate Action").is_none(), "nothing is made before approval");

    let decided = ada.click(c.id, &button(&c, "Approve")).await;
    assert!(decided.text().contains("was created"), "{}", decided.text());
    let role = sim.fake.role_named("Climate Action").expect("the group's role");
    assert_eq!(role.permissions, 0);
    let ch = sim.fake.channel_named("climate-action").expect("the group's channel");
    let category = sim.fake.channel_named("Impact").expect("the bucket's category");
    assert_eq!(ch.parent_id, Some(category.id));
    assert!(alice.has_role_named("Climate Action"));
    assert!(sim.fake.with(|w| w.channel_permissions(ch.id, alice.user_id)) & perms::MANAGE_MESSAGES != 0);
    assert_eq!(sim.count("select count(*) from groups where description = 'People fixing the climate'").await, 1);
    assert_eq!(
        sim.count("select count(*) from lead_applications where created_group_id is not null and status = 'approved'")
            .await,
        1
    );
    assert!(alice.dms()[0].content.contains("Climate Action"));
}

#[tokio::test]
async fn a_proposed_name_taken_by_decision_time_is_refused_and_nothing_is_half_made() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let mods = sim.mod_channel(&ada).await;
    group(&sim, &ada, "Go", "Open").await;

    // Proposing a name that already exists is refused at once.
    let r = propose(&alice, "go", "Interest", "").await;
    assert!(r.text().contains("already exists"), "{}", r.text());
    assert_eq!(sim.count("select count(*) from lead_applications").await, 0);

    let r = propose(&alice, "Rust", "Interest", "").await;
    assert!(r.text().contains("received"), "{}", r.text());
    group(&sim, &ada, "RUST", "Open").await;
    let roles_before = sim.fake.with(|w| w.guilds[&w.guilds.keys().next().copied().unwrap()].roles.len());

    let c = card(&sim, mods);
    let decided = ada.click(c.id, &button(&c, "Approve")).await;
    assert!(decided.text().contains("already exists") && decided.text().contains("still open"), "{}", decided.text());
    assert_eq!(status_of(&sim, alice.user_id).await, "open");
    assert_eq!(sim.count("select count(*) from groups").await, 2);
    assert_eq!(sim.count("select count(*) from group_leaders").await, 0);
    assert_eq!(sim.fake.with(|w| w.guilds[&w.guilds.keys().next().copied().unwrap()].roles.len()), roles_before);
    assert!(!components_of(&refreshed(&sim, &c)).is_empty(), "the card still offers a decision");
    assert!(alice.dms().is_empty());
}

#[tokio::test]
async fn declining_asks_a_reason_and_the_applicant_gets_it_by_dm() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let (_, channel) = group(&sim, &ada, "Rust", "Open").await;
    let mods = sim.mod_channel(&ada).await;
    apply(&alice, "Rust").await;
    let c = card(&sim, mods);

    let form = ada.click(c.id, &button(&c, "Decline")).await;
    let modal = form.modal();
    assert_eq!(modal.fields.len(), 1);
    assert!(modal.fields[0].2, "the reason is required");
    assert_eq!(modal.fields[0].3, Some(1000));

    let blank = ada.submit(&modal, &[("reason", "   ")]).await;
    assert!(blank.text().contains("can't be empty"), "{}", blank.text());
    assert_eq!(status_of(&sim, alice.user_id).await, "open");

    let done = ada.submit(&modal, &[("reason", "We need someone with 10 hours a week")]).await;
    assert!(done.text().contains("Declined"), "{}", done.text());
    assert_eq!(status_of(&sim, alice.user_id).await, "declined");
    let dm = &alice.dms()[0];
    assert!(dm.content.contains("declined") && dm.content.contains("10 hours a week"), "{}", dm.content);
    assert_eq!(dm.allowed_mentions["parse"], serde_json::json!([]));
    let c = refreshed(&sim, &c);
    assert!(components_of(&c).is_empty());
    assert!(message_text(&c).contains("10 hours a week"));
    assert!(sim.fake.with(|w| w.channel_permissions(channel, alice.user_id)) & perms::MANAGE_MESSAGES == 0);
    assert_eq!(audits(&sim, "lead.decline").await, 1);

    // A stale Decline on the decided card is refused, saying who decided.
    let stale = ada.click(c.id, &format!("gh:ldec:{}", sim.count("select max(id) from lead_applications").await)).await;
    assert!(stale.text().contains("already decided") && stale.text().contains("declined by"), "{}", stale.text());
}

#[tokio::test]
async fn two_admins_pressing_approve_at_once_make_one_decision() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let bob = sim.admin("bob");
    let alice = sim.member("alice");
    group(&sim, &ada, "Rust", "Open").await;
    let mods = sim.mod_channel(&ada).await;
    apply(&alice, "Rust").await;
    let c = card(&sim, mods);
    let id = button(&c, "Approve");

    let (a, b) = tokio::join!(ada.click(c.id, &id), bob.click(c.id, &id));
    let texts = [a.text(), b.text()];
    assert_eq!(texts.iter().filter(|t| t.contains("now leads")).count(), 1, "{texts:?}");
    assert_eq!(texts.iter().filter(|t| t.contains("already decided")).count(), 1, "{texts:?}");
    assert_eq!(sim.count("select count(*) from group_leaders").await, 1);
    assert_eq!(audits(&sim, "lead.approve").await, 1);
    assert_eq!(alice.dms().len(), 1);
}

#[tokio::test]
async fn non_admins_and_forged_ids_are_refused_and_nothing_changes() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let carol = sim.member("carol");
    group(&sim, &ada, "Rust", "Open").await;
    let mods = sim.mod_channel(&ada).await;
    apply(&alice, "Rust").await;
    let c = card(&sim, mods);

    let r = carol.click(c.id, &button(&c, "Approve")).await;
    assert!(r.text().contains("Only admins"), "{}", r.text());
    let r = alice.click(c.id, &button(&c, "Decline")).await;
    assert!(r.text().contains("Only admins"), "the applicant can't decide either: {}", r.text());
    for forged in ["gh:lapp:999999", "gh:lapp:0", "gh:lapp:1x", "gh:lapp:1:2", "gh:ldecm:1"] {
        let r = ada.click(c.id, forged).await;
        assert!(r.text().starts_with("Error:"), "{forged}: {}", r.text());
    }
    // Someone else's application can't be withdrawn.
    let r = carol.click(c.id, &button(&c, "Approve").replace("lapp", "lwd")).await;
    assert!(r.text().contains("doesn't exist"), "{}", r.text());
    assert_eq!(status_of(&sim, alice.user_id).await, "open");
    assert_eq!(sim.count("select count(*) from group_leaders").await, 0);
    assert!(alice.dms().is_empty());
}

/// With a mod channel set, the card posted there says the application
/// waits for an admin's decision (it was rendered before it was posted,
/// and once said it wasn't in front of admins), and so does `/lead status`.
#[tokio::test]
async fn with_a_mod_channel_set_the_card_and_the_status_say_it_waits_for_an_admin() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    group(&sim, &ada, "Rust", "Open").await;
    let mods = sim.mod_channel(&ada).await;
    let contradicts = |t: &str| t.contains("not yet in front of admins") || t.contains("haven't set a mod channel");

    let r = apply(&alice, "Rust").await;
    assert!(r.text().contains("in front of the admins now") && !contradicts(&r.text()), "{}", r.text());
    let first = card(&sim, mods);
    let r = propose(&alice, "Go", "Interest", "Gophers").await;
    assert!(r.text().contains("in front of the admins now") && !contradicts(&r.text()), "{}", r.text());
    let second = card(&sim, mods);
    assert_ne!(first.id, second.id, "a card each");
    for c in [&first, &second] {
        let text = message_text(c);
        assert!(
            text.contains("Status: Open: open since") && text.contains("waiting for an admin's decision"),
            "{text}"
        );
        assert!(!contradicts(&text), "the card contradicts where it is: {text}");
    }

    let st = alice.slash("lead status", &[]).await;
    assert_eq!(st.text().matches("waiting for an admin's decision in the mod channel").count(), 2, "{}", st.text());
    assert!(!contradicts(&st.text()), "{}", st.text());
}

#[tokio::test]
async fn without_a_mod_channel_the_application_waits_and_admins_find_it_in_pending() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    group(&sim, &ada, "Rust", "Open").await;

    let r = apply(&alice, "Rust").await;
    assert!(r.text().contains("haven't set a mod channel"), "{}", r.text());
    assert_eq!(status_of(&sim, alice.user_id).await, "open");
    let st = alice.slash("lead status", &[]).await;
    assert!(st.text().contains("not yet in front of admins"), "{}", st.text());

    let p = ada.slash("lead pending", &[]).await;
    assert!(p.is_ephemeral());
    assert!(p.text().contains("No mod channel is set") && p.text().contains("/config mod-channel"), "{}", p.text());
    assert!(p.has_button("Approve #1") && p.has_button("Decline #1"), "{}", p.text());
    let denied = alice.slash("lead pending", &[]).await;
    assert!(denied.text().contains("Only admins"), "{}", denied.text());

    // Once a mod channel is set (with /config, which posts what was
    // waiting), pending lists it without posting it twice.
    let mods = sim.mod_channel(&ada).await;
    let p = ada.slash("lead pending", &[]).await;
    assert!(!p.text().contains("Posted"), "{}", p.text());
    assert!(p.has_button("Approve #1"), "{}", p.text());
    let cards = messages(&sim, mods).into_iter().filter(|m| !m.embeds.as_array().unwrap().is_empty()).count();
    assert_eq!(cards, 1, "one card for the one application");
    let c = card(&sim, mods);
    assert!(message_text(&c).contains("Application to lead Rust"));
    let decided = p.click("Approve #1").await;
    assert!(decided.text().contains("now leads"), "{}", decided.text());
    assert!(components_of(&refreshed(&sim, &c)).is_empty(), "the posted card follows the decision");
}

#[tokio::test]
async fn a_deleted_mod_channel_still_lets_admins_decide_and_new_applications_wait() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let bob = sim.member("bob");
    group(&sim, &ada, "Rust", "Open").await;
    let mods = sim.mod_channel(&ada).await;
    apply(&alice, "Rust").await;
    assert!(sim.fake.delete_channel_by_hand(mods));
    // The bot forgets the deleted channel (A5).
    sim.wait_count(
        "the mod channel is forgotten",
        "select count(*) from guild_settings where mod_channel_id is not null",
        0,
    )
    .await;

    let r = apply(&bob, "Rust").await;
    assert!(r.text().contains("haven't set a mod channel"), "{}", r.text());
    assert_eq!(status_of(&sim, bob.user_id).await, "open");

    let p = ada.slash("lead pending", &[]).await;
    assert!(p.has_button("Approve #1") && p.has_button("Approve #2"), "{}", p.text());
    let decided = p.click("Approve #1").await;
    assert!(decided.text().contains("now leads"), "{}", decided.text());
    assert!(decided.text().contains("couldn't be updated"), "{}", decided.text());
    assert_eq!(status_of(&sim, alice.user_id).await, "approved");
}

#[tokio::test]
async fn a_second_application_for_the_same_group_is_refused_until_withdrawn() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    group(&sim, &ada, "Rust", "Open").await;
    sim.mod_channel(&ada).await;
    apply(&alice, "Rust").await;

    let again = alice.slash("lead apply", &[("group", "rust")]).await;
    assert!(again.is_ephemeral());
    assert!(again.text().contains("already have an open application #1"), "{}", again.text());
    assert!(again.text().contains("waiting for an admin's decision in the mod channel"), "{}", again.text());
    // The same name proposed twice, ignoring case, is refused too.
    propose(&alice, "Go", "Interest", "").await;
    let twice = propose(&alice, "GO", "Interest", "").await;
    assert!(twice.text().contains("already have an open application #2"), "{}", twice.text());
    assert_eq!(sim.count("select count(*) from lead_applications").await, 2);

    let st = alice.slash("lead status", &[]).await;
    let out = st.click("Withdraw #1").await;
    assert!(out.text().contains("You withdrew application #1"), "{}", out.text());
    assert_eq!(sim.count("select count(*) from lead_applications where status = 'withdrawn'").await, 1);
    assert_eq!(audits(&sim, "lead.withdraw").await, 1);
    let form = alice.slash("lead apply", &[("group", "Rust")]).await;
    assert_eq!(form.modal().fields.len(), 3, "a new application can be made after withdrawing");
}

#[tokio::test]
async fn bad_answers_are_refused_and_nothing_is_stored() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    group(&sim, &ada, "Rust", "Open").await;
    let modal = alice.slash("lead apply", &[("group", "Rust")]).await.modal();
    let r = alice.submit(&modal, &[("motivation", "x"), ("experience", "y"), ("hours", "200")]).await;
    assert!(r.text().contains("1 to 168"), "{}", r.text());
    let modal = alice.slash("lead apply", &[("bucket", "Impact")]).await.modal();
    let r = alice
        .submit(
            &modal,
            &[("name", "@everyone"), ("description", ""), ("motivation", "x"), ("experience", "y"), ("hours", "3")],
        )
        .await;
    assert!(r.text().contains("group name can't contain"), "{}", r.text());
    let r = alice.slash("lead apply", &[]).await;
    assert!(r.text().contains("pick its `bucket`"), "{}", r.text());
    assert_eq!(sim.count("select count(*) from lead_applications").await, 0);
}

/// A refused answer loses nothing typed: "hours per week" that is not a
/// number is refused privately with the answers shown back and *Edit my
/// answers*, which opens the form again filled in with them (read back from
/// that message, the group checked again); corrected, it is received. A
/// proposal keeps its name and description the same way.
#[tokio::test]
async fn a_refused_answer_is_shown_back_and_the_form_opens_again_filled_in() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    group(&sim, &ada, "Rust", "Open").await;
    let mods = sim.mod_channel(&ada).await;
    let owned = |pairs: &[(&str, &str)]| -> Vec<(String, String)> {
        pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    };

    let form = alice.slash("lead apply", &[("group", "Rust")]).await.modal();
    let typed =
        [("motivation", "I run the **local** meetup"), ("experience", "Moderated two servers"), ("hours", "ten")];
    let refused = alice.submit(&form, &typed).await;
    assert!(refused.is_ephemeral());
    let text = refused.text();
    assert!(text.starts_with("Error: Hours per week must be a whole number from 1 to 168."), "{text}");
    assert!(text.contains("Nothing was saved") && text.contains("Edit my answers"), "{text}");
    for (_, answer) in typed {
        assert!(text.contains(answer), "{answer:?} is shown back: {text}");
    }
    assert_eq!(sim.count("select count(*) from lead_applications").await, 0);

    let again = refused.click("Edit my answers").await;
    let modal = again.modal();
    assert_eq!((modal.custom_id.as_str(), modal.title.as_str()), (form.custom_id.as_str(), "Lead Rust"));
    assert_eq!(modal.values, owned(&typed), "the form is filled in as it was left");
    let fixed = [typed[0], typed[1], ("hours", "10")];
    let done = alice.submit(&modal, &fixed).await;
    assert!(done.text().contains("was received") && done.text().contains("in front of the admins"), "{}", done.text());
    let c = message_text(&card(&sim, mods));
    assert!(c.contains("I run the **local** meetup") && c.contains("Hours per week: 10"), "{c}");

    // The button is checked again when pressed: an application for Rust is
    // open now, so the old refusal's button is refused, privately.
    let stale = refused.click("Edit my answers").await;
    assert!(stale.is_ephemeral() && stale.text().starts_with("Error:"), "{}", stale.text());
    assert!(stale.text().contains("already have an open application"), "{}", stale.text());

    // A proposal: its name and description are kept too.
    let form = alice.slash("lead apply", &[("bucket", "Impact")]).await.modal();
    let typed = [
        ("name", "@everyone"),
        ("description", "Climate work, locally"),
        ("motivation", "I organise cleanups"),
        ("experience", "Ran a club"),
        ("hours", "4"),
    ];
    let refused = alice.submit(&form, &typed).await;
    assert!(
        refused.text().starts_with("Error:") && refused.text().contains("group name can't contain"),
        "{}",
        refused.text()
    );
    let again = refused.click("Edit my answers").await;
    let modal = again.modal();
    assert_eq!(modal.title, "Propose a group in Impact");
    assert_eq!(modal.values, owned(&typed));
    let mut fixed = typed;
    fixed[0] = ("name", "Climate");
    let done = alice.submit(&modal, &fixed).await;
    assert!(done.text().contains("to lead **Climate** was received"), "{}", done.text());
    assert_eq!(sim.count("select count(*) from lead_applications where status = 'open'").await, 2);
}

#[tokio::test]
async fn an_applicant_with_closed_dms_is_recorded_and_sees_the_outcome_in_status() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let id = sim.fake.add_user("dora", 365, false);
    sim.fake.join_guild(id, 30);
    let dora = sim.fake.actor(id);
    group(&sim, &ada, "Rust", "Open").await;
    let mods = sim.mod_channel(&ada).await;
    apply(&dora, "Rust").await;
    let c = card(&sim, mods);
    let decided = ada.click(c.id, &button(&c, "Approve")).await;
    assert!(decided.text().contains("couldn't DM the applicant"), "{}", decided.text());
    assert_eq!(sim.count("select count(*) from lead_applications where dm_delivered = false").await, 1);
    assert_eq!(audits(&sim, "lead.dm_failed").await, 1);
    let st = dora.slash("lead status", &[]).await;
    assert!(st.text().contains("approved by"), "{}", st.text());
}

fn flags(sim: &Sim, mods: u64, name: &str) -> usize {
    messages(sim, mods).iter().filter(|m| m.content.contains(&format!("**{name}** has no active leader"))).count()
}

#[tokio::test]
async fn a_group_whose_only_leader_leaves_is_flagged_to_admins_once() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let bob = sim.member("bob");
    let carol = sim.member("carol");
    group(&sim, &ada, "Rust", "Open").await;
    group(&sim, &ada, "Go", "Open").await;
    let mods = sim.mod_channel(&ada).await;
    for (who, g) in [(&alice, "Rust"), (&bob, "Go")] {
        let r = ada.slash("group leader add", &[("group", g), ("user", &who.user_id.to_string())]).await;
        assert!(r.text().contains("now leads"), "{}", r.text());
    }

    sim.fake.leave_guild(alice.user_id);
    sim.fake
        .wait_until("Rust flagged", |w| {
            w.channel_messages(mods).iter().any(|m| m.content.contains("**Rust** has no active leader"))
        })
        .await;
    assert_eq!(sim.count("select count(*) from group_leaders").await, 1, "the departed leader no longer leads");

    // The same departure again (a replayed event), then another group's
    // leader leaves: by the time Go is flagged, Rust was not flagged twice.
    sim.fake.leave_guild(alice.user_id);
    sim.fake.leave_guild(bob.user_id);
    sim.fake
        .wait_until("Go flagged", |w| {
            w.channel_messages(mods).iter().any(|m| m.content.contains("**Go** has no active leader"))
        })
        .await;
    assert_eq!(flags(&sim, mods, "Rust"), 1);
    assert_eq!(flags(&sim, mods, "Go"), 1);
    assert_eq!(audits(&sim, "group.leaderless").await, 2);

    // A new leader clears the flag; stepping down flags again, once.
    ada.slash("group leader add", &[("group", "Rust"), ("user", &carol.user_id.to_string())]).await;
    let r = ada.slash("group leader remove", &[("group", "Rust"), ("user", &carol.user_id.to_string())]).await;
    assert!(r.text().contains("no longer leads"), "{}", r.text());
    assert_eq!(flags(&sim, mods, "Rust"), 2);
    let p = ada.slash("lead pending", &[]).await;
    assert!(p.text().contains("Groups without a leader") && p.text().contains("**Rust**"), "{}", p.text());
}

#[tokio::test]
async fn an_approved_lead_can_decide_join_requests_of_their_group() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let bob = sim.member("bob");
    group(&sim, &ada, "Founders", "Closed").await;
    let mods = sim.mod_channel(&ada).await;
    apply(&alice, "Founders").await;
    let c = card(&sim, mods);
    let decided = ada.click(c.id, &button(&c, "Approve")).await;
    assert!(decided.text().contains("now leads **Founders**"), "{}", decided.text());

    let asked = bob.slash("request-join", &[("group", "Founders")]).await;
    assert!(!asked.text().starts_with("Error"), "{}", asked.text());
    let pending = alice.slash("requests", &[]).await;
    assert!(pending.text().contains("waiting for your decision"), "{}", pending.text());
    let r = pending.click("Approve #1").await;
    assert!(r.text().contains("is now a member"), "{}", r.text());
    assert!(bob.has_role_named("Founders"));
}

#[tokio::test]
async fn setting_the_mod_channel_posts_the_applications_that_were_waiting() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    group(&sim, &ada, "Rust", "Open").await;
    let r = apply(&alice, "Rust").await;
    assert!(r.text().contains("haven't set a mod channel"), "{}", r.text());
    let mods = sim.fake.create_channel_by_hand("mods", fake_discord::world::channel_type::TEXT, None, vec![]);
    let r = ada.slash("config mod-channel", &[("channel", &mods.to_string())]).await;
    assert!(r.text().contains("Posted 1 lead application(s) that were waiting"), "{}", r.text());
    let c = card(&sim, mods);
    assert!(message_text(&c).contains("Application to lead Rust"), "{}", message_text(&c));
    let st = alice.slash("lead status", &[]).await;
    assert!(!st.text().contains("not yet in front of admins"), "{}", st.text());
}

/// Approving a proposal makes the group, its role and channel (and the
/// bucket's category), the applicant's membership and leadership, and closes
/// the application: one unit. A Discord failure at any of its steps leaves
/// nothing behind (N5): no group row, role, channel or category, no
/// membership, the application still open with its buttons, nobody told;
/// once the failure is gone the same card approves it.
#[tokio::test]
async fn a_proposal_approval_that_fails_at_any_step_leaves_nothing_behind() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let mods = sim.mod_channel(&ada).await;
    propose(&alice, "Climate Action", "Impact", "People fixing the climate").await;
    let c = card(&sim, mods);
    let roles_before = sim.fake.with(|w| w.guilds[&sim.fake.guild_id].roles.len());
    let channels_before = sim.fake.with(|w| w.guilds[&sim.fake.guild_id].channels.len());

    // Each step of the unit, in the order the bot takes them: the role, the
    // bucket's category, the channel, the member's role, the leader's
    // channel permissions.
    let steps = [
        ("the role", Fault::missing_permissions("POST", "/roles")),
        ("the category", Fault::missing_permissions("POST", "/channels").times(1)),
        ("the channel", Fault::missing_permissions("POST", "/channels").skip(1).times(1)),
        ("the leader's permissions", Fault::missing_permissions("PUT", "/permissions/")),
    ];
    for (step, fault) in steps {
        sim.fake.inject(fault);
        let decided = ada.click(c.id, &button(&c, "Approve")).await;
        sim.fake.clear_faults();
        assert!(decided.text().starts_with("Error:"), "{step}: {}", decided.text());
        assert!(decided.text().contains("still open"), "{step}: {}", decided.text());
        assert_eq!(status_of(&sim, alice.user_id).await, "open", "{step}");
        assert_eq!(sim.count("select count(*) from groups").await, 0, "{step}: no group row");
        assert_eq!(sim.count("select count(*) from memberships").await, 0, "{step}: no membership");
        assert_eq!(sim.count("select count(*) from group_leaders").await, 0, "{step}: no leader");
        assert_eq!(audits(&sim, "lead.approve").await, 0, "{step}");
        assert!(sim.fake.role_named("Climate Action").is_none(), "{step}: the role was taken back");
        assert!(sim.fake.channel_named("climate-action").is_none(), "{step}: the channel was taken back");
        assert!(sim.fake.channel_named("Impact").is_none(), "{step}: the category was taken back");
        assert_eq!(sim.fake.with(|w| w.guilds[&sim.fake.guild_id].roles.len()), roles_before, "{step}");
        assert_eq!(sim.fake.with(|w| w.guilds[&sim.fake.guild_id].channels.len()), channels_before, "{step}");
        assert!(!alice.has_role_named("Climate Action"), "{step}");
        assert!(!components_of(&refreshed(&sim, &c)).is_empty(), "{step}: the card still offers a decision");
        assert!(alice.dms().is_empty(), "{step}: the applicant is told nothing yet");
        sim.assert_consistent().await;
    }

    // The applicant's grant is queued after the approval commits (N6): when
    // Discord refuses it for good, the approval is reversed (the group, its
    // role and channel unmade, the application open again) and the
    // applicant told; the bucket's category stays the bucket's.
    sim.fake.inject(Fault::missing_permissions("PUT", "/members/"));
    let decided = ada.click(c.id, &button(&c, "Approve")).await;
    sim.fake.clear_faults();
    assert!(decided.text().starts_with("Error:"), "the grant: {}", decided.text());
    assert!(decided.text().contains("still open"), "the grant: {}", decided.text());
    assert_eq!(status_of(&sim, alice.user_id).await, "open");
    assert_eq!(sim.count("select count(*) from groups").await, 0, "the grant: the group was unmade");
    assert_eq!(sim.count("select count(*) from memberships").await, 0);
    assert_eq!(sim.count("select count(*) from group_leaders").await, 0);
    assert_eq!(audits(&sim, "lead.approve_failed").await, 1, "the audit trail says why");
    assert!(sim.fake.role_named("Climate Action").is_none(), "the grant: the role was unmade");
    assert!(sim.fake.channel_named("climate-action").is_none(), "the grant: the channel was unmade");
    assert!(!alice.has_role_named("Climate Action"));
    assert!(!components_of(&refreshed(&sim, &c)).is_empty(), "the grant: the card offers a decision again");
    assert!(
        alice.dms().iter().any(|m| m.content.contains("couldn't give you the group's role")),
        "the applicant is told"
    );
    sim.assert_consistent().await;

    let decided = ada.click(c.id, &button(&c, "Approve")).await;
    assert!(decided.text().contains("was created"), "{}", decided.text());
    assert_eq!(status_of(&sim, alice.user_id).await, "approved");
    assert!(alice.has_role_named("Climate Action"));
    assert_eq!(sim.count("select count(*) from group_leaders").await, 1);
    assert_eq!(audits(&sim, "lead.approve").await, 2, "approved, reversed, approved again");
    sim.assert_consistent().await;
}
