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
        distribution: None,
        events: EventMode::Fixed,
        retention_days: 7,
        now: 1_787_443_200,
    }
}

/// Feedsmith's namespace and the UUIDs below, computed with Python's `uuid.uuid5`.
const FIXED_EVENT: &str = "1ea2cf0f-789e-513d-a07c-734976688b7b";
const DAY_EVENT_2026_08_23: &str = "046f2878-08de-5527-ab35-b6b2cc8c2769";
const IP_PORT_ATTRIBUTE: &str = "5b2a322e-b074-5196-b36a-5aea15699fc9";
const ORG_EXAMPLE: &str = "d7b6c1a8-5384-5c15-bd6a-7d145f4ccb0b";

const DAY: i64 = 86_400;
/// 2026-08-23T00:00:00Z.
const NOW: i64 = 1_787_443_200;

fn entry<'a>(indicator: &'a Indicator, feeds: &[&'a str]) -> Entry<'a> {
    Entry { feeds: feeds.to_vec(), ..crate::export::tests::entry(indicator) }
}

/// A feed folder built in place, build after build, as the build does it: each build reads
/// the folder the last one left and writes a fresh one in its place.
struct Feed {
    dir: tempfile::TempDir,
}

impl Feed {
    fn new() -> Feed {
        Feed { dir: tempfile::tempdir().unwrap() }
    }

    fn folder(&self) -> std::path::PathBuf {
        self.dir.path().join("out/misp/c2")
    }

    /// One build at `now` of `indicators` (listed by feed `a`) with `settings`.
    fn build(&self, settings: &EventSettings<'_>, now: i64, indicators: &[Indicator]) {
        let entries: Vec<Entry<'_>> = indicators.iter().map(|i| entry(i, &["a"])).collect();
        let previous = Previous::read(&self.folder());
        let staging = self.dir.path().join("staging");
        let _ = std::fs::remove_dir_all(&staging);
        let settings = EventSettings { now, ..settings.clone() };
        write(&staging, "misp/c2", &previous, &settings, &entries).unwrap();
        let _ = std::fs::remove_dir_all(self.dir.path().join("out"));
        std::fs::rename(&staging, self.dir.path().join("out")).unwrap();
    }

    fn manifest(&self) -> BTreeMap<String, Value> {
        serde_json::from_slice(&std::fs::read(self.folder().join("manifest.json")).unwrap())
            .unwrap()
    }

    fn event(&self, uuid: &str) -> Value {
        let bytes = std::fs::read(self.folder().join(format!("{uuid}.json"))).unwrap();
        serde_json::from_slice::<Value>(&bytes).unwrap()["Event"].clone()
    }

    /// Per attribute value of event `uuid`: (uuid, timestamp, deleted).
    fn attributes(&self, uuid: &str) -> BTreeMap<String, (String, i64, bool)> {
        let event = self.event(uuid);
        event["Attribute"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                let timestamp = a["timestamp"].as_str().unwrap().parse().unwrap();
                let value = a["value"].as_str().unwrap().to_owned();
                (value, (a["uuid"].as_str().unwrap().to_owned(), timestamp, a["deleted"] == true))
            })
            .collect()
    }

    fn timestamp(&self, uuid: &str) -> i64 {
        self.manifest()[uuid]["timestamp"].as_i64().unwrap()
    }
}

fn ip(value: &str) -> Indicator {
    Indicator::new(AttrType::IpDst, value)
}

#[test]
fn uuids_are_uuid5_of_task_path_day_type_and_value() {
    let feed = Feed::new();
    let ip_port = Indicator::new(AttrType::IpDstPort, "198.51.100.7|443");
    feed.build(&settings(), NOW, std::slice::from_ref(&ip_port));
    let manifest = feed.manifest();
    assert_eq!(manifest.keys().collect::<Vec<_>>(), [FIXED_EVENT]);
    assert_eq!(feed.attributes(FIXED_EVENT)["198.51.100.7|443"].0, IP_PORT_ATTRIBUTE);
    assert_eq!(manifest[FIXED_EVENT]["Orgc"]["uuid"], json!(ORG_EXAMPLE));

    let daily = Feed::new();
    daily.build(&EventSettings { events: EventMode::Daily, ..settings() }, NOW, &[ip_port]);
    assert_eq!(daily.manifest().keys().collect::<Vec<_>>(), [DAY_EVENT_2026_08_23]);
    let event = daily.event(DAY_EVENT_2026_08_23);
    assert_eq!(event["info"], json!("C2 <test> 2026-08-23"));
    assert_eq!(event["date"], json!("2026-08-23"));
}

#[test]
fn hashes_follow_misps_cache_rule() {
    // md5 of each part, computed with `printf '%s' PART | md5sum`; the port of ip-dst|port
    // and deleted attributes are left out, other composites give one line per part.
    let feed = Feed::new();
    let gone = ip("192.0.2.200");
    feed.build(&settings(), NOW, std::slice::from_ref(&gone));
    let indicators = [
        Indicator::new(AttrType::IpDstPort, "198.51.100.7|443"),
        Indicator::new(AttrType::Url, "http://bad.example.com/gate.php"),
        Indicator::new(AttrType::Hostname, "bad.example.com"),
        Indicator::new(AttrType::DomainIp, "evil.example|203.0.113.9"),
        Indicator::new(AttrType::FilenameMd5, "a.exe|44d88612fea8a8f36de82e1278abb02f"),
    ];
    feed.build(&settings(), NOW + DAY, &indicators);
    assert!(feed.attributes(FIXED_EVENT)["192.0.2.200"].2, "the removed value is deleted");
    let hashes = std::fs::read_to_string(feed.folder().join("hashes.csv")).unwrap();
    let mut lines: Vec<&str> = hashes.lines().collect();
    lines.sort_unstable();
    let expected: Vec<String> = [
        "0412c860cff064ff9d5e9fde10c34fdb",
        "2c3ccd32927839768639b88829a5c04a",
        "526291673f8700ef4e4902e29550a03b",
        "5b005e144e975cf97c903a6fa278eea4",
        "8226d05ff811db619a466d17b0b2d1bb",
        "84e678f388dd9c2f4dc7a77a7d21f4e5",
        "96119eb3210daa472225fbad69fa9770",
    ]
    .iter()
    .map(|md5| format!("{md5},{FIXED_EVENT}"))
    .collect();
    assert_eq!(lines, expected);
    assert!(hashes.ends_with('\n'));
}

#[test]
fn an_unchanged_selection_keeps_every_timestamp_and_byte() {
    let feed = Feed::new();
    let indicators = [ip("198.51.100.7"), ip("198.51.100.8")];
    feed.build(&settings(), NOW, &indicators);
    let first = std::fs::read(feed.folder().join(format!("{FIXED_EVENT}.json"))).unwrap();
    let manifest = std::fs::read(feed.folder().join("manifest.json")).unwrap();
    feed.build(&settings(), NOW + 3 * DAY, &indicators);
    assert_eq!(std::fs::read(feed.folder().join(format!("{FIXED_EVENT}.json"))).unwrap(), first);
    assert_eq!(std::fs::read(feed.folder().join("manifest.json")).unwrap(), manifest);
    assert_eq!(feed.timestamp(FIXED_EVENT), NOW);
}

#[test]
fn a_removed_value_is_deleted_with_a_newer_timestamp_until_its_retention_ends() {
    let feed = Feed::new();
    let (kept, gone) = (ip("198.51.100.7"), ip("198.51.100.8"));
    feed.build(&settings(), NOW, &[kept.clone(), gone.clone()]);
    let before = feed.attributes(FIXED_EVENT);

    feed.build(&settings(), NOW + DAY, std::slice::from_ref(&kept));
    let after = feed.attributes(FIXED_EVENT);
    assert_eq!(after["198.51.100.7"], before["198.51.100.7"]);
    assert_eq!(after["198.51.100.8"], (before["198.51.100.8"].0.clone(), NOW + DAY, true));
    assert_eq!(feed.timestamp(FIXED_EVENT), NOW + DAY);
    assert_eq!(feed.event(FIXED_EVENT)["timestamp"], json!((NOW + DAY).to_string()));

    // Still there, unchanged, on the last day of the retention; gone the day after.
    feed.build(&settings(), NOW + 7 * DAY, std::slice::from_ref(&kept));
    assert_eq!(feed.attributes(FIXED_EVENT)["198.51.100.8"].1, NOW + DAY);
    assert_eq!(feed.timestamp(FIXED_EVENT), NOW + DAY);
    feed.build(&settings(), NOW + 8 * DAY, std::slice::from_ref(&kept));
    assert!(!feed.attributes(FIXED_EVENT).contains_key("198.51.100.8"));
    assert_eq!(feed.timestamp(FIXED_EVENT), NOW + 8 * DAY);
}

#[test]
fn a_value_back_within_its_retention_is_restored_under_its_uuid() {
    let feed = Feed::new();
    let value = ip("198.51.100.8");
    feed.build(&settings(), NOW, std::slice::from_ref(&value));
    let uuid = feed.attributes(FIXED_EVENT)["198.51.100.8"].0.clone();
    feed.build(&settings(), NOW + DAY, &[]);
    assert!(feed.attributes(FIXED_EVENT)["198.51.100.8"].2);
    assert_eq!(feed.event(FIXED_EVENT)["published"], json!(true));
    feed.build(&settings(), NOW + 2 * DAY, std::slice::from_ref(&value));
    assert_eq!(feed.attributes(FIXED_EVENT)["198.51.100.8"], (uuid, NOW + 2 * DAY, false));
}

#[test]
fn daily_events_keep_their_values_and_only_changed_days_get_newer_timestamps() {
    let daily = EventSettings { events: EventMode::Daily, ..settings() };
    let feed = Feed::new();
    let (a, b, c) = (ip("198.51.100.1"), ip("198.51.100.2"), ip("198.51.100.3"));
    feed.build(&daily, NOW, &[a.clone(), b.clone()]);
    feed.build(&daily, NOW + DAY, &[a.clone(), b.clone(), c.clone()]);
    let manifest = feed.manifest();
    assert_eq!(manifest.len(), 2);
    let second_day = manifest.keys().find(|k| *k != DAY_EVENT_2026_08_23).unwrap().clone();
    assert_eq!(manifest[DAY_EVENT_2026_08_23]["timestamp"], json!(NOW));
    assert_eq!(manifest[&second_day]["timestamp"], json!(NOW + DAY));
    assert_eq!(manifest[&second_day]["date"], json!("2026-08-24"));
    assert_eq!(feed.attributes(&second_day).keys().collect::<Vec<_>>(), ["198.51.100.3"]);

    // Dropping a value of the first day changes that day's event only.
    feed.build(&daily, NOW + 2 * DAY, &[a.clone(), c.clone()]);
    assert_eq!(feed.timestamp(DAY_EVENT_2026_08_23), NOW + 2 * DAY);
    assert_eq!(feed.timestamp(&second_day), NOW + DAY);
    assert!(feed.attributes(DAY_EVENT_2026_08_23)["198.51.100.2"].2);

    // A day whose every value has gone, and whose retention has passed, leaves the feed.
    feed.build(&daily, NOW + 3 * DAY, std::slice::from_ref(&a));
    feed.build(&daily, NOW + 11 * DAY, std::slice::from_ref(&a));
    assert_eq!(feed.manifest().keys().collect::<Vec<_>>(), [DAY_EVENT_2026_08_23]);
}

#[test]
fn a_changed_event_is_newer_than_before_even_when_now_goes_back() {
    let feed = Feed::new();
    feed.build(&settings(), NOW, &[ip("198.51.100.7")]);
    feed.build(&settings(), NOW - DAY, &[ip("198.51.100.8")]);
    assert_eq!(feed.timestamp(FIXED_EVENT), NOW + 1);
    let attributes = feed.attributes(FIXED_EVENT);
    assert_eq!(attributes["198.51.100.7"].1, NOW + 1);
    assert!(attributes["198.51.100.7"].2);
}

#[test]
fn a_change_of_tags_or_settings_updates_the_attribute_or_the_event() {
    let feed = Feed::new();
    let value = ip("198.51.100.7");
    feed.build(&settings(), NOW, std::slice::from_ref(&value));
    // A second listing feed is a new tag on the attribute and the event.
    let previous = Previous::read(&feed.folder());
    let staging = tempfile::tempdir().unwrap();
    let entries = [entry(&value, &["a", "b"])];
    let later = EventSettings { now: NOW + DAY, ..settings() };
    write(staging.path(), "m", &previous, &later, &entries).unwrap();
    let event: Value = serde_json::from_slice(
        &std::fs::read(staging.path().join(format!("m/{FIXED_EVENT}.json"))).unwrap(),
    )
    .unwrap();
    let attribute = &event["Event"]["Attribute"][0];
    assert_eq!(attribute["timestamp"], json!((NOW + DAY).to_string()));
    let tags: Vec<&Value> =
        attribute["Tag"].as_array().unwrap().iter().map(|t| &t["name"]).collect();
    assert_eq!(tags, [&json!("feedsmith:source=\"a\""), &json!("feedsmith:source=\"b\"")]);

    // A new threat level changes the event, not its attributes.
    feed.build(&EventSettings { threat_level: 1, ..settings() }, NOW + DAY, &[value]);
    assert_eq!(feed.timestamp(FIXED_EVENT), NOW + DAY);
    assert_eq!(feed.attributes(FIXED_EVENT)["198.51.100.7"].1, NOW);
    assert_eq!(feed.manifest()[FIXED_EVENT]["threat_level_id"], json!(1));
}

#[test]
fn distribution_is_written_on_the_event_and_inherited_by_attributes() {
    let feed = Feed::new();
    feed.build(&EventSettings { distribution: Some(1), ..settings() }, NOW, &[ip("198.51.100.7")]);
    let event = feed.event(FIXED_EVENT);
    assert_eq!(event["distribution"], json!("1"));
    assert_eq!(event["Attribute"][0]["distribution"], json!("5"));
    let plain = Feed::new();
    plain.build(&settings(), NOW, &[ip("198.51.100.7")]);
    assert!(plain.event(FIXED_EVENT).get("distribution").is_none());
}

#[test]
fn the_event_and_attributes_carry_tlp_and_source_tags() {
    let feed = Feed::new();
    feed.build(&EventSettings { tlp: "tlp:amber", ..settings() }, NOW, &[ip("198.51.100.7")]);
    let names = |tags: &Value| -> Vec<String> {
        tags.as_array().unwrap().iter().map(|t| t["name"].as_str().unwrap().to_owned()).collect()
    };
    let event = feed.event(FIXED_EVENT);
    assert_eq!(names(&event["Tag"]), ["tlp:amber", "feedsmith:source=\"a\""]);
    assert_eq!(names(&feed.manifest()[FIXED_EVENT]["Tag"]), names(&event["Tag"]));
    assert_eq!(names(&event["Attribute"][0]["Tag"]), ["feedsmith:source=\"a\""]);
}

#[test]
fn an_empty_fixed_event_is_written_unpublished() {
    let feed = Feed::new();
    feed.build(&settings(), NOW, &[]);
    let event = feed.event(FIXED_EVENT);
    assert_eq!(event["published"], json!(false));
    assert_eq!(event["Attribute"], json!([]));
    let daily = Feed::new();
    daily.build(&EventSettings { events: EventMode::Daily, ..settings() }, NOW, &[]);
    assert!(daily.manifest().is_empty());
}

#[test]
fn a_damaged_previous_feed_is_ignored_and_never_names_a_file_outside_it() {
    let feed = Feed::new();
    let folder = feed.folder();
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(feed.dir.path().join("out/misp/secret.json"), r#"{"Event": {"uuid": "x"}}"#)
        .unwrap();
    std::fs::write(
        folder.join("manifest.json"),
        format!(r#"{{"../secret": {{}}, "{FIXED_EVENT}": {{}}, "{DAY_EVENT_2026_08_23}": {{}}}}"#),
    )
    .unwrap();
    std::fs::write(folder.join(format!("{FIXED_EVENT}.json")), "{\"Event\": [").unwrap();
    std::fs::write(
        folder.join(format!("{DAY_EVENT_2026_08_23}.json")),
        r#"{"Event": {"uuid": "another", "Attribute": []}}"#,
    )
    .unwrap();
    assert!(Previous::read(&folder).is_empty());
    std::fs::write(folder.join("manifest.json"), "[1, 2]").unwrap();
    assert!(Previous::read(&folder).is_empty());
    feed.build(&settings(), NOW, &[ip("198.51.100.7")]);
    assert_eq!(feed.manifest().keys().collect::<Vec<_>>(), [FIXED_EVENT]);
}

/// A run of attributes as the writer serialized it before it put the JSON together itself:
/// each attribute through `serde_json`, each `hashes.csv` line through `format!`.
fn reference_piece(
    first: bool,
    attributes: &[(Attr<'_>, i64)],
    distribution: &str,
    event: &str,
) -> (Vec<u8>, String, u64) {
    let (mut json, mut hashes, mut written) = (Vec::new(), String::new(), 0);
    for (i, (attr, timestamp)) in attributes.iter().enumerate() {
        let uuid = attr.uuid.to_string();
        let attribute = AttributeJson {
            uuid: &uuid,
            kind: attr.kind,
            category: attr.category(),
            value: attr.value,
            to_ids: attr.to_ids,
            timestamp: timestamp.to_string(),
            distribution,
            comment: "",
            deleted: attr.deleted,
            disable_correlation: false,
            tag: attr.tags.iter().map(|t| tag(t)).collect(),
        };
        json.extend_from_slice(if first && i == 0 { b"\n" } else { b",\n" });
        serde_json::to_writer(&mut json, &attribute).unwrap();
        if attr.deleted {
            continue;
        }
        written += 1;
        let parts: Vec<&str> = if NOT_CORRELATED.contains(&attr.kind) {
            Vec::new()
        } else if attr.kind.ends_with("|port") {
            attr.value.split('|').take(1).collect()
        } else if attr.kind.contains('|') || attr.kind == "malware-sample" {
            attr.value.split('|').collect()
        } else {
            vec![attr.value]
        };
        for part in parts {
            let md5 = hex::encode(Md5::digest(part.as_bytes()));
            hashes += &[md5.as_str(), ",", event, "\n"].concat();
        }
    }
    (json, hashes, written)
}

/// Text with what JSON escapes and what it does not: quotes, backslashes, control
/// characters, DEL, `|`, non-ASCII letters and emoji.
fn hostile_text() -> impl proptest::strategy::Strategy<Value = String> {
    proptest::string::string_regex("([a-z0-9.:/|]|\"|\\\\|[\\x00-\\x1f]|\\x7f|é|\u{2028}|😀){0,24}")
        .unwrap()
}

proptest::proptest! {
    #[test]
    fn runs_are_written_as_serde_json_and_format_wrote_them(
        attributes in proptest::collection::vec(
            (
                proptest::sample::select(AttrType::ALL),
                hostile_text(),
                proptest::prelude::any::<(bool, bool, u128)>(),
                proptest::collection::vec(hostile_text(), 0..3),
                proptest::prelude::prop_oneof![
                    proptest::prelude::Just(NOW),
                    proptest::prelude::any::<i64>()
                ],
            ),
            0..12,
        ),
        first in proptest::prelude::any::<bool>(),
        distribution in proptest::prelude::prop_oneof![
            proptest::prelude::Just(""),
            proptest::prelude::Just("5")
        ],
    ) {
        let attributes: Vec<(Attr<'_>, i64)> = attributes
            .iter()
            .map(|(kind, value, (to_ids, deleted, uuid), tags, timestamp)| {
                let attr = Attr {
                    uuid: Uuid::from_u128(*uuid),
                    kind: kind.as_str(),
                    value,
                    to_ids: *to_ids,
                    deleted: *deleted,
                    tags: tags.iter().map(|t| Cow::Borrowed(t.as_str())).collect(),
                };
                (attr, *timestamp)
            })
            .collect();
        let (json, hashes, written) =
            reference_piece(first, &attributes, distribution, FIXED_EVENT);
        let mut ours = RunOut { json: b"left".to_vec(), hashes: b"over".to_vec() };
        let our_written = piece(first, &attributes, distribution, FIXED_EVENT, &mut ours);
        proptest::prop_assert_eq!(
            String::from_utf8_lossy(&ours.json),
            String::from_utf8_lossy(&json)
        );
        proptest::prop_assert_eq!(String::from_utf8(ours.hashes).unwrap(), hashes);
        proptest::prop_assert_eq!(our_written, written);
    }

    #[test]
    fn entries_are_taken_in_type_and_value_order_first_one_kept(
        values in proptest::collection::vec(
            (
                proptest::sample::select(vec![AttrType::IpDst, AttrType::Url, AttrType::Domain]),
                proptest::string::string_regex("(a|b|\u{0}|é|[0-9]){0,20}").unwrap(),
                proptest::prelude::any::<bool>(),
            ),
            0..40,
        ),
    ) {
        let indicators: Vec<Indicator> =
            values.iter().map(|(kind, value, _)| Indicator::new(*kind, value.as_str())).collect();
        let entries: Vec<Entry<'_>> = indicators
            .iter()
            .zip(&values)
            .map(|(indicator, (_, _, to_ids))| Entry { to_ids: *to_ids, ..entry(indicator, &[]) })
            .collect();
        let ours: Vec<(&str, &str, bool)> = in_attribute_order(&entries)
            .into_iter()
            .map(|m| (m.kind.as_str(), m.value, m.to_ids))
            .collect();
        // The plain way: the first of each (type, value), sorted by type name and value.
        let mut seen = std::collections::HashSet::new();
        let mut expected: Vec<(&str, &str, bool)> = entries
            .iter()
            .filter(|e| seen.insert((e.indicator.kind, e.indicator.value.clone())))
            .map(|e| (e.indicator.kind.as_str(), &*e.indicator.value, e.to_ids))
            .collect();
        expected.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
        proptest::prop_assert_eq!(ours, expected);
    }
}

#[test]
fn type_and_category_names_are_written_without_escaping() {
    for kind in AttrType::ALL {
        for name in [kind.as_str(), kind.default_category(), "Other"] {
            assert_eq!(serde_json::to_string(name).unwrap(), format!("\"{name}\""));
        }
    }
}

#[test]
fn a_large_event_is_written_in_runs_as_one_thread_writes_it() {
    // More attributes than a run holds, with tags and a deleted one: the file made on every
    // thread equals the one made on one thread.
    let indicators: Vec<Indicator> = (0..3 * PARALLEL_CHUNK + 17)
        .map(|n| ip(&format!("10.{}.{}.{}", n >> 16, (n >> 8) & 255, n & 255)))
        .collect();
    let build = |threads: usize| {
        let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
        pool.install(|| {
            let feed = Feed::new();
            feed.build(&settings(), NOW, &indicators);
            feed.build(&settings(), NOW + DAY, &indicators[1..]);
            let read = |name: &str| std::fs::read(feed.folder().join(name)).unwrap();
            (read(&format!("{FIXED_EVENT}.json")), read("hashes.csv"), read("manifest.json"))
        })
    };
    let one = build(1);
    assert_eq!(build(3), one);
    let event: Value = serde_json::from_slice(&one.0).unwrap();
    assert_eq!(event["Event"]["Attribute"].as_array().unwrap().len(), indicators.len());
    let lines = String::from_utf8(one.1).unwrap().lines().count();
    assert_eq!(lines, indicators.len() - 1, "one line per live attribute");
}
