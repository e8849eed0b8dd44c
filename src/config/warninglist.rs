//! `warninglists.d/<id>.json`: MISP warning lists, in MISP's own `list.json` format.
//!
//! A team copies lists from MISP's `misp-warninglists` repository (or writes its own) into
//! the folder, one file per list, the file stem being the id that tasks name. The file is
//! compiled by [`crate::filter::WarningList::from_json`] while the definitions load, so that a
//! list that does not parse, or an entry that cannot be matched (a `cidr` entry that is not
//! an address, a `regex` that does not compile), is a located error of `feedsmith check`
//! rather than a surprise at build time. `.md` files (notes on the lists' sources) are
//! skipped quietly; any other file is skipped with a warning.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::load::{accept_id, folder_files, read_text};
use super::locate::KeyMap;
use super::validate::Report;
use crate::filter::{ListError, WarningList};

/// The folder of warning lists.
pub(crate) const WARNINGLISTS_DIR: &str = "warninglists.d";

/// A warning list and the file it was read from.
#[derive(Clone, Debug)]
pub struct WarningListFile {
    /// The id: the file stem.
    pub id: String,
    /// The file, relative to the repository root.
    pub file: PathBuf,
    /// The compiled list, shared by every task that applies it.
    pub list: Arc<WarningList>,
}

/// The lists that loaded, sorted by id, and the ids of files that did not.
#[derive(Clone, Debug, Default)]
pub(crate) struct Lists {
    /// Lists that loaded, sorted by id.
    pub(crate) items: Vec<WarningListFile>,
    /// Ids of files that exist but failed to load (already reported).
    pub(crate) broken: BTreeSet<String>,
}

impl Lists {
    /// The index of the list `id` in [`Lists::items`].
    pub(crate) fn index(&self, id: &str) -> Option<usize> {
        self.items.binary_search_by(|item| item.id.as_str().cmp(id)).ok()
    }
}

/// Reads every `<id>.json` of `warninglists.d/`; a missing folder means no lists.
pub(crate) fn read(root: &Path, report: &mut Report) -> Lists {
    let mut lists = Lists::default();
    let dir = WARNINGLISTS_DIR;
    let mut ids = Vec::new();
    for (name, relative) in folder_files(root, dir, report) {
        let (stem, ext) = name.rsplit_once('.').unwrap_or((name.as_str(), ""));
        match ext {
            "json" => {}
            "md" => {
                tracing::debug!(file = %relative.display(), "Skipping a note");
                continue;
            }
            _ => {
                tracing::warn!(
                    file = %relative.display(),
                    "Skipping `{name}`: warning lists are MISP `list.json` files named `<id>.json`"
                );
                continue;
            }
        }
        if !accept_id(stem, relative, report, &mut lists.broken) {
            continue;
        }
        ids.push(stem.to_owned());
    }
    ids.sort();
    for id in ids {
        let relative = Path::new(dir).join(format!("{id}.json"));
        let text = read_text(&root.join(&relative), &relative, report);
        let loaded = text.as_deref().and_then(|text| compile(text, &relative, report));
        match loaded {
            Some(list) => {
                let unknown: Vec<&str> = list.unknown_attributes().collect();
                if !unknown.is_empty() {
                    if unknown.len() == list.matching_attributes().len() {
                        // Located only here: a list may hold tens of thousands of entries.
                        let keys = KeyMap::from_yaml(text.as_deref().unwrap_or_default());
                        report.warning_at(
                            relative.clone(),
                            keys.position("matching_attributes"),
                            "matching_attributes",
                            format!(
                                "no type feedsmith knows ({}); the list matches nothing",
                                unknown.join(", ")
                            ),
                        );
                    } else {
                        tracing::debug!(
                            file = %relative.display(),
                            "`matching_attributes`: ignoring types feedsmith does not know: {}",
                            unknown.join(", ")
                        );
                    }
                }
                lists.items.push(WarningListFile { id, file: relative, list: Arc::new(list) });
            }
            None => {
                lists.broken.insert(id);
            }
        }
    }
    lists
}

/// Compiles one list file, turning its problem into a located diagnostic.
fn compile(text: &str, file: &Path, report: &mut Report) -> Option<WarningList> {
    let err = match WarningList::from_json(text) {
        Ok(list) => return Some(list),
        Err(err) => err,
    };
    // Positions of keys and list elements; JSON is YAML, so the YAML key map serves. Built
    // only for a broken file, since a list may hold tens of thousands of entries.
    let keys = KeyMap::from_yaml(text);
    match &err {
        ListError::Json { line, column, message } => {
            let position = (*line, *column);
            let key = if *line == 0 { None } else { keys.path_at(position) };
            report.located(file.to_path_buf(), position, key.unwrap_or(""), message.clone());
        }
        ListError::Key { key, .. } => {
            report.located(file.to_path_buf(), keys.position(key), key, err.to_string());
        }
        ListError::Entry { index, .. } => {
            let key = format!("list[{index}]");
            report.located(file.to_path_buf(), keys.position(&key), &key, err.to_string());
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn diagnostics(text: &str) -> Vec<String> {
        let mut report = Report::default();
        assert!(compile(text, Path::new("warninglists.d/x.json"), &mut report).is_none());
        report.into_errors().diagnostics.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn a_bad_entry_is_located_at_its_line_in_the_list() {
        let text = "{\n  \"name\": \"n\",\n  \"type\": \"cidr\",\n  \"list\": [\n    \"10.0.0.0/8\",\n    \"not-an-ip\"\n  ]\n}\n";
        assert_eq!(
            diagnostics(text),
            [
                "warninglists.d/x.json:6:5: `list[1]`: `not-an-ip` is not an IPv4 or IPv6 address or network"
            ]
        );
    }

    #[test]
    fn an_unknown_type_is_located_at_its_value() {
        let text = "{\n  \"name\": \"n\",\n  \"type\": \"cidrs\",\n  \"list\": []\n}\n";
        let found = diagnostics(text);
        assert_eq!(found.len(), 1);
        assert!(
            found[0].starts_with("warninglists.d/x.json:3:17: `type`: unknown variant `cidrs`"),
            "{found:?}"
        );
    }

    #[test]
    fn an_empty_name_is_located_at_the_key() {
        let text = "{\n  \"name\": \"\",\n  \"type\": \"string\",\n  \"list\": []\n}\n";
        assert_eq!(diagnostics(text), ["warninglists.d/x.json:2:3: `name`: must not be empty"]);
    }
}
