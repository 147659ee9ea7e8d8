//! Every answer to an interaction, in one place: ephemeral and pinging
//! nobody unless it updates the message pressed. Slash commands answer
//! through poise's `Context`; buttons, selects and modals through their
//! serenity interaction. What a person reads for an error is
//! `error::message_for`, for both.
//!
//! Handlers answer only through these functions, so each tells
//! `telemetry` when an interaction got its first callback (the time to it
//! is one of the O1 histograms) and when what it showed was a refusal
//! ("Error: ..."), which then counts as outcome "refused".

use crate::discord::no_pings;
use crate::telemetry;
use crate::types::{Context, Error};
use crate::views::group_page::View;
use poise::CreateReply;
use serenity::all::{
    ComponentInteraction, Context as SerenityContext, CreateInteractionResponse, CreateInteractionResponseFollowup,
    CreateInteractionResponseMessage, CreateModal, EditInteractionResponse, ModalInteraction,
};
use std::future::Future;
use std::time::Duration;

/// A refusal, as every one is written.
fn is_refusal(text: &str) -> bool {
    text.starts_with("Error:")
}

/// Poise answered the command (its first `send` is the callback, later
/// ones are follow-ups).
fn sent(ctx: Context<'_>, refusal: bool) {
    telemetry::answered(ctx.id());
    if refusal {
        telemetry::refused(ctx.id());
    }
}

// Slash commands.

/// An ephemeral text reply to a command.
pub async fn say(ctx: Context<'_>, text: impl Into<String>) -> Result<(), Error> {
    let text = text.into();
    let refusal = is_refusal(&text);
    ctx.send(CreateReply::default().content(text).ephemeral(true).allowed_mentions(no_pings())).await?;
    sent(ctx, refusal);
    Ok(())
}

/// Acknowledge a command at once with an ephemeral "thinking" message,
/// when the work may take longer than Discord's 3 seconds (N1).
pub async fn defer_command(ctx: Context<'_>) -> Result<(), Error> {
    ctx.defer_ephemeral().await?;
    sent(ctx, false);
    Ok(())
}

/// Answer a command with a form (modal).
pub async fn open_modal(ctx: Context<'_>, modal: CreateModal) -> Result<(), Error> {
    let poise::Context::Application(a) = ctx else {
        return Err(crate::error::user("This only works as a slash command."));
    };
    a.interaction.create_response(ctx.http(), CreateInteractionResponse::Modal(modal)).await?;
    a.has_sent_initial_response.store(true, std::sync::atomic::Ordering::SeqCst);
    sent(ctx, false);
    Ok(())
}

/// A rendered view as an ephemeral reply to a command.
pub async fn send_view(ctx: Context<'_>, view: View) -> Result<(), Error> {
    let refusal = is_refusal(&view.content);
    let mut reply = CreateReply::default().ephemeral(true).allowed_mentions(no_pings()).components(view.components);
    if !view.content.is_empty() {
        reply = reply.content(view.content);
    }
    for e in view.embeds {
        reply = reply.embed(e);
    }
    ctx.send(reply).await?;
    sent(ctx, refusal);
    Ok(())
}

/// A file to attach to a reply: its name, its bytes, its alt text.
pub struct Upload {
    pub name: String,
    pub bytes: Vec<u8>,
    pub description: Option<String>,
}

/// A rendered view with files as an ephemeral reply to a command (the
/// `/stats` chart, the `/export` tables). After a deferral the first one
/// fills in the answer and the next ones are follow-ups.
pub async fn send_files(ctx: Context<'_>, view: View, files: Vec<Upload>) -> Result<(), Error> {
    let mut reply = CreateReply::default().ephemeral(true).allowed_mentions(no_pings()).components(view.components);
    if !view.content.is_empty() {
        reply = reply.content(view.content);
    }
    for e in view.embeds {
        reply = reply.embed(e);
    }
    for f in files {
        let mut a = serenity::all::CreateAttachment::bytes(f.bytes, f.name);
        if let Some(d) = f.description {
            a = a.description(d);
        }
        reply = reply.attachment(a);
    }
    ctx.send(reply).await?;
    sent(ctx, false);
    Ok(())
}

/// An ephemeral "Error: ..." reply to a command; a failure to send it is
/// logged.
pub async fn refuse_command(ctx: Context<'_>, msg: &str) {
    let reply = CreateReply::default().content(format!("Error: {msg}")).ephemeral(true).allowed_mentions(no_pings());
    match ctx.send(reply).await {
        Ok(_) => sent(ctx, true),
        Err(e) => tracing::warn!(error = %e, "could not send an error reply"),
    }
}

// Buttons and selects.

/// An ephemeral "Error: ..." answer to a press.
pub async fn refuse(ctx: &SerenityContext, i: &ComponentInteraction, msg: &str) -> Result<(), Error> {
    let r = CreateInteractionResponseMessage::new()
        .content(format!("Error: {msg}"))
        .ephemeral(true)
        .allowed_mentions(no_pings());
    respond(ctx, i, CreateInteractionResponse::Message(r)).await?;
    telemetry::refused(i.id.get());
    Ok(())
}

/// The first answer to a press, whatever it is (a message, an update of the
/// message pressed, an acknowledgement, a form).
pub async fn respond(
    ctx: &SerenityContext,
    i: &ComponentInteraction,
    r: CreateInteractionResponse,
) -> Result<(), Error> {
    i.create_response(&ctx.http, r).await?;
    telemetry::answered(i.id.get());
    Ok(())
}

/// Acknowledge a press at once with an ephemeral "thinking" message.
pub async fn defer(ctx: &SerenityContext, i: &ComponentInteraction) -> Result<(), Error> {
    respond(ctx, i, CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true))).await
}

/// Fill in the deferred answer (or the message being updated) with a view.
pub async fn edit(ctx: &SerenityContext, i: &ComponentInteraction, view: View) -> Result<(), Error> {
    if is_refusal(&view.content) {
        telemetry::refused(i.id.get());
    }
    i.edit_response(
        &ctx.http,
        EditInteractionResponse::new()
            .content(view.content)
            .embeds(view.embeds)
            .components(view.components)
            .allowed_mentions(no_pings()),
    )
    .await?;
    Ok(())
}

/// Fill in the deferred answer with text only.
pub async fn edit_text(ctx: &SerenityContext, i: &ComponentInteraction, text: String) -> Result<(), Error> {
    if is_refusal(&text) {
        telemetry::refused(i.id.get());
    }
    i.edit_response(&ctx.http, EditInteractionResponse::new().content(text).allowed_mentions(no_pings())).await?;
    Ok(())
}

/// Replace the message pressed with a view.
pub async fn update(ctx: &SerenityContext, i: &ComponentInteraction, view: View) -> Result<(), Error> {
    let r = CreateInteractionResponseMessage::new()
        .content(view.content)
        .embeds(view.embeds)
        .components(view.components)
        .allowed_mentions(no_pings());
    respond(ctx, i, CreateInteractionResponse::UpdateMessage(r)).await
}

/// What a press's work ends in: the message pressed shown anew, or an
/// ephemeral refusal.
pub enum Pressed {
    Update(View),
    Refuse(String),
}

/// How long a press's work may take before the press is acknowledged:
/// Discord drops a first answer that comes after 3 s ("This interaction
/// failed"), and the answer's own round trip has to fit in what is left
/// when the bot is loaded.
pub const ANSWER_BUDGET: Duration = Duration::from_millis(1500);

/// Replace the message pressed with what `work` shows, answering within
/// Discord's 3 s whatever `work` takes: when it is done within
/// [`ANSWER_BUDGET`] (almost always) the answer is one callback; otherwise
/// the press is acknowledged (a deferred update: the message stays as it
/// is meanwhile) and the message edited, or the refusal sent as an
/// ephemeral follow-up, when `work` is done.
pub async fn update_in_time(
    ctx: &SerenityContext,
    i: &ComponentInteraction,
    work: impl Future<Output = Result<Pressed, Error>>,
) -> Result<(), Error> {
    let mut work = std::pin::pin!(work);
    let done = tokio::select! {
        r = &mut work => Some(r),
        () = tokio::time::sleep(ANSWER_BUDGET) => None,
    };
    if let Some(r) = done {
        return match r? {
            Pressed::Update(view) => update(ctx, i, view).await,
            Pressed::Refuse(msg) => refuse(ctx, i, &msg).await,
        };
    }
    respond(ctx, i, CreateInteractionResponse::Acknowledge).await?;
    match work.await? {
        Pressed::Update(view) => edit(ctx, i, view).await,
        Pressed::Refuse(msg) => {
            let f = CreateInteractionResponseFollowup::new()
                .content(format!("Error: {msg}"))
                .ephemeral(true)
                .allowed_mentions(no_pings());
            i.create_followup(&ctx.http, f).await?;
            telemetry::refused(i.id.get());
            Ok(())
        }
    }
}

/// A press whose handler failed: the deferred answer is filled in if there
/// is one (rather than leave the member looking at "thinking..."),
/// otherwise answered now. Editing first never risks a second initial
/// response.
pub async fn component_failed(ctx: &SerenityContext, i: &ComponentInteraction, e: &Error) {
    let msg = crate::error::message_for(e);
    let edit = EditInteractionResponse::new().content(format!("Error: {msg}")).allowed_mentions(no_pings());
    if i.edit_response(&ctx.http, edit).await.is_err() {
        let _ = refuse(ctx, i, &msg).await;
    }
}

// Modal submits.

/// An ephemeral answer to a modal submit (the text as given: callers write
/// "Error: " themselves when it is one).
pub async fn modal_reply(ctx: &SerenityContext, m: &ModalInteraction, msg: &str) -> Result<(), Error> {
    let r = CreateInteractionResponseMessage::new().content(msg).ephemeral(true).allowed_mentions(no_pings());
    m.create_response(&ctx.http, CreateInteractionResponse::Message(r)).await?;
    telemetry::answered(m.id.get());
    if is_refusal(msg) {
        telemetry::refused(m.id.get());
    }
    Ok(())
}

/// An ephemeral answer to a modal submit with a view (a refusal that
/// shows back what was typed, with a button to correct it).
pub async fn modal_reply_view(ctx: &SerenityContext, m: &ModalInteraction, view: View) -> Result<(), Error> {
    let refusal = is_refusal(&view.content);
    let r = CreateInteractionResponseMessage::new()
        .content(view.content)
        .embeds(view.embeds)
        .components(view.components)
        .ephemeral(true)
        .allowed_mentions(no_pings());
    m.create_response(&ctx.http, CreateInteractionResponse::Message(r)).await?;
    telemetry::answered(m.id.get());
    if refusal {
        telemetry::refused(m.id.get());
    }
    Ok(())
}

/// Acknowledge a modal submit at once with an ephemeral "thinking" message.
pub async fn defer_modal(ctx: &SerenityContext, m: &ModalInteraction) -> Result<(), Error> {
    m.create_response(
        &ctx.http,
        CreateInteractionResponse::Defer(CreateInteractionResponseMessage::new().ephemeral(true)),
    )
    .await?;
    telemetry::answered(m.id.get());
    Ok(())
}

/// Fill in a modal's deferred answer.
pub async fn edit_modal(ctx: &SerenityContext, m: &ModalInteraction, msg: String) -> Result<(), Error> {
    if is_refusal(&msg) {
        telemetry::refused(m.id.get());
    }
    m.edit_response(&ctx.http, EditInteractionResponse::new().content(msg).allowed_mentions(no_pings())).await?;
    Ok(())
}

/// A modal submit whose handler failed (see `component_failed`).
pub async fn modal_failed(ctx: &SerenityContext, m: &ModalInteraction, e: &Error) {
    let msg = format!("Error: {}", crate::error::message_for(e));
    let edit = EditInteractionResponse::new().content(msg.clone()).allowed_mentions(no_pings());
    if m.edit_response(&ctx.http, edit).await.is_err() {
        let _ = modal_reply(ctx, m, &msg).await;
    }
}
