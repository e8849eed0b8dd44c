//! Writing outputs: blocklists, MISP feed folders, the static site and the build report.
//!
//! Exporters take plain values (the selected [`Entry`]s of a task, the [`BuildReport`]) and
//! write into a staging folder that the build swaps in whole at the end. Each returns an
//! [`OutputReport`] with the entry count, size and SHA-256 of what it wrote. Output bytes are
//! deterministic: the same inputs and `--now` give the same files.
//!
//! # Architecture
//! - `plain`: one value per line under a `#` header.
//! - `misp_feed`: `manifest.json`, one event file and `hashes.csv`, as MISP pulls them.
//! - `site`: the HTML pages, rendered with minijinja from built-in or user templates.
//! - `chart`: line and bar charts as inline SVG, for the site's pages.
//!
//! [`BuildReport`]: crate::report::BuildReport

pub mod chart;
pub mod misp_feed;
pub mod plain;
pub mod site;

use std::borrow::Cow;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::indicator::Indicator;
use crate::report::OutputReport;

/// One indicator selected by a task, with what the outputs may say about it.
#[derive(Clone, Debug)]
pub struct Entry<'a> {
    /// The indicator: a feed's record, or one made from it for the task (the address of an
    /// `ip-dst|port` value in a task that takes `ip-dst`).
    pub indicator: Cow<'a, Indicator>,
    /// The IDS flag (true when any listing feed set it).
    pub to_ids: bool,
    /// The decay score, when a model covers the type.
    pub score: Option<f64>,
    /// When the indicator was last seen or changed (Unix seconds): the decay reference time.
    pub reference_time: i64,
    /// Ids of the feeds that list it, sorted.
    pub feeds: Vec<&'a str>,
}

/// Why an output could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A template failed to render.
    #[error("template `{name}` failed: {message}")]
    Template {
        /// The template name.
        name: String,
        /// The engine's message, with line.
        message: String,
    },
}

/// Writes `bytes` to `path`, creating parent folders.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let io = |source| ExportError::Io { path: path.to_owned(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, bytes).map_err(io)
}

/// The report of a file that was just written.
pub(crate) fn file_report(
    relative: &str,
    format: crate::config::OutputFormat,
    entries: u64,
    skipped: u64,
    bytes: &[u8],
) -> OutputReport {
    OutputReport {
        path: relative.to_owned(),
        format,
        entries,
        skipped,
        bytes: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(bytes)),
    }
}

/// Formats Unix seconds as RFC 3339 UTC (`2026-12-03T00:00:00Z`).
#[must_use]
pub fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// Formats Unix seconds as a calendar date (`2026-12-03`).
#[must_use]
pub fn date(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| unix.to_string())
}
