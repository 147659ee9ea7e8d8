//! Validation of text users type: names and free text (N3).

/// Characters that Discord renders as markdown or mentions in a name.
const NAME_FORBIDDEN: &[char] = &['@', '#', '<', '>', '*', '_', '~', '|', '`', '\\', '[', ']'];

/// Invisible or direction-changing characters that make names look alike.
fn is_invisible(c: char) -> bool {
    matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2060}'..='\u{2064}' | '\u{FEFF}' | '\u{00AD}')
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("The {field} can't be empty.")]
    Empty { field: &'static str },
    #[error("The {field} is {len} characters long; at most {max} are allowed.")]
    TooLong { field: &'static str, len: usize, max: usize },
    #[error("The {field} can't contain mentions (@, #, <, >), markdown characters (* _ ~ | ` \\ [ ]) or invisible characters.")]
    Forbidden { field: &'static str },
    #[error("The {field} can't contain control characters.")]
    Control { field: &'static str },
}

/// A group name: 1 to 100 characters after trimming, single spaces inside,
/// no mentions, markdown, control or invisible characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupName(String);

impl GroupName {
    pub const MAX: usize = 100;

    pub fn parse(raw: &str) -> Result<GroupName, TextError> {
        let field = "group name";
        if raw.chars().any(|c| c.is_control()) {
            return Err(TextError::Control { field });
        }
        let name = raw.split_whitespace().collect::<Vec<_>>().join(" ");
        if name.is_empty() {
            return Err(TextError::Empty { field });
        }
        let len = name.chars().count();
        if len > Self::MAX {
            return Err(TextError::TooLong { field, len, max: Self::MAX });
        }
        if name.chars().any(|c| NAME_FORBIDDEN.contains(&c) || is_invisible(c)) {
            return Err(TextError::Forbidden { field });
        }
        Ok(GroupName(name))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// A Discord channel name for this group: lower case, dashes for spaces.
    pub fn channel_slug(&self) -> String {
        let mut out = String::new();
        for c in self.0.chars() {
            if c.is_alphanumeric() {
                out.extend(c.to_lowercase());
            } else if !out.ends_with('-') && !out.is_empty() {
                out.push('-');
            }
        }
        // Lower case can be longer than the name (İ is i + a combining dot):
        // Discord allows 100 characters in a channel name.
        let out: String = out.chars().take(Self::MAX).collect();
        let out = out.trim_end_matches('-').to_string();
        if out.is_empty() {
            "group".to_string()
        } else {
            out
        }
    }
}

/// Free text shown to others (descriptions, reasons): bounded, no control
/// characters but new lines. Mentions are allowed in the text; they never
/// ping because every message goes out with empty allowed mentions (A6).
pub fn free_text(raw: &str, field: &'static str, max: usize) -> Result<String, TextError> {
    if raw.chars().any(|c| c.is_control() && c != '\n') || raw.chars().any(is_invisible) {
        return Err(TextError::Control { field });
    }
    let text = raw.trim().to_string();
    let len = text.chars().count();
    if len > max {
        return Err(TextError::TooLong { field, len, max });
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(GroupName::parse("  Rust   Lovers ").unwrap().as_str(), "Rust Lovers");
        assert!(matches!(GroupName::parse("   "), Err(TextError::Empty { .. })));
        assert!(GroupName::parse(&"a".repeat(100)).is_ok());
        assert!(matches!(GroupName::parse(&"a".repeat(101)), Err(TextError::TooLong { len: 101, .. })));
        // length counts characters, not bytes
        assert!(GroupName::parse(&"é".repeat(100)).is_ok());
    }

    #[test]
    fn names_refuse_mentions_markdown_and_control_characters() {
        for bad in ["@everyone", "<@123>", "a*b*", "x_y", "~~s~~", "a|b", "`c`", "#chan", "a\u{200B}b", "a\u{202E}b"] {
            assert!(GroupName::parse(bad).is_err(), "{bad:?} should be refused");
        }
        assert!(matches!(GroupName::parse("a\u{7}b"), Err(TextError::Control { .. })));
        assert!(matches!(GroupName::parse("a\nb"), Err(TextError::Control { .. })));
        for good in ["C++ & Rust", "Women in Tech", "R&D", "Café Ünïcode", "Data-Science 2026!"] {
            assert!(GroupName::parse(good).is_ok(), "{good:?} should be accepted");
        }
    }

    #[test]
    fn channel_slugs() {
        assert_eq!(GroupName::parse("Rust Lovers!").unwrap().channel_slug(), "rust-lovers");
        assert_eq!(GroupName::parse("C++ & Rust").unwrap().channel_slug(), "c-rust");
        assert_eq!(GroupName::parse("!!!").unwrap().channel_slug(), "group");
    }

    use proptest::prelude::*;

    /// Names drawn from what people type: letters of several scripts,
    /// digits, spaces, punctuation, and the characters that must be refused.
    fn name_chars() -> impl Strategy<Value = String> {
        let pool: Vec<char> =
            "aZé İıßΣσ中文😀 -!&+.,'1 \t@#<>*_~|`\\[]\u{200B}\u{202E}\u{FEFF}\u{7}\n".chars().collect();
        proptest::collection::vec(proptest::sample::select(pool), 0..130).prop_map(|v| v.into_iter().collect())
    }

    proptest! {
        #[test]
        fn any_name_is_accepted_clean_or_refused_never_a_panic(raw in name_chars()) {
            match GroupName::parse(&raw) {
                Ok(n) => {
                    let s = n.as_str();
                    let len = s.chars().count();
                    prop_assert!((1..=GroupName::MAX).contains(&len), "{} characters", len);
                    prop_assert!(!s.chars().any(|c| c.is_control() || is_invisible(c) || NAME_FORBIDDEN.contains(&c)));
                    prop_assert_eq!(s.trim(), s);
                    prop_assert!(!s.contains("  "));
                    // Accepting is stable: the stored name parses to itself.
                    prop_assert_eq!(GroupName::parse(s).unwrap(), n.clone());
                    let slug = n.channel_slug();
                    prop_assert!((1..=100).contains(&slug.chars().count()), "slug {:?}", slug);
                    prop_assert!(!slug.starts_with('-') && !slug.ends_with('-'));
                }
                Err(TextError::TooLong { len, max, .. }) => prop_assert!(len > max),
                Err(_) => {}
            }
        }

        #[test]
        fn names_are_bounded_in_characters_not_bytes(c in proptest::sample::select(vec!['a', 'é', '中', '😀']), n in 1usize..130) {
            let raw: String = std::iter::repeat_n(c, n).collect();
            prop_assert_eq!(GroupName::parse(&raw).is_ok(), n <= GroupName::MAX);
        }

        #[test]
        fn free_text_is_bounded_or_refused(raw in ".{0,40}", max in 0usize..30) {
            match free_text(&raw, "description", max) {
                Ok(t) => {
                    prop_assert!(t.chars().count() <= max);
                    prop_assert!(!t.chars().any(|c| (c.is_control() && c != '\n') || is_invisible(c)));
                    prop_assert_eq!(t.trim(), t.as_str());
                }
                Err(TextError::TooLong { len, max: m, .. }) => prop_assert!(len > m),
                Err(TextError::Control { .. }) => {
                    prop_assert!(raw.chars().any(|c| (c.is_control() && c != '\n') || is_invisible(c)));
                }
                Err(e) => prop_assert!(false, "unexpected {e:?}"),
            }
        }
    }

    #[test]
    fn a_slug_fits_discords_100_characters_even_when_lower_case_grows() {
        let n = GroupName::parse(&"İ".repeat(100)).unwrap();
        assert!(n.channel_slug().chars().count() <= 100);
    }

    #[test]
    fn free_text_keeps_new_lines_and_bounds_length() {
        assert_eq!(free_text(" a\nb ", "description", 10).unwrap(), "a\nb");
        assert!(free_text("a\u{0}b", "description", 10).is_err());
        assert!(matches!(free_text(&"x".repeat(11), "description", 10), Err(TextError::TooLong { .. })));
    }
}
