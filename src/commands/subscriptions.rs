//! `/subscribe`, the *Subscribe to post* message command and
//! `/subscriptions` (S2, S4).

use super::{autocomplete_group, find_group, guild_id};
use crate::domain::subscription::Kind;
use crate::error::user;
use crate::refusal;
use crate::replies::{say, send_view};
use crate::service::subscriptions;
use crate::types::{Context, Error};
use crate::views::subscriptions as view;
use serenity::all::{PartialChannel, Permissions};

/// The channel the command was used in, as Discord describes it to the
/// user (with their permissions there).
fn used_in(ctx: Context<'_>) -> Option<&PartialChannel> {
    match ctx {
        poise::Context::Application(a) => a.interaction.channel.as_ref(),
        poise::Context::Prefix(_) => None,
    }
}

/// Whether the user can see where they are: the channel's computed
/// permissions when Discord sends them, else the interaction member's
/// permissions, which Discord documents as "in the channel, including
/// overwrites".
fn can_view(ctx: Context<'_>) -> bool {
    let perms = match ctx {
        poise::Context::Application(a) => a
            .interaction
            .channel
            .as_ref()
            .and_then(|c| c.permissions)
            .or_else(|| a.interaction.member.as_ref().and_then(|m| m.permissions)),
        poise::Context::Prefix(_) => None,
    };
    perms.is_some_and(|p| p.contains(Permissions::VIEW_CHANNEL))
}

/// Follow or stop following this thread or channel, or the group you name.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn subscribe(
    ctx: Context<'_>,
    #[description = "A group to follow or stop following (leave empty for where you are)"]
    #[autocomplete = "autocomplete_group"]
    group: Option<String>,
) -> Result<(), Error> {
    let guild = guild_id(ctx)?;
    let user_id = ctx.author().id.get();
    if let Some(name) = group {
        let g = find_group(ctx, &name).await?;
        crate::replies::defer_command(ctx).await?;
        let text = match subscriptions::toggle_group(&ctx.data().app, guild, user_id, g.id).await {
            Ok((g, true)) => format!("You're now subscribed to **{}**: you'll hear about its new topics.", g.name),
            Ok((g, false)) => format!("You're no longer subscribed to **{}**.", g.name),
            Err(e) => return Err(user(refusal::subscribe(e)?)),
        };
        return say(ctx, text).await;
    }
    let ch = used_in(ctx).ok_or_else(|| user("Use /subscribe in a channel or thread, or name a group."))?;
    if !can_view(ctx) {
        return Err(user("You can't follow a channel you can't see."));
    }
    let Some(kind) = Kind::of_channel(u8::from(ch.kind)) else {
        return Err(user("Use /subscribe in a text channel, a forum or a thread, or name a group."));
    };
    let what = if kind == Kind::Thread { "this thread" } else { "this channel" };
    // Following a thread may add the member to it on Discord: answer in time (N1).
    crate::replies::defer_command(ctx).await?;
    let now = subscriptions::toggle(&ctx.data().app, guild, user_id, kind, ch.id.get()).await?;
    let text = if now {
        format!("You're now following {what} (<#{}>).", ch.id.get())
    } else {
        format!("You're no longer following {what} (<#{}>).", ch.id.get())
    };
    say(ctx, text).await
}

/// Follow or stop following replies to a message.
#[poise::command(context_menu_command = "Subscribe to post", guild_only, ephemeral)]
pub async fn subscribe_post(ctx: Context<'_>, message: serenity::all::Message) -> Result<(), Error> {
    let guild = guild_id(ctx)?;
    if !can_view(ctx) {
        return Err(user("You can't follow a post you can't see."));
    }
    let now =
        subscriptions::toggle(&ctx.data().app, guild, ctx.author().id.get(), Kind::Post, message.id.get()).await?;
    let link = format!("https://discord.com/channels/{guild}/{}/{}", message.channel_id.get(), message.id.get());
    let text = if now {
        format!("You're now following [this post]({link}).")
    } else {
        format!("You're no longer following [this post]({link}).")
    };
    say(ctx, text).await
}

/// Everything you follow, to review and unsubscribe.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn subscriptions(ctx: Context<'_>) -> Result<(), Error> {
    // The channels and threads are named by Discord: answer in time (N1).
    crate::replies::defer_command(ctx).await?;
    let items = subscriptions::page(&ctx.data().app, guild_id(ctx)?, ctx.author().id.get(), 0).await?;
    send_view(ctx, view::render(&items, 0, "")).await
}
