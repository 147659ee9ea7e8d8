//! Reading a whole guild for reconciliation (A5): its members a page at a
//! time, its channels, and putting a group role's permissions back.

use super::{call, DiscordError, DiscordHttp};
use serenity::all::{ChannelType, EditRole, GuildId, Permissions, RoleId, UserId};

/// Discord's largest page of List Guild Members.
pub const MEMBER_PAGE: u64 = 1000;

/// A member as the pass needs them: who, and which roles they hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberRoles {
    pub user_id: u64,
    pub roles: Vec<u64>,
    pub bot: bool,
}

/// One page of the guild's members with ids above `after`, in id order
/// (List Guild Members; GUILD_CREATE lists only part of a large guild).
pub async fn members_page(http: &DiscordHttp, guild_id: u64, after: u64) -> Result<Vec<MemberRoles>, DiscordError> {
    let after = (after > 0).then_some(after);
    let page = call(|| http.get_guild_members(GuildId::new(guild_id), Some(MEMBER_PAGE), after)).await?;
    Ok(page
        .into_iter()
        .map(|m| MemberRoles {
            user_id: m.user.id.get(),
            roles: m.roles.iter().map(|r| r.get()).collect(),
            bot: m.user.bot,
        })
        .collect())
}

/// The roles one member holds now, or `None` when they are not in the
/// guild (404 Unknown Member).
pub async fn member_roles(http: &DiscordHttp, guild_id: u64, user_id: u64) -> Result<Option<Vec<u64>>, DiscordError> {
    match call(|| http.get_member(GuildId::new(guild_id), UserId::new(user_id))).await {
        Ok(m) => Ok(Some(m.roles.iter().map(|r| r.get()).collect())),
        Err(DiscordError::Unknown("member", _)) => Ok(None),
        Err(e) => Err(e),
    }
}

/// A guild channel (no threads), as the pass needs it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChannelFacts {
    pub id: u64,
    pub name: String,
    pub category: bool,
    pub parent_id: Option<u64>,
}

pub async fn channels(http: &DiscordHttp, guild_id: u64) -> Result<Vec<ChannelFacts>, DiscordError> {
    let list = call(|| http.get_channels(GuildId::new(guild_id))).await?;
    Ok(list
        .into_iter()
        .map(|c| ChannelFacts {
            id: c.id.get(),
            name: c.name,
            category: c.kind == ChannelType::Category,
            parent_id: c.parent_id.map(|p| p.get()),
        })
        .collect())
}

/// Take every permission off a role (a group role must carry none, A3).
pub async fn clear_role_permissions(
    http: &DiscordHttp,
    guild_id: u64,
    role_id: u64,
    reason: &str,
) -> Result<(), DiscordError> {
    call(|| {
        GuildId::new(guild_id).edit_role(
            http.as_ref(),
            RoleId::new(role_id),
            EditRole::new().permissions(Permissions::empty()).audit_log_reason(reason),
        )
    })
    .await
    .map(|_| ())
}

/// Who gave (`added`) or took `role_id` from `user_id` most recently, from
/// the guild's audit log (MEMBER_ROLE_UPDATE). `None` when the bot may not
/// read the audit log (View Audit Log), when the entry isn't there, or when
/// it was the bot itself.
pub async fn role_change_actor(
    http: &DiscordHttp,
    guild_id: u64,
    bot_id: u64,
    user_id: u64,
    role_id: u64,
    added: bool,
) -> Option<u64> {
    use serenity::all::audit_log::{Action, Change, MemberAction};
    // Read without View Audit Log, Discord answers 403, an invalid request
    // (10,000 in 10 minutes ban the address): look at the bot's own
    // permissions first (the fault matrix's recorded reconcile run found it).
    let (permissions, _) = super::roles::member_permissions(http, guild_id, bot_id).await.ok()?;
    if permissions & Permissions::VIEW_AUDIT_LOG.bits() == 0 {
        return None;
    }
    let logs = call(|| {
        http.get_audit_logs(
            GuildId::new(guild_id),
            Some(Action::Member(MemberAction::RoleUpdate)),
            None,
            None,
            Some(25),
        )
    })
    .await
    .ok()?;
    logs.entries
        .iter()
        .filter(|e| e.target_id.map(|t| t.get()) == Some(user_id))
        .find(|e| {
            e.changes.iter().flatten().any(|c| {
                let roles = match (c, added) {
                    (Change::RolesAdded { new, .. }, true) | (Change::RolesRemove { new, .. }, false) => new.as_ref(),
                    _ => None,
                };
                roles.is_some_and(|rs| rs.iter().any(|r| r.id.get() == role_id))
            })
        })
        .map(|e| e.user_id.get())
        .filter(|actor| *actor != bot_id)
}
