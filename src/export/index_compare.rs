//! Comparing two builds through their look-up indexes: what each output holds in one and not
//! the other, what each feed lists, and which values a warning list newly catches.
//!
//! The build compares the previous build's site with its own (the changes page), and `plan`
//! compares two builds of two versions of the definitions. Both indexes are read one group of
//! shards at a time: the shards whose names share the first `min(digits)` hexadecimal digits
//! hold the same values in both, whatever each index's shard count, so the comparison never
//! holds more than one group of either index in memory, and groups are compared in parallel.
//!
//! An index is only read as far as it is sound: a `meta.json` or shard that is too large,
//! does not parse or names positions that do not exist is skipped with a warning (its values
//! count as absent), never trusted.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::de::IgnoredAny;
use serde::{Deserialize, Serialize};

use super::lookup_index::{INDEX_DIR, INDEX_FORMAT, digits_for, shard_of, shard_path};

/// How many values a change names, the first in byte order.
pub const CHANGE_EXAMPLES: usize = 20;

/// What changed from one build's index to another's.
#[derive(Clone, Debug, Serialize)]
pub struct Changes {
    /// The earlier build's time, RFC 3339.
    pub since: String,
    /// Per output path (the later build's outputs in order, then those only the earlier build
    /// had): the values it holds now and did not hold then, and the reverse.
    pub outputs: Vec<Change>,
    /// Per feed id, the same for the values it lists.
    pub feeds: Vec<Change>,
    /// Values that a task's warning list leaves out now and did not then (the task selected
    /// them, or did not take them at all).
    pub newly_warninglisted: u64,
    /// The first of them in byte order (at most [`CHANGE_EXAMPLES`]).
    pub newly_warninglisted_examples: Vec<Caught>,
}

/// A value a warning list newly leaves out of a task.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct Caught {
    /// The value.
    pub value: String,
    /// The task id.
    pub task: String,
    /// The ids of the lists that match it.
    pub lists: Vec<String>,
}

/// The values one output or feed gained and lost.
#[derive(Clone, Debug, Default, Serialize)]
pub struct Change {
    /// The output's path or the feed's id.
    pub name: String,
    /// Values held now and not then.
    pub added: u64,
    /// Values held then and not now.
    pub removed: u64,
    /// The first added values in byte order (at most [`CHANGE_EXAMPLES`]).
    pub added_examples: Vec<String>,
    /// The first removed values in byte order (at most [`CHANGE_EXAMPLES`]).
    pub removed_examples: Vec<String>,
    /// For an output: how many of the added values each feed lists (a value several feeds
    /// list counts for each); empty for a feed.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub added_by_feed: BTreeMap<String, u64>,
}

impl Change {
    fn count(&mut self, value: &str, added: bool) {
        let (count, examples) = if added {
            (&mut self.added, &mut self.added_examples)
        } else {
            (&mut self.removed, &mut self.removed_examples)
        };
        *count += 1;
        keep_first(examples, value.to_owned());
    }

    fn merge(&mut self, other: Change) {
        self.added += other.added;
        self.removed += other.removed;
        for value in other.added_examples {
            keep_first(&mut self.added_examples, value);
        }
        for value in other.removed_examples {
            keep_first(&mut self.removed_examples, value);
        }
        for (feed, n) in other.added_by_feed {
            *self.added_by_feed.entry(feed).or_default() += n;
        }
    }
}

/// Keeps the [`CHANGE_EXAMPLES`] smallest of `examples` and `value`, sorted.
fn keep_first<T: Ord>(examples: &mut Vec<T>, value: T) {
    if examples.len() == CHANGE_EXAMPLES && examples.last().is_some_and(|last| value >= *last) {
        return;
    }
    let at = examples.partition_point(|e| *e < value);
    examples.insert(at, value);
    examples.truncate(CHANGE_EXAMPLES);
}

/// One value of a stored index, its positions resolved to the names its index holds.
#[derive(Clone, Debug, Default)]
pub struct Stored<'i> {
    /// The value.
    pub value: String,
    /// The ids of the feeds that list it.
    pub feeds: Vec<&'i str>,
    /// What each task did with it.
    pub verdicts: Vec<StoredVerdict<'i>>,
}

/// A task's verdict on a stored value.
#[derive(Clone, Debug, Default)]
pub struct StoredVerdict<'i> {
    /// The task id.
    pub task: &'i str,
    /// Whether a warning list of the task left the value out.
    pub warninglisted: bool,
    /// The paths of the outputs that hold it.
    pub outputs: Vec<&'i str>,
    /// The ids of the task's warning lists that match it.
    pub lists: Vec<&'i str>,
}

/// A listing as a shard stores it (type, feed, first and last age): only the feed is read.
type ListingRow = (IgnoredAny, usize, IgnoredAny, IgnoredAny);

/// A verdict as a shard stores it (see `lookup_index`): task, type, verdict, score, model,
/// expiry, outputs, lists, feeds; the type, score, model, expiry and feeds are not compared.
type VerdictRow<'a> = (
    usize,
    IgnoredAny,
    Cow<'a, str>,
    IgnoredAny,
    IgnoredAny,
    IgnoredAny,
    Vec<usize>,
    Vec<usize>,
    IgnoredAny,
);

#[derive(Deserialize)]
struct StoredRow<'a> {
    l: Vec<ListingRow>,
    #[serde(borrow)]
    t: Vec<VerdictRow<'a>>,
}

/// A value as a shard's key, borrowed from the shard's bytes unless it holds an escape.
#[derive(Deserialize, PartialEq, Eq, Hash)]
struct Key<'a>(#[serde(borrow)] Cow<'a, str>);

#[derive(Deserialize)]
struct StoredMeta {
    format: u32,
    digits: u32,
    values: usize,
    built: String,
    feeds: Vec<Named>,
    tasks: Vec<Named>,
    outputs: Vec<Path_>,
    warninglists: Vec<Named>,
}

#[derive(Deserialize)]
struct Named {
    id: String,
}

#[derive(Deserialize)]
struct Path_ {
    path: String,
}

/// The largest `meta.json` or shard that is read; a larger file is not one feedsmith wrote
/// (a shard holds about a thousand values, a few tens of kilobytes).
const MAX_STORED_BYTES: u64 = 16 << 20;

/// The most bytes of shards read for one group; the rest of the group counts as absent. Real
/// groups are far smaller; a tampered index of hard-linked large shards is not read whole.
const MAX_GROUP_BYTES: u64 = 256 << 20;

/// A regular file of at most `limit` bytes, never through a symbolic link (a previous site
/// is not trusted to point only inside itself) and never a FIFO or device (which would block
/// or never end).
pub(crate) fn read_regular(path: &Path, limit: u64) -> Option<Vec<u8>> {
    use std::io::Read as _;
    let meta = std::fs::symlink_metadata(path).ok()?;
    if !meta.is_file() || meta.len() > limit {
        return None;
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(path).ok()?.take(limit + 1).read_to_end(&mut bytes).ok()?;
    (bytes.len() as u64 <= limit).then_some(bytes)
}

fn read_small(path: &Path) -> Option<Vec<u8>> {
    read_regular(path, MAX_STORED_BYTES)
}

/// A built site's look-up index, read a group of shards at a time.
#[derive(Clone, Debug)]
pub struct StoredIndex {
    dir: PathBuf,
    digits: u32,
    /// The build's time, RFC 3339.
    pub built: String,
    feeds: Vec<String>,
    tasks: Vec<String>,
    /// The output paths, in the build's order.
    pub outputs: Vec<String>,
    lists: Vec<String>,
}

impl StoredIndex {
    /// Opens the index of the site in `site`; the reason when it has none that can be read.
    pub fn open(site: &Path) -> Result<StoredIndex, String> {
        let dir = site.join(INDEX_DIR);
        let path = dir.join("meta.json");
        let bytes =
            read_small(&path).ok_or_else(|| format!("{} cannot be read", path.display()))?;
        let meta: StoredMeta = serde_json::from_slice(&bytes)
            .map_err(|e| format!("{} does not parse: {e}", path.display()))?;
        if meta.format != INDEX_FORMAT {
            return Err(format!(
                "{} is of another layout (format {})",
                path.display(),
                meta.format
            ));
        }
        // Shards are named by as many digits as the values call for, no more.
        if meta.digits != digits_for(meta.values) {
            return Err(format!(
                "{} names {} shard digits for {} values: it is not an index feedsmith wrote",
                path.display(),
                meta.digits,
                meta.values
            ));
        }
        let ids = |list: Vec<Named>| list.into_iter().map(|n| n.id).collect();
        Ok(StoredIndex {
            dir,
            digits: meta.digits,
            built: meta.built,
            feeds: ids(meta.feeds),
            tasks: ids(meta.tasks),
            outputs: meta.outputs.into_iter().map(|o| o.path).collect(),
            lists: ids(meta.warninglists),
        })
    }

    /// The bytes of the shards whose names start with the `group_digits` digits of `group`,
    /// by shard; a shard that is missing or cannot be read is left out, and reading stops
    /// at [`MAX_GROUP_BYTES`].
    fn group_bytes(&self, group: usize, group_digits: u32) -> Vec<(usize, Vec<u8>)> {
        let per_group = 1usize << (4 * (self.digits - group_digits));
        let mut shards = Vec::with_capacity(per_group);
        let mut read = 0;
        for shard in group * per_group..(group + 1) * per_group {
            let path = self.dir.join(shard_path(shard, self.digits));
            let Some(bytes) = read_small(&path) else { continue };
            read += bytes.len() as u64;
            if read > MAX_GROUP_BYTES {
                tracing::warn!(path = %path.display(), "A look-up index's shards are far larger than feedsmith writes them; the rest of the group counts as absent");
                break;
            }
            shards.push((shard, bytes));
        }
        shards
    }

    /// The values of the shards whose names start with the `group_digits` digits of `group`.
    #[cfg(test)]
    fn group(&self, group: usize, group_digits: u32) -> Vec<Stored<'_>> {
        self.values(&self.group_bytes(group, group_digits))
    }

    /// The values of shards read by [`StoredIndex::group_bytes`].
    fn values(&self, shards: &[(usize, Vec<u8>)]) -> Vec<Stored<'_>> {
        fn name(list: &[String], i: usize) -> Option<&str> {
            list.get(i).map(String::as_str)
        }
        let mut values = Vec::new();
        for (shard, bytes) in shards {
            let Ok(rows) = serde_json::from_slice::<HashMap<Key<'_>, StoredRow<'_>>>(bytes) else {
                tracing::warn!(
                    shard,
                    "A shard of a look-up index does not parse; its values count as absent"
                );
                continue;
            };
            // A value in a shard its hash does not name is not one feedsmith put there.
            for (Key(value), row) in
                rows.into_iter().filter(|(v, _)| shard_of(&v.0, self.digits) == *shard)
            {
                let feeds = row.l.iter().filter_map(|l| name(&self.feeds, l.1)).collect();
                let verdicts = row
                    .t
                    .into_iter()
                    .filter_map(|t| {
                        Some(StoredVerdict {
                            task: name(&self.tasks, t.0)?,
                            warninglisted: t.2 == "warninglisted",
                            outputs: t.6.iter().filter_map(|&o| name(&self.outputs, o)).collect(),
                            lists: t.7.iter().filter_map(|&l| name(&self.lists, l)).collect(),
                        })
                    })
                    .collect();
                values.push(Stored { value: value.into_owned(), feeds, verdicts });
            }
        }
        values
    }

    /// Whether two indexes name the same feeds, tasks, outputs and lists at the same
    /// positions in as many shards, so that equal shard bytes mean equal values.
    fn same_names(&self, other: &StoredIndex) -> bool {
        self.digits == other.digits
            && self.feeds == other.feeds
            && self.tasks == other.tasks
            && self.outputs == other.outputs
            && self.lists == other.lists
    }
}

/// Compares the index of an earlier build with a later one's.
#[must_use]
pub fn compare(before: &StoredIndex, after: &StoredIndex) -> Changes {
    let group_digits = before.digits.min(after.digits);
    let same_names = before.same_names(after);
    let diff = (0..1usize << (4 * group_digits))
        .into_par_iter()
        .map(|group| {
            let mut diff = Diff::default();
            let (then, now) =
                (before.group_bytes(group, group_digits), after.group_bytes(group, group_digits));
            // An unchanged group (a build run again on the same data, at the same time) is
            // not parsed.
            if !(same_names && then == now) {
                diff.compare(before.values(&then), after.values(&now));
            }
            diff
        })
        .reduce(Diff::default, |mut a, b| {
            a.merge(b);
            a
        });
    diff.into_changes(before.built.clone(), after)
}

/// The changes of some groups of shards.
#[derive(Default)]
struct Diff {
    outputs: BTreeMap<String, Change>,
    feeds: BTreeMap<String, Change>,
    caught: u64,
    caught_examples: Vec<Caught>,
}

impl Diff {
    fn compare(&mut self, then: Vec<Stored<'_>>, now: Vec<Stored<'_>>) {
        let mut before: HashMap<String, Stored<'_>> =
            then.into_iter().map(|s| (s.value.clone(), s)).collect();
        for value in now {
            let old = before.remove(&value.value).unwrap_or_default();
            let (then_out, now_out) = (outputs_of(&old), outputs_of(&value));
            for name in now_out.iter().filter(|n| !then_out.contains(n)) {
                let change = change_of(&mut self.outputs, name);
                change.count(&value.value, true);
                for feed in &value.feeds {
                    *change.added_by_feed.entry((*feed).to_owned()).or_default() += 1;
                }
            }
            for name in then_out.iter().filter(|n| !now_out.contains(n)) {
                change_of(&mut self.outputs, name).count(&value.value, false);
            }
            count(&mut self.feeds, &value.value, &old.feeds, &value.feeds);
            for verdict in value.verdicts.iter().filter(|v| v.warninglisted) {
                let was = old.verdicts.iter().any(|v| v.task == verdict.task && v.warninglisted);
                if !was {
                    self.caught += 1;
                    let caught = Caught {
                        value: value.value.clone(),
                        task: verdict.task.to_owned(),
                        lists: verdict.lists.iter().map(|l| (*l).to_owned()).collect(),
                    };
                    keep_first(&mut self.caught_examples, caught);
                }
            }
        }
        for (value, old) in before {
            for name in outputs_of(&old) {
                change_of(&mut self.outputs, name).count(&value, false);
            }
            count(&mut self.feeds, &value, &old.feeds, &[]);
        }
    }

    fn merge(&mut self, other: Diff) {
        for (name, change) in other.outputs {
            self.outputs.entry(name).or_default().merge(change);
        }
        for (name, change) in other.feeds {
            self.feeds.entry(name).or_default().merge(change);
        }
        self.caught += other.caught;
        for caught in other.caught_examples {
            keep_first(&mut self.caught_examples, caught);
        }
    }

    /// The changes in the order of the later build's outputs and feeds, then those only the
    /// earlier build had; every output and feed of the later build is listed, changed or not.
    fn into_changes(mut self, since: String, after: &StoredIndex) -> Changes {
        let ordered = |map: &mut BTreeMap<String, Change>, names: &[String]| {
            let mut list: Vec<Change> = names
                .iter()
                .map(|name| {
                    let mut change = map.remove(name).unwrap_or_default();
                    name.clone_into(&mut change.name);
                    change
                })
                .collect();
            list.extend(std::mem::take(map).into_iter().map(|(name, mut change)| {
                change.name = name;
                change
            }));
            list
        };
        Changes {
            since,
            outputs: ordered(&mut self.outputs, &after.outputs),
            feeds: ordered(&mut self.feeds, &after.feeds),
            newly_warninglisted: self.caught,
            newly_warninglisted_examples: self.caught_examples,
        }
    }
}

/// The change of the output or feed `name`, made when it has none yet.
fn change_of<'m>(changes: &'m mut BTreeMap<String, Change>, name: &str) -> &'m mut Change {
    if !changes.contains_key(name) {
        changes.insert(name.to_owned(), Change::default());
    }
    changes.get_mut(name).expect("inserted above")
}

/// The distinct outputs that hold a value, over its verdicts.
fn outputs_of<'i>(value: &Stored<'i>) -> Vec<&'i str> {
    let mut outputs: Vec<&str> =
        value.verdicts.iter().flat_map(|v| v.outputs.iter().copied()).collect();
    outputs.sort_unstable();
    outputs.dedup();
    outputs
}

/// Counts `value` as added to the names in `now` and not in `then`, and removed from the
/// names in `then` and not in `now`.
fn count(into: &mut BTreeMap<String, Change>, value: &str, then: &[&str], now: &[&str]) {
    for name in now.iter().filter(|n| !then.contains(n)) {
        change_of(into, name).count(value, true);
    }
    for name in then.iter().filter(|n| !now.contains(n)) {
        change_of(into, name).count(value, false);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_previous_index_is_read_only_from_regular_files_inside_it() {
        let dir = tempfile::tempdir().unwrap();
        let outside = dir.path().join("outside.json");
        std::fs::write(&outside, "{}").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink(&outside, &link).unwrap();
        assert_eq!(read_regular(&outside, 10), Some(b"{}".to_vec()));
        assert_eq!(read_regular(&link, 10), None, "a symbolic link is not followed");
        assert_eq!(read_regular(&outside, 1), None, "a file over the limit is not read");
        let fifo = dir.path().join("fifo.json");
        let made = std::process::Command::new("mkfifo").arg(&fifo).status().unwrap();
        assert!(made.success());
        // Opening a FIFO would block until a writer comes; it is never opened.
        assert_eq!(read_regular(&fifo, 10), None);
        assert_eq!(read_regular(Path::new("/dev/zero"), 10), None);
    }

    #[test]
    fn a_tampered_index_is_refused_or_read_only_as_far_as_it_is_sound() {
        let site = tempfile::tempdir().unwrap();
        let lookup = site.path().join(INDEX_DIR);
        std::fs::create_dir_all(&lookup).unwrap();
        let meta = |digits: u32, values: usize| {
            format!(
                r#"{{"format":1,"digits":{digits},"values":{values},"built":"x","feeds":[{{"id":"f"}}],"tasks":[],"outputs":[],"warninglists":[]}}"#
            )
        };
        std::fs::write(lookup.join("meta.json"), meta(6, 10)).unwrap();
        assert!(StoredIndex::open(site.path()).is_err(), "6 digits for 10 values");
        std::fs::write(lookup.join("meta.json"), meta(1, 2)).unwrap();
        let index = StoredIndex::open(site.path()).unwrap();
        // Two values in one shard file: only the one whose hash names that shard counts.
        let (right, wrong) =
            (0..100).map(|i| format!("v{i}.example")).fold((None, None), |(r, w), v| {
                if shard_of(&v, 1) == 3 { (r.or(Some(v)), w) } else { (r, w.or(Some(v))) }
            });
        let (right, wrong) = (right.unwrap(), wrong.unwrap());
        let row = r#"{"l":[[0,0,0,0]],"t":[]}"#;
        std::fs::write(
            lookup.join(shard_path(3, 1)),
            format!(r#"{{"{right}":{row},"{wrong}":{row}}}"#),
        )
        .unwrap();
        let values: Vec<String> =
            (0..16).flat_map(|g| index.group(g, 1)).map(|s| s.value).collect();
        assert_eq!(values, [right]);
    }

    #[test]
    fn examples_keep_the_first_values_in_byte_order() {
        let mut examples = Vec::new();
        for i in (0..50).rev() {
            keep_first(&mut examples, format!("v{i:02}"));
        }
        assert_eq!(examples.len(), CHANGE_EXAMPLES);
        assert_eq!(examples[0], "v00");
        assert_eq!(examples[CHANGE_EXAMPLES - 1], format!("v{:02}", CHANGE_EXAMPLES - 1));
    }

    fn stored<'i>(
        value: &str,
        feeds: &[&'i str],
        outputs: &[&'i str],
        verdict: &str,
    ) -> Stored<'i> {
        let warninglisted = verdict == "warninglisted";
        Stored {
            value: value.to_owned(),
            feeds: feeds.to_vec(),
            verdicts: vec![StoredVerdict {
                task: "t",
                warninglisted,
                outputs: outputs.to_vec(),
                lists: if warninglisted { vec!["l"] } else { vec![] },
            }],
        }
    }

    #[test]
    fn values_moving_between_outputs_and_lists_are_counted_on_both_sides() {
        let mut diff = Diff::default();
        diff.compare(
            vec![
                stored("kept", &["a"], &["x.txt"], "selected"),
                stored("gone", &["a"], &["x.txt"], "selected"),
                stored("caught", &["b"], &["x.txt"], "selected"),
            ],
            vec![
                stored("kept", &["a", "b"], &["x.txt"], "selected"),
                stored("new", &["a", "b"], &["x.txt", "y.txt"], "selected"),
                stored("caught", &["b"], &[], "warninglisted"),
            ],
        );
        let x = &diff.outputs["x.txt"];
        assert_eq!((x.added, x.removed), (1, 2));
        assert_eq!(x.removed_examples, ["caught", "gone"]);
        assert_eq!(x.added_by_feed, BTreeMap::from([("a".into(), 1), ("b".into(), 1)]));
        assert_eq!(diff.outputs["y.txt"].added, 1);
        let b = &diff.feeds["b"];
        assert_eq!((b.added, b.removed), (2, 0));
        assert_eq!(diff.feeds["a"].removed_examples, ["gone"]);
        assert_eq!(diff.caught, 1);
        assert_eq!(diff.caught_examples[0].value, "caught");
        assert_eq!(diff.caught_examples[0].lists, ["l"]);
    }
}
