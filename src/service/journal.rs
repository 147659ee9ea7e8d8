//! What a use case changed on Discord so far, so that a later failure can
//! put it back (N5). Steps are undone newest first, best effort: an undo that
//! fails is logged, since the person acting already gets the first error.

use super::App;
use crate::discord::provision::{self, ChannelEdit, ChannelState};
use crate::discord::DiscordError;
use crate::domain::leftover::{self, Kind, Leftover};
use serenity::all::PermissionOverwrite;
use tracing::warn;

/// One change on Discord and how to take it back.
#[derive(Debug)]
pub enum Undo {
    /// A role the use case made.
    DeleteRole { guild_id: u64, role_id: u64 },
    /// A channel or category the use case made.
    DeleteChannel { guild_id: u64, channel_id: u64 },
    /// An overwrite the use case set: put `before` back (or remove it).
    Overwrite { channel_id: u64, target: u64, before: Option<PermissionOverwrite> },
    /// A channel edit, as its reverse.
    EditChannel { channel_id: u64, reverse: ChannelEdit },
    /// A role the use case renamed, with its old name.
    RenameRole { guild_id: u64, role_id: u64, name: String },
    /// A role the use case gave a member.
    RevokeRole { guild_id: u64, user_id: u64, role_id: u64 },
    /// A bucket's first category, remembered in Postgres as soon as it was
    /// made (no transaction waits on Discord): forgotten again.
    ForgetCategory { category_id: u64 },
}

#[derive(Debug, Default)]
pub struct Journal {
    steps: Vec<Undo>,
}

impl Journal {
    pub fn push(&mut self, step: Undo) {
        self.steps.push(step);
    }

    pub fn is_empty(&self) -> bool {
        self.steps.is_empty()
    }

    /// Undo every step, newest first.
    pub async fn undo(self, app: &App, reason: &str) {
        for step in self.steps.into_iter().rev() {
            let result = match &step {
                Undo::DeleteRole { guild_id, role_id } => {
                    provision::delete_role(&app.http, *guild_id, *role_id, reason).await
                }
                Undo::DeleteChannel { channel_id, .. } => {
                    provision::delete_channel(&app.http, *channel_id, reason).await
                }
                Undo::ForgetCategory { category_id } => {
                    let forgot = async {
                        crate::domain::group::forget_category(&mut *app.pool.acquire().await?, *category_id).await
                    };
                    if let Err(e) = forgot.await {
                        warn!(category_id, error = %e, "could not forget a bucket category made for nothing");
                    }
                    Ok(())
                }
                Undo::Overwrite { channel_id, before: Some(o), .. } => {
                    provision::put_overwrite(&app.http, *channel_id, o, reason).await
                }
                Undo::Overwrite { channel_id, target, before: None } => {
                    provision::delete_overwrite(&app.http, *channel_id, *target, reason).await
                }
                Undo::EditChannel { channel_id, reverse } => {
                    provision::edit_channel(&app.http, *channel_id, reverse, reason).await
                }
                Undo::RenameRole { guild_id, role_id, name } => {
                    provision::rename_role(&app.http, *guild_id, *role_id, name, reason).await
                }
                Undo::RevokeRole { guild_id, user_id, role_id } => {
                    crate::discord::roles::revoke(&app.http, *guild_id, *user_id, *role_id, reason).await
                }
            };
            if let Err(e) = result {
                warn!(?step, error = %e, "could not undo a Discord change; Discord and the database may disagree");
                // A role or channel made for nothing: deleted again by the
                // background pass until Discord says it is gone.
                let made = match &step {
                    Undo::DeleteRole { guild_id, role_id } => Some((*guild_id, *role_id, Kind::Role)),
                    Undo::DeleteChannel { guild_id, channel_id } => Some((*guild_id, *channel_id, Kind::Channel)),
                    _ => None,
                };
                if let Some((guild_id, object_id, kind)) = made {
                    let l = Leftover { guild_id, object_id, kind, reason: reason.to_string() };
                    if let Ok(mut conn) = app.pool.acquire().await {
                        let _ = leftover::remember(&mut conn, &l).await;
                    }
                }
            }
        }
    }
}

/// Make the overwrites of @everyone, the group role and the bot on a
/// channel what `wanted` says, leaving every other overwrite (leaders',
/// moderators', ones an admin set by hand) alone. The bot's own overwrite
/// goes first, @everyone's last, so that hiding a channel from @everyone never hides it from
/// the bot half-way. Each change is journalled as it succeeds.
pub async fn sync_overwrites(
    app: &App,
    channel: &ChannelState,
    wanted: &[PermissionOverwrite],
    reason: &str,
    journal: &mut Journal,
) -> Result<(), DiscordError> {
    let mut ordered: Vec<&PermissionOverwrite> = wanted.iter().rev().collect();
    ordered.sort_by_key(|o| provision::overwrite_target(o) != app.bot_id);
    for o in ordered {
        let target = provision::overwrite_target(o);
        let before = channel.overwrite_for(target).cloned();
        if before.as_ref() == Some(o) {
            continue;
        }
        provision::put_overwrite(&app.http, channel.id, o, reason).await?;
        journal.push(Undo::Overwrite { channel_id: channel.id, target, before });
    }
    Ok(())
}
