//! What a member reads about a membership change whose Discord side the
//! applier makes (N6): the outcome when it came in time, "Discord is
//! applying it" when the queue is behind, and the outcome told later (an
//! edit of the answer while its token lives, else a DM).

/// A join (or an accepted invitation) that Discord has applied.
pub fn joined(name: &str, channel: Option<u64>) -> String {
    let channel = channel.map(|c| format!(" Its channel is <#{c}>.")).unwrap_or_default();
    format!("You joined **{name}**.{channel} You're subscribed to the group, so you'll hear about new topics.")
}

/// A join decided and committed, its role still in Discord's queue.
pub fn joining(name: &str, eta_seconds: u64) -> String {
    format!(
        "You're in **{name}**. Discord is applying your role; your channel appears in about {}. I'll update this message when it's done.",
        seconds(eta_seconds)
    )
}

/// A leave whose role Discord has taken.
pub fn left(name: &str) -> String {
    format!("You left **{name}**. Your subscription to the group was removed too.")
}

/// A leave decided, its role still in Discord's queue.
pub fn leaving(name: &str, eta_seconds: u64) -> String {
    format!(
        "You left **{name}**. Discord is taking your role away; your channel goes in about {}.",
        seconds(eta_seconds)
    )
}

/// Why Discord would not make the change, as a member reads it.
pub fn refused(name: &str) -> String {
    format!(
        "I can't change the role of **{name}** right now because of how the server's roles are set up. Nothing was changed; admins can see why in /audit."
    )
}

/// A grant Discord refused for good after the decision was told (an
/// approval, an accepted invitation, a join answered "applying"): the
/// membership was undone.
pub fn grant_undone(name: &str) -> String {
    format!(
        "Error: Discord refused to give you the role of **{name}**, so you're not a member after all. Admins can see why in /audit; please try again later."
    )
}

/// A leave Discord refused for good after it was told: still a member.
pub fn revoke_undone(name: &str) -> String {
    format!(
        "Error: Discord refused to take away the role of **{name}**, so you're still a member. Admins can see why in /audit."
    )
}

/// "3 seconds", "about a minute", "12 minutes".
pub fn seconds(s: u64) -> String {
    match s {
        0..=1 => "a second".into(),
        2..=59 => format!("{s} seconds"),
        60..=89 => "a minute".into(),
        _ => format!("{} minutes", s.div_ceil(60)),
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn waits_read_as_people_say_them() {
        assert_eq!(super::seconds(1), "a second");
        assert_eq!(super::seconds(17), "17 seconds");
        assert_eq!(super::seconds(70), "a minute");
        assert_eq!(super::seconds(1000), "17 minutes");
    }
}
