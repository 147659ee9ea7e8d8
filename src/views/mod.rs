//! How things look in Discord: embeds and components built from domain
//! values. No database access here.

pub mod audit;
pub mod config;
pub mod directory;
pub mod directory_message;
pub mod group_delete;
pub mod group_page;
pub mod health;
pub mod invite;
pub mod lead;
pub mod notifications;
pub mod pace;
pub mod reconcile;
pub mod request;
pub mod sla;
pub mod stats;
pub mod subscriptions;

/// Discord's limit on an embed field's value.
pub(crate) const FIELD_MAX: usize = 1024;

/// `s` cut to at most `max` characters, with an ellipsis when cut.
pub(crate) fn clip(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max - 1).collect();
        out.push('…');
        out
    }
}

/// A moment as Discord shows it in each reader's own time zone and locale.
pub(crate) fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    format!("<t:{}:f>", t.timestamp())
}

/// A moment relative to now ("in 3 days"), kept current by Discord.
pub(crate) fn relative(t: chrono::DateTime<chrono::Utc>) -> String {
    format!("<t:{}:R>", t.timestamp())
}
