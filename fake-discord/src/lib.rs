//! A fake Discord for testing a bot end to end, on loopback: a stateful guild
//! model, the REST API under `/api/v10` and the gateway over plain `ws://`,
//! Discord's permission and hierarchy rules and error codes, the
//! answer-once-within-3-seconds rule, validation of every request against
//! Discord's OpenAPI contract, failure injection, and a scenario API that
//! reads like users acting.
//!
//! Nothing here knows about guildhall: any serenity bot can be pointed at it.

pub mod gateway;
pub mod payload;
pub mod reqlog;
pub mod rest;
pub mod scenario;
pub mod server;
pub mod spec;
pub mod strict;
pub mod upload;
pub mod world;

pub use scenario::{Actor, Component, Modal, Reply};
pub use server::{FakeDiscord, Fault, Latency, Outage, OutageKind, RateLimits};
pub use world::{perms, ApiError, World};

/// The permissions the bot's managed role gets in a seeded guild: what the
/// README's invite link asks for.
pub const BOT_PERMISSIONS: u64 = perms::VIEW_CHANNEL
    | perms::MANAGE_ROLES
    | perms::MANAGE_CHANNELS
    | perms::SEND_MESSAGES
    | perms::SEND_MESSAGES_IN_THREADS
    | perms::CREATE_PUBLIC_THREADS
    | perms::CREATE_PRIVATE_THREADS
    | perms::MANAGE_THREADS
    | perms::MANAGE_MESSAGES
    | perms::EMBED_LINKS
    | perms::READ_MESSAGE_HISTORY;
