//! Slash commands, one file per family. Commands are thin: parse, call one
//! use case, render.

pub mod group;
pub mod group_manage;
pub mod groups;

use crate::discord::no_pings;
use crate::error::{user, UserErrorExt};
use crate::types::{Context, Data, Error};
use poise::CreateReply;

/// Every command the bot registers.
pub fn all() -> Vec<poise::Command<Data, Error>> {
    vec![group::group(), groups::groups()]
}

/// An ephemeral "Error: ..." reply that pings nobody.
pub async fn reply_error(ctx: Context<'_>, msg: &str) {
    let reply = CreateReply::default().content(format!("Error: {msg}")).ephemeral(true).allowed_mentions(no_pings());
    if let Err(e) = ctx.send(reply).await {
        tracing::warn!(error = %e, "could not send an error reply");
    }
}

/// The guild a command runs in.
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

/// The group a command names, or a user error that says so.
pub async fn find_group(ctx: Context<'_>, name: &str) -> Result<crate::domain::group::Group, Error> {
    let guild = guild_id(ctx)?;
    let mut conn = ctx.data().app.pool.acquire().await?;
    crate::domain::group::find_by_name(&mut conn, guild, name)
        .await?
        .user_error("There's no group with that name. Pick one from the list, or see /groups.")
}

/// Admins: Manage Server (or Administrator), or the configured admin role.
/// Checked on the server side whatever Discord's default permissions say.
pub async fn require_admin(ctx: Context<'_>) -> Result<(), Error> {
    let member = ctx.author_member().await.user_error("This command only works in a server.")?;
    let guild = guild_id(ctx)?;
    if member_is_admin(&ctx.data().app, guild, &member).await? {
        return Ok(());
    }
    Err(user("Only admins can do this: you need the Manage Server permission or the server's Guildhall admin role."))
}

/// Whether `member` (as an interaction carries it, with its permissions)
/// counts as an admin of `guild_id`. For commands and components alike.
pub async fn member_is_admin(
    app: &crate::service::App,
    guild_id: u64,
    member: &serenity::all::Member,
) -> Result<bool, sqlx::Error> {
    let perms = member.permissions.unwrap_or_default();
    if perms.administrator() || perms.manage_guild() {
        return Ok(true);
    }
    let mut conn = app.pool.acquire().await?;
    Ok(match crate::domain::settings::admin_role(&mut conn, guild_id).await? {
        Some(role) => member.roles.iter().any(|r| r.get() == role),
        None => false,
    })
}
