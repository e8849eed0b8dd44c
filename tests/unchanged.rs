//! A build on the same inputs as the last one keeps its outputs; any change of input, of the
//! state or of the output folder, or `--force`, makes a full build.

use std::os::unix::fs::MetadataExt as _;
use std::path::Path;
use std::process::Output;

use crate::util::{assert_built, feedsmith, one_list_project, plain_values, tree, write_file};

const NOW: &str = "2026-08-23T00:00:00Z";
const LATER: &str = "2026-08-24T00:00:00Z";
const STATE: &str = ".feedsmith/state";

fn build(root: &Path, extra: &[&str]) -> Output {
    let mut args = vec!["build", "--offline", "--now", NOW];
    args.extend_from_slice(extra);
    let output = feedsmith(root, &args);
    assert_built(&output);
    output
}

fn kept(output: &Output) -> bool {
    String::from_utf8_lossy(&output.stdout).contains("nothing changed")
}

/// The inode of every file of the output folder: a rewrite replaces them all (the folder is
/// built aside and swapped in).
fn inodes(site: &Path) -> Vec<(String, u64)> {
    tree(site)
        .into_keys()
        .map(|name| {
            let inode = std::fs::metadata(site.join(&name)).unwrap().ino();
            (name, inode)
        })
        .collect()
}

fn project() -> tempfile::TempDir {
    one_list_project("45.33.32.156\n93.184.216.34\n", &[("all", "types = [\"ip-dst\"]")])
}

#[test]
fn a_build_on_the_same_inputs_keeps_the_outputs_and_writes_nothing() {
    let root = project();
    let first = build(root.path(), &[]);
    assert!(!kept(&first), "a first build is a full one");
    let site = root.path().join("site");
    let before = tree(&site);
    let before_inodes = inodes(&site);
    let state_before = tree(&root.path().join(STATE));

    let second = build(root.path(), &[]);
    assert!(kept(&second), "{}", String::from_utf8_lossy(&second.stdout));
    // The summary is the first build's: one feed, read.
    let stdout = String::from_utf8_lossy(&second.stdout);
    assert!(stdout.contains("1 feeds (1 ok, 0 empty, 0 failed"), "{stdout}");
    assert_eq!(tree(&site), before);
    assert_eq!(inodes(&site), before_inodes, "an output file was rewritten");
    assert_eq!(tree(&root.path().join(STATE)), state_before, "the state was rewritten");
    assert_eq!(plain_values(&site.join("all.txt")), ["45.33.32.156", "93.184.216.34"]);
}

#[test]
fn a_full_build_on_the_same_inputs_writes_the_same_outputs() {
    // What a kept build stands for: the outputs a full one writes are the same bytes.
    let root = project();
    build(root.path(), &[]);
    let sums = std::fs::read(root.path().join("site/SHA256SUMS")).unwrap();
    let forced = build(root.path(), &["--force"]);
    assert!(!kept(&forced));
    assert_eq!(std::fs::read(root.path().join("site/SHA256SUMS")).unwrap(), sums);
}

#[test]
fn any_changed_input_makes_a_full_build() {
    let root = project();
    build(root.path(), &[]);
    let full = |root: &Path, extra: &[&str], what: &str| {
        let output = build(root, extra);
        assert!(!kept(&output), "{what}: the build kept the previous outputs");
        // And the same again is kept.
        assert!(kept(&build(root, extra)), "{what}: the same build again was not kept");
    };

    // The feed's body.
    write_file(root.path(), "list.txt", "45.33.32.156\n45.79.19.196\n");
    full(root.path(), &[], "a changed body");
    assert_eq!(plain_values(&root.path().join("site/all.txt")), ["45.33.32.156", "45.79.19.196"]);

    // A task's definition.
    write_file(
        root.path(),
        "tasks.d/all.toml",
        "name = \"all\"\ndescription = \"every address\"\n[select]\ntypes = [\"ip-dst\"]\n\
         [[outputs]]\nformat = \"plain\"\npath = \"all.txt\"\n",
    );
    full(root.path(), &[], "a changed task");

    // A file added to a definition folder: a warning list, unused or not.
    write_file(
        root.path(),
        "warninglists.d/mine.json",
        r#"{"name": "mine", "version": 1, "description": "d", "type": "cidr", "list": ["45.33.32.0/24"]}"#,
    );
    full(root.path(), &[], "an added warning list");

    // Another reference time.
    let later = feedsmith(root.path(), &["build", "--offline", "--now", LATER]);
    assert!(later.status.success());
    assert!(!kept(&later), "another --now kept the previous outputs");
}

#[test]
fn a_changed_state_or_output_folder_makes_a_full_build() {
    let root = project();
    build(root.path(), &[]);
    let site = root.path().join("site");

    // An output listed in SHA256SUMS is not re-hashed, but SHA256SUMS and report.json are.
    std::fs::write(site.join("SHA256SUMS"), "tampered\n").unwrap();
    assert!(!kept(&build(root.path(), &[])), "a changed SHA256SUMS");
    assert!(kept(&build(root.path(), &[])));

    // The output folder removed.
    std::fs::remove_dir_all(&site).unwrap();
    assert!(!kept(&build(root.path(), &[])), "a removed output folder");
    assert!(site.join("all.txt").is_file());

    // A state file changed (a restored backup, say).
    let history = root.path().join(STATE).join("history.json");
    let mut bytes = std::fs::read(&history).unwrap();
    bytes.push(b'\n');
    std::fs::write(&history, bytes).unwrap();
    assert!(!kept(&build(root.path(), &[])), "a changed state file");

    // --force.
    assert!(!kept(&build(root.path(), &["--force"])), "--force");
}

#[test]
fn a_damaged_record_is_ignored_and_a_failed_feed_is_never_kept() {
    let root = project();
    build(root.path(), &[]);
    let record = root.path().join(STATE).join("unchanged.json");
    assert!(record.is_file());
    for damaged in [&b"{not json"[..], b"{\"format\": 99}", b"", &[0xff; 64][..]] {
        std::fs::write(&record, damaged).unwrap();
        assert!(!kept(&build(root.path(), &[])), "a damaged record: {damaged:?}");
    }
    // A record in place of which is a folder.
    std::fs::remove_file(&record).unwrap();
    std::fs::create_dir(&record).unwrap();
    let output = feedsmith(root.path(), &["build", "--offline", "--now", NOW]);
    assert!(output.status.success());
    assert!(!kept(&output));
    std::fs::remove_dir(&record).unwrap();

    // A feed that cannot be read: its last good data stands in, the build says so (exit 3),
    // and no build after it is kept while it fails.
    std::fs::remove_file(root.path().join("list.txt")).unwrap();
    for _ in 0..2 {
        let output = feedsmith(root.path(), &["build", "--offline", "--now", NOW]);
        assert_eq!(output.status.code(), Some(3), "{}", String::from_utf8_lossy(&output.stderr));
        assert!(!kept(&output));
    }
}

#[test]
fn a_definition_read_through_a_symbolic_link_is_in_the_key() {
    let root = project();
    // The task's file is a link to a file outside the definition folders.
    let task = root.path().join("tasks.d/all.toml");
    std::fs::create_dir(root.path().join("mine")).unwrap();
    std::fs::rename(&task, root.path().join("mine/all.toml")).unwrap();
    std::os::unix::fs::symlink("../mine/all.toml", &task).unwrap();
    build(root.path(), &[]);
    assert!(kept(&build(root.path(), &[])));
    write_file(
        root.path(),
        "mine/all.toml",
        "name = \"all\"\n[select]\ntypes = [\"ip-dst\"]\n[[outputs]]\nformat = \"plain\"\n\
         path = \"other.txt\"\n",
    );
    assert!(!kept(&build(root.path(), &[])), "an edit through a link was not seen");
    assert!(root.path().join("site/other.txt").is_file());
}

#[test]
fn a_hostile_record_is_neither_followed_nor_printed() {
    let root = project();
    build(root.path(), &[]);
    let path = root.path().join(STATE).join("unchanged.json");
    let hostile = |change: &dyn Fn(&mut serde_json::Value)| {
        // The record the last build left is taken as it is (so only the change counts)...
        let good = std::fs::read(&path).unwrap();
        assert!(kept(&build(root.path(), &[])));
        let mut record: serde_json::Value = serde_json::from_slice(&good).unwrap();
        // ...and refused once changed.
        change(&mut record);
        std::fs::write(&path, serde_json::to_vec(&record).unwrap()).unwrap();
        let output = build(root.path(), &[]);
        assert!(!kept(&output), "a hostile record was taken: {record}");
        assert!(!String::from_utf8_lossy(&output.stdout).contains('\u{1b}'));
    };
    // A name that is not a state file (a device-like file that never ends, were it read).
    hostile(&|r| {
        let state = r["state"].as_object_mut().unwrap();
        state.remove("ledger");
        state.insert("/proc/self/pagemap".to_owned(), "00".into());
    });
    hostile(&|r| {
        r["state"].as_object_mut().unwrap().insert("ledger.prev".to_owned(), "00".into());
    });
    // A summary no clean build writes: terminal escapes, problems, impossible counts.
    hostile(&|r| r["summary"]["now"] = "\u{1b}[2J\u{1b}]0;owned\u{7}".into());
    hostile(&|r| r["summary"]["problems"] = serde_json::json!(["\u{1b}[31mfake"]));
    hostile(&|r| r["summary"]["feeds"] = u64::MAX.into());
    hostile(&|r| r["summary"]["failed"] = 1.into());
}

#[test]
fn last_good_data_removed_by_hand_makes_a_full_build_that_writes_it_again() {
    let root = project();
    build(root.path(), &[]);
    let good = root.path().join(STATE).join("good");
    let before = tree(&good);
    assert!(!before.is_empty());
    std::fs::remove_dir_all(&good).unwrap();
    assert!(!kept(&build(root.path(), &[])));
    assert_eq!(tree(&good), before);
}
