//! IDS formats: a Suricata folder (IP reputation, a domain dataset and the rules that use
//! them) and a Zeek intelligence file.
//!
//! Both keep one line per indicator with its score and feeds rather than an aggregated set,
//! since the score differs per indicator; a network that holds allow-listed addresses is
//! still cut around them, each piece keeping the network's score.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use base64::Engine as _;
use ipnet::IpNet;

use super::dns::names;
use super::ip_lists::pieces;
use super::syntax::{NameRules, Skips, check_name, check_token, entry_net, identifier, net_text};
use super::syntax::{comment_text, url_without_scheme};
use super::{Entry, ExportError, Target, date, header, report, write_file};
use crate::indicator::{AttrType, Family};
use crate::report::OutputReport;

/// The longest Suricata reputation category short name: it is kept in a 32-byte buffer
/// with its final NUL (`SREP_SHORTNAME_LEN` in Suricata's `reputation.c`).
const MAX_CATEGORY: usize = 31;

/// The highest reputation score Suricata takes (`SREP_MAX_VAL`).
const MAX_REPUTATION: f64 = 127.0;

/// The default first SID: the start of the range set aside for local rules.
const DEFAULT_SID: u32 = 1_000_000;

/// The files of a `suricata` folder.
const CATEGORIES: &str = "categories.txt";
const REPUTATION: &str = "reputation.list";
const DATASET: &str = "domains.lst";
pub(crate) const RULES: &str = "feedsmith.rules";

/// A score of 0 to 100 as a Suricata reputation of 1 to 127 (0 means "no data" there); an
/// indicator no model scores is listed at full reputation.
fn reputation(score: Option<f64>) -> u8 {
    let Some(score) = score.filter(|s| s.is_finite()) else { return 127 };
    let scaled = (score.clamp(0.0, 100.0) * MAX_REPUTATION / 100.0).round();
    // `scaled` lies in 0..=127.
    (scaled as u8).max(1)
}

/// `suricata`: the folder `path/` with
///
/// - `categories.txt`: `1,<category>,<task name>`, the category named after the task;
/// - `reputation.list`: `<address or network>,1,<reputation>` per address or network, the
///   score scaled from 0–100 to 1–127, the best score kept when a value repeats;
/// - `domains.lst`: a string dataset, each domain or host name base64-encoded as Suricata
///   reads string datasets;
/// - `feedsmith.rules`: five rules from the output's `sid`: traffic from and to a listed
///   address (`iprep`, one alert per host an hour), and a listed name in a DNS query, a TLS
///   SNI or an HTTP host (`dataset:isset`, exact names). The dataset is loaded by a relative
///   name, so the files belong in one folder.
///
/// The rules do not change with the data, so they need no new `rev`; only the reputation
/// list and the dataset do, and Suricata reloads both (`SIGUSR2` or a rule reload). The
/// reported SHA-256 covers the four files concatenated in the order above.
pub(crate) fn suricata(
    target: &Target<'_>,
    entries: &[Entry<'_>],
) -> Result<OutputReport, ExportError> {
    let mut skips = Skips::default();
    let category = identifier(target.task_id, MAX_CATEGORY);
    let mut addresses: BTreeMap<IpNet, u8> = BTreeMap::new();
    let mut name_entries = Vec::new();
    for entry in entries {
        match entry.indicator.kind.family() {
            Family::Ip => match entry_net(entry) {
                Ok(net) => {
                    let kept = pieces(net, target.allowed);
                    if kept.is_empty() {
                        skips.add("allow_listed", &entry.indicator.value);
                    }
                    for piece in kept {
                        let value = addresses.entry(piece).or_default();
                        *value = (*value).max(reputation(entry.score));
                    }
                }
                Err(reason) => skips.add(reason, &entry.indicator.value),
            },
            Family::Domain => name_entries.push(entry),
            _ => skips.add("unsupported_type", &entry.indicator.value),
        }
    }
    let domain_names = names(name_entries, NameRules::RESOLVER, &mut skips);

    let description = comment_text(target.task_name);
    let mut categories = header(target, "#", 1);
    let _ = writeln!(categories, "1,{category},{description}");

    let mut list = header(target, "#", addresses.len());
    for (net, value) in &addresses {
        let _ = writeln!(list, "{},1,{value}", net_text(net));
    }

    let engine = base64::engine::general_purpose::STANDARD;
    let mut dataset = String::new();
    for name in &domain_names {
        dataset.push_str(&engine.encode(name));
        dataset.push('\n');
    }

    let sid = target.output.sid.unwrap_or(DEFAULT_SID);
    let set = format!("{category}_domains");
    let label = format!("feedsmith {category}");
    let mut rules = header(target, "#", 5);
    let _ = writeln!(
        rules,
        "alert ip any any -> any any (msg:\"{label}: source address on the reputation list\"; \
         iprep:src,{category},>,0; threshold:type limit, track by_src, count 1, seconds 3600; \
         sid:{sid}; rev:1;)"
    );
    let _ = writeln!(
        rules,
        "alert ip any any -> any any (msg:\"{label}: destination address on the reputation list\"; \
         iprep:dst,{category},>,0; threshold:type limit, track by_dst, count 1, seconds 3600; \
         sid:{}; rev:1;)",
        sid.saturating_add(1)
    );
    for (offset, (protocol, buffer, what)) in [
        ("dns", "dns.query", "DNS query"),
        ("tls", "tls.sni", "TLS server name"),
        ("http", "http.host", "HTTP host"),
    ]
    .into_iter()
    .enumerate()
    {
        let _ = writeln!(
            rules,
            "alert {protocol} any any -> any any (msg:\"{label}: {what} on the domain list\"; \
             {buffer}; dataset:isset,{set},type string,load {DATASET}; sid:{}; rev:1;)",
            sid.saturating_add(2 + offset as u32)
        );
    }

    let dir = target.dir.join(target.relative);
    let files =
        [(CATEGORIES, &categories), (REPUTATION, &list), (DATASET, &dataset), (RULES, &rules)];
    let mut all = Vec::new();
    for (name, text) in files {
        write_file(&dir.join(name), text.as_bytes())?;
        all.extend_from_slice(text.as_bytes());
    }
    let written = addresses.len() + domain_names.len();
    Ok(report(target, &all, all.len() as u64, written, &skips))
}

/// Zeek's types for what it can match.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum IntelType {
    Addr,
    Subnet,
    Domain,
    Url,
    Email,
    FileHash,
}

impl IntelType {
    const fn as_str(self) -> &'static str {
        match self {
            IntelType::Addr => "Intel::ADDR",
            IntelType::Subnet => "Intel::SUBNET",
            IntelType::Domain => "Intel::DOMAIN",
            IntelType::Url => "Intel::URL",
            IntelType::Email => "Intel::EMAIL",
            IntelType::FileHash => "Intel::FILE_HASH",
        }
    }
}

/// One Zeek item's sort key: networks in address order, the rest by type and text.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum ItemKey {
    Net(IpNet),
    Text(IntelType, String),
}

/// What an item's meta fields say.
#[derive(Debug, Default)]
struct Meta<'a> {
    score: Option<f64>,
    last_seen: i64,
    feeds: Vec<&'a str>,
}

impl<'a> Meta<'a> {
    fn merge(&mut self, entry: &Entry<'a>) {
        if let Some(score) = entry.score {
            self.score = Some(self.score.map_or(score, |s| s.max(score)));
        }
        self.last_seen = self.last_seen.max(entry.reference_time);
        self.feeds.extend(entry.feeds.iter().copied());
        self.feeds.sort_unstable();
        self.feeds.dedup();
    }
}

/// Whether a value can be a Zeek field: a token (no white space, tab or control character,
/// no quote or backslash, which Zeek's reader would unescape) that is not `-` or `(empty)`,
/// Zeek's marks for an unset and an empty field.
fn zeek_field(value: &str) -> Result<&str, &'static str> {
    check_token(value)?;
    if value == "-" || value == "(empty)" {
        return Err("zeek_reserved_value");
    }
    Ok(value)
}

/// The Zeek item of an entry, or why it has none.
fn intel_item(entry: &Entry<'_>) -> Result<(ItemKey, IntelType), &'static str> {
    let value = &*entry.indicator.value;
    let text = |kind: IntelType, value: &str| Ok((ItemKey::Text(kind, value.to_owned()), kind));
    match entry.indicator.kind {
        AttrType::IpDst | AttrType::IpSrc | AttrType::IpDstPort | AttrType::IpSrcPort => {
            let net = entry_net(entry)?;
            Ok((ItemKey::Net(net), IntelType::Subnet))
        }
        AttrType::Domain | AttrType::Hostname => {
            check_name(value, NameRules::RESOLVER)?;
            text(IntelType::Domain, value)
        }
        AttrType::Url => text(IntelType::Url, zeek_field(url_without_scheme(entry)?)?),
        AttrType::EmailSrc | AttrType::EmailDst | AttrType::Email => {
            let value = zeek_field(value)?;
            if value.contains(',') || !value.contains('@') {
                return Err("not_an_email_address");
            }
            text(IntelType::Email, value)
        }
        AttrType::Md5 | AttrType::Sha1 | AttrType::Sha256 => {
            if !value.bytes().all(|b| b.is_ascii_hexdigit()) || value.is_empty() {
                return Err("not_a_hash");
            }
            text(IntelType::FileHash, value)
        }
        AttrType::HostnamePort | AttrType::DomainIp => Err("composite_value"),
        _ => Err("unsupported_type"),
    }
}

/// `zeek`: an Intel framework file, tab-separated under one `#fields` line:
///
/// ```text
/// #fields<TAB>indicator<TAB>indicator_type<TAB>meta.source<TAB>meta.desc
/// 203.0.113.7<TAB>Intel::ADDR<TAB>feodo,threatfox<TAB>score=82.5 last_seen=2026-05-01
/// bad.example<TAB>Intel::DOMAIN<TAB>urlhaus<TAB>last_seen=2026-05-01
/// ```
///
/// (`<TAB>` stands for one tab character.)
///
/// `meta.source` joins the listing feeds with commas; `meta.desc` holds the score (when a
/// model scores the type) and the day it was last seen. URLs are written without their
/// scheme, as Zeek builds them from HTTP requests. Addresses are `Intel::ADDR`, networks
/// `Intel::SUBNET`, both cut around allow-listed ranges.
pub(crate) fn zeek(
    target: &Target<'_>,
    entries: &[Entry<'_>],
) -> Result<OutputReport, ExportError> {
    let mut skips = Skips::default();
    let mut items: BTreeMap<ItemKey, (IntelType, Meta<'_>)> = BTreeMap::new();
    for entry in entries {
        let (key, kind) = match intel_item(entry) {
            Ok(found) => found,
            Err(reason) => {
                skips.add(reason, &entry.indicator.value);
                continue;
            }
        };
        let keys: Vec<(ItemKey, IntelType)> = match key {
            ItemKey::Net(net) => {
                let kept = pieces(net, target.allowed);
                if kept.is_empty() {
                    skips.add("allow_listed", &entry.indicator.value);
                }
                kept.into_iter()
                    .map(|piece| {
                        let host = piece.prefix_len() == piece.max_prefix_len();
                        let kind = if host { IntelType::Addr } else { IntelType::Subnet };
                        (ItemKey::Net(piece), kind)
                    })
                    .collect()
            }
            text @ ItemKey::Text(..) => vec![(text, kind)],
        };
        for (key, kind) in keys {
            items.entry(key).or_insert_with(|| (kind, Meta::default())).1.merge(entry);
        }
    }
    let mut out = String::from("#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\n");
    for (key, (kind, meta)) in &items {
        let indicator = match key {
            ItemKey::Net(net) => net_text(net),
            ItemKey::Text(_, text) => text.clone(),
        };
        // Feed ids are file stems: kept to characters a field may hold.
        let feeds: Vec<String> = meta
            .feeds
            .iter()
            .map(|feed| {
                feed.chars()
                    .map(|c| if c.is_whitespace() || c.is_control() || c == ',' { '_' } else { c })
                    .collect()
            })
            .collect();
        let source = if feeds.is_empty() { "-".to_owned() } else { feeds.join(",") };
        let mut desc = String::new();
        if let Some(score) = meta.score {
            let _ = write!(desc, "score={score:.1} ");
        }
        let _ = write!(desc, "last_seen={}", date(meta.last_seen));
        let _ = writeln!(out, "{indicator}\t{}\t{source}\t{desc}", kind.as_str());
    }
    super::finish(target, &out, items.len(), &skips)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{
        entry, hostile_names, read, target_with, write_hostile_names, written_values,
    };
    use super::*;
    use crate::config::OutputFormat;
    use crate::indicator::{AddressSet, Indicator, parse_net};

    #[test]
    fn reputation_scales_scores_to_suricata_range() {
        assert_eq!(reputation(Some(100.0)), 127);
        assert_eq!(reputation(Some(50.0)), 64); // 63.5 rounds up
        assert_eq!(reputation(Some(0.0)), 1);
        assert_eq!(reputation(Some(0.2)), 1);
        assert_eq!(reputation(Some(250.0)), 127);
        assert_eq!(reputation(None), 127);
        assert_eq!(reputation(Some(f64::NAN)), 127);
    }

    #[test]
    fn suricata_folder_holds_categories_reputation_dataset_and_rules() {
        let dir = tempfile::tempdir().unwrap();
        let indicators = [
            Indicator::new(AttrType::IpDst, "203.0.113.7"),
            Indicator::new(AttrType::IpSrc, "203.0.113.7"),
            Indicator::new(AttrType::IpDst, "2001:db8::/32"),
            Indicator::new(AttrType::Domain, "bad.example"),
            Indicator::new(AttrType::Domain, "bad.example\nalert ip any any"),
            Indicator::new(AttrType::Sha256, "ab".repeat(32)),
        ];
        let mut entries: Vec<Entry<'_>> = indicators.iter().map(entry).collect();
        entries[0].score = Some(40.0);
        entries[1].score = Some(80.0);
        entries[2].score = Some(100.0);
        let allowed = AddressSet::default();
        let t = target_with(dir.path(), "suricata", OutputFormat::Suricata, &allowed, |o| {
            o.sid = Some(9_000_000);
        });
        let report = suricata(&t, &entries).unwrap();
        let folder = dir.path().join("suricata");
        let read_in = |name: &str| std::fs::read_to_string(folder.join(name)).unwrap();
        assert_eq!(written_values(&read_in("categories.txt"), "#"), ["1,t,Test list"]);
        // 80 × 127 / 100 = 101.6 → 102.
        assert_eq!(
            written_values(&read_in("reputation.list"), "#"),
            ["203.0.113.7,1,102", "2001:db8::/32,1,127"]
        );
        // base64("bad.example") = YmFkLmV4YW1wbGU=
        assert_eq!(read_in("domains.lst"), "YmFkLmV4YW1wbGU=\n");
        let rules_text = read_in("feedsmith.rules");
        let rules = written_values(&rules_text, "#");
        assert_eq!(rules.len(), 5);
        assert!(rules[0].contains("iprep:src,t,>,0;") && rules[0].contains("sid:9000000;"));
        assert!(rules[1].contains("iprep:dst,t,>,0;") && rules[1].contains("sid:9000001;"));
        assert!(rules[2].starts_with("alert dns ") && rules[2].contains("sid:9000002;"));
        assert!(
            rules[2].contains("dns.query; dataset:isset,t_domains,type string,load domains.lst;")
        );
        assert!(rules[4].contains("http.host;") && rules[4].contains("sid:9000004;"));
        for rule in &rules {
            assert!(rule.starts_with("alert ") && rule.ends_with("rev:1;)"), "{rule}");
        }
        assert_eq!(report.entries, 3);
        assert_eq!(report.skipped_reasons["invalid_character"], 1);
        assert_eq!(report.skipped_reasons["unsupported_type"], 1);
    }

    #[test]
    fn suricata_dataset_refuses_hostile_names() {
        let dir = tempfile::tempdir().unwrap();
        let report = write_hostile_names(dir.path(), "s", OutputFormat::Suricata, |_| {});
        assert_eq!(std::fs::read_to_string(dir.path().join("s/domains.lst")).unwrap(), "");
        assert_eq!(report.skipped, hostile_names().len() as u64);
    }

    #[test]
    fn zeek_intel_is_tab_separated_with_provenance() {
        let dir = tempfile::tempdir().unwrap();
        let indicators = [
            Indicator::new(AttrType::IpDst, "203.0.113.7"),
            Indicator::new(AttrType::IpDst, "198.51.100.0/24"),
            Indicator::new(AttrType::Domain, "bad.example"),
            Indicator::new(AttrType::Url, "http://bad.example/gate.php"),
            Indicator::new(AttrType::Url, "http://bad.example/a\tb"),
            Indicator::new(AttrType::EmailSrc, "evil@bad.example"),
            Indicator::new(AttrType::Md5, "0a".repeat(16)),
            Indicator::new(AttrType::Domain, "-"),
            Indicator::new(AttrType::Filename, "evil.exe"),
        ];
        let mut entries: Vec<Entry<'_>> = indicators.iter().map(entry).collect();
        entries[0].score = Some(82.5);
        entries[0].feeds = vec!["feodo", "threatfox"];
        entries[0].reference_time = 1_777_593_600; // 2026-05-01
        let allowed = AddressSet::from_nets(&[parse_net("198.51.100.0/25").unwrap()]);
        let t = target_with(dir.path(), "intel.dat", OutputFormat::Zeek, &allowed, |_| {});
        let report = zeek(&t, &entries).unwrap();
        let text = read(dir.path(), "intel.dat");
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            [
                "#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc",
                "198.51.100.128/25\tIntel::SUBNET\t-\tlast_seen=1970-01-01",
                "203.0.113.7\tIntel::ADDR\tfeodo,threatfox\tscore=82.5 last_seen=2026-05-01",
                "bad.example\tIntel::DOMAIN\t-\tlast_seen=1970-01-01",
                "bad.example/gate.php\tIntel::URL\t-\tlast_seen=1970-01-01",
                "evil@bad.example\tIntel::EMAIL\t-\tlast_seen=1970-01-01",
                "0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a0a\tIntel::FILE_HASH\t-\tlast_seen=1970-01-01",
            ]
        );
        // `#fields` and four names; four fields on every item line.
        for (index, line) in text.lines().enumerate() {
            assert_eq!(line.split('\t').count(), if index == 0 { 5 } else { 4 }, "{line:?}");
        }
        assert_eq!(report.skipped, 3);
    }

    #[test]
    fn zeek_refuses_hostile_names() {
        let dir = tempfile::tempdir().unwrap();
        let report = write_hostile_names(dir.path(), "z", OutputFormat::Zeek, |_| {});
        assert_eq!(read(dir.path(), "z").lines().count(), 1);
        assert_eq!(report.skipped, hostile_names().len() as u64);
    }
}
