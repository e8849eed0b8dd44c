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
use std::net::IpAddr;

use ipnet::IpNet;
use rayon::prelude::*;

use crate::config::{DecayKind, Feed, FeedFormat, ModelChoice, Project, Task};
use crate::decay::{self, Evidence, Model, Taxonomies};
use crate::export::Entry;
use crate::filter::{Subject, WarningList};
use crate::indicator::{AttrType, Family, Indicator};
use crate::ledger::{Ledger, Seen};
use crate::parse::{ParsedFeed, Record};
use crate::report::ScoreHistogram;

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
}

struct Candidate<'a> {
    score: Option<f64>,
    /// The model that scored it: the same in every feed, since it follows from the type.
    model: Option<usize>,
    to_ids: bool,
    reference_time: i64,
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
    let taxonomies = Taxonomies::builtin();
    let mut candidates: HashMap<Cow<'a, Indicator>, Candidate<'a>> = HashMap::new();
    let mut reserved: HashSet<Cow<'a, Indicator>> = HashSet::new();
    let mut other_ip_version: HashSet<Cow<'a, Indicator>> = HashSet::new();
    for &feed_index in &task.feeds {
        let Some(feed_parsed) = parsed.get(feed_index).copied().flatten() else { continue };
        let feed = &project.feeds[feed_index];
        let feed_tags: Vec<&str> = feed.config.misp_tags.iter().map(String::as_str).collect();
        // The base score (and retention) of an untagged record depends only on the feed and
        // the model.
        let mut untagged_base: HashMap<usize, Tagged> = HashMap::new();
        // The same for a record with event tags only, per (event tag list, model). The lists
        // live as long as the feed's records, so their addresses stay distinct.
        let mut event_base: HashMap<(usize, usize), Tagged> = HashMap::new();
        for record in &feed_parsed.records {
            let Some(indicator) = as_task_type(&record.indicator, &task.types) else {
                continue;
            };
            let kind = indicator.kind;
            if let Some(version) = task.config.select.ip_version {
                match ip_version(&indicator) {
                    Some(found) if found == version => {}
                    Some(_) => {
                        other_ip_version.insert(indicator);
                        continue;
                    }
                    None => continue,
                }
            }
            if task.config.select.exclude_reserved && is_reserved(&indicator) {
                reserved.insert(indicator);
                continue;
            }
            let model_index = match task.model {
                ModelChoice::Model(i) => Some(i),
                ModelChoice::Auto => project.models.iter().position(|m| m.types.contains(&kind)),
            };
            let seen = ledger.get(&feed.id, &record.indicator);
            let reference_time = reference_time(record, feed, seen, now);
            let score = model_index.map(|i| {
                let model = &models[i];
                let default = feed.config.base_score.unwrap_or(model.default_base_score);
                // MISP's base score from the attribute's tags and those of its event (with the
                // feed's own MISP tags counted as event tags).
                let tagged = |attribute: &[std::sync::Arc<str>]| {
                    let event_tags: Vec<&str> = record
                        .event_tags
                        .iter()
                        .map(|t| &**t)
                        .chain(feed_tags.iter().copied())
                        .collect();
                    Tagged::of(model, attribute, &event_tags, default, taxonomies)
                };
                let tags = if record.tags.is_empty() && record.event_tags.is_empty() {
                    *untagged_base.entry(i).or_insert_with(|| {
                        Tagged::of(model, &[] as &[&str], &feed_tags, default, taxonomies)
                    })
                } else if record.tags.is_empty() {
                    // Only event tags: every attribute of the event has the same base score,
                    // computed once per event (keyed by its shared tag list) rather than once
                    // per attribute, which made an event of many tags and many attributes cost
                    // their product.
                    let key = (std::sync::Arc::as_ptr(&record.event_tags).cast::<u8>() as usize, i);
                    *event_base.entry(key).or_insert_with(|| tagged(&[]))
                } else {
                    tagged(&record.tags)
                };
                let evidence = evidence(record, tags, reference_time, seen, now);
                model.evaluate(&evidence, now).value
            });
            let candidate = candidates.entry(indicator).or_insert_with(|| Candidate {
                score: None,
                model: model_index,
                to_ids: false,
                reference_time: i64::MIN,
                feeds: Vec::new(),
            });
            if let Some(value) = score {
                candidate.score = Some(candidate.score.map_or(value, |s: f64| s.max(value)));
            }
            candidate.to_ids |= record.to_ids;
            candidate.reference_time = candidate.reference_time.max(reference_time);
            if !candidate.feeds.contains(&feed.id.as_str()) {
                candidate.feeds.push(&feed.id);
            }
        }
    }

    let minimum = |indicator: &Indicator| -> Option<f64> {
        if let Some(min) = task.config.select.min_score {
            return Some(min);
        }
        let model_index = match task.model {
            ModelChoice::Model(i) => Some(i),
            ModelChoice::Auto => {
                project.models.iter().position(|m| m.types.contains(&indicator.kind))
            }
        };
        model_index.map(|i| project.models[i].config.threshold)
    };

    let mut scores: std::collections::BTreeMap<usize, ScoreHistogram> =
        std::collections::BTreeMap::new();
    let mut count_score = |indicator: &Indicator, candidate: &Candidate<'a>| {
        if let (Some(model), Some(score), Some(min)) =
            (candidate.model, candidate.score, minimum(indicator))
        {
            scores.entry(model).or_default().add(score, min);
        }
    };
    let mut expired = 0;
    let mut unscored_dropped = 0;
    let mut kept: Vec<(Cow<'a, Indicator>, Candidate<'a>)> = Vec::with_capacity(candidates.len());
    for (indicator, candidate) in candidates {
        match candidate.score {
            Some(score) if minimum(&indicator).is_some_and(|min| score < min) => {
                expired += 1;
                count_score(&indicator, &candidate);
            }
            None if !task.config.select.keep_unscored => unscored_dropped += 1,
            _ => kept.push((indicator, candidate)),
        }
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
    let mut keyed: Vec<(SortKey, Entry<'a>)> = Vec::with_capacity(kept.len());
    for (position, (indicator, mut candidate)) in kept.into_iter().enumerate() {
        if let Some(Some(hits)) = matched.get(position) {
            for &slot in hits {
                removed[slot].push(indicator.clone());
            }
            warninglisted += 1;
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
        let key = SortKey::of(&indicator);
        let entry = Entry {
            indicator,
            to_ids: candidate.to_ids,
            score: candidate.score,
            reference_time: candidate.reference_time,
            feeds: candidate.feeds,
        };
        keyed.push((key, entry));
    }
    keyed.sort_unstable_by(|a, b| {
        a.0.cmp(&b.0)
            .then_with(|| a.1.indicator.value.cmp(&b.1.indicator.value))
            .then_with(|| a.1.indicator.kind.cmp(&b.1.indicator.kind))
    });
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
        entries: keyed.into_iter().map(|(_, e)| e).collect(),
        expired,
        unscored,
        unscored_dropped,
        reserved: reserved.len() as u64,
        other_ip_version: other_ip_version.len() as u64,
        in_several_feeds,
        by_feed,
        warninglisted,
        removed,
        scores,
    }
}

/// The indicator as the task takes it: itself when the task takes its type (or every type),
/// the address or name of a `…|port` value when the task takes the plain type but not the
/// `|port` one, else `None`.
fn as_task_type<'a>(indicator: &'a Indicator, types: &[AttrType]) -> Option<Cow<'a, Indicator>> {
    if types.is_empty() || types.contains(&indicator.kind) {
        return Some(Cow::Borrowed(indicator));
    }
    let plain = match indicator.kind {
        AttrType::IpDstPort => AttrType::IpDst,
        AttrType::IpSrcPort => AttrType::IpSrc,
        AttrType::HostnamePort => AttrType::Hostname,
        _ => return None,
    };
    if !types.contains(&plain) {
        return None;
    }
    // Canonical `…|port` values hold one `|`; the part before it is canonical already.
    let (host, _port) = indicator.value.rsplit_once('|')?;
    Some(Cow::Owned(Indicator::new(plain, host)))
}

/// MISP's reference time for a record that carries one (its newest "seen" sighting,
/// `last_seen` or `timestamp`, by MISP's rule); else the last build that saw the value in
/// this feed (the ledger), which is this build unless the feed's last good data stands in for
/// a failing fetch; else the build time.
///
/// A MISP feed's time in the future decays to 0, as in MISP, whose own instances write those
/// times. A CSV or JSON feed's time is the provider's clock: one minutes or years ahead of the
/// build says the feed lists the value now, so it counts as the build time.
fn reference_time(record: &Record, feed: &Feed, seen: Option<Seen>, now: i64) -> i64 {
    let sighting = record.sightings.as_ref().and_then(|s| s.last_seen);
    let own = decay::reference_time_with_sighting(sighting, record.last_seen, record.timestamp);
    let own = if feed.config.format == FeedFormat::Misp { own } else { own.map(|t| t.min(now)) };
    own.or_else(|| seen.map(|seen| seen.last_seen)).unwrap_or(now)
}

/// The base score and shortest retention an indicator's tags give under one model.
#[derive(Clone, Copy)]
struct Tagged {
    base: f64,
    retention_days: Option<f64>,
}

impl Tagged {
    fn of(
        model: &Model,
        attribute: &[impl AsRef<str>],
        event: &[impl AsRef<str>],
        default: f64,
        taxonomies: &Taxonomies,
    ) -> Tagged {
        let base =
            decay::base_score(attribute, event, &model.base_score_config, default, taxonomies)
                .value;
        // Only `polynomial_extended` reads retention tags.
        let retention_days = (model.kind == DecayKind::PolynomialExtended)
            .then(|| decay::retention_days(attribute, event, taxonomies))
            .flatten();
        Tagged { base, retention_days }
    }
}

/// What a record brings to its score. Its last change is its MISP `timestamp`; a record of a
/// feed without one changed when the feed first listed it (the ledger), as an attribute that
/// MISP imports once and never edits.
fn evidence(
    record: &Record,
    tags: Tagged,
    reference_time: i64,
    seen: Option<Seen>,
    now: i64,
) -> Evidence {
    let sightings = record.sightings.as_deref().copied().unwrap_or_default();
    Evidence {
        base: tags.base,
        reference_time,
        modified: record.timestamp.or(seen.map(|s| s.first_seen)).unwrap_or(now),
        retention_days: tags.retention_days,
        sightings: u64::from(sightings.total),
        seen_sightings: u64::from(sightings.seen),
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
        as_task_type(&indicator, types).map(|i| (i.kind, i.value.to_string()))
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
