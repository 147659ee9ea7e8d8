//! Who counts as an admin (A1): Manage Server or Administrator, or the
//! server's configured admin role. Checked on the server side for every
//! admin command and button, whatever Discord's default permissions say.

use crate::service::App;
use serenity::all::Permissions;

pub async fn is_admin(app: &App, guild_id: u64, perms: Permissions, roles: &[u64]) -> Result<bool, sqlx::Error> {
    if perms.administrator() || perms.manage_guild() {
        return Ok(true);
    }
    let mut conn = app.pool.acquire().await?;
    Ok(match crate::domain::settings::admin_role(&mut conn, guild_id).await? {
        Some(role) => roles.contains(&role),
        None => false,
    })
}

pub const NOT_ADMIN: &str =
    "Only admins can do this: you need the Manage Server permission or the server's Guildhall admin role.";
