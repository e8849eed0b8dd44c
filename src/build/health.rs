//! Each feed's health across builds, and its last good data.
//!
//! A broken upstream must never empty an output that was good yesterday. So when a feed's
//! body parses with at least one indicator and did not shrink beyond `max_shrink`, its files
//! are kept in `<state>/good/<feed>/`; when a later build finds the feed failing, empty or
//! shrunk, those files are parsed again and used instead, until they are older than
//! `max_stale_days`. `<state>/feeds.json` records, per feed, the last success, how many
//! indicators it gave, and since when it has been failing.
//!
//! The good files are replaced atomically (written beside, synced, renamed), so a build
//! killed at any moment leaves the previous ones readable; `feeds.json` is one of the state
//! files of the `state` module, saved, published and recovered with the ledger.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::fs::write_atomic;

/// What the state remembers about one feed.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FeedHealth {
    /// Build time (Unix seconds) of the last build that read the feed successfully.
    pub last_success: Option<i64>,
    /// Distinct indicators the feed gave in that build.
    pub last_indicators: u64,
    /// Build time of the first of the builds that have failed since the last success.
    pub failing_since: Option<i64>,
    /// Why the last failing build failed.
    pub last_error: Option<String>,
}

/// The health of every feed, as kept in `feeds.json`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct Health {
    /// Format version of the file.
    pub version: u32,
    /// Per feed id.
    pub feeds: BTreeMap<String, FeedHealth>,
}

/// The state folder's feed health and last good files.
#[derive(Clone, Debug)]
pub struct HealthStore {
    dir: PathBuf,
}

impl HealthStore {
    /// The store inside the state folder `state_dir`.
    #[must_use]
    pub fn new(state_dir: &Path) -> HealthStore {
        HealthStore { dir: state_dir.to_owned() }
    }

    fn good_dir(&self, feed: &str) -> PathBuf {
        self.dir.join("good").join(feed)
    }

    /// Replaces the feed's last good files with `files` (name, bytes).
    pub fn save_good(&self, feed: &str, files: &[(String, &[u8])]) -> std::io::Result<()> {
        let target = self.good_dir(feed);
        let parent = target.parent().unwrap_or(&self.dir).to_owned();
        std::fs::create_dir_all(&parent)?;
        let fresh = parent.join(format!(".{feed}.new"));
        let old = parent.join(format!(".{feed}.old"));
        if fresh.exists() {
            std::fs::remove_dir_all(&fresh)?;
        }
        std::fs::create_dir_all(&fresh)?;
        for (name, bytes) in files {
            if !is_plain_file_name(name) {
                continue;
            }
            write_atomic(&fresh.join(name), bytes)?;
        }
        if old.exists() {
            std::fs::remove_dir_all(&old)?;
        }
        if target.exists() {
            std::fs::rename(&target, &old)?;
        }
        std::fs::rename(&fresh, &target)?;
        if old.exists() {
            std::fs::remove_dir_all(&old)?;
        }
        Ok(())
    }

    /// The feed's last good files, sorted by name; `None` when there are none. A swap that
    /// was interrupted is recovered from the folder it left behind.
    #[must_use]
    pub fn load_good(&self, feed: &str) -> Option<Vec<(String, Vec<u8>)>> {
        let target = self.good_dir(feed);
        let old = target.with_file_name(format!(".{feed}.old"));
        let dir = if target.is_dir() {
            target
        } else if old.is_dir() {
            old
        } else {
            return None;
        };
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir).ok()? {
            let entry = entry.ok()?;
            let name = entry.file_name().to_string_lossy().into_owned();
            if !is_plain_file_name(&name) {
                continue;
            }
            files.push((name, std::fs::read(entry.path()).ok()?));
        }
        files.sort_by(|a, b| a.0.cmp(&b.0));
        (!files.is_empty()).then_some(files)
    }

    /// Whether the feed's last good files are `files` (name, bytes), byte for byte, so that
    /// saving them again would change nothing. The folder is compared, not trusted: the
    /// same names (of those [`save_good`](Self::save_good) writes), the same sizes, then
    /// the same bytes. A folder left by an interrupted swap, or anything unreadable, is not
    /// the same.
    #[must_use]
    pub fn holds_good(&self, feed: &str, files: &[(String, &[u8])]) -> bool {
        let dir = self.good_dir(feed);
        let Ok(entries) = std::fs::read_dir(&dir) else { return false };
        let mut held = 0;
        for entry in entries {
            let Ok(entry) = entry else { return false };
            let name = entry.file_name().to_string_lossy().into_owned();
            if is_plain_file_name(&name) {
                held += 1;
                if !files.iter().any(|(wanted, _)| *wanted == name) {
                    return false;
                }
            }
        }
        let wanted: Vec<&(String, &[u8])> =
            files.iter().filter(|(name, _)| is_plain_file_name(name)).collect();
        held == wanted.len()
            && wanted.iter().all(|(name, bytes)| same_bytes(&dir.join(name), bytes))
    }

    /// Forgets the feed's last good files (an empty feed was accepted as genuine).
    pub fn drop_good(&self, feed: &str) -> std::io::Result<()> {
        let target = self.good_dir(feed);
        if target.exists() {
            std::fs::remove_dir_all(target)?;
        }
        Ok(())
    }
}

/// Whether the regular file at `path` holds exactly `bytes`: its size first, then its
/// content, read a block at a time.
fn same_bytes(path: &Path, bytes: &[u8]) -> bool {
    use std::io::Read as _;
    let Ok(meta) = std::fs::symlink_metadata(path) else { return false };
    if !meta.is_file() || meta.len() != bytes.len() as u64 {
        return false;
    }
    let Ok(file) = std::fs::File::open(path) else { return false };
    // One byte more than expected is read, should the file have grown since.
    let mut file = file.take(bytes.len() as u64 + 1);
    let mut rest = bytes;
    let mut block = vec![0; 1 << 16];
    loop {
        match file.read(&mut block) {
            Ok(0) => return rest.is_empty(),
            Ok(n) => {
                if n > rest.len() || block[..n] != rest[..n] {
                    return false;
                }
                rest = &rest[n..];
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(_) => return false,
        }
    }
}

/// File names written into the good folder come from feed data (MISP event UUIDs): only plain
/// names are accepted, never a path.
fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_files_round_trip_and_unsafe_names_are_never_written() {
        let dir = tempfile::tempdir().unwrap();
        let store = HealthStore::new(dir.path());
        assert!(store.load_good("f").is_none());
        let files =
            vec![("body".to_owned(), &b"192.0.2.1\n"[..]), ("../escape".to_owned(), &b"x"[..])];
        store.save_good("f", &files).unwrap();
        assert_eq!(
            store.load_good("f").unwrap(),
            vec![("body".to_owned(), b"192.0.2.1\n".to_vec())]
        );
        assert!(!dir.path().join("good/escape").exists());
        store.save_good("f", &[("body".to_owned(), &b"192.0.2.2\n"[..])]).unwrap();
        assert_eq!(store.load_good("f").unwrap()[0].1, b"192.0.2.2\n");
    }

    #[test]
    fn an_interrupted_swap_is_recovered_from_the_old_folder() {
        let dir = tempfile::tempdir().unwrap();
        let store = HealthStore::new(dir.path());
        store.save_good("f", &[("body".to_owned(), &b"1"[..])]).unwrap();
        // A build killed between the two renames leaves only `.f.old`.
        std::fs::rename(dir.path().join("good/f"), dir.path().join("good/.f.old")).unwrap();
        assert_eq!(store.load_good("f").unwrap()[0].1, b"1");
    }
}
