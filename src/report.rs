//! What a build tells: per feed, per task and per output, as plain serializable values.
//!
//! The same [`BuildReport`] is written as `report.json`, drives the site's pages and is what
//! the command line summarizes. It never holds a secret: header values are not part of it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{FeedFormat, OutputFormat};
use crate::fetch::Origin;
use crate::parse::ParseStats;

/// The outcome of a feed in one build.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FeedStatus {
    /// Fetched and parsed, with at least one accepted indicator.
    Ok,
    /// Fetched and parsed, but nothing was accepted (an empty body, or only comments).
    Empty,
    /// The fetch or the parse failed; the feed contributes nothing to this build.
    Error,
}

impl FeedStatus {
    /// The status as written on the site.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            FeedStatus::Ok => "ok",
            FeedStatus::Empty => "empty",
            FeedStatus::Error => "error",
        }
    }
}

/// One feed in one build.
#[derive(Clone, Debug, Serialize)]
pub struct FeedReport {
    /// The feed id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// Publisher.
    pub provider: String,
    /// Input format.
    pub format: FeedFormat,
    /// The URL or local path (never with credentials: those live in headers).
    pub source: String,
    /// Licence or terms, as defined.
    pub licence: Option<String>,
    /// Home page, as defined.
    pub homepage: Option<String>,
    /// Outcome.
    pub status: FeedStatus,
    /// Why the feed is not ok, as a code: a fetch failure (`html_content`, `timeout`,
    /// `http_status`, `truncated`, `decompressed_too_large`, …), `parse_failed`, `empty`
    /// (it had indicators before) or `shrunk`.
    pub reason: Option<String>,
    /// Why the feed is not ok, in words.
    pub error: Option<String>,
    /// Whether the feed's last good data stands in for this build's.
    pub stale: bool,
    /// When the feed was last read successfully (RFC 3339).
    pub last_success: Option<String>,
    /// Since when the feed has been failing (RFC 3339), if it is.
    pub failing_since: Option<String>,
    /// Where the bytes came from, when they came.
    pub origin: Option<Origin>,
    /// HTTP status of the main request, when there was one.
    pub http_status: Option<u16>,
    /// Bytes received, over every file of the feed.
    pub bytes: u64,
    /// Fetch and parse time, in milliseconds.
    pub duration_ms: u64,
    /// What the parser did with every line of this build's body.
    pub stats: ParseStats,
    /// Values rejected, over every reason.
    pub rejected: u64,
    /// Distinct indicators the feed contributes to this build (from the last good data when
    /// `stale`).
    pub indicators: u64,
    /// Distinct accepted indicators per attribute type.
    pub by_type: BTreeMap<String, u64>,
    /// Tags used by tasks to select the feed.
    pub tags: Vec<String>,
}

/// One output file or folder of a task.
#[derive(Clone, Debug, Serialize)]
pub struct OutputReport {
    /// Path inside the output folder.
    pub path: String,
    /// Format.
    pub format: OutputFormat,
    /// Entries written.
    pub entries: u64,
    /// Entries left out because they cannot be written safely in this syntax.
    pub skipped: u64,
    /// Size in bytes (for a folder, the sum of its files).
    pub bytes: u64,
    /// SHA-256 of the file (for a folder, of its `manifest.json`), hex.
    pub sha256: String,
}

/// What one warning list left out of one task.
#[derive(Clone, Debug, Serialize)]
pub struct WarninglistReport {
    /// The list's name.
    pub name: String,
    /// The list's version.
    pub version: u64,
    /// Distinct indicators the list matched (and the task left out).
    pub removed: u64,
    /// The first few of them in output order (at most [`WARNINGLIST_EXAMPLES`]).
    pub examples: Vec<String>,
}

/// How many removed values a [`WarninglistReport`] shows.
pub const WARNINGLIST_EXAMPLES: usize = 5;

/// One task in one build.
#[derive(Clone, Debug, Serialize)]
pub struct TaskReport {
    /// The task id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// What the task is for.
    pub description: String,
    /// Ids of the feeds the task reads.
    pub feeds: Vec<String>,
    /// Attribute types kept (empty: all).
    pub types: Vec<String>,
    /// Indicators selected.
    pub selected: u64,
    /// Indicators left out because their score fell below the minimum.
    pub expired: u64,
    /// Indicators kept although no decay model covers their type.
    pub unscored: u64,
    /// Distinct indicators left out because no decay model covers their type and the task
    /// sets `keep_unscored = false`.
    pub unscored_dropped: u64,
    /// Addresses and networks left out because they overlap a special-purpose range.
    pub reserved: u64,
    /// Addresses and networks left out because they are not of the task's `ip_version`.
    pub other_ip_version: u64,
    /// Selected indicators that two feeds or more list (each is written once).
    pub in_several_feeds: u64,
    /// Selected indicators per feed that lists them, by feed id; an indicator that several
    /// feeds list counts for each.
    pub by_feed: BTreeMap<String, u64>,
    /// Indicators left out because a warning list matches them, each counted once.
    pub warninglisted: u64,
    /// Every warning list the task applies, by id, with what it left out. An indicator that
    /// two lists match is counted under both.
    pub warninglists: BTreeMap<String, WarninglistReport>,
    /// Selected indicators per attribute type.
    pub by_type: BTreeMap<String, u64>,
    /// The files written.
    pub outputs: Vec<OutputReport>,
}

/// Everything one build did.
#[derive(Clone, Debug, Serialize)]
pub struct BuildReport {
    /// feedsmith's version.
    pub version: &'static str,
    /// The reference time of the build (`--now`), RFC 3339.
    pub now: String,
    /// The reference time, Unix seconds.
    pub now_unix: i64,
    /// Project title.
    pub title: String,
    /// Every enabled feed.
    pub feeds: Vec<FeedReport>,
    /// Every task.
    pub tasks: Vec<TaskReport>,
    /// Distinct indicators over every feed, per attribute type.
    pub by_type: BTreeMap<String, u64>,
    /// Notes about the state carried between builds (a ledger recovered, for instance).
    pub notes: Vec<String>,
}

impl BuildReport {
    /// Feeds per status.
    #[must_use]
    pub fn count_status(&self, status: FeedStatus) -> usize {
        self.feeds.iter().filter(|f| f.status == status).count()
    }
}
