//! The rows of the site's look-up index ([`crate::export::lookup_index`]): every feed's
//! listings with the ledger's sightings, then every task's verdicts with the outputs that
//! hold each selected value.

use std::collections::HashMap;

use rayon::prelude::*;

use super::select::{Selection, Why};
use crate::config::{Project, Task};
use crate::export::lookup_index::{
    IndexBuilder, Meta, MetaFeed, MetaList, MetaModel, MetaOutput, MetaTask, Verdict,
};
use crate::indicator::{AttrType, Indicator};
use crate::ledger::Ledger;
use crate::parse::ParsedFeed;
use crate::report::OutputReport;

/// The position of every attribute type in [`AttrType::ALL`], as rows number them.
pub(super) struct Positions {
    types: HashMap<AttrType, usize>,
    /// Feed id → position in `meta.feeds` (the enabled feeds, in project order).
    feeds: HashMap<String, usize>,
}

impl Positions {
    pub(super) fn new(feed_ids: &[&str]) -> Positions {
        Positions {
            types: AttrType::ALL.iter().enumerate().map(|(i, t)| (*t, i)).collect(),
            feeds: feed_ids.iter().enumerate().map(|(i, id)| ((*id).to_owned(), i)).collect(),
        }
    }

    fn kind(&self, indicator: &Indicator) -> usize {
        self.types.get(&indicator.kind).copied().unwrap_or_default()
    }

    fn feeds(&self, ids: &[&str]) -> Vec<usize> {
        ids.iter().filter_map(|id| self.feeds.get(*id).copied()).collect()
    }
}

/// Adds every feed's records (in feed order), with their first and last sighting in the
/// ledger, on every core.
pub(super) fn add_listings(
    index: &mut IndexBuilder,
    positions: &Positions,
    feeds: &[(&str, &ParsedFeed)],
    ledger: &Ledger,
) {
    index.on_every_core(|listings| {
        for &(feed_id, parsed) in feeds {
            let Some(&feed) = positions.feeds.get(feed_id) else { continue };
            for record in &parsed.records {
                let value = &*record.indicator.value;
                let Some(slot) = listings.slot(value) else { continue };
                let seen =
                    ledger.get(feed_id, &record.indicator).map(|s| (s.first_seen, s.last_seen));
                listings.listing(slot, value, positions.kind(&record.indicator), feed, seen);
            }
        }
    });
}

/// Adds one task's verdicts: what it selected (with the outputs, numbered from
/// `first_output`, that hold each value) and what it left out, and why.
pub(super) fn add_verdicts(
    index: &mut IndexBuilder,
    positions: &Positions,
    task: usize,
    selection: &Selection<'_>,
    outputs: &[OutputReport],
    first_output: usize,
    list_of_slot: &[usize],
) {
    // The outputs that hold each entry are independent per entry: worked out on every core,
    // in chunks, then added in order.
    let builder: &IndexBuilder = index;
    let texts: Vec<(&str, String)> = selection
        .entries
        .par_iter()
        .zip(&selection.scored)
        .with_min_len(4096)
        .map_init(Vec::new, |holding, (entry, &(model, expires_at))| {
            holding.clear();
            holding.extend(
                outputs
                    .iter()
                    .enumerate()
                    .filter(|(_, o)| o.error.is_none() && o.left_out.holds(&entry.indicator))
                    .map(|(i, _)| first_output + i),
            );
            let feeds = positions.feeds(&entry.feeds);
            let verdict = Verdict {
                task,
                kind: positions.kind(&entry.indicator),
                verdict: "selected",
                score: entry.score,
                model,
                expires_at,
                outputs: holding,
                lists: &[],
                feeds: &feeds,
            };
            (&*entry.indicator.value, builder.verdict_text(&verdict))
        })
        .collect();
    index.on_every_core(|range| {
        for (value, text) in &texts {
            if let Some(slot) = range.slot(value) {
                range.verdict_text(slot, value, text);
            }
        }
    });
    for dropped in &selection.dropped {
        let feeds = positions.feeds(&dropped.feeds);
        let lists: Vec<usize> =
            dropped.lists.iter().filter_map(|&slot| list_of_slot.get(slot).copied()).collect();
        let verdict = Verdict {
            task,
            kind: positions.kind(&dropped.indicator),
            verdict: dropped.why.as_str(),
            score: dropped.score,
            model: dropped.model,
            expires_at: dropped.expires_at,
            outputs: &[],
            lists: &lists,
            feeds: &feeds,
        };
        debug_assert!(dropped.why != Why::Warninglisted || !lists.is_empty());
        index.verdict(&dropped.indicator.value, &verdict);
    }
}

/// What `meta.json` names by position.
pub(super) fn meta(project: &Project, feed_ids: &[&str], now: i64) -> Meta {
    Meta {
        built: crate::export::rfc3339(now),
        now_unix: now,
        types: AttrType::ALL.iter().map(|t| t.as_str()).collect(),
        feeds: feed_ids
            .iter()
            .filter_map(|id| project.feeds.iter().find(|f| f.id == *id))
            .map(|f| MetaFeed { id: f.id.clone(), name: f.config.name.clone() })
            .collect(),
        tasks: project
            .tasks
            .iter()
            .map(|t| MetaTask {
                id: t.id.clone(),
                name: t.config.name.clone(),
                warninglists: t.warninglists.clone(),
            })
            .collect(),
        models: project
            .models
            .iter()
            .map(|m| MetaModel {
                id: m.id.clone(),
                name: m.config.name.clone(),
                threshold: m.config.threshold,
            })
            .collect(),
        outputs: project
            .tasks
            .iter()
            .enumerate()
            .flat_map(|(task, t): (usize, &Task)| {
                t.config.outputs.iter().map(move |o| MetaOutput {
                    path: o.path.clone(),
                    format: o.format.as_str(),
                    task,
                })
            })
            .collect(),
        warninglists: project
            .warninglists
            .iter()
            .map(|l| MetaList { id: l.id.clone(), name: l.list.name().to_owned() })
            .collect(),
    }
}
