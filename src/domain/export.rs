//! What `/export` writes (O2): one server's groups, memberships, requests to
//! join and audit trail, oldest first, read from Postgres. Only that
//! server's rows: every query is filtered by `guild_id` (memberships through
//! their group's).

use super::{db_id, snowflake};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupRow {
    pub id: i64,
    pub name: String,
    pub bucket: String,
    pub visibility: String,
    pub description: String,
    pub criteria: String,
    pub role_id: Option<u64>,
    pub channel_id: Option<u64>,
    pub created_by: u64,
    pub created_at: DateTime<Utc>,
    pub archived_at: Option<DateTime<Utc>>,
    /// Members now (not counting those away from the server).
    pub members: i64,
    /// Leaders' user ids, space-separated.
    pub leaders: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MembershipRow {
    pub group_id: i64,
    pub group_name: String,
    pub user_id: u64,
    pub joined_at: DateTime<Utc>,
    /// Set while the member is away from the server.
    pub away_since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRow {
    pub id: i64,
    pub group_id: i64,
    pub group_name: String,
    pub user_id: u64,
    pub status: String,
    pub message: Option<String>,
    pub created_at: DateTime<Utc>,
    pub decided_by: Option<u64>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub id: i64,
    pub created_at: DateTime<Utc>,
    pub actor_id: Option<u64>,
    pub subject_id: Option<u64>,
    pub group_id: Option<i64>,
    pub group_name: Option<String>,
    pub action: String,
    pub reason: Option<String>,
    pub detail: Option<String>,
}

pub async fn groups(conn: &mut PgConnection, guild_id: u64) -> Result<Vec<GroupRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select g.id, g.name, g.bucket, g.visibility, g.description, g.criteria, g.role_id, g.channel_id,
                  g.created_by, g.created_at, g.archived_at,
                  (select count(*) from memberships m where m.group_id = g.id and m.away_since is null) as "members!",
                  coalesce((select string_agg(l.user_id::text, ' ' order by l.user_id)
                              from group_leaders l where l.group_id = g.id), '') as "leaders!"
             from groups g
            where g.guild_id = $1
            order by g.created_at, g.id"#,
        db_id(guild_id)
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| GroupRow {
            id: r.id,
            name: r.name,
            bucket: r.bucket,
            visibility: r.visibility,
            description: r.description,
            criteria: r.criteria,
            role_id: r.role_id.map(snowflake),
            channel_id: r.channel_id.map(snowflake),
            created_by: snowflake(r.created_by),
            created_at: r.created_at,
            archived_at: r.archived_at,
            members: r.members,
            leaders: r.leaders,
        })
        .collect())
}

pub async fn memberships(conn: &mut PgConnection, guild_id: u64) -> Result<Vec<MembershipRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select m.group_id, g.name as group_name, m.user_id, m.joined_at, m.away_since
             from memberships m join groups g on g.id = m.group_id
            where g.guild_id = $1
            order by m.joined_at, m.group_id, m.user_id"#,
        db_id(guild_id)
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| MembershipRow {
            group_id: r.group_id,
            group_name: r.group_name,
            user_id: snowflake(r.user_id),
            joined_at: r.joined_at,
            away_since: r.away_since,
        })
        .collect())
}

pub async fn requests(conn: &mut PgConnection, guild_id: u64) -> Result<Vec<RequestRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select r.id, r.group_id, g.name as group_name, r.user_id, r.status, r.message, r.created_at,
                  r.decided_by, r.decided_at, r.reason
             from join_requests r join groups g on g.id = r.group_id
            where r.guild_id = $1 and g.guild_id = $1
            order by r.created_at, r.id"#,
        db_id(guild_id)
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| RequestRow {
            id: r.id,
            group_id: r.group_id,
            group_name: r.group_name,
            user_id: snowflake(r.user_id),
            status: r.status,
            message: r.message,
            created_at: r.created_at,
            decided_by: r.decided_by.map(snowflake),
            decided_at: r.decided_at,
            reason: r.reason,
        })
        .collect())
}

pub async fn audit(conn: &mut PgConnection, guild_id: u64) -> Result<Vec<AuditRow>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select a.id, a.created_at, a.actor_id, a.subject_id, a.group_id,
                  coalesce(g.name, a.group_name) as group_name, a.action, a.reason, a.detail
             from audit_log a left join groups g on g.id = a.group_id
            where a.guild_id = $1
            order by a.created_at, a.id"#,
        db_id(guild_id)
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| AuditRow {
            id: r.id,
            created_at: r.created_at,
            actor_id: r.actor_id.map(snowflake),
            subject_id: r.subject_id.map(snowflake),
            group_id: r.group_id,
            group_name: r.group_name,
            action: r.action,
            reason: r.reason,
            detail: r.detail,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::PgPool;

    /// Every table reads one server's rows only.
    #[sqlx::test]
    async fn each_table_holds_that_servers_rows_only(pool: PgPool) {
        let mut c = pool.acquire().await.unwrap();
        let mut ids = Vec::new();
        for (guild, name) in [(1i64, "Rust"), (2, "Elsewhere")] {
            let g: i64 = sqlx::query_scalar(
                "insert into groups (guild_id, name, bucket, visibility, created_by) values ($1, $2, 'interest', 'closed', 5) returning id",
            )
            .bind(guild)
            .bind(name)
            .fetch_one(&mut *c)
            .await
            .unwrap();
            sqlx::query("insert into memberships (group_id, user_id) values ($1, 10), ($1, 11)")
                .bind(g)
                .execute(&mut *c)
                .await
                .unwrap();
            sqlx::query("insert into group_leaders (group_id, user_id) values ($1, 11), ($1, 10)")
                .bind(g)
                .execute(&mut *c)
                .await
                .unwrap();
            sqlx::query("insert into join_requests (guild_id, group_id, user_id, message) values ($1, $2, 12, 'hi')")
                .bind(guild)
                .bind(g)
                .execute(&mut *c)
                .await
                .unwrap();
            sqlx::query("insert into audit_log (guild_id, actor_id, group_id, group_name, action) values ($1, 10, $2, $3, 'membership.join')")
                .bind(guild)
                .bind(g)
                .bind(name)
                .execute(&mut *c)
                .await
                .unwrap();
            ids.push(g);
        }
        sqlx::query("update memberships set away_since = now() where group_id = $1 and user_id = 11")
            .bind(ids[0])
            .execute(&mut *c)
            .await
            .unwrap();
        let g = groups(&mut c, 1).await.unwrap();
        assert_eq!(g.len(), 1);
        assert_eq!((g[0].name.as_str(), g[0].members, g[0].leaders.as_str()), ("Rust", 1, "10 11"));
        let m = memberships(&mut c, 1).await.unwrap();
        assert_eq!(m.len(), 2);
        assert!(m.iter().all(|m| m.group_id == ids[0]));
        assert!(m.iter().any(|m| m.away_since.is_some()));
        let r = requests(&mut c, 1).await.unwrap();
        assert_eq!((r.len(), r[0].group_name.as_str(), r[0].message.as_deref()), (1, "Rust", Some("hi")));
        let a = audit(&mut c, 1).await.unwrap();
        assert_eq!((a.len(), a[0].group_id), (1, Some(ids[0])));
        // A deleted group's entries keep the name they were written with.
        sqlx::query("delete from groups where id = $1").bind(ids[0]).execute(&mut *c).await.unwrap();
        let a = audit(&mut c, 1).await.unwrap();
        assert_eq!((a[0].group_id, a[0].group_name.as_deref()), (None, Some("Rust")));
        assert!(groups(&mut c, 1).await.unwrap().is_empty());
        assert_eq!(groups(&mut c, 2).await.unwrap().len(), 1, "the other server's rows are untouched");
    }
}
