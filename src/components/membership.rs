//! Group Page buttons: join, leave, subscribe, request; and the guidelines
//! prompt's *I agree* / *Cancel*.

use super::refuse;
use crate::discord::{no_pings, DiscordError};
use crate::service::membership::{self, Joined, MembershipError};
use crate::service::App;
use crate::types::{Data, Error};
use crate::views::group_page::{self, View};
use serenity::all::{
    ComponentInteraction, Context as SerenityContext, CreateInteractionResponse, CreateInteractionResponseMessage,
    EditInteractionResponse,
};

/// What a join attempt shows the member (shared by `/join` and the buttons).
pub async fn join_view(app: &App, guild: u64, user: u64, group: i64) -> Result<View, Error> {
    let name = group_name(app, guild, group).await?;
    let view = match membership::join(app, guild, user, group).await {
        Ok(Joined::Joined(g)) => {
            let channel = g.channel_id.map(|c| format!(" Its channel is <#{c}>.")).unwrap_or_default();
            View::text(format!(
                "You joined **{}**.{channel} You're subscribed to the group, so you'll hear about new topics.",
                g.name
            ))
        }
        Ok(Joined::AlreadyMember(g)) => View::text(format!("You're already a member of **{}**.", g.name)),
        Err(MembershipError::Closed) => group_page::closed_explanation(group, &name),
        Err(MembershipError::NeedsGuidelines(gl)) => group_page::guidelines_prompt(&gl, group, &name),
        Err(e) => View::text(format!("Error: {}", refusal(&e, &name, "join")?)),
    };
    Ok(view)
}

/// The user-facing text for a refused membership change; internal errors
/// are passed on (and shown as "something went wrong").
pub fn refusal(e: &MembershipError, name: &str, verb: &str) -> Result<String, Error> {
    Ok(match e {
        MembershipError::NoGroup => "That group no longer exists.".to_string(),
        MembershipError::Archived => format!("**{name}** is archived, so it can't be {verb}ed."),
        MembershipError::Closed => format!("**{name}** is a closed group: send a request to join instead."),
        MembershipError::Banned => format!("You can't {verb} **{name}**: its leaders have banned you from it."),
        MembershipError::NotMember => format!("You're not a member of **{name}**."),
        MembershipError::NotAllowed => format!("Only leaders of **{name}** and admins can do this."),
        MembershipError::NeedsGuidelines(_) => "Please accept the community guidelines first.".to_string(),
        MembershipError::UnsafeRole(_) | MembershipError::Broken | MembershipError::Discord(DiscordError::MissingPermissions) => format!(
            "I can't change the role of **{name}** right now because of how the server's roles are set up. Nothing was changed; admins can see why in /audit."
        ),
        MembershipError::Discord(DiscordError::Unavailable(_)) => {
            "Discord is having trouble right now. Nothing was changed; please try again in a minute.".to_string()
        }
        MembershipError::Discord(other) => return Err(format!("Discord refused: {other}").into()),
        MembershipError::Db(e) => return Err(format!("database: {e}").into()),
    })
}

async fn group_name(app: &App, guild: u64, group: i64) -> Result<String, Error> {
    let mut conn = app.pool.acquire().await?;
    Ok(crate::domain::group::get(&mut conn, guild, group).await?.map(|g| g.name).unwrap_or_default())
}

fn guild_of(i: &ComponentInteraction) -> Option<u64> {
    i.guild_id.map(|g| g.get())
}

/// Acknowledge at once with an ephemeral "thinking" message.
pub(crate) async fn defer_ephemeral(ctx: &SerenityContext, i: &ComponentInteraction) -> Result<(), Error> {
    i.create_response(
        &ctx.http,
        CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true)),
    )
    .await?;
    Ok(())
}

/// Fill in the deferred answer (or the message being updated).
pub(crate) async fn edit(ctx: &SerenityContext, i: &ComponentInteraction, view: View) -> Result<(), Error> {
    i.edit_response(
        &ctx.http,
        EditInteractionResponse::new()
            .content(view.content)
            .embeds(view.embeds)
            .components(view.components)
            .allowed_mentions(no_pings()),
    )
    .await?;
    Ok(())
}

pub async fn join_button(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    group: i64,
) -> Result<(), Error> {
    let Some(guild) = guild_of(i) else { return refuse(ctx, i, "This only works in a server.").await };
    defer_ephemeral(ctx, i).await?;
    let view = join_view(&data.app, guild, i.user.id.get(), group).await?;
    edit(ctx, i, view).await
}

pub async fn leave_button(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    group: i64,
) -> Result<(), Error> {
    let Some(guild) = guild_of(i) else { return refuse(ctx, i, "This only works in a server.").await };
    defer_ephemeral(ctx, i).await?;
    let view = leave_view(&data.app, guild, i.user.id.get(), group).await?;
    edit(ctx, i, view).await
}

/// What leaving shows the member (shared by `/leave` and the button).
pub async fn leave_view(app: &App, guild: u64, user: u64, group: i64) -> Result<View, Error> {
    let name = group_name(app, guild, group).await?;
    Ok(match membership::leave(app, guild, user, group).await {
        Ok(g) => View::text(format!("You left **{}**. Your subscription to the group was removed too.", g.name)),
        Err(e) => View::text(format!("Error: {}", refusal(&e, &name, "leave")?)),
    })
}

/// Toggle the group subscription and show the Group Page again, updated.
pub async fn subscribe_button(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    group: i64,
) -> Result<(), Error> {
    let Some(guild) = guild_of(i) else { return refuse(ctx, i, "This only works in a server.").await };
    let user = i.user.id.get();
    let facts = match membership::page_facts(&data.app, guild, group, user).await {
        Ok(f) => f,
        Err(MembershipError::NoGroup) => return refuse(ctx, i, "That group no longer exists.").await,
        Err(e) => return Err(e.into()),
    };
    if facts.group.archived {
        return refuse(ctx, i, "That group is archived.").await;
    }
    // A closed group's channel is hidden from non-members: they can't follow it.
    if facts.group.visibility == crate::domain::group::Visibility::Closed
        && !facts.viewer_is_member
        && !facts.viewer_subscribed
    {
        return refuse(ctx, i, &format!("**{}** is a closed group: only its members can follow it.", facts.group.name))
            .await;
    }
    let now = membership::toggle_group_subscription(&data.app, &facts.group, user).await?;
    let facts = membership::page_facts(&data.app, guild, group, user).await?;
    let mut view = group_page::page(&facts);
    view.content = if now {
        format!("You're now subscribed to **{}**.", facts.group.name)
    } else {
        format!("You're no longer subscribed to **{}**.", facts.group.name)
    };
    let r = CreateInteractionResponseMessage::new()
        .content(view.content)
        .embeds(view.embeds)
        .components(view.components)
        .allowed_mentions(no_pings());
    i.create_response(&ctx.http, CreateInteractionResponse::UpdateMessage(r)).await?;
    Ok(())
}

/// *Send request to join* on a Group Page or a closed-group explanation.
pub async fn request_button(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    group: i64,
) -> Result<(), Error> {
    let Some(guild) = guild_of(i) else { return refuse(ctx, i, "This only works in a server.").await };
    defer_ephemeral(ctx, i).await?;
    let a = super::request::applicant(&i.user, i.member.as_ref(), data.app.clock.now());
    let view = super::request::request_view(&data.app, guild, i.user.id.get(), group, &a, None).await?;
    edit(ctx, i, view).await
}

/// *I agree*: record acceptance of the version shown, then join; the prompt
/// is replaced by the outcome. If the guidelines changed meanwhile, the new
/// version is shown instead.
pub async fn agree_button(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    group: i64,
    version: i32,
) -> Result<(), Error> {
    let Some(guild) = guild_of(i) else { return refuse(ctx, i, "This only works in a server.").await };
    let user = i.user.id.get();
    i.create_response(&ctx.http, CreateInteractionResponse::Acknowledge).await?;
    let view = if membership::accept_guidelines(&data.app, guild, user, version).await? {
        join_view(&data.app, guild, user, group).await?
    } else {
        match membership::pending_guidelines(&data.app, guild, user).await? {
            Some(gl) => {
                let name = group_name(&data.app, guild, group).await?;
                let mut v = group_page::guidelines_prompt(&gl, group, &name);
                v.content = format!("The guidelines changed since you opened them. {}", v.content);
                v
            }
            None => join_view(&data.app, guild, user, group).await?,
        }
    };
    edit(ctx, i, view).await
}

pub async fn disagree_button(ctx: &SerenityContext, i: &ComponentInteraction) -> Result<(), Error> {
    let r = CreateInteractionResponseMessage::new()
        .content("No problem: you haven't joined. You can come back to it any time.")
        .embeds(vec![])
        .components(vec![])
        .allowed_mentions(no_pings());
    i.create_response(&ctx.http, CreateInteractionResponse::UpdateMessage(r)).await?;
    Ok(())
}
