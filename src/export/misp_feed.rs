//! The `misp-feed` format: a folder a MISP instance subscribes to.
//!
//! The folder holds `manifest.json` (an object keyed by event UUID), one `<uuid>.json` file
//! per event and `hashes.csv`, as described in `misp/feed-format.md`. A subscribing MISP
//! downloads an event only when its manifest `timestamp` is newer than its own copy's, merges
//! attributes by UUID, updates one only when its `timestamp` is newer, and never removes an
//! attribute that merely goes missing. The writer therefore carries the previous build's feed
//! forward ([`Previous`], read from the output folder it is about to replace):
//!
//! - UUIDs are derived, never random (UUID version 5 under feedsmith's namespace): an event's
//!   from the task id and output path (and the day, for `events = "daily"`), an attribute's
//!   from its event's UUID, its type and its value. The same value in the same event keeps
//!   its UUID from build to build, and no two events share an attribute UUID.
//! - An attribute's `timestamp` is the time its content (type, category, value, IDS flag,
//!   tags, deleted flag) last changed; an event's is the time anything in its file last
//!   changed, so an unchanged event keeps the timestamp its subscribers already hold and is
//!   not downloaded again. A changed timestamp is never below the previous one plus a second,
//!   even when `--now` goes back.
//! - A value that leaves the selection stays in its event as an attribute with
//!   `"deleted": true` and a newer timestamp, which is how MISP learns to revoke it, for
//!   `retention_days`; then it leaves the file. A value that comes back within that time is
//!   restored in the same event, under the same UUID.
//! - With `events = "daily"`, each value goes into the event of the day it entered the
//!   output and stays there while it is selected; a day's event leaves the feed when it holds
//!   nothing, not even a deleted attribute. With `events = "fixed"` (the default) one event
//!   holds everything and is always written, unpublished when empty, since MISP refuses a
//!   published empty event.
//! - `hashes.csv` follows MISP's own cache rule: one `md5(value part),event uuid` line per
//!   value part of every attribute that is not deleted, the parts of a composite type split
//!   at `|`, only the first part of a `|port` type, and no line for the types MISP does not
//!   correlate.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read as _, Write as _};
use std::path::Path;

use md5::{Digest as _, Md5};
use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use uuid::Uuid;

use super::{Entry, ExportError, date, file_report, write_file};
use crate::config::{EventMode, OutputFormat};
use crate::indicator::AttrType;
use crate::report::OutputReport;

/// The maps and sets of one output's values: foldhash, seeded at random, as the values come
/// from feeds; `SipHash` showed in profiles of feeds of hundreds of thousands of values.
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::quality::RandomState>;
type HashSet<K> = std::collections::HashSet<K, foldhash::quality::RandomState>;

/// Days a removed value stays as a deleted attribute, unless `retention_days` says otherwise.
pub const RETENTION_DAYS: u32 = 7;

/// The file names of a feed folder.
pub(crate) const MANIFEST: &str = "manifest.json";
const HASHES: &str = "hashes.csv";

/// The largest previous `manifest.json` read back.
const MAX_MANIFEST_BYTES: u64 = 64 * 1024 * 1024;
/// The largest previous event file read back.
const MAX_EVENT_BYTES: u64 = 2 * 1024 * 1024 * 1024;

/// The attribute types MISP's feed cache leaves out, as it does not correlate them
/// (`misp/feed-format.md` §4). None is an indicator type feedsmith reads today; the list
/// keeps `hashes.csv` right should one become one.
const NOT_CORRELATED: &[&str] = &[
    "comment",
    "http-method",
    "aba-rtn",
    "gender",
    "counter",
    "integer",
    "float",
    "port",
    "nationality",
    "cortex",
    "boolean",
    "anonymised",
];

/// The namespace of every UUID feedsmith derives (UUID version 5 of feedsmith's name in the URL
/// namespace), so that ids never collide with another producer's.
fn namespace() -> Uuid {
    Uuid::new_v5(&Uuid::NAMESPACE_URL, b"https://github.com/feedsmith/feedsmith")
}

/// Settings of one MISP feed output.
#[derive(Clone, Debug)]
pub struct EventSettings<'a> {
    /// Task id, part of the event UUID.
    pub task_id: &'a str,
    /// Output path, part of the event UUID.
    pub path: &'a str,
    /// The event's `info` (followed by the day, for daily events).
    pub info: &'a str,
    /// The creator organisation's name.
    pub org_name: &'a str,
    /// `threat_level_id`, 1..=4.
    pub threat_level: u8,
    /// The TLP tag of the events.
    pub tlp: &'a str,
    /// The events' `distribution`, 0..=3, when one is written; attributes then inherit it.
    pub distribution: Option<u8>,
    /// One fixed event, or one per day.
    pub events: EventMode,
    /// Days a removed value stays as a deleted attribute.
    pub retention_days: u32,
    /// Build time, Unix seconds.
    pub now: i64,
}

impl EventSettings<'_> {
    /// The UUID of the event of `day` (`YYYY-MM-DD`), or of the fixed event.
    fn event_uuid(&self, day: Option<&str>) -> Uuid {
        let name = match day {
            None => format!("event:{}:{}", self.task_id, self.path),
            Some(day) => format!("event:{}:{}:{day}", self.task_id, self.path),
        };
        Uuid::new_v5(&namespace(), name.as_bytes())
    }
}

/// The UUID of the attribute of type `kind` and `value` in event `event`; `name` is room for
/// the name it is derived from, reused from call to call.
fn attribute_uuid(event: &Uuid, kind: &str, value: &str, name: &mut Vec<u8>) -> Uuid {
    name.clear();
    name.extend_from_slice(kind.as_bytes());
    name.push(b'|');
    name.extend_from_slice(value.as_bytes());
    Uuid::new_v5(event, name)
}

/// The tag naming a feed that lists a value.
fn source_tag(feed: &str) -> String {
    format!("feedsmith:source=\"{feed}\"")
}

// ---------------------------------------------------------------------------------------
// The previous build's feed.

/// The events of the previous build's feed folder, by UUID, as far as they could be read.
#[derive(Debug, Default)]
pub struct Previous {
    events: BTreeMap<String, PrevEvent>,
}

impl Previous {
    /// Reads the feed folder a previous build wrote; a folder that is missing gives no
    /// events, and an event that cannot be read is left out with a warning (its values are
    /// then written as new, and the ones it held that left the selection are not revoked).
    #[must_use]
    pub fn read(folder: &Path) -> Previous {
        let mut previous = Previous::default();
        let manifest_path = folder.join(MANIFEST);
        let bytes = match read_capped(&manifest_path, MAX_MANIFEST_BYTES) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return previous,
            Err(e) => {
                warn_unread(&manifest_path, &e.to_string());
                return previous;
            }
        };
        #[expect(clippy::zero_sized_map_values, reason = "only the manifest's keys are read")]
        let manifest: BTreeMap<String, serde::de::IgnoredAny> = match serde_json::from_slice(&bytes)
        {
            Ok(manifest) => manifest,
            Err(e) => {
                warn_unread(&manifest_path, &e.to_string());
                return previous;
            }
        };
        for key in manifest.keys() {
            // The key names a file: only a UUID in its canonical form is one of ours.
            let canonical = Uuid::parse_str(key).map(|u| u.to_string()).ok();
            if canonical.as_deref() != Some(key.as_str()) {
                warn_unread(
                    &manifest_path,
                    &format!("`{}` is not an event UUID", key.escape_debug()),
                );
                continue;
            }
            let path = folder.join(format!("{key}.json"));
            let event = read_capped(&path, MAX_EVENT_BYTES)
                .map_err(|e| e.to_string())
                .and_then(|bytes| {
                    serde_json::from_slice::<EventFile>(&bytes).map_err(|e| e.to_string())
                })
                .and_then(|file| {
                    if file.event.uuid == *key {
                        Ok(file.event)
                    } else {
                        Err("it holds another event".to_owned())
                    }
                });
            match event {
                Ok(event) => {
                    previous.events.insert(key.clone(), event);
                }
                Err(why) => warn_unread(&path, &why),
            }
        }
        previous
    }

    /// Whether no previous event was read.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.events.is_empty()
    }
}

fn warn_unread(path: &Path, why: &str) {
    tracing::warn!(
        path = %path.display(),
        error = why,
        "Cannot read the previous MISP feed; its events are written afresh"
    );
}

/// Reads at most `max` bytes of `path`, failing on a longer file.
fn read_capped(path: &Path, max: u64) -> std::io::Result<Vec<u8>> {
    let mut bytes = Vec::new();
    std::fs::File::open(path)?.take(max + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > max {
        return Err(std::io::Error::other(format!("larger than {max} bytes")));
    }
    Ok(bytes)
}

#[derive(Deserialize)]
struct EventFile {
    #[serde(rename = "Event")]
    event: PrevEvent,
}

/// An event as the previous build wrote it (unknown keys are ignored: the file is read back,
/// not configured).
#[derive(Debug, Deserialize)]
struct PrevEvent {
    uuid: String,
    #[serde(default)]
    info: String,
    #[serde(default)]
    date: String,
    #[serde(default, deserialize_with = "lenient_unix")]
    timestamp: i64,
    #[serde(default, deserialize_with = "lenient_text")]
    threat_level_id: String,
    #[serde(default, deserialize_with = "lenient_text")]
    analysis: String,
    #[serde(default)]
    published: bool,
    #[serde(default, deserialize_with = "lenient_text")]
    distribution: String,
    #[serde(default, rename = "Orgc")]
    orgc: PrevOrg,
    #[serde(default, rename = "Tag")]
    tags: Vec<PrevTag>,
    #[serde(default, rename = "Attribute")]
    attributes: Vec<PrevAttribute>,
}

#[derive(Debug, Default, Deserialize)]
struct PrevOrg {
    #[serde(default)]
    name: String,
    #[serde(default)]
    uuid: String,
}

#[derive(Debug, Deserialize)]
struct PrevTag {
    #[serde(default)]
    name: String,
}

#[derive(Debug, Deserialize)]
struct PrevAttribute {
    #[serde(default)]
    uuid: String,
    #[serde(default, rename = "type")]
    kind: String,
    #[serde(default)]
    category: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    to_ids: bool,
    #[serde(default, deserialize_with = "lenient_unix")]
    timestamp: i64,
    #[serde(default)]
    comment: String,
    #[serde(default)]
    deleted: bool,
    #[serde(default)]
    disable_correlation: bool,
    #[serde(default, deserialize_with = "lenient_text")]
    distribution: String,
    #[serde(default, rename = "Tag")]
    tags: Vec<PrevTag>,
}

/// Unix seconds written as a number or a string (MISP writes both); anything else is 0.
fn lenient_unix<'de, D: serde::Deserializer<'de>>(d: D) -> Result<i64, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.as_i64().unwrap_or(0),
        serde_json::Value::String(s) => s.parse().unwrap_or(0),
        _ => 0,
    })
}

/// A number or a string, as text; anything else is empty.
fn lenient_text<'de, D: serde::Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    Ok(match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n.to_string(),
        serde_json::Value::String(s) => s,
        _ => String::new(),
    })
}

// ---------------------------------------------------------------------------------------
// What this build writes.

/// An attribute's content: everything written but its timestamp.
#[derive(Clone, Debug, PartialEq, Eq)]
struct Attr<'a> {
    uuid: Uuid,
    kind: &'static str,
    value: &'a str,
    to_ids: bool,
    deleted: bool,
    tags: Vec<Cow<'a, str>>,
}

impl Attr<'_> {
    fn category(&self) -> &'static str {
        AttrType::from_name(self.kind).map_or("Other", AttrType::default_category)
    }

    /// Whether `previous` has this content, as this writer would write it.
    fn same_as(&self, previous: &PrevAttribute, distribution: &str) -> bool {
        previous.uuid == *self.uuid.hyphenated().encode_lower(&mut Uuid::encode_buffer())
            && previous.kind == self.kind
            && previous.category == self.category()
            && previous.value == self.value
            && previous.to_ids == self.to_ids
            && previous.deleted == self.deleted
            && previous.comment.is_empty()
            && !previous.disable_correlation
            && previous.distribution == distribution
            && previous.tags.len() == self.tags.len()
            && previous.tags.iter().zip(&self.tags).all(|(a, b)| a.name == *b)
    }
}

/// An event's head: everything written but its timestamps and attributes.
#[derive(Debug, PartialEq, Eq)]
struct Head {
    info: String,
    date: String,
    threat_level_id: String,
    published: bool,
    distribution: String,
    org_name: String,
    org_uuid: String,
    tags: Vec<String>,
}

impl Head {
    fn same_as(&self, previous: &PrevEvent) -> bool {
        previous.info == self.info
            && previous.date == self.date
            && previous.threat_level_id == self.threat_level_id
            && previous.analysis == ANALYSIS
            && previous.published == self.published
            && previous.distribution == self.distribution
            && previous.orgc.name == self.org_name
            && previous.orgc.uuid == self.org_uuid
            && previous.tags.len() == self.tags.len()
            && previous.tags.iter().zip(&self.tags).all(|(a, b)| a.name == *b)
    }
}

/// `analysis`: 2, completed (the value MISP gives the events of its own feed pulls).
const ANALYSIS: &str = "2";

/// One event as this build writes it.
struct Event<'a> {
    uuid: String,
    head: Head,
    timestamp: i64,
    /// Attributes with their timestamps, sorted by type and value.
    attributes: Vec<(Attr<'a>, i64)>,
}

/// What changed in one output, for the log.
#[derive(Debug, Default)]
struct Changes {
    added: u64,
    updated: u64,
    deleted: u64,
    dropped: u64,
    events_changed: u64,
}

/// A strictly newer timestamp than `previous`, at `now` when that is later.
fn newer(now: i64, previous: i64) -> i64 {
    now.max(previous.saturating_add(1))
}

/// Whether `text` is a calendar date `YYYY-MM-DD`, as MISP validates an event's `date`.
fn is_date(text: &str) -> bool {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    text.len() == 10 && time::Date::parse(text, &format).is_ok()
}

/// Lays out this build's events from the selection and the previous feed.
fn plan<'a>(
    settings: &EventSettings<'_>,
    previous: &'a Previous,
    entries: &'a [Entry<'a>],
    tally: &mut Changes,
) -> Vec<Event<'a>> {
    let now = settings.now;
    let today = date(now);
    let retention = i64::from(settings.retention_days) * 86_400;
    let kept = |a: &PrevAttribute| !a.deleted || now.saturating_sub(a.timestamp) < retention;
    let distribution = settings.distribution.map_or_else(String::new, |_| "5".to_owned());

    // Where each value was: a live attribute wins over a deleted one, then the later one.
    let mut was: HashMap<(&str, &str), (&str, &PrevAttribute)> = HashMap::default();
    for (uuid, event) in &previous.events {
        for attribute in &event.attributes {
            let key = (attribute.kind.as_str(), attribute.value.as_str());
            let better = match was.get(&key) {
                None => true,
                Some((_, other)) => {
                    (other.deleted && !attribute.deleted)
                        || (other.deleted == attribute.deleted
                            && attribute.timestamp > other.timestamp)
                }
            };
            if better {
                was.insert(key, (uuid.as_str(), attribute));
            }
        }
    }

    // Each selected value's event, in (type, value) order, the first entry of a repeated
    // value kept.
    let fixed = settings.event_uuid(None).to_string();
    let today_uuid = settings.event_uuid(Some(&today)).to_string();
    let mut members: BTreeMap<String, Vec<Member<'a>>> = BTreeMap::new();
    let ordered = in_attribute_order(entries);
    if settings.events == EventMode::Fixed {
        members.insert(fixed.clone(), ordered);
    } else {
        for member in ordered {
            let event = match was.get(&(member.kind.as_str(), member.value)) {
                Some((uuid, attribute)) if kept(attribute) => (*uuid).to_owned(),
                _ => today_uuid.clone(),
            };
            members.entry(event).or_default().push(member);
        }
    }
    let uuids: BTreeSet<&str> = members
        .keys()
        .map(String::as_str)
        .chain(previous.events.keys().map(String::as_str))
        .collect();
    let mut events = Vec::new();
    for uuid in uuids {
        let Ok(event_uuid) = Uuid::parse_str(uuid) else { continue };
        let prev = previous.events.get(uuid);
        let prev_attributes: HashMap<(&str, &str), &PrevAttribute> = prev
            .map(|p| {
                p.attributes.iter().map(|a| ((a.kind.as_str(), a.value.as_str()), a)).collect()
            })
            .unwrap_or_default();
        let mut changed = prev.is_none();
        let event_entries = members.get(uuid).map(Vec::as_slice).unwrap_or_default();
        let prev_list = prev.map(|p| p.attributes.as_slice()).unwrap_or_default();
        let mut attributes: Vec<(Attr<'a>, i64)> =
            Vec::with_capacity(event_entries.len() + prev_list.len());
        let mut present: HashSet<(&str, &str)> = HashSet::default();
        let mut sources = BTreeSet::new();
        // The attributes' UUIDs (a SHA-1 each) and tags, made on every thread; their
        // timestamps follow.
        attributes.par_extend(event_entries.par_iter().with_min_len(PARALLEL_CHUNK).map_init(
            Vec::new,
            |name, member| {
                let kind = member.kind.as_str();
                let attr = Attr {
                    uuid: attribute_uuid(&event_uuid, kind, member.value, name),
                    kind,
                    value: member.value,
                    to_ids: member.to_ids,
                    deleted: false,
                    tags: member.feeds.iter().map(|f| Cow::Owned(source_tag(f))).collect(),
                };
                (attr, now)
            },
        ));
        for (member, (attr, timestamp)) in event_entries.iter().zip(&mut attributes) {
            sources.extend(member.feeds.iter().copied());
            if prev.is_none() {
                // A new event: every attribute is new, and none of a previous one is left.
                tally.added += 1;
                continue;
            }
            let (kind, value) = (attr.kind, attr.value);
            present.insert((kind, value));
            *timestamp = match prev_attributes.get(&(kind, value)) {
                Some(p) if attr.same_as(p, &distribution) => p.timestamp,
                Some(p) => {
                    tally.updated += 1;
                    newer(now, p.timestamp)
                }
                None => {
                    tally.added += 1;
                    now
                }
            };
            changed |=
                prev_attributes.get(&(kind, value)).is_none_or(|p| p.timestamp != *timestamp);
        }
        // The selected values are in (type, value) order; the deleted ones after them are not.
        let selected = attributes.len();
        for p in prev_list {
            let key = (p.kind.as_str(), p.value.as_str());
            if present.contains(&key) {
                continue;
            }
            // A value that left the selection, or a deleted attribute still retained; one
            // that moved to another event (by a change of `events`) is deleted here too.
            let kind = AttrType::from_name(&p.kind).map(AttrType::as_str);
            let uuid = Uuid::parse_str(&p.uuid).ok().filter(|u| u.to_string() == p.uuid);
            let (Some(kind), Some(uuid), false) = (kind, uuid, p.value.is_empty()) else {
                tally.dropped += 1;
                changed = true;
                continue;
            };
            if !kept(p) || !present.insert(key) {
                tally.dropped += 1;
                changed = true;
                continue;
            }
            let attr = Attr {
                uuid,
                kind,
                value: p.value.as_str(),
                to_ids: p.to_ids,
                deleted: true,
                tags: p.tags.iter().map(|t| Cow::Borrowed(t.name.as_str())).collect(),
            };
            let timestamp = if attr.same_as(p, &distribution) {
                p.timestamp
            } else {
                tally.deleted += 1;
                changed = true;
                newer(now, p.timestamp)
            };
            attributes.push((attr, timestamp));
        }
        // An event with nothing left leaves the feed, but for the fixed event of a fixed
        // output, which is always there.
        if attributes.is_empty() && (uuid != fixed || settings.events == EventMode::Daily) {
            if prev.is_some() {
                tally.events_changed += 1;
            }
            continue;
        }
        // Each (type, value) is there once, so the unstable sort gives the one order.
        if attributes.len() > selected {
            attributes
                .par_sort_unstable_by(|(a, _), (b, _)| (a.kind, a.value).cmp(&(b.kind, b.value)));
        }

        let day = prev.map(|p| p.date.as_str()).filter(|d| is_date(d)).unwrap_or(&today).to_owned();
        let info = match settings.events {
            EventMode::Fixed if uuid == fixed => settings.info.to_owned(),
            _ => format!("{} {day}", settings.info),
        };
        let mut tags = vec![settings.tlp.to_owned()];
        tags.extend(sources.iter().map(|f| source_tag(f)));
        let head = Head {
            info,
            date: day,
            threat_level_id: settings.threat_level.to_string(),
            published: !attributes.is_empty(),
            distribution: settings.distribution.map_or_else(String::new, |d| d.to_string()),
            org_name: settings.org_name.to_owned(),
            org_uuid: org_uuid(settings.org_name),
            tags,
        };
        let prev_timestamp = prev.map_or(0, |p| p.timestamp);
        changed |= prev.is_some_and(|p| !head.same_as(p) || p.attributes.len() != attributes.len());
        let timestamp = if changed {
            let newest = attributes.iter().map(|(_, t)| *t).max().unwrap_or(now);
            tally.events_changed += 1;
            if prev.is_some() { newer(now, prev_timestamp) } else { now }.max(newest)
        } else {
            prev_timestamp
        };
        events.push(Event { uuid: uuid.to_owned(), head, timestamp, attributes });
    }
    events
}

/// What an event needs of an entry, gathered so that the entries, once sorted, are read
/// in order.
#[derive(Clone, Copy, Debug)]
struct Member<'a> {
    kind: AttrType,
    to_ids: bool,
    value: &'a str,
    feeds: &'a [&'a str],
}

/// The first entry of each (type, value) of `entries`, in the order of the attributes of an
/// event: by type name, then value.
fn in_attribute_order<'a>(entries: &'a [Entry<'a>]) -> Vec<Member<'a>> {
    // The rank of each type in the order of the names.
    const _: () = assert!(AttrType::ALL.len() <= 256);
    let mut by_name = AttrType::ALL.to_vec();
    by_name.sort_unstable_by_key(|kind| kind.as_str());
    let mut rank = [0u8; 256];
    for (at, kind) in by_name.iter().enumerate() {
        rank[*kind as usize] = at as u8;
    }
    // The sort key holds the type's rank and the value's first 15 bytes, padded with zeros
    // and read as numbers, which order as the values do wherever they differ; then come the
    // value and the entry's place. Most comparisons need no read of the value, and the first
    // entry of a repeated value comes first. The entries are read once, in memory order, and
    // what is needed of them moves with the keys.
    let mut keys: Vec<(u64, u64, usize, Member<'a>)> = entries
        .par_iter()
        .enumerate()
        .map(|(at, entry)| {
            let member = Member {
                kind: entry.indicator.kind,
                to_ids: entry.to_ids,
                value: &entry.indicator.value,
                feeds: &entry.feeds,
            };
            let mut head = [0u8; 16];
            head[0] = rank[member.kind as usize];
            let bytes = member.value.as_bytes();
            let len = bytes.len().min(15);
            head[1..=len].copy_from_slice(&bytes[..len]);
            let [high, low] = [&head[..8], &head[8..]]
                .map(|half| u64::from_be_bytes(half.try_into().unwrap_or_default()));
            (high, low, at, member)
        })
        .collect();
    keys.par_sort_unstable_by(|a, b| {
        (a.0, a.1).cmp(&(b.0, b.1)).then_with(|| a.3.value.cmp(b.3.value)).then(a.2.cmp(&b.2))
    });
    keys.dedup_by(|later, first| later.3.kind == first.3.kind && later.3.value == first.3.value);
    keys.into_iter().map(|(_, _, _, member)| member).collect()
}

fn org_uuid(name: &str) -> String {
    Uuid::new_v5(&namespace(), format!("org:{name}").as_bytes()).to_string()
}

#[derive(Serialize)]
struct TagJson<'a> {
    name: &'a str,
    colour: &'static str,
    local: bool,
    relationship_type: &'static str,
}

fn tag(name: &str) -> TagJson<'_> {
    TagJson { name, colour: "#ffffff", local: false, relationship_type: "" }
}

#[derive(Serialize)]
struct OrgJson<'a> {
    name: &'a str,
    uuid: &'a str,
}

/// The event without its attributes, which are streamed after it.
#[derive(Serialize)]
struct EventHead<'a> {
    uuid: &'a str,
    info: &'a str,
    date: &'a str,
    timestamp: String,
    publish_timestamp: String,
    published: bool,
    analysis: &'static str,
    threat_level_id: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    distribution: &'a str,
    extends_uuid: &'static str,
    #[serde(rename = "Orgc")]
    orgc: OrgJson<'a>,
    #[serde(rename = "Tag")]
    tag: Vec<TagJson<'a>>,
}

/// An attribute as MISP reads it; [`attribute_json`] writes the same JSON.
#[cfg(test)]
#[derive(Serialize)]
struct AttributeJson<'a> {
    uuid: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    category: &'static str,
    value: &'a str,
    to_ids: bool,
    timestamp: String,
    #[serde(skip_serializing_if = "str::is_empty")]
    distribution: &'a str,
    comment: &'static str,
    deleted: bool,
    disable_correlation: bool,
    #[serde(rename = "Tag")]
    tag: Vec<TagJson<'a>>,
}

#[derive(Serialize)]
struct ManifestEntryJson<'a> {
    #[serde(rename = "Orgc")]
    orgc: OrgJson<'a>,
    #[serde(rename = "Tag")]
    tag: Vec<TagJson<'a>>,
    info: &'a str,
    date: &'a str,
    analysis: u8,
    threat_level_id: u8,
    timestamp: i64,
}

/// Calls `part` with each value part of an attribute that MISP's feed cache hashes.
fn hashed_parts<'v>(kind: &str, value: &'v str, mut part: impl FnMut(&'v str)) {
    if NOT_CORRELATED.contains(&kind) {
    } else if kind.ends_with("|port") {
        value.split('|').take(1).for_each(part);
    } else if kind.contains('|') || kind == "malware-sample" {
        value.split('|').for_each(part);
    } else {
        part(value);
    }
}

/// Writes the feed folder `dir/relative` for the sorted `entries`, carrying `previous` (the
/// last build's folder, read with [`Previous::read`]) forward.
///
/// Each event file is written as it is made: its attributes are serialized, and their
/// `hashes.csv` lines made, in runs on every thread, and one thread writes the runs in order
/// ([`write_event`]). The reported SHA-256 covers `manifest.json`, each event file in UUID
/// order and `hashes.csv`.
pub fn write(
    dir: &Path,
    relative: &str,
    previous: &Previous,
    settings: &EventSettings<'_>,
    entries: &[Entry<'_>],
) -> Result<OutputReport, ExportError> {
    let mut changes = Changes::default();
    let events = plan(settings, previous, entries, &mut changes);
    let distribution = settings.distribution.map_or("", |_| "5");

    let folder = dir.join(relative);
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| ExportError::Io { path, source }
    };
    std::fs::create_dir_all(&folder).map_err(io(&folder))?;

    let mut manifest = BTreeMap::new();
    for event in &events {
        let head = &event.head;
        manifest.insert(
            event.uuid.as_str(),
            ManifestEntryJson {
                orgc: OrgJson { name: &head.org_name, uuid: &head.org_uuid },
                tag: head.tags.iter().map(|t| tag(t)).collect(),
                info: &head.info,
                date: &head.date,
                analysis: 2,
                threat_level_id: settings.threat_level,
                timestamp: event.timestamp,
            },
        );
    }
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    manifest_bytes.push(b'\n');
    drop(manifest);

    let hashes_path = folder.join(HASHES);
    let hashes_file = std::fs::File::create(&hashes_path).map_err(io(&hashes_path))?;
    let mut hashes = CountingWriter { file: hashes_file, bytes: 0 };

    let mut event_digests = Vec::with_capacity(events.len());
    let mut event_bytes = 0;
    let mut written = 0;
    for event in &events {
        let head = &event.head;
        let json = EventHead {
            uuid: &event.uuid,
            info: &head.info,
            date: &head.date,
            timestamp: event.timestamp.to_string(),
            publish_timestamp: event.timestamp.to_string(),
            published: head.published,
            analysis: ANALYSIS,
            threat_level_id: &head.threat_level_id,
            distribution: &head.distribution,
            extends_uuid: "",
            orgc: OrgJson { name: &head.org_name, uuid: &head.org_uuid },
            tag: head.tags.iter().map(|t| tag(t)).collect(),
        };
        let head_json = serde_json::to_string(&json).unwrap_or_default();
        let head_open = head_json.strip_suffix('}').unwrap_or(&head_json);
        let path = folder.join(format!("{}.json", event.uuid));
        let file = HashingWriter::create(&path).map_err(io(&path))?;
        let out = EventOut { file, hashes: &mut hashes };
        let made = write_event(out, head_open, &event.attributes, distribution, &event.uuid);
        let (bytes, digest, count) = made.map_err(|e| ExportError::Io {
            path: if e.hashes { hashes_path.clone() } else { path.clone() },
            source: e.source,
        })?;
        written += count;
        event_bytes += bytes;
        event_digests.push(digest);
    }
    let hashes_bytes = hashes.bytes;
    hashes.file.flush().map_err(io(&hashes_path))?;
    drop(hashes);
    write_file(&folder.join(MANIFEST), &manifest_bytes)?;
    tracing::debug!(
        output = relative,
        events = events.len(),
        events_changed = changes.events_changed,
        added = changes.added,
        updated = changes.updated,
        deleted = changes.deleted,
        dropped = changes.dropped,
        "MISP feed written"
    );

    let mut digest = Sha256::new();
    digest.update(&manifest_bytes);
    for event in &event_digests {
        digest.update(event);
    }
    // `hashes.csv` is read back rather than kept: it was written run by run.
    let read_back = std::fs::File::open(&hashes_path).and_then(|file| {
        let mut read = 0;
        let mut buffer = vec![0; WRITE_BLOCK * 4];
        let mut file = file.take(hashes_bytes);
        loop {
            let n = file.read(&mut buffer)?;
            if n == 0 {
                break;
            }
            digest.update(&buffer[..n]);
            read += n as u64;
        }
        Ok(read)
    });
    match read_back {
        Ok(read) if read == hashes_bytes => {}
        Ok(_) => {
            let error = std::io::Error::other("changed while it was written");
            return Err(io(&hashes_path)(error));
        }
        Err(e) => return Err(io(&hashes_path)(e)),
    }
    let mut report = file_report(relative, OutputFormat::MispFeed, written, 0, &manifest_bytes);
    report.sha256 = hex::encode(digest.finalize());
    report.bytes = manifest_bytes.len() as u64 + event_bytes + hashes_bytes;
    Ok(report)
}

/// How many attributes one thread makes, serializes or hashes at a time.
const PARALLEL_CHUNK: usize = 2048;

/// A file writer that counts what it writes.
struct CountingWriter {
    file: std::fs::File,
    bytes: u64,
}

/// Where an event goes: its file, and `hashes.csv`, which receives the runs' lines as the
/// runs are written.
struct EventOut<'h> {
    file: HashingWriter,
    hashes: &'h mut CountingWriter,
}

/// A write that failed, and whether it was one of `hashes.csv`.
struct EventError {
    hashes: bool,
    source: std::io::Error,
}

impl EventOut<'_> {
    /// Writes a run's JSON to the event file and its lines to `hashes.csv`.
    fn put(&mut self, run: &RunOut) -> Result<(), EventError> {
        self.file.write_all(&run.json).map_err(|source| EventError { hashes: false, source })?;
        self.hashes
            .file
            .write_all(&run.hashes)
            .map_err(|source| EventError { hashes: true, source })?;
        self.hashes.bytes += run.hashes.len() as u64;
        Ok(())
    }
}

/// A run of attributes, serialized: its JSON and its `hashes.csv` lines.
#[derive(Default)]
struct RunOut {
    json: Vec<u8>,
    hashes: Vec<u8>,
}

/// Writes one event file: `head_open` (the event's JSON without its closing brace), then its
/// attributes, run by run. The runs are serialized on every thread while this thread's helper
/// writes the finished ones in order; a few buffers go round between them, so that neither
/// the file nor `hashes.csv` is ever held in memory whole. Returns the file's size and
/// SHA-256 and how many attributes are not deleted.
fn write_event(
    mut out: EventOut<'_>,
    head_open: &str,
    attributes: &[(Attr<'_>, i64)],
    distribution: &str,
    event: &str,
) -> Result<(u64, [u8; 32], u64), EventError> {
    let file_error = |source| EventError { hashes: false, source };
    write!(out.file, "{{\"Event\":{head_open},\"Attribute\":[").map_err(file_error)?;
    let runs: Vec<&[(Attr<'_>, i64)]> = attributes.chunks(PARALLEL_CHUNK).collect();
    let mut written = 0;
    if runs.len() < 2 || rayon::current_num_threads() < 2 {
        let mut buffer = RunOut::default();
        for (i, run) in runs.into_iter().enumerate() {
            written += piece(i == 0, run, distribution, event, &mut buffer);
            out.put(&buffer)?;
        }
    } else {
        written = write_runs(&mut out, &runs, distribution, event)?;
    }
    out.file.write_all(b"\n]}}\n").map_err(file_error)?;
    let (bytes, digest) = out.file.finish().map_err(file_error)?;
    Ok((bytes, digest, written))
}

/// The serialized runs of [`write_event`], made on every thread and written in order by a
/// writer thread.
///
/// A thread making a run first takes a free buffer, then the next run: runs are taken in
/// order, and every run taken is being made by a thread that holds a buffer and no lock, so
/// the writer always gets the run it waits for. The writer gives each buffer back once its run
/// is written, and stops on an error, which ends the makers' waits for buffers.
fn write_runs(
    out: &mut EventOut<'_>,
    runs: &[&[(Attr<'_>, i64)]],
    distribution: &str,
    event: &str,
) -> Result<u64, EventError> {
    use std::sync::atomic::{AtomicU64, Ordering};
    use std::sync::{Mutex, mpsc};

    let count = runs.len();
    let threads = rayon::current_num_threads();
    let written = AtomicU64::new(0);
    let queue = Mutex::new(runs.iter().enumerate());
    std::thread::scope(|scope| {
        let (free_tx, free_rx) = mpsc::channel::<RunOut>();
        for _ in 0..threads * 2 + 2 {
            let _ = free_tx.send(RunOut::default());
        }
        let free_rx = Mutex::new(free_rx);
        // `None`: the run could not be made (a panic, which only a bug can cause); the writer
        // stops with an error rather than wait for it, which ends every other wait.
        let (done_tx, done_rx) = mpsc::channel::<(usize, Option<RunOut>)>();
        let writer = scope.spawn(move || -> Result<(), EventError> {
            // The buffers come back through `free_tx`, which ends with this thread.
            let mut waiting = BTreeMap::new();
            let mut next = 0;
            while next < count {
                let Ok((index, run)) = done_rx.recv() else { break };
                let Some(run) = run else {
                    let why = "an event's attributes could not be serialized (a bug in feedsmith)";
                    return Err(EventError { hashes: false, source: std::io::Error::other(why) });
                };
                waiting.insert(index, run);
                while let Some(run) = waiting.remove(&next) {
                    out.put(&run)?;
                    let _ = free_tx.send(run);
                    next += 1;
                }
            }
            Ok(())
        });
        (0..threads).into_par_iter().for_each(|_| {
            loop {
                let buffer = free_rx.lock().map_or(None, |free| free.recv().ok());
                let Some(mut buffer) = buffer else { return };
                let taken = queue.lock().map_or(None, |mut queue| queue.next());
                let Some((index, run)) = taken else { return };
                let made = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    piece(index == 0, run, distribution, event, &mut buffer)
                }));
                let sent = match made {
                    Ok(count) => {
                        written.fetch_add(count, Ordering::Relaxed);
                        done_tx.send((index, Some(buffer)))
                    }
                    Err(_) => done_tx.send((index, None)),
                };
                if sent.is_err() {
                    return;
                }
            }
        });
        drop(done_tx);
        writer.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
    })?;
    Ok(written.into_inner())
}

/// Serializes a run of an event's attributes into `out`, replacing what it held: their
/// JSON, and the `hashes.csv` lines of those not deleted; `first` says that the run starts
/// the event's list. Returns how many are not deleted.
///
/// The JSON is what `serde_json` writes for an attribute (the tests hold it to that), put
/// together here from its fixed parts: serializing each key and value of the many
/// attributes of a large feed was a tenth of its conversion.
fn piece(
    first: bool,
    attributes: &[(Attr<'_>, i64)],
    distribution: &str,
    event: &str,
    out: &mut RunOut,
) -> u64 {
    out.json.clear();
    out.hashes.clear();
    out.json.reserve(attributes.len() * 256);
    let mut written = 0;
    let mut time = (None, String::new());
    for (i, (attr, timestamp)) in attributes.iter().enumerate() {
        out.json.extend_from_slice(if first && i == 0 { b"\n" } else { b",\n" });
        if time.0 != Some(*timestamp) {
            time = (Some(*timestamp), timestamp.to_string());
        }
        attribute_json(&mut out.json, attr, &time.1, distribution);
        if attr.deleted {
            continue;
        }
        written += 1;
        hashed_parts(attr.kind, attr.value, |part| {
            let mut md5 = [0; 32];
            // Encoding 16 bytes into 32 cannot fail.
            let _ = hex::encode_to_slice(Md5::digest(part.as_bytes()), &mut md5);
            out.hashes.extend_from_slice(&md5);
            out.hashes.push(b',');
            out.hashes.extend_from_slice(event.as_bytes());
            out.hashes.push(b'\n');
        });
    }
    written
}

/// Appends the JSON of one attribute, as `serde_json` writes its [`AttributeJson`]:
/// `timestamp` is its timestamp as text.
fn attribute_json(out: &mut Vec<u8>, attr: &Attr<'_>, timestamp: &str, distribution: &str) {
    debug_assert!(distribution.is_empty() || distribution == "5");
    let mut uuid = Uuid::encode_buffer();
    out.extend_from_slice(b"{\"uuid\":");
    quoted(out, attr.uuid.hyphenated().encode_lower(&mut uuid));
    out.extend_from_slice(b",\"type\":");
    quoted(out, attr.kind);
    out.extend_from_slice(b",\"category\":");
    quoted(out, attr.category());
    out.extend_from_slice(b",\"value\":");
    json_string(out, attr.value);
    out.extend_from_slice(b",\"to_ids\":");
    out.extend_from_slice(if attr.to_ids { b"true" } else { b"false" });
    out.extend_from_slice(b",\"timestamp\":");
    quoted(out, timestamp);
    if !distribution.is_empty() {
        out.extend_from_slice(b",\"distribution\":");
        quoted(out, distribution);
    }
    out.extend_from_slice(b",\"comment\":\"\",\"deleted\":");
    out.extend_from_slice(if attr.deleted { b"true" } else { b"false" });
    out.extend_from_slice(b",\"disable_correlation\":false,\"Tag\":[");
    for (i, name) in attr.tags.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(b"{\"name\":");
        json_string(out, name);
        out.extend_from_slice(
            b",\"colour\":\"#ffffff\",\"local\":false,\"relationship_type\":\"\"}",
        );
    }
    out.extend_from_slice(b"]}");
}

/// Appends `text` between quotes: the JSON string of a text that holds nothing to escape (a
/// UUID, a number, a type or category name of the table, which the tests check).
fn quoted(out: &mut Vec<u8>, text: &str) {
    out.push(b'"');
    out.extend_from_slice(text.as_bytes());
    out.push(b'"');
}

/// Appends `text` as a JSON string: as is between quotes when it holds nothing `serde_json`
/// escapes (a quote, a backslash, a control character below U+0020), else as `serde_json`
/// writes it.
fn json_string(out: &mut Vec<u8>, text: &str) {
    if text.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\') {
        // Serializing a string into a vector cannot fail.
        let _ = serde_json::to_writer(&mut *out, text);
    } else {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    }
}

/// A buffered file writer that counts and hashes what it writes, a block at a time: hashing
/// each of the many small writes of a serializer on its own cost more than the hashing.
struct HashingWriter {
    file: std::fs::File,
    buffer: Vec<u8>,
    bytes: u64,
    hasher: Sha256,
}

/// The size of the blocks [`HashingWriter`] hashes and writes.
const WRITE_BLOCK: usize = 1 << 16;

impl HashingWriter {
    fn create(path: &Path) -> std::io::Result<HashingWriter> {
        let file = std::fs::File::create(path)?;
        Ok(HashingWriter {
            file,
            buffer: Vec::with_capacity(WRITE_BLOCK * 2),
            bytes: 0,
            hasher: Sha256::new(),
        })
    }

    /// Hashes and writes what is buffered.
    fn drain(&mut self) -> std::io::Result<()> {
        self.hasher.update(&self.buffer);
        self.file.write_all(&self.buffer)?;
        self.buffer.clear();
        Ok(())
    }

    /// Flushes and returns the size and the SHA-256 of everything written.
    fn finish(mut self) -> std::io::Result<(u64, [u8; 32])> {
        self.drain()?;
        self.file.flush()?;
        Ok((self.bytes, self.hasher.finalize().into()))
    }
}

impl std::io::Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.bytes += buf.len() as u64;
        if buf.len() >= WRITE_BLOCK {
            // A block of its own: hashed and written without a copy.
            self.drain()?;
            self.hasher.update(buf);
            self.file.write_all(buf)?;
            return Ok(buf.len());
        }
        self.buffer.extend_from_slice(buf);
        if self.buffer.len() >= WRITE_BLOCK {
            self.drain()?;
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.drain()?;
        self.file.flush()
    }
}

#[cfg(test)]
mod tests;
