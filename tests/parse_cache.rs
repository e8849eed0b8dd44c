//! The parsed-feed cache through whole builds: a rebuild of unchanged feeds parses nothing
//! and writes the same outputs; a changed body or definition is parsed again; a damaged
//! cache file is refused and the feed parsed.

use std::collections::BTreeMap;
use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::process::Output;

use crate::util::{copy_root_definitions, feedsmith, plain_values, recorded, tree};

const NOW: &str = "2026-08-23T00:00:00Z";

/// Per feed of a build's log, what its "Feed read" line says of the parse: `cached` or
/// `parsed`.
fn parses(stderr: &[u8]) -> BTreeMap<String, String> {
    let log = String::from_utf8_lossy(stderr);
    let mut parses = BTreeMap::new();
    for line in log.lines().filter(|line| line.contains("Feed read")) {
        let field = |name: &str| {
            line.split_whitespace()
                .find_map(|word| word.strip_prefix(&format!("{name}=")))
                .map(|value| value.trim_matches('"').to_owned())
        };
        let (Some(feed), Some(parse)) = (field("feed"), field("parse")) else {
            panic!("a `Feed read` line without its feed or parse: {line}");
        };
        parses.insert(feed, parse);
    }
    parses
}

/// The outputs a build lists in `SHA256SUMS`, and that list, with their bytes.
fn outputs(site: &Path) -> BTreeMap<String, Vec<u8>> {
    let sums = std::fs::read_to_string(site.join("SHA256SUMS")).expect("SHA256SUMS");
    let all = tree(site);
    let mut outputs: BTreeMap<String, Vec<u8>> = sums
        .lines()
        .filter_map(|line| line.split_once("  "))
        .map(|(_, path)| (path.to_owned(), all.get(path).cloned().unwrap_or_default()))
        .collect();
    outputs.insert("SHA256SUMS".to_owned(), sums.into_bytes());
    outputs
}

/// The inode of every last good file, which a rewrite replaces.
fn good_files(root: &Path) -> BTreeMap<String, u64> {
    let good = root.join(".feedsmith/state/good");
    tree(&good)
        .into_keys()
        .map(|name| {
            let inode = std::fs::metadata(good.join(&name)).unwrap().ino();
            (name, inode)
        })
        .collect()
}

fn replay_build(root: &Path) -> Output {
    let recorded = recorded();
    // `--force`: a build on the same inputs would keep the last one's outputs, parsing nothing.
    let replay = recorded.to_str().unwrap();
    let output = feedsmith(root, &["build", "--replay", replay, "--now", NOW, "--force"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    output
}

// (b) The repository's own feeds, built twice from the recorded responses.
#[test]
fn a_rebuild_of_unchanged_feeds_reuses_every_parse_and_writes_the_same_outputs() {
    let root = copy_root_definitions();
    let first = replay_build(root.path());
    let first_report = std::fs::read(root.path().join("site/report.json")).unwrap();
    let first_outputs = outputs(&root.path().join("site"));
    let first_good = good_files(root.path());
    let second = replay_build(root.path());
    let second_report = build_replay_report(root.path());

    let first_parses = parses(&first.stderr);
    let second_parses = parses(&second.stderr);
    // A `Feed read` line per feed read with indicators (the others are empty upstream).
    let report: serde_json::Value = serde_json::from_slice(&first_report).unwrap();
    let feeds = report["feeds"].as_array().unwrap();
    let ok = feeds.iter().filter(|f| f["status"] == "ok").count();
    assert!(ok > 10);
    assert_eq!(first_parses.len(), ok, "a `Feed read` line per feed");
    assert!(first_parses.values().all(|p| p == "parsed"), "{first_parses:?}");
    assert_eq!(second_parses.keys().collect::<Vec<_>>(), first_parses.keys().collect::<Vec<_>>());
    assert!(second_parses.values().all(|p| p == "cached"), "{second_parses:?}");
    // Every feed fetched is counted as reused, the empty ones too.
    let fetched = feeds.iter().filter(|f| !f["origin"].is_null()).count();
    assert_eq!(fetched, feeds.len(), "every feed has a recorded response");
    let logs = [&first.stderr, &second.stderr].map(|log| String::from_utf8_lossy(log).into_owned());
    assert!(logs[0].contains("Parsed feeds elapsed_ms="), "{}", logs[0]);
    assert!(logs[0].contains(" reused=0"), "{}", logs[0]);
    assert!(logs[1].contains(&format!(" reused={fetched}")), "{}", logs[1]);

    assert_eq!(outputs(&root.path().join("site")), first_outputs);
    // What the report says of each feed (counts, rejections and their examples) is the same.
    assert_eq!(second_report["feeds"], report["feeds"]);
    // The last good files were the same bytes: they were not written again.
    assert!(!first_good.is_empty());
    assert_eq!(good_files(root.path()), first_good);
}

fn build_replay_report(root: &Path) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(root.join("site/report.json")).unwrap()).unwrap()
}

/// A project with two local free-text feeds, `a` (reading `a.txt`) and `b` (`b.txt`), and
/// one task writing every indicator of both to `all.txt`.
fn two_feeds(a: &str, b: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for folder in ["feeds.d", "tasks.d"] {
        std::fs::create_dir_all(root.path().join(folder)).unwrap();
    }
    for (id, list) in [("a", a), ("b", b)] {
        std::fs::write(root.path().join(format!("{id}.txt")), list).unwrap();
        define(root.path(), id, "");
    }
    std::fs::write(
        root.path().join("tasks.d/all.toml"),
        // The lists use the documentation ranges (RFC 5737), which tasks leave out by default.
        "name = \"all\"\n[select]\nexclude_reserved = false\n[[outputs]]\nformat = \"plain\"\n\
         path = \"all.txt\"\n",
    )
    .unwrap();
    root
}

/// Writes feed `id`'s definition, with `extra` lines.
fn define(root: &Path, id: &str, extra: &str) {
    std::fs::write(
        root.join(format!("feeds.d/{id}.toml")),
        format!(
            "name = \"{id}\"\nprovider = \"test\"\npath = \"{id}.txt\"\nformat = \"freetext\"\n{extra}\n"
        ),
    )
    .unwrap();
}

fn local_build(root: &Path) -> Output {
    let output = feedsmith(root, &["build", "--now", NOW, "--force"]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    output
}

fn all_values(root: &Path) -> Vec<String> {
    let mut values = plain_values(&root.join("site/all.txt"));
    values.sort();
    values
}

fn marks(a: &str, b: &str) -> BTreeMap<String, String> {
    [("a".to_owned(), a.to_owned()), ("b".to_owned(), b.to_owned())].into()
}

// (c) A changed body, then a changed parse setting, are parsed again; the other feed's parse
// is reused each time.
#[test]
fn a_changed_body_or_definition_is_parsed_again() {
    let root = two_feeds("192.0.2.1\n192.0.2.2\n", "198.51.100.1\n198.51.100.2\n");
    assert_eq!(parses(&local_build(root.path()).stderr), marks("parsed", "parsed"));
    assert_eq!(parses(&local_build(root.path()).stderr), marks("cached", "cached"));

    std::fs::write(root.path().join("a.txt"), "192.0.2.1\n192.0.2.3\n").unwrap();
    assert_eq!(parses(&local_build(root.path()).stderr), marks("parsed", "cached"));
    assert_eq!(all_values(root.path()), ["192.0.2.1", "192.0.2.3", "198.51.100.1", "198.51.100.2"]);

    // `exclude_regex` changes what the parse takes from the same bytes.
    define(root.path(), "b", "exclude_regex = '\\.2$'");
    assert_eq!(parses(&local_build(root.path()).stderr), marks("cached", "parsed"));
    assert_eq!(all_values(root.path()), ["192.0.2.1", "192.0.2.3", "198.51.100.1"]);
    assert_eq!(parses(&local_build(root.path()).stderr), marks("cached", "cached"));
    assert_eq!(all_values(root.path()), ["192.0.2.1", "192.0.2.3", "198.51.100.1"]);
}

// (d) A cached parse that is truncated, has a flipped bit, or is larger than the feed's files
// can explain, is refused with a warning; the feed is parsed and the outputs are right.
#[test]
fn a_damaged_cached_parse_is_refused_and_the_feed_parsed() {
    let root = two_feeds("192.0.2.1\n192.0.2.2\n", "198.51.100.1\n");
    local_build(root.path());
    let expected = ["192.0.2.1", "192.0.2.2", "198.51.100.1"];
    assert_eq!(all_values(root.path()), expected);
    let first = std::fs::read(root.path().join("site/all.txt")).unwrap();
    let cached = root.path().join(".feedsmith/state/parsed/a.bin");
    let good = std::fs::read(&cached).unwrap();

    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x04;
    let mut oversized = good.clone();
    oversized.resize(good.len() + (2 << 20), b'x');
    for (damage, bytes, why) in [
        ("truncated", good[..good.len() - 10].to_vec(), "truncated"),
        ("bit-flipped", flipped, "its SHA-256 does not match its content"),
        ("oversized", oversized, "more than a cached parse of the feed's files may be"),
    ] {
        std::fs::write(&cached, &bytes).unwrap();
        let output = local_build(root.path());
        let log = String::from_utf8_lossy(&output.stderr);
        let warning = log
            .lines()
            .find(|line| line.contains("cached parse cannot be used"))
            .unwrap_or_else(|| panic!("{damage}: no warning in\n{log}"));
        assert!(warning.contains("WARN") && warning.contains("feed=a"), "{damage}: {warning}");
        assert!(warning.contains(why), "{damage}: {warning}");
        assert_eq!(parses(&output.stderr), marks("parsed", "cached"), "{damage}");
        assert_eq!(all_values(root.path()), expected, "{damage}");
        assert_eq!(std::fs::read(root.path().join("site/all.txt")).unwrap(), first, "{damage}");
        // The build wrote a good file again.
        assert_eq!(std::fs::read(&cached).unwrap(), good, "{damage}");
    }
}

// A look-up reads the cached parses of the last build and writes none.
#[test]
fn a_look_up_reads_the_cache_and_writes_nothing() {
    let root = two_feeds("192.0.2.1\n", "198.51.100.1\n");
    local_build(root.path());
    let parsed = root.path().join(".feedsmith/state/parsed");
    std::fs::remove_file(parsed.join("b.bin")).unwrap();
    let before = tree(&parsed);
    let output = feedsmith(root.path(), &["lookup", "192.0.2.1", "--now", NOW]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    assert_eq!(tree(&parsed), before, "a look-up wrote a cached parse");
}
