//! "My Subscriptions" (S4): one page of what a member follows, by type, with
//! a multi-select that deletes the chosen ones, page buttons and
//! *Unsubscribe from all* (behind a confirmation).

use super::group_page::View;
use crate::custom_id::CustomId;
use crate::domain::subscription::{ChannelName, Item, Kind};
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

/// The items page `page` (clamped to the last) shows.
pub fn page_range(total: usize, page: usize) -> std::ops::Range<usize> {
    let page = page.min(page_count(total) - 1);
    page * PAGE_SIZE..((page + 1) * PAGE_SIZE).min(total)
}

fn deleted(kind: Kind) -> &'static str {
    if kind == Kind::Thread {
        "a deleted thread"
    } else {
        "a deleted channel"
    }
}

/// How an item reads in the embed: channels and threads as mentions,
/// which Discord shows as their names; a post by when it was written.
fn line(i: &Item) -> String {
    match i.kind {
        Kind::Group => format!("**{}**", i.group_name.as_deref().unwrap_or("(deleted group)")),
        Kind::Forum | Kind::Thread => match &i.channel {
            Some(ChannelName::Gone) => deleted(i.kind).to_string(),
            _ => format!("<#{}>", i.target),
        },
        Kind::Post => match i.posted_at() {
            Some(t) => format!("a post from {}", super::when(t)),
            None => "a post".to_string(),
        },
    }
}

/// How an item reads in the select: plain text (a select can't show a
/// mention), at most 100 characters, never a bare id.
fn label(i: &Item) -> String {
    let place = |what: &str| match &i.channel {
        Some(ChannelName::Named(name)) => format!("{what}: #{name}"),
        Some(ChannelName::Gone) => format!("{what} (deleted)"),
        None => format!("{what} (Discord didn't give its name)"),
    };
    let s = match i.kind {
        Kind::Group => format!("Group: {}", i.group_name.as_deref().unwrap_or("(deleted group)")),
        Kind::Forum => place("Forum/channel"),
        Kind::Thread => place("Thread"),
        Kind::Post => match i.posted_at() {
            Some(t) => format!("Post from {}", t.format("%Y-%m-%d %H:%M UTC")),
            None => "Post".to_string(),
        },
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
    let slice = &items[page_range(items.len(), page)];
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
        let items: Vec<Item> = (1..=60)
            .map(|n| Item { id: n, kind: Kind::Thread, target: 1000 + n, group_name: None, channel: None })
            .collect();
        let v = render(&items, 7, "");
        assert_eq!(v.components.len(), 2, "select and buttons");
        assert_eq!(page_range(60, 7), 50..60, "a page past the end is the last");
        assert_eq!(page_range(0, 0), 0..0);
    }

    #[test]
    fn labels_name_channels_threads_and_posts_never_by_a_bare_id() {
        let item = |kind, target: i64, channel| Item { id: 1, kind, target, group_name: None, channel };
        let named = |n: &str| Some(ChannelName::Named(n.to_string()));
        // 2026-01-01 00:00 UTC, as a Discord id.
        let post = ((1_767_225_600_000_i64 - 1_420_070_400_000) << 22) + 7;
        let cases = [
            (item(Kind::Forum, 1579566650779238512, named("fintech")), "Forum/channel: #fintech"),
            (item(Kind::Thread, 1579566650779238513, named("Hello there")), "Thread: #Hello there"),
            (item(Kind::Thread, 1579566650779238514, Some(ChannelName::Gone)), "Thread (deleted)"),
            (item(Kind::Forum, 1579566650779238515, None), "Forum/channel (Discord didn't give its name)"),
            (item(Kind::Post, post, None), "Post from 2026-01-01 00:00 UTC"),
        ];
        for (i, want) in cases {
            assert_eq!(label(&i), want);
            assert!(!line(&i).replace(&format!("<#{}>", i.target), "").contains(&i.target.to_string()), "{}", line(&i));
        }
        let long = item(Kind::Thread, 1, named(&"x".repeat(120)));
        assert_eq!(label(&long).chars().count(), 100, "Discord's longest option label");
    }
}
