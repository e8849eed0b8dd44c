//! The schemas against real definitions: every file the repository ships validates, and what
//! serde refuses, the schema refuses too.

use std::path::{Path, PathBuf};

use serde::de::DeserializeOwned;
use serde_json::Value;

use super::schemas;
use crate::config::load::{parse_toml, parse_yaml};
use crate::config::{DecayConfig, FeedConfig, ProjectConfig, TaskConfig};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The validator of the schema `file_name`.
fn validator(file_name: &str) -> jsonschema::Validator {
    let schema = schemas().into_iter().find(|s| s.file_name == file_name).expect("a schema");
    let schema: Value = serde_json::from_str(&schema.text).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema compiles")
}

/// A definition file read as a JSON value, through the loader's own parsers.
fn as_json(path: &Path) -> Value {
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let parsed = match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => parse_toml::<Value>(&text).map_err(|p| p.message),
        Some("yaml" | "yml") => parse_yaml::<Value>(&text).map_err(|p| p.message),
        Some("json") => serde_json::from_str(&text).map_err(|e| e.to_string()),
        _ => panic!("{}: not a definition file", path.display()),
    };
    parsed.unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every definition file of the repository at `root`, with the schema that describes it.
fn definition_files(root: &Path) -> Vec<(PathBuf, &'static str)> {
    let mut files = Vec::new();
    if root.join("feedsmith.toml").is_file() {
        files.push((root.join("feedsmith.toml"), "feedsmith.schema.json"));
    }
    for (dir, schema, extensions) in [
        ("feeds.d", "feed.schema.json", &["toml", "yaml", "yml"][..]),
        ("tasks.d", "task.schema.json", &["toml", "yaml", "yml"]),
        ("decay.d", "decay.schema.json", &["toml", "yaml", "yml"]),
        ("warninglists.d", "warninglist.schema.json", &["json"]),
    ] {
        let Ok(entries) = std::fs::read_dir(root.join(dir)) else { continue };
        for entry in entries {
            let path = entry.unwrap().path();
            let ext = path.extension().and_then(|e| e.to_str()).unwrap_or_default();
            if extensions.contains(&ext) {
                files.push((path, schema));
            }
        }
    }
    files.sort();
    files
}

/// The schema's complaints about `value`, one line each.
fn errors(schema: &str, value: &Value) -> Vec<String> {
    validator(schema).iter_errors(value).map(|e| format!("{}: {e}", e.instance_path())).collect()
}

#[test]
fn every_definition_in_the_repository_validates_against_its_schema() {
    let mut roots = vec![repo()];
    for entry in std::fs::read_dir(repo().join("tests/fixtures/projects")).unwrap() {
        roots.push(entry.unwrap().path());
    }
    let mut checked = Vec::new();
    for root in roots {
        for (path, schema) in definition_files(&root) {
            let problems = errors(schema, &as_json(&path));
            assert!(problems.is_empty(), "{}:\n{}", path.display(), problems.join("\n"));
            checked.push(schema);
        }
    }
    // Each kind is covered, and the repository's own feeds folder alone holds dozens of files.
    for schema in schemas() {
        assert!(
            checked.contains(&schema.file_name),
            "no file checked against {}",
            schema.file_name
        );
    }
    let feeds = std::fs::read_dir(repo().join("feeds.d")).unwrap().count();
    assert!(checked.iter().filter(|s| **s == "feed.schema.json").count() >= feeds);
}

/// Whether serde, as the loader calls it, reads the file as `T`.
fn loads<T: DeserializeOwned>(path: &Path) -> bool {
    let text = std::fs::read_to_string(path).unwrap();
    match path.extension().and_then(|e| e.to_str()) {
        Some("toml") => parse_toml::<T>(&text).is_ok(),
        _ => parse_yaml::<T>(&text).is_ok(),
    }
}

#[test]
fn every_invalid_fixture_file_that_serde_refuses_fails_its_schema() {
    let mut refused = 0;
    for case in std::fs::read_dir(repo().join("tests/fixtures/invalid")).unwrap() {
        let case = case.unwrap().path();
        for (path, schema) in definition_files(&case) {
            let loaded = match schema {
                "feedsmith.schema.json" => loads::<ProjectConfig>(&path),
                "feed.schema.json" => loads::<FeedConfig>(&path),
                "task.schema.json" => loads::<TaskConfig>(&path),
                "decay.schema.json" => loads::<DecayConfig>(&path),
                // Warning lists are checked whole by `filter`; their JSON syntax may be broken.
                _ => continue,
            };
            // A file that is not even TOML or YAML has no value to validate.
            let text = std::fs::read_to_string(&path).unwrap();
            let value = match path.extension().and_then(|e| e.to_str()) {
                Some("toml") => parse_toml::<Value>(&text).ok(),
                _ => parse_yaml::<Value>(&text).ok(),
            };
            let Some(value) = value else { continue };
            if !loaded {
                refused += 1;
                assert!(
                    !errors(schema, &value).is_empty(),
                    "{}: serde refuses it, the schema accepts it",
                    path.display()
                );
            }
        }
    }
    // unknown-key, wrong-type and unknown-format at least.
    assert!(refused >= 3, "only {refused} files refused by serde");
}

const FEED: &str = "name = \"Example\"\nprovider = \"example.org\"\n\
                    url = \"https://example.org/list.csv\"\nformat = \"csv\"\n";

fn toml_value(text: &str) -> Value {
    parse_toml::<Value>(text).expect("TOML")
}

#[test]
fn an_unknown_key_fails_the_schema_and_the_loader() {
    let text = format!("{FEED}refresh_sec = 60\n");
    assert!(parse_toml::<FeedConfig>(&text).is_err());
    let problems = errors("feed.schema.json", &toml_value(&text));
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].contains("refresh_sec"), "{problems:?}");

    let nested = format!("{FEED}[csv]\nvalue_column = [1]\n");
    assert!(parse_toml::<FeedConfig>(&nested).is_err());
    let problems = errors("feed.schema.json", &toml_value(&nested));
    assert!(problems.iter().any(|p| p.starts_with("/csv") && p.contains("value_column")));
}

#[test]
fn a_wrong_type_or_value_fails_the_schema_and_the_loader() {
    for (text, at) in [
        (format!("{FEED}enabled = \"yes\"\n"), "/enabled"),
        (format!("{FEED}refresh_secs = -1\n"), "/refresh_secs"),
        (FEED.replace("\"csv\"", "\"xml\""), "/format"),
        // An optional table is "the table or null" (YAML may write `csv: ~`), so the error is
        // reported at the table.
        (format!("{FEED}[csv]\nvalue_columns = [true]\n"), "/csv"),
    ] {
        assert!(parse_toml::<FeedConfig>(&text).is_err(), "{text}");
        let problems = errors("feed.schema.json", &toml_value(&text));
        assert!(problems.iter().any(|p| p.starts_with(&format!("{at}:"))), "{text}: {problems:?}");
    }
    let task = "name = \"t\"\n[[outputs]]\nformat = \"plain\"\npath = 3\n";
    assert!(parse_toml::<TaskConfig>(task).is_err());
    assert!(!errors("task.schema.json", &toml_value(task)).is_empty());
}

#[test]
fn what_the_hand_written_readers_accept_the_schema_accepts() {
    // A CSV column by number or by header name.
    let text = format!(
        "{FEED}[csv]\nheader = true\nvalue_columns = [2, \"ioc\"]\ntype_column = \"type\"\n"
    );
    assert!(parse_toml::<FeedConfig>(&text).is_ok());
    assert_eq!(errors("feed.schema.json", &toml_value(&text)), Vec::<String>::new());
    // MISP's spelling of each formula, as a model exported from MISP writes it.
    for kind in crate::config::DecayKind::ALL {
        for name in [kind.name(), kind.misp_name()] {
            let text = format!(
                "name = \"m\"\ntype = \"{name}\"\nlifetime_days = 1\ndecay_speed = 1\n\
                 attribute_types = [\"ip-dst\"]\n"
            );
            assert!(parse_toml::<DecayConfig>(&text).is_ok(), "{text}");
            assert_eq!(errors("decay.schema.json", &toml_value(&text)), Vec::<String>::new());
        }
    }
    // A YAML feed, null for an optional value included.
    let yaml = "name: Example\nprovider: example.org\nurl: https://example.org/l.txt\n\
                format: freetext\nbase_score: ~\ntags: [c2]\n";
    assert!(parse_yaml::<FeedConfig>(yaml).is_ok());
    let value = parse_yaml::<Value>(yaml).unwrap();
    assert_eq!(errors("feed.schema.json", &value), Vec::<String>::new());
}

#[test]
fn descriptions_come_from_the_field_docs() {
    let feed: Value = serde_json::from_str(
        &schemas().into_iter().find(|s| s.file_name == "feed.schema.json").unwrap().text,
    )
    .unwrap();
    let refresh = &feed["properties"]["refresh_secs"];
    let description = refresh["description"].as_str().unwrap();
    assert!(description.contains("in seconds") && description.contains("Default: 0"));
    assert_eq!(refresh["default"], 0);
    assert_eq!(feed["additionalProperties"], false);
    let mut required: Vec<&str> =
        feed["required"].as_array().unwrap().iter().filter_map(Value::as_str).collect();
    required.sort_unstable();
    assert_eq!(required, ["format", "name", "provider"]);
}
