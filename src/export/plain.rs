//! The `plain` format: one value per line, after a short `#` header.
//!
//! ```text
//! # IPv4 firewall blocklist
//! # task: ipv4-blocklist
//! # built: 2026-08-23T00:00:00Z
//! # entries: 2
//! 198.51.100.7
//! 203.0.113.0/24
//! ```
//!
//! Values are canonical indicators, so they hold no whitespace or line breaks; a value that
//! somehow does, or that starts with `#` (a MISP `filename` can), is skipped and counted
//! rather than written, because one broken line can make a consumer reject the whole list or
//! read an entry as a comment.

use std::collections::HashMap;
use std::fmt::Write as _;

use super::budget::{Ranked, finish_fitted, fit};
use super::syntax::{Skips, check_line, comment_text};
use super::{Entry, ExportError, Target, rfc3339};
use crate::report::OutputReport;

/// Writes `entries` (already sorted) for `target`, within its output's size budget.
pub(crate) fn write(
    target: &Target<'_>,
    entries: &[Entry<'_>],
) -> Result<OutputReport, ExportError> {
    // One value listed under several types (`ip-src` and `ip-dst`, or a `domain` and a
    // `filename` that read the same) is one line, wherever the sort put each; it ranks by
    // the best score and all the feeds of its entries.
    let mut lines: Vec<Ranked<'_, &str>> = Vec::new();
    let mut seen: HashMap<&str, usize, foldhash::quality::RandomState> =
        HashMap::with_capacity_and_hasher(entries.len(), foldhash::quality::RandomState::default());
    let mut skips = Skips::default();
    for entry in entries {
        let value = &*entry.indicator.value;
        if let Err(reason) = check_line(value) {
            skips.add(reason, value);
            continue;
        }
        let index = *seen.entry(value).or_insert_with(|| {
            lines.push(Ranked::new(value, value.to_owned()));
            lines.len() - 1
        });
        lines[index].absorb(entry);
    }
    drop(seen);
    // The header repeats feed-controlled text nowhere: the task name comes from the
    // definitions, and is still kept on one line.
    let name = comment_text(target.task_name);
    let fitted = fit(target, &lines, |keep, count| {
        let mut out =
            String::with_capacity(128 + lines.iter().map(|l| l.value.len() + 1).sum::<usize>());
        let _ = writeln!(out, "# {name}");
        let _ = writeln!(out, "# task: {}", target.task_id);
        let _ = writeln!(out, "# built: {}", rfc3339(target.now));
        let _ = writeln!(out, "# entries: {count}");
        for (line, _) in lines.iter().zip(keep).filter(|(_, k)| **k) {
            out.push_str(line.item);
            out.push('\n');
        }
        out
    })?;
    finish_fitted(target, &fitted, &skips)
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::super::tests::target_with;
    use super::*;
    use crate::config::OutputFormat;
    use crate::indicator::{AttrType, Indicator};

    #[test]
    fn writes_header_then_one_value_per_line() {
        let dir = tempfile::tempdir().unwrap();
        let a = Indicator::new(AttrType::IpDst, "198.51.100.7");
        let b = Indicator::new(AttrType::IpDst, "bad\nvalue");
        let c = Indicator::new(AttrType::Filename, "#comment.exe");
        let entries = [
            Entry {
                indicator: Cow::Borrowed(&a),
                to_ids: true,
                score: None,
                reference_time: 0,
                first_seen: None,
                feeds: vec![],
            },
            Entry {
                indicator: Cow::Borrowed(&b),
                to_ids: true,
                score: None,
                reference_time: 0,
                first_seen: None,
                feeds: vec![],
            },
            Entry {
                indicator: Cow::Borrowed(&c),
                to_ids: true,
                score: None,
                reference_time: 0,
                first_seen: None,
                feeds: vec![],
            },
        ];
        let allowed = crate::indicator::AddressSet::default();
        let t = target_with(dir.path(), "x/list.txt", OutputFormat::Plain, &allowed, |_| {});
        let report = write(&t, &entries).unwrap();
        let text = std::fs::read_to_string(dir.path().join("x/list.txt")).unwrap();
        assert_eq!(
            text,
            "# Test list\n# task: t\n# built: 1970-01-01T00:00:00Z\n# entries: 1\n198.51.100.7\n"
        );
        assert_eq!(report.entries, 1);
        assert_eq!(report.skipped, 2);
        // Each skip is counted under its reason, as in every other format.
        assert_eq!(report.skipped_reasons["white_space_or_control"], 1);
        assert_eq!(report.skipped_reasons["starts_with_hash"], 1);
        assert_eq!(report.skipped_reasons.values().sum::<u64>(), report.skipped);
        assert_eq!(report.bytes, text.len() as u64);
    }

    #[test]
    fn a_value_listed_under_types_far_apart_in_the_sort_is_one_line() {
        use super::super::tests::entry;
        let dir = tempfile::tempdir().unwrap();
        let ip = Indicator::new(AttrType::IpDst, "8.8.8.8");
        let domain = Indicator::new(AttrType::Domain, "evil.example");
        let text = Indicator::new(AttrType::Text, "8.8.8.8");
        let file = Indicator::new(AttrType::Filename, "evil.example");
        let entries = [entry(&ip), entry(&domain), entry(&text), entry(&file)];
        let allowed = crate::indicator::AddressSet::default();
        let t = target_with(dir.path(), "all.txt", OutputFormat::Plain, &allowed, |_| {});
        let report = write(&t, &entries).unwrap();
        let written = std::fs::read_to_string(dir.path().join("all.txt")).unwrap();
        let values: Vec<&str> = written.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(values, ["8.8.8.8", "evil.example"]);
        assert_eq!(report.entries, 2);
    }
}
