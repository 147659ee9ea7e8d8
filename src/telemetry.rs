//! Operating the bot (O1): Prometheus metrics, `/healthz`, `/readyz`, and
//! the one structured log line per interaction.
//!
//! Counters and histograms are recorded with the `metrics` facade where
//! things happen (interactions, gateway sessions, 429s); gauges that are a
//! fact about Postgres or the shards (the DM queue, the pool, latency) are
//! read when `/metrics` is scraped, so they are never stale. The recorder is
//! process-wide (`metrics` has one global recorder): two bots in one process,
//! as in the scenario tests, share their counters.
//!
//! Not measured: Discord REST calls by route and status (serenity sends
//! through its own reqwest client and exposes no hook for every response),
//! and invalid requests toward Discord's 10,000-per-10-minutes limit for
//! the same reason; 429s are counted from serenity's rate-limit callback,
//! which only runs when serenity's own rate limiter is on (no proxy).

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use serenity::all::ShardManager;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// How long `/readyz` waits for Postgres before it calls the bot unready.
pub const READY_DB_TIMEOUT: Duration = Duration::from_secs(2);

/// Interactions' handling time buckets, in seconds (Discord wants the first
/// callback within 3 s).
const BUCKETS: &[f64] = &[0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0];

/// The process's recorder, installed on first use.
pub fn handle() -> &'static PrometheusHandle {
    static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();
    HANDLE.get_or_init(|| {
        let recorder =
            PrometheusBuilder::new().set_buckets(BUCKETS).expect("the buckets are not empty").build_recorder();
        let handle = recorder.handle();
        // Fails only when another recorder is installed; ours then records nothing.
        if metrics::set_global_recorder(recorder).is_err() {
            tracing::warn!("a metrics recorder was already installed");
        }
        metrics::describe_counter!(
            "guildhall_interactions_total",
            "Interactions handled, by kind, command and outcome."
        );
        metrics::describe_histogram!(
            "guildhall_interaction_duration_seconds",
            "Time from the handler's start to its answer, by kind and command."
        );
        metrics::describe_counter!("guildhall_gateway_sessions_total", "Gateway sessions started (READY), by shard.");
        metrics::describe_counter!("guildhall_gateway_resumes_total", "Gateway sessions resumed, by shard.");
        metrics::describe_counter!("guildhall_discord_ratelimited_total", "429s from Discord, by scope and route.");
        handle
    })
}

/// How an interaction ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Done as asked.
    Ok,
    /// Refused with a message for the user (no permission, not allowed, unknown group...).
    Refused,
    /// Options or input that could not be read.
    BadInput,
    /// Failed on the bot's side (a generic error was shown).
    Error,
}

impl Outcome {
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Refused => "refused",
            Outcome::BadInput => "bad_input",
            Outcome::Error => "error",
        }
    }

    /// The outcome of a handler that returned `r`.
    pub fn of<T>(r: &Result<T, crate::types::Error>) -> Outcome {
        match r {
            Ok(_) => Outcome::Ok,
            Err(e) if e.downcast_ref::<crate::error::UserError>().is_some() => Outcome::Refused,
            Err(_) => Outcome::Error,
        }
    }
}

/// Record one interaction: the counter, the histogram and one log line.
/// `kind` is "command", "component" or "modal"; `name` the command's
/// qualified name or the custom id's kind (never the id's numbers, so the
/// labels stay few).
pub fn interaction(kind: &'static str, name: &str, outcome: Outcome, elapsed: Duration) {
    handle();
    let labels = [("kind", kind.to_string()), ("command", name.to_string()), ("outcome", outcome.as_str().to_string())];
    metrics::counter!("guildhall_interactions_total", &labels).increment(1);
    let labels = [("kind", kind.to_string()), ("command", name.to_string())];
    metrics::histogram!("guildhall_interaction_duration_seconds", &labels).record(elapsed.as_secs_f64());
    tracing::info!(
        target: "guildhall::interaction",
        kind,
        command = name,
        outcome = outcome.as_str(),
        elapsed_ms = elapsed.as_secs_f64() * 1000.0,
        "interaction"
    );
}

/// The name of a custom id for the labels: what comes before its first
/// separator after the `gh:` prefix (`gh:join:12` → `join`), letters,
/// digits, `-` and `_` only.
pub fn custom_id_kind(custom_id: &str) -> String {
    let rest = custom_id.strip_prefix("gh:").unwrap_or(custom_id);
    let head = rest.split(':').next().unwrap_or("");
    let ok =
        !head.is_empty() && head.len() <= 32 && head.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if ok {
        head.to_string()
    } else {
        "unknown".to_string()
    }
}

/// When a poise command started, kept in its invocation data.
#[derive(Clone, Copy)]
pub struct Started(pub Instant);

/// A gateway session started (READY) or resumed on `shard`.
pub fn gateway_session(shard: u32, resumed: bool) {
    handle();
    let labels = [("shard", shard.to_string())];
    if resumed {
        metrics::counter!("guildhall_gateway_resumes_total", &labels).increment(1);
    } else {
        metrics::counter!("guildhall_gateway_sessions_total", &labels).increment(1);
    }
}

/// A 429 serenity's rate limiter saw.
pub fn ratelimited(global: bool, path: &str) {
    handle();
    let scope = if global { "global" } else { "route" };
    let labels = [("scope", scope.to_string()), ("route", route_of(path))];
    metrics::counter!("guildhall_discord_ratelimited_total", &labels).increment(1);
}

/// A route's shape without its ids (`/channels/123/messages` →
/// `/channels/{id}/messages`), so labels stay few.
pub fn route_of(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let path = path.split_once("/api/v10").map_or(path, |(_, p)| p);
    path.split('/')
        .map(|s| if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) { "{id}" } else { s })
        .collect::<Vec<_>>()
        .join("/")
}

/// What the HTTP endpoints read.
#[derive(Clone)]
pub struct Probe {
    pub pool: sqlx::PgPool,
    pub shards: Arc<ShardManager>,
}

impl Probe {
    /// The database answers (within `READY_DB_TIMEOUT`).
    async fn database_ok(&self) -> bool {
        let ping = async {
            let mut conn = self.pool.acquire().await?;
            sqlx::query("select 1").execute(&mut *conn).await
        };
        matches!(tokio::time::timeout(READY_DB_TIMEOUT, ping).await, Ok(Ok(_)))
    }

    /// Every shard of this process is connected (and there is one).
    async fn shards_ok(&self) -> bool {
        let runners = self.shards.runners.lock().await;
        !runners.is_empty() && runners.values().all(|r| r.stage == serenity::gateway::ConnectionStage::Connected)
    }

    /// The gauges read at scrape time.
    async fn refresh_gauges(&self) {
        metrics::gauge!("guildhall_db_pool_connections", "state" => "in_use")
            .set((self.pool.size() as usize).saturating_sub(self.pool.num_idle()) as f64);
        metrics::gauge!("guildhall_db_pool_connections", "state" => "idle").set(self.pool.num_idle() as f64);
        for (id, r) in self.shards.runners.lock().await.iter() {
            let shard = id.0.to_string();
            let up = if r.stage == serenity::gateway::ConnectionStage::Connected { 1.0 } else { 0.0 };
            metrics::gauge!("guildhall_gateway_connected", "shard" => shard.clone()).set(up);
            if let Some(l) = r.latency {
                metrics::gauge!("guildhall_gateway_latency_seconds", "shard" => shard).set(l.as_secs_f64());
            }
        }
        let queue = async {
            let mut conn = self.pool.acquire().await?;
            sqlx::query_as::<_, (String, String, i64, Option<f64>)>(
                "select kind, state, count(*), extract(epoch from now() - min(created_at))::float8
                   from deliveries
                  where state = 'pending' or done_at > now() - interval '1 day'
                  group by kind, state",
            )
            .fetch_all(&mut *conn)
            .await
        };
        match tokio::time::timeout(READY_DB_TIMEOUT, queue).await {
            Ok(Ok(rows)) => {
                for kind in ["dm", "digest"] {
                    for state in ["pending", "sent", "failed", "dropped"] {
                        let row = rows.iter().find(|r| r.0 == kind && r.1 == state);
                        metrics::gauge!("guildhall_deliveries", "kind" => kind, "state" => state)
                            .set(row.map_or(0, |r| r.2) as f64);
                        if state == "pending" {
                            let age = row.and_then(|r| r.3).unwrap_or(0.0).max(0.0);
                            metrics::gauge!("guildhall_delivery_oldest_pending_seconds", "kind" => kind).set(age);
                        }
                    }
                }
            }
            _ => tracing::debug!("the DM queue could not be read for /metrics"),
        }
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(p): State<Probe>) -> impl IntoResponse {
    let (db, shards) = tokio::join!(p.database_ok(), p.shards_ok());
    let body = format!(
        "database: {}\nshards: {}\n",
        if db { "ok" } else { "unreachable" },
        if shards { "connected" } else { "not connected" }
    );
    let status = if db && shards { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    (status, body)
}

async fn metrics_page(State(p): State<Probe>) -> impl IntoResponse {
    p.refresh_gauges().await;
    ([(axum::http::header::CONTENT_TYPE, "text/plain; version=0.0.4")], handle().render())
}

/// Serve `/metrics`, `/healthz` and `/readyz` on `addr` until `stop` turns
/// true. Returns the address bound (port 0 picks one).
pub async fn serve(
    addr: SocketAddr,
    probe: Probe,
    mut stop: tokio::sync::watch::Receiver<bool>,
) -> std::io::Result<(SocketAddr, tokio::task::JoinHandle<()>)> {
    handle();
    let app = axum::Router::new()
        .route("/healthz", axum::routing::get(healthz))
        .route("/readyz", axum::routing::get(readyz))
        .route("/metrics", axum::routing::get(metrics_page))
        .with_state(probe);
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    tracing::info!(%bound, "serving /metrics, /healthz and /readyz");
    let task = tokio::spawn(async move {
        let shutdown = async move {
            while !*stop.borrow() {
                if stop.changed().await.is_err() {
                    break;
                }
            }
        };
        if let Err(e) = axum::serve(listener, app).with_graceful_shutdown(shutdown).await {
            tracing::warn!(error = %e, "the metrics server stopped");
        }
    });
    Ok((bound, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_lose_their_ids() {
        assert_eq!(route_of("/api/v10/channels/123/messages/456"), "/channels/{id}/messages/{id}");
        assert_eq!(route_of("https://discord.com/api/v10/guilds/1/members/2?x=1"), "/guilds/{id}/members/{id}");
        assert_eq!(route_of("/gateway/bot"), "/gateway/bot");
    }

    #[test]
    fn custom_ids_are_named_by_their_kind_only() {
        assert_eq!(custom_id_kind("gh:join:12"), "join");
        assert_eq!(custom_id_kind("gh:aud:-:2:3:0"), "aud");
        assert_eq!(custom_id_kind("gh:disagree"), "disagree");
        assert_eq!(custom_id_kind(""), "unknown");
        assert_eq!(custom_id_kind("<@everyone> hi"), "unknown");
        assert_eq!(custom_id_kind(&"x".repeat(60)), "unknown");
    }

    #[test]
    fn outcomes_follow_the_error() {
        assert_eq!(Outcome::of::<()>(&Ok(())), Outcome::Ok);
        assert_eq!(Outcome::of::<()>(&Err(crate::error::user("no"))), Outcome::Refused);
        assert_eq!(Outcome::of::<()>(&Err("boom".into())), Outcome::Error);
    }
}
