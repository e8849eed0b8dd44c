//! When each feed first and last listed each indicator, remembered across builds.
//!
//! A build observes every (feed, indicator) pair it reads; the ledger keeps the first time and
//! the last time it saw each pair. Decay ages come from it when a feed carries no timestamps.
//! The ledger lives in the state folder as one file, written atomically, with the previous
//! version kept beside it as `<name>.prev`; the build's state module recovers a damaged file
//! from it or from the copy a previous build published with its site.
//!
//! ```
//! use feedsmith::indicator::{AttrType, Indicator};
//! use feedsmith::ledger::{Ledger, Seen};
//!
//! let mut ledger = Ledger::new();
//! let ip = Indicator::new(AttrType::IpDst, "192.0.2.1");
//! ledger.observe("abuse-ch", &ip, 1_000);
//! let seen = ledger.observe("abuse-ch", &ip, 2_000);
//! assert_eq!(seen, Seen { first_seen: 1_000, last_seen: 2_000 });
//! ```
//!
//! # Architecture
//! - this file: the in-memory [`Ledger`], one hash map per feed keyed by [`Indicator`].
//! - `file`: the on-disk format (binary, versioned, prefix-compressed, checksummed) and the
//!   atomic save.
//! - `v1`: the first, text format, still read so that an older state folder is migrated.

mod file;
mod v1;

pub use file::LedgerError;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::indicator::Indicator;

/// When a feed first and last listed an indicator, in Unix seconds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Seen {
    /// The first build (or bootstrap source) that saw the pair.
    pub first_seen: i64,
    /// The last build that saw the pair.
    pub last_seen: i64,
}

impl Seen {
    /// The smallest interval holding both.
    #[must_use]
    fn widen(self, other: Seen) -> Seen {
        Seen {
            first_seen: self.first_seen.min(other.first_seen),
            last_seen: self.last_seen.max(other.last_seen),
        }
    }
}

/// The hasher of the ledger's tables: several times faster than the standard one on short
/// values, and seeded at random per process, so that values chosen by a feed cannot be made
/// to collide in advance.
type Hasher = foldhash::fast::RandomState;

/// One feed's entries.
#[derive(Clone, Debug, Default)]
struct FeedTable {
    id: Box<str>,
    entries: HashMap<Indicator, Seen, Hasher>,
}

impl FeedTable {
    /// Widens the pair's stored interval to hold `seen` (sorted), or stores it; the result.
    fn observe(&mut self, indicator: &Indicator, seen: Seen) -> Seen {
        if let Some(stored) = self.entries.get_mut(indicator) {
            *stored = stored.widen(seen);
            *stored
        } else {
            self.entries.insert(indicator.clone(), seen);
            seen
        }
    }
}

/// First and last seen times per (feed, indicator).
///
/// Feed ids are stored once each; an entry costs its indicator (type and canonical value) and
/// two integers. Lookups by `&str` feed id and `&Indicator` allocate nothing.
#[derive(Clone, Debug, Default)]
pub struct Ledger {
    feeds: Vec<FeedTable>,
    index: HashMap<Box<str>, usize>,
}

impl Ledger {
    /// An empty ledger.
    #[must_use]
    pub fn new() -> Ledger {
        Ledger::default()
    }

    /// Reads a ledger file.
    ///
    /// Fails with [`LedgerError::NotFound`] when there is no file, [`LedgerError::Corrupt`]
    /// when it is truncated, fails its checksum, has an unknown version or does not parse, and
    /// [`LedgerError::Io`] when it cannot be read.
    pub fn load(path: &Path) -> Result<Ledger, LedgerError> {
        file::load(path)
    }

    /// Writes the ledger atomically: to `<name>.tmp` in the same folder, flushed to disk, then
    /// renamed over `path`. The file it replaces is kept as `<name>.prev`.
    ///
    /// The bytes are those of [`Ledger::to_bytes`]: they depend only on the entries, not on
    /// the order they were observed in.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        file::save(self, path)
    }

    /// The bytes of the ledger's file, in the current format; the same entries always give
    /// the same bytes. Sections are encoded on every core.
    #[must_use]
    pub fn to_bytes(&self) -> Vec<u8> {
        file::encode(self)
    }

    /// Reads the bytes of a ledger file (the current format or version 1) that came from
    /// `origin` (a path or a URL, named in the error). Fails with [`LedgerError::Corrupt`]
    /// when the bytes are truncated, damaged, of an unknown version or not a ledger.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Ledger, LedgerError> {
        file::decode(bytes)
            .map_err(|reason| LedgerError::Corrupt { path: PathBuf::from(origin), reason })
    }

    /// Where [`Ledger::save`] keeps the file it replaces: `<name>.prev` beside `path`.
    #[must_use]
    pub fn prev_path(path: &Path) -> PathBuf {
        crate::fs::previous_path(path)
    }

    /// Records that `feed` lists `indicator` at time `now` and returns the updated times.
    ///
    /// A new pair gets `now` as both times. A known pair keeps its first-seen time and gets
    /// `now` as last-seen time; a `now` outside the known interval (a clock set back, a replayed
    /// older build) widens the interval instead of shrinking it.
    pub fn observe(&mut self, feed: &str, indicator: &Indicator, now: i64) -> Seen {
        self.merge(feed, indicator, Seen { first_seen: now, last_seen: now })
    }

    /// [`Ledger::observe`] for many feeds at once, each feed's table on its own core: every
    /// indicator of a `(feed, now, indicators)` batch is seen at that `now`.
    pub fn observe_all<'i, I>(&mut self, batches: Vec<(&str, i64, I)>)
    where
        I: IntoIterator<Item = &'i Indicator> + Send,
    {
        let mut by_table: Vec<Vec<(i64, I)>> = Vec::new();
        for (feed, now, indicators) in batches {
            self.table_mut(feed);
            let position = self.index[feed];
            if by_table.len() <= position {
                by_table.resize_with(position + 1, Vec::new);
            }
            by_table[position].push((now, indicators));
        }
        self.feeds.par_iter_mut().zip(by_table).for_each(|(table, batches)| {
            for (now, indicators) in batches {
                let seen = Seen { first_seen: now, last_seen: now };
                for indicator in indicators {
                    table.observe(indicator, seen);
                }
            }
        });
    }

    /// Merges known times for a pair, for example from a previously published site: the
    /// stored interval grows to hold `seen`. Returns the updated times.
    pub fn merge(&mut self, feed: &str, indicator: &Indicator, seen: Seen) -> Seen {
        let seen = Seen {
            first_seen: seen.first_seen.min(seen.last_seen),
            last_seen: seen.first_seen.max(seen.last_seen),
        };
        self.table_mut(feed).observe(indicator, seen)
    }

    /// The times recorded for a pair.
    #[must_use]
    pub fn get(&self, feed: &str, indicator: &Indicator) -> Option<Seen> {
        let &position = self.index.get(feed)?;
        self.feeds.get(position)?.entries.get(indicator).copied()
    }

    /// The number of (feed, indicator) pairs.
    #[must_use]
    pub fn len(&self) -> usize {
        self.feeds.iter().map(|feed| feed.entries.len()).sum()
    }

    /// Whether no pair is recorded.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.feeds.iter().all(|feed| feed.entries.is_empty())
    }

    /// Keeps only the pairs for which `keep` returns `true` (pruning old or removed feeds).
    pub fn retain(&mut self, mut keep: impl FnMut(&str, &Indicator, Seen) -> bool) {
        for feed in &mut self.feeds {
            let id = &feed.id;
            feed.entries.retain(|indicator, seen| keep(id, indicator, *seen));
        }
    }

    /// Every pair, in no particular order.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &Indicator, Seen)> {
        self.feeds.iter().flat_map(|feed| {
            feed.entries.iter().map(|(indicator, seen)| (&*feed.id, indicator, *seen))
        })
    }

    /// The ids of the feeds with at least one pair, in no particular order.
    pub fn feeds(&self) -> impl Iterator<Item = &str> {
        self.feeds.iter().filter(|feed| !feed.entries.is_empty()).map(|feed| &*feed.id)
    }

    /// The table of a feed, created when new.
    fn table_mut(&mut self, feed: &str) -> &mut FeedTable {
        let position = if let Some(&position) = self.index.get(feed) {
            position
        } else {
            let position = self.feeds.len();
            self.feeds.push(FeedTable { id: feed.into(), entries: HashMap::default() });
            self.index.insert(feed.into(), position);
            position
        };
        &mut self.feeds[position]
    }
}

#[cfg(test)]
mod tests;
