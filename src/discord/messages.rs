//! Messages the bot posts on its own (not answers to an interaction): post,
//! edit and delete, always with empty allowed mentions (A6).

use super::{call, no_pings, DiscordError, DiscordHttp};
use serenity::all::{ChannelId, CreateEmbed, CreateMessage, EditMessage, MessageId};

/// Post a message with `content` and `embeds`; returns its id.
pub async fn post(
    http: &DiscordHttp,
    channel_id: u64,
    content: &str,
    embeds: Vec<CreateEmbed>,
) -> Result<u64, DiscordError> {
    let m = call(|| {
        ChannelId::new(channel_id).send_message(
            http.as_ref(),
            CreateMessage::new().content(content).embeds(embeds.clone()).allowed_mentions(no_pings()),
        )
    })
    .await?;
    Ok(m.id.get())
}

/// Replace a message's content and embeds. A deleted message or channel is
/// `DiscordError::Unknown`.
pub async fn edit(
    http: &DiscordHttp,
    channel_id: u64,
    message_id: u64,
    content: &str,
    embeds: Vec<CreateEmbed>,
) -> Result<(), DiscordError> {
    call(|| {
        ChannelId::new(channel_id).edit_message(
            http.as_ref(),
            MessageId::new(message_id),
            EditMessage::new().content(content).embeds(embeds.clone()).allowed_mentions(no_pings()),
        )
    })
    .await
    .map(|_| ())
}

pub async fn delete(http: &DiscordHttp, channel_id: u64, message_id: u64, reason: &str) -> Result<(), DiscordError> {
    call(|| http.delete_message(ChannelId::new(channel_id), MessageId::new(message_id), Some(reason))).await
}
