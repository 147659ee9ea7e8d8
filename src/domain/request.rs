//! Requests to join closed groups (R1-R4): each group's automatic criteria
//! as pure rules, the request rows (one pending per member per group, by a
//! partial unique index), and each group's private review thread.

use super::{db_id, snowflake};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// Days after a deny before the same member may ask again, unless the
/// server sets another (`domain::sla::Sla::cooldown_days`).
pub const COOLDOWN_DAYS: i64 = 7;

/// A group's automatic criteria (R1).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Criteria {
    pub min_days_in_server: i32,
    pub min_account_age_days: i32,
    pub required_role_ids: Vec<u64>,
    pub blocked_role_ids: Vec<u64>,
}

/// The most roles a group's criteria may name, required and blocked
/// together.
pub const CRITERIA_ROLES_MAX: usize = 10;

/// What an admin asked `/group criteria` to change: each `Some` replaces a
/// minimum or adds a role; `clear` starts from no criteria first.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CriteriaChange {
    pub clear: bool,
    pub min_days_in_server: Option<i32>,
    pub min_account_age_days: Option<i32>,
    pub required_role: Option<u64>,
    pub blocked_role: Option<u64>,
}

/// Why a change to a group's criteria was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CriteriaRefusal {
    #[error("@everyone can't be a criterion: everyone holds it.")]
    Everyone,
    #[error("A role can't be both required and blocked.")]
    BothRequiredAndBlocked,
    #[error("At most ten roles in all. Use `clear` to start over.")]
    TooManyRoles,
}

impl Criteria {
    /// The criteria after `change`, in the server `guild_id` (whose id is
    /// also its @everyone role's), or why they can't be.
    pub fn amended(&self, change: &CriteriaChange, guild_id: u64) -> Result<Criteria, CriteriaRefusal> {
        let mut c = if change.clear { Criteria::default() } else { self.clone() };
        if let Some(d) = change.min_days_in_server {
            c.min_days_in_server = d;
        }
        if let Some(d) = change.min_account_age_days {
            c.min_account_age_days = d;
        }
        if let Some(r) = change.required_role.filter(|r| !c.required_role_ids.contains(r)) {
            c.required_role_ids.push(r);
        }
        if let Some(r) = change.blocked_role.filter(|r| !c.blocked_role_ids.contains(r)) {
            c.blocked_role_ids.push(r);
        }
        if c.required_role_ids.contains(&guild_id) || c.blocked_role_ids.contains(&guild_id) {
            return Err(CriteriaRefusal::Everyone);
        }
        if c.required_role_ids.iter().any(|r| c.blocked_role_ids.contains(r)) {
            return Err(CriteriaRefusal::BothRequiredAndBlocked);
        }
        if c.required_role_ids.len() + c.blocked_role_ids.len() > CRITERIA_ROLES_MAX {
            return Err(CriteriaRefusal::TooManyRoles);
        }
        Ok(c)
    }
}

/// What is known about a requester when they ask.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applicant {
    pub account_age_days: i64,
    pub days_in_server: i64,
    pub role_ids: Vec<u64>,
}

/// Whole days between a time and now (never negative).
pub fn days_since(t: DateTime<Utc>, now: DateTime<Utc>) -> i64 {
    (now - t).num_days().max(0)
}

/// When a Discord id was created (its snowflake timestamp).
pub fn snowflake_time(id: u64) -> DateTime<Utc> {
    let ms = (id >> 22) as i64 + 1_420_070_400_000;
    DateTime::from_timestamp_millis(ms).unwrap_or_default()
}

/// One line of the criteria checklist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Check {
    /// What the criterion asks, e.g. "at least 7 days in the server".
    pub label: String,
    pub ok: bool,
}

/// The checklist as stored with a request: one line per check, `+` met, `-` not.
pub fn encode_checks(checks: &[Check]) -> String {
    checks
        .iter()
        .map(|c| format!("{}{}", if c.ok { '+' } else { '-' }, c.label.replace('\n', " ")))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The checklist read back (lines that are neither `+` nor `-` are skipped).
pub fn decode_checks(s: &str) -> Vec<Check> {
    s.lines()
        .filter_map(|l| {
            let ok = match l.chars().next()? {
                '+' => true,
                '-' => false,
                _ => return None,
            };
            Some(Check { label: l[1..].to_string(), ok })
        })
        .collect()
}

/// Every criterion the group sets, checked against the applicant.
pub fn check(c: &Criteria, a: &Applicant) -> Vec<Check> {
    let mut out = vec![];
    if c.min_days_in_server > 0 {
        out.push(Check {
            label: format!("at least {} days in the server (you: {})", c.min_days_in_server, a.days_in_server),
            ok: a.days_in_server >= c.min_days_in_server as i64,
        });
    }
    if c.min_account_age_days > 0 {
        out.push(Check {
            label: format!("an account at least {} days old (yours: {})", c.min_account_age_days, a.account_age_days),
            ok: a.account_age_days >= c.min_account_age_days as i64,
        });
    }
    for r in &c.required_role_ids {
        out.push(Check { label: format!("the <@&{r}> role"), ok: a.role_ids.contains(r) });
    }
    for r in &c.blocked_role_ids {
        out.push(Check { label: format!("not the <@&{r}> role"), ok: !a.role_ids.contains(r) });
    }
    out
}

pub async fn criteria(conn: &mut PgConnection, group_id: i64) -> Result<Criteria, sqlx::Error> {
    let r = sqlx::query!(
        "select min_days_in_server, min_account_age_days, required_role_ids, blocked_role_ids from groups where id = $1",
        group_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(r.map(|r| Criteria {
        min_days_in_server: r.min_days_in_server,
        min_account_age_days: r.min_account_age_days,
        required_role_ids: r.required_role_ids.into_iter().map(snowflake).collect(),
        blocked_role_ids: r.blocked_role_ids.into_iter().map(snowflake).collect(),
    })
    .unwrap_or_default())
}

pub async fn set_criteria(conn: &mut PgConnection, group_id: i64, c: &Criteria) -> Result<(), sqlx::Error> {
    let req: Vec<i64> = c.required_role_ids.iter().map(|r| db_id(*r)).collect();
    let blk: Vec<i64> = c.blocked_role_ids.iter().map(|r| db_id(*r)).collect();
    sqlx::query!(
        "update groups set min_days_in_server = $2, min_account_age_days = $3, required_role_ids = $4,
         blocked_role_ids = $5, updated_at = now() where id = $1",
        group_id,
        c.min_days_in_server,
        c.min_account_age_days,
        &req,
        &blk
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum Status {
    Pending,
    Approved,
    Denied,
    Withdrawn,
    Expired,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    pub id: i64,
    pub guild_id: u64,
    pub group_id: i64,
    pub group_name: String,
    pub user_id: u64,
    pub message: Option<String>,
    pub status: Status,
    pub decided_by: Option<u64>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub card_channel_id: Option<u64>,
    pub card_message_id: Option<u64>,
    pub dm_delivered: Option<bool>,
    pub note: Option<String>,
    pub created_at: DateTime<Utc>,
    /// The leaders were reminded (R5, T1).
    pub reminded_at: Option<DateTime<Utc>>,
    /// The admins were alerted (R5, T2) ...
    pub escalated_at: Option<DateTime<Utc>>,
    /// ... in the mod channel (`Some(true)`), or it could not be (`Some(false)`).
    pub escalation_delivered: Option<bool>,
    /// The requester when they asked (shown on the card after a decision).
    pub snapshot: Option<Snapshot>,
}

/// What the card showed about the requester when they asked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    pub account_age_days: i64,
    pub days_in_server: i64,
    pub checks: Vec<Check>,
}

macro_rules! select_requests {
    ($where:literal, $($arg:expr),*) => {
        sqlx::query!(
            r#"select r.id, r.guild_id, r.group_id, g.name as group_name, r.user_id, r.message,
                      r.status as "status: Status", r.decided_by, r.decided_at, r.reason,
                      r.card_channel_id, r.card_message_id, r.dm_delivered, r.note, r.created_at,
                      r.reminded_at, r.escalated_at, r.escalation_delivered, r.account_age_days,
                      r.days_in_server, r.checklist
               from join_requests r join groups g on g.id = r.group_id "# + $where,
            $($arg),*
        )
    };
}

macro_rules! to_request {
    ($r:expr) => {{
        let r = $r;
        Request {
            id: r.id,
            guild_id: snowflake(r.guild_id),
            group_id: r.group_id,
            group_name: r.group_name,
            user_id: snowflake(r.user_id),
            message: r.message,
            status: r.status,
            decided_by: r.decided_by.map(snowflake),
            decided_at: r.decided_at,
            reason: r.reason,
            card_channel_id: r.card_channel_id.map(snowflake),
            card_message_id: r.card_message_id.map(snowflake),
            dm_delivered: r.dm_delivered,
            note: r.note,
            created_at: r.created_at,
            reminded_at: r.reminded_at,
            escalated_at: r.escalated_at,
            escalation_delivered: r.escalation_delivered,
            snapshot: match (r.account_age_days, r.days_in_server) {
                (Some(a), Some(d)) => Some(Snapshot {
                    account_age_days: a as i64,
                    days_in_server: d as i64,
                    checks: decode_checks(r.checklist.as_deref().unwrap_or("")),
                }),
                _ => None,
            },
        }
    }};
}

/// A request about to be stored.
#[derive(Debug, Clone)]
pub struct NewRequest<'a> {
    pub guild_id: u64,
    pub group_id: i64,
    pub user_id: u64,
    pub message: Option<&'a str>,
    pub snapshot: &'a Snapshot,
    /// When it was made (the bot's clock): the SLA counts from here.
    pub now: DateTime<Utc>,
}

/// Store a pending request; `None` when the member already has one pending
/// for the group (the partial unique index decides, not a prior check).
pub async fn insert(conn: &mut PgConnection, n: &NewRequest<'_>) -> Result<Option<i64>, sqlx::Error> {
    let clamp = |v: i64| v.clamp(0, i32::MAX as i64) as i32;
    let checklist: String = encode_checks(&n.snapshot.checks).chars().take(1024).collect();
    sqlx::query_scalar!(
        "insert into join_requests (guild_id, group_id, user_id, message, account_age_days, days_in_server,
                                    checklist, created_at, updated_at)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $8)
         on conflict (group_id, user_id) where status = 'pending' do nothing returning id",
        db_id(n.guild_id),
        n.group_id,
        db_id(n.user_id),
        n.message,
        clamp(n.snapshot.account_age_days),
        clamp(n.snapshot.days_in_server),
        checklist,
        n.now
    )
    .fetch_optional(conn)
    .await
}

pub async fn get(conn: &mut PgConnection, guild_id: u64, id: i64) -> Result<Option<Request>, sqlx::Error> {
    let r = select_requests!("where r.guild_id = $1 and r.id = $2", db_id(guild_id), id).fetch_optional(conn).await?;
    Ok(r.map(|r| to_request!(r)))
}

/// A request by id alone (the background pass, which serves every server).
pub async fn get_any(conn: &mut PgConnection, id: i64) -> Result<Option<Request>, sqlx::Error> {
    let r = select_requests!("where r.id = $1", id).fetch_optional(conn).await?;
    Ok(r.map(|r| to_request!(r)))
}

/// The member's pending request for a group, if any.
pub async fn pending_for(conn: &mut PgConnection, group_id: i64, user_id: u64) -> Result<Option<Request>, sqlx::Error> {
    let r =
        select_requests!("where r.group_id = $1 and r.user_id = $2 and r.status = 'pending'", group_id, db_id(user_id))
            .fetch_optional(conn)
            .await?;
    Ok(r.map(|r| to_request!(r)))
}

/// When the member's latest deny for the group happened, if it is after `since`.
pub async fn denied_since(
    conn: &mut PgConnection,
    group_id: i64,
    user_id: u64,
    since: DateTime<Utc>,
) -> Result<Option<DateTime<Utc>>, sqlx::Error> {
    let r = sqlx::query_scalar!(
        "select max(decided_at) from join_requests
         where group_id = $1 and user_id = $2 and status = 'denied' and decided_at > $3",
        group_id,
        db_id(user_id),
        since
    )
    .fetch_one(conn)
    .await?;
    Ok(r)
}

/// A member's requests in a guild, newest first.
pub async fn for_user(
    conn: &mut PgConnection,
    guild_id: u64,
    user_id: u64,
    limit: i64,
) -> Result<Vec<Request>, sqlx::Error> {
    let rows = select_requests!(
        "where r.guild_id = $1 and r.user_id = $2 order by r.id desc limit $3",
        db_id(guild_id),
        db_id(user_id),
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| to_request!(r)).collect())
}

/// Pending requests of the groups `leader` leads (every group when `all`), oldest first.
pub async fn pending_for_leader(
    conn: &mut PgConnection,
    guild_id: u64,
    leader: u64,
    all: bool,
    limit: i64,
) -> Result<Vec<Request>, sqlx::Error> {
    let rows = select_requests!(
        "where r.guild_id = $1 and r.status = 'pending' and ($3 or exists
            (select 1 from group_leaders l where l.group_id = r.group_id and l.user_id = $2))
         order by r.id limit $4",
        db_id(guild_id),
        db_id(leader),
        all,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| to_request!(r)).collect())
}

/// Close a pending request at `now`; `false` when it was no longer pending.
/// `decided_by` is `None` when nobody decided (it expired).
pub async fn close(
    conn: &mut PgConnection,
    id: i64,
    status: Status,
    decided_by: Option<u64>,
    reason: Option<&str>,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let closed = sqlx::query_scalar!(
        "update join_requests set status = $2, decided_by = $3, decided_at = $5, reason = $4, note = null,
         updated_at = now() where id = $1 and status = 'pending' returning id",
        id,
        status as Status,
        decided_by.map(db_id),
        reason,
        now
    )
    .fetch_optional(conn)
    .await?;
    Ok(closed.is_some())
}

/// An approval whose grant Discord refused for good (N6): the request is
/// pending again, with `note` saying what happened. `false` when it was not
/// approved, or another request of theirs to the group is pending now.
pub async fn reopen(conn: &mut PgConnection, id: i64, note: &str) -> Result<bool, sqlx::Error> {
    let reopened = sqlx::query_scalar!(
        "update join_requests r set status = 'pending', decided_by = null, decided_at = null, reason = null,
                note = $2, dm_delivered = null, updated_at = now()
         where r.id = $1 and r.status = 'approved'
           and not exists (select 1 from join_requests o
                           where o.group_id = r.group_id and o.user_id = r.user_id and o.status = 'pending')
         returning r.id",
        id,
        note
    )
    .fetch_optional(conn)
    .await?;
    Ok(reopened.is_some())
}

pub async fn set_card(conn: &mut PgConnection, id: i64, channel_id: u64, message_id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update join_requests set card_channel_id = $2, card_message_id = $3, updated_at = now() where id = $1",
        id,
        db_id(channel_id),
        db_id(message_id)
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn set_note(conn: &mut PgConnection, id: i64, note: Option<&str>) -> Result<(), sqlx::Error> {
    sqlx::query!("update join_requests set note = $2, updated_at = now() where id = $1", id, note)
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn set_dm_delivered(conn: &mut PgConnection, id: i64, delivered: bool) -> Result<(), sqlx::Error> {
    sqlx::query!("update join_requests set dm_delivered = $2 where id = $1", id, delivered).execute(conn).await?;
    Ok(())
}

/// Where a copy of a request's card is (`request_cards`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum CardPlace {
    /// The group's private review thread in the requests channel.
    Thread,
    /// One leader's DMs (no usable requests channel).
    Dm,
    /// The mod channel (no leader could be reached).
    Mod,
}

/// One copy of a request's card.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Card {
    pub place: CardPlace,
    pub channel_id: u64,
    pub message_id: u64,
    /// The leader whose DMs hold it.
    pub recipient_id: Option<u64>,
}

/// Remember a copy of a request's card (once per message).
pub async fn add_card(conn: &mut PgConnection, request_id: i64, card: &Card) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into request_cards (request_id, place, channel_id, message_id, recipient_id)
         values ($1, $2, $3, $4, $5) on conflict (message_id) do nothing",
        request_id,
        card.place as CardPlace,
        db_id(card.channel_id),
        db_id(card.message_id),
        card.recipient_id.map(db_id)
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Every copy of a request's card, oldest first.
pub async fn cards(conn: &mut PgConnection, request_id: i64) -> Result<Vec<Card>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select place as "place: CardPlace", channel_id, message_id, recipient_id
           from request_cards where request_id = $1 order by id"#,
        request_id
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Card {
            place: r.place,
            channel_id: snowflake(r.channel_id),
            message_id: snowflake(r.message_id),
            recipient_id: r.recipient_id.map(snowflake),
        })
        .collect())
}

/// A group's review thread, if one was made.
pub async fn review_thread(conn: &mut PgConnection, group_id: i64) -> Result<Option<(u64, u64)>, sqlx::Error> {
    let r = sqlx::query!("select channel_id, thread_id from request_threads where group_id = $1", group_id)
        .fetch_optional(conn)
        .await?;
    Ok(r.map(|r| (snowflake(r.channel_id), snowflake(r.thread_id))))
}

/// Remember `made` as the group's review thread in `channel_id` if the one
/// remembered is still `expected` (read before `made` was started on
/// Discord, holding no lock); returns the thread remembered now.
pub async fn claim_review_thread(
    conn: &mut PgConnection,
    group_id: i64,
    channel_id: u64,
    expected: Option<u64>,
    made: u64,
) -> Result<u64, sqlx::Error> {
    let claimed = sqlx::query_scalar!(
        "insert into request_threads (group_id, channel_id, thread_id) values ($1, $2, $3)
         on conflict (group_id) do update set channel_id = excluded.channel_id, thread_id = excluded.thread_id
         where request_threads.thread_id = $4
         returning thread_id",
        group_id,
        db_id(channel_id),
        db_id(made),
        expected.map(db_id)
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(t) = claimed {
        return Ok(snowflake(t));
    }
    Ok(review_thread(conn, group_id).await?.filter(|(ch, _)| *ch == channel_id).map_or(made, |(_, t)| t))
}

/// Remember the group's review thread.
pub async fn set_review_thread(
    conn: &mut PgConnection,
    group_id: i64,
    channel_id: u64,
    thread_id: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into request_threads (group_id, channel_id, thread_id) values ($1, $2, $3)
         on conflict (group_id) do update set channel_id = excluded.channel_id, thread_id = excluded.thread_id",
        group_id,
        db_id(channel_id),
        db_id(thread_id)
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Forget a group's review thread (it was deleted); the next request makes a new one.
pub async fn forget_review_thread(conn: &mut PgConnection, group_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from request_threads where group_id = $1", group_id).execute(conn).await?;
    Ok(())
}

/// What `/requests` shows: the member's own requests, and the pending
/// requests of the groups they lead (all groups for `privileged`).
pub struct Listing {
    pub own: Vec<Request>,
    pub to_decide: Vec<Request>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn criteria_are_amended_or_refused() {
        let guild = 1;
        let c = Criteria { min_days_in_server: 7, required_role_ids: vec![5], ..Default::default() };
        let add = CriteriaChange {
            min_account_age_days: Some(30),
            required_role: Some(5),
            blocked_role: Some(6),
            ..Default::default()
        };
        assert_eq!(
            c.amended(&add, guild),
            Ok(Criteria {
                min_days_in_server: 7,
                min_account_age_days: 30,
                required_role_ids: vec![5],
                blocked_role_ids: vec![6]
            }),
            "minimums replaced, roles added once"
        );
        let clear = CriteriaChange { clear: true, blocked_role: Some(9), ..Default::default() };
        assert_eq!(c.amended(&clear, guild), Ok(Criteria { blocked_role_ids: vec![9], ..Default::default() }));
        let everyone = CriteriaChange { required_role: Some(guild), ..Default::default() };
        assert_eq!(c.amended(&everyone, guild), Err(CriteriaRefusal::Everyone));
        let both = CriteriaChange { blocked_role: Some(5), ..Default::default() };
        assert_eq!(c.amended(&both, guild), Err(CriteriaRefusal::BothRequiredAndBlocked));
        let full = Criteria { required_role_ids: (10..20).collect(), ..Default::default() };
        assert_eq!(full.amended(&CriteriaChange::default(), guild), Ok(full.clone()), "ten is allowed");
        let more = CriteriaChange { blocked_role: Some(30), ..Default::default() };
        assert_eq!(full.amended(&more, guild), Err(CriteriaRefusal::TooManyRoles));
    }

    #[test]
    fn criteria_are_checked_and_named() {
        let c = Criteria {
            min_days_in_server: 7,
            min_account_age_days: 30,
            required_role_ids: vec![5],
            blocked_role_ids: vec![6],
        };
        let ok = Applicant { account_age_days: 30, days_in_server: 7, role_ids: vec![5] };
        assert!(check(&c, &ok).iter().all(|c| c.ok));
        let bad = Applicant { account_age_days: 1, days_in_server: 1, role_ids: vec![6] };
        assert!(check(&c, &bad).iter().all(|c| !c.ok));
        assert!(check(&Criteria::default(), &bad).is_empty());
    }

    #[test]
    fn snowflake_time_reads_the_timestamp() {
        assert_eq!(snowflake_time(175928847299117063).timestamp_millis(), 1462015105796);
    }

    fn new<'a>(gid: i64, user_id: u64, message: Option<&'a str>, snapshot: &'a Snapshot) -> NewRequest<'a> {
        NewRequest { guild_id: 1, group_id: gid, user_id, message, snapshot, now: Utc::now() }
    }

    #[test]
    fn the_checklist_is_stored_and_read_back() {
        let checks =
            vec![Check { label: "a\nb".into(), ok: true }, Check { label: "the <@&5> role".into(), ok: false }];
        let back = decode_checks(&encode_checks(&checks));
        assert_eq!(back[0], Check { label: "a b".into(), ok: true });
        assert_eq!(back[1], checks[1]);
        assert!(decode_checks("").is_empty());
    }

    #[sqlx::test]
    async fn one_pending_request_per_member_per_group_and_the_cooldown(pool: sqlx::PgPool) {
        use crate::domain::group::{self, Bucket, NewGroup, Visibility};
        let mut conn = pool.acquire().await.unwrap();
        let new_group = NewGroup::parse(1, 9, "Rust", Bucket::Interest, Visibility::Closed, None).unwrap();
        let gid = group::insert(&mut conn, &new_group).await.unwrap();
        let snap =
            Snapshot { account_age_days: 40, days_in_server: 3, checks: vec![Check { label: "x".into(), ok: true }] };
        let id = insert(&mut conn, &new(gid, 5, Some("hi"), &snap)).await.unwrap().expect("stored");
        assert_eq!(
            insert(&mut conn, &new(gid, 5, None, &snap)).await.unwrap(),
            None,
            "one pending per member per group"
        );
        insert(&mut conn, &new(gid, 6, None, &snap)).await.unwrap().expect("someone else may ask");
        let since = Utc::now() - chrono::Duration::days(COOLDOWN_DAYS);
        assert_eq!(denied_since(&mut conn, gid, 5, since).await.unwrap(), None);
        assert!(close(&mut conn, id, Status::Denied, Some(9), Some("not yet"), Utc::now()).await.unwrap());
        assert!(
            !close(&mut conn, id, Status::Approved, Some(9), None, Utc::now()).await.unwrap(),
            "the first decision wins"
        );
        assert!(denied_since(&mut conn, gid, 5, since).await.unwrap().is_some());
        let r = get(&mut conn, 1, id).await.unwrap().unwrap();
        assert_eq!((r.status, r.reason.as_deref(), r.group_name.as_str()), (Status::Denied, Some("not yet"), "Rust"));
        assert_eq!(r.snapshot, Some(snap.clone()), "the requester's standing is kept");
        assert!(get(&mut conn, 2, id).await.unwrap().is_none(), "another guild's id is unknown");
        insert(&mut conn, &new(gid, 5, None, &snap)).await.unwrap().expect("a new request once the old one is closed");
    }

    #[sqlx::test]
    async fn every_copy_of_a_card_is_remembered_once_and_goes_with_its_request(pool: sqlx::PgPool) {
        use crate::domain::group::{self, Bucket, NewGroup, Visibility};
        let mut conn = pool.acquire().await.unwrap();
        let new_group = NewGroup::parse(1, 9, "Rust", Bucket::Interest, Visibility::Closed, None).unwrap();
        let gid = group::insert(&mut conn, &new_group).await.unwrap();
        let snap = Snapshot { account_age_days: 40, days_in_server: 3, checks: vec![] };
        let id = insert(&mut conn, &new(gid, 5, None, &snap)).await.unwrap().unwrap();
        assert!(cards(&mut conn, id).await.unwrap().is_empty());
        let dm = |leader: u64, message: u64| Card {
            place: CardPlace::Dm,
            channel_id: leader + 1000,
            message_id: message,
            recipient_id: Some(leader),
        };
        add_card(&mut conn, id, &dm(7, 70)).await.unwrap();
        add_card(&mut conn, id, &dm(8, 80)).await.unwrap();
        add_card(&mut conn, id, &dm(7, 70)).await.unwrap();
        assert_eq!(cards(&mut conn, id).await.unwrap(), vec![dm(7, 70), dm(8, 80)], "once per message, in order");
        // a DM card names its leader; a channel card names nobody
        let orphan = Card { place: CardPlace::Dm, channel_id: 1, message_id: 90, recipient_id: None };
        assert!(add_card(&mut conn, id, &orphan).await.is_err());
        let mod_card = Card { place: CardPlace::Mod, channel_id: 3, message_id: 91, recipient_id: None };
        add_card(&mut conn, id, &mod_card).await.unwrap();
        assert_eq!(cards(&mut conn, id).await.unwrap().len(), 3);
        group::delete(&mut conn, 1, gid).await.unwrap();
        let left = sqlx::query_scalar!("select count(*) from request_cards").fetch_one(&mut *conn).await.unwrap();
        assert_eq!(left, Some(0), "deleting the group deletes its requests' cards");
    }
}
