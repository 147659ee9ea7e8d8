//! The buttons of a `/group delete` confirmation (G2): *Delete group* and
//! *Cancel*. The custom id only names the group; who pressed is checked
//! again here (an admin of this server) and the group is read again (it
//! must still exist in this server), so a forged id or a non-admin's press
//! is refused and changes nothing (N2, N3).

use crate::discord::no_pings;
use crate::domain::group::Group;
use crate::error::message_for;
use crate::replies::refuse;
use crate::service::access;
use crate::service::manage::{self, Deleted};
use crate::types::{Data, Error};
use serenity::all::{
    ComponentInteraction, Context as SerenityContext, CreateInteractionResponse, CreateInteractionResponseMessage,
    EditInteractionResponse,
};

/// The group, when the presser may act on it; otherwise the refusal was sent.
async fn checked(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    group_id: i64,
) -> Result<Option<(u64, Group)>, Error> {
    let (Some(guild), Some(member)) = (i.guild_id, i.member.as_ref()) else {
        refuse(ctx, i, "This only works in a server.").await?;
        return Ok(None);
    };
    let guild = guild.get();
    if !access::member_is_admin(&data.app, guild, Some(member)).await? {
        tracing::info!(user = i.user.id.get(), group_id, "non-admin pressed a group delete button");
        refuse(ctx, i, "Only admins can delete groups. Nothing was deleted.").await?;
        return Ok(None);
    }
    match manage::find(&data.app, guild, group_id).await? {
        Some(g) => Ok(Some((guild, g))),
        None => {
            refuse(ctx, i, "That group no longer exists. Nothing was deleted.").await?;
            Ok(None)
        }
    }
}

/// *Cancel*: nothing is deleted; the confirmation says so, without buttons.
pub async fn cancel(ctx: &SerenityContext, data: &Data, i: &ComponentInteraction, group_id: i64) -> Result<(), Error> {
    let Some((_, g)) = checked(ctx, data, i, group_id).await? else { return Ok(()) };
    let r = CreateInteractionResponseMessage::new()
        .content(format!("Cancelled: **{}** was not deleted.", g.name))
        .components(vec![])
        .allowed_mentions(no_pings());
    crate::replies::respond(ctx, i, CreateInteractionResponse::UpdateMessage(r)).await?;
    Ok(())
}

/// *Delete group*: acknowledged at once (deleting takes several Discord
/// calls), then the confirmation is replaced by the outcome, without buttons.
pub async fn confirm(ctx: &SerenityContext, data: &Data, i: &ComponentInteraction, group_id: i64) -> Result<(), Error> {
    let Some((guild, g)) = checked(ctx, data, i, group_id).await? else { return Ok(()) };
    crate::replies::respond(ctx, i, CreateInteractionResponse::Acknowledge).await?;
    let text = match manage::delete(&data.app, guild, g.id, i.user.id.get()).await {
        Ok(d) => outcome(&d),
        Err(e) => {
            let e = crate::refusal::manage(e, "Nothing was deleted.", "run /group delete again");
            if e.downcast_ref::<crate::error::UserError>().is_none() {
                tracing::warn!(group_id, error = %e, "deleting a group failed");
            }
            format!("Error: {}", message_for(&e))
        }
    };
    let edit = EditInteractionResponse::new().content(text).components(vec![]).allowed_mentions(no_pings());
    if let Err(e) = i.edit_response(&ctx.http, edit).await {
        tracing::warn!(group_id, error = %e, "could not show the outcome of a group deletion");
    }
    Ok(())
}

fn outcome(d: &Deleted) -> String {
    let mut lines = vec![format!("Deleted the group **{}**.", d.name)];
    if let Some(c) = d.kept_channel {
        lines.push(format!("- Its channel <#{c}> was adopted, so I left it in place; check its permissions."));
    }
    if let Some(r) = d.kept_role {
        lines.push(format!("- Its role <@&{r}> was adopted, so I left it in place."));
    }
    if let Some(e) = &d.role_left {
        lines.push(format!(
            "- Discord refused to delete its role ({e}); it no longer belongs to any group. Delete it by hand in Server Settings → Roles."
        ));
    }
    lines.join("\n")
}
