//! Errors shown to users, and the one place every error is handled.
//!
//! A `UserError` carries a message written for the person who acted; it is
//! shown as an ephemeral "Error: ...". Anything else is shown as "Something
//! went wrong" while its cause is logged: internal text never reaches users.

use crate::types::{Data, Error};
use std::fmt;

#[derive(Debug)]
pub struct UserError(pub String);

impl fmt::Display for UserError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for UserError {}

/// Raise a user error: `Err(user("No such group"))?`.
pub fn user(msg: impl Into<String>) -> Error {
    Box::new(UserError(msg.into()))
}

/// Turn `None` into a user error: `group.user_error("No such group")?`.
pub trait UserErrorExt<T> {
    fn user_error(self, msg: &str) -> Result<T, Error>;
}

impl<T> UserErrorExt<T> for Option<T> {
    fn user_error(self, msg: &str) -> Result<T, Error> {
        self.ok_or_else(|| user(msg))
    }
}

pub const GENERIC: &str =
    "Something went wrong on my side. Nothing was changed; please try again. If it keeps happening, tell an admin.";

/// What a user is told for an error.
pub fn message_for(e: &Error) -> String {
    match e.downcast_ref::<UserError>() {
        Some(u) => u.0.clone(),
        None => GENERIC.to_string(),
    }
}

/// Count a finished command and log its one line (O1). The time runs
/// from `pre_command`; a command refused before it (argument parsing) counts
/// as taking no time.
pub async fn record_command(ctx: crate::types::Context<'_>, outcome: crate::telemetry::Outcome) {
    let started = ctx.invocation_data::<crate::telemetry::Started>().await.map(|s| s.0);
    let elapsed = started.map(|s| s.elapsed()).unwrap_or_default();
    crate::telemetry::interaction(ctx.id(), "command", &ctx.command().qualified_name, outcome, elapsed);
}

pub async fn on_error(error: poise::FrameworkError<'_, Data, Error>) {
    use crate::telemetry::Outcome;
    use poise::FrameworkError as E;
    match error {
        E::Command { error, ctx, .. } => {
            if error.downcast_ref::<UserError>().is_none() {
                tracing::warn!(command = %ctx.command().qualified_name, user = ctx.author().id.get(), error = %error, "command failed");
            }
            crate::replies::refuse_command(ctx, &message_for(&error)).await;
            record_command(ctx, Outcome::of::<()>(&Err(error))).await;
        }
        E::CommandCheckFailed { error, ctx, .. } => {
            let msg = error.as_ref().map(message_for).unwrap_or_else(|| "You can't use this command.".to_string());
            crate::replies::refuse_command(ctx, &msg).await;
            record_command(ctx, Outcome::Refused).await;
        }
        E::MissingUserPermissions { missing_permissions, ctx, .. } => {
            let what = missing_permissions.map(|p| p.to_string()).unwrap_or_else(|| "the required permissions".into());
            crate::replies::refuse_command(ctx, &format!("You need {what} to use this command.")).await;
            record_command(ctx, Outcome::Refused).await;
        }
        E::GuildOnly { ctx, .. } => {
            crate::replies::refuse_command(ctx, "This command only works in a server.").await;
            record_command(ctx, Outcome::Refused).await;
        }
        E::ArgumentParse { error, input, ctx, .. } => {
            tracing::debug!(?input, %error, "bad argument");
            let named = match ctx {
                poise::Context::Application(a) => option_problem_of(a),
                poise::Context::Prefix(_) => None,
            };
            crate::replies::refuse_command(ctx, named.as_deref().unwrap_or(BAD_OPTION)).await;
            record_command(ctx, Outcome::BadInput).await;
        }
        E::CommandStructureMismatch { ctx, description, .. } => {
            // Options Discord's client would not have sent (a required one
            // missing, a choice that is not one of its choices): refused
            // naming the option, never read as a default.
            tracing::debug!(%description, "an option didn't match the command");
            let named = option_problem_of(ctx);
            let ctx = poise::Context::Application(ctx);
            crate::replies::refuse_command(ctx, named.as_deref().unwrap_or(BAD_OPTION)).await;
            record_command(ctx, Outcome::BadInput).await;
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::warn!(error = %e, "error while handling an error");
            }
        }
    }
}

/// The refusal of an option that `option_problem` can't name.
const BAD_OPTION: &str = "One of the options isn't valid. Check them and try again.";

/// A command's option as its refusal needs it.
#[derive(Debug)]
pub struct Param<'a> {
    pub name: &'a str,
    pub required: bool,
    /// The choices' names, for a choice option.
    pub choices: Vec<&'a str>,
}

/// An option's value as the interaction carried it.
#[derive(Debug)]
pub enum Given<'a> {
    Text(&'a str),
    Integer(i64),
    Other,
}

/// "bucket" → "Bucket", "expiry_days" → "Expiry days".
fn label(name: &str) -> String {
    let spaced = name.replace(['_', '-'], " ");
    let mut chars = spaced.chars();
    chars.next().map(|c| c.to_uppercase().chain(chars).collect()).unwrap_or_default()
}

/// "A, B or C".
fn either(choices: &[&str]) -> String {
    match choices {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// What is wrong with a command's options, in words naming the option: the
/// first (in the command's order) required one left out or empty, or given
/// a value that is not one of its choices. `None` when none is (the
/// caller then says one of them isn't valid).
pub fn option_problem(params: &[Param<'_>], given: &[(&str, Given<'_>)]) -> Option<String> {
    params.iter().find_map(|p| {
        let value = given.iter().find(|(n, _)| *n == p.name).map(|(_, v)| v);
        let empty = match value {
            None => true,
            Some(Given::Text(t)) => t.trim().is_empty(),
            Some(_) => false,
        };
        if p.required && empty {
            return Some(if p.choices.is_empty() {
                format!("{} is empty.", label(p.name))
            } else {
                format!("Choose the {}: {}.", p.name.replace(['_', '-'], " "), either(&p.choices))
            });
        }
        match value {
            Some(Given::Integer(i)) if usize::try_from(*i).is_ok_and(|i| i < p.choices.len()) => None,
            Some(_) if !p.choices.is_empty() => {
                Some(format!("{} must be one of {}.", label(p.name), either(&p.choices)))
            }
            _ => None,
        }
    })
}

/// `option_problem` for the options a command interaction carried.
fn option_problem_of(ctx: poise::ApplicationContext<'_, Data, Error>) -> Option<String> {
    use serenity::all::ResolvedValue;
    let params: Vec<Param<'_>> = ctx
        .command()
        .parameters
        .iter()
        .map(|p| Param {
            name: p.name.as_ref(),
            required: p.required,
            choices: p.choices.iter().map(|c| c.name.as_ref()).collect(),
        })
        .collect();
    let given: Vec<(&str, Given<'_>)> = ctx
        .args
        .iter()
        .map(|o| {
            let v = match &o.value {
                ResolvedValue::String(s) => Given::Text(s),
                ResolvedValue::Integer(i) => Given::Integer(*i),
                _ => Given::Other,
            };
            (o.name, v)
        })
        .collect();
    option_problem(&params, &given)
}

#[cfg(test)]
mod tests {
    use super::{option_problem, Given, Param};

    fn params() -> Vec<Param<'static>> {
        vec![
            Param { name: "name", required: true, choices: vec![] },
            Param { name: "bucket", required: true, choices: vec!["Identity", "Industry", "Interest", "Impact"] },
            Param { name: "visibility", required: true, choices: vec!["Open", "Closed"] },
            Param { name: "description", required: false, choices: vec![] },
        ]
    }

    #[test]
    fn the_first_option_left_out_empty_or_off_its_choices_is_named() {
        let p = params();
        let all = |name: &'static str, bucket: Given<'static>| {
            vec![("name", Given::Text(name)), ("bucket", bucket), ("visibility", Given::Integer(1))]
        };
        assert_eq!(option_problem(&p, &all("Rust", Given::Integer(2))), None, "nothing wrong");
        assert_eq!(option_problem(&p, &all("  ", Given::Integer(2))).as_deref(), Some("Name is empty."));
        assert_eq!(option_problem(&p, &[]).as_deref(), Some("Name is empty."), "the first in order");
        let no_bucket = vec![("name", Given::Text("Rust")), ("visibility", Given::Integer(0))];
        assert_eq!(
            option_problem(&p, &no_bucket).as_deref(),
            Some("Choose the bucket: Identity, Industry, Interest or Impact.")
        );
        for off in [Given::Integer(4), Given::Integer(-1), Given::Text("Nowhere"), Given::Other] {
            assert_eq!(
                option_problem(&p, &all("Rust", off)).as_deref(),
                Some("Bucket must be one of Identity, Industry, Interest or Impact.")
            );
        }
        assert_eq!(
            option_problem(&p, &all("Rust", Given::Text(""))).as_deref(),
            Some("Choose the bucket: Identity, Industry, Interest or Impact."),
            "an empty choice is a missing one"
        );
        let expiry = [Param { name: "expiry_days", required: true, choices: vec![] }];
        assert_eq!(option_problem(&expiry, &[]).as_deref(), Some("Expiry days is empty."));
    }
}
