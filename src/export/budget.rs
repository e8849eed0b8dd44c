//! Size budgets: an output's `max_entries` and `max_bytes`, and what goes when a list is
//! over them.
//!
//! A device that takes 50,000 entries should get the 50,000 that matter most, not the first
//! 50,000 lines of a sorted file. Each budgeted writer first turns the task's entries into
//! the units it writes, one [`Ranked`] per unit with the best score and the distinct feeds
//! of the entries it stands for:
//!
//! - the aggregated IP formats rank merged blocks: a block's score is the highest of the
//!   entries whose networks overlap it, its feeds those entries' feeds together;
//! - the DNS formats whose consumers block a name's subdomains too (RPZ with its `*.`
//!   record, Unbound `local-zone`, dnsmasq `local=/…/`, adblock `||…^`) first drop every
//!   name below another listed name (counted as `covered_by_parent`, budget or not), and the
//!   parent takes the best score and the feeds of the names it covers; hosts files and
//!   plain lists, where a parent does not cover a child, keep every name;
//! - the other formats rank their distinct lines.
//!
//! Units are ranked by score (highest first, rounded to two decimals as the data exports
//! and the companion file show it; an unscored unit after every scored one), then by the
//! number of feeds (most first), then by value in byte order, so that the ranking is total
//! and the same inputs give the same cut. The top `max_entries` are kept; then, with
//! `max_bytes`, the longest prefix of that ranking whose file (header included) fits, found
//! by bisection (a file never shrinks when a unit is added). The file keeps its usual order;
//! only the set of units written changes.
//!
//! What was cut goes to `<path>.cut.csv` beside the output, in ranking order, with its
//! score, feeds and the limit that cut it, and to the output's report (`cut`,
//! `cut_reasons`, `cut_file`, `cut_examples`).

use std::cmp::Ordering;
use std::collections::BTreeMap;

use super::syntax::Skips;
use super::{Entry, ExportError, Target, report, write_file};
use crate::report::{CUT_EXAMPLES, OutputReport};

/// One unit a writer may write (a line, a block, a name) and what ranks it.
#[derive(Clone, Debug)]
pub(crate) struct Ranked<'e, T> {
    /// What the writer renders.
    pub(crate) item: T,
    /// The unit as text: the ranking's last key and the companion file's `value`.
    pub(crate) value: String,
    /// The best score of the entries it stands for.
    pub(crate) score: Option<f64>,
    /// The distinct feeds of those entries, sorted.
    pub(crate) feeds: Vec<&'e str>,
}

impl<'e, T> Ranked<'e, T> {
    /// A unit standing for no entry yet.
    pub(crate) fn new(item: T, value: String) -> Self {
        Ranked { item, value, score: None, feeds: Vec::new() }
    }

    /// Counts `entry` in: the best score, and its feeds.
    pub(crate) fn absorb(&mut self, entry: &Entry<'e>) {
        self.absorb_parts(entry.score, &entry.feeds);
    }

    /// Counts another unit in (a name covered by this one).
    pub(crate) fn absorb_unit<U>(&mut self, other: &Ranked<'e, U>) {
        let feeds = other.feeds.clone();
        self.absorb_parts(other.score, &feeds);
    }

    fn absorb_parts(&mut self, score: Option<f64>, feeds: &[&'e str]) {
        if let Some(score) = score.filter(|s| !s.is_nan())
            && self.score.is_none_or(|best| score > best)
        {
            self.score = Some(score);
        }
        for feed in feeds {
            if let Err(at) = self.feeds.binary_search(feed) {
                self.feeds.insert(at, feed);
            }
        }
    }
}

/// Units keyed by `K`, in key order, each counting every entry paired with its key.
pub(crate) fn by_key<'e, 'x, K: Ord, T>(
    pairs: impl IntoIterator<Item = (K, &'x Entry<'e>)>,
    unit: impl Fn(&K) -> (T, String),
) -> Vec<Ranked<'e, T>>
where
    'e: 'x,
{
    let mut units: BTreeMap<K, Ranked<'e, T>> = BTreeMap::new();
    for (key, entry) in pairs {
        units
            .entry(key)
            .or_insert_with_key(|key| {
                let (item, value) = unit(key);
                Ranked::new(item, value)
            })
            .absorb(entry);
    }
    units.into_values().collect()
}

/// A score as the ranking compares it: rounded to two decimals.
fn ranking_score(score: Option<f64>) -> Option<f64> {
    score.filter(|s| s.is_finite()).map(|s| (s * 100.0).round() / 100.0)
}

/// The ranking order of two units: higher score, then more feeds, then the smaller value.
pub(crate) fn compare<T, U>(a: &Ranked<'_, T>, b: &Ranked<'_, U>) -> Ordering {
    let score = match (ranking_score(a.score), ranking_score(b.score)) {
        (Some(x), Some(y)) => y.total_cmp(&x),
        (Some(_), None) => Ordering::Less,
        (None, Some(_)) => Ordering::Greater,
        (None, None) => Ordering::Equal,
    };
    score
        .then_with(|| b.feeds.len().cmp(&a.feeds.len()))
        .then_with(|| a.value.as_bytes().cmp(b.value.as_bytes()))
}

/// The indexes of `units`, best-ranked first.
pub(crate) fn ranking<T>(units: &[Ranked<'_, T>]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..units.len()).collect();
    order.sort_by(|&a, &b| compare(&units[a], &units[b]));
    order
}

/// Drops every name that lies below another name of `names` (sorted, distinct), counting
/// each as `covered_by_parent`; the topmost listed ancestor, which stays, takes the
/// dropped name's score and feeds. For the formats whose consumers block subdomains.
pub(crate) fn drop_covered<'e, T>(
    names: Vec<Ranked<'e, T>>,
    name_of: impl Fn(&T) -> &str,
    skips: &mut Skips,
) -> Vec<Ranked<'e, T>> {
    let index: std::collections::HashMap<&str, usize> =
        names.iter().enumerate().map(|(i, unit)| (name_of(&unit.item), i)).collect();
    // For each name, its topmost listed proper ancestor: the shortest listed suffix.
    let parents: Vec<Option<usize>> = names
        .iter()
        .map(|unit| {
            let name = name_of(&unit.item);
            let mut found = None;
            for (at, _) in name.match_indices('.') {
                if let Some(&parent) = index.get(&name[at + 1..]) {
                    found = Some(parent);
                }
            }
            found
        })
        .collect();
    drop(index);
    let mut kept: Vec<Option<Ranked<'e, T>>> = names.into_iter().map(Some).collect();
    for (child, parent) in parents.iter().enumerate() {
        if let Some(parent) = *parent {
            let Some(unit) = kept[child].take() else { continue };
            if let Some(top) = kept[parent].as_mut() {
                top.absorb_unit(&unit);
            }
            skips.add("covered_by_parent");
        }
    }
    kept.into_iter().flatten().collect()
}

/// One unit a budget cut.
#[derive(Clone, Debug)]
pub(crate) struct Cut {
    value: String,
    score: Option<f64>,
    feeds: String,
    reason: &'static str,
}

/// A rendered file within its budget, and what it left out.
#[derive(Debug)]
pub(crate) struct Fitted {
    /// The file's text.
    pub(crate) text: String,
    /// Units written.
    pub(crate) kept: usize,
    /// Units cut, best-ranked first.
    cut: Vec<Cut>,
}

/// Renders `units` within the output's budget. `render` gets a mask in the units' own
/// order (true: write it) and the number kept, and must give a file that never shrinks
/// when a unit is added.
pub(crate) fn fit<T>(
    target: &Target<'_>,
    units: &[Ranked<'_, T>],
    render: impl Fn(&[bool], usize) -> String,
) -> Result<Fitted, ExportError> {
    let output = target.output;
    if output.max_entries.is_none() && output.max_bytes.is_none() {
        let text = render(&vec![true; units.len()], units.len());
        return Ok(Fitted { text, kept: units.len(), cut: Vec::new() });
    }
    let order = ranking(units);
    let mask = |kept: usize| {
        let mut mask = vec![false; units.len()];
        for &index in &order[..kept] {
            mask[index] = true;
        }
        mask
    };
    let limit = output.max_entries.map_or(units.len(), |max| units.len().min(max as usize));
    let mut kept = limit;
    let mut text = render(&mask(limit), limit);
    if let Some(max) = output.max_bytes
        && text.len() as u64 > max
    {
        let empty = render(&mask(0), 0);
        if empty.len() as u64 > max {
            return Err(ExportError::Invalid {
                path: target.relative.to_owned(),
                message: format!(
                    "`max_bytes` {max} is less than the {} bytes the file takes with no entries",
                    empty.len()
                ),
            });
        }
        // `low` fits, `high` does not.
        let (mut low, mut high, mut low_text) = (0, limit, empty);
        while high - low > 1 {
            let middle = low + (high - low) / 2;
            let candidate = render(&mask(middle), middle);
            if candidate.len() as u64 <= max {
                low = middle;
                low_text = candidate;
            } else {
                high = middle;
            }
        }
        kept = low;
        text = low_text;
    }
    let cut = order
        .iter()
        .enumerate()
        .skip(kept)
        .map(|(rank, &index)| {
            let unit = &units[index];
            Cut {
                value: unit.value.clone(),
                score: unit.score,
                feeds: unit.feeds.join(" "),
                reason: if rank < limit { "max_bytes" } else { "max_entries" },
            }
        })
        .collect();
    Ok(Fitted { text, kept, cut })
}

/// Writes a fitted one-file output, its companion file, and reports both.
pub(crate) fn finish_fitted(
    target: &Target<'_>,
    fitted: &Fitted,
    skips: &Skips,
) -> Result<OutputReport, ExportError> {
    let bytes = fitted.text.as_bytes();
    write_file(&target.dir.join(target.relative), bytes)?;
    let mut written = report(target, bytes, bytes.len() as u64, fitted.kept, skips);
    record_cut(target, fitted, &mut written)?;
    Ok(written)
}

/// Writes the companion file of what `fitted` cut, when it cut anything, and puts it in
/// the output's report.
pub(crate) fn record_cut(
    target: &Target<'_>,
    fitted: &Fitted,
    written: &mut OutputReport,
) -> Result<(), ExportError> {
    if fitted.cut.is_empty() {
        return Ok(());
    }
    let relative = crate::config::budget::cut_file_path(target.relative);
    let path = target.dir.join(&relative);
    let mut text = String::from("value,score,feeds,reason\n");
    for cut in &fitted.cut {
        let score = ranking_score(cut.score).map(|s| format!("{s:.2}")).unwrap_or_default();
        text.push_str(&csv_field(&cut.value));
        text.push(',');
        text.push_str(&score);
        text.push(',');
        text.push_str(&csv_field(&cut.feeds));
        text.push(',');
        text.push_str(cut.reason);
        text.push('\n');
    }
    write_file(&path, text.as_bytes())?;
    let mut reasons: BTreeMap<String, u64> = BTreeMap::new();
    for cut in &fitted.cut {
        *reasons.entry(cut.reason.to_owned()).or_default() += 1;
    }
    tracing::warn!(
        task = target.task_id,
        output = target.relative,
        cut = fitted.cut.len(),
        reasons = ?reasons,
        "Cut the lowest-ranked entries to fit the output's budget"
    );
    written.cut = fitted.cut.len() as u64;
    written.cut_reasons = reasons;
    written.cut_file = Some(relative);
    written.cut_examples = fitted.cut.iter().take(CUT_EXAMPLES).map(|c| c.value.clone()).collect();
    Ok(())
}

/// A CSV field (RFC 4180): quoted when it holds a comma, a quote or a line break, and
/// prefixed with `'` when a spreadsheet would run it as a formula (`=`, `+`, `-`, `@`).
fn csv_field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}
