//! The build: every stage in order, from definitions to a swapped-in output folder.
//!
//! [`run`] fetches every enabled feed (in parallel, bounded by the fetch concurrency),
//! parses the bodies (in parallel on the CPU), records what each feed listed in the ledger,
//! selects and scores each task's indicators, and writes the outputs, the site and
//! `report.json` into a staging folder beside the output folder, which replaces the old one
//! only once everything is written. A feed that fails is reported and left out; it never
//! fails the build. Only a problem with the outputs themselves does.
//!
//! # Architecture
//! - `gather`: fetching a feed's files (one body, or a MISP manifest and its events).
//! - `select`: a task's selection, scoring and sort order.

mod gather;
mod select;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use crate::config::{FeedFormat, OutputFormat, Project, Source};
use crate::decay;
use crate::export::{self, ExportError, misp_feed, plain, site};
use crate::fetch::{Cache, FetchError, Fetcher, Mode, Replay};
use crate::ledger::Ledger;
use crate::parse::{self, ParsedFeed};
use crate::report::{BuildReport, FeedReport, FeedStatus, TaskReport};

pub use gather::Gathered;

/// How a build gets its bytes.
#[derive(Clone, Debug)]
pub enum FetchMode {
    /// Over the network, with the cache for conditional requests.
    Online,
    /// From the cache only.
    Offline,
    /// From a folder of recorded responses.
    Replay(PathBuf),
}

/// What the caller chooses for one build.
#[derive(Clone, Debug)]
pub struct BuildOptions {
    /// The reference time for decay and for the files' headers, Unix seconds.
    pub now: i64,
    /// Where bytes come from.
    pub fetch: FetchMode,
    /// Output folder instead of the project's `output_dir`.
    pub output_dir: Option<PathBuf>,
}

/// Progress events, for a terminal progress bar or nothing.
pub trait Reporter: Sync {
    /// The build starts fetching `total` feeds.
    fn fetching(&self, total: usize) {
        let _ = total;
    }
    /// One feed is fetched.
    fn feed_fetched(&self, id: &str) {
        let _ = id;
    }
    /// A stage starts.
    fn stage(&self, name: &str) {
        let _ = name;
    }
}

/// A reporter that says nothing.
#[derive(Clone, Copy, Debug, Default)]
pub struct Silent;

impl Reporter for Silent {}

/// The result of a build that wrote its outputs.
#[derive(Debug)]
pub struct BuildOutcome {
    /// What happened.
    pub report: BuildReport,
    /// The folder that now holds the outputs.
    pub output_dir: PathBuf,
}

/// Why a build could not write its outputs.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The fetcher could not be set up (a bad replay folder, for instance).
    #[error(transparent)]
    Fetch(#[from] FetchError),
    /// An output could not be written.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// A folder could not be prepared or swapped in.
    #[error("cannot prepare {}: {source}", path.display())]
    Io {
        /// The folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// What the report says about a feed's fetch, kept once the bodies are parsed and dropped.
struct Fetched {
    origin: crate::fetch::Origin,
    http_status: u16,
    bytes: u64,
    duration_ms: u64,
}

/// One feed after fetching and parsing.
struct FeedResult {
    index: usize,
    fetched: Result<Fetched, String>,
    parsed: Option<ParsedFeed>,
    parse_error: Option<String>,
}

/// Runs a whole build.
pub fn run(
    project: &Project,
    options: &BuildOptions,
    reporter: &dyn Reporter,
) -> Result<BuildOutcome, BuildError> {
    let settings = &project.settings;
    let mode = match &options.fetch {
        FetchMode::Online => Mode::Online,
        FetchMode::Offline => Mode::Offline,
        FetchMode::Replay(dir) => Mode::Replay(Replay::open(dir)?),
    };
    let fetcher = Fetcher::new(
        mode,
        Cache::new(settings.cache_dir.clone()),
        settings.timeout,
        settings.max_body_bytes,
    )?;

    // Fetch.
    let enabled: Vec<usize> = project.enabled_feeds().map(|(i, _)| i).collect();
    reporter.fetching(enabled.len());
    let started = Instant::now();
    let gathered = gather::all(project, &enabled, &fetcher, settings.concurrency, reporter);
    tracing::info!(
        feeds = enabled.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Fetched feeds"
    );

    // Parse.
    reporter.stage("parse");
    let started = Instant::now();
    let mut results: Vec<FeedResult> = gathered
        .into_par_iter()
        .map(|(index, gathered)| parse_feed(project, index, gathered))
        .collect();
    results.sort_by_key(|r| r.index);
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "Parsed feeds");

    // Ledger.
    let ledger_path = settings.state_dir.join("ledger");
    let (mut ledger, ledger_note) = Ledger::load_or_recover(&ledger_path);
    let mut notes: Vec<String> = ledger_note.into_iter().collect();
    for result in &results {
        let Some(parsed) = &result.parsed else { continue };
        let id = &project.feeds[result.index].id;
        for record in &parsed.records {
            ledger.observe(id, &record.indicator, options.now);
        }
    }

    // Report per feed.
    let mut feed_reports = Vec::with_capacity(results.len());
    let mut all_types: BTreeMap<String, u64> = BTreeMap::new();
    let mut distinct = std::collections::HashSet::new();
    for result in &results {
        let report = feed_report(project, result);
        if let Some(parsed) = &result.parsed {
            for record in &parsed.records {
                if distinct.insert(&record.indicator) {
                    *all_types.entry(record.indicator.kind.as_str().to_owned()).or_default() += 1;
                }
            }
        }
        match report.status {
            FeedStatus::Error => tracing::warn!(
                feed = %report.id,
                reason = report.error.as_deref().unwrap_or(""),
                "Feed failed, left out of this build"
            ),
            FeedStatus::Empty => tracing::warn!(feed = %report.id, "Feed is empty"),
            FeedStatus::Ok => tracing::info!(
                feed = %report.id,
                indicators = report.indicators,
                rejected = report.stats.rejected_total(),
                "Feed read"
            ),
        }
        feed_reports.push(report);
    }
    drop(distinct);

    // Select and write.
    reporter.stage("write");
    let output_dir = options.output_dir.clone().unwrap_or_else(|| settings.output_dir.clone());
    let staging = staging_dir(&output_dir);
    prepare_dir(&staging)?;
    let models: Vec<decay::Model> = project.models.iter().map(decay::Model::new).collect();
    let parsed: Vec<Option<&ParsedFeed>> = {
        let mut by_index = vec![None; project.feeds.len()];
        for result in &results {
            by_index[result.index] = result.parsed.as_ref();
        }
        by_index
    };
    let mut task_reports = Vec::with_capacity(project.tasks.len());
    for task in &project.tasks {
        let selection = select::select(project, task, &parsed, &models, options.now);
        let mut outputs = Vec::with_capacity(task.config.outputs.len());
        for output in &task.config.outputs {
            let written = match output.format {
                OutputFormat::Plain => plain::write(
                    &staging,
                    &output.path,
                    &task.id,
                    &task.config.name,
                    options.now,
                    &selection.entries,
                )?,
                OutputFormat::MispFeed => {
                    let settings = misp_feed::EventSettings {
                        task_id: &task.id,
                        path: &output.path,
                        info: output.event_info.as_deref().unwrap_or(&task.config.name),
                        org_name: output.org_name.as_deref().unwrap_or(&settings.title),
                        threat_level: output.threat_level.unwrap_or(4),
                        tlp: output.tlp.as_deref().unwrap_or("tlp:clear"),
                        now: options.now,
                    };
                    misp_feed::write(&staging, &output.path, &settings, &selection.entries)?
                }
            };
            outputs.push(written);
        }
        let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
        for entry in &selection.entries {
            *by_type.entry(entry.indicator.kind.as_str().to_owned()).or_default() += 1;
        }
        tracing::info!(task = %task.id, selected = selection.entries.len(), expired = selection.expired, "Task written");
        task_reports.push(TaskReport {
            id: task.id.clone(),
            name: task.config.name.clone(),
            description: task.config.description.clone(),
            feeds: task.feeds.iter().map(|&i| project.feeds[i].id.clone()).collect(),
            types: task.types.iter().map(|t| t.as_str().to_owned()).collect(),
            selected: selection.entries.len() as u64,
            expired: selection.expired,
            unscored: selection.unscored,
            by_type,
            outputs,
        });
    }

    let report = BuildReport {
        version: env!("CARGO_PKG_VERSION"),
        now: export::rfc3339(options.now),
        now_unix: options.now,
        title: settings.title.clone(),
        feeds: feed_reports,
        tasks: task_reports,
        by_type: all_types,
        notes: std::mem::take(&mut notes),
    };
    site::write(&staging, &report, &project.root.join("templates"))?;
    let report_json = serde_json::to_vec_pretty(&report).unwrap_or_default();
    export::write_file(&staging.join("report.json"), &report_json)?;

    swap_in(&staging, &output_dir)?;
    if let Err(e) = ledger.save(&ledger_path) {
        tracing::warn!(path = %ledger_path.display(), error = %e, "Could not save the ledger");
    }
    Ok(BuildOutcome { report, output_dir })
}

/// Parses one gathered feed, consuming its bodies.
fn parse_feed(project: &Project, index: usize, gathered: Result<Gathered, String>) -> FeedResult {
    let feed = &project.feeds[index];
    let gathered = match gathered {
        Ok(gathered) => gathered,
        Err(e) => return FeedResult { index, fetched: Err(e), parsed: None, parse_error: None },
    };
    let fetched = Fetched {
        origin: gathered.origin(),
        http_status: gathered.status(),
        bytes: gathered.bytes(),
        duration_ms: gathered.elapsed_ms(),
    };
    let (parsed, parse_error) = match gathered {
        Gathered::Body(body) => {
            let exclude = feed.exclude.as_ref();
            match feed.config.format {
                FeedFormat::Freetext => {
                    (Some(parse::freetext::parse(&body.bytes, &feed.freetext, exclude)), None)
                }
                FeedFormat::Csv => match parse::csv::parse(&body.bytes, &feed.csv, exclude) {
                    Ok(parsed) => (Some(parsed), None),
                    Err(e) => (None, Some(e.to_string())),
                },
                FeedFormat::Misp => (None, Some("a MISP feed was fetched as one file".to_owned())),
            }
        }
        Gathered::Misp { manifest, events, .. } => {
            let mut files = Vec::with_capacity(events.len());
            let mut failed = Vec::new();
            for (uuid, body) in events {
                match body {
                    Ok(body) => files.push((uuid, body.bytes)),
                    Err(e) => failed.push(format!("{uuid}.json: {e}")),
                }
            }
            let mut parsed = parse::misp::parse_events(&files, &feed.misp);
            merge_stats(&mut parsed.stats, &manifest.stats);
            for message in failed {
                parsed.stats.reject(crate::indicator::RejectReason::InvalidEvent, 0, &message);
            }
            (Some(parsed), None)
        }
    };
    FeedResult { index, fetched: Ok(fetched), parsed, parse_error }
}

/// Adds the manifest's counts (invalid keys) to the events' counts.
fn merge_stats(into: &mut parse::ParseStats, from: &parse::ParseStats) {
    for (reason, rejected) in &from.rejected {
        let entry = into.rejected.entry(reason).or_default();
        entry.count += rejected.count;
        for example in &rejected.examples {
            if entry.examples.len() < parse::MAX_EXAMPLES {
                entry.examples.push(example.clone());
            }
        }
    }
}

fn feed_report(project: &Project, result: &FeedResult) -> FeedReport {
    let feed = &project.feeds[result.index];
    let source = match &feed.source {
        Source::Url(url) => url.clone(),
        Source::Path(path) => {
            path.strip_prefix(&project.root).unwrap_or(path).display().to_string()
        }
    };
    let (origin, http_status, bytes, duration_ms) = match &result.fetched {
        Ok(f) => (Some(f.origin), Some(f.http_status), f.bytes, f.duration_ms),
        Err(_) => (None, None, 0, 0),
    };
    let error = match (&result.fetched, &result.parse_error) {
        (Err(e), _) | (Ok(_), Some(e)) => Some(e.clone()),
        _ => None,
    };
    let stats = result.parsed.as_ref().map(|p| p.stats.clone()).unwrap_or_default();
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    let indicators = result.parsed.as_ref().map_or(0, |p| {
        for record in &p.records {
            *by_type.entry(record.indicator.kind.as_str().to_owned()).or_default() += 1;
        }
        p.records.len() as u64
    });
    let feed_status = if error.is_some() {
        FeedStatus::Error
    } else if indicators == 0 {
        FeedStatus::Empty
    } else {
        FeedStatus::Ok
    };
    FeedReport {
        id: feed.id.clone(),
        name: feed.config.name.clone(),
        provider: feed.config.provider.clone(),
        format: feed.config.format,
        source,
        licence: feed.config.licence.clone(),
        homepage: feed.config.homepage.clone(),
        status: feed_status,
        error,
        origin,
        http_status,
        bytes,
        duration_ms,
        rejected: stats.rejected_total(),
        stats,
        indicators,
        by_type,
        tags: feed.config.tags.clone(),
    }
}

/// The staging folder beside `output`: same parent, so the final rename stays on one disk.
fn staging_dir(output: &Path) -> PathBuf {
    let name =
        output.file_name().map_or_else(|| "site".into(), |n| n.to_string_lossy().into_owned());
    output.with_file_name(format!(".{name}.staging"))
}

fn prepare_dir(dir: &Path) -> Result<(), BuildError> {
    let io = |source| BuildError::Io { path: dir.to_owned(), source };
    if dir.exists() {
        std::fs::remove_dir_all(dir).map_err(io)?;
    }
    std::fs::create_dir_all(dir).map_err(io)
}

/// Replaces `output` with `staging`: the old folder is moved aside, the new one renamed in,
/// then the old one removed, so readers see the old site or the new one, never a mix.
fn swap_in(staging: &Path, output: &Path) -> Result<(), BuildError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| BuildError::Io { path, source }
    };
    let name =
        output.file_name().map_or_else(|| "site".into(), |n| n.to_string_lossy().into_owned());
    let old = output.with_file_name(format!(".{name}.old"));
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    if output.exists() {
        std::fs::rename(output, &old).map_err(io(output))?;
    }
    std::fs::rename(staging, output).map_err(io(output))?;
    if old.exists() {
        std::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(())
}
