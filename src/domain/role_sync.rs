//! The outbox of member-role changes (N6): a decision commits its rows and a
//! `role_syncs` row in one transaction; the applier (`service::applier`)
//! claims due rows with `for update skip locked` and makes the member's group
//! role on Discord match Postgres, holding no connection while it waits on
//! Discord. Rows of one member and group are claimed oldest first, one at a
//! time, so a leave queued behind a join never overtakes it.

use super::{db_id, snowflake};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

/// What a decision asks of the applier.
#[derive(Debug, Clone)]
pub struct NewSync<'a> {
    pub guild_id: u64,
    pub group_id: i64,
    pub user_id: u64,
    /// The decision's audit action ("membership.join").
    pub cause: &'a str,
    pub actor_id: Option<u64>,
    /// The decision admitted the member (undone if Discord refuses for good).
    pub admission: bool,
    /// The decision ended the membership (put back if Discord refuses for good).
    pub dismissal: bool,
    /// The interaction token of whoever pressed, when an answer is owed,
    /// and when it expires.
    pub answer: Option<(&'a str, DateTime<Utc>)>,
    /// The decision to reopen when Discord refuses the grant for good.
    pub reopens: Option<Reopens>,
}

/// A decision that admitted someone and is reopened when Discord refuses
/// their role for good (R3, M5, L2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reopens {
    Request(i64),
    Invitation(i64),
    LeadApplication(i64),
}

impl Reopens {
    fn parts(self) -> (&'static str, i64) {
        match self {
            Reopens::Request(id) => ("request", id),
            Reopens::Invitation(id) => ("invitation", id),
            Reopens::LeadApplication(id) => ("lead_application", id),
        }
    }

    fn of(kind: Option<&str>, id: Option<i64>) -> Option<Reopens> {
        match (kind?, id?) {
            ("request", id) => Some(Reopens::Request(id)),
            ("invitation", id) => Some(Reopens::Invitation(id)),
            ("lead_application", id) => Some(Reopens::LeadApplication(id)),
            _ => None,
        }
    }
}

impl<'a> NewSync<'a> {
    fn of(guild_id: u64, group_id: i64, user_id: u64, cause: &'a str) -> NewSync<'a> {
        NewSync {
            guild_id,
            group_id,
            user_id,
            cause,
            actor_id: None,
            admission: false,
            dismissal: false,
            answer: None,
            reopens: None,
        }
    }

    /// A decision of `actor` that admitted the member.
    pub fn admitting(guild_id: u64, group_id: i64, user_id: u64, cause: &'a str, actor: Option<u64>) -> Self {
        NewSync { admission: true, actor_id: actor, ..NewSync::of(guild_id, group_id, user_id, cause) }
    }

    /// A decision of `actor` that ended the membership.
    pub fn dismissing(guild_id: u64, group_id: i64, user_id: u64, cause: &'a str, actor: Option<u64>) -> Self {
        NewSync { dismissal: true, actor_id: actor, ..NewSync::of(guild_id, group_id, user_id, cause) }
    }

    /// A repair (reconcile): the role follows Postgres; nothing to undo.
    pub fn repairing(guild_id: u64, group_id: i64, user_id: u64, cause: &'a str) -> Self {
        NewSync::of(guild_id, group_id, user_id, cause)
    }

    /// With the answer owed to whoever pressed: their interaction's token
    /// and when it expires.
    pub fn answering(self, answer: Option<(&'a str, DateTime<Utc>)>) -> Self {
        NewSync { answer, ..self }
    }

    /// Reopening `decision` when Discord refuses the grant for good.
    pub fn reopening(self, decision: Option<Reopens>) -> Self {
        NewSync { reopens: decision, ..self }
    }
}

/// Queue a sync at `now`; returns its id.
pub async fn enqueue(conn: &mut PgConnection, s: &NewSync<'_>, now: DateTime<Utc>) -> Result<i64, sqlx::Error> {
    let (token, expires) = s.answer.map_or((None, None), |(t, e)| (Some(t), Some(e)));
    let (reopens, reopens_id) = s.reopens.map(Reopens::parts).unzip();
    sqlx::query_scalar!(
        "insert into role_syncs (guild_id, group_id, user_id, cause, actor_id, admission, dismissal,
                                 run_at, created_at, answer_state, answer_token, answer_expires_at,
                                 reopens, reopens_id)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $8, case when $9::text is null then 'none' else 'owed' end, $9, $10,
                 $11, $12)
         returning id",
        db_id(s.guild_id),
        s.group_id,
        db_id(s.user_id),
        s.cause,
        s.actor_id.map(db_id),
        s.admission,
        s.dismissal,
        now,
        token,
        expires,
        reopens,
        reopens_id
    )
    .fetch_one(conn)
    .await
}

/// A claimed row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    pub id: i64,
    pub guild_id: u64,
    pub group_id: i64,
    pub user_id: u64,
    pub cause: String,
    pub actor_id: Option<u64>,
    pub admission: bool,
    pub dismissal: bool,
    /// The decision reopened when Discord refuses for good.
    pub reopens: Option<Reopens>,
    /// Claims so far, this one included.
    pub attempts: i32,
    /// This claim's token: the row is finished only while it is its claim.
    pub token: i64,
}

/// Claim up to `limit` due rows until `now + lease`. A row waits while an
/// older row of the same member and group is not done.
pub async fn claim(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
    lease: chrono::Duration,
    limit: i64,
) -> Result<Vec<Claimed>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"update role_syncs s set claimed_until = $2, attempts = s.attempts + 1,
                  claim = nextval('role_syncs_claim_seq')
           where s.id in (
               select r.id from role_syncs r
               where r.done_at is null and r.run_at <= $1 and (r.claimed_until is null or r.claimed_until <= $1)
                 and not exists (select 1 from role_syncs o
                                 where o.group_id = r.group_id and o.user_id = r.user_id
                                   and o.done_at is null and o.id < r.id)
               order by r.run_at, r.id
               limit $3
               for update skip locked)
           returning s.id, s.guild_id, s.group_id, s.user_id, s.cause, s.actor_id, s.admission, s.dismissal,
                     s.reopens, s.reopens_id, s.attempts, s.claim as "claim!""#,
        now,
        now + lease,
        limit
    )
    .fetch_all(conn)
    .await?;
    let mut out: Vec<Claimed> = rows
        .into_iter()
        .map(|r| Claimed {
            id: r.id,
            guild_id: snowflake(r.guild_id),
            group_id: r.group_id,
            user_id: snowflake(r.user_id),
            cause: r.cause,
            actor_id: r.actor_id.map(snowflake),
            admission: r.admission,
            dismissal: r.dismissal,
            reopens: Reopens::of(r.reopens.as_deref(), r.reopens_id),
            attempts: r.attempts,
            token: r.claim,
        })
        .collect();
    out.sort_by_key(|c| c.id);
    Ok(out)
}

/// How a finished row ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    /// Discord matches Postgres.
    Applied,
    /// Discord refused for good; the decision was undone in Postgres.
    Refused,
}

impl Outcome {
    fn key(self) -> &'static str {
        match self {
            Outcome::Applied => "applied",
            Outcome::Refused => "refused",
        }
    }

    fn parse(s: &str) -> Outcome {
        if s == "refused" {
            Outcome::Refused
        } else {
            Outcome::Applied
        }
    }
}

/// What a finished row owes whoever pressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Owed {
    /// Nothing: no answer was asked for, or the pressing process takes it.
    Nothing,
    /// They were told Discord is applying it: edit the answer with the
    /// outcome (`token` while it lives, else a DM).
    Outcome { token: Option<String> },
}

/// Finish a row with its outcome (only while `token` is its claim): `None`
/// when the claim was no longer this worker's. A row that owes no answer is
/// deleted.
pub async fn finish(
    conn: &mut PgConnection,
    c: &Claimed,
    outcome: Outcome,
    text: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Option<Owed>, sqlx::Error> {
    let row = sqlx::query!(
        r#"with old as (select id, answer_state from role_syncs where id = $1 for update)
           update role_syncs s set done_at = $3, outcome = $4, outcome_text = $5, claimed_until = null,
                  answer_state = case when s.answer_state = 'interim' then 'final' else s.answer_state end
           from old
           where s.id = old.id and s.claim = $2 and s.done_at is null
           returning s.answer_state, old.answer_state as before,
                     case when s.answer_expires_at > $3 then s.answer_token end as token"#,
        c.id,
        c.token,
        now,
        outcome.key(),
        text
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    let owed = if row.before == "interim" { Owed::Outcome { token: row.token } } else { Owed::Nothing };
    if row.answer_state == "none" || row.before == "interim" {
        // Nothing left to read of it: told now, or never owed.
        sqlx::query!("update role_syncs set answer_token = null where id = $1", c.id).execute(&mut *conn).await?;
    }
    if row.answer_state == "none" && !c.admission {
        // An admission's row stays until pruned: the decision that queued
        // it reads how it ended (`outcome_of`).
        sqlx::query!("delete from role_syncs where id = $1", c.id).execute(conn).await?;
    }
    Ok(Some(owed))
}

/// Try the row again at `run_at` (only while `token` is its claim), keeping
/// why it failed.
pub async fn retry_at(
    conn: &mut PgConnection,
    c: &Claimed,
    run_at: DateTime<Utc>,
    why: &str,
) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!(
        "update role_syncs set run_at = $3, claimed_until = null, outcome_text = $4
         where id = $1 and claim = $2 and done_at is null",
        c.id,
        c.token,
        run_at,
        why
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}

/// Queue `cause` for every user of `users` in group `group_id` who has no
/// row of that group waiting, and bring the waiting ones of that cause
/// forward to `now` (a retry of long work, e.g. after a restart). Returns
/// how many were queued.
pub async fn enqueue_each(
    conn: &mut PgConnection,
    guild_id: u64,
    group_id: i64,
    users: &[u64],
    cause: &str,
    now: DateTime<Utc>,
) -> Result<u64, sqlx::Error> {
    let ids: Vec<i64> = users.iter().copied().map(db_id).collect();
    sqlx::query!(
        "update role_syncs set run_at = $3
         where group_id = $1 and cause = $2 and done_at is null and run_at > $3",
        group_id,
        cause,
        now
    )
    .execute(&mut *conn)
    .await?;
    Ok(sqlx::query!(
        "insert into role_syncs (guild_id, group_id, user_id, cause, run_at, created_at)
         select $1, $2, u.id, $4, $5, $5 from unnest($3::bigint[]) u(id)
         where not exists (select 1 from role_syncs s
                           where s.group_id = $2 and s.user_id = u.id and s.done_at is null)",
        db_id(guild_id),
        group_id,
        &ids,
        cause,
        now
    )
    .execute(conn)
    .await?
    .rows_affected())
}

/// Rows of `cause` in group `group_id` not done yet.
pub async fn waiting_of(conn: &mut PgConnection, group_id: i64, cause: &str) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from role_syncs where group_id = $1 and cause = $2 and done_at is null"#,
        group_id,
        cause
    )
    .fetch_one(conn)
    .await
}

/// Where a row stands, for whoever pressed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Standing {
    /// Done: its outcome, and the text of a refusal.
    Done(Outcome, Option<String>),
    /// Still waiting, with this many rows of its server ahead of it.
    Waiting { ahead: i64 },
}

/// How row `id` ended, once it is done (a decision's grant, which owes no
/// answer of its own); `None` while it waits. A row that is gone went with
/// its group (deleted, or unmade when its grant was refused): refused.
pub async fn outcome_of(conn: &mut PgConnection, id: i64) -> Result<Option<(Outcome, Option<String>)>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select outcome, outcome_text, done_at is not null as "done!" from role_syncs where id = $1"#,
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(match row {
        None => Some((Outcome::Refused, None)),
        Some(r) if !r.done => None,
        Some(r) => Some((Outcome::parse(r.outcome.as_deref().unwrap_or_default()), r.outcome_text)),
    })
}

/// Take the answer of row `id` for whoever pressed (its state was 'owed'):
/// when done, the outcome is theirs to show ('final'); when not, they show
/// that Discord is applying it and the applier owes the outcome
/// ('interim'). `None` when the answer was taken already (the sweep after a
/// crash told them).
pub async fn take_answer(conn: &mut PgConnection, id: i64) -> Result<Option<Standing>, sqlx::Error> {
    let row = sqlx::query!(
        r#"update role_syncs set answer_state = case when done_at is null then 'interim' else 'final' end,
                  answer_token = case when done_at is null then answer_token end
           where id = $1 and answer_state = 'owed'
           returning done_at is not null as "done!", outcome, outcome_text, guild_id"#,
        id
    )
    .fetch_optional(&mut *conn)
    .await?;
    let Some(row) = row else { return Ok(None) };
    if row.done {
        let outcome = Outcome::parse(row.outcome.as_deref().unwrap_or_default());
        return Ok(Some(Standing::Done(outcome, row.outcome_text)));
    }
    let ahead = sqlx::query_scalar!(
        r#"select count(*) as "n!" from role_syncs where guild_id = $1 and done_at is null and id < $2"#,
        row.guild_id,
        id
    )
    .fetch_one(conn)
    .await?;
    Ok(Some(Standing::Waiting { ahead }))
}

/// Rows whose answer is still 'owed' though they were queued before
/// `before`: the process that took the press died before answering.
pub async fn stale_owed(conn: &mut PgConnection, before: DateTime<Utc>, limit: i64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "select id from role_syncs where answer_state = 'owed' and created_at < $1 order by id limit $2",
        before,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Whom row `id` owes an answer, and the token to give it with while it
/// lives (`None` past its 15 minutes).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owing {
    pub token: Option<String>,
    pub guild_id: u64,
    pub group_id: i64,
    pub user_id: u64,
    pub dismissal: bool,
}

pub async fn answer_of(conn: &mut PgConnection, id: i64, now: DateTime<Utc>) -> Result<Option<Owing>, sqlx::Error> {
    let row = sqlx::query!(
        "select case when answer_expires_at > $2 then answer_token end as token, guild_id, group_id, user_id, dismissal
         from role_syncs where id = $1",
        id,
        now
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| Owing {
        token: r.token,
        guild_id: snowflake(r.guild_id),
        group_id: r.group_id,
        user_id: snowflake(r.user_id),
        dismissal: r.dismissal,
    }))
}

/// Forget a row's token once its outcome has been told, and the row with it
/// when it is done.
pub async fn told(conn: &mut PgConnection, id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!("update role_syncs set answer_token = null, answer_state = 'final' where id = $1", id)
        .execute(&mut *conn)
        .await?;
    sqlx::query!("delete from role_syncs where id = $1 and done_at is not null", id).execute(conn).await?;
    Ok(())
}

/// Delete finished rows whose answer was given, or that are older than
/// `before` (an answer nobody could give any more).
pub async fn prune(conn: &mut PgConnection, before: DateTime<Utc>) -> Result<u64, sqlx::Error> {
    Ok(sqlx::query!(
        "delete from role_syncs where done_at is not null and (answer_state in ('none', 'final') or done_at < $1)",
        before
    )
    .execute(conn)
    .await?
    .rows_affected())
}

/// The queue of one server, or of every server: rows waiting and the age
/// of the oldest, measured at `now`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Depth {
    pub waiting: i64,
    pub oldest_seconds: i64,
}

pub async fn depth(conn: &mut PgConnection, guild_id: Option<u64>, now: DateTime<Utc>) -> Result<Depth, sqlx::Error> {
    let row = sqlx::query!(
        r#"select count(*) as "waiting!", min(created_at) as oldest from role_syncs
           where done_at is null and ($1::bigint is null or guild_id = $1)"#,
        guild_id.map(db_id)
    )
    .fetch_one(conn)
    .await?;
    let oldest_seconds = row.oldest.map_or(0, |o| (now - o).num_seconds().max(0));
    Ok(Depth { waiting: row.waiting, oldest_seconds })
}

/// Rows waiting per server (the metrics).
pub async fn depth_by_guild(conn: &mut PgConnection) -> Result<Vec<(u64, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select guild_id, count(*) as "n!" from role_syncs where done_at is null group by guild_id order by guild_id"#
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (snowflake(r.guild_id), r.n)).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn a_group(conn: &mut PgConnection) -> i64 {
        sqlx::query_scalar!(
            "insert into groups (guild_id, name, bucket, visibility, created_by) values (1, 'Rust', 'interest', 'open', 1) returning id"
        )
        .fetch_one(conn)
        .await
        .unwrap()
    }

    fn sync(group_id: i64, user_id: u64, answer: Option<(&str, DateTime<Utc>)>) -> NewSync<'_> {
        NewSync::admitting(1, group_id, user_id, "membership.join", Some(user_id)).answering(answer)
    }

    #[sqlx::test]
    async fn one_member_and_group_run_oldest_first_and_one_claim_at_a_time(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let g = a_group(&mut conn).await;
        let now = Utc::now();
        let first = enqueue(&mut conn, &sync(g, 7, None), now).await.unwrap();
        let second = enqueue(&mut conn, &sync(g, 7, None), now).await.unwrap();
        let other = enqueue(&mut conn, &sync(g, 8, None), now).await.unwrap();
        let lease = chrono::Duration::seconds(60);
        let claimed = claim(&mut conn, now, lease, 10).await.unwrap();
        let ids: Vec<i64> = claimed.iter().map(|c| c.id).collect();
        assert_eq!(ids, vec![first, other], "the second row of member 7 waits for the first");
        // Claimed rows are nobody else's until the lease ends.
        assert!(claim(&mut conn, now, lease, 10).await.unwrap().is_empty());
        let c = &claimed[0];
        assert_eq!(finish(&mut conn, c, Outcome::Applied, None, now).await.unwrap(), Some(Owed::Nothing));
        // Finished by its claim only once; a stale claim finishes nothing.
        assert_eq!(finish(&mut conn, c, Outcome::Applied, None, now).await.unwrap(), None);
        let next = claim(&mut conn, now, lease, 10).await.unwrap();
        assert_eq!(next.iter().map(|c| c.id).collect::<Vec<_>>(), vec![second]);
        // A lease that ran out gives the row to the next claim, with a new token.
        let later = now + lease + chrono::Duration::seconds(1);
        let again = claim(&mut conn, later, lease, 10).await.unwrap();
        assert!(again.iter().any(|c| c.id == other && c.attempts == 2 && c.token != claimed[1].token));
        assert_eq!(depth(&mut conn, Some(1), now).await.unwrap().waiting, 2);
    }

    #[sqlx::test]
    async fn the_presser_takes_the_answer_once_and_the_applier_owes_it_when_it_was_not_done(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let g = a_group(&mut conn).await;
        let now = Utc::now();
        let exp = now + chrono::Duration::minutes(15);
        // Done before the presser looked: theirs to show, and told once.
        let a = enqueue(&mut conn, &sync(g, 7, Some(("tok-a", exp))), now).await.unwrap();
        let c = claim(&mut conn, now, chrono::Duration::seconds(60), 1).await.unwrap().remove(0);
        assert_eq!(c.id, a);
        assert_eq!(finish(&mut conn, &c, Outcome::Refused, Some("no"), now).await.unwrap(), Some(Owed::Nothing));
        assert_eq!(take_answer(&mut conn, a).await.unwrap(), Some(Standing::Done(Outcome::Refused, Some("no".into()))));
        assert_eq!(take_answer(&mut conn, a).await.unwrap(), None, "taken once");
        // Not done yet: the presser says Discord is applying it, and the
        // applier owes the outcome, with the token.
        let b = enqueue(&mut conn, &sync(g, 8, Some(("tok-b", exp))), now).await.unwrap();
        assert_eq!(take_answer(&mut conn, b).await.unwrap(), Some(Standing::Waiting { ahead: 0 }));
        let c = claim(&mut conn, now, chrono::Duration::seconds(60), 1).await.unwrap().remove(0);
        assert_eq!(
            finish(&mut conn, &c, Outcome::Applied, None, now).await.unwrap(),
            Some(Owed::Outcome { token: Some("tok-b".into()) })
        );
        // An answer still owed long after its row was queued: its presser died.
        let d = enqueue(&mut conn, &sync(g, 9, Some(("tok-d", exp))), now).await.unwrap();
        assert_eq!(stale_owed(&mut conn, now + chrono::Duration::seconds(10), 10).await.unwrap(), vec![d]);
        assert!(stale_owed(&mut conn, now, 10).await.unwrap().is_empty());
    }
}
