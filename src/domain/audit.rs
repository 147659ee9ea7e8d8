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
    /// What changed, for admins to read (a channel or role mention, a
    /// version); at most 200 characters.
    pub detail: Option<&'a str>,
}

impl<'a> Entry<'a> {
    /// `actor` did `action` to `subject` in a group: the common case.
    pub fn of(guild_id: u64, group_id: i64, actor: u64, subject: u64, action: &'a str) -> Entry<'a> {
        Entry {
            guild_id,
            actor_id: Some(actor),
            subject_id: Some(subject),
            group_id: Some(group_id),
            action,
            ..Default::default()
        }
    }

    /// `action` in a server, by nobody in particular yet: add who, to whom
    /// and where with the methods below.
    pub fn guild(guild_id: u64, action: &'a str) -> Entry<'a> {
        Entry { guild_id, action, ..Default::default() }
    }

    /// Who acted.
    pub fn actor(mut self, actor: u64) -> Entry<'a> {
        self.actor_id = Some(actor);
        self
    }

    /// Who acted, if anyone did (a repair the bot made on its own has
    /// nobody).
    pub fn acted_by(mut self, actor: Option<u64>) -> Entry<'a> {
        self.actor_id = actor;
        self
    }

    /// Whom it concerns.
    pub fn subject(mut self, subject: u64) -> Entry<'a> {
        self.subject_id = Some(subject);
        self
    }

    /// In which group.
    pub fn group(mut self, group_id: i64) -> Entry<'a> {
        self.group_id = Some(group_id);
        self
    }

    /// In which group, if any.
    pub fn in_group(mut self, group_id: Option<i64>) -> Entry<'a> {
        self.group_id = group_id;
        self
    }

    /// With a reason (the person's own words, or what happened).
    pub fn because(mut self, reason: &'a str) -> Entry<'a> {
        self.reason = Some(reason);
        self
    }

    /// With a reason, if there is one.
    pub fn because_of(mut self, reason: Option<&'a str>) -> Entry<'a> {
        self.reason = reason;
        self
    }

    /// What changed, for admins to read.
    pub fn detail(mut self, detail: &'a str) -> Entry<'a> {
        self.detail = Some(detail);
        self
    }
}

/// Record a change. The group's current name is kept with the entry, so the
/// trail still names the group after it is deleted.
pub async fn record(conn: &mut PgConnection, e: &Entry<'_>) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into audit_log (guild_id, actor_id, subject_id, group_id, group_name, action, reason, detail)
         values ($1, $2, $3, $4, (select name from groups where id = $4), $5, $6, $7)",
        db_id(e.guild_id),
        e.actor_id.map(db_id),
        e.subject_id.map(db_id),
        e.group_id,
        e.action,
        e.reason,
        e.detail
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[derive(Debug, Clone)]
pub struct Recorded {
    pub id: i64,
    pub created_at: chrono::DateTime<chrono::Utc>,
    pub actor_id: Option<u64>,
    pub subject_id: Option<u64>,
    pub group_id: Option<i64>,
    /// The group's name now, or when the entry was written if it was deleted.
    pub group_name: Option<String>,
    pub action: String,
    pub reason: Option<String>,
    pub detail: Option<String>,
}

/// One page of the trail, as `/audit` shows it.
#[derive(Debug, Clone)]
pub struct AuditPage {
    /// The filter, with `upto` pinned to the newest entry when first shown.
    pub filter: Filter,
    /// The filtered group's name.
    pub group_name: Option<String>,
    pub entries: Vec<Recorded>,
    pub total: i64,
    /// 0-based, clamped to the last page.
    pub page: u32,
    pub pages: u32,
}

/// The newest entries of a guild first.
pub async fn recent(conn: &mut PgConnection, guild_id: u64, limit: i64) -> Result<Vec<Recorded>, sqlx::Error> {
    page(conn, guild_id, &Filter::default(), 0, limit).await
}

/// Which entries `/audit` shows (A2).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Filter {
    /// Only entries about this group.
    pub group_id: Option<i64>,
    /// Only entries where this user acted or was acted on.
    pub user_id: Option<u64>,
    /// Only entries up to this id: pages stay put while new entries arrive.
    pub upto: Option<i64>,
}

/// How many entries match.
pub async fn count(conn: &mut PgConnection, guild_id: u64, f: &Filter) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from audit_log a
           where a.guild_id = $1
             and ($2::bigint is null or a.group_id = $2)
             and ($3::bigint is null or a.actor_id = $3 or a.subject_id = $3)
             and ($4::bigint is null or a.id <= $4)"#,
        db_id(guild_id),
        f.group_id,
        f.user_id.map(db_id),
        f.upto
    )
    .fetch_one(conn)
    .await
}

/// The id of the newest entry of a guild (0 when there is none).
pub async fn newest_id(conn: &mut PgConnection, guild_id: u64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(r#"select coalesce(max(id), 0) as "id!" from audit_log where guild_id = $1"#, db_id(guild_id))
        .fetch_one(conn)
        .await
}

/// Matching entries, newest first, skipping `offset`.
pub async fn page(
    conn: &mut PgConnection,
    guild_id: u64,
    f: &Filter,
    offset: i64,
    limit: i64,
) -> Result<Vec<Recorded>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select a.id, a.created_at, a.actor_id, a.subject_id, a.group_id,
                  coalesce(g.name, a.group_name) as group_name, a.action, a.reason, a.detail
           from audit_log a left join groups g on g.id = a.group_id
           where a.guild_id = $1
             and ($2::bigint is null or a.group_id = $2)
             and ($3::bigint is null or a.actor_id = $3 or a.subject_id = $3)
             and ($4::bigint is null or a.id <= $4)
           order by a.id desc
           offset $5 limit $6"#,
        db_id(guild_id),
        f.group_id,
        f.user_id.map(db_id),
        f.upto,
        offset,
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Recorded {
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

    async fn group(conn: &mut PgConnection, name: &str) -> i64 {
        sqlx::query_scalar!(
            "insert into groups (guild_id, name, bucket, visibility, created_by) values (1, $1, 'interest', 'open', 9) returning id",
            name
        )
        .fetch_one(conn)
        .await
        .unwrap()
    }

    #[sqlx::test]
    async fn entries_are_filtered_by_group_and_by_user_as_actor_or_subject(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let rust = group(&mut conn, "Rust").await;
        let go = group(&mut conn, "Go").await;
        let e = |actor, subject, group_id, action| Entry {
            guild_id: 1,
            actor_id: Some(actor),
            subject_id: subject,
            group_id,
            action,
            ..Default::default()
        };
        for entry in [
            e(9, None, Some(rust), "group.create"),
            e(9, None, Some(go), "group.create"),
            e(7, Some(7), Some(rust), "membership.join"),
            e(8, Some(7), Some(go), "membership.remove"),
            e(9, None, None, "config.mod-channel"),
        ] {
            record(&mut conn, &entry).await.unwrap();
        }
        // another guild's entries never show
        record(&mut conn, &Entry { guild_id: 2, actor_id: Some(7), action: "x", ..Default::default() }).await.unwrap();

        let actions = |v: Vec<Recorded>| v.into_iter().map(|r| r.action).collect::<Vec<_>>();
        let by_group = Filter { group_id: Some(rust), ..Default::default() };
        assert_eq!(count(&mut conn, 1, &by_group).await.unwrap(), 2);
        assert_eq!(actions(page(&mut conn, 1, &by_group, 0, 10).await.unwrap()), ["membership.join", "group.create"]);
        let by_user = Filter { user_id: Some(7), ..Default::default() };
        assert_eq!(
            actions(page(&mut conn, 1, &by_user, 0, 10).await.unwrap()),
            ["membership.remove", "membership.join"]
        );
        let both = Filter { group_id: Some(go), user_id: Some(7), upto: None };
        assert_eq!(actions(page(&mut conn, 1, &both, 0, 10).await.unwrap()), ["membership.remove"]);
        let got = page(&mut conn, 1, &Filter::default(), 0, 10).await.unwrap();
        assert_eq!(got.len(), 5);
        assert_eq!(got[1].subject_id, Some(7));
        assert_eq!(got[1].group_name.as_deref(), Some("Go"));
        assert!(got[0].group_name.is_none());
    }

    #[sqlx::test]
    async fn pages_are_newest_first_and_stay_put_while_entries_arrive(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        for i in 0..25 {
            let reason = format!("entry {i}");
            record(&mut conn, &Entry { guild_id: 1, action: "x", reason: Some(&reason), ..Default::default() })
                .await
                .unwrap();
        }
        let upto = newest_id(&mut conn, 1).await.unwrap();
        assert_eq!(newest_id(&mut conn, 5).await.unwrap(), 0);
        let f = Filter { upto: Some(upto), ..Default::default() };
        let reasons = |v: Vec<Recorded>| v.into_iter().map(|r| r.reason.unwrap()).collect::<Vec<_>>();
        let first = reasons(page(&mut conn, 1, &f, 0, 10).await.unwrap());
        assert_eq!(first.first().map(String::as_str), Some("entry 24"));
        assert_eq!(first.len(), 10);
        record(&mut conn, &Entry { guild_id: 1, action: "x", reason: Some("late"), ..Default::default() })
            .await
            .unwrap();
        assert_eq!(count(&mut conn, 1, &f).await.unwrap(), 25, "a newer entry does not shift the pages");
        let third = reasons(page(&mut conn, 1, &f, 20, 10).await.unwrap());
        assert_eq!(third, ["entry 4", "entry 3", "entry 2", "entry 1", "entry 0"]);
        assert_eq!(count(&mut conn, 1, &Filter::default()).await.unwrap(), 26);
    }

    #[sqlx::test]
    async fn the_group_name_and_detail_outlive_the_group(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let g = group(&mut conn, "Rust").await;
        let entry = Entry {
            guild_id: 1,
            actor_id: Some(9),
            group_id: Some(g),
            action: "group.delete",
            detail: Some("was open"),
            ..Default::default()
        };
        record(&mut conn, &entry).await.unwrap();
        sqlx::query!("delete from groups where id = $1", g).execute(&mut *conn).await.unwrap();
        let got = recent(&mut conn, 1, 10).await.unwrap();
        assert_eq!(got[0].group_id, None);
        assert_eq!(got[0].group_name.as_deref(), Some("Rust"));
        assert_eq!(got[0].detail.as_deref(), Some("was open"));
    }
}
