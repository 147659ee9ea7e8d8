//! The audit trail (A2): who did what to whom, in which group, and why.

use super::{db_id, snowflake};
use sqlx::PgConnection;

/// One change worth recording.
#[derive(Debug, Clone, Default)]
pub struct Entry<'a> {
    pub guild_id: u64,
    pub actor_id: Option<u64>,
    pub subject_id: Option<u64>,
    pub group_id: Option<i64>,
    pub action: &'a str,
    pub reason: Option<&'a str>,
}

pub async fn record(conn: &mut PgConnection, e: &Entry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into audit_log (guild_id, actor_id, subject_id, group_id, action, reason)
         values ($1, $2, $3, $4, $5, $6)",
        db_id(e.guild_id),
        e.actor_id.map(db_id),
        e.subject_id.map(db_id),
        e.group_id,
        e.action,
        e.reason
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub actor_id: Option<u64>,
    pub group_id: Option<i64>,
    pub action: String,
    pub reason: Option<String>,
}

/// The newest entries of a guild first.
pub async fn recent(conn: &mut PgConnection, guild_id: u64, limit: i64) -> Result<Vec<Recorded>, sqlx::Error> {
    let rows = sqlx::query!(
        "select actor_id, group_id, action, reason from audit_log where guild_id = $1 order by id desc limit $2",
        db_id(guild_id),
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Recorded {
            actor_id: r.actor_id.map(snowflake),
            group_id: r.group_id,
            action: r.action,
            reason: r.reason,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[sqlx::test]
    async fn entries_come_back_newest_first(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        for action in ["group.create", "group.edit"] {
            record(&mut conn, &Entry { guild_id: 1, actor_id: Some(9), action, ..Default::default() }).await.unwrap();
        }
        let got = recent(&mut conn, 1, 10).await.unwrap();
        assert_eq!(got.iter().map(|e| e.action.as_str()).collect::<Vec<_>>(), ["group.edit", "group.create"]);
        assert_eq!(got[0].actor_id, Some(9));
        assert!(recent(&mut conn, 2, 10).await.unwrap().is_empty());
    }
}
