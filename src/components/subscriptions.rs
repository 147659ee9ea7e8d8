//! "My Subscriptions" components (S4): pages, the delete multi-select and
//! *Unsubscribe from all*. Each re-reads the presser's own subscriptions; a
//! selected id that is not theirs is ignored.

use crate::custom_id::row_id;
use crate::replies::{refuse, update, Pressed};
use crate::service::subscriptions;
use crate::types::{Data, Error};
use crate::views::subscriptions as view;
use serenity::all::{
    ComponentInteraction, ComponentInteractionDataKind, Context as SerenityContext, CreateInteractionResponse,
};

pub async fn page(ctx: &SerenityContext, data: &Data, i: &ComponentInteraction, page: u32) -> Result<(), Error> {
    let Some(guild) = i.guild_id else { return refuse(ctx, i, "This only works in a server.").await };
    // The page's channels and threads are named by Discord: answered in time.
    let work = async {
        let items = subscriptions::page(&data.app, guild.get(), i.user.id.get(), page as usize).await?;
        Ok(Pressed::Update(view::render(&items, page as usize, "")))
    };
    crate::replies::update_in_time(ctx, i, work).await
}

pub async fn delete_selected(
    ctx: &SerenityContext,
    data: &Data,
    i: &ComponentInteraction,
    page: u32,
) -> Result<(), Error> {
    let Some(guild) = i.guild_id else { return refuse(ctx, i, "This only works in a server.").await };
    let ComponentInteractionDataKind::StringSelect { values } = &i.data.kind else {
        return refuse(ctx, i, "This menu isn't valid. Run /subscriptions again.").await;
    };
    let Some(ids) = values.iter().map(|v| row_id(v)).collect::<Option<Vec<i64>>>() else {
        return refuse(ctx, i, "This menu isn't valid. Run /subscriptions again.").await;
    };
    let user = i.user.id.get();
    // Leaving threads and notification roles is Discord's work: answered
    // within its 3 s whatever that takes.
    let work = async {
        let n = subscriptions::delete(&data.app, guild.get(), user, Some(&ids)).await?;
        let items = subscriptions::page(&data.app, guild.get(), user, page as usize).await?;
        let note = match n {
            1 => "Deleted 1 subscription.".to_string(),
            n => format!("Deleted {n} subscriptions."),
        };
        Ok(Pressed::Update(view::render(&items, page as usize, &note)))
    };
    crate::replies::update_in_time(ctx, i, work).await
}

pub async fn ask_all(ctx: &SerenityContext, data: &Data, i: &ComponentInteraction) -> Result<(), Error> {
    let Some(guild) = i.guild_id else { return refuse(ctx, i, "This only works in a server.").await };
    let items = subscriptions::mine(&data.app, guild.get(), i.user.id.get()).await?;
    if items.is_empty() {
        return update(ctx, i, view::render(&items, 0, "")).await;
    }
    update(ctx, i, view::confirm_all(items.len())).await
}

pub async fn confirm_all(ctx: &SerenityContext, data: &Data, i: &ComponentInteraction) -> Result<(), Error> {
    let Some(guild) = i.guild_id else { return refuse(ctx, i, "This only works in a server.").await };
    // Group subscriptions take their notification roles with them: that can
    // take longer than 3 seconds, so acknowledge first.
    crate::replies::respond(ctx, i, CreateInteractionResponse::Acknowledge).await?;
    let n = subscriptions::delete(&data.app, guild.get(), i.user.id.get(), None).await?;
    let edit = serenity::all::EditInteractionResponse::new()
        .content(format!("You unsubscribed from everything ({n} in all)."))
        .embeds(vec![])
        .components(vec![])
        .allowed_mentions(crate::discord::no_pings());
    i.edit_response(&ctx.http, edit).await?;
    Ok(())
}
