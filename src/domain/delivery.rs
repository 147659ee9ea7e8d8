//! Notification delivery (S5): each member's mode, the server's default,
//! who follows an event and how they hear about it, the durable DM queue,
//! members whose DMs are closed, and the items of the daily digest.
//!
//! Every time here comes from the caller (the bot's clock), never from SQL
//! `now()`, so tests that move the clock see deadlines move with it.

use super::subscription::Kind;
use super::{db_id, snowflake};
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::PgConnection;

/// How a member hears about what they follow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Discord-native mentions (the default): the group's notification role,
    /// thread membership, a mention in a reply.
    Mention,
    /// One DM per event.
    Dm,
    /// One DM a day listing that day's events.
    Digest,
    Off,
}

impl Mode {
    pub const ALL: [Mode; 4] = [Mode::Mention, Mode::Dm, Mode::Digest, Mode::Off];

    pub fn key(self) -> &'static str {
        match self {
            Mode::Mention => "mention",
            Mode::Dm => "dm",
            Mode::Digest => "digest",
            Mode::Off => "off",
        }
    }

    pub fn from_key(s: &str) -> Option<Mode> {
        Mode::ALL.into_iter().find(|m| m.key() == s)
    }

    /// What members read.
    pub fn label(self) -> &'static str {
        match self {
            Mode::Mention => "Mentions in Discord",
            Mode::Dm => "Direct messages",
            Mode::Digest => "Daily digest",
            Mode::Off => "Off",
        }
    }

    /// Whether this mode sends DMs (so closed DMs matter).
    pub fn uses_dms(self) -> bool {
        matches!(self, Mode::Dm | Mode::Digest)
    }
}

/// The server-wide default mode.
pub async fn default_mode(conn: &mut PgConnection, guild_id: u64) -> Result<Mode, sqlx::Error> {
    let m = sqlx::query_scalar!("select notify_default_mode from guild_settings where guild_id = $1", db_id(guild_id))
        .fetch_optional(conn)
        .await?;
    Ok(m.as_deref().and_then(Mode::from_key).unwrap_or(Mode::Mention))
}

pub async fn set_default_mode(conn: &mut PgConnection, guild_id: u64, mode: Mode) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into guild_settings (guild_id, notify_default_mode) values ($1, $2)
         on conflict (guild_id) do update set notify_default_mode = excluded.notify_default_mode, updated_at = now()",
        db_id(guild_id),
        mode.key()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// A member's own choice, if they made one.
pub async fn own_mode(conn: &mut PgConnection, guild_id: u64, user_id: u64) -> Result<Option<Mode>, sqlx::Error> {
    let m = sqlx::query_scalar!(
        "select mode from notification_prefs where guild_id = $1 and user_id = $2",
        db_id(guild_id),
        db_id(user_id)
    )
    .fetch_optional(conn)
    .await?;
    Ok(m.as_deref().and_then(Mode::from_key))
}

/// The mode that applies to a member: their own, else the server's default.
pub async fn mode_of(conn: &mut PgConnection, guild_id: u64, user_id: u64) -> Result<Mode, sqlx::Error> {
    match own_mode(conn, guild_id, user_id).await? {
        Some(m) => Ok(m),
        None => default_mode(conn, guild_id).await,
    }
}

/// Set a member's mode; returns the mode that applied before.
pub async fn set_mode(
    conn: &mut PgConnection,
    guild_id: u64,
    user_id: u64,
    mode: Mode,
    now: DateTime<Utc>,
) -> Result<Mode, sqlx::Error> {
    let before = mode_of(conn, guild_id, user_id).await?;
    sqlx::query!(
        "insert into notification_prefs (guild_id, user_id, mode, updated_at) values ($1, $2, $3, $4)
         on conflict (guild_id, user_id) do update set mode = excluded.mode, updated_at = excluded.updated_at",
        db_id(guild_id),
        db_id(user_id),
        mode.key(),
        now
    )
    .execute(conn)
    .await?;
    Ok(before)
}

/// Members who follow at least one group of the guild and have no mode of
/// their own (the ones a change of the server default concerns).
pub async fn group_followers_on_default(
    conn: &mut PgConnection,
    guild_id: u64,
) -> Result<Vec<(u64, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        "select s.user_id, s.target_id from subscriptions s
         where s.guild_id = $1 and s.kind = 'group'
           and not exists (select 1 from notification_prefs p where p.guild_id = s.guild_id and p.user_id = s.user_id)
         order by s.user_id, s.target_id",
        db_id(guild_id)
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (snowflake(r.user_id), r.target_id)).collect())
}

// ---- Who hears about an event.

/// A follower of an event and how they hear about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Follower {
    pub user_id: u64,
    pub mode: Mode,
    /// Follows through a group subscription (so holds the group's
    /// notification role in mention mode).
    pub via_group: bool,
}

/// Everyone who follows one of `targets` in the guild, except `author`,
/// with their mode. `closed_group`: the event is in a closed group's
/// channel, which only its members can see; others are left out.
pub async fn followers(
    conn: &mut PgConnection,
    guild_id: u64,
    targets: &[(Kind, i64)],
    author: u64,
    closed_group: Option<i64>,
) -> Result<Vec<Follower>, sqlx::Error> {
    let kinds: Vec<String> = targets.iter().map(|(k, _)| k.key().to_string()).collect();
    let ids: Vec<i64> = targets.iter().map(|(_, t)| *t).collect();
    let rows = sqlx::query!(
        r#"select s.user_id, bool_or(s.kind = 'group') as "via_group!",
                  coalesce(max(p.mode), max(gs.notify_default_mode), 'mention') as "mode!"
           from subscriptions s
           join unnest($2::text[], $3::bigint[]) t(kind, target_id) on t.kind = s.kind and t.target_id = s.target_id
           left join notification_prefs p on p.guild_id = s.guild_id and p.user_id = s.user_id
           left join guild_settings gs on gs.guild_id = s.guild_id
           where s.guild_id = $1 and s.user_id <> $4
             and ($5::bigint is null
                  or exists (select 1 from memberships m where m.group_id = $5 and m.user_id = s.user_id))
           group by s.user_id
           order by s.user_id"#,
        db_id(guild_id),
        &kinds,
        &ids,
        db_id(author),
        closed_group
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Follower {
            user_id: snowflake(r.user_id),
            mode: Mode::from_key(&r.mode).unwrap_or(Mode::Mention),
            via_group: r.via_group,
        })
        .collect())
}

// ---- Closed DMs and DM channels.

/// Since when the member's DMs are closed to the bot, if they are.
pub async fn dms_closed_since(conn: &mut PgConnection, user_id: u64) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let r = sqlx::query_scalar!("select closed_at from dm_status where user_id = $1", db_id(user_id))
        .fetch_optional(conn)
        .await?;
    Ok(r.flatten())
}

pub async fn mark_dms_closed(conn: &mut PgConnection, user_id: u64, now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into dm_status (user_id, closed_at) values ($1, $2)
         on conflict (user_id) do update set closed_at = coalesce(dm_status.closed_at, excluded.closed_at)",
        db_id(user_id),
        now
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Forget that the member's DMs were closed (they chose a DM mode again).
pub async fn clear_dms_closed(conn: &mut PgConnection, user_id: u64) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!(
        "update dm_status set closed_at = null where user_id = $1 and closed_at is not null",
        db_id(user_id)
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}

pub async fn dm_channel(conn: &mut PgConnection, user_id: u64) -> Result<Option<u64>, sqlx::Error> {
    let r = sqlx::query_scalar!("select dm_channel_id from dm_status where user_id = $1", db_id(user_id))
        .fetch_optional(conn)
        .await?;
    Ok(r.flatten().map(snowflake))
}

pub async fn set_dm_channel(conn: &mut PgConnection, user_id: u64, channel_id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into dm_status (user_id, dm_channel_id) values ($1, $2)
         on conflict (user_id) do update set dm_channel_id = excluded.dm_channel_id",
        db_id(user_id),
        db_id(channel_id)
    )
    .execute(conn)
    .await?;
    Ok(())
}

// ---- The queue.

/// Queue one DM per user (at most one per `key_prefix` and user, across
/// replays), skipping users whose DMs are closed. Returns how many were
/// queued now.
pub async fn enqueue_dms(
    conn: &mut PgConnection,
    guild_id: u64,
    users: &[u64],
    key_prefix: &str,
    content: &str,
    kind: &str,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let ids: Vec<i64> = users.iter().map(|u| db_id(*u)).collect();
    let n = sqlx::query!(
        "insert into deliveries (guild_id, user_id, kind, dedupe_key, content, run_at, created_at)
         select $1, u, $6, $2 || ':' || u::text, $3, $4, $4 from unnest($5::bigint[]) u
         where not exists (select 1 from dm_status d where d.user_id = u and d.closed_at is not null)
         on conflict (dedupe_key) do nothing",
        db_id(guild_id),
        key_prefix,
        content,
        now,
        &ids,
        kind
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n)
}

/// A DM to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Job {
    pub id: i64,
    pub guild_id: u64,
    pub user_id: u64,
    pub content: String,
    pub attempts: i32,
}

/// Claim up to `limit` due jobs for `lease`: nobody else claims them until
/// the lease runs out (a crashed worker's jobs come back then). Two workers
/// never claim the same row (`for update skip locked`).
pub async fn claim(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: i64,
) -> Result<Vec<Job>, sqlx::Error> {
    let rows = sqlx::query!(
        "update deliveries d set locked_until = $2, attempts = d.attempts + 1
         where d.id in (
             select id from deliveries
             where state = 'pending' and run_at <= $1 and (locked_until is null or locked_until <= $1)
             order by run_at, id
             limit $3
             for update skip locked)
         returning d.id, d.guild_id, d.user_id, d.content, d.attempts",
        now,
        now + lease,
        limit
    )
    .fetch_all(conn)
    .await?;
    let mut jobs: Vec<Job> = rows
        .into_iter()
        .map(|r| Job {
            id: r.id,
            guild_id: snowflake(r.guild_id),
            user_id: snowflake(r.user_id),
            content: r.content,
            attempts: r.attempts,
        })
        .collect();
    jobs.sort_by_key(|j| j.id);
    Ok(jobs)
}

/// The job was delivered.
pub async fn mark_sent(
    conn: &mut PgConnection,
    id: i64,
    message_id: u64,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update deliveries set state = 'sent', message_id = $2, done_at = $3, locked_until = null, last_error = null
         where id = $1",
        id,
        db_id(message_id),
        now
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Try again at `run_at`.
pub async fn retry_at(conn: &mut PgConnection, id: i64, run_at: DateTime<Utc>, error: &str) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update deliveries set run_at = $2, locked_until = null, last_error = $3 where id = $1 and state = 'pending'",
        id,
        run_at,
        error
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Give a claimed job back untouched (the worker is stopping).
pub async fn release(conn: &mut PgConnection, ids: &[i64]) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update deliveries set locked_until = null, attempts = greatest(attempts - 1, 0)
         where id = any($1) and state = 'pending'",
        ids
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Stop: `dropped` (DMs closed) or `failed` (a permanent error, or out of
/// attempts). Never retried.
pub async fn finish(
    conn: &mut PgConnection,
    id: i64,
    state: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update deliveries set state = $2, last_error = $3, done_at = $4, locked_until = null where id = $1",
        id,
        state,
        error,
        now
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Drop every pending job of a user whose DMs turned out closed.
pub async fn drop_pending_of(conn: &mut PgConnection, user_id: u64, now: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    let n = sqlx::query!(
        "update deliveries set state = 'dropped', last_error = 'dms closed', done_at = $2, locked_until = null
         where user_id = $1 and state = 'pending'",
        db_id(user_id),
        now
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n)
}

// ---- Daily digests.

/// Add a line to the digest of each user for the UTC day of `now` (once
/// per user and `key`).
pub async fn add_digest_items(
    conn: &mut PgConnection,
    guild_id: u64,
    users: &[u64],
    key: &str,
    line: &str,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let ids: Vec<i64> = users.iter().map(|u| db_id(*u)).collect();
    let n = sqlx::query!(
        "insert into digest_items (guild_id, user_id, day, dedupe_key, line, created_at)
         select $1, u, $2, $3, $4, $5 from unnest($6::bigint[]) u
         on conflict (user_id, dedupe_key) do nothing",
        db_id(guild_id),
        now.date_naive(),
        key,
        line,
        now,
        &ids
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n)
}

/// One member's digest for one day.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    pub guild_id: u64,
    pub user_id: u64,
    pub day: NaiveDate,
    pub lines: Vec<String>,
}

/// Take the digests (at most `limit` member-days) of days before `today`
/// that were not queued yet: the items are marked in this transaction, so
/// only one caller gets each.
pub async fn take_due_digests(
    conn: &mut PgConnection,
    today: NaiveDate,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Digest>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"with due as (
               select distinct guild_id, user_id, day from digest_items
               where digested_at is null and day < $1
               order by guild_id, user_id, day limit $3),
           items as (
               select i.id from digest_items i join due using (guild_id, user_id, day)
               where i.digested_at is null
               for update of i skip locked)
           update digest_items i set digested_at = $2 from items where i.id = items.id
           returning i.guild_id, i.user_id, i.day, i.line, i.id"#,
        today,
        now,
        limit
    )
    .fetch_all(conn)
    .await?;
    let mut rows: Vec<_> = rows.into_iter().map(|r| (r.guild_id, r.user_id, r.day, r.id, r.line)).collect();
    rows.sort();
    let mut out: Vec<Digest> = Vec::new();
    for (g, u, day, _, line) in rows {
        match out.last_mut() {
            Some(d) if d.guild_id == snowflake(g) && d.user_id == snowflake(u) && d.day == day => d.lines.push(line),
            _ => out.push(Digest { guild_id: snowflake(g), user_id: snowflake(u), day, lines: vec![line] }),
        }
    }
    Ok(out)
}

/// Claim a message for notification (thread message, post reply); `false`
/// when it was claimed before (a replayed MESSAGE_CREATE).
pub async fn claim_message(
    conn: &mut PgConnection,
    guild_id: u64,
    message_id: u64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query_scalar!(
        "insert into notified_messages (message_id, guild_id, notified_at) values ($1, $2, $3)
         on conflict do nothing returning message_id",
        db_id(message_id),
        db_id(guild_id),
        now
    )
    .fetch_optional(conn)
    .await?;
    Ok(r.is_some())
}

/// Whether anyone follows any of these (a cheap check before asking Discord
/// about a message's thread).
pub async fn anyone_follows(conn: &mut PgConnection, targets: &[(Kind, i64)]) -> Result<bool, sqlx::Error> {
    let kinds: Vec<String> = targets.iter().map(|(k, _)| k.key().to_string()).collect();
    let ids: Vec<i64> = targets.iter().map(|(_, t)| *t).collect();
    sqlx::query_scalar!(
        r#"select exists(select 1 from subscriptions s
               join unnest($1::text[], $2::bigint[]) t(kind, target_id) on t.kind = s.kind and t.target_id = s.target_id)
           as "yes!""#,
        &kinds,
        &ids
    )
    .fetch_one(conn)
    .await
}

/// The threads a member follows in a guild.
pub async fn followed_threads(conn: &mut PgConnection, guild_id: u64, user_id: u64) -> Result<Vec<u64>, sqlx::Error> {
    let r = sqlx::query_scalar!(
        "select target_id from subscriptions where guild_id = $1 and user_id = $2 and kind = 'thread' order by id",
        db_id(guild_id),
        db_id(user_id)
    )
    .fetch_all(conn)
    .await?;
    Ok(r.into_iter().map(snowflake).collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::subscription::subscribe;

    fn t0() -> DateTime<Utc> {
        "2026-11-28T10:00:00Z".parse().unwrap()
    }

    #[sqlx::test]
    async fn modes_default_to_the_servers_and_followers_are_filtered(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        assert_eq!(mode_of(&mut conn, 1, 7).await.unwrap(), Mode::Mention);
        set_default_mode(&mut conn, 1, Mode::Digest).await.unwrap();
        assert_eq!(mode_of(&mut conn, 1, 7).await.unwrap(), Mode::Digest);
        assert_eq!(set_mode(&mut conn, 1, 7, Mode::Dm, t0()).await.unwrap(), Mode::Digest);
        assert_eq!(mode_of(&mut conn, 1, 7).await.unwrap(), Mode::Dm);
        assert_eq!(mode_of(&mut conn, 2, 7).await.unwrap(), Mode::Mention, "per server");

        subscribe(&mut conn, 1, 7, Kind::Group, 5).await.unwrap();
        subscribe(&mut conn, 1, 7, Kind::Forum, 50).await.unwrap();
        subscribe(&mut conn, 1, 8, Kind::Forum, 50).await.unwrap();
        subscribe(&mut conn, 1, 9, Kind::Group, 5).await.unwrap();
        let f = followers(&mut conn, 1, &[(Kind::Group, 5), (Kind::Forum, 50)], 9, None).await.unwrap();
        assert_eq!(
            f,
            [
                Follower { user_id: 7, mode: Mode::Dm, via_group: true },
                Follower { user_id: 8, mode: Mode::Digest, via_group: false },
            ],
            "one row per member, the author left out"
        );
        // A closed group: only members.
        sqlx::query("insert into groups (id, guild_id, name, bucket, visibility, description, created_by) overriding system value values (5, 1, 'G', 'interest', 'closed', '', 1)")
            .execute(&mut *conn)
            .await
            .unwrap();
        sqlx::query("insert into memberships (group_id, user_id) values (5, 8)").execute(&mut *conn).await.unwrap();
        let f = followers(&mut conn, 1, &[(Kind::Group, 5), (Kind::Forum, 50)], 0, Some(5)).await.unwrap();
        assert_eq!(f.iter().map(|f| f.user_id).collect::<Vec<_>>(), [8]);
    }

    #[sqlx::test]
    async fn a_job_is_queued_once_claimed_once_and_comes_back_after_its_lease(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        assert_eq!(enqueue_dms(&mut conn, 1, &[7, 8], "topic:1", "hi", "dm", t0()).await.unwrap(), 2);
        assert_eq!(enqueue_dms(&mut conn, 1, &[7, 8], "topic:1", "hi", "dm", t0()).await.unwrap(), 0, "deduped");
        mark_dms_closed(&mut conn, 9, t0()).await.unwrap();
        assert_eq!(enqueue_dms(&mut conn, 1, &[9], "topic:1", "hi", "dm", t0()).await.unwrap(), 0, "closed DMs");

        let lease = chrono::Duration::minutes(5);
        let a = claim(&mut conn, t0(), lease, 1).await.unwrap();
        assert_eq!(a.len(), 1);
        let b = claim(&mut conn, t0(), lease, 10).await.unwrap();
        assert_eq!(b.len(), 1, "the leased job is not claimed again");
        assert_ne!(a[0].id, b[0].id);
        assert!(claim(&mut conn, t0(), lease, 10).await.unwrap().is_empty());
        // The first worker crashed: its job comes back once the lease is over.
        let again = claim(&mut conn, t0() + lease, lease, 10).await.unwrap();
        assert_eq!(again.iter().map(|j| j.id).collect::<Vec<_>>(), [a[0].id, b[0].id]);
        assert_eq!(again[0].attempts, 2);
        mark_sent(&mut conn, a[0].id, 100, t0()).await.unwrap();
        retry_at(&mut conn, b[0].id, t0() + chrono::Duration::minutes(20), "500").await.unwrap();
        assert!(claim(&mut conn, t0() + chrono::Duration::minutes(19), lease, 10).await.unwrap().is_empty());
        let late = claim(&mut conn, t0() + chrono::Duration::minutes(20), lease, 10).await.unwrap();
        assert_eq!(late.len(), 1);
        release(&mut conn, &[late[0].id]).await.unwrap();
        assert_eq!(drop_pending_of(&mut conn, 8, t0()).await.unwrap(), 1);
        assert!(claim(&mut conn, t0() + chrono::Duration::hours(1), lease, 10).await.unwrap().is_empty());
        assert!(clear_dms_closed(&mut conn, 9).await.unwrap());
        assert_eq!(dms_closed_since(&mut conn, 9).await.unwrap(), None);
    }

    #[sqlx::test]
    async fn a_digest_collects_a_days_items_once(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        add_digest_items(&mut conn, 1, &[7, 8], "topic:1", "one", t0()).await.unwrap();
        add_digest_items(&mut conn, 1, &[7], "topic:2", "two", t0()).await.unwrap();
        add_digest_items(&mut conn, 1, &[7], "topic:2", "two", t0()).await.unwrap();
        let today = t0().date_naive();
        assert!(take_due_digests(&mut conn, today, t0(), 100).await.unwrap().is_empty(), "the day isn't over");
        let next = t0() + chrono::Duration::days(1);
        let d = take_due_digests(&mut conn, next.date_naive(), next, 100).await.unwrap();
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].lines, ["one", "two"]);
        assert_eq!(d[1].lines, ["one"]);
        assert!(take_due_digests(&mut conn, next.date_naive(), next, 100).await.unwrap().is_empty(), "once");
        assert!(claim_message(&mut conn, 1, 5, t0()).await.unwrap());
        assert!(!claim_message(&mut conn, 1, 5, t0()).await.unwrap());
    }
}
