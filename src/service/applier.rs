//! The applier (N6): the Discord side of membership decisions, made after
//! their commit by a durable, paced worker, so that nothing waits on
//! Discord while holding a Postgres connection, transaction or lock.
//!
//! A decision commits its rows and a `role_syncs` row in one transaction
//! (`domain::role_sync`). This process's worker claims due rows (`for
//! update skip locked`, a lease and a claim token, as the DM queue does),
//! reads the member's standing, and makes their group role match it:
//! granted while they are a member (after the A3 check, every time), taken
//! away otherwise. Several run at once (`PARALLEL`), each holding no
//! connection across its calls; Discord's buckets pace them in the request
//! meter. Then:
//! - applied: the row is finished; whoever waits in this process is woken;
//! - transient (429 past the meter's waits, 5xx, a timeout): tried again
//!   later with backoff on the bot's clock, never a 403 or 404;
//! - refused for good (403, the role gone or made unsafe, the member gone):
//!   the decision is undone in Postgres (an admission ended, a dismissal
//!   put back), audited with why, and the person told.
//!
//! Whoever pressed waits for the outcome for a moment (`settle`): at
//! Discord's usual pace it comes in time and the answer is the outcome;
//! when the queue is behind they read "Discord is applying it" with an
//! estimate, and the worker edits their answer when it lands (the row keeps
//! the interaction token for that; past its 15 minutes, a DM). A process
//! that dies between the press and its answer leaves the answer "owed": the
//! background pass's sweep gives it. A worker that dies mid-row leaves a
//! claim that lapses with its lease; the next claim applies the row again,
//! which Discord's role PUT and DELETE make harmless.

use super::App;
use crate::discord::{roles, DiscordError};
use crate::domain::group::{self, Group};
use crate::domain::role_safety;
use crate::domain::role_sync::{self as rs, Claimed, Outcome, Owed, Standing};
use crate::domain::subscription::{self, Kind};
use crate::domain::{audit, membership};
use crate::inflight::InFlight;
use chrono::{DateTime, Utc};
use std::collections::{HashMap, VecDeque};
use std::sync::Mutex;
use std::time::{Duration, Instant};
use tokio::sync::{oneshot, watch};

/// How long a claim holds a row: a worker that died gives it back then.
/// It must outlast a row's wait in Discord's bucket: at Discord's pace (10
/// member-role changes per 10 s) `PARALLEL` rows of two calls each wait up
/// to about a minute, and a 60 s lease let rows be claimed again and
/// granted twice (found by the benchmark's "Discord's pace" section).
const LEASE: chrono::Duration = chrono::Duration::minutes(5);
/// Rows one process applies at once (each waits on Discord's buckets in the
/// meter, holding no connection).
const PARALLEL: usize = 16;
/// How often the worker looks for rows it was not woken for.
const POLL: Duration = Duration::from_secs(1);
/// An answer still owed this long after its row was queued: its process
/// died before answering (the pressing process answers within seconds).
const OWED_GRACE: chrono::Duration = chrono::Duration::seconds(10);
/// Finished rows whose answer nobody can give any more are kept this long.
const KEEP_DONE: chrono::Duration = chrono::Duration::hours(1);
/// How many finishes the pace is measured over.
const PACE_WINDOW: usize = 32;

/// This process's side of the queue: the bell that wakes its worker, the
/// presses waiting for their rows, and the pace rows were finished at.
#[derive(Default)]
pub struct Queue {
    bell: tokio::sync::Notify,
    /// Presses waiting for their rows, and the rows finished lately (a row
    /// can finish before its press starts waiting).
    waiting: Mutex<Waiting>,
    finishes: Mutex<VecDeque<Instant>>,
}

#[derive(Default)]
struct Waiting {
    by_row: HashMap<i64, Vec<oneshot::Sender<()>>>,
    recent: VecDeque<i64>,
}

/// How many finished rows a process remembers for presses not yet waiting.
const RECENT: usize = 4096;

impl Queue {
    fn wait_for(&self, id: i64) -> oneshot::Receiver<()> {
        let (tx, rx) = oneshot::channel();
        let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
        if w.recent.contains(&id) {
            let _ = tx.send(());
        } else {
            w.by_row.entry(id).or_default().push(tx);
        }
        rx
    }

    fn finished(&self, id: i64) {
        let waiters = {
            let mut w = self.waiting.lock().unwrap_or_else(|e| e.into_inner());
            w.recent.push_back(id);
            if w.recent.len() > RECENT {
                w.recent.pop_front();
            }
            w.by_row.remove(&id)
        };
        for w in waiters.into_iter().flatten() {
            let _ = w.send(());
        }
        let mut f = self.finishes.lock().unwrap_or_else(|e| e.into_inner());
        f.push_back(Instant::now());
        while f.len() > PACE_WINDOW {
            f.pop_front();
        }
    }

    fn forget(&self, id: i64) {
        self.waiting.lock().unwrap_or_else(|e| e.into_inner()).by_row.remove(&id);
    }

    /// Rows finished a second, over the last few (one a second, Discord's
    /// documented pace for member roles, until there are some).
    pub fn per_second(&self) -> f64 {
        let f = self.finishes.lock().unwrap_or_else(|e| e.into_inner());
        match (f.front(), f.back()) {
            (Some(a), Some(b)) if f.len() >= 4 && b > a => (f.len() - 1) as f64 / b.duration_since(*a).as_secs_f64(),
            _ => 1.0,
        }
    }
}

/// Wake this process's worker (rows were queued).
pub fn wake(app: &App) {
    app.applier.bell.notify_one();
}

/// The interaction answer a decision owes whoever pressed: its token and
/// when that expires, and how long the press may wait for the outcome
/// before it answers "Discord is applying it".
#[derive(Debug, Clone)]
pub struct Answer {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub deadline: tokio::time::Instant,
}

impl Answer {
    /// How long a press waits for its outcome: Discord wants the first
    /// answer within 3 s, and the deferral and the edit's round trip (through
    /// a proxy, on a loaded host) come out of it; as long as any other press
    /// waits for its work (`replies::ANSWER_BUDGET`).
    pub const BUDGET: Duration = crate::replies::ANSWER_BUDGET;

    /// The answer to interaction `interaction_id` (a snowflake: it says
    /// when the interaction was made, and its token lives 15 minutes from
    /// then) by its `token`, waiting until `BUDGET` after `pressed`.
    pub fn for_interaction(token: &str, interaction_id: u64, pressed: tokio::time::Instant) -> Answer {
        const DISCORD_EPOCH_MS: i64 = 1_420_070_400_000;
        let made_ms = (interaction_id >> 22) as i64 + DISCORD_EPOCH_MS;
        let made = DateTime::<Utc>::from_timestamp_millis(made_ms).unwrap_or_else(Utc::now);
        Answer {
            token: token.to_string(),
            expires_at: made + chrono::Duration::minutes(15) - chrono::Duration::seconds(5),
            deadline: pressed + Self::BUDGET,
        }
    }
}

/// Where a decision's Discord side stands when its press answers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Settled {
    /// Discord matches the decision.
    Applied,
    /// Discord refused for good; the decision was undone.
    Refused,
    /// Discord refused for a reason the bot does not know (its own bug);
    /// the decision was undone. Why, for the log.
    Failed(String),
    /// Still queued: about this many seconds to go; the answer is edited
    /// when it lands.
    Applying { eta_seconds: u64 },
}

/// Wait (until `deadline`) for row `id`, then take its answer: the
/// outcome when it is done, else "applying" with an estimate (the worker
/// then owes the outcome).
pub async fn settle(app: &App, id: i64, deadline: tokio::time::Instant) -> Result<Settled, sqlx::Error> {
    wait(app, id, deadline).await;
    let standing = rs::take_answer(&mut *app.pool.acquire().await?, id).await?;
    Ok(match standing {
        Some(Standing::Done(Outcome::Applied, _)) => Settled::Applied,
        Some(Standing::Done(Outcome::Refused, Some(why))) if why.starts_with(UNEXPECTED) => Settled::Failed(why),
        Some(Standing::Done(Outcome::Refused, _)) => Settled::Refused,
        Some(Standing::Waiting { ahead }) => Settled::Applying { eta_seconds: eta(app, ahead) },
        // The sweep answered for a process it took for dead: the member
        // was told already; say it again the same way.
        None => Settled::Applying { eta_seconds: eta(app, 0) },
    })
}

/// Wait (until `deadline`) for row `id`, a decision's grant that owes no
/// answer of its own, then say how it stands: `None` while it waits.
pub async fn outcome_within(
    app: &App,
    id: i64,
    deadline: tokio::time::Instant,
) -> Result<Option<Settled>, sqlx::Error> {
    wait(app, id, deadline).await;
    Ok(match rs::outcome_of(&mut *app.pool.acquire().await?, id).await? {
        Some((Outcome::Applied, _)) => Some(Settled::Applied),
        Some((Outcome::Refused, Some(why))) if why.starts_with(UNEXPECTED) => Some(Settled::Failed(why)),
        Some((Outcome::Refused, _)) => Some(Settled::Refused),
        None => None,
    })
}

/// Wait (until `deadline`) for row `id`, queued by this process, to be
/// applied here, when no answer rides on it (a removal by a leader):
/// the answer then comes after the role at Discord's usual pace.
pub async fn wait(app: &App, id: i64, deadline: tokio::time::Instant) {
    let done = app.applier.wait_for(id);
    wake(app);
    let _ = tokio::time::timeout_at(deadline, done).await;
    app.applier.forget(id);
}

/// Seconds until a row with `ahead` rows before it is applied, at the pace
/// rows were finished lately.
fn eta(app: &App, ahead: i64) -> u64 {
    let per_second = app.applier.per_second().max(0.01);
    ((ahead as f64 + 1.0) / per_second).ceil().max(1.0) as u64
}

/// The worker: runs until `stop` turns true.
pub async fn run(app: App, inflight: InFlight, mut stop: watch::Receiver<bool>) {
    let slots = std::sync::Arc::new(tokio::sync::Semaphore::new(PARALLEL));
    let mut running = tokio::task::JoinSet::new();
    loop {
        if *stop.borrow() {
            break;
        }
        // Claims come in batches (half the slots at least, unless nothing
        // runs): the grants of a batch share one read of the role
        // hierarchy for their A3 check (`HierarchyReads`), where rows
        // claimed one by one as slots free would each need their own, and
        // those reads would take the global limit's share the member-role
        // bucket could use.
        let free = slots.available_permits();
        let claimed = if free == 0 || (free < PARALLEL / 2 && !running.is_empty()) {
            Ok(Vec::new())
        } else {
            match app.pool.acquire().await {
                Ok(mut conn) => rs::claim(&mut conn, app.clock.now(), LEASE, free as i64).await,
                Err(e) => Err(e),
            }
        };
        let claimed = match claimed {
            Ok(c) => c,
            Err(e) => {
                tracing::warn!(error = %e, "the role queue could not claim rows; trying again shortly");
                Vec::new()
            }
        };
        let got = claimed.len();
        for c in claimed {
            let permit = slots.clone().acquire_owned().await.expect("the semaphore is never closed");
            let (app, guard) = (app.clone(), inflight.enter());
            running.spawn(async move {
                run_one(&app, &c).await;
                drop((permit, guard));
            });
        }
        while running.try_join_next().is_some() {}
        if got > 0 && slots.available_permits() > 0 {
            continue;
        }
        tokio::select! {
            _ = app.applier.bell.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
            Some(_) = running.join_next(), if !running.is_empty() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
    // Rows under way finish (shutdown waits for them: they are in flight).
    while running.join_next().await.is_some() {}
}

/// The background pass: every due row (on a test's clock too), the
/// answers dead processes owed, and finished rows pruned.
pub async fn pass(app: &App) {
    loop {
        let claimed = match app.pool.acquire().await {
            Ok(mut conn) => rs::claim(&mut conn, app.clock.now(), LEASE, PARALLEL as i64).await,
            Err(e) => Err(e),
        };
        match claimed {
            Ok(c) if c.is_empty() => break,
            Ok(c) => {
                apply_all(app, c).await;
            }
            Err(e) => {
                tracing::warn!(error = %e, "the role queue could not claim rows; retried next pass");
                break;
            }
        }
    }
    if let Err(e) = sweep_owed(app).await {
        tracing::warn!(error = %e, "could not give owed answers; retried next pass");
    }
    if let Ok(mut conn) = app.pool.acquire().await {
        if let Err(e) = rs::prune(&mut conn, app.clock.now() - KEEP_DONE).await {
            tracing::warn!(error = %e, "could not prune finished role syncs");
        }
    }
}

async fn apply_all(app: &App, claimed: Vec<Claimed>) {
    let mut set = tokio::task::JoinSet::new();
    for c in claimed {
        let app = app.clone();
        set.spawn(async move { run_one(&app, &c).await });
    }
    while set.join_next().await.is_some() {}
}

/// What applying a row came to.
enum Applied {
    Done,
    /// Refused for good: why, for the audit trail.
    Refused(String),
    /// Try again later: why.
    Retry(String),
}

/// Apply one claimed row and record how it went.
async fn run_one(app: &App, c: &Claimed) {
    let result = apply(app, c).await;
    let (outcome, why) = match result {
        Ok(Applied::Done) => (Outcome::Applied, None),
        Ok(Applied::Refused(why)) => (Outcome::Refused, Some(why)),
        Ok(Applied::Retry(why)) => return retry(app, c, &why).await,
        Err(e) => return retry(app, c, &format!("database: {e}")).await,
    };
    if outcome == Outcome::Refused && !c.admission && !c.dismissal {
        // A repair (reconcile, a re-made role): nothing to undo; admins are
        // told once and it is tried again later, the membership kept.
        let why = why.unwrap_or_default();
        if c.attempts == 1 {
            super::reconcile::repair_refused(app, c.guild_id, c.group_id, &c.cause, &why).await;
        }
        return retry(app, c, &why).await;
    }
    if outcome == Outcome::Refused {
        if let Err(e) = undo(app, c, why.as_deref().unwrap_or_default()).await {
            return retry(app, c, &format!("undoing a refused change: {e}")).await;
        }
    }
    let owed = match app.pool.acquire().await {
        Ok(mut conn) => rs::finish(&mut conn, c, outcome, why.as_deref(), app.clock.now()).await,
        Err(e) => Err(e),
    };
    match owed {
        Ok(Some(owed)) => {
            metrics::counter!("guildhall_role_syncs_total", "outcome" => if outcome == Outcome::Applied { "applied" } else { "refused" }).increment(1);
            app.applier.finished(c.id);
            if c.cause == super::reconcile::REGRANT {
                if let Err(e) = super::reconcile::regrant_done(app, c.group_id).await {
                    tracing::warn!(group_id = c.group_id, error = %e, "could not clear a re-made role's mark");
                }
            }
            let tell_refusal = outcome == Outcome::Refused && !matches!(owed, Owed::Outcome { .. });
            if let Owed::Outcome { token } = owed {
                tell(app, c, outcome, token).await;
            } else if tell_refusal
                && c.reopens.is_none()
                && !c.cause.starts_with("reconcile")
                && c.actor_id != Some(c.user_id)
            {
                // Decided by someone else (an approval, a new leader): the
                // member hears of the refusal by DM.
                tell(app, c, outcome, None).await;
            }
        }
        Ok(None) => {}
        Err(e) => {
            tracing::warn!(sync = c.id, error = %e, "could not finish a role sync; it runs again when its lease ends")
        }
    }
}

/// Try the row again later: backoff on the bot's clock, 5 s doubling to 5
/// minutes.
async fn retry(app: &App, c: &Claimed, why: &str) {
    let secs = 5i64 << (c.attempts.clamp(1, 7) - 1);
    let at = app.clock.now() + chrono::Duration::seconds(secs.min(300));
    tracing::info!(sync = c.id, attempts = c.attempts, error = why, "a role change is retried later");
    if let Ok(mut conn) = app.pool.acquire().await {
        if let Err(e) = rs::retry_at(&mut conn, c, at, why).await {
            tracing::warn!(sync = c.id, error = %e, "could not reschedule a role sync; it runs again when its lease ends");
        }
    }
}

/// Make the member's group role match their standing now.
async fn apply(app: &App, c: &Claimed) -> Result<Applied, sqlx::Error> {
    let (g, member) = {
        let mut conn = app.pool.acquire().await?;
        let Some(g) = group::get(&mut conn, c.guild_id, c.group_id).await? else {
            return Ok(Applied::Done);
        };
        let member = membership::is_member(&mut conn, g.id, c.user_id).await?;
        (g, member)
    };
    let Some(role_id) = g.role_id else {
        return Ok(if member { Applied::Refused("the group has no role".into()) } else { Applied::Done });
    };
    let applied = if member { grant(app, &g, c, role_id).await? } else { revoke(app, &g, c, role_id).await };
    if matches!(applied, Applied::Done) && (c.admission || c.dismissal) {
        // The group subscription came or went with the decision: the
        // notification role follows, after the group role (one member-role
        // bucket: the member's answer waited for the first call only).
        super::notify::sync_member(app, &g, c.user_id).await;
    }
    Ok(applied)
}

/// A transient failure is tried again; anything else is a refusal, and a
/// refusal Discord gave for no reason the bot knows (a 400: the bot's own
/// bug) is marked `UNEXPECTED`, so the member reads "something went wrong".
fn judged(e: DiscordError) -> Applied {
    match e {
        e if e.is_transient() || matches!(e, DiscordError::Other(_)) => Applied::Retry(e.to_string()),
        e @ DiscordError::Refused { .. } => Applied::Refused(format!("{UNEXPECTED}{e}")),
        e => Applied::Refused(e.to_string()),
    }
}

/// How the text of an unexpected refusal begins.
const UNEXPECTED: &str = "unexpected: ";

async fn grant(app: &App, g: &Group, c: &Claimed, role_id: u64) -> Result<Applied, sqlx::Error> {
    // A3 before every grant, on a read that began after this row was claimed.
    let h = match app.hierarchy.load(&app.http, g.guild_id, app.bot_id).await {
        Ok(h) => h,
        Err(e) => return Ok(judged(e)),
    };
    let Some(role) = h.role(role_id) else { return Ok(Applied::Refused("the group's role is gone".into())) };
    if let Err(problem) = role_safety::grantable(role, h.bot_top) {
        return Ok(Applied::Refused(format!("the group's role is unsafe: {problem}")));
    }
    let reason = format!("Guildhall: {} \"{}\"", reason_verb(&c.cause), g.name);
    Ok(match roles::grant(&app.http, g.guild_id, c.user_id, role_id, &reason).await {
        Ok(()) => Applied::Done,
        Err(e) => judged(e),
    })
}

async fn revoke(app: &App, g: &Group, c: &Claimed, role_id: u64) -> Applied {
    let reason = format!("Guildhall: {} \"{}\"", reason_verb(&c.cause), g.name);
    match roles::revoke(&app.http, g.guild_id, c.user_id, role_id, &reason).await {
        // The role is gone: nothing to take away.
        Ok(()) | Err(DiscordError::Unknown("role", _)) => Applied::Done,
        // Gone from the server, says Discord: believed once it says so
        // again; if they are there holding the role, it is tried again.
        Err(DiscordError::Unknown(..)) => match roles::member_role_ids(&app.http, g.guild_id, c.user_id).await {
            Err(DiscordError::Unknown(..)) => Applied::Done,
            Ok(held) if !held.contains(&role_id) => Applied::Done,
            Ok(_) => Applied::Retry("Discord called a member unknown who holds the role".into()),
            Err(e) => judged(e),
        },
        Err(e) => judged(e),
    }
}

/// The audit-log reason's verb for a row's cause.
fn reason_verb(cause: &str) -> &'static str {
    match cause {
        "membership.join" => "joined group",
        "membership.leave" => "left group",
        "membership.remove" => "removed from group",
        "membership.request_approved" => "request approved for group",
        "membership.invite_accepted" => "invitation accepted for group",
        c if c.starts_with("reconcile") => "reconcile of group",
        _ => "membership of group",
    }
}

/// Discord refused a row for good: undo its decision in Postgres (under
/// the member's lock, as every membership change), audited with why; a
/// decision that admitted (an approval, an accepted invitation, a new
/// leader) is reopened in the same transaction, then its card and its
/// person are told (R3, M5, L2).
async fn undo(app: &App, c: &Claimed, why: &str) -> Result<(), sqlx::Error> {
    let now = app.clock.now();
    let mut tx = app.pool.begin().await?;
    crate::domain::reconcile::lock_member(&mut tx, c.guild_id, c.user_id).await?;
    let member = membership::is_member(&mut tx, c.group_id, c.user_id).await?;
    let mut was_leader = false;
    let actor = c.actor_id.unwrap_or(c.user_id);
    let admission = c.admission && member;
    let action = if admission {
        was_leader = membership::is_leader(&mut tx, c.group_id, c.user_id).await?;
        membership::remove_member(&mut tx, c.group_id, c.user_id).await?;
        subscription::unsubscribe(&mut tx, c.user_id, Kind::Group, c.group_id).await?;
        membership::remove_leader(&mut tx, c.group_id, c.user_id).await?;
        "membership.grant_failed"
    } else if c.dismissal && !member {
        membership::add_member(&mut tx, c.group_id, c.user_id).await?;
        subscription::subscribe(&mut tx, c.guild_id, c.user_id, Kind::Group, c.group_id).await?;
        "membership.revoke_failed"
    } else {
        "membership.change_failed"
    };
    audit::record(&mut tx, &audit::Entry::of(c.guild_id, c.group_id, actor, c.user_id, action).because(why)).await?;
    // Last: reopening a proposal's approval deletes the group it made.
    let reopened = match c.reopens {
        Some(decision) if admission => super::reopen::reopen_in(&mut tx, decision, c, why, now).await?,
        _ => None,
    };
    tx.commit().await?;
    tracing::warn!(
        sync = c.id,
        group_id = c.group_id,
        user_id = c.user_id,
        why,
        action,
        "Discord refused a role change for good; undone"
    );
    let g = group::get(&mut *app.pool.acquire().await?, c.guild_id, c.group_id).await?;
    if let Some(r) = reopened {
        super::reopen::reopened(app, r, c.guild_id, g.as_ref()).await;
    }
    if let Some(g) = g {
        if was_leader {
            // A leader who is no member keeps no moderation rights.
            if let Some(channel) = g.channel_id {
                let reason = "Guildhall: a new leader's role was refused";
                if let Err(e) =
                    crate::discord::provision::remove_member_overwrite(&app.http, channel, c.user_id, reason).await
                {
                    tracing::warn!(group_id = g.id, user_id = c.user_id, error = %e, "could not take back a refused leader's overwrite");
                }
            }
        }
        // The notification role and the member counts follow.
        tokio::join!(super::notify::sync_member(app, &g, c.user_id), super::directory::refresh(app, c.guild_id));
    }
    Ok(())
}

/// The text that tells the member how a row ended.
fn outcome_text(leaving: bool, outcome: Outcome, name: &str, channel: Option<u64>) -> String {
    match (outcome, leaving) {
        (Outcome::Applied, false) => crate::views::pace::joined(name, channel),
        (Outcome::Applied, true) => crate::views::pace::left(name),
        (Outcome::Refused, false) => crate::views::pace::grant_undone(name),
        (Outcome::Refused, true) => crate::views::pace::revoke_undone(name),
    }
}

/// Tell the member how row `c` ended: an edit of their answer while its
/// token lives, else a DM.
async fn tell(app: &App, c: &Claimed, outcome: Outcome, token: Option<String>) {
    let (name, channel) = match app.pool.acquire().await {
        Ok(mut conn) => match group::get(&mut conn, c.guild_id, c.group_id).await {
            Ok(Some(g)) => (g.name, g.channel_id),
            _ => ("the group".to_string(), None),
        },
        Err(_) => ("the group".to_string(), None),
    };
    let text = outcome_text(c.dismissal, outcome, &name, channel);
    deliver(app, c.user_id, token.as_deref(), &text).await;
}

async fn deliver(app: &App, user_id: u64, token: Option<&str>, text: &str) {
    if let Some(token) = token {
        match crate::discord::messages::edit_answer(&app.http, token, text).await {
            Ok(()) => return,
            Err(e) => tracing::info!(user_id, error = %e, "could not edit an answer; telling by DM instead"),
        }
    }
    if let Err(e) = crate::discord::review::dm(&app.http, user_id, text).await {
        tracing::info!(user_id, error = %e, "could not tell a member how their role change ended");
    }
}

/// Answers still owed by a process that died between a press and its
/// answer: the outcome when the row is done, else "applying" (and the
/// worker tells the outcome when it lands).
async fn sweep_owed(app: &App) -> Result<(), sqlx::Error> {
    let now = app.clock.now();
    let stale = rs::stale_owed(&mut *app.pool.acquire().await?, now - OWED_GRACE, 200).await?;
    for id in stale {
        let (standing, answer) = {
            let mut conn = app.pool.acquire().await?;
            let answer = rs::answer_of(&mut conn, id, now).await?;
            (rs::take_answer(&mut conn, id).await?, answer)
        };
        let (Some(standing), Some(o)) = (standing, answer) else { continue };
        let g = group::get(&mut *app.pool.acquire().await?, o.guild_id, o.group_id).await?;
        let name = g.as_ref().map_or_else(|| "the group".to_string(), |g| g.name.clone());
        let channel = g.and_then(|g| g.channel_id);
        let text = match (&standing, o.dismissal) {
            (Standing::Done(outcome, _), leaving) => outcome_text(leaving, *outcome, &name, channel),
            (Standing::Waiting { ahead }, false) => crate::views::pace::joining(&name, eta(app, *ahead)),
            (Standing::Waiting { ahead }, true) => crate::views::pace::leaving(&name, eta(app, *ahead)),
        };
        deliver(app, o.user_id, o.token.as_deref(), &text).await;
        if matches!(standing, Standing::Done(..)) {
            rs::told(&mut *app.pool.acquire().await?, id).await?;
        }
    }
    Ok(())
}
