//! `feedsmith convert`: one feed file in, one output out, with no project, no state and no
//! site.
//!
//! A build reads many feeds, remembers them in a ledger, scores them and writes a whole site;
//! a conversion is the single step a user of `iprange` or a host-list compiler asks for: read
//! one body as a feed format reads it ([`parse`](crate::parse)), keep the indicators of the
//! chosen types, and write them in one output format through the writers a build uses
//! ([`export`](crate::export)). Nothing is scored (no decay model applies), no warning list is
//! applied and no range is allow-listed, so every accepted value reaches the writer, which
//! still leaves out, and counts, what its syntax cannot hold.
//!
//! Every entry's reference time is the record's own (`last_seen`, else `timestamp`) or the
//! conversion's `now`; its feeds are none, so a MISP feed carries no source tags.
//!
//! The output replaces its file (or, for `misp-feed`, its folder) in one rename, so that a
//! reader never sees a half-written list. A MISP feed folder that is already there is carried
//! forward as a build carries its own ([`misp_feed`]): unchanged attributes keep their UUIDs
//! and timestamps, and values that left the list stay as deleted attributes for the retention
//! time, so that a subscribing MISP revokes them.
//!
//! # Architecture
//! - [`read_input`] reads the body from a file or standard input.
//! - [`convert`] parses it (free text and CSV on every thread, in line-aligned chunks;
//!   [`freetext::parse_parallel`], [`parse::csv::parse_parallel`]), makes the entries and
//!   writes the output.
//! - [`Converted::summary`] says what happened to every line and entry, for the terminal.

use std::borrow::Cow;
use std::collections::HashSet;
use std::io::Read as _;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use ipnet::IpNet;
use rayon::prelude::*;

use crate::config::{
    Column, CsvOptions, FeedFormat, FreetextOptions, JsonOptions, ListType, OutputConfig,
    OutputFormat,
};
use crate::export::{self, Entry, ExportError, Target, misp_feed};
use crate::indicator::{AddressSet, AttrType, Family, Indicator};
use crate::parse::{self, ParseError, ParseStats, ParsedFeed, freetext};
use crate::report::OutputReport;

/// Where the body comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A file.
    Path(PathBuf),
    /// Standard input (`-` on the command line).
    Stdin,
}

impl Source {
    /// The name the output's header and the summary give the input.
    #[must_use]
    pub fn name(&self) -> String {
        match self {
            Source::Path(path) => path.file_name().map_or_else(
                || path.display().to_string(),
                |name| name.to_string_lossy().into_owned(),
            ),
            Source::Stdin => "standard input".to_owned(),
        }
    }
}

/// Where the output goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Destination {
    /// A file, or the folder of a `misp-feed` output; replaced whole.
    Path(PathBuf),
    /// Standard output (not for `misp-feed`, which is a folder).
    Stdout,
}

/// The settings of a `misp-feed` output, as a task's `[[outputs]]` gives them.
#[derive(Clone, Debug)]
pub struct MispSettings {
    /// The event's `info`. Default: the list's name.
    pub event_info: Option<String>,
    /// The creator organisation's name. Default: `feedsmith`.
    pub org_name: Option<String>,
    /// `threat_level_id`, 1 (high) to 4 (undefined). Default: 4.
    pub threat_level: Option<u8>,
    /// The TLP tag of the event. Default: `tlp:clear`.
    pub tlp: Option<String>,
    /// The event's `distribution`, 0 to 3. Default: none written.
    pub distribution: Option<u8>,
}

/// Everything a conversion needs besides the body.
#[derive(Clone, Debug)]
pub struct ConvertOptions {
    /// The input's format: `freetext`, `csv` or `json` (a MISP feed is a folder of events,
    /// which a build reads).
    pub from: FeedFormat,
    /// Free-text settings.
    pub freetext: FreetextOptions,
    /// CSV settings.
    pub csv: CsvOptions,
    /// JSON settings.
    pub json: JsonOptions,
    /// The attribute types kept, as a task's `select.types` keeps them (an `ip-dst|port`
    /// value gives its address when only `ip-dst` is asked for); empty keeps every type.
    pub types: Vec<AttrType>,
    /// The output format.
    pub to: OutputFormat,
    /// Where it goes.
    pub destination: Destination,
    /// The list's name, in the output's header. Default: `feedsmith convert of <input>`.
    pub name: Option<String>,
    /// The reference time of the entries without one of their own, and the headers' build
    /// time, Unix seconds.
    pub now: i64,
    /// `rpz`: the zone's name. Default: `convert.rpz`.
    pub zone: Option<String>,
    /// `nftables` and `ipset`: the sets' base name. Default: `convert`.
    pub set_name: Option<String>,
    /// `panos-edl` and `fortigate`: what the list holds. Default: `ip`.
    pub list: Option<ListType>,
    /// `misp-feed` settings.
    pub misp: MispSettings,
}

/// The id a conversion's output is written under: the `task` line of a header, part of a MISP
/// event's UUID.
pub const TASK_ID: &str = "convert";

/// What a conversion did.
#[derive(Debug)]
pub struct Converted {
    /// What the parser did with every line.
    pub stats: ParseStats,
    /// Distinct indicators the parser accepted.
    pub records: u64,
    /// Distinct indicators of the kept types, handed to the writer.
    pub entries: u64,
    /// Accepted indicators of other types, left out by `types`.
    pub other_types: u64,
    /// What the writer wrote and left out.
    pub output: OutputReport,
    /// The input's name.
    pub input: String,
    /// Where the output went (`standard output`, or the path).
    pub written_to: String,
}

/// Why a conversion failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// The input could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file (`-` for standard input).
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The body is not in its format at all (a CSV body whose rows do not fit its header).
    #[error("{input} cannot be read as {format}: {source}")]
    Parse {
        /// The input's name.
        input: String,
        /// The format.
        format: &'static str,
        /// The parser's reason.
        #[source]
        source: ParseError,
    },
    /// The options cannot make this conversion.
    #[error("{0}")]
    Usage(String),
    /// The output could not be written.
    #[error(transparent)]
    Export(#[from] ExportError),
    /// The output could not be put in place.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The output file or folder.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// Reads the whole body of `source`.
pub fn read_input(source: &Source) -> Result<Vec<u8>, ConvertError> {
    let mut body = Vec::new();
    let read = match source {
        Source::Path(path) => std::fs::File::open(path).and_then(|mut file| {
            if let Ok(meta) = file.metadata() {
                body.reserve(usize::try_from(meta.len()).unwrap_or(0));
            }
            file.read_to_end(&mut body)
        }),
        Source::Stdin => std::io::stdin().lock().read_to_end(&mut body),
    };
    read.map_err(|source_error| ConvertError::Read {
        path: match source {
            Source::Path(path) => path.clone(),
            Source::Stdin => PathBuf::from("-"),
        },
        source: source_error,
    })?;
    Ok(body)
}

/// Converts `body` (read from `input`) as `options` say. `stdout` receives the output when
/// its destination is [`Destination::Stdout`].
pub fn convert(
    body: &[u8],
    input: &Source,
    options: &ConvertOptions,
    stdout: &mut dyn std::io::Write,
) -> Result<Converted, ConvertError> {
    check(options)?;
    let started = std::time::Instant::now();
    let input_name = input.name();
    let name = options.name.clone().unwrap_or_else(|| format!("feedsmith convert of {input_name}"));
    let written_to = match &options.destination {
        Destination::Path(path) => path.display().to_string(),
        Destination::Stdout => "standard output".to_owned(),
    };
    if let Some(read) = read_as_intervals(body, options) {
        let distinct = read.intervals.len() as u64;
        tracing::debug!(
            lines = read.stats.lines,
            distinct,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "Read the input as address intervals"
        );
        let set = AddressSet::from_v4_intervals(read.intervals);
        let output = write(options, &name, Content::Addresses(&set), stdout)?;
        return Ok(Converted {
            records: distinct,
            entries: distinct,
            other_types: 0,
            stats: read.stats,
            output,
            input: input_name,
            written_to,
        });
    }
    let parsed = parse_body(body, options).map_err(|source| ConvertError::Parse {
        input: input_name.clone(),
        format: options.from.as_str(),
        source,
    })?;
    tracing::debug!(
        lines = parsed.stats.lines,
        records = parsed.records.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Parsed the input"
    );
    let started = std::time::Instant::now();
    let (entries, other_types) = entries(&parsed, &options.types, options.now, options.to);
    tracing::debug!(
        entries = entries.len(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "Made the entries"
    );
    let started = std::time::Instant::now();
    let output = write(options, &name, Content::Entries(&entries), stdout)?;
    tracing::debug!(elapsed_ms = started.elapsed().as_millis() as u64, "Wrote the output");
    let records = parsed.records.len() as u64;
    let entry_count = entries.len() as u64;
    // Millions of values are freed on every thread rather than one by one.
    drop(entries);
    let ParsedFeed { records: parsed_records, stats } = parsed;
    parsed_records.into_par_iter().for_each(drop);
    Ok(Converted {
        records,
        entries: entry_count,
        other_types,
        stats,
        output,
        input: input_name,
        written_to,
    })
}

/// A body whose every value is an IPv4 address or network, read without a record per value,
/// when the output is an aggregated IPv4 list that keeps them all; `None` otherwise, and for
/// a body with any other line, which is parsed in full.
fn read_as_intervals(body: &[u8], options: &ConvertOptions) -> Option<freetext::Ipv4Intervals> {
    let keeps_addresses = options.types.is_empty() || options.types.contains(&AttrType::IpDst);
    let applies = options.from == FeedFormat::Freetext
        && options.to == OutputFormat::CidrIpv4
        && keeps_addresses;
    if !applies {
        return None;
    }
    freetext::ipv4_intervals(body, &options.freetext)
}

/// What a conversion writes: entries, or the addresses of a list read as intervals.
#[derive(Clone, Copy)]
enum Content<'c, 'e> {
    Entries(&'c [Entry<'e>]),
    Addresses(&'c AddressSet),
}

/// Refuses what cannot be converted, before the body is read.
fn check(options: &ConvertOptions) -> Result<(), ConvertError> {
    let usage = |message: &str| Err(ConvertError::Usage(message.to_owned()));
    match options.to {
        OutputFormat::Template => {
            return usage(
                "`--to template` needs a project's template; write the list as `plain`, or build a task",
            );
        }
        format
            if options.destination == Destination::Stdout
                && export::folder_marker(format).is_some() =>
        {
            return Err(ConvertError::Usage(format!(
                "`--to {}` writes a folder: give it with `--output DIR`",
                format.as_str()
            )));
        }
        _ => {}
    }
    // The settings a definition file would be refused for: a set name that is no
    // identifier, a zone for a format without one.
    let problems =
        crate::config::output_problems(TASK_ID, "convert", &output_config(options, "output"));
    if let Some(problem) = problems.first() {
        let problem = problem
            .replace("`event_info`", "`--event-info`")
            .replace("`org_name`", "`--org-name`")
            .replace("`threat_level`", "`--threat-level`")
            .replace("`set_name`", "`--set-name`")
            .replace("`zone`", "`--zone`")
            .replace("`list`", "`--list`")
            .replace("`tlp`", "`--tlp`")
            .replace("`distribution`", "`--distribution`");
        return usage(&problem);
    }
    if options.from == FeedFormat::Misp {
        return usage(
            "`--from misp` is a folder of events that `feedsmith build` reads; convert reads freetext, csv or json",
        );
    }
    let zero = |column: &Column| *column == Column::Number(0);
    if options.csv.value_columns.iter().any(zero)
        || options.csv.type_column.as_ref().is_some_and(zero)
    {
        return usage("CSV columns are numbered from 1, as MISP numbers them");
    }
    if options.misp.threat_level.is_some_and(|level| !(1..=4).contains(&level)) {
        return usage("`--threat-level` is 1 (high) to 4 (undefined)");
    }
    if options.misp.distribution.is_some_and(|level| level > 3) {
        return usage("`--distribution` is 0 (your organisation only) to 3 (all communities)");
    }
    Ok(())
}

fn parse_body(body: &[u8], options: &ConvertOptions) -> Result<ParsedFeed, ParseError> {
    match options.from {
        FeedFormat::Csv => parse::csv::parse_parallel(body, &options.csv, None),
        FeedFormat::Json => parse::json::parse(body, &options.json, None),
        // `check` refused `misp`.
        FeedFormat::Freetext | FeedFormat::Misp => {
            Ok(freetext::parse_parallel(body, &options.freetext, None))
        }
    }
}

/// The entries of the records of the kept types, distinct, in the order the output is
/// written in; and how many records were of other types.
fn entries<'a>(
    parsed: &'a ParsedFeed,
    types: &[AttrType],
    now: i64,
    format: OutputFormat,
) -> (Vec<Entry<'a>>, u64) {
    let mut entries = Vec::with_capacity(parsed.records.len());
    let mut other_types = 0;
    let mut made = false;
    for record in &parsed.records {
        let Some(indicator) = record.indicator.as_one_of(types) else {
            other_types += 1;
            continue;
        };
        made |= matches!(indicator, Cow::Owned(_));
        entries.push(Entry {
            indicator,
            to_ids: record.to_ids,
            score: None,
            reference_time: record.last_seen.or(record.timestamp).unwrap_or(now),
            first_seen: record.first_seen,
            feeds: Vec::new(),
        });
    }
    if made {
        // An address taken from `ip-dst|port` values may repeat, or be listed by itself too:
        // the first stays, as the parser keeps the first of a repeated value.
        let mut seen: HashSet<(AttrType, Box<str>)> = HashSet::with_capacity(entries.len());
        entries.retain(|entry| seen.insert((entry.indicator.kind, entry.indicator.value.clone())));
    }
    if !orders_itself(format) {
        sort(&mut entries);
    }
    (entries, other_types)
}

/// Whether the writer of `format` puts its lines in an order of its own, whatever the order
/// of the entries: merged address blocks in address order, names in byte order, MISP
/// attributes by type and value. The other writers write the entries in the order given.
fn orders_itself(format: OutputFormat) -> bool {
    matches!(
        format,
        OutputFormat::CidrIpv4
            | OutputFormat::CidrIpv6
            | OutputFormat::Nftables
            | OutputFormat::Ipset
            | OutputFormat::Hosts
            | OutputFormat::Dnsmasq
            | OutputFormat::Unbound
            | OutputFormat::Adblock
            | OutputFormat::MispFeed
    )
}

/// Sorts entries as a build sorts a task's selection: by family, addresses and networks by
/// number (IPv4 first) and prefix, then by value as text, then by type.
fn sort(entries: &mut Vec<Entry<'_>>) {
    type Key = (Family, Option<(u8, u128, u8)>);
    fn key(indicator: &Indicator) -> Key {
        let network = (indicator.kind.family() == Family::Ip)
            .then(|| {
                let address = indicator.value.split('|').next().unwrap_or_default();
                address
                    .parse::<IpNet>()
                    .ok()
                    .or_else(|| address.parse::<IpAddr>().ok().map(IpNet::from))
            })
            .flatten()
            .map(|net| match net {
                IpNet::V4(n) => (4, u128::from(u32::from(n.network())), n.prefix_len()),
                IpNet::V6(n) => (6, u128::from(n.network()), n.prefix_len()),
            });
        (indicator.kind.family(), network)
    }
    let mut keyed: Vec<(Key, Entry<'_>)> = std::mem::take(entries)
        .into_par_iter()
        .map(|entry| (key(&entry.indicator), entry))
        .collect();
    keyed.par_sort_unstable_by(|(ka, a), (kb, b)| {
        ka.cmp(kb)
            .then_with(|| a.indicator.value.cmp(&b.indicator.value))
            .then_with(|| a.indicator.kind.cmp(&b.indicator.kind))
    });
    entries.extend(keyed.into_iter().map(|(_, entry)| entry));
}

/// The output's definition, as a task's `[[outputs]]` entry would give it.
fn output_config(options: &ConvertOptions, path: &str) -> OutputConfig {
    OutputConfig {
        format: options.to,
        path: path.to_owned(),
        event_info: options.misp.event_info.clone(),
        org_name: options.misp.org_name.clone(),
        threat_level: options.misp.threat_level,
        tlp: options.misp.tlp.clone(),
        events: None,
        retention_days: None,
        distribution: options.misp.distribution,
        zone: options.zone.clone(),
        set_name: options.set_name.clone(),
        table: None,
        maxelem: None,
        hashsize: None,
        list: options.list,
        sid: None,
        max_entries: None,
        max_bytes: None,
        template: None,
        syntax: None,
    }
}

/// Writes the output into a staging folder beside its destination (or a temporary folder,
/// for standard output), then puts it in place.
fn write(
    options: &ConvertOptions,
    name: &str,
    content: Content<'_, '_>,
    stdout: &mut dyn std::io::Write,
) -> Result<OutputReport, ConvertError> {
    let (parent, file_name) = match &options.destination {
        Destination::Path(path) => {
            let file_name = path.file_name().and_then(|n| n.to_str()).ok_or_else(|| {
                ConvertError::Usage(format!(
                    "`--output {}` does not end in a file name of UTF-8 text",
                    path.display()
                ))
            })?;
            let parent = match path.parent() {
                Some(parent) if !parent.as_os_str().is_empty() => parent.to_owned(),
                _ => PathBuf::from("."),
            };
            (parent, file_name.to_owned())
        }
        Destination::Stdout => (std::env::temp_dir(), "output".to_owned()),
    };
    let write_error = |path: &Path| {
        let path = path.to_owned();
        move |source| ConvertError::Write { path, source }
    };
    if let Destination::Path(path) = &options.destination {
        refuse_to_replace(path, options.to)?;
    }
    let staging = tempfile::Builder::new()
        .prefix(".feedsmith-convert-")
        .tempdir_in(&parent)
        .map_err(write_error(&parent))?;
    let config = output_config(options, &file_name);
    let report = if let Content::Entries(entries) = content
        && options.to == OutputFormat::MispFeed
    {
        let settings = misp_feed::EventSettings {
            task_id: TASK_ID,
            path: &file_name,
            info: options.misp.event_info.as_deref().unwrap_or(name),
            org_name: options.misp.org_name.as_deref().unwrap_or("feedsmith"),
            threat_level: options.misp.threat_level.unwrap_or(4),
            tlp: options.misp.tlp.as_deref().unwrap_or("tlp:clear"),
            distribution: options.misp.distribution,
            events: crate::config::EventMode::Fixed,
            retention_days: misp_feed::RETENTION_DAYS,
            now: options.now,
        };
        let previous = misp_feed::Previous::read(&parent.join(&file_name));
        misp_feed::write(staging.path(), &file_name, &previous, &settings, entries)?
    } else {
        let allowed = AddressSet::default();
        let target = Target {
            dir: staging.path(),
            relative: &file_name,
            task_id: TASK_ID,
            task_name: name,
            now: options.now,
            output: &config,
            allowed: &allowed,
        };
        match content {
            Content::Entries(entries) => export::write_blocklist(&target, entries)?,
            Content::Addresses(set) => export::cidr_of_set(&target, set)?,
        }
    };
    let staged = staging.path().join(&file_name);
    match &options.destination {
        Destination::Stdout => {
            let mut file = std::fs::File::open(&staged).map_err(write_error(&staged))?;
            std::io::copy(&mut file, stdout)
                .and_then(|_| stdout.flush())
                .map_err(write_error(Path::new("-")))?;
        }
        Destination::Path(path) => put_in_place(&staged, path, staging.path())?,
    }
    Ok(report)
}

/// Refuses a destination that the output must not replace: a device, pipe or socket (the
/// rename would put a file in its place), and a folder that is not empty and holds no
/// earlier output of a folder format (it would be removed whole).
fn refuse_to_replace(path: &Path, format: OutputFormat) -> Result<(), ConvertError> {
    let Ok(meta) = std::fs::symlink_metadata(path) else { return Ok(()) };
    let refuse = |why: &str| {
        Err(ConvertError::Usage(format!(
            "`--output {}` {why}",
            crate::text::shown(&path.display().to_string(), 200)
        )))
    };
    let kind = meta.file_type();
    match export::folder_marker(format) {
        _ if kind.is_symlink() => Ok(()),
        Some(marker) if kind.is_dir() => {
            let empty = std::fs::read_dir(path).is_ok_and(|mut d| d.next().is_none());
            if empty || path.join(marker).is_file() {
                Ok(())
            } else {
                refuse(&format!(
                    "is a folder that holds no `{}` output (no `{marker}`): it would be replaced whole",
                    format.as_str()
                ))
            }
        }
        Some(_) => refuse("is not a folder"),
        None if kind.is_file() || kind.is_dir() => Ok(()),
        None => refuse("is not a regular file (a device, pipe or socket): write to a file"),
    }
}

/// Renames `staged` onto `path`. A folder in the way (the previous MISP feed) is first moved
/// into `staging`, which is removed afterwards.
fn put_in_place(staged: &Path, path: &Path, staging: &Path) -> Result<(), ConvertError> {
    let io = |source| ConvertError::Write { path: path.to_owned(), source };
    if staged.is_dir() && path.is_dir() {
        std::fs::rename(path, staging.join(".previous")).map_err(io)?;
    }
    std::fs::rename(staged, path).map_err(io)
}

impl Converted {
    /// What happened, as lines for people: the input's lines, the rejections by reason with
    /// the line numbers of a few examples, and what the writer wrote and left out.
    #[must_use]
    pub fn summary(&self) -> Vec<String> {
        let s = &self.stats;
        let mut lines = Vec::new();
        let rejected = s.rejected_total();
        lines.push(format!(
            "Read {} lines from {}: {} values accepted ({} distinct, {} repeats), {} comments, {} blank, {} rejected.",
            s.lines,
            crate::text::shown(&self.input, 200),
            s.accepted,
            self.records,
            s.duplicates,
            s.comments,
            s.blank,
            rejected,
        ));
        for (code, rejection) in &s.rejected {
            let examples: Vec<String> = rejection
                .examples
                .iter()
                .take(3)
                .map(|e| format!("line {}: `{}`", e.line, crate::text::shown(&e.text, 80)))
                .collect();
            lines.push(format!("  rejected {code}: {} ({})", rejection.count, examples.join(", ")));
        }
        if s.ignored_words > 0 {
            lines.push(format!(
                "  {} words beside the values were not indicators (ignored)",
                s.ignored_words
            ));
        }
        if self.other_types > 0 {
            lines.push(format!(
                "  {} values of other types than `--type` left out",
                self.other_types
            ));
        }
        let out = &self.output;
        lines.push(format!(
            "Wrote {} entries ({}) to {}: {} bytes{}.",
            out.entries,
            out.format.as_str(),
            crate::text::shown(&self.written_to, 200),
            out.bytes,
            if out.skipped > 0 {
                format!("; {} left out by the format", out.skipped)
            } else {
                String::new()
            },
        ));
        for (reason, count) in &out.skipped_reasons {
            lines.push(format!("  left out {reason}: {count}"));
        }
        if out.cut > 0 {
            lines.push(format!(
                "  {} entries cut, the lowest-ranked, to fit the format's limit",
                out.cut
            ));
            for (reason, count) in &out.cut_reasons {
                lines.push(format!("  cut {reason}: {count}"));
            }
        }
        lines
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_port_value_gives_its_address_only_when_the_plain_type_is_asked_for() {
        let pair = Indicator::new(AttrType::IpDstPort, "198.51.100.10|8080");
        let address = pair.as_one_of(&[AttrType::IpDst]).unwrap();
        assert_eq!((address.kind, &*address.value), (AttrType::IpDst, "198.51.100.10"));
        assert!(pair.as_one_of(&[AttrType::IpSrc]).is_none());
        assert_eq!(pair.as_one_of(&[]).unwrap().kind, AttrType::IpDstPort);
    }

    #[test]
    fn entries_made_from_port_values_are_distinct() {
        let body = b"198.51.100.10:8080\n198.51.100.10:443\n198.51.100.10\n";
        let parsed = freetext::parse(body, &FreetextOptions::default(), None);
        assert_eq!(parsed.records.len(), 3);
        let (entries, other) = entries(&parsed, &[AttrType::IpDst], 0, OutputFormat::Plain);
        let values: Vec<&str> = entries.iter().map(|e| &*e.indicator.value).collect();
        assert_eq!((values, other), (vec!["198.51.100.10"], 0));
    }

    #[test]
    fn entries_sort_addresses_by_number_before_names() {
        let body = b"b.example\n198.51.100.10\n10.0.0.0/8\n198.51.100.9\na.example\n";
        let parsed = freetext::parse(body, &FreetextOptions::default(), None);
        let (entries, _) = entries(&parsed, &[], 7, OutputFormat::Plain);
        let values: Vec<&str> = entries.iter().map(|e| &*e.indicator.value).collect();
        assert_eq!(
            values,
            ["10.0.0.0/8", "198.51.100.9", "198.51.100.10", "a.example", "b.example"]
        );
        assert!(entries.iter().all(|e| e.reference_time == 7 && e.score.is_none()));
    }
}
