//! Lead applications as admins and applicants see them: the mod-channel
//! card, the outcome DM, `/lead status` and `/lead pending`, and the
//! leaderless-group flag.

use super::group_page::View;
use super::{clip, when, FIELD_MAX};
use crate::custom_id::CustomId;
use crate::domain::group::{Bucket, Group};
use crate::domain::lead::{Application, Status, Target};
use serenity::all::{
    ButtonStyle, CreateActionRow, CreateButton, CreateEmbed, CreateEmbedFooter, CreateInputText, CreateModal,
    InputTextStyle,
};

fn what(a: &Application) -> String {
    match &a.target {
        Target::Existing { group_name, .. } => format!("lead **{group_name}**"),
        Target::Proposal { name, bucket, .. } => format!("start and lead a new group, **{name}** ({})", bucket.label()),
    }
}

/// One line saying where an application stands, for its applicant and in
/// listings (the card itself says it with `card_standing`).
pub fn standing(a: &Application) -> String {
    match a.status {
        Status::Open if a.mod_message_id.is_some() => {
            format!("open since {}, waiting for an admin's decision in the mod channel", when(a.created_at))
        }
        // Not posted: no mod channel was set, or posting there failed; the
        // view can't tell which, and admins find it in `/lead pending`.
        Status::Open => format!(
            "open since {}, saved but not yet in front of admins: it isn't posted in a mod channel yet (admins see it in `/lead pending`)",
            when(a.created_at)
        ),
        Status::Approved => format!("approved by <@{}> {}", a.decided_by.unwrap_or_default(), decided(a)),
        Status::Declined => format!(
            "declined by <@{}> {}. Reason: {}",
            a.decided_by.unwrap_or_default(),
            decided(a),
            a.reason.as_deref().unwrap_or("none given")
        ),
        Status::Withdrawn => format!("withdrawn {}", decided(a)),
    }
}

/// Where an application stands, as its card in the mod channel says it:
/// the card is rendered before it is posted (its message id unknown yet),
/// and wherever it is seen it is in front of admins.
fn card_standing(a: &Application) -> String {
    match a.status {
        Status::Open => format!("open since {}, waiting for an admin's decision", when(a.created_at)),
        _ => standing(a),
    }
}

fn decided(a: &Application) -> String {
    a.decided_at.map(when).unwrap_or_default()
}

/// Approve / Decline buttons for an open application.
pub fn decision_buttons(a: &Application) -> CreateActionRow {
    CreateActionRow::Buttons(vec![
        CreateButton::new(CustomId::LeadApprove { application: a.id }.encode())
            .label("Approve")
            .style(ButtonStyle::Success),
        CreateButton::new(CustomId::LeadDecline { application: a.id }.encode())
            .label("Decline")
            .style(ButtonStyle::Danger),
    ])
}

/// The card in the mod channel: who, for what, their answers, and either the
/// buttons (open) or the decision.
pub fn card(a: &Application) -> View {
    let title = match &a.target {
        Target::Existing { group_name, .. } => format!("Application to lead {group_name}"),
        Target::Proposal { name, .. } => format!("Proposal for a new group: {name}"),
    };
    let mut e = CreateEmbed::new().title(clip(&title, 256)).field("Applicant", format!("<@{}>", a.applicant_id), true);
    match &a.target {
        Target::Existing { group_name, .. } => e = e.field("Group", clip(group_name, FIELD_MAX), true),
        Target::Proposal { name, bucket, description } => {
            e = e.field("Proposed group", clip(name, FIELD_MAX), true).field("Bucket", bucket.label(), true);
            if !description.is_empty() {
                e = e.field("Description", clip(description, FIELD_MAX), false);
            }
        }
    }
    e = e
        .field("Motivation", clip(&a.motivation, FIELD_MAX), false)
        .field("Experience", clip(&a.experience, FIELD_MAX), false)
        .field("Hours per week", a.hours_per_week.to_string(), true)
        .field("Status", format!("{}: {}", a.status.label(), card_standing(a)), false)
        .footer(CreateEmbedFooter::new(format!("Application #{}", a.id)));
    let components = if a.status == Status::Open { vec![decision_buttons(a)] } else { vec![] };
    let content = match a.status {
        Status::Open => "New lead application. Discuss it in the thread; only admins can decide.".to_string(),
        s => format!("Lead application {}.", s.label().to_lowercase()),
    };
    View { content, embeds: vec![e], components }
}

/// The DM telling the applicant the outcome.
pub fn outcome_dm(a: &Application) -> String {
    match a.status {
        Status::Approved => match &a.target {
            Target::Existing { group_name, .. } => format!(
                "Your application to lead **{group_name}** was approved. You're now one of its leaders, with moderation rights on its channel."
            ),
            Target::Proposal { name, .. } => format!(
                "Your proposal for **{name}** was approved: the group was created and you're its leader."
            ),
        },
        Status::Declined => format!(
            "Your application to {} was declined. Reason: {}",
            what(a),
            a.reason.as_deref().unwrap_or("none given")
        ),
        _ => format!("Your application to {} is {}.", what(a), a.status.label().to_lowercase()),
    }
}

/// `/lead status`: a member's applications, with *Withdraw* on open ones.
pub fn status(list: &[Application]) -> View {
    if list.is_empty() {
        return View::text("You haven't applied to lead a group. Use `/lead apply` to apply or to propose one.");
    }
    let lines: Vec<String> = list.iter().map(|a| format!("**#{}** to {}: {}.", a.id, what(a), standing(a))).collect();
    let buttons: Vec<CreateButton> = list
        .iter()
        .filter(|a| a.status == Status::Open)
        .take(5)
        .map(|a| {
            CreateButton::new(CustomId::LeadWithdraw { application: a.id }.encode())
                .label(format!("Withdraw #{}", a.id))
                .style(ButtonStyle::Secondary)
        })
        .collect();
    let embed = CreateEmbed::new().title("Your lead applications").description(clip(&lines.join("\n"), 4000));
    View {
        content: String::new(),
        embeds: vec![embed],
        components: if buttons.is_empty() { vec![] } else { vec![CreateActionRow::Buttons(buttons)] },
    }
}

/// `/lead pending`: open applications (the first five with buttons) and
/// groups without a leader.
pub fn pending(p: &crate::domain::lead::Pending) -> View {
    let mut content = match p.mod_channel {
        Some(c) => format!("Lead applications are posted in <#{c}>."),
        None => "No mod channel is set, so applications wait here. Set one with `/config mod-channel`.".to_string(),
    };
    if p.reposted > 0 {
        content.push_str(&format!(" Posted {} waiting application(s) there now.", p.reposted));
    }
    let mut embeds = vec![];
    if p.open.is_empty() {
        content.push_str(" No application is waiting for a decision.");
    } else {
        let lines: Vec<String> = p
            .open
            .iter()
            .map(|a| {
                format!(
                    "**#{}** <@{}> wants to {} ({} h/week), since {}",
                    a.id,
                    a.applicant_id,
                    what(a),
                    a.hours_per_week,
                    when(a.created_at)
                )
            })
            .collect();
        embeds.push(CreateEmbed::new().title("Open lead applications").description(clip(&lines.join("\n"), 4000)));
    }
    if !p.leaderless.is_empty() {
        let names: Vec<String> = p.leaderless.iter().map(|(_, n, _)| format!("**{n}**")).collect();
        embeds.push(CreateEmbed::new().title("Groups without a leader").description(clip(&names.join(", "), 4000)));
    }
    let components = p
        .open
        .iter()
        .take(5)
        .map(|a| {
            CreateActionRow::Buttons(vec![
                CreateButton::new(CustomId::LeadApprove { application: a.id }.encode())
                    .label(format!("Approve #{}", a.id))
                    .style(ButtonStyle::Success),
                CreateButton::new(CustomId::LeadDecline { application: a.id }.encode())
                    .label(format!("Decline #{}", a.id))
                    .style(ButtonStyle::Danger),
            ])
        })
        .collect();
    View { content, embeds, components }
}

/// The message admins get in the mod channel when a group loses its last leader.
pub fn leaderless_flag(g: &Group) -> String {
    format!(
        "**{}** has no active leader any more. Make someone a leader with `/group leader add`, or wait for applications (`/lead pending`).",
        g.name
    )
}

// The `/lead apply` forms and their field ids (read back by `components::lead`).

/// Field ids of the forms.
pub const NAME: &str = "name";
pub const DESCRIPTION: &str = "description";
pub const MOTIVATION: &str = "motivation";
pub const EXPERIENCE: &str = "experience";
pub const HOURS: &str = "hours";
pub const REASON: &str = "reason";

/// One text input of a form.
pub fn input(id: &str, label: &str, style: InputTextStyle, max: u16, required: bool) -> CreateActionRow {
    filled_input(id, label, style, max, required, None)
}

/// One text input, filled in with `value` (clipped to what the input takes).
fn filled_input(
    id: &str,
    label: &str,
    style: InputTextStyle,
    max: u16,
    required: bool,
    value: Option<&str>,
) -> CreateActionRow {
    let mut t = CreateInputText::new(style, label, id).max_length(max).required(required);
    if let Some(v) = value.map(|v| v.chars().take(max as usize).collect::<String>()).filter(|v| !v.trim().is_empty()) {
        t = t.value(v);
    }
    CreateActionRow::InputText(t)
}

/// What was typed in a form, by input id.
pub type Typed = [(String, String)];

fn typed<'a>(values: &'a Typed, id: &str) -> Option<&'a str> {
    values.iter().find(|(k, _)| k == id).map(|(_, v)| v.as_str())
}

fn answer_inputs(values: &Typed) -> Vec<CreateActionRow> {
    vec![
        filled_input(
            MOTIVATION,
            "Why do you want to lead it?",
            InputTextStyle::Paragraph,
            1000,
            true,
            typed(values, MOTIVATION),
        ),
        filled_input(
            EXPERIENCE,
            "Your experience leading or moderating",
            InputTextStyle::Paragraph,
            1000,
            true,
            typed(values, EXPERIENCE),
        ),
        filled_input(
            HOURS,
            "Hours per week you can give (1-168)",
            InputTextStyle::Short,
            3,
            true,
            typed(values, HOURS),
        ),
    ]
}

/// The form to lead an existing group (3 inputs), filled in with `values`
/// (none for a new application).
pub fn apply_form(group: i64, group_name: &str, values: &Typed) -> CreateModal {
    let title: String = format!("Lead {group_name}").chars().take(45).collect();
    CreateModal::new(CustomId::LeadApplyForm { group }.encode(), title).components(answer_inputs(values))
}

/// The form to propose a new group (5 inputs: Discord's maximum; the bucket
/// was chosen as a command option), filled in with `values`.
pub fn propose_form(bucket: Bucket, values: &Typed) -> CreateModal {
    let mut rows = vec![
        filled_input(NAME, "Name of the new group", InputTextStyle::Short, 100, true, typed(values, NAME)),
        filled_input(
            DESCRIPTION,
            "What the group is about",
            InputTextStyle::Paragraph,
            1000,
            false,
            typed(values, DESCRIPTION),
        ),
    ];
    rows.extend(answer_inputs(values));
    CreateModal::new(CustomId::LeadProposeForm { bucket }.encode(), format!("Propose a group in {}", bucket.label()))
        .components(rows)
}

/// The titles the answers of a refused form are shown under, by input id
/// (`refused_form`, read back by `typed_back`).
const ANSWER_TITLES: [(&str, &str); 5] = [
    (NAME, "Name of the new group"),
    (DESCRIPTION, "What the group is about"),
    (MOTIVATION, "Why you want to lead it"),
    (EXPERIENCE, "Your experience"),
    (HOURS, "Hours per week"),
];

/// Label of the button that opens a refused form again.
pub const EDIT_ANSWERS: &str = "Edit my answers";

/// A `/lead apply` form that was refused: why, the answers as typed (so
/// nothing typed is lost), and *Edit my answers*, whose custom id is the
/// form's own (`form`: the group or the bucket it is for). Pressed, it
/// opens the form again filled in with the answers shown here, read back
/// from this very message (`typed_back`): nothing is kept anywhere else.
pub fn refused_form(why: &str, form: CustomId, values: &Typed) -> View {
    let mut e = CreateEmbed::new().title("Your answers (not saved)");
    for (id, title) in ANSWER_TITLES {
        if let Some(v) = typed(values, id).filter(|v| !v.trim().is_empty()) {
            e = e.field(title, clip(v, FIELD_MAX), false);
        }
    }
    View {
        content: format!(
            "Error: {why} Nothing was saved; your answers are below. Press **{EDIT_ANSWERS}** to correct them in the form, filled in as you left it."
        ),
        embeds: vec![e],
        components: vec![CreateActionRow::Buttons(vec![CreateButton::new(form.encode())
            .label(EDIT_ANSWERS)
            .style(ButtonStyle::Primary)])],
    }
}

/// The answers `refused_form` showed, from its embed's fields (title,
/// value), by input id; anything else is ignored.
pub fn typed_back(fields: &[(String, String)]) -> Vec<(String, String)> {
    fields
        .iter()
        .filter_map(|(title, value)| {
            ANSWER_TITLES.iter().find(|(_, t)| t == title).map(|(id, _)| (id.to_string(), value.clone()))
        })
        .collect()
}

/// The applicant's DM when Discord refused the group's role after their
/// application was approved: the application is open again.
pub fn approval_failed_dm(group: &str) -> String {
    format!(
        "Your application to lead **{group}** was approved, but I couldn't give you the group's role because of how the server's roles are set up. Your application is open again; the admins can see why in the audit log."
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_refused_forms_answers_read_back_as_typed() {
        let values: Vec<(String, String)> = [
            (NAME, "Rustaceans"),
            (DESCRIPTION, "  "),
            (MOTIVATION, "I run the **local** meetup <@1>"),
            (EXPERIENCE, "Two servers"),
            (HOURS, "ten"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let v = refused_form(
            "Hours per week must be a number.",
            CustomId::LeadProposeForm { bucket: Bucket::Impact },
            &values,
        );
        assert!(v.content.starts_with("Error: Hours per week must be a number. Nothing was saved"), "{}", v.content);
        let embed = serde_json::to_value(&v.embeds[0]).unwrap();
        let fields: Vec<(String, String)> = embed["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| (f["name"].as_str().unwrap().to_string(), f["value"].as_str().unwrap().to_string()))
            .collect();
        assert_eq!(fields.len(), 4, "a blank answer is not shown (Discord refuses an empty field)");
        let back = typed_back(&fields);
        let kept: Vec<(String, String)> = values.iter().filter(|(k, _)| k != DESCRIPTION).cloned().collect();
        assert_eq!(back, kept);
    }
}
