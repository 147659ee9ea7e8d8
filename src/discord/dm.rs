//! Direct messages for the notification queue (S5).
//!
//! The DM itself is sent with a plain HTTP request rather than serenity's
//! builder because the queue needs what serenity's error drops: a 429's
//! `retry_after` (body, or the `Retry-After` header) and the route's
//! `X-RateLimit-Remaining` / `X-RateLimit-Reset-After`, to pace the next
//! send. Each DM carries a `nonce` with `enforce_nonce: true`: Discord
//! returns the first message when the same nonce is sent again within a few
//! minutes, so a retry after a lost answer does not post twice.

use super::{call, DiscordError, DiscordHttp};
use serenity::all::UserId;
use std::sync::OnceLock;
use std::time::Duration;

/// How a send ended.
#[derive(Debug)]
pub enum SendOutcome {
    /// Delivered (or already delivered under this nonce): the message id,
    /// and how long to wait before the next send when the route's bucket
    /// is empty.
    Sent { message_id: u64, pace: Option<Duration> },
    /// 429: wait this long, then try again.
    RateLimited { retry_after: Duration, global: bool },
    /// 5xx or a network error: worth another try later.
    Transient(String),
    /// 403 50007: the user does not accept DMs from the bot.
    DmsClosed,
    /// Another 403, or a 404: not what Discord answers a DM that can be
    /// sent, but not proof that none ever will be either (a permission
    /// lost for a while, a DM channel Discord no longer knows): retried a
    /// few times with backoff (`REFUSED_ATTEMPTS`), then failed.
    Refused(String),
    /// Anything else (a 400, ...): never retried.
    Failed(String),
}

fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        // Discord asks every client for a `DiscordBot (url, version)` user
        // agent (without one Cloudflare may block the request: 40333).
        reqwest::Client::builder()
            .user_agent(serenity::constants::USER_AGENT)
            .no_proxy()
            .timeout(Duration::from_secs(15))
            .build()
            .expect("a plain HTTP client builds")
    })
}

/// The DM channel with a user (Create DM); Discord returns the same channel
/// every time, so callers keep it.
pub async fn open(http: &DiscordHttp, user_id: u64) -> Result<u64, DiscordError> {
    let ch = call(|| UserId::new(user_id).create_dm_channel(http.as_ref())).await?;
    Ok(ch.id.get())
}

fn header_secs(h: &reqwest::header::HeaderMap, name: &str) -> Option<f64> {
    h.get(name).and_then(|v| v.to_str().ok()).and_then(|s| s.parse::<f64>().ok())
}

/// Send `content` in the DM channel once: no retries here (the queue
/// decides), pings nobody, `nonce` de-duplicates a resend.
pub async fn send(http: &DiscordHttp, channel_id: u64, content: &str, nonce: &str) -> SendOutcome {
    let base = http.proxy.clone().unwrap_or_else(|| "https://discord.com".to_string());
    let url = format!("{}/api/v10/channels/{channel_id}/messages", base.trim_end_matches('/'));
    let body = serde_json::json!({
        "content": content,
        "nonce": nonce,
        "enforce_nonce": true,
        "allowed_mentions": {"parse": []},
    });
    let resp = match client().post(&url).header("Authorization", http.token()).json(&body).send().await {
        Ok(r) => r,
        Err(e) => return SendOutcome::Transient(format!("network: {e}")),
    };
    let status = resp.status().as_u16();
    let headers = resp.headers().clone();
    let json: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
    match status {
        200..=299 => {
            let Some(id) = json["id"].as_str().and_then(|s| s.parse().ok()) else {
                return SendOutcome::Transient("a message without an id".into());
            };
            let pace = (header_secs(&headers, "x-ratelimit-remaining") == Some(0.0))
                .then(|| header_secs(&headers, "x-ratelimit-reset-after"))
                .flatten()
                .map(Duration::from_secs_f64);
            SendOutcome::Sent { message_id: id, pace }
        }
        429 => {
            let secs = json["retry_after"].as_f64().or_else(|| header_secs(&headers, "retry-after")).unwrap_or(1.0);
            let global = json["global"].as_bool().unwrap_or(false)
                || headers.get("x-ratelimit-global").is_some_and(|v| v.as_bytes() == b"true");
            SendOutcome::RateLimited { retry_after: Duration::from_secs_f64(secs.max(0.0)), global }
        }
        500..=599 => SendOutcome::Transient(format!("status {status}")),
        403 if json["code"].as_u64() == Some(50007) => SendOutcome::DmsClosed,
        403 | 404 => SendOutcome::Refused(format!("status {status}, code {}: {}", json["code"], json["message"])),
        _ => SendOutcome::Failed(format!("status {status}, code {}: {}", json["code"], json["message"])),
    }
}
