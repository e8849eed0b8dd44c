//! The state a build hands to the next: the ledger of first and last seen, the history of
//! counts and the feeds' health; where it is kept, how it is published with the site, and how
//! it is recovered when the state folder is damaged or gone.
//!
//! Each file lives in the state folder and is replaced atomically, the file it replaces kept
//! as `<name>.prev`. Every build also publishes a copy of the three under `state/` in its
//! output folder, with `state/manifest.json` giving each file's size and SHA-256. A file that
//! is missing or does not load is recovered, in this order, from:
//!
//! 1. its previous copy, `<name>.prev`;
//! 2. the state published at `--state-from` (the URL of the site, or a folder);
//! 3. the state published in the output folder of the last build on this machine.
//!
//! A published file is used only when its size and SHA-256 are those of its manifest and it
//! loads. The build's notes say what was wrong and where each recovered file came from, so a
//! fresh CI machine carries the history on, and says so.

use std::collections::BTreeMap;
use std::fmt::{self, Write as _};
use std::io::Read as _;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

use super::Health;
use crate::config::Settings;
use crate::fetch::{Cache, Fetcher, Mode};
use crate::history::{BuildCounts, FeedCounts, History, TaskCounts};
use crate::ledger::Ledger;
use crate::report::BuildReport;

/// The folder of the output that holds the published state.
pub(super) const PUBLISHED_DIR: &str = "state";
/// The published state's list of files, sizes and checksums.
pub(super) const MANIFEST: &str = "manifest.json";
/// The layout version of the manifest, written as its `format` key.
pub(super) const MANIFEST_FORMAT: u32 = 1;

/// The ledger's file name, in the state folder and in the published state.
const LEDGER: &str = "ledger";
/// The history's file name.
const HISTORY: &str = "history.json";
/// The feeds' health's file name.
const HEALTH: &str = "feeds.json";
/// The files a build saves in the state folder.
pub(super) const FILES: [&str; 3] = [LEDGER, HISTORY, HEALTH];

/// The largest manifest read: it lists three files.
const MAX_MANIFEST_BYTES: u64 = 1024 * 1024;
/// The largest published file accepted unless `[fetch] max_body_bytes` is larger, whatever a
/// manifest says: the file is held in memory whole, and a ledger of ten million entries
/// takes about 200 MB.
const MAX_FILE_BYTES: u64 = 1024 * 1024 * 1024;
/// The most characters of a manifest's `built` time that a note quotes.
const SHOWN_BUILT_CHARS: usize = 40;

/// Where a previous build's published state can be read.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StateSource {
    /// The URL of the published site (or of its `state/` folder, or of the manifest itself).
    Url(String),
    /// A folder holding a built site (or its `state/` folder).
    Path(PathBuf),
}

impl StateSource {
    /// Reads `--state-from`: an `http://` or `https://` URL, otherwise a path. Refuses an
    /// empty value and a URL of another scheme (`file://`, `ftp://`: give the folder itself).
    pub fn parse(text: &str) -> Result<StateSource, String> {
        let lower = text.to_ascii_lowercase();
        if text.trim().is_empty() {
            return Err("`--state-from` is empty: give the site's URL or a folder".to_owned());
        }
        if lower.starts_with("http://") || lower.starts_with("https://") {
            return reqwest::Url::parse(text).map(|_| StateSource::Url(text.to_owned())).map_err(
                |e| format!("`--state-from {}` is not a URL: {e}", crate::text::shown(text, 80)),
            );
        }
        if let Some((scheme, _)) = text.split_once("://")
            && !scheme.is_empty()
            && scheme.chars().all(|c| c.is_ascii_alphanumeric() || "+.-".contains(c))
        {
            return Err(format!(
                "`--state-from` reads http(s) URLs and folders, not `{}://`; give a folder \
                 as a path",
                crate::text::shown(scheme, 20)
            ));
        }
        Ok(StateSource::Path(PathBuf::from(text)))
    }
}

impl fmt::Display for StateSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StateSource::Url(url) => write!(f, "{url}"),
            StateSource::Path(path) => write!(f, "`{}`", path.display()),
        }
    }
}

/// The manifest of a published state.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    /// The layout version, [`MANIFEST_FORMAT`].
    pub format: u32,
    /// The time of the build that published it, RFC 3339.
    pub built: String,
    /// The same time, Unix seconds.
    pub built_unix: i64,
    /// Per file name.
    pub files: BTreeMap<String, PublishedFile>,
}

/// One published file's size and checksum.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PublishedFile {
    /// Size in bytes.
    pub bytes: u64,
    /// SHA-256 of the bytes, lower-case hex.
    pub sha256: String,
}

/// The state as loaded at the start of a build.
#[derive(Debug, Default)]
pub(super) struct State {
    /// First and last seen of every feed and indicator.
    pub(super) ledger: Ledger,
    /// Counts of the previous builds.
    pub(super) history: History,
    /// Every feed's health.
    pub(super) health: Health,
    /// What loading said: damage found, and where recovered files came from.
    pub(super) notes: Vec<String>,
    /// The state files that were there but could not be used.
    pub(super) damaged: Vec<&'static str>,
}

/// The bytes of the state after a build, to save and to publish.
pub(super) struct Encoded {
    files: [(&'static str, Vec<u8>); 3],
    /// Each file's SHA-256, lower-case hex, by name: for the published manifest and the
    /// record of the build (`unchanged.json`).
    sha256s: BTreeMap<String, String>,
}

impl Encoded {
    /// Encodes the three files once, for both uses, and hashes them.
    #[must_use]
    pub(super) fn new(ledger: &Ledger, history: &History, health: &Health) -> Encoded {
        let files = [
            (LEDGER, ledger.to_bytes()),
            (HISTORY, history.to_bytes()),
            (HEALTH, health_bytes(health)),
        ];
        let sha256s = files
            .iter()
            .map(|(name, bytes)| ((*name).to_owned(), hex::encode(Sha256::digest(bytes))))
            .collect();
        Encoded { files, sha256s }
    }

    /// Each file's SHA-256, lower-case hex, by name.
    pub(super) fn sha256s(&self) -> &BTreeMap<String, String> {
        &self.sha256s
    }

    /// Writes the files and their manifest under `state/` in `output` (the staging folder).
    pub(super) fn publish(
        &self,
        output: &Path,
        now: i64,
    ) -> Result<(), crate::export::ExportError> {
        let dir = output.join(PUBLISHED_DIR);
        let mut files = BTreeMap::new();
        for (name, bytes) in &self.files {
            crate::export::write_file(&dir.join(name), bytes)?;
            let sha256 = self.sha256s[*name].clone();
            files.insert((*name).to_owned(), PublishedFile { bytes: bytes.len() as u64, sha256 });
        }
        let manifest = Manifest {
            format: MANIFEST_FORMAT,
            built: crate::export::rfc3339(now),
            built_unix: now,
            files,
        };
        let mut bytes = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
        bytes.push(b'\n');
        crate::export::write_file(&dir.join(MANIFEST), &bytes)
    }

    /// Replaces each file in the state folder, keeping the replaced one as `<name>.prev`; a
    /// file that cannot be written is logged, and the next build recovers it.
    ///
    /// A file of `damaged` is moved aside to `<name>.damaged` first (for a look at what
    /// happened), so that the good `<name>.prev` it was recovered from stays. Returns whether
    /// every file was written.
    pub(super) fn save(&self, state_dir: &Path, damaged: &[&str]) -> bool {
        let mut saved = true;
        for (name, bytes) in &self.files {
            let path = state_dir.join(name);
            if damaged.contains(name) {
                let aside = state_dir.join(format!("{name}.damaged"));
                if let Err(e) = std::fs::rename(&path, &aside) {
                    tracing::warn!(path = %path.display(), error = %e, "Could not move a damaged state file aside");
                }
            }
            if let Err(e) = crate::fs::replace_keeping_previous(&path, bytes) {
                tracing::warn!(path = %path.display(), error = %e, "Could not save the state");
                saved = false;
            }
        }
        saved
    }
}

/// The bytes of `feeds.json`.
pub(super) fn health_bytes(health: &Health) -> Vec<u8> {
    let mut health = health.clone();
    health.version = HEALTH_FORMAT;
    let mut bytes = serde_json::to_vec_pretty(&health).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Writes `feeds.json` alone (a build that stops before its outputs still records the
/// feeds' failures).
pub(super) fn save_health(state_dir: &Path, health: &Health) {
    let path = state_dir.join(HEALTH);
    if let Err(e) = crate::fs::replace_keeping_previous(&path, &health_bytes(health)) {
        tracing::warn!(path = %path.display(), error = %e, "Could not save feed health");
    }
}

/// Loads the state of `settings.state_dir`, recovering each file that is missing or damaged
/// from its previous copy, the state published at `given` (`--state-from`) and the one in
/// the output folder `output` (see the module's documentation).
#[must_use]
pub(super) fn load(settings: &Settings, given: Option<&StateSource>, output: &Path) -> State {
    let mut sources: Vec<StateSource> = given.into_iter().cloned().collect();
    sources.push(StateSource::Path(output.to_owned()));
    let mut published = Published::new(settings, &sources, usize::from(given.is_some()));
    let dir = &settings.state_dir;
    let ledger = recover(dir, &LEDGER_FILE, &mut published);
    let history = recover(dir, &HISTORY_FILE, &mut published);
    let health = recover(dir, &HEALTH_FILE, &mut published);
    let mut notes = Vec::new();
    if ledger.first_build() && history.first_build() && health.first_build() {
        let note = format!(
            "no state in `{}` (a first build, or a state folder that was removed){}; \
             starting afresh",
            dir.display(),
            published.tried()
        );
        tracing::info!("{note}");
        notes.push(note);
    } else {
        notes.extend(ledger.note);
        notes.extend(history.note);
        notes.extend(health.note);
    }
    let damaged = [(LEDGER, ledger.damaged), (HISTORY, history.damaged), (HEALTH, health.damaged)]
        .into_iter()
        .filter_map(|(name, damaged)| damaged.then_some(name))
        .collect();
    State {
        ledger: ledger.value.unwrap_or_default(),
        history: history.value.unwrap_or_default(),
        health: health.value.unwrap_or_default(),
        notes,
        damaged,
    }
}

/// This build's counts, for the history.
#[must_use]
pub(super) fn counts(report: &BuildReport) -> BuildCounts {
    let feeds = report
        .feeds
        .iter()
        .map(|feed| {
            let counts = FeedCounts {
                status: feed.status.as_str().to_owned(),
                stale: feed.stale,
                indicators: feed.indicators,
                by_type: feed.by_type.clone(),
            };
            (feed.id.clone(), counts)
        })
        .collect();
    let tasks = report
        .tasks
        .iter()
        .map(|task| {
            let counts = TaskCounts {
                selected: task.selected,
                expired: task.expired,
                warninglisted: task.warninglisted,
                by_type: task.by_type.clone(),
            };
            (task.id.clone(), counts)
        })
        .collect();
    BuildCounts {
        now: report.now.clone(),
        now_unix: report.now_unix,
        feeds,
        by_type: report.by_type.clone(),
        tasks,
    }
}

/// The folder a build reads the previous build's outputs from: the output folder, unless it
/// lacks one of the MISP feed folders `misp_paths` and `--state-from` names the published
/// site. Then a temporary folder is filled with the feed folders, each copied from the
/// output folder when it is there and fetched from the site when not, and returned instead
/// (kept until the caller drops it); with the notes that say so. A MISP feed carries its events, timestamps and revocations forward from
/// the previous build's files, so a fresh machine must not start it afresh.
pub(super) fn previous_outputs(
    settings: &Settings,
    given: Option<&StateSource>,
    output_dir: &Path,
    misp_paths: &[&str],
) -> (PathBuf, Option<tempfile::TempDir>, Vec<String>) {
    let has = |path: &str| output_dir.join(path).join(MANIFEST).is_file();
    let Some(given) = given.filter(|_| misp_paths.iter().any(|p| !has(p))) else {
        return (output_dir.to_owned(), None, Vec::new());
    };
    let scratch = match tempfile::tempdir() {
        Ok(scratch) => scratch,
        Err(e) => {
            let note =
                format!("no temporary folder for the previous MISP feeds ({e}); they start afresh");
            tracing::warn!("{note}");
            return (output_dir.to_owned(), None, vec![note]);
        }
    };
    let site = site_root(given);
    let mut published = Published::new(settings, std::slice::from_ref(&site), 1);
    let mut notes = Vec::new();
    for path in misp_paths {
        let into = scratch.path().join(path);
        let copied = if has(path) {
            copy_misp_folder(&StateSource::Path(output_dir.join(path)), &into, &mut published)
        } else {
            let from = join_source(&site, path);
            let copied = copy_misp_folder(&from, &into, &mut published);
            notes.push(match &copied {
                Ok(events) => format!(
                    "the MISP feed `{path}` was not in the output folder; its previous events \
                     ({events}) were read from the site published at {site}"
                ),
                Err(why) => format!(
                    "the MISP feed `{path}` was not in the output folder, nor at {site} ({why}); \
                     it starts afresh"
                ),
            });
            copied
        };
        if let Err(why) = copied {
            tracing::warn!(path, "The previous MISP feed cannot be read: {why}");
        }
    }
    (scratch.path().to_owned(), Some(scratch), notes)
}

/// The root of the published site that `given` names: the place itself, or the folder above
/// when it names the site's `state/` folder or a manifest in it.
fn site_root(given: &StateSource) -> StateSource {
    match given {
        StateSource::Path(path) => {
            let mut root = path.as_path();
            if root.ends_with(MANIFEST) {
                root = root.parent().unwrap_or(Path::new("."));
            }
            if root.ends_with(PUBLISHED_DIR) {
                root = root.parent().unwrap_or(Path::new("."));
            }
            StateSource::Path(root.to_owned())
        }
        StateSource::Url(url) => {
            let mut root = url.split(['?', '#']).next().unwrap_or(url);
            root = root.strip_suffix(MANIFEST).unwrap_or(root).trim_end_matches('/');
            root = root.strip_suffix(PUBLISHED_DIR).unwrap_or(root).trim_end_matches('/');
            StateSource::Url(format!("{root}/"))
        }
    }
}

/// `path` under a folder or URL prefix, as a prefix itself.
fn join_source(base: &StateSource, path: &str) -> StateSource {
    match base {
        StateSource::Path(dir) => StateSource::Path(dir.join(path)),
        StateSource::Url(prefix) => StateSource::Url(format!("{prefix}{path}/")),
    }
}

/// Copies a MISP feed folder's manifest and the event files it names into `into`; how many
/// events it copied. Only canonical UUIDs name files; each file is held to the state's limit.
fn copy_misp_folder(
    from: &StateSource,
    into: &Path,
    published: &mut Published<'_>,
) -> Result<usize, String> {
    let limit = MAX_FILE_BYTES.max(published.settings.max_body_bytes);
    let (manifest, _) = published.read(from, MANIFEST, limit)?;
    #[expect(clippy::zero_sized_map_values, reason = "only the manifest's keys are read")]
    let keys: BTreeMap<String, serde::de::IgnoredAny> = serde_json::from_slice(&manifest)
        .map_err(|e| format!("its manifest is not a MISP manifest: {e}"))?;
    let write = |name: &str, bytes: &[u8]| {
        crate::fs::write_atomic(&into.join(name), bytes)
            .map_err(|e| format!("cannot write `{}`: {e}", into.join(name).display()))
    };
    write(MANIFEST, &manifest)?;
    let mut copied = 0;
    for key in keys.keys() {
        let canonical = uuid::Uuid::parse_str(key).map(|u| u.to_string()).ok();
        if canonical.as_deref() != Some(key.as_str()) {
            continue;
        }
        let name = format!("{key}.json");
        // An event that cannot be read is left for the feed writer to report.
        if let Ok((bytes, _)) = published.read(from, &name, limit) {
            write(&name, &bytes)?;
            copied += 1;
        }
    }
    Ok(copied)
}

/// One kind of state file: its name, what it is called in notes, how it is read, and how
/// two recovered copies are combined so that neither loses what it knew.
struct Kind<T> {
    file: &'static str,
    what: &'static str,
    parse: fn(&[u8], &str) -> Result<T, String>,
    combine: fn(&mut T, T),
}

const LEDGER_FILE: Kind<Ledger> = Kind {
    file: LEDGER,
    what: "ledger",
    parse: |bytes, origin| Ledger::from_bytes(bytes, origin).map_err(|e| e.to_string()),
    // Times only ever widen, so the union of two copies is what both builds saw.
    combine: |ledger, other| {
        for (feed, indicator, seen) in other.iter() {
            ledger.merge(feed, indicator, seen);
        }
    },
};

const HISTORY_FILE: Kind<History> = Kind {
    file: HISTORY,
    what: "history",
    parse: |bytes, origin| History::from_bytes(bytes, origin).map_err(|e| e.to_string()),
    combine: History::absorb,
};

const HEALTH_FILE: Kind<Health> = Kind {
    file: HEALTH,
    what: "feed health",
    parse: |bytes, origin| {
        parse_health(bytes).map_err(|e| format!("the feed health `{origin}` is corrupt: {e}"))
    },
    // Per feed, the copy that knows of the later build.
    combine: |health, other| {
        let latest = |h: &super::FeedHealth| h.last_success.max(h.failing_since);
        for (feed, theirs) in other.feeds {
            match health.feeds.get(&feed) {
                Some(ours) if latest(ours) >= latest(&theirs) => {}
                _ => {
                    health.feeds.insert(feed, theirs);
                }
            }
        }
    },
};

/// The layout version of `feeds.json`, written as its `version` key.
const HEALTH_FORMAT: u32 = 1;

/// Reads `feeds.json`, refusing a later layout and times that no build can have written (a
/// last success in the year 292 billion would let a feed's last good data stand in for ever).
fn parse_health(bytes: &[u8]) -> Result<Health, String> {
    let health: Health = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
    if health.version > HEALTH_FORMAT {
        return Err(format!(
            "unknown version `{}` (this feedsmith reads version {HEALTH_FORMAT})",
            health.version
        ));
    }
    for (feed, entry) in &health.feeds {
        for (key, time) in
            [("last_success", entry.last_success), ("failing_since", entry.failing_since)]
        {
            if let Some(time) = time
                && time::OffsetDateTime::from_unix_timestamp(time).is_err()
            {
                return Err(format!(
                    "feed `{}`: `{key}` {time} is not a time (Unix seconds of the years -9999 to \
                     9999)",
                    crate::text::shown(feed, SHOWN_BUILT_CHARS)
                ));
            }
        }
    }
    Ok(health)
}

/// What recovering one file gave.
struct Recovered<T> {
    value: Option<T>,
    note: Option<String>,
    /// Nothing anywhere, not even a damaged file: the state of a first build.
    nowhere: bool,
    /// The state folder's file is there but cannot be used.
    damaged: bool,
}

impl<T> Recovered<T> {
    fn first_build(&self) -> bool {
        self.value.is_none() && self.nowhere
    }
}

/// Why a local copy could not be used.
struct Problem {
    missing: bool,
    text: String,
}

/// Reads and parses a local state file.
fn read_local<T>(path: &Path, kind: &Kind<T>) -> Result<T, Problem> {
    let read = crate::fs::open_regular(path).and_then(|mut file| {
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map(|_| bytes)
    });
    match read {
        Ok(bytes) => (kind.parse)(&bytes, &path.display().to_string())
            .map_err(|text| Problem { missing: false, text }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Problem {
            missing: true,
            text: format!("no {} at `{}`", kind.what, path.display()),
        }),
        Err(e) => Err(Problem {
            missing: false,
            text: format!("cannot read the {} `{}`: {e}", kind.what, path.display()),
        }),
    }
}

/// Loads one file from the state folder or, when it is missing or damaged, combines every
/// good copy of it: the previous copy and each published one. Each copy may know of a build
/// the others missed (the previous copy is one build old; a published copy may be older or
/// from another machine), so none is preferred to the point of losing what another knew.
fn recover<T>(dir: &Path, kind: &Kind<T>, published: &mut Published<'_>) -> Recovered<T> {
    let path = dir.join(kind.file);
    let problem = match read_local(&path, kind) {
        Ok(value) => {
            return Recovered { value: Some(value), note: None, nowhere: false, damaged: false };
        }
        Err(problem) => problem,
    };
    let damaged = !problem.missing;
    let mut copies: Vec<(T, String)> = Vec::new();
    let mut failures = Vec::new();
    let prev = crate::fs::previous_path(&path);
    let mut nowhere = problem.missing;
    match read_local(&prev, kind) {
        Ok(value) => copies.push((value, format!("its previous copy `{}`", prev.display()))),
        Err(prev_problem) if prev_problem.missing => {}
        Err(prev_problem) => {
            nowhere = false;
            failures.push(format!("its previous copy cannot be used ({})", prev_problem.text));
        }
    }
    for at in 0..published.sources.len() {
        let read = published.file(at, kind.file).and_then(|found| match found {
            None => Ok(None),
            Some((bytes, origin, built)) => (kind.parse)(&bytes, &origin).map(|value| {
                let from = format!(
                    "the {} published by the build of {built} at {origin} ({} bytes, SHA-256 \
                     checked)",
                    kind.what,
                    bytes.len()
                );
                Some((value, from))
            }),
        });
        match read {
            Ok(Some(copy)) => copies.push(copy),
            Ok(None) => {}
            Err(why) => {
                nowhere = false;
                failures.push(why);
            }
        }
    }
    let mut note = problem.text;
    for failure in &failures {
        let _ = write!(note, "; {failure}");
    }
    let mut copies = copies.into_iter();
    let Some((mut value, first)) = copies.next() else {
        let _ = write!(note, "; starting with an empty {}", kind.what);
        if !nowhere {
            tracing::warn!("{note}");
        }
        return Recovered { value: None, note: Some(note), nowhere, damaged };
    };
    let mut from = vec![first];
    for (other, origin) in copies {
        (kind.combine)(&mut value, other);
        from.push(origin);
    }
    let _ = write!(note, "; recovered from {}", from.join(", combined with "));
    tracing::warn!("{note}");
    Recovered { value: Some(value), note: Some(note), nowhere: false, damaged }
}

/// The published states to recover from, each read at most once.
struct Published<'a> {
    settings: &'a Settings,
    sources: Vec<StateSource>,
    /// How many of the first sources were given by hand (`--state-from`).
    given: usize,
    /// Per source: its manifest and where its files are, or why it cannot be used; `None`
    /// until first needed.
    manifests: Vec<Option<Result<Option<Located>, String>>>,
    net: Option<Result<Net, String>>,
}

/// A manifest and the folder or URL prefix of its files.
struct Located {
    manifest: Manifest,
    base: StateSource,
}

/// What requests over the network need.
struct Net {
    runtime: tokio::runtime::Runtime,
    fetcher: Fetcher,
}

impl<'a> Published<'a> {
    fn new(settings: &'a Settings, sources: &[StateSource], given: usize) -> Published<'a> {
        Published {
            settings,
            sources: sources.to_vec(),
            given,
            manifests: sources.iter().map(|_| None).collect(),
            net: None,
        }
    }

    /// Names the sources tried, for the note of a first build.
    fn tried(&self) -> String {
        if self.sources.is_empty() {
            return String::new();
        }
        let names: Vec<String> = self.sources.iter().map(ToString::to_string).collect();
        format!(", and none published at {}", names.join(" or "))
    }

    /// The checked bytes of `name` from source `at`, the place they came from and the time
    /// of the build that published them; `None` when that source has no state at all.
    fn file(&mut self, at: usize, name: &str) -> Result<Option<(Vec<u8>, String, String)>, String> {
        if self.manifests[at].is_none() {
            let located = self.locate(at);
            self.manifests[at] = Some(located);
        }
        let located = match &self.manifests[at] {
            Some(Ok(Some(located))) => located,
            Some(Ok(None)) | None => return Ok(None),
            Some(Err(why)) => return Err(why.clone()),
        };
        let Some(entry) = located.manifest.files.get(name).cloned() else {
            return Err(format!("the state published at {} lists no `{name}`", located.base));
        };
        // The manifest's own text, shown as every message shows text from elsewhere.
        let built = crate::text::shown(&located.manifest.built, SHOWN_BUILT_CHARS);
        let base = located.base.clone();
        // A manifest is no reason to hold more in memory than the state may take.
        let limit = MAX_FILE_BYTES.max(self.settings.max_body_bytes);
        if entry.bytes > limit {
            return Err(format!(
                "the `{name}` published at {base} is said to be {} bytes, more than the {limit} \
                 accepted (1 GiB, or `[fetch] max_body_bytes` if larger)",
                entry.bytes
            ));
        }
        let (bytes, origin) = self.read(&base, name, entry.bytes)?;
        if bytes.len() as u64 != entry.bytes {
            return Err(format!(
                "`{origin}` is {} bytes, not the {} its manifest says; not used",
                bytes.len(),
                entry.bytes
            ));
        }
        let actual = hex::encode(Sha256::digest(&bytes));
        if !actual.eq_ignore_ascii_case(&entry.sha256) {
            return Err(format!(
                "`{origin}` does not match its manifest's SHA-256 (it is {actual}); not used"
            ));
        }
        Ok(Some((bytes, origin, built)))
    }

    /// Finds the manifest of source `at`: the source itself when it names `manifest.json`,
    /// else `state/manifest.json` under it, else `manifest.json` in it.
    fn locate(&mut self, at: usize) -> Result<Option<Located>, String> {
        let source = self.sources[at].clone();
        let candidates: Vec<StateSource> = match &source {
            StateSource::Path(path) if path.ends_with(MANIFEST) => {
                vec![StateSource::Path(path.parent().unwrap_or(Path::new(".")).to_owned())]
            }
            StateSource::Path(path) => {
                vec![StateSource::Path(path.join(PUBLISHED_DIR)), source.clone()]
            }
            StateSource::Url(url) => {
                let url = url.split(['?', '#']).next().unwrap_or(url);
                if let Some(base) = url.strip_suffix(MANIFEST) {
                    vec![StateSource::Url(base.to_owned())]
                } else {
                    let base = if url.ends_with('/') { url.to_owned() } else { format!("{url}/") };
                    vec![
                        StateSource::Url(format!("{base}{PUBLISHED_DIR}/")),
                        StateSource::Url(base),
                    ]
                }
            }
        };
        let mut missing = Vec::new();
        for base in candidates {
            match self.read(&base, MANIFEST, MAX_MANIFEST_BYTES) {
                Ok((bytes, origin)) => {
                    let manifest = parse_manifest(&bytes, &origin)?;
                    return Ok(Some(Located { manifest, base }));
                }
                Err(why) if is_missing(&why) => missing.push(why),
                Err(why) => return Err(why),
            }
        }
        // A place given by hand (`--state-from`) that holds nothing is worth a note; the
        // output folder, which holds no state before its first build, is not.
        if at < self.given {
            Err(format!("no published state: {}", missing.join(", and ")))
        } else {
            Ok(None)
        }
    }

    /// Reads `name` under `base`, at most `max` bytes (one more is read to tell a longer
    /// file), and says where it came from.
    fn read(
        &mut self,
        base: &StateSource,
        name: &str,
        max: u64,
    ) -> Result<(Vec<u8>, String), String> {
        match base {
            StateSource::Path(dir) => {
                let path = dir.join(name);
                let origin = path.display().to_string();
                let file = crate::fs::open_regular(&path).map_err(|e| {
                    if e.kind() == std::io::ErrorKind::NotFound {
                        format!("{MISSING} `{origin}`")
                    } else {
                        format!("cannot read `{origin}`: {e}")
                    }
                })?;
                let mut bytes = Vec::new();
                file.take(max.saturating_add(1))
                    .read_to_end(&mut bytes)
                    .map_err(|e| format!("cannot read `{origin}`: {e}"))?;
                Ok((bytes, origin))
            }
            StateSource::Url(prefix) => {
                let url = format!("{prefix}{name}");
                let net = self.net()?;
                // One byte over the limit tells a longer body from one of the right size.
                let got = net.runtime.block_on(net.fetcher.download(&url, max.saturating_add(1)));
                match got {
                    Ok(bytes) => Ok((bytes, url)),
                    Err(crate::fetch::FetchError::Status { status: 404 | 410, .. }) => {
                        Err(format!("{MISSING} {url}"))
                    }
                    // The limit is the manifest's size (or a manifest's largest), not a
                    // setting: said so, rather than as a feed body over `max_body_bytes`.
                    Err(crate::fetch::FetchError::TooLarge { .. }) => {
                        Err(format!("{url} is longer than the {max} bytes expected; not used"))
                    }
                    Err(e) => Err(format!("cannot get the published state: {e}")),
                }
            }
        }
    }

    /// The runtime and fetcher, made on first use.
    fn net(&mut self) -> Result<&Net, String> {
        let settings = self.settings;
        let net = self.net.get_or_insert_with(|| {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|e| format!("cannot start the network runtime: {e}"))?;
            let cache = Cache::read_only(settings.cache_dir.clone());
            let fetcher = Fetcher::new(Mode::Online, cache, settings)
                .map_err(|e| format!("cannot make the HTTP client: {e}"))?;
            Ok(Net { runtime, fetcher })
        });
        net.as_ref().map_err(Clone::clone)
    }
}

/// How a message about a file that is not there starts.
const MISSING: &str = "nothing at";

fn is_missing(why: &str) -> bool {
    why.starts_with(MISSING)
}

/// Reads a manifest, refusing an unknown layout.
fn parse_manifest(bytes: &[u8], origin: &str) -> Result<Manifest, String> {
    if bytes.len() as u64 > MAX_MANIFEST_BYTES {
        return Err(format!("`{origin}` is larger than a state manifest can be; not used"));
    }
    crate::fs::read_versioned_json(bytes, MANIFEST_FORMAT, "state manifest")
        .map_err(|reason| format!("`{origin}` cannot be used: {reason}"))
}

#[cfg(test)]
mod tests;
