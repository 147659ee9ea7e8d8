//! The Group Page (G4) and the guidelines prompt (M2).

use super::{clip, FIELD_MAX};
use crate::custom_id::CustomId;
use crate::domain::group::Visibility;
use crate::domain::membership::PageFacts;
use crate::domain::settings::Guidelines;
use serenity::all::{ButtonStyle, CreateActionRow, CreateButton, CreateEmbed, CreateEmbedFooter};

pub struct View {
    pub content: String,
    pub embeds: Vec<CreateEmbed>,
    pub components: Vec<CreateActionRow>,
}

impl View {
    pub fn text(content: impl Into<String>) -> View {
        View { content: content.into(), embeds: vec![], components: vec![] }
    }

    /// One embed, with these components under it.
    pub fn embed(embed: CreateEmbed, components: Vec<CreateActionRow>) -> View {
        View { content: String::new(), embeds: vec![embed], components }
    }
}

pub fn page(f: &PageFacts) -> View {
    let g = &f.group;
    let badge = match g.visibility {
        Visibility::Open => "🔓 Open: anyone can join",
        Visibility::Closed => "🔒 Closed: ask to join; leaders decide",
    };
    let leaders = if f.leaders.is_empty() {
        "No leader yet".to_string()
    } else {
        f.leaders.iter().map(|u| format!("<@{u}>")).collect::<Vec<_>>().join(", ")
    };
    let mut embed = CreateEmbed::new()
        .title(&g.name)
        .field("Bucket", g.bucket.label(), true)
        .field("Visibility", badge, true)
        .field("Members", f.member_count.to_string(), true)
        .field("Leaders", clip(&leaders, FIELD_MAX), false);
    if !g.description.is_empty() {
        embed = embed.description(clip(&g.description, 4000));
    }
    if !g.criteria.is_empty() {
        embed = embed.field("Who it's for", clip(&g.criteria, FIELD_MAX), false);
    }
    if g.archived {
        embed = embed.footer(CreateEmbedFooter::new("This group is archived: its channel is read-only."));
    } else if let Some(ch) = g.channel_id {
        if g.visibility == Visibility::Open || f.viewer_is_member {
            embed = embed.field("Channel", format!("<#{ch}>"), false);
        }
    }
    let mut buttons = vec![];
    if !g.archived {
        if f.viewer_is_member {
            buttons.push(
                CreateButton::new(CustomId::Leave { group: g.id }.encode())
                    .label("Leave group")
                    .style(ButtonStyle::Secondary),
            );
        } else if g.visibility == Visibility::Open {
            buttons.push(
                CreateButton::new(CustomId::Join { group: g.id }.encode())
                    .label("Join group")
                    .style(ButtonStyle::Success),
            );
        } else {
            buttons.push(
                CreateButton::new(CustomId::Request { group: g.id }.encode())
                    .label("Send request to join")
                    .style(ButtonStyle::Primary),
            );
        }
        let (label, style) = if f.viewer_subscribed {
            ("Unsubscribe", ButtonStyle::Secondary)
        } else {
            ("Subscribe", ButtonStyle::Primary)
        };
        buttons.push(CreateButton::new(CustomId::Subscribe { group: g.id }.encode()).label(label).style(style));
    }
    let components = if buttons.is_empty() { vec![] } else { vec![CreateActionRow::Buttons(buttons)] };
    View { content: String::new(), embeds: vec![embed], components }
}

/// The guidelines, with *I agree* / *Cancel*, before joining `group`;
/// `prompt` is the interaction showing them (only the newest prompt acts).
pub fn guidelines_prompt(gl: &Guidelines, group: i64, group_name: &str, prompt: u64) -> View {
    guidelines_prompt_then(gl, CustomId::Agree { group, version: gl.version, prompt }, group_name)
}

/// What *I agree* on an older prompt says, when a newer one was shown since.
pub const OUTDATED_PROMPT: &str =
    "Error: This prompt is outdated: a newer one was shown to you since. Use the newest, or run the command again.";

/// The guidelines, with *I agree* (`agree`, which goes on to the join it
/// names, e.g. accepting an invitation) / *Cancel*.
pub fn guidelines_prompt_then(gl: &Guidelines, agree: CustomId, group_name: &str) -> View {
    let embed = CreateEmbed::new()
        .title(format!("Community guidelines (version {})", gl.version))
        .description(clip(&gl.text, 4000))
        .footer(CreateEmbedFooter::new("You're asked once, and again whenever the guidelines change."));
    let buttons = vec![
        CreateButton::new(agree.encode()).label("I agree").style(ButtonStyle::Success),
        CreateButton::new(CustomId::Disagree.encode()).label("Cancel").style(ButtonStyle::Secondary),
    ];
    View {
        content: format!("Before you join **{group_name}**, please read and accept the community guidelines."),
        embeds: vec![embed],
        components: vec![CreateActionRow::Buttons(buttons)],
    }
}

/// What `/join` says about a closed group, with the request button.
pub fn closed_explanation(group: i64, name: &str) -> View {
    View {
        content: format!(
            "**{name}** is a closed group: its leaders decide who joins. You can send them a request to join; they'll see your request and answer it."
        ),
        embeds: vec![],
        components: vec![CreateActionRow::Buttons(vec![CreateButton::new(CustomId::Request { group }.encode())
            .label("Send request to join")
            .style(ButtonStyle::Primary)])],
    }
}
