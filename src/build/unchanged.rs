//! A rebuild that would write what the output folder already holds is not run again.
//!
//! A build is a function of the program, the definitions, the options (`--now` among them),
//! every feed's fetched files with the time they are as of, and the state it starts from.
//! When a build ends cleanly (every feed read, no output failed), it records in
//! `<state>/unchanged.json` a key over all but the state, the SHA-256 of each state file it
//! saved, and of the output folder's `SHA256SUMS` and `report.json`. The next build computes
//! its key as soon as the feeds are fetched and their files hashed; when the key, the state
//! files (and the last good files' sizes and times) and those two output files are all the
//! same, the outputs it would write are the ones in place (the ledger, history and feed
//! health it would save are those saved), so it stops there: nothing is parsed, selected or
//! written. The site and `report.json` stay the last build's: their "changes since the
//! previous build" are those of the build that wrote them.
//!
//! A nightly build never matches: its `--now` moves. What matches is a build run again at the
//! same time on the same data: a re-run of a job, `build --offline --now T` after a build at
//! `T`, the benchmark's rebuild. A file of the output folder changed by hand other than those
//! two is not noticed; removing the output folder, the state or this record, or any other
//! option or definition, makes the next build a full one.
//!
//! The record is hostile input like every file a build reads back: one that is too large,
//! not JSON or of another format is ignored and the build runs in full.

use std::collections::BTreeMap;
use std::io::Read as _;
use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::{Arrived, BuildOptions, BuildSummary};
use crate::config::Project;

/// The record's file name in the state folder.
const FILE: &str = "unchanged.json";
/// The record's layout, and of the key's stream.
const FORMAT: u32 = 2;
/// The largest record read back: a key, a few digests and a summary of short lines.
const MAX_RECORD_BYTES: u64 = 4 << 20;
/// The files of the output folder whose digests are recorded: together they name every
/// output's bytes.
const OUTPUT_FILES: [&str; 2] = [crate::export::checksums::FILE_NAME, "report.json"];
/// The definition files and folders of a repository, hashed with their contents.
const DEFINITIONS: [&str; 6] = [
    crate::config::PROJECT_FILE,
    crate::config::FEEDS_DIR,
    crate::config::DECAY_DIR,
    crate::config::TASKS_DIR,
    crate::config::WARNINGLISTS_DIR,
    "templates",
];

/// What a clean build leaves for the next one to compare with.
#[derive(Debug, Serialize, Deserialize)]
struct Record {
    format: u32,
    /// [`key`], hex.
    key: String,
    /// SHA-256 of each state file as saved, hex, by name.
    state: BTreeMap<String, String>,
    /// SHA-256 of each of [`OUTPUT_FILES`], hex, by name.
    output: BTreeMap<String, String>,
    /// [`good_listing`].
    good: Vec<(String, u64, i128)>,
    /// What the build said, said again by a build that stops here.
    summary: BuildSummary,
}

/// The key of this build: everything its outputs depend on but the state. `None` when a
/// feed could not be fetched (its last good data and health would decide, and they are not
/// in the key).
pub(super) fn key(
    project: &Project,
    options: &BuildOptions,
    arrived: &[Arrived],
) -> Option<String> {
    let mut hash = Sha256::new();
    let mut field = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    field(b"feedsmith build");
    field(&FORMAT.to_le_bytes());
    field(env!("CARGO_PKG_VERSION").as_bytes());
    field(env!("FEEDSMITH_SOURCE_DIGEST").as_bytes());
    field(&options.now.to_le_bytes());
    field(format!("{:?}", (&options.fetch, &options.output_dir, &options.state_from)).as_bytes());
    field(format!("{:?}", project.settings).as_bytes());
    let mut files = Vec::new();
    for name in DEFINITIONS {
        definition_files(&project.root.join(name), &mut files);
    }
    files.sort();
    for path in &files {
        field(path.strip_prefix(&project.root).unwrap_or(path).to_string_lossy().as_bytes());
        // A file that cannot be read is a different input from any bytes it could hold; a
        // device or a pipe is not read (the loader refuses it too).
        match crate::fs::open_regular(path).and_then(|mut file| {
            let mut bytes = Vec::new();
            file.read_to_end(&mut bytes).map(|_| bytes)
        }) {
            Ok(bytes) => field(&bytes),
            Err(e) => field(format!("unreadable: {e}").as_bytes()),
        }
    }
    for feed in arrived {
        let (Ok(fetched), Some((_, _, parse_key))) = (&feed.fetched, &feed.files) else {
            return None;
        };
        field(project.feeds[feed.index].id.as_bytes());
        field(parse_key.as_bytes());
        field(format!("{:?}", (fetched.as_of, fetched.origin, fetched.http_status)).as_bytes());
    }
    Some(hex::encode(hash.finalize()))
}

/// Every file under `path` (itself when it is one), through symbolic links as the loader
/// reads them: a linked model or task is hashed with the bytes it links to. A folder linked
/// into itself is entered once.
fn definition_files(path: &Path, files: &mut Vec<std::path::PathBuf>) {
    let mut entered = std::collections::HashSet::new();
    walk(path, files, &mut entered);
}

fn walk(
    path: &Path,
    files: &mut Vec<std::path::PathBuf>,
    entered: &mut std::collections::HashSet<std::path::PathBuf>,
) {
    let Ok(meta) = std::fs::metadata(path) else {
        // A dangling link or an unreadable entry is still an input: its name is hashed.
        if std::fs::symlink_metadata(path).is_ok() {
            files.push(path.to_owned());
        }
        return;
    };
    if !meta.is_dir() {
        files.push(path.to_owned());
        return;
    }
    let Ok(real) = std::fs::canonicalize(path) else { return };
    if !entered.insert(real) {
        return;
    }
    let Ok(entries) = std::fs::read_dir(path) else { return };
    for entry in entries.flatten() {
        walk(&entry.path(), files, entered);
    }
}

/// The summary of the build recorded under `key`, when the state and the output folder are
/// still what it left. The record is not trusted beyond that: only the state files and the
/// output files a build records are hashed, whatever names it holds, and its summary must
/// be one a clean build of `expected`'s shape writes (it is printed and gives the exit code).
pub(super) fn check(
    state_dir: &Path,
    output_dir: &Path,
    key: &str,
    expected: &Expected,
) -> Option<BuildSummary> {
    let record = read(state_dir)?;
    if record.key != key {
        tracing::debug!("The inputs changed since the last build; building");
        return None;
    }
    let same = |dir: &Path, names: &[&str], digests: &BTreeMap<String, String>| {
        digests.len() == names.len()
            && names.iter().all(|name| {
                digests
                    .get(*name)
                    .is_some_and(|digest| digest_of(&dir.join(name)).as_ref() == Some(digest))
            })
    };
    if !same(state_dir, &STATE_FILES, &record.state) || record.good != good_listing(state_dir) {
        tracing::debug!("The state changed since the last build; building");
        return None;
    }
    if !same(output_dir, &OUTPUT_FILES, &record.output) {
        tracing::debug!("The output folder changed since the last build; building");
        return None;
    }
    let summary = record.summary;
    let clean = summary.problems.is_empty()
        && summary.failed == 0
        && summary.stale == 0
        && summary.failed_outputs == 0
        && summary.ok.checked_add(summary.empty) == Some(expected.feeds)
        && summary.feeds == expected.feeds
        && summary.tasks == expected.tasks
        && summary.outputs == expected.outputs
        && summary.now == expected.now;
    if !clean {
        tracing::debug!("The record of the last build is not one a clean build writes; building");
        return None;
    }
    Some(summary)
}

/// What the summary of a clean build on the same inputs says, for [`check`].
pub(super) struct Expected {
    /// The build time, RFC 3339.
    pub(super) now: String,
    /// Enabled feeds.
    pub(super) feeds: usize,
    /// Tasks.
    pub(super) tasks: usize,
    /// Outputs over every task.
    pub(super) outputs: usize,
}

/// The state files a build saves, and `unchanged.json` compares.
const STATE_FILES: [&str; 3] = super::state::FILES;

/// Each last good file of the state folder (`good/`): its path, size and modification time.
/// They stand in when a feed fails, which a kept build does not rewrite: one removed or
/// changed by hand makes the next build a full one, which writes them again.
fn good_listing(state_dir: &Path) -> Vec<(String, u64, i128)> {
    fn walk(dir: &Path, base: &Path, out: &mut Vec<(String, u64, i128)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.flatten() {
            let path = entry.path();
            let Ok(meta) = std::fs::symlink_metadata(&path) else { continue };
            if meta.is_dir() {
                walk(&path, base, out);
                continue;
            }
            let modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(-1, |d| i128::try_from(d.as_nanos()).unwrap_or(i128::MAX));
            let name = path.strip_prefix(base).unwrap_or(&path).to_string_lossy().into_owned();
            out.push((name, meta.len(), modified));
        }
    }
    let good = state_dir.join("good");
    let mut listing = Vec::new();
    walk(&good, &good, &mut listing);
    listing.sort();
    listing
}

/// Removes the record: the state or the output folder is about to change.
pub(super) fn forget(state_dir: &Path) {
    match std::fs::remove_file(state_dir.join(FILE)) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => tracing::warn!(error = %e, "Could not remove the record of the last build"),
    }
}

/// Records a build that ended cleanly; a build with a failed feed or output is not recorded,
/// so the next one runs in full.
/// `state` is the SHA-256 of each state file as saved (hashed when it was encoded).
pub(super) fn record(
    state_dir: &Path,
    output_dir: &Path,
    key: &str,
    state: &BTreeMap<String, String>,
    summary: &BuildSummary,
) {
    if !summary.problems.is_empty() {
        return;
    }
    let output: Option<BTreeMap<String, String>> = OUTPUT_FILES
        .iter()
        .map(|name| Some(((*name).to_owned(), digest_of(&output_dir.join(name))?)))
        .collect();
    let Some(output) = output else { return };
    let record = Record {
        format: FORMAT,
        key: key.to_owned(),
        state: state.clone(),
        output,
        good: good_listing(state_dir),
        summary: summary.clone(),
    };
    let bytes = serde_json::to_vec_pretty(&record).unwrap_or_default();
    if let Err(e) = crate::fs::write_atomic(&state_dir.join(FILE), &bytes) {
        tracing::warn!(error = %e, "Could not record the build; the next one runs in full");
    }
}

fn read(state_dir: &Path) -> Option<Record> {
    let path = state_dir.join(FILE);
    let file = crate::fs::open_regular(&path).ok()?;
    let mut bytes = Vec::new();
    if file.take(MAX_RECORD_BYTES + 1).read_to_end(&mut bytes).is_err()
        || bytes.len() as u64 > MAX_RECORD_BYTES
    {
        tracing::debug!(path = %path.display(), "The record of the last build is unreadable");
        return None;
    }
    crate::fs::read_versioned_json(&bytes, FORMAT, "record of a build")
        .inspect_err(|why| tracing::debug!(why, "The record of the last build is not used"))
        .ok()
}

/// SHA-256 of a regular file, hex; `None` when it is missing, not a regular file, or
/// unreadable.
fn digest_of(path: &Path) -> Option<String> {
    let mut file = crate::fs::open_regular(path).ok()?;
    let mut hash = Sha256::new();
    let mut buffer = vec![0; 1 << 20];
    loop {
        match file.read(&mut buffer) {
            Ok(0) => return Some(hex::encode(hash.finalize())),
            Ok(read) => hash.update(&buffer[..read]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return None,
        }
    }
}
