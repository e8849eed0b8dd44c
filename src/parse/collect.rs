//! De-duplication of accepted records within one feed, shared by every format.
//!
//! A feed can list millions of values, so the index must not hold a second copy of each
//! canonical value. It maps a 64-bit hash of the indicator to the position of its record and
//! compares against the record itself; the rare values whose hash collides with a different
//! indicator go to a small overflow map that does own its keys.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::hash::{BuildHasher, BuildHasherDefault, Hasher};
use std::sync::Arc;

use super::meta::Details;
use super::{ParseStats, ParsedFeed, Record};
use regex::Regex;

use crate::indicator::{self, Indicator, Options, RejectReason};

/// Accepted records in first-seen order, with an index for de-duplication.
pub(crate) struct Collector {
    records: Vec<Record>,
    index: HashMap<u64, usize, BuildHasherDefault<HashIsKey>>,
    overflow: HashMap<Indicator, usize>,
    state: RandomState,
    /// The empty event tags of the records this collector makes (see [`Record::bare_sharing`]).
    no_tags: Arc<[Arc<str>]>,
    /// Whether repeated indicators are merged; a collector of one part of a body read on
    /// several threads keeps them all for [`dedup_parts`].
    dedup: bool,
}

/// The hasher of the index: foldhash's quality variant, seeded at random per process, since
/// the values come from feeds; `SipHash` cost a fifth of a large free-text parse. A value
/// crafted to collide still costs only a comparison: the index compares the records.
type RandomState = foldhash::quality::RandomState;

/// What [`Collector::take`] did with a candidate value.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Taken {
    /// The feed's `exclude_regex` matched; counted in `stats.excluded`.
    Excluded,
    /// Classified and collected (or merged as a duplicate); warnings counted.
    Accepted,
    /// Not an indicator; the caller counts it, since formats count words differently.
    Rejected(RejectReason),
}

/// What [`Collector::push`] did with a record.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    /// The indicator was new; the record was added.
    New,
    /// The indicator was already there; the record was dropped.
    Duplicate,
    /// The indicator was already there and the new record replaced the old one in place.
    Replaced,
}

impl Collector {
    /// An empty collector.
    pub(crate) fn new() -> Collector {
        Collector::with_capacity(0)
    }

    /// An empty collector with room for `records` distinct records.
    pub(crate) fn with_capacity(records: usize) -> Collector {
        Collector {
            records: Vec::with_capacity(records),
            index: HashMap::with_capacity_and_hasher(records, BuildHasherDefault::default()),
            overflow: HashMap::new(),
            state: RandomState::default(),
            no_tags: Arc::from(Vec::new()),
            dedup: true,
        }
    }

    /// A collector that keeps every record it is given, repeats included, with room for
    /// `records`: the collector of one part of a body, whose repeats [`dedup_parts`] finds.
    pub(crate) fn keeping_all(records: usize) -> Collector {
        Collector {
            records: Vec::with_capacity(records),
            index: HashMap::default(),
            overflow: HashMap::new(),
            state: RandomState::default(),
            no_tags: Arc::from(Vec::new()),
            dedup: false,
        }
    }

    /// Takes one candidate value of a text feed: the exclusion pattern, MISP type detection,
    /// the warnings raised and de-duplication, counted in `stats`.
    pub(crate) fn take(
        &mut self,
        value: &str,
        exclude: Option<&Regex>,
        opts: Options,
        stats: &mut ParseStats,
    ) -> Taken {
        self.take_detailed(value, &Details::default(), exclude, opts, stats)
    }

    /// Takes one candidate value with what its row or record says about it: a declared type
    /// (the value is then checked as that type instead of detected), times and tags. Of two
    /// records of one indicator, the one last seen most recently is kept, at the first one's
    /// position.
    pub(crate) fn take_detailed(
        &mut self,
        value: &str,
        details: &Details,
        exclude: Option<&Regex>,
        opts: Options,
        stats: &mut ParseStats,
    ) -> Taken {
        if exclude.is_some_and(|re| re.is_match(value)) {
            stats.excluded += 1;
            return Taken::Excluded;
        }
        let classified = match details.kind {
            Some(kind) => indicator::normalize(kind, value, &opts),
            None => indicator::classify(value, &opts),
        };
        match classified {
            Ok(classified) => {
                for warning in classified.warnings.iter() {
                    stats.warn(warning);
                }
                let mut record = Record::bare_sharing(classified.indicator, &self.no_tags);
                record.first_seen = details.first_seen;
                record.last_seen = details.last_seen;
                record.tags.clone_from(&details.tags);
                let pushed = if record.last_seen.is_some() {
                    self.push_newest(record)
                } else {
                    self.push(record)
                };
                Collector::count(pushed, stats);
                Taken::Accepted
            }
            Err(reason) => Taken::Rejected(reason),
        }
    }

    /// Adds a record unless its indicator is already there (the first occurrence wins).
    pub(crate) fn push(&mut self, record: Record) -> Pushed {
        self.push_with(record, |_, _| false)
    }

    /// Adds a record; for a repeated indicator, keeps the record whose reference time
    /// (`last_seen`, else `timestamp`) is the newest, at the first occurrence's position.
    pub(crate) fn push_newest(&mut self, record: Record) -> Pushed {
        self.push_with(record, |old, new| reference_time(new) > reference_time(old))
    }

    fn push_with(&mut self, record: Record, replace: impl Fn(&Record, &Record) -> bool) -> Pushed {
        if !self.dedup {
            self.records.push(record);
            return Pushed::New;
        }
        let hash = self.state.hash_one(&record.indicator);
        let next = self.records.len();
        // One probe of the index: at millions of values each probe is a cache miss.
        let slot = match self.index.entry(hash) {
            Entry::Vacant(vacant) => {
                vacant.insert(next);
                None
            }
            Entry::Occupied(at) if self.records[*at.get()].indicator == record.indicator => {
                Some(*at.get())
            }
            Entry::Occupied(_) => {
                if let Some(&at) = self.overflow.get(&record.indicator) {
                    Some(at)
                } else {
                    self.overflow.insert(record.indicator.clone(), next);
                    None
                }
            }
        };
        match slot {
            None => {
                self.records.push(record);
                Pushed::New
            }
            Some(at) if replace(&self.records[at], &record) => {
                self.records[at] = record;
                Pushed::Replaced
            }
            Some(_) => Pushed::Duplicate,
        }
    }

    /// Counts a pushed record in `stats` (`accepted`, and `duplicates` when it repeated one).
    pub(crate) fn count(pushed: Pushed, stats: &mut ParseStats) {
        stats.accepted += 1;
        if pushed != Pushed::New {
            stats.duplicates += 1;
        }
    }

    /// The parsed feed: the records and the stats gathered alongside.
    pub(crate) fn finish(self, stats: ParseStats) -> ParsedFeed {
        ParsedFeed { records: self.records, stats }
    }
}

/// How many shards [`dedup_parts`] splits the values into, by their hash: enough for every
/// thread to take several, few enough that each holds many values.
const SHARDS: usize = 64;

/// De-duplicates the records of consecutive parts of one body, each part kept whole (repeats
/// included) by a [`Collector::keeping_all`], exactly as one collector reading the whole body
/// would: the distinct indicators in first-seen order, a repeated one kept by the same rule
/// ([`Collector::take_detailed`]: the first record, replaced by a later one carrying a newer
/// last sighting), every repeat counted in `stats.duplicates`.
///
/// The work is spread over the rayon pool: the values are hashed part by part, split into
/// shards by hash, and each shard is de-duplicated on its own, walking its values in input
/// order; only putting the kept records in order is done on one thread.
pub(crate) fn dedup_parts(parts: Vec<Vec<Record>>, stats: &mut ParseStats) -> Vec<Record> {
    use rayon::prelude::*;

    /// A record's place: its part and its index in the part.
    type At = (usize, usize);

    let hasher = RandomState::default();
    // Per part, per shard: the index of each record in the part and its hash, in order.
    let shards: Vec<Vec<Vec<(usize, u64)>>> = parts
        .par_iter()
        .map(|records| {
            let mut by_shard = vec![Vec::new(); SHARDS];
            for (index, record) in records.iter().enumerate() {
                let hash = hasher.hash_one(&record.indicator);
                // The top bits choose the shard; the index below hashes all of them.
                by_shard[(hash >> 58) as usize % SHARDS].push((index, hash));
            }
            by_shard
        })
        .collect();
    let record = |(part, index): At| &parts[part][index];
    // Per shard: each distinct indicator's first place and the place of the record kept for
    // it, and the number of repeats.
    let decided: Vec<(Vec<(At, At)>, u64)> = (0..SHARDS)
        .into_par_iter()
        .map(|shard| {
            let mut index: HashMap<u64, usize, BuildHasherDefault<HashIsKey>> = HashMap::default();
            let mut overflow: HashMap<&Indicator, usize> = HashMap::new();
            let mut kept: Vec<(At, At)> = Vec::new();
            let mut repeats = 0;
            for (part, by_shard) in shards.iter().enumerate() {
                for &(at, hash) in &by_shard[shard] {
                    let here = (part, at);
                    let new = record(here);
                    let slot = match index.entry(hash) {
                        Entry::Vacant(vacant) => {
                            vacant.insert(kept.len());
                            None
                        }
                        Entry::Occupied(o)
                            if record(kept[*o.get()].0).indicator == new.indicator =>
                        {
                            Some(*o.get())
                        }
                        Entry::Occupied(_) => {
                            if let Some(&slot) = overflow.get(&new.indicator) {
                                Some(slot)
                            } else {
                                overflow.insert(&new.indicator, kept.len());
                                None
                            }
                        }
                    };
                    match slot {
                        None => kept.push((here, here)),
                        Some(slot) => {
                            repeats += 1;
                            let current = record(kept[slot].1);
                            if new.last_seen.is_some()
                                && reference_time(new) > reference_time(current)
                            {
                                kept[slot].1 = here;
                            }
                        }
                    }
                }
            }
            (kept, repeats)
        })
        .collect();
    drop(shards);

    // Which places hold a kept indicator, and the records that take the place of a first one.
    let mut keep: Vec<Vec<bool>> = parts.iter().map(|records| vec![false; records.len()]).collect();
    let mut moves: Vec<(At, At)> = Vec::new();
    for (kept, repeats) in decided {
        stats.duplicates += repeats;
        for (first, winner) in kept {
            keep[first.0][first.1] = true;
            if winner != first {
                moves.push((first, winner));
            }
        }
    }
    let mut parts: Vec<Vec<Option<Record>>> =
        parts.into_iter().map(|records| records.into_iter().map(Some).collect()).collect();
    // A winner is a repeat, never a first place, so no move reads a place another one wrote.
    for (first, winner) in moves {
        let record = parts[winner.0][winner.1].take();
        parts[first.0][first.1] = record;
    }
    let total = keep.iter().map(|flags| flags.iter().filter(|&&k| k).count()).sum();
    let mut records = Vec::with_capacity(total);
    for (slots, flags) in parts.into_iter().zip(keep) {
        records.extend(slots.into_iter().zip(flags).filter(|(_, k)| *k).filter_map(|(r, _)| r));
    }
    records
}

/// The time a record's freshness is judged by.
fn reference_time(record: &Record) -> Option<i64> {
    record.last_seen.or(record.timestamp)
}

/// A hasher for keys that already are hashes.
#[derive(Default)]
pub(crate) struct HashIsKey(u64);

impl Hasher for HashIsKey {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicator::AttrType;

    fn record(value: &str, timestamp: Option<i64>) -> Record {
        let mut record = Record::bare(Indicator::new(AttrType::IpDst, value));
        record.timestamp = timestamp;
        record
    }

    #[test]
    fn keeps_the_first_occurrence_in_first_seen_order() {
        let mut c = Collector::new();
        assert_eq!(c.push(record("192.0.2.2", Some(1))), Pushed::New);
        assert_eq!(c.push(record("192.0.2.1", None)), Pushed::New);
        assert_eq!(c.push(record("192.0.2.2", Some(5))), Pushed::Duplicate);
        let feed = c.finish(ParseStats::default());
        let values: Vec<_> = feed.records.iter().map(|r| &*r.indicator.value).collect();
        assert_eq!(values, ["192.0.2.2", "192.0.2.1"]);
        assert_eq!(feed.records[0].timestamp, Some(1));
    }

    #[test]
    fn push_newest_replaces_an_older_record_in_place() {
        let mut c = Collector::new();
        c.push_newest(record("192.0.2.2", Some(1)));
        c.push_newest(record("192.0.2.1", None));
        assert_eq!(c.push_newest(record("192.0.2.2", Some(5))), Pushed::Replaced);
        assert_eq!(c.push_newest(record("192.0.2.2", Some(3))), Pushed::Duplicate);
        let feed = c.finish(ParseStats::default());
        assert_eq!(feed.records.len(), 2);
        assert_eq!(feed.records[0].timestamp, Some(5));
    }

    #[test]
    fn same_value_of_another_type_is_not_a_duplicate() {
        let mut c = Collector::new();
        c.push(record("192.0.2.2", None));
        let other = Record::bare(Indicator::new(AttrType::IpSrc, "192.0.2.2"));
        assert_eq!(c.push(other), Pushed::New);
    }

    #[test]
    fn colliding_hashes_still_compare_values() {
        // Force a collision by giving the second indicator the first one's index slot.
        let mut c = Collector::new();
        c.push(record("192.0.2.1", None));
        let hash = c.state.hash_one(Indicator::new(AttrType::IpDst, "192.0.2.9"));
        c.index.insert(hash, 0);
        assert_eq!(c.push(record("192.0.2.9", None)), Pushed::New);
        assert_eq!(c.push(record("192.0.2.9", None)), Pushed::Duplicate);
        assert_eq!(c.push(record("192.0.2.1", None)), Pushed::Duplicate);
        assert_eq!(c.finish(ParseStats::default()).records.len(), 2);
    }
}
