//! Size budgets through a whole build: an EDL with `max_entries` keeps the best-ranked merged
//! blocks, lists the others in its companion file, the report and the task's page, and the
//! DNS formats that block subdomains drop the names their parents cover.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::Path;

use ipnet::IpNet;

use crate::util::{feedsmith, repo};

const NOW: &str = "2026-05-01T00:00:00Z";

/// The `high` feed (CSV, base score 80, with last-seen times) and the `low` feed (free
/// text, base score 50, no times, so seen at the build), and one task reading both with
/// MISP's NIDS model (lifetime 120 days, decay speed 2).
fn project(outputs: &str) -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| crate::util::write_file(root.path(), path, text);
    write("feedsmith.toml", "");
    std::fs::create_dir_all(root.path().join("decay.d")).unwrap();
    std::fs::copy(repo().join("decay.d/nids.toml"), root.path().join("decay.d/nids.toml")).unwrap();
    write(
        "feeds.d/high.toml",
        "name = \"high\"\nprovider = \"test\"\npath = \"high.csv\"\nformat = \"csv\"\n\
         base_score = 80\n[csv]\nheader = true\nvalue_columns = [\"value\"]\n\
         last_seen_column = \"seen\"\n",
    );
    write(
        "feeds.d/low.toml",
        "name = \"low\"\nprovider = \"test\"\npath = \"low.txt\"\nformat = \"freetext\"\n\
         base_score = 50\n",
    );
    // Ages 0, 7.5 and 30 days: with τ = 120 days and δ = 2 the scores are
    // 80 · (1 − (t/τ)^½): 80, 60 and 40.
    write(
        "high.csv",
        "value,seen\n45.9.148.0/25,2026-05-01T00:00:00Z\n91.92.109.3,2026-04-23T12:00:00Z\n\
         185.220.101.9,2026-04-01T00:00:00Z\n77.91.124.1,2026-05-01T00:00:00Z\n\
         bad.example.com,2026-05-01T00:00:00Z\ncdn.bad.example.com,2026-05-01T00:00:00Z\n",
    );
    write(
        "low.txt",
        "45.9.148.128/25\n45.9.148.7\n185.220.101.7\n185.220.101.9\n5.188.10.1\n\
         www.bad.example.com\nother.example.net\n",
    );
    write(
        "tasks.d/edl.toml",
        &format!(
            "name = \"Budgeted EDL\"\n[select]\nmodel = \"nids\"\n\
             [[outputs]]\nformat = \"json\"\npath = \"data/all.json\"\n{outputs}"
        ),
    );
    root
}

fn build(root: &Path) -> serde_json::Value {
    let out = root.join("site");
    let output = feedsmith(root, &["build", "--out", out.to_str().unwrap(), "--now", NOW]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    serde_json::from_slice(&std::fs::read(out.join("report.json")).unwrap()).unwrap()
}

/// A merged block as the budget ranks it: best score (as the JSON output rounds it) and
/// the distinct feeds of the values overlapping it.
#[derive(Debug)]
struct Block {
    net: IpNet,
    score: f64,
    feeds: BTreeSet<String>,
}

/// The host address of a one-address network, as lists write it.
fn text(net: &IpNet) -> String {
    if net.prefix_len() == net.max_prefix_len() { net.addr().to_string() } else { net.to_string() }
}

#[test]
fn an_edl_over_max_entries_keeps_the_best_ranked_merged_blocks() {
    let root = project(
        "[[outputs]]\nformat = \"panos-edl\"\npath = \"firewall/ip.edl\"\nmax_entries = 4\n",
    );
    let report = build(root.path());
    let site = root.path().join("site");

    // The scores and feeds of every selected address, from the task's JSON output.
    let data: serde_json::Value =
        serde_json::from_slice(&std::fs::read(site.join("data/all.json")).unwrap()).unwrap();
    let mut values: Vec<(IpNet, f64, Vec<String>)> = Vec::new();
    for record in data["indicators"].as_array().unwrap() {
        let Ok(net) = record["value"].as_str().unwrap().parse::<IpNet>().or_else(|_| {
            record["value"].as_str().unwrap().parse::<std::net::IpAddr>().map(IpNet::from)
        }) else {
            continue;
        };
        let feeds = record["feeds"].as_array().unwrap();
        values.push((
            net,
            record["score"].as_f64().unwrap(),
            feeds.iter().map(|f| f.as_str().unwrap().to_owned()).collect(),
        ));
    }
    // The decay scores the inputs give (see `project`), best over the feeds.
    let score_of = |value: &str| values.iter().find(|(n, _, _)| text(n) == value).unwrap().1;
    for (value, score) in [("45.9.148.0/25", 80.0), ("91.92.109.3", 60.0), ("185.220.101.9", 50.0)]
    {
        assert!((score_of(value) - score).abs() < 1e-9, "{value}: {}", score_of(value));
    }

    // Merge with `ipnet` (not feedsmith's own code), rank, keep four.
    let nets: Vec<IpNet> = values.iter().map(|(n, _, _)| *n).collect();
    let mut blocks: Vec<Block> = IpNet::aggregate(&nets)
        .into_iter()
        .map(|net| {
            let members: Vec<_> =
                values.iter().filter(|(n, _, _)| net.contains(n) || n.contains(&net)).collect();
            Block {
                net,
                score: members.iter().map(|(_, s, _)| *s).fold(f64::MIN, f64::max),
                feeds: members.iter().flat_map(|(_, _, f)| f.iter().cloned()).collect(),
            }
        })
        .collect();
    blocks.sort_by(|a, b| {
        b.score
            .total_cmp(&a.score)
            .then(b.feeds.len().cmp(&a.feeds.len()))
            .then_with(|| text(&a.net).cmp(&text(&b.net)))
    });
    let (kept, cut) = blocks.split_at(4);
    let mut expected: Vec<&Block> = kept.iter().collect();
    expected.sort_by_key(|b| b.net);
    let edl = std::fs::read_to_string(site.join("firewall/ip.edl")).unwrap();
    let lines: Vec<&str> = edl.lines().collect();
    assert_eq!(lines, expected.iter().map(|b| text(&b.net)).collect::<Vec<_>>());
    // The same by hand: the /24 (80, two feeds), 77.91.124.1 (80), 91.92.109.3 (60) and
    // 185.220.101.9 (50, two feeds) before 185.220.101.7 and 5.188.10.1 (50, one feed).
    assert_eq!(lines, ["45.9.148.0/24", "77.91.124.1", "91.92.109.3", "185.220.101.9"]);

    let companion = std::fs::read_to_string(site.join("firewall/ip.edl.cut.csv")).unwrap();
    let mut rows = String::from("value,score,feeds,reason\n");
    for block in cut {
        let feeds: Vec<&str> = block.feeds.iter().map(String::as_str).collect();
        let _ = writeln!(
            rows,
            "{},{:.2},{},max_entries",
            text(&block.net),
            block.score,
            feeds.join(" ")
        );
    }
    assert_eq!(companion, rows);
    assert_eq!(
        companion,
        "value,score,feeds,reason\n185.220.101.7,50.00,low,max_entries\n5.188.10.1,50.00,low,max_entries\n"
    );

    let output = report["tasks"][0]["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|o| o["format"] == "panos-edl")
        .unwrap();
    assert_eq!(output["entries"], 4);
    assert_eq!(output["cut"], 2);
    assert_eq!(output["cut_reasons"]["max_entries"], 2);
    assert_eq!(output["cut_file"], "firewall/ip.edl.cut.csv");
    assert_eq!(output["cut_examples"], serde_json::json!(["185.220.101.7", "5.188.10.1"]));

    // The task's page links the companion file and names the first cut values.
    let page = std::fs::read_to_string(site.join("tasks/edl.html")).unwrap();
    // (minijinja's HTML escaping writes `/` as `&#x2f;`, which browsers read back.)
    assert!(page.contains("<a href=\"../firewall&#x2f;ip.edl.cut.csv\">2</a>"), "{page}");
    assert!(page.contains("<code>185.220.101.7</code>, <code>5.188.10.1</code>"), "{page}");
    // And SHA256SUMS lists it with the outputs.
    let sums = std::fs::read_to_string(site.join("SHA256SUMS")).unwrap();
    assert!(sums.lines().any(|l| l.ends_with("  firewall/ip.edl.cut.csv")), "{sums}");
}

#[test]
fn subdomain_formats_drop_covered_names_in_a_build_and_hosts_files_keep_them() {
    let root = project(
        "[[outputs]]\nformat = \"dnsmasq\"\npath = \"dns/dnsmasq.conf\"\nmax_entries = 1\n\
         [[outputs]]\nformat = \"hosts\"\npath = \"dns/hosts\"\n",
    );
    let report = build(root.path());
    let site = root.path().join("site");
    let lines = |path: &str| -> Vec<String> {
        std::fs::read_to_string(site.join(path))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_owned)
            .collect()
    };
    // bad.example.com (80) covers cdn. (80) and www. (50): two feeds, so it outranks
    // other.example.net (50, one feed).
    assert_eq!(lines("dns/dnsmasq.conf"), ["local=/bad.example.com/"]);
    assert_eq!(
        lines("dns/hosts"),
        [
            "0.0.0.0 bad.example.com",
            "0.0.0.0 cdn.bad.example.com",
            "0.0.0.0 other.example.net",
            "0.0.0.0 www.bad.example.com"
        ]
    );
    let outputs: BTreeMap<&str, &serde_json::Value> = report["tasks"][0]["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| (o["format"].as_str().unwrap(), o))
        .collect();
    assert_eq!(outputs["dnsmasq"]["skipped_reasons"]["covered_by_parent"], 2);
    assert_eq!(outputs["dnsmasq"]["cut_examples"], serde_json::json!(["other.example.net"]));
    assert_eq!(
        std::fs::read_to_string(site.join("dns/dnsmasq.conf.cut.csv")).unwrap(),
        "value,score,feeds,reason\nother.example.net,50.00,low,max_entries\n"
    );
    assert_eq!(outputs["hosts"]["cut"], 0);
    assert!(outputs["hosts"]["cut_file"].is_null());
}
