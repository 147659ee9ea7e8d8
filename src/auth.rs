//! Who may do what, as pure rules over plain facts: the acting member's
//! permissions and roles as Discord reports them, the server's configured
//! admin role, and what Postgres says of them (leads the group, is a
//! member). It knows nothing of the database or of `service::App`: callers
//! gather the facts (`service::access` for the admin role) and ask here.
//! Checked on the server side for every command and button, whatever
//! Discord's default permissions say.

use serenity::all::Permissions;

/// What a non-admin is told.
pub const NOT_ADMIN: &str =
    "Only admins can do this: you need the Manage Server permission or the server's Guildhall admin role.";

/// An admin (A1): Manage Server or Administrator, or the server's configured
/// admin role.
pub fn is_admin(perms: Permissions, roles: &[u64], admin_role: Option<u64>) -> bool {
    perms.administrator() || perms.manage_guild() || admin_role.is_some_and(|r| roles.contains(&r))
}

/// Who may decide any group's requests to join without leading it:
/// Manage Roles, or an admin.
pub fn decides_any_request(perms: Permissions, roles: &[u64], admin_role: Option<u64>) -> bool {
    perms.manage_roles() || is_admin(perms, roles, admin_role)
}

/// Who may decide one group's requests to join: its leaders, and those who
/// decide any group's (`decides_any_request`).
pub fn may_decide_request(decides_any: bool, leads_group: bool) -> bool {
    decides_any || leads_group
}

/// Who may decide lead applications (L2): admins only.
pub fn may_decide_lead(admin: bool) -> bool {
    admin
}

/// Who may moderate a group (remove, ban, unban, its invitation policy):
/// its leaders and admins.
pub fn may_moderate(admin: bool, leads_group: bool) -> bool {
    admin || leads_group
}

/// Who may see a group's stats (`/group stats`): its leaders and admins.
pub fn may_see_group_stats(admin: bool, leads_group: bool) -> bool {
    admin || leads_group
}

/// Who may invite people to a group: its leaders and admins; its members
/// too when the group lets members invite.
pub fn may_invite(admin: bool, leads_group: bool, members_can_invite: bool, is_member: bool) -> bool {
    admin || leads_group || (members_can_invite && is_member)
}

/// Who may revoke an invitation: whoever sent it, the group's leaders,
/// and admins.
pub fn may_revoke_invitation(admin: bool, is_inviter: bool, leads_group: bool) -> bool {
    admin || is_inviter || leads_group
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn admins_are_manage_server_administrator_or_the_admin_role() {
        let none = Permissions::empty();
        assert!(is_admin(Permissions::MANAGE_GUILD, &[], None));
        assert!(is_admin(Permissions::ADMINISTRATOR, &[], None));
        assert!(is_admin(none, &[1, 7], Some(7)));
        assert!(!is_admin(none, &[1, 7], Some(8)));
        assert!(!is_admin(none, &[1, 7], None));
        assert!(!is_admin(Permissions::MANAGE_ROLES | Permissions::MANAGE_CHANNELS, &[], None));
    }

    #[test]
    fn requests_are_decided_by_leaders_manage_roles_or_admins() {
        let none = Permissions::empty();
        assert!(decides_any_request(Permissions::MANAGE_ROLES, &[], None));
        assert!(decides_any_request(none, &[3], Some(3)));
        assert!(!decides_any_request(none, &[3], None));
        assert!(may_decide_request(false, true));
        assert!(may_decide_request(true, false));
        assert!(!may_decide_request(false, false));
    }

    #[test]
    fn group_stats_are_for_its_leaders_and_admins() {
        assert!(may_see_group_stats(true, false) && may_see_group_stats(false, true));
        assert!(!may_see_group_stats(false, false), "a member, or a leader of another group");
    }

    #[test]
    fn moderating_inviting_and_revoking() {
        assert!(may_moderate(true, false) && may_moderate(false, true) && !may_moderate(false, false));
        assert!(may_invite(true, false, false, false));
        assert!(may_invite(false, true, false, false));
        assert!(may_invite(false, false, true, true));
        assert!(!may_invite(false, false, true, false));
        assert!(!may_invite(false, false, false, true));
        assert!(may_revoke_invitation(false, true, false));
        assert!(may_revoke_invitation(false, false, true));
        assert!(may_revoke_invitation(true, false, false));
        assert!(!may_revoke_invitation(false, false, false));
    }
}
