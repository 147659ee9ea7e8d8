//! The persistent directory message (G4): one embed per bucket listing its
//! active groups with their badge and member count, within Discord's limits
//! (a description holds 4096 characters, a message's embeds 6000 together,
//! ten embeds per message). A bucket too long for its share ends with "and N
//! more, see /groups".

use crate::domain::group::{Bucket, Listed, Visibility};
use serenity::all::{CreateEmbed, Timestamp};

/// The message's text above the embeds.
pub const CONTENT: &str =
    "**Group directory**: 🔓 open groups anyone can join, 🔒 closed groups you can ask to join. Browse them with /groups.";

/// Discord's limits (docs: message.md, "Embed Limits").
pub const DESCRIPTION_MAX: usize = 4096;
pub const EMBEDS_TOTAL_MAX: usize = 6000;
/// Kept free under the total, for safety.
const MARGIN: usize = 100;

/// One bucket's section.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub title: String,
    pub body: String,
}

/// How Discord counts: conservatively in UTF-16 units (an emoji is two).
pub fn len(s: &str) -> usize {
    s.encode_utf16().count()
}

fn badge(v: Visibility) -> &'static str {
    match v {
        Visibility::Open => "🔓",
        Visibility::Closed => "🔒",
    }
}

fn line(g: &Listed) -> String {
    let members = if g.member_count == 1 { "1 member".to_string() } else { format!("{} members", g.member_count) };
    format!("{} **{}** · {}", badge(g.visibility), g.name, members)
}

fn more(n: usize) -> String {
    format!("… and {n} more, see /groups")
}

/// The lines of a bucket that fit in `budget`, then "and N more".
fn fit(lines: &[String], budget: usize) -> String {
    let full = lines.join("\n");
    if len(&full) <= budget {
        return full;
    }
    let mut out = String::new();
    for (i, l) in lines.iter().enumerate() {
        let rest = lines.len() - i - 1;
        let sep = if out.is_empty() { 0 } else { 1 };
        // room for this line, and for the "more" line after it if any remain
        let tail = if rest > 0 { 1 + len(&more(rest)) } else { 0 };
        if len(&out) + sep + len(l) + tail > budget {
            let suffix = more(lines.len() - i);
            return if out.is_empty() { suffix } else { format!("{out}\n{suffix}") };
        }
        if sep == 1 {
            out.push('\n');
        }
        out.push_str(l);
    }
    out
}

/// The four sections, in bucket order, sharing the 6000-character budget:
/// small buckets take what they need, the rest is split among large ones.
pub fn sections(groups: &[Listed]) -> Vec<Section> {
    let per_bucket: Vec<(Bucket, Vec<String>)> =
        Bucket::ALL.into_iter().map(|b| (b, groups.iter().filter(|g| g.bucket == b).map(line).collect())).collect();
    let titles: Vec<String> = per_bucket
        .iter()
        .map(|(b, lines)| match lines.len() {
            1 => format!("{} · 1 group", b.label()),
            n => format!("{} · {n} groups", b.label()),
        })
        .collect();
    let mut budget = EMBEDS_TOTAL_MAX - MARGIN - titles.iter().map(|t| len(t)).sum::<usize>();
    let needs: Vec<usize> = per_bucket.iter().map(|(_, lines)| len(&lines.join("\n")).max(len(EMPTY))).collect();
    let mut order: Vec<usize> = (0..needs.len()).collect();
    order.sort_by_key(|&i| needs[i]);
    let mut shares = vec![0; needs.len()];
    for (k, &i) in order.iter().enumerate() {
        let fair = budget / (order.len() - k);
        shares[i] = needs[i].min(fair).min(DESCRIPTION_MAX);
        budget -= shares[i];
    }
    per_bucket
        .iter()
        .zip(titles)
        .zip(shares)
        .map(|(((_, lines), title), share)| Section {
            title,
            body: if lines.is_empty() { EMPTY.to_string() } else { fit(lines, share) },
        })
        .collect()
}

const EMPTY: &str = "No groups yet.";

/// The message's embeds, stamped with the time of this update.
pub fn render(groups: &[Listed]) -> Vec<CreateEmbed> {
    let now = Timestamp::now();
    sections(groups).into_iter().map(|s| CreateEmbed::new().title(s.title).description(s.body).timestamp(now)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn g(id: i64, name: &str, bucket: Bucket, visibility: Visibility, members: i64) -> Listed {
        Listed { id, name: name.to_string(), bucket, visibility, member_count: members }
    }

    #[test]
    fn each_bucket_lists_its_groups_with_badge_and_member_count() {
        let groups = [
            g(1, "Women in Tech", Bucket::Identity, Visibility::Open, 1),
            g(2, "Rust", Bucket::Interest, Visibility::Open, 12),
            g(3, "Founders", Bucket::Interest, Visibility::Closed, 0),
        ];
        let s = sections(&groups);
        assert_eq!(s.len(), 4);
        assert_eq!(s[0].title, "Identity · 1 group");
        assert_eq!(s[0].body, "🔓 **Women in Tech** · 1 member");
        assert_eq!(s[1].body, "No groups yet.");
        assert_eq!(s[2].title, "Interest · 2 groups");
        assert_eq!(s[2].body, "🔓 **Rust** · 12 members\n🔒 **Founders** · 0 members");
        assert_eq!(s[3].title, "Impact · 0 groups");
    }

    fn total(s: &[Section]) -> usize {
        s.iter().map(|x| len(&x.title) + len(&x.body)).sum()
    }

    #[test]
    fn a_huge_directory_stays_within_discords_limits_and_says_how_many_are_left_out() {
        let name = |i: usize| format!("{i:03} {}", "é".repeat(96));
        let mut groups = Vec::new();
        for (b, n) in [(Bucket::Identity, 3), (Bucket::Industry, 200), (Bucket::Interest, 120), (Bucket::Impact, 0)] {
            for i in 0..n {
                groups.push(g(groups.len() as i64, &name(i), b, Visibility::Closed, 1000));
            }
        }
        let s = sections(&groups);
        assert!(total(&s) <= EMBEDS_TOTAL_MAX, "{}", total(&s));
        assert!(s.iter().all(|x| len(&x.body) <= DESCRIPTION_MAX && len(&x.title) <= 256));
        // The small bucket is complete, the large ones are cut with a count.
        assert_eq!(s[0].body.lines().count(), 3);
        for (i, all) in [(1, 200), (2, 120)] {
            let shown = s[i].body.lines().filter(|l| l.contains("**")).count();
            assert!(shown > 5, "bucket {i} shows {shown}");
            let last = s[i].body.lines().last().unwrap();
            assert_eq!(last, format!("… and {} more, see /groups", all - shown));
        }
        assert_eq!(s[3].body, "No groups yet.");
        assert!(render(&groups).len() <= 10);
    }

    #[test]
    fn a_directory_that_fits_is_not_cut() {
        let groups: Vec<Listed> =
            (0..40).map(|i| g(i, &format!("Group {i}"), Bucket::Interest, Visibility::Open, i)).collect();
        let s = sections(&groups);
        assert_eq!(s[2].body.lines().count(), 40);
        assert!(!s[2].body.contains("more, see /groups"));
    }

    #[test]
    fn fitting_never_exceeds_the_budget() {
        let lines: Vec<String> = (0..50).map(|i| format!("line number {i}")).collect();
        for budget in [0, 5, 20, 30, 100, 333, 10_000] {
            let out = fit(&lines, budget);
            if budget >= 30 {
                assert!(len(&out) <= budget, "budget {budget}: {}", len(&out));
            }
            assert!(out.ends_with("see /groups") || budget == 10_000);
        }
    }
}
