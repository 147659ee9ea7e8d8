//! Reading a channel as the bot sees it: its type and the bot's own
//! permissions there, for the A1 checks before a channel is configured; the
//! whole server so, for `/health` (A4);
//! and a thread's members (a private thread is seen by its members only;
//! a member of any thread is notified by Discord of its new messages).

use super::{call, DiscordError, DiscordHttp};
use crate::domain::channels::ChannelFacts;
use crate::domain::health::{ChannelInfo, Server};
use crate::domain::role_safety::RoleFacts;
use serenity::all::{Channel, ChannelId, ChannelType, GuildId, UserId};

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

/// The server as `/health` reads it: every role, the bot's server-wide
/// permissions and highest role, and every channel (threads aren't listed)
/// with the bot's permissions in it, computed as Discord does. Three reads:
/// the server (with its roles), the bot's member, the channels.
pub async fn survey(http: &DiscordHttp, guild_id: u64, bot_id: u64) -> Result<Server, DiscordError> {
    let guild = call(|| http.get_guild(GuildId::new(guild_id))).await?;
    let me = call(|| http.get_member(GuildId::new(guild_id), UserId::new(bot_id))).await?;
    let list = call(|| http.get_channels(GuildId::new(guild_id))).await?;
    let mut roles: Vec<RoleFacts> = guild.roles.values().map(|r| super::roles::facts(guild_id, r)).collect();
    roles.sort_by_key(|r| (r.position, r.id));
    let top = roles.iter().filter(|r| me.roles.iter().any(|m| m.get() == r.id)).max_by_key(|r| (r.position, r.id));
    let channels = list
        .iter()
        .filter(|c| !matches!(c.kind, ChannelType::PublicThread | ChannelType::PrivateThread | ChannelType::NewsThread))
        .map(|c| ChannelInfo {
            id: c.id.get(),
            kind: u8::from(c.kind),
            parent_id: c.parent_id.map(|p| p.get()),
            bot_permissions: guild.user_permissions_in(c, &me).bits(),
        })
        .collect();
    Ok(Server {
        bot_permissions: guild.member_permissions(&me).bits(),
        bot_top: top.map_or(0, |r| r.position),
        bot_role: top.map_or_else(|| "Guildhall".to_string(), |r| r.name.clone()),
        roles,
        channels,
    })
}
