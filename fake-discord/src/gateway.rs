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

fn intent_for(event: &str, data: &Value) -> Option<u64> {
    match event {
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
}

impl Hub {
    /// Send a dispatch to every session (connected now, or resumable later).
    pub fn dispatch(&self, event: &str, data: Value) {
        let needed = intent_for(event, &data);
        let mut sessions = self.sessions.lock();
        for s in sessions.iter_mut() {
            if let Some(bit) = needed {
                if s.intents & bit == 0 {
                    continue;
                }
            }
            send_dispatch(s, event, data.clone());
        }
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
    inner.hub.identifies.fetch_add(1, Ordering::SeqCst);
    let n = inner.hub.identifies.load(Ordering::SeqCst);
    let session_id = format!("session-{n}-{conn}");
    let intents = d["intents"].as_u64().unwrap_or(0);
    let (ready, guilds) = {
        let w = inner.world.lock();
        let ready = payload::ready(&w, &session_id);
        let threshold = d["large_threshold"].as_u64().unwrap_or(50).clamp(50, 250);
        let guilds: Vec<Value> =
            w.guilds.values().map(|g| payload::guild_create_for(&w, g, intents, threshold)).collect();
        (ready, guilds)
    };
    let mut s =
        Session { id: session_id, seq: 0, intents, history: Vec::new(), tx: Some(tx.clone()), conn, ready: false };
    send_dispatch(&mut s, "READY", ready);
    for g in guilds {
        send_dispatch(&mut s, "GUILD_CREATE", g);
    }
    s.ready = true;
    inner.hub.sessions.lock().push(s);
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
