//! Definitions: the files a team keeps in git, loaded and validated.
//!
//! A feedsmith repository holds `feedsmith.toml` and four folders of definitions, one file per
//! item, TOML or YAML chosen by extension (JSON for warning lists), the file stem being the
//! item's id:
//!
//! - `feeds.d/`: [`FeedConfig`], where a feed comes from and how to read it;
//! - `decay.d/`: [`DecayConfig`], how fast indicators of some types lose their score;
//! - `tasks.d/`: [`TaskConfig`], a selection of indicators and the files made from it;
//! - `warninglists.d/`: [`WarningListFile`], MISP warning lists (`<id>.json`) that tasks
//!   apply to leave known-good values out;
//! - `templates/outputs/`: output templates ([`template`]), formats a team writes itself,
//!   named by a task's `template` outputs.
//!
//! `schema` (with the `schemars` feature, on by default) derives a JSON Schema of each kind of
//! file from the same structs, for editors.
//!
//! [`load`] reads every file, then checks what no single file can check alone (ids that are
//! referenced, values out of range) and collects **every** problem as a [`Diagnostic`] with
//! file, line, column and key before it gives up, so that a reviewer sees all of them at once.
//!
//! Raw structs (`*Config`, as written) are kept apart from the resolved runtime structs
//! ([`Feed`], [`DecayModel`], [`Task`], [`Settings`]) that later stages use.

pub mod budget;
mod decay;
mod feed;
mod load;
mod locate;
mod project;
#[cfg(feature = "schemars")]
pub mod schema;
mod task;
pub mod template;
mod validate;
mod warninglist;

pub use decay::{DecayConfig, DecayKind, SightingsSettings};
pub use feed::{
    Column, CsvOptions, FeedConfig, FeedFormat, FreetextOptions, JsonOptions, MispOptions,
    MispRules,
};
pub use load::load;
pub(crate) use load::{DECAY_DIR, FEEDS_DIR, PROJECT_FILE, TASKS_DIR, parse_yaml};
pub use project::{FetchConfig, ProjectConfig};
pub use task::{EventMode, ListType, OutputConfig, OutputFormat, SelectConfig, TaskConfig};
pub use template::TemplateSyntax;
pub(crate) use validate::output_problems;
pub(crate) use warninglist::WARNINGLISTS_DIR;
pub use warninglist::WarningListFile;

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use regex::Regex;

use crate::indicator::AttrType;

/// The definitions of a repository, validated and resolved.
#[derive(Clone, Debug)]
pub struct Project {
    /// The repository root every relative path starts from.
    pub root: PathBuf,
    /// Project-wide settings from `feedsmith.toml`.
    pub settings: Settings,
    /// Every feed, enabled or not, sorted by id.
    pub feeds: Vec<Feed>,
    /// Every decay model, sorted by id.
    pub models: Vec<DecayModel>,
    /// Every task, sorted by id.
    pub tasks: Vec<Task>,
    /// Every warning list of `warninglists.d/`, sorted by id.
    pub warninglists: Vec<WarningListFile>,
    /// What loading found valid but probably not meant (a task naming a disabled feed, a
    /// model that freezes its list), sorted by file, line and column; already logged.
    pub warnings: Vec<Diagnostic>,
}

/// Project settings with every default applied.
#[derive(Clone, Debug)]
pub struct Settings {
    /// Site title and MISP organisation name.
    pub title: String,
    /// Public URL of the output folder, if known.
    pub base_url: Option<String>,
    /// Absolute build output folder.
    pub output_dir: PathBuf,
    /// Absolute folder of cached raw responses.
    pub cache_dir: PathBuf,
    /// Absolute folder of state carried between builds.
    pub state_dir: PathBuf,
    /// Builds whose counts the history keeps.
    pub history_builds: usize,
    /// Time allowed for one request.
    pub timeout: Duration,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Largest body accepted, in bytes.
    pub max_body_bytes: u64,
    /// Largest decompressed body, in bytes, unless a feed sets its own cap.
    pub max_decompressed_bytes: u64,
    /// Retries after a connection error, a timeout, a 5xx or a 429.
    pub retries: u32,
    /// First back-off delay between retries.
    pub retry_base: Duration,
    /// Requests in flight at once to one host.
    pub per_host_concurrency: usize,
}

/// Where a feed's bytes come from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// An http(s) URL; for a MISP feed, the folder URL without a trailing slash.
    Url(String),
    /// A local file or folder, absolute.
    Path(PathBuf),
}

/// A feed ready to fetch and parse.
#[derive(Clone, Debug)]
pub struct Feed {
    /// The id: the file stem of its definition.
    pub id: String,
    /// The definition file, for messages.
    pub file: PathBuf,
    /// Where the bytes come from.
    pub source: Source,
    /// The definition as written.
    pub config: FeedConfig,
    /// CSV settings with defaults applied.
    pub csv: CsvOptions,
    /// Free-text settings with defaults applied.
    pub freetext: FreetextOptions,
    /// MISP settings with defaults applied.
    pub misp: MispOptions,
    /// JSON settings with defaults applied.
    pub json: JsonOptions,
    /// `exclude_regex`, compiled.
    pub exclude: Option<Regex>,
}

/// A decay model ready to score.
#[derive(Clone, Debug)]
pub struct DecayModel {
    /// The id: the file stem of its definition.
    pub id: String,
    /// The definition as written.
    pub config: DecayConfig,
    /// The attribute types the model applies to, resolved.
    pub types: Vec<AttrType>,
}

/// Which model scores a task's indicators.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ModelChoice {
    /// The first model (by id) whose types hold the indicator's type.
    Auto,
    /// This model, by index into [`Project::models`], for every indicator.
    Model(usize),
}

/// A task ready to select and write.
#[derive(Clone, Debug)]
pub struct Task {
    /// The id: the file stem of its definition.
    pub id: String,
    /// The definition as written.
    pub config: TaskConfig,
    /// Indexes into [`Project::feeds`] of the enabled feeds the task reads.
    pub feeds: Vec<usize>,
    /// The attribute types kept; empty means every type.
    pub types: Vec<AttrType>,
    /// The model that scores the task's indicators.
    pub model: ModelChoice,
    /// Indexes into [`Project::warninglists`] of the lists whose matches the task leaves out.
    pub warninglists: Vec<usize>,
    /// The sources of the output templates the task's `template` outputs name, by name,
    /// read and checked with the definitions.
    pub templates: BTreeMap<String, String>,
}

/// One problem found in the definitions, located in its file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    /// The file, relative to the repository root when it is inside it.
    pub file: PathBuf,
    /// 1-based line; 0 when the problem is the file as a whole.
    pub line: usize,
    /// 1-based column; 0 when the problem is the file as a whole.
    pub column: usize,
    /// Dotted key path (`outputs[0].format`), empty when no key applies.
    pub key: String,
    /// What is wrong, naming the bad value.
    pub message: String,
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file.display(), self.line, self.column)?;
        if !self.key.is_empty() {
            write!(f, "`{}`: ", self.key)?;
        }
        f.write_str(&self.message)
    }
}

/// Every problem found while loading the definitions.
#[derive(Clone, Debug, thiserror::Error)]
#[error("{} problem(s) in the definitions", .diagnostics.len())]
pub struct ConfigErrors {
    /// The problems, sorted by file, line and column.
    pub diagnostics: Vec<Diagnostic>,
    /// The warnings found beside them, sorted the same way; already logged.
    pub warnings: Vec<Diagnostic>,
}

impl Project {
    /// The enabled feeds, with their indexes into [`Project::feeds`].
    pub fn enabled_feeds(&self) -> impl Iterator<Item = (usize, &Feed)> {
        self.feeds.iter().enumerate().filter(|(_, f)| f.config.enabled)
    }
}
