//! JSON Schemas of the definition files, for editors: completion, hover text and checking as
//! a team types, before `feedsmith check` runs.
//!
//! Each schema is derived from the struct the loader reads the file into, so the keys, types
//! and `///` docs (defaults and units) cannot drift from what feedsmith accepts: serde's
//! `deny_unknown_fields` becomes `additionalProperties: false`, and the few types read by a
//! hand-written `Deserialize` (a CSV [`super::Column`], the MISP spellings of a
//! [`super::DecayKind`]) carry a matching hand-written schema. The schemas say what a single
//! file may hold; what only the whole repository can tell (a task naming a missing feed) is
//! left to `check`.
//!
//! The schemas use JSON Schema draft 7, which taplo (Even Better TOML) and the YAML language
//! server both read. The repository commits them under `schema/`, kept current by a test.

use schemars::generate::SchemaSettings;
use schemars::{JsonSchema, Schema};

use super::{DecayConfig, FeedConfig, ProjectConfig, TaskConfig};

/// The folder, at the repository root, that the schemas are written to by default.
pub const SCHEMA_DIR: &str = "schema";

/// One kind of definition file and its schema.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SchemaFile {
    /// The schema's file name inside [`SCHEMA_DIR`] (`feed.schema.json`).
    pub file_name: &'static str,
    /// The definition files it describes, as a glob from the repository root.
    pub applies_to: &'static str,
    /// The schema, pretty-printed JSON ending with a newline.
    pub text: String,
}

/// The schema of every kind of definition file: `feedsmith.toml`, `feeds.d/`, `tasks.d/`,
/// `decay.d/` and `warninglists.d/` (MISP's warning list format), in that order.
///
/// The text is the same for the same feedsmith version, so that the committed copies can be
/// compared byte for byte.
///
/// ```
/// let schemas = feedsmith::config::schema::schemas();
/// let feed = schemas.iter().find(|s| s.file_name == "feed.schema.json").unwrap();
/// assert!(feed.text.contains("\"refresh_secs\""));
/// ```
#[must_use]
pub fn schemas() -> Vec<SchemaFile> {
    vec![
        schema_file::<ProjectConfig>(
            "feedsmith.schema.json",
            "feedsmith.toml",
            "feedsmith project settings (feedsmith.toml)",
        ),
        schema_file::<FeedConfig>(
            "feed.schema.json",
            "feeds.d/*.{toml,yaml,yml}",
            "feedsmith feed (feeds.d/<id>.toml|yaml)",
        ),
        schema_file::<TaskConfig>(
            "task.schema.json",
            "tasks.d/*.{toml,yaml,yml}",
            "feedsmith task (tasks.d/<id>.toml|yaml)",
        ),
        schema_file::<DecayConfig>(
            "decay.schema.json",
            "decay.d/*.{toml,yaml,yml}",
            "feedsmith decay model (decay.d/<id>.toml|yaml)",
        ),
        schema_file::<crate::filter::ListFile>(
            "warninglist.schema.json",
            "warninglists.d/*.json",
            "MISP warning list (warninglists.d/<id>.json)",
        ),
    ]
}

/// The schema of `T` with a title naming the file kind.
fn schema_file<T: JsonSchema>(
    file_name: &'static str,
    applies_to: &'static str,
    title: &str,
) -> SchemaFile {
    let mut schema: Schema = SchemaSettings::draft07().into_generator().into_root_schema_for::<T>();
    schema.insert("title".to_owned(), title.into());
    let mut text = serde_json::to_string_pretty(&schema).unwrap_or_default();
    text.push('\n');
    SchemaFile { file_name, applies_to, text }
}

#[cfg(test)]
mod tests;
