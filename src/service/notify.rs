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
use crate::domain::group::{self, Group};
use crate::domain::subscription::{self, Kind};
use crate::domain::{audit, notify};

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
    let name: String = format!("{} notify", g.name).chars().take(100).collect();
    let role =
        dn::create_role(&app.http, g.guild_id, &name, &format!("Guildhall: notifications for \"{}\"", g.name)).await?;
    notify::set_role(&mut tx, g.guild_id, g.id, role).await?;
    tx.commit().await?;
    Ok(Some(role))
}

/// Give or take the group's notification role so that it matches whether
/// the member follows the group. Never fails its caller: a failure is logged
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
            subscription::is_subscribed(&mut conn, user_id, Kind::Group, g.id).await?,
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

/// A thread was created (THREAD_CREATE, or found at start-up): announce it
/// once if it is a topic in a group's channel. Returns whether an
/// announcement was sent now.
pub async fn topic_created(
    app: &App,
    guild_id: u64,
    thread_id: u64,
    parent_id: u64,
    author_id: Option<u64>,
) -> Result<bool, Box<dyn std::error::Error + Send + Sync>> {
    if author_id == Some(app.bot_id) {
        return Ok(false);
    }
    let mut tx = app.pool.begin().await?;
    let Some(group_id) = notify::group_of_channel(&mut tx, guild_id, parent_id).await? else { return Ok(false) };
    // Topics older than the feature (or than the bot's first start) are not news.
    if snowflake_ms(thread_id) < notify::watermark_ms(&mut tx, guild_id).await? {
        return Ok(false);
    }
    if !notify::claim_topic(&mut tx, guild_id, group_id, thread_id).await? {
        return Ok(false);
    }
    let Some(g) = group::get(&mut tx, guild_id, group_id).await? else { return Ok(false) };
    let others = subscription::group_subscribers_except(&mut tx, group_id, author_id.unwrap_or(0)).await?;
    let role = notify::role_of(&mut tx, group_id).await?;
    let Some(role) = role.filter(|_| others > 0) else {
        // Nobody to tell (the author is not told of their own topic).
        tx.commit().await?;
        return Ok(false);
    };
    let by = author_id.map(|a| format!(" by <@{a}>")).unwrap_or_default();
    let content = format!(
        "📣 New topic in **{}**: <#{thread_id}>{by}. <@&{role}>\n-# You get this because you follow **{}**; manage what you follow with /subscriptions.",
        g.name, g.name
    );
    let message = dn::announce(&app.http, thread_id, &content, role).await?;
    notify::set_announcement(&mut tx, thread_id, message).await?;
    tx.commit().await?;
    Ok(true)
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
        let Some(parent) = t.parent_id else { continue };
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
