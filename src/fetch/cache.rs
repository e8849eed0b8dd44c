//! Raw responses on disk, one folder per feed, with the validators of each response.
//!
//! `<cache>/<feed>/<key>.body` holds the bytes and `<key>.json` the metadata, where `key` is
//! the first 32 hex digits of the SHA-256 of the URL. Both are written to a temporary file,
//! synced and renamed, so a killed build never leaves half a body behind.
//!
//! A read-only cache ([`Cache::read_only`]) answers from the same files and writes nothing,
//! for commands that must leave the state of the last build as it is (`lookup`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::FetchError;
use crate::fs::write_atomic;

/// What is kept beside a cached body.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct CacheMeta {
    /// The URL the body answers.
    pub url: String,
    /// The `ETag` the server sent.
    pub etag: Option<String>,
    /// The `Last-Modified` the server sent.
    pub last_modified: Option<String>,
    /// The `Content-Type` the server sent.
    pub content_type: Option<String>,
    /// Size of the body in bytes.
    pub bytes: u64,
    /// SHA-256 of the body, hex.
    pub sha256: String,
    /// When the body was received, Unix seconds (wall clock).
    #[serde(default)]
    pub fetched_at: i64,
}

/// A cached body and its metadata.
#[derive(Clone, Debug)]
pub struct Cached {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// The metadata.
    pub meta: CacheMeta,
}

/// The cache folder.
#[derive(Clone, Debug)]
pub struct Cache {
    dir: PathBuf,
    /// Stores and touches do nothing.
    read_only: bool,
    /// The time entries are stamped with, instead of the clock's: a replayed build's `--now`.
    stamp: Option<i64>,
}

impl Cache {
    /// A cache rooted at `dir` (created on first write).
    #[must_use]
    pub fn new(dir: PathBuf) -> Cache {
        Cache { dir, read_only: false, stamp: None }
    }

    /// The same cache, stamping what it stores with `at` rather than the clock: a replayed
    /// build answers at its `--now`, so a later `--offline` build sees its bodies as fetched
    /// then.
    #[must_use]
    pub fn stamped_at(self, at: i64) -> Cache {
        Cache { stamp: Some(at), ..self }
    }

    fn now(&self) -> i64 {
        self.stamp.unwrap_or_else(|| time::OffsetDateTime::now_utc().unix_timestamp())
    }

    /// A cache rooted at `dir` that is read and never written: [`Cache::store`] and
    /// [`Cache::touch`] succeed without touching the disk.
    #[must_use]
    pub fn read_only(dir: PathBuf) -> Cache {
        Cache { dir, read_only: true, stamp: None }
    }

    fn paths(&self, feed: &str, url: &str) -> (PathBuf, PathBuf) {
        let digest = Sha256::digest(url.as_bytes());
        let key = &hex::encode(digest)[..32];
        let folder = self.dir.join(feed);
        (folder.join(format!("{key}.body")), folder.join(format!("{key}.json")))
    }

    /// The cached body of `url` for `feed`, if there is one whose checksum still matches.
    pub fn load(&self, feed: &str, url: &str) -> Result<Option<Cached>, FetchError> {
        let (body_path, meta_path) = self.paths(feed, url);
        let meta_text = match std::fs::read_to_string(&meta_path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(FetchError::Io { path: meta_path, source }),
        };
        let Ok(meta) = serde_json::from_str::<CacheMeta>(&meta_text) else {
            tracing::warn!(feed, path = %meta_path.display(), "Ignoring unreadable cache entry");
            return Ok(None);
        };
        let bytes = match std::fs::read(&body_path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(FetchError::Io { path: body_path, source }),
        };
        if meta.url != url || hex::encode(Sha256::digest(&bytes)) != meta.sha256 {
            tracing::warn!(feed, path = %body_path.display(), "Ignoring corrupt cache entry");
            return Ok(None);
        }
        Ok(Some(Cached { bytes, meta }))
    }

    /// Stores a body as received (still compressed, if it was) and its validators.
    pub fn store(
        &self,
        feed: &str,
        url: &str,
        bytes: &[u8],
        content_type: Option<&str>,
        etag: Option<String>,
        last_modified: Option<String>,
    ) -> Result<(), FetchError> {
        if self.read_only {
            return Ok(());
        }
        let (body_path, meta_path) = self.paths(feed, url);
        let meta = CacheMeta {
            url: url.to_owned(),
            etag,
            last_modified,
            content_type: content_type.map(str::to_owned),
            bytes: bytes.len() as u64,
            sha256: hex::encode(Sha256::digest(bytes)),
            fetched_at: self.now(),
        };
        let meta_json = serde_json::to_vec_pretty(&meta).unwrap_or_default();
        write_atomic(&body_path, bytes)
            .and_then(|()| write_atomic(&meta_path, &meta_json))
            .map_err(|source| FetchError::Io { path: body_path, source })
    }

    /// Marks a cached entry as confirmed now (a `304`), so that `refresh_secs` counts from
    /// this answer; the body is left as it is.
    pub fn touch(&self, feed: &str, url: &str, mut meta: CacheMeta) -> Result<(), FetchError> {
        if self.read_only {
            return Ok(());
        }
        let (_, meta_path) = self.paths(feed, url);
        meta.fetched_at = self.now();
        let meta_json = serde_json::to_vec_pretty(&meta).unwrap_or_default();
        write_atomic(&meta_path, &meta_json)
            .map_err(|source| FetchError::Io { path: meta_path, source })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_body_loads_back_and_corruption_is_ignored() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::new(dir.path().to_owned());
        let body = b"198.51.100.1\n";
        let url = "https://a.example/x";
        cache.store("f", url, body, Some("text/plain"), Some("\"v1\"".into()), None).unwrap();
        let loaded = cache.load("f", url).unwrap().unwrap();
        assert_eq!(loaded.bytes, body);
        assert_eq!(loaded.meta.etag.as_deref(), Some("\"v1\""));
        assert!(cache.load("f", "https://a.example/y").unwrap().is_none());

        let (body_path, _) = cache.paths("f", "https://a.example/x");
        std::fs::write(body_path, b"tampered").unwrap();
        assert!(cache.load("f", "https://a.example/x").unwrap().is_none());
    }

    #[test]
    fn a_stamped_cache_dates_what_it_stores_and_touches_at_its_stamp() {
        let dir = tempfile::tempdir().unwrap();
        let url = "https://a.example/x";
        let cache = Cache::new(dir.path().to_owned()).stamped_at(1_787_184_000);
        cache.store("f", url, b"1\n", None, None, None).unwrap();
        let meta = cache.load("f", url).unwrap().unwrap().meta;
        assert_eq!(meta.fetched_at, 1_787_184_000);
        let later = Cache::new(dir.path().to_owned()).stamped_at(1_787_270_400);
        later.touch("f", url, meta).unwrap();
        assert_eq!(later.load("f", url).unwrap().unwrap().meta.fetched_at, 1_787_270_400);
    }

    #[test]
    fn a_read_only_cache_reads_entries_and_writes_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let url = "https://a.example/x";
        let writable = Cache::new(dir.path().to_owned());
        writable.store("f", url, b"1\n", None, None, None).unwrap();
        // Dated long ago, so that a touch would show.
        let (_, meta_path) = writable.paths("f", url);
        let mut meta = writable.load("f", url).unwrap().unwrap().meta;
        meta.fetched_at = 1;
        std::fs::write(&meta_path, serde_json::to_vec(&meta).unwrap()).unwrap();

        let cache = Cache::read_only(dir.path().to_owned());
        let entry = cache.load("f", url).unwrap().unwrap();
        assert_eq!(entry.bytes, b"1\n");
        cache.store("f", url, b"2\n", None, None, None).unwrap();
        cache.store("g", url, b"2\n", None, None, None).unwrap();
        cache.touch("f", url, entry.meta.clone()).unwrap();
        let after = cache.load("f", url).unwrap().unwrap();
        assert_eq!(after.bytes, b"1\n");
        assert_eq!(after.meta.fetched_at, 1);
        assert!(!dir.path().join("g").exists());
    }
}
