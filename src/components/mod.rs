//! Buttons, selects and modals, dispatched by custom id from one global
//! handler so they keep working after a restart (N2).
//!
//! A custom id names what it acts on (a database row, a page) and nothing
//! else; the handler looks it up again and re-checks who may use it. A
//! custom id that does not parse, or names something gone, is refused.

pub mod admin;
mod group_delete;
pub mod invite;
pub mod lead;
pub mod membership;
pub mod request;
pub mod subscriptions;

pub use crate::custom_id::CustomId;
use crate::discord::no_pings;
use crate::domain::group::Bucket;
use crate::replies::{self, refuse};
use crate::types::Data;
use serenity::all::{
    ComponentInteraction, Context as SerenityContext, CreateInteractionResponse, CreateInteractionResponseMessage,
    ModalInteraction,
};

/// Handle a component interaction; every outcome answers it exactly once.
pub async fn handle(ctx: &SerenityContext, data: &Data, i: &ComponentInteraction) {
    let _guard = data.inflight.enter();
    let started = std::time::Instant::now();
    crate::telemetry::begin(i.id.get(), "component", &crate::telemetry::custom_id_kind(&i.data.custom_id));
    let result = match CustomId::parse(&i.data.custom_id) {
        Some(CustomId::DirectoryPage { bucket, page }) => directory_page(ctx, data, i, bucket, page).await,
        Some(CustomId::Join { group }) => membership::join_button(ctx, data, i, group).await,
        Some(CustomId::Leave { group }) => membership::leave_button(ctx, data, i, group).await,
        Some(CustomId::Subscribe { group }) => membership::subscribe_button(ctx, data, i, group).await,
        Some(CustomId::Request { group }) => membership::request_button(ctx, data, i, group).await,
        Some(CustomId::Agree { group, version, prompt }) => {
            membership::agree_button(ctx, data, i, group, version, prompt).await
        }
        Some(CustomId::Disagree) => membership::disagree_button(ctx, i).await,
        Some(CustomId::AuditPage { group_id, user_id, upto, page }) => {
            admin::audit_page(ctx, data, i, group_id, user_id, upto, page).await
        }
        Some(CustomId::GroupDelete { group_id }) => group_delete::confirm(ctx, data, i, group_id).await,
        Some(CustomId::GroupDeleteCancel { group_id }) => group_delete::cancel(ctx, data, i, group_id).await,
        Some(CustomId::LeadApprove { application }) => lead::approve_button(ctx, data, i, application).await,
        Some(CustomId::LeadDecline { application }) => lead::decline_button(ctx, data, i, application).await,
        Some(CustomId::LeadWithdraw { application }) => lead::withdraw_button(ctx, data, i, application).await,
        Some(CustomId::RequestApprove { request: r }) => request::approve_button(ctx, data, i, r).await,
        Some(CustomId::RequestDeny { request: r }) => request::deny_button(ctx, data, i, r).await,
        Some(CustomId::RequestWithdraw { request: r }) => request::withdraw_button(ctx, data, i, r).await,
        Some(CustomId::SubscriptionsPage { page }) => subscriptions::page(ctx, data, i, page).await,
        Some(CustomId::SubscriptionsDelete { page }) => subscriptions::delete_selected(ctx, data, i, page).await,
        Some(CustomId::SubscriptionsAll) => subscriptions::ask_all(ctx, data, i).await,
        Some(CustomId::SubscriptionsAllConfirm) => subscriptions::confirm_all(ctx, data, i).await,
        Some(CustomId::InviteAccept { invitation }) => invite::accept_button(ctx, data, i, invitation).await,
        Some(CustomId::InviteDecline { invitation }) => invite::decline_button(ctx, data, i, invitation).await,
        Some(CustomId::InviteRevoke { invitation }) => invite::revoke_button(ctx, data, i, invitation).await,
        Some(CustomId::InviteAgree { invitation, version }) => {
            invite::agree_button(ctx, data, i, invitation, version).await
        }
        Some(CustomId::ReconcileApply { policy }) => admin::reconcile_apply(ctx, data, i, policy).await,
        // *Edit my answers* on a refused `/lead apply` form opens it again.
        Some(CustomId::LeadApplyForm { group }) => lead::edit_answers(ctx, data, i, Some(group), None).await,
        Some(CustomId::LeadProposeForm { bucket }) => lead::edit_answers(ctx, data, i, None, Some(bucket)).await,
        // the other forms are submitted as modals, never pressed as buttons
        Some(CustomId::LeadDeclineForm { .. })
        | Some(CustomId::RequestDenyForm { .. })
        | Some(CustomId::GuidelinesModal)
        | None => {
            tracing::info!(custom_id = %i.data.custom_id, user = i.user.id.get(), "unknown custom id refused");
            refuse(
                ctx,
                i,
                "This button isn't valid (it may be from an older version of the bot). Run the command again.",
            )
            .await
        }
    };
    let outcome = crate::telemetry::Outcome::of(&result);
    if let Err(e) = result {
        tracing::warn!(custom_id = %i.data.custom_id, error = %e, "component handler failed");
        replies::component_failed(ctx, i, &e).await;
    }
    let name = crate::telemetry::custom_id_kind(&i.data.custom_id);
    crate::telemetry::interaction(i.id.get(), "component", &name, outcome, started.elapsed());
}

/// Handle a modal submit; every outcome answers it exactly once.
pub async fn handle_modal(ctx: &SerenityContext, data: &Data, m: &ModalInteraction) {
    let _guard = data.inflight.enter();
    let started = std::time::Instant::now();
    crate::telemetry::begin(m.id.get(), "modal", &crate::telemetry::custom_id_kind(&m.data.custom_id));
    let result = match CustomId::parse(&m.data.custom_id) {
        Some(CustomId::LeadApplyForm { group }) => lead::apply_submitted(ctx, data, m, Some(group), None).await,
        Some(CustomId::LeadProposeForm { bucket }) => lead::apply_submitted(ctx, data, m, None, Some(bucket)).await,
        Some(CustomId::LeadDeclineForm { application }) => lead::decline_submitted(ctx, data, m, application).await,
        Some(CustomId::GuidelinesModal) => admin::guidelines_submitted(ctx, data, m).await,
        Some(CustomId::RequestDenyForm { request: r }) => request::deny_submitted(ctx, data, m, r).await,
        _ => {
            tracing::info!(custom_id = %m.data.custom_id, user = m.user.id.get(), "unknown modal refused");
            replies::modal_reply(
                ctx,
                m,
                "Error: This form isn't valid (it may be from an older version of the bot). Run the command again.",
            )
            .await
        }
    };
    let outcome = crate::telemetry::Outcome::of(&result);
    if let Err(e) = result {
        tracing::warn!(custom_id = %m.data.custom_id, error = %e, "modal handler failed");
        replies::modal_failed(ctx, m, &e).await;
    }
    let name = crate::telemetry::custom_id_kind(&m.data.custom_id);
    crate::telemetry::interaction(m.id.get(), "modal", &name, outcome, started.elapsed());
}

async fn directory_page(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    bucket: Option<Bucket>,
    page: u32,
) -> Result<(), crate::types::Error> {
    let Some(guild) = i.guild_id else {
        return refuse(ctx, i, "This only works in a server.").await;
    };
    let list = crate::service::groups::directory(&data.app, guild.get(), bucket).await?;
    let p = crate::views::directory::render(&list, bucket, page as usize);
    let r =
        CreateInteractionResponseMessage::new().embed(p.embed).components(p.components).allowed_mentions(no_pings());
    crate::replies::respond(ctx, i, CreateInteractionResponse::UpdateMessage(r)).await?;
    Ok(())
}
