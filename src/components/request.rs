//! Requests to join: *Send request to join* (shared with `/request-join`),
//! *Approve* / *Deny* (the group's leaders, Manage Roles or admins; checked
//! on every press, also in a leader's DMs, where a press carries a user but
//! no server or member), the deny reason form, and *Withdraw* (the requester).

use super::lead::{defer_modal, edit_modal, field, input, modal_reply};
use super::refuse;
use crate::custom_id::CustomId;
use crate::discord::{no_pings, DiscordError};
use crate::domain::request::{self as domain, Applicant};
use crate::service::request::{self, Decided, Posted, RequestError};
use crate::service::App;
use crate::types::{Data, Error};
use crate::views::group_page::{self, View};
use crate::views::request as view;
use serenity::all::{
    ComponentInteraction, Context as SerenityContext, CreateInteractionResponse, CreateInteractionResponseMessage,
    CreateModal, EditInteractionResponse, GuildId, InputTextStyle, Member, ModalInteraction, User,
};

pub const REASON: &str = "reason";

/// What Discord tells us about a requester: account age from the id's
/// snowflake, days in the server from the member's `joined_at`, roles; ages
/// as of `now` (the app's clock).
pub fn applicant(user: &User, member: Option<&Member>, now: chrono::DateTime<chrono::Utc>) -> Applicant {
    let joined = member.and_then(|m| m.joined_at).and_then(|t| chrono::DateTime::from_timestamp(t.unix_timestamp(), 0));
    Applicant {
        account_age_days: domain::days_since(domain::snowflake_time(user.id.get()), now),
        days_in_server: joined.map(|t| domain::days_since(t, now)).unwrap_or(0),
        role_ids: member.map(|m| m.roles.iter().map(|r| r.get()).collect()).unwrap_or_default(),
    }
}

/// Whether the member may decide any group's requests without leading it
/// (`auth::decides_any_request`).
pub async fn privileged(app: &App, guild: u64, member: Option<&Member>) -> Result<bool, Error> {
    Ok(crate::service::access::member_decides_any_request(app, guild, member).await?)
}

/// What asking to join shows the member (shared by `/request-join` and the button).
pub async fn request_view(
    app: &App,
    guild: u64,
    user: u64,
    group: i64,
    a: &Applicant,
    message: Option<&str>,
) -> Result<View, Error> {
    let text = match request::request(app, guild, user, group, a, message).await {
        Ok(r) => {
            let where_ = match r.posted {
                Posted::Thread | Posted::Dms(_) => "The group's leaders have it now; you'll get a DM when they decide.",
                Posted::ModChannel => {
                    "The group's leaders couldn't be reached, so the admins have it; you'll get a DM when it's decided."
                }
                Posted::Nowhere => "It's saved; the group's leaders will see it in `/requests`.",
            };
            format!(
                "Your request #{} to join **{}** was sent. {where_} Follow it (or withdraw it) with `/requests`.",
                r.request.id, r.request.group_name
            )
        }
        Err(RequestError::NeedsGuidelines(gl, g)) => return Ok(group_page::guidelines_prompt(&gl, g.id, &g.name)),
        Err(e) => format!("Error: {}", refusal(e)?),
    };
    Ok(View::text(text))
}

/// The user-facing text for a refused request action; internal errors are
/// passed on (and shown as "something went wrong").
pub fn refusal(e: RequestError) -> Result<String, Error> {
    Ok(match e {
        RequestError::NoGroup => "That group no longer exists.".into(),
        RequestError::Archived => "That group is archived.".into(),
        RequestError::Open(g) => format!("**{}** is an open group: no request needed, just `/join` it.", g.name),
        RequestError::AlreadyMember(g) => format!("You're already a member of **{}**.", g.name),
        RequestError::Banned(g) => {
            format!("You can't ask to join **{}**: its leaders have banned you from it.", g.name)
        }
        RequestError::NeedsGuidelines(..) => "Please accept the community guidelines first.".into(),
        RequestError::Cooldown(g, until) => format!(
            "Your last request to join **{}** was denied recently. You can ask again from <t:{}:f>.",
            g.name,
            until.timestamp()
        ),
        RequestError::Criteria(g, checks) => {
            let failed: Vec<String> = checks.iter().filter(|c| !c.ok).map(|c| c.label.clone()).collect();
            format!("You don't meet the criteria of **{}** yet. It asks for: {}.", g.name, failed.join("; "))
        }
        RequestError::AlreadyPending(r) => format!(
            "You already have a pending request #{} to join **{}**: {}. See `/requests`.",
            r.id,
            r.group_name,
            view::standing(&r)
        ),
        RequestError::NotFound => {
            "That request doesn't exist (its group may have been deleted), or it isn't yours.".into()
        }
        RequestError::AlreadyDecided(r) => format!("Request #{} was already {}.", r.id, view::standing(&r)),
        RequestError::NotAllowed => {
            "Only this group's leaders, and people with Manage Roles, can decide its requests.".into()
        }
        RequestError::Admit(e) => {
            let msg = crate::components::membership::refusal(&e, "the group", "change")?;
            format!("I couldn't admit the requester: {msg} The request is still pending, and the requester was told.")
        }
        RequestError::Discord(DiscordError::Unavailable(_)) => {
            "Discord is having trouble right now. Nothing was changed; please try again in a minute.".into()
        }
        RequestError::Discord(e) => return Err(format!("Discord refused: {e}").into()),
        RequestError::Db(e) => return Err(Box::new(e)),
    })
}

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
        return Ok(Ok((g, privileged(app, g, member).await?)));
    }
    let r = match request::by_id(app, id).await {
        Ok(r) => r,
        Err(e) => return Ok(Err(refusal(e)?)),
    };
    if request::leads_group_of(app, &r, user).await? {
        return Ok(Ok((r.guild_id, false)));
    }
    match request::privileged_in(app, r.guild_id, user).await {
        Ok(p) => Ok(Ok((r.guild_id, p))),
        Err(e) => Ok(Err(refusal(e)?)),
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
    i.create_response(
        &ctx.http,
        CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true)),
    )
    .await?;
    let msg = match decider(&data.app, i.guild_id, i.member.as_ref(), i.user.id.get(), id).await? {
        Err(refused) => format!("Error: {refused}"),
        Ok((guild, privileged)) => match request::approve(&data.app, guild, id, i.user.id.get(), privileged).await {
            Ok(d) => decided_text(&d),
            Err(e) => format!("Error: {}", refusal(e)?),
        },
    };
    i.edit_response(&ctx.http, EditInteractionResponse::new().content(msg).allowed_mentions(no_pings())).await?;
    Ok(())
}

/// *Deny*: ask for an optional reason in a form (deciders only, pending requests only).
pub async fn deny_button(ctx: &SerenityContext, data: &Data, i: &ComponentInteraction, id: i64) -> Result<(), Error> {
    let (guild, privileged) = match decider(&data.app, i.guild_id, i.member.as_ref(), i.user.id.get(), id).await? {
        Ok(d) => d,
        Err(refused) => return refuse(ctx, i, &refused).await,
    };
    if let Err(e) = request::decidable(&data.app, guild, id, i.user.id.get(), privileged).await {
        return refuse(ctx, i, &refusal(e)?).await;
    }
    let modal =
        CreateModal::new(CustomId::RequestDenyForm { request: id }.encode(), "Deny the request").components(vec![
            input(REASON, "Reason (optional, sent to the requester)", InputTextStyle::Paragraph, 1000, false),
        ]);
    i.create_response(&ctx.http, CreateInteractionResponse::Modal(modal)).await?;
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
    defer_modal(ctx, m).await?;
    let msg = match decider(&data.app, m.guild_id, m.member.as_ref(), m.user.id.get(), id).await? {
        Err(refused) => format!("Error: {refused}"),
        Ok((guild, privileged)) => {
            match request::deny(&data.app, guild, id, m.user.id.get(), privileged, reason.as_deref()).await {
                Ok(d) => decided_text(&d),
                Err(e) => format!("Error: {}", refusal(e)?),
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
    let msg = match request::withdraw(&data.app, guild, id, user).await {
        Ok(r) => format!("You withdrew request #{} to join **{}**.", r.id, r.group_name),
        Err(e) => return refuse(ctx, i, &refusal(e)?).await,
    };
    let privileged = privileged(&data.app, guild, i.member.as_ref()).await?;
    let v = view::listing(&request::listing(&data.app, guild, user, privileged).await?);
    let r = CreateInteractionResponseMessage::new()
        .content(msg)
        .embeds(v.embeds)
        .components(v.components)
        .allowed_mentions(no_pings());
    i.create_response(&ctx.http, CreateInteractionResponse::UpdateMessage(r)).await?;
    Ok(())
}
