//! Memberships, leaders and bans of groups (M1, M3, M4).

use super::{db_id, snowflake};
use sqlx::PgConnection;

/// Insert a membership (or make an away one active again); `false` when the
/// user already was a member. A concurrent insert for the same member waits
/// on this row's lock until the first transaction ends, so a double click
/// yields one membership.
pub async fn add_member(conn: &mut PgConnection, group_id: i64, user_id: u64) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query_scalar!(
        "insert into memberships (group_id, user_id) values ($1, $2)
         on conflict (group_id, user_id) do update set away_since = null, was_subscribed = false, joined_at = now()
         where memberships.away_since is not null
         returning group_id",
        group_id,
        db_id(user_id)
    )
    .fetch_optional(conn)
    .await?;
    Ok(inserted.is_some())
}

/// End a membership; `false` when there was none.
pub async fn remove_member(conn: &mut PgConnection, group_id: i64, user_id: u64) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!("delete from memberships where group_id = $1 and user_id = $2", group_id, db_id(user_id))
        .execute(conn)
        .await?
        .rows_affected();
    Ok(n > 0)
}

pub async fn is_member(conn: &mut PgConnection, group_id: i64, user_id: u64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from memberships where group_id = $1 and user_id = $2 and away_since is null) as "yes!""#,
        group_id,
        db_id(user_id)
    )
    .fetch_one(conn)
    .await
}

/// Members who count: memberships that are not away, as of the last commit
/// (`group_member_counts`, kept by a trigger at commit). The bot reads the
/// count inside `page_facts` and `group::list`; this is the tests' reading.
#[cfg(test)]
pub async fn member_count(conn: &mut PgConnection, group_id: i64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select coalesce((select members from group_member_counts where group_id = $1), 0) as "n!""#,
        group_id
    )
    .fetch_one(conn)
    .await
}

pub async fn is_leader(conn: &mut PgConnection, group_id: i64, user_id: u64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from group_leaders where group_id = $1 and user_id = $2) as "yes!""#,
        group_id,
        db_id(user_id)
    )
    .fetch_one(conn)
    .await
}

/// The group's leaders, longest-serving first.
pub async fn leaders(conn: &mut PgConnection, group_id: i64) -> Result<Vec<u64>, sqlx::Error> {
    let ids = sqlx::query_scalar!("select user_id from group_leaders where group_id = $1 order by added_at", group_id)
        .fetch_all(conn)
        .await?;
    Ok(ids.into_iter().map(snowflake).collect())
}

/// `false` when the user already led the group.
pub async fn add_leader(
    conn: &mut PgConnection,
    group_id: i64,
    user_id: u64,
    added_by: u64,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query_scalar!(
        "insert into group_leaders (group_id, user_id, added_by) values ($1, $2, $3)
         on conflict do nothing returning group_id",
        group_id,
        db_id(user_id),
        db_id(added_by)
    )
    .fetch_optional(conn)
    .await?;
    Ok(inserted.is_some())
}

pub async fn remove_leader(conn: &mut PgConnection, group_id: i64, user_id: u64) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!("delete from group_leaders where group_id = $1 and user_id = $2", group_id, db_id(user_id))
        .execute(conn)
        .await?
        .rows_affected();
    Ok(n > 0)
}

pub async fn is_banned(conn: &mut PgConnection, group_id: i64, user_id: u64) -> Result<bool, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select exists(select 1 from group_bans where group_id = $1 and user_id = $2) as "yes!""#,
        group_id,
        db_id(user_id)
    )
    .fetch_one(conn)
    .await
}

/// `false` when the user was already banned.
pub async fn ban(
    conn: &mut PgConnection,
    group_id: i64,
    user_id: u64,
    banned_by: u64,
    reason: Option<&str>,
) -> Result<bool, sqlx::Error> {
    let inserted = sqlx::query_scalar!(
        "insert into group_bans (group_id, user_id, banned_by, reason) values ($1, $2, $3, $4)
         on conflict do nothing returning group_id",
        group_id,
        db_id(user_id),
        db_id(banned_by),
        reason
    )
    .fetch_optional(conn)
    .await?;
    Ok(inserted.is_some())
}

pub async fn unban(conn: &mut PgConnection, group_id: i64, user_id: u64) -> Result<bool, sqlx::Error> {
    let n = sqlx::query!("delete from group_bans where group_id = $1 and user_id = $2", group_id, db_id(user_id))
        .execute(conn)
        .await?
        .rows_affected();
    Ok(n > 0)
}

/// What the Group Page shows.
pub struct PageFacts {
    pub group: super::group::Group,
    pub member_count: i64,
    pub leaders: Vec<u64>,
    pub viewer_is_member: bool,
    pub viewer_subscribed: bool,
}

/// Everything the Group Page shows of `group` to `viewer`, in one round trip
/// (the page is what most presses answer with).
pub async fn page_facts(
    conn: &mut PgConnection,
    group: super::group::Group,
    viewer: u64,
) -> Result<PageFacts, sqlx::Error> {
    let r = sqlx::query!(
        r#"select
             coalesce((select members from group_member_counts where group_id = $1), 0) as "member_count!",
             array(select user_id from group_leaders where group_id = $1 order by added_at) as "leaders!",
             exists(select 1 from memberships where group_id = $1 and user_id = $2 and away_since is null) as "member!",
             exists(select 1 from subscriptions where user_id = $2 and kind = $3 and target_id = $1) as "subscribed!""#,
        group.id,
        db_id(viewer),
        super::subscription::Kind::Group.key()
    )
    .fetch_one(conn)
    .await?;
    Ok(PageFacts {
        member_count: r.member_count,
        leaders: r.leaders.into_iter().map(snowflake).collect(),
        viewer_is_member: r.member,
        viewer_subscribed: r.subscribed,
        group,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::group::{self, Bucket, NewGroup, Visibility};
    use sqlx::PgPool;

    async fn a_group(conn: &mut PgConnection) -> i64 {
        let g = NewGroup::parse(1, 2, "Rust", Bucket::Interest, Visibility::Open, None).unwrap();
        group::insert(conn, &g).await.unwrap()
    }

    #[sqlx::test]
    async fn membership_is_recorded_once(pool: PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let g = a_group(&mut conn).await;
        assert!(add_member(&mut conn, g, 7).await.unwrap());
        assert!(!add_member(&mut conn, g, 7).await.unwrap());
        assert!(is_member(&mut conn, g, 7).await.unwrap());
        assert_eq!(member_count(&mut conn, g).await.unwrap(), 1);
        assert!(remove_member(&mut conn, g, 7).await.unwrap());
        assert!(!remove_member(&mut conn, g, 7).await.unwrap());
        assert_eq!(member_count(&mut conn, g).await.unwrap(), 0);
    }

    /// The kept count against counting: after joins, a leave, members going
    /// away and coming back, concurrent transactions, one rolled back, and a
    /// deleted group.
    #[sqlx::test]
    async fn the_member_count_follows_every_commit_and_no_rollback(pool: PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let g = a_group(&mut conn).await;
        let other = {
            let n = NewGroup::parse(1, 2, "Go", Bucket::Interest, Visibility::Open, None).unwrap();
            group::insert(&mut conn, &n).await.unwrap()
        };
        let counted = |g: i64| {
            let pool = pool.clone();
            async move {
                sqlx::query_scalar::<_, i64>(
                    "select count(*) from memberships where group_id = $1 and away_since is null",
                )
                .bind(g)
                .fetch_one(&pool)
                .await
                .unwrap()
            }
        };
        for u in 1..=20 {
            add_member(&mut conn, g, u).await.unwrap();
        }
        add_member(&mut conn, other, 1).await.unwrap();
        remove_member(&mut conn, g, 20).await.unwrap();
        sqlx::query("update memberships set away_since = now() where group_id = $1 and user_id <= 5")
            .bind(g)
            .execute(&mut *conn)
            .await
            .unwrap();
        // Coming back clears away_since through the same upsert as a join.
        assert!(add_member(&mut conn, g, 1).await.unwrap());
        assert_eq!(member_count(&mut conn, g).await.unwrap(), counted(g).await);
        assert_eq!(member_count(&mut conn, g).await.unwrap(), 15);

        // Ten joins in concurrent transactions, and one rolled back.
        let mut joins = Vec::new();
        for u in 100..110 {
            let pool = pool.clone();
            joins.push(tokio::spawn(async move {
                let mut tx = pool.begin().await.unwrap();
                add_member(&mut tx, g, u).await.unwrap();
                tx.commit().await.unwrap();
            }));
        }
        for j in joins {
            j.await.unwrap();
        }
        let mut tx = pool.begin().await.unwrap();
        add_member(&mut tx, g, 500).await.unwrap();
        tx.rollback().await.unwrap();
        assert_eq!(member_count(&mut conn, g).await.unwrap(), 25);
        assert_eq!(member_count(&mut conn, g).await.unwrap(), counted(g).await);
        assert_eq!(member_count(&mut conn, other).await.unwrap(), 1, "another group's count is its own");

        // Deleting a group takes its memberships (and its count) along.
        sqlx::query("delete from groups where id = $1").bind(g).execute(&mut *conn).await.unwrap();
        assert_eq!(member_count(&mut conn, g).await.unwrap(), 0);
        let left: i64 = sqlx::query_scalar("select count(*) from group_member_counts where group_id = $1")
            .bind(g)
            .fetch_one(&mut *conn)
            .await
            .unwrap();
        assert_eq!(left, 0);
    }

    #[sqlx::test]
    async fn concurrent_joins_give_one_membership(pool: PgPool) {
        let mut setup = pool.acquire().await.unwrap();
        let g = a_group(&mut setup).await;
        let mut a = pool.begin().await.unwrap();
        assert!(add_member(&mut a, g, 7).await.unwrap());
        let pool2 = pool.clone();
        let second = tokio::spawn(async move {
            let mut b = pool2.begin().await.unwrap();
            let r = add_member(&mut b, g, 7).await.unwrap();
            b.commit().await.unwrap();
            r
        });
        a.commit().await.unwrap();
        assert!(!second.await.unwrap(), "the second join waits for the first and adds nothing");
    }

    #[sqlx::test]
    async fn leaders_and_bans(pool: PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let g = a_group(&mut conn).await;
        assert!(add_leader(&mut conn, g, 5, 1).await.unwrap());
        assert!(!add_leader(&mut conn, g, 5, 1).await.unwrap());
        add_leader(&mut conn, g, 6, 1).await.unwrap();
        assert_eq!(leaders(&mut conn, g).await.unwrap(), vec![5, 6]);
        assert!(is_leader(&mut conn, g, 6).await.unwrap());
        assert!(remove_leader(&mut conn, g, 6).await.unwrap());
        assert!(!is_leader(&mut conn, g, 6).await.unwrap());
        assert!(ban(&mut conn, g, 9, 5, Some("spam")).await.unwrap());
        assert!(!ban(&mut conn, g, 9, 5, None).await.unwrap());
        assert!(is_banned(&mut conn, g, 9).await.unwrap());
        assert!(unban(&mut conn, g, 9).await.unwrap());
        assert!(!is_banned(&mut conn, g, 9).await.unwrap());
    }
}
