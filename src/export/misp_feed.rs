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
use std::fmt::Write as _;
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

/// The UUID of the attribute of type `kind` and `value` in event `event`.
fn attribute_uuid(event: &Uuid, kind: &str, value: &str) -> String {
    Uuid::new_v5(event, format!("{kind}|{value}").as_bytes()).to_string()
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
    uuid: Cow<'a, str>,
    kind: &'static str,
    value: Cow<'a, str>,
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
        previous.uuid == self.uuid
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

    // Each selected value's event.
    let fixed = settings.event_uuid(None).to_string();
    let today_uuid = settings.event_uuid(Some(&today)).to_string();
    let mut members: BTreeMap<String, Vec<&Entry<'a>>> = BTreeMap::new();
    let mut seen: HashSet<(&str, &str)> = HashSet::default();
    for entry in entries {
        let (kind, value) = (entry.indicator.kind.as_str(), &*entry.indicator.value);
        if !seen.insert((kind, value)) {
            continue;
        }
        let event = match settings.events {
            EventMode::Fixed => fixed.clone(),
            EventMode::Daily => match was.get(&(kind, value)) {
                Some((uuid, attribute)) if kept(attribute) => (*uuid).to_owned(),
                _ => today_uuid.clone(),
            },
        };
        members.entry(event).or_default().push(entry);
    }
    if settings.events == EventMode::Fixed {
        members.entry(fixed.clone()).or_default();
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
        let mut attributes: Vec<(Attr<'a>, i64)> = Vec::new();
        let mut present: HashSet<(&str, &str)> = HashSet::default();
        let mut sources = BTreeSet::new();
        let event_entries = members.get(uuid).map(Vec::as_slice).unwrap_or_default();
        // The attributes' UUIDs (a SHA-1 each) and tags, made on every thread.
        let made: Vec<Attr<'a>> = event_entries
            .par_iter()
            .with_min_len(PARALLEL_CHUNK)
            .map(|entry| Attr {
                uuid: Cow::Owned(attribute_uuid(
                    &event_uuid,
                    entry.indicator.kind.as_str(),
                    &entry.indicator.value,
                )),
                kind: entry.indicator.kind.as_str(),
                value: Cow::Borrowed(&*entry.indicator.value),
                to_ids: entry.to_ids,
                deleted: false,
                tags: entry.feeds.iter().map(|f| Cow::Owned(source_tag(f))).collect(),
            })
            .collect();
        for (entry, attr) in event_entries.iter().zip(made) {
            let (kind, value) = (attr.kind, &*entry.indicator.value);
            present.insert((kind, value));
            sources.extend(entry.feeds.iter().copied());
            let timestamp = match prev_attributes.get(&(kind, value)) {
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
            changed |= prev_attributes.get(&(kind, value)).is_none_or(|p| p.timestamp != timestamp);
            attributes.push((attr, timestamp));
        }
        for p in prev.map(|p| p.attributes.as_slice()).unwrap_or_default() {
            let key = (p.kind.as_str(), p.value.as_str());
            if present.contains(&key) {
                continue;
            }
            // A value that left the selection, or a deleted attribute still retained; one
            // that moved to another event (by a change of `events`) is deleted here too.
            let kind = AttrType::from_name(&p.kind).map(AttrType::as_str);
            let uuid = Uuid::parse_str(&p.uuid).ok().filter(|u| u.to_string() == p.uuid);
            let (Some(kind), Some(_), false) = (kind, uuid, p.value.is_empty()) else {
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
                uuid: Cow::Borrowed(p.uuid.as_str()),
                kind,
                value: Cow::Borrowed(p.value.as_str()),
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
        attributes
            .par_sort_unstable_by(|(a, _), (b, _)| (a.kind, &a.value).cmp(&(b.kind, &b.value)));

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

/// The value parts of an attribute that MISP's feed cache hashes.
fn hashed_parts<'v>(kind: &str, value: &'v str) -> Vec<&'v str> {
    if NOT_CORRELATED.contains(&kind) {
        Vec::new()
    } else if kind.ends_with("|port") {
        value.split('|').take(1).collect()
    } else if kind.contains('|') || kind == "malware-sample" {
        value.split('|').collect()
    } else {
        vec![value]
    }
}

/// Writes the feed folder `dir/relative` for the sorted `entries`, carrying `previous` (the
/// last build's folder, read with [`Previous::read`]) forward.
///
/// Event files are streamed, one attribute at a time. The reported SHA-256 covers
/// `manifest.json`, each event file in UUID order and `hashes.csv`.
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
    let mut hashes = String::new();
    let mut event_digests = Vec::with_capacity(events.len());
    let mut event_bytes = 0;
    let mut written = 0;
    for event in &events {
        let head = &event.head;
        let orgc = || OrgJson { name: &head.org_name, uuid: &head.org_uuid };
        let tags = || head.tags.iter().map(|t| tag(t)).collect::<Vec<_>>();
        manifest.insert(
            event.uuid.as_str(),
            ManifestEntryJson {
                orgc: orgc(),
                tag: tags(),
                info: &head.info,
                date: &head.date,
                analysis: 2,
                threat_level_id: settings.threat_level,
                timestamp: event.timestamp,
            },
        );
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
            orgc: orgc(),
            tag: tags(),
        };
        let head_json = serde_json::to_string(&json).unwrap_or_default();
        let head_open = head_json.strip_suffix('}').unwrap_or(&head_json);
        let path = folder.join(format!("{}.json", event.uuid));
        let mut file = HashingWriter::create(&path).map_err(io(&path))?;
        // The attributes are serialized, and their hashes computed, in chunks on every
        // thread, then written in order.
        let pieces: Vec<Piece> = event
            .attributes
            .par_chunks(PARALLEL_CHUNK)
            .enumerate()
            .map(|(chunk, attributes)| piece(chunk == 0, attributes, distribution, &event.uuid))
            .collect();
        let write_event = || -> std::io::Result<()> {
            write!(file, "{{\"Event\":{head_open},\"Attribute\":[")?;
            for piece in pieces {
                file.write_all(&piece.json)?;
                hashes.push_str(&piece.hashes);
                written += piece.written;
            }
            file.write_all(b"\n]}}\n")
        };
        write_event().map_err(io(&path))?;
        let (bytes, digest) = file.finish().map_err(io(&path))?;
        event_bytes += bytes;
        event_digests.push(digest);
    }
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    manifest_bytes.push(b'\n');
    write_file(&folder.join(MANIFEST), &manifest_bytes)?;
    write_file(&folder.join(HASHES), hashes.as_bytes())?;
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
    digest.update(hashes.as_bytes());
    let mut report = file_report(relative, OutputFormat::MispFeed, written, 0, &manifest_bytes);
    report.sha256 = hex::encode(digest.finalize());
    report.bytes = manifest_bytes.len() as u64 + event_bytes + hashes.len() as u64;
    Ok(report)
}

/// How many attributes one thread makes, serializes or hashes at a time.
const PARALLEL_CHUNK: usize = 2048;

/// A run of an event's attributes, serialized.
struct Piece {
    /// The attributes' JSON, each after a `,\n` (the event's first one after a `\n`).
    json: Vec<u8>,
    /// The `hashes.csv` lines of those not deleted.
    hashes: String,
    /// How many are not deleted.
    written: u64,
}

/// Serializes a run of an event's attributes; `first` says that it starts the event's list.
fn piece(first: bool, attributes: &[(Attr<'_>, i64)], distribution: &str, event: &str) -> Piece {
    let mut out = Piece {
        json: Vec::with_capacity(attributes.len() * 256),
        hashes: String::new(),
        written: 0,
    };
    for (i, (attr, timestamp)) in attributes.iter().enumerate() {
        let attribute = AttributeJson {
            uuid: &attr.uuid,
            kind: attr.kind,
            category: attr.category(),
            value: &attr.value,
            to_ids: attr.to_ids,
            timestamp: timestamp.to_string(),
            distribution,
            comment: "",
            deleted: attr.deleted,
            disable_correlation: false,
            tag: attr.tags.iter().map(|t| tag(t)).collect(),
        };
        out.json.extend_from_slice(if first && i == 0 { b"\n" } else { b",\n" });
        // Serializing into a vector cannot fail: every field is text, a number or a flag.
        let _ = serde_json::to_writer(&mut out.json, &attribute);
        if attr.deleted {
            continue;
        }
        out.written += 1;
        for part in hashed_parts(attr.kind, &attr.value) {
            let md5 = hex::encode(Md5::digest(part.as_bytes()));
            let _ = writeln!(out.hashes, "{md5},{event}");
        }
    }
    out
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
        self.buffer.extend_from_slice(buf);
        self.bytes += buf.len() as u64;
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
