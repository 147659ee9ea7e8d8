//! `/health` (A4): read this server's set-up from Discord (the bot's
//! permissions, roles and channels) and from Postgres (its groups, settings,
//! last reconcile, DM queue, join requests and the Discord changes being
//! retried), and examine it
//! (`domain::health`). It changes nothing, and reads nothing of another
//! server.

use super::App;
use crate::discord::{channels, DiscordError};
use crate::domain::health::{self, Configured, Facts};
use crate::domain::{settings, sla};

#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    #[error("Discord refused to show me the server: {0}")]
    Discord(DiscordError),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

pub use crate::domain::health::Checked;

/// Check the server. `latency`: the gateway's, as the shard last measured it.
pub async fn check(app: &App, guild_id: u64, latency: Option<std::time::Duration>) -> Result<Checked, HealthError> {
    let server = channels::survey(&app.http, guild_id, app.bot_id).await.map_err(HealthError::Discord)?;
    let now = app.clock.now();
    let mut conn = app.pool.acquire().await?;
    let s = settings::get(&mut conn, guild_id).await?;
    let sla = sla::get(&mut conn, guild_id).await?;
    let facts = Facts {
        server,
        groups: health::groups(&mut conn, guild_id).await?,
        buckets: health::buckets(&mut conn, guild_id).await?,
        configured: Configured {
            mod_channel: s.mod_channel_id,
            requests_channel: s.requests_channel_id,
            directory_channel: s.directory.map(|d| d.channel_id),
        },
        last_run: health::newest_run(&mut conn, guild_id).await?,
        queue: health::queue(&mut conn, guild_id, now).await?,
        requests: health::requests(&mut conn, guild_id, sla, now).await?,
        retries: health::retries(&mut conn, guild_id).await?,
        role_queue: {
            let d = crate::domain::role_sync::depth(&mut conn, Some(guild_id), now).await?;
            health::RoleQueue {
                waiting: d.waiting,
                oldest_seconds: d.oldest_seconds,
                per_second: app.applier.per_second(),
            }
        },
        latency_ms: latency.filter(|d| !d.is_zero()).map(|d| d.as_millis() as u64),
        now,
    };
    let findings = health::examine(&facts);
    Ok(Checked { facts, findings })
}
