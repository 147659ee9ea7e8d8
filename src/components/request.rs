//! Requests to join: *Send request to join* (shared with `/request-join`),
//! *Approve* / *Deny* (the group's leaders, Manage Roles or admins; checked
//! on every press, also in a leader's DMs, where a press carries a user but
//! no server or member), the deny reason form, and *Withdraw* (the requester).

use super::lead::field;
use crate::custom_id::CustomId;
use crate::domain::request as domain;
use crate::refusal;
use crate::replies::{defer, edit_modal, edit_text, modal_reply, refuse, update_in_time, Pressed};
use crate::service::access;
use crate::service::request::{self, Decided};
use crate::service::App;
use crate::types::{Data, Error};
use crate::views::lead::input;
use crate::views::request as view;
use serenity::all::{
    ComponentInteraction, Context as SerenityContext, CreateInteractionResponse, CreateModal, GuildId, InputTextStyle,
    Member, ModalInteraction,
};

pub const REASON: &str = "reason";

/// Who decides, and in which server. In a server: the interaction's server
/// and member. In a DM (a leader's card): the request's own server, found by
/// the custom id's row id; the presser is one of the group's leaders (the
/// decision checks that again under the row lock), or holds Manage Roles or
/// is an admin there as Discord has it now, or may not decide. `Err`: the
/// refusal to show.
async fn decider(
    app: &App,
    guild: Option<GuildId>,
    member: Option<&Member>,
    user: u64,
    id: i64,
) -> Result<Result<(u64, bool), String>, Error> {
    if let Some(g) = guild.map(|g| g.get()) {
        return Ok(Ok((g, access::member_decides_any_request(app, g, member).await?)));
    }
    let r = match request::by_id(app, id).await {
        Ok(r) => r,
        Err(e) => return Ok(Err(refusal::request(e)?)),
    };
    if request::leads_group_of(app, &r, user).await? {
        return Ok(Ok((r.guild_id, false)));
    }
    match request::privileged_in(app, r.guild_id, user).await {
        Ok(p) => Ok(Ok((r.guild_id, p))),
        Err(e) => Ok(Err(refusal::request(e)?)),
    }
}

fn decided_text(d: &Decided) -> String {
    let r = &d.request;
    let mut s = match r.status {
        domain::Status::Approved => format!("Approved: <@{}> is now a member of **{}**.", r.user_id, r.group_name),
        _ => format!("Denied request #{}; the requester was told.", r.id),
    };
    if !d.dm_delivered {
        s.push_str(" I couldn't DM the requester (their DMs are closed); they can see the outcome in `/requests`.");
    }
    s
}

pub async fn approve_button(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    id: i64,
) -> Result<(), Error> {
    defer(ctx, i).await?;
    let msg = match decider(&data.app, i.guild_id, i.member.as_ref(), i.user.id.get(), id).await? {
        Err(refused) => format!("Error: {refused}"),
        Ok((guild, privileged)) => match request::approve(&data.app, guild, id, i.user.id.get(), privileged).await {
            Ok(d) => decided_text(&d),
            Err(e) => format!("Error: {}", refusal::request(e)?),
        },
    };
    edit_text(ctx, i, msg).await
}

/// *Deny*: ask for an optional reason in a form (deciders only, pending requests only).
pub async fn deny_button(ctx: &SerenityContext, data: &Data, i: &ComponentInteraction, id: i64) -> Result<(), Error> {
    let (guild, privileged) = match decider(&data.app, i.guild_id, i.member.as_ref(), i.user.id.get(), id).await? {
        Ok(d) => d,
        Err(refused) => return refuse(ctx, i, &refused).await,
    };
    if let Err(e) = request::decidable(&data.app, guild, id, i.user.id.get(), privileged).await {
        return refuse(ctx, i, &refusal::request(e)?).await;
    }
    let modal =
        CreateModal::new(CustomId::RequestDenyForm { request: id }.encode(), "Deny the request").components(vec![
            input(REASON, "Reason (optional, sent to the requester)", InputTextStyle::Paragraph, 1000, false),
        ]);
    crate::replies::respond(ctx, i, CreateInteractionResponse::Modal(modal)).await?;
    Ok(())
}

/// The deny reason form, submitted.
pub async fn deny_submitted(ctx: &SerenityContext, data: &Data, m: &ModalInteraction, id: i64) -> Result<(), Error> {
    let raw = field(m, REASON);
    let reason = if raw.trim().is_empty() {
        None
    } else {
        match crate::domain::lead::parse_reason(&raw) {
            Ok(r) => Some(r),
            Err(e) => return modal_reply(ctx, m, &format!("Error: {e} The request is still pending.")).await,
        }
    };
    crate::replies::defer_modal(ctx, m).await?;
    let msg = match decider(&data.app, m.guild_id, m.member.as_ref(), m.user.id.get(), id).await? {
        Err(refused) => format!("Error: {refused}"),
        Ok((guild, privileged)) => {
            match request::deny(&data.app, guild, id, m.user.id.get(), privileged, reason.as_deref()).await {
                Ok(d) => decided_text(&d),
                Err(e) => format!("Error: {}", refusal::request(e)?),
            }
        }
    };
    edit_modal(ctx, m, msg).await
}

/// *Withdraw* in `/requests` (the requester only).
pub async fn withdraw_button(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    id: i64,
) -> Result<(), Error> {
    let Some(guild) = i.guild_id.map(|g| g.get()) else { return refuse(ctx, i, "This only works in a server.").await };
    let user = i.user.id.get();
    // The cards are updated before the answer: within Discord's 3 s whatever they take.
    let work = async {
        let msg = match request::withdraw(&data.app, guild, id, user).await {
            Ok(r) => format!("You withdrew request #{} to join **{}**.", r.id, r.group_name),
            Err(e) => return Ok(Pressed::Refuse(refusal::request(e)?)),
        };
        let privileged = access::member_decides_any_request(&data.app, guild, i.member.as_ref()).await?;
        let v = view::listing(&request::listing(&data.app, guild, user, privileged).await?);
        Ok(Pressed::Update(crate::views::group_page::View { content: msg, ..v }))
    };
    update_in_time(ctx, i, work).await
}
