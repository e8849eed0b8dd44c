//! Warning lists through a whole build: a small project whose feeds list public resolvers and
//! popular domains, and whose tasks apply the shipped `public-dns-v4` and `tranco10k` lists.
//!
//! Expected values come from reading the list files and the feed files directly.

use std::collections::{BTreeSet, HashSet};
use std::path::Path;

use crate::util::{feedsmith, plain_values, repo};

const NOW: &str = "2026-08-23T00:00:00Z";

const IPS: &[&str] = &[
    "8.8.8.8",
    "1.1.1.1",
    "185.220.101.1",
    "45.155.205.233",
    "8.8.8.8",
    // A network holding 8.8.8.8: as in MISP, a list of single addresses does not remove it.
    "8.8.8.0/24",
];

const NAMES: &[&str] =
    &["www.google.com", "mail.google.com", "duckdns.org", "evil.duckdns.org", "c2-panel.xyz"];

/// The `list` entries of a shipped list.
fn shipped_entries(id: &str) -> HashSet<String> {
    let path = repo().join(format!("warninglists.d/{id}.json"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    json["list"].as_array().unwrap().iter().map(|e| e.as_str().unwrap().to_owned()).collect()
}

fn write(root: &Path, relative: &str, text: &str) {
    crate::util::write_file(root, relative, text);
}

/// A project with an IP feed, a name feed, two shipped lists and three tasks: `ipv4` and
/// `domains` apply every list (no key), `raw` applies none.
fn project() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let root_path = root.path();
    write(root_path, "data/ips.txt", &(IPS.join("\n") + "\n"));
    write(root_path, "data/names.txt", &(NAMES.join("\n") + "\n"));
    for (id, path) in [("ips", "data/ips.txt"), ("names", "data/names.txt")] {
        write(
            root_path,
            &format!("feeds.d/{id}.toml"),
            &format!(
                "name = \"{id}\"\nprovider = \"test\"\npath = \"{path}\"\nformat = \"freetext\"\n"
            ),
        );
    }
    for id in ["public-dns-v4", "tranco10k"] {
        let from = repo().join(format!("warninglists.d/{id}.json"));
        let to = root_path.join(format!("warninglists.d/{id}.json"));
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    }
    write(root_path, "warninglists.d/SOURCES.md", "Copied from the feedsmith repository.\n");
    let task = |select: &str, path: &str| {
        format!(
            "name = \"{path}\"\n[select]\n{select}\n[[outputs]]\nformat = \"plain\"\npath = \"{path}\"\n"
        )
    };
    write(root_path, "tasks.d/ipv4.toml", &task("feeds = [\"ips\"]", "ipv4.txt"));
    write(root_path, "tasks.d/domains.toml", &task("feeds = [\"names\"]", "domains.txt"));
    write(root_path, "tasks.d/raw.toml", &task("warninglists = []", "raw.txt"));
    root
}

fn build(root: &Path) -> serde_json::Value {
    let output = feedsmith(root, &["build", "--now", NOW]);
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&std::fs::read(root.join("site/report.json")).unwrap()).unwrap()
}

fn task<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["tasks"].as_array().unwrap().iter().find(|t| t["id"] == id).unwrap()
}

fn strings(value: &serde_json::Value) -> Vec<String> {
    value.as_array().unwrap().iter().map(|v| v.as_str().unwrap().to_owned()).collect()
}

#[test]
fn public_resolvers_are_removed_from_an_ip_blocklist_and_counted_per_list() {
    let resolvers = shipped_entries("public-dns-v4");
    // The list holds single addresses only, so membership is plain set membership.
    assert!(resolvers.iter().all(|e| !e.contains('/')));
    assert!(resolvers.contains("8.8.8.8"));
    // Not all 256 addresses of 8.8.8.0/24 are listed, so the network is not inside the list.
    assert!(resolvers.iter().filter(|e| e.starts_with("8.8.8.")).count() < 256);

    let distinct: BTreeSet<&str> = IPS.iter().copied().collect();
    let listed: BTreeSet<&str> =
        distinct.iter().copied().filter(|ip| resolvers.contains(*ip)).collect();
    let kept: BTreeSet<String> = distinct.difference(&listed).map(|ip| (*ip).to_owned()).collect();
    assert!(listed.contains("8.8.8.8") && kept.contains("8.8.8.0/24"));

    let root = project();
    let report = build(root.path());
    let values: BTreeSet<String> =
        plain_values(&root.path().join("site/ipv4.txt")).into_iter().collect();
    assert_eq!(values, kept);

    let ipv4 = task(&report, "ipv4");
    assert_eq!(ipv4["selected"], kept.len());
    assert_eq!(ipv4["warninglisted"], listed.len());
    let dns = &ipv4["warninglists"]["public-dns-v4"];
    assert_eq!(dns["name"], "List of known IPv4 public DNS resolvers");
    assert_eq!(dns["removed"], listed.len());
    // Examples in output order: addresses numerically.
    assert_eq!(strings(&dns["examples"]), ["1.1.1.1", "8.8.8.8"]);
    // A list applied by default that matches nothing is reported with 0.
    assert_eq!(ipv4["warninglists"]["tranco10k"]["removed"], 0);
}

#[test]
fn popular_domains_and_their_subdomains_are_removed_but_not_names_under_a_public_suffix() {
    let top = shipped_entries("tranco10k");
    let suffixes = shipped_entries("second-level-tlds");
    // A name is on the list when it, or a parent domain that is not a public suffix, is.
    let on_list = |name: &str| {
        let mut candidate = name;
        if top.contains(candidate) {
            return true;
        }
        while let Some((_, parent)) = candidate.split_once('.') {
            if !parent.contains('.') || suffixes.contains(parent) {
                return false;
            }
            if top.contains(parent) {
                return true;
            }
            candidate = parent;
        }
        false
    };
    assert!(top.contains("google.com") && top.contains("duckdns.org"));
    assert!(suffixes.contains("duckdns.org"));
    let removed: BTreeSet<&str> = NAMES.iter().copied().filter(|n| on_list(n)).collect();
    let kept: BTreeSet<String> =
        NAMES.iter().filter(|n| !on_list(n)).map(|n| (*n).to_owned()).collect();
    assert_eq!(removed, BTreeSet::from(["duckdns.org", "mail.google.com", "www.google.com"]));

    let root = project();
    let report = build(root.path());
    let values: BTreeSet<String> =
        plain_values(&root.path().join("site/domains.txt")).into_iter().collect();
    assert_eq!(values, kept);
    let tranco = &task(&report, "domains")["warninglists"]["tranco10k"];
    assert_eq!(tranco["removed"], removed.len());
    assert_eq!(strings(&tranco["examples"]), removed.iter().copied().collect::<Vec<_>>());

    // The task page shows each list with its count and examples.
    let page = std::fs::read_to_string(root.path().join("site/tasks/domains.html")).unwrap();
    assert!(page.contains("<code>tranco10k</code>"), "{page}");
    assert!(page.contains("Top 10K most-used sites from Tranco"), "{page}");
    assert!(page.contains(&format!("<td class=\"num\">{}</td>", removed.len())), "{page}");
    assert!(page.contains("<code>mail.google.com</code>"), "{page}");
    let ipv4_page = std::fs::read_to_string(root.path().join("site/tasks/ipv4.html")).unwrap();
    assert!(ipv4_page.contains("<code>public-dns-v4</code>"), "{ipv4_page}");
    assert!(ipv4_page.contains("<code>8.8.8.8</code>"), "{ipv4_page}");
}

#[test]
fn a_task_with_an_empty_list_of_warning_lists_keeps_everything() {
    let root = project();
    let report = build(root.path());
    let values: BTreeSet<String> =
        plain_values(&root.path().join("site/raw.txt")).into_iter().collect();
    let all: BTreeSet<String> = IPS.iter().chain(NAMES).map(|v| (*v).to_owned()).collect();
    assert_eq!(values, all);
    let raw = task(&report, "raw");
    assert_eq!(raw["warninglisted"], 0);
    assert!(raw["warninglists"].as_object().unwrap().is_empty());
    let page = std::fs::read_to_string(root.path().join("site/tasks/raw.html")).unwrap();
    assert!(page.contains("This task applies no warning list."), "{page}");
}

#[test]
fn check_counts_the_warning_lists_and_skips_notes_quietly() {
    let root = project();
    let output = feedsmith(root.path(), &["check"]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(0), "{stderr}");
    assert!(stdout.contains(", 2 warning lists."), "{stdout}");
    assert!(!stderr.contains("SOURCES.md"), "{stderr}");
}
