//! The repository's own definitions, built from the recorded responses with a fixed `--now`.
//!
//! Expected values come from reading the fixture files directly (plain line splitting, JSON
//! parsing) and from the decay formula of `misp/decay.md`, never from feedsmith's output.

use std::collections::{BTreeSet, HashSet};
use std::net::Ipv4Addr;

use crate::util::{build_replay, copy_root_definitions, feed, plain_values, recorded, tree};

const NOW: &str = "2026-08-23T00:00:00Z";

/// Distinct non-empty trimmed lines of a recorded file.
fn distinct_lines(relative: &str) -> HashSet<String> {
    std::fs::read_to_string(recorded().join(relative))
        .unwrap()
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect()
}

#[test]
fn root_build_counts_match_a_plain_reading_of_the_fixtures() {
    let root = copy_root_definitions();
    let report = build_replay(root.path(), NOW);

    // One IPv4 address per line, no comments: every distinct line is one indicator.
    let compromised = distinct_lines("criticalpathsecurity/compromised-ips.txt");
    assert!(compromised.iter().all(|l| l.parse::<Ipv4Addr>().is_ok()));
    let et = feed(&report, "et-compromised-ips");
    assert_eq!(et["status"], "ok");
    assert_eq!(et["indicators"], compromised.len());

    // SOURCES.md: 1,879 of the 3,251 lines of tor-exit.txt are duplicates.
    let tor = distinct_lines("criticalpathsecurity/tor-exit.txt");
    assert_eq!(tor.len(), 3251 - 1879);
    assert_eq!(feed(&report, "cps-tor-exit")["indicators"], tor.len());

    // Spamhaus DROP: `;` comment lines, then `CIDR ; SBLnnn`; SOURCES.md counts 1,360 CIDRs.
    let drop: HashSet<String> = std::fs::read_to_string(recorded().join("spamhaus-drop/drop.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim_start().starts_with(';') && !l.trim().is_empty())
        .filter_map(|l| l.split_whitespace().next().map(str::to_owned))
        .collect();
    assert_eq!(drop.len(), 1360);
    let spamhaus = feed(&report, "spamhaus-drop");
    assert_eq!(spamhaus["indicators"], 1360);
    assert_eq!(spamhaus["rejected"], 0);

    // Spamhaus DROP's JSON edition: one object per line; every line but the last holds a
    // `cidr`, and the last (metadata) line states how many do.
    let lines: Vec<serde_json::Value> =
        std::fs::read_to_string(recorded().join("spamhaus-drop/drop_v4.json"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    let drop_json: HashSet<String> =
        lines.iter().filter_map(|o| Some(o.get("cidr")?.as_str()?.to_owned())).collect();
    let metadata = lines.last().unwrap();
    assert_eq!(metadata["type"], "metadata");
    assert_eq!(metadata["records"].as_u64(), Some(drop_json.len() as u64));
    let spamhaus_json = feed(&report, "spamhaus-drop-v4");
    assert_eq!(spamhaus_json["status"], "ok");
    assert_eq!(spamhaus_json["indicators"], drop_json.len());
    assert_eq!(spamhaus_json["rejected"], 1, "the metadata line has no `cidr`");
    assert_eq!(spamhaus_json["stats"]["rejected"]["missing_value"]["count"], 1);

    // ThreatFox's exports, read by header name: one indicator per distinct `ioc_value`, the
    // third of the `", "`-separated fields of each uncommented line.
    for (id, file) in [
        ("threatfox-urls", "threatfox/full_urls.csv"),
        ("threatfox-sha256", "threatfox/full_sha256.csv"),
    ] {
        let values: HashSet<String> = std::fs::read_to_string(recorded().join(file))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| l.split("\", \"").nth(2).unwrap().to_owned())
            .collect();
        let threatfox = feed(&report, id);
        assert_eq!(threatfox["status"], "ok", "{id}");
        assert_eq!(threatfox["indicators"], values.len(), "{id}");
        assert_eq!(threatfox["rejected"], 0, "{id}");
    }

    // Empty upstreams are reported as empty, not as failures.
    for id in ["cps-dom-bl", "cps-ctc-domain-blacklist", "redblue-crowdsec-7d-v6"] {
        assert_eq!(feed(&report, id)["status"], "empty", "{id}");
    }

    // Every address of a current text feed selected by the IPv4 task is in the list: it was
    // listed in this build, so its score is its base score, above the threshold.
    let ipv4: HashSet<String> =
        plain_values(&root.path().join("site/blocklists/ipv4.txt")).into_iter().collect();
    for ip in &compromised {
        assert!(ipv4.contains(ip), "{ip} missing from ipv4.txt");
    }
    for cidr in drop.iter().chain(&drop_json) {
        assert!(ipv4.contains(cidr), "{cidr} missing from ipv4.txt");
    }
    assert!(ipv4.iter().all(|v| !v.contains(':')), "IPv6 in the IPv4 list");

    // The IPv4 task applies the shipped public resolver list: none of its entries (single
    // addresses, read from the list file) is in the blocklist.
    let resolvers: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(crate::util::repo().join("warninglists.d/public-dns-v4.json"))
            .unwrap(),
    )
    .unwrap();
    let resolvers: HashSet<&str> =
        resolvers["list"].as_array().unwrap().iter().map(|e| e.as_str().unwrap()).collect();
    assert!(resolvers.contains("8.8.8.8"));
    let listed: Vec<&String> = ipv4.iter().filter(|v| resolvers.contains(v.as_str())).collect();
    assert!(listed.is_empty(), "public resolvers in ipv4.txt: {listed:?}");

    // Each plain file's header count is its number of lines, and values are unique.
    for name in ["ipv4", "ipv6", "domains", "urls", "hashes"] {
        let path = root.path().join(format!("site/blocklists/{name}.txt"));
        let text = std::fs::read_to_string(&path).unwrap();
        let values = plain_values(&path);
        assert!(text.contains(&format!("# entries: {}\n", values.len())), "{name}");
        let unique: HashSet<&String> = values.iter().collect();
        assert_eq!(unique.len(), values.len(), "duplicates in {name}");
    }

    // The site has a page per enabled feed and per task, and the ledger was saved.
    for f in report["feeds"].as_array().unwrap() {
        let id = f["id"].as_str().unwrap();
        assert!(root.path().join(format!("site/feeds/{id}.html")).is_file(), "{id}");
    }
    assert!(root.path().join("site/index.html").is_file());
    assert!(root.path().join(".feedsmith/state/ledger").is_file());
}

/// The url attributes (value, timestamp) of the recorded `TweetFeed` events, read directly.
fn tweetfeed_urls() -> Vec<(String, i64)> {
    let dir = recorded().join("misp-tweetfeed");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let mut urls = Vec::new();
    for uuid in manifest.as_object().unwrap().keys() {
        let event: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(format!("{uuid}.json"))).unwrap())
                .unwrap();
        for attribute in event["Event"]["Attribute"].as_array().unwrap() {
            if attribute["type"] == "url" && attribute["to_ids"] == true {
                let timestamp: i64 = attribute["timestamp"].as_str().unwrap().parse().unwrap();
                urls.push((attribute["value"].as_str().unwrap().to_owned(), timestamp));
            }
        }
    }
    urls
}

/// Whether a URL is already in the form MISP and feedsmith store (lower-case scheme and host,
/// nothing to refang), so that it must appear verbatim in the output.
fn is_plainly_canonical(url: &str) -> bool {
    let Some((scheme, rest)) = url.split_once("://") else { return false };
    let host = rest.split(['/', '?', '#']).next().unwrap_or_default();
    matches!(scheme, "http" | "https")
        && !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && !url.contains(char::is_whitespace)
}

#[test]
fn misp_attribute_at_the_decay_threshold_is_kept_and_one_second_older_is_not() {
    // TweetFeed's definition gives base score B = 60 and its url attributes carry no tag that
    // the NIDS model weighs, so B = 60. NIDS: τ = 120 days, δ = 2, θ = 30. Without last_seen,
    // MISP decays from the attribute timestamp. The score reaches θ after
    // t = τ·(1 − θ/B)^δ = 120 d × 0.25 = 30 d, where 60 × (1 − √0.25) is exactly 30.0, which is
    // not decayed (strict threshold, decay.md §2 and example 2).
    let definition: toml::Table = toml::from_str(
        &std::fs::read_to_string(crate::util::repo().join("feeds.d/tweetfeed.toml")).unwrap(),
    )
    .unwrap();
    assert_eq!(definition["base_score"].as_integer(), Some(60));
    let lifetime_secs = 120.0 * 86_400.0_f64;
    let t_threshold = (lifetime_secs * (1.0_f64 - 30.0 / 60.0).powi(2)) as i64;
    assert_eq!(t_threshold, 2_592_000);
    let score_at = |t: i64| 60.0 * (1.0 - (t as f64 / lifetime_secs).sqrt());
    assert!((score_at(t_threshold) - 30.0).abs() < 1e-12);
    assert!(score_at(t_threshold + 1) < 30.0);

    // Text feeds list URLs too, always fresh; leave out any URL they also carry.
    let mut text = String::new();
    for file in ["threatfox/full_urls.csv", "criticalpathsecurity/AtomSpam.txt"] {
        text.push_str(&String::from_utf8_lossy(&std::fs::read(recorded().join(file)).unwrap()));
    }
    let urls: Vec<(String, i64)> = tweetfeed_urls()
        .into_iter()
        .filter(|(url, _)| is_plainly_canonical(url) && !text.contains(url.as_str()))
        .collect();
    let timestamps: BTreeSet<i64> = urls.iter().map(|(_, t)| *t).collect();
    assert!(timestamps.len() >= 3, "need attributes of several ages");
    // The pivot: a timestamp with older attributes before it.
    let pivot = *timestamps.iter().nth(timestamps.len() / 2).unwrap();
    let now = pivot + t_threshold;
    let now_text = time::OffsetDateTime::from_unix_timestamp(now)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap();

    let root = copy_root_definitions();
    build_replay(root.path(), &now_text);
    let listed: HashSet<String> =
        plain_values(&root.path().join("site/blocklists/urls.txt")).into_iter().collect();
    // A URL kept by one attribute and expired by another (same value, two ages) is listed.
    let newest = |url: &str| urls.iter().filter(|(u, _)| u == url).map(|(_, t)| *t).max().unwrap();
    let mut kept_at_pivot = 0;
    let mut expired = 0;
    for (url, _) in &urls {
        let timestamp = newest(url);
        if timestamp >= pivot {
            assert!(listed.contains(url), "{url} (t = now − {}) must be kept", now - timestamp);
            if timestamp == pivot {
                kept_at_pivot += 1;
            }
        } else {
            assert!(
                !listed.contains(url),
                "{url} (t = now − {}) must have expired",
                now - timestamp
            );
            expired += 1;
        }
    }
    assert!(kept_at_pivot > 0 && expired > 0);
}

#[test]
fn same_inputs_and_now_give_identical_output_folders() {
    // Two fresh copies of the repository, so that neither build sees the other's state.
    let first = copy_root_definitions();
    let second = copy_root_definitions();
    build_replay(first.path(), NOW);
    build_replay(second.path(), NOW);
    let a = tree(&first.path().join("site"));
    let b = tree(&second.path().join("site"));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (path, bytes) in &a {
        assert!(*bytes == b[path], "{path} differs between the two builds");
    }
    // Blocklists, MISP feed, SHA-256 list, pages, report and published state alike.
    for path in [
        "blocklists/ipv4.txt",
        "dns/domains.rpz",
        "misp/c2/manifest.json",
        "SHA256SUMS",
        "index.html",
        "feeds/feodo-ipblocklist.html",
        "report.json",
        "state/manifest.json",
    ] {
        assert!(a.contains_key(path), "{path} not built");
    }
}

#[test]
fn sha256sums_lists_every_output_file_and_sha256sum_accepts_it() {
    let root = copy_root_definitions();
    build_replay(root.path(), NOW);
    let site = root.path().join("site");

    // Every file under every output path that the tasks' definitions name, and nothing else.
    let files = tree(&site);
    let mut expected = BTreeSet::new();
    for item in std::fs::read_dir(root.path().join("tasks.d")).unwrap() {
        let text = std::fs::read_to_string(item.unwrap().path()).unwrap();
        let task: toml::Value = toml::from_str(&text).unwrap();
        for output in task["outputs"].as_array().unwrap() {
            let path = output["path"].as_str().unwrap();
            let under: Vec<&String> =
                files.keys().filter(|f| *f == path || f.starts_with(&format!("{path}/"))).collect();
            assert!(!under.is_empty(), "{path} not written");
            expected.extend(under.into_iter().cloned());
        }
    }
    let sums = std::fs::read_to_string(site.join("SHA256SUMS")).unwrap();
    let listed: Vec<&str> = sums.lines().map(|l| &l[66..]).collect();
    assert_eq!(listed, expected.iter().map(String::as_str).collect::<Vec<_>>());
    // The listing is in byte order (a `BTreeSet` of strings is), one line per file in
    // sha256sum's text form: 64 hex digits, two spaces, the path.
    for line in sums.lines() {
        let (digest, path) = line.split_at(64);
        assert!(digest.bytes().all(|b| b.is_ascii_hexdigit() && !b.is_ascii_uppercase()));
        assert!(path.starts_with("  ") && !path[2..].starts_with(' '), "{line}");
    }
    let page_or_state = |p: &&str| {
        std::path::Path::new(p).extension().is_some_and(|e| e == "html") || p.starts_with("state/")
    };
    assert!(!listed.iter().any(page_or_state));

    // coreutils reads every line and finds each file as hashed.
    let output = std::process::Command::new("sha256sum")
        .args(["--check", "--strict", "--quiet", "SHA256SUMS"])
        .current_dir(&site)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "sha256sum -c: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    // And a changed file is caught.
    std::fs::write(site.join("blocklists/ipv4.txt"), "192.0.2.1\n").unwrap();
    let output = std::process::Command::new("sha256sum")
        .args(["--check", "--quiet", "SHA256SUMS"])
        .current_dir(&site)
        .output()
        .unwrap();
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stdout).contains("blocklists/ipv4.txt: FAILED"));
}

#[test]
fn generated_misp_feed_loads_in_pymisp() {
    let root = copy_root_definitions();
    let report = build_replay(root.path(), NOW);
    let feed_dir = root.path().join("site/misp/c2");
    let Some(loaded) = crate::util::pymisp_check(&feed_dir) else { return };
    let task = report["tasks"].as_array().unwrap().iter().find(|t| t["id"] == "c2-misp").unwrap();
    assert_eq!(loaded["events"], 1);
    assert_eq!(loaded["attributes"], task["selected"]);
    // Every manifest key is a UUID whose event file exists; hashes.csv names that event.
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(feed_dir.join("manifest.json")).unwrap()).unwrap();
    for key in manifest.as_object().unwrap().keys() {
        assert!(uuid::Uuid::parse_str(key).is_ok());
        assert!(feed_dir.join(format!("{key}.json")).is_file());
    }
    let hashes = std::fs::read_to_string(feed_dir.join("hashes.csv")).unwrap();
    assert!(hashes.lines().all(|l| {
        let (md5, event) = l.split_once(',').unwrap();
        md5.len() == 32 && manifest.get(event).is_some()
    }));
}

#[test]
fn reserved_ranges_never_reach_the_ipv4_blocklist() {
    // FireHOL level 1 lists bogons on purpose (SOURCES.md): 0.0.0.0/8, 10.0.0.0/8,
    // 127.0.0.0/8, 192.168.0.0/16 and 224.0.0.0/3 among them.
    let netset = distinct_lines("firehol/firehol_level1.netset");
    for bogon in ["0.0.0.0/8", "10.0.0.0/8", "127.0.0.0/8", "192.168.0.0/16"] {
        assert!(netset.contains(bogon), "{bogon} not in the fixture");
    }
    let root = copy_root_definitions();
    let report = build_replay(root.path(), NOW);
    let ipv4 = plain_values(&root.path().join("site/blocklists/ipv4.txt"));
    let private =
        ["0.", "10.", "127.", "169.254.", "192.168.", "192.0.2.", "198.51.100.", "203.0.113."];
    for value in &ipv4 {
        assert!(!private.iter().any(|p| value.starts_with(p)), "{value} in ipv4.txt");
        let second: u8 = value.split(['.', '/']).nth(1).unwrap().parse().unwrap();
        assert!(!(value.starts_with("172.") && (16..32).contains(&second)), "{value}");
        let first: u8 = value.split('.').next().unwrap().parse().unwrap();
        assert!(first < 224, "{value}");
    }
    let task =
        report["tasks"].as_array().unwrap().iter().find(|t| t["id"] == "ipv4-blocklist").unwrap();
    assert!(task["reserved"].as_u64().unwrap() >= 4);
}

// Found by a first-run trial: `feedsmith build 2>&1 | head -1` panicked (exit 101) once the
// reader had gone, and wrote neither the site nor the state.
#[test]
fn a_build_whose_log_and_output_cannot_be_written_still_builds() {
    let root = copy_root_definitions();
    let full = || std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap();
    let status = std::process::Command::new(env!("CARGO_BIN_EXE_feedsmith"))
        .arg("--root")
        .arg(root.path())
        .args(["build", "--no-progress", "--replay"])
        .arg(recorded())
        .args(["--now", "2026-08-23T00:00:00Z"])
        .stdout(full())
        .stderr(full())
        .status()
        .unwrap();
    assert_eq!(status.code(), Some(0));
    assert!(root.path().join("site/report.json").is_file());
    assert!(root.path().join(".feedsmith/state/ledger").is_file());
}
