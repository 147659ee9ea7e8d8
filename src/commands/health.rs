//! `/health` (A4, admins only): what is wrong with Guildhall's set-up on this
//! server, each problem with its fix.

use super::{guild_id, require_admin};
use crate::replies::send_view;
use crate::service::health::{self, HealthError};
use crate::types::{Context, Error};
use crate::views::group_page::View;

/// Check my permissions, roles, channels, Discord's limits and background work here (admins).
#[poise::command(slash_command, guild_only, ephemeral, default_member_permissions = "MANAGE_GUILD")]
pub async fn health(ctx: Context<'_>) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    // Three reads from Discord and a few queries: answer in time (N1).
    crate::replies::defer_command(ctx).await?;
    let latency = ctx.ping().await;
    let checked = health::check(&ctx.data().app, guild, Some(latency)).await.map_err(|e| match e {
        HealthError::Discord(d) => {
            crate::error::user(format!("I couldn't read this server from Discord ({d}). Please try again in a minute."))
        }
        HealthError::Db(e) => Box::new(e) as Error,
    })?;
    let embed = crate::views::health::render(&checked);
    send_view(ctx, View::embed(embed, vec![])).await
}
