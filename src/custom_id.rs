//! The custom-id codec (N2): every custom id a button, select or modal of
//! the bot carries, encoded as `gh:<kind>:...` and parsed strictly (a custom
//! id names a row or a page, never a permission; the handler looks it up
//! again). Used by the views that build components, by the commands that
//! open forms, and by `components`, which dispatches on it.

use crate::domain::group::Bucket;

/// Everything a component's custom id can say. Encoded as `gh:<kind>:...`,
/// always under Discord's 100-character limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CustomId {
    /// A page of the directory, for one bucket or all.
    DirectoryPage { bucket: Option<Bucket>, page: u32 },
    /// *Join group* on a Group Page.
    Join { group: i64 },
    /// *Leave group* on a Group Page.
    Leave { group: i64 },
    /// *Subscribe* / *Unsubscribe* on a Group Page.
    Subscribe { group: i64 },
    /// *Send request to join* (closed groups).
    Request { group: i64 },
    /// *I agree* to the guidelines shown, then join `group`; `prompt` is the
    /// interaction that showed them (only the newest prompt acts).
    Agree { group: i64, version: i32, prompt: u64 },
    /// *Cancel* on the guidelines.
    Disagree,
    /// A page of the audit trail (admins): the filter, the newest entry id
    /// the listing is pinned to, the page.
    AuditPage { group_id: Option<i64>, user_id: Option<u64>, upto: i64, page: u32 },
    /// The modal in which an admin edits the guidelines.
    GuidelinesModal,
    /// *Delete group* on a `/group delete` confirmation: `gh:gdel:<group id>`.
    GroupDelete { group_id: i64 },
    /// *Cancel* on the same confirmation: `gh:gdelx:<group id>`.
    GroupDeleteCancel { group_id: i64 },
    /// The `/lead apply` form for an existing group (a modal).
    LeadApplyForm { group: i64 },
    /// The `/lead apply` form proposing a new group in `bucket` (a modal).
    LeadProposeForm { bucket: Bucket },
    /// *Approve* on a lead application.
    LeadApprove { application: i64 },
    /// *Decline* on a lead application (opens the reason form).
    LeadDecline { application: i64 },
    /// The decline reason form (a modal).
    LeadDeclineForm { application: i64 },
    /// *Withdraw* in `/lead status`.
    LeadWithdraw { application: i64 },
    /// *Approve* on a request to join.
    RequestApprove { request: i64 },
    /// *Deny* on a request to join (opens the reason form).
    RequestDeny { request: i64 },
    /// The deny reason form (a modal).
    RequestDenyForm { request: i64 },
    /// *Withdraw* in `/requests`.
    RequestWithdraw { request: i64 },
    /// A page of `/subscriptions` (also *Cancel* on its confirmation).
    SubscriptionsPage { page: u32 },
    /// The multi-select on that page: the chosen subscriptions are deleted.
    SubscriptionsDelete { page: u32 },
    /// *Unsubscribe from all* (asks to confirm).
    SubscriptionsAll,
    /// *Unsubscribe from all* on the confirmation.
    SubscriptionsAllConfirm,
    /// *Accept* on an invitation (its DM card or `/invites`).
    InviteAccept { invitation: i64 },
    /// *Decline* on an invitation.
    InviteDecline { invitation: i64 },
    /// *Revoke* in `/invites` (the inviter, the group's leaders, admins).
    InviteRevoke { invitation: i64 },
    /// *I agree* to the guidelines shown, then accept the invitation.
    InviteAgree { invitation: i64, version: i32 },
    /// *Apply* on `/reconcile`'s dry run, repairing as `policy` would (the
    /// differences are found again when pressed, never read from the id).
    ReconcileApply { policy: crate::domain::reconcile::Policy },
}

impl CustomId {
    pub fn encode(&self) -> String {
        match self {
            CustomId::DirectoryPage { bucket, page } => {
                format!("gh:dir:{}:{page}", bucket.map(|b| b.key()).unwrap_or("all"))
            }
            CustomId::Join { group } => format!("gh:join:{group}"),
            CustomId::Leave { group } => format!("gh:leave:{group}"),
            CustomId::Subscribe { group } => format!("gh:sub:{group}"),
            CustomId::Request { group } => format!("gh:req:{group}"),
            CustomId::Agree { group, version, prompt } => format!("gh:agree:{group}:{version}:{prompt}"),
            CustomId::Disagree => "gh:disagree".to_string(),
            CustomId::AuditPage { group_id, user_id, upto, page } => {
                let opt = |v: Option<String>| v.unwrap_or_else(|| "-".to_string());
                format!(
                    "gh:aud:{}:{}:{upto}:{page}",
                    opt(group_id.map(|g| g.to_string())),
                    opt(user_id.map(|u| u.to_string()))
                )
            }
            CustomId::GuidelinesModal => "gh:cfg:guidelines".to_string(),
            CustomId::GroupDelete { group_id } => format!("gh:gdel:{group_id}"),
            CustomId::GroupDeleteCancel { group_id } => format!("gh:gdelx:{group_id}"),
            CustomId::LeadApplyForm { group } => format!("gh:lform:{group}"),
            CustomId::LeadProposeForm { bucket } => format!("gh:lprop:{}", bucket.key()),
            CustomId::LeadApprove { application } => format!("gh:lapp:{application}"),
            CustomId::LeadDecline { application } => format!("gh:ldec:{application}"),
            CustomId::LeadDeclineForm { application } => format!("gh:ldecm:{application}"),
            CustomId::LeadWithdraw { application } => format!("gh:lwd:{application}"),
            CustomId::RequestApprove { request } => format!("gh:rqa:{request}"),
            CustomId::RequestDeny { request } => format!("gh:rqd:{request}"),
            CustomId::RequestDenyForm { request } => format!("gh:rqdm:{request}"),
            CustomId::RequestWithdraw { request } => format!("gh:rqw:{request}"),
            CustomId::SubscriptionsPage { page } => format!("gh:subs:{page}"),
            CustomId::SubscriptionsDelete { page } => format!("gh:subsdel:{page}"),
            CustomId::SubscriptionsAll => "gh:suball".to_string(),
            CustomId::SubscriptionsAllConfirm => "gh:subally".to_string(),
            CustomId::InviteAccept { invitation } => format!("gh:inva:{invitation}"),
            CustomId::InviteDecline { invitation } => format!("gh:invd:{invitation}"),
            CustomId::InviteRevoke { invitation } => format!("gh:invr:{invitation}"),
            CustomId::InviteAgree { invitation, version } => format!("gh:invag:{invitation}:{version}"),
            CustomId::ReconcileApply { policy } => format!("gh:rec:{}", policy.key()),
        }
    }

    pub fn parse(s: &str) -> Option<CustomId> {
        let parts: Vec<&str> = s.split(':').collect();
        match parts.as_slice() {
            ["gh", "dir", bucket, page] => {
                let bucket = match *bucket {
                    "all" => None,
                    b => Some(Bucket::from_key(b)?),
                };
                Some(CustomId::DirectoryPage { bucket, page: page_number(page)? })
            }
            ["gh", "join", g] => Some(CustomId::Join { group: row_id(g)? }),
            ["gh", "leave", g] => Some(CustomId::Leave { group: row_id(g)? }),
            ["gh", "sub", g] => Some(CustomId::Subscribe { group: row_id(g)? }),
            ["gh", "req", g] => Some(CustomId::Request { group: row_id(g)? }),
            ["gh", "agree", g, v, p] => Some(CustomId::Agree {
                group: row_id(g)?,
                version: strict_number::<i32>(v).filter(|v| *v > 0)?,
                prompt: strict_number::<u64>(p).filter(|p| *p > 0)?,
            }),
            ["gh", "disagree"] => Some(CustomId::Disagree),
            ["gh", "aud", group, user, upto, page] => {
                let group_id = match *group {
                    "-" => None,
                    g => Some(strict_number::<i64>(g)?),
                };
                let user_id = match *user {
                    "-" => None,
                    u => Some(strict_number::<u64>(u)?),
                };
                let page = strict_number::<u32>(page).filter(|p| *p < 10_000)?;
                Some(CustomId::AuditPage { group_id, user_id, upto: strict_number(upto)?, page })
            }
            ["gh", "cfg", "guidelines"] => Some(CustomId::GuidelinesModal),
            ["gh", "gdel", id] => Some(CustomId::GroupDelete { group_id: row_id(id)? }),
            ["gh", "gdelx", id] => Some(CustomId::GroupDeleteCancel { group_id: row_id(id)? }),
            ["gh", "lform", g] => Some(CustomId::LeadApplyForm { group: row_id(g)? }),
            ["gh", "lprop", b] => Some(CustomId::LeadProposeForm { bucket: Bucket::from_key(b)? }),
            ["gh", "lapp", a] => Some(CustomId::LeadApprove { application: row_id(a)? }),
            ["gh", "ldec", a] => Some(CustomId::LeadDecline { application: row_id(a)? }),
            ["gh", "ldecm", a] => Some(CustomId::LeadDeclineForm { application: row_id(a)? }),
            ["gh", "lwd", a] => Some(CustomId::LeadWithdraw { application: row_id(a)? }),
            ["gh", "rqa", r] => Some(CustomId::RequestApprove { request: row_id(r)? }),
            ["gh", "rqd", r] => Some(CustomId::RequestDeny { request: row_id(r)? }),
            ["gh", "rqdm", r] => Some(CustomId::RequestDenyForm { request: row_id(r)? }),
            ["gh", "rqw", r] => Some(CustomId::RequestWithdraw { request: row_id(r)? }),
            ["gh", "subs", p] => Some(CustomId::SubscriptionsPage { page: page_number(p)? }),
            ["gh", "subsdel", p] => Some(CustomId::SubscriptionsDelete { page: page_number(p)? }),
            ["gh", "suball"] => Some(CustomId::SubscriptionsAll),
            ["gh", "subally"] => Some(CustomId::SubscriptionsAllConfirm),
            ["gh", "inva", i] => Some(CustomId::InviteAccept { invitation: row_id(i)? }),
            ["gh", "invd", i] => Some(CustomId::InviteDecline { invitation: row_id(i)? }),
            ["gh", "invr", i] => Some(CustomId::InviteRevoke { invitation: row_id(i)? }),
            ["gh", "invag", i, v] => Some(CustomId::InviteAgree {
                invitation: row_id(i)?,
                version: strict_number::<i32>(v).filter(|v| *v > 0)?,
            }),
            ["gh", "rec", p] => {
                Some(CustomId::ReconcileApply { policy: crate::domain::reconcile::Policy::from_key(p)? })
            }
            _ => None,
        }
    }
}

/// A database row id in a custom id: a positive integer, nothing else.
pub fn row_id(s: &str) -> Option<i64> {
    strict_number::<i64>(s).filter(|n| *n > 0)
}

/// A page number in a custom id: strict, below 10,000.
fn page_number(s: &str) -> Option<u32> {
    strict_number::<u32>(s).filter(|p| *p < 10_000)
}

/// A number written the one way `encode` writes it: ASCII digits, no sign,
/// no leading zero, in range.
fn strict_number<T: std::str::FromStr>(s: &str) -> Option<T> {
    let canonical = !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()) && (s == "0" || !s.starts_with('0'));
    if canonical {
        s.parse().ok()
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn custom_ids_round_trip_and_stay_short() {
        for id in [
            CustomId::DirectoryPage { bucket: None, page: 0 },
            CustomId::DirectoryPage { bucket: Some(Bucket::Impact), page: 9999 },
            CustomId::Join { group: i64::MAX },
            CustomId::Leave { group: 1 },
            CustomId::Subscribe { group: 2 },
            CustomId::Request { group: 3 },
            CustomId::Agree { group: 4, version: 7, prompt: u64::MAX },
            CustomId::Disagree,
            CustomId::AuditPage { group_id: None, user_id: None, upto: 0, page: 0 },
            CustomId::AuditPage { group_id: Some(i64::MAX), user_id: Some(u64::MAX), upto: i64::MAX, page: 9999 },
            CustomId::GuidelinesModal,
            CustomId::GroupDelete { group_id: 1 },
            CustomId::GroupDeleteCancel { group_id: i64::MAX },
            CustomId::LeadApplyForm { group: 5 },
            CustomId::LeadProposeForm { bucket: Bucket::Identity },
            CustomId::LeadApprove { application: i64::MAX },
            CustomId::LeadDecline { application: 6 },
            CustomId::LeadDeclineForm { application: 7 },
            CustomId::LeadWithdraw { application: 8 },
            CustomId::RequestApprove { request: i64::MAX },
            CustomId::RequestDeny { request: 9 },
            CustomId::RequestDenyForm { request: 10 },
            CustomId::RequestWithdraw { request: 11 },
            CustomId::SubscriptionsPage { page: 0 },
            CustomId::SubscriptionsDelete { page: 9999 },
            CustomId::SubscriptionsAll,
            CustomId::SubscriptionsAllConfirm,
            CustomId::InviteAccept { invitation: i64::MAX },
            CustomId::InviteDecline { invitation: 1 },
            CustomId::InviteRevoke { invitation: 2 },
            CustomId::InviteAgree { invitation: i64::MAX, version: i32::MAX },
            CustomId::ReconcileApply { policy: crate::domain::reconcile::Policy::Follow },
            CustomId::ReconcileApply { policy: crate::domain::reconcile::Policy::Report },
        ] {
            let s = id.encode();
            assert!(s.len() <= 100);
            assert_eq!(CustomId::parse(&s), Some(id));
        }
    }

    #[test]
    fn forged_or_malformed_ids_are_refused() {
        for bad in [
            // Second spellings of real ids (found by the property below).
            "gh:agree:1:01:5",
            "gh:agree:1:+7:5",
            "gh:agree:1:7:05",
            // A prompt from before prompts were named.
            "gh:agree:1:7",
            "gh:dir:all:01",
            "gh:dir:interest:+1",
            "",
            "gh",
            "gh:dir",
            "gh:dir:all",
            "gh:dir:nope:1",
            "gh:dir:all:-1",
            "gh:dir:all:99999999999",
            "xx:dir:all:1",
            "gh:dir:all:1:extra",
            "gh:aud:-:-:5",
            "gh:aud:x:-:5:0",
            "gh:aud:-:+7:5:0",
            "gh:aud:-:-:05:0",
            "gh:aud:-:-:5:-1",
            "gh:aud:-:-:5:10000",
            "gh:aud:-:-:5: 1",
            "gh:aud:1:2:3:4:5",
            "gh:aud:-:18446744073709551616:5:0",
            "gh:aud::-:5:0",
            "gh:cfg:guidelines:1",
            "gh:cfg:other",
            "gh:gdel",
            "gh:gdel:",
            "gh:gdel:0",
            "gh:gdel:-4",
            "gh:gdel:+4",
            "gh:gdel:4x",
            "gh:gdel:99999999999999999999",
            "gh:gdel:4:5",
            "gh:gdelx:abc",
            "gh:lapp:",
            "gh:lapp:0",
            "gh:lapp:-3",
            "gh:lapp:1e3",
            "gh:lapp:99999999999999999999",
            "gh:lapp:1:2",
            "gh:lprop:nope",
            "gh:ldecm:x",
            "gh:rqa:",
            "gh:rqa:0",
            "gh:rqa:-1",
            "gh:rqa:01",
            "gh:rqd:1:2",
            "gh:rqdm:x",
            "gh:rqw:99999999999999999999",
            "gh:subs:",
            "gh:subs:-1",
            "gh:subs:01",
            "gh:subs:10000",
            "gh:subsdel:x",
            "gh:subsdel:1:2",
            "gh:suball:1",
            "gh:subally:x",
            "gh:inva:",
            "gh:inva:0",
            "gh:inva:-1",
            "gh:inva:01",
            "gh:inva:1:2",
            "gh:invd:x",
            "gh:invr:99999999999999999999",
            "gh:invag:1",
            "gh:invag:1:0",
            "gh:invag:1:-1",
            "gh:invag:0:1",
            "gh:invag:1:1:1",
            "gh:rec",
            "gh:rec:",
            "gh:rec:Follow",
            "gh:rec:everything",
            "gh:rec:follow:1",
        ] {
            assert_eq!(CustomId::parse(bad), None, "{bad:?}");
        }
    }

    mod properties {
        use super::*;
        use crate::domain::reconcile::Policy;
        use proptest::prelude::*;

        fn row() -> impl Strategy<Value = i64> {
            1..=i64::MAX
        }
        fn page() -> impl Strategy<Value = u32> {
            0u32..10_000
        }
        fn version() -> impl Strategy<Value = i32> {
            1..=i32::MAX
        }
        fn bucket() -> impl Strategy<Value = Bucket> {
            proptest::sample::select(Bucket::ALL.to_vec())
        }

        /// Every custom id the bot can make.
        fn any_id() -> impl Strategy<Value = CustomId> {
            prop_oneof![
                (proptest::option::of(bucket()), page())
                    .prop_map(|(bucket, page)| CustomId::DirectoryPage { bucket, page }),
                row().prop_map(|group| CustomId::Join { group }),
                row().prop_map(|group| CustomId::Leave { group }),
                row().prop_map(|group| CustomId::Subscribe { group }),
                row().prop_map(|group| CustomId::Request { group }),
                (row(), version(), 1..=u64::MAX).prop_map(|(group, version, prompt)| CustomId::Agree {
                    group,
                    version,
                    prompt
                }),
                Just(CustomId::Disagree),
                (proptest::option::of(0..=i64::MAX), proptest::option::of(any::<u64>()), 0..=i64::MAX, page())
                    .prop_map(|(group_id, user_id, upto, page)| CustomId::AuditPage { group_id, user_id, upto, page }),
                Just(CustomId::GuidelinesModal),
                row().prop_map(|group_id| CustomId::GroupDelete { group_id }),
                row().prop_map(|group_id| CustomId::GroupDeleteCancel { group_id }),
                row().prop_map(|group| CustomId::LeadApplyForm { group }),
                bucket().prop_map(|bucket| CustomId::LeadProposeForm { bucket }),
                row().prop_map(|application| CustomId::LeadApprove { application }),
                row().prop_map(|application| CustomId::LeadDecline { application }),
                row().prop_map(|application| CustomId::LeadDeclineForm { application }),
                row().prop_map(|application| CustomId::LeadWithdraw { application }),
                row().prop_map(|request| CustomId::RequestApprove { request }),
                row().prop_map(|request| CustomId::RequestDeny { request }),
                row().prop_map(|request| CustomId::RequestDenyForm { request }),
                row().prop_map(|request| CustomId::RequestWithdraw { request }),
                page().prop_map(|page| CustomId::SubscriptionsPage { page }),
                page().prop_map(|page| CustomId::SubscriptionsDelete { page }),
                Just(CustomId::SubscriptionsAll),
                Just(CustomId::SubscriptionsAllConfirm),
                row().prop_map(|invitation| CustomId::InviteAccept { invitation }),
                row().prop_map(|invitation| CustomId::InviteDecline { invitation }),
                row().prop_map(|invitation| CustomId::InviteRevoke { invitation }),
                (row(), version()).prop_map(|(invitation, version)| CustomId::InviteAgree { invitation, version }),
                proptest::sample::select(Policy::ALL.to_vec()).prop_map(|policy| CustomId::ReconcileApply { policy }),
            ]
        }

        /// Strings near the real ones: a real id with one part respelled
        /// (signs, leading zeros, blanks, overflow, other words), a part
        /// added or dropped.
        fn near_id() -> impl Strategy<Value = String> {
            let spelling = prop_oneof![
                "[0-9]{1,3}".prop_map(|d| format!("0{d}")),
                "[0-9]{1,3}".prop_map(|d| format!("+{d}")),
                "[0-9]{1,3}".prop_map(|d| format!("-{d}")),
                "[0-9]{1,3}".prop_map(|d| format!(" {d}")),
                "[0-9]{1,3}".prop_map(|d| format!("{d} ")),
                Just("0".to_string()),
                Just(String::new()),
                Just("99999999999999999999".to_string()),
                Just("1e3".to_string()),
                "[a-z-]{1,8}",
            ];
            (any_id(), spelling, any::<prop::sample::Index>(), 0u8..3).prop_map(|(id, spelling, at, how)| {
                let s = id.encode();
                let mut parts: Vec<String> = s.split(':').map(str::to_string).collect();
                let n = at.index(parts.len());
                match how {
                    0 => parts[n] = spelling,
                    1 => parts.insert(n + 1, spelling),
                    _ => {
                        parts.remove(n);
                    }
                }
                parts.join(":")
            })
        }

        proptest! {
            // Cheap cases: enough of them to reach every kind of id with
            // every respelling of each part.
            #![proptest_config(ProptestConfig::with_cases(8192))]

            #[test]
            fn every_id_round_trips_within_discords_limit(id in any_id()) {
                let s = id.encode();
                prop_assert!(s.len() <= 100, "{} is {} characters", s, s.len());
                prop_assert_eq!(CustomId::parse(&s), Some(id));
            }

            /// Any string is refused or names exactly one id, written the one
            /// way the bot writes it: no second spelling of an id (signs,
            /// leading zeros) gets through, and nothing panics.
            #[test]
            fn any_string_is_refused_or_is_an_ids_one_spelling(s in prop_oneof![near_id(), ".{0,120}"]) {
                if let Some(id) = CustomId::parse(&s) {
                    prop_assert_eq!(id.encode(), s);
                }
            }
        }
    }
}
