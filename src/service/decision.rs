//! One decision lifecycle for everything people decide: requests to join
//! (R3), lead applications (L2) and invitations (M5). Each kind supplies what
//! its row is ([`Decidable`]) and each decision its rule and its effect
//! ([`Verdict`]); the order of the steps is written once, here:
//!
//! 1. who may decide is asked of the row as it stands, then the row is
//!    locked the same way for every kind: `for update nowait`, and while
//!    another decider holds it, wait without holding a connection (so a
//!    crowd pressing one button cannot exhaust the pool) and stop as soon as
//!    the row is closed;
//! 2. the time is the bot's clock (`App::clock`), never the database's;
//! 3. who may decide is asked again under the lock, then whether the row is
//!    still open (the first decision wins, N4);
//! 4. what the decision needs from Discord is done before the lock, holding
//!    no connection (N6): reads (A3, is the person still here) and changes
//!    (a proposed group's role and channel, a leader's overwrite), each
//!    journalled ([`Verdict::prepare`]);
//! 5. the effect and the close run in one transaction that makes no Discord
//!    call; a role grant is queued in it for the applier. When any step
//!    fails the transaction rolls back, the journal is undone and the row
//!    stays open (N5);
//! 6. the audit entry is written in that transaction (A2);
//! 7. after the commit, a queued grant is waited for a moment: a refusal
//!    Discord gives at once is the decider's answer (the applier has ended
//!    the admission and reopened the row, `reopen`); one that comes later
//!    reopens the row then;
//! 8. then, side by side: the verdict's follow-ups, and the outcome shown on
//!    the card(s) and told to the person ([`Decidable::announce`]).

use super::journal::Journal;
use super::membership::MembershipError;
use super::App;
use crate::domain::audit;
use chrono::{DateTime, Utc};
use sqlx::{PgConnection, Postgres, Transaction};
use std::time::Duration;
use tracing::info;

/// A row that people decide: a request, an application, an invitation.
pub(crate) trait Decidable: Sized + Send + Sync {
    /// The table that holds the rows (for the row lock); a constant, never
    /// anything a person typed.
    const TABLE: &'static str;
    /// What it is called in logs and card updates ("join request").
    const NOUN: &'static str;
    type Error: From<sqlx::Error> + std::fmt::Display + Send;
    /// What the decision returns to whoever pressed.
    type Outcome;

    fn id(&self) -> i64;
    fn guild_id(&self) -> u64;
    /// Whether it can still be decided at `now`.
    fn is_open(&self, now: DateTime<Utc>) -> bool;
    /// The row by id; `guild` is the server the press came from, when it
    /// came from one.
    async fn get(conn: &mut PgConnection, guild: Option<u64>, id: i64) -> Result<Option<Self>, sqlx::Error>;
    fn not_found() -> Self::Error;
    /// Someone decided it first (or it expired): say who and when.
    fn no_longer_open(self) -> Self::Error;
    /// After the commit: show the outcome on the card(s) and, when `tell`,
    /// tell the person it concerns.
    async fn announce(app: &App, row: Self, tell: bool) -> Result<Self::Outcome, Self::Error>;
    /// Discord refused the grant a decision queued, at once (step 7): the
    /// decider's answer.
    fn grant_refused(e: MembershipError) -> Self::Error;
}

/// What a decision writes to the audit trail (in its transaction).
pub(crate) struct Audit {
    pub action: &'static str,
    pub subject: Option<u64>,
    pub group: Option<i64>,
    pub reason: Option<String>,
    /// The role grant the decision queued (an admission), waited for a
    /// moment after the commit.
    pub grant: Option<i64>,
}

/// One decision about a [`Decidable`] row: who may make it and what it does.
pub(crate) trait Verdict<D: Decidable>: Sync {
    /// What [`Verdict::prepare`] found or made on Discord, for `apply`.
    type Prepared: Default + Send + Sync;
    /// Who decides (`None` for the bot itself, e.g. a member who left).
    fn actor(&self) -> Option<u64>;
    /// Whether the actor may decide `row`; asked before the lock and again
    /// under it.
    async fn may_decide(&self, conn: &mut PgConnection, row: &D) -> Result<bool, D::Error>;
    /// What the actor is told when they may not.
    fn refused(&self) -> D::Error;
    /// What the decision needs of Discord, before the row is locked and
    /// holding no connection: reads, and changes journalled in `journal`
    /// (undone when the decision fails). `row` as it stood before the lock.
    async fn prepare(&self, _app: &App, _row: &D, _journal: &mut Journal) -> Result<Self::Prepared, D::Error> {
        Ok(Self::Prepared::default())
    }
    /// The effect and the close of the row, in `tx`, with what `prepare`
    /// found; no Discord call (a role grant is queued). `Err` leaves
    /// nothing behind.
    async fn apply(
        &self,
        app: &App,
        tx: &mut PgConnection,
        row: &D,
        now: DateTime<Utc>,
        prepared: &Self::Prepared,
    ) -> Result<Audit, D::Error>;
    /// The effect failed and was undone: record it where people look (a
    /// note on the card, the audit trail). Never fails its caller.
    async fn failed(&self, _app: &App, _row: &D, _error: &D::Error) {}
    /// After the commit, beside the announcement: what needs the committed
    /// state (it must not depend on the card or the person being told).
    async fn after(&self, _app: &App, _row: &D) {}
    /// Whether the person the row concerns is told (not when they decided
    /// it themselves, e.g. a withdrawal).
    fn tells(&self) -> bool {
        true
    }
}

/// Decide row `id` (of server `guild` when the press came from one).
pub(crate) async fn decide<D: Decidable, V: Verdict<D>>(
    app: &App,
    guild: Option<u64>,
    id: i64,
    verdict: &V,
) -> Result<D::Outcome, D::Error> {
    let before = {
        let mut conn = app.pool.acquire().await?;
        let row = D::get(&mut conn, guild, id).await?.ok_or_else(D::not_found)?;
        if !verdict.may_decide(&mut conn, &row).await? {
            return Err(verdict.refused());
        }
        if !row.is_open(app.clock.now()) {
            return Err(row.no_longer_open());
        }
        row
    };
    let mut journal = Journal::default();
    let decided = async {
        let prepared = verdict.prepare(app, &before, &mut journal).await?;
        let (mut tx, row) = lock::<D>(app, guild, id).await?;
        if !verdict.may_decide(&mut tx, &row).await? {
            return Err(verdict.refused());
        }
        let now = app.clock.now();
        if !row.is_open(now) {
            return Err(row.no_longer_open());
        }
        let a = verdict.apply(app, &mut tx, &row, now, &prepared).await?;
        let mut entry = audit::Entry::guild(row.guild_id(), a.action).in_group(a.group).because_of(a.reason.as_deref());
        if let Some(actor) = verdict.actor() {
            entry = entry.actor(actor);
        }
        if let Some(subject) = a.subject {
            entry = entry.subject(subject);
        }
        audit::record(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok::<_, D::Error>((a.action, a.grant, row))
    }
    .await;
    let (action, grant, row) = match decided {
        Ok(decided) => decided,
        Err(e) => {
            journal.undo(app, &format!("Guildhall: undoing a {} decision that failed", D::NOUN)).await;
            verdict.failed(app, &before, &e).await;
            return Err(e);
        }
    };
    // A refusal Discord gives at once is the decider's answer; the applier
    // has ended the admission and reopened the row (and told its person).
    if let Err(e) = super::membership::decision_settled(app, grant).await {
        info!(id = row.id(), action, error = %e, "{} decided; Discord refused its grant, reopened", D::NOUN);
        return Err(D::grant_refused(e));
    }
    info!(id = row.id(), action, actor = verdict.actor(), "{} decided", D::NOUN);
    // The follow-ups and the announcement need only the committed state,
    // not each other: both at once, so the decider's answer waits for the
    // longer of the two, not their sum.
    let announced = async {
        let row = D::get(&mut *app.pool.acquire().await?, guild, id).await?.ok_or_else(D::not_found)?;
        D::announce(app, row, verdict.tells()).await
    };
    let ((), outcome) = tokio::join!(verdict.after(app, &row), announced);
    outcome
}

/// Whether a row can still be decided (before asking for a reason in a
/// form): the actor may decide it and it is open.
pub(crate) async fn decidable<D: Decidable, V: Verdict<D>>(
    app: &App,
    guild: Option<u64>,
    id: i64,
    verdict: &V,
) -> Result<D, D::Error> {
    let mut conn = app.pool.acquire().await?;
    let row = D::get(&mut conn, guild, id).await?.ok_or_else(D::not_found)?;
    if !verdict.may_decide(&mut conn, &row).await? {
        return Err(verdict.refused());
    }
    if !row.is_open(app.clock.now()) {
        return Err(row.no_longer_open());
    }
    Ok(row)
}

/// How long a decider waits for another's lock before giving up (a decision
/// holds it for its database work only, never across a Discord call).
const LOCK_WAIT: Duration = Duration::from_secs(30);
const LOCK_POLL: Duration = Duration::from_millis(50);

/// Lock the row in a new transaction, the same way for every kind (step 1).
async fn lock<D: Decidable>(
    app: &App,
    guild: Option<u64>,
    id: i64,
) -> Result<(Transaction<'static, Postgres>, D), D::Error> {
    let deadline = tokio::time::Instant::now() + LOCK_WAIT;
    loop {
        let mut tx = app.pool.begin().await?;
        let sql = format!("select id from {} where id = $1 for update nowait", D::TABLE);
        match sqlx::query_scalar::<_, i64>(&sql).bind(id).fetch_optional(&mut *tx).await {
            Ok(Some(_)) => {
                let row = D::get(&mut tx, guild, id).await?.ok_or_else(D::not_found)?;
                return Ok((tx, row));
            }
            Ok(None) => return Err(D::not_found()),
            Err(e) if e.as_database_error().and_then(|d| d.code()).as_deref() == Some("55P03") => {
                drop(tx);
                let row = D::get(&mut *app.pool.acquire().await?, guild, id).await?.ok_or_else(D::not_found)?;
                if !row.is_open(app.clock.now()) {
                    return Err(row.no_longer_open());
                }
                if tokio::time::Instant::now() >= deadline {
                    return Err(sqlx::Error::PoolTimedOut.into());
                }
                tokio::time::sleep(LOCK_POLL).await;
            }
            Err(e) => return Err(e.into()),
        }
    }
}
