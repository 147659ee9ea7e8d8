//! Discord side effects, in one layer: every REST call the use cases make goes
//! through here, takes and returns plain ids, and fails with a `DiscordError`
//! that says what went wrong in terms the bot can act on (N5).
//!
//! Invariant: this layer knows serenity but not the database and not poise.

pub mod channels;
pub mod dm;
pub mod guild;
pub mod limiter;
pub mod messages;
pub mod meter;
pub mod notify;
pub mod provision;
pub mod review;
pub mod roles;

use serenity::all::{CreateAllowedMentions, Http, HttpError};
use std::future::Future;
use std::time::Duration;

/// What a failed Discord call means for the bot.
#[derive(Debug, thiserror::Error)]
pub enum DiscordError {
    /// 403 50013: the bot lacks a permission or the role is above its own.
    #[error("missing permissions (Discord code 50013)")]
    MissingPermissions,
    /// 403 50001.
    #[error("missing access (Discord code 50001)")]
    MissingAccess,
    /// 403 50007: the user does not accept DMs from the bot.
    #[error("the user does not accept direct messages")]
    DmsClosed,
    /// 404 with one of Discord's unknown-object codes.
    #[error("unknown {0} (Discord code {1})")]
    Unknown(&'static str, u64),
    /// 429 or 5xx that outlasted the retries.
    #[error("Discord is unavailable or rate limiting (status {0})")]
    Unavailable(u16),
    /// A request Discord refused for another reason.
    #[error("Discord refused the request: status {status}, code {code}: {message}")]
    Refused { status: u16, code: u64, message: String },
    #[error("network or client error: {0}")]
    Other(String),
}

impl DiscordError {
    pub fn from_serenity(e: &serenity::Error) -> DiscordError {
        if let serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) = e {
            let status = r.status_code.as_u16();
            let code = r.error.code as u64;
            return match (status, code) {
                (403, 50013) => DiscordError::MissingPermissions,
                (403, 50001) => DiscordError::MissingAccess,
                (403, 50007) => DiscordError::DmsClosed,
                (404, 10003) => DiscordError::Unknown("channel", code),
                (404, 10004) => DiscordError::Unknown("server", code),
                (404, 10007) => DiscordError::Unknown("member", code),
                (404, 10008) => DiscordError::Unknown("message", code),
                (404, 10011) => DiscordError::Unknown("role", code),
                (404, 10013) => DiscordError::Unknown("user", code),
                (404, _) => DiscordError::Unknown("object", code),
                (429, _) | (500..=599, _) => DiscordError::Unavailable(status),
                _ => DiscordError::Refused { status, code, message: r.error.message.clone() },
            };
        }
        DiscordError::Other(e.to_string())
    }

    /// Only rate limits and server errors are worth another try.
    pub fn is_transient(&self) -> bool {
        matches!(self, DiscordError::Unavailable(_))
    }
}

/// Run a Discord call, retrying transient failures (429, 5xx) a few times
/// with backoff; never retries a 403 or 404.
pub async fn call<T, F, Fut>(mut f: F) -> Result<T, DiscordError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, serenity::Error>>,
{
    let mut delay = Duration::from_millis(250);
    let mut attempt = 0;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                let err = DiscordError::from_serenity(&e);
                attempt += 1;
                if !err.is_transient() || attempt >= 4 {
                    return Err(err);
                }
                tracing::debug!(attempt, error = %err, "transient Discord failure, retrying");
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
    }
}

/// Allowed mentions for every message the bot sends: none (A6).
pub fn no_pings() -> CreateAllowedMentions {
    CreateAllowedMentions::new()
}

/// The parts of serenity's client the side-effect layer needs.
pub type DiscordHttp = std::sync::Arc<Http>;
