//! Reading feed bodies into records, one input format per file.
//!
//! Each parser takes raw bytes and the feed's settings and returns a [`ParsedFeed`]: the
//! accepted [`Record`]s, de-duplicated on their canonical value, and a [`ParseStats`] that
//! accounts for every line: read, accepted, skipped as a comment or blank, rejected with a
//! reason (with a few examples), and the warnings raised while normalizing.
//!
//! A parser never panics on hostile input and never drops a value silently: what it does not
//! accept, it counts. A body that cannot be read at all (a MISP manifest that is not an object,
//! a CSV file whose rows do not match its header) is a [`ParseError`], and the feed fails.
//!
//! # Architecture
//! - `text`: byte-order mark, line endings and UTF-8 checks shared by the text formats.
//! - `freetext`: MISP's free-text import, line by line, with comment handling.
//! - `csv`: MISP's CSV feed semantics on an RFC 4180 reader, with columns by header name.
//! - `json`: JSON arrays, objects holding records, and newline-delimited JSON.
//! - `misp`: MISP feed manifests and event files.
//! - `meta`: what CSV rows and JSON records say besides the value: type, times, tags.
//! - `misp_rules`: a MISP feed's tag and organisation rules, in MISP's two passes.

mod collect;
pub mod csv;
pub mod freetext;
pub mod json;
mod meta;
pub mod misp;
mod misp_rules;
mod text;
#[cfg(test)]
mod vectors;

use std::collections::BTreeMap;
use std::sync::{Arc, LazyLock};

use serde::Serialize;

use crate::indicator::{Indicator, RejectReason, Warning};

/// Rejection code of a text line or CSV row that held words but no indicator at all, such as
/// the `run started: …` lines some feeds write without a comment marker (bug case 14).
pub const UNPARSED_LINE: &str = "unparsed_line";

/// Rejection code of a CSV row that has fewer fields than a configured value column.
pub const SHORT_ROW: &str = "short_row";

/// Warning code of a CSV row that lacks some of the value columns but gave a value from
/// another: MISP's `value_columns = [1, 3]` on a list of one column, say. Nothing is lost,
/// so the row is not a rejection.
pub const MISSING_COLUMN: &str = "missing_column";

/// Rejection code of a CSV row whose number of fields is not the header's or
/// `csv.column_count`: its values cannot be told apart from the next column's (bug case 05).
pub const SCHEMA_MISMATCH: &str = "schema_mismatch";

/// Rejection code of a CSV row or JSON record whose type is neither in the feed's
/// `type_map` nor a MISP type name.
pub const UNKNOWN_TYPE: &str = "unknown_type";

/// Rejection code of a CSV row or JSON record that has no value where the feed puts it.
pub const MISSING_VALUE: &str = "missing_value";

/// Rejection code of a JSON record that is not an object.
pub const NOT_AN_OBJECT: &str = "not_an_object";

/// Rejection code of a line of newline-delimited JSON that does not parse.
pub const INVALID_JSON: &str = "invalid_json";

/// Warning code of a time that does not parse (a MISP `first_seen`/`last_seen` that is not an
/// ISO 8601 date and time, a CSV or JSON time in no known form); the value is kept without
/// that time.
pub const INVALID_TIME: &str = "invalid_time";

/// Warning code of a tag dropped from an accepted value: empty after trimming, longer than
/// 255 characters, holding a control character, or not a string.
pub const INVALID_TAG: &str = "invalid_tag";

/// Warning code of a row or record with more tags than one value keeps (64); the rest are
/// dropped.
pub const TOO_MANY_TAGS: &str = "too_many_tags";

/// How many examples of each rejection reason a report keeps.
pub const MAX_EXAMPLES: usize = 5;

/// One accepted indicator with what the feed said about it.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// The typed canonical value.
    pub indicator: Indicator,
    /// The IDS flag: MISP's `to_ids`, or the type's default for text feeds.
    pub to_ids: bool,
    /// Unix seconds of the last change of the attribute (MISP `timestamp`), if known. A MISP
    /// attribute without its own timestamp takes its object's, then its event's.
    pub timestamp: Option<i64>,
    /// Unix seconds of the first sighting the feed reports, if any.
    pub first_seen: Option<i64>,
    /// Unix seconds of the last sighting the feed reports, if any.
    pub last_seen: Option<i64>,
    /// Tags on the attribute itself (MISP feeds), or of the row or record (CSV and JSON feeds
    /// with a tags column or field).
    pub tags: Box<[Arc<str>]>,
    /// Tags on the event that holds the attribute, shared by its attributes (MISP only).
    pub event_tags: Arc<[Arc<str>]>,
    /// The attribute's sightings, when the feed carries any (MISP events may); `None` for
    /// every other record, so that a record without sightings costs one pointer.
    pub sightings: Option<Box<Sightings>>,
}

/// The sightings a MISP attribute carries in its `Sighting` list, counted as MISP's decay
/// models use them (decay.md §3 and §6.2).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Sightings {
    /// Every sighting, of any type.
    pub total: u32,
    /// Sightings of type 0 ("seen").
    pub seen: u32,
    /// Unix seconds of the newest type-0 sighting, if any has a valid date.
    pub last_seen: Option<i64>,
}

impl Record {
    /// A record with no times and no tags, as text feeds give.
    #[must_use]
    pub fn bare(indicator: Indicator) -> Record {
        Record::bare_sharing(indicator, &NO_TAGS)
    }

    /// A bare record whose empty event tags are a clone of `no_tags`. A parser thread gives
    /// its own empty list, so that threads do not count references on one shared counter for
    /// every record they make.
    pub(crate) fn bare_sharing(indicator: Indicator, no_tags: &Arc<[Arc<str>]>) -> Record {
        let to_ids = indicator.kind.default_to_ids();
        Record {
            indicator,
            to_ids,
            timestamp: None,
            first_seen: None,
            last_seen: None,
            tags: Box::default(),
            event_tags: Arc::clone(no_tags),
            sightings: None,
        }
    }
}

/// The empty tag list every text-feed record shares, so that a record costs no allocation for
/// its event tags.
static NO_TAGS: LazyLock<Arc<[Arc<str>]>> = LazyLock::new(|| Arc::from(Vec::new()));

/// The count of one rejection reason, with a few examples.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct Rejected {
    /// How many values were rejected for this reason.
    pub count: u64,
    /// The first few rejected values (truncated to 200 characters), with their line numbers.
    pub examples: Vec<Example>,
}

/// A rejected value and where it was.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Example {
    /// 1-based line in the body (for MISP feeds, the event file and attribute index instead).
    pub line: u64,
    /// The text, cut to 200 characters.
    pub text: String,
}

/// What a parser did with a body.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ParseStats {
    /// Lines (text formats) or attributes (MISP) read.
    pub lines: u64,
    /// Lines skipped as comments.
    pub comments: u64,
    /// Blank lines.
    pub blank: u64,
    /// Values accepted, duplicates included.
    pub accepted: u64,
    /// Accepted values that repeated an earlier one of the same feed.
    pub duplicates: u64,
    /// Values not accepted, by reason code.
    pub rejected: BTreeMap<&'static str, Rejected>,
    /// Warnings raised on accepted values, by code.
    pub warnings: BTreeMap<&'static str, u64>,
    /// Whether the body started with a UTF-8 byte-order mark (removed).
    pub bom: bool,
    /// MISP feeds: events read.
    pub events: u64,
    /// Candidates skipped because the feed's `exclude_regex` matched them.
    pub excluded: u64,
    /// CSV header rows skipped (`header_lines`), comment rows not included.
    pub header_rows: u64,
    /// Words in free text (or cells of a CSV read with every column) that are not indicators,
    /// on lines that gave an indicator or a rejection. A line with nothing else is rejected as
    /// [`UNPARSED_LINE`] instead.
    pub ignored_words: u64,
    /// MISP feeds: attributes skipped because they, or their object, are marked `deleted`.
    pub deleted: u64,
    /// MISP feeds: attributes skipped because `to_ids` is false and the feed takes IDS values only.
    pub not_ids: u64,
    /// MISP feeds: `port` attributes of an `ip-port` object joined to its address, giving one
    /// `ip-dst|port` or `ip-src|port` value.
    pub ports_joined: u64,
    /// MISP feeds: events left out by the feed's `misp.rules`, at the manifest (not fetched)
    /// or in the event file (not read).
    pub filtered_events: u64,
    /// Free text: pieces of text cut out as context by `freetext.context_regex`.
    pub context: u64,
    /// Free text: lines that held context and no indicator (a clean site in a scan report).
    pub context_lines: u64,
}

impl ParseStats {
    /// Counts a rejected value, keeping it as an example while there is room.
    pub fn reject(&mut self, reason: RejectReason, line: u64, text: &str) {
        self.reject_code(reason.code(), line, text);
    }

    /// Counts a rejection under a parser's own code ([`UNPARSED_LINE`], [`SHORT_ROW`]) or an
    /// indicator [`RejectReason::code`].
    pub fn reject_code(&mut self, code: &'static str, line: u64, text: &str) {
        self.reject_with(code, line, || text.to_owned());
    }

    /// Counts a rejection, building the example text only while examples are still kept.
    pub fn reject_with(&mut self, code: &'static str, line: u64, text: impl FnOnce() -> String) {
        let entry = self.rejected.entry(code).or_default();
        entry.count += 1;
        if entry.examples.len() < MAX_EXAMPLES {
            let text = text();
            let text = match text.char_indices().nth(200) {
                Some((cut, _)) => text[..cut].to_owned(),
                None => text,
            };
            entry.examples.push(Example { line, text });
        }
    }

    /// Counts a warning raised on an accepted value.
    pub fn warn(&mut self, warning: Warning) {
        self.warn_code(warning.code());
    }

    /// Counts a warning under a parser's own code, such as [`INVALID_TIME`].
    pub fn warn_code(&mut self, code: &'static str) {
        *self.warnings.entry(code).or_default() += 1;
    }

    /// Adds the counts of `other`, what a later part of the same body gave, whose line
    /// numbers start after `line_offset` lines: its examples join while there is room, with
    /// their lines moved on by the offset. `bom` stays as it is (only a body's start has one).
    pub fn absorb(&mut self, other: ParseStats, line_offset: u64) {
        let ParseStats {
            lines,
            comments,
            blank,
            accepted,
            duplicates,
            rejected,
            warnings,
            bom: _,
            events,
            excluded,
            header_rows,
            ignored_words,
            deleted,
            not_ids,
            ports_joined,
            filtered_events,
            context,
            context_lines,
        } = other;
        self.lines += lines;
        self.comments += comments;
        self.blank += blank;
        self.accepted += accepted;
        self.duplicates += duplicates;
        self.events += events;
        self.excluded += excluded;
        self.header_rows += header_rows;
        self.ignored_words += ignored_words;
        self.deleted += deleted;
        self.not_ids += not_ids;
        self.ports_joined += ports_joined;
        self.filtered_events += filtered_events;
        self.context += context;
        self.context_lines += context_lines;
        for (code, count) in warnings {
            *self.warnings.entry(code).or_default() += count;
        }
        for (code, theirs) in rejected {
            let ours = self.rejected.entry(code).or_default();
            ours.count += theirs.count;
            let room = MAX_EXAMPLES.saturating_sub(ours.examples.len());
            ours.examples.extend(theirs.examples.into_iter().take(room).map(|mut example| {
                example.line += line_offset;
                example
            }));
        }
    }

    /// How many values were rejected with this code.
    #[must_use]
    pub fn rejected_count(&self, code: &str) -> u64 {
        self.rejected.get(code).map_or(0, |r| r.count)
    }

    /// Total number of rejected values.
    #[must_use]
    pub fn rejected_total(&self) -> u64 {
        self.rejected.values().map(|r| r.count).sum()
    }
}

/// A parsed feed body.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ParsedFeed {
    /// Accepted records, one per distinct indicator, in first-seen order.
    pub records: Vec<Record>,
    /// What happened to every line.
    pub stats: ParseStats,
}

/// A body that cannot be read at all.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ParseError {
    /// A MISP manifest that is not a JSON object keyed by event UUID.
    #[error("manifest.json must be a JSON object keyed by event UUID (got {got})")]
    ManifestNotObject {
        /// The JSON kind found instead (`array`, `string`, …).
        got: &'static str,
    },
    /// JSON that does not parse.
    #[error("invalid JSON in {file}: {source}")]
    Json {
        /// The file within the feed.
        file: String,
        /// The parser's message.
        #[source]
        source: serde_json::Error,
    },
    /// A MISP event file without `Event.uuid`, or with a UUID other than its manifest key.
    #[error("event file {file}: {message}")]
    Event {
        /// The file within the feed.
        file: String,
        /// What is wrong.
        message: String,
    },
    /// A CSV body whose rows cannot be mapped to columns.
    #[error("CSV schema error at line {line}: {message}")]
    CsvSchema {
        /// 1-based line.
        line: u64,
        /// What is wrong.
        message: String,
    },
    /// A JSON body whose records are not where the settings say, or settings that cannot
    /// describe a layout.
    #[error("JSON layout error: {message}")]
    JsonLayout {
        /// What is wrong.
        message: String,
    },
}
