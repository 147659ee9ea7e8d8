//! The `/export` tables as CSV files (the `csv` crate), each within
//! Discord's attachment limit, and the files grouped into messages.
//!
//! A table that fits the limit is one file (`groups.csv`). One that does
//! not is split by period: a file per month of its rows' dates
//! (`audit-2026-03.csv`), a month still too large by day
//! (`audit-2026-03-14.csv`), a day still too large in parts
//! (`audit-2026-03-14-part2.csv`). Every file repeats the header, so each
//! opens on its own. A message carries at most 10 files and stays under
//! Discord's 25 MiB request limit.
//!
//! Cells that a spreadsheet would run as a formula (text starting with
//! `=`, `+`, `-`, `@`, a tab or a carriage return) are written with a
//! leading `'`.

use chrono::{DateTime, Utc};

/// At most this many files a message (Discord's limit).
pub const FILES_PER_MESSAGE: usize = 10;

/// What one message may carry in all: Discord's 25 MiB request limit, less
/// room for the rest of the request.
pub const BYTES_PER_MESSAGE: usize = 25 * 1024 * 1024 - 64 * 1024;

/// A row and the date it is split by.
pub type Row = (DateTime<Utc>, Vec<String>);

/// A table to export: its name, its header, and its rows with the date
/// each is split by.
pub struct Table {
    pub name: &'static str,
    pub header: &'static [&'static str],
    pub rows: Vec<Row>,
}

/// One CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct File {
    pub name: String,
    pub bytes: Vec<u8>,
    pub rows: usize,
}

/// A text cell, safe to open in a spreadsheet.
pub fn text(s: &str) -> String {
    match s.chars().next() {
        Some('=' | '+' | '-' | '@' | '\t' | '\r') => format!("'{s}"),
        _ => s.to_string(),
    }
}

/// An optional time as RFC 3339 (UTC), or empty.
pub fn time(t: Option<DateTime<Utc>>) -> String {
    t.map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)).unwrap_or_default()
}

/// An optional id, or empty.
pub fn id<T: std::fmt::Display>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_default()
}

fn csv_of(header: &[&str], rows: &[&Vec<String>]) -> Vec<u8> {
    let mut w = csv::Writer::from_writer(Vec::new());
    // Writing to memory fails only when a record's length differs from the header's.
    if !header.is_empty() {
        w.write_record(header).expect("the header is written to memory");
    }
    for r in rows {
        w.write_record(r.iter()).expect("a row as long as the header");
    }
    w.into_inner().expect("flushed to memory")
}

/// The files of `t`, each at most `limit` bytes (unless a single row is
/// larger, which no row of these tables is).
pub fn files(t: &Table, limit: usize) -> Vec<File> {
    let all: Vec<&Row> = t.rows.iter().collect();
    let whole = csv_of(t.header, &all.iter().map(|r| &r.1).collect::<Vec<_>>());
    if whole.len() <= limit {
        return vec![File { name: format!("{}.csv", t.name), bytes: whole, rows: all.len() }];
    }
    let mut out = Vec::new();
    for (month, rows) in runs(&all, "%Y-%m") {
        let bytes = csv_of(t.header, &rows.iter().map(|r| &r.1).collect::<Vec<_>>());
        if bytes.len() <= limit {
            out.push(File { name: format!("{}-{month}.csv", t.name), bytes, rows: rows.len() });
            continue;
        }
        for (day, rows) in runs(&rows, "%Y-%m-%d") {
            let bytes = csv_of(t.header, &rows.iter().map(|r| &r.1).collect::<Vec<_>>());
            if bytes.len() <= limit {
                out.push(File { name: format!("{}-{day}.csv", t.name), bytes, rows: rows.len() });
                continue;
            }
            out.extend(parts(t, &day, &rows, limit));
        }
    }
    out
}

/// Consecutive rows (they come ordered by date) with the same date label.
fn runs<'a>(rows: &[&'a Row], fmt: &str) -> Vec<(String, Vec<&'a Row>)> {
    let mut out: Vec<(String, Vec<&Row>)> = Vec::new();
    for r in rows {
        let label = r.0.format(fmt).to_string();
        match out.last_mut() {
            Some((l, list)) if *l == label => list.push(r),
            _ => out.push((label, vec![r])),
        }
    }
    out
}

/// One day's rows in parts of at most `limit` bytes each.
fn parts(t: &Table, day: &str, rows: &[&Row], limit: usize) -> Vec<File> {
    let header = csv_of(t.header, &[]).len();
    let mut out = Vec::new();
    let mut current: Vec<&Vec<String>> = Vec::new();
    let mut size = header;
    for r in rows {
        let len = csv_of(&[], &[&r.1]).len();
        if !current.is_empty() && size + len > limit {
            out.push(current);
            current = Vec::new();
            size = header;
        }
        current.push(&r.1);
        size += len;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out.into_iter()
        .enumerate()
        .map(|(i, rows)| File {
            name: format!("{}-{day}-part{}.csv", t.name, i + 1),
            bytes: csv_of(t.header, &rows),
            rows: rows.len(),
        })
        .collect()
}

/// The files grouped into messages: at most `FILES_PER_MESSAGE` each and
/// `BYTES_PER_MESSAGE` in all, in order.
pub fn messages(files: Vec<File>) -> Vec<Vec<File>> {
    let mut out: Vec<Vec<File>> = Vec::new();
    let mut size = 0;
    for f in files {
        let fits = out.last().is_some_and(|m| m.len() < FILES_PER_MESSAGE && size + f.bytes.len() <= BYTES_PER_MESSAGE);
        if !fits {
            out.push(Vec::new());
            size = 0;
        }
        size += f.bytes.len();
        out.last_mut().expect("a message").push(f);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn table(rows: &[(&str, &str)]) -> Table {
        Table {
            name: "audit",
            header: &["id", "action"],
            rows: rows.iter().enumerate().map(|(i, (t, a))| (at(t), vec![i.to_string(), text(a)])).collect(),
        }
    }

    fn read(f: &File) -> Vec<Vec<String>> {
        csv::Reader::from_reader(f.bytes.as_slice())
            .records()
            .map(|r| r.unwrap().iter().map(String::from).collect())
            .collect()
    }

    #[test]
    fn a_table_within_the_limit_is_one_file() {
        let t = table(&[("2026-03-01T10:00:00Z", "membership.join"), ("2026-04-02T10:00:00Z", "a, \"quoted\" one")]);
        let f = files(&t, 10_000);
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].name, "audit.csv");
        assert_eq!(read(&f[0]), [vec!["0", "membership.join"], vec!["1", "a, \"quoted\" one"]]);
    }

    #[test]
    fn a_large_table_is_split_by_month_then_day_then_parts_each_within_the_limit() {
        let mut rows = vec![("2026-03-01T10:00:00Z", "x".repeat(40))];
        rows.extend((0..6).map(|_| ("2026-04-02T10:00:00Z", "y".repeat(40))));
        rows.push(("2026-04-03T10:00:00Z", "z".repeat(40)));
        let rows: Vec<(&str, &str)> = rows.iter().map(|(t, a)| (*t, a.as_str())).collect();
        let t = table(&rows);
        let f = files(&t, 150);
        let names: Vec<&str> = f.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            ["audit-2026-03.csv", "audit-2026-04-02-part1.csv", "audit-2026-04-02-part2.csv", "audit-2026-04-03.csv"]
        );
        assert!(f.iter().all(|f| f.bytes.len() <= 150), "{:?}", f.iter().map(|f| f.bytes.len()).collect::<Vec<_>>());
        let back: Vec<Vec<String>> = f.iter().flat_map(read).collect();
        assert_eq!(back.len(), 8, "every row once, each file with its header");
        assert_eq!(
            back.iter().map(|r| r[0].clone()).collect::<Vec<_>>(),
            (0..8).map(|i| i.to_string()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn formulas_are_not_run_by_spreadsheets() {
        assert_eq!(text("=HYPERLINK(\"x\")"), "'=HYPERLINK(\"x\")");
        assert_eq!(text("@sum"), "'@sum");
        assert_eq!(text("-1"), "'-1");
        assert_eq!(text("Rust"), "Rust");
    }

    #[test]
    fn messages_hold_ten_files_at_most() {
        let files: Vec<File> =
            (0..23).map(|i| File { name: format!("f{i}.csv"), bytes: vec![b'x'; 10], rows: 1 }).collect();
        let m = messages(files);
        assert_eq!(m.iter().map(Vec::len).collect::<Vec<_>>(), [10, 10, 3]);
        let big: Vec<File> =
            (0..3).map(|i| File { name: format!("b{i}.csv"), bytes: vec![b'x'; 10 * 1024 * 1024], rows: 1 }).collect();
        assert_eq!(messages(big).iter().map(Vec::len).collect::<Vec<_>>(), [2, 1], "25 MiB a request");
    }
}
