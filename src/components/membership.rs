//! Group Page buttons: join, leave, subscribe, request; and the guidelines
//! prompt's *I agree* / *Cancel*.

use crate::discord::no_pings;
use crate::refusal;
use crate::replies::{defer, edit, refuse, update_in_time, Pressed};
use crate::service::applier::Answer;
use crate::service::membership::{self, Joined, Left};
use crate::service::App;
use crate::service::{config, subscriptions};
use crate::types::{Data, Error};
use crate::views::group_page::{self, View};
use serenity::all::{
    ComponentInteraction, Context as SerenityContext, CreateInteractionResponse, CreateInteractionResponseMessage,
};
use tokio::time::Instant;

/// A join attempt and what it shows the member (the *Join group* button
/// and *I agree*).
async fn join_view(
    app: &App,
    i: &ComponentInteraction,
    guild: u64,
    group: i64,
    pressed: Instant,
) -> Result<View, Error> {
    let answer = Answer::for_interaction(&i.token, i.id.get(), pressed);
    let joined = membership::join(app, guild, i.user.id.get(), group, Some(&answer)).await;
    let name = match &joined {
        Ok(Joined::Joined(g) | Joined::AlreadyMember(g) | Joined::Applying(g, _)) => g.name.clone(),
        Err(_) => membership::group_name(app, guild, group).await?,
    };
    if let Err(membership::MembershipError::NeedsGuidelines(_)) = &joined {
        config::prompt_shown(app, guild, i.user.id.get(), i.id.get()).await?;
    }
    crate::refusal::joined(joined, group, &name, i.id.get())
}

fn guild_of(i: &ComponentInteraction) -> Option<u64> {
    i.guild_id.map(|g| g.get())
}

/// *Join group* on a Group Page: the page itself is updated (a deferred
/// update, then the edit), so it shows the new state (*Leave group*, the
/// member count) under what the join did. A guidelines prompt or a closed
/// group's explanation takes the page's place.
pub async fn join_button(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    group: i64,
) -> Result<(), Error> {
    let pressed = Instant::now();
    let Some(guild) = guild_of(i) else { return refuse(ctx, i, "This only works in a server.").await };
    crate::replies::respond(ctx, i, CreateInteractionResponse::Acknowledge).await?;
    let view = join_view(&data.app, i, guild, group, pressed).await?;
    let view = on_page(&data.app, guild, group, i.user.id.get(), view).await?;
    edit(ctx, i, view).await
}

/// *Leave group* on a Group Page: the page is updated as on a join.
pub async fn leave_button(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    group: i64,
) -> Result<(), Error> {
    let pressed = Instant::now();
    let Some(guild) = guild_of(i) else { return refuse(ctx, i, "This only works in a server.").await };
    crate::replies::respond(ctx, i, CreateInteractionResponse::Acknowledge).await?;
    let answer = Answer::for_interaction(&i.token, i.id.get(), pressed);
    let left = membership::leave(&data.app, guild, i.user.id.get(), group, Some(&answer)).await;
    let name = match &left {
        Ok(Left::Left(g) | Left::Applying(g, _)) => g.name.clone(),
        Err(_) => membership::group_name(&data.app, guild, group).await?,
    };
    let view = crate::refusal::left(left, &name)?;
    let view = on_page(&data.app, guild, group, i.user.id.get(), view).await?;
    edit(ctx, i, view).await
}

/// A text outcome shown above the Group Page as it is now; a view with its
/// own buttons (the guidelines, a closed group's explanation) as it is; the
/// text alone when the group is gone.
async fn on_page(app: &App, guild: u64, group: i64, user: u64, outcome: View) -> Result<View, Error> {
    if !outcome.components.is_empty() || !outcome.embeds.is_empty() {
        return Ok(outcome);
    }
    match membership::page_facts(app, guild, group, user).await {
        Ok(facts) => {
            let mut page = group_page::page(&facts);
            page.content = outcome.content;
            Ok(page)
        }
        Err(_) => Ok(outcome),
    }
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
    // The page is answered in one callback unless the toggle is slow
    // (a loaded bot or Discord), then deferred: never too late.
    let work = async {
        // Who may follow the group is the service's rule (S2).
        let (facts, now) = match subscriptions::toggle_group_page(&data.app, guild, user, group).await {
            Ok(t) => t,
            Err(e) => return Ok(Pressed::Refuse(refusal::subscribe(e)?)),
        };
        let mut view = group_page::page(&facts);
        view.content = if now {
            format!("You're now subscribed to **{}**.", facts.group.name)
        } else {
            format!("You're no longer subscribed to **{}**.", facts.group.name)
        };
        Ok(Pressed::Update(view))
    };
    update_in_time(ctx, i, work).await
}

/// *Send request to join* on a Group Page or a closed-group explanation.
pub async fn request_button(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    group: i64,
) -> Result<(), Error> {
    let Some(guild) = guild_of(i) else { return refuse(ctx, i, "This only works in a server.").await };
    defer(ctx, i).await?;
    let a = crate::service::request::applicant(&i.user, i.member.as_ref(), data.app.clock.now());
    let r = crate::service::request::request(&data.app, guild, i.user.id.get(), group, &a, None).await;
    if let Err(crate::service::request::RequestError::NeedsGuidelines(..)) = &r {
        config::prompt_shown(&data.app, guild, i.user.id.get(), i.id.get()).await?;
    }
    let view = crate::refusal::requested(r, i.id.get())?;
    edit(ctx, i, view).await
}

/// *I agree*: record acceptance of the version shown, then join; the prompt
/// is replaced by the outcome. If the guidelines changed meanwhile, the new
/// version is shown instead. A prompt older than the newest shown to the
/// member does nothing but say so (its buttons go with it).
pub async fn agree_button(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    group: i64,
    version: i32,
    prompt: u64,
) -> Result<(), Error> {
    let Some(guild) = guild_of(i) else { return refuse(ctx, i, "This only works in a server.").await };
    let pressed = Instant::now();
    let user = i.user.id.get();
    crate::replies::respond(ctx, i, CreateInteractionResponse::Acknowledge).await?;
    let view = if !config::is_newest_prompt(&data.app, guild, user, prompt).await? {
        View::text(group_page::OUTDATED_PROMPT)
    } else if membership::accept_guidelines(&data.app, guild, user, version).await? {
        join_view(&data.app, i, guild, group, pressed).await?
    } else {
        let pending = membership::pending_guidelines(&data.app, guild, user).await?;
        let name = membership::group_name_if_any(&data.app, guild, group).await?;
        match (pending, name) {
            (Some(gl), Some(name)) => {
                config::prompt_shown(&data.app, guild, user, i.id.get()).await?;
                let mut v = group_page::guidelines_prompt(&gl, group, &name, i.id.get());
                v.content = format!("The guidelines changed since you opened them. {}", v.content);
                v
            }
            // No guidelines left to accept, or no group left to join (a
            // stale prompt): the join says which.
            _ => join_view(&data.app, i, guild, group, pressed).await?,
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
    crate::replies::respond(ctx, i, CreateInteractionResponse::UpdateMessage(r)).await?;
    Ok(())
}
