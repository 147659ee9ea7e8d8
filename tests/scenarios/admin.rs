//! Administration: `/config` (A1), `/audit` (A2) and the persistent
//! directory message (G4), with their refusals and bad input.

use crate::sim::Sim;
use fake_discord::scenario::message_text;
use fake_discord::world::{channel_type, Message, Overwrite};
use fake_discord::{perms, Actor, Fault, Modal};
use guildhall::domain::{audit, settings};

const NOT_ADMIN: &str = "Only admins can do this";

async fn create(admin: &Actor, name: &str, bucket: &str, visibility: &str) {
    let r = admin.slash("group create", &[("name", name), ("bucket", bucket), ("visibility", visibility)]).await;
    assert!(r.text().contains("Created"), "{name}: {}", r.text());
}

fn text_channel(sim: &Sim, name: &str) -> u64 {
    sim.fake.create_channel_by_hand(name, channel_type::TEXT, None, vec![])
}

/// A text channel @everyone (the bot included) can't see.
fn hidden_channel(sim: &Sim, name: &str) -> u64 {
    let deny = Overwrite { id: sim.fake.guild_id, kind: 0, allow: 0, deny: perms::VIEW_CHANNEL };
    sim.fake.create_channel_by_hand(name, channel_type::TEXT, None, vec![deny])
}

/// Messages the bot posted on its own (not interaction answers) in a channel.
fn bot_posts(sim: &Sim, channel: u64) -> Vec<Message> {
    let bot = sim.fake.bot_user_id();
    sim.fake.with(|w| {
        w.channel_messages(channel)
            .iter()
            .filter(|m| m.author_id == bot && m.interaction_id.is_none())
            .cloned()
            .collect()
    })
}

fn directory_text(sim: &Sim, channel: u64) -> String {
    let posts = bot_posts(sim, channel);
    assert_eq!(posts.len(), 1, "one directory message in the channel");
    message_text(&posts[0])
}

async fn settings_now(sim: &Sim) -> settings::Settings {
    let mut conn = sim.pool.acquire().await.unwrap();
    settings::get(&mut conn, sim.fake.guild_id).await.unwrap()
}

/// Simulate members: rows in `memberships` for a group.
async fn add_members(sim: &Sim, group: &str, n: i64) {
    sqlx::query(
        "insert into memberships (group_id, user_id)
         select g.id, 1000 + s + coalesce((select count(*) from memberships m where m.group_id = g.id), 0)
         from groups g, generate_series(1, $2) s where g.name = $1",
    )
    .bind(group)
    .bind(n)
    .execute(&sim.pool)
    .await
    .unwrap();
}

#[tokio::test]
async fn admin_commands_carry_manage_server_as_default_permission() {
    let sim = Sim::start().await;
    for name in ["config", "audit", "directory"] {
        let c = sim.fake.registered_commands().into_iter().find(|c| c["name"] == name).expect(name);
        let p = &c["default_member_permissions"];
        assert!(p == "32" || p == 32, "/{name} needs Manage Server by default: {p}");
    }
}

#[tokio::test]
async fn a_member_who_is_not_an_admin_is_refused_by_every_admin_command_and_nothing_changes() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    create(&ada, "Rust", "Interest", "Open").await;
    let bob = sim.member("bob");
    let general = sim.fake.general_channel();
    let everyone = sim.fake.guild_id.to_string();
    let g = general.to_string();
    let audit_before = sim.count("select count(*) from audit_log").await;
    let cases: [(&str, Vec<(&str, &str)>); 9] = [
        ("config show", vec![]),
        ("config admin-role", vec![("role", everyone.as_str())]),
        ("config admin-role", vec![]),
        ("config mod-channel", vec![("channel", g.as_str())]),
        ("config requests-channel", vec![("channel", g.as_str())]),
        ("config guidelines", vec![]),
        ("audit", vec![]),
        ("directory post", vec![("channel", g.as_str())]),
        ("directory remove", vec![]),
    ];
    for (command, options) in cases {
        let r = bob.slash(command, &options).await;
        assert_eq!(r.callback_type(), 4, "/{command}: answered with a message, not a form");
        assert!(r.is_ephemeral(), "/{command}");
        assert!(r.text().contains(NOT_ADMIN), "/{command}: {}", r.text());
    }
    assert_eq!(settings_now(&sim).await, settings::Settings::default());
    assert_eq!(sim.count("select count(*) from audit_log").await, audit_before);
    assert!(bot_posts(&sim, general).is_empty(), "no directory was posted");
}

#[tokio::test]
async fn an_admin_sets_and_shows_every_setting() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let carol = sim.member("carol");
    let staff = text_channel(&sim, "staff");
    let reviews = text_channel(&sim, "reviews");
    let stewards = sim.fake.create_role_by_hand("Stewards", 0, false);
    sim.fake.give_role(carol.user_id, stewards);

    let before = ada.slash("config show", &[]).await;
    assert!(before.is_ephemeral());
    let text = before.text();
    assert!(text.contains("Admin role: Not set"), "{text}");
    assert!(text.contains("Mod channel: Not set"), "{text}");
    assert!(text.contains("Requests channel: Not set"), "{text}");
    assert!(text.contains("Directory message: Not set"), "{text}");
    assert!(text.contains("Guidelines: Not set"), "{text}");
    // Carol is not an admin yet.
    assert!(carol.slash("config show", &[]).await.text().contains(NOT_ADMIN));

    let r = ada.slash("config admin-role", &[("role", &stewards.to_string())]).await;
    assert!(r.text().contains(&format!("members with <@&{stewards}> are admins now")), "{}", r.text());
    let r = ada.slash("config mod-channel", &[("channel", &staff.to_string())]).await;
    assert!(r.is_ephemeral());
    assert!(r.text().contains(&format!("the mod channel is <#{staff}>")), "{}", r.text());
    let r = ada.slash("config requests-channel", &[("channel", &reviews.to_string())]).await;
    assert!(r.text().contains(&format!("the requests channel is <#{reviews}>")), "{}", r.text());

    // Carol holds the admin role now: she is an admin.
    let shown = carol.slash("config show", &[]).await;
    // ... but only Manage Server may change who the admins are.
    let r = carol.slash("config admin-role", &[]).await;
    assert!(r.text().contains("Only members with the Manage Server permission"), "{}", r.text());
    let text = shown.text();
    assert!(text.contains(&format!("Admin role: <@&{stewards}>")), "{text}");
    assert!(text.contains(&format!("Mod channel: <#{staff}>")), "{text}");
    assert!(text.contains(&format!("Requests channel: <#{reviews}>")), "{text}");
    // Mentions are shown, never pinged.
    assert_eq!(shown.message().allowed_mentions["parse"], serde_json::json!([]));

    let s = settings_now(&sim).await;
    assert_eq!(
        (s.admin_role_id, s.mod_channel_id, s.requests_channel_id),
        (Some(stewards), Some(staff), Some(reviews))
    );

    // Every change is audited with the admin as actor and what was set.
    let mut conn = sim.pool.acquire().await.unwrap();
    let trail = audit::recent(&mut conn, sim.fake.guild_id, 10).await.unwrap();
    let got: Vec<(&str, Option<u64>, Option<&str>)> =
        trail.iter().map(|e| (e.action.as_str(), e.actor_id, e.detail.as_deref())).collect();
    let (staff_m, reviews_m, stewards_m) = (format!("<#{staff}>"), format!("<#{reviews}>"), format!("<@&{stewards}>"));
    assert_eq!(
        got,
        [
            ("config.requests-channel", Some(ada.user_id), Some(reviews_m.as_str())),
            ("config.mod-channel", Some(ada.user_id), Some(staff_m.as_str())),
            ("config.admin-role", Some(ada.user_id), Some(stewards_m.as_str())),
        ]
    );

    // @everyone can't be the admin role.
    let r = ada.slash("config admin-role", &[("role", &sim.fake.guild_id.to_string())]).await;
    assert!(r.text().starts_with("Error: "), "{}", r.text());
    assert!(r.text().contains("@everyone can't be the admin role"), "{}", r.text());
    assert_eq!(settings_now(&sim).await.admin_role_id, Some(stewards));

    // Clearing the channels: nothing is posted there any more; audited.
    let r = ada.slash("config mod-channel", &[]).await;
    assert!(r.text().contains("there is no mod channel now") && r.text().contains("/lead pending"), "{}", r.text());
    let r = ada.slash("config requests-channel", &[]).await;
    assert!(r.text().contains("there is no requests channel now"), "{}", r.text());
    let s = settings_now(&sim).await;
    assert_eq!((s.mod_channel_id, s.requests_channel_id), (None, None));
    let text = ada.slash("config show", &[]).await.text();
    assert!(text.contains("Mod channel: Not set") && text.contains("Requests channel: Not set"), "{text}");
    assert_eq!(
        sim.count("select count(*) from audit_log where action = 'config.mod-channel' and detail = 'cleared'").await,
        1
    );

    // Clearing the role: Carol is no longer an admin.
    let r = ada.slash("config admin-role", &[]).await;
    assert!(r.text().contains("the admin role is cleared"), "{}", r.text());
    assert_eq!(settings_now(&sim).await.admin_role_id, None);
    assert!(carol.slash("config show", &[]).await.text().contains(NOT_ADMIN));
    assert!(ada.slash("config show", &[]).await.text().contains("Admin role: Not set"));
    assert_eq!(sim.count("select count(*) from audit_log where action = 'config.admin-role'").await, 2);
}

fn prefilled(sim: &Sim, r: &fake_discord::Reply) -> Option<String> {
    sim.fake.with(|w| {
        let d = w.interactions[&r.interaction_id].callback_data.clone().unwrap_or_default();
        d["components"][0]["components"][0]["value"].as_str().map(str::to_string)
    })
}

async fn guidelines(sim: &Sim) -> settings::Guidelines {
    let mut conn = sim.pool.acquire().await.unwrap();
    settings::guidelines(&mut conn, sim.fake.guild_id).await.unwrap()
}

#[tokio::test]
async fn guidelines_are_written_in_a_form_and_each_new_text_bumps_the_version() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");

    let opened = ada.slash("config guidelines", &[]).await;
    let modal = opened.modal();
    assert_eq!(modal.custom_id, "gh:cfg:guidelines");
    assert_eq!(modal.title, "Community guidelines");
    assert_eq!(modal.fields.len(), 1);
    let (field, _label, required, max) = modal.fields[0].clone();
    assert_eq!((field.as_str(), required, max), ("text", true, Some(4000)));
    assert_eq!(prefilled(&sim, &opened), None);

    let r = ada.submit(&modal, &[("text", "Be kind.\r\nNo spam.")]).await;
    assert!(r.is_ephemeral());
    assert!(r.text().contains("members will be asked to accept version 1 before their next join"), "{}", r.text());
    assert_eq!(guidelines(&sim).await, settings::Guidelines { text: "Be kind.\nNo spam.".into(), version: 1 });

    // The form opens with the current text; a new text is version 2.
    let again = ada.slash("config guidelines", &[]).await;
    assert_eq!(prefilled(&sim, &again).as_deref(), Some("Be kind.\nNo spam."));
    assert!(again.modal().title.contains("version 1"));
    let r = ada.submit(&again.modal(), &[("text", "Be kinder.")]).await;
    assert!(r.text().contains("accept version 2"), "{}", r.text());
    assert_eq!(guidelines(&sim).await.version, 2);

    // The same text again asks nobody again.
    let r = ada.submit(&again.modal(), &[("text", "  Be kinder.  ")]).await;
    assert!(r.text().contains("unchanged (still version 2)"), "{}", r.text());
    assert_eq!(guidelines(&sim).await.version, 2);

    // Too long never leaves Discord's client (the form's max_length).
    let long = "x".repeat(4001);
    let refused = ada.try_submit(&again.modal(), &[("text", long.as_str())]).await.err();
    assert!(refused.as_deref().is_some_and(|e| e.contains("at most 4000 characters")), "{refused:?}");
    // What the client sends but the rules refuse changes nothing.
    for (bad, expected) in [("   ", "can't be empty"), ("a\u{0}b", "control characters")] {
        let r = ada.submit(&again.modal(), &[("text", bad)]).await;
        assert!(r.is_ephemeral());
        assert!(r.text().starts_with("Error: ") && r.text().contains(expected), "{expected}: {}", r.text());
    }
    // Discord's client submits no form without its required field; one
    // forged without it is refused by the bot.
    let refused = ada.try_submit(&again.modal(), &[("other", "x")]).await.err().expect("the client refuses");
    assert!(refused.contains("no input \"other\""), "{refused}");
    let forged = Modal { fields: vec![], ..again.modal() };
    let r = ada.submit(&forged, &[("other", "x")]).await;
    assert!(r.text().contains("This form isn't valid"), "{}", r.text());

    // A non-admin submitting the form (a forged submission) is refused.
    let bob = sim.member("bob");
    let forged = Modal {
        custom_id: "gh:cfg:guidelines".into(),
        title: String::new(),
        fields: vec![],
        min_lengths: vec![],
        values: vec![],
        source_message: None,
        channel_id: None,
    };
    let r = bob.submit(&forged, &[("text", "Anything goes")]).await;
    assert!(r.text().contains(NOT_ADMIN), "{}", r.text());
    // An unknown form is refused too.
    let unknown = Modal { custom_id: "gh:cfg:secret".into(), ..forged };
    assert!(ada.submit(&unknown, &[("text", "x")]).await.text().contains("This form isn't valid"));

    assert_eq!(guidelines(&sim).await, settings::Guidelines { text: "Be kinder.".into(), version: 2 });
    assert_eq!(sim.count("select count(*) from audit_log where action = 'config.guidelines'").await, 2);
    assert_eq!(sim.count("select count(*) from audit_log where detail = 'version 2'").await, 1);
    let shown = ada.slash("config show", &[]).await.text();
    assert!(shown.contains("Guidelines: Version 2, 10 characters:\n> Be kinder."), "{shown}");
}

#[tokio::test]
async fn a_channel_the_bot_cannot_use_is_refused_with_a_clear_message() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let category = sim.fake.create_channel_by_hand("Staff Area", channel_type::CATEGORY, None, vec![]);
    let hidden = hidden_channel(&sim, "secret");
    let mute_everyone = Overwrite { id: sim.fake.guild_id, kind: 0, allow: 0, deny: perms::SEND_MESSAGES };
    let read_only = sim.fake.create_channel_by_hand("announcements", channel_type::TEXT, None, vec![mute_everyone]);
    let forum = sim.fake.create_channel_by_hand("ideas", channel_type::FORUM, None, vec![]);

    let cases = [
        ("config mod-channel", category, "is a category; pick a text channel"),
        ("config requests-channel", category, "is a category; pick a text channel"),
        ("config mod-channel", hidden, "I can't see"),
        ("config requests-channel", hidden, "I can't see"),
        ("config mod-channel", read_only, "I'm missing Send Messages"),
        ("config requests-channel", forum, "is a forum"),
        ("directory post", hidden, "I can't see"),
        ("directory post", category, "is a category"),
    ];
    for (command, channel, expected) in cases {
        let r = ada.slash(command, &[("channel", &channel.to_string())]).await;
        assert!(r.is_ephemeral(), "/{command}");
        let text = r.text();
        assert!(text.starts_with("Error: ") && text.contains(expected), "/{command} {channel}: {text}");
        assert!(text.contains("Nothing was changed"), "{text}");
    }
    assert_eq!(settings_now(&sim).await, settings::Settings::default());
    assert_eq!(sim.count("select count(*) from audit_log").await, 0);
    assert!(bot_posts(&sim, hidden).is_empty());

    // Once the bot is let in, the same channel is accepted.
    sim.fake.mutate(|w| {
        let bot = w.bot_user_id;
        let ch = w.channels.get_mut(&hidden).unwrap();
        ch.overwrites.push(Overwrite { id: bot, kind: 1, allow: perms::VIEW_CHANNEL, deny: 0 });
    });
    let r = ada.slash("config mod-channel", &[("channel", &hidden.to_string())]).await;
    assert!(r.text().contains("Done"), "{}", r.text());
    assert_eq!(settings_now(&sim).await.mod_channel_id, Some(hidden));
}

fn page_button(r: &fake_discord::Reply, label: &str) -> (u64, String) {
    let b = r.button(label);
    (r.message().id, b.custom_id)
}

#[tokio::test]
async fn audit_lists_filters_and_pages_the_trail_for_admins_only() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let alice = sim.member("alice");
    let bob = sim.member("bob");
    let empty = ada.slash("audit", &[]).await;
    assert!(empty.text().contains("Nothing has been recorded yet"), "{}", empty.text());
    assert!(empty.components().is_empty());

    create(&ada, "Rust", "Interest", "Open").await;
    let r = ada.slash("audit", &[]).await;
    assert!(r.is_ephemeral());
    let text = r.text();
    assert!(text.contains(&format!("<@{}> · `group.create` · group **Rust**", ada.user_id)), "{text}");
    assert!(text.contains("<t:"), "a Discord timestamp: {text}");
    assert!(text.contains("Page 1 of 1 · 1 entry"), "{text}");

    // Alice's membership history, written as the membership code will write it.
    create(&ada, "Go", "Interest", "Open").await;
    {
        let mut conn = sim.pool.acquire().await.unwrap();
        let rust: i64 =
            sqlx::query_scalar("select id from groups where name = 'Rust'").fetch_one(&mut *conn).await.unwrap();
        for i in 0..11 {
            let (action, reason) =
                if i % 2 == 0 { ("membership.join", None) } else { ("membership.leave", Some("busy")) };
            let e = audit::Entry::of(sim.fake.guild_id, rust, alice.user_id, alice.user_id, action).because_of(reason);
            audit::record(&mut conn, &e).await.unwrap();
        }
    }

    // 13 entries: newest first, ten to a page.
    let first = ada.slash("audit", &[]).await;
    let text = first.text();
    assert!(text.contains("Page 1 of 2 · 13 entries · newest first"), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("<t:")).count(), 10, "{text}");
    assert!(
        text.contains(&format!("<@{0}> · `membership.join` · subject <@{0}> · group **Rust**", alice.user_id)),
        "{text}"
    );
    assert!(text.contains("reason “busy”"), "{text}");
    assert!(!text.contains("group.create"), "the oldest are on page 2: {text}");
    assert!(first.button("◀ Previous").disabled);

    // A non-admin pressing the button (or anyone forging one) is refused; the page stays.
    let (mid, next_id) = page_button(&first, "Next ▶");
    let r = bob.click(mid, &next_id).await;
    assert!(r.is_ephemeral());
    assert!(r.text().contains(NOT_ADMIN), "{}", r.text());
    assert!(first.text().contains("Page 1 of 2"));
    for forged in ["gh:aud:-:-:abc:1", "gh:aud:-:+1:5:1", "gh:aud:-:-:5", "gh:aud:-:-:5:01"] {
        let r = ada.click(mid, forged).await;
        assert!(r.text().contains("This button isn't valid"), "{forged}: {}", r.text());
    }
    let r = ada.click(mid, "gh:aud:987654321:-:99:0").await;
    assert!(r.text().contains("That group no longer exists"), "{}", r.text());

    // New entries don't shift the pages an admin is reading.
    create(&ada, "Zig", "Interest", "Open").await;
    let second = first.click("Next ▶").await;
    assert_eq!(second.callback_type(), 7, "updated in place");
    let text = second.text();
    assert!(text.contains("Page 2 of 2 · 13 entries"), "{text}");
    assert_eq!(text.matches("`group.create`").count(), 2, "{text}");
    assert!(!text.contains("Zig"), "{text}");
    assert!(second.button("Next ▶").disabled);
    let back = second.click("◀ Previous").await;
    assert!(back.text().contains("Page 1 of 2"), "{}", back.text());

    // Members of the configured admin role may turn pages too.
    let carol = sim.member("carol");
    let stewards = sim.fake.create_role_by_hand("Stewards", 0, false);
    sim.fake.give_role(carol.user_id, stewards);
    ada.slash("config admin-role", &[("role", &stewards.to_string())]).await;
    let r = carol.click(mid, &next_id).await;
    assert!(r.text().contains("Page 2 of 2"), "{}", r.text());

    // By group (autocompleted), by user, and both.
    assert_eq!(ada.autocomplete("audit", &[("group", "ru")], "group").await, ["Rust"]);
    let rust = ada.slash("audit", &[("group", "rust")]).await.text();
    assert!(rust.contains("Only entries about group **Rust**"), "{rust}");
    assert!(rust.contains("Page 1 of 2 · 12 entries"), "{rust}");
    let go = ada.slash("audit", &[("group", "Go")]).await.text();
    assert!(go.contains("1 entry") && go.contains("`group.create` · group **Go**"), "{go}");
    let by_alice = ada.slash("audit", &[("user", &alice.user_id.to_string())]).await.text();
    assert!(by_alice.contains(&format!("user <@{}>", alice.user_id)), "{by_alice}");
    assert!(by_alice.contains("11 entries") && !by_alice.contains("group.create"), "{by_alice}");
    let by_ada = ada.slash("audit", &[("user", &ada.user_id.to_string())]).await.text();
    assert!(by_ada.contains("4 entries") && !by_ada.contains("membership."), "{by_ada}");
    let both = ada.slash("audit", &[("group", "Go"), ("user", &alice.user_id.to_string())]).await.text();
    assert!(both.contains("No entries match"), "{both}");
    let r = ada.slash("audit", &[("group", "Nope")]).await;
    assert!(r.text().contains("There's no group with that name"), "{}", r.text());
    assert!(r.is_ephemeral());
}

#[tokio::test]
async fn the_directory_message_lists_groups_with_member_counts_and_keeps_current() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let general = sim.fake.general_channel();
    create(&ada, "Rust", "Interest", "Open").await;
    create(&ada, "Founders", "Identity", "Closed").await;
    add_members(&sim, "Rust", 3).await;

    let r = ada.slash("directory post", &[("channel", &general.to_string())]).await;
    assert!(r.is_ephemeral());
    assert!(r.text().contains(&format!("Posted the group directory in <#{general}>")), "{}", r.text());
    let posts = bot_posts(&sim, general);
    assert_eq!(posts.len(), 1);
    assert!(!posts[0].is_ephemeral(), "everyone sees the directory");
    assert_eq!(posts[0].allowed_mentions["parse"], serde_json::json!([]));
    let text = directory_text(&sim, general);
    assert!(text.contains("Identity · 1 group\n🔒 **Founders** · 0 members"), "{text}");
    assert!(text.contains("Industry · 0 groups\nNo groups yet."), "{text}");
    assert!(text.contains("Interest · 1 group\n🔓 **Rust** · 3 members"), "{text}");
    assert!(text.find("Identity").unwrap() < text.find("Industry").unwrap());
    let s = settings_now(&sim).await.directory.expect("remembered");
    assert_eq!((s.channel_id, s.message_id), (general, posts[0].id));

    // A new group shows up; member counts are read again.
    add_members(&sim, "Founders", 1).await;
    create(&ada, "Go", "Interest", "Open").await;
    sim.fake
        .wait_until("the directory shows Go", |w| {
            w.find_message(s.message_id).is_some_and(|m| message_text(m).contains("**Go** · 0 members"))
        })
        .await;
    let text = directory_text(&sim, general);
    assert!(text.contains("Interest · 2 groups"), "{text}");
    assert!(text.contains("🔒 **Founders** · 1 member\n") || text.ends_with("🔒 **Founders** · 1 member"), "{text}");
    assert!(text.contains("🔓 **Rust** · 3 members"), "{text}");

    let shown = ada.slash("config show", &[]).await.text();
    assert!(shown.contains(&format!("Directory message: In <#{general}>: https://discord.com/channels/")), "{shown}");

    // Posting elsewhere moves it: the old message is deleted.
    let lobby = text_channel(&sim, "lobby");
    let r = ada.slash("directory post", &[("channel", &lobby.to_string())]).await;
    assert!(r.text().contains(&format!("The previous one, in <#{general}>, was deleted")), "{}", r.text());
    assert!(bot_posts(&sim, general).is_empty());
    assert!(directory_text(&sim, lobby).contains("**Go**"));

    // Removing it deletes it and forgets it; removing again says there's nothing.
    let r = ada.slash("directory remove", &[]).await;
    assert!(r.text().contains(&format!("Removed the group directory message from <#{lobby}>")), "{}", r.text());
    assert!(bot_posts(&sim, lobby).is_empty());
    assert_eq!(settings_now(&sim).await.directory, None);
    let r = ada.slash("directory remove", &[]).await;
    assert!(r.text().contains("There's no directory message to remove"), "{}", r.text());
    // Creating a group with no directory message posts nothing.
    create(&ada, "Zig", "Impact", "Open").await;
    assert!(bot_posts(&sim, lobby).is_empty() && bot_posts(&sim, general).is_empty());

    let entries: Vec<String> =
        sqlx::query_scalar("select detail from audit_log where action = 'config.directory' order by id")
            .fetch_all(&sim.pool)
            .await
            .unwrap();
    assert_eq!(entries, [format!("<#{general}>"), format!("<#{lobby}>"), "removed".to_string()]);
}

#[tokio::test]
async fn a_directory_message_deleted_by_hand_never_breaks_group_creation() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let general = sim.fake.general_channel();
    ada.slash("directory post", &[("channel", &general.to_string())]).await;
    let mid = settings_now(&sim).await.directory.expect("posted").message_id;
    assert!(directory_text(&sim, general).contains("No groups yet."));

    // Someone deletes the message in Discord's client.
    assert!(sim.fake.delete_message_by_hand(mid));
    create(&ada, "Rust", "Interest", "Open").await;
    assert_eq!(sim.count("select count(*) from groups").await, 1);
    assert_eq!(settings_now(&sim).await.directory, None, "the deleted message is forgotten");
    assert!(ada.slash("config show", &[]).await.text().contains("Directory message: Not set"));

    // Its whole channel deleted by hand: the same.
    let lobby = text_channel(&sim, "lobby");
    ada.slash("directory post", &[("channel", &lobby.to_string())]).await;
    assert!(directory_text(&sim, lobby).contains("**Rust**"));
    assert!(sim.fake.delete_channel_by_hand(lobby));
    create(&ada, "Go", "Interest", "Open").await;
    sim.wait_count(
        "the directory setting is forgotten",
        "select count(*) from guild_settings where directory_channel_id is not null",
        0,
    )
    .await;
    assert_eq!(settings_now(&sim).await.directory, None);

    // Discord refusing the edit is logged; the group is still created and
    // the message remembered for the next change.
    ada.slash("directory post", &[("channel", &general.to_string())]).await;
    let posted = settings_now(&sim).await.directory.expect("posted again");
    sim.fake.inject(Fault::missing_permissions("PATCH", &format!("/channels/{general}/messages/")));
    create(&ada, "Zig", "Impact", "Open").await;
    assert_eq!(settings_now(&sim).await.directory, Some(posted));
    create(&ada, "Elm", "Impact", "Open").await;
    sim.fake
        .wait_until("the directory shows Zig and Elm", |w| {
            w.find_message(posted.message_id)
                .is_some_and(|m| message_text(m).contains("**Zig**") && message_text(m).contains("**Elm**"))
        })
        .await;
    assert_eq!(sim.count("select count(*) from groups").await, 4);
}
