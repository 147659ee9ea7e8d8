//! `/health` (A4): what is wrong with the bot's set-up on a server, each
//! problem with its fix; admins only; nothing of another server.

use crate::sim::{group, Sim};
use fake_discord::world::channel_type;
use fake_discord::{perms, Actor, Fault, Reply, BOT_PERMISSIONS};

const NOT_ADMIN: &str = "Only admins can do this";

async fn health(who: &Actor) -> Reply {
    let r = who.slash("health", &[]).await;
    assert!(r.is_ephemeral(), "only the admin sees it");
    r
}

/// A server set up as it should be: two groups, a mod channel and a
/// requests channel, set with `/config`.
async fn set_up(sim: &Sim, ada: &Actor) {
    group(sim, ada, "Rust", "Closed").await;
    group(sim, ada, "Go", "Open").await;
    for (setting, name) in [("config mod-channel", "mods"), ("config requests-channel", "join-requests")] {
        let id = sim.fake.create_channel_by_hand(name, channel_type::TEXT, None, vec![]);
        let r = ada.slash(setting, &[("channel", &id.to_string())]).await;
        assert!(r.text().contains("Done"), "{}", r.text());
    }
}

#[tokio::test]
async fn a_healthy_server_is_told_so_and_nothing_of_another_server_shows() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    set_up(&sim, &ada).await;
    // Another server's troubles, in the same database: a group whose role
    // and channel don't exist here, a failed reconcile, a failed DM.
    let other = 987_654_321_i64;
    sqlx::query(
        "insert into groups (guild_id, name, bucket, visibility, role_id, channel_id, created_by)
         values ($1, 'Elsewhere', 'interest', 'open', 11, 12, 13)",
    )
    .bind(other)
    .execute(&sim.pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into reconcile_runs (guild_id, trigger, policy, started_at, finished_at, found, failed, summary)
         values ($1, 'session', 'follow', now() + interval '1 hour', now() + interval '1 hour', 9, 9, 'secret line')",
    )
    .bind(other)
    .execute(&sim.pool)
    .await
    .unwrap();
    sqlx::query(
        "insert into deliveries (guild_id, user_id, kind, dedupe_key, content, run_at, created_at, state, done_at)
         values ($1, 5, 'dm', 'other', 'x', now(), now(), 'failed', now())",
    )
    .bind(other)
    .execute(&sim.pool)
    .await
    .unwrap();

    let r = health(&ada).await;
    let text = r.text();
    assert!(text.contains("✅ **All good.**"), "{text}");
    assert!(!text.contains("❌") && !text.contains("⚠️"), "{text}");
    let roles = sim.fake.with(|w| w.guilds[&sim.fake.guild_id].roles.len());
    assert!(text.contains(&format!("Roles: {roles} of 250")), "{text}");
    assert!(text.contains("Bucket categories (of 50 each): Interest 2"), "{text}");
    assert!(text.contains("0 waiting") && text.contains("0 failed in the last day"), "{text}");
    assert!(text.contains("0 pending"), "{text}");
    assert!(!text.contains("Elsewhere") && !text.contains("secret line") && !text.contains("found 9"), "{text}");
    assert_eq!(r.message().allowed_mentions["parse"], serde_json::json!([]), "pings nobody");
}

#[tokio::test]
async fn members_are_refused_and_discord_shows_it_to_managers_only() {
    let sim = Sim::start().await;
    let bob = sim.member("bob");
    let r = health(&bob).await;
    assert!(r.text().contains(NOT_ADMIN), "{}", r.text());
    assert!(!r.text().contains("Server health"), "{}", r.text());
    let c = sim.fake.registered_commands().into_iter().find(|c| c["name"] == "health").expect("/health");
    let p = &c["default_member_permissions"];
    assert!(p == "32" || p == 32, "/health needs Manage Server by default: {p}");
}

#[tokio::test]
async fn a_role_above_the_bot_lost_manage_roles_and_a_deleted_channel_are_each_named_with_a_fix() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    set_up(&sim, &ada).await;
    let r = ada.slash("config reconcile-policy", &[("policy", "report: change nothing, tell admins")]).await;
    assert!(r.text().contains("Done"), "{}", r.text());
    let rust_role = sim.fake.role_named("Rust").unwrap().id;
    let go_channel = sim.fake.channel_named("go").unwrap().id;
    let bot_role = sim.fake.role_named("Guildhall").unwrap().id;

    // People change the server in Discord's client.
    sim.fake.move_role(rust_role, 1000);
    sim.fake.edit_role_by_hand(bot_role, BOT_PERMISSIONS & !perms::MANAGE_ROLES);
    assert!(sim.fake.delete_channel_by_hand(go_channel));
    // Under the report policy the bot only reports the deleted channel: wait for that.
    let reported = "select count(*) from audit_log
                    where action = 'reconcile.reported' and reason like '%channel of **Go** was deleted%'";
    sim.wait_count("the bot saw the channel go", reported, 1).await;

    let text = health(&ada).await.text();
    assert!(text.contains("Found 3 problem(s)"), "{text}");
    assert!(
        text.contains(
            "❌ I'm missing Manage Roles server-wide. **Fix:** In Server Settings → Roles, give my role **Guildhall**"
        ),
        "{text}"
    );
    assert!(
        text.contains("❌ **Rust**'s role **Rust** is at or above my highest role **Guildhall**")
            && text.contains("drag **Guildhall** above **Rust**"),
        "{text}"
    );
    assert!(
        text.contains(&format!("❌ **Go**'s channel (<#{go_channel}>) was deleted. **Fix:** Run `/reconcile`")),
        "{text}"
    );
    assert!(!text.contains("All good"), "{text}");
    assert!(sim.fake.channel_named("go").is_none(), "nothing was made again: /health changes nothing");

    // Once fixed by hand, the same check is clean again but for the channel.
    sim.fake.edit_role_by_hand(bot_role, BOT_PERMISSIONS);
    sim.fake.move_role(rust_role, 1);
    let text = health(&ada).await.text();
    assert!(text.contains("Found 1 problem(s)") && text.contains("**Go**'s channel"), "{text}");
}

#[tokio::test]
async fn discord_not_answering_is_said_plainly_and_the_next_check_works() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    let channels = format!("/guilds/{}/channels", sim.fake.guild_id);
    sim.fake.inject(Fault::server_error("GET", &channels).times(20));
    let r = health(&ada).await;
    assert!(r.text().starts_with("Error: I couldn't read this server from Discord"), "{}", r.text());
    assert!(r.text().contains("try again"), "{}", r.text());
    sim.fake.clear_faults();
    assert!(health(&ada).await.text().contains("All good"));
}

/// Changes Discord refused and the background pass retries (N5) show in
/// `/health` while they wait, and are gone once Discord takes them.
#[tokio::test]
async fn discord_changes_waiting_for_a_retry_are_shown_until_the_background_pass_makes_them() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    set_up(&sim, &ada).await;
    assert!(health(&ada).await.text().contains("All good"));
    // Discord refuses to delete the group's role: the group is deleted, the
    // role is left over for the background pass.
    sim.fake.inject(Fault::missing_permissions("DELETE", "/roles/"));
    let done = ada.slash("group delete", &[("group", "Go")]).await.click("Delete group").await;
    assert!(done.text().contains("Deleted the group **Go**"), "{}", done.text());
    assert!(sim.fake.role_named("Go").is_some(), "the role is still there");
    let r = health(&ada).await;
    assert!(
        r.text().contains("1 role(s) or channel(s) I deleted are still on Discord."),
        "the retry is shown: {}",
        r.text()
    );
    assert!(r.text().contains("**Fix:**"), "{}", r.text());
    // Discord takes the deletion on the next pass; the warning goes.
    sim.clock.advance(chrono::Duration::seconds(60)).await;
    assert!(sim.fake.role_named("Go").is_none(), "the pass deleted the role");
    let r = health(&ada).await;
    assert!(r.text().contains("All good"), "{}", r.text());
}

/// A channel the bot uses where an overwrite takes what it needs: the mod
/// channel denies its role Send Messages, the requests channel denies the
/// bot itself Create Private Threads; each is named with its channel and
/// the fix, as a problem, while the server-wide permissions are whole.
#[tokio::test]
async fn a_permission_an_overwrite_takes_from_the_bot_is_named_per_channel() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    group(&sim, &ada, "Rust", "Closed").await;
    let bot_role = sim.fake.role_named("Guildhall").unwrap().id;
    let bot = sim.fake.bot_user_id();
    let mods = sim.fake.create_channel_by_hand("mods", channel_type::TEXT, None, vec![]);
    let requests = sim.fake.create_channel_by_hand("join-requests", channel_type::TEXT, None, vec![]);
    for (setting, id) in [("config mod-channel", mods), ("config requests-channel", requests)] {
        let r = ada.slash(setting, &[("channel", &id.to_string())]).await;
        assert!(r.text().contains("Done"), "{}", r.text());
    }
    assert!(health(&ada).await.text().contains("All good"));
    // Later, by hand: an overwrite for the bot's role, one for the bot.
    let deny = |id, kind, deny| vec![fake_discord::world::Overwrite { id, kind, allow: 0, deny }];
    sim.fake.edit_overwrites_by_hand(mods, deny(bot_role, 0, perms::SEND_MESSAGES));
    sim.fake.edit_overwrites_by_hand(requests, deny(bot, 1, perms::CREATE_PRIVATE_THREADS));

    let text = health(&ada).await.text();
    assert!(text.contains("Found 2 problem(s)"), "{text}");
    assert!(text.contains(&format!("❌ I'm missing Send Messages in the mod channel <#{mods}>.")), "{text}");
    assert!(
        text.contains(&format!("❌ I'm missing Create Private Threads in the requests channel <#{requests}>.")),
        "{text}"
    );
    assert!(text.contains("**Fix:** Edit Channel → Permissions: allow these for my role"), "{text}");
    assert!(!text.contains("server-wide"), "nothing is missing server-wide: {text}");

    // The overwrites removed by hand: all good again.
    for id in [mods, requests] {
        sim.fake.edit_overwrites_by_hand(id, vec![]);
    }
    assert!(health(&ada).await.text().contains("All good"));
}

/// Discord's 500 channels a server (threads not counted): at 450 `/health`
/// warns with what is left, at 500 it is a problem (no group can be made).
#[tokio::test]
async fn the_servers_channels_near_and_at_discords_500_are_warned_of_then_a_problem() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    set_up(&sim, &ada).await;
    let gid = sim.fake.guild_id;
    let channels = || {
        sim.fake.with(|w| {
            w.guilds[&gid]
                .channels
                .iter()
                .filter(|c| w.channels.get(c).is_some_and(|c| ![10, 11, 12].contains(&c.kind)))
                .count()
        })
    };
    let fill = |to: usize| {
        for i in channels()..to {
            sim.fake.create_channel_by_hand(&format!("room-{i}"), channel_type::TEXT, None, vec![]);
        }
        assert_eq!(channels(), to);
    };
    fill(449);
    assert!(health(&ada).await.text().contains("All good"), "449 is still under the warning");
    fill(450);
    let text = health(&ada).await.text();
    assert!(text.contains("Found 0 problem(s) and 1 warning(s)"), "{text}");
    assert!(text.contains("⚠️ The server has 450 of Discord's 500 channels (threads don't count): 50 left."), "{text}");
    fill(500);
    let text = health(&ada).await.text();
    assert!(text.contains("Found 1 problem(s)"), "{text}");
    assert!(
        text.contains(
            "❌ The server has 500 channels (threads don't count), Discord's limit of 500: no new group can be made there."
        ),
        "{text}"
    );
    assert!(text.contains("**Fix:** Delete channels you no longer use"), "{text}");
}

/// What waits is shown as a warning once it is late, not only counted:
/// DMs held by a bot process that stopped answering (their claim not yet
/// run out) and due 20 minutes ago, and a join request past the admins'
/// alert time (3 days by default).
#[tokio::test]
async fn late_dms_and_overdue_join_requests_are_warnings_with_their_counts() {
    let sim = Sim::start().await;
    let ada = sim.admin("ada");
    set_up(&sim, &ada).await;
    let bob = sim.member("bob");
    assert!(crate::sim::ask(&bob, "Rust", None).await.text().contains("was sent"));
    let text = health(&ada).await.text();
    assert!(!text.contains("join request(s) have waited"), "a fresh request is not overdue: {text}");
    assert!(text.contains("1 pending"), "{text}");

    sim.clock.advance(chrono::Duration::hours(73)).await;
    let now = sim.clock.now();
    for (n, user) in [(1, 501_i64), (2, 502)] {
        sqlx::query(
            "insert into deliveries (guild_id, user_id, kind, dedupe_key, content, run_at, created_at, state,
                                     locked_until, claim_token)
             values ($1, $2, 'dm', $3, 'x', $4, $4, 'pending', $5, 1)",
        )
        .bind(sim.fake.guild_id as i64)
        .bind(user)
        .bind(format!("held-{n}"))
        .bind(now - chrono::Duration::minutes(20))
        .bind(now + chrono::Duration::hours(1))
        .execute(&sim.pool)
        .await
        .unwrap();
    }
    let text = health(&ada).await.text();
    assert!(text.contains("Found 0 problem(s) and 2 warning(s)"), "{text}");
    assert!(text.contains("⚠️ 2 DM(s) are more than 10 minutes late."), "{text}");
    assert!(text.contains("2 waiting"), "{text}");
    assert!(text.contains("⚠️ 1 join request(s) have waited longer than 3 days (the admins' alert time)."), "{text}");
    assert!(text.contains("**Fix:** Their groups' leaders, or admins, decide them in `/requests`"), "{text}");
}
