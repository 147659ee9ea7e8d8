//! `/health` (A4): what is wrong with a server's set-up, as pure rules over
//! plain facts (the bot's permissions, roles and channels as Discord has
//! them; the groups, settings, queue and requests as Postgres has them), and
//! the queries that read the Postgres side, each for one server only.
//!
//! `examine` returns every finding; the view turns each into one line with
//! its fix. Nothing here knows serenity: permissions are Discord's bits.

use super::channels::{self, kind, Use};
use super::group::Bucket;
use super::reconcile::Run;
use super::role_safety::{RoleFacts, ELEVATED};
use super::sla::Sla;
use super::{db_id, snowflake};
use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;

/// Discord's limits (guild.md: 250 roles; 500 channels, threads not
/// counted; 50 channels in a category), and where `/health` starts warning:
/// at 90% of each, early enough to act before a group can't be made (every
/// group takes a role, a second one for notifications once followed, and a
/// channel in its bucket's category).
pub const ROLE_LIMIT: usize = 250;
pub const ROLE_WARN: usize = 225;
pub const CHANNEL_LIMIT: usize = 500;
pub const CHANNEL_WARN: usize = 450;
pub const CATEGORY_LIMIT: usize = 50;
pub const CATEGORY_WARN: usize = 45;

/// A DM still waiting this long after it was due is late.
pub const DM_LATE_MINUTES: i64 = 10;
/// A full reconcile not finished this long after it started was cut short.
pub const RUN_STALE_MINUTES: i64 = 30;
/// Gateway latency above this is worth a warning.
pub const SLOW_GATEWAY_MS: u64 = 1000;

/// A guild channel (no threads) and the bot's permissions in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelInfo {
    pub id: u64,
    /// Discord's channel type.
    pub kind: u8,
    pub parent_id: Option<u64>,
    /// The bot's permissions there, overwrites applied.
    pub bot_permissions: u64,
}

/// The server as Discord has it now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// The bot's server-wide permissions (every bit for an Administrator).
    pub bot_permissions: u64,
    /// The position of the bot's highest role.
    pub bot_top: i64,
    /// The name of the bot's highest role, to name it in fixes.
    pub bot_role: String,
    pub roles: Vec<RoleFacts>,
    pub channels: Vec<ChannelInfo>,
}

/// A group's Discord side as Postgres has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupInfo {
    pub name: String,
    pub role_id: Option<u64>,
    pub channel_id: Option<u64>,
    /// Its notification role, once made.
    pub notify_role_id: Option<u64>,
}

/// The channels `/config` and `/directory post` set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Configured {
    pub mod_channel: Option<u64>,
    pub requests_channel: Option<u64>,
    pub directory_channel: Option<u64>,
}

/// The server's part of the DM queue.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Queue {
    /// DMs and digests waiting to be sent.
    pub waiting: i64,
    /// Of those, how many are more than `DM_LATE_MINUTES` past due.
    pub late: i64,
    pub oldest_due: Option<DateTime<Utc>>,
    /// Given up on in the last day (after every retry).
    pub failed_last_day: i64,
    /// The server's members whose DMs are closed to the bot.
    pub closed_dms: i64,
}

/// The server's pending join requests against its SLA (R5).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Requests {
    pub sla: Sla,
    pub pending: i64,
    /// Waiting longer than T1 (the leaders' reminder).
    pub past_remind: i64,
    /// Waiting longer than T2 (the admins' alert).
    pub past_alert: i64,
    /// Overdue ones whose alert could not reach the admins.
    pub alerts_undelivered: i64,
    pub oldest: Option<DateTime<Utc>>,
}

/// The server's Discord changes the background pass is retrying (N5): roles
/// and channels of deleted groups Discord has not deleted yet
/// (`discord_leftovers`), and followers whose notification role is out of
/// step after a refused sync (`notify_sync_pending`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Retries {
    pub leftovers: i64,
    pub notify_syncs: i64,
}

/// The server's member-role changes waiting in the applier's queue (N6),
/// and the pace this process applied them at lately.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct RoleQueue {
    pub waiting: i64,
    pub oldest_seconds: i64,
    pub per_second: f64,
}

/// Role changes waiting longer than this are a warning.
pub const ROLE_QUEUE_SLOW_SECONDS: i64 = 120;

/// Everything `/health` looks at.
#[derive(Debug, Clone, PartialEq)]
pub struct Facts {
    pub server: Server,
    pub groups: Vec<GroupInfo>,
    /// Each bucket's category, as remembered.
    pub buckets: Vec<(Bucket, u64)>,
    pub configured: Configured,
    /// The newest full reconcile (A5), if any ran.
    pub last_run: Option<Run>,
    pub queue: Queue,
    pub requests: Requests,
    pub retries: Retries,
    pub role_queue: RoleQueue,
    /// Gateway latency, when a heartbeat was acknowledged yet.
    pub latency_ms: Option<u64>,
    pub now: DateTime<Utc>,
}

/// Where a channel the bot uses is used for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// The mod, requests or directory channel.
    Configured(Use),
    /// A group's channel.
    Group(String),
}

/// A Discord limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    Roles,
    Channels,
    Category(Bucket),
}

/// One thing to fix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Finding {
    /// The bot lacks these server-wide (`channels::SERVER`).
    ServerPermissions { missing: u64 },
    /// A channel the bot uses no longer exists.
    ChannelGone { place: Place, channel_id: u64 },
    /// A configured channel is no longer a text channel.
    ChannelKind { place: Place, channel_id: u64 },
    /// The bot lacks these in a channel it uses (`Use::needs`).
    ChannelPermissions { place: Place, channel_id: u64, missing: u64 },
    /// A group's role was deleted.
    RoleGone { group: String, role_id: u64 },
    /// A role the bot grants (the group's, or its notification role) is at
    /// or above the bot's highest role: Discord refuses to grant it.
    RoleAboveBot { group: String, role: String, notify: bool },
    /// A group role carries elevated permissions (A3): the bot won't grant it.
    RoleElevated { group: String, role: String, permissions: u64 },
    /// A bucket's category was deleted.
    CategoryGone { bucket: Bucket, channel_id: u64 },
    /// At (`full`) or close to one of Discord's limits.
    Headroom { limit: Limit, used: usize, full: bool },
    /// The newest full reconcile could not repair some differences.
    ReconcileFailed { failed: i32 },
    /// It only reported some (policy report).
    ReconcileReported { reported: i32 },
    /// It was a dry run that found differences nobody applied.
    ReconcileUnapplied { found: i32 },
    /// It started long ago and never finished.
    ReconcileUnfinished { started_at: DateTime<Utc> },
    /// DMs more than `DM_LATE_MINUTES` past due.
    DmsLate { count: i64 },
    /// DMs given up on in the last day.
    DmsFailed { count: i64 },
    /// Join requests waiting longer than the admins' alert time.
    RequestsOverdue { count: i64, hours: i32 },
    /// Overdue-request alerts that reached no admin.
    AlertsUndelivered { count: i64 },
    /// Discord changes the background pass is still retrying.
    DiscordRetries { leftovers: i64, notify_syncs: i64 },
    /// Member-role changes have waited for Discord longer than
    /// `ROLE_QUEUE_SLOW_SECONDS`.
    RoleQueueSlow { waiting: i64, oldest_seconds: i64 },
    /// The gateway answers slowly.
    SlowGateway { ms: u64 },
}

/// A problem is broken now; a warning needs attention soon.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Severity {
    Problem,
    Warning,
}

impl Finding {
    pub fn severity(&self) -> Severity {
        match self {
            Finding::Headroom { full, .. } => {
                if *full {
                    Severity::Problem
                } else {
                    Severity::Warning
                }
            }
            Finding::ReconcileReported { .. }
            | Finding::ReconcileUnapplied { .. }
            | Finding::ReconcileUnfinished { .. }
            | Finding::DmsLate { .. }
            | Finding::DmsFailed { .. }
            | Finding::RequestsOverdue { .. }
            | Finding::DiscordRetries { .. }
            | Finding::RoleQueueSlow { .. }
            | Finding::SlowGateway { .. } => Severity::Warning,
            _ => Severity::Problem,
        }
    }
}

fn configured_uses(c: &Configured) -> Vec<(Use, u64)> {
    let mut out = vec![];
    if let Some(id) = c.mod_channel {
        out.push((Use::Mod, id));
    }
    if let Some(id) = c.requests_channel {
        out.push((Use::Requests, id));
    }
    if let Some(id) = c.directory_channel {
        out.push((Use::Directory, id));
    }
    out
}

/// Every finding, problems of the bot's own access first, then the groups'
/// roles and channels, Discord's limits, and the background work.
pub fn examine(f: &Facts) -> Vec<Finding> {
    let mut out = vec![];
    let s = &f.server;
    let channel = |id: u64| s.channels.iter().find(|c| c.id == id);

    let missing = channels::SERVER & !s.bot_permissions;
    if missing != 0 {
        out.push(Finding::ServerPermissions { missing });
    }

    // A permission missing server-wide is missing in every channel that
    // doesn't allow it itself: one line for it, not one per channel.
    let in_channel = |perms: u64, what: Use| channels::missing(perms, what) & !missing;
    for (what, id) in configured_uses(&f.configured) {
        let place = Place::Configured(what);
        match channel(id) {
            None => out.push(Finding::ChannelGone { place, channel_id: id }),
            Some(c) if c.kind != kind::TEXT => out.push(Finding::ChannelKind { place, channel_id: id }),
            Some(c) => {
                let missing = in_channel(c.bot_permissions, what);
                if missing != 0 {
                    out.push(Finding::ChannelPermissions { place, channel_id: id, missing });
                }
            }
        }
    }
    for g in &f.groups {
        let Some(id) = g.channel_id else { continue };
        let place = Place::Group(g.name.clone());
        match channel(id) {
            None => out.push(Finding::ChannelGone { place, channel_id: id }),
            Some(c) => {
                let missing = in_channel(c.bot_permissions, Use::Group);
                if missing != 0 {
                    out.push(Finding::ChannelPermissions { place, channel_id: id, missing });
                }
            }
        }
    }

    let role = |id: u64| s.roles.iter().find(|r| r.id == id);
    for g in &f.groups {
        let Some(id) = g.role_id else { continue };
        let Some(r) = role(id) else {
            out.push(Finding::RoleGone { group: g.name.clone(), role_id: id });
            continue;
        };
        if r.position >= s.bot_top {
            out.push(Finding::RoleAboveBot { group: g.name.clone(), role: r.name.clone(), notify: false });
        }
        if r.permissions & ELEVATED != 0 {
            out.push(Finding::RoleElevated {
                group: g.name.clone(),
                role: r.name.clone(),
                permissions: r.permissions & ELEVATED,
            });
        }
    }
    for g in &f.groups {
        if let Some(r) = g.notify_role_id.and_then(role) {
            if r.position >= s.bot_top {
                out.push(Finding::RoleAboveBot { group: g.name.clone(), role: r.name.clone(), notify: true });
            }
        }
    }

    for (bucket, id) in &f.buckets {
        if channel(*id).is_none_or(|c| c.kind != kind::CATEGORY) {
            out.push(Finding::CategoryGone { bucket: *bucket, channel_id: *id });
        }
    }

    let headroom = |limit, used: usize, warn: usize, max: usize| {
        (used >= warn).then_some(Finding::Headroom { limit, used, full: used >= max })
    };
    out.extend(headroom(Limit::Roles, s.roles.len(), ROLE_WARN, ROLE_LIMIT));
    out.extend(headroom(Limit::Channels, s.channels.len(), CHANNEL_WARN, CHANNEL_LIMIT));
    for (bucket, id) in &f.buckets {
        let used = s.channels.iter().filter(|c| c.parent_id == Some(*id)).count();
        out.extend(headroom(Limit::Category(*bucket), used, CATEGORY_WARN, CATEGORY_LIMIT));
    }

    if let Some(run) = &f.last_run {
        if run.finished_at.is_none() {
            if f.now - run.started_at > Duration::minutes(RUN_STALE_MINUTES) {
                out.push(Finding::ReconcileUnfinished { started_at: run.started_at });
            }
        } else if run.trigger == "dry-run" {
            if run.found > 0 {
                out.push(Finding::ReconcileUnapplied { found: run.found });
            }
        } else {
            if run.failed > 0 {
                out.push(Finding::ReconcileFailed { failed: run.failed });
            }
            if run.reported > 0 {
                out.push(Finding::ReconcileReported { reported: run.reported });
            }
        }
    }

    if f.queue.late > 0 {
        out.push(Finding::DmsLate { count: f.queue.late });
    }
    if f.queue.failed_last_day > 0 {
        out.push(Finding::DmsFailed { count: f.queue.failed_last_day });
    }
    if f.requests.alerts_undelivered > 0 {
        out.push(Finding::AlertsUndelivered { count: f.requests.alerts_undelivered });
    }
    if f.requests.past_alert > 0 {
        out.push(Finding::RequestsOverdue { count: f.requests.past_alert, hours: f.requests.sla.escalate_hours });
    }
    if f.retries.leftovers > 0 || f.retries.notify_syncs > 0 {
        let Retries { leftovers, notify_syncs } = f.retries;
        out.push(Finding::DiscordRetries { leftovers, notify_syncs });
    }
    if f.role_queue.oldest_seconds > ROLE_QUEUE_SLOW_SECONDS {
        let RoleQueue { waiting, oldest_seconds, .. } = f.role_queue;
        out.push(Finding::RoleQueueSlow { waiting, oldest_seconds });
    }
    if let Some(ms) = f.latency_ms.filter(|ms| *ms > SLOW_GATEWAY_MS) {
        out.push(Finding::SlowGateway { ms });
    }
    out
}

/// The server's Discord changes waiting for the background pass's retry.
pub async fn retries(conn: &mut PgConnection, guild_id: u64) -> Result<Retries, sqlx::Error> {
    let r = sqlx::query!(
        r#"select (select count(*) from discord_leftovers where guild_id = $1) as "leftovers!",
                  (select count(*) from notify_sync_pending where guild_id = $1) as "notify_syncs!""#,
        db_id(guild_id)
    )
    .fetch_one(conn)
    .await?;
    Ok(Retries { leftovers: r.leftovers, notify_syncs: r.notify_syncs })
}

// ---- The Postgres side, one server at a time.

/// The server's groups (archived ones too: their roles and channels stay),
/// by name.
pub async fn groups(conn: &mut PgConnection, guild_id: u64) -> Result<Vec<GroupInfo>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select g.name, g.role_id, g.channel_id, n.role_id as "notify_role_id?"
           from groups g left join notify_roles n on n.group_id = g.id
           where g.guild_id = $1 order by lower(g.name)"#,
        db_id(guild_id)
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| GroupInfo {
            name: r.name,
            role_id: r.role_id.map(snowflake),
            channel_id: r.channel_id.map(snowflake),
            notify_role_id: r.notify_role_id.map(snowflake),
        })
        .collect())
}

/// Each bucket's remembered category.
pub async fn buckets(conn: &mut PgConnection, guild_id: u64) -> Result<Vec<(Bucket, u64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select bucket as "bucket: Bucket", category_id from bucket_categories where guild_id = $1
           order by array_position(array['identity','industry','interest','impact'], bucket)"#,
        db_id(guild_id)
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.bucket, snowflake(r.category_id))).collect())
}

/// The server's newest full reconcile, of any kind, finished or not.
pub use super::reconcile::newest_run;

/// The server's DM queue at `now`, and how many of its members have closed
/// their DMs to the bot (someone is the server's when they follow something
/// in it, chose a mode in it, belong to one of its groups or have a DM of it
/// queued; the DM status itself is per user).
pub async fn queue(conn: &mut PgConnection, guild_id: u64, now: DateTime<Utc>) -> Result<Queue, sqlx::Error> {
    let late_before = now - Duration::minutes(DM_LATE_MINUTES);
    let day_ago = now - Duration::days(1);
    let q = sqlx::query!(
        r#"select count(*) filter (where state = 'pending') as "waiting!",
                  count(*) filter (where state = 'pending' and run_at < $2) as "late!",
                  min(run_at) filter (where state = 'pending') as oldest_due,
                  count(*) filter (where state = 'failed' and done_at > $3) as "failed!"
           from deliveries where guild_id = $1"#,
        db_id(guild_id),
        late_before,
        day_ago
    )
    .fetch_one(&mut *conn)
    .await?;
    let closed = sqlx::query_scalar!(
        r#"select count(*) as "n!" from dm_status d
           where d.closed_at is not null and (
               exists (select 1 from notification_prefs p where p.guild_id = $1 and p.user_id = d.user_id)
               or exists (select 1 from memberships m join groups g on g.id = m.group_id
                          where g.guild_id = $1 and m.user_id = d.user_id)
               or exists (select 1 from subscriptions s where s.guild_id = $1 and s.user_id = d.user_id)
               or exists (select 1 from deliveries q where q.guild_id = $1 and q.user_id = d.user_id))"#,
        db_id(guild_id)
    )
    .fetch_one(conn)
    .await?;
    Ok(Queue {
        waiting: q.waiting,
        late: q.late,
        oldest_due: q.oldest_due,
        failed_last_day: q.failed,
        closed_dms: closed,
    })
}

/// The server's pending join requests against its SLA at `now`.
pub async fn requests(
    conn: &mut PgConnection,
    guild_id: u64,
    sla: Sla,
    now: DateTime<Utc>,
) -> Result<Requests, sqlx::Error> {
    let remind_before = now - Duration::hours(sla.remind_hours as i64);
    let alert_before = now - Duration::hours(sla.escalate_hours as i64);
    let r = sqlx::query!(
        r#"select count(*) as "pending!",
                  count(*) filter (where created_at <= $2) as "past_remind!",
                  count(*) filter (where created_at <= $3) as "past_alert!",
                  count(*) filter (where escalation_delivered = false) as "undelivered!",
                  min(created_at) as oldest
           from join_requests where guild_id = $1 and status = 'pending'"#,
        db_id(guild_id),
        remind_before,
        alert_before
    )
    .fetch_one(conn)
    .await?;
    Ok(Requests {
        sla,
        pending: r.pending,
        past_remind: r.past_remind,
        past_alert: r.past_alert,
        alerts_undelivered: r.undelivered,
        oldest: r.oldest,
    })
}

/// What `/health` looked at, and what it found.
#[derive(Debug, Clone)]
pub struct Checked {
    pub facts: Facts,
    pub findings: Vec<Finding>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::channels::{SEND_MESSAGES, SERVER, VIEW_CHANNEL};

    const GUILD: u64 = 1;
    const BOT_ROLE: u64 = 2;
    const RUST_ROLE: u64 = 10;
    const RUST_CHANNEL: u64 = 20;
    const CATEGORY: u64 = 30;
    const MODS: u64 = 40;

    fn role(id: u64, name: &str, position: i64, permissions: u64) -> RoleFacts {
        RoleFacts { id, guild_id: GUILD, name: name.into(), permissions, position, managed: false }
    }

    fn chan(id: u64, kind: u8, parent_id: Option<u64>, bot_permissions: u64) -> ChannelInfo {
        ChannelInfo { id, kind, parent_id, bot_permissions }
    }

    /// A healthy server: one group "Rust" under the Interest category, a mod
    /// channel, the bot above the group role with every permission it needs.
    fn healthy() -> Facts {
        let all = (1u64 << 51) - 1;
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        Facts {
            server: Server {
                bot_permissions: SERVER,
                bot_top: 3,
                bot_role: "Guildhall".into(),
                roles: vec![
                    role(GUILD, "@everyone", 0, 0),
                    role(RUST_ROLE, "Rust", 1, 0),
                    role(BOT_ROLE, "Guildhall", 3, SERVER),
                ],
                channels: vec![
                    chan(CATEGORY, kind::CATEGORY, None, all),
                    chan(RUST_CHANNEL, kind::FORUM, Some(CATEGORY), Use::Group.needs()),
                    chan(MODS, kind::TEXT, None, Use::Mod.needs()),
                ],
            },
            groups: vec![GroupInfo {
                name: "Rust".into(),
                role_id: Some(RUST_ROLE),
                channel_id: Some(RUST_CHANNEL),
                notify_role_id: None,
            }],
            buckets: vec![(Bucket::Interest, CATEGORY)],
            configured: Configured { mod_channel: Some(MODS), ..Default::default() },
            last_run: None,
            queue: Queue::default(),
            role_queue: RoleQueue::default(),
            retries: Retries::default(),
            requests: Requests {
                sla: Sla::default(),
                pending: 0,
                past_remind: 0,
                past_alert: 0,
                alerts_undelivered: 0,
                oldest: None,
            },
            latency_ms: Some(40),
            now,
        }
    }

    fn run(trigger: &str, finished: bool, found: i32, reported: i32, failed: i32, now: DateTime<Utc>) -> Run {
        Run {
            id: 1,
            trigger: trigger.into(),
            actor_id: None,
            policy: "follow".into(),
            started_at: now - Duration::hours(1),
            finished_at: finished.then_some(now - Duration::minutes(59)),
            found,
            repaired: found - reported - failed,
            reported,
            failed,
            summary: String::new(),
        }
    }

    #[test]
    fn a_healthy_server_has_no_findings() {
        assert_eq!(examine(&healthy()), vec![]);
        let mut f = healthy();
        f.server.bot_permissions = (1 << 51) - 1; // an Administrator bot
        f.last_run = Some(run("session", true, 2, 0, 0, f.now));
        f.queue = Queue { waiting: 3, late: 0, oldest_due: Some(f.now), failed_last_day: 0, closed_dms: 4 };
        assert_eq!(examine(&f), vec![], "repairs done, DMs on time and closed DMs are no problem");
    }

    #[test]
    fn missing_server_permissions_are_named_by_bit_once() {
        let mut f = healthy();
        let lost = channels::MANAGE_ROLES | channels::MANAGE_THREADS;
        f.server.bot_permissions = SERVER & !lost;
        // The channels inherit the loss; it is one line, not one per channel.
        f.server.channels[1].bot_permissions &= !lost;
        assert_eq!(examine(&f), vec![Finding::ServerPermissions { missing: lost }]);
        // A channel that also denies something else says so.
        f.server.channels[1].bot_permissions &= !channels::EMBED_LINKS;
        assert_eq!(
            examine(&f)[1],
            Finding::ChannelPermissions {
                place: Place::Group("Rust".into()),
                channel_id: RUST_CHANNEL,
                missing: channels::EMBED_LINKS
            }
        );
    }

    #[test]
    fn configured_and_group_channels_are_checked_by_their_use() {
        let mut f = healthy();
        f.configured.requests_channel = Some(MODS); // a channel the bot posts in is no requests channel
        f.configured.directory_channel = Some(99); // deleted
        f.server.channels[1].bot_permissions = Use::Group.needs() & !channels::MANAGE_THREADS;
        let got = examine(&f);
        assert_eq!(
            got,
            vec![
                Finding::ChannelPermissions {
                    place: Place::Configured(Use::Requests),
                    channel_id: MODS,
                    missing: channels::CREATE_PRIVATE_THREADS | channels::SEND_MESSAGES_IN_THREADS,
                },
                Finding::ChannelGone { place: Place::Configured(Use::Directory), channel_id: 99 },
                Finding::ChannelPermissions {
                    place: Place::Group("Rust".into()),
                    channel_id: RUST_CHANNEL,
                    missing: channels::MANAGE_THREADS,
                },
            ]
        );
        assert!(got.iter().all(|g| g.severity() == Severity::Problem));
        // A requests channel without Send Messages is fine; a mod channel is not.
        let mut f = healthy();
        f.server.channels[2].bot_permissions = Use::Requests.needs();
        f.configured = Configured { requests_channel: Some(MODS), ..Default::default() };
        assert_eq!(examine(&f), vec![]);
        f.configured = Configured { mod_channel: Some(MODS), ..Default::default() };
        let missing = SEND_MESSAGES | channels::CREATE_PUBLIC_THREADS;
        assert_eq!(
            examine(&f),
            vec![Finding::ChannelPermissions { place: Place::Configured(Use::Mod), channel_id: MODS, missing }]
        );
        // Hidden from the bot: everything it needs is missing; a category is no text channel.
        f.server.channels[2].bot_permissions = SEND_MESSAGES;
        assert!(matches!(&examine(&f)[0], Finding::ChannelPermissions { missing, .. } if missing & VIEW_CHANNEL != 0));
        f.configured.mod_channel = Some(CATEGORY);
        assert_eq!(
            examine(&f),
            vec![Finding::ChannelKind { place: Place::Configured(Use::Mod), channel_id: CATEGORY }]
        );
    }

    #[test]
    fn deleted_roles_channels_and_categories_are_found() {
        let mut f = healthy();
        f.server.roles.retain(|r| r.id != RUST_ROLE);
        f.server.channels.retain(|c| c.id != RUST_CHANNEL && c.id != CATEGORY);
        assert_eq!(
            examine(&f),
            vec![
                Finding::ChannelGone { place: Place::Group("Rust".into()), channel_id: RUST_CHANNEL },
                Finding::RoleGone { group: "Rust".into(), role_id: RUST_ROLE },
                Finding::CategoryGone { bucket: Bucket::Interest, channel_id: CATEGORY },
            ]
        );
    }

    #[test]
    fn roles_at_or_above_the_bot_and_elevated_roles_are_named() {
        let mut f = healthy();
        f.server.roles[1].position = 3; // level with the bot's role
        f.server.roles[1].permissions = (1 << 3) | (1 << 11); // Administrator, Send Messages
        f.server.roles.push(role(11, "Rust notify", 4, 0));
        f.groups[0].notify_role_id = Some(11);
        assert_eq!(
            examine(&f),
            vec![
                Finding::RoleAboveBot { group: "Rust".into(), role: "Rust".into(), notify: false },
                Finding::RoleElevated { group: "Rust".into(), role: "Rust".into(), permissions: 1 << 3 },
                Finding::RoleAboveBot { group: "Rust".into(), role: "Rust notify".into(), notify: true },
            ]
        );
        f.server.roles[1].position = 2;
        f.server.roles[1].permissions = 0;
        f.server.roles.last_mut().unwrap().position = 1;
        assert_eq!(examine(&f), vec![], "just below the bot is fine");
    }

    #[test]
    fn headroom_warns_at_ninety_percent_and_is_a_problem_at_the_limit() {
        let mut f = healthy();
        let base_roles = f.server.roles.len();
        for i in 0..(ROLE_WARN - base_roles) as u64 {
            f.server.roles.push(role(1000 + i, "r", 0, 0));
        }
        let in_category = (CATEGORY_WARN - 1) as u64;
        for i in 0..in_category {
            f.server.channels.push(chan(2000 + i, kind::TEXT, Some(CATEGORY), Use::Group.needs()));
        }
        let got = examine(&f);
        assert_eq!(
            got,
            vec![
                Finding::Headroom { limit: Limit::Roles, used: ROLE_WARN, full: false },
                Finding::Headroom { limit: Limit::Category(Bucket::Interest), used: CATEGORY_WARN, full: false },
            ],
            "threads aren't listed; the category counts its children"
        );
        assert!(got.iter().all(|g| g.severity() == Severity::Warning));
        f.server.roles.truncate(ROLE_WARN - 1);
        for i in 0..(CHANNEL_LIMIT - f.server.channels.len()) as u64 {
            f.server.channels.push(chan(5000 + i, kind::TEXT, None, 0));
        }
        let got = examine(&f);
        assert!(
            got.contains(&Finding::Headroom { limit: Limit::Channels, used: CHANNEL_LIMIT, full: true }),
            "{got:?}"
        );
        assert!(!got.iter().any(|g| matches!(g, Finding::Headroom { limit: Limit::Roles, .. })));
        assert_eq!(
            Finding::Headroom { limit: Limit::Channels, used: CHANNEL_LIMIT, full: true }.severity(),
            Severity::Problem
        );
    }

    #[test]
    fn the_newest_reconcile_tells_what_is_left_to_do() {
        let mut f = healthy();
        let now = f.now;
        let cases = [
            (
                run("session", true, 3, 1, 2, now),
                vec![Finding::ReconcileFailed { failed: 2 }, Finding::ReconcileReported { reported: 1 }],
            ),
            (run("dry-run", true, 4, 0, 0, now), vec![Finding::ReconcileUnapplied { found: 4 }]),
            (run("dry-run", true, 0, 0, 0, now), vec![]),
            (
                run("command", false, 0, 0, 0, now),
                vec![Finding::ReconcileUnfinished { started_at: now - Duration::hours(1) }],
            ),
        ];
        for (r, want) in cases {
            f.last_run = Some(r);
            assert_eq!(examine(&f), want);
        }
        let mut running = run("session", false, 0, 0, 0, now);
        running.started_at = now - Duration::minutes(1);
        f.last_run = Some(running);
        assert_eq!(examine(&f), vec![], "a pass under way is no problem");
    }

    #[test]
    fn late_and_failed_dms_overdue_requests_and_a_slow_gateway_are_warned_of() {
        let mut f = healthy();
        f.queue = Queue { waiting: 9, late: 5, oldest_due: Some(f.now), failed_last_day: 2, closed_dms: 1 };
        f.requests.pending = 4;
        f.requests.past_remind = 3;
        f.requests.past_alert = 2;
        f.requests.alerts_undelivered = 1;
        f.latency_ms = Some(1500);
        f.retries = Retries { leftovers: 2, notify_syncs: 3 };
        let got = examine(&f);
        assert_eq!(
            got,
            vec![
                Finding::DmsLate { count: 5 },
                Finding::DmsFailed { count: 2 },
                Finding::AlertsUndelivered { count: 1 },
                Finding::RequestsOverdue { count: 2, hours: 72 },
                Finding::DiscordRetries { leftovers: 2, notify_syncs: 3 },
                Finding::SlowGateway { ms: 1500 },
            ]
        );
        assert_eq!(Finding::DiscordRetries { leftovers: 1, notify_syncs: 0 }.severity(), Severity::Warning);
        assert_eq!(Finding::AlertsUndelivered { count: 1 }.severity(), Severity::Problem);
        f.latency_ms = None;
        assert!(!examine(&f).iter().any(|g| matches!(g, Finding::SlowGateway { .. })), "not measured yet");
    }

    #[test]
    fn role_changes_waiting_past_two_minutes_are_a_warning_and_a_short_wait_is_nothing() {
        let mut f = healthy();
        f.role_queue = RoleQueue { waiting: 40, oldest_seconds: ROLE_QUEUE_SLOW_SECONDS, per_second: 1.0 };
        assert!(examine(&f).is_empty(), "a queue Discord is working through is no finding");
        f.role_queue.oldest_seconds = ROLE_QUEUE_SLOW_SECONDS + 1;
        let found = examine(&f);
        assert_eq!(found, vec![Finding::RoleQueueSlow { waiting: 40, oldest_seconds: ROLE_QUEUE_SLOW_SECONDS + 1 }]);
        assert_eq!(found[0].severity(), Severity::Warning);
    }

    #[sqlx::test]
    async fn the_postgres_side_is_read_for_one_server_only(pool: sqlx::PgPool) {
        use crate::domain::group::{self, NewGroup, Visibility};
        use crate::domain::request::{self, NewRequest, Snapshot};
        let mut conn = pool.acquire().await.unwrap();
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap();
        for (guild, name) in [(1, "Rust"), (2, "Other server's")] {
            let g = NewGroup::parse(guild, 9, name, Bucket::Interest, Visibility::Closed, None).unwrap();
            let gid = group::insert(&mut conn, &g).await.unwrap();
            group::set_bucket_category(&mut conn, guild, Bucket::Interest, 300 + guild).await.unwrap();
            let snap = Snapshot { account_age_days: 1, days_in_server: 1, checks: vec![] };
            for (user, hours) in [(5, 80), (6, 30), (7, 1)] {
                let new = NewRequest {
                    guild_id: guild,
                    group_id: gid,
                    user_id: user,
                    message: None,
                    snapshot: &snap,
                    now: now - Duration::hours(hours),
                };
                request::insert(&mut conn, &new).await.unwrap();
            }
            sqlx::query!(
                "insert into deliveries (guild_id, user_id, kind, dedupe_key, content, run_at, created_at, state)
                 values ($1, 5, 'dm', $2, 'x', $3, $3, 'pending'), ($1, 6, 'dm', $4, 'x', $5, $5, 'pending')",
                guild as i64,
                format!("a{guild}"),
                now - Duration::minutes(30),
                format!("b{guild}"),
                now
            )
            .execute(&mut *conn)
            .await
            .unwrap();
            sqlx::query!(
                "insert into reconcile_runs (guild_id, trigger, policy, found) values ($1, 'session', 'follow', $2)",
                guild as i64,
                guild as i32 * 10
            )
            .execute(&mut *conn)
            .await
            .unwrap();
        }
        sqlx::query!("insert into dm_status (user_id, closed_at) values (5, now()), (77, now())")
            .execute(&mut *conn)
            .await
            .unwrap();

        let gs = groups(&mut conn, 1).await.unwrap();
        assert_eq!(gs.iter().map(|g| g.name.as_str()).collect::<Vec<_>>(), ["Rust"]);
        assert_eq!(buckets(&mut conn, 1).await.unwrap(), vec![(Bucket::Interest, 301)]);
        assert_eq!(newest_run(&mut conn, 1).await.unwrap().map(|r| r.found), Some(10));
        assert_eq!(newest_run(&mut conn, 3).await.unwrap(), None, "never");
        let q = queue(&mut conn, 1, now).await.unwrap();
        assert_eq!((q.waiting, q.late, q.failed_last_day), (2, 1, 0));
        assert_eq!(q.oldest_due, Some(now - Duration::minutes(30)));
        // user 77 has closed DMs but nothing to do with server 1; user 5 asked to join there
        // (a request alone doesn't make them the server's: they have a queued DM)
        assert_eq!(q.closed_dms, 1);
        let r = requests(&mut conn, 1, Sla::default(), now).await.unwrap();
        assert_eq!((r.pending, r.past_remind, r.past_alert, r.alerts_undelivered), (3, 2, 1, 0));
        assert_eq!(r.oldest, Some(now - Duration::hours(80)));
    }
}
