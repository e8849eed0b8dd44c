//! The build: every stage in order, from definitions to a swapped-in output folder.
//!
//! [`run`] fetches every enabled feed (in parallel, bounded by the fetch concurrency),
//! parses the bodies (in parallel on the CPU), records what each feed listed in the ledger,
//! selects and scores each task's indicators, and writes the outputs, the site and
//! `report.json` into a staging folder beside the output folder, which replaces the old one
//! only once everything is written. A feed that fails is reported and left out; it never
//! fails the build. Only a problem with the outputs themselves does.
//!
//! [`lookup`] runs the same first stages (fetch, parse, last good data) from the cache or a
//! replay folder without writing anything, then asks about one value what the selection asks
//! about every record, through the same scoring function.
//!
//! # Architecture
//! - `gather`: fetching a feed's files (one body, or a MISP manifest and its events).
//! - `health`: each feed's last good data, in the state folder.
//! - `parse_cache`: each feed's last parse, reused while its files stay the same.
//! - `state`: the ledger, history and feed health: loaded with recovery, saved, published.
//! - `score`: one record's score under one model, and how it was reached.
//! - `select`: a task's selection and sort order.
//! - `models`: the decay models' reports and sampled curves, for the site's model pages.
//! - `overlap`: the distinct indicators of a build and how many each pair of feeds shares.
//! - `index`: the rows of the site's look-up index: listings, verdicts, outputs.
//! - `lookup`: what a build would do with one value, from the cached data, writing nothing.

mod gather;
mod health;
mod index;
mod lookup;
mod models;
mod overlap;
mod parse_cache;
mod score;
mod select;
mod state;
mod unchanged;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Instant;

use rayon::prelude::*;

use crate::config::{Feed, FeedFormat, Project, Source};
use crate::decay;
use crate::export::{self, ExportError, site};
use crate::fetch::{Cache, FetchError, Fetcher, Mode, Replay};
use crate::parse::{self, ParsedFeed};
use crate::report::{
    BuildReport, FeedReport, FeedStatus, TaskReport, WARNINGLIST_EXAMPLES, WarninglistReport,
};

use gather::Failure;
pub use gather::Gathered;
pub use health::{FeedHealth, Health, HealthStore};
pub use lookup::{
    FeedScore, LOOKUP_FORMAT, ListMatch, Listing, Lookup, LookupError, LookupOptions, Match,
    ModelUse, Scoring, TagContribution, TaskVerdict, TypedValue, Unread, Verdict, lookup,
};
pub use state::{Manifest, PublishedFile, StateSource};

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
    /// Where to recover a damaged or missing state from, before the output folder's own
    /// published copy.
    pub state_from: Option<StateSource>,
    /// Build in full even when nothing changed since the last build (see [`unchanged`]).
    pub force: bool,
}

/// Progress events, for a terminal progress bar or nothing.
pub trait Reporter: Sync {
    /// The build starts fetching `total` feeds.
    fn fetching(&self, total: usize) {
        let _ = total;
    }
    /// A feed's first request starts; `received` counts the bytes of its current body.
    fn feed_started(&self, id: &str, received: std::sync::Arc<std::sync::atomic::AtomicU64>) {
        let _ = (id, received);
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

/// The result of a build: its outputs written, or found already written.
#[derive(Debug)]
pub struct BuildOutcome {
    /// What the build has to say.
    pub summary: BuildSummary,
    /// The folder that now holds the outputs.
    pub output_dir: PathBuf,
    /// Nothing changed since the last build, whose outputs stand: nothing was written
    /// (see [`unchanged`]).
    pub unchanged: bool,
}

/// What a build says when it ends: its counts, and a line per feed or output that failed.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BuildSummary {
    /// The build's reference time, RFC 3339.
    pub now: String,
    /// Enabled feeds.
    pub feeds: usize,
    /// Feeds read with data.
    pub ok: usize,
    /// Feeds read empty.
    pub empty: usize,
    /// Feeds that failed.
    pub failed: usize,
    /// Feeds whose last good data stands in.
    pub stale: usize,
    /// Tasks.
    pub tasks: usize,
    /// Outputs, written or not.
    pub outputs: usize,
    /// Outputs that could not be written.
    pub failed_outputs: usize,
    /// One line per failed feed, then per failed output.
    pub problems: Vec<String>,
}

impl BuildSummary {
    /// The summary of a build's report.
    #[must_use]
    pub fn of(report: &BuildReport) -> BuildSummary {
        let feeds = report.feeds.iter().filter(|f| f.error.is_some()).map(|feed| {
            let using = if feed.stale { " (its last good data stands in)" } else { "" };
            let why = feed.error.as_deref().unwrap_or("");
            format!("{}: {}: {why}{using}", feed.status.as_str(), feed.id)
        });
        let failed_outputs: Vec<String> = report
            .tasks
            .iter()
            .flat_map(|t| &t.outputs)
            .filter_map(|o| Some(format!("output {}: {}", o.path, o.error.as_deref()?)))
            .collect();
        BuildSummary {
            now: report.now.clone(),
            feeds: report.feeds.len(),
            ok: report.count_status(FeedStatus::Ok),
            empty: report.count_status(FeedStatus::Empty),
            failed: report.count_status(FeedStatus::Error),
            stale: report.feeds.iter().filter(|f| f.stale).count(),
            tasks: report.tasks.len(),
            outputs: report.tasks.iter().map(|t| t.outputs.len()).sum(),
            failed_outputs: failed_outputs.len(),
            problems: feeds.chain(failed_outputs).collect(),
        }
    }
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
    /// Every enabled feed failed and none has last good data to stand in, while an output
    /// folder from an earlier build exists: it is kept as it is rather than replaced by
    /// empty lists that firewalls would load. Feed health is still recorded.
    #[error(
        "every enabled feed failed ({failed}) and none has last good data; the previous output in {} is kept. First failure: {first}",
        output.display()
    )]
    NothingUsable {
        /// How many feeds failed.
        failed: usize,
        /// The output folder left as it was.
        output: PathBuf,
        /// The first failing feed and why.
        first: String,
    },
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
    /// When the data was current: this build, or the time the cached body was fetched.
    as_of: Option<i64>,
    origin: crate::fetch::Origin,
    http_status: u16,
    bytes: u64,
    duration_ms: u64,
}

/// One feed after fetching and parsing this build's body.
struct FreshFeed {
    index: usize,
    fetched: Result<Fetched, Failure>,
    /// The files and what parsing them gave, when the fetch worked.
    files: Option<(FeedFiles, Result<ParsedFeed, String>)>,
    /// The parse of the files was the cached one.
    parse_reused: bool,
}

/// One feed after fetching, parsing and the last-good-data decision.
struct FeedResult {
    index: usize,
    fetched: Result<Fetched, Failure>,
    /// The data the build uses: this build's, or the last good data standing in for it.
    parsed: Option<ParsedFeed>,
    /// What this build's parse did with the fresh body (empty when the fetch failed).
    fresh_stats: parse::ParseStats,
    /// This build's outcome for the feed.
    status: FeedStatus,
    /// Why the feed is not ok (a reason code and a message).
    problem: Option<(&'static str, String)>,
    /// The data in use is the last good data, from this build time.
    stale_from: Option<i64>,
    /// The feed's history after this build.
    health: FeedHealth,
    /// This build's files were not parsed: the parse cached from an earlier build was used.
    parse_reused: bool,
}

/// Whether reading the feeds may write into the cache and the state folder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Writes {
    /// A build: fetched bodies go to the cache, accepted data becomes the last good data.
    Allowed,
    /// A look-up: the cache and the state folder are read, never written.
    Never,
}

/// Every enabled feed as a build uses it: fetched, parsed, and its last good data decided.
struct FeedsRead {
    /// One per enabled feed, in the order of [`Project::feeds`].
    results: Vec<FeedResult>,
    /// Every feed's health after this build.
    health: Health,
}

/// One enabled feed as fetched, before its files are parsed.
struct Arrived {
    index: usize,
    fetched: Result<Fetched, Failure>,
    /// The files, the event files that failed, and the key of their parse, when the fetch
    /// worked.
    files: Option<(FeedFiles, Vec<String>, parse_cache::Key)>,
}

/// The first stages of a build: fetches every enabled feed and parses the bodies, then
/// decides per feed whether its fresh data or its last good data is used
/// ([`fetch_feeds`], then [`parse_feeds`]).
fn read_feeds(
    project: &Project,
    fetch: &FetchMode,
    now: i64,
    reporter: &dyn Reporter,
    writes: Writes,
    health: Health,
) -> Result<FeedsRead, BuildError> {
    let arrived = fetch_feeds(project, fetch, now, reporter, writes)?;
    Ok(parse_feeds(project, arrived, now, reporter, writes, health))
}

/// Fetches every enabled feed (in parallel, bounded by the fetch concurrency) and computes
/// the key of each one's parse (in parallel on the CPU). With [`Writes::Never`] the cache is
/// only read.
fn fetch_feeds(
    project: &Project,
    fetch: &FetchMode,
    now: i64,
    reporter: &dyn Reporter,
    writes: Writes,
) -> Result<Vec<Arrived>, BuildError> {
    let settings = &project.settings;
    let mode = match fetch {
        FetchMode::Online => Mode::Online,
        FetchMode::Offline => Mode::Offline,
        FetchMode::Replay(dir) => Mode::Replay(Replay::open(dir)?),
    };
    let cache = match writes {
        Writes::Allowed => Cache::new(settings.cache_dir.clone()),
        Writes::Never => Cache::read_only(settings.cache_dir.clone()),
    };
    // A replayed response is as of the build's `--now`, for the builds that read it later.
    let cache = if matches!(mode, Mode::Replay(_)) { cache.stamped_at(now) } else { cache };
    let fetcher = Fetcher::new(mode, cache, settings)?;

    let enabled: Vec<usize> = project.enabled_feeds().map(|(i, _)| i).collect();
    reporter.fetching(enabled.len());
    let started = Instant::now();
    let gathered = gather::all(project, &enabled, &fetcher, settings.concurrency, reporter);
    tracing::info!(
        feeds = enabled.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Fetched feeds"
    );
    let started = Instant::now();
    let parse_cache = parse_cache::ParseCache::new(&settings.state_dir, writes);
    let mut arrived: Vec<Arrived> = gathered
        .into_par_iter()
        .map(|(index, gathered)| match gathered {
            Err(e) => Arrived { index, fetched: Err(e), files: None },
            Ok(gathered) => {
                let summary = Fetched {
                    as_of: gathered.as_of(),
                    origin: gathered.origin(),
                    http_status: gathered.status(),
                    bytes: gathered.bytes(),
                    duration_ms: gathered.elapsed_ms(),
                };
                let (files, failures) = FeedFiles::from_gathered(gathered);
                let key = parse_cache.key(&project.feeds[index], &files, &failures);
                Arrived { index, fetched: Ok(summary), files: Some((files, failures, key)) }
            }
        })
        .collect();
    arrived.sort_by_key(|feed| feed.index);
    tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "Fetched files hashed");
    Ok(arrived)
}

/// Parses the fetched files, in parallel, unless a feed's files are those of its cached
/// parse, then keeps or replaces each feed's last good data. With [`Writes::Never`] nothing
/// is written: not the parse cache, not the last good data, not the history (which a build
/// saves itself, after its outputs).
fn parse_feeds(
    project: &Project,
    arrived: Vec<Arrived>,
    now: i64,
    reporter: &dyn Reporter,
    writes: Writes,
    mut health: Health,
) -> FeedsRead {
    let settings = &project.settings;
    reporter.stage("parse");
    let started = Instant::now();
    let parse_cache = parse_cache::ParseCache::new(&settings.state_dir, writes);
    parse_cache.forget_others(project.feeds.iter().map(|feed| feed.id.as_str()));
    // Bodies are kept until the decision on last good data.
    let parsed_feeds: Vec<FreshFeed> = arrived
        .into_par_iter()
        .map(|Arrived { index, fetched, files }| match files {
            None => FreshFeed { index, fetched, files: None, parse_reused: false },
            Some((files, failures, key)) => {
                let parse_cache::Parsed { parsed, reused } =
                    parse_cache.parse(&project.feeds[index], &files, &failures, &key);
                FreshFeed { index, fetched, files: Some((files, parsed)), parse_reused: reused }
            }
        })
        .collect();
    tracing::info!(
        elapsed_ms = started.elapsed().as_millis() as u64,
        rss_mib = resident_mib(),
        reused = parsed_feeds.iter().filter(|fresh| fresh.parse_reused).count(),
        "Parsed feeds"
    );

    // Keep or replace each feed's last good data; each feed's bodies are dropped once decided.
    let store = HealthStore::new(&settings.state_dir);
    let results: Vec<FeedResult> = parsed_feeds
        .into_iter()
        .map(|FreshFeed { index, fetched, files, parse_reused }| {
            let feed = &project.feeds[index];
            let previous = health.feeds.get(&feed.id).cloned().unwrap_or_default();
            let (result, keep) = decide(feed, &store, &previous, fetched, files, now);
            if writes == Writes::Allowed {
                keep_good(&store, feed, keep);
            }
            health.feeds.insert(feed.id.clone(), result.health.clone());
            FeedResult { index, parse_reused, ..result }
        })
        .collect();
    FeedsRead { results, health }
}

/// When this build confirmed a feed's data, for the ledger: the build time, or the time its
/// cached body was fetched; `None` when the feed's last good data stands in, which this build
/// did not see listed.
fn confirmed_at(result: &FeedResult, now: i64) -> Option<i64> {
    result.stale_from.is_none().then(|| observed_at(&result.fetched, now))
}

/// Runs a whole build.
pub fn run(
    project: &Project,
    options: &BuildOptions,
    reporter: &dyn Reporter,
) -> Result<BuildOutcome, BuildError> {
    let settings = &project.settings;
    let output_dir = options.output_dir.clone().unwrap_or_else(|| settings.output_dir.clone());
    // The state: damage is recovered from the previous copies, then from the published
    // state (`--state-from`, then the last build's output folder).
    let arrived = fetch_feeds(project, &options.fetch, options.now, reporter, Writes::Allowed)?;
    // A build run again on the same inputs would write what is in place.
    let key = unchanged::key(project, options, &arrived);
    let expected = unchanged::Expected {
        now: export::rfc3339(options.now),
        feeds: arrived.len(),
        tasks: project.tasks.len(),
        outputs: project.tasks.iter().map(|t| t.config.outputs.len()).sum(),
    };
    if let Some(summary) = key
        .as_deref()
        .filter(|_| !options.force)
        .and_then(|key| unchanged::check(&settings.state_dir, &output_dir, key, &expected))
    {
        tracing::info!(
            built = summary.now,
            "Nothing changed since the last build; its outputs stand as they are"
        );
        return Ok(BuildOutcome { summary, output_dir, unchanged: true });
    }
    unchanged::forget(&settings.state_dir);
    let state::State { mut ledger, mut history, health, mut notes, damaged } =
        state::load(settings, options.state_from.as_ref(), &output_dir);
    let FeedsRead { results, health } =
        parse_feeds(project, arrived, options.now, reporter, Writes::Allowed, health);

    // A build with no data at all must not replace a good output with empty lists.
    let nothing_usable = !results.is_empty()
        && results.iter().all(|r| r.status == FeedStatus::Error && r.stale_from.is_none());
    if nothing_usable && has_previous_output(&output_dir) {
        state::save_health(&settings.state_dir, &health);
        let first = results
            .iter()
            .map(|r| {
                let why = r.problem.as_ref().map_or("", |(_, message)| message.as_str());
                format!("`{}`: {why}", project.feeds[r.index].id)
            })
            .next()
            .unwrap_or_default();
        return Err(BuildError::NothingUsable { failed: results.len(), output: output_dir, first });
    }

    // Ledger: only data confirmed by this build refreshes `last_seen`. Each feed's table is
    // filled on its own core, while one pass over every record gives both the distinct
    // indicators per type and what each pair of feeds shares.
    let started = Instant::now();
    let confirmed: Vec<_> = results
        .iter()
        .filter_map(|result| {
            let (Some(parsed), Some(seen)) = (&result.parsed, confirmed_at(result, options.now))
            else {
                return None;
            };
            let id = project.feeds[result.index].id.as_str();
            Some((id, seen, parsed.records.iter().map(|record| &record.indicator)))
        })
        .collect();
    let ((), (overlap, all_types)) = rayon::join(
        || ledger.observe_all(confirmed),
        || {
            let mut all_types: BTreeMap<String, u64> = BTreeMap::new();
            let mut overlap = overlap::Overlap::new(results.len());
            for (position, result) in results.iter().enumerate() {
                let Some(parsed) = &result.parsed else { continue };
                for record in &parsed.records {
                    if overlap.add(position, &record.indicator) {
                        *all_types.entry(record.indicator.kind.as_str().to_owned()).or_default() +=
                            1;
                    }
                }
            }
            (overlap, all_types)
        },
    );
    tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "Ledger and overlap");
    let feed_reports: Vec<FeedReport> = results
        .iter()
        .map(|result| {
            let report = feed_report(project, result);
            log_feed(&report);
            report
        })
        .collect();
    let feed_ids: Vec<&str> = results.iter().map(|r| project.feeds[r.index].id.as_str()).collect();
    let distinct = overlap.distinct();
    // The pairs; the map of every indicator goes with `overlap`.
    let overlap = overlap.pairs(&feed_ids);
    // The look-up index: every feed's listings now, every task's verdicts as it is written.
    tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "Feed reports");
    let positions = index::Positions::new(&feed_ids);
    let mut lookup_index = export::lookup_index::IndexBuilder::new(distinct, options.now);
    let listed: Vec<(&str, &ParsedFeed)> = results
        .iter()
        .filter_map(|r| Some((project.feeds[r.index].id.as_str(), r.parsed.as_ref()?)))
        .collect();
    index::add_listings(&mut lookup_index, &positions, &listed, &ledger);

    tracing::info!(
        values = distinct,
        elapsed_ms = started.elapsed().as_millis() as u64,
        rss_mib = resident_mib(),
        "Ledger, overlap and listings recorded"
    );

    // Select and write.
    reporter.stage("write");
    recover_output(&output_dir)?;
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
    // The previous build's MISP feeds, which carry their events forward: from the output
    // folder, or from the published site when this machine has none.
    let misp_paths: Vec<&str> = project
        .tasks
        .iter()
        .flat_map(|t| &t.config.outputs)
        .filter(|o| o.format == crate::config::OutputFormat::MispFeed)
        .map(|o| o.path.as_str())
        .collect();
    // `_fetched` holds the copies fetched from the site, if any, until the outputs are written.
    let (previous, _fetched, previous_notes) =
        state::previous_outputs(settings, options.state_from.as_ref(), &output_dir, &misp_paths);
    notes.extend(previous_notes);
    let mut task_reports = Vec::with_capacity(project.tasks.len());
    let mut first_output = 0;
    let mut model_scores: BTreeMap<usize, crate::report::ScoreHistogram> = BTreeMap::new();
    let select_task = |task: &crate::config::Task| {
        let started = Instant::now();
        let selection = select::select(
            project,
            task,
            &parsed,
            &models,
            &ledger,
            options.now,
            WARNINGLIST_EXAMPLES,
        );
        (selection, started.elapsed().as_millis() as u64)
    };
    // One task's outputs are written while the next task is selected: two selections at most
    // are held at once.
    let mut next = project.tasks.first().map(select_task);
    for (position, task) in project.tasks.iter().enumerate() {
        let Some((selection, selected_ms)) = next.take() else { break };
        let started = Instant::now();
        let (outputs, following) = rayon::join(
            || write_outputs(&staging, &previous, project, task, options.now, &selection),
            || project.tasks.get(position + 1).map(select_task),
        );
        next = following;
        let outputs = outputs?;
        index::add_verdicts(
            &mut lookup_index,
            &positions,
            task_reports.len(),
            &selection,
            &outputs,
            first_output,
            &task.warninglists,
        );
        first_output += outputs.len();
        for (index, scores) in &selection.scores {
            model_scores.entry(*index).or_default().merge(scores);
        }
        let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
        for entry in &selection.entries {
            *by_type.entry(entry.indicator.kind.as_str().to_owned()).or_default() += 1;
        }
        let mut warninglists = BTreeMap::new();
        for (&index, (count, examples)) in task.warninglists.iter().zip(&selection.removed) {
            let list = &project.warninglists[index];
            warninglists.insert(
                list.id.clone(),
                WarninglistReport {
                    name: list.list.name().to_owned(),
                    version: list.list.version(),
                    removed: *count,
                    examples: examples.iter().map(|i| i.value.to_string()).collect(),
                },
            );
        }
        tracing::info!(
            task = %task.id,
            selected = selection.entries.len(),
            expired = selection.expired,
            warninglisted = selection.warninglisted,
            select_ms = selected_ms,
            write_ms = started.elapsed().as_millis() as u64,
            rss_mib = resident_mib(),
            "Task written"
        );
        task_reports.push(TaskReport {
            id: task.id.clone(),
            name: task.config.name.clone(),
            description: task.config.description.clone(),
            feeds: task.feeds.iter().map(|&i| project.feeds[i].id.clone()).collect(),
            types: task.types.iter().map(|t| t.as_str().to_owned()).collect(),
            selected: selection.entries.len() as u64,
            expired: selection.expired,
            unscored: selection.unscored,
            unscored_dropped: selection.unscored_dropped,
            reserved: selection.reserved,
            other_ip_version: selection.other_ip_version,
            in_several_feeds: selection.in_several_feeds,
            by_feed: selection.by_feed,
            warninglisted: selection.warninglisted,
            warninglists,
            by_type,
            outputs,
        });
    }
    // A one-file output's digest is its report's, of the bytes its writer wrote; a folder's
    // files and the companion files of cuts are read back.
    let outputs = task_reports.iter().flat_map(|t| &t.outputs).flat_map(|o| {
        let digest =
            (o.error.is_none() && !staging.join(&o.path).is_dir()).then_some(o.sha256.as_str());
        std::iter::once((o.path.as_str(), digest)).chain(o.cut_file.as_deref().map(|c| (c, None)))
    });
    let started = Instant::now();
    let listed = export::checksums::write(&staging, outputs)?;
    tracing::debug!(
        files = listed,
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Checksums written"
    );
    // The previous build's index, to say what changed: the output folder's, else the site
    // that `--state-from` names when it is a folder.
    let previous_site = std::iter::once(output_dir.clone())
        .chain(match &options.state_from {
            Some(StateSource::Path(dir)) => Some(dir.clone()),
            _ => None,
        })
        .find(|dir| dir.join(export::lookup_index::INDEX_DIR).join("meta.json").is_file());
    let meta = index::meta(project, &feed_ids, options.now);
    let started = Instant::now();
    let written = lookup_index.write(&staging, &meta)?;
    let index_ms = started.elapsed().as_millis() as u64;
    let started = Instant::now();
    let changes = previous_site.map(|site| {
        export::index_compare::StoredIndex::open(&site).and_then(|before| {
            let after = export::index_compare::StoredIndex::open(&staging)?;
            Ok(export::index_compare::compare(&before, &after))
        })
    });
    let changes = match changes {
        Some(Ok(changes)) => Some(changes),
        Some(Err(why)) => {
            tracing::warn!(
                why,
                "No changes since the previous build: its look-up index cannot be read"
            );
            None
        }
        None => None,
    };
    tracing::info!(
        values = written.values,
        shards = written.shards,
        elapsed_ms = index_ms,
        compare_ms = started.elapsed().as_millis() as u64,
        rss_mib = resident_mib(),
        "Look-up index written"
    );
    let started = Instant::now();

    let report = BuildReport {
        version: env!("CARGO_PKG_VERSION"),
        now: export::rfc3339(options.now),
        now_unix: options.now,
        title: settings.title.clone(),
        feeds: feed_reports,
        tasks: task_reports,
        models: models::reports(project, &models, &model_scores),
        by_type: all_types,
        overlap,
        changes,
        // The site is published: a note names paths inside the repository, never the build
        // machine's folders.
        notes: std::mem::take(&mut notes)
            .into_iter()
            .map(|note| note.replace(&format!("{}/", project.root.display()), ""))
            .collect(),
    };
    // This build's counts join the history first, for the site's charts.
    history.record(state::counts(&report), settings.history_builds);
    let templates = project.root.join("templates");
    site::write(&staging, &report, &history, &models::curves(&models), &written, &templates)?;
    let report_json = serde_json::to_vec_pretty(&report).unwrap_or_default();
    export::write_file(&staging.join("report.json"), &report_json)?;

    // The state goes out with the site, so that a machine without it carries it on.
    let encoded = state::Encoded::new(&ledger, &history, &health);
    encoded.publish(&staging, options.now)?;
    tracing::info!(elapsed_ms = started.elapsed().as_millis() as u64, "Site and state written");
    let started = Instant::now();
    swap_in(&staging, &output_dir)?;
    let swap_ms = started.elapsed().as_millis() as u64;
    let started = Instant::now();
    let saved = encoded.save(&settings.state_dir, &damaged);
    tracing::info!(
        swap_ms,
        save_ms = started.elapsed().as_millis() as u64,
        "Swapped in and state saved"
    );
    let summary = BuildSummary::of(&report);
    // A state not saved whole is saved again by the next build, however alike.
    if let Some(key) = key.as_ref().filter(|_| saved) {
        unchanged::record(&settings.state_dir, &output_dir, key, encoded.sha256s(), &summary);
    }
    Ok(BuildOutcome { summary, output_dir, unchanged: false })
}

/// The memory the process holds now (resident set, MiB), for the stage logs; `None` where
/// the system does not tell (it is read from Linux's `/proc/self/status`).
fn resident_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// Writes every output of `task` from its selection, one output per core.
///
/// The outputs are taken heaviest first (a template, the data exports, the MISP feed), each
/// core taking the next one as it finishes the last, so that no long output starts last and
/// runs alone at the end.
fn write_outputs(
    staging: &Path,
    previous: &Path,
    project: &Project,
    task: &crate::config::Task,
    now: i64,
    selection: &select::Selection<'_>,
) -> Result<Vec<crate::report::OutputReport>, ExportError> {
    let outputs = &task.config.outputs;
    let mut order: Vec<usize> = (0..outputs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(weight(outputs[i].format)));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let written: Vec<std::sync::Mutex<Option<Result<crate::report::OutputReport, ExportError>>>> =
        outputs.iter().map(|_| std::sync::Mutex::new(None)).collect();
    rayon::scope(|scope| {
        for _ in 0..rayon::current_num_threads().min(outputs.len()) {
            scope.spawn(|_| {
                loop {
                    let taken = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let Some(&index) = order.get(taken) else { break };
                    let output = &outputs[index];
                    let started = Instant::now();
                    let result = export::write_output(
                        staging,
                        previous,
                        project,
                        task,
                        output,
                        now,
                        &selection.entries,
                    );
                    tracing::debug!(
                        task = %task.id,
                        output = %output.path,
                        elapsed_ms = started.elapsed().as_millis() as u64,
                        "Output written"
                    );
                    let failed = result.is_err();
                    *written[index].lock().unwrap_or_else(std::sync::PoisonError::into_inner) =
                        Some(result);
                    if failed {
                        // The build fails on this output: the others need not be written.
                        next.store(order.len(), std::sync::atomic::Ordering::Relaxed);
                    }
                }
            });
        }
    });
    let mut reports = Vec::with_capacity(outputs.len());
    for slot in written {
        // An empty slot was left unwritten after another output failed, whose error this
        // returns.
        if let Some(result) = slot.into_inner().unwrap_or_else(std::sync::PoisonError::into_inner) {
            reports.push(result?);
        }
    }
    Ok(reports)
}

/// How long an output of `format` takes to write, roughly, against the others: the order
/// [`write_outputs`] takes them in.
fn weight(format: crate::config::OutputFormat) -> u8 {
    use crate::config::OutputFormat as F;
    match format {
        F::Template => 9,
        F::Json | F::MispFeed => 8,
        F::Zeek => 7,
        F::Csv => 6,
        F::PanosEdl | F::Fortigate | F::Ipset => 5,
        F::Rpz | F::Unbound | F::Adblock | F::Dnsmasq => 4,
        _ => 3,
    }
}

/// A feed's files, however they were fetched: one body, or a MISP manifest and its events.
#[derive(Default)]
struct FeedFiles {
    body: Option<Vec<u8>>,
    manifest: Option<Vec<u8>>,
    /// `(uuid, bytes)` per event file, in manifest order.
    events: Vec<(String, Vec<u8>)>,
}

impl FeedFiles {
    /// The files of a fetch, and the event files that could not be fetched.
    fn from_gathered(gathered: Gathered) -> (FeedFiles, Vec<String>) {
        match gathered {
            Gathered::Body(body) => {
                (FeedFiles { body: Some(body.bytes), ..FeedFiles::default() }, Vec::new())
            }
            Gathered::Misp { manifest_body, events, .. } => {
                let mut files =
                    FeedFiles { manifest: Some(manifest_body.bytes), ..FeedFiles::default() };
                let mut failures = Vec::new();
                for (uuid, body) in events {
                    match body {
                        Ok(body) => files.events.push((uuid, body.bytes)),
                        Err(e) => failures.push(format!("{uuid}.json: {e}")),
                    }
                }
                (files, failures)
            }
        }
    }

    /// File names and bytes, as kept in the state folder.
    fn named(&self) -> Vec<(String, &[u8])> {
        let mut named = Vec::with_capacity(self.events.len() + 1);
        if let Some(body) = &self.body {
            named.push(("body".to_owned(), body.as_slice()));
        }
        if let Some(manifest) = &self.manifest {
            named.push(("manifest.json".to_owned(), manifest.as_slice()));
        }
        for (uuid, bytes) in &self.events {
            named.push((format!("{uuid}.json"), bytes.as_slice()));
        }
        named
    }

    /// The files read back from the state folder.
    fn from_named(files: Vec<(String, Vec<u8>)>) -> FeedFiles {
        let mut feed_files = FeedFiles::default();
        for (name, bytes) in files {
            match name.as_str() {
                "body" => feed_files.body = Some(bytes),
                "manifest.json" => feed_files.manifest = Some(bytes),
                _ => {
                    if let Some(uuid) = name.strip_suffix(".json") {
                        feed_files.events.push((uuid.to_owned(), bytes));
                    }
                }
            }
        }
        feed_files
    }
}

/// Parses a feed's files in its format.
fn parse_files(feed: &Feed, files: &FeedFiles, failures: &[String]) -> Result<ParsedFeed, String> {
    let exclude = feed.exclude.as_ref();
    match feed.config.format {
        FeedFormat::Freetext | FeedFormat::Csv | FeedFormat::Json => {
            let body = files.body.as_deref().ok_or("no body was fetched")?;
            match feed.config.format {
                FeedFormat::Freetext => Ok(parse::freetext::parse(body, &feed.freetext, exclude)),
                FeedFormat::Csv => {
                    parse::csv::parse(body, &feed.csv, exclude).map_err(|e| e.to_string())
                }
                _ => parse::json::parse(body, &feed.json, exclude).map_err(|e| e.to_string()),
            }
        }
        FeedFormat::Misp => {
            let manifest_bytes = files.manifest.as_deref().ok_or("no manifest.json was fetched")?;
            let manifest = parse::misp::read_manifest(manifest_bytes, &feed.misp)
                .map_err(|e| e.to_string())?;
            let mut parsed = parse::misp::parse_events(&files.events, &feed.misp);
            merge_stats(&mut parsed.stats, &manifest.stats);
            for message in failures {
                parsed.stats.reject(crate::indicator::RejectReason::InvalidEvent, 0, message);
            }
            Ok(parsed)
        }
    }
}

/// What becomes of a feed's last good data after this build.
enum Keep {
    /// The fresh files, accepted with at least one indicator, replace it.
    Save(FeedFiles),
    /// The feed was accepted as empty: it has none any more.
    Drop,
    /// It stays as it is (the feed failed, came back empty or shrank).
    Unchanged,
}

/// Writes what [`decide`] chose for a feed's last good data. Files the store already holds,
/// byte for byte, are not written again. A failure is logged: the build goes on with the
/// data it has.
fn keep_good(store: &HealthStore, feed: &Feed, keep: Keep) {
    let saved = match keep {
        Keep::Save(files) => {
            let named = files.named();
            if store.holds_good(&feed.id, &named) {
                return;
            }
            store.save_good(&feed.id, &named)
        }
        Keep::Drop => store.drop_good(&feed.id),
        Keep::Unchanged => return,
    };
    if let Err(e) = saved {
        tracing::warn!(feed = %feed.id, error = %e, "Could not keep the feed's data as last good data");
    }
}

/// Decides what a feed contributes to this build: its fresh data, or its last good data
/// when it failed, came back empty or shrank beyond `max_shrink`, while that data is younger
/// than `max_stale_days`. The store is only read; what becomes of the last good data is
/// returned, for the caller to write ([`keep_good`]) or not.
fn decide(
    feed: &Feed,
    store: &HealthStore,
    previous: &FeedHealth,
    fetched: Result<Fetched, Failure>,
    parsed: Option<(FeedFiles, Result<ParsedFeed, String>)>,
    now: i64,
) -> (FeedResult, Keep) {
    let mut health = previous.clone();
    let (files, outcome) = match (parsed, &fetched) {
        (Some((files, outcome)), _) => {
            (Some(files), outcome.map_err(|message| Failure { code: "parse_failed", message }))
        }
        (None, Err(failure)) => (None, Err(failure.clone())),
        (None, Ok(_)) => (None, Err(Failure { code: "fetch_failed", message: String::new() })),
    };
    let fresh_stats = outcome.as_ref().map(|p| p.stats.clone()).unwrap_or_default();
    // This build's verdict on the fresh data.
    let (status, problem, fresh) = match outcome {
        Err(Failure { code, message }) => (FeedStatus::Error, Some((code, message)), None),
        Ok(parsed) => {
            let count = parsed.records.len() as u64;
            let had = previous.last_indicators;
            if count == 0 {
                let message = format!("the feed returned 0 entries (previous success: {had})");
                if feed.config.allow_empty || had == 0 {
                    (FeedStatus::Empty, None, Some(parsed))
                } else {
                    (FeedStatus::Empty, Some(("empty", message)), Some(parsed))
                }
            } else if had > 0 && (count as f64) < had as f64 * (1.0 - feed.config.max_shrink) {
                let message = format!(
                    "the feed shrank from {had} to {count} indicators, more than `max_shrink` = {} allows",
                    feed.config.max_shrink
                );
                (FeedStatus::Error, Some(("shrunk", message)), Some(parsed))
            } else {
                (FeedStatus::Ok, None, Some(parsed))
            }
        }
    };

    let Some((_, message)) = &problem else {
        // Accepted: this data becomes the last good data.
        let count = fresh.as_ref().map_or(0, |p| p.records.len() as u64);
        health = FeedHealth {
            last_success: Some(observed_at(&fetched, now)),
            last_indicators: count,
            failing_since: None,
            last_error: None,
        };
        let keep = match (files, count) {
            (Some(files), 1..) => Keep::Save(files),
            _ => Keep::Drop,
        };
        let result = FeedResult {
            index: 0,
            fetched,
            parsed: fresh,
            fresh_stats,
            status,
            problem,
            stale_from: None,
            health,
            parse_reused: false,
        };
        return (result, keep);
    };

    health.failing_since = Some(previous.failing_since.unwrap_or(now));
    health.last_error = Some(message.clone());
    let max_age = (feed.config.max_stale_days * 86_400.0) as i64;
    let fallback = previous
        .last_success
        .filter(|&success| now.saturating_sub(success) <= max_age)
        .and_then(|success| store.load_good(&feed.id).map(|files| (success, files)));
    if let Some((success, named)) = fallback {
        let files = FeedFiles::from_named(named);
        match parse_files(feed, &files, &[]) {
            Ok(parsed) => {
                let result = FeedResult {
                    index: 0,
                    fetched,
                    parsed: Some(parsed),
                    fresh_stats,
                    status,
                    problem,
                    stale_from: Some(success),
                    health,
                    parse_reused: false,
                };
                return (result, Keep::Unchanged);
            }
            Err(e) => {
                tracing::warn!(feed = %feed.id, error = %e, "The last good data no longer parses");
            }
        }
    } else if previous.last_success.is_some() && previous.last_indicators > 0 {
        tracing::warn!(
            feed = %feed.id,
            max_stale_days = feed.config.max_stale_days,
            "The last good data is too old to stand in; the feed contributes nothing"
        );
    }
    // No usable last good data: an empty feed still reports its (empty) parse.
    let parsed = fresh.filter(|_| status == FeedStatus::Empty);
    let result = FeedResult {
        index: 0,
        fetched,
        parsed,
        fresh_stats,
        status,
        problem,
        stale_from: None,
        health,
        parse_reused: false,
    };
    (result, Keep::Unchanged)
}

/// When a feed's data was current: the build time, or, for a body served from the cache
/// (an `--offline` build, or within `refresh_secs`), the time it was fetched, so that the
/// ledger and the feed's last success do not make old data look fresh.
fn observed_at(fetched: &Result<Fetched, Failure>, now: i64) -> i64 {
    fetched.as_ref().ok().and_then(|f| f.as_of).map_or(now, |as_of| as_of.min(now))
}

/// One log line per feed: what happened and what the build uses.
fn log_feed(report: &FeedReport) {
    let reason = report.error.as_deref().unwrap_or("");
    match (report.status, report.stale) {
        (FeedStatus::Ok, _) => tracing::info!(
            feed = %report.id,
            http = report.http_status.map_or_else(|| "none".to_owned(), |s| s.to_string()),
            bytes = report.bytes,
            ms = report.duration_ms,
            indicators = report.indicators,
            rejected = report.rejected,
            parse = if report.parse_reused { "cached" } else { "parsed" },
            "Feed read"
        ),
        (_, true) => tracing::warn!(
            feed = %report.id,
            reason,
            since = report.failing_since.as_deref().unwrap_or(""),
            indicators = report.indicators,
            "Feed failing; its last good data stands in"
        ),
        (FeedStatus::Empty, false) if report.error.is_none() => {
            tracing::warn!(feed = %report.id, "Feed is empty");
        }
        _ => tracing::warn!(feed = %report.id, reason, "Feed failed; it contributes nothing"),
    }
}

/// Adds the manifest's counts (invalid keys, events left out by the rules) to the events'
/// counts.
fn merge_stats(into: &mut parse::ParseStats, from: &parse::ParseStats) {
    into.filtered_events += from.filtered_events;
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
        // A local file has no HTTP status; the report must not invent one.
        Ok(f) => {
            let http_status = (f.origin != crate::fetch::Origin::Local).then_some(f.http_status);
            (Some(f.origin), http_status, f.bytes, f.duration_ms)
        }
        Err(_) => (None, None, 0, 0),
    };
    let stats = result.fresh_stats.clone();
    let mut by_type: BTreeMap<String, u64> = BTreeMap::new();
    let indicators = result.parsed.as_ref().map_or(0, |p| {
        for record in &p.records {
            *by_type.entry(record.indicator.kind.as_str().to_owned()).or_default() += 1;
        }
        p.records.len() as u64
    });
    FeedReport {
        id: feed.id.clone(),
        name: feed.config.name.clone(),
        provider: feed.config.provider.clone(),
        format: feed.config.format,
        source,
        licence: feed.config.licence.clone(),
        homepage: feed.config.homepage.clone(),
        status: result.status,
        reason: result.problem.as_ref().map(|(code, _)| (*code).to_owned()),
        error: result.problem.as_ref().map(|(_, message)| message.clone()),
        stale: result.stale_from.is_some(),
        last_success: result.health.last_success.map(export::rfc3339),
        failing_since: result.health.failing_since.map(export::rfc3339),
        origin,
        http_status,
        bytes,
        duration_ms,
        parse_reused: result.parse_reused,
        rejected: stats.rejected_total(),
        stats,
        indicators,
        by_type,
        tags: feed.config.tags.clone(),
    }
}

/// Whether an earlier build left an output folder (or one moved aside by a killed build).
fn has_previous_output(output: &Path) -> bool {
    output.join("report.json").is_file() || aside_dir(output).join("report.json").is_file()
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
        crate::fs::remove_dir_all(dir).map_err(io)?;
    }
    std::fs::create_dir_all(dir).map_err(io)
}

/// Replaces `output` with `staging` so that a reader, and a build killed at any moment, sees
/// the old folder or the new one, never a mix and never nothing. On Linux both folders are
/// exchanged in one `renameat2(RENAME_EXCHANGE)`; elsewhere the old folder is moved aside
/// first, and [`recover_output`] puts it back if the build dies in between.
fn swap_in(staging: &Path, output: &Path) -> Result<(), BuildError> {
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| BuildError::Io { path, source }
    };
    let old = aside_dir(output);
    if old.exists() {
        crate::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    if output.exists() {
        if exchange(staging, output).is_ok() {
            // `staging` now holds the previous output.
            return crate::fs::remove_dir_all(staging).map_err(io(staging));
        }
        std::fs::rename(output, &old).map_err(io(output))?;
    }
    std::fs::rename(staging, output).map_err(io(output))?;
    if old.exists() {
        crate::fs::remove_dir_all(&old).map_err(io(&old))?;
    }
    Ok(())
}

/// Where the previous output waits while the new one is renamed in (non-Linux systems).
fn aside_dir(output: &Path) -> PathBuf {
    let name =
        output.file_name().map_or_else(|| "site".into(), |n| n.to_string_lossy().into_owned());
    output.with_file_name(format!(".{name}.old"))
}

/// Puts back an output folder that a killed build left moved aside.
fn recover_output(output: &Path) -> Result<(), BuildError> {
    let old = aside_dir(output);
    if !output.exists() && old.is_dir() {
        tracing::warn!(path = %output.display(), "Restoring the output folder a killed build left aside");
        std::fs::rename(&old, output)
            .map_err(|source| BuildError::Io { path: output.to_owned(), source })?;
    }
    Ok(())
}

#[cfg(target_os = "linux")]
fn exchange(a: &Path, b: &Path) -> std::io::Result<()> {
    use rustix::fs::{CWD, RenameFlags, renameat_with};
    renameat_with(CWD, a, CWD, b, RenameFlags::EXCHANGE).map_err(std::io::Error::from)
}

#[cfg(not(target_os = "linux"))]
fn exchange(_a: &Path, _b: &Path) -> std::io::Result<()> {
    Err(std::io::Error::from(std::io::ErrorKind::Unsupported))
}
