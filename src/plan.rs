//! `feedsmith plan`: what a change to the definitions does, before it is merged.
//!
//! [`plan_git`] reads the definitions at a base commit (`git archive`, into a temporary
//! folder) and in the working tree, and tells
//!
//! 1. what changed in them: feeds, tasks, decay models, warning lists and `feedsmith.toml`
//!    added, removed or changed, field by field, from the files as written;
//! 2. what that does to every output: both versions are built from the same data with no
//!    network (the cache of the last build, or a folder of recorded responses), each into a
//!    temporary folder with its own copy of the state, and the two builds are compared
//!    through their look-up indexes ([`crate::export::index_compare`]): entries added and
//!    removed per output with the feeds behind the additions, values a warning list newly
//!    catches, and each output's size against its budget.
//!
//! [`plan_sites`] compares two built output folders the same way, without definitions.
//! [`Plan::to_markdown`] writes the result for a pull-request comment; the [`Plan`] itself
//! serializes as the JSON of `plan --json`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde::Serialize;
use serde_json::Value;

use crate::build::{self, BuildOptions, FetchMode, Silent};
use crate::config::{self, Project};
use crate::export::index_compare::{self, Caught, Change, StoredIndex};

/// The version of the JSON shape of [`Plan`].
pub const PLAN_FORMAT: u32 = 1;

/// How many fields of one definition, and how many added or removed list items of one
/// field, a plan names.
const SHOWN: usize = 10;

/// The largest file a plan reads (a report, a definition, a template).
const MAX_READ_BYTES: u64 = 256 << 20;

/// The most files of `templates/` a plan compares; a tree with more is not a set of templates.
const MAX_TEMPLATE_FILES: usize = 10_000;

/// The longest Markdown a plan writes: a GitHub comment holds 65,536 characters.
const MAX_MARKDOWN_CHARS: usize = 60_000;

/// Why a plan could not be made.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlanError {
    /// `git` failed (not a repository, an unknown ref, no `git` on the `PATH`).
    #[error("git {args}: {message}")]
    Git {
        /// The arguments.
        args: String,
        /// What it said.
        message: String,
    },
    /// The definitions of one side do not load.
    #[error("the definitions at {side} are invalid:\n{errors}")]
    Definitions {
        /// `base` or `working tree`.
        side: String,
        /// Every problem, one per line.
        errors: String,
    },
    /// A build of one side failed.
    #[error("the build of the {side} failed: {message}")]
    Build {
        /// `base` or `working tree`.
        side: String,
        /// Why.
        message: String,
    },
    /// A built site has no readable report or look-up index.
    #[error("{0}")]
    Site(String),
    /// A temporary folder or a copy failed.
    #[error("{0}")]
    Io(String),
}

/// What a change does.
#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    /// [`PLAN_FORMAT`].
    pub version: u32,
    /// The base: a git ref, or the earlier output folder.
    pub base: String,
    /// The head: `working tree`, or the later output folder.
    pub head: String,
    /// The definitions added, removed or changed (empty when comparing two folders).
    pub definitions: Vec<DefinitionChange>,
    /// Every output of either side, the head's first, in its order.
    pub outputs: Vec<OutputPlan>,
    /// The feeds whose listings differ between the two builds.
    pub feeds: Vec<Change>,
    /// Values that a task's warning list leaves out in the head and did not in the base.
    pub newly_warninglisted: u64,
    /// The first of them in byte order.
    pub newly_warninglisted_examples: Vec<Caught>,
    /// What the reader should know (data read from the cache of a given time, say).
    pub notes: Vec<String>,
}

/// One definition file's change.
#[derive(Clone, Debug, Serialize)]
pub struct DefinitionChange {
    /// `feed`, `task`, `model`, `warning list`, `settings` or `template`.
    pub kind: &'static str,
    /// The id (file stem), or the file name for settings and templates.
    pub id: String,
    /// `added`, `removed` or `changed`.
    pub change: &'static str,
    /// Per changed field (`a.b[2]`): before and after, or for a list of plain values the
    /// items added and removed.
    pub fields: Vec<FieldChange>,
}

/// One changed field.
#[derive(Clone, Debug, Serialize)]
pub struct FieldChange {
    /// The key path.
    pub path: String,
    /// The value before, as JSON (`null` when the field is new).
    pub before: Value,
    /// The value after (`null` when the field is gone).
    pub after: Value,
    /// For a list of plain values: how many items were added and removed, and the first few.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub items: Option<ItemChange>,
}

/// The items a list of plain values gained and lost.
#[derive(Clone, Debug, Serialize)]
pub struct ItemChange {
    /// Items added.
    pub added: usize,
    /// Items removed.
    pub removed: usize,
    /// The first added items.
    pub added_examples: Vec<Value>,
    /// The first removed items.
    pub removed_examples: Vec<Value>,
}

/// One output in both builds.
#[derive(Clone, Debug, Serialize)]
pub struct OutputPlan {
    /// The output's path.
    pub path: String,
    /// The task that writes it (the head's, else the base's).
    pub task: String,
    /// Its format.
    pub format: String,
    /// Entries written by the base build (`null`: the base has no such output).
    pub entries_before: Option<u64>,
    /// Entries written by the head build (`null`: the head has no such output).
    pub entries_after: Option<u64>,
    /// Bytes before and after.
    pub bytes_before: Option<u64>,
    /// Bytes after.
    pub bytes_after: Option<u64>,
    /// Entries the budget cut, before and after.
    pub cut_before: Option<u64>,
    /// Entries the budget cut after.
    pub cut_after: Option<u64>,
    /// The head's `max_entries`, if any.
    pub max_entries: Option<u64>,
    /// The head's `max_bytes`, if any.
    pub max_bytes: Option<u64>,
    /// The values it holds in the head and not in the base, and the reverse, with the feeds
    /// behind the additions.
    pub change: Change,
}

/// Where `plan` gets its data.
#[derive(Clone, Debug)]
pub struct PlanOptions {
    /// The base commit (any git revision).
    pub base: String,
    /// The cache of the last build ([`FetchMode::Offline`]) or recorded responses
    /// ([`FetchMode::Replay`]); never the network.
    pub fetch: FetchMode,
    /// The reference time of both builds, Unix seconds.
    pub now: i64,
}

/// Plans the change from the definitions at `options.base` to those of the working tree of
/// the repository `root`.
pub fn plan_git(root: &Path, options: &PlanOptions) -> Result<Plan, PlanError> {
    if matches!(options.fetch, FetchMode::Online) {
        return Err(PlanError::Io("a plan never reads the network".to_owned()));
    }
    let scratch =
        tempfile::tempdir().map_err(|e| PlanError::Io(format!("temporary folder: {e}")))?;
    let base_root = scratch.path().join("base");
    checkout(root, &options.base, &base_root)?;
    let load = |side: &str, dir: &Path| {
        config::load(dir).map_err(|e| PlanError::Definitions {
            side: side.to_owned(),
            errors: e.diagnostics.iter().map(ToString::to_string).collect::<Vec<_>>().join("\n"),
        })
    };
    let head = load("working tree", root)?;
    let mut base = load(&format!("base `{}`", options.base), &base_root)?;
    // The base reads the same data as the head: the working tree's cache and state, and its
    // local feed files (a file a CI step writes is not in the base commit).
    base.settings.cache_dir.clone_from(&head.settings.cache_dir);
    base.settings.state_dir.clone_from(&head.settings.state_dir);
    let (head_root, base_tree) = (head.root.clone(), base.root.clone());
    for feed in &mut base.feeds {
        if let config::Source::Path(path) = &mut feed.source
            && let Ok(relative) = path.strip_prefix(&base_tree)
        {
            *path = head_root.join(relative);
        }
    }

    let definitions = definition_changes(&base_root, root);
    let base_site = build_side("base", &base, options, &scratch.path().join("base-build"))?;
    let head_site = build_side("working tree", &head, options, &scratch.path().join("head-build"))?;
    let mut plan = plan_sites(&base_site, &head_site, Some(&head))?;
    plan.base.clone_from(&options.base);
    "working tree".clone_into(&mut plan.head);
    plan.definitions = definitions;
    if matches!(options.fetch, FetchMode::Offline) {
        plan.notes.push(
            "Both builds read the cache of the last build: feeds it does not hold count as failed."
                .to_owned(),
        );
    }
    Ok(plan)
}

/// Compares two built output folders: their reports and look-up indexes. `head` is the
/// later side's project, when known, for its outputs' budgets.
pub fn plan_sites(before: &Path, after: &Path, head: Option<&Project>) -> Result<Plan, PlanError> {
    let report = |dir: &Path| -> Result<Value, PlanError> {
        let path = dir.join("report.json");
        let bytes = index_compare::read_regular(&path, MAX_READ_BYTES).ok_or_else(|| {
            PlanError::Site(format!(
                "{} is not a readable report of at most 256 MiB",
                path.display()
            ))
        })?;
        serde_json::from_slice(&bytes)
            .map_err(|e| PlanError::Site(format!("{} does not parse: {e}", path.display())))
    };
    let (old, new) = (report(before)?, report(after)?);
    let open = |dir: &Path| StoredIndex::open(dir).map_err(PlanError::Site);
    let changes = index_compare::compare(&open(before)?, &open(after)?);
    let outputs_of = |report: &Value| -> BTreeMap<String, (String, Value)> {
        let mut outputs = BTreeMap::new();
        for task in report["tasks"].as_array().into_iter().flatten() {
            for output in task["outputs"].as_array().into_iter().flatten() {
                let path = output["path"].as_str().unwrap_or_default().to_owned();
                let id = task["id"].as_str().unwrap_or_default().to_owned();
                outputs.insert(path, (id, output.clone()));
            }
        }
        outputs
    };
    let (old_outputs, new_outputs) = (outputs_of(&old), outputs_of(&new));
    let budget = |path: &str| {
        head.and_then(|p| p.tasks.iter().flat_map(|t| &t.config.outputs).find(|o| o.path == path))
            .map_or((None, None), |o| (o.max_entries, o.max_bytes))
    };
    let outputs = changes
        .outputs
        .iter()
        .map(|change| {
            let then = old_outputs.get(&change.name);
            let now = new_outputs.get(&change.name);
            let field =
                |side: Option<&(String, Value)>, key: &str| side.and_then(|(_, o)| o[key].as_u64());
            let (max_entries, max_bytes) = budget(&change.name);
            OutputPlan {
                path: change.name.clone(),
                task: now.or(then).map(|(t, _)| t.clone()).unwrap_or_default(),
                format: now
                    .or(then)
                    .and_then(|(_, o)| o["format"].as_str())
                    .unwrap_or_default()
                    .to_owned(),
                entries_before: field(then, "entries"),
                entries_after: field(now, "entries"),
                bytes_before: field(then, "bytes"),
                bytes_after: field(now, "bytes"),
                cut_before: field(then, "cut"),
                cut_after: field(now, "cut"),
                max_entries,
                max_bytes,
                change: change.clone(),
            }
        })
        .collect();
    Ok(Plan {
        version: PLAN_FORMAT,
        base: before.display().to_string(),
        head: after.display().to_string(),
        definitions: Vec::new(),
        outputs,
        feeds: changes.feeds.into_iter().filter(|c| c.added + c.removed > 0).collect(),
        newly_warninglisted: changes.newly_warninglisted,
        newly_warninglisted_examples: changes.newly_warninglisted_examples,
        notes: Vec::new(),
    })
}

/// Extracts the tree of `revision` into `into` with `git archive`.
fn checkout(root: &Path, revision: &str, into: &Path) -> Result<(), PlanError> {
    let git = |args: &[&str]| -> Result<Vec<u8>, PlanError> {
        let output = Command::new("git")
            .arg("-C")
            .arg(root)
            .args(args)
            .output()
            .map_err(|e| PlanError::Git { args: args.join(" "), message: e.to_string() })?;
        if !output.status.success() {
            return Err(PlanError::Git {
                args: args.join(" "),
                message: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
            });
        }
        Ok(output.stdout)
    };
    // A revision that starts with `-` would be read as an option.
    if revision.starts_with('-') {
        return Err(PlanError::Git {
            args: format!("archive {revision}"),
            message: "a revision cannot start with `-`".to_owned(),
        });
    }
    let commit =
        git(&["rev-parse", "--verify", "--end-of-options", &format!("{revision}^{{commit}}")])
            .map_err(|_| PlanError::Git {
                args: format!("rev-parse {revision}"),
                message: format!(
                    "`{revision}` is not a commit of this repository (fetch it first: `git fetch origin <branch>`)"
                ),
            })?;
    let commit = String::from_utf8_lossy(&commit).trim().to_owned();
    let tar = git(&["archive", "--format=tar", &commit])?;
    std::fs::create_dir_all(into).map_err(|e| PlanError::Io(format!("{}: {e}", into.display())))?;
    let mut child = Command::new("tar")
        .arg("-x")
        .arg("-C")
        .arg(into)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| PlanError::Io(format!("tar: {e}")))?;
    if let Some(mut stdin) = child.stdin.take() {
        use std::io::Write as _;
        stdin.write_all(&tar).map_err(|e| PlanError::Io(format!("tar: {e}")))?;
    }
    let status = child.wait().map_err(|e| PlanError::Io(format!("tar: {e}")))?;
    if !status.success() {
        return Err(PlanError::Io(format!("tar could not extract {revision}")));
    }
    Ok(())
}

/// Builds one side into `dir` (its output folder and a copy of the state), from the data of
/// `options.fetch`, and returns the output folder.
fn build_side(
    side: &str,
    project: &Project,
    options: &PlanOptions,
    dir: &Path,
) -> Result<PathBuf, PlanError> {
    let mut project = project.clone();
    let state = dir.join("state");
    copy_tree(&project.settings.state_dir, &state)?;
    project.settings.state_dir = state;
    if matches!(options.fetch, FetchMode::Replay(_)) {
        // A replayed build fills its cache: a scratch one, so the real cache is not touched.
        project.settings.cache_dir = dir.join("cache");
    }
    let output = dir.join("site");
    project.settings.output_dir.clone_from(&output);
    let build_options = BuildOptions {
        now: options.now,
        fetch: options.fetch.clone(),
        output_dir: Some(output.clone()),
        state_from: None,
        force: false,
    };
    build::run(&project, &build_options, &Silent)
        .map_err(|e| PlanError::Build { side: side.to_owned(), message: e.to_string() })?;
    Ok(output)
}

/// Copies a folder and everything in it (nothing when `from` does not exist). Symbolic links
/// are not followed.
fn copy_tree(from: &Path, to: &Path) -> Result<(), PlanError> {
    let io = |path: &Path, e: std::io::Error| PlanError::Io(format!("{}: {e}", path.display()));
    let Ok(entries) = std::fs::read_dir(from) else { return Ok(()) };
    std::fs::create_dir_all(to).map_err(|e| io(to, e))?;
    for entry in entries {
        let entry = entry.map_err(|e| io(from, e))?;
        let kind = entry.file_type().map_err(|e| io(&entry.path(), e))?;
        let target = to.join(entry.file_name());
        if kind.is_dir() {
            copy_tree(&entry.path(), &target)?;
        } else if kind.is_file() {
            std::fs::copy(entry.path(), &target).map_err(|e| io(&entry.path(), e))?;
        }
    }
    Ok(())
}

/// The definition folders, their kind, and the extensions read.
const KINDS: &[(&str, &str, &[&str])] = &[
    ("feeds.d", "feed", &["toml", "yaml", "yml"]),
    ("tasks.d", "task", &["toml", "yaml", "yml"]),
    ("decay.d", "model", &["toml", "yaml", "yml"]),
    ("warninglists.d", "warning list", &["json"]),
];

/// Every definition added, removed or changed from `base` to `head`, by kind and id.
fn definition_changes(base: &Path, head: &Path) -> Vec<DefinitionChange> {
    let mut changes = Vec::new();
    let settings = |root: &Path| read_document(&root.join("feedsmith.toml"));
    if let Some(change) = compare_documents(
        "settings",
        "feedsmith.toml",
        settings(base).as_ref(),
        settings(head).as_ref(),
    ) {
        changes.push(change);
    }
    for (folder, kind, extensions) in KINDS {
        let (old, new) =
            (documents(&base.join(folder), extensions), documents(&head.join(folder), extensions));
        let ids: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
        for id in ids {
            if let Some(change) = compare_documents(kind, id, old.get(id), new.get(id)) {
                changes.push(change);
            }
        }
    }
    let (old, new) = (texts(&base.join("templates")), texts(&head.join("templates")));
    let names: std::collections::BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    for name in names {
        let change = match (old.get(name), new.get(name)) {
            (None, Some(_)) => "added",
            (Some(_), None) => "removed",
            (Some(a), Some(b)) if a != b => "changed",
            _ => continue,
        };
        changes.push(DefinitionChange {
            kind: "template",
            id: name.clone(),
            change,
            fields: Vec::new(),
        });
    }
    changes
}

/// The documents of a definition folder by id (file stem), as JSON values; a file that does
/// not parse is its text, so that a change to it still shows.
fn documents(dir: &Path, extensions: &[&str]) -> BTreeMap<String, Value> {
    let mut documents = BTreeMap::new();
    let Ok(entries) = std::fs::read_dir(dir) else { return documents };
    for entry in entries.flatten() {
        let path = entry.path();
        let extension = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
        if !extensions.contains(&extension) || !path.is_file() {
            continue;
        }
        if let (Some(stem), Some(document)) =
            (path.file_stem().and_then(|s| s.to_str()), read_document(&path))
        {
            documents.insert(stem.to_owned(), document);
        }
    }
    documents
}

/// A TOML, YAML or JSON file as a JSON value.
fn read_document(path: &Path) -> Option<Value> {
    let text = String::from_utf8(index_compare::read_regular(path, MAX_READ_BYTES)?).ok()?;
    let parsed = match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => toml::from_str::<Value>(&text).ok(),
        Some("yaml" | "yml") => config::parse_yaml::<Value>(&text).ok(),
        Some("json") => serde_json::from_str::<Value>(&text).ok(),
        _ => None,
    };
    Some(parsed.unwrap_or(Value::String(text)))
}

/// Every regular file under `dir` by its relative path, as bytes: symbolic links are not
/// followed (a link can loop, or lead out of the repository), and at most
/// [`MAX_TEMPLATE_FILES`] files of [`MAX_READ_BYTES`] each are read.
fn texts(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut folders = vec![dir.to_owned()];
    while let Some(folder) = folders.pop() {
        let Ok(entries) = std::fs::read_dir(&folder) else { continue };
        for entry in entries.flatten() {
            let Ok(kind) = entry.file_type() else { continue };
            let path = entry.path();
            if kind.is_dir() {
                folders.push(path);
            } else if kind.is_file()
                && let (Some(bytes), Ok(relative)) =
                    (index_compare::read_regular(&path, MAX_READ_BYTES), path.strip_prefix(dir))
            {
                files.insert(relative.to_string_lossy().replace('\\', "/"), bytes);
                if files.len() >= MAX_TEMPLATE_FILES {
                    tracing::warn!(dir = %dir.display(), "More template files than a plan compares; the rest are left out");
                    return files;
                }
            }
        }
    }
    files
}

fn compare_documents(
    kind: &'static str,
    id: &str,
    before: Option<&Value>,
    after: Option<&Value>,
) -> Option<DefinitionChange> {
    let change = match (before, after) {
        (None, None) => return None,
        (None, Some(_)) => "added",
        (Some(_), None) => "removed",
        (Some(a), Some(b)) if a == b => return None,
        _ => "changed",
    };
    let mut fields = Vec::new();
    if let (Some(a), Some(b)) = (before, after) {
        diff_values("", a, b, &mut fields);
    }
    Some(DefinitionChange { kind, id: id.to_owned(), change, fields })
}

/// The fields that differ between `a` and `b`, by key path.
fn diff_values(path: &str, a: &Value, b: &Value, out: &mut Vec<FieldChange>) {
    if a == b {
        return;
    }
    let join = |key: &str| if path.is_empty() { key.to_owned() } else { format!("{path}.{key}") };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for key in keys {
                let (before, after) =
                    (x.get(key).unwrap_or(&Value::Null), y.get(key).unwrap_or(&Value::Null));
                diff_values(&join(key), before, after, out);
            }
        }
        (Value::Array(x), Value::Array(y)) if x.iter().chain(y).all(is_plain) => {
            let added: Vec<&Value> = y.iter().filter(|v| !x.contains(v)).collect();
            let removed: Vec<&Value> = x.iter().filter(|v| !y.contains(v)).collect();
            let items = ItemChange {
                added: added.len(),
                removed: removed.len(),
                added_examples: added.into_iter().take(SHOWN).cloned().collect(),
                removed_examples: removed.into_iter().take(SHOWN).cloned().collect(),
            };
            // Long lists (a warning list's values) are told by their items only.
            let long = x.len() + y.len() > 2 * SHOWN;
            out.push(FieldChange {
                path: path.to_owned(),
                before: if long { Value::Null } else { a.clone() },
                after: if long { Value::Null } else { b.clone() },
                items: Some(items),
            });
        }
        _ => out.push(FieldChange {
            path: path.to_owned(),
            before: a.clone(),
            after: b.clone(),
            items: None,
        }),
    }
}

fn is_plain(value: &Value) -> bool {
    !matches!(value, Value::Array(_) | Value::Object(_))
}

impl Plan {
    /// The plan as Markdown, for a pull-request comment: every value from a feed or a
    /// definition is in a code span, its backticks and line breaks neutralized.
    #[must_use]
    pub fn to_markdown(&self) -> String {
        use std::fmt::Write as _;
        let mut md = String::new();
        let _ = writeln!(md, "## feedsmith plan\n");
        let _ = writeln!(md, "From {} to {}.\n", code(&self.base), code(&self.head));
        if !self.definitions.is_empty() || self.base != self.head {
            let _ = writeln!(md, "### Definitions\n");
            if self.definitions.is_empty() {
                let _ = writeln!(md, "No definition changed.\n");
            }
            for def in &self.definitions {
                let _ = writeln!(md, "- **{}** {} {}", def.change, def.kind, code(&def.id));
                for field in def.fields.iter().take(SHOWN) {
                    match &field.items {
                        Some(items) => {
                            let _ = write!(
                                md,
                                "  - {}: +{} −{} items",
                                code(&field.path),
                                items.added,
                                items.removed
                            );
                            let shown: Vec<String> = items
                                .added_examples
                                .iter()
                                .map(|v| format!("+{}", code(&plain(v))))
                                .chain(
                                    items
                                        .removed_examples
                                        .iter()
                                        .map(|v| format!("−{}", code(&plain(v)))),
                                )
                                .take(SHOWN)
                                .collect();
                            if !shown.is_empty() {
                                let _ = write!(md, " ({})", shown.join(", "));
                            }
                            md.push('\n');
                        }
                        None => {
                            let _ = writeln!(
                                md,
                                "  - {}: {} → {}",
                                code(&field.path),
                                code(&plain(&field.before)),
                                code(&plain(&field.after))
                            );
                        }
                    }
                }
                if def.fields.len() > SHOWN {
                    let _ = writeln!(md, "  - … {} more fields", def.fields.len() - SHOWN);
                }
            }
            md.push('\n');
        }
        let _ = writeln!(md, "### Outputs\n");
        let _ = writeln!(
            md,
            "| output | task | entries before | after | values added | values removed | budget |"
        );
        let _ = writeln!(md, "| --- | --- | ---: | ---: | ---: | ---: | --- |");
        for o in &self.outputs {
            let n = |v: Option<u64>| v.map_or_else(|| "—".to_owned(), |v| v.to_string());
            let mut budget = Vec::new();
            if let Some(max) = o.max_entries {
                budget.push(format!("{} of {max} entries", n(o.entries_after)));
            }
            if let Some(max) = o.max_bytes {
                budget.push(format!("{} of {max} bytes", n(o.bytes_after)));
            }
            if o.cut_after.unwrap_or(0) > 0 {
                budget.push(format!("{} cut", n(o.cut_after)));
            }
            let _ = writeln!(
                md,
                "| {} | {} | {} | {} | +{} | −{} | {} |",
                cell(&o.path),
                cell(&o.task),
                n(o.entries_before),
                n(o.entries_after),
                o.change.added,
                o.change.removed,
                if budget.is_empty() { "—".to_owned() } else { budget.join(", ") }
            );
        }
        md.push_str(
            "\nAn output's entries can be merged networks or names that cover others; its values are the indicators it holds.\n",
        );
        for added in [true, false] {
            let _ =
                writeln!(md, "\n### Largest {}\n", if added { "additions" } else { "removals" });
            let lines = largest(&self.outputs, added);
            if lines.is_empty() {
                let _ = writeln!(md, "None.");
            }
            for line in lines {
                let _ = writeln!(md, "{line}");
            }
        }
        let _ = writeln!(md, "\n### Newly caught by warning lists: {}\n", self.newly_warninglisted);
        if self.newly_warninglisted == 0 {
            let _ = writeln!(md, "None.");
        }
        for caught in &self.newly_warninglisted_examples {
            let lists: Vec<String> = caught.lists.iter().map(|l| code(l)).collect();
            let _ = writeln!(
                md,
                "- {} in {} by {}",
                code(&caught.value),
                code(&caught.task),
                lists.join(", ")
            );
        }
        if self.newly_warninglisted > self.newly_warninglisted_examples.len() as u64 {
            let _ = writeln!(md, "- …");
        }
        let _ = writeln!(md, "\n### Feeds\n");
        if self.feeds.is_empty() {
            let _ = writeln!(md, "No feed's listings changed.");
        } else {
            let _ = writeln!(md, "| feed | added | removed |");
            let _ = writeln!(md, "| --- | ---: | ---: |");
            for feed in &self.feeds {
                let _ =
                    writeln!(md, "| {} | +{} | −{} |", cell(&feed.name), feed.added, feed.removed);
            }
        }
        for note in &self.notes {
            let _ = writeln!(md, "\n> {}", note.replace('\n', " "));
        }
        cap_markdown(md)
    }
}

/// The Markdown lines of the outputs that gain (or lose) most: per task, its output with the
/// most, counting the task's other outputs that change as much with it; at most five tasks.
fn largest(outputs: &[OutputPlan], added: bool) -> Vec<String> {
    use std::fmt::Write as _;
    let count = |o: &OutputPlan| if added { o.change.added } else { o.change.removed };
    let mut best: BTreeMap<&str, (&OutputPlan, usize)> = BTreeMap::new();
    for output in outputs.iter().filter(|o| count(o) > 0) {
        match best.get_mut(output.task.as_str()) {
            None => {
                best.insert(&output.task, (output, 0));
            }
            Some(entry) if count(output) > count(entry.0) => *entry = (output, 0),
            Some(entry) if count(output) == count(entry.0) => entry.1 += 1,
            Some(_) => {}
        }
    }
    let mut best: Vec<(&OutputPlan, usize)> = best.into_values().collect();
    best.sort_by(|a, b| count(b.0).cmp(&count(a.0)).then_with(|| a.0.path.cmp(&b.0.path)));
    best.into_iter()
        .take(5)
        .map(|(o, same)| {
            let mut line = format!("- {}", code(&o.path));
            if same > 0 {
                let _ = write!(line, " (and {same} more outputs of {})", code(&o.task));
            }
            let _ = write!(line, ": {}{}", if added { "+" } else { "−" }, count(o));
            if added {
                let mut feeds: Vec<(&String, &u64)> = o.change.added_by_feed.iter().collect();
                feeds.sort_by(|a, b| b.1.cmp(a.1).then_with(|| a.0.cmp(b.0)));
                let behind: Vec<String> =
                    feeds.iter().take(5).map(|(f, n)| format!("{} {n}", code(f))).collect();
                let behind =
                    if behind.is_empty() { "no feed".to_owned() } else { behind.join(", ") };
                let _ = write!(line, ", listed by {behind}");
            }
            let examples =
                if added { &o.change.added_examples } else { &o.change.removed_examples };
            let first: Vec<String> = examples.iter().take(5).map(|v| code(v)).collect();
            let _ = write!(line, "; first: {}", first.join(", "));
            line
        })
        .collect()
}

/// A JSON value as plain text: strings without quotes.
fn plain(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        Value::Null => "(none)".to_owned(),
        other => other.to_string(),
    }
}

/// `text` as a Markdown code span that nothing in it can end, on one line, at most 200
/// characters: its backticks become `ˋ` (U+02CB) so that a one-backtick fence always holds
/// (GitHub ignores fences longer than 80 backticks), and an empty value reads `(empty)`.
fn code(text: &str) -> String {
    let mut one_line: String = text
        .chars()
        .map(|c| match c {
            '`' => '\u{2cb}',
            c if c.is_control() || c == '\u{2028}' || c == '\u{2029}' => ' ',
            c => c,
        })
        .take(200)
        .collect();
    if text.chars().count() > 200 {
        one_line.push('…');
    }
    if one_line.trim().is_empty() {
        return "`(empty)`".to_owned();
    }
    format!("`{one_line}`")
}

/// `md` cut at a line so that it fits a GitHub comment, saying so.
fn cap_markdown(md: String) -> String {
    if md.chars().count() <= MAX_MARKDOWN_CHARS {
        return md;
    }
    let mut kept = String::new();
    for line in md.lines() {
        if kept.chars().count() + line.chars().count() + 200 > MAX_MARKDOWN_CHARS {
            break;
        }
        kept.push_str(line);
        kept.push('\n');
    }
    kept.push_str(
        "\n… The plan is longer than a comment holds: `feedsmith plan --json` gives it whole.\n",
    );
    kept
}

/// [`code`] for a table cell, where `|` would end the cell.
fn cell(text: &str) -> String {
    code(text).replace('|', "\\|")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_are_read_without_following_links() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("page.html"), "x").unwrap();
        std::os::unix::fs::symlink(".", dir.path().join("loop")).unwrap();
        std::os::unix::fs::symlink("/dev/zero", dir.path().join("zero.css")).unwrap();
        let files = texts(dir.path());
        assert_eq!(files.keys().collect::<Vec<_>>(), ["page.html"]);
    }

    #[test]
    fn a_plan_too_long_for_a_comment_is_cut_at_a_line() {
        let md = "- a line of the plan\n".repeat(10_000);
        let cut = cap_markdown(md);
        assert!(cut.chars().count() <= MAX_MARKDOWN_CHARS);
        assert!(cut.ends_with("gives it whole.\n"));
        assert!(cut.lines().rev().nth(2).unwrap() == "- a line of the plan");
    }

    #[test]
    fn code_spans_cannot_be_broken_out_of() {
        assert_eq!(code("a`b"), "`a\u{2cb}b`");
        assert_eq!(code(&"`".repeat(80)), format!("`{}`", "\u{2cb}".repeat(80)));
        assert_eq!(code(""), "`(empty)`");
        assert_eq!(code("line\nbreak"), "`line break`");
        assert_eq!(code("a|b"), "`a|b`");
        assert_eq!(cell("a|b"), "`a\\|b`");
    }

    #[test]
    fn fields_are_diffed_by_key_path_and_plain_lists_by_items() {
        let a = serde_json::json!({"threshold": 30, "types": ["ip-dst", "domain"], "x": {"y": 1}});
        let b =
            serde_json::json!({"threshold": 90, "types": ["ip-dst", "url"], "x": {"y": 1, "z": 2}});
        let mut out = Vec::new();
        diff_values("", &a, &b, &mut out);
        let paths: Vec<&str> = out.iter().map(|f| f.path.as_str()).collect();
        assert_eq!(paths, ["threshold", "types", "x.z"]);
        assert_eq!(out[0].before, 30);
        assert_eq!(out[0].after, 90);
        let items = out[1].items.as_ref().unwrap();
        assert_eq!((items.added, items.removed), (1, 1));
        assert_eq!(items.added_examples, [serde_json::json!("url")]);
        assert_eq!(out[2].before, Value::Null);
    }
}
