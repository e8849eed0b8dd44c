//! DNS formats: hosts files, dnsmasq, Unbound `local-zone` includes, BIND response policy
//! zones and adblock-style rules.
//!
//! Each takes the task's `domain` and `hostname` values (the RPZ also its addresses and
//! networks, as `rpz-ip` triggers), checks every name against DNS syntax (`syntax`), and
//! writes the distinct names in byte order. Every format but hosts blocks the name and
//! everything below it.
//!
//! ```text
//! # hosts                  # dnsmasq                 # unbound
//! 0.0.0.0 bad.example      local=/bad.example/       local-zone: "bad.example." always_nxdomain
//!
//! ; rpz                                      ! adblock
//! bad.example CNAME .                        ||bad.example^
//! *.bad.example CNAME .
//! 32.7.113.0.203.rpz-ip CNAME .
//! ```

use std::fmt::Write as _;
use std::net::Ipv6Addr;

use ipnet::IpNet;

use super::budget::{Ranked, by_key, drop_covered, finish_fitted, fit};
use super::ip_lists::pieces;
use super::syntax::{MAX_NAME, NameRules, Skips, check_name, entry_name, entry_net, net_text};
use super::{Entry, ExportError, Target, header, rfc3339};
use crate::indicator::Family;
use crate::report::OutputReport;

/// The distinct names of `entries` that pass `rules`, in byte order; the others counted.
pub(crate) fn names<'e, 'a: 'e>(
    entries: impl IntoIterator<Item = &'e Entry<'a>>,
    rules: NameRules,
    skips: &mut Skips,
) -> Vec<&'e str> {
    let mut names = Vec::new();
    for entry in entries {
        match entry_name(entry).and_then(|name| check_name(name, rules).map(|()| name)) {
            Ok(name) => names.push(name),
            Err(reason) => skips.add(reason, &entry.indicator.value),
        }
    }
    names.sort_unstable();
    names.dedup();
    names
}

/// The distinct names of `entries` that pass `rules`, in byte order, each ranked by the
/// entries that list it; the others counted.
pub(crate) fn ranked_names<'e, 'a: 'e>(
    entries: impl IntoIterator<Item = &'e Entry<'a>>,
    rules: NameRules,
    skips: &mut Skips,
) -> Vec<Ranked<'a, &'e str>> {
    let mut pairs = Vec::new();
    for entry in entries {
        match entry_name(entry).and_then(|name| check_name(name, rules).map(|()| name)) {
            Ok(name) => pairs.push((name, entry)),
            Err(reason) => skips.add(reason, &entry.indicator.value),
        }
    }
    by_key(pairs, |name| (*name, (*name).to_owned()))
}

/// The names of `units` that `keep` marks.
fn kept<'u, T>(units: &'u [Ranked<'_, T>], keep: &'u [bool]) -> impl Iterator<Item = &'u T> {
    units.iter().zip(keep).filter(|(_, k)| **k).map(|(unit, _)| &unit.item)
}

/// Writes one line per name, `line` making it, after a `#` header and `preamble`. Names
/// below another listed name are dropped (these consumers block subdomains).
fn name_list(
    target: &Target<'_>,
    entries: &[Entry<'_>],
    rules: NameRules,
    preamble: &str,
    line: impl Fn(&mut String, &str),
) -> Result<OutputReport, ExportError> {
    let mut skips = Skips::default();
    let names = ranked_names(entries, rules, &mut skips);
    let names = drop_covered(names, |name| name, &mut skips);
    let fitted = fit(target, &names, |keep, count| {
        let mut out = header(target, "#", count);
        out.push_str(preamble);
        for name in kept(&names, keep) {
            line(&mut out, name);
        }
        out
    })?;
    finish_fitted(target, &fitted, &skips)
}

/// `hosts`: `0.0.0.0 <name>` per line. Hosts files know no wildcards, so each listed
/// subdomain is its own line; names are RFC 952 host names (no `_`), and the loopback
/// boilerplate some lists carry (`localhost.localdomain`) is left out.
pub(crate) fn hosts(
    target: &Target<'_>,
    entries: &[Entry<'_>],
) -> Result<OutputReport, ExportError> {
    let mut skips = Skips::default();
    let mut kept = Vec::with_capacity(entries.len());
    for entry in entries {
        if &*entry.indicator.value == "localhost.localdomain" {
            skips.add("hosts_boilerplate", &entry.indicator.value);
        } else {
            kept.push(entry);
        }
    }
    // No name is dropped for a listed parent: a hosts file matches exact names only.
    let names = ranked_names(kept, NameRules::HOST, &mut skips);
    let fitted = fit(target, &names, |keep, count| {
        let mut out = header(target, "#", count);
        for name in self::kept(&names, keep) {
            let _ = writeln!(out, "0.0.0.0 {name}");
        }
        out
    })?;
    finish_fitted(target, &fitted, &skips)
}

/// `dnsmasq`: `local=/<name>/` per line, which answers the name and its subdomains locally
/// (NXDOMAIN). Fast on dnsmasq 2.86 and later; older versions read it too.
pub(crate) fn dnsmasq(
    target: &Target<'_>,
    entries: &[Entry<'_>],
) -> Result<OutputReport, ExportError> {
    name_list(target, entries, NameRules::RESOLVER, "", |out, name| {
        let _ = writeln!(out, "local=/{name}/");
    })
}

/// `unbound`: an include file of `local-zone: "<name>." always_nxdomain` lines (the name
/// and its subdomains), under a `server:` clause so that the file also stands on its own
/// for `unbound-checkconf`. Never `local-data` per name, which costs ten times the memory.
pub(crate) fn unbound(
    target: &Target<'_>,
    entries: &[Entry<'_>],
) -> Result<OutputReport, ExportError> {
    name_list(target, entries, NameRules::RESOLVER, "server:\n", |out, name| {
        let _ = writeln!(out, "local-zone: \"{name}.\" always_nxdomain");
    })
}

/// `adblock`: `||<name>^` per line (the name and its subdomains), after the de-facto
/// adblock metadata header in `!` comments.
pub(crate) fn adblock(
    target: &Target<'_>,
    entries: &[Entry<'_>],
) -> Result<OutputReport, ExportError> {
    let mut skips = Skips::default();
    let names = ranked_names(entries, NameRules::RESOLVER, &mut skips);
    let names = drop_covered(names, |name| name, &mut skips);
    let fitted = fit(target, &names, |keep, count| {
        let mut out = String::new();
        let _ = writeln!(out, "! Title: {}", super::syntax::comment_text(target.task_name));
        let _ = writeln!(out, "! Last modified: {}", rfc3339(target.now));
        out.push_str(&header(target, "!", count));
        for name in kept(&names, keep) {
            let _ = writeln!(out, "||{name}^");
        }
        out
    })?;
    finish_fitted(target, &fitted, &skips)
}

/// The default zone of a task's `rpz` output.
pub(crate) fn default_zone(task_id: &str) -> String {
    format!("{task_id}.rpz")
}

/// The SOA serial of a zone built at `now`: the build time in Unix seconds, which rises with
/// every build and fits the serial's 32 bits until 2106 (it wraps as RFC 1982 serial
/// arithmetic expects after that).
pub(crate) fn serial(now: i64) -> u32 {
    u32::try_from(now.rem_euclid(1 << 32)).unwrap_or(0)
}

/// `rpz`: a response policy zone file.
///
/// ```text
/// $TTL 300
/// @ IN SOA localhost. hostmaster.localhost. <serial> 3600 600 604800 300
/// @ IN NS localhost.
/// bad.example CNAME .
/// *.bad.example CNAME .
/// 24.0.2.0.192.rpz-ip CNAME .
/// ```
///
/// Owner names are relative to the zone (the file sets no `$ORIGIN`, so it loads under the
/// zone name the server gives it). Each name must stay within 253 bytes once `*.`, a dot and
/// the zone are added; a longer one is skipped as `name_too_long`, since one such name stops
/// BIND loading the zone. A name with an `rpz-` label would read as a trigger of another kind
/// (`rpz-ip`, `rpz-nsdname`) and is skipped as `rpz_label`. Addresses and networks become
/// `rpz-ip` triggers, which act on answers that hold them, with the allow-listed ranges cut
/// out.
pub(crate) fn rpz(target: &Target<'_>, entries: &[Entry<'_>]) -> Result<OutputReport, ExportError> {
    let zone = target.output.zone.clone().unwrap_or_else(|| default_zone(target.task_id));
    if check_name(&format!("{zone}.x"), NameRules::RESOLVER).is_err() {
        return Err(ExportError::Invalid {
            path: target.relative.to_owned(),
            message: format!("the zone `{zone}` is not a DNS name"),
        });
    }
    // `*.` + name + `.` + zone.
    let rules = NameRules { underscore: true, suffix: 2 + 1 + zone.len() };
    let mut skips = Skips::default();
    let mut ip_entries = Vec::new();
    let mut name_entries = Vec::new();
    for entry in entries {
        if entry.indicator.kind.family() != Family::Ip {
            name_entries.push(entry);
            continue;
        }
        match entry_net(entry) {
            Ok(net) => ip_entries.push((net, entry)),
            Err(reason) => skips.add(reason, &entry.indicator.value),
        }
    }
    let mut domain_names = ranked_names(name_entries, rules, &mut skips);
    domain_names.retain(|unit| {
        let trigger = unit.item.split('.').any(|label| label.starts_with("rpz-"));
        if trigger {
            skips.add("rpz_label", &unit.value);
        }
        !trigger
    });
    // After the `rpz-` names are gone, so that no name is dropped for a parent not written.
    let domain_names = drop_covered(domain_names, |name| name, &mut skips);
    let mut pieces_of = Vec::new();
    for (net, entry) in ip_entries {
        let kept = pieces(net, target.allowed);
        if kept.is_empty() {
            skips.add("allow_listed", &entry.indicator.value);
        }
        pieces_of.extend(kept.into_iter().map(|piece| (piece, entry)));
    }
    let mut units: Vec<Ranked<'_, String>> = domain_names
        .into_iter()
        .map(|unit| Ranked {
            item: unit.item.to_owned(),
            value: unit.value,
            score: unit.score,
            feeds: unit.feeds,
        })
        .collect();
    for trigger in by_key(pieces_of, |net| (rpz_ip(net), net_text(net))) {
        if trigger.item.len() + 1 + zone.len() > MAX_NAME {
            skips.add("name_too_long", &trigger.value);
        } else {
            units.push(trigger);
        }
    }
    // Domain names first, each with its `*.` record, then the `rpz-ip` triggers.
    let fitted = fit(target, &units, |keep, count| {
        let mut out = header(target, ";", count);
        let _ = writeln!(out, "; zone: {zone}.");
        out.push_str("$TTL 300\n");
        let _ = writeln!(
            out,
            "@ IN SOA localhost. hostmaster.localhost. {} 3600 600 604800 300",
            serial(target.now)
        );
        out.push_str("@ IN NS localhost.\n");
        for (unit, _) in units.iter().zip(keep).filter(|(_, k)| **k) {
            if unit.item.ends_with(".rpz-ip") {
                let _ = writeln!(out, "{} CNAME .", unit.item);
            } else {
                let _ = writeln!(out, "{} CNAME .", unit.item);
                let _ = writeln!(out, "*.{} CNAME .", unit.item);
            }
        }
        out
    })?;
    finish_fitted(target, &fitted, &skips)
}

/// The `rpz-ip` owner name of a network: the prefix length, then the address backwards,
/// IPv4 by octet and IPv6 by 16-bit word in lower-case hex with the longest run of two or
/// more zero words written `zz` (as `::` is).
pub(crate) fn rpz_ip(net: &IpNet) -> String {
    let mut labels = vec![net.prefix_len().to_string()];
    match net {
        IpNet::V4(n) => {
            labels.extend(n.network().octets().iter().rev().map(u8::to_string));
        }
        IpNet::V6(n) => labels.extend(v6_words(n.network()).into_iter().rev()),
    }
    labels.push("rpz-ip".to_owned());
    labels.join(".")
}

/// The words of an address in order, the longest run (first on a tie) of at least two zero
/// words replaced by one `zz`.
fn v6_words(address: Ipv6Addr) -> Vec<String> {
    let segments = address.segments();
    let (mut best, mut run) = ((0, 0), (0, 0));
    for (index, &word) in segments.iter().enumerate() {
        if word == 0 {
            if run.1 == 0 {
                run.0 = index;
            }
            run.1 += 1;
            if run.1 > best.1 {
                best = run;
            }
        } else {
            run.1 = 0;
        }
    }
    let mut words = Vec::with_capacity(8);
    let mut index = 0;
    while index < segments.len() {
        if best.1 >= 2 && index == best.0 {
            words.push("zz".to_owned());
            index += best.1;
        } else {
            words.push(format!("{:x}", segments[index]));
            index += 1;
        }
    }
    words
}

#[cfg(test)]
mod tests {
    use super::super::tests::{
        entry, hostile_names, read, target_with, write_hostile_names, written_values,
    };
    use super::*;
    use crate::config::OutputFormat;
    use crate::indicator::{AddressSet, AttrType, Indicator, parse_net};

    fn domains(values: &[&str]) -> Vec<Indicator> {
        values.iter().map(|v| Indicator::new(AttrType::Domain, *v)).collect()
    }

    /// Every hostile name is skipped, the good ones written once each in byte order; in a
    /// format whose consumers block subdomains (`covers`), `a.good.example` goes as covered
    /// by `good.example`.
    fn check_hostile(
        format: OutputFormat,
        comment: &str,
        covers: bool,
        line: impl Fn(&str) -> String,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let mut values = hostile_names();
        values.extend(["good.example".to_owned(), "a.good.example".to_owned()]);
        let indicators: Vec<Indicator> =
            values.iter().map(|v| Indicator::new(AttrType::Domain, v.as_str())).collect();
        let mut indicators = indicators;
        indicators.push(Indicator::new(AttrType::Hostname, "good.example"));
        let entries: Vec<Entry<'_>> = indicators.iter().map(entry).collect();
        let allowed = AddressSet::default();
        let t = target_with(dir.path(), "out", format, &allowed, |_| {});
        let report = super::super::write_blocklist(&t, &entries).unwrap();
        let text = read(dir.path(), "out");
        let names: &[&str] =
            if covers { &["good.example"] } else { &["a.good.example", "good.example"] };
        let expected: Vec<String> = names.iter().map(|n| line(n)).collect();
        let got: Vec<&str> =
            written_values(&text, comment).into_iter().filter(|l| *l != "server:").collect();
        assert_eq!(got, expected, "{format:?}");
        assert_eq!(report.entries, names.len() as u64);
        let covered = u64::from(covers);
        assert_eq!(report.skipped, hostile_names().len() as u64 + covered, "{format:?}");
        assert_eq!(report.skipped_reasons.get("covered_by_parent").copied().unwrap_or(0), covered);
        assert!(text.ends_with('\n'));
        assert!(text.is_ascii());
    }

    #[test]
    fn hosts_files_write_a_sink_line_per_name_and_refuse_hostile_names() {
        check_hostile(OutputFormat::Hosts, "#", false, |n| format!("0.0.0.0 {n}"));
    }

    #[test]
    fn dnsmasq_writes_local_lines_and_refuses_hostile_names() {
        check_hostile(OutputFormat::Dnsmasq, "#", true, |n| format!("local=/{n}/"));
    }

    #[test]
    fn unbound_writes_quoted_anchored_local_zones_and_refuses_hostile_names() {
        check_hostile(OutputFormat::Unbound, "#", true, |n| {
            format!("local-zone: \"{n}.\" always_nxdomain")
        });
    }

    #[test]
    fn adblock_writes_anchored_rules_and_refuses_hostile_names() {
        check_hostile(OutputFormat::Adblock, "!", true, |n| format!("||{n}^"));
    }

    #[test]
    fn unbound_files_open_a_server_clause() {
        let dir = tempfile::tempdir().unwrap();
        let allowed = AddressSet::default();
        let t = target_with(dir.path(), "u.conf", OutputFormat::Unbound, &allowed, |_| {});
        unbound(&t, &[]).unwrap();
        let text = read(dir.path(), "u.conf");
        assert_eq!(written_values(&text, "#"), ["server:"]);
    }

    #[test]
    fn hosts_files_refuse_underscores_and_loopback_boilerplate() {
        let dir = tempfile::tempdir().unwrap();
        let indicators =
            domains(&["_srv.bad.example", "localhost.localdomain", "localhost", "ok.example"]);
        let entries: Vec<Entry<'_>> = indicators.iter().map(entry).collect();
        let allowed = AddressSet::default();
        let t = target_with(dir.path(), "hosts", OutputFormat::Hosts, &allowed, |_| {});
        let report = hosts(&t, &entries).unwrap();
        assert_eq!(written_values(&read(dir.path(), "hosts"), "#"), ["0.0.0.0 ok.example"]);
        assert_eq!(report.skipped_reasons["invalid_character"], 1);
        assert_eq!(report.skipped_reasons["hosts_boilerplate"], 1);
        assert_eq!(report.skipped_reasons["single_label"], 1);
    }

    #[test]
    fn rpz_zone_has_soa_ns_and_policy_records() {
        let dir = tempfile::tempdir().unwrap();
        let mut indicators = domains(&["bad.example", "_dmarc.bad.example", "rpz-ip.evil.example"]);
        indicators.push(Indicator::new(AttrType::IpDst, "192.0.2.0/24"));
        indicators.push(Indicator::new(AttrType::IpSrc, "2001:db8::/32"));
        indicators.push(Indicator::new(AttrType::IpDst, "2001:db8:0:1::5"));
        indicators.push(Indicator::new(AttrType::Url, "http://bad.example/x"));
        let entries: Vec<Entry<'_>> = indicators.iter().map(entry).collect();
        let allowed = AddressSet::default();
        let t = target_with(dir.path(), "z.rpz", OutputFormat::Rpz, &allowed, |o| {
            o.zone = Some("rpz.example.net".to_owned());
        });
        let mut t = t;
        t.now = 1_767_225_600; // 2026-01-01T00:00:00Z
        let report = rpz(&t, &entries).unwrap();
        let text = read(dir.path(), "z.rpz");
        assert_eq!(
            written_values(&text, ";"),
            [
                "$TTL 300",
                "@ IN SOA localhost. hostmaster.localhost. 1767225600 3600 600 604800 300",
                "@ IN NS localhost.",
                // `_dmarc.bad.example` lies under `*.bad.example`.
                "bad.example CNAME .",
                "*.bad.example CNAME .",
                "24.0.2.0.192.rpz-ip CNAME .",
                "32.zz.db8.2001.rpz-ip CNAME .",
                "128.5.zz.1.0.db8.2001.rpz-ip CNAME .",
            ]
        );
        assert!(text.contains("; zone: rpz.example.net.\n"));
        assert_eq!(report.entries, 4);
        assert_eq!(report.skipped_reasons["covered_by_parent"], 1);
        assert_eq!(report.skipped_reasons["rpz_label"], 1);
        assert_eq!(report.skipped_reasons["unsupported_type"], 1);
    }

    #[test]
    fn rpz_refuses_names_too_long_once_the_origin_is_appended() {
        let dir = tempfile::tempdir().unwrap();
        let zone = "blocklist.rpz"; // 13 bytes
        let label = "a".repeat(63);
        // 63 × 3 + 3 dots + "example" (7) = 199 bytes; with "*." + "." + zone: 215.
        let base = format!("{label}.{label}.{label}.example");
        // 253 − 2 − 1 − 13 = 237 bytes is the longest name that fits.
        let longest = format!("{}.{base}", "b".repeat(237 - base.len() - 1));
        // A name that fits, not a parent of the others (which would cover them).
        let fits = format!("{base}.net");
        assert_eq!(longest.len(), 237);
        let over = format!("b{longest}");
        let indicators = domains(&[&fits, &longest, &over]);
        let entries: Vec<Entry<'_>> = indicators.iter().map(entry).collect();
        let allowed = AddressSet::default();
        let t = target_with(dir.path(), "z", OutputFormat::Rpz, &allowed, |o| {
            o.zone = Some(zone.to_owned());
        });
        let report = rpz(&t, &entries).unwrap();
        let text = read(dir.path(), "z");
        for line in text.lines().filter(|l| l.ends_with("CNAME .")) {
            let owner = line.split(' ').next().unwrap();
            assert!(owner.len() + 1 + zone.len() <= 253, "{owner}");
        }
        assert!(text.contains(&format!("*.{longest} CNAME .\n")));
        assert!(!text.contains(&over));
        assert_eq!(report.skipped_reasons["name_too_long"], 1);
        assert_eq!(report.entries, 2);
    }

    #[test]
    fn rpz_refuses_hostile_names() {
        let dir = tempfile::tempdir().unwrap();
        let report = write_hostile_names(dir.path(), "z", OutputFormat::Rpz, |_| {});
        let text = read(dir.path(), "z");
        assert_eq!(written_values(&text, ";").len(), 3, "{text}");
        assert_eq!(report.skipped, hostile_names().len() as u64);
        // Only the header's comment lines and the three fixed records.
        assert!(!text.contains("$ORIGIN"));
    }

    #[test]
    fn rpz_ip_triggers_skip_allow_listed_networks_and_cut_the_rest() {
        let dir = tempfile::tempdir().unwrap();
        let indicators = [
            Indicator::new(AttrType::IpDst, "8.8.8.8"),
            Indicator::new(AttrType::IpDst, "10.0.0.0/24"),
        ];
        let entries: Vec<Entry<'_>> = indicators.iter().map(entry).collect();
        let allowed = AddressSet::from_nets(&[
            parse_net("8.8.8.0/24").unwrap(),
            parse_net("10.0.0.0/25").unwrap(),
        ]);
        let t = target_with(dir.path(), "z", OutputFormat::Rpz, &allowed, |_| {});
        let report = rpz(&t, &entries).unwrap();
        let text = read(dir.path(), "z");
        let records: Vec<&str> = text.lines().filter(|l| l.contains("rpz-ip")).collect();
        assert_eq!(records, ["25.128.0.0.10.rpz-ip CNAME ."]);
        assert_eq!(report.skipped_reasons["allow_listed"], 1);
    }

    #[test]
    fn the_serial_is_the_build_time_and_rises_with_it() {
        assert_eq!(serial(1_767_225_600), 1_767_225_600);
        assert!(serial(1_767_225_601) > serial(1_767_225_600));
        assert_eq!(serial(-1), u32::MAX);
    }

    #[test]
    fn ipv6_words_compress_the_longest_zero_run() {
        let word = |text: &str| v6_words(text.parse().unwrap()).join(":");
        assert_eq!(word("2001:db8::1"), "2001:db8:zz:1");
        assert_eq!(word("2001:0:0:1:0:0:0:1"), "2001:0:0:1:zz:1");
        assert_eq!(word("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
        assert_eq!(word("::"), "zz");
    }
}
