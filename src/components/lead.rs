//! Lead applications: the `/lead apply` forms, *Approve* / *Decline* (admins
//! only, checked here on every press), the decline reason form, and
//! *Withdraw* (the applicant only).

use crate::custom_id::CustomId;
use crate::domain::group::Bucket;
use crate::domain::lead::{self as domain, Status, Target};
use crate::refusal;
use crate::replies::{
    defer, defer_modal, edit_modal, edit_text, modal_reply, modal_reply_view, refuse, update_in_time, Pressed,
};
use crate::service::access;
use crate::service::lead::{self, Decided, LeadError, Posted};
use crate::types::{Data, Error};
use crate::views::lead::{self as view, input, DESCRIPTION, EXPERIENCE, HOURS, MOTIVATION, NAME, REASON};
use serenity::all::{
    ActionRowComponent, ComponentInteraction, Context as SerenityContext, CreateInteractionResponse, CreateModal,
    InputTextStyle, ModalInteraction,
};

pub(crate) fn field(m: &ModalInteraction, id: &str) -> String {
    m.data
        .components
        .iter()
        .flat_map(|row| row.components.iter())
        .find_map(|c| match c {
            ActionRowComponent::InputText(t) if t.custom_id == id => t.value.clone(),
            _ => None,
        })
        .unwrap_or_default()
}

/// A submitted `/lead apply` form.
pub async fn apply_submitted(
    ctx: &SerenityContext,
    data: &Data,
    m: &ModalInteraction,
    group: Option<i64>,
    bucket: Option<Bucket>,
) -> Result<(), Error> {
    let Some(guild) = m.guild_id.map(|g| g.get()) else {
        return modal_reply(ctx, m, "Error: This only works in a server.").await;
    };
    let form = match (group, bucket) {
        (Some(group), _) => CustomId::LeadApplyForm { group },
        (None, Some(bucket)) => CustomId::LeadProposeForm { bucket },
        (None, None) => return modal_reply(ctx, m, "Error: This form isn't valid.").await,
    };
    // A refused answer loses nothing: the answers are shown back with a
    // button that opens the form again filled in with them.
    let ids: &[&str] = if group.is_some() { &[MOTIVATION, EXPERIENCE, HOURS] } else { &FORM_IDS };
    let values: Vec<(String, String)> = ids.iter().map(|id| (id.to_string(), field(m, id))).collect();
    let refused = |e: String| view::refused_form(&e, form.clone(), &values);
    let answers = match domain::Answers::parse(&field(m, MOTIVATION), &field(m, EXPERIENCE), &field(m, HOURS)) {
        Ok(a) => a,
        Err(e) => return modal_reply_view(ctx, m, refused(e.to_string())).await,
    };
    let target = match form {
        CustomId::LeadProposeForm { bucket } => {
            match domain::parse_proposal(&field(m, NAME), bucket, &field(m, DESCRIPTION)) {
                Ok(t) => t,
                Err(e) => return modal_reply_view(ctx, m, refused(e.to_string())).await,
            }
        }
        CustomId::LeadApplyForm { group } => Target::Existing { group_id: group, group_name: String::new() },
        _ => return modal_reply(ctx, m, "Error: This form isn't valid.").await,
    };
    defer_modal(ctx, m).await?;
    let msg = match lead::apply(&data.app, guild, m.user.id.get(), target, &answers).await {
        Ok((a, posted)) => {
            let where_ = match posted {
                Posted::Card { .. } => "It's in front of the admins now; you'll get a DM when they decide.".to_string(),
                Posted::NoModChannel => {
                    "It's saved, but the admins haven't set a mod channel for applications yet, so it waits until they do; they can see it in `/lead pending`.".to_string()
                }
                Posted::ModChannelUnusable => {
                    "It's saved, but I couldn't post it in the admins' mod channel just now; the admins still see it in `/lead pending`, which posts it in the mod channel when they next open it.".to_string()
                }
            };
            format!(
                "Thanks! Your application #{} to lead **{}** was received. {where_} Follow it with `/lead status`.",
                a.id,
                a.target.name()
            )
        }
        Err(e) => format!("Error: {}", refusal::lead(e)?),
    };
    edit_modal(ctx, m, msg).await
}

/// Every input of the proposal form, in its order.
const FORM_IDS: [&str; 5] = [NAME, DESCRIPTION, MOTIVATION, EXPERIENCE, HOURS];

/// *Edit my answers* on a refused form: the form again, for the same group
/// (checked again: still there, in this server, open to this member's
/// application) or bucket, filled in with the answers the message pressed
/// shows. Nothing is kept anywhere but on that message, and the form is
/// checked again when it is submitted.
pub async fn edit_answers(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    group: Option<i64>,
    bucket: Option<Bucket>,
) -> Result<(), Error> {
    let Some(guild) = i.guild_id.map(|g| g.get()) else { return refuse(ctx, i, "This only works in a server.").await };
    let shown: Vec<(String, String)> = i
        .message
        .embeds
        .iter()
        .take(1)
        .flat_map(|e| e.fields.iter().map(|f| (f.name.clone(), f.value.clone())))
        .collect();
    let values = view::typed_back(&shown);
    let modal = match (group, bucket) {
        (Some(group), _) => match lead::check_can_apply(&data.app, guild, i.user.id.get(), group).await {
            Ok(g) => view::apply_form(g.id, &g.name, &values),
            Err(e) => return refuse(ctx, i, &refusal::lead(e)?).await,
        },
        (None, Some(bucket)) => view::propose_form(bucket, &values),
        (None, None) => return refuse(ctx, i, "This button isn't valid. Run `/lead apply` again.").await,
    };
    crate::replies::respond(ctx, i, CreateInteractionResponse::Modal(modal)).await
}

fn decided_text(d: &Decided) -> String {
    let a = &d.application;
    let mut s = match a.status {
        Status::Approved => match &a.target {
            Target::Existing { group_name, .. } => {
                format!("Approved: <@{}> now leads **{group_name}**.", a.applicant_id)
            }
            Target::Proposal { name, .. } => {
                format!("Approved: the group **{name}** was created and <@{}> leads it.", a.applicant_id)
            }
        },
        _ => format!("Declined application #{}; the applicant was given your reason.", a.id),
    };
    if !d.dm_delivered {
        s.push_str(" I couldn't DM the applicant (their DMs are closed); they can see the outcome in `/lead status`.");
    }
    if !d.card_updated && a.mod_message_id.is_some() {
        s.push_str(" The card in the mod channel couldn't be updated (it may have been deleted).");
    }
    s
}

pub async fn approve_button(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    application: i64,
) -> Result<(), Error> {
    let Some(guild) = i.guild_id.map(|g| g.get()) else { return refuse(ctx, i, "This only works in a server.").await };
    let privileged = access::member_is_admin(&data.app, guild, i.member.as_ref()).await?;
    if let Err(e) = lead::decidable(&data.app, guild, application, privileged).await {
        return refuse(ctx, i, &refusal::lead(e)?).await;
    }
    defer(ctx, i).await?;
    let msg = match lead::approve(&data.app, guild, application, i.user.id.get(), privileged).await {
        Ok(d) => decided_text(&d),
        Err(LeadError::NameExists) => {
            "Error: A group with the proposed name already exists now, so I created nothing. The application is still open: decline it with a reason (for example, suggest leading the existing group).".to_string()
        }
        Err(e) => format!("Error: {}", refusal::lead(e)?),
    };
    edit_text(ctx, i, msg).await
}

/// *Decline*: ask the reason in a form (admins only, open applications only).
pub async fn decline_button(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    application: i64,
) -> Result<(), Error> {
    let Some(guild) = i.guild_id.map(|g| g.get()) else { return refuse(ctx, i, "This only works in a server.").await };
    let privileged = access::member_is_admin(&data.app, guild, i.member.as_ref()).await?;
    if let Err(e) = lead::decidable(&data.app, guild, application, privileged).await {
        return refuse(ctx, i, &refusal::lead(e)?).await;
    }
    let modal = CreateModal::new(CustomId::LeadDeclineForm { application }.encode(), "Decline the application")
        .components(vec![input(REASON, "Reason (sent to the applicant)", InputTextStyle::Paragraph, 1000, true)]);
    crate::replies::respond(ctx, i, CreateInteractionResponse::Modal(modal)).await?;
    Ok(())
}

/// The decline reason form, submitted.
pub async fn decline_submitted(
    ctx: &SerenityContext,
    data: &Data,
    m: &ModalInteraction,
    application: i64,
) -> Result<(), Error> {
    let Some(guild) = m.guild_id.map(|g| g.get()) else {
        return modal_reply(ctx, m, "Error: This only works in a server.").await;
    };
    let privileged = access::member_is_admin(&data.app, guild, m.member.as_ref()).await?;
    if !crate::auth::may_decide_lead(privileged) {
        return modal_reply(ctx, m, &format!("Error: {}", crate::auth::NOT_ADMIN)).await;
    }
    let reason = match domain::parse_reason(&field(m, REASON)) {
        Ok(r) => r,
        Err(e) => return modal_reply(ctx, m, &format!("Error: {e} The application is still open.")).await,
    };
    defer_modal(ctx, m).await?;
    let msg = match lead::decline(&data.app, guild, application, m.user.id.get(), privileged, &reason).await {
        Ok(d) => decided_text(&d),
        Err(e) => format!("Error: {}", refusal::lead(e)?),
    };
    edit_modal(ctx, m, msg).await
}

/// *Withdraw* in `/lead status` (the applicant only).
pub async fn withdraw_button(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    application: i64,
) -> Result<(), Error> {
    let Some(guild) = i.guild_id.map(|g| g.get()) else { return refuse(ctx, i, "This only works in a server.").await };
    let user = i.user.id.get();
    // The card is updated before the answer: within Discord's 3 s whatever it takes.
    let work = async {
        let msg = match lead::withdraw(&data.app, guild, application, user).await {
            Ok(a) => format!("You withdrew application #{} for **{}**.", a.id, a.target.name()),
            Err(e) => return Ok(Pressed::Refuse(refusal::lead(e)?)),
        };
        let list = lead::status(&data.app, guild, user).await?;
        let v = view::status(&list);
        Ok(Pressed::Update(crate::views::group_page::View { content: msg, ..v }))
    };
    update_in_time(ctx, i, work).await
}
