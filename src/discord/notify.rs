//! Notification side effects (S3, S5 mention mode): the per-group
//! notification role, the active threads read at start-up to catch up (S6),
//! and a thread's parent. The messages that ping are posted with
//! `messages::post_pinging`; thread membership is in `channels`.

use super::{call, DiscordError, DiscordHttp};
use serenity::all::{ChannelId, GuildId};

/// An active thread of a guild: (thread id, parent channel id, creator).
pub struct ActiveThread {
    pub id: u64,
    pub parent_id: Option<u64>,
    pub owner_id: Option<u64>,
    /// Private threads are not topics: only their members see them.
    pub private: bool,
}

/// Every active thread of the guild the bot can see.
pub async fn active_threads(http: &DiscordHttp, guild_id: u64) -> Result<Vec<ActiveThread>, DiscordError> {
    let data = call(|| http.get_guild_active_threads(GuildId::new(guild_id))).await?;
    Ok(data
        .threads
        .iter()
        .map(|t| ActiveThread {
            id: t.id.get(),
            parent_id: t.parent_id.map(|p| p.get()),
            owner_id: t.owner_id.map(|o| o.get()),
            private: t.kind == serenity::all::ChannelType::PrivateThread,
        })
        .collect())
}

/// A thread's parent channel and guild (`None` when it is not a thread).
pub async fn thread_parent(http: &DiscordHttp, channel_id: u64) -> Result<Option<u64>, DiscordError> {
    let ch = call(|| http.get_channel(ChannelId::new(channel_id))).await?;
    Ok(match ch {
        serenity::all::Channel::Guild(g) if g.thread_metadata.is_some() => g.parent_id.map(|p| p.get()),
        _ => None,
    })
}
