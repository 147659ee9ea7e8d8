//! Per-server settings.

use super::{db_id, snowflake};
use sqlx::PgConnection;

/// The role whose holders count as admins, besides Manage Server.
pub async fn admin_role(conn: &mut PgConnection, guild_id: u64) -> Result<Option<u64>, sqlx::Error> {
    let r = sqlx::query_scalar!("select admin_role_id from guild_settings where guild_id = $1", db_id(guild_id))
        .fetch_optional(conn)
        .await?;
    Ok(r.flatten().map(snowflake))
}

pub async fn set_admin_role(conn: &mut PgConnection, guild_id: u64, role: Option<u64>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into guild_settings (guild_id, admin_role_id) values ($1, $2)
         on conflict (guild_id) do update set admin_role_id = excluded.admin_role_id, updated_at = now()",
        db_id(guild_id),
        role.map(db_id)
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[sqlx::test]
    async fn the_admin_role_is_set_and_cleared(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        assert_eq!(admin_role(&mut conn, 1).await.unwrap(), None);
        set_admin_role(&mut conn, 1, Some(77)).await.unwrap();
        assert_eq!(admin_role(&mut conn, 1).await.unwrap(), Some(77));
        set_admin_role(&mut conn, 1, None).await.unwrap();
        assert_eq!(admin_role(&mut conn, 1).await.unwrap(), None);
    }
}
