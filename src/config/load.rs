//! Reading definition files: the folder walk, the format chosen by extension, and parser
//! errors turned into located [`Diagnostic`]s.
//!
//! Each folder (`feeds.d/`, `decay.d/`, `tasks.d/`) holds one item per file; the file stem
//! is the item's id and the extension picks the parser (`.toml`, `.yaml` or `.yml`).
//! `warninglists.d/` holds MISP `list.json` files instead, read by [`super::warninglist`]. A file
//! is parsed fail-fast by serde, whose error (unknown key, wrong type, unknown value) becomes
//! one diagnostic at the line and column the parser names. Everything that parsed then goes
//! to [`super::validate`], which checks what serde cannot and collects every problem.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;

use super::locate::{KeyMap, LineIndex, Position};
use super::validate::{self, Report};
use super::{ConfigErrors, DecayConfig, FeedConfig, Project, ProjectConfig, TaskConfig};

/// The project settings file, at the repository root.
pub(crate) const PROJECT_FILE: &str = "feedsmith.toml";
/// The folder of feed definitions.
pub(crate) const FEEDS_DIR: &str = "feeds.d";
/// The folder of decay model definitions.
pub(crate) const DECAY_DIR: &str = "decay.d";
/// The folder of task definitions.
pub(crate) const TASKS_DIR: &str = "tasks.d";

/// Loads and validates every definition under `root`.
///
/// `feedsmith.toml` and each of the four folders are optional: a missing file means default
/// settings, a missing folder means no items of that kind. Every problem found, in any file,
/// is returned at once, sorted by file, line and column.
///
/// ```no_run
/// let project = feedsmith::config::load(std::path::Path::new("."))?;
/// println!("{} feeds, {} tasks", project.feeds.len(), project.tasks.len());
/// # Ok::<(), feedsmith::config::ConfigErrors>(())
/// ```
pub fn load(root: &Path) -> Result<Project, ConfigErrors> {
    let root = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
    let mut report = Report::default();
    if !root.is_dir() {
        report.file_error(root.clone(), "the repository root is not a folder");
        return Err(report.into_errors());
    }
    let settings = read_project_file(&root, &mut report);
    let feeds = read_folder::<FeedConfig>(&root, FEEDS_DIR, &mut report);
    let models = read_folder::<DecayConfig>(&root, DECAY_DIR, &mut report);
    let tasks = read_folder::<TaskConfig>(&root, TASKS_DIR, &mut report);
    let lists = super::warninglist::read(&root, &mut report);
    let project =
        validate::resolve(&root, settings.as_ref(), &feeds, &models, &tasks, &lists, &mut report);
    match project {
        Some(mut project) if report.is_empty() => {
            project.warnings = report.take_warnings();
            Ok(project)
        }
        _ => Err(report.into_errors()),
    }
}

/// The syntax of a definition file, chosen by its extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Syntax {
    /// `.toml`
    Toml,
    /// `.yaml` or `.yml`
    Yaml,
}

impl Syntax {
    fn from_extension(ext: &str) -> Option<Syntax> {
        match ext {
            "toml" => Some(Syntax::Toml),
            "yaml" | "yml" => Some(Syntax::Yaml),
            _ => None,
        }
    }
}

/// A definition file that parsed: where it is and where its keys are written.
#[derive(Clone, Debug)]
pub(crate) struct SourceFile {
    /// The file, relative to the repository root.
    pub(crate) file: PathBuf,
    /// Key path → position, for semantic diagnostics.
    pub(crate) keys: KeyMap,
}

/// One parsed definition with its id and file.
#[derive(Clone, Debug)]
pub(crate) struct Item<T> {
    /// The file stem.
    pub(crate) id: String,
    /// The file it came from.
    pub(crate) source: SourceFile,
    /// The definition as written.
    pub(crate) config: T,
}

/// The parsed items of one folder, sorted by id, and the ids whose files did not parse.
#[derive(Clone, Debug)]
pub(crate) struct Folder<T> {
    /// Items that parsed, sorted by id.
    pub(crate) items: Vec<Item<T>>,
    /// Ids of files that exist but failed to parse (already reported): references to them
    /// are not reported a second time.
    pub(crate) broken: BTreeSet<String>,
}

impl<T> Default for Folder<T> {
    fn default() -> Self {
        Folder { items: Vec::new(), broken: BTreeSet::new() }
    }
}

/// A parser error reduced to what a diagnostic needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct ParseProblem {
    /// Where the parser stopped, when it says.
    pub(crate) position: Option<Position>,
    /// What the position points at, to find the key the problem is about.
    pub(crate) target: Target,
    /// What is wrong, without position or snippet.
    pub(crate) message: String,
}

/// What a parser error's position points at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Target {
    /// A key or value: the key written there names the problem.
    Key,
    /// Somewhere inside a table that lacks a required key: the table names the problem.
    InsideTable,
    /// Nothing that a key names (a syntax error, the whole document).
    Nothing,
}

/// Whether `id` may name an item: `^[a-z0-9][a-z0-9_-]*$`. Ids become file names and URL
/// segments of the site, so nothing else is allowed.
pub(crate) fn is_valid_id(id: &str) -> bool {
    let mut chars = id.chars();
    chars.next().is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit())
        && chars.all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_' || c == '-')
}

fn read_project_file(root: &Path, report: &mut Report) -> Option<Item<ProjectConfig>> {
    let relative = PathBuf::from(PROJECT_FILE);
    let path = root.join(PROJECT_FILE);
    if !path.exists() {
        return None;
    }
    let text = read_text(&path, &relative, report)?;
    parse_file(&text, Syntax::Toml, relative, String::new(), report)
}

/// The plain files of `root/dir`, as `(file name, path relative to root)`: hidden files and
/// anything that is not a file are skipped (with a log line), a name that is not UTF-8 and a
/// folder that cannot be read are reported. A missing folder has no files.
pub(crate) fn folder_files(root: &Path, dir: &str, report: &mut Report) -> Vec<(String, PathBuf)> {
    let entries = match fs::read_dir(root.join(dir)) {
        Ok(entries) => entries,
        Err(err) if err.kind() == io::ErrorKind::NotFound => return Vec::new(),
        Err(err) => {
            report.file_error(PathBuf::from(dir), format!("cannot read the folder: {err}"));
            return Vec::new();
        }
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(entry) => entry,
            Err(err) => {
                report.file_error(PathBuf::from(dir), format!("cannot read the folder: {err}"));
                continue;
            }
        };
        let relative = Path::new(dir).join(entry.file_name());
        let Some(name) = entry.file_name().to_str().map(str::to_owned) else {
            report.file_error(relative, "the file name is not UTF-8");
            continue;
        };
        if name.starts_with('.') {
            tracing::debug!(file = %relative.display(), "Skipping hidden file");
            continue;
        }
        if !entry.path().is_file() {
            tracing::warn!(file = %relative.display(), "Skipping `{name}`: not a file");
            continue;
        }
        files.push((name, relative));
    }
    files
}

fn read_folder<T: DeserializeOwned>(root: &Path, dir: &str, report: &mut Report) -> Folder<T> {
    let mut folder = Folder::default();
    // (id, file name, syntax), sorted so that duplicates sit side by side.
    let mut files: Vec<(String, String, Syntax)> = Vec::new();
    for (name, relative) in folder_files(root, dir, report) {
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name.as_str(), ""));
        let Some(syntax) = Syntax::from_extension(ext) else {
            tracing::warn!(
                file = %relative.display(),
                "Skipping `{name}`: definitions end in `.toml`, `.yaml` or `.yml`"
            );
            continue;
        };
        if !accept_id(stem, relative, report, &mut folder.broken) {
            continue;
        }
        files.push((stem.to_owned(), name, syntax));
    }
    files.sort();
    let mut previous: Option<(String, String)> = None;
    for (id, name, syntax) in files {
        let relative = Path::new(dir).join(&name);
        if let Some((prev_id, prev_name)) = &previous
            && *prev_id == id
        {
            report.file_error(
                relative,
                format!("duplicate id `{id}`: `{dir}/{prev_name}` defines it too"),
            );
            continue;
        }
        previous = Some((id.clone(), name.clone()));
        let parsed = read_text(&root.join(&relative), &relative, report)
            .and_then(|text| parse_file(&text, syntax, relative, id.clone(), report));
        match parsed {
            Some(item) => folder.items.push(item),
            None => {
                folder.broken.insert(id);
            }
        }
    }
    folder
}

/// Reads a definition file as UTF-8 text without a byte-order mark; a problem is reported.
pub(super) fn read_text(path: &Path, relative: &Path, report: &mut Report) -> Option<String> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(err) => {
            report.file_error(relative.to_path_buf(), format!("cannot read the file: {err}"));
            return None;
        }
    };
    match String::from_utf8(bytes) {
        Ok(mut text) => {
            // Editors on Windows may save a byte-order mark; neither parser wants it.
            if text.starts_with('\u{feff}') {
                text.drain(..'\u{feff}'.len_utf8());
            }
            Some(text)
        }
        Err(err) => {
            let at = err.utf8_error().valid_up_to();
            let (line, column) = LineIndex::new(
                std::str::from_utf8(err.as_bytes().get(..at).unwrap_or_default())
                    .unwrap_or_default(),
            )
            .position(at);
            report.located(relative.to_path_buf(), (line, column), "", "the file is not UTF-8");
            None
        }
    }
}

fn parse_file<T: DeserializeOwned>(
    text: &str,
    syntax: Syntax,
    file: PathBuf,
    id: String,
    report: &mut Report,
) -> Option<Item<T>> {
    let (parsed, keys) = match syntax {
        Syntax::Toml => (parse_toml(text), KeyMap::from_toml(text)),
        Syntax::Yaml => (parse_yaml(text), KeyMap::from_yaml(text)),
    };
    match parsed {
        Ok(config) => Some(Item { id, source: SourceFile { file, keys }, config }),
        Err(problem) => {
            let found = problem.position.and_then(|p| keys.path_at(p));
            let (position, key) = match (problem.target, found) {
                (Target::Key, Some(key)) => (problem.position, key),
                (Target::InsideTable, Some(inner)) => {
                    let table = super::locate::parent(inner).unwrap_or_default();
                    let position = if table.is_empty() { (1, 1) } else { keys.position(table) };
                    (Some(position), table)
                }
                _ => (problem.position, ""),
            };
            report.located(file, position.unwrap_or((1, 1)), key, problem.message);
            None
        }
    }
}

/// Parses a TOML text into `T`.
pub(crate) fn parse_toml<T: DeserializeOwned>(text: &str) -> Result<T, ParseProblem> {
    toml::from_str(text).map_err(|err| ParseProblem {
        position: err.span().map(|span| LineIndex::new(text).position(span.start)),
        // toml gives an empty span for a problem with a whole table (a missing key), and the
        // table's header for a missing key of an array-of-tables element.
        target: if err.span().is_some_and(|span| !span.is_empty()) {
            Target::Key
        } else {
            Target::Nothing
        },
        message: one_line(err.message()),
    })
}

/// Whether a file stem is a valid id; an invalid one is reported and remembered as broken,
/// so that references to it are not reported again as unknown.
pub(crate) fn accept_id(
    stem: &str,
    relative: PathBuf,
    report: &mut Report,
    broken: &mut BTreeSet<String>,
) -> bool {
    if is_valid_id(stem) {
        return true;
    }
    report.file_error(
        relative,
        format!(
            "`{}` is not a valid id: use lower-case letters, digits, `_` and `-`, starting \
             with a letter or digit",
            stem.escape_debug()
        ),
    );
    broken.insert(stem.to_owned());
    false
}

/// Parses a YAML text into `T`. The only place that knows which YAML library is used.
pub(crate) fn parse_yaml<T: DeserializeOwned>(text: &str) -> Result<T, ParseProblem> {
    use serde_saphyr::MessageFormatter as _;

    // YAML 1.1 spellings (`yes`, `on`, `off`) are not booleans: TOML refuses them, and a
    // definition must not mean something else in the other syntax.
    let options = serde_saphyr::options! { with_snippet: false, strict_booleans: true };
    serde_saphyr::from_str_with_options(text, options).map_err(|err| {
        let err = err.without_snippet();
        let message = one_line(&serde_saphyr::UserMessageFormatter.format_message(err));
        // serde-saphyr places a missing key at the last key it read in the table.
        let target =
            if message.starts_with("missing field") { Target::InsideTable } else { Target::Key };
        ParseProblem {
            position: err.location().map(|at| {
                (
                    usize::try_from(at.line()).unwrap_or(usize::MAX),
                    usize::try_from(at.column()).unwrap_or(usize::MAX),
                )
            }),
            target,
            message,
        }
    })
}

/// Keeps a parser message on one line, so that each diagnostic is one line of output.
fn one_line(message: &str) -> String {
    message.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_ids_of_lower_case_letters_digits_dashes_and_underscores() {
        assert!(is_valid_id("feodo"));
        assert!(is_valid_id("0day_list-2"));
        assert!(!is_valid_id(""));
        assert!(!is_valid_id("Feodo"));
        assert!(!is_valid_id("-feodo"));
        assert!(!is_valid_id("_feodo"));
        assert!(!is_valid_id("feodo.ips"));
        assert!(!is_valid_id("feodo ips"));
        assert!(!is_valid_id("fé"));
    }

    #[test]
    fn places_a_toml_unknown_key_at_the_key() {
        let err = parse_toml::<ProjectConfig>("title = \"x\"\n\n[fetch]\nretry_count = 3\n")
            .expect_err("unknown key");
        assert_eq!(err.position, Some((4, 1)));
        assert!(err.message.starts_with("unknown field `retry_count`"), "{}", err.message);
    }

    #[test]
    fn places_a_yaml_unknown_key_at_the_key_without_a_position_suffix() {
        let err = parse_yaml::<ProjectConfig>("title: x\nfetch:\n  retry_count: 3\n")
            .expect_err("unknown key");
        assert_eq!(err.position, Some((3, 3)));
        assert!(err.message.contains("`retry_count`"), "{}", err.message);
        assert!(!err.message.contains("line"), "{}", err.message);
    }

    #[test]
    fn refuses_yaml_1_1_booleans_as_toml_does() {
        use crate::config::FeedConfig;
        let feed = "name: a\nprovider: b\nurl: https://x.example/\nformat: csv\nenabled: ";
        for word in ["yes", "on", "off", "no", "\"yes\""] {
            let result = parse_yaml::<FeedConfig>(&format!("{feed}{word}\n"));
            assert!(result.is_err(), "`enabled: {word}` was accepted");
        }
        let feed: FeedConfig = parse_yaml(&format!("{feed}false\n")).expect("a boolean");
        assert!(!feed.enabled);
    }

    #[test]
    fn keeps_yaml_scalars_typed_as_the_struct_asks() {
        let config: ProjectConfig =
            parse_yaml("title: feeds\nfetch:\n  concurrency: 3\n").expect("valid YAML");
        assert_eq!(config.title.as_deref(), Some("feeds"));
        assert_eq!(config.fetch.concurrency, Some(3));
    }
}
