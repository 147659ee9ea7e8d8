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
        }
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
    pub fn server_error(method: &str, path_contains: &str) -> Fault {
        Self::status(method, path_contains, 500, 0, "Internal Server Error")
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

pub(crate) struct Inner {
    pub world: Mutex<World>,
    pub changed: Notify,
    pub hub: Hub,
    pub faults: Mutex<Vec<Fault>>,
    pub addr: SocketAddr,
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
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
        let addr = listener.local_addr().expect("addr");
        let mut world = World::new();
        let guild_id = seed_guild(&mut world, "Test Guild");
        let inner = Arc::new(Inner {
            world: Mutex::new(world),
            changed: Notify::new(),
            hub: Hub::default(),
            faults: Mutex::new(Vec::new()),
            addr,
        });
        let app = Router::new().route("/gateway", get(gateway_upgrade)).fallback(rest_entry).with_state(inner.clone());
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

    /// Rules broken so far (late or double interaction responses, requests
    /// outside Discord's documented contract).
    pub fn violations(&self) -> Vec<String> {
        self.inner.world.lock().violations.clone()
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
        self.inner.hub.drop_connections();
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
        },
    );
    guild_id
}

async fn gateway_upgrade(State(inner): State<Arc<Inner>>, ws: WebSocketUpgrade) -> Response {
    ws.on_upgrade(move |socket| crate::gateway::serve(inner, socket))
}

async fn rest_entry(
    State(inner): State<Arc<Inner>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let raw_path = uri.path_and_query().map(|p| p.as_str().to_string()).unwrap_or_else(|| uri.path().to_string());
    let json_body: Option<Value> = if body.is_empty() {
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
    let status_and_body = handle(&inner, &method, &raw_path, &headers, json_body.as_ref());
    let (status, out, retry_after) = match status_and_body {
        Ok((status, v)) => (status, v, None),
        Err((e, retry)) => (e.status, Some(e.body()), retry),
    };
    crate::reqlog::log_request(method.as_str(), &raw_path, json_body.as_ref(), status);
    {
        let path = raw_path.split('?').next().unwrap_or_default().to_string();
        inner.world.lock().requests.push((method.as_str().to_string(), path, status));
        inner.changed.notify_waiters();
    }
    let mut resp = match out {
        Some(v) => (StatusCode::from_u16(status).unwrap_or(StatusCode::OK), axum::Json(v)).into_response(),
        None => StatusCode::from_u16(status).unwrap_or(StatusCode::NO_CONTENT).into_response(),
    };
    if let Some(r) = retry_after {
        let h = resp.headers_mut();
        h.insert("retry-after", r.ceil().to_string().parse().expect("header"));
        h.insert("x-ratelimit-retry-after", r.to_string().parse().expect("header"));
        h.insert("x-ratelimit-scope", "user".parse().expect("header"));
    }
    resp
}

type Handled = Result<(u16, Option<Value>), (ApiError, Option<f64>)>;

fn handle(inner: &Inner, method: &Method, raw_path: &str, headers: &HeaderMap, body: Option<&Value>) -> Handled {
    let path = raw_path.split('?').next().unwrap_or("");
    let Some(api_path) = path.strip_prefix("/api/v10") else {
        inner.world.lock().violations.push(format!("{method} {raw_path}: not under /api/v10"));
        return Err((ApiError::new(404, 0, "404: Not Found"), None));
    };
    if let Err(why) = Spec::global().check(method.as_str(), raw_path, body) {
        inner.world.lock().violations.push(why.clone());
        return Err((ApiError::invalid_form(&why), None));
    }
    if let Some(fault) = take_fault(inner, method.as_str(), api_path) {
        let e = ApiError::new(fault.status, fault.code, &fault.message);
        return Err((e, fault.retry_after));
    }
    let query: Vec<(String, String)> = raw_path
        .split_once('?')
        .map(|(_, q)| {
            q.split('&').filter_map(|kv| kv.split_once('=')).map(|(k, v)| (k.to_string(), v.to_string())).collect()
        })
        .unwrap_or_default();
    let reason = headers.get("x-audit-log-reason").and_then(|v| v.to_str().ok()).map(percent_decode);
    let segs: Vec<&str> = api_path.trim_start_matches('/').split('/').collect();
    let req = rest::Request {
        method: method.as_str(),
        segs: &segs,
        query: &query,
        body,
        reason,
        ws_url: format!("ws://{}/gateway", inner.addr),
    };
    inner.mutate(|w| rest::route(w, &req)).map_err(|e| (e, None))
}

fn take_fault(inner: &Inner, method: &str, path: &str) -> Option<Fault> {
    let mut faults = inner.faults.lock();
    let idx = faults.iter().position(|f| {
        f.times > 0 && f.method.as_deref().is_none_or(|m| m == method) && path.contains(&f.path_contains)
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
