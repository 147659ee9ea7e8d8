//! The process's share of Discord's global rate limit (50 requests a second
//! per bot, across every route; topics/rate-limits).
//!
//! Discord's per-route headers describe the route's bucket (for a DM, its
//! channel), never the global limit, so header pacing alone bursts past
//! 50/s when every request goes to another DM channel. The DM queue instead
//! takes a slot here before every DM channel open and every DM send: slots
//! are handed out at most `rate` a second, in order, and a global 429 pauses
//! every caller for its `retry_after`. `rate` is below 50 to leave room for
//! the bot's other calls (interactions' follow-ups, role changes, ...), which
//! the request meter or the operator's proxy paces. The 50 are the bot's,
//! shared by all its processes: each runs at `DM_RATE_PER_SEC` (config),
//! about 40/N for N processes (README, "Several processes").

use std::sync::Mutex;
use std::time::Duration;
use tokio::time::Instant;

/// The DM queue's default share of the global limit: 40 of Discord's 50
/// requests a second, for a bot of one process.
pub const DM_RATE_PER_SEC: u32 = 40;

#[derive(Debug)]
pub struct GlobalLimiter {
    interval: Duration,
    /// When the next slot is free (never before a pause ends).
    next: Mutex<Option<Instant>>,
}

impl Default for GlobalLimiter {
    fn default() -> Self {
        GlobalLimiter::per_second(DM_RATE_PER_SEC)
    }
}

impl GlobalLimiter {
    pub fn per_second(rate: u32) -> GlobalLimiter {
        GlobalLimiter { interval: Duration::from_secs(1) / rate.max(1), next: Mutex::new(None) }
    }

    /// Reserve the next slot and wait for it.
    pub async fn acquire(&self) {
        let at = {
            let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
            let now = Instant::now();
            let at = next.map_or(now, |n| n.max(now));
            *next = Some(at + self.interval);
            at
        };
        tokio::time::sleep_until(at).await;
    }

    /// A global 429: nobody gets a slot for `retry_after`.
    pub fn pause(&self, retry_after: Duration) {
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let until = Instant::now() + retry_after;
        *next = Some(next.map_or(until, |n| n.max(until)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn slots_are_spaced_and_a_pause_holds_everyone() {
        let l = GlobalLimiter::per_second(50);
        let t0 = Instant::now();
        for _ in 0..5 {
            l.acquire().await;
        }
        assert!(t0.elapsed() >= Duration::from_millis(80), "5 slots at 50/s: the 5th after 80 ms");
        l.pause(Duration::from_millis(300));
        let t1 = Instant::now();
        l.acquire().await;
        assert!(t1.elapsed() >= Duration::from_millis(300), "a global 429 pauses the next caller");
        l.acquire().await;
        assert!(t1.elapsed() >= Duration::from_millis(320), "and the slots after it stay spaced");
    }
}
