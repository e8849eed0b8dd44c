//! What each build counted, kept for a bounded number of builds: the data of the site's
//! charts and of `plan`'s comparisons.
//!
//! A [`History`] is a list of [`BuildCounts`], oldest first, one per build time: per feed its
//! status and the indicators it contributed (by type), the distinct indicators over every feed
//! (by type), and per task what it selected, what expired and what warning lists left out
//! (selections by type). It lives in the state folder as `history.json`, written atomically
//! with the previous version kept as `history.json.prev`, and is published with the site.
//!
//! ```
//! use feedsmith::history::{BuildCounts, History};
//!
//! let mut history = History::default();
//! for day in 0..3 {
//!     history.record(BuildCounts { now_unix: day * 86_400, ..BuildCounts::default() }, 2);
//! }
//! let kept: Vec<i64> = history.builds.iter().map(|b| b.now_unix).collect();
//! assert_eq!(kept, [86_400, 172_800]);
//! ```

use std::collections::BTreeMap;
use std::io;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// The version of the file's layout, written as its `format` key.
pub const FORMAT: u32 = 1;

/// Why a history file cannot be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HistoryError {
    /// There is no file at the path (a first build, or a state folder that was cleared).
    #[error("no history at `{}`", path.display())]
    NotFound {
        /// The path that was read.
        path: PathBuf,
    },
    /// The file exists but cannot be read.
    #[error("cannot read the history `{}`", path.display())]
    Io {
        /// The path that was read.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The file is truncated, damaged, of an unknown format or not a history at all.
    #[error("the history `{}` is corrupt: {reason}", path.display())]
    Corrupt {
        /// The path (or URL) that was read.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// Counts of every kept build, oldest first.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct History {
    /// The layout version, [`FORMAT`].
    pub format: u32,
    /// One entry per build time, in increasing time.
    pub builds: Vec<BuildCounts>,
}

impl Default for History {
    fn default() -> History {
        History { format: FORMAT, builds: Vec::new() }
    }
}

/// What one build counted.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct BuildCounts {
    /// The build's reference time (`--now`), RFC 3339.
    pub now: String,
    /// The same time, Unix seconds.
    pub now_unix: i64,
    /// Per feed id.
    pub feeds: BTreeMap<String, FeedCounts>,
    /// Distinct indicators over every feed, per attribute type.
    pub by_type: BTreeMap<String, u64>,
    /// Per task id.
    pub tasks: BTreeMap<String, TaskCounts>,
}

/// What one feed contributed to one build.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedCounts {
    /// `ok`, `empty` or `error`, as in the build report.
    pub status: String,
    /// Whether the feed's last good data stood in for this build's.
    pub stale: bool,
    /// Distinct indicators the feed contributed.
    pub indicators: u64,
    /// The same, per attribute type.
    pub by_type: BTreeMap<String, u64>,
}

/// What one task selected in one build.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskCounts {
    /// Indicators selected.
    pub selected: u64,
    /// Indicators left out because their score fell below the minimum.
    pub expired: u64,
    /// Indicators left out because a warning list matches them.
    pub warninglisted: u64,
    /// Selected indicators per attribute type.
    pub by_type: BTreeMap<String, u64>,
}

impl History {
    /// Reads a history file.
    ///
    /// Fails with [`HistoryError::NotFound`] when there is no file, [`HistoryError::Corrupt`]
    /// when it does not parse or has an unknown format, and [`HistoryError::Io`] when it
    /// cannot be read.
    pub fn load(path: &Path) -> Result<History, HistoryError> {
        let bytes = match std::fs::read(path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Err(HistoryError::NotFound { path: path.to_owned() });
            }
            Err(source) => return Err(HistoryError::Io { path: path.to_owned(), source }),
        };
        History::from_bytes(&bytes, &path.display().to_string())
    }

    /// Reads the bytes of a history file that came from `origin` (a path or a URL, named in
    /// the error). Builds are put in time order, one per time (the last one written wins).
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<History, HistoryError> {
        let mut history: History = crate::fs::read_versioned_json(bytes, FORMAT, "history")
            .map_err(|reason| HistoryError::Corrupt { path: PathBuf::from(origin), reason })?;
        history.normalize();
        Ok(history)
    }

    /// The bytes of the file: compact JSON, keys in order, so the same history always gives
    /// the same bytes.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(self).unwrap_or_default();
        bytes.push(b'\n');
        bytes
    }

    /// Writes the history atomically, keeping the file it replaces as `<name>.prev`.
    pub fn save(&self, path: &Path) -> io::Result<()> {
        crate::fs::replace_keeping_previous(path, &self.to_bytes())
    }

    /// Where [`History::save`] keeps the file it replaces: `<name>.prev` beside `path`.
    #[must_use]
    pub fn prev_path(path: &Path) -> PathBuf {
        crate::fs::previous_path(path)
    }

    /// Adds one build and keeps the last `keep` builds (at least one).
    ///
    /// Builds stay in time order: a build at a time already recorded (a build run again with
    /// the same `--now`) replaces that entry, and one older than the newest (a replayed
    /// earlier build) is put in its place.
    pub fn record(&mut self, build: BuildCounts, keep: usize) {
        match self.builds.binary_search_by_key(&build.now_unix, |b| b.now_unix) {
            Ok(at) => self.builds[at] = build,
            Err(at) => self.builds.insert(at, build),
        }
        let excess = self.builds.len().saturating_sub(keep.max(1));
        self.builds.drain(..excess);
    }

    /// Adds the builds of `other` that this history does not hold, for two copies of a
    /// history recovered from different places. No build is dropped here; the next
    /// [`History::record`] bounds the list again.
    pub fn absorb(&mut self, other: History) {
        for build in other.builds {
            if let Err(at) = self.builds.binary_search_by_key(&build.now_unix, |b| b.now_unix) {
                self.builds.insert(at, build);
            }
        }
    }

    /// Sorts builds by time and keeps one per time, the last one listed.
    fn normalize(&mut self) {
        // A stable sort keeps the file's order among equal times.
        self.builds.sort_by_key(|b| b.now_unix);
        let mut kept: Vec<BuildCounts> = Vec::with_capacity(self.builds.len());
        for build in self.builds.drain(..) {
            match kept.last_mut() {
                Some(last) if last.now_unix == build.now_unix => *last = build,
                _ => kept.push(build),
            }
        }
        self.builds = kept;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(now_unix: i64, selected: u64) -> BuildCounts {
        let mut tasks = BTreeMap::new();
        tasks.insert("all".to_owned(), TaskCounts { selected, ..TaskCounts::default() });
        BuildCounts { now: String::new(), now_unix, tasks, ..BuildCounts::default() }
    }

    fn times(history: &History) -> Vec<i64> {
        history.builds.iter().map(|b| b.now_unix).collect()
    }

    #[test]
    fn builds_are_kept_in_time_order_and_bounded() {
        let mut history = History::default();
        for time in [30, 10, 20, 40] {
            history.record(at(time, 1), 3);
        }
        assert_eq!(times(&history), [20, 30, 40]);
        history.record(at(30, 7), 3);
        assert_eq!(times(&history), [20, 30, 40]);
        assert_eq!(history.builds[1].tasks["all"].selected, 7);
        history.record(at(50, 1), 0);
        assert_eq!(times(&history), [50]);
    }

    #[test]
    fn absorbing_adds_only_the_builds_not_held() {
        let mut ours = History::default();
        ours.record(at(10, 1), 10);
        ours.record(at(30, 3), 10);
        let mut theirs = History::default();
        theirs.record(at(20, 2), 10);
        theirs.record(at(30, 9), 10);
        ours.absorb(theirs);
        assert_eq!(times(&ours), [10, 20, 30]);
        assert_eq!(ours.builds[2].tasks["all"].selected, 3);
        assert_eq!(ours.builds[1].tasks["all"].selected, 2);
    }

    #[test]
    fn the_file_round_trips_and_is_stable() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("state/history.json");
        let mut history = History::default();
        history.record(at(86_400, 3), 10);
        history.record(at(172_800, 4), 10);
        history.save(&path).unwrap();
        assert_eq!(History::load(&path).unwrap(), history);
        history.record(at(259_200, 5), 10);
        history.save(&path).unwrap();
        assert_eq!(History::load(&path).unwrap().builds.len(), 3);
        assert_eq!(History::load(&History::prev_path(&path)).unwrap().builds.len(), 2);
        assert_eq!(std::fs::read(&path).unwrap(), history.to_bytes());
    }

    #[test]
    fn a_hand_written_file_is_read_in_time_order() {
        let text = r#"{"format": 1, "builds": [
            {"now": "b", "now_unix": 20, "feeds": {}, "by_type": {}, "tasks": {}},
            {"now": "a", "now_unix": 10, "feeds": {"f": {"status": "ok", "stale": false,
              "indicators": 2, "by_type": {"ip-dst": 2}}}, "by_type": {"ip-dst": 2}, "tasks": {}},
            {"now": "c", "now_unix": 20, "feeds": {}, "by_type": {}, "tasks": {}}]}"#;
        let history = History::from_bytes(text.as_bytes(), "test").unwrap();
        assert_eq!(times(&history), [10, 20]);
        assert_eq!(history.builds[0].feeds["f"].by_type["ip-dst"], 2);
        assert_eq!(history.builds[1].now, "c");
    }

    #[test]
    fn damaged_or_unknown_files_are_corrupt() {
        let good = {
            let mut history = History::default();
            history.record(at(10, 1), 5);
            history.to_bytes()
        };
        let cases: Vec<(Vec<u8>, &str)> = vec![
            (good[..good.len() / 2].to_vec(), "not a history"),
            (b"".to_vec(), "not a history"),
            (br#"{"format": 2, "builds": []}"#.to_vec(), "unknown format `2`"),
            (br#"{"format": "1", "builds": []}"#.to_vec(), "unknown format `\"1\"`"),
            (br#"{"builds": []}"#.to_vec(), "the `format` key is missing"),
            (br#"{"format": 1, "builds": [{"now_unix": "x"}]}"#.to_vec(), "not a history"),
            (b"[1, 2]".to_vec(), "not a history"),
        ];
        for (bytes, reason) in cases {
            match History::from_bytes(&bytes, "test") {
                Err(HistoryError::Corrupt { reason: actual, .. }) => {
                    assert!(
                        actual.contains(reason),
                        "{}: {actual}",
                        String::from_utf8_lossy(&bytes)
                    );
                }
                other => panic!("{}: {other:?}", String::from_utf8_lossy(&bytes)),
            }
        }
    }

    #[test]
    fn a_missing_file_is_not_found() {
        let dir = tempfile::tempdir().unwrap();
        let missing = History::load(&dir.path().join("history.json"));
        assert!(matches!(missing, Err(HistoryError::NotFound { .. })));
    }
}
