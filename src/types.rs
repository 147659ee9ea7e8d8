//! The poise framework's shared types.

use crate::service::App;

/// Shared state every command and component handler gets.
pub struct Data {
    pub app: App,
    pub inflight: crate::inflight::InFlight,
}

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Context<'a> = poise::Context<'a, Data, Error>;
