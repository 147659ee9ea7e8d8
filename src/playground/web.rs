//! The playground's page and its JSON API, served on loopback by axum (the
//! web framework the fake Discord is already built on). The page is one
//! embedded HTML file with vanilla JS: no front-end build step. Every action
//! goes through the fake's scenario API, which sends the bot exactly what
//! Discord would; `/api/events` (server-sent events) tells the page when the
//! world changed so it reloads its view.

use super::seed::Person;
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use fake_discord::scenario::components_of;
use fake_discord::world::channel_type;
use fake_discord::{FakeDiscord, Modal};
use serde::Deserialize;
use serde_json::{json, Value};
use std::collections::HashMap;
use std::sync::{Arc, Mutex};

const INDEX: &str = include_str!("index.html");

#[derive(Clone)]
pub struct Playground {
    fake: FakeDiscord,
    people: Arc<Mutex<Vec<Person>>>,
    /// The modal the bot last opened for each user, until they submit it.
    modals: Arc<Mutex<HashMap<u64, Modal>>>,
    /// Turns true when the playground stops: the open event streams end
    /// then, or a tab left open would keep the server (and Ctrl-C) waiting.
    stopping: tokio::sync::watch::Receiver<bool>,
}

impl Playground {
    pub fn new(fake: FakeDiscord, people: Vec<Person>, stopping: tokio::sync::watch::Receiver<bool>) -> Self {
        Playground { fake, people: Arc::new(Mutex::new(people)), modals: Default::default(), stopping }
    }
}

pub fn router(p: Playground) -> Router {
    Router::new()
        .route("/", get(|| async { Html(INDEX) }))
        .route("/favicon.ico", get(favicon))
        .route("/api/view", get(view))
        .route("/api/events", get(events))
        .route("/api/act", post(act))
        .route("/api/attachment/{message}/{attachment}", get(attachment))
        .with_state(p)
}

/// The tab's icon (browsers ask for `/favicon.ico` whatever the page says).
async fn favicon() -> Response {
    const ICON: &str = "<svg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 32 32'>\
        <rect width='32' height='32' rx='8' fill='#5865f2'/>\
        <text x='16' y='23' font-size='18' font-family='sans-serif' font-weight='bold' fill='#fff' \
        text-anchor='middle'>G</text></svg>";
    ([(axum::http::header::CONTENT_TYPE, "image/svg+xml")], ICON).into_response()
}

/// When a snowflake was made, in Unix milliseconds (Discord's epoch is 2015).
fn unix_ms(id: u64) -> u64 {
    (id >> 22) + 1_420_070_400_000
}

fn is_thread(kind: u8) -> bool {
    kind == 10 || kind == 11 || kind == 12
}

#[derive(Deserialize)]
struct Viewer {
    user: u64,
}

/// A file a message carries, to the person whose view lists it: someone
/// who can see the message (its channel, and an ephemeral one only to whom
/// it answered), as Discord's CDN links are only handed to them.
async fn attachment(
    State(p): State<Playground>,
    Path((message, attachment)): Path<(u64, u64)>,
    Query(v): Query<Viewer>,
) -> Response {
    let found = p.fake.with(|w| {
        let m = w.messages.values().flatten().find(|m| m.id == message)?;
        let channel = w.channels.get(&m.channel_id)?;
        let sees = match channel.kind {
            channel_type::DM => channel.owner_id == Some(v.user),
            k if is_thread(k) => w.can_view_thread(channel.id, v.user),
            _ => w.can_view(channel.id, v.user),
        };
        let own = !m.is_ephemeral()
            || m.interaction_id.and_then(|i| w.interactions.get(&i)).is_some_and(|i| i.user_id == v.user);
        let a = m.attachments.iter().find(|a| a.id == attachment)?;
        (sees && own).then(|| (a.content_type.clone(), a.bytes.clone()))
    });
    match found {
        Some((kind, bytes)) => ([(axum::http::header::CONTENT_TYPE, kind)], bytes).into_response(),
        None => StatusCode::NOT_FOUND.into_response(),
    }
}

#[derive(Deserialize)]
struct ViewQuery {
    user: u64,
    channel: Option<u64>,
}

/// What `user` sees: the people, their channels, the open channel's
/// messages and who can see it, the registered commands, an open modal.
async fn view(State(p): State<Playground>, Query(q): Query<ViewQuery>) -> Json<Value> {
    let people = p.people.lock().expect("people").clone();
    let modal = p.modals.lock().expect("modals").get(&q.user).cloned();
    let gid = p.fake.guild_id;
    let v = p.fake.with(|w| {
        let g = &w.guilds[&gid];
        let role_name = |id: &u64| g.roles.iter().find(|r| r.id == *id).map(|r| r.name.clone());
        let name_of = |id: u64| w.users.get(&id).map(|u| u.username.clone()).unwrap_or_else(|| id.to_string());
        let in_guild = g.members.contains_key(&q.user);
        let people: Vec<Value> = people
            .iter()
            .map(|pp| {
                let roles: Vec<String> = g
                    .members
                    .get(&pp.user_id)
                    .map(|m| m.roles.iter().filter_map(role_name).collect())
                    .unwrap_or_default();
                json!({"id": pp.user_id.to_string(), "label": pp.label, "roles": roles,
                       "in_server": g.members.contains_key(&pp.user_id)})
            })
            .collect();
        // Whether a message pinged this person (themselves, one of their
        // roles, or everyone), as Discord would notify them.
        let my_roles: Vec<u64> = g.members.get(&q.user).map(|m| m.roles.clone()).unwrap_or_default();
        let pings_me = |m: &fake_discord::world::Message| {
            m.pinged.users.contains(&q.user)
                || m.pinged.roles.iter().any(|r| my_roles.contains(r) || *r == gid)
        };
        let mentions_in = |c: u64| w.channel_messages(c).iter().filter(|m| pings_me(m)).count();
        // An ephemeral message only to whom it answered.
        let shown_to_me = |m: &fake_discord::world::Message| {
            !m.is_ephemeral()
                || m.interaction_id.and_then(|i| w.interactions.get(&i)).is_some_and(|i| i.user_id == q.user)
        };
        // The newest message this person can read there (the page marks a
        // channel unread while it is newer than the last one they saw).
        let last_in = |c: u64| {
            w.channel_messages(c).iter().rev().find(|m| shown_to_me(m)).map(|m| m.id.to_string())
        };
        let visible = |c: &fake_discord::world::Channel| {
            in_guild
                && if is_thread(c.kind) { w.can_view_thread(c.id, q.user) } else { w.can_view(c.id, q.user) }
        };
        let mut channels: Vec<Value> = g
            .channels
            .iter()
            .filter_map(|id| w.channels.get(id))
            .chain(w.channels.values().filter(|c| c.guild_id == Some(gid) && is_thread(c.kind)))
            .filter(|c| visible(c))
            .map(|c| json!({"id": c.id.to_string(), "name": c.name, "kind": c.kind, "position": c.position,
                            "parent": c.parent_id.map(|x| x.to_string()), "topic": c.topic,
                            "mentions": mentions_in(c.id), "last": last_in(c.id)}))
            .collect();
        let mut seen = std::collections::HashSet::new();
        channels.retain(|c| seen.insert(c["id"].clone()));
        if let Some(dm) = w.dm_channel_of(q.user) {
            channels.push(json!({"id": dm.to_string(), "name": "Guildhall (DM)", "kind": channel_type::DM, "position": 0,
                                 "last": last_in(dm)}));
        }
        let current = q.channel.filter(|c| {
            channels.iter().any(|x| x["id"].as_str().and_then(|id| id.parse::<u64>().ok()) == Some(*c))
        });
        let messages: Vec<Value> = current
            .map(|c| {
                w.channel_messages(c)
                    .iter()
                    .filter(|m| shown_to_me(m))
                    .map(|m| {
                        let components: Vec<Value> = components_of(m)
                            .into_iter()
                            .map(|c| json!({"kind": c.kind, "label": c.label, "custom_id": c.custom_id,
                                "disabled": c.disabled, "style": c.style, "url": c.url, "placeholder": c.placeholder,
                                "options": c.options.iter().map(|(l, v)| json!({"label": l, "value": v})).collect::<Vec<_>>()}))
                            .collect();
                        json!({"id": m.id.to_string(), "author": name_of(m.author_id), "at": unix_ms(m.id),
                               "bot": m.author_id == w.bot_user_id, "content": m.content, "embeds": m.embeds,
                               "components": components, "ephemeral": m.is_ephemeral(),
                               "attachments": m.attachments.iter().map(|a| json!({
                                   "filename": a.filename, "description": a.description,
                                   "content_type": a.content_type, "size": a.size(),
                                   "url": format!("/api/attachment/{}/{}?user={}", m.id, a.id, q.user)})).collect::<Vec<_>>(),
                               "mentions_me": pings_me(m)})
                    })
                    .collect()
            })
            .unwrap_or_default();
        // Among the people the page lets you be (and the bot): the fake's
        // server owner, whom nobody can be here, would only puzzle.
        let offered = |u: u64| u == w.bot_user_id || people.iter().any(|p| p["id"].as_str().and_then(|s| s.parse::<u64>().ok()) == Some(u));
        let viewers: Vec<String> = current
            .and_then(|c| w.channels.get(&c))
            .filter(|c| c.kind != channel_type::DM)
            .map(|c| {
                g.members
                    .keys()
                    .filter(|u| offered(**u))
                    .filter(|u| if is_thread(c.kind) { w.can_view_thread(c.id, **u) } else { w.can_view(c.id, **u) })
                    .map(|u| name_of(*u))
                    .collect()
            })
            .unwrap_or_default();
        // A forum's posts, newest first, as Discord lists them: title, who
        // started it, its first message, how many replies.
        let posts: Vec<Value> = current
            .and_then(|c| w.channels.get(&c))
            .filter(|c| c.kind == channel_type::FORUM)
            .map(|forum| {
                let mut threads: Vec<&fake_discord::world::Channel> = w
                    .channels
                    .values()
                    .filter(|t| t.parent_id == Some(forum.id) && is_thread(t.kind) && w.can_view_thread(t.id, q.user))
                    .collect();
                threads.sort_by_key(|t| std::cmp::Reverse(t.id));
                threads
                    .into_iter()
                    .map(|t| {
                        let msgs = w.channel_messages(t.id);
                        let first = msgs.first();
                        json!({"id": t.id.to_string(), "title": t.name,
                               "author": first.map(|m| name_of(m.author_id)),
                               "first": first.map(|m| m.content.clone()), "at": unix_ms(t.id),
                               "replies": msgs.len().saturating_sub(1)})
                    })
                    .collect()
            })
            .unwrap_or_default();
        let commands: Vec<Value> = w.commands.iter().map(|c| c.body.clone()).collect();
        let roles: Vec<Value> = g
            .roles
            .iter()
            .filter(|r| r.id != gid && !r.managed)
            .map(|r| json!({"id": r.id.to_string(), "name": r.name}))
            .collect();
        // What `<@id>`, `<@&id>` and `<#id>` show as, as Discord renders them.
        let users: serde_json::Map<String, Value> =
            w.users.iter().map(|(id, u)| (id.to_string(), Value::from(u.username.clone()))).collect();
        let role_names: serde_json::Map<String, Value> =
            g.roles.iter().map(|r| (r.id.to_string(), Value::from(r.name.clone()))).collect();
        let channel_names: serde_json::Map<String, Value> = w
            .channels
            .values()
            .filter(|c| c.guild_id == Some(gid))
            .map(|c| (c.id.to_string(), Value::from(c.name.clone())))
            .collect();
        json!({"server": g.name, "names": {"users": users, "roles": role_names, "channels": channel_names}, "in_server": in_guild, "people": people, "channels": channels,
               "channel": current.map(|c| c.to_string()), "messages": messages, "viewers": viewers, "posts": posts,
               "commands": commands, "roles": roles,
               "permissions": w.base_permissions(gid, q.user).to_string(),
               "admin": w.base_permissions(gid, q.user) & fake_discord::world::perms::MANAGE_ROLES != 0})
    });
    let mut v = v;
    v["modal"] = modal.map_or(Value::Null, |m| {
        let value = |id: &str| m.values.iter().find(|(k, _)| k == id).map(|(_, v)| v.clone());
        json!({"title": m.title, "fields": m.fields.iter().map(|(id, label, required, max)|
            json!({"id": id, "label": label, "required": required, "max": max, "value": value(id)})).collect::<Vec<_>>()})
    });
    Json(v)
}

/// A `changed` event at every change of the world, at most every 100 ms,
/// until the playground stops.
async fn events(
    State(p): State<Playground>,
) -> Sse<impl futures::Stream<Item = Result<Event, std::convert::Infallible>>> {
    use futures::StreamExt;
    let stream = futures::stream::unfold(p.fake, |fake| async move {
        fake.changed().await;
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        Some((Ok(Event::default().event("changed").data("1")), fake))
    });
    let mut stopping = p.stopping;
    let stopped = async move {
        let _ = stopping.wait_for(|s| *s).await;
    };
    Sse::new(stream.take_until(Box::pin(stopped))).keep_alive(KeepAlive::default())
}

/// One thing a person does in the client.
#[derive(Deserialize)]
#[serde(tag = "action", rename_all = "snake_case")]
enum Act {
    Slash {
        #[serde(deserialize_with = "id")]
        user: u64,
        #[serde(deserialize_with = "id")]
        channel: u64,
        command: String,
        options: Vec<(String, String)>,
    },
    Autocomplete {
        #[serde(deserialize_with = "id")]
        user: u64,
        command: String,
        options: Vec<(String, String)>,
        focused: String,
    },
    Click {
        #[serde(deserialize_with = "id")]
        user: u64,
        #[serde(deserialize_with = "id")]
        message: u64,
        custom_id: String,
    },
    Select {
        #[serde(deserialize_with = "id")]
        user: u64,
        #[serde(deserialize_with = "id")]
        message: u64,
        custom_id: String,
        values: Vec<String>,
    },
    Submit {
        #[serde(deserialize_with = "id")]
        user: u64,
        values: Vec<(String, String)>,
    },
    CloseModal {
        #[serde(deserialize_with = "id")]
        user: u64,
    },
    MessageCommand {
        #[serde(deserialize_with = "id")]
        user: u64,
        name: String,
        #[serde(deserialize_with = "id")]
        message: u64,
    },
    Post {
        #[serde(deserialize_with = "id")]
        user: u64,
        #[serde(deserialize_with = "id")]
        channel: u64,
        content: String,
    },
    Topic {
        #[serde(deserialize_with = "id")]
        user: u64,
        #[serde(deserialize_with = "id")]
        channel: u64,
        title: String,
        content: String,
    },
    NewMember,
    TakeRole {
        #[serde(deserialize_with = "id")]
        by: u64,
        #[serde(deserialize_with = "id")]
        user: u64,
        #[serde(deserialize_with = "id")]
        role: u64,
    },
    DeleteChannel {
        #[serde(deserialize_with = "id")]
        by: u64,
        #[serde(deserialize_with = "id")]
        channel: u64,
    },
    Leave {
        #[serde(deserialize_with = "id")]
        by: u64,
        #[serde(deserialize_with = "id")]
        user: u64,
    },
}

/// Ids travel as strings: snowflakes are too big for JavaScript's numbers.
fn id<'de, D: serde::Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
    let s = String::deserialize(d)?;
    s.parse().map_err(serde::de::Error::custom)
}

fn err(status: StatusCode, msg: impl Into<String>) -> Response {
    (status, Json(json!({"error": msg.into()}))).into_response()
}

async fn act(State(p): State<Playground>, Json(a): Json<Act>) -> Response {
    let p2 = p.clone();
    // What Discord (or its client) refuses comes back as an error to show
    // (`refused`); a panic left anywhere is still a refusal here, not a crash.
    match tokio::spawn(async move { perform(p2, a).await }).await {
        Ok(Ok(v)) => Json(v).into_response(),
        Ok(Err(e)) => err(StatusCode::BAD_REQUEST, e),
        Err(_) => err(StatusCode::FORBIDDEN, "Discord would not let you do that here."),
    }
}

/// What the page shows when Discord refuses what a person did, in its words
/// (and what to do instead, where there is something).
fn refused(e: fake_discord::world::ApiError) -> String {
    match e.code {
        40058 => "Discord refused it: Cannot send a message in a forum channel. Start a topic instead (New topic)."
            .to_string(),
        50013 | 50001 => "Discord refused it: you don't have permission to post here.".to_string(),
        _ => format!("Discord refused it: {}.", e.message.trim_end_matches('.')),
    }
}

fn opts(o: &[(String, String)]) -> Vec<(&str, &str)> {
    o.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
}

async fn answered(p: &Playground, user: u64, r: fake_discord::Reply) -> Result<Value, String> {
    if r.callback_type() == 9 {
        p.modals.lock().expect("modals").insert(user, r.modal());
        return Ok(json!({"modal": true}));
    }
    Ok(json!({"ok": true}))
}

async fn perform(p: Playground, a: Act) -> Result<Value, String> {
    let fake = p.fake.clone();
    let member = |u: u64| -> Result<fake_discord::Actor, String> {
        let ok = fake.with(|w| w.guilds[&fake.guild_id].members.contains_key(&u));
        if ok {
            Ok(fake.actor(u))
        } else {
            Err("You are not in this server.".into())
        }
    };
    // What only an admin may do by hand in Discord (the page hides it from
    // everyone else; this is what refuses it).
    let is_admin = |u: u64| -> Result<(), String> {
        if fake.with(|w| w.base_permissions(fake.guild_id, u) & fake_discord::world::perms::MANAGE_ROLES != 0) {
            Ok(())
        } else {
            Err("Only an admin can do that in Discord.".into())
        }
    };
    match a {
        Act::Slash { user, channel, command, options } => {
            let r = member(user)?.try_slash_in(channel, &command, &opts(&options)).await?;
            answered(&p, user, r).await
        }
        Act::Autocomplete { user, command, options, focused } => {
            let choices = member(user)?.try_autocomplete(&command, &opts(&options), &focused).await?;
            Ok(json!({"choices": choices}))
        }
        Act::Click { user, message, custom_id } => {
            let r = member(user)?.try_click(message, &custom_id).await?;
            answered(&p, user, r).await
        }
        Act::Select { user, message, custom_id, values } => {
            let v: Vec<&str> = values.iter().map(String::as_str).collect();
            let r = member(user)?.try_select(message, &custom_id, &v).await?;
            answered(&p, user, r).await
        }
        Act::Submit { user, values } => {
            let modal = p.modals.lock().expect("modals").remove(&user).ok_or("No form is open.")?;
            let r = member(user)?.try_submit(&modal, &opts(&values)).await?;
            answered(&p, user, r).await
        }
        Act::CloseModal { user } => {
            p.modals.lock().expect("modals").remove(&user);
            Ok(json!({"ok": true}))
        }
        Act::MessageCommand { user, name, message } => {
            let r = member(user)?.try_message_command(&name, message).await?;
            answered(&p, user, r).await
        }
        Act::Post { user, channel, content } => {
            if content.trim().is_empty() {
                return Err("Type a message first.".into());
            }
            let id = member(user)?.try_post_message(channel, &content, None).map_err(refused)?;
            Ok(json!({"message": id.to_string()}))
        }
        Act::Topic { user, channel, title, content } => {
            if title.trim().is_empty() || content.trim().is_empty() {
                return Err("A topic needs a title and a first message.".into());
            }
            let id = member(user)?.try_create_topic(channel, &title, &content).map_err(refused)?;
            Ok(json!({"channel": id.to_string()}))
        }
        Act::NewMember => {
            let n = p.people.lock().expect("people").len();
            let name = format!("Newcomer{n}");
            let m = fake.member(&name);
            p.people
                .lock()
                .expect("people")
                .push(Person { label: format!("{name} · new member"), user_id: m.user_id });
            Ok(json!({"user": m.user_id.to_string()}))
        }
        Act::TakeRole { by, user, role } => {
            is_admin(by)?;
            member(user)?;
            fake.take_role(user, role);
            Ok(json!({"ok": true}))
        }
        Act::DeleteChannel { by, channel } => {
            is_admin(by)?;
            if !fake.delete_channel_by_hand(channel) {
                return Err("No such channel.".into());
            }
            Ok(json!({"ok": true}))
        }
        Act::Leave { by, user } => {
            if by != user {
                is_admin(by)?;
            }
            member(user)?;
            fake.leave_guild(user);
            Ok(json!({"ok": true}))
        }
    }
}
