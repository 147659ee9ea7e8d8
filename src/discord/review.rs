//! Cards the bot posts for admins to review (lead applications, leaderless
//! groups), their discussion threads, and DMs telling people an outcome.
//! Every message goes out with empty allowed mentions (A6).

use super::{call, no_pings, DiscordError, DiscordHttp};
use serenity::all::{
    AutoArchiveDuration, ChannelId, CreateActionRow, CreateEmbed, CreateMessage, CreateThread, EditMessage, MessageId,
    UserId,
};

/// Post a card (content, embeds, buttons) in a channel; returns its id. A
/// deleted channel is `DiscordError::Unknown`.
pub async fn post_card(
    http: &DiscordHttp,
    channel_id: u64,
    content: &str,
    embeds: Vec<CreateEmbed>,
    components: Vec<CreateActionRow>,
) -> Result<u64, DiscordError> {
    let m = call(|| {
        ChannelId::new(channel_id).send_message(
            http.as_ref(),
            CreateMessage::new()
                .content(content)
                .embeds(embeds.clone())
                .components(components.clone())
                .allowed_mentions(no_pings()),
        )
    })
    .await?;
    Ok(m.id.get())
}

/// Replace a card's content, embeds and buttons.
pub async fn edit_card(
    http: &DiscordHttp,
    channel_id: u64,
    message_id: u64,
    content: &str,
    embeds: Vec<CreateEmbed>,
    components: Vec<CreateActionRow>,
) -> Result<(), DiscordError> {
    call(|| {
        ChannelId::new(channel_id).edit_message(
            http.as_ref(),
            MessageId::new(message_id),
            EditMessage::new()
                .content(content)
                .embeds(embeds.clone())
                .components(components.clone())
                .allowed_mentions(no_pings()),
        )
    })
    .await
    .map(|_| ())
}

/// Start a public thread on a message, for discussing it; returns its id.
pub async fn start_thread(
    http: &DiscordHttp,
    channel_id: u64,
    message_id: u64,
    name: &str,
) -> Result<u64, DiscordError> {
    let name: String = name.chars().take(100).collect();
    let th = call(|| {
        ChannelId::new(channel_id).create_thread_from_message(
            http.as_ref(),
            MessageId::new(message_id),
            CreateThread::new(name.clone()).auto_archive_duration(AutoArchiveDuration::OneWeek),
        )
    })
    .await?;
    Ok(th.id.get())
}

/// DM a user. Closed DMs are `DiscordError::DmsClosed`.
pub async fn dm(http: &DiscordHttp, user_id: u64, content: &str) -> Result<(), DiscordError> {
    let ch = call(|| UserId::new(user_id).create_dm_channel(http.as_ref())).await?;
    call(|| ch.id.send_message(http.as_ref(), CreateMessage::new().content(content).allowed_mentions(no_pings())))
        .await
        .map(|_| ())
}

/// DM a user a card (content, embeds, buttons); returns the DM channel and
/// the message, so the card can be edited later. Closed DMs are
/// `DiscordError::DmsClosed`.
pub async fn dm_card(
    http: &DiscordHttp,
    user_id: u64,
    content: &str,
    embeds: Vec<CreateEmbed>,
    components: Vec<CreateActionRow>,
) -> Result<(u64, u64), DiscordError> {
    let ch = call(|| UserId::new(user_id).create_dm_channel(http.as_ref())).await?;
    let message_id = post_card(http, ch.id.get(), content, embeds, components).await?;
    Ok((ch.id.get(), message_id))
}

/// Start a private thread (only its members and people with Manage Threads
/// see it) in a text channel; returns its id.
pub async fn start_private_thread(http: &DiscordHttp, channel_id: u64, name: &str) -> Result<u64, DiscordError> {
    let name: String = name.chars().take(100).collect();
    let th = call(|| {
        ChannelId::new(channel_id).create_thread(
            http.as_ref(),
            CreateThread::new(name.clone())
                .kind(serenity::all::ChannelType::PrivateThread)
                .invitable(false)
                .auto_archive_duration(AutoArchiveDuration::OneWeek),
        )
    })
    .await?;
    Ok(th.id.get())
}
