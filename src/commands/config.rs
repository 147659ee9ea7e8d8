//! `/config ...`: the server's Guildhall settings (A1, admins only).

use super::{guild_id, require_admin};
use crate::custom_id::CustomId;
use crate::error::user;
use crate::replies::say;
use crate::replies::send_view;
use crate::service::config::{self, ChannelSetting, ConfigError};
use crate::service::sla;
use crate::types::{Context, Error};
use crate::views::group_page::View;
use poise::serenity_prelude as serenity;

/// Guildhall's settings for this server (admins).
#[poise::command(
    slash_command,
    guild_only,
    default_member_permissions = "MANAGE_GUILD",
    subcommands(
        "show",
        "admin_role",
        "mod_channel",
        "requests_channel",
        "guidelines",
        "super::invites::config_invitations",
        "request_sla",
        "notification_mode",
        "reconcile_policy",
        "returning_members"
    ),
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

/// Show every Guildhall setting of this server.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn show(ctx: Context<'_>) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    let settings = config::show(&ctx.data().app, guild).await?;
    let mut embed = crate::views::config::render(&settings, guild);
    // Invitations (M5): their own section.
    let (name, value) =
        crate::views::invite::config_field(&crate::service::invite::limits(&ctx.data().app, guild).await?);
    embed = embed.field(name, value, false);
    let embed = request_sla_fields(ctx, guild, embed).await?;
    let mode = crate::service::notifications::default_mode(&ctx.data().app, guild).await?;
    let embed = embed.field(
        "Notifications",
        format!("Members who haven't chosen with /notifications get: **{}**", mode.label()),
        false,
    );
    let (policy, returning) = {
        let mut conn = ctx.data().app.pool.acquire().await?;
        (
            crate::domain::reconcile::policy(&mut conn, guild).await?,
            crate::domain::reconcile::restore_returning(&mut conn, guild).await?,
        )
    };
    let embed = embed.field(
        "Reconciliation",
        format!(
            "Policy **{}** ({}).
Members who come back get their groups back: **{}**.",
            policy.key(),
            policy.describe(),
            if returning { "yes" } else { "no" }
        ),
        false,
    );
    send_view(ctx, View::embed(embed, vec![])).await
}

/// Set what wins when someone changes a group role by hand in Discord (A5).
#[poise::command(slash_command, guild_only, ephemeral, rename = "reconcile-policy")]
pub async fn reconcile_policy(
    ctx: Context<'_>,
    #[description = "What happens when a group role is taken or given by hand"] policy: super::reconcile::PolicyChoice,
) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    let policy: crate::domain::reconcile::Policy = policy.into();
    let before =
        crate::service::config::set_reconcile_policy(&ctx.data().app, guild, ctx.author().id.get(), policy).await?;
    say(
        ctx,
        format!("Done: reconciliation policy is **{}** (was {}): {}.", policy.key(), before.key(), policy.describe()),
    )
    .await
}

/// Choose whether members who leave and come back get their groups back (A5).
#[poise::command(slash_command, guild_only, ephemeral, rename = "returning-members")]
pub async fn returning_members(
    ctx: Context<'_>,
    #[description = "Give a returning member the groups they had (not ones that banned them)"] restore: bool,
) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    crate::service::config::set_restore_returning(&ctx.data().app, guild, ctx.author().id.get(), restore).await?;
    let text = if restore {
        "Done: a member who leaves and comes back gets their groups back (except groups that banned them or were archived)."
    } else {
        "Done: a member who leaves and comes back starts with no groups; their old memberships end when they return."
    };
    say(ctx, text.to_string()).await
}

/// Set the role whose members are admins (besides Manage Server); empty clears it.
#[poise::command(slash_command, guild_only, ephemeral, rename = "admin-role")]
pub async fn admin_role(
    ctx: Context<'_>,
    #[description = "The admin role; leave empty to clear it"] role: Option<serenity::Role>,
) -> Result<(), Error> {
    require_admin(ctx).await?;
    // Who counts as an admin is decided by the server's own managers: a
    // holder of the admin role may not hand it on or take it from others.
    let member = ctx.author_member().await.ok_or_else(|| user("This command only works in a server."))?;
    let perms = member.permissions.unwrap_or_default();
    if !(perms.administrator() || perms.manage_guild()) {
        return Err(user("Only members with the Manage Server permission can change the admin role."));
    }
    let guild = guild_id(ctx)?;
    let role_id = role.as_ref().map(|r| r.id.get());
    config::set_admin_role(&ctx.data().app, guild, ctx.author().id.get(), role_id).await.map_err(explain)?;
    let text = match role_id {
        Some(r) => format!("Done: members with <@&{r}> are admins now, besides members with Manage Server."),
        None => "Done: the admin role is cleared; only members with Manage Server are admins now.".to_string(),
    };
    say(ctx, text).await
}

async fn set_channel(
    ctx: Context<'_>,
    which: ChannelSetting,
    channel: Option<serenity::PartialChannel>,
) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    crate::replies::defer_command(ctx).await?;
    let id = channel.map(|c| c.id.get());
    let posted =
        config::set_channel(&ctx.data().app, guild, ctx.author().id.get(), which, id).await.map_err(explain)?;
    let text = match (which, id) {
        (ChannelSetting::Mod, Some(id)) => {
            let mut t = format!("Done: the mod channel is <#{id}>. Lead applications and admin alerts go there.");
            if posted > 0 {
                t.push_str(&format!(" Posted {posted} lead application(s) that were waiting for it."));
            }
            t
        }
        (ChannelSetting::Mod, None) => "Done: there is no mod channel now. Lead applications wait in `/lead pending`; \
             alerts about unanswered join requests are listed in `/config show`."
            .to_string(),
        (ChannelSetting::Requests, Some(id)) => {
            format!("Done: the requests channel is <#{id}>. Join requests are reviewed there, in a private thread per group.")
        }
        (ChannelSetting::Requests, None) => "Done: there is no requests channel now. New join requests wait in \
             `/requests`, where the groups' leaders decide them."
            .to_string(),
    };
    say(ctx, text).await
}

/// Set the admins' channel: lead applications and admin alerts go there.
#[poise::command(slash_command, guild_only, ephemeral, rename = "mod-channel")]
pub async fn mod_channel(
    ctx: Context<'_>,
    #[description = "A text channel only admins can see (leave empty to clear)"]
    #[channel_types("Text")]
    channel: Option<serenity::PartialChannel>,
) -> Result<(), Error> {
    set_channel(ctx, ChannelSetting::Mod, channel).await
}

/// Set the channel where group leaders review join requests.
#[poise::command(slash_command, guild_only, ephemeral, rename = "requests-channel")]
pub async fn requests_channel(
    ctx: Context<'_>,
    #[description = "A text channel; each group gets a private thread in it (leave empty to clear)"]
    #[channel_types("Text")]
    channel: Option<serenity::PartialChannel>,
) -> Result<(), Error> {
    set_channel(ctx, ChannelSetting::Requests, channel).await
}

/// Edit the community guidelines members accept before joining (opens a form).
#[poise::command(slash_command, guild_only)]
pub async fn guidelines(ctx: Context<'_>) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    let current = config::show(&ctx.data().app, guild).await?.guidelines;
    let modal = crate::views::config::guidelines_modal(&CustomId::GuidelinesModal.encode(), &current);
    crate::replies::open_modal(ctx, modal).await?;
    Ok(())
}

// ---- Join request times (R5): T1, T2, T3 and the deny cooldown.

async fn request_sla_fields(
    ctx: Context<'_>,
    guild: u64,
    embed: serenity::CreateEmbed,
) -> Result<serenity::CreateEmbed, Error> {
    let app = &ctx.data().app;
    let (s, undelivered) = (sla::get(app, guild).await?, sla::undelivered(app, guild).await?);
    Ok(crate::views::sla::config_fields(embed, &s, &undelivered))
}

/// Set when join requests remind leaders, alert admins and expire, and the cooldown after a deny.
#[poise::command(slash_command, guild_only, ephemeral, rename = "request-sla")]
pub async fn request_sla(
    ctx: Context<'_>,
    #[description = "Remind the group's leaders after this many hours (default 24)"]
    #[min = 1]
    #[max = 720]
    remind_hours: Option<i32>,
    #[description = "Alert the admins in the mod channel after this many hours (default 72)"]
    #[min = 1]
    #[max = 1440]
    escalate_hours: Option<i32>,
    #[description = "A request expires after this many days (default 7)"]
    #[min = 1]
    #[max = 90]
    expire_days: Option<i32>,
    #[description = "Days after a deny before the member may ask again (default 7; 0 for none)"]
    #[min = 0]
    #[max = 365]
    cooldown_days: Option<i32>,
    #[description = "Back to the defaults (other options apply on top)"] reset: Option<bool>,
) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    let change =
        sla::SlaChange { remind_hours, escalate_hours, expire_days, cooldown_days, reset: reset.unwrap_or(false) };
    if !change.reset && [remind_hours, escalate_hours, expire_days, cooldown_days].iter().all(Option::is_none) {
        return Err(user(
            "Give at least one time to change (or `reset`). Nothing was changed. See them with /config show.",
        ));
    }
    let new = match sla::set(&ctx.data().app, guild, ctx.author().id.get(), &change).await {
        Ok(s) => s,
        Err(sla::SetError::Invalid(e)) => return Err(user(format!("{e} Nothing was changed."))),
        Err(sla::SetError::Db(e)) => return Err(Box::new(e)),
    };
    let h = crate::views::sla::hours;
    say(
        ctx,
        format!(
            "Done: leaders are reminded of a pending request after {}, admins alerted after {}, and it expires after {}. A deny blocks a new request for {} days. Requests already waiting follow the new times.",
            h(new.remind_hours),
            h(new.escalate_hours),
            h(new.expire_hours),
            new.cooldown_days
        ),
    )
    .await
}

/// Set how members hear about what they follow unless they chose with /notifications.
#[poise::command(slash_command, guild_only, ephemeral, rename = "notification-mode")]
pub async fn notification_mode(
    ctx: Context<'_>,
    #[description = "The default for members who haven't chosen"] mode: super::notifications::ModeChoice,
) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    crate::replies::defer_command(ctx).await?;
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
