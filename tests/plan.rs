//! `feedsmith plan`: a git repository with two commits of definitions (a feed added, a model
//! changed, a warning list added to a task) over replayed data; the plan's numbers are
//! checked against set operations on the replayed lists.

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::util::{feedsmith, repo};

const NOW: &str = "2026-08-23T00:00:00Z";
const A: &[&str] = &["198.51.100.1", "198.51.100.2", "bad-one.example", "bad-two.example"];
const B: &[&str] = &["198.51.100.2", "198.51.100.3", "198.51.100.4", "bad-one.example"];

fn write(root: &Path, path: &str, text: &str) {
    let path = root.join(path);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

fn git(root: &Path, args: &[&str]) {
    let status = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["-c", "user.name=test", "-c", "user.email=test@example.org"])
        .args(args)
        .status()
        .unwrap();
    assert!(status.success(), "git {args:?}");
}

fn feed(id: &str) -> String {
    format!(
        "name = \"{id}\"\nprovider = \"test\"\nurl = \"http://feeds.test/{id}.txt\"\n\
         format = \"freetext\"\n"
    )
}

fn task(types: &str, model: &str, path: &str, lists: &str) -> String {
    format!(
        "name = \"{path}\"\n[select]\ntypes = [{types}]\nmodel = \"{model}\"\n\
         exclude_reserved = false\nwarninglists = [{lists}]\n\
         [[outputs]]\nformat = \"plain\"\npath = \"{path}\"\n"
    )
}

fn is_ip(value: &&str) -> bool {
    value.parse::<std::net::IpAddr>().is_ok()
}

fn set(values: impl IntoIterator<Item = &'static str>) -> BTreeSet<String> {
    values.into_iter().map(str::to_owned).collect()
}

#[test]
fn a_plan_counts_what_a_new_feed_a_changed_model_and_a_warning_list_do_to_each_output() {
    let root = tempfile::tempdir().unwrap();
    let root = root.path();
    let recorded = tempfile::tempdir().unwrap();
    write(recorded.path(), "a.txt", &(A.join("\n") + "\n"));
    write(recorded.path(), "b.txt", &(B.join("\n") + "\n"));
    write(
        recorded.path(),
        "index.toml",
        "[[response]]\nurl = \"http://feeds.test/a.txt\"\nfile = \"a.txt\"\n\
         [[response]]\nurl = \"http://feeds.test/b.txt\"\nfile = \"b.txt\"\n",
    );

    // The base: feed `a`; `ips` scored by `nids`, `names` by `names` (MISP's NIDS model).
    let nids = std::fs::read_to_string(repo().join("decay.d/nids.toml")).unwrap();
    write(root, ".gitignore", "site/\n.feedsmith/\n");
    write(root, "feedsmith.toml", "title = \"plan test\"\n");
    write(root, "feeds.d/a.toml", &feed("a"));
    write(root, "decay.d/nids.toml", &nids);
    write(root, "decay.d/names.toml", &nids.replace("NIDS Simple", "Names"));
    write(root, "tasks.d/ips.toml", &task("\"ip-dst\"", "nids", "ips.txt", ""));
    write(root, "tasks.d/names.toml", &task("\"domain\"", "names", "names.txt", ""));
    git(root, &["init", "-q"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "base"]);

    // The change: feed `b` added; the `names` model's threshold raised above its default
    // base score, so every name expires; a warning list holding 198.51.100.1 on `ips`.
    let threshold = |text: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix("threshold = "))
            .map(|v| v.trim().to_owned())
            .unwrap()
    };
    let before = threshold(&nids);
    let base: f64 = nids
        .lines()
        .find_map(|l| l.strip_prefix("default_base_score = "))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let raised = format!("{}", base as u64 + 10);
    write(root, "feeds.d/b.toml", &feed("b"));
    write(
        root,
        "decay.d/names.toml",
        &nids
            .replace("NIDS Simple", "Names")
            .replace(&format!("threshold = {before}"), &format!("threshold = {raised}")),
    );
    write(
        root,
        "warninglists.d/mine.json",
        r#"{"name": "Mine", "version": 1, "description": "test", "type": "cidr",
            "list": ["198.51.100.1/32"], "matching_attributes": ["ip-dst"]}"#,
    );
    write(root, "tasks.d/ips.toml", &task("\"ip-dst\"", "nids", "ips.txt", "\"mine\""));
    git(root, &["add", "-A"]);
    git(root, &["commit", "-qm", "change"]);
    git(root, &["tag", "change"]);
    git(root, &["checkout", "-q", "change"]);

    let output = feedsmith(
        root,
        &[
            "plan",
            "--base",
            "HEAD~1",
            "--replay",
            recorded.path().to_str().unwrap(),
            "--now",
            NOW,
            "--json",
        ],
    );
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap();

    // Definitions, field by field.
    let definitions = plan["definitions"].as_array().unwrap();
    let find = |kind: &str, id: &str| {
        definitions.iter().find(|d| d["kind"] == kind && d["id"] == id).cloned()
    };
    assert_eq!(find("feed", "b").unwrap()["change"], "added");
    assert_eq!(find("warning list", "mine").unwrap()["change"], "added");
    let model = find("model", "names").unwrap();
    assert_eq!(model["change"], "changed");
    assert_eq!(model["fields"][0]["path"], "threshold");
    assert_eq!(model["fields"][0]["before"].to_string(), before);
    assert_eq!(model["fields"][0]["after"].to_string(), raised);
    let ips_task = find("task", "ips").unwrap();
    assert_eq!(ips_task["fields"][0]["path"], "select.warninglists");
    assert_eq!(ips_task["fields"][0]["items"]["added_examples"], serde_json::json!(["mine"]));
    assert!(find("model", "nids").is_none() && find("feed", "a").is_none(), "unchanged");

    // Outputs: computed from the lists.
    let a: BTreeSet<&str> = A.iter().copied().collect();
    let b: BTreeSet<&str> = B.iter().copied().collect();
    let ips_before = set(a.iter().copied().filter(is_ip));
    let ips_after = set(a.union(&b).copied().filter(is_ip).filter(|v| *v != "198.51.100.1"));
    let names_before = set(a.iter().copied().filter(|v| !is_ip(v)));
    let output = |path: &str| {
        plan["outputs"].as_array().unwrap().iter().find(|o| o["path"] == path).unwrap().clone()
    };
    let ips = output("ips.txt");
    assert_eq!(ips["entries_before"], ips_before.len());
    assert_eq!(ips["entries_after"], ips_after.len());
    let added: BTreeSet<String> = ips_after.difference(&ips_before).cloned().collect();
    let removed: BTreeSet<String> = ips_before.difference(&ips_after).cloned().collect();
    assert_eq!(ips["change"]["added"], added.len());
    assert_eq!(ips["change"]["removed"], removed.len());
    assert_eq!(ips["change"]["added_examples"], serde_json::json!(added));
    assert_eq!(ips["change"]["removed_examples"], serde_json::json!(removed));
    // Every added address comes from `b`, the new feed; those `a` lists too count for `a`.
    let from_b = added.iter().filter(|v| b.contains(v.as_str())).count();
    let from_a = added.iter().filter(|v| a.contains(v.as_str())).count();
    assert_eq!(ips["change"]["added_by_feed"]["b"], from_b);
    assert_eq!(
        ips["change"]["added_by_feed"].get("a").map_or(0, |n| n.as_u64().unwrap()),
        from_a as u64
    );

    let names = output("names.txt");
    assert_eq!(names["entries_before"], names_before.len());
    assert_eq!(names["entries_after"], 0);
    assert_eq!(names["change"]["removed"], names_before.len());
    assert_eq!(names["change"]["added"], 0);

    // The warning list newly catches 198.51.100.1 in `ips`.
    assert_eq!(plan["newly_warninglisted"], 1);
    let caught = &plan["newly_warninglisted_examples"][0];
    assert_eq!(
        (caught["value"].as_str(), caught["task"].as_str()),
        (Some("198.51.100.1"), Some("ips"))
    );
    assert_eq!(caught["lists"], serde_json::json!(["mine"]));

    // The new feed lists every value of b.txt.
    let feed_b = plan["feeds"].as_array().unwrap().iter().find(|f| f["name"] == "b").unwrap();
    assert_eq!(feed_b["added"], b.len());

    // The Markdown says the same for a pull request.
    let markdown = feedsmith(
        root,
        &["plan", "--base", "HEAD~1", "--replay", recorded.path().to_str().unwrap(), "--now", NOW],
    );
    let text = String::from_utf8(markdown.stdout).unwrap();
    assert!(text.contains(&format!("`threshold`: `{before}` → `{raised}`")), "{text}");
    assert!(
        text.contains(&format!(
            "| `ips.txt` | `ips` | {} | {} | +{} | −{} |",
            ips_before.len(),
            ips_after.len(),
            added.len(),
            removed.len()
        )),
        "{text}"
    );
    assert!(text.contains("`198.51.100.1` in `ips` by `mine`"), "{text}");
    // The removals are named: every name of `a` leaves names.txt.
    let removals = text.split("### Largest removals").nth(1).unwrap_or_default();
    for name in &names_before {
        assert!(removals.contains(&format!("`{name}`")), "{name} not named: {text}");
    }

    // Nothing in the repository or its cache was written by the plan.
    assert!(!root.join("site").exists() && !root.join(".feedsmith/cache").exists());
}

#[test]
fn a_plan_between_two_built_folders_needs_no_git() {
    let root =
        crate::util::one_list_project("198.51.100.1\n", &[("all", "exclude_reserved = false")]);
    let (one, two) = (root.path().join("one"), root.path().join("two"));
    let (one, two) = (one.to_str().unwrap(), two.to_str().unwrap());
    let first = feedsmith(root.path(), &["build", "--now", NOW, "--out", one]);
    assert_eq!(first.status.code(), Some(0), "{first:?}");
    std::fs::write(root.path().join("list.txt"), "198.51.100.1\n198.51.100.9\n").unwrap();
    let second = feedsmith(root.path(), &["build", "--now", NOW, "--out", two]);
    assert_eq!(second.status.code(), Some(0), "{second:?}");
    let output = feedsmith(root.path(), &["plan", "--compare", one, two, "--json"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let plan: Value = serde_json::from_slice(&output.stdout).unwrap();
    let all = &plan["outputs"][0];
    assert_eq!(all["path"], "all.txt");
    assert_eq!((all["entries_before"].as_u64(), all["entries_after"].as_u64()), (Some(1), Some(2)));
    assert_eq!(all["change"]["added_examples"], serde_json::json!(["198.51.100.9"]));
}
