//! What a CSV row or a JSON record says besides its value: the type, the times and the tags.
//!
//! Both formats read these the same way, so the rules live here once:
//! - A type is looked up in the feed's `type_map`, then read as a MISP type name; anything
//!   else is unknown and the record is rejected (the caller counts it).
//! - A time is Unix seconds, RFC 3339, or a date and time without an offset, read as UTC
//!   (`2024-05-01 12:00:00`, optionally followed by ` UTC` as abuse.ch writes it), or a bare
//!   date. A time in no known form is a warning, [`INVALID_TIME`]: the value is kept without
//!   it, since a wrong date says nothing about the indicator itself.
//! - Tags are trimmed, de-duplicated and shared between records (one allocation per distinct
//!   tag). A tag that is too long or holds a control character is dropped with a warning, and
//!   a record keeps at most [`MAX_TAGS`] of them.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;

use time::format_description::BorrowedFormatItem;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;
use time::{Date, OffsetDateTime, PrimitiveDateTime};

use super::{INVALID_TAG, INVALID_TIME, ParseStats, TOO_MANY_TAGS};
use crate::indicator::AttrType;

/// Most tags one record keeps.
pub(crate) const MAX_TAGS: usize = 64;
/// Longest tag kept, in characters (MISP's limit on tag names).
const MAX_TAG_CHARS: usize = 255;
/// Longest text looked at as a time; anything longer is not one.
const MAX_TIME_LEN: usize = 64;

/// A date and time without an offset, with `T` between them (a space is turned into `T`).
const NAIVE: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second][optional [.[subsecond]]]");
/// A date and time to the minute, without an offset.
const NAIVE_MINUTES: &[BorrowedFormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]");
/// A bare date.
const DATE: &[BorrowedFormatItem<'static>] = format_description!("[year]-[month]-[day]");

/// What a row or record gives every value taken from it.
#[derive(Clone, Debug, Default)]
pub(crate) struct Details {
    /// The MISP type the feed declares, if it declares one.
    pub(crate) kind: Option<AttrType>,
    /// Unix seconds of the first sighting the feed reports.
    pub(crate) first_seen: Option<i64>,
    /// Unix seconds of the last sighting the feed reports.
    pub(crate) last_seen: Option<i64>,
    /// The record's tags.
    pub(crate) tags: Box<[Arc<str>]>,
}

/// The feed's type names and the MISP types they stand for.
#[derive(Clone, Debug, Default)]
pub(crate) struct TypeMap {
    map: HashMap<String, AttrType>,
}

impl TypeMap {
    /// Resolves a `type_map` setting. Fails with a message naming the first target that is not
    /// a MISP type feedsmith knows (validation has already refused such maps in definitions).
    pub(crate) fn new(map: &BTreeMap<String, String>) -> Result<TypeMap, String> {
        let mut resolved = HashMap::with_capacity(map.len());
        for (from, to) in map {
            let kind = AttrType::from_name(to)
                .ok_or_else(|| format!("`type_map` maps `{from}` to `{to}`, not a MISP type"))?;
            resolved.insert(from.trim().to_owned(), kind);
        }
        Ok(TypeMap { map: resolved })
    }

    /// The MISP type a feed's type name stands for: its mapping, else the MISP type of that
    /// name.
    pub(crate) fn resolve(&self, name: &str) -> Option<AttrType> {
        let name = name.trim();
        self.map.get(name).copied().or_else(|| AttrType::from_name(name))
    }
}

/// Unix seconds of a time written as text. `Ok(None)` for an empty text, `None` or `null`;
/// `Err(())` for a text in no known form.
pub(crate) fn time_of_text(text: &str) -> Result<Option<i64>, ()> {
    let text = text.trim();
    if text.is_empty() || text == "None" || text.eq_ignore_ascii_case("null") {
        return Ok(None);
    }
    if text.len() > MAX_TIME_LEN || !text.is_ascii() {
        return Err(());
    }
    let digits = text.strip_prefix('-').unwrap_or(text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        return text.parse().ok().and_then(unix_seconds).map(Some).ok_or(());
    }
    let text = text.strip_suffix(" UTC").or_else(|| text.strip_suffix("UTC")).unwrap_or(text);
    let mut spelled = text.to_owned();
    // `2024-05-01 12:00:00`: RFC 3339 allows a space there only by agreement, `time` not at all.
    if spelled.len() > 10 && spelled.as_bytes()[10] == b' ' {
        spelled.replace_range(10..11, "T");
    }
    let parsed = OffsetDateTime::parse(&spelled, &Rfc3339)
        .or_else(|_| PrimitiveDateTime::parse(&spelled, NAIVE).map(PrimitiveDateTime::assume_utc))
        .or_else(|_| {
            PrimitiveDateTime::parse(&spelled, NAIVE_MINUTES).map(PrimitiveDateTime::assume_utc)
        })
        .or_else(|_| Date::parse(&spelled, DATE).map(|d| d.midnight().assume_utc()));
    parsed.ok().and_then(|t| unix_seconds(t.unix_timestamp())).map(Some).ok_or(())
}

/// `seconds` if it is a time from 1970 to the year 9999. Earlier times are refused: MISP
/// stores seconds in an unsigned column, so a subscriber would reject or misread them, and
/// no feed saw an indicator before 1970.
pub(crate) fn unix_seconds(seconds: i64) -> Option<i64> {
    (seconds >= 0 && OffsetDateTime::from_unix_timestamp(seconds).is_ok()).then_some(seconds)
}

/// Reads a time as [`time_of_text`] does, counting an unreadable one as [`INVALID_TIME`].
pub(crate) fn time_or_warn(text: &str, stats: &mut ParseStats) -> Option<i64> {
    time_of_text(text).unwrap_or_else(|()| {
        stats.warn_code(INVALID_TIME);
        None
    })
}

/// Collects the tags of records, sharing one allocation per distinct tag.
#[derive(Default)]
pub(crate) struct Tags {
    interned: HashSet<Arc<str>>,
}

/// One candidate tag: its text, or `None` for a piece that is not text (a JSON number in a
/// tag array), which is dropped with a warning.
pub(crate) type TagPiece<'a> = Option<&'a str>;

impl Tags {
    /// The tags of one record from its pieces: trimmed, empty pieces skipped, invalid ones
    /// and those beyond [`MAX_TAGS`] dropped with a warning, repeats kept once.
    pub(crate) fn collect<'a>(
        &mut self,
        pieces: impl IntoIterator<Item = TagPiece<'a>>,
        stats: &mut ParseStats,
    ) -> Box<[Arc<str>]> {
        let mut tags: Vec<Arc<str>> = Vec::new();
        for piece in pieces {
            let Some(piece) = piece else {
                stats.warn_code(INVALID_TAG);
                continue;
            };
            let tag = piece.trim();
            if tag.is_empty() {
                continue;
            }
            if tag.chars().count() > MAX_TAG_CHARS || tag.chars().any(char::is_control) {
                stats.warn_code(INVALID_TAG);
                continue;
            }
            if tags.iter().any(|t| &**t == tag) {
                continue;
            }
            if tags.len() == MAX_TAGS {
                stats.warn_code(TOO_MANY_TAGS);
                break;
            }
            tags.push(self.intern(tag));
        }
        tags.into_boxed_slice()
    }

    fn intern(&mut self, tag: &str) -> Arc<str> {
        if let Some(shared) = self.interned.get(tag) {
            return Arc::clone(shared);
        }
        let shared: Arc<str> = Arc::from(tag);
        self.interned.insert(Arc::clone(&shared));
        shared
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Unix seconds of a UTC date and time, computed with `time`'s own calendar.
    fn utc(year: i32, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> i64 {
        let month = time::Month::try_from(month).unwrap();
        Date::from_calendar_date(year, month, day)
            .unwrap()
            .with_hms(hour, minute, second)
            .unwrap()
            .assume_utc()
            .unix_timestamp()
    }

    #[test]
    fn common_time_forms_read_as_utc() {
        let noon = utc(2024, 5, 1, 12, 0, 0);
        // 2024-05-01 is day 19 844 since 1970-01-01: 19 844 × 86 400 + 12 × 3 600.
        assert_eq!(noon, 19_844 * 86_400 + 12 * 3_600);
        for text in [
            "2024-05-01 12:00:00",
            "2024-05-01T12:00:00",
            "2024-05-01T12:00:00Z",
            "2024-05-01 12:00:00 UTC",
            "2024-05-01T14:00:00+02:00",
            "2024-05-01 12:00",
            " 1714564800 ",
        ] {
            assert_eq!(time_of_text(text), Ok(Some(noon)), "{text}");
        }
        assert_eq!(time_of_text("2024-05-01"), Ok(Some(noon - 12 * 3_600)));
        assert_eq!(time_of_text("2024-05-01 12:00:00.750"), Ok(Some(noon)));
    }

    #[test]
    fn empty_and_null_times_are_absent_and_nonsense_is_an_error() {
        for text in ["", "  ", "None", "null", "NULL"] {
            assert_eq!(time_of_text(text), Ok(None), "{text:?}");
        }
        for text in [
            "yesterday",
            "2024-13-01 00:00:00",
            "2024-02-30",
            "99999999999999999999",
            "2024-05-01 25:00:00",
            "２０２４-05-01",
            &"9".repeat(65),
        ] {
            assert_eq!(time_of_text(text), Err(()), "{text}");
        }
    }

    #[test]
    fn an_unreadable_time_is_counted_as_a_warning() {
        let mut stats = ParseStats::default();
        assert_eq!(time_or_warn("soon", &mut stats), None);
        assert_eq!(stats.warnings[INVALID_TIME], 1);
    }

    #[test]
    fn type_names_map_first_and_fall_back_to_misp_names() {
        let map = BTreeMap::from([
            ("ip:port".to_owned(), "ip-dst|port".to_owned()),
            ("sha256_hash".to_owned(), "sha256".to_owned()),
        ]);
        let types = TypeMap::new(&map).unwrap();
        assert_eq!(types.resolve("ip:port"), Some(AttrType::IpDstPort));
        assert_eq!(types.resolve(" sha256_hash "), Some(AttrType::Sha256));
        assert_eq!(types.resolve("domain"), Some(AttrType::Domain));
        assert_eq!(types.resolve("sha3_384_hash"), None);
        let bad = BTreeMap::from([("x".to_owned(), "ipv4".to_owned())]);
        assert!(TypeMap::new(&bad).is_err());
    }

    #[test]
    fn tags_are_trimmed_deduplicated_shared_and_capped() {
        let mut tags = Tags::default();
        let mut stats = ParseStats::default();
        let first = tags.collect(" c2, rat,,c2".split(',').map(Some), &mut stats);
        assert_eq!(first.iter().map(|t| &**t).collect::<Vec<_>>(), ["c2", "rat"]);
        let second = tags.collect([Some("rat")], &mut stats);
        assert!(Arc::ptr_eq(&first[1], &second[0]), "one allocation per distinct tag");
        assert!(stats.warnings.is_empty());

        let long = "x".repeat(256);
        let odd =
            tags.collect([Some(long.as_str()), Some("a\u{7}b"), None, Some("ok")], &mut stats);
        assert_eq!(odd.len(), 1);
        assert_eq!(stats.warnings[INVALID_TAG], 3);

        let many: Vec<String> = (0..100).map(|i| format!("t{i}")).collect();
        let capped = tags.collect(many.iter().map(|t| Some(t.as_str())), &mut stats);
        assert_eq!(capped.len(), MAX_TAGS);
        assert_eq!(stats.warnings[TOO_MANY_TAGS], 1);
    }
}
