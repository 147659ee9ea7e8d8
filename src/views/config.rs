//! `/config show`: every setting, channels and roles as mentions (which
//! never ping: allowed mentions are empty).

use crate::domain::settings::{Guidelines, Settings, GUIDELINES_MAX};
use serenity::all::{CreateActionRow, CreateEmbed, CreateInputText, CreateModal, InputTextStyle};

/// At most this much of the guidelines text is quoted.
const EXCERPT: usize = 300;

fn or_unset(v: Option<String>, how: &str) -> String {
    v.unwrap_or_else(|| format!("Not set. {how}"))
}

pub fn render(s: &Settings, guild_id: u64) -> CreateEmbed {
    let admin_role = match s.admin_role_id {
        Some(r) => format!("<@&{r}>, and members with Manage Server"),
        None => "Not set: members with Manage Server are admins. Set one with /config admin-role.".to_string(),
    };
    let directory = or_unset(
        s.directory.map(|d| {
            format!("In <#{}>: https://discord.com/channels/{guild_id}/{}/{}", d.channel_id, d.channel_id, d.message_id)
        }),
        "Post one with /directory post.",
    );
    let guidelines = if s.guidelines.version == 0 {
        "Not set. Set them with /config guidelines.".to_string()
    } else {
        let text = &s.guidelines.text;
        let mut excerpt: String = text.chars().take(EXCERPT).collect();
        if text.chars().count() > EXCERPT {
            excerpt.push('…');
        }
        let quoted = excerpt.lines().map(|l| format!("> {l}")).collect::<Vec<_>>().join("\n");
        format!("Version {}, {} characters:\n{quoted}", s.guidelines.version, text.chars().count())
    };
    CreateEmbed::new()
        .title("Guildhall settings")
        .field("Admin role", admin_role, false)
        .field(
            "Mod channel",
            or_unset(s.mod_channel_id.map(|c| format!("<#{c}>")), "Set it with /config mod-channel."),
            false,
        )
        .field(
            "Requests channel",
            or_unset(s.requests_channel_id.map(|c| format!("<#{c}>")), "Set it with /config requests-channel."),
            false,
        )
        .field("Directory message", directory, false)
        .field("Guidelines", guidelines, false)
}

/// The guidelines form's one text field (read back by `components::admin`).
pub const GUIDELINES_FIELD: &str = "text";

/// The form in which an admin edits the guidelines, filled in with the
/// current text. Its one field is `GUIDELINES_FIELD`.
pub fn guidelines_modal(custom_id: &str, current: &Guidelines) -> CreateModal {
    let mut input =
        CreateInputText::new(InputTextStyle::Paragraph, "Guidelines members accept before joining", GUIDELINES_FIELD)
            .required(true)
            .min_length(1)
            .max_length(GUIDELINES_MAX as u16)
            .placeholder("Be kind. Stay on topic. No spam or self-promotion.");
    if !current.text.is_empty() {
        input = input.value(current.text.clone());
    }
    let title = if current.version == 0 {
        "Community guidelines".to_string()
    } else {
        format!("Community guidelines (now version {})", current.version)
    };
    CreateModal::new(custom_id, title).components(vec![CreateActionRow::InputText(input)])
}
