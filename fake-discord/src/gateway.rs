//! The gateway: HELLO, IDENTIFY -> READY + GUILD_CREATE, heartbeats, RESUME
//! with replay of what the session missed, and dispatches with sequence
//! numbers. Plain JSON text frames over `ws://`.

use crate::payload;
use crate::server::Inner;
use axum::extract::ws::{Message as WsMessage, WebSocket};
use futures::{SinkExt, StreamExt};
use parking_lot::Mutex;
use serde_json::{json, Value};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use tokio::sync::mpsc;

/// Intents, as Discord defines them, that gate the events the fake sends.
mod intents {
    pub const GUILDS: u64 = 1 << 0;
    pub const GUILD_MEMBERS: u64 = 1 << 1;
    pub const GUILD_MESSAGES: u64 = 1 << 9;
    pub const DIRECT_MESSAGES: u64 = 1 << 12;
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

const HISTORY: usize = 5000;

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
    /// While true, IDENTIFYs wait here unanswered (the gap after an
    /// invalidated session, made as long as a test needs).
    held: Mutex<Option<Vec<HeldIdentify>>>,
    next_conn: AtomicUsize,
    identifies: AtomicUsize,
    resumes: AtomicUsize,
    /// Each interaction's receivers: the shards of the connected sessions
    /// its INTERACTION_CREATE was sent to.
    interaction_receivers: Mutex<std::collections::HashMap<u64, Vec<[u64; 2]>>>,
    /// IDENTIFYs refused, by close code (4010, 4011), with the reason.
    refused: Mutex<Vec<(u16, String)>>,
    /// The user the sessions identified as (the bot), for events whose
    /// delivery depends on whether they concern the current user.
    bot_user_id: std::sync::atomic::AtomicU64,
}

impl Hub {
    /// Send a dispatch to every session (connected now, or resumable later).
    pub fn dispatch(&self, event: &str, data: Value) {
        let needed = intent_for(event, &data, self.bot_user_id.load(Ordering::SeqCst));
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
            send_dispatch(s, event, data.clone());
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

    /// Close every connection with code 4000 ("unknown error, reconnect"),
    /// as Discord does now and then; sessions stay resumable.
    pub fn drop_connections(&self) {
        for s in self.sessions.lock().iter_mut() {
            if let Some(tx) = s.tx.take() {
                let _ = tx.send(WsMessage::Close(Some(axum::extract::ws::CloseFrame {
                    code: 4000,
                    reason: "fake-discord: connection dropped".into(),
                })));
            }
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
                let _ = tx.send(WsMessage::Text(json!({"op": 9, "d": false}).to_string().into()));
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
        let _ = tx.send(WsMessage::Text(payload.to_string().into()));
    }
}

pub(crate) async fn serve(inner: Arc<Inner>, socket: WebSocket) {
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
    let _ = tx.send(WsMessage::Text(json!({"op": 10, "d": {"heartbeat_interval": 41250}}).to_string().into()));
    while let Some(Ok(msg)) = stream.next().await {
        let text = match msg {
            WsMessage::Text(t) => t.to_string(),
            WsMessage::Close(_) => break,
            _ => continue,
        };
        let Ok(v) = serde_json::from_str::<Value>(&text) else {
            continue;
        };
        match v["op"].as_u64() {
            Some(1) => {
                let _ = tx.send(WsMessage::Text(json!({"op": 11}).to_string().into()));
            }
            Some(2) => identify(&inner, &tx, conn, &v["d"]),
            Some(6) => resume(&inner, &tx, conn, &v["d"]),
            _ => {}
        }
    }
    // Detach: the session stays resumable.
    for s in inner.hub.sessions.lock().iter_mut() {
        if s.conn == conn {
            s.tx = None;
        }
    }
    writer.abort();
    inner.changed.notify_waiters();
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
    let mine: Vec<u64> = {
        let w = inner.world.lock();
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
    let intents = d["intents"].as_u64().unwrap_or(0);
    let (ready, guilds) = {
        let mut w = inner.world.lock();
        inner.hub.bot_user_id.store(w.bot_user_id, Ordering::SeqCst);
        // "Clients are limited to 1000 IDENTIFY calls to the websocket in a
        // 24-hour period": what GET /gateway/bot reports as remaining.
        w.gateway.session_remaining = w.gateway.session_remaining.saturating_sub(1);
        let ready = payload::ready(&w, &session_id, shard, &mine);
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
    };
    send_dispatch(&mut s, "READY", ready);
    for g in guilds {
        send_dispatch(&mut s, "GUILD_CREATE", g);
    }
    s.ready = true;
    inner.hub.sessions.lock().push(s);
    inner.changed.notify_waiters();
}

/// Close the connection with a non-resumable close code
/// (opcodes-and-status-codes: 4010 Invalid shard, 4011 Sharding required).
fn refuse(inner: &Arc<Inner>, tx: &mpsc::UnboundedSender<WsMessage>, code: u16, reason: &str) {
    inner.hub.refused.lock().push((code, reason.to_string()));
    let _ = tx.send(WsMessage::Close(Some(axum::extract::ws::CloseFrame { code, reason: reason.to_string().into() })));
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

fn resume(inner: &Arc<Inner>, tx: &mpsc::UnboundedSender<WsMessage>, conn: u64, d: &Value) {
    let sid = d["session_id"].as_str().unwrap_or_default();
    let seq = d["seq"].as_u64().unwrap_or(0);
    let mut sessions = inner.hub.sessions.lock();
    let Some(s) = sessions.iter_mut().find(|s| s.id == sid) else {
        let _ = tx.send(WsMessage::Text(json!({"op": 9, "d": false}).to_string().into()));
        return;
    };
    inner.hub.resumes.fetch_add(1, Ordering::SeqCst);
    s.tx = Some(tx.clone());
    s.conn = conn;
    for (n, p) in &s.history {
        if *n > seq {
            let _ = tx.send(WsMessage::Text(p.to_string().into()));
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
}
