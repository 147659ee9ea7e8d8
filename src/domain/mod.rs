//! The domain: validated values and the use cases' database work.
//!
//! Invariant: nothing here knows serenity or poise. Functions take plain ids
//! (`u64` snowflakes) and a Postgres executor, so they are tested with
//! `#[sqlx::test]` directly.

pub mod audit;
pub mod channels;
pub mod delivery;
pub mod export;
pub mod group;
pub mod health;
pub mod invite;
pub mod lead;
pub mod leftover;
pub mod membership;
pub mod notify;
pub mod reconcile;
pub mod request;
pub mod role_safety;
pub mod role_sync;
pub mod settings;
pub mod sla;
pub mod stats;
pub mod subscription;
pub mod text;

/// A Discord snowflake as stored in Postgres.
pub fn db_id(id: u64) -> i64 {
    id as i64
}

/// A snowflake read back from Postgres.
pub fn snowflake(id: i64) -> u64 {
    id as u64
}
