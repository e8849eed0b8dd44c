//! Recorded responses: a folder that answers requests by URL, with no network.
//!
//! The folder holds an `index.toml` that maps URLs to files:
//!
//! ```toml
//! [[response]]
//! url = "https://feodotracker.abuse.ch/downloads/ipblocklist.csv"
//! file = "feodotracker/ipblocklist.csv"
//! content_type = "text/csv"
//!
//! [[folder]]
//! url = "https://raw.githubusercontent.com/0xDanielLopez/TweetFeed/master/misp"
//! dir = "misp-tweetfeed"
//! ```
//!
//! A `[[folder]]` answers `<url>/<name>` from `<dir>/<name>`, which is how a MISP feed's
//! manifest and event files are recorded. The folder is only ever read.

use std::collections::HashMap;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use super::FetchError;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Index {
    #[serde(default)]
    response: Vec<ResponseEntry>,
    #[serde(default)]
    folder: Vec<FolderEntry>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ResponseEntry {
    url: String,
    file: String,
    #[serde(default)]
    content_type: Option<String>,
    #[serde(default = "default_status")]
    status: u16,
}

const fn default_status() -> u16 {
    200
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FolderEntry {
    url: String,
    dir: String,
}

/// A recorded answer.
#[derive(Clone, Debug)]
pub(crate) struct Recorded {
    pub(crate) file: PathBuf,
    pub(crate) status: u16,
    pub(crate) content_type: Option<String>,
}

/// A loaded index of recorded responses.
#[derive(Debug)]
pub struct Replay {
    root: PathBuf,
    responses: HashMap<String, Recorded>,
    folders: Vec<(String, PathBuf)>,
}

impl Replay {
    /// Reads `dir/index.toml`.
    pub fn open(dir: &Path) -> Result<Replay, FetchError> {
        let index_path = dir.join("index.toml");
        let text = std::fs::read_to_string(&index_path)
            .map_err(|source| FetchError::Io { path: index_path.clone(), source })?;
        let index: Index = toml::from_str(&text).map_err(|e| FetchError::ReplayIndex {
            path: index_path.clone(),
            message: e.to_string(),
        })?;
        let mut responses = HashMap::new();
        for entry in index.response {
            let file = safe_join(dir, &entry.file).ok_or_else(|| FetchError::ReplayIndex {
                path: index_path.clone(),
                message: format!("file `{}` leaves the replay folder", entry.file),
            })?;
            let recorded =
                Recorded { file, status: entry.status, content_type: entry.content_type };
            responses.insert(entry.url, recorded);
        }
        let mut folders = Vec::new();
        for entry in index.folder {
            let path = safe_join(dir, &entry.dir).ok_or_else(|| FetchError::ReplayIndex {
                path: index_path.clone(),
                message: format!("dir `{}` leaves the replay folder", entry.dir),
            })?;
            folders.push((entry.url.trim_end_matches('/').to_owned(), path));
        }
        Ok(Replay { root: dir.to_owned(), responses, folders })
    }

    /// The folder the index was read from.
    #[must_use]
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The recorded answer for `url`, if any.
    pub(crate) fn lookup(&self, url: &str) -> Option<Recorded> {
        if let Some(found) = self.responses.get(url) {
            return Some(found.clone());
        }
        for (prefix, dir) in &self.folders {
            let Some(rest) = url.strip_prefix(prefix.as_str()) else { continue };
            let Some(name) = rest.strip_prefix('/') else { continue };
            if let Some(file) = safe_join(dir, name) {
                let is_json =
                    Path::new(name).extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
                let content_type = if is_json { Some("application/json".to_owned()) } else { None };
                return Some(Recorded { file, status: 200, content_type });
            }
        }
        None
    }
}

/// Joins a relative path from an index to its folder, refusing anything that would leave it.
fn safe_join(base: &Path, relative: &str) -> Option<PathBuf> {
    let rel = Path::new(relative);
    if relative.is_empty()
        || rel.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir))
    {
        return None;
    }
    Some(base.join(rel))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_files_and_folders_and_refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("index.toml"),
            r#"
[[response]]
url = "https://a.example/list.txt"
file = "a/list.txt"
content_type = "text/plain"

[[folder]]
url = "https://b.example/misp/"
dir = "b"
"#,
        )
        .unwrap();
        let replay = Replay::open(dir.path()).unwrap();
        let a = replay.lookup("https://a.example/list.txt").unwrap();
        assert_eq!(a.file, dir.path().join("a/list.txt"));
        assert_eq!(a.status, 200);
        let b = replay.lookup("https://b.example/misp/manifest.json").unwrap();
        assert_eq!(b.file, dir.path().join("b/manifest.json"));
        assert!(replay.lookup("https://b.example/misp/../../etc/passwd").is_none());
        assert!(replay.lookup("https://c.example/").is_none());
    }
}
