//! The durable DM queue (S5): notification DMs and daily digests.
//!
//! Events put one row per recipient into `deliveries` (a unique key per
//! event and member, in the transaction that claims the event), then wake
//! this process's worker. The worker claims one due row at a time with a
//! short lease and a claim token (`for update skip locked`), renews the
//! lease before every try (and sends nothing if the claim was taken over),
//! sends, and records the outcome only while the claim is still its own:
//! - sent: `state = 'sent'` with the message id. The row id is the message's
//!   nonce (`enforce_nonce`), so a resend after a crash between the send and
//!   the commit (the job comes back when its lease ends, within a minute)
//!   returns the first message instead of posting a second one.
//! - pacing: every DM channel open and DM send takes a slot of the
//!   process's share of Discord's global limit (`Queue::limiter`, 40/s); a
//!   route's headers saying its bucket is empty add a wait.
//! - 429: wait `retry_after` (short waits in real time, here; long ones by
//!   moving `run_at`); a global 429 pauses the limiter, so every DM of this
//!   process (worker and background pass) waits.
//! - 5xx / network: a few quick retries, then `run_at` moves out with
//!   exponential backoff (measured by the bot's clock), until `MAX_ATTEMPTS`.
//! - another 403, or a 404: retried with backoff up to `REFUSED_ATTEMPTS`
//!   claims (the DM channel opened anew), then failed.
//! - 50007 (DMs closed): the member is marked, this and their other pending
//!   DMs are dropped, and nothing more is queued for them until they choose a
//!   DM mode again (`/notifications` says so).
//!
//! The worker polls now and then for jobs other processes queued or that
//! came due, counts itself in flight while it works (so shutdown waits for
//! the DM being sent), and gives unstarted claims back when it stops. The
//! background pass queues the day's digests and runs due jobs too, so a test
//! that moves the clock sees them through.

use super::App;
use crate::discord::dm::{self, SendOutcome};
use crate::domain::delivery as dd;
use crate::inflight::InFlight;
use std::time::Duration;
use tokio::sync::watch;

/// How long a claim holds a job: a worker that died gives its job back then.
/// Renewed before every try, so it only has to cover one send (15 s
/// timeout) or one short 429 wait (10 s), and stays well inside the few
/// minutes Discord remembers a nonce for.
const LEASE: chrono::Duration = chrono::Duration::seconds(45);
/// Jobs claimed at once: one, so no claimed job waits in memory behind
/// another's retries while its lease runs.
const BATCH: i64 = 1;
/// How often the worker looks for jobs it was not woken for.
const POLL: Duration = Duration::from_secs(2);
/// Quick tries in a row before the job goes back to the queue.
const QUICK_TRIES: u32 = 4;
/// A 429 shorter than this is waited out in place.
const SHORT_WAIT: Duration = Duration::from_secs(10);
/// After this many claims a job is given up as failed.
const MAX_ATTEMPTS: i32 = 8;
/// After this many claims refused with a 403 other than 50007 or a 404,
/// a job is given up as failed: Discord said no, though not for good.
const REFUSED_ATTEMPTS: i32 = 3;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// This process's DM queue: the bell that wakes its worker, and its share
/// of Discord's global rate limit, taken by every DM channel open and every
/// DM send of the worker and of the background pass alike.
#[derive(Debug, Default)]
pub struct Queue {
    bell: tokio::sync::Notify,
    pub limiter: crate::discord::limiter::GlobalLimiter,
}

impl Queue {
    /// A queue whose DMs take at most `per_second` slots a second of
    /// Discord's global limit (`DM_RATE_PER_SEC`).
    pub fn at_rate(per_second: u32) -> Queue {
        Queue { bell: Default::default(), limiter: crate::discord::limiter::GlobalLimiter::per_second(per_second) }
    }
}

/// Wake this process's worker (jobs were queued).
pub fn wake(app: &App) {
    app.deliveries.bell.notify_one();
}

/// The worker: runs until `stop` turns true.
pub async fn run(app: App, inflight: InFlight, mut stop: watch::Receiver<bool>) {
    loop {
        {
            let _guard = inflight.enter();
            loop {
                match drain_once(&app, &stop).await {
                    Ok(0) => break,
                    Ok(_) => {}
                    Err(e) => {
                        tracing::warn!(error = %e, "the DM queue failed; trying again shortly");
                        break;
                    }
                }
                if *stop.borrow() {
                    break;
                }
            }
        }
        if *stop.borrow() {
            break;
        }
        tokio::select! {
            _ = app.deliveries.bell.notified() => {}
            _ = tokio::time::sleep(POLL) => {}
            _ = stop.wait_for(|s| *s) => break,
        }
    }
}

/// Send every due job (the background pass; a test moving the clock).
pub async fn run_due(app: &App) {
    let (_tx, rx) = watch::channel(false);
    loop {
        match drain_once(app, &rx).await {
            Ok(0) => break,
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "running due DMs failed");
                break;
            }
        }
    }
}

/// Claim one batch and work through it; returns how many were claimed.
async fn drain_once(app: &App, stop: &watch::Receiver<bool>) -> Result<usize, BoxError> {
    let jobs = {
        let mut conn = app.pool.acquire().await?;
        dd::claim(&mut conn, app.clock.now(), LEASE, BATCH).await?
    };
    let n = jobs.len();
    for (i, job) in jobs.iter().enumerate() {
        if *stop.borrow() {
            dd::release(&mut *app.pool.acquire().await?, &jobs[i..]).await?;
            return Ok(n);
        }
        deliver(app, job).await?;
    }
    Ok(n)
}

/// The DM channel with the job's member, opened once and kept.
async fn channel_for(app: &App, user_id: u64) -> Result<Result<u64, SendOutcome>, BoxError> {
    if let Some(c) = dd::dm_channel(&mut *app.pool.acquire().await?, user_id).await? {
        return Ok(Ok(c));
    }
    app.deliveries.limiter.acquire().await;
    match dm::open(&app.http, user_id).await {
        Ok(c) => {
            dd::set_dm_channel(&mut *app.pool.acquire().await?, user_id, c).await?;
            Ok(Ok(c))
        }
        Err(e) if e.is_transient() => Ok(Err(SendOutcome::Transient(e.to_string()))),
        Err(crate::discord::DiscordError::DmsClosed) => Ok(Err(SendOutcome::DmsClosed)),
        Err(
            e @ (crate::discord::DiscordError::MissingPermissions
            | crate::discord::DiscordError::MissingAccess
            | crate::discord::DiscordError::Unknown(..)),
        ) => Ok(Err(SendOutcome::Refused(e.to_string()))),
        Err(e) => Ok(Err(SendOutcome::Failed(e.to_string()))),
    }
}

/// Exponential backoff for the `attempts`-th failed claim: 30 s, 1 min,
/// 2 min, ... at most 32 min (1,920 s, from the 7th on).
fn backoff(attempts: i32) -> chrono::Duration {
    let secs = 30i64.saturating_mul(1i64 << attempts.clamp(1, 7).saturating_sub(1));
    chrono::Duration::seconds(secs.min(3600))
}

async fn deliver(app: &App, job: &dd::Job) -> Result<(), BoxError> {
    let nonce = format!("gh-dm-{}", job.id);
    let mut quick_delay = Duration::from_millis(200);
    let mut outcome = SendOutcome::Transient("not tried".into());
    for _ in 0..QUICK_TRIES {
        outcome = match channel_for(app, job.user_id).await? {
            Ok(channel) => {
                app.deliveries.limiter.acquire().await;
                // Only while the claim is still ours, and for long enough to
                // cover this send: otherwise another worker may hold the job.
                let until = app.clock.now() + LEASE;
                if !dd::renew(&mut *app.pool.acquire().await?, job, until).await? {
                    tracing::info!(job = job.id, "the claim on a DM ran out and was taken over; not sending");
                    return Ok(());
                }
                dm::send(&app.http, channel, &job.content, &nonce).await
            }
            Err(o) => o,
        };
        if let SendOutcome::RateLimited { retry_after, global: true } = &outcome {
            // Discord's global limit: hold every DM of this process.
            app.deliveries.limiter.pause(*retry_after);
        }
        match &outcome {
            SendOutcome::RateLimited { retry_after, global } if *retry_after <= SHORT_WAIT => {
                tracing::debug!(job = job.id, ?retry_after, global, "rate limited; waiting");
                tokio::time::sleep(*retry_after).await;
            }
            SendOutcome::Transient(e) => {
                tracing::debug!(job = job.id, error = %e, "transient failure; retrying");
                tokio::time::sleep(quick_delay).await;
                quick_delay *= 2;
            }
            _ => break,
        }
    }
    let now = app.clock.now();
    let mut conn = app.pool.acquire().await?;
    match outcome {
        SendOutcome::Sent { message_id, pace } => {
            match dd::mark_sent_kind(&mut conn, job, message_id, now).await?.as_deref() {
                None => {
                    tracing::warn!(job = job.id, "a DM was sent after its claim was taken over (the nonce dedupes it)")
                }
                Some("digest") => crate::telemetry::digest("sent", 1),
                Some(_) => {}
            }
            if let Some(p) = pace {
                // The route's bucket is empty: wait for it instead of earning a 429.
                tokio::time::sleep(p.min(SHORT_WAIT)).await;
            }
        }
        SendOutcome::DmsClosed => {
            dd::mark_dms_closed(&mut conn, job.user_id, now).await?;
            dd::finish(&mut conn, job, "dropped", "dms closed (50007)", now).await?;
            let more = dd::drop_pending_of(&mut conn, job.user_id, now).await?;
            tracing::info!(user = job.user_id, dropped_also = more, "DMs closed: the member is marked and not retried");
        }
        SendOutcome::Refused(e) => {
            if job.attempts >= REFUSED_ATTEMPTS {
                tracing::warn!(job = job.id, error = %e, "a DM was refused every time; given up");
                dd::finish(&mut conn, job, "failed", &format!("refused: {e}"), now).await?;
            } else {
                // A DM channel Discord no longer knows is opened anew next time.
                dd::forget_dm_channel(&mut conn, job.user_id).await?;
                dd::retry_at(&mut conn, job, now + backoff(job.attempts), &e).await?;
            }
        }
        SendOutcome::Failed(e) => {
            tracing::warn!(job = job.id, error = %e, "a DM failed for good");
            dd::finish(&mut conn, job, "failed", &e, now).await?;
        }
        SendOutcome::RateLimited { retry_after, .. } => {
            let wait = chrono::Duration::from_std(retry_after).unwrap_or(chrono::Duration::hours(1));
            dd::retry_at(&mut conn, job, now + wait, "429").await?;
        }
        SendOutcome::Transient(e) => {
            if job.attempts >= MAX_ATTEMPTS {
                dd::finish(&mut conn, job, "failed", &format!("gave up: {e}"), now).await?;
            } else {
                dd::retry_at(&mut conn, job, now + backoff(job.attempts), &e).await?;
            }
        }
    }
    Ok(())
}

/// Queue the digests of days that are over (by the bot's clock): one DM
/// per member per day. Called by the background pass.
pub async fn queue_digests(app: &App) -> Result<u64, BoxError> {
    let mut queued = 0;
    loop {
        let now = app.clock.now();
        let mut tx = app.pool.begin().await?;
        let digests = dd::take_due_digests(&mut tx, now.date_naive(), now, 200).await?;
        if digests.is_empty() {
            break;
        }
        for d in &digests {
            let content = crate::views::notifications::digest(d);
            queued += dd::enqueue_dms(&mut tx, d.guild_id, &[d.user_id], &d.key(), &content, "digest", now).await?;
        }
        tx.commit().await?;
    }
    if queued > 0 {
        crate::telemetry::digest("queued", queued);
        wake(app);
    }
    Ok(queued)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_capped() {
        assert_eq!(backoff(1), chrono::Duration::seconds(30));
        assert_eq!(backoff(2), chrono::Duration::seconds(60));
        assert_eq!(backoff(3), chrono::Duration::seconds(120));
        assert_eq!(backoff(50), chrono::Duration::seconds(1920));
    }
}
