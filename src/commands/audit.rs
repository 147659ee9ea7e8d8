//! `/audit [group] [user]`: the audit trail, newest first (A2, admins only).

use super::{find_group, guild_id, require_admin};
use crate::domain::audit::Filter;
use crate::replies::send_view;
use crate::service::audit::{self, AuditError};
use crate::types::{Context, Error};
use crate::views::group_page::View;
use poise::serenity_prelude as serenity;

/// Who changed what, newest first; optionally one group or member (admins).
#[poise::command(slash_command, guild_only, ephemeral, default_member_permissions = "MANAGE_GUILD")]
pub async fn audit(
    ctx: Context<'_>,
    #[description = "Only entries about this group"]
    #[autocomplete = "crate::commands::autocomplete_group"]
    group: Option<String>,
    #[description = "Only entries where this member acted or was acted on"] user: Option<serenity::User>,
) -> Result<(), Error> {
    require_admin(ctx).await?;
    let guild = guild_id(ctx)?;
    let group_id = match group {
        Some(name) => Some(find_group(ctx, &name).await?.id),
        None => None,
    };
    let filter = Filter { group_id, user_id: user.map(|u| u.id.get()), upto: None };
    let page = audit::page(&ctx.data().app, guild, filter, 0).await.map_err(|e| match e {
        AuditError::NoSuchGroup => crate::error::user(e.to_string()),
        AuditError::Db(e) => Box::new(e) as Error,
    })?;
    let view = crate::views::audit::render(&page);
    send_view(ctx, View::embed(view.embed, view.components)).await
}
