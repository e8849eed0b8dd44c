//! MISP feed outputs across builds: what a subscribing MISP needs to stay in sync.
//!
//! A project of two local feeds and three `misp-feed` outputs (one fixed event per feed, and
//! a daily output of both) is built on consecutive days while its feeds change. Expected
//! values follow from `misp/feed-format.md` (§2: only a newer manifest timestamp makes MISP
//! download an event again; §5.5: a value is revoked only by a deleted attribute with a
//! newer timestamp) and from the inputs, never from an earlier run's output.

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;

use crate::util::{feedsmith, pymisp_check};

/// 2026-08-23T00:00:00Z and the following days.
const DAYS: [&str; 4] = [
    "2026-08-23T00:00:00Z",
    "2026-08-24T00:00:00Z",
    "2026-08-25T00:00:00Z",
    "2026-08-26T00:00:00Z",
];
const D0: i64 = 1_787_443_200;
const DAY: i64 = 86_400;

const ONE_FIRST: &str = "45.9.148.7\nmalware-host.net\nhttp://malware-host.net/gate.php\n";
const ONE_SECOND: &str = "45.9.148.8\nmalware-host.net\nhttp://malware-host.net/gate.php\n";
const TWO_FIRST: &str = "185.220.101.5\nbad-domain.example.com\n";
const TWO_SECOND: &str = "185.220.101.5\nbad-domain.example.com\n185.220.101.6\n";

fn write(root: &Path, path: &str, text: &str) {
    crate::util::write_file(root, path, text);
}

/// Feeds `one` and `two` (local free text); tasks `one` and `two` write one fixed event
/// each, task `all` writes daily events of both with a two-day retention.
fn project() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    write(r, "feedsmith.toml", "title = \"Test SOC\"\n");
    for id in ["one", "two"] {
        write(
            r,
            &format!("feeds.d/{id}.toml"),
            &format!(
                "name = \"{id}\"\nprovider = \"test\"\npath = \"{id}.txt\"\nformat = \"freetext\"\n"
            ),
        );
        write(
            r,
            &format!("tasks.d/{id}.toml"),
            &format!(
                "name = \"Task {id}\"\n[select]\nfeeds = [\"{id}\"]\n[[outputs]]\n\
                 format = \"misp-feed\"\npath = \"misp/{id}\"\ntlp = \"tlp:green\"\n\
                 threat_level = 2\ndistribution = 1\n"
            ),
        );
    }
    write(
        r,
        "tasks.d/all.toml",
        "name = \"Everything\"\n[[outputs]]\nformat = \"misp-feed\"\npath = \"misp/daily\"\n\
         events = \"daily\"\nretention_days = 2\n",
    );
    write(r, "one.txt", ONE_FIRST);
    write(r, "two.txt", TWO_FIRST);
    root
}

fn build(root: &Path, now: &str) {
    let out = root.join("site");
    let output = feedsmith(root, &["build", "--out", out.to_str().unwrap(), "--now", now]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    for feed in ["one", "two", "daily"] {
        if let Some(loaded) = pymisp_check(&root.join("site/misp").join(feed)) {
            let manifest = manifest(root, feed);
            assert_eq!(loaded["events"], manifest.len(), "{feed}");
        }
    }
}

/// The files of a feed folder, by name.
fn files(root: &Path, feed: &str) -> BTreeMap<String, Vec<u8>> {
    let dir = root.join("site/misp").join(feed);
    std::fs::read_dir(&dir)
        .unwrap()
        .map(|item| {
            let path = item.unwrap().path();
            (
                path.file_name().unwrap().to_string_lossy().into_owned(),
                std::fs::read(&path).unwrap(),
            )
        })
        .collect()
}

fn manifest(root: &Path, feed: &str) -> BTreeMap<String, Value> {
    let path = root.join("site/misp").join(feed).join("manifest.json");
    serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
}

/// Manifest timestamps by event date.
fn timestamps_by_date(root: &Path, feed: &str) -> BTreeMap<String, i64> {
    manifest(root, feed)
        .values()
        .map(|e| (e["date"].as_str().unwrap().to_owned(), e["timestamp"].as_i64().unwrap()))
        .collect()
}

/// Per value of the events of `feed`: (event uuid, attribute uuid, timestamp, deleted).
fn attributes(root: &Path, feed: &str) -> BTreeMap<String, (String, String, i64, bool)> {
    let mut found = BTreeMap::new();
    for uuid in manifest(root, feed).keys() {
        let path = root.join("site/misp").join(feed).join(format!("{uuid}.json"));
        let event: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
        for a in event["Event"]["Attribute"].as_array().unwrap() {
            let timestamp: i64 = a["timestamp"].as_str().unwrap().parse().unwrap();
            let attribute = (
                uuid.clone(),
                a["uuid"].as_str().unwrap().to_owned(),
                timestamp,
                a["deleted"] == true,
            );
            assert!(found.insert(a["value"].as_str().unwrap().to_owned(), attribute).is_none());
        }
    }
    found
}

#[test]
fn only_changed_events_get_newer_timestamps_and_removed_values_come_back_deleted() {
    let root = project();
    let r = root.path();
    build(r, DAYS[0]);
    let one_before = attributes(r, "one");
    let two_before = files(r, "two");
    assert_eq!(one_before.len(), 3);
    assert!(one_before.values().all(|(_, _, t, deleted)| *t == D0 && !deleted));

    // Day 1: feed `one` swaps an address; feed `two` is unchanged.
    write(r, "one.txt", ONE_SECOND);
    build(r, DAYS[1]);
    assert_eq!(files(r, "two"), two_before, "an unchanged feed's folder is the same bytes");
    let one = attributes(r, "one");
    let event = &one_before["45.9.148.7"].0;
    assert_eq!(manifest(r, "one")[event]["timestamp"], D0 + DAY);
    assert_eq!(
        one["45.9.148.7"],
        (event.clone(), one_before["45.9.148.7"].1.clone(), D0 + DAY, true)
    );
    assert_eq!(one["45.9.148.8"].2, D0 + DAY);
    assert!(!one["45.9.148.8"].3);
    // Unchanged values keep their UUID and timestamp; the event keeps its UUID.
    assert_eq!(one["malware-host.net"], one_before["malware-host.net"]);
    assert_eq!(manifest(r, "one").keys().collect::<Vec<_>>(), [event]);
    // hashes.csv lists the new address, not the deleted one (md5 by `md5sum`).
    let hashes = String::from_utf8(files(r, "one")["hashes.csv"].clone()).unwrap();
    assert!(hashes.contains(&format!("7865214a38f20a68c1060153bbe34813,{event}\n")));
    assert!(!hashes.contains("b40428dfbb3cb040dbd42222bff4c6c5"));

    // The daily feed: the first day's event changed (a deletion), the second day's is new.
    let daily = timestamps_by_date(r, "daily");
    assert_eq!(
        daily,
        BTreeMap::from([("2026-08-23".to_owned(), D0 + DAY), ("2026-08-24".to_owned(), D0 + DAY)])
    );
    let values = attributes(r, "daily");
    assert!(values["45.9.148.7"].3);
    assert_ne!(values["45.9.148.8"].0, values["45.9.148.7"].0);

    // Day 2: only feed `two` gains a value: one new daily event; nothing else moves.
    let one_before = files(r, "one");
    write(r, "two.txt", TWO_SECOND);
    build(r, DAYS[2]);
    assert_eq!(files(r, "one"), one_before);
    let daily = timestamps_by_date(r, "daily");
    assert_eq!(daily["2026-08-23"], D0 + DAY);
    assert_eq!(daily["2026-08-24"], D0 + DAY);
    assert_eq!(daily["2026-08-25"], D0 + 2 * DAY);
    assert_eq!(manifest(r, "two").values().next().unwrap()["timestamp"], D0 + 2 * DAY);

    // Day 3: the daily output's two-day retention has passed for the deleted address; the
    // fixed output keeps it for its default seven days.
    build(r, DAYS[3]);
    assert!(!attributes(r, "daily").contains_key("45.9.148.7"));
    assert_eq!(timestamps_by_date(r, "daily")["2026-08-23"], D0 + 3 * DAY);
    assert!(attributes(r, "one")["45.9.148.7"].3);
    if let Some(loaded) = pymisp_check(&r.join("site/misp/one")) {
        assert_eq!((loaded["attributes"].as_u64(), loaded["deleted"].as_u64()), (Some(3), Some(1)));
    }
}

#[test]
fn the_same_inputs_and_now_give_byte_identical_misp_feeds() {
    let (a, b) = (project(), project());
    for root in [a.path(), b.path()] {
        build(root, DAYS[0]);
    }
    let first: Vec<_> = ["one", "two", "daily"].iter().map(|f| files(a.path(), f)).collect();
    for root in [a.path(), b.path()] {
        write(root, "one.txt", ONE_SECOND);
        build(root, DAYS[1]);
    }
    for feed in ["one", "two", "daily"] {
        assert_eq!(files(a.path(), feed), files(b.path(), feed), "{feed}");
    }
    // A build again at the same time over its own output changes nothing.
    build(a.path(), DAYS[1]);
    for feed in ["one", "two", "daily"] {
        assert_eq!(files(a.path(), feed), files(b.path(), feed), "{feed} rebuilt");
    }
    // The first build's feeds differ from the second's where a feed changed.
    assert_ne!(first[0], files(a.path(), "one"));
    assert_eq!(first[1], files(a.path(), "two"));
}

#[test]
fn a_fresh_machine_carries_the_feeds_on_from_the_published_site() {
    // Machine A builds day 0 and publishes its site; machine B, with the same definitions,
    // no output folder and no state, builds day 1 with `--state-from` the site's URL.
    let a = project();
    build(a.path(), DAYS[0]);
    let webroot = tempfile::tempdir().unwrap();
    crate::util::copy_tree(&a.path().join("site"), &webroot.path().join("feeds"));
    let web = crate::util::StaticServer::serve(webroot.path().to_owned());
    let b = project();
    write(b.path(), "one.txt", ONE_SECOND);
    let out = b.path().join("site");
    let url = web.url("/feeds/");
    let args = ["build", "--out", out.to_str().unwrap(), "--now", DAYS[1], "--state-from", &url];
    let output = feedsmith(b.path(), &args);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));

    // As if A had built day 1 itself: the removed address is revoked under its old UUID,
    // and the unchanged feed is the same bytes as A published.
    let before = attributes(a.path(), "one");
    let after = attributes(b.path(), "one");
    let event = &before["45.9.148.7"].0;
    assert_eq!(
        after["45.9.148.7"],
        (event.clone(), before["45.9.148.7"].1.clone(), D0 + DAY, true)
    );
    assert_eq!(after["malware-host.net"], before["malware-host.net"]);
    assert_eq!(files(b.path(), "two"), files(a.path(), "two"));
    let report: Value =
        serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap();
    let notes: Vec<&str> =
        report["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap()).collect();
    assert!(
        notes.iter().any(|n| n.contains("the MISP feed `misp/one` was not in the output folder")
            && n.contains(&url)),
        "{notes:?}"
    );
    assert!(web.paths().iter().any(|p| p == "/feeds/misp/one/manifest.json"), "{:?}", web.paths());
}
