//! What `report.json` and the site say about a build: events a MISP feed's rules left out,
//! rejected values with their examples (escaped on the feed's page), and which feeds list
//! each indicator.

use std::collections::BTreeSet;

use crate::bugcases::Built;
use crate::util::{feedsmith, plain_values, recorded};

const NOW: &str = "2026-08-23T00:00:00Z";

/// Builds the recorded `chrome-mal-ids` feed (10 events) as a local folder with `rules`.
fn chrome_mal_ids(rules: &str) -> Built {
    Built::new(
        &recorded().join("misp-chrome-mal-ids"),
        &format!("format = \"misp\"\n[misp]\nto_ids_only = false\n[misp.rules]\n{rules}"),
        &[],
        NOW,
    )
}

// The recorded manifest: 3 of its 10 entries carry the tag
// `dbx-tecnologia-/-grupo-opt-whatsapp-automation-campaign`, none carries
// `malicious-extension`, and every event file carries `malicious-extension` (Python's `json`).
const CAMPAIGN: &str = "dbx-tecnologia-/-grupo-opt-whatsapp-automation-campaign";

#[test]
fn events_left_out_by_a_feeds_rules_are_counted_in_the_report_and_on_its_page() {
    let built = chrome_mal_ids(&format!("tags_not = [\"{CAMPAIGN}\"]"));
    let stats = &built.feed()["stats"];
    assert_eq!(stats["filtered_events"], 3);
    assert_eq!(stats["events"], 7);
    let page = std::fs::read_to_string(built.root.path().join("site/feeds/case.html")).unwrap();
    assert!(
        page.contains(
            "<th scope=\"row\">Events left out by the feed's rules</th><td class=\"num\">3</td>"
        ),
        "{page}"
    );
}

// MISP matches rules twice: exactly against the manifest, by case-insensitive substring
// against the event file. The chrome-mal-ids manifest and event files carry different tags,
// which shows both.
#[test]
fn rules_match_the_manifest_exactly_and_the_event_file_by_substring() {
    // In the event files only: the manifest pass lets every event through, the event pass
    // leaves every one out.
    let built = chrome_mal_ids("tags_not = [\"MALICIOUS\"]");
    assert_eq!(built.feed()["stats"]["filtered_events"], 10);
    assert_eq!(built.feed()["stats"]["events"], 0);
    assert_eq!(built.feed()["indicators"], 0);
    // Required but absent from the manifest: no event is fetched, as in MISP.
    let built = chrome_mal_ids("tags_or = [\"malicious-extension\"]");
    assert_eq!(built.feed()["stats"]["filtered_events"], 10);
    // A part of a manifest tag is not enough for the manifest pass.
    let built = chrome_mal_ids("tags_not = [\"campaign\"]");
    assert_eq!(built.feed()["stats"]["filtered_events"], 0);
    assert_eq!(built.feed()["stats"]["events"], 10);
}

#[test]
fn rejected_examples_are_shown_escaped_on_the_feed_page() {
    let folder = tempfile::tempdir().unwrap();
    let input = folder.path().join("list.txt");
    std::fs::write(&input, "192.0.2.1\n<script>alert(1)</script>\n192.0.2.1:99999\n").unwrap();
    let built = Built::new(&input, "format = \"freetext\"", &[], NOW);
    let rejected = &built.feed()["stats"]["rejected"];
    assert_eq!(rejected["unparsed_line"]["count"], 1);
    assert_eq!(rejected["port_out_of_range"]["examples"][0]["text"], "192.0.2.1:99999");
    let page = std::fs::read_to_string(built.root.path().join("site/feeds/case.html")).unwrap();
    assert!(page.contains("<code>unparsed_line</code>"), "{page}");
    assert!(page.contains("2: <code>&lt;script&gt;alert(1)&lt;&#x2f;script&gt;</code>"), "{page}");
    assert!(!page.contains("<script>"));
    assert!(page.contains("3: <code>192.0.2.1:99999</code>"));
}

/// `(path, contents)` pairs written into a fresh repository.
fn project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let path = root.path().join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    root
}

#[test]
fn an_indicator_two_feeds_list_is_written_once_with_both_feeds() {
    let feed = |name: &str| {
        format!(
            "name = \"{name}\"\nprovider = \"p\"\npath = \"{name}.txt\"\nformat = \"freetext\"\n"
        )
    };
    let root = project(&[
        ("a.txt", "192.0.2.1\n192.0.2.2\nbad.example\n"),
        ("b.txt", "192.0.2.2\nBAD.example.\n198.51.100.1\n"),
        ("feeds.d/a.toml", &feed("a")),
        ("feeds.d/b.toml", &feed("b")),
        (
            "tasks.d/all.toml",
            "name = \"all\"\n[select]\nexclude_reserved = false\n\
             [[outputs]]\nformat = \"plain\"\npath = \"all.txt\"\n\
             [[outputs]]\nformat = \"misp-feed\"\npath = \"misp\"\n",
        ),
    ]);
    let output = feedsmith(root.path(), &["build", "--now", NOW]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let values: BTreeSet<String> =
        plain_values(&root.path().join("site/all.txt")).into_iter().collect();
    let expected = ["192.0.2.1", "192.0.2.2", "bad.example", "198.51.100.1"];
    assert_eq!(values, expected.iter().map(|v| (*v).to_owned()).collect());
    assert_eq!(plain_values(&root.path().join("site/all.txt")).len(), 4);

    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.path().join("site/report.json")).unwrap())
            .unwrap();
    let task = &report["tasks"][0];
    assert_eq!(task["selected"], 4);
    assert_eq!(task["in_several_feeds"], 2);
    assert_eq!(task["by_feed"], serde_json::json!({ "a": 3, "b": 3 }));

    // The MISP feed keeps, per attribute, the feeds that list it.
    let folder = root.path().join("site/misp");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join("manifest.json")).unwrap()).unwrap();
    let uuid = manifest.as_object().unwrap().keys().next().unwrap();
    let event: serde_json::Value =
        serde_json::from_slice(&std::fs::read(folder.join(format!("{uuid}.json"))).unwrap())
            .unwrap();
    let sources = |value: &str| -> Vec<String> {
        let attribute = event["Event"]["Attribute"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["value"] == value)
            .unwrap_or_else(|| panic!("{value} not in the event"));
        attribute["Tag"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_owned())
            .collect()
    };
    assert_eq!(sources("bad.example"), ["feedsmith:source=\"a\"", "feedsmith:source=\"b\""]);
    assert_eq!(sources("198.51.100.1"), ["feedsmith:source=\"b\""]);

    let page = std::fs::read_to_string(root.path().join("site/tasks/all.html")).unwrap();
    assert!(page.contains("<dt>Listed by several feeds</dt><dd>2 of the selected"), "{page}");
}
