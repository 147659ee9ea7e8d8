//! The gateway: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats (enforced
//! and ACKed), RESUME with replay of what the session missed, Reconnect
//! (op 7), Invalid Session (op 9), sessions that time out, the
//! MESSAGE_CONTENT intent, and dispatches with sequence numbers. Plain JSON
//! text frames over `ws://`.

use crate::payload;
use crate::server::Inner;
use axum::extract::ws::{CloseFrame, Message as WsMessage, WebSocket};
use futures::{SinkExt, StreamExt};
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};
use tokio::sync::{mpsc, Notify};

/// Intents, as Discord defines them, that gate the events the fake sends.
pub mod intents {
    pub const GUILDS: u64 = 1 << 0;
    pub const GUILD_MEMBERS: u64 = 1 << 1;
    pub const GUILD_PRESENCES: u64 = 1 << 8;
    pub const GUILD_MESSAGES: u64 = 1 << 9;
    pub const DIRECT_MESSAGES: u64 = 1 << 12;
    pub const MESSAGE_CONTENT: u64 = 1 << 15;
    /// gateway.md, "Privileged Intents": GUILD_PRESENCES, GUILD_MEMBERS and
    /// MESSAGE_CONTENT, each enabled (or approved) in the app's settings.
    pub const PRIVILEGED: u64 = GUILD_MEMBERS | GUILD_PRESENCES | MESSAGE_CONTENT;
}

/// The intents a session needs for an event: any one of the bits returned.
/// Thread Members Update (gateway-events.md) "Sent when anyone is added to
/// or removed from a thread. If the current user does not have the
/// `GUILD_MEMBERS` Gateway Intent, then this event will only be sent if the
/// current user was added to or removed from the thread" (gateway.md lists
/// it under GUILDS and GUILD_MEMBERS).
fn intent_for(event: &str, data: &Value, bot_user_id: u64) -> Option<u64> {
    match event {
        "THREAD_MEMBERS_UPDATE" => {
            let bot = bot_user_id.to_string();
            let added = data["added_members"].as_array().into_iter().flatten().any(|m| m["user_id"] == bot.as_str());
            let removed = data["removed_member_ids"].as_array().into_iter().flatten().any(|u| u == bot.as_str());
            if added || removed {
                Some(intents::GUILDS | intents::GUILD_MEMBERS)
            } else {
                Some(intents::GUILD_MEMBERS)
            }
        }
        "GUILD_MEMBER_ADD" | "GUILD_MEMBER_UPDATE" | "GUILD_MEMBER_REMOVE" => Some(intents::GUILD_MEMBERS),
        "MESSAGE_CREATE" | "MESSAGE_UPDATE" | "MESSAGE_DELETE" => {
            if data.get("guild_id").is_some() {
                Some(intents::GUILD_MESSAGES)
            } else {
                Some(intents::DIRECT_MESSAGES)
            }
        }
        "INTERACTION_CREATE" => None,
        _ => Some(intents::GUILDS),
    }
}

/// Whether a session with `intents` gets a message event with its content
/// emptied. gateway.md, "Message Content Intent": "Apps **without** the
/// intent will receive empty values in fields that contain user-inputted
/// content with a few exceptions: Content in messages that an app sends;
/// Content in DMs with the app; Content in which the app is mentioned"
/// (the fourth, a message context menu command's target, is an
/// interaction's, not a MESSAGE_CREATE's).
pub(crate) fn content_hidden(event: &str, data: &Value, session_intents: u64, bot_user_id: u64) -> bool {
    if !matches!(event, "MESSAGE_CREATE" | "MESSAGE_UPDATE") || session_intents & intents::MESSAGE_CONTENT != 0 {
        return false;
    }
    let bot = bot_user_id.to_string();
    let dm = data.get("guild_id").is_none();
    let sent_by_the_app = data["author"]["id"] == bot.as_str();
    let in_mentions = data["mentions"].as_array().into_iter().flatten().any(|u| u["id"] == bot.as_str());
    let content = data["content"].as_str().unwrap_or_default();
    let in_content = content.contains(&format!("<@{bot}>")) || content.contains(&format!("<@!{bot}>"));
    !(dm || sent_by_the_app || in_mentions || in_content)
}

/// A message payload as an app without MESSAGE_CONTENT gets it: message.md,
/// "An app will receive empty values in the `content`, `embeds`,
/// `attachments`, and `components` fields while `poll` will be omitted".
/// A forward's snapshot is a copy of the forwarded message's content, so
/// it is emptied the same way. Fields absent (a partial MESSAGE_UPDATE)
/// stay absent.
pub(crate) fn without_content(data: &Value) -> Value {
    fn empty(m: &mut Value) {
        let Some(o) = m.as_object_mut() else { return };
        if o.contains_key("content") {
            o.insert("content".into(), json!(""));
        }
        for key in ["embeds", "attachments", "components"] {
            if o.contains_key(key) {
                o.insert(key.into(), json!([]));
            }
        }
        o.remove("poll");
    }
    let mut v = data.clone();
    empty(&mut v);
    if let Some(snapshots) = v.get_mut("message_snapshots").and_then(Value::as_array_mut) {
        for s in snapshots {
            if let Some(m) = s.get_mut("message") {
                empty(m);
            }
        }
    }
    v
}

const HISTORY: usize = 5000;

/// The slack the fake gives a heartbeat past `heartbeat_interval`. gateway.md,
/// "Heartbeat Interval": "There is already tolerance in the
/// `heartbeat_interval` that will cover network latency"; the doc gives no
/// number, so the fake allows a quarter of the interval, and at least a
/// second (a client may check its timer only between reads).
pub fn heartbeat_tolerance(interval: Duration) -> Duration {
    (interval / 4).max(Duration::from_secs(1))
}

/// The guild an event is about, which decides its shard: `guild_id`, or
/// `id` for the guild events themselves.
fn guild_of(event: &str, data: &Value) -> Option<u64> {
    let key = match event {
        "GUILD_CREATE" | "GUILD_UPDATE" | "GUILD_DELETE" => "id",
        _ => "guild_id",
    };
    data.get(key).and_then(|v| v.as_str()).and_then(|s| s.parse().ok())
}

/// Whether a session on `shard` gets an event of `guild`: by the sharding
/// formula, and "Gateway events that do not contain a guild_id will only be
/// sent to the first shard" (topics/gateway, "Sharding").
fn routes_to(shard: [u64; 2], guild: Option<u64>) -> bool {
    match guild {
        Some(g) => crate::world::shard_of(g, shard[1]) == shard[0],
        None => shard[0] == 0,
    }
}

/// IDENTIFY's `shard`, `[shard_id, num_shards]` (gateway-events, Identify);
/// absent, the session is `[0, 1]` and holds every guild. Anything else, or
/// a shard id not below the count, is refused with 4010 Invalid shard.
pub fn parse_shard(v: &Value) -> Result<[u64; 2], &'static str> {
    if v.is_null() {
        return Ok([0, 1]);
    }
    let pair = v.as_array().filter(|a| a.len() == 2).ok_or("shard must be [shard_id, num_shards]")?;
    let (Some(id), Some(count)) = (pair[0].as_u64(), pair[1].as_u64()) else {
        return Err("shard must be two non-negative integers");
    };
    if count == 0 || id >= count {
        return Err("the shard id must be below the number of shards");
    }
    Ok([id, count])
}

/// A gateway session as a test sees it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SessionInfo {
    pub id: String,
    /// `[shard_id, num_shards]` from its IDENTIFY.
    pub shard: [u64; 2],
    /// The guilds its READY listed.
    pub guilds: Vec<u64>,
    /// Whether a connection is attached (a detached session stays resumable).
    pub connected: bool,
}

struct Session {
    id: String,
    seq: u64,
    intents: u64,
    /// Dispatches sent, for RESUME replay: (seq, payload).
    history: Vec<(u64, Value)>,
    /// The live connection, when connected.
    tx: Option<mpsc::UnboundedSender<WsMessage>>,
    conn: u64,
    ready: bool,
    shard: [u64; 2],
    /// The guilds its READY listed.
    guilds: Vec<u64>,
    /// When (test clock) it lost its connection; it stays resumable for
    /// `GatewaySettings::session_timeout` after.
    detached_at: Option<Instant>,
}

impl Session {
    /// Stop sending to its connection; what follows is kept for a RESUME.
    fn detach(&mut self, now: Instant) {
        if self.tx.take().is_some() {
            self.detached_at = Some(now);
        }
    }
}

/// An open connection.
struct Conn {
    tx: mpsc::UnboundedSender<WsMessage>,
    /// Closed (4009) unless a heartbeat arrives before.
    deadline: tokio::time::Instant,
    /// Wakes the connection's loop when `deadline` moved.
    wake: Arc<Notify>,
    /// The slack past its HELLO's interval ([`heartbeat_tolerance`]).
    tolerance: Duration,
    /// Gone silent ([`Hub::zombify`]): heartbeats are not ACKed and nothing
    /// is sent on it.
    zombie: bool,
}

/// An IDENTIFY the fake is holding back (see `Hub::hold_identify`).
struct HeldIdentify {
    tx: mpsc::UnboundedSender<WsMessage>,
    conn: u64,
    d: Value,
}

#[derive(Default)]
pub struct Hub {
    sessions: Mutex<Vec<Session>>,
    /// The open connections, by id.
    conns: Mutex<HashMap<u64, Conn>>,
    /// While true, IDENTIFYs wait here unanswered (the gap after an
    /// invalidated session, made as long as a test needs).
    held: Mutex<Option<Vec<HeldIdentify>>>,
    next_conn: AtomicUsize,
    identifies: AtomicUsize,
    resumes: AtomicUsize,
    /// Connections closed because no heartbeat came in time.
    missed_heartbeats: AtomicUsize,
    /// Heartbeats received on a zombied connection and left unanswered.
    unacked_heartbeats: AtomicUsize,
    /// RESUMEs refused (op 9 `d: false` or 4007), with the reason.
    refused_resumes: Mutex<Vec<String>>,
    /// Each interaction's receivers: the shards of the connected sessions
    /// its INTERACTION_CREATE was sent to.
    interaction_receivers: Mutex<std::collections::HashMap<u64, Vec<[u64; 2]>>>,
    /// IDENTIFYs refused, by close code (4010, 4011, 4014), with the reason.
    refused: Mutex<Vec<(u16, String)>>,
    /// IDENTIFYs answered with Invalid Session (op 9) for the session
    /// start limits ([`session_start_refused`]), with the reason.
    invalid_identifies: Mutex<Vec<String>>,
    /// When (test clock) each `max_concurrency` bucket last identified.
    identified_at: Mutex<HashMap<u64, Instant>>,
    /// The user the sessions identified as (the bot), for events whose
    /// delivery depends on whether they concern the current user.
    bot_user_id: std::sync::atomic::AtomicU64,
}

fn text(v: Value) -> WsMessage {
    WsMessage::Text(v.to_string().into())
}

fn close(code: u16, reason: &str) -> WsMessage {
    WsMessage::Close(Some(CloseFrame { code, reason: reason.to_string().into() }))
}

impl Hub {
    /// Send a dispatch to every session (connected now, or resumable later).
    pub fn dispatch(&self, event: &str, data: Value) {
        let bot = self.bot_user_id.load(Ordering::SeqCst);
        let needed = intent_for(event, &data, bot);
        let guild = guild_of(event, &data);
        let interaction =
            (event == "INTERACTION_CREATE").then(|| data["id"].as_str().and_then(|i| i.parse::<u64>().ok())).flatten();
        let mut sessions = self.sessions.lock();
        let mut receivers = Vec::new();
        for s in sessions.iter_mut() {
            if let Some(bit) = needed {
                if s.intents & bit == 0 {
                    continue;
                }
            }
            if !routes_to(s.shard, guild) {
                continue;
            }
            if s.tx.is_some() {
                receivers.push(s.shard);
            }
            let d = if content_hidden(event, &data, s.intents, bot) { without_content(&data) } else { data.clone() };
            send_dispatch(s, event, d);
        }
        drop(sessions);
        if let Some(id) = interaction {
            self.interaction_receivers.lock().insert(id, receivers);
        }
    }

    /// The shards of the connected sessions an interaction was sent to.
    pub fn interaction_receivers(&self, interaction_id: u64) -> Vec<[u64; 2]> {
        self.interaction_receivers.lock().get(&interaction_id).cloned().unwrap_or_default()
    }

    /// Every session, connected or resumable.
    pub fn sessions(&self) -> Vec<SessionInfo> {
        self.sessions
            .lock()
            .iter()
            .map(|s| SessionInfo {
                id: s.id.clone(),
                shard: s.shard,
                guilds: s.guilds.clone(),
                connected: s.tx.is_some(),
            })
            .collect()
    }

    /// IDENTIFYs refused so far: (close code, reason).
    pub fn refused_identifies(&self) -> Vec<(u16, String)> {
        self.refused.lock().clone()
    }

    /// IDENTIFYs answered with Invalid Session for the session start
    /// limits (max_concurrency, the day's remaining starts), with the reason.
    pub fn invalid_identifies(&self) -> Vec<String> {
        self.invalid_identifies.lock().clone()
    }

    /// RESUMEs refused so far, with the reason.
    pub fn refused_resumes(&self) -> Vec<String> {
        self.refused_resumes.lock().clone()
    }

    /// Connections closed (4009) for a missed heartbeat.
    pub fn missed_heartbeats(&self) -> usize {
        self.missed_heartbeats.load(Ordering::SeqCst)
    }

    /// Heartbeats a zombied connection left unanswered.
    pub fn unacked_heartbeats(&self) -> usize {
        self.unacked_heartbeats.load(Ordering::SeqCst)
    }

    /// Close every connection with code 4000 ("unknown error, reconnect"),
    /// as Discord does now and then; sessions stay resumable.
    pub fn drop_connections(&self, now: Instant) {
        for s in self.sessions.lock().iter_mut() {
            s.detach(now);
        }
        for c in self.conns.lock().values() {
            let _ = c.tx.send(close(4000, "fake-discord: connection dropped"));
        }
    }

    /// The connections go silent, as a failed or "zombied" connection does
    /// (gateway.md, "Heartbeat Interval"): heartbeats on them are no longer
    /// ACKed and no dispatch is sent on them; their sessions keep what
    /// happens for a RESUME. "If a client does not receive a heartbeat ACK
    /// between its attempts at sending heartbeats, this may be due to a
    /// failed or "zombied" connection. The client should immediately
    /// terminate the connection with any close code besides `1000` or
    /// `1001`, then reconnect and attempt to Resume." New connections are
    /// healthy.
    pub fn zombify(&self, now: Instant) {
        for s in self.sessions.lock().iter_mut() {
            s.detach(now);
        }
        for c in self.conns.lock().values_mut() {
            c.zombie = true;
        }
    }

    /// Send `payload` on the connection of every connected session and
    /// detach the session: what happens next is replayed on RESUME. For
    /// Reconnect (op 7) and Invalid Session (op 9) `d: true`.
    fn tell_sessions_to_resume(&self, payload: Value, now: Instant) {
        for s in self.sessions.lock().iter_mut() {
            if let Some(tx) = &s.tx {
                let _ = tx.send(text(payload.clone()));
            }
            s.detach(now);
        }
    }

    /// Reconnect (op 7) to every connected session: "The reconnect event is
    /// dispatched when a client should reconnect to the gateway (and resume
    /// their existing session, if they have one)" (gateway-events.md,
    /// Reconnect); "your app should attempt to resume" on it, and "After
    /// Resuming, your app will receive the missed events" (gateway.md,
    /// "Resuming"). Dispatches from now on go to the session's history and
    /// are replayed on RESUME.
    pub fn reconnect(&self, now: Instant) {
        self.tell_sessions_to_resume(json!({"op": 7, "d": null}), now);
    }

    /// Invalid Session (op 9) with `d: true`, "the session may be
    /// resumable" (gateway-events.md, Invalid Session): a RESUME is
    /// accepted and replays what happened since.
    pub fn invalidate_resumable(&self, now: Instant) {
        self.tell_sessions_to_resume(json!({"op": 9, "d": true}), now);
    }

    /// Heartbeat (op 1) from the server on every healthy connection:
    /// "Discord may request additional heartbeats from your app by sending a
    /// Heartbeat (opcode `1`) event. Upon receiving the event, your app
    /// should immediately send back another Heartbeat event without waiting
    /// the remainder of the current interval" (gateway.md, "Heartbeat
    /// Requests"). The connection is closed (4009) unless one comes within
    /// the tolerance.
    pub fn request_heartbeat(&self) {
        let now = tokio::time::Instant::now();
        for c in self.conns.lock().values_mut().filter(|c| !c.zombie) {
            let _ = c.tx.send(text(json!({"op": 1, "d": null})));
            c.deadline = c.deadline.min(now + c.tolerance);
            c.wake.notify_one();
        }
    }

    /// Invalidate every session, as Discord does with op 9 (Invalid Session,
    /// `d: false`: not resumable): each connection is sent op 9 and the
    /// session is forgotten, so dispatches until the client identifies again
    /// reach nobody and are never replayed. With `hold`, new IDENTIFYs are
    /// left unanswered until `release_identify`, so a test controls the gap.
    pub fn invalidate_sessions(&self, hold: bool) {
        if hold {
            self.held.lock().get_or_insert_with(Vec::new);
        }
        let gone: Vec<Session> = std::mem::take(&mut *self.sessions.lock());
        for s in gone {
            if let Some(tx) = s.tx {
                let _ = tx.send(text(json!({"op": 9, "d": false})));
            }
        }
    }

    /// Answer the IDENTIFYs held since `invalidate_sessions(true)`.
    pub(crate) fn take_held(&self) -> Vec<(mpsc::UnboundedSender<WsMessage>, u64, Value)> {
        self.held.lock().take().unwrap_or_default().into_iter().map(|h| (h.tx, h.conn, h.d)).collect()
    }

    /// Send the last dispatch named `event` again, with a new sequence number.
    pub fn replay_last(&self, event: &str) -> bool {
        let mut sessions = self.sessions.lock();
        let mut any = false;
        for s in sessions.iter_mut() {
            let found = s.history.iter().rev().find(|(_, p)| p["t"] == event).map(|(_, p)| p["d"].clone());
            if let Some(d) = found {
                send_dispatch(s, event, d);
                any = true;
            }
        }
        any
    }

    pub fn identify_count(&self) -> usize {
        self.identifies.load(Ordering::SeqCst)
    }
    pub fn resume_count(&self) -> usize {
        self.resumes.load(Ordering::SeqCst)
    }
    pub fn has_ready_session(&self) -> bool {
        self.sessions.lock().iter().any(|s| s.ready && s.tx.is_some())
    }

    /// Whether a connected session holds `shard` ([id, count]).
    pub fn has_ready_shard(&self, shard: [u64; 2]) -> bool {
        self.sessions.lock().iter().any(|s| s.ready && s.tx.is_some() && s.shard == shard)
    }
}

fn send_dispatch(s: &mut Session, event: &str, data: Value) {
    s.seq += 1;
    let payload = json!({"op": 0, "t": event, "s": s.seq, "d": data});
    s.history.push((s.seq, payload.clone()));
    if s.history.len() > HISTORY {
        s.history.drain(..s.history.len() - HISTORY);
    }
    if let Some(tx) = &s.tx {
        let _ = tx.send(text(payload));
    }
}

/// Why a connection's loop ended.
enum End {
    /// The client closed it, with this close code (if any).
    Client(Option<u16>),
    /// No heartbeat in time.
    MissedHeartbeat,
}

/// Where READY's `resume_gateway_url` points: the same gateway, at a path
/// of its own so that the fake knows which URL a connection was opened on.
pub const RESUME_PATH: &str = "/gateway/resume";

/// A connection, opened on the URL of GET /gateway (`on_resume_url` false)
/// or on READY's `resume_gateway_url`.
pub(crate) async fn serve(inner: Arc<Inner>, socket: WebSocket, on_resume_url: bool) {
    let (mut sink, mut stream) = socket.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<WsMessage>();
    let writer = tokio::spawn(async move {
        while let Some(m) = rx.recv().await {
            let close = matches!(m, WsMessage::Close(_));
            if sink.send(m).await.is_err() || close {
                break;
            }
        }
        let _ = sink.close().await;
    });
    let conn = inner.hub.next_conn.fetch_add(1, Ordering::SeqCst) as u64 + 1;
    let interval = Duration::from_millis(inner.world.lock().gateway.heartbeat_interval_ms);
    // gateway.md, "Heartbeat Interval": "Upon receiving the Hello event, your
    // app should wait `heartbeat_interval * jitter` where `jitter` is any
    // random value between 0 and 1, then send its first Heartbeat (opcode
    // `1`) event. From that point until the connection is closed, your app
    // must continually send Discord a heartbeat every `heartbeat_interval`
    // milliseconds. If your app fails to send a heartbeat event in time, your
    // connection will be closed": each heartbeat, the first included, is due
    // within the interval (plus the tolerance) of the one before, or of HELLO.
    let tolerance = heartbeat_tolerance(interval);
    let allowed = interval + tolerance;
    let wake = Arc::new(Notify::new());
    let deadline = tokio::time::Instant::now() + allowed;
    inner
        .hub
        .conns
        .lock()
        .insert(conn, Conn { tx: tx.clone(), deadline, wake: wake.clone(), tolerance, zombie: false });
    let _ = tx.send(text(json!({"op": 10, "d": {"heartbeat_interval": interval.as_millis() as u64}})));
    let end = loop {
        let Some(deadline) = inner.hub.conns.lock().get(&conn).map(|c| c.deadline) else {
            break End::Client(None);
        };
        let msg = tokio::select! {
            m = stream.next() => m,
            _ = tokio::time::sleep_until(deadline) => {
                let still = inner.hub.conns.lock().get(&conn).is_some_and(|c| c.deadline <= tokio::time::Instant::now());
                if still {
                    break End::MissedHeartbeat;
                }
                continue;
            }
            _ = wake.notified() => continue,
        };
        let text_frame = match msg {
            Some(Ok(WsMessage::Text(t))) => t.to_string(),
            Some(Ok(WsMessage::Close(frame))) => break End::Client(frame.map(|f| f.code)),
            Some(Ok(_)) => continue,
            _ => break End::Client(None),
        };
        let Ok(v) = serde_json::from_str::<Value>(&text_frame) else {
            continue;
        };
        match v["op"].as_u64() {
            Some(1) => heartbeat(&inner, conn, allowed),
            Some(2) => identify(&inner, &tx, conn, &v["d"]),
            Some(6) => resume(&inner, &tx, conn, &v["d"], on_resume_url),
            _ => {}
        }
    };
    let zombie = inner.hub.conns.lock().remove(&conn).is_some_and(|c| c.zombie);
    let now = inner.world.lock().now();
    {
        let mut sessions = inner.hub.sessions.lock();
        match end {
            // gateway.md, "Initiating a Disconnect": "When you close the
            // connection to the gateway with close code `1000` or `1001`,
            // your session will be invalidated"; "If you simply close the
            // TCP connection or use a different close code, the session will
            // remain active and timeout after a few minutes."
            End::Client(Some(1000 | 1001)) => sessions.retain(|s| s.conn != conn),
            _ => {
                for s in sessions.iter_mut().filter(|s| s.conn == conn) {
                    s.detach(now);
                }
            }
        }
    }
    match end {
        End::MissedHeartbeat => {
            // "If your app fails to send a heartbeat event in time, your
            // connection will be closed and you will be forced to Resume"
            // (gateway.md): the session stays resumable. The doc names no
            // close code; the fake uses the one opcodes-and-status-codes has
            // for a timeout, 4009 "Session timed out" (marked reconnect:
            // true). A zombied connection just ends: it sends nothing.
            inner.hub.missed_heartbeats.fetch_add(1, Ordering::SeqCst);
            if zombie {
                writer.abort();
            } else {
                let _ = tx.send(close(4009, "Session timed out"));
            }
        }
        End::Client(_) => {
            let _ = tx.send(WsMessage::Close(None));
        }
    }
    drop(tx);
    // Let the writer flush what was queued (an ACK, the close frame).
    let abort = writer.abort_handle();
    if tokio::time::timeout(Duration::from_secs(2), writer).await.is_err() {
        abort.abort();
    }
    inner.changed.notify_waiters();
}

/// A heartbeat (op 1): the next is due within the interval; answered with a
/// Heartbeat ACK (op 11) unless the connection is zombied. gateway.md: "When
/// you send a Heartbeat event, Discord will respond with a Heartbeat ACK
/// (opcode `11`) event".
fn heartbeat(inner: &Arc<Inner>, conn: u64, allowed: Duration) {
    let mut conns = inner.hub.conns.lock();
    let Some(c) = conns.get_mut(&conn) else { return };
    c.deadline = tokio::time::Instant::now() + allowed;
    if c.zombie {
        inner.hub.unacked_heartbeats.fetch_add(1, Ordering::SeqCst);
        drop(conns);
        inner.changed.notify_waiters();
    } else {
        let _ = c.tx.send(text(json!({"op": 11})));
    }
}

fn identify(inner: &Arc<Inner>, tx: &mpsc::UnboundedSender<WsMessage>, conn: u64, d: &Value) {
    if let Some(held) = inner.hub.held.lock().as_mut() {
        held.push(HeldIdentify { tx: tx.clone(), conn, d: d.clone() });
        inner.changed.notify_waiters();
        return;
    }
    let shard = match parse_shard(&d["shard"]) {
        Ok(s) => s,
        Err(why) => return refuse(inner, tx, 4010, &format!("Invalid shard: {why}")),
    };
    let intents = d["intents"].as_u64().unwrap_or(0);
    let mine: Vec<u64> = {
        let w = inner.world.lock();
        let disallowed = intents & intents::PRIVILEGED & !w.gateway.privileged_intents;
        if disallowed != 0 {
            drop(w);
            let why = format!("Disallowed intent(s): {disallowed} is privileged and not enabled for the app");
            return refuse(inner, tx, 4014, &why);
        }
        if let Some(why) = session_start_refused(&inner.hub, &w, shard) {
            drop(w);
            inner.hub.invalid_identifies.lock().push(why);
            let _ = tx.send(text(json!({"op": 9, "d": false})));
            inner.changed.notify_waiters();
            return;
        }
        let mine: Vec<u64> = w.guilds.keys().copied().filter(|g| routes_to(shard, Some(*g))).collect();
        if mine.len() > w.gateway.max_guilds_per_shard {
            let most = w.gateway.max_guilds_per_shard;
            drop(w);
            let why = format!("Sharding required: shard {shard:?} would hold {} guilds, more than {most}", mine.len());
            return refuse(inner, tx, 4011, &why);
        }
        mine
    };
    inner.hub.identifies.fetch_add(1, Ordering::SeqCst);
    let n = inner.hub.identifies.load(Ordering::SeqCst);
    let session_id = format!("session-{n}-{conn}");
    let (ready, guilds) = {
        let mut w = inner.world.lock();
        let bucket = shard[0] % w.gateway.max_concurrency.max(1);
        inner.hub.identified_at.lock().insert(bucket, w.now());
        inner.hub.bot_user_id.store(w.bot_user_id, Ordering::SeqCst);
        // "Clients are limited to 1000 IDENTIFY calls to the websocket in a
        // 24-hour period": what GET /gateway/bot reports as remaining.
        w.gateway.session_remaining = w.gateway.session_remaining.saturating_sub(1);
        let resume_url = format!("ws://{}{RESUME_PATH}", inner.addr);
        let ready = payload::ready(&w, &session_id, shard, &mine, &resume_url);
        let threshold = d["large_threshold"].as_u64().unwrap_or(50).clamp(50, 250);
        let guilds: Vec<Value> = mine
            .iter()
            .filter_map(|id| w.guilds.get(id))
            .map(|g| payload::guild_create_for(&w, g, intents, threshold))
            .collect();
        (ready, guilds)
    };
    let mut s = Session {
        id: session_id,
        seq: 0,
        intents,
        history: Vec::new(),
        tx: Some(tx.clone()),
        conn,
        ready: false,
        shard,
        guilds: mine,
        detached_at: None,
    };
    send_dispatch(&mut s, "READY", ready);
    for g in guilds {
        send_dispatch(&mut s, "GUILD_CREATE", g);
    }
    s.ready = true;
    inner.hub.sessions.lock().push(s);
    inner.changed.notify_waiters();
}

/// Why an IDENTIFY on `shard` is answered with Invalid Session (op 9,
/// `d: false`), if it is. gateway.md, "Identifying": "Apps are limited by
/// maximum concurrency (`max_concurrency` in the session start limit
/// object) when identifying. If your app exceeds this limit, Discord will
/// respond with a Invalid Session (opcode `9`) event"; "Session Start
/// Limit Object": `max_concurrency` is the "Number of identify requests
/// allowed per 5 seconds", by bucket "rate_limit_key = shard_id %
/// max_concurrency" ("Sharding", "Max Concurrency"): one IDENTIFY per bucket per
/// 5 s of the test clock. Past the day's `remaining` session starts the
/// docs do not say what the gateway answers; the fake takes the strict
/// reading and refuses the IDENTIFY the same way (`remaining` is not reset
/// within a test: a test sets it).
fn session_start_refused(hub: &Hub, w: &crate::World, shard: [u64; 2]) -> Option<String> {
    if w.gateway.session_remaining == 0 {
        return Some(format!("no session starts remain of the day's {}", w.gateway.session_total));
    }
    let bucket = shard[0] % w.gateway.max_concurrency.max(1);
    let last = hub.identified_at.lock().get(&bucket).copied();
    match last {
        Some(at) if w.now().saturating_duration_since(at) < IDENTIFY_WINDOW => Some(format!(
            "rate_limit_key {bucket} (shard {shard:?}, max_concurrency {}) already identified within 5 s",
            w.gateway.max_concurrency
        )),
        _ => None,
    }
}

/// The window `max_concurrency` counts IDENTIFYs in.
pub const IDENTIFY_WINDOW: Duration = Duration::from_secs(5);

/// Close the connection with a non-resumable close code
/// (opcodes-and-status-codes: 4010 Invalid shard, 4011 Sharding required).
fn refuse(inner: &Arc<Inner>, tx: &mpsc::UnboundedSender<WsMessage>, code: u16, reason: &str) {
    inner.hub.refused.lock().push((code, reason.to_string()));
    let _ = tx.send(close(code, reason));
    inner.changed.notify_waiters();
}

/// Answer the IDENTIFYs that were held back.
pub(crate) fn release_identify(inner: &Arc<Inner>) {
    for (tx, conn, d) in inner.hub.take_held() {
        identify(inner, &tx, conn, &d);
    }
}

pub(crate) fn held_identify_count(inner: &Arc<Inner>) -> usize {
    inner.hub.held.lock().as_ref().map_or(0, |h| h.len())
}

/// RESUME (op 6). gateway.md, "Resuming": "If successful, the Gateway will
/// send the missed events in order, finishing with a Resumed event"; "It's
/// possible your app won't reconnect in time to Resume, in which case it
/// will receive an Invalid Session (opcode `9`) event. If the `d` field is
/// set to `false`...". Refused with op 9 `d: false`: an unknown (or
/// invalidated) session, one detached longer than the session timeout, one
/// whose missed events are no longer kept; closed with 4007 "Invalid `seq`"
/// (opcodes-and-status-codes) when `seq` is past the session's last.
///
/// gateway.md, "Preparing to Resume": "your app should open a new
/// connection using `resume_gateway_url` rather than the URL used to
/// initially connect ... If your app doesn't use the `resume_gateway_url`
/// when reconnecting, it will experience disconnects at a higher rate than
/// normal": a RESUME on another connection is accepted, as Discord does,
/// and recorded as a violation.
fn resume(inner: &Arc<Inner>, tx: &mpsc::UnboundedSender<WsMessage>, conn: u64, d: &Value, on_resume_url: bool) {
    if !on_resume_url {
        inner
            .world
            .lock()
            .violations
            .push("gateway: RESUME sent on a connection to GET /gateway's url, not READY's resume_gateway_url".into());
    }
    let sid = d["session_id"].as_str().unwrap_or_default();
    let seq = d["seq"].as_u64().unwrap_or(0);
    let (now, timeout) = {
        let w = inner.world.lock();
        (w.now(), w.gateway.session_timeout)
    };
    let mut sessions = inner.hub.sessions.lock();
    let refusal = match sessions.iter().position(|s| s.id == sid) {
        None => Some((None, format!("unknown or invalidated session {sid:?}"))),
        Some(i) => {
            let s = &sessions[i];
            let first_kept = s.history.first().map_or(s.seq + 1, |(n, _)| *n);
            if s.detached_at.is_some_and(|at| now.saturating_duration_since(at) > timeout) {
                Some((Some(i), format!("session {sid:?} timed out ({timeout:?} without a connection)")))
            } else if seq > s.seq {
                Some((Some(i), format!("seq {seq} is past the session's last, {}", s.seq)))
            } else if seq + 1 < first_kept {
                Some((Some(i), format!("events after seq {seq} are no longer kept")))
            } else {
                None
            }
        }
    };
    if let Some((at, why)) = refusal {
        let past = seq > at.map_or(u64::MAX, |i| sessions[i].seq);
        if let Some(i) = at {
            sessions.remove(i);
        }
        drop(sessions);
        inner.hub.refused_resumes.lock().push(why);
        let _ = tx.send(if past { close(4007, "Invalid seq") } else { text(json!({"op": 9, "d": false})) });
        inner.changed.notify_waiters();
        return;
    }
    let s = sessions.iter_mut().find(|s| s.id == sid).expect("found above");
    inner.hub.resumes.fetch_add(1, Ordering::SeqCst);
    s.tx = Some(tx.clone());
    s.conn = conn;
    s.detached_at = None;
    for (n, p) in &s.history {
        if *n > seq {
            let _ = tx.send(text(p.clone()));
        }
    }
    send_dispatch(s, "RESUMED", json!({}));
    drop(sessions);
    inner.changed.notify_waiters();
}

#[cfg(test)]
mod tests {
    //! Sharding as topics/gateway documents it ("Sharding", "Sharding
    //! Formula", "Get Gateway Bot") and the close codes of
    //! opcodes-and-status-codes (4010 Invalid shard, 4011 Sharding required).
    use super::*;
    use crate::FakeDiscord;
    use tokio_tungstenite::tungstenite::Message as Ws;

    type Conn = tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

    /// Connect, read HELLO, send IDENTIFY with `shard` (omitted when None).
    async fn identify(fake: &FakeDiscord, shard: Option<Value>) -> Conn {
        // Past the last IDENTIFY's max_concurrency window.
        fake.advance(IDENTIFY_WINDOW);
        let url = format!("{}/gateway?v=10", fake.base_url().replace("http://", "ws://"));
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("the gateway answers");
        let hello = next(&mut ws).await.expect("HELLO");
        assert_eq!(hello["op"], 10);
        let mut d = json!({"token": "Bot t", "intents": 1 | 2 | 512, "properties": {"os": "linux", "browser": "t", "device": "t"}});
        if let Some(s) = shard {
            d["shard"] = s;
        }
        ws.send(Ws::Text(json!({"op": 2, "d": d}).to_string().into())).await.expect("IDENTIFY sent");
        ws
    }

    /// The next JSON frame; `Err(close code)` when the gateway closes.
    async fn next(ws: &mut Conn) -> Result<Value, u16> {
        loop {
            match tokio::time::timeout(std::time::Duration::from_secs(5), ws.next()).await.expect("a frame in time") {
                Some(Ok(Ws::Text(t))) => return Ok(serde_json::from_str(&t).expect("JSON")),
                Some(Ok(Ws::Close(f))) => return Err(f.map_or(0, |f| u16::from(f.code))),
                Some(Ok(_)) => continue,
                other => panic!("the connection ended without a close frame: {other:?}"),
            }
        }
    }

    /// READY and the GUILD_CREATEs after it: (READY, guild ids created).
    async fn ready(ws: &mut Conn, guilds: usize) -> (Value, Vec<u64>) {
        let ready = next(ws).await.expect("READY");
        assert_eq!(ready["t"], "READY");
        let mut created = Vec::new();
        for _ in 0..guilds {
            let g = next(ws).await.expect("GUILD_CREATE");
            assert_eq!(g["t"], "GUILD_CREATE");
            created.push(g["d"]["id"].as_str().unwrap().parse().unwrap());
        }
        (ready["d"].clone(), created)
    }

    fn ids(ready: &Value) -> Vec<u64> {
        ready["guilds"].as_array().unwrap().iter().map(|g| g["id"].as_str().unwrap().parse().unwrap()).collect()
    }

    #[test]
    fn events_go_to_the_shard_of_the_formula_and_events_without_a_guild_to_shard_zero() {
        // shard_id = (guild_id >> 22) % num_shards
        let g = (7u64 << 22) | 5;
        assert_eq!(crate::world::shard_of(g, 3), 1);
        assert!(routes_to([1, 3], Some(g)) && !routes_to([0, 3], Some(g)) && !routes_to([2, 3], Some(g)));
        assert!(routes_to([0, 1], Some(g)), "one shard holds everything");
        // "Gateway events that do not contain a guild_id will only be sent to the first shard"
        assert!(routes_to([0, 3], None) && !routes_to([1, 3], None));
        assert_eq!(guild_of("GUILD_CREATE", &json!({"id": "9"})), Some(9));
        assert_eq!(guild_of("GUILD_MEMBER_UPDATE", &json!({"guild_id": "9"})), Some(9));
        assert_eq!(guild_of("INTERACTION_CREATE", &json!({"id": "1", "channel_id": "2"})), None, "a DM");
        let mut w = crate::World::new();
        for shard in 0..4 {
            assert_eq!(crate::world::shard_of(w.snowflake_on_shard(shard, 4), 4), shard);
        }
    }

    /// gateway-events.md, Thread Members Update: "If the current user does
    /// not have the `GUILD_MEMBERS` Gateway Intent, then this event will only
    /// be sent if the current user was added to or removed from the thread".
    #[test]
    fn thread_members_update_needs_guild_members_unless_it_is_about_the_bot() {
        let bot = 7u64;
        let others = json!({"id": "1", "guild_id": "2", "member_count": 2, "added_members": [{"user_id": "9"}]});
        assert_eq!(intent_for("THREAD_MEMBERS_UPDATE", &others, bot), Some(intents::GUILD_MEMBERS));
        let added = json!({"id": "1", "guild_id": "2", "member_count": 2, "added_members": [{"user_id": "7"}]});
        let removed = json!({"id": "1", "guild_id": "2", "member_count": 1, "removed_member_ids": ["7"]});
        for v in [added, removed] {
            let needed = intent_for("THREAD_MEMBERS_UPDATE", &v, bot).unwrap();
            assert!(needed & intents::GUILDS != 0 && needed & intents::GUILD_MEMBERS != 0, "either intent gets it");
        }
    }

    #[test]
    fn a_shard_must_be_an_id_below_its_count() {
        assert_eq!(parse_shard(&Value::Null), Ok([0, 1]));
        assert_eq!(parse_shard(&json!([1, 2])), Ok([1, 2]));
        assert!(parse_shard(&json!([2, 2])).is_err());
        assert!(parse_shard(&json!([0, 0])).is_err());
        assert!(parse_shard(&json!([0])).is_err());
        assert!(parse_shard(&json!(["0", "2"])).is_err());
    }

    #[tokio::test]
    async fn an_identify_whose_shard_does_not_fit_is_closed_with_4010_invalid_shard() {
        let fake = FakeDiscord::start().await;
        for bad in [json!([2, 2]), json!([0, 0]), json!([1])] {
            let mut ws = identify(&fake, Some(bad.clone())).await;
            assert_eq!(next(&mut ws).await, Err(4010), "{bad}");
        }
        assert_eq!(fake.identify_count(), 0, "no session was started");
        assert!(fake.sessions().is_empty());
        assert_eq!(fake.refused_identifies().iter().filter(|(c, _)| *c == 4010).count(), 3);
    }

    #[tokio::test]
    async fn ready_lists_only_the_guilds_of_the_sessions_shard_and_events_follow_them() {
        let fake = FakeDiscord::start().await;
        let first = fake.guild_id;
        let on = crate::world::shard_of(first, 2);
        let other = fake.add_guild_on_shard("Other", 1 - on, 2);
        let mut a = identify(&fake, Some(json!([on, 2]))).await;
        let (r, created) = ready(&mut a, 1).await;
        assert_eq!((ids(&r), created), (vec![first], vec![first]));
        assert_eq!(r["shard"], json!([on, 2]));
        let mut b = identify(&fake, Some(json!([1 - on, 2]))).await;
        let (r, created) = ready(&mut b, 1).await;
        assert_eq!((ids(&r), created), (vec![other], vec![other]));
        // A change in `other` reaches b only; then one in `first` reaches a:
        // a's next frame is the latter, so it never got the former.
        let (bob, _) = (fake.in_guild(other).member("bob"), fake.in_guild(first).member("carl"));
        let e = next(&mut b).await.unwrap();
        assert_eq!(
            (e["t"].as_str(), e["d"]["user"]["id"].as_str()),
            (Some("GUILD_MEMBER_ADD"), Some(&*bob.user_id.to_string()))
        );
        let e = next(&mut a).await.unwrap();
        assert_eq!(e["d"]["guild_id"], json!(first.to_string()), "{e}");
        // A session without `shard` is [0, 1]: every guild.
        let mut all = identify(&fake, None).await;
        let (r, mut created) = ready(&mut all, 2).await;
        created.sort();
        let mut both = vec![first, other];
        both.sort();
        assert_eq!((ids(&r).len(), created), (2, both));
        assert_eq!(r["shard"], json!([0, 1]));
        let shards: Vec<[u64; 2]> = fake.sessions().iter().map(|s| s.shard).collect();
        assert_eq!(shards, vec![[on, 2], [1 - on, 2], [0, 1]]);
    }

    #[tokio::test]
    async fn a_session_that_would_hold_too_many_guilds_must_shard_4011() {
        let fake = FakeDiscord::start().await;
        let on = crate::world::shard_of(fake.guild_id, 2);
        fake.add_guild_on_shard("Other", 1 - on, 2);
        // Discord: 2500 guilds a shard; here 1, so two guilds need two shards.
        fake.set_gateway(|g| g.max_guilds_per_shard = 1);
        let mut ws = identify(&fake, None).await;
        assert_eq!(next(&mut ws).await, Err(4011));
        let mut ws = identify(&fake, Some(json!([0, 2]))).await;
        assert_eq!(ready(&mut ws, 1).await.1.len(), 1, "sharded, each session holds one");
        assert_eq!(fake.refused_identifies().len(), 1);
    }

    #[tokio::test]
    async fn gateway_bot_recommends_the_shards_and_counts_identifies_against_the_start_limit() {
        let fake = FakeDiscord::start().await;
        fake.set_gateway(|g| {
            g.shards = 4;
            g.max_concurrency = 2;
        });
        let get = || async {
            reqwest::Client::new()
                .get(format!("{}/api/v10/gateway/bot", fake.base_url()))
                .header("authorization", "Bot t")
                .header("user-agent", "DiscordBot (https://example.org, 1)")
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        };
        let v = get().await;
        assert_eq!(v["shards"], 4);
        assert_eq!(v["url"], json!(format!("{}/gateway", fake.base_url().replace("http://", "ws://"))));
        let limit = &v["session_start_limit"];
        assert_eq!((limit["total"].as_u64(), limit["remaining"].as_u64()), (Some(1000), Some(1000)));
        assert_eq!(limit["max_concurrency"], 2);
        assert!(limit["reset_after"].as_u64().is_some());
        let mut ws = identify(&fake, Some(json!([0, 4]))).await;
        let _ = next(&mut ws).await.expect("READY");
        assert_eq!(get().await["session_start_limit"]["remaining"], 999, "an IDENTIFY counts");
        fake.assert_no_violations();
    }

    // ---- Heartbeats, Reconnect, Invalid Session, Resume, MESSAGE_CONTENT ----

    /// Connect and read HELLO: (connection, heartbeat_interval).
    async fn connect(fake: &FakeDiscord) -> (Conn, u64) {
        let url = format!("{}/gateway?v=10", fake.base_url().replace("http://", "ws://"));
        let (mut ws, _) = tokio_tungstenite::connect_async(url).await.expect("the gateway answers");
        let hello = next(&mut ws).await.expect("HELLO");
        assert_eq!(hello["op"], 10);
        (ws, hello["d"]["heartbeat_interval"].as_u64().expect("heartbeat_interval"))
    }

    async fn send(ws: &mut Conn, v: Value) {
        ws.send(Ws::Text(v.to_string().into())).await.expect("sent");
    }

    /// A new session with `intents`: (connection, session id, last seq).
    async fn session(fake: &FakeDiscord, intents: u64) -> (Conn, String, u64) {
        // Past the last IDENTIFY's max_concurrency window.
        fake.advance(IDENTIFY_WINDOW);
        let (mut ws, _) = connect(fake).await;
        let d =
            json!({"token": "Bot t", "intents": intents, "properties": {"os": "linux", "browser": "t", "device": "t"}});
        send(&mut ws, json!({"op": 2, "d": d})).await;
        let ready = next(&mut ws).await.expect("READY");
        assert_eq!(ready["t"], "READY");
        let g = next(&mut ws).await.expect("GUILD_CREATE");
        assert_eq!(g["t"], "GUILD_CREATE");
        let sid = ready["d"]["session_id"].as_str().unwrap().to_string();
        (ws, sid, g["s"].as_u64().unwrap())
    }

    /// The next dispatch named `t`, skipping others.
    async fn next_named(ws: &mut Conn, t: &str) -> Value {
        loop {
            let v = next(ws).await.expect("a frame");
            if v["t"] == t {
                return v;
            }
        }
    }

    /// Close from the client side with `code` and read what the server sent
    /// before its end: the JSON frames.
    async fn close_and_drain(mut ws: Conn, code: u16) -> Vec<Value> {
        use tokio_tungstenite::tungstenite::protocol::{frame::coding::CloseCode, CloseFrame};
        let frame = CloseFrame { code: CloseCode::from(code), reason: "client".into() };
        let _ = ws.send(Ws::Close(Some(frame))).await;
        let mut got = Vec::new();
        while let Ok(Some(Ok(m))) = tokio::time::timeout(std::time::Duration::from_secs(5), ws.next()).await {
            match m {
                Ws::Text(t) => got.push(serde_json::from_str(&t).expect("JSON")),
                Ws::Close(_) => break,
                _ => {}
            }
        }
        got
    }

    /// RESUME on a new connection: the frames up to RESUMED, or the refusal
    /// (`Err(Some(op 9 d))` or `Err(None)` with the close code in `.1`).
    async fn resume_on_new(fake: &FakeDiscord, sid: &str, seq: u64) -> Result<Vec<Value>, (Option<Value>, u16)> {
        let (mut ws, _) = connect(fake).await;
        send(&mut ws, json!({"op": 6, "d": {"token": "Bot t", "session_id": sid, "seq": seq}})).await;
        let mut got = Vec::new();
        loop {
            match next(&mut ws).await {
                Ok(v) if v["op"] == 9 => return Err((Some(v["d"].clone()), 0)),
                Ok(v) if v["t"] == "RESUMED" => return Ok(got),
                Ok(v) => got.push(v),
                Err(code) => return Err((None, code)),
            }
        }
    }

    /// gateway.md, "Heartbeat Interval": "When you send a Heartbeat event,
    /// Discord will respond with a Heartbeat ACK (opcode `11`) event"; and
    /// "Heartbeat Requests": "Discord may request additional heartbeats from
    /// your app by sending a Heartbeat (opcode `1`) event. Upon receiving the
    /// event, your app should immediately send back another Heartbeat event
    /// ... Just like with the interval, Discord will respond with an Heartbeat
    /// ACK". HELLO carries Discord's 41250 ms by default.
    #[tokio::test]
    async fn every_heartbeat_is_acked_and_a_requested_one_must_come_at_once() {
        let fake = FakeDiscord::start().await;
        let (mut ws, interval) = connect(&fake).await;
        assert_eq!(interval, 41_250);
        send(&mut ws, json!({"op": 1, "d": null})).await;
        assert_eq!(next(&mut ws).await, Ok(json!({"op": 11})));
        // A request (op 1 from the server) is answered with a heartbeat, ACKed.
        fake.request_heartbeat();
        assert_eq!(next(&mut ws).await.unwrap()["op"], 1);
        send(&mut ws, json!({"op": 1, "d": null})).await;
        assert_eq!(next(&mut ws).await, Ok(json!({"op": 11})));
        assert!(close_and_drain(ws, 4000).await.is_empty());
        // A client ignoring the request is closed long before its interval
        // (10 s, plus a quarter) would have run out: within the tolerance.
        fake.set_heartbeat_interval(std::time::Duration::from_secs(10));
        let (mut deaf, interval) = connect(&fake).await;
        assert_eq!(interval, 10_000);
        fake.request_heartbeat();
        assert_eq!(next(&mut deaf).await.unwrap()["op"], 1);
        let asked = std::time::Instant::now();
        assert_eq!(next(&mut deaf).await, Err(4009), "closed: no heartbeat after the request");
        assert!(asked.elapsed() < std::time::Duration::from_secs(10), "{:?}", asked.elapsed());
        assert_eq!(fake.missed_heartbeats(), 1);
    }

    /// gateway.md, "Heartbeat Interval": "your app should wait
    /// `heartbeat_interval * jitter` ... then send its first Heartbeat ...
    /// From that point until the connection is closed, your app must
    /// continually send Discord a heartbeat every `heartbeat_interval`
    /// milliseconds. If your app fails to send a heartbeat event in time,
    /// your connection will be closed and you will be forced to Resume."
    #[tokio::test]
    async fn a_client_that_stops_heartbeating_is_closed_and_must_resume() {
        let fake = FakeDiscord::start().await;
        fake.set_heartbeat_interval(std::time::Duration::from_millis(200));
        // One client keeps heartbeating every interval, in the background.
        let (mut steady, interval) = connect(&fake).await;
        assert_eq!(interval, 200);
        let (stop, mut stopped) = tokio::sync::oneshot::channel::<()>();
        let keeper = tokio::spawn(async move {
            // A client's heartbeat timer, inside the 200 ms interval.
            let mut beat = tokio::time::interval(std::time::Duration::from_millis(150));
            let mut acks = 0;
            loop {
                tokio::select! {
                    _ = beat.tick() => {}
                    _ = &mut stopped => return acks,
                }
                send(&mut steady, json!({"op": 1, "d": null})).await;
                assert_eq!(next(&mut steady).await, Ok(json!({"op": 11})), "the steady client stays open");
                acks += 1;
            }
        });
        // The other heartbeats once, then stops.
        let (mut ws, sid, seq) = session(&fake, 1 | 2 | 512).await;
        send(&mut ws, json!({"op": 1, "d": seq})).await;
        assert_eq!(next(&mut ws).await, Ok(json!({"op": 11})));
        let last = std::time::Instant::now();
        assert_eq!(next(&mut ws).await, Err(4009), "closed once the interval and its tolerance ran out");
        assert!(last.elapsed() >= std::time::Duration::from_millis(200), "not before the interval");
        assert_eq!(fake.missed_heartbeats(), 1);
        let _ = stop.send(());
        assert!(keeper.await.unwrap() >= 3, "the steady client was ACKed past several intervals");
        // "forced to Resume": the session is kept, and what happened since
        // is replayed.
        assert!(fake.sessions().iter().any(|s| s.id == sid && !s.connected));
        let carl = fake.member("carl");
        let got = resume_on_new(&fake, &sid, seq).await.expect("resumed");
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0]["d"]["user"]["id"], json!(carl.user_id.to_string()));
    }

    /// gateway.md, "Heartbeat Interval": "If a client does not receive a
    /// heartbeat ACK between its attempts at sending heartbeats, this may be
    /// due to a failed or "zombied" connection. The client should immediately
    /// terminate the connection with any close code besides `1000` or `1001`,
    /// then reconnect and attempt to Resume."
    #[tokio::test]
    async fn a_zombied_connection_acks_nothing_and_a_resume_gets_what_it_missed() {
        let fake = FakeDiscord::start().await;
        let (mut ws, sid, seq) = session(&fake, 1 | 2 | 512).await;
        fake.zombie_gateway();
        let bob = fake.member("bob");
        send(&mut ws, json!({"op": 1, "d": seq})).await;
        let fake2 = fake.clone();
        fake.wait_for(5, "the heartbeat reached the zombied connection", move || fake2.unacked_heartbeats() == 1).await;
        assert!(fake.sessions().iter().all(|s| !s.connected), "nothing is delivered on a zombie");
        let on_zombie = close_and_drain(ws, 4000).await;
        assert!(on_zombie.is_empty(), "no ACK, no dispatch: {on_zombie:?}");
        let got = resume_on_new(&fake, &sid, seq).await.expect("resumed");
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!(got[0]["t"], "GUILD_MEMBER_ADD");
        assert_eq!(got[0]["d"]["user"]["id"], json!(bob.user_id.to_string()));
        assert!(fake.sessions().iter().any(|s| s.id == sid && s.connected), "a new connection is healthy");
    }

    /// gateway-events.md, Reconnect: "The reconnect event is dispatched when
    /// a client should reconnect to the gateway (and resume their existing
    /// session, if they have one)"; gateway.md, "Resuming": "your app should
    /// attempt to resume: It receives a Reconnect (opcode `7`) event", and
    /// "the Gateway will send the missed events in order, finishing with a
    /// Resumed event".
    #[tokio::test]
    async fn reconnect_op_7_is_followed_by_a_resume_that_replays_the_gap() {
        let fake = FakeDiscord::start().await;
        let (mut ws, sid, seq) = session(&fake, 1 | 2 | 512).await;
        fake.reconnect_gateway();
        assert_eq!(next(&mut ws).await, Ok(json!({"op": 7, "d": null})));
        let bob = fake.member("bob");
        assert!(close_and_drain(ws, 4000).await.is_empty(), "the gap is not sent on the old connection");
        let before = fake.resume_count();
        let got = resume_on_new(&fake, &sid, seq).await.expect("resumed");
        assert_eq!(got.iter().map(|v| v["t"].as_str().unwrap()).collect::<Vec<_>>(), ["GUILD_MEMBER_ADD"]);
        assert_eq!(got[0]["s"], seq + 1, "in order, from the last seq the client saw");
        assert_eq!(got[0]["d"]["user"]["id"], json!(bob.user_id.to_string()));
        assert_eq!(fake.resume_count(), before + 1);
    }

    /// gateway-events.md, Invalid Session: "The inner `d` key is a boolean
    /// that indicates whether the session may be resumable"; gateway.md,
    /// "Resuming": resume when "It receives an Invalid Session (opcode `9`)
    /// event with the `d` field set to `true`"; "If the `d` field is set to
    /// `false` ... send an Identify".
    #[tokio::test]
    async fn invalid_session_true_may_be_resumed_and_false_may_not() {
        let fake = FakeDiscord::start().await;
        let (mut ws, sid, seq) = session(&fake, 1 | 2 | 512).await;
        fake.invalidate_session_resumable();
        assert_eq!(next(&mut ws).await, Ok(json!({"op": 9, "d": true})));
        let bob = fake.member("bob");
        drop(ws);
        let got = resume_on_new(&fake, &sid, seq).await.expect("d: true is resumable");
        assert_eq!(got[0]["d"]["user"]["id"], json!(bob.user_id.to_string()));
        // d: false: the RESUME is refused with op 9 d: false; an IDENTIFY works.
        let (mut ws, sid, seq) = session(&fake, 1 | 2 | 512).await;
        fake.invalidate_session(false);
        assert_eq!(next(&mut ws).await, Ok(json!({"op": 9, "d": false})));
        assert_eq!(resume_on_new(&fake, &sid, seq).await.err(), Some((Some(json!(false)), 0)));
        let identifies = fake.identify_count();
        let _ = session(&fake, 1 | 2 | 512).await;
        assert_eq!(fake.identify_count(), identifies + 1);
    }

    /// gateway.md, "Initiating a Disconnect": "When you close the connection
    /// to the gateway with close code `1000` or `1001`, your session will be
    /// invalidated"; "If you simply close the TCP connection or use a
    /// different close code, the session will remain active and timeout
    /// after a few minutes". "Resuming": "It's possible your app won't
    /// reconnect in time to Resume, in which case it will receive an Invalid
    /// Session (opcode `9`) event"; opcodes-and-status-codes: 4007 "Invalid
    /// `seq`: The sequence sent when resuming the session was invalid".
    #[tokio::test]
    async fn sessions_expire_and_unknown_closed_or_overtaken_ones_are_not_resumed() {
        let fake = FakeDiscord::start().await;
        let timeout = fake.with(|w| w.gateway.session_timeout);
        // Within the timeout: resumed.
        let (ws, sid, seq) = session(&fake, 1 | 512).await;
        let _ = close_and_drain(ws, 4000).await;
        fake.advance(timeout - std::time::Duration::from_secs(1));
        assert!(resume_on_new(&fake, &sid, seq).await.is_ok(), "a few minutes are allowed");
        // Past it: op 9 d: false.
        let (ws, sid, seq) = session(&fake, 1 | 512).await;
        let _ = close_and_drain(ws, 4000).await;
        fake.advance(timeout + std::time::Duration::from_secs(1));
        assert_eq!(resume_on_new(&fake, &sid, seq).await.err(), Some((Some(json!(false)), 0)));
        assert!(fake.refused_resumes().last().unwrap().contains("timed out"), "{:?}", fake.refused_resumes());
        // Unknown session id.
        assert_eq!(resume_on_new(&fake, "no-such-session", 1).await.err(), Some((Some(json!(false)), 0)));
        // Closed with 1000 or 1001: invalidated at once.
        for code in [1000, 1001] {
            let (ws, sid, seq) = session(&fake, 1 | 512).await;
            let _ = close_and_drain(ws, code).await;
            assert_eq!(resume_on_new(&fake, &sid, seq).await.err(), Some((Some(json!(false)), 0)), "{code}");
        }
        // A seq past the session's last: 4007.
        let (ws, sid, seq) = session(&fake, 1 | 512).await;
        drop(ws);
        assert_eq!(resume_on_new(&fake, &sid, seq + 5).await.err(), Some((None, 4007)));
    }

    /// gateway.md, "Message Content Intent": "Apps **without** the intent
    /// will receive empty values in fields that contain user-inputted content
    /// with a few exceptions: Content in messages that an app sends; Content
    /// in DMs with the app; Content in which the app is mentioned"; message.md:
    /// "empty values in the `content`, `embeds`, `attachments`, and
    /// `components` fields while `poll` will be omitted".
    #[test]
    fn without_message_content_a_message_is_emptied_except_the_apps_dms_and_mentions() {
        let bot = 7u64;
        let msg = json!({"id": "1", "channel_id": "2", "guild_id": "3", "author": {"id": "9"},
            "content": "secret", "embeds": [{"title": "t"}], "attachments": [{"id": "4"}],
            "components": [{"type": 1}], "poll": {}, "mentions": [],
            "message_snapshots": [{"message": {"content": "fwd", "embeds": [{"title": "e"}], "attachments": []}}]});
        assert!(content_hidden("MESSAGE_CREATE", &msg, 1 | 512, bot));
        assert!(content_hidden("MESSAGE_UPDATE", &msg, 1 | 512, bot));
        assert!(!content_hidden("MESSAGE_CREATE", &msg, 1 | 512 | intents::MESSAGE_CONTENT, bot));
        assert!(!content_hidden("GUILD_CREATE", &msg, 1, bot));
        let hidden = without_content(&msg);
        assert_eq!(
            (&hidden["content"], &hidden["embeds"], &hidden["attachments"], &hidden["components"]),
            (&json!(""), &json!([]), &json!([]), &json!([]))
        );
        assert!(hidden.get("poll").is_none());
        assert_eq!(hidden["message_snapshots"][0]["message"]["content"], "");
        assert_eq!(hidden["message_snapshots"][0]["message"]["embeds"], json!([]));
        assert_eq!((&hidden["id"], &hidden["author"]), (&msg["id"], &msg["author"]), "the rest is kept");
        // A partial update stays partial.
        assert_eq!(without_content(&json!({"id": "1", "content": "x"})), json!({"id": "1", "content": ""}));
        // The exceptions.
        let mut by_the_app = msg.clone();
        by_the_app["author"]["id"] = json!("7");
        let mut dm = msg.clone();
        dm.as_object_mut().unwrap().remove("guild_id");
        let mut mentioned = msg.clone();
        mentioned["content"] = json!("hey <@7>");
        let mut nick_mention = msg.clone();
        nick_mention["content"] = json!("hey <@!7>");
        let mut in_mentions = msg.clone();
        in_mentions["mentions"] = json!([{"id": "7", "username": "bot"}]);
        for v in [by_the_app, dm, mentioned, nick_mention, in_mentions] {
            assert!(!content_hidden("MESSAGE_CREATE", &v, 1 | 512, bot), "{v}");
        }
        let mut other = msg.clone();
        other["content"] = json!("hey <@70>");
        assert!(content_hidden("MESSAGE_CREATE", &other, 1 | 512, bot), "another user's mention is not the app's");
    }

    /// The same rule end to end: two sessions, one with MESSAGE_CONTENT
    /// (`1 << 15`), one without, see a member's message.
    #[tokio::test]
    async fn a_session_without_message_content_gets_members_messages_empty() {
        let fake = FakeDiscord::start().await;
        fake.set_gateway(|g| g.privileged_intents |= intents::MESSAGE_CONTENT);
        let (mut with, _, _) = session(&fake, 1 | 512 | (1 << 15)).await;
        let (mut without, _, _) = session(&fake, 1 | 512).await;
        let bob = fake.member("bob");
        let general = fake.general_channel();
        bob.post_message(general, "hello there", None);
        assert_eq!(next_named(&mut with, "MESSAGE_CREATE").await["d"]["content"], "hello there");
        assert_eq!(next_named(&mut without, "MESSAGE_CREATE").await["d"]["content"], "");
        let bot = fake.bot_user_id();
        bob.post_message(general, &format!("<@{bot}> ping"), None);
        assert_eq!(next_named(&mut without, "MESSAGE_CREATE").await["d"]["content"], format!("<@{bot}> ping"));
        fake.mutate(|w| crate::rest::post_message(w, general, bot, &json!({"content": "mine"}), None).unwrap());
        assert_eq!(next_named(&mut without, "MESSAGE_CREATE").await["d"]["content"], "mine");
        for got in [next_named(&mut with, "MESSAGE_CREATE").await, next_named(&mut with, "MESSAGE_CREATE").await] {
            assert!(!got["d"]["content"].as_str().unwrap().is_empty());
        }
    }
    // ---- Privileged intents, resume_gateway_url, session start limits ----

    /// IDENTIFY with `intents` on shard `shard`: READY's `d`, or what
    /// refused it (`Err(Some(op 9 d))`, or `Err(None)` and the close code).
    async fn try_identify(fake: &FakeDiscord, intents: u64, shard: [u64; 2]) -> Result<Value, (Option<Value>, u16)> {
        let (mut ws, _) = connect(fake).await;
        let d = json!({"token": "Bot t", "intents": intents, "shard": shard,
            "properties": {"os": "linux", "browser": "t", "device": "t"}});
        send(&mut ws, json!({"op": 2, "d": d})).await;
        match next(&mut ws).await {
            Ok(v) if v["op"] == 9 => Err((Some(v["d"].clone()), 0)),
            Ok(v) if v["t"] == "READY" => Ok(v["d"].clone()),
            Ok(v) => panic!("neither READY nor a refusal: {v}"),
            Err(code) => Err((None, code)),
        }
    }

    /// gateway.md, "Gateway Restrictions": "If you pass a privileged intent
    /// in the `intents` parameter without configuring it in your app's
    /// settings ... your Gateway connection will be closed with a (`4014`
    /// close code)"; the fake's app has GUILD_MEMBERS enabled, the one the
    /// bot needs, and neither GUILD_PRESENCES nor MESSAGE_CONTENT.
    #[tokio::test]
    async fn a_privileged_intent_the_app_has_not_enabled_is_closed_with_4014() {
        let fake = FakeDiscord::start().await;
        for asked in [intents::MESSAGE_CONTENT, intents::GUILD_PRESENCES] {
            let got = try_identify(&fake, intents::GUILDS | intents::GUILD_MEMBERS | asked, [0, 1]).await;
            assert_eq!(got.unwrap_err(), (None, 4014), "intent {asked}");
        }
        assert!(fake.refused_identifies().iter().all(|(code, _)| *code == 4014));
        assert_eq!(fake.identify_count(), 0, "no session was started");
        try_identify(&fake, intents::GUILDS | intents::GUILD_MEMBERS | intents::GUILD_MESSAGES, [0, 1])
            .await
            .expect("the enabled one is accepted");
        fake.set_gateway(|g| g.privileged_intents |= intents::MESSAGE_CONTENT);
        fake.advance(IDENTIFY_WINDOW);
        try_identify(&fake, intents::GUILDS | intents::MESSAGE_CONTENT, [0, 1]).await.expect("enabled now");
    }

    /// gateway.md, "Ready Event": "`resume_gateway_url` is a WebSocket URL
    /// that your app should use when it Resumes after a disconnect"; it
    /// names the fake's own address (port included); a RESUME there is
    /// clean, one on GET /gateway's URL is accepted but recorded.
    #[tokio::test]
    async fn ready_names_a_resume_url_with_the_port_and_resuming_elsewhere_is_a_violation() {
        let fake = FakeDiscord::start().await;
        let (ws, sid, seq) = session(&fake, 1 | 2 | 512).await;
        let url = last_ready_resume_url(&fake).await;
        let port = fake.base_url().rsplit(':').next().unwrap().to_string();
        assert_eq!(url, format!("ws://127.0.0.1:{port}{RESUME_PATH}"));
        let _ = close_and_drain(ws, 4000).await;
        let (mut there, _) = tokio_tungstenite::connect_async(format!("{url}?v=10")).await.expect("it answers");
        assert_eq!(next(&mut there).await.unwrap()["op"], 10, "HELLO");
        send(&mut there, json!({"op": 6, "d": {"token": "Bot t", "session_id": sid, "seq": seq}})).await;
        assert_eq!(next_named(&mut there, "RESUMED").await["t"], "RESUMED");
        assert!(fake.violations().is_empty(), "{:?}", fake.violations());
        let _ = close_and_drain(there, 4000).await;
        resume_on_new(&fake, &sid, seq).await.expect("accepted, as Discord does");
        let v = fake.violations();
        assert!(v.len() == 1 && v[0].contains("resume_gateway_url"), "{v:?}");
    }

    /// READY's `resume_gateway_url`, from a fresh session of the fake's.
    async fn last_ready_resume_url(fake: &FakeDiscord) -> String {
        fake.advance(IDENTIFY_WINDOW);
        let ready = try_identify(fake, 1, [0, 1]).await.expect("READY");
        ready["resume_gateway_url"].as_str().expect("a resume_gateway_url").to_string()
    }

    /// gateway.md, "Identifying": "Apps are limited by maximum concurrency
    /// (`max_concurrency` in the session start limit object) when
    /// identifying. If your app exceeds this limit, Discord will respond
    /// with a Invalid Session (opcode `9`)"; "Max Concurrency":
    /// "rate_limit_key = shard_id % max_concurrency", one IDENTIFY per key
    /// per 5 seconds.
    #[tokio::test]
    async fn identifies_past_max_concurrency_in_5_s_get_invalid_session() {
        let fake = FakeDiscord::start().await;
        fake.set_gateway(|g| g.shards = 4);
        try_identify(&fake, 1, [0, 4]).await.expect("the first");
        let refused = try_identify(&fake, 1, [1, 4]).await.unwrap_err();
        assert_eq!(refused, (Some(json!(false)), 0), "shard 1 shares key 0 with max_concurrency 1");
        assert_eq!(fake.invalid_identifies().len(), 1);
        fake.advance(IDENTIFY_WINDOW);
        try_identify(&fake, 1, [1, 4]).await.expect("5 s later");
        // With max_concurrency 2, shards 2 and 3 have keys 0 and 1: both
        // start at once (the window of keys 0 and 1 passed), shard 0 again
        // (key 0) does not.
        fake.set_gateway(|g| g.max_concurrency = 2);
        fake.advance(IDENTIFY_WINDOW);
        try_identify(&fake, 1, [2, 4]).await.expect("key 0");
        try_identify(&fake, 1, [3, 4]).await.expect("key 1, at once");
        assert!(try_identify(&fake, 1, [0, 4]).await.is_err(), "key 0 again within 5 s");
        assert_eq!(fake.identify_count(), 4);
    }

    /// The day's session starts (`session_start_limit.remaining`): each
    /// IDENTIFY takes one; with none left the docs do not say what the
    /// gateway answers, the fake refuses with Invalid Session, and nothing
    /// is taken from `remaining` by a refused one.
    #[tokio::test]
    async fn with_no_session_starts_left_identify_is_refused() {
        let fake = FakeDiscord::start().await;
        fake.set_gateway(|g| g.session_remaining = 1);
        try_identify(&fake, 1, [0, 1]).await.expect("the last start of the day");
        assert_eq!(fake.with(|w| w.gateway.session_remaining), 0);
        fake.advance(IDENTIFY_WINDOW);
        assert_eq!(try_identify(&fake, 1, [0, 1]).await.unwrap_err(), (Some(json!(false)), 0));
        let why = fake.invalid_identifies();
        assert!(why.len() == 1 && why[0].contains("no session starts remain"), "{why:?}");
        assert_eq!(fake.identify_count(), 1);
    }

    /// Over REST too: "access to `MESSAGE_CONTENT` permits your app to
    /// receive message content data across the APIs" and "HTTP API
    /// restrictions are independent of Gateway restrictions" (gateway.md):
    /// GET a channel's messages or one message without the intent enabled
    /// gives a member's message empty, the app's own, a mention of it and
    /// a DM whole.
    #[tokio::test]
    async fn over_rest_without_message_content_a_members_message_is_empty() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        let bob = fake.member("bob");
        let bot = fake.bot_user_id();
        let plain = bob.post_message(general, "hello there", None);
        let mention = bob.post_message(general, &format!("<@{bot}> ping"), None);
        fake.mutate(|w| crate::rest::post_message(w, general, bot, &json!({"content": "mine"}), None).unwrap());
        let get = |path: String| {
            let url = format!("{}/api/v10{path}", fake.base_url());
            async move {
                let r = reqwest::Client::new()
                    .get(url)
                    .header("authorization", "Bot t")
                    .header("user-agent", "DiscordBot (https://example.org, 1)")
                    .send()
                    .await
                    .unwrap();
                assert!(r.status().is_success(), "{}", r.status());
                r.json::<Value>().await.unwrap()
            }
        };
        let list = get(format!("/channels/{general}/messages")).await;
        let content = |id: &str| {
            list.as_array().unwrap().iter().find(|m| m["id"] == id).map(|m| m["content"].as_str().unwrap().to_string())
        };
        assert_eq!(content(&plain.to_string()).as_deref(), Some(""));
        assert_eq!(content(&mention.to_string()), Some(format!("<@{bot}> ping")));
        assert!(list.as_array().unwrap().iter().any(|m| m["content"] == "mine"), "the app's own");
        assert_eq!(get(format!("/channels/{general}/messages/{plain}")).await["content"], "");
        fake.set_gateway(|g| g.privileged_intents |= intents::MESSAGE_CONTENT);
        assert_eq!(get(format!("/channels/{general}/messages/{plain}")).await["content"], "hello there");
    }
}
