//! Scenario tests: the real bot (serenity + poise + sqlx) against the fake
//! Discord on loopback and a real, fresh PostgreSQL database per test.
//! One binary, one module per feature.

mod sim;

mod admin;
mod bad_input;
mod commands_doc;
mod directory;
mod feature_index;
mod forged;
mod group_create;
mod group_manage;
mod health;
mod held;
mod invites;
mod layers;
mod lead;
mod lifecycle;
mod load;
mod membership;
mod notifications;
mod operations;
#[cfg(feature = "playground")]
mod playground;
mod reconcile;
mod request_sla;
mod requests;
mod shards;
mod stats;
mod subscriptions;
