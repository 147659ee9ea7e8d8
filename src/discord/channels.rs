//! Reading a channel as the bot sees it: its type and the bot's own
//! permissions there, for the A1 checks before a channel is configured; the
//! whole server so, for `/health` (A4);
//! and a thread's members (a private thread is seen by its members only;
//! a member of any thread is notified by Discord of its new messages).

use super::{call, DiscordError, DiscordHttp};
use crate::domain::channels::ChannelFacts;
use crate::domain::health::{ChannelInfo, Server};
use crate::domain::role_safety::RoleFacts;
use crate::domain::subscription::ChannelName;
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

/// The names of `channels` (text channels and forums) and `threads` of a
/// guild as Discord has them now, for a member's list of what they follow:
/// one read of the guild's channels, one of its active threads, and one for
/// each thread neither lists (an archived one, a deleted one). A channel
/// the guild's list lacks, or one Discord calls unknown or places in
/// another server, is `Gone`; one that could not be read is left out.
pub async fn names(
    http: &DiscordHttp,
    guild_id: u64,
    channels: &[u64],
    threads: &[u64],
) -> std::collections::HashMap<u64, ChannelName> {
    let mut out = std::collections::HashMap::new();
    if !channels.is_empty() {
        match call(|| http.get_channels(GuildId::new(guild_id))).await {
            Ok(list) => {
                for &id in channels {
                    let name = list.iter().find(|c| c.id.get() == id).map(|c| c.name.clone());
                    out.insert(id, name.map_or(ChannelName::Gone, ChannelName::Named));
                }
            }
            Err(e) => tracing::warn!(guild_id, error = %e, "reading the server's channels for their names failed"),
        }
    }
    if threads.is_empty() {
        return out;
    }
    match call(|| http.get_guild_active_threads(GuildId::new(guild_id))).await {
        Ok(active) => {
            for t in active.threads.iter().filter(|t| threads.contains(&t.id.get())) {
                out.insert(t.id.get(), ChannelName::Named(t.name.clone()));
            }
        }
        Err(e) => tracing::warn!(guild_id, error = %e, "reading the server's active threads for their names failed"),
    }
    let mut reads = tokio::task::JoinSet::new();
    for &id in threads.iter().filter(|t| !out.contains_key(t)) {
        let http = http.clone();
        reads.spawn(async move {
            let found = match call(|| http.get_channel(ChannelId::new(id))).await {
                Ok(Channel::Guild(c)) if c.guild_id.get() == guild_id => Some(ChannelName::Named(c.name)),
                Ok(_) | Err(DiscordError::Unknown(..)) => Some(ChannelName::Gone),
                Err(e) => {
                    tracing::warn!(channel_id = id, error = %e, "reading a followed thread's name failed");
                    None
                }
            };
            (id, found)
        });
    }
    while let Some(read) = reads.join_next().await {
        if let Ok((id, Some(found))) = read {
            out.insert(id, found);
        }
    }
    out
}
