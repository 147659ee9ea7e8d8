//! Counting every Discord REST answer (O1): by route and status, 429s by
//! scope, invalid requests toward Discord's 10,000 per 10 minutes.
//!
//! serenity sends through the reqwest client it is given and exposes no
//! hook on responses (nor does reqwest have middleware), and a failed
//! call reaches the bot as an error without the response's headers, so
//! a 429's `X-RateLimit-Scope` is lost by then. When the bot talks to a
//! base URL of its own (`DISCORD_API_BASE_URL`: a shared rate-limit proxy,
//! or the fake Discord), serenity's limiter is off and requests are plain
//! HTTP; the client handed to serenity then sends them through this meter,
//! an HTTP proxy on loopback (reqwest's own proxy support, so serenity is
//! unchanged), which forwards each request as it is, reads the answer's
//! status and rate-limit headers, and passes the answer back unchanged. It
//! sees every call: the use cases', poise's (registration, autocomplete),
//! serenity's own.
//!
//! Talking to discord.com directly, serenity's limiter makes the requests
//! itself, over TLS, ignoring any proxy: there only what its rate-limit
//! callback reports is counted (`telemetry::ratelimited`).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;

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

/// Serve the meter on a free loopback port until `stop` turns true; returns
/// the address to give reqwest as its HTTP proxy.
pub async fn start(
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    let client = reqwest::Client::builder().no_proxy().build().map_err(std::io::Error::other)?;
    let app = axum::Router::new().fallback(forward).with_state(client);
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let addr = listener.local_addr()?;
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

/// The client to hand serenity: plain HTTP requests go through the meter
/// (and no system proxy is used).
pub fn client(meter: SocketAddr) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder().proxy(reqwest::Proxy::http(format!("http://{meter}"))?).build()
}

async fn forward(State(client): State<reqwest::Client>, req: Request) -> Response {
    // A proxied request names its whole URL (absolute form).
    let url = req.uri().to_string();
    if req.uri().scheme().is_none() {
        return (StatusCode::BAD_REQUEST, "the meter only forwards proxied requests").into_response();
    }
    let (parts, body) = req.into_parts();
    let body = match axum::body::to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(e) => return (StatusCode::PAYLOAD_TOO_LARGE, e.to_string()).into_response(),
    };
    let mut out = client.request(parts.method.clone(), &url).body(body);
    for (k, v) in parts.headers.iter().filter(|(k, _)| !hop_by_hop(k)) {
        out = out.header(k, v);
    }
    let answer = match out.send().await {
        Ok(a) => a,
        Err(e) => {
            tracing::debug!(error = %e, "Discord could not be reached");
            return (StatusCode::BAD_GATEWAY, e.to_string()).into_response();
        }
    };
    let status = answer.status();
    let header = |n: &str| answer.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_string);
    let scope = header("x-ratelimit-scope");
    let global = header("x-ratelimit-global").is_some_and(|g| g == "true");
    crate::telemetry::discord_response(
        parts.method.as_str(),
        parts.uri.path(),
        status.as_u16(),
        scope.as_deref(),
        global,
    );
    let mut back = Response::builder().status(status.as_u16());
    for (k, v) in answer.headers().iter().filter(|(k, _)| !hop_by_hop(k)) {
        back = back.header(k, v);
    }
    match answer.bytes().await {
        Ok(bytes) => back.body(Body::from(bytes)).unwrap_or_else(|_| StatusCode::BAD_GATEWAY.into_response()),
        Err(e) => (StatusCode::BAD_GATEWAY, e.to_string()).into_response(),
    }
}
