//! `/request-join`, `/requests` (R1, R4) and `/group criteria` (admins set a
//! group's automatic criteria).

use super::{autocomplete_group, find_group, guild_id, require_admin};
use crate::domain::request::CriteriaChange;
use crate::error::{user, UserErrorExt};
use crate::replies::send_view;
use crate::service::criteria::{self, CriteriaError};
use crate::service::request;
use crate::types::{Context, Error};
use crate::views::request as view;

/// Ask to join a closed group: its leaders decide.
#[poise::command(slash_command, guild_only, ephemeral, rename = "request-join")]
pub async fn request_join(
    ctx: Context<'_>,
    #[description = "The closed group to ask to join"]
    #[autocomplete = "autocomplete_group"]
    group: String,
    #[description = "A short message to the group's leaders (up to 1000 characters)"]
    #[max_length = 1000]
    message: Option<String>,
) -> Result<(), Error> {
    let g = find_group(ctx, &group).await?;
    let message = message
        .as_deref()
        .map(|m| crate::domain::text::free_text(m, "message", 1000))
        .transpose()
        .map_err(|e| user(format!("{e} Nothing was sent.")))?
        .filter(|m| !m.is_empty());
    let member = ctx.author_member().await.user_error("This command only works in a server.")?;
    let a = request::applicant(ctx.author(), Some(&member), ctx.data().app.clock.now());
    crate::replies::defer_command(ctx).await?;
    let app = &ctx.data().app;
    let r = request::request(app, guild_id(ctx)?, ctx.author().id.get(), g.id, &a, message.as_deref()).await;
    if let Err(request::RequestError::NeedsGuidelines(..)) = &r {
        crate::service::config::prompt_shown(app, guild_id(ctx)?, ctx.author().id.get(), ctx.id()).await?;
    }
    send_view(ctx, crate::refusal::requested(r, ctx.id())?).await
}

/// Your requests to join (withdraw a pending one), and the requests waiting for you as a leader.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn requests(ctx: Context<'_>) -> Result<(), Error> {
    let guild = guild_id(ctx)?;
    let member = ctx.author_member().await.user_error("This command only works in a server.")?;
    let privileged = crate::service::access::member_decides_any_request(&ctx.data().app, guild, Some(&member)).await?;
    let l = request::listing(&ctx.data().app, guild, ctx.author().id.get(), privileged).await?;
    send_view(ctx, view::listing(&l)).await
}

/// Set the automatic criteria of a group's requests to join (admins).
#[poise::command(slash_command, guild_only, ephemeral, rename = "criteria")]
#[allow(clippy::too_many_arguments)]
pub async fn criteria(
    ctx: Context<'_>,
    #[description = "The group"]
    #[autocomplete = "autocomplete_group"]
    group: String,
    #[description = "Minimum days in the server (0 for none)"]
    #[min = 0]
    #[max = 3650]
    min_days_in_server: Option<i32>,
    #[description = "Minimum account age in days (0 for none)"]
    #[min = 0]
    #[max = 3650]
    min_account_age_days: Option<i32>,
    #[description = "A role requesters must hold (adds to the list)"] required_role: Option<serenity::all::Role>,
    #[description = "A role requesters must not hold (adds to the list)"] blocked_role: Option<serenity::all::Role>,
    #[description = "Clear every criterion first"] clear: Option<bool>,
) -> Result<(), Error> {
    require_admin(ctx).await?;
    let g = find_group(ctx, &group).await?;
    let change = CriteriaChange {
        clear: clear.unwrap_or(false),
        min_days_in_server,
        min_account_age_days,
        required_role: required_role.map(|r| r.id.get()),
        blocked_role: blocked_role.map(|r| r.id.get()),
    };
    let c = match criteria::change(&ctx.data().app, &g, ctx.author().id.get(), &change).await {
        Ok(c) => c,
        Err(CriteriaError::Refused(r)) => return Err(user(format!("{r} Nothing was changed."))),
        Err(CriteriaError::Db(e)) => return Err(e.into()),
    };
    send_view(
        ctx,
        crate::views::group_page::View::text(format!(
            "Requests to join **{}** now need: {}.",
            g.name,
            view::criteria_summary(&c)
        )),
    )
    .await
}
