//! Notifications (S3, S5 mention mode, S6): each group's notification role,
//! which topics were announced, and from when on topics are announced.

use super::{db_id, snowflake};
use sqlx::PgConnection;

/// The notification role of a group, if one was made.
pub async fn role_of(conn: &mut PgConnection, group_id: i64) -> Result<Option<u64>, sqlx::Error> {
    let r = sqlx::query_scalar!("select role_id from notify_roles where group_id = $1", group_id)
        .fetch_optional(conn)
        .await?;
    Ok(r.map(snowflake))
}

pub async fn set_role(conn: &mut PgConnection, guild_id: u64, group_id: i64, role_id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into notify_roles (group_id, guild_id, role_id, complete) values ($1, $2, $3, false)
         on conflict (group_id) do update set role_id = excluded.role_id, complete = false, created_at = now()",
        group_id,
        db_id(guild_id),
        db_id(role_id)
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Forget a notification role (deleted on Discord).
/// Remember `role_id` as the group's notification role unless it has one
/// already; returns the one it has now.
pub async fn claim_role(
    conn: &mut PgConnection,
    guild_id: u64,
    group_id: i64,
    role_id: u64,
) -> Result<u64, sqlx::Error> {
    let claimed = sqlx::query_scalar!(
        "insert into notify_roles (group_id, guild_id, role_id, complete) values ($1, $2, $3, false)
         on conflict (group_id) do nothing returning role_id",
        group_id,
        db_id(guild_id),
        db_id(role_id)
    )
    .fetch_optional(&mut *conn)
    .await?;
    match claimed {
        Some(r) => Ok(snowflake(r)),
        None => Ok(role_of(conn, group_id).await?.unwrap_or(role_id)),
    }
}

/// The group's notification role and whether every follower holds it.
pub async fn role_state(conn: &mut PgConnection, group_id: i64) -> Result<Option<(u64, bool)>, sqlx::Error> {
    let r = sqlx::query!("select role_id, complete from notify_roles where group_id = $1", group_id)
        .fetch_optional(conn)
        .await?;
    Ok(r.map(|r| (snowflake(r.role_id), r.complete)))
}

/// A follower joined without the role (pinged by name meanwhile).
pub async fn role_incomplete(conn: &mut PgConnection, group_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!("update notify_roles set complete = false where group_id = $1 and complete", group_id)
        .execute(conn)
        .await?;
    Ok(())
}

/// Mark the role as held by every follower; `true` for the one caller that
/// flipped it (and so hands it to the followers who lack it).
pub async fn role_completing(conn: &mut PgConnection, group_id: i64) -> Result<bool, sqlx::Error> {
    let r = sqlx::query_scalar!(
        "update notify_roles set complete = true where group_id = $1 and not complete returning group_id",
        group_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(r.is_some())
}

/// How many of the group's followers hear in mention mode.
pub async fn mention_followers(conn: &mut PgConnection, guild_id: u64, group_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from subscriptions s
           left join notification_prefs p on p.guild_id = s.guild_id and p.user_id = s.user_id
           where s.kind = 'group' and s.target_id = $2
             and coalesce(p.mode,
                          (select notify_default_mode from guild_settings where guild_id = $1),
                          'mention') = 'mention'"#,
        db_id(guild_id),
        group_id
    )
    .fetch_one(conn)
    .await
}

pub async fn forget_role(conn: &mut PgConnection, group_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from notify_roles where group_id = $1", group_id).execute(conn).await?;
    Ok(())
}

/// The active group whose channel is `channel_id`.
pub async fn group_of_channel(
    conn: &mut PgConnection,
    guild_id: u64,
    channel_id: u64,
) -> Result<Option<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "select id from groups where guild_id = $1 and channel_id = $2 and archived_at is null",
        db_id(guild_id),
        db_id(channel_id)
    )
    .fetch_optional(conn)
    .await
}

/// Claim a topic for announcement; `false` when it was claimed before (S6).
/// Run inside the transaction that commits after the announcement is sent:
/// a concurrent claim waits on the key and then finds it taken.
pub async fn claim_topic(
    conn: &mut PgConnection,
    guild_id: u64,
    group_id: Option<i64>,
    thread_id: u64,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query_scalar!(
        "insert into announced_topics (thread_id, guild_id, group_id) values ($1, $2, $3)
         on conflict do nothing returning thread_id",
        db_id(thread_id),
        db_id(guild_id),
        group_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(r.is_some())
}

pub async fn set_announcement(conn: &mut PgConnection, thread_id: u64, message_id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update announced_topics set message_id = $2 where thread_id = $1",
        db_id(thread_id),
        db_id(message_id)
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn is_announced(conn: &mut PgConnection, thread_id: u64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from announced_topics where thread_id = $1) as "yes!""#,
        db_id(thread_id)
    )
    .fetch_one(conn)
    .await
}

/// From when on topics are announced in the guild (unix milliseconds); set
/// on the first call.
pub async fn watermark_ms(conn: &mut PgConnection, guild_id: u64) -> Result<i64, sqlx::Error> {
    sqlx::query!("insert into notify_watermarks (guild_id) values ($1) on conflict do nothing", db_id(guild_id))
        .execute(&mut *conn)
        .await?;
    sqlx::query_scalar!(
        r#"select (extract(epoch from since) * 1000)::bigint as "ms!" from notify_watermarks where guild_id = $1"#,
        db_id(guild_id)
    )
    .fetch_one(conn)
    .await
}

/// A notification-role sync of `user_id` in `group_id` failed: remember it
/// for the background pass to try again.
pub async fn mark_sync_pending(
    conn: &mut PgConnection,
    guild_id: u64,
    group_id: i64,
    user_id: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into notify_sync_pending (group_id, user_id, guild_id) values ($1, $2, $3)
         on conflict (group_id, user_id) do nothing",
        group_id,
        db_id(user_id),
        db_id(guild_id)
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// The sync of `user_id` in `group_id` succeeded: nothing is pending.
pub async fn clear_sync_pending(conn: &mut PgConnection, group_id: i64, user_id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from notify_sync_pending where group_id = $1 and user_id = $2", group_id, db_id(user_id))
        .execute(conn)
        .await?;
    Ok(())
}

/// Up to `limit` pending syncs (guild, group, user), oldest first.
pub async fn pending_syncs(conn: &mut PgConnection, limit: i64) -> Result<Vec<(u64, i64, u64)>, sqlx::Error> {
    let rows = sqlx::query!(
        "select guild_id, group_id, user_id from notify_sync_pending order by since, group_id, user_id limit $1",
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (snowflake(r.guild_id), r.group_id, snowflake(r.user_id))).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[sqlx::test]
    async fn a_topic_is_claimed_once(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let gid: i64 = sqlx::query_scalar(
            "insert into groups (guild_id, name, bucket, visibility, description, created_by)
             values (1, 'Rust', 'interest', 'open', '', 1) returning id",
        )
        .fetch_one(&mut *conn)
        .await
        .unwrap();
        assert!(claim_topic(&mut conn, 1, Some(gid), 99).await.unwrap());
        assert!(!claim_topic(&mut conn, 1, Some(gid), 99).await.unwrap());
        assert!(claim_topic(&mut conn, 1, None, 98).await.unwrap(), "a topic outside any group");
        assert!(is_announced(&mut conn, 99).await.unwrap());
        let w = watermark_ms(&mut conn, 1).await.unwrap();
        assert_eq!(watermark_ms(&mut conn, 1).await.unwrap(), w, "set once");
        assert_eq!(role_of(&mut conn, gid).await.unwrap(), None);
        set_role(&mut conn, 1, gid, 5).await.unwrap();
        assert_eq!(role_of(&mut conn, gid).await.unwrap(), Some(5));
        // A failed sync is remembered once, and forgotten when one succeeds.
        mark_sync_pending(&mut conn, 1, gid, 7).await.unwrap();
        mark_sync_pending(&mut conn, 1, gid, 7).await.unwrap();
        assert_eq!(pending_syncs(&mut conn, 10).await.unwrap(), vec![(1, gid, 7)]);
        clear_sync_pending(&mut conn, gid, 7).await.unwrap();
        assert_eq!(pending_syncs(&mut conn, 10).await.unwrap(), vec![]);
    }
}
