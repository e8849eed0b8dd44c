//! Firewall feeds: PAN-OS external dynamic lists and FortiGate external threat feeds.
//!
//! Neither product takes a list of mixed types, so each output holds one (`list`): `ip`
//! (aggregated networks, allow-listed ranges taken out, as in `ip_lists`), `domain`, `url`
//! (without the `http://` or `https://` scheme) or, for FortiGate, `hash`. Indicators of
//! other types are counted as `not_in_list_type`.
//!
//! ```text
//! # panos-edl, list = "ip"      # fortigate, list = "domain"
//! 198.51.100.0/24               # Domain blocklist
//! 203.0.113.7                   # ...
//!                               bad.example
//! ```

use std::fmt::Write as _;

use super::budget::{Ranked, by_key, finish_fitted, fit};
use super::dns::ranked_names;
use super::ip_lists::ranked_blocks;
use super::syntax::{NameRules, Skips, url_without_scheme};
use super::{Entry, ExportError, Target, header};
use crate::config::ListType;
use crate::indicator::{AttrType, Family};
use crate::report::OutputReport;

/// The lines of a list of one type, in order, each ranked by the entries it stands for,
/// and what was skipped.
fn lines<'e>(
    target: &Target<'_>,
    entries: &'e [Entry<'_>],
    list: ListType,
) -> (Vec<Ranked<'e, String>>, Skips) {
    let mut skips = Skips::default();
    let family = match list {
        ListType::Ip => Family::Ip,
        ListType::Domain => Family::Domain,
        ListType::Url => Family::Url,
        ListType::Hash => Family::Hash,
    };
    let mut own = Vec::with_capacity(entries.len());
    for entry in entries {
        if entry.indicator.kind.family() == family {
            own.push(entry);
        } else {
            skips.add("not_in_list_type", &entry.indicator.value);
        }
    }
    let lines = match list {
        ListType::Ip => {
            let mut lines = Vec::new();
            for block in ranked_blocks(own, target.allowed, &mut skips) {
                // A whole address space blocks everything; no list means it.
                if block.item.prefix_len() == 0 {
                    skips.add("whole_address_space", &block.value);
                } else {
                    lines.push(Ranked {
                        item: block.value.clone(),
                        value: block.value,
                        score: block.score,
                        feeds: block.feeds,
                    });
                }
            }
            lines
        }
        // A PAN-OS domain list blocks subdomains only with an option, and FortiGate matches
        // names exactly, so no name is dropped for a listed parent.
        ListType::Domain => ranked_names(own, NameRules::RESOLVER, &mut skips)
            .into_iter()
            .map(|unit| Ranked {
                item: unit.value.clone(),
                value: unit.value,
                score: unit.score,
                feeds: unit.feeds,
            })
            .collect(),
        ListType::Url => {
            let mut urls = Vec::new();
            for entry in own {
                match url_without_scheme(entry) {
                    // `*` and `^` are wildcards in PAN-OS URL lists; a URL holding one would
                    // match more than it says.
                    Ok(url) if url.contains(['*', '^']) => {
                        skips.add("url_wildcard_character", &entry.indicator.value);
                    }
                    Ok(url) => urls.push((url.to_owned(), entry)),
                    Err(reason) => skips.add(reason, &entry.indicator.value),
                }
            }
            by_key(urls, |url| (url.clone(), url.clone()))
        }
        ListType::Hash => {
            let mut hashes = Vec::new();
            for entry in own {
                let value = &*entry.indicator.value;
                let length = match entry.indicator.kind {
                    AttrType::Md5 => 32,
                    AttrType::Sha1 => 40,
                    AttrType::Sha256 => 64,
                    _ => 0,
                };
                match length {
                    0 => skips.add("unsupported_type", value),
                    _ if value.len() == length && value.bytes().all(|b| b.is_ascii_hexdigit()) => {
                        hashes.push((value.to_ascii_lowercase(), entry));
                    }
                    _ => skips.add("not_a_hash", value),
                }
            }
            by_key(hashes, |hash| (hash.clone(), hash.clone()))
        }
    };
    (lines, skips)
}

/// The lines `keep` marks, one per line.
fn push_kept(out: &mut String, lines: &[Ranked<'_, String>], keep: &[bool]) {
    for (line, _) in lines.iter().zip(keep).filter(|(_, k)| **k) {
        out.push_str(&line.item);
        out.push('\n');
    }
}

/// `panos-edl`: one entry per line and no header, since PAN-OS reads every line as an entry.
/// An empty list is a lone `#` line, the form XSOAR uses, so that the firewall loads an
/// empty list rather than fail on an empty body.
pub(crate) fn panos_edl(
    target: &Target<'_>,
    entries: &[Entry<'_>],
) -> Result<OutputReport, ExportError> {
    let list = target.output.list.unwrap_or(ListType::Ip);
    if list == ListType::Hash {
        return Err(ExportError::Invalid {
            path: target.relative.to_owned(),
            message: "PAN-OS lists hold addresses, domains or URLs, not hashes".to_owned(),
        });
    }
    let (lines, skips) = lines(target, entries, list);
    let fitted = fit(target, &lines, |keep, count| {
        let mut out = String::new();
        push_kept(&mut out, &lines, keep);
        if count == 0 {
            out.push_str("#\n");
        }
        out
    })?;
    finish_fitted(target, &fitted, &skips)
}

/// `fortigate`: a `#` header, then one entry per line.
pub(crate) fn fortigate(
    target: &Target<'_>,
    entries: &[Entry<'_>],
) -> Result<OutputReport, ExportError> {
    let list = target.output.list.unwrap_or(ListType::Ip);
    let (lines, skips) = lines(target, entries, list);
    let fitted = fit(target, &lines, |keep, count| {
        let mut out = header(target, "#", count);
        let _ = writeln!(out, "# list: {}", list.as_str());
        push_kept(&mut out, &lines, keep);
        out
    })?;
    finish_fitted(target, &fitted, &skips)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{
        entry, hostile_names, read, target_with, write_hostile_names, written_values,
    };
    use super::*;
    use crate::config::OutputFormat;
    use crate::indicator::{AddressSet, Indicator, parse_net};

    fn mixed() -> Vec<Indicator> {
        vec![
            Indicator::new(AttrType::IpDst, "198.51.100.0/25"),
            Indicator::new(AttrType::IpSrc, "198.51.100.128/25"),
            Indicator::new(AttrType::IpDst, "2001:db8::1"),
            Indicator::new(AttrType::Domain, "bad.example"),
            Indicator::new(AttrType::Url, "https://bad.example/login?x=1"),
            Indicator::new(AttrType::Url, "http://bad.example/*"),
            Indicator::new(AttrType::Url, "ftp://bad.example/file"),
            Indicator::new(AttrType::Url, "http://bad.example/a b"),
            Indicator::new(AttrType::Sha256, "ab".repeat(32)),
            Indicator::new(AttrType::Md5, "not-a-hash"),
        ]
    }

    fn edl(list: ListType, format: OutputFormat) -> (String, OutputReport) {
        let dir = tempfile::tempdir().unwrap();
        let indicators = mixed();
        let entries: Vec<Entry<'_>> = indicators.iter().map(entry).collect();
        let allowed = AddressSet::from_nets(&[parse_net("198.51.100.255").unwrap()]);
        let t = target_with(dir.path(), "l.txt", format, &allowed, |o| o.list = Some(list));
        let report = match format {
            OutputFormat::PanosEdl => panos_edl(&t, &entries).unwrap(),
            _ => fortigate(&t, &entries).unwrap(),
        };
        (read(dir.path(), "l.txt"), report)
    }

    #[test]
    fn edl_ip_lists_are_aggregated_without_a_header() {
        let (text, report) = edl(ListType::Ip, OutputFormat::PanosEdl);
        // 198.51.100.0/24 without .255: /25, /26, /27, /28, /29, /30, /31, .254.
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            [
                "198.51.100.0/25",
                "198.51.100.128/26",
                "198.51.100.192/27",
                "198.51.100.224/28",
                "198.51.100.240/29",
                "198.51.100.248/30",
                "198.51.100.252/31",
                "198.51.100.254",
                "2001:db8::1"
            ]
        );
        assert_eq!(report.skipped_reasons["not_in_list_type"], 7);
    }

    #[test]
    fn edl_url_lists_drop_the_scheme_and_refuse_wildcards_and_white_space() {
        let (text, report) = edl(ListType::Url, OutputFormat::PanosEdl);
        assert_eq!(text, "bad.example/login?x=1\n");
        assert_eq!(report.skipped_reasons["url_wildcard_character"], 1);
        assert_eq!(report.skipped_reasons["url_scheme"], 1);
        assert_eq!(report.skipped_reasons["white_space_or_control"], 1);
    }

    #[test]
    fn an_empty_edl_is_a_lone_comment_line() {
        let dir = tempfile::tempdir().unwrap();
        let allowed = AddressSet::default();
        let t = target_with(dir.path(), "e.txt", OutputFormat::PanosEdl, &allowed, |_| {});
        let report = panos_edl(&t, &[]).unwrap();
        assert_eq!(read(dir.path(), "e.txt"), "#\n");
        assert_eq!(report.entries, 0);
    }

    #[test]
    fn fortigate_domain_and_hash_lists_keep_their_own_type() {
        let (text, _) = edl(ListType::Domain, OutputFormat::Fortigate);
        assert_eq!(written_values(&text, "#"), ["bad.example"]);
        assert!(text.contains("# list: domain\n"));
        let (text, report) = edl(ListType::Hash, OutputFormat::Fortigate);
        assert_eq!(written_values(&text, "#"), ["ab".repeat(32)]);
        assert_eq!(report.skipped_reasons["not_a_hash"], 1);
    }

    #[test]
    fn firewall_domain_lists_refuse_hostile_names() {
        for format in [OutputFormat::PanosEdl, OutputFormat::Fortigate] {
            let dir = tempfile::tempdir().unwrap();
            let report =
                write_hostile_names(dir.path(), "d", format, |o| o.list = Some(ListType::Domain));
            let text = read(dir.path(), "d");
            assert!(written_values(&text, "#").is_empty(), "{text}");
            assert_eq!(report.skipped, hostile_names().len() as u64);
        }
    }
}
