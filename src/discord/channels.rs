//! Reading a channel as the bot sees it: its type and the bot's own
//! permissions there, for the A1 checks before a channel is configured;
//! and a thread's members (a private thread is seen by its members only;
//! a member of any thread is notified by Discord of its new messages).

use super::{call, DiscordError, DiscordHttp};
use crate::domain::channels::ChannelFacts;
use serenity::all::{Channel, ChannelId, GuildId, UserId};

/// The channel's type and the bot's permissions in it (its roles and the
/// channel's overwrites, computed as Discord does). Three reads: the channel,
/// the server's roles and the bot's member.
pub async fn facts(
    http: &DiscordHttp,
    guild_id: u64,
    channel_id: u64,
    bot_id: u64,
) -> Result<ChannelFacts, DiscordError> {
    let channel = call(|| http.get_channel(ChannelId::new(channel_id))).await?;
    let Channel::Guild(channel) = channel else {
        return Ok(ChannelFacts { id: channel_id, guild_id: None, kind: 1, bot_permissions: 0 });
    };
    if channel.guild_id.get() != guild_id {
        return Ok(ChannelFacts {
            id: channel_id,
            guild_id: Some(channel.guild_id.get()),
            kind: u8::from(channel.kind),
            bot_permissions: 0,
        });
    }
    let guild = call(|| http.get_guild(GuildId::new(guild_id))).await?;
    let me = call(|| http.get_member(GuildId::new(guild_id), UserId::new(bot_id))).await?;
    let perms = guild.user_permissions_in(&channel, &me);
    Ok(ChannelFacts {
        id: channel_id,
        guild_id: Some(guild_id),
        kind: u8::from(channel.kind),
        bot_permissions: perms.bits(),
    })
}

/// Add a user to a thread (so they see a private one, and Discord notifies
/// them of its messages).
pub async fn add_thread_member(http: &DiscordHttp, thread_id: u64, user_id: u64) -> Result<(), DiscordError> {
    call(|| ChannelId::new(thread_id).add_thread_member(http.as_ref(), UserId::new(user_id))).await
}

/// Take a user out of a thread (a private one is then hidden from them).
pub async fn remove_thread_member(http: &DiscordHttp, thread_id: u64, user_id: u64) -> Result<(), DiscordError> {
    call(|| ChannelId::new(thread_id).remove_thread_member(http.as_ref(), UserId::new(user_id))).await
}
