//! Creating groups (G2) and listing the directory (G4).

use super::App;
use crate::discord::{provision, DiscordError};
use crate::domain::audit;
use crate::domain::group::{self, Bucket, GroupError, Listed, NewGroup};
use tracing::{info, warn};

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

/// What was made on Discord so far, to unmake on failure.
#[derive(Default)]
struct Made {
    role: Option<u64>,
    category: Option<u64>,
    channel: Option<u64>,
}

/// Create a group: the row, the role, the bucket's category if missing, the
/// channel with its overwrites, and an audit entry; all or nothing.
pub async fn create(app: &App, new: &NewGroup) -> Result<group::Group, CreateError> {
    let mut tx = app.pool.begin().await?;
    group::lock_guild(&mut tx, new.guild_id).await?;
    let group_id = group::insert(&mut tx, new).await?;
    let mut made = Made::default();
    match provision_discord(app, new, &mut tx, &mut made).await {
        Ok((role_id, channel_id)) => {
            group::attach_discord(&mut tx, group_id, role_id, channel_id).await?;
            audit::record(
                &mut tx,
                &audit::Entry {
                    guild_id: new.guild_id,
                    actor_id: Some(new.created_by),
                    group_id: Some(group_id),
                    action: "group.create",
                    ..Default::default()
                },
            )
            .await?;
            tx.commit().await?;
            info!(group_id, guild_id = new.guild_id, "group created");
            super::directory::refresh(app, new.guild_id).await;
            let mut conn = app.pool.acquire().await?;
            Ok(group::get(&mut conn, new.guild_id, group_id).await?.expect("group just committed"))
        }
        Err(e) => {
            drop(tx);
            undo(app, new.guild_id, &made).await;
            Err(e)
        }
    }
}

async fn provision_discord(
    app: &App,
    new: &NewGroup,
    tx: &mut sqlx::PgConnection,
    made: &mut Made,
) -> Result<(u64, u64), CreateError> {
    let reason = format!("Guildhall: group \"{}\" created", new.name.as_str());
    let role_id = provision::create_role(&app.http, new.guild_id, new.name.as_str(), &reason)
        .await
        .map_err(|source| CreateError::Discord { step: "create the group's role", source })?;
    made.role = Some(role_id);
    let category_id = ensure_category(app, new.guild_id, new.bucket, tx, made).await?;
    let slug = new.name.channel_slug();
    let spec = provision::ChannelSpec {
        guild_id: new.guild_id,
        name: &slug,
        topic: &new.description,
        category_id,
        open: new.visibility == group::Visibility::Open,
        role_id,
        bot_id: app.bot_id,
    };
    let channel_id = provision::create_group_channel(&app.http, &spec, &reason)
        .await
        .map_err(|source| CreateError::Discord { step: "create the group's channel", source })?;
    made.channel = Some(channel_id);
    Ok((role_id, channel_id))
}

/// The bucket's category: the remembered one if it still exists, else a new one.
async fn ensure_category(
    app: &App,
    guild_id: u64,
    bucket: Bucket,
    tx: &mut sqlx::PgConnection,
    made: &mut Made,
) -> Result<u64, CreateError> {
    let step = "create the bucket's category";
    if let Some(id) = group::bucket_category(tx, guild_id, bucket).await? {
        let exists =
            provision::channel_exists(&app.http, id).await.map_err(|source| CreateError::Discord { step, source })?;
        if exists {
            return Ok(id);
        }
    }
    let id = provision::create_category(&app.http, guild_id, bucket.label(), "Guildhall: bucket category")
        .await
        .map_err(|source| CreateError::Discord { step, source })?;
    made.category = Some(id);
    group::set_bucket_category(tx, guild_id, bucket, id).await?;
    Ok(id)
}

/// Best effort: remove what a failed create made on Discord.
async fn undo(app: &App, guild_id: u64, made: &Made) {
    let reason = "Guildhall: undoing a group creation that failed";
    if let Some(c) = made.channel {
        if let Err(e) = provision::delete_channel(&app.http, c, reason).await {
            warn!(channel_id = c, error = %e, "could not remove a half-made group channel");
        }
    }
    if let Some(c) = made.category {
        if let Err(e) = provision::delete_channel(&app.http, c, reason).await {
            warn!(channel_id = c, error = %e, "could not remove a half-made bucket category");
        }
    }
    if let Some(r) = made.role {
        if let Err(e) = provision::delete_role(&app.http, guild_id, r, reason).await {
            warn!(role_id = r, error = %e, "could not remove a half-made group role");
        }
    }
}

/// The directory, optionally of one bucket.
pub async fn directory(app: &App, guild_id: u64, bucket: Option<Bucket>) -> Result<Vec<Listed>, sqlx::Error> {
    let mut conn = app.pool.acquire().await?;
    group::list(&mut conn, guild_id, bucket).await
}
