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

/// The community guidelines and their version (0 = none set).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Guidelines {
    pub text: String,
    pub version: i32,
}

pub async fn guidelines(conn: &mut PgConnection, guild_id: u64) -> Result<Guidelines, sqlx::Error> {
    let r = sqlx::query!(
        "select guidelines_text, guidelines_version from guild_settings where guild_id = $1",
        db_id(guild_id)
    )
    .fetch_optional(conn)
    .await?;
    Ok(r.map(|r| Guidelines { text: r.guidelines_text, version: r.guidelines_version }).unwrap_or_default())
}

/// Replace the guidelines; the version goes up by one, so every member is
/// asked to accept them again before their next join or request (M2).
pub async fn set_guidelines(conn: &mut PgConnection, guild_id: u64, text: &str) -> Result<i32, sqlx::Error> {
    sqlx::query_scalar!(
        "insert into guild_settings (guild_id, guidelines_text, guidelines_version) values ($1, $2, 1)
         on conflict (guild_id) do update
           set guidelines_text = excluded.guidelines_text,
               guidelines_version = guild_settings.guidelines_version + 1,
               updated_at = now()
         returning guidelines_version",
        db_id(guild_id),
        text
    )
    .fetch_one(conn)
    .await
}

/// Whether the member accepted this version of the guidelines.
pub async fn has_accepted(
    conn: &mut PgConnection,
    guild_id: u64,
    user_id: u64,
    version: i32,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from guideline_acceptances where guild_id = $1 and user_id = $2 and version = $3) as "yes!""#,
        db_id(guild_id),
        db_id(user_id),
        version
    )
    .fetch_one(conn)
    .await
}

/// Record that the member accepted `version`, now (idempotent).
pub async fn accept(conn: &mut PgConnection, guild_id: u64, user_id: u64, version: i32) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into guideline_acceptances (guild_id, user_id, version) values ($1, $2, $3) on conflict do nothing",
        db_id(guild_id),
        db_id(user_id),
        version
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The admins' channel (lead applications, leaderless groups).
pub async fn mod_channel(conn: &mut PgConnection, guild_id: u64) -> Result<Option<u64>, sqlx::Error> {
    let r = sqlx::query_scalar!("select mod_channel_id from guild_settings where guild_id = $1", db_id(guild_id))
        .fetch_optional(conn)
        .await?;
    Ok(r.flatten().map(snowflake))
}

pub async fn set_mod_channel(conn: &mut PgConnection, guild_id: u64, channel: Option<u64>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into guild_settings (guild_id, mod_channel_id) values ($1, $2)
         on conflict (guild_id) do update set mod_channel_id = excluded.mod_channel_id, updated_at = now()",
        db_id(guild_id),
        channel.map(db_id)
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

    #[sqlx::test]
    async fn a_new_guidelines_text_bumps_the_version_and_asks_again(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        assert_eq!(guidelines(&mut conn, 1).await.unwrap(), Guidelines::default());
        assert_eq!(set_guidelines(&mut conn, 1, "Be kind").await.unwrap(), 1);
        accept(&mut conn, 1, 9, 1).await.unwrap();
        accept(&mut conn, 1, 9, 1).await.unwrap();
        assert!(has_accepted(&mut conn, 1, 9, 1).await.unwrap());
        assert_eq!(set_guidelines(&mut conn, 1, "Be kinder").await.unwrap(), 2);
        assert!(!has_accepted(&mut conn, 1, 9, 2).await.unwrap());
        assert_eq!(guidelines(&mut conn, 1).await.unwrap().text, "Be kinder");
    }
}
