//! `/stats` and `/group stats` as text (O2): the chart's figures, every one
//! of them, for people who use a screen reader, in the embed the chart is
//! shown in; and the alt text of the chart. `/export`'s message lines.

use crate::domain::stats::Figures;
use serenity::all::CreateEmbed;

/// The chart's file name, referred to by the embed.
pub const CHART_FILE: &str = "stats.png";

/// Discord's limit on an embed's description.
const DESCRIPTION_MAX: usize = 4096;

/// Short alt text for the chart (Discord allows 1024 characters); the
/// figures themselves are in the embed.
pub fn alt_text(title: &str) -> String {
    format!("{title}: members over time, requests per week, median time to a decision, notifications delivered by mode. Every figure is written out in the message.")
}

fn hours(h: f64) -> String {
    if h < 1.0 {
        format!("{:.0} min", h * 60.0)
    } else if h < 48.0 {
        format!("{h:.1} h")
    } else {
        format!("{:.1} days", h / 24.0)
    }
}

/// Every figure of the chart, as lines.
pub fn text(f: &Figures) -> String {
    let days = f.period.days();
    let from = f.samples.first().map(|d| d.format("%Y-%m-%d").to_string()).unwrap_or_default();
    let to = f.until.format("%Y-%m-%d");
    let step = days / f.period.steps();
    let mut out =
        vec![format!("**Members** on {} dates from {from} to {to} (about every {step} days):", f.samples.len())];
    for s in &f.members {
        let list: Vec<String> = s.points.iter().map(|p| p.to_string()).collect();
        out.push(format!("{}: {}", crate::views::clip(&s.name, 100), list.join(", ")));
    }
    out.push(String::new());
    out.push("**Requests per week** (week of: requests, decisions, median time to a decision):".into());
    for w in &f.weeks {
        let median = w.median_hours.map(hours).unwrap_or_else(|| "no decision".into());
        out.push(format!("{}: {}, {}, {median}", w.start.format("%Y-%m-%d"), w.requests, w.decided));
    }
    let d = f.deliveries;
    out.push(String::new());
    out.push(format!("**Notifications delivered** in the last {days} days:"));
    out.push(format!("Mention: {} announcements; DM: {} messages; Digest: {} lines", d.mention, d.dm, d.digest));
    crate::views::clip(&out.join("\n"), DESCRIPTION_MAX)
}

/// The reply's embed: the title, the figures, the chart under them.
pub fn embed(title: &str, f: &Figures) -> CreateEmbed {
    CreateEmbed::new()
        .title(crate::views::clip(title, 256))
        .description(text(f))
        .image(format!("attachment://{CHART_FILE}"))
}

/// `/export`'s line for one message of files.
pub fn export_part(server: &str, part: usize, parts: usize, names: &[String], rows: usize) -> String {
    let what = if parts == 1 { "Export".to_string() } else { format!("Export, part {part} of {parts}") };
    let mut line = format!("{what} of **{server}**: {} ({rows} rows).", names.join(", "));
    if part == parts {
        line.push_str("\nExport complete. Times are UTC; ids are Discord ids.");
    }
    crate::views::clip(&line, 2000)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::stats::{Deliveries, Period, Series, Week};

    #[test]
    fn every_figure_is_written_out() {
        let until = chrono::DateTime::parse_from_rfc3339("2026-03-01T12:00:00Z").unwrap().with_timezone(&chrono::Utc);
        let f = Figures {
            period: Period::Days30,
            until,
            samples: Period::Days30.samples(until),
            members: vec![Series { name: "Interest".into(), points: vec![0, 1, 3, 3, 4, 6, 9] }],
            weeks: vec![Week {
                start: chrono::NaiveDate::from_ymd_opt(2026, 2, 23).unwrap(),
                requests: 5,
                decided: 3,
                median_hours: Some(6.0),
            }],
            deliveries: Deliveries { mention: 2, dm: 3, digest: 1 },
        };
        let t = text(&f);
        assert!(t.contains("Interest: 0, 1, 3, 3, 4, 6, 9"), "{t}");
        assert!(t.contains("2026-02-23: 5, 3, 6.0 h"), "{t}");
        assert!(t.contains("Mention: 2 announcements; DM: 3 messages; Digest: 1 lines"), "{t}");
        assert!(t.contains("from 2026-01-30 to 2026-03-01"), "{t}");
    }
}
