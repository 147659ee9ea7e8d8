//! Role safety (A3): which roles the bot may hand out as a group role.
//!
//! Pure rules over plain numbers, checked when a role is adopted or created
//! and again before every grant.

/// Permission bits that a group role must never carry.
pub const ELEVATED: u64 = (1 << 3)  // Administrator
    | (1 << 5)  // Manage Server
    | (1 << 28) // Manage Roles
    | (1 << 4)  // Manage Channels
    | (1 << 13) // Manage Messages
    | (1 << 34) // Manage Threads
    | (1 << 29) // Manage Webhooks
    | (1 << 30) // Manage Guild Expressions
    | (1 << 1)  // Kick Members
    | (1 << 2)  // Ban Members
    | (1 << 40) // Moderate Members
    | (1 << 17); // Mention Everyone

const NAMES: [(u64, &str); 12] = [
    (1 << 3, "Administrator"),
    (1 << 5, "Manage Server"),
    (1 << 28, "Manage Roles"),
    (1 << 4, "Manage Channels"),
    (1 << 13, "Manage Messages"),
    (1 << 34, "Manage Threads"),
    (1 << 29, "Manage Webhooks"),
    (1 << 30, "Manage Expressions"),
    (1 << 1, "Kick Members"),
    (1 << 2, "Ban Members"),
    (1 << 40, "Moderate Members"),
    (1 << 17, "Mention Everyone"),
];

/// What the checks need to know about a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleFacts {
    pub id: u64,
    pub guild_id: u64,
    pub name: String,
    pub permissions: u64,
    pub position: i64,
    pub managed: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RoleProblem {
    #[error("@everyone can't be a group role.")]
    Everyone,
    #[error("The role {0} is managed by an integration (a bot or a subscription), so it can't be a group role.")]
    Managed(String),
    #[error("The role {name} carries elevated permissions ({perms}); a group role must not. Remove them from the role first.")]
    Elevated { name: String, perms: String },
    #[error("The role {0} is not below my highest role, so Discord won't let me grant it. Move my role above {0} in Server Settings → Roles.")]
    AboveBot(String),
    #[error("The role {0} is not below your highest role, so you can't make it a group role.")]
    AboveActor(String),
}

/// The names of the elevated permissions in `perms`, comma-separated.
pub fn elevated_names(perms: u64) -> String {
    NAMES.iter().filter(|(b, _)| perms & b != 0).map(|(_, n)| *n).collect::<Vec<_>>().join(", ")
}

/// Whether the bot may grant `role` at all: not @everyone, not managed, no
/// elevated permission, strictly below the bot's highest role.
pub fn grantable(role: &RoleFacts, bot_top: i64) -> Result<(), RoleProblem> {
    if role.id == role.guild_id {
        return Err(RoleProblem::Everyone);
    }
    if role.managed {
        return Err(RoleProblem::Managed(role.name.clone()));
    }
    if role.permissions & ELEVATED != 0 {
        return Err(RoleProblem::Elevated { name: role.name.clone(), perms: elevated_names(role.permissions) });
    }
    if role.position >= bot_top {
        return Err(RoleProblem::AboveBot(role.name.clone()));
    }
    Ok(())
}

/// Adoption by an admin also needs the role below the admin's own highest
/// role (the server owner is above every role).
pub fn adoptable(role: &RoleFacts, bot_top: i64, actor_top: Option<i64>) -> Result<(), RoleProblem> {
    grantable(role, bot_top)?;
    if let Some(top) = actor_top {
        if role.position >= top {
            return Err(RoleProblem::AboveActor(role.name.clone()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(perms: u64, position: i64) -> RoleFacts {
        RoleFacts { id: 5, guild_id: 1, name: "Rust".into(), permissions: perms, position, managed: false }
    }

    #[test]
    fn plain_roles_below_the_bot_are_grantable() {
        assert_eq!(grantable(&role(0, 1), 3), Ok(()));
        assert_eq!(grantable(&role(1 << 10 | 1 << 11, 2), 3), Ok(()));
    }

    #[test]
    fn everyone_managed_elevated_and_high_roles_are_not() {
        let mut everyone = role(0, 0);
        everyone.id = 1;
        assert_eq!(grantable(&everyone, 3), Err(RoleProblem::Everyone));
        let mut managed = role(0, 1);
        managed.managed = true;
        assert!(matches!(grantable(&managed, 3), Err(RoleProblem::Managed(_))));
        for bit in [3, 5, 28, 4, 13, 34, 29, 30, 1, 2, 40, 17] {
            assert!(matches!(grantable(&role(1 << bit, 1), 3), Err(RoleProblem::Elevated { .. })), "bit {bit}");
        }
        let e = grantable(&role(1 << 3 | 1 << 17, 1), 3).unwrap_err().to_string();
        assert!(e.contains("Administrator, Mention Everyone"), "{e}");
        assert!(matches!(grantable(&role(0, 3), 3), Err(RoleProblem::AboveBot(_))));
        assert!(grantable(&role(0, 3), 3).unwrap_err().to_string().contains("Move my role above Rust"));
    }

    #[test]
    fn adoption_also_needs_the_role_below_the_admin() {
        assert_eq!(adoptable(&role(0, 2), 5, None), Ok(()));
        assert!(matches!(adoptable(&role(0, 2), 5, Some(2)), Err(RoleProblem::AboveActor(_))));
        assert_eq!(adoptable(&role(0, 2), 5, Some(3)), Ok(()));
    }
}
