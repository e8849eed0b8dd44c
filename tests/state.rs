//! The state across builds: a corrupt ledger, a deleted state folder and a fresh machine
//! that only has the published site, over the changing data of `decay_days`. The times
//! expected are those of the days each value was listed on (see `decay_days`' module
//! documentation), whatever happened to the state in between.

use std::path::Path;

use feedsmith::indicator::{AttrType, Indicator};
use feedsmith::ledger::Ledger;

use crate::decay_days::{D1, D2, D3, DAY, Days, ip};
use crate::util::{StaticServer, copy_tree};

const D4: i64 = D3 + DAY;
const D5: i64 = D4 + DAY;
const D6: i64 = D5 + DAY;

/// First and last seen of `feed` and `198.51.100.<last>` in the ledger file at `path`.
fn times(path: &Path, feed: &str, last: u8) -> Option<(i64, i64)> {
    let ledger = Ledger::load(path).unwrap_or_else(|e| panic!("{e}"));
    let seen = ledger.get(feed, &Indicator::new(AttrType::IpDst, ip(last)))?;
    Some((seen.first_seen, seen.last_seen))
}

/// The build times a history file holds.
fn builds(path: &Path) -> Vec<i64> {
    let history: serde_json::Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    history["builds"].as_array().unwrap().iter().map(|b| b["now_unix"].as_i64().unwrap()).collect()
}

fn notes(root: &Path) -> Vec<String> {
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("site/report.json")).unwrap()).unwrap();
    report["notes"].as_array().unwrap().iter().map(|n| n.as_str().unwrap().to_owned()).collect()
}

fn note_about(notes: &[String], start: &str) -> String {
    notes
        .iter()
        .find(|n| n.starts_with(start))
        .unwrap_or_else(|| panic!("no note starting with {start:?}: {notes:?}"))
        .clone()
}

fn flip_a_byte(path: &Path) {
    let mut bytes = std::fs::read(path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0x20;
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn no_history_is_lost_to_a_corrupt_ledger_a_deleted_state_or_a_fresh_machine() {
    let days = Days::new();
    for day in 1..=3 {
        days.serve_day(day);
    }
    let root = days.root.path();
    let state = root.join(".feedsmith/state");
    let published = root.join("site/state");
    assert_eq!(days.build(1, D1), Some(0));
    assert_eq!(days.build(2, D2), Some(0));
    assert_eq!(times(&state.join("ledger"), "daily", 3), Some((D2, D2)));
    assert_eq!(times(&state.join("ledger"), "daily", 2), Some((D1, D1)));
    assert_eq!(builds(&state.join("history.json")), [D1, D2]);
    // The published copy is the state folder's, byte for byte.
    for file in ["ledger", "history.json", "feeds.json"] {
        assert_eq!(
            std::fs::read(state.join(file)).unwrap(),
            std::fs::read(published.join(file)).unwrap()
        );
    }

    // 1. The ledger and the history are damaged. Their previous copies are a build old (they
    // do not know .3), the published ones are not: together they know everything.
    flip_a_byte(&state.join("ledger"));
    std::fs::write(state.join("history.json"), b"{\"format\": 1, \"builds\": [").unwrap();
    assert_eq!(days.build(3, D3), Some(3));
    let notes1 = notes(root);
    let note = note_about(&notes1, "the ledger");
    assert!(note.contains("is corrupt") && note.contains("previous copy"), "{note}");
    assert!(
        note.contains("combined with the ledger published by the build of 2026-08-21T00:00:00Z"),
        "{note}"
    );
    assert!(note_about(&notes1, "the history").contains("recovered from"));
    let ledger = state.join("ledger");
    assert_eq!(times(&ledger, "daily", 1), Some((D1, D3)));
    assert_eq!(times(&ledger, "daily", 2), Some((D1, D1)));
    assert_eq!(times(&ledger, "daily", 3), Some((D2, D3)));
    // `flaky` failed on day 3: its last good data stood in, which this build did not see.
    assert_eq!(times(&ledger, "flaky", 20), Some((D1, D2)));
    assert_eq!(builds(&state.join("history.json")), [D1, D2, D3]);

    // 2. The state folder is gone (its last good data with it): the output folder's
    // published state brings the ledger, history and feed health back.
    std::fs::remove_dir_all(&state).unwrap();
    assert_eq!(days.build(3, D4), Some(3));
    let notes2 = notes(root);
    for start in ["no ledger at", "no history at", "no feed health at"] {
        let note = note_about(&notes2, start);
        assert!(note.contains("published by the build of 2026-08-22T00:00:00Z"), "{note}");
        assert!(note.contains("SHA-256 checked"), "{note}");
    }
    assert_eq!(times(&ledger, "daily", 3), Some((D2, D4)));
    assert_eq!(times(&ledger, "daily", 2), Some((D1, D1)));
    assert_eq!(times(&ledger, "flaky", 20), Some((D1, D2)));
    assert_eq!(builds(&state.join("history.json")), [D1, D2, D3, D4]);
    let history: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.join("history.json")).unwrap()).unwrap();
    let fourth = &history["builds"][3];
    // Without its last good data, `flaky` is simply failing; `daily` lists .1 and .3.
    assert_eq!(fourth["feeds"]["flaky"]["status"], "error");
    assert_eq!(fourth["feeds"]["daily"]["indicators"], 2);
    assert_eq!(fourth["feeds"]["daily"]["by_type"]["ip-dst"], 2);

    // 3. A fresh machine: a new checkout with no state and no site, and the published site
    // on a web server.
    let webroot = tempfile::tempdir().unwrap();
    let web = StaticServer::serve(webroot.path().to_owned());
    let fresh = Days::new();
    fresh.serve_day(3);
    let site_url = web.url("/feeds/");
    let served_site = webroot.path().join("feeds");
    std::fs::create_dir_all(&served_site).unwrap();
    copy_tree(&root.join("site"), &served_site);
    assert_eq!(fresh.build_with(3, D5, &["--state-from", &site_url]), Some(3));
    let fresh_state = fresh.root.path().join(".feedsmith/state");
    assert_eq!(times(&fresh_state.join("ledger"), "daily", 3), Some((D2, D5)));
    assert_eq!(times(&fresh_state.join("ledger"), "daily", 2), Some((D1, D1)));
    assert_eq!(times(&fresh_state.join("ledger"), "flaky", 20), Some((D1, D2)));
    assert_eq!(builds(&fresh_state.join("history.json")), [D1, D2, D3, D4, D5]);
    let note = note_about(&notes(fresh.root.path()), "no ledger at");
    assert!(note.contains(&format!("{site_url}state/ledger")), "{note}");
    let requested = web.paths();
    for path in ["/feeds/state/manifest.json", "/feeds/state/ledger", "/feeds/state/history.json"] {
        assert!(requested.iter().any(|p| p == path), "{path} not requested: {requested:?}");
    }

    // 4. A published ledger that does not match its manifest is refused; the history beside
    // it is still good and still recovered.
    flip_a_byte(&served_site.join("state/ledger"));
    let refused = Days::new();
    refused.serve_day(3);
    assert_eq!(refused.build_with(3, D6, &["--state-from", &site_url]), Some(3));
    let note = note_about(&notes(refused.root.path()), "no ledger at");
    assert!(note.contains("does not match its manifest's SHA-256"), "{note}");
    assert!(note.contains("starting with an empty ledger"), "{note}");
    let refused_state = refused.root.path().join(".feedsmith/state");
    assert_eq!(times(&refused_state.join("ledger"), "daily", 3), Some((D6, D6)));
    assert_eq!(builds(&refused_state.join("history.json")), [D1, D2, D3, D4, D6]);
}

#[test]
fn a_state_url_with_nothing_published_is_a_note_not_a_failure() {
    let webroot = tempfile::tempdir().unwrap();
    let web = StaticServer::serve(webroot.path().to_owned());
    let days = Days::new();
    days.serve_day(1);
    let url = web.url("/nothing/");
    assert_eq!(days.build_with(1, D1, &["--state-from", &url]), Some(0));
    let notes = notes(days.root.path());
    let note = note_about(&notes, "no ledger at");
    assert!(note.contains(&format!("nothing at {url}")), "{note}");
    assert!(note.contains("starting with an empty ledger"), "{note}");
    // The build went on: its outputs and its own published state are there.
    assert!(days.values("nids.txt").contains(&ip(1)));
    assert!(days.root.path().join("site/state/manifest.json").is_file());
}

#[test]
fn a_state_from_a_later_build_does_not_expire_what_is_listed_now() {
    // A state written by a build at D3 (a runner's clock ahead, or a stray `--now`), then a
    // build at D1: the ledger's last sighting (D3) lies after the build and counts as D1.
    let days = Days::new();
    for day in [1, 3] {
        days.serve_day(day);
    }
    assert_eq!(days.build(3, D3), Some(3));
    assert_eq!(days.build(1, D1), Some(0));
    assert!(days.values("nids.txt").contains(&ip(1)), "{:?}", days.values("nids.txt"));
    let answer = days.lookup(1, D1, &ip(1));
    let task = answer["tasks"].as_array().unwrap().iter().find(|t| t["task"] == "nids").unwrap();
    let scoring = &task["feeds"][0]["scoring"];
    assert_eq!(scoring["reference_from"], "ledger", "{scoring}");
    assert_eq!(scoring["reference_capped"], true, "{scoring}");
    assert_eq!(scoring["reference_time"], crate::decay_days::rfc3339(D1));
    assert_eq!(scoring["score"].as_f64(), Some(80.0));
}

#[test]
fn an_offline_build_after_a_replay_sees_the_data_as_of_the_replay() {
    // The replay answered at D1: its cached bodies are as of D1, whatever the clock says, so
    // an offline build at D2 records D1 as the last time `daily` listed .1.
    let days = Days::new();
    days.serve_day(1);
    assert_eq!(days.build(1, D1), Some(0));
    let now = crate::decay_days::rfc3339(D2);
    let output = crate::util::feedsmith(days.root.path(), &["build", "--offline", "--now", &now]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    let ledger = days.root.path().join(".feedsmith/state/ledger");
    assert_eq!(times(&ledger, "daily", 1), Some((D1, D1)));
}
