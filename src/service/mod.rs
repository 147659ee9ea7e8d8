//! Use cases that change both Postgres and Discord, keeping them in step.
//! Membership decisions (joins, leaves, removals, approvals, accepted
//! invitations, new leaders) commit first and leave their member-role
//! changes to the applier's durable, paced queue (`applier`, N6); a grant
//! Discord refuses for good ends the admission and reopens the decision
//! (`reopen`). What a decision needs of Discord besides (A3 reads, a
//! leader's overwrite, a proposed group's role and channel) and group
//! creation and adoption change Discord first, holding no connection, then
//! commit; edits, archiving, deletion and reconcile's structural repairs
//! still change Discord inside their transaction. Anything made on Discord
//! is unmade when a later step fails, so a failure leaves neither a row nor
//! a half-made role or channel behind (N5).
//!
//! Invariant: no poise here; commands and components call these functions
//! and render their results.

pub mod access;
pub mod applier;
pub mod audit;
pub mod config;
pub mod criteria;
pub(crate) mod decision;
pub mod deliveries;
pub mod directory;
pub mod export;
pub mod groups;
pub mod health;
pub mod invite;
pub mod journal;
pub mod lead;
pub mod manage;
pub mod membership;
pub mod notifications;
pub mod notify;
pub mod outcome;
pub mod reconcile;
pub(crate) mod reopen;
pub mod request;
pub mod sla;
pub mod stats;
pub mod subscriptions;

use crate::discord::DiscordHttp;

/// What the use cases need: the database, Discord's REST client, the bot's
/// own user id, the clock deadlines are measured against, and the bell that
/// wakes this process's DM worker with the process's share of Discord's
/// global rate limit (`deliveries`).
#[derive(Clone)]
pub struct App {
    pub pool: crate::db::Pool,
    pub http: DiscordHttp,
    pub bot_id: u64,
    pub clock: crate::clock::Clock,
    pub deliveries: std::sync::Arc<deliveries::Queue>,
    /// Turns for the notification-role syncs of a member in a group.
    pub notify_syncs: std::sync::Arc<notify::Syncs>,
    /// Reads of the role hierarchy, shared by the callers that ask at once.
    pub hierarchy: std::sync::Arc<crate::discord::roles::HierarchyReads>,
    /// The role queue's bell, the presses waiting for their rows and the
    /// pace rows are applied at (`applier`, N6).
    pub applier: std::sync::Arc<applier::Queue>,
    /// A group's mention-mode followers pinged by name up to this many,
    /// through its notification role past it (`notify`).
    pub notify_by_name_max: i64,
    /// Turns for making a group's review thread in this process, one maker
    /// at a time (keyed by group; no database lock across Discord).
    pub thread_makers: std::sync::Arc<notify::Syncs>,
}
