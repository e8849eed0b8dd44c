//! The look-up index: every indicator of a build, in small JSON shards that the site's
//! look-up page reads in the browser, one shard per question.
//!
//! A value's shard is named by the first `digits` hexadecimal digits of a 32-bit hash of its
//! canonical text ([`shard_of`]: FNV-1a over the UTF-8 bytes, then the `MurmurHash3` finalizer
//! so that the leading digits are evenly spread). The page computes the same hash, so one
//! look-up reads `lookup/meta.json` once and one shard. `digits` grows with the number of
//! values ([`digits_for`]) so that a shard holds about [`VALUES_PER_SHARD`] values or fewer
//! on average, whatever the size of the build: a few tens of kilobytes at ten million
//! indicators.
//!
//! Each shard is one JSON object from value to row:
//!
//! ```json
//! {"198.51.100.7": {
//!   "l": [[type, feed, first_age, last_age]],
//!   "t": [[task, type, verdict, score, model, expires_in, [outputs], [lists], [feeds]]]}}
//! ```
//!
//! `type`, `feed`, `task`, `model`, the outputs and the warning lists are positions in the
//! arrays of `meta.json`; ages and `expires_in` are seconds before and after the build time
//! (`meta.now_unix`), so that most of them are short; a missing time or score is `null`.
//! `l` holds one entry per feed that lists the value (with first and last sighting from the
//! ledger), `t` one per task that took it: the verdict (`selected`, `expired`,
//! `warninglisted`, `reserved`, `unscored`; an address of the other IP version than a task's
//! `ip_version` is not a row of that task), the score rounded to two
//! decimals, the outputs that hold it, the task's warning lists that match it and the feeds
//! behind the task's decision.
//!
//! While rows arrive (feed by feed, then task by task) each shard keeps them as fragments in
//! one byte buffer, already in JSON; shards are then grouped and written in parallel. The
//! memory this takes is about the size of the index itself.

use std::fmt::Write as _;
use std::path::Path;

use rayon::prelude::*;
use serde::Serialize;

use super::{ExportError, write_file};

/// The layout version of the index, in `meta.json`.
pub const INDEX_FORMAT: u32 = 1;

/// The number of values a shard holds on average at most; [`digits_for`] picks the shard
/// count from it.
pub const VALUES_PER_SHARD: usize = 1000;

/// The folder of the index inside the site.
pub const INDEX_DIR: &str = "lookup";

/// The 32-bit hash the shards are named by: FNV-1a, then the `MurmurHash3` finalizer.
#[must_use]
pub fn hash32(value: &str) -> u32 {
    let mut hash: u32 = 0x811c_9dc5;
    for byte in value.bytes() {
        hash ^= u32::from(byte);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    hash ^= hash >> 16;
    hash = hash.wrapping_mul(0x85eb_ca6b);
    hash ^= hash >> 13;
    hash = hash.wrapping_mul(0xc2b2_ae35);
    hash ^ (hash >> 16)
}

/// The shard of a value among `16^digits`.
#[must_use]
pub fn shard_of(value: &str, digits: u32) -> usize {
    (hash32(value) >> (32 - 4 * digits)) as usize
}

/// The number of hexadecimal digits that name the shards for `values` values: the fewest
/// (at least 1, at most 6) with no more than [`VALUES_PER_SHARD`] values per shard on average.
#[must_use]
pub fn digits_for(values: usize) -> u32 {
    let mut digits = 1;
    while digits < 6 && values > VALUES_PER_SHARD << (4 * digits) {
        digits += 1;
    }
    digits
}

/// The path of shard `shard` inside the index folder: `ab.json` for two digits or fewer,
/// `ab/cdef.json` beyond, so that no folder holds more than 256 entries at the top.
#[must_use]
pub fn shard_path(shard: usize, digits: u32) -> String {
    let hex = format!("{shard:0width$x}", width = digits as usize);
    if hex.len() <= 2 { format!("{hex}.json") } else { format!("{}/{}.json", &hex[..2], &hex[2..]) }
}

/// What a task did with a value, as a row of the index says it.
#[derive(Clone, Debug)]
pub struct Verdict<'v> {
    /// The task, by position in `meta.tasks`.
    pub task: usize,
    /// The value's type, by position in [`crate::indicator::AttrType::ALL`].
    pub kind: usize,
    /// `selected`, `expired`, `warninglisted`, `reserved` or `unscored`.
    pub verdict: &'static str,
    /// The score, when a model gave one.
    pub score: Option<f64>,
    /// The model, by position in `meta.models`.
    pub model: Option<usize>,
    /// When the score falls below the model's threshold, Unix seconds.
    pub expires_at: Option<i64>,
    /// The outputs that hold it, by position in `meta.outputs`.
    pub outputs: &'v [usize],
    /// The warning lists that match it, by position in `meta.warninglists`.
    pub lists: &'v [usize],
    /// The feeds behind the task's decision, by position in `meta.feeds`.
    pub feeds: &'v [usize],
}

/// The index while rows arrive.
pub struct IndexBuilder {
    now: i64,
    digits: u32,
    /// Per shard: fragments `[u32 value length][value][u8 kind][u32 text length][text]`.
    shards: Vec<Vec<u8>>,
    /// The prefix lengths of the IPv4 and IPv6 networks among the values, so that the page
    /// looks an address up in the networks that may hold it and no others.
    prefixes: Prefixes,
}

/// The kinds of fragment, in the order a row lists them.
const LISTING: u8 = 0;
const VERDICT: u8 = 1;

impl IndexBuilder {
    /// An empty index for about `values` values, at build time `now`.
    #[must_use]
    pub fn new(values: usize, now: i64) -> IndexBuilder {
        let digits = digits_for(values);
        IndexBuilder {
            now,
            digits,
            shards: vec![Vec::new(); 1 << (4 * digits)],
            prefixes: Default::default(),
        }
    }

    /// The number of hexadecimal digits of the shard names.
    #[must_use]
    pub fn digits(&self) -> u32 {
        self.digits
    }

    /// Records that feed `feed` lists `value` of type `kind`, first and last seen at these
    /// times (Unix seconds) when the ledger knows them.
    pub fn listing(&mut self, value: &str, kind: usize, feed: usize, seen: Option<(i64, i64)>) {
        let text = listing_text(self.now, kind, feed, seen);
        self.push(value, LISTING, &text);
    }

    /// Records listings and verdicts on every core: the shards are split into ranges, and
    /// `fill` runs once per range with a [`ShardRange`] that takes the values of that range
    /// only. `fill` must offer the same fragments in the same order each time it runs (every
    /// feed's listings in feed order, say), so that each row holds them in that order, as
    /// [`IndexBuilder::listing`] and [`IndexBuilder::verdict`] called in that order would.
    pub fn on_every_core(&mut self, fill: impl Fn(&mut ShardRange<'_>) + Sync) {
        // One range per core: each range hashes every value to find its own, and the hash
        // spreads the values evenly over the ranges.
        let ranges = rayon::current_num_threads();
        let per = self.shards.len().div_ceil(ranges).max(1);
        let (now, digits) = (self.now, self.digits);
        let prefixes: Vec<Prefixes> = self
            .shards
            .par_chunks_mut(per)
            .enumerate()
            .map(|(range, shards)| {
                let mut part = ShardRange {
                    first: range * per,
                    shards,
                    now,
                    digits,
                    prefixes: Prefixes::default(),
                };
                fill(&mut part);
                part.prefixes
            })
            .collect();
        for (v4, v6) in prefixes {
            self.prefixes.0.extend(v4);
            self.prefixes.1.extend(v6);
        }
    }

    /// Records what a task did with `value`.
    pub fn verdict(&mut self, value: &str, verdict: &Verdict<'_>) {
        let text = self.verdict_text(verdict);
        self.push(value, VERDICT, &text);
    }

    /// The row text of a verdict, for [`ShardRange::verdict_text`].
    #[must_use]
    pub fn verdict_text(&self, verdict: &Verdict<'_>) -> String {
        let mut text = String::with_capacity(48);
        let _ = write!(text, "[{},{},\"{}\",", verdict.task, verdict.kind, verdict.verdict);
        match verdict.score.filter(|s| s.is_finite()) {
            Some(score) => text.push_str(&crate::export::chart::plain_number(score, 2)),
            None => text.push_str("null"),
        }
        text.push(',');
        push_option(&mut text, verdict.model.map(|m| m as i64));
        text.push(',');
        push_option(&mut text, verdict.expires_at.map(|at| at.saturating_sub(self.now)));
        for list in [verdict.outputs, verdict.lists, verdict.feeds] {
            text.push_str(",[");
            for (i, n) in list.iter().enumerate() {
                if i > 0 {
                    text.push(',');
                }
                let _ = write!(text, "{n}");
            }
            text.push(']');
        }
        text.push(']');
        text
    }

    fn push(&mut self, value: &str, kind: u8, text: &str) {
        note_prefix(&mut self.prefixes, value);
        push_fragment(&mut self.shards[shard_of(value, self.digits)], value, kind, text);
    }

    /// Writes `meta.json` and every shard into `<site>/lookup/`, the shards in parallel.
    pub fn write(self, site: &Path, meta: &Meta) -> Result<Written, ExportError> {
        let dir = site.join(INDEX_DIR);
        let digits = self.digits;
        let shards = self.shards;
        let values: Vec<usize> = shards
            .into_par_iter()
            .enumerate()
            .map(|(shard, fragments)| {
                let rows = rows(&fragments);
                let text = shard_json(&rows);
                write_file(&dir.join(shard_path(shard, digits)), text.as_bytes())?;
                Ok(rows.len())
            })
            .collect::<Result<_, ExportError>>()?;
        let total: usize = values.iter().sum();
        let meta = MetaFile {
            format: INDEX_FORMAT,
            digits,
            values: total,
            v4_prefixes: self.prefixes.0.into_iter().rev().collect(),
            v6_prefixes: self.prefixes.1.into_iter().rev().collect(),
            meta,
        };
        let text = serde_json::to_string(&meta).unwrap_or_default();
        write_file(&dir.join("meta.json"), text.as_bytes())?;
        Ok(Written { digits, values: total, shards: values.len() })
    }
}

/// The prefix lengths of the IPv4 and IPv6 networks among the values.
type Prefixes = (std::collections::BTreeSet<u8>, std::collections::BTreeSet<u8>);

/// One range of an index's shards, taking the fragments of its values
/// ([`IndexBuilder::on_every_core`]).
pub struct ShardRange<'b> {
    /// The number of the first shard of the range.
    first: usize,
    shards: &'b mut [Vec<u8>],
    now: i64,
    digits: u32,
    prefixes: Prefixes,
}

impl ShardRange<'_> {
    /// The shard, within this range, that `value` goes to; `None` when it is another
    /// range's (and this range would not take it).
    #[must_use]
    pub fn slot(&self, value: &str) -> Option<usize> {
        shard_of(value, self.digits).checked_sub(self.first).filter(|&at| at < self.shards.len())
    }

    /// Records that feed `feed` lists `value` of type `kind`, first and last seen at these
    /// times when the ledger knows them; `slot` is [`ShardRange::slot`] of the value.
    pub fn listing(
        &mut self,
        slot: usize,
        value: &str,
        kind: usize,
        feed: usize,
        seen: Option<(i64, i64)>,
    ) {
        note_prefix(&mut self.prefixes, value);
        let text = listing_text(self.now, kind, feed, seen);
        push_fragment(&mut self.shards[slot], value, LISTING, &text);
    }

    /// Records a verdict made beforehand with [`IndexBuilder::verdict_text`]; `slot` is
    /// [`ShardRange::slot`] of the value.
    pub fn verdict_text(&mut self, slot: usize, value: &str, text: &str) {
        note_prefix(&mut self.prefixes, value);
        push_fragment(&mut self.shards[slot], value, VERDICT, text);
    }
}

/// The row text of a listing: `[kind,feed,first,last]`, the times as seconds before `now`.
fn listing_text(now: i64, kind: usize, feed: usize, seen: Option<(i64, i64)>) -> String {
    let mut text = String::with_capacity(24);
    let _ = write!(text, "[{kind},{feed},");
    match seen {
        Some((first, last)) => {
            let _ = write!(text, "{},{}]", now - first, now - last);
        }
        None => text.push_str("null,null]"),
    }
    text
}

/// Adds the prefix length of `value` to `prefixes` when it is a network.
fn note_prefix(prefixes: &mut Prefixes, value: &str) {
    if value.contains('/')
        && !value.contains("://")
        && let Ok(net) = value.parse::<ipnet::IpNet>()
    {
        match net {
            ipnet::IpNet::V4(n) => prefixes.0.insert(n.prefix_len()),
            ipnet::IpNet::V6(n) => prefixes.1.insert(n.prefix_len()),
        };
    }
}

/// Appends one fragment `[u32 value length][value][u8 kind][u32 text length][text]`.
fn push_fragment(shard: &mut Vec<u8>, value: &str, kind: u8, text: &str) {
    shard.extend_from_slice(&(value.len() as u32).to_le_bytes());
    shard.extend_from_slice(value.as_bytes());
    shard.push(kind);
    shard.extend_from_slice(&(text.len() as u32).to_le_bytes());
    shard.extend_from_slice(text.as_bytes());
}

fn push_option(text: &mut String, value: Option<i64>) {
    match value {
        Some(n) => {
            let _ = write!(text, "{n}");
        }
        None => text.push_str("null"),
    }
}

/// One value of a shard: its listings and verdicts, as JSON arrays.
struct Row<'s> {
    value: &'s str,
    listings: Vec<&'s str>,
    verdicts: Vec<&'s str>,
}

/// The rows of a shard's fragments, by value in byte order; within a row, fragments keep
/// the order they arrived in.
fn rows(fragments: &[u8]) -> Vec<Row<'_>> {
    let mut parts: Vec<(&str, u8, &str)> = Vec::new();
    let mut at = 0;
    let take = |n: usize, at: &mut usize| {
        let bytes = &fragments[*at..*at + n];
        *at += n;
        bytes
    };
    while at < fragments.len() {
        let len = u32::from_le_bytes(take(4, &mut at).try_into().unwrap_or_default()) as usize;
        let value = std::str::from_utf8(take(len, &mut at)).unwrap_or_default();
        let kind = take(1, &mut at)[0];
        let len = u32::from_le_bytes(take(4, &mut at).try_into().unwrap_or_default()) as usize;
        let text = std::str::from_utf8(take(len, &mut at)).unwrap_or_default();
        parts.push((value, kind, text));
    }
    // Stable: the fragments of one value stay in arrival order.
    parts.sort_by(|a, b| a.0.cmp(b.0));
    let mut rows: Vec<Row<'_>> = Vec::new();
    for (value, kind, text) in parts {
        if rows.last().is_none_or(|row| row.value != value) {
            rows.push(Row { value, listings: Vec::new(), verdicts: Vec::new() });
        }
        if let Some(row) = rows.last_mut() {
            if kind == LISTING { row.listings.push(text) } else { row.verdicts.push(text) }
        }
    }
    rows
}

fn shard_json(rows: &[Row<'_>]) -> String {
    let mut out = String::from("{");
    for (i, row) in rows.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push('\n');
        out.push_str(&serde_json::to_string(row.value).unwrap_or_default());
        out.push_str(":{\"l\":[");
        out.push_str(&row.listings.join(","));
        out.push_str("],\"t\":[");
        out.push_str(&row.verdicts.join(","));
        out.push_str("]}");
    }
    out.push_str("\n}\n");
    out
}

/// What the index's `meta.json` names by position, besides the shard layout.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Meta {
    /// The build time, RFC 3339.
    pub built: String,
    /// The build time, Unix seconds: the origin of the rows' ages and expiries.
    pub now_unix: i64,
    /// Every attribute type, in the order rows number them.
    pub types: Vec<&'static str>,
    /// Every enabled feed.
    pub feeds: Vec<MetaFeed>,
    /// Every task.
    pub tasks: Vec<MetaTask>,
    /// Every decay model.
    pub models: Vec<MetaModel>,
    /// Every output of every task.
    pub outputs: Vec<MetaOutput>,
    /// Every warning list of the project.
    pub warninglists: Vec<MetaList>,
}

/// A feed in `meta.json`.
#[derive(Clone, Debug, Serialize)]
pub struct MetaFeed {
    /// Its id (its page is `feeds/<id>.html`).
    pub id: String,
    /// Its display name.
    pub name: String,
}

/// A task in `meta.json`.
#[derive(Clone, Debug, Serialize)]
pub struct MetaTask {
    /// Its id (its page is `tasks/<id>.html`).
    pub id: String,
    /// Its display name.
    pub name: String,
    /// The warning lists it checks, by position in `meta.warninglists`.
    pub warninglists: Vec<usize>,
}

/// A decay model in `meta.json`.
#[derive(Clone, Debug, Serialize)]
pub struct MetaModel {
    /// Its id (its page is `models/<id>.html`).
    pub id: String,
    /// Its display name.
    pub name: String,
    /// θ.
    pub threshold: f64,
}

/// An output in `meta.json`.
#[derive(Clone, Debug, Serialize)]
pub struct MetaOutput {
    /// Its path inside the site.
    pub path: String,
    /// Its format.
    pub format: &'static str,
    /// Its task, by position in `meta.tasks`.
    pub task: usize,
}

/// A warning list in `meta.json`.
#[derive(Clone, Debug, Serialize)]
pub struct MetaList {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: String,
}

#[derive(Serialize)]
struct MetaFile<'m> {
    format: u32,
    digits: u32,
    values: usize,
    /// The prefix lengths of the IPv4 networks among the values, longest first.
    v4_prefixes: Vec<u8>,
    /// The same for IPv6.
    v6_prefixes: Vec<u8>,
    #[serde(flatten)]
    meta: &'m Meta,
}

/// What [`IndexBuilder::write`] wrote.
#[derive(Clone, Copy, Debug)]
pub struct Written {
    /// Hexadecimal digits of the shard names.
    pub digits: u32,
    /// Distinct values.
    pub values: usize,
    /// Shard files.
    pub shards: usize,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_hash_is_fnv_1a_then_the_murmur_finalizer() {
        // MurmurHash3's 32-bit finalizer, written out here independently of `hash32`.
        let fmix = |mut h: u32| {
            h ^= h >> 16;
            h = h.wrapping_mul(0x85eb_ca6b);
            h ^= h >> 13;
            h = h.wrapping_mul(0xc2b2_ae35);
            h ^ (h >> 16)
        };
        // FNV-1a of "a" is 0xe40c292c (the published test vector); of "", the offset basis.
        assert_eq!(hash32("a"), fmix(0xe40c_292c));
        assert_eq!(hash32(""), fmix(0x811c_9dc5));
    }

    #[test]
    fn shards_grow_with_the_values_so_that_each_holds_about_a_thousand() {
        assert_eq!(digits_for(0), 1);
        assert_eq!(digits_for(16_000), 1);
        assert_eq!(digits_for(16_001), 2);
        assert_eq!(digits_for(256_000), 2);
        assert_eq!(digits_for(10_000_000), 4);
        assert_eq!(digits_for(usize::MAX), 6);
    }

    #[test]
    fn shard_paths_split_after_two_digits() {
        assert_eq!(shard_path(0xa, 1), "a.json");
        assert_eq!(shard_path(0x0b, 2), "0b.json");
        assert_eq!(shard_path(0x0bc, 3), "0b/c.json");
        assert_eq!(shard_path(0xabcd, 4), "ab/cd.json");
    }

    #[test]
    fn a_value_lands_in_the_shard_its_leading_hash_digits_name() {
        let h = hash32("198.51.100.7");
        assert_eq!(shard_of("198.51.100.7", 1), (h >> 28) as usize);
        assert_eq!(shard_of("198.51.100.7", 4), (h >> 16) as usize);
    }

    #[test]
    fn rows_gather_the_fragments_of_a_value_and_escape_it() {
        let mut index = IndexBuilder::new(10, 1000);
        let hostile = "evil\"</script>\n.example";
        index.listing(hostile, 3, 1, Some((400, 900)));
        index.listing("b.example", 3, 0, None);
        index.listing(hostile, 3, 2, None);
        index.verdict(
            hostile,
            &Verdict {
                task: 0,
                kind: 3,
                verdict: "selected",
                score: Some(46.876),
                model: Some(1),
                expires_at: Some(5000),
                outputs: &[0, 2],
                lists: &[],
                feeds: &[1, 2],
            },
        );
        let dir = tempfile::tempdir().unwrap();
        let written = index.write(dir.path(), &Meta::default()).unwrap();
        assert_eq!(written.values, 2);
        let shard = shard_of(hostile, written.digits);
        let text =
            std::fs::read_to_string(dir.path().join("lookup").join(shard_path(shard, 1))).unwrap();
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        let row = &parsed[hostile];
        assert_eq!(row["l"], serde_json::json!([[3, 1, 600, 100], [3, 2, null, null]]));
        assert_eq!(
            row["t"],
            serde_json::json!([[0, 3, "selected", 46.88, 1, 4000, [0, 2], [], [1, 2]]])
        );
        assert!(!text.contains("</script>\n"), "the value's newline is escaped");
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("lookup/meta.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(meta["digits"], 1);
        assert_eq!(meta["values"], 2);
    }

    #[test]
    fn listings_made_on_every_core_keep_each_rows_feeds_in_feed_order() {
        // Enough values for 256 shards, so that the ranges split them; each value is listed
        // by feeds 2 then 0 (feed order, not number order) or by feed 1 alone.
        let values: Vec<String> =
            (0..20_000).map(|i| format!("10.{}.{}.0/24", i / 256, i % 256)).collect();
        let feeds_of = |i: usize| if i.is_multiple_of(3) { vec![2, 0] } else { vec![1] };
        let mut index = IndexBuilder::new(values.len(), 1000);
        assert_eq!(index.digits(), 2);
        index.on_every_core(|listings| {
            for feed in [2, 0, 1] {
                for (i, value) in values.iter().enumerate() {
                    if !feeds_of(i).contains(&feed) {
                        continue;
                    }
                    if let Some(slot) = listings.slot(value) {
                        listings.listing(slot, value, 7, feed, Some((900, 990)));
                    }
                }
            }
        });
        let dir = tempfile::tempdir().unwrap();
        let written = index.write(dir.path(), &Meta::default()).unwrap();
        assert_eq!(written.values, values.len());
        let mut shards = std::collections::HashMap::<usize, serde_json::Value>::new();
        for (i, value) in values.iter().enumerate() {
            let shard = shard_of(value, 2);
            let parsed = shards.entry(shard).or_insert_with(|| {
                let path = dir.path().join("lookup").join(shard_path(shard, 2));
                serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
            });
            let expected: Vec<serde_json::Value> =
                feeds_of(i).iter().map(|f| serde_json::json!([7, f, 100, 10])).collect();
            assert_eq!(parsed[value.as_str()]["l"], serde_json::Value::from(expected), "{value}");
        }
        let meta: serde_json::Value = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join("lookup/meta.json")).unwrap(),
        )
        .unwrap();
        assert_eq!(meta["v4_prefixes"], serde_json::json!([24]));
    }
}
