//! Semantic checks of parsed definitions, and their resolution into runtime structs.
//!
//! serde has already refused unknown keys and values of the wrong type. What is left is what
//! one value cannot say about itself: ranges (`lifetime_days` above 0), shapes (a delimiter,
//! a regular expression, an output path), pairs (`url` or `path`, settings for the feed's own
//! format) and references between files (a task naming a feed or a model). Every check runs
//! on every item, and every problem is kept in a [`Report`] with the position of the key it is
//! about, so that one `feedsmith check` shows a reviewer all of them.
//!
//! Choices worth knowing:
//! - A task naming a **disabled** feed is not an error: the feed is left out with a warning,
//!   so that switching a broken upstream off is a one-line change to its own file.
//! - Unknown attribute types in a decay model are accepted (MISP's own models list types such
//!   as `snort` that feedsmith never exports); the resolved model keeps only known ones.
//! - References to an item whose file did not parse are not reported again.
//! - A task without `warninglists` applies every list of `warninglists.d/`; `[]` applies none.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Component, Path, PathBuf};
use std::time::Duration;

use regex::Regex;

use super::load::{DECAY_DIR, FEEDS_DIR, Folder, Item, SourceFile, TASKS_DIR};
use super::locate::Position;
use super::warninglist::{Lists, WARNINGLISTS_DIR};
use super::{
    Column, ConfigErrors, CsvOptions, DecayConfig, DecayKind, DecayModel, Diagnostic, Feed,
    FeedConfig, FeedFormat, JsonOptions, MispRules, ModelChoice, OutputFormat, Project,
    ProjectConfig, Settings, Source, Task, TaskConfig,
};
use crate::indicator::AttrType;
use crate::text::regex_reason;

/// Default site title and MISP organisation name.
const DEFAULT_TITLE: &str = "feedsmith";
/// Default build output folder, relative to the root.
const DEFAULT_OUTPUT_DIR: &str = "site";
/// Default cache folder, relative to the root.
const DEFAULT_CACHE_DIR: &str = ".feedsmith/cache";
/// Default state folder, relative to the root.
const DEFAULT_STATE_DIR: &str = ".feedsmith/state";
/// Builds the history keeps by default: more than a year of nightly builds.
const DEFAULT_HISTORY_BUILDS: usize = 400;
/// The most builds the history may keep.
const MAX_HISTORY_BUILDS: usize = 100_000;
/// Default time allowed for one request, in seconds.
const DEFAULT_TIMEOUT_SECS: u64 = 60;
/// Default number of requests in flight.
const DEFAULT_CONCURRENCY: usize = 8;
/// Default largest body, in bytes (200 MiB).
const DEFAULT_MAX_BODY_BYTES: u64 = 200 * 1024 * 1024;
/// Default largest decompressed body, in bytes (1 GiB).
const DEFAULT_MAX_DECOMPRESSED_BYTES: u64 = 1024 * 1024 * 1024;
/// Default retries of a failed request.
const DEFAULT_RETRIES: u32 = 3;
/// Most retries a definition may ask for.
const MAX_RETRIES: u32 = 10;
/// Default first back-off delay, in milliseconds.
const DEFAULT_RETRY_BASE_MS: u64 = 500;
/// Default requests in flight at once to one host.
const DEFAULT_PER_HOST_CONCURRENCY: usize = 2;
/// The TLP tags an output may put on its MISP event.
const TLP_TAGS: &[&str] =
    &["tlp:clear", "tlp:white", "tlp:green", "tlp:amber", "tlp:amber+strict", "tlp:red"];

/// Every problem found so far, in the order found, and the warnings beside them.
#[derive(Clone, Debug, Default)]
pub(crate) struct Report {
    diagnostics: Vec<Diagnostic>,
    warnings: Vec<Diagnostic>,
}

impl Report {
    /// Records a problem about `key` of a parsed file, at the key's position (or its nearest
    /// written parent's when the key is absent).
    pub(crate) fn error(&mut self, source: &SourceFile, key: &str, message: impl Into<String>) {
        let position = source.keys.position(key);
        self.located(source.file.clone(), position, key, message);
    }

    /// Records a problem at a known position.
    pub(crate) fn located(
        &mut self,
        file: PathBuf,
        (line, column): Position,
        key: &str,
        message: impl Into<String>,
    ) {
        self.diagnostics.push(Diagnostic {
            file,
            line,
            column,
            key: key.to_owned(),
            message: message.into(),
        });
    }

    /// Records a problem about a file as a whole, placed at its first line and column.
    pub(crate) fn file_error(&mut self, file: PathBuf, message: impl Into<String>) {
        self.located(file, (1, 1), "", message);
    }

    /// Records a located warning about `key`: the definitions are valid, but probably not
    /// what was meant. It is logged at once, and kept for the annotations of `check`.
    pub(crate) fn warning(&mut self, source: &SourceFile, key: &str, message: impl Into<String>) {
        let position = source.keys.position(key);
        self.warning_at(source.file.clone(), position, key, message);
    }

    /// Records a warning at a known position, logged at once.
    pub(crate) fn warning_at(
        &mut self,
        file: PathBuf,
        (line, column): Position,
        key: &str,
        message: impl Into<String>,
    ) {
        let message = message.into();
        tracing::warn!("{}:{line}:{column}: `{key}`: {message}", file.display());
        self.warnings.push(Diagnostic { file, line, column, key: key.to_owned(), message });
    }

    /// The warnings recorded so far, sorted by file, line and column.
    pub(crate) fn take_warnings(&mut self) -> Vec<Diagnostic> {
        let mut warnings = std::mem::take(&mut self.warnings);
        sort_by_place(&mut warnings);
        warnings
    }

    /// Whether no problem was found.
    pub(crate) fn is_empty(&self) -> bool {
        self.diagnostics.is_empty()
    }

    /// The problems, sorted by file, line and column (in the order found for ties).
    pub(crate) fn into_errors(mut self) -> ConfigErrors {
        let warnings = self.take_warnings();
        sort_by_place(&mut self.diagnostics);
        ConfigErrors { diagnostics: self.diagnostics, warnings }
    }
}

/// Sorts diagnostics by file, line and column, keeping the order found for ties.
fn sort_by_place(diagnostics: &mut [Diagnostic]) {
    diagnostics.sort_by(|a, b| (&a.file, a.line, a.column).cmp(&(&b.file, b.line, b.column)));
}

/// Checks everything that parsed and resolves it. Returns `None` when a problem was found;
/// the problems are in `report`.
pub(crate) fn resolve(
    root: &Path,
    settings: Option<&Item<ProjectConfig>>,
    feeds: &Folder<FeedConfig>,
    models: &Folder<DecayConfig>,
    tasks: &Folder<TaskConfig>,
    lists: &Lists,
    report: &mut Report,
) -> Option<Project> {
    let settings = resolve_settings(root, settings, report);
    let resolved_feeds: Vec<Option<Feed>> =
        feeds.items.iter().map(|item| resolve_feed(root, item, report)).collect();
    let resolved_models: Vec<Option<DecayModel>> =
        models.items.iter().map(|item| resolve_model(item, report)).collect();
    let refs = References { feeds, models, lists };
    let mut outputs = OutputPaths::default();
    let resolved_tasks: Vec<Option<Task>> = tasks
        .items
        .iter()
        .map(|item| resolve_task(root, item, &refs, &mut outputs, report))
        .collect();
    if !report.is_empty() {
        return None;
    }
    let project = Project {
        root: root.to_path_buf(),
        settings: settings?,
        feeds: resolved_feeds.into_iter().collect::<Option<_>>()?,
        models: resolved_models.into_iter().collect::<Option<_>>()?,
        tasks: resolved_tasks.into_iter().collect::<Option<_>>()?,
        warninglists: lists.items.clone(),
        warnings: Vec::new(),
    };
    for (task, item) in project.tasks.iter().zip(&tasks.items) {
        warn_about_model_choice(&project, task, &item.source, report);
        warn_about_unreachable_outputs(task, &item.source, report);
    }
    Some(project)
}

/// Warns about an output that can never get an entry: the task's `types` hold none of the
/// types its format writes (an `nftables` output of a domain task, a `panos-edl` left at
/// `list = "ip"`). Such a file is written empty every build, and for some consumers an
/// empty list is not harmless: an empty nftables or ipset file flushes the live sets.
fn warn_about_unreachable_outputs(task: &Task, source: &SourceFile, report: &mut Report) {
    if task.types.is_empty() {
        return;
    }
    for (index, output) in task.config.outputs.iter().enumerate() {
        let Some(writable) = output.writable_types() else { continue };
        if task.types.iter().any(|t| writable.contains(t)) {
            continue;
        }
        let names = |types: &[AttrType]| {
            types.iter().map(|t| format!("`{}`", t.as_str())).collect::<Vec<_>>().join(", ")
        };
        report.warning(
            source,
            &format!("outputs[{index}].format"),
            format!(
                "`{}` writes only {}, and the task selects only {}: the output is always \
                 empty (and an empty firewall set or list replaces the live one)",
                output.format.as_str(),
                names(writable),
                names(&task.types)
            ),
        );
    }
}

/// Warns where a task's model choice does what its author may not expect: under `auto`,
/// types that several models cover (the first by id wins, so a new model file can take them
/// over); with a named model and `keep_unscored = false`, task types the model does not
/// list, which it does not score and the task therefore leaves out.
fn warn_about_model_choice(
    project: &Project,
    task: &Task,
    source: &SourceFile,
    report: &mut Report,
) {
    let types: Vec<AttrType> = if task.types.is_empty() {
        let mut all: Vec<AttrType> =
            project.models.iter().flat_map(|m| m.types.iter().copied()).collect();
        all.sort_by_key(|t| t.as_str());
        all.dedup();
        all
    } else {
        task.types.clone()
    };
    match task.model {
        ModelChoice::Auto => {
            // Per type, the models covering it, when more than one does.
            let mut shared: Vec<(&str, Vec<&str>)> = Vec::new();
            for kind in &types {
                let covering: Vec<&str> = project
                    .models
                    .iter()
                    .filter(|m| m.types.contains(kind))
                    .map(|m| m.id.as_str())
                    .collect();
                if covering.len() > 1 {
                    shared.push((kind.as_str(), covering));
                }
            }
            if let Some((_, covering)) = shared.first() {
                let named: Vec<String> = shared.iter().map(|(t, _)| format!("`{t}`")).collect();
                let models: Vec<String> = covering.iter().map(|m| format!("`{m}`")).collect();
                report.warning(
                    source,
                    "select.model",
                    format!(
                        "`auto` scores {} with `{}`, the first by id of the models covering \
                         them ({}), so a model file added with an earlier id would take them \
                         over; name a model to choose",
                        named.join(", "),
                        covering[0],
                        models.join(", ")
                    ),
                );
            }
        }
        ModelChoice::Model(index) => {
            let model = &project.models[index];
            let outside: Vec<&str> = task
                .types
                .iter()
                .filter(|t| !model.types.contains(t))
                .map(|t| t.as_str())
                .collect();
            // Kept unscored (the default), they are what the task asks; dropped, say so.
            if !outside.is_empty() && !task.config.select.keep_unscored {
                report.warning(
                    source,
                    "select.model",
                    format!(
                        "model `{}` does not list {} in its `attribute_types`: as in MISP, it \
                         does not score them, and with `keep_unscored = false` they are all \
                         left out",
                        model.id,
                        outside.iter().map(|o| format!("`{o}`")).collect::<Vec<_>>().join(", ")
                    ),
                );
            }
        }
    }
}

fn resolve_settings(
    root: &Path,
    item: Option<&Item<ProjectConfig>>,
    report: &mut Report,
) -> Option<Settings> {
    let default = ProjectConfig::default();
    let config = item.map_or(&default, |item| &item.config);
    let mut ok = true;
    let mut fail = |key: &str, message: String, report: &mut Report| {
        ok = false;
        if let Some(item) = item {
            report.error(&item.source, key, message);
        }
    };
    if config.title.as_deref().is_some_and(|t| t.trim().is_empty()) {
        fail("title", "the title is empty".to_owned(), report);
    }
    if let Some(base_url) = &config.base_url
        && let Err(why) = check_http_url(base_url)
    {
        fail("base_url", why, report);
    }
    let mut folder = |key: &str, value: Option<&str>, default: &str, report: &mut Report| {
        let value = value.unwrap_or(default);
        if value.trim().is_empty() {
            fail(key, "the folder is empty; leave the key out for the default".to_owned(), report);
        }
        root.join(value)
    };
    let output_dir = folder("output_dir", config.output_dir.as_deref(), DEFAULT_OUTPUT_DIR, report);
    let cache_dir = folder("cache_dir", config.cache_dir.as_deref(), DEFAULT_CACHE_DIR, report);
    let state_dir = folder("state_dir", config.state_dir.as_deref(), DEFAULT_STATE_DIR, report);
    if let Some(why) = unsafe_output_dir(root, &output_dir) {
        fail("output_dir", why, report);
    }
    if let Some(builds) = config.history_builds.filter(|b| !(1..=MAX_HISTORY_BUILDS).contains(b)) {
        fail(
            "history_builds",
            format!("must be between 1 and {MAX_HISTORY_BUILDS}, not {builds}"),
            report,
        );
    }
    let fetch = &config.fetch;
    if fetch.timeout_secs == Some(0) {
        fail("fetch.timeout_secs", "must be at least 1 second, not 0".to_owned(), report);
    }
    if fetch.concurrency == Some(0) {
        fail("fetch.concurrency", "must be at least 1, not 0".to_owned(), report);
    }
    if fetch.max_body_bytes == Some(0) {
        fail("fetch.max_body_bytes", "must be at least 1 byte, not 0".to_owned(), report);
    }
    if fetch.max_decompressed_bytes == Some(0) {
        fail("fetch.max_decompressed_bytes", "must be at least 1 byte, not 0".to_owned(), report);
    }
    if let Some(retries) = fetch.retries.filter(|r| *r > MAX_RETRIES) {
        fail("fetch.retries", format!("must be at most {MAX_RETRIES}, not {retries}"), report);
    }
    if fetch.per_host_concurrency == Some(0) {
        fail("fetch.per_host_concurrency", "must be at least 1, not 0".to_owned(), report);
    }
    ok.then(|| Settings {
        title: config.title.clone().unwrap_or_else(|| DEFAULT_TITLE.to_owned()),
        base_url: config.base_url.clone(),
        output_dir,
        cache_dir,
        state_dir,
        history_builds: config.history_builds.unwrap_or(DEFAULT_HISTORY_BUILDS),
        timeout: Duration::from_secs(fetch.timeout_secs.unwrap_or(DEFAULT_TIMEOUT_SECS)),
        concurrency: fetch.concurrency.unwrap_or(DEFAULT_CONCURRENCY),
        max_body_bytes: fetch.max_body_bytes.unwrap_or(DEFAULT_MAX_BODY_BYTES),
        max_decompressed_bytes: fetch
            .max_decompressed_bytes
            .unwrap_or(DEFAULT_MAX_DECOMPRESSED_BYTES),
        retries: fetch.retries.unwrap_or(DEFAULT_RETRIES),
        retry_base: Duration::from_millis(fetch.retry_base_ms.unwrap_or(DEFAULT_RETRY_BASE_MS)),
        per_host_concurrency: fetch.per_host_concurrency.unwrap_or(DEFAULT_PER_HOST_CONCURRENCY),
    })
}

/// The build replaces its output folder whole: it must not be the repository, hold it, or be
/// one of the folders the definitions live in.
fn unsafe_output_dir(root: &Path, output_dir: &Path) -> Option<String> {
    let root = normalize(root);
    let out = normalize(output_dir);
    if root.starts_with(&out) {
        return Some(format!(
            "`{}` holds the repository, and a build replaces the output folder whole",
            output_dir.display()
        ));
    }
    let protected = [FEEDS_DIR, DECAY_DIR, TASKS_DIR, WARNINGLISTS_DIR, "templates", ".git"];
    protected.iter().find(|dir| out.starts_with(root.join(dir))).map(|dir| {
        format!("`{dir}` holds definitions, and a build replaces the output folder whole")
    })
}

/// Removes `.` and resolves `..` lexically (without touching the file system).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn check_http_url(raw: &str) -> Result<url::Url, String> {
    let url =
        url::Url::parse(raw).map_err(|err| format!("`{}` is not a URL: {err}", shown(raw)))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(format!("`{}` is not an http or https URL", shown(raw)));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(format!("`{}` has no host", shown(raw)));
    }
    Ok(url)
}

fn check_not_blank(source: &SourceFile, key: &str, value: &str, report: &mut Report) -> bool {
    if value.trim().is_empty() {
        report.error(source, key, "must not be empty");
        return false;
    }
    true
}

fn check_score(
    source: &SourceFile,
    key: &str,
    value: f64,
    allow_zero: bool,
    report: &mut Report,
) -> bool {
    let ok = value.is_finite() && if allow_zero { value >= 0.0 } else { value > 0.0 };
    if !ok {
        let bound = if allow_zero { "0 or more" } else { "greater than 0" };
        report.error(source, key, format!("must be a number {bound}, not {value}"));
    }
    ok
}

fn resolve_feed(root: &Path, item: &Item<FeedConfig>, report: &mut Report) -> Option<Feed> {
    let config = &item.config;
    let source = &item.source;
    let before = report.diagnostics.len();
    check_not_blank(source, "name", &config.name, report);
    check_not_blank(source, "provider", &config.provider, report);

    let feed_source = match (&config.url, &config.path) {
        (Some(_), Some(_)) => {
            report.error(
                source,
                "path",
                "`url` is set too: a feed reads from exactly one of `url` and `path`",
            );
            None
        }
        (None, None) => {
            report.error(source, "", "a feed needs one of `url` and `path`");
            None
        }
        (Some(url), None) => match check_http_url(url) {
            Ok(parsed) if parsed.password().is_some() || !parsed.username().is_empty() => {
                report.error(
                    source,
                    "url",
                    "credentials in a URL reach logs and the site: put them in an environment \
                     variable named in `headers_from_env`",
                );
                None
            }
            Ok(_) if config.format == FeedFormat::Misp => {
                Some(Source::Url(url.trim_end_matches('/').to_owned()))
            }
            Ok(_) => Some(Source::Url(url.clone())),
            Err(why) => {
                report.error(source, "url", why);
                None
            }
        },
        (None, Some(path)) => resolve_feed_path(root, source, config.format, path, report),
    };

    for (key, present, format) in [
        ("csv", config.csv.is_some(), FeedFormat::Csv),
        ("freetext", config.freetext.is_some(), FeedFormat::Freetext),
        ("misp", config.misp.is_some(), FeedFormat::Misp),
        ("json", config.json.is_some(), FeedFormat::Json),
    ] {
        if present && config.format != format {
            report.error(
                source,
                key,
                format!(
                    "settings for `format = \"{}\"`, but the feed's format is `{}`",
                    format.as_str(),
                    config.format.as_str()
                ),
            );
        }
    }

    let csv = config.csv.clone().unwrap_or_default();
    let csv = resolve_csv(source, csv, report);
    let json = config.json.clone().unwrap_or_default();
    let json = resolve_json(source, json, report);

    if let Some(score) = config.base_score {
        check_score(source, "base_score", score, true, report);
    }
    if !(config.max_shrink.is_finite() && (0.0..=1.0).contains(&config.max_shrink)) {
        report.error(
            source,
            "max_shrink",
            format!("must be a fraction from 0 to 1 (0.5 = 50 %), not {}", config.max_shrink),
        );
    }
    check_score(source, "max_stale_days", config.max_stale_days, true, report);

    for (header, variable) in &config.headers_from_env {
        let key = format!("headers_from_env.{header}");
        if !is_header_name(header) {
            report.error(source, &key, format!("`{}` is not an HTTP header name", shown(header)));
        }
        if !is_env_var_name(variable) {
            report.error(
                source,
                &key,
                format!(
                    "`{}` is not an environment variable name (letters, digits and `_`, \
                     not starting with a digit)",
                    shown(variable)
                ),
            );
        }
    }

    if config.zip_member.as_deref().is_some_and(|m| m.trim().is_empty()) {
        report.error(
            source,
            "zip_member",
            "must not be empty; leave the key out for a zip of one file",
        );
    }
    if config.max_decompressed_bytes == Some(0) {
        report.error(source, "max_decompressed_bytes", "must be at least 1 byte, not 0");
    }
    if let Some(ca_file) = &config.ca_file {
        if ca_file.trim().is_empty() {
            report.error(source, "ca_file", "must not be empty");
        } else if !root.join(ca_file).is_file() {
            report.error(source, "ca_file", format!("`{}` is not a file", shown(ca_file)));
        }
    }

    let exclude = config.exclude_regex.as_deref().and_then(|raw| {
        compile_exclude(raw).map_err(|why| report.error(source, "exclude_regex", why)).ok()
    });

    if let Some(homepage) = &config.homepage
        && let Err(why) = check_http_url(homepage)
    {
        report.error(source, "homepage", why);
    }

    let misp = config.misp.clone().unwrap_or_default();
    check_misp_rules(source, &misp.rules, report);
    let mut freetext = config.freetext.clone().unwrap_or_default();
    if let Some(raw) = &freetext.context_regex {
        match compile_context(raw) {
            Ok(regex) => freetext.context = Some(regex),
            Err(why) => report.error(source, "freetext.context_regex", why),
        }
    }

    if report.diagnostics.len() != before {
        return None;
    }
    Some(Feed {
        id: item.id.clone(),
        file: source.file.clone(),
        source: feed_source?,
        config: config.clone(),
        csv: csv?,
        freetext,
        misp,
        json: json?,
        exclude,
    })
}

/// Checks `misp.rules`: no list entry may be empty, because MISP's event-file pass finds an
/// empty text inside every name, so that an empty `tags_not` entry would leave out everything.
fn check_misp_rules(source: &SourceFile, rules: &MispRules, report: &mut Report) {
    for (key, list) in [
        ("tags_or", &rules.tags_or),
        ("tags_not", &rules.tags_not),
        ("orgs_or", &rules.orgs_or),
        ("orgs_not", &rules.orgs_not),
    ] {
        for (index, entry) in list.iter().enumerate() {
            if entry.trim().is_empty() {
                report.error(
                    source,
                    &format!("misp.rules.{key}[{index}]"),
                    "must not be empty: an empty entry matches every tag and organisation name",
                );
            }
        }
    }
}

fn resolve_feed_path(
    root: &Path,
    source: &SourceFile,
    format: FeedFormat,
    path: &str,
    report: &mut Report,
) -> Option<Source> {
    if path.trim().is_empty() {
        report.error(source, "path", "must not be empty");
        return None;
    }
    // A feed reads files inside the repository only: a definition added in a pull request
    // must not be able to read the build machine's secrets and show them on the site as
    // rejected lines.
    let relative = Path::new(path);
    let escapes = relative.is_absolute()
        || relative
            .components()
            .any(|c| !matches!(c, std::path::Component::Normal(_) | std::path::Component::CurDir));
    let full = root.join(path);
    let outside = escapes
        || match (full.canonicalize(), root.canonicalize()) {
            (Ok(resolved), Ok(root)) => !resolved.starts_with(root),
            _ => false,
        };
    if outside {
        report.error(
            source,
            "path",
            format!(
                "`{}` is outside the repository; a feed's `path` is relative to the repository root and stays inside it",
                shown(path)
            ),
        );
        return None;
    }
    let Ok(meta) = std::fs::metadata(&full) else {
        // Not an error of the definitions: the file may be written by an earlier CI step.
        // The build reports the feed as failed if it is still missing then.
        report.warning(
            source,
            "path",
            format!(
                "`{}` does not exist yet; the feed will fail if it is still missing at build time",
                shown(path)
            ),
        );
        return Some(Source::Path(full));
    };
    match (format, meta.is_dir()) {
        (FeedFormat::Misp, false) => {
            report.error(
                source,
                "path",
                format!("`{}` is a file; a MISP feed is a folder", shown(path)),
            );
            None
        }
        (FeedFormat::Csv | FeedFormat::Freetext | FeedFormat::Json, true) => {
            report.error(
                source,
                "path",
                format!("`{}` is a folder; a `{}` feed is a file", shown(path), format.as_str()),
            );
            None
        }
        _ => Some(Source::Path(full)),
    }
}

fn resolve_csv(
    source: &SourceFile,
    mut csv: CsvOptions,
    report: &mut Report,
) -> Option<CsvOptions> {
    let mut ok = true;
    if let Some(delimiter) = resolve_delimiter(&csv.delimiter) {
        csv.delimiter = delimiter;
    } else {
        ok = false;
        report.error(
            source,
            "csv.delimiter",
            format!(
                "`{}` is not an accepted delimiter: use one character, `\\t` for TAB, or one \
                 character followed by spaces (such as `, `)",
                shown(&csv.delimiter)
            ),
        );
    }
    for (index, column) in csv.value_columns.iter().enumerate() {
        ok &= check_column(source, &format!("csv.value_columns[{index}]"), column, &csv, report);
    }
    if csv.column_count == Some(0) {
        ok = false;
        report.error(source, "csv.column_count", "must be at least 1, not 0");
    }
    for (key, column) in [
        ("csv.type_column", &csv.type_column),
        ("csv.first_seen_column", &csv.first_seen_column),
        ("csv.last_seen_column", &csv.last_seen_column),
        ("csv.tags_column", &csv.tags_column),
    ] {
        let Some(column) = column else { continue };
        ok &= check_column(source, key, column, &csv, report);
        if csv.value_columns.is_empty() {
            ok = false;
            report.error(
                source,
                key,
                "needs `csv.value_columns`: when every column is read as a value, this column \
                 would be read as one too",
            );
        }
    }
    ok &= check_type_map(source, "csv", &csv.type_map, csv.type_column.is_some(), report);
    if csv.tag_separator.is_empty() {
        ok = false;
        report.error(source, "csv.tag_separator", "must not be empty");
    }
    if csv.comment_prefix.is_empty() {
        ok = false;
        report.error(
            source,
            "csv.comment_prefix",
            "an empty prefix would make every row a comment",
        );
    } else if csv.comment_prefix.contains(['\n', '\r']) {
        ok = false;
        report.error(source, "csv.comment_prefix", "must not hold a line break");
    }
    ok.then_some(csv)
}

/// Checks one column reference of `[csv]`: numbers start at 1 and stay within
/// `column_count`, names need a header.
fn check_column(
    source: &SourceFile,
    key: &str,
    column: &Column,
    csv: &CsvOptions,
    report: &mut Report,
) -> bool {
    match column {
        Column::Number(0) => {
            report.error(source, key, "columns are numbered from 1, as in MISP");
            false
        }
        Column::Number(n) => match csv.column_count {
            Some(count) if *n > count && count > 0 => {
                report.error(
                    source,
                    key,
                    format!("column {n} is beyond `csv.column_count` = {count}"),
                );
                false
            }
            _ => true,
        },
        Column::Name(name) if name.trim().is_empty() => {
            report.error(source, key, "a column name must not be empty");
            false
        }
        Column::Name(name) if !csv.header => {
            report.error(
                source,
                key,
                format!(
                    "`{}` is a column name, which needs `csv.header = true` to read the names \
                     from the header; or give the column's 1-based number",
                    shown(name)
                ),
            );
            false
        }
        Column::Name(_) => true,
    }
}

/// Checks a `type_map` of `[csv]` or `[json]`: every target is a MISP type feedsmith knows,
/// and the map has a type column or field to apply to.
fn check_type_map(
    source: &SourceFile,
    section: &str,
    map: &std::collections::BTreeMap<String, String>,
    has_type_source: bool,
    report: &mut Report,
) -> bool {
    let mut ok = true;
    if !map.is_empty() && !has_type_source {
        ok = false;
        let needed = if section == "csv" { "csv.type_column" } else { "json.type_field" };
        report.error(
            source,
            &format!("{section}.type_map"),
            format!("has nothing to map without `{needed}`"),
        );
    }
    for (from, to) in map {
        if AttrType::from_name(to).is_none() {
            ok = false;
            report.error(
                source,
                &format!("{section}.type_map.{from}"),
                format!(
                    "`{}` is not a MISP attribute type feedsmith knows (such as `ip-dst`, \
                     `domain`, `url`, `sha256`)",
                    shown(to)
                ),
            );
        }
    }
    ok
}

fn resolve_json(
    source: &SourceFile,
    json: JsonOptions,
    report: &mut Report,
) -> Option<JsonOptions> {
    let mut ok = true;
    let mut path = |key: &str, value: &str, wildcard: bool| {
        if let Err(why) = check_field_path(value, wildcard) {
            ok = false;
            report.error(source, key, why);
        }
    };
    if let Some(records) = &json.records {
        path("json.records", records, true);
    }
    path("json.value_field", &json.value_field, false);
    for (key, field) in [
        ("json.type_field", &json.type_field),
        ("json.first_seen_field", &json.first_seen_field),
        ("json.last_seen_field", &json.last_seen_field),
        ("json.tags_field", &json.tags_field),
    ] {
        if let Some(field) = field {
            path(key, field, false);
        }
    }
    ok &= check_type_map(source, "json", &json.type_map, json.type_field.is_some(), report);
    if json.tag_separator.is_empty() {
        ok = false;
        report.error(source, "json.tag_separator", "must not be empty");
    }
    ok.then_some(json)
}

/// A dotted JSON field path: no empty segment, and `*` only where `wildcard` allows it.
fn check_field_path(path: &str, wildcard: bool) -> Result<(), String> {
    if path.split('.').any(|segment| segment.trim().is_empty()) {
        return Err(format!(
            "`{}` has an empty segment: give keys joined by single dots, such as `data.value`",
            shown(path)
        ));
    }
    if !wildcard && path.split('.').any(|segment| segment == "*") {
        return Err(format!("`{}`: `*` selects many values, and a field names one", shown(path)));
    }
    Ok(())
}

/// The separator a delimiter setting stands for: one character (not a line break or a quote),
/// the two characters `\t` for TAB, or one visible character followed by spaces, such as
/// the `, ` that `ThreatFox` writes between quoted fields.
fn resolve_delimiter(raw: &str) -> Option<String> {
    if raw == "\\t" {
        return Some("\t".to_owned());
    }
    let mut chars = raw.chars();
    let first = chars.next()?;
    if matches!(first, '\n' | '\r' | '"') {
        return None;
    }
    let rest = chars.as_str();
    if rest.is_empty() || (!first.is_whitespace() && rest.chars().all(|c| c == ' ')) {
        Some(raw.to_owned())
    } else {
        None
    }
}

/// Compiles `exclude_regex`, either a bare pattern or MISP's delimited `/pattern/flags`.
fn compile_exclude(raw: &str) -> Result<Regex, String> {
    let pattern = crate::text::php_pattern(raw).map_err(|why| format!("`{}` {why}", shown(raw)))?;
    Regex::new(&pattern).map_err(|err| {
        format!("`{}` is not a valid regular expression: {}", shown(raw), regex_reason(&err))
    })
}

/// Compiles `freetext.context_regex`, a bare pattern that must match some text: a pattern
/// that matches empty text would cut nothing and count everywhere.
fn compile_context(raw: &str) -> Result<Regex, String> {
    let regex = Regex::new(raw).map_err(|err| {
        format!("`{}` is not a valid regular expression: {}", shown(raw), regex_reason(&err))
    })?;
    if regex.is_match("") {
        return Err(format!("`{}` matches empty text; it must match the text to cut", shown(raw)));
    }
    Ok(regex)
}

/// An HTTP header name: one or more token characters (RFC 9110 §5.6.2).
fn is_header_name(name: &str) -> bool {
    !name.is_empty()
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

/// An environment variable name as shells accept it: `^[A-Za-z_][A-Za-z0-9_]*$`.
fn is_env_var_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && bytes.all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

fn resolve_model(item: &Item<DecayConfig>, report: &mut Report) -> Option<DecayModel> {
    let config = &item.config;
    let source = &item.source;
    let before = report.diagnostics.len();
    check_not_blank(source, "name", &config.name, report);
    if let Some(uuid) = &config.uuid
        && uuid::Uuid::parse_str(uuid).is_err()
    {
        report.error(source, "uuid", format!("`{}` is not a UUID", shown(uuid)));
    }
    // Checked as MISP keeps them: a value that rounds to 0 is 0.
    let config = &round_like_misp(&item.id, source, config, report);
    // MISP divides by both: a zero would make every score infinite or undefined. A positive
    // value below 0.00005 is stored by MISP as 0.
    for (key, written, kept) in [
        ("lifetime_days", item.config.lifetime_days, config.lifetime_days),
        ("decay_speed", item.config.decay_speed, config.decay_speed),
    ] {
        if written > 0.0 && kept <= 0.0 {
            report.error(
                source,
                key,
                format!(
                    "must be at least 0.0001: MISP keeps 4 decimal places, and {written:e} \
                     becomes 0"
                ),
            );
        } else {
            check_score(source, key, kept, false, report);
        }
    }
    check_score(source, "threshold", config.threshold, true, report);
    check_score(source, "default_base_score", config.default_base_score, true, report);
    for (tag, &weight) in &config.base_score_config {
        check_score(source, &format!("base_score_config.{tag}"), weight, true, report);
    }
    match (config.kind, &config.sightings) {
        (DecayKind::Sightings, Some(settings)) => {
            check_score(
                source,
                "sightings.true_positive_offset",
                settings.true_positive_offset,
                true,
                report,
            );
            check_score(
                source,
                "sightings.false_positive_offset",
                settings.false_positive_offset,
                true,
                report,
            );
        }
        (_, None) => {}
        (kind, Some(_)) => report.error(
            source,
            "sightings",
            format!(
                "`sightings` settings belong to `type = \"sightings\"`, not to `{}`",
                kind.name()
            ),
        ),
    }
    if config.attribute_types.is_empty() {
        report.error(source, "attribute_types", "a model needs at least one attribute type");
    }
    warn_about_scores(source, config, report);
    let config = config.clone();
    let mut types = Vec::new();
    for name in &config.attribute_types {
        match AttrType::from_name(name) {
            Some(kind) if !types.contains(&kind) => types.push(kind),
            Some(_) => {}
            // MISP types that hold rules or numbers rather than indicators, which MISP's own
            // default models list: known, and ignored without a word.
            None if MISP_RULE_TYPES.contains(&name.as_str()) => tracing::debug!(
                model = %item.id,
                "Attribute type `{}` is not exported by feedsmith; the model ignores it",
                shown(name)
            ),
            // Anything else is a typo or a type feedsmith cannot read: said where it is.
            None => report.warning(
                source,
                "attribute_types",
                format!(
                    "`{}` is not an attribute type feedsmith knows; the model ignores it",
                    shown(name)
                ),
            ),
        }
    }
    (report.diagnostics.len() == before).then(|| DecayModel { id: item.id.clone(), config, types })
}

/// Warns about scores that are valid but empty or freeze a list: MISP's defaults of 0 for a
/// threshold or a default base score left out, and a threshold no score reaches.
fn warn_about_scores(source: &SourceFile, config: &DecayConfig, report: &mut Report) {
    if config.kind == DecayKind::Sightings {
        return;
    }
    let threshold = config.threshold;
    if !source.keys.contains("threshold") {
        report.warning(
            source,
            "threshold",
            "not set, so 0, as in MISP: no indicator under this model ever expires",
        );
    }
    if !source.keys.contains("default_base_score") && threshold > 0.0 {
        report.warning(
            source,
            "default_base_score",
            format!(
                "not set, so 0, as in MISP: an indicator that no tag and no feed `base_score` \
                 scores is expired at once (below the threshold {threshold}); MISP's own models \
                 set 80"
            ),
        );
    }
    // Tags give at most 100; a default or feed base score may give more.
    let highest = config.default_base_score.max(100.0);
    if threshold > highest {
        report.warning(
            source,
            "threshold",
            format!(
                "{threshold} is above {highest}, the highest base score the tags and the \
                 default give: every indicator is expired unless a feed's `base_score` is higher"
            ),
        );
    }
}

/// The model as MISP stores it: every number rounded to 4 decimal places (MISP rounds each
/// parameter and weight when it saves a model), so that feedsmith scores with the same
/// parameters as a MISP instance given the same file. A value that changes is a located
/// warning.
fn round_like_misp(
    id: &str,
    source: &SourceFile,
    config: &DecayConfig,
    report: &mut Report,
) -> DecayConfig {
    let mut rounded = config.clone();
    let mut round = |key: &str, value: &mut f64| {
        let kept = round_4(*value);
        if kept.to_bits() != value.to_bits() && value.is_finite() {
            tracing::debug!(model = %id, "Rounded `{key}`");
            report.warning(
                source,
                key,
                format!("MISP keeps 4 decimal places; {value} is used as {kept}"),
            );
            *value = kept;
        }
    };
    round("lifetime_days", &mut rounded.lifetime_days);
    round("decay_speed", &mut rounded.decay_speed);
    round("threshold", &mut rounded.threshold);
    round("default_base_score", &mut rounded.default_base_score);
    for (tag, weight) in &mut rounded.base_score_config {
        round(&format!("base_score_config.{tag}"), weight);
    }
    if let Some(settings) = &mut rounded.sightings {
        round("sightings.true_positive_offset", &mut settings.true_positive_offset);
        round("sightings.false_positive_offset", &mut settings.false_positive_offset);
    }
    rounded
}

/// PHP's `round(x, 4)`: half away from zero at the fourth decimal, on the decimal digits of
/// the number as written (its shortest round-trip form), so that 1.00005 becomes 1.0001 as in
/// PHP rather than 1.0 as `(x × 10⁴).round()` gives through binary error.
fn round_4(value: f64) -> f64 {
    // From 2⁵⁰ on no double has a fraction worth rounding.
    if !value.is_finite() || value.abs() >= 1e15 {
        return value;
    }
    let text = format!("{}", value.abs());
    let (whole, fraction) = text.split_once('.').unwrap_or((&text, ""));
    if fraction.len() <= 4 {
        return value;
    }
    let digit = |at: usize| u64::from(fraction.as_bytes()[at] - b'0');
    let Ok(whole) = whole.parse::<u64>() else { return value };
    let mut scaled = whole * 10_000 + (0..4).fold(0, |n, at| n * 10 + digit(at));
    if digit(4) >= 5 {
        scaled += 1;
    }
    let rounded = scaled as f64 / 10_000.0;
    if value < 0.0 && rounded != 0.0 { -rounded } else { rounded }
}

/// What tasks may refer to.
struct References<'a> {
    feeds: &'a Folder<FeedConfig>,
    models: &'a Folder<DecayConfig>,
    lists: &'a Lists,
}

impl References<'_> {
    fn feed_index(&self, id: &str) -> Option<usize> {
        self.feeds.items.binary_search_by(|item| item.id.as_str().cmp(id)).ok()
    }

    fn model_index(&self, id: &str) -> Option<usize> {
        self.models.items.binary_search_by(|item| item.id.as_str().cmp(id)).ok()
    }
}

/// Output paths claimed so far, across every task: path → (task id, task file).
#[derive(Default)]
struct OutputPaths {
    claimed: BTreeMap<String, (String, PathBuf)>,
}

fn resolve_task(
    root: &Path,
    item: &Item<TaskConfig>,
    refs: &References<'_>,
    outputs: &mut OutputPaths,
    report: &mut Report,
) -> Option<Task> {
    let config = &item.config;
    let source = &item.source;
    let select = &config.select;
    let before = report.diagnostics.len();
    check_not_blank(source, "name", &config.name, report);

    let mut feeds = BTreeSet::new();
    for (index, id) in select.feeds.iter().enumerate() {
        let key = format!("select.feeds[{index}]");
        match refs.feed_index(id) {
            Some(found) if refs.feeds.items.get(found).is_some_and(|f| f.config.enabled) => {
                feeds.insert(found);
            }
            Some(_) => {
                report.warning(source, &key, format!("feed `{id}` is disabled; the task skips it"));
            }
            None if refs.feeds.broken.contains(id) => {}
            None => {
                report.error(source, &key, format!("no feed `{}` in `{FEEDS_DIR}/`", shown(id)));
            }
        }
    }
    for (index, tag) in select.feed_tags.iter().enumerate() {
        let mut carried = false;
        for (position, feed) in refs.feeds.items.iter().enumerate() {
            if feed.config.tags.contains(tag) {
                carried = true;
                if feed.config.enabled {
                    feeds.insert(position);
                }
            }
        }
        // A tag no feed carries is a typo or a stale reference; as a warning it would give
        // an empty blocklist and exit 0.
        if !carried {
            report.error(
                source,
                &format!("select.feed_tags[{index}]"),
                format!("no feed in `{FEEDS_DIR}/` carries the tag `{}`", shown(tag)),
            );
        }
    }
    if select.feeds.is_empty() && select.feed_tags.is_empty() {
        feeds.extend(
            refs.feeds.items.iter().enumerate().filter(|(_, f)| f.config.enabled).map(|(i, _)| i),
        );
    }

    let mut types = Vec::new();
    for (index, name) in select.types.iter().enumerate() {
        match AttrType::from_name(name) {
            Some(kind) if !types.contains(&kind) => types.push(kind),
            Some(_) => {}
            None => report.error(
                source,
                &format!("select.types[{index}]"),
                format!("unknown attribute type `{}`", shown(name)),
            ),
        }
    }
    if let Some(version) = select.ip_version
        && version != 4
        && version != 6
    {
        report.error(source, "select.ip_version", format!("must be 4 or 6, not {version}"));
    }
    if let Some(min) = select.min_score {
        check_score(source, "select.min_score", min, true, report);
    }
    let model = if select.model == "auto" {
        Some(ModelChoice::Auto)
    } else if let Some(index) = refs.model_index(&select.model) {
        Some(ModelChoice::Model(index))
    } else {
        if !refs.models.broken.contains(&select.model) {
            report.error(
                source,
                "select.model",
                format!(
                    "no decay model `{}` in `{DECAY_DIR}/`; name a model or `auto`",
                    shown(&select.model)
                ),
            );
        }
        None
    };

    let warninglists = match &select.warninglists {
        None => (0..refs.lists.items.len()).collect(),
        Some(ids) => {
            let mut chosen = BTreeSet::new();
            for (index, id) in ids.iter().enumerate() {
                match refs.lists.index(id) {
                    Some(found) => {
                        chosen.insert(found);
                    }
                    None if refs.lists.broken.contains(id) => {}
                    None => report.error(
                        source,
                        &format!("select.warninglists[{index}]"),
                        format!("no warning list `{}` in `{WARNINGLISTS_DIR}/`", shown(id)),
                    ),
                }
            }
            chosen.into_iter().collect()
        }
    };

    if config.outputs.is_empty() {
        report.error(source, "outputs", "a task needs at least one output");
    }
    let mut templates = BTreeMap::new();
    for (index, output) in config.outputs.iter().enumerate() {
        let key = format!("outputs[{index}]");
        if output.format == OutputFormat::Template {
            check_template(root, item, &key, output, &mut templates, report);
        }
        match check_output_path(&output.path) {
            Err(why) => report.error(source, &format!("{key}.path"), why),
            Ok(()) => outputs.claim(&item.id, source, &format!("{key}.path"), &output.path, report),
        }
        check_output_keys(&item.id, &config.name, output, &mut |name, message| {
            report.error(source, &format!("{key}.{name}"), message);
        });
        // An ipset set's `maxelem` cuts like a budget.
        let may_cut = output.max_entries.is_some()
            || output.max_bytes.is_some()
            || output.format == OutputFormat::Ipset;
        if may_cut && check_output_path(&output.path).is_ok() {
            // The companion file of what a budget cuts is written next to the output.
            let cut = crate::config::budget::cut_file_path(&output.path);
            outputs.claim(&item.id, source, &format!("{key}.path"), &cut, report);
        }
        if let Some(level) = output.threat_level
            && !(1..=4).contains(&level)
        {
            report.error(
                source,
                &format!("{key}.threat_level"),
                format!("must be 1 (high) to 4 (undefined), not {level}"),
            );
        }
        if let Some(tlp) = &output.tlp
            && !TLP_TAGS.contains(&tlp.as_str())
        {
            report.error(
                source,
                &format!("{key}.tlp"),
                format!("`{}` is not one of {}", shown(tlp), TLP_TAGS.join(", ")),
            );
        }
        if let Some(days) = output.retention_days
            && !(1..=MAX_RETENTION_DAYS).contains(&days)
        {
            report.error(
                source,
                &format!("{key}.retention_days"),
                format!("must be 1 to {MAX_RETENTION_DAYS} days, not {days}"),
            );
        }
        if let Some(distribution) = output.distribution
            && distribution > 3
        {
            report.error(
                source,
                &format!("{key}.distribution"),
                format!(
                    "must be 0 (your organisation only) to 3 (all communities), not \
                     {distribution}; 4 needs a sharing group, which a feed cannot carry"
                ),
            );
        }
    }

    (report.diagnostics.len() == before).then(|| Task {
        id: item.id.clone(),
        config: config.clone(),
        feeds: feeds.into_iter().collect(),
        types,
        model: model.unwrap_or(ModelChoice::Auto),
        warninglists,
        templates,
    })
}

/// Checks a `template` output: it names a template and a syntax, and the template loads
/// ([`super::template::load`]); its source goes into `templates`. A problem inside the
/// template is located in the template file, and says which task's output uses it.
fn check_template(
    root: &Path,
    item: &Item<TaskConfig>,
    key: &str,
    output: &super::OutputConfig,
    templates: &mut BTreeMap<String, String>,
    report: &mut Report,
) {
    let source = &item.source;
    let needs = |name: &str, what: &str| format!("`format = \"template\"` needs `{name}`: {what}");
    if output.template.is_none() {
        let what = format!("the name of a file in `{}/`", super::template::OUTPUTS_DIR);
        report.error(source, &format!("{key}.format"), needs("template", &what));
    }
    if output.syntax.is_none() {
        let what = "`line`, `ip`, `dns`, `csv` or `json`, the syntax its values are written into";
        report.error(source, &format!("{key}.format"), needs("syntax", what));
    }
    let (Some(name), Some(syntax)) = (&output.template, output.syntax) else { return };
    match super::template::load(root, name, &item.id, &item.config.name, syntax) {
        Ok(text) => {
            templates.insert(name.clone(), text);
        }
        Err(problem) => match problem.at {
            Some((file, line, column)) => report.located(
                file,
                (line, column),
                "",
                format!(
                    "{} (the template of `{}` `{key}`, syntax `{}`)",
                    problem.message,
                    source.file.display(),
                    syntax.as_str()
                ),
            ),
            None => report.error(source, &format!("{key}.template"), problem.message),
        },
    }
}

/// The formats each format-specific output key is used with.
const OUTPUT_KEYS: &[(&str, &[OutputFormat])] = &[
    ("event_info", &[OutputFormat::MispFeed]),
    ("org_name", &[OutputFormat::MispFeed]),
    ("threat_level", &[OutputFormat::MispFeed]),
    ("tlp", &[OutputFormat::MispFeed]),
    ("events", &[OutputFormat::MispFeed]),
    ("retention_days", &[OutputFormat::MispFeed]),
    ("distribution", &[OutputFormat::MispFeed]),
    ("zone", &[OutputFormat::Rpz]),
    ("set_name", &[OutputFormat::Nftables, OutputFormat::Ipset]),
    ("table", &[OutputFormat::Nftables]),
    ("maxelem", &[OutputFormat::Ipset]),
    ("hashsize", &[OutputFormat::Ipset]),
    ("list", &[OutputFormat::PanosEdl, OutputFormat::Fortigate]),
    ("sid", &[OutputFormat::Suricata]),
    ("max_entries", super::budget::BUDGET_FORMATS),
    ("max_bytes", super::budget::BUDGET_FORMATS),
    ("template", &[OutputFormat::Template]),
    ("syntax", &[OutputFormat::Template]),
];

/// What is wrong with the format-specific settings of an output that no definition file
/// holds (a conversion's), each as `` `key`: why ``.
pub(crate) fn output_problems(
    task_id: &str,
    task_name: &str,
    output: &super::OutputConfig,
) -> Vec<String> {
    let mut problems = Vec::new();
    check_output_keys(task_id, task_name, output, &mut |name, message| {
        problems.push(format!("`{name}`: {message}"));
    });
    problems
}

/// The longest `retention_days` of a `misp-feed` output: ten years.
const MAX_RETENTION_DAYS: u32 = 3650;

/// The longest set base name an `nftables` or `ipset` output takes: ipset names hold 31
/// bytes, of which `_v4_tmp` takes 7.
const MAX_SET_NAME: usize = 24;

/// Checks the format-specific keys of one output: each is used only with its formats and
/// holds a value the format can write.
fn check_output_keys(
    task_id: &str,
    task_name: &str,
    output: &super::OutputConfig,
    problem: &mut dyn FnMut(&str, String),
) {
    let set = |name: &str| match name {
        "event_info" => output.event_info.is_some(),
        "org_name" => output.org_name.is_some(),
        "threat_level" => output.threat_level.is_some(),
        "tlp" => output.tlp.is_some(),
        "events" => output.events.is_some(),
        "retention_days" => output.retention_days.is_some(),
        "distribution" => output.distribution.is_some(),
        "zone" => output.zone.is_some(),
        "set_name" => output.set_name.is_some(),
        "table" => output.table.is_some(),
        "maxelem" => output.maxelem.is_some(),
        "hashsize" => output.hashsize.is_some(),
        "list" => output.list.is_some(),
        "sid" => output.sid.is_some(),
        "max_entries" => output.max_entries.is_some(),
        "max_bytes" => output.max_bytes.is_some(),
        "template" => output.template.is_some(),
        "syntax" => output.syntax.is_some(),
        _ => false,
    };
    for (name, formats) in OUTPUT_KEYS {
        if set(name) && !formats.contains(&output.format) {
            let names: Vec<String> =
                formats.iter().map(|f| format!("`format = \"{}\"`", f.as_str())).collect();
            problem(
                name,
                format!(
                    "only used with {}, and this output is `{}`",
                    names.join(" or "),
                    output.format.as_str()
                ),
            );
        }
    }
    if output.format == OutputFormat::Rpz {
        let zone = output.zone.clone().unwrap_or_else(|| format!("{task_id}.rpz"));
        if let Err(why) = check_zone(&zone) {
            let why = if output.zone.is_some() {
                why
            } else {
                format!("{why} (the default zone, from the task id); set `zone`")
            };
            problem("zone", why);
        }
    }
    for (name, value, max) in [
        ("set_name", output.set_name.as_deref(), MAX_SET_NAME),
        ("table", output.table.as_deref(), 64),
    ] {
        let Some(value) = value else { continue };
        let valid = value.starts_with(|c: char| c.is_ascii_alphabetic())
            && value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
            && value.len() <= max;
        if !valid {
            problem(
                name,
                format!(
                    "`{}` must be a letter, then letters, digits and `_`, at most {max} characters",
                    shown(value)
                ),
            );
        }
    }
    if output.list == Some(super::ListType::Hash) && output.format != OutputFormat::Fortigate {
        problem(
            "list",
            "`hash` lists are FortiGate's only; PAN-OS lists are `ip`, `domain` or `url`"
                .to_owned(),
        );
    }
    for (name, value) in [("maxelem", output.maxelem), ("hashsize", output.hashsize)] {
        if value == Some(0) {
            problem(name, "must be at least 1".to_owned());
        }
    }
    check_budget(task_id, task_name, output, problem);
    if let Some(sid) = output.sid
        && (sid == 0 || sid > u32::MAX - 4)
    {
        problem(
            "sid",
            format!("must leave room for five rules from 1 to {}, not {sid}", u32::MAX - 4),
        );
    }
}

/// Checks an output's size budget: each limit at least 1, and `max_bytes` more than the
/// file takes with no entries (its header), which no cut can shrink.
fn check_budget(
    task_id: &str,
    task_name: &str,
    output: &super::OutputConfig,
    problem: &mut dyn FnMut(&str, String),
) {
    for (name, value) in [("max_entries", output.max_entries), ("max_bytes", output.max_bytes)] {
        if value == Some(0) {
            problem(name, "must be at least 1".to_owned());
        }
    }
    if let Some(max) = output.max_bytes
        && max > 0
        && let Some(empty) = super::budget::empty_file_bytes(task_id, task_name, output)
        && max <= empty as u64
    {
        problem(
            "max_bytes",
            format!(
                "{max} bytes leave no room for an entry: the `{}` file takes {empty} bytes with \
                 none (its header); give more than {empty}",
                output.format.as_str()
            ),
        );
    }
}

/// Why `zone` cannot be a response policy zone's name: labels of 1 to 63 letters, digits,
/// `_` and inner `-`, at most 253 bytes in all.
fn check_zone(zone: &str) -> Result<(), String> {
    let shown_zone = shown(zone);
    if zone.is_empty() || zone.len() > 253 {
        return Err(format!("`{shown_zone}` must be 1 to 253 bytes long"));
    }
    for label in zone.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("`{shown_zone}` has a label that is empty or over 63 bytes"));
        }
        if !label.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
            || label.starts_with('-')
            || label.ends_with('-')
        {
            return Err(format!(
                "`{shown_zone}` may hold only letters, digits, `_`, inner `-` and dots"
            ));
        }
    }
    Ok(())
}

/// An output path stays inside the output folder: relative, `/`-separated, no `.` or `..`
/// segment, no empty segment.
fn check_output_path(path: &str) -> Result<(), String> {
    let shown_path = shown(path);
    if path.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if path.contains('\\') {
        return Err(format!("`{shown_path}` holds a backslash; separate folders with `/`"));
    }
    if path.starts_with('/') || path.as_bytes().get(1) == Some(&b':') {
        return Err(format!("`{shown_path}` is absolute; paths are inside the output folder"));
    }
    if path.split('/').any(|segment| segment == "..") {
        return Err(format!("`{shown_path}` leaves the output folder with `..`"));
    }
    if path.split('/').any(|segment| segment.is_empty() || segment == ".") {
        return Err(format!("`{shown_path}` has an empty or `.` segment"));
    }
    // Output paths become URLs that firewalls poll and links on the site: a `:` would make
    // `javascript:…` a link scheme, and spaces, quotes or `%` need escaping everywhere.
    if let Some(bad) = path.chars().find(|&c| !is_url_safe(c)) {
        return Err(format!(
            "`{shown_path}` holds `{}`; use letters, digits, `.`, `_`, `-`, `+` and `/`",
            bad.escape_default()
        ));
    }
    let first = path.split('/').next().unwrap_or_default();
    if SITE_NAMES.contains(&first) {
        return Err(format!(
            "`{shown_path}` is the site's own `{first}`; choose another name (the site writes {})",
            SITE_NAMES.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ")
        ));
    }
    Ok(())
}

/// The names the site writes at the top of the output folder, which no output may take.
const SITE_NAMES: &[&str] = &[
    "index.html",
    "report.json",
    "style.css",
    "feeds",
    "tasks",
    "models",
    "state",
    // The outputs' SHA-256 list.
    "SHA256SUMS",
];

/// A character an output path may hold: it needs no escaping in a URL, an HTML attribute or
/// a shell.
fn is_url_safe(c: char) -> bool {
    c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '/')
}

impl OutputPaths {
    /// Claims `path` for a task, reporting a path already claimed, or one that is inside, or
    /// holds, another output.
    fn claim(
        &mut self,
        task: &str,
        source: &SourceFile,
        key: &str,
        path: &str,
        report: &mut Report,
    ) {
        let clash = |other: &str, (task, file): &(String, PathBuf), how: &str| {
            format!(
                "`{}` {how} `{}`, written by task `{task}` (`{}`)",
                shown(path),
                shown(other),
                file.display()
            )
        };
        if let Some(owner) = self.claimed.get(path) {
            report.error(source, key, clash(path, owner, "is also"));
            return;
        }
        // An ancestor folder claimed as a file (or a folder output) would collide.
        let mut ancestor = path;
        while let Some((up, _)) = ancestor.rsplit_once('/') {
            if let Some(owner) = self.claimed.get(up) {
                report.error(source, key, clash(up, owner, "is inside"));
                return;
            }
            ancestor = up;
        }
        let prefix = format!("{path}/");
        if let Some((other, owner)) = self.claimed.range(prefix.clone()..).next()
            && other.starts_with(&prefix)
        {
            report.error(source, key, clash(other, owner, "holds"));
            return;
        }
        self.claimed.insert(path.to_owned(), (task.to_owned(), source.file.clone()));
    }
}

/// MISP attribute types of MISP's default decay models that carry detection rules or phone
/// numbers, not indicators feedsmith reads; a model may list them.
const MISP_RULE_TYPES: &[&str] = &["snort", "suricata", "zeek", "bro", "yara", "sigma", "prtn"];

/// A value from a definition as a message shows it (see [`crate::text::shown`]): whole, so
/// that a diagnostic quotes what the file says.
fn shown(value: &str) -> String {
    crate::text::shown(value, crate::text::WHOLE)
}

#[cfg(test)]
mod tests;
