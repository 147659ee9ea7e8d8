//! Applications to lead a group (L1-L3) and the leaderless-group flag (L4).
//!
//! An application either names an existing group or proposes a new one
//! (name, bucket, description). One open application per member per group
//! (or per proposed name, ignoring letter case) is enforced by partial
//! unique indexes; the first decision wins by a conditional update on
//! `status = 'open'` under a row lock.

use super::group::Bucket;
use super::text::{free_text, GroupName, TextError};
use super::{db_id, snowflake};
use chrono::{DateTime, Utc};
use sqlx::PgConnection;

pub const ANSWER_MAX: usize = 1000;
pub const REASON_MAX: usize = 1000;
pub const HOURS_MAX: i32 = 168;

#[derive(Debug, Clone, Copy, PartialEq, Eq, sqlx::Type)]
#[sqlx(type_name = "text", rename_all = "lowercase")]
pub enum Status {
    Open,
    Approved,
    Declined,
    Withdrawn,
}

impl Status {
    pub fn label(self) -> &'static str {
        match self {
            Status::Open => "Open",
            Status::Approved => "Approved",
            Status::Declined => "Declined",
            Status::Withdrawn => "Withdrawn",
        }
    }
}

/// What the applicant wants to lead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Existing { group_id: i64, group_name: String },
    Proposal { name: String, bucket: Bucket, description: String },
}

impl Target {
    /// The group's name, existing or proposed.
    pub fn name(&self) -> &str {
        match self {
            Target::Existing { group_name, .. } => group_name,
            Target::Proposal { name, .. } => name,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Application {
    pub id: i64,
    pub guild_id: u64,
    pub applicant_id: u64,
    pub target: Target,
    pub motivation: String,
    pub experience: String,
    pub hours_per_week: i32,
    pub status: Status,
    pub decided_by: Option<u64>,
    pub decided_at: Option<DateTime<Utc>>,
    pub reason: Option<String>,
    pub created_group_id: Option<i64>,
    pub mod_channel_id: Option<u64>,
    pub mod_message_id: Option<u64>,
    pub thread_id: Option<u64>,
    pub dm_delivered: Option<bool>,
    pub created_at: DateTime<Utc>,
}

/// The answers of the form, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answers {
    pub motivation: String,
    pub experience: String,
    pub hours_per_week: i32,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AnswerError {
    #[error(transparent)]
    Text(#[from] TextError),
    #[error("Hours per week must be a whole number from 1 to 168.")]
    Hours,
}

impl Answers {
    pub fn parse(motivation: &str, experience: &str, hours: &str) -> Result<Answers, AnswerError> {
        let motivation = required(motivation, "motivation")?;
        let experience = required(experience, "experience")?;
        let hours_per_week = parse_hours(hours)?;
        Ok(Answers { motivation, experience, hours_per_week })
    }
}

fn required(raw: &str, field: &'static str) -> Result<String, TextError> {
    let t = free_text(raw, field, ANSWER_MAX)?;
    if t.is_empty() {
        return Err(TextError::Empty { field });
    }
    Ok(t)
}

/// Hours per week: a whole number from 1 to 168 ("5", " 10 ", "10h" is refused).
pub fn parse_hours(raw: &str) -> Result<i32, AnswerError> {
    let t = raw.trim();
    if t.is_empty() || t.len() > 3 || !t.bytes().all(|b| b.is_ascii_digit()) {
        return Err(AnswerError::Hours);
    }
    t.parse::<i32>().ok().filter(|h| (1..=HOURS_MAX).contains(h)).ok_or(AnswerError::Hours)
}

/// A proposed group, validated like `/group create` validates.
pub fn parse_proposal(name: &str, bucket: Bucket, description: &str) -> Result<Target, TextError> {
    Ok(Target::Proposal {
        name: GroupName::parse(name)?.as_str().to_string(),
        bucket,
        description: free_text(description, "description", super::group::DESCRIPTION_MAX)?,
    })
}

/// A decline reason: required, bounded.
pub fn parse_reason(raw: &str) -> Result<String, TextError> {
    let t = free_text(raw, "reason", REASON_MAX)?;
    if t.is_empty() {
        return Err(TextError::Empty { field: "reason" });
    }
    Ok(t)
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    /// The member already has an open application for this group or name.
    #[error("an open application exists")]
    AlreadyOpen(Box<Application>),
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

struct Row {
    id: i64,
    guild_id: i64,
    applicant_id: i64,
    group_id: Option<i64>,
    group_name: Option<String>,
    proposed_name: Option<String>,
    proposed_bucket: Option<Bucket>,
    proposed_description: String,
    motivation: String,
    experience: String,
    hours_per_week: i32,
    status: Status,
    decided_by: Option<i64>,
    decided_at: Option<DateTime<Utc>>,
    reason: Option<String>,
    created_group_id: Option<i64>,
    mod_channel_id: Option<i64>,
    mod_message_id: Option<i64>,
    thread_id: Option<i64>,
    dm_delivered: Option<bool>,
    created_at: DateTime<Utc>,
}

impl From<Row> for Application {
    fn from(r: Row) -> Application {
        let target = match (r.group_id, r.proposed_name, r.proposed_bucket) {
            (Some(group_id), _, _) => Target::Existing { group_id, group_name: r.group_name.unwrap_or_default() },
            (None, Some(name), Some(bucket)) => Target::Proposal { name, bucket, description: r.proposed_description },
            // the table's checks rule this out; a deleted group cascades
            _ => Target::Proposal { name: String::new(), bucket: Bucket::Interest, description: String::new() },
        };
        Application {
            id: r.id,
            guild_id: snowflake(r.guild_id),
            applicant_id: snowflake(r.applicant_id),
            target,
            motivation: r.motivation,
            experience: r.experience,
            hours_per_week: r.hours_per_week,
            status: r.status,
            decided_by: r.decided_by.map(snowflake),
            decided_at: r.decided_at,
            reason: r.reason,
            created_group_id: r.created_group_id,
            mod_channel_id: r.mod_channel_id.map(snowflake),
            mod_message_id: r.mod_message_id.map(snowflake),
            thread_id: r.thread_id.map(snowflake),
            dm_delivered: r.dm_delivered,
            created_at: r.created_at,
        }
    }
}

/// Store a new open application. A second open one for the same group (or
/// proposed name) is refused with the first, so the member can be told where
/// it stands.
pub async fn insert(
    conn: &mut PgConnection,
    guild_id: u64,
    applicant_id: u64,
    target: &Target,
    answers: &Answers,
) -> Result<i64, ApplyError> {
    let (group_id, name, bucket, description) = match target {
        Target::Existing { group_id, .. } => (Some(*group_id), None, None, ""),
        Target::Proposal { name, bucket, description } => {
            (None, Some(name.as_str()), Some(*bucket), description.as_str())
        }
    };
    // `on conflict do nothing` keeps the transaction usable when an open
    // application already exists (any of the partial unique indexes).
    let inserted = sqlx::query_scalar!(
        r#"insert into lead_applications
             (guild_id, applicant_id, group_id, proposed_name, proposed_bucket, proposed_description,
              motivation, experience, hours_per_week)
           values ($1, $2, $3, $4, $5, $6, $7, $8, $9)
           on conflict do nothing returning id"#,
        db_id(guild_id),
        db_id(applicant_id),
        group_id,
        name,
        bucket as Option<Bucket>,
        description,
        answers.motivation,
        answers.experience,
        answers.hours_per_week
    )
    .fetch_optional(&mut *conn)
    .await?;
    match inserted {
        Some(id) => Ok(id),
        None => match open_for(conn, guild_id, applicant_id, target).await? {
            Some(a) => Err(ApplyError::AlreadyOpen(Box::new(a))),
            None => Err(ApplyError::Db(sqlx::Error::RowNotFound)),
        },
    }
}

/// The member's open application for this group or proposed name, if any.
pub async fn open_for(
    conn: &mut PgConnection,
    guild_id: u64,
    applicant_id: u64,
    target: &Target,
) -> Result<Option<Application>, sqlx::Error> {
    let (group_id, name) = match target {
        Target::Existing { group_id, .. } => (Some(*group_id), None),
        Target::Proposal { name, .. } => (None, Some(name.as_str())),
    };
    let id = sqlx::query_scalar!(
        "select id from lead_applications
         where guild_id = $1 and applicant_id = $2 and status = 'open'
           and (group_id = $3 or lower(proposed_name) = lower($4))",
        db_id(guild_id),
        db_id(applicant_id),
        group_id,
        name
    )
    .fetch_optional(&mut *conn)
    .await?;
    match id {
        Some(id) => get(conn, guild_id, id).await,
        None => Ok(None),
    }
}

/// One application of a guild (a custom id from another guild finds nothing).
pub async fn get(conn: &mut PgConnection, guild_id: u64, id: i64) -> Result<Option<Application>, sqlx::Error> {
    let r = sqlx::query_as!(
        Row,
        r#"select a.id, a.guild_id, a.applicant_id, a.group_id, g.name as "group_name?",
                  a.proposed_name, a.proposed_bucket as "proposed_bucket: Bucket", a.proposed_description,
                  a.motivation, a.experience, a.hours_per_week, a.status as "status: Status",
                  a.decided_by, a.decided_at, a.reason, a.created_group_id,
                  a.mod_channel_id, a.mod_message_id, a.thread_id, a.dm_delivered, a.created_at
           from lead_applications a left join groups g on g.id = a.group_id
           where a.guild_id = $1 and a.id = $2"#,
        db_id(guild_id),
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(r.map(Application::from))
}

/// A member's applications, newest first.
pub async fn for_applicant(
    conn: &mut PgConnection,
    guild_id: u64,
    applicant_id: u64,
    limit: i64,
) -> Result<Vec<Application>, sqlx::Error> {
    let rows = sqlx::query_as!(
        Row,
        r#"select a.id, a.guild_id, a.applicant_id, a.group_id, g.name as "group_name?",
                  a.proposed_name, a.proposed_bucket as "proposed_bucket: Bucket", a.proposed_description,
                  a.motivation, a.experience, a.hours_per_week, a.status as "status: Status",
                  a.decided_by, a.decided_at, a.reason, a.created_group_id,
                  a.mod_channel_id, a.mod_message_id, a.thread_id, a.dm_delivered, a.created_at
           from lead_applications a left join groups g on g.id = a.group_id
           where a.guild_id = $1 and a.applicant_id = $2
           order by a.created_at desc, a.id desc limit $3"#,
        db_id(guild_id),
        db_id(applicant_id),
        limit
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Application::from).collect())
}

/// A guild's open applications, oldest first.
pub async fn open_in_guild(conn: &mut PgConnection, guild_id: u64) -> Result<Vec<Application>, sqlx::Error> {
    let rows = sqlx::query_as!(
        Row,
        r#"select a.id, a.guild_id, a.applicant_id, a.group_id, g.name as "group_name?",
                  a.proposed_name, a.proposed_bucket as "proposed_bucket: Bucket", a.proposed_description,
                  a.motivation, a.experience, a.hours_per_week, a.status as "status: Status",
                  a.decided_by, a.decided_at, a.reason, a.created_group_id,
                  a.mod_channel_id, a.mod_message_id, a.thread_id, a.dm_delivered, a.created_at
           from lead_applications a left join groups g on g.id = a.group_id
           where a.guild_id = $1 and a.status = 'open'
           order by a.created_at, a.id"#,
        db_id(guild_id)
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(Application::from).collect())
}

/// Remember where the application's card was posted.
pub async fn set_card(
    conn: &mut PgConnection,
    id: i64,
    channel_id: u64,
    message_id: u64,
    thread_id: Option<u64>,
) -> Result<(), sqlx::Error> {
    sqlx::query!(
        "update lead_applications set mod_channel_id = $2, mod_message_id = $3, thread_id = $4, updated_at = now()
         where id = $1",
        id,
        db_id(channel_id),
        db_id(message_id),
        thread_id.map(db_id)
    )
    .execute(conn)
    .await?;
    Ok(())
}

/// Close an open application; `false` when it was no longer open (someone
/// decided first, or it was withdrawn).
/// An approval whose grant Discord refused for good (N6): the application
/// is open again. `None` when nothing was reopened, else the group the
/// approval made from a proposal (`Some(None)` for an existing group's):
/// the caller unmakes it, so that approving again makes it again.
pub async fn reopen(conn: &mut PgConnection, id: i64) -> Result<Option<Option<i64>>, sqlx::Error> {
    let reopened = sqlx::query!(
        "update lead_applications a set status = 'open', decided_by = null, decided_at = null, reason = null,
                dm_delivered = null, created_group_id = null, updated_at = now()
         from lead_applications before
         where a.id = $1 and before.id = a.id and a.status = 'approved'
           and not exists (select 1 from lead_applications o
                           where o.applicant_id = a.applicant_id and o.status = 'open'
                             and (o.group_id = a.group_id
                                  or lower(o.proposed_name) = lower(a.proposed_name) and o.guild_id = a.guild_id))
         returning before.created_group_id",
        id
    )
    .fetch_optional(conn)
    .await?;
    Ok(reopened.map(|r| r.created_group_id))
}

pub async fn close(
    conn: &mut PgConnection,
    id: i64,
    status: Status,
    decided_by: u64,
    reason: Option<&str>,
    created_group_id: Option<i64>,
    now: DateTime<Utc>,
) -> Result<bool, sqlx::Error> {
    let closed = sqlx::query_scalar!(
        "update lead_applications
         set status = $2, decided_by = $3, decided_at = $6, reason = $4, created_group_id = $5, updated_at = now()
         where id = $1 and status = 'open' returning id",
        id,
        status as Status,
        db_id(decided_by),
        reason,
        created_group_id,
        now
    )
    .fetch_optional(conn)
    .await?;
    Ok(closed.is_some())
}

/// Record whether the outcome DM reached the applicant.
pub async fn set_dm_delivered(conn: &mut PgConnection, id: i64, delivered: bool) -> Result<(), sqlx::Error> {
    sqlx::query!("update lead_applications set dm_delivered = $2, updated_at = now() where id = $1", id, delivered)
        .execute(conn)
        .await?;
    Ok(())
}

/// The groups `user_id` leads in the guild.
pub async fn led_by(conn: &mut PgConnection, guild_id: u64, user_id: u64) -> Result<Vec<i64>, sqlx::Error> {
    sqlx::query_scalar!(
        "select l.group_id from group_leaders l join groups g on g.id = l.group_id
         where g.guild_id = $1 and l.user_id = $2",
        db_id(guild_id),
        db_id(user_id)
    )
    .fetch_all(conn)
    .await
}

/// Claim the right to flag a group as leaderless: `true` once, when the
/// group has no leader and was not flagged since its last leader was added.
pub async fn claim_leaderless_flag(conn: &mut PgConnection, group_id: i64) -> Result<bool, sqlx::Error> {
    let claimed = sqlx::query_scalar!(
        "update groups set leaderless_flagged_at = now()
         where id = $1 and leaderless_flagged_at is null and archived_at is null
           and not exists (select 1 from group_leaders where group_id = $1)
         returning id",
        group_id
    )
    .fetch_optional(conn)
    .await?;
    Ok(claimed.is_some())
}

/// Forget the flag: the group has a leader again, or the flag could not be
/// delivered and should be tried again.
pub async fn clear_leaderless_flag(conn: &mut PgConnection, group_id: i64) -> Result<(), sqlx::Error> {
    sqlx::query!("update groups set leaderless_flagged_at = null where id = $1", group_id).execute(conn).await?;
    Ok(())
}

/// Active groups with no leader: (id, name, whether admins were flagged).
pub async fn leaderless(conn: &mut PgConnection, guild_id: u64) -> Result<Vec<(i64, String, bool)>, sqlx::Error> {
    let rows = sqlx::query!(
        r#"select id, name, leaderless_flagged_at is not null as "flagged!" from groups g
           where guild_id = $1 and archived_at is null and role_id is not null
             and not exists (select 1 from group_leaders l where l.group_id = g.id)
           order by lower(name)"#,
        db_id(guild_id)
    )
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|r| (r.id, r.name, r.flagged)).collect())
}

/// What `/lead pending` shows admins.
pub struct Pending {
    pub mod_channel: Option<u64>,
    pub reposted: usize,
    pub open: Vec<Application>,
    pub leaderless: Vec<(i64, String, bool)>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::group::{self, NewGroup, Visibility};

    #[test]
    fn hours_are_a_whole_number_from_1_to_168() {
        assert_eq!(parse_hours(" 5 ").unwrap(), 5);
        assert_eq!(parse_hours("168").unwrap(), 168);
        for bad in ["", "0", "169", "-1", "5h", "1.5", "99999999999", "+3"] {
            assert!(parse_hours(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn answers_and_reasons_are_required_and_bounded() {
        assert!(Answers::parse("I care", "Ran meetups", "4").is_ok());
        assert!(matches!(Answers::parse("  ", "x", "4"), Err(AnswerError::Text(TextError::Empty { .. }))));
        assert!(Answers::parse(&"x".repeat(1001), "x", "4").is_err());
        assert!(parse_reason(" ").is_err());
        assert_eq!(parse_reason(" not now ").unwrap(), "not now");
        assert!(parse_proposal("@everyone", Bucket::Impact, "").is_err());
        assert_eq!(parse_proposal("  Rust  Club ", Bucket::Impact, "").unwrap().name(), "Rust Club");
    }

    fn answers() -> Answers {
        Answers::parse("m", "e", "3").unwrap()
    }

    #[sqlx::test]
    async fn one_open_application_per_member_per_group_or_name(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let new = NewGroup::parse(1, 9, "Rust", Bucket::Interest, Visibility::Open, None).unwrap();
        let gid = group::insert(&mut conn, &new).await.unwrap();
        let existing = Target::Existing { group_id: gid, group_name: "Rust".into() };
        let id = insert(&mut conn, 1, 5, &existing, &answers()).await.unwrap();
        match insert(&mut conn, 1, 5, &existing, &answers()).await {
            Err(ApplyError::AlreadyOpen(a)) => assert_eq!(a.id, id),
            other => panic!("{other:?}"),
        }
        // someone else may apply for the same group
        insert(&mut conn, 1, 6, &existing, &answers()).await.unwrap();

        let p = parse_proposal("Go", Bucket::Impact, "gophers").unwrap();
        let pid = insert(&mut conn, 1, 5, &p, &answers()).await.unwrap();
        let shouted = parse_proposal("GO", Bucket::Identity, "").unwrap();
        assert!(matches!(insert(&mut conn, 1, 5, &shouted, &answers()).await, Err(ApplyError::AlreadyOpen(_))));

        // once closed, a new one may be sent; only the first close counts
        assert!(close(&mut conn, pid, Status::Withdrawn, 5, None, None, chrono::Utc::now()).await.unwrap());
        assert!(!close(&mut conn, pid, Status::Approved, 7, None, None, chrono::Utc::now()).await.unwrap());
        let a = get(&mut conn, 1, pid).await.unwrap().unwrap();
        assert_eq!((a.status, a.decided_by), (Status::Withdrawn, Some(5)));
        insert(&mut conn, 1, 5, &shouted, &answers()).await.unwrap();
        // another guild sees none of it
        assert_eq!(get(&mut conn, 2, pid).await.unwrap(), None);
        assert_eq!(for_applicant(&mut conn, 1, 5, 10).await.unwrap().len(), 3);
        assert_eq!(open_in_guild(&mut conn, 1).await.unwrap().len(), 3);
    }

    #[sqlx::test]
    async fn a_leaderless_group_is_flagged_once_until_a_leader_comes(pool: sqlx::PgPool) {
        let mut conn = pool.acquire().await.unwrap();
        let new = NewGroup::parse(1, 9, "Rust", Bucket::Interest, Visibility::Open, None).unwrap();
        let gid = group::insert(&mut conn, &new).await.unwrap();
        crate::domain::membership::add_leader(&mut conn, gid, 5, 9).await.unwrap();
        assert!(!claim_leaderless_flag(&mut conn, gid).await.unwrap(), "it has a leader");
        assert_eq!(led_by(&mut conn, 1, 5).await.unwrap(), vec![gid]);
        crate::domain::membership::remove_leader(&mut conn, gid, 5).await.unwrap();
        assert!(claim_leaderless_flag(&mut conn, gid).await.unwrap());
        assert!(!claim_leaderless_flag(&mut conn, gid).await.unwrap(), "flagged once");
        clear_leaderless_flag(&mut conn, gid).await.unwrap();
        assert!(claim_leaderless_flag(&mut conn, gid).await.unwrap());
    }
}
