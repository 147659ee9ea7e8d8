//! Reading a channel as the bot sees it: its type and the bot's own
//! permissions there, for the A1 checks before a channel is configured.

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
