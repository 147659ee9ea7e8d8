//! Roles: reading the hierarchy for the A3 checks, granting and revoking.

use super::{call, DiscordError, DiscordHttp};
use crate::domain::role_safety::RoleFacts;
use serenity::all::{EditRole, GuildId, Permissions, RoleId, UserId};

/// Make a role the bot manages (a group's member role, or its notification
/// role): no permissions and not hoisted. A notification role is
/// `mentionable`, so the bot's mention lands without Mention @everyone; a
/// member role is not, so members can't ping the whole group.
pub async fn create(
    http: &DiscordHttp,
    guild_id: u64,
    name: &str,
    mentionable: bool,
    reason: &str,
) -> Result<u64, DiscordError> {
    let role = call(|| {
        GuildId::new(guild_id).create_role(
            http.as_ref(),
            EditRole::new()
                .name(name)
                .permissions(Permissions::empty())
                .mentionable(mentionable)
                .hoist(false)
                .audit_log_reason(reason),
        )
    })
    .await?;
    Ok(role.id.get())
}

/// Every role of a guild, as plain facts.
pub async fn guild_roles(http: &DiscordHttp, guild_id: u64) -> Result<Vec<RoleFacts>, DiscordError> {
    let roles = call(|| http.get_guild_roles(GuildId::new(guild_id))).await?;
    Ok(roles.iter().map(|r| facts(guild_id, r)).collect())
}

/// A serenity role as the plain facts the A3 rules take.
pub fn facts(guild_id: u64, r: &serenity::all::Role) -> RoleFacts {
    RoleFacts {
        id: r.id.get(),
        guild_id,
        name: r.name.clone(),
        permissions: r.permissions.bits(),
        position: r.position as i64,
        managed: r.managed,
    }
}

/// The role ids a member holds (404 Unknown Member when they left).
pub async fn member_role_ids(http: &DiscordHttp, guild_id: u64, user_id: u64) -> Result<Vec<u64>, DiscordError> {
    let m = call(|| http.get_member(GuildId::new(guild_id), UserId::new(user_id))).await?;
    Ok(m.roles.iter().map(|r| r.get()).collect())
}

/// A member's server-wide permissions (@everyone's and their roles'; every
/// permission for the owner or an Administrator) and their roles, for a
/// press that carries no member (a button in a DM). 404 Unknown Member when
/// they left.
pub async fn member_permissions(
    http: &DiscordHttp,
    guild_id: u64,
    user_id: u64,
) -> Result<(u64, Vec<u64>), DiscordError> {
    let guild = call(|| http.get_guild(GuildId::new(guild_id))).await?;
    let m = call(|| http.get_member(GuildId::new(guild_id), UserId::new(user_id))).await?;
    Ok((guild.member_permissions(&m).bits(), m.roles.iter().map(|r| r.get()).collect()))
}

/// The guild's owner, who sits above every role.
pub async fn guild_owner(http: &DiscordHttp, guild_id: u64) -> Result<u64, DiscordError> {
    let g = call(|| http.get_guild(GuildId::new(guild_id))).await?;
    Ok(g.owner_id.get())
}

/// Everyone in the guild who holds `role_id`, a thousand members a request.
pub async fn role_holders(http: &DiscordHttp, guild_id: u64, role_id: u64) -> Result<Vec<u64>, DiscordError> {
    let mut holders = Vec::new();
    let mut after = None;
    loop {
        let page = call(|| http.get_guild_members(GuildId::new(guild_id), Some(1000), after)).await?;
        let Some(last) = page.last() else { break };
        after = Some(last.user.id.get());
        holders.extend(page.iter().filter(|m| m.roles.iter().any(|r| r.get() == role_id)).map(|m| m.user.id.get()));
        if page.len() < 1000 {
            break;
        }
    }
    Ok(holders)
}

/// The highest position among `held` (0 when only @everyone).
pub fn top_position(roles: &[RoleFacts], held: &[u64]) -> i64 {
    roles.iter().filter(|r| held.contains(&r.id)).map(|r| r.position).max().unwrap_or(0)
}

/// The role hierarchy as it stands, for one guild: every role and the bot's
/// highest position.
pub struct Hierarchy {
    pub roles: Vec<RoleFacts>,
    pub bot_top: i64,
}

impl Hierarchy {
    pub async fn load(http: &DiscordHttp, guild_id: u64, bot_id: u64) -> Result<Hierarchy, DiscordError> {
        // Two independent reads: at once, so a join waits for one round trip.
        let (roles, held) = tokio::try_join!(guild_roles(http, guild_id), member_role_ids(http, guild_id, bot_id))?;
        let bot_top = top_position(&roles, &held);
        Ok(Hierarchy { roles, bot_top })
    }

    pub fn role(&self, id: u64) -> Option<&RoleFacts> {
        self.roles.iter().find(|r| r.id == id)
    }
}

/// Reads of the role hierarchy shared by the callers that ask at once, one
/// server at a time. A caller gets the result of a read that *began after
/// it asked*, never an older one, so the A3 check sees the roles at least
/// as they stood when the member pressed: a role made dangerous by hand a
/// moment before is seen (which is why there is no cache fed by role
/// events). When a thousand members join at once, one read serves each
/// batch that waited for the one before, instead of two GETs each, all
/// paced under Discord's global limit.
#[derive(Default)]
pub struct HierarchyReads {
    guilds: std::sync::Mutex<std::collections::HashMap<u64, std::sync::Arc<Reading>>>,
}

#[derive(Default)]
struct Reading {
    /// How many reads of the server have begun.
    begun: std::sync::atomic::AtomicU64,
    /// The last read done (its number), held while a read is under way.
    last: tokio::sync::Mutex<Option<(u64, std::sync::Arc<Hierarchy>)>>,
}

impl HierarchyReads {
    pub async fn load(
        &self,
        http: &DiscordHttp,
        guild_id: u64,
        bot_id: u64,
    ) -> Result<std::sync::Arc<Hierarchy>, DiscordError> {
        use std::sync::atomic::Ordering::SeqCst;
        let reading = self.guilds.lock().unwrap_or_else(|e| e.into_inner()).entry(guild_id).or_default().clone();
        // A read numbered past every read begun so far begins after now.
        let wanted = reading.begun.load(SeqCst) + 1;
        let mut last = reading.last.lock().await;
        if let Some((n, h)) = last.as_ref() {
            if *n >= wanted {
                return Ok(h.clone());
            }
        }
        let n = reading.begun.fetch_add(1, SeqCst) + 1;
        let h = std::sync::Arc::new(Hierarchy::load(http, guild_id, bot_id).await?);
        *last = Some((n, h.clone()));
        Ok(h)
    }
}

pub async fn grant(
    http: &DiscordHttp,
    guild_id: u64,
    user_id: u64,
    role_id: u64,
    reason: &str,
) -> Result<(), DiscordError> {
    call(|| http.add_member_role(GuildId::new(guild_id), UserId::new(user_id), RoleId::new(role_id), Some(reason)))
        .await
}

pub async fn revoke(
    http: &DiscordHttp,
    guild_id: u64,
    user_id: u64,
    role_id: u64,
    reason: &str,
) -> Result<(), DiscordError> {
    call(|| http.remove_member_role(GuildId::new(guild_id), UserId::new(user_id), RoleId::new(role_id), Some(reason)))
        .await
}
