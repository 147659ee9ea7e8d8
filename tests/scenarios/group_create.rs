//! `/group create` (G1, G2 admin side, G3, A2, N3, N5).

use crate::sim::Sim;
use fake_discord::{world::channel_type, Fault};

#[tokio::test]
async fn admin_creates_open_and_closed_groups_that_members_see_correctly() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");

    let r = ada
        .slash(
            "group create",
            &[("name", "Rust"), ("bucket", "Interest"), ("visibility", "Open"), ("description", "Crabs welcome")],
        )
        .await;
    assert!(r.is_ephemeral());
    assert!(r.text().contains("Created the open group **Rust** in Interest"), "{}", r.text());
    let r = ada
        .slash("group create", &[("name", "Founders Circle"), ("bucket", "Identity"), ("visibility", "Closed")])
        .await;
    assert!(r.text().contains("Created the closed group **Founders Circle**"), "{}", r.text());

    // Each group is a role without permissions and a forum under its bucket's category.
    let rust_role = sim.fake.role_named("Rust").expect("the Rust role exists");
    assert_eq!(rust_role.permissions, 0);
    let rust = sim.fake.channel_named("rust").expect("#rust exists");
    assert_eq!(rust.kind, channel_type::FORUM);
    let interest = sim.fake.channel_named("Interest").expect("the Interest category exists");
    assert_eq!(interest.kind, channel_type::CATEGORY);
    assert_eq!(rust.parent_id, Some(interest.id));
    assert_eq!(rust.topic.as_deref(), Some("Crabs welcome"));
    let circle = sim.fake.channel_named("founders-circle").expect("#founders-circle exists");
    assert_eq!(circle.parent_id, sim.fake.channel_named("Identity").map(|c| c.id));

    // The open group's channel is readable by anyone but writable only by members;
    // the closed group's channel is invisible to non-members.
    assert!(alice.can_view(rust.id));
    assert!(!alice.can_send(rust.id));
    assert!(!alice.can_view(circle.id));
    sim.fake.give_role(alice.user_id, rust_role.id);
    assert!(alice.can_send(rust.id));
    let circle_role = sim.fake.role_named("Founders Circle").unwrap();
    sim.fake.give_role(alice.user_id, circle_role.id);
    assert!(alice.can_view(circle.id), "members of a closed group see its channel");
    let bot = sim.fake.actor(sim.fake.bot_user_id());
    assert!(bot.can_view(circle.id), "the bot keeps sight of closed channels");

    // The roles were given by hand: Guildhall records the memberships (A5).
    sim.wait_count(
        "alice's two memberships",
        &format!("select count(*) from memberships where user_id = {}", alice.user_id),
        2,
    )
    .await;

    // The member lists both, with their badges.
    let list = alice.slash("groups", &[]).await;
    assert!(list.is_ephemeral());
    let text = list.text();
    assert!(text.contains("**Rust** · 🔓 Open · 1 member"), "{text}");
    assert!(text.contains("**Founders Circle** · 🔒 Closed · 1 member"), "{text}");
    assert!(text.find("Identity").unwrap() < text.find("Interest").unwrap(), "buckets in order: {text}");

    // Postgres recorded the groups and who made them.
    assert_eq!(sim.count("select count(*) from groups where role_id is not null and channel_id is not null").await, 2);
    assert_eq!(sim.count("select count(*) from audit_log where action = 'group.create'").await, 2);
    // The audit-log reason reached Discord too.
    assert!(sim.fake.with(|w| w.audit.iter().any(|a| a.reason.contains("Rust"))));
}

#[tokio::test]
async fn a_member_who_is_not_an_admin_cannot_create_a_group() {
    let sim = Sim::start().await;
    let bob = sim.member("bob");
    let roles_before = sim.fake.with(|w| w.guilds[&sim.fake.guild_id].roles.len());
    let channels_before = sim.fake.with(|w| w.channels.len());

    let r = bob.slash("group create", &[("name", "Rust"), ("bucket", "Interest"), ("visibility", "Open")]).await;
    assert!(r.is_ephemeral());
    assert!(r.text().contains("Only admins can do this"), "{}", r.text());

    assert_eq!(sim.fake.with(|w| w.guilds[&sim.fake.guild_id].roles.len()), roles_before);
    assert_eq!(sim.fake.with(|w| w.channels.len()), channels_before);
    assert_eq!(sim.count("select count(*) from groups").await, 0);
}

#[tokio::test]
async fn the_configured_admin_role_counts_as_admin() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let carol = sim.member("carol");
    let stewards = sim.fake.create_role_by_hand("Stewards", 0, false);
    sim.fake.give_role(carol.user_id, stewards);
    sim.admin_role(&ada, stewards).await;
    let r = carol.slash("group create", &[("name", "Gardening"), ("bucket", "Interest"), ("visibility", "Open")]).await;
    assert!(r.text().contains("Created the open group **Gardening**"), "{}", r.text());
}

#[tokio::test]
async fn bad_names_are_refused_with_a_clear_message_and_change_nothing() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let ok = ada.slash("group create", &[("name", "Rust"), ("bucket", "Interest"), ("visibility", "Open")]).await;
    assert!(ok.text().contains("Created"), "{}", ok.text());
    let roles_before = sim.fake.with(|w| w.guilds[&sim.fake.guild_id].roles.len());
    let channels_before = sim.fake.with(|w| w.channels.len());

    // Too long never leaves Discord's client (the option's max_length).
    let long = "x".repeat(101);
    let general = sim.fake.general_channel();
    let options = [("name", long.as_str()), ("bucket", "Impact"), ("visibility", "Closed")];
    let refused = ada.try_slash_in(general, "group create", &options).await.err();
    assert!(refused.as_deref().is_some_and(|e| e.contains("name: at most 100 characters")), "{refused:?}");
    let cases: [(&str, &str); 5] = [
        ("rUsT", "already exists"),
        ("<@123456789012345678>", "can't contain mentions"),
        ("@everyone party", "can't contain mentions"),
        ("   ", "can't be empty"),
        ("**bold**", "markdown"),
    ];
    for (name, expected) in cases {
        let r = ada.slash("group create", &[("name", name), ("bucket", "Impact"), ("visibility", "Closed")]).await;
        assert!(r.is_ephemeral());
        let text = r.text();
        assert!(text.starts_with("Error: "), "{name:?}: {text}");
        assert!(text.contains(expected), "{name:?}: expected {expected:?} in {text}");
        // Nothing the bot says pings anyone.
        assert_eq!(r.message().allowed_mentions["parse"], serde_json::json!([]), "{name:?}");
    }
    // 100 characters is fine.
    let hundred = "y".repeat(100);
    let r = ada.slash("group create", &[("name", &hundred), ("bucket", "Impact"), ("visibility", "Closed")]).await;
    assert!(r.text().contains("Created"), "{}", r.text());

    assert_eq!(sim.count("select count(*) from groups").await, 2);
    // Only the 100-character group added a role, a channel and the Impact category.
    assert_eq!(sim.fake.with(|w| w.guilds[&sim.fake.guild_id].roles.len()), roles_before + 1);
    assert_eq!(sim.fake.with(|w| w.channels.len()), channels_before + 2);
}

#[tokio::test]
async fn discord_refusing_the_role_leaves_nothing_behind_and_says_how_to_fix_it() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let roles_before = sim.fake.with(|w| w.guilds[&sim.fake.guild_id].roles.len());
    let channels_before = sim.fake.with(|w| w.channels.len());
    sim.fake.inject(Fault::missing_permissions("POST", "/roles"));

    let r = ada.slash("group create", &[("name", "Rust"), ("bucket", "Interest"), ("visibility", "Open")]).await;
    let text = r.text();
    assert!(text.contains("couldn't create the group's role"), "{text}");
    assert!(text.contains("Manage Roles"), "the admin is told how to fix it: {text}");
    assert!(text.contains("Nothing was created"), "{text}");

    assert_eq!(sim.count("select count(*) from groups").await, 0);
    assert_eq!(sim.count("select count(*) from bucket_categories").await, 0);
    assert_eq!(sim.fake.with(|w| w.guilds[&sim.fake.guild_id].roles.len()), roles_before);
    assert_eq!(sim.fake.with(|w| w.channels.len()), channels_before);

    // Once fixed, the same name works.
    let r = ada.slash("group create", &[("name", "Rust"), ("bucket", "Interest"), ("visibility", "Open")]).await;
    assert!(r.text().contains("Created"), "{}", r.text());
}

#[tokio::test]
async fn a_failure_after_the_role_was_made_unmakes_the_role_and_category() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let roles_before = sim.fake.with(|w| w.guilds[&sim.fake.guild_id].roles.len());
    let channels_before = sim.fake.with(|w| w.channels.len());
    // The category is created (first channel POST), the forum is refused.
    sim.fake.inject(Fault::missing_permissions("POST", "/channels").times(1));
    let r = ada.slash("group create", &[("name", "Rust"), ("bucket", "Interest"), ("visibility", "Open")]).await;
    assert!(r.text().contains("couldn't create the bucket's category"), "{}", r.text());
    assert_eq!(sim.count("select count(*) from groups").await, 0);
    assert_eq!(sim.fake.with(|w| w.guilds[&sim.fake.guild_id].roles.len()), roles_before);
    assert_eq!(sim.fake.with(|w| w.channels.len()), channels_before);

    // Now the category succeeds and the forum is refused: the role and the
    // category made for it are both removed.
    sim.fake.inject(Fault::missing_permissions("POST", "/channels").skip(1));
    let r = ada.slash("group create", &[("name", "Rust"), ("bucket", "Interest"), ("visibility", "Open")]).await;
    assert!(r.text().contains("couldn't create the group's channel"), "{}", r.text());
    assert_eq!(sim.count("select count(*) from groups").await, 0);
    assert_eq!(sim.count("select count(*) from bucket_categories").await, 0);
    assert_eq!(sim.fake.with(|w| w.guilds[&sim.fake.guild_id].roles.len()), roles_before);
    assert_eq!(sim.fake.with(|w| w.channels.len()), channels_before, "no half-made category or channel stays");
}

#[tokio::test]
async fn transient_discord_errors_are_retried() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    sim.fake.inject(Fault::rate_limited("POST", "/roles", 0.1));
    sim.fake.inject(Fault::server_error("POST", "/channels"));
    let r = ada.slash("group create", &[("name", "Rust"), ("bucket", "Interest"), ("visibility", "Open")]).await;
    assert!(r.text().contains("Created"), "{}", r.text());
    assert_eq!(sim.fake.with(|w| w.guilds[&sim.fake.guild_id].roles.iter().filter(|r| r.name == "Rust").count()), 1);
}

#[tokio::test]
async fn a_deleted_bucket_category_is_made_again() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    ada.slash("group create", &[("name", "Rust"), ("bucket", "Interest"), ("visibility", "Open")]).await;
    let cat = sim.fake.channel_named("Interest").unwrap().id;
    assert!(sim.fake.delete_channel_by_hand(cat));
    let r = ada.slash("group create", &[("name", "Go"), ("bucket", "Interest"), ("visibility", "Open")]).await;
    assert!(r.text().contains("Created"), "{}", r.text());
    let new_cat = sim.fake.channel_named("Interest").expect("a new Interest category");
    assert_ne!(new_cat.id, cat);
    assert_eq!(sim.fake.channel_named("go").unwrap().parent_id, Some(new_cat.id));
    // One category, holding both (made again by whichever came first: the
    // repair of the deletion, or the create that needed it).
    let rust = sim.fake.channel_named("rust").unwrap().id;
    sim.fake.wait_until("rust is back in the category", move |w| w.channels[&rust].parent_id == Some(new_cat.id)).await;
    assert_eq!(sim.fake.with(|w| w.channels.values().filter(|c| c.name == "Interest").count()), 1);
}

#[tokio::test]
async fn the_bot_restarting_between_creating_and_listing_changes_nothing() {
    let mut sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    ada.slash("group create", &[("name", "Rust"), ("bucket", "Interest"), ("visibility", "Open")]).await;
    ada.slash("group create", &[("name", "Founders"), ("bucket", "Identity"), ("visibility", "Closed")]).await;
    let before = alice.slash("groups", &[]).await.text();
    let roles = sim.fake.with(|w| w.guilds[&sim.fake.guild_id].roles.len());
    let channels = sim.fake.with(|w| w.channels.len());

    sim.restart().await;

    let after = alice.slash("groups", &[]).await.text();
    assert_eq!(before, after);
    assert_eq!(sim.fake.with(|w| w.guilds[&sim.fake.guild_id].roles.len()), roles);
    assert_eq!(sim.fake.with(|w| w.channels.len()), channels);
    // A duplicate is still refused after the restart.
    let r = ada.slash("group create", &[("name", "RUST"), ("bucket", "Interest"), ("visibility", "Open")]).await;
    assert!(r.text().contains("already exists"), "{}", r.text());
}
