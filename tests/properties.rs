//! Properties of the parsers and of normalization, over generated input (proptest).
//!
//! - No input of any bytes makes any parser panic, and every parser's counts add up: each
//!   distinct accepted value is one record.
//! - Normalization is idempotent: a canonical value, classified or normalized again as its
//!   own type, comes back unchanged.
//!
//! The generators mix arbitrary bytes with the fragments that steer type detection (digits,
//! dots, colons, brackets, schemes, defanging, non-ASCII letters), so that most cases reach
//! deep into the rules instead of stopping at "not an indicator".

use feedsmith::config::{Column, CsvOptions, FreetextOptions, JsonOptions, MispOptions};
use feedsmith::indicator::{AttrType, Options, classify, normalize};
use feedsmith::parse::{ParsedFeed, csv, freetext, json, misp};
use proptest::prelude::*;

/// Fragments that steer the classifier.
const PIECES: &[&str] = &[
    "1",
    "0",
    "7",
    "00",
    "255",
    "256",
    "65535",
    "65536",
    "a",
    "F",
    "x",
    "z",
    "é",
    "ß",
    "рф",
    "\u{200b}",
    "\u{2028}",
    "\u{a0}",
    ".",
    "..",
    ":",
    "::",
    "/",
    "/8",
    "/33",
    "[",
    "]",
    "(",
    ")",
    "@",
    "%",
    "|",
    "-",
    "_",
    "#",
    "?",
    "[.]",
    "(dot)",
    "hxxp",
    "://",
    "http://",
    "https://",
    "ftp://",
    "com",
    "example",
    "xn--",
    "ffff",
    "::ffff:",
    " ",
    "\t",
    "\"",
    "'",
    ",",
    ";",
    "\r\n",
    "\n",
    "d41d8cd98f00b204e9800998ecf8427e",
];

/// Text built from the steering fragments.
fn steered_text() -> impl Strategy<Value = String> {
    prop::collection::vec(prop::sample::select(PIECES), 1..16).prop_map(|p| p.concat())
}

/// Bytes: either arbitrary, or steered text with a few arbitrary bytes spliced in.
fn body() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::collection::vec(any::<u8>(), 0..512),
        (prop::collection::vec(steered_text(), 0..24), prop::collection::vec(any::<u8>(), 0..4))
            .prop_map(|(lines, noise)| {
                let mut bytes = lines.join("\n").into_bytes();
                let at = noise.first().map_or(0, |&b| usize::from(b) % (bytes.len() + 1));
                bytes.splice(at..at, noise);
                bytes
            }),
    ]
}

/// Every distinct accepted value is one record.
fn counts_add_up(feed: &ParsedFeed) -> Result<(), TestCaseError> {
    prop_assert_eq!(feed.stats.accepted - feed.stats.duplicates, feed.records.len() as u64);
    Ok(())
}

/// The types the idempotence property checks with `normalize`.
const TYPES: &[&str] = &[
    "ip-dst",
    "ip-src|port",
    "domain",
    "hostname",
    "url",
    "md5",
    "sha256",
    "email-src",
    "domain|ip",
];

proptest! {
    // A fixed seed: the same cases every run, so CI never fails on a case nobody can replay.
    // The fuzz targets (fuzz/) explore beyond these; `PROPTEST_CASES` raises the count.
    #![proptest_config(ProptestConfig {
        cases: 2000,
        rng_seed: proptest::test_runner::RngSeed::Fixed(0x0f33_d5a1),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn free_text_never_panics_and_its_counts_add_up(body in body(), skip in any::<bool>()) {
        let opts = FreetextOptions { skip_comments: skip, ..FreetextOptions::default() };
        counts_add_up(&freetext::parse(&body, &opts, None))?;
    }

    #[test]
    fn csv_never_panics_and_its_counts_add_up(
        body in body(),
        delimiter in prop::sample::select(&[",", ";", "\\t", "|", ", ", "\" \""][..]),
        columns in prop::collection::vec(1usize..6, 0..3),
        header_lines in 0usize..3,
        header in any::<bool>(),
        type_column in prop::option::of(1usize..4),
    ) {
        let opts = CsvOptions {
            delimiter: delimiter.to_owned(),
            value_columns: columns.into_iter().map(Column::Number).collect(),
            header_lines,
            header,
            type_column: type_column.map(Column::Number),
            last_seen_column: header.then(|| Column::Name("last_seen".to_owned())),
            ..CsvOptions::default()
        };
        if let Ok(feed) = csv::parse(&body, &opts, None) {
            counts_add_up(&feed)?;
        }
    }

    #[test]
    fn json_never_panics_and_its_counts_add_up(
        body in prop_oneof![
            body(),
            prop::collection::vec(steered_text(), 0..8).prop_map(|values| {
                let records: Vec<String> = values
                    .iter()
                    .map(|v| serde_json::json!({"ioc": v, "type": "domain", "seen": 1_714_564_800}).to_string())
                    .collect();
                records.join("\n").into_bytes()
            }),
        ],
        records in prop::option::of(prop::sample::select(&["data", "data.*", "*"][..])),
    ) {
        let opts = JsonOptions {
            records: records.map(str::to_owned),
            value_field: "ioc".to_owned(),
            type_field: Some("type".to_owned()),
            last_seen_field: Some("seen".to_owned()),
            ..JsonOptions::default()
        };
        if let Ok(feed) = json::parse(&body, &opts, None) {
            counts_add_up(&feed)?;
        }
    }

    #[test]
    fn misp_files_never_panic(body in body(), lenient in any::<bool>()) {
        let opts = MispOptions { lenient_manifest: lenient, ..MispOptions::default() };
        let _ = misp::read_manifest(&body, &opts);
        let events = [("5f0c2a6e-1b2d-4c3e-8f9a-0b1c2d3e4f50".to_owned(), body)];
        counts_add_up(&misp::parse_events(&events, &opts))?;
    }

    #[test]
    fn a_detected_value_is_a_fixed_point(text in steered_text()) {
        let opts = Options::default();
        if let Ok(first) = classify(&text, &opts) {
            let again = normalize(first.indicator.kind, &first.indicator.value, &opts);
            prop_assert_eq!(again.map(|c| c.indicator), Ok(first.indicator.clone()), "from {:?}", text);
            let reclassified = classify(&first.indicator.value, &opts);
            prop_assert_eq!(reclassified.map(|c| c.indicator), Ok(first.indicator), "from {:?}", text);
        }
    }

    #[test]
    fn a_normalized_value_is_a_fixed_point(
        text in steered_text(),
        kind in prop::sample::select(TYPES),
    ) {
        let opts = Options::default();
        let kind = AttrType::from_name(kind).expect("a known type");
        if let Ok(first) = normalize(kind, &text, &opts) {
            let again = normalize(kind, &first.indicator.value, &opts);
            prop_assert_eq!(again.map(|c| c.indicator), Ok(first.indicator), "from {:?}", text);
        }
    }
}
