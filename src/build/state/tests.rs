use std::fs;
use std::path::Path;
use std::time::Duration;

use super::*;
use crate::build::FeedHealth;
use crate::indicator::{AttrType, Indicator};
use crate::ledger::Seen;

fn settings(root: &Path) -> Settings {
    Settings {
        title: "test".to_owned(),
        base_url: None,
        output_dir: root.join("site"),
        cache_dir: root.join("cache"),
        state_dir: root.join("state"),
        history_builds: 10,
        timeout: Duration::from_secs(5),
        concurrency: 1,
        max_body_bytes: 1 << 20,
        max_decompressed_bytes: 1 << 20,
        retries: 0,
        retry_base: Duration::from_millis(1),
        per_host_concurrency: 1,
    }
}

fn ip(value: &str) -> Indicator {
    Indicator::new(AttrType::IpDst, value)
}

fn ledger_of(entries: &[(&str, i64, i64)]) -> Ledger {
    let mut ledger = Ledger::new();
    for &(value, first_seen, last_seen) in entries {
        ledger.merge("feed", &ip(value), Seen { first_seen, last_seen });
    }
    ledger
}

fn seen(ledger: &Ledger, value: &str) -> Option<(i64, i64)> {
    ledger.get("feed", &ip(value)).map(|s| (s.first_seen, s.last_seen))
}

fn history_of(times: &[i64]) -> History {
    let mut history = History::default();
    for &now_unix in times {
        history.record(BuildCounts { now_unix, ..BuildCounts::default() }, 100);
    }
    history
}

fn times(history: &History) -> Vec<i64> {
    history.builds.iter().map(|b| b.now_unix).collect()
}

fn health_of(last_success: i64) -> Health {
    let mut health = Health::default();
    let feed = FeedHealth { last_success: Some(last_success), ..FeedHealth::default() };
    health.feeds.insert("feed".to_owned(), feed);
    health
}

/// Publishes a state into `site` as a build at `now` does.
fn publish(site: &Path, ledger: &Ledger, history: &History, now: i64) {
    Encoded::new(ledger, history, &health_of(now)).publish(site, now).unwrap();
}

#[test]
fn nothing_anywhere_is_a_first_build_with_one_note() {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path());
    let state = load(&settings, None, &settings.output_dir);
    assert!(state.ledger.is_empty() && state.history.builds.is_empty());
    assert!(state.health.feeds.is_empty());
    assert_eq!(state.notes.len(), 1, "{:?}", state.notes);
    assert!(state.notes[0].contains("a first build"), "{:?}", state.notes);
}

#[test]
fn saved_state_loads_without_notes() {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path());
    let ledger = ledger_of(&[("192.0.2.1", 10, 20)]);
    Encoded::new(&ledger, &history_of(&[10, 20]), &health_of(20)).save(&settings.state_dir, &[]);
    let state = load(&settings, None, &settings.output_dir);
    assert!(state.notes.is_empty(), "{:?}", state.notes);
    assert_eq!(seen(&state.ledger, "192.0.2.1"), Some((10, 20)));
    assert_eq!(times(&state.history), [10, 20]);
    assert_eq!(state.health.feeds["feed"].last_success, Some(20));
}

/// Settings under `root` whose state folder two builds saved: at 10 (.1 seen at 10) and at
/// 20 (.1 seen from 10 to 20), so that each file's `.prev` is the first build's.
fn two_builds_saved(root: &Path) -> Settings {
    let settings = settings(root);
    let health = health_of(10);
    Encoded::new(&ledger_of(&[("192.0.2.1", 10, 10)]), &history_of(&[10]), &health)
        .save(&settings.state_dir, &[]);
    Encoded::new(&ledger_of(&[("192.0.2.1", 10, 20)]), &history_of(&[10, 20]), &health)
        .save(&settings.state_dir, &[]);
    settings
}

#[test]
fn a_corrupt_file_is_recovered_from_its_previous_copy() {
    let dir = tempfile::tempdir().unwrap();
    let settings = two_builds_saved(dir.path());
    fs::write(settings.state_dir.join("ledger"), b"garbage").unwrap();
    fs::write(settings.state_dir.join("history.json"), b"{").unwrap();
    let state = load(&settings, None, &settings.output_dir);
    // The previous copies are one build old: what the damaged files added is gone, and no
    // more than that.
    assert_eq!(seen(&state.ledger, "192.0.2.1"), Some((10, 10)));
    assert_eq!(times(&state.history), [10]);
    assert_eq!(state.notes.len(), 2, "{:?}", state.notes);
    assert!(state.notes[0].contains("corrupt") && state.notes[0].contains("previous copy"));
    assert!(state.notes[1].contains("history") && state.notes[1].contains("previous copy"));
}

#[test]
fn copies_are_combined_so_that_none_loses_what_another_knew() {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path());
    // The previous copy knows .1 from 10 to 20; the published one (a later build) knows .1
    // until 30 and .2, but not .3, which only the previous copy has.
    let prev = ledger_of(&[("192.0.2.1", 10, 20), ("192.0.2.3", 5, 5)]);
    Encoded::new(&prev, &history_of(&[10, 20]), &health_of(20)).save(&settings.state_dir, &[]);
    fs::rename(settings.state_dir.join("ledger"), settings.state_dir.join("ledger.prev")).unwrap();
    let published = ledger_of(&[("192.0.2.1", 10, 30), ("192.0.2.2", 30, 30)]);
    publish(&settings.output_dir, &published, &history_of(&[20, 30]), 30);
    let state = load(&settings, None, &settings.output_dir);
    assert_eq!(seen(&state.ledger, "192.0.2.1"), Some((10, 30)));
    assert_eq!(seen(&state.ledger, "192.0.2.2"), Some((30, 30)));
    assert_eq!(seen(&state.ledger, "192.0.2.3"), Some((5, 5)));
    assert_eq!(state.notes.len(), 1, "{:?}", state.notes);
    let note = &state.notes[0];
    assert!(note.starts_with("no ledger at"), "{note}");
    assert!(note.contains("previous copy") && note.contains("combined with"), "{note}");
    assert!(note.contains("SHA-256 checked"), "{note}");
    // The history and health files were fine: not touched by the recovery.
    assert_eq!(times(&state.history), [10, 20]);
}

#[test]
fn a_published_state_restores_a_deleted_folder() {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path());
    let site = dir.path().join("downloaded");
    publish(&site, &ledger_of(&[("192.0.2.1", 10, 30)]), &history_of(&[10, 20, 30]), 30);
    // Given as the site's folder, its `state/` folder or its manifest.
    for source in [site.clone(), site.join("state"), site.join("state/manifest.json")] {
        let state = load(&settings, Some(&StateSource::Path(source.clone())), &settings.output_dir);
        assert_eq!(seen(&state.ledger, "192.0.2.1"), Some((10, 30)), "{}", source.display());
        assert_eq!(times(&state.history), [10, 20, 30]);
        assert_eq!(state.health.feeds["feed"].last_success, Some(30));
        assert_eq!(state.notes.len(), 3, "{:?}", state.notes);
        let from = "published by the build of 1970-01-01T00:00:30Z";
        assert!(state.notes.iter().all(|n| n.contains(from)), "{:?}", state.notes);
    }
}

#[test]
fn the_manifest_lists_sizes_and_checksums_of_the_bytes_written() {
    let dir = tempfile::tempdir().unwrap();
    let ledger = ledger_of(&[("192.0.2.1", 10, 30)]);
    publish(dir.path(), &ledger, &history_of(&[30]), 86_400);
    let manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(dir.path().join("state/manifest.json")).unwrap()).unwrap();
    assert_eq!(manifest["format"], 1);
    assert_eq!(manifest["built"], "1970-01-02T00:00:00Z");
    for name in ["ledger", "history.json", "feeds.json"] {
        let bytes = fs::read(dir.path().join("state").join(name)).unwrap();
        let entry = &manifest["files"][name];
        assert_eq!(entry["bytes"], bytes.len() as u64, "{name}");
        assert_eq!(entry["sha256"], hex::encode(Sha256::digest(&bytes)), "{name}");
    }
    assert_eq!(fs::read(dir.path().join("state/ledger")).unwrap(), ledger.to_bytes());
}

/// Publishes, lets `damage` change the published folder, and loads from it.
fn load_damaged(damage: impl Fn(&Path)) -> State {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path());
    let site = dir.path().join("downloaded");
    publish(&site, &ledger_of(&[("192.0.2.1", 10, 30)]), &history_of(&[30]), 30);
    damage(&site.join("state"));
    load(&settings, Some(&StateSource::Path(site)), &settings.output_dir)
}

fn edit_manifest(state: &Path, edit: impl Fn(&mut serde_json::Value)) {
    let path = state.join("manifest.json");
    let mut manifest: serde_json::Value =
        serde_json::from_slice(&fs::read(&path).unwrap()).unwrap();
    edit(&mut manifest);
    fs::write(&path, manifest.to_string()).unwrap();
}

#[test]
fn a_published_file_that_does_not_match_its_manifest_is_refused() {
    let state = load_damaged(|state| {
        let path = state.join("ledger");
        let mut bytes = fs::read(&path).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&path, bytes).unwrap();
    });
    assert!(state.ledger.is_empty());
    let note = state.notes.iter().find(|n| n.contains("ledger")).unwrap();
    assert!(note.contains("does not match its manifest's SHA-256"), "{note}");
    assert!(note.contains("starting with an empty ledger"), "{note}");
    // The other files are checked one by one: still recovered.
    assert_eq!(times(&state.history), [30]);

    let state = load_damaged(|state| {
        let path = state.join("history.json");
        let mut bytes = fs::read(&path).unwrap();
        bytes.extend_from_slice(b"  ");
        fs::write(&path, bytes).unwrap();
    });
    let note = state.notes.iter().find(|n| n.contains("history")).unwrap();
    assert!(note.contains("not the") && note.contains("its manifest says"), "{note}");
    assert!(state.history.builds.is_empty());
    assert_eq!(seen(&state.ledger, "192.0.2.1"), Some((10, 30)));
}

#[test]
fn hostile_manifests_are_refused_with_a_reason() {
    type Damage = Box<dyn Fn(&Path)>;
    let cases: Vec<(Damage, &str)> = vec![
        (Box::new(|s: &Path| edit_manifest(s, |m| m["format"] = 2.into())), "unknown format `2`"),
        (
            Box::new(|s: &Path| fs::write(s.join("manifest.json"), b"[1").unwrap()),
            "not a state manifest",
        ),
        (
            Box::new(|s: &Path| {
                edit_manifest(s, |m| m["files"]["ledger"]["bytes"] = (1_u64 << 40).into());
            }),
            "more than the",
        ),
        (
            Box::new(|s: &Path| {
                edit_manifest(s, |m| {
                    m["files"].as_object_mut().unwrap().remove("ledger");
                });
            }),
            "lists no `ledger`",
        ),
        (
            Box::new(|s: &Path| fs::write(s.join("manifest.json"), vec![b' '; 2 << 20]).unwrap()),
            "larger than a state manifest",
        ),
        (Box::new(|s: &Path| fs::remove_file(s.join("ledger")).unwrap()), "nothing at"),
    ];
    for (damage, reason) in cases {
        let state = load_damaged(damage);
        assert!(state.ledger.is_empty(), "{reason}");
        let note = state.notes.iter().find(|n| n.starts_with("no ledger")).unwrap();
        assert!(note.contains(reason), "{reason}: {note}");
    }
}

#[test]
fn state_sources_are_urls_or_paths() {
    let parse = |text: &str| StateSource::parse(text);
    assert_eq!(
        parse("https://x.github.io/feeds/"),
        Ok(StateSource::Url("https://x.github.io/feeds/".to_owned()))
    );
    assert_eq!(parse("HTTP://x/"), Ok(StateSource::Url("HTTP://x/".to_owned())));
    assert_eq!(parse("site"), Ok(StateSource::Path("site".into())));
    assert_eq!(parse("../a b/site"), Ok(StateSource::Path("../a b/site".into())));
    for (text, reason) in [
        ("", "is empty"),
        ("  ", "is empty"),
        ("file:///x", "not `file://`"),
        ("ftp://x/", "not `ftp://`"),
        ("https://", "is not a URL"),
        ("http://[::1/", "is not a URL"),
    ] {
        let why = parse(text).unwrap_err();
        assert!(why.contains(reason), "{text}: {why}");
    }
}

#[test]
fn a_damaged_file_is_moved_aside_so_that_its_good_previous_copy_stays() {
    let dir = tempfile::tempdir().unwrap();
    let settings = two_builds_saved(dir.path());
    fs::write(settings.state_dir.join("history.json"), b"{").unwrap();
    let state = load(&settings, None, &settings.output_dir);
    assert_eq!(state.damaged, ["history.json"]);
    let next = history_of(&[10, 30]);
    Encoded::new(&state.ledger, &next, &state.health).save(&settings.state_dir, &state.damaged);
    // The recovered-from copy is still the previous one; the damaged file is kept aside.
    let prev: History = History::load(&settings.state_dir.join("history.json.prev")).unwrap();
    assert_eq!(times(&prev), [10]);
    assert_eq!(fs::read(settings.state_dir.join("history.json.damaged")).unwrap(), b"{");
    assert_eq!(times(&History::load(&settings.state_dir.join("history.json")).unwrap()), [10, 30]);
    // The undamaged ledger rotated as usual.
    let prev_ledger = Ledger::load(&settings.state_dir.join("ledger.prev")).unwrap();
    assert_eq!(seen(&prev_ledger, "192.0.2.1"), Some((10, 20)));
}

#[test]
fn a_given_place_without_state_is_named_in_the_notes() {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path());
    let empty = dir.path().join("empty");
    fs::create_dir_all(&empty).unwrap();
    let state = load(&settings, Some(&StateSource::Path(empty.clone())), &settings.output_dir);
    assert_eq!(state.notes.len(), 3, "{:?}", state.notes);
    let note = &state.notes[0];
    assert!(note.contains("no published state: nothing at"), "{note}");
    assert!(note.contains(&format!("{}", empty.join("state/manifest.json").display())), "{note}");
    assert!(note.contains(&format!("{}", empty.join("manifest.json").display())), "{note}");
}

// Found by hostile-input testing: the `built` time of a published manifest reached the notes
// (and so `report.json` and the site's index page) as written, terminal escapes included.
#[test]
fn a_manifest_s_build_time_is_quoted_escaped() {
    let state = load_damaged(|state| {
        edit_manifest(state, |m| m["built"] = "\u{1b}]0;owned\u{7}\u{202e}x".into());
    });
    assert_eq!(seen(&state.ledger, "192.0.2.1"), Some((10, 30)));
    let note = state.notes.iter().find(|n| n.contains("ledger")).unwrap();
    assert!(note.contains("the build of \\u{1b}]0;owned\\u{7}\\u{202e}x at"), "{note}");
    assert!(!note.contains(['\u{1b}', '\u{7}', '\u{202e}']), "{note}");
}

// Found by hostile-input testing: a manifest may say a file is up to 8 GiB, and the file was
// then read whole into memory; a server streaming that much took 1.4 GB in 3 seconds. A
// published file is now held to 1 GiB, or `max_body_bytes` if larger.
#[test]
fn a_published_file_said_to_be_larger_than_the_limit_is_not_read() {
    let gib = 1_u64 << 30;
    for (max_body_bytes, said, refused) in
        [(1024, gib + 1, true), (1024, gib, false), (2 * gib, 2 * gib, false)]
    {
        let dir = tempfile::tempdir().unwrap();
        let mut settings = settings(dir.path());
        settings.max_body_bytes = max_body_bytes;
        let site = dir.path().join("downloaded");
        publish(&site, &ledger_of(&[("192.0.2.1", 10, 30)]), &history_of(&[30]), 30);
        edit_manifest(&site.join("state"), |m| m["files"]["ledger"]["bytes"] = said.into());
        let state = load(&settings, Some(&StateSource::Path(site)), &settings.output_dir);
        assert!(state.ledger.is_empty());
        let note = state.notes.iter().find(|n| n.starts_with("no ledger")).unwrap();
        let limit = gib.max(max_body_bytes);
        let over = format!("is said to be {said} bytes, more than the {limit} accepted");
        // Under the limit the file is read, and its size found wrong.
        assert_eq!(note.contains(&over), refused, "{note}");
        assert_eq!(note.contains("not the"), !refused, "{note}");
        // The smaller files still come.
        assert_eq!(times(&state.history), [30]);
    }
}

// Found by hostile-input testing: a named pipe where a manifest or a state file should be
// blocked the build for ever.
#[cfg(unix)]
#[test]
fn a_named_pipe_in_a_state_folder_is_refused_without_waiting() {
    let make_fifo = |path: &Path| {
        let status = std::process::Command::new("mkfifo").arg(path).status().unwrap();
        assert!(status.success());
    };
    let state = load_damaged(|state| {
        fs::remove_file(state.join("manifest.json")).unwrap();
        make_fifo(&state.join("manifest.json"));
    });
    assert!(state.ledger.is_empty());
    let note = state.notes.iter().find(|n| n.starts_with("no ledger")).unwrap();
    assert!(note.contains("it is not a regular file"), "{note}");

    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path());
    fs::create_dir_all(&settings.state_dir).unwrap();
    make_fifo(&settings.state_dir.join("history.json"));
    let state = load(&settings, None, &settings.output_dir);
    let note = state.notes.iter().find(|n| n.contains("history")).unwrap();
    assert!(note.contains("it is not a regular file"), "{note}");
}

// Found by hostile-input testing: a `feeds.json` whose last success lies in the year
// 292 billion loaded, and let the feed's last good data stand in for ever; one of a later
// version was read as if it were this one.
#[test]
fn feed_health_with_impossible_times_or_a_later_version_is_corrupt() {
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(dir.path());
    fs::create_dir_all(&settings.state_dir).unwrap();
    let path = settings.state_dir.join("feeds.json");
    let cases = [
        (
            r#"{"version":1,"feeds":{"f":{"last_success":9223372036854775807,"last_indicators":1,"failing_since":null,"last_error":null}}}"#,
            "feed `f`: `last_success` 9223372036854775807 is not a time",
        ),
        (
            r#"{"version":1,"feeds":{"f":{"last_success":1,"last_indicators":1,"failing_since":-9223372036854775808,"last_error":null}}}"#,
            "feed `f`: `failing_since` -9223372036854775808 is not a time",
        ),
        (r#"{"version":2,"feeds":{}}"#, "unknown version `2`"),
    ];
    for (text, reason) in cases {
        fs::write(&path, text).unwrap();
        let state = load(&settings, None, &settings.output_dir);
        assert!(state.health.feeds.is_empty(), "{reason}");
        let note = state.notes.iter().find(|n| n.contains("feed health")).unwrap();
        assert!(note.contains(reason), "{reason}: {note}");
    }
    // The last second of the year 9999 is a time.
    fs::write(&path, health_bytes(&health_of(253_402_300_799))).unwrap();
    let state = load(&settings, None, &settings.output_dir);
    assert_eq!(state.health.feeds["feed"].last_success, Some(253_402_300_799), "{:?}", state.notes);
}
