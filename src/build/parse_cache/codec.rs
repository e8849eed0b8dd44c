//! The bytes of one cached parse: a [`ParsedFeed`] and nothing else.
//!
//! Every integer is an unsigned LEB128 varint; a time is a varint of its zigzag form (0, −1,
//! 1, −2, … become 0, 1, 2, 3, …); a string is its length in bytes and its UTF-8 bytes.
//!
//! ```text
//! types    count, then each attribute type name the records use, as a string
//! tags     count, then each distinct tag (of records and of events), as a string
//! lists    count, then per list of event tags: count, then tag numbers
//! records  count, then per record, in the parse's order:
//!            flags (1 byte): to_ids 1, timestamp 2, first_seen 4, last_seen 8,
//!                            sightings 16, sightings' last_seen 32
//!            type number, value string, list number (its event tags),
//!            count and tag numbers (its own tags),
//!            then the times and sightings (total, seen, last seen) its flags announce
//! stats    lines, comments, blank, accepted, duplicates;
//!          rejected: count, then per reason in code order: code string, count,
//!                    examples count, then per example its line and its text;
//!          warnings: count, then per code in code order: code string, count;
//!          bom (1 byte, 0 or 1), events, excluded, header_rows, ignored_words, deleted,
//!          not_ids, ports_joined, filtered_events, context, context_lines
//! ```
//!
//! Tags are written once and numbered, as the parsers share them: a MISP event's tag list is
//! one list that every attribute of the event points to, and the records decoded from it
//! share one allocation again. Records of text feeds share one empty list.
//!
//! Decoding checks everything it reads: a count is compared with the bytes left before
//! anything is reserved, every number must name an entry of its table, every string must be
//! UTF-8, unknown flag bits, codes and type names are refused, and the stats must end the
//! bytes exactly. It never panics, whatever the bytes; the file around these bytes carries
//! the checksum that tells damage from a parse.

use std::collections::hash_map::Entry;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use crate::indicator::{AttrType, Indicator, RejectReason, Warning};
use crate::parse::{self, Example, ParseStats, ParsedFeed, Record, Rejected, Sightings};

const TO_IDS: u8 = 1;
const TIMESTAMP: u8 = 2;
const FIRST_SEEN: u8 = 4;
const LAST_SEEN: u8 = 8;
const SIGHTINGS: u8 = 16;
const SIGHTING_SEEN: u8 = 32;
const FLAGS: u8 = TO_IDS | TIMESTAMP | FIRST_SEEN | LAST_SEEN | SIGHTINGS | SIGHTING_SEEN;

/// The smallest record: flags, type, value length, list and tag count, one byte each.
const MIN_RECORD: usize = 5;

/// Every code a parse can count a rejection or a warning under. The stats keep their codes
/// as `&'static str`, so a decoded code must be one of these; a parse with another code is
/// not cached (see [`Unencodable`]).
const CODES: &[&str] = &[
    RejectReason::Unrecognized.code(),
    RejectReason::NonUtf8.code(),
    RejectReason::TooLong.code(),
    RejectReason::InvalidIp.code(),
    RejectReason::PrefixTooShort.code(),
    RejectReason::ZeroPadded.code(),
    RejectReason::ZoneIndex.code(),
    RejectReason::PortOutOfRange.code(),
    RejectReason::EmptyLabel.code(),
    RejectReason::RootOnly.code(),
    RejectReason::NameTooLong.code(),
    RejectReason::InvalidHostname.code(),
    RejectReason::UnknownScheme.code(),
    RejectReason::InvalidUrl.code(),
    RejectReason::InvalidHash.code(),
    RejectReason::InvalidEmail.code(),
    RejectReason::Truncated.code(),
    RejectReason::UnsupportedType.code(),
    RejectReason::InvalidValue.code(),
    RejectReason::HiddenCharacter.code(),
    RejectReason::InvalidEvent.code(),
    RejectReason::InvalidEventUuid.code(),
    Warning::Defanged.code(),
    Warning::ZeroPadded.code(),
    Warning::HostBits.code(),
    Warning::MappedIpv4.code(),
    Warning::TrailingDot.code(),
    Warning::PortDropped.code(),
    parse::UNPARSED_LINE,
    parse::SHORT_ROW,
    parse::MISSING_COLUMN,
    parse::SCHEMA_MISMATCH,
    parse::UNKNOWN_TYPE,
    parse::MISSING_VALUE,
    parse::NOT_AN_OBJECT,
    parse::INVALID_JSON,
    parse::INVALID_TIME,
    parse::INVALID_TAG,
    parse::TOO_MANY_TAGS,
];

/// The code of [`CODES`] equal to `code`.
fn known_code(code: &str) -> Option<&'static str> {
    CODES.iter().find(|known| **known == code).copied()
}

/// A parse that this format cannot hold: its stats count a code missing from [`CODES`] (a
/// parser grew a code and the list was not told). It is parsed again next time, which costs
/// time and nothing else.
#[derive(Debug, thiserror::Error)]
#[error("the code `{0}` of the parse's stats is not one the cache knows")]
pub(super) struct Unencodable(String);

/// Why bytes are not a parse.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub(super) struct Damage(pub(super) &'static str);

/// The bytes of `parsed`.
pub(super) fn encode(parsed: &ParsedFeed) -> Result<Vec<u8>, Unencodable> {
    let ParsedFeed { records, stats } = parsed;

    // The tables: types in table order, tags and event-tag lists in order of first use.
    let mut used = [false; AttrType::ALL.len()];
    let mut tag_number: HashMap<&str, u32> = HashMap::new();
    let mut tags: Vec<&str> = Vec::new();
    // Lists are told apart by their allocation, so that sharing survives as it was.
    let mut list_number: HashMap<*const Arc<str>, u32> = HashMap::new();
    let mut lists: Vec<&[Arc<str>]> = Vec::new();
    let mut value_bytes = 0;
    for record in records {
        used[kind_slot(record.indicator.kind)] = true;
        value_bytes += record.indicator.value.len();
        for tag in &record.tags {
            intern(&mut tag_number, &mut tags, tag);
        }
        if let Entry::Vacant(number) = list_number.entry(record.event_tags.as_ptr()) {
            number.insert(lists.len() as u32);
            lists.push(&record.event_tags);
            for tag in record.event_tags.iter() {
                intern(&mut tag_number, &mut tags, tag);
            }
        }
    }
    let mut type_number = [0_u32; AttrType::ALL.len()];
    let mut types = Vec::new();
    for (slot, kind) in AttrType::ALL.iter().enumerate() {
        if used[slot] {
            type_number[slot] = types.len() as u32;
            types.push(*kind);
        }
    }

    let mut out = Vec::with_capacity(value_bytes + records.len() * 8 + 1024);
    put_varint(&mut out, types.len() as u64);
    for kind in &types {
        put_str(&mut out, kind.as_str());
    }
    put_varint(&mut out, tags.len() as u64);
    for tag in &tags {
        put_str(&mut out, tag);
    }
    put_varint(&mut out, lists.len() as u64);
    for list in &lists {
        put_varint(&mut out, list.len() as u64);
        for tag in *list {
            put_varint(&mut out, u64::from(tag_number[&**tag]));
        }
    }

    put_varint(&mut out, records.len() as u64);
    for record in records {
        // Named field by field, so that a field added to `Record` fails to compile here
        // until it is written.
        let Record {
            indicator,
            to_ids,
            timestamp,
            first_seen,
            last_seen,
            tags,
            event_tags,
            sightings,
        } = record;
        let mut flags = 0;
        for (set, flag) in [
            (*to_ids, TO_IDS),
            (timestamp.is_some(), TIMESTAMP),
            (first_seen.is_some(), FIRST_SEEN),
            (last_seen.is_some(), LAST_SEEN),
            (sightings.is_some(), SIGHTINGS),
            (sightings.as_ref().is_some_and(|s| s.last_seen.is_some()), SIGHTING_SEEN),
        ] {
            if set {
                flags |= flag;
            }
        }
        out.push(flags);
        put_varint(&mut out, u64::from(type_number[kind_slot(indicator.kind)]));
        put_str(&mut out, &indicator.value);
        put_varint(&mut out, u64::from(list_number[&event_tags.as_ptr()]));
        put_varint(&mut out, tags.len() as u64);
        for tag in tags {
            put_varint(&mut out, u64::from(tag_number[&**tag]));
        }
        for time in [timestamp, first_seen, last_seen].into_iter().flatten() {
            put_varint(&mut out, zigzag(*time));
        }
        if let Some(sightings) = sightings {
            let Sightings { total, seen, last_seen } = **sightings;
            put_varint(&mut out, u64::from(total));
            put_varint(&mut out, u64::from(seen));
            if let Some(time) = last_seen {
                put_varint(&mut out, zigzag(time));
            }
        }
    }
    encode_stats(&mut out, stats)?;
    Ok(out)
}

fn intern<'a>(numbers: &mut HashMap<&'a str, u32>, tags: &mut Vec<&'a str>, tag: &'a Arc<str>) {
    numbers.entry(&**tag).or_insert_with(|| {
        tags.push(&**tag);
        tags.len() as u32 - 1
    });
}

/// The position of `kind` in [`AttrType::ALL`], which lists the variants in their order.
fn kind_slot(kind: AttrType) -> usize {
    kind as usize
}

fn encode_stats(out: &mut Vec<u8>, stats: &ParseStats) -> Result<(), Unencodable> {
    // Named field by field, as in `encode`.
    let ParseStats {
        lines,
        comments,
        blank,
        accepted,
        duplicates,
        rejected,
        warnings,
        bom,
        events,
        excluded,
        header_rows,
        ignored_words,
        deleted,
        not_ids,
        ports_joined,
        filtered_events,
        context,
        context_lines,
    } = stats;
    for count in [lines, comments, blank, accepted, duplicates] {
        put_varint(out, *count);
    }
    put_varint(out, rejected.len() as u64);
    for (code, Rejected { count, examples }) in rejected {
        known_code(code).ok_or_else(|| Unencodable((*code).to_owned()))?;
        put_str(out, code);
        put_varint(out, *count);
        put_varint(out, examples.len() as u64);
        for Example { line, text } in examples {
            put_varint(out, *line);
            put_str(out, text);
        }
    }
    put_varint(out, warnings.len() as u64);
    for (code, count) in warnings {
        known_code(code).ok_or_else(|| Unencodable((*code).to_owned()))?;
        put_str(out, code);
        put_varint(out, *count);
    }
    out.push(u8::from(*bom));
    for count in [
        events,
        excluded,
        header_rows,
        ignored_words,
        deleted,
        not_ids,
        ports_joined,
        filtered_events,
        context,
        context_lines,
    ] {
        put_varint(out, *count);
    }
    Ok(())
}

/// The parse held in `bytes`.
pub(super) fn decode(bytes: &[u8]) -> Result<ParsedFeed, Damage> {
    let mut r = Reader { bytes };

    let type_count = r.count(1)?;
    let mut types = Vec::with_capacity(type_count);
    for _ in 0..type_count {
        let name = r.text()?;
        types.push(AttrType::from_name(name).ok_or(Damage("an unknown attribute type"))?);
    }
    let tag_count = r.count(1)?;
    let mut tags: Vec<Arc<str>> = Vec::with_capacity(tag_count);
    for _ in 0..tag_count {
        tags.push(Arc::from(r.text()?));
    }
    let list_count = r.count(1)?;
    let mut lists: Vec<Arc<[Arc<str>]>> = Vec::with_capacity(list_count);
    for _ in 0..list_count {
        let length = r.count(1)?;
        let list = (0..length).map(|_| r.tag(&tags)).collect::<Result<Vec<_>, _>>()?;
        lists.push(list.into());
    }

    let record_count = r.count(MIN_RECORD)?;
    let mut records = Vec::with_capacity(record_count);
    for _ in 0..record_count {
        let flags = r.byte()?;
        if flags & !FLAGS != 0 || (flags & SIGHTING_SEEN != 0 && flags & SIGHTINGS == 0) {
            return Err(Damage("a record with unknown flags"));
        }
        let kind = *types.get(r.number()?).ok_or(Damage("a type number out of range"))?;
        let value: Box<str> = r.text()?.into();
        let event_tags =
            Arc::clone(lists.get(r.number()?).ok_or(Damage("a list number out of range"))?);
        let tag_count = r.count(1)?;
        let own_tags: Box<[Arc<str>]> = if tag_count == 0 {
            Box::default()
        } else {
            (0..tag_count).map(|_| r.tag(&tags)).collect::<Result<_, _>>()?
        };
        let timestamp = r.time_if(flags & TIMESTAMP != 0)?;
        let first_seen = r.time_if(flags & FIRST_SEEN != 0)?;
        let last_seen = r.time_if(flags & LAST_SEEN != 0)?;
        let sightings = if flags & SIGHTINGS == 0 {
            None
        } else {
            let total = r.small()?;
            let seen = r.small()?;
            let last_seen = r.time_if(flags & SIGHTING_SEEN != 0)?;
            Some(Box::new(Sightings { total, seen, last_seen }))
        };
        records.push(Record {
            indicator: Indicator { kind, value },
            to_ids: flags & TO_IDS != 0,
            timestamp,
            first_seen,
            last_seen,
            tags: own_tags,
            event_tags,
            sightings,
        });
    }
    let stats = decode_stats(&mut r)?;
    if !r.bytes.is_empty() {
        return Err(Damage("bytes after the stats"));
    }
    Ok(ParsedFeed { records, stats })
}

fn decode_stats(r: &mut Reader<'_>) -> Result<ParseStats, Damage> {
    let mut stats = ParseStats {
        lines: r.varint()?,
        comments: r.varint()?,
        blank: r.varint()?,
        accepted: r.varint()?,
        duplicates: r.varint()?,
        ..ParseStats::default()
    };
    let reasons = r.count(3)?;
    let mut rejected = BTreeMap::new();
    for _ in 0..reasons {
        let code = r.code()?;
        let count = r.varint()?;
        let example_count = r.count(2)?;
        let mut examples = Vec::with_capacity(example_count);
        for _ in 0..example_count {
            let line = r.varint()?;
            examples.push(Example { line, text: r.text()?.to_owned() });
        }
        if rejected.last_key_value().is_some_and(|(last, _)| *last >= code) {
            return Err(Damage("rejection codes out of order"));
        }
        rejected.insert(code, Rejected { count, examples });
    }
    stats.rejected = rejected;
    let codes = r.count(2)?;
    for _ in 0..codes {
        let code = r.code()?;
        let count = r.varint()?;
        if stats.warnings.last_key_value().is_some_and(|(last, _)| *last >= code) {
            return Err(Damage("warning codes out of order"));
        }
        stats.warnings.insert(code, count);
    }
    stats.bom = match r.byte()? {
        0 => false,
        1 => true,
        _ => return Err(Damage("a byte-order-mark flag that is neither 0 nor 1")),
    };
    for field in [
        &mut stats.events,
        &mut stats.excluded,
        &mut stats.header_rows,
        &mut stats.ignored_words,
        &mut stats.deleted,
        &mut stats.not_ids,
        &mut stats.ports_joined,
        &mut stats.filtered_events,
        &mut stats.context,
        &mut stats.context_lines,
    ] {
        *field = r.varint()?;
    }
    Ok(stats)
}

const fn zigzag(n: i64) -> u64 {
    ((n << 1) ^ (n >> 63)) as u64
}

const fn unzigzag(n: u64) -> i64 {
    ((n >> 1) as i64) ^ -((n & 1) as i64)
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

/// The bytes not read yet.
struct Reader<'a> {
    bytes: &'a [u8],
}

impl<'a> Reader<'a> {
    fn byte(&mut self) -> Result<u8, Damage> {
        let (&first, rest) = self.bytes.split_first().ok_or(Damage("truncated"))?;
        self.bytes = rest;
        Ok(first)
    }

    #[inline]
    fn varint(&mut self) -> Result<u64, Damage> {
        // Most numbers of a parse fit in one byte.
        if let Some((&first, rest)) = self.bytes.split_first()
            && first < 0x80
        {
            self.bytes = rest;
            return Ok(u64::from(first));
        }
        let mut n = 0_u64;
        for (i, &byte) in self.bytes.iter().enumerate().take(10) {
            let bits = u64::from(byte & 0x7f);
            // The tenth byte may only hold the top bit of a u64.
            if i == 9 && byte > 1 {
                return Err(Damage("a number larger than 64 bits"));
            }
            n |= bits << (7 * i);
            if byte & 0x80 == 0 {
                self.bytes = &self.bytes[i + 1..];
                return Ok(n);
            }
        }
        Err(Damage(if self.bytes.len() < 10 {
            "truncated"
        } else {
            "a number larger than 64 bits"
        }))
    }

    /// A number that indexes a table.
    fn number(&mut self) -> Result<usize, Damage> {
        usize::try_from(self.varint()?).map_err(|_| Damage("a number out of range"))
    }

    /// A count of items each at least `min_size` bytes long, checked against the bytes left
    /// before the caller reserves room for them.
    fn count(&mut self, min_size: usize) -> Result<usize, Damage> {
        let count = self.varint()?;
        if count > (self.bytes.len() / min_size) as u64 {
            return Err(Damage("a count larger than the bytes left"));
        }
        Ok(count as usize)
    }

    fn small(&mut self) -> Result<u32, Damage> {
        u32::try_from(self.varint()?).map_err(|_| Damage("a sightings count larger than 32 bits"))
    }

    fn time_if(&mut self, present: bool) -> Result<Option<i64>, Damage> {
        if present { Ok(Some(unzigzag(self.varint()?))) } else { Ok(None) }
    }

    fn text(&mut self) -> Result<&'a str, Damage> {
        let length = self.varint()?;
        if length > self.bytes.len() as u64 {
            return Err(Damage("a string longer than the bytes left"));
        }
        let (text, rest) = self.bytes.split_at(length as usize);
        self.bytes = rest;
        std::str::from_utf8(text).map_err(|_| Damage("a string that is not UTF-8"))
    }

    fn tag(&mut self, tags: &[Arc<str>]) -> Result<Arc<str>, Damage> {
        tags.get(self.number()?).map(Arc::clone).ok_or(Damage("a tag number out of range"))
    }

    fn code(&mut self) -> Result<&'static str, Damage> {
        known_code(self.text()?).ok_or(Damage("an unknown rejection or warning code"))
    }
}
