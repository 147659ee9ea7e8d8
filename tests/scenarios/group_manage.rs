//! `/group edit`, `/group archive`, `/group unarchive`, `/group delete` (with
//! its buttons) and `/group adopt` (G2, G3, A2, A3, N2, N3, N5).

use crate::sim::Sim;
use fake_discord::{perms, world::channel_type, Actor, Fault, Reply};

async fn create(admin: &Actor, name: &str, bucket: &str, visibility: &str) {
    let r = admin.slash("group create", &[("name", name), ("bucket", bucket), ("visibility", visibility)]).await;
    assert!(r.text().contains("Created"), "{name}: {}", r.text());
}

fn role_count(sim: &Sim) -> usize {
    sim.fake.with(|w| w.guilds[&sim.fake.guild_id].roles.len())
}

fn channel_count(sim: &Sim) -> usize {
    sim.fake.with(|w| w.guilds[&sim.fake.guild_id].channels.len())
}

async fn text(sim: &Sim, sql: &str) -> String {
    sqlx::query_scalar::<_, String>(sql).fetch_one(&sim.pool).await.expect(sql)
}

/// Overwrites in a stable order (Discord keeps no order among them).
fn sorted(list: &[fake_discord::world::Overwrite]) -> Vec<fake_discord::world::Overwrite> {
    let mut v = list.to_vec();
    v.sort_by_key(|o| (o.kind, o.id));
    v
}

fn assert_error(r: &Reply, expected: &str) {
    let text = r.text();
    assert!(r.is_ephemeral(), "{text}");
    assert!(text.starts_with("Error: "), "expected an error, got: {text}");
    assert!(text.contains(expected), "expected {expected:?} in: {text}");
    assert_eq!(r.message().allowed_mentions["parse"], serde_json::json!([]), "no pings: {text}");
}

#[tokio::test]
async fn renaming_a_group_renames_its_role_and_channel() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    create(&ada, "Rust", "Interest", "Open").await;
    let role = sim.fake.role_named("Rust").unwrap();
    let channel = sim.fake.channel_named("rust").unwrap();

    let r = ada.slash("group edit", &[("group", "Rust"), ("name", "Rust Lovers")]).await;
    assert!(r.is_ephemeral());
    assert!(r.text().contains("Updated **Rust Lovers**"), "{}", r.text());
    assert!(r.text().contains("renamed to **Rust Lovers**"), "{}", r.text());

    // Same role and channel, new names.
    assert_eq!(sim.fake.role_named("Rust Lovers").map(|r| r.id), Some(role.id));
    assert!(sim.fake.role_named("Rust").is_none());
    let renamed = sim.fake.channel_named("rust-lovers").expect("#rust-lovers");
    assert_eq!(renamed.id, channel.id);
    assert_eq!(renamed.parent_id, channel.parent_id, "still under Interest");
    assert!(sim.fake.channel_named("rust").is_none());
    // Nothing else about the channel changed.
    assert_eq!(sorted(&renamed.overwrites), sorted(&channel.overwrites));

    assert_eq!(text(&sim, "select name from groups").await, "Rust Lovers");
    assert_eq!(
        text(&sim, "select reason from audit_log where action = 'group.edit'").await,
        "name: Rust → Rust Lovers"
    );
    assert!(sim.fake.with(|w| w.audit.iter().any(|a| a.method == "PATCH" && a.reason.contains("Rust Lovers"))));
    assert!(alice.slash("groups", &[]).await.text().contains("**Rust Lovers**"));
    assert_eq!(alice.autocomplete("group edit", &[("group", "lov")], "group").await, ["Rust Lovers"]);

    // Changing only the letter case of its own name is fine.
    let r = ada.slash("group edit", &[("group", "rust lovers"), ("name", "RUST LOVERS")]).await;
    assert!(r.text().contains("Updated **RUST LOVERS**"), "{}", r.text());
    assert_eq!(sim.fake.role_named("RUST LOVERS").map(|r| r.id), Some(role.id));
}

#[tokio::test]
async fn a_name_another_group_has_is_refused_and_changes_nothing() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    create(&ada, "Rust", "Interest", "Open").await;
    create(&ada, "Go", "Interest", "Open").await;
    let r = ada.slash("group edit", &[("group", "Go"), ("name", "rUST")]).await;
    assert_error(&r, "already has that name");
    assert!(sim.fake.role_named("Go").is_some() && sim.fake.role_named("rUST").is_none());
    assert!(sim.fake.channel_named("go").is_some());
    assert_eq!(sim.count("select count(*) from groups where name = 'Go'").await, 1);
    assert_eq!(sim.count("select count(*) from audit_log where action = 'group.edit'").await, 0);
}

#[tokio::test]
async fn an_edit_that_changes_nothing_says_so() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    create(&ada, "Rust", "Interest", "Open").await;
    for options in [
        vec![("group", "Rust")],
        vec![("group", "rust"), ("name", "Rust"), ("bucket", "Interest"), ("visibility", "Open")],
        vec![("group", "Rust"), ("members_can_post", "true")],
    ] {
        let r = ada.slash("group edit", &options).await;
        assert!(r.is_ephemeral());
        assert!(r.text().contains("Nothing to change: **Rust** already is as you asked"), "{options:?}: {}", r.text());
    }
    assert_eq!(sim.count("select count(*) from audit_log where action = 'group.edit'").await, 0);
}

#[tokio::test]
async fn bad_names_and_texts_are_refused_at_and_past_their_limits() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    create(&ada, "Rust", "Interest", "Open").await;
    let long_name = "x".repeat(101);
    let long_text = "y".repeat(1001);
    // Too long never leaves Discord's client (the options' max_length).
    let general = sim.fake.general_channel();
    for (option, value, says) in [
        ("name", &long_name, "name: at most 100 characters"),
        ("description", &long_text, "description: at most 1000 characters"),
        ("criteria", &long_text, "criteria: at most 1000 characters"),
    ] {
        let refused =
            ada.try_slash_in(general, "group edit", &[("group", "Rust"), (option, value.as_str())]).await.err();
        assert!(refused.as_deref().is_some_and(|e| e.contains(says)), "{refused:?}");
    }
    let cases: Vec<(&str, &str, &str)> = vec![
        ("name", "<@123456789012345678>", "can't contain mentions"),
        ("name", "@here", "can't contain mentions"),
        ("name", "<#1234>", "can't contain mentions"),
        ("name", "__under__", "markdown"),
        ("name", "a`b`", "markdown"),
        ("name", "bell\u{7}", "control characters"),
        ("name", "zero\u{200B}width", "invisible"),
        ("name", "   ", "can't be empty"),
        ("description", "nul\u{0}here", "control characters"),
        ("criteria", "esc\u{1b}[31m", "control characters"),
    ];
    for (option, value, expected) in cases {
        let r = ada.slash("group edit", &[("group", "Rust"), (option, value)]).await;
        assert_error(&r, expected);
        assert!(r.text().contains("Nothing was changed"), "{}", r.text());
    }
    assert_eq!(text(&sim, "select name from groups").await, "Rust");
    assert!(sim.fake.channel_named("rust").is_some());
    assert_eq!(sim.count("select count(*) from audit_log where action = 'group.edit'").await, 0);

    // At the limits: 100-character name, 1000-character description and criteria.
    let hundred = "n".repeat(100);
    let thousand = "c".repeat(1000);
    let r = ada
        .slash(
            "group edit",
            &[("group", "Rust"), ("name", &hundred), ("description", &thousand), ("criteria", &thousand)],
        )
        .await;
    assert!(r.text().contains("Updated"), "{}", r.text());
    assert_eq!(text(&sim, "select name from groups").await, hundred);
    assert_eq!(text(&sim, "select criteria from groups").await, thousand);
    assert_eq!(sim.fake.role_named(&hundred).map(|r| r.name.chars().count()), Some(100));
    let channel = sim.fake.channel_named(&hundred).expect("channel renamed");
    assert_eq!(channel.topic.as_deref(), Some(thousand.as_str()), "the description is the channel topic");
}

#[tokio::test]
async fn a_new_bucket_moves_the_channel_under_its_category() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    create(&ada, "Rust", "Interest", "Open").await;
    let r = ada.slash("group edit", &[("group", "Rust"), ("bucket", "Impact"), ("description", "Crabs")]).await;
    assert!(r.text().contains("moved to Impact"), "{}", r.text());
    let impact = sim.fake.channel_named("Impact").expect("the Impact category was made");
    assert_eq!(impact.kind, channel_type::CATEGORY);
    let rust = sim.fake.channel_named("rust").unwrap();
    assert_eq!(rust.parent_id, Some(impact.id));
    assert_eq!(rust.topic.as_deref(), Some("Crabs"));
    assert_eq!(text(&sim, "select bucket from groups").await, "impact");
    assert!(alice.slash("groups", &[("bucket", "Impact")]).await.text().contains("**Rust**"));
    assert!(!alice.slash("groups", &[("bucket", "Interest")]).await.text().contains("**Rust**"));

    // Back to Interest: the existing category is reused.
    let interest = sim.fake.channel_named("Interest").unwrap().id;
    let channels = channel_count(&sim);
    ada.slash("group edit", &[("group", "Rust"), ("bucket", "Interest")]).await;
    assert_eq!(sim.fake.channel_named("rust").unwrap().parent_id, Some(interest));
    assert_eq!(channel_count(&sim), channels);
}

#[tokio::test]
async fn switching_visibility_hides_and_shows_the_channel_to_non_members_only() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let bob = sim.member("bob");
    create(&ada, "Rust", "Interest", "Open").await;
    let role = sim.fake.role_named("Rust").unwrap().id;
    sim.fake.give_role(alice.user_id, role);
    let rust = sim.fake.channel_named("rust").unwrap().id;
    assert!(bob.can_view(rust) && !bob.can_send(rust));

    let r = ada.slash("group edit", &[("group", "Rust"), ("visibility", "Closed")]).await;
    assert!(r.text().contains("now closed: its channel is hidden from non-members"), "{}", r.text());
    assert!(!bob.can_view(rust), "a non-member loses sight of a closed group's channel");
    assert!(alice.can_view(rust) && alice.can_send(rust), "a member keeps it");
    assert!(sim.fake.actor(sim.fake.bot_user_id()).can_view(rust), "so does the bot");
    assert_eq!(text(&sim, "select visibility from groups").await, "closed");
    let list = bob.slash("groups", &[]).await.text();
    assert!(list.contains("**Rust** · 🔒 Closed"), "closed groups stay listed: {list}");

    let r = ada.slash("group edit", &[("group", "Rust"), ("visibility", "Open")]).await;
    assert!(r.text().contains("now open"), "{}", r.text());
    assert!(bob.can_view(rust) && !bob.can_send(rust));
    assert!(alice.can_view(rust) && alice.can_send(rust));
    assert_eq!(sim.count("select count(*) from audit_log where action = 'group.edit'").await, 2);
}

#[tokio::test]
async fn members_can_post_false_leaves_members_reading_only() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let bob = sim.member("bob");
    create(&ada, "News", "Impact", "Open").await;
    sim.fake.give_role(alice.user_id, sim.fake.role_named("News").unwrap().id);
    let news = sim.fake.channel_named("news").unwrap().id;
    // A leader's own overwrite (set by hand here) is left alone by edits.
    sim.fake.mutate(|w| {
        w.channels.get_mut(&news).unwrap().overwrites.push(fake_discord::world::Overwrite {
            id: bob.user_id,
            kind: 1,
            allow: perms::SEND_MESSAGES,
            deny: 0,
        })
    });

    let r = ada.slash("group edit", &[("group", "News"), ("members_can_post", "false")]).await;
    assert!(r.text().contains("only leaders and admins can post"), "{}", r.text());
    assert!(alice.can_view(news) && !alice.can_send(news));
    assert!(bob.can_send(news), "other overwrites on the channel are kept");

    ada.slash("group edit", &[("group", "News"), ("members_can_post", "true")]).await;
    assert!(alice.can_send(news));
    assert_eq!(sim.count("select count(*) from groups where members_can_post").await, 1);
}

#[tokio::test]
async fn archiving_makes_the_channel_read_only_and_hides_the_group_but_keeps_members() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let bob = sim.member("bob");
    create(&ada, "Rust", "Interest", "Open").await;
    create(&ada, "Circle", "Identity", "Closed").await;
    let rust_role = sim.fake.role_named("Rust").unwrap().id;
    let circle_role = sim.fake.role_named("Circle").unwrap().id;
    // Given by hand: the bot records the memberships (A5).
    sim.fake.give_role(alice.user_id, rust_role);
    sim.fake.give_role(alice.user_id, circle_role);
    sim.wait_count(
        "alice's memberships recorded",
        &format!("select count(*) from memberships where user_id = {}", alice.user_id),
        2,
    )
    .await;
    let rust = sim.fake.channel_named("rust").unwrap().id;
    let circle = sim.fake.channel_named("circle").unwrap().id;

    for name in ["Rust", "Circle"] {
        let r = ada.slash("group archive", &[("group", name)]).await;
        assert!(r.is_ephemeral());
        assert!(r.text().contains(&format!("Archived **{name}**")), "{}", r.text());
    }
    // Read-only for everyone, members included; visibility unchanged.
    assert!(alice.can_view(rust) && !alice.can_send(rust));
    assert!(alice.can_view(circle) && !alice.can_send(circle));
    assert!(bob.can_view(rust) && !bob.can_send(rust));
    assert!(!bob.can_view(circle));
    let p = sim.fake.with(|w| w.channel_permissions(rust, alice.user_id));
    assert_eq!(p & (perms::CREATE_PUBLIC_THREADS | perms::CREATE_PRIVATE_THREADS), 0, "no new threads either");
    // Gone from the directory and autocomplete; members kept.
    let list = bob.slash("groups", &[]).await.text();
    assert!(!list.contains("Rust") && !list.contains("Circle"), "{list}");
    assert!(ada.autocomplete("group archive", &[("group", "Ru")], "group").await.is_empty());
    assert_eq!(ada.autocomplete("group unarchive", &[("group", "ru")], "group").await, ["Rust"]);
    assert_eq!(sim.count("select count(*) from memberships").await, 2);
    assert_eq!(sim.count("select count(*) from groups where archived_at is not null").await, 2);
    assert_eq!(sim.count("select count(*) from audit_log where action = 'group.archive'").await, 2);
    assert!(alice.has_role_named("Rust"));

    // Twice is harmless.
    let r = ada.slash("group archive", &[("group", "Rust")]).await;
    assert!(r.text().contains("already archived"), "{}", r.text());
    assert_eq!(sim.count("select count(*) from audit_log where action = 'group.archive'").await, 2);

    let r = ada.slash("group unarchive", &[("group", "Rust")]).await;
    assert!(r.text().contains("Unarchived **Rust**"), "{}", r.text());
    assert!(alice.can_send(rust) && bob.can_view(rust) && !bob.can_send(rust));
    assert!(bob.slash("groups", &[]).await.text().contains("**Rust** · 🔓 Open · 1 member"));
    let r = ada.slash("group unarchive", &[("group", "Rust")]).await;
    assert!(r.text().contains("isn't archived"), "{}", r.text());
    assert_eq!(sim.count("select count(*) from audit_log where action = 'group.unarchive'").await, 1);
}

#[tokio::test]
async fn discord_refusing_an_archive_changes_nothing() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    create(&ada, "Rust", "Interest", "Open").await;
    sim.fake.give_role(alice.user_id, sim.fake.role_named("Rust").unwrap().id);
    let rust = sim.fake.channel_named("rust").unwrap().id;
    sim.fake.inject(Fault::missing_permissions("PUT", "/permissions/"));
    let r = ada.slash("group archive", &[("group", "Rust")]).await;
    assert_error(&r, "couldn't make the group's channel read-only");
    assert!(r.text().contains("Manage Roles"), "{}", r.text());
    assert_eq!(sim.count("select count(*) from groups where archived_at is null").await, 1);
    assert!(alice.can_send(rust));
    assert_eq!(sim.count("select count(*) from audit_log where action = 'group.archive'").await, 0);
}

#[tokio::test]
async fn deleting_asks_first_cancel_keeps_everything_and_confirm_removes_it_all() {
    let sim = Sim::start_with_notify_roles().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let roles_before = role_count(&sim);
    create(&ada, "Rust", "Interest", "Open").await;
    let channels_with_group = channel_count(&sim);
    let joined = alice.slash("join", &[("group", "Rust")]).await;
    assert!(joined.text().contains("You joined **Rust**"), "{}", joined.text());
    let page = alice.slash("group info", &[("group", "Rust")]).await;
    assert!(page.has_button("Unsubscribe"), "joining subscribed her: {}", page.text());

    let ask = ada.slash("group delete", &[("group", "Rust")]).await;
    assert!(ask.is_ephemeral());
    assert!(ask.text().contains("Delete the group **Rust**?"), "{}", ask.text());
    assert_eq!(ask.button("Delete group").style, 4, "a danger button");
    assert!(ask.has_button("Cancel"));
    // Nothing is removed until confirmed (the group's role and, since alice
    // follows it, its notification role).
    assert_eq!(role_count(&sim), roles_before + 2);
    assert_eq!(channel_count(&sim), channels_with_group);
    assert_eq!(sim.count("select count(*) from groups").await, 1);

    let cancelled = ask.click("Cancel").await;
    assert_eq!(cancelled.callback_type(), 7, "the confirmation is updated in place");
    assert!(cancelled.text().contains("Cancelled: **Rust** was not deleted"), "{}", cancelled.text());
    assert!(cancelled.components().is_empty());
    assert!(sim.fake.role_named("Rust").is_some() && sim.fake.channel_named("rust").is_some());
    assert_eq!(sim.count("select count(*) from groups").await, 1);

    let ask = ada.slash("group delete", &[("group", "Rust")]).await;
    let (mid, delete_id) = (ask.message().id, ask.button("Delete group").custom_id);
    let done = ask.click("Delete group").await;
    assert!(done.text().contains("Deleted the group **Rust**"), "{}", done.text());
    assert!(done.components().is_empty(), "buttons removed");
    assert!(sim.fake.role_named("Rust").is_none());
    assert!(sim.fake.channel_named("rust").is_none());
    assert!(!alice.has_role_named("Rust"));
    assert_eq!(role_count(&sim), roles_before);
    assert_eq!(channel_count(&sim), channels_with_group - 1, "the bucket category stays");
    assert_eq!(sim.count("select count(*) from groups").await, 0);
    assert_eq!(sim.count("select count(*) from memberships").await, 0);
    assert_eq!(sim.count("select count(*) from subscriptions").await, 0, "nobody follows a deleted group");
    assert_eq!(
        text(&sim, "select reason from audit_log where action = 'group.delete'").await,
        "deleted group \"Rust\""
    );
    assert!(sim.fake.with(|w| w.audit.iter().any(|a| a.method == "DELETE" && a.reason.contains("Rust"))));

    // The same button again (the group is gone) is refused.
    let again = ada.click(mid, &delete_id).await;
    assert!(again.text().contains("no longer exists"), "{}", again.text());
    assert!(ada.slash("group delete", &[("group", "Rust")]).await.text().contains("There's no group with that name"));
}

#[tokio::test]
async fn a_non_admin_press_or_a_forged_id_is_refused_and_deletes_nothing() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let bob = sim.member("bob");
    create(&ada, "Rust", "Interest", "Open").await;
    create(&ada, "Go", "Interest", "Open").await;
    let ask = ada.slash("group delete", &[("group", "Rust")]).await;
    let mid = ask.message().id;
    let delete_id = ask.button("Delete group").custom_id;
    let cancel_id = ask.button("Cancel").custom_id;
    assert!(delete_id.starts_with("gh:gdel:"), "{delete_id}");

    for id in [&delete_id, &cancel_id] {
        let r = bob.click(mid, id).await;
        assert_error(&r, "Only admins can delete groups");
    }
    let go_id = sim.count("select id from groups where name = 'Go'").await;
    for (forged, expected) in [
        ("gh:gdel:987654".to_string(), "no longer exists"),
        ("gh:gdel:abc".to_string(), "isn't valid"),
        ("gh:gdel:-1".to_string(), "isn't valid"),
        (format!("gh:gdel:{go_id}:x"), "isn't valid"),
    ] {
        let r = ada.click(mid, &forged).await;
        assert_error(&r, expected);
    }
    assert_eq!(sim.count("select count(*) from groups").await, 2);
    assert!(sim.fake.role_named("Rust").is_some() && sim.fake.channel_named("rust").is_some());
    assert!(sim.fake.role_named("Go").is_some() && sim.fake.channel_named("go").is_some());
    assert_eq!(sim.count("select count(*) from audit_log where action = 'group.delete'").await, 0);
    // The real confirmation still works afterwards, for the admin.
    let done = ada.click(mid, &delete_id).await;
    assert!(done.text().contains("Deleted the group **Rust**"), "{}", done.text());
    assert!(sim.fake.role_named("Go").is_some());
}

#[tokio::test]
async fn the_configured_admin_role_may_press_delete() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let carol = sim.member("carol");
    let stewards = sim.fake.create_role_by_hand("Stewards", 0, false);
    sim.fake.give_role(carol.user_id, stewards);
    sim.admin_role(&ada, stewards).await;
    create(&ada, "Rust", "Interest", "Open").await;
    let ask = carol.slash("group delete", &[("group", "Rust")]).await;
    let done = ask.click("Delete group").await;
    assert!(done.text().contains("Deleted the group **Rust**"), "{}", done.text());
    assert_eq!(sim.count("select count(*) from groups").await, 0);
}

#[tokio::test]
async fn a_delete_discord_refuses_leaves_the_group_whole() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    create(&ada, "Rust", "Interest", "Open").await;

    // The group's role was dragged above the bot's: refused before anything goes.
    let role = sim.fake.role_named("Rust").unwrap().id;
    sim.fake.move_role(role, 10);
    let done = ada.slash("group delete", &[("group", "Rust")]).await.click("Delete group").await;
    assert!(done.text().contains("Error: The role Rust is not below my highest role"), "{}", done.text());
    assert!(done.text().contains("Nothing was deleted"), "{}", done.text());
    assert!(done.components().is_empty());
    assert!(sim.fake.channel_named("rust").is_some() && sim.fake.role_named("Rust").is_some());
    assert_eq!(sim.count("select count(*) from groups").await, 1);
    sim.fake.move_role(role, 1);

    // Discord refuses to delete the channel: nothing goes.
    sim.fake.inject(Fault::missing_permissions("DELETE", "/channels/"));
    let done = ada.slash("group delete", &[("group", "Rust")]).await.click("Delete group").await;
    assert!(done.text().contains("couldn't delete the group's channel"), "{}", done.text());
    assert!(sim.fake.channel_named("rust").is_some() && sim.fake.role_named("Rust").is_some());
    assert_eq!(sim.count("select count(*) from groups").await, 1);
    assert_eq!(sim.count("select count(*) from audit_log where action = 'group.delete'").await, 0);

    // Discord refuses the role once the channel is gone: the group is
    // deleted and the admin is told about the leftover role.
    sim.fake.inject(Fault::missing_permissions("DELETE", "/roles/"));
    let done = ada.slash("group delete", &[("group", "Rust")]).await.click("Delete group").await;
    assert!(done.text().contains("Deleted the group **Rust**"), "{}", done.text());
    assert!(done.text().contains("Delete it by hand"), "{}", done.text());
    assert!(sim.fake.channel_named("rust").is_none());
    assert_eq!(sim.count("select count(*) from groups").await, 0);
}

#[tokio::test]
async fn a_non_admin_can_run_none_of_the_management_commands() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let bob = sim.member("bob");
    create(&ada, "Rust", "Interest", "Open").await;
    ada.slash("group create", &[("name", "Old"), ("bucket", "Impact"), ("visibility", "Open")]).await;
    ada.slash("group archive", &[("group", "Old")]).await;
    let spare = sim.fake.create_role_by_hand("Spare", 0, false);
    let roles = role_count(&sim);
    let channels = channel_count(&sim);
    let spare_s = spare.to_string();
    let attempts: Vec<(&str, Vec<(&str, &str)>)> = vec![
        ("group edit", vec![("group", "Rust"), ("name", "Mine")]),
        ("group archive", vec![("group", "Rust")]),
        ("group unarchive", vec![("group", "Old")]),
        ("group delete", vec![("group", "Rust")]),
        ("group adopt", vec![("name", "Spare"), ("bucket", "Interest"), ("visibility", "Open"), ("role", &spare_s)]),
    ];
    for (command, options) in attempts {
        let r = bob.slash(command, &options).await;
        assert_error(&r, "Only admins can do this");
        assert!(r.components().is_empty(), "{command}: no buttons for a non-admin");
    }
    assert_eq!(role_count(&sim), roles);
    assert_eq!(channel_count(&sim), channels);
    assert_eq!(sim.count("select count(*) from groups").await, 2);
    assert_eq!(sim.count("select count(*) from groups where archived_at is not null").await, 1);
    assert_eq!(text(&sim, "select name from groups where archived_at is null").await, "Rust");
}

#[tokio::test]
async fn roles_that_cant_be_group_roles_are_refused_for_adoption() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let gid = sim.fake.guild_id;
    let admin_role = sim.fake.create_role_by_hand("Mods", perms::ADMINISTRATOR, false);
    let manage_roles = sim.fake.create_role_by_hand("Role Managers", perms::MANAGE_ROLES, false);
    let mention = sim.fake.create_role_by_hand("Shouters", perms::MENTION_EVERYONE, false);
    let managed = sim.fake.create_role_by_hand("Some Bot", 0, true);
    let above_admin = sim.fake.create_role_by_hand("Seniors", 0, false);
    let above_bot = sim.fake.create_role_by_hand("Top", 0, false);
    let bot_top = sim.fake.role_named("Guildhall").unwrap().position;
    sim.fake.move_role(above_bot, bot_top + 1);
    let admins = sim.fake.role_named("Admins").unwrap().position;
    // Just above Admins (the admin's highest role), below the bot's.
    sim.fake.move_role(above_admin, admins);
    let seniors = sim.fake.role_named("Seniors").unwrap().position;
    assert!(seniors > sim.fake.role_named("Admins").unwrap().position);
    assert!(seniors < sim.fake.role_named("Guildhall").unwrap().position);
    let roles = role_count(&sim);
    let channels = channel_count(&sim);

    let cases = [
        (admin_role, "Mods carries elevated permissions (Administrator)"),
        (manage_roles, "carries elevated permissions (Manage Roles)"),
        (mention, "carries elevated permissions (Mention Everyone)"),
        (managed, "managed by an integration"),
        (gid, "@everyone can't be a group role"),
        (above_admin, "The role Seniors is not below your highest role"),
        (above_bot, "Move my role above Top"),
    ];
    for (role, expected) in cases {
        let id = role.to_string();
        let r = ada
            .slash("group adopt", &[("name", "Adopted"), ("bucket", "Interest"), ("visibility", "Open"), ("role", &id)])
            .await;
        assert_error(&r, expected);
        assert!(r.text().contains("Nothing was adopted"), "{}", r.text());
    }
    assert_eq!(sim.count("select count(*) from groups").await, 0);
    assert_eq!(sim.count("select count(*) from bucket_categories").await, 0);
    assert_eq!(role_count(&sim), roles);
    assert_eq!(channel_count(&sim), channels);

    // The server owner sits above every role, so the same role is fine for them.
    let owner = sim.fake.owner();
    let id = above_admin.to_string();
    let r = owner
        .slash("group adopt", &[("name", "Seniors"), ("bucket", "Interest"), ("visibility", "Open"), ("role", &id)])
        .await;
    assert!(r.text().contains("Adopted the open group **Seniors**"), "{}", r.text());
}

#[tokio::test]
async fn adopting_a_role_and_a_channel_makes_a_group_of_them() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let carol = sim.member("carol");
    let bob = sim.member("bob");
    let role = sim.fake.create_role_by_hand("Rustaceans", 0, false);
    sim.fake.give_role(alice.user_id, role);
    sim.fake.give_role(carol.user_id, role);
    let lounge = sim.fake.create_channel_by_hand("Lounge", channel_type::CATEGORY, None, vec![]);
    let talk = sim.fake.create_channel_by_hand("rust-talk", channel_type::TEXT, Some(lounge), vec![]);
    // An overwrite an admin set by hand stays.
    sim.fake.mutate(|w| {
        w.channels.get_mut(&talk).unwrap().overwrites.push(fake_discord::world::Overwrite {
            id: bob.user_id,
            kind: 1,
            allow: perms::VIEW_CHANNEL,
            deny: 0,
        })
    });
    let dave = sim.member("dave");
    assert!(dave.can_view(talk));

    let (r_id, c_id) = (role.to_string(), talk.to_string());
    let r = ada
        .slash(
            "group adopt",
            &[
                ("name", "Rust"),
                ("bucket", "Interest"),
                ("visibility", "Closed"),
                ("role", &r_id),
                ("channel", &c_id),
                ("description", "Crabs"),
            ],
        )
        .await;
    assert!(r.is_ephemeral());
    let t = r.text();
    assert!(t.contains("Adopted the closed group **Rust** in Interest"), "{t}");
    assert!(t.contains("2 people already holding it became members"), "{t}");

    // The role is unchanged; the channel moved under Interest and is closed.
    let kept = sim.fake.role_named("Rustaceans").expect("the role keeps its name");
    assert_eq!((kept.id, kept.permissions), (role, 0));
    assert!(sim.fake.role_named("Rust").is_none(), "no new role");
    let ch = sim.fake.channel_named("rust-talk").unwrap();
    assert_eq!(ch.parent_id, sim.fake.channel_named("Interest").map(|c| c.id));
    assert_eq!(ch.topic.as_deref(), Some("Crabs"));
    assert!(!dave.can_view(talk), "closed: hidden from non-members");
    assert!(alice.can_view(talk) && alice.can_send(talk), "members see and post");
    assert!(bob.can_view(talk), "the hand-made overwrite stays");
    assert!(sim.fake.actor(sim.fake.bot_user_id()).can_view(talk));
    assert!(sim.fake.channel_named("rust").is_none(), "no new channel");

    assert_eq!(sim.count("select count(*) from groups where adopted_role and adopted_channel").await, 1);
    assert_eq!(sim.count("select count(*) from memberships").await, 2);
    assert_eq!(sim.count("select count(*) from audit_log where action = 'group.adopt'").await, 1);
    assert!(bob.slash("groups", &[]).await.text().contains("**Rust** · 🔒 Closed · 2 members"));

    // Neither may be adopted again by another group.
    let r = ada
        .slash("group adopt", &[("name", "Again"), ("bucket", "Impact"), ("visibility", "Open"), ("role", &r_id)])
        .await;
    assert_error(&r, "Another group already uses that role");
    let r = ada
        .slash("group adopt", &[("name", "Again"), ("bucket", "Impact"), ("visibility", "Open"), ("channel", &c_id)])
        .await;
    assert_error(&r, "Another group already uses that channel");
    assert_eq!(sim.count("select count(*) from groups").await, 1);
    assert!(sim.fake.role_named("Again").is_none() && sim.fake.channel_named("again").is_none());
    assert_eq!(sim.fake.channel_named("rust-talk").unwrap().parent_id, ch.parent_id);

    // Deleting the group leaves what was adopted in place.
    let done = ada.slash("group delete", &[("group", "Rust")]).await.click("Delete group").await;
    assert!(done.text().contains("was adopted, so I left it in place"), "{}", done.text());
    assert!(sim.fake.role_named("Rustaceans").is_some());
    assert!(sim.fake.channel_named("rust-talk").is_some());
    assert_eq!(sim.count("select count(*) from groups").await, 0);
}

#[tokio::test]
async fn adopting_one_of_the_two_makes_the_other() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let role = sim.fake.create_role_by_hand("Gophers", 0, false);
    let r_id = role.to_string();
    let r = ada
        .slash("group adopt", &[("name", "Go"), ("bucket", "Industry"), ("visibility", "Open"), ("role", &r_id)])
        .await;
    assert!(r.text().contains("Adopted the open group **Go**"), "{}", r.text());
    assert!(r.text().contains("0 people already holding it"), "{}", r.text());
    let go = sim.fake.channel_named("go").expect("a channel was made");
    assert_eq!(go.kind, channel_type::FORUM);
    assert!(go.overwrites.iter().any(|o| o.id == role), "the channel is the adopted role's");

    let forum = sim.fake.create_channel_by_hand("zig-forum", channel_type::FORUM, None, vec![]);
    let c_id = forum.to_string();
    let r = ada
        .slash("group adopt", &[("name", "Zig"), ("bucket", "Industry"), ("visibility", "Open"), ("channel", &c_id)])
        .await;
    assert!(r.text().contains("Adopted the open group **Zig**"), "{}", r.text());
    let zig_role = sim.fake.role_named("Zig").expect("a role was made");
    assert!(sim.fake.channel_named("zig-forum").unwrap().overwrites.iter().any(|o| o.id == zig_role.id));
    assert_eq!(sim.count("select count(*) from groups where adopted_role <> adopted_channel").await, 2);

    // Neither given; a category; a bad name.
    let r = ada.slash("group adopt", &[("name", "None"), ("bucket", "Industry"), ("visibility", "Open")]).await;
    assert_error(&r, "Give a role, a channel, or both");
    let category = sim.fake.channel_named("Industry").unwrap().id.to_string();
    let r = ada
        .slash(
            "group adopt",
            &[("name", "Cat"), ("bucket", "Industry"), ("visibility", "Open"), ("channel", &category)],
        )
        .await;
    assert_error(&r, "only text and forum channels");
    let spare = sim.fake.create_role_by_hand("Spare", 0, false).to_string();
    let r = ada
        .slash(
            "group adopt",
            &[("name", "**Spare**"), ("bucket", "Industry"), ("visibility", "Open"), ("role", &spare)],
        )
        .await;
    assert_error(&r, "markdown");
    let r = ada
        .slash("group adopt", &[("name", "go"), ("bucket", "Industry"), ("visibility", "Open"), ("role", &spare)])
        .await;
    assert_error(&r, "already exists");
    assert_eq!(sim.count("select count(*) from groups").await, 2);
}

#[tokio::test]
async fn discord_refusing_part_of_an_edit_leaves_postgres_and_discord_agreeing() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let bob = sim.member("bob");
    create(&ada, "Rust", "Interest", "Open").await;
    sim.fake.give_role(alice.user_id, sim.fake.role_named("Rust").unwrap().id);
    let rust = sim.fake.channel_named("rust").unwrap();
    let channels = channel_count(&sim);

    // The channel's overwrites change first, then its PATCH is refused:
    // the overwrites are put back, the category made for Impact removed.
    sim.fake.inject(Fault::missing_permissions("PATCH", "/channels/"));
    let r = ada
        .slash(
            "group edit",
            &[("group", "Rust"), ("name", "Rustaceans"), ("visibility", "Closed"), ("bucket", "Impact")],
        )
        .await;
    assert_error(&r, "couldn't update the group's channel");
    assert!(r.text().contains("Nothing was changed"), "{}", r.text());
    assert!(r.text().contains("Manage Roles and Manage Channels"), "says how to fix it: {}", r.text());
    let after = sim.fake.channel_named("rust").expect("still #rust");
    assert_eq!(sorted(&after.overwrites), sorted(&rust.overwrites));
    assert_eq!(after.parent_id, rust.parent_id);
    assert!(bob.can_view(rust.id) && alice.can_send(rust.id));
    assert!(sim.fake.role_named("Rust").is_some());
    assert_eq!(channel_count(&sim), channels, "no Impact category left behind");
    assert_eq!(sim.count("select count(*) from bucket_categories where bucket = 'impact'").await, 0);
    assert_eq!(text(&sim, "select name || ' ' || visibility || ' ' || bucket from groups").await, "Rust open interest");

    // The channel is renamed, then the role's rename is refused: the channel
    // gets its name back.
    sim.fake.inject(Fault::missing_permissions("PATCH", "/roles/"));
    let r = ada.slash("group edit", &[("group", "Rust"), ("name", "Rustaceans")]).await;
    assert_error(&r, "couldn't rename the group's role");
    assert!(sim.fake.channel_named("rust").is_some() && sim.fake.channel_named("rustaceans").is_none());
    assert!(sim.fake.role_named("Rust").is_some());
    assert_eq!(text(&sim, "select name from groups").await, "Rust");
    assert_eq!(sim.count("select count(*) from audit_log where action = 'group.edit'").await, 0);

    // Transient failures are retried; once Discord agrees the edit goes through.
    sim.fake.inject(Fault::server_error("PATCH", "/channels/"));
    let r = ada.slash("group edit", &[("group", "Rust"), ("name", "Rustaceans"), ("visibility", "Closed")]).await;
    assert!(r.text().contains("Updated **Rustaceans**"), "{}", r.text());
    assert!(sim.fake.channel_named("rustaceans").is_some() && sim.fake.role_named("Rustaceans").is_some());
    assert!(!bob.can_view(rust.id) && alice.can_view(rust.id));
}
