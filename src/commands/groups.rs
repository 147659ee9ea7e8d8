//! `/groups [bucket]`: the directory, for everyone.

use super::group::BucketChoice;
use super::guild_id;
use crate::replies::send_view;
use crate::service::groups::directory;
use crate::types::{Context, Error};
use crate::views::directory::render;
use crate::views::group_page::View;

/// Browse the community's groups, optionally one bucket.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn groups(
    ctx: Context<'_>,
    #[description = "Only this bucket"] bucket: Option<BucketChoice>,
) -> Result<(), Error> {
    let guild = guild_id(ctx)?;
    let bucket = bucket.map(Into::into);
    let list = directory(&ctx.data().app, guild, bucket).await?;
    let page = render(&list, bucket, 0);
    send_view(ctx, View::embed(page.embed, page.components)).await
}
