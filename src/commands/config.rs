//! `/config ...`: the server's Guildhall settings (A1, admins only).

use super::{guild_id, require_admin};
use crate::components::CustomId;
use crate::discord::no_pings;
use crate::error::user;
use crate::service::config::{self, ChannelSetting, ConfigError};
use crate::types::{Context, Error};
use poise::serenity_prelude as serenity;
use poise::CreateReply;

/// Guildhall's settings for this server (admins).
#[poise::command(
    slash_command,
    guild_only,
    default_member_permissions = "MANAGE_GUILD",
    subcommands("show", "admin_role", "mod_channel", "requests_channel", "guidelines", "notification_mode"),
    subcommand_required
)]
pub async fn config(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// What a user is told when a setting could not be changed.
pub fn explain(e: ConfigError) -> Error {
    match e {
        ConfigError::Channel(p) => user(format!("{p} Nothing was changed.")),
        ConfigError::Text(t) => user(format!("{t} Nothing was changed.")),
        ConfigError::EveryoneRole => user(format!("{} Pick another role, or leave it empty to clear it.", e)),
        ConfigError::Discord(d) => {
            user(format!("I couldn't check that channel with Discord ({d}). Nothing was changed; please try again."))
        }
        ConfigError::Db(e) => Box::new(e),
    }
}

async fn say(ctx: Context<'_>, text: String) -> Result<(), Error> {
    ctx.send(CreateReply::default().content(text).ephemeral(true).allowed_mentions(no_pings())).await?;
    Ok(())
}

/// Show every Guildhall setting of this server.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn show(ctx: Context<'_>) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    let settings = config::show(&ctx.data().app, guild).await?;
    let embed = crate::views::config::render(&settings, guild);
    ctx.send(CreateReply::default().embed(embed).ephemeral(true).allowed_mentions(no_pings())).await?;
    Ok(())
}

/// Set the role whose members are admins (besides Manage Server); empty clears it.
#[poise::command(slash_command, guild_only, ephemeral, rename = "admin-role")]
pub async fn admin_role(
    ctx: Context<'_>,
    #[description = "The admin role; leave empty to clear it"] role: Option<serenity::Role>,
) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    let role_id = role.as_ref().map(|r| r.id.get());
    config::set_admin_role(&ctx.data().app, guild, ctx.author().id.get(), role_id).await.map_err(explain)?;
    let text = match role_id {
        Some(r) => format!("Done: members with <@&{r}> are admins now, besides members with Manage Server."),
        None => "Done: the admin role is cleared; only members with Manage Server are admins now.".to_string(),
    };
    say(ctx, text).await
}

async fn set_channel(ctx: Context<'_>, which: ChannelSetting, channel: serenity::PartialChannel) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    ctx.defer_ephemeral().await?;
    let id = channel.id.get();
    config::set_channel(&ctx.data().app, guild, ctx.author().id.get(), which, id).await.map_err(explain)?;
    let text = match which {
        ChannelSetting::Mod => {
            format!("Done: the mod channel is <#{id}>. Lead applications and admin alerts go there.")
        }
        ChannelSetting::Requests => {
            format!("Done: the requests channel is <#{id}>. Join requests are reviewed there, in a private thread per group.")
        }
    };
    say(ctx, text).await
}

/// Set the admins' channel: lead applications and admin alerts go there.
#[poise::command(slash_command, guild_only, ephemeral, rename = "mod-channel")]
pub async fn mod_channel(
    ctx: Context<'_>,
    #[description = "A text channel only admins can see"]
    #[channel_types("Text")]
    channel: serenity::PartialChannel,
) -> Result<(), Error> {
    set_channel(ctx, ChannelSetting::Mod, channel).await
}

/// Set the channel where group leaders review join requests.
#[poise::command(slash_command, guild_only, ephemeral, rename = "requests-channel")]
pub async fn requests_channel(
    ctx: Context<'_>,
    #[description = "A text channel; each group gets a private thread in it"]
    #[channel_types("Text")]
    channel: serenity::PartialChannel,
) -> Result<(), Error> {
    set_channel(ctx, ChannelSetting::Requests, channel).await
}

/// Edit the community guidelines members accept before joining (opens a form).
#[poise::command(slash_command, guild_only)]
pub async fn guidelines(ctx: Context<'_>) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    let poise::Context::Application(actx) = ctx else {
        return Err(user("Use the slash command /config guidelines."));
    };
    let current = config::show(&ctx.data().app, guild).await?.guidelines;
    let modal = crate::views::config::guidelines_modal(&CustomId::GuidelinesModal.encode(), &current);
    actx.interaction.create_response(ctx.serenity_context(), serenity::CreateInteractionResponse::Modal(modal)).await?;
    actx.has_sent_initial_response.store(true, std::sync::atomic::Ordering::SeqCst);
    Ok(())
}

/// Set how members hear about what they follow unless they chose with /notifications.
#[poise::command(slash_command, guild_only, ephemeral, rename = "notification-mode")]
pub async fn notification_mode(
    ctx: Context<'_>,
    #[description = "The default for members who haven't chosen"] mode: super::notifications::ModeChoice,
) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    ctx.defer_ephemeral().await?;
    let mode: crate::domain::delivery::Mode = mode.into();
    let app = ctx.data().app.clone();
    let before = crate::service::notifications::set_default(&app, guild, ctx.author().id.get(), mode).await?;
    if before != mode {
        // Members on the default get their roles and thread memberships in step, in the background.
        let guard = ctx.data().inflight.enter();
        tokio::spawn(async move {
            let _guard = guard;
            crate::service::notifications::resync_default(&app, guild).await;
        });
    }
    say(
        ctx,
        format!(
            "Done: members who haven't chosen with /notifications now get **{}** (was {}).",
            mode.label(),
            before.label()
        ),
    )
    .await
}
