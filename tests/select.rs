//! Task selection: every distinct indicator a task leaves out is counted under a reason.

use crate::util::feedsmith;

/// A one-feed project reading `list.txt` as free text, with MISP's default models, and one
/// task whose `[select]` table is `select`.
fn project(list: &str, select: &str) -> tempfile::TempDir {
    crate::util::one_list_project(list, &[("all", select)])
}

fn task_report(root: &std::path::Path) -> serde_json::Value {
    let output = feedsmith(root, &["build", "--now", "2026-08-23T00:00:00Z"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.join("site/report.json")).unwrap()).unwrap();
    report["tasks"][0].clone()
}

#[test]
fn types_no_model_covers_are_counted_when_the_task_leaves_them_out() {
    // Two MD5 hashes (no default model covers `md5`) and one address (NIDS model).
    let list = "198.51.100.1\nd41d8cd98f00b204e9800998ecf8427e\n44d88612fea8a8f36de82e1278abb02f\n";
    let root = project(list, "exclude_reserved = false\nkeep_unscored = false");
    let task = task_report(root.path());
    assert_eq!(task["selected"], 1);
    assert_eq!(task["unscored"], 0);
    assert_eq!(task["unscored_dropped"], 2);
    let page = std::fs::read_to_string(root.path().join("site/tasks/all.html")).unwrap();
    assert!(page.contains("2 left out for want of a decay model"), "{page}");
}

#[test]
fn types_no_model_covers_are_kept_and_counted_by_default() {
    let list = "198.51.100.1\nd41d8cd98f00b204e9800998ecf8427e\n44d88612fea8a8f36de82e1278abb02f\n";
    let root = project(list, "exclude_reserved = false");
    let task = task_report(root.path());
    assert_eq!(task["selected"], 3);
    assert_eq!(task["unscored"], 2);
    assert_eq!(task["unscored_dropped"], 0);
}

#[test]
fn a_named_model_scores_only_the_types_it_lists() {
    // NIDS lists ip-dst but no hash type: as in MISP, the hashes are not decayed with it.
    let list = "198.51.100.1\nd41d8cd98f00b204e9800998ecf8427e\n44d88612fea8a8f36de82e1278abb02f\n";
    let root = project(list, "exclude_reserved = false\nmodel = \"nids\"");
    let task = task_report(root.path());
    assert_eq!(task["selected"], 3);
    assert_eq!(task["unscored"], 2);
    let root = project(list, "exclude_reserved = false\nmodel = \"nids\"\nkeep_unscored = false");
    let task = task_report(root.path());
    assert_eq!(task["selected"], 1);
    assert_eq!(task["unscored_dropped"], 2);
}

// Found by hostile-input testing: a CSV row dated after the build made its indicator expire
// (MISP's rule for future times), and a row dated before 1970 reached the MISP feed.
#[test]
fn a_csv_feed_time_after_the_build_counts_as_now_and_one_before_1970_is_no_time() {
    let root = project("", "exclude_reserved = false");
    crate::util::make_list_a_csv(
        root.path(),
        "value,seen\n198.51.100.1,2030-01-01\n198.51.100.2,-377705116800\n198.51.100.3,1969-12-31\n",
    );
    let task = task_report(root.path());
    assert_eq!(task["selected"], 3, "{task}");
    assert_eq!(task["expired"], 0);
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.path().join("site/report.json")).unwrap())
            .unwrap();
    assert_eq!(report["feeds"][0]["stats"]["warnings"]["invalid_time"], 2);
}

// Found by a first-run trial: `build --offline` months after the last fetch reported every
// feed fresh and kept every free-text indicator, since the cached data was dated at the build.
#[test]
fn an_offline_build_dates_cached_data_at_its_fetch_not_at_the_build() {
    let root = project("", "exclude_reserved = false");
    let replay = root.path().join("recorded");
    std::fs::create_dir_all(&replay).unwrap();
    std::fs::write(replay.join("list.txt"), "198.51.100.1\n198.51.100.2\n").unwrap();
    std::fs::write(
        replay.join("index.toml"),
        "[[response]]\nurl = \"https://feeds.example/list.txt\"\nfile = \"list.txt\"\n",
    )
    .unwrap();
    std::fs::write(
        root.path().join("feeds.d/list.toml"),
        "name = \"list\"\nprovider = \"test\"\nurl = \"https://feeds.example/list.txt\"\nformat = \"freetext\"\n",
    )
    .unwrap();
    let before = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();
    let recorded = replay.to_str().unwrap().to_owned();
    // Online-like build now: the cache is filled with the fetch time (the clock).
    let output = feedsmith(root.path(), &["build", "--replay", &recorded]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let after = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap();

    // 200 days later, offline: the NIDS model's lifetime is 120 days.
    let later = time::OffsetDateTime::from_unix_timestamp(after.as_secs() as i64 + 200 * 86_400)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();
    let output = feedsmith(root.path(), &["build", "--offline", "--now", &later]);
    assert!(matches!(output.status.code(), Some(0 | 3)), "{output:?}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.path().join("site/report.json")).unwrap())
            .unwrap();
    let success = report["feeds"][0]["last_success"].as_str().unwrap();
    let success =
        time::OffsetDateTime::parse(success, &time::format_description::well_known::Rfc3339)
            .unwrap()
            .unix_timestamp();
    assert!(
        (before.as_secs() as i64..=after.as_secs() as i64).contains(&success),
        "last success {success} should be the fetch, between {before:?} and {after:?}"
    );
    assert_eq!(report["tasks"][0]["selected"], 0, "both addresses decayed: {}", report["tasks"][0]);
    assert_eq!(report["tasks"][0]["expired"], 2);
}
