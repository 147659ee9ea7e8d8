//! `/directory ...`: the persistent group directory message (G4, admins only).

use super::{guild_id, require_admin};
use crate::error::user;
use crate::replies::say;
use crate::service::directory::{self, DirectoryError};
use crate::types::{Context, Error};
use poise::serenity_prelude as serenity;

/// A group directory message that the bot keeps current (admins).
#[poise::command(
    slash_command,
    guild_only,
    default_member_permissions = "MANAGE_GUILD",
    subcommands("post", "remove"),
    subcommand_required
)]
pub async fn directory(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

fn explain(e: DirectoryError) -> Error {
    match e {
        DirectoryError::Config(c) => super::config::explain(c),
        DirectoryError::Discord(d) => user(format!(
            "Discord refused ({d}). Nothing was changed. Check that I can send messages and embed links in that channel, then try again."
        )),
        DirectoryError::NothingPosted => user("There's no directory message to remove. Post one with /directory post."),
        DirectoryError::Db(e) => Box::new(e),
    }
}

/// Post the group directory in a channel; it is kept current as groups change.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn post(
    ctx: Context<'_>,
    #[description = "A text channel where members can read and I can post"]
    #[channel_types("Text")]
    channel: serenity::PartialChannel,
) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    crate::replies::defer_command(ctx).await?;
    let posted =
        directory::post(&ctx.data().app, guild, ctx.author().id.get(), channel.id.get()).await.map_err(explain)?;
    let mut text = format!(
        "Posted the group directory in <#{}>. I'll keep it current as groups are created, joined and changed.",
        posted.message.channel_id
    );
    if let Some(old) = posted.replaced.filter(|o| o.message_id != posted.message.message_id) {
        text.push_str(&format!(" The previous one, in <#{}>, was deleted.", old.channel_id));
    }
    say(ctx, text).await
}

/// Delete the group directory message.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn remove(ctx: Context<'_>) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    crate::replies::defer_command(ctx).await?;
    let removed = directory::remove(&ctx.data().app, guild, ctx.author().id.get()).await.map_err(explain)?;
    let channel = removed.message.channel_id;
    let text = if removed.left_behind {
        format!("I no longer keep a directory message, but Discord didn't let me delete the one in <#{channel}>: delete it by hand.")
    } else {
        format!("Removed the group directory message from <#{channel}>.")
    };
    say(ctx, text).await
}
