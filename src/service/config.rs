//! Server configuration (A1): the admin role, the mod and requests channels
//! and the guidelines. Every change is audited as `config.<name>` with the
//! admin as actor.

use super::App;
use crate::discord::{channels, DiscordError};
use crate::domain::channels::{ChannelProblem, Use};
use crate::domain::settings::{self, Settings};
use crate::domain::{audit, text::TextError};

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Channel(#[from] ChannelProblem),
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("@everyone can't be the admin role: that would make everyone an admin.")]
    EveryoneRole,
    #[error("Discord refused to show me the channel: {0}")]
    Discord(DiscordError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Every setting of the server.
pub async fn show(app: &App, guild_id: u64) -> Result<Settings, sqlx::Error> {
    let mut conn = app.pool.acquire().await?;
    settings::get(&mut conn, guild_id).await
}

/// Set (or clear, with `None`) the role whose holders are admins.
pub async fn set_admin_role(app: &App, guild_id: u64, actor: u64, role: Option<u64>) -> Result<(), ConfigError> {
    if role == Some(guild_id) {
        return Err(ConfigError::EveryoneRole);
    }
    let mut tx = app.pool.begin().await?;
    settings::set_admin_role(&mut tx, guild_id, role).await?;
    let detail = role.map(|r| format!("<@&{r}>")).unwrap_or_else(|| "cleared".into());
    record(&mut tx, guild_id, actor, "config.admin-role", &detail).await?;
    tx.commit().await?;
    Ok(())
}

/// The channel settings that `/config` sets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChannelSetting {
    Mod,
    Requests,
}

impl ChannelSetting {
    fn action(self) -> &'static str {
        match self {
            ChannelSetting::Mod => "config.mod-channel",
            ChannelSetting::Requests => "config.requests-channel",
        }
    }

    fn usage(self) -> Use {
        match self {
            ChannelSetting::Mod => Use::Mod,
            ChannelSetting::Requests => Use::Requests,
        }
    }
}

/// Check that the bot can use `channel_id` for `what`: a text channel of
/// this server where it has what it does there (`Use::needs`: a requests
/// channel needs no Send Messages, only its threads' permissions).
pub async fn verify_channel(app: &App, guild_id: u64, channel_id: u64, what: Use) -> Result<(), ConfigError> {
    let facts = match channels::facts(&app.http, guild_id, channel_id, app.bot_id).await {
        Ok(f) => f,
        Err(DiscordError::Unknown(..)) => return Err(ChannelProblem::Gone.into()),
        Err(DiscordError::MissingAccess) => return Err(ChannelProblem::CantSee(channel_id).into()),
        Err(e) => return Err(ConfigError::Discord(e)),
    };
    crate::domain::channels::check(&facts, guild_id, what)?;
    Ok(())
}

/// Point a channel setting at `channel_id`, once the bot can use it there;
/// `None` clears it. A new mod channel gets the lead applications that were
/// waiting for one at once; returns how many were posted.
pub async fn set_channel(
    app: &App,
    guild_id: u64,
    actor: u64,
    which: ChannelSetting,
    channel_id: Option<u64>,
) -> Result<usize, ConfigError> {
    if let Some(id) = channel_id {
        verify_channel(app, guild_id, id, which.usage()).await?;
    }
    let mut tx = app.pool.begin().await?;
    match which {
        ChannelSetting::Mod => settings::set_mod_channel(&mut tx, guild_id, channel_id).await?,
        ChannelSetting::Requests => settings::set_requests_channel(&mut tx, guild_id, channel_id).await?,
    }
    let value = channel_id.map_or_else(|| "cleared".to_string(), |id| format!("<#{id}>"));
    record(&mut tx, guild_id, actor, which.action(), &value).await?;
    tx.commit().await?;
    if which == ChannelSetting::Mod && channel_id.is_some() {
        return Ok(super::lead::pending(app, guild_id).await?.reposted);
    }
    Ok(0)
}

/// Note the guidelines prompt `prompt` (the interaction that showed it) as
/// the newest shown to `user_id`: older prompts' *I agree* no longer acts.
pub async fn prompt_shown(app: &App, guild_id: u64, user_id: u64, prompt: u64) -> Result<(), sqlx::Error> {
    settings::prompt_shown(&mut *app.pool.acquire().await?, guild_id, user_id, prompt).await
}

/// Whether `prompt` is still the newest guidelines prompt shown to `user_id`.
pub async fn is_newest_prompt(app: &App, guild_id: u64, user_id: u64, prompt: u64) -> Result<bool, sqlx::Error> {
    settings::is_newest_prompt(&mut *app.pool.acquire().await?, guild_id, user_id, prompt).await
}

/// What saving the guidelines did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum GuidelinesChange {
    /// A new version members will be asked to accept.
    Saved(i32),
    /// The same text as the current version: nobody is asked again.
    Unchanged(i32),
}

/// Replace the guidelines with what an admin typed (M2): a new text bumps
/// the version, so members accept it again before their next join.
pub async fn set_guidelines(app: &App, guild_id: u64, actor: u64, raw: &str) -> Result<GuidelinesChange, ConfigError> {
    let text = settings::parse_guidelines(raw)?;
    let mut tx = app.pool.begin().await?;
    let current = settings::guidelines(&mut tx, guild_id).await?;
    if current.version > 0 && current.text == text {
        return Ok(GuidelinesChange::Unchanged(current.version));
    }
    let version = settings::set_guidelines(&mut tx, guild_id, &text).await?;
    record(&mut tx, guild_id, actor, "config.guidelines", &format!("version {version}")).await?;
    tx.commit().await?;
    Ok(GuidelinesChange::Saved(version))
}

/// An audit entry for a configuration change.
pub(crate) async fn record(
    conn: &mut sqlx::PgConnection,
    guild_id: u64,
    actor: u64,
    action: &str,
    detail: &str,
) -> Result<(), sqlx::Error> {
    audit::record(conn, &audit::Entry::guild(guild_id, action).actor(actor).detail(detail)).await
}

/// Set the reconciliation policy (A5), audited; returns the one before.
pub async fn set_reconcile_policy(
    app: &App,
    guild_id: u64,
    actor: u64,
    policy: crate::domain::reconcile::Policy,
) -> Result<crate::domain::reconcile::Policy, sqlx::Error> {
    use crate::domain::reconcile as rc;
    let mut tx = app.pool.begin().await?;
    let before = rc::policy(&mut tx, guild_id).await?;
    rc::set_policy(&mut tx, guild_id, policy).await?;
    audit::record(&mut tx, &audit::Entry::guild(guild_id, "config.reconcile_policy").actor(actor).detail(policy.key()))
        .await?;
    tx.commit().await?;
    Ok(before)
}

/// Whether returning members get their groups back (A5), audited.
pub async fn set_restore_returning(app: &App, guild_id: u64, actor: u64, on: bool) -> Result<(), sqlx::Error> {
    let mut tx = app.pool.begin().await?;
    crate::domain::reconcile::set_restore_returning(&mut tx, guild_id, on).await?;
    audit::record(
        &mut tx,
        &audit::Entry::guild(guild_id, "config.returning_members").actor(actor).detail(if on {
            "restore"
        } else {
            "don't restore"
        }),
    )
    .await?;
    tx.commit().await?;
    Ok(())
}
