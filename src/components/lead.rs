//! Lead applications: the `/lead apply` forms, *Approve* / *Decline* (admins
//! only, checked here on every press), the decline reason form, and
//! *Withdraw* (the applicant only).

use super::refuse;
use crate::custom_id::CustomId;
use crate::discord::no_pings;
use crate::domain::group::Bucket;
use crate::domain::lead::{self as domain, Application, Status, Target};
use crate::service::lead::{self, Decided, LeadError, Posted};
use crate::types::{Data, Error};
use crate::views::lead as view;
use serenity::all::{
    ActionRowComponent, ComponentInteraction, Context as SerenityContext, CreateActionRow, CreateInputText,
    CreateInteractionResponse, CreateInteractionResponseMessage, CreateModal, EditInteractionResponse, InputTextStyle,
    ModalInteraction,
};

/// Field ids of the forms.
pub const NAME: &str = "name";
pub const DESCRIPTION: &str = "description";
pub const MOTIVATION: &str = "motivation";
pub const EXPERIENCE: &str = "experience";
pub const HOURS: &str = "hours";
pub const REASON: &str = "reason";

pub(crate) fn input(id: &str, label: &str, style: InputTextStyle, max: u16, required: bool) -> CreateActionRow {
    CreateActionRow::InputText(CreateInputText::new(style, label, id).max_length(max).required(required))
}

fn answer_inputs() -> Vec<CreateActionRow> {
    vec![
        input(MOTIVATION, "Why do you want to lead it?", InputTextStyle::Paragraph, 1000, true),
        input(EXPERIENCE, "Your experience leading or moderating", InputTextStyle::Paragraph, 1000, true),
        input(HOURS, "Hours per week you can give (1-168)", InputTextStyle::Short, 3, true),
    ]
}

/// The form to lead an existing group (3 inputs).
pub fn apply_form(group: i64, group_name: &str) -> CreateModal {
    let title: String = format!("Lead {group_name}").chars().take(45).collect();
    CreateModal::new(CustomId::LeadApplyForm { group }.encode(), title).components(answer_inputs())
}

/// The form to propose a new group (5 inputs: Discord's maximum; the bucket
/// was chosen as a command option).
pub fn propose_form(bucket: Bucket) -> CreateModal {
    let mut rows = vec![
        input(NAME, "Name of the new group", InputTextStyle::Short, 100, true),
        input(DESCRIPTION, "What the group is about", InputTextStyle::Paragraph, 1000, false),
    ];
    rows.extend(answer_inputs());
    CreateModal::new(CustomId::LeadProposeForm { bucket }.encode(), format!("Propose a group in {}", bucket.label()))
        .components(rows)
}

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

/// An ephemeral answer to a modal submit.
pub async fn modal_reply(ctx: &SerenityContext, m: &ModalInteraction, msg: &str) -> Result<(), Error> {
    let r = CreateInteractionResponseMessage::new().content(msg).ephemeral(true).allowed_mentions(no_pings());
    m.create_response(&ctx.http, CreateInteractionResponse::Message(r)).await?;
    Ok(())
}

pub(crate) async fn defer_modal(ctx: &SerenityContext, m: &ModalInteraction) -> Result<(), Error> {
    m.create_response(
        &ctx.http,
        CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true)),
    )
    .await?;
    Ok(())
}

pub(crate) async fn edit_modal(ctx: &SerenityContext, m: &ModalInteraction, msg: String) -> Result<(), Error> {
    m.edit_response(&ctx.http, EditInteractionResponse::new().content(msg).allowed_mentions(no_pings())).await?;
    Ok(())
}

/// What to tell someone about an application that is no longer open.
pub fn closed_text(a: &Application) -> String {
    match a.status {
        Status::Withdrawn => format!("Application #{} was withdrawn by the applicant.", a.id),
        _ => format!("Application #{} was already decided: {}.", a.id, view::standing(a)),
    }
}

/// Where the member's first application stands (a second one is refused).
pub fn already_open_text(a: &Application) -> String {
    format!(
        "You already have an open application #{} for **{}**: it is {}. Wait for the decision, or withdraw it in `/lead status` first.",
        a.id,
        a.target.name(),
        view::standing(a)
    )
}

/// The user-facing text for a refused lead action; internal errors are
/// passed on (and shown as "something went wrong").
pub fn refusal(e: LeadError) -> Result<String, Error> {
    Ok(match e {
        LeadError::NoGroup => "That group no longer exists.".into(),
        LeadError::Archived => "That group is archived.".into(),
        LeadError::AlreadyLeader => "You already lead that group.".into(),
        LeadError::NameExists => {
            "A group with that name already exists. Apply to lead it instead (`/lead apply` with `group`), or pick another name.".into()
        }
        LeadError::AlreadyOpen(a) => already_open_text(&a),
        LeadError::NotFound => "That application doesn't exist (or isn't yours).".into(),
        LeadError::AlreadyClosed(a) => closed_text(&a),
        LeadError::ApplicantGone => "The applicant is no longer a member of this server, so they can't lead a group. Decline the application instead.".into(),
        LeadError::Leader(e) => {
            let msg = crate::components::membership::refusal(&e, "the group", "change")?;
            format!("I couldn't make the applicant a leader: {msg} The application is still open.")
        }
        LeadError::Create(crate::service::groups::CreateError::Discord { step, source }) => {
            format!("{} The application is still open.", crate::commands::group::explain_discord(step, &source))
        }
        LeadError::Create(e) => return Err(Box::new(e)),
        LeadError::Db(e) => return Err(Box::new(e)),
    })
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
    let answers = match domain::Answers::parse(&field(m, MOTIVATION), &field(m, EXPERIENCE), &field(m, HOURS)) {
        Ok(a) => a,
        Err(e) => return modal_reply(ctx, m, &format!("Error: {e} Nothing was saved; run `/lead apply` again.")).await,
    };
    let target = match (group, bucket) {
        (Some(group_id), _) => Target::Existing { group_id, group_name: String::new() },
        (None, Some(b)) => match domain::parse_proposal(&field(m, NAME), b, &field(m, DESCRIPTION)) {
            Ok(t) => t,
            Err(e) => {
                return modal_reply(ctx, m, &format!("Error: {e} Nothing was saved; run `/lead apply` again.")).await
            }
        },
        (None, None) => return modal_reply(ctx, m, "Error: This form isn't valid.").await,
    };
    defer_modal(ctx, m).await?;
    let msg = match lead::apply(&data.app, guild, m.user.id.get(), target, &answers).await {
        Ok((a, posted)) => {
            let where_ = match posted {
                Posted::Card { .. } => "It's in front of the admins now; you'll get a DM when they decide.".to_string(),
                Posted::NoModChannel | Posted::ModChannelUnusable => {
                    "It's saved, but the admins haven't set a mod channel for applications yet, so it waits until they do; they can see it in `/lead pending`.".to_string()
                }
            };
            format!(
                "Thanks! Your application #{} to lead **{}** was received. {where_} Follow it with `/lead status`.",
                a.id,
                a.target.name()
            )
        }
        Err(e) => format!("Error: {}", refusal(e)?),
    };
    edit_modal(ctx, m, msg).await
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
    if !crate::service::access::member_is_admin(&data.app, guild, i.member.as_ref()).await? {
        return refuse(ctx, i, crate::auth::NOT_ADMIN).await;
    }
    i.create_response(
        &ctx.http,
        CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true)),
    )
    .await?;
    let msg = match lead::approve(&data.app, guild, application, i.user.id.get()).await {
        Ok(d) => decided_text(&d),
        Err(LeadError::NameExists) => {
            "Error: A group with the proposed name already exists now, so I created nothing. The application is still open: decline it with a reason (for example, suggest leading the existing group).".to_string()
        }
        Err(e) => format!("Error: {}", refusal(e)?),
    };
    i.edit_response(&ctx.http, EditInteractionResponse::new().content(msg).allowed_mentions(no_pings())).await?;
    Ok(())
}

/// *Decline*: ask the reason in a form (admins only, open applications only).
pub async fn decline_button(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    application: i64,
) -> Result<(), Error> {
    let Some(guild) = i.guild_id.map(|g| g.get()) else { return refuse(ctx, i, "This only works in a server.").await };
    if !crate::service::access::member_is_admin(&data.app, guild, i.member.as_ref()).await? {
        return refuse(ctx, i, crate::auth::NOT_ADMIN).await;
    }
    match lead::still_open(&data.app, guild, application).await {
        Ok(_) => {}
        Err(e) => return refuse(ctx, i, &refusal(e)?).await,
    }
    let modal = CreateModal::new(CustomId::LeadDeclineForm { application }.encode(), "Decline the application")
        .components(vec![input(REASON, "Reason (sent to the applicant)", InputTextStyle::Paragraph, 1000, true)]);
    i.create_response(&ctx.http, CreateInteractionResponse::Modal(modal)).await?;
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
    if !crate::service::access::member_is_admin(&data.app, guild, m.member.as_ref()).await? {
        return modal_reply(ctx, m, &format!("Error: {}", crate::auth::NOT_ADMIN)).await;
    }
    let reason = match domain::parse_reason(&field(m, REASON)) {
        Ok(r) => r,
        Err(e) => return modal_reply(ctx, m, &format!("Error: {e} The application is still open.")).await,
    };
    defer_modal(ctx, m).await?;
    let msg = match lead::decline(&data.app, guild, application, m.user.id.get(), &reason).await {
        Ok(d) => decided_text(&d),
        Err(e) => format!("Error: {}", refusal(e)?),
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
    let msg = match lead::withdraw(&data.app, guild, application, user).await {
        Ok(a) => format!("You withdrew application #{} for **{}**.", a.id, a.target.name()),
        Err(e) => return refuse(ctx, i, &refusal(e)?).await,
    };
    let list = lead::status(&data.app, guild, user).await?;
    let v = view::status(&list);
    let r = CreateInteractionResponseMessage::new()
        .content(msg)
        .embeds(v.embeds)
        .components(v.components)
        .allowed_mentions(no_pings());
    i.create_response(&ctx.http, CreateInteractionResponse::UpdateMessage(r)).await?;
    Ok(())
}
