//! Making and unmaking a group's Discord side: the bucket category, the
//! group's role and its channel with the permission overwrites of G3.

use super::{call, DiscordError, DiscordHttp};
use serenity::all::{
    ChannelId, ChannelType, CreateChannel, EditChannel, EditRole, GuildId, PermissionOverwrite,
    PermissionOverwriteType, Permissions, RoleId, TargetId, UserId,
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

/// The overwrites of a new group channel (G3): open groups are readable by
/// everyone and writable by members; closed groups are hidden from
/// non-members. The bot keeps sight of both.
pub fn group_overwrites(open: bool, guild_id: u64, role_id: u64, bot_id: u64) -> Vec<PermissionOverwrite> {
    channel_overwrites(Access { open, members_can_post: true, archived: false }, guild_id, role_id, bot_id)
}

/// Who may do what in a group's channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Access {
    /// Open: everyone reads. Closed: only members (and the bot) see it.
    pub open: bool,
    /// False: members read but don't post (only leaders and admins do).
    pub members_can_post: bool,
    /// Archived: read-only for everyone, members included; history stays.
    pub archived: bool,
}

/// The overwrites of a group channel for `access`, in this order:
/// @everyone, the group role, the bot.
pub fn channel_overwrites(access: Access, guild_id: u64, role_id: u64, bot_id: u64) -> Vec<PermissionOverwrite> {
    let read = Permissions::VIEW_CHANNEL | Permissions::READ_MESSAGE_HISTORY;
    let everyone = if access.open {
        PermissionOverwrite { allow: read, deny: posting(), kind: PermissionOverwriteType::Role(RoleId::new(guild_id)) }
    } else {
        PermissionOverwrite {
            allow: Permissions::empty(),
            deny: Permissions::VIEW_CHANNEL,
            kind: PermissionOverwriteType::Role(RoleId::new(guild_id)),
        }
    };
    let members = if access.archived || !access.members_can_post {
        PermissionOverwrite { allow: read, deny: posting(), kind: PermissionOverwriteType::Role(RoleId::new(role_id)) }
    } else {
        PermissionOverwrite {
            allow: member_allow(),
            deny: Permissions::empty(),
            kind: PermissionOverwriteType::Role(RoleId::new(role_id)),
        }
    };
    vec![
        everyone,
        members,
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
    super::roles::create(http, guild_id, name, false, reason).await
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

/// A guild channel as it is now: what an edit changes, and what is put
/// back when a later step of the same use case fails.
#[derive(Debug, Clone)]
pub struct ChannelState {
    pub id: u64,
    pub guild_id: Option<u64>,
    pub kind: ChannelType,
    pub name: String,
    pub topic: Option<String>,
    pub parent_id: Option<u64>,
    pub overwrites: Vec<PermissionOverwrite>,
}

impl ChannelState {
    /// The overwrite for `target` (a role or member id), if any.
    pub fn overwrite_for(&self, target: u64) -> Option<&PermissionOverwrite> {
        self.overwrites.iter().find(|o| overwrite_target(o) == target)
    }
}

/// The role or member id an overwrite is for.
pub fn overwrite_target(o: &PermissionOverwrite) -> u64 {
    match o.kind {
        PermissionOverwriteType::Role(r) => r.get(),
        PermissionOverwriteType::Member(u) => u.get(),
        _ => 0,
    }
}

/// Read a channel (404 `Unknown("channel")` when it was deleted; a DM or a
/// channel of another guild comes back with that `guild_id`).
pub async fn channel_state(http: &DiscordHttp, channel_id: u64) -> Result<ChannelState, DiscordError> {
    let ch = call(|| http.get_channel(ChannelId::new(channel_id))).await?;
    let Some(g) = ch.guild() else {
        return Ok(ChannelState {
            id: channel_id,
            guild_id: None,
            kind: ChannelType::Private,
            name: String::new(),
            topic: None,
            parent_id: None,
            overwrites: vec![],
        });
    };
    Ok(ChannelState {
        id: g.id.get(),
        guild_id: Some(g.guild_id.get()),
        kind: g.kind,
        name: g.name,
        topic: g.topic,
        parent_id: g.parent_id.map(|p| p.get()),
        overwrites: g.permission_overwrites,
    })
}

/// Set one overwrite of a channel, leaving the others as they are.
pub async fn put_overwrite(
    http: &DiscordHttp,
    channel_id: u64,
    o: &PermissionOverwrite,
    reason: &str,
) -> Result<(), DiscordError> {
    let kind = match o.kind {
        PermissionOverwriteType::Member(_) => 1,
        _ => 0,
    };
    let body = serde_json::json!({
        "type": kind,
        "allow": o.allow.bits().to_string(),
        "deny": o.deny.bits().to_string(),
    });
    let target = TargetId::new(overwrite_target(o));
    call(|| http.create_permission(ChannelId::new(channel_id), target, &body, Some(reason))).await
}

/// Remove the overwrite for `target` (a role or member id).
pub async fn delete_overwrite(
    http: &DiscordHttp,
    channel_id: u64,
    target: u64,
    reason: &str,
) -> Result<(), DiscordError> {
    call(|| http.delete_permission(ChannelId::new(channel_id), TargetId::new(target), Some(reason))).await
}

/// What to change about a channel; `None` leaves a field alone.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChannelEdit {
    pub name: Option<String>,
    /// `Some("")` clears the topic.
    pub topic: Option<String>,
    /// `Some(None)` takes the channel out of its category.
    pub parent_id: Option<Option<u64>>,
}

impl ChannelEdit {
    pub fn is_empty(&self) -> bool {
        self == &ChannelEdit::default()
    }

    /// The edit that puts back what `self` changes, as `before` had it.
    pub fn reverse(&self, before: &ChannelState) -> ChannelEdit {
        ChannelEdit {
            name: self.name.as_ref().map(|_| before.name.clone()),
            topic: self.topic.as_ref().map(|_| before.topic.clone().unwrap_or_default()),
            parent_id: self.parent_id.map(|_| before.parent_id),
        }
    }
}

/// Rename a channel, change its topic or move it to another category.
pub async fn edit_channel(
    http: &DiscordHttp,
    channel_id: u64,
    e: &ChannelEdit,
    reason: &str,
) -> Result<(), DiscordError> {
    if e.is_empty() {
        return Ok(());
    }
    let make = || {
        let mut b = EditChannel::new().audit_log_reason(reason);
        if let Some(n) = &e.name {
            b = b.name(n.clone());
        }
        if let Some(t) = &e.topic {
            b = b.topic(truncate(t, 1024));
        }
        if let Some(p) = e.parent_id {
            b = b.category(p.map(ChannelId::new));
        }
        ChannelId::new(channel_id).edit(http.as_ref(), b)
    };
    call(make).await.map(|_| ())
}

/// Rename a role.
pub async fn rename_role(
    http: &DiscordHttp,
    guild_id: u64,
    role_id: u64,
    name: &str,
    reason: &str,
) -> Result<(), DiscordError> {
    call(|| {
        GuildId::new(guild_id).edit_role(
            http.as_ref(),
            RoleId::new(role_id),
            EditRole::new().name(name).audit_log_reason(reason),
        )
    })
    .await
    .map(|_| ())
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

    #[test]
    fn the_server_wide_permissions_cover_every_overwrite_the_bot_writes() {
        // Discord lets a bot allow or deny in an overwrite only what it holds,
        // so `/health` asks for all of it at server level.
        use crate::domain::channels::{Use, SERVER};
        let mut written = leader_allow();
        for access in [
            Access { open: true, members_can_post: true, archived: false },
            Access { open: false, members_can_post: false, archived: true },
            Access { open: true, members_can_post: false, archived: false },
        ] {
            for o in channel_overwrites(access, 1, 2, 3) {
                written |= o.allow | o.deny;
            }
        }
        assert_eq!(written.bits() & !SERVER, 0, "{:?}", written);
        assert_eq!(bot_allow().bits() & !Use::Group.needs(), 0, "the bot's own overwrite is what /health checks");
    }

    #[test]
    fn archived_channels_are_read_only_for_everyone_and_keep_their_visibility() {
        for open in [true, false] {
            let o = channel_overwrites(Access { open, members_can_post: true, archived: true }, 1, 2, 3);
            assert!(o[1].allow.contains(Permissions::VIEW_CHANNEL | Permissions::READ_MESSAGE_HISTORY));
            assert!(o[1].deny.contains(posting()), "members can't post in an archived group");
            assert!(!o[1].allow.intersects(posting()));
            assert_eq!(o[0].allow.contains(Permissions::VIEW_CHANNEL), open);
            assert_eq!(o[0].deny.contains(Permissions::VIEW_CHANNEL), !open);
            assert!(o[2].allow.contains(Permissions::VIEW_CHANNEL), "the bot keeps sight");
        }
    }

    #[test]
    fn members_can_post_false_leaves_members_reading() {
        let o = channel_overwrites(Access { open: true, members_can_post: false, archived: false }, 1, 2, 3);
        assert!(o[1].allow.contains(Permissions::VIEW_CHANNEL));
        assert!(o[1].deny.contains(Permissions::SEND_MESSAGES | Permissions::CREATE_PUBLIC_THREADS));
        assert_eq!(group_overwrites(true, 1, 2, 3), {
            channel_overwrites(Access { open: true, members_can_post: true, archived: false }, 1, 2, 3)
        });
    }

    #[test]
    fn a_channel_edit_reverses_only_what_it_changes() {
        let before = ChannelState {
            id: 9,
            guild_id: Some(1),
            kind: ChannelType::Forum,
            name: "rust".into(),
            topic: None,
            parent_id: Some(4),
            overwrites: vec![],
        };
        let e = ChannelEdit { name: Some("go".into()), topic: Some("Gophers".into()), parent_id: None };
        assert_eq!(
            e.reverse(&before),
            ChannelEdit { name: Some("rust".into()), topic: Some(String::new()), parent_id: None }
        );
        let moved = ChannelEdit { parent_id: Some(Some(5)), ..Default::default() };
        assert_eq!(moved.reverse(&before).parent_id, Some(Some(4)));
        assert!(ChannelEdit::default().is_empty());
    }
}
