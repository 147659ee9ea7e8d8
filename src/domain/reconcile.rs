//! Reconciliation (A5): what Postgres says against what Discord shows, the
//! per-server policy for hand changes, members who left ("away") and came
//! back, and the record of each full pass.
//!
//! The rules that decide what differs and what to do about it are pure
//! functions over plain ids (unit-tested); the rest is SQL.

use super::{db_id, snowflake};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// What wins when a person changes a member's group role by hand.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Policy {
    /// Discord wins: the membership follows the role (the default: a person
    /// did it on purpose). Deleted roles and channels are made again.
    Follow,
    /// Postgres wins: the role is put back (or taken away) as the membership
    /// says. Deleted roles and channels are made again.
    Restore,
    /// Nothing is changed; admins are told.
    Report,
}

impl Policy {
    pub const ALL: [Policy; 3] = [Policy::Follow, Policy::Restore, Policy::Report];

    pub fn key(self) -> &'static str {
        match self {
            Policy::Follow => "follow",
            Policy::Restore => "restore",
            Policy::Report => "report",
        }
    }

    pub fn from_key(s: &str) -> Option<Policy> {
        Policy::ALL.into_iter().find(|p| p.key() == s)
    }

    /// One line for `/config show` and `/reconcile`.
    pub fn describe(self) -> &'static str {
        match self {
            Policy::Follow => "follow: a group role taken or given by hand ends or records the membership",
            Policy::Restore => "restore: a group role taken or given by hand is put back as Guildhall's records say",
            Policy::Report => "report: nothing is changed; admins are told of every difference",
        }
    }

    /// Whether deleted roles, channels and categories are made again.
    pub fn repairs_structure(self) -> bool {
        self != Policy::Report
    }
}

pub async fn policy(conn: &mut PgConnection, guild_id: u64) -> Result<Policy, sqlx::Error> {
    let p = sqlx::query_scalar!("select reconcile_policy from guild_settings where guild_id = $1", db_id(guild_id))
        .fetch_optional(conn)
        .await?;
    Ok(p.and_then(|p| Policy::from_key(&p)).unwrap_or(Policy::Follow))
}

pub async fn set_policy(conn: &mut PgConnection, guild_id: u64, p: Policy) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into guild_settings (guild_id, reconcile_policy) values ($1, $2)
         on conflict (guild_id) do update set reconcile_policy = excluded.reconcile_policy, updated_at = now()",
        db_id(guild_id),
        p.key()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether a member who comes back gets their groups back (default yes).
pub async fn restore_returning(conn: &mut PgConnection, guild_id: u64) -> Result<bool, sqlx::Error> {
    let v = sqlx::query_scalar!("select restore_returning from guild_settings where guild_id = $1", db_id(guild_id))
        .fetch_optional(conn)
        .await?;
    Ok(v.unwrap_or(true))
}

pub async fn set_restore_returning(conn: &mut PgConnection, guild_id: u64, on: bool) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into guild_settings (guild_id, restore_returning) values ($1, $2)
         on conflict (guild_id) do update set restore_returning = excluded.restore_returning, updated_at = now()",
        db_id(guild_id),
        on
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Serialise every change of one member's memberships in a guild for the
/// rest of the transaction: joins, leaves, removals and the reconciler all
/// take it first, so the reconciler never mistakes the bot's own grant or
/// revoke (Discord changed, the row not yet committed) for a hand change.
/// The two-key form of advisory locks, a key space apart from `lock_guild`'s.
pub async fn lock_member(conn: &mut PgConnection, guild_id: u64, user_id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtext($1::bigint::text), hashtext($2::bigint::text))",
        db_id(guild_id),
        db_id(user_id)
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A group's role as Postgres knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRole {
    pub group_id: i64,
    pub name: String,
    pub role_id: u64,
    pub archived: bool,
    /// The role was made again and members are still being given it.
    pub regrant_pending: bool,
}

/// Every fully made group of the guild with its role.
pub async fn group_roles(conn: &mut PgConnection, guild_id: u64) -> Result<Vec<GroupRole>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select id, name, role_id as "role_id!", archived_at is not null as "archived!", regrant_pending
           from groups where guild_id = $1 and role_id is not null order by id"#,
        db_id(guild_id)
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| GroupRole {
            group_id: r.id,
            name: r.name,
            role_id: snowflake(r.role_id),
            archived: r.archived,
            regrant_pending: r.regrant_pending,
        })
        .collect())
}

/// Where a user stands in one group.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Standing {
    pub group_id: i64,
    /// A membership that is not away.
    pub member: bool,
    pub away: bool,
    pub banned: bool,
    /// A role change of theirs in this group waits in the applier's queue
    /// (N6): Discord is about to follow Postgres, so no difference is read
    /// into it meanwhile.
    pub syncing: bool,
}

/// The user's standing in every group of the guild where they have a
/// membership (away or not) or a ban.
pub async fn standings(conn: &mut PgConnection, guild_id: u64, user_id: u64) -> Result<Vec<Standing>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select g.id,
                  coalesce(m.user_id is not null and m.away_since is null, false) as "member!",
                  coalesce(m.away_since is not null, false) as "away!",
                  b.user_id is not null as "banned!",
                  exists(select 1 from role_syncs s where s.group_id = g.id and s.user_id = $2 and s.done_at is null)
                      as "syncing!"
           from groups g
           left join memberships m on m.group_id = g.id and m.user_id = $2
           left join group_bans b on b.group_id = g.id and b.user_id = $2
           where g.guild_id = $1 and (m.user_id is not null or b.user_id is not null
                 or exists(select 1 from role_syncs s where s.group_id = g.id and s.user_id = $2 and s.done_at is null))
           order by g.id"#,
        db_id(guild_id),
        db_id(user_id)
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Standing { group_id: r.id, member: r.member, away: r.away, banned: r.banned, syncing: r.syncing })
        .collect())
}

/// How one member's group roles differ from their memberships.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Drift {
    /// A member (per Postgres) without the group's role: taken by hand.
    Taken { group_id: i64 },
    /// The role without a membership: given by hand.
    Given { group_id: i64 },
    /// The role held by someone banned from the group.
    BannedHolds { group_id: i64 },
    /// A membership (without the role) of someone banned from the group.
    BannedMember { group_id: i64 },
    /// A member without the role while the role, made again, is being
    /// handed out: they are owed it, nobody took it.
    Owed { group_id: i64 },
}

impl Drift {
    pub fn group_id(self) -> i64 {
        match self {
            Drift::Taken { group_id }
            | Drift::Given { group_id }
            | Drift::BannedHolds { group_id }
            | Drift::BannedMember { group_id }
            | Drift::Owed { group_id } => group_id,
        }
    }
}

/// What differs between the group roles a member holds on Discord (`held`)
/// and their standing in Postgres. Away memberships never count: an away
/// member is not in the server.
pub fn member_drift(groups: &[GroupRole], standing: &[Standing], held: &[u64]) -> Vec<Drift> {
    let mut out = Vec::new();
    for g in groups {
        let s = standing.iter().find(|s| s.group_id == g.group_id).copied().unwrap_or_default();
        if s.syncing {
            continue;
        }
        let has = held.contains(&g.role_id);
        match (has, s.member, s.banned) {
            (true, _, true) => out.push(Drift::BannedHolds { group_id: g.group_id }),
            (false, true, true) => out.push(Drift::BannedMember { group_id: g.group_id }),
            (true, false, false) => out.push(Drift::Given { group_id: g.group_id }),
            (false, true, _) if g.regrant_pending => out.push(Drift::Owed { group_id: g.group_id }),
            (false, true, _) => out.push(Drift::Taken { group_id: g.group_id }),
            _ => {}
        }
    }
    out
}

/// What the bot does about one difference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repair {
    /// End the membership (its subscription and notification role go too).
    EndMembership,
    /// Record a membership, subscribed as after a join.
    RecordMembership,
    /// Give the role back.
    GrantRole,
    /// Take the role away.
    RevokeRole,
    /// Change nothing; tell admins.
    Report,
}

impl Repair {
    pub fn describe(self) -> &'static str {
        match self {
            Repair::EndMembership => "end the membership",
            Repair::RecordMembership => "record the membership",
            Repair::GrantRole => "give the role back",
            Repair::RevokeRole => "take the role away",
            Repair::Report => "only report it",
        }
    }
}

/// The repair of a difference under a policy. A banned member keeps no
/// hand-given role under any policy (and a banned member's leftover
/// membership ends, so `restore` never gives the role back to them); a role
/// owed after a re-make is given under any policy (nobody took it).
pub fn repair(d: Drift, p: Policy) -> Repair {
    match (d, p) {
        (Drift::BannedHolds { .. }, _) => Repair::RevokeRole,
        (Drift::BannedMember { .. }, Policy::Report) => Repair::Report,
        (Drift::BannedMember { .. }, _) => Repair::EndMembership,
        (Drift::Owed { .. }, _) => Repair::GrantRole,
        (_, Policy::Report) => Repair::Report,
        (Drift::Taken { .. }, Policy::Follow) => Repair::EndMembership,
        (Drift::Taken { .. }, Policy::Restore) => Repair::GrantRole,
        (Drift::Given { .. }, Policy::Follow) => Repair::RecordMembership,
        (Drift::Given { .. }, Policy::Restore) => Repair::RevokeRole,
    }
}

// ---- Members who left and came back.

/// A member left the server: every membership of theirs in the guild goes
/// away (remembering whether they followed the group, and dropping that
/// subscription until they come back), and they are marked departed so
/// nothing is delivered to them. Returns the groups concerned.
pub async fn mark_away(
    conn: &mut PgConnection,
    guild_id: u64,
    user_id: u64,
    now: DateTime<Utc>,
) -> Result<Vec<i64>, sqlx::Error> {
    let groups = sqlx::query_scalar!(
        "update memberships m set away_since = $3,
                was_subscribed = exists (select 1 from subscriptions s
                                          where s.user_id = m.user_id and s.kind = 'group' and s.target_id = m.group_id)
         from groups g
         where g.id = m.group_id and g.guild_id = $1 and m.user_id = $2 and m.away_since is null
         returning m.group_id",
        db_id(guild_id),
        db_id(user_id),
        now
    )
    .fetch_all(&mut *conn)
    .await?;
    sqlx::query!(
        "delete from subscriptions where user_id = $1 and kind = 'group' and target_id = any($2)",
        db_id(user_id),
        &groups
    )
    .execute(&mut *conn)
    .await?;
    mark_departed(conn, guild_id, user_id, now).await?;
    Ok(groups)
}

pub async fn mark_departed(
    conn: &mut PgConnection,
    guild_id: u64,
    user_id: u64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into departed_members (guild_id, user_id, left_at) values ($1, $2, $3) on conflict do nothing",
        db_id(guild_id),
        db_id(user_id),
        now
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// An away membership of a member who came back.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AwayMembership {
    pub group_id: i64,
    pub was_subscribed: bool,
    pub banned: bool,
    pub archived: bool,
}

/// A member came back: they are no longer departed. Returns their away
/// memberships, locked.
pub async fn come_back(
    conn: &mut PgConnection,
    guild_id: u64,
    user_id: u64,
) -> Result<Vec<AwayMembership>, sqlx::Error> {
    sqlx::query!("delete from departed_members where guild_id = $1 and user_id = $2", db_id(guild_id), db_id(user_id))
        .execute(&mut *conn)
        .await?;
    let rows = sqlx::query!(
        r#"select m.group_id, m.was_subscribed, g.archived_at is not null as "archived!",
                  exists (select 1 from group_bans b where b.group_id = m.group_id and b.user_id = m.user_id) as "banned!"
           from memberships m join groups g on g.id = m.group_id
           where g.guild_id = $1 and m.user_id = $2 and m.away_since is not null
           order by m.group_id
           for update of m"#,
        db_id(guild_id),
        db_id(user_id)
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AwayMembership {
            group_id: r.group_id,
            was_subscribed: r.was_subscribed,
            banned: r.banned,
            archived: r.archived,
        })
        .collect())
}

/// The away membership is active again.
pub async fn return_membership(conn: &mut PgConnection, group_id: i64, user_id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update memberships set away_since = null, was_subscribed = false where group_id = $1 and user_id = $2",
        group_id,
        db_id(user_id)
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn is_departed(conn: &mut PgConnection, guild_id: u64, user_id: u64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from departed_members where guild_id = $1 and user_id = $2) as "yes!""#,
        db_id(guild_id),
        db_id(user_id)
    )
    .fetch_one(conn)
    .await
}

/// Someone the full pass knows of in an id range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Known {
    pub user_id: u64,
    /// Holds at least one membership that is not away.
    pub active: bool,
    /// Marked as having left the server.
    pub departed: bool,
}

/// For the full pass: everyone with a membership in the guild, or marked
/// departed, whose user id is in `(after, upto]` (`upto` None: no upper
/// bound), by user id.
pub async fn members_in_range(
    conn: &mut PgConnection,
    guild_id: u64,
    after: u64,
    upto: Option<u64>,
) -> Result<Vec<Known>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select u.user_id as "user_id!",
                  exists (select 1 from memberships m join groups g on g.id = m.group_id
                          where g.guild_id = $1 and m.user_id = u.user_id and m.away_since is null) as "active!",
                  exists (select 1 from departed_members d where d.guild_id = $1 and d.user_id = u.user_id) as "departed!"
           from (select m.user_id from memberships m join groups g on g.id = m.group_id where g.guild_id = $1
                 union select d.user_id from departed_members d
                       where d.guild_id = $1
                         and exists (select 1 from memberships m join groups g on g.id = m.group_id
                                     where g.guild_id = $1 and m.user_id = d.user_id)) u
           where u.user_id > $2 and ($3::bigint is null or u.user_id <= $3)
           order by u.user_id"#,
        db_id(guild_id),
        db_id(after),
        upto.map(db_id)
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Known { user_id: snowflake(r.user_id), active: r.active, departed: r.departed })
        .collect())
}

// ---- Roles made again.

/// Point the group at its new role, owed to every member until `regranted`.
pub async fn replace_role(conn: &mut PgConnection, group_id: i64, role_id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update groups set role_id = $2, regrant_pending = true, updated_at = now() where id = $1",
        group_id,
        db_id(role_id)
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn regranted(conn: &mut PgConnection, group_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!("update groups set regrant_pending = false where id = $1", group_id).execute(conn).await?;
    Ok(())
}

/// Active members of a group (not away), by user id.
pub async fn active_members(conn: &mut PgConnection, group_id: i64) -> Result<Vec<u64>, sqlx::Error> {
    let ids = sqlx::query_scalar!(
        "select user_id from memberships where group_id = $1 and away_since is null order by user_id",
        group_id
    )
    .fetch_all(conn)
    .await?;
    Ok(ids.into_iter().map(snowflake).collect())
}

/// Point the group at its new channel; follows of the old channel follow it.
pub async fn replace_channel(
    conn: &mut PgConnection,
    group_id: i64,
    old_channel: u64,
    channel_id: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query!("update groups set channel_id = $2, updated_at = now() where id = $1", group_id, db_id(channel_id))
        .execute(&mut *conn)
        .await?;
    sqlx::query!(
        "update subscriptions set target_id = $2 where kind = 'forum' and target_id = $1",
        db_id(old_channel),
        db_id(channel_id)
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The group whose role is `role_id`, locked (the caller holds the guild
/// lock too, so a delete or an edit in progress finishes first).
pub async fn group_with_role(conn: &mut PgConnection, guild_id: u64, role_id: u64) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "select id from groups where guild_id = $1 and role_id = $2 for update",
        db_id(guild_id),
        db_id(role_id)
    )
    .fetch_optional(conn)
    .await
}

pub async fn group_with_channel(
    conn: &mut PgConnection,
    guild_id: u64,
    channel_id: u64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "select id from groups where guild_id = $1 and channel_id = $2 for update",
        db_id(guild_id),
        db_id(channel_id)
    )
    .fetch_optional(conn)
    .await
}

/// The group whose notification role is `role_id`.
pub async fn group_with_notify_role(
    conn: &mut PgConnection,
    guild_id: u64,
    role_id: u64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "select group_id from notify_roles where guild_id = $1 and role_id = $2 for update",
        db_id(guild_id),
        db_id(role_id)
    )
    .fetch_optional(conn)
    .await
}

/// The bucket whose category is `channel_id`, if any.
pub async fn bucket_of_category(
    conn: &mut PgConnection,
    guild_id: u64,
    channel_id: u64,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "select bucket from bucket_categories where guild_id = $1 and category_id = $2",
        db_id(guild_id),
        db_id(channel_id)
    )
    .fetch_optional(conn)
    .await
}

/// Every channel Postgres expects in the guild: (what, id), for the pass.
pub async fn expected_channels(conn: &mut PgConnection, guild_id: u64) -> Result<Vec<(Expected, u64)>, sqlx::Error> {
    let mut out = Vec::new();
    let groups = sqlx::query!(
        r#"select id, channel_id as "channel_id!" from groups where guild_id = $1 and channel_id is not null order by id"#,
        db_id(guild_id)
    )
    .fetch_all(&mut *conn)
    .await?;
    out.extend(groups.into_iter().map(|r| (Expected::GroupChannel(r.id), snowflake(r.channel_id))));
    let cats = sqlx::query!(
        "select bucket, category_id from bucket_categories where guild_id = $1 order by bucket",
        db_id(guild_id)
    )
    .fetch_all(&mut *conn)
    .await?;
    out.extend(cats.into_iter().map(|r| (Expected::Category(r.bucket), snowflake(r.category_id))));
    let s = sqlx::query!(
        "select mod_channel_id, requests_channel_id, directory_channel_id from guild_settings where guild_id = $1",
        db_id(guild_id)
    )
    .fetch_optional(conn)
    .await?;
    if let Some(s) = s {
        let configured = [
            (ConfigChannel::Mod, s.mod_channel_id),
            (ConfigChannel::Requests, s.requests_channel_id),
            (ConfigChannel::Directory, s.directory_channel_id),
        ];
        for (which, id) in configured {
            if let Some(id) = id {
                out.push((Expected::Configured(which), snowflake(id)));
            }
        }
    }
    Ok(out)
}

/// A channel Postgres names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expected {
    GroupChannel(i64),
    /// A bucket's category, by bucket key.
    Category(String),
    Configured(ConfigChannel),
}

/// A channel set with `/config` (or `/directory post`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigChannel {
    Mod,
    Requests,
    Directory,
}

impl ConfigChannel {
    pub fn label(self) -> &'static str {
        match self {
            ConfigChannel::Mod => "mod channel",
            ConfigChannel::Requests => "requests channel",
            ConfigChannel::Directory => "directory channel",
        }
    }
}

/// Which configured channels are `channel_id`.
pub async fn configured_as(
    conn: &mut PgConnection,
    guild_id: u64,
    channel_id: u64,
) -> Result<Vec<ConfigChannel>, sqlx::Error> {
    Ok(expected_channels(conn, guild_id)
        .await?
        .into_iter()
        .filter_map(|(e, id)| match e {
            Expected::Configured(c) if id == channel_id => Some(c),
            _ => None,
        })
        .collect())
}

/// Forget a deleted configured channel (the directory's message with it).
pub async fn clear_configured(conn: &mut PgConnection, guild_id: u64, which: ConfigChannel) -> Result<(), sqlx::Error> {
    let g = db_id(guild_id);
    match which {
        ConfigChannel::Mod => sqlx::query!("update guild_settings set mod_channel_id = null where guild_id = $1", g)
            .execute(conn)
            .await
            .map(|_| ()),
        ConfigChannel::Requests => {
            sqlx::query!("update guild_settings set requests_channel_id = null where guild_id = $1", g)
                .execute(&mut *conn)
                .await?;
            // The review threads lived in it.
            sqlx::query!("delete from request_threads where group_id in (select id from groups where guild_id = $1)", g)
                .execute(conn)
                .await
                .map(|_| ())
        }
        ConfigChannel::Directory => sqlx::query!(
            "update guild_settings set directory_channel_id = null, directory_message_id = null where guild_id = $1",
            g
        )
        .execute(conn)
        .await
        .map(|_| ()),
    }
}

/// Remember the role problem admins were told of; `false` when it is the one
/// they were told of last time (so it is not told again).
pub async fn note_role_problem(
    conn: &mut PgConnection,
    group_id: i64,
    problem: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let changed = sqlx::query_scalar!(
        "update groups set role_problem = $2 where id = $1 and role_problem is distinct from $2 returning id",
        group_id,
        problem
    )
    .fetch_optional(conn)
    .await?;
    Ok(changed.is_some())
}

/// Every notification role of the guild: (group, role).
pub async fn notify_roles(conn: &mut PgConnection, guild_id: u64) -> Result<Vec<(i64, u64)>, sqlx::Error> {
    let rows = sqlx::query!(
        "select group_id, role_id from notify_roles where guild_id = $1 order by group_id",
        db_id(guild_id)
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.group_id, snowflake(r.role_id))).collect())
}

/// Standings of many users at once (one page of the full pass): for each
/// user with a membership or a ban in a group of the guild.
pub async fn standings_of(
    conn: &mut PgConnection,
    guild_id: u64,
    user_ids: &[u64],
) -> Result<Vec<(u64, Standing)>, sqlx::Error> {
    let ids: Vec<i64> = user_ids.iter().copied().map(db_id).collect();
    let rows = sqlx::query!(
        r#"select u.user_id as "user_id!", g.id as "group_id!",
                  coalesce(m.away_since is null and m.user_id is not null, false) as "member!",
                  coalesce(m.away_since is not null, false) as "away!",
                  b.user_id is not null as "banned!",
                  exists(select 1 from role_syncs s where s.group_id = g.id and s.user_id = u.user_id
                                                    and s.done_at is null) as "syncing!"
           from unnest($2::bigint[]) u(user_id)
           cross join groups g
           left join memberships m on m.group_id = g.id and m.user_id = u.user_id
           left join group_bans b on b.group_id = g.id and b.user_id = u.user_id
           where g.guild_id = $1 and (m.user_id is not null or b.user_id is not null
                 or exists(select 1 from role_syncs s where s.group_id = g.id and s.user_id = u.user_id
                                                      and s.done_at is null))
           order by u.user_id, g.id"#,
        db_id(guild_id),
        &ids
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| {
            (
                snowflake(r.user_id),
                Standing { group_id: r.group_id, member: r.member, away: r.away, banned: r.banned, syncing: r.syncing },
            )
        })
        .collect())
}

// ---- Full passes.

/// Why a pass ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Trigger {
    /// After a READY: start-up, or a new gateway session.
    Session,
    /// An admin pressed *Apply* in `/reconcile`.
    Command,
    /// `/reconcile`'s dry run.
    DryRun,
}

impl Trigger {
    pub fn key(self) -> &'static str {
        match self {
            Trigger::Session => "session",
            Trigger::Command => "command",
            Trigger::DryRun => "dry-run",
        }
    }
}

/// A finished pass as `/health` shows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    pub id: i64,
    pub trigger: String,
    pub actor_id: Option<u64>,
    pub policy: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub found: i32,
    pub repaired: i32,
    pub reported: i32,
    pub failed: i32,
    pub summary: String,
}

/// Take the guild's pass for this session, or learn that another process
/// holds it: a session-level lock on a connection the caller keeps for the
/// whole pass. `false`: someone else is running one now.
pub async fn try_lock_pass(conn: &mut PgConnection, guild_id: u64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select pg_try_advisory_lock(hashtext('reconcile'), hashtext($1::bigint::text)) as "ok!""#,
        db_id(guild_id)
    )
    .fetch_one(conn)
    .await
}

pub async fn unlock_pass(conn: &mut PgConnection, guild_id: u64) -> Result<(), sqlx::Error> {
    sqlx::query_scalar!(
        r#"select pg_advisory_unlock(hashtext('reconcile'), hashtext($1::bigint::text)) as "ok!""#,
        db_id(guild_id)
    )
    .fetch_one(conn)
    .await?;
    Ok(())
}

/// Whether an applying pass of the guild started at or after `since` (then
/// a session that began at `since` needs no pass of its own).
pub async fn passed_since(conn: &mut PgConnection, guild_id: u64, since: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from reconcile_runs where guild_id = $1 and trigger <> 'dry-run'
                         and started_at >= $2 and finished_at is not null) as "yes!""#,
        db_id(guild_id),
        since
    )
    .fetch_one(conn)
    .await
}

pub async fn start_run(
    conn: &mut PgConnection,
    guild_id: u64,
    trigger: Trigger,
    actor: Option<u64>,
    policy: Policy,
    now: DateTime<Utc>,
) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into reconcile_runs (guild_id, trigger, actor_id, policy, started_at) values ($1, $2, $3, $4, $5)
         returning id",
        db_id(guild_id),
        trigger.key(),
        actor.map(db_id),
        policy.key(),
        now
    )
    .fetch_one(conn)
    .await
}

/// Counts of a pass.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Counts {
    pub found: i32,
    pub repaired: i32,
    pub reported: i32,
    pub failed: i32,
}

pub async fn finish_run(
    conn: &mut PgConnection,
    id: i64,
    c: Counts,
    summary: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    let summary: String = summary.chars().take(4000).collect();
    sqlx::query!(
        "update reconcile_runs set finished_at = $2, found = $3, repaired = $4, reported = $5, failed = $6,
                summary = $7 where id = $1",
        id,
        now,
        c.found,
        c.repaired,
        c.reported,
        c.failed,
        summary
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The guild's newest full pass, of any kind (dry runs too), finished or
/// not: what `/health` shows.
pub async fn newest_run(conn: &mut PgConnection, guild_id: u64) -> Result<Option<Run>, sqlx::Error> {
    let r = sqlx::query!(
        "select id, trigger, actor_id, policy, started_at, finished_at, found, repaired, reported, failed, summary
         from reconcile_runs where guild_id = $1 order by id desc limit 1",
        db_id(guild_id)
    )
    .fetch_optional(conn)
    .await?;
    Ok(r.map(|r| Run {
        id: r.id,
        trigger: r.trigger,
        actor_id: r.actor_id.map(snowflake),
        policy: r.policy,
        started_at: r.started_at,
        finished_at: r.finished_at,
        found: r.found,
        repaired: r.repaired,
        reported: r.reported,
        failed: r.failed,
        summary: r.summary,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(group_id: i64, role_id: u64) -> GroupRole {
        GroupRole { group_id, name: format!("g{group_id}"), role_id, archived: false, regrant_pending: false }
    }

    #[test]
    fn hand_changes_are_found_per_group() {
        let groups = [role(1, 100), role(2, 200), role(3, 300), role(4, 400)];
        let standing = [
            Standing { group_id: 1, member: true, ..Default::default() },
            Standing { group_id: 2, member: true, ..Default::default() },
            Standing { group_id: 4, banned: true, ..Default::default() },
        ];
        // Holds 1 (fine), not 2 (taken), 3 (given), 4 (banned).
        let d = member_drift(&groups, &standing, &[100, 300, 400, 999]);
        assert_eq!(
            d,
            vec![Drift::Taken { group_id: 2 }, Drift::Given { group_id: 3 }, Drift::BannedHolds { group_id: 4 }]
        );
        assert!(member_drift(&groups, &standing[..2], &[100, 200]).is_empty());
        // Banned while a member: without the role the membership goes, so
        // no policy ever hands the role back.
        let banned_member = [Standing { group_id: 1, member: true, banned: true, ..Default::default() }];
        assert_eq!(member_drift(&groups[..1], &banned_member, &[]), vec![Drift::BannedMember { group_id: 1 }]);
        assert_eq!(member_drift(&groups[..1], &banned_member, &[100]), vec![Drift::BannedHolds { group_id: 1 }]);
    }

    #[test]
    fn an_away_membership_is_no_membership() {
        let groups = [role(1, 100)];
        let away = [Standing { group_id: 1, away: true, ..Default::default() }];
        assert!(member_drift(&groups, &away, &[]).is_empty());
        assert_eq!(member_drift(&groups, &away, &[100]), vec![Drift::Given { group_id: 1 }]);
    }

    #[test]
    fn a_role_being_handed_out_again_is_owed_not_taken() {
        let mut g = role(1, 100);
        g.regrant_pending = true;
        let standing = [Standing { group_id: 1, member: true, ..Default::default() }];
        assert_eq!(member_drift(&[g], &standing, &[]), vec![Drift::Owed { group_id: 1 }]);
    }

    #[test]
    fn each_policy_repairs_as_documented() {
        let (t, g) = (Drift::Taken { group_id: 1 }, Drift::Given { group_id: 1 });
        assert_eq!(repair(t, Policy::Follow), Repair::EndMembership);
        assert_eq!(repair(g, Policy::Follow), Repair::RecordMembership);
        assert_eq!(repair(t, Policy::Restore), Repair::GrantRole);
        assert_eq!(repair(g, Policy::Restore), Repair::RevokeRole);
        assert_eq!(repair(t, Policy::Report), Repair::Report);
        assert_eq!(repair(g, Policy::Report), Repair::Report);
        assert_eq!(repair(Drift::BannedMember { group_id: 1 }, Policy::Restore), Repair::EndMembership);
        assert_eq!(repair(Drift::BannedMember { group_id: 1 }, Policy::Report), Repair::Report);
        for p in Policy::ALL {
            assert_eq!(repair(Drift::BannedHolds { group_id: 1 }, p), Repair::RevokeRole, "{p:?}");
            assert_eq!(repair(Drift::Owed { group_id: 1 }, p), Repair::GrantRole, "{p:?}");
        }
    }

    #[test]
    fn policies_round_trip_their_keys() {
        for p in Policy::ALL {
            assert_eq!(Policy::from_key(p.key()), Some(p));
        }
        assert_eq!(Policy::from_key("nope"), None);
        assert!(!Policy::Report.repairs_structure());
    }
}
