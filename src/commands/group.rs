//! `/group ...`: managing groups (admins) and, later, group pages.

use super::{author_is_admin, autocomplete_group, find_group, guild_id, require_admin};
use crate::domain::group::{Bucket, NewGroup, Visibility};
use crate::error::user;
use crate::refusal;
use crate::replies::{say, send_view};
use crate::service::groups::{self, CreateError};
use crate::service::membership;
use crate::types::{Context, Error};
use serenity::all::User;

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum BucketChoice {
    Identity,
    Industry,
    Interest,
    Impact,
}

impl From<BucketChoice> for Bucket {
    fn from(b: BucketChoice) -> Bucket {
        match b {
            BucketChoice::Identity => Bucket::Identity,
            BucketChoice::Industry => Bucket::Industry,
            BucketChoice::Interest => Bucket::Interest,
            BucketChoice::Impact => Bucket::Impact,
        }
    }
}

#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum VisibilityChoice {
    #[name = "Open"]
    Open,
    #[name = "Closed"]
    Closed,
}

/// Community groups: create and manage them.
#[poise::command(
    slash_command,
    guild_only,
    subcommands(
        "create",
        "info",
        "leader",
        "remove",
        "ban",
        "unban",
        "super::group_manage::edit",
        "super::group_manage::archive",
        "super::group_manage::unarchive",
        "super::group_manage::delete",
        "super::group_manage::adopt",
        "super::requests::criteria",
        "super::invites::invite_policy",
        "super::stats::group_stats"
    ),
    subcommand_required
)]
pub async fn group(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Create a group: a role, and a forum channel under its bucket's category (admins).
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn create(
    ctx: Context<'_>,
    #[description = "The group's name (1 to 100 characters)"]
    #[max_length = 100]
    name: String,
    #[description = "Which directory bucket it belongs to"] bucket: BucketChoice,
    #[description = "Open: anyone can join. Closed: people ask to join."] visibility: VisibilityChoice,
    #[description = "What the group is about (up to 1000 characters)"]
    #[max_length = 1000]
    description: Option<String>,
) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    let visibility = match visibility {
        VisibilityChoice::Open => Visibility::Open,
        VisibilityChoice::Closed => Visibility::Closed,
    };
    let new = NewGroup::parse(guild, ctx.author().id.get(), &name, bucket.into(), visibility, description.as_deref())
        .map_err(|e| user(e.to_string()))?;
    crate::replies::defer_command(ctx).await?;
    let group = groups::create(&ctx.data().app, &new).await.map_err(|e| match e {
        CreateError::NameTaken => user(format!(
            "A group named \"{}\" already exists (names are compared ignoring letter case). Pick another name.",
            new.name.as_str()
        )),
        CreateError::Discord { step, source } => user(refusal::explain_discord(step, &source, "Nothing was created.")),
        CreateError::Db(e) => Box::new(e) as Error,
    })?;
    let channel = group.channel_id.map(|c| format!(" Its channel is <#{c}>.")).unwrap_or_default();
    say(
        ctx,
        format!(
            "Created the {} group **{}** in {}.{channel}",
            group.visibility.label().to_lowercase(),
            group.name,
            group.bucket.label()
        ),
    )
    .await
}

/// Show a group's page: what it is, who leads it, and buttons to join, leave or subscribe.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn info(
    ctx: Context<'_>,
    #[description = "The group"]
    #[autocomplete = "autocomplete_group"]
    group: String,
) -> Result<(), Error> {
    let g = find_group(ctx, &group).await?;
    let facts = membership::page_facts_of(&ctx.data().app, g, ctx.author().id.get()).await?;
    send_view(ctx, crate::views::group_page::page(&facts)).await
}

/// Add or remove a group's leaders (admins).
#[poise::command(slash_command, guild_only, subcommands("leader_add", "leader_remove"), subcommand_required)]
pub async fn leader(_ctx: Context<'_>) -> Result<(), Error> {
    Ok(())
}

/// Make a member a leader of a group, with moderation rights on its channel (admins).
#[poise::command(slash_command, guild_only, ephemeral, rename = "add")]
pub async fn leader_add(
    ctx: Context<'_>,
    #[description = "The group"]
    #[autocomplete = "autocomplete_group"]
    group: String,
    #[description = "The new leader"] user: User,
) -> Result<(), Error> {
    require_admin(ctx).await?;
    let g = find_group(ctx, &group).await?;
    if user.bot {
        return Err(user_err("A bot can't lead a group."));
    }
    crate::replies::defer_command(ctx).await?;
    let msg = match membership::add_leader(&ctx.data().app, &g, ctx.author().id.get(), user.id.get()).await {
        Ok(true) => format!("<@{}> now leads **{}**, with moderation rights on its channel.", user.id, g.name),
        Ok(false) => format!("<@{}> already leads **{}**.", user.id, g.name),
        Err(crate::service::membership::MembershipError::Discord(crate::discord::DiscordError::Unknown(
            "member",
            _,
        ))) => {
            format!("Error: <@{}> isn't a member of this server.", user.id)
        }
        Err(e) => format!("Error: {}", refusal::membership(&e, &g.name, "lead")?),
    };
    say(ctx, msg).await
}

/// Remove one of a group's leaders (admins). They stay a member.
#[poise::command(slash_command, guild_only, ephemeral, rename = "remove")]
pub async fn leader_remove(
    ctx: Context<'_>,
    #[description = "The group"]
    #[autocomplete = "autocomplete_group"]
    group: String,
    #[description = "The leader to remove"] user: User,
) -> Result<(), Error> {
    require_admin(ctx).await?;
    let g = find_group(ctx, &group).await?;
    crate::replies::defer_command(ctx).await?;
    let msg = match membership::remove_leader(&ctx.data().app, &g, ctx.author().id.get(), user.id.get()).await {
        Ok(true) => format!("<@{}> no longer leads **{}**.", user.id, g.name),
        Ok(false) => format!("<@{}> isn't a leader of **{}**.", user.id, g.name),
        Err(e) => format!("Error: {}", refusal::membership(&e, &g.name, "change")?),
    };
    say(ctx, msg).await
}

/// Remove a member from a group, with a reason (its leaders and admins).
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn remove(
    ctx: Context<'_>,
    #[description = "The group"]
    #[autocomplete = "autocomplete_group"]
    group: String,
    #[description = "The member to remove"] user: User,
    #[description = "Why (kept in the audit trail)"]
    #[max_length = 500]
    reason: String,
    #[description = "Also ban them from joining or asking to join again"] ban: Option<bool>,
) -> Result<(), Error> {
    let g = find_group(ctx, &group).await?;
    let reason = crate::domain::text::free_text(&reason, "reason", 500).map_err(|e| user_err(&e.to_string()))?;
    let admin = author_is_admin(ctx).await?;
    crate::replies::defer_command(ctx).await?;
    let ban = ban.unwrap_or(false);
    let app = &ctx.data().app;
    let msg = match membership::remove(app, &g, ctx.author().id.get(), admin, user.id.get(), &reason, ban).await {
        Ok(removed) => {
            let what = if removed {
                format!("Removed <@{}> from **{}**", user.id, g.name)
            } else {
                format!("<@{}> wasn't a member of **{}**", user.id, g.name)
            };
            if ban {
                format!("{what}; they can no longer join or ask to join.")
            } else {
                format!("{what}.")
            }
        }
        Err(e) => format!("Error: {}", refusal::membership(&e, &g.name, "change")?),
    };
    say(ctx, msg).await
}

/// Ban someone from joining or asking to join a group; members are removed (its leaders and admins).
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn ban(
    ctx: Context<'_>,
    #[description = "The group"]
    #[autocomplete = "autocomplete_group"]
    group: String,
    #[description = "Who to ban"] user: User,
    #[description = "Why (kept in the audit trail)"]
    #[max_length = 500]
    reason: Option<String>,
) -> Result<(), Error> {
    let g = find_group(ctx, &group).await?;
    let reason = crate::domain::text::free_text(reason.as_deref().unwrap_or(""), "reason", 500)
        .map_err(|e| user_err(&e.to_string()))?;
    let admin = author_is_admin(ctx).await?;
    crate::replies::defer_command(ctx).await?;
    let app = &ctx.data().app;
    let actor = ctx.author().id.get();
    let msg = match membership::remove(
        app,
        &g,
        actor,
        admin,
        user.id.get(),
        if reason.is_empty() { "banned" } else { &reason },
        true,
    )
    .await
    {
        Ok(_) => format!("<@{}> is banned from **{}**: they can't join or ask to join it.", user.id, g.name),
        Err(e) => format!("Error: {}", refusal::membership(&e, &g.name, "change")?),
    };
    say(ctx, msg).await
}

/// Lift a ban from a group (its leaders and admins).
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn unban(
    ctx: Context<'_>,
    #[description = "The group"]
    #[autocomplete = "autocomplete_group"]
    group: String,
    #[description = "Who to unban"] user: User,
) -> Result<(), Error> {
    let g = find_group(ctx, &group).await?;
    let admin = author_is_admin(ctx).await?;
    let msg = match membership::set_ban(&ctx.data().app, &g, ctx.author().id.get(), admin, user.id.get(), None, false)
        .await
    {
        Ok(true) => format!("<@{}> may join or ask to join **{}** again.", user.id, g.name),
        Ok(false) => format!("<@{}> wasn't banned from **{}**.", user.id, g.name),
        Err(e) => format!("Error: {}", refusal::membership(&e, &g.name, "change")?),
    };
    say(ctx, msg).await
}

fn user_err(msg: &str) -> Error {
    user(msg)
}
