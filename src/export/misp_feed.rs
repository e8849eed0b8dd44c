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

use md5::{Digest as _, Md5};
use serde::Serialize;
use serde_json::{Value, json};
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

/// Writes the feed folder `dir/relative` for the sorted `entries`.
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

    let source_tags: Vec<Vec<String>> = entries
        .iter()
        .map(|e| e.feeds.iter().map(|f| format!("feedsmith:source=\"{f}\"")).collect())
        .collect();
    let mut attributes = Vec::with_capacity(entries.len());
    let mut hashes = String::new();
    let mut newest = i64::MIN;
    for (entry, tags) in entries.iter().zip(&source_tags) {
        let kind = entry.indicator.kind;
        let value = &*entry.indicator.value;
        let attribute_uuid =
            Uuid::new_v5(&event_uuid, format!("{}|{value}", kind.as_str()).as_bytes());
        let timestamp = entry.reference_time.min(settings.now);
        newest = newest.max(timestamp);
        attributes.push(json!({
            "uuid": attribute_uuid.to_string(),
            "type": kind.as_str(),
            "category": kind.default_category(),
            "value": value,
            "to_ids": entry.to_ids,
            "timestamp": timestamp.to_string(),
            "comment": "",
            "deleted": false,
            "disable_correlation": false,
            "Tag": tags.iter().map(|t| tag(t)).collect::<Vec<_>>(),
        }));
        let parts: Vec<&str> = if kind.has_port() {
            value.split('|').take(1).collect()
        } else if kind.is_composite() {
            value.split('|').collect()
        } else {
            vec![value]
        };
        for part in parts {
            let _ = writeln!(hashes, "{},{event_id}", hex::encode(Md5::digest(part.as_bytes())));
        }
    }
    let timestamp = if attributes.is_empty() { settings.now } else { newest };
    let event_tags = [tag(settings.tlp)];
    let event = json!({
        "Event": {
            "uuid": event_id,
            "info": settings.info,
            "date": date(settings.now),
            "timestamp": timestamp.to_string(),
            "publish_timestamp": timestamp.to_string(),
            "published": !attributes.is_empty(),
            "analysis": "2",
            "threat_level_id": settings.threat_level.to_string(),
            "extends_uuid": "",
            "Orgc": { "name": settings.org_name, "uuid": org_uuid },
            "Tag": event_tags,
            "Attribute": attributes,
        }
    });
    let manifest: Value = json!({
        event_id.clone(): {
            "Orgc": { "name": settings.org_name, "uuid": org_uuid },
            "Tag": event_tags,
            "info": settings.info,
            "date": date(settings.now),
            "analysis": 2,
            "threat_level_id": settings.threat_level,
            "timestamp": timestamp,
        }
    });

    let folder = dir.join(relative);
    let event_bytes = to_json(&event);
    let manifest_bytes = to_json(&manifest);
    write_file(&folder.join(format!("{event_id}.json")), &event_bytes)?;
    write_file(&folder.join("manifest.json"), &manifest_bytes)?;
    write_file(&folder.join("hashes.csv"), hashes.as_bytes())?;
    let mut report =
        file_report(relative, OutputFormat::MispFeed, entries.len() as u64, 0, &manifest_bytes);
    report.bytes = (event_bytes.len() + manifest_bytes.len() + hashes.len()) as u64;
    Ok(report)
}

fn to_json(value: &Value) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(value).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

#[cfg(test)]
mod tests {
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
                indicator: &ip,
                to_ids: true,
                score: None,
                reference_time: 100,
                feeds: vec!["a"],
            },
            Entry {
                indicator: &url,
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
