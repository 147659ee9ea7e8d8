//! The state of the fake Discord: guilds, roles, channels, members, users,
//! messages and interactions, with Discord's permission rules.
//!
//! Everything here is plain data behind one mutex; REST handlers mutate it and
//! push the gateway events Discord would emit into `pending_events`, which the
//! server drains after releasing the lock.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::{BTreeMap, HashMap};
use std::time::Instant;

/// Discord's permission bits that the fake reasons about.
pub mod perms {
    pub const CREATE_INSTANT_INVITE: u64 = 1 << 0;
    pub const KICK_MEMBERS: u64 = 1 << 1;
    pub const BAN_MEMBERS: u64 = 1 << 2;
    pub const ADMINISTRATOR: u64 = 1 << 3;
    pub const MANAGE_CHANNELS: u64 = 1 << 4;
    pub const MANAGE_GUILD: u64 = 1 << 5;
    pub const VIEW_AUDIT_LOG: u64 = 1 << 7;
    pub const VIEW_CHANNEL: u64 = 1 << 10;
    pub const SEND_MESSAGES: u64 = 1 << 11;
    pub const SEND_TTS_MESSAGES: u64 = 1 << 12;
    pub const MANAGE_MESSAGES: u64 = 1 << 13;
    pub const EMBED_LINKS: u64 = 1 << 14;
    pub const ATTACH_FILES: u64 = 1 << 15;
    pub const READ_MESSAGE_HISTORY: u64 = 1 << 16;
    pub const MENTION_EVERYONE: u64 = 1 << 17;
    pub const USE_EXTERNAL_EMOJIS: u64 = 1 << 18;
    pub const MANAGE_ROLES: u64 = 1 << 28;
    pub const MANAGE_WEBHOOKS: u64 = 1 << 29;
    pub const MANAGE_THREADS: u64 = 1 << 34;
    pub const CREATE_PUBLIC_THREADS: u64 = 1 << 35;
    pub const CREATE_PRIVATE_THREADS: u64 = 1 << 36;
    pub const SEND_MESSAGES_IN_THREADS: u64 = 1 << 38;
    pub const MODERATE_MEMBERS: u64 = 1 << 40;
    /// Every permission Discord defines today (bits 0..=50).
    pub const ALL: u64 = (1 << 51) - 1;
    /// What @everyone gets in a new server (Discord's default, roughly).
    pub const EVERYONE_DEFAULT: u64 = CREATE_INSTANT_INVITE
        | VIEW_CHANNEL
        | SEND_MESSAGES
        | EMBED_LINKS
        | READ_MESSAGE_HISTORY
        | (1 << 6)  // add reactions
        | (1 << 15) // attach files
        | (1 << 20) // connect
        | (1 << 21) // speak
        | CREATE_PUBLIC_THREADS
        | CREATE_PRIVATE_THREADS
        | SEND_MESSAGES_IN_THREADS;
}

/// Discord's epoch (2015-01-01) in milliseconds since the Unix epoch.
pub const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;

/// Channel types used here.
pub mod channel_type {
    pub const TEXT: u8 = 0;
    pub const DM: u8 = 1;
    pub const CATEGORY: u8 = 4;
    pub const PUBLIC_THREAD: u8 = 11;
    pub const PRIVATE_THREAD: u8 = 12;
    pub const FORUM: u8 = 15;
    pub const MEDIA: u8 = 16;
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct User {
    pub id: u64,
    pub username: String,
    pub bot: bool,
    /// Whether this user accepts DMs from the bot; closed DMs answer 50007.
    pub dms_open: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Role {
    pub id: u64,
    pub name: String,
    pub color: u32,
    pub hoist: bool,
    pub managed: bool,
    pub mentionable: bool,
    pub permissions: u64,
    pub position: i64,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Overwrite {
    pub id: u64,
    /// 0 = role, 1 = member.
    pub kind: u8,
    pub allow: u64,
    pub deny: u64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Channel {
    pub id: u64,
    pub guild_id: Option<u64>,
    pub kind: u8,
    pub name: String,
    pub parent_id: Option<u64>,
    pub position: i64,
    pub topic: Option<String>,
    pub overwrites: Vec<Overwrite>,
    /// Threads: who started it. DMs: the recipient.
    pub owner_id: Option<u64>,
    /// Threads: archived/locked flags.
    pub archived: bool,
    pub locked: bool,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Member {
    pub user_id: u64,
    pub roles: Vec<u64>,
    pub joined_at: chrono::DateTime<chrono::Utc>,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Guild {
    pub id: u64,
    pub name: String,
    pub owner_id: u64,
    pub roles: Vec<Role>,
    pub members: BTreeMap<u64, Member>,
    /// Guild channels, threads included.
    pub channels: Vec<u64>,
    /// Whether the guild can hold forum channels.
    pub forums_available: bool,
    /// The largest file a message may carry here, in bytes (what interactions
    /// report as `attachment_size_limit`; it grows with the server's boost
    /// level on Discord).
    pub attachment_size_limit: u64,
}

/// The attachment limit of a server without boosts: 10 MiB.
pub const DEFAULT_ATTACHMENT_SIZE_LIMIT: u64 = 10 * 1024 * 1024;

/// A file attached to a message (message.md, Attachment Object).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Attachment {
    pub id: u64,
    pub filename: String,
    pub description: Option<String>,
    pub content_type: String,
    pub bytes: Vec<u8>,
}

impl Attachment {
    pub fn size(&self) -> usize {
        self.bytes.len()
    }
}

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Message {
    pub id: u64,
    pub channel_id: u64,
    pub author_id: u64,
    pub content: String,
    pub embeds: Value,
    pub components: Value,
    pub allowed_mentions: Value,
    pub flags: u64,
    pub edited: bool,
    /// Set on messages that answer an interaction.
    pub interaction_id: Option<u64>,
    /// The message this one refers to (`message_reference.message_id`):
    /// the message it replies to, or the pinned / forwarded one.
    pub reply_to: Option<u64>,
    /// The message type: 0 DEFAULT, 6 CHANNEL_PINNED_MESSAGE, 19 REPLY.
    pub kind: u8,
    /// `message_reference.type` (0 DEFAULT, 1 FORWARD) and
    /// `message_reference.channel_id` when it is not this message's channel.
    pub reference_type: u8,
    pub reference_channel: Option<u64>,
    /// Who the message pinged, as Discord decides it (`pings_of`).
    pub pinged: Pings,
    /// Its files.
    pub attachments: Vec<Attachment>,
}

/// Who a message notified: users by mention (or as the replied-to author),
/// roles, and @everyone / @here.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Pings {
    pub users: Vec<u64>,
    pub roles: Vec<u64>,
    pub everyone: bool,
}

impl Pings {
    pub fn is_empty(&self) -> bool {
        self.users.is_empty() && self.roles.is_empty() && !self.everyone
    }
}

/// The ids after `prefix` in mentions `<prefix123>` of `content`.
fn mentioned(content: &str, prefix: &str) -> Vec<u64> {
    let mut out: Vec<u64> = content
        .split(prefix)
        .skip(1)
        .filter_map(|rest| rest.split_once('>').map(|(id, _)| id))
        .filter_map(|id| id.parse().ok())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Who a message pings, as message.md's Allowed Mentions Object says:
/// without `allowed_mentions`, regular messages parse users, roles and
/// everyone, interaction responses and webhooks parse users only; `parse`
/// names the types parsed from the content, `users` / `roles` list the ids
/// that may be pinged; a role is pinged only when it is mentionable or the
/// author has Mention Everyone, @everyone and @here only with Mention
/// Everyone; `replied_user` pings the replied-to author.
pub fn pings_of(
    w: &World,
    channel_id: u64,
    author: u64,
    content: &str,
    allowed: &Value,
    interaction: bool,
    replied_author: Option<u64>,
) -> Pings {
    let default_parse: &[&str] = if interaction { &["users"] } else { &["users", "roles", "everyone"] };
    let parse: Vec<String> = match allowed.get("parse").and_then(|p| p.as_array()) {
        Some(list) => list.iter().filter_map(|v| v.as_str().map(String::from)).collect(),
        None if allowed.is_null() => default_parse.iter().map(|s| s.to_string()).collect(),
        None => vec![],
    };
    let listed = |key: &str| -> Vec<u64> {
        allowed
            .get(key)
            .and_then(|v| v.as_array())
            .map(|a| a.iter().filter_map(|v| v.as_str().and_then(|s| s.parse().ok())).collect())
            .unwrap_or_default()
    };
    let (allowed_users, allowed_roles) = (listed("users"), listed("roles"));
    let mut users: Vec<u64> = mentioned(content, "<@")
        .into_iter()
        .chain(mentioned(content, "<@!"))
        .filter(|u| parse.iter().any(|p| p == "users") || allowed_users.contains(u))
        .collect();
    let guild = w.channels.get(&channel_id).and_then(|c| c.guild_id);
    // Mention Everyone as the author holds it in this channel (an overwrite,
    // or no Send Messages there, takes it: permissions.md).
    let may_everyone = guild.is_some() && w.channel_permissions(channel_id, author) & perms::MENTION_EVERYONE != 0;
    let roles: Vec<u64> = mentioned(content, "<@&")
        .into_iter()
        .filter(|r| parse.iter().any(|p| p == "roles") || allowed_roles.contains(r))
        .filter(|r| guild.and_then(|g| w.role(g, *r).ok()).is_some_and(|role| role.mentionable || may_everyone))
        .collect();
    let everyone = (content.contains("@everyone") || content.contains("@here"))
        && parse.iter().any(|p| p == "everyone")
        && may_everyone;
    if let (Some(a), Some(true)) = (replied_author, allowed.get("replied_user").and_then(|v| v.as_bool())) {
        if a != author {
            users.push(a);
        }
    }
    users.sort();
    users.dedup();
    Pings { users, roles, everyone }
}

impl Message {
    pub fn is_ephemeral(&self) -> bool {
        self.flags & 64 != 0
    }
}

/// One interaction the fake sent to the bot, and what the bot answered.
#[derive(Clone, Debug)]
pub struct Interaction {
    pub id: u64,
    pub token: String,
    pub kind: u8,
    pub user_id: u64,
    pub guild_id: Option<u64>,
    pub channel_id: u64,
    /// When it was sent, in real time (the 3-second rule).
    pub sent_at: Instant,
    /// When it was sent on the test clock ([`World::now`]): its token
    /// expires 15 minutes later ([`World::token_expired`]).
    pub issued_at: Instant,
    /// Callback types received, in order (more than one is a violation).
    pub callbacks: Vec<u8>,
    /// The original response message (kept even when ephemeral).
    pub original: Option<u64>,
    pub followups: Vec<u64>,
    /// Autocomplete choices or a modal, as sent.
    pub callback_data: Option<Value>,
    /// For component interactions: the message the component was on.
    pub source_message: Option<u64>,
    /// A deferred response whose "thinking" message is not filled in yet.
    pub deferred_open: bool,
    pub answered_at: Option<Instant>,
    /// When the answer first carried content for the user: the initial
    /// response itself (types 4, 7, 8, 9), the edit or follow-up that fills
    /// in a deferred response (5), or the first use of the webhook after a
    /// deferred update (6). For latency measurements (benches/interactions.rs).
    pub content_at: Option<Instant>,
    /// Whether the bot used the interaction's webhook after answering.
    pub touched: bool,
}

/// A registered application command.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Command {
    pub id: u64,
    pub guild_id: Option<u64>,
    pub body: Value,
}

/// An audit-log reason the bot attached to a request.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct AuditEntry {
    pub method: String,
    pub path: String,
    pub reason: String,
}

/// The world serializes to what a person made (guilds, users, channels,
/// messages, commands, audit logs) so it can outlive the process
/// ([`World::snapshot`], [`World::restore`]); what was in flight
/// (interactions and their tokens, nonces, events not yet sent) and the test
/// bookkeeping (violations, the request log) start empty again.
#[derive(Default, Serialize, Deserialize)]
pub struct World {
    pub application_id: u64,
    pub bot_user_id: u64,
    next_seq: u64,
    pub users: HashMap<u64, User>,
    pub guilds: BTreeMap<u64, Guild>,
    pub channels: HashMap<u64, Channel>,
    /// Messages per channel, in order.
    pub messages: HashMap<u64, Vec<Message>>,
    #[serde(skip)]
    pub interactions: HashMap<u64, Interaction>,
    #[serde(skip)]
    pub tokens: HashMap<String, u64>,
    pub commands: Vec<Command>,
    pub audit: Vec<AuditEntry>,
    /// Each guild's audit log as Discord keeps it (GET
    /// /guilds/{id}/audit-logs), newest last: who changed a member's roles.
    pub audit_log: Vec<(u64, Value)>,
    /// Every ping a message ever carried (edits re-parse): (message id,
    /// author, channel, who). Kept after the message is deleted.
    pub pings: Vec<(u64, u64, u64, Pings)>,
    /// Broken rules (late or double interaction responses, requests outside
    /// the contract): a test fails when this is not empty.
    #[serde(skip)]
    pub violations: Vec<String>,
    /// Every REST request answered: (method, path without query, status).
    #[serde(skip)]
    pub requests: Vec<(String, String, u16)>,
    /// Gateway events produced by the last mutation, drained by the server.
    #[serde(skip)]
    pub pending_events: Vec<(String, Value)>,
    /// Members of each thread (its creator, and users added to it).
    pub thread_members: HashMap<u64, std::collections::BTreeSet<u64>>,
    /// The roles and guild channels (not threads) the bot made through the
    /// API, by id: what a test's consistency check asks a row to own.
    #[serde(default)]
    pub made_by_bot: std::collections::BTreeSet<u64>,
    /// When each invalid request (401, 403, or a 429 not of the shared
    /// scope) of the last 10 minutes was answered, on the test clock
    /// (rate-limits.md, "Invalid Request Limit aka Cloudflare bans").
    #[serde(skip)]
    pub invalid_requests: std::collections::VecDeque<Instant>,
    /// How many invalid requests in 10 minutes Discord takes before it bans
    /// the bot's address: 10,000 (`None`); a test may set fewer.
    #[serde(skip)]
    pub invalid_request_limit: Option<usize>,
    /// Message nonces by author: (author, nonce) -> (message, when), for
    /// `enforce_nonce` (Discord checks "the past few minutes").
    #[serde(skip)]
    pub nonces: HashMap<(u64, String), (u64, Instant)>,
    /// What `GET /gateway/bot` answers and how the gateway shards
    /// (topics/gateway, "Sharding", "Get Gateway Bot").
    #[serde(skip)]
    pub gateway: GatewaySettings,
    /// How far the test clock is ahead of real time ([`World::advance`]):
    /// what Discord's clock-bound rules (interaction tokens, nonces) read
    /// through [`World::now`]. The 3-second first-response rule stays on
    /// real time.
    #[serde(skip)]
    pub clock_offset: std::time::Duration,
}

/// The gateway's sharding, as Discord documents it (topics/gateway):
/// `GET /gateway/bot` recommends `shards` and reports the session start
/// limit; "each shard can only support a maximum of 2500 guilds".
#[derive(Clone, Debug)]
pub struct GatewaySettings {
    /// The recommended number of shards.
    pub shards: u64,
    /// Identifies allowed a day (1000), and how many are left.
    pub session_total: u64,
    pub session_remaining: u64,
    /// Milliseconds until the limit resets.
    pub reset_after_ms: u64,
    /// Shards that may identify at once (buckets of `shard_id % max_concurrency`).
    pub max_concurrency: u64,
    /// The most guilds one session may hold before IDENTIFY is refused
    /// with 4011 Sharding required (Discord: 2500).
    pub max_guilds_per_shard: usize,
    /// HELLO's `heartbeat_interval` in milliseconds (Discord sends 41250).
    pub heartbeat_interval_ms: u64,
    /// How long, on the test clock, a session whose connection ended stays
    /// resumable: "the session will remain active and timeout after a few
    /// minutes" (topics/gateway, "Initiating a Disconnect").
    pub session_timeout: std::time::Duration,
    /// The privileged intents enabled in the app's settings (gateway.md,
    /// "Privileged Intents"): an IDENTIFY asking for another is closed with
    /// 4014, and without MESSAGE_CONTENT messages read over REST come empty
    /// ("HTTP API restrictions are independent of Gateway restrictions").
    /// By default GUILD_MEMBERS, the one the bot needs.
    pub privileged_intents: u64,
}

impl Default for GatewaySettings {
    fn default() -> Self {
        GatewaySettings {
            shards: 1,
            session_total: 1000,
            session_remaining: 1000,
            reset_after_ms: 86_400_000,
            max_concurrency: 1,
            max_guilds_per_shard: 2500,
            heartbeat_interval_ms: 41_250,
            session_timeout: std::time::Duration::from_secs(3 * 60),
            privileged_intents: crate::gateway::intents::GUILD_MEMBERS,
        }
    }
}

/// The shard a guild's events go to: "shard_id = (guild_id >> 22) %
/// num_shards" (topics/gateway, "Sharding Formula").
pub fn shard_of(guild_id: u64, num_shards: u64) -> u64 {
    (guild_id >> 22) % num_shards.max(1)
}

/// The most channels (threads not counted) a guild holds.
pub const MAX_GUILD_CHANNELS: usize = 500;
/// The most channels a category holds.
pub const MAX_CATEGORY_CHANNELS: usize = 50;

/// How long an interaction token may be used (receiving-and-responding.md:
/// "Interaction tokens are valid for **15 minutes**").
pub const TOKEN_LIFETIME: std::time::Duration = std::time::Duration::from_secs(15 * 60);

/// How long `enforce_nonce` remembers a nonce ("the past few minutes").
pub const NONCE_WINDOW: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// A REST error in Discord's shape.
#[derive(Debug, Clone)]
pub struct ApiError {
    pub status: u16,
    pub code: u64,
    pub message: String,
}

impl ApiError {
    pub fn new(status: u16, code: u64, message: &str) -> Self {
        ApiError { status, code, message: message.to_string() }
    }
    pub fn missing_permissions() -> Self {
        Self::new(403, 50013, "Missing Permissions")
    }
    pub fn missing_access() -> Self {
        Self::new(403, 50001, "Missing Access")
    }
    pub fn unknown_channel() -> Self {
        Self::new(404, 10003, "Unknown Channel")
    }
    pub fn unknown_guild() -> Self {
        Self::new(404, 10004, "Unknown Guild")
    }
    pub fn unknown_member() -> Self {
        Self::new(404, 10007, "Unknown Member")
    }
    pub fn unknown_message() -> Self {
        Self::new(404, 10008, "Unknown Message")
    }
    pub fn unknown_role() -> Self {
        Self::new(404, 10011, "Unknown Role")
    }
    pub fn unknown_user() -> Self {
        Self::new(404, 10013, "Unknown User")
    }
    pub fn unknown_interaction() -> Self {
        Self::new(404, 10062, "Unknown interaction")
    }
    /// 50083: "Tried to perform an operation on an archived thread".
    pub fn thread_archived() -> Self {
        Self::new(400, 50083, "Thread is archived")
    }
    /// 160005: "Thread is locked".
    pub fn thread_locked() -> Self {
        Self::new(400, 160005, "Thread is locked")
    }
    pub fn invalid_webhook_token() -> Self {
        Self::new(401, 50027, "Invalid Webhook Token")
    }
    pub fn invalid_form(msg: &str) -> Self {
        Self::new(400, 50035, &format!("Invalid Form Body: {msg}"))
    }
    pub fn body(&self) -> Value {
        json!({"code": self.code, "message": self.message})
    }
}

pub type ApiResult<T> = Result<T, ApiError>;

impl World {
    pub fn new() -> Self {
        let mut w = World { next_seq: 0, ..Default::default() };
        w.bot_user_id = w.snowflake();
        w.application_id = w.bot_user_id;
        let bot = User { id: w.bot_user_id, username: "Guildhall".into(), bot: true, dms_open: false };
        w.users.insert(bot.id, bot);
        w
    }

    /// The world as JSON, for [`World::restore`].
    pub fn snapshot(&self) -> Vec<u8> {
        serde_json::to_vec(self).expect("the world is plain data")
    }

    /// A world from [`World::snapshot`]. Snowflakes made after it stay
    /// unique: they carry the time they are made, and the sequence goes on.
    pub fn restore(bytes: &[u8]) -> Result<World, serde_json::Error> {
        serde_json::from_slice(bytes)
    }

    /// The test clock's "now": real time plus what [`World::advance`] added.
    pub fn now(&self) -> Instant {
        Instant::now() + self.clock_offset
    }

    /// Count an answer toward the invalid-request limit when it is one
    /// (401, 403, or a 429 whose scope is not `shared`); past the limit in
    /// 10 minutes, Discord would ban the bot's address: a violation.
    pub fn count_invalid(&mut self, status: u16, shared_scope: bool) {
        const WINDOW: std::time::Duration = std::time::Duration::from_secs(600);
        if !matches!(status, 401 | 403 | 429) || (status == 429 && shared_scope) {
            return;
        }
        let now = self.now();
        self.invalid_requests.push_back(now);
        while self.invalid_requests.front().is_some_and(|t| now.duration_since(*t) > WINDOW) {
            self.invalid_requests.pop_front();
        }
        let limit = self.invalid_request_limit.unwrap_or(10_000);
        if self.invalid_requests.len() == limit + 1 {
            self.violations.push(format!(
                "more than {limit} invalid requests (401, 403, 429) in 10 minutes: Discord would ban the bot's address"
            ));
        }
    }

    /// Move the test clock forward by `by` (tokens expire, nonces are
    /// forgotten) without waiting.
    pub fn advance(&mut self, by: std::time::Duration) {
        self.clock_offset += by;
    }

    /// Whether an interaction's token is past its 15 minutes on the test clock.
    pub fn token_expired(&self, i: &Interaction) -> bool {
        self.now().saturating_duration_since(i.issued_at) > TOKEN_LIFETIME
    }

    /// A fresh snowflake for "now".
    pub fn snowflake(&mut self) -> u64 {
        let ms = chrono::Utc::now().timestamp_millis();
        self.snowflake_at(ms)
    }

    /// A fresh snowflake that, as a guild id, routes to `shard` of
    /// `num_shards` ([`shard_of`]): its timestamp is the first millisecond
    /// from now that does.
    pub fn snowflake_on_shard(&mut self, shard: u64, num_shards: u64) -> u64 {
        assert!(shard < num_shards, "shard {shard} of {num_shards} does not exist");
        let mut ms = chrono::Utc::now().timestamp_millis();
        while shard_of(((ms - DISCORD_EPOCH_MS) as u64) << 22, num_shards) != shard {
            ms += 1;
        }
        self.snowflake_at(ms)
    }

    /// A snowflake whose timestamp is `unix_ms` (used for account ages).
    pub fn snowflake_at(&mut self, unix_ms: i64) -> u64 {
        self.next_seq += 1;
        (((unix_ms - DISCORD_EPOCH_MS).max(0) as u64) << 22) | (self.next_seq & 0x3f_ffff)
    }

    pub fn emit(&mut self, event: &str, data: Value) {
        self.pending_events.push((event.to_string(), data));
    }

    pub fn guild(&self, id: u64) -> ApiResult<&Guild> {
        self.guilds.get(&id).ok_or_else(ApiError::unknown_guild)
    }
    pub fn guild_mut(&mut self, id: u64) -> ApiResult<&mut Guild> {
        self.guilds.get_mut(&id).ok_or_else(ApiError::unknown_guild)
    }
    pub fn channel(&self, id: u64) -> ApiResult<&Channel> {
        self.channels.get(&id).ok_or_else(ApiError::unknown_channel)
    }
    pub fn user(&self, id: u64) -> ApiResult<&User> {
        self.users.get(&id).ok_or_else(ApiError::unknown_user)
    }

    /// The largest file a message in this channel may carry: its server's
    /// limit (DMs: an unboosted server's).
    pub fn attachment_size_limit(&self, channel_id: u64) -> u64 {
        self.channels
            .get(&channel_id)
            .and_then(|c| c.guild_id)
            .and_then(|g| self.guilds.get(&g))
            .map_or(DEFAULT_ATTACHMENT_SIZE_LIMIT, |g| g.attachment_size_limit)
    }

    pub fn role(&self, guild_id: u64, role_id: u64) -> ApiResult<&Role> {
        self.guild(guild_id)?.roles.iter().find(|r| r.id == role_id).ok_or_else(ApiError::unknown_role)
    }

    /// The highest position among a member's roles (0 = only @everyone).
    pub fn highest_position(&self, guild_id: u64, user_id: u64) -> i64 {
        let Ok(g) = self.guild(guild_id) else { return -1 };
        let Some(m) = g.members.get(&user_id) else {
            return -1;
        };
        g.roles.iter().filter(|r| m.roles.contains(&r.id)).map(|r| r.position).max().unwrap_or(0)
    }

    /// Guild-level permissions of a member, as Discord computes them.
    pub fn base_permissions(&self, guild_id: u64, user_id: u64) -> u64 {
        let Ok(g) = self.guild(guild_id) else { return 0 };
        if g.owner_id == user_id {
            return perms::ALL;
        }
        let Some(m) = g.members.get(&user_id) else {
            return 0;
        };
        let mut p = 0;
        for r in &g.roles {
            if r.id == guild_id || m.roles.contains(&r.id) {
                p |= r.permissions;
            }
        }
        if p & perms::ADMINISTRATOR != 0 {
            perms::ALL
        } else {
            p
        }
    }

    /// Whether a user can see a thread: a public one with its parent; a
    /// private one only as a thread member or with Manage Threads there.
    pub fn can_view_thread(&self, thread_id: u64, user_id: u64) -> bool {
        let Ok(th) = self.channel(thread_id) else { return false };
        let p = self.channel_permissions(thread_id, user_id);
        if p & perms::VIEW_CHANNEL == 0 {
            return false;
        }
        th.kind != channel_type::PRIVATE_THREAD
            || p & perms::MANAGE_THREADS != 0
            || self.thread_members.get(&thread_id).is_some_and(|m| m.contains(&user_id))
    }

    /// Channel permissions of a member, with overwrites applied in Discord's
    /// order (@everyone, roles together, then the member), then the implicit
    /// denials of permissions.md, "Implicit Permissions": "Denying a user or
    /// a role `VIEW_CHANNEL` on a channel implicitly denies other permissions
    /// on the channel" (nothing is left), and "Denying `SEND_MESSAGES`
    /// implicitly denies `MENTION_EVERYONE`, `SEND_TTS_MESSAGES`,
    /// `ATTACH_FILES`, and `EMBED_LINKS`". In a thread the base action of
    /// sending is `SEND_MESSAGES_IN_THREADS` ("The `SEND_MESSAGES`
    /// permission is not inherited; users must have
    /// `SEND_MESSAGES_IN_THREADS` to send a message in a thread"), so that
    /// is the one whose absence takes the others. Threads use their
    /// parent's overwrites.
    pub fn channel_permissions(&self, channel_id: u64, user_id: u64) -> u64 {
        let Ok(ch) = self.channel(channel_id) else {
            return 0;
        };
        let send = if matches!(ch.kind, channel_type::PUBLIC_THREAD | channel_type::PRIVATE_THREAD) {
            perms::SEND_MESSAGES_IN_THREADS
        } else {
            perms::SEND_MESSAGES
        };
        let p = self.explicit_channel_permissions(channel_id, user_id);
        if p & send == 0 {
            p & !(perms::MENTION_EVERYONE | perms::SEND_TTS_MESSAGES | perms::ATTACH_FILES | perms::EMBED_LINKS)
        } else {
            p
        }
    }

    /// `channel_permissions` before the implicit denials of Send Messages
    /// (View Channel's is applied: without it nothing is left).
    fn explicit_channel_permissions(&self, channel_id: u64, user_id: u64) -> u64 {
        let Ok(mut ch) = self.channel(channel_id) else {
            return 0;
        };
        if matches!(ch.kind, channel_type::PUBLIC_THREAD | channel_type::PRIVATE_THREAD) {
            if let Some(parent) = ch.parent_id.and_then(|p| self.channels.get(&p)) {
                ch = parent;
            }
        }
        let Some(guild_id) = ch.guild_id else {
            return perms::VIEW_CHANNEL | perms::SEND_MESSAGES | perms::READ_MESSAGE_HISTORY;
        };
        let base = self.base_permissions(guild_id, user_id);
        if base & perms::ADMINISTRATOR != 0 {
            return perms::ALL;
        }
        let member_roles = self
            .guild(guild_id)
            .ok()
            .and_then(|g| g.members.get(&user_id))
            .map(|m| m.roles.clone())
            .unwrap_or_default();
        let mut p = base;
        if let Some(o) = ch.overwrites.iter().find(|o| o.id == guild_id) {
            p = (p & !o.deny) | o.allow;
        }
        let (mut allow, mut deny) = (0, 0);
        for o in ch.overwrites.iter().filter(|o| o.kind == 0 && member_roles.contains(&o.id)) {
            allow |= o.allow;
            deny |= o.deny;
        }
        p = (p & !deny) | allow;
        if let Some(o) = ch.overwrites.iter().find(|o| o.kind == 1 && o.id == user_id) {
            p = (p & !o.deny) | o.allow;
        }
        if p & perms::VIEW_CHANNEL == 0 {
            return 0;
        }
        p
    }

    pub fn can_view(&self, channel_id: u64, user_id: u64) -> bool {
        self.channel_permissions(channel_id, user_id) & perms::VIEW_CHANNEL != 0
    }

    /// Whether the bot may touch `role_id` (below its highest role, with
    /// Manage Roles). Discord answers 50013 otherwise.
    pub fn bot_can_manage_role(&self, guild_id: u64, role_id: u64) -> ApiResult<()> {
        let role = self.role(guild_id, role_id)?;
        let bot = self.bot_user_id;
        if self.base_permissions(guild_id, bot) & perms::MANAGE_ROLES == 0 {
            return Err(ApiError::missing_permissions());
        }
        if self.guild(guild_id)?.owner_id != bot && role.position >= self.highest_position(guild_id, bot) {
            return Err(ApiError::missing_permissions());
        }
        if role.managed || role.id == guild_id {
            return Err(ApiError::missing_permissions());
        }
        Ok(())
    }

    /// Delete a role as Discord does: members lose it and every permission
    /// overwrite naming it goes with it. Emits GUILD_ROLE_DELETE (Discord
    /// sends no GUILD_MEMBER_UPDATE or CHANNEL_UPDATE for these).
    pub fn remove_role(&mut self, guild_id: u64, role_id: u64) {
        let Some(g) = self.guilds.get_mut(&guild_id) else { return };
        g.roles.retain(|r| r.id != role_id);
        for m in g.members.values_mut() {
            m.roles.retain(|r| *r != role_id);
        }
        let channels = g.channels.clone();
        for c in channels {
            if let Some(ch) = self.channels.get_mut(&c) {
                ch.overwrites.retain(|o| o.id != role_id);
            }
        }
        self.emit("GUILD_ROLE_DELETE", json!({"guild_id": guild_id.to_string(), "role_id": role_id.to_string()}));
    }

    /// Delete a channel as Discord does: a category's children move out of
    /// it (parent_id null, each with CHANNEL_UPDATE), a channel's threads and
    /// messages go with it (no THREAD_DELETE is sent for those). Emits
    /// CHANNEL_DELETE, or THREAD_DELETE for a thread. Returns the channel.
    pub fn remove_channel(&mut self, channel_id: u64) -> Option<Channel> {
        let ch = self.channels.remove(&channel_id)?;
        self.messages.remove(&channel_id);
        self.thread_members.remove(&channel_id);
        let siblings = ch.guild_id.and_then(|g| self.guilds.get(&g)).map(|g| g.channels.clone()).unwrap_or_default();
        let mut gone = vec![channel_id];
        for c in siblings {
            let Some(child) = self.channels.get_mut(&c) else { continue };
            if child.parent_id != Some(channel_id) {
                continue;
            }
            if matches!(child.kind, channel_type::PUBLIC_THREAD | channel_type::PRIVATE_THREAD) {
                self.channels.remove(&c);
                self.messages.remove(&c);
                self.thread_members.remove(&c);
                gone.push(c);
            } else {
                child.parent_id = None;
                let v = crate::payload::channel(child);
                self.emit("CHANNEL_UPDATE", v);
            }
        }
        if let Some(g) = ch.guild_id.and_then(|g| self.guilds.get_mut(&g)) {
            g.channels.retain(|c| !gone.contains(c));
        }
        let event = if matches!(ch.kind, channel_type::PUBLIC_THREAD | channel_type::PRIVATE_THREAD) {
            "THREAD_DELETE"
        } else {
            "CHANNEL_DELETE"
        };
        let v = crate::payload::channel(&ch);
        self.emit(event, v);
        Some(ch)
    }

    /// Record a MEMBER_ROLE_UPDATE (action type 25) in the guild's audit
    /// log: `actor` gave (`$add`) or took (`$remove`) `role_id` from `target`.
    pub fn log_role_update(&mut self, guild_id: u64, actor: u64, target: u64, role_id: u64, added: bool) {
        let name = self.role(guild_id, role_id).map(|r| r.name.clone()).unwrap_or_default();
        let id = self.snowflake();
        let entry = json!({
            "id": id.to_string(),
            "user_id": actor.to_string(),
            "target_id": target.to_string(),
            "action_type": 25,
            "changes": [{"key": if added { "$add" } else { "$remove" },
                         "new_value": [{"id": role_id.to_string(), "name": name}]}],
        });
        self.audit_log.push((guild_id, entry));
    }

    /// Whether a new channel (not a thread) fits in the guild and its
    /// category: channel.md, `parent_id`, "each parent category can contain
    /// up to 50 channels" (400, 50035 on `parent_id`), and
    /// opcodes-and-status-codes.md, 30013 "Maximum number of guild channels
    /// reached (500)", where threads.md says "Threads do not count against
    /// the max-channels limit in a guild".
    pub fn channel_fits(&self, guild_id: u64, parent: Option<u64>) -> ApiResult<()> {
        let g = self.guild(guild_id)?;
        let channels: Vec<&Channel> = g
            .channels
            .iter()
            .filter_map(|c| self.channels.get(c))
            .filter(|c| !matches!(c.kind, channel_type::PUBLIC_THREAD | channel_type::PRIVATE_THREAD))
            .collect();
        if channels.len() >= MAX_GUILD_CHANNELS {
            return Err(ApiError::new(400, 30013, "Maximum number of guild channels reached (500)"));
        }
        if let Some(p) = parent {
            if channels.iter().filter(|c| c.parent_id == Some(p)).count() >= MAX_CATEGORY_CHANNELS {
                return Err(ApiError::invalid_form("parent_id: Maximum number of channels in category reached (50)"));
            }
        }
        Ok(())
    }

    /// Messages of a channel, oldest first.
    pub fn channel_messages(&self, channel_id: u64) -> &[Message] {
        self.messages.get(&channel_id).map(|v| v.as_slice()).unwrap_or(&[])
    }

    pub fn find_message(&self, message_id: u64) -> Option<&Message> {
        self.messages.values().flat_map(|v| v.iter()).find(|m| m.id == message_id)
    }

    pub fn find_message_mut(&mut self, message_id: u64) -> Option<&mut Message> {
        self.messages.values_mut().flat_map(|v| v.iter_mut()).find(|m| m.id == message_id)
    }

    /// How many successful requests matched `method` and a path containing `part`.
    pub fn count_requests(&self, method: &str, part: &str) -> usize {
        self.requests.iter().filter(|(m, p, s)| m == method && p.contains(part) && *s < 400).count()
    }

    /// The DM channel between the bot and a user, if one was opened.
    pub fn dm_channel_of(&self, user_id: u64) -> Option<u64> {
        self.channels.values().find(|c| c.kind == channel_type::DM && c.owner_id == Some(user_id)).map(|c| c.id)
    }
}
