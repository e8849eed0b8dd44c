use std::fs;
use std::path::{Path, PathBuf};

use proptest::prelude::*;
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
    dir.path().join("state").join("ledger")
}

fn prev_path_of(path: &Path) -> PathBuf {
    path.with_file_name("ledger.prev")
}

/// A version-1 (text) file with a correct checksum, written by hand.
fn v1_with_checksum(body: &str) -> String {
    let digest = Sha256::digest(body.as_bytes());
    format!("{body}sha256\t{}\n", hex::encode(digest.as_slice()))
}

/// A version-2 file of `table` (feeds, types, entry count, section table) and `body` (the
/// sections), with the right lengths and final checksum, built by hand from the documented
/// layout.
fn sealed(version: u32, table: &[u8], body: &[u8]) -> Vec<u8> {
    let mut bytes = b"\x89FSL\r\n\x1a\n".to_vec();
    bytes.extend_from_slice(&version.to_le_bytes());
    bytes.extend_from_slice(&((28 + table.len() + body.len() + 32) as u64).to_le_bytes());
    bytes.extend_from_slice(&(table.len() as u64).to_le_bytes());
    bytes.extend_from_slice(table);
    let digest = Sha256::digest(&bytes);
    bytes.extend_from_slice(body);
    bytes.extend_from_slice(digest.as_slice());
    bytes
}

/// A version-2 file: `lists` (feeds, types and entry count) and one section per row,
/// `(feed, type, encoding, entries, bytes)`, each row given its length and digest.
fn file_of(lists: &[u8], rows: &[(u8, u8, u8, u8, &[u8])]) -> Vec<u8> {
    let mut table = lists.to_vec();
    table.push(rows.len() as u8);
    let mut body = Vec::new();
    for &(feed, kind, encoding, entries, bytes) in rows {
        table.extend_from_slice(&[feed, kind, encoding, entries, bytes.len() as u8]);
        table.extend_from_slice(Sha256::digest(bytes).as_slice());
        body.extend_from_slice(bytes);
    }
    sealed(2, &table, &body)
}

fn corrupt_reason(bytes: &[u8]) -> String {
    match Ledger::from_bytes(bytes, "test") {
        Err(LedgerError::Corrupt { reason, .. }) => reason,
        Err(other) => panic!("expected a corrupt ledger, got {other:?}"),
        Ok(ledger) => panic!("expected a corrupt ledger, got {} entries", ledger.len()),
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
fn observing_many_feeds_at_once_records_each_pair_at_its_batch_time() {
    let mut ledger = sample();
    let (known, new, other) = (ip("192.0.2.1"), domain("new.example"), ip("203.0.113.9"));
    ledger.observe_all(vec![
        ("feodo", 400, vec![&known, &new]),
        ("fresh", 500, vec![&other]),
        // A second batch of the same feed, at another time.
        ("feodo", 90, vec![&known]),
    ]);
    assert_eq!(ledger.get("feodo", &known), Some(Seen { first_seen: 90, last_seen: 400 }));
    assert_eq!(ledger.get("feodo", &new), Some(Seen { first_seen: 400, last_seen: 400 }));
    assert_eq!(ledger.get("fresh", &other), Some(Seen { first_seen: 500, last_seen: 500 }));
    assert_eq!(ledger.get("abuse", &ip("198.51.100.7")).map(|s| s.last_seen), Some(300));
    assert_eq!(ledger.len(), 5);
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
    assert!(!path.with_file_name("ledger.tmp").exists());
    assert_eq!(fs::read(&path).unwrap(), ledger.to_bytes());
}

#[test]
fn extreme_times_round_trip() {
    let mut ledger = Ledger::new();
    ledger.merge("a", &ip("192.0.2.1"), Seen { first_seen: -5, last_seen: i64::MAX - 10 });
    ledger.merge("a", &ip("192.0.2.2"), Seen { first_seen: i64::MIN, last_seen: -1 });
    ledger.merge("a", &ip("192.0.2.3"), Seen { first_seen: i64::MIN, last_seen: i64::MAX });
    ledger.merge("a", &ip("192.0.2.4"), Seen { first_seen: i64::MAX, last_seen: i64::MAX });
    let loaded = Ledger::from_bytes(&ledger.to_bytes(), "test").unwrap();
    assert_eq!(sorted(&loaded), sorted(&ledger));
}

#[test]
fn any_feed_id_and_value_round_trips() {
    // Length-prefixed strings need no escaping: tabs, line breaks and NUL are kept.
    let mut ledger = Ledger::new();
    ledger.observe("bad\tfeed\n", &Indicator::new(AttrType::Url, "http://a.example/\nx\0"), 1);
    ledger.observe("", &Indicator::new(AttrType::Url, ""), 2);
    ledger.observe("ü", &Indicator::new(AttrType::Domain, "xn--tda.example"), 3);
    let loaded = Ledger::from_bytes(&ledger.to_bytes(), "test").unwrap();
    assert_eq!(sorted(&loaded), sorted(&ledger));
}

#[test]
fn small_ledger_is_written_in_the_documented_format() {
    // Feeds in byte order, then types in name order (`domain` before `ip-dst`), 3 entries.
    let lists = b"\x02\x05abuse\x05feodo\x02\x06domain\x06ip-dst\x03";
    let expected = file_of(
        lists,
        &[
            // abuse / ip-dst: shared 0, 12 bytes, first seen 300 (zigzag 600 = D8 04), span 0.
            (0, 1, 0, 1, b"\x00\x0c198.51.100.7\xd8\x04\x00"),
            // feodo / domain: first seen 200 (zigzag 400 = 90 03), span 0.
            (1, 0, 0, 1, b"\x00\x0cevil.example\x90\x03\x00"),
            // feodo / ip-dst: first seen 100 (zigzag 200 = C8 01), span 150 (96 01).
            (1, 1, 0, 1, b"\x00\x09192.0.2.1\xc8\x01\x96\x01"),
        ],
    );
    assert_eq!(sample().to_bytes(), expected);
}

#[test]
fn prefixes_are_shared_times_are_deltas_and_hashes_are_packed() {
    let mut ledger = Ledger::new();
    let md5 = |v: &str| Indicator::new(AttrType::Md5, v);
    ledger.merge("h", &md5("00ff"), Seen { first_seen: 10, last_seen: 10 });
    ledger.merge("h", &md5("01"), Seen { first_seen: 5, last_seen: 7 });
    ledger.merge("h", &ip("10.0.0.1"), Seen { first_seen: 10, last_seen: 10 });
    ledger.merge("h", &ip("10.0.0.12"), Seen { first_seen: 10, last_seen: 10 });
    ledger.merge("h", &ip("10.0.0.2"), Seen { first_seen: 12, last_seen: 20 });
    let expected = file_of(
        b"\x01\x01h\x02\x06ip-dst\x03md5\x05",
        &[
            // 10.0.0.1, 10.0.0.12 (shares 8 bytes), 10.0.0.2 (shares 7): byte order, not
            // numeric. The third is first seen at 12, +2 from 10 (zigzag 4), span 8.
            (0, 0, 0, 3, b"\x00\x0810.0.0.1\x14\x00\x08\x012\x00\x00\x07\x012\x04\x08"),
            // md5 is hex: 00ff as the bytes 00 FF; 01 as 01 (shares nothing), first seen 5,
            // −5 from 10 (zigzag 9), span 2.
            (0, 1, 1, 2, b"\x00\x02\x00\xff\x14\x00\x00\x01\x01\x09\x02"),
        ],
    );
    let bytes = ledger.to_bytes();
    assert_eq!(bytes, expected);
    assert_eq!(sorted(&Ledger::from_bytes(&bytes, "test").unwrap()), sorted(&ledger));
}

#[test]
fn a_section_with_one_value_that_is_not_hex_stays_text() {
    let mut ledger = Ledger::new();
    ledger.observe("h", &Indicator::new(AttrType::Md5, "00"), 0);
    ledger.observe("h", &Indicator::new(AttrType::Md5, "0A"), 0);
    let expected = file_of(
        b"\x01\x01h\x01\x03md5\x02",
        &[(0, 0, 0, 2, b"\x00\x0200\x00\x00\x01\x01A\x00\x00")],
    );
    assert_eq!(ledger.to_bytes(), expected);
}

#[test]
fn bytes_do_not_depend_on_insertion_order() {
    let values: Vec<String> = (0..2000).map(|i| format!("10.{}.{}.1", i / 256, i % 256)).collect();
    let mut forward = Ledger::new();
    let mut backward = Ledger::new();
    for (i, value) in values.iter().enumerate() {
        forward.observe(if i % 3 == 0 { "x" } else { "y" }, &ip(value), i as i64);
    }
    for (i, value) in values.iter().enumerate().rev() {
        backward.observe(if i % 3 == 0 { "x" } else { "y" }, &ip(value), i as i64);
    }
    assert_eq!(forward.to_bytes(), backward.to_bytes());
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
    assert_eq!(Ledger::prev_path(&path), prev_path_of(&path));
}

#[test]
fn missing_file_is_reported_as_not_found() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_path(&dir);
    assert!(matches!(Ledger::load(&path), Err(LedgerError::NotFound { .. })));
}

#[test]
fn a_changed_value_fails_the_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_path(&dir);
    sample().save(&path).unwrap();
    // Change one digit of a value: still well-formed, but the checksum no longer matches.
    let mut bytes = fs::read(&path).unwrap();
    let at = bytes.windows(12).position(|w| w == b"198.51.100.7").unwrap();
    bytes[at] = b'2';
    fs::write(&path, &bytes).unwrap();
    assert!(corrupt_reason(&bytes).contains("checksum mismatch"));
    assert!(matches!(Ledger::load(&path), Err(LedgerError::Corrupt { .. })));
}

#[test]
fn garbage_is_not_a_ledger() {
    assert_eq!(corrupt_reason(b"garbage\n"), "not a feedsmith ledger file");
}

#[test]
fn every_truncation_and_every_byte_change_is_detected() {
    let bytes = sample().to_bytes();
    for length in 0..bytes.len() {
        corrupt_reason(&bytes[..length]);
    }
    for position in 0..bytes.len() {
        for change in 1..=255_u8 {
            let mut damaged = bytes.clone();
            damaged[position] ^= change;
            corrupt_reason(&damaged);
        }
    }
    let mut longer = bytes.clone();
    longer.push(0);
    assert_eq!(corrupt_reason(&longer), "1 bytes after the end of the ledger");
    assert_eq!(
        corrupt_reason(&bytes[..bytes.len() - 1]),
        format!("truncated: the file has {} of its {} bytes", bytes.len() - 1, bytes.len())
    );
}

#[test]
fn unknown_versions_are_corrupt() {
    let reason = corrupt_reason(&sealed(3, b"\x00\x00\x00\x00", b""));
    assert!(reason.contains("unknown format version `3`"), "{reason}");
    let reason = corrupt_reason(v1_with_checksum("feedsmith-ledger 9\nend\t0\n").as_bytes());
    assert!(reason.contains("unknown format version `9`"), "{reason}");
}

#[test]
fn empty_file_is_corrupt() {
    assert_eq!(corrupt_reason(b""), "the file is empty");
}

#[test]
fn empty_ledger_round_trips() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_path(&dir);
    Ledger::new().save(&path).unwrap();
    // No feed, no type, no entry, no section.
    assert_eq!(fs::read(&path).unwrap(), sealed(2, &[0, 0, 0, 0], b""));
    assert!(Ledger::load(&path).unwrap().is_empty());
}

/// Lists, rows and the reason expected.
type Case<'a> = (&'a [u8], Vec<(u8, u8, u8, u8, &'a [u8])>, &'a str);

#[test]
fn sealed_but_inconsistent_files_are_corrupt() {
    // Each table has a right length and checksum; what it says does not add up.
    let ip_dst = b"\x01\x01a\x01\x06ip-dst";
    let tables: &[(Vec<u8>, &str)] = &[
        // 2^60 feeds in a file of a few bytes: refused before anything is reserved.
        (b"\x80\x80\x80\x80\x80\x80\x80\x80\x10".to_vec(), "larger than the file can hold"),
        (b"\x02\x01b\x01a\x00\x00\x00".to_vec(), "feed id `a` is out of order"),
        (b"\x01\x01a\x01\x04meow\x00\x00".to_vec(), "unknown attribute type `meow`"),
        (b"\x01\x02\xff\xfe\x00\x00\x00".to_vec(), "feed id 0 is not UTF-8"),
        ([&ip_dst[..], b"\x02\x00"].concat(), "the sections hold 0 entries"),
        ([&ip_dst[..], b"\x00\x00\x00"].concat(), "1 bytes after the section table"),
        // A row of long varints whose digest has 30 of its 32 bytes.
        (
            [&ip_dst[..], b"\x01\x01\x80\x80\x00\x00\x00\x01\x00", &[0; 30]].concat(),
            "digest is cut off",
        ),
    ];
    for (table, reason) in tables {
        let actual = corrupt_reason(&sealed(2, table, b""));
        assert!(actual.contains(reason), "{table:?}: {actual}");
    }

    // Sections with right digests whose rows or entries do not add up: (lists, rows, reason).
    let total = |n: u8| [&ip_dst[..], &[n]].concat();
    let (one, nine, two) = (total(1), total(9), total(2));
    let cases: Vec<Case<'_>> = vec![
        (&one, vec![(0, 5, 0, 1, b"\x00\x00\x00\x00")], "not listed"),
        (&one, vec![(0, 0, 7, 1, b"\x00\x00\x00\x00")], "unknown encoding 7"),
        (&nine, vec![(0, 0, 0, 9, b"\x00\x00\x00\x00")], "cannot fit"),
        (&two, vec![(0, 0, 0, 1, b"\x00\x00\x00\x00"); 2], "out of order or repeated"),
        // Two entries with the same value.
        (&two, vec![(0, 0, 0, 2, b"\x00\x01x\x00\x00\x01\x00\x00\x00")], "strictly increasing"),
        (&one, vec![(0, 0, 0, 1, b"\x00\x01\xff\x00\x00")], "not UTF-8"),
        (&one, vec![(0, 0, 0, 1, b"\x00\x05x\x00\x00")], "runs past"),
        (&one, vec![(0, 0, 0, 1, b"\x00\x00\x00\x00\x00")], "1 bytes after the last entry"),
        (&one, vec![(0, 0, 0, 1, b"\x01\x01x\x00\x00")], "shares more bytes"),
        (
            &one,
            vec![(0, 0, 0, 1, b"\x00\x01x\xfe\xff\xff\xff\xff\xff\xff\xff\xff\x01\x02")],
            "last-seen time is out of range",
        ),
        (
            &one,
            vec![(0, 0, 0, 1, b"\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff\xff\xff\x7f")],
            "too long",
        ),
    ];
    for (lists, rows, reason) in cases {
        let actual = corrupt_reason(&file_of(lists, &rows));
        assert!(actual.contains(reason), "{rows:?}: {actual}");
    }

    // A section whose bytes no longer match its digest, the table being intact.
    let mut bytes = sample().to_bytes();
    let at = bytes.windows(12).position(|w| w == b"198.51.100.7").unwrap();
    bytes[at] = b'2';
    assert!(corrupt_reason(&bytes).contains("section `abuse` `ip-dst`: checksum mismatch"));
}

#[test]
fn a_version_1_text_ledger_is_read_and_saved_in_the_current_format() {
    let dir = tempfile::tempdir().unwrap();
    let path = ledger_path(&dir);
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    let text = v1_with_checksum(
        "feedsmith-ledger 1\n\
         =\tabuse\tip-dst\t1\n\
         300\t0\t198.51.100.7\n\
         =\tfeodo\tip-dst\t1\n\
         100\t150\t192.0.2.1\n\
         =\tfeodo\tdomain\t1\n\
         200\t0\tevil.example\n\
         end\t3\n",
    );
    fs::write(&path, &text).unwrap();
    let loaded = Ledger::load(&path).unwrap();
    assert_eq!(sorted(&loaded), sorted(&sample()));
    loaded.save(&path).unwrap();
    assert!(fs::read(&path).unwrap().starts_with(b"\x89FSL\r\n\x1a\n"));
    assert_eq!(fs::read(prev_path_of(&path)).unwrap(), text.as_bytes());
    assert_eq!(sorted(&Ledger::load(&path).unwrap()), sorted(&sample()));
}

#[test]
fn damaged_version_1_files_are_corrupt() {
    // (body, entries it announces, expected reason)
    let cases = [
        ("=\ta\tmeow\t0\n", 0, "unknown attribute type `meow`"),
        ("=\ta\tip-dst\t1\n1\t0\t192.0.2.1\r\n", 1, "not an entry line"),
        ("=\ta\tip-dst\t1\n1\t-1\t192.0.2.1\n", 1, "not an entry line"),
        ("=\ta\tip-dst\t1\nx\t0\t192.0.2.1\n", 1, "not an entry line"),
        ("=\ta\tip-dst\t2\n1\t0\t192.0.2.1\n1\t0\t192.0.2.1\n", 2, "duplicate entry"),
        ("=\ta\tip-dst\n", 0, "needs 3 fields"),
        ("hello\n", 0, "expected a section header"),
        ("=\ta\tip-dst\t1\n1\t0\t192.0.2.1\n", 2, "the `end` line counts `2`"),
    ];
    for (body, total, reason) in cases {
        let text = v1_with_checksum(&format!("feedsmith-ledger 1\n{body}end\t{total}\n"));
        let actual = corrupt_reason(text.as_bytes());
        assert!(actual.contains(reason), "{body:?}: {actual}");
    }
    let text = v1_with_checksum("feedsmith-ledger 1\nend\t0\n");
    assert!(Ledger::from_bytes(text.as_bytes(), "test").unwrap().is_empty());
    let cut = &text.as_bytes()[..text.len() - 1];
    assert!(corrupt_reason(cut).contains("truncated"));
    let text = v1_with_checksum("feedsmith-ledger 1\nend\t0\nmore\n");
    assert!(corrupt_reason(text.as_bytes()).contains("data after the `end` line"));
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

/// A few feeds, types and value shapes (text, hex, shared prefixes), and any times.
fn arbitrary_ledger() -> impl Strategy<Value = Ledger> {
    let kinds = prop::sample::select(vec![
        AttrType::IpDst,
        AttrType::Domain,
        AttrType::Url,
        AttrType::Md5,
        AttrType::Sha256,
    ]);
    let value = prop_oneof![
        "[0-9a-f]{0,8}",
        "(10\\.0\\.|host|http://a\\.example/)[a-z0-9./]{0,6}",
        any::<String>(),
    ];
    let entry = ("(a|b|feed-[0-9])", kinds, value, any::<i64>(), any::<i64>());
    prop::collection::vec(entry, 0..60).prop_map(|entries| {
        let mut ledger = Ledger::new();
        for (feed, kind, value, first_seen, last_seen) in entries {
            ledger.merge(&feed, &Indicator::new(kind, value), Seen { first_seen, last_seen });
        }
        ledger
    })
}

proptest! {
    #[test]
    fn random_ledgers_round_trip(ledger in arbitrary_ledger()) {
        let bytes = ledger.to_bytes();
        let loaded = Ledger::from_bytes(&bytes, "test").unwrap();
        prop_assert_eq!(sorted(&loaded), sorted(&ledger));
        // Decoding and encoding again gives the same bytes.
        prop_assert_eq!(loaded.to_bytes(), bytes);
    }

    #[test]
    fn hostile_content_behind_a_good_checksum_never_panics(
        table in prop::collection::vec(any::<u8>(), 0..120),
        body in prop::collection::vec(any::<u8>(), 0..80),
    ) {
        let _ = Ledger::from_bytes(&sealed(2, &table, &body), "test");
    }

    #[test]
    fn a_damaged_file_resealed_never_panics(
        ledger in arbitrary_ledger(),
        position in any::<prop::sample::Index>(),
        change in 1..=255_u8,
    ) {
        // The table is changed and sealed again; the sections keep their digests.
        let bytes = ledger.to_bytes();
        let table_length = u64::from_le_bytes(bytes[20..28].try_into().unwrap()) as usize;
        let mut table = bytes[28..28 + table_length].to_vec();
        let body = &bytes[28 + table_length..bytes.len() - 32];
        if !table.is_empty() {
            let at = position.index(table.len());
            table[at] ^= change;
        }
        let _ = Ledger::from_bytes(&sealed(2, &table, body), "test");
    }
}
