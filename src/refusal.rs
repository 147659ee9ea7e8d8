//! What a person reads when a use case refuses: one text per error of
//! every service, shared by the slash commands and the buttons, forms and
//! selects that reach the same use case. Internal errors are passed on
//! (`Err`), and shown as `error::GENERIC` while their cause is logged.

use crate::discord::DiscordError;
use crate::domain::lead::{Application, Status};
use crate::error::user;
use crate::service::invite::InviteError;
use crate::service::lead::LeadError;
use crate::service::manage::ManageError;
use crate::service::membership::MembershipError;
use crate::service::membership::{Joined, Left};
use crate::service::request::RequestError;
use crate::service::request::{Posted, Requested};
use crate::service::subscriptions::SubscribeError;
use crate::types::Error;
use crate::views::group_page::View;

/// The user-facing text for a refused membership change; internal errors
/// are passed on (and shown as "something went wrong").
pub fn membership(e: &MembershipError, name: &str, verb: &str) -> Result<String, Error> {
    Ok(match e {
        MembershipError::NoGroup => "That group no longer exists.".to_string(),
        MembershipError::Archived => format!("**{name}** is archived, so it can't be {verb}ed."),
        MembershipError::Closed => format!("**{name}** is a closed group: send a request to join instead."),
        MembershipError::Banned => format!("You can't {verb} **{name}**: its leaders have banned you from it."),
        MembershipError::NotMember => format!("You're not a member of **{name}**."),
        MembershipError::NotAllowed => format!("Only leaders of **{name}** and admins can do this."),
        MembershipError::NeedsGuidelines(_) => "Please accept the community guidelines first.".to_string(),
        MembershipError::UnsafeRole(_)
        | MembershipError::Broken
        | MembershipError::Refused
        | MembershipError::Discord(DiscordError::MissingPermissions) => crate::views::pace::refused(name),
        MembershipError::Discord(
            DiscordError::Unavailable(_) | DiscordError::RateLimited(_) | DiscordError::Unknown(..),
        ) => "Discord is having trouble right now. Nothing was changed; please try again in a minute.".to_string(),
        MembershipError::Discord(other) => return Err(format!("Discord refused: {other}").into()),
        MembershipError::Db(e) => return Err(crate::error::from_database(e)),
    })
}

/// The user-facing text for a refused group subscription (`/subscribe
/// group`, the Group Page's Subscribe button).
pub fn subscribe(e: SubscribeError) -> Result<String, Error> {
    Ok(match e {
        SubscribeError::NoGroup => "That group no longer exists.".to_string(),
        SubscribeError::Archived(name) => format!("**{name}** is archived."),
        SubscribeError::CannotSee(name) => format!("**{name}** is a closed group: only its members can follow it."),
        SubscribeError::Db(e) => return Err(e.into()),
    })
}

/// What to tell someone about an application that is no longer open.
pub fn closed_text(a: &Application) -> String {
    match a.status {
        Status::Withdrawn => format!("Application #{} was withdrawn by the applicant.", a.id),
        _ => format!("Application #{} was already decided: {}.", a.id, crate::views::lead::standing(a)),
    }
}

/// Where the member's first application stands (a second one is refused).
pub fn already_open_text(a: &Application) -> String {
    format!(
        "You already have an open application #{} for **{}**: it is {}. Wait for the decision, or withdraw it in `/lead status` first.",
        a.id,
        a.target.name(),
        crate::views::lead::standing(a)
    )
}

/// The user-facing text for a refused lead action; internal errors are
/// passed on (and shown as "something went wrong").
pub fn lead(e: LeadError) -> Result<String, Error> {
    Ok(match e {
        LeadError::NoGroup => "That group no longer exists.".into(),
        LeadError::Archived => "That group is archived.".into(),
        LeadError::AlreadyLeader => "You already lead that group.".into(),
        LeadError::NameExists => {
            "A group with that name already exists. Apply to lead it instead (`/lead apply` with `group`), or pick another name.".into()
        }
        LeadError::AlreadyOpen(a) => already_open_text(&a),
        LeadError::NotFound => "That application doesn't exist (or isn't yours).".into(),
        LeadError::NotAllowed => crate::auth::NOT_ADMIN.into(),
        LeadError::AlreadyClosed(a) => closed_text(&a),
        LeadError::ApplicantGone => "The applicant is no longer a member of this server, so they can't lead a group. Decline the application instead.".into(),
        LeadError::Leader(e) => {
            let msg = membership(&e, "the group", "change")?;
            format!("I couldn't make the applicant a leader: {msg} The application is still open.")
        }
        LeadError::Create(crate::service::groups::CreateError::Discord { step, source }) => {
            format!("{} The application is still open.", explain_discord(step, &source, "Nothing was created."))
        }
        LeadError::Create(e) => return Err(Box::new(e)),
        LeadError::Db(e) => return Err(Box::new(e)),
    })
}

/// The user-facing text for a refused invitation action; internal errors
/// are passed on. `as_invitee`: the person reading is the one invited.
pub fn invite(e: InviteError, as_invitee: bool) -> Result<String, Error> {
    let now = chrono::Utc::now();
    Ok(match e {
        InviteError::NoGroup => "That group no longer exists.".into(),
        InviteError::Archived(g) => format!("**{g}** is archived: nobody can be invited to it or join it now."),
        InviteError::NotAllowed(g) => format!(
            "Only leaders of **{g}** and admins can invite people to it (its leaders haven't let members invite)."
        ),
        InviteError::InviterNoLongerMay { group, inviter } => format!(
            "This invitation to **{group}** no longer holds: <@{inviter}> can no longer invite people to it. Ask its leaders for a new one, or use `/request-join`."
        ),
        InviteError::Bot => "Bots can't be invited to groups.".into(),
        InviteError::Yourself => "You can't invite yourself. Use `/join` or `/request-join` instead.".into(),
        InviteError::NotInServer if as_invitee => {
            "You're no longer a member of the server, so you can't join its groups.".into()
        }
        InviteError::NotInServer => "That person isn't a member of this server.".into(),
        InviteError::AlreadyMember(g) => format!("They're already a member of **{g}**."),
        InviteError::Banned(g) if as_invitee => format!("You can't join **{g}**: its leaders have banned you from it."),
        InviteError::Banned(g) => {
            format!("They can't be invited to **{g}**: its leaders have banned them from it.")
        }
        InviteError::AlreadyPending(i) => format!(
            "<@{}> already has a pending invitation #{} to **{}** (from <@{}>, {}). See `/invites`.",
            i.invitee_id,
            i.id,
            i.group_name,
            i.inviter_id,
            crate::views::invite::standing(&i, now)
        ),
        InviteError::Cap { cap, free_at } => format!(
            "You've sent {cap} invitations in the last 24 hours, the most this server allows. You can invite again from <t:{}:f>.",
            free_at.timestamp()
        ),
        InviteError::NotFound => "That invitation doesn't exist any more (its group may have been deleted).".into(),
        InviteError::NotYours => "That invitation isn't yours: only the person invited can answer it.".into(),
        InviteError::NoLongerOpen(i) => format!(
            "Invitation #{} to join **{}** is no longer open: {}.",
            i.id,
            i.group_name,
            crate::views::invite::standing(&i, i.decided_at.unwrap_or(i.expires_at))
        ),
        InviteError::NotAllowedToRevoke => {
            "Only the person who sent an invitation, the group's leaders and admins can revoke it.".into()
        }
        InviteError::NotModerator(g) => format!("Only leaders of **{g}** and admins can change this."),
        InviteError::NeedsGuidelines(..) => "Please accept the community guidelines first.".into(),
        InviteError::Admit(e) => {
            let msg = membership(&e, "the group", "join")?;
            format!("{msg} The invitation is still pending.")
        }
        InviteError::Discord(DiscordError::Unavailable(_) | DiscordError::RateLimited(_)) => {
            "Discord is having trouble right now. Nothing was changed; please try again in a minute.".into()
        }
        InviteError::Discord(e) => return Err(format!("Discord refused: {e}").into()),
        InviteError::Db(e) => return Err(Box::new(e)),
    })
}

/// The user-facing text for a refused request action; internal errors are
/// passed on (and shown as "something went wrong").
pub fn request(e: RequestError) -> Result<String, Error> {
    Ok(match e {
        RequestError::NoGroup => "That group no longer exists.".into(),
        RequestError::Archived => "That group is archived.".into(),
        RequestError::Open(g) => format!("**{}** is an open group: no request needed, just `/join` it.", g.name),
        RequestError::AlreadyMember(g) => format!("You're already a member of **{}**.", g.name),
        RequestError::Banned(g) => {
            format!("You can't ask to join **{}**: its leaders have banned you from it.", g.name)
        }
        RequestError::NeedsGuidelines(..) => "Please accept the community guidelines first.".into(),
        RequestError::Cooldown(g, until) => format!(
            "Your last request to join **{}** was denied recently. You can ask again from <t:{}:f>.",
            g.name,
            until.timestamp()
        ),
        RequestError::Criteria(g, checks) => {
            let failed: Vec<String> = checks.iter().filter(|c| !c.ok).map(|c| c.label.clone()).collect();
            format!("You don't meet the criteria of **{}** yet. It asks for: {}.", g.name, failed.join("; "))
        }
        RequestError::AlreadyPending(r) => format!(
            "You already have a pending request #{} to join **{}**: {}. See `/requests`.",
            r.id,
            r.group_name,
            crate::views::request::standing(&r)
        ),
        RequestError::NotFound => {
            "That request doesn't exist (its group may have been deleted), or it isn't yours.".into()
        }
        RequestError::AlreadyDecided(r) => {
            format!("Request #{} was already {}.", r.id, crate::views::request::standing(&r))
        }
        RequestError::NotAllowed => {
            "Only this group's leaders, and people with Manage Roles, can decide its requests.".into()
        }
        RequestError::Admit(e) => {
            let msg = membership(&e, "the group", "change")?;
            format!("I couldn't admit the requester: {msg} The request is still pending, and the requester was told.")
        }
        RequestError::Discord(DiscordError::Unavailable(_) | DiscordError::RateLimited(_)) => {
            "Discord is having trouble right now. Nothing was changed; please try again in a minute.".into()
        }
        RequestError::Discord(e) => return Err(format!("Discord refused: {e}").into()),
        RequestError::Db(e) => return Err(Box::new(e)),
    })
}

/// What an admin should do about a Discord refusal at `step`; `nothing`
/// says what did not happen ("Nothing was created.").
pub fn explain_discord(step: &str, e: &DiscordError, nothing: &str) -> String {
    format!("I couldn't {step}: {e}. {nothing} {}", discord_fix(e))
}

/// How to fix what made Discord refuse.
pub fn discord_fix(e: &DiscordError) -> &'static str {
    match e {
        DiscordError::MissingPermissions | DiscordError::MissingAccess => {
            "Discord says I'm missing permissions. Give my role Manage Roles and Manage Channels, and drag it above the group roles in Server Settings → Roles, then try again."
        }
        DiscordError::Unavailable(_) | DiscordError::RateLimited(_) => "Discord is having trouble right now. Please try again in a minute.",
        DiscordError::Refused { code: 30005, .. } => {
            "The server has Discord's maximum of 250 roles. Delete roles you no longer use (`/health` counts them), then try again."
        }
        DiscordError::Refused { code: 30013, .. } => {
            "The server has Discord's maximum of 500 channels. Delete channels you no longer use (`/health` counts them), then try again."
        }
        _ => "Please try again; if it keeps failing, run `/health`: it lists what is wrong with my permissions, roles and channels here, each with its fix.",
    }
}

/// A group-management use case's failure (`/group edit|archive|unarchive`
/// and the delete confirmation), for the admin who acted: `nothing` says
/// what did not happen ("Nothing was changed."), `again` what to do once
/// fixed ("try again").
pub fn manage(e: ManageError, nothing: &str, again: &str) -> Error {
    match e {
        ManageError::NameTaken => user(
            "Another group already has that name (names are compared ignoring letter case). Pick another name. Nothing was changed.",
        ),
        ManageError::Gone => user(format!("That group no longer exists. {nothing}")),
        ManageError::Changed => {
            user(format!("Someone else changed this group at the same moment. {nothing} Please look at it again and {again}."))
        }
        ManageError::RoleAboveBot(role) => user(format!(
            "The role {role} is not below my highest role, so Discord won't let me delete it. Move my role above {role} in Server Settings → Roles, then {again}. {nothing}"
        )),
        ManageError::Discord { step, source } => {
            user(explain_discord(step, &source, nothing))
        }
        ManageError::Db(e) => Box::new(e),
    }
}

// What a use case's result shows the person who acted.

/// What a join attempt shows the member (`/join`, *Join group*, *I agree*):
/// `name` is the group's, read before the attempt; `prompt` names a
/// guidelines prompt, when one is shown (the interaction answered).
pub fn joined(r: Result<Joined, MembershipError>, group: i64, name: &str, prompt: u64) -> Result<View, Error> {
    Ok(match r {
        Ok(Joined::Joined(g)) => View::text(crate::views::pace::joined(&g.name, g.channel_id)),
        Ok(Joined::Applying(g, eta)) => View::text(crate::views::pace::joining(&g.name, eta)),
        Ok(Joined::AlreadyMember(g)) => View::text(format!("You're already a member of **{}**.", g.name)),
        Err(MembershipError::Closed) => crate::views::group_page::closed_explanation(group, name),
        Err(MembershipError::NeedsGuidelines(gl)) => {
            crate::views::group_page::guidelines_prompt(&gl, group, name, prompt)
        }
        Err(e) => View::text(format!("Error: {}", membership(&e, name, "join")?)),
    })
}

/// What leaving shows the member (`/leave`, *Leave group*).
pub fn left(r: Result<Left, MembershipError>, name: &str) -> Result<View, Error> {
    Ok(match r {
        Ok(Left::Left(g)) => View::text(crate::views::pace::left(&g.name)),
        Ok(Left::Applying(g, eta)) => View::text(crate::views::pace::leaving(&g.name, eta)),
        Err(e) => View::text(format!("Error: {}", membership(&e, name, "leave")?)),
    })
}

/// What asking to join shows the member (`/request-join` and *Send request
/// to join*): where the request went, the guidelines to accept first, or
/// why it was refused; `prompt` as for `joined`.
pub fn requested(r: Result<Requested, RequestError>, prompt: u64) -> Result<View, Error> {
    let text = match r {
        Ok(r) => {
            let where_ = match r.posted {
                Posted::Thread | Posted::Dms(_) => "The group's leaders have it now; you'll get a DM when they decide.",
                Posted::ModChannel => {
                    "The group's leaders couldn't be reached, so the admins have it; you'll get a DM when it's decided."
                }
                Posted::Nowhere => "It's saved; the group's leaders will see it in `/requests`.",
            };
            format!(
                "Your request #{} to join **{}** was sent. {where_} Follow it (or withdraw it) with `/requests`.",
                r.request.id, r.request.group_name
            )
        }
        Err(RequestError::NeedsGuidelines(gl, g)) => {
            return Ok(crate::views::group_page::guidelines_prompt(&gl, g.id, &g.name, prompt))
        }
        Err(e) => format!("Error: {}", request(e)?),
    };
    Ok(View::text(text))
}
