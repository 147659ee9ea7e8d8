//! Roles and channels that Discord did not delete (of a deleted group, or
//! made by a use case that was undone)
//! (`discord_leftovers`): deleted again by the background pass until
//! Discord says they are gone (N5).

use super::{db_id, snowflake};
use sqlx::PgConnection;

/// What is left over: a role or a channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Role,
    Channel,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::Role => "role",
            Kind::Channel => "channel",
        }
    }
}

/// One leftover to delete again.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leftover {
    pub guild_id: u64,
    pub object_id: u64,
    pub kind: Kind,
    /// The audit-log reason the deletion is made with.
    pub reason: String,
}

/// Remember a role or channel to delete again (once per object).
pub async fn remember(conn: &mut PgConnection, l: &Leftover) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into discord_leftovers (object_id, guild_id, kind, reason) values ($1, $2, $3, $4)
         on conflict (object_id) do nothing",
        db_id(l.object_id),
        db_id(l.guild_id),
        l.kind.key(),
        l.reason
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Up to `limit` leftovers, oldest first.
pub async fn due(conn: &mut PgConnection, limit: i64) -> Result<Vec<Leftover>, sqlx::Error> {
    let rows = sqlx::query!(
        "select object_id, guild_id, kind, reason from discord_leftovers order by since, object_id limit $1",
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Leftover {
            guild_id: snowflake(r.guild_id),
            object_id: snowflake(r.object_id),
            kind: if r.kind == "role" { Kind::Role } else { Kind::Channel },
            reason: r.reason,
        })
        .collect())
}

/// Discord says it is gone: nothing left to do.
pub async fn forget(conn: &mut PgConnection, object_id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from discord_leftovers where object_id = $1", db_id(object_id)).execute(conn).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[sqlx::test]
    async fn a_leftover_is_remembered_once_and_forgotten(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let l = Leftover {
            guild_id: 1,
            object_id: 7,
            kind: Kind::Role,
            reason: "Guildhall: group \"Rust\" deleted".into(),
        };
        remember(&mut conn, &l).await.unwrap();
        remember(&mut conn, &l).await.unwrap();
        let c = Leftover {
            guild_id: 1,
            object_id: 8,
            kind: Kind::Channel,
            reason: "Guildhall: group \"Rust\" deleted".into(),
        };
        remember(&mut conn, &c).await.unwrap();
        assert_eq!(due(&mut conn, 10).await.unwrap(), vec![l, c.clone()]);
        forget(&mut conn, 7).await.unwrap();
        assert_eq!(due(&mut conn, 10).await.unwrap(), vec![c]);
    }
}
