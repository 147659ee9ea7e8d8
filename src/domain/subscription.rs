//! Subscriptions (S1, S2): what a member follows.

use super::{db_id, snowflake};
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

    pub fn from_key(key: &str) -> Option<Kind> {
        [Kind::Group, Kind::Forum, Kind::Thread, Kind::Post].into_iter().find(|k| k.key() == key)
    }

    /// What following the channel `/subscribe` was used in means, by
    /// Discord's type of that channel: a thread (of any kind) is followed as
    /// a thread; a text, announcement or forum channel for its new topics;
    /// anything else (voice, stage, a category) can't be followed.
    pub fn of_channel(channel_type: u8) -> Option<Kind> {
        use super::channels::kind;
        match channel_type {
            t if kind::THREADS.contains(&t) => Some(Kind::Thread),
            kind::TEXT | kind::ANNOUNCEMENT | kind::FORUM => Some(Kind::Forum),
            _ => None,
        }
    }
}

/// One thing a member follows, as "My Subscriptions" lists it (S4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    pub id: i64,
    pub kind: Kind,
    pub target: i64,
    /// The group's name, for group subscriptions.
    pub group_name: Option<String>,
    /// A followed forum's, channel's or thread's name as Discord has it
    /// now, when it was read (`service::subscriptions::page`).
    pub channel: Option<ChannelName>,
}

/// A followed channel or thread, as Discord answered about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChannelName {
    Named(String),
    /// Discord says it no longer exists (deleted, or not in this server).
    Gone,
}

impl Item {
    /// When a followed post was written: Discord's ids carry their time
    /// (milliseconds since 2015 in the bits above the 22nd).
    pub fn posted_at(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let ms = (snowflake(self.target) >> 22) as i64 + 1_420_070_400_000;
        chrono::DateTime::from_timestamp_millis(ms)
    }
}

/// Everything a member follows in a guild, by type (groups, forums, threads,
/// posts), oldest first within a type.
pub async fn list(conn: &mut PgConnection, guild_id: u64, user_id: u64) -> Result<Vec<Item>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select s.id, s.kind, s.target_id, g.name as "group_name?"
           from subscriptions s
           left join groups g on s.kind = 'group' and g.id = s.target_id
           where s.guild_id = $1 and s.user_id = $2
           order by case s.kind when 'group' then 0 when 'forum' then 1 when 'thread' then 2 else 3 end,
                    s.created_at, s.id"#,
        db_id(guild_id),
        db_id(user_id)
    )
    .fetch_all(conn)
    .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            Some(Item {
                id: r.id,
                kind: Kind::from_key(&r.kind)?,
                target: r.target_id,
                group_name: r.group_name,
                channel: None,
            })
        })
        .collect())
}

/// Delete some of a member's own subscriptions by row id (ids of anyone
/// else's are ignored); returns what was deleted.
pub async fn delete_own(
    conn: &mut PgConnection,
    guild_id: u64,
    user_id: u64,
    ids: &[i64],
) -> Result<Vec<(Kind, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        "delete from subscriptions where guild_id = $1 and user_id = $2 and id = any($3) returning kind, target_id",
        db_id(guild_id),
        db_id(user_id),
        ids
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().filter_map(|r| Some((Kind::from_key(&r.kind)?, r.target_id))).collect())
}

/// Delete every subscription a member has in a guild; returns what was deleted.
pub async fn delete_all(conn: &mut PgConnection, guild_id: u64, user_id: u64) -> Result<Vec<(Kind, i64)>, sqlx::Error> {
    let rows = sqlx::query!(
        "delete from subscriptions where guild_id = $1 and user_id = $2 returning kind, target_id",
        db_id(guild_id),
        db_id(user_id)
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().filter_map(|r| Some((Kind::from_key(&r.kind)?, r.target_id))).collect())
}

/// How many members follow a group, leaving one user out.
pub async fn group_subscribers_except(conn: &mut PgConnection, group_id: i64, except: u64) -> Result<i64, sqlx::Error> {
    sqlx::query_scalar!(
        r#"select count(*) as "n!" from subscriptions where kind = 'group' and target_id = $1 and user_id <> $2"#,
        group_id,
        db_id(except)
    )
    .fetch_one(conn)
    .await
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

/// Everyone who follows a group (a group subscription), by user id.
pub async fn followers_of_group(conn: &mut PgConnection, group_id: i64) -> Result<Vec<u64>, sqlx::Error> {
    let ids = sqlx::query_scalar!(
        "select user_id from subscriptions where kind = 'group' and target_id = $1 order by user_id",
        group_id
    )
    .fetch_all(conn)
    .await?;
    Ok(ids.into_iter().map(snowflake).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_channel_decides_what_is_followed() {
        use crate::domain::channels::kind;
        for t in kind::THREADS {
            assert_eq!(Kind::of_channel(t), Some(Kind::Thread), "thread type {t}");
        }
        for t in [kind::TEXT, kind::ANNOUNCEMENT, kind::FORUM] {
            assert_eq!(Kind::of_channel(t), Some(Kind::Forum), "channel type {t}");
        }
        for t in [kind::VOICE, kind::CATEGORY, kind::STAGE, kind::MEDIA, 1, 3] {
            assert_eq!(Kind::of_channel(t), None, "type {t} can't be followed");
        }
    }

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

    #[sqlx::test]
    async fn members_list_and_delete_only_their_own(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        subscribe(&mut conn, 1, 7, Kind::Post, 30).await.unwrap();
        subscribe(&mut conn, 1, 7, Kind::Thread, 20).await.unwrap();
        subscribe(&mut conn, 1, 8, Kind::Thread, 20).await.unwrap();
        let mine = list(&mut conn, 1, 7).await.unwrap();
        assert_eq!(mine.iter().map(|i| i.kind).collect::<Vec<_>>(), [Kind::Thread, Kind::Post]);
        let theirs = list(&mut conn, 1, 8).await.unwrap();
        // Someone else's row id is ignored.
        assert!(delete_own(&mut conn, 1, 7, &[theirs[0].id]).await.unwrap().is_empty());
        assert_eq!(delete_own(&mut conn, 1, 7, &[mine[0].id]).await.unwrap(), [(Kind::Thread, 20)]);
        assert_eq!(delete_all(&mut conn, 1, 7).await.unwrap(), [(Kind::Post, 30)]);
        assert_eq!(list(&mut conn, 1, 8).await.unwrap().len(), 1);
        assert_eq!(group_subscribers_except(&mut conn, 20, 8).await.unwrap(), 0);
    }
}
