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

/// Everyone who follows one of `targets` in the guild, except `author` and
/// members who left the server, with their mode. `closed_group`: the event is in a closed group's
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
             and not exists (select 1 from departed_members d where d.guild_id = s.guild_id and d.user_id = s.user_id)
             and ($5::bigint is null
                  or exists (select 1 from memberships m
                             where m.group_id = $5 and m.user_id = s.user_id and m.away_since is null))
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

/// Forget the kept DM channel (Discord refused a DM in it): the next DM
/// opens the channel again.
pub async fn forget_dm_channel(conn: &mut PgConnection, user_id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!("update dm_status set dm_channel_id = null where user_id = $1", db_id(user_id)).execute(conn).await?;
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
    /// This claim's token: the job is finished (or renewed) only while it
    /// is still the job's current claim.
    pub token: i64,
}

/// Claim up to `limit` due jobs for `lease`: nobody else claims them until
/// the lease runs out (a crashed worker's jobs come back then). Two workers
/// never claim the same row (`for update skip locked`); each claim gets a new
/// token, which `renew`, `mark_sent`, `retry_at`, `finish` and `release`
/// check.
pub async fn claim(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: i64,
) -> Result<Vec<Job>, sqlx::Error> {
    let rows = sqlx::query!(
        "update deliveries d set locked_until = $2, attempts = d.attempts + 1,
                claim_token = nextval('deliveries_claim_seq')
         where d.id in (
             select id from deliveries
             where state = 'pending' and run_at <= $1 and (locked_until is null or locked_until <= $1)
             order by run_at, id
             limit $3
             for update skip locked)
         returning d.id, d.guild_id, d.user_id, d.content, d.attempts, d.claim_token as \"claim_token!\"",
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
            token: r.claim_token,
        })
        .collect();
    jobs.sort_by_key(|j| j.id);
    Ok(jobs)
}

/// Extend a claim to `until` (before each send); `false` when the claim
/// is no longer this worker's (another worker took the job over, or it was
/// finished): the caller must not send.
pub async fn renew(conn: &mut PgConnection, job: &Job, until: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!(
        "update deliveries set locked_until = $3 where id = $1 and claim_token = $2 and state = 'pending'",
        job.id,
        job.token,
        until
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// The job was delivered. `false` when the claim was no longer the job's
/// (nothing is changed then).
pub async fn mark_sent(
    conn: &mut PgConnection,
    job: &Job,
    message_id: u64,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    Ok(mark_sent_kind(conn, job, message_id, now).await?.is_some())
}

/// `mark_sent`, saying what was sent ("dm" or "digest") when it was marked.
pub async fn mark_sent_kind(
    conn: &mut PgConnection,
    job: &Job,
    message_id: u64,
    now: DateTime<Utc>,
) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar!(
        "update deliveries set state = 'sent', message_id = $3, done_at = $4, locked_until = null, last_error = null
         where id = $1 and claim_token = $2 and state = 'pending'
         returning kind",
        job.id,
        job.token,
        db_id(message_id),
        now
    )
    .fetch_optional(conn)
    .await
}

/// Try again at `run_at` (only while the claim is the job's).
pub async fn retry_at(
    conn: &mut PgConnection,
    job: &Job,
    run_at: DateTime<Utc>,
    error: &str,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!(
        "update deliveries set run_at = $3, locked_until = null, last_error = $4
         where id = $1 and claim_token = $2 and state = 'pending'",
        job.id,
        job.token,
        run_at,
        error
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// Give claimed jobs back untouched (the worker is stopping).
pub async fn release(conn: &mut PgConnection, jobs: &[Job]) -> Result<(), sqlx::Error> {
    let ids: Vec<i64> = jobs.iter().map(|j| j.id).collect();
    let tokens: Vec<i64> = jobs.iter().map(|j| j.token).collect();
    sqlx::query!(
        "update deliveries d set locked_until = null, attempts = greatest(d.attempts - 1, 0)
         from unnest($1::bigint[], $2::bigint[]) c(id, token)
         where d.id = c.id and d.claim_token = c.token and d.state = 'pending'",
        &ids,
        &tokens
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Stop: `dropped` (DMs closed) or `failed` (a permanent error, or out of
/// attempts). Never retried. `false` when the claim was no longer the job's.
pub async fn finish(
    conn: &mut PgConnection,
    job: &Job,
    state: &str,
    error: &str,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!(
        "update deliveries set state = $3, last_error = $4, done_at = $5, locked_until = null
         where id = $1 and claim_token = $2 and state = 'pending'",
        job.id,
        job.token,
        state,
        error,
        now
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n > 0)
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
    /// 1 for the day's first digest of this member; 2, 3, ... for items
    /// that came in after it was taken (they get a digest of their own).
    pub run: i32,
    pub lines: Vec<String>,
}

impl Digest {
    /// The dedupe key prefix of this digest's DM (one per member-day run).
    pub fn key(&self) -> String {
        format!("digest:{}:{}:{}", self.guild_id, self.day, self.run)
    }
}

/// Take the digests (at most `limit` member-days) of days before `today`
/// that were not queued yet. Each member-day is taken whole by one caller:
/// its `digest_runs` row is locked (and its run counted) before its items are
/// marked, in the caller's transaction, so a second pass at the same time
/// waits and then finds the items taken, and items that arrive for a day
/// after its digest was taken make a digest of their own (the next run).
pub async fn take_due_digests(
    conn: &mut PgConnection,
    today: NaiveDate,
    now: DateTime<Utc>,
    limit: i64,
) -> Result<Vec<Digest>, sqlx::Error> {
    let due = sqlx::query!(
        r#"select distinct guild_id, user_id, day from digest_items
           where digested_at is null and day < $1
           order by guild_id, user_id, day limit $2"#,
        today,
        limit
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut out = Vec::new();
    for d in due {
        // Locks the member-day until the caller commits.
        let run = sqlx::query_scalar!(
            "insert into digest_runs (guild_id, user_id, day, runs) values ($1, $2, $3, 1)
             on conflict (guild_id, user_id, day) do update set runs = digest_runs.runs + 1
             returning runs",
            d.guild_id,
            d.user_id,
            d.day
        )
        .fetch_one(&mut *conn)
        .await?;
        let mut lines = sqlx::query!(
            "update digest_items set digested_at = $4
             where guild_id = $1 and user_id = $2 and day = $3 and digested_at is null
             returning id, line",
            d.guild_id,
            d.user_id,
            d.day,
            now
        )
        .fetch_all(&mut *conn)
        .await?;
        if lines.is_empty() {
            // Another pass took them while this one waited.
            continue;
        }
        lines.sort_by_key(|r| r.id);
        out.push(Digest {
            guild_id: snowflake(d.guild_id),
            user_id: snowflake(d.user_id),
            day: d.day,
            run,
            lines: lines.into_iter().map(|r| r.line).collect(),
        });
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
        assert!(!mark_sent(&mut conn, &a[0], 100, t0()).await.unwrap(), "the first claim was taken over");
        assert!(!retry_at(&mut conn, &b[0], t0(), "500").await.unwrap());
        assert!(mark_sent(&mut conn, &again[0], 100, t0()).await.unwrap());
        assert!(retry_at(&mut conn, &again[1], t0() + chrono::Duration::minutes(20), "500").await.unwrap());
        assert!(claim(&mut conn, t0() + chrono::Duration::minutes(19), lease, 10).await.unwrap().is_empty());
        let late = claim(&mut conn, t0() + chrono::Duration::minutes(20), lease, 10).await.unwrap();
        assert_eq!(late.len(), 1);
        release(&mut conn, &late).await.unwrap();
        assert_eq!(drop_pending_of(&mut conn, 8, t0()).await.unwrap(), 1);
        assert!(claim(&mut conn, t0() + chrono::Duration::hours(1), lease, 10).await.unwrap().is_empty());
        assert!(clear_dms_closed(&mut conn, 9).await.unwrap());
        assert_eq!(dms_closed_since(&mut conn, 9).await.unwrap(), None);
    }

    /// A worker sends a DM and dies before recording it: the job comes back
    /// once the short lease ends, to a worker that sends it again with the
    /// same nonce (Discord returns the first message); the dead worker's
    /// claim can neither renew nor finish the job any more.
    #[sqlx::test]
    async fn a_crash_between_send_and_commit_resends_with_the_same_nonce_and_one_claim_wins(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        enqueue_dms(&mut conn, 1, &[7], "topic:1", "hi", "dm", t0()).await.unwrap();
        let lease = chrono::Duration::seconds(45);
        let first = claim(&mut conn, t0(), lease, 1).await.unwrap().remove(0);
        assert!(renew(&mut conn, &first, t0() + lease).await.unwrap(), "renewed before the send");
        // ... sent, then the process died: nothing recorded.
        assert!(claim(&mut conn, t0() + chrono::Duration::seconds(44), lease, 1).await.unwrap().is_empty());
        let at = t0() + chrono::Duration::seconds(45);
        let second = claim(&mut conn, at, lease, 1).await.unwrap().remove(0);
        assert_eq!(second.id, first.id, "same row, so the same nonce (gh-dm-<id>)");
        assert_ne!(second.token, first.token);
        assert!(!renew(&mut conn, &first, at + lease).await.unwrap(), "the old claim may not send again");
        assert!(!finish(&mut conn, &first, "failed", "x", at).await.unwrap());
        assert!(renew(&mut conn, &second, at + lease).await.unwrap());
        assert!(mark_sent(&mut conn, &second, 100, at).await.unwrap());
        assert!(!mark_sent(&mut conn, &first, 101, at).await.unwrap());
        let (state, msg) = sqlx::query_as::<_, (String, Option<i64>)>("select state, message_id from deliveries")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!((state.as_str(), msg), ("sent", Some(100)));
        assert!(!renew(&mut conn, &second, at + lease).await.unwrap(), "a sent job is not sent again");
    }

    /// Two passes taking digests at once never split a member-day: the
    /// second waits for the first and finds the items taken; items that come
    /// in for the day afterwards get a digest (and a key) of their own.
    #[sqlx::test]
    async fn a_member_day_is_taken_whole_by_one_pass_and_late_items_get_a_new_digest(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        add_digest_items(&mut conn, 1, &[7], "topic:1", "one", t0()).await.unwrap();
        add_digest_items(&mut conn, 1, &[7], "topic:2", "two", t0()).await.unwrap();
        let next = t0() + chrono::Duration::days(1);
        let mut first = pool.begin().await.unwrap();
        let a = take_due_digests(&mut first, next.date_naive(), next, 100).await.unwrap();
        assert_eq!(a.len(), 1);
        assert_eq!(a[0].lines, ["one", "two"]);
        assert_eq!(a[0].run, 1);
        // A second pass starts while the first hasn't committed: it waits.
        let pool2 = pool.clone();
        let second = tokio::spawn(async move {
            let mut tx = pool2.begin().await.unwrap();
            let d = take_due_digests(&mut tx, next.date_naive(), next, 100).await.unwrap();
            tx.commit().await.unwrap();
            d
        });
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
        assert!(!second.is_finished(), "the member-day is held by the first pass");
        enqueue_dms(&mut first, 1, &[7], &a[0].key(), "digest", "digest", next).await.unwrap();
        first.commit().await.unwrap();
        assert!(second.await.unwrap().is_empty(), "nothing left for the second pass: no line is split off");
        // A late item for that day: a digest of its own, under a new key.
        add_digest_items(&mut conn, 1, &[7], "topic:3", "three", t0()).await.unwrap();
        let late = take_due_digests(&mut conn, next.date_naive(), next, 100).await.unwrap();
        assert_eq!(late.len(), 1);
        assert_eq!(late[0].lines, ["three"]);
        assert_ne!(late[0].key(), a[0].key());
        assert_eq!(enqueue_dms(&mut conn, 1, &[7], &late[0].key(), "digest", "digest", next).await.unwrap(), 1);
        let n: i64 = sqlx::query_scalar("select count(*) from deliveries where kind = 'digest'")
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(n, 2, "both digests are queued; no line lost");
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
