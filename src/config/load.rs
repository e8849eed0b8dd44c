//! Reading definition files (placeholder until the loader lands).

use std::path::Path;

use super::{ConfigErrors, Project};

/// Loads and validates every definition under `root`.
pub fn load(root: &Path) -> Result<Project, ConfigErrors> {
    let _ = root;
    Err(ConfigErrors { diagnostics: Vec::new() })
}
