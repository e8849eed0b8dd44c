//! Every real feed file of `shared/feeds/` (beside the repository: `../shared/feeds`, or the
//! folder named by `FEEDSMITH_SHARED_FEEDS`), read with the settings of the feed definition
//! that reads it, and checked against a plain reading of the same file done here: line
//! splitting, `std::net` and `ipnet` parsing of addresses, a JSON walk of MISP events.
//!
//! Per file, the counts of lines, comments, blank lines, accepted values, distinct indicators
//! and indicators per type must match, and the rejections and warnings must be exactly the
//! reasons this reading expects, with the same counts: no rejection goes unexplained. The
//! warning lists and the JSON exports are other readers' files and are left out; every other
//! file of the snapshot's `SHA256SUMS` must have a case here, and its checksum must match, so
//! that the counts are those of the snapshot `SOURCES.md` describes.
//!
//! Without the shared folder (a checkout of the repository alone) the test says so and passes.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use feedsmith::config::{self, Feed, FeedFormat, Project};
use feedsmith::parse::{self, ParsedFeed};
use ipnet::IpNet;
use sha2::{Digest, Sha256};

use crate::util::repo;

/// How a plain reading sees one value.
#[derive(Clone, Copy, Debug)]
enum Value {
    /// An IPv4 or IPv6 address, or a network.
    Ip,
    /// A domain or host name.
    Name,
    /// A SHA-256 hash.
    Sha256,
    /// A URL, in free text or an untyped column: a port with no path after it is dropped.
    Url,
    /// A URL in a column a type column declares `url`: written as it is, port and all.
    TypedUrl,
}

/// How a plain reading splits a file.
#[derive(Clone, Copy, Debug)]
enum Reading {
    /// Free text, one value per line; `#`, `;` and `//` lines are comments, and ` ;` or ` #`
    /// starts a trailing comment.
    Lines(Value),
    /// CSV: `delimiter`, 1-based `columns`, `header_rows` after the `#` comment rows.
    Csv { delimiter: &'static str, columns: &'static [usize], header_rows: u64, value: Value },
    /// A MISP feed folder.
    Misp,
}

struct Case {
    /// Path inside `shared/feeds/`.
    path: &'static str,
    /// The feed definition (`feeds.d/<id>.toml`) whose settings read it.
    feed: &'static str,
    reading: Reading,
}

const IP_LINES: Reading = Reading::Lines(Value::Ip);

const CASES: &[Case] = &[
    // A URL list; SOURCES.md: 781 lines are cut short with `…`.
    Case {
        path: "criticalpathsecurity/AtomSpam.txt",
        feed: "cps-atomspam",
        reading: Reading::Lines(Value::Url),
    },
    // Two retired feeds, 0 bytes each.
    Case {
        path: "criticalpathsecurity/Cyber_Threat_Coalition_Domain_Blacklist.txt",
        feed: "cps-ctc-domain-blacklist",
        reading: Reading::Lines(Value::Name),
    },
    Case {
        path: "criticalpathsecurity/dom-bl.txt",
        feed: "cps-dom-bl",
        reading: Reading::Lines(Value::Name),
    },
    Case {
        path: "criticalpathsecurity/abuse-ch-ipblocklist.txt",
        feed: "cps-abusech-ipblocklist",
        reading: IP_LINES,
    },
    Case { path: "criticalpathsecurity/alienvault.txt", feed: "cps-alienvault", reading: IP_LINES },
    Case {
        path: "criticalpathsecurity/binarydefense.txt",
        feed: "binarydefense-banlist",
        reading: IP_LINES,
    },
    // The definition reads columns 1 and 3 of threatview.io's CSV; this mirror has one
    // column, so every row lacks column 3 and gives its value from column 1: a
    // `missing_column` warning, not a rejection (feeds.d/threatview-cobaltstrike-c2.toml).
    Case {
        path: "criticalpathsecurity/cobaltstrike_ips.txt",
        feed: "threatview-cobaltstrike-c2",
        reading: Reading::Csv {
            delimiter: ",",
            columns: &[1, 3],
            header_rows: 0,
            value: Value::Ip,
        },
    },
    Case {
        path: "criticalpathsecurity/compromised-ips.txt",
        feed: "et-compromised-ips",
        reading: Reading::Csv { delimiter: ",", columns: &[1], header_rows: 0, value: Value::Ip },
    },
    Case {
        path: "criticalpathsecurity/cps_cobaltstrike_domain.txt",
        feed: "cps-cobaltstrike-domain",
        reading: Reading::Lines(Value::Name),
    },
    Case {
        path: "criticalpathsecurity/cps_cobaltstrike_ip.txt",
        feed: "cps-cobaltstrike-ip",
        reading: IP_LINES,
    },
    Case {
        path: "criticalpathsecurity/drb-ra-unverified.txt",
        feed: "cps-drb-ra-unverified",
        reading: IP_LINES,
    },
    Case {
        path: "criticalpathsecurity/drb-ra-verified.txt",
        feed: "cps-drb-ra-verified",
        reading: IP_LINES,
    },
    Case {
        path: "criticalpathsecurity/predict.txt",
        feed: "cps-predict",
        reading: Reading::Lines(Value::Name),
    },
    Case { path: "criticalpathsecurity/rutgers.txt", feed: "cps-rutgers", reading: IP_LINES },
    Case { path: "criticalpathsecurity/sip.txt", feed: "cps-sip", reading: IP_LINES },
    Case {
        path: "criticalpathsecurity/threatfox.txt",
        feed: "cps-threatfox-ips",
        reading: IP_LINES,
    },
    Case { path: "criticalpathsecurity/tor-exit.txt", feed: "cps-tor-exit", reading: IP_LINES },
    // A quoted header row that is not commented out.
    Case {
        path: "feodotracker/ipblocklist.csv",
        feed: "feodo-ipblocklist",
        reading: Reading::Csv { delimiter: ",", columns: &[2], header_rows: 1, value: Value::Ip },
    },
    // Bare addresses and networks, with bogon ranges; `224.0.0.0/3` is shorter than /8.
    Case { path: "firehol/firehol_level1.netset", feed: "firehol-level1", reading: IP_LINES },
    Case {
        path: "ipsum/ipsum.txt",
        feed: "ipsum",
        reading: Reading::Csv { delimiter: "\t", columns: &[1], header_rows: 0, value: Value::Ip },
    },
    Case { path: "ipsum/levels/2.txt", feed: "ipsum-level2", reading: IP_LINES },
    Case { path: "ipsum/levels/3.txt", feed: "ipsum-level3", reading: IP_LINES },
    Case { path: "ipsum/levels/4.txt", feed: "ipsum-level4", reading: IP_LINES },
    Case { path: "ipsum/levels/5.txt", feed: "ipsum-level5", reading: IP_LINES },
    Case { path: "ipsum/levels/6.txt", feed: "ipsum-level6", reading: IP_LINES },
    Case { path: "ipsum/levels/7.txt", feed: "ipsum-level7", reading: IP_LINES },
    Case { path: "ipsum/levels/8.txt", feed: "ipsum-level8", reading: IP_LINES },
    // Only two of the nine RedBlue text files have a definition; the others are the same
    // format (one address per line, or an empty `_v6` file) and are read with its settings.
    Case {
        path: "redblue-crowdsec-txt/feed-all-7d.txt",
        feed: "redblue-all-7d",
        reading: IP_LINES,
    },
    Case {
        path: "redblue-crowdsec-txt/feed-all-7d_v4.txt",
        feed: "redblue-all-7d",
        reading: IP_LINES,
    },
    Case {
        path: "redblue-crowdsec-txt/feed-all-7d_v6.txt",
        feed: "redblue-all-7d",
        reading: IP_LINES,
    },
    Case {
        path: "redblue-crowdsec-txt/feed-crowdsec-7d.txt",
        feed: "redblue-all-7d",
        reading: IP_LINES,
    },
    Case {
        path: "redblue-crowdsec-txt/feed-crowdsec-7d_v4.txt",
        feed: "redblue-all-7d",
        reading: IP_LINES,
    },
    Case {
        path: "redblue-crowdsec-txt/feed-crowdsec-7d_v6.txt",
        feed: "redblue-crowdsec-7d-v6",
        reading: IP_LINES,
    },
    Case {
        path: "redblue-crowdsec-txt/feed-suricata-7d.txt",
        feed: "redblue-all-7d",
        reading: IP_LINES,
    },
    Case {
        path: "redblue-crowdsec-txt/feed-suricata-7d_v4.txt",
        feed: "redblue-all-7d",
        reading: IP_LINES,
    },
    Case {
        path: "redblue-crowdsec-txt/feed-suricata-7d_v6.txt",
        feed: "redblue-all-7d",
        reading: IP_LINES,
    },
    // `;` comments, `CIDR ; SBLnnn` lines, CRLF.
    Case { path: "spamhaus-drop/drop.txt", feed: "spamhaus-drop", reading: IP_LINES },
    // Quoted fields joined by `", "`, the column header commented out.
    Case {
        path: "threatfox/full_sha256.csv",
        feed: "threatfox-sha256",
        reading: Reading::Csv {
            delimiter: ", ",
            columns: &[3],
            header_rows: 0,
            value: Value::Sha256,
        },
    },
    Case {
        path: "threatfox/full_urls.csv",
        feed: "threatfox-urls",
        reading: Reading::Csv {
            delimiter: ", ",
            columns: &[3],
            header_rows: 0,
            value: Value::TypedUrl,
        },
    },
    Case { path: "misp-tweetfeed", feed: "tweetfeed", reading: Reading::Misp },
    Case { path: "misp-chrome-mal-ids", feed: "chrome-mal-ids", reading: Reading::Misp },
    Case { path: "misp-redblue-crowdsec", feed: "redblue-crowdsec", reading: Reading::Misp },
];

/// What a reading of one file gives.
#[derive(Debug, Default, PartialEq, Eq)]
struct Counts {
    lines: u64,
    comments: u64,
    blank: u64,
    header_rows: u64,
    events: u64,
    deleted: u64,
    not_ids: u64,
    accepted: u64,
    distinct: u64,
    by_type: BTreeMap<String, u64>,
    rejected: BTreeMap<String, u64>,
    warnings: BTreeMap<String, u64>,
}

/// The snapshot of real feed files.
fn shared_feeds() -> PathBuf {
    let folder = std::env::var_os("FEEDSMITH_SHARED_FEEDS")
        .map_or_else(|| repo().join("tests/fixtures/feeds"), PathBuf::from);
    assert!(folder.join("SHA256SUMS").is_file(), "{} holds no SHA256SUMS", folder.display());
    folder
}

#[test]
#[expect(clippy::print_stderr, reason = "the per-file counts are the test's report")]
fn every_real_feed_file_parses_with_only_the_rejections_a_plain_reading_explains() {
    let shared = shared_feeds();
    let project = config::load(&repo()).expect("the repository's definitions load");
    check_every_file_has_a_case(&shared);

    let mut failures = Vec::new();
    for case in CASES {
        let feed = project_feed(&project, case.feed);
        let path = shared.join(case.path);
        let (parsed, expected) = match case.reading {
            Reading::Misp => (parse_misp(feed, &path), misp_counts(&path)),
            Reading::Lines(value) => {
                let bytes = std::fs::read(&path).unwrap();
                assert_eq!(feed.config.format, FeedFormat::Freetext, "{}", case.feed);
                let parsed = parse::freetext::parse(&bytes, &feed.freetext, feed.exclude.as_ref());
                (parsed, text_counts(&text_of(&bytes), value))
            }
            Reading::Csv { delimiter, columns, header_rows, value } => {
                let bytes = std::fs::read(&path).unwrap();
                assert_eq!(feed.config.format, FeedFormat::Csv, "{}", case.feed);
                let parsed = parse::csv::parse(&bytes, &feed.csv, feed.exclude.as_ref()).unwrap();
                (parsed, csv_counts(&text_of(&bytes), delimiter, columns, header_rows, value))
            }
        };
        let got = counts_of(&parsed);
        if got != expected {
            failures.push(format!("{}:\n  feedsmith {got:?}\n  plain     {expected:?}", case.path));
        }
        // The per-file counts, for whoever reads the test output (`--nocapture`).
        eprintln!(
            "{}: {} accepted, {} distinct, rejected {:?}",
            case.path, got.accepted, got.distinct, got.rejected
        );
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

fn project_feed<'p>(project: &'p Project, id: &str) -> &'p Feed {
    project.feeds.iter().find(|f| f.id == id).unwrap_or_else(|| panic!("no feed `{id}`"))
}

/// Checks that every data file of the snapshot has a case (or is another reader's), and
/// that every file read has the checksum `SHA256SUMS` gives.
fn check_every_file_has_a_case(shared: &Path) {
    let sums = std::fs::read_to_string(shared.join("SHA256SUMS")).unwrap();
    let mut covered = 0;
    for line in sums.lines().filter(|l| !l.trim().is_empty()) {
        let (sum, name) = line.split_once("  ").expect("`<sha256>  <path>` lines");
        let name = name.trim_start_matches("./");
        if name.starts_with("misp-warninglists/") {
            continue; // the `filter` stage's files
        }
        let case =
            CASES.iter().find(|c| name == c.path || name.starts_with(&format!("{}/", c.path)));
        if case.is_none() {
            // JSON exports that are not MISP feeds belong to the JSON reader.
            let json = Path::new(name).extension().is_some_and(|e| e.eq_ignore_ascii_case("json"));
            assert!(json, "{name} has no case in this test");
            continue;
        }
        covered += 1;
        let bytes = std::fs::read(shared.join(name)).unwrap();
        assert_eq!(hex::encode(Sha256::digest(&bytes)), sum, "{name} is not the snapshot's");
    }
    assert!(covered >= CASES.len(), "some cases name no file of SHA256SUMS");
}

fn text_of(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("the snapshot's text files are UTF-8")
}

/// The lines of a body: split at `\n`, a `\r` before it removed, no last line after a final
/// `\n`.
fn lines_of(text: &str) -> Vec<&str> {
    let mut lines: Vec<&str> =
        text.split('\n').map(|l| l.strip_suffix('\r').unwrap_or(l)).collect();
    if lines.last() == Some(&"") {
        lines.pop();
    }
    lines
}

/// What feedsmith's reader gave, in the same terms.
fn counts_of(parsed: &ParsedFeed) -> Counts {
    let stats = &parsed.stats;
    let mut by_type = BTreeMap::new();
    for record in &parsed.records {
        *by_type.entry(record.indicator.kind.as_str().to_owned()).or_default() += 1;
    }
    Counts {
        lines: stats.lines,
        comments: stats.comments,
        blank: stats.blank,
        header_rows: stats.header_rows,
        events: stats.events,
        deleted: stats.deleted,
        not_ids: stats.not_ids,
        accepted: stats.accepted,
        distinct: parsed.records.len() as u64,
        by_type,
        rejected: stats.rejected.iter().map(|(k, v)| ((*k).to_owned(), v.count)).collect(),
        warnings: stats.warnings.iter().map(|(k, v)| ((*k).to_owned(), *v)).collect(),
    }
}

/// Adds up values: accepted ones by their key and type, rejected ones by reason.
#[derive(Default)]
struct Tally {
    counts: Counts,
    keys: HashMap<String, String>,
}

impl Tally {
    fn value(&mut self, text: &str, value: Value) {
        match verdict(text, value) {
            Ok((kind, key, warnings)) => {
                self.counts.accepted += 1;
                for warning in warnings {
                    self.warn(warning);
                }
                self.keys.entry(key).or_insert(kind);
            }
            Err(reason) => self.reject(reason),
        }
    }

    fn reject(&mut self, reason: &str) {
        *self.counts.rejected.entry(reason.to_owned()).or_default() += 1;
    }

    fn warn(&mut self, warning: &str) {
        *self.counts.warnings.entry(warning.to_owned()).or_default() += 1;
    }

    fn finish(mut self) -> Counts {
        self.counts.distinct = self.keys.len() as u64;
        for kind in self.keys.into_values() {
            *self.counts.by_type.entry(kind).or_default() += 1;
        }
        self.counts
    }
}

type Verdict = Result<(String, String, Vec<&'static str>), &'static str>;

/// A plain judgement of one value: its type, a key equal for equal indicators, and the
/// warnings its spelling calls for; or the reason it is no indicator.
fn verdict(text: &str, value: Value) -> Verdict {
    match value {
        Value::Ip => ip_verdict(text),
        Value::Name => {
            let (name, warnings) = match text.strip_suffix('.') {
                Some(name) => (name, vec!["trailing_dot"]),
                None => (text, vec![]),
            };
            let name = name.to_ascii_lowercase();
            let labels: Vec<&str> = name.split('.').collect();
            assert!(
                labels.len() >= 2
                    && labels.iter().all(|l| {
                        !l.is_empty() && l.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
                    }),
                "{text} is not a plain host name"
            );
            // MISP's rule (freetext.md §5.3): a name under a TLD that is not in IANA's list
            // (or `onion`) is a file name, such as Namecoin's `sysdm.bit` in predict.txt.
            let kind = match labels.len() {
                _ if !is_iana_tld(labels[labels.len() - 1]) => "filename",
                2 => "domain",
                _ => "hostname",
            };
            Ok((kind.to_owned(), name, warnings))
        }
        Value::Sha256 => {
            assert!(text.len() == 64 && text.bytes().all(|b| b.is_ascii_hexdigit()), "{text}");
            Ok(("sha256".to_owned(), text.to_ascii_lowercase(), vec![]))
        }
        Value::Url => url_verdict(text, true),
        Value::TypedUrl => url_verdict(text, false),
    }
}

/// Whether a label is in IANA's list of top-level domains, as the repository vendors it
/// (`data/tlds.txt`, from MISP's warning list "TLDs as known by IANA"), or is `onion`.
fn is_iana_tld(label: &str) -> bool {
    static IANA: std::sync::LazyLock<BTreeSet<String>> = std::sync::LazyLock::new(|| {
        std::fs::read_to_string(repo().join("data/tlds.txt"))
            .unwrap()
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(str::to_owned)
            .collect()
    });
    label == "onion" || IANA.contains(label)
}

/// An address or network read with `std` and `ipnet`: host bits cleared, `/32` and `/128`
/// bare, IPv4 prefixes shorter than /8 and IPv6 ones shorter than /16 refused.
fn ip_verdict(text: &str) -> Verdict {
    if let Ok(addr) = text.parse::<IpAddr>() {
        return Ok(("ip-dst".to_owned(), addr.to_string(), vec![]));
    }
    let net: IpNet = text.parse().unwrap_or_else(|_| panic!("{text} is no address or network"));
    let shortest = if net.addr().is_ipv4() { 8 } else { 16 };
    if net.prefix_len() < shortest {
        return Err("prefix_too_short");
    }
    let warnings = if net.trunc() == net { vec![] } else { vec!["host_bits_set"] };
    let key = if net.prefix_len() == net.max_prefix_len() {
        net.addr().to_string()
    } else {
        net.trunc().to_string()
    };
    Ok(("ip-dst".to_owned(), key, warnings))
}

/// A URL: truncated (`…`), broken (`https://https://…`), or one whose scheme and host are
/// compared without case, `[.]` read as `.`, a root dot after the host dropped, and a port
/// that ends the URL dropped as MISP drops it.
fn url_verdict(text: &str, drop_port: bool) -> Verdict {
    if text.ends_with('…') {
        return Err("truncated");
    }
    let mut warnings = Vec::new();
    let refanged = text.replace("[.]", ".");
    if refanged != text {
        warnings.push("defanged");
    }
    let (scheme, rest) = refanged.split_once("://").unwrap_or_else(|| panic!("{text}: no scheme"));
    let end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (host, path) = rest.split_at(end);
    // A second scheme where the host should be: `https://https://t.me/…`.
    if host.ends_with(':') || host.contains("//") {
        return Err("invalid_url");
    }
    let mut host = host.to_ascii_lowercase();
    if drop_port
        && path.is_empty()
        && let Some((name, port)) = host.rsplit_once(':')
        && !port.is_empty()
        && port.bytes().all(|b| b.is_ascii_digit())
        && !name.contains('@')
    {
        host = name.to_owned();
        warnings.push("port_dropped");
    }
    if let Some(name) = host.strip_suffix('.') {
        host = name.to_owned();
        warnings.push("trailing_dot");
    }
    Ok(("url".to_owned(), format!("{}://{host}{path}", scheme.to_ascii_lowercase()), warnings))
}

/// A plain reading of free text holding one value per line.
fn text_counts(text: &str, value: Value) -> Counts {
    let mut tally = Tally::default();
    for line in lines_of(text) {
        tally.counts.lines += 1;
        let trimmed = line.trim();
        if trimmed.is_empty() {
            tally.counts.blank += 1;
            continue;
        }
        if ["#", ";", "//"].iter().any(|p| trimmed.starts_with(p)) {
            tally.counts.comments += 1;
            continue;
        }
        // A trailing comment starts with white space and `;` or `#` (`CIDR ; SBLnnn`).
        let cut = trimmed
            .find([' ', '\t'])
            .filter(|&at| trimmed[at..].trim_start().starts_with([';', '#']));
        let data = cut.map_or(trimmed, |at| &trimmed[..at]);
        let words: Vec<&str> = data.split_whitespace().collect();
        assert_eq!(words.len(), 1, "one value per line: {line:?}");
        tally.value(words[0], value);
    }
    tally.finish()
}

/// A plain reading of CSV without quotes inside fields: split at the delimiter, surrounding
/// quotes and spaces removed, `#` rows are comments, the first `header_rows` rows after them
/// headers. A row without one of the columns is one `short_row` when no other column gave a
/// value, else one `missing_column` warning.
fn csv_counts(
    text: &str,
    delimiter: &str,
    columns: &[usize],
    header_rows: u64,
    value: Value,
) -> Counts {
    let mut tally = Tally::default();
    let mut headers = 0;
    for line in lines_of(text) {
        tally.counts.lines += 1;
        if line.trim().is_empty() {
            tally.counts.blank += 1;
            continue;
        }
        if line.trim_start_matches([' ', '"']).starts_with('#') {
            tally.counts.comments += 1;
            continue;
        }
        if headers < header_rows {
            headers += 1;
            tally.counts.header_rows += 1;
            continue;
        }
        let cells: Vec<&str> = line.split(delimiter).map(|c| c.trim().trim_matches('"')).collect();
        let mut short = false;
        let mut any = false;
        for &column in columns {
            match cells.get(column - 1) {
                Some(cell) if !cell.is_empty() && *cell != "None" => {
                    any = true;
                    tally.value(cell, value);
                }
                Some(_) => {}
                None => short = true,
            }
        }
        match (short, any) {
            (true, true) => tally.warn("missing_column"),
            (true, false) => tally.reject("short_row"),
            (false, _) => {}
        }
    }
    tally.finish()
}

/// Reads a MISP feed folder with feedsmith: its manifest, then every event it lists.
fn parse_misp(feed: &Feed, folder: &Path) -> ParsedFeed {
    let manifest = std::fs::read(folder.join("manifest.json")).unwrap();
    let manifest = parse::misp::read_manifest(&manifest, &feed.misp).unwrap();
    let events: Vec<(String, Vec<u8>)> = manifest
        .events
        .iter()
        .map(|e| (e.uuid.clone(), std::fs::read(folder.join(format!("{}.json", e.uuid))).unwrap()))
        .collect();
    let mut parsed = parse::misp::parse_events(&events, &feed.misp);
    parsed.stats.rejected.extend(manifest.stats.rejected);
    parsed
}

/// A plain reading of a MISP feed folder with `serde_json`: every attribute of every event
/// the manifest lists, in `Event.Attribute` and in `Event.Object[].Attribute`; deleted ones
/// skipped, those without `to_ids` counted apart (the definitions keep the default
/// `to_ids_only`), and a name longer than DNS allows (a label over 63 bytes, a name over
/// 253) rejected.
fn misp_counts(folder: &Path) -> Counts {
    let read = |name: &str| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(folder.join(name)).unwrap()).unwrap()
    };
    let manifest = read("manifest.json");
    let mut tally = Tally::default();
    let flag = |v: &serde_json::Value| {
        matches!(v, serde_json::Value::Bool(true)) || v == "1" || v.as_u64() == Some(1)
    };
    let mut distinct: BTreeSet<(String, String)> = BTreeSet::new();
    for uuid in manifest.as_object().unwrap().keys() {
        let event = read(&format!("{uuid}.json"));
        let event = &event["Event"];
        tally.counts.events += 1;
        let objects = event["Object"].as_array().cloned().unwrap_or_default();
        let attributes =
            event["Attribute"].as_array().into_iter().flatten().chain(
                objects.iter().flat_map(|o| o["Attribute"].as_array().into_iter().flatten()),
            );
        for attribute in attributes {
            tally.counts.lines += 1;
            if flag(&attribute["deleted"]) {
                tally.counts.deleted += 1;
                continue;
            }
            if !flag(&attribute["to_ids"]) {
                tally.counts.not_ids += 1;
                continue;
            }
            let kind = attribute["type"].as_str().unwrap().to_owned();
            let value = attribute["value"].as_str().unwrap().to_owned();
            let host = match kind.as_str() {
                "domain" | "hostname" => Some(value.as_str()),
                "url" => value
                    .split_once("://")
                    .map(|(_, rest)| rest.split(['/', '?', '#', ':']).next().unwrap_or_default()),
                _ => None,
            };
            if host.is_some_and(|h| h.len() > 253 || h.split('.').any(|l| l.len() > 63)) {
                tally.reject("name_too_long");
                continue;
            }
            tally.counts.accepted += 1;
            distinct.insert((kind, value));
        }
    }
    tally.counts.distinct = distinct.len() as u64;
    for (kind, _) in distinct {
        *tally.counts.by_type.entry(kind).or_default() += 1;
    }
    tally.counts
}
