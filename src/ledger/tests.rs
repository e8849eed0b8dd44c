use std::fs;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use super::*;
use crate::indicator::AttrType;

fn ip(value: &str) -> Indicator {
    Indicator::new(AttrType::IpDst, value)
}

fn domain(value: &str) -> Indicator {
    Indicator::new(AttrType::Domain, value)
}

fn sample() -> Ledger {
    let mut ledger = Ledger::new();
    ledger.observe("feodo", &ip("192.0.2.1"), 100);
    ledger.observe("feodo", &ip("192.0.2.1"), 250);
    ledger.observe("feodo", &domain("evil.example"), 200);
    ledger.observe("abuse", &ip("198.51.100.7"), 300);
    ledger
}

fn ledger_path(dir: &tempfile::TempDir) -> PathBuf {
    dir.path().join("state").join("ledger.tsv")
}

/// A file in the documented format with a correct checksum, written by hand.
fn with_checksum(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    format!("{body}sha256\t{}\n", hex::encode(digest.as_slice()))
}

fn corrupt_reason(path: &Path) -> String {
    match Ledger::load(path) {
        Err(LedgerError::Corrupt { reason, .. }) => reason,
        other => panic!("expected a corrupt ledger, got {other:?}"),
    }
}

fn sorted(ledger: &Ledger) -> Vec<(String, Indicator, Seen)> {
    let mut entries: Vec<_> = ledger
        .iter()
        .map(|(feed, indicator, seen)| (feed.to_owned(), indicator.clone(), seen))
        .collect();
    entries.sort_by(|a, b| (&a.0, &a.1).cmp(&(&b.0, &b.1)));
    entries
}

#[test]
fn observe_keeps_first_seen_and_moves_last_seen() {
    let mut ledger = Ledger::new();
    let seen = ledger.observe("feodo", &ip("192.0.2.1"), 100);
    assert_eq!(seen, Seen { first_seen: 100, last_seen: 100 });
    let seen = ledger.observe("feodo", &ip("192.0.2.1"), 180);
    assert_eq!(seen, Seen { first_seen: 100, last_seen: 180 });
    assert_eq!(ledger.get("feodo", &ip("192.0.2.1")), Some(seen));
    assert_eq!(ledger.len(), 1);
}

#[test]
fn observe_at_an_earlier_time_widens_instead_of_shrinking() {
    let mut ledger = Ledger::new();
    ledger.observe("feodo", &ip("192.0.2.1"), 100);
    ledger.observe("feodo", &ip("192.0.2.1"), 200);
    let seen = ledger.observe("feodo", &ip("192.0.2.1"), 50);
    assert_eq!(seen, Seen { first_seen: 50, last_seen: 200 });
}

#[test]
fn pairs_are_kept_per_feed_and_per_type() {
    let mut ledger = Ledger::new();
    ledger.observe("a", &ip("192.0.2.1"), 100);
    ledger.observe("b", &ip("192.0.2.1"), 200);
    ledger.observe("a", &Indicator::new(AttrType::IpSrc, "192.0.2.1"), 300);
    assert_eq!(ledger.len(), 3);
    assert_eq!(ledger.get("a", &ip("192.0.2.1")), Some(Seen { first_seen: 100, last_seen: 100 }));
    assert_eq!(ledger.get("b", &ip("192.0.2.1")), Some(Seen { first_seen: 200, last_seen: 200 }));
    assert_eq!(ledger.get("c", &ip("192.0.2.1")), None);
    assert_eq!(ledger.get("a", &ip("192.0.2.2")), None);
}

#[test]
fn merge_grows_the_interval_and_orders_its_input() {
    let mut ledger = Ledger::new();
    ledger.merge("a", &ip("192.0.2.1"), Seen { first_seen: 500, last_seen: 100 });
    assert_eq!(ledger.get("a", &ip("192.0.2.1")), Some(Seen { first_seen: 100, last_seen: 500 }));
    ledger.merge("a", &ip("192.0.2.1"), Seen { first_seen: 50, last_seen: 60 });
    assert_eq!(ledger.get("a", &ip("192.0.2.1")), Some(Seen { first_seen: 50, last_seen: 500 }));
}

#[test]
fn retain_prunes_entries() {
    let mut ledger = sample();
    ledger.retain(|feed, _, seen| feed == "feodo" && seen.last_seen >= 210);
    assert_eq!(ledger.len(), 1);
    assert!(ledger.get("feodo", &ip("192.0.2.1")).is_some());
    assert_eq!(ledger.feeds().collect::<Vec<_>>(), ["feodo"]);
}

#[test]
fn empty_ledger_is_empty() {
    let ledger = Ledger::new();
    assert!(ledger.is_empty());
    assert_eq!(ledger.len(), 0);
    assert!(!sample().is_empty());
}

#[test]
fn round_trip_keeps_every_entry() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_path(&dir);
    let ledger = sample();
    ledger.save(&path).unwrap();
    let loaded = Ledger::load(&path).unwrap();
    assert_eq!(sorted(&loaded), sorted(&ledger));
    assert!(!path.with_file_name("ledger.tsv.tmp").exists());
}

#[test]
fn extreme_times_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_path(&dir);
    let mut ledger = Ledger::new();
    ledger.merge("a", &ip("192.0.2.1"), Seen { first_seen: -5, last_seen: i64::MAX - 10 });
    ledger.merge("a", &ip("192.0.2.2"), Seen { first_seen: i64::MIN, last_seen: -1 });
    ledger.save(&path).unwrap();
    assert_eq!(sorted(&Ledger::load(&path).unwrap()), sorted(&ledger));
}

#[test]
fn small_ledger_is_written_in_the_documented_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_path(&dir);
    sample().save(&path).unwrap();
    // Feeds by id; within a feed, types in table order (`ip-dst` before `domain`), then values.
    let expected = with_checksum(
        "feedsmith-ledger 1\n\
         =\tabuse\tip-dst\t1\n\
         300\t0\t198.51.100.7\n\
         =\tfeodo\tip-dst\t1\n\
         100\t150\t192.0.2.1\n\
         =\tfeodo\tdomain\t1\n\
         200\t0\tevil.example\n\
         end\t3\n",
    );
    assert_eq!(fs::read_to_string(&path).unwrap(), expected);
}

#[test]
fn bytes_do_not_depend_on_insertion_order() {
    let dir = tempfile::tempdir().unwrap();
    let values: Vec<String> = (0..2000).map(|i| format!("10.{}.{}.1", i / 256, i % 256)).collect();
    let mut forward = Ledger::new();
    let mut backward = Ledger::new();
    for (i, value) in values.iter().enumerate() {
        forward.observe(if i % 3 == 0 { "x" } else { "y" }, &ip(value), i as i64);
    }
    for (i, value) in values.iter().enumerate().rev() {
        backward.observe(if i % 3 == 0 { "x" } else { "y" }, &ip(value), i as i64);
    }
    let first = dir.path().join("a");
    let second = dir.path().join("b");
    forward.save(&first).unwrap();
    backward.save(&second).unwrap();
    assert_eq!(fs::read(first).unwrap(), fs::read(second).unwrap());
}

#[test]
fn save_keeps_the_replaced_file_as_prev() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_path(&dir);
    let old = sample();
    old.save(&path).unwrap();
    let mut new = sample();
    new.observe("new-feed", &domain("new.example"), 999);
    new.save(&path).unwrap();
    assert_eq!(sorted(&Ledger::load(&path).unwrap()), sorted(&new));
    assert_eq!(sorted(&Ledger::load(&prev_path_of(&path)).unwrap()), sorted(&old));
}

fn prev_path_of(path: &Path) -> PathBuf {
    path.with_file_name("ledger.tsv.prev")
}

#[test]
fn missing_file_is_reported_as_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_path(&dir);
    assert!(matches!(Ledger::load(&path), Err(LedgerError::NotFound { .. })));
    let (ledger, note) = Ledger::load_or_recover(&path);
    assert!(ledger.is_empty());
    let note = note.expect("a note");
    assert!(note.contains("no ledger"), "{note}");
    assert!(note.contains("empty"), "{note}");
}

#[test]
fn missing_file_with_a_prev_is_recovered() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_path(&dir);
    sample().save(&path).unwrap();
    fs::rename(&path, prev_path_of(&path)).unwrap();
    let (ledger, note) = Ledger::load_or_recover(&path);
    assert_eq!(sorted(&ledger), sorted(&sample()));
    assert!(note.expect("a note").contains("recovered"));
}

#[test]
fn bad_checksum_is_corrupt_and_recovered_from_prev() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_path(&dir);
    let old = sample();
    old.save(&path).unwrap();
    let mut new = sample();
    new.observe("feodo", &ip("192.0.2.99"), 400);
    new.save(&path).unwrap();

    // Change one digit of a time: still well-formed, but the checksum no longer matches.
    let text =
        fs::read_to_string(&path).unwrap().replace("300\t0\t198.51.100.7", "301\t0\t198.51.100.7");
    fs::write(&path, text).unwrap();
    assert!(corrupt_reason(&path).contains("checksum mismatch"));

    let (ledger, note) = Ledger::load_or_recover(&path);
    assert_eq!(sorted(&ledger), sorted(&old));
    let note = note.expect("a note");
    assert!(note.contains("corrupt") && note.contains("recovered"), "{note}");
}

#[test]
fn corrupt_file_without_prev_gives_an_empty_ledger() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_path(&dir);
    sample().save(&path).unwrap();
    fs::write(&path, "garbage\n").unwrap();
    assert_eq!(corrupt_reason(&path), "not a feedsmith ledger file");
    let (ledger, note) = Ledger::load_or_recover(&path);
    assert!(ledger.is_empty());
    let note = note.expect("a note");
    assert!(note.contains("not a feedsmith ledger file") && note.contains("empty"), "{note}");
}

#[test]
fn every_truncation_is_detected() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_path(&dir);
    sample().save(&path).unwrap();
    let bytes = fs::read(&path).unwrap();
    for length in 0..bytes.len() {
        fs::write(&path, &bytes[..length]).unwrap();
        assert!(
            matches!(Ledger::load(&path), Err(LedgerError::Corrupt { .. })),
            "a file cut to {length} bytes loaded"
        );
    }
}

#[test]
fn unknown_version_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    fs::write(&path, with_checksum("feedsmith-ledger 2\nend\t0\n")).unwrap();
    let reason = corrupt_reason(&path);
    assert!(reason.contains("unknown format version `2`"), "{reason}");
}

#[test]
fn empty_file_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    fs::write(&path, "").unwrap();
    assert_eq!(corrupt_reason(&path), "the file is empty");
}

#[test]
fn empty_ledger_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_path(&dir);
    Ledger::new().save(&path).unwrap();
    assert_eq!(fs::read_to_string(&path).unwrap(), with_checksum("feedsmith-ledger 1\nend\t0\n"));
    assert!(Ledger::load(&path).unwrap().is_empty());
}

#[test]
fn counts_that_do_not_add_up_are_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    fs::write(
        &path,
        with_checksum("feedsmith-ledger 1\n=\ta\tip-dst\t1\n1\t0\t192.0.2.1\nend\t2\n"),
    )
    .unwrap();
    assert!(corrupt_reason(&path).contains("the `end` line counts `2`"));
    fs::write(
        &path,
        with_checksum("feedsmith-ledger 1\n=\ta\tip-dst\t2\n1\t0\t192.0.2.1\nend\t2\n"),
    )
    .unwrap();
    assert!(corrupt_reason(&path).contains("not an entry line"));
}

#[test]
fn hand_edited_bad_lines_are_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    // (body, entries it announces, expected reason)
    let cases = [
        ("=\ta\tmeow\t0\n", 0, "unknown attribute type `meow`"),
        ("=\ta\tip-dst\t1\n1\t0\t192.0.2.1\r\n", 1, "not an entry line"),
        ("=\ta\tip-dst\t1\n1\t-1\t192.0.2.1\n", 1, "not an entry line"),
        ("=\ta\tip-dst\t1\nx\t0\t192.0.2.1\n", 1, "not an entry line"),
        ("=\ta\tip-dst\t2\n1\t0\t192.0.2.1\n1\t0\t192.0.2.1\n", 2, "duplicate entry"),
        ("=\ta\tip-dst\n", 0, "needs 3 fields"),
        ("hello\n", 0, "expected a section header"),
    ];
    for (body, total, reason) in cases {
        fs::write(&path, with_checksum(&format!("feedsmith-ledger 1\n{body}end\t{total}\n")))
            .unwrap();
        let actual = corrupt_reason(&path);
        assert!(actual.contains(reason), "{body:?}: {actual}");
    }
}

#[test]
fn data_after_end_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("ledger");
    fs::write(&path, with_checksum("feedsmith-ledger 1\nend\t0\nmore\n")).unwrap();
    assert!(corrupt_reason(&path).contains("data after the `end` line"));
}

#[test]
fn values_with_line_breaks_or_tabs_are_never_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_path(&dir);
    let mut ledger = sample();
    ledger.observe("feodo", &Indicator::new(AttrType::Url, "http://a.example/\nx"), 1);
    ledger.observe("feodo", &Indicator::new(AttrType::Url, "http://a.example/\tx"), 1);
    ledger.observe("feodo", &Indicator::new(AttrType::Url, "http://a.example/\rx"), 1);
    ledger.observe("bad\tfeed", &ip("192.0.2.1"), 1);
    assert_eq!(ledger.unwritable(), 4);
    ledger.save(&path).unwrap();
    let loaded = Ledger::load(&path).unwrap();
    assert_eq!(sorted(&loaded), sorted(&sample()));
}

#[test]
fn one_million_entries_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_path(&dir);
    let mut ledger = Ledger::new();
    for i in 0..1_000_000_u32 {
        let [a, b, c, d] = i.to_be_bytes();
        let feed = ["alpha", "beta", "gamma"][(i % 3) as usize];
        let value = format!("{}.{b}.{c}.{d}", a + 10);
        ledger.observe(feed, &ip(&value), 1_700_000_000 + i64::from(i % 1000));
    }
    assert_eq!(ledger.len(), 1_000_000);
    ledger.save(&path).unwrap();
    let loaded = Ledger::load(&path).unwrap();
    assert_eq!(loaded.len(), 1_000_000);
    assert_eq!(
        loaded.get("beta", &ip("10.0.0.1")),
        Some(Seen { first_seen: 1_700_000_001, last_seen: 1_700_000_001 })
    );
    assert_eq!(loaded.get("alpha", &ip("25.66.63.192")), ledger.get("alpha", &ip("25.66.63.192")));
}
