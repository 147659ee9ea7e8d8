//! REST routes: each mutates the world as Discord would, enforces the rules
//! the bot's correctness depends on (permissions, hierarchy, unknown ids,
//! closed DMs, answer-once-within-3-seconds), and emits gateway events.

use crate::payload;
use crate::world::{
    channel_type, perms, ApiError, ApiResult, AuditEntry, Channel, Command, Message, Overwrite, Role, World,
};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

pub struct Request<'a> {
    pub method: &'a str,
    pub segs: &'a [&'a str],
    pub query: &'a [(String, String)],
    pub body: Option<&'a Value>,
    pub reason: Option<String>,
    pub ws_url: String,
    /// The `files[n]` parts of a multipart/form-data body (`body` is then
    /// its `payload_json`).
    pub files: &'a [crate::upload::FilePart],
}

impl Request<'_> {
    fn body(&self) -> &Value {
        static NULL: Value = Value::Null;
        self.body.unwrap_or(&NULL)
    }
}

type Out = ApiResult<(u16, Option<Value>)>;

fn ok(v: Value) -> Out {
    Ok((200, Some(v)))
}
fn created(v: Value) -> Out {
    Ok((201, Some(v)))
}
fn no_content() -> Out {
    Ok((204, None))
}

fn id(s: &str) -> ApiResult<u64> {
    s.parse().map_err(|_| ApiError::new(404, 0, "404: Not Found"))
}

fn opt_id(v: &Value) -> Option<u64> {
    match v {
        Value::String(s) => s.parse().ok(),
        Value::Number(n) => n.as_u64(),
        _ => None,
    }
}

fn bits(v: &Value) -> u64 {
    opt_id(v).unwrap_or(0)
}

/// The time Discord gives a bot to answer an interaction.
pub const RESPONSE_WINDOW: Duration = Duration::from_secs(3);

/// A message as the app reads it over REST. gateway.md, "Message Content
/// Intent": MESSAGE_CONTENT "permits your app to receive message content
/// data across the APIs", and "HTTP API restrictions are independent of
/// Gateway restrictions": without it enabled in the app's settings, a
/// member's message comes with `content`, `embeds`, `attachments` and
/// `components` empty, except the app's own, DMs and those that mention
/// it (the gateway's rule, `gateway::content_hidden`).
fn message_as_read(w: &World, m: &crate::world::Message) -> Value {
    let v = payload::message(w, m);
    let granted = w.gateway.privileged_intents & crate::gateway::intents::MESSAGE_CONTENT;
    if crate::gateway::content_hidden("MESSAGE_CREATE", &v, granted, w.bot_user_id) {
        crate::gateway::without_content(&v)
    } else {
        v
    }
}

pub fn route(w: &mut World, r: &Request) -> Out {
    if let Some(reason) = &r.reason {
        w.audit.push(AuditEntry { method: r.method.into(), path: r.segs.join("/"), reason: reason.clone() });
    }
    match (r.method, r.segs) {
        ("GET", ["gateway"]) => ok(json!({"url": r.ws_url})),
        // topics/gateway, "Get Gateway Bot": the recommended shards and the
        // session start limit object.
        ("GET", ["gateway", "bot"]) => {
            let g = &w.gateway;
            ok(json!({
                "url": r.ws_url, "shards": g.shards,
                "session_start_limit": {
                    "total": g.session_total, "remaining": g.session_remaining,
                    "reset_after": g.reset_after_ms, "max_concurrency": g.max_concurrency,
                }
            }))
        }
        ("GET", ["oauth2", "applications", "@me"]) | ("GET", ["applications", "@me"]) => ok(payload::application(w)),
        ("GET", ["users", "@me"]) => ok(payload::user(w.user(w.bot_user_id)?)),
        ("GET", ["users", u]) => ok(payload::user(w.user(id(u)?)?)),
        ("POST", ["users", "@me", "channels"]) => open_dm(w, r),
        ("PUT", ["applications", app, "commands"]) => put_commands(w, id(app)?, None, r),
        ("PUT", ["applications", app, "guilds", g, "commands"]) => put_commands(w, id(app)?, Some(id(g)?), r),
        ("GET", ["applications", _, "commands"]) => ok(list_commands(w, None)),
        ("GET", ["applications", _, "guilds", g, "commands"]) => ok(list_commands(w, Some(id(g)?))),
        ("POST", ["interactions", i, token, "callback"]) => callback(w, id(i)?, token, r),
        ("GET", ["webhooks", _, token, "messages", m]) => {
            let mid = webhook_message(w, token, m)?;
            ok(message_as_read(w, w.find_message(mid).ok_or_else(ApiError::unknown_message)?))
        }
        ("PATCH", ["webhooks", _, token, "messages", m]) => {
            let mid = webhook_message(w, token, m)?;
            let out = edit_message_with(w, mid, r.body(), r.files)?;
            touch(w, token);
            Ok(out)
        }
        ("DELETE", ["webhooks", _, token, "messages", m]) => {
            let mid = webhook_message(w, token, m)?;
            delete_message(w, mid)
        }
        ("POST", ["webhooks", _, token]) => {
            let out = followup(w, token, r.body(), r.files)?;
            touch(w, token);
            Ok(out)
        }
        ("GET", ["guilds", g]) => ok(payload::partial_guild(w.guild(id(g)?)?)),
        ("GET", ["guilds", g, "audit-logs"]) => audit_logs(w, id(g)?, r),
        ("GET", ["guilds", g, "roles"]) => {
            ok(json!(w.guild(id(g)?)?.roles.iter().map(payload::role).collect::<Vec<_>>()))
        }
        ("POST", ["guilds", g, "roles"]) => create_role(w, id(g)?, r.body()),
        ("PATCH", ["guilds", g, "roles", role]) => edit_role(w, id(g)?, id(role)?, r.body()),
        ("DELETE", ["guilds", g, "roles", role]) => delete_role(w, id(g)?, id(role)?),
        ("GET", ["guilds", g, "channels"]) => {
            let g = w.guild(id(g)?)?;
            let list: Vec<Value> = g
                .channels
                .iter()
                .filter_map(|c| w.channels.get(c))
                .filter(|c| !matches!(c.kind, channel_type::PUBLIC_THREAD | channel_type::PRIVATE_THREAD))
                .map(payload::channel)
                .collect();
            ok(json!(list))
        }
        ("POST", ["guilds", g, "channels"]) => create_channel(w, id(g)?, r.body()),
        ("GET", ["guilds", g, "threads", "active"]) => active_threads(w, id(g)?),
        ("GET", ["guilds", g, "members", u]) => {
            let g = w.guild(id(g)?)?;
            let m = g.members.get(&id(u)?).ok_or_else(ApiError::unknown_member)?;
            ok(payload::member(w, m))
        }
        ("GET", ["guilds", g, "members"]) => {
            let after: u64 = r.query.iter().find(|(k, _)| k == "after").and_then(|(_, v)| v.parse().ok()).unwrap_or(0);
            // A limit outside 1-1000 was refused before routing (strict.rs).
            let limit: usize =
                r.query.iter().find(|(k, _)| k == "limit").and_then(|(_, v)| v.parse().ok()).unwrap_or(1);
            let g = w.guild(id(g)?)?;
            let list: Vec<Value> =
                g.members.range(after + 1..).take(limit).map(|(_, m)| payload::member(w, m)).collect();
            ok(json!(list))
        }
        ("PUT", ["guilds", g, "members", u, "roles", role]) => member_role(w, id(g)?, id(u)?, id(role)?, true),
        ("DELETE", ["guilds", g, "members", u, "roles", role]) => member_role(w, id(g)?, id(u)?, id(role)?, false),
        ("GET", ["channels", c]) => {
            let ch = w.channel(id(c)?)?;
            // Discord answers 403 Missing Access for a guild channel the bot can't see.
            if ch.guild_id.is_some() && !w.can_view(ch.id, w.bot_user_id) {
                return Err(ApiError::missing_access());
            }
            ok(payload::channel(ch))
        }
        ("PATCH", ["channels", c]) => edit_channel(w, id(c)?, r.body()),
        ("DELETE", ["channels", c]) => delete_channel(w, id(c)?),
        ("PUT", ["channels", c, "permissions", target]) => put_overwrite(w, id(c)?, id(target)?, r.body()),
        ("DELETE", ["channels", c, "permissions", target]) => delete_overwrite(w, id(c)?, id(target)?),
        ("GET", ["channels", c, "messages"]) => {
            let c = id(c)?;
            bot_needs(w, c, perms::VIEW_CHANNEL | perms::READ_MESSAGE_HISTORY)?;
            let list: Vec<Value> = w
                .channel_messages(c)
                .iter()
                .rev()
                .filter(|m| !m.is_ephemeral())
                .take(50)
                .map(|m| message_as_read(w, m))
                .collect();
            ok(json!(list))
        }
        ("POST", ["channels", c, "messages"]) => {
            let author = w.bot_user_id;
            post_message_with(w, id(c)?, author, r.body(), None, r.files).map(|v| (200, Some(v)))
        }
        ("GET", ["channels", c, "messages", m]) => {
            let (c, m) = (id(c)?, id(m)?);
            bot_needs(w, c, perms::VIEW_CHANNEL | perms::READ_MESSAGE_HISTORY)?;
            let msg = w
                .channel_messages(c)
                .iter()
                .find(|x| x.id == m && !x.is_ephemeral())
                .ok_or_else(ApiError::unknown_message)?;
            ok(message_as_read(w, msg))
        }
        ("PATCH", ["channels", c, "messages", m]) => {
            let (c, m) = (id(c)?, id(m)?);
            let msg = w.channel_messages(c).iter().find(|x| x.id == m).ok_or_else(ApiError::unknown_message)?;
            if msg.author_id != w.bot_user_id {
                return Err(ApiError::new(403, 50005, "Cannot edit a message authored by another user"));
            }
            thread_accepts_edit(w, c, w.bot_user_id)?;
            edit_message_with(w, m, r.body(), r.files)
        }
        ("DELETE", ["channels", c, "messages", m]) => {
            let (c, m) = (id(c)?, id(m)?);
            let author = w
                .channel_messages(c)
                .iter()
                .find(|x| x.id == m && !x.is_ephemeral())
                .ok_or_else(ApiError::unknown_message)?
                .author_id;
            may_delete(w, c, author)?;
            delete_message(w, m)
        }
        ("POST", ["channels", c, "threads"]) => start_thread(w, id(c)?, None, r.body()),
        ("POST", ["channels", c, "messages", m, "threads"]) => start_thread(w, id(c)?, Some(id(m)?), r.body()),
        ("PUT", ["channels", c, "thread-members", u]) => add_thread_member(w, id(c)?, id(u)?),
        ("DELETE", ["channels", c, "thread-members", u]) => remove_thread_member(w, id(c)?, id(u)?),
        (m, segs) => {
            let what = format!("{m} /{}", segs.join("/"));
            w.violations.push(format!("the fake does not implement {what}"));
            Err(ApiError::new(404, 0, "404: Not Found"))
        }
    }
}

/// The bot's permissions in a channel must include `needed`.
fn bot_needs(w: &World, channel_id: u64, needed: u64) -> ApiResult<()> {
    let ch = w.channel(channel_id)?;
    if ch.guild_id.is_none() {
        return Ok(());
    }
    let have = w.channel_permissions(channel_id, w.bot_user_id);
    if have & perms::VIEW_CHANNEL == 0 {
        return Err(ApiError::missing_access());
    }
    if have & needed != needed {
        return Err(ApiError::missing_permissions());
    }
    Ok(())
}

fn bot_guild_perms(w: &World, guild_id: u64) -> u64 {
    w.base_permissions(guild_id, w.bot_user_id)
}

fn put_commands(w: &mut World, app: u64, guild: Option<u64>, r: &Request) -> Out {
    if app != w.application_id {
        return Err(ApiError::new(403, 50001, "Missing Access"));
    }
    w.commands.retain(|c| c.guild_id != guild);
    let list = r.body().as_array().cloned().unwrap_or_default();
    for mut body in list {
        let cid = w.snowflake();
        body["id"] = json!(cid.to_string());
        body["application_id"] = json!(app.to_string());
        body["version"] = json!(cid.to_string());
        if let Some(g) = guild {
            body["guild_id"] = json!(g.to_string());
        }
        body.as_object_mut().map(|o| o.entry("type").or_insert(json!(1)));
        body.as_object_mut().map(|o| o.entry("default_member_permissions").or_insert(Value::Null));
        // Discord answers an empty description for USER and MESSAGE commands.
        body.as_object_mut().map(|o| o.entry("description").or_insert(json!("")));
        w.commands.push(Command { id: cid, guild_id: guild, body });
    }
    ok(list_commands(w, guild))
}

fn list_commands(w: &World, guild: Option<u64>) -> Value {
    json!(w.commands.iter().filter(|c| c.guild_id == guild).map(|c| c.body.clone()).collect::<Vec<_>>())
}

fn open_dm(w: &mut World, r: &Request) -> Out {
    let uid = opt_id(&r.body()["recipient_id"]).ok_or_else(|| ApiError::invalid_form("recipient_id"))?;
    w.user(uid)?;
    if let Some(c) = w.dm_channel_of(uid) {
        return ok(payload::channel(w.channel(c)?));
    }
    let cid = w.snowflake();
    let ch = Channel {
        id: cid,
        guild_id: None,
        kind: channel_type::DM,
        name: String::new(),
        parent_id: None,
        position: 0,
        topic: None,
        overwrites: vec![],
        owner_id: Some(uid),
        archived: false,
        locked: false,
    };
    w.channels.insert(cid, ch);
    ok(payload::channel(w.channel(cid)?))
}

/// The attachments a new message gets from its request's files (checked by
/// `upload::check` against the channel's server limit).
fn new_attachments(w: &mut World, files: Vec<crate::upload::NewFile>) -> Vec<crate::world::Attachment> {
    files
        .into_iter()
        .map(|f| crate::world::Attachment {
            id: w.snowflake(),
            filename: f.filename,
            description: f.description,
            content_type: f.content_type,
            bytes: f.bytes,
        })
        .collect()
}

fn message_from_body(w: &mut World, channel_id: u64, author: u64, body: &Value, interaction: Option<u64>) -> Message {
    let reference = &body["message_reference"];
    let reply_to: Option<u64> = reference["message_id"].as_str().and_then(|s| s.parse().ok());
    // "If `type` is unset, `DEFAULT` can be assumed."
    let reference_type = reference["type"].as_u64().unwrap_or(0) as u8;
    let reference_channel: Option<u64> =
        reference["channel_id"].as_str().and_then(|s| s.parse().ok()).filter(|c| *c != channel_id);
    // A reply is of type REPLY (19); a forward stays DEFAULT (0).
    let kind = if reply_to.is_some() && reference_type == 0 { 19 } else { 0 };
    let content = body["content"].as_str().unwrap_or_default().to_string();
    let allowed = body.get("allowed_mentions").cloned().unwrap_or(Value::Null);
    let replied_author = reply_to.filter(|_| kind == 19).and_then(|r| w.find_message(r)).map(|m| m.author_id);
    let pinged =
        crate::world::pings_of(w, channel_id, author, &content, &allowed, interaction.is_some(), replied_author);
    Message {
        id: w.snowflake(),
        channel_id,
        author_id: author,
        content,
        embeds: body.get("embeds").cloned().filter(|v| v.is_array()).unwrap_or(json!([])),
        components: body.get("components").cloned().filter(|v| v.is_array()).unwrap_or(json!([])),
        allowed_mentions: allowed,
        flags: body["flags"].as_u64().unwrap_or(0),
        edited: false,
        interaction_id: interaction,
        reply_to,
        kind,
        reference_type,
        reference_channel,
        pinged,
        attachments: vec![],
    }
}

/// Post a message as `author` (the bot, or a user in a test).
pub fn post_message(
    w: &mut World,
    channel_id: u64,
    author: u64,
    body: &Value,
    interaction: Option<u64>,
) -> ApiResult<Value> {
    post_message_with(w, channel_id, author, body, interaction, &[])
}

/// `post_message` with the files of a multipart body.
pub fn post_message_with(
    w: &mut World,
    channel_id: u64,
    author: u64,
    body: &Value,
    interaction: Option<u64>,
    files: &[crate::upload::FilePart],
) -> ApiResult<Value> {
    let ch = w.channel(channel_id)?.clone();
    // threads.md, Forums: "Messages cannot be sent directly in forum
    // channels" (media channels are thread-only too): 40058, "Cannot send a
    // message in a forum channel" (opcodes-and-status-codes.md), whoever
    // sends it; a topic is a thread (Start Thread in Forum or Media Channel).
    if interaction.is_none() && matches!(ch.kind, channel_type::FORUM | channel_type::MEDIA) {
        return Err(ApiError::new(400, 40058, "Cannot send a message in a forum channel"));
    }
    if author == w.bot_user_id && interaction.is_none() {
        if ch.kind == channel_type::DM {
            let open = ch.owner_id.and_then(|u| w.users.get(&u)).is_some_and(|u| u.dms_open);
            if !open {
                return Err(ApiError::new(403, 50007, "Cannot send messages to this user"));
            }
        } else {
            // permissions.md: "The `SEND_MESSAGES` permission is not inherited
            // [by threads]; users must have `SEND_MESSAGES_IN_THREADS` to send a
            // message in a thread"; threads.md: a private thread is for those
            // invited to it, or moderators (MANAGE_THREADS).
            let in_thread = matches!(ch.kind, channel_type::PUBLIC_THREAD | channel_type::PRIVATE_THREAD);
            let needed = if in_thread { perms::SEND_MESSAGES_IN_THREADS } else { perms::SEND_MESSAGES };
            bot_needs(w, channel_id, perms::VIEW_CHANNEL | needed)?;
            if ch.kind == channel_type::PRIVATE_THREAD && !w.can_view_thread(channel_id, w.bot_user_id) {
                return Err(ApiError::missing_access());
            }
            if ch.kind == channel_type::CATEGORY {
                return Err(ApiError::new(400, 50008, "Cannot send messages in a non-text channel"));
            }
        }
    }
    // threads.md: a locked thread takes no messages from those without
    // Manage Threads; an archived one is unarchived by a message, "unless
    // the thread has been locked by a moderator".
    let unarchive = if interaction.is_none() { thread_accepts_message(w, &ch, author)? } else { false };
    let content = body["content"].as_str().unwrap_or_default();
    if content.chars().count() > 2000 {
        return Err(ApiError::invalid_form("content: Must be 2000 or fewer in length."));
    }
    // Create Message: "If [enforce_nonce is] true and nonce is present, it will be checked for
    // uniqueness in the past few minutes. If another message was created by the same author with
    // the same nonce, that message will be returned and no new message will be created."
    let nonce = match &body["nonce"] {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    };
    if let (Some(n), true) = (&nonce, body["enforce_nonce"].as_bool() == Some(true)) {
        let key = (author, n.clone());
        if let Some((mid, at)) = w.nonces.get(&key).copied() {
            if w.now().saturating_duration_since(at) < crate::world::NONCE_WINDOW {
                if let Some(m) = w.find_message(mid) {
                    return Ok(payload::message(w, m));
                }
            }
        }
    }
    let stripped;
    let body = if check_reference(w, channel_id, author, body, interaction.is_none())? {
        body
    } else {
        stripped = {
            let mut b = body.clone();
            b.as_object_mut().map(|o| o.remove("message_reference"));
            b
        };
        &stripped
    };
    let (new_files, _) = crate::upload::check(body, files, &[], w.attachment_size_limit(channel_id))?;
    if !new_files.is_empty() && author == w.bot_user_id && interaction.is_none() && ch.kind != channel_type::DM {
        // permissions.md: ATTACH_FILES "Allows for uploading images and files".
        bot_needs(w, channel_id, perms::ATTACH_FILES)?;
    }
    let mut msg = message_from_body(w, channel_id, author, body, interaction);
    msg.attachments = new_attachments(w, new_files);
    if unarchive {
        if let Some(th) = w.channels.get_mut(&channel_id) {
            th.archived = false;
            let v = payload::channel(th);
            w.emit("THREAD_UPDATE", v);
        }
    }
    if let Some(n) = nonce {
        let now = w.now();
        w.nonces.insert((author, n), (msg.id, now));
    }
    let v = payload::message(w, &msg);
    if !msg.pinged.is_empty() {
        w.pings.push((msg.id, author, channel_id, msg.pinged.clone()));
    }
    w.messages.entry(channel_id).or_default().push(msg);
    if interaction.is_none() || body["flags"].as_u64().unwrap_or(0) & 64 == 0 {
        w.emit("MESSAGE_CREATE", v.clone());
    }
    Ok(v)
}

/// Whether the bot may delete a message of `author` in `channel_id`:
/// message.md, Delete Message: "If operating on a guild channel and trying
/// to delete a message that was not sent by the current user, this endpoint
/// requires the `MANAGE_MESSAGES` permission" (its own, it may always
/// delete); threads.md, Locked Threads: deleting messages is "*only* ...
/// allowed in locked threads if that thread is also active" for those
/// without Manage Threads.
fn may_delete(w: &World, channel_id: u64, author: u64) -> ApiResult<()> {
    let ch = w.channel(channel_id)?;
    if ch.guild_id.is_none() {
        return Ok(());
    }
    let bot = w.bot_user_id;
    let needed = if author == bot { perms::VIEW_CHANNEL } else { perms::VIEW_CHANNEL | perms::MANAGE_MESSAGES };
    bot_needs(w, channel_id, needed)?;
    let is_thread = matches!(ch.kind, channel_type::PUBLIC_THREAD | channel_type::PRIVATE_THREAD);
    if is_thread && ch.locked && ch.archived && w.channel_permissions(channel_id, bot) & perms::MANAGE_THREADS == 0 {
        return Err(ApiError::thread_archived());
    }
    Ok(())
}

/// The `message_reference` of a new message, checked as message.md says:
/// Create Message, Limitations: "When creating a message as a reply to
/// another message, the current user must have the `READ_MESSAGE_HISTORY`
/// permission" (160002 "Cannot reply without permission to read message
/// history") and "The referenced message must exist and cannot be a system
/// message"; Message Reference Structure, `fail_if_not_exists`: "when
/// sending, whether to error if the referenced message doesn't exist instead
/// of sending as a normal (non-reply) message, default true". `Ok(false)`:
/// the referenced message is gone and the message goes out as a normal one.
fn check_reference(w: &World, channel_id: u64, author: u64, body: &Value, check_perms: bool) -> ApiResult<bool> {
    let r = &body["message_reference"];
    let Some(mid) = opt_id(&r["message_id"]) else {
        return Ok(true);
    };
    // "If `type` is unset, `DEFAULT` can be assumed"; a reply's channel
    // defaults to this one, a forward names its own.
    let reply = r["type"].as_u64().unwrap_or(0) == 0;
    let from = opt_id(&r["channel_id"]).unwrap_or(channel_id);
    let Some(target) = w.channel_messages(from).iter().find(|m| m.id == mid && !m.is_ephemeral()) else {
        if r["fail_if_not_exists"].as_bool() == Some(false) {
            return Ok(false);
        }
        return Err(ApiError::invalid_form("message_reference: Unknown message"));
    };
    // Regular messages are DEFAULT (0) and REPLY (19); others (a pin's
    // notice, 6, ...) are system messages.
    if reply && !matches!(target.kind, 0 | 19) {
        return Err(ApiError::invalid_form("message_reference: Cannot reply to a system message"));
    }
    let in_guild = w.channel(channel_id)?.guild_id.is_some();
    if reply && check_perms && in_guild && w.channel_permissions(channel_id, author) & perms::READ_MESSAGE_HISTORY == 0
    {
        return Err(ApiError::new(400, 160002, "Cannot reply without permission to read message history"));
    }
    Ok(true)
}

/// Whether a thread takes a new message from `author` (threads.md, Locked
/// Threads: "Users (including bot users) without the `MANAGE_THREADS`
/// permission ... won't be able to create or update messages in locked
/// threads"; Active & Archived Threads: "Sending a message will
/// automatically unarchive the thread, unless the thread has been locked by
/// a moderator"). A locked thread answers 160005 "Thread is locked", a
/// locked and archived one 50083 "Tried to perform an operation on an
/// archived thread" (opcodes-and-status-codes.md). `Ok(true)`: the message
/// unarchives it. Not a thread: `Ok(false)`.
fn thread_accepts_message(w: &World, ch: &Channel, author: u64) -> ApiResult<bool> {
    if !matches!(ch.kind, channel_type::PUBLIC_THREAD | channel_type::PRIVATE_THREAD) {
        return Ok(false);
    }
    let moderator = w.channel_permissions(ch.id, author) & perms::MANAGE_THREADS != 0;
    if ch.locked && !moderator {
        return Err(ApiError::thread_locked());
    }
    if ch.locked && ch.archived {
        return Err(ApiError::thread_archived());
    }
    Ok(ch.archived)
}

/// Whether `editor` may edit a message in this channel as far as a thread's
/// state goes: threads.md, "Users cannot edit messages ... in archived
/// threads" (50083), and a locked thread's messages are not updated by
/// those without Manage Threads (160005).
fn thread_accepts_edit(w: &World, channel_id: u64, editor: u64) -> ApiResult<()> {
    let ch = w.channel(channel_id)?;
    if !matches!(ch.kind, channel_type::PUBLIC_THREAD | channel_type::PRIVATE_THREAD) {
        return Ok(());
    }
    if ch.archived {
        return Err(ApiError::thread_archived());
    }
    if ch.locked && w.channel_permissions(channel_id, editor) & perms::MANAGE_THREADS == 0 {
        return Err(ApiError::thread_locked());
    }
    Ok(())
}

#[cfg(test)]
pub(crate) fn edit_message_for_test(w: &mut World, mid: u64, body: &Value) {
    edit_message_with(w, mid, body, &[]).expect("edited");
}

/// Edit a message; files are appended to it, and an `attachments` array
/// names every attachment it keeps (message.md, Edit Message: "Any provided
/// files will be **appended** to the message. To remove or replace files you
/// will have to supply the `attachments` field which specifies the files to
/// retain on the message after edit").
fn edit_message_with(w: &mut World, mid: u64, body: &Value, files: &[crate::upload::FilePart]) -> Out {
    let (channel_id, existing) = {
        let msg = w.find_message(mid).ok_or_else(ApiError::unknown_message)?;
        (msg.channel_id, msg.attachments.iter().map(|a| a.id).collect::<Vec<_>>())
    };
    // message.md, Edit Message: content "Message contents (up to 2000 characters)".
    if body["content"].as_str().is_some_and(|c| c.chars().count() > 2000) {
        return Err(ApiError::invalid_form("content: Must be 2000 or fewer in length."));
    }
    let (new_files, keep) = crate::upload::check(body, files, &existing, w.attachment_size_limit(channel_id))?;
    let added = new_attachments(w, new_files);
    let msg = w.find_message_mut(mid).ok_or_else(ApiError::unknown_message)?;
    if let Some(keep) = keep {
        msg.attachments.retain(|a| keep.contains(&a.id));
    }
    msg.attachments.extend(added);
    if let Some(c) = body.get("content") {
        msg.content = c.as_str().unwrap_or_default().to_string();
    }
    if let Some(e) = body.get("embeds").filter(|v| v.is_array()) {
        msg.embeds = e.clone();
    }
    if let Some(c) = body.get("components").filter(|v| v.is_array()) {
        msg.components = c.clone();
    }
    if let Some(a) = body.get("allowed_mentions") {
        msg.allowed_mentions = a.clone();
    }
    msg.edited = true;
    let msg = msg.clone();
    // An edit parses the mentions again (new mentions in it ping).
    let replied_author = msg.reply_to.filter(|_| msg.kind == 19).and_then(|r| w.find_message(r)).map(|m| m.author_id);
    let pinged = crate::world::pings_of(
        w,
        msg.channel_id,
        msg.author_id,
        &msg.content,
        &msg.allowed_mentions,
        msg.interaction_id.is_some(),
        replied_author,
    );
    if !pinged.is_empty() {
        w.pings.push((mid, msg.author_id, msg.channel_id, pinged.clone()));
    }
    if let Some(m) = w.find_message_mut(mid) {
        m.pinged = pinged;
    }
    // A deferred response is filled in by its first edit.
    if let Some(i) = msg.interaction_id.and_then(|i| w.interactions.get_mut(&i)) {
        if i.original == Some(mid) {
            if i.deferred_open {
                i.content_at.get_or_insert_with(Instant::now);
            }
            i.deferred_open = false;
        }
    }
    let v = payload::message(w, &msg);
    if !msg.is_ephemeral() {
        w.emit("MESSAGE_UPDATE", v.clone());
    }
    ok(v)
}

fn delete_message(w: &mut World, mid: u64) -> Out {
    let mut found = None;
    for (c, list) in w.messages.iter_mut() {
        if let Some(pos) = list.iter().position(|m| m.id == mid) {
            list.remove(pos);
            found = Some(*c);
        }
    }
    let c = found.ok_or_else(ApiError::unknown_message)?;
    let mut d = json!({"id": mid.to_string(), "channel_id": c.to_string()});
    if let Some(g) = w.channels.get(&c).and_then(|c| c.guild_id) {
        d["guild_id"] = json!(g.to_string());
    }
    w.emit("MESSAGE_DELETE", d);
    no_content()
}

fn touch(w: &mut World, token: &str) {
    if let Some(i) = w.tokens.get(token).copied().and_then(|i| w.interactions.get_mut(&i)) {
        i.touched = true;
        if i.callbacks.first() == Some(&6) {
            i.content_at.get_or_insert_with(Instant::now);
        }
    }
}

/// The interaction a webhook token belongs to, while the token is valid:
/// receiving-and-responding.md, "Interaction tokens are valid for **15
/// minutes**", and "If the 3 second deadline is exceeded, the token will be
/// invalidated" (no initial response: Unknown interaction). An expired
/// token is refused as Discord refuses it: 401, 50027 "Invalid webhook
/// token provided" (opcodes-and-status-codes.md).
fn live_token(w: &World, token: &str) -> ApiResult<u64> {
    let iid = *w.tokens.get(token).ok_or_else(ApiError::unknown_interaction)?;
    let i = &w.interactions[&iid];
    if i.callbacks.is_empty() {
        return Err(ApiError::unknown_interaction());
    }
    if w.token_expired(i) {
        return Err(ApiError::invalid_webhook_token());
    }
    Ok(iid)
}

fn webhook_message(w: &World, token: &str, m: &str) -> ApiResult<u64> {
    let iid = live_token(w, token)?;
    let i = &w.interactions[&iid];
    if m == "@original" {
        return i.original.ok_or_else(ApiError::unknown_message);
    }
    let mid = id(m)?;
    if i.original == Some(mid) || i.followups.contains(&mid) {
        Ok(mid)
    } else {
        Err(ApiError::unknown_message())
    }
}

fn followup(w: &mut World, token: &str, body: &Value, files: &[crate::upload::FilePart]) -> Out {
    let iid = live_token(w, token)?;
    let i = w.interactions[&iid].clone();
    // The first follow-up after a deferred response fills in the "thinking" message.
    if i.deferred_open {
        if let Some(orig) = i.original {
            let out = edit_message_with(w, orig, body, files)?;
            return out.1.map(|v| (200, Some(v))).ok_or_else(ApiError::unknown_message);
        }
    }
    let mut body = body.clone();
    let v = post_message_with(w, i.channel_id, w.bot_user_id, &body.take(), Some(iid), files)?;
    let mid = opt_id(&v["id"]).unwrap_or(0);
    if let Some(i) = w.interactions.get_mut(&iid) {
        i.followups.push(mid);
    }
    ok(v)
}

fn callback(w: &mut World, iid: u64, token: &str, r: &Request) -> Out {
    let Some(i) = w.interactions.get(&iid).cloned() else {
        return Err(ApiError::unknown_interaction());
    };
    if i.token != token {
        return Err(ApiError::unknown_interaction());
    }
    // Past its 15 minutes on the test clock the token is gone: Unknown
    // interaction, as for any token Discord no longer knows.
    if w.token_expired(&i) {
        return Err(ApiError::unknown_interaction());
    }
    let body = r.body();
    let kind = body["type"].as_u64().unwrap_or(0) as u8;
    if !i.callbacks.is_empty() {
        w.violations.push(format!("interaction {iid} answered twice (callback types {:?} then {kind})", i.callbacks));
        return Err(ApiError::new(400, 40060, "Interaction has already been acknowledged."));
    }
    let elapsed = i.sent_at.elapsed();
    if elapsed > RESPONSE_WINDOW {
        w.violations.push(format!("interaction {iid} answered after {elapsed:?} (more than 3 s)"));
        return Err(ApiError::unknown_interaction());
    }
    if !callback_fits(i.kind, kind, i.source_message.is_some()) {
        w.violations.push(format!("interaction {iid} of type {} answered with callback type {kind}", i.kind));
        return Err(ApiError::new(400, 50035, "Invalid Form Body: interaction callback type not valid here"));
    }
    let data = body.get("data").cloned().unwrap_or(json!({}));
    let mut original = None;
    let mut deferred_open = false;
    match kind {
        4 | 5 => {
            let mut d = data.clone();
            if kind == 5 {
                d = json!({"flags": data["flags"].as_u64().unwrap_or(0)});
                deferred_open = true;
            }
            let files = if kind == 4 { r.files } else { &[] };
            let v = post_message_with(w, i.channel_id, w.bot_user_id, &d, Some(iid), files)?;
            original = opt_id(&v["id"]);
        }
        6 => original = i.source_message,
        7 => {
            let src = i.source_message.ok_or_else(|| ApiError::new(400, 40004, "Interaction has no message"))?;
            edit_message_with(w, src, &data, r.files)?;
            original = Some(src);
        }
        8 | 9 => {}
        _ => return Err(ApiError::invalid_form("type")),
    }
    let i = w.interactions.get_mut(&iid).expect("interaction");
    i.callbacks.push(kind);
    i.original = original;
    i.deferred_open = deferred_open;
    i.answered_at = Some(Instant::now());
    if !matches!(kind, 5 | 6) {
        i.content_at = i.answered_at;
    }
    if matches!(kind, 8 | 9) {
        i.callback_data = Some(data);
    }
    no_content()
}

/// Whether callback type `callback` answers an interaction of type
/// `interaction` (receiving-and-responding.md, Interaction Callback Type):
/// PONG (1) acknowledges a PING (1); DEFERRED_UPDATE_MESSAGE (6) and
/// UPDATE_MESSAGE (7) are "only valid for component-based interactions" (a
/// press, or a form submitted from a message's component: `from_message`);
/// the autocomplete result (8) answers an autocomplete (4), which takes
/// nothing else; MODAL (9) is "not available for MODAL_SUBMIT and PING
/// interactions"; a message (4) or a deferred one (5) answers anything but
/// a PING or an autocomplete.
pub fn callback_fits(interaction: u8, callback: u8, from_message: bool) -> bool {
    match (interaction, callback) {
        (1, c) => c == 1,
        (4, c) => c == 8,
        (_, 1 | 8) => false,
        (3, 6 | 7) => true,
        (5, 6 | 7) => from_message,
        (_, 6 | 7) => false,
        (5, 9) => false,
        (2 | 3 | 5, 4 | 5 | 9) => true,
        _ => false,
    }
}

fn create_role(w: &mut World, gid: u64, body: &Value) -> Out {
    let have = bot_guild_perms(w, gid);
    if have & perms::MANAGE_ROLES == 0 {
        return Err(ApiError::missing_permissions());
    }
    // guild.md, Create Guild Role: permissions default to "@everyone
    // permissions in guild".
    let wanted = if body.get("permissions").is_some_and(|p| !p.is_null()) {
        bits(&body["permissions"])
    } else {
        w.guild(gid)?.roles.iter().find(|r| r.id == gid).map_or(0, |r| r.permissions)
    };
    if have & perms::ADMINISTRATOR == 0 && wanted & !have != 0 {
        return Err(ApiError::missing_permissions());
    }
    let g = w.guild(gid)?;
    if g.roles.len() >= 250 {
        return Err(ApiError::new(400, 30005, "Maximum number of guild roles reached (250)"));
    }
    let rid = w.snowflake();
    let g = w.guild_mut(gid)?;
    for r in g.roles.iter_mut().filter(|r| r.position >= 1) {
        r.position += 1;
    }
    let role = Role {
        id: rid,
        name: body["name"].as_str().unwrap_or("new role").to_string(),
        color: body["color"].as_u64().unwrap_or(0) as u32,
        hoist: body["hoist"].as_bool().unwrap_or(false),
        managed: false,
        mentionable: body["mentionable"].as_bool().unwrap_or(false),
        permissions: wanted,
        position: 1,
    };
    let v = payload::role(&role);
    g.roles.push(role);
    w.made_by_bot.insert(rid);
    w.emit("GUILD_ROLE_CREATE", json!({"guild_id": gid.to_string(), "role": v}));
    ok(v)
}

fn edit_role(w: &mut World, gid: u64, rid: u64, body: &Value) -> Out {
    w.bot_can_manage_role(gid, rid)?;
    let have = bot_guild_perms(w, gid);
    if let Some(p) = body.get("permissions").filter(|p| !p.is_null()) {
        if have & perms::ADMINISTRATOR == 0 && bits(p) & !have != 0 {
            return Err(ApiError::missing_permissions());
        }
    }
    let g = w.guild_mut(gid)?;
    let role = g.roles.iter_mut().find(|r| r.id == rid).ok_or_else(ApiError::unknown_role)?;
    if let Some(n) = body["name"].as_str() {
        role.name = n.to_string();
    }
    if let Some(p) = body.get("permissions").filter(|p| !p.is_null()) {
        role.permissions = bits(p);
    }
    if let Some(c) = body["color"].as_u64() {
        role.color = c as u32;
    }
    if let Some(m) = body["mentionable"].as_bool() {
        role.mentionable = m;
    }
    if let Some(h) = body["hoist"].as_bool() {
        role.hoist = h;
    }
    let v = payload::role(role);
    w.emit("GUILD_ROLE_UPDATE", json!({"guild_id": gid.to_string(), "role": v}));
    ok(v)
}

fn delete_role(w: &mut World, gid: u64, rid: u64) -> Out {
    w.bot_can_manage_role(gid, rid)?;
    w.remove_role(gid, rid);
    no_content()
}

/// Get Guild Audit Log: needs View Audit Log; newest first, filtered by
/// `action_type` and `user_id`, at most `limit` (1-100, default 50).
fn audit_logs(w: &World, gid: u64, r: &Request) -> Out {
    w.guild(gid)?;
    if bot_guild_perms(w, gid) & perms::VIEW_AUDIT_LOG == 0 {
        return Err(ApiError::missing_permissions());
    }
    let q = |k: &str| r.query.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
    let limit: usize = q("limit").and_then(|v| v.parse().ok()).unwrap_or(50);
    if !(1..=100).contains(&limit) {
        return Err(ApiError::invalid_form("limit must be between 1 and 100"));
    }
    let action: Option<u64> = q("action_type").and_then(|v| v.parse().ok());
    let user = q("user_id");
    let entries: Vec<Value> = w
        .audit_log
        .iter()
        .rev()
        .filter(|(g, e)| *g == gid && action.is_none_or(|a| e["action_type"] == a))
        .filter(|(_, e)| user.as_ref().is_none_or(|u| e["user_id"] == json!(u)))
        .take(limit)
        .map(|(_, e)| e.clone())
        .collect();
    ok(json!({
        "audit_log_entries": entries, "users": [], "integrations": [], "webhooks": [],
        "guild_scheduled_events": [], "threads": [], "application_commands": [], "auto_moderation_rules": [],
    }))
}

fn member_role(w: &mut World, gid: u64, uid: u64, rid: u64, add: bool) -> Out {
    w.guild(gid)?.members.get(&uid).ok_or_else(ApiError::unknown_member)?;
    w.bot_can_manage_role(gid, rid)?;
    let g = w.guild_mut(gid)?;
    let m = g.members.get_mut(&uid).ok_or_else(ApiError::unknown_member)?;
    let changed = if add {
        if m.roles.contains(&rid) {
            false
        } else {
            m.roles.push(rid);
            true
        }
    } else {
        let before = m.roles.len();
        m.roles.retain(|r| *r != rid);
        before != m.roles.len()
    };
    if changed {
        let m = m.clone();
        let bot = w.bot_user_id;
        w.log_role_update(gid, bot, uid, rid, add);
        let mut v = payload::member(w, &m);
        v["guild_id"] = json!(gid.to_string());
        w.emit("GUILD_MEMBER_UPDATE", v);
    }
    no_content()
}

fn parse_overwrites(v: &Value) -> Vec<Overwrite> {
    v.as_array()
        .map(|list| {
            list.iter()
                .filter_map(|o| {
                    Some(Overwrite {
                        id: opt_id(&o["id"])?,
                        kind: o["type"].as_u64().unwrap_or(0) as u8,
                        allow: bits(&o["allow"]),
                        deny: bits(&o["deny"]),
                    })
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Discord: a bot may only allow or deny, in an overwrite, permissions it
/// has itself (in the parent, or the guild) unless it is an administrator.
fn check_overwrites(w: &World, gid: u64, parent: Option<u64>, list: &[Overwrite]) -> ApiResult<()> {
    let bot = w.bot_user_id;
    let have = match parent {
        Some(p) if w.channels.contains_key(&p) => w.channel_permissions(p, bot) | bot_guild_perms(w, gid),
        _ => bot_guild_perms(w, gid),
    };
    if have & perms::ADMINISTRATOR != 0 {
        return Ok(());
    }
    for o in list {
        if (o.allow | o.deny) & !have != 0 {
            return Err(ApiError::missing_permissions());
        }
    }
    Ok(())
}

fn create_channel(w: &mut World, gid: u64, body: &Value) -> Out {
    if bot_guild_perms(w, gid) & perms::MANAGE_CHANNELS == 0 {
        return Err(ApiError::missing_permissions());
    }
    let kind = body["type"].as_u64().unwrap_or(0) as u8;
    let g = w.guild(gid)?;
    if kind == channel_type::FORUM && !g.forums_available {
        return Err(ApiError::invalid_form("type: Channel type is not available in this guild"));
    }
    let parent = opt_id(&body["parent_id"]);
    if let Some(p) = parent {
        let pc = w.channel(p).map_err(|_| ApiError::invalid_form("parent_id: Unknown channel"))?;
        if pc.kind != channel_type::CATEGORY || pc.guild_id != Some(gid) {
            return Err(ApiError::invalid_form("parent_id: not a category"));
        }
        if kind == channel_type::CATEGORY {
            return Err(ApiError::invalid_form("parent_id: a category has no parent"));
        }
    }
    w.channel_fits(gid, parent)?;
    let overwrites = parse_overwrites(&body["permission_overwrites"]);
    check_overwrites(w, gid, parent, &overwrites)?;
    let cid = w.snowflake();
    let ch = Channel {
        id: cid,
        guild_id: Some(gid),
        kind,
        name: body["name"].as_str().unwrap_or_default().to_string(),
        parent_id: parent,
        position: w.guild(gid)?.channels.len() as i64,
        topic: body["topic"].as_str().map(str::to_string),
        overwrites,
        owner_id: None,
        archived: false,
        locked: false,
    };
    let v = payload::channel(&ch);
    w.made_by_bot.insert(cid);
    w.channels.insert(cid, ch);
    w.guild_mut(gid)?.channels.push(cid);
    w.emit("CHANNEL_CREATE", v.clone());
    created(v)
}

fn manage_channel_check(w: &World, cid: u64) -> ApiResult<Channel> {
    let ch = w.channel(cid)?.clone();
    let Some(gid) = ch.guild_id else {
        return Err(ApiError::missing_access());
    };
    let is_thread = matches!(ch.kind, channel_type::PUBLIC_THREAD | channel_type::PRIVATE_THREAD);
    let needed = if is_thread { perms::MANAGE_THREADS } else { perms::MANAGE_CHANNELS };
    let have = w.channel_permissions(cid, w.bot_user_id);
    if have & perms::VIEW_CHANNEL == 0 {
        return Err(ApiError::missing_access());
    }
    if have & needed == 0 && bot_guild_perms(w, gid) & perms::ADMINISTRATOR == 0 {
        return Err(ApiError::missing_permissions());
    }
    Ok(ch)
}

fn channel_event(ch: &Channel) -> &'static str {
    if matches!(ch.kind, channel_type::PUBLIC_THREAD | channel_type::PRIVATE_THREAD) {
        "THREAD_UPDATE"
    } else {
        "CHANNEL_UPDATE"
    }
}

fn edit_channel(w: &mut World, cid: u64, body: &Value) -> Out {
    let before = manage_channel_check(w, cid)?;
    let gid = before.guild_id.unwrap_or(0);
    if let Some(list) = body.get("permission_overwrites").filter(|v| v.is_array()) {
        let parsed = parse_overwrites(list);
        if w.channel_permissions(cid, w.bot_user_id) & perms::MANAGE_ROLES == 0
            && bot_guild_perms(w, gid) & perms::MANAGE_ROLES == 0
        {
            return Err(ApiError::missing_permissions());
        }
        check_overwrites(w, gid, before.parent_id, &parsed)?;
    }
    let new_parent = match body.get("parent_id") {
        Some(Value::Null) => Some(None),
        Some(v) => {
            let p = opt_id(v).ok_or_else(|| ApiError::invalid_form("parent_id"))?;
            let pc = w.channel(p).map_err(|_| ApiError::invalid_form("parent_id: Unknown channel"))?;
            if pc.kind != channel_type::CATEGORY || pc.guild_id != before.guild_id {
                return Err(ApiError::invalid_form("parent_id: not a category"));
            }
            // "each parent category can contain up to 50 channels" (channel.md).
            let full = before.parent_id != Some(p) && w.channel_fits(gid, Some(p)).is_err_and(|e| e.code == 50035);
            if full {
                return Err(ApiError::invalid_form("parent_id: Maximum number of channels in category reached (50)"));
            }
            Some(Some(p))
        }
        None => None,
    };
    let ch = w.channels.get_mut(&cid).ok_or_else(ApiError::unknown_channel)?;
    if let Some(n) = body["name"].as_str() {
        ch.name = n.to_string();
    }
    if let Some(t) = body.get("topic") {
        ch.topic = t.as_str().map(str::to_string);
    }
    if let Some(list) = body.get("permission_overwrites").filter(|v| v.is_array()) {
        ch.overwrites = parse_overwrites(list);
    }
    if let Some(p) = new_parent {
        ch.parent_id = p;
    }
    if let Some(a) = body["archived"].as_bool() {
        ch.archived = a;
    }
    if let Some(l) = body["locked"].as_bool() {
        ch.locked = l;
    }
    let ch = ch.clone();
    let v = payload::channel(&ch);
    w.emit(channel_event(&ch), v.clone());
    ok(v)
}

fn delete_channel(w: &mut World, cid: u64) -> Out {
    manage_channel_check(w, cid)?;
    let ch = w.remove_channel(cid).ok_or_else(ApiError::unknown_channel)?;
    ok(payload::channel(&ch))
}

fn put_overwrite(w: &mut World, cid: u64, target: u64, body: &Value) -> Out {
    let ch = manage_channel_check(w, cid)?;
    let gid = ch.guild_id.unwrap_or(0);
    if bot_guild_perms(w, gid) & perms::MANAGE_ROLES == 0
        && w.channel_permissions(cid, w.bot_user_id) & perms::MANAGE_ROLES == 0
    {
        return Err(ApiError::missing_permissions());
    }
    let o = Overwrite {
        id: target,
        kind: body["type"].as_u64().unwrap_or(0) as u8,
        allow: bits(&body["allow"]),
        deny: bits(&body["deny"]),
    };
    check_overwrites(w, gid, ch.parent_id, std::slice::from_ref(&o))?;
    let chm = w.channels.get_mut(&cid).ok_or_else(ApiError::unknown_channel)?;
    chm.overwrites.retain(|x| x.id != target);
    chm.overwrites.push(o);
    let v = payload::channel(chm);
    w.emit("CHANNEL_UPDATE", v);
    no_content()
}

fn delete_overwrite(w: &mut World, cid: u64, target: u64) -> Out {
    manage_channel_check(w, cid)?;
    let chm = w.channels.get_mut(&cid).ok_or_else(ApiError::unknown_channel)?;
    chm.overwrites.retain(|x| x.id != target);
    let v = payload::channel(chm);
    w.emit("CHANNEL_UPDATE", v);
    no_content()
}

/// List Active Guild Threads: the unarchived threads the bot can see,
/// newest first (ordered by id, descending).
fn active_threads(w: &World, gid: u64) -> Out {
    let g = w.guild(gid)?;
    let mut threads: Vec<&Channel> = g
        .channels
        .iter()
        .filter_map(|c| w.channels.get(c))
        .filter(|c| matches!(c.kind, channel_type::PUBLIC_THREAD | channel_type::PRIVATE_THREAD) && !c.archived)
        .filter(|c| w.can_view(c.id, w.bot_user_id))
        .collect();
    threads.sort_by_key(|t| std::cmp::Reverse(t.id));
    ok(json!({"threads": threads.into_iter().map(payload::channel).collect::<Vec<_>>(), "members": []}))
}

/// Create a thread (a forum post when the parent is a forum) as `author`.
pub fn create_thread(
    w: &mut World,
    parent: u64,
    author: u64,
    name: &str,
    first_message: Option<&Value>,
    private: bool,
) -> ApiResult<u64> {
    let tid = w.snowflake();
    insert_thread(w, tid, parent, author, name, first_message, private)
}

/// Create a thread whose id is `tid` (a thread started from a message takes
/// the message's id).
fn insert_thread(
    w: &mut World,
    tid: u64,
    parent: u64,
    author: u64,
    name: &str,
    first_message: Option<&Value>,
    private: bool,
) -> ApiResult<u64> {
    let pc = w.channel(parent)?.clone();
    // threads.md: "Private threads ... can only be created in `GUILD_TEXT`
    // channels"; threads live in text channels and forums only.
    let fits = match pc.kind {
        channel_type::TEXT => true,
        channel_type::FORUM => !private,
        _ => false,
    };
    if !fits {
        return Err(ApiError::new(400, 50024, "Cannot execute action on this channel type"));
    }
    let kind = if private { channel_type::PRIVATE_THREAD } else { channel_type::PUBLIC_THREAD };
    let th = Channel {
        id: tid,
        guild_id: pc.guild_id,
        kind,
        name: name.to_string(),
        parent_id: Some(parent),
        position: 0,
        topic: None,
        overwrites: vec![],
        owner_id: Some(author),
        archived: false,
        locked: false,
    };
    let mut v = payload::channel(&th);
    w.channels.insert(tid, th);
    w.thread_members.entry(tid).or_default().insert(author);
    if let Some(g) = pc.guild_id.and_then(|g| w.guilds.get_mut(&g)) {
        g.channels.push(tid);
    }
    v["newly_created"] = json!(true);
    w.emit("THREAD_CREATE", v);
    if let Some(m) = first_message {
        let msg = message_from_body(w, tid, author, m, None);
        let mv = payload::message(w, &msg);
        w.messages.entry(tid).or_default().push(msg);
        w.emit("MESSAGE_CREATE", mv);
    }
    Ok(tid)
}

/// Add a member to a thread: the thread must be unarchived, the bot able to
/// send messages in it (and be in a private one), the user a guild member
/// (channel.md, Add Thread Member: "Requires the ability to send messages in
/// the thread. Also requires the thread is not archived ... Fires a Thread
/// Members Update Gateway event"), and the thread under 1,000 members.
fn add_thread_member(w: &mut World, thread: u64, user: u64) -> Out {
    let th = w.channel(thread)?.clone();
    if !matches!(th.kind, channel_type::PUBLIC_THREAD | channel_type::PRIVATE_THREAD) {
        return Err(ApiError::new(400, 50024, "Cannot execute action on this channel type"));
    }
    if th.archived {
        return Err(ApiError::thread_archived());
    }
    bot_needs(w, thread, perms::VIEW_CHANNEL | perms::SEND_MESSAGES_IN_THREADS)?;
    let bot = w.bot_user_id;
    if th.kind == channel_type::PRIVATE_THREAD && !w.can_view_thread(thread, bot) {
        return Err(ApiError::new(403, 50001, "Missing Access"));
    }
    let guild = th.guild_id.ok_or_else(ApiError::unknown_channel)?;
    if !w.guild(guild)?.members.contains_key(&user) {
        return Err(ApiError::unknown_member());
    }
    let members = w.thread_members.entry(thread).or_default();
    if members.contains(&user) {
        // "Returns a 204 empty response if the member is successfully added
        // or was already a member of the thread."
        return no_content();
    }
    // opcodes-and-status-codes.md, 30033: "Maximum number of thread
    // participants has been reached (1000)".
    if members.len() >= MAX_THREAD_MEMBERS {
        return Err(ApiError::new(400, 30033, "Maximum number of thread participants has been reached (1000)"));
    }
    members.insert(user);
    let v = thread_members_update(w, thread, guild, Some(user), None);
    w.emit("THREAD_MEMBERS_UPDATE", v);
    no_content()
}

/// The most members a thread holds (opcodes-and-status-codes.md, 30033).
pub const MAX_THREAD_MEMBERS: usize = 1000;

/// gateway-events.md, Thread Members Update: the thread's `id`, `guild_id`,
/// `member_count` ("Approximate number of members in the thread, capped at
/// 50"), `added_members` (thread member objects that "also include the guild
/// member and nullable presence objects") and `removed_member_ids`.
fn thread_members_update(w: &World, thread: u64, guild: u64, added: Option<u64>, removed: Option<u64>) -> Value {
    let count = w.thread_members.get(&thread).map_or(0, |m| m.len()).min(50);
    let added: Vec<Value> = added
        .into_iter()
        .map(|u| {
            let member = w.guilds.get(&guild).and_then(|g| g.members.get(&u)).map(|m| {
                let mut v = payload::member(w, m);
                v["guild_id"] = json!(guild.to_string());
                v
            });
            json!({
                "id": thread.to_string(), "user_id": u.to_string(),
                "join_timestamp": payload::timestamp(chrono::Utc::now()), "flags": 0,
                "member": member, "presence": null,
            })
        })
        .collect();
    let mut v = json!({"id": thread.to_string(), "guild_id": guild.to_string(), "member_count": count});
    if !added.is_empty() {
        v["added_members"] = json!(added);
    }
    if let Some(r) = removed {
        v["removed_member_ids"] = json!([r.to_string()]);
    }
    v
}

/// Remove a member from a thread. Discord: "Requires the MANAGE_THREADS
/// permission, or the creator of the thread if it is a PRIVATE_THREAD. Also
/// requires the thread is not archived."
pub fn remove_thread_member(w: &mut World, thread: u64, user: u64) -> Out {
    let th = w.channel(thread)?.clone();
    if !matches!(th.kind, channel_type::PUBLIC_THREAD | channel_type::PRIVATE_THREAD) {
        return Err(ApiError::new(400, 50024, "Cannot execute action on this channel type"));
    }
    if th.archived {
        return Err(ApiError::thread_archived());
    }
    let creator = th.kind == channel_type::PRIVATE_THREAD && th.owner_id == Some(w.bot_user_id);
    bot_needs(w, thread, if creator { perms::VIEW_CHANNEL } else { perms::VIEW_CHANNEL | perms::MANAGE_THREADS })?;
    let guild = th.guild_id.ok_or_else(ApiError::unknown_channel)?;
    if !w.guild(guild)?.members.contains_key(&user) {
        return Err(ApiError::unknown_member());
    }
    if w.thread_members.entry(thread).or_default().remove(&user) {
        let v = thread_members_update(w, thread, guild, None, Some(user));
        w.emit("THREAD_MEMBERS_UPDATE", v);
    }
    no_content()
}

/// Start a thread as the bot, by Discord's rules (channel.md, permissions.md):
/// - Start Thread without Message: "`type` currently defaults to
///   `PRIVATE_THREAD`"; CREATE_PRIVATE_THREADS "allows for creating private
///   threads", CREATE_PUBLIC_THREADS public ones. Sending Messages is not
///   needed to create either.
/// - Start Thread in Forum or Media Channel: "The type of the created thread
///   is `PUBLIC_THREAD`"; "The current user must have the `SEND_MESSAGES`
///   permission (`CREATE_PUBLIC_THREADS` is ignored)".
/// - Start Thread from Message: "When called on a `GUILD_TEXT` channel,
///   creates a `PUBLIC_THREAD`"; "Does not work on a `GUILD_FORUM`"; "The id
///   of the created thread will be the same as the id of the source message,
///   and as such a message can only have a single thread created from it."
fn start_thread(w: &mut World, parent: u64, from_message: Option<u64>, body: &Value) -> Out {
    let pc = w.channel(parent)?.clone();
    let forum = pc.kind == channel_type::FORUM;
    let name = body["name"].as_str().unwrap_or("thread").to_string();
    let author = w.bot_user_id;
    if let Some(mid) = from_message {
        if pc.kind != channel_type::TEXT {
            return Err(ApiError::new(400, 50024, "Cannot execute action on this channel type"));
        }
        bot_needs(w, parent, perms::VIEW_CHANNEL | perms::CREATE_PUBLIC_THREADS)?;
        w.channel_messages(parent).iter().find(|m| m.id == mid).ok_or_else(ApiError::unknown_message)?;
        if w.channels.contains_key(&mid) {
            return Err(ApiError::new(400, 160004, "A thread has already been created for this message"));
        }
        let tid = insert_thread(w, mid, parent, author, &name, None, false)?;
        return created(payload::channel(w.channel(tid)?));
    }
    if forum {
        // threads.md: "Private threads ... can only be created in
        // `GUILD_TEXT` channels"; a forum's posts are `PUBLIC_THREAD`s.
        if body.get("type").and_then(Value::as_u64) == Some(channel_type::PRIVATE_THREAD as u64) {
            return Err(ApiError::new(400, 50024, "Cannot execute action on this channel type"));
        }
        bot_needs(w, parent, perms::VIEW_CHANNEL | perms::SEND_MESSAGES)?;
        let first =
            body.get("message").cloned().ok_or_else(|| ApiError::invalid_form("message: required for forum posts"))?;
        let tid = create_thread(w, parent, author, &name, Some(&first), false)?;
        return created(payload::channel(w.channel(tid)?));
    }
    if pc.kind != channel_type::TEXT {
        // Threads are started in text channels (and forums, above).
        return Err(ApiError::new(400, 50024, "Cannot execute action on this channel type"));
    }
    let private = match body.get("type").and_then(Value::as_u64) {
        None => true,
        Some(t) => t == channel_type::PRIVATE_THREAD as u64,
    };
    let needed = if private { perms::CREATE_PRIVATE_THREADS } else { perms::CREATE_PUBLIC_THREADS };
    bot_needs(w, parent, perms::VIEW_CHANNEL | needed)?;
    let tid = create_thread(w, parent, author, &name, None, private)?;
    created(payload::channel(w.channel(tid)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::Overwrite;

    /// guild.md, Create Guild Role: `permissions` defaults to "@everyone
    /// permissions in guild"; message.md, Edit Message: content "up to 2000
    /// characters".
    #[test]
    fn a_role_without_permissions_gets_everyones_and_an_edit_is_bounded_like_a_post() {
        let (mut w, staff) = world_with(|_, _| vec![]);
        let gid = w.channels[&staff].guild_id.unwrap();
        let everyone = w.guilds[&gid].roles.iter().find(|r| r.id == gid).unwrap().permissions;
        assert_ne!(everyone, 0);
        let perms_of =
            |out: Out| -> u64 { out.expect("made").1.unwrap()["permissions"].as_str().unwrap().parse().unwrap() };
        assert_eq!(perms_of(create_role(&mut w, gid, &json!({"name": "plain"}))), everyone);
        assert_eq!(perms_of(create_role(&mut w, gid, &json!({"name": "none", "permissions": "0"}))), 0);

        let bot = w.bot_user_id;
        let m = post_message_with(&mut w, staff, bot, &json!({"content": "hi"}), None, &[]).unwrap();
        let mid: u64 = m["id"].as_str().unwrap().parse().unwrap();
        let long = "x".repeat(2001);
        let e = edit_message_with(&mut w, mid, &json!({"content": long}), &[]).unwrap_err();
        assert_eq!(e.status, 400);
        assert_eq!(w.find_message(mid).unwrap().content, "hi", "nothing changed");
        let most = "é".repeat(2000);
        edit_message_with(&mut w, mid, &json!({"content": most}), &[]).expect("2,000 characters, not bytes");
    }

    /// receiving-and-responding.md, Interaction Callback Type, and its two
    /// footnotes ("Only valid for component-based interactions"; "Not
    /// available for MODAL_SUBMIT and PING interactions").
    #[test]
    fn callback_types_fit_their_interactions_as_discord_documents() {
        // A slash command (2): a message, deferred or not, or a form.
        assert!(callback_fits(2, 4, false) && callback_fits(2, 5, false) && callback_fits(2, 9, false));
        assert!(!callback_fits(2, 6, false) && !callback_fits(2, 7, false), "updates are for components");
        assert!(!callback_fits(2, 8, false) && !callback_fits(2, 1, false));
        // A press (3): all of those, and the updates of its message.
        for c in [4, 5, 6, 7, 9] {
            assert!(callback_fits(3, c, true), "press, callback {c}");
        }
        // Autocomplete (4): its result only.
        assert!(callback_fits(4, 8, false));
        for c in [1, 4, 5, 6, 7, 9] {
            assert!(!callback_fits(4, c, false), "autocomplete, callback {c}");
        }
        // A form submitted (5): no form in answer; updates only when it
        // came from a message's component.
        assert!(!callback_fits(5, 9, true) && !callback_fits(5, 9, false));
        assert!(callback_fits(5, 7, true) && !callback_fits(5, 7, false));
        assert!(callback_fits(5, 6, true) && !callback_fits(5, 6, false));
        assert!(callback_fits(5, 4, false) && callback_fits(5, 5, false));
        // PING (1): PONG only.
        assert!(callback_fits(1, 1, false) && !callback_fits(1, 4, false) && !callback_fits(1, 9, false));
    }

    /// threads.md, Forums: "Messages cannot be sent directly in forum
    /// channels"; opcodes-and-status-codes.md: 40058 "Cannot send a message
    /// in a forum channel". Neither the bot nor a member posts there; a
    /// topic (a thread with its first message) is how a forum takes one.
    #[test]
    fn a_message_posted_into_a_forum_is_refused_with_40058_and_a_topic_is_taken() {
        let (mut w, staff) = world_with(|_, _| vec![]);
        w.channels.get_mut(&staff).unwrap().kind = channel_type::FORUM;
        let gid = w.channels[&staff].guild_id.unwrap();
        let member = *w.guilds[&gid].members.keys().find(|u| **u != w.bot_user_id).expect("a member");
        for author in [w.bot_user_id, member] {
            let e = post_message(&mut w, staff, author, &json!({"content": "hello"}), None).unwrap_err();
            assert_eq!((e.status, e.code), (400, 40058), "{}", e.message);
            assert_eq!(e.message, "Cannot send a message in a forum channel");
        }
        assert!(w.channel_messages(staff).is_empty(), "nothing was posted in the forum");
        let topic = create_thread(&mut w, staff, member, "Hello", Some(&json!({"content": "first"})), false)
            .expect("a topic is taken");
        assert_eq!(w.channel_messages(topic).len(), 1, "its first message is in the topic");
        post_message(&mut w, topic, member, &json!({"content": "a reply"}), None).expect("replies go in the topic");
    }

    /// A seeded guild with a text channel whose overwrites are `overwrites`
    /// (the bot's role: the invite link's permissions).
    fn world_with(overwrites: impl Fn(u64, u64) -> Vec<Overwrite>) -> (World, u64) {
        let mut w = World::new();
        let gid = crate::server::seed_guild(&mut w, "Test");
        let bot = w.bot_user_id;
        let cid = w.snowflake();
        w.channels.insert(
            cid,
            Channel {
                id: cid,
                guild_id: Some(gid),
                kind: channel_type::TEXT,
                name: "staff".into(),
                parent_id: None,
                position: 1,
                topic: None,
                overwrites: overwrites(gid, bot),
                owner_id: None,
                archived: false,
                locked: false,
            },
        );
        w.guilds.get_mut(&gid).unwrap().channels.push(cid);
        (w, cid)
    }

    fn start(w: &mut World, channel: u64, from: Option<u64>, body: Value) -> ApiResult<u64> {
        let (_, v) = start_thread(w, channel, from, &body)?;
        Ok(v.unwrap()["id"].as_str().unwrap().parse().unwrap())
    }

    fn post(w: &mut World, channel: u64) -> ApiResult<Value> {
        let bot = w.bot_user_id;
        post_message(w, channel, bot, &json!({"content": "card"}), None)
    }

    /// permissions.md: "The `SEND_MESSAGES` permission is not inherited;
    /// users must have `SEND_MESSAGES_IN_THREADS` to send a message in a
    /// thread"; threads.md: "The `SEND_MESSAGES` permission has no effect in
    /// threads". CREATE_PRIVATE_THREADS "Allows for creating private threads".
    #[test]
    fn a_private_thread_needs_create_private_threads_and_its_posts_send_messages_in_threads_only() {
        let no_send = |gid, _| vec![Overwrite { id: gid, kind: 0, allow: 0, deny: perms::SEND_MESSAGES }];
        let (mut w, staff) = world_with(no_send);
        assert_eq!(post(&mut w, staff).unwrap_err().code, 50013, "no Send Messages in the channel itself");
        let thread =
            start(&mut w, staff, None, json!({"name": "Requests: Rust", "type": 12})).expect("no Send Messages needed");
        assert_eq!(w.channels[&thread].kind, channel_type::PRIVATE_THREAD);
        post(&mut w, thread).expect("Send Messages in Threads is what counts in a thread");

        // Without Send Messages in Threads, Send Messages does not let the bot post in a thread.
        let no_threads = |gid, _| {
            vec![Overwrite { id: gid, kind: 0, allow: perms::SEND_MESSAGES, deny: perms::SEND_MESSAGES_IN_THREADS }]
        };
        let (mut w, staff) = world_with(no_threads);
        let thread = start(&mut w, staff, None, json!({"name": "t", "type": 12})).unwrap();
        assert_eq!(post(&mut w, thread).unwrap_err().code, 50013);
        post(&mut w, staff).expect("the channel itself takes Send Messages");

        // Without Create Private Threads there is no private thread.
        let no_private = |gid, _| vec![Overwrite { id: gid, kind: 0, allow: 0, deny: perms::CREATE_PRIVATE_THREADS }];
        let (mut w, staff) = world_with(no_private);
        assert_eq!(start(&mut w, staff, None, json!({"name": "t", "type": 12})).unwrap_err().code, 50013);
        let public = start(&mut w, staff, None, json!({"name": "t", "type": 11})).expect("public threads still");
        assert_eq!(w.channels[&public].kind, channel_type::PUBLIC_THREAD);
    }

    /// channel.md, Start Thread without Message: "`type` currently defaults
    /// to `PRIVATE_THREAD`".
    #[test]
    fn a_thread_without_a_type_is_private() {
        let (mut w, staff) = world_with(|_, _| vec![]);
        let t = start(&mut w, staff, None, json!({"name": "t"})).unwrap();
        assert_eq!(w.channels[&t].kind, channel_type::PRIVATE_THREAD);
    }

    /// threads.md: "You must be invited to the thread to be able to view or
    /// participate in it, or be a moderator (`MANAGE_THREADS` permission)".
    #[test]
    fn the_bot_posts_in_a_private_thread_only_as_a_member_or_moderator() {
        let (mut w, staff) =
            world_with(|_, bot| vec![Overwrite { id: bot, kind: 1, allow: 0, deny: perms::MANAGE_THREADS }]);
        let gid = w.channels[&staff].guild_id.unwrap();
        let owner = w.guilds[&gid].owner_id;
        let theirs = create_thread(&mut w, staff, owner, "private", None, true).unwrap();
        assert_eq!(post(&mut w, theirs).unwrap_err().code, 50001);
        w.thread_members.get_mut(&theirs).unwrap().insert(w.bot_user_id);
        post(&mut w, theirs).expect("once added to it");
    }

    /// channel.md, Start Thread from Message: "When called on a `GUILD_TEXT`
    /// channel, creates a `PUBLIC_THREAD`"; "The id of the created thread will
    /// be the same as the id of the source message, and as such a message can
    /// only have a single thread created from it"; it "does not work on a
    /// `GUILD_FORUM`". Start Thread in Forum: "The current user must have the
    /// `SEND_MESSAGES` permission (`CREATE_PUBLIC_THREADS` is ignored)".
    #[test]
    fn threads_from_messages_and_forum_posts_follow_their_own_rules() {
        let (mut w, staff) = world_with(|_, _| vec![]);
        let card: u64 = post(&mut w, staff).unwrap()["id"].as_str().unwrap().parse().unwrap();
        let t = start(&mut w, staff, Some(card), json!({"name": "Discuss", "type": 12})).unwrap();
        assert_eq!(t, card, "the thread takes the message's id");
        assert_eq!(w.channels[&t].kind, channel_type::PUBLIC_THREAD);
        assert_eq!(start(&mut w, staff, Some(card), json!({"name": "again"})).unwrap_err().code, 160004);
        assert_eq!(start(&mut w, staff, Some(1), json!({"name": "x"})).unwrap_err().code, 10008);

        let no_public = |gid, _| vec![Overwrite { id: gid, kind: 0, allow: 0, deny: perms::CREATE_PUBLIC_THREADS }];
        let (mut w, staff) = world_with(no_public);
        let card: u64 = post(&mut w, staff).unwrap()["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(start(&mut w, staff, Some(card), json!({"name": "Discuss"})).unwrap_err().code, 50013);

        // A forum: posts need Send Messages, not Create Public Threads.
        let (mut w, ideas) = world_with(no_public);
        w.channels.get_mut(&ideas).unwrap().kind = channel_type::FORUM;
        let post_body = json!({"name": "Welcome", "message": {"content": "hi"}});
        let t = start(&mut w, ideas, None, post_body.clone()).expect("Create Public Threads is ignored in a forum");
        assert_eq!(w.channels[&t].kind, channel_type::PUBLIC_THREAD);
        assert_eq!(start(&mut w, ideas, Some(t), json!({"name": "x"})).unwrap_err().code, 50024);
        w.channels.get_mut(&ideas).unwrap().overwrites[0].deny |= perms::SEND_MESSAGES;
        assert_eq!(start(&mut w, ideas, None, post_body).unwrap_err().code, 50013);
    }

    /// threads.md, Locked Threads: "Users (including bot users) without the
    /// `MANAGE_THREADS` permission ... won't be able to create or update
    /// messages in locked threads"; "If a user or bot user has the
    /// `MANAGE_THREADS` permission, they will still be able to make changes
    /// to the thread and messages". Active & Archived Threads: "Users cannot
    /// edit messages ... in archived threads"; "Sending a message will
    /// automatically unarchive the thread, unless the thread has been locked
    /// by a moderator".
    #[test]
    fn locked_threads_take_messages_from_moderators_only_and_a_message_unarchives_an_unlocked_one() {
        let no_manage = |_, bot| vec![Overwrite { id: bot, kind: 1, allow: 0, deny: perms::MANAGE_THREADS }];
        let (mut w, staff) = world_with(no_manage);
        let thread = start(&mut w, staff, None, json!({"name": "t", "type": 11})).unwrap();
        post(&mut w, thread).expect("an open thread takes messages");
        w.channels.get_mut(&thread).unwrap().locked = true;
        assert_eq!(post(&mut w, thread).unwrap_err().code, 160005, "locked: no Manage Threads, no message");
        let edit = |w: &mut World| thread_accepts_edit(w, thread, w.bot_user_id);
        assert_eq!(edit(&mut w).unwrap_err().code, 160005, "nor an edit");
        // Archived (not locked): a message unarchives it, with THREAD_UPDATE.
        w.channels.get_mut(&thread).unwrap().locked = false;
        w.channels.get_mut(&thread).unwrap().archived = true;
        assert_eq!(edit(&mut w).unwrap_err().code, 50083, "no edits in an archived thread");
        w.pending_events.clear();
        post(&mut w, thread).expect("a message unarchives the thread");
        assert!(!w.channels[&thread].archived);
        let names: Vec<&str> = w.pending_events.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["THREAD_UPDATE", "MESSAGE_CREATE"]);
        assert_eq!(w.pending_events[0].1["thread_metadata"]["archived"], json!(false));
        // Archived and locked: the message does not unarchive it.
        w.channels.get_mut(&thread).unwrap().archived = true;
        w.channels.get_mut(&thread).unwrap().locked = true;
        let before = w.channel_messages(thread).len();
        assert_eq!(post(&mut w, thread).unwrap_err().code, 160005);
        assert!(w.channels[&thread].archived && w.channel_messages(thread).len() == before);
        // With Manage Threads the bot posts in a locked (active) thread.
        let (mut w, staff) = world_with(|_, _| vec![]);
        let thread = start(&mut w, staff, None, json!({"name": "t", "type": 11})).unwrap();
        w.channels.get_mut(&thread).unwrap().locked = true;
        post(&mut w, thread).expect("a moderator posts in a locked thread");
        assert!(thread_accepts_edit(&w, thread, w.bot_user_id).is_ok());
        w.channels.get_mut(&thread).unwrap().archived = true;
        assert_eq!(post(&mut w, thread).unwrap_err().code, 50083, "locked and archived stays archived");
    }

    /// threads.md: "Private threads are always created with the
    /// `GUILD_PRIVATE_THREAD` type and can only be created in `GUILD_TEXT`
    /// channels"; channel.md, Start Thread in Forum: "The type of the created
    /// thread is `PUBLIC_THREAD`".
    #[test]
    fn private_threads_are_made_in_text_channels_only() {
        let (mut w, ideas) = world_with(|_, _| vec![]);
        w.channels.get_mut(&ideas).unwrap().kind = channel_type::FORUM;
        let private_post = json!({"name": "secret", "type": 12, "message": {"content": "hi"}});
        assert_eq!(start(&mut w, ideas, None, private_post).unwrap_err().code, 50024);
        let bot = w.bot_user_id;
        assert_eq!(create_thread(&mut w, ideas, bot, "secret", None, true).unwrap_err().code, 50024);
        let t = start(&mut w, ideas, None, json!({"name": "open", "message": {"content": "hi"}})).unwrap();
        assert_eq!(w.channels[&t].kind, channel_type::PUBLIC_THREAD);
        // Nor in a category, or inside a thread.
        w.channels.get_mut(&ideas).unwrap().kind = channel_type::CATEGORY;
        assert_eq!(start(&mut w, ideas, None, json!({"name": "x", "type": 12})).unwrap_err().code, 50024);
        assert_eq!(start(&mut w, t, None, json!({"name": "x", "type": 12})).unwrap_err().code, 50024);
    }

    /// channel.md, Add/Remove Thread Member: each "Fires a Thread Members
    /// Update Gateway event" (gateway-events.md: `id`, `guild_id`,
    /// `member_count` "capped at 50", `added_members` with their guild
    /// member, `removed_member_ids`); adding a member already there "Returns
    /// a 204" (and changes nothing); opcodes-and-status-codes.md, 30033
    /// "Maximum number of thread participants has been reached (1000)".
    #[test]
    fn thread_members_come_and_go_with_thread_members_update_up_to_1000() {
        let (mut w, staff) = world_with(|_, _| vec![]);
        let gid = w.channels[&staff].guild_id.unwrap();
        let thread = start(&mut w, staff, None, json!({"name": "t", "type": 11})).unwrap();
        let alice = w.guilds[&gid].owner_id;
        w.pending_events.clear();
        add_thread_member(&mut w, thread, alice).unwrap();
        assert_eq!(w.pending_events.len(), 1);
        let (name, v) = w.pending_events.pop().unwrap();
        assert_eq!(name, "THREAD_MEMBERS_UPDATE");
        assert_eq!(v["member_count"], json!(2), "the bot that started it, and alice");
        assert_eq!(v["added_members"][0]["user_id"], json!(alice.to_string()));
        let e: serenity::model::event::ThreadMembersUpdateEvent = serde_json::from_value(v).expect("serenity reads it");
        assert_eq!(e.added_members[0].member.as_ref().map(|m| m.user.id.get()), Some(alice));
        add_thread_member(&mut w, thread, alice).unwrap();
        assert!(w.pending_events.is_empty(), "already a member: nothing changes");
        remove_thread_member(&mut w, thread, alice).unwrap();
        let (name, v) = w.pending_events.pop().unwrap();
        assert_eq!(name, "THREAD_MEMBERS_UPDATE");
        assert_eq!(v["removed_member_ids"], json!([alice.to_string()]));
        let e: serenity::model::event::ThreadMembersUpdateEvent = serde_json::from_value(v).expect("serenity reads it");
        assert_eq!(e.removed_member_ids[0].get(), alice);

        // A thread of 1,000 takes nobody else.
        for _ in 0..MAX_THREAD_MEMBERS - 1 {
            let u = w.snowflake();
            w.thread_members.get_mut(&thread).unwrap().insert(u);
        }
        assert_eq!(w.thread_members[&thread].len(), MAX_THREAD_MEMBERS);
        assert_eq!(add_thread_member(&mut w, thread, alice).unwrap_err().code, 30033);
        let bot = w.bot_user_id;
        add_thread_member(&mut w, thread, bot).expect("a member already in it is fine");
    }

    fn make(w: &mut World, gid: u64, body: Value) -> ApiResult<u64> {
        let (_, v) = create_channel(w, gid, &body)?;
        Ok(v.unwrap()["id"].as_str().unwrap().parse().unwrap())
    }

    /// channel.md, Channel Object: `parent_id`, "each parent category can
    /// contain up to 50 channels" (GUILD_CATEGORY: "contains up to 50
    /// channels"); opcodes-and-status-codes.md, 30013 "Maximum number of
    /// guild channels reached (500)"; threads.md, "Threads do not count
    /// against the max-channels limit in a guild".
    #[test]
    fn a_category_holds_50_channels_and_a_server_500_threads_aside() {
        let (mut w, staff) = world_with(|_, _| vec![]);
        let gid = w.channels[&staff].guild_id.unwrap();
        let cat = make(&mut w, gid, json!({"name": "Interest", "type": 4})).unwrap();
        for i in 0..50 {
            make(&mut w, gid, json!({"name": format!("c{i}"), "parent_id": cat.to_string()})).unwrap();
        }
        let e = make(&mut w, gid, json!({"name": "one-more", "parent_id": cat.to_string()})).unwrap_err();
        assert_eq!((e.status, e.code), (400, 50035), "{}", e.message);
        // Moving a channel into the full category is refused the same way.
        let e = edit_channel(&mut w, staff, &json!({"parent_id": cat.to_string()})).unwrap_err();
        assert_eq!(e.code, 50035);
        assert_eq!(w.channels[&staff].parent_id, None, "nothing moved");
        // Another category has room of its own.
        let other = make(&mut w, gid, json!({"name": "Other", "type": 4})).unwrap();
        for i in 0..3 {
            start(&mut w, staff, None, json!({"name": format!("t{i}"), "type": 11})).unwrap();
        }
        make(&mut w, gid, json!({"name": "fits", "parent_id": other.to_string()})).unwrap();

        // 500 channels in the server, threads aside.
        let count = |w: &World| {
            w.guilds[&gid]
                .channels
                .iter()
                .filter(|c| !matches!(w.channels[c].kind, channel_type::PUBLIC_THREAD | channel_type::PRIVATE_THREAD))
                .count()
        };
        while count(&w) < crate::world::MAX_GUILD_CHANNELS {
            make(&mut w, gid, json!({"name": "filler"})).unwrap();
        }
        assert!(w.guilds[&gid].channels.len() > crate::world::MAX_GUILD_CHANNELS, "threads are there too");
        assert_eq!(make(&mut w, gid, json!({"name": "501st"})).unwrap_err().code, 30013);
        start(&mut w, staff, None, json!({"name": "a thread still", "type": 11})).expect("threads don't count");
    }

    /// channel.md, Delete/Close Channel: "Deleting a category does not
    /// delete its child channels; they will have their parent_id removed and
    /// a Channel Update Gateway event will fire for each of them"; a
    /// channel's threads go with it (server.rs has the same for the client's
    /// deletes; this is the bot's DELETE /channels/{id}).
    #[test]
    fn the_bots_delete_of_a_category_moves_its_children_out_and_of_a_channel_takes_its_threads() {
        let (mut w, staff) = world_with(|_, _| vec![]);
        let gid = w.channels[&staff].guild_id.unwrap();
        let cat = make(&mut w, gid, json!({"name": "Interest", "type": 4})).unwrap();
        let rust = make(&mut w, gid, json!({"name": "rust", "parent_id": cat.to_string()})).unwrap();
        let thread = start(&mut w, rust, None, json!({"name": "t", "type": 11})).unwrap();
        post(&mut w, thread).unwrap();
        w.pending_events.clear();
        delete_channel(&mut w, cat).unwrap();
        let names: Vec<&str> = w.pending_events.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["CHANNEL_UPDATE", "CHANNEL_DELETE"]);
        assert!(w.pending_events[0].1["parent_id"].is_null());
        assert_eq!(w.channels[&rust].parent_id, None);
        assert!(w.channels.contains_key(&thread), "the category's channel keeps its thread");
        w.pending_events.clear();
        delete_channel(&mut w, rust).unwrap();
        assert!(!w.channels.contains_key(&thread) && w.channel_messages(thread).is_empty());
        assert!(!w.guilds[&gid].channels.contains(&thread));
        let names: Vec<&str> = w.pending_events.iter().map(|(n, _)| n.as_str()).collect();
        assert_eq!(names, ["CHANNEL_DELETE"]);
    }

    fn reply_to(w: &mut World, channel: u64, reference: Value) -> ApiResult<Value> {
        let bot = w.bot_user_id;
        post_message(w, channel, bot, &json!({"content": "re", "message_reference": reference}), None)
    }

    /// message.md, Create Message, Limitations: "When creating a message as
    /// a reply to another message, the current user must have the
    /// `READ_MESSAGE_HISTORY` permission. The referenced message must exist
    /// and cannot be a system message." Message Reference Structure,
    /// `fail_if_not_exists`: "whether to error if the referenced message
    /// doesn't exist instead of sending as a normal (non-reply) message,
    /// default true".
    #[test]
    fn a_reply_needs_its_message_unless_fail_if_not_exists_is_false() {
        let (mut w, staff) = world_with(|_, _| vec![]);
        let card: u64 = post(&mut w, staff).unwrap()["id"].as_str().unwrap().parse().unwrap();
        let v = reply_to(&mut w, staff, json!({"message_id": card.to_string()})).expect("a reply to a message there");
        assert_eq!(v["type"], json!(19));
        let gone = w.snowflake();
        let before = w.channel_messages(staff).len();
        let e = reply_to(&mut w, staff, json!({"message_id": gone.to_string()})).unwrap_err();
        assert_eq!((e.status, e.code), (400, 50035));
        let e =
            reply_to(&mut w, staff, json!({"message_id": gone.to_string(), "fail_if_not_exists": true})).unwrap_err();
        assert_eq!(e.code, 50035);
        assert_eq!(w.channel_messages(staff).len(), before, "nothing posted");
        let v = reply_to(&mut w, staff, json!({"message_id": gone.to_string(), "fail_if_not_exists": false}))
            .expect("sent as a normal message");
        assert_eq!(v["type"], json!(0));
        assert!(v.get("message_reference").is_none_or(Value::is_null), "{v}");
        // A reply to a message of another channel is not a reply to one here.
        let gid = w.channels[&staff].guild_id.unwrap();
        let general = w.guilds[&gid].channels[0];
        assert_eq!(reply_to(&mut w, general, json!({"message_id": card.to_string()})).unwrap_err().code, 50035);
        // Not to a system message (a pin's notice).
        let owner = w.guilds[&gid].owner_id;
        let notice = w.snowflake();
        let mut pin = w.channel_messages(staff)[0].clone();
        (pin.id, pin.kind, pin.author_id, pin.reply_to) = (notice, 6, owner, Some(card));
        w.messages.get_mut(&staff).unwrap().push(pin);
        assert_eq!(reply_to(&mut w, staff, json!({"message_id": notice.to_string()})).unwrap_err().code, 50035);
        // Without Read Message History, no reply at all.
        let (mut w, staff) =
            world_with(|gid, _| vec![Overwrite { id: gid, kind: 0, allow: 0, deny: perms::READ_MESSAGE_HISTORY }]);
        let card: u64 = post(&mut w, staff).unwrap()["id"].as_str().unwrap().parse().unwrap();
        assert_eq!(reply_to(&mut w, staff, json!({"message_id": card.to_string()})).unwrap_err().code, 160002);
    }

    /// message.md, Delete Message: "If operating on a guild channel and
    /// trying to delete a message that was not sent by the current user,
    /// this endpoint requires the `MANAGE_MESSAGES` permission."
    #[test]
    fn the_bot_deletes_its_own_messages_and_others_only_with_manage_messages() {
        let no_manage = |_, bot| vec![Overwrite { id: bot, kind: 1, allow: 0, deny: perms::MANAGE_MESSAGES }];
        let (mut w, staff) = world_with(no_manage);
        let gid = w.channels[&staff].guild_id.unwrap();
        let owner = w.guilds[&gid].owner_id;
        let theirs: u64 = post_message(&mut w, staff, owner, &json!({"content": "mine"}), None).unwrap()["id"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        let own: u64 = post(&mut w, staff).unwrap()["id"].as_str().unwrap().parse().unwrap();
        let path = |m: u64| vec!["channels".to_string(), staff.to_string(), "messages".to_string(), m.to_string()];
        let delete = |w: &mut World, m: u64| {
            let segs = path(m);
            let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
            let r = Request {
                method: "DELETE",
                segs: &segs,
                query: &[],
                body: None,
                reason: None,
                ws_url: String::new(),
                files: &[],
            };
            route(w, &r)
        };
        assert_eq!(delete(&mut w, theirs).unwrap_err().code, 50013, "another user's message needs Manage Messages");
        assert!(w.find_message(theirs).is_some());
        delete(&mut w, own).expect("its own, always");
        assert!(w.find_message(own).is_none());
        w.channels.get_mut(&staff).unwrap().overwrites.clear();
        delete(&mut w, theirs).expect("with Manage Messages");
        assert!(w.find_message(theirs).is_none());
    }
}
