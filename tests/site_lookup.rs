//! The site's look-up index and its changes page, through whole builds of a one-feed project:
//! each row read from the shard that the documented hash names, with the feeds, score,
//! expiry and outputs computed here from the inputs and MISP's formula; then a second build
//! with one value gone and one new, whose changes are counted per output and per feed.

use std::collections::BTreeSet;
use std::path::Path;

use serde_json::Value;

use crate::util::{feedsmith, one_list_project, repo};

const FIRST: &str = "2026-08-23T00:00:00Z";
const FIRST_UNIX: i64 = 1_787_443_200;
const SECOND: &str = "2026-08-24T00:00:00Z";

/// FNV-1a over the bytes, then `MurmurHash3`'s 32-bit finalizer, as the index's module
/// documentation specifies it; written here from the published constants.
fn hash32(value: &str) -> u32 {
    let mut h = 2_166_136_261_u32;
    for b in value.as_bytes() {
        h = (h ^ u32::from(*b)).wrapping_mul(16_777_619);
    }
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

/// The row of `value`, read from the shard its hash names.
fn row(site: &Path, value: &str) -> Value {
    let meta = read_json(&site.join("lookup/meta.json"));
    let digits = meta["digits"].as_u64().unwrap() as u32;
    let hex = format!("{:0w$x}", hash32(value) >> (32 - 4 * digits), w = digits as usize);
    let name = if hex.len() <= 2 {
        format!("{hex}.json")
    } else {
        format!("{}/{}.json", &hex[..2], &hex[2..])
    };
    read_json(&site.join("lookup").join(name))[value].clone()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_slice(
        &std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
    )
    .unwrap()
}

/// The position of the item of `list` whose `key` is `name`.
fn position(meta: &Value, list: &str, key: &str, name: &str) -> u64 {
    meta[list].as_array().unwrap().iter().position(|item| item[key] == name).unwrap() as u64
}

fn project(list: &str) -> tempfile::TempDir {
    let root = one_list_project(list, &[("all", "exclude_reserved = false\nmodel = \"nids\"")]);
    let task = root.path().join("tasks.d/all.toml");
    let mut text = std::fs::read_to_string(&task).unwrap();
    text.push_str("[[outputs]]\nformat = \"hosts\"\npath = \"hosts\"\n");
    std::fs::write(task, text).unwrap();
    root
}

fn build(root: &Path, now: &str) {
    let output = feedsmith(root, &["build", "--now", now]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
}

#[test]
fn each_value_is_in_the_shard_its_hash_names_with_feeds_score_expiry_and_outputs() {
    let root = project("198.51.100.7\ngood.example\nbad_name.example\n");
    build(root.path(), FIRST);
    let site = root.path().join("site");
    let meta = read_json(&site.join("lookup/meta.json"));
    assert_eq!(meta["now_unix"], FIRST_UNIX);
    assert_eq!(meta["values"], 3);

    // MISP's polynomial model at its reference time (this build, from the ledger) gives the
    // base score; it falls below θ once t > τ·(1 − θ/B)^δ (decay.md).
    let model: toml::Table =
        toml::from_str(&std::fs::read_to_string(repo().join("decay.d/nids.toml")).unwrap())
            .unwrap();
    let number = |key: &str| model[key].as_float().or(model[key].as_integer().map(|i| i as f64));
    let (tau, delta, theta, base) = (
        number("lifetime_days").unwrap() * 86_400.0,
        number("decay_speed").unwrap(),
        number("threshold").unwrap(),
        number("default_base_score").unwrap(),
    );
    let expires_in = tau * (1.0 - theta / base).powf(delta);

    let feed = position(&meta, "feeds", "id", "list");
    let task = position(&meta, "tasks", "id", "all");
    let nids = position(&meta, "models", "id", "nids");
    let plain = position(&meta, "outputs", "path", "all.txt");
    let hosts = position(&meta, "outputs", "path", "hosts");
    let type_of = |name: &str| {
        meta["types"].as_array().unwrap().iter().position(|t| t == name).unwrap() as u64
    };

    // (value, type, outputs that can hold it): a hosts line holds a name of letters, digits
    // and hyphens, never an address or a name with `_`.
    for (value, kind, outputs) in [
        ("198.51.100.7", "ip-dst", vec![plain]),
        ("good.example", "domain", vec![plain, hosts]),
        ("bad_name.example", "domain", vec![plain]),
    ] {
        let row = row(&site, value);
        assert_eq!(row["l"], serde_json::json!([[type_of(kind), feed, 0, 0]]), "{value}");
        let verdicts = row["t"].as_array().unwrap();
        assert_eq!(verdicts.len(), 1, "{value}: {row}");
        let v = &verdicts[0];
        assert_eq!(v[0], task);
        assert_eq!(v[1], type_of(kind));
        assert_eq!(v[2], "selected");
        assert!((v[3].as_f64().unwrap() - base).abs() < 0.005, "{value}: {v}");
        assert_eq!(v[4], nids);
        let expiry = v[5].as_i64().unwrap() as f64;
        assert!((expiry - expires_in).abs() <= 1.0, "{value}: {expiry} against {expires_in}");
        assert_eq!(v[6], serde_json::json!(outputs), "{value}");
        assert_eq!(v[7], serde_json::json!([]));
        assert_eq!(v[8], serde_json::json!([feed]));
    }
    assert_eq!(row(&site, "not-listed.example"), Value::Null);

    // Every shard parses, and together they hold exactly the three values.
    let mut values = BTreeSet::new();
    for (path, bytes) in crate::util::tree(&site.join("lookup")) {
        let shard: Value = serde_json::from_slice(&bytes).unwrap();
        if path != "meta.json" {
            values.extend(shard.as_object().unwrap().keys().cloned());
        }
    }
    let expected: BTreeSet<String> =
        ["198.51.100.7", "good.example", "bad_name.example"].map(String::from).into();
    assert_eq!(values, expected);

    // The page and its script are in the site, the script linked relatively.
    let page = std::fs::read_to_string(site.join("lookup.html")).unwrap();
    assert!(page.contains("<script src=\"lookup.js\""), "{page}");
    assert!(site.join("lookup.js").is_file());
}

#[test]
fn the_changes_page_counts_what_each_output_and_feed_gained_and_lost() {
    let root = project("198.51.100.7\ngood.example\n");
    build(root.path(), FIRST);
    let first = read_json(&root.path().join("site/report.json"));
    assert_eq!(first["changes"], Value::Null, "no previous build to compare with");
    let page = std::fs::read_to_string(root.path().join("site/changes.html")).unwrap();
    assert!(page.contains("no previous build"), "{page}");

    std::fs::write(root.path().join("list.txt"), "198.51.100.7\nnew.example\n").unwrap();
    build(root.path(), SECOND);
    let report = read_json(&root.path().join("site/report.json"));
    let changes = &report["changes"];
    assert_eq!(changes["since"], FIRST);
    let change = |list: &str, name: &str| {
        changes[list].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap().clone()
    };
    for (list, name) in [("outputs", "all.txt"), ("outputs", "hosts"), ("feeds", "list")] {
        let c = change(list, name);
        assert_eq!((c["added"].as_u64(), c["removed"].as_u64()), (Some(1), Some(1)), "{name}");
        assert_eq!(c["added_examples"], serde_json::json!(["new.example"]), "{name}");
        assert_eq!(c["removed_examples"], serde_json::json!(["good.example"]), "{name}");
    }

    let page = std::fs::read_to_string(root.path().join("site/changes.html")).unwrap();
    assert!(page.contains("<code>new.example</code>"), "{page}");
    assert!(page.contains("<code>good.example</code>"), "{page}");
    let feed = std::fs::read_to_string(root.path().join("site/feeds/list.html")).unwrap();
    assert!(feed.contains("<strong>+1</strong>") && feed.contains("<strong>−1</strong>"), "{feed}");

    // A third build with nothing changed: nothing gained, nothing lost.
    build(root.path(), "2026-08-25T00:00:00Z");
    let report = read_json(&root.path().join("site/report.json"));
    for c in report["changes"]["outputs"].as_array().unwrap() {
        assert_eq!((c["added"].as_u64(), c["removed"].as_u64()), (Some(0), Some(0)), "{c}");
    }
}
