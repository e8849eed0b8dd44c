//! The `misp-feed` format: a folder a MISP instance subscribes to.
//!
//! The folder holds `manifest.json` (an object keyed by event UUID), one `<uuid>.json` event
//! file and `hashes.csv`, as described in `misp/feed-format.md` and as `PyMISP`'s `to_feed`
//! writes them:
//!
//! - UUIDs are stable: the event's comes from the task id and output path, each attribute's
//!   from the event UUID, its type and its value (UUID version 5), so a consumer merges rather than
//!   duplicates across builds.
//! - An attribute's `timestamp` is the time the indicator was last seen, and the event's is
//!   the newest of them, so timestamps move only when the content does.
//! - An event without attributes is written unpublished, since MISP refuses a published
//!   empty event.
//! - `hashes.csv` has one `md5(value part),event uuid` line per value part, skipping the port
//!   of `|port` types as MISP's own cache does.

use std::fmt::Write as _;
use std::path::Path;

use std::io::Write as _;

use md5::{Digest as _, Md5};
use serde::Serialize;
use sha2::Sha256;

use uuid::Uuid;

use super::{Entry, ExportError, date, file_report, write_file};
use crate::config::OutputFormat;
use crate::report::OutputReport;

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
    /// The event's `info`.
    pub info: &'a str,
    /// The creator organisation's name.
    pub org_name: &'a str,
    /// `threat_level_id`, 1..=4.
    pub threat_level: u8,
    /// The TLP tag of the event.
    pub tlp: &'a str,
    /// Build time, Unix seconds: the event date, and its timestamp when it is empty.
    pub now: i64,
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
    date: String,
    timestamp: String,
    publish_timestamp: String,
    published: bool,
    analysis: &'static str,
    threat_level_id: String,
    extends_uuid: &'static str,
    #[serde(rename = "Orgc")]
    orgc: OrgJson<'a>,
    #[serde(rename = "Tag")]
    tag: [TagJson<'a>; 1],
}

#[derive(Serialize)]
struct AttributeJson<'a> {
    uuid: String,
    #[serde(rename = "type")]
    kind: &'static str,
    category: &'static str,
    value: &'a str,
    to_ids: bool,
    timestamp: String,
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
    tag: [TagJson<'a>; 1],
    info: &'a str,
    date: String,
    analysis: u8,
    threat_level_id: u8,
    timestamp: i64,
}

/// Writes the feed folder `dir/relative` for the sorted `entries`.
///
/// The event file is streamed, one attribute at a time, so that memory stays flat however
/// many indicators the task selects. The reported SHA-256 covers `manifest.json`, the event
/// file and `hashes.csv`, in that order.
pub fn write(
    dir: &Path,
    relative: &str,
    settings: &EventSettings<'_>,
    entries: &[Entry<'_>],
) -> Result<OutputReport, ExportError> {
    let ns = namespace();
    let event_uuid =
        Uuid::new_v5(&ns, format!("event:{}:{}", settings.task_id, settings.path).as_bytes());
    let event_id = event_uuid.to_string();
    let org_uuid = Uuid::new_v5(&ns, format!("org:{}", settings.org_name).as_bytes()).to_string();
    let timestamp =
        entries.iter().map(|e| e.reference_time.min(settings.now)).max().unwrap_or(settings.now);
    let orgc = || OrgJson { name: settings.org_name, uuid: &org_uuid };

    let folder = dir.join(relative);
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| ExportError::Io { path, source }
    };
    std::fs::create_dir_all(&folder).map_err(io(&folder))?;

    // manifest.json
    let manifest_entry = ManifestEntryJson {
        orgc: orgc(),
        tag: [tag(settings.tlp)],
        info: settings.info,
        date: date(settings.now),
        analysis: 2,
        threat_level_id: settings.threat_level,
        timestamp,
    };
    let mut manifest = std::collections::BTreeMap::new();
    manifest.insert(event_id.as_str(), manifest_entry);
    let mut manifest_bytes = serde_json::to_vec_pretty(&manifest).unwrap_or_default();
    manifest_bytes.push(b'\n');
    write_file(&folder.join("manifest.json"), &manifest_bytes)?;

    // <uuid>.json, streamed; hashes.csv beside it.
    let event_path = folder.join(format!("{event_id}.json"));
    let mut event = HashingWriter::create(&event_path).map_err(io(&event_path))?;
    let mut hashes = String::new();
    let head = EventHead {
        uuid: &event_id,
        info: settings.info,
        date: date(settings.now),
        timestamp: timestamp.to_string(),
        publish_timestamp: timestamp.to_string(),
        published: !entries.is_empty(),
        analysis: "2",
        threat_level_id: settings.threat_level.to_string(),
        extends_uuid: "",
        orgc: orgc(),
        tag: [tag(settings.tlp)],
    };
    let head_json = serde_json::to_string(&head).unwrap_or_default();
    let head_open = head_json.strip_suffix('}').unwrap_or(&head_json);
    let mut write_event = || -> std::io::Result<()> {
        write!(event, "{{\"Event\":{head_open},\"Attribute\":[")?;
        for (i, entry) in entries.iter().enumerate() {
            let kind = entry.indicator.kind;
            let value = &*entry.indicator.value;
            let source_tags: Vec<String> =
                entry.feeds.iter().map(|f| format!("feedsmith:source=\"{f}\"")).collect();
            let attribute = AttributeJson {
                uuid: Uuid::new_v5(&event_uuid, format!("{}|{value}", kind.as_str()).as_bytes())
                    .to_string(),
                kind: kind.as_str(),
                category: kind.default_category(),
                value,
                to_ids: entry.to_ids,
                timestamp: entry.reference_time.min(settings.now).to_string(),
                comment: "",
                deleted: false,
                disable_correlation: false,
                tag: source_tags.iter().map(|t| tag(t)).collect(),
            };
            event.write_all(if i == 0 { b"\n" } else { b",\n" })?;
            serde_json::to_writer(&mut event, &attribute).map_err(std::io::Error::other)?;
            let parts: Vec<&str> = if kind.has_port() {
                value.split('|').take(1).collect()
            } else if kind.is_composite() {
                value.split('|').collect()
            } else {
                vec![value]
            };
            for part in parts {
                let _ =
                    writeln!(hashes, "{},{event_id}", hex::encode(Md5::digest(part.as_bytes())));
            }
        }
        event.write_all(b"\n]}}\n")
    };
    write_event().map_err(io(&event_path))?;
    let (event_bytes, event_digest) = event.finish().map_err(io(&event_path))?;
    write_file(&folder.join("hashes.csv"), hashes.as_bytes())?;

    let mut digest = Sha256::new();
    digest.update(&manifest_bytes);
    digest.update(event_digest);
    digest.update(hashes.as_bytes());
    let mut report =
        file_report(relative, OutputFormat::MispFeed, entries.len() as u64, 0, &manifest_bytes);
    report.sha256 = hex::encode(digest.finalize());
    report.bytes = manifest_bytes.len() as u64 + event_bytes + hashes.len() as u64;
    Ok(report)
}

/// A buffered file writer that counts and hashes what it writes.
struct HashingWriter {
    file: std::io::BufWriter<std::fs::File>,
    bytes: u64,
    hasher: Sha256,
}

impl HashingWriter {
    fn create(path: &Path) -> std::io::Result<HashingWriter> {
        let file = std::io::BufWriter::new(std::fs::File::create(path)?);
        Ok(HashingWriter { file, bytes: 0, hasher: Sha256::new() })
    }

    /// Flushes and returns the size and the SHA-256 of everything written.
    fn finish(mut self) -> std::io::Result<(u64, [u8; 32])> {
        self.file.flush()?;
        Ok((self.bytes, self.hasher.finalize().into()))
    }
}

impl std::io::Write for HashingWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.file.write(buf)?;
        self.hasher.update(&buf[..written]);
        self.bytes += written as u64;
        Ok(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.file.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use serde_json::{Value, json};

    use super::*;
    use crate::indicator::{AttrType, Indicator};

    fn settings() -> EventSettings<'static> {
        EventSettings {
            task_id: "c2",
            path: "misp/c2",
            info: "C2 <test>",
            org_name: "Example",
            threat_level: 4,
            tlp: "tlp:clear",
            now: 1_787_443_200,
        }
    }

    #[test]
    fn manifest_is_keyed_by_the_event_uuid_and_hashes_follow_misp() {
        let dir = tempfile::tempdir().unwrap();
        let ip = Indicator::new(AttrType::IpDstPort, "198.51.100.7|443");
        let url = Indicator::new(AttrType::Url, "http://bad.example.com/gate.php");
        let entries = [
            Entry {
                indicator: Cow::Borrowed(&ip),
                to_ids: true,
                score: None,
                reference_time: 100,
                feeds: vec!["a"],
            },
            Entry {
                indicator: Cow::Borrowed(&url),
                to_ids: true,
                score: None,
                reference_time: 200,
                feeds: vec!["b"],
            },
        ];
        write(dir.path(), "misp/c2", &settings(), &entries).unwrap();
        let folder = dir.path().join("misp/c2");
        let manifest: Value =
            serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).unwrap()).unwrap();
        let (key, summary) = manifest.as_object().unwrap().iter().next().unwrap();
        let event: Value =
            serde_json::from_slice(&std::fs::read(folder.join(format!("{key}.json"))).unwrap())
                .unwrap();
        assert_eq!(event["Event"]["uuid"], Value::String(key.clone()));
        assert_eq!(summary["timestamp"], json!(200));
        assert_eq!(event["Event"]["timestamp"], json!("200"));
        // The port of an ip-dst|port value is not hashed; md5 values from feed-format.md §4.
        let hashes = std::fs::read_to_string(folder.join("hashes.csv")).unwrap();
        assert_eq!(
            hashes,
            format!(
                "526291673f8700ef4e4902e29550a03b,{key}\n5b005e144e975cf97c903a6fa278eea4,{key}\n"
            )
        );
    }

    #[test]
    fn uuids_are_stable_and_empty_events_are_not_published() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        write(a.path(), "m", &settings(), &[]).unwrap();
        write(b.path(), "m", &settings(), &[]).unwrap();
        let read = |d: &Path| std::fs::read(d.join("m/manifest.json")).unwrap();
        assert_eq!(read(a.path()), read(b.path()));
        let manifest: Value = serde_json::from_slice(&read(a.path())).unwrap();
        let key = manifest.as_object().unwrap().keys().next().unwrap().clone();
        let event: Value =
            serde_json::from_slice(&std::fs::read(a.path().join(format!("m/{key}.json"))).unwrap())
                .unwrap();
        assert_eq!(event["Event"]["published"], json!(false));
        assert_eq!(Uuid::parse_str(&key).unwrap().get_version_num(), 5);
    }
}
