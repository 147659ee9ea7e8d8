//! `/group ...`: managing groups (admins) and, later, group pages.

use super::{guild_id, require_admin};
use crate::discord::DiscordError;
use crate::domain::group::{Bucket, NewGroup, Visibility};
use crate::error::user;
use crate::service::groups::{self, CreateError};
use crate::types::{Context, Error};
use poise::CreateReply;

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
        "super::group_manage::edit",
        "super::group_manage::archive",
        "super::group_manage::unarchive",
        "super::group_manage::delete",
        "super::group_manage::adopt"
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
    ctx.defer_ephemeral().await?;
    let group = groups::create(&ctx.data().app, &new).await.map_err(|e| match e {
        CreateError::NameTaken => user(format!(
            "A group named \"{}\" already exists (names are compared ignoring letter case). Pick another name.",
            new.name.as_str()
        )),
        CreateError::Discord { step, source } => user(explain_discord(step, &source)),
        CreateError::Db(e) => Box::new(e) as Error,
    })?;
    let channel = group.channel_id.map(|c| format!(" Its channel is <#{c}>.")).unwrap_or_default();
    ctx.send(
        CreateReply::default()
            .content(format!(
                "Created the {} group **{}** in {}.{channel}",
                group.visibility.label().to_lowercase(),
                group.name,
                group.bucket.label()
            ))
            .ephemeral(true)
            .allowed_mentions(crate::discord::no_pings()),
    )
    .await?;
    Ok(())
}

/// What an admin should do about a Discord refusal.
pub fn explain_discord(step: &str, e: &DiscordError) -> String {
    format!("I couldn't {step}: {e}. Nothing was created. {}", discord_fix(e))
}

/// How to fix what made Discord refuse.
pub fn discord_fix(e: &DiscordError) -> &'static str {
    match e {
        DiscordError::MissingPermissions | DiscordError::MissingAccess => {
            "Discord says I'm missing permissions. Give my role Manage Roles and Manage Channels, and drag it above the group roles in Server Settings → Roles, then try again."
        }
        DiscordError::Unavailable(_) => "Discord is having trouble right now. Please try again in a minute.",
        _ => "Please try again; if it keeps failing, run /health or tell the bot's maintainers.",
    }
}
