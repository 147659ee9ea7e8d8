//! The persistent directory message (G4): posted by an admin in a channel,
//! remembered in `guild_settings`, and kept current by `refresh` after every
//! change to the groups.
//!
//! Every writer of a server's directory message (post, remove, refresh)
//! takes that server's turn first, so edits never overtake each other and
//! a refresh always renders what was committed before it was asked for.
//! Refreshes asked for while one is already waiting are folded into it: a
//! burst of joins costs two edits, not one per join.

use super::config::{self, ConfigError};
use super::App;
use crate::discord::{messages, DiscordError};
use crate::domain::channels::Use;
use crate::domain::group;
use crate::domain::settings::{self, DirectoryMessage};
use crate::views::directory_message;
use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use tracing::{info, warn};

#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("Discord refused: {0}")]
    Discord(DiscordError),
    #[error("there is no directory message")]
    NothingPosted,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// One server's turn at its directory message.
#[derive(Default)]
struct Slot {
    turn: tokio::sync::Mutex<()>,
    /// A refresh is waiting for the turn and has not read the database yet.
    queued: AtomicBool,
}

/// Slots per (database, server): the message belongs to the server's row in
/// that database, and several bots (tests) may share a process.
type Slots = Mutex<HashMap<(String, u64), Arc<Slot>>>;

fn slot(app: &App, guild_id: u64) -> Arc<Slot> {
    static SLOTS: OnceLock<Slots> = OnceLock::new();
    let o = app.pool.connect_options();
    let db = format!("{}:{}/{}", o.get_host(), o.get_port(), o.get_database().unwrap_or_default());
    let mut slots = SLOTS.get_or_init(Default::default).lock().unwrap_or_else(|p| p.into_inner());
    slots.entry((db, guild_id)).or_default().clone()
}

/// What posting did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Posted {
    pub message: DirectoryMessage,
    /// The message it replaces (deleted, best effort).
    pub replaced: Option<DirectoryMessage>,
}

/// Post the directory message in `channel_id` and remember it; a message
/// posted before is deleted.
pub async fn post(app: &App, guild_id: u64, actor: u64, channel_id: u64) -> Result<Posted, DirectoryError> {
    config::verify_channel(app, guild_id, channel_id, Use::Directory).await?;
    let slot = slot(app, guild_id);
    let _turn = slot.turn.lock().await;
    let groups = {
        let mut conn = app.pool.acquire().await?;
        group::list(&mut conn, guild_id, None).await?
    };
    let message_id =
        messages::post(&app.http, channel_id, directory_message::CONTENT, directory_message::render(&groups))
            .await
            .map_err(DirectoryError::Discord)?;
    let message = DirectoryMessage { channel_id, message_id };
    let replaced = match remember(app, guild_id, actor, message).await {
        Ok(r) => r,
        Err(e) => {
            // Leave no message behind that nothing keeps current.
            if let Err(d) =
                messages::delete(&app.http, channel_id, message_id, "Guildhall: undoing a failed post").await
            {
                warn!(channel_id, message_id, error = %d, "could not remove a directory message after a failure");
            }
            return Err(e.into());
        }
    };
    if let Some(old) = replaced.filter(|o| o.message_id != message_id) {
        match messages::delete(&app.http, old.channel_id, old.message_id, "Guildhall: directory message moved").await {
            Ok(()) | Err(DiscordError::Unknown(..)) => {}
            Err(e) => warn!(channel_id = old.channel_id, error = %e, "could not delete the old directory message"),
        }
    }
    info!(guild_id, channel_id, message_id, "directory message posted");
    Ok(Posted { message, replaced })
}

async fn remember(
    app: &App,
    guild_id: u64,
    actor: u64,
    message: DirectoryMessage,
) -> Result<Option<DirectoryMessage>, sqlx::Error> {
    let mut tx = app.pool.begin().await?;
    let replaced = settings::replace_directory_message(&mut tx, guild_id, Some(message)).await?;
    config::record(&mut tx, guild_id, actor, "config.directory", &format!("<#{}>", message.channel_id)).await?;
    tx.commit().await?;
    Ok(replaced)
}

/// What removing did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Removed {
    pub message: DirectoryMessage,
    /// Discord refused the deletion (the message stays, no longer updated).
    pub left_behind: bool,
}

/// Delete the directory message and forget it.
pub async fn remove(app: &App, guild_id: u64, actor: u64) -> Result<Removed, DirectoryError> {
    let slot = slot(app, guild_id);
    let _turn = slot.turn.lock().await;
    let current = {
        let mut conn = app.pool.acquire().await?;
        settings::directory_message(&mut conn, guild_id).await?.ok_or(DirectoryError::NothingPosted)?
    };
    let left_behind =
        match messages::delete(&app.http, current.channel_id, current.message_id, "Guildhall: directory removed").await
        {
            Ok(()) | Err(DiscordError::Unknown(..)) => false,
            Err(e) if e.is_transient() => return Err(DirectoryError::Discord(e)),
            Err(e) => {
                warn!(guild_id, error = %e, "could not delete the directory message; forgetting it anyway");
                true
            }
        };
    let mut tx = app.pool.begin().await?;
    settings::forget_directory_message(&mut tx, guild_id, current.message_id).await?;
    config::record(&mut tx, guild_id, actor, "config.directory", "removed").await?;
    tx.commit().await?;
    Ok(Removed { message: current, left_behind })
}

/// Bring the directory message up to date with the groups as committed now.
/// Never fails its caller: a message or channel deleted by hand is forgotten
/// (an admin posts a new one), anything else is logged.
pub async fn refresh(app: &App, guild_id: u64) {
    let slot = slot(app, guild_id);
    if slot.queued.swap(true, Ordering::SeqCst) {
        // A refresh is already waiting and will read the database after our
        // caller's commit: it shows this change too.
        return;
    }
    // Whatever happens to this future while it waits, the flag is cleared.
    let waiting = Waiting(&slot.queued);
    let _turn = slot.turn.lock().await;
    drop(waiting);
    if let Err(e) = refresh_now(app, guild_id).await {
        warn!(guild_id, error = %e, "could not refresh the directory message");
    }
}

/// Clears `queued` once the waiting refresh has its turn (or is dropped).
struct Waiting<'a>(&'a AtomicBool);

impl Drop for Waiting<'_> {
    fn drop(&mut self) {
        self.0.store(false, Ordering::SeqCst);
    }
}

/// `refresh` in the background, for callers that should not wait for it.
pub fn spawn_refresh(app: &App, guild_id: u64) {
    let app = app.clone();
    tokio::spawn(async move { refresh(&app, guild_id).await });
}

async fn refresh_now(app: &App, guild_id: u64) -> Result<(), DirectoryError> {
    let (current, groups) = {
        let mut conn = app.pool.acquire().await?;
        let Some(current) = settings::directory_message(&mut conn, guild_id).await? else {
            return Ok(());
        };
        (current, group::list(&mut conn, guild_id, None).await?)
    };
    let embeds = directory_message::render(&groups);
    match messages::edit(&app.http, current.channel_id, current.message_id, directory_message::CONTENT, embeds).await {
        Ok(()) => Ok(()),
        Err(DiscordError::Unknown(what, code)) => {
            let mut conn = app.pool.acquire().await?;
            settings::forget_directory_message(&mut conn, guild_id, current.message_id).await?;
            info!(
                guild_id,
                channel_id = current.channel_id,
                message_id = current.message_id,
                what,
                code,
                "the directory message was deleted on Discord; forgot it until an admin posts a new one"
            );
            Ok(())
        }
        Err(e) => Err(DirectoryError::Discord(e)),
    }
}
