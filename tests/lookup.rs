//! `feedsmith lookup VALUE` after replayed builds of the repository's own definitions.
//!
//! Values are picked from the recorded fixture files; the expected feeds, times and scores
//! come from those files, the definitions and the decay formula of `misp/decay.md`
//! (`score = B × (1 − (t / τ)^(1/δ))`, NIDS: τ = 120 days, δ = 2, θ = 30), never from
//! feedsmith's output.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Output;

use crate::util::{
    build_replay, copy_root_definitions, feedsmith, lookup_json, plain_values, recorded, repo,
};

const DAY: i64 = 86_400;
/// The first and the second build.
const T1: &str = "2026-08-22T00:00:00Z";
const T2: &str = "2026-08-23T00:00:00Z";
/// NIDS: τ in seconds.
const LIFETIME_SECS: f64 = 120.0 * 86_400.0;

fn unix(rfc3339: &str) -> i64 {
    time::OffsetDateTime::parse(rfc3339, &time::format_description::well_known::Rfc3339)
        .unwrap()
        .unix_timestamp()
}

fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .unwrap()
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap()
}

/// NIDS's score `t` seconds after the reference, for base score `base`.
fn nids_score(base: f64, t: i64) -> f64 {
    base * (1.0 - (t as f64 / LIFETIME_SECS).sqrt())
}

/// The first second at which NIDS has decayed a value of base score `base` whose reference
/// time is `reference`: the crossing `t_θ = τ × (1 − θ/B)²` (decay.md §2), decayed from the
/// next whole second (at `t_θ` itself the score equals θ, which is not decayed).
fn nids_expiry(base: f64, reference: i64) -> i64 {
    let crossing = LIFETIME_SECS * (1.0 - 30.0 / base).powi(2);
    reference + crossing.floor() as i64 + 1
}

fn close(actual: &serde_json::Value, expected: f64) {
    let actual = actual.as_f64().unwrap_or_else(|| panic!("{actual} is not a number"));
    assert!((actual - expected).abs() < 1e-9, "{actual} is not {expected}");
}

/// The repository's definitions, built from the recorded responses at each of `times`.
fn built(times: &[&str]) -> tempfile::TempDir {
    let root = copy_root_definitions();
    for now in times {
        build_replay(root.path(), now);
    }
    root
}

fn run(root: &Path, args: &[&str]) -> Output {
    let mut all = vec!["lookup"];
    all.extend_from_slice(args);
    feedsmith(root, &all)
}

fn lookup_text(root: &Path, value: &str, now: &str) -> (i32, String) {
    let recorded = recorded();
    let output = run(root, &["--replay", recorded.to_str().unwrap(), "--now", now, "--", value]);
    (output.status.code().unwrap(), String::from_utf8(output.stdout).unwrap())
}

fn items<'a>(json: &'a serde_json::Value, key: &str) -> &'a Vec<serde_json::Value> {
    json[key].as_array().unwrap_or_else(|| panic!("no `{key}` array in {json}"))
}

/// The entries of `feeds` of one feed.
fn listings<'a>(json: &'a serde_json::Value, feed: &str) -> Vec<&'a serde_json::Value> {
    items(json, "feeds").iter().filter(|l| l["feed"] == feed).collect()
}

/// The verdict of `task` on the indicator `value`.
fn verdict<'a>(json: &'a serde_json::Value, task: &str, value: &str) -> &'a serde_json::Value {
    items(json, "tasks")
        .iter()
        .find(|t| t["task"] == task && t["indicator"]["value"] == value)
        .unwrap_or_else(|| panic!("no verdict of {task} on {value} in {json}"))
}

/// Every recorded file but `except`, as one text, to tell which values other feeds hold.
fn other_recorded_text(except: &[&str]) -> String {
    let mut text = String::new();
    let mut stack = vec![recorded()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(recorded()).unwrap().to_string_lossy().into_owned();
            if except.iter().any(|e| relative.starts_with(e)) {
                continue;
            }
            if path.is_dir() {
                stack.push(path);
            } else {
                text.push_str(&String::from_utf8_lossy(&std::fs::read(&path).unwrap()));
                text.push('\n');
            }
        }
    }
    text
}

/// Whether `text` holds `ip` as a whole address (not inside a longer number).
fn holds_address(text: &str, ip: &str) -> bool {
    text.match_indices(ip).any(|(at, _)| {
        let before = text[..at].chars().next_back();
        let after = text[at + ip.len()..].chars().next();
        let digit_or_dot = |c: Option<char>| c.is_some_and(|c| c.is_ascii_digit() || c == '.');
        !digit_or_dot(before) && !digit_or_dot(after)
    })
}

/// Every file under `root` with its bytes, to show that a look-up writes nothing.
fn snapshot(root: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let name = path.strip_prefix(root).unwrap().to_string_lossy().into_owned();
                files.insert(name, std::fs::read(&path).unwrap());
            }
        }
    }
    files
}

#[test]
fn a_listed_address_gives_its_feed_its_first_and_last_seen_and_its_score() {
    let root = built(&[T1, T2]);
    // An address of the ET compromised-hosts list (`et-compromised-ips`: CSV, first column)
    // that no other recorded file holds, so that the feed is the only one listing it exactly.
    let others = other_recorded_text(&["criticalpathsecurity/compromised-ips.txt"]);
    let list = std::fs::read_to_string(recorded().join("criticalpathsecurity/compromised-ips.txt"))
        .unwrap();
    let ip = list
        .lines()
        .map(str::trim)
        .find(|ip| !ip.is_empty() && !holds_address(&others, ip))
        .expect("an address only ET lists")
        .to_owned();
    let definition: toml::Table = toml::from_str(
        &std::fs::read_to_string(repo().join("feeds.d/et-compromised-ips.toml")).unwrap(),
    )
    .unwrap();
    assert_eq!(definition["base_score"].as_integer(), Some(80));
    let base = 80.0;

    let (code, json) = lookup_json(root.path(), &ip, T2);
    assert_eq!(code, 0);
    assert_eq!(json["version"], 1);
    assert_eq!(json["listed"], true);
    assert_eq!(json["indicator"]["type"], "ip-dst");
    assert_eq!(json["indicator"]["value"], ip.as_str());
    assert_eq!(json["now_unix"], unix(T2));
    let et = listings(&json, "et-compromised-ips");
    assert_eq!(et.len(), 1, "{json}");
    assert_eq!(et[0]["match"], "exact");
    assert_eq!(et[0]["entry"]["value"], ip.as_str());
    assert_eq!(et[0]["stale"], false);
    // Seen by both builds; the look-up at T2 sees it again at T2.
    assert_eq!(et[0]["first_seen"], T1);
    assert_eq!(et[0]["last_seen"], T2);
    assert_eq!(et[0]["record_timestamp"], serde_json::Value::Null);

    // The IPv4 task takes it (`compromised` is one of its feed tags): no tag the NIDS model
    // weighs, so B is the feed's base_score; a text feed has no time of its own, so the
    // reference is the last build that saw it (T2), and at T2 the score is B.
    let task = verdict(&json, "ipv4-blocklist", &ip);
    assert_eq!(task["verdict"], "selected");
    assert_eq!(task["model"]["id"], "nids");
    // `tasks.d/ipv4-blocklist.toml` names `nids`.
    assert_eq!(task["model"]["chosen_by"], "task");
    close(&task["min_score"], 30.0);
    assert_eq!(task["min_score_from"], "model");
    close(&task["score"], base);
    let feeds = items(task, "feeds");
    assert_eq!(feeds.len(), 1);
    let scoring = &feeds[0]["scoring"];
    close(&scoring["base_score"], base);
    assert_eq!(scoring["base_score_from"], "feed");
    assert_eq!(items(scoring, "tags").len(), 0);
    assert_eq!(scoring["reference_from"], "ledger");
    assert_eq!(scoring["reference_time"], T2);
    close(&scoring["score"], base);
    assert_eq!(scoring["decayed"], false);
    assert_eq!(scoring["expires"], rfc3339(nids_expiry(base, unix(T2))).as_str());
    // 120 d × (1 − 30/80)² = 46.875 d = 4 050 000 s.
    assert_eq!(nids_expiry(80.0, 0), 4_050_001);
    // The build agrees.
    let ipv4 = plain_values(&root.path().join("site/blocklists/ipv4.txt"));
    assert!(ipv4.contains(&ip));
    // The IPv6 task reads the same feeds and leaves every IPv4 address out.
    assert_eq!(verdict(&json, "ipv6-blocklist", &ip)["verdict"], "other_ip_version");

    // The same answer as text.
    let (code, text) = lookup_text(root.path(), &ip, T2);
    assert_eq!(code, 0);
    assert!(text.starts_with(&format!("{ip}: ip-dst {ip}\n")), "{text}");
    assert!(
        text.contains(&format!("  et-compromised-ips (blockrules of rules.emergingthreats.net): ip-dst {ip}, the value itself\n      first seen {T1}, last seen {T2}\n")),
        "{text}"
    );
    assert!(
        text.contains(&format!("  ipv4-blocklist (IPv4 firewall blocklist): ip-dst {ip}: selected; score 80, minimum 30 (the model's threshold)\n")),
        "{text}"
    );
    assert!(
        text.contains("      base score 80: the feed's base_score (no tag counts)\n"),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "      reference time {T2}: the ledger: the last build that saw it in the feed\n"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "      score 80, threshold 30: not decayed; decayed for good from {}\n",
            rfc3339(unix(T2) + 4_050_001)
        )),
        "{text}"
    );
}

/// The URL attributes of the recorded `TweetFeed` events that only one attribute holds:
/// (value, timestamp).
fn tweetfeed_urls() -> Vec<(String, i64)> {
    let dir = recorded().join("misp-tweetfeed");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("manifest.json")).unwrap()).unwrap();
    let mut urls: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for uuid in manifest.as_object().unwrap().keys() {
        let event: serde_json::Value =
            serde_json::from_slice(&std::fs::read(dir.join(format!("{uuid}.json"))).unwrap())
                .unwrap();
        for attribute in event["Event"]["Attribute"].as_array().unwrap() {
            let value = attribute["value"].as_str().unwrap().to_owned();
            let timestamp: i64 = attribute["timestamp"].as_str().unwrap().parse().unwrap();
            urls.entry(value).or_default().push(timestamp);
            assert!(attribute.get("last_seen").is_none_or(serde_json::Value::is_null));
        }
    }
    urls.into_iter().filter(|(_, times)| times.len() == 1).map(|(v, t)| (v, t[0])).collect()
}

#[test]
fn a_misp_url_decays_from_its_timestamp_and_is_found_when_defanged() {
    let root = built(&[T1, T2]);
    // A plain http(s) URL of the TweetFeed MISP feed, in its canonical form already (lower-case
    // host, nothing to refang), that no other recorded file holds.
    let others = other_recorded_text(&["misp-tweetfeed"]);
    let (url, timestamp) = tweetfeed_urls()
        .into_iter()
        .find(|(url, _)| {
            let Some(rest) = url.strip_prefix("http://").or_else(|| url.strip_prefix("https://"))
            else {
                return false;
            };
            let host = rest.split(['/', '?', '#']).next().unwrap();
            rest.contains('/')
                && host.contains('.')
                && host.bytes().all(|b| b.is_ascii_lowercase() || b == b'.' || b == b'-')
                && !url.contains(char::is_whitespace)
                && !others.contains(url.as_str())
        })
        .expect("a URL only TweetFeed lists");
    // Defanged as in a report: hxxp and [.] in the host.
    let (scheme, rest) = url.split_once("://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let defanged =
        format!("{}://{}/{path}", scheme.replacen("tt", "xx", 1), host.replace('.', "[.]"));
    assert_ne!(defanged, url);

    // Ten days after the attribute's timestamp: TweetFeed's base_score is 60, its tags carry no
    // numerical value the NIDS model weighs, and a MISP attribute without last_seen decays
    // from its timestamp (decay.md §3).
    let now = rfc3339(timestamp + 10 * DAY);
    let (code, json) = lookup_json(root.path(), &defanged, &now);
    assert_eq!(code, 0, "{json}");
    assert_eq!(json["indicator"]["type"], "url");
    assert_eq!(json["indicator"]["value"], url.as_str());
    assert_eq!(json["normalized"], serde_json::json!(["defanged"]));
    let tweetfeed = listings(&json, "tweetfeed");
    assert_eq!(tweetfeed.len(), 1, "{json}");
    assert_eq!(tweetfeed[0]["match"], "exact");
    assert_eq!(tweetfeed[0]["record_timestamp"], rfc3339(timestamp).as_str());
    assert_eq!(tweetfeed[0]["first_seen"], T1);
    // The look-up sees the value listed at its own time, as a build at that time would.
    assert_eq!(tweetfeed[0]["last_seen"], rfc3339(unix(T2).max(timestamp + 10 * DAY)).as_str());
    let tasks = items(&json, "tasks");
    assert!(!tasks.is_empty(), "{json}");
    let expected = nids_score(60.0, 10 * DAY);
    assert!((expected - 60.0 * (1.0 - (1.0_f64 / 12.0).sqrt())).abs() < 1e-12);
    for task in tasks {
        assert_eq!(task["indicator"]["value"], url.as_str());
        assert_eq!(task["verdict"], "selected", "{task}");
        close(&task["score"], expected);
        let scoring = &items(task, "feeds")[0]["scoring"];
        close(&scoring["base_score"], 60.0);
        assert_eq!(scoring["base_score_from"], "feed");
        assert_eq!(scoring["reference_from"], "timestamp");
        assert_eq!(scoring["reference_time"], rfc3339(timestamp).as_str());
        close(&scoring["score"], expected);
        // 120 d × (1 − 30/60)² = 30 d, where the score is exactly 30: decayed one second later.
        assert_eq!(scoring["expires"], rfc3339(timestamp + 30 * DAY + 1).as_str());
    }

    // Forty days after: expired in every task.
    let (_, json) = lookup_json(root.path(), &url, &rfc3339(timestamp + 40 * DAY));
    for task in items(&json, "tasks") {
        assert_eq!(task["verdict"], "expired", "{task}");
        assert_eq!(items(task, "feeds")[0]["scoring"]["decayed"], true);
    }
}

#[test]
fn an_address_inside_a_listed_network_is_covered_by_it() {
    let root = built(&[T2]);
    // The first network of Spamhaus DROP (`CIDR ; SBLnnn` lines after `;` comments).
    let drop = std::fs::read_to_string(recorded().join("spamhaus-drop/drop.txt")).unwrap();
    let cidr = drop
        .lines()
        .filter(|l| !l.trim_start().starts_with(';') && !l.trim().is_empty())
        .map(|l| l.split_whitespace().next().unwrap().to_owned())
        .next()
        .unwrap();
    let net: ipnet::Ipv4Net = cidr.parse().unwrap();
    assert!(net.prefix_len() < 31);
    let inside = net.hosts().nth(1).unwrap().to_string();

    let (code, json) = lookup_json(root.path(), &inside, T2);
    assert_eq!(code, 0, "{json}");
    let spamhaus = listings(&json, "spamhaus-drop");
    assert_eq!(spamhaus.len(), 1, "{json}");
    assert_eq!(spamhaus[0]["match"], "covered");
    assert_eq!(spamhaus[0]["entry"]["value"], cidr.as_str());
    // The task takes the network; Spamhaus's base_score is 95, which is also the best score
    // (no feed is given more), and the network is in the build's IPv4 list.
    let task = verdict(&json, "ipv4-blocklist", &cidr);
    assert_eq!(task["verdict"], "selected");
    let scoring = items(task, "feeds")
        .iter()
        .find(|f| f["feed"] == "spamhaus-drop")
        .map(|f| &f["scoring"])
        .unwrap();
    close(&scoring["base_score"], 95.0);
    close(&task["score"], 95.0);
    assert!(plain_values(&root.path().join("site/blocklists/ipv4.txt")).contains(&cidr));

    let (_, text) = lookup_text(root.path(), &inside, T2);
    assert!(
        text.contains(&format!(
            "  spamhaus-drop (Spamhaus DROP): ip-dst {cidr}, which covers the value\n"
        )),
        "{text}"
    );
}

#[test]
fn a_value_a_warning_list_matches_is_left_out_and_the_list_named() {
    let root = built(&[T2]);
    // An address both IPsum and the public resolver list hold.
    let resolvers: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("warninglists.d/public-dns-v4.json")).unwrap(),
    )
    .unwrap();
    let ipsum = std::fs::read_to_string(recorded().join("ipsum/ipsum.txt")).unwrap();
    let ip = resolvers["list"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e.as_str())
        .find(|e| !e.contains('/') && ipsum.lines().any(|l| l.split('\t').next() == Some(e)))
        .expect("a resolver IPsum lists")
        .to_owned();
    let (code, json) = lookup_json(root.path(), &ip, T2);
    assert_eq!(code, 0, "{json}");
    assert_eq!(listings(&json, "ipsum").len(), 1);
    let task = verdict(&json, "ipv4-blocklist", &ip);
    assert_eq!(task["verdict"], "warninglisted");
    assert_eq!(task["warninglists"], serde_json::json!(["public-dns-v4"]));
    let list = items(&json, "warninglists").iter().find(|l| l["id"] == "public-dns-v4").unwrap();
    assert_eq!(list["type"], "cidr");
    assert!(items(list, "tasks").iter().any(|t| t == "ipv4-blocklist"));
    assert!(!plain_values(&root.path().join("site/blocklists/ipv4.txt")).contains(&ip));
}

/// Every IPv4 address or network written in a recorded file.
fn recorded_ipv4_networks() -> Vec<ipnet::Ipv4Net> {
    other_recorded_text(&[])
        .split(|c: char| !(c.is_ascii_digit() || c == '.' || c == '/'))
        .filter_map(|token| {
            token
                .parse::<ipnet::Ipv4Net>()
                .ok()
                .or_else(|| token.parse::<std::net::Ipv4Addr>().ok().map(ipnet::Ipv4Net::from))
        })
        .collect()
}

#[test]
fn a_value_listed_nowhere_exits_1_and_names_the_lists_that_match_it() {
    let root = built(&[T2]);
    // Google's resolver: in no recorded address or network, and in the resolver list.
    let resolver: std::net::Ipv4Addr = "8.8.8.8".parse().unwrap();
    assert!(recorded_ipv4_networks().iter().all(|net| !net.contains(&resolver)));
    let list = std::fs::read_to_string(repo().join("warninglists.d/public-dns-v4.json")).unwrap();
    assert!(list.contains("\"8.8.8.8\""));
    let (code, json) = lookup_json(root.path(), "8.8.8.8", T2);
    assert_eq!(code, 1);
    assert_eq!(json["listed"], false);
    assert_eq!(items(&json, "feeds").len(), 0);
    assert_eq!(items(&json, "tasks").len(), 0);
    assert_eq!(items(&json, "unread").len(), 0);
    assert!(items(&json, "warninglists").iter().any(|l| l["id"] == "public-dns-v4"), "{json}");
    let (code, text) = lookup_text(root.path(), "8.8.8.8", T2);
    assert_eq!(code, 1);
    assert!(text.contains("\nListed by no enabled feed.\n"), "{text}");
    assert!(
        text.contains(
            "\n  public-dns-v4 (List of known IPv4 public DNS resolvers, cidr): applied by "
        ),
        "{text}"
    );
}

#[test]
fn the_json_shape_is_the_documented_one() {
    let root = built(&[T2]);
    let (_, json) = lookup_json(root.path(), "8.8.8.8", T2);
    let keys: Vec<&str> = json.as_object().unwrap().keys().map(String::as_str).collect();
    let mut expected = vec![
        "version",
        "query",
        "indicator",
        "normalized",
        "now",
        "now_unix",
        "listed",
        "feeds",
        "tasks",
        "warninglists",
        "unread",
        "notes",
    ];
    expected.sort_unstable();
    let mut keys = keys;
    keys.sort_unstable();
    assert_eq!(keys, expected);
    // Every key is in the README's description of the shape.
    let readme = std::fs::read_to_string(repo().join("README.md")).unwrap();
    for key in expected {
        assert!(readme.contains(&format!("`{key}`")), "README does not describe `{key}`");
    }
}

#[test]
fn a_lookup_writes_nothing_and_reads_the_cache_by_default() {
    let root = built(&[T2]);
    let before = snapshot(root.path());
    let list = std::fs::read_to_string(recorded().join("criticalpathsecurity/compromised-ips.txt"))
        .unwrap();
    let ip = list.lines().next().unwrap().trim().to_owned();
    // Offline, from the cache the builds filled: ET is read and lists its own first address.
    let output = run(root.path(), &["--json", "--now", T2, &ip]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(listings(&json, "et-compromised-ips").len(), 1, "{json}");
    assert_eq!(items(&json, "unread").len(), 0, "{json}");
    // From recorded responses, which a build copies into the cache.
    let (code, _) = lookup_json(root.path(), &ip, T2);
    assert_eq!(code, 0);
    assert_eq!(snapshot(root.path()), before, "a look-up changed files");
}

#[test]
fn without_cached_data_every_feed_is_unread_and_the_look_up_cannot_tell() {
    let root = copy_root_definitions();
    let output = run(root.path(), &["--json", "198.51.100.7"]);
    // 2, not 1: no feed could have listed it (README, "Exit codes").
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(String::from_utf8_lossy(&output.stderr).contains("could be read"), "{output:?}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let unread = items(&json, "unread");
    // A feed is enabled unless its definition says `enabled = false` (README).
    let enabled = std::fs::read_dir(repo().join("feeds.d"))
        .unwrap()
        .filter(|e| {
            let text = std::fs::read_to_string(e.as_ref().unwrap().path()).unwrap();
            !text.lines().any(|l| l.replace(' ', "") == "enabled=false" || l == "enabled: false")
        })
        .count();
    assert_eq!(unread.len(), enabled, "{json}");
    assert!(unread.iter().all(|u| u["reason"].as_str().unwrap().contains("not in the cache")));
    assert!(!root.path().join(".feedsmith").exists(), "a look-up created the state folder");
}

/// A one-feed project reading `list.txt` as free text, with MISP's default models; the task
/// `all` keeps special-purpose ranges, the task `public` leaves them out (the default).
fn local_project(list: &str) -> tempfile::TempDir {
    crate::util::one_list_project(list, &[("all", "exclude_reserved = false"), ("public", "")])
}

#[test]
fn a_failing_feed_s_last_good_data_decays_from_the_last_build_that_saw_it() {
    let root = local_project("198.51.100.1\n198.51.100.2\n");
    let output = feedsmith(root.path(), &["build", "--now", T1]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    // The upstream empties; its last good data (7 days by default) stands in.
    std::fs::write(root.path().join("list.txt"), "").unwrap();
    let before = snapshot(root.path());
    let now = rfc3339(unix(T1) + 5 * DAY);
    let output = run(root.path(), &["--json", "--now", &now, "198.51.100.1"]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let listing = &items(&json, "feeds")[0];
    assert_eq!(listing["stale"], true);
    // The look-up did not see it listed: the times are the build's.
    assert_eq!(listing["first_seen"], T1);
    assert_eq!(listing["last_seen"], T1);
    let all = verdict(&json, "all", "198.51.100.1");
    assert_eq!(all["verdict"], "selected");
    let scoring = &items(all, "feeds")[0]["scoring"];
    assert_eq!(scoring["base_score_from"], "model");
    close(&scoring["base_score"], 80.0);
    assert_eq!(scoring["reference_from"], "ledger");
    assert_eq!(scoring["reference_time"], T1);
    close(&scoring["score"], nids_score(80.0, 5 * DAY));
    close(&all["score"], nids_score(80.0, 5 * DAY));
    assert_eq!(scoring["expires"], rfc3339(unix(T1) + 4_050_001).as_str());
    // 198.51.100.0/24 is a documentation range.
    let public = verdict(&json, "public", "198.51.100.1");
    assert_eq!(public["verdict"], "reserved");
    assert!(items(public, "feeds")[0]["scoring"].is_null());
    // The failure is not recorded: that is the next build's business.
    assert_eq!(snapshot(root.path()), before, "a look-up changed files");
}

#[test]
fn a_task_min_score_is_the_minimum_and_the_model_is_the_task_s() {
    let root = local_project("198.51.100.1\n");
    std::fs::write(
        root.path().join("tasks.d/strict.toml"),
        "name = \"strict\"\n[select]\nexclude_reserved = false\nmodel = \"phishing\"\nmin_score = 81\n\
         [[outputs]]\nformat = \"plain\"\npath = \"strict.txt\"\n",
    )
    .unwrap();
    let output = feedsmith(root.path(), &["build", "--now", T1]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let output = run(root.path(), &["--json", "--now", T1, "198.51.100.1"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let strict = verdict(&json, "strict", "198.51.100.1");
    assert_eq!(strict["model"]["id"], "phishing");
    assert_eq!(strict["model"]["chosen_by"], "task");
    close(&strict["min_score"], 81.0);
    assert_eq!(strict["min_score_from"], "task");
    // B = 80 (the phishing model's default) at its reference: below 81.
    close(&strict["score"], 80.0);
    assert_eq!(strict["verdict"], "expired");
    assert!(plain_values(&root.path().join("site/strict.txt")).is_empty());
}

#[test]
fn hostile_values_are_refused_with_a_clean_error() {
    let root = copy_root_definitions();
    let long = "a".repeat(100_000);
    for value in [
        "198.51.100.7\u{1b}[2J",
        "bad.example\r\nSet-Cookie: x",
        long.as_str(),
        "",
        "   ",
        "\u{202e}moc.elpmaxe",
        "no type matches this",
    ] {
        let output = run(root.path(), &["--", value]);
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{value:?}: {stderr}");
        assert!(output.stdout.is_empty(), "{value:?}");
        assert!(stderr.starts_with("error: `"), "{value:?}: {stderr}");
        assert!(stderr.contains("is not a value feedsmith can look up"), "{stderr}");
        assert!(!stderr.contains("panicked"), "{stderr}");
        assert!(!stderr.contains('\u{1b}') && !stderr.contains('\r'), "{stderr:?}");
        assert!(stderr.len() < 1_000, "{} bytes of error", stderr.len());
        // Under `--json` a script gets the same refusal as JSON.
        let output = run(root.path(), &["--json", "--", value]);
        assert_eq!(output.status.code(), Some(2), "{value:?}");
        let answer: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let error = answer["error"].as_str().unwrap();
        assert!(error.contains("is not a value feedsmith can look up"), "{error}");
        assert!(!output.stdout.contains(&0x1b), "{value:?}");
        assert!(answer["query"].as_str().unwrap().chars().count() <= 121, "{answer}");
    }
    // Bytes that are not UTF-8.
    let output = assert_cmd::Command::cargo_bin("feedsmith")
        .unwrap()
        .arg("--root")
        .arg(root.path())
        .arg("lookup")
        .arg(<std::ffi::OsStr as std::os::unix::ffi::OsStrExt>::from_bytes(b"198.51.100.\xff"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(2), "{stderr}");
    assert!(stderr.contains("it is not UTF-8 text"), "{stderr}");
}

#[test]
fn invalid_definitions_and_usage_errors_exit_2() {
    let invalid = repo().join("tests/fixtures/invalid/unknown-key");
    let output = feedsmith(&invalid, &["lookup", "198.51.100.7"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let root = copy_root_definitions();
    let output = feedsmith(root.path(), &["lookup"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    let output = feedsmith(root.path(), &["lookup", "--now", "yesterday", "198.51.100.7"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    // A build's usage error keeps its code.
    let output = feedsmith(root.path(), &["build", "--no-such-option"]);
    assert_eq!(output.status.code(), Some(1), "{output:?}");
}

#[test]
fn a_csv_time_is_the_reference_and_one_after_the_build_counts_as_the_build() {
    let root = local_project("");
    crate::util::make_list_a_csv(
        root.path(),
        "value,seen\n198.51.100.1,2026-08-20T00:00:00Z\n198.51.100.2,2030-01-01T00:00:00Z\n",
    );
    let output = feedsmith(root.path(), &["build", "--now", T1]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");

    // Its own last_seen, two days before T1: B × (1 − √(2/120)).
    let output = run(root.path(), &["--json", "--now", T1, "198.51.100.1"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let seen = unix("2026-08-20T00:00:00Z");
    assert_eq!(unix(T1) - seen, 2 * DAY);
    assert_eq!(items(&json, "feeds")[0]["record_last_seen"], "2026-08-20T00:00:00Z");
    let scoring = &items(verdict(&json, "all", "198.51.100.1"), "feeds")[0]["scoring"];
    assert_eq!(scoring["reference_from"], "last_seen");
    assert_eq!(scoring["reference_capped"], false);
    assert_eq!(scoring["reference_time"], "2026-08-20T00:00:00Z");
    close(&scoring["score"], nids_score(80.0, 2 * DAY));
    assert_eq!(scoring["expires"], rfc3339(seen + 4_050_001).as_str());

    // A time after the build is the provider's clock: it counts as the build time.
    let output = run(root.path(), &["--json", "--now", T1, "198.51.100.2"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let scoring = &items(verdict(&json, "all", "198.51.100.2"), "feeds")[0]["scoring"];
    assert_eq!(scoring["reference_from"], "last_seen");
    assert_eq!(scoring["reference_capped"], true);
    assert_eq!(scoring["reference_time"], T1);
    close(&scoring["score"], 80.0);
    let output = run(root.path(), &["--now", T1, "198.51.100.2"]);
    let text = String::from_utf8(output.stdout).unwrap();
    assert!(
        text.contains(&format!(
            "      reference time {T1}: the feed's last_seen, after the build time, so counted as it\n"
        )),
        "{text}"
    );
}

// Found by hostile-input testing: a build at an earlier `--now` than the last one (a past
// day replayed, a clock set back) took the ledger's last build, after its own time, as the
// reference, and every value of a feed without timestamps scored 0 and left the outputs.
#[test]
fn a_ledger_time_after_the_build_counts_as_the_build() {
    let root = local_project("198.51.100.1\n");
    let output = feedsmith(root.path(), &["build", "--now", T2]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    let output = feedsmith(root.path(), &["build", "--now", T1]);
    assert_eq!(output.status.code(), Some(0), "{output:?}");
    assert_eq!(plain_values(&root.path().join("site/all.txt")), ["198.51.100.1"]);
    let output = run(root.path(), &["--json", "--now", T1, "198.51.100.1"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    let listing = &items(&json, "feeds")[0];
    assert_eq!(listing["last_seen"], T2);
    let all = verdict(&json, "all", "198.51.100.1");
    assert_eq!(all["verdict"], "selected");
    let scoring = &items(all, "feeds")[0]["scoring"];
    assert_eq!(scoring["reference_from"], "ledger");
    assert_eq!(scoring["reference_time"], T1);
    assert_eq!(scoring["reference_capped"], true);
    // NIDS's default base score at its reference time.
    close(&scoring["score"], 80.0);
}
