//! How things look in Discord: embeds and components built from domain
//! values. No database access here.

pub mod audit;
pub mod config;
pub mod directory;
pub mod directory_message;
pub mod group_delete;
pub mod group_page;
pub mod lead;
pub mod notifications;
pub mod request;
pub mod subscriptions;
