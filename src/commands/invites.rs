//! `/invite`, `/invites` (M5), `/group invite-policy` (leaders let members
//! invite) and `/config invitations` (admins: expiry and daily cap).

use super::{author_is_admin, autocomplete_group, find_group, guild_id, require_admin};
use crate::error::user;
use crate::refusal;
use crate::replies::send_view;
use crate::service::invite;
use crate::types::{Context, Error};
use crate::views::group_page::View;
use crate::views::invite as view;
use serenity::all::User;

/// Invite someone to a group: they get a DM with the group card and Accept / Decline.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn invite(
    ctx: Context<'_>,
    #[description = "Who to invite"] user: User,
    #[description = "The group"]
    #[autocomplete = "autocomplete_group"]
    group: String,
) -> Result<(), Error> {
    let g = find_group(ctx, &group).await?;
    let is_admin = author_is_admin(ctx).await?;
    crate::replies::defer_command(ctx).await?;
    let text = match invite::invite(&ctx.data().app, &g, ctx.author().id.get(), is_admin, user.id.get(), user.bot).await
    {
        Ok(s) => view::sent_text(&s.invitation, s.dm_delivered),
        Err(e) => format!("Error: {}", refusal::invite(e, false)?),
    };
    send_view(ctx, View::text(text)).await
}

/// Your invitations: accept or decline those you received; follow or revoke those you sent.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn invites(ctx: Context<'_>) -> Result<(), Error> {
    let guild = guild_id(ctx)?;
    let privileged = author_is_admin(ctx).await?;
    let l = invite::listing(&ctx.data().app, guild, ctx.author().id.get(), privileged).await?;
    send_view(ctx, view::listing(&l)).await
}

/// Let members (not only leaders) invite people to a group (its leaders and admins).
#[poise::command(slash_command, guild_only, ephemeral, rename = "invite-policy")]
pub async fn invite_policy(
    ctx: Context<'_>,
    #[description = "The group"]
    #[autocomplete = "autocomplete_group"]
    group: String,
    #[description = "True: members may invite people too. False: only leaders and admins"] members_can_invite: bool,
) -> Result<(), Error> {
    let g = find_group(ctx, &group).await?;
    let is_admin = author_is_admin(ctx).await?;
    let app = &ctx.data().app;
    if let Err(e) = invite::set_members_can_invite(app, &g, ctx.author().id.get(), is_admin, members_can_invite).await {
        return Err(user(refusal::invite(e, false)?));
    }
    let text = if members_can_invite {
        format!("Done: members of **{}** can invite people to it now, as its leaders can.", g.name)
    } else {
        format!("Done: only leaders of **{}** and admins can invite people to it now.", g.name)
    };
    send_view(ctx, View::text(text)).await
}

/// Set how long invitations last and how many a member may send a day (admins).
#[poise::command(slash_command, guild_only, ephemeral, rename = "invitations")]
pub async fn config_invitations(
    ctx: Context<'_>,
    #[description = "Days before a pending invitation expires (1 to 30)"]
    #[min = 1]
    #[max = 30]
    expiry_days: Option<i64>,
    #[description = "Invitations one member may send in any 24 hours (1 to 100)"]
    #[min = 1]
    #[max = 100]
    cap_per_day: Option<i64>,
) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    let app = &ctx.data().app;
    if expiry_days.is_none() && cap_per_day.is_none() {
        let l = invite::limits(app, guild).await?;
        let (_, now) = view::config_field(&l);
        return Err(user(format!("Give `expiry_days`, `cap_per_day` or both. Now: {now}")));
    }
    let l = match invite::set_limits(app, guild, ctx.author().id.get(), expiry_days, cap_per_day).await? {
        Ok(l) => l,
        Err(e) => return Err(user(format!("{e} Nothing was changed."))),
    };
    send_view(
        ctx,
        View::text(format!(
            "Done: invitations expire after {} days, and a member may send {} in any 24 hours. Invitations already pending keep their expiry.",
            l.expiry_days, l.daily_cap
        )),
    )
    .await
}
