//! What a build tells: per feed, per task and per output, as plain serializable values.
//!
//! The same [`BuildReport`] is written as `report.json`, drives the site's pages and is what
//! the command line summarizes. It never holds a secret: header values are not part of it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::config::{DecayKind, FeedFormat, OutputFormat};
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
    /// Fetch time, in milliseconds, for the build's log. It is not written to `report.json`
    /// or the site: it differs from run to run, and two builds from the same inputs and
    /// `--now` write the same bytes.
    #[serde(skip)]
    pub duration_ms: u64,
    /// Whether this build's files were not parsed, the parse cached by an earlier build of
    /// the same files being used. For the build's log, not written (it differs between a
    /// build and its rebuild, whose outputs are the same bytes).
    #[serde(skip)]
    pub parse_reused: bool,
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
    /// `skipped` by reason (`unsupported_type`, `label_too_long`, `allow_listed`, ...), for
    /// the formats that give one; absent when nothing was skipped.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub skipped_reasons: BTreeMap<String, u64>,
    /// Size in bytes (for a folder, the sum of its files).
    pub bytes: u64,
    /// SHA-256 of the file (for a folder, of its `manifest.json`), hex.
    pub sha256: String,
    /// Entries the size budget (`max_entries`, `max_bytes`) cut, the lowest-ranked first
    /// to go; 0 without a budget or when everything fits.
    pub cut: u64,
    /// `cut` by reason (`max_entries`, `max_bytes`); empty when nothing was cut.
    pub cut_reasons: BTreeMap<String, u64>,
    /// The companion file listing every cut entry (`<path>.cut.csv`), or `null` when
    /// nothing was cut.
    pub cut_file: Option<String>,
    /// The first few cut entries, the highest-ranked first (at most [`CUT_EXAMPLES`]).
    pub cut_examples: Vec<String>,
    /// Why the output could not be made this build (a `template` output whose template failed
    /// on this build's data): the previous build's file is kept, if there is one, and
    /// `entries` is 0. Absent when the output was written.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Which of the task's entries the output left out (skipped or cut), for the site's
    /// look-up index; not part of `report.json`.
    #[serde(skip)]
    pub left_out: crate::export::LeftOut,
}

/// How many cut entries an [`OutputReport`] shows.
pub const CUT_EXAMPLES: usize = 5;

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

/// One decay model in one build: its parameters, where it applies, and the scores it gave.
#[derive(Clone, Debug, Serialize)]
pub struct ModelReport {
    /// The model id (the file stem in `decay.d/`).
    pub id: String,
    /// Display name.
    pub name: String,
    /// The model's UUID in MISP, when it comes from MISP.
    pub uuid: Option<String>,
    /// What the model is for.
    pub description: String,
    /// The formula.
    pub formula: DecayKind,
    /// τ, the lifetime in days.
    pub lifetime_days: f64,
    /// δ, the decay speed.
    pub decay_speed: f64,
    /// θ: a score strictly below it is expired.
    pub threshold: f64,
    /// The base score when no tag counts.
    pub default_base_score: f64,
    /// Tag key → weight, for base scores from tags.
    pub base_score_config: BTreeMap<String, f64>,
    /// The attribute types the model scores.
    pub types: Vec<String>,
    /// Types the definition lists that feedsmith does not know (MISP types that hold rules
    /// rather than indicators, such as `snort`); the model scores nothing of them.
    pub unknown_types: Vec<String>,
    /// Seconds after its reference time from which an indicator with the default base score
    /// is expired: 0 when that score is below the threshold already, none when it never
    /// expires.
    pub expires_after_secs: Option<i64>,
    /// The tasks whose indicators the model scores, by task id order.
    pub tasks: Vec<ModelTaskReport>,
    /// The current scores of the indicators it scored in this build.
    pub scores: ScoreHistogram,
}

/// A task that a decay model scores indicators for.
#[derive(Clone, Debug, Serialize)]
pub struct ModelTaskReport {
    /// The task id.
    pub id: String,
    /// The task's display name.
    pub name: String,
    /// Whether the task names no model (`auto`) and gets this one for some of its types.
    pub auto: bool,
    /// The task's types that this model scores (empty when the task takes every type and
    /// names the model).
    pub types: Vec<String>,
}

/// How many score buckets a [`ScoreHistogram`] has: ten of 10 points from 0 to 100, and one
/// for 100 and more (base scores are not clamped to 100).
pub const SCORE_BUCKETS: usize = 11;

/// The current scores of the indicators one model scored, in buckets of 10 points.
///
/// Every indicator that a task kept or left out as expired counts once per task; those that a
/// warning list left out do not count (they are known-good values, not indicators).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct ScoreHistogram {
    /// Bucket `i` counts the scores `s` with `10 × i ≤ s < 10 × (i + 1)`; the last bucket
    /// counts every score of 100 or more.
    pub buckets: [u64; SCORE_BUCKETS],
    /// Scores below the task's minimum: the indicators left out as expired.
    pub expired: u64,
    /// Scores at or above the task's minimum: the indicators kept.
    pub kept: u64,
}

impl ScoreHistogram {
    /// The bucket of a score: `floor(score / 10)`, at most the last one; a score below 0 (or
    /// not a number) goes to the first.
    #[must_use]
    pub fn bucket(score: f64) -> usize {
        if score >= 100.0 {
            SCORE_BUCKETS - 1
        } else if score >= 0.0 {
            // Below 100, so the quotient is below 10 and fits.
            ((score / 10.0).floor() as usize).min(SCORE_BUCKETS - 2)
        } else {
            0
        }
    }

    /// Counts one score, expired when it is strictly below `minimum` (MISP's rule: a score
    /// equal to the threshold is not decayed).
    pub fn add(&mut self, score: f64, minimum: f64) {
        self.buckets[Self::bucket(score)] += 1;
        if score < minimum {
            self.expired += 1;
        } else {
            self.kept += 1;
        }
    }

    /// Adds the counts of another histogram (of another task).
    pub fn merge(&mut self, other: &ScoreHistogram) {
        for (mine, theirs) in self.buckets.iter_mut().zip(other.buckets) {
            *mine += theirs;
        }
        self.expired += other.expired;
        self.kept += other.kept;
    }

    /// Every score counted.
    #[must_use]
    pub fn total(&self) -> u64 {
        self.buckets.iter().sum()
    }
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
    /// Every decay model, with the tasks that use it and the scores it gave in this build.
    pub models: Vec<ModelReport>,
    /// Distinct indicators over every feed, per attribute type.
    pub by_type: BTreeMap<String, u64>,
    /// Indicators that two feeds both list, per pair of feeds: an indicator is the same in
    /// two feeds when its type and canonical value are. Each pair appears once, `a` before `b`
    /// in the order of `feeds`, and only when they share at least one indicator; a pair not
    /// listed shares none. A feed's indicators are those it contributes to this build (its
    /// last good data when stale), as in [`FeedReport::indicators`].
    pub overlap: Vec<OverlapPair>,
    /// What each output gained and lost since the previous build, and each feed, from the
    /// two builds' look-up indexes; `null` on a first build, or when the previous build's
    /// index is not at hand (a fresh machine).
    pub changes: Option<crate::export::index_compare::Changes>,
    /// Notes about the state carried between builds (a ledger recovered, for instance).
    pub notes: Vec<String>,
}

/// Two feeds and the distinct indicators both list, in one build.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct OverlapPair {
    /// The id of the feed that comes first in the report.
    pub a: String,
    /// The id of the other feed.
    pub b: String,
    /// Distinct indicators (type and canonical value) that both feeds list; at least 1.
    pub shared: u64,
}

impl BuildReport {
    /// Feeds per status.
    #[must_use]
    pub fn count_status(&self, status: FeedStatus) -> usize {
        self.feeds.iter().filter(|f| f.status == status).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn histogram(scores: &[f64], minimum: f64) -> ScoreHistogram {
        let mut histogram = ScoreHistogram::default();
        for &score in scores {
            histogram.add(score, minimum);
        }
        histogram
    }

    #[test]
    fn a_score_on_a_bucket_edge_goes_to_the_bucket_above() {
        assert_eq!(ScoreHistogram::bucket(0.0), 0);
        assert_eq!(ScoreHistogram::bucket(9.999), 0);
        assert_eq!(ScoreHistogram::bucket(10.0), 1);
        assert_eq!(ScoreHistogram::bucket(30.0), 3);
        assert_eq!(ScoreHistogram::bucket(99.99), 9);
    }

    #[test]
    fn scores_of_100_and_more_share_the_last_bucket() {
        // A `retention:1y` tag can make B = 365 (decay.md §4.3): B is not clamped.
        assert_eq!(ScoreHistogram::bucket(100.0), 10);
        assert_eq!(ScoreHistogram::bucket(365.0), 10);
        assert_eq!(ScoreHistogram::bucket(f64::INFINITY), 10);
    }

    #[test]
    fn a_score_below_zero_or_not_a_number_goes_to_the_first_bucket() {
        assert_eq!(ScoreHistogram::bucket(-1.0), 0);
        assert_eq!(ScoreHistogram::bucket(f64::NAN), 0);
    }

    #[test]
    fn a_score_equal_to_the_threshold_is_kept() {
        // decay.md §2: decayed ⇔ score < threshold, strictly.
        let h = histogram(&[30.0, 29.999_999, 30.000_001], 30.0);
        assert_eq!((h.expired, h.kept), (1, 2));
        assert_eq!(h.buckets[2], 1);
        assert_eq!(h.buckets[3], 2);
    }

    #[test]
    fn histograms_of_two_tasks_add_up() {
        let mut a = histogram(&[5.0, 55.0, 120.0], 30.0);
        let b = histogram(&[5.0, 10.0], 30.0);
        a.merge(&b);
        assert_eq!(a.buckets, [2, 1, 0, 0, 0, 1, 0, 0, 0, 0, 1]);
        assert_eq!((a.expired, a.kept, a.total()), (3, 2, 5));
    }
}
