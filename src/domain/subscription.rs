//! Subscriptions (S1, S2): what a member follows.

use super::db_id;
use sqlx::PgConnection;

/// What can be followed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Group,
    Forum,
    Thread,
    Post,
}

impl Kind {
    pub fn key(self) -> &'static str {
        match self {
            Kind::Group => "group",
            Kind::Forum => "forum",
            Kind::Thread => "thread",
            Kind::Post => "post",
        }
    }
}

/// `false` when already subscribed.
pub async fn subscribe(
    conn: &mut PgConnection,
    guild_id: u64,
    user_id: u64,
    kind: Kind,
    target: i64,
) -> Result<bool, sqlx::Error> {
    let r = sqlx::query_scalar!(
        "insert into subscriptions (guild_id, user_id, kind, target_id) values ($1, $2, $3, $4)
         on conflict do nothing returning id",
        db_id(guild_id),
        db_id(user_id),
        kind.key(),
        target
    )
    .fetch_optional(conn)
    .await?;
    Ok(r.is_some())
}

/// `false` when there was no such subscription.
pub async fn unsubscribe(conn: &mut PgConnection, user_id: u64, kind: Kind, target: i64) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!(
        "delete from subscriptions where user_id = $1 and kind = $2 and target_id = $3",
        db_id(user_id),
        kind.key(),
        target
    )
    .execute(conn)
    .await?
    .rows_affected();
    Ok(n > 0)
}

pub async fn is_subscribed(
    conn: &mut PgConnection,
    user_id: u64,
    kind: Kind,
    target: i64,
) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from subscriptions where user_id = $1 and kind = $2 and target_id = $3) as "yes!""#,
        db_id(user_id),
        kind.key(),
        target
    )
    .fetch_one(conn)
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[sqlx::test]
    async fn subscribing_toggles(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        assert!(subscribe(&mut conn, 1, 7, Kind::Group, 3).await.unwrap());
        assert!(!subscribe(&mut conn, 1, 7, Kind::Group, 3).await.unwrap());
        assert!(is_subscribed(&mut conn, 7, Kind::Group, 3).await.unwrap());
        assert!(!is_subscribed(&mut conn, 7, Kind::Thread, 3).await.unwrap());
        assert!(unsubscribe(&mut conn, 7, Kind::Group, 3).await.unwrap());
        assert!(!unsubscribe(&mut conn, 7, Kind::Group, 3).await.unwrap());
    }
}
