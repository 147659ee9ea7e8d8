//! The process's share of Discord's global rate limit (50 requests a second
//! per bot, across every route; topics/rate-limits).
//!
//! Two limiters take slots here: the request meter's, before every request
//! to Discord but an interaction's answer (`REST_RATE_PER_SEC`, with a
//! small burst), and the DM queue's, below it.
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

/// The request meter's default share of the global limit: 40 of Discord's
/// 50 requests a second, and a burst of 8 (so a flow of a few calls, such as
/// making a group, is not spaced out), at most 48 in any second, for a bot
/// of one process. Discord counts the second on its side, from when
/// requests arrive; the 2 to spare absorb the network's jitter.
pub const REST_RATE_PER_SEC: u32 = 40;
/// The most a process may take (`REST_RATE_PER_SEC`): with its burst, 48.
pub const MOST_REST_RATE_PER_SEC: u32 = 40;

/// The meter's burst at `rate` a second: one slot per 5 of the rate, so
/// that N processes at 40/N each stay within 48 in any second together
/// (40: 8; 20: 4, two make 48; 13: 2, three make 45; 10: 2, four make 48).
pub fn rest_burst(rate: u32) -> u32 {
    (rate / 5).max(1)
}

/// Slots handed out at most `rate` a second, in order, with up to `burst`
/// at once after a quiet spell (a generic cell rate: any second holds at
/// most `rate + burst` slots).
#[derive(Debug)]
pub struct GlobalLimiter {
    interval: Duration,
    /// How far ahead of its theoretical time a slot may be taken: the
    /// burst, less one.
    tolerance: Duration,
    /// The theoretical time of the next slot (never before a pause ends,
    /// less `tolerance`).
    next: Mutex<Option<Instant>>,
    /// Until when a global 429 holds everyone, slots already handed out too.
    paused_until: Mutex<Option<Instant>>,
}

impl Default for GlobalLimiter {
    fn default() -> Self {
        GlobalLimiter::per_second(DM_RATE_PER_SEC)
    }
}

impl GlobalLimiter {
    /// Evenly spaced slots, no burst.
    pub fn per_second(rate: u32) -> GlobalLimiter {
        GlobalLimiter::per_second_with_burst(rate, 1)
    }

    pub fn per_second_with_burst(rate: u32, burst: u32) -> GlobalLimiter {
        let interval = Duration::from_secs(1) / rate.max(1);
        GlobalLimiter {
            interval,
            tolerance: interval * (burst.max(1) - 1),
            next: Mutex::new(None),
            paused_until: Mutex::new(None),
        }
    }

    /// Reserve the next slot and wait for it; a slot that falls in a pause
    /// begun meanwhile is given up for one after it.
    pub async fn acquire(&self) {
        loop {
            let at = {
                let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
                let now = Instant::now();
                let due = next.unwrap_or(now);
                let at = due.checked_sub(self.tolerance).map_or(now, |early| early.max(now));
                *next = Some(due.max(at) + self.interval);
                at
            };
            tokio::time::sleep_until(at).await;
            let paused = *self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
            if paused.is_none_or(|until| Instant::now() >= until) {
                return;
            }
        }
    }

    /// A global 429: nobody gets a slot for `retry_after`, nor uses one
    /// handed out before.
    pub fn pause(&self, retry_after: Duration) {
        let until = Instant::now() + retry_after;
        {
            let mut paused = self.paused_until.lock().unwrap_or_else(|e| e.into_inner());
            *paused = Some(paused.map_or(until, |p| p.max(until)));
        }
        let mut next = self.next.lock().unwrap_or_else(|e| e.into_inner());
        let until = until + self.tolerance;
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

    #[tokio::test(start_paused = true)]
    async fn a_burst_goes_at_once_and_no_second_holds_more_than_rate_and_burst() {
        let l = GlobalLimiter::per_second_with_burst(40, 8);
        let t0 = Instant::now();
        let mut at = Vec::new();
        for _ in 0..200 {
            l.acquire().await;
            at.push(Instant::now().duration_since(t0));
        }
        assert!(at[7].is_zero(), "eight at once after a quiet spell: {:?}", &at[..9]);
        assert!(!at[8].is_zero(), "the ninth waits");
        let most = (0..at.len())
            .map(|i| at[i..].iter().take_while(|t| **t < at[i] + Duration::from_secs(1)).count())
            .max()
            .unwrap();
        assert!(most <= 48, "at most 40 + 8 slots in any second: {most}");
        assert!(most >= 40, "and the rate is used: {most}");
        l.pause(Duration::from_secs(2));
        let t1 = Instant::now();
        l.acquire().await;
        assert!(t1.elapsed() >= Duration::from_secs(2), "a pause holds the burst too");
    }

    #[tokio::test(start_paused = true)]
    async fn a_pause_holds_slots_handed_out_before_it() {
        let l = std::sync::Arc::new(GlobalLimiter::per_second(10));
        l.acquire().await;
        // The next slot is 100 ms away; a waiter has it, then a global 429.
        let waiter = {
            let l = l.clone();
            tokio::spawn(async move {
                l.acquire().await;
                Instant::now()
            })
        };
        tokio::task::yield_now().await;
        let t0 = Instant::now();
        l.pause(Duration::from_secs(1));
        let went = waiter.await.unwrap();
        assert!(went - t0 >= Duration::from_secs(1), "the waiter's slot fell in the pause: {:?}", went - t0);
    }

    #[test]
    fn n_processes_at_40_over_n_stay_within_48_a_second_together() {
        for n in 1..=4u32 {
            let rate = REST_RATE_PER_SEC / n;
            let most = n * (rate + rest_burst(rate));
            assert!(most <= 48, "{n} processes at {rate}: {most}");
        }
        assert_eq!(MOST_REST_RATE_PER_SEC + rest_burst(MOST_REST_RATE_PER_SEC), 48);
    }
}
