//! Every Discord REST request goes through here: counted (O1) by route and
//! status, 429s by scope, invalid requests toward Discord's 10,000 per 10
//! minutes; and, when the bot talks to Discord itself, paced.
//!
//! serenity sends through the reqwest client it is given and exposes no
//! hook on responses (nor does reqwest have middleware), and a failed call
//! reaches the bot as an error without the response's headers, so a 429's
//! `X-RateLimit-Scope` is lost by then. So serenity is always given this
//! meter, a server on loopback, as its base URL (`HttpBuilder::proxy`), with
//! its own limiter off (it ignores a base URL: its requests would go to
//! discord.com over TLS, out of sight). The meter forwards each request to
//! the upstream as it is, reads the answer's status and rate-limit headers,
//! and passes the answer back unchanged. It sees every call: the use
//! cases', poise's (registration, autocomplete), serenity's own, and the DM
//! queue's plain sends.
//!
//! Upstream is either
//! - a base URL of the operator's (`DISCORD_API_BASE_URL`: a rate-limit
//!   proxy shared by several processes), which paces requests itself:
//!   forwarded at once; or
//! - Discord itself: paced here, in place of serenity's limiter: per route
//!   by twilight-http-ratelimiting's `RateLimiter` (buckets learnt from
//!   `X-RateLimit-Bucket` / `-Limit` / `-Remaining` / `-Reset-After`, one
//!   request of a bucket in flight at a time), then under the global limit
//!   by this process's share of Discord's 50 requests a second
//!   (`REST_RATE_PER_SEC`, a `GlobalLimiter` with a small burst,
//!   `limiter::rest_burst`: twilight's
//!   own counts fixed seconds from the first request, and Discord counts
//!   its seconds from when requests arrive, so two bursts a second apart
//!   on the bot's side could land in one of Discord's). Interaction
//!   responses are not paced at all (see `endpoint`). A 429 that still
//!   comes back is waited out and sent again (a few times, as serenity's
//!   limiter did) before it is handed back; a global one pauses every
//!   request of the process, slots already handed out too.

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::time::Duration;

/// The largest body forwarded (Discord's request limit is 25 MiB).
const MAX_BODY: usize = 32 * 1024 * 1024;

/// Headers of one hop only (RFC 9110 7.6.1), never forwarded.
fn hop_by_hop(name: &HeaderName) -> bool {
    matches!(
        name.as_str(),
        "connection"
            | "keep-alive"
            | "proxy-authenticate"
            | "proxy-authorization"
            | "proxy-connection"
            | "te"
            | "trailer"
            | "transfer-encoding"
            | "upgrade"
            | "host"
            | "content-length"
    )
}

/// Where the meter sends requests.
#[derive(Clone)]
pub struct Upstream {
    /// `http(s)://host[:port]`, no trailing slash; requests keep their path.
    base: String,
    /// Where interaction responses go when `base` is a proxy: Discord
    /// itself. They are not bound by the global limit and each has its own
    /// bucket (rate-limits.md), so a shared proxy only delays them, and one
    /// that keys every interaction webhook of the application as one bucket
    /// (@discordjs/proxy) refuses them when many are answered at once.
    interactions: Option<String>,
    /// `Some` when nothing upstream paces requests for us (Discord itself).
    limiter: Option<Pacing>,
    client: reqwest::Client,
}

/// Pacing for Discord itself: per route, then global.
#[derive(Clone)]
struct Pacing {
    routes: twilight_http_ratelimiting::RateLimiter,
    global: std::sync::Arc<crate::discord::limiter::GlobalLimiter>,
}

impl Upstream {
    /// A proxy: it paces requests; interaction responses go to Discord
    /// itself at `origin`.
    pub fn paced_there(base: &str, origin: &str) -> Upstream {
        Upstream { interactions: Some(origin.trim_end_matches('/').to_string()), ..Upstream::new(base, None) }
    }

    /// Discord itself (`https://discord.com`, or a test's stand-in): paced
    /// here, at `rate` requests a second at most (this process's share of
    /// the global limit).
    pub fn paced_here(base: &str, rate: u32) -> Upstream {
        let global = crate::discord::limiter::GlobalLimiter::per_second_with_burst(
            rate,
            crate::discord::limiter::rest_burst(rate),
        );
        // twilight's own global count stays out of the way: the share above
        // is the global pacing (it counts a second from the first request,
        // which a burst a second later can overrun on Discord's side).
        let routes = twilight_http_ratelimiting::RateLimiter::new(u16::MAX);
        Upstream::new(base, Some(Pacing { routes, global: std::sync::Arc::new(global) }))
    }

    fn new(base: &str, limiter: Option<Pacing>) -> Upstream {
        let client = reqwest::Client::builder().no_proxy().build().expect("a plain HTTP client builds");
        Upstream { base: base.trim_end_matches('/').to_string(), interactions: None, client, limiter }
    }
}

/// How many times a 429 is waited out and sent again before it is handed
/// back, and the longest wait the meter takes on itself.
const RETRIES_ON_429: usize = 3;
const LONGEST_WAIT: Duration = Duration::from_secs(10);

/// The `retry_after` of the 429s the meters handed back, by request as
/// serenity sent it (method, `http://{meter}{path}`), with when it was
/// handed back: serenity's error keeps the status and the URL but neither
/// the body nor the headers, so `discord::call` asks here how long to wait
/// (`retry_after_of`). Each meter has its own port, so processes (or bots
/// in one test process) never read each other's.
static HANDED_BACK_429S: std::sync::LazyLock<std::sync::Mutex<HandedBack>> = std::sync::LazyLock::new(Default::default);

/// (method, URL) -> (when the 429 was handed back, its `retry_after`).
type HandedBack = std::collections::HashMap<(String, String), (std::time::Instant, Duration)>;

/// How long the 429 just handed back for this request asked to wait (what
/// is left of it); forgotten once read. `None` for a request the meter
/// answered no 429 to lately.
pub fn retry_after_of(method: &str, url: &str) -> Option<Duration> {
    let mut seen = HANDED_BACK_429S.lock().unwrap_or_else(|e| e.into_inner());
    let (at, wait) = seen.remove(&(method.to_string(), url.to_string()))?;
    let left = wait.saturating_sub(at.elapsed());
    // An entry older than its wait by far belongs to a request nobody retried.
    seen.retain(|_, (at, wait)| at.elapsed() < *wait + Duration::from_secs(60));
    Some(left)
}

fn remember_429(method: &str, url: String, wait: Duration) {
    let mut seen = HANDED_BACK_429S.lock().unwrap_or_else(|e| e.into_inner());
    seen.insert((method.to_string(), url), (std::time::Instant::now(), wait));
}

#[derive(Clone)]
struct Meter {
    up: Upstream,
    /// This meter's own address: serenity's URLs start with it.
    addr: SocketAddr,
}

/// Serve the meter on a free loopback port until `stop` turns true; returns
/// its address: serenity's base URL is `http://{address}`.
pub async fn start(
    upstream: Upstream,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
    let app = axum::Router::new().fallback(forward).with_state(Meter { up: upstream, addr });
    let task = tokio::spawn(async move {
        let shutdown = async move {
            while !*stop.borrow() {
                if stop.changed().await.is_err() {
                    break;
                }
            }
        };
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            tracing::warn!(error = %e, "the Discord request meter stopped");
        }
    });
    Ok((addr, task))
}

/// The endpoint the limiter keys buckets by: the path after `/api/v10/`,
/// without the query. `None` for interaction responses and their webhook
/// (follow-ups, edits of `@original`): Discord does not hold them to the
/// global limit, and they must not queue behind each other (the limiter
/// lets one request of a queue fly at a time, and interactions share one):
/// a person is waiting on each, within 3 seconds.
fn endpoint(method: &axum::http::Method, path: &str) -> Option<twilight_http_ratelimiting::Endpoint> {
    use twilight_http_ratelimiting::Method as M;
    let method = match *method {
        axum::http::Method::GET => M::Get,
        axum::http::Method::POST => M::Post,
        axum::http::Method::PUT => M::Put,
        axum::http::Method::PATCH => M::Patch,
        axum::http::Method::DELETE => M::Delete,
        _ => return None,
    };
    let path = path.split('?').next().unwrap_or(path);
    let path = path.trim_start_matches('/');
    let path = path.strip_prefix("api/").map(|p| p.split_once('/').map_or("", |(_, rest)| rest)).unwrap_or(path);
    if path.starts_with("interactions/") || path.starts_with("webhooks/") {
        return None;
    }
    // The top-level resource (`channels/{id}`, `guilds/{id}`) is kept: a
    // bucket counts per resource. Every other id is one endpoint: the grant
    // of a role to each member is one route, not a thousand, so the limiter
    // learns its bucket once and queues them together, instead of sending
    // each as a new, unknown endpoint beside the known bucket's queue.
    let path = path
        .split('/')
        .enumerate()
        .map(|(i, seg)| if i >= 2 && !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit()) { "{id}" } else { seg })
        .collect::<Vec<_>>()
        .join("/");
    Some(twilight_http_ratelimiting::Endpoint { method, path })
}

fn header<'a>(h: &'a reqwest::header::HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

/// What an answer's headers tell the limiter about its bucket (topics/
/// rate-limits, "Header Format"): a shared-scope 429 exhausts the bucket
/// for its `Retry-After` without counting against the bot.
fn bucket_of(status: u16, h: &reqwest::header::HeaderMap) -> Option<twilight_http_ratelimiting::RateLimitHeaders> {
    let bucket = header(h, "x-ratelimit-bucket")?.as_bytes().to_vec();
    if status == 429 && header(h, "x-ratelimit-scope") == Some("shared") {
        let retry = header(h, "retry-after").and_then(|v| v.parse::<f64>().ok()).unwrap_or(1.0);
        return Some(twilight_http_ratelimiting::RateLimitHeaders::shared(
            bucket,
            retry.ceil().min(u16::MAX as f64) as u16,
        ));
    }
    let limit = header(h, "x-ratelimit-limit")?.parse().ok()?;
    let remaining = header(h, "x-ratelimit-remaining")?.parse().ok()?;
    let reset_after: f64 = header(h, "x-ratelimit-reset-after")?.parse().ok()?;
    let reset_at = std::time::Instant::now() + Duration::from_secs_f64(reset_after.max(0.0));
    Some(twilight_http_ratelimiting::RateLimitHeaders { bucket, limit, remaining, reset_at })
}

/// How long a 429 asks to wait: its body's `retry_after`, else `Retry-After`.
fn retry_after(h: &reqwest::header::HeaderMap, body: &[u8]) -> Duration {
    let from_body = serde_json::from_slice::<serde_json::Value>(body).ok().and_then(|v| v["retry_after"].as_f64());
    let secs = from_body.or_else(|| header(h, "retry-after").and_then(|v| v.parse().ok())).unwrap_or(1.0);
    Duration::from_secs_f64(secs.clamp(0.0, 3600.0))
}

async fn forward(State(Meter { up, addr }): State<Meter>, req: Request) -> Response {
    let path = req.uri().path_and_query().map_or_else(|| req.uri().path().to_string(), |p| p.as_str().to_string());
    let base = match &up.interactions {
        Some(origin) if endpoint(req.method(), &path).is_none() => origin,
        _ => &up.base,
    };
    let url = format!("{base}{path}");
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => return (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()).into_response(),
    };
    let mut attempt = 0;
    loop {
        let permit = match (&up.limiter, endpoint(&parts.method, &path)) {
            (Some(pacing), Some(e)) => {
                let permit = pacing.routes.acquire(e).await;
                pacing.global.acquire().await;
                Some(permit)
            }
            _ => None,
        };
        let mut out = up.client.request(parts.method.clone(), &url).body(body.clone());
        for (k, v) in parts.headers.iter().filter(|(k, _)| !hop_by_hop(k)) {
            out = out.header(k, v);
        }
        let answer = match out.send().await {
            Ok(a) => a,
            Err(e) => {
                if let Some(p) = permit {
                    p.complete(None);
                }
                tracing::debug!(error = %e, "Discord could not be reached");
                return (StatusCode::BAD_GATEWAY, e.to_string()).into_response();
            }
        };
        let status = answer.status();
        let headers = answer.headers().clone();
        if let Some(p) = permit {
            p.complete(bucket_of(status.as_u16(), &headers));
        }
        let scope = header(&headers, "x-ratelimit-scope");
        let global = header(&headers, "x-ratelimit-global") == Some("true");
        crate::telemetry::discord_response(parts.method.as_str(), parts.uri.path(), status.as_u16(), scope, global);
        let bytes = match answer.bytes().await {
            Ok(b) => b,
            Err(e) => return (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
        };
        if let (429, Some(pacing)) = (status.as_u16(), &up.limiter) {
            if global {
                pacing.global.pause(retry_after(&headers, &bytes));
            }
        }
        if status.as_u16() == 429 && up.limiter.is_some() && attempt < RETRIES_ON_429 {
            let wait = retry_after(&headers, &bytes);
            if wait <= LONGEST_WAIT {
                attempt += 1;
                tracing::debug!(?wait, attempt, route = %crate::telemetry::route_of(&path), "rate limited: waiting it out");
                tokio::time::sleep(wait).await;
                continue;
            }
        }
        if status.as_u16() == 429 {
            remember_429(parts.method.as_str(), format!("http://{addr}{path}"), retry_after(&headers, &bytes));
        }
        let mut back = Response::builder().status(status.as_u16());
        for (k, v) in headers.iter().filter(|(k, _)| !hop_by_hop(k)) {
            back = back.header(k, v);
        }
        return back.body(Body::from(bytes)).unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::Method;

    fn headers(pairs: &[(&'static str, &str)]) -> reqwest::header::HeaderMap {
        let mut h = reqwest::header::HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn the_limiter_keys_by_the_api_path_and_never_holds_interaction_answers() {
        let e = endpoint(&Method::POST, "/api/v10/channels/12/messages?wait=true").unwrap();
        assert_eq!(e.path, "channels/12/messages");
        assert_eq!(e.method, twilight_http_ratelimiting::Method::Post);
        assert_eq!(
            endpoint(&Method::PUT, "/api/v10/guilds/1/members/2/roles/3").unwrap().path,
            "guilds/1/members/{id}/roles/{id}",
            "one endpoint for every member and role, in guild 1"
        );
        assert_eq!(endpoint(&Method::GET, "/api/v10/users/@me/guilds").unwrap().path, "users/@me/guilds");
        assert!(endpoint(&Method::POST, "/api/v10/interactions/9/tok/callback").is_none());
        assert!(endpoint(&Method::PATCH, "/api/v10/webhooks/1/tok/messages/@original").is_none());
        assert!(endpoint(&Method::OPTIONS, "/api/v10/gateway/bot").is_none());
    }

    #[test]
    fn a_bucket_is_read_from_discords_headers_and_a_shared_429_exhausts_it() {
        let ok = headers(&[
            ("x-ratelimit-bucket", "abcd"),
            ("x-ratelimit-limit", "5"),
            ("x-ratelimit-remaining", "0"),
            ("x-ratelimit-reset-after", "1.5"),
        ]);
        let b = bucket_of(200, &ok).unwrap();
        assert_eq!((b.bucket.as_slice(), b.limit, b.remaining), (&b"abcd"[..], 5, 0));
        let wait = b.reset_at.saturating_duration_since(std::time::Instant::now());
        assert!(wait > Duration::from_millis(1000) && wait <= Duration::from_millis(1500), "{wait:?}");
        let shared = headers(&[("x-ratelimit-bucket", "abcd"), ("x-ratelimit-scope", "shared"), ("retry-after", "3")]);
        let b = bucket_of(429, &shared).unwrap();
        assert_eq!((b.limit, b.remaining), (0, 0), "exhausted until its Retry-After");
        assert!(bucket_of(200, &headers(&[("x-ratelimit-limit", "5")])).is_none(), "no bucket, nothing learnt");
        let body = br#"{"message": "You are being rate limited.", "retry_after": 0.25, "global": false}"#;
        assert_eq!(retry_after(&headers(&[("retry-after", "1")]), body), Duration::from_millis(250));
        assert_eq!(retry_after(&headers(&[("retry-after", "2")]), b"not json"), Duration::from_secs(2));
    }
}
