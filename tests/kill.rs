//! A build killed at any moment (SIGKILL) leaves the previous site, cache and state intact.

use std::path::Path;
use std::time::Instant;

use sha2::{Digest as _, Sha256};

use crate::util::{build_replay, copy_root_definitions, recorded};

const NOW: &str = "2026-08-23T00:00:00Z";

/// Checks that the site, the cache and the state of `root` are complete and readable, and
/// that the blocklists are byte for byte those of `baseline` (same inputs, same `--now`).
fn assert_intact(root: &Path, baseline: &[(String, Vec<u8>)], when: &str) {
    let report = std::fs::read(root.join("site/report.json"))
        .unwrap_or_else(|e| panic!("{when}: site/report.json unreadable: {e}"));
    serde_json::from_slice::<serde_json::Value>(&report)
        .unwrap_or_else(|e| panic!("{when}: report.json does not parse: {e}"));
    assert!(root.join("site/index.html").is_file(), "{when}: no index.html");
    for (relative, bytes) in baseline {
        let now = std::fs::read(root.join("site").join(relative))
            .unwrap_or_else(|e| panic!("{when}: {relative}: {e}"));
        assert!(&now == bytes, "{when}: {relative} changed");
    }
    // State: the ledger loads and feeds.json parses.
    feedsmith::ledger::Ledger::load(&root.join(".feedsmith/state/ledger"))
        .unwrap_or_else(|e| panic!("{when}: ledger unreadable: {e}"));
    let health = std::fs::read(root.join(".feedsmith/state/feeds.json")).unwrap();
    serde_json::from_slice::<serde_json::Value>(&health)
        .unwrap_or_else(|e| panic!("{when}: feeds.json does not parse: {e}"));
    // Cache: every entry's body matches the checksum in its metadata.
    for feed in std::fs::read_dir(root.join(".feedsmith/cache")).unwrap() {
        for entry in std::fs::read_dir(feed.unwrap().path()).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "json") {
                let meta: serde_json::Value =
                    serde_json::from_slice(&std::fs::read(&path).unwrap())
                        .unwrap_or_else(|e| panic!("{when}: {}: {e}", path.display()));
                let body = std::fs::read(path.with_extension("body")).unwrap();
                assert_eq!(
                    meta["sha256"].as_str().unwrap(),
                    hex::encode(Sha256::digest(&body)),
                    "{when}: {}",
                    path.display()
                );
            }
        }
    }
}

#[test]
fn a_build_killed_at_any_moment_leaves_site_cache_and_state_intact() {
    let root = copy_root_definitions();
    let started = Instant::now();
    build_replay(root.path(), NOW);
    let duration = started.elapsed();
    let baseline: Vec<(String, Vec<u8>)> = ["ipv4", "ipv6", "domains", "urls", "hashes"]
        .iter()
        .map(|name| {
            let relative = format!("blocklists/{name}.txt");
            let bytes = std::fs::read(root.path().join("site").join(&relative)).unwrap();
            (relative, bytes)
        })
        .collect();
    assert_intact(root.path(), &baseline, "after the first build");

    // Kill points spread over the whole length of a build, from just after the start to
    // beyond the end of the write stage.
    let recorded = recorded();
    for step in 1..=12u32 {
        let delay = duration.mul_f64(f64::from(step) / 11.0);
        let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("feedsmith"))
            .args(["--root", root.path().to_str().unwrap(), "--no-progress", "-q", "build"])
            .args(["--replay", recorded.to_str().unwrap(), "--now", NOW])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(delay);
        let _ = child.kill();
        let _ = child.wait();
        assert_intact(root.path(), &baseline, &format!("after a kill at {delay:?}"));
    }

    // And the next build still works.
    build_replay(root.path(), NOW);
    assert_intact(root.path(), &baseline, "after a final build");
}
