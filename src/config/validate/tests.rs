//! Tests of the checks and of whole fixture projects: every case under
//! `tests/fixtures/invalid/<case>/` holds an `expected.txt`, written by hand from the fixture,
//! with the exact diagnostics `load` must report.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};

use super::*;
use crate::config::load;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

/// The diagnostics of a fixture project, one Display line each.
fn diagnostics_of(root: &Path) -> Vec<String> {
    match load(root) {
        Ok(_) => Vec::new(),
        Err(errors) => errors.diagnostics.iter().map(ToString::to_string).collect(),
    }
}

fn assert_invalid_case(case: &str) {
    let root = fixtures().join("invalid").join(case);
    let expected = fs::read_to_string(root.join("expected.txt")).expect("expected.txt");
    let expected: Vec<&str> = expected.lines().filter(|l| !l.is_empty()).collect();
    assert_eq!(diagnostics_of(&root), expected, "case `{case}`");
}

#[test]
fn reports_an_unknown_key_at_the_key() {
    assert_invalid_case("unknown-key");
}

#[test]
fn rejects_empty_budgets_budgets_without_room_for_the_header_and_budgets_on_data_exports() {
    assert_invalid_case("bad-budget");
}

#[test]
fn reports_a_value_of_the_wrong_type_at_the_value() {
    assert_invalid_case("wrong-type");
}

#[test]
fn reports_an_unknown_format_at_the_value() {
    assert_invalid_case("unknown-format");
}

#[test]
fn rejects_a_decay_model_with_zero_lifetime() {
    assert_invalid_case("zero-lifetime");
}

#[test]
fn rejects_a_two_character_delimiter() {
    assert_invalid_case("two-char-delimiter");
}

#[test]
fn errors_when_feed_id_duplicated_across_toml_and_yaml() {
    assert_invalid_case("duplicate-id");
}

#[test]
fn reports_a_task_naming_an_unknown_feed_at_the_list_element() {
    assert_invalid_case("unknown-feed");
}

#[test]
fn reports_a_task_naming_a_feed_tag_no_feed_carries() {
    assert_invalid_case("unknown-feed-tag");
}

#[test]
fn reports_a_task_naming_an_unknown_model() {
    assert_invalid_case("unknown-model");
}

#[test]
fn locates_errors_in_yaml_files() {
    assert_invalid_case("bad-yaml");
}

#[test]
fn reports_a_regex_that_does_not_compile() {
    assert_invalid_case("bad-regex");
}

#[test]
fn rejects_a_feed_with_both_url_and_path() {
    assert_invalid_case("url-and-path");
}

#[test]
fn reports_every_problem_of_a_project_at_once() {
    assert_invalid_case("three-errors");
    let root = fixtures().join("invalid/three-errors");
    assert_eq!(diagnostics_of(&root).len(), 3);
}

#[test]
fn errors_when_a_task_names_an_unknown_warning_list() {
    assert_invalid_case("unknown-warninglist");
}

#[test]
fn reports_malformed_warning_lists_at_their_entry_or_key_and_not_their_references() {
    assert_invalid_case("bad-warninglist");
}

#[test]
fn locates_template_errors_in_the_template_and_missing_ones_at_the_output() {
    assert_invalid_case("bad-templates");
}

#[test]
fn a_task_applies_every_warning_list_by_default_and_none_with_an_empty_list() {
    let root = tempfile::tempdir().expect("temp dir");
    let write = |relative: &str, text: &str| {
        let path = root.path().join(relative);
        fs::create_dir_all(path.parent().expect("parent")).expect("folder");
        fs::write(path, text).expect("write");
    };
    let list = |name: &str| {
        format!(
            r#"{{"name": "{name}", "version": 1, "description": "", "type": "string", "list": ["x"]}}"#
        )
    };
    write("warninglists.d/b-list.json", &list("B"));
    write("warninglists.d/a-list.json", &list("A"));
    write("warninglists.d/SOURCES.md", "notes\n");
    let outputs = "[[outputs]]\nformat = \"plain\"\n";
    write("tasks.d/all.toml", &format!("name = \"all\"\n{outputs}path = \"all.txt\"\n"));
    write(
        "tasks.d/none.toml",
        &format!("name = \"none\"\n[select]\nwarninglists = []\n{outputs}path = \"none.txt\"\n"),
    );
    write(
        "tasks.d/one.toml",
        &format!(
            "name = \"one\"\n[select]\nwarninglists = [\"b-list\", \"b-list\"]\n{outputs}path = \"one.txt\"\n"
        ),
    );
    let project = load(root.path()).expect("valid project");
    let ids: Vec<&str> = project.warninglists.iter().map(|l| l.id.as_str()).collect();
    assert_eq!(ids, ["a-list", "b-list"]);
    assert_eq!(project.warninglists[0].list.name(), "A");
    assert_eq!(project.warninglists[0].file, Path::new("warninglists.d/a-list.json"));
    let task = |id: &str| project.tasks.iter().find(|t| t.id == id).expect("task");
    assert_eq!(task("all").warninglists, [0, 1]);
    assert!(task("none").warninglists.is_empty());
    assert_eq!(task("one").warninglists, [1]);
}

#[test]
fn every_invalid_fixture_has_a_test() {
    let mut cases: Vec<String> = fs::read_dir(fixtures().join("invalid"))
        .expect("fixtures")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    cases.sort();
    let tested = [
        "bad-budget",
        "bad-regex",
        "bad-templates",
        "bad-warninglist",
        "bad-yaml",
        "duplicate-id",
        "three-errors",
        "two-char-delimiter",
        "unknown-feed",
        "unknown-feed-tag",
        "unknown-format",
        "unknown-key",
        "unknown-model",
        "unknown-warninglist",
        "url-and-path",
        "wrong-type",
        "zero-lifetime",
    ];
    assert_eq!(cases, tested);
}

#[test]
fn loads_the_minimal_project_with_default_settings() {
    let root = fixtures().join("projects/minimal");
    let project = load(&root).expect("valid project");
    let root = std::path::absolute(&root).expect("absolute");
    assert_eq!(project.root, root);
    let settings = &project.settings;
    assert_eq!(settings.title, "feedsmith");
    assert_eq!(settings.base_url, None);
    assert_eq!(settings.output_dir, root.join("site"));
    assert_eq!(settings.cache_dir, root.join(".feedsmith/cache"));
    assert_eq!(settings.state_dir, root.join(".feedsmith/state"));
    assert_eq!(settings.timeout, Duration::from_mins(1));
    assert_eq!(settings.concurrency, 8);
    assert_eq!(settings.max_body_bytes, 200 * 1024 * 1024);

    assert_eq!(project.feeds.len(), 1);
    let feed = &project.feeds[0];
    assert_eq!(feed.id, "local");
    assert_eq!(feed.file, Path::new("feeds.d/local.toml"));
    assert_eq!(feed.source, Source::Path(root.join("data/blocklist.txt")));
    assert_eq!(feed.config.format, FeedFormat::Freetext);
    assert!(feed.config.enabled);
    assert!(feed.freetext.skip_comments);
    assert!(!feed.freetext.strict_zero_padded);
    assert_eq!(feed.csv.delimiter, ",");
    assert!(feed.misp.to_ids_only);
    assert!(feed.exclude.is_none());

    assert!(project.models.is_empty());
    assert_eq!(project.tasks.len(), 1);
    let task = &project.tasks[0];
    assert_eq!(task.id, "blocklist");
    assert_eq!(task.feeds, vec![0]);
    assert!(task.types.is_empty());
    assert_eq!(task.model, ModelChoice::Auto);
    // No `[select]` table: the same defaults as an empty one.
    assert_eq!(task.config.select.model, "auto");
    assert!(task.config.select.keep_unscored);
    assert_eq!(task.config.outputs[0].format, OutputFormat::Plain);
}

/// A throw-away repository made of `(relative path, contents)` pairs.
fn repo(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (path, text) in files {
        let path = dir.path().join(path);
        fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }
    dir
}

const FEED_A: &str = "name = \"A\"\nprovider = \"p\"\nurl = \"https://a.example/x.txt\"\n\
                      format = \"freetext\"\ntags = [\"c2\"]\n";
const FEED_B_DISABLED: &str = "name = \"B\"\nprovider = \"p\"\n\
                               url = \"https://b.example/x.txt\"\nformat = \"freetext\"\n\
                               enabled = false\ntags = [\"c2\"]\n";
const FEED_C: &str = "name: C\nprovider: p\nurl: https://c.example/x.txt\nformat: freetext\n\
                      tags: [phishing]\n";

#[test]
fn selects_named_feeds_and_tagged_feeds_but_never_disabled_ones() {
    let dir = repo(&[
        ("feeds.d/a.toml", FEED_A),
        ("feeds.d/b.toml", FEED_B_DISABLED),
        ("feeds.d/c.yml", FEED_C),
        (
            "tasks.d/by-tag.toml",
            "name = \"t\"\n[select]\nfeed_tags = [\"c2\"]\n[[outputs]]\nformat = \"plain\"\n\
             path = \"t.txt\"\n",
        ),
        (
            "tasks.d/named.toml",
            "name = \"t\"\n[select]\nfeeds = [\"b\", \"c\"]\n[[outputs]]\nformat = \"plain\"\n\
             path = \"n.txt\"\n",
        ),
        ("tasks.d/every.yaml", "name: t\noutputs:\n  - format: plain\n    path: e.txt\n"),
    ]);
    let project = load(dir.path()).expect("valid");
    let ids: Vec<&str> = project.feeds.iter().map(|f| f.id.as_str()).collect();
    assert_eq!(ids, ["a", "b", "c"]);
    let task = |id: &str| project.tasks.iter().find(|t| t.id == id).expect("task");
    assert_eq!(task("by-tag").feeds, vec![0]);
    assert_eq!(task("named").feeds, vec![2]);
    assert_eq!(task("every").feeds, vec![0, 2]);
}

#[test]
fn strips_the_trailing_slash_of_a_misp_feed_url() {
    let dir = repo(&[(
        "feeds.d/circl.toml",
        "name = \"CIRCL\"\nprovider = \"CIRCL\"\n\
         url = \"https://www.circl.lu/doc/misp/feed-osint/\"\nformat = \"misp\"\n",
    )]);
    let project = load(dir.path()).expect("valid");
    assert_eq!(
        project.feeds[0].source,
        Source::Url("https://www.circl.lu/doc/misp/feed-osint".to_owned())
    );
}

#[test]
fn reads_project_settings_and_keeps_known_model_types_only() {
    let dir = repo(&[
        (
            "feedsmith.toml",
            "title = \"Team feeds\"\noutput_dir = \"public\"\n[fetch]\nconcurrency = 2\n",
        ),
        (
            "decay.d/nids.yaml",
            "name: NIDS\nlifetime_days: 120\ndecay_speed: 2\n\
             attribute_types: [ip-dst, snort, domain, ip-dst]\n",
        ),
    ]);
    let project = load(dir.path()).expect("valid");
    assert_eq!(project.settings.title, "Team feeds");
    assert_eq!(project.settings.output_dir, project.root.join("public"));
    assert_eq!(project.settings.concurrency, 2);
    assert_eq!(project.settings.timeout, Duration::from_mins(1));
    assert_eq!(project.models[0].types, vec![AttrType::IpDst, AttrType::Domain]);
}

#[test]
fn skips_files_of_other_extensions() {
    let dir = repo(&[("feeds.d/a.toml", FEED_A), ("feeds.d/README.md", "# notes\n")]);
    let project = load(dir.path()).expect("valid");
    assert_eq!(project.feeds.len(), 1);
}

#[test]
fn rejects_a_file_name_that_is_not_an_id() {
    let dir = repo(&[("feeds.d/Feodo.toml", FEED_A)]);
    assert_eq!(
        diagnostics_of(dir.path()),
        ["feeds.d/Feodo.toml:1:1: `Feodo` is not a valid id: use lower-case letters, digits, \
          `_` and `-`, starting with a letter or digit"]
    );
}

#[test]
fn does_not_report_references_to_a_file_that_failed_to_parse() {
    let dir = repo(&[
        ("feeds.d/a.toml", "name = \"A\"\n"),
        (
            "tasks.d/t.toml",
            "name = \"t\"\n[select]\nfeeds = [\"a\"]\n[[outputs]]\nformat = \"plain\"\n\
             path = \"t.txt\"\n",
        ),
    ]);
    let found = diagnostics_of(dir.path());
    assert_eq!(found, ["feeds.d/a.toml:1:1: missing field `provider`"]);
}

#[test]
fn places_a_missing_yaml_key_at_the_table_that_lacks_it() {
    let dir = repo(&[
        ("tasks.d/t.yaml", "name: t\noutputs:\n  - format: plain\n    tlp: tlp:red\n"),
        ("feeds.d/f.yaml", "name: F\nformat: csv\n"),
    ]);
    assert_eq!(
        diagnostics_of(dir.path()),
        [
            "feeds.d/f.yaml:1:1: missing field `provider`",
            "tasks.d/t.yaml:3:5: `outputs[0]`: missing field `path`",
        ]
    );
}

#[test]
fn places_a_missing_toml_key_of_an_array_of_tables_at_its_header() {
    let dir = repo(&[("tasks.d/t.toml", "name = \"t\"\n\n[[outputs]]\nformat = \"plain\"\n")]);
    assert_eq!(
        diagnostics_of(dir.path()),
        ["tasks.d/t.toml:3:1: `outputs[0]`: missing field `path`"]
    );
}

#[test]
fn reports_a_feed_without_source_and_settings_of_another_format() {
    let dir = repo(&[(
        "feeds.d/m.toml",
        "name = \"M\"\nprovider = \"p\"\nformat = \"misp\"\n\n[csv]\nheader_lines = 1\n",
    )]);
    assert_eq!(
        diagnostics_of(dir.path()),
        [
            "feeds.d/m.toml:1:1: a feed needs one of `url` and `path`",
            "feeds.d/m.toml:5:2: `csv`: settings for `format = \"csv\"`, but the feed's format \
             is `misp`",
        ]
    );
}

#[test]
fn checks_feed_values_one_by_one() {
    let dir = repo(&[(
        "feeds.d/f.toml",
        "name = \"F\"\nprovider = \"p\"\nurl = \"ftp://f.example/x\"\nformat = \"csv\"\n\
         base_score = -1\nhomepage = \"javascript:alert(1)\"\n\
         headers_from_env = { \"X Key\" = \"1TOKEN\" }\n\
         [csv]\nvalue_columns = [1, 0]\ncomment_prefix = \"\"\n",
    )]);
    assert_eq!(
        diagnostics_of(dir.path()),
        [
            "feeds.d/f.toml:3:1: `url`: `ftp://f.example/x` is not an http or https URL",
            "feeds.d/f.toml:5:1: `base_score`: must be a number 0 or more, not -1",
            "feeds.d/f.toml:6:1: `homepage`: `javascript:alert(1)` is not an http or https URL",
            "feeds.d/f.toml:7:22: `headers_from_env.X Key`: `X Key` is not an HTTP header name",
            "feeds.d/f.toml:7:22: `headers_from_env.X Key`: `1TOKEN` is not an environment \
             variable name (letters, digits and `_`, not starting with a digit)",
            "feeds.d/f.toml:9:21: `csv.value_columns[1]`: columns are numbered from 1, as in MISP",
            "feeds.d/f.toml:10:1: `csv.comment_prefix`: an empty prefix would make every row a \
             comment",
        ]
    );
}

#[test]
fn rejects_credentials_in_a_feed_url() {
    let dir = repo(&[(
        "feeds.d/f.toml",
        "name = \"F\"\nprovider = \"p\"\nurl = \"https://user:secret@f.example/x\"\n\
         format = \"freetext\"\n",
    )]);
    let found = diagnostics_of(dir.path());
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("feeds.d/f.toml:3:1: `url`: credentials"), "{found:?}");
    assert!(!found[0].contains("secret"), "the secret must not be echoed: {found:?}");
}

#[test]
fn a_missing_local_path_is_not_a_definition_error() {
    // The file may come from an earlier CI step; the build fails the feed if it is missing.
    let dir = repo(&[(
        "feeds.d/f.yaml",
        "name: F\nprovider: p\npath: data/none.txt\nformat: freetext\n",
    )]);
    assert!(diagnostics_of(dir.path()).is_empty());
}

#[test]
fn refuses_a_local_path_outside_the_repository() {
    for path in ["../secret.env", "/etc/passwd", "data/../../x"] {
        let dir = repo(&[(
            "feeds.d/f.toml",
            &format!("name = \"F\"\nprovider = \"p\"\npath = \"{path}\"\nformat = \"freetext\"\n"),
        )]);
        assert_eq!(
            diagnostics_of(dir.path()),
            [format!(
                "feeds.d/f.toml:3:1: `path`: `{path}` is outside the repository; a feed's `path` \
                 is relative to the repository root and stays inside it"
            )]
        );
    }
}

#[test]
fn checks_task_selection_and_outputs() {
    let dir = repo(&[
        ("feeds.d/a.toml", FEED_A),
        (
            "tasks.d/t.toml",
            "name = \"t\"\n[select]\ntypes = [\"ip-dst\", \"ipv4\"]\nip_version = 5\n\
             [[outputs]]\nformat = \"plain\"\npath = \"/etc/x\"\ntlp = \"tlp:red\"\n\
             [[outputs]]\nformat = \"misp-feed\"\npath = \"misp\"\nthreat_level = 0\n\
             tlp = \"red\"\n[[outputs]]\nformat = \"plain\"\npath = \"misp/list.txt\"\n",
        ),
        ("tasks.d/u.toml", "name = \"u\"\noutputs = []\n"),
    ]);
    assert_eq!(
        diagnostics_of(dir.path()),
        [
            "tasks.d/t.toml:3:20: `select.types[1]`: unknown attribute type `ipv4`",
            "tasks.d/t.toml:4:1: `select.ip_version`: must be 4 or 6, not 5",
            "tasks.d/t.toml:7:1: `outputs[0].path`: `/etc/x` is absolute; paths are inside the \
             output folder",
            "tasks.d/t.toml:8:1: `outputs[0].tlp`: only used with `format = \"misp-feed\"`, and \
             this output is `plain`",
            "tasks.d/t.toml:12:1: `outputs[1].threat_level`: must be 1 (high) to 4 (undefined), \
             not 0",
            "tasks.d/t.toml:13:1: `outputs[1].tlp`: `red` is not one of tlp:clear, tlp:white, \
             tlp:green, tlp:amber, tlp:amber+strict, tlp:red",
            "tasks.d/t.toml:16:1: `outputs[2].path`: `misp/list.txt` is inside `misp`, written \
             by task `t` (`tasks.d/t.toml`)",
            "tasks.d/u.toml:2:1: `outputs`: a task needs at least one output",
        ]
    );
}

#[test]
fn checks_the_misp_feed_event_settings() {
    let dir = repo(&[
        ("feeds.d/a.toml", FEED_A),
        (
            "tasks.d/t.toml",
            "name = \"t\"\n[[outputs]]\nformat = \"misp-feed\"\npath = \"m\"\n\
             retention_days = 0\ndistribution = 4\n\
             [[outputs]]\nformat = \"plain\"\npath = \"p.txt\"\nevents = \"daily\"\n",
        ),
        (
            "tasks.d/u.toml",
            "name = \"u\"\n[[outputs]]\nformat = \"misp-feed\"\npath = \"n\"\nevents = \"weekly\"\n",
        ),
        (
            "tasks.d/v.toml",
            "name = \"v\"\n[[outputs]]\nformat = \"misp-feed\"\npath = \"o\"\nevents = \"daily\"\n\
             retention_days = 3650\ndistribution = 0\n",
        ),
    ]);
    assert_eq!(
        diagnostics_of(dir.path()),
        [
            "tasks.d/t.toml:5:1: `outputs[0].retention_days`: must be 1 to 3650 days, not 0",
            "tasks.d/t.toml:6:1: `outputs[0].distribution`: must be 0 (your organisation only) \
             to 3 (all communities), not 4; 4 needs a sharing group, which a feed cannot carry",
            "tasks.d/t.toml:10:1: `outputs[1].events`: only used with `format = \"misp-feed\"`, \
             and this output is `plain`",
            "tasks.d/u.toml:5:10: `outputs[0].events`: unknown variant `weekly`, expected `fixed` \
             or `daily`",
        ]
    );
}

#[test]
fn checks_format_specific_output_keys() {
    let dir = repo(&[
        ("feeds.d/a.toml", FEED_A),
        (
            "tasks.d/t.toml",
            "name = \"t\"\n\
             [[outputs]]\nformat = \"hosts\"\npath = \"a\"\nzone = \"x.rpz\"\n\
             [[outputs]]\nformat = \"rpz\"\npath = \"b\"\nzone = \"bad zone\"\n\
             [[outputs]]\nformat = \"nftables\"\npath = \"c\"\nset_name = \"9x\"\nmaxelem = 5\n\
             [[outputs]]\nformat = \"panos-edl\"\npath = \"d\"\nlist = \"hash\"\n\
             [[outputs]]\nformat = \"suricata\"\npath = \"e\"\nsid = 0\n\
             [[outputs]]\nformat = \"fortigate\"\npath = \"f\"\nlist = \"hash\"\n",
        ),
        ("tasks.d/bad-.toml", "name = \"u\"\n[[outputs]]\nformat = \"rpz\"\npath = \"g\"\n"),
    ]);
    assert_eq!(
        diagnostics_of(dir.path()),
        [
            "tasks.d/bad-.toml:2:1: `outputs[0].zone`: `bad-.rpz` may hold only letters, digits, \
             `_`, inner `-` and dots (the default zone, from the task id); set `zone`",
            "tasks.d/t.toml:5:1: `outputs[0].zone`: only used with `format = \"rpz\"`, and this \
             output is `hosts`",
            "tasks.d/t.toml:9:1: `outputs[1].zone`: `bad zone` may hold only letters, digits, \
             `_`, inner `-` and dots",
            "tasks.d/t.toml:13:1: `outputs[2].set_name`: `9x` must be a letter, then letters, \
             digits and `_`, at most 24 characters",
            "tasks.d/t.toml:14:1: `outputs[2].maxelem`: only used with `format = \"ipset\"`, and \
             this output is `nftables`",
            "tasks.d/t.toml:18:1: `outputs[3].list`: `hash` lists are FortiGate's only; PAN-OS \
             lists are `ip`, `domain` or `url`",
            "tasks.d/t.toml:22:1: `outputs[4].sid`: must leave room for five rules from 1 to \
             4294967291, not 0",
        ]
    );
}

#[test]
fn reports_an_output_path_used_by_two_tasks() {
    let task = "name = \"t\"\n[[outputs]]\nformat = \"plain\"\npath = \"all.txt\"\n";
    let dir = repo(&[("tasks.d/a.toml", task), ("tasks.d/b.toml", task)]);
    assert_eq!(
        diagnostics_of(dir.path()),
        ["tasks.d/b.toml:4:1: `outputs[0].path`: `all.txt` is also `all.txt`, written by task \
          `a` (`tasks.d/a.toml`)"]
    );
}

#[test]
fn refuses_an_output_folder_that_would_replace_the_repository() {
    let dir = repo(&[("feedsmith.toml", "output_dir = \".\"\n")]);
    let found = diagnostics_of(dir.path());
    assert_eq!(found.len(), 1);
    assert!(found[0].starts_with("feedsmith.toml:1:1: `output_dir`: "), "{found:?}");
    let dir = repo(&[("feedsmith.toml", "\n\noutput_dir = \"feeds.d/out\"\n")]);
    assert_eq!(
        diagnostics_of(dir.path()),
        ["feedsmith.toml:3:1: `output_dir`: `feeds.d` holds definitions, and a build replaces \
          the output folder whole"]
    );
}

#[test]
fn accepts_one_character_tab_escape_and_a_character_followed_by_spaces() {
    assert_eq!(resolve_delimiter(",").as_deref(), Some(","));
    assert_eq!(resolve_delimiter("\t").as_deref(), Some("\t"));
    assert_eq!(resolve_delimiter("\\t").as_deref(), Some("\t"));
    assert_eq!(resolve_delimiter(", ").as_deref(), Some(", "));
    assert_eq!(resolve_delimiter(";  ").as_deref(), Some(";  "));
    assert_eq!(resolve_delimiter(" ").as_deref(), Some(" "));
    for bad in ["", ";;", "ab", "  ", " ,", ",\t", "\n", "\"", ", x"] {
        assert_eq!(resolve_delimiter(bad), None, "{bad:?}");
    }
}

#[test]
fn compiles_misp_delimited_regexes_with_their_flags() {
    let re = compile_exclude("/\\.example\\.ORG$/i").expect("valid");
    assert!(re.is_match("www.example.org"));
    let re = compile_exclude("^10\\.").expect("bare pattern");
    assert!(re.is_match("10.0.0.1"));
    assert!(!re.is_match("110.0.0.1"));
    let re = compile_exclude("/a.b/s").expect("dot matches newline");
    assert!(re.is_match("a\nb"));
    let err = compile_exclude("/abc/g").expect_err("no global flag");
    assert!(err.contains("unknown flag `g`"), "{err}");
    assert!(compile_exclude("//").is_err());
    assert!(compile_exclude("").is_err());
}

#[test]
fn accepts_header_token_names_and_shell_variable_names() {
    assert!(is_header_name("Authorization"));
    assert!(is_header_name("X-Api-Key"));
    assert!(!is_header_name("X Key"));
    assert!(!is_header_name("X:Key"));
    assert!(!is_header_name(""));
    assert!(is_env_var_name("ABUSE_CH_KEY"));
    assert!(is_env_var_name("_key2"));
    assert!(!is_env_var_name("2KEY"));
    assert!(!is_env_var_name("KEY-2"));
    assert!(!is_env_var_name(""));
}

#[test]
fn keeps_output_paths_inside_the_output_folder() {
    assert!(check_output_path("ipv4.txt").is_ok());
    assert!(check_output_path("dns/rpz.zone").is_ok());
    for bad in ["", "/abs", "C:/x", "a\\b", "../x", "a/../b", "a//b", "./a", "a/", "a\nb"] {
        assert!(check_output_path(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn refuses_output_paths_that_are_not_plain_url_paths_or_that_take_a_site_name() {
    let outputs = [
        "javascript:alert(1)",
        "a b.txt",
        "list\".txt",
        "100%.txt",
        "index.html",
        "report.json",
        "feeds/extra.txt",
        "tasks",
        "models/nids.html",
        "SHA256SUMS",
    ];
    let mut task = "name = \"t\"\n".to_owned();
    for path in outputs {
        let _ = write!(task, "[[outputs]]\nformat = \"plain\"\npath = '{path}'\n");
    }
    let dir = repo(&[("tasks.d/t.toml", &task)]);
    let diagnostics = diagnostics_of(dir.path());
    assert_eq!(diagnostics.len(), outputs.len(), "{diagnostics:#?}");
    for (i, (diagnostic, path)) in diagnostics.iter().zip(outputs).enumerate() {
        assert!(
            diagnostic.contains(&format!("`outputs[{i}].path`: `{path}`")),
            "{diagnostic} should name outputs[{i}] = {path}"
        );
    }
    assert!(diagnostics[0].contains("holds `:`"), "{}", diagnostics[0]);
    assert!(diagnostics[4].contains("the site's own `index.html`"), "{}", diagnostics[4]);
    assert!(diagnostics[6].contains("the site's own `feeds`"), "{}", diagnostics[6]);
    assert!(diagnostics[8].contains("the site's own `models`"), "{}", diagnostics[8]);
    assert!(diagnostics[9].contains("the site's own `SHA256SUMS`"), "{}", diagnostics[9]);
}

#[test]
fn accepts_the_usual_output_paths() {
    let task = "name = \"t\"\n[[outputs]]\nformat = \"plain\"\npath = \"blocklists/ipv4-c2_v1.txt\"\n\
                [[outputs]]\nformat = \"misp-feed\"\npath = \"misp/c2+botnet\"\n";
    let dir = repo(&[("tasks.d/t.toml", task)]);
    assert_eq!(diagnostics_of(dir.path()), Vec::<String>::new());
}

#[test]
fn loads_csv_columns_by_header_name_and_a_json_definition() {
    let csv = "name = \"T\"\nprovider = \"abuse.ch\"\nurl = \"https://t.example/x.csv\"\n\
               format = \"csv\"\n\n[csv]\ndelimiter = \", \"\nheader = true\n\
               value_columns = [\"ioc_value\"]\ntype_column = \"ioc_type\"\n\
               first_seen_column = \"first_seen_utc\"\nlast_seen_column = 9\n\
               tags_column = \"tags\"\n\n[csv.type_map]\n\"ip:port\" = \"ip-dst|port\"\n";
    let json = "name: D\nprovider: Spamhaus\nurl: https://d.example/drop_v4.json\nformat: json\n\
                json:\n  value_field: cidr\n  records: data.*\n  tags_field: meta.tags\n";
    let dir = repo(&[("feeds.d/t.toml", csv), ("feeds.d/d.yaml", json)]);
    let project = load(dir.path()).expect("valid");
    let t = project.feeds.iter().find(|f| f.id == "t").unwrap();
    assert_eq!(t.csv.value_columns, [Column::Name("ioc_value".to_owned())]);
    assert_eq!(t.csv.last_seen_column, Some(Column::Number(9)));
    assert_eq!(t.csv.type_map["ip:port"], "ip-dst|port");
    assert_eq!(t.csv.tag_separator, ",");
    let d = project.feeds.iter().find(|f| f.id == "d").unwrap();
    assert_eq!(d.config.format, FeedFormat::Json);
    assert_eq!(d.json.value_field, "cidr");
    assert_eq!(d.json.records.as_deref(), Some("data.*"));
    assert_eq!(d.json.tags_field.as_deref(), Some("meta.tags"));
}

#[test]
fn reports_every_bad_csv_column_setting_at_its_key() {
    let dir = repo(&[(
        "feeds.d/f.toml",
        "name = \"F\"\nprovider = \"p\"\nurl = \"https://f.example/x\"\nformat = \"csv\"\n\
         [csv]\nvalue_columns = [\"ioc_value\", 20]\ncolumn_count = 14\ntype_column = 0\n\
         tag_separator = \"\"\n[csv.type_map]\nsha256_hash = \"sha-256\"\n",
    )]);
    assert_eq!(
        diagnostics_of(dir.path()),
        [
            "feeds.d/f.toml:6:18: `csv.value_columns[0]`: `ioc_value` is a column name, which \
             needs `csv.header = true` to read the names from the header; or give the column's \
             1-based number",
            "feeds.d/f.toml:6:31: `csv.value_columns[1]`: column 20 is beyond \
             `csv.column_count` = 14",
            "feeds.d/f.toml:8:1: `csv.type_column`: columns are numbered from 1, as in MISP",
            "feeds.d/f.toml:9:1: `csv.tag_separator`: must not be empty",
            "feeds.d/f.toml:11:1: `csv.type_map.sha256_hash`: `sha-256` is not a MISP \
             attribute type feedsmith knows (such as `ip-dst`, `domain`, `url`, `sha256`)",
        ]
    );
}

#[test]
fn reports_csv_meta_columns_without_value_columns_and_a_map_without_a_type_column() {
    let dir = repo(&[(
        "feeds.d/f.toml",
        "name = \"F\"\nprovider = \"p\"\nurl = \"https://f.example/x\"\nformat = \"csv\"\n\
         [csv]\ntags_column = 3\ncolumn_count = 0\n[csv.type_map]\nurl = \"url\"\n",
    )]);
    assert_eq!(
        diagnostics_of(dir.path()),
        [
            "feeds.d/f.toml:6:1: `csv.tags_column`: needs `csv.value_columns`: when every \
             column is read as a value, this column would be read as one too",
            "feeds.d/f.toml:7:1: `csv.column_count`: must be at least 1, not 0",
            "feeds.d/f.toml:8:6: `csv.type_map`: has nothing to map without `csv.type_column`",
        ]
    );
}

#[test]
fn reports_bad_json_field_paths_and_json_settings_on_another_format() {
    let dir = repo(&[
        (
            "feeds.d/j.toml",
            "name = \"J\"\nprovider = \"p\"\nurl = \"https://j.example/x.json\"\n\
             format = \"json\"\n[json]\nrecords = \"data..items\"\nvalue_field = \"ioc.*\"\n\
             first_seen_field = \"\"\n[json.type_map]\nip = \"ipv4\"\n",
        ),
        (
            "feeds.d/k.toml",
            "name = \"K\"\nprovider = \"p\"\nurl = \"https://k.example/x\"\n\
             format = \"freetext\"\n[json]\nvalue_field = \"v\"\n",
        ),
    ]);
    assert_eq!(
        diagnostics_of(dir.path()),
        [
            "feeds.d/j.toml:6:1: `json.records`: `data..items` has an empty segment: give keys \
             joined by single dots, such as `data.value`",
            "feeds.d/j.toml:7:1: `json.value_field`: `ioc.*`: `*` selects many values, and a \
             field names one",
            "feeds.d/j.toml:8:1: `json.first_seen_field`: `` has an empty segment: give keys \
             joined by single dots, such as `data.value`",
            "feeds.d/j.toml:9:7: `json.type_map`: has nothing to map without `json.type_field`",
            "feeds.d/j.toml:10:1: `json.type_map.ip`: `ipv4` is not a MISP attribute type \
             feedsmith knows (such as `ip-dst`, `domain`, `url`, `sha256`)",
            "feeds.d/k.toml:5:2: `json`: settings for `format = \"json\"`, but the feed's \
             format is `freetext`",
        ]
    );
}

#[test]
fn reads_misp_rules_and_a_context_pattern() {
    let dir = repo(&[
        (
            "feeds.d/m.toml",
            "name = \"M\"\nprovider = \"p\"\nurl = \"https://m.example/feed/\"\nformat = \"misp\"\n\
             [misp.rules]\ntags_or = [\"tlp:clear\", \"tlp:white\"]\norgs_not = [\"Untrusted\"]\n",
        ),
        (
            "feeds.d/t.toml",
            "name = \"T\"\nprovider = \"p\"\nurl = \"https://t.example/x.txt\"\n\
             format = \"freetext\"\n[freetext]\ncontext_regex = 'checking domain: \\S+'\n",
        ),
    ]);
    let project = load(dir.path()).expect("valid");
    let rules = &project.feeds[0].misp.rules;
    assert_eq!(rules.tags_or, ["tlp:clear", "tlp:white"]);
    assert_eq!(rules.orgs_not, ["Untrusted"]);
    assert!(rules.tags_not.is_empty() && rules.orgs_or.is_empty());
    let context = project.feeds[1].freetext.context.as_ref().expect("compiled");
    assert!(context.is_match("checking domain: shop.example"));
}

#[test]
fn rejects_empty_misp_rule_entries_unknown_rule_keys_and_bad_context_patterns() {
    let dir = repo(&[
        (
            "feeds.d/m.toml",
            "name = \"M\"\nprovider = \"p\"\nurl = \"https://m.example/feed\"\nformat = \"misp\"\n\
             [misp.rules]\ntags_or = [\"tlp:clear\", \"\"]\norgs_not = [\" \"]\n",
        ),
        (
            "feeds.d/n.toml",
            "name = \"N\"\nprovider = \"p\"\nurl = \"https://n.example/feed\"\nformat = \"misp\"\n\
             [misp.rules]\ntags = [\"tlp:clear\"]\n",
        ),
        (
            "feeds.d/t.toml",
            "name = \"T\"\nprovider = \"p\"\nurl = \"https://t.example/x.txt\"\n\
             format = \"freetext\"\n[freetext]\ncontext_regex = 'a*'\n",
        ),
        (
            "feeds.d/u.toml",
            "name = \"U\"\nprovider = \"p\"\nurl = \"https://u.example/x.txt\"\n\
             format = \"freetext\"\n[freetext]\ncontext_regex = '(unclosed'\n",
        ),
    ]);
    let found = diagnostics_of(dir.path());
    assert_eq!(found.len(), 5, "{found:#?}");
    assert_eq!(
        found[0],
        "feeds.d/m.toml:6:25: `misp.rules.tags_or[1]`: must not be empty: an empty entry matches \
         every tag and organisation name"
    );
    assert_eq!(
        found[1],
        "feeds.d/m.toml:7:13: `misp.rules.orgs_not[0]`: must not be empty: an empty entry \
         matches every tag and organisation name"
    );
    assert_eq!(
        found[2],
        "feeds.d/n.toml:6:1: `misp.rules.tags`: unknown field `tags`, expected one of \
         `tags_or`, `tags_not`, `orgs_or`, `orgs_not`"
    );
    assert_eq!(
        found[3],
        "feeds.d/t.toml:6:1: `freetext.context_regex`: `a*` matches empty text; it must match \
         the text to cut"
    );
    assert!(
        found[4].starts_with("feeds.d/u.toml:6:1: `freetext.context_regex`: `(unclosed` is not a valid regular expression"),
        "{}",
        found[4]
    );
}

#[test]
fn sightings_settings_belong_to_the_sightings_formula() {
    let dir = repo(&[(
        "decay.d/seen.toml",
        "name = \"Seen\"\nlifetime_days = 1\ndecay_speed = 1\n\
         attribute_types = [\"ip-dst\"]\n[sightings]\nminimum_sightings = 2\n",
    )]);
    assert_eq!(
        diagnostics_of(dir.path()),
        ["decay.d/seen.toml:5:2: `sightings`: `sightings` settings belong to \
          `type = \"sightings\"`, not to `polynomial`"]
    );
}

#[test]
fn reads_the_misp_formula_names_and_sightings_settings() {
    let dir = repo(&[
        (
            "decay.d/a.toml",
            "name = \"A\"\ntype = \"PolynomialExtended\"\nlifetime_days = 1\n\
             decay_speed = 1\nattribute_types = [\"ip-dst\"]\n",
        ),
        (
            "decay.d/b.yaml",
            "name: B\ntype: sightings\nlifetime_days: 1\ndecay_speed: 1\n\
             attribute_types: [ip-dst]\nsightings:\n  minimum_sightings: 3\n  \
             false_positive_offset: 0.5\n",
        ),
    ]);
    let project = load(dir.path()).expect("valid");
    assert_eq!(project.models[0].config.kind, DecayKind::PolynomialExtended);
    assert_eq!(project.models[1].config.kind, DecayKind::Sightings);
    assert_eq!(
        project.models[1].config.sightings,
        Some(crate::config::SightingsSettings {
            minimum_sightings: 3,
            true_positive_offset: 0.0,
            false_positive_offset: 0.5,
        })
    );
}

#[test]
#[expect(clippy::float_cmp, reason = "rounding gives the nearest double to the decimal exactly")]
fn model_numbers_are_rounded_to_four_decimals_as_misp_stores_them() {
    let dir = repo(&[(
        "decay.d/a.toml",
        "name = \"A\"\nlifetime_days = 1.00005\ndecay_speed = 2.33333\n\
         threshold = 29.99994\nattribute_types = [\"ip-dst\"]\n\
         [base_score_config]\nretention = 0.16666\n\"false-positive:risk\" = 0.1667\n",
    )]);
    let project = load(dir.path()).expect("valid");
    let config = &project.models[0].config;
    // PHP's round(x, 4): half away from zero on the written digits.
    assert_eq!(config.lifetime_days, 1.0001);
    assert_eq!(config.decay_speed, 2.3333);
    assert_eq!(config.threshold, 29.9999);
    assert_eq!(config.base_score_config["retention"], 0.1667);
    assert_eq!(config.base_score_config["false-positive:risk"], 0.1667);
}

#[test]
#[expect(clippy::float_cmp, reason = "rounding gives the nearest double to the decimal exactly")]
fn round_4_follows_php() {
    assert_eq!(round_4(1.00005), 1.0001);
    assert_eq!(round_4(-1.00005), -1.0001);
    assert_eq!(round_4(0.00004), 0.0);
    assert_eq!(round_4(120.0), 120.0);
    assert_eq!(round_4(0.123_449), 0.1234);
    assert_eq!(round_4(1e20), 1e20);
}

// Found by hostile-input testing: `lifetime_days = 0.00001` passed the check for a positive
// lifetime, then MISP's rounding made it 0, a lifetime MISP divides by and the site drew as
// "0 days".
#[test]
fn a_lifetime_or_decay_speed_that_rounds_to_zero_is_an_error() {
    let dir = repo(&[(
        "decay.d/a.toml",
        "name = \"A\"\nlifetime_days = 0.00001\ndecay_speed = 0.00004\n\
         attribute_types = [\"ip-dst\"]\n",
    )]);
    assert_eq!(
        diagnostics_of(dir.path()),
        [
            "decay.d/a.toml:2:1: `lifetime_days`: must be at least 0.0001: MISP keeps 4 decimal \
             places, and 1e-5 becomes 0",
            "decay.d/a.toml:3:1: `decay_speed`: must be at least 0.0001: MISP keeps 4 decimal \
             places, and 4e-5 becomes 0",
        ]
    );
    // 0.00005 rounds half away from zero, to 0.0001: valid.
    let dir = repo(&[(
        "decay.d/a.toml",
        "name = \"A\"\nlifetime_days = 0.00005\nattribute_types = [\"ip-dst\"]\ndecay_speed = 1\n",
    )]);
    assert!(diagnostics_of(dir.path()).is_empty());
}
