//! `/lead ...`: applying to lead a group (L1), following one's applications
//! (L3) and, for admins, the applications waiting for a decision (L2, L4).

use super::group::BucketChoice;
use super::{autocomplete_group, find_group, guild_id, require_admin};
use crate::error::user;
use crate::refusal;
use crate::replies::send_view;
use crate::service::lead;
use crate::types::{Context, Error};
use crate::views::lead::{self as view, apply_form, propose_form};

/// Lead a group: apply, follow your applications, review them (admins).
#[poise::command(slash_command, guild_only, subcommands("apply", "status", "pending"), subcommand_required)]
pub async fn lead(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Apply to lead a group, or propose a new one (opens a form).
#[poise::command(slash_command, guild_only)]
pub async fn apply(
    ctx: Context<'_>,
    #[description = "The group you want to lead (leave empty to propose a new group)"]
    #[autocomplete = "autocomplete_group"]
    group: Option<String>,
    #[description = "Proposing a new group: which bucket it belongs to"] bucket: Option<BucketChoice>,
) -> Result<(), Error> {
    let guild = guild_id(ctx)?;
    let modal = match (group, bucket) {
        (Some(_), Some(_)) => {
            return Err(user(
                "Choose either `group` (to lead an existing group) or `bucket` (to propose a new one), not both.",
            ))
        }
        (Some(name), None) => {
            let g = find_group(ctx, &name).await?;
            match lead::check_can_apply(&ctx.data().app, guild, ctx.author().id.get(), g.id).await {
                Ok(g) => apply_form(g.id, &g.name, &[]),
                Err(e) => return Err(user(refusal::lead(e)?)),
            }
        }
        (None, Some(b)) => propose_form(b.into(), &[]),
        (None, None) => {
            return Err(user(
                "To lead an existing group, pick it in `group`. To propose a new group, pick its `bucket` (Identity, Industry, Interest or Impact).",
            ))
        }
    };
    crate::replies::open_modal(ctx, modal).await?;
    Ok(())
}

/// Your applications to lead a group and where they stand; withdraw open ones.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn status(ctx: Context<'_>) -> Result<(), Error> {
    let list = lead::status(&ctx.data().app, guild_id(ctx)?, ctx.author().id.get()).await?;
    send_view(ctx, view::status(&list)).await
}

/// Open lead applications and groups without a leader, with buttons (admins).
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn pending(ctx: Context<'_>) -> Result<(), Error> {
    require_admin(ctx).await?;
    crate::replies::defer_command(ctx).await?;
    let p = lead::pending(&ctx.data().app, guild_id(ctx)?).await?;
    send_view(ctx, view::pending(&p)).await
}
