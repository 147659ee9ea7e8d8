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

/// A guidelines prompt was shown to `user_id`, named by the interaction
/// that showed it; the newest (the largest snowflake) is kept.
pub async fn prompt_shown(
    conn: &mut PgConnection,
    guild_id: u64,
    user_id: u64,
    prompt: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into guideline_prompts (guild_id, user_id, prompt_id) values ($1, $2, $3)
         on conflict (guild_id, user_id) do update
         set prompt_id = greatest(guideline_prompts.prompt_id, excluded.prompt_id)",
        db_id(guild_id),
        db_id(user_id),
        db_id(prompt)
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Whether `prompt` is the newest guidelines prompt shown to `user_id`.
pub async fn is_newest_prompt(
    conn: &mut PgConnection,
    guild_id: u64,
    user_id: u64,
    prompt: u64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from guideline_prompts
                         where guild_id = $1 and user_id = $2 and prompt_id = $3) as "yes!""#,
        db_id(guild_id),
        db_id(user_id),
        db_id(prompt)
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

// ---- Configuration (A1): every setting at once, the channels, the directory
// message (G4), and the guidelines text as an admin types it.

/// Every setting of a server, as `/config show` lists it.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Settings {
    pub admin_role_id: Option<u64>,
    pub mod_channel_id: Option<u64>,
    pub requests_channel_id: Option<u64>,
    pub directory: Option<DirectoryMessage>,
    pub guidelines: Guidelines,
}

/// The persistent directory message an admin posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectoryMessage {
    pub channel_id: u64,
    pub message_id: u64,
}

/// All settings (defaults when the server has none yet).
pub async fn get(conn: &mut PgConnection, guild_id: u64) -> Result<Settings, sqlx::Error> {
    let r = sqlx::query!(
        "select admin_role_id, mod_channel_id, requests_channel_id, directory_channel_id, directory_message_id,
                guidelines_text, guidelines_version
         from guild_settings where guild_id = $1",
        db_id(guild_id)
    )
    .fetch_optional(conn)
    .await?;
    Ok(r.map(|r| Settings {
        admin_role_id: r.admin_role_id.map(snowflake),
        mod_channel_id: r.mod_channel_id.map(snowflake),
        requests_channel_id: r.requests_channel_id.map(snowflake),
        directory: match (r.directory_channel_id, r.directory_message_id) {
            (Some(c), Some(m)) => Some(DirectoryMessage { channel_id: snowflake(c), message_id: snowflake(m) }),
            _ => None,
        },
        guidelines: Guidelines { text: r.guidelines_text, version: r.guidelines_version },
    })
    .unwrap_or_default())
}

/// The admins' channel (lead applications, SLA reminders).
pub async fn mod_channel(conn: &mut PgConnection, guild_id: u64) -> Result<Option<u64>, sqlx::Error> {
    Ok(get(conn, guild_id).await?.mod_channel_id)
}

/// Where join requests are reviewed.
pub async fn requests_channel(conn: &mut PgConnection, guild_id: u64) -> Result<Option<u64>, sqlx::Error> {
    Ok(get(conn, guild_id).await?.requests_channel_id)
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

pub async fn set_requests_channel(
    conn: &mut PgConnection,
    guild_id: u64,
    channel: Option<u64>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into guild_settings (guild_id, requests_channel_id) values ($1, $2)
         on conflict (guild_id) do update set requests_channel_id = excluded.requests_channel_id, updated_at = now()",
        db_id(guild_id),
        channel.map(db_id)
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn directory_message(
    conn: &mut PgConnection,
    guild_id: u64,
) -> Result<Option<DirectoryMessage>, sqlx::Error> {
    Ok(get(conn, guild_id).await?.directory)
}

/// Remember a new directory message (or none) and return the one it
/// replaces, atomically, so two admins posting at once each learn which
/// message they replaced.
pub async fn replace_directory_message(
    conn: &mut PgConnection,
    guild_id: u64,
    new: Option<DirectoryMessage>,
) -> Result<Option<DirectoryMessage>, sqlx::Error> {
    sqlx::query!("insert into guild_settings (guild_id) values ($1) on conflict do nothing", db_id(guild_id))
        .execute(&mut *conn)
        .await?;
    let old = sqlx::query!(
        "select directory_channel_id, directory_message_id from guild_settings where guild_id = $1 for update",
        db_id(guild_id)
    )
    .fetch_one(&mut *conn)
    .await?;
    sqlx::query!(
        "update guild_settings set directory_channel_id = $2, directory_message_id = $3, updated_at = now()
         where guild_id = $1",
        db_id(guild_id),
        new.map(|d| db_id(d.channel_id)),
        new.map(|d| db_id(d.message_id))
    )
    .execute(conn)
    .await?;
    Ok(match (old.directory_channel_id, old.directory_message_id) {
        (Some(c), Some(m)) => Some(DirectoryMessage { channel_id: snowflake(c), message_id: snowflake(m) }),
        _ => None,
    })
}

/// Forget the directory message if it is still `message_id` (it was deleted
/// on Discord). Returns whether it was forgotten; a newer message stays.
pub async fn forget_directory_message(
    conn: &mut PgConnection,
    guild_id: u64,
    message_id: u64,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query!(
        "update guild_settings set directory_channel_id = null, directory_message_id = null, updated_at = now()
         where guild_id = $1 and directory_message_id = $2",
        db_id(guild_id),
        db_id(message_id)
    )
    .execute(conn)
    .await?;
    Ok(r.rows_affected() > 0)
}

pub const GUIDELINES_MAX: usize = 4000;

/// The guidelines as an admin typed them: line breaks normalised, tabs as
/// spaces, trimmed, 1 to 4000 characters, no other control characters.
pub fn parse_guidelines(raw: &str) -> Result<String, super::text::TextError> {
    let field = "guidelines";
    let normalised = raw.replace("\r\n", "\n").replace('\r', "\n").replace('\t', "    ");
    let text = super::text::free_text(&normalised, field, GUIDELINES_MAX)?;
    if text.is_empty() {
        return Err(super::text::TextError::Empty { field });
    }
    Ok(text)
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

    #[sqlx::test]
    async fn every_setting_is_read_back_together(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        assert_eq!(get(&mut conn, 1).await.unwrap(), Settings::default());
        set_mod_channel(&mut conn, 1, Some(10)).await.unwrap();
        set_requests_channel(&mut conn, 1, Some(11)).await.unwrap();
        set_admin_role(&mut conn, 1, Some(12)).await.unwrap();
        set_guidelines(&mut conn, 1, "Be kind").await.unwrap();
        let d = DirectoryMessage { channel_id: 13, message_id: 14 };
        assert_eq!(replace_directory_message(&mut conn, 1, Some(d)).await.unwrap(), None);
        let s = get(&mut conn, 1).await.unwrap();
        assert_eq!(
            s,
            Settings {
                admin_role_id: Some(12),
                mod_channel_id: Some(10),
                requests_channel_id: Some(11),
                directory: Some(d),
                guidelines: Guidelines { text: "Be kind".into(), version: 1 },
            }
        );
        assert_eq!(mod_channel(&mut conn, 1).await.unwrap(), Some(10));
        assert_eq!(requests_channel(&mut conn, 1).await.unwrap(), Some(11));
        set_mod_channel(&mut conn, 1, None).await.unwrap();
        assert_eq!(mod_channel(&mut conn, 1).await.unwrap(), None);
        assert_eq!(get(&mut conn, 2).await.unwrap(), Settings::default(), "settings are per server");
    }

    #[sqlx::test]
    async fn a_directory_message_is_replaced_and_forgotten_only_if_still_current(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let a = DirectoryMessage { channel_id: 1, message_id: 100 };
        let b = DirectoryMessage { channel_id: 2, message_id: 200 };
        assert_eq!(replace_directory_message(&mut conn, 1, Some(a)).await.unwrap(), None);
        assert_eq!(replace_directory_message(&mut conn, 1, Some(b)).await.unwrap(), Some(a));
        assert!(!forget_directory_message(&mut conn, 1, 100).await.unwrap(), "an older message is not current");
        assert_eq!(directory_message(&mut conn, 1).await.unwrap(), Some(b));
        assert!(forget_directory_message(&mut conn, 1, 200).await.unwrap());
        assert_eq!(directory_message(&mut conn, 1).await.unwrap(), None);
        assert_eq!(replace_directory_message(&mut conn, 1, None).await.unwrap(), None);
    }

    #[test]
    fn guidelines_are_normalised_and_bounded() {
        assert_eq!(parse_guidelines("  Be kind.\r\n\tNo spam.  ").unwrap(), "Be kind.\n    No spam.");
        assert!(matches!(parse_guidelines(" \n "), Err(crate::domain::text::TextError::Empty { .. })));
        assert!(parse_guidelines(&"x".repeat(4000)).is_ok());
        assert!(matches!(
            parse_guidelines(&"x".repeat(4001)),
            Err(crate::domain::text::TextError::TooLong { len: 4001, .. })
        ));
        assert!(parse_guidelines("a\u{0}b").is_err());
    }
}
