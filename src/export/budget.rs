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

use rayon::prelude::*;

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
        self.absorb_parts(other.score, &other.feeds);
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
    // Sorted, then grouped: one sort of the pairs costs less than a tree of the units, and
    // a unit's rank does not depend on the order its entries come in.
    let mut pairs: Vec<(K, &'x Entry<'e>)> = pairs.into_iter().collect();
    pairs.sort_unstable_by(|a, b| a.0.cmp(&b.0));
    let mut units: Vec<Ranked<'e, T>> = Vec::new();
    let mut last: Option<K> = None;
    for (key, entry) in pairs {
        if last.as_ref() != Some(&key) {
            let (item, value) = unit(&key);
            units.push(Ranked::new(item, value));
            last = Some(key);
        }
        if let Some(current) = units.last_mut() {
            current.absorb(entry);
        }
    }
    units
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
pub(crate) fn drop_covered<'e, T: Sync>(
    names: Vec<Ranked<'e, T>>,
    name_of: impl Fn(&T) -> &str + Sync,
    skips: &mut Skips,
) -> Vec<Ranked<'e, T>> {
    let index: std::collections::HashMap<&str, usize, foldhash::quality::RandomState> =
        names.iter().enumerate().map(|(i, unit)| (name_of(&unit.item), i)).collect();
    // For each name, its topmost listed proper ancestor: the shortest listed suffix.
    let parents: Vec<Option<usize>> = names
        .par_iter()
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
            skips.add_held("covered_by_parent");
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
    fit_capped(target, units, None, render)
}

/// A consumer's own limit, whatever the budget: at most `most` units of each group
/// (`group` names a unit's), the lowest-ranked beyond it cut for `reason`. An ipset set
/// holds at most `maxelem` elements, and a restore that adds more fails before its swap.
pub(crate) struct Cap<'f, T> {
    pub(crate) most: usize,
    pub(crate) group: &'f dyn Fn(&T) -> usize,
    pub(crate) reason: &'static str,
}

/// [`fit`] within a consumer's [`Cap`] as well.
pub(crate) fn fit_capped<T>(
    target: &Target<'_>,
    units: &[Ranked<'_, T>],
    cap: Option<&Cap<'_, T>>,
    render: impl Fn(&[bool], usize) -> String,
) -> Result<Fitted, ExportError> {
    let output = target.output;
    let unbounded = output.max_entries.is_none() && output.max_bytes.is_none();
    // Without a budget and with every group under its cap, nothing is cut: no ranking.
    let under_cap = || {
        cap.is_none_or(|cap| {
            if units.len() <= cap.most {
                return true;
            }
            let mut counts: std::collections::HashMap<usize, usize> =
                std::collections::HashMap::new();
            units.iter().all(|unit| {
                let count = counts.entry((cap.group)(&unit.item)).or_default();
                *count += 1;
                *count <= cap.most
            })
        })
    };
    if unbounded && under_cap() {
        let text = render(&vec![true; units.len()], units.len());
        return Ok(Fitted { text, kept: units.len(), cut: Vec::new() });
    }
    let ranked = ranking(units);
    // The units the cap leaves out, by index.
    let mut capped = vec![false; units.len()];
    if let Some(cap) = cap {
        let mut counts: std::collections::HashMap<usize, usize> = std::collections::HashMap::new();
        for &index in &ranked {
            let count = counts.entry((cap.group)(&units[index].item)).or_default();
            *count += 1;
            capped[index] = *count > cap.most;
        }
    }
    let order: Vec<usize> = ranked.iter().copied().filter(|&i| !capped[i]).collect();
    let mask = |kept: usize| {
        let mut mask = vec![false; units.len()];
        for &index in &order[..kept] {
            mask[index] = true;
        }
        mask
    };
    let limit = output.max_entries.map_or(order.len(), |max| order.len().min(max as usize));
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
    let cut_for = |index: usize, reason: &'static str| {
        let unit = &units[index];
        Cut { value: unit.value.clone(), score: unit.score, feeds: unit.feeds.join(" "), reason }
    };
    let mut reasons: Vec<(usize, &'static str)> = order
        .iter()
        .enumerate()
        .skip(kept)
        .map(|(rank, &index)| (index, if rank < limit { "max_bytes" } else { "max_entries" }))
        .collect();
    if let Some(cap) = &cap {
        reasons
            .extend(capped.iter().enumerate().filter(|(_, c)| **c).map(|(i, _)| (i, cap.reason)));
    }
    // Best-ranked first, whatever cut it.
    let mut rank_of = vec![0; units.len()];
    for (rank, &index) in ranked.iter().enumerate() {
        rank_of[index] = rank;
    }
    reasons.sort_by_key(|(index, _)| rank_of[*index]);
    let cut = reasons.into_iter().map(|(index, reason)| cut_for(index, reason)).collect();
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
    written.left_out.add_cuts(fitted.cut.iter().map(|cut| cut.value.as_str()));
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

#[cfg(test)]
mod tests {
    use super::super::tests::{entry, read, target_with, written_values};
    use super::super::write_blocklist;
    use super::*;
    use crate::config::{ListType, OutputConfig, OutputFormat};
    use crate::indicator::{AddressSet, AttrType, Indicator};

    /// A unit of `value` scored `score`, listed by `feeds`.
    fn unit(value: &str, score: Option<f64>, feeds: &[&'static str]) -> Ranked<'static, ()> {
        Ranked { item: (), value: value.to_owned(), score, feeds: feeds.to_vec() }
    }

    /// Indicators of `kind`, one per value.
    fn indicators(kind: AttrType, values: &[&str]) -> Vec<Indicator> {
        values.iter().map(|v| Indicator::new(kind, *v)).collect()
    }

    /// Entries for `indicators`, the n-th scored `scores[n]` and listed by `feeds[n]`.
    fn scored<'a>(
        indicators: &'a [Indicator],
        scores: &[Option<f64>],
        feeds: &[&[&'static str]],
    ) -> Vec<Entry<'a>> {
        indicators
            .iter()
            .zip(scores)
            .zip(feeds)
            .map(|((indicator, score), feeds)| Entry {
                score: *score,
                feeds: feeds.to_vec(),
                ..entry(indicator)
            })
            .collect()
    }

    /// Writes `entries` as `format` with `change` applied to the output; the report and the
    /// file's text.
    fn write(
        format: OutputFormat,
        entries: &[Entry<'_>],
        change: impl FnOnce(&mut OutputConfig),
    ) -> (OutputReport, String, Option<String>, tempfile::TempDir) {
        let dir = tempfile::tempdir().unwrap();
        let allowed = AddressSet::default();
        let t = target_with(dir.path(), "out/list", format, &allowed, change);
        let report = write_blocklist(&t, entries).unwrap();
        let text = read(dir.path(), "out/list");
        let cut = std::fs::read_to_string(dir.path().join("out/list.cut.csv")).ok();
        (report, text, cut, dir)
    }

    #[test]
    fn units_rank_by_score_then_feed_count_then_value() {
        let units = [
            unit("d.example", None, &["a", "b", "c"]),
            unit("c.example", Some(50.0), &["a"]),
            unit("b.example", Some(50.0), &["a", "b"]),
            unit("a.example", Some(90.0), &["a"]),
            unit("e.example", Some(10.0), &["a", "b", "c"]),
        ];
        let order: Vec<&str> = ranking(&units).iter().map(|&i| units[i].value.as_str()).collect();
        // 90 first; of the two 50s, two feeds before one; then 10; the unscored last, however
        // many feeds list it.
        assert_eq!(order, ["a.example", "b.example", "c.example", "e.example", "d.example"]);
    }

    #[test]
    fn ties_are_broken_by_the_value_in_byte_order_and_scores_compare_as_rounded() {
        // 70.001 and 70.004 both read 70.00 where scores are shown: a tie, broken by value.
        let units = [
            unit("b.example", Some(70.004), &["x"]),
            unit("B.example", Some(70.001), &["y"]),
            unit("a.example", Some(70.001), &["x"]),
        ];
        let order: Vec<&str> = ranking(&units).iter().map(|&i| units[i].value.as_str()).collect();
        // `B` (0x42) sorts before `a` (0x61) byte by byte.
        assert_eq!(order, ["B.example", "a.example", "b.example"]);
        // Input order does not matter.
        let reversed: Vec<_> = units.iter().rev().cloned().collect();
        let again: Vec<&str> =
            ranking(&reversed).iter().map(|&i| reversed[i].value.as_str()).collect();
        assert_eq!(again, order);
    }

    #[test]
    fn max_entries_keeps_the_best_ranked_in_the_file_order_and_lists_the_rest() {
        let list = indicators(
            AttrType::Domain,
            &["a.example", "b.example", "c.example", "d.example", "e.example"],
        );
        let entries = scored(
            &list,
            &[Some(20.0), Some(90.0), Some(20.0), None, Some(55.5)],
            &[&["f1"], &["f1"], &["f1", "f2"], &["f1", "f2"], &["f2"]],
        );
        let (report, text, cut, _dir) = write(OutputFormat::Fortigate, &entries, |o| {
            o.list = Some(ListType::Domain);
            o.max_entries = Some(3);
        });
        // Ranked: b (90), e (55.5), c (20, two feeds), a (20, one feed), d (unscored).
        assert_eq!(written_values(&text, "#"), ["b.example", "c.example", "e.example"]);
        assert!(text.contains("# entries: 3\n"));
        assert_eq!((report.entries, report.cut), (3, 2));
        assert_eq!(report.cut_reasons["max_entries"], 2);
        assert_eq!(report.cut_file.as_deref(), Some("out/list.cut.csv"));
        assert_eq!(report.cut_examples, ["a.example", "d.example"]);
        assert_eq!(
            cut.unwrap(),
            "value,score,feeds,reason\na.example,20.00,f1,max_entries\n\
             d.example,,f1 f2,max_entries\n"
        );
    }

    #[test]
    fn nothing_is_cut_and_no_companion_file_is_written_when_the_list_fits() {
        let list = indicators(AttrType::Domain, &["a.example", "b.example"]);
        let entries = scored(&list, &[Some(1.0), Some(2.0)], &[&["f"], &["f"]]);
        let (report, text, cut, _dir) = write(OutputFormat::Hosts, &entries, |o| {
            o.max_entries = Some(2);
            o.max_bytes = Some(10_000);
        });
        assert_eq!(written_values(&text, "#").len(), 2);
        assert_eq!(report.cut, 0);
        assert!(report.cut_file.is_none() && cut.is_none());
    }

    #[test]
    fn cidr_blocks_are_merged_before_they_are_ranked_and_cut() {
        // The two /25 halves (10 and 90, one feed each) are one /24 scored 90 with two
        // feeds; the lone address scores 90 with one feed. Ranking the halves apart would
        // keep 10.0.0.128/25 only; ranked merged, the /24 wins on its feed count.
        let list = indicators(
            AttrType::IpDst,
            &["198.51.100.0/25", "198.51.100.128/25", "203.0.113.9", "192.0.2.1"],
        );
        let entries = scored(
            &list,
            &[Some(10.0), Some(90.0), Some(90.0), Some(95.0)],
            &[&["a"], &["b"], &["c"], &["a"]],
        );
        for format in [OutputFormat::CidrIpv4, OutputFormat::PanosEdl, OutputFormat::Fortigate] {
            let (report, text, cut, _dir) = write(format, &entries, |o| o.max_entries = Some(2));
            assert_eq!(written_values(&text, "#"), ["192.0.2.1", "198.51.100.0/24"], "{format:?}");
            assert_eq!(report.cut, 1);
            assert_eq!(
                cut.unwrap(),
                "value,score,feeds,reason\n203.0.113.9,90.00,c,max_entries\n",
                "{format:?}"
            );
        }
        // In the sets, too: one element left per family's list.
        let (report, text, _, _dir) = write(OutputFormat::Ipset, &entries, |o| {
            o.max_entries = Some(1);
        });
        assert_eq!(report.entries, 1);
        let added: Vec<&str> = text.lines().filter(|l| l.starts_with("add ")).collect();
        assert_eq!(added, ["add t_v4_tmp 192.0.2.1"]);
        let (_, text, _, _dir) = write(OutputFormat::Nftables, &entries, |o| {
            o.max_entries = Some(2);
        });
        assert!(text.contains("\t192.0.2.1,\n\t198.51.100.0/24\n}\n"), "{text}");
        assert!(!text.contains("203.0.113.9"));
    }

    #[test]
    fn a_block_cut_by_an_allow_list_counts_only_the_entries_that_overlap_it() {
        // 198.51.100.0/24 without 198.51.100.128/25 leaves the /25 below; the address in the
        // upper half is allow-listed whole and counts for nothing.
        let list = indicators(AttrType::IpDst, &["198.51.100.0/24", "198.51.100.200", "192.0.2.1"]);
        let entries =
            scored(&list, &[Some(40.0), Some(99.0), Some(60.0)], &[&["a"], &["b"], &["a"]]);
        let dir = tempfile::tempdir().unwrap();
        let allowed =
            AddressSet::from_nets(&[crate::indicator::parse_net("198.51.100.128/25").unwrap()]);
        let t = target_with(dir.path(), "v4", OutputFormat::CidrIpv4, &allowed, |o| {
            o.max_entries = Some(1);
        });
        let report = write_blocklist(&t, &entries).unwrap();
        assert_eq!(written_values(&read(dir.path(), "v4"), "#"), ["192.0.2.1"]);
        assert_eq!(report.skipped_reasons["allow_listed"], 1);
        let cut = std::fs::read_to_string(dir.path().join("v4.cut.csv")).unwrap();
        assert_eq!(cut, "value,score,feeds,reason\n198.51.100.0/25,40.00,a,max_entries\n");
    }

    /// The names a DNS format writes for three names, one below another, under
    /// `max_entries = 1`: `bad.example` (10), `www.bad.example` (90), `other.example` (50).
    fn one_name_of(format: OutputFormat) -> (OutputReport, Vec<String>) {
        let list =
            indicators(AttrType::Domain, &["bad.example", "www.bad.example", "other.example"]);
        let entries =
            scored(&list, &[Some(10.0), Some(90.0), Some(50.0)], &[&["a"], &["b"], &["a"]]);
        let (report, text, _, _dir) = write(format, &entries, |o| o.max_entries = Some(1));
        let names = text
            .lines()
            .filter(|l| !l.starts_with(['#', '!', ';', '$', '@', '*']) && *l != "server:")
            .map(str::to_owned)
            .collect();
        (report, names)
    }

    #[test]
    fn formats_that_block_subdomains_drop_covered_names_and_rank_the_parent_with_them() {
        // The parent takes the score and feeds of the name it covers (90, two feeds), so it
        // outranks `other.example`; its `www.` name is gone whatever the budget.
        for (format, line) in [
            (OutputFormat::Dnsmasq, "local=/bad.example/"),
            (OutputFormat::Unbound, "local-zone: \"bad.example.\" always_nxdomain"),
            (OutputFormat::Adblock, "||bad.example^"),
            (OutputFormat::Rpz, "bad.example CNAME ."),
        ] {
            let (report, names) = one_name_of(format);
            assert_eq!(names, [line], "{format:?}");
            assert_eq!(report.skipped_reasons["covered_by_parent"], 1, "{format:?}");
            assert_eq!(report.cut, 1, "{format:?}");
            assert_eq!(report.cut_examples, ["other.example"], "{format:?}");
        }
    }

    #[test]
    fn hosts_files_and_plain_lists_keep_subdomains_and_rank_each_name_alone() {
        let (report, names) = one_name_of(OutputFormat::Hosts);
        assert_eq!(names, ["0.0.0.0 www.bad.example"]);
        assert!(!report.skipped_reasons.contains_key("covered_by_parent"));
        assert_eq!(report.cut, 2);
        assert_eq!(report.cut_examples, ["other.example", "bad.example"]);
        let (report, names) = one_name_of(OutputFormat::Plain);
        assert_eq!(names, ["www.bad.example"]);
        assert_eq!(report.cut, 2);
        // A firewall domain list matches names exactly too.
        let list = indicators(AttrType::Domain, &["bad.example", "www.bad.example"]);
        let entries = scored(&list, &[Some(1.0), Some(2.0)], &[&["a"], &["a"]]);
        let (report, text, _, _dir) = write(OutputFormat::PanosEdl, &entries, |o| {
            o.list = Some(ListType::Domain);
        });
        assert_eq!(text, "bad.example\nwww.bad.example\n");
        assert_eq!(report.skipped, 0);
    }

    #[test]
    fn a_name_is_dropped_for_its_topmost_listed_ancestor() {
        let units: Vec<Ranked<'static, &str>> =
            ["a.b.c.example", "b.c.example", "c.example", "d.example"]
                .into_iter()
                .enumerate()
                .map(|(i, name)| Ranked {
                    item: name,
                    value: name.to_owned(),
                    score: Some(i as f64),
                    feeds: vec![["f", "g", "h", "i"][i]],
                })
                .collect();
        let mut units = units;
        units.sort_by(|a, b| a.item.cmp(b.item));
        let mut skips = Skips::default();
        let kept = drop_covered(units, |name| name, &mut skips);
        let names: Vec<&str> = kept.iter().map(|u| u.item).collect();
        assert_eq!(names, ["c.example", "d.example"]);
        assert_eq!(skips.total(), 2);
        // `c.example` (2) takes the best of its names (0, 1) and their feeds.
        assert_eq!(kept[0].score, Some(2.0));
        assert_eq!(kept[0].feeds, ["f", "g", "h"]);
        // A name that only ends like another (`xc.example`) is not below it.
        let units =
            vec![Ranked::new("c.example", String::new()), Ranked::new("xc.example", String::new())];
        let kept = drop_covered(units, |name| name, &mut skips);
        assert_eq!(kept.len(), 2);
    }

    #[test]
    fn max_bytes_keeps_the_longest_ranked_prefix_that_fits_exactly() {
        // Plain lists: the header is `# Test list`, `# task: t`,
        // `# built: 1970-01-01T00:00:00Z`, `# entries: N`, each with a newline.
        let header = |n: usize| 12 + 10 + 30 + format!("# entries: {n}\n").len();
        let list = indicators(
            AttrType::Domain,
            &["aa.example", "b.example", "cccccccccccc.example", "d.example"],
        );
        // Ranked: cccc… (90), aa (80), b (70), d (60).
        let entries = scored(
            &list,
            &[Some(80.0), Some(70.0), Some(90.0), Some(60.0)],
            &[&["f"], &["f"], &["f"], &["f"]],
        );
        let two = header(2) + "cccccccccccc.example\n".len() + "aa.example\n".len();
        let three = header(3) + "cccccccccccc.example\n".len() + "aa.example\n".len() + 10;
        for budget in [two, three - 1] {
            let (report, text, cut, _dir) =
                write(OutputFormat::Plain, &entries, |o| o.max_bytes = Some(budget as u64));
            assert_eq!(text.len(), two, "budget {budget}");
            assert!(text.len() <= budget && three > budget);
            // The file order is kept: `aa` before `cccc…`.
            assert_eq!(written_values(&text, "#"), ["aa.example", "cccccccccccc.example"]);
            assert_eq!(report.bytes as usize, two);
            assert_eq!(report.cut_reasons["max_bytes"], 2);
            assert_eq!(
                cut.unwrap(),
                "value,score,feeds,reason\nb.example,70.00,f,max_bytes\nd.example,60.00,f,max_bytes\n"
            );
        }
        // One byte more than three entries need keeps three.
        let (report, text, _, _dir) =
            write(OutputFormat::Plain, &entries, |o| o.max_bytes = Some(three as u64));
        assert_eq!((report.entries, text.len()), (3, three));
        // One byte less than two entries need keeps one: the best.
        let (report, text, _, _dir) =
            write(OutputFormat::Plain, &entries, |o| o.max_bytes = Some(two as u64 - 1));
        assert_eq!(written_values(&text, "#"), ["cccccccccccc.example"]);
        assert_eq!(report.entries, 1);
    }

    #[test]
    fn max_bytes_takes_a_ranked_prefix_not_whatever_else_fits() {
        // The second-ranked name is long; the third is short enough to fit where the second
        // does not, but the cut keeps to the ranking: neither is written.
        let list =
            indicators(AttrType::Domain, &["a.example", "long-long-long-long.example", "c.ex"]);
        let entries =
            scored(&list, &[Some(90.0), Some(80.0), Some(70.0)], &[&["f"], &["f"], &["f"]]);
        // PAN-OS lists have no header: the budget is the lines alone.
        let budget = "a.example\n".len() + "c.ex\n".len();
        let (report, text, _, _dir) = write(OutputFormat::PanosEdl, &entries, |o| {
            o.list = Some(ListType::Domain);
            o.max_bytes = Some(budget as u64);
        });
        assert_eq!(text, "a.example\n");
        assert_eq!(report.cut_reasons["max_bytes"], 2);
    }

    #[test]
    fn max_entries_and_max_bytes_together_name_the_limit_that_cut_each() {
        let list = indicators(AttrType::Domain, &["a.example", "b.example", "c.example"]);
        let entries = scored(&list, &[Some(3.0), Some(2.0), Some(1.0)], &[&["f"], &["f"], &["f"]]);
        let (report, text, cut, _dir) = write(OutputFormat::PanosEdl, &entries, |o| {
            o.list = Some(ListType::Domain);
            o.max_entries = Some(2);
            o.max_bytes = Some(10);
        });
        assert_eq!(text, "a.example\n");
        assert_eq!(report.cut_reasons["max_bytes"], 1);
        assert_eq!(report.cut_reasons["max_entries"], 1);
        assert_eq!(
            cut.unwrap(),
            "value,score,feeds,reason\nb.example,2.00,f,max_bytes\nc.example,1.00,f,max_entries\n"
        );
    }

    #[test]
    fn a_budget_below_the_empty_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let allowed = AddressSet::default();
        let list = indicators(AttrType::Domain, &["a.example"]);
        let entries = scored(&list, &[None], &[&[]]);
        let t = target_with(dir.path(), "x", OutputFormat::Hosts, &allowed, |o| {
            o.max_bytes = Some(20);
        });
        let error = write_blocklist(&t, &entries).unwrap_err();
        assert!(error.to_string().contains("`max_bytes` 20 is less than"), "{error}");
    }

    #[test]
    fn cut_file_fields_are_quoted_and_never_read_as_formulas() {
        assert_eq!(csv_field("a.example"), "a.example");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"x\""), "\"say \"\"x\"\"\"");
        assert_eq!(csv_field("=1+1"), "'=1+1");
        assert_eq!(csv_field("-x,y"), "\"'-x,y\"");
    }

    #[test]
    fn the_empty_file_sizes_check_uses_are_those_the_writers_write() {
        // `check` refuses a `max_bytes` that the empty file does not fit; its sizes must be
        // the writers' own, for every budgeted format and the settings that change a header.
        type Change = Box<dyn Fn(&mut OutputConfig)>;
        let changes: Vec<Change> = vec![
            Box::new(|_| {}),
            Box::new(|o| o.set_name = Some("blocklist_set".to_owned())),
            Box::new(|o| o.table = Some("filter".to_owned())),
            Box::new(|o| o.zone = Some("rpz.example.net".to_owned())),
            Box::new(|o| o.list = Some(ListType::Domain)),
            Box::new(|o| {
                o.maxelem = Some(1_000_000);
                o.hashsize = Some(64);
            }),
        ];
        for &format in crate::config::budget::BUDGET_FORMATS {
            for (index, change) in changes.iter().enumerate() {
                for (task_id, task_name) in [
                    ("t", "Test list"),
                    ("4ipv-blocklist", "Bl\u{e4}ck\nlist"),
                    ("sep", "One\u{2028}two\u{2029}three"),
                ] {
                    let dir = tempfile::tempdir().unwrap();
                    let allowed = AddressSet::default();
                    let mut t = target_with(dir.path(), "x", format, &allowed, |o| change(o));
                    if format != OutputFormat::Rpz && t.output.zone.is_some()
                        || !matches!(format, OutputFormat::Nftables | OutputFormat::Ipset)
                            && t.output.set_name.is_some()
                    {
                        continue;
                    }
                    t.task_id = task_id;
                    t.task_name = task_name;
                    t.now = 1_767_225_600;
                    let report = write_blocklist(&t, &[]).unwrap();
                    let expected =
                        crate::config::budget::empty_file_bytes(task_id, task_name, t.output);
                    assert_eq!(
                        expected,
                        Some(report.bytes as usize),
                        "{format:?}, change {index}, task {task_id}"
                    );
                }
            }
        }
    }
}
