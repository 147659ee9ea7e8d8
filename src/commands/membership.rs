//! `/join` and `/leave` (M1, M3).

use super::{autocomplete_group, find_group, guild_id};
use crate::replies::send_view;
use crate::service::membership;
use crate::types::{Context, Error};

/// Join an open group (closed groups: send a request instead).
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn join(
    ctx: Context<'_>,
    #[description = "The group to join"]
    #[autocomplete = "autocomplete_group"]
    group: String,
) -> Result<(), Error> {
    let pressed = tokio::time::Instant::now();
    let g = find_group(ctx, &group).await?;
    crate::replies::defer_command(ctx).await?;
    let (app, guild) = (&ctx.data().app, guild_id(ctx)?);
    let answer = super::answer_of(ctx, pressed);
    let joined = membership::join(app, guild, ctx.author().id.get(), g.id, answer.as_ref()).await;
    if let Err(membership::MembershipError::NeedsGuidelines(_)) = &joined {
        crate::service::config::prompt_shown(app, guild, ctx.author().id.get(), ctx.id()).await?;
    }
    let view = crate::refusal::joined(joined, g.id, &g.name, ctx.id())?;
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
    let pressed = tokio::time::Instant::now();
    let g = find_group(ctx, &group).await?;
    crate::replies::defer_command(ctx).await?;
    let (app, guild) = (&ctx.data().app, guild_id(ctx)?);
    let answer = super::answer_of(ctx, pressed);
    let left = membership::leave(app, guild, ctx.author().id.get(), g.id, answer.as_ref()).await;
    let view = crate::refusal::left(left, &g.name)?;
    send_view(ctx, view).await
}
