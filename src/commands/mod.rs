//! Slash commands, one file per family. Commands are thin: parse, call one
//! use case, render.

pub mod audit;
pub mod config;
pub mod directory;
pub mod group;
pub mod group_manage;
pub mod groups;
pub mod health;
pub mod invites;
pub mod lead;
pub mod membership;
pub mod notifications;
pub mod reconcile;
pub mod requests;
pub mod stats;
pub mod subscriptions;

use crate::error::{user, UserErrorExt};
use crate::types::{Context, Data, Error};

/// Every command the bot registers.
pub fn all() -> Vec<poise::Command<Data, Error>> {
    vec![
        group::group(),
        groups::groups(),
        membership::join(),
        membership::leave(),
        config::config(),
        audit::audit(),
        health::health(),
        directory::directory(),
        lead::lead(),
        requests::request_join(),
        requests::requests(),
        subscriptions::subscribe(),
        subscriptions::subscribe_post(),
        subscriptions::subscriptions(),
        invites::invite(),
        invites::invites(),
        notifications::notifications(),
        reconcile::reconcile(),
        stats::stats(),
        stats::export(),
    ]
}

/// The guild a command runs in.
/// The answer a slash command owes (N6): its token, for the applier to
/// edit the answer with when a role change lands after the command's
/// moment of waiting (from `pressed`).
pub fn answer_of(ctx: Context<'_>, pressed: tokio::time::Instant) -> Option<crate::service::applier::Answer> {
    match ctx {
        poise::Context::Application(a) => Some(crate::service::applier::Answer::for_interaction(
            &a.interaction.token,
            a.interaction.id.get(),
            pressed,
        )),
        poise::Context::Prefix(_) => None,
    }
}

pub fn guild_id(ctx: Context<'_>) -> Result<u64, Error> {
    ctx.guild_id().map(|g| g.get()).user_error("This command only works in a server.")
}

/// Autocomplete of group names (G5), for every command that takes a group
/// (poise 0.7 wants the response itself from an autocomplete callback).
pub async fn autocomplete_group(ctx: Context<'_>, typed: &str) -> serenity::all::CreateAutocompleteResponse {
    let choices = group_names(ctx, typed).await.into_iter().map(serenity::all::AutocompleteChoice::from).collect();
    serenity::all::CreateAutocompleteResponse::new().set_choices(choices)
}

/// Names of active groups containing `typed`, at most 25 (Discord's limit).
async fn group_names(ctx: Context<'_>, typed: &str) -> Vec<String> {
    let Some(guild) = ctx.guild_id() else { return vec![] };
    let Ok(mut conn) = ctx.data().app.pool.acquire().await else { return vec![] };
    crate::domain::group::search_names(&mut conn, guild.get(), typed, 25).await.unwrap_or_default()
}

/// Archived groups whose name contains what was typed (for unarchive).
pub async fn autocomplete_archived_group(ctx: Context<'_>, typed: &str) -> serenity::all::CreateAutocompleteResponse {
    let mut names = vec![];
    if let (Some(guild), Ok(mut conn)) = (ctx.guild_id(), ctx.data().app.pool.acquire().await) {
        names =
            crate::domain::group::search_archived_names(&mut conn, guild.get(), typed, 25).await.unwrap_or_default();
    }
    serenity::all::CreateAutocompleteResponse::new()
        .set_choices(names.into_iter().map(serenity::all::AutocompleteChoice::from).collect())
}

/// The group a command names, or a user error that says so.
pub async fn find_group(ctx: Context<'_>, name: &str) -> Result<crate::domain::group::Group, Error> {
    let guild = guild_id(ctx)?;
    let mut conn = ctx.data().app.pool.acquire().await?;
    crate::domain::group::find_by_name(&mut conn, guild, name)
        .await?
        .user_error("There's no group with that name. Pick one from the list, or see /groups.")
}

/// Admins only, checked on the server side whatever Discord's default
/// permissions say.
pub async fn require_admin(ctx: Context<'_>) -> Result<(), Error> {
    if author_is_admin(ctx).await? {
        Ok(())
    } else {
        Err(user(crate::auth::NOT_ADMIN))
    }
}

/// Whether the author is an admin: the facts as the interaction reports
/// them, the rule in `auth` (through `service::access`).
pub async fn author_is_admin(ctx: Context<'_>) -> Result<bool, Error> {
    let member = ctx.author_member().await.user_error("This command only works in a server.")?;
    Ok(crate::service::access::member_is_admin(&ctx.data().app, guild_id(ctx)?, Some(&member)).await?)
}
