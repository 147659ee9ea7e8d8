//! The background loop: periodic work that no event triggers (request
//! reminders, escalations and expiry, invitation expiry, daily digests,
//! notification-role syncs that Discord refused, roles and channels of
//! deleted groups that Discord did not delete).
//!
//! Every bot process runs one. Each job claims its rows in Postgres (an
//! update that only one process can win, or `for update skip locked`), so two
//! processes against one database never do the same work twice. A pass runs
//! every `Config::tick` (or, on a test's manual clock, whenever the test
//! moves time) and is counted in flight, so shutdown waits for it.

use crate::clock::Clock;
use crate::inflight::InFlight;
use crate::service::App;
use std::time::Duration;
use tokio::sync::watch;

/// Run passes until `stop` turns true.
pub async fn run(app: App, clock: Clock, every: Duration, inflight: InFlight, mut stop: watch::Receiver<bool>) {
    let mut ticker = clock.ticker(every);
    loop {
        tokio::select! {
            _ = ticker.next() => {}
            _ = stop.wait_for(|s| *s) => break,
        }
        let _guard = inflight.enter();
        pass(&app).await;
        ticker.done();
    }
}

/// One pass of every periodic job. A failing job is logged and retried on
/// the next pass; it never stops the others.
async fn pass(app: &App) {
    match crate::service::invite::expire_due(app).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(expired = n, "invitations expired"),
        Err(e) => tracing::warn!(error = %e, "invitation expiry failed; retried next pass"),
    }
    crate::service::sla::pass(app).await;
    match crate::service::manage::retry_leftovers(app).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(deleted = n, "deleted groups' leftover roles and channels deleted"),
        Err(e) => tracing::warn!(error = %e, "deleting leftovers failed; retried next pass"),
    }
    match crate::service::notify::retry_pending(app).await {
        Ok(0) => {}
        Ok(n) => tracing::info!(synced = n, "pending notification-role syncs done"),
        Err(e) => tracing::warn!(error = %e, "notification-role sync retries failed; retried next pass"),
    }
    if let Err(e) = crate::service::deliveries::queue_digests(app).await {
        tracing::warn!(error = %e, "queueing daily digests failed");
    }
    crate::service::deliveries::run_due(app).await;
    crate::service::applier::pass(app).await;
}
