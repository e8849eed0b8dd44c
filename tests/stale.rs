//! A broken upstream never empties an output: last good data across builds.
//!
//! Each test keeps one project and swaps the feed's local file between builds, the way an
//! upstream changes between nightly runs.

use std::collections::BTreeSet;
use std::path::Path;

use crate::util::{feed, feedsmith, plain_values, repo};

struct Project {
    root: tempfile::TempDir,
}

impl Project {
    /// A one-feed project whose feed reads `list.txt` in the project, as free text.
    fn new(extra: &str) -> Project {
        let root = tempfile::tempdir().unwrap();
        std::fs::create_dir_all(root.path().join("feeds.d")).unwrap();
        std::fs::create_dir_all(root.path().join("tasks.d")).unwrap();
        std::fs::write(
            root.path().join("feeds.d/upstream.toml"),
            format!("name = \"upstream\"\nprovider = \"test\"\npath = \"list.txt\"\nformat = \"freetext\"\n{extra}\n"),
        )
        .unwrap();
        std::fs::write(
            root.path().join("tasks.d/all.toml"),
            // The inputs use the documentation ranges (RFC 5737), which tasks leave out by default.
            "name = \"all\"\n[select]\nexclude_reserved = false\n[[outputs]]\nformat = \"plain\"\npath = \"all.txt\"\n",
        )
        .unwrap();
        Project { root }
    }

    fn serve(&self, source: &Path) {
        std::fs::copy(source, self.root.path().join("list.txt")).unwrap();
    }

    /// A second feed, `steady`, that reads `steady.txt` and never fails.
    fn add_steady_feed(&self, text: &str) {
        std::fs::write(self.root.path().join("steady.txt"), text).unwrap();
        std::fs::write(
            self.root.path().join("feeds.d/steady.toml"),
            "name = \"steady\"\nprovider = \"test\"\npath = \"steady.txt\"\nformat = \"freetext\"\n",
        )
        .unwrap();
    }

    fn serve_text(&self, text: &str) {
        std::fs::write(self.root.path().join("list.txt"), text).unwrap();
    }

    /// Builds at `now`; returns the exit code, the feed's report and the values written.
    fn build(&self, now: &str) -> (Option<i32>, serde_json::Value, BTreeSet<String>) {
        let output = feedsmith(self.root.path(), &["build", "--now", now]);
        let report: serde_json::Value = serde_json::from_slice(
            &std::fs::read(self.root.path().join("site/report.json")).unwrap(),
        )
        .unwrap();
        let values = plain_values(&self.root.path().join("site/all.txt")).into_iter().collect();
        (output.status.code(), feed(&report, "upstream").clone(), values)
    }
}

fn case(relative: &str) -> std::path::PathBuf {
    repo().join("tests/fixtures/bugcases").join(relative)
}

fn set(values: &[&str]) -> BTreeSet<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

// shared/bugcases/01-html-instead-of-data (PaloAltoNetworks/minemeld#29)
#[test]
fn an_html_page_fails_the_feed_and_the_previous_snapshot_stays() {
    let project = Project::new("");
    project.serve(&case("01-html-instead-of-data/previous.txt"));
    let (code, report, values) = project.build("2026-08-22T00:00:00Z");
    assert_eq!(code, Some(0));
    assert_eq!(report["status"], "ok");
    assert_eq!(values, set(&["c2-one.example", "c2-two.example"]));

    project.serve(&case("01-html-instead-of-data/payload.txt"));
    let (code, report, values) = project.build("2026-08-23T00:00:00Z");
    assert_eq!(code, Some(3), "a failed feed is not a silent success");
    assert_eq!(report["status"], "error");
    assert!(report["error"].as_str().unwrap().contains("HTML"), "{}", report["error"]);
    assert_eq!(report["reason"], "html_content");
    assert_eq!(report["stats"]["lines"], 0, "the HTML body is not parsed");
    assert_eq!(report["stale"], true);
    assert_eq!(report["last_success"], "2026-08-22T00:00:00Z");
    assert_eq!(report["failing_since"], "2026-08-23T00:00:00Z");
    // The previous snapshot is still exported, and nothing of the page is.
    assert_eq!(values, set(&["c2-one.example", "c2-two.example"]));

    // last_seen is not refreshed: decay runs from the ledger's last_seen, the first build.
    // With MISP's NIDS model (B = 80, τ = 120 d, δ = 2, θ = 30) an untagged domain expires
    // 46.875 days after it was last seen (decay.md §7): 46 days after 2026-08-22 it is still
    // listed, 47 days after it is not. Had the failing builds refreshed last_seen, it would
    // still be listed on 2026-10-08.
    std::fs::write(
        project.root.path().join("feeds.d/upstream.toml"),
        "name = \"upstream\"\nprovider = \"test\"\npath = \"list.txt\"\nformat = \"freetext\"\nmax_stale_days = 60\n",
    )
    .unwrap();
    std::fs::create_dir_all(project.root.path().join("decay.d")).unwrap();
    std::fs::copy(repo().join("decay.d/nids.toml"), project.root.path().join("decay.d/nids.toml"))
        .unwrap();
    let (_, report, values) = project.build("2026-10-07T00:00:00Z");
    assert_eq!(report["stale"], true);
    assert_eq!(values, set(&["c2-one.example", "c2-two.example"]));
    let (_, report, values) = project.build("2026-10-08T00:00:00Z");
    assert_eq!(report["stale"], true);
    assert!(values.is_empty(), "decayed from the last confirmed sighting: {values:?}");
}

// shared/bugcases/02-empty-feed (CriticalPathSecurity/Zeek-Intelligence-Feeds#19)
#[test]
fn an_emptied_feed_keeps_its_previous_entries_unless_empty_is_allowed() {
    for current in
        ["02-empty-feed/current-zero-bytes.txt", "02-empty-feed/current-newline-only.txt"]
    {
        let project = Project::new("");
        project.serve(&case("02-empty-feed/previous.txt"));
        project.build("2026-08-22T00:00:00Z");
        project.serve(&case(current));
        let (code, report, values) = project.build("2026-08-23T00:00:00Z");
        assert_eq!(report["status"], "empty", "{current}");
        assert_eq!(report["reason"], "empty");
        assert!(report["error"].as_str().unwrap().contains("0 entries (previous success: 3)"));
        assert_eq!(report["stats"]["accepted"], 0, "no empty-string indicator");
        assert_eq!(report["stale"], true);
        assert_eq!(code, Some(3));
        assert_eq!(values, set(&["bad-one.example", "bad-two.example", "bad-three.example"]));
    }

    let project = Project::new("allow_empty = true");
    project.serve(&case("02-empty-feed/previous.txt"));
    project.build("2026-08-22T00:00:00Z");
    project.serve(&case("02-empty-feed/current-zero-bytes.txt"));
    let (code, report, values) = project.build("2026-08-23T00:00:00Z");
    assert_eq!(report["status"], "empty");
    assert_eq!(report["stale"], false);
    assert_eq!(code, Some(0));
    assert!(values.is_empty(), "allow_empty withdraws the entries at once");
}

#[test]
fn a_feed_that_shrinks_by_90_percent_keeps_its_last_good_data() {
    let project = Project::new("");
    let full: Vec<String> = (1..=100).map(|i| format!("198.51.100.{i}")).collect();
    project.serve_text(&(full.join("\n") + "\n"));
    let (_, report, values) = project.build("2026-08-22T00:00:00Z");
    assert_eq!(report["indicators"], 100);
    assert_eq!(values.len(), 100);

    project.serve_text(&(full[..10].join("\n") + "\n"));
    let (code, report, values) = project.build("2026-08-23T00:00:00Z");
    assert_eq!(code, Some(3));
    assert_eq!(report["status"], "error");
    assert_eq!(report["reason"], "shrunk");
    assert_eq!(report["stale"], true);
    assert_eq!(values.len(), 100, "the 90 % drop does not reach the output");

    // A drop of 40 % is within the default `max_shrink` of 50 %.
    project.serve_text(&(full[..60].join("\n") + "\n"));
    let (code, report, values) = project.build("2026-08-24T00:00:00Z");
    assert_eq!(code, Some(0));
    assert_eq!(report["status"], "ok");
    assert_eq!(values.len(), 60);
}

#[test]
fn last_good_data_older_than_max_stale_days_no_longer_stands_in() {
    let project = Project::new("max_stale_days = 2");
    project.add_steady_feed("192.0.2.200\n");
    project.serve_text("192.0.2.1\n192.0.2.2\n");
    project.build("2026-08-20T00:00:00Z");
    project.serve_text("<html><body>maintenance</body></html>\n");
    let (_, report, values) = project.build("2026-08-22T00:00:00Z");
    assert_eq!(report["stale"], true, "2 days old: still stands in");
    assert_eq!(values, set(&["192.0.2.1", "192.0.2.2", "192.0.2.200"]));
    let (code, report, values) = project.build("2026-08-22T00:00:01Z");
    assert_eq!(code, Some(3));
    assert_eq!(report["stale"], false);
    assert_eq!(report["failing_since"], "2026-08-22T00:00:00Z");
    assert_eq!(values, set(&["192.0.2.200"]), "only the healthy feed is left");
}

#[test]
fn a_build_where_every_feed_failed_keeps_the_previous_output_and_exits_1() {
    let project = Project::new("max_stale_days = 2");
    project.serve_text("192.0.2.1\n192.0.2.2\n");
    let (code, _, _) = project.build("2026-08-20T00:00:00Z");
    assert_eq!(code, Some(0));
    let before = std::fs::read(project.root.path().join("site/all.txt")).unwrap();

    // The last good data is 3 days old, past `max_stale_days`: nothing can stand in.
    project.serve_text("<html><body>maintenance</body></html>\n");
    let output = feedsmith(project.root.path(), &["build", "--now", "2026-08-23T00:00:00Z"]);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("every enabled feed failed (1)"), "{stderr}");
    assert!(stderr.contains("the previous output"), "{stderr}");
    let after = std::fs::read(project.root.path().join("site/all.txt")).unwrap();
    assert_eq!(before, after, "the firewall keeps yesterday's list, byte for byte");
    // The failure is still recorded, so the next build says since when the feed fails.
    let health: serde_json::Value = serde_json::from_slice(
        &std::fs::read(project.root.path().join(".feedsmith/state/feeds.json")).unwrap(),
    )
    .unwrap();
    let failing_since = health.pointer("/feeds/upstream/failing_since");
    assert_eq!(failing_since, Some(&serde_json::json!(1_787_443_200)), "{health}");
}
