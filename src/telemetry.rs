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
//! Discord REST calls are counted where every response can be seen: see
//! `discord::meter` (ARCHITECTURE.md says why there). An interaction's
//! first callback is reported by `replies` (`answered`), through which
//! every handler answers.

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
        metrics::describe_histogram!(
            "guildhall_interaction_first_callback_seconds",
            "Time from the handler's start to the interaction's first callback (Discord wants it within 3 s), by kind and command."
        );
        metrics::describe_counter!(
            "guildhall_discord_ratelimited_total",
            "429s from Discord or the rate-limit proxy, by scope (route, global, shared; proxy: the proxy's own) and route."
        );
        metrics::describe_counter!(
            "guildhall_discord_requests_total",
            "Discord REST calls answered, by route template, method and status."
        );
        metrics::describe_counter!(
            "guildhall_discord_invalid_requests_total",
            "Answers of 401, 403 and 429 (not shared-scope 429s), which Discord counts toward its 10,000 per 10 minutes, by status."
        );
        metrics::describe_counter!("guildhall_digests_total", "Daily digests, by state (queued, sent).");
        metrics::describe_counter!("guildhall_reconcile_repairs_total", "Repairs the reconciler made, by kind.");
        metrics::describe_counter!(
            "guildhall_db_pool_waits_total",
            "Connections asked of the PostgreSQL pool when none was idle (the caller waited)."
        );
        metrics::describe_histogram!(
            "guildhall_db_pool_wait_seconds",
            "How long those callers waited for a connection."
        );
        handle
    })
}

/// How log lines are written (`LOG_FORMAT`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object a line, the event's fields at the top level (for a
    /// log collector).
    Json,
    /// Lines for people.
    Text,
}

impl LogFormat {
    /// `LOG_FORMAT`'s value: `json`, or `text` (the default).
    pub fn parse(value: Option<&str>) -> Result<LogFormat, String> {
        match value.map(str::trim) {
            Some("json") => Ok(LogFormat::Json),
            Some("" | "text") | None => Ok(LogFormat::Text),
            Some(other) => Err(format!("LOG_FORMAT is malformed: {other:?} is neither json nor text")),
        }
    }
}

/// The process's log subscriber: `format`, filtered by `filter`, written
/// to `writer` (stdout in the binary).
pub fn subscriber<W>(
    format: LogFormat,
    filter: tracing_subscriber::EnvFilter,
    writer: W,
) -> Box<dyn tracing::Subscriber + Send + Sync>
where
    W: for<'a> tracing_subscriber::fmt::MakeWriter<'a> + Send + Sync + 'static,
{
    let b = tracing_subscriber::fmt().with_env_filter(filter).with_writer(writer);
    match format {
        LogFormat::Json => Box::new(b.json().flatten_event(true).finish()),
        LogFormat::Text => Box::new(b.finish()),
    }
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

/// An interaction being handled: when it started, whether it has had its
/// first callback, whether what it showed was a refusal.
struct Pending {
    kind: &'static str,
    name: String,
    started: Instant,
    answered: bool,
    refused: bool,
}

fn pending() -> &'static std::sync::Mutex<std::collections::HashMap<u64, Pending>> {
    static P: OnceLock<std::sync::Mutex<std::collections::HashMap<u64, Pending>>> = OnceLock::new();
    P.get_or_init(Default::default)
}

/// A handler starts on interaction `id`.
pub fn begin(id: u64, kind: &'static str, name: &str) {
    let mut p = pending().lock().unwrap_or_else(|e| e.into_inner());
    // An interaction token lives 15 minutes: anything older was never finished.
    p.retain(|_, v| v.started.elapsed() < Duration::from_secs(15 * 60));
    p.insert(id, Pending { kind, name: name.to_string(), started: Instant::now(), answered: false, refused: false });
}

/// Interaction `id` got a callback (only the first one is timed).
pub fn answered(id: u64) {
    handle();
    let mut p = pending().lock().unwrap_or_else(|e| e.into_inner());
    if let Some(v) = p.get_mut(&id).filter(|v| !v.answered) {
        v.answered = true;
        let labels = [("kind", v.kind.to_string()), ("command", v.name.clone())];
        metrics::histogram!("guildhall_interaction_first_callback_seconds", &labels)
            .record(v.started.elapsed().as_secs_f64());
    }
}

/// What interaction `id` showed was a refusal ("Error: ...").
pub fn refused(id: u64) {
    if let Some(v) = pending().lock().unwrap_or_else(|e| e.into_inner()).get_mut(&id) {
        v.refused = true;
    }
}

/// Record one interaction: the counter, the histogram and one log line.
/// `kind` is "command", "component" or "modal"; `name` the command's
/// qualified name or the custom id's kind (never the id's numbers, so the
/// labels stay few). A handler that returned fine but showed a refusal
/// counts as "refused".
pub fn interaction(id: u64, kind: &'static str, name: &str, outcome: Outcome, elapsed: Duration) {
    handle();
    let refused = pending().lock().unwrap_or_else(|e| e.into_inner()).remove(&id).is_some_and(|v| v.refused);
    let outcome = if outcome == Outcome::Ok && refused { Outcome::Refused } else { outcome };
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

/// A rate limit serenity's own limiter reported (direct to Discord, no
/// proxy). Its callback runs for a 429 and also before a request it holds
/// back on an exhausted bucket, and cannot tell which: these are counted
/// as waits, not as invalid requests.
pub fn ratelimited(global: bool, path: &str) {
    handle();
    let scope = if global { "global" } else { "route" };
    let labels = [("scope", scope.to_string()), ("route", route_of(path))];
    metrics::counter!("guildhall_discord_ratelimited_total", &labels).increment(1);
}

/// One answer from Discord (or the rate-limit proxy in front of it):
/// counted by route and status; a 429 by its scope (`X-RateLimit-Scope`:
/// `user` is a per-route limit); 401, 403 and 429 (except shared-scope
/// 429s, which Discord does not hold against the bot) toward the invalid
/// request limit (topics/rate-limits, "Invalid Request Limit").
pub fn discord_response(method: &str, path: &str, status: u16, scope: Option<&str>, global: bool) {
    handle();
    let route = route_of(path);
    let labels = [("route", route.clone()), ("method", method.to_string()), ("status", status.to_string())];
    metrics::counter!("guildhall_discord_requests_total", &labels).increment(1);
    let mut invalid = matches!(status, 401 | 403);
    if status == 429 {
        // Discord's own 429s always say their scope ("X-RateLimit-Scope -
        // Returned only on HTTP 429 responses", topics/rate-limits); one
        // without it, nor X-RateLimit-Global, is a rate-limit proxy's own
        // (@discordjs/proxy answers 429 with Retry-After alone), which
        // Discord never saw: not an invalid request.
        let scope = match scope {
            Some("global") => "global",
            Some("shared") => "shared",
            Some(_) => "route",
            None if global => "global",
            None => "proxy",
        };
        invalid = !matches!(scope, "shared" | "proxy");
        let labels = [("scope", scope.to_string()), ("route", route)];
        metrics::counter!("guildhall_discord_ratelimited_total", &labels).increment(1);
    }
    if invalid {
        metrics::counter!("guildhall_discord_invalid_requests_total", "status" => status.to_string()).increment(1);
    }
}

/// A daily digest queued or sent.
pub fn digest(state: &'static str, n: u64) {
    handle();
    metrics::counter!("guildhall_digests_total", "state" => state).increment(n);
}

/// A repair the reconciler made (`kind`: its audit action, `role_remade`...).
pub fn repair(kind: &str) {
    handle();
    let kind = kind.split_once('.').map_or(kind, |(_, k)| k).to_string();
    metrics::counter!("guildhall_reconcile_repairs_total", "kind" => kind).increment(1);
}

/// A caller waited `waited` for a pool connection (none was idle).
pub fn pool_wait(waited: Duration) {
    handle();
    metrics::counter!("guildhall_db_pool_waits_total").increment(1);
    metrics::histogram!("guildhall_db_pool_wait_seconds").record(waited.as_secs_f64());
}

/// A route's shape without its ids and tokens (`/channels/123/messages` →
/// `/channels/{id}/messages`, `/interactions/1/tok/callback` →
/// `/interactions/{id}/{token}/callback`), so labels stay few and no
/// interaction token is ever written down.
pub fn route_of(path: &str) -> String {
    let path = path.split('?').next().unwrap_or(path);
    let path = path.split_once("/api/v10").map_or(path, |(_, p)| p);
    let segs: Vec<&str> = path.split('/').collect();
    let mut out = Vec::with_capacity(segs.len());
    for (i, s) in segs.iter().enumerate() {
        let after_token_owner = i >= 2 && matches!(segs[i - 2], "interactions" | "webhooks");
        if !s.is_empty() && s.chars().all(|c| c.is_ascii_digit()) {
            out.push("{id}");
        } else if after_token_owner && !s.is_empty() {
            out.push("{token}");
        } else {
            out.push(s);
        }
    }
    out.join("/")
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
        // N6: the role queue, in all and per server.
        let roles = async {
            let mut conn = self.pool.acquire().await?;
            let all = crate::domain::role_sync::depth(&mut conn, None, chrono::Utc::now()).await?;
            let per = crate::domain::role_sync::depth_by_guild(&mut conn).await?;
            Ok::<_, sqlx::Error>((all, per))
        };
        match tokio::time::timeout(READY_DB_TIMEOUT, roles).await {
            Ok(Ok((all, per))) => {
                metrics::gauge!("guildhall_role_queue_waiting").set(all.waiting as f64);
                metrics::gauge!("guildhall_role_queue_oldest_seconds").set(all.oldest_seconds as f64);
                // A server whose queue emptied reads 0, not its last depth.
                static SEEN: std::sync::Mutex<Vec<u64>> = std::sync::Mutex::new(Vec::new());
                let mut seen = SEEN.lock().unwrap_or_else(|e| e.into_inner());
                for guild in seen.iter() {
                    if !per.iter().any(|(g, _)| g == guild) {
                        metrics::gauge!("guildhall_role_queue_waiting_by_guild", "guild" => guild.to_string()).set(0.0);
                    }
                }
                for (guild, n) in &per {
                    metrics::gauge!("guildhall_role_queue_waiting_by_guild", "guild" => guild.to_string())
                        .set(*n as f64);
                    if !seen.contains(guild) {
                        seen.push(*guild);
                    }
                }
            }
            _ => tracing::debug!("the role queue could not be read for /metrics"),
        }
    }
}

async fn healthz() -> &'static str {
    "ok\n"
}

async fn readyz(State(p): State<Probe>) -> impl IntoResponse {
    let (db, shards) = tokio::join!(p.database_ok(), p.shards_ok());
    let mut body = format!(
        "database: {}\nshards: {}\n",
        if db { "ok" } else { "unreachable" },
        if shards { "connected" } else { "not connected" }
    );
    // The role queue (N6): information, not readiness (a long queue is
    // Discord's pace, and this process is ready to take more).
    if db {
        let depth = async {
            let mut conn = p.pool.acquire().await?;
            crate::domain::role_sync::depth(&mut conn, None, chrono::Utc::now()).await
        };
        if let Ok(Ok(d)) = tokio::time::timeout(READY_DB_TIMEOUT, depth).await {
            body.push_str(&format!("role queue: {} waiting, the oldest for {} s\n", d.waiting, d.oldest_seconds));
        }
    }
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
        assert_eq!(
            route_of("/api/v10/interactions/12/aW50ZXJhY3Rpb24/callback"),
            "/interactions/{id}/{token}/callback"
        );
        assert_eq!(
            route_of("/api/v10/webhooks/12/aW50/messages/@original"),
            "/webhooks/{id}/{token}/messages/@original"
        );
        assert_eq!(route_of("/api/v10/webhooks/12/aW50"), "/webhooks/{id}/{token}");
    }

    #[test]
    fn shared_429s_are_not_held_against_the_bot() {
        let page = || handle().render();
        let invalid = |p: &str| {
            p.lines()
                .find(|l| l.starts_with("guildhall_discord_invalid_requests_total{status=\"429\"}"))
                .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
                .unwrap_or(0.0)
        };
        let before = invalid(&page());
        discord_response("POST", "/api/v10/channels/7/messages", 429, Some("shared"), false);
        let p = page();
        assert!(p.contains("scope=\"shared\",route=\"/channels/{id}/messages\""), "{p}");
        assert_eq!(invalid(&p), before, "topics/rate-limits: shared 429s are not counted against you");
        discord_response("POST", "/api/v10/channels/7/messages", 429, None, true);
        assert!(page().contains("scope=\"global\",route=\"/channels/{id}/messages\""));
        assert!(invalid(&page()) > before);
        // A proxy's own 429 (no scope, not global) never reached Discord.
        let before = invalid(&page());
        discord_response("POST", "/api/v10/channels/1/messages", 429, None, false);
        assert!(page().contains("scope=\"proxy\",route=\"/channels/{id}/messages\""));
        assert_eq!(invalid(&page()), before, "a proxy's 429 is not Discord's invalid request");
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
