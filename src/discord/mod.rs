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
    /// A 429 asking to wait longer than `call` waits (`LONGEST_429_WAIT`
    /// in all): Discord, or the rate-limit proxy in front of it, is holding
    /// this route (or the bot) back for that long.
    #[error("rate limited by Discord or the rate-limit proxy for {:.1} s more, longer than the bot waits in a call", .0.as_secs_f64())]
    RateLimited(Duration),
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

    /// Only rate limits and server errors are worth another try (later, by
    /// the caller, for `RateLimited`: `call` has already given up).
    pub fn is_transient(&self) -> bool {
        matches!(self, DiscordError::Unavailable(_) | DiscordError::RateLimited(_))
    }
}

/// The most `call` waits in all for 429s' `retry_after` before it fails
/// with `DiscordError::RateLimited`.
pub const LONGEST_429_WAIT: Duration = Duration::from_secs(10);

/// When a failed call was a 429, how long it asked to wait: serenity's
/// error keeps only the status, so the request meter, which saw the answer,
/// remembers its `retry_after` by request (`meter::retry_after_of`).
fn asked_to_wait(e: &serenity::Error) -> Option<Duration> {
    match e {
        serenity::Error::Http(HttpError::UnsuccessfulRequest(r)) if r.status_code.as_u16() == 429 => {
            meter::retry_after_of(r.method.as_str(), &r.url)
        }
        _ => None,
    }
}

/// Run a Discord call, retrying transient failures (429, 5xx) a few times;
/// never retries a 403 or 404. A 5xx is retried after a backoff (250 ms,
/// doubling); a 429 after its `retry_after` (from a shared rate-limit proxy
/// or Discord: trying sooner only earns another 429, counted against the
/// bot's invalid requests), up to `LONGEST_429_WAIT` in all, past which it
/// fails with `DiscordError::RateLimited` rather than hold its caller.
pub async fn call<T, F, Fut>(mut f: F) -> Result<T, DiscordError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, serenity::Error>>,
{
    let mut delay = Duration::from_millis(250);
    let mut attempt = 0;
    let mut waited_for_429s = Duration::ZERO;
    loop {
        match f().await {
            Ok(v) => return Ok(v),
            Err(e) => {
                let err = DiscordError::from_serenity(&e);
                attempt += 1;
                if !err.is_transient() {
                    return Err(err);
                }
                let wait = match asked_to_wait(&e) {
                    Some(retry_after) => {
                        if waited_for_429s + retry_after > LONGEST_429_WAIT {
                            tracing::warn!(?retry_after, waited = ?waited_for_429s, "rate limited for longer than a call waits; giving up");
                            return Err(DiscordError::RateLimited(retry_after));
                        }
                        waited_for_429s += retry_after;
                        retry_after
                    }
                    None => delay,
                };
                if attempt >= 4 {
                    return Err(err);
                }
                tracing::debug!(attempt, ?wait, error = %err, "transient Discord failure, retrying");
                tokio::time::sleep(wait).await;
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
