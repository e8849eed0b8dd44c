//! Helpers shared by the integration tests.

use std::path::{Path, PathBuf};
use std::process::Output;

use assert_cmd::Command;

/// The repository root (where Cargo.toml is).
pub(crate) fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The recorded responses folder.
pub(crate) fn recorded() -> PathBuf {
    repo().join("tests/fixtures/recorded")
}

/// Copies the repository's definitions (not its cache, state or site) into a fresh folder.
pub(crate) fn copy_root_definitions() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::copy(repo().join("feedsmith.toml"), dir.path().join("feedsmith.toml")).unwrap();
    for folder in ["feeds.d", "decay.d", "tasks.d", "warninglists.d"] {
        copy_dir(&repo().join(folder), &dir.path().join(folder));
    }
    dir
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

/// Runs `feedsmith` with `args` inside `root`.
pub(crate) fn feedsmith(root: &Path, args: &[&str]) -> Output {
    Command::cargo_bin("feedsmith")
        .expect("binary")
        .arg("--root")
        .arg(root)
        .arg("--no-progress")
        .args(args)
        .env_remove("GITHUB_ACTIONS")
        .output()
        .expect("run feedsmith")
}

/// Builds `root` from the recorded responses at `now` into `root/site`; panics on failure.
pub(crate) fn build_replay(root: &Path, now: &str) -> serde_json::Value {
    let recorded = recorded();
    let output = feedsmith(root, &["build", "--replay", recorded.to_str().unwrap(), "--now", now]);
    assert!(
        output.status.success(),
        "build failed ({:?})\nstdout:\n{}\nstderr:\n{}",
        output.status.code(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let report = std::fs::read(root.join("site/report.json")).expect("report.json");
    serde_json::from_slice(&report).expect("report.json parses")
}

/// The data lines (not `#` header lines) of a plain output.
pub(crate) fn plain_values(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.starts_with('#'))
        .map(str::to_owned)
        .collect()
}

/// The report entry of one feed.
pub(crate) fn feed<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["feeds"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == id)
        .unwrap_or_else(|| panic!("feed {id} not in the report"))
}
