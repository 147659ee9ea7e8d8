//! Invitations: *Accept* / *Decline* (the invitee only, from the DM card,
//! where a press carries a user but no server, or from `/invites`), the
//! guidelines' *I agree* before accepting, and *Revoke* in `/invites` (the
//! inviter, the group's leaders, admins). Each press re-reads the invitation.

use crate::custom_id::CustomId;
use crate::refusal;
use crate::replies::{defer, edit, refuse, Pressed};
use crate::service::invite::{self, Decided, InviteError};
use crate::service::{access, membership, App};
use crate::types::{Data, Error};
use crate::views::group_page::{self, View};
use crate::views::invite as view;
use serenity::all::{ComponentInteraction, Context as SerenityContext, CreateInteractionResponse};

fn accepted_text(d: &Decided) -> String {
    let i = &d.invitation;
    format!(
        "You accepted <@{}>'s invitation: you're a member of **{}** now, and subscribed to it, so you'll hear about its new topics.",
        i.inviter_id, i.group_name
    )
}

/// What accepting shows the invitee: the outcome, or the guidelines first.
async fn accept_view(app: &App, id: i64, user: u64) -> Result<View, Error> {
    Ok(match invite::accept(app, id, user).await {
        Ok(d) => View::text(accepted_text(&d)),
        Err(InviteError::NeedsGuidelines(gl, inv)) => group_page::guidelines_prompt_then(
            &gl,
            CustomId::InviteAgree { invitation: inv.id, version: gl.version },
            &inv.group_name,
        ),
        Err(e) => View::text(format!("Error: {}", refusal::invite(e, true)?)),
    })
}

/// *Accept* (DM card or `/invites`).
pub async fn accept_button(ctx: &SerenityContext, data: &Data, i: &ComponentInteraction, id: i64) -> Result<(), Error> {
    defer(ctx, i).await?;
    let view = accept_view(&data.app, id, i.user.id.get()).await?;
    edit(ctx, i, view).await
}

/// *I agree* on the guidelines shown before accepting: record acceptance of
/// that version, then accept; if the guidelines changed meanwhile, the new
/// version is shown instead.
pub async fn agree_button(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    id: i64,
    version: i32,
) -> Result<(), Error> {
    let user = i.user.id.get();
    let inv = match invite::own(&data.app, id, user).await {
        Ok(inv) => inv,
        Err(e) => return refuse(ctx, i, &refusal::invite(e, true)?).await,
    };
    crate::replies::respond(ctx, i, CreateInteractionResponse::Acknowledge).await?;
    let view = if membership::accept_guidelines(&data.app, inv.guild_id, user, version).await? {
        accept_view(&data.app, id, user).await?
    } else {
        match membership::pending_guidelines(&data.app, inv.guild_id, user).await? {
            Some(gl) => {
                let mut v = group_page::guidelines_prompt_then(
                    &gl,
                    CustomId::InviteAgree { invitation: id, version: gl.version },
                    &inv.group_name,
                );
                v.content = format!("The guidelines changed since you opened them. {}", v.content);
                v
            }
            None => accept_view(&data.app, id, user).await?,
        }
    };
    edit(ctx, i, view).await
}

/// *Decline* (DM card or `/invites`).
pub async fn decline_button(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    id: i64,
) -> Result<(), Error> {
    defer(ctx, i).await?;
    let text = match invite::decline(&data.app, id, i.user.id.get()).await {
        Ok(d) => format!(
            "You declined <@{}>'s invitation to join **{}**; they were told.",
            d.invitation.inviter_id, d.invitation.group_name
        ),
        Err(e) => format!("Error: {}", refusal::invite(e, true)?),
    };
    edit(ctx, i, View::text(text)).await
}

/// *Revoke #n* in `/invites`: the listing is shown again, updated.
pub async fn revoke_button(ctx: &SerenityContext, data: &Data, i: &ComponentInteraction, id: i64) -> Result<(), Error> {
    let Some(guild) = i.guild_id.map(|g| g.get()) else { return refuse(ctx, i, "This only works in a server.").await };
    let user = i.user.id.get();
    let privileged = access::member_is_admin(&data.app, guild, i.member.as_ref()).await?;
    // Revoking edits the invitee's card and DMs the inviter: answered
    // within Discord's 3 s whatever that takes (N1).
    let work = async {
        let msg = match invite::revoke(&data.app, guild, id, user, privileged).await {
            Ok(d) => format!(
                "You revoked invitation #{} for <@{}> to join **{}**.",
                d.invitation.id, d.invitation.invitee_id, d.invitation.group_name
            ),
            Err(e) => return Ok(Pressed::Refuse(refusal::invite(e, false)?)),
        };
        let v = view::listing(&invite::listing(&data.app, guild, user, privileged).await?);
        Ok(Pressed::Update(View { content: msg, ..v }))
    };
    crate::replies::update_in_time(ctx, i, work).await
}
