//! The facts `auth` decides on, gathered: the server's configured admin
//! role from Postgres, the member's permissions and roles as the
//! interaction reports them. The rules themselves are in `auth`.

use super::App;
use crate::auth;
use serenity::all::{Member, Permissions};

/// The server's configured admin role, if any.
pub async fn admin_role(app: &App, guild_id: u64) -> Result<Option<u64>, sqlx::Error> {
    crate::domain::settings::admin_role(&mut *app.pool.acquire().await?, guild_id).await
}

/// Whether someone with `perms` and `roles` in the server is an admin.
pub async fn is_admin(app: &App, guild_id: u64, perms: Permissions, roles: &[u64]) -> Result<bool, sqlx::Error> {
    Ok(auth::is_admin(perms, roles, admin_role(app, guild_id).await?))
}

/// The permissions and role ids of a member as an interaction reports them.
pub fn facts(member: &Member) -> (Permissions, Vec<u64>) {
    (member.permissions.unwrap_or_default(), member.roles.iter().map(|r| r.get()).collect())
}

/// Whether the interaction's member is an admin; nobody is outside a server.
pub async fn member_is_admin(app: &App, guild_id: u64, member: Option<&Member>) -> Result<bool, sqlx::Error> {
    let Some(member) = member else { return Ok(false) };
    let (perms, roles) = facts(member);
    is_admin(app, guild_id, perms, &roles).await
}

/// Whether someone with `perms` and `roles` may decide any group's
/// requests to join without leading it.
pub async fn decides_any_request(
    app: &App,
    guild_id: u64,
    perms: Permissions,
    roles: &[u64],
) -> Result<bool, sqlx::Error> {
    Ok(auth::decides_any_request(perms, roles, admin_role(app, guild_id).await?))
}

/// The same for the interaction's member; nobody outside a server.
pub async fn member_decides_any_request(
    app: &App,
    guild_id: u64,
    member: Option<&Member>,
) -> Result<bool, sqlx::Error> {
    let Some(member) = member else { return Ok(false) };
    let (perms, roles) = facts(member);
    decides_any_request(app, guild_id, perms, &roles).await
}
