//! The HTTP side of the fake: one axum server on 127.0.0.1 serving the REST
//! API under `/api/v10` and the gateway at `/gateway`, plus the handle tests
//! hold (`FakeDiscord`) to seed state, inject faults and look at the world.

use crate::gateway::Hub;
use crate::rest;
use crate::spec::Spec;
use crate::world::{perms, ApiError, Channel, Guild, Member, Role, User, World};
use axum::body::Bytes;
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

/// A failure the fake returns instead of handling a request.
#[derive(Clone, Debug)]
pub struct Fault {
    pub method: Option<String>,
    /// The rule applies to paths containing this text.
    pub path_contains: String,
    pub status: u16,
    pub code: u64,
    pub message: String,
    /// Seconds, for 429s.
    pub retry_after: Option<f64>,
    /// How many requests it applies to (then it is used up).
    pub times: usize,
    /// How many matching requests to let through first.
    pub skip: usize,
    /// Handle the request first, then answer with the failure anyway (a 5xx
    /// whose work was done: the client can't tell and may try again).
    pub after_processing: bool,
    /// Handle the request normally but hold the answer this long (a slow
    /// network: the client may give up, or die, while it waits).
    pub answer_after: Option<Duration>,
    /// Handle the request and answer it normally, then close every gateway
    /// connection (the client must reconnect and resume).
    pub drop_gateway: bool,
    /// Match by route instead of `path_contains`: the path's segments, with
    /// `{}` standing for any one segment (see [`route_of`]).
    pub route: Option<String>,
    /// A 429 of the `shared` scope (a per-resource limit, not the bot's):
    /// answered with `X-RateLimit-Scope: shared`, and not counted toward
    /// the invalid-request limit.
    pub shared: bool,
}

/// A path's route: each id (a segment of digits) and each interaction or
/// webhook token replaced by `{}`, the query dropped:
/// `/channels/12/messages/34` is `/channels/{}/messages/{}`.
pub fn route_of(path: &str) -> String {
    let path = path.split('?').next().unwrap_or_default();
    let path = path.strip_prefix("/api/v10").unwrap_or(path);
    let segs: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let mut out = String::new();
    for (i, seg) in segs.iter().enumerate() {
        let token = i == 2 && matches!(segs[0], "webhooks" | "interactions");
        let id = !seg.is_empty() && seg.bytes().all(|b| b.is_ascii_digit());
        out.push('/');
        out.push_str(if id || token { "{}" } else { seg });
    }
    out
}

/// Discord's rate limits (topics/rate-limits), on by default. Every
/// answer under `/api/v10` carries its route's bucket in
/// `X-RateLimit-Limit`, `-Remaining`, `-Reset`, `-Reset-After` and
/// `-Bucket`; a bucket is a route (method and path, ids left out: "non-
/// inclusive of top-level resources") counted apart for each top-level
/// resource (`channel_id`, `guild_id`, `webhook_id` + token). Past `route`
/// requests in `route_window` on one bucket the answer is a 429 with
/// `Retry-After`, `X-RateLimit-Scope: user` and `{message, retry_after,
/// global: false}`.
///
/// Beside it, the bot's global limit: 50 requests a second across every
/// route but the interaction endpoints (callbacks and the interaction
/// webhook: "not bound to the bot's Global Rate Limit"). It is never
/// reported in a success's headers; past it the answer is a 429 with
/// `Retry-After`, `X-RateLimit-Global: true`, `X-RateLimit-Scope: global`
/// and `{message, retry_after, global: true}`.
///
/// Discord says how it limits but not how much, per route ("should not be
/// hard coded"): the fake's `route` default, 40 a second, is its own
/// choice, low enough that a client that ignores the headers meets it in a
/// burst, high enough that the global limit is what paces a busy bot (a
/// test tightens a route with [`RateLimits::with_route`]). A
/// 429 the limits give is one nobody injected: a violation, so a test
/// fails when the bot earns one. Windows are fixed and run on real time
/// (the bot paces on real time), each starting at the first request after
/// the last one ended.
///
/// [`RateLimits::default`] is the fake's historical choice (only the two
/// flat limits above). [`RateLimits::discord`] is the shape the "at
/// Discord's pace" issue asks for: the same two, plus the stingy per-route
/// buckets bot authors report (member roles, thread members, role and
/// channel creation), at Discord's true scale; [`RateLimits::scaled`]
/// shrinks every window to keep a test short (the shape matters, not the
/// seconds). With [`FakeDiscord::set_pacing_proxy`] a request past a limit
/// waits for room instead of earning a 429.
#[derive(Clone, Debug)]
pub struct RateLimits {
    pub global: u32,
    pub global_window: Duration,
    pub route: u32,
    pub route_window: Duration,
    /// Other limits for some routes: (method, route as [`route_of`] writes
    /// it, limit, window).
    pub routes: Vec<(String, String, u32, Duration)>,
    /// Routes that share one bucket: (method, route as [`route_of`] writes
    /// it, group name). rate-limits.md: "In some cases, per-route limits
    /// will be shared across a set of similar endpoints, indicated in the
    /// `X-RateLimit-Bucket` header". The routes of a group count together
    /// (still apart for each top-level resource) and answer one
    /// `X-RateLimit-Bucket`; the limit is the route's entry in `routes`, or
    /// else the first entry of a route of its group (give them the same).
    pub groups: Vec<(String, String, String)>,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            global: 50,
            global_window: Duration::from_secs(1),
            route: 40,
            route_window: Duration::from_secs(1),
            routes: Vec::new(),
            groups: Vec::new(),
        }
    }
}

impl RateLimits {
    /// No limits: for a bot behind a rate-limit proxy (`DISCORD_API_BASE_URL`)
    /// when the fake stands for the proxy and Discord together, as in a
    /// benchmark of the bot's own cost.
    pub fn off() -> RateLimits {
        RateLimits { global: u32::MAX, route: u32::MAX, ..RateLimits::default() }
    }

    /// These limits, with `limit` requests per `window` on one route.
    pub fn with_route(mut self, method: &str, route: &str, limit: u32, window: Duration) -> RateLimits {
        self.routes.push((method.to_string(), route.to_string(), limit, window));
        self
    }

    /// These limits, with `routes` ((method, route) pairs) sharing one
    /// bucket named `group`: `limit` requests per `window` between them, for
    /// each top-level resource.
    pub fn with_group(mut self, group: &str, routes: &[(&str, &str)], limit: u32, window: Duration) -> RateLimits {
        for (method, route) in routes {
            self.routes.push((method.to_string(), route.to_string(), limit, window));
            self.groups.push((method.to_string(), route.to_string(), group.to_string()));
        }
        self
    }

    /// The limits the "at Discord's pace" issue asks for, at Discord's true
    /// scale: the global limit (50 a second: rate-limits.md, "All bots can
    /// make up to 50 requests per second to our API") and the fake's
    /// per-route default (40 a second), plus what bot authors report of the
    /// stingy routes (Discord does not publish them: "rate limits should
    /// not be hard coded into your app"):
    ///
    /// - adding and removing a member's role (`PUT` and `DELETE
    ///   /guilds/{}/members/{}/roles/{}`): 10 per 10 s, one bucket for both
    ///   methods (bot authors report that adds and removes share a limit),
    ///   counted per server: the guild is the path's top-level resource
    ///   ("per-route rate limits often account for top-level resources
    ///   within the path using an identifier—for example, `guild_id`"), so
    ///   every member of one server draws on it;
    /// - adding and removing a thread member (`PUT`, `DELETE
    ///   /channels/{}/thread-members/{}`): 10 per 10 s each, per thread;
    /// - creating a role (`POST /guilds/{}/roles`) and a channel (`POST
    ///   /guilds/{}/channels`): 10 per 10 s each, per server.
    ///
    /// Not the default yet: [`RateLimits::default`] keeps the flat limits
    /// until the bot paces itself by these.
    pub fn discord() -> RateLimits {
        let ten = Duration::from_secs(10);
        let member_role = "/guilds/{}/members/{}/roles/{}";
        let thread_member = "/channels/{}/thread-members/{}";
        RateLimits::default()
            .with_group("member-roles", &[("PUT", member_role), ("DELETE", member_role)], 10, ten)
            .with_route("PUT", thread_member, 10, ten)
            .with_route("DELETE", thread_member, 10, ten)
            .with_route("POST", "/guilds/{}/roles", 10, ten)
            .with_route("POST", "/guilds/{}/channels", 10, ten)
    }

    /// These limits with every window (global, route and per-route)
    /// multiplied by `factor`, the counts kept: `RateLimits::discord()
    /// .scaled(0.01)` allows 10 member-role changes per 100 ms, so a test
    /// sees the shape of Discord's limits without waiting its seconds.
    /// Panics if `factor` is negative or not finite.
    pub fn scaled(mut self, factor: f64) -> RateLimits {
        self.global_window = self.global_window.mul_f64(factor);
        self.route_window = self.route_window.mul_f64(factor);
        for (_, _, _, window) in &mut self.routes {
            *window = window.mul_f64(factor);
        }
        self
    }

    /// The group `method` on `route` is in, if any.
    fn group_of(&self, method: &str, route: &str) -> Option<&str> {
        self.groups.iter().find(|(m, r, _)| m == method && r == route).map(|(_, _, g)| g.as_str())
    }

    /// The limit and window of `method` on `route`: its own entry, else its
    /// group's, else the default.
    fn limit_of(&self, method: &str, route: &str) -> (u32, Duration) {
        let own = self.routes.iter().find(|(m, r, _, _)| m == method && r == route);
        let grouped = || {
            let group = self.group_of(method, route)?;
            self.routes.iter().find(|(m, r, _, _)| self.group_of(m, r) == Some(group))
        };
        own.or_else(grouped).map_or((self.route, self.route_window), |(_, _, l, w)| (*l, *w))
    }
}

/// One fixed window of a limit: when it started and how much of it is used.
#[derive(Clone, Copy)]
struct Window {
    start: std::time::Instant,
    used: u32,
}

impl Window {
    /// The window at `now` (a new one when the last has ended).
    fn at(slot: &mut Option<Window>, now: std::time::Instant, length: Duration) -> Window {
        match *slot {
            Some(w) if now.duration_since(w.start) < length => w,
            _ => *slot.insert(Window { start: now, used: 0 }),
        }
    }
}

#[derive(Default)]
pub(crate) struct Buckets {
    pub limits: RateLimits,
    /// (bucket, top-level resource) -> its window.
    routes: std::collections::HashMap<(String, String), Option<Window>>,
    global: Option<Window>,
}

/// What the rate limits say of one request.
struct Limited {
    headers: Vec<(&'static str, String)>,
    /// `Some((retry_after, global))` when the request is refused.
    refused: Option<(f64, bool)>,
}

/// [`bucket_in`] under the default limits (no groups).
#[cfg(test)]
fn bucket_of(method: &str, api_path: &str, application_id: u64) -> (String, String, bool) {
    bucket_in(&RateLimits::default(), method, api_path, application_id)
}

/// A request's bucket (its method and route, or its group of `limits`, as a
/// short hex name), its top-level resource, and whether it is an
/// interaction endpoint (a callback, or the application's webhook of an
/// interaction token; another webhook is no interaction endpoint).
/// `application_id`: the bot's application.
fn bucket_in(limits: &RateLimits, method: &str, api_path: &str, application_id: u64) -> (String, String, bool) {
    let route = route_of(api_path);
    let group = limits.group_of(method, &route).map(|g| format!("group {g}"));
    let segs: Vec<&str> = api_path.trim_start_matches('/').split('/').collect();
    let resource = match segs.as_slice() {
        ["channels" | "guilds", id, ..] => format!("{}/{id}", segs[0]),
        ["webhooks", id, token, ..] => format!("webhooks/{id}/{token}"),
        ["webhooks", id] => format!("webhooks/{id}"),
        ["interactions", id, ..] => format!("interactions/{id}"),
        _ => String::new(),
    };
    let app = application_id.to_string();
    let interaction = match segs.as_slice() {
        ["interactions", ..] => true,
        ["webhooks", id, _token, ..] => *id == app,
        _ => false,
    };
    // FNV-1a: a stable name for the bucket that does not spell the route.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    let named = group.unwrap_or_else(|| format!("{method}{route}"));
    for b in named.bytes() {
        h = (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3);
    }
    (format!("{h:016x}"), resource, interaction)
}

fn rate_limit(inner: &Inner, method: &str, api_path: &str) -> Limited {
    let application_id = inner.world.lock().application_id;
    let route = route_of(api_path);
    let now = std::time::Instant::now();
    let mut b = inner.buckets.lock();
    let limits = b.limits.clone();
    let (bucket, resource, interaction) = bucket_in(&limits, method, api_path, application_id);
    let (limit, length) = limits.limit_of(method, &route);
    let key = (bucket.clone(), resource);
    let mut window = Window::at(b.routes.entry(key.clone()).or_default(), now, length);
    let reset_after = |w: &Window, length: Duration| length.saturating_sub(now.duration_since(w.start)).as_secs_f64();
    let route_full = window.used >= limit;
    let global_window = Window::at(&mut b.global, now, limits.global_window);
    let global_full = !interaction && global_window.used >= limits.global;
    let refused = if route_full {
        Some((reset_after(&window, length), false))
    } else if global_full {
        Some((reset_after(&global_window, limits.global_window), true))
    } else {
        window.used += 1;
        if !interaction {
            b.global.as_mut().expect("the window is open").used += 1;
        }
        None
    };
    b.routes.insert(key, Some(window));
    let mut headers = Vec::new();
    if !matches!(refused, Some((_, true))) {
        let after = reset_after(&window, length);
        let reset_at =
            std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap_or_default().as_secs_f64()
                + after;
        headers.extend([
            ("x-ratelimit-limit", limit.to_string()),
            ("x-ratelimit-remaining", limit.saturating_sub(window.used).to_string()),
            ("x-ratelimit-reset", format!("{reset_at:.3}")),
            ("x-ratelimit-reset-after", format!("{after:.3}")),
            ("x-ratelimit-bucket", bucket),
        ]);
    }
    if let Some((retry, global)) = refused {
        headers.push(("retry-after", retry.ceil().max(1.0).to_string()));
        headers.push(("x-ratelimit-scope", if global { "global" } else { "user" }.to_string()));
        if global {
            headers.push(("x-ratelimit-global", "true".to_string()));
        }
    }
    Limited { headers, refused }
}

impl Fault {
    pub fn status(method: &str, path_contains: &str, status: u16, code: u64, message: &str) -> Fault {
        Fault {
            method: Some(method.to_string()),
            path_contains: path_contains.to_string(),
            status,
            code,
            message: message.to_string(),
            retry_after: None,
            times: 1,
            skip: 0,
            after_processing: false,
            answer_after: None,
            drop_gateway: false,
            route: None,
            shared: false,
        }
    }
    /// Any fault, on requests of `method` to `route` (as [`route_of`] writes
    /// it) instead of paths containing a text.
    pub fn on_route(mut self, method: &str, route: &str) -> Fault {
        self.method = Some(method.to_string());
        self.route = Some(route.to_string());
        self
    }
    /// The request is handled and answered normally; then the gateway
    /// connections are closed.
    pub fn gateway_dropped_after(method: &str, path_contains: &str) -> Fault {
        Fault { drop_gateway: true, ..Self::status(method, path_contains, 200, 0, "") }
    }
    /// The request is handled at once (its effect happens) but answered only
    /// after `after`.
    pub fn slow_answer(method: &str, path_contains: &str, after: Duration) -> Fault {
        Fault { answer_after: Some(after), ..Self::status(method, path_contains, 200, 0, "") }
    }
    pub fn missing_permissions(method: &str, path_contains: &str) -> Fault {
        Self::status(method, path_contains, 403, 50013, "Missing Permissions")
    }
    pub fn rate_limited(method: &str, path_contains: &str, retry_after: f64) -> Fault {
        Fault {
            retry_after: Some(retry_after),
            ..Self::status(method, path_contains, 429, 0, "You are being rate limited.")
        }
    }
    /// A 429 of the `shared` scope: rate-limits.md, "`shared` (per resource
    /// limit)", answered as its "Example Exceeded Resource Rate Limit
    /// Response" (`X-RateLimit-Scope: shared`, `{"message": "The resource
    /// is being rate limited.", "retry_after": ..., "global": false}`), and
    /// "429 errors returned with `X-RateLimit-Scope: shared` are not
    /// counted against you" (the invalid-request limit).
    pub fn shared_rate_limited(method: &str, path_contains: &str, retry_after: f64) -> Fault {
        Fault {
            retry_after: Some(retry_after),
            shared: true,
            ..Self::status(method, path_contains, 429, 0, "The resource is being rate limited.")
        }
    }
    pub fn server_error(method: &str, path_contains: &str) -> Fault {
        Self::status(method, path_contains, 500, 0, "Internal Server Error")
    }
    /// A 500 returned after the request was handled (its effect happened).
    pub fn server_error_after_processing(method: &str, path_contains: &str) -> Fault {
        Fault { after_processing: true, ..Self::server_error(method, path_contains) }
    }
    pub fn times(mut self, n: usize) -> Fault {
        self.times = n;
        self
    }
    /// Let the first `n` matching requests through.
    pub fn skip(mut self, n: usize) -> Fault {
        self.skip = n;
        self
    }
}

/// How long Discord takes to answer a REST call: a delay drawn evenly from
/// `median - jitter ..= median + jitter` for every request under `/api/v10`
/// (interaction callbacks and webhooks included: real Discord is slow there
/// too), per route where `routes` says so. Off ([`Latency::off`], the
/// default) in unit tests; [`Latency::discord`] for load tests, slow fault
/// cells, benchmarks and the playground.
///
/// Half the delay passes before the request is handled (the request
/// travelling: its effect, its rate-limit count and, for an interaction
/// callback, the 3-second deadline are all judged when it arrives), the
/// other half after (the answer travelling back). No lock is held while it
/// waits. The gateway has no latency.
#[derive(Clone, Debug, Default)]
pub struct Latency {
    pub median: Duration,
    pub jitter: Duration,
    /// Other delays for some routes: (method, route as [`route_of`] writes
    /// it, median, jitter).
    pub routes: Vec<(String, String, Duration, Duration)>,
}

impl Latency {
    /// No delay: every answer as fast as loopback.
    pub fn off() -> Latency {
        Latency::default()
    }

    /// About what a bot sees of Discord: 80 ms ± 40 ms, member-role changes
    /// (`PUT`, `DELETE /guilds/{}/members/{}/roles/{}`) a little slower,
    /// 120 ms ± 40 ms.
    pub fn discord() -> Latency {
        let ms = Duration::from_millis;
        let member_role = "/guilds/{}/members/{}/roles/{}";
        Latency { median: ms(80), jitter: ms(40), routes: Vec::new() }
            .with_route("PUT", member_role, ms(120), ms(40))
            .with_route("DELETE", member_role, ms(120), ms(40))
    }

    /// This latency, with `median` ± `jitter` on `method` `route`.
    pub fn with_route(mut self, method: &str, route: &str, median: Duration, jitter: Duration) -> Latency {
        self.routes.push((method.to_string(), route.to_string(), median, jitter));
        self
    }

    /// This latency with every median and jitter multiplied by `factor`.
    pub fn scaled(mut self, factor: f64) -> Latency {
        self.median = self.median.mul_f64(factor);
        self.jitter = self.jitter.mul_f64(factor);
        for (_, _, median, jitter) in &mut self.routes {
            *median = median.mul_f64(factor);
            *jitter = jitter.mul_f64(factor);
        }
        self
    }

    /// A delay for one request of `method` on `route`: even over
    /// `median - jitter ..= median + jitter` (a cheap draw, splitmix64 on a
    /// process-wide counter: the same sequence each run of one test alone).
    pub fn draw(&self, method: &str, route: &str) -> Duration {
        static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let (median, jitter) = self
            .routes
            .iter()
            .find(|(m, r, _, _)| m == method && r == route)
            .map_or((self.median, self.jitter), |(_, _, m, j)| (*m, *j));
        if jitter.is_zero() {
            return median;
        }
        let mut z = NEXT.fetch_add(0x9e37_79b9_7f4a_7c15, std::sync::atomic::Ordering::Relaxed);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^= z >> 31;
        let unit = (z >> 11) as f64 / (1u64 << 53) as f64; // [0, 1)
        median.saturating_sub(jitter) + (jitter * 2).mul_f64(unit)
    }
}

/// Discord, or one route of it, down for a while of real time.
#[derive(Clone, Debug)]
pub struct Outage {
    /// (method, route as [`route_of`] writes it); `None`: every REST call
    /// (all of Discord but the gateway).
    pub route: Option<(String, String)>,
    pub kind: OutageKind,
    /// When it ends.
    pub until: std::time::Instant,
}

/// How a request meets an [`Outage`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutageKind {
    /// Answered at once with this status (a 5xx) and Discord's error body,
    /// `{"message": "503: Service Unavailable", "code": 0}`; the request is
    /// not handled (nothing changes, no rate limit counts it).
    Status(u16),
    /// Never answered: the request is held, unhandled, while the outage
    /// lasts (at most [`OUTAGE_HOLD`]), then its connection is closed
    /// without an answer. The client's own timeout is what it sees.
    Timeout,
}

/// The longest a request is held by an [`OutageKind::Timeout`] outage.
pub const OUTAGE_HOLD: Duration = Duration::from_secs(60);

impl Outage {
    /// Every REST call fails so for `lasting` from now.
    pub fn everywhere(kind: OutageKind, lasting: Duration) -> Outage {
        Outage { route: None, kind, until: std::time::Instant::now() + lasting }
    }

    /// Calls of `method` on `route` (as [`route_of`] writes it) fail so for
    /// `lasting` from now: the same failure on every try for a period.
    pub fn on_route(method: &str, route: &str, kind: OutageKind, lasting: Duration) -> Outage {
        Outage {
            route: Some((method.to_string(), route.to_string())),
            kind,
            until: std::time::Instant::now() + lasting,
        }
    }

    fn covers(&self, method: &str, route: &str, now: std::time::Instant) -> bool {
        now < self.until && self.route.as_ref().is_none_or(|(m, r)| m == method && r == route)
    }
}

/// (bucket, top-level resource) -> its queue of waiting requests.
type Queues = std::collections::HashMap<(String, String), Arc<tokio::sync::Mutex<()>>>;

pub(crate) struct Inner {
    pub world: Mutex<World>,
    pub changed: Notify,
    pub hub: Hub,
    pub faults: Mutex<Vec<Fault>>,
    pub buckets: Mutex<Buckets>,
    pub addr: SocketAddr,
    pub latency: Mutex<Latency>,
    /// Whether requests past a rate limit wait for room instead of a 429.
    pub pacing_proxy: std::sync::atomic::AtomicBool,
    /// The client is someone else's rate-limit proxy in front of the bot
    /// (`FakeDiscord::judge_client_pacing(false)`): a 429 it earns is counted
    /// (`earned_429s`), not a violation of the bot's.
    pub foreign_client: std::sync::atomic::AtomicBool,
    pub earned_429s: std::sync::atomic::AtomicUsize,
    /// (bucket, top-level resource) -> the queue of requests waiting on it
    /// in pacing-proxy mode (a fair, first-come first-served async mutex).
    pub queues: Mutex<Queues>,
    pub outages: Mutex<Vec<Outage>>,
    /// Woken when outages are added or ended.
    pub outages_changed: Notify,
}

impl Inner {
    /// Run `f` on the world, then publish the gateway events it produced and
    /// wake everyone waiting for a change.
    pub fn mutate<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        let (out, events) = {
            let mut w = self.world.lock();
            let out = f(&mut w);
            (out, std::mem::take(&mut w.pending_events))
        };
        for (name, data) in events {
            self.hub.dispatch(&name, data);
        }
        self.changed.notify_waiters();
        out
    }
}

/// A running fake Discord. Cheap to clone; the server stops when the last
/// clone is dropped... in practice it lives for the test's runtime.
#[derive(Clone)]
pub struct FakeDiscord {
    pub(crate) inner: Arc<Inner>,
    /// The guild seeded at start.
    pub guild_id: u64,
}

impl FakeDiscord {
    /// Start a fake with one guild ("Test Guild") holding the bot, an owner,
    /// an admin role and a #general channel.
    pub async fn start() -> FakeDiscord {
        let mut world = World::new();
        let guild_id = seed_guild(&mut world, "Test Guild");
        Self::serve(world, guild_id).await
    }

    /// Start a fake on a world kept from an earlier one
    /// ([`FakeDiscord::snapshot`]); its first guild is `guild_id`.
    pub async fn start_from(world: World) -> Option<FakeDiscord> {
        let guild_id = *world.guilds.keys().next()?;
        Some(Self::serve(world, guild_id).await)
    }

    /// The world as it is now, to start a later fake from
    /// ([`World::restore`], [`FakeDiscord::start_from`]).
    pub fn snapshot(&self) -> Vec<u8> {
        self.inner.world.lock().snapshot()
    }

    async fn serve(world: World, guild_id: u64) -> FakeDiscord {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let inner = Arc::new(Inner {
            world: Mutex::new(world),
            changed: Notify::new(),
            hub: Hub::default(),
            faults: Mutex::new(Vec::new()),
            buckets: Mutex::new(Buckets::default()),
            addr,
            latency: Mutex::new(Latency::off()),
            pacing_proxy: std::sync::atomic::AtomicBool::new(false),
            foreign_client: std::sync::atomic::AtomicBool::new(false),
            earned_429s: std::sync::atomic::AtomicUsize::new(0),
            queues: Mutex::new(std::collections::HashMap::new()),
            outages: Mutex::new(Vec::new()),
            outages_changed: Notify::new(),
        });
        let app = Router::new()
            .route("/gateway", get(gateway_upgrade))
            .route(crate::gateway::RESUME_PATH, get(resume_gateway_upgrade))
            .fallback(rest_entry)
            .with_state(inner.clone());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        FakeDiscord { inner, guild_id }
    }

    /// `http://127.0.0.1:PORT`, for serenity's `HttpBuilder::proxy`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.inner.addr)
    }

    pub fn bot_user_id(&self) -> u64 {
        self.inner.world.lock().bot_user_id
    }

    /// Resolves at the next change of the world (any `mutate`, including the
    /// bot's requests): for a client that shows the world live.
    pub fn changed(&self) -> impl std::future::Future<Output = ()> + Send + 'static {
        let inner = self.inner.clone();
        async move { inner.changed.notified().await }
    }

    /// Read the world.
    pub fn with<T>(&self, f: impl FnOnce(&World) -> T) -> T {
        f(&self.inner.world.lock())
    }

    /// Change the world as a user or admin would in Discord's client; the
    /// gateway events are emitted.
    pub fn mutate<T>(&self, f: impl FnOnce(&mut World) -> T) -> T {
        self.inner.mutate(f)
    }

    /// Make matching requests fail.
    pub fn inject(&self, fault: Fault) {
        self.inner.faults.lock().push(fault);
    }

    pub fn clear_faults(&self) {
        self.inner.faults.lock().clear();
    }

    /// Discord's rate limits from now on, in place of the default ones
    /// (every window starts afresh).
    pub fn set_rate_limits(&self, limits: RateLimits) {
        let mut b = self.inner.buckets.lock();
        *b = Buckets { limits, ..Buckets::default() };
    }

    /// How long REST calls take from now on ([`Latency`]; off at start).
    pub fn set_latency(&self, latency: Latency) {
        *self.inner.latency.lock() = latency;
    }

    /// Pacing-proxy mode: a request that the rate limits would refuse (a
    /// route or global 429) is instead held until its bucket has room, then
    /// handled: slow answers, never a 429, as a bot behind a rate-limit
    /// proxy such as twilight-http-proxy sees Discord. Requests on one
    /// bucket (and top-level resource) go through in the order they
    /// arrived. Injected faults, outages and latency apply as before.
    pub fn set_pacing_proxy(&self, on: bool) {
        self.inner.pacing_proxy.store(on, std::sync::atomic::Ordering::SeqCst);
    }

    /// Discord, or a route of it, is down until `outage.until` (see
    /// [`Outage`], [`OutageKind`]).
    pub fn outage(&self, outage: Outage) {
        self.inner.outages.lock().push(outage);
        self.inner.outages_changed.notify_waiters();
    }

    /// End every outage now; requests held by a timeout outage have their
    /// connection closed without an answer.
    pub fn end_outages(&self) {
        self.inner.outages.lock().clear();
        self.inner.outages_changed.notify_waiters();
    }

    /// Move the fake's clock forward by `by` without waiting: interaction
    /// tokens older than 15 minutes on it stop working, nonces older than
    /// the window are forgotten. The 3-second first-response rule stays on
    /// real time.
    pub fn advance(&self, by: Duration) {
        self.mutate(|w| w.advance(by));
    }

    /// A user opens or closes their DMs to the bot (50007 when closed).
    pub fn set_dms_open(&self, user_id: u64, open: bool) {
        self.mutate(|w| {
            if let Some(u) = w.users.get_mut(&user_id) {
                u.dms_open = open;
            }
        });
    }

    /// Rules broken so far (late or double interaction responses, requests
    /// outside Discord's documented contract).
    pub fn violations(&self) -> Vec<String> {
        self.inner.world.lock().violations.clone()
    }

    /// Invalid requests (401, 403, 429) answered in the last 10 minutes:
    /// Discord bans an address past 10,000.
    pub fn invalid_requests(&self) -> usize {
        self.inner.world.lock().invalid_requests.len()
    }

    /// Whether a 429 the client earns is the bot's violation (the default),
    /// or counted only (`false`): the client is a third party's rate-limit
    /// proxy in front of the bot, whose own pacing the test does not judge.
    pub fn judge_client_pacing(&self, judge: bool) {
        self.inner.foreign_client.store(!judge, std::sync::atomic::Ordering::SeqCst);
    }

    /// 429s the limits gave that nobody injected (each a violation unless
    /// `judge_client_pacing(false)`).
    pub fn earned_429s(&self) -> usize {
        self.inner.earned_429s.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Panics listing the violations, if any.
    pub fn assert_no_violations(&self) {
        let v = self.violations();
        assert!(v.is_empty(), "the bot broke Discord's rules:\n{}", v.join("\n"));
    }

    /// Wait until `cond` holds (checked after every change), at most `secs`.
    pub async fn wait_until_for(&self, secs: u64, what: &str, cond: impl Fn(&World) -> bool) {
        self.wait_for(secs, what, || cond(&self.inner.world.lock())).await
    }

    /// Wait until `cond` holds, re-checking after every change of the fake's
    /// state (REST calls, gateway connections); panics after `secs`.
    pub async fn wait_for(&self, secs: u64, what: &str, cond: impl Fn() -> bool) {
        let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
        loop {
            let notified = self.inner.changed.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if cond() {
                return;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                if cond() {
                    return;
                }
                panic!("timed out waiting for: {what}");
            }
        }
    }

    /// Wait (up to 10 s) until `cond` holds.
    pub async fn wait_until(&self, what: &str, cond: impl Fn(&World) -> bool) {
        self.wait_until_for(10, what, cond).await
    }

    /// Close every gateway connection, as Discord does now and then; the
    /// client is expected to reconnect and RESUME.
    pub fn drop_gateway(&self) {
        let now = self.inner.world.lock().now();
        self.inner.hub.drop_connections(now);
    }

    /// HELLO's `heartbeat_interval` for connections opened from now on
    /// (Discord: 41250 ms), so a test can see a missed heartbeat quickly.
    pub fn set_heartbeat_interval(&self, interval: Duration) {
        self.set_gateway(|g| g.heartbeat_interval_ms = interval.as_millis() as u64);
    }

    /// The open gateway connections go silent, as a "zombied" connection
    /// (gateway.md, "Heartbeat Interval"): no heartbeat ACK, no dispatch.
    /// The client should notice the missing ACK, close the connection with a
    /// code other than 1000 or 1001, reconnect and RESUME; what happened in
    /// between is replayed then.
    pub fn zombie_gateway(&self) {
        let now = self.inner.world.lock().now();
        self.inner.hub.zombify(now);
        self.inner.changed.notify_waiters();
    }

    /// Send Reconnect (op 7) to the bot's sessions: the client should
    /// reconnect and RESUME; dispatches from now on are replayed then.
    pub fn reconnect_gateway(&self) {
        let now = self.inner.world.lock().now();
        self.inner.hub.reconnect(now);
        self.inner.changed.notify_waiters();
    }

    /// Invalid Session (op 9) with `d: true`: the session may be resumed,
    /// and a RESUME replays what happened since.
    pub fn invalidate_session_resumable(&self) {
        let now = self.inner.world.lock().now();
        self.inner.hub.invalidate_resumable(now);
        self.inner.changed.notify_waiters();
    }

    /// Request a heartbeat (op 1 from the server) on every open connection;
    /// one that does not send one soon is closed with 4009.
    pub fn request_heartbeat(&self) {
        self.inner.hub.request_heartbeat();
    }

    /// Connections closed (4009) because no heartbeat came in time.
    pub fn missed_heartbeats(&self) -> usize {
        self.inner.hub.missed_heartbeats()
    }

    /// Heartbeats that zombied connections received and left unanswered.
    pub fn unacked_heartbeats(&self) -> usize {
        self.inner.hub.unacked_heartbeats()
    }

    /// RESUMEs refused (op 9 `d: false`, or 4007), with the reason.
    pub fn refused_resumes(&self) -> Vec<String> {
        self.inner.hub.refused_resumes()
    }

    /// Invalidate the bot's gateway sessions (op 9, not resumable): events
    /// from now until it identifies again are lost, as on Discord. With
    /// `hold`, its new IDENTIFY is left unanswered until `end_session_gap`,
    /// so what happens in between is surely missed.
    pub fn invalidate_session(&self, hold: bool) {
        self.inner.hub.invalidate_sessions(hold);
        self.inner.changed.notify_waiters();
    }

    /// Wait until the bot, its session invalidated, has sent a new IDENTIFY
    /// that the fake is holding back.
    pub async fn wait_for_held_identify(&self) {
        let inner = self.inner.clone();
        self.wait_for(30, "the bot identified again after op 9", move || {
            crate::gateway::held_identify_count(&inner) > 0
        })
        .await
    }

    /// Answer the held IDENTIFY: READY and GUILD_CREATE, a new session.
    pub fn end_session_gap(&self) {
        crate::gateway::release_identify(&self.inner);
    }

    /// Send an already-sent dispatch again (as Discord may after a resume).
    pub fn replay_event(&self, event_name: &str) -> bool {
        self.inner.hub.replay_last(event_name)
    }

    /// Number of gateway sessions that have identified so far.
    pub fn identify_count(&self) -> usize {
        self.inner.hub.identify_count()
    }

    /// Number of RESUMEs the gateway accepted.
    pub fn resume_count(&self) -> usize {
        self.inner.hub.resume_count()
    }

    /// The same fake, its scenario helpers (`admin`, `member`, `role_named`,
    /// ...) acting in guild `guild_id`.
    pub fn in_guild(&self, guild_id: u64) -> FakeDiscord {
        FakeDiscord { inner: self.inner.clone(), guild_id }
    }

    /// Seed another guild (as `FakeDiscord::start` seeds the first) whose id
    /// routes it to `shard` of `num_shards`; returns its id.
    pub fn add_guild_on_shard(&self, name: &str, shard: u64, num_shards: u64) -> u64 {
        self.mutate(|w| {
            let id = w.snowflake_on_shard(shard, num_shards);
            seed_guild_as(w, id, name)
        })
    }

    /// Change what `GET /gateway/bot` answers and the gateway's limits.
    pub fn set_gateway(&self, f: impl FnOnce(&mut crate::world::GatewaySettings)) {
        self.mutate(|w| f(&mut w.gateway));
    }

    /// Every gateway session, connected or resumable, with its shard and
    /// the guilds its READY listed.
    pub fn sessions(&self) -> Vec<crate::gateway::SessionInfo> {
        self.inner.hub.sessions()
    }

    /// The shards of the connected sessions an interaction was sent to.
    pub fn interaction_receivers(&self, interaction_id: u64) -> Vec<[u64; 2]> {
        self.inner.hub.interaction_receivers(interaction_id)
    }

    /// IDENTIFYs refused so far, with their close code (4010, 4011, 4014) and reason.
    pub fn refused_identifies(&self) -> Vec<(u16, String)> {
        self.inner.hub.refused_identifies()
    }

    /// IDENTIFYs answered with Invalid Session (op 9) for the session start
    /// limits (`max_concurrency` per 5 s, the day's remaining), with the reason.
    pub fn invalid_identifies(&self) -> Vec<String> {
        self.inner.hub.invalid_identifies()
    }

    /// Wait until a connected session holds `shard` ([id, count]).
    pub async fn wait_for_shard(&self, shard: [u64; 2]) {
        let hub = &self.inner.hub;
        self.wait_for(30, &format!("a session on shard {shard:?}"), || hub.has_ready_shard(shard)).await
    }

    /// Wait until a bot session is connected and has received its guilds.
    pub async fn wait_for_bot(&self) {
        let hub = &self.inner.hub;
        self.wait_for(20, "a bot session connected", || hub.has_ready_session()).await
    }

    /// Wait until more than `before` sessions have identified.
    pub async fn wait_for_identify(&self, before: usize) {
        let hub = &self.inner.hub;
        self.wait_for(20, "the bot identified", || hub.identify_count() > before).await
    }

    /// Wait until more than `before` RESUMEs were accepted.
    pub async fn wait_for_resume(&self, before: usize) {
        let hub = &self.inner.hub;
        self.wait_for(20, "the bot resumed", || hub.resume_count() > before).await
    }
}

/// Seed a guild: @everyone, the bot's managed role, an "Admins" role with
/// Manage Server, an owner, the bot as a member, and #general.
pub fn seed_guild(w: &mut World, name: &str) -> u64 {
    let guild_id = w.snowflake();
    seed_guild_as(w, guild_id, name)
}

/// `seed_guild`, with the guild's id given.
pub fn seed_guild_as(w: &mut World, guild_id: u64, name: &str) -> u64 {
    let owner_id = w.snowflake();
    w.users.insert(owner_id, User { id: owner_id, username: "owner".into(), bot: false, dms_open: true });
    let bot_role = w.snowflake();
    let admin_role = w.snowflake();
    let roles = vec![
        Role {
            id: guild_id,
            name: "@everyone".into(),
            color: 0,
            hoist: false,
            managed: false,
            mentionable: false,
            permissions: perms::EVERYONE_DEFAULT,
            position: 0,
        },
        Role {
            id: admin_role,
            name: "Admins".into(),
            color: 0,
            hoist: true,
            managed: false,
            mentionable: false,
            permissions: perms::EVERYONE_DEFAULT | perms::MANAGE_GUILD | perms::MANAGE_ROLES | perms::MANAGE_CHANNELS,
            position: 1,
        },
        Role {
            id: bot_role,
            name: "Guildhall".into(),
            color: 0,
            hoist: false,
            managed: true,
            mentionable: false,
            permissions: crate::BOT_PERMISSIONS,
            position: 2,
        },
    ];
    let now = chrono::Utc::now();
    let mut members = std::collections::BTreeMap::new();
    members.insert(owner_id, Member { user_id: owner_id, roles: vec![], joined_at: now });
    let bot = w.bot_user_id;
    members.insert(bot, Member { user_id: bot, roles: vec![bot_role], joined_at: now });
    let general = w.snowflake();
    w.channels.insert(
        general,
        Channel {
            id: general,
            guild_id: Some(guild_id),
            kind: crate::world::channel_type::TEXT,
            name: "general".into(),
            parent_id: None,
            position: 0,
            topic: None,
            overwrites: vec![],
            owner_id: None,
            archived: false,
            locked: false,
        },
    );
    w.guilds.insert(
        guild_id,
        Guild {
            id: guild_id,
            name: name.into(),
            owner_id,
            roles,
            members,
            channels: vec![general],
            forums_available: true,
            attachment_size_limit: crate::world::DEFAULT_ATTACHMENT_SIZE_LIMIT,
        },
    );
    guild_id
}

async fn gateway_upgrade(State(inner): State<Arc<Inner>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| crate::gateway::serve(inner, socket, false))
}

/// The gateway again, at READY's `resume_gateway_url`.
async fn resume_gateway_upgrade(State(inner): State<Arc<Inner>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| crate::gateway::serve(inner, socket, true))
}

/// A REST request: half its [`Latency`] on the way in, the answer (an
/// outage's, or the rate limits' and the handler's), the other half on the
/// way out.
async fn rest_entry(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw_path = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| uri.path().to_string());
    let path = raw_path.split('?').next().unwrap_or_default();
    let delay = match path.strip_prefix("/api/v10") {
        Some(api_path) => inner.latency.lock().draw(method.as_str(), &route_of(api_path)),
        None => Duration::ZERO,
    };
    let there = delay / 2;
    pause(there).await;
    let resp = match meet_outage(&inner, method.as_str(), &raw_path, &body).await {
        Some(resp) => resp,
        None => answer(&inner, method, raw_path, headers, body).await,
    };
    pause(delay - there).await;
    resp
}

async fn pause(d: Duration) {
    if !d.is_zero() {
        tokio::time::sleep(d).await;
    }
}

/// Discord's message for a server error status.
fn server_error_message(status: u16) -> String {
    let reason = StatusCode::from_u16(status).ok().and_then(|s| s.canonical_reason()).unwrap_or("Server Error");
    format!("{status}: {reason}")
}

/// What an outage does to a request that arrives now: `None` when none
/// covers it; an answer for an [`OutageKind::Status`] one; for an
/// [`OutageKind::Timeout`] one, no return: the request is held while the
/// outage lasts (at most [`OUTAGE_HOLD`]), then its connection is closed
/// unanswered.
async fn meet_outage(inner: &Inner, method: &str, raw_path: &str, body: &Bytes) -> Option<Response> {
    let path = raw_path.split('?').next().unwrap_or_default();
    // Logged as sent, body included (the contract check reads the log).
    let sent: Option<Value> = serde_json::from_slice(body).ok();
    let route = route_of(path);
    let arrived = tokio::time::Instant::now();
    let covering = |now: std::time::Instant| {
        let mut outages = inner.outages.lock();
        outages.retain(|o| now < o.until);
        let first = outages.iter().find(|o| o.covers(method, &route, now))?.kind;
        let last_until = outages.iter().filter(|o| o.covers(method, &route, now)).map(|o| o.until).max()?;
        Some((first, last_until))
    };
    let (kind, _) = covering(std::time::Instant::now())?;
    if let OutageKind::Status(status) = kind {
        let err = ApiError::new(status, 0, &server_error_message(status));
        crate::reqlog::log_request(method, raw_path, sent.as_ref(), status);
        inner.world.lock().requests.push((method.to_string(), path.to_string(), status));
        inner.changed.notify_waiters();
        return Some(error_response(&err, None));
    }
    loop {
        let changed = inner.outages_changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        let still = covering(std::time::Instant::now()).filter(|(k, _)| *k == OutageKind::Timeout);
        let Some((_, until)) = still else { break };
        let give_up = arrived + OUTAGE_HOLD;
        if tokio::time::Instant::now() >= give_up {
            break;
        }
        let wake = tokio::time::Instant::from_std(until).min(give_up);
        tokio::select! {
            _ = tokio::time::sleep_until(wake) => {}
            _ = changed => {}
        }
    }
    // Logged with status 0: never answered.
    crate::reqlog::log_request(method, raw_path, sent.as_ref(), 0);
    // Close the connection without an answer: unwinding the connection's
    // task (which tokio catches) drops its socket; `resume_unwind` skips the
    // panic hook, so nothing is printed.
    std::panic::resume_unwind(Box::new("fake-discord: a request timed out in an outage"))
}

/// The rate limits' word on a request; in pacing-proxy mode, after waiting
/// (in its bucket's queue, first come first served, holding no lock but the
/// queue's turn) until the limits have room for it.
async fn admit(inner: &Inner, method: &str, api_path: &str) -> Limited {
    if !inner.pacing_proxy.load(std::sync::atomic::Ordering::SeqCst) {
        return rate_limit(inner, method, api_path);
    }
    let application_id = inner.world.lock().application_id;
    let (bucket, resource, _) = bucket_in(&inner.buckets.lock().limits, method, api_path, application_id);
    let queue = inner.queues.lock().entry((bucket, resource)).or_default().clone();
    let _turn = queue.lock().await;
    loop {
        let limited = rate_limit(inner, method, api_path);
        match limited.refused {
            Some((retry, _)) => {
                tokio::time::sleep(Duration::from_secs_f64(retry) + Duration::from_millis(1)).await;
            }
            None => return limited,
        }
    }
}

/// The answer to a request that met no outage.
async fn answer(inner: &Arc<Inner>, method: Method, raw_path: String, headers: HeaderMap, body: Bytes) -> Response {
    let content_type = headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
    let mut files = Vec::new();
    let json_body: Option<Value> = if body.len() > crate::upload::MAX_REQUEST_BYTES {
        // message.md, Create Message: "The maximum request size when sending a message is 25 MiB".
        let err = ApiError::new(413, 40005, "Request entity too large");
        crate::reqlog::log_request(method.as_str(), &raw_path, None, err.status);
        return error_response(&err, None);
    } else if crate::upload::is_multipart(&content_type) {
        match crate::upload::parse(&content_type, body).await {
            Ok(m) => {
                files = m.files;
                Some(m.payload)
            }
            Err(err) => {
                inner.world.lock().violations.push(format!("{method} {raw_path}: {}", err.message));
                crate::reqlog::log_request(method.as_str(), &raw_path, None, err.status);
                return error_response(&err, None);
            }
        }
    } else if body.is_empty() {
        None
    } else {
        match serde_json::from_slice(&body) {
            Ok(v) => Some(v),
            Err(_) => {
                let err = ApiError::invalid_form("body is not JSON");
                inner.world.lock().violations.push(format!("{method} {raw_path}: body is not JSON"));
                crate::reqlog::log_request(method.as_str(), &raw_path, None, err.status);
                return error_response(&err, None);
            }
        }
    };
    let path_only = raw_path.split('?').next().unwrap_or_default().strip_prefix("/api/v10").unwrap_or_default();
    let limited = admit(inner, method.as_str(), path_only).await;
    let mut then = Then::default();
    let status_and_body = match limited.refused {
        Some((retry, global)) => {
            // Nothing injected this one: the client did not pace itself.
            inner.earned_429s.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if !inner.foreign_client.load(std::sync::atomic::Ordering::SeqCst) {
                let scope = if global { "the global limit" } else { "its route's bucket" };
                inner.world.lock().violations.push(format!(
                    "{method} {path_only}: the client earned a 429 past {scope} (a 429 nobody injected; pace by the rate-limit headers and 50 requests a second)"
                ));
            }
            Err((ApiError::new(429, 0, "You are being rate limited."), Some(retry), global))
        }
        None => handle(inner, &method, &raw_path, &headers, json_body.as_ref(), &files, &mut then)
            .map_err(|(e, r)| (e, r, false)),
    };
    if let Some(after) = then.answer_after {
        tokio::time::sleep(after).await;
    }
    let (status, out, retry_after) = match status_and_body {
        Ok((status, v)) => (status, v, None),
        Err((e, retry, global)) => {
            let mut body = e.body();
            if let (429, Some(r)) = (e.status, retry) {
                // Discord's rate limit response: message, retry_after, global.
                body = json!({"message": e.message, "retry_after": r, "global": global});
            }
            (e.status, Some(body), retry.filter(|_| limited.refused.is_none()))
        }
    };
    // A multipart body is logged as the object it is validated as (its
    // payload and a `files[n]` string per file), so `check-log` can check it too.
    let logged = if files.is_empty() {
        json_body.clone()
    } else {
        Some(crate::upload::as_form_object(json_body.as_ref().unwrap_or(&Value::Null), &files))
    };
    crate::reqlog::log_request(method.as_str(), &raw_path, logged.as_ref(), status);
    {
        let path = raw_path.split('?').next().unwrap_or_default().to_string();
        let mut w = inner.world.lock();
        w.requests.push((method.as_str().to_string(), path, status));
        // The limits' 429s are of the user or global scope; an injected
        // one may be shared.
        w.count_invalid(status, then.shared_scope);
        drop(w);
        inner.changed.notify_waiters();
    }
    let mut resp = match out {
        Some(v) => (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), axum::Json(v)).into_response(),
        None => StatusCode::from_u16(status).unwrap_or(StatusCode::NO_CONTENT).into_response(),
    };
    {
        let h = resp.headers_mut();
        for (k, v) in &limited.headers {
            h.insert(*k, v.parse().expect("header"));
        }
    }
    if then.drop_gateway {
        // The call did its work; the gateway goes before the client reads
        // the answer, so nothing it does next reaches a live session.
        let now = inner.world.lock().now();
        inner.hub.drop_connections(now);
        inner.changed.notify_waiters();
    }
    if let Some(r) = retry_after {
        let h = resp.headers_mut();
        h.insert("retry-after", r.ceil().to_string().parse().expect("header"));
        h.insert("x-ratelimit-retry-after", r.to_string().parse().expect("header"));
        let scope = if then.shared_scope { "shared" } else { "user" };
        h.insert("x-ratelimit-scope", scope.parse().expect("header"));
    }
    resp
}

/// What a fault asks of the answer once the request is handled: hold it,
/// or close the gateway after it.
#[derive(Default)]
struct Then {
    answer_after: Option<Duration>,
    drop_gateway: bool,
    /// The answer is an injected 429 of the `shared` scope.
    shared_scope: bool,
}

type Handled = Result<(u16, Option<Value>), (ApiError, Option<f64>)>;

fn handle(
    inner: &Inner,
    method: &Method,
    raw_path: &str,
    headers: &HeaderMap,
    body: Option<&Value>,
    files: &[crate::upload::FilePart],
    then: &mut Then,
) -> Handled {
    let path = raw_path.split('?').next().unwrap_or("");
    let Some(api_path) = path.strip_prefix("/api/v10") else {
        inner.world.lock().violations.push(format!("{method} {raw_path}: not under /api/v10"));
        return Err((ApiError::new(404, 0, "404: Not Found"), None));
    };
    // Discord: every request carries the bot's token and a
    // `DiscordBot (url, version)` user agent (without one Cloudflare may
    // block it, 40333).
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).unwrap_or_default();
    if !header("authorization").starts_with("Bot ") {
        inner.world.lock().violations.push(format!("{method} {raw_path}: no `Authorization: Bot <token>` header"));
        return Err((ApiError::new(401, 0, "401: Unauthorized"), None));
    }
    if !header("user-agent").starts_with("DiscordBot") {
        inner.world.lock().violations.push(format!("{method} {raw_path}: no `User-Agent: DiscordBot (url, version)`"));
        return Err((ApiError::new(403, 40333, "internal network error"), None));
    }
    let multipart = crate::upload::is_multipart(header("content-type"));
    let checked = if multipart {
        let form = crate::upload::as_form_object(body.unwrap_or(&Value::Null), files);
        Spec::global().check_multipart(method.as_str(), raw_path, &form)
    } else {
        Spec::global().check(method.as_str(), raw_path, body)
    };
    if let Err(why) = checked {
        inner.world.lock().violations.push(why.clone());
        return Err((ApiError::invalid_form(&why), None));
    }
    let query: Vec<(String, String)> = raw_path
        .split_once('?')
        .map(|(_, q)| {
            q.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
        })
        .unwrap_or_default();
    // What Discord refuses beyond the schema (limits, exclusive fields).
    if let Err(why) = crate::strict::check(method.as_str(), api_path, &query, body) {
        let why = format!("{method} {raw_path}: {why}");
        inner.world.lock().violations.push(why.clone());
        return Err((ApiError::invalid_form(&why), None));
    }
    let mut fault = take_fault(inner, method.as_str(), api_path);
    if let Some(after) = fault.as_ref().and_then(|f| f.answer_after) {
        then.answer_after = Some(after);
        fault = None;
    }
    if fault.as_ref().is_some_and(|f| f.drop_gateway) {
        then.drop_gateway = true;
        fault = None;
    }
    then.shared_scope = fault.as_ref().is_some_and(|f| f.shared && f.status == 429);
    if let Some(fault) = fault.as_ref().filter(|f| !f.after_processing) {
        let e = ApiError::new(fault.status, fault.code, &fault.message);
        return Err((e, fault.retry_after));
    }
    let reason = headers.get("x-audit-log-reason").and_then(|v| v.to_str().ok()).map(percent_decode);
    let segs: Vec<&str> = api_path.trim_start_matches('/').split('/').collect();
    let req = rest::Request {
        method: method.as_str(),
        segs: &segs,
        query: &query,
        body,
        reason,
        ws_url: format!("ws://{}/gateway", inner.addr),
        files,
    };
    let out = inner.mutate(|w| rest::route(w, &req)).map_err(|e| (e, None));
    match fault {
        Some(f) => Err((ApiError::new(f.status, f.code, &f.message), f.retry_after)),
        None => out,
    }
}

fn take_fault(inner: &Inner, method: &str, path: &str) -> Option<Fault> {
    let mut faults = inner.faults.lock();
    let route = route_of(path);
    let idx = faults.iter().position(|f| {
        f.times > 0
            && f.method.as_deref().is_none_or(|m| m == method)
            && match &f.route {
                Some(r) => *r == route,
                None => path.contains(&f.path_contains),
            }
    })?;
    if faults[idx].skip > 0 {
        faults[idx].skip -= 1;
        return None;
    }
    faults[idx].times -= 1;
    let f = faults[idx].clone();
    if faults[idx].times == 0 {
        faults.remove(idx);
    }
    Some(f)
}

fn error_response(e: &ApiError, _retry: Option<f64>) -> Response {
    (
        StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
        axum::Json(json!({"code": e.code, "message": e.message})),
    )
        .into_response()
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' && i + 2 < bytes.len() {
            if let Ok(b) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(b);
                i += 3;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn send(fake: &FakeDiscord, channel: u64, body: Value) -> reqwest::Response {
        reqwest::Client::builder()
            .user_agent("DiscordBot (test, 1)")
            .no_proxy()
            .build()
            .unwrap()
            .post(format!("{}/api/v10/channels/{channel}/messages", fake.base_url()))
            .header("Authorization", "Bot test")
            .json(&body)
            .send()
            .await
            .unwrap()
    }

    fn id_of(v: &Value) -> u64 {
        v["id"].as_str().unwrap().parse().unwrap()
    }

    /// A request as the bot sends it: the status and the JSON answer (null when none).
    async fn call(fake: &FakeDiscord, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
        let client = reqwest::Client::builder().user_agent("DiscordBot (test, 1)").no_proxy().build().unwrap();
        let mut req =
            client.request(method, format!("{}/api/v10{path}", fake.base_url())).header("Authorization", "Bot t");
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req.send().await.unwrap();
        let status = r.status().as_u16();
        (status, r.json::<Value>().await.unwrap_or(Value::Null))
    }

    /// A member presses a button on a bot message in #general; returns the
    /// interaction's id and token.
    fn press(fake: &FakeDiscord) -> (u64, String) {
        let general = fake.general_channel();
        let bot = fake.bot_user_id();
        let card = fake.mutate(|w| {
            let v = crate::rest::post_message(w, general, bot, &json!({"content": "card"}), None).unwrap();
            id_of(&v)
        });
        let iid = fake.member("presser").click_nowait(card, "go");
        (iid, fake.with(|w| w.interactions[&iid].token.clone()))
    }

    /// receiving-and-responding.md: "Interaction tokens are valid for **15
    /// minutes**, meaning you can respond to an interaction within that
    /// amount of time" (follow-ups, edits of `@original`); past them the
    /// webhook answers 401 50027 "Invalid webhook token provided"
    /// (opcodes-and-status-codes.md) and a first response "Unknown
    /// interaction" (10062). The test clock moves without waiting.
    #[tokio::test]
    async fn interaction_tokens_expire_after_15_minutes_on_the_test_clock() {
        use reqwest::Method;
        let fake = FakeDiscord::start().await;
        let app = fake.bot_user_id();
        let (iid, token) = press(&fake);
        let reply = json!({"type": 4, "data": {"content": "hi", "flags": 64}});
        let (status, _) =
            call(&fake, Method::POST, &format!("/interactions/{iid}/{token}/callback"), Some(reply)).await;
        assert_eq!(status, 204);
        let original = format!("/webhooks/{app}/{token}/messages/@original");
        let followup = format!("/webhooks/{app}/{token}");
        fake.advance(Duration::from_secs(14 * 60));
        assert_eq!(call(&fake, Method::PATCH, &original, Some(json!({"content": "edited"}))).await.0, 200);
        assert_eq!(call(&fake, Method::POST, &followup, Some(json!({"content": "more"}))).await.0, 200);
        fake.advance(Duration::from_secs(61));
        let (status, body) = call(&fake, Method::PATCH, &original, Some(json!({"content": "late"}))).await;
        assert_eq!((status, &body["code"]), (401, &json!(50027)), "{body}");
        let (status, body) = call(&fake, Method::POST, &followup, Some(json!({"content": "late"}))).await;
        assert_eq!((status, &body["code"]), (401, &json!(50027)), "{body}");
        assert_eq!(call(&fake, Method::GET, &original, None).await.0, 401);
        assert_eq!(call(&fake, Method::DELETE, &original, None).await.0, 401);
        fake.with(|w| {
            let i = &w.interactions[&iid];
            assert_eq!(i.followups.len(), 1, "only the follow-up in time was posted");
            assert_eq!(w.find_message(i.original.unwrap()).unwrap().content, "edited");
        });

        // A press made after the clock moved has its own 15 minutes.
        let (iid, token) = press(&fake);
        assert_eq!(
            call(&fake, Method::POST, &format!("/interactions/{iid}/{token}/callback"), Some(json!({"type": 6})))
                .await
                .0,
            204
        );
        assert_eq!(
            call(&fake, Method::POST, &format!("/webhooks/{app}/{token}"), Some(json!({"content": "ok"}))).await.0,
            200
        );

        // An initial response with an expired token: Unknown interaction.
        let (iid, token) = press(&fake);
        fake.advance(Duration::from_secs(16 * 60));
        let (status, body) =
            call(&fake, Method::POST, &format!("/interactions/{iid}/{token}/callback"), Some(json!({"type": 6}))).await;
        assert_eq!((status, &body["code"]), (404, &json!(10062)));
        fake.assert_no_violations();
    }

    #[tokio::test]
    async fn a_kept_world_serves_the_same_server_and_makes_new_ids_after_the_old() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        let sent = id_of(&send(&fake, general, json!({ "content": "kept" })).await.json::<Value>().await.unwrap());
        let ana = fake.member("Ana");
        let role = fake.create_role_by_hand("Kept", 0, false);
        fake.give_role(ana.user_id, role);
        let kept = fake.snapshot();

        let again = FakeDiscord::start_from(World::restore(&kept).unwrap()).await.unwrap();
        assert_eq!(again.guild_id, fake.guild_id);
        assert_eq!(again.bot_user_id(), fake.bot_user_id());
        again.with(|w| {
            let g = w.guild(fake.guild_id).unwrap();
            assert!(g.members[&ana.user_id].roles.contains(&role), "the member keeps the role");
            assert_eq!(w.users[&ana.user_id].username, "Ana");
            let m = &w.messages[&general];
            assert!(m.iter().any(|m| m.id == sent && m.content == "kept"), "the message is still there");
            assert!(w.interactions.is_empty() && w.requests.is_empty(), "nothing in flight is kept");
        });
        let newer = id_of(&send(&again, general, json!({ "content": "after" })).await.json::<Value>().await.unwrap());
        assert!(newer > sent, "a new message's id ({newer}) comes after the kept ones ({sent})");
    }

    /// A multipart/form-data body: `payload_json` and `files[n]` parts.
    fn multipart(payload: &Value, files: &[(&str, &str, &[u8])]) -> (String, Vec<u8>) {
        let boundary = "fake-discord-test-boundary";
        let mut b = Vec::new();
        for (name, filename, data) in files {
            b.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"; filename=\"{filename}\"\r\nContent-Type: text/csv\r\n\r\n"
                )
                .as_bytes(),
            );
            b.extend_from_slice(data);
            b.extend_from_slice(b"\r\n");
        }
        b.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"payload_json\"\r\n\r\n{payload}\r\n--{boundary}--\r\n")
                .as_bytes(),
        );
        (format!("multipart/form-data; boundary={boundary}"), b)
    }

    async fn upload(
        fake: &FakeDiscord,
        method: reqwest::Method,
        path: &str,
        payload: Value,
        files: &[(&str, &str, &[u8])],
    ) -> reqwest::Response {
        let (content_type, body) = multipart(&payload, files);
        reqwest::Client::builder()
            .user_agent("DiscordBot (test, 1)")
            .no_proxy()
            .build()
            .unwrap()
            .request(method, format!("{}/api/v10{path}", fake.base_url()))
            .header("Authorization", "Bot test")
            .header("Content-Type", content_type)
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// message.md, Create Message: files go in a multipart/form-data body,
    /// `payload_json` holding the rest; the message returned carries
    /// attachment objects (Attachment Structure: id, filename, size, url,
    /// proxy_url, content_type). Edit Message: "Any provided files will be
    /// **appended**"; the `attachments` array names the files to keep.
    #[tokio::test]
    async fn files_are_uploaded_stored_and_returned_as_attachments() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        let payload = json!({"content": "export", "attachments": [{"id": 0, "filename": "groups.csv"}]});
        let r = upload(
            &fake,
            reqwest::Method::POST,
            &format!("/channels/{general}/messages"),
            payload,
            &[("files[0]", "g.csv", b"id,name\n1,Rust\n")],
        )
        .await;
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.unwrap();
        assert_eq!(v["attachments"][0]["filename"], "groups.csv", "the attachments entry names the file");
        assert_eq!(v["attachments"][0]["size"], 15);
        assert_eq!(v["attachments"][0]["content_type"], "text/csv");
        assert!(v["attachments"][0]["url"].as_str().unwrap().ends_with("/groups.csv"));
        let mid = id_of(&v);
        let kept: u64 = v["attachments"][0]["id"].as_str().unwrap().parse().unwrap();
        fake.with(|w| assert_eq!(w.find_message(mid).unwrap().attachments[0].bytes, b"id,name\n1,Rust\n"));
        // An edit appends; naming one to keep drops the others.
        let path = format!("/channels/{general}/messages/{mid}");
        let r =
            upload(&fake, reqwest::Method::PATCH, &path, json!({"content": "more"}), &[("files[0]", "m.csv", b"x")])
                .await;
        assert_eq!(r.status(), 200);
        fake.with(|w| assert_eq!(w.find_message(mid).unwrap().attachments.len(), 2));
        let keep = json!({"attachments": [{"id": kept.to_string()}]});
        assert_eq!(upload(&fake, reqwest::Method::PATCH, &path, keep, &[]).await.status(), 200);
        fake.with(|w| {
            assert_eq!(w.find_message(mid).unwrap().attachments.iter().map(|a| a.id).collect::<Vec<_>>(), [kept])
        });
        fake.assert_no_violations();
    }

    /// opcodes-and-status-codes.md, 40005 "Request entity too large": a file
    /// over the server's `attachment_size_limit` (receiving-and-responding.md)
    /// is refused with 413 and posts nothing; an `attachments` entry with no
    /// `files[n]` part has no file (400 50035). A body outside the
    /// operation's multipart schema is `spec.rs`'s
    /// `multipart_bodies_are_checked_against_the_multipart_schema` (sent
    /// here it would put a request outside the contract in the suite's log).
    #[tokio::test]
    async fn uploads_over_the_servers_limit_or_without_their_file_are_refused() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        let gid = fake.guild_id;
        fake.mutate(|w| w.guilds.get_mut(&gid).unwrap().attachment_size_limit = 10);
        let path = format!("/channels/{general}/messages");
        let r = upload(
            &fake,
            reqwest::Method::POST,
            &path,
            json!({"content": "x"}),
            &[("files[0]", "big.csv", &[b'x'; 11])],
        )
        .await;
        assert_eq!(r.status(), 413);
        assert_eq!(r.json::<Value>().await.unwrap()["code"], 40005);
        let r = upload(
            &fake,
            reqwest::Method::POST,
            &path,
            json!({"content": "x"}),
            &[("files[0]", "ok.csv", &[b'x'; 10])],
        )
        .await;
        assert_eq!(r.status(), 200, "at the limit is fine");
        let missing = json!({"content": "x", "attachments": [{"id": 1, "filename": "gone.csv"}]});
        let r = upload(&fake, reqwest::Method::POST, &path, missing, &[("files[0]", "a.csv", b"a")]).await;
        assert_eq!(r.status(), 400);
        assert_eq!(r.json::<Value>().await.unwrap()["code"], 50035);
        assert_eq!(fake.with(|w| w.channel_messages(general).len()), 1, "only the upload within the limit posted");
        fake.assert_no_violations();
    }

    #[tokio::test]
    async fn enforce_nonce_returns_the_first_message_instead_of_posting_again() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        let body = json!({"content": "once", "nonce": "job-1", "enforce_nonce": true});
        let first: Value = send(&fake, general, body.clone()).await.json().await.unwrap();
        let again: Value = send(&fake, general, body).await.json().await.unwrap();
        assert_eq!(id_of(&first), id_of(&again));
        assert_eq!(fake.with(|w| w.channel_messages(general).len()), 1);
        // Without enforce_nonce, the same nonce posts again (Discord only checks when asked).
        send(&fake, general, json!({"content": "twice", "nonce": "job-1"})).await;
        assert_eq!(fake.with(|w| w.channel_messages(general).len()), 2);
        // A different nonce is a different message.
        send(&fake, general, json!({"content": "other", "nonce": "job-2", "enforce_nonce": true})).await;
        assert_eq!(fake.with(|w| w.channel_messages(general).len()), 3);
    }

    #[test]
    fn a_route_stands_ids_and_tokens_for_braces() {
        assert_eq!(route_of("/api/v10/channels/12/messages/34?x=1"), "/channels/{}/messages/{}");
        assert_eq!(route_of("/api/v10/guilds/1/members/2/roles/3"), "/guilds/{}/members/{}/roles/{}");
        assert_eq!(route_of("/api/v10/users/@me/channels"), "/users/@me/channels");
        assert_eq!(route_of("/api/v10/interactions/9/tok-9-10/callback"), "/interactions/{}/{}/callback");
        assert_eq!(route_of("/api/v10/webhooks/5/tok-a/messages/@original"), "/webhooks/{}/{}/messages/@original");
    }

    #[tokio::test]
    async fn a_fault_on_a_route_skips_then_fails_that_route_only() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        fake.inject(Fault::server_error("POST", "").on_route("POST", "/channels/{}/messages").skip(1));
        assert_eq!(send(&fake, general, json!({"content": "first"})).await.status(), 200);
        assert_eq!(send(&fake, general, json!({"content": "second"})).await.status(), 500);
        assert_eq!(send(&fake, general, json!({"content": "third"})).await.status(), 200, "used up");
        assert_eq!(fake.with(|w| w.channel_messages(general).len()), 2);
    }

    /// rate-limits.md, "Invalid Request Limit aka Cloudflare bans": "this
    /// limit is 10,000 per 10 minutes. An invalid request is one that
    /// results in 401, 403, or 429 statuses." (A lower limit here, so the
    /// test is quick.)
    #[tokio::test]
    async fn invalid_requests_are_counted_and_past_the_limit_are_a_violation() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        fake.mutate(|w| w.invalid_request_limit = Some(2));
        for _ in 0..3 {
            fake.inject(Fault::missing_permissions("POST", "/messages"));
            assert_eq!(send(&fake, general, json!({"content": "x"})).await.status(), 403);
        }
        assert_eq!(send(&fake, general, json!({"content": "fine"})).await.status(), 200, "a 200 is not invalid");
        assert_eq!(fake.invalid_requests(), 3);
        let v = fake.with(|w| w.violations.clone());
        assert_eq!(v.len(), 1, "{v:?}");
        assert!(v[0].contains("more than 2 invalid requests"), "{v:?}");
        // Ten minutes later the window is empty again.
        fake.mutate(|w| {
            w.violations.clear();
            w.advance(std::time::Duration::from_secs(601));
        });
        fake.inject(Fault::missing_permissions("POST", "/messages"));
        send(&fake, general, json!({"content": "x"})).await;
        assert_eq!(fake.invalid_requests(), 1);
    }

    #[tokio::test]
    async fn a_gateway_drop_after_a_call_answers_it_then_closes_the_gateway() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        let url = format!("ws://{}/gateway", fake.inner.addr);
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("connect");
        use futures::{SinkExt, StreamExt};
        let hello = ws.next().await.expect("hello").expect("a frame");
        assert!(hello.to_text().unwrap().contains("\"op\":10"), "{hello:?}");
        let d = json!({"token": "Bot t", "intents": 1, "properties": {"os": "linux", "browser": "t", "device": "t"}});
        let identify = json!({"op": 2, "d": d}).to_string();
        ws.send(tokio_tungstenite::tungstenite::Message::Text(identify.into())).await.expect("IDENTIFY sent");
        fake.wait_for_bot().await;
        fake.inject(Fault::gateway_dropped_after("POST", "/messages"));
        assert_eq!(send(&fake, general, json!({"content": "sent"})).await.status(), 200);
        assert_eq!(fake.with(|w| w.channel_messages(general).len()), 1, "the call did its work");
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match ws.next().await {
                    Some(Ok(tokio_tungstenite::tungstenite::Message::Close(_))) | None | Some(Err(_)) => return,
                    Some(Ok(_)) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "the gateway connection was closed after the call");
    }

    #[tokio::test]
    async fn a_5xx_after_processing_has_done_the_work() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        fake.inject(Fault::server_error_after_processing("POST", "/messages"));
        let body = json!({"content": "x", "nonce": "n", "enforce_nonce": true});
        assert_eq!(send(&fake, general, body.clone()).await.status(), 500);
        assert_eq!(fake.with(|w| w.channel_messages(general).len()), 1, "posted despite the 500");
        assert_eq!(send(&fake, general, body).await.status(), 200);
        assert_eq!(fake.with(|w| w.channel_messages(general).len()), 1, "the nonce keeps the retry from posting again");
    }

    #[tokio::test]
    async fn a_slow_answer_does_the_work_at_once_and_answers_later() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        fake.inject(Fault::slow_answer("POST", "/messages", Duration::from_millis(600)));
        let started = std::time::Instant::now();
        let pending = tokio::spawn({
            let fake = fake.clone();
            async move { send(&fake, general, json!({"content": "slow"})).await.status() }
        });
        fake.wait_for(5, "the message is posted before the answer", || {
            fake.with(|w| w.channel_messages(general).len()) == 1
        })
        .await;
        assert!(!pending.is_finished(), "the answer is still held");
        assert_eq!(pending.await.unwrap(), 200);
        assert!(started.elapsed() >= Duration::from_millis(600));
    }

    /// topics/rate-limits, "Header Format": "For most API requests made, we
    /// return optional HTTP response headers containing the rate limit
    /// encountered during your request"; "per-route rate limits often
    /// account for top-level resources within the path"; the bucket is
    /// "non-inclusive of top-level resources in the path".
    #[tokio::test]
    async fn every_answer_carries_its_routes_bucket_counted_per_top_level_resource() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        let thread = fake.owner().create_topic(general, "t", "x");
        let r = send(&fake, general, json!({"content": "0"})).await;
        let limit: u32 = r.headers()["x-ratelimit-limit"].to_str().unwrap().parse().unwrap();
        assert_eq!(limit, RateLimits::default().route, "on by default");
        // A window long enough that the counts below fall in one.
        let limit = 30;
        fake.set_rate_limits(RateLimits::default().with_route(
            "POST",
            "/channels/{}/messages",
            limit,
            Duration::from_secs(60),
        ));
        let r = send(&fake, general, json!({"content": "1"})).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["x-ratelimit-remaining"], (limit - 1).to_string().as_str());
        for h in ["x-ratelimit-reset", "x-ratelimit-reset-after", "x-ratelimit-bucket"] {
            assert!(r.headers().contains_key(h), "{h}");
        }
        assert!(!r.headers().contains_key("x-ratelimit-global"), "the global limit is not in a success's headers");
        let bucket = r.headers()["x-ratelimit-bucket"].clone();
        let r = send(&fake, general, json!({"content": "2"})).await;
        assert_eq!(r.headers()["x-ratelimit-remaining"], (limit - 2).to_string().as_str());
        // Another channel: the same bucket, counted apart.
        let r = send(&fake, thread, json!({"content": "3"})).await;
        assert_eq!(r.headers()["x-ratelimit-bucket"], bucket);
        assert_eq!(r.headers()["x-ratelimit-remaining"], (limit - 1).to_string().as_str());
        // Another route: another bucket, on a GET too.
        let client = reqwest::Client::builder().user_agent("DiscordBot (test, 1)").no_proxy().build().unwrap();
        let r = client
            .get(format!("{}/api/v10/guilds/{}/roles", fake.base_url(), fake.guild_id))
            .header("Authorization", "Bot t")
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200);
        assert_ne!(r.headers()["x-ratelimit-bucket"], bucket);
        assert!(fake.violations().is_empty(), "{:?}", fake.violations());
    }

    /// topics/rate-limits, "Exceeding A Rate Limit": a 429 with a JSON body
    /// (`message`, `retry_after`, `global`), `Retry-After`, the route's
    /// headers and `X-RateLimit-Scope: user`. Nothing injected it, so the
    /// fake records the client's failure to pace as a violation.
    #[tokio::test]
    async fn past_a_routes_limit_the_answer_is_a_user_scoped_429_and_a_violation() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        let thread = fake.owner().create_topic(general, "t", "x");
        fake.set_rate_limits(RateLimits::default().with_route(
            "POST",
            "/channels/{}/messages",
            2,
            Duration::from_secs(60),
        ));
        assert_eq!(send(&fake, general, json!({"content": "1"})).await.status(), 200);
        let r = send(&fake, general, json!({"content": "2"})).await;
        assert_eq!(r.headers()["x-ratelimit-remaining"], "0");
        let reset_after: f64 = r.headers()["x-ratelimit-reset-after"].to_str().unwrap().parse().unwrap();
        assert!(reset_after > 0.0 && reset_after <= 60.0, "{reset_after}");
        assert!(fake.violations().is_empty());
        let r = send(&fake, general, json!({"content": "3"})).await;
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["x-ratelimit-scope"], "user");
        assert_eq!(r.headers()["x-ratelimit-limit"], "2");
        assert!(r.headers().contains_key("retry-after") && !r.headers().contains_key("x-ratelimit-global"));
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["global"], false);
        assert!(body["retry_after"].as_f64().unwrap() > 0.0, "{body}");
        assert_eq!(fake.with(|w| w.channel_messages(general).len()), 2, "the refused send posted nothing");
        let v = fake.violations();
        assert!(v.len() == 1 && v[0].contains("429 nobody injected"), "{v:?}");
        // Another channel has its own bucket.
        assert_eq!(send(&fake, thread, json!({"content": "4"})).await.status(), 200);
        assert_eq!(fake.invalid_requests(), 1, "a 429 counts toward the invalid-request limit");
    }

    /// topics/rate-limits, "Global Rate Limit": "All bots can make up to 50
    /// requests per second to our API ... independent of any individual
    /// rate limit on a route"; "Interaction endpoints are not bound to the
    /// bot's Global Rate Limit". The 429: `X-RateLimit-Global: true`,
    /// `X-RateLimit-Scope: global`, `{..., global: true}`.
    #[tokio::test]
    async fn the_global_limit_counts_every_route_but_the_interaction_endpoints() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        let limits = RateLimits::default();
        assert_eq!((limits.global, limits.global_window), (50, Duration::from_secs(1)), "Discord's figure");
        fake.set_rate_limits(RateLimits { global: 3, global_window: Duration::from_secs(60), ..limits });
        let alice = fake.member("alice");
        let client = reqwest::Client::builder().user_agent("DiscordBot (test, 1)").no_proxy().build().unwrap();
        let open = client
            .post(format!("{}/api/v10/users/@me/channels", fake.base_url()))
            .header("Authorization", "Bot t")
            .json(&json!({"recipient_id": alice.user_id.to_string()}))
            .send()
            .await
            .unwrap();
        assert_eq!(open.status(), 200, "a DM channel open counts");
        assert_eq!(send(&fake, general, json!({"content": "1"})).await.status(), 200);
        assert_eq!(send(&fake, general, json!({"content": "2"})).await.status(), 200);
        let r = send(&fake, general, json!({"content": "3"})).await;
        assert_eq!(r.status(), 429, "the fourth request of the window, on any route");
        assert_eq!(r.headers()["x-ratelimit-global"], "true");
        assert_eq!(r.headers()["x-ratelimit-scope"], "global");
        assert!(r.headers().contains_key("retry-after"));
        let body: Value = r.json().await.unwrap();
        assert_eq!(body["global"], true);
        assert!(fake.violations().iter().any(|v| v.contains("global limit")), "{:?}", fake.violations());
        for path in ["/interactions/1/tok/callback", "/webhooks/2/tok/messages/@original", "/webhooks/2/tok"] {
            let (_, _, interaction) = bucket_of("POST", path, 2);
            assert!(interaction, "{path} is an interaction endpoint, outside the global limit");
        }
        let (_, _, interaction) = bucket_of("POST", "/webhooks/3/tok", 2);
        assert!(!interaction, "another application's webhook is no interaction endpoint");
        let (bucket, resource, interaction) = bucket_of("PUT", "/guilds/7/members/8/roles/9", 2);
        let (other, other_resource, _) = bucket_of("PUT", "/guilds/6/members/5/roles/4", 2);
        assert!(!interaction);
        assert_eq!((bucket, resource), (other, "guilds/7".to_string()), "one bucket, guild 7's count");
        assert_eq!(other_resource, "guilds/6");
    }

    #[tokio::test]
    async fn requests_without_a_token_or_a_discordbot_user_agent_are_refused() {
        let fake = FakeDiscord::start().await;
        let url = format!("{}/api/v10/channels/{}/messages", fake.base_url(), fake.general_channel());
        let body = json!({"content": "hi"});
        let plain = reqwest::Client::builder().no_proxy().build().unwrap();
        let r = plain.post(&url).header("Authorization", "Bot t").json(&body).send().await.unwrap();
        assert_eq!(r.status(), 403);
        assert_eq!(r.json::<Value>().await.unwrap()["code"], 40333);
        let bot = reqwest::Client::builder().user_agent("DiscordBot (test, 1)").no_proxy().build().unwrap();
        assert_eq!(bot.post(&url).json(&body).send().await.unwrap().status(), 401);
        assert_eq!(fake.with(|w| w.violations.len()), 2, "both are recorded as the bot's mistakes");
        assert_eq!(bot.post(&url).header("Authorization", "Bot t").json(&body).send().await.unwrap().status(), 200);
    }

    #[tokio::test]
    async fn members_are_removed_from_threads() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        let alice = fake.member("alice");
        let thread = fake.owner().create_topic(general, "t", "x");
        let client = reqwest::Client::builder().user_agent("DiscordBot (test, 1)").no_proxy().build().unwrap();
        let url = format!("{}/api/v10/channels/{thread}/thread-members/{}", fake.base_url(), alice.user_id);
        assert_eq!(client.put(&url).header("Authorization", "Bot t").send().await.unwrap().status(), 204);
        assert!(fake.with(|w| w.thread_members[&thread].contains(&alice.user_id)));
        assert_eq!(client.delete(&url).header("Authorization", "Bot t").send().await.unwrap().status(), 204);
        assert!(!fake.with(|w| w.thread_members[&thread].contains(&alice.user_id)));
        fake.assert_no_violations();
    }

    fn events_of(fake: &FakeDiscord, f: impl FnOnce(&mut World)) -> Vec<(String, Value)> {
        // Run on the world directly to see what it would emit.
        let mut w = fake.inner.world.lock();
        f(&mut w);
        std::mem::take(&mut w.pending_events)
    }

    /// channel.md, Delete/Close Channel: "Deleting a category does not delete
    /// its child channels; they will have their parent_id removed and a
    /// Channel Update Gateway event will fire for each of them."
    #[tokio::test]
    async fn deleting_a_category_moves_its_children_out_with_channel_update_each() {
        let fake = FakeDiscord::start().await;
        let cat = fake.create_channel_by_hand("Interest", crate::world::channel_type::CATEGORY, None, vec![]);
        let a = fake.create_channel_by_hand("a", crate::world::channel_type::TEXT, Some(cat), vec![]);
        let b = fake.create_channel_by_hand("b", crate::world::channel_type::FORUM, Some(cat), vec![]);
        let events = events_of(&fake, |w| {
            w.remove_channel(cat);
        });
        let names: Vec<&str> = events.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["CHANNEL_UPDATE", "CHANNEL_UPDATE", "CHANNEL_DELETE"]);
        for (n, v) in &events[..2] {
            assert_eq!(n, "CHANNEL_UPDATE");
            assert!(v["parent_id"].is_null());
        }
        fake.with(|w| {
            assert!(w.channels[&a].parent_id.is_none() && w.channels[&b].parent_id.is_none());
            assert!(!w.channels.contains_key(&cat));
        });
    }

    /// channel.md, Delete/Close Channel: a channel's threads go with it.
    #[tokio::test]
    async fn deleting_a_channel_deletes_its_threads() {
        let fake = FakeDiscord::start().await;
        let alice = fake.member("alice");
        let forum = fake.create_channel_by_hand("rust", crate::world::channel_type::FORUM, None, vec![]);
        let topic = alice.create_topic(forum, "Hello", "first");
        assert!(fake.delete_channel_by_hand(forum));
        fake.with(|w| {
            assert!(!w.channels.contains_key(&topic), "the thread is gone");
            assert!(w.channel_messages(topic).is_empty());
            assert!(!w.guilds[&fake.guild_id].channels.contains(&topic));
        });
        assert!(!fake.delete_channel_by_hand(forum), "already gone");
    }

    /// guild.md, Delete Guild Role: the role is gone from every member, and
    /// (as in the client) the permission overwrites naming it go with it.
    #[tokio::test]
    async fn deleting_a_role_takes_it_from_members_and_overwrites() {
        let fake = FakeDiscord::start().await;
        let alice = fake.member("alice");
        let role = fake.create_role_by_hand("Rust", 0, false);
        fake.give_role(alice.user_id, role);
        let o = crate::world::Overwrite { id: role, kind: 0, allow: perms::VIEW_CHANNEL, deny: 0 };
        let ch = fake.create_channel_by_hand("rust", crate::world::channel_type::TEXT, None, vec![o]);
        let events = events_of(&fake, |w| w.remove_role(fake.guild_id, role));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].0, "GUILD_ROLE_DELETE");
        assert_eq!(events[0].1["role_id"], json!(role.to_string()));
        fake.with(|w| {
            assert!(!w.guilds[&fake.guild_id].members[&alice.user_id].roles.contains(&role));
            assert!(w.channels[&ch].overwrites.is_empty());
        });
    }

    /// gateway-events.md, Request Guild Members: without the GUILD_PRESENCES
    /// intent, GUILD_CREATE lists only the connecting user's own member (and
    /// members in voice); `large` says whether the guild is over the threshold.
    #[tokio::test]
    async fn guild_create_without_presences_lists_only_the_bots_member() {
        let fake = FakeDiscord::start().await;
        fake.seed_members("m", 60);
        let (bot, v, full) = fake.with(|w| {
            let g = &w.guilds[&fake.guild_id];
            (
                w.bot_user_id,
                crate::payload::guild_create_for(w, g, 1 | 2, 50),
                crate::payload::guild_create_for(w, g, 1 | 2 | 256, 250),
            )
        });
        let members = v["members"].as_array().unwrap();
        assert_eq!(members.len(), 1);
        assert_eq!(members[0]["user"]["id"], json!(bot.to_string()));
        assert_eq!(v["large"], json!(true));
        assert!(full["members"].as_array().unwrap().len() > 60, "with presences and under the threshold: everyone");
        assert_eq!(full["large"], json!(false));
    }

    /// audit-log.md: "Viewing audit logs requires the VIEW_AUDIT_LOG
    /// permission"; entries are sorted from most to least recent.
    #[tokio::test]
    async fn the_audit_log_needs_view_audit_log_and_lists_newest_first() {
        let fake = FakeDiscord::start().await;
        let alice = fake.member("alice");
        let role = fake.create_role_by_hand("Rust", 0, false);
        fake.give_role(alice.user_id, role);
        fake.take_role(alice.user_id, role);
        let client = reqwest::Client::builder().user_agent("DiscordBot (test, 1)").no_proxy().build().unwrap();
        let url = format!("{}/api/v10/guilds/{}/audit-logs?action_type=25&limit=10", fake.base_url(), fake.guild_id);
        let denied = client.get(&url).header("Authorization", "Bot t").send().await.unwrap();
        assert_eq!(denied.status(), 403);
        let gid = fake.guild_id;
        fake.mutate(|w| {
            let g = w.guilds.get_mut(&gid).unwrap();
            g.roles.iter_mut().find(|r| r.managed).unwrap().permissions |= perms::VIEW_AUDIT_LOG;
        });
        let v: Value = client.get(&url).header("Authorization", "Bot t").send().await.unwrap().json().await.unwrap();
        let entries = v["audit_log_entries"].as_array().unwrap();
        assert_eq!(entries.len(), 2);
        assert_eq!(entries[0]["changes"][0]["key"], json!("$remove"), "newest first");
        assert_eq!(entries[1]["changes"][0]["key"], json!("$add"));
        assert_eq!(entries[0]["target_id"], json!(alice.user_id.to_string()));
        let owner = fake.owner().user_id;
        assert_eq!(entries[0]["user_id"], json!(owner.to_string()));
        // It deserializes as serenity's AuditLogs.
        let _: serenity::all::AuditLogs = serde_json::from_value(v).expect("serenity reads it");
    }

    /// message.md, Allowed Mentions Object: defaults (all types in regular
    /// messages, users only in interactions), `parse` and the id lists, a
    /// role only when mentionable (or with Mention Everyone), @everyone only
    /// with Mention Everyone.
    #[tokio::test]
    async fn pings_are_what_discord_would_notify() {
        let fake = FakeDiscord::start().await;
        let alice = fake.member("alice");
        let quiet = fake.create_role_by_hand("quiet", 0, false);
        let loud = fake.create_role_by_hand("loud", 0, false);
        let gid = fake.guild_id;
        fake.mutate(|w| {
            w.guilds.get_mut(&gid).unwrap().roles.iter_mut().find(|r| r.id == loud).unwrap().mentionable = true
        });
        let general = fake.general_channel();
        let content = format!("<@{}> <@&{quiet}> <@&{loud}> @everyone", alice.user_id);
        fake.with(|w| {
            let bot = w.bot_user_id;
            let p = crate::world::pings_of(w, general, bot, &content, &Value::Null, false, None);
            assert_eq!(p, crate::world::Pings { users: vec![alice.user_id], roles: vec![loud], everyone: false });
            let p = crate::world::pings_of(w, general, bot, &content, &Value::Null, true, None);
            assert_eq!(p, crate::world::Pings { users: vec![alice.user_id], roles: vec![], everyone: false });
            let none = crate::world::pings_of(w, general, bot, &content, &json!({"parse": []}), false, None);
            assert!(none.is_empty());
            let listed = json!({"parse": [], "roles": [loud.to_string()], "users": []});
            let p = crate::world::pings_of(w, general, bot, &content, &listed, false, None);
            assert_eq!(p.roles, vec![loud]);
            assert!(p.users.is_empty());
            let reply = json!({"parse": [], "replied_user": true});
            assert_eq!(
                crate::world::pings_of(w, general, bot, "hi", &reply, false, Some(alice.user_id)).users,
                vec![alice.user_id]
            );
        });
        // The owner holds every permission, Mention Everyone included.
        let owner = fake.owner().user_id;
        fake.with(|w| {
            let p = crate::world::pings_of(w, general, owner, &content, &Value::Null, false, None);
            assert!(p.everyone && p.roles == vec![quiet, loud]);
        });
        // An edit parses the mentions again.
        let v: Value = send(&fake, general, json!({"content": "plain", "allowed_mentions": {"parse": ["users"]}}))
            .await
            .json()
            .await
            .unwrap();
        let mid = id_of(&v);
        fake.mutate(|w| {
            edit_for_test(w, mid, &json!({"content": format!("now <@{}>", alice.user_id)}));
        });
        fake.with(|w| assert_eq!(w.find_message(mid).unwrap().pinged.users, vec![alice.user_id]));
    }

    /// A request as the bot sends it, the whole response kept (headers too).
    async fn request(fake: &FakeDiscord, method: reqwest::Method, path: &str) -> reqwest::Response {
        reqwest::Client::builder()
            .user_agent("DiscordBot (test, 1)")
            .no_proxy()
            .build()
            .unwrap()
            .request(method, format!("{}/api/v10{path}", fake.base_url()))
            .header("Authorization", "Bot t")
            .send()
            .await
            .unwrap()
    }

    fn header<'a>(r: &'a reqwest::Response, name: &str) -> &'a str {
        r.headers().get(name).and_then(|v| v.to_str().ok()).unwrap_or_default()
    }

    /// `n` members of the fake's guild and a role the bot may give them.
    fn members_and_role(fake: &FakeDiscord, n: usize) -> (Vec<u64>, u64) {
        let members = (0..n).map(|i| fake.member(&format!("m{i}")).user_id).collect();
        (members, fake.create_role_by_hand("Paced", 0, false))
    }

    /// `RateLimits::discord()`, the shape the issue asks for: the global
    /// limit as rate-limits.md gives it ("All bots can make up to 50
    /// requests per second"), the stingy routes at 10 per 10 s, member
    /// roles' PUT and DELETE in one group; `scaled` multiplies every
    /// window and keeps the counts.
    #[test]
    fn discords_limits_are_stingy_on_four_routes_and_scale_by_their_windows() {
        let d = RateLimits::discord();
        assert_eq!(
            (d.global, d.global_window, d.route, d.route_window),
            (50, Duration::from_secs(1), 40, Duration::from_secs(1))
        );
        let ten = Duration::from_secs(10);
        for (method, route) in [
            ("PUT", "/guilds/{}/members/{}/roles/{}"),
            ("DELETE", "/guilds/{}/members/{}/roles/{}"),
            ("PUT", "/channels/{}/thread-members/{}"),
            ("DELETE", "/channels/{}/thread-members/{}"),
            ("POST", "/guilds/{}/roles"),
            ("POST", "/guilds/{}/channels"),
        ] {
            assert_eq!(d.limit_of(method, route), (10, ten), "{method} {route}");
        }
        assert_eq!(d.limit_of("POST", "/channels/{}/messages"), (40, Duration::from_secs(1)), "others as today");
        assert_eq!(d.group_of("PUT", "/guilds/{}/members/{}/roles/{}"), Some("member-roles"));
        assert_eq!(d.group_of("DELETE", "/guilds/{}/members/{}/roles/{}"), Some("member-roles"));
        assert_eq!(d.group_of("PUT", "/channels/{}/thread-members/{}"), None);
        let (put, put_resource, _) = bucket_in(&d, "PUT", "/guilds/7/members/8/roles/9", 2);
        let (delete, _, _) = bucket_in(&d, "DELETE", "/guilds/7/members/5/roles/4", 2);
        assert_eq!((put.as_str(), put_resource.as_str()), (delete.as_str(), "guilds/7"), "one bucket per guild");
        assert!(RateLimits::default().routes.is_empty(), "the default is unchanged");

        let s = RateLimits::discord().scaled(0.1);
        assert_eq!((s.global, s.global_window), (50, Duration::from_millis(100)));
        assert_eq!((s.route, s.route_window), (40, Duration::from_millis(100)));
        assert_eq!(s.limit_of("PUT", "/guilds/{}/members/{}/roles/{}"), (10, Duration::from_secs(1)));
        assert_eq!(s.limit_of("POST", "/guilds/{}/channels"), (10, Duration::from_secs(1)));
        assert_eq!(s.groups, d.groups);
    }

    /// rate-limits.md: "per-route rate limits often account for top-level
    /// resources within the path using an identifier—for example,
    /// `guild_id`", and "In some cases, per-route limits will be shared
    /// across a set of similar endpoints, indicated in the
    /// `X-RateLimit-Bucket` header". With `RateLimits::discord()` (true
    /// scale: the test never waits out the 10 s), member-role adds and
    /// removes share 10 per 10 s in one server: the 11th is a 429 of scope
    /// `user` with the bucket's headers; another server is untouched.
    #[tokio::test]
    async fn member_role_changes_share_ten_per_ten_seconds_per_server() {
        use reqwest::Method;
        let fake = FakeDiscord::start().await;
        fake.set_rate_limits(RateLimits::discord());
        let (members, role) = members_and_role(&fake, 6);
        let g = fake.guild_id;
        let path = |m: u64| format!("/guilds/{g}/members/{m}/roles/{role}");
        let mut buckets = Vec::new();
        for (i, m) in members[..5].iter().enumerate() {
            let r = request(&fake, Method::PUT, &path(*m)).await;
            assert_eq!(r.status(), 204);
            assert_eq!(header(&r, "x-ratelimit-limit"), "10");
            assert_eq!(header(&r, "x-ratelimit-remaining"), (9 - i).to_string());
            buckets.push(header(&r, "x-ratelimit-bucket").to_string());
        }
        for (i, m) in members[..5].iter().enumerate() {
            let r = request(&fake, Method::DELETE, &path(*m)).await;
            assert_eq!(r.status(), 204);
            assert_eq!(header(&r, "x-ratelimit-remaining"), (4 - i).to_string(), "the removes count with the adds");
            buckets.push(header(&r, "x-ratelimit-bucket").to_string());
        }
        assert!(buckets.iter().all(|b| *b == buckets[0]), "one X-RateLimit-Bucket: {buckets:?}");
        assert!(fake.violations().is_empty(), "{:?}", fake.violations());

        let r = request(&fake, Method::PUT, &path(members[5])).await;
        assert_eq!(r.status(), 429, "the 11th in 10 s");
        assert_eq!(header(&r, "x-ratelimit-scope"), "user");
        assert_eq!(header(&r, "x-ratelimit-limit"), "10");
        assert_eq!(header(&r, "x-ratelimit-remaining"), "0");
        assert_eq!(header(&r, "x-ratelimit-bucket"), buckets[0]);
        let retry: f64 = header(&r, "retry-after").parse().unwrap();
        assert!(retry > 0.0 && retry <= 10.0, "{retry}");
        let reset_after: f64 = header(&r, "x-ratelimit-reset-after").parse().unwrap();
        assert!(reset_after > 5.0 && reset_after <= 10.0, "{reset_after}");
        assert!(!fake.with(|w| w.guilds[&g].members[&members[5]].roles.contains(&role)), "nothing given");
        assert!(fake.violations().iter().any(|v| v.contains("429 nobody injected")), "{:?}", fake.violations());

        // Another server has its own count.
        let other = fake.in_guild(fake.add_guild_on_shard("Other", 0, 1));
        let (theirs, their_role) = members_and_role(&other, 1);
        let r = request(
            &fake,
            Method::PUT,
            &format!("/guilds/{}/members/{}/roles/{their_role}", other.guild_id, theirs[0]),
        )
        .await;
        assert_eq!(r.status(), 204);
        assert_eq!(header(&r, "x-ratelimit-remaining"), "9");
        assert_eq!(header(&r, "x-ratelimit-bucket"), buckets[0], "the same bucket, counted apart");
    }

    /// rate-limits.md, `X-RateLimit-Scope`: "`shared` (per resource limit)",
    /// answered as the "Example Exceeded Resource Rate Limit Response"
    /// (`{"message": "The resource is being rate limited.", "retry_after":
    /// ..., "global": false}`, with the route's headers), and "429 errors
    /// returned with `X-RateLimit-Scope: shared` are not counted against
    /// you".
    #[tokio::test]
    async fn a_shared_scope_429_says_so_and_is_not_an_invalid_request() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        fake.inject(Fault::shared_rate_limited("POST", "/messages", 1.5));
        let r = send(&fake, general, json!({"content": "x"})).await;
        assert_eq!(r.status(), 429);
        assert_eq!(header(&r, "x-ratelimit-scope"), "shared");
        assert_eq!(header(&r, "retry-after"), "2");
        assert!(!header(&r, "x-ratelimit-bucket").is_empty(), "the route's headers too");
        assert!(!r.headers().contains_key("x-ratelimit-global"));
        let body: Value = r.json().await.unwrap();
        assert_eq!(
            body,
            json!({"message": "The resource is being rate limited.", "retry_after": 1.5, "global": false})
        );
        assert_eq!(fake.invalid_requests(), 0, "a shared 429 is not counted");
        assert_eq!(fake.with(|w| w.channel_messages(general).len()), 0);
        // The user-scoped one is.
        fake.inject(Fault::rate_limited("POST", "/messages", 1.5));
        let r = send(&fake, general, json!({"content": "x"})).await;
        assert_eq!((r.status().as_u16(), header(&r, "x-ratelimit-scope")), (429, "user"));
        assert_eq!(fake.invalid_requests(), 1);
        fake.assert_no_violations();
    }

    /// Latency: every answer takes at least `median - jitter`; the request
    /// takes effect half way (when it arrives); off, answers are prompt.
    #[tokio::test]
    async fn latency_delays_every_answer_and_the_request_takes_effect_half_way() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        let ms = Duration::from_millis;
        let latency = Latency { median: ms(300), jitter: ms(50), routes: vec![] };
        for _ in 0..50 {
            let d = latency.draw("POST", "/channels/{}/messages");
            assert!(d >= ms(250) && d <= ms(350), "{d:?}");
        }
        let d = Latency::discord();
        let member_role = "/guilds/{}/members/{}/roles/{}";
        assert!(d.draw("PUT", member_role) >= ms(80), "member roles are slower");
        assert!(d.draw("GET", "/guilds/{}/roles") <= ms(120));
        assert_eq!(Latency::off().draw("GET", "/guilds/{}/roles"), Duration::ZERO);

        fake.set_latency(latency);
        let started = std::time::Instant::now();
        let pending = tokio::spawn({
            let fake = fake.clone();
            async move { send(&fake, general, json!({"content": "slow"})).await.status() }
        });
        fake.wait_for(5, "the message is posted", || fake.with(|w| w.channel_messages(general).len()) == 1).await;
        let posted = started.elapsed();
        assert!(posted >= ms(125), "handled after the request's half of the delay: {posted:?}");
        assert_eq!(pending.await.unwrap(), 200);
        let answered = started.elapsed();
        assert!(answered >= ms(250), "{answered:?}");
        // Webhooks and interaction callbacks are slow too.
        let (iid, token) = press(&fake);
        let started = std::time::Instant::now();
        let (status, _) = call(
            &fake,
            reqwest::Method::POST,
            &format!("/interactions/{iid}/{token}/callback"),
            Some(json!({"type": 6})),
        )
        .await;
        assert_eq!(status, 204);
        assert!(started.elapsed() >= ms(250));

        fake.set_latency(Latency::off());
        let started = std::time::Instant::now();
        assert_eq!(send(&fake, general, json!({"content": "fast"})).await.status(), 200);
        assert!(started.elapsed() < ms(250), "off: {:?}", started.elapsed());
        fake.assert_no_violations();
    }

    /// receiving-and-responding.md: the initial response is due within 3
    /// seconds. With latency, Discord judges it when the callback arrives
    /// (after its half of the delay), not when the bot reads the answer.
    #[tokio::test]
    async fn the_3_second_deadline_is_judged_when_the_callback_arrives() {
        let fake = FakeDiscord::start().await;
        let ms = Duration::from_millis;
        let callback = "/interactions/{}/{}/callback";
        let aged = |iid: u64, by: Duration| {
            fake.mutate(|w| {
                let i = w.interactions.get_mut(&iid).unwrap();
                i.sent_at = i.sent_at.checked_sub(by).unwrap();
            })
        };
        // Pressed 2.7 s ago: arrives at 2.9 s (in time), answered at 3.1 s.
        fake.set_latency(Latency::off().with_route("POST", callback, ms(400), Duration::ZERO));
        let (iid, token) = press(&fake);
        aged(iid, ms(2700));
        let path = format!("/interactions/{iid}/{token}/callback");
        let (status, _) = call(&fake, reqwest::Method::POST, &path, Some(json!({"type": 6}))).await;
        assert_eq!(status, 204, "in time on arrival");
        let (answered, sent) = fake.with(|w| (w.interactions[&iid].answered_at.unwrap(), w.interactions[&iid].sent_at));
        assert!(answered.duration_since(sent) <= ms(3000) && sent.elapsed() > ms(3000), "answered_at is the arrival");
        fake.assert_no_violations();

        // Pressed 2.7 s ago: arrives at 3.1 s, late.
        fake.set_latency(Latency::off().with_route("POST", callback, ms(800), Duration::ZERO));
        let (iid, token) = press(&fake);
        aged(iid, ms(2700));
        let path = format!("/interactions/{iid}/{token}/callback");
        let (status, body) = call(&fake, reqwest::Method::POST, &path, Some(json!({"type": 6}))).await;
        assert_eq!((status, &body["code"]), (404, &json!(10062)));
        assert!(fake.violations().iter().any(|v| v.contains("more than 3 s")), "{:?}", fake.violations());
    }

    /// Pacing-proxy mode (a bot behind twilight-http-proxy): 20 member-role
    /// adds on a 10-per-window route all succeed, none is a 429, and the
    /// 11th is answered only after the window. `RateLimits::discord()`
    /// scaled to a 300 ms window.
    #[tokio::test]
    async fn in_pacing_proxy_mode_requests_past_a_limit_wait_for_room_instead_of_a_429() {
        let fake = FakeDiscord::start().await;
        let window = Duration::from_millis(300);
        fake.set_rate_limits(RateLimits::discord().scaled(0.03));
        fake.set_pacing_proxy(true);
        let (members, role) = members_and_role(&fake, 20);
        let g = fake.guild_id;
        let started = std::time::Instant::now();
        let calls = members.iter().map(|m| {
            let fake = fake.clone();
            let path = format!("/guilds/{g}/members/{m}/roles/{role}");
            async move {
                let r = request(&fake, reqwest::Method::PUT, &path).await;
                (r.status().as_u16(), started.elapsed())
            }
        });
        let mut done = futures::future::join_all(calls).await;
        assert!(done.iter().all(|(s, _)| *s == 204), "{done:?}");
        done.sort_by_key(|(_, t)| *t);
        assert!(done[10].1 >= window, "the 11th waited for the next window: {done:?}");
        fake.with(|w| assert!(members.iter().all(|m| w.guilds[&g].members[m].roles.contains(&role))));
        assert_eq!(fake.invalid_requests(), 0);
        fake.assert_no_violations();

        // Injected faults still apply.
        fake.inject(Fault::rate_limited("PUT", "/roles/", 0.1));
        let r = request(&fake, reqwest::Method::PUT, &format!("/guilds/{g}/members/{}/roles/{role}", members[0])).await;
        assert_eq!(r.status(), 429);
    }

    /// An outage of all of Discord: every REST call answers 503 with
    /// Discord's error body and changes nothing, until it ends.
    #[tokio::test]
    async fn an_outage_answers_5xx_on_every_route_until_it_ends() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        let outage = Outage::everywhere(OutageKind::Status(503), Duration::from_millis(300));
        let until = outage.until;
        fake.outage(outage);
        let r = send(&fake, general, json!({"content": "down"})).await;
        assert_eq!(r.status(), 503);
        assert!(!r.headers().contains_key("x-ratelimit-bucket"), "not counted by the limits");
        assert_eq!(r.json::<Value>().await.unwrap(), json!({"message": "503: Service Unavailable", "code": 0}));
        let (status, _) = call(&fake, reqwest::Method::GET, &format!("/guilds/{}/roles", fake.guild_id), None).await;
        assert_eq!(status, 503);
        assert_eq!(fake.with(|w| w.channel_messages(general).len()), 0, "not handled");
        tokio::time::sleep_until(tokio::time::Instant::from_std(until)).await;
        assert_eq!(send(&fake, general, json!({"content": "up"})).await.status(), 200, "over");
        fake.assert_no_violations();
    }

    /// An outage of one route: that route fails on every try, others work,
    /// until `end_outages`.
    #[tokio::test]
    async fn a_route_outage_fails_that_route_only_until_ended() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        let lasting = Duration::from_secs(60);
        fake.outage(Outage::on_route("POST", "/channels/{}/messages", OutageKind::Status(502), lasting));
        for _ in 0..3 {
            let r = send(&fake, general, json!({"content": "x"})).await;
            assert_eq!(r.status(), 502);
            assert_eq!(r.json::<Value>().await.unwrap()["message"], "502: Bad Gateway");
        }
        let (status, _) = call(&fake, reqwest::Method::GET, &format!("/guilds/{}/roles", fake.guild_id), None).await;
        assert_eq!(status, 200, "another route");
        fake.end_outages();
        assert_eq!(send(&fake, general, json!({"content": "x"})).await.status(), 200);
        assert_eq!(fake.with(|w| w.channel_messages(general).len()), 1);
    }

    /// A timeout outage: the request is held unanswered (the client's own
    /// timeout fires), and when the outage ends its connection is closed
    /// without an answer; nothing was handled.
    #[tokio::test]
    async fn a_timeout_outage_holds_requests_unanswered_then_drops_them() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        let url = format!("{}/api/v10/channels/{general}/messages", fake.base_url());
        let client = |timeout: Duration| {
            reqwest::Client::builder().user_agent("DiscordBot (test, 1)").no_proxy().timeout(timeout).build().unwrap()
        };
        let post =
            |c: reqwest::Client| c.post(&url).header("Authorization", "Bot t").json(&json!({"content": "x"})).send();
        let outage = Outage::everywhere(OutageKind::Timeout, Duration::from_millis(600));
        let until = outage.until;
        fake.outage(outage);
        let r = post(client(Duration::from_millis(200))).await;
        assert!(r.as_ref().is_err_and(|e| e.is_timeout()), "the client timed out: {r:?}");
        let r = post(client(Duration::from_secs(10))).await;
        assert!(r.as_ref().is_err_and(|e| !e.is_timeout()), "closed without an answer: {r:?}");
        assert!(std::time::Instant::now() >= until, "held until the outage ended");
        assert_eq!(fake.with(|w| w.channel_messages(general).len()), 0, "neither was handled");
        assert_eq!(post(client(Duration::from_secs(10))).await.unwrap().status(), 200, "over");
    }

    fn edit_for_test(w: &mut World, mid: u64, body: &Value) {
        crate::rest::edit_message_for_test(w, mid, body);
    }
}
