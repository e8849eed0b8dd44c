//! Scoring one record under one decay model: the single answer that a build's selection and
//! a look-up both ask for.
//!
//! For one record of one feed, [`Scorer::score`] says which base score the decay starts from
//! and why, from which reference time and why, and what the model makes of both at the build
//! time: the score, whether it is decayed, and when it expires. `select` keeps only the score
//! of each record; `lookup` shows the whole explanation. Both go through this one function,
//! so the score a look-up explains is the score the build computes.
//!
//! - The model is the task's, or with `auto` the first model (by id) whose `attribute_types`
//!   hold the type ([`model_for`]).
//! - The base score comes from the record's tags and its event's tags, the feed's `misp_tags`
//!   counted as event tags, with MISP's weighting (`decay::base_score`); when no tag counts,
//!   it is the feed's `base_score`, else the model's `default_base_score`.
//! - The reference time is the record's own (its newest "seen" sighting, `last_seen`, else
//!   its `timestamp`, by MISP's rule); else the last build that saw the value in that feed
//!   (the ledger); else the build time ([`reference_time`]).
//! - The model's formula makes the score from both: `polynomial_extended` also zeroes it once
//!   the record's shortest `retention:*` tag has run out since its last change (its
//!   `timestamp`, else the first build that saw it); `sightings` scales the base score by the
//!   record's sightings.
//!
//! Base scores depend only on the tag lists, so [`FeedBases`] keeps, per feed, the base score
//! of an untagged record per model and that of each event's records (which share one tag
//! list) per model: a feed of millions of untagged lines, or a MISP event of thousands of
//! attributes, computes each once.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::Arc;

use crate::config::{DecayKind, Feed, FeedFormat, ModelChoice, Project, Task};
use crate::decay::{self, BaseScore, Evidence, Model, Taxonomies};
use crate::indicator::AttrType;
use crate::ledger::Ledger;
use crate::parse::Record;

/// Where a base score came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum BaseFrom {
    /// Tags with numerical values that the model weighs.
    Tags,
    /// No tag counted; the feed's `base_score`.
    Feed,
    /// No tag counted and the feed sets no `base_score`; the model's `default_base_score`.
    Model,
}

/// Where a reference time came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum ReferenceFrom {
    /// The newest "seen" (type 0) sighting of a MISP attribute.
    Sighting,
    /// The record's own `last_seen`.
    LastSeen,
    /// The record's own `timestamp` (for MISP, the attribute's last change).
    Timestamp,
    /// The last build that saw the value in the feed, from the ledger.
    Ledger,
    /// Nothing known: the build time.
    Build,
}

/// The time a record's decay is measured from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Reference {
    /// Unix seconds.
    pub(crate) time: i64,
    /// Where it came from.
    pub(crate) from: ReferenceFrom,
    /// The record's own time lay after the build time and counts as the build time (CSV and
    /// JSON feeds, whose times are the provider's clock), or so did the ledger's last build.
    pub(crate) capped: bool,
}

/// One record scored under one model.
#[derive(Clone, Debug)]
pub(crate) struct Scored<'c> {
    /// The model, by index into [`Project::models`].
    pub(crate) model: usize,
    /// The base score with the tags that made it (borrowed from [`FeedBases`] when shared).
    pub(crate) base: Cow<'c, Tagged>,
    /// Where the base score came from.
    pub(crate) base_from: BaseFrom,
    /// The reference time.
    pub(crate) reference: Reference,
    /// Everything the formula was given: base score, reference time, last change, retention
    /// and sightings.
    pub(crate) evidence: Evidence,
    /// What the model gives at the build time: score, decayed, expiry.
    pub(crate) score: decay::Score,
}

/// A base score and what else a tag list gives the formula.
#[derive(Clone, Debug)]
pub(crate) struct Tagged {
    /// The base score with the tags that made it.
    pub(crate) base: BaseScore,
    /// The shortest `retention:*` tag, in days, for `polynomial_extended` models (`None` for
    /// the other formulas, which do not read it).
    pub(crate) retention_days: Option<f64>,
}

/// What every record of a build is scored against: the models, the ledger, the build time.
pub(crate) struct Scorer<'a> {
    models: &'a [Model],
    ledger: &'a Ledger,
    now: i64,
    taxonomies: &'static Taxonomies,
}

/// The base scores shared by the records of one feed (see the module documentation).
pub(crate) struct FeedBases<'f> {
    feed: &'f Feed,
    /// The feed's `misp_tags`, counted as event tags.
    feed_tags: Vec<&'f str>,
    /// Per model: the base score of a record without tags.
    untagged: HashMap<usize, Tagged>,
    /// Per (event tag list, model): the base score of a record with only event tags. The lists
    /// are borrowed for `'f`, so their addresses stay distinct while the map lives.
    events: HashMap<(usize, usize), Tagged>,
}

impl<'f> FeedBases<'f> {
    /// An empty cache for the records of `feed`.
    pub(crate) fn new(feed: &'f Feed) -> FeedBases<'f> {
        FeedBases {
            feed,
            feed_tags: feed.config.misp_tags.iter().map(String::as_str).collect(),
            untagged: HashMap::new(),
            events: HashMap::new(),
        }
    }
}

/// The model that scores an indicator of type `kind` in `task`: the task's model, or with
/// `auto` the first model (by id, the order of [`Project::models`]) whose types hold `kind`.
/// `None`: no model covers the type, and the indicator has no score.
pub(crate) fn model_for(project: &Project, task: &Task, kind: AttrType) -> Option<usize> {
    match task.model {
        ModelChoice::Model(i) => Some(i),
        ModelChoice::Auto => project.models.iter().position(|m| m.types.contains(&kind)),
    }
}

/// The least score `task` keeps for an indicator of type `kind`: its `min_score`, else the
/// threshold of the model that scores the type. `None` when neither applies.
pub(crate) fn minimum(project: &Project, task: &Task, kind: AttrType) -> Option<f64> {
    if let Some(min) = task.config.select.min_score {
        return Some(min);
    }
    model_for(project, task, kind).map(|i| project.models[i].config.threshold)
}

/// MISP's reference time for a record that carries one; else the last build that saw the
/// value in this feed (the ledger), which is this build unless the feed's last good data
/// stands in for a failing fetch; else the build time.
///
/// A MISP feed's time in the future decays to 0, as in MISP, whose own instances write those
/// times. A CSV or JSON feed's time is the provider's clock: one minutes or years ahead of the
/// build says the feed lists the value now, so it counts as the build time. So does a
/// ledger's last build after the build time.
pub(crate) fn reference_time(record: &Record, feed: &Feed, ledger: &Ledger, now: i64) -> Reference {
    let sighting = record.sightings.as_ref().and_then(|s| s.last_seen);
    if let Some(own) =
        decay::reference_time_with_sighting(sighting, record.last_seen, record.timestamp)
    {
        let from = if sighting == Some(own) {
            ReferenceFrom::Sighting
        } else if Some(own) == record.last_seen {
            ReferenceFrom::LastSeen
        } else {
            ReferenceFrom::Timestamp
        };
        let capped = feed.config.format != FeedFormat::Misp && own > now;
        return Reference { time: if capped { now } else { own }, from, capped };
    }
    match ledger.get(&feed.id, &record.indicator) {
        // A ledger that saw the value after the build time (a build replayed at an earlier
        // `--now`, a clock set back) says the feed lists it now, not that it decayed.
        Some(seen) => {
            let capped = seen.last_seen > now;
            let time = if capped { now } else { seen.last_seen };
            Reference { time, from: ReferenceFrom::Ledger, capped }
        }
        None => Reference { time: now, from: ReferenceFrom::Build, capped: false },
    }
}

/// The base score and retention a record's tags give under `model`.
fn tagged(
    model: &Model,
    attribute: &[impl AsRef<str>],
    event: &[impl AsRef<str>],
    default: f64,
    taxonomies: &Taxonomies,
) -> Tagged {
    let base = decay::base_score(attribute, event, &model.base_score_config, default, taxonomies);
    // Only `polynomial_extended` reads retention tags.
    let retention_days = (model.kind == DecayKind::PolynomialExtended)
        .then(|| decay::retention_days(attribute, event, taxonomies))
        .flatten();
    Tagged { base, retention_days }
}

impl<'a> Scorer<'a> {
    /// A scorer for the build at `now`; `models` are [`Project::models`], resolved, in order.
    pub(crate) fn new(models: &'a [Model], ledger: &'a Ledger, now: i64) -> Scorer<'a> {
        Scorer { models, ledger, now, taxonomies: Taxonomies::builtin() }
    }

    /// The reference time of a record of `feed`.
    pub(crate) fn reference(&self, record: &Record, feed: &Feed) -> Reference {
        reference_time(record, feed, self.ledger, self.now)
    }

    /// Scores `record`, one of the records of the feed `bases` is for, under model `model`
    /// (an index into [`Project::models`]).
    pub(crate) fn score<'c, 'f>(
        &self,
        bases: &'c mut FeedBases<'f>,
        record: &'f Record,
        model: usize,
    ) -> Scored<'c> {
        let feed = bases.feed;
        let resolved = &self.models[model];
        let default = feed.config.base_score.unwrap_or(resolved.default_base_score);
        let taxonomies = self.taxonomies;
        let feed_tags = &bases.feed_tags;
        // MISP's base score from the attribute's tags and those of its event, with the feed's
        // own MISP tags counted as event tags.
        let with_tags = |attribute: &[Arc<str>]| {
            let event_tags: Vec<&str> =
                record.event_tags.iter().map(|t| &**t).chain(feed_tags.iter().copied()).collect();
            tagged(resolved, attribute, &event_tags, default, taxonomies)
        };
        let base: Cow<'c, Tagged> = if record.tags.is_empty() && record.event_tags.is_empty() {
            Cow::Borrowed(bases.untagged.entry(model).or_insert_with(|| {
                tagged(resolved, &[] as &[&str], &bases.feed_tags, default, taxonomies)
            }))
        } else if record.tags.is_empty() {
            // Only event tags: every attribute of the event has the same base score, computed
            // once per event (keyed by its shared tag list) rather than once per attribute,
            // which made an event of many tags and many attributes cost their product.
            let key = (Arc::as_ptr(&record.event_tags).cast::<u8>() as usize, model);
            Cow::Borrowed(bases.events.entry(key).or_insert_with(|| with_tags(&[])))
        } else {
            Cow::Owned(with_tags(&record.tags))
        };
        let base_from = if base.base.from_tags {
            BaseFrom::Tags
        } else if feed.config.base_score.is_some() {
            BaseFrom::Feed
        } else {
            BaseFrom::Model
        };
        let reference = self.reference(record, feed);
        // A record's last change is its MISP `timestamp`; one of a feed without timestamps
        // changed when the feed first listed it, as an attribute MISP imports once and never
        // edits.
        let modified = record
            .timestamp
            .or_else(|| self.ledger.get(&feed.id, &record.indicator).map(|s| s.first_seen))
            .unwrap_or(self.now);
        let sightings = record.sightings.as_deref().copied().unwrap_or_default();
        let evidence = Evidence {
            base: base.base.value,
            reference_time: reference.time,
            modified,
            retention_days: base.retention_days,
            sightings: u64::from(sightings.total),
            seen_sightings: u64::from(sightings.seen),
        };
        let score = resolved.evaluate(&evidence, self.now);
        Scored { model, base, base_from, reference, evidence, score }
    }
}
