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
    let (_root, report, values, _) = build_case_with_misp(input, definition);
    (report, values)
}

/// `(type, value, timestamp)` of each attribute of a MISP feed's event.
type Attributes = BTreeSet<(String, String, i64)>;

/// As [`build_case`], the task also writing a MISP feed (`misp/`); returns the project too,
/// and the attributes of its event.
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
         path = \"all.txt\"\n[[outputs]]\nformat = \"misp-feed\"\npath = \"misp\"\n",
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
    let mut attributes = BTreeSet::new();
    for uuid in manifest.as_object().unwrap().keys() {
        let event: serde_json::Value =
            serde_json::from_slice(&std::fs::read(misp.join(format!("{uuid}.json"))).unwrap())
                .unwrap();
        for attribute in event["Event"]["Attribute"].as_array().unwrap() {
            attributes.insert((
                attribute["type"].as_str().unwrap().to_owned(),
                attribute["value"].as_str().unwrap().to_owned(),
                attribute["timestamp"].as_str().unwrap().parse().unwrap(),
            ));
        }
    }
    let report = feed(&report, "case").clone();
    (root, report, values, attributes)
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
    // A MISP attribute's timestamp is the time the indicator was last seen: `last_online`
    // for the first record, this build for the two whose `last_online` is empty.
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
