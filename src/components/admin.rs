//! Admin components: the audit trail's page buttons and the guidelines
//! modal. Each re-checks that the person acting is an admin: a custom id
//! names a page or a form, never a permission.

use crate::auth::NOT_ADMIN;
use crate::discord::no_pings;
use crate::domain::audit::Filter;
use crate::replies::{modal_reply, refuse};
use crate::service::access;
use crate::service::audit::AuditError;
use crate::service::config::{self, ConfigError, GuidelinesChange};
use crate::types::{Data, Error};
use crate::views::config::GUIDELINES_FIELD;
use serenity::all::{
    ActionRowComponent, ComponentInteraction, Context as SerenityContext, CreateInteractionResponse,
    CreateInteractionResponseMessage, ModalInteraction,
};

/// Whether the member who pressed a component is an admin.
async fn is_admin(data: &Data, i: &ComponentInteraction) -> Result<bool, Error> {
    match i.guild_id {
        Some(g) => Ok(access::member_is_admin(&data.app, g.get(), i.member.as_ref()).await?),
        None => Ok(false),
    }
}

pub async fn audit_page(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    group_id: Option<i64>,
    user_id: Option<u64>,
    upto: i64,
    page: u32,
) -> Result<(), Error> {
    let Some(guild) = i.guild_id else {
        return refuse(ctx, i, "This only works in a server.").await;
    };
    if !is_admin(data, i).await? {
        tracing::info!(user = i.user.id.get(), "a non-admin pressed an audit page button");
        return refuse(ctx, i, NOT_ADMIN).await;
    }
    let filter = Filter { group_id, user_id, upto: Some(upto) };
    let p = match crate::service::audit::page(&data.app, guild.get(), filter, page).await {
        Ok(p) => p,
        Err(AuditError::NoSuchGroup) => {
            return refuse(ctx, i, "That group no longer exists. Run /audit again.").await;
        }
        Err(AuditError::Db(e)) => return Err(e.into()),
    };
    let view = crate::views::audit::render(&p);
    let r = CreateInteractionResponseMessage::new()
        .embed(view.embed)
        .components(view.components)
        .allowed_mentions(no_pings());
    crate::replies::respond(ctx, i, CreateInteractionResponse::UpdateMessage(r)).await?;
    Ok(())
}

/// *Apply* on `/reconcile`'s dry run (admins): find the differences again
/// (the server may have changed since the dry run) and repair them.
pub async fn reconcile_apply(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    policy: crate::domain::reconcile::Policy,
) -> Result<(), Error> {
    let Some(guild) = i.guild_id else {
        return refuse(ctx, i, "This only works in a server.").await;
    };
    if !is_admin(data, i).await? {
        tracing::info!(user = i.user.id.get(), "a non-admin pressed Apply on a reconcile");
        return refuse(ctx, i, NOT_ADMIN).await;
    }
    // Repairs can take a while: answer Discord first (N1).
    crate::replies::defer(ctx, i).await?;
    let trigger = crate::domain::reconcile::Trigger::Command;
    let report =
        crate::service::reconcile::pass(&data.app, guild.get(), trigger, Some(i.user.id.get()), Some(policy), None)
            .await?;
    let text = if report.skipped {
        "Another reconcile is running for this server right now; run /reconcile again in a minute.".to_string()
    } else {
        let c = report.counts;
        crate::views::reconcile::applied(c.found, c.repaired, c.reported, c.failed, &report.lines)
    };
    let edit = serenity::all::EditInteractionResponse::new().content(text).allowed_mentions(no_pings());
    i.edit_response(&ctx.http, edit).await?;
    Ok(())
}

/// The text typed in the modal's `field`.
pub fn modal_value(m: &ModalInteraction, field: &str) -> Option<String> {
    m.data.components.iter().flat_map(|row| row.components.iter()).find_map(|c| match c {
        ActionRowComponent::InputText(t) if t.custom_id == field => Some(t.value.clone().unwrap_or_default()),
        _ => None,
    })
}

pub async fn guidelines_submitted(ctx: &SerenityContext, data: &Data, m: &ModalInteraction) -> Result<(), Error> {
    let admin = match m.guild_id {
        Some(g) => access::member_is_admin(&data.app, g.get(), m.member.as_ref()).await?,
        None => false,
    };
    let Some(guild) = m.guild_id.filter(|_| admin) else {
        return modal_reply(ctx, m, &format!("Error: {NOT_ADMIN}")).await;
    };
    let Some(text) = modal_value(m, GUIDELINES_FIELD) else {
        return modal_reply(
            ctx,
            m,
            "Error: This form isn't valid (it may be from an older version of the bot). Run /config guidelines again.",
        )
        .await;
    };
    let msg = match config::set_guidelines(&data.app, guild.get(), m.user.id.get(), &text).await {
        Ok(GuidelinesChange::Saved(v)) => format!(
            "Saved the guidelines (version {v}): members will be asked to accept version {v} before their next join or request."
        ),
        Ok(GuidelinesChange::Unchanged(v)) => {
            format!("The guidelines are unchanged (still version {v}), so nobody is asked to accept them again.")
        }
        Err(ConfigError::Text(e)) => format!("Error: {e} Nothing was changed."),
        Err(e) => return Err(Box::new(e)),
    };
    modal_reply(ctx, m, &msg).await
}
