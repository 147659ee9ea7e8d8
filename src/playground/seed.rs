//! The demo server, set up as an admin would: people join, the admin runs the
//! bot's own commands (guidelines, the requests and mod channels, groups,
//! their criteria and leaders), leaders start a few topics.

use anyhow::{bail, Context};
use fake_discord::world::{channel_type, perms, Overwrite};
use fake_discord::{Actor, FakeDiscord};

/// Someone the page lets you be: a label ("Ada · admin") and their user id.
#[derive(Clone, Debug, serde::Serialize, serde::Deserialize)]
pub struct Person {
    pub label: String,
    pub user_id: u64,
}

/// (name, bucket, visibility, description, criteria, leader index: 0 Lena, 1 Leo)
const GROUPS: &[(&str, &str, &str, &str, &str, usize)] = &[
    (
        "Rust",
        "Interest",
        "Open",
        "Rustaceans of every level: questions, crates, code review.",
        "Anyone who writes or wants to write Rust.",
        0,
    ),
    ("Board Games", "Interest", "Open", "Game nights and recommendations.", "Anyone who likes a good game night.", 0),
    (
        "Women in Tech",
        "Identity",
        "Closed",
        "A private space for women working in tech.",
        "Women and non-binary people in tech.",
        0,
    ),
    ("Parents", "Identity", "Open", "Juggling work and kids.", "Parents and carers.", 1),
    (
        "Fintech",
        "Industry",
        "Open",
        "Payments, banking and the rules around them.",
        "People working in or near finance.",
        1,
    ),
    (
        "Healthcare",
        "Industry",
        "Closed",
        "Clinicians and engineers building health software.",
        "People who work in healthcare; say where.",
        1,
    ),
    (
        "Climate Action",
        "Impact",
        "Open",
        "Local projects and volunteering for the climate.",
        "Anyone who wants to help.",
        1,
    ),
    (
        "Mentors",
        "Impact",
        "Closed",
        "Mentors coordinating sessions for newcomers.",
        "Experienced members who mentor; say in what.",
        0,
    ),
];

fn check(what: &str, text: String) -> anyhow::Result<String> {
    if text.starts_with("Error") || text.contains("Only admins") {
        bail!("{what}: {text}");
    }
    Ok(text)
}

/// Seed the demo server; returns the people to switch between, admin first.
pub async fn seed(fake: &FakeDiscord) -> anyhow::Result<Vec<Person>> {
    let ada = fake.admin("Ada");
    let lena = fake.member("Lena");
    let leo = fake.member("Leo");
    let members: Vec<Actor> = ["Mia", "Max", "Noor", "Sam", "Ola"].iter().map(|n| fake.member(n)).collect();

    let gid = fake.guild_id;
    let admins = fake.role_named("Admins").context("the Admins role")?.id;
    let bot_role = fake.with(|w| w.guilds[&gid].roles.iter().find(|r| r.managed).map(|r| r.id)).context("bot role")?;
    let staff_only = vec![
        Overwrite { id: gid, kind: 0, allow: 0, deny: perms::VIEW_CHANNEL },
        Overwrite { id: admins, kind: 0, allow: perms::VIEW_CHANNEL, deny: 0 },
        Overwrite { id: bot_role, kind: 0, allow: perms::VIEW_CHANNEL | perms::SEND_MESSAGES, deny: 0 },
    ];
    // Everyone may read #join-requests, nobody but the bot writes in it: the
    // cards go to a private thread per group that only its leaders (and
    // admins) are added to, and a private thread is only seen by someone who
    // can see its channel.
    let read_only = vec![
        Overwrite { id: gid, kind: 0, allow: 0, deny: perms::SEND_MESSAGES },
        Overwrite { id: bot_role, kind: 0, allow: perms::VIEW_CHANNEL | perms::SEND_MESSAGES, deny: 0 },
    ];
    let requests = fake.create_channel_by_hand("join-requests", channel_type::TEXT, None, read_only);
    let moderation = fake.create_channel_by_hand("mod", channel_type::TEXT, None, staff_only);

    // Ada sets the server up in #mod, where only staff look: her commands'
    // answers are ephemeral, and ~30 of them in #general would be the first
    // thing she sees of the demo.
    let opened = ada.slash_in(moderation, "config guidelines", &[]).await;
    let r = ada
        .submit(&opened.modal(), &[("text", "1. Be kind and assume good intent.\n2. No spam or self-promotion.\n3. What is said in a closed group stays there.")])
        .await;
    check("guidelines", r.text())?;
    check(
        "requests channel",
        ada.slash_in(moderation, "config requests-channel", &[("channel", &requests.to_string())]).await.text(),
    )?;
    check(
        "mod channel",
        ada.slash_in(moderation, "config mod-channel", &[("channel", &moderation.to_string())]).await.text(),
    )?;

    let leaders = [&lena, &leo];
    for (name, bucket, visibility, description, criteria, leader) in GROUPS {
        let r = ada
            .slash_in(
                moderation,
                "group create",
                &[("name", name), ("bucket", bucket), ("visibility", visibility), ("description", description)],
            )
            .await;
        check(&format!("group create {name}"), r.text())?;
        check(
            &format!("criteria of {name}"),
            ada.slash_in(moderation, "group edit", &[("group", name), ("criteria", criteria)]).await.text(),
        )?;
        let who = leaders[*leader].user_id.to_string();
        check(
            &format!("leader of {name}"),
            ada.slash_in(moderation, "group leader add", &[("group", name), ("user", &who)]).await.text(),
        )?;
    }

    let topics = [
        (&lena, "rust", "Crate of the week", "Share a crate you found useful this week."),
        (&lena, "board-games", "Game night on Friday?", "Who is in? Bring your favourite two-player game."),
        (&leo, "climate-action", "Beach clean-up", "Saturday 10:00 at the pier; gloves provided."),
    ];
    for (who, channel, title, content) in topics {
        let ch = fake.channel_named(channel).with_context(|| format!("#{channel}"))?;
        // The bot grants the leader role through its paced role queue: wait
        // (a while, on a loaded machine) until it lets the leader post.
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        while !who.can_send(ch.id) && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        }
        if let Err(e) = who.try_create_topic(ch.id, title, content) {
            tracing::warn!(channel, title, error = %e.message, "the demo goes without this topic");
        }
    }
    // What #general opens on: a word from the admin on where to start.
    ada.try_post_message(
        fake.general_channel(),
        "Welcome to the Guildhall playground! Type / in the message box for the bot's commands: \
         /groups lists the groups, /group info shows one with a Join button.",
        None,
    )
    .map_err(|e| anyhow::anyhow!("the welcome in #general: {}", e.message))?;

    let mut people = vec![
        Person { label: "Ada · admin".into(), user_id: ada.user_id },
        Person { label: "Lena · leader".into(), user_id: lena.user_id },
        Person { label: "Leo · leader".into(), user_id: leo.user_id },
    ];
    people.extend(members.iter().map(|m| Person { label: format!("{} · member", m.name), user_id: m.user_id }));
    Ok(people)
}
