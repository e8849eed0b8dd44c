//! The ledger's file: a versioned, sorted, checksummed text format, and its atomic save.
//!
//! ```text
//! feedsmith-ledger 1
//! =<TAB>feed id<TAB>attribute type<TAB>number of entries      one section per (feed, type)
//! first_seen<TAB>last_seen − first_seen<TAB>value             one line per entry
//! …
//! end<TAB>number of entries in the file
//! sha256<TAB>hex SHA-256 of every byte before this line
//! ```
//!
//! Sections come in feed id order, entries in indicator order (type, then value), so the same
//! entries always give the same bytes. Times are Unix seconds; the last-seen time is written as
//! its distance from the first-seen time, which is shorter. Canonical values hold no tab, line
//! feed or carriage return, so a line needs no escaping; anything holding one is not written.
//!
//! A file that does not start with the magic line and version 1, does not end with the
//! checksum line, fails the checksum, or whose counts do not add up is corrupt: truncation and
//! damage are both caught before a single entry is trusted.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use rayon::slice::ParallelSliceMut;
use sha2::{Digest, Sha256};

use super::{FeedTable, Ledger, Seen};
use crate::indicator::{AttrType, Indicator};

/// The first word of the file.
const MAGIC: &str = "feedsmith-ledger";
/// The format version this code writes and reads.
const VERSION: &str = "1";
/// Bytes gathered before they are hashed and written.
const CHUNK: usize = 1 << 20;
/// The shortest entry line (`0<TAB>0<TAB><LF>`), to bound what a section count may reserve.
const MIN_LINE: usize = 5;
/// Entries per feed above which sorting runs on all cores.
const PARALLEL_SORT: usize = 50_000;

/// Why a ledger file cannot be loaded.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LedgerError {
    /// There is no file at the path (a first build, or a state folder that was cleared).
    #[error("no ledger at `{}`", path.display())]
    NotFound {
        /// The path that was read.
        path: PathBuf,
    },
    /// The file exists but cannot be read.
    #[error("cannot read the ledger `{}`", path.display())]
    Io {
        /// The path that was read.
        path: PathBuf,
        /// What the system said.
        #[source]
        source: io::Error,
    },
    /// The file is truncated, damaged, of an unknown version, or not a ledger at all.
    #[error("the ledger `{}` is corrupt: {reason}", path.display())]
    Corrupt {
        /// The path that was read.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
}

/// Where the previous version of a ledger file is kept: `<name>.prev` beside it.
pub(super) fn prev_path(path: &Path) -> PathBuf {
    with_suffix(path, ".prev")
}

/// Whether a feed id or value can be written on one line of the file.
pub(super) fn is_writable(text: &str) -> bool {
    !text.bytes().any(|b| matches!(b, b'\t' | b'\n' | b'\r'))
}

/// `path` with `suffix` appended to its file name.
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.file_name().map(ToOwned::to_owned).unwrap_or_default();
    name.push(suffix);
    path.with_file_name(name)
}

/// Reads and checks a ledger file.
pub(super) fn load(path: &Path) -> Result<Ledger, LedgerError> {
    let bytes = match fs::read(path) {
        Ok(bytes) => bytes,
        Err(error) if error.kind() == io::ErrorKind::NotFound => {
            return Err(LedgerError::NotFound { path: path.to_owned() });
        }
        Err(source) => return Err(LedgerError::Io { path: path.to_owned(), source }),
    };
    parse(&bytes).map_err(|reason| LedgerError::Corrupt { path: path.to_owned(), reason })
}

/// Parses the bytes of a ledger file; the error is the reason it is corrupt.
fn parse(bytes: &[u8]) -> Result<Ledger, String> {
    let Some(header_end) = bytes.iter().position(|&b| b == b'\n') else {
        return Err(if bytes.is_empty() {
            "the file is empty".to_owned()
        } else {
            "no complete first line".to_owned()
        });
    };
    check_header(&bytes[..header_end])?;

    // The checksum line is the last line; everything before it is covered.
    let Some(without_final_lf) = bytes.strip_suffix(b"\n") else {
        return Err("truncated: the file does not end with a line feed".to_owned());
    };
    let trailer_start = without_final_lf.iter().rposition(|&b| b == b'\n').map_or(0, |p| p + 1);
    let Some(hex_digest) = without_final_lf[trailer_start..].strip_prefix(b"sha256\t") else {
        return Err("truncated: the checksum line is missing".to_owned());
    };
    let mut expected = [0_u8; 32];
    if hex::decode_to_slice(hex_digest, &mut expected).is_err() {
        return Err("the checksum line does not hold a SHA-256 in hex".to_owned());
    }
    let covered = &bytes[..trailer_start];
    if Sha256::digest(covered).as_slice() != expected {
        return Err("checksum mismatch: the file was changed or damaged".to_owned());
    }

    // `covered` ends with the line feed before the checksum line, so the body does too.
    let body = covered.get(header_end + 1..).unwrap_or_default();
    let body = std::str::from_utf8(body)
        .map_err(|e| format!("not UTF-8 at byte {}", header_end + 1 + e.valid_up_to()))?;
    parse_body(body)
}

/// Checks the magic word and the version.
fn check_header(line: &[u8]) -> Result<(), String> {
    let line = String::from_utf8_lossy(line);
    match line.split_once(' ') {
        Some((MAGIC, VERSION)) => Ok(()),
        Some((MAGIC, version)) => Err(format!(
            "unknown format version `{version}` (this feedsmith reads version {VERSION})"
        )),
        _ => Err("not a feedsmith ledger file".to_owned()),
    }
}

/// Parses the sections and the `end` line.
fn parse_body(body: &str) -> Result<Ledger, String> {
    let mut ledger = Ledger::new();
    let mut lines = body.split_terminator('\n');
    let mut line_number = 1_usize;
    let mut total = 0_usize;
    loop {
        line_number += 1;
        let Some(line) = lines.next() else {
            return Err("truncated: the `end` line is missing".to_owned());
        };
        if let Some(header) = line.strip_prefix("=\t") {
            let mut fields = header.split('\t');
            let (Some(feed), Some(kind), Some(count), None) =
                (fields.next(), fields.next(), fields.next(), fields.next())
            else {
                return Err(format!("line {line_number}: a section header needs 3 fields"));
            };
            let kind = AttrType::from_name(kind)
                .ok_or_else(|| format!("line {line_number}: unknown attribute type `{kind}`"))?;
            let count: usize = count
                .parse()
                .map_err(|_| format!("line {line_number}: bad entry count `{count}`"))?;
            let table = ledger.table_mut(feed);
            table.entries.reserve(count.min(body.len() / MIN_LINE));
            for _ in 0..count {
                line_number += 1;
                let line = lines.next().ok_or_else(|| {
                    format!("truncated: section `{feed}` `{kind}` ends early at line {line_number}")
                })?;
                let (value, seen) = parse_entry(line)
                    .ok_or_else(|| format!("line {line_number}: not an entry line"))?;
                if table.entries.insert(Indicator::new(kind, value), seen).is_some() {
                    return Err(format!("line {line_number}: duplicate entry `{kind}` `{value}`"));
                }
            }
            total += count;
        } else if let Some(count) = line.strip_prefix("end\t") {
            if count.parse::<usize>().ok() != Some(total) {
                return Err(format!(
                    "the `end` line counts `{count}` entries but the file holds {total}"
                ));
            }
            if lines.next().is_some() {
                return Err(format!("line {}: data after the `end` line", line_number + 1));
            }
            return Ok(ledger);
        } else {
            return Err(format!("line {line_number}: expected a section header or `end`"));
        }
    }
}

/// Parses `first<TAB>span<TAB>value`.
fn parse_entry(line: &str) -> Option<(&str, Seen)> {
    let (first, rest) = line.split_once('\t')?;
    let (span, value) = rest.split_once('\t')?;
    if !is_writable(value) {
        return None;
    }
    let first_seen: i64 = first.parse().ok()?;
    let span: i64 = span.parse().ok()?;
    if span < 0 {
        return None;
    }
    let last_seen = first_seen.checked_add(span)?;
    Some((value, Seen { first_seen, last_seen }))
}

/// Writes the ledger atomically and keeps the replaced file as `<name>.prev`.
pub(super) fn save(ledger: &Ledger, path: &Path) -> io::Result<()> {
    if path.file_name().is_none() {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("`{}` is not a file path", path.display()),
        ));
    }
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    };
    fs::create_dir_all(dir)?;
    let tmp = with_suffix(path, ".tmp");
    let skipped = match write_file(ledger, &tmp) {
        Ok(skipped) => skipped,
        Err(error) => {
            // Best effort: the error that matters is the one being returned.
            let _ = fs::remove_file(&tmp);
            return Err(error);
        }
    };
    keep_previous(path)?;
    fs::rename(&tmp, path)?;
    sync_dir(dir);
    if skipped > 0 {
        tracing::warn!(
            path = %path.display(),
            skipped,
            "Left out ledger entries whose feed id or value holds a tab or a line break"
        );
    }
    Ok(())
}

/// Makes the current file (if any) the `.prev` file, without ever leaving `path` missing.
fn keep_previous(path: &Path) -> io::Result<()> {
    let prev = prev_path(path);
    match fs::remove_file(&prev) {
        Err(error) if error.kind() != io::ErrorKind::NotFound => return Err(error),
        _ => {}
    }
    match fs::hard_link(path, &prev) {
        Ok(()) => Ok(()),
        Err(error) if error.kind() == io::ErrorKind::NotFound => Ok(()),
        // A file system without hard links: move it instead; `path` is missing only until
        // the rename that follows.
        Err(_) => match fs::rename(path, &prev) {
            Err(error) if error.kind() != io::ErrorKind::NotFound => Err(error),
            _ => Ok(()),
        },
    }
}

/// Flushes a folder's entries (the rename) to disk where the system allows it.
fn sync_dir(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = File::open(dir) {
        // Not every file system supports it; the data itself is already synced.
        let _ = handle.sync_all();
    }
    #[cfg(not(unix))]
    let _ = dir;
}

/// Writes the whole file to `path` and syncs it; returns how many entries were left out.
fn write_file(ledger: &Ledger, path: &Path) -> io::Result<usize> {
    let mut out = Output::new(File::create(path)?);
    out.text(MAGIC);
    out.text(" ");
    out.text(VERSION);
    out.text("\n");

    let mut feeds: Vec<&FeedTable> =
        ledger.feeds.iter().filter(|feed| !feed.entries.is_empty()).collect();
    feeds.sort_unstable_by(|a, b| a.id.cmp(&b.id));
    let mut total = 0_usize;
    let mut skipped = 0_usize;
    for feed in feeds {
        if !is_writable(&feed.id) {
            skipped += feed.entries.len();
            continue;
        }
        let mut entries: Vec<(&Indicator, Seen)> = feed
            .entries
            .iter()
            .filter(|(indicator, seen)| {
                is_writable(&indicator.value)
                    && seen.last_seen.checked_sub(seen.first_seen).is_some()
            })
            .map(|(indicator, seen)| (indicator, *seen))
            .collect();
        skipped += feed.entries.len() - entries.len();
        if entries.len() > PARALLEL_SORT {
            entries.par_sort_unstable_by(|a, b| a.0.cmp(b.0));
        } else {
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
        }
        for section in entries.chunk_by(|a, b| a.0.kind == b.0.kind) {
            out.text("=\t");
            out.text(&feed.id);
            out.text("\t");
            out.text(section[0].0.kind.as_str());
            out.text("\t");
            out.integer(section.len() as i64);
            out.text("\n");
            for (indicator, seen) in section {
                out.integer(seen.first_seen);
                out.text("\t");
                // Checked by the filter above.
                out.integer(seen.last_seen.wrapping_sub(seen.first_seen));
                out.text("\t");
                out.text(&indicator.value);
                out.text("\n");
                out.flush_if_full()?;
            }
            total += section.len();
        }
    }
    out.text("end\t");
    out.integer(total as i64);
    out.text("\n");
    out.finish()?;
    Ok(skipped)
}

/// A buffered file writer that hashes what it writes and ends with the checksum line.
struct Output {
    file: File,
    hasher: Sha256,
    buffer: Vec<u8>,
}

impl Output {
    fn new(file: File) -> Output {
        Output { file, hasher: Sha256::new(), buffer: Vec::with_capacity(CHUNK + 4096) }
    }

    fn text(&mut self, text: &str) {
        self.buffer.extend_from_slice(text.as_bytes());
    }

    /// Appends a decimal integer without going through `fmt`.
    fn integer(&mut self, n: i64) {
        let mut digits = [0_u8; 20];
        let mut start = digits.len();
        let mut rest = n.unsigned_abs();
        loop {
            start -= 1;
            digits[start] = b'0' + (rest % 10) as u8;
            rest /= 10;
            if rest == 0 {
                break;
            }
        }
        if n < 0 {
            self.buffer.push(b'-');
        }
        self.buffer.extend_from_slice(&digits[start..]);
    }

    fn flush_if_full(&mut self) -> io::Result<()> {
        if self.buffer.len() >= CHUNK { self.flush() } else { Ok(()) }
    }

    fn flush(&mut self) -> io::Result<()> {
        self.hasher.update(&self.buffer);
        self.file.write_all(&self.buffer)?;
        self.buffer.clear();
        Ok(())
    }

    /// Writes the rest, then the checksum line, and syncs the file.
    fn finish(mut self) -> io::Result<()> {
        self.flush()?;
        let digest = self.hasher.finalize();
        let line = format!("sha256\t{}\n", hex::encode(digest.as_slice()));
        self.file.write_all(line.as_bytes())?;
        self.file.sync_all()
    }
}
