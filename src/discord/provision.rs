//! Making and unmaking a group's Discord side: the bucket category, the
//! group's role and its channel with the permission overwrites of G3.

use super::{call, DiscordError, DiscordHttp};
use serenity::all::{
    ChannelId, ChannelType, CreateChannel, EditRole, GuildId, PermissionOverwrite, PermissionOverwriteType,
    Permissions, RoleId, TargetId, UserId,
};

/// What members of a group may do in its channel.
pub fn member_allow() -> Permissions {
    Permissions::VIEW_CHANNEL
        | Permissions::READ_MESSAGE_HISTORY
        | Permissions::SEND_MESSAGES
        | Permissions::SEND_MESSAGES_IN_THREADS
        | Permissions::CREATE_PUBLIC_THREADS
}

/// What the bot needs in every group channel, closed ones included.
pub fn bot_allow() -> Permissions {
    Permissions::VIEW_CHANNEL
        | Permissions::READ_MESSAGE_HISTORY
        | Permissions::SEND_MESSAGES
        | Permissions::SEND_MESSAGES_IN_THREADS
        | Permissions::EMBED_LINKS
        | Permissions::MANAGE_THREADS
}

/// Posting rights that, in an open group, only members have.
pub fn posting() -> Permissions {
    Permissions::SEND_MESSAGES
        | Permissions::SEND_MESSAGES_IN_THREADS
        | Permissions::CREATE_PUBLIC_THREADS
        | Permissions::CREATE_PRIVATE_THREADS
}

/// The overwrites of a group channel (G3): open groups are readable by
/// everyone and writable by members; closed groups are hidden from
/// non-members. The bot keeps sight of both.
pub fn group_overwrites(open: bool, guild_id: u64, role_id: u64, bot_id: u64) -> Vec<PermissionOverwrite> {
    let everyone = if open {
        PermissionOverwrite {
            allow: Permissions::VIEW_CHANNEL | Permissions::READ_MESSAGE_HISTORY,
            deny: posting(),
            kind: PermissionOverwriteType::Role(RoleId::new(guild_id)),
        }
    } else {
        PermissionOverwrite {
            allow: Permissions::empty(),
            deny: Permissions::VIEW_CHANNEL,
            kind: PermissionOverwriteType::Role(RoleId::new(guild_id)),
        }
    };
    vec![
        everyone,
        PermissionOverwrite {
            allow: member_allow(),
            deny: Permissions::empty(),
            kind: PermissionOverwriteType::Role(RoleId::new(role_id)),
        },
        PermissionOverwrite {
            allow: bot_allow(),
            deny: Permissions::empty(),
            kind: PermissionOverwriteType::Member(UserId::new(bot_id)),
        },
    ]
}

/// Whether a channel still exists (a 404 means it was deleted).
pub async fn channel_exists(http: &DiscordHttp, channel_id: u64) -> Result<bool, DiscordError> {
    match call(|| http.get_channel(ChannelId::new(channel_id))).await {
        Ok(_) => Ok(true),
        Err(DiscordError::Unknown(..)) => Ok(false),
        Err(e) => Err(e),
    }
}

pub async fn create_category(http: &DiscordHttp, guild_id: u64, name: &str, reason: &str) -> Result<u64, DiscordError> {
    let ch = call(|| {
        GuildId::new(guild_id).create_channel(
            http.as_ref(),
            CreateChannel::new(name).kind(ChannelType::Category).audit_log_reason(reason),
        )
    })
    .await?;
    Ok(ch.id.get())
}

/// A role for a group's members: no permissions, not mentionable by members.
pub async fn create_role(http: &DiscordHttp, guild_id: u64, name: &str, reason: &str) -> Result<u64, DiscordError> {
    let role = call(|| {
        GuildId::new(guild_id).create_role(
            http.as_ref(),
            EditRole::new()
                .name(name)
                .permissions(Permissions::empty())
                .mentionable(false)
                .hoist(false)
                .audit_log_reason(reason),
        )
    })
    .await?;
    Ok(role.id.get())
}

pub struct ChannelSpec<'a> {
    pub guild_id: u64,
    pub name: &'a str,
    pub topic: &'a str,
    pub category_id: u64,
    pub open: bool,
    pub role_id: u64,
    pub bot_id: u64,
}

/// A forum channel for the group, or a text channel where the server cannot
/// have forums. Returns the channel id.
pub async fn create_group_channel(
    http: &DiscordHttp,
    spec: &ChannelSpec<'_>,
    reason: &str,
) -> Result<u64, DiscordError> {
    let make = |kind: ChannelType| {
        let overwrites = group_overwrites(spec.open, spec.guild_id, spec.role_id, spec.bot_id);
        let mut b = CreateChannel::new(spec.name)
            .kind(kind)
            .category(ChannelId::new(spec.category_id))
            .permissions(overwrites)
            .audit_log_reason(reason);
        if !spec.topic.is_empty() {
            b = b.topic(truncate(spec.topic, 1024));
        }
        GuildId::new(spec.guild_id).create_channel(http.as_ref(), b)
    };
    match call(|| make(ChannelType::Forum)).await {
        Ok(ch) => Ok(ch.id.get()),
        // Forums need a Community server; fall back to a text channel.
        Err(DiscordError::Refused { status: 400, .. }) => Ok(call(|| make(ChannelType::Text)).await?.id.get()),
        Err(e) => Err(e),
    }
}

pub async fn delete_role(http: &DiscordHttp, guild_id: u64, role_id: u64, reason: &str) -> Result<(), DiscordError> {
    call(|| http.delete_role(GuildId::new(guild_id), RoleId::new(role_id), Some(reason))).await
}

pub async fn delete_channel(http: &DiscordHttp, channel_id: u64, reason: &str) -> Result<(), DiscordError> {
    call(|| http.delete_channel(ChannelId::new(channel_id), Some(reason))).await.map(|_| ())
}

/// What a leader may do in their group's channel, and nowhere else.
pub fn leader_allow() -> Permissions {
    member_allow() | Permissions::MANAGE_MESSAGES | Permissions::MANAGE_THREADS
}

/// Give a leader moderation rights on one channel (a member overwrite).
pub async fn set_leader_overwrite(
    http: &DiscordHttp,
    channel_id: u64,
    user_id: u64,
    reason: &str,
) -> Result<(), DiscordError> {
    // type 1 = a member overwrite
    let body = serde_json::json!({"allow": leader_allow().bits().to_string(), "deny": "0", "type": 1});
    call(|| http.create_permission(ChannelId::new(channel_id), TargetId::new(user_id), &body, Some(reason))).await
}

pub async fn remove_member_overwrite(
    http: &DiscordHttp,
    channel_id: u64,
    user_id: u64,
    reason: &str,
) -> Result<(), DiscordError> {
    call(|| http.delete_permission(ChannelId::new(channel_id), TargetId::new(user_id), Some(reason))).await
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn closed_groups_hide_the_channel_from_everyone_but_members_and_the_bot() {
        let o = group_overwrites(false, 1, 2, 3);
        assert_eq!(o[0].deny, Permissions::VIEW_CHANNEL);
        assert!(o[1].allow.contains(Permissions::VIEW_CHANNEL | Permissions::SEND_MESSAGES));
        assert!(o[2].allow.contains(Permissions::VIEW_CHANNEL));
    }

    #[test]
    fn open_groups_are_readable_by_everyone_and_writable_by_members() {
        let o = group_overwrites(true, 1, 2, 3);
        assert!(o[0].allow.contains(Permissions::VIEW_CHANNEL));
        assert!(o[0].deny.contains(Permissions::SEND_MESSAGES | Permissions::CREATE_PUBLIC_THREADS));
        assert!(o[1].allow.contains(Permissions::SEND_MESSAGES | Permissions::CREATE_PUBLIC_THREADS));
    }

    #[test]
    fn no_overwrite_grants_an_elevated_permission() {
        let elevated = Permissions::ADMINISTRATOR
            | Permissions::MANAGE_GUILD
            | Permissions::MANAGE_ROLES
            | Permissions::MANAGE_CHANNELS
            | Permissions::MENTION_EVERYONE;
        for open in [true, false] {
            for o in group_overwrites(open, 1, 2, 3) {
                assert!(!o.allow.intersects(elevated));
            }
        }
    }
}
