//! `/join` and `/leave` (M1, M3).

use super::{autocomplete_group, find_group, guild_id, send_view};
use crate::components::membership::{join_view, leave_view};
use crate::types::{Context, Error};

/// Join an open group (closed groups: send a request instead).
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn join(
    ctx: Context<'_>,
    #[description = "The group to join"]
    #[autocomplete = "autocomplete_group"]
    group: String,
) -> Result<(), Error> {
    let g = find_group(ctx, &group).await?;
    ctx.defer_ephemeral().await?;
    let view = join_view(&ctx.data().app, guild_id(ctx)?, ctx.author().id.get(), g.id).await?;
    send_view(ctx, view).await
}

/// Leave a group: its role and your subscription to it are removed.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn leave(
    ctx: Context<'_>,
    #[description = "The group to leave"]
    #[autocomplete = "autocomplete_group"]
    group: String,
) -> Result<(), Error> {
    let g = find_group(ctx, &group).await?;
    ctx.defer_ephemeral().await?;
    let view = leave_view(&ctx.data().app, guild_id(ctx)?, ctx.author().id.get(), g.id).await?;
    send_view(ctx, view).await
}
