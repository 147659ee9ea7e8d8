//! Managing existing groups (G2, G3): edit, archive and unarchive, delete.
//!
//! Edit and archive change Discord first, holding no connection (N6), each
//! change journalled, then the row in one short transaction under the
//! guild's lock that finds the group as it was read (else everything is put
//! back: `Changed`); a taken name is refused before Discord is touched. A
//! failure at any step puts Discord back as it was (N5). Delete still
//! deletes the channel and role inside its transaction (issue #24 goes on).

use super::groups::{ensure_category, CreateError};
use super::journal::{sync_overwrites, Journal, Undo};
use super::App;
use crate::discord::provision::{self, Access, ChannelEdit};
use crate::discord::{roles, DiscordError};
use crate::domain::audit;
use crate::domain::group::{self, Bucket, Details, Group, GroupError, Visibility};
use crate::domain::leftover::{self, Kind, Leftover};
use crate::domain::text::GroupName;
use tracing::{info, warn};

#[derive(Debug, thiserror::Error)]
pub enum ManageError {
    #[error("a group with this name already exists")]
    NameTaken,
    /// The group was deleted meanwhile (or never was in this server).
    #[error("the group no longer exists")]
    Gone,
    /// The group's role sits at or above the bot's highest role.
    #[error("the role {0} is not below the bot's highest role")]
    RoleAboveBot(String),
    #[error("Discord refused to {step}: {source}")]
    Discord { step: &'static str, source: DiscordError },
    /// Someone else changed the group while Discord was being changed for
    /// this: put back, nothing changed.
    #[error("the group was changed meanwhile")]
    Changed,
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<GroupError> for ManageError {
    fn from(e: GroupError) -> Self {
        match e {
            GroupError::NameTaken => ManageError::NameTaken,
            GroupError::Db(e) => ManageError::Db(e),
        }
    }
}

impl From<CreateError> for ManageError {
    fn from(e: CreateError) -> Self {
        match e {
            CreateError::NameTaken => ManageError::NameTaken,
            CreateError::Discord { step, source } => ManageError::Discord { step, source },
            CreateError::Db(e) => ManageError::Db(e),
        }
    }
}

fn at(step: &'static str) -> impl FnOnce(DiscordError) -> ManageError {
    move |source| ManageError::Discord { step, source }
}

/// What an admin asked to change; `None` keeps the current value.
#[derive(Debug, Clone, Default)]
pub struct EditRequest {
    pub name: Option<GroupName>,
    pub description: Option<String>,
    pub bucket: Option<Bucket>,
    pub visibility: Option<Visibility>,
    pub criteria: Option<String>,
    pub members_can_post: Option<bool>,
}

/// One change an edit made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    Name { from: String, to: String },
    Description,
    Bucket { from: Bucket, to: Bucket },
    Visibility { from: Visibility, to: Visibility },
    Criteria,
    MembersCanPost(bool),
}

impl Change {
    /// For the audit trail.
    pub fn summary(&self) -> String {
        match self {
            Change::Name { from, to } => format!("name: {from} → {to}"),
            Change::Description => "description".into(),
            Change::Bucket { from, to } => format!("bucket: {} → {}", from.label(), to.label()),
            Change::Visibility { from, to } => format!("visibility: {} → {}", from.label(), to.label()),
            Change::Criteria => "criteria".into(),
            Change::MembersCanPost(b) => format!("members can post: {b}"),
        }
    }
}

pub enum EditOutcome {
    /// Every option given equals the current value (or none was given).
    Unchanged(Group),
    Edited {
        group: Group,
        changes: Vec<Change>,
    },
}

fn details_of(g: &Group) -> Details {
    Details {
        name: g.name.clone(),
        bucket: g.bucket,
        visibility: g.visibility,
        description: g.description.clone(),
        criteria: g.criteria.clone(),
        members_can_post: g.members_can_post,
    }
}

/// What the edit would change, and the details after it.
pub fn plan(before: &Group, req: &EditRequest) -> (Details, Vec<Change>) {
    let mut after = details_of(before);
    let mut changes = Vec::new();
    if let Some(n) = &req.name {
        if n.as_str() != before.name {
            changes.push(Change::Name { from: before.name.clone(), to: n.as_str().to_string() });
            after.name = n.as_str().to_string();
        }
    }
    if let Some(d) = &req.description {
        if *d != before.description {
            changes.push(Change::Description);
            after.description = d.clone();
        }
    }
    if let Some(b) = req.bucket {
        if b != before.bucket {
            changes.push(Change::Bucket { from: before.bucket, to: b });
            after.bucket = b;
        }
    }
    if let Some(v) = req.visibility {
        if v != before.visibility {
            changes.push(Change::Visibility { from: before.visibility, to: v });
            after.visibility = v;
        }
    }
    if let Some(c) = &req.criteria {
        if *c != before.criteria {
            changes.push(Change::Criteria);
            after.criteria = c.clone();
        }
    }
    if let Some(p) = req.members_can_post {
        if p != before.members_can_post {
            changes.push(Change::MembersCanPost(p));
            after.members_can_post = p;
        }
    }
    (after, changes)
}

fn access(visibility: Visibility, members_can_post: bool, archived: bool) -> Access {
    Access { open: visibility == Visibility::Open, members_can_post, archived }
}

/// The role and channel of a finished group.
fn discord_ids(g: &Group) -> Result<(u64, u64), ManageError> {
    match (g.role_id, g.channel_id) {
        (Some(r), Some(c)) => Ok((r, c)),
        _ => Err(ManageError::Gone),
    }
}

/// Under the guild's lock in `tx`: the group is as `before` read it (no
/// other change came between the read and this transaction).
async fn unchanged_since(tx: &mut sqlx::PgConnection, before: &Group) -> Result<(), ManageError> {
    group::lock_guild(tx, before.guild_id).await?;
    match group::get(tx, before.guild_id, before.id).await? {
        Some(now) if now == *before => Ok(()),
        Some(_) => Err(ManageError::Changed),
        None => Err(ManageError::Gone),
    }
}

/// Edit a group (G2): the row, and on Discord what follows from it: the
/// role's name, the channel's name, topic, category and overwrites.
pub async fn edit(
    app: &App,
    guild_id: u64,
    group_id: i64,
    actor_id: u64,
    req: &EditRequest,
) -> Result<EditOutcome, ManageError> {
    let before = group::get(&mut *app.pool.acquire().await?, guild_id, group_id).await?.ok_or(ManageError::Gone)?;
    let (after, changes) = plan(&before, req);
    if changes.is_empty() {
        return Ok(EditOutcome::Unchanged(before));
    }
    let new_name = req.name.as_ref().filter(|n| n.as_str() != before.name);
    if let Some(n) = new_name {
        let other = group::find_by_name(&mut *app.pool.acquire().await?, guild_id, n.as_str()).await?;
        if other.is_some_and(|o| o.id != group_id) {
            return Err(ManageError::NameTaken);
        }
    }
    let reason = changes.iter().map(Change::summary).collect::<Vec<_>>().join("; ");
    let mut journal = Journal::default();
    let done = async {
        edit_discord(app, &before, &after, new_name, &mut journal).await?;
        let mut tx = app.pool.begin().await?;
        unchanged_since(&mut tx, &before).await?;
        group::update_details(&mut tx, group_id, &after).await?;
        let entry = audit::Entry::guild(guild_id, "group.edit").actor(actor_id).group(group_id).because(&reason);
        audit::record(&mut tx, &entry).await?;
        tx.commit().await?;
        Ok::<_, ManageError>(())
    }
    .await;
    if let Err(e) = done {
        journal.undo(app, "Guildhall: undoing a group edit that failed").await;
        return Err(e);
    }
    super::directory::refresh(app, guild_id).await;
    info!(group_id, guild_id, %reason, "group edited");
    let mut conn = app.pool.acquire().await?;
    let group = group::get(&mut conn, guild_id, group_id).await?.ok_or(ManageError::Gone)?;
    if new_name.is_some() {
        super::notify::group_renamed(app, &group).await;
    }
    Ok(EditOutcome::Edited { group, changes })
}

/// `new_name` is the validated new name, when the edit renames the group.
async fn edit_discord(
    app: &App,
    before: &Group,
    after: &Details,
    new_name: Option<&GroupName>,
    journal: &mut Journal,
) -> Result<(), ManageError> {
    let (role_id, channel_id) = discord_ids(before)?;
    let guild_id = before.guild_id;
    let reason = format!("Guildhall: group \"{}\" edited", after.name);
    let access_before = access(before.visibility, before.members_can_post, before.archived);
    let access_after = access(after.visibility, after.members_can_post, before.archived);
    let mut edit = ChannelEdit::default();
    if let Some(n) = new_name {
        edit.name = Some(n.channel_slug());
    }
    if after.description != before.description {
        edit.topic = Some(after.description.clone());
    }
    if access_after != access_before || !edit.is_empty() || after.bucket != before.bucket {
        let state = provision::channel_state(&app.http, channel_id).await.map_err(at("read the group's channel"))?;
        if access_after != access_before {
            let wanted = provision::channel_overwrites(access_after, guild_id, role_id, app.bot_id);
            sync_overwrites(app, &state, &wanted, &reason, journal)
                .await
                .map_err(at("change who can see and post in the group's channel"))?;
        }
        if after.bucket != before.bucket {
            let category = ensure_category(app, guild_id, after.bucket, journal).await?;
            if state.parent_id != Some(category) {
                edit.parent_id = Some(Some(category));
            }
        }
        provision::edit_channel(&app.http, channel_id, &edit, &reason)
            .await
            .map_err(at("update the group's channel"))?;
        if !edit.is_empty() {
            journal.push(Undo::EditChannel { channel_id, reverse: edit.reverse(&state) });
        }
    }
    if let Some(n) = new_name {
        let old = role_name(app, guild_id, role_id).await.map_err(at("rename the group's role"))?;
        provision::rename_role(&app.http, guild_id, role_id, n.as_str(), &reason)
            .await
            .map_err(at("rename the group's role"))?;
        journal.push(Undo::RenameRole { guild_id, role_id, name: old });
    }
    Ok(())
}

pub enum ArchiveOutcome {
    Done(Group),
    /// It already was archived (or active, for unarchive).
    Already(Group),
}

/// Archive a group (channel read-only for everyone, members included; gone
/// from the directory; members and history kept), or restore it.
pub async fn set_archived(
    app: &App,
    guild_id: u64,
    group_id: i64,
    actor_id: u64,
    archived: bool,
) -> Result<ArchiveOutcome, ManageError> {
    let g = group::get(&mut *app.pool.acquire().await?, guild_id, group_id).await?.ok_or(ManageError::Gone)?;
    if g.archived == archived {
        return Ok(ArchiveOutcome::Already(g));
    }
    let (role_id, channel_id) = discord_ids(&g)?;
    let verb = if archived { "archive" } else { "unarchive" };
    let reason = format!("Guildhall: group \"{}\" {verb}d", g.name);
    let mut journal = Journal::default();
    let step = if archived { "make the group's channel read-only" } else { "reopen the group's channel" };
    let done = async {
        let state = provision::channel_state(&app.http, channel_id).await.map_err(at(step))?;
        let wanted = provision::channel_overwrites(
            access(g.visibility, g.members_can_post, archived),
            guild_id,
            role_id,
            app.bot_id,
        );
        sync_overwrites(app, &state, &wanted, &reason, &mut journal).await.map_err(at(step))?;
        let mut tx = app.pool.begin().await?;
        unchanged_since(&mut tx, &g).await?;
        group::set_archived(&mut tx, group_id, archived).await?;
        let action = if archived { "group.archive" } else { "group.unarchive" };
        audit::record(&mut tx, &audit::Entry::guild(guild_id, action).actor(actor_id).group(group_id)).await?;
        tx.commit().await?;
        Ok::<_, ManageError>(())
    }
    .await;
    if let Err(e) = done {
        journal.undo(app, &format!("Guildhall: undoing a group {verb} that failed")).await;
        return Err(e);
    }
    super::directory::refresh(app, guild_id).await;
    info!(group_id, guild_id, archived, "group archive state changed");
    let mut conn = app.pool.acquire().await?;
    let g = group::get(&mut conn, guild_id, group_id).await?.ok_or(ManageError::Gone)?;
    Ok(ArchiveOutcome::Done(g))
}

/// The current name of a role (404 `Unknown("role")` when it was deleted).
async fn role_name(app: &App, guild_id: u64, role_id: u64) -> Result<String, DiscordError> {
    roles::guild_roles(&app.http, guild_id)
        .await?
        .into_iter()
        .find(|r| r.id == role_id)
        .map(|r| r.name)
        .ok_or(DiscordError::Unknown("role", 10011))
}

/// A deleted group, and what was left on Discord.
#[derive(Debug)]
pub struct Deleted {
    pub name: String,
    /// The channel was adopted, so it was left in place.
    pub kept_channel: Option<u64>,
    /// The role was adopted, so it was left in place.
    pub kept_role: Option<u64>,
    /// The role could not be deleted (after the channel was): why.
    pub role_left: Option<DiscordError>,
}

/// Delete a group (G2, after the admin confirmed): its channel and role on
/// Discord (unless they were adopted: those stay), then the row, with
/// memberships and the rest. Nothing is deleted when the channel can't be;
/// the role goes after the channel, so the worst a failure leaves is a
/// role with no permissions, which the admin is told about.
pub async fn delete(app: &App, guild_id: u64, group_id: i64, actor_id: u64) -> Result<Deleted, ManageError> {
    let mut tx = app.pool.begin().await?;
    group::lock_guild(&mut tx, guild_id).await?;
    let g = group::get(&mut tx, guild_id, group_id).await?.ok_or(ManageError::Gone)?;
    let reason = format!("Guildhall: group \"{}\" deleted", g.name);
    // Refuse up front what Discord would refuse half-way.
    let role_to_delete = g.role_id.filter(|_| !g.adopted_role);
    if let Some(role_id) = role_to_delete {
        let h = app.hierarchy.load(&app.http, guild_id, app.bot_id).await.map_err(at("read the server's roles"))?;
        if let Some(role) = h.role(role_id) {
            if role.position >= h.bot_top {
                return Err(ManageError::RoleAboveBot(role.name.clone()));
            }
        }
    }
    let audit_reason = format!("deleted group \"{}\"", g.name);
    let entry = audit::Entry::guild(guild_id, "group.delete").actor(actor_id).because(&audit_reason);
    audit::record(&mut tx, &entry).await?;
    // Read before the row (and, by cascade, the notification role's row) goes.
    let notify_role = crate::domain::notify::role_of(&mut tx, group_id).await?;
    if !group::delete(&mut tx, guild_id, group_id).await? {
        return Err(ManageError::Gone);
    }
    let leftover = |object_id, kind| Leftover { guild_id, object_id, kind, reason: reason.clone() };
    if let Some(channel_id) = g.channel_id.filter(|_| !g.adopted_channel) {
        match provision::delete_channel(&app.http, channel_id, &reason).await {
            Ok(()) => {}
            // Gone, says Discord: deleted again by the background pass,
            // which takes it at its word the second time.
            Err(DiscordError::Unknown(..)) => {
                leftover::remember(&mut tx, &leftover(channel_id, Kind::Channel)).await?;
            }
            Err(source) => return Err(ManageError::Discord { step: "delete the group's channel", source }),
        }
    }
    let mut role_left = None;
    if let Some(role_id) = role_to_delete {
        match provision::delete_role(&app.http, guild_id, role_id, &reason).await {
            Ok(()) => {}
            Err(DiscordError::Unknown(..)) => {
                leftover::remember(&mut tx, &leftover(role_id, Kind::Role)).await?;
            }
            Err(e) => {
                warn!(group_id, role_id, error = %e, "group deleted but its role could not be; retried each pass");
                leftover::remember(&mut tx, &leftover(role_id, Kind::Role)).await?;
                role_left = Some(e);
            }
        }
    }
    if let Err(e) = tx.commit().await {
        warn!(group_id, error = %e, "group's channel and role deleted on Discord but the row could not be");
        return Err(e.into());
    }
    info!(group_id, guild_id, "group deleted");
    if let Some(role_id) = notify_role {
        super::notify::delete_role(app, guild_id, role_id, &reason).await;
    }
    super::directory::refresh(app, guild_id).await;
    Ok(Deleted {
        name: g.name,
        kept_channel: g.channel_id.filter(|_| g.adopted_channel),
        kept_role: g.role_id.filter(|_| g.adopted_role),
        role_left,
    })
}

/// Delete again each role and channel (of a deleted group, or made by a
/// use case that was undone) that Discord did not delete (the background pass); forgotten once Discord deletes it or
/// says, a second time, that it is gone. How many were done.
pub async fn retry_leftovers(app: &App) -> Result<usize, sqlx::Error> {
    let due = leftover::due(&mut *app.pool.acquire().await?, 100).await?;
    let mut done = 0;
    for l in due {
        let r = match l.kind {
            Kind::Role => provision::delete_role(&app.http, l.guild_id, l.object_id, &l.reason).await,
            Kind::Channel => provision::delete_channel(&app.http, l.object_id, &l.reason).await,
        };
        match r {
            Ok(()) | Err(DiscordError::Unknown(..)) => {
                leftover::forget(&mut *app.pool.acquire().await?, l.object_id).await?;
                done += 1;
            }
            Err(e) => {
                warn!(object_id = l.object_id, kind = ?l.kind, error = %e, "a leftover role or channel is still there")
            }
        }
    }
    Ok(done)
}

/// The group a button names, if it still exists in this guild.
pub async fn find(app: &App, guild_id: u64, group_id: i64) -> Result<Option<Group>, sqlx::Error> {
    let mut conn = app.pool.acquire().await?;
    group::get(&mut conn, guild_id, group_id).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group() -> Group {
        Group {
            id: 1,
            guild_id: 2,
            name: "Rust".into(),
            bucket: Bucket::Interest,
            visibility: Visibility::Open,
            description: "Crabs".into(),
            role_id: Some(3),
            channel_id: Some(4),
            criteria: String::new(),
            members_can_post: true,
            adopted_role: false,
            adopted_channel: false,
            archived: false,
        }
    }

    #[test]
    fn options_equal_to_the_current_values_change_nothing() {
        let req = EditRequest {
            name: Some(GroupName::parse("Rust").unwrap()),
            description: Some("Crabs".into()),
            bucket: Some(Bucket::Interest),
            visibility: Some(Visibility::Open),
            criteria: Some(String::new()),
            members_can_post: Some(true),
        };
        assert!(plan(&group(), &req).1.is_empty());
        assert!(plan(&group(), &EditRequest::default()).1.is_empty());
    }

    #[test]
    fn each_changed_option_is_one_change() {
        let req = EditRequest {
            name: Some(GroupName::parse("rust").unwrap()),
            visibility: Some(Visibility::Closed),
            members_can_post: Some(false),
            bucket: Some(Bucket::Interest),
            ..Default::default()
        };
        let (after, changes) = plan(&group(), &req);
        assert_eq!(
            changes,
            [
                Change::Name { from: "Rust".into(), to: "rust".into() },
                Change::Visibility { from: Visibility::Open, to: Visibility::Closed },
                Change::MembersCanPost(false),
            ]
        );
        assert_eq!(after.name, "rust");
        assert_eq!(after.description, "Crabs", "untouched options keep their value");
        assert_eq!(changes[0].summary(), "name: Rust → rust");
    }
}
