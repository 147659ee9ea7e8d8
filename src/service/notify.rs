//! Notifications in Discord-native mention mode (S3, S5 default, S6).
//!
//! Each group that has subscribers gets a "<group> notify" role with no
//! permissions; its holders are exactly the group's subscribers (kept in
//! step by `sync_member` after every group (un)subscription, join, leave and
//! removal). A new topic in the group's channel is announced by ONE message
//! in the topic itself that mentions that role, whatever the number of
//! subscribers. The announcement is claimed in `announced_topics` inside the
//! transaction that commits after the send, so it happens once across
//! replayed events, resumes and restarts; `catch_up` announces at start-up
//! the topics created while the bot was down.

use super::App;
use crate::discord::{notify as dn, roles, DiscordError};
use crate::domain::delivery::{self, Follower, Mode};
use crate::domain::group::{self, Group};
use crate::domain::subscription::{self, Kind};
use crate::domain::{audit, notify};
use crate::views::notifications as nv;

/// Discord allows 250 roles per guild; notification roles are only made
/// while the guild has fewer than this many, leaving room for group roles
/// and the server's own.
pub const ROLE_CAP: usize = 230;

/// Discord's epoch, for a snowflake's timestamp.
const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

fn snowflake_ms(id: u64) -> i64 {
    (id >> 22) as i64 + DISCORD_EPOCH_MS
}

/// The group's notification role, made now if it has none. `None` when the
/// guild is too close to Discord's role limit (reported in the audit trail).
async fn ensure_role(app: &App, g: &Group) -> Result<Option<u64>, Box<dyn std::error::Error + Send + Sync>> {
    let mut tx = app.pool.begin().await?;
    notify::lock_group(&mut tx, g.id).await?;
    if let Some(r) = notify::role_of(&mut tx, g.id).await? {
        return Ok(Some(r));
    }
    let count = roles::guild_roles(&app.http, g.guild_id).await?.len();
    if count >= ROLE_CAP {
        audit::record(
            &mut tx,
            &audit::Entry {
                guild_id: g.guild_id,
                group_id: Some(g.id),
                action: "notify.role_cap",
                reason: Some("too many roles for a notification role; new topics are not announced"),
                ..Default::default()
            },
        )
        .await?;
        tx.commit().await?;
        tracing::warn!(group_id = g.id, roles = count, "no notification role: the guild is near the role limit");
        return Ok(None);
    }
    let name = role_name(&g.name);
    let role =
        dn::create_role(&app.http, g.guild_id, &name, &format!("Guildhall: notifications for \"{}\"", g.name)).await?;
    notify::set_role(&mut tx, g.guild_id, g.id, role).await?;
    tx.commit().await?;
    Ok(Some(role))
}

/// The name of a group's notification role (Discord allows 100 characters).
fn role_name(group_name: &str) -> String {
    format!("{group_name} notify").chars().take(100).collect()
}

/// The group was renamed: its notification role follows. Never fails its
/// caller (the rename already happened); a failure is logged.
pub async fn group_renamed(app: &App, g: &Group) {
    let role = match app.pool.acquire().await {
        Ok(mut conn) => notify::role_of(&mut conn, g.id).await,
        Err(e) => Err(e),
    };
    let result = match role {
        Ok(Some(role)) => crate::discord::provision::rename_role(
            &app.http,
            g.guild_id,
            role,
            &role_name(&g.name),
            &format!("Guildhall: group renamed to \"{}\"", g.name),
        )
        .await
        .map_err(|e| e.to_string()),
        Ok(None) => Ok(()),
        Err(e) => Err(e.to_string()),
    };
    if let Err(e) = result {
        tracing::warn!(group_id = g.id, error = %e, "could not rename the notification role");
    }
}

/// Give or take the group's notification role so that it matches whether
/// the member follows the group in mention mode (members in another mode
/// must not hold it, or they would be pinged too). Never fails its caller: a failure is logged
/// (the membership or subscription change already happened).
pub async fn sync_member(app: &App, g: &Group, user_id: u64) {
    if let Err(e) = try_sync_member(app, g, user_id).await {
        tracing::warn!(group_id = g.id, user_id, error = %e, "could not sync the notification role");
    }
}

async fn try_sync_member(app: &App, g: &Group, user_id: u64) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let (subscribed, role) = {
        let mut conn = app.pool.acquire().await?;
        (
            subscription::is_subscribed(&mut conn, user_id, Kind::Group, g.id).await?
                && delivery::mode_of(&mut conn, g.guild_id, user_id).await? == Mode::Mention,
            notify::role_of(&mut conn, g.id).await?,
        )
    };
    let reason = format!("Guildhall: notifications for \"{}\"", g.name);
    if subscribed {
        let Some(role) = (match role {
            Some(r) => Some(r),
            None => ensure_role(app, g).await?,
        }) else {
            return Ok(());
        };
        match roles::grant(&app.http, g.guild_id, user_id, role, &reason).await {
            Ok(()) => {}
            Err(DiscordError::Unknown("role", _)) => {
                // Deleted by hand: forget it, make a new one next time.
                notify::forget_role(&mut *app.pool.acquire().await?, g.id).await?;
            }
            Err(e) => return Err(e.into()),
        }
    } else if let Some(role) = role {
        match roles::revoke(&app.http, g.guild_id, user_id, role, &reason).await {
            Ok(()) | Err(DiscordError::Unknown(..)) => {}
            Err(e) => return Err(e.into()),
        }
    }
    Ok(())
}

/// Discord allows 100 user ids in `allowed_mentions.users`; an announcement
/// mentions at most this many followers by name (members who follow the
/// channel but not its group; group followers are reached by the role).
pub const MAX_USER_PINGS: usize = 100;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Who hears about an event, split by how.
#[derive(Debug, Default)]
struct Fanout {
    /// Mention mode, reached through the group's notification role.
    by_role: bool,
    /// Mention mode, pinged by name.
    by_name: Vec<u64>,
    dm: Vec<u64>,
    digest: Vec<u64>,
}

fn split(followers: &[Follower], role_covers_group: bool) -> Fanout {
    let mut f = Fanout::default();
    for x in followers {
        match x.mode {
            Mode::Mention if x.via_group && role_covers_group => f.by_role = true,
            Mode::Mention => f.by_name.push(x.user_id),
            Mode::Dm => f.dm.push(x.user_id),
            Mode::Digest => f.digest.push(x.user_id),
            Mode::Off => {}
        }
    }
    f
}

/// Queue DMs and digest lines for an event, in the caller's transaction.
async fn queue(
    app: &App,
    conn: &mut sqlx::PgConnection,
    guild_id: u64,
    key: &str,
    line: &str,
    f: &Fanout,
) -> Result<bool, sqlx::Error> {
    let now = app.clock.now();
    let dms = delivery::enqueue_dms(conn, guild_id, &f.dm, key, &nv::dm(line), "dm", now).await?;
    delivery::add_digest_items(conn, guild_id, &f.digest, key, line, now).await?;
    Ok(dms > 0)
}

/// A thread was created (THREAD_CREATE, or found at start-up): announce it
/// once if it is a topic in a group's channel or in a followed channel.
/// Mention mode: ONE message in the topic, mentioning the group's
/// notification role (and, by name, up to `MAX_USER_PINGS` followers of the
/// channel who don't follow the group). DM and digest modes: a queued DM or
/// a digest line per member. The author is never told, and a closed group's
/// topics reach its members only. Returns whether an announcement was sent.
pub async fn topic_created(
    app: &App,
    guild_id: u64,
    thread_id: u64,
    parent_id: u64,
    author_id: Option<u64>,
) -> Result<bool, BoxError> {
    if author_id == Some(app.bot_id) {
        return Ok(false);
    }
    let mut tx = app.pool.begin().await?;
    let group_id = notify::group_of_channel(&mut tx, guild_id, parent_id).await?;
    let forum = (Kind::Forum, crate::domain::db_id(parent_id));
    if group_id.is_none() && !delivery::anyone_follows(&mut tx, &[forum]).await? {
        return Ok(false);
    }
    // Topics older than the feature (or than the bot's first start) are not news.
    if snowflake_ms(thread_id) < notify::watermark_ms(&mut tx, guild_id).await? {
        return Ok(false);
    }
    if !notify::claim_topic(&mut tx, guild_id, group_id, thread_id).await? {
        return Ok(false);
    }
    let g = match group_id {
        Some(id) => group::get(&mut tx, guild_id, id).await?,
        None => None,
    };
    let mut targets = vec![forum];
    if let Some(g) = &g {
        targets.push((Kind::Group, g.id));
    }
    let closed = g.as_ref().filter(|g| g.visibility == crate::domain::group::Visibility::Closed).map(|g| g.id);
    let followers = delivery::followers(&mut tx, guild_id, &targets, author_id.unwrap_or(0), closed).await?;
    let role = match &g {
        Some(g) => notify::role_of(&mut tx, g.id).await?,
        None => None,
    };
    let mut f = split(&followers, role.is_some());
    let where_ = match &g {
        Some(g) => format!("**{}**", g.name),
        None => format!("<#{parent_id}>"),
    };
    let woke =
        queue(app, &mut tx, guild_id, &format!("topic:{thread_id}"), &nv::topic_line(guild_id, thread_id, &where_), &f)
            .await?;
    f.by_name.truncate(MAX_USER_PINGS);
    let role = role.filter(|_| f.by_role);
    if role.is_none() && f.by_name.is_empty() {
        // Nobody to ping here (the author is not told of their own topic).
        tx.commit().await?;
        if woke {
            super::deliveries::wake(app);
        }
        return Ok(false);
    }
    let by = author_id.map(|a| format!(" by <@{a}>")).unwrap_or_default();
    let mut pings: Vec<String> = role.iter().map(|r| format!("<@&{r}>")).collect();
    pings.extend(f.by_name.iter().map(|u| format!("<@{u}>")));
    let why = match &g {
        Some(g) => format!("you follow **{}** or this channel", g.name),
        None => "you follow this channel".to_string(),
    };
    let content = format!(
        "📣 New topic in {where_}: <#{thread_id}>{by}. {}\n-# You get this because {why}; manage what you follow with /subscriptions, how you hear with /notifications.",
        pings.join(" ")
    );
    let message = dn::announce(&app.http, thread_id, &content, role, &f.by_name).await?;
    notify::set_announcement(&mut tx, thread_id, message).await?;
    tx.commit().await?;
    if woke {
        super::deliveries::wake(app);
    }
    Ok(true)
}

/// A message was posted (MESSAGE_CREATE): tell the followers of its thread
/// and, for a reply, of the post it answers. Mention mode: thread followers
/// are members of the thread, which Discord notifies natively (nothing
/// posted); post followers get ONE reply mentioning them (at most
/// `MAX_USER_PINGS`). DM and digest modes: queued. Never the author, never
/// about a closed group's channel to a non-member; once per message.
pub async fn message_created(
    app: &App,
    guild_id: u64,
    channel_id: u64,
    message_id: u64,
    author_id: u64,
    reply_to: Option<u64>,
) -> Result<bool, BoxError> {
    if author_id == app.bot_id {
        return Ok(false);
    }
    let thread = (Kind::Thread, crate::domain::db_id(channel_id));
    let post = reply_to.map(|p| (Kind::Post, crate::domain::db_id(p)));
    let targets: Vec<_> = std::iter::once(thread).chain(post).collect();
    if !delivery::anyone_follows(&mut *app.pool.acquire().await?, &targets).await? {
        return Ok(false);
    }
    // Where the message is decides who can see it: a thread's parent, or
    // the channel itself.
    let home = dn::thread_parent(&app.http, channel_id).await?.unwrap_or(channel_id);
    let mut tx = app.pool.begin().await?;
    if !delivery::claim_message(&mut tx, guild_id, message_id, app.clock.now()).await? {
        return Ok(false);
    }
    let closed = match notify::group_of_channel(&mut tx, guild_id, home).await? {
        Some(id) => group::get(&mut tx, guild_id, id)
            .await?
            .filter(|g| g.visibility == crate::domain::group::Visibility::Closed)
            .map(|g| g.id),
        None => None,
    };
    let mut woke = false;
    let mut told: Vec<u64> = Vec::new();
    let mut pinged: Vec<u64> = Vec::new();
    if let Some(p) = post {
        let f = split(&delivery::followers(&mut tx, guild_id, &[p], author_id, closed).await?, false);
        let line = nv::post_reply_line(guild_id, channel_id, message_id);
        woke |= queue(app, &mut tx, guild_id, &format!("msg:{message_id}"), &line, &f).await?;
        told.extend(f.dm.iter().chain(&f.digest));
        pinged = f.by_name;
    }
    let mut f = split(&delivery::followers(&mut tx, guild_id, &[thread], author_id, closed).await?, false);
    // Someone following both hears once.
    f.dm.retain(|u| !told.contains(u));
    f.digest.retain(|u| !told.contains(u));
    let line = nv::thread_message_line(guild_id, channel_id, message_id);
    woke |= queue(app, &mut tx, guild_id, &format!("msg:{message_id}"), &line, &f).await?;
    pinged.truncate(MAX_USER_PINGS);
    let mut sent = false;
    if !pinged.is_empty() {
        let mentions: Vec<String> = pinged.iter().map(|u| format!("<@{u}>")).collect();
        let content = format!(
            "↩️ A new reply to a post you follow. {}\n-# Manage what you follow with /subscriptions, how you hear with /notifications.",
            mentions.join(" ")
        );
        crate::discord::messages::post_pinging(&app.http, channel_id, &content, &pinged, Some(message_id), None)
            .await?;
        sent = true;
    }
    tx.commit().await?;
    if woke {
        super::deliveries::wake(app);
    }
    Ok(sent)
}

/// At start-up: announce the active topics in group channels created while
/// the bot was down (after the watermark, not announced yet).
pub async fn catch_up(app: &App, guild_id: u64) {
    // The first start sets the watermark: older topics are never announced.
    match app.pool.acquire().await {
        Ok(mut conn) => {
            if let Err(e) = notify::watermark_ms(&mut conn, guild_id).await {
                tracing::warn!(guild_id, error = %e, "could not read the notification watermark");
                return;
            }
        }
        Err(e) => {
            tracing::warn!(guild_id, error = %e, "no database connection to catch up");
            return;
        }
    }
    let threads = match dn::active_threads(&app.http, guild_id).await {
        Ok(t) => t,
        Err(e) => {
            tracing::warn!(guild_id, error = %e, "could not list active threads to catch up");
            return;
        }
    };
    for t in threads {
        let Some(parent) = t.parent_id.filter(|_| !t.private) else { continue };
        match topic_created(app, guild_id, t.id, parent, t.owner_id).await {
            Ok(true) => tracing::info!(guild_id, thread_id = t.id, "announced a topic missed while down"),
            Ok(false) => {}
            Err(e) => tracing::warn!(guild_id, thread_id = t.id, error = %e, "could not announce a missed topic"),
        }
    }
}

/// Delete a deleted group's notification role, so it doesn't hold a slot
/// of the role limit. Never fails its caller.
pub async fn delete_role(app: &App, guild_id: u64, role_id: u64, reason: &str) {
    match crate::discord::provision::delete_role(&app.http, guild_id, role_id, reason).await {
        Ok(()) | Err(DiscordError::Unknown(..)) => {}
        Err(e) => tracing::warn!(guild_id, role_id, error = %e, "could not delete a notification role"),
    }
}
