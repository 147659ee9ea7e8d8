//! The request SLA (R5): each server's times (remind the leaders after T1,
//! alert the admins after T2, expire after T3) and the deny cooldown, as
//! validated values; and the claims the background pass makes on overdue
//! requests. Every claim locks its rows with `for update skip locked` inside
//! the caller's transaction, so two bot processes never act on the same row:
//! the second skips what the first holds, and once the first commits the
//! row no longer matches.

use super::db_id;
use super::request::{self, Request};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// A server's SLA settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sla {
    /// T1: remind the group's leaders of a request pending this long.
    pub remind_hours: i32,
    /// T2: alert the admins in the mod channel.
    pub escalate_hours: i32,
    /// T3: the request expires.
    pub expire_hours: i32,
    /// Days after a deny before the member may ask the same group again (0: at once).
    pub cooldown_days: i32,
}

pub const DEFAULT: Sla = Sla { remind_hours: 24, escalate_hours: 72, expire_hours: 7 * 24, cooldown_days: 7 };

/// Upper bounds, as the migration's checks: 30, 60 and 90 days; a year.
pub const MAX_REMIND_HOURS: i32 = 720;
pub const MAX_ESCALATE_HOURS: i32 = 1440;
pub const MAX_EXPIRE_HOURS: i32 = 2160;
pub const MAX_COOLDOWN_DAYS: i32 = 365;

impl Default for Sla {
    fn default() -> Self {
        DEFAULT
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SlaError {
    #[error("{what} must be at least {min}.")]
    TooSmall { what: &'static str, min: &'static str },
    #[error("{what} can be at most {max}.")]
    TooLarge { what: &'static str, max: &'static str },
    #[error(
        "The times must grow: remind after {remind} h, then alert the admins after {escalate} h, then expire after {expire} h. Reminding must come before the alert, and the alert before expiry."
    )]
    Order { remind: i32, escalate: i32, expire: i32 },
}

impl Sla {
    pub fn cooldown(&self) -> chrono::Duration {
        chrono::Duration::days(self.cooldown_days as i64)
    }

    /// Each time positive and bounded, T1 < T2 < T3, the cooldown 0 to a year.
    pub fn validate(&self) -> Result<(), SlaError> {
        let bounds = [
            (
                "The reminder time (remind_hours)",
                self.remind_hours,
                (1, "1 hour"),
                (MAX_REMIND_HOURS, "720 hours (30 days)"),
            ),
            (
                "The admin alert time (escalate_hours)",
                self.escalate_hours,
                (1, "1 hour"),
                (MAX_ESCALATE_HOURS, "1440 hours (60 days)"),
            ),
            ("The expiry time (expire_days)", self.expire_hours, (24, "1 day"), (MAX_EXPIRE_HOURS, "90 days")),
            (
                "The cooldown after a deny (cooldown_days)",
                self.cooldown_days,
                (0, "0 days"),
                (MAX_COOLDOWN_DAYS, "365 days"),
            ),
        ];
        for (what, v, (min, min_text), (max, max_text)) in bounds {
            if v < min {
                return Err(SlaError::TooSmall { what, min: min_text });
            }
            if v > max {
                return Err(SlaError::TooLarge { what, max: max_text });
            }
        }
        if !(self.remind_hours < self.escalate_hours && self.escalate_hours < self.expire_hours) {
            return Err(SlaError::Order {
                remind: self.remind_hours,
                escalate: self.escalate_hours,
                expire: self.expire_hours,
            });
        }
        Ok(())
    }
}

/// The server's SLA (defaults for what it never set).
pub async fn get(conn: &mut PgConnection, guild_id: u64) -> Result<Sla, sqlx::Error> {
    let r = sqlx::query!(
        "select request_remind_hours, request_escalate_hours, request_expire_hours, request_cooldown_days
         from guild_settings where guild_id = $1",
        db_id(guild_id)
    )
    .fetch_optional(conn)
    .await?;
    Ok(match r {
        None => DEFAULT,
        Some(r) => Sla {
            remind_hours: r.request_remind_hours.unwrap_or(DEFAULT.remind_hours),
            escalate_hours: r.request_escalate_hours.unwrap_or(DEFAULT.escalate_hours),
            expire_hours: r.request_expire_hours.unwrap_or(DEFAULT.expire_hours),
            cooldown_days: r.request_cooldown_days.unwrap_or(DEFAULT.cooldown_days),
        },
    })
}

/// Store a validated SLA.
pub async fn set(conn: &mut PgConnection, guild_id: u64, s: &Sla) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into guild_settings (guild_id, request_remind_hours, request_escalate_hours, request_expire_hours,
                                     request_cooldown_days)
         values ($1, $2, $3, $4, $5)
         on conflict (guild_id) do update set
           request_remind_hours = excluded.request_remind_hours,
           request_escalate_hours = excluded.request_escalate_hours,
           request_expire_hours = excluded.request_expire_hours,
           request_cooldown_days = excluded.request_cooldown_days,
           updated_at = now()",
        db_id(guild_id),
        s.remind_hours,
        s.escalate_hours,
        s.expire_hours,
        s.cooldown_days
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Groups with a pending request older than their server's T1 whose leaders
/// were not reminded yet (read without locking; `claim_reminders` decides).
pub async fn groups_to_remind(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select distinct r.group_id as "group_id!" from join_requests r
           left join guild_settings s on s.guild_id = r.guild_id
           where r.status = 'pending' and r.reminded_at is null
             and r.created_at <= $1::timestamptz - make_interval(hours => coalesce(s.request_remind_hours, $2))
           order by 1 limit 200"#,
        now,
        DEFAULT.remind_hours
    )
    .fetch_all(conn)
    .await
}

/// Lock a group's requests due for a reminder, skipping rows another
/// process (or a decider) holds. Mark them with `mark_reminded` before the
/// transaction commits.
pub async fn claim_reminders(
    conn: &mut PgConnection,
    group_id: i64,
    now: DateTime<Utc>,
) -> Result<Vec<Request>, sqlx::Error> {
    let ids = sqlx::query_scalar!(
        "select r.id from join_requests r
         left join guild_settings s on s.guild_id = r.guild_id
         where r.group_id = $1 and r.status = 'pending' and r.reminded_at is null
           and r.created_at <= $2::timestamptz - make_interval(hours => coalesce(s.request_remind_hours, $3))
         order by r.id for update of r skip locked",
        group_id,
        now,
        DEFAULT.remind_hours
    )
    .fetch_all(&mut *conn)
    .await?;
    by_ids(conn, &ids).await
}

pub async fn mark_reminded(conn: &mut PgConnection, ids: &[i64], now: DateTime<Utc>) -> Result<(), sqlx::Error> {
    sqlx::query!("update join_requests set reminded_at = $2 where id = any($1)", ids, now).execute(conn).await?;
    Ok(())
}

/// Servers with a pending request older than their T2 not escalated yet.
pub async fn guilds_to_escalate(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<Vec<u64>, sqlx::Error> {
    let rows = sqlx::query_scalar!(
        r#"select distinct r.guild_id as "guild_id!" from join_requests r
           left join guild_settings s on s.guild_id = r.guild_id
           where r.status = 'pending' and r.escalated_at is null
             and r.created_at <= $1::timestamptz - make_interval(hours => coalesce(s.request_escalate_hours, $2))
           order by 1 limit 200"#,
        now,
        DEFAULT.escalate_hours
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(super::snowflake).collect())
}

/// Lock a server's requests due for escalation (as `claim_reminders`).
pub async fn claim_escalations(
    conn: &mut PgConnection,
    guild_id: u64,
    now: DateTime<Utc>,
) -> Result<Vec<Request>, sqlx::Error> {
    let ids = sqlx::query_scalar!(
        "select r.id from join_requests r
         left join guild_settings s on s.guild_id = r.guild_id
         where r.guild_id = $1 and r.status = 'pending' and r.escalated_at is null
           and r.created_at <= $2::timestamptz - make_interval(hours => coalesce(s.request_escalate_hours, $3))
         order by r.id for update of r skip locked",
        db_id(guild_id),
        now,
        DEFAULT.escalate_hours
    )
    .fetch_all(&mut *conn)
    .await?;
    by_ids(conn, &ids).await
}

pub async fn mark_escalated(
    conn: &mut PgConnection,
    ids: &[i64],
    now: DateTime<Utc>,
    delivered: bool,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update join_requests set escalated_at = $2, escalation_delivered = $3 where id = any($1)",
        ids,
        now,
        delivered
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Lock one pending request older than its server's T3, skipping rows a
/// decider or another process holds. The caller closes it as expired.
pub async fn claim_expiry(conn: &mut PgConnection, now: DateTime<Utc>) -> Result<Option<Request>, sqlx::Error> {
    let id = sqlx::query_scalar!(
        "select r.id from join_requests r
         left join guild_settings s on s.guild_id = r.guild_id
         where r.status = 'pending'
           and r.created_at <= $1::timestamptz - make_interval(hours => coalesce(s.request_expire_hours, $2))
         order by r.id limit 1 for update of r skip locked",
        now,
        DEFAULT.expire_hours
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(by_ids(conn, &id.into_iter().collect::<Vec<_>>()).await?.pop())
}

/// Lock one expired request whose requester was not told yet (the card and
/// DM follow the expiry in their own step, so a failure there is retried
/// without expiring twice). The caller records the DM with `set_dm_delivered`.
pub async fn claim_expired_unannounced(conn: &mut PgConnection) -> Result<Option<Request>, sqlx::Error> {
    let id = sqlx::query_scalar!(
        "select id from join_requests where status = 'expired' and dm_delivered is null
         order by id limit 1 for update skip locked"
    )
    .fetch_optional(&mut *conn)
    .await?;
    Ok(by_ids(conn, &id.into_iter().collect::<Vec<_>>()).await?.pop())
}

/// A server's pending requests whose escalation could not reach the admins.
pub async fn undelivered_escalations(conn: &mut PgConnection, guild_id: u64) -> Result<Vec<Request>, sqlx::Error> {
    let ids = sqlx::query_scalar!(
        "select id from join_requests
         where guild_id = $1 and status = 'pending' and escalation_delivered = false order by id limit 25",
        db_id(guild_id)
    )
    .fetch_all(&mut *conn)
    .await?;
    by_ids(conn, &ids).await
}

async fn by_ids(conn: &mut PgConnection, ids: &[i64]) -> Result<Vec<Request>, sqlx::Error> {
    let mut out = Vec::with_capacity(ids.len());
    for id in ids {
        if let Some(r) = request::get_any(conn, *id).await? {
            out.push(r);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_must_be_positive_bounded_and_ordered() {
        assert_eq!(DEFAULT.validate(), Ok(()));
        let s = |r, e, x, c| Sla { remind_hours: r, escalate_hours: e, expire_hours: x, cooldown_days: c };
        assert!(matches!(s(0, 72, 168, 7).validate(), Err(SlaError::TooSmall { .. })));
        assert!(matches!(s(24, 72, 168, -1).validate(), Err(SlaError::TooSmall { .. })));
        assert_eq!(s(24, 72, 168, 0).validate(), Ok(()), "no cooldown is allowed");
        assert!(matches!(s(24, 72, 2161, 7).validate(), Err(SlaError::TooLarge { .. })));
        assert!(matches!(s(24, 72, 168, 366).validate(), Err(SlaError::TooLarge { .. })));
        assert!(matches!(s(72, 72, 168, 7).validate(), Err(SlaError::Order { .. })));
        assert!(matches!(s(24, 200, 168, 7).validate(), Err(SlaError::Order { .. })));
        assert_eq!(s(1, 2, 24, 0).validate(), Ok(()));
        assert!(matches!(s(1, 2, 3, 0).validate(), Err(SlaError::TooSmall { .. })), "expiry is in whole days");
    }

    #[sqlx::test]
    async fn the_sla_is_per_server_with_defaults(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        assert_eq!(get(&mut conn, 1).await.unwrap(), DEFAULT);
        let s = Sla { remind_hours: 2, escalate_hours: 5, expire_hours: 48, cooldown_days: 0 };
        assert_eq!(s.validate(), Ok(()));
        set(&mut conn, 1, &s).await.unwrap();
        assert_eq!(get(&mut conn, 1).await.unwrap(), s);
        assert_eq!(get(&mut conn, 2).await.unwrap(), DEFAULT);
    }

    #[sqlx::test]
    async fn a_claimed_row_is_skipped_by_a_second_claimer(pool: sqlx::PgPool) {
        use crate::domain::group::{self, Bucket, NewGroup, Visibility};
        use crate::domain::request::{insert, NewRequest, Snapshot};
        let mut conn = pool.acquire().await.unwrap();
        let g = group::insert(
            &mut conn,
            &NewGroup::parse(1, 9, "Rust", Bucket::Interest, Visibility::Closed, None).unwrap(),
        )
        .await
        .unwrap();
        let start = Utc::now();
        let snap = Snapshot { account_age_days: 1, days_in_server: 1, checks: vec![] };
        let n = NewRequest { guild_id: 1, group_id: g, user_id: 5, message: None, snapshot: &snap, now: start };
        insert(&mut conn, &n).await.unwrap().unwrap();
        let early = start + chrono::Duration::hours(23);
        assert!(groups_to_remind(&mut conn, early).await.unwrap().is_empty(), "not yet due");
        let now = start + chrono::Duration::hours(25);
        assert_eq!(groups_to_remind(&mut conn, now).await.unwrap(), vec![g]);

        let mut first = pool.begin().await.unwrap();
        let claimed = claim_reminders(&mut first, g, now).await.unwrap();
        assert_eq!(claimed.len(), 1);
        let mut second = pool.begin().await.unwrap();
        assert!(claim_reminders(&mut second, g, now).await.unwrap().is_empty(), "the held row is skipped");
        mark_reminded(&mut first, &[claimed[0].id], now).await.unwrap();
        first.commit().await.unwrap();
        assert!(claim_reminders(&mut second, g, now).await.unwrap().is_empty(), "once reminded, never again");
        drop(second);
        assert!(groups_to_remind(&mut conn, now).await.unwrap().is_empty());

        let later = start + chrono::Duration::hours(169);
        assert_eq!(guilds_to_escalate(&mut conn, later).await.unwrap(), vec![1]);
        let mut tx = pool.begin().await.unwrap();
        let r = claim_expiry(&mut tx, later).await.unwrap().expect("due to expire");
        assert!(request::close(&mut tx, r.id, request::Status::Expired, None, None, later).await.unwrap());
        tx.commit().await.unwrap();
        let mut tx = pool.begin().await.unwrap();
        assert!(claim_expiry(&mut tx, later).await.unwrap().is_none());
        let r = claim_expired_unannounced(&mut tx).await.unwrap().expect("the requester is still to be told");
        assert_eq!(r.status, request::Status::Expired);
    }
}
