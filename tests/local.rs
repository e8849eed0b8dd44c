//! Local feed files stay inside the repository, even through symbolic links.
//!
//! A pull request can add a symbolic link as easily as a file. A link inside a MISP feed
//! folder that points at `/proc/self/environ` or another file of the build machine must not
//! get its bytes into the report or the site as rejected lines or error messages.

use std::path::Path;

use crate::util::{feed, feedsmith};

const SECRET: &str = "FEEDSMITH_TEST_SECRET_7f3a9c";

/// A repository with one MISP feed read from `data/misp`, and a task writing everything.
fn misp_project() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for folder in ["feeds.d", "tasks.d", "data/misp"] {
        std::fs::create_dir_all(root.path().join(folder)).unwrap();
    }
    std::fs::write(
        root.path().join("feeds.d/linked.toml"),
        "name = \"linked\"\nprovider = \"test\"\npath = \"data/misp\"\nformat = \"misp\"\n",
    )
    .unwrap();
    std::fs::write(
        root.path().join("tasks.d/all.toml"),
        "name = \"all\"\n[select]\nexclude_reserved = false\n[[outputs]]\nformat = \"plain\"\npath = \"all.txt\"\n",
    )
    .unwrap();
    root
}

/// The project of [`misp_project`], its feed `linked` reading `list.txt` as free text instead.
fn text_project() -> tempfile::TempDir {
    let root = misp_project();
    std::fs::write(root.path().join("list.txt"), "c2.example\n").unwrap();
    std::fs::write(
        root.path().join("feeds.d/linked.toml"),
        "name = \"linked\"\nprovider = \"test\"\npath = \"list.txt\"\nformat = \"freetext\"\n",
    )
    .unwrap();
    root
}

/// A file outside the repository that holds the secret, as JSON and as text.
fn outside_secret() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("secret.json"), format!("{{\"{SECRET}\": {{}}}}")).unwrap();
    dir
}

/// Every file below `dir`, as text, with the path of the first one holding `needle`.
fn find_in_files(dir: &Path, needle: &str) -> Option<String> {
    for entry in std::fs::read_dir(dir).ok()? {
        let path = entry.ok()?.path();
        if path.is_dir() {
            if let Some(found) = find_in_files(&path, needle) {
                return Some(found);
            }
        } else if String::from_utf8_lossy(&std::fs::read(&path).unwrap()).contains(needle) {
            return Some(path.display().to_string());
        }
    }
    None
}

#[test]
fn a_link_out_of_a_misp_folder_fails_the_feed_and_its_bytes_are_never_shown() {
    let root = misp_project();
    let outside = outside_secret();
    std::os::unix::fs::symlink(
        outside.path().join("secret.json"),
        root.path().join("data/misp/manifest.json"),
    )
    .unwrap();

    let output = feedsmith(root.path(), &["build", "--now", "2026-08-23T00:00:00Z"]);
    assert_eq!(output.status.code(), Some(3), "a failed feed is exit 3");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.path().join("site/report.json")).unwrap())
            .unwrap();
    let linked = feed(&report, "linked");
    assert_eq!(linked["status"], "error");
    assert_eq!(linked["reason"], "outside_repository");
    assert_eq!(find_in_files(&root.path().join("site"), SECRET), None);
    let printed = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(!printed.contains(SECRET), "the log shows the linked file's bytes");
}

#[test]
fn a_link_to_an_event_file_outside_is_refused_and_the_other_events_still_load() {
    let root = misp_project();
    let outside = outside_secret();
    let good = "5f0c2a6e-1b2d-4c3e-8f9a-0b1c2d3e4f50";
    let linked = "6a1d3b7f-2c3e-4d4f-9a0b-1c2d3e4f5061";
    std::fs::write(
        root.path().join("data/misp/manifest.json"),
        format!("{{\"{good}\": {{}}, \"{linked}\": {{}}}}"),
    )
    .unwrap();
    std::fs::write(
        root.path().join(format!("data/misp/{good}.json")),
        format!(
            "{{\"Event\": {{\"uuid\": \"{good}\", \"info\": \"x\", \"Attribute\": [\
             {{\"type\": \"ip-dst\", \"value\": \"192.0.2.7\", \"to_ids\": true, \
             \"uuid\": \"7b2e4c80-3d4f-4e50-8b1c-2d3e4f506172\", \"timestamp\": \"1786000000\"}}]}}}}"
        ),
    )
    .unwrap();
    std::os::unix::fs::symlink(
        outside.path().join("secret.json"),
        root.path().join(format!("data/misp/{linked}.json")),
    )
    .unwrap();

    let output = feedsmith(root.path(), &["build", "--now", "2026-08-23T00:00:00Z"]);
    assert!(matches!(output.status.code(), Some(0 | 3)), "{output:?}");
    let all = std::fs::read_to_string(root.path().join("site/all.txt")).unwrap();
    assert!(all.lines().any(|l| l == "192.0.2.7"), "the good event's value is written");
    assert_eq!(find_in_files(&root.path().join("site"), SECRET), None);
}

#[test]
fn a_link_that_stays_inside_the_repository_is_followed() {
    let root = misp_project();
    let uuid = "5f0c2a6e-1b2d-4c3e-8f9a-0b1c2d3e4f50";
    std::fs::write(root.path().join("data/manifest.json"), format!("{{\"{uuid}\": {{}}}}"))
        .unwrap();
    std::os::unix::fs::symlink("../manifest.json", root.path().join("data/misp/manifest.json"))
        .unwrap();
    std::fs::write(
        root.path().join(format!("data/misp/{uuid}.json")),
        format!(
            "{{\"Event\": {{\"uuid\": \"{uuid}\", \"info\": \"x\", \"Attribute\": [\
             {{\"type\": \"domain\", \"value\": \"c2.example\", \"to_ids\": true, \
             \"uuid\": \"7b2e4c80-3d4f-4e50-8b1c-2d3e4f506172\", \"timestamp\": \"1786000000\"}}]}}}}"
        ),
    )
    .unwrap();
    let output = feedsmith(root.path(), &["build", "--now", "2026-08-23T00:00:00Z"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let all = std::fs::read_to_string(root.path().join("site/all.txt")).unwrap();
    assert!(all.lines().any(|l| l == "c2.example"));
}

#[test]
fn a_local_file_reports_no_http_status() {
    let root = text_project();
    let output = feedsmith(root.path(), &["build", "--now", "2026-08-23T00:00:00Z"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.path().join("site/report.json")).unwrap())
            .unwrap();
    let linked = feed(&report, "linked");
    assert_eq!(linked["origin"], "local");
    assert_eq!(linked["http_status"], serde_json::Value::Null);
    let page = std::fs::read_to_string(root.path().join("site/feeds/linked.html")).unwrap();
    assert!(!page.contains("HTTP 200"), "{page}");
}

#[test]
fn the_published_report_names_no_folder_of_the_build_machine() {
    let root = text_project();
    // A first build has no state yet, which the report notes, naming the state folder.
    let output = feedsmith(root.path(), &["build", "--now", "2026-08-23T00:00:00Z"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let machine = root.path().canonicalize().unwrap().display().to_string();
    let report = std::fs::read_to_string(root.path().join("site/report.json")).unwrap();
    assert!(
        report.contains("no state in `.feedsmith/state`"),
        "the note this test is about: {report}"
    );
    assert_eq!(find_in_files(&root.path().join("site"), &machine), None);
}
