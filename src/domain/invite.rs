//! Invitations to groups (M5): the rows (one pending per invitee per group,
//! by a partial unique index), the per-server limits (expiry, daily cap per
//! inviter), the per-group "members may invite" setting, and the expiry claim
//! the background pass makes.

use super::{db_id, snowflake};
use chrono::{DateTime, Duration, Utc};
use sqlx::PgConnection;

pub const DEFAULT_EXPIRY_DAYS: i32 = 7;
pub const DEFAULT_DAILY_CAP: i32 = 10;
/// Bounds an admin may set (also checked by the database).
pub const EXPIRY_DAYS_MAX: i32 = 30;
pub const DAILY_CAP_MAX: i32 = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum Status {
    Pending,
    Accepted,
    Declined,
    Expired,
    Revoked,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Invitation {
    pub id: i64,
    pub guild_id: u64,
    pub group_id: i64,
    pub group_name: String,
    pub inviter_id: u64,
    pub invitee_id: u64,
    pub status: Status,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub decided_by: Option<u64>,
    pub decided_at: Option<DateTime<Utc>>,
    pub card_channel_id: Option<u64>,
    pub card_message_id: Option<u64>,
    pub invitee_dm_delivered: Option<bool>,
    pub inviter_dm_delivered: Option<bool>,
    /// Why it closed without anyone deciding (someone left the server).
    pub note: Option<String>,
}

impl Invitation {
    /// Pending, and not yet past its expiry at `now` (the background pass
    /// may not have marked it yet).
    pub fn is_open(&self, now: DateTime<Utc>) -> bool {
        self.status == Status::Pending && now < self.expires_at
    }
}

/// The per-server invitation limits (A1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub expiry_days: i32,
    pub daily_cap: i32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits { expiry_days: DEFAULT_EXPIRY_DAYS, daily_cap: DEFAULT_DAILY_CAP }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LimitError {
    #[error("The expiry must be between 1 and {EXPIRY_DAYS_MAX} days (you gave {0}).")]
    Expiry(i64),
    #[error("The daily cap must be between 1 and {DAILY_CAP_MAX} invitations (you gave {0}).")]
    Cap(i64),
}

impl Limits {
    /// The current limits with the given changes, validated.
    pub fn with(self, expiry_days: Option<i64>, daily_cap: Option<i64>) -> Result<Limits, LimitError> {
        let mut l = self;
        if let Some(d) = expiry_days {
            if !(1..=EXPIRY_DAYS_MAX as i64).contains(&d) {
                return Err(LimitError::Expiry(d));
            }
            l.expiry_days = d as i32;
        }
        if let Some(c) = daily_cap {
            if !(1..=DAILY_CAP_MAX as i64).contains(&c) {
                return Err(LimitError::Cap(c));
            }
            l.daily_cap = c as i32;
        }
        Ok(l)
    }
}

pub async fn limits(conn: &mut PgConnection, guild_id: u64) -> Result<Limits, sqlx::Error> {
    let r = sqlx::query!(
        "select invite_expiry_days, invite_daily_cap from guild_settings where guild_id = $1",
        db_id(guild_id)
    )
    .fetch_optional(conn)
    .await?;
    Ok(r.map(|r| Limits { expiry_days: r.invite_expiry_days, daily_cap: r.invite_daily_cap }).unwrap_or_default())
}

pub async fn set_limits(conn: &mut PgConnection, guild_id: u64, l: Limits) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into guild_settings (guild_id, invite_expiry_days, invite_daily_cap) values ($1, $2, $3)
         on conflict (guild_id) do update set invite_expiry_days = excluded.invite_expiry_days,
           invite_daily_cap = excluded.invite_daily_cap, updated_at = now()",
        db_id(guild_id),
        l.expiry_days,
        l.daily_cap
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether members who don't lead the group may invite people to it.
pub async fn members_can_invite(conn: &mut PgConnection, group_id: i64) -> Result<bool, sqlx::Error> {
    let r = sqlx::query_scalar!("select members_can_invite from groups where id = $1", group_id)
        .fetch_optional(conn)
        .await?;
    Ok(r.unwrap_or(false))
}

pub async fn set_members_can_invite(conn: &mut PgConnection, group_id: i64, allowed: bool) -> Result<(), sqlx::Error> {
    sqlx::query!("update groups set members_can_invite = $2, updated_at = now() where id = $1", group_id, allowed)
        .execute(conn)
        .await?;
    Ok(())
}

macro_rules! select_invitations {
    ($where:literal, $($arg:expr),*) => {
        sqlx::query!(
            r#"select i.id, i.guild_id, i.group_id, g.name as group_name, i.inviter_id, i.invitee_id,
                      i.status as "status: Status", i.created_at, i.expires_at, i.decided_by, i.decided_at,
                      i.card_channel_id, i.card_message_id, i.invitee_dm_delivered, i.inviter_dm_delivered, i.note
               from invitations i join groups g on g.id = i.group_id "# + $where,
            $($arg),*
        )
    };
}

macro_rules! to_invitation {
    ($r:expr) => {{
        let r = $r;
        Invitation {
            id: r.id,
            guild_id: snowflake(r.guild_id),
            group_id: r.group_id,
            group_name: r.group_name,
            inviter_id: snowflake(r.inviter_id),
            invitee_id: snowflake(r.invitee_id),
            status: r.status,
            created_at: r.created_at,
            expires_at: r.expires_at,
            decided_by: r.decided_by.map(snowflake),
            decided_at: r.decided_at,
            card_channel_id: r.card_channel_id.map(snowflake),
            card_message_id: r.card_message_id.map(snowflake),
            invitee_dm_delivered: r.invitee_dm_delivered,
            inviter_dm_delivered: r.inviter_dm_delivered,
            note: r.note,
        }
    }};
}

/// Serialise invitations by one inviter in one server for the rest of the
/// transaction, so two invitations sent at once can't both slip under the cap.
pub async fn lock_inviter(conn: &mut PgConnection, guild_id: u64, inviter_id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "select pg_advisory_xact_lock(hashtextextended('invite:' || $1::text || ':' || $2::text, 0))",
        db_id(guild_id).to_string(),
        db_id(inviter_id).to_string()
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Invitations the inviter sent in the server in the 24 hours before `now`,
/// and the oldest of them (the cap frees up 24 hours after it).
pub async fn sent_in_last_day(
    conn: &mut PgConnection,
    guild_id: u64,
    inviter_id: u64,
    now: DateTime<Utc>,
) -> Result<(i64, Option<DateTime<Utc>>), sqlx::Error> {
    let r = sqlx::query!(
        r#"select count(*) as "n!", min(created_at) as oldest from invitations
           where guild_id = $1 and inviter_id = $2 and created_at > $3 and created_at <= $4"#,
        db_id(guild_id),
        db_id(inviter_id),
        now - Duration::hours(24),
        now
    )
    .fetch_one(conn)
    .await?;
    Ok((r.n, r.oldest))
}

/// Store a pending invitation; `None` when the invitee already has one
/// pending for the group (the partial unique index decides).
pub async fn insert(
    conn: &mut PgConnection,
    guild_id: u64,
    group_id: i64,
    inviter_id: u64,
    invitee_id: u64,
    now: DateTime<Utc>,
    expires_at: DateTime<Utc>,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into invitations (guild_id, group_id, inviter_id, invitee_id, created_at, expires_at)
         values ($1, $2, $3, $4, $5, $6)
         on conflict (group_id, invitee_id) where status = 'pending' do nothing returning id",
        db_id(guild_id),
        group_id,
        db_id(inviter_id),
        db_id(invitee_id),
        now,
        expires_at
    )
    .fetch_optional(conn)
    .await
}

/// An invitation by id alone (a button pressed in a DM carries no guild).
pub async fn get(conn: &mut PgConnection, id: i64) -> Result<Option<Invitation>, sqlx::Error> {
    let r = select_invitations!("where i.id = $1", id).fetch_optional(conn).await?;
    Ok(r.map(|r| to_invitation!(r)))
}

/// The invitee's pending invitation to the group, if any.
pub async fn pending_for(
    conn: &mut PgConnection,
    group_id: i64,
    invitee_id: u64,
) -> Result<Option<Invitation>, sqlx::Error> {
    let r = select_invitations!(
        "where i.group_id = $1 and i.invitee_id = $2 and i.status = 'pending'",
        group_id,
        db_id(invitee_id)
    )
    .fetch_optional(conn)
    .await?;
    Ok(r.map(|r| to_invitation!(r)))
}

/// Close a pending invitation at `now`; `false` when it was no longer pending.
pub async fn close(
    conn: &mut PgConnection,
    id: i64,
    status: Status,
    decided_by: Option<u64>,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query_scalar!(
        "update invitations set status = $2, decided_by = $3, decided_at = $4
         where id = $1 and status = 'pending' returning id",
        id,
        status as Status,
        decided_by.map(db_id),
        now
    )
    .fetch_optional(conn)
    .await?;
    Ok(r.is_some())
}

/// An acceptance whose grant Discord refused for good (N6): the invitation
/// is pending again while it has not expired at `now`. `false` when it was
/// not accepted, has expired, or another invitation is pending now.
pub async fn reopen(conn: &mut PgConnection, id: i64, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let reopened = sqlx::query_scalar!(
        "update invitations i set status = 'pending', decided_by = null, decided_at = null
         where i.id = $1 and i.status = 'accepted' and i.expires_at > $2
           and not exists (select 1 from invitations o
                           where o.group_id = i.group_id and o.invitee_id = i.invitee_id and o.status = 'pending')
         returning i.id",
        id,
        now
    )
    .fetch_optional(conn)
    .await?;
    Ok(reopened.is_some())
}

/// The pending invitations a user sent or received in a guild, locked, for
/// cancelling them when the user leaves the server.
pub async fn lock_pending_involving(
    conn: &mut PgConnection,
    guild_id: u64,
    user_id: u64,
) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "select id from invitations where guild_id = $1 and status = 'pending'
           and (inviter_id = $2 or invitee_id = $2) order by id for update",
        db_id(guild_id),
        db_id(user_id)
    )
    .fetch_all(conn)
    .await
}

/// Close a pending invitation that nobody decided (revoked by the bot, with
/// a note saying why); `false` when it was no longer pending.
pub async fn cancel(conn: &mut PgConnection, id: i64, note: &str, now: DateTime<Utc>) -> Result<bool, sqlx::Error> {
    let r = sqlx::query_scalar!(
        "update invitations set status = 'revoked', decided_by = null, decided_at = $2, note = $3
         where id = $1 and status = 'pending' returning id",
        id,
        now,
        note
    )
    .fetch_optional(conn)
    .await?;
    Ok(r.is_some())
}

/// Claim one pending invitation past its expiry: mark it expired and return
/// it. Rows another process is claiming are skipped, so two bot processes
/// never expire (and announce) the same invitation twice.
pub async fn claim_expired(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<Option<Invitation>, sqlx::Error> {
    let id = sqlx::query_scalar!(
        "update invitations set status = 'expired', decided_at = $1
         where id = (select id from invitations where status = 'pending' and expires_at <= $1
                     order by expires_at for update skip locked limit 1)
         returning id",
        now
    )
    .fetch_optional(&mut *conn)
    .await?;
    match id {
        Some(id) => get(conn, id).await,
        None => Ok(None),
    }
}

pub async fn set_card(conn: &mut PgConnection, id: i64, card: Option<(u64, u64)>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update invitations set card_channel_id = $2, card_message_id = $3, invitee_dm_delivered = $4 where id = $1",
        id,
        card.map(|c| db_id(c.0)),
        card.map(|c| db_id(c.1)),
        card.is_some()
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_inviter_dm_delivered(conn: &mut PgConnection, id: i64, delivered: bool) -> Result<(), sqlx::Error> {
    sqlx::query!("update invitations set inviter_dm_delivered = $2 where id = $1", id, delivered).execute(conn).await?;
    Ok(())
}

/// Invitations a member received in the server: pending ones first, then the
/// latest others, newest first.
pub async fn received(
    conn: &mut PgConnection,
    guild_id: u64,
    invitee_id: u64,
    limit: i64,
) -> Result<Vec<Invitation>, sqlx::Error> {
    let rows = select_invitations!(
        "where i.guild_id = $1 and i.invitee_id = $2 order by (i.status = 'pending') desc, i.id desc limit $3",
        db_id(guild_id),
        db_id(invitee_id),
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| to_invitation!(r)).collect())
}

/// Invitations a member sent in the server, newest first.
pub async fn sent(
    conn: &mut PgConnection,
    guild_id: u64,
    inviter_id: u64,
    limit: i64,
) -> Result<Vec<Invitation>, sqlx::Error> {
    let rows = select_invitations!(
        "where i.guild_id = $1 and i.inviter_id = $2 order by i.id desc limit $3",
        db_id(guild_id),
        db_id(inviter_id),
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| to_invitation!(r)).collect())
}

/// Pending invitations to the groups `leader` leads (every group when `all`)
/// that someone else sent, oldest first.
pub async fn pending_for_leader(
    conn: &mut PgConnection,
    guild_id: u64,
    leader: u64,
    all: bool,
    limit: i64,
) -> Result<Vec<Invitation>, sqlx::Error> {
    let rows = select_invitations!(
        "where i.guild_id = $1 and i.status = 'pending' and i.inviter_id <> $2 and ($3 or exists
            (select 1 from group_leaders l where l.group_id = i.group_id and l.user_id = $2))
         order by i.id limit $4",
        db_id(guild_id),
        db_id(leader),
        all,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| to_invitation!(r)).collect())
}

/// What `/invites` shows.
pub struct Listing {
    /// Invitations the member received (pending first).
    pub received: Vec<Invitation>,
    /// Invitations the member sent, newest first.
    pub sent: Vec<Invitation>,
    /// Pending invitations others sent to groups the member leads (all
    /// groups for admins), which they may revoke.
    pub to_manage: Vec<Invitation>,
    pub now: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::group::{self, Bucket, NewGroup, Visibility};
    use sqlx::PgPool;

    async fn a_group(conn: &mut PgConnection) -> i64 {
        let g = NewGroup::parse(1, 2, "Rust", Bucket::Interest, Visibility::Closed, None).unwrap();
        group::insert(conn, &g).await.unwrap()
    }

    fn t0() -> DateTime<Utc> {
        DateTime::from_timestamp(1_800_000_000, 0).unwrap()
    }

    #[sqlx::test]
    async fn one_pending_invitation_per_invitee_per_group(pool: PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let g = a_group(&mut conn).await;
        let exp = t0() + Duration::days(7);
        let a = insert(&mut conn, 1, g, 5, 9, t0(), exp).await.unwrap().expect("first");
        assert_eq!(insert(&mut conn, 1, g, 6, 9, t0(), exp).await.unwrap(), None, "another inviter, same invitee");
        assert_eq!(pending_for(&mut conn, g, 9).await.unwrap().map(|i| i.id), Some(a));
        assert!(close(&mut conn, a, Status::Declined, Some(9), t0()).await.unwrap());
        assert!(!close(&mut conn, a, Status::Accepted, Some(9), t0()).await.unwrap(), "the first decision wins");
        assert!(insert(&mut conn, 1, g, 6, 9, t0(), exp).await.unwrap().is_some(), "free again once decided");
        let i = get(&mut conn, a).await.unwrap().unwrap();
        assert_eq!((i.status, i.decided_by, i.group_name.as_str()), (Status::Declined, Some(9), "Rust"));
    }

    #[sqlx::test]
    async fn the_daily_cap_counts_a_rolling_day_per_inviter_and_server(pool: PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let g = a_group(&mut conn).await;
        let exp = |t: DateTime<Utc>| t + Duration::days(7);
        for (i, hours) in [0, 10, 20].into_iter().enumerate() {
            let t = t0() + Duration::hours(hours);
            insert(&mut conn, 1, g, 5, 100 + i as u64, t, exp(t)).await.unwrap();
        }
        insert(&mut conn, 1, g, 6, 200, t0(), exp(t0())).await.unwrap();
        let now = t0() + Duration::hours(21);
        assert_eq!(sent_in_last_day(&mut conn, 1, 5, now).await.unwrap(), (3, Some(t0())));
        let later = t0() + Duration::hours(25);
        assert_eq!(sent_in_last_day(&mut conn, 1, 5, later).await.unwrap(), (2, Some(t0() + Duration::hours(10))));
        assert_eq!(sent_in_last_day(&mut conn, 2, 5, now).await.unwrap().0, 0, "per server");
    }

    #[sqlx::test]
    async fn expiry_is_claimed_once_even_by_two_processes(pool: PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let g = a_group(&mut conn).await;
        let a = insert(&mut conn, 1, g, 5, 9, t0(), t0() + Duration::days(7)).await.unwrap().unwrap();
        insert(&mut conn, 1, g, 5, 10, t0(), t0() + Duration::days(8)).await.unwrap().unwrap();
        assert!(claim_expired(&mut conn, t0() + Duration::days(6)).await.unwrap().is_none(), "not due yet");
        let now = t0() + Duration::days(7);
        let mut first = pool.begin().await.unwrap();
        let claimed = claim_expired(&mut first, now).await.unwrap().expect("due");
        assert_eq!((claimed.id, claimed.status), (a, Status::Expired));
        // A second process at the same moment skips the locked row.
        let mut second = pool.begin().await.unwrap();
        assert!(claim_expired(&mut second, now).await.unwrap().is_none());
        first.commit().await.unwrap();
        second.commit().await.unwrap();
        assert!(claim_expired(&mut conn, now).await.unwrap().is_none(), "claimed once");
    }

    #[sqlx::test]
    async fn limits_default_validate_and_persist(pool: PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        assert_eq!(limits(&mut conn, 1).await.unwrap(), Limits::default());
        let l = Limits::default().with(Some(3), Some(2)).unwrap();
        set_limits(&mut conn, 1, l).await.unwrap();
        assert_eq!(limits(&mut conn, 1).await.unwrap(), Limits { expiry_days: 3, daily_cap: 2 });
        assert_eq!(Limits::default().with(Some(0), None), Err(LimitError::Expiry(0)));
        assert_eq!(Limits::default().with(Some(31), None), Err(LimitError::Expiry(31)));
        assert_eq!(Limits::default().with(None, Some(0)), Err(LimitError::Cap(0)));
        assert_eq!(Limits::default().with(None, Some(101)), Err(LimitError::Cap(101)));
        let g = a_group(&mut conn).await;
        assert!(!members_can_invite(&mut conn, g).await.unwrap());
        set_members_can_invite(&mut conn, g, true).await.unwrap();
        assert!(members_can_invite(&mut conn, g).await.unwrap());
    }
}
