//! How a member hears about what they follow (S5): `/notifications` and
//! the server's default (`/config notification-mode`). A change of mode
//! keeps the Discord-native side in step: the groups' notification roles
//! (held only in mention mode) and membership of followed threads.

use super::App;
use crate::discord::DiscordError;
use crate::domain::delivery::{self, Mode};
use crate::domain::subscription::{self, Kind};
use crate::domain::{audit, group};

/// What `/notifications` shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Status {
    /// The mode that applies.
    pub mode: Mode,
    /// Whether the member chose it (else it is the server's default).
    pub own: bool,
    pub server_default: Mode,
    /// The member's DMs were found closed (50007) and not reopened since.
    pub dms_closed: bool,
}

pub async fn status(app: &App, guild_id: u64, user_id: u64) -> Result<Status, sqlx::Error> {
    let mut conn = app.pool.acquire().await?;
    let own = delivery::own_mode(&mut conn, guild_id, user_id).await?;
    let server_default = delivery::default_mode(&mut conn, guild_id).await?;
    let dms_closed = delivery::dms_closed_since(&mut conn, user_id).await?.is_some();
    Ok(Status { mode: own.unwrap_or(server_default), own: own.is_some(), server_default, dms_closed })
}

/// What choosing a mode did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Changed {
    pub status: Status,
    /// The member's DMs were marked closed and are tried again now.
    pub retrying_dms: bool,
}

/// Set the member's mode. Choosing DM or digest again clears a closed-DMs
/// mark: the member may have opened them.
pub async fn set(app: &App, guild_id: u64, user_id: u64, mode: Mode) -> Result<Changed, sqlx::Error> {
    let mut tx = app.pool.begin().await?;
    let before = delivery::set_mode(&mut tx, guild_id, user_id, mode, app.clock.now()).await?;
    let retrying_dms = mode.uses_dms() && delivery::clear_dms_closed(&mut tx, user_id).await?;
    audit::record(
        &mut tx,
        &audit::Entry::guild(guild_id, "notifications.mode").actor(user_id).subject(user_id).detail(mode.key()),
    )
    .await?;
    tx.commit().await?;
    if (before == Mode::Mention) != (mode == Mode::Mention) {
        sync_native(app, guild_id, user_id, mode).await;
    }
    Ok(Changed { status: status(app, guild_id, user_id).await?, retrying_dms })
}

/// Make the Discord-native side match the member's mode: notification roles
/// of followed groups, membership of followed threads. Never fails its
/// caller; failures are logged.
pub async fn sync_native(app: &App, guild_id: u64, user_id: u64, mode: Mode) {
    let items = match subscription::list(
        &mut *match app.pool.acquire().await {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "no connection to sync notification roles");
                return;
            }
        },
        guild_id,
        user_id,
    )
    .await
    {
        Ok(i) => i,
        Err(e) => {
            tracing::warn!(error = %e, "could not list subscriptions to sync");
            return;
        }
    };
    for item in items {
        match item.kind {
            Kind::Group => {
                let g = match app.pool.acquire().await {
                    Ok(mut c) => group::get(&mut c, guild_id, item.target).await.ok().flatten(),
                    Err(_) => None,
                };
                if let Some(g) = g {
                    super::notify::sync_member(app, &g, user_id).await;
                }
            }
            Kind::Thread => sync_thread(app, item.target as u64, user_id, mode == Mode::Mention).await,
            Kind::Forum | Kind::Post => {}
        }
    }
}

/// Add the member to a followed thread (mention mode) or take them out.
pub async fn sync_thread(app: &App, thread_id: u64, user_id: u64, member: bool) {
    let r = if member {
        crate::discord::channels::add_thread_member(&app.http, thread_id, user_id).await
    } else {
        crate::discord::channels::remove_thread_member(&app.http, thread_id, user_id).await
    };
    match r {
        Ok(()) | Err(DiscordError::Unknown(..)) => {}
        // Taking a member out of a public thread needs Manage Threads, and
        // Discord refuses it in an archived thread (50083): the member stays
        // in it and can leave it themselves.
        Err(e) => tracing::warn!(thread_id, user_id, member, error = %e, "could not sync thread membership"),
    }
}

/// The server's default mode (for `/config show`).
pub async fn default_mode(app: &App, guild_id: u64) -> Result<Mode, sqlx::Error> {
    delivery::default_mode(&mut *app.pool.acquire().await?, guild_id).await
}

/// Set the server's default mode (admins). Returns the previous one.
pub async fn set_default(app: &App, guild_id: u64, actor: u64, mode: Mode) -> Result<Mode, sqlx::Error> {
    let mut tx = app.pool.begin().await?;
    let before = delivery::default_mode(&mut tx, guild_id).await?;
    delivery::set_default_mode(&mut tx, guild_id, mode).await?;
    super::config::record(&mut tx, guild_id, actor, "config.notification-mode", mode.key()).await?;
    tx.commit().await?;
    Ok(before)
}

/// After the default changed: bring the members who use it in step (their
/// notification roles and thread memberships). Runs in the background.
pub async fn resync_default(app: &App, guild_id: u64) {
    let users = match app.pool.acquire().await {
        Ok(mut c) => delivery::group_followers_on_default(&mut c, guild_id).await,
        Err(e) => Err(e),
    };
    let users = match users {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(guild_id, error = %e, "could not list members on the default mode");
            return;
        }
    };
    let mode = match app.pool.acquire().await {
        Ok(mut c) => delivery::default_mode(&mut c, guild_id).await.unwrap_or(Mode::Mention),
        Err(_) => Mode::Mention,
    };
    let mut last = None;
    for (user, _) in users {
        if last != Some(user) {
            sync_native(app, guild_id, user, mode).await;
            last = Some(user);
        }
    }
}
