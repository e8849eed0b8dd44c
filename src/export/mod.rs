//! Writing outputs: blocklists, MISP feed folders, the static site and the build report.
//!
//! Exporters take plain values (the selected [`Entry`]s of a task, the [`BuildReport`]) and
//! write into a staging folder that the build swaps in whole at the end. Each returns an
//! [`OutputReport`] with the entry count, size and SHA-256 of what it wrote. Output bytes are
//! deterministic: the same inputs and `--now` give the same files.
//!
//! [`write_output`] writes one output of a task in the format its definition names. Every
//! blocklist writer takes only the indicator types its syntax can hold, checks each value
//! against that syntax (`syntax`), and counts what it leaves out by reason in the report.
//!
//! # Architecture
//! - `plain`: one value per line under a `#` header.
//! - `ip_lists`: CIDR-aggregated IPv4 and IPv6 lists, nftables sets and `ipset` restore
//!   files, with allow-listed ranges taken out.
//! - `dns`: hosts, dnsmasq, Unbound, BIND response policy zones and adblock rules.
//! - `firewall`: PAN-OS external dynamic lists and FortiGate threat feeds.
//! - `ids`: Suricata IP reputation, dataset and rules; Zeek intelligence files.
//! - `table`: CSV and JSON with each indicator's score, first and last sighting and feeds.
//! - `template`: formats the team writes itself as minijinja templates, each value checked
//!   against the syntax the output declares.
//! - `syntax`: the value checks the writers share (DNS names, tokens, URLs).
//! - `budget`: `max_entries` and `max_bytes`: ranking, cutting, the companion `.cut.csv`.
//! - `checksums`: `SHA256SUMS`, every output file's SHA-256 for `sha256sum -c`.
//! - `lookup_index`: every indicator in hash-named JSON shards, for the site's look-up page.
//! - `index_compare`: two builds compared through their look-up indexes (changes, `plan`).
//! - `misp_feed`: `manifest.json`, one event file and `hashes.csv`, as MISP pulls them.
//! - `site`: the HTML pages, rendered with minijinja from built-in or user templates.
//! - `chart`: line and bar charts as inline SVG, for the site's pages.
//!
//! [`BuildReport`]: crate::report::BuildReport

pub(crate) mod budget;
pub mod chart;
pub mod checksums;
mod dns;
mod firewall;
mod ids;
pub mod index_compare;
mod ip_lists;
pub mod lookup_index;
pub mod misp_feed;
mod plain;
pub mod site;
mod syntax;
mod table;
mod template;

use std::borrow::Cow;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::config::{OutputConfig, OutputFormat, Project, Task};
use crate::filter::ListKind;
use crate::indicator::{AddressSet, AttrType, Indicator, parse_net};
use crate::report::OutputReport;
use syntax::Skips;

/// One indicator selected by a task, with what the outputs may say about it.
#[derive(Clone, Debug)]
pub struct Entry<'a> {
    /// The indicator: a feed's record, or one made from it for the task (the address of an
    /// `ip-dst|port` value in a task that takes `ip-dst`).
    pub indicator: Cow<'a, Indicator>,
    /// The IDS flag (true when any listing feed set it).
    pub to_ids: bool,
    /// The decay score, when a model covers the type.
    pub score: Option<f64>,
    /// When the indicator was last seen or changed (Unix seconds): the decay reference time.
    pub reference_time: i64,
    /// The first build that saw one of the listing feeds list it (Unix seconds): the earliest
    /// first sighting in the ledger over those feeds; `None` when the ledger knows none.
    pub first_seen: Option<i64>,
    /// Ids of the feeds that list it, sorted.
    pub feeds: Vec<&'a str>,
}

/// Why an output could not be written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ExportError {
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An output's settings cannot be written safely (checked by `check` before a build).
    #[error("cannot write {path}: {message}")]
    Invalid {
        /// The output's path.
        path: String,
        /// What is wrong.
        message: String,
    },
    /// A template failed to render.
    #[error("template `{name}` failed: {message}")]
    Template {
        /// The template name.
        name: String,
        /// The engine's message, with line.
        message: String,
    },
}

/// Writes one output of `task` from its sorted `entries` into the staging folder `dir`.
///
/// `previous` is the folder holding the previous build's outputs (the output folder that
/// `dir` is about to replace), from which a `misp-feed` output carries its events forward.
/// The allow-listed ranges that the aggregated IP formats take out are those of the task's
/// `cidr` warning lists that apply to `ip-dst` or `ip-src`.
pub fn write_output(
    dir: &Path,
    previous: &Path,
    project: &Project,
    task: &Task,
    output: &OutputConfig,
    now: i64,
    entries: &[Entry<'_>],
) -> Result<OutputReport, ExportError> {
    let name = &task.config.name;
    if output.format == OutputFormat::MispFeed {
        let settings = misp_feed::EventSettings {
            task_id: &task.id,
            path: &output.path,
            info: output.event_info.as_deref().unwrap_or(name),
            org_name: output.org_name.as_deref().unwrap_or(&project.settings.title),
            threat_level: output.threat_level.unwrap_or(4),
            tlp: output.tlp.as_deref().unwrap_or("tlp:clear"),
            distribution: output.distribution,
            events: output.events.unwrap_or_default(),
            retention_days: output.retention_days.unwrap_or(misp_feed::RETENTION_DAYS),
            now,
        };
        let previous = misp_feed::Previous::read(&previous.join(&output.path));
        return misp_feed::write(dir, &output.path, &previous, &settings, entries);
    }
    let mut allowed = AddressSet::default();
    for &index in &task.warninglists {
        let list = &project.warninglists[index].list;
        if list.kind() == ListKind::Cidr
            && (list.applies_to(AttrType::IpDst) || list.applies_to(AttrType::IpSrc))
            && let Some(ranges) = list.ranges()
        {
            allowed.extend(ranges);
        }
    }
    let target = Target {
        dir,
        relative: &output.path,
        task_id: &task.id,
        task_name: name,
        now,
        output,
        allowed: &allowed,
    };
    if output.format == OutputFormat::Template {
        return template::write(&target, previous, &task.templates, entries);
    }
    write_blocklist(&target, entries)
}

/// What a blocklist writer needs besides the entries.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Target<'a> {
    /// The staging folder.
    pub(crate) dir: &'a Path,
    /// The output's path inside it.
    pub(crate) relative: &'a str,
    /// The task id.
    pub(crate) task_id: &'a str,
    /// The task's display name.
    pub(crate) task_name: &'a str,
    /// Build time, Unix seconds.
    pub(crate) now: i64,
    /// The output's definition.
    pub(crate) output: &'a OutputConfig,
    /// Allow-listed ranges, taken out of the networks the IP formats write.
    pub(crate) allowed: &'a AddressSet,
}

pub(crate) use ip_lists::cidr_of_set;

/// The file a folder output always holds, by which an existing folder is known to be an
/// earlier one: `None` for the formats that write one file.
pub(crate) fn folder_marker(format: OutputFormat) -> Option<&'static str> {
    match format {
        OutputFormat::MispFeed => Some(misp_feed::MANIFEST),
        OutputFormat::Suricata => Some(ids::RULES),
        _ => None,
    }
}

/// Writes a blocklist format (any but `misp-feed` and `template`).
pub(crate) fn write_blocklist(
    target: &Target<'_>,
    entries: &[Entry<'_>],
) -> Result<OutputReport, ExportError> {
    match target.output.format {
        OutputFormat::CidrIpv4 => ip_lists::cidr(target, entries, 4),
        OutputFormat::CidrIpv6 => ip_lists::cidr(target, entries, 6),
        OutputFormat::Nftables => ip_lists::nftables(target, entries),
        OutputFormat::Ipset => ip_lists::ipset(target, entries),
        OutputFormat::Hosts => dns::hosts(target, entries),
        OutputFormat::Dnsmasq => dns::dnsmasq(target, entries),
        OutputFormat::Unbound => dns::unbound(target, entries),
        OutputFormat::Rpz => dns::rpz(target, entries),
        OutputFormat::Adblock => dns::adblock(target, entries),
        OutputFormat::PanosEdl => firewall::panos_edl(target, entries),
        OutputFormat::Fortigate => firewall::fortigate(target, entries),
        OutputFormat::Suricata => ids::suricata(target, entries),
        OutputFormat::Zeek => ids::zeek(target, entries),
        OutputFormat::Csv => table::csv(target, entries),
        OutputFormat::Json => table::json(target, entries),
        OutputFormat::Template => Err(ExportError::Invalid {
            path: target.relative.to_owned(),
            message: "a `template` output is written from its task's templates".to_owned(),
        }),
        OutputFormat::Plain | OutputFormat::MispFeed => plain::write(target, entries),
    }
}

/// The metadata header as comment lines starting with `prefix`: name, task, build time and
/// the number of entries written.
pub(crate) fn header(target: &Target<'_>, prefix: &str, entries: usize) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{prefix} {}", syntax::comment_text(target.task_name));
    let _ = writeln!(out, "{prefix} task: {}", syntax::comment_text(target.task_id));
    let _ = writeln!(out, "{prefix} format: {}", target.output.format.as_str());
    let _ = writeln!(out, "{prefix} built: {}", rfc3339(target.now));
    let _ = writeln!(out, "{prefix} entries: {entries}");
    out
}

/// Writes a one-file output and reports it, logging what was skipped.
pub(crate) fn finish(
    target: &Target<'_>,
    text: &str,
    entries: usize,
    skips: &Skips,
) -> Result<OutputReport, ExportError> {
    write_file(&target.dir.join(target.relative), text.as_bytes())?;
    Ok(report(target, text.as_bytes(), text.len() as u64, entries, skips))
}

/// The report of an output whose hashed file is `hashed` and whose files take `bytes`.
pub(crate) fn report(
    target: &Target<'_>,
    hashed: &[u8],
    bytes: u64,
    entries: usize,
    skips: &Skips,
) -> OutputReport {
    let skipped = skips.total();
    if skipped > 0 {
        tracing::warn!(
            task = target.task_id,
            output = target.relative,
            format = target.output.format.as_str(),
            skipped,
            reasons = ?skips.by_reason(),
            "Skipped values this format cannot hold or cannot write safely"
        );
    }
    let mut report =
        file_report(target.relative, target.output.format, entries as u64, skipped, hashed);
    report.bytes = bytes;
    report.skipped_reasons = skips.by_reason();
    report.left_out = LeftOut::skipped(skips);
    report
}

/// Writes `bytes` to `path`, creating parent folders.
pub(crate) fn write_file(path: &Path, bytes: &[u8]) -> Result<(), ExportError> {
    let io = |source| ExportError::Io { path: path.to_owned(), source };
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).map_err(io)?;
    }
    std::fs::write(path, bytes).map_err(io)
}

/// The report of a file that was just written.
pub(crate) fn file_report(
    relative: &str,
    format: OutputFormat,
    entries: u64,
    skipped: u64,
    bytes: &[u8],
) -> OutputReport {
    OutputReport {
        path: relative.to_owned(),
        format,
        entries,
        skipped,
        skipped_reasons: std::collections::BTreeMap::new(),
        bytes: bytes.len() as u64,
        sha256: hex::encode(Sha256::digest(bytes)),
        cut: 0,
        cut_reasons: std::collections::BTreeMap::new(),
        cut_file: None,
        cut_examples: Vec::new(),
        error: None,
        left_out: LeftOut::default(),
    }
}

/// The key of a value in the sets of values an output left out: a 64-bit hash, so that a
/// list that skips millions of values of a type it cannot hold keeps 8 bytes for each.
pub(crate) fn value_key(value: &str) -> u64 {
    use std::hash::BuildHasher as _;
    foldhash::quality::FixedState::with_seed(0x6665_6564_736d_6974).hash_one(value)
}

/// Which of its task's entries an output does not hold: those its writer skipped, and those
/// its size budget cut (a cut block of addresses, a cut name and the names below it).
///
/// A name dropped because its listed parent covers it is held (the parent's line blocks it),
/// unless the parent was cut.
#[derive(Clone, Debug, Default)]
pub struct LeftOut {
    skipped: std::collections::HashSet<u64, foldhash::fast::RandomState>,
    cut: std::collections::HashSet<String, foldhash::quality::RandomState>,
    /// The cut blocks of addresses, as ranges: one look-up per address however many were cut.
    cut_nets: AddressSet,
    /// The texts of those blocks, as [`value_key`]s: a value of another type that reads the
    /// same is left out too.
    cut_net_texts: std::collections::HashSet<u64, foldhash::fast::RandomState>,
}

impl LeftOut {
    /// Records the values a writer skipped.
    pub(crate) fn skipped(skips: &Skips) -> LeftOut {
        LeftOut { skipped: skips.values().clone(), ..LeftOut::default() }
    }

    /// Records the units the budget cut, as the companion file names them: a block of
    /// addresses as ranges only, any other unit as its text.
    pub(crate) fn add_cuts<'u>(&mut self, units: impl IntoIterator<Item = &'u str>) {
        let mut nets = Vec::new();
        for unit in units {
            match parse_net(unit) {
                Some(net) => {
                    nets.push(net);
                    self.cut_net_texts.insert(value_key(unit));
                }
                None => {
                    self.cut.insert(unit.to_owned());
                }
            }
        }
        self.cut_nets.extend(&AddressSet::from_nets(&nets));
    }

    /// Whether the output holds `indicator`, one of its task's entries.
    #[must_use]
    pub fn holds(&self, indicator: &Indicator) -> bool {
        let value = &*indicator.value;
        if !self.skipped.is_empty() && self.skipped.contains(&value_key(value)) {
            return false;
        }
        if self.cut.is_empty() && self.cut_nets.is_empty() {
            return true;
        }
        if indicator.kind.family() == crate::indicator::Family::Ip {
            // An address or network is left out when a cut block holds it.
            return match syntax::value_net(value.split('|').next().unwrap_or(value)) {
                Some(net) => !self.cut_nets.contains(&net),
                None => !self.cut.contains(value),
            };
        }
        // A value of another type is left out when its own line was cut (a `text` that reads
        // as an address, too).
        if self.cut.contains(value)
            || (!self.cut_net_texts.is_empty() && self.cut_net_texts.contains(&value_key(value)))
        {
            return false;
        }
        if indicator.kind.family() == crate::indicator::Family::Url {
            let bare = value.split_once("://").map_or(value, |(_, rest)| rest);
            return !self.cut.contains(bare);
        }
        // A name below a cut name.
        !value.match_indices('.').any(|(at, _)| self.cut.contains(&value[at + 1..]))
    }
}

/// Formats Unix seconds as RFC 3339 UTC (`2026-12-03T00:00:00Z`).
///
/// Every data export writes two of these per entry, so the digits are put down directly
/// rather than through a format description; a time outside the years 0 to 9999, which
/// RFC 3339 cannot write, is given as the number of seconds.
#[must_use]
pub fn rfc3339(unix: i64) -> String {
    let Some(time) = utc(unix) else { return unix.to_string() };
    let mut text = String::with_capacity(20);
    push_date(&mut text, &time);
    let (hour, minute, second) = time.to_hms();
    text.push('T');
    push_digits(&mut text, u32::from(hour), 2);
    text.push(':');
    push_digits(&mut text, u32::from(minute), 2);
    text.push(':');
    push_digits(&mut text, u32::from(second), 2);
    text.push('Z');
    text
}

/// Formats Unix seconds as a calendar date (`2026-12-03`), or the number of seconds outside
/// the years 0 to 9999.
#[must_use]
pub fn date(unix: i64) -> String {
    let Some(time) = utc(unix) else { return unix.to_string() };
    let mut text = String::with_capacity(10);
    push_date(&mut text, &time);
    text
}

/// The UTC time of Unix seconds, when its year has four digits.
fn utc(unix: i64) -> Option<time::OffsetDateTime> {
    time::OffsetDateTime::from_unix_timestamp(unix).ok().filter(|t| (0..=9999).contains(&t.year()))
}

/// Appends `YYYY-MM-DD`.
fn push_date(text: &mut String, time: &time::OffsetDateTime) {
    let (year, month, day) = time.to_calendar_date();
    push_digits(text, year.unsigned_abs(), 4);
    text.push('-');
    push_digits(text, u32::from(u8::from(month)), 2);
    text.push('-');
    push_digits(text, u32::from(day), 2);
}

/// Appends the last `width` decimal digits of `value`, zero-padded.
fn push_digits(text: &mut String, value: u32, width: u32) {
    for place in (0..width).rev() {
        let digit = (value / 10u32.pow(place)) % 10;
        text.push(char::from(b'0' + digit as u8));
    }
}

#[cfg(test)]
pub(crate) mod tests {
    //! Helpers the format tests share, and the tests every format must pass.

    use std::borrow::Cow;
    use std::path::Path;

    use super::*;

    proptest::proptest! {
        #[test]
        fn times_read_as_the_time_crate_writes_them_in_rfc_3339(unix in -80_000_000_000i64..300_000_000_000) {
            let expected = time::OffsetDateTime::from_unix_timestamp(unix)
                .ok()
                .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
                .unwrap_or_else(|| unix.to_string());
            proptest::prop_assert_eq!(rfc3339(unix), expected.clone());
            let day = if expected.len() == 20 { expected[..10].to_owned() } else { unix.to_string() };
            proptest::prop_assert_eq!(date(unix), day);
        }
    }

    #[test]
    fn times_are_written_as_rfc_3339_and_dates_in_four_digit_years_only() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_796_256_000), "2026-12-03T00:00:00Z");
        assert_eq!(rfc3339(951_782_399), "2000-02-28T23:59:59Z");
        assert_eq!(date(951_782_400), "2000-02-29");
        // 9999-12-31T23:59:59Z is the last time with a four-digit year.
        assert_eq!(rfc3339(253_402_300_799), "9999-12-31T23:59:59Z");
        assert_eq!(rfc3339(253_402_300_800), "253402300800");
        assert_eq!(rfc3339(-62_167_219_200), "0000-01-01T00:00:00Z");
        assert_eq!(rfc3339(-62_167_219_201), "-62167219201");
        assert_eq!(date(i64::MAX), i64::MAX.to_string());
    }

    #[test]
    fn an_output_does_not_hold_what_was_skipped_or_cut_nor_what_lies_below_a_cut_unit() {
        let mut skips = Skips::default();
        skips.add("invalid_character", "bad_name.example");
        skips.add_held("covered_by_parent");
        let mut left_out = LeftOut::skipped(&skips);
        left_out.add_cuts(["198.51.100.0/24", "cut.example", "bad.example/path"]);
        let holds = |kind, value: &str| left_out.holds(&Indicator::new(kind, value));
        assert!(!holds(AttrType::Domain, "bad_name.example"));
        assert!(!holds(AttrType::IpDst, "198.51.100.7"));
        assert!(!holds(AttrType::IpDst, "198.51.100.0/25"));
        assert!(holds(AttrType::IpDst, "198.51.101.7"));
        assert!(!holds(AttrType::IpDstPort, "198.51.100.9|443"));
        assert!(!holds(AttrType::Hostname, "www.cut.example"));
        assert!(holds(AttrType::Hostname, "www.kept.example"));
        assert!(!holds(AttrType::Url, "https://bad.example/path"));
        assert!(holds(AttrType::Url, "https://bad.example/other"));
        // A value of another type that reads as a cut block is left out by its text alone.
        assert!(!holds(AttrType::Text, "198.51.100.0/24"));
        assert!(holds(AttrType::Text, "198.51.100.7"));
    }

    /// An entry for `indicator`: IDS flag set, unscored, seen at 0, no feeds.
    pub(crate) fn entry(indicator: &Indicator) -> Entry<'_> {
        Entry {
            indicator: Cow::Borrowed(indicator),
            to_ids: true,
            score: None,
            reference_time: 0,
            first_seen: None,
            feeds: vec![],
        }
    }

    /// A target named `t` / `Test list` at time 0, its output of `format` at `relative`
    /// changed by `change`. The definition is leaked: tests are short-lived.
    pub(crate) fn target_with<'a>(
        dir: &'a Path,
        relative: &'a str,
        format: OutputFormat,
        allowed: &'a AddressSet,
        change: impl FnOnce(&mut OutputConfig),
    ) -> Target<'a> {
        let text = format!("format = \"{}\"\npath = \"{relative}\"\n", format.as_str());
        let mut output: OutputConfig = toml::from_str(&text).unwrap();
        change(&mut output);
        let output: &'static OutputConfig = Box::leak(Box::new(output));
        Target { dir, relative, task_id: "t", task_name: "Test list", now: 0, output, allowed }
    }

    /// The text of `dir/relative`.
    pub(crate) fn read(dir: &Path, relative: &str) -> String {
        std::fs::read_to_string(dir.join(relative)).unwrap()
    }

    /// The lines of `text` that are not comments starting with `comment`.
    pub(crate) fn written_values<'t>(text: &'t str, comment: &str) -> Vec<&'t str> {
        text.lines().filter(|l| !l.starts_with(comment)).collect()
    }

    /// Writes every one of [`hostile_names`] as a `domain` with `format` to `dir/relative`.
    pub(crate) fn write_hostile_names(
        dir: &Path,
        relative: &str,
        format: OutputFormat,
        change: impl FnOnce(&mut OutputConfig),
    ) -> OutputReport {
        let values = hostile_names();
        let indicators: Vec<Indicator> =
            values.iter().map(|v| Indicator::new(AttrType::Domain, v.as_str())).collect();
        let entries: Vec<Entry<'_>> = indicators.iter().map(entry).collect();
        let allowed = AddressSet::default();
        let target = target_with(dir, relative, format, &allowed, change);
        super::write_blocklist(&target, &entries).unwrap()
    }

    /// Names no DNS format may write: line breaks, `;`, quotes, spaces, `$ORIGIN`,
    /// `<script>`, a 64-byte label, a name over 253 bytes, wildcards, empty labels and other
    /// formats' syntax.
    pub(crate) fn hostile_names() -> Vec<String> {
        let label = "a".repeat(63);
        vec![
            "bad.example\nevil.example".to_owned(),
            "bad.example\r".to_owned(),
            "bad.example;".to_owned(),
            "bad.example; comment".to_owned(),
            "\"bad.example\"".to_owned(),
            "bad'.example".to_owned(),
            "bad example.com".to_owned(),
            "bad.example\tx".to_owned(),
            "$ORIGIN evil.example".to_owned(),
            "$origin.example".to_owned(),
            "<script>alert(1)</script>.example".to_owned(),
            format!("{}.example", "a".repeat(64)),
            format!("{label}.{label}.{label}.{label}"),
            "*.bad.example".to_owned(),
            "bad..example".to_owned(),
            "bad.example.".to_owned(),
            "local=/x.example/".to_owned(),
            "||x.example^".to_owned(),
            "bad\u{0}.example".to_owned(),
            "b\u{fc}se.example".to_owned(),
            "com".to_owned(),
            "-bad.example".to_owned(),
            "10.0.0.1".to_owned(),
        ]
    }

    /// Every blocklist format, with a domain list for the firewall formats.
    fn blocklist_formats() -> Vec<OutputFormat> {
        OutputFormat::ALL
            .iter()
            .copied()
            .filter(|f| {
                !matches!(f, OutputFormat::Plain | OutputFormat::MispFeed | OutputFormat::Template)
            })
            .collect()
    }

    fn sample() -> Vec<Indicator> {
        use crate::indicator::AttrType as T;
        vec![
            Indicator::new(T::IpDst, "203.0.113.0/25"),
            Indicator::new(T::IpSrc, "203.0.113.128/25"),
            Indicator::new(T::IpDst, "198.51.100.7"),
            Indicator::new(T::IpDst, "2001:db8::/48"),
            Indicator::new(T::Domain, "bad.example"),
            Indicator::new(T::Hostname, "cdn.bad.example"),
            Indicator::new(T::Domain, "bad.example\n$ORIGIN evil."),
            Indicator::new(T::Url, "http://bad.example/gate"),
            Indicator::new(T::Sha256, "ab".repeat(32)),
        ]
    }

    /// Writes every format of the sample into `dir` at `now`.
    fn write_all(dir: &Path, now: i64) -> Vec<OutputReport> {
        let indicators = sample();
        let entries: Vec<Entry<'_>> = indicators.iter().map(entry).collect();
        let allowed = AddressSet::default();
        blocklist_formats()
            .into_iter()
            .map(|format| {
                let relative = Box::leak(format.as_str().to_owned().into_boxed_str());
                let mut t = target_with(dir, relative, format, &allowed, |_| {});
                t.now = now;
                write_blocklist(&t, &entries).unwrap()
            })
            .collect()
    }

    /// The files under `dir`, by relative path.
    fn files(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
        let mut out = std::collections::BTreeMap::new();
        let mut stack = vec![dir.to_owned()];
        while let Some(folder) = stack.pop() {
            for item in std::fs::read_dir(&folder).unwrap() {
                let path = item.unwrap().path();
                if path.is_dir() {
                    stack.push(path);
                } else {
                    let name = path.strip_prefix(dir).unwrap().display().to_string();
                    out.insert(name, std::fs::read(&path).unwrap());
                }
            }
        }
        out
    }

    #[test]
    fn every_format_gives_the_same_bytes_for_the_same_inputs_and_time() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        let first = write_all(a.path(), 1_767_225_600);
        let second = write_all(b.path(), 1_767_225_600);
        assert_eq!(files(a.path()), files(b.path()));
        let hashes = |r: &[OutputReport]| r.iter().map(|r| r.sha256.clone()).collect::<Vec<_>>();
        assert_eq!(hashes(&first), hashes(&second));
    }

    #[test]
    fn every_format_writes_lf_terminated_ascii_without_a_bom() {
        let dir = tempfile::tempdir().unwrap();
        write_all(dir.path(), 0);
        for (name, bytes) in files(dir.path()) {
            if bytes.is_empty() {
                // The Suricata dataset of a task without names.
                continue;
            }
            assert!(bytes.is_ascii(), "{name}");
            assert!(!bytes.contains(&b'\r'), "{name}");
            assert_eq!(bytes.last(), Some(&b'\n'), "{name}");
            let text = String::from_utf8(bytes).unwrap();
            // JSON keeps every value, escaped inside a string; the others refuse it.
            if name != "json" {
                assert!(!text.contains("$ORIGIN evil"), "{name}");
            }
            assert!(!text.lines().any(str::is_empty), "{name} has an empty line");
        }
    }

    #[test]
    fn the_rpz_serial_rises_with_the_build_time() {
        let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
        write_all(a.path(), 1_767_225_600);
        write_all(b.path(), 1_767_225_600 + 86_400);
        let soa = |dir: &Path| {
            let text = read(dir, "rpz");
            let line = text.lines().find(|l| l.contains(" SOA ")).unwrap().to_owned();
            line.split(' ').nth(5).unwrap().parse::<u32>().unwrap()
        };
        assert!(soa(b.path()) > soa(a.path()));
    }

    #[test]
    fn every_format_counts_each_entry_written_or_skipped() {
        // Each entry is written, merged into another written line, or counted as skipped:
        // a writer never drops one silently. Counted here for the formats whose lines map
        // one to one onto distinct values of the sample.
        let dir = tempfile::tempdir().unwrap();
        let reports = write_all(dir.path(), 0);
        let by_format = |format: OutputFormat| reports.iter().find(|r| r.format == format).unwrap();
        let sample = sample().len() as u64;
        for format in [
            OutputFormat::Hosts,
            OutputFormat::Dnsmasq,
            OutputFormat::Unbound,
            OutputFormat::Adblock,
        ] {
            let r = by_format(format);
            // `cdn.bad.example` is its own line in a hosts file only; the other consumers
            // block it with `bad.example`.
            let written = if format == OutputFormat::Hosts { 2 } else { 1 };
            assert_eq!((r.entries, r.skipped), (written, sample - written), "{format:?}");
            assert_eq!(r.skipped_reasons["unsupported_type"], 6, "{format:?}");
            assert_eq!(r.skipped_reasons["invalid_character"], 1, "{format:?}");
            let covered = r.skipped_reasons.get("covered_by_parent").copied().unwrap_or(0);
            assert_eq!(covered, 2 - written, "{format:?}");
        }
        // Two /25 halves merge into 203.0.113.0/24.
        let r = by_format(OutputFormat::CidrIpv4);
        assert_eq!((r.entries, r.skipped), (2, 6));
        assert_eq!(by_format(OutputFormat::Json).entries, sample);
    }
}
