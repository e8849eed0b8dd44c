//! Data exports: CSV and JSON, one record per selected indicator with what the build knows
//! about it: its type, score, when it was first seen, the time it was last seen or changed,
//! the feeds that list it and its IDS flag.
//!
//! Both take every type and list the full current selection (not a diff). Networks are
//! written as the feeds list them: these are data, not a blocklist, so no aggregation and no
//! allow-list cut.
//!
//! The two times mean different things. `first_seen` is the first build that saw one of the
//! listing feeds list the indicator (the ledger's first sighting, the earliest over those
//! feeds; empty or `null` when the ledger knows none). `last_seen` is the decay reference
//! time: the feed's own last-seen time or timestamp when it gives one (a MISP attribute's
//! newest "seen" sighting, `last_seen` or `timestamp`), else the last build that saw it
//! listed. A feed's own time can be older than the first build that saw the value, so
//! `last_seen` may come before `first_seen`.

use serde::Serialize;

use super::syntax::Skips;
use super::{Entry, ExportError, Target, finish, rfc3339};
use crate::report::OutputReport;

/// A score rounded to two decimals, so that float noise does not change the bytes.
fn rounded(score: Option<f64>) -> Option<f64> {
    score.filter(|s| s.is_finite()).map(|s| (s * 100.0).round() / 100.0)
}

/// Whether a value can be a CSV field that a spreadsheet reads as text: no control
/// character (a quoted line break is valid CSV, but line-based consumers split on it) and
/// no leading `=`, `+`, `-` or `@`, which spreadsheets run as a formula.
pub(super) fn check_csv(value: &str) -> Result<(), &'static str> {
    if value.chars().any(char::is_control) {
        return Err("control_character");
    }
    if value.starts_with(['=', '+', '-', '@']) {
        return Err("spreadsheet_formula");
    }
    Ok(())
}

/// `csv`: a header row, then `value,type,score,first_seen,last_seen,feeds,to_ids` per indicator in
/// the selection's order. Fields are quoted only when they hold a comma or a quote
/// (RFC 4180); feeds are joined with spaces; an unscored indicator has an empty score.
pub(crate) fn csv(target: &Target<'_>, entries: &[Entry<'_>]) -> Result<OutputReport, ExportError> {
    let mut skips = Skips::default();
    let mut writer = ::csv::WriterBuilder::new()
        .terminator(::csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    let io = |e: ::csv::Error| ExportError::Io {
        path: target.dir.join(target.relative),
        source: std::io::Error::other(e.to_string()),
    };
    writer
        .write_record(["value", "type", "score", "first_seen", "last_seen", "feeds", "to_ids"])
        .map_err(io)?;
    let mut written = 0;
    for entry in entries {
        if let Err(reason) = check_csv(&entry.indicator.value) {
            skips.add(reason, &entry.indicator.value);
            continue;
        }
        let score = rounded(entry.score).map(|s| format!("{s:.2}")).unwrap_or_default();
        writer
            .write_record([
                &*entry.indicator.value,
                entry.indicator.kind.as_str(),
                &score,
                &entry.first_seen.map(rfc3339).unwrap_or_default(),
                &rfc3339(entry.reference_time),
                &entry.feeds.join(" "),
                if entry.to_ids { "true" } else { "false" },
            ])
            .map_err(io)?;
        written += 1;
    }
    let bytes = writer.into_inner().map_err(|e| io(e.into_error().into()))?;
    // The writer only ever received `&str` fields.
    let text = String::from_utf8_lossy(&bytes);
    finish(target, &text, written, &skips)
}

#[derive(Serialize)]
struct Document<'a> {
    task: &'a str,
    name: &'a str,
    built: String,
    count: usize,
    indicators: Vec<Record<'a>>,
}

#[derive(Serialize)]
struct Record<'a> {
    value: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    score: Option<f64>,
    first_seen: Option<String>,
    last_seen: String,
    feeds: &'a [&'a str],
    to_ids: bool,
}

/// `json`: one document with the task, its build time, the count and every indicator,
/// pretty-printed with a final newline. JSON escaping carries any value, so none is
/// skipped.
///
/// ```json
/// {
///   "task": "domains",
///   "name": "Domain blocklist",
///   "built": "2026-05-01T00:00:00Z",
///   "count": 1,
///   "indicators": [
///     { "value": "bad.example", "type": "domain", "score": 74.12,
///       "first_seen": "2026-04-02T00:00:00Z", "last_seen": "2026-04-30T00:00:00Z",
///       "feeds": ["urlhaus"], "to_ids": true }
///   ]
/// }
/// ```
pub(crate) fn json(
    target: &Target<'_>,
    entries: &[Entry<'_>],
) -> Result<OutputReport, ExportError> {
    let indicators: Vec<Record<'_>> = entries
        .iter()
        .map(|entry| Record {
            value: &entry.indicator.value,
            kind: entry.indicator.kind.as_str(),
            score: rounded(entry.score),
            first_seen: entry.first_seen.map(rfc3339),
            last_seen: rfc3339(entry.reference_time),
            feeds: &entry.feeds,
            to_ids: entry.to_ids,
        })
        .collect();
    let document = Document {
        task: target.task_id,
        name: target.task_name,
        built: rfc3339(target.now),
        count: indicators.len(),
        indicators,
    };
    let mut text = serde_json::to_string_pretty(&document).unwrap_or_default();
    text.push('\n');
    finish(target, &text, document.count, &Skips::default())
}

#[cfg(test)]
mod tests {
    use super::super::tests::{entry, read, target_with};
    use super::*;
    use crate::config::OutputFormat;
    use crate::indicator::{AddressSet, AttrType, Indicator};

    fn hostile() -> Vec<Indicator> {
        vec![
            Indicator::new(AttrType::Domain, "bad.example"),
            Indicator::new(AttrType::Filename, "a,\"b\".exe"),
            Indicator::new(AttrType::Filename, "line\nbreak.exe"),
            Indicator::new(AttrType::Filename, "=HYPERLINK(\"x\")"),
            Indicator::new(AttrType::Filename, "<script>alert(1)</script>"),
            Indicator::new(AttrType::Text, "$ORIGIN evil.;"),
        ]
    }

    #[test]
    fn csv_quotes_what_needs_it_and_refuses_line_breaks_and_formulas() {
        let dir = tempfile::tempdir().unwrap();
        let indicators = hostile();
        let mut entries: Vec<Entry<'_>> = indicators.iter().map(entry).collect();
        entries[0].score = Some(74.125_1);
        entries[0].feeds = vec!["a", "b"];
        entries[0].reference_time = 86_400;
        entries[0].first_seen = Some(3_600);
        let allowed = AddressSet::default();
        let t = target_with(dir.path(), "x.csv", OutputFormat::Csv, &allowed, |_| {});
        let report = csv(&t, &entries).unwrap();
        let text = read(dir.path(), "x.csv");
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            [
                "value,type,score,first_seen,last_seen,feeds,to_ids",
                "bad.example,domain,74.13,1970-01-01T01:00:00Z,1970-01-02T00:00:00Z,a b,true",
                "\"a,\"\"b\"\".exe\",filename,,,1970-01-01T00:00:00Z,,true",
                "<script>alert(1)</script>,filename,,,1970-01-01T00:00:00Z,,true",
                "$ORIGIN evil.;,text,,,1970-01-01T00:00:00Z,,true",
            ]
        );
        assert_eq!(report.skipped_reasons["control_character"], 1);
        assert_eq!(report.skipped_reasons["spreadsheet_formula"], 1);
        // Read back with a CSV parser: every row has seven fields.
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        assert!(reader.records().all(|r| r.unwrap().len() == 7));
    }

    #[test]
    fn json_escapes_every_value_and_keeps_them_all() {
        let dir = tempfile::tempdir().unwrap();
        let indicators = hostile();
        let mut entries: Vec<Entry<'_>> = indicators.iter().map(entry).collect();
        entries[0].score = Some(74.125_1);
        entries[0].feeds = vec!["a"];
        entries[0].first_seen = Some(86_400);
        let allowed = AddressSet::default();
        let t = target_with(dir.path(), "x.json", OutputFormat::Json, &allowed, |_| {});
        let report = json(&t, &entries).unwrap();
        let text = read(dir.path(), "x.json");
        let value: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(value["count"], 6);
        assert_eq!(value["task"], "t");
        assert_eq!(value["built"], "1970-01-01T00:00:00Z");
        let first = &value["indicators"][0];
        assert_eq!(first["value"], "bad.example");
        assert_eq!(first["score"], 74.13);
        assert_eq!(first["feeds"], serde_json::json!(["a"]));
        assert_eq!(first["first_seen"], "1970-01-02T00:00:00Z");
        assert_eq!(value["indicators"][1]["first_seen"], serde_json::Value::Null);
        assert_eq!(value["indicators"][1]["score"], serde_json::Value::Null);
        assert_eq!(value["indicators"][2]["value"], "line\nbreak.exe");
        // The line break is escaped: no line of the file holds half a value.
        assert!(text.contains("\"line\\nbreak.exe\""));
        assert_eq!(report.skipped, 0);
        assert!(text.ends_with("}\n"));
    }
}
