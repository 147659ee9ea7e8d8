//! What every decided item (a lead application, a join request, an
//! invitation, an expired request) does once its row is settled: its card
//! shows the outcome without buttons, and the person it concerns is told by
//! DM. Both are best effort: the row is the truth, and whether the DM arrived
//! is recorded by the caller so the outcome can be shown elsewhere.

use super::App;
use crate::discord::{review, DiscordError};
use crate::views::group_page::View;
use tracing::warn;

/// Replace the card at `at` (channel, message) with its decided form;
/// `false` when there is no card or Discord refused (logged; e.g. deleted by
/// hand). `what` names the item in the log ("join request 7").
pub(crate) async fn show_on_card(app: &App, at: (Option<u64>, Option<u64>), card: View, what: &str) -> bool {
    let (Some(channel), Some(message)) = at else { return false };
    match review::edit_card(&app.http, channel, message, &card.content, card.embeds, card.components).await {
        Ok(()) => true,
        Err(e) => {
            warn!(error = %e, "could not update the card of {what}");
            false
        }
    }
}

/// DM `user_id` an outcome; whether it arrived. Closed DMs are expected
/// (not logged); anything else is logged with `what`.
pub(crate) async fn tell(app: &App, user_id: u64, text: &str, what: &str) -> Result<(), DiscordError> {
    let r = review::dm(&app.http, user_id, text).await;
    if let Err(e) = &r {
        if !matches!(e, DiscordError::DmsClosed) {
            warn!(user_id, error = %e, "could not DM the outcome of {what}");
        }
    }
    r
}
