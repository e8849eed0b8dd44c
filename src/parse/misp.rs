//! MISP feeds: the manifest and the event files (`shared/misp/feed-format.md` §2–3).
//!
//! [`read_manifest`] reads `manifest.json`, a JSON object keyed by event UUID. A key that is
//! not a UUID is counted as `invalid_event_uuid` and left out, so its event is never
//! requested (bug case 17: a manifest written as an array made MISP ask for `0.json`). An
//! array is an error unless the feed sets `lenient_manifest`; then each entry is keyed by its
//! own `uuid`.
//!
//! [`parse_events`] reads the event files the build fetched. Attributes are taken from
//! `Event.Attribute` **and** from `Event.Object[].Attribute` (bug case 18), deleted ones are
//! skipped and counted, and with `to_ids_only` so are those without the IDS flag. In an
//! `ip-port` object holding one address and its port, the two are joined into one
//! `ip-dst|port` (or `ip-src|port`) value. Types come from [`AttrType::from_name`] and values go
//! through [`indicator::normalize`]. An event file that cannot be read is counted as
//! `invalid_event` and skipped; the other events are still read.
//!
//! MISP writes numbers as strings or as integers, and booleans as `true`, `1` or `"1"`,
//! depending on the producer; the readers here accept each form. PHP's `json_encode` writes an
//! array with gaps as an object, so an `Attribute`, `Object` or `Tag` list given as an object is
//! read as its values in the order written; one given as a string or a number is counted as
//! `invalid_value`. Each attribute is read on its own: one that is not an object, or has a field
//! of an unexpected kind, costs itself alone, never its event. The structures borrow from
//! the file's bytes, so an event of thousands of attributes costs few allocations.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;
use std::marker::PhantomData;
use std::sync::Arc;

use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;
use time::OffsetDateTime;
use time::format_description::well_known::{Iso8601, Rfc3339};

use super::collect::Collector;
use super::misp_rules::{self, Pass, Subject};
use super::{INVALID_TIME, ParseError, ParseStats, ParsedFeed, Record, Sightings, meta, text};
use crate::config::{MispOptions, MispRules};
use crate::indicator::{self, AttrType, RejectReason};

/// The most tags kept of one event, object or attribute; more are dropped with a
/// `too_many_tags` warning.
pub const MAX_MISP_TAGS: usize = 256;

/// The events a MISP feed lists, read from its `manifest.json`.
#[derive(Clone, Debug, Default)]
pub struct Manifest {
    /// The listed events with a valid UUID key, in key order.
    pub events: Vec<ManifestEntry>,
    /// Entries read (`lines`), kept (`events`), and keys rejected as `invalid_event_uuid`.
    pub stats: ParseStats,
    /// Whether the manifest was an array, re-keyed by each entry's `uuid` (`lenient_manifest`).
    pub rekeyed: bool,
}

/// One event as the manifest describes it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ManifestEntry {
    /// The event UUID, lower-case; the event file is `<uuid>.json`.
    pub uuid: String,
    /// Unix seconds of the event's last change, which decides whether to fetch it again.
    pub timestamp: Option<i64>,
    /// The event's title (empty if absent).
    pub info: String,
    /// The event date, `YYYY-MM-DD` as written.
    pub date: Option<String>,
    /// Names of the event's tags.
    pub tags: Vec<String>,
    /// Name of the creating organisation (`Orgc.name`).
    pub org: Option<String>,
    /// UUID of the creating organisation (`Orgc.uuid`).
    pub org_uuid: Option<String>,
}

/// Reads a feed's `manifest.json`.
///
/// ```
/// use feedsmith::config::MispOptions;
/// use feedsmith::parse::misp;
///
/// let body = br#"{"5F0C2A1E-7B8D-4C3E-9A10-2B4C6D8E0F12": {"timestamp": "1714550400"}, "0": {}}"#;
/// let manifest = misp::read_manifest(body, &MispOptions::default()).unwrap();
/// assert_eq!(manifest.events[0].uuid, "5f0c2a1e-7b8d-4c3e-9a10-2b4c6d8e0f12");
/// assert_eq!(manifest.events[0].timestamp, Some(1_714_550_400));
/// assert_eq!(manifest.stats.rejected_count("invalid_event_uuid"), 1);
/// ```
///
/// # Errors
/// [`ParseError::Json`] when the body is not JSON, [`ParseError::ManifestNotObject`] when it is
/// not an object (an array is accepted with `lenient_manifest`).
pub fn read_manifest(body: &[u8], opts: &MispOptions) -> Result<Manifest, ParseError> {
    let mut stats = ParseStats::default();
    let body = text::strip_bom(body, &mut stats);
    let value: Value = serde_json::from_slice(body)
        .map_err(|source| ParseError::Json { file: "manifest.json".to_owned(), source })?;
    let mut manifest = Manifest { events: Vec::new(), stats, rekeyed: false };
    let mut seen: HashSet<String> = HashSet::new();
    match value {
        Value::Object(map) => {
            for (at, (key, entry)) in map.iter().enumerate() {
                manifest.add(at as u64 + 1, key, entry, &opts.rules, &mut seen);
            }
        }
        Value::Array(items) if opts.lenient_manifest => {
            manifest.rekeyed = true;
            for (at, entry) in items.iter().enumerate() {
                let number = at as u64 + 1;
                if let Some(key) = entry.get("uuid").and_then(Value::as_str) {
                    manifest.add(number, key, entry, &opts.rules, &mut seen);
                } else {
                    manifest.stats.lines += 1;
                    manifest.stats.reject_with(
                        RejectReason::InvalidEventUuid.code(),
                        number,
                        || format!("[{at}] has no uuid"),
                    );
                }
            }
        }
        other => return Err(ParseError::ManifestNotObject { got: json_kind(&other) }),
    }
    Ok(manifest)
}

impl Manifest {
    fn add(
        &mut self,
        number: u64,
        key: &str,
        entry: &Value,
        rules: &MispRules,
        seen: &mut HashSet<String>,
    ) {
        self.stats.lines += 1;
        if !is_uuid(key) {
            self.stats.reject(RejectReason::InvalidEventUuid, number, key);
            return;
        }
        let uuid = key.to_ascii_lowercase();
        if !seen.insert(uuid.clone()) {
            self.stats.duplicates += 1;
            return;
        }
        let text = |field: &str| entry.get(field).and_then(Value::as_str).map(str::to_owned);
        let tags = self.tag_names(number, key, entry.get("Tag"));
        let orgc = entry.get("Orgc").or_else(|| entry.get("orgc"));
        let org_field = |field: &str| {
            orgc.and_then(|o| o.get(field)).and_then(Value::as_str).map(str::to_owned)
        };
        let (org, org_uuid) = (org_field("name"), org_field("uuid"));
        let subject =
            Subject { tags: &tags, org_name: org.as_deref(), org_uuid: org_uuid.as_deref() };
        if let Err(blocked) = misp_rules::check(rules, Pass::Manifest, &subject) {
            tracing::debug!(event = %uuid, rule = blocked.key(), "Event left out by the feed's rules");
            self.stats.filtered_events += 1;
            return;
        }
        self.events.push(ManifestEntry {
            uuid,
            timestamp: entry.get("timestamp").and_then(json_unix),
            info: text("info").unwrap_or_default(),
            date: text("date"),
            tags,
            org,
            org_uuid,
        });
        self.stats.events += 1;
    }

    /// The names of an entry's `Tag` list: an array, or an object read as its values. A list
    /// or a tag of another JSON kind is counted as `invalid_value`; the entry is kept.
    fn tag_names(&mut self, number: u64, key: &str, tags: Option<&Value>) -> Vec<String> {
        let tags: Vec<&Value> = match tags {
            None | Some(Value::Null) => return Vec::new(),
            Some(Value::Array(tags)) => tags.iter().collect(),
            Some(Value::Object(tags)) => tags.values().collect(),
            Some(other) => {
                self.stats.reject_with(RejectReason::InvalidValue.code(), number, || {
                    format!("{key}: `Tag` is a {}, not a list", json_kind(other))
                });
                return Vec::new();
            }
        };
        let mut names = Vec::with_capacity(tags.len());
        for tag in tags {
            if let Value::Object(tag) = tag {
                names.extend(tag.get("name").and_then(Value::as_str).map(str::to_owned));
            } else {
                self.stats.reject_with(RejectReason::InvalidValue.code(), number, || {
                    format!("{key}: a tag is a {}, not an object", json_kind(tag))
                });
            }
        }
        names
    }
}

/// Whether `s` is a UUID in its 8-4-4-4-12 hexadecimal form (either case).
fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.bytes().enumerate().all(|(i, b)| match i {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        })
}

fn json_kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Unix seconds written as an integer or as a string of digits.
fn json_unix(value: &Value) -> Option<i64> {
    match value {
        Value::Number(n) => n.as_i64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
    .and_then(meta::unix_seconds)
}

/// Reads the fetched event files of a MISP feed: `(uuid, file bytes)` pairs, the UUID being
/// the manifest key the file was fetched for.
///
/// Records are de-duplicated across events; of two records of one indicator, the one whose
/// reference time (`last_seen`, else `timestamp`) is the newest is kept.
#[must_use]
pub fn parse_events(events: &[(String, Vec<u8>)], opts: &MispOptions) -> ParsedFeed {
    let mut reader = EventReader {
        collector: Collector::new(),
        stats: ParseStats::default(),
        to_ids_only: opts.to_ids_only,
        rules: &opts.rules,
        tags: HashSet::new(),
    };
    for (uuid, bytes) in events {
        reader.read_event(uuid, bytes);
    }
    let EventReader { collector, stats, .. } = reader;
    collector.finish(stats)
}

/// Reads one event and everything in it.
struct EventReader<'r> {
    collector: Collector,
    stats: ParseStats,
    to_ids_only: bool,
    rules: &'r MispRules,
    /// Tag names seen so far, so that records share one allocation per distinct tag.
    tags: HashSet<Arc<str>>,
}

/// Where an attribute sits, for its fallback times and rejection examples.
struct Place<'p> {
    uuid: &'p str,
    /// Attribute number within the event file, 1-based, objects' attributes included.
    number: u64,
    /// The object's timestamp, else the event's.
    timestamp: Option<i64>,
    event_tags: &'p Arc<[Arc<str>]>,
}

impl EventReader<'_> {
    fn read_event(&mut self, uuid: &str, bytes: &[u8]) {
        let bytes = text::strip_bom(bytes, &mut self.stats);
        let event = match serde_json::from_slice::<EventDoc<'_>>(bytes) {
            Ok(EventDoc(Some(event))) => event,
            Ok(EventDoc(None)) => return self.invalid(uuid, "no `Event` object"),
            Err(error) => return self.invalid(uuid, &error.to_string()),
        };
        match event.uuid.0.as_deref() {
            None => return self.invalid(uuid, "`Event.uuid` is missing"),
            Some(found) if !found.trim().eq_ignore_ascii_case(uuid) => {
                return self.invalid(uuid, &format!("`Event.uuid` is {found}"));
            }
            Some(_) => {}
        }

        let event_tags: Arc<[Arc<str>]> = self.intern_tags(&event.tags, uuid, 0).into();
        if !self.rules.is_empty() {
            let subject = Subject {
                tags: &event_tags[..],
                org_name: event.orgc.name.0.as_deref(),
                org_uuid: event.orgc.uuid.0.as_deref(),
            };
            if let Err(blocked) = misp_rules::check(self.rules, Pass::Event, &subject) {
                tracing::debug!(event = %uuid, rule = blocked.key(), "Event left out by the feed's rules");
                self.stats.filtered_events += 1;
                return;
            }
        }
        self.stats.events += 1;
        let mut place =
            Place { uuid, number: 0, timestamp: event.timestamp.0, event_tags: &event_tags };
        self.attributes(&event.attributes, None, None, &mut place);
        if let Some(kind) = event.objects.bad {
            self.bad_shape(&mut place, &format!("`Object` is a {kind}, not a list"));
        }
        for (at, object) in event.objects.items.iter().enumerate() {
            let object = match object {
                Item::Read(object) => object,
                Item::Bad(kind) => {
                    self.bad_shape(
                        &mut place,
                        &format!("`Object` {at} is a {kind}, not an object"),
                    );
                    continue;
                }
            };
            place.timestamp = object.timestamp.0.or(event.timestamp.0);
            if object.deleted.0 == Some(true) {
                let count = object.attributes.len();
                self.stats.lines += count;
                self.stats.deleted += count;
                place.number += count;
                continue;
            }
            let join = ip_port_join(object);
            self.attributes(&object.attributes, join.as_ref(), Some(at), &mut place);
        }
    }

    /// Reads a list of attributes: the event's, or those of the object at index `object`;
    /// `join` is the address-and-port join of an `ip-port` object.
    fn attributes(
        &mut self,
        list: &List<Attribute<'_>>,
        join: Option<&Join>,
        object: Option<usize>,
        place: &mut Place<'_>,
    ) {
        if let Some(kind) = list.bad {
            let message = match object {
                Some(at) => format!("`Object` {at} `Attribute` is a {kind}, not a list"),
                None => format!("`Attribute` is a {kind}, not a list"),
            };
            self.bad_shape(place, &message);
        }
        for (at, attribute) in list.items.iter().enumerate() {
            let attribute = match attribute {
                Item::Read(attribute) => attribute,
                Item::Bad(kind) => {
                    let number = place.number + 1;
                    self.bad_shape(
                        place,
                        &format!("attribute {number} is a {kind}, not an object"),
                    );
                    continue;
                }
            };
            match join {
                Some(join) if join.port == at => {
                    place.number += 1;
                    self.stats.lines += 1;
                    self.stats.ports_joined += 1;
                }
                Some(join) if join.ip == at => {
                    self.attribute(attribute, Some((join.kind, &join.value)), place);
                }
                _ => self.attribute(attribute, None, place),
            }
        }
    }

    /// Counts an entry of the wrong JSON kind where an attribute or a list was expected.
    fn bad_shape(&mut self, place: &mut Place<'_>, message: &str) {
        place.number += 1;
        self.stats.lines += 1;
        self.stats.reject_with(RejectReason::InvalidValue.code(), place.number, || {
            format!("{}.json: {message}", place.uuid)
        });
    }

    fn invalid(&mut self, uuid: &str, message: &str) {
        self.stats.reject_with(RejectReason::InvalidEvent.code(), 0, || {
            format!("{uuid}.json: {message}")
        });
    }

    /// Reads one attribute; `joined` replaces its type and value (an address with its port).
    fn attribute(
        &mut self,
        attribute: &Attribute<'_>,
        joined: Option<(AttrType, &str)>,
        place: &mut Place<'_>,
    ) {
        place.number += 1;
        self.stats.lines += 1;
        if attribute.deleted.0 == Some(true) {
            self.stats.deleted += 1;
            return;
        }
        let type_name = attribute.kind.0.as_deref().unwrap_or("");
        let kind = match joined {
            Some((kind, _)) => Some(kind),
            None => AttrType::from_name(type_name),
        };
        let to_ids =
            attribute.to_ids.0.unwrap_or_else(|| kind.is_some_and(AttrType::default_to_ids));
        if self.to_ids_only && !to_ids {
            self.stats.not_ids += 1;
            return;
        }
        let value = match joined {
            Some((_, value)) => Some(value),
            None => attribute.value.0.as_deref(),
        };
        let example = |text: &str| format!("{}.json: {type_name} {text}", place.uuid);
        let Some(kind) = kind else {
            let value = value.unwrap_or("");
            self.stats
                .reject_with(RejectReason::UnsupportedType.code(), place.number, || example(value));
            return;
        };
        let Some(value) = value else {
            self.stats.reject_with(RejectReason::InvalidValue.code(), place.number, || {
                example("(no value)")
            });
            return;
        };
        let classified = match indicator::normalize(kind, value, &indicator::Options::default()) {
            Ok(classified) => classified,
            Err(reason) => {
                self.stats.reject_with(reason.code(), place.number, || example(value));
                return;
            }
        };
        for warning in classified.warnings.iter() {
            self.stats.warn(warning);
        }
        let record = Record {
            indicator: classified.indicator,
            to_ids,
            timestamp: attribute.timestamp.0.or(place.timestamp),
            first_seen: self.time(&attribute.first_seen),
            last_seen: self.time(&attribute.last_seen),
            tags: self.intern_tags(&attribute.tags, place.uuid, place.number).into_boxed_slice(),
            event_tags: Arc::clone(place.event_tags),
            sightings: sightings(&attribute.sightings),
        };
        let pushed = self.collector.push_newest(record);
        Collector::count(pushed, &mut self.stats);
    }

    /// Unix seconds of an ISO 8601 time; a time that does not parse is counted and dropped.
    fn time(&mut self, text: &Text<'_>) -> Option<i64> {
        let text = text.0.as_deref()?.trim();
        if text.is_empty() {
            return None;
        }
        let parsed = OffsetDateTime::parse(text, &Rfc3339)
            .or_else(|_| OffsetDateTime::parse(text, &Iso8601::DEFAULT));
        if let Some(seconds) = parsed.ok().and_then(|t| meta::unix_seconds(t.unix_timestamp())) {
            Some(seconds)
        } else {
            self.stats.warn_code(INVALID_TIME);
            None
        }
    }

    /// The names of a tag list, one allocation per distinct name. A list or a tag of the wrong
    /// JSON kind is counted as `invalid_value` (at `number`, the attribute's; 0 for the
    /// event's); the tags beside it are kept.
    fn intern_tags(&mut self, tags: &List<Tag<'_>>, uuid: &str, number: u64) -> Vec<Arc<str>> {
        if let Some(kind) = tags.bad {
            self.stats.reject_with(RejectReason::InvalidValue.code(), number, || {
                format!("{uuid}.json: `Tag` is a {kind}, not a list")
            });
        }
        let mut names = Vec::with_capacity(tags.items.len());
        for tag in &tags.items {
            let tag = match tag {
                Item::Read(tag) => tag,
                Item::Bad(kind) => {
                    self.stats.reject_with(RejectReason::InvalidValue.code(), number, || {
                        format!("{uuid}.json: a tag is a {kind}, not an object")
                    });
                    continue;
                }
            };
            let Some(name) = tag.name.0.as_deref().filter(|name| !name.is_empty()) else {
                continue;
            };
            // Real events carry tens of tags; thousands only make scoring and the rules
            // slow. The rest are dropped, and counted.
            if names.len() == MAX_MISP_TAGS {
                self.stats.warn_code(super::TOO_MANY_TAGS);
                break;
            }
            let name = if let Some(known) = self.tags.get(name) {
                Arc::clone(known)
            } else {
                let known: Arc<str> = Arc::from(name);
                self.tags.insert(Arc::clone(&known));
                known
            };
            names.push(name);
        }
        names
    }
}

/// An address and a port of one `ip-port` object, to be read as one value.
struct Join {
    /// Index of the address attribute within the object.
    ip: usize,
    /// Index of the port attribute within the object.
    port: usize,
    kind: AttrType,
    value: String,
}

/// The join of an `ip-port` object holding exactly one live address and exactly one live port
/// of the same direction (`ip-dst` with `dst-port`, `ip-src` with `src-port`).
fn ip_port_join(object: &Object<'_>) -> Option<Join> {
    if object.name.0.as_deref() != Some("ip-port") {
        return None;
    }
    let live = |(_, a): &(usize, &Attribute<'_>)| a.deleted.0 != Some(true);
    let mut ips = object
        .attributes
        .read()
        .filter(live)
        .filter(|(_, a)| matches!(a.kind.0.as_deref(), Some("ip-dst" | "ip-src")));
    let (ip, address) = ips.next()?;
    if ips.next().is_some() {
        return None;
    }
    let (kind, relation) = match address.kind.0.as_deref() {
        Some("ip-src") => (AttrType::IpSrcPort, "src-port"),
        _ => (AttrType::IpDstPort, "dst-port"),
    };
    let mut ports = object.attributes.read().filter(live).filter(|(_, a)| {
        a.kind.0.as_deref() == Some("port") && a.object_relation.0.as_deref() == Some(relation)
    });
    let (port, port_attribute) = ports.next()?;
    if ports.next().is_some() {
        return None;
    }
    let value = format!(
        "{}|{}",
        address.value.0.as_deref()?.trim(),
        port_attribute.value.0.as_deref()?.trim()
    );
    Some(Join { ip, port, kind, value })
}

// ---- The shapes read from event files. Unknown keys are ignored: a feed is not a config. ----
//
// Every field reader accepts any JSON kind, and each struct is read key by key through
// [`Fields`] (a repeated key: the last one wins), so the only error left inside an event is
// broken JSON syntax. A value of the wrong kind in one field, or an attribute that is not an
// object, then costs that attribute alone.

/// An event file: `{"Event": …}`, `{"response": …}` around it, or an array whose first item is
/// one of those, as MISP accepts.
struct EventDoc<'a>(Option<Event<'a>>);

#[derive(Default)]
struct Event<'a> {
    uuid: Text<'a>,
    timestamp: Unix,
    orgc: Orgc<'a>,
    tags: List<Tag<'a>>,
    attributes: List<Attribute<'a>>,
    objects: List<Object<'a>>,
}

#[derive(Default)]
struct Object<'a> {
    name: Text<'a>,
    deleted: Flag,
    timestamp: Unix,
    attributes: List<Attribute<'a>>,
}

#[derive(Default)]
struct Attribute<'a> {
    kind: Text<'a>,
    value: Text<'a>,
    to_ids: Flag,
    deleted: Flag,
    timestamp: Unix,
    first_seen: Text<'a>,
    last_seen: Text<'a>,
    object_relation: Text<'a>,
    tags: List<Tag<'a>>,
    sightings: List<Sighting<'a>>,
}

/// One entry of an attribute's `Sighting` list.
#[derive(Default)]
struct Sighting<'a> {
    /// `0` seen, `1` false positive, `2` expiration; a number or a string of digits.
    kind: Text<'a>,
    date_sighting: Unix,
}

#[derive(Default)]
struct Tag<'a> {
    name: Text<'a>,
}

/// The creating organisation. One that is not an object reads as absent.
#[derive(Default)]
struct Orgc<'a> {
    name: Text<'a>,
    uuid: Text<'a>,
}

/// A struct read from a JSON object one key at a time.
trait Fields<'de>: Default {
    /// Reads the value of `key` from `map` into its field, or skips it.
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

/// Skips the value of a key no struct reads.
fn skip<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(drop)
}

impl<'de: 'a, 'a> Fields<'de> for Event<'a> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "uuid" => self.uuid = map.next_value()?,
            "timestamp" => self.timestamp = map.next_value()?,
            // MISP renames a lower-case `orgc` before reading the event.
            "Orgc" | "orgc" => {
                if let Item::Read(orgc) = map.next_value::<Item<Orgc<'a>>>()? {
                    self.orgc = orgc;
                }
            }
            "Tag" => self.tags = map.next_value()?,
            "Attribute" => self.attributes = map.next_value()?,
            "Object" => self.objects = map.next_value()?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl<'de: 'a, 'a> Fields<'de> for Object<'a> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "name" => self.name = map.next_value()?,
            "deleted" => self.deleted = map.next_value()?,
            "timestamp" => self.timestamp = map.next_value()?,
            "Attribute" => self.attributes = map.next_value()?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl<'de: 'a, 'a> Fields<'de> for Attribute<'a> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "type" => self.kind = map.next_value()?,
            "value" => self.value = map.next_value()?,
            "to_ids" => self.to_ids = map.next_value()?,
            "deleted" => self.deleted = map.next_value()?,
            "timestamp" => self.timestamp = map.next_value()?,
            "first_seen" => self.first_seen = map.next_value()?,
            "last_seen" => self.last_seen = map.next_value()?,
            "object_relation" => self.object_relation = map.next_value()?,
            "Tag" => self.tags = map.next_value()?,
            "Sighting" => self.sightings = map.next_value()?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl<'de: 'a, 'a> Fields<'de> for Sighting<'a> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "type" => self.kind = map.next_value()?,
            "date_sighting" => self.date_sighting = map.next_value()?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl<'de: 'a, 'a> Fields<'de> for Orgc<'a> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "name" => self.name = map.next_value()?,
            "uuid" => self.uuid = map.next_value()?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl<'de: 'a, 'a> Fields<'de> for Tag<'a> {
    fn field<A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "name" => self.name = map.next_value()?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

/// One entry of a list: the struct read from an object, or the JSON kind of anything else.
enum Item<T> {
    /// An object, read.
    Read(T),
    /// Not an object: `"string"`, `"array"`, …
    Bad(&'static str),
}

/// A text field: absent or `null` is `None`, a number is written out, anything else is `None`.
/// Borrowed from the file unless the JSON string holds escapes.
#[derive(Default)]
struct Text<'a>(Option<Cow<'a, str>>);

/// A flag written as `true`, `1`, `"1"` or `"true"` (and their opposites).
#[derive(Default)]
struct Flag(Option<bool>);

/// Unix seconds written as a number or a string of digits.
#[derive(Default)]
struct Unix(Option<i64>);

impl Unix {
    /// A time MISP can store: from 1970 on (MISP keeps seconds in an unsigned column), up to
    /// the year 9999; anything else is no time.
    fn of(seconds: Option<i64>) -> Unix {
        Unix(seconds.and_then(meta::unix_seconds))
    }
}

/// Counts an attribute's sightings as MISP's decay models do: every entry is a sighting; one
/// without a type is a type-0 ("seen") sighting, MISP's default; only type-0 dates refresh the
/// reference time. `None` when the list is empty.
fn sightings(list: &List<Sighting<'_>>) -> Option<Box<Sightings>> {
    if list.items.is_empty() {
        return None;
    }
    let mut counted = Sightings::default();
    for (_, sighting) in list.read() {
        counted.total = counted.total.saturating_add(1);
        let kind = sighting.kind.0.as_deref().map_or("0", str::trim);
        if kind == "0" {
            counted.seen = counted.seen.saturating_add(1);
            if let Some(date) = sighting.date_sighting.0 {
                counted.last_seen = Some(counted.last_seen.map_or(date, |d| d.max(date)));
            }
        }
    }
    (counted.total > 0).then(|| Box::new(counted))
}

/// A list of `T`: absent or `null` is empty; an array is read item by item; an object is read
/// as the list of its values in the order written (PHP's `json_encode` writes an array with
/// gaps that way). Any other kind is kept as `bad`, for the reader to count.
struct List<T> {
    items: Vec<Item<T>>,
    /// The JSON kind of a value that is neither array nor object nor `null`.
    bad: Option<&'static str>,
}

impl<T> Default for List<T> {
    fn default() -> Self {
        List { items: Vec::new(), bad: None }
    }
}

impl<T> List<T> {
    /// The items read from objects, with their index in the list.
    fn read(&self) -> impl Iterator<Item = (usize, &T)> {
        self.items.iter().enumerate().filter_map(|(at, item)| match item {
            Item::Read(t) => Some((at, t)),
            Item::Bad(_) => None,
        })
    }

    /// Entries counted as lines: every item, and a value of the wrong kind as one.
    fn len(&self) -> u64 {
        self.items.len() as u64 + u64::from(self.bad.is_some())
    }
}

fn drain_map<'de, A: MapAccess<'de>>(mut map: A) -> Result<(), A::Error> {
    while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
    Ok(())
}

fn drain_seq<'de, A: SeqAccess<'de>>(mut seq: A) -> Result<(), A::Error> {
    while seq.next_element::<IgnoredAny>()?.is_some() {}
    Ok(())
}

impl<'de: 'a, 'a> Deserialize<'de> for EventDoc<'a> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct DocVisitor<'a>(PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for DocVisitor<'a> {
            type Value = EventDoc<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a MISP event document")
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut event = None;
                while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                    match &*key {
                        "Event" if event.is_none() => {
                            // An `Event` that is not an object reads as no event.
                            if let Item::Read(read) = map.next_value::<Item<Event<'a>>>()? {
                                event = Some(read);
                            }
                        }
                        "response" if event.is_none() => {
                            event = map.next_value::<EventDoc<'a>>()?.0;
                        }
                        _ => {
                            map.next_value::<IgnoredAny>()?;
                        }
                    }
                }
                Ok(EventDoc(event))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let first = seq.next_element::<EventDoc<'a>>()?;
                drain_seq(seq)?;
                Ok(EventDoc(first.and_then(|doc| doc.0)))
            }
        }

        deserializer.deserialize_any(DocVisitor(PhantomData))
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for Text<'a> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct TextVisitor<'a>(PhantomData<&'a ()>);

        impl<'de: 'a, 'a> Visitor<'de> for TextVisitor<'a> {
            type Value = Text<'a>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }

            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Borrowed(v))))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_owned()))))
            }

            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v))))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                Ok(Text(Some(Cow::Owned(v.to_string()))))
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Text(None))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Text(None))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                drain_map(map)?;
                Ok(Text(None))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq)?;
                Ok(Text(None))
            }
        }

        deserializer.deserialize_any(TextVisitor(PhantomData))
    }
}

impl<'de> Deserialize<'de> for Flag {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct FlagVisitor;

        impl<'de> Visitor<'de> for FlagVisitor {
            type Value = Flag;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a boolean")
            }

            fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
                Ok(Flag(Some(v)))
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Flag(Some(v != 0)))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Flag(Some(v != 0)))
            }

            fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
                Ok(Flag(None))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                let v = v.trim();
                Ok(Flag(if v == "1" || v.eq_ignore_ascii_case("true") {
                    Some(true)
                } else if v == "0" || v.eq_ignore_ascii_case("false") {
                    Some(false)
                } else {
                    None
                }))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Flag(None))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                drain_map(map)?;
                Ok(Flag(None))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq)?;
                Ok(Flag(None))
            }
        }

        deserializer.deserialize_any(FlagVisitor)
    }
}

impl<'de> Deserialize<'de> for Unix {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct UnixVisitor;

        impl<'de> Visitor<'de> for UnixVisitor {
            type Value = Unix;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("Unix seconds")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
                Ok(Unix::of(i64::try_from(v).ok()))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
                Ok(Unix::of(Some(v)))
            }

            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
                // Out-of-range floats saturate; a timestamp that large is nonsense either way.
                Ok(Unix::of(v.is_finite().then_some(v as i64)))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Unix::of(v.trim().parse().ok()))
            }

            fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
                Ok(Unix(None))
            }

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Unix(None))
            }

            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
                drain_map(map)?;
                Ok(Unix(None))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq)?;
                Ok(Unix(None))
            }
        }

        deserializer.deserialize_any(UnixVisitor)
    }
}

/// The JSON kind a visitor saw, for [`Item::Bad`] and [`List::bad`].
struct Kind(&'static str);

/// Implements the visitor methods of every non-container JSON kind by returning `$make` of
/// that kind's name.
macro_rules! scalar_kinds {
    ($make:expr) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($make(Kind("boolean")))
        }

        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($make(Kind("number")))
        }

        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($make(Kind("number")))
        }

        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($make(Kind("number")))
        }

        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($make(Kind("string")))
        }
    };
}

impl<'de, T: Fields<'de>> Deserialize<'de> for Item<T> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ItemVisitor<T>(PhantomData<T>);

        impl<'de, T: Fields<'de>> Visitor<'de> for ItemVisitor<T> {
            type Value = Item<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }

            scalar_kinds!(|k: Kind| Item::Bad(k.0));

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(Item::Bad("null"))
            }

            fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
                drain_seq(seq)?;
                Ok(Item::Bad("array"))
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut read = T::default();
                while let Some(Key(key)) = map.next_key::<Key<'de>>()? {
                    read.field(&key, &mut map)?;
                }
                Ok(Item::Read(read))
            }
        }

        deserializer.deserialize_any(ItemVisitor(PhantomData))
    }
}

/// An object key, borrowed from the file unless it holds escapes.
struct Key<'a>(Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Key<'a> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let Text(text) = Text::deserialize(deserializer)?;
        Ok(Key(text.unwrap_or_default()))
    }
}

impl<'de, T: Fields<'de>> Deserialize<'de> for List<T> {
    fn deserialize<D: de::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ListVisitor<T>(PhantomData<T>);

        impl<'de, T: Fields<'de>> Visitor<'de> for ListVisitor<T> {
            type Value = List<T>;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list")
            }

            scalar_kinds!(|k: Kind| List { items: Vec::new(), bad: Some(k.0) });

            fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
                Ok(List::default())
            }

            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                while let Some(item) = seq.next_element()? {
                    items.push(item);
                }
                Ok(List { items, bad: None })
            }

            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut items = Vec::with_capacity(map.size_hint().unwrap_or(0).min(4096));
                while let Some((IgnoredAny, item)) = map.next_entry()? {
                    items.push(item);
                }
                Ok(List { items, bad: None })
            }
        }

        deserializer.deserialize_any(ListVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicator::Indicator;

    const CASE_17: &str = "5f0c2a1e-7b8d-4c3e-9a10-2b4c6d8e0f12";
    const CASE_18: &str = "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d";

    fn all_attributes() -> MispOptions {
        MispOptions { to_ids_only: false, ..MispOptions::default() }
    }

    fn one(uuid: &str, body: &[u8], opts: &MispOptions) -> ParsedFeed {
        parse_events(&[(uuid.to_owned(), body.to_vec())], opts)
    }

    fn indicators(feed: &ParsedFeed) -> Vec<(AttrType, &str, bool)> {
        feed.records.iter().map(|r| (r.indicator.kind, &*r.indicator.value, r.to_ids)).collect()
    }

    #[test]
    fn sightings_are_counted_by_type_and_the_newest_seen_date_kept() {
        // Types as numbers and strings, a missing type (MISP's default 0), a false positive
        // newer than every seen sighting, and an entry that is not an object.
        let body = br#"{"Event": {"uuid": "5f0c2a1e-7b8d-4c3e-9a10-2b4c6d8e0f12",
            "timestamp": "1700000000", "Attribute": [
            {"type": "ip-dst", "value": "198.51.100.7", "Sighting": [
                {"type": "0", "date_sighting": "1700000100"},
                {"type": 0, "date_sighting": 1700000300},
                {"date_sighting": "1700000200"},
                {"type": "1", "date_sighting": "1700000900"},
                "junk"]},
            {"type": "ip-dst", "value": "198.51.100.8"}]}}"#;
        let feed = one("5f0c2a1e-7b8d-4c3e-9a10-2b4c6d8e0f12", body, &all_attributes());
        let sightings = feed.records[0].sightings.as_deref().copied();
        assert_eq!(
            sightings,
            Some(Sightings { total: 4, seen: 3, last_seen: Some(1_700_000_300) })
        );
        assert_eq!(feed.records[1].sightings, None);
    }

    // Bug case 17 (MISP/PyMISP#509): an array manifest made MISP request `0.json`.
    #[test]
    fn an_array_manifest_is_an_error_by_default() {
        let body = include_bytes!(
            "../../tests/fixtures/bugcases/17-misp-manifest-not-object/feed/manifest.json"
        );
        let err = read_manifest(body, &MispOptions::default()).unwrap_err();
        assert!(matches!(err, ParseError::ManifestNotObject { got: "array" }));
        assert_eq!(
            err.to_string(),
            "manifest.json must be a JSON object keyed by event UUID (got array)"
        );
    }

    #[test]
    fn a_lenient_reader_rekeys_an_array_manifest_by_uuid_and_loads_its_event() {
        let body = include_bytes!(
            "../../tests/fixtures/bugcases/17-misp-manifest-not-object/feed/manifest.json"
        );
        let opts = MispOptions { lenient_manifest: true, ..MispOptions::default() };
        let manifest = read_manifest(body, &opts).unwrap();
        assert!(manifest.rekeyed);
        assert_eq!(
            manifest.events,
            [ManifestEntry {
                uuid: CASE_17.to_owned(),
                timestamp: Some(1_714_550_400),
                info: "Example feed event".to_owned(),
                date: Some("2024-05-01".to_owned()),
                tags: vec!["tlp:clear".to_owned()],
                org: Some("Example Org".to_owned()),
                org_uuid: Some("0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d".to_owned()),
            }]
        );
        let event = include_bytes!(
            "../../tests/fixtures/bugcases/17-misp-manifest-not-object/feed/5f0c2a1e-7b8d-4c3e-9a10-2b4c6d8e0f12.json"
        );
        let feed = one(&manifest.events[0].uuid, event, &opts);
        assert_eq!(feed.stats.events, 1);
        assert_eq!(indicators(&feed), [(AttrType::Domain, "c2.bad.example", true)]);
        assert_eq!(feed.records[0].timestamp, Some(1_714_550_400));
    }

    #[test]
    fn a_manifest_key_that_is_not_a_uuid_is_skipped_and_counted() {
        let body = include_bytes!(
            "../../tests/fixtures/bugcases/17-misp-manifest-not-object/manifest-bad-key.json"
        );
        let manifest = read_manifest(body, &MispOptions::default()).unwrap();
        assert_eq!(manifest.events.len(), 1);
        assert_eq!(manifest.events[0].uuid, CASE_17);
        let rejected = &manifest.stats.rejected["invalid_event_uuid"];
        assert_eq!(rejected.count, 1);
        assert_eq!(rejected.examples[0].text, "0");
        assert_eq!(manifest.stats.lines, 2);
    }

    #[test]
    fn manifest_keys_are_lower_cased_and_case_duplicates_kept_once() {
        let body = br#"{"5F0C2A1E-7B8D-4C3E-9A10-2B4C6D8E0F12": {"timestamp": 1},
                        "5f0c2a1e-7b8d-4c3e-9a10-2b4c6d8e0f12": {"timestamp": "2"}}"#;
        let manifest = read_manifest(body, &MispOptions::default()).unwrap();
        assert_eq!(manifest.events.len(), 1);
        assert_eq!(manifest.events[0].uuid, CASE_17);
        assert_eq!(manifest.stats.duplicates, 1);
    }

    #[test]
    fn a_manifest_that_is_not_json_or_not_an_object_is_an_error() {
        let opts = MispOptions { lenient_manifest: true, ..MispOptions::default() };
        assert!(matches!(read_manifest(b"<html>", &opts), Err(ParseError::Json { .. })));
        assert!(matches!(
            read_manifest(b"\"x\"", &opts),
            Err(ParseError::ManifestNotObject { got: "string" })
        ));
        assert!(read_manifest(b"\xEF\xBB\xBF{}", &opts).unwrap().stats.bom);
    }

    // TweetFeed's manifest: 30 keys (SOURCES.md; `len(json.load(...))` in Python).
    #[test]
    fn tweetfeed_manifest_lists_thirty_events() {
        let body = include_bytes!("../../tests/fixtures/parse/tweetfeed_manifest.json");
        let manifest = read_manifest(body, &MispOptions::default()).unwrap();
        assert_eq!(manifest.events.len(), 30);
        assert_eq!(manifest.stats.rejected_total(), 0);
        let entry = manifest
            .events
            .iter()
            .find(|e| e.uuid == "07124362-c14b-5868-b516-e5d8dd938050")
            .unwrap();
        assert_eq!(entry.timestamp, Some(1_785_627_000));
        assert_eq!(entry.info, "TweetFeed IOCs 2026-08-01");
        assert_eq!(entry.tags, ["TweetFeed", "type:OSINT", "tlp:clear"]);
        assert_eq!(entry.org.as_deref(), Some("TweetFeed"));
    }

    // Bug case 18 (cisagov/Malcolm#753): attributes inside objects were ignored.
    #[test]
    fn object_attributes_are_read_deleted_skipped_and_the_port_joined() {
        let body = include_bytes!(
            "../../tests/fixtures/bugcases/18-misp-object-attributes-ignored/event.json"
        );
        let feed = one(CASE_18, body, &all_attributes());
        assert_eq!(
            indicators(&feed),
            [
                (AttrType::Domain, "loader.bad.example", true),
                (AttrType::Url, "https://blog.example/analysis-of-loader", false),
                (AttrType::Md5, "0123456789abcdef0123456789abcdef", true),
                (
                    AttrType::Sha256,
                    "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
                    true
                ),
                (AttrType::Filename, "invoice_2024.js", false),
                (AttrType::IpDstPort, "198.51.100.61|8443", true),
            ]
        );
        assert_eq!(feed.records.iter().filter(|r| r.to_ids).count(), 4);
        assert_eq!(feed.stats.lines, 8);
        assert_eq!(feed.stats.deleted, 1);
        assert_eq!(feed.stats.ports_joined, 1);
        assert_eq!(feed.stats.rejected_total(), 0);
        assert_eq!(feed.stats.events, 1);
    }

    #[test]
    fn with_to_ids_only_the_non_ids_attributes_are_counted_and_skipped() {
        let body = include_bytes!(
            "../../tests/fixtures/bugcases/18-misp-object-attributes-ignored/event.json"
        );
        let feed = one(CASE_18, body, &MispOptions::default());
        assert_eq!(feed.records.len(), 4);
        assert_eq!(feed.stats.not_ids, 2);
        assert_eq!(feed.stats.deleted, 1);
        assert!(feed.records.iter().all(|r| r.to_ids));
    }

    // A TweetFeed event: 60 attributes, all `to_ids`, 60 distinct type/value pairs, 22 url,
    // 20 domain, 9 ip-dst, 7 md5, 2 sha256, no objects (counted with Python's `json`).
    #[test]
    fn tweetfeed_event_gives_sixty_records_with_event_and_attribute_tags() {
        let body = include_bytes!("../../tests/fixtures/parse/tweetfeed_07124362.json");
        let feed = one("07124362-c14b-5868-b516-e5d8dd938050", body, &MispOptions::default());
        assert_eq!(feed.stats.lines, 60);
        assert_eq!(feed.records.len(), 60);
        assert_eq!(feed.stats.rejected_total(), 0);
        let count = |kind| feed.records.iter().filter(|r| r.indicator.kind == kind).count();
        assert_eq!(
            [AttrType::Url, AttrType::Domain, AttrType::IpDst, AttrType::Md5, AttrType::Sha256]
                .map(count),
            [22, 20, 9, 7, 2]
        );
        let first = &feed.records[0];
        assert_eq!(first.indicator, Indicator::new(AttrType::Domain, "mu-hiqwnkesad.com"));
        assert_eq!(first.timestamp, Some(1_785_548_400));
        assert_eq!(&*first.tags, [Arc::from("phishing")]);
        let event_tags: Vec<&str> = first.event_tags.iter().map(|t| &**t).collect();
        assert_eq!(event_tags, ["TweetFeed", "type:OSINT", "tlp:clear"]);
        assert!(Arc::ptr_eq(&first.event_tags, &feed.records[59].event_tags));
    }

    #[test]
    fn a_bad_event_file_is_counted_and_the_others_still_read() {
        let good = include_bytes!(
            "../../tests/fixtures/bugcases/17-misp-manifest-not-object/feed/5f0c2a1e-7b8d-4c3e-9a10-2b4c6d8e0f12.json"
        );
        let other = "11111111-2222-4333-8444-555555555555";
        let events = [
            (other.to_owned(), b"<html>".to_vec()),
            (other.to_owned(), br#"{"Event": {"info": "no uuid"}}"#.to_vec()),
            (other.to_owned(), good.to_vec()),
            (CASE_17.to_owned(), good.to_vec()),
        ];
        let feed = parse_events(&events, &MispOptions::default());
        assert_eq!(feed.stats.events, 1);
        assert_eq!(feed.records.len(), 1);
        let invalid = &feed.stats.rejected["invalid_event"];
        assert_eq!(invalid.count, 3);
        assert!(invalid.examples.iter().all(|e| e.text.starts_with(&format!("{other}.json: "))));
    }

    #[test]
    fn response_wrappers_arrays_strings_and_numbers_are_accepted() {
        let body = br#"{"response": [{"Event": {"uuid": "5F0C2A1E-7B8D-4C3E-9A10-2B4C6D8E0F12",
            "timestamp": 1714550400, "Tag": null,
            "Attribute": [
              {"type": "url", "value": "http:\/\/bad.example\/a", "to_ids": "1", "timestamp": 1714550500,
               "first_seen": "2024-05-01T10:00:00.000000+00:00", "last_seen": "2024-05-02T00:00:00Z"},
              {"type": "ip-dst", "value": "192.0.2.1", "to_ids": 1, "first_seen": "yesterday"},
              {"type": "mutex", "value": "x", "to_ids": true},
              {"type": "ip-dst", "value": "192.0.2.300", "to_ids": true}
            ]}}]}"#;
        let feed = one(CASE_17, body, &MispOptions::default());
        assert_eq!(feed.stats.events, 1);
        assert_eq!(
            indicators(&feed),
            [(AttrType::Url, "http://bad.example/a", true), (AttrType::IpDst, "192.0.2.1", true)]
        );
        assert_eq!(feed.records[0].timestamp, Some(1_714_550_500));
        assert_eq!(feed.records[0].first_seen, Some(1_714_557_600));
        assert_eq!(feed.records[0].last_seen, Some(1_714_608_000));
        assert_eq!(feed.records[1].timestamp, Some(1_714_550_400), "the event's, as a fallback");
        assert_eq!(feed.records[1].first_seen, None);
        assert_eq!(feed.stats.warnings[INVALID_TIME], 1);
        assert_eq!(feed.stats.rejected_count("unsupported_type"), 1);
        assert_eq!(feed.stats.rejected["unsupported_type"].examples[0].line, 3);
        assert_eq!(feed.stats.rejected_total(), 2);
    }

    #[test]
    fn a_repeated_indicator_keeps_the_record_seen_most_recently() {
        let event = |uuid: &str, last_seen: &str| {
            format!(
                r#"{{"Event": {{"uuid": "{uuid}", "Attribute": [
                    {{"type": "domain", "value": "bad.example", "to_ids": true, "timestamp": "5",
                      "last_seen": "{last_seen}"}}]}}}}"#
            )
            .into_bytes()
        };
        let a = "aaaaaaaa-0000-4000-8000-000000000000";
        let b = "bbbbbbbb-0000-4000-8000-000000000000";
        let events = [
            (a.to_owned(), event(a, "2024-05-30T00:00:00Z")),
            (b.to_owned(), event(b, "2024-01-10T00:00:00Z")),
        ];
        let feed = parse_events(&events, &MispOptions::default());
        assert_eq!(feed.records.len(), 1);
        assert_eq!(feed.stats.duplicates, 1);
        assert_eq!(feed.records[0].last_seen, Some(1_717_027_200));
    }

    #[test]
    fn a_deleted_object_skips_all_its_attributes() {
        let body = br#"{"Event": {"uuid": "5f0c2a1e-7b8d-4c3e-9a10-2b4c6d8e0f12", "Object": [
            {"name": "domain-ip", "deleted": true, "Attribute": [
              {"type": "domain", "value": "a.example"}, {"type": "ip-dst", "value": "192.0.2.1"}]}]}}"#;
        let feed = one(CASE_17, body, &MispOptions::default());
        assert!(feed.records.is_empty());
        assert_eq!(feed.stats.deleted, 2);
        assert_eq!(feed.stats.lines, 2);
    }

    // PHP's json_encode writes an array with gaps as an object.
    #[test]
    fn attribute_and_object_lists_given_as_objects_are_read_and_a_string_list_rejected() {
        let uuid = "11111111-1111-4111-8111-111111111111";
        let manifest = read_manifest(format!(r#"{{"{uuid}":{{}}}}"#).as_bytes(), &all_attributes());
        assert_eq!(manifest.unwrap().events.len(), 1);
        let body = br#"{"Event":{"uuid":"11111111-1111-4111-8111-111111111111",
            "Attribute":{"0":{"type":"ip-dst","value":"1.2.3.4","to_ids":true},
                         "2":{"type":"ip-dst","value":"5.6.7.8","to_ids":true}},
            "Object":[{"name":"x","Attribute":{"1":{"type":"domain","value":"evil.example","to_ids":true}}},
                      {"name":"y","Attribute":"9.9.9.9"}]}}"#;
        let feed = one(uuid, body, &MispOptions::default());
        assert_eq!(
            indicators(&feed),
            [
                (AttrType::IpDst, "1.2.3.4", true),
                (AttrType::IpDst, "5.6.7.8", true),
                (AttrType::Domain, "evil.example", true),
            ]
        );
        assert_eq!(feed.stats.events, 1);
        assert_eq!(feed.stats.lines, 4);
        assert_eq!(feed.stats.rejected_count("invalid_value"), 1);
        assert_eq!(feed.stats.rejected_total(), 1);
        let example = &feed.stats.rejected["invalid_value"].examples[0];
        assert_eq!(
            (example.line, &*example.text),
            (4, &*format!("{uuid}.json: `Object` 1 `Attribute` is a string, not a list"))
        );
    }

    // Found by hostile-input testing: 20,000 event tags on 20,000 attributes hung the build.
    #[test]
    fn an_event_keeps_at_most_max_misp_tags_and_counts_the_rest() {
        let tags: Vec<String> = (0..300).map(|i| format!("{{\"name\":\"t{i}\"}}")).collect();
        let body = format!(
            r#"{{"Event":{{"uuid":"5f0c2a1e-7b8d-4c3e-9a10-2b4c6d8e0f12","Tag":[{}],
            "Attribute":[{{"type":"domain","value":"a.example","to_ids":true}},
                         {{"type":"domain","value":"b.example","to_ids":true}}]}}}}"#,
            tags.join(",")
        );
        let feed = one(CASE_17, body.as_bytes(), &MispOptions::default());
        assert_eq!(feed.records.len(), 2);
        assert_eq!(feed.records[0].event_tags.len(), MAX_MISP_TAGS);
        assert_eq!(&*feed.records[0].event_tags[0], "t0");
        assert_eq!(
            &*feed.records[0].event_tags[MAX_MISP_TAGS - 1],
            &*format!("t{}", MAX_MISP_TAGS - 1)
        );
        assert!(Arc::ptr_eq(&feed.records[0].event_tags, &feed.records[1].event_tags));
        assert_eq!(feed.stats.warnings[crate::parse::TOO_MANY_TAGS], 1);
    }

    #[test]
    fn an_object_map_and_tag_maps_are_read_and_tags_of_the_wrong_kind_counted() {
        let body = br#"{"Event":{"uuid":"5f0c2a1e-7b8d-4c3e-9a10-2b4c6d8e0f12", "Tag": "tlp:clear",
            "Object":{"3":{"name":"z","Attribute":[
                {"type":"domain","value":"b.example","to_ids":true,
                 "Tag":{"5":{"name":"t1"},"7":"t2","9":{"name":"t3"}}}]}},
            "Attribute":[{"type":"domain","value":"a.example","to_ids":true,"Tag":7}]}}"#;
        let feed = one(CASE_17, body, &MispOptions::default());
        assert_eq!(
            indicators(&feed),
            [(AttrType::Domain, "a.example", true), (AttrType::Domain, "b.example", true)]
        );
        assert!(feed.records[0].tags.is_empty());
        assert_eq!(&*feed.records[1].tags, [Arc::from("t1"), Arc::from("t3")]);
        assert!(feed.records[1].event_tags.is_empty());
        assert_eq!(feed.stats.lines, 2);
        // The event's `Tag` string, the number `7`, and the tag `"t2"`.
        assert_eq!(feed.stats.rejected_count("invalid_value"), 3);
        assert_eq!(feed.stats.rejected_total(), 3);

        let manifest = br#"{"5f0c2a1e-7b8d-4c3e-9a10-2b4c6d8e0f12":
            {"Tag":{"0":{"name":"tlp:clear"},"1":"x","2":{"name":"osint"}}},
            "7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d": {"Tag":"tlp:clear"}}"#;
        let manifest = read_manifest(manifest, &MispOptions::default()).unwrap();
        assert_eq!(manifest.events.len(), 2);
        assert_eq!(manifest.events[0].tags, ["tlp:clear", "osint"]);
        assert!(manifest.events[1].tags.is_empty());
        assert_eq!(manifest.stats.rejected_count("invalid_value"), 2);
    }

    #[test]
    fn an_attribute_that_is_not_an_object_costs_only_itself() {
        let mut attributes: Vec<String> = (1..=29)
            .map(|n| format!(r#"{{"type":"ip-dst","value":"192.0.2.{n}","to_ids":true}}"#))
            .collect();
        attributes.push(r#""notanobject""#.to_owned());
        let body =
            format!(r#"{{"Event":{{"uuid":"{CASE_17}","Attribute":[{}]}}}}"#, attributes.join(","));
        let feed = one(CASE_17, body.as_bytes(), &MispOptions::default());
        assert_eq!(feed.stats.events, 1);
        assert_eq!(feed.records.len(), 29);
        assert_eq!(feed.stats.lines, 30);
        assert_eq!(feed.stats.rejected_count("invalid_event"), 0);
        assert_eq!(feed.stats.rejected_total(), 1);
        let invalid = &feed.stats.rejected["invalid_value"];
        assert_eq!(invalid.count, 1);
        assert_eq!(invalid.examples[0].line, 30);
        assert_eq!(
            invalid.examples[0].text,
            format!("{CASE_17}.json: attribute 30 is a string, not an object")
        );
    }

    #[test]
    fn a_field_of_the_wrong_kind_or_a_repeated_key_costs_only_its_attribute() {
        let body = br#"{"Event":{"uuid":"5f0c2a1e-7b8d-4c3e-9a10-2b4c6d8e0f12","Attribute":[
            {"type":"ip-dst","value":{"ip":"192.0.2.1"},"to_ids":true},
            {"type":["ip-dst"],"value":"192.0.2.2","to_ids":true},
            {"type":"ip-dst","value":"192.0.2.3","value":"192.0.2.4","to_ids":[1],"timestamp":{}},
            null, [], 5,
            {"type":"ip-dst","value":"192.0.2.5","to_ids":true}]}}"#;
        let feed = one(CASE_17, body, &all_attributes());
        assert_eq!(
            indicators(&feed),
            [(AttrType::IpDst, "192.0.2.4", true), (AttrType::IpDst, "192.0.2.5", true)]
        );
        assert_eq!(feed.stats.lines, 7);
        // The object value, and null, [] and 5 in place of attributes.
        assert_eq!(feed.stats.rejected_count("invalid_value"), 4);
        assert_eq!(feed.stats.rejected_count("unsupported_type"), 1);
        assert_eq!(feed.stats.rejected_total(), 5);
    }

    fn with_rules(
        tags_or: &[&str],
        tags_not: &[&str],
        orgs_or: &[&str],
        orgs_not: &[&str],
    ) -> MispOptions {
        let own = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect();
        let rules = MispRules {
            tags_or: own(tags_or),
            tags_not: own(tags_not),
            orgs_or: own(orgs_or),
            orgs_not: own(orgs_not),
        };
        MispOptions { rules, ..MispOptions::default() }
    }

    // TweetFeed's manifest: every one of its 30 entries carries the tags `TweetFeed`,
    // `type:OSINT` and `tlp:clear` and the organisation `TweetFeed` with the UUID below
    // (counted with Python's `json`).
    const TWEETFEED_ORG: &str = "76a67249-f941-5bdb-925a-51045a921c1e";

    #[test]
    fn manifest_rules_match_exact_tag_and_organisation_names_and_count_what_they_leave_out() {
        let body = include_bytes!("../../tests/fixtures/parse/tweetfeed_manifest.json");
        let read = |opts: &MispOptions| read_manifest(body, opts).unwrap();
        let kept = |opts: &MispOptions| {
            let manifest = read(opts);
            (manifest.events.len(), manifest.stats.filtered_events)
        };
        assert_eq!(kept(&with_rules(&["tlp:clear"], &[], &[], &[])), (30, 0));
        assert_eq!(kept(&with_rules(&["TLP:CLEAR"], &[], &[], &[])), (0, 30));
        assert_eq!(kept(&with_rules(&["tlp:"], &[], &[], &[])), (0, 30));
        assert_eq!(kept(&with_rules(&[], &["type:OSINT"], &[], &[])), (0, 30));
        assert_eq!(kept(&with_rules(&[], &["type:osint"], &[], &[])), (30, 0));
        assert_eq!(kept(&with_rules(&[], &[], &["TweetFeed"], &[])), (30, 0));
        assert_eq!(kept(&with_rules(&[], &[], &[TWEETFEED_ORG], &[])), (30, 0));
        assert_eq!(kept(&with_rules(&[], &[], &["Tweet"], &[])), (0, 30));
        assert_eq!(kept(&with_rules(&[], &[], &[], &[TWEETFEED_ORG])), (0, 30));
        let manifest = read(&with_rules(&[], &["type:OSINT"], &[], &[]));
        assert_eq!(manifest.stats.lines, 30);
        assert_eq!(manifest.stats.events, 0);
        assert_eq!(manifest.stats.rejected_total(), 0);
    }

    // The TweetFeed event carries the same tags and organisation as its manifest entry.
    #[test]
    fn event_rules_match_substrings_without_case_and_skip_the_whole_event() {
        let body = include_bytes!("../../tests/fixtures/parse/tweetfeed_07124362.json");
        let uuid = "07124362-c14b-5868-b516-e5d8dd938050";
        let read = |opts: &MispOptions| {
            let feed = one(uuid, body, opts);
            (feed.records.len(), feed.stats.events, feed.stats.filtered_events)
        };
        // 60 attributes, all `to_ids` (see the test above).
        assert_eq!(read(&MispOptions::default()), (60, 1, 0));
        assert_eq!(read(&with_rules(&["TLP:CLEAR"], &[], &[], &[])), (60, 1, 0));
        assert_eq!(read(&with_rules(&["tlp:amber"], &[], &[], &[])), (0, 0, 1));
        assert_eq!(read(&with_rules(&[], &["osint"], &[], &[])), (0, 0, 1));
        assert_eq!(read(&with_rules(&[], &[], &["tweet"], &[])), (60, 1, 0));
        assert_eq!(read(&with_rules(&[], &[], &["Other Org"], &[])), (0, 0, 1));
        assert_eq!(read(&with_rules(&[], &[], &[TWEETFEED_ORG], &[])), (60, 1, 0));
        assert_eq!(read(&with_rules(&[], &[], &[], &["FEED"])), (0, 0, 1));
        // A filtered event's attributes are not read at all.
        let feed = one(uuid, body, &with_rules(&[], &["osint"], &[], &[]));
        assert_eq!(feed.stats.lines, 0);
    }

    // Attribute tags do not count: MISP looks at `Event.Tag` only.
    #[test]
    fn event_rules_ignore_attribute_tags_and_read_a_lower_case_orgc() {
        let body = br#"{"Event": {"uuid": "5f0c2a1e-7b8d-4c3e-9a10-2b4c6d8e0f12",
            "orgc": {"name": "Example Org", "uuid": "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d"},
            "Attribute": [{"type": "domain", "value": "a.example", "to_ids": true,
                           "Tag": [{"name": "tlp:clear"}]}]}}"#;
        let feed = one(CASE_17, body, &with_rules(&["tlp:clear"], &[], &[], &[]));
        assert_eq!((feed.records.len(), feed.stats.filtered_events), (0, 1));
        let feed = one(CASE_17, body, &with_rules(&[], &[], &["example org"], &[]));
        assert_eq!((feed.records.len(), feed.stats.filtered_events), (1, 0));
        let body = br#"{"Event": {"uuid": "5f0c2a1e-7b8d-4c3e-9a10-2b4c6d8e0f12", "Orgc": "x",
            "Attribute": [{"type": "domain", "value": "a.example", "to_ids": true}]}}"#;
        let feed = one(CASE_17, body, &with_rules(&[], &[], &[], &["x"]));
        assert_eq!((feed.records.len(), feed.stats.filtered_events), (1, 0));
    }

    #[test]
    fn uuid_check_accepts_either_case_and_only_the_8_4_4_4_12_form() {
        assert!(is_uuid("5F0C2A1E-7b8d-4c3e-9a10-2b4c6d8e0f12"));
        assert!(!is_uuid("0"));
        assert!(!is_uuid("5f0c2a1e7b8d4c3e9a102b4c6d8e0f12"));
        assert!(!is_uuid("5f0c2a1e-7b8d-4c3e-9a10-2b4c6d8e0f1g"));
    }
}
