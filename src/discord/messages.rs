//! Messages the bot posts on its own (not answers to an interaction): post,
//! edit and delete, always with empty allowed mentions (A6), except
//! `post_pinging`, which pings exactly the users and role it is given.

use super::{call, no_pings, DiscordError, DiscordHttp};
use serenity::all::{
    ChannelId, CreateAllowedMentions, CreateEmbed, CreateMessage, EditMessage, MessageId, MessageReference, Nonce,
    RoleId, UserId,
};

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

/// Who a message may ping and how it is sent; see `post_pinging`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Mentions<'a> {
    /// The only users the message may ping (whatever its text mentions).
    pub users: &'a [u64],
    /// The only role it may ping.
    pub role: Option<u64>,
    /// Post it as a reply to this message of the channel.
    pub reply_to: Option<u64>,
    /// At most 25 characters: Discord returns the first message when the
    /// same nonce is sent again within minutes, so a retry after a lost
    /// answer (a 5xx after Discord posted) does not post twice.
    pub nonce: Option<&'a str>,
}

/// Post a plain message that pings exactly what `pings` allows (nobody when
/// it allows nothing); returns its id.
pub async fn post_pinging(
    http: &DiscordHttp,
    channel_id: u64,
    content: &str,
    pings: Mentions<'_>,
) -> Result<u64, DiscordError> {
    let mut allowed = CreateAllowedMentions::new().users(pings.users.iter().map(|u| UserId::new(*u)));
    if let Some(r) = pings.role {
        allowed = allowed.roles([RoleId::new(r)]);
    }
    let m = call(|| {
        let mut msg = CreateMessage::new().content(content).allowed_mentions(allowed.clone());
        if let Some(r) = pings.reply_to {
            msg = msg.reference_message(MessageReference::from((ChannelId::new(channel_id), MessageId::new(r))));
        }
        if let Some(n) = pings.nonce {
            msg = msg.nonce(Nonce::String(n.to_string())).enforce_nonce(true);
        }
        ChannelId::new(channel_id).send_message(http.as_ref(), msg)
    })
    .await?;
    Ok(m.id.get())
}

/// Edit the answer to an interaction by its token (it lives 15 minutes):
/// the applier's outcome of a decision that was answered "Discord is
/// applying it" (N6). Text only, no components, pinging nobody.
pub async fn edit_answer(http: &DiscordHttp, token: &str, content: &str) -> Result<(), DiscordError> {
    let edit = serenity::all::EditInteractionResponse::new()
        .content(content)
        .embeds(vec![])
        .components(vec![])
        .allowed_mentions(no_pings());
    call(|| http.edit_original_interaction_response(token, &edit, vec![])).await.map(|_| ())
}
