//! How things look in Discord: embeds and components built from domain
//! values. No database access here.

pub mod directory;
pub mod group_page;
pub mod lead;
