//! Groups: the four buckets, open/closed visibility, and the group rows.

use super::text::{GroupName, TextError};
use super::{db_id, snowflake};
use sqlx::PgConnection;

/// The directory's four buckets (G1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum Bucket {
    Identity,
    Industry,
    Interest,
    Impact,
}

impl Bucket {
    pub const ALL: [Bucket; 4] = [Bucket::Identity, Bucket::Industry, Bucket::Interest, Bucket::Impact];

    pub fn label(self) -> &'static str {
        match self {
            Bucket::Identity => "Identity",
            Bucket::Industry => "Industry",
            Bucket::Interest => "Interest",
            Bucket::Impact => "Impact",
        }
    }

    pub fn key(self) -> &'static str {
        match self {
            Bucket::Identity => "identity",
            Bucket::Industry => "industry",
            Bucket::Interest => "interest",
            Bucket::Impact => "impact",
        }
    }

    pub fn from_key(key: &str) -> Option<Bucket> {
        Bucket::ALL.into_iter().find(|b| b.key() == key)
    }
}

/// Open groups are readable by everyone; closed groups only by members (G3).
#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum Visibility {
    Open,
    Closed,
}

impl Visibility {
    pub fn label(self) -> &'static str {
        match self {
            Visibility::Open => "Open",
            Visibility::Closed => "Closed",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Group {
    pub id: i64,
    pub guild_id: u64,
    pub name: String,
    pub bucket: Bucket,
    pub visibility: Visibility,
    pub description: String,
    pub role_id: Option<u64>,
    pub channel_id: Option<u64>,
    pub criteria: String,
    pub members_can_post: bool,
    pub adopted_role: bool,
    pub adopted_channel: bool,
    pub archived: bool,
}

/// A group as listed in the directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Listed {
    pub id: i64,
    pub name: String,
    pub bucket: Bucket,
    pub visibility: Visibility,
    pub member_count: i64,
}

/// What an admin asked for, validated.
#[derive(Debug, Clone)]
pub struct NewGroup {
    pub guild_id: u64,
    pub name: GroupName,
    pub bucket: Bucket,
    pub visibility: Visibility,
    pub description: String,
    pub created_by: u64,
}

pub const DESCRIPTION_MAX: usize = 1000;

impl NewGroup {
    pub fn parse(
        guild_id: u64,
        created_by: u64,
        name: &str,
        bucket: Bucket,
        visibility: Visibility,
        description: Option<&str>,
    ) -> Result<NewGroup, TextError> {
        Ok(NewGroup {
            guild_id,
            name: GroupName::parse(name)?,
            bucket,
            visibility,
            description: super::text::free_text(description.unwrap_or(""), "description", DESCRIPTION_MAX)?,
            created_by,
        })
    }
}

#[derive(Debug, thiserror::Error)]
pub enum GroupError {
    #[error("a group with this name already exists")]
    NameTaken,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

fn is_name_conflict(e: &sqlx::Error) -> bool {
    e.as_database_error().and_then(|d| d.constraint()).is_some_and(|c| c == "groups_guild_name_key")
}

/// Whether a group with this name (any letter case) exists in the guild.
pub async fn name_taken(conn: &mut PgConnection, guild_id: u64, name: &GroupName) -> Result<bool, sqlx::Error> {
    let row = sqlx::query_scalar!(
        r#"select exists(select 1 from groups where guild_id = $1 and lower(name) = lower($2)) as "taken!""#,
        db_id(guild_id),
        name.as_str()
    )
    .fetch_one(conn)
    .await?;
    Ok(row)
}

/// Insert the group row before its role and channel exist; the unique index
/// refuses a duplicate name (even from a concurrent create) as `NameTaken`.
pub async fn insert(conn: &mut PgConnection, g: &NewGroup) -> Result<i64, GroupError> {
    sqlx::query_scalar!(
        r#"insert into groups (guild_id, name, bucket, visibility, description, created_by)
           values ($1, $2, $3, $4, $5, $6) returning id"#,
        db_id(g.guild_id),
        g.name.as_str(),
        g.bucket as Bucket,
        g.visibility as Visibility,
        g.description,
        db_id(g.created_by)
    )
    .fetch_one(conn)
    .await
    .map_err(|e| if is_name_conflict(&e) { GroupError::NameTaken } else { GroupError::Db(e) })
}

/// Serialize group provisioning within a guild for the rest of the
/// transaction, so two creates never both make the same bucket's category.
pub async fn lock_guild(conn: &mut PgConnection, guild_id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!("select pg_advisory_xact_lock($1)", db_id(guild_id)).execute(conn).await?;
    Ok(())
}

/// Record the Discord role and channel made for a group.
pub async fn attach_discord(
    conn: &mut PgConnection,
    group_id: i64,
    role_id: u64,
    channel_id: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update groups set role_id = $2, channel_id = $3, updated_at = now() where id = $1",
        group_id,
        db_id(role_id),
        db_id(channel_id)
    )
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn get(conn: &mut PgConnection, guild_id: u64, group_id: i64) -> Result<Option<Group>, sqlx::Error> {
    let row = sqlx::query!(
        r#"select id, guild_id, name, bucket as "bucket: Bucket", visibility as "visibility: Visibility",
                  description, role_id, channel_id, criteria, members_can_post, adopted_role, adopted_channel,
                  archived_at is not null as "archived!"
           from groups where guild_id = $1 and id = $2"#,
        db_id(guild_id),
        group_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(row.map(|r| Group {
        id: r.id,
        guild_id: snowflake(r.guild_id),
        name: r.name,
        bucket: r.bucket,
        visibility: r.visibility,
        description: r.description,
        role_id: r.role_id.map(snowflake),
        channel_id: r.channel_id.map(snowflake),
        criteria: r.criteria,
        members_can_post: r.members_can_post,
        adopted_role: r.adopted_role,
        adopted_channel: r.adopted_channel,
        archived: r.archived,
    }))
}

/// A group by name (any letter case), archived ones included.
pub async fn find_by_name(conn: &mut PgConnection, guild_id: u64, name: &str) -> Result<Option<Group>, sqlx::Error> {
    let id = sqlx::query_scalar!(
        "select id from groups where guild_id = $1 and lower(name) = lower($2) and role_id is not null",
        db_id(guild_id),
        name.trim()
    )
    .fetch_optional(&mut *conn)
    .await?;
    match id {
        Some(id) => get(conn, guild_id, id).await,
        None => Ok(None),
    }
}

/// Names of active groups containing `typed` (any letter case), best matches
/// first, for autocomplete (G5).
pub async fn search_names(
    conn: &mut PgConnection,
    guild_id: u64,
    typed: &str,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let typed = typed.trim().to_lowercase();
    sqlx::query_scalar!(
        r#"select name from groups
           where guild_id = $1 and archived_at is null and role_id is not null
             and strpos(lower(name), $2) > 0
           order by strpos(lower(name), $2), lower(name)
           limit $3"#,
        db_id(guild_id),
        typed,
        limit
    )
    .fetch_all(conn)
    .await
}

/// Active (not archived, fully made) groups of a guild, optionally of one
/// bucket, ordered by bucket then name, with member counts.
pub async fn list(conn: &mut PgConnection, guild_id: u64, bucket: Option<Bucket>) -> Result<Vec<Listed>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select g.id, g.name, g.bucket as "bucket: Bucket", g.visibility as "visibility: Visibility",
                  (select count(*) from memberships m where m.group_id = g.id) as "member_count!"
           from groups g
           where g.guild_id = $1 and g.archived_at is null and g.role_id is not null
             and ($2::text is null or g.bucket = $2)
           order by array_position(array['identity','industry','interest','impact'], g.bucket), lower(g.name)"#,
        db_id(guild_id),
        bucket.map(|b| b.key())
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .map(|r| Listed {
            id: r.id,
            name: r.name,
            bucket: r.bucket,
            visibility: r.visibility,
            member_count: r.member_count,
        })
        .collect())
}

/// The category that holds a bucket's channels, if one was made.
pub async fn bucket_category(
    conn: &mut PgConnection,
    guild_id: u64,
    bucket: Bucket,
) -> Result<Option<u64>, sqlx::Error> {
    let id = sqlx::query_scalar!(
        "select category_id from bucket_categories where guild_id = $1 and bucket = $2",
        db_id(guild_id),
        bucket as Bucket
    )
    .fetch_optional(conn)
    .await?;
    Ok(id.map(snowflake))
}

pub async fn set_bucket_category(
    conn: &mut PgConnection,
    guild_id: u64,
    bucket: Bucket,
    category_id: u64,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "insert into bucket_categories (guild_id, bucket, category_id) values ($1, $2, $3)
         on conflict (guild_id, bucket) do update set category_id = excluded.category_id",
        db_id(guild_id),
        bucket as Bucket,
        db_id(category_id)
    )
    .execute(conn)
    .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlx::PgPool;

    fn new_group(name: &str, bucket: Bucket, visibility: Visibility) -> NewGroup {
        NewGroup::parse(1, 42, name, bucket, visibility, Some("A group")).unwrap()
    }

    #[sqlx::test]
    async fn names_are_unique_per_guild_ignoring_case(pool: PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let id = insert(&mut conn, &new_group("Rust", Bucket::Interest, Visibility::Open)).await.unwrap();
        assert!(id > 0);
        let dup = insert(&mut conn, &new_group("rUST", Bucket::Impact, Visibility::Closed)).await;
        assert!(matches!(dup, Err(GroupError::NameTaken)));
        assert!(name_taken(&mut conn, 1, &GroupName::parse("RUST").unwrap()).await.unwrap());
        // another guild may use the name
        let mut other = new_group("Rust", Bucket::Interest, Visibility::Open);
        other.guild_id = 2;
        assert!(insert(&mut conn, &other).await.is_ok());
    }

    #[sqlx::test]
    async fn the_directory_lists_only_finished_groups_by_bucket(pool: PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let a = insert(&mut conn, &new_group("Zeta", Bucket::Interest, Visibility::Open)).await.unwrap();
        let b = insert(&mut conn, &new_group("alpha", Bucket::Interest, Visibility::Closed)).await.unwrap();
        let c = insert(&mut conn, &new_group("Women in Tech", Bucket::Identity, Visibility::Open)).await.unwrap();
        let _unfinished = insert(&mut conn, &new_group("Half made", Bucket::Impact, Visibility::Open)).await.unwrap();
        for (g, n) in [(a, 10), (b, 11), (c, 12)] {
            attach_discord(&mut conn, g, n, n + 100).await.unwrap();
        }
        sqlx::query!("insert into memberships (group_id, user_id) values ($1, 7), ($1, 8)", b)
            .execute(&mut *conn)
            .await
            .unwrap();
        let all = list(&mut conn, 1, None).await.unwrap();
        let names: Vec<_> = all.iter().map(|g| g.name.as_str()).collect();
        assert_eq!(names, ["Women in Tech", "alpha", "Zeta"]);
        assert_eq!(all[1].member_count, 2);
        assert_eq!(all[1].visibility, Visibility::Closed);
        let interest = list(&mut conn, 1, Some(Bucket::Interest)).await.unwrap();
        assert_eq!(interest.len(), 2);
        let got = get(&mut conn, 1, c).await.unwrap().unwrap();
        assert_eq!((got.role_id, got.channel_id), (Some(12), Some(112)));
        assert!(get(&mut conn, 2, c).await.unwrap().is_none(), "a group is not visible from another guild");
    }

    #[sqlx::test]
    async fn bucket_categories_are_remembered(pool: PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        assert_eq!(bucket_category(&mut conn, 1, Bucket::Impact).await.unwrap(), None);
        set_bucket_category(&mut conn, 1, Bucket::Impact, 500).await.unwrap();
        set_bucket_category(&mut conn, 1, Bucket::Impact, 501).await.unwrap();
        assert_eq!(bucket_category(&mut conn, 1, Bucket::Impact).await.unwrap(), Some(501));
    }
}
