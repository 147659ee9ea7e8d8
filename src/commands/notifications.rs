//! `/notifications`: how a member hears about what they follow (S5).

use super::guild_id;
use crate::domain::delivery::Mode;
use crate::replies::say;
use crate::service::notifications;
use crate::types::{Context, Error};
use crate::views::notifications as view;

/// The modes as Discord shows them in the option's choices.
#[derive(Debug, Clone, Copy, poise::ChoiceParameter)]
pub enum ModeChoice {
    #[name = "Mentions in Discord (default)"]
    Mention,
    #[name = "Direct message for each"]
    Dm,
    #[name = "Daily digest by direct message"]
    Digest,
    #[name = "Off"]
    Off,
}

impl From<ModeChoice> for Mode {
    fn from(c: ModeChoice) -> Mode {
        match c {
            ModeChoice::Mention => Mode::Mention,
            ModeChoice::Dm => Mode::Dm,
            ModeChoice::Digest => Mode::Digest,
            ModeChoice::Off => Mode::Off,
        }
    }
}

/// How you hear about what you follow: see it, or choose a mode.
#[poise::command(slash_command, guild_only, ephemeral)]
pub async fn notifications(
    ctx: Context<'_>,
    #[description = "How to hear about new topics, thread messages and replies you follow"] mode: Option<ModeChoice>,
) -> Result<(), Error> {
    let guild = guild_id(ctx)?;
    let user_id = ctx.author().id.get();
    let app = &ctx.data().app;
    let text = match mode {
        None => {
            let s = notifications::status(app, guild, user_id).await?;
            view::status(s.mode, s.own, s.server_default, s.dms_closed)
        }
        Some(m) => {
            crate::replies::defer_command(ctx).await?;
            let c = notifications::set(app, guild, user_id, m.into()).await?;
            let s = c.status;
            let mut text = format!("Done. {}", view::status(s.mode, s.own, s.server_default, s.dms_closed));
            if c.retrying_dms {
                text.push_str("\nYour direct messages were closed to me before; I'll try again from now on.");
            }
            text
        }
    };
    say(ctx, text).await
}
