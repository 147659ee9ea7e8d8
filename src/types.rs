//! The poise framework's shared types.

use crate::service::App;

/// Shared state every command and component handler gets.
pub struct Data {
    pub app: App,
    pub inflight: crate::inflight::InFlight,
    /// The URL serenity's shards connect on (`Client::ws_url`), pointed at
    /// READY's `resume_gateway_url` on every READY (`lib.rs::on_event`).
    pub gateway_url: GatewayUrl,
}

/// Set once the client is built (the framework's setup runs after).
pub type GatewayUrl = std::sync::Arc<std::sync::OnceLock<std::sync::Arc<tokio::sync::Mutex<String>>>>;

pub type Error = Box<dyn std::error::Error + Send + Sync>;
pub type Context<'a> = poise::Context<'a, Data, Error>;
