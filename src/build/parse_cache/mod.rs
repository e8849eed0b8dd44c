//! Each feed's last parse, kept in the state folder so that a body that did not change is
//! not parsed again.
//!
//! After a feed's files are parsed, the [`ParsedFeed`] is written to
//! `<state>/parsed/<feed>.bin` under a key: SHA-256 over the cache's format version, the
//! program (its version and the digest of the sources it was built from, see `build.rs`),
//! the feed's definition as loaded (every setting, defaults applied, the compiled patterns
//! included: any change of definition counts) and the fetched files (the body, or the
//! manifest and every event file with its UUID, and the event files that failed). The next
//! build computes the key from its own freshly fetched files; when the file holds the same
//! key and its checksum is right, its parse is used and the files are not parsed.
//!
//! The file is hostile input like every byte a build reads back. It is refused, and the
//! feed parsed as if there were none, when it is not a regular file, is larger than the
//! feed's files can explain ([`max_file_bytes`]), is truncated, carries another key, fails
//! its SHA-256, or does not decode; each refusal is logged once, as a warning when the file
//! is damaged. Writing never fails a build either: a file that cannot be written is logged
//! and the feed parsed again next time.
//!
//! ```text
//! magic    8 bytes: 89 'F' 'S' 'P' 0D 0A 1A 0A
//! version  4 bytes, little-endian: 1
//! key      32 bytes
//! length   8 bytes, little-endian: the length of the parse that follows
//! parse    the parse (`codec`)
//! sha256   32 bytes: SHA-256 of everything before it
//! ```
//!
//! The file is renamed into place but not synced: a file torn by a crash fails its checksum
//! and costs one parse, and syncing every feed's parse would cost every build the time the
//! cache saves.
//!
//! # Architecture
//! - `codec`: the bytes of a [`ParsedFeed`].

mod codec;
#[cfg(test)]
mod tests;

use std::fs;
use std::io::{self, Read as _, Write as _};
use std::path::{Path, PathBuf};
use std::time::Instant;

use sha2::{Digest, Sha256};

use super::{FeedFiles, Writes, parse_files};
use crate::config::Feed;
use crate::parse::ParsedFeed;

/// The first bytes of the file: not text, and damaged by line-ending conversions.
const MAGIC: [u8; 8] = *b"\x89FSP\r\n\x1a\n";
/// The version of the file and of the parse inside it.
const VERSION: u32 = 1;
/// Magic, version, key and length.
const HEADER: usize = MAGIC.len() + 4 + 32 + 8;
/// The checksum at the end.
const DIGEST: usize = 32;
/// The folder of the state folder that holds the files.
const FOLDER: &str = "parsed";

/// What wrote a cached parse: a parse made by another program is not used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Program {
    /// The version in Cargo.toml.
    version: &'static str,
    /// The digest of the sources and the lock file, from `build.rs`.
    sources: &'static str,
}

impl Program {
    /// This program.
    const THIS: Program =
        Program { version: env!("CARGO_PKG_VERSION"), sources: env!("FEEDSMITH_SOURCE_DIGEST") };
}

/// The key of a parse: what it was made from, hashed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Key([u8; 32]);

impl Key {
    /// The digest's bytes.
    pub(super) fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

/// The feeds' cached parses in a state folder.
#[derive(Clone, Debug)]
pub(super) struct ParseCache {
    dir: PathBuf,
    writes: Writes,
    program: Program,
}

/// Why a cached parse is not used.
#[derive(Debug)]
enum Miss {
    /// There is none (a first build, or a feed that failed so far).
    Absent,
    /// It was made from other files, another definition or by another program.
    Changed,
    /// The file is damaged or not a cached parse at all.
    Damaged(String),
}

/// A feed's files as parsed, and whether the parse was the cached one.
pub(super) struct Parsed {
    /// What parsing the files gave, or why they could not be parsed.
    pub(super) parsed: Result<ParsedFeed, String>,
    /// The parse was read from the cache; the files were not parsed.
    pub(super) reused: bool,
}

impl ParseCache {
    /// The cache in the state folder `state_dir`; with [`Writes::Never`] it is only read.
    pub(super) fn new(state_dir: &Path, writes: Writes) -> ParseCache {
        ParseCache { dir: state_dir.join(FOLDER), writes, program: Program::THIS }
    }

    /// The key under which the parse of `feed`'s `files` is cached: what [`ParseCache::parse`]
    /// is given, computed once per build (hashing the bodies is most of its cost).
    pub(super) fn key(&self, feed: &Feed, files: &FeedFiles, failures: &[String]) -> Key {
        key(&self.program, feed, &files.named(), failures)
    }

    /// Parses a feed's files, or takes the parse the cache holds of the very same files,
    /// definition and program (`key`, from [`ParseCache::key`]). A fresh parse is written to
    /// the cache when writes are allowed.
    pub(super) fn parse(
        &self,
        feed: &Feed,
        files: &FeedFiles,
        failures: &[String],
        key: &Key,
    ) -> Parsed {
        let named = files.named();
        let input: u64 = named.iter().map(|(name, bytes)| (name.len() + bytes.len()) as u64).sum();
        let input = input + failures.iter().map(|f| f.len() as u64).sum::<u64>();
        let limit = max_file_bytes(input);
        let path = self.path(&feed.id);
        let started = Instant::now();
        match load(&path, key, limit) {
            Ok(parsed) => {
                let load_ms = started.elapsed().as_millis() as u64;
                tracing::debug!(feed = %feed.id, load_ms, "Cached parse read");
                return Parsed { parsed: Ok(parsed), reused: true };
            }
            Err(Miss::Absent) => {
                tracing::debug!(feed = %feed.id, "No cached parse of the feed; parsing its files");
            }
            Err(Miss::Changed) => tracing::debug!(
                feed = %feed.id,
                "The feed's files, definition or program changed since its cached parse; parsing its files"
            ),
            Err(Miss::Damaged(why)) => tracing::warn!(
                feed = %feed.id,
                path = %path.display(),
                why,
                "The feed's cached parse cannot be used; parsing its files"
            ),
        }
        let started = Instant::now();
        let parsed = parse_files(feed, files, failures);
        let parse_ms = started.elapsed().as_millis() as u64;
        let started = Instant::now();
        if self.writes == Writes::Allowed
            && let Ok(parsed) = &parsed
        {
            self.store(&feed.id, &path, key, parsed, limit);
        }
        let store_ms = started.elapsed().as_millis() as u64;
        tracing::debug!(feed = %feed.id, parse_ms, store_ms, "Files parsed");
        Parsed { parsed, reused: false }
    }

    /// Removes the files of feeds that are no longer defined, and the temporary files a
    /// killed build left. Only a build does this; what cannot be removed stays.
    pub(super) fn forget_others<'a>(&self, ids: impl IntoIterator<Item = &'a str>) {
        if self.writes != Writes::Allowed {
            return;
        }
        let Ok(entries) = fs::read_dir(&self.dir) else { return };
        let keep: std::collections::HashSet<&str> = ids.into_iter().collect();
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Some(name) = name.to_str() else { continue };
            let unused = match name.rsplit_once('.') {
                Some((id, "bin")) => !keep.contains(id),
                Some((_, "tmp")) => name.starts_with('.'),
                _ => false,
            };
            if unused && entry.file_type().is_ok_and(|kind| kind.is_file()) {
                // Best effort: a file left behind is refused by its key or checksum anyway.
                let _ = fs::remove_file(entry.path());
            }
        }
    }

    fn path(&self, feed: &str) -> PathBuf {
        self.dir.join(format!("{feed}.bin"))
    }

    /// Writes a feed's parse; a failure is logged, and the feed is parsed again next time.
    fn store(&self, feed: &str, path: &Path, key: &Key, parsed: &ParsedFeed, limit: u64) {
        let body = match codec::encode(parsed) {
            Ok(body) => body,
            Err(e) => {
                tracing::warn!(feed, error = %e, "The feed's parse cannot be cached");
                return;
            }
        };
        let length = (HEADER + body.len() + DIGEST) as u64;
        if length > limit {
            tracing::debug!(
                feed,
                bytes = length,
                limit,
                "The feed's parse is larger than a cached parse may be; not cached"
            );
            return;
        }
        let header = header(key, body.len());
        let digest: [u8; DIGEST] =
            Sha256::new().chain_update(header).chain_update(&body).finalize().into();
        let tmp = self.dir.join(format!(".{feed}.bin.tmp"));
        let written = fs::create_dir_all(&self.dir)
            .and_then(|()| fs::File::create(&tmp))
            .and_then(|mut file| {
                file.write_all(&header)?;
                file.write_all(&body)?;
                file.write_all(&digest)
            })
            .and_then(|()| fs::rename(&tmp, path));
        if let Err(e) = written {
            let _ = fs::remove_file(&tmp);
            tracing::warn!(
                feed,
                path = %path.display(),
                error = %e,
                "Could not cache the feed's parse; it is parsed again next build"
            );
        }
    }
}

/// The largest cached parse of files of `input` bytes: a parse holds each accepted value
/// once with a few bytes around it, and at most a few hundred kilobytes of stats, so eight
/// times the input and a mebibyte is more than any parse needs, and a file larger than that
/// was not written by a build.
fn max_file_bytes(input: u64) -> u64 {
    input.saturating_mul(8).saturating_add(1 << 20)
}

fn header(key: &Key, body: usize) -> [u8; HEADER] {
    let mut header = [0; HEADER];
    header[..8].copy_from_slice(&MAGIC);
    header[8..12].copy_from_slice(&VERSION.to_le_bytes());
    header[12..44].copy_from_slice(&key.0);
    header[44..].copy_from_slice(&(body as u64).to_le_bytes());
    header
}

/// The key of a parse of `files` (name and bytes) with `feed`'s definition by `program`.
fn key(program: &Program, feed: &Feed, files: &[(String, &[u8])], failures: &[String]) -> Key {
    // Every piece goes in with its length, so that no two inputs give the same stream.
    fn field(hash: &mut Sha256, bytes: &[u8]) {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    }
    let mut hash = Sha256::new();
    field(&mut hash, b"feedsmith parsed feed");
    hash.update(VERSION.to_le_bytes());
    field(&mut hash, program.version.as_bytes());
    field(&mut hash, program.sources.as_bytes());
    field(&mut hash, definition(feed).as_bytes());
    hash.update((files.len() as u64).to_le_bytes());
    for (name, bytes) in files {
        field(&mut hash, name.as_bytes());
        field(&mut hash, bytes);
    }
    hash.update((failures.len() as u64).to_le_bytes());
    for failure in failures {
        field(&mut hash, failure.as_bytes());
    }
    Key(hash.finalize().into())
}

/// Everything of a feed's definition a parse can depend on: the definition as written and
/// the settings resolved from it, in their `Debug` form, which names every field (a field
/// added later is in it without anyone remembering to add it here) and writes each pattern
/// as its source. Display names and the like are in it too: changing them costs one parse.
fn definition(feed: &Feed) -> String {
    format!(
        "{:?}",
        (
            &feed.id,
            &feed.config,
            &feed.csv,
            &feed.freetext,
            &feed.misp,
            &feed.json,
            feed.exclude.as_ref().map(regex::Regex::as_str),
        )
    )
}

/// The parse in the file at `path`, when it holds one under `key`.
fn load(path: &Path, key: &Key, limit: u64) -> Result<ParsedFeed, Miss> {
    let bytes = read_limited(path, limit)?;
    let parse = check(&bytes, key)?;
    codec::decode(parse).map_err(|e| Miss::Damaged(e.to_string()))
}

/// The bytes of a regular file of at most `limit` bytes. A symbolic link, a folder or a
/// named pipe is refused before it is opened (a pipe would block the build).
fn read_limited(path: &Path, limit: u64) -> Result<Vec<u8>, Miss> {
    let meta = match fs::symlink_metadata(path) {
        Ok(meta) => meta,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(Miss::Absent),
        Err(e) => return Err(Miss::Damaged(format!("cannot be read: {e}"))),
    };
    if !meta.is_file() {
        return Err(Miss::Damaged("not a regular file".to_owned()));
    }
    let oversized = |length: u64| {
        Miss::Damaged(format!(
            "{length} bytes, more than a cached parse of the feed's files may be ({limit})"
        ))
    };
    if meta.len() > limit {
        return Err(oversized(meta.len()));
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    fs::File::open(path)
        .and_then(|file| file.take(limit + 1).read_to_end(&mut bytes))
        .map_err(|e| Miss::Damaged(format!("cannot be read: {e}")))?;
    if bytes.len() as u64 > limit {
        return Err(oversized(bytes.len() as u64));
    }
    Ok(bytes)
}

/// The parse inside a file's bytes, once its header says `key` and its checksum is right.
fn check<'a>(bytes: &'a [u8], key: &Key) -> Result<&'a [u8], Miss> {
    let damaged = |why: &str| Miss::Damaged(why.to_owned());
    if bytes.len() < HEADER + DIGEST {
        return Err(damaged(if MAGIC.starts_with(&bytes[..bytes.len().min(8)]) {
            "truncated"
        } else {
            "not a cached parse"
        }));
    }
    if bytes[..8] != MAGIC {
        return Err(damaged("not a cached parse"));
    }
    if bytes[8..12] != VERSION.to_le_bytes() {
        // Another format: written by another feedsmith, whose key is not this one's anyway.
        return Err(Miss::Changed);
    }
    if bytes[12..44] != key.0 {
        return Err(Miss::Changed);
    }
    let mut length = [0; 8];
    length.copy_from_slice(&bytes[44..HEADER]);
    let length = u64::from_le_bytes(length);
    let (content, digest) = bytes.split_at(bytes.len() - DIGEST);
    if length != (content.len() - HEADER) as u64 {
        return Err(damaged(if length > (content.len() - HEADER) as u64 {
            "truncated"
        } else {
            "longer than its header says"
        }));
    }
    if Sha256::digest(content)[..] != *digest {
        return Err(damaged("its SHA-256 does not match its content"));
    }
    Ok(&content[HEADER..])
}
