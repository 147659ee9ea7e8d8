//! Creating and adopting groups (G2, A3) and listing the directory (G4).
//!
//! `create` and `adopt` share one path: make (or take over) the role, make
//! sure the bucket's category exists, make (or move) the channel with the
//! group's overwrites, each Discord change journalled and no connection held
//! meanwhile; then insert, attach, audit and commit in one transaction that
//! makes no Discord call (N6). A failure at any step puts Discord back as it
//! was and leaves no row.

use super::journal::{sync_overwrites, Journal, Undo};
use super::App;
use crate::discord::provision::{self, Access, ChannelEdit, ChannelState};
use crate::discord::{roles, DiscordError};
use crate::domain::audit;
use crate::domain::group::{self, Bucket, GroupError, LinkError, Listed, NewGroup};
use crate::domain::role_safety::{self, RoleProblem};
use serenity::all::ChannelType;
use tracing::info;

#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error("a group with this name already exists")]
    NameTaken,
    #[error("Discord refused to {step}: {source}")]
    Discord { step: &'static str, source: DiscordError },
    #[error(transparent)]
    Db(#[from] sqlx::Error),
}

impl From<GroupError> for CreateError {
    fn from(e: GroupError) -> Self {
        match e {
            GroupError::NameTaken => CreateError::NameTaken,
            GroupError::Db(e) => CreateError::Db(e),
        }
    }
}

/// A Discord failure at `step`, for the person acting.
fn at(step: &'static str) -> impl FnOnce(DiscordError) -> CreateError {
    move |source| CreateError::Discord { step, source }
}

/// What an adoption takes over instead of making it.
#[derive(Default)]
struct Sources {
    role_id: Option<u64>,
    channel: Option<ChannelState>,
    /// Who already holds the adopted role: they become members.
    holders: Vec<u64>,
}

/// Create a group: the role, the bucket's category if missing, the channel
/// with its overwrites (Discord first, holding no connection, each change
/// journalled), then the row and an audit entry in one transaction that
/// makes no Discord call (N6); all or nothing.
pub async fn create(app: &App, new: &NewGroup) -> Result<group::Group, CreateError> {
    let mut journal = Journal::default();
    let made = async {
        // A name taken refuses before anything is made; the row's unique
        // key decides a race.
        if group::name_taken(&mut *app.pool.acquire().await?, new.guild_id, &new.name).await? {
            return Err(CreateError::NameTaken);
        }
        let made = provision(app, new, &mut journal).await?;
        let mut tx = app.pool.begin().await?;
        let group_id = record_in(&mut tx, new, made, "group.create").await?;
        tx.commit().await?;
        Ok(group_id)
    }
    .await;
    finish(app, made, journal, new, "group.create").await
}

/// A new group's role and channel, made on Discord.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Made {
    pub role_id: u64,
    pub channel_id: u64,
}

/// Make a new group's role, bucket category and channel on Discord,
/// journalled, holding no connection (a lead application's approval makes
/// the proposed group this way before its transaction).
pub(crate) async fn provision(app: &App, new: &NewGroup, journal: &mut Journal) -> Result<Made, CreateError> {
    let (role_id, channel_id) = provision_discord(app, new, &Sources::default(), journal).await?;
    Ok(Made { role_id, channel_id })
}

/// The row of a group [`provision`] made, attached and audited, in the
/// caller's transaction (no Discord call). After the commit, call
/// [`made_in`].
pub(crate) async fn record_in(
    tx: &mut sqlx::PgConnection,
    new: &NewGroup,
    made: Made,
    action: &'static str,
) -> Result<i64, CreateError> {
    group::lock_guild(tx, new.guild_id).await?;
    let group_id = group::insert(tx, new).await?;
    attach_in(tx, new, group_id, made, &[], action).await?;
    Ok(group_id)
}

/// Undo what `made` did on Discord when it failed; after a commit, the
/// directory lists the new group.
async fn finish(
    app: &App,
    made: Result<i64, CreateError>,
    journal: Journal,
    new: &NewGroup,
    action: &'static str,
) -> Result<group::Group, CreateError> {
    let group_id = match made {
        Ok(id) => id,
        Err(e) => {
            journal.undo(app, "Guildhall: undoing a group creation that failed").await;
            return Err(e);
        }
    };
    info!(group_id, guild_id = new.guild_id, action, "group made");
    made_in(app, new.guild_id).await;
    let mut conn = app.pool.acquire().await?;
    Ok(group::get(&mut conn, new.guild_id, group_id).await?.expect("group just committed"))
}

/// After a new group committed: the directory lists it.
pub(crate) async fn made_in(app: &App, guild_id: u64) {
    super::directory::refresh(app, guild_id).await;
}

/// Attach the Discord side made for group `group_id` (inserted in `tx`),
/// make the adopted role's holders members, and audit.
async fn attach_in(
    tx: &mut sqlx::PgConnection,
    new: &NewGroup,
    group_id: i64,
    made: Made,
    holders: &[u64],
    action: &'static str,
) -> Result<(), CreateError> {
    group::attach_discord(tx, group_id, made.role_id, made.channel_id).await?;
    if !holders.is_empty() {
        group::import_members(tx, group_id, holders).await?;
    }
    audit::record(tx, &audit::Entry::guild(new.guild_id, action).actor(new.created_by).group(group_id)).await?;
    Ok(())
}

async fn provision_discord(
    app: &App,
    new: &NewGroup,
    src: &Sources,
    journal: &mut Journal,
) -> Result<(u64, u64), CreateError> {
    let verb = if src.role_id.is_some() || src.channel.is_some() { "adopted" } else { "created" };
    let reason = format!("Guildhall: group \"{}\" {verb}", new.name.as_str());
    let role_id = match src.role_id {
        Some(r) => r,
        None => {
            let r = provision::create_role(&app.http, new.guild_id, new.name.as_str(), &reason)
                .await
                .map_err(at("create the group's role"))?;
            journal.push(Undo::DeleteRole { guild_id: new.guild_id, role_id: r });
            r
        }
    };
    let category_id = ensure_category(app, new.guild_id, new.bucket, journal).await?;
    let open = new.visibility == group::Visibility::Open;
    let channel_id = match &src.channel {
        Some(state) => {
            let access = Access { open, members_can_post: true, archived: false };
            let wanted = provision::channel_overwrites(access, new.guild_id, role_id, app.bot_id);
            sync_overwrites(app, state, &wanted, &reason, journal)
                .await
                .map_err(at("set the channel's permissions"))?;
            let edit = ChannelEdit {
                name: None,
                topic: (!new.description.is_empty()).then(|| new.description.clone()),
                parent_id: (state.parent_id != Some(category_id)).then_some(Some(category_id)),
            };
            provision::edit_channel(&app.http, state.id, &edit, &reason)
                .await
                .map_err(at("move the channel under the bucket's category"))?;
            journal.push(Undo::EditChannel { channel_id: state.id, reverse: edit.reverse(state) });
            state.id
        }
        None => {
            let slug = new.name.channel_slug();
            let spec = provision::ChannelSpec {
                guild_id: new.guild_id,
                name: &slug,
                topic: &new.description,
                category_id,
                open,
                role_id,
                bot_id: app.bot_id,
            };
            let c = provision::create_group_channel(&app.http, &spec, &reason)
                .await
                .map_err(at("create the group's channel"))?;
            journal.push(Undo::DeleteChannel { guild_id: new.guild_id, channel_id: c });
            c
        }
    };
    Ok((role_id, channel_id))
}

/// The bucket's category: the remembered one if it still exists, else a new
/// one (journalled, and remembered at once unless another change made one
/// first: then that one) with the bucket's group channels moved into it.
/// Discord is asked holding no connection.
pub(crate) async fn ensure_category(
    app: &App,
    guild_id: u64,
    bucket: Bucket,
    journal: &mut Journal,
) -> Result<u64, CreateError> {
    let step = "create the bucket's category";
    let remembered = group::bucket_category(&mut *app.pool.acquire().await?, guild_id, bucket).await?;
    if let Some(id) = remembered {
        if provision::channel_exists(&app.http, id).await.map_err(at(step))? {
            return Ok(id);
        }
    }
    let id = provision::create_category(&app.http, guild_id, bucket.label(), "Guildhall: bucket category")
        .await
        .map_err(at(step))?;
    let kept = group::swap_bucket_category(&mut *app.pool.acquire().await?, guild_id, bucket, remembered, id).await;
    match kept {
        Ok(kept) if kept == id => {
            if remembered.is_none() {
                journal.push(Undo::ForgetCategory { category_id: id });
            }
            journal.push(Undo::DeleteChannel { guild_id, channel_id: id });
        }
        other => {
            // Another change made the bucket's category meanwhile (or the
            // database failed): ours goes again.
            if let Err(e) = provision::delete_channel(&app.http, id, "Guildhall: a second bucket category").await {
                tracing::warn!(guild_id, category = id, error = %e, "could not delete a second bucket category");
            }
            return Ok(other?);
        }
    }
    if remembered.is_some() {
        // The old category was deleted, and Discord moved its channels out
        // of it: the bucket's group channels go back in (A5), whoever
        // noticed first (a create, an edit, or the reconciler).
        let reason = format!("Guildhall: the {} category was made again", bucket.label());
        let channels = group::channels_of_bucket(&mut *app.pool.acquire().await?, guild_id, bucket).await?;
        for (group_id, ch) in channels {
            let edit = provision::ChannelEdit { name: None, topic: None, parent_id: Some(Some(id)) };
            match provision::edit_channel(&app.http, ch, &edit, &reason).await {
                Ok(()) => {}
                // That channel went too; its own repair makes it in the new category.
                Err(DiscordError::Unknown(..)) => info!(group_id, "a bucket channel is gone too"),
                Err(e) => return Err(CreateError::Discord { step: "move the bucket's channels back", source: e }),
            }
        }
    }
    Ok(id)
}

/// What an admin asks to adopt (at least one of the two).
#[derive(Debug, Clone, Copy)]
pub struct Adoption {
    pub role_id: Option<u64>,
    pub channel_id: Option<u64>,
}

#[derive(Debug, thiserror::Error)]
pub enum AdoptError {
    #[error("nothing to adopt")]
    NothingToAdopt,
    #[error("{0}")]
    Role(RoleProblem),
    #[error("the role no longer exists")]
    UnknownRole,
    #[error("another group already uses this role")]
    RoleInUse,
    #[error("another group already uses this channel")]
    ChannelInUse,
    /// A category, voice channel, thread, or a channel of another server.
    #[error("this channel can't be a group channel: {0}")]
    ChannelNotUsable(&'static str),
    #[error(transparent)]
    Create(#[from] CreateError),
}

impl From<sqlx::Error> for AdoptError {
    fn from(e: sqlx::Error) -> Self {
        AdoptError::Create(CreateError::Db(e))
    }
}

/// An adopted group, and how many people already holding its role became
/// members.
pub struct Adopted {
    pub group: group::Group,
    pub imported: usize,
}

/// Make a group from an existing role and/or channel (G2). The role must
/// pass A3 for this admin (`new.created_by`); the channel must be a text or
/// forum channel of this server. Neither may belong to another group. What
/// is not given is made as `create` makes it; the channel is moved under
/// the bucket's category and gets the group's overwrites.
pub async fn adopt(app: &App, new: &NewGroup, what: Adoption) -> Result<Adopted, AdoptError> {
    if what.role_id.is_none() && what.channel_id.is_none() {
        return Err(AdoptError::NothingToAdopt);
    }
    let mut src = Sources { role_id: what.role_id, ..Default::default() };
    if let Some(role_id) = what.role_id {
        check_role(app, new.guild_id, new.created_by, role_id).await?;
        src.holders =
            roles::role_holders(&app.http, new.guild_id, role_id).await.map_err(at("list the role's members"))?;
    }
    if let Some(channel_id) = what.channel_id {
        let state = match provision::channel_state(&app.http, channel_id).await {
            Err(DiscordError::Unknown(..)) => return Err(AdoptError::ChannelNotUsable("it no longer exists")),
            r => r.map_err(at("read the channel"))?,
        };
        if state.guild_id != Some(new.guild_id) {
            return Err(AdoptError::ChannelNotUsable("it isn't a channel of this server"));
        }
        if !matches!(state.kind, ChannelType::Text | ChannelType::Forum) {
            return Err(AdoptError::ChannelNotUsable("only text and forum channels can be group channels"));
        }
        src.channel = Some(state);
    }
    let imported = src.holders.len();
    let mut journal = Journal::default();
    let made = async {
        if group::name_taken(&mut *app.pool.acquire().await?, new.guild_id, &new.name).await? {
            return Err(CreateError::NameTaken.into());
        }
        let (role_id, channel_id) = provision_discord(app, new, &src, &mut journal).await?;
        let mut tx = app.pool.begin().await?;
        group::lock_guild(&mut tx, new.guild_id).await?;
        let group_id = group::insert(&mut tx, new).await.map_err(CreateError::from)?;
        group::link_adopted(&mut tx, group_id, what.role_id, what.channel_id).await.map_err(|e| match e {
            LinkError::RoleInUse => AdoptError::RoleInUse,
            LinkError::ChannelInUse => AdoptError::ChannelInUse,
            LinkError::Db(e) => e.into(),
        })?;
        attach_in(&mut tx, new, group_id, Made { role_id, channel_id }, &src.holders, "group.adopt").await?;
        tx.commit().await?;
        Ok::<_, AdoptError>(group_id)
    }
    .await;
    let group = match made {
        Ok(id) => finish(app, Ok(id), journal, new, "group.adopt").await?,
        Err(e) => {
            journal.undo(app, "Guildhall: undoing a group adoption that failed").await;
            return Err(e);
        }
    };
    Ok(Adopted { group, imported })
}

/// A3 for adoption: the role may be a group role, and sits below both the
/// bot's highest role and the admin's (the server owner has no limit).
async fn check_role(app: &App, guild_id: u64, actor_id: u64, role_id: u64) -> Result<(), AdoptError> {
    let step = "read the server's roles";
    let h = app.hierarchy.load(&app.http, guild_id, app.bot_id).await.map_err(at(step))?;
    let role = h.role(role_id).ok_or(AdoptError::UnknownRole)?;
    let owner = roles::guild_owner(&app.http, guild_id).await.map_err(at(step))?;
    let actor_top = if actor_id == owner {
        None
    } else {
        let held = roles::member_role_ids(&app.http, guild_id, actor_id).await.map_err(at(step))?;
        Some(roles::top_position(&h.roles, &held))
    };
    role_safety::adoptable(role, h.bot_top, actor_top).map_err(AdoptError::Role)
}

/// The directory, optionally of one bucket.
pub async fn directory(app: &App, guild_id: u64, bucket: Option<Bucket>) -> Result<Vec<Listed>, sqlx::Error> {
    let mut conn = app.pool.acquire().await?;
    group::list(&mut conn, guild_id, bucket).await
}
