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

/// What a person reads while the database can't be reached (N6: answered
/// in time all the same, since the pool gives up within `db::ACQUIRE_TIMEOUT`).
pub const DATABASE_DOWN: &str =
    "I can't reach my database right now, so nothing was changed. Please try again in a moment.";

/// What a user is told for an error.
pub fn message_for(e: &Error) -> String {
    if let Some(u) = e.downcast_ref::<UserError>() {
        return u.0.clone();
    }
    if database_unreachable(e.as_ref()) {
        return DATABASE_DOWN.to_string();
    }
    GENERIC.to_string()
}

/// Whether an error (or one of its sources) is the database being out of
/// reach: no connection in time, or a connection lost.
fn database_unreachable(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(err) = cur {
        if let Some(s) = err.downcast_ref::<sqlx::Error>() {
            return unreachable_kind(s);
        }
        cur = err.source();
    }
    false
}

fn unreachable_kind(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::PoolTimedOut | sqlx::Error::PoolClosed | sqlx::Error::Io(_) | sqlx::Error::WorkerCrashed)
}

/// A database error met behind a borrowed use-case error: the database out
/// of reach is said as such ([`DATABASE_DOWN`]); anything else is internal.
pub fn from_database(e: &sqlx::Error) -> Error {
    if unreachable_kind(e) {
        user(DATABASE_DOWN)
    } else {
        format!("database: {e}").into()
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
            crate::replies::refuse_command(ctx, "One of the options isn't valid. Check them and try again.").await;
            record_command(ctx, Outcome::BadInput).await;
        }
        E::CommandStructureMismatch { ctx, description, .. } => {
            // An option value Discord let through that the command can't
            // read (a choice that is not one of its choices): answer anyway.
            tracing::debug!(%description, "an option didn't match the command");
            let ctx = poise::Context::Application(ctx);
            crate::replies::refuse_command(ctx, "One of the options isn't valid. Check them and try again.").await;
            record_command(ctx, Outcome::BadInput).await;
        }
        other => {
            if let Err(e) = poise::builtins::on_error(other).await {
                tracing::warn!(error = %e, "error while handling an error");
            }
        }
    }
}
