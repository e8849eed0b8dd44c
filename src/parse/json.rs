//! JSON feeds: an array of records, an object that holds them, or newline-delimited JSON.
//!
//! MISP has no such format; feeds publish JSON anyway (Spamhaus DROP's `drop_v4.json`,
//! `ThreatFox`'s JSON export and API), so feedsmith reads it with the value, type, time and tag
//! fields named in the definition (`[json]`).
//!
//! The body is read as one JSON document first. When that fails and its first line is a JSON
//! value on its own, with more lines after it, the body is newline-delimited JSON: each line is
//! a record, and a line that does not parse is one rejection ([`INVALID_JSON`]), not the end of
//! the feed. A body that is neither is a [`ParseError::Json`]: an HTML page or a truncated
//! download must fail the feed, not give zero indicators.
//!
//! In a document, `records` is the path to the records: `data` for an API answer
//! `{"query_status": "ok", "data": [...]}`, `*` for an object keyed by id with an array of
//! records under each key. A path that leads nowhere, or to a string (the API's error text in
//! place of records), is a [`ParseError::JsonLayout`].
//!
//! Each record must be an object ([`NOT_AN_OBJECT`]) with a value ([`MISSING_VALUE`]); a value
//! is a string, or a number taken as its JSON text (AS numbers), and anything else is
//! `invalid_value`. The type, times and tags are read as CSV reads them (see `meta`).
//! Examples in the report carry the line number for newline-delimited JSON and the 1-based
//! index of the record otherwise.
//!
//! Nesting is limited by `serde_json`'s recursion limit (128 levels), so a hostile body fails
//! with an error instead of overflowing the stack; its size is limited by the fetch stage.

use std::borrow::Cow;

use regex::Regex;
use serde_json::Value;

use super::collect::{Collector, Taken};
use super::meta::{Details, Tags, TypeMap, time_or_warn, unix_seconds};
use super::{
    INVALID_JSON, INVALID_TAG, INVALID_TIME, MISSING_VALUE, NOT_AN_OBJECT, ParseError, ParseStats,
    ParsedFeed, UNKNOWN_TYPE, text,
};
use crate::config::JsonOptions;
use crate::indicator::{self, RejectReason};

/// Most keys listed in a message about a path that leads nowhere.
const LISTED_KEYS: usize = 10;

/// Reads a JSON or newline-delimited JSON body.
///
/// ```
/// use feedsmith::config::JsonOptions;
/// use feedsmith::parse::json;
///
/// let opts = JsonOptions { value_field: "cidr".into(), ..JsonOptions::default() };
/// let body = b"{\"cidr\":\"192.0.2.0/24\"}\n{\"cidr\":\"198.51.100.0/24\"}\n{\"type\":\"metadata\"}\n";
/// let feed = json::parse(body, &opts, None).unwrap();
/// assert_eq!(feed.records.len(), 2);
/// assert_eq!(feed.stats.rejected_count("missing_value"), 1);
///
/// let opts = JsonOptions {
///     records: Some("data".into()),
///     value_field: "ioc".into(),
///     last_seen_field: Some("seen.last".into()),
///     ..JsonOptions::default()
/// };
/// let body = br#"{"query_status":"ok","data":[{"ioc":"192.0.2.1","seen":{"last":1714564800}}]}"#;
/// let feed = json::parse(body, &opts, None).unwrap();
/// assert_eq!(feed.records[0].last_seen, Some(1_714_564_800));
/// ```
///
/// # Errors
/// [`ParseError::Json`] when the body is not JSON; [`ParseError::JsonLayout`] when the records
/// are not where `records` says, or the settings cannot be used (a field path with an empty
/// segment, a type mapped to no MISP type, `records` with newline-delimited JSON).
pub fn parse(
    body: &[u8],
    opts: &JsonOptions,
    exclude: Option<&Regex>,
) -> Result<ParsedFeed, ParseError> {
    let layout = |message: String| ParseError::JsonLayout { message };
    let fields = Fields::new(opts).map_err(layout)?;
    let mut reader = RecordReader {
        collector: Collector::new(),
        stats: ParseStats::default(),
        exclude,
        opts: indicator::Options::default(),
        separator: &opts.tag_separator,
        tags: Tags::default(),
        fields,
    };
    let body = text::strip_bom(body, &mut reader.stats);
    if text::is_blank(body) {
        return Ok(reader.finish());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(document) => {
            let records = records(&document, opts.records.as_deref())?;
            for (index, record) in records.into_iter().enumerate() {
                reader.stats.lines += 1;
                reader.record(index as u64 + 1, record);
            }
        }
        Err(_) if is_ndjson(body) => {
            if opts.records.is_some() {
                return Err(layout(
                    "the body is newline-delimited JSON, whose lines are the records; \
                     `records` is a path inside one JSON document"
                        .to_owned(),
                ));
            }
            for (number, line) in text::lines(body) {
                reader.stats.lines += 1;
                reader.line(number, line);
            }
        }
        Err(source) => return Err(ParseError::Json { file: "the body".to_owned(), source }),
    }
    Ok(reader.finish())
}

/// Whether a body that is not one JSON document is newline-delimited JSON: its first
/// non-blank line is a JSON value on its own, and another non-blank line follows.
fn is_ndjson(body: &[u8]) -> bool {
    let mut lines = text::lines(body).map(|(_, line)| line).filter(|l| !text::is_blank(l));
    lines.next().is_some_and(|first| serde_json::from_slice::<Value>(first).is_ok())
        && lines.next().is_some()
}

/// The records a document holds at `path`: the elements of the arrays found there, and the
/// other values found there themselves. Without a path, the document's elements if it is an
/// array, else the document as one record.
fn records<'v>(document: &'v Value, path: Option<&str>) -> Result<Vec<&'v Value>, ParseError> {
    let Some(path) = path else {
        return Ok(match document {
            Value::Array(items) => items.iter().collect(),
            other => vec![other],
        });
    };
    let wildcard = path.split('.').any(|s| s == "*");
    let mut nodes = vec![document];
    for (depth, segment) in path.split('.').enumerate() {
        let mut next = Vec::new();
        for node in &nodes {
            match (segment, node) {
                ("*", Value::Object(members)) => next.extend(members.values()),
                ("*", Value::Array(items)) => next.extend(items.iter()),
                (key, Value::Object(members)) => next.extend(members.get(key)),
                (key, Value::Array(items)) => {
                    next.extend(key.parse::<usize>().ok().and_then(|i| items.get(i)));
                }
                _ => {}
            }
        }
        let walked = || path.split('.').take(depth).collect::<Vec<_>>().join(".");
        let place = |walked: String| {
            if walked.is_empty() { "the body".to_owned() } else { format!("`{walked}`") }
        };
        // A `*` over text or a number: the answer is not the document the definition
        // describes (`{"query_status":"illegal_api_key","data":"Your API key is invalid"}`),
        // and reading it as a feed with no records would withdraw every entry.
        if segment == "*"
            && let Some(scalar) = nodes.iter().find(|n| !n.is_array() && !n.is_object())
        {
            return Err(ParseError::JsonLayout {
                message: format!(
                    "`*` in `{}` meets {} at {}{}",
                    shown(path),
                    kind(scalar),
                    place(walked()),
                    status_hint(document)
                ),
            });
        }
        // No node has the key. With a `*` before it, an empty object or array legitimately
        // leaves no node at all, which is not this case.
        if next.is_empty() && !nodes.is_empty() && segment != "*" {
            let walked = walked();
            let place = place(walked);
            return Err(ParseError::JsonLayout {
                message: format!(
                    "no `{}` in {place} ({}){}",
                    shown(segment),
                    contents(nodes[0]),
                    status_hint(document)
                ),
            });
        }
        nodes = next;
    }
    if let [node] = nodes.as_slice()
        && !wildcard
        && !node.is_array()
        && !node.is_object()
    {
        return Err(ParseError::JsonLayout {
            message: format!(
                "`{}` is {}, not an array or object of records{}",
                shown(path),
                kind(node),
                status_hint(document)
            ),
        });
    }
    let mut out = Vec::new();
    for node in nodes {
        match node {
            Value::Array(items) => out.extend(items.iter()),
            other => out.push(other),
        }
    }
    Ok(out)
}

/// What a JSON value is, for messages: `a string`, `an array`, …
fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// What a value holds, for a message about a key not found in it.
fn contents(value: &Value) -> String {
    match value {
        Value::Object(members) if members.is_empty() => "an empty object".to_owned(),
        Value::Object(members) => {
            let mut keys: Vec<String> =
                members.keys().take(LISTED_KEYS).map(|k| format!("`{}`", shown(k))).collect();
            if members.len() > LISTED_KEYS {
                keys.push(format!("and {} more", members.len() - LISTED_KEYS));
            }
            format!("its keys: {}", keys.join(", "))
        }
        other => format!("it is {}", kind(other)),
    }
}

/// The status or error an API answer states about itself, such as `ThreatFox`'s
/// `query_status`, to say why the records are missing.
fn status_hint(document: &Value) -> String {
    ["query_status", "error", "message", "status"]
        .iter()
        .find_map(|key| {
            let text = document.get(key)?.as_str()?;
            Some(format!("; the body's `{key}` is `{}`", shown(text)))
        })
        .unwrap_or_default()
}

/// A dotted field path, split.
type Path = Vec<String>;

/// The settings' field paths, split, and the type map, resolved.
struct Fields {
    value: Path,
    kind: Option<Path>,
    first_seen: Option<Path>,
    last_seen: Option<Path>,
    tags: Option<Path>,
    types: TypeMap,
}

impl Fields {
    fn new(opts: &JsonOptions) -> Result<Fields, String> {
        let split = |key: &str, path: &str| -> Result<Path, String> {
            if path.split('.').any(|s| s.is_empty() || s == "*") {
                return Err(format!(
                    "`{key}` = `{}` is not a field path: keys joined by single dots",
                    shown(path)
                ));
            }
            Ok(path.split('.').map(str::to_owned).collect())
        };
        let optional = |key: &str, path: &Option<String>| {
            path.as_deref().map(|path| split(key, path)).transpose()
        };
        if let Some(records) = &opts.records
            && records.split('.').any(str::is_empty)
        {
            return Err(format!("`records` = `{}` has an empty segment", shown(records)));
        }
        if opts.tag_separator.is_empty() {
            return Err("`tag_separator` is empty".to_owned());
        }
        Ok(Fields {
            value: split("value_field", &opts.value_field)?,
            kind: optional("type_field", &opts.type_field)?,
            first_seen: optional("first_seen_field", &opts.first_seen_field)?,
            last_seen: optional("last_seen_field", &opts.last_seen_field)?,
            tags: optional("tags_field", &opts.tags_field)?,
            types: TypeMap::new(&opts.type_map)?,
        })
    }
}

/// The value at a field path inside a record.
fn lookup<'v>(record: &'v Value, path: &[String]) -> Option<&'v Value> {
    path.iter().try_fold(record, |node, key| match node {
        Value::Object(members) => members.get(key),
        Value::Array(items) => items.get(key.parse::<usize>().ok()?),
        _ => None,
    })
}

/// A value written back as compact JSON, for rejection examples.
fn compact(value: &Value) -> String {
    serde_json::to_string(value).unwrap_or_default()
}

/// A time field: text as `meta` reads it, or Unix seconds as a JSON number. A time in no
/// known form is counted as [`INVALID_TIME`].
fn time_field(record: &Value, path: Option<&[String]>, stats: &mut ParseStats) -> Option<i64> {
    match lookup(record, path?)? {
        Value::Null => None,
        Value::String(s) => time_or_warn(s, stats),
        Value::Number(n) => {
            let seconds = n.as_i64().or_else(|| {
                n.as_f64().filter(|f| f.is_finite() && f.abs() < 1e15).map(|f| f.floor() as i64)
            });
            let seconds = seconds.and_then(unix_seconds);
            if seconds.is_none() {
                stats.warn_code(INVALID_TIME);
            }
            seconds
        }
        Value::Bool(_) | Value::Array(_) | Value::Object(_) => {
            stats.warn_code(INVALID_TIME);
            None
        }
    }
}

struct RecordReader<'r> {
    collector: Collector,
    stats: ParseStats,
    exclude: Option<&'r Regex>,
    opts: indicator::Options,
    separator: &'r str,
    tags: Tags,
    fields: Fields,
}

impl RecordReader<'_> {
    /// Reads one line of newline-delimited JSON.
    fn line(&mut self, number: u64, line: &[u8]) {
        if text::is_blank(line) {
            self.stats.blank += 1;
            return;
        }
        let Ok(line) = std::str::from_utf8(line) else {
            self.stats.reject(RejectReason::NonUtf8, number, &text::lossy(line));
            return;
        };
        match serde_json::from_str::<Value>(line) {
            Ok(record) => self.record(number, &record),
            Err(_) => self.stats.reject_code(INVALID_JSON, number, line),
        }
    }

    /// Reads one record; `number` is its line or its index, for examples.
    fn record(&mut self, number: u64, record: &Value) {
        if !record.is_object() {
            self.stats.reject_with(NOT_AN_OBJECT, number, || compact(record));
            return;
        }
        let value: Cow<'_, str> = match lookup(record, &self.fields.value) {
            None | Some(Value::Null) => {
                self.stats.reject_with(MISSING_VALUE, number, || compact(record));
                return;
            }
            Some(Value::String(s)) if s.trim().is_empty() => {
                self.stats.reject_with(MISSING_VALUE, number, || compact(record));
                return;
            }
            Some(Value::String(s)) => Cow::Borrowed(s.trim()),
            Some(Value::Number(n)) => Cow::Owned(n.to_string()),
            Some(other) => {
                self.stats
                    .reject_with(RejectReason::InvalidValue.code(), number, || compact(other));
                return;
            }
        };
        let kind = match self.fields.kind.as_deref().and_then(|path| lookup(record, path)) {
            None | Some(Value::Null) => None,
            Some(Value::String(name)) if name.trim().is_empty() => None,
            Some(Value::String(name)) => {
                let Some(kind) = self.fields.types.resolve(name) else {
                    self.stats.reject_code(UNKNOWN_TYPE, number, name);
                    return;
                };
                Some(kind)
            }
            Some(other) => {
                self.stats.reject_with(UNKNOWN_TYPE, number, || compact(other));
                return;
            }
        };
        let first_seen = time_field(record, self.fields.first_seen.as_deref(), &mut self.stats);
        let last_seen = time_field(record, self.fields.last_seen.as_deref(), &mut self.stats);
        let tags = match self.fields.tags.as_deref().and_then(|path| lookup(record, path)) {
            None | Some(Value::Null) => Box::default(),
            Some(Value::String(s)) => {
                self.tags.collect(s.split(self.separator).map(Some), &mut self.stats)
            }
            Some(Value::Array(items)) => {
                self.tags.collect(items.iter().map(Value::as_str), &mut self.stats)
            }
            Some(_) => {
                self.stats.warn_code(INVALID_TAG);
                Box::default()
            }
        };
        let details = Details { kind, first_seen, last_seen, tags };
        let taken = self.collector.take_detailed(
            &value,
            &details,
            self.exclude,
            self.opts,
            &mut self.stats,
        );
        if let Taken::Rejected(reason) = taken {
            self.stats.reject(reason, number, &value);
        }
    }

    fn finish(self) -> ParsedFeed {
        self.collector.finish(self.stats)
    }
}

/// Feed text as a message shows it (see [`crate::text::shown`]), cut at 80 characters.
fn shown(text: &str) -> String {
    crate::text::shown(text, 80)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicator::{AttrType, Indicator};

    fn opts(value_field: &str) -> JsonOptions {
        JsonOptions { value_field: value_field.to_owned(), ..JsonOptions::default() }
    }

    fn values(feed: &ParsedFeed) -> Vec<&str> {
        feed.records.iter().map(|r| &*r.indicator.value).collect()
    }

    fn tags(record: &crate::parse::Record) -> Vec<&str> {
        record.tags.iter().map(|t| &**t).collect()
    }

    fn layout_message(result: Result<ParsedFeed, ParseError>) -> String {
        match result {
            Err(err @ ParseError::JsonLayout { .. }) => err.to_string(),
            other => panic!("expected a layout error, got {other:?}"),
        }
    }

    // Spamhaus DROP's `drop_v4.json` (tests/fixtures/recorded/spamhaus-drop/): NDJSON whose
    // last line is a metadata record that states the number of records.
    #[test]
    fn spamhaus_drop_ndjson_gives_every_cidr_and_rejects_the_metadata_line() {
        let body = include_bytes!("../../tests/fixtures/recorded/spamhaus-drop/drop_v4.json");
        // A plain reading: one JSON object per line.
        let lines: Vec<Value> = std::str::from_utf8(body)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let cidrs: std::collections::HashSet<&str> =
            lines.iter().filter_map(|o| o.get("cidr")?.as_str()).collect();
        let metadata = lines.iter().find(|o| o["type"] == "metadata").unwrap();
        assert_eq!(metadata["records"].as_u64(), Some(cidrs.len() as u64));

        let feed = parse(body, &opts("cidr"), None).unwrap();
        assert_eq!(feed.stats.lines, lines.len() as u64);
        assert_eq!(feed.records.len(), cidrs.len());
        assert!(feed.records.iter().all(|r| cidrs.contains(&*r.indicator.value)));
        assert!(feed.records.iter().all(|r| r.indicator.kind == AttrType::IpDst));
        let missing = &feed.stats.rejected[MISSING_VALUE];
        assert_eq!(missing.count, 1);
        assert_eq!(missing.examples[0].line, lines.len() as u64);
        assert_eq!(feed.stats.rejected_total(), 1);
    }

    #[test]
    fn an_array_of_objects_is_read_with_the_default_value_field() {
        let body = br#"[{"value":"192.0.2.1"},{"value":" hxxp://bad[.]example/x "},{"value":""}]"#;
        let feed = parse(body, &JsonOptions::default(), None).unwrap();
        assert_eq!(values(&feed), ["192.0.2.1", "http://bad.example/x"]);
        assert_eq!(feed.stats.lines, 3);
        assert_eq!(feed.stats.warnings["defanged"], 1);
        assert_eq!(feed.stats.rejected[MISSING_VALUE].examples[0].line, 3);
    }

    // The shape of ThreatFox's API answer (authored here; no recorded response exists):
    // records under `data`, an array of tags, times with ` UTC`, the feed's own type names.
    // Found by hostile-input testing: an API error read through a `*` path gave an empty feed,
    // which `allow_empty` then published as an empty blocklist.
    #[test]
    fn a_star_over_text_is_a_layout_error_and_an_empty_object_an_empty_feed() {
        let opts = JsonOptions { records: Some("data.*".into()), ..JsonOptions::default() };
        let error = br#"{"query_status":"illegal_api_key","data":"Your API key is invalid"}"#;
        let err = parse(error, &opts, None).unwrap_err().to_string();
        assert!(err.contains("`*` in `data.*` meets a string at `data`"), "{err}");
        assert!(err.contains("illegal_api_key"), "{err}");
        let missing = parse(br#"{"query_status":"no_result"}"#, &opts, None).unwrap_err();
        assert!(missing.to_string().contains("no `data` in the body"), "{missing}");
        let empty = parse(br#"{"data":{}}"#, &opts, None).unwrap();
        assert!(empty.records.is_empty());
        assert_eq!(empty.stats.rejected_total(), 0);
    }

    #[test]
    fn records_under_a_key_with_nested_fields_types_times_and_tags() {
        let body = br#"{"query_status":"ok","data":[
            {"ioc":"198.51.100.77:4443","ioc_type":"ip:port","first_seen":"2024-05-02 09:30:00 UTC","last_seen":null,"tags":["RAT","c2",7],"meta":{"seen":1714643891}},
            {"ioc":"c2.bad.example","ioc_type":"domain","first_seen":"yesterday","tags":"a, b"},
            {"ioc":"a.example","ioc_type":"sha3_384_hash"}
        ]}"#;
        let opts = JsonOptions {
            records: Some("data".into()),
            value_field: "ioc".into(),
            type_field: Some("ioc_type".into()),
            type_map: [("ip:port".to_owned(), "ip-dst|port".to_owned())].into_iter().collect(),
            first_seen_field: Some("first_seen".into()),
            last_seen_field: Some("meta.seen".into()),
            tags_field: Some("tags".into()),
            ..JsonOptions::default()
        };
        let feed = parse(body, &opts, None).unwrap();
        let [ip, domain] = &feed.records[..] else { panic!("{:?}", feed.records) };
        assert_eq!(ip.indicator, Indicator::new(AttrType::IpDstPort, "198.51.100.77|4443"));
        // 2024-05-02 is day 19 845 since 1970-01-01.
        assert_eq!(ip.first_seen, Some(19_845 * 86_400 + 9 * 3_600 + 30 * 60));
        assert_eq!(ip.last_seen, Some(19_845 * 86_400 + 9 * 3_600 + 58 * 60 + 11));
        assert_eq!(tags(ip), ["RAT", "c2"]);
        assert_eq!(domain.indicator, Indicator::new(AttrType::Domain, "c2.bad.example"));
        assert_eq!(domain.first_seen, None);
        assert_eq!(tags(domain), ["a", "b"]);
        assert_eq!(feed.stats.warnings[INVALID_TIME], 1);
        assert_eq!(feed.stats.warnings[INVALID_TAG], 1, "the number 7 in the tag array");
        assert_eq!(feed.stats.rejected[UNKNOWN_TYPE].examples[0].text, "sha3_384_hash");
        assert_eq!(feed.stats.rejected[UNKNOWN_TYPE].examples[0].line, 3);
    }

    // The shape of ThreatFox's JSON export (authored): an object keyed by IOC id, each key
    // holding an array of records.
    #[test]
    fn a_wildcard_path_reads_an_object_keyed_by_id_with_arrays_of_records() {
        let body = br#"{"1001":[{"ioc_value":"192.0.2.1"}],"1002":[{"ioc_value":"192.0.2.2"},{"ioc_value":"192.0.2.3"}],"1003":"odd"}"#;
        let wildcard = JsonOptions { records: Some("*".into()), ..opts("ioc_value") };
        let feed = parse(body, &wildcard, None).unwrap();
        assert_eq!(values(&feed), ["192.0.2.1", "192.0.2.2", "192.0.2.3"]);
        assert_eq!(feed.stats.rejected_count(NOT_AN_OBJECT), 1);
        let nested = br#"{"data":[{"items":[{"v":"192.0.2.9"}]}]}"#;
        let indexed = JsonOptions { records: Some("data.0.items".into()), ..opts("v") };
        assert_eq!(values(&parse(nested, &indexed, None).unwrap()), ["192.0.2.9"]);
    }

    #[test]
    fn records_that_are_not_objects_or_hold_no_usable_value_are_rejected() {
        let body = br#"[1,"192.0.2.1",null,[{"value":"192.0.2.2"}],{"value":true},{"value":{"a":1}},{"other":"192.0.2.3"},{"value":13335},{"value":null}]"#;
        let feed = parse(body, &JsonOptions::default(), None).unwrap();
        assert!(feed.records.is_empty());
        assert_eq!(feed.stats.rejected_count(NOT_AN_OBJECT), 4);
        assert_eq!(feed.stats.rejected_count("invalid_value"), 2);
        assert_eq!(feed.stats.rejected_count(MISSING_VALUE), 2);
        // A number is read as its text: `13335` is no indicator by detection, an AS by type.
        assert_eq!(feed.stats.rejected_count("unrecognized"), 1);
        assert_eq!(feed.stats.rejected["unrecognized"].examples[0].text, "13335");
        let typed = JsonOptions { type_field: Some("t".into()), ..JsonOptions::default() };
        let feed = parse(br#"[{"value":13335,"t":"AS"},{"value":1,"t":5}]"#, &typed, None).unwrap();
        assert_eq!(feed.records[0].indicator, Indicator::new(AttrType::As, "13335"));
        assert_eq!(feed.stats.rejected_count(UNKNOWN_TYPE), 1);
    }

    #[test]
    fn deep_nesting_fails_without_overflowing_the_stack() {
        let deep = "[".repeat(200_000);
        assert!(matches!(
            parse(deep.as_bytes(), &JsonOptions::default(), None),
            Err(ParseError::Json { .. })
        ));
        // In newline-delimited JSON only the deep line is lost.
        let body = format!("{{\"value\":\"192.0.2.1\"}}\n{deep}\n{{\"value\":\"192.0.2.2\"}}\n");
        let feed = parse(body.as_bytes(), &JsonOptions::default(), None).unwrap();
        assert_eq!(values(&feed), ["192.0.2.1", "192.0.2.2"]);
        assert_eq!(feed.stats.rejected[INVALID_JSON].examples[0].line, 2);
        // A deep record inside a valid document is bounded by the same limit.
        let nested = format!("[{{\"value\":{}{}}}]", "[".repeat(1000), "]".repeat(1000));
        assert!(parse(nested.as_bytes(), &JsonOptions::default(), None).is_err());
    }

    #[test]
    fn invalid_utf8_fails_a_document_and_rejects_one_line_of_ndjson() {
        let document = b"[{\"value\":\"caf\xe9.example\"}]";
        assert!(matches!(
            parse(document, &JsonOptions::default(), None),
            Err(ParseError::Json { .. })
        ));
        let lines = b"{\"value\":\"192.0.2.1\"}\n{\"value\":\"caf\xe9.example\"}\n";
        let feed = parse(lines, &JsonOptions::default(), None).unwrap();
        assert_eq!(values(&feed), ["192.0.2.1"]);
        assert_eq!(feed.stats.rejected_count("non_utf8"), 1);
    }

    #[test]
    fn a_body_that_is_not_json_fails_the_feed() {
        for body in [
            &b"192.0.2.1\n192.0.2.2\n"[..],
            b"<html><body>moved</body></html>",
            b"[{\"value\":\"192.0.2.1\"},",
            b"{\"value\":\"192.0.2.1\"}\n",
        ] {
            let result = parse(body, &JsonOptions::default(), None);
            // The last one is a whole document of one record, and is read.
            if body.ends_with(b"}\n") {
                assert_eq!(values(&result.unwrap()), ["192.0.2.1"]);
            } else {
                let err = result.unwrap_err();
                assert!(err.to_string().starts_with("invalid JSON in the body"), "{err}");
            }
        }
        let empty = parse(b"\xEF\xBB\xBF \n", &JsonOptions::default(), None).unwrap();
        assert!(empty.records.is_empty() && empty.stats.bom);
    }

    #[test]
    fn records_missing_from_an_api_answer_fail_with_its_status() {
        let answer =
            br#"{"query_status":"no_result","data":"Your search did not yield any results"}"#;
        let records = JsonOptions { records: Some("data".into()), ..JsonOptions::default() };
        assert_eq!(
            layout_message(parse(answer, &records, None)),
            "JSON layout error: `data` is a string, not an array or object of records; the \
             body's `query_status` is `no_result`"
        );
        let answer = br#"{"query_status":"unknown_auth_key"}"#;
        assert_eq!(
            layout_message(parse(answer, &records, None)),
            "JSON layout error: no `data` in the body (its keys: `query_status`); the body's \
             `query_status` is `unknown_auth_key`"
        );
        let nested = JsonOptions { records: Some("result.items".into()), ..JsonOptions::default() };
        assert_eq!(
            layout_message(parse(br#"{"result":[1]}"#, &nested, None)),
            "JSON layout error: no `items` in `result` (it is an array)"
        );
        let lines = b"{\"value\":\"192.0.2.1\"}\n{\"value\":\"192.0.2.2\"}\n";
        assert!(layout_message(parse(lines, &records, None)).contains("newline-delimited"));
    }

    #[test]
    fn numeric_and_textual_times_are_read_and_bad_ones_warned() {
        let body = br#"[
            {"value":"192.0.2.1","seen":1714564800},
            {"value":"192.0.2.2","seen":1714564800.9},
            {"value":"192.0.2.3","seen":"2024-05-01T12:00:00Z"},
            {"value":"192.0.2.4","seen":1e300},
            {"value":"192.0.2.5","seen":[1]},
            {"value":"192.0.2.6","seen":"1714564800"}
        ]"#;
        let opts = JsonOptions { last_seen_field: Some("seen".into()), ..JsonOptions::default() };
        let feed = parse(body, &opts, None).unwrap();
        let noon = Some(19_844 * 86_400 + 12 * 3_600);
        let seen: Vec<_> = feed.records.iter().map(|r| r.last_seen).collect();
        assert_eq!(seen, [noon, noon, noon, None, None, noon]);
        assert_eq!(feed.stats.warnings[INVALID_TIME], 2);
    }

    #[test]
    fn bad_field_paths_are_layout_errors() {
        for path in ["", "a..b", "a.", "*"] {
            let result = parse(b"[]", &opts(path), None);
            assert!(matches!(result, Err(ParseError::JsonLayout { .. })), "{path:?}");
        }
    }
}
