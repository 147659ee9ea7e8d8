//! The scenario API: users, admins and what they do in Discord's client
//! (slash commands, autocomplete, buttons, selects, modals), and what they see.
//!
//! Each action sends the INTERACTION_CREATE Discord would send, then waits for
//! the bot's answer: an answer later than 3 s, or a second initial answer, is
//! a violation and fails the test.

use crate::payload;
use crate::server::FakeDiscord;
use crate::world::{channel_type, perms, ApiError, Interaction, Member, Message, User, World};
use serde_json::{json, Value};
use std::time::{Duration, Instant};

/// Someone in the guild, acting through Discord's client.
#[derive(Clone)]
pub struct Actor {
    pub fake: FakeDiscord,
    pub user_id: u64,
    pub guild_id: u64,
    pub name: String,
}

/// A button or select as a user sees it.
#[derive(Clone, Debug)]
pub struct Component {
    pub kind: u64,
    pub label: String,
    pub custom_id: String,
    pub disabled: bool,
    pub style: u64,
    pub url: Option<String>,
    /// Select options: (label, value).
    pub options: Vec<(String, String)>,
    pub placeholder: String,
}

/// A modal the bot opened.
#[derive(Clone, Debug)]
pub struct Modal {
    pub custom_id: String,
    pub title: String,
    /// (custom_id, label, required, max_length)
    pub fields: Vec<(String, String, bool, Option<u64>)>,
    /// (custom_id, min_length) of the inputs that set one.
    pub min_lengths: Vec<(String, u64)>,
    /// (custom_id, value) of the inputs the bot filled in (`value`).
    pub values: Vec<(String, String)>,
    /// The message the modal came from (component interactions).
    pub source_message: Option<u64>,
    /// The channel it was opened in: its submission comes from there, as
    /// in Discord (`None`: #general).
    pub channel_id: Option<u64>,
}

impl Modal {
    /// What Discord's client refuses to submit, for the inputs the modal
    /// declares (a modal a test forges declares none: nothing to hold it
    /// to): a required input left empty, a value outside its lengths, a
    /// value for an input the form doesn't have.
    pub fn client_check(&self, values: &[(&str, &str)]) -> Result<(), String> {
        if self.fields.is_empty() {
            return Ok(());
        }
        for (id, v) in values {
            if !self.fields.iter().any(|f| f.0 == *id) {
                return Err(format!("the form has no input {id:?}"));
            }
            let n = v.chars().count() as u64;
            let label = &self.fields.iter().find(|f| f.0 == *id).expect("found above").1;
            if let Some(max) = self.fields.iter().find(|f| f.0 == *id).and_then(|f| f.3).filter(|max| n > *max) {
                return Err(format!("{label}: at most {max} characters"));
            }
            let min = self.min_lengths.iter().find(|(m, _)| m == id).map(|(_, min)| *min);
            if let Some(min) = min.filter(|min| n > 0 && n < *min) {
                return Err(format!("{label}: at least {min} characters"));
            }
        }
        for (id, label, required, _) in &self.fields {
            let filled = values.iter().any(|(v_id, v)| v_id == id && !v.is_empty());
            if *required && !filled {
                return Err(format!("{label}: this field is required"));
            }
        }
        Ok(())
    }
}

impl FakeDiscord {
    /// A new Discord user (not a member of any guild). `account_age_days`
    /// sets how old the account is (its snowflake's timestamp).
    pub fn add_user(&self, name: &str, account_age_days: i64, dms_open: bool) -> u64 {
        self.mutate(|w| {
            let ms = chrono::Utc::now().timestamp_millis() - account_age_days * 86_400_000;
            let id = w.snowflake_at(ms);
            w.users.insert(id, User { id, username: name.to_string(), bot: false, dms_open });
            id
        })
    }

    /// A user joins the guild (GUILD_MEMBER_ADD), `days_in_server` ago.
    pub fn join_guild(&self, user_id: u64, days_in_server: i64) {
        let gid = self.guild_id;
        self.mutate(|w| {
            let m = Member {
                user_id,
                roles: vec![],
                joined_at: chrono::Utc::now() - chrono::Duration::days(days_in_server),
            };
            let mut v = payload::member(w, &m);
            v["guild_id"] = json!(gid.to_string());
            w.guilds.get_mut(&gid).expect("guild").members.insert(user_id, m);
            w.emit("GUILD_MEMBER_ADD", v);
        });
    }

    /// `n` members who were in the guild before anyone started watching (no
    /// GUILD_MEMBER_ADD is sent): a big server's existing population.
    /// Returns their ids, in id order.
    pub fn seed_members(&self, prefix: &str, n: usize) -> Vec<u64> {
        let gid = self.guild_id;
        self.mutate(|w| {
            let joined = chrono::Utc::now() - chrono::Duration::days(60);
            (0..n)
                .map(|i| {
                    let id = w.snowflake_at(chrono::Utc::now().timestamp_millis() - 400 * 86_400_000);
                    let name = format!("{prefix}{i}");
                    w.users.insert(id, User { id, username: name, bot: false, dms_open: true });
                    let m = Member { user_id: id, roles: vec![], joined_at: joined };
                    w.guilds.get_mut(&gid).expect("guild").members.insert(id, m);
                    id
                })
                .collect()
        })
    }

    /// A member leaves the guild (GUILD_MEMBER_REMOVE).
    pub fn leave_guild(&self, user_id: u64) {
        let gid = self.guild_id;
        self.mutate(|w| {
            let user = w.users.get(&user_id).map(payload::user).unwrap_or(Value::Null);
            if let Some(g) = w.guilds.get_mut(&gid) {
                g.members.remove(&user_id);
            }
            w.emit("GUILD_MEMBER_REMOVE", json!({"guild_id": gid.to_string(), "user": user}));
        });
    }

    /// A member with a year-old account who joined 30 days ago, DMs open.
    pub fn member(&self, name: &str) -> Actor {
        let id = self.add_user(name, 365, true);
        self.join_guild(id, 30);
        self.actor(id)
    }

    /// A member holding the seeded "Admins" role (Manage Server).
    pub fn admin(&self, name: &str) -> Actor {
        let a = self.member(name);
        let admins = self.role_named("Admins").expect("Admins role").id;
        self.give_role(a.user_id, admins);
        a
    }

    /// The guild's owner.
    pub fn owner(&self) -> Actor {
        let id = self.with(|w| w.guilds[&self.guild_id].owner_id);
        self.actor(id)
    }

    pub fn actor(&self, user_id: u64) -> Actor {
        let name = self.with(|w| w.users.get(&user_id).map(|u| u.username.clone()).unwrap_or_default());
        Actor { fake: self.clone(), user_id, guild_id: self.guild_id, name }
    }

    /// An admin hands a role to a member in Discord's client (no bot
    /// involved); the guild's owner is the one who did it in the audit log.
    pub fn give_role(&self, user_id: u64, role_id: u64) {
        let owner = self.owner().user_id;
        self.set_member_role(owner, user_id, role_id, true)
    }

    pub fn take_role(&self, user_id: u64, role_id: u64) {
        let owner = self.owner().user_id;
        self.set_member_role(owner, user_id, role_id, false)
    }

    /// `actor` gives or takes a member's role in Discord's client: the change
    /// and who made it are in the guild's audit log (MEMBER_ROLE_UPDATE).
    pub fn set_member_role(&self, actor: u64, user_id: u64, role_id: u64, add: bool) {
        let gid = self.guild_id;
        self.mutate(|w| {
            w.log_role_update(gid, actor, user_id, role_id, add);
            let g = w.guilds.get_mut(&gid).expect("guild");
            let m = g.members.get_mut(&user_id).expect("member");
            m.roles.retain(|r| *r != role_id);
            if add {
                m.roles.push(role_id);
            }
            let m = m.clone();
            let mut v = payload::member(w, &m);
            v["guild_id"] = json!(gid.to_string());
            w.emit("GUILD_MEMBER_UPDATE", v);
        })
    }

    /// An admin creates a role by hand. Returns its id.
    pub fn create_role_by_hand(&self, name: &str, permissions: u64, managed: bool) -> u64 {
        let gid = self.guild_id;
        self.mutate(|w| {
            let id = w.snowflake();
            let g = w.guilds.get_mut(&gid).expect("guild");
            for r in g.roles.iter_mut().filter(|r| r.position >= 1) {
                r.position += 1;
            }
            let role = crate::world::Role {
                id,
                name: name.into(),
                color: 0,
                hoist: false,
                managed,
                mentionable: false,
                permissions,
                position: 1,
            };
            let v = payload::role(&role);
            g.roles.push(role);
            w.emit("GUILD_ROLE_CREATE", json!({"guild_id": gid.to_string(), "role": v}));
            id
        })
    }

    /// Move a role to `position` (others shift), as dragging it in the client.
    pub fn move_role(&self, role_id: u64, position: i64) {
        let gid = self.guild_id;
        self.mutate(|w| {
            let g = w.guilds.get_mut(&gid).expect("guild");
            let mut order: Vec<u64> = {
                let mut rs: Vec<_> = g.roles.iter().filter(|r| r.id != gid && r.id != role_id).collect();
                rs.sort_by_key(|r| r.position);
                rs.iter().map(|r| r.id).collect()
            };
            let at = ((position - 1).max(0) as usize).min(order.len());
            order.insert(at, role_id);
            for (i, rid) in order.iter().enumerate() {
                if let Some(r) = g.roles.iter_mut().find(|r| r.id == *rid) {
                    r.position = i as i64 + 1;
                }
            }
            let roles: Vec<Value> = g.roles.iter().map(payload::role).collect();
            for r in roles {
                w.emit("GUILD_ROLE_UPDATE", json!({"guild_id": gid.to_string(), "role": r}));
            }
        })
    }

    /// An admin creates a channel by hand in Discord's client (no bot
    /// involved): CHANNEL_CREATE is emitted. Returns its id. Panics past
    /// Discord's limits (50 channels in a category, 500 in a server).
    pub fn create_channel_by_hand(
        &self,
        name: &str,
        kind: u8,
        parent_id: Option<u64>,
        overwrites: Vec<crate::world::Overwrite>,
    ) -> u64 {
        let gid = self.guild_id;
        self.mutate(|w| {
            if let Err(e) = w.channel_fits(gid, parent_id) {
                panic!("Discord would not make channel {name:?}: {}", e.message);
            }
            let id = w.snowflake();
            let position = w.guilds[&gid].channels.len() as i64;
            let ch = crate::world::Channel {
                id,
                guild_id: Some(gid),
                kind,
                name: name.to_string(),
                parent_id,
                position,
                topic: None,
                overwrites,
                owner_id: None,
                archived: false,
                locked: false,
            };
            let v = payload::channel(&ch);
            w.channels.insert(id, ch);
            w.guilds.get_mut(&gid).expect("guild").channels.push(id);
            w.emit("CHANNEL_CREATE", v);
            id
        })
    }

    /// An admin deletes a role in Server Settings: holders lose it, its
    /// channel overwrites go, GUILD_ROLE_DELETE is emitted.
    pub fn delete_role_by_hand(&self, role_id: u64) {
        let gid = self.guild_id;
        self.mutate(|w| w.remove_role(gid, role_id));
    }

    /// An admin deletes a channel or a category in Discord's client. A
    /// category's children are moved out of it (CHANNEL_UPDATE each), a
    /// channel's threads go with it. Returns whether it existed.
    pub fn delete_channel_by_hand(&self, channel_id: u64) -> bool {
        self.mutate(|w| w.remove_channel(channel_id).is_some())
    }

    /// An admin edits a role's permissions in Server Settings
    /// (GUILD_ROLE_UPDATE).
    pub fn edit_role_by_hand(&self, role_id: u64, permissions: u64) {
        let gid = self.guild_id;
        self.mutate(|w| {
            let g = w.guilds.get_mut(&gid).expect("guild");
            let r = g.roles.iter_mut().find(|r| r.id == role_id).expect("role");
            r.permissions = permissions;
            let v = payload::role(r);
            w.emit("GUILD_ROLE_UPDATE", json!({"guild_id": gid.to_string(), "role": v}));
        })
    }

    /// An admin sets a channel's permission overwrites in Edit Channel →
    /// Permissions (CHANNEL_UPDATE).
    pub fn edit_overwrites_by_hand(&self, channel_id: u64, overwrites: Vec<crate::world::Overwrite>) {
        self.mutate(|w| {
            let ch = w.channels.get_mut(&channel_id).expect("channel");
            ch.overwrites = overwrites;
            let v = payload::channel(ch);
            w.emit("CHANNEL_UPDATE", v);
        })
    }

    /// A user who was a member comes back (same user id): GUILD_MEMBER_ADD
    /// with no roles, as Discord gives a returning member.
    pub fn rejoin_guild(&self, user_id: u64) {
        self.join_guild(user_id, 0)
    }

    /// Someone deletes a message by hand in Discord's client: MESSAGE_DELETE
    /// is emitted. Returns whether the message existed.
    pub fn delete_message_by_hand(&self, message_id: u64) -> bool {
        self.mutate(|w| {
            let Some(channel_id) = w.find_message(message_id).map(|m| m.channel_id) else {
                return false;
            };
            w.messages.get_mut(&channel_id).expect("channel messages").retain(|m| m.id != message_id);
            let mut d = json!({"id": message_id.to_string(), "channel_id": channel_id.to_string()});
            if let Some(g) = w.channels.get(&channel_id).and_then(|c| c.guild_id) {
                d["guild_id"] = json!(g.to_string());
            }
            w.emit("MESSAGE_DELETE", d);
            true
        })
    }

    pub fn role_named(&self, name: &str) -> Option<crate::world::Role> {
        self.with(|w| w.guilds[&self.guild_id].roles.iter().find(|r| r.name == name).cloned())
    }

    pub fn channel_named(&self, name: &str) -> Option<crate::world::Channel> {
        self.with(|w| {
            w.guilds[&self.guild_id].channels.iter().filter_map(|c| w.channels.get(c)).find(|c| c.name == name).cloned()
        })
    }

    pub fn general_channel(&self) -> u64 {
        self.channel_named("general").expect("#general").id
    }

    /// The commands a member of this guild can use: this guild's own
    /// first, then the global ones. A command registered in another guild
    /// is not there ("Guild commands are specific to the guild you specify",
    /// application-commands).
    pub fn registered_commands(&self) -> Vec<Value> {
        let gid = self.guild_id;
        self.with(|w| {
            let mut v: Vec<_> = w.commands.iter().filter(|c| c.guild_id == Some(gid)).map(|c| c.body.clone()).collect();
            v.extend(w.commands.iter().filter(|c| c.guild_id.is_none()).map(|c| c.body.clone()));
            v
        })
    }

    /// Wait until the bot has registered its commands.
    pub async fn wait_for_commands(&self) {
        self.wait_until("commands registered", |w| !w.commands.is_empty()).await
    }
}

impl Actor {
    pub fn roles(&self) -> Vec<u64> {
        self.fake
            .with(|w| w.guilds[&self.guild_id].members.get(&self.user_id).map(|m| m.roles.clone()).unwrap_or_default())
    }

    pub fn has_role_named(&self, name: &str) -> bool {
        match self.fake.role_named(name) {
            Some(r) => self.roles().contains(&r.id),
            None => false,
        }
    }

    pub fn can_view(&self, channel_id: u64) -> bool {
        self.fake.with(|w| w.can_view(channel_id, self.user_id))
    }

    pub fn can_send(&self, channel_id: u64) -> bool {
        self.fake.with(|w| {
            let p = w.channel_permissions(channel_id, self.user_id);
            p & (crate::world::perms::SEND_MESSAGES | crate::world::perms::SEND_MESSAGES_IN_THREADS) != 0
        })
    }

    /// Messages the bot sent this user by DM.
    pub fn dms(&self) -> Vec<Message> {
        self.fake.with(|w| w.dm_channel_of(self.user_id).map(|c| w.channel_messages(c).to_vec()).unwrap_or_default())
    }

    pub async fn slash(&self, command: &str, options: &[(&str, &str)]) -> Reply {
        let ch = self.fake.general_channel();
        self.slash_in(ch, command, options).await
    }

    pub async fn slash_in(&self, channel_id: u64, command: &str, options: &[(&str, &str)]) -> Reply {
        self.try_slash_in(channel_id, command, options).await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// `slash_in`, or why Discord's client would not send it (no such
    /// command or option, a number option that is not a number, an unknown
    /// user, channel or role) instead of panicking: for the playground.
    pub async fn try_slash_in(
        &self,
        channel_id: u64,
        command: &str,
        options: &[(&str, &str)],
    ) -> Result<Reply, String> {
        let data = self.command_data(channel_id, command, options, None)?;
        Ok(self.send(2, channel_id, data, None).await)
    }

    /// Type into an option with autocomplete; returns the choices' names.
    pub async fn autocomplete(&self, command: &str, options: &[(&str, &str)], focused: &str) -> Vec<String> {
        self.try_autocomplete(command, options, focused).await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// `autocomplete`, or why the client would not ask (see `try_slash_in`).
    pub async fn try_autocomplete(
        &self,
        command: &str,
        options: &[(&str, &str)],
        focused: &str,
    ) -> Result<Vec<String>, String> {
        let ch = self.fake.general_channel();
        let data = self.command_data(ch, command, options, Some(focused))?;
        let r = self.send(4, ch, data, None).await;
        Ok(r.choices().into_iter().map(|(n, _)| n).collect())
    }

    /// Press a button on a message.
    pub async fn click(&self, message_id: u64, custom_id: &str) -> Reply {
        self.try_click(message_id, custom_id).await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// `click`, or why the client would not (no such message, another
    /// user's DM) instead of panicking.
    pub async fn try_click(&self, message_id: u64, custom_id: &str) -> Result<Reply, String> {
        let ch = self.try_channel_of(message_id)?;
        self.sees_dm(ch)?;
        let data = json!({"custom_id": custom_id, "component_type": 2});
        Ok(self.send(3, ch, data, Some(message_id)).await)
    }

    /// Choose values in a select menu on a message.
    pub async fn select(&self, message_id: u64, custom_id: &str, values: &[&str]) -> Reply {
        self.try_select(message_id, custom_id, values).await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// `select`, or why the client would not (see `try_click`).
    pub async fn try_select(&self, message_id: u64, custom_id: &str, values: &[&str]) -> Result<Reply, String> {
        let ch = self.try_channel_of(message_id)?;
        let data = json!({"custom_id": custom_id, "component_type": 3, "values": values});
        Ok(self.send(3, ch, data, Some(message_id)).await)
    }

    /// Use a message context-menu command (Apps > `name`) on a message:
    /// an APPLICATION_COMMAND interaction with `data.type` 3, the message as
    /// `target_id` and in `resolved.messages`, sent from the message's channel.
    pub async fn message_command(&self, name: &str, message_id: u64) -> Reply {
        self.try_message_command(name, message_id).await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// `message_command`, or why the client would not (no such command or
    /// message) instead of panicking.
    pub async fn try_message_command(&self, name: &str, message_id: u64) -> Result<Reply, String> {
        let def = self
            .fake
            .registered_commands()
            .into_iter()
            .find(|c| c["name"] == name && c["type"].as_u64() == Some(3))
            .ok_or_else(|| format!("no registered message command {name:?}"))?;
        let ch = self.try_channel_of(message_id)?;
        let msg = self
            .fake
            .with(|w| w.find_message(message_id).map(|m| payload::message(w, m)))
            .ok_or("That message no longer exists.")?;
        let mut data = json!({
            "id": def["id"], "name": name, "type": 3, "target_id": message_id.to_string(),
            "resolved": {"messages": {message_id.to_string(): msg}},
        });
        if let Some(g) = def.get("guild_id") {
            data["guild_id"] = g.clone();
        }
        Ok(self.send(2, ch, data, None).await)
    }

    /// Start a topic as this user: a forum post in a forum channel (title and
    /// first message), a public thread with a first message in a text
    /// channel. Emits THREAD_CREATE and MESSAGE_CREATE as Discord does; panics
    /// when the user may not (Send Messages in a forum, Create Public Threads
    /// in a text channel, both needing View Channel): see `try_create_topic`.
    pub fn create_topic(&self, channel_id: u64, title: &str, content: &str) -> u64 {
        self.try_create_topic(channel_id, title, content)
            .unwrap_or_else(|e| panic!("{} may not start a topic in {channel_id}: {}", self.name, e.message))
    }

    /// `create_topic`, refused as Discord refuses it instead of panicking
    /// (for the playground, where a person may try anything).
    pub fn try_create_topic(&self, channel_id: u64, title: &str, content: &str) -> Result<u64, ApiError> {
        let uid = self.user_id;
        self.fake.mutate(|w| {
            let kind = w.channel(channel_id)?.kind;
            let p = w.channel_permissions(channel_id, uid);
            let needed = if kind == channel_type::FORUM {
                crate::world::perms::SEND_MESSAGES
            } else {
                crate::world::perms::CREATE_PUBLIC_THREADS
            };
            if p & crate::world::perms::VIEW_CHANNEL == 0 || p & needed == 0 {
                return Err(ApiError::missing_permissions());
            }
            crate::rest::create_thread(w, channel_id, uid, title, Some(&json!({"content": content})), false)
        })
    }

    /// Post a message as this user, optionally replying to `reply_to`;
    /// emits MESSAGE_CREATE. Panics when the user may not send there, or
    /// Discord refuses the message (a forum takes topics only): see
    /// `try_post_message`.
    pub fn post_message(&self, channel_id: u64, content: &str, reply_to: Option<u64>) -> u64 {
        self.try_post_message(channel_id, content, reply_to)
            .unwrap_or_else(|e| panic!("{} may not post in {channel_id}: {}", self.name, e.message))
    }

    /// `post_message`, refused as Discord refuses it instead of panicking
    /// (for the playground, where a person may try anything).
    pub fn try_post_message(&self, channel_id: u64, content: &str, reply_to: Option<u64>) -> Result<u64, ApiError> {
        let uid = self.user_id;
        self.fake.mutate(|w| {
            let ch = w.channel(channel_id)?;
            let needed = if is_thread(ch.kind) {
                crate::world::perms::SEND_MESSAGES_IN_THREADS
            } else {
                crate::world::perms::SEND_MESSAGES
            };
            let p = w.channel_permissions(channel_id, uid);
            if p & crate::world::perms::VIEW_CHANNEL == 0 || p & needed == 0 {
                return Err(ApiError::missing_permissions());
            }
            let mut body = json!({"content": content});
            if let Some(r) = reply_to {
                body["message_reference"] = json!({"message_id": r.to_string()});
            }
            let v = crate::rest::post_message(w, channel_id, uid, &body, None)?;
            Ok(v["id"].as_str().and_then(|s| s.parse().ok()).expect("a posted message has an id"))
        })
    }

    /// Forward `message_id` (in `from_channel`) into `channel_id` as this
    /// user: a DEFAULT message whose `message_reference` is of type FORWARD
    /// and names the original channel, with a snapshot. Emits MESSAGE_CREATE.
    pub fn forward_message(&self, channel_id: u64, from_channel: u64, message_id: u64) -> u64 {
        let uid = self.user_id;
        assert!(self.can_view(from_channel), "{} may not read {from_channel}", self.name);
        assert!(self.can_send(channel_id), "{} may not post in {channel_id}", self.name);
        self.fake.mutate(|w| {
            let body = json!({"content": "", "message_reference": {
                "type": 1, "message_id": message_id.to_string(), "channel_id": from_channel.to_string(),
            }});
            let v = crate::rest::post_message(w, channel_id, uid, &body, None).expect("message forwarded");
            v["id"].as_str().and_then(|s| s.parse().ok()).expect("message id")
        })
    }

    /// Pin `message_id` in `channel_id` as this user, as from a client:
    /// Discord posts a CHANNEL_PINNED_MESSAGE (type 6) system message by
    /// the pinning user whose `message_reference` names the pinned message.
    /// Emits MESSAGE_CREATE.
    pub fn pin_message(&self, channel_id: u64, message_id: u64) -> u64 {
        let uid = self.user_id;
        self.fake.mutate(|w| {
            assert!(w.find_message(message_id).is_some_and(|m| m.channel_id == channel_id), "no such message");
            let p = w.channel_permissions(channel_id, uid);
            assert!(
                p & perms::VIEW_CHANNEL != 0 && p & perms::MANAGE_MESSAGES != 0,
                "{} may not pin in {channel_id}",
                self.name
            );
            let msg = crate::world::Message {
                id: w.snowflake(),
                channel_id,
                author_id: uid,
                content: String::new(),
                embeds: json!([]),
                components: json!([]),
                allowed_mentions: Value::Null,
                flags: 0,
                edited: false,
                interaction_id: None,
                reply_to: Some(message_id),
                kind: 6,
                reference_type: 0,
                reference_channel: None,
                pinged: Default::default(),
                attachments: vec![],
            };
            let id = msg.id;
            let v = crate::payload::message(w, &msg);
            w.messages.entry(channel_id).or_default().push(msg);
            w.emit("MESSAGE_CREATE", v);
            id
        })
    }

    /// Fill in and submit a modal.
    pub async fn submit(&self, modal: &Modal, values: &[(&str, &str)]) -> Reply {
        self.try_submit(modal, values).await.unwrap_or_else(|e| panic!("{e}"))
    }

    /// `submit`, or why the client would not (the message the form came
    /// from is gone, another user's DM) instead of panicking.
    pub async fn try_submit(&self, modal: &Modal, values: &[(&str, &str)]) -> Result<Reply, String> {
        modal.client_check(values)?;
        let rows: Vec<Value> = values
            .iter()
            .map(|(id, v)| json!({"type": 1, "components": [{"type": 4, "custom_id": id, "value": v}]}))
            .collect();
        let data = json!({"custom_id": modal.custom_id, "components": rows});
        let ch = match (modal.source_message, modal.channel_id) {
            (Some(m), _) => self.try_channel_of(m)?,
            (None, Some(c)) => c,
            (None, None) => self.fake.general_channel(),
        };
        self.sees_dm(ch)?;
        Ok(self.send(5, ch, data, modal.source_message).await)
    }

    /// Only a DM's recipient sees (and can press buttons in) a DM with the bot.
    fn sees_dm(&self, channel_id: u64) -> Result<(), String> {
        let owner =
            self.fake.with(|w| w.channels.get(&channel_id).filter(|c| c.kind == channel_type::DM).map(|c| c.owner_id));
        match owner {
            Some(owner) if owner != Some(self.user_id) => Err(format!("{} can't see another user's DMs", self.name)),
            _ => Ok(()),
        }
    }

    fn try_channel_of(&self, message_id: u64) -> Result<u64, String> {
        self.fake
            .with(|w| w.find_message(message_id).map(|m| m.channel_id))
            .ok_or_else(|| "That message no longer exists.".to_string())
    }

    fn channel_of(&self, message_id: u64) -> u64 {
        self.try_channel_of(message_id).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Build `data` for a chat-input command from the registered definition,
    /// or say why Discord's client would not send it.
    fn command_data(
        &self,
        channel_id: u64,
        command: &str,
        options: &[(&str, &str)],
        focused: Option<&str>,
    ) -> Result<Value, String> {
        let mut path = command.split_whitespace();
        let top = path.next().ok_or("Type a command after the /.")?;
        let def = self
            .fake
            .registered_commands()
            .into_iter()
            .find(|c| c["name"] == top && c["type"].as_u64().unwrap_or(1) == 1)
            .ok_or_else(|| format!("no registered command /{top}"))?;
        let mut resolved = json!({});
        let mut leaf_defs = def["options"].clone();
        let mut chain: Vec<(String, u64)> = Vec::new();
        for sub in path {
            let d = leaf_defs
                .as_array()
                .and_then(|a| a.iter().find(|o| o["name"] == sub).cloned())
                .ok_or_else(|| format!("/{command}: no subcommand {sub}"))?;
            chain.push((sub.to_string(), d["type"].as_u64().unwrap_or(1)));
            leaf_defs = d["options"].clone();
        }
        let mut leaf: Vec<Value> = Vec::new();
        for (name, value) in options {
            let d = leaf_defs
                .as_array()
                .and_then(|a| a.iter().find(|o| o["name"] == *name).cloned())
                .ok_or_else(|| format!("/{command}: no option {name}"))?;
            let kind = d["type"].as_u64().unwrap_or(3);
            let is_focused = focused == Some(*name);
            let choice = d["choices"]
                .as_array()
                .and_then(|cs| {
                    // A choice picked by its name, or named by its value (as the playground's form sends it).
                    let by_value = |c: &&Value| match &c["value"] {
                        Value::String(v) => v == value,
                        v => v.as_f64().is_some_and(|n| value.trim().parse::<f64>().ok() == Some(n)),
                    };
                    cs.iter()
                        .find(|c| c["name"].as_str().is_some_and(|n| n.eq_ignore_ascii_case(value)))
                        .or_else(|| cs.iter().find(by_value))
                })
                .map(|c| c["value"].clone());
            // What the client says of a value it won't send.
            let refused = |what: &str| format!("{name}: {what}");
            if !is_focused && value.is_empty() && d["required"].as_bool() == Some(true) {
                return Err(format!("/{command}: {name} is required"));
            }
            if !is_focused && choice.is_none() && d["choices"].as_array().is_some_and(|c| !c.is_empty()) {
                // The client offers only the choices: nothing else can be typed.
                return Err(refused("pick one of the choices"));
            }
            let v = if is_focused {
                json!(value)
            } else if let Some(c) = choice {
                c
            } else {
                match kind {
                    3 => {
                        let n = value.chars().count() as u64;
                        if d["min_length"].as_u64().is_some_and(|min| n < min) {
                            return Err(refused(&format!("at least {} characters", d["min_length"])));
                        }
                        if d["max_length"].as_u64().is_some_and(|max| n > max) {
                            return Err(refused(&format!("at most {} characters", d["max_length"])));
                        }
                        json!(value)
                    }
                    4 => {
                        let n = value.trim().parse::<i64>().map_err(|_| refused("enter a whole number"))?;
                        in_range(&d, n as f64).map_err(|e| refused(&e))?;
                        json!(n)
                    }
                    5 => json!(*value == "true"),
                    10 => {
                        let n = value.trim().parse::<f64>().map_err(|_| refused("enter a number"))?;
                        in_range(&d, n).map_err(|e| refused(&e))?;
                        json!(n)
                    }
                    6 => {
                        self.resolve_user(channel_id, &mut resolved, value).map_err(|()| refused("no such user"))?;
                        json!(value)
                    }
                    7 => {
                        self.resolve_channel(&mut resolved, value).map_err(|()| refused("no such channel"))?;
                        json!(value)
                    }
                    8 => {
                        self.resolve_role(&mut resolved, value).map_err(|()| refused("no such role"))?;
                        json!(value)
                    }
                    _ => json!(value),
                }
            };
            let mut o = json!({"name": name, "type": kind, "value": v});
            if is_focused {
                o["focused"] = json!(true);
            }
            leaf.push(o);
        }
        if let Some(f) = focused {
            if !options.iter().any(|(n, _)| *n == f) {
                leaf.push(json!({"name": f, "type": 3, "value": "", "focused": true}));
            }
        } else {
            // The client sends a command only once every required option is filled.
            for d in leaf_defs.as_array().into_iter().flatten() {
                let name = d["name"].as_str().unwrap_or_default();
                // An empty text is not a value: the client waits for one.
                let given = options.iter().any(|(n, v)| *n == name && !v.is_empty());
                if d["required"].as_bool() == Some(true) && !given {
                    return Err(format!("/{command}: {name} is required"));
                }
            }
        }
        let mut opts = json!(leaf);
        for (name, kind) in chain.into_iter().rev() {
            opts = json!([{"name": name, "type": kind, "options": opts}]);
        }
        let mut data = json!({
            "id": def["id"], "name": top, "type": 1, "options": opts,
        });
        if resolved.as_object().is_some_and(|o| !o.is_empty()) {
            data["resolved"] = resolved;
        }
        if let Some(g) = def.get("guild_id") {
            data["guild_id"] = g.clone();
        }
        Ok(data)
    }

    fn resolve_user(&self, channel_id: u64, resolved: &mut Value, id: &str) -> Result<(), ()> {
        let uid: u64 = id.trim().parse().map_err(|_| ())?;
        self.fake.with(|w| {
            if let Some(u) = w.users.get(&uid) {
                resolved["users"][id] = payload::user(u);
            }
            if let Some(m) = w.guilds[&self.guild_id].members.get(&uid) {
                let mut mv = payload::interaction_member(w, channel_id, m);
                mv.as_object_mut().map(|o| o.remove("user"));
                resolved["members"][id] = mv;
            }
        });
        Ok(())
    }

    fn resolve_channel(&self, resolved: &mut Value, id: &str) -> Result<(), ()> {
        let cid: u64 = id.trim().parse().map_err(|_| ())?;
        self.fake.with(|w| {
            if let Some(c) = w.channels.get(&cid) {
                let mut cv = payload::channel(c);
                cv["permissions"] = json!(w.channel_permissions(cid, self.user_id).to_string());
                resolved["channels"][id] = cv;
            }
        });
        Ok(())
    }

    fn resolve_role(&self, resolved: &mut Value, id: &str) -> Result<(), ()> {
        let rid: u64 = id.trim().parse().map_err(|_| ())?;
        self.fake.with(|w| {
            if let Ok(r) = w.role(self.guild_id, rid) {
                resolved["roles"][id] = payload::role(r);
            }
        });
        Ok(())
    }

    /// Send an interaction and wait for the bot's answer.
    async fn send(&self, kind: u8, channel_id: u64, data: Value, source_message: Option<u64>) -> Reply {
        let iid = self.emit_interaction(kind, channel_id, data, source_message);
        let reply = Reply { fake: self.fake.clone(), interaction_id: iid, user: self.clone() };
        reply.settle().await;
        reply
    }

    /// Start a slash command without waiting for the answer (open-loop load
    /// in benchmarks): the interaction's id, whose `callbacks`,
    /// `answered_at` and `content_at` tell how and when it was answered.
    pub fn slash_nowait(&self, command: &str, options: &[(&str, &str)]) -> u64 {
        let ch = self.fake.general_channel();
        let data = self.command_data(ch, command, options, None).unwrap_or_else(|e| panic!("{e}"));
        self.emit_interaction(2, ch, data, None)
    }

    /// Press a button without waiting for the answer (see `slash_nowait`).
    pub fn click_nowait(&self, message_id: u64, custom_id: &str) -> u64 {
        let ch = self.channel_of(message_id);
        let data = json!({"custom_id": custom_id, "component_type": 2});
        self.emit_interaction(3, ch, data, Some(message_id))
    }

    /// Queue an INTERACTION_CREATE for the bot; returns its id.
    fn emit_interaction(&self, kind: u8, channel_id: u64, data: Value, source_message: Option<u64>) -> u64 {
        let gid = self.guild_id;
        let uid = self.user_id;
        self.fake.mutate(|w| {
            let iid = w.snowflake();
            let token = format!("tok-{iid}-{}", w.snowflake());
            let payload = interaction_payload(w, iid, &token, kind, gid, uid, channel_id, data, source_message);
            // From a DM with the bot there is no guild.
            let in_dm = w.channels.get(&channel_id).is_some_and(|c| c.guild_id.is_none());
            w.interactions.insert(
                iid,
                Interaction {
                    id: iid,
                    token: token.clone(),
                    kind,
                    user_id: uid,
                    guild_id: if in_dm { None } else { Some(gid) },
                    channel_id,
                    sent_at: Instant::now(),
                    issued_at: w.now(),
                    callbacks: vec![],
                    original: None,
                    followups: vec![],
                    callback_data: None,
                    source_message,
                    deferred_open: false,
                    answered_at: None,
                    content_at: None,
                    touched: false,
                },
            );
            w.tokens.insert(token, iid);
            w.emit("INTERACTION_CREATE", payload);
            iid
        })
    }
}

#[allow(clippy::too_many_arguments)]
fn interaction_payload(
    w: &World,
    iid: u64,
    token: &str,
    kind: u8,
    gid: u64,
    uid: u64,
    channel_id: u64,
    data: Value,
    source_message: Option<u64>,
) -> Value {
    let g = &w.guilds[&gid];
    // receiving-and-responding.md, Interaction Object: `app_permissions`,
    // "Bitwise set of permissions the app has in the source location of the
    // interaction": the bot's permissions in this channel, overwrites and
    // implicit denials included (not its server-wide ones).
    let member = g.members.get(&uid).map(|m| payload::interaction_member(w, channel_id, m)).unwrap_or(Value::Null);
    let channel = w
        .channels
        .get(&channel_id)
        .map(|c| {
            let mut v = payload::channel(c);
            v["permissions"] = json!(w.channel_permissions(channel_id, uid).to_string());
            v
        })
        .unwrap_or(Value::Null);
    let mut v = json!({
        "id": iid.to_string(),
        "application_id": w.application_id.to_string(),
        "type": kind,
        "data": data,
        "guild_id": gid.to_string(),
        "channel_id": channel_id.to_string(),
        "channel": channel,
        "member": member,
        "token": token,
        "version": 1,
        "locale": "en-US",
        "guild_locale": "en-US",
        "app_permissions": w.channel_permissions(channel_id, w.bot_user_id).to_string(),
        "entitlements": [],
        "authorizing_integration_owners": {"0": gid.to_string()},
        "context": 0,
        "attachment_size_limit": g.attachment_size_limit,
    });
    if w.channels.get(&channel_id).is_some_and(|c| c.guild_id.is_none()) {
        // Invoked in a DM with the bot, as Discord documents it: `user`
        // instead of `member`, no `guild_id` (nor guild locale), context
        // BOT_DM (1), the guild-install owner "0", and the DM permissions.
        let o = v.as_object_mut().expect("object");
        for k in ["guild_id", "member", "guild_locale"] {
            o.remove(k);
        }
        o.insert("user".into(), w.users.get(&uid).map(payload::user).unwrap_or(Value::Null));
        o.insert("context".into(), json!(1));
        o.insert("authorizing_integration_owners".into(), json!({"0": "0"}));
        let dm_perms = perms::VIEW_CHANNEL
            | perms::SEND_MESSAGES
            | perms::READ_MESSAGE_HISTORY
            | perms::EMBED_LINKS
            | perms::ATTACH_FILES
            | perms::MENTION_EVERYONE
            | perms::USE_EXTERNAL_EMOJIS;
        o.insert("app_permissions".into(), json!(dm_perms.to_string()));
        if let Some(ch) = o.get_mut("channel") {
            ch.as_object_mut().map(|c| c.remove("permissions"));
        }
    }
    if let Some(m) = source_message.and_then(|m| w.find_message(m)) {
        v["message"] = payload::message(w, m);
    }
    v
}

/// What the bot answered to one interaction.
#[derive(Clone)]
pub struct Reply {
    pub fake: FakeDiscord,
    pub interaction_id: u64,
    pub user: Actor,
}

impl Reply {
    fn interaction(&self) -> Interaction {
        self.fake.with(|w| w.interactions[&self.interaction_id].clone())
    }

    /// Wait for the initial answer (3 s), then for a deferred answer's content.
    async fn settle(&self) {
        let iid = self.interaction_id;
        let answered = tokio::time::timeout(
            Duration::from_millis(3500),
            self.fake.wait_until_for(4, "interaction answered", move |w| !w.interactions[&iid].callbacks.is_empty()),
        )
        .await;
        if answered.is_err() {
            self.fake.mutate(|w| w.violations.push(format!("interaction {iid} got no answer within 3 s")));
            panic!("the bot did not answer interaction {iid} within 3 s");
        }
        let i = self.interaction();
        // Discord gives a deferred answer 15 minutes; a test waits 2 (a bot
        // paced under Discord's rate limits answers the last of a crowd late).
        match i.callbacks[0] {
            5 => {
                self.fake
                    .wait_until_for(120, "deferred answer filled in", move |w| !w.interactions[&iid].deferred_open)
                    .await
            }
            6 => {
                self.fake
                    .wait_until_for(120, "deferred update followed up", move |w| w.interactions[&iid].touched)
                    .await
            }
            _ => {}
        }
    }

    /// The interaction callback type the bot chose first.
    pub fn callback_type(&self) -> u8 {
        self.interaction().callbacks[0]
    }

    /// The original response message, then follow-ups.
    pub fn messages(&self) -> Vec<Message> {
        let i = self.interaction();
        self.fake.with(|w| {
            i.original.iter().chain(i.followups.iter()).filter_map(|id| w.find_message(*id).cloned()).collect()
        })
    }

    /// The message the answer is in (the original response, or the updated message).
    pub fn message(&self) -> Message {
        self.messages().into_iter().next().expect("the bot answered with a message")
    }

    /// The last message of the answer (the latest follow-up if any).
    pub fn last_message(&self) -> Message {
        self.messages().into_iter().last().expect("the bot answered with a message")
    }

    /// Everything a user reads in the answer: content, embed titles,
    /// descriptions, fields and footers, of every message.
    pub fn text(&self) -> String {
        self.messages().iter().map(message_text).collect::<Vec<_>>().join("\n")
    }

    pub fn is_ephemeral(&self) -> bool {
        self.messages().first().is_some_and(|m| m.is_ephemeral())
    }

    /// Every file of the answer's messages, in order.
    pub fn attachments(&self) -> Vec<crate::world::Attachment> {
        self.messages().into_iter().flat_map(|m| m.attachments).collect()
    }

    /// Wait (up to 15 s) until the answer's text contains `needle`: for
    /// answers in several follow-ups.
    pub async fn wait_for_text(&self, needle: &str) {
        let (iid, needle) = (self.interaction_id, needle.to_string());
        self.fake
            .wait_until_for(15, &format!("the answer says {needle:?}"), move |w| {
                let i = &w.interactions[&iid];
                i.original
                    .iter()
                    .chain(&i.followups)
                    .filter_map(|m| w.find_message(*m))
                    .any(|m| message_text(m).contains(&needle))
            })
            .await
    }

    /// Buttons and selects on the answer's messages.
    pub fn components(&self) -> Vec<(u64, Component)> {
        self.messages().iter().flat_map(|m| components_of(m).into_iter().map(move |c| (m.id, c))).collect()
    }

    pub fn button(&self, label: &str) -> Component {
        self.components()
            .into_iter()
            .map(|(_, c)| c)
            .find(|c| c.kind == 2 && c.label == label)
            .unwrap_or_else(|| panic!("no button {label:?} in: {}\ncomponents: {:?}", self.text(), self.components()))
    }

    pub fn has_button(&self, label: &str) -> bool {
        self.components().iter().any(|(_, c)| c.kind == 2 && c.label == label)
    }

    /// The same user presses the button labelled `label`.
    pub async fn click(&self, label: &str) -> Reply {
        self.click_as(&self.user, label).await
    }

    /// Someone else presses the button (it must be visible to them: not on an
    /// ephemeral message).
    pub async fn click_as(&self, who: &Actor, label: &str) -> Reply {
        let (mid, c) = self
            .components()
            .into_iter()
            .find(|(_, c)| c.kind == 2 && c.label == label)
            .unwrap_or_else(|| panic!("no button {label:?} in: {}", self.text()));
        assert!(!c.disabled, "button {label:?} is disabled");
        who.click(mid, &c.custom_id).await
    }

    /// The modal the bot opened.
    pub fn modal(&self) -> Modal {
        let i = self.interaction();
        assert_eq!(i.callbacks.first(), Some(&9), "the bot did not open a modal: {}", self.text());
        let d = i.callback_data.unwrap_or_default();
        let inputs: Vec<Value> = d["components"]
            .as_array()
            .into_iter()
            .flatten()
            .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
            .collect();
        let values = inputs
            .iter()
            .filter_map(|c| {
                let v = c["value"].as_str()?;
                Some((c["custom_id"].as_str().unwrap_or_default().to_string(), v.to_string()))
            })
            .collect();
        let fields = inputs
            .iter()
            .map(|c| {
                (
                    c["custom_id"].as_str().unwrap_or_default().to_string(),
                    c["label"].as_str().unwrap_or_default().to_string(),
                    c["required"].as_bool().unwrap_or(true),
                    c["max_length"].as_u64(),
                )
            })
            .collect();
        let min_lengths = inputs
            .iter()
            .filter_map(|c| Some((c["custom_id"].as_str()?.to_string(), c["min_length"].as_u64()?)))
            .collect();
        Modal {
            min_lengths,
            custom_id: d["custom_id"].as_str().unwrap_or_default().to_string(),
            title: d["title"].as_str().unwrap_or_default().to_string(),
            fields,
            values,
            source_message: i.source_message,
            channel_id: Some(i.channel_id),
        }
    }

    /// Autocomplete choices: (name, value).
    pub fn choices(&self) -> Vec<(String, Value)> {
        let d = self.interaction().callback_data.unwrap_or_default();
        d["choices"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|c| (c["name"].as_str().unwrap_or_default().to_string(), c["value"].clone()))
            .collect()
    }
}

/// A number option's `min_value` / `max_value`, as the client enforces them.
fn in_range(def: &Value, n: f64) -> Result<(), String> {
    if let Some(min) = def["min_value"].as_f64().filter(|min| n < *min) {
        return Err(format!("at least {min}"));
    }
    if let Some(max) = def["max_value"].as_f64().filter(|max| n > *max) {
        return Err(format!("at most {max}"));
    }
    Ok(())
}

/// The text a user reads in a message.
pub fn message_text(m: &Message) -> String {
    let mut out = vec![m.content.clone()];
    for e in m.embeds.as_array().into_iter().flatten() {
        for k in ["title", "description"] {
            if let Some(s) = e[k].as_str() {
                out.push(s.to_string());
            }
        }
        for f in e["fields"].as_array().into_iter().flatten() {
            out.push(format!("{}: {}", f["name"].as_str().unwrap_or(""), f["value"].as_str().unwrap_or("")));
        }
        if let Some(s) = e["footer"]["text"].as_str() {
            out.push(s.to_string());
        }
    }
    out.retain(|s| !s.is_empty());
    out.join("\n")
}

/// Buttons and selects of a message, flattened.
pub fn components_of(m: &Message) -> Vec<Component> {
    m.components
        .as_array()
        .into_iter()
        .flatten()
        .flat_map(|row| row["components"].as_array().cloned().unwrap_or_default())
        .map(|c| Component {
            kind: c["type"].as_u64().unwrap_or(0),
            label: c["label"].as_str().unwrap_or_default().to_string(),
            custom_id: c["custom_id"].as_str().unwrap_or_default().to_string(),
            disabled: c["disabled"].as_bool().unwrap_or(false),
            style: c["style"].as_u64().unwrap_or(0),
            url: c["url"].as_str().map(str::to_string),
            options: c["options"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|o| {
                    (
                        o["label"].as_str().unwrap_or_default().to_string(),
                        o["value"].as_str().unwrap_or_default().to_string(),
                    )
                })
                .collect(),
            placeholder: c["placeholder"].as_str().unwrap_or_default().to_string(),
        })
        .collect()
}

/// Whether a channel is a thread.
pub fn is_thread(kind: u8) -> bool {
    matches!(kind, channel_type::PUBLIC_THREAD | channel_type::PRIVATE_THREAD)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::world::{perms, Overwrite};
    use serenity::model::application::Interaction as SerenityInteraction;

    #[tokio::test]
    async fn channels_made_by_hand_follow_their_overwrites() {
        let fake = FakeDiscord::start().await;
        let gid = fake.guild_id;
        let hidden = fake.create_channel_by_hand(
            "staff",
            channel_type::TEXT,
            None,
            vec![Overwrite { id: gid, kind: 0, allow: 0, deny: perms::VIEW_CHANNEL }],
        );
        let cat = fake.create_channel_by_hand("Stuff", channel_type::CATEGORY, None, vec![]);
        let bot = fake.actor(fake.bot_user_id());
        assert!(!bot.can_view(hidden), "nobody without an overwrite sees a channel hidden from @everyone");
        assert!(bot.can_view(cat));
        assert_eq!(fake.channel_named("staff").map(|c| c.kind), Some(channel_type::TEXT));
        assert!(fake.with(|w| w.guilds[&gid].channels.contains(&hidden)));
        let owner = fake.owner();
        assert!(owner.can_view(hidden), "the owner sees everything");
    }

    #[tokio::test]
    async fn users_start_topics_and_reply_with_the_events_discord_sends() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        let owner = fake.owner();
        let tid = owner.create_topic(general, "Hello", "first post");
        let thread = fake.with(|w| w.channels[&tid].clone());
        assert_eq!((thread.parent_id, thread.owner_id), (Some(general), Some(owner.user_id)));
        // (THREAD_CREATE then MESSAGE_CREATE go to the bot: see the scenarios.)
        let t: serenity::model::channel::GuildChannel =
            serde_json::from_value(fake.with(|w| payload::channel(&w.channels[&tid]))).expect("thread");
        assert_eq!(t.owner_id.map(|o| o.get()), Some(owner.user_id));
        let first = fake.with(|w| w.channel_messages(tid)[0].id);
        let reply = owner.post_message(tid, "a reply", Some(first));
        let v = fake.with(|w| payload::message(w, w.find_message(reply).unwrap()));
        let m: serenity::model::channel::Message = serde_json::from_value(v).expect("Message");
        assert_eq!(m.message_reference.and_then(|r| r.message_id).map(|id| id.get()), Some(first));
        assert_eq!(m.channel_id.get(), tid);
    }

    #[tokio::test]
    async fn removing_a_thread_member_hides_a_private_thread_again() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        let user = fake.add_user("someone", 30, true);
        fake.join_guild(user, 3);
        let owner = fake.owner().user_id;
        fake.mutate(|w| {
            let bot = w.bot_user_id;
            let thread = crate::rest::create_thread(w, general, bot, "Review", None, true).unwrap();
            w.thread_members.entry(thread).or_default().insert(user);
            assert!(w.can_view_thread(thread, user));
            crate::rest::remove_thread_member(w, thread, user).expect("the creator of a private thread may remove");
            assert!(!w.can_view_thread(thread, user), "a private thread is hidden from a removed member");
            crate::rest::remove_thread_member(w, thread, user).expect("removing a non-member succeeds");
            assert!(w.can_view_thread(thread, owner), "the owner still sees it");
            w.channels.get_mut(&thread).unwrap().archived = true;
            assert_eq!(crate::rest::remove_thread_member(w, thread, owner).unwrap_err().code, 50083);
            assert_eq!(crate::rest::remove_thread_member(w, general, owner).unwrap_err().code, 50024);
        });
    }

    #[tokio::test]
    async fn an_interactions_member_permissions_are_those_in_its_channel() {
        let fake = FakeDiscord::start().await;
        let gid = fake.guild_id;
        let quiet = fake.create_channel_by_hand(
            "announcements",
            channel_type::TEXT,
            None,
            vec![Overwrite { id: gid, kind: 0, allow: 0, deny: perms::SEND_MESSAGES }],
        );
        let alice = fake.member("alice");
        let perms_in = |channel: u64| -> u64 {
            fake.with(|w| {
                let v = interaction_payload(w, 1 << 22, "t", 2, gid, alice.user_id, channel, json!({}), None);
                v["member"]["permissions"].as_str().unwrap().parse().unwrap()
            })
        };
        assert_ne!(perms_in(fake.general_channel()) & perms::SEND_MESSAGES, 0);
        assert_eq!(perms_in(quiet) & perms::SEND_MESSAGES, 0, "the channel's overwrite counts, as on Discord");
    }

    /// permissions.md, Implicit Permissions: "Denying a user or a role
    /// `VIEW_CHANNEL` on a channel implicitly denies other permissions on
    /// the channel"; "Denying `SEND_MESSAGES` implicitly denies
    /// `MENTION_EVERYONE`, `SEND_TTS_MESSAGES`, `ATTACH_FILES`, and
    /// `EMBED_LINKS`"; Inherited Permissions (Threads): in a thread the
    /// sending permission is `SEND_MESSAGES_IN_THREADS`.
    #[tokio::test]
    async fn no_view_channel_leaves_nothing_and_no_send_messages_takes_embeds_files_and_mentions() {
        let fake = FakeDiscord::start().await;
        let gid = fake.guild_id;
        let everything = perms::ALL & !perms::ADMINISTRATOR;
        let alice = fake.member("alice");
        let strong = fake.create_role_by_hand("strong", everything, false);
        fake.give_role(alice.user_id, strong);
        let hidden = fake.create_channel_by_hand(
            "hidden",
            channel_type::TEXT,
            None,
            vec![Overwrite { id: alice.user_id, kind: 1, allow: 0, deny: perms::VIEW_CHANNEL }],
        );
        let quiet = fake.create_channel_by_hand(
            "quiet",
            channel_type::TEXT,
            None,
            vec![Overwrite { id: gid, kind: 0, allow: 0, deny: perms::SEND_MESSAGES }],
        );
        let p = |c: u64| fake.with(|w| w.channel_permissions(c, alice.user_id));
        assert_eq!(p(hidden), 0, "no View Channel: no Manage Messages, no Send Messages, nothing");
        let implied = perms::MENTION_EVERYONE | perms::SEND_TTS_MESSAGES | perms::ATTACH_FILES | perms::EMBED_LINKS;
        assert_eq!(p(quiet) & (implied | perms::SEND_MESSAGES), 0);
        assert_ne!(p(quiet) & perms::MANAGE_MESSAGES, 0, "what does not hang on sending stays");
        assert_eq!(p(fake.general_channel()) & implied, implied);
        // In a thread of the quiet channel, Send Messages in Threads is the sending one.
        let thread = fake.owner().create_topic(quiet, "t", "x");
        assert_eq!(p(thread) & implied, implied, "Send Messages in Threads keeps them in a thread");
        fake.mutate(|w| w.channels.get_mut(&quiet).unwrap().overwrites[0].deny |= perms::SEND_MESSAGES_IN_THREADS);
        assert_eq!(p(thread) & implied, 0);
        // Mention Everyone implicitly denied: @everyone pings nobody there.
        let general = fake.general_channel();
        fake.with(|w| {
            let pinged = crate::world::pings_of(w, quiet, alice.user_id, "@everyone", &Value::Null, false, None);
            assert!(!pinged.everyone);
            let pinged = crate::world::pings_of(w, general, alice.user_id, "@everyone", &Value::Null, false, None);
            assert!(pinged.everyone);
        });
    }

    /// receiving-and-responding.md, Interaction Object: `app_permissions`
    /// is the "Bitwise set of permissions the app has in the source location
    /// of the interaction", so a channel's overwrite on the bot shows in it.
    #[tokio::test]
    async fn app_permissions_are_the_bots_permissions_in_the_interactions_channel() {
        let fake = FakeDiscord::start().await;
        let bot = fake.bot_user_id();
        let muted = fake.create_channel_by_hand(
            "muted",
            channel_type::TEXT,
            None,
            vec![Overwrite { id: bot, kind: 1, allow: 0, deny: perms::SEND_MESSAGES | perms::MANAGE_ROLES }],
        );
        let alice = fake.member("alice");
        let app_in = |channel: u64| -> u64 {
            fake.with(|w| {
                let v = interaction_payload(w, 1 << 22, "t", 2, fake.guild_id, alice.user_id, channel, json!({}), None);
                v["app_permissions"].as_str().unwrap().parse().unwrap()
            })
        };
        let server_wide = fake.with(|w| w.base_permissions(fake.guild_id, bot));
        assert_eq!(app_in(fake.general_channel()), server_wide, "no overwrite: the server-wide ones");
        let there = app_in(muted);
        assert_eq!(there & (perms::SEND_MESSAGES | perms::MANAGE_ROLES | perms::EMBED_LINKS), 0, "{there:b}");
        assert_ne!(there & perms::VIEW_CHANNEL, 0);
    }

    #[tokio::test]
    async fn messages_deleted_by_hand_are_gone() {
        let fake = FakeDiscord::start().await;
        let general = fake.general_channel();
        let bot = fake.bot_user_id();
        let id = fake.mutate(|w| {
            let v = crate::rest::post_message(w, general, bot, &json!({"content": "hi"}), None).unwrap();
            v["id"].as_str().unwrap().parse::<u64>().unwrap()
        });
        assert!(fake.delete_message_by_hand(id));
        assert!(fake.with(|w| w.find_message(id).is_none()));
        assert!(!fake.delete_message_by_hand(id));
    }

    #[tokio::test]
    async fn a_guild_command_is_usable_in_its_guild_only_and_a_global_one_everywhere() {
        // application-commands: "Guild commands are specific to the guild you specify".
        let fake = FakeDiscord::start().await;
        let other = fake.add_guild_on_shard("Other", 0, 1);
        fake.mutate(|w| {
            let g = Some(fake.guild_id);
            w.commands.push(crate::world::Command { id: 1, guild_id: g, body: json!({"name": "here", "type": 1}) });
            w.commands.push(crate::world::Command { id: 2, guild_id: None, body: json!({"name": "all", "type": 1}) });
        });
        let names = |f: &FakeDiscord| -> Vec<String> {
            f.registered_commands().iter().map(|c| c["name"].as_str().unwrap().to_string()).collect()
        };
        assert_eq!(names(&fake), ["here", "all"]);
        assert_eq!(names(&fake.in_guild(other)), ["all"]);
    }

    #[tokio::test]
    async fn the_client_sends_no_command_discord_s_client_would_refuse() {
        // application-commands: required options, choices, min/max_length, min/max_value.
        let fake = FakeDiscord::start().await;
        fake.mutate(|w| {
            let body = json!({"name": "make", "type": 1, "options": [
                {"name": "name", "type": 3, "required": true, "min_length": 2, "max_length": 5},
                {"name": "kind", "type": 4, "required": true, "choices": [{"name": "Big", "value": 1}, {"name": "Small", "value": 2}]},
                {"name": "count", "type": 4, "min_value": 1, "max_value": 10},
                {"name": "share", "type": 10, "min_value": 0.5},
            ]});
            w.commands.push(crate::world::Command { id: 1, guild_id: Some(fake.guild_id), body });
        });
        let owner = fake.owner();
        let ch = fake.general_channel();
        let data = |o: &[(&str, &str)]| owner.command_data(ch, "make", o, None);
        assert!(data(&[("name", "abc"), ("kind", "big")]).is_ok(), "a choice by its name");
        assert_eq!(data(&[("name", "abc"), ("kind", "2")]).unwrap()["options"][1]["value"], json!(2), "or its value");
        let refused = |o: &[(&str, &str)]| data(o).unwrap_err();
        assert!(refused(&[("kind", "Big")]).contains("name is required"));
        assert!(refused(&[("name", ""), ("kind", "Big")]).contains("name is required"), "empty is not a value");
        assert!(refused(&[("name", "abc")]).contains("kind is required"));
        assert!(refused(&[("name", "abc"), ("kind", "Huge")]).contains("kind: pick one of the choices"));
        assert!(refused(&[("name", "a"), ("kind", "Big")]).contains("name: at least 2 characters"));
        assert!(refused(&[("name", "abcdef"), ("kind", "Big")]).contains("name: at most 5 characters"));
        assert!(refused(&[("name", "abc"), ("kind", "Big"), ("count", "0")]).contains("count: at least 1"));
        assert!(refused(&[("name", "abc"), ("kind", "Big"), ("count", "11")]).contains("count: at most 10"));
        assert!(refused(&[("name", "abc"), ("kind", "Big"), ("share", "0.25")]).contains("share: at least 0.5"));
        // Typing into an option to autocomplete sends the others as they are.
        assert!(owner.command_data(ch, "make", &[("name", "")], Some("name")).is_ok());
    }

    #[test]
    fn the_client_submits_no_form_discord_s_client_would_refuse() {
        let modal = Modal {
            custom_id: "f".into(),
            title: "Form".into(),
            fields: vec![("a".into(), "Answer".into(), true, Some(5)), ("b".into(), "Note".into(), false, None)],
            min_lengths: vec![("a".into(), 2)],
            values: vec![],
            source_message: None,
            channel_id: None,
        };
        assert!(modal.client_check(&[("a", "abc")]).is_ok());
        assert!(modal.client_check(&[("a", "abc"), ("b", "")]).is_ok(), "an optional input may stay empty");
        assert!(modal.client_check(&[("b", "x")]).unwrap_err().contains("Answer: this field is required"));
        assert!(modal.client_check(&[("a", "")]).unwrap_err().contains("required"));
        assert!(modal.client_check(&[("a", "a")]).unwrap_err().contains("at least 2"));
        assert!(modal.client_check(&[("a", "abcdef")]).unwrap_err().contains("at most 5"));
        assert!(modal.client_check(&[("a", "abc"), ("c", "x")]).unwrap_err().contains("no input \"c\""));
        // A form a test forges declares no inputs: the bot is what refuses it.
        let forged = Modal { fields: vec![], min_lengths: vec![], ..modal };
        assert!(forged.client_check(&[("c", "x")]).is_ok());
    }

    #[test]
    fn component_and_modal_interactions_deserialize_into_serenity() {
        let mut w = World::new();
        let gid = crate::server::seed_guild(&mut w, "Test");
        let owner = w.guilds[&gid].owner_id;
        let general = w.guilds[&gid].channels[0];
        let bot = w.bot_user_id;
        let msg = crate::rest::post_message(
            &mut w,
            general,
            bot,
            &json!({"content": "x", "components": [{"type": 1, "components": [{"type": 2, "style": 2, "label": "Go", "custom_id": "go"}]}]}),
            None,
        )
        .unwrap();
        let mid: u64 = msg["id"].as_str().unwrap().parse().unwrap();
        let click = interaction_payload(
            &w,
            1 << 22,
            "t",
            3,
            gid,
            owner,
            general,
            json!({"custom_id": "go", "component_type": 2}),
            Some(mid),
        );
        match serde_json::from_value::<SerenityInteraction>(click).expect("component interaction") {
            SerenityInteraction::Component(c) => assert_eq!(c.data.custom_id, "go"),
            other => panic!("not a component interaction: {other:?}"),
        }
        let data = json!({"custom_id": "form", "components": [
            {"type": 1, "components": [{"type": 4, "custom_id": "text", "value": "Be kind"}]}
        ]});
        let submit = interaction_payload(&w, 2 << 22, "t2", 5, gid, owner, general, data, None);
        match serde_json::from_value::<SerenityInteraction>(submit).expect("modal submit") {
            SerenityInteraction::Modal(m) => {
                assert_eq!(m.data.custom_id, "form");
                assert!(m.member.is_some());
            }
            other => panic!("not a modal submit: {other:?}"),
        }
    }

    #[test]
    fn a_button_pressed_in_a_dm_arrives_with_user_and_no_guild() {
        let mut w = World::new();
        let gid = crate::server::seed_guild(&mut w, "Test");
        let owner = w.guilds[&gid].owner_id;
        let bot = w.bot_user_id;
        let dm = w.snowflake();
        w.channels.insert(
            dm,
            crate::world::Channel {
                id: dm,
                guild_id: None,
                kind: channel_type::DM,
                name: String::new(),
                parent_id: None,
                position: 0,
                topic: None,
                overwrites: vec![],
                owner_id: Some(owner),
                archived: false,
                locked: false,
            },
        );
        let msg = crate::rest::post_message(
            &mut w,
            dm,
            bot,
            &json!({"content": "x", "components": [{"type": 1, "components": [{"type": 2, "style": 1, "label": "Go", "custom_id": "go"}]}]}),
            None,
        )
        .unwrap();
        let mid: u64 = msg["id"].as_str().unwrap().parse().unwrap();
        let click = interaction_payload(
            &w,
            1 << 22,
            "t",
            3,
            gid,
            owner,
            dm,
            json!({"custom_id": "go", "component_type": 2}),
            Some(mid),
        );
        assert!(click.get("guild_id").is_none() && click.get("member").is_none(), "{click}");
        assert_eq!(click["user"]["id"], json!(owner.to_string()));
        assert_eq!(click["context"], json!(1));
        assert_eq!(click["authorizing_integration_owners"], json!({"0": "0"}));
        match serde_json::from_value::<SerenityInteraction>(click).expect("component interaction") {
            SerenityInteraction::Component(c) => {
                assert_eq!(c.data.custom_id, "go");
                assert!(c.guild_id.is_none() && c.member.is_none());
                assert_eq!(c.user.id.get(), owner);
                assert_eq!(c.channel_id.get(), dm);
                assert_eq!(c.message.id.get(), mid);
            }
            other => panic!("not a component interaction: {other:?}"),
        }
        // In a server the same press carries the member and the guild.
        let general = w.guilds[&gid].channels[0];
        let in_guild = interaction_payload(
            &w,
            2 << 22,
            "t2",
            3,
            gid,
            owner,
            general,
            json!({"custom_id": "go", "component_type": 2}),
            Some(mid),
        );
        assert!(in_guild.get("user").is_none() && in_guild["member"].is_object());
        assert_eq!(in_guild["guild_id"], json!(gid.to_string()));
    }

    #[tokio::test]
    async fn a_channel_made_by_hand_belongs_to_the_guild_and_its_category() {
        let fake = FakeDiscord::start().await;
        let category = fake.create_channel_by_hand("Stuff", channel_type::CATEGORY, None, vec![]);
        let id = fake.create_channel_by_hand("talk", channel_type::TEXT, Some(category), vec![]);
        let ch = fake.channel_named("talk").expect("#talk");
        assert_eq!((ch.id, ch.kind, ch.parent_id), (id, channel_type::TEXT, Some(category)));
        assert!(ch.overwrites.is_empty());
        let alice = fake.member("alice");
        assert!(alice.can_view(id) && alice.can_send(id), "no overwrites: @everyone's defaults apply");
    }
}
