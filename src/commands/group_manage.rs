//! `/group edit|archive|unarchive|delete|adopt`: managing groups (G2, G3,
//! A3), admins only. `/group delete` only asks; the buttons in
//! `components::group_delete` do the deleting.

use super::group::{BucketChoice, VisibilityChoice};
use super::{autocomplete_archived_group, find_group, guild_id, require_admin};
use crate::domain::group::{Group, NewGroup, Visibility, DESCRIPTION_MAX};
use crate::domain::text::{free_text, GroupName};
use crate::error::user;
use crate::refusal;
use crate::replies::{say, send_view};
use crate::service::groups::{self, AdoptError, Adoption, CreateError};
use crate::service::manage::{self, ArchiveOutcome, Change, EditOutcome, EditRequest};
use crate::types::{Context, Error};
use crate::views::group_page::View;

/// Criteria: free text shown on the Group Page (G4).
const CRITERIA_MAX: usize = 1000;

impl From<VisibilityChoice> for Visibility {
    fn from(v: VisibilityChoice) -> Visibility {
        match v {
            VisibilityChoice::Open => Visibility::Open,
            VisibilityChoice::Closed => Visibility::Closed,
        }
    }
}

fn describe(c: &Change) -> String {
    match c {
        Change::Name { to, .. } => format!("renamed to **{to}** (its role and channel follow)"),
        Change::Description => "new description".to_string(),
        Change::Bucket { to, .. } => format!("moved to {}", to.label()),
        Change::Visibility { to: Visibility::Closed, .. } => {
            "now closed: its channel is hidden from non-members".to_string()
        }
        Change::Visibility { to: Visibility::Open, .. } => "now open: everyone can read its channel".to_string(),
        Change::Criteria => "new criteria".to_string(),
        Change::MembersCanPost(true) => "members can post in its channel".to_string(),
        Change::MembersCanPost(false) => "only leaders and admins can post in its channel".to_string(),
    }
}

/// Change a group's name, description, bucket, visibility, criteria or posting (admins).
#[poise::command(slash_command, guild_only, ephemeral)]
#[allow(clippy::too_many_arguments)]
pub async fn edit(
    ctx: Context<'_>,
    #[description = "The group to edit"]
    #[autocomplete = "crate::commands::autocomplete_group"]
    group: String,
    #[description = "A new name (1 to 100 characters); its role and channel follow"]
    #[max_length = 100]
    name: Option<String>,
    #[description = "A new description (up to 1000 characters)"]
    #[max_length = 1000]
    description: Option<String>,
    #[description = "Move it to another bucket"] bucket: Option<BucketChoice>,
    #[description = "Open: anyone can read and join. Closed: hidden from non-members."] visibility: Option<
        VisibilityChoice,
    >,
    #[description = "Who the group is for, shown on its page (up to 1000 characters)"]
    #[max_length = 1000]
    criteria: Option<String>,
    #[description = "Whether members may post in its channel (if not, only leaders and admins)"]
    members_can_post: Option<bool>,
) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    let g = find_group(ctx, &group).await?;
    let bad = |e: crate::domain::text::TextError| user(format!("{e} Nothing was changed."));
    let req = EditRequest {
        name: name.as_deref().map(GroupName::parse).transpose().map_err(bad)?,
        description: description
            .as_deref()
            .map(|d| free_text(d, "description", DESCRIPTION_MAX))
            .transpose()
            .map_err(bad)?,
        bucket: bucket.map(Into::into),
        visibility: visibility.map(Into::into),
        criteria: criteria.as_deref().map(|c| free_text(c, "criteria", CRITERIA_MAX)).transpose().map_err(bad)?,
        members_can_post,
    };
    crate::replies::defer_command(ctx).await?;
    let outcome = manage::edit(&ctx.data().app, guild, g.id, ctx.author().id.get(), &req)
        .await
        .map_err(|e| refusal::manage(e, "Nothing was changed.", "try again"))?;
    let text = match outcome {
        EditOutcome::Unchanged(g) => format!(
            "Nothing to change: **{}** already is as you asked. Give at least one option with a new value (name, description, bucket, visibility, criteria or members_can_post).",
            g.name
        ),
        EditOutcome::Edited { group, changes } => {
            let list = changes.iter().map(|c| format!("- {}", describe(c))).collect::<Vec<_>>().join("\n");
            format!("Updated **{}**:\n{list}", group.name)
        }
    };
    say(ctx, text).await
}

async fn set_archived(ctx: Context<'_>, group: &str, archived: bool) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    let g = find_group(ctx, group).await?;
    crate::replies::defer_command(ctx).await?;
    let outcome = manage::set_archived(&ctx.data().app, guild, g.id, ctx.author().id.get(), archived)
        .await
        .map_err(|e| refusal::manage(e, "Nothing was changed.", "try again"))?;
    let text = match (outcome, archived) {
        (ArchiveOutcome::Already(g), true) => {
            format!("**{}** is already archived. Use /group unarchive to bring it back.", g.name)
        }
        (ArchiveOutcome::Already(g), false) => format!("**{}** isn't archived.", g.name),
        (ArchiveOutcome::Done(g), true) => format!(
            "Archived **{}**: its channel is read-only for everyone, members included, and the group is gone from /groups. Members and history are kept; /group unarchive brings it back.",
            g.name
        ),
        (ArchiveOutcome::Done(g), false) => {
            format!("Unarchived **{}**: it is back in /groups and its members can post again.", g.name)
        }
    };
    say(ctx, text).await
}

/// Archive a group: its channel becomes read-only and it leaves the directory (admins).
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn archive(
    ctx: Context<'_>,
    #[description = "The group to archive"]
    #[autocomplete = "crate::commands::autocomplete_group"]
    group: String,
) -> Result<(), Error> {
    set_archived(ctx, &group, true).await
}

/// Bring an archived group back (admins).
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn unarchive(
    ctx: Context<'_>,
    #[description = "The archived group to bring back"]
    #[autocomplete = "autocomplete_archived_group"]
    group: String,
) -> Result<(), Error> {
    set_archived(ctx, &group, false).await
}

/// Delete a group, its role and its channel, after you confirm (admins).
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn delete(
    ctx: Context<'_>,
    #[description = "The group to delete"]
    #[autocomplete = "crate::commands::autocomplete_group"]
    group: String,
) -> Result<(), Error> {
    require_admin(ctx).await?;
    let g: Group = find_group(ctx, &group).await?;
    let view = crate::views::group_delete::confirmation(&g);
    send_view(ctx, View { content: view.text, embeds: vec![], components: view.components }).await
}

/// Make a group from an existing role and/or channel (admins).
#[poise::command(slash_command, guild_only, ephemeral)]
#[allow(clippy::too_many_arguments)]
pub async fn adopt(
    ctx: Context<'_>,
    #[description = "The group's name (1 to 100 characters)"]
    #[max_length = 100]
    name: String,
    #[description = "Which directory bucket it belongs to"] bucket: BucketChoice,
    #[description = "Open: anyone can join. Closed: people ask to join."] visibility: VisibilityChoice,
    #[description = "An existing role to use as the group's role (made if not given)"] role: Option<
        serenity::all::Role,
    >,
    #[description = "An existing text or forum channel to use (made if not given)"]
    #[channel_types("Text", "Forum")]
    channel: Option<serenity::all::GuildChannel>,
    #[description = "What the group is about (up to 1000 characters)"]
    #[max_length = 1000]
    description: Option<String>,
) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    let new =
        NewGroup::parse(guild, ctx.author().id.get(), &name, bucket.into(), visibility.into(), description.as_deref())
            .map_err(|e| user(format!("{e} Nothing was adopted.")))?;
    let what =
        Adoption { role_id: role.as_ref().map(|r| r.id.get()), channel_id: channel.as_ref().map(|c| c.id.get()) };
    crate::replies::defer_command(ctx).await?;
    let adopted = groups::adopt(&ctx.data().app, &new, what).await.map_err(|e| {
        let nothing = "Nothing was adopted.";
        match e {
            AdoptError::NothingToAdopt => user(
                "Give a role, a channel, or both to adopt. To make a group with a new role and channel, use /group create.",
            ),
            AdoptError::Role(problem) => user(format!("{problem} {nothing}")),
            AdoptError::UnknownRole => user(format!("That role no longer exists. {nothing}")),
            AdoptError::RoleInUse => user(format!("Another group already uses that role. {nothing}")),
            AdoptError::ChannelInUse => user(format!("Another group already uses that channel. {nothing}")),
            AdoptError::ChannelNotUsable(why) => user(format!("That channel can't be a group channel: {why}. {nothing}")),
            AdoptError::Create(CreateError::NameTaken) => user(format!(
                "A group named \"{}\" already exists (names are compared ignoring letter case). Pick another name. {nothing}",
                new.name.as_str()
            )),
            AdoptError::Create(CreateError::Discord { step, source }) => {
                user(refusal::explain_discord(step, &source, nothing))
            }
            AdoptError::Create(CreateError::Db(e)) => Box::new(e) as Error,
        }
    })?;
    let g = &adopted.group;
    let mut lines = vec![format!(
        "Adopted the {} group **{}** in {}.",
        g.visibility.label().to_lowercase(),
        g.name,
        g.bucket.label()
    )];
    match (g.adopted_role, g.role_id) {
        (true, Some(r)) => lines.push(format!(
            "- Role: <@&{r}> (kept as it is; {} already holding it became members).",
            people(adopted.imported)
        )),
        (_, Some(r)) => lines.push(format!("- Role: <@&{r}> (new).")),
        _ => {}
    }
    match (g.adopted_channel, g.channel_id) {
        (true, Some(c)) => {
            lines.push(format!("- Channel: <#{c}> (moved under {} with the group's permissions).", g.bucket.label()))
        }
        (_, Some(c)) => lines.push(format!("- Channel: <#{c}> (new).")),
        _ => {}
    }
    say(ctx, lines.join("\n")).await
}

fn people(n: usize) -> String {
    if n == 1 {
        "1 person".to_string()
    } else {
        format!("{n} people")
    }
}
