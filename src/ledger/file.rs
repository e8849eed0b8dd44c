//! The ledger's file: a versioned, checksummed binary format, and its atomic save.
//!
//! Every integer is an unsigned LEB128 varint unless its width is given; a string is its
//! length in bytes (a varint) followed by its UTF-8 bytes.
//!
//! ```text
//! magic      8 bytes: 89 'F' 'S' 'L' 0D 0A 1A 0A
//! version    4 bytes, little-endian: 2
//! length     8 bytes, little-endian: the whole file, checksum included
//! head       8 bytes, little-endian: the length of the table that follows
//! ┌ table
//! │ feeds    count, then each feed id as a string, in byte order, distinct
//! │ types    count, then each attribute type name as a string, in byte order, distinct
//! │ entries  the number of entries in the file
//! │ sections count, then per section: feed number, type number, encoding (1 byte),
//! └          entries, bytes, SHA-256 of its bytes (32 bytes); in (feed, type) order
//! …          the bytes of every section, in table order
//! sha256     32 bytes: SHA-256 of everything from the magic to the end of the table
//! ```
//!
//! Every byte is covered by SHA-256: the sections by their own digests in the table, the
//! table and the header by the last 32 bytes. Sections are hashed where they are encoded and
//! decoded, on every core, instead of in one pass over the whole file.
//!
//! A section holds one feed's entries of one attribute type, values in byte order. An entry
//! is the number of bytes its value shares with the previous value, the length and bytes of
//! the rest, the first-seen time as its difference from the previous entry's (zigzag: 0, −1,
//! 1, −2, … become 0, 1, 2, 3, …; the first entry's is its difference from 0) and the
//! last-seen time as its distance from the first-seen time. Encoding 0 writes values as
//! they are; encoding 1, chosen when every value of the section is lower-case hexadecimal of
//! even length (hashes), writes them as the bytes the digits stand for, half the size.
//!
//! The same entries always give the same bytes: feeds, types and values are sorted and each
//! value shares the longest possible prefix. Times are Unix seconds.
//!
//! Nothing is read from the table before the magic, version, length and final checksum are
//! right, and no entry of a section before its digest is; every count is checked against
//! the bytes left before anything is reserved, values must come in strictly increasing order
//! (no duplicates), and the sections must fill the file exactly. Truncation, damage, an
//! unknown version and hostile bytes are all reported as corrupt, never as a panic. A
//! version-1 (text) file is still read, so that an older state folder is migrated by the
//! next save.
//!
//! Compression (zstd) was measured and left out: see `benches/ledger.rs`.

use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use super::{FeedTable, Ledger, Seen, v1};
use crate::indicator::{AttrType, Indicator};

/// The first bytes of the file: not text, and damaged by line-ending conversions.
const MAGIC: [u8; 8] = *b"\x89FSL\r\n\x1a\n";
/// The format version this code writes (it also reads version 1).
const VERSION: u32 = 2;
/// Magic, version, file length and table length.
const FIXED: usize = MAGIC.len() + 4 + 8 + 8;
/// The checksum at the end.
const DIGEST: usize = 32;
/// The smallest encoded entry: four one-byte varints.
const MIN_ENTRY: usize = 4;
/// The smallest section table row: five one-byte fields and a digest.
const MIN_ROW: usize = 5 + DIGEST;
/// Values written as they are.
const TEXT: u8 = 0;
/// Lower-case hexadecimal values written as bytes.
const HEX: u8 = 1;
/// The digits of encoding 1.
const HEX_DIGITS: &[u8; 16] = b"0123456789abcdef";
/// Entries of one type above which a feed's sort runs on all cores.
const PARALLEL_SORT: usize = 50_000;
/// Characters of a feed id or type name a message shows.
const SHOWN: usize = 60;

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
        /// The path (or URL) that was read.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
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
    decode(&bytes).map_err(|reason| LedgerError::Corrupt { path: path.to_owned(), reason })
}

/// Writes the ledger atomically and keeps the replaced file as `<name>.prev`.
pub(super) fn save(ledger: &Ledger, path: &Path) -> io::Result<()> {
    let encoded = Encoded::new(ledger);
    crate::fs::replace_keeping_previous_with(path, |file| encoded.write_to(file))
}

/// The bytes of the file for `ledger`.
pub(super) fn encode(ledger: &Ledger) -> Vec<u8> {
    let encoded = Encoded::new(ledger);
    let mut bytes = Vec::with_capacity(encoded.len());
    encoded.write_to(&mut bytes).unwrap_or_default();
    bytes
}

/// One encoded section.
struct Section {
    kind: AttrType,
    encoding: u8,
    entries: usize,
    bytes: Vec<u8>,
    digest: [u8; DIGEST],
}

/// A ledger's file in pieces, written one after the other without being copied together.
struct Encoded {
    /// The fixed header and the table.
    head: Vec<u8>,
    sections: Vec<Section>,
    digest: [u8; DIGEST],
}

impl Encoded {
    fn new(ledger: &Ledger) -> Encoded {
        let mut feeds: Vec<&FeedTable> =
            ledger.feeds.iter().filter(|feed| !feed.entries.is_empty()).collect();
        feeds.sort_unstable_by(|a, b| a.id.cmp(&b.id));
        let by_feed: Vec<Vec<Section>> = feeds.par_iter().map(|feed| encode_feed(feed)).collect();

        let mut types: Vec<&'static str> =
            by_feed.iter().flatten().map(|section| section.kind.as_str()).collect();
        types.sort_unstable();
        types.dedup();

        let mut table = Vec::new();
        put_varint(&mut table, feeds.len() as u64);
        for feed in &feeds {
            put_str(&mut table, &feed.id);
        }
        put_varint(&mut table, types.len() as u64);
        for name in &types {
            put_str(&mut table, name);
        }
        let total: usize = by_feed.iter().flatten().map(|section| section.entries).sum();
        put_varint(&mut table, total as u64);
        put_varint(&mut table, by_feed.iter().map(Vec::len).sum::<usize>() as u64);
        for (feed_number, sections) in by_feed.iter().enumerate() {
            for section in sections {
                let type_number = types.binary_search(&section.kind.as_str()).unwrap_or_default();
                put_varint(&mut table, feed_number as u64);
                put_varint(&mut table, type_number as u64);
                table.push(section.encoding);
                put_varint(&mut table, section.entries as u64);
                put_varint(&mut table, section.bytes.len() as u64);
                table.extend_from_slice(&section.digest);
            }
        }

        let sections: Vec<Section> = by_feed.into_iter().flatten().collect();
        let body: usize = sections.iter().map(|section| section.bytes.len()).sum();
        let length = FIXED + table.len() + body + DIGEST;
        let mut head = Vec::with_capacity(FIXED + table.len());
        head.extend_from_slice(&MAGIC);
        head.extend_from_slice(&VERSION.to_le_bytes());
        head.extend_from_slice(&(length as u64).to_le_bytes());
        head.extend_from_slice(&(table.len() as u64).to_le_bytes());
        head.extend_from_slice(&table);
        let digest = Sha256::digest(&head).into();
        Encoded { head, sections, digest }
    }

    fn len(&self) -> usize {
        self.head.len() + self.sections.iter().map(|s| s.bytes.len()).sum::<usize>() + DIGEST
    }

    fn write_to(&self, out: &mut impl io::Write) -> io::Result<()> {
        out.write_all(&self.head)?;
        for section in &self.sections {
            out.write_all(&section.bytes)?;
        }
        out.write_all(&self.digest)
    }
}

/// One feed's entries of one type, gathered for sorting.
struct Gathered<'a> {
    /// Each entry's value and times.
    entries: Vec<(&'a [u8], Seen)>,
    /// What is sorted.
    keys: Vec<SortKey>,
}

/// What is sorted: the first 16 bytes of a value as two numbers (big-endian, padded with
/// zeros), so that most comparisons never read the value itself, and the entry's number.
/// Small on purpose: sorting moves each element many times.
type SortKey = (u64, u64, u32);

/// A feed's sections, in type-name order.
fn encode_feed(feed: &FeedTable) -> Vec<Section> {
    // Sizes first, so that every buffer is allocated once.
    let mut counts = vec![0_usize; AttrType::ALL.len()];
    for indicator in feed.entries.keys() {
        counts[indicator.kind as usize] += 1;
    }
    let mut by_type: Vec<Gathered<'_>> = counts
        .iter()
        .map(|&count| Gathered {
            entries: Vec::with_capacity(count),
            keys: Vec::with_capacity(count),
        })
        .collect();
    // The loop reads only the first bytes of each value: kept short, it waits on many of
    // them at once.
    for (indicator, seen) in &feed.entries {
        let value = indicator.value.as_bytes();
        let gathered = &mut by_type[indicator.kind as usize];
        // A table holds far fewer than 2^32 entries of one type: it would need hundreds of
        // gigabytes of memory first.
        let number = gathered.entries.len() as u32;
        let (high, low) = sort_key(value);
        gathered.keys.push((high, low, number));
        gathered.entries.push((value, *seen));
    }
    let mut sections: Vec<Section> = by_type
        .into_iter()
        .enumerate()
        .filter(|(_, gathered)| !gathered.entries.is_empty())
        .map(|(index, Gathered { entries, mut keys })| {
            let value = |key: &SortKey| entries[key.2 as usize].0;
            let order = |a: &SortKey, b: &SortKey| {
                (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| value(a).cmp(value(b)))
            };
            if keys.len() > PARALLEL_SORT {
                keys.par_sort_unstable_by(order);
            } else {
                keys.sort_unstable_by(order);
            }
            encode_section(AttrType::ALL[index], &entries, &keys)
        })
        .collect();
    sections.sort_unstable_by_key(|section| section.kind.as_str());
    sections
}

fn sort_key(value: &[u8]) -> (u64, u64) {
    if let Some(head) = value.first_chunk::<16>() {
        let (high, low) = head.split_at(8);
        let word = |bytes: &[u8]| u64::from_be_bytes(bytes.try_into().unwrap_or_default());
        return (word(high), word(low));
    }
    // A byte at a time: shorter than a call to copy them.
    let mut key = 0_u128;
    for (i, &byte) in value.iter().enumerate() {
        key |= u128::from(byte) << (8 * (15 - i));
    }
    ((key >> 64) as u64, key as u64)
}

/// One section, from its entries and their sorted keys.
fn encode_section(kind: AttrType, entries: &[(&[u8], Seen)], keys: &[SortKey]) -> Section {
    let all_hex = entries.iter().all(|(value, _)| is_hex(value));
    let encoding = if all_hex { HEX } else { TEXT };
    let mut bytes = Vec::with_capacity(keys.len() * 16);
    let mut previous: Vec<u8> = Vec::new();
    let mut current: Vec<u8> = Vec::new();
    let mut previous_first = 0_i64;
    for &(_, _, number) in keys {
        let (value, seen) = entries[number as usize];
        current.clear();
        if encoding == HEX {
            for pair in value.chunks_exact(2) {
                current.push(NIBBLES[usize::from(pair[0])] << 4 | NIBBLES[usize::from(pair[1])]);
            }
        } else {
            current.extend_from_slice(value);
        }
        let shared = previous.iter().zip(&current).take_while(|(a, b)| a == b).count();
        put_varint(&mut bytes, shared as u64);
        put_varint(&mut bytes, (current.len() - shared) as u64);
        bytes.extend_from_slice(&current[shared..]);
        put_varint(&mut bytes, zigzag(seen.first_seen.wrapping_sub(previous_first)));
        // The ledger keeps `last_seen >= first_seen`, so the distance fits in a u64.
        put_varint(&mut bytes, seen.last_seen.wrapping_sub(seen.first_seen) as u64);
        previous_first = seen.first_seen;
        std::mem::swap(&mut previous, &mut current);
    }
    let digest = Sha256::digest(&bytes).into();
    Section { kind, encoding, entries: keys.len(), bytes, digest }
}

/// Whether a value is lower-case hexadecimal of even, non-zero length.
fn is_hex(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len().is_multiple_of(2)
        && value.iter().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The value of each lower-case hexadecimal digit, by byte (other bytes are never looked
/// up: [`is_hex`] is checked first).
const NIBBLES: [u8; 256] = {
    let mut table = [0_u8; 256];
    let mut digit = 0;
    while digit < 16 {
        table[HEX_DIGITS[digit] as usize] = digit as u8;
        digit += 1;
    }
    table
};

const fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

const fn unzigzag(n: u64) -> i64 {
    (n >> 1) as i64 ^ -((n & 1) as i64)
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn put_str(out: &mut Vec<u8>, text: &str) {
    put_varint(out, text.len() as u64);
    out.extend_from_slice(text.as_bytes());
}

/// Parses the bytes of a ledger file of either version; the error is the reason it is
/// corrupt.
pub(super) fn decode(bytes: &[u8]) -> Result<Ledger, String> {
    if bytes.is_empty() {
        return Err("the file is empty".to_owned());
    }
    if bytes.starts_with(v1::MAGIC) {
        if bytes.starts_with(v1::HEADER) && bytes.get(v1::HEADER.len()).is_none_or(|&b| b == b'\n')
        {
            return v1::parse(bytes);
        }
        let line = bytes[v1::MAGIC.len()..].split(|&b| b == b'\n').next().unwrap_or_default();
        let version = crate::text::shown(&String::from_utf8_lossy(line), SHOWN);
        return Err(format!(
            "unknown format version `{version}` (this feedsmith reads versions 1 and {VERSION})"
        ));
    }
    if !bytes.starts_with(&MAGIC) {
        return Err(if MAGIC.starts_with(bytes) {
            format!("truncated: the file ends after {} bytes", bytes.len())
        } else {
            "not a feedsmith ledger file".to_owned()
        });
    }
    let Some(fixed) = bytes.get(..FIXED) else {
        return Err(format!("truncated: the file ends after {} bytes", bytes.len()));
    };
    let version = u32::from_le_bytes(fixed[8..12].try_into().unwrap_or_default());
    if version != VERSION {
        return Err(format!(
            "unknown format version `{version}` (this feedsmith reads versions 1 and {VERSION})"
        ));
    }
    let number = |range: std::ops::Range<usize>| {
        u64::from_le_bytes(fixed[range].try_into().unwrap_or_default())
    };
    let length = number(12..20);
    let actual = bytes.len() as u64;
    if actual < length {
        return Err(format!("truncated: the file has {actual} of its {length} bytes"));
    }
    if actual > length {
        return Err(format!("{} bytes after the end of the ledger", actual - length));
    }
    let table_length = number(20..28);
    let head_end = table_length
        .checked_add(FIXED as u64)
        .filter(|&end| end.checked_add(DIGEST as u64).is_some_and(|end| end <= length));
    let Some(head_end) = head_end else {
        return Err(format!("a table of {table_length} bytes cannot fit a file of {length}"));
    };
    let head_end = head_end as usize;
    let digest = &bytes[bytes.len() - DIGEST..];
    if Sha256::digest(&bytes[..head_end]).as_slice() != digest {
        return Err("checksum mismatch: the file was changed or damaged".to_owned());
    }
    decode_checked(&bytes[FIXED..head_end], &bytes[head_end..bytes.len() - DIGEST])
}

/// One row of the section table.
struct Row<'a> {
    feed: usize,
    kind: AttrType,
    encoding: u8,
    entries: usize,
    bytes: &'a [u8],
    digest: &'a [u8],
}

/// Parses the table, whose checksum is right, and the sections it describes.
fn decode_checked(table: &[u8], body: &[u8]) -> Result<Ledger, String> {
    let mut head = Reader::new(table);
    let feed_count = head.count("the feed count", 1)?;
    let mut feeds: Vec<&str> = Vec::with_capacity(feed_count);
    for number in 0..feed_count {
        let id = head.text(|| format!("feed id {number}"))?;
        if feeds.last().is_some_and(|last| *last >= id) {
            return Err(format!("feed id `{}` is out of order", crate::text::shown(id, SHOWN)));
        }
        feeds.push(id);
    }
    let type_count = head.count("the type count", 1)?;
    let mut types: Vec<(&str, AttrType)> = Vec::with_capacity(type_count);
    for number in 0..type_count {
        let name = head.text(|| format!("type name {number}"))?;
        let shown = || crate::text::shown(name, SHOWN);
        let kind = AttrType::from_name(name)
            .ok_or_else(|| format!("unknown attribute type `{}`", shown()))?;
        if types.last().is_some_and(|(last, _)| *last >= name) {
            return Err(format!("type name `{}` is out of order", shown()));
        }
        types.push((name, kind));
    }
    let total = head.varint("the entry count")?;
    let section_count = head.count("the section count", MIN_ROW)?;
    let mut rows = Vec::with_capacity(section_count);
    let mut last_pair: Option<(usize, usize)> = None;
    let mut counted = 0_u64;
    let mut body_length = 0_usize;
    for number in 0..section_count {
        let feed = head.varint("a section's feed")? as usize;
        let type_number = head.varint("a section's type")? as usize;
        let encoding = head.byte("a section's encoding")?;
        let entries = head.varint("a section's entry count")?;
        let length = head.varint("a section's length")?;
        let digest = head.take(DIGEST as u64).map_err(|_| "a section's digest is cut off")?;
        let (Some(_), Some(&(_, kind))) = (feeds.get(feed), types.get(type_number)) else {
            return Err(format!("section {number} names a feed or type that is not listed"));
        };
        if last_pair.is_some_and(|last| last >= (feed, type_number)) {
            return Err(format!("section {number} is out of order or repeated"));
        }
        last_pair = Some((feed, type_number));
        if encoding != TEXT && encoding != HEX {
            return Err(format!("section {number} has the unknown encoding {encoding}"));
        }
        if entries == 0 || entries.saturating_mul(MIN_ENTRY as u64) > length {
            return Err(format!("section {number}: {entries} entries cannot fit {length} bytes"));
        }
        counted = counted.saturating_add(entries);
        body_length = body_length.saturating_add(usize::try_from(length).unwrap_or(usize::MAX));
        rows.push((feed, kind, encoding, entries as usize, length as usize, digest));
    }
    if counted != total {
        return Err(format!("the sections hold {counted} entries but the file counts {total}"));
    }
    if !head.rest().is_empty() {
        return Err(format!("{} bytes after the section table", head.rest().len()));
    }
    if body_length != body.len() {
        return Err(format!(
            "the sections announce {body_length} bytes but {} follow the table",
            body.len()
        ));
    }
    let mut offset = 0;
    let rows: Vec<Row<'_>> = rows
        .into_iter()
        .map(|(feed, kind, encoding, entries, length, digest)| {
            let bytes = &body[offset..offset + length];
            offset += length;
            Row { feed, kind, encoding, entries, bytes, digest }
        })
        .collect();

    // Sections are in feed order: each feed's rows are one run, decoded on its own core.
    let groups: Vec<&[Row<'_>]> = rows.chunk_by(|a, b| a.feed == b.feed).collect();
    let tables: Vec<FeedTable> = groups
        .par_iter()
        .map(|group| {
            let id = feeds[group[0].feed];
            let capacity = group.iter().map(|row| row.entries).sum();
            let entries = HashMap::with_capacity_and_hasher(capacity, super::Hasher::default());
            let mut table = FeedTable { id: id.into(), entries };
            for row in *group {
                decode_section(row, &mut table).map_err(|reason| {
                    format!(
                        "section `{}` `{}`: {reason}",
                        crate::text::shown(id, SHOWN),
                        row.kind.as_str()
                    )
                })?;
            }
            Ok(table)
        })
        .collect::<Result<_, String>>()?;

    let mut ledger = Ledger::new();
    for table in tables {
        ledger.index.insert(table.id.clone(), ledger.feeds.len());
        ledger.feeds.push(table);
    }
    Ok(ledger)
}

/// Checks one section's digest, then decodes its entries into its feed's table.
fn decode_section(row: &Row<'_>, table: &mut FeedTable) -> Result<(), String> {
    if Sha256::digest(row.bytes).as_slice() != row.digest {
        return Err("checksum mismatch: the section was changed or damaged".to_owned());
    }
    let mut reader = Reader::new(row.bytes);
    let mut value: Vec<u8> = Vec::new();
    let mut digits: Vec<u8> = Vec::new();
    let mut previous_first = 0_i64;
    for number in 0..row.entries {
        let at = |what: &str| format!("entry {number}: {what}");
        let shared = reader.varint("")?;
        let suffix_length = reader.varint("")?;
        if shared > value.len() as u64 {
            return Err(at("shares more bytes than the previous value has"));
        }
        let shared = shared as usize;
        let suffix =
            reader.take(suffix_length).map_err(|_| at("its value runs past the section"))?;
        // Strictly after the previous value, and sharing as much of it as it can.
        if number > 0 {
            let after = match suffix.first() {
                None => false,
                Some(&first) => shared == value.len() || first > value[shared],
            };
            if !after {
                return Err(at("the values are not in strictly increasing order"));
            }
        } else if shared > 0 {
            return Err(at("the first value shares bytes with nothing"));
        }
        value.truncate(shared);
        value.extend_from_slice(suffix);
        let first_seen = previous_first.wrapping_add(unzigzag(reader.varint("")?));
        let span = reader.varint("")?;
        let last_seen = first_seen
            .checked_add_unsigned(span)
            .ok_or_else(|| at("its last-seen time is out of range"))?;
        previous_first = first_seen;
        let text = if row.encoding == HEX {
            digits.clear();
            for &byte in &value {
                digits.push(HEX_DIGITS[usize::from(byte >> 4)]);
                digits.push(HEX_DIGITS[usize::from(byte & 0x0f)]);
            }
            &digits
        } else {
            &value
        };
        let text: Box<str> =
            std::str::from_utf8(text).map_err(|_| at("its value is not UTF-8"))?.into();
        table.entries.insert(Indicator::new(row.kind, text), Seen { first_seen, last_seen });
    }
    if !reader.rest().is_empty() {
        return Err(format!("{} bytes after the last entry", reader.rest().len()));
    }
    Ok(())
}

/// Reads varints, strings and bytes, with an error instead of a panic at the end of input.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8]) -> Reader<'a> {
        Reader { bytes }
    }

    fn rest(&self) -> &'a [u8] {
        self.bytes
    }

    fn byte(&mut self, what: &str) -> Result<u8, String> {
        let (&first, rest) =
            self.bytes.split_first().ok_or_else(|| format!("{what} is missing"))?;
        self.bytes = rest;
        Ok(first)
    }

    #[inline]
    fn varint(&mut self, what: &str) -> Result<u64, String> {
        let mut n = 0_u64;
        for (i, &byte) in self.bytes.iter().enumerate().take(10) {
            let bits = u64::from(byte & 0x7f);
            // The tenth byte may only hold the top bit of a u64.
            if i == 9 && byte > 1 {
                break;
            }
            n |= bits << (7 * i);
            if byte & 0x80 == 0 {
                self.bytes = &self.bytes[i + 1..];
                return Ok(n);
            }
        }
        Err(if what.is_empty() {
            "a number is cut off or too long".to_owned()
        } else {
            format!("{what} is cut off or too long")
        })
    }

    /// A count of items of at least `min_size` bytes each, checked against the bytes left.
    fn count(&mut self, what: &str, min_size: usize) -> Result<usize, String> {
        let n = self.varint(what)?;
        if n > (self.bytes.len() / min_size) as u64 {
            return Err(format!("{what} {n} is larger than the file can hold"));
        }
        Ok(n as usize)
    }

    fn take(&mut self, length: u64) -> Result<&'a [u8], String> {
        if length > self.bytes.len() as u64 {
            return Err("cut off".to_owned());
        }
        let (taken, rest) = self.bytes.split_at(length as usize);
        self.bytes = rest;
        Ok(taken)
    }

    fn text(&mut self, what: impl Fn() -> String) -> Result<&'a str, String> {
        let length = self.varint(&what())?;
        let bytes = self.take(length).map_err(|_| format!("{} is cut off", what()))?;
        std::str::from_utf8(bytes).map_err(|_| format!("{} is not UTF-8", what()))
    }
}
