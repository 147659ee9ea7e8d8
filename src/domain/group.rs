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

/// Lock a group's row until the transaction ends, so that one change at a
/// time reads and writes it.
pub async fn lock(conn: &mut PgConnection, group_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!("select id from groups where id = $1 for update", group_id).fetch_optional(conn).await?;
    Ok(())
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

/// A role or channel that another group of the guild already uses.
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("another group already uses this role")]
    RoleInUse,
    #[error("another group already uses this channel")]
    ChannelInUse,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

/// Record an adopted role and/or channel on a group (in the transaction
/// that makes it); the unique constraints refuse one another group uses.
pub async fn link_adopted(
    conn: &mut PgConnection,
    group_id: i64,
    role_id: Option<u64>,
    channel_id: Option<u64>,
) -> Result<(), LinkError> {
    sqlx::query!(
        "update groups
            set role_id = coalesce($2, role_id), adopted_role = $2 is not null,
                channel_id = coalesce($3, channel_id), adopted_channel = $3 is not null,
                updated_at = now()
          where id = $1",
        group_id,
        role_id.map(db_id),
        channel_id.map(db_id)
    )
    .execute(conn)
    .await
    .map_err(|e| match e.as_database_error().and_then(|d| d.constraint()) {
        Some("groups_guild_role_key") => LinkError::RoleInUse,
        Some("groups_guild_channel_key") => LinkError::ChannelInUse,
        _ => LinkError::Db(e),
    })?;
    Ok(())
}

/// The details an admin edits (G2), validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Details {
    /// A name as `GroupName::parse` returns it (or as stored).
    pub name: String,
    pub bucket: Bucket,
    pub visibility: Visibility,
    pub description: String,
    pub criteria: String,
    pub members_can_post: bool,
}

/// Replace a group's details; a name another group has (any letter case)
/// is refused by the unique index as `NameTaken`.
pub async fn update_details(conn: &mut PgConnection, group_id: i64, d: &Details) -> Result<(), GroupError> {
    sqlx::query!(
        "update groups
            set name = $2, bucket = $3, visibility = $4, description = $5, criteria = $6,
                members_can_post = $7, updated_at = now()
          where id = $1",
        group_id,
        d.name,
        d.bucket as Bucket,
        d.visibility as Visibility,
        d.description,
        d.criteria,
        d.members_can_post
    )
    .execute(conn)
    .await
    .map_err(|e| if is_name_conflict(&e) { GroupError::NameTaken } else { GroupError::Db(e) })?;
    Ok(())
}

/// Archive (hide from the directory, keep members and history) or restore.
pub async fn set_archived(conn: &mut PgConnection, group_id: i64, archived: bool) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update groups
            set archived_at = case when $2 then coalesce(archived_at, now()) end, updated_at = now()
          where id = $1",
        group_id,
        archived
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Delete a group row; memberships, leaders, bans go with it (cascade), and
/// so do subscriptions to the group (they name it by id, without a foreign
/// key, since other kinds name Discord objects). Returns whether a row was
/// deleted.
pub async fn delete(conn: &mut PgConnection, guild_id: u64, group_id: i64) -> Result<bool, sqlx::Error> {
    let done = sqlx::query!("delete from groups where guild_id = $1 and id = $2", db_id(guild_id), group_id)
        .execute(&mut *conn)
        .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    sqlx::query!("delete from subscriptions where kind = 'group' and target_id = $1", group_id).execute(conn).await?;
    Ok(true)
}

/// Record the people who already hold an adopted role as members.
pub async fn import_members(conn: &mut PgConnection, group_id: i64, user_ids: &[u64]) -> Result<u64, sqlx::Error> {
    let ids: Vec<i64> = user_ids.iter().copied().map(db_id).collect();
    let done = sqlx::query!(
        "insert into memberships (group_id, user_id) select $1, unnest($2::bigint[]) on conflict do nothing",
        group_id,
        &ids
    )
    .execute(conn)
    .await?;
    Ok(done.rows_affected())
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

/// Names of archived groups containing `typed`, for `/group unarchive`.
pub async fn search_archived_names(
    conn: &mut PgConnection,
    guild_id: u64,
    typed: &str,
    limit: i64,
) -> Result<Vec<String>, sqlx::Error> {
    let typed = typed.trim().to_lowercase();
    sqlx::query_scalar!(
        r#"select name from groups
           where guild_id = $1 and archived_at is not null and role_id is not null
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
                  coalesce((select c.members from group_member_counts c where c.group_id = g.id), 0) as "member_count!"
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

/// The channels of a bucket's groups: (group, channel).
pub async fn channels_of_bucket(
    conn: &mut PgConnection,
    guild_id: u64,
    bucket: Bucket,
) -> Result<Vec<(i64, u64)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select id, channel_id as "channel_id!" from groups
           where guild_id = $1 and bucket = $2 and channel_id is not null order by id"#,
        db_id(guild_id),
        bucket as Bucket
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, snowflake(r.channel_id))).collect())
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

/// Remember `new` as the bucket's category if it still is `expected` (the
/// one read before `new` was made on Discord, holding no lock meanwhile);
/// returns the category remembered now: `new`, or the one another change
/// made and remembered first.
pub async fn swap_bucket_category(
    conn: &mut PgConnection,
    guild_id: u64,
    bucket: Bucket,
    expected: Option<u64>,
    new: u64,
) -> Result<u64, sqlx::Error> {
    let swapped = sqlx::query_scalar!(
        "insert into bucket_categories (guild_id, bucket, category_id) values ($1, $2, $3)
         on conflict (guild_id, bucket) do update set category_id = excluded.category_id
         where bucket_categories.category_id = $4
         returning category_id",
        db_id(guild_id),
        bucket as Bucket,
        db_id(new),
        expected.map(db_id)
    )
    .fetch_optional(&mut *conn)
    .await?;
    if let Some(id) = swapped {
        return Ok(snowflake(id));
    }
    Ok(bucket_category(conn, guild_id, bucket).await?.unwrap_or(new))
}

/// Forget `category_id` as a bucket's category (it is being deleted).
pub async fn forget_category(conn: &mut PgConnection, category_id: u64) -> Result<(), sqlx::Error> {
    sqlx::query!("delete from bucket_categories where category_id = $1", db_id(category_id)).execute(conn).await?;
    Ok(())
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

    #[sqlx::test]
    async fn a_role_or_channel_belongs_to_one_group_only(pool: PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let a = insert(&mut conn, &new_group("Rust", Bucket::Interest, Visibility::Open)).await.unwrap();
        let b = insert(&mut conn, &new_group("Go", Bucket::Interest, Visibility::Open)).await.unwrap();
        link_adopted(&mut conn, a, Some(10), Some(20)).await.unwrap();
        assert!(matches!(link_adopted(&mut conn, b, Some(10), None).await, Err(LinkError::RoleInUse)));
        assert!(matches!(link_adopted(&mut conn, b, None, Some(20)).await, Err(LinkError::ChannelInUse)));
        // A made (not adopted) role can't be adopted by another group either.
        attach_discord(&mut conn, b, 11, 21).await.unwrap();
        let c = insert(&mut conn, &new_group("Zig", Bucket::Impact, Visibility::Closed)).await.unwrap();
        assert!(matches!(link_adopted(&mut conn, c, Some(11), None).await, Err(LinkError::RoleInUse)));
        link_adopted(&mut conn, c, None, Some(22)).await.unwrap();
        let got = get(&mut conn, 1, c).await.unwrap().unwrap();
        assert_eq!((got.role_id, got.channel_id, got.adopted_role, got.adopted_channel), (None, Some(22), false, true));
        let got = get(&mut conn, 1, a).await.unwrap().unwrap();
        assert!(got.adopted_role && got.adopted_channel);
        // Another guild may use the same ids (they can't collide on Discord anyway).
        let mut other = new_group("Rust", Bucket::Interest, Visibility::Open);
        other.guild_id = 2;
        let d = insert(&mut conn, &other).await.unwrap();
        link_adopted(&mut conn, d, Some(10), Some(20)).await.unwrap();
    }

    #[sqlx::test]
    async fn details_are_replaced_and_a_taken_name_refused(pool: PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let a = insert(&mut conn, &new_group("Rust", Bucket::Interest, Visibility::Open)).await.unwrap();
        insert(&mut conn, &new_group("Go", Bucket::Interest, Visibility::Open)).await.unwrap();
        attach_discord(&mut conn, a, 10, 20).await.unwrap();
        let mut d = Details {
            name: "GO".into(),
            bucket: Bucket::Impact,
            visibility: Visibility::Closed,
            description: "d".into(),
            criteria: "c".into(),
            members_can_post: false,
        };
        assert!(matches!(update_details(&mut conn, a, &d).await, Err(GroupError::NameTaken)));
        d.name = "RUST".into();
        update_details(&mut conn, a, &d).await.unwrap();
        let got = get(&mut conn, 1, a).await.unwrap().unwrap();
        assert_eq!(got.name, "RUST");
        assert_eq!((got.bucket, got.visibility), (Bucket::Impact, Visibility::Closed));
        assert_eq!((got.description.as_str(), got.criteria.as_str(), got.members_can_post), ("d", "c", false));
    }

    #[sqlx::test]
    async fn archived_groups_leave_the_directory_but_keep_their_members(pool: PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let a = insert(&mut conn, &new_group("Rust", Bucket::Interest, Visibility::Open)).await.unwrap();
        attach_discord(&mut conn, a, 10, 20).await.unwrap();
        assert_eq!(import_members(&mut conn, a, &[7, 8, 7]).await.unwrap(), 2);
        assert_eq!(import_members(&mut conn, a, &[8, 9]).await.unwrap(), 1, "already members are skipped");
        set_archived(&mut conn, a, true).await.unwrap();
        set_archived(&mut conn, a, true).await.unwrap();
        assert!(list(&mut conn, 1, None).await.unwrap().is_empty());
        assert!(search_names(&mut conn, 1, "ru", 25).await.unwrap().is_empty());
        assert_eq!(search_archived_names(&mut conn, 1, "RU", 25).await.unwrap(), ["Rust"]);
        assert!(get(&mut conn, 1, a).await.unwrap().unwrap().archived);
        assert!(find_by_name(&mut conn, 1, "rust").await.unwrap().is_some(), "still found by name");
        set_archived(&mut conn, a, false).await.unwrap();
        let listed = list(&mut conn, 1, None).await.unwrap();
        assert_eq!((listed.len(), listed[0].member_count), (1, 3));
        assert!(search_archived_names(&mut conn, 1, "", 25).await.unwrap().is_empty());
    }

    #[sqlx::test]
    async fn deleting_a_group_takes_its_memberships_and_only_in_its_guild(pool: PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let a = insert(&mut conn, &new_group("Rust", Bucket::Interest, Visibility::Open)).await.unwrap();
        import_members(&mut conn, a, &[7]).await.unwrap();
        assert!(!delete(&mut conn, 2, a).await.unwrap(), "not from another guild");
        assert!(delete(&mut conn, 1, a).await.unwrap());
        assert!(!delete(&mut conn, 1, a).await.unwrap());
        let left: i64 = sqlx::query_scalar("select count(*) from memberships").fetch_one(&mut *conn).await.unwrap();
        assert_eq!(left, 0);
    }
}
