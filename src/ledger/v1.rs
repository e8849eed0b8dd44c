//! Reading the ledger's first file format (version 1, sorted text), so that a state folder
//! written by an older feedsmith is migrated: it is read once and saved in the current format.
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
//! A file that does not end with the checksum line, fails the checksum, or whose counts do not
//! add up is corrupt, as it was when this version was written.

use sha2::{Digest, Sha256};

use super::{Ledger, Seen};
use crate::indicator::{AttrType, Indicator};

/// The first line of a version-1 file, without its line feed.
pub(super) const HEADER: &[u8] = b"feedsmith-ledger 1";
/// The first word of every text ledger, whatever its version.
pub(super) const MAGIC: &[u8] = b"feedsmith-ledger ";
/// The shortest entry line (`0<TAB>0<TAB><LF>`), to bound what a section count may reserve.
const MIN_LINE: usize = 5;

/// Parses the bytes of a version-1 file, whose first line has been checked; the error is the
/// reason it is corrupt.
pub(super) fn parse(bytes: &[u8]) -> Result<Ledger, String> {
    let header_end = HEADER.len();
    if bytes.get(header_end) != Some(&b'\n') {
        return Err("no complete first line".to_owned());
    }
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
    if value.bytes().any(|b| matches!(b, b'\t' | b'\r')) {
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
