//! Which feeds list the same indicators: the distinct indicators of a build and, per pair of
//! feeds, how many of them both list, counted in one pass over every feed's records.
//!
//! Each distinct indicator remembers the first feed that listed it in a map entry of fixed
//! size; only an indicator that a second feed lists gets a list of its feeds, kept aside.
//! When feed `j` lists an indicator that feeds `a`, `b`, … listed before, the pairs `(a, j)`,
//! `(b, j)`, … each count one. The work per record is one map look-up plus one step per
//! earlier feed of that indicator, so ten million indicators over fifty feeds cost about as
//! much as the plain set of distinct indicators did, and nothing compares indicators with
//! each other.

use std::collections::HashMap;
use std::num::NonZeroU32;

use crate::indicator::Indicator;
use crate::report::OverlapPair;

type Hasher = foldhash::fast::RandomState;

/// The feeds that list one indicator so far.
#[derive(Clone, Copy)]
struct Listed {
    /// The first feed (its position among the counted feeds).
    first: u32,
    /// One more than the position in [`Overlap::several`] of the indicator's full feed list,
    /// once a second feed lists it.
    several: Option<NonZeroU32>,
}

/// Distinct indicators and shared indicators per pair of feeds, fed one feed at a time.
pub(super) struct Overlap<'a> {
    /// How many feeds take part.
    feeds: usize,
    seen: HashMap<&'a Indicator, Listed, Hasher>,
    /// The feeds of each indicator listed by two feeds or more, in the order they came.
    several: Vec<Vec<u32>>,
    /// `pairs[a × feeds + b]`, `a < b`: the indicators both feeds list.
    pairs: Vec<u64>,
}

impl<'a> Overlap<'a> {
    /// An empty count over `feeds` feeds, numbered from 0.
    pub(super) fn new(feeds: usize) -> Overlap<'a> {
        Overlap {
            feeds,
            seen: HashMap::default(),
            several: Vec::new(),
            pairs: vec![0; feeds * feeds],
        }
    }

    /// Counts one indicator of feed `feed`; feeds must come in increasing order, each one's
    /// records together. Returns whether no feed listed the indicator before (the first time
    /// a build sees it). A feed that lists an indicator twice counts it once.
    pub(super) fn add(&mut self, feed: usize, indicator: &'a Indicator) -> bool {
        debug_assert!(feed < self.feeds, "feed {feed} of {}", self.feeds);
        let feed = u32::try_from(feed).unwrap_or(u32::MAX);
        let listed = match self.seen.entry(indicator) {
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert(Listed { first: feed, several: None });
                return true;
            }
            std::collections::hash_map::Entry::Occupied(slot) => slot.into_mut(),
        };
        let list = match listed.several {
            None if listed.first == feed => return false,
            None => {
                self.several.push(vec![listed.first]);
                // The list's position plus one is never 0.
                listed.several = NonZeroU32::new(u32::try_from(self.several.len()).unwrap_or(1));
                self.several.last_mut().expect("just pushed")
            }
            Some(at) => &mut self.several[at.get() as usize - 1],
        };
        // Feeds come in order, so a repeat of this feed is the list's last entry.
        if list.last() == Some(&feed) {
            return false;
        }
        let row = feed as usize;
        for &earlier in list.iter() {
            self.pairs[earlier as usize * self.feeds + row] += 1;
        }
        list.push(feed);
        false
    }

    /// How many distinct indicators the feeds list together.
    pub(super) fn distinct(&self) -> usize {
        self.seen.len()
    }

    /// The pairs that share at least one indicator, named by `ids` (one per feed, in feed
    /// order), in feed order: `a` before `b`, rows by `a`, then by `b`. The map of every
    /// indicator goes with `self`, before the build selects and writes.
    pub(super) fn pairs(self, ids: &[&str]) -> Vec<OverlapPair> {
        let mut pairs = Vec::new();
        for a in 0..self.feeds {
            for b in a + 1..self.feeds {
                let shared = self.pairs[a * self.feeds + b];
                if shared > 0 {
                    pairs.push(OverlapPair { a: ids[a].to_owned(), b: ids[b].to_owned(), shared });
                }
            }
        }
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicator::AttrType;

    fn ip(last: u8) -> Indicator {
        Indicator::new(AttrType::IpDst, format!("192.0.2.{last}"))
    }

    #[test]
    fn pairs_count_the_indicators_both_feeds_list() {
        // Feed 0: 1..=5; feed 1: 4..=8; feed 2: 5 and 8; feed 3: nothing.
        let lists: [Vec<Indicator>; 4] =
            [(1..=5).map(ip).collect(), (4..=8).map(ip).collect(), vec![ip(5), ip(8)], Vec::new()];
        let mut overlap = Overlap::new(lists.len());
        let mut distinct = 0;
        for (feed, list) in lists.iter().enumerate() {
            for indicator in list {
                distinct += usize::from(overlap.add(feed, indicator));
            }
        }
        assert_eq!(distinct, 8);
        let pairs: Vec<(String, String, u64)> = overlap
            .pairs(&["a", "b", "c", "d"])
            .into_iter()
            .map(|p| (p.a, p.b, p.shared))
            .collect();
        let expected = [("a", "b", 2), ("a", "c", 1), ("b", "c", 2)];
        let expected: Vec<(String, String, u64)> =
            expected.iter().map(|(a, b, n)| ((*a).to_owned(), (*b).to_owned(), *n)).collect();
        assert_eq!(pairs, expected);
    }

    #[test]
    fn a_value_a_feed_repeats_counts_once_and_types_keep_values_apart() {
        let same_text = Indicator::new(AttrType::Domain, "192.0.2.1");
        let (one, again) = (ip(1), ip(1));
        let mut overlap = Overlap::new(2);
        assert!(overlap.add(0, &one));
        assert!(!overlap.add(0, &again));
        assert!(!overlap.add(1, &one));
        assert!(!overlap.add(1, &again));
        // The same text as another type is another indicator.
        assert!(overlap.add(1, &same_text));
        let pairs = overlap.pairs(&["a", "b"]);
        assert_eq!(pairs.len(), 1);
        assert_eq!(pairs[0].shared, 1);
    }

    #[test]
    fn an_indicator_of_many_feeds_counts_for_every_pair_of_them() {
        let value = ip(9);
        let feeds = 50;
        let mut overlap = Overlap::new(feeds);
        for feed in 0..feeds {
            overlap.add(feed, &value);
        }
        let ids: Vec<String> = (0..feeds).map(|i| format!("f{i:02}")).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let pairs = overlap.pairs(&ids);
        assert_eq!(pairs.len(), feeds * (feeds - 1) / 2);
        assert!(pairs.iter().all(|p| p.shared == 1));
    }
}
