//! The confirmation of `/group delete` (G2) and what it says afterwards.

use crate::custom_id::CustomId;
use crate::domain::group::Group;
use serenity::all::{ButtonStyle, CreateActionRow, CreateButton};

pub struct View {
    pub text: String,
    pub components: Vec<CreateActionRow>,
}

/// "Delete group X?" with *Delete group* (danger) and *Cancel*.
pub fn confirmation(g: &Group) -> View {
    let mut lines = vec![format!("Delete the group **{}**? This can't be undone.", g.name)];
    match (g.channel_id, g.adopted_channel) {
        (Some(c), false) => lines.push(format!("- Its channel <#{c}> is deleted, with every message in it.")),
        (Some(c), true) => lines.push(format!("- Its channel <#{c}> was adopted, so it stays.")),
        (None, _) => {}
    }
    match (g.role_id, g.adopted_role) {
        (Some(r), false) => lines.push(format!("- Its role <@&{r}> is deleted.")),
        (Some(r), true) => lines.push(format!("- Its role <@&{r}> was adopted, so it stays.")),
        (None, _) => {}
    }
    lines.push("- Its memberships, leaders and requests are removed.".to_string());
    if !g.archived {
        lines.push("To keep the history instead, use /group archive.".to_string());
    }
    let delete = CreateButton::new(CustomId::GroupDelete { group_id: g.id }.encode())
        .label("Delete group")
        .style(ButtonStyle::Danger);
    let cancel = CreateButton::new(CustomId::GroupDeleteCancel { group_id: g.id }.encode())
        .label("Cancel")
        .style(ButtonStyle::Secondary);
    View { text: lines.join("\n"), components: vec![CreateActionRow::Buttons(vec![delete, cancel])] }
}
