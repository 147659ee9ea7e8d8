//! The time every deadline is measured against (request SLAs, invitation
//! expiry, daily digests), and the pacing of the background passes.
//!
//! In production it is the system clock and a pass runs every
//! `Config::tick`. Tests hold a manual clock: it runs with real time (so
//! what Discord or Postgres stamp "now" is never in its future) and `advance`
//! jumps it forward, returning once every running background loop has
//! finished a pass at the new time, so a test can assert what happened "at"
//! that moment, and that it happened once, without sleeping.

use chrono::{DateTime, Utc};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::watch;

#[derive(Clone, Default)]
pub struct Clock(Option<Arc<Manual>>);

impl std::fmt::Debug for Clock {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.0 {
            None => f.write_str("Clock::System"),
            Some(m) => write!(f, "Clock::Manual({})", m.now()),
        }
    }
}

struct Manual {
    /// How far ahead of the system clock this clock is.
    ahead: Mutex<chrono::Duration>,
    /// Bumped on every change of time; loops wake on it.
    generation: watch::Sender<u64>,
    /// For each registered loop (by slot), the generation its last finished
    /// pass started at; `None` once the loop has stopped.
    passes: watch::Sender<Vec<Option<u64>>>,
}

impl Manual {
    fn now(&self) -> DateTime<Utc> {
        Utc::now() + *self.ahead.lock().expect("clock lock")
    }
}

impl Clock {
    /// The system clock.
    pub fn system() -> Clock {
        Clock(None)
    }

    /// A clock that reads `start` now, runs on with real time, and jumps
    /// forward when a test moves it.
    pub fn manual(start: DateTime<Utc>) -> Clock {
        Clock(Some(Arc::new(Manual {
            ahead: Mutex::new(start - Utc::now()),
            generation: watch::channel(0).0,
            passes: watch::channel(Vec::new()).0,
        })))
    }

    pub fn is_manual(&self) -> bool {
        self.0.is_some()
    }

    pub fn now(&self) -> DateTime<Utc> {
        match &self.0 {
            None => Utc::now(),
            Some(m) => m.now(),
        }
    }

    /// Move a manual clock forward by `by` and wait (at most 30 s) until every
    /// running background loop has finished a pass at the new time. Panics
    /// on the system clock.
    pub async fn advance(&self, by: chrono::Duration) {
        let m = self.0.as_ref().expect("only a manual clock can be advanced");
        *m.ahead.lock().expect("clock lock") += by;
        self.settle().await;
    }

    /// Wake every background loop and wait (at most 30 s) until each has
    /// finished a pass that started after this call. Panics on the system
    /// clock.
    pub async fn settle(&self) {
        let m = self.0.as_ref().expect("only a manual clock can be settled");
        let mut target = 0;
        m.generation.send_modify(|g| {
            *g += 1;
            target = *g;
        });
        let mut rx = m.passes.subscribe();
        let waited = tokio::time::timeout(
            Duration::from_secs(30),
            rx.wait_for(|slots| slots.iter().flatten().all(|done| *done >= target)),
        )
        .await;
        assert!(waited.is_ok(), "background loops did not finish a pass within 30 s");
    }

    /// Wait (at most 30 s) until exactly `n` background loops are registered
    /// and running on this manual clock (e.g. a second bot process started).
    /// Panics on the system clock.
    pub async fn wait_for_loops(&self, n: usize) {
        let m = self.0.as_ref().expect("only a manual clock counts its loops");
        let mut rx = m.passes.subscribe();
        let waited = tokio::time::timeout(
            Duration::from_secs(30),
            rx.wait_for(|slots| slots.iter().filter(|s| s.is_some()).count() == n),
        )
        .await;
        assert!(waited.is_ok(), "expected {n} running background loops within 30 s");
    }

    /// Register a background loop with this clock.
    pub fn ticker(&self, every: Duration) -> Ticker {
        let slot = self.0.as_ref().map(|m| {
            let mut slot = 0;
            m.passes.send_modify(|v| {
                // Registered as having finished the current generation: a
                // loop that starts after an `advance` does not hold it up.
                v.push(Some(*m.generation.borrow()));
                slot = v.len() - 1;
            });
            (m.clone(), m.generation.subscribe(), slot)
        });
        Ticker { every, manual: slot, started_at: 0 }
    }
}

/// Paces one background loop: `next` waits for the next pass, `done` reports
/// that a pass finished.
pub struct Ticker {
    every: Duration,
    manual: Option<(Arc<Manual>, watch::Receiver<u64>, usize)>,
    started_at: u64,
}

impl Ticker {
    /// Wait until the next pass is due: `every` has gone by, or (manual
    /// clock) time was moved or a test asked the loops to settle.
    pub async fn next(&mut self) {
        match &mut self.manual {
            None => tokio::time::sleep(self.every).await,
            Some((_, rx, _)) => {
                let _ = tokio::time::timeout(self.every, rx.changed()).await;
                self.started_at = *rx.borrow_and_update();
            }
        }
    }

    /// The pass that began with the last `next` has finished.
    pub fn done(&self) {
        if let Some((m, _, slot)) = &self.manual {
            let g = self.started_at;
            m.passes.send_modify(|v| v[*slot] = Some(g));
        }
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        if let Some((m, _, slot)) = &self.manual {
            m.passes.send_modify(|v| v[*slot] = None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn advance_waits_for_every_loop_to_pass_once() {
        let clock = Clock::manual(Utc::now());
        let start = clock.now();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let mut loops = Vec::new();
        for _ in 0..2 {
            let (mut t, c, seen) = (clock.ticker(Duration::from_secs(3600)), clock.clone(), seen.clone());
            loops.push(tokio::spawn(async move {
                loop {
                    t.next().await;
                    seen.lock().unwrap().push(c.now());
                    t.done();
                }
            }));
        }
        clock.advance(chrono::Duration::hours(25)).await;
        let moved = clock.now() - start;
        assert!(
            moved >= chrono::Duration::hours(25) && moved < chrono::Duration::hours(25) + chrono::Duration::minutes(1)
        );
        let passes = seen.lock().unwrap().clone();
        assert!(passes.len() >= 2, "both loops passed: {passes:?}");
        assert!(passes.iter().all(|t| *t >= start + chrono::Duration::hours(25)), "every pass ran at the new time");
        for l in loops {
            l.abort();
        }
    }

    #[tokio::test]
    async fn a_stopped_loop_does_not_hold_up_advance() {
        let clock = Clock::manual(Utc::now());
        let t = clock.ticker(Duration::from_secs(3600));
        clock.wait_for_loops(1).await;
        drop(t);
        clock.wait_for_loops(0).await;
        clock.advance(chrono::Duration::minutes(1)).await;
    }
}
