//! Discord-shaped JSON for the fake's objects: what REST returns and what the
//! gateway dispatches. Every shape here is unit-tested to deserialize into
//! serenity's model (see `tests` at the bottom), since serenity silently drops
//! an event it cannot parse.

use crate::world::{channel_type, Channel, Guild, Member, Message, Role, User, World};
use serde_json::{json, Value};

pub fn timestamp(dt: chrono::DateTime<chrono::Utc>) -> String {
    dt.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

pub fn snowflake_time(id: u64) -> chrono::DateTime<chrono::Utc> {
    let ms = (id >> 22) as i64 + crate::world::DISCORD_EPOCH_MS;
    chrono::DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

pub fn user(u: &User) -> Value {
    json!({
        "id": u.id.to_string(),
        "username": u.username,
        "global_name": u.username,
        "discriminator": "0",
        "avatar": null,
        "bot": u.bot,
        "public_flags": 0,
    })
}

pub fn member(w: &World, m: &Member) -> Value {
    let u = w.users.get(&m.user_id).map(user).unwrap_or(Value::Null);
    json!({
        "user": u,
        "nick": null,
        "avatar": null,
        "roles": m.roles.iter().map(|r| r.to_string()).collect::<Vec<_>>(),
        "joined_at": timestamp(m.joined_at),
        "deaf": false,
        "mute": false,
        "flags": 0,
        "pending": false,
    })
}

/// A member as it appears in an interaction (with permissions).
/// A member as an interaction carries it: Discord adds `permissions`, "total
/// permissions of the member in the channel, including overwrites" (the
/// channel the interaction came from).
pub fn interaction_member(w: &World, channel_id: u64, m: &Member) -> Value {
    let mut v = member(w, m);
    v["permissions"] = json!(w.channel_permissions(channel_id, m.user_id).to_string());
    v
}

pub fn role(r: &Role) -> Value {
    json!({
        "id": r.id.to_string(),
        "name": r.name,
        "color": r.color,
        "colors": {"primary_color": r.color, "secondary_color": null, "tertiary_color": null},
        "hoist": r.hoist,
        "icon": null,
        "unicode_emoji": null,
        "position": r.position,
        "permissions": r.permissions.to_string(),
        "managed": r.managed,
        "mentionable": r.mentionable,
        "flags": 0,
    })
}

pub fn channel(c: &Channel) -> Value {
    let mut v = json!({
        "id": c.id.to_string(),
        "type": c.kind,
        "name": c.name,
        "position": c.position,
        "permission_overwrites": c.overwrites.iter().map(|o| json!({
            "id": o.id.to_string(), "type": o.kind,
            "allow": o.allow.to_string(), "deny": o.deny.to_string(),
        })).collect::<Vec<_>>(),
        "nsfw": false,
        "flags": 0,
    });
    if let Some(g) = c.guild_id {
        v["guild_id"] = json!(g.to_string());
    }
    v["parent_id"] = json!(c.parent_id.map(|p| p.to_string()));
    if let Some(t) = &c.topic {
        v["topic"] = json!(t);
    }
    match c.kind {
        channel_type::DM => {
            v["recipients"] = json!([{"id": c.owner_id.unwrap_or(0).to_string(), "username": "dm"}]);
            v.as_object_mut().map(|o| o.remove("name"));
        }
        channel_type::PUBLIC_THREAD | channel_type::PRIVATE_THREAD => {
            v["owner_id"] = json!(c.owner_id.map(|o| o.to_string()));
            v["thread_metadata"] = json!({
                "archived": c.archived, "locked": c.locked,
                "auto_archive_duration": 10080,
                "archive_timestamp": timestamp(snowflake_time(c.id)),
            });
            v["message_count"] = json!(0);
            v["member_count"] = json!(1);
        }
        channel_type::FORUM => {
            v["available_tags"] = json!([]);
            v["default_sort_order"] = Value::Null;
        }
        _ => {}
    }
    v
}

/// An attachment object (message.md, Attachment Structure). `url` has the
/// shape of Discord's CDN links; the fake keeps the bytes on the message.
pub fn attachment(channel_id: u64, a: &crate::world::Attachment) -> Value {
    let url = format!("https://cdn.discordapp.com/attachments/{channel_id}/{}/{}", a.id, a.filename);
    let mut v = json!({
        "id": a.id.to_string(),
        "filename": a.filename,
        "size": a.size(),
        "url": url,
        "proxy_url": url.replace("cdn.discordapp.com", "media.discordapp.net"),
        "content_type": a.content_type,
    });
    if let Some(d) = &a.description {
        v["description"] = json!(d);
    }
    if let Some((w, h)) = png_size(&a.bytes) {
        v["width"] = json!(w);
        v["height"] = json!(h);
    }
    v
}

/// "height of file (if image ...)", "width of file": a PNG's size from its
/// IHDR chunk.
fn png_size(b: &[u8]) -> Option<(u32, u32)> {
    if b.len() < 24 || &b[..8] != b"\x89PNG\r\n\x1a\n" || &b[12..16] != b"IHDR" {
        return None;
    }
    let be = |i: usize| u32::from_be_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]);
    Some((be(16), be(20)))
}

pub fn message(w: &World, m: &Message) -> Value {
    let author = w.users.get(&m.author_id).map(user).unwrap_or(Value::Null);
    let mut v = json!({
        "id": m.id.to_string(),
        "channel_id": m.channel_id.to_string(),
        "author": author,
        "content": m.content,
        "timestamp": timestamp(snowflake_time(m.id)),
        "edited_timestamp": null,
        "tts": false,
        "mention_everyone": false,
        "mentions": [],
        "mention_roles": [],
        "attachments": m.attachments.iter().map(|a| attachment(m.channel_id, a)).collect::<Vec<_>>(),
        "embeds": m.embeds,
        "components": m.components,
        "pinned": false,
        "type": 0,
        "flags": m.flags,
    });
    if let Some(g) = w.channels.get(&m.channel_id).and_then(|c| c.guild_id) {
        v["guild_id"] = json!(g.to_string());
    }
    v["type"] = json!(m.kind);
    if let Some(r) = m.reply_to {
        // A reply (type 19) names the message it answers, a pin notice
        // (type 6) the pinned one, a forward (reference type 1) the
        // forwarded one, maybe in another channel.
        let channel = m.reference_channel.unwrap_or(m.channel_id);
        v["message_reference"] =
            json!({"type": m.reference_type, "message_id": r.to_string(), "channel_id": channel.to_string()});
        if let Some(g) = w.channels.get(&channel).and_then(|c| c.guild_id) {
            v["message_reference"]["guild_id"] = json!(g.to_string());
        }
        if m.reference_type == 1 {
            // Forwards carry a snapshot of the forwarded message.
            if let Some(o) = w.find_message(r) {
                v["message_snapshots"] = json!([{"message": {
                    "type": o.kind, "content": o.content, "embeds": o.embeds, "attachments": [],
                    "timestamp": timestamp(snowflake_time(o.id)), "edited_timestamp": null, "flags": o.flags,
                    "mentions": [], "mention_roles": [],
                }}]);
            }
        }
    }
    // The roles the content mentions (`<@&id>`), pinged or not.
    let roles: Vec<String> = m
        .content
        .split("<@&")
        .skip(1)
        .filter_map(|rest| rest.split_once('>').map(|(id, _)| id))
        .filter(|id| !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()))
        .map(String::from)
        .collect();
    v["mention_roles"] = json!(roles);
    v
}

/// GUILD_CREATE as a session with `intents` and `large_threshold` gets it
/// (gateway-events.md, Request Guild Members): without GUILD_PRESENCES only
/// the connecting user's own member is listed (no one is in voice here);
/// with it, a guild over `large_threshold` lists no offline members (the
/// fake has no presences, so: only the bot). `large` says whether the guild
/// is over the threshold. A bot must page through List Guild Members (or
/// request members) to see everyone.
pub fn guild_create_for(w: &World, g: &Guild, intents: u64, large_threshold: u64) -> Value {
    const GUILD_PRESENCES: u64 = 1 << 8;
    let mut v = guild_create(w, g);
    let large = g.members.len() as u64 > large_threshold;
    if intents & GUILD_PRESENCES == 0 || large {
        let own: Vec<Value> = g.members.get(&w.bot_user_id).map(|m| member(w, m)).into_iter().collect();
        v["members"] = json!(own);
    }
    v["large"] = json!(large);
    v
}

pub fn guild_create(w: &World, g: &Guild) -> Value {
    let channels: Vec<Value> = g
        .channels
        .iter()
        .filter_map(|id| w.channels.get(id))
        .filter(|c| !matches!(c.kind, channel_type::PUBLIC_THREAD | channel_type::PRIVATE_THREAD))
        .map(channel)
        .collect();
    let threads: Vec<Value> = g
        .channels
        .iter()
        .filter_map(|id| w.channels.get(id))
        .filter(|c| matches!(c.kind, channel_type::PUBLIC_THREAD | channel_type::PRIVATE_THREAD))
        .filter(|c| !c.archived)
        .map(channel)
        .collect();
    let mut v = partial_guild(g);
    let o = v.as_object_mut().expect("object");
    o.insert("joined_at".into(), json!(timestamp(snowflake_time(g.id))));
    o.insert("large".into(), json!(false));
    o.insert("unavailable".into(), json!(false));
    o.insert("member_count".into(), json!(g.members.len()));
    o.insert("voice_states".into(), json!([]));
    o.insert("members".into(), json!(g.members.values().map(|m| member(w, m)).collect::<Vec<_>>()));
    o.insert("channels".into(), json!(channels));
    o.insert("threads".into(), json!(threads));
    o.insert("presences".into(), json!([]));
    o.insert("stage_instances".into(), json!([]));
    o.insert("guild_scheduled_events".into(), json!([]));
    v
}

/// `GET /guilds/{id}`'s answer.
pub fn partial_guild(g: &Guild) -> Value {
    json!({
        "id": g.id.to_string(),
        "name": g.name,
        "icon": null, "icon_hash": null, "splash": null, "discovery_splash": null,
        "owner_id": g.owner_id.to_string(),
        "afk_channel_id": null, "afk_timeout": 300,
        "widget_enabled": false, "widget_channel_id": null,
        "verification_level": 0,
        "default_message_notifications": 0,
        "explicit_content_filter": 0,
        "roles": g.roles.iter().map(role).collect::<Vec<_>>(),
        "emojis": [],
        "features": if g.forums_available { json!(["COMMUNITY"]) } else { json!([]) },
        "mfa_level": 0,
        "application_id": null,
        "system_channel_id": null, "system_channel_flags": 0,
        "rules_channel_id": null,
        "max_presences": null, "max_members": 500000,
        "vanity_url_code": null, "description": null, "banner": null,
        "premium_tier": 0, "premium_subscription_count": 0,
        "preferred_locale": "en-US",
        "public_updates_channel_id": null,
        "max_video_channel_users": 25, "max_stage_video_channel_users": 50,
        "nsfw_level": 0,
        "stickers": [],
        "premium_progress_bar_enabled": false,
        "safety_alerts_channel_id": null,
    })
}

/// READY for a session on `shard` ([id, count]): its `guilds` are the
/// guilds of that shard only (topics/gateway, "Sharding").
pub fn ready(w: &World, session_id: &str, shard: [u64; 2], guilds: &[u64], resume_gateway_url: &str) -> Value {
    let bot = w.users.get(&w.bot_user_id).map(user).unwrap_or(Value::Null);
    let mut me = bot;
    me["verified"] = json!(true);
    me["mfa_enabled"] = json!(false);
    me["flags"] = json!(0);
    json!({
        "v": 10,
        "user": me,
        "guilds": guilds.iter().map(|id| json!({"id": id.to_string(), "unavailable": true})).collect::<Vec<_>>(),
        "session_id": session_id,
        "resume_gateway_url": resume_gateway_url,
        "shard": shard,
        "application": {"id": w.application_id.to_string(), "flags": 0},
        "private_channels": [],
        "presences": [],
    })
}

pub fn application(w: &World) -> Value {
    let owner = w.guilds.values().next().and_then(|g| w.users.get(&g.owner_id)).map(user).unwrap_or(Value::Null);
    json!({
        "id": w.application_id.to_string(),
        "name": "Guildhall",
        "icon": null,
        "description": "",
        "bot_public": true,
        "bot_require_code_grant": false,
        "verify_key": "0".repeat(64),
        "flags": 0,
        "owner": owner,
        "team": null,
        "summary": "",
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::{self, Overwrite, World};
    use serenity::model::prelude as sm;

    fn sample() -> (World, u64) {
        let mut w = World::new();
        let gid = crate::server::seed_guild(&mut w, "Test");
        (w, gid)
    }

    #[test]
    fn guild_create_deserializes_into_serenity_guild() {
        let (w, gid) = sample();
        let v = guild_create(&w, &w.guilds[&gid]);
        let g: sm::Guild = serde_json::from_value(v).expect("serenity Guild");
        assert_eq!(g.id.get(), gid);
        assert!(g.members.contains_key(&sm::UserId::new(w.bot_user_id)));
    }

    #[test]
    fn partial_guild_deserializes() {
        let (w, gid) = sample();
        let _: sm::PartialGuild = serde_json::from_value(partial_guild(&w.guilds[&gid])).expect("PartialGuild");
    }

    #[test]
    fn channels_of_every_kind_deserialize() {
        let mut w = World::new();
        for kind in [0u8, 4, 11, 15] {
            let c = world::Channel {
                id: w.snowflake(),
                guild_id: Some(1),
                kind,
                name: "x".into(),
                parent_id: Some(2),
                position: 0,
                topic: Some("t".into()),
                overwrites: vec![Overwrite { id: 1, kind: 0, allow: 1024, deny: 0 }],
                owner_id: Some(3),
                archived: false,
                locked: false,
            };
            let gc: sm::GuildChannel = serde_json::from_value(channel(&c)).expect("GuildChannel");
            assert_eq!(gc.id.get(), c.id);
        }
        let dm = world::Channel {
            id: w.snowflake(),
            guild_id: None,
            kind: 1,
            name: String::new(),
            parent_id: None,
            position: 0,
            topic: None,
            overwrites: vec![],
            owner_id: Some(5),
            archived: false,
            locked: false,
        };
        let _: sm::PrivateChannel = serde_json::from_value(channel(&dm)).expect("PrivateChannel");
    }

    #[test]
    fn message_role_member_ready_application_deserialize() {
        let (w, gid) = sample();
        let g = &w.guilds[&gid];
        for r in &g.roles {
            let _: sm::Role = serde_json::from_value(role(r)).expect("Role");
        }
        for m in g.members.values() {
            let _: sm::Member = serde_json::from_value(member(&w, m)).expect("Member");
        }
        let msg = world::Message {
            id: 99 << 22,
            channel_id: 5,
            author_id: w.bot_user_id,
            content: "hi".into(),
            embeds: json!([{"title": "t", "description": "d"}]),
            components: json!([{"type": 1, "components": [{"type": 2, "style": 1, "label": "Go", "custom_id": "x"}]}]),
            allowed_mentions: json!({}),
            flags: 0,
            edited: false,
            interaction_id: None,
            reply_to: Some(98 << 22),
            kind: 19,
            reference_type: 0,
            reference_channel: None,
            pinged: Default::default(),
            attachments: vec![world::Attachment {
                id: 97 << 22,
                filename: "stats.png".into(),
                description: Some("chart".into()),
                content_type: "image/png".into(),
                bytes: vec![1, 2, 3],
            }],
        };
        let parsed: serenity::model::channel::Message = serde_json::from_value(message(&w, &msg)).expect("Message");
        assert_eq!(parsed.attachments.len(), 1);
        assert_eq!(parsed.attachments[0].filename, "stats.png");
        assert_eq!(parsed.attachments[0].size, 3);
        assert_eq!(parsed.attachments[0].content_type.as_deref(), Some("image/png"));
        // A pin notice and a forward (of a stored message) parse as Discord's.
        let mut w = w;
        w.messages.entry(5).or_default().push(world::Message { id: 98 << 22, reply_to: None, kind: 0, ..msg.clone() });
        let pin = world::Message { id: 100 << 22, kind: 6, ..msg.clone() };
        let m: serenity::model::channel::Message = serde_json::from_value(message(&w, &pin)).expect("pin");
        assert_eq!(m.kind, serenity::model::channel::MessageType::PinsAdd);
        assert_eq!(m.message_reference.and_then(|r| r.message_id).map(|i| i.get()), Some(98 << 22));
        let fwd = world::Message {
            id: 101 << 22,
            channel_id: 6,
            kind: 0,
            reference_type: 1,
            reference_channel: Some(5),
            ..msg
        };
        let v = message(&w, &fwd);
        assert_eq!(v["message_snapshots"][0]["message"]["content"], "hi");
        let m: serenity::model::channel::Message = serde_json::from_value(v).expect("forward");
        let r = m.message_reference.expect("a reference");
        assert_eq!((r.kind, r.channel_id.get()), (serenity::model::channel::MessageReferenceKind::Forward, 5));
        let _: sm::Ready =
            serde_json::from_value(ready(&w, "abc", [1, 2], &[gid], "ws://127.0.0.1:1/gateway/resume")).expect("Ready");
        let _: sm::CurrentApplicationInfo = serde_json::from_value(application(&w)).expect("app info");
    }
}
