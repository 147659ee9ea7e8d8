//! The group directory (G4), a page at a time.

use crate::custom_id::CustomId;
use crate::domain::group::{Bucket, Listed, Visibility};
use serenity::all::{ButtonStyle, CreateActionRow, CreateButton, CreateEmbed, CreateEmbedFooter};

pub const PAGE_SIZE: usize = 10;

pub struct Page {
    pub embed: CreateEmbed,
    pub components: Vec<CreateActionRow>,
}

pub fn page_count(total: usize) -> usize {
    total.div_ceil(PAGE_SIZE).max(1)
}

fn badge(v: Visibility) -> &'static str {
    match v {
        Visibility::Open => "🔓 Open",
        Visibility::Closed => "🔒 Closed",
    }
}

fn members(n: i64) -> String {
    if n == 1 {
        "1 member".to_string()
    } else {
        format!("{n} members")
    }
}

/// Page `page` (0-based, clamped) of `groups`, as listed for `bucket`.
pub fn render(groups: &[Listed], bucket: Option<Bucket>, page: usize) -> Page {
    let pages = page_count(groups.len());
    let page = page.min(pages - 1);
    let title = match bucket {
        Some(b) => format!("Groups · {}", b.label()),
        None => "Groups".to_string(),
    };
    let mut embed = CreateEmbed::new().title(title);
    if groups.is_empty() {
        embed = embed.description(match bucket {
            Some(b) => format!("There are no groups in {} yet. Admins can create one with /group create.", b.label()),
            None => "There are no groups yet. Admins can create one with /group create.".to_string(),
        });
        return Page { embed, components: vec![] };
    }
    let slice = &groups[page * PAGE_SIZE..((page + 1) * PAGE_SIZE).min(groups.len())];
    let mut lines = Vec::new();
    let mut current: Option<Bucket> = None;
    for g in slice {
        if current != Some(g.bucket) {
            if current.is_some() {
                lines.push(String::new());
            }
            lines.push(format!("__{}__", g.bucket.label()));
            current = Some(g.bucket);
        }
        lines.push(format!("**{}** · {} · {}", g.name, badge(g.visibility), members(g.member_count)));
    }
    embed = embed.description(lines.join("\n")).footer(CreateEmbedFooter::new(format!(
        "Page {} of {} · {} groups",
        page + 1,
        pages,
        groups.len()
    )));
    let mut components = vec![];
    if pages > 1 {
        let prev = CreateButton::new(CustomId::DirectoryPage { bucket, page: page.saturating_sub(1) as u32 }.encode())
            .label("◀ Previous")
            .style(ButtonStyle::Secondary)
            .disabled(page == 0);
        let next = CreateButton::new(CustomId::DirectoryPage { bucket, page: (page + 1) as u32 }.encode())
            .label("Next ▶")
            .style(ButtonStyle::Secondary)
            .disabled(page + 1 >= pages);
        components.push(CreateActionRow::Buttons(vec![prev, next]));
    }
    Page { embed, components }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_hold_ten_groups() {
        assert_eq!(page_count(0), 1);
        assert_eq!(page_count(10), 1);
        assert_eq!(page_count(11), 2);
    }
}
