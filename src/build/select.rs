//! A task's selection: which indicators of its feeds it keeps, their scores, their order.
//!
//! For every record of every feed the task reads, in its types and IP version:
//!
//! 1. the model is the task's, or with `auto` the first model (by id) covering the type;
//! 2. the base score comes from the record's tags, its event's tags and the feed's MISP tags
//!    with MISP's weighting, else the feed's `base_score`, else the model's default;
//! 3. the reference time is MISP's (the newest "seen" sighting, `last_seen`, else the attribute
//!    `timestamp`) when the feed gives one; otherwise the last build that saw the value in that
//!    feed, from the ledger (this build, unless the feed's last good data stands in for a
//!    failed fetch);
//! 4. the model's formula gives the score: `polynomial_extended` also zeroes it once a
//!    `retention:*` tag has run out since the record's last change (its `timestamp`, else
//!    the first build that saw it), `sightings` scales the base score by the record's
//!    sightings;
//! 5. an indicator listed by several feeds keeps its best score.
//!
//! Steps 1 to 3 are `score::Scorer::score`, the function a look-up explains; [`take`] and
//! [`keeps`] are the task's decisions before and after the score, which a look-up shares too.
//!
//! An indicator is kept when its score is at least the minimum (the model's threshold unless
//! the task sets `min_score`), so "kept" is exactly MISP's "not decayed". Types no model
//! covers are kept unscored unless the task says otherwise.
//!
//! A task that asks for addresses (`ip-dst`, `ip-src`) or host names (`hostname`) but not for
//! their `|port` form takes the address or name of a `…|port` value: a C2 list written as
//! `198.51.100.10:8080` belongs in an IP blocklist as `198.51.100.10` (bug case 10). A task
//! that lists the `|port` type keeps the pair whole.
//!
//! Last, each distinct indicator that would be kept is checked once against the task's
//! warning lists (in parallel); one that any list matches is left out, and counted under
//! every list that matches it.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::{HashMap, HashSet};
use std::hash::BuildHasher as _;
use std::net::IpAddr;

use ipnet::IpNet;
use rayon::prelude::*;

use super::score::{FeedBases, Scorer, minimum, model_for};
use crate::config::{Project, Task};
use crate::decay::Model;
use crate::export::Entry;
use crate::filter::{Subject, WarningList};
use crate::indicator::{AttrType, Family, Indicator};
use crate::ledger::Ledger;
use crate::parse::ParsedFeed;
use crate::report::ScoreHistogram;

/// The hasher of the selection's maps.
type Hasher = foldhash::fast::RandomState;

/// A task's selected indicators, sorted, and what was left out.
pub(super) struct Selection<'a> {
    pub(super) entries: Vec<Entry<'a>>,
    pub(super) expired: u64,
    pub(super) unscored: u64,
    /// Distinct indicators left out because no model scores them and the task keeps scored
    /// indicators only (`keep_unscored = false`).
    pub(super) unscored_dropped: u64,
    /// Distinct indicators left out because they overlap a special-purpose range.
    pub(super) reserved: u64,
    /// Distinct addresses and networks left out because they are of the other IP version
    /// than the task's `ip_version`.
    pub(super) other_ip_version: u64,
    /// Selected indicators listed by two feeds or more.
    pub(super) in_several_feeds: u64,
    /// Selected indicators each feed lists, by feed id.
    pub(super) by_feed: std::collections::BTreeMap<String, u64>,
    /// Distinct indicators left out because a warning list matches them.
    pub(super) warninglisted: u64,
    /// Per list of the task (in the task's order): how many indicators it matched, and the
    /// first `examples` of them in output order.
    pub(super) removed: Vec<(u64, Vec<Cow<'a, Indicator>>)>,
    /// Per model index: the scores of the indicators it scored that the task kept or left out
    /// as expired.
    pub(super) scores: std::collections::BTreeMap<usize, ScoreHistogram>,
    /// Per entry, in the order of `entries`: the model that scored it and when its best score
    /// falls below the model's threshold.
    pub(super) scored: Vec<ModelExpiry>,
    /// Every distinct indicator the task took but left out, and why, for the site's look-up.
    pub(super) dropped: Vec<Dropped<'a>>,
}

/// The model that scored an entry, by index, and when its best score falls below the model's
/// threshold.
pub(super) type ModelExpiry = (Option<usize>, Option<i64>);

/// Why a task left out an indicator it took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Why {
    /// Its score is below the minimum.
    Expired,
    /// A warning list of the task matches it.
    Warninglisted,
    /// It overlaps a special-purpose range.
    Reserved,
    /// No model scores it and the task keeps scored indicators only.
    Unscored,
}

impl Why {
    /// The code the look-up index and page use.
    pub(crate) const fn as_str(self) -> &'static str {
        match self {
            Why::Expired => "expired",
            Why::Warninglisted => "warninglisted",
            Why::Reserved => "reserved",
            Why::Unscored => "unscored",
        }
    }
}

/// An indicator a task took and left out.
pub(crate) struct Dropped<'a> {
    /// The indicator as the task took it.
    pub(crate) indicator: Cow<'a, Indicator>,
    /// Why.
    pub(crate) why: Why,
    /// Its best score, when a model scored it.
    pub(crate) score: Option<f64>,
    /// The model, by index.
    pub(crate) model: Option<usize>,
    /// When its best score falls below the model's threshold.
    pub(crate) expires_at: Option<i64>,
    /// The slots (in the task's list of warning lists) of the lists that match it.
    pub(crate) lists: Vec<usize>,
    /// The feeds that list it, sorted (empty for the indicators left out before scoring).
    pub(crate) feeds: Vec<&'a str>,
}

/// What a task makes of one record of a feed, before the records of one indicator are
/// merged.
enum Look<'a> {
    /// Not of the task's types, or not an address in a task of one IP version.
    No,
    /// An address or network of the other IP version.
    OtherIpVersion(Cow<'a, Indicator>),
    /// An address or network overlapping a special-purpose range.
    Reserved(Cow<'a, Indicator>),
    /// Taken, as this indicator, with what this record says of it.
    Taken(Cow<'a, Indicator>, Reading),
}

/// What one record says of an indicator a task takes.
struct Reading {
    model: Option<usize>,
    score: Option<f64>,
    expires_at: Option<i64>,
    reference_time: i64,
    /// The first sighting of the record's own indicator in this feed, from the ledger.
    first_seen: Option<i64>,
    to_ids: bool,
}

/// Takes, scores and dates one record of `feed` for `task`.
fn look<'a>(
    project: &Project,
    task: &Task,
    scorer: &Scorer<'_>,
    bases: &mut FeedBases<'a>,
    feed: &crate::config::Feed,
    record: &'a crate::parse::Record,
    ledger: &Ledger,
) -> Look<'a> {
    let indicator = match take(task, &record.indicator) {
        Taken::Yes(indicator) => indicator,
        Taken::No => return Look::No,
        Taken::OtherIpVersion(indicator) => return Look::OtherIpVersion(indicator),
        Taken::Reserved(indicator) => return Look::Reserved(indicator),
    };
    let model = model_for(project, task, indicator.kind);
    let (score, expires_at, reference_time) = match model {
        Some(model) => {
            let result = scorer.score(bases, record, model);
            (Some(result.score.value), result.score.expires_at, result.reference.time)
        }
        None => (None, None, scorer.reference(record, feed).time),
    };
    // The ledger is keyed by the record's own indicator (an `ip-dst|port` value for the
    // address a task takes from it).
    let first_seen = ledger.get(&feed.id, &record.indicator).map(|seen| seen.first_seen);
    let reading =
        Reading { model, score, expires_at, reference_time, first_seen, to_ids: record.to_ids };
    Look::Taken(indicator, reading)
}

struct Candidate<'a> {
    score: Option<f64>,
    /// The model that scored it: the same in every feed, since it follows from the type.
    model: Option<usize>,
    /// When the best score falls below the model's threshold.
    expires_at: Option<i64>,
    to_ids: bool,
    reference_time: i64,
    /// The earliest first sighting in the ledger over the listing feeds.
    first_seen: Option<i64>,
    feeds: Vec<&'a str>,
}

pub(super) fn select<'a>(
    project: &'a Project,
    task: &Task,
    parsed: &[Option<&'a ParsedFeed>],
    models: &[Model],
    ledger: &Ledger,
    now: i64,
    examples: usize,
) -> Selection<'a> {
    let scorer = Scorer::new(models, ledger, now);
    // foldhash rather than SipHash: the keys are the build's own values, and hashing millions
    // of them with SipHash showed in profiles.
    // Room for every record of the task's feeds from the start: growing a map of millions
    // rehashes it each time it doubles.
    let records: usize = task
        .feeds
        .iter()
        .filter_map(|&i| parsed.get(i).copied().flatten())
        .map(|p| p.records.len())
        .sum();
    let mut candidates: HashMap<Cow<'a, Indicator>, Candidate<'a>, Hasher> =
        HashMap::with_capacity_and_hasher(records, Hasher::default());
    let mut reserved: HashSet<Cow<'a, Indicator>, Hasher> = HashSet::default();
    // Only counted, distinct: gathered, then sorted and deduplicated on every core, which
    // costs less than a set when a feed lists millions of the other version.
    let mut other_ip_version: Vec<Cow<'a, Indicator>> = Vec::new();
    for &feed_index in &task.feeds {
        let Some(feed_parsed) = parsed.get(feed_index).copied().flatten() else { continue };
        let feed = &project.feeds[feed_index];
        // What the task makes of each record is worked out on every core, each thread with
        // its own cache of base scores; only the merge by indicator runs on one.
        let looks: Vec<Look<'a>> = feed_parsed
            .records
            .par_iter()
            .with_min_len(4096)
            .map_init(
                || FeedBases::new(feed),
                |bases, record| look(project, task, &scorer, bases, feed, record, ledger),
            )
            .collect();
        for look in looks {
            let (indicator, seen) = match look {
                Look::No => continue,
                Look::OtherIpVersion(indicator) => {
                    other_ip_version.push(indicator);
                    continue;
                }
                Look::Reserved(indicator) => {
                    reserved.insert(indicator);
                    continue;
                }
                Look::Taken(indicator, seen) => (indicator, seen),
            };
            let candidate = candidates.entry(indicator).or_insert_with(|| Candidate {
                score: None,
                model: seen.model,
                expires_at: None,
                to_ids: false,
                reference_time: i64::MIN,
                first_seen: None,
                feeds: Vec::new(),
            });
            if let Some(value) = seen.score {
                // The best score's expiry; of equal scores, the latest.
                let better = candidate.score.is_none_or(|best| value > best);
                let equal = candidate.score == Some(value);
                if better
                    || (equal
                        && seen
                            .expires_at
                            .is_none_or(|e| candidate.expires_at.is_some_and(|c| e > c)))
                {
                    candidate.expires_at = seen.expires_at;
                }
                candidate.score = Some(candidate.score.map_or(value, |s: f64| s.max(value)));
            }
            candidate.to_ids |= seen.to_ids;
            candidate.reference_time = candidate.reference_time.max(seen.reference_time);
            if let Some(first) = seen.first_seen {
                candidate.first_seen = Some(candidate.first_seen.map_or(first, |f| f.min(first)));
            }
            if !candidate.feeds.contains(&feed.id.as_str()) {
                candidate.feeds.push(&feed.id);
            }
        }
    }

    let mut histograms: std::collections::BTreeMap<usize, ScoreHistogram> =
        std::collections::BTreeMap::new();
    let mut count_score = |indicator: &Indicator, candidate: &Candidate<'a>| {
        if let (Some(model), Some(score), Some(min)) =
            (candidate.model, candidate.score, minimum(project, task, indicator.kind))
        {
            histograms.entry(model).or_default().add(score, min);
        }
    };
    let mut expired = 0;
    let mut unscored_dropped = 0;
    let mut dropped: Vec<Dropped<'a>> = Vec::new();
    let before = |why: Why| {
        move |indicator: Cow<'a, Indicator>| Dropped {
            indicator,
            why,
            score: None,
            model: None,
            expires_at: None,
            lists: Vec::new(),
            feeds: Vec::new(),
        }
    };
    dropped.extend(reserved.iter().cloned().map(before(Why::Reserved)));
    // Addresses of the other IP version are not dropped values: the task does not take them.
    let mut kept: Vec<(Cow<'a, Indicator>, Candidate<'a>)> = Vec::with_capacity(candidates.len());
    for (indicator, mut candidate) in candidates {
        let why = match keeps(project, task, indicator.kind, candidate.score) {
            Keeps::Expired => {
                expired += 1;
                count_score(&indicator, &candidate);
                Why::Expired
            }
            Keeps::Unscored => {
                unscored_dropped += 1;
                Why::Unscored
            }
            Keeps::Kept => {
                kept.push((indicator, candidate));
                continue;
            }
        };
        candidate.feeds.sort_unstable();
        dropped.push(Dropped {
            indicator,
            why,
            score: candidate.score,
            model: candidate.model,
            expires_at: candidate.expires_at,
            lists: Vec::new(),
            feeds: candidate.feeds,
        });
    }

    // Warning lists: each distinct indicator once, against every list of the task.
    let lists: Vec<&WarningList> =
        task.warninglists.iter().map(|&i| &*project.warninglists[i].list).collect();
    let matched: Vec<Option<Vec<usize>>> = if lists.is_empty() {
        Vec::new()
    } else {
        kept.par_iter()
            .map(|(indicator, _)| {
                let subject = Subject::new(indicator);
                let hits: Vec<usize> = lists
                    .iter()
                    .enumerate()
                    .filter(|(_, list)| list.matches_subject(&subject))
                    .map(|(slot, _)| slot)
                    .collect();
                (!hits.is_empty()).then_some(hits)
            })
            .collect()
    };
    let mut removed: Vec<Vec<Cow<'a, Indicator>>> = vec![Vec::new(); lists.len()];
    let mut warninglisted = 0;
    let mut unscored = 0;
    let mut in_several_feeds = 0;
    let mut by_feed: std::collections::BTreeMap<String, u64> = std::collections::BTreeMap::new();
    let mut keyed: Vec<(Entry<'a>, ModelExpiry)> = Vec::with_capacity(kept.len());
    for (position, (indicator, mut candidate)) in kept.into_iter().enumerate() {
        if let Some(Some(hits)) = matched.get(position) {
            for &slot in hits {
                removed[slot].push(indicator.clone());
            }
            warninglisted += 1;
            candidate.feeds.sort_unstable();
            dropped.push(Dropped {
                indicator,
                why: Why::Warninglisted,
                score: candidate.score,
                model: candidate.model,
                expires_at: candidate.expires_at,
                lists: hits.clone(),
                feeds: candidate.feeds,
            });
            continue;
        }
        if candidate.score.is_none() {
            unscored += 1;
        }
        count_score(&indicator, &candidate);
        candidate.feeds.sort_unstable();
        if candidate.feeds.len() > 1 {
            in_several_feeds += 1;
        }
        for feed in &candidate.feeds {
            *by_feed.entry((*feed).to_owned()).or_default() += 1;
        }
        let model_expiry = (candidate.model, candidate.expires_at);
        let entry = Entry {
            indicator,
            to_ids: candidate.to_ids,
            score: candidate.score,
            reference_time: candidate.reference_time,
            first_seen: candidate.first_seen,
            feeds: candidate.feeds,
        };
        keyed.push((entry, model_expiry));
    }
    // The output order, keyed and sorted on every core.
    let mut keyed: Vec<(SortKey, Entry<'a>, ModelExpiry)> = keyed
        .into_par_iter()
        .map(|(entry, model_expiry)| (SortKey::of(&entry.indicator), entry, model_expiry))
        .collect();
    keyed.par_sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.indicator.value.cmp(&b.1.indicator.value))
            .then_with(|| a.1.indicator.kind.cmp(&b.1.indicator.kind))
    });
    let (entries, model_expiries): (Vec<Entry<'a>>, Vec<ModelExpiry>) =
        keyed.into_par_iter().map(|(_, entry, e)| (entry, e)).unzip();
    let removed = removed
        .into_iter()
        .map(|indicators| {
            let count = indicators.len() as u64;
            let order = |a: &Cow<'a, Indicator>, b: &Cow<'a, Indicator>| {
                SortKey::of(a)
                    .cmp(&SortKey::of(b))
                    .then_with(|| a.value.cmp(&b.value))
                    .then_with(|| a.kind.cmp(&b.kind))
            };
            let mut first = indicators;
            if first.len() > examples && examples > 0 {
                first.select_nth_unstable_by(examples - 1, order);
            }
            first.truncate(examples);
            first.sort_unstable_by(order);
            (count, first)
        })
        .collect();
    Selection {
        entries,
        expired,
        unscored,
        unscored_dropped,
        reserved: reserved.len() as u64,
        other_ip_version: distinct(&other_ip_version),
        in_several_feeds,
        by_feed,
        warninglisted,
        removed,
        scores: histograms,
        scored: model_expiries,
        dropped,
    }
}

/// The number of distinct indicators of `all`.
fn distinct(all: &[Cow<'_, Indicator>]) -> u64 {
    // Sorted by hash first, the value only breaking ties: equal values still end up side by
    // side, and millions of comparisons of two integers replace as many of two strings.
    let state = Hasher::default();
    let mut keyed: Vec<(u64, &Indicator)> =
        all.par_iter().map(|indicator| (state.hash_one(&**indicator), &**indicator)).collect();
    keyed.par_sort_unstable();
    keyed.dedup();
    keyed.len() as u64
}

/// Whether a task takes a record's indicator, before any score.
pub(super) enum Taken<'a> {
    /// Taken, as this indicator (see [`Indicator::as_one_of`]).
    Yes(Cow<'a, Indicator>),
    /// Not of the task's types, or not an address in a task of one IP version.
    No,
    /// An address or network of the other IP version than the task's `ip_version`.
    OtherIpVersion(Cow<'a, Indicator>),
    /// An address or network overlapping a special-purpose range, which the task leaves out.
    Reserved(Cow<'a, Indicator>),
}

/// Whether `task` takes `indicator`, in the order the selection checks: its types, its IP
/// version, the special-purpose ranges.
pub(super) fn take<'a>(task: &Task, indicator: &'a Indicator) -> Taken<'a> {
    let Some(indicator) = indicator.as_one_of(&task.types) else { return Taken::No };
    if let Some(version) = task.config.select.ip_version {
        match ip_version(&indicator) {
            Some(found) if found == version => {}
            Some(_) => return Taken::OtherIpVersion(indicator),
            None => return Taken::No,
        }
    }
    if task.config.select.exclude_reserved && is_reserved(&indicator) {
        return Taken::Reserved(indicator);
    }
    Taken::Yes(indicator)
}

/// What a task does with a taken indicator given its best score, before the warning lists.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Keeps {
    /// Kept: scored at least the minimum, or unscored in a task that keeps those.
    Kept,
    /// Scored below the minimum ([`minimum`]).
    Expired,
    /// No model scores it and the task keeps scored indicators only (`keep_unscored = false`).
    Unscored,
}

/// Whether `task` keeps an indicator of type `kind` whose best score over its feeds is
/// `score` (`None`: no model scores the type).
pub(super) fn keeps(project: &Project, task: &Task, kind: AttrType, score: Option<f64>) -> Keeps {
    match score {
        Some(score) if minimum(project, task, kind).is_some_and(|min| score < min) => {
            Keeps::Expired
        }
        None if !task.config.select.keep_unscored => Keeps::Unscored,
        _ => Keeps::Kept,
    }
}

/// Special-purpose ranges (RFC 6890 and its updates) that no blocklist should hold.
static RESERVED: std::sync::LazyLock<Vec<IpNet>> = std::sync::LazyLock::new(|| {
    [
        "0.0.0.0/8",
        "10.0.0.0/8",
        "100.64.0.0/10",
        "127.0.0.0/8",
        "169.254.0.0/16",
        "172.16.0.0/12",
        "192.0.0.0/24",
        "192.0.2.0/24",
        "192.168.0.0/16",
        "198.18.0.0/15",
        "198.51.100.0/24",
        "203.0.113.0/24",
        "224.0.0.0/4",
        "240.0.0.0/4",
        "::/127",
        "::ffff:0:0/96",
        "64:ff9b:1::/48",
        "100::/64",
        "2001:db8::/32",
        "fc00::/7",
        "fe80::/10",
        "ff00::/8",
    ]
    .iter()
    .filter_map(|n| n.parse().ok())
    .collect()
});

/// Whether an address or network overlaps a special-purpose range (either holds the other).
fn is_reserved(indicator: &Indicator) -> bool {
    if indicator.kind.family() != Family::Ip {
        return false;
    }
    let address = indicator.value.split('|').next().unwrap_or_default();
    let Some(net) =
        address.parse::<IpNet>().ok().or_else(|| address.parse::<IpAddr>().ok().map(IpNet::from))
    else {
        return false;
    };
    RESERVED.iter().any(|range| range.contains(&net) || net.contains(range))
}

/// The IP version of an address, network or `ip|port` value.
fn ip_version(indicator: &Indicator) -> Option<u8> {
    if indicator.kind.family() != Family::Ip {
        return None;
    }
    let address = indicator.value.split('|').next().unwrap_or_default();
    let address = address.split('/').next().unwrap_or_default();
    match address.parse::<IpAddr>().ok()? {
        IpAddr::V4(_) => Some(4),
        IpAddr::V6(_) => Some(6),
    }
}

/// Output order: by family, then addresses numerically; the caller breaks ties by value as
/// text, then by type, so that one value listed under two types (`ip-src` and `ip-dst`) sits
/// on adjacent lines.
#[derive(PartialEq, Eq)]
struct SortKey {
    family: Family,
    network: Option<(u8, u128, u8)>,
}

impl SortKey {
    fn of(indicator: &Indicator) -> SortKey {
        let network = if indicator.kind.family() == Family::Ip {
            let address = indicator.value.split('|').next().unwrap_or_default();
            address
                .parse::<IpNet>()
                .ok()
                .or_else(|| address.parse::<IpAddr>().ok().map(IpNet::from))
                .map(|net| match net {
                    IpNet::V4(n) => (4, u128::from(u32::from(n.network())), n.prefix_len()),
                    IpNet::V6(n) => (6, u128::from(n.network()), n.prefix_len()),
                })
        } else {
            None
        };
        SortKey { family: indicator.kind.family(), network }
    }
}

impl Ord for SortKey {
    fn cmp(&self, other: &Self) -> Ordering {
        self.family.cmp(&other.family).then_with(|| self.network.cmp(&other.network))
    }
}

impl PartialOrd for SortKey {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn taken(kind: AttrType, value: &str, types: &[AttrType]) -> Option<(AttrType, String)> {
        let indicator = Indicator::new(kind, value);
        indicator.as_one_of(types).map(|i| (i.kind, i.value.to_string()))
    }

    // Bug case 10: an IP blocklist takes the address of an `ip|port` value.
    #[test]
    fn a_task_of_addresses_takes_the_address_of_an_ip_port_value() {
        let ip_dst = [AttrType::IpDst];
        assert_eq!(
            taken(AttrType::IpDstPort, "198.51.100.10|8080", &ip_dst),
            Some((AttrType::IpDst, "198.51.100.10".to_owned()))
        );
        assert_eq!(
            taken(AttrType::IpDstPort, "2001:db8::10|8443", &ip_dst),
            Some((AttrType::IpDst, "2001:db8::10".to_owned()))
        );
        assert_eq!(
            taken(AttrType::HostnamePort, "bad.example|8080", &[AttrType::Hostname]),
            Some((AttrType::Hostname, "bad.example".to_owned()))
        );
        // The direction is kept: an `ip-src|port` is no `ip-dst`.
        assert_eq!(taken(AttrType::IpSrcPort, "198.51.100.10|22", &ip_dst), None);
        assert_eq!(taken(AttrType::Url, "http://bad.example/", &ip_dst), None);
    }

    #[test]
    fn a_task_that_lists_the_port_type_or_every_type_keeps_the_pair() {
        let both = [AttrType::IpDst, AttrType::IpDstPort];
        for types in [&both[..], &[]] {
            assert_eq!(
                taken(AttrType::IpDstPort, "198.51.100.10|8080", types),
                Some((AttrType::IpDstPort, "198.51.100.10|8080".to_owned()))
            );
        }
    }
}
