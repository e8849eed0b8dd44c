//! Bug cases from `shared/bugcases/`, each run through a whole build of a one-feed project.
//!
//! Every expected value below is the one the bug case's `expected.md` gives.

use std::collections::BTreeSet;
use std::path::Path;

use crate::util::{feed, feedsmith, plain_values, repo};

/// A project with one local feed (`feeds.d/case.toml`: `definition` plus `path`) and one
/// task that writes every indicator to `all.txt`. Returns the report of the feed and the
/// values written.
fn build_case(input: &Path, definition: &str) -> (serde_json::Value, BTreeSet<String>) {
    let built = Built::new(input, definition, &[], "2026-08-23T00:00:00Z");
    (built.feed(), built.values("all.txt"))
}

/// `(type, value, last seen)` of each attribute of a MISP feed's event, the last seen time
/// (Unix seconds) from the task's JSON output.
type Attributes = BTreeSet<(String, String, i64)>;

/// As [`build_case`], the task also writing a MISP feed (`misp/`) and a JSON list
/// (`all.json`); returns the project too, and the attributes of its event.
fn build_case_with_misp(
    input: &Path,
    definition: &str,
) -> (tempfile::TempDir, serde_json::Value, BTreeSet<String>, Attributes) {
    let root = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(root.path().join("feeds.d")).unwrap();
    std::fs::create_dir_all(root.path().join("tasks.d")).unwrap();
    // Feeds read files inside their repository only: copy the input in.
    copy_into(input, &root.path().join("input"));
    let feed_toml =
        format!("name = \"case\"\nprovider = \"test\"\npath = \"input\"\n{definition}\n");
    std::fs::write(root.path().join("feeds.d/case.toml"), feed_toml).unwrap();
    std::fs::write(
        root.path().join("tasks.d/all.toml"),
        // The inputs use the documentation ranges (RFC 5737), which tasks leave out by default.
        "name = \"all\"\n[select]\nexclude_reserved = false\n[[outputs]]\nformat = \"plain\"\n\
         path = \"all.txt\"\n[[outputs]]\nformat = \"misp-feed\"\npath = \"misp\"\n\
         [[outputs]]\nformat = \"json\"\npath = \"all.json\"\n",
    )
    .unwrap();
    let output = feedsmith(root.path(), &["build", "--now", "2026-08-23T00:00:00Z"]);
    // Exit code 3: the outputs were written, but the only feed failed.
    assert!(
        matches!(output.status.code(), Some(0 | 3)),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.path().join("site/report.json")).unwrap())
            .unwrap();
    let values = plain_values(&root.path().join("site/all.txt")).into_iter().collect();
    let misp = root.path().join("site/misp");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(misp.join("manifest.json")).unwrap()).unwrap();
    // Each indicator's decay reference time, as the JSON output gives it.
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.path().join("site/all.json")).unwrap()).unwrap();
    let last_seen: std::collections::BTreeMap<(String, String), i64> = json["indicators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let text = i["last_seen"].as_str().unwrap();
            let rfc3339 = &time::format_description::well_known::Rfc3339;
            let time = time::OffsetDateTime::parse(text, rfc3339).unwrap();
            let key =
                (i["type"].as_str().unwrap().to_owned(), i["value"].as_str().unwrap().to_owned());
            (key, time.unix_timestamp())
        })
        .collect();
    let mut attributes = BTreeSet::new();
    for uuid in manifest.as_object().unwrap().keys() {
        let event: serde_json::Value =
            serde_json::from_slice(&std::fs::read(misp.join(format!("{uuid}.json"))).unwrap())
                .unwrap();
        for attribute in event["Event"]["Attribute"].as_array().unwrap() {
            let kind = attribute["type"].as_str().unwrap().to_owned();
            let value = attribute["value"].as_str().unwrap().to_owned();
            let seen = last_seen[&(kind.clone(), value.clone())];
            attributes.insert((kind, value, seen));
        }
    }
    let report = feed(&report, "case").clone();
    (root, report, values, attributes)
}

/// A built one-feed project: the `all` task (every indicator to `all.txt`) and the tasks
/// given as `(id, [select] lines, output path)`, each writing one plain file, or a MISP feed
/// folder when its path has no extension. Reserved ranges are kept: the inputs use the
/// documentation ranges (RFC 5737, RFC 3849), which tasks leave out by default.
pub(crate) struct Built {
    pub(crate) root: tempfile::TempDir,
    pub(crate) report: serde_json::Value,
}

impl Built {
    pub(crate) fn new(
        input: &Path,
        definition: &str,
        tasks: &[(&str, &str, &str)],
        now: &str,
    ) -> Built {
        let root = tempfile::tempdir().unwrap();
        Built::write_project(root.path(), input, definition, tasks);
        let report = Built::run(root.path(), now);
        Built { root, report }
    }

    pub(crate) fn write_project(
        root: &Path,
        input: &Path,
        definition: &str,
        tasks: &[(&str, &str, &str)],
    ) {
        std::fs::create_dir_all(root.join("feeds.d")).unwrap();
        std::fs::create_dir_all(root.join("tasks.d")).unwrap();
        // Feeds read files inside their repository only: copy the input in.
        copy_into(input, &root.join("input"));
        let feed_toml =
            format!("name = \"case\"\nprovider = \"test\"\npath = \"input\"\n{definition}\n");
        std::fs::write(root.join("feeds.d/case.toml"), feed_toml).unwrap();
        let all = [("all", "", "all.txt")];
        for (id, select, path) in all.iter().chain(tasks) {
            let format = if path.contains('.') { "plain" } else { "misp-feed" };
            let task = format!(
                "name = \"{id}\"\n[select]\nexclude_reserved = false\n{select}\n\
                 [[outputs]]\nformat = \"{format}\"\npath = \"{path}\"\n"
            );
            std::fs::write(root.join(format!("tasks.d/{id}.toml")), task).unwrap();
        }
    }

    pub(crate) fn run(root: &Path, now: &str) -> serde_json::Value {
        let output = feedsmith(root, &["build", "--now", now]);
        // Exit code 3: the outputs were written, but the only feed failed.
        assert!(
            matches!(output.status.code(), Some(0 | 3)),
            "{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_slice(&std::fs::read(root.join("site/report.json")).unwrap()).unwrap()
    }

    /// The report of the feed.
    pub(crate) fn feed(&self) -> serde_json::Value {
        feed(&self.report, "case").clone()
    }

    /// The report of a task.
    pub(crate) fn task(&self, id: &str) -> &serde_json::Value {
        self.report["tasks"].as_array().unwrap().iter().find(|t| t["id"] == id).unwrap()
    }

    /// The values of a plain output, checked to hold no line twice.
    pub(crate) fn values(&self, path: &str) -> BTreeSet<String> {
        let lines = plain_values(&self.root.path().join("site").join(path));
        let values: BTreeSet<String> = lines.iter().cloned().collect();
        assert_eq!(values.len(), lines.len(), "{path} holds a line twice: {lines:?}");
        values
    }

    /// The `(type, value)` attributes of the one event of a MISP feed output.
    pub(crate) fn misp_attributes(&self, path: &str) -> BTreeSet<(String, String)> {
        let folder = self.root.path().join("site").join(path);
        let manifest: serde_json::Value =
            serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).unwrap()).unwrap();
        let uuid = manifest.as_object().unwrap().keys().next().unwrap().clone();
        let event: serde_json::Value =
            serde_json::from_slice(&std::fs::read(folder.join(format!("{uuid}.json"))).unwrap())
                .unwrap();
        event["Event"]["Attribute"]
            .as_array()
            .unwrap()
            .iter()
            .map(|a| {
                (a["type"].as_str().unwrap().to_owned(), a["value"].as_str().unwrap().to_owned())
            })
            .collect()
    }
}

/// A MISP feed folder holding one event file, with a manifest written for it.
fn misp_folder(event_file: &Path) -> tempfile::TempDir {
    let folder = tempfile::tempdir().unwrap();
    let event: serde_json::Value =
        serde_json::from_slice(&std::fs::read(event_file).unwrap()).unwrap();
    let uuid = event["Event"]["uuid"].as_str().unwrap();
    let manifest = serde_json::json!({ uuid: { "timestamp": event["Event"]["timestamp"] } });
    std::fs::write(folder.path().join("manifest.json"), manifest.to_string()).unwrap();
    std::fs::copy(event_file, folder.path().join(format!("{uuid}.json"))).unwrap();
    folder
}

fn copy_into(from: &Path, to: &Path) {
    if from.is_dir() {
        std::fs::create_dir_all(to).unwrap();
        for entry in std::fs::read_dir(from).unwrap() {
            let entry = entry.unwrap();
            copy_into(&entry.path(), &to.join(entry.file_name()));
        }
    } else {
        std::fs::copy(from, to).unwrap();
    }
}

fn case_file(relative: &str) -> std::path::PathBuf {
    repo().join("tests/fixtures/bugcases").join(relative)
}

fn set(values: &[&str]) -> BTreeSet<String> {
    values.iter().map(|v| (*v).to_owned()).collect()
}

// shared/bugcases/03-utf8-bom (pi-hole/FTL#2703)
#[test]
fn utf8_bom_crlf_and_missing_final_newline_give_three_ips_and_no_reject() {
    let (report, values) = build_case(&case_file("03-utf8-bom/list.txt"), "format = \"freetext\"");
    assert_eq!(values, set(&["198.51.100.1", "198.51.100.2", "198.51.100.3"]));
    let stats = &report["stats"];
    assert_eq!(stats["lines"], 4);
    assert_eq!(stats["accepted"], 3);
    assert_eq!(stats["comments"], 1);
    assert_eq!(report["rejected"], 0);
    assert_eq!(stats["bom"], true);
}

/// Unix seconds of a UTC date and time, from the `time` crate's calendar.
fn utc(date: time::Date, (hour, minute, second): (u8, u8, u8)) -> i64 {
    date.with_hms(hour, minute, second).unwrap().assume_utc().unix_timestamp()
}

/// The build's `--now`, in Unix seconds.
fn build_time() -> i64 {
    utc(time::macros::date!(2026 - 08 - 23), (0, 0, 0))
}

// shared/bugcases/04-csv-crlf-quoted (OpenCTI-Platform/opencti#8324)
#[test]
fn quoted_crlf_csv_with_a_commented_header_gives_the_three_records_by_name() {
    let definition = "format = \"csv\"\n[csv]\nheader = true\nvalue_columns = [\"url\"]\n\
                      last_seen_column = \"last_online\"\ntags_column = \"tags\"\n";
    let (_root, report, values, attributes) =
        build_case_with_misp(&case_file("04-csv-crlf-quoted/urlhaus_recent.csv"), definition);
    let urls = [
        "http://198.51.100.20:40112/i",
        r#"https://files.bad.example/dl?id=7,8&x="q""#,
        "http://203.0.113.9/bins/x86",
    ];
    assert_eq!(values, set(&urls));
    assert!(values.iter().all(|v| !v.contains('\r')));
    // The time each indicator was last seen (the decay reference time, which the JSON output
    // writes): `last_online` for the first record, this build for the two whose
    // `last_online` is empty. (A MISP attribute's timestamp is the time its content last
    // changed instead, so that an unchanged event is not downloaded again.)
    let last_online = utc(time::macros::date!(2024 - 05 - 02), (9, 58, 11));
    let expected: BTreeSet<(String, String, i64)> =
        [(urls[0], last_online), (urls[1], build_time()), (urls[2], build_time())]
            .into_iter()
            .map(|(url, t)| ("url".to_owned(), url.to_owned(), t))
            .collect();
    assert_eq!(attributes, expected);
    let stats = &report["stats"];
    assert_eq!(stats["comments"], 6);
    assert_eq!(stats["accepted"], 3);
    assert_eq!(report["rejected"], 0);
    assert_eq!(report["status"], "ok");
}

/// `ThreatFox`'s CSV by header names, like `feeds.d/threatfox-urls.toml`.
const THREATFOX_BY_NAME: &str = "format = \"csv\"\n[csv]\ndelimiter = \", \"\nheader = true\n\
    value_columns = [\"ioc_value\"]\ntype_column = \"ioc_type\"\n\
    first_seen_column = \"first_seen_utc\"\ntags_column = \"tags\"\n\
    [csv.type_map]\n\"ip:port\" = \"ip-dst|port\"\n";

// shared/bugcases/05-csv-column-added (OpenCTI-Platform/connectors#5581)
#[test]
fn threatfox_files_of_14_and_15_columns_give_identical_records_by_header_name() {
    let (_old_root, old, old_values, old_attributes) = build_case_with_misp(
        &case_file("05-csv-column-added/threatfox_old_14cols.csv"),
        THREATFOX_BY_NAME,
    );
    let (_new_root, new, new_values, new_attributes) = build_case_with_misp(
        &case_file("05-csv-column-added/threatfox_new_15cols.csv"),
        THREATFOX_BY_NAME,
    );
    assert_eq!(old_values, new_values);
    assert_eq!(old_attributes, new_attributes);
    let typed: BTreeSet<(String, String)> =
        new_attributes.into_iter().map(|(kind, value, _)| (kind, value)).collect();
    let expected: BTreeSet<(String, String)> =
        [("domain", "c2.bad.example"), ("ip-dst|port", "198.51.100.77|4443")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
    assert_eq!(typed, expected);
    for report in [&old, &new] {
        assert_eq!(report["status"], "ok");
        assert_eq!(report["stats"]["accepted"], 2);
        assert_eq!(report["stats"]["comments"], 6);
        assert_eq!(report["rejected"], 0);
    }
}

// shared/bugcases/05-csv-column-added, `threatfox_new_no_header.csv`: 15 fields where the
// layout has 14, and no header to map them by.
#[test]
fn a_headerless_row_with_another_column_count_fails_the_feed_with_a_schema_error() {
    let definition =
        "format = \"csv\"\n[csv]\ndelimiter = \", \"\nvalue_columns = [3]\ncolumn_count = 14\n";
    let (report, values) =
        build_case(&case_file("05-csv-column-added/threatfox_new_no_header.csv"), definition);
    assert_eq!(report["status"], "error");
    assert_eq!(report["indicators"], 0);
    let error = report["error"].as_str().unwrap();
    assert!(error.contains("expected 14 columns, got 15"), "{error}");
    assert!(error.contains("1 read, 0 accepted, 1 `schema_mismatch`"), "{error}");
    assert!(values.is_empty());
}

// shared/bugcases/06-defanged-values (MISP/MISP#470)
#[test]
fn defanged_values_are_refanged_and_an_unknown_scheme_is_rejected() {
    let (report, values) =
        build_case(&case_file("06-defanged-values/report-iocs.txt"), "format = \"freetext\"");
    let mut expected = set(&[
        "http://www.bad1.example/login",
        "https://www.bad2.example/a?b=c",
        "http://www.bad3.example/",
        "https://www.bad4.example/",
        "http://www.bad5.example/path",
        "http://bad7.example/x",
        "bad8.example",
        "bad9.example",
        "sub.bad10.example",
        "bad11.example",
        "198.51.100.23",
        "203.0.113.8",
        "user@phish.example",
    ]);
    // `https://www.bad6[.]example`: a trailing `/` is allowed by the case.
    let bad6 = if values.contains("https://www.bad6.example/") {
        "https://www.bad6.example/"
    } else {
        "https://www.bad6.example"
    };
    expected.insert(bad6.to_owned());
    assert_eq!(values, expected);
    assert_eq!(report["stats"]["accepted"], 14);
    assert_eq!(report["rejected"], 1);
    assert_eq!(report["stats"]["rejected"]["unknown_scheme"]["count"], 1);
    assert_eq!(report["stats"]["warnings"]["defanged"], 14);
}

// shared/bugcases/08-trailing-dot-fqdn (certtools/intelmq#369)
#[test]
fn one_trailing_dot_is_stripped_and_empty_labels_are_rejected() {
    let (report, values) =
        build_case(&case_file("08-trailing-dot-fqdn/domains.txt"), "format = \"freetext\"");
    assert_eq!(values, set(&["c2.bad.example"]));
    let stats = &report["stats"];
    assert_eq!(stats["duplicates"], 2);
    assert_eq!(stats["rejected"]["empty_label"]["count"], 2);
    assert_eq!(stats["rejected"]["root_only"]["count"], 1);
}

// shared/bugcases/09-zero-padded-octets (hagezi/dns-blocklists#2543)
#[test]
fn zero_padded_octets_are_read_as_decimal_and_never_as_octal() {
    let input = case_file("09-zero-padded-octets/ips.txt");
    let (report, values) = build_case(&input, "format = \"freetext\"");
    assert_eq!(values, set(&["198.51.100.7", "203.0.113.10", "192.0.2.19", "10.1.1.1"]));
    for octal in ["198.41.100.7", "203.0.113.8", "8.1.1.1"] {
        assert!(!values.contains(octal));
    }
    assert_eq!(report["stats"]["warnings"]["zero_padded"], 4);
    assert_eq!(report["stats"]["duplicates"], 1);

    let (strict, values) =
        build_case(&input, "format = \"freetext\"\n[freetext]\nstrict_zero_padded = true");
    assert_eq!(values, set(&["198.51.100.7"]));
    assert_eq!(strict["stats"]["rejected"]["zero_padded"]["count"], 4);
}

// shared/bugcases/17-misp-manifest-not-object (MISP/PyMISP#509)
#[test]
fn an_array_manifest_fails_the_feed_unless_lenient_which_rekeys_it() {
    let folder = case_file("17-misp-manifest-not-object/feed");
    let (strict, values) = build_case(&folder, "format = \"misp\"");
    assert_eq!(strict["status"], "error");
    assert_eq!(strict["indicators"], 0);
    assert!(
        strict["error"]
            .as_str()
            .unwrap()
            .contains("manifest.json must be a JSON object keyed by event UUID (got array)"),
        "{}",
        strict["error"]
    );
    assert_eq!(strict["stats"]["events"], 0);
    assert!(values.is_empty());

    let (lenient, values) =
        build_case(&folder, "format = \"misp\"\n[misp]\nlenient_manifest = true");
    assert_eq!(lenient["status"], "ok");
    assert_eq!(values, set(&["c2.bad.example"]));
}

// shared/bugcases/17-misp-manifest-not-object, `manifest-bad-key.json`
#[test]
fn a_manifest_key_that_is_not_a_uuid_is_skipped_and_the_valid_one_loaded() {
    let source = case_file("17-misp-manifest-not-object");
    let folder = tempfile::tempdir().unwrap();
    std::fs::copy(source.join("manifest-bad-key.json"), folder.path().join("manifest.json"))
        .unwrap();
    let event = "5f0c2a1e-7b8d-4c3e-9a10-2b4c6d8e0f12.json";
    std::fs::copy(source.join("feed").join(event), folder.path().join(event)).unwrap();
    let (report, values) = build_case(folder.path(), "format = \"misp\"");
    assert_eq!(report["stats"]["rejected"]["invalid_event_uuid"]["count"], 1);
    assert_eq!(report["stats"]["events"], 1);
    assert_eq!(values, set(&["c2.bad.example"]));
}

fn pairs(values: &[(&str, &str)]) -> BTreeSet<(String, String)> {
    values.iter().map(|(t, v)| ((*t).to_owned(), (*v).to_owned())).collect()
}

// shared/bugcases/10-ip-with-port (carbonblack/cb-taxii-connector#3)
//
// An IP blocklist task (`types = ["ip-dst"]`) takes the address of each `ip-dst|port` value,
// so the plain IP export holds the 4 unique addresses; the MISP export keeps the pairs.
#[test]
fn an_ip_with_a_port_keeps_its_port_in_misp_and_its_address_in_ip_blocklists() {
    let built = Built::new(
        &case_file("10-ip-with-port/c2.txt"),
        "format = \"freetext\"",
        &[
            ("ips", "types = [\"ip-dst\"]", "ips.txt"),
            ("v4", "types = [\"ip-dst\"]\nip_version = 4", "v4.txt"),
            ("v6", "types = [\"ip-dst\"]\nip_version = 6", "v6.txt"),
            ("misp", "types = [\"ip-dst\", \"ip-dst|port\"]", "misp"),
        ],
        "2026-08-23T00:00:00Z",
    );
    assert_eq!(
        built.values("all.txt"),
        set(&[
            "198.51.100.10|8080",
            "203.0.113.5|443",
            "2001:db8::10|8443",
            "192.0.2.44",
            "198.51.100.10|8081",
        ])
    );
    assert_eq!(
        built.values("ips.txt"),
        set(&["192.0.2.44", "198.51.100.10", "203.0.113.5", "2001:db8::10"])
    );
    assert_eq!(built.values("v4.txt"), set(&["192.0.2.44", "198.51.100.10", "203.0.113.5"]));
    assert_eq!(built.values("v6.txt"), set(&["2001:db8::10"]));
    assert_eq!(
        built.misp_attributes("misp"),
        pairs(&[
            ("ip-dst|port", "198.51.100.10|8080"),
            ("ip-dst|port", "203.0.113.5|443"),
            ("ip-dst|port", "2001:db8::10|8443"),
            ("ip-dst", "192.0.2.44"),
            ("ip-dst|port", "198.51.100.10|8081"),
        ])
    );
    let report = built.feed();
    assert_eq!(report["stats"]["accepted"], 5);
    assert_eq!(report["rejected"], 1);
    assert_eq!(report["stats"]["rejected"]["port_out_of_range"]["count"], 1);
    assert_eq!(
        report["stats"]["rejected"]["port_out_of_range"]["examples"][0]["text"],
        "192.0.2.99:99999"
    );
    // The v4 task leaves out the one IPv6 address and counts it.
    assert_eq!(built.task("v4")["other_ip_version"], 1);
    assert_eq!(built.task("v6")["other_ip_version"], 3);
}

// shared/bugcases/11-cidr-host-bits-overlap (mozilla/MozDef#1027)
//
// The `plain` format does not aggregate, so this is the expected.md's "aggregation off"
// list (item 5). The aggregated list of item 4 belongs to the CIDR-aggregating formats of a
// later issue.
#[test]
fn host_bits_are_cleared_and_every_distinct_prefix_is_written_once() {
    let built = Built::new(
        &case_file("11-cidr-host-bits-overlap/netset.txt"),
        "format = \"freetext\"",
        &[("ips", "types = [\"ip-dst\"]", "ips.txt"), ("misp", "", "misp")],
        "2026-08-23T00:00:00Z",
    );
    let distinct = set(&[
        "192.0.2.0/24",
        "192.0.2.128/25",
        "198.51.100.7",
        "203.0.113.0/24",
        "203.0.113.0/25",
    ]);
    assert_eq!(built.values("all.txt"), distinct);
    // Item 6: a task of single addresses takes the networks as networks.
    assert_eq!(built.values("ips.txt"), distinct);
    let in_misp: BTreeSet<String> =
        built.misp_attributes("misp").into_iter().map(|(_, v)| v).collect();
    assert_eq!(in_misp, distinct);
    let stats = &built.feed()["stats"];
    assert_eq!(stats["warnings"]["host_bits_set"], 2);
    assert_eq!(stats["accepted"], 7);
    // `203.0.113.77/24` repeats `203.0.113.5/24`, and `198.51.100.7` repeats its `/32`.
    assert_eq!(stats["duplicates"], 2);
    assert_eq!(built.feed()["rejected"], 0);
}

// shared/bugcases/13-mixed-ipv4-ipv6 (amarcu5/EdgeOS-Blacklist#2)
#[test]
fn ipv4_and_ipv6_go_to_their_own_outputs_in_canonical_form() {
    let built = Built::new(
        &case_file("13-mixed-ipv4-ipv6/mixed.txt"),
        "format = \"freetext\"",
        &[("v4", "ip_version = 4", "v4.txt"), ("v6", "ip_version = 6", "v6.txt")],
        "2026-08-23T00:00:00Z",
    );
    assert_eq!(built.values("v4.txt"), set(&["198.51.100.9", "203.0.113.0/24"]));
    assert_eq!(
        built.values("v6.txt"),
        set(&["2001:db8::1", "2001:db8::ff00:42:8329", "2001:db8:abcd::/48"])
    );
    // Each task counts the addresses of the other family it left out.
    assert_eq!(built.task("v4")["other_ip_version"], 3);
    assert_eq!(built.task("v6")["other_ip_version"], 2);
    let report = built.feed();
    assert_eq!(report["stats"]["warnings"]["ipv4_mapped"], 1);
    // `2001:db8::1` repeats line 2 and `::ffff:198.51.100.9` repeats line 1.
    assert_eq!(report["stats"]["duplicates"], 2);
    assert_eq!(report["rejected"], 1);
    assert_eq!(report["stats"]["rejected"]["zone_index"]["examples"][0]["text"], "fe80::1%eth0");
}

// shared/bugcases/14-uncommented-metadata-lines (certtools/intelmq#992)
//
// The feed names the victim after `checking domain:`; `context_regex` cuts it out, so the
// victims (and the clean site) give no indicator and only the threats reach the blocklist.
#[test]
fn metadata_lines_are_counted_as_unparsed_and_victims_stay_out_of_blocklists() {
    let (report, values) = build_case(
        &case_file("14-uncommented-metadata-lines/infected-sites.txt"),
        "format = \"freetext\"\n[freetext]\ncontext_regex = 'checking domain: \\S+'",
    );
    assert_eq!(
        values,
        set(&[
            "http://cdn.bad.example/x.js",
            "cdn.bad.example",
            "http://198.51.100.66/j.php",
            "198.51.100.66",
        ])
    );
    let stats = &report["stats"];
    assert_eq!(stats["lines"], 7);
    assert_eq!(stats["comments"], 2);
    assert_eq!(stats["rejected"]["unparsed_line"]["count"], 2);
    assert_eq!(report["rejected"], 2);
    // Three data lines: two gave indicators, the clean one only context.
    assert_eq!(stats["context"], 3);
    assert_eq!(stats["context_lines"], 1);
    let examples = &stats["rejected"]["unparsed_line"]["examples"];
    assert_eq!(examples[0]["line"], 3);
    assert_eq!(examples[1]["line"], 7);
}

// shared/bugcases/18-misp-object-attributes-ignored (cisagov/Malcolm#753)
//
// 6 attributes imported (8 read: one deleted, one port joined to its address), of which 4
// are `to_ids`: those reach the blocklist; the 2 others are counted as `not_ids`.
#[test]
fn attributes_inside_objects_are_read_and_only_ids_ones_reach_blocklists() {
    let folder = misp_folder(&case_file("18-misp-object-attributes-ignored/event.json"));
    let built = Built::new(
        folder.path(),
        "format = \"misp\"",
        &[("misp", "", "misp")],
        "2026-08-23T00:00:00Z",
    );
    let ids = [
        ("domain", "loader.bad.example"),
        ("md5", "0123456789abcdef0123456789abcdef"),
        ("sha256", "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"),
        ("ip-dst|port", "198.51.100.61|8443"),
    ];
    assert_eq!(built.values("all.txt"), ids.iter().map(|(_, v)| (*v).to_owned()).collect());
    assert_eq!(built.misp_attributes("misp"), pairs(&ids));
    let stats = &built.feed()["stats"];
    assert_eq!(stats["events"], 1);
    assert_eq!(stats["lines"], 8);
    assert_eq!(stats["deleted"], 1);
    assert_eq!(stats["ports_joined"], 1);
    assert_eq!(stats["accepted"], 4);
    assert_eq!(stats["not_ids"], 2);
    assert_eq!(built.feed()["rejected"], 0);
    assert!(!built.values("all.txt").contains("192.0.2.200"), "a deleted attribute");
}

// shared/bugcases/20-aging-uses-event-time (PaloAltoNetworks/minemeld-misp#22)
//
// policy.txt: expire after 30 days without a sighting, reference time `last_seen`, else the
// attribute `timestamp`. A linear model (decay_speed 1) of 30 days reaches 0 at 30 days; a
// threshold of 1 expires what is older.
#[test]
fn expiry_uses_each_attributes_own_time_not_the_republished_event() {
    let folder = misp_folder(&case_file("20-aging-uses-event-time/event.json"));
    let root = tempfile::tempdir().unwrap();
    Built::write_project(root.path(), folder.path(), "format = \"misp\"", &[]);
    std::fs::create_dir_all(root.path().join("decay.d")).unwrap();
    std::fs::write(
        root.path().join("decay.d/thirty-days.toml"),
        "name = \"30 days\"\nlifetime_days = 30\ndecay_speed = 1\nthreshold = 1\n\
         default_base_score = 100\nattribute_types = [\"ip-dst\"]\n",
    )
    .unwrap();
    let now = "2024-06-01T00:00:00Z";
    let first = Built::run(root.path(), now);
    let values = plain_values(&root.path().join("site/all.txt"));
    assert_eq!(values, ["198.51.100.82", "198.51.100.83"]);
    let task = first["tasks"].as_array().unwrap().iter().find(|t| t["id"] == "all").unwrap();
    assert_eq!(task["expired"], 1);
    // A second build with the same file and time gives the same list.
    let second = Built::run(root.path(), now);
    assert_eq!(plain_values(&root.path().join("site/all.txt")), values);
    assert_eq!(first["tasks"], second["tasks"]);
}
