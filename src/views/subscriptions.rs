//! "My Subscriptions" (S4): one page of what a member follows, by type, with
//! a multi-select that deletes the chosen ones, page buttons and
//! *Unsubscribe from all* (behind a confirmation).

use super::group_page::View;
use crate::custom_id::CustomId;
use crate::domain::subscription::{Item, Kind};
use serenity::all::{
    ButtonStyle, CreateActionRow, CreateButton, CreateEmbed, CreateEmbedFooter, CreateSelectMenu, CreateSelectMenuKind,
    CreateSelectMenuOption,
};

/// Discord's most options in one select menu.
pub const PAGE_SIZE: usize = 25;

pub fn page_count(total: usize) -> usize {
    total.div_ceil(PAGE_SIZE).max(1)
}

fn kind_heading(k: Kind) -> &'static str {
    match k {
        Kind::Group => "Groups",
        Kind::Forum => "Forums and channels",
        Kind::Thread => "Threads (topics)",
        Kind::Post => "Posts",
    }
}

/// How an item reads in the embed (mentions render as names there).
fn line(i: &Item) -> String {
    match i.kind {
        Kind::Group => format!("**{}**", i.group_name.as_deref().unwrap_or("(deleted group)")),
        Kind::Forum | Kind::Thread => format!("<#{}>", i.target),
        Kind::Post => format!("message `{}`", i.target),
    }
}

/// How an item reads in the select (plain text, at most 100 characters).
fn label(i: &Item) -> String {
    let s = match i.kind {
        Kind::Group => format!("Group: {}", i.group_name.as_deref().unwrap_or("(deleted group)")),
        Kind::Forum => format!("Forum/channel {}", i.target),
        Kind::Thread => format!("Thread {}", i.target),
        Kind::Post => format!("Post {}", i.target),
    };
    s.chars().take(100).collect()
}

/// Page `page` (clamped) of everything the member follows.
pub fn render(items: &[Item], page: usize, note: &str) -> View {
    if items.is_empty() {
        let mut text = String::from("You don't follow anything yet. Use `/subscribe` in a channel or thread, or name a group; right-click a message for *Subscribe to post*.");
        if !note.is_empty() {
            text = format!("{note}\n{text}");
        }
        return View::text(text);
    }
    let pages = page_count(items.len());
    let page = page.min(pages - 1);
    let slice = &items[page * PAGE_SIZE..((page + 1) * PAGE_SIZE).min(items.len())];
    let mut embed = CreateEmbed::new().title("My Subscriptions").footer(CreateEmbedFooter::new(format!(
        "Page {} of {pages} · {} followed in all",
        page + 1,
        items.len()
    )));
    for kind in [Kind::Group, Kind::Forum, Kind::Thread, Kind::Post] {
        let lines: Vec<String> = slice.iter().filter(|i| i.kind == kind).map(line).collect();
        if !lines.is_empty() {
            embed = embed.field(kind_heading(kind), lines.join("\n"), false);
        }
    }
    let options: Vec<CreateSelectMenuOption> =
        slice.iter().map(|i| CreateSelectMenuOption::new(label(i), i.id.to_string())).collect();
    let n = options.len() as u8;
    let select = CreateSelectMenu::new(
        CustomId::SubscriptionsDelete { page: page as u32 }.encode(),
        CreateSelectMenuKind::String { options },
    )
    .placeholder("Delete selected subscriptions…")
    .min_values(1)
    .max_values(n);
    let mut buttons = Vec::new();
    if pages > 1 {
        buttons.push(
            CreateButton::new(CustomId::SubscriptionsPage { page: page.saturating_sub(1) as u32 }.encode())
                .label("Previous")
                .style(ButtonStyle::Secondary)
                .disabled(page == 0),
        );
        buttons.push(
            CreateButton::new(CustomId::SubscriptionsPage { page: (page + 1) as u32 }.encode())
                .label("Next")
                .style(ButtonStyle::Secondary)
                .disabled(page + 1 >= pages),
        );
    }
    buttons.push(
        CreateButton::new(CustomId::SubscriptionsAll.encode()).label("Unsubscribe from all").style(ButtonStyle::Danger),
    );
    View {
        content: note.to_string(),
        embeds: vec![embed],
        components: vec![CreateActionRow::SelectMenu(select), CreateActionRow::Buttons(buttons)],
    }
}

/// The confirmation before *Unsubscribe from all*.
pub fn confirm_all(count: usize) -> View {
    View {
        content: format!(
            "Unsubscribe from all {count} things you follow? Group subscriptions included: you won't hear about new topics any more."
        ),
        embeds: vec![],
        components: vec![CreateActionRow::Buttons(vec![
            CreateButton::new(CustomId::SubscriptionsAllConfirm.encode())
                .label("Unsubscribe from all")
                .style(ButtonStyle::Danger),
            CreateButton::new(CustomId::SubscriptionsPage { page: 0 }.encode())
                .label("Cancel")
                .style(ButtonStyle::Secondary),
        ])],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_hold_at_most_twenty_five() {
        assert_eq!(page_count(0), 1);
        assert_eq!(page_count(25), 1);
        assert_eq!(page_count(60), 3);
        let items: Vec<Item> =
            (1..=60).map(|n| Item { id: n, kind: Kind::Thread, target: 1000 + n, group_name: None }).collect();
        let v = render(&items, 7, "");
        assert_eq!(v.components.len(), 2, "select and buttons");
    }
}
