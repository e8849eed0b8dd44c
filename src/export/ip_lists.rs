//! Aggregated IP formats: CIDR lists (`cidr-ipv4`, `cidr-ipv6`), nftables sets and `ipset`
//! restore files.
//!
//! Each takes the task's `ip-dst` and `ip-src` values, merges adjacent and overlapping
//! networks, takes out the allow-listed ranges (the task's `cidr` warning lists) and writes
//! the least CIDR blocks that cover exactly what is left, in address order. A listed network
//! that holds an allow-listed address is therefore cut around it rather than written whole;
//! a value that lies wholly inside an allow-listed range is counted as `allow_listed`.
//!
//! ```text
//! # cidr-ipv4                      # nftables                                 # ipset
//! 198.51.100.0/24                  table inet feedsmith {                     create t_v4_tmp hash:net family inet hashsize 1024 maxelem 65536 -exist
//! 203.0.113.7                        set t_v4 { type ipv4_addr; flags interval; }   flush t_v4_tmp
//!                                  }                                          add t_v4_tmp 198.51.100.0/24
//!                                  flush set inet feedsmith t_v4              ...
//!                                  add element inet feedsmith t_v4 { ... }    swap t_v4_tmp t_v4
//! ```

use std::fmt::Write as _;

use ipnet::IpNet;
use rayon::prelude::*;

use super::budget::{Cap, Ranked, finish_fitted, fit, fit_capped};
use super::syntax::{Skips, entry_net, identifier, net_text};
use super::{Entry, ExportError, Target, header};
use crate::indicator::AddressSet;
use crate::report::OutputReport;

/// Elements per nftables `add element` statement: large enough to load fast, small enough
/// that no statement grows without bound (OUTPUT-FORMATS.md §6).
const NFT_CHUNK: usize = 1024;

/// The default `ipset` `maxelem` (ipset's own default).
const DEFAULT_MAXELEM: u32 = 65_536;

/// The default `ipset` `hashsize` (ipset's own default).
const DEFAULT_HASHSIZE: u32 = 1024;

/// The longest set base name: ipset names hold 31 bytes, and `_v4_tmp` takes 7.
pub(crate) const MAX_SET_NAME: usize = 24;

/// The task's addresses and networks merged into blocks, allow-listed ranges taken out, in
/// address order (IPv4 first), each ranked by the entries whose networks overlap it: the
/// best of their scores and all their feeds. Values that are no address, and values wholly
/// inside an allow-listed range, are counted in `skips`.
pub(crate) fn ranked_blocks<'e, 'x, 'a>(
    entries: impl IntoIterator<Item = &'x Entry<'a>>,
    allowed: &AddressSet,
    skips: &mut Skips,
) -> Vec<Ranked<'e, IpNet>>
where
    'a: 'x + 'e,
    'x: 'e,
{
    ranked_nets(parsed_nets(entries), allowed, skips)
}

/// Each entry with its address or network, or why it has none, read on every thread.
fn parsed_nets<'x, 'a>(
    entries: impl IntoIterator<Item = &'x Entry<'a>>,
) -> Vec<(Result<IpNet, &'static str>, &'x Entry<'a>)>
where
    'a: 'x,
{
    let entries: Vec<&'x Entry<'a>> = entries.into_iter().collect();
    entries.into_par_iter().map(|entry| (entry_net(entry), entry)).collect()
}

/// [`ranked_blocks`] of entries whose networks are read already.
fn ranked_nets<'e, 'x, 'a>(
    parsed: Vec<(Result<IpNet, &'static str>, &'x Entry<'a>)>,
    allowed: &AddressSet,
    skips: &mut Skips,
) -> Vec<Ranked<'e, IpNet>>
where
    'a: 'x + 'e,
    'x: 'e,
{
    let mut members: Vec<(IpNet, &'x Entry<'a>)> = Vec::with_capacity(parsed.len());
    for (net, entry) in parsed {
        match net {
            Ok(net) if !allowed.is_empty() && allowed.contains(&net) => {
                skips.add("allow_listed", &entry.indicator.value);
            }
            Ok(net) => members.push((net, entry)),
            Err(reason) => skips.add(reason, &entry.indicator.value),
        }
    }
    let nets: Vec<IpNet> = members.iter().map(|(net, _)| *net).collect();
    let mut set = AddressSet::from_nets(&nets);
    set.subtract(allowed);
    let mut blocks: Vec<Ranked<'e, IpNet>> = blocks_of(&set);
    // An entry without a score or feeds adds nothing to a block's rank: when none has one
    // (a conversion's entries), the look-ups are skipped.
    if members.iter().all(|(_, entry)| entry.score.is_none() && entry.feeds.is_empty()) {
        return blocks;
    }
    // Blocks are disjoint and in address order (`IpAddr` orders IPv4 before IPv6), so the
    // blocks a network overlaps are a run found by bisection.
    for (net, entry) in members {
        let (first, last) = (net.network(), net.broadcast());
        let start = blocks.partition_point(|b| b.item.broadcast() < first);
        for block in &mut blocks[start..] {
            if block.item.network() > last {
                break;
            }
            block.absorb(entry);
        }
    }
    blocks
}

/// The networks of `net` left once `allowed` is taken out (none when it is covered, itself
/// when it does not overlap).
pub(crate) fn pieces(net: IpNet, allowed: &AddressSet) -> Vec<IpNet> {
    let mut set = AddressSet::from_nets(&[net]);
    if !allowed.is_empty() {
        set.subtract(allowed);
    }
    set.cidrs().collect()
}

/// Whether `net` is of IP version 4 or 6.
fn version(net: &IpNet) -> u8 {
    match net {
        IpNet::V4(_) => 4,
        IpNet::V6(_) => 6,
    }
}

/// `cidr-ipv4` and `cidr-ipv6`: one aggregated block per line after a `#` header. Values of
/// the other IP version are counted as `other_ip_version`.
pub(crate) fn cidr(
    target: &Target<'_>,
    entries: &[Entry<'_>],
    ip_version: u8,
) -> Result<OutputReport, ExportError> {
    let mut skips = Skips::default();
    let mut own = Vec::with_capacity(entries.len());
    for (net, entry) in parsed_nets(entries) {
        match net {
            Ok(net) if version(&net) != ip_version => {
                skips.add("other_ip_version", &entry.indicator.value);
            }
            _ => own.push((net, entry)),
        }
    }
    let blocks = ranked_nets(own, target.allowed, &mut skips);
    cidr_blocks(target, &blocks, &skips)
}

/// `cidr-ipv4` or `cidr-ipv6` of every address of `set` but the allowed ones, with nothing
/// to rank its blocks by: a conversion of a list read as intervals.
pub(crate) fn cidr_of_set(
    target: &Target<'_>,
    set: &AddressSet,
) -> Result<OutputReport, ExportError> {
    let mut set = set.clone();
    set.subtract(target.allowed);
    cidr_blocks(target, &blocks_of(&set), &Skips::default())
}

/// The least CIDR blocks of `set`, each unranked.
fn blocks_of<'e>(set: &AddressSet) -> Vec<Ranked<'e, IpNet>> {
    let nets: Vec<IpNet> = set.cidrs().collect();
    nets.into_par_iter().with_min_len(4096).map(|net| Ranked::new(net, net_text(&net))).collect()
}

/// Writes the blocks of a `cidr-*` list, one per line after the header, within its budget.
fn cidr_blocks(
    target: &Target<'_>,
    blocks: &[Ranked<'_, IpNet>],
    skips: &Skips,
) -> Result<OutputReport, ExportError> {
    let fitted = fit(target, blocks, |keep, kept| {
        let mut out = header(target, "#", kept);
        for (block, _) in blocks.iter().zip(keep).filter(|(_, k)| **k) {
            out.push_str(&block.value);
            out.push('\n');
        }
        out
    })?;
    finish_fitted(target, &fitted, skips)
}

/// The base name of an output's sets: `set_name`, or the task id made an identifier.
fn set_base(target: &Target<'_>) -> String {
    target.output.set_name.clone().unwrap_or_else(|| identifier(target.task_id, MAX_SET_NAME))
}

/// The entries' addresses merged into ranked blocks, allow-listed ranges cut out, with `/0`
/// blocks left out and counted: neither `hash:net` nor a sane firewall takes a whole
/// address space.
fn merged_blocks<'e>(
    entries: &'e [Entry<'_>],
    allowed: &AddressSet,
    skips: &mut Skips,
) -> Vec<Ranked<'e, IpNet>> {
    let mut blocks = ranked_blocks(entries, allowed, skips);
    blocks.retain(|block| {
        let whole = block.item.prefix_len() == 0;
        if whole {
            skips.add("whole_address_space", &block.value);
        }
        !whole
    });
    blocks
}

/// The kept blocks of `blocks`, split by version: IPv4, then IPv6.
fn by_version<'b>(blocks: &'b [Ranked<'_, IpNet>], keep: &[bool]) -> [Vec<&'b IpNet>; 2] {
    let mut split = [Vec::new(), Vec::new()];
    for (block, _) in blocks.iter().zip(keep).filter(|(_, k)| **k) {
        split[usize::from(version(&block.item) == 6)].push(&block.item);
    }
    split
}

/// `nftables`: a script for `nft -f` that declares the table and its two interval sets,
/// flushes them and adds the blocks, all in one transaction.
///
/// Declaring the table and sets (`table inet t { set s { ... } }`) creates them on the first
/// load and leaves them as they are afterwards, so the script needs no setup; the sets are
/// then this file's to fill, and rules refer to them as `@<set_name>_v4` and `_v6`.
pub(crate) fn nftables(
    target: &Target<'_>,
    entries: &[Entry<'_>],
) -> Result<OutputReport, ExportError> {
    let mut skips = Skips::default();
    let blocks = merged_blocks(entries, target.allowed, &mut skips);
    let table = target.output.table.as_deref().unwrap_or("feedsmith");
    let base = set_base(target);
    let fitted = fit(target, &blocks, |keep, kept| {
        let mut out = header(target, "#", kept);
        let _ = writeln!(out, "table inet {table} {{");
        for (suffix, kind) in [("v4", "ipv4_addr"), ("v6", "ipv6_addr")] {
            let _ = writeln!(out, "\tset {base}_{suffix} {{");
            let _ = writeln!(out, "\t\ttype {kind}");
            let _ = writeln!(out, "\t\tflags interval");
            let _ = writeln!(out, "\t}}");
        }
        out.push_str("}\n");
        for (suffix, nets) in ["v4", "v6"].iter().zip(by_version(&blocks, keep)) {
            let _ = writeln!(out, "flush set inet {table} {base}_{suffix}");
            for chunk in nets.chunks(NFT_CHUNK) {
                let _ = writeln!(out, "add element inet {table} {base}_{suffix} {{");
                for (index, net) in chunk.iter().enumerate() {
                    let comma = if index + 1 < chunk.len() { "," } else { "" };
                    let _ = writeln!(out, "\t{}{comma}", net_text(net));
                }
                out.push_str("}\n");
            }
        }
        out
    })?;
    finish_fitted(target, &fitted, &skips)
}

/// `ipset`: a stream for `ipset restore` that fills a temporary `hash:net` set per IP
/// version, swaps it with the live set and destroys it, so that the live set changes in one
/// step. No comments: a restore stream takes none.
///
/// Both the temporary and the live set are created with `-exist` and the same parameters
/// (`hashsize`, `maxelem` from the definition), so the stream works on the first load and
/// after a failed one; the temporary set is flushed before it is filled.
pub(crate) fn ipset(
    target: &Target<'_>,
    entries: &[Entry<'_>],
) -> Result<OutputReport, ExportError> {
    let mut skips = Skips::default();
    let blocks = merged_blocks(entries, target.allowed, &mut skips);
    let base = set_base(target);
    let hashsize = target.output.hashsize.unwrap_or(DEFAULT_HASHSIZE);
    let maxelem = target.output.maxelem.unwrap_or(DEFAULT_MAXELEM);
    // A set holds at most `maxelem` elements, and a restore that adds one more fails before
    // its swap, leaving the live set as it was: the lowest-ranked blocks beyond it are cut.
    let group = |net: &IpNet| usize::from(matches!(net, IpNet::V6(_)));
    let cap = Cap { most: maxelem as usize, group: &group, reason: "maxelem" };
    let fitted = fit_capped(target, &blocks, Some(&cap), |keep, _| {
        let mut out = String::new();
        let split = by_version(&blocks, keep);
        for ((suffix, family), nets) in [("v4", "inet"), ("v6", "inet6")].iter().zip(split) {
            let live = format!("{base}_{suffix}");
            let temporary = format!("{live}_tmp");
            let create = |name: &str| {
                format!(
                    "create {name} hash:net family {family} hashsize {hashsize} maxelem {maxelem} -exist\n"
                )
            };
            out.push_str(&create(&temporary));
            let _ = writeln!(out, "flush {temporary}");
            for net in nets {
                let _ = writeln!(out, "add {temporary} {}", net_text(net));
            }
            out.push_str(&create(&live));
            let _ = writeln!(out, "swap {temporary} {live}");
            let _ = writeln!(out, "destroy {temporary}");
        }
        out
    })?;
    finish_fitted(target, &fitted, &skips)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{entry, read, target_with, written_values};
    use super::*;
    use crate::config::OutputFormat;
    use crate::indicator::{AttrType, Indicator, parse_net};

    fn ips(values: &[&str]) -> Vec<Indicator> {
        values.iter().map(|v| Indicator::new(AttrType::IpDst, *v)).collect()
    }

    #[test]
    fn cidr_lists_merge_touching_and_nested_networks() {
        let dir = tempfile::tempdir().unwrap();
        let indicators = ips(&["198.51.100.0/25", "198.51.100.128/25", "198.51.100.7", "8.8.4.4"]);
        let entries: Vec<Entry<'_>> = indicators.iter().map(entry).collect();
        let allowed = AddressSet::default();
        let t = target_with(dir.path(), "v4.txt", OutputFormat::CidrIpv4, &allowed, |_| {});
        let report = cidr(&t, &entries, 4).unwrap();
        let text = read(dir.path(), "v4.txt");
        assert_eq!(written_values(&text, "#"), ["8.8.4.4", "198.51.100.0/24"]);
        assert_eq!(report.entries, 2);
        assert_eq!(report.skipped, 0);
    }

    #[test]
    fn allow_listed_ranges_are_cut_out_and_covered_values_counted() {
        let dir = tempfile::tempdir().unwrap();
        let indicators = ips(&["8.8.8.0/24", "1.1.1.1", "2001:db8::/32"]);
        let mut indicators = indicators;
        indicators.push(Indicator::new(AttrType::Domain, "bad.example"));
        let entries: Vec<Entry<'_>> = indicators.iter().map(entry).collect();
        let allowed = AddressSet::from_nets(&[
            parse_net("8.8.8.8").unwrap(),
            parse_net("1.1.1.0/24").unwrap(),
        ]);
        let t = target_with(dir.path(), "v4.txt", OutputFormat::CidrIpv4, &allowed, |_| {});
        let report = cidr(&t, &entries, 4).unwrap();
        let text = read(dir.path(), "v4.txt");
        // 8.8.8.0/24 without 8.8.8.8: .0/29, .9/32, .10/31, .12/30, .16/28, .32/27, .64/26,
        // .128/25 (8 + 1 + 2 + 4 + 16 + 32 + 64 + 128 = 255 addresses).
        assert_eq!(
            written_values(&text, "#"),
            [
                "8.8.8.0/29",
                "8.8.8.9",
                "8.8.8.10/31",
                "8.8.8.12/30",
                "8.8.8.16/28",
                "8.8.8.32/27",
                "8.8.8.64/26",
                "8.8.8.128/25"
            ]
        );
        assert_eq!(report.skipped, 3);
        assert_eq!(report.skipped_reasons["allow_listed"], 1);
        assert_eq!(report.skipped_reasons["other_ip_version"], 1);
        assert_eq!(report.skipped_reasons["unsupported_type"], 1);
    }

    #[test]
    fn hostile_address_values_are_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let indicators = ips(&[
            "192.0.2.1\n10.0.0.0/8",
            "192.0.2.1;",
            " 192.0.2.1",
            "\"192.0.2.1\"",
            "<script>",
            "$ORIGIN",
            "192.0.2.1|80",
            "2001:db8::1",
        ]);
        let mut indicators = indicators;
        indicators.push(Indicator::new(AttrType::IpDstPort, "192.0.2.9|443"));
        let entries: Vec<Entry<'_>> = indicators.iter().map(entry).collect();
        let allowed = AddressSet::default();
        let t = target_with(dir.path(), "v6.txt", OutputFormat::CidrIpv6, &allowed, |_| {});
        let report = cidr(&t, &entries, 6).unwrap();
        let text = read(dir.path(), "v6.txt");
        assert_eq!(written_values(&text, "#"), ["2001:db8::1"]);
        assert_eq!(report.skipped_reasons["not_an_address"], 7);
        assert_eq!(report.skipped_reasons["composite_value"], 1);
    }

    #[test]
    fn nftables_script_declares_flushes_and_fills_both_sets() {
        let dir = tempfile::tempdir().unwrap();
        let indicators = ips(&["192.0.2.0/25", "192.0.2.128/25", "198.51.100.9", "2001:db8::/48"]);
        let entries: Vec<Entry<'_>> = indicators.iter().map(entry).collect();
        let allowed = AddressSet::default();
        let t = target_with(dir.path(), "set.nft", OutputFormat::Nftables, &allowed, |o| {
            o.set_name = Some("cti".to_owned());
        });
        let report = nftables(&t, &entries).unwrap();
        let text = read(dir.path(), "set.nft");
        let body: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            body,
            [
                "table inet feedsmith {",
                "\tset cti_v4 {",
                "\t\ttype ipv4_addr",
                "\t\tflags interval",
                "\t}",
                "\tset cti_v6 {",
                "\t\ttype ipv6_addr",
                "\t\tflags interval",
                "\t}",
                "}",
                "flush set inet feedsmith cti_v4",
                "add element inet feedsmith cti_v4 {",
                "\t192.0.2.0/24,",
                "\t198.51.100.9",
                "}",
                "flush set inet feedsmith cti_v6",
                "add element inet feedsmith cti_v6 {",
                "\t2001:db8::/48",
                "}",
            ]
        );
        assert_eq!(report.entries, 3);
    }

    #[test]
    fn an_empty_nftables_set_is_flushed_without_an_empty_element_list() {
        let dir = tempfile::tempdir().unwrap();
        let indicators = ips(&["192.0.2.1"]);
        let entries: Vec<Entry<'_>> = indicators.iter().map(entry).collect();
        let allowed = AddressSet::default();
        let t = target_with(dir.path(), "set.nft", OutputFormat::Nftables, &allowed, |_| {});
        nftables(&t, &entries).unwrap();
        let text = read(dir.path(), "set.nft");
        assert!(text.ends_with("flush set inet feedsmith t_v6\n"), "{text}");
        assert!(!text.contains("{ }") && !text.contains("{\n}"));
    }

    #[test]
    fn ipset_restore_fills_a_temporary_set_and_swaps_it_in() {
        let dir = tempfile::tempdir().unwrap();
        let indicators = ips(&["203.0.113.0/24", "2001:db8::1", "0.0.0.0/0"]);
        let entries: Vec<Entry<'_>> = indicators.iter().map(entry).collect();
        let allowed = AddressSet::default();
        let t = target_with(dir.path(), "sets.ipset", OutputFormat::Ipset, &allowed, |o| {
            o.maxelem = Some(1000);
        });
        let report = ipset(&t, &entries).unwrap();
        let text = read(dir.path(), "sets.ipset");
        // 0.0.0.0/0 swallows the /24; the /0 block itself is refused.
        assert_eq!(
            text.lines().collect::<Vec<_>>(),
            [
                "create t_v4_tmp hash:net family inet hashsize 1024 maxelem 1000 -exist",
                "flush t_v4_tmp",
                "create t_v4 hash:net family inet hashsize 1024 maxelem 1000 -exist",
                "swap t_v4_tmp t_v4",
                "destroy t_v4_tmp",
                "create t_v6_tmp hash:net family inet6 hashsize 1024 maxelem 1000 -exist",
                "flush t_v6_tmp",
                "add t_v6_tmp 2001:db8::1",
                "create t_v6 hash:net family inet6 hashsize 1024 maxelem 1000 -exist",
                "swap t_v6_tmp t_v6",
                "destroy t_v6_tmp",
            ]
        );
        assert_eq!(report.skipped_reasons["whole_address_space"], 1);
        assert_eq!(report.entries, 1);
    }

    #[test]
    fn ipset_keeps_each_set_within_maxelem_and_cuts_the_lowest_ranked() {
        // Three IPv4 blocks, not adjacent, scored 90, 50 and 70, and one IPv6 address: with
        // `maxelem = 2` each set holds two, so the IPv4 block scored 50 goes, the IPv6 stays.
        let dir = tempfile::tempdir().unwrap();
        let indicators = ips(&["198.51.100.1", "198.51.100.3", "198.51.100.5", "2001:db8::1"]);
        let mut entries: Vec<Entry<'_>> = indicators.iter().map(entry).collect();
        for (entry, score) in entries.iter_mut().zip([90.0, 50.0, 70.0, 10.0]) {
            entry.score = Some(score);
        }
        let allowed = AddressSet::default();
        let t = target_with(dir.path(), "sets.ipset", OutputFormat::Ipset, &allowed, |o| {
            o.maxelem = Some(2);
        });
        let report = ipset(&t, &entries).unwrap();
        let text = read(dir.path(), "sets.ipset");
        let added: Vec<&str> = text.lines().filter(|l| l.starts_with("add ")).collect();
        assert_eq!(
            added,
            ["add t_v4_tmp 198.51.100.1", "add t_v4_tmp 198.51.100.5", "add t_v6_tmp 2001:db8::1"]
        );
        assert_eq!(report.entries, 3);
        assert_eq!(report.cut, 1);
        assert_eq!(report.cut_reasons["maxelem"], 1);
        let cut = read(dir.path(), "sets.ipset.cut.csv");
        assert_eq!(cut.lines().nth(1), Some("198.51.100.3,50.00,,maxelem"), "{cut}");
    }

    #[test]
    fn a_network_without_its_allowed_part_is_left_in_pieces() {
        let allowed = AddressSet::from_nets(&[parse_net("10.0.0.0/25").unwrap()]);
        let got: Vec<String> =
            pieces(parse_net("10.0.0.0/24").unwrap(), &allowed).iter().map(net_text).collect();
        assert_eq!(got, ["10.0.0.128/25"]);
        assert!(pieces(parse_net("10.0.0.1").unwrap(), &allowed).is_empty());
    }
}
