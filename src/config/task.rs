//! `tasks.d/<id>.toml|yaml`: a selection of indicators and the outputs made from it.

use serde::Deserialize;

use super::template::TemplateSyntax;
use crate::indicator::AttrType;

/// A task as written in its file.
///
/// Example (TOML):
/// ```toml
/// name = "IPv4 firewall blocklist"
///
/// [select]
/// feed_tags = ["c2"]
/// types = ["ip-dst", "ip-src"]
/// ip_version = 4
///
/// [[outputs]]
/// format = "plain"
/// path = "ipv4.txt"
/// ```
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct TaskConfig {
    /// Display name. Required.
    pub name: String,
    /// What the task is for, shown on its page. Default: empty.
    #[serde(default)]
    pub description: String,
    /// Which indicators the task takes.
    #[serde(default)]
    pub select: SelectConfig,
    /// The files written from the selection. Required, at least one.
    pub outputs: Vec<OutputConfig>,
}

/// Which indicators a task takes. Every condition must hold.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct SelectConfig {
    /// Feed ids. With neither `feeds` nor `feed_tags`, every enabled feed. Default: none.
    #[serde(default)]
    pub feeds: Vec<String>,
    /// Feeds carrying any of these tags are taken too. Default: none.
    #[serde(default)]
    pub feed_tags: Vec<String>,
    /// MISP attribute types. Default: every type.
    #[serde(default)]
    pub types: Vec<String>,
    /// 4 or 6: keep only addresses and networks of that IP version. Default: both.
    #[serde(default)]
    #[cfg_attr(feature = "schemars", schemars(extend("enum" = [4, 6, null])))]
    pub ip_version: Option<u8>,
    /// The decay model id, or `auto` for the model whose `attribute_types` hold the
    /// indicator's type (the first such model by id). Default: `auto`.
    #[serde(default = "default_model")]
    pub model: String,
    /// Keep indicators whose score is at least this. Default: the model's threshold, so that
    /// expired indicators are left out as MISP leaves them out.
    #[serde(default)]
    pub min_score: Option<f64>,
    /// Leave out addresses and networks that overlap special-purpose ranges (RFC 6890:
    /// private, loopback, link-local, shared, documentation, benchmarking, multicast and
    /// reserved space, in IPv4 and IPv6): a firewall that blocks them cuts off its own
    /// network. Default: `true`.
    #[serde(default = "default_true")]
    pub exclude_reserved: bool,
    /// Keep indicators that no model covers (they have no score). Default: `true`.
    #[serde(default = "default_true")]
    pub keep_unscored: bool,
    /// Ids of the warning lists (`warninglists.d/<id>.json`) whose matches are left out of
    /// the outputs. Default: every list in `warninglists.d/`; `[]` applies none.
    #[serde(default)]
    pub warninglists: Option<Vec<String>>,
}

// Written out rather than derived: a task without `[select]` must get the same defaults as
// one with an empty `[select]` (`model = "auto"`, `keep_unscored = true`).
impl Default for SelectConfig {
    fn default() -> Self {
        SelectConfig {
            feeds: Vec::new(),
            feed_tags: Vec::new(),
            types: Vec::new(),
            ip_version: None,
            model: default_model(),
            min_score: None,
            exclude_reserved: true,
            keep_unscored: true,
            warninglists: None,
        }
    }
}

fn default_model() -> String {
    "auto".to_owned()
}

const fn default_true() -> bool {
    true
}

/// One output file or folder of a task.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// The output format (see [`OutputFormat`]). Required.
    pub format: OutputFormat,
    /// Path inside the output folder: a folder for `misp-feed` and `suricata`, a file for
    /// every other format. Required.
    pub path: String,
    /// For `misp-feed`: the event's `info`. Default: the task's name.
    #[serde(default)]
    pub event_info: Option<String>,
    /// For `misp-feed`: the organisation that creates the event. Default: the project title.
    #[serde(default)]
    pub org_name: Option<String>,
    /// For `misp-feed`: `threat_level_id`, 1 (high) to 4 (undefined). Default: 4.
    #[serde(default)]
    #[cfg_attr(feature = "schemars", schemars(range(min = 1, max = 4)))]
    pub threat_level: Option<u8>,
    /// For `misp-feed`: the TLP tag put on the event. Default: `tlp:clear`.
    #[serde(default)]
    pub tlp: Option<String>,
    /// For `misp-feed`: how the selection is split into events (see [`EventMode`]).
    /// Default: `fixed`.
    #[serde(default)]
    pub events: Option<EventMode>,
    /// For `misp-feed`: days a value that left the selection stays in its event as a deleted
    /// attribute, so that a subscribing MISP, which never drops an attribute that merely goes
    /// missing, revokes it; 1 to 3650. Default: 7.
    #[serde(default)]
    #[cfg_attr(feature = "schemars", schemars(range(min = 1, max = 3650)))]
    pub retention_days: Option<u32>,
    /// For `misp-feed`: the event's `distribution`, 0 (your organisation only) to 3 (all
    /// communities); the attributes inherit it. A subscribing MISP keeps it only when its
    /// feed's distribution is 5 (inherit from feed). Default: none written.
    #[serde(default)]
    #[cfg_attr(feature = "schemars", schemars(range(max = 3)))]
    pub distribution: Option<u8>,
    /// For `rpz`: the zone's name (its origin, without the final dot), which every owner name
    /// is relative to and which counts toward the 253-byte limit of each name. Default:
    /// `<task id>.rpz`.
    #[serde(default)]
    pub zone: Option<String>,
    /// For `nftables` and `ipset`: the base name of the sets, which get `_v4` and `_v6`
    /// appended (and `_tmp` for the sets an `ipset` restore fills before swapping them in).
    /// A letter, then letters, digits and `_`, at most 24 characters. Default: the task id
    /// with every other character written as `_`.
    #[serde(default)]
    pub set_name: Option<String>,
    /// For `nftables`: the `inet` table that holds the sets. Same characters as `set_name`.
    /// Default: `feedsmith`.
    #[serde(default)]
    pub table: Option<String>,
    /// For `ipset`: each set's `maxelem`, the most elements it takes; a restore that adds
    /// more fails before the swap, leaving the live set as it was. Default: 65536.
    #[serde(default)]
    pub maxelem: Option<u32>,
    /// For `ipset`: each set's initial `hashsize`. Default: 1024.
    #[serde(default)]
    pub hashsize: Option<u32>,
    /// For `panos-edl` and `fortigate`: which indicators the list holds, since neither
    /// product takes mixed lists: `ip`, `domain`, `url`, or (`fortigate` only) `hash`.
    /// Default: `ip`.
    #[serde(default)]
    pub list: Option<ListType>,
    /// For `suricata`: the SID of the first of its five rules; the others follow it. Give
    /// each `suricata` output its own range. Default: 1000000 (the local-use range).
    #[serde(default)]
    pub sid: Option<u32>,
    /// For the blocklist formats: the most entries (lines, or blocks and names) the file may
    /// hold; over it, the lowest-ranked entries are cut (see `export::budget`). At least 1.
    /// Default: no limit.
    #[serde(default)]
    pub max_entries: Option<u64>,
    /// For the blocklist formats: the most bytes the whole file may take, header included;
    /// over it, the lowest-ranked entries are cut. More than the file takes with no entries.
    /// Default: no limit.
    #[serde(default)]
    pub max_bytes: Option<u64>,
    /// For `template`: the template's file name in the repository's `templates/outputs/`
    /// folder (`squid-acl.txt`, or a path below it: `mikrotik/blocklist.rsc`). Required with
    /// `format = "template"`.
    #[serde(default)]
    pub template: Option<String>,
    /// For `template`: the syntax every value is written into (see [`TemplateSyntax`]),
    /// which decides the values the output skips and how `{{ … }}` writes them. Required
    /// with `format = "template"`.
    #[serde(default)]
    pub syntax: Option<TemplateSyntax>,
}

impl OutputConfig {
    /// The attribute types the output can write, or `None` when it takes every type. A task
    /// whose types hold none of them gives the output no entry, ever.
    #[must_use]
    pub fn writable_types(&self) -> Option<&'static [AttrType]> {
        const IPS: &[AttrType] = &[AttrType::IpDst, AttrType::IpSrc];
        const NAMES: &[AttrType] = &[AttrType::Domain, AttrType::Hostname];
        const NAMES_AND_IPS: &[AttrType] =
            &[AttrType::Domain, AttrType::Hostname, AttrType::IpDst, AttrType::IpSrc];
        const HASHES: &[AttrType] = &[AttrType::Md5, AttrType::Sha1, AttrType::Sha256];
        match self.format {
            OutputFormat::CidrIpv4
            | OutputFormat::CidrIpv6
            | OutputFormat::Nftables
            | OutputFormat::Ipset => Some(IPS),
            OutputFormat::Hosts
            | OutputFormat::Dnsmasq
            | OutputFormat::Unbound
            | OutputFormat::Adblock => Some(NAMES),
            OutputFormat::Rpz | OutputFormat::Suricata => Some(NAMES_AND_IPS),
            OutputFormat::PanosEdl | OutputFormat::Fortigate => {
                match self.list.unwrap_or(ListType::Ip) {
                    ListType::Ip => Some(IPS),
                    ListType::Domain => Some(NAMES),
                    ListType::Url => Some(&[AttrType::Url]),
                    ListType::Hash => Some(HASHES),
                }
            }
            OutputFormat::Template => match self.syntax {
                Some(TemplateSyntax::Ip) => Some(IPS),
                Some(TemplateSyntax::Dns) => Some(NAMES),
                _ => None,
            },
            _ => None,
        }
    }
}

/// How a `misp-feed` output splits its selection into events.
#[derive(Clone, Copy, Debug, Default, Deserialize, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum EventMode {
    /// One event per output, which every build updates in place.
    #[default]
    Fixed,
    /// One event per day: each value goes into the event of the day it entered the output,
    /// and stays there while it is selected. A day's event leaves the feed once it holds
    /// nothing, not even a deleted attribute.
    Daily,
}

impl EventMode {
    /// The name used in definition files.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            EventMode::Fixed => "fixed",
            EventMode::Daily => "daily",
        }
    }
}

/// What a `panos-edl` or `fortigate` list holds.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum ListType {
    /// Addresses and networks, CIDR-aggregated.
    Ip,
    /// Domain and host names.
    Domain,
    /// URLs, without their `http://` or `https://` scheme.
    Url,
    /// File hashes (MD5, SHA-1, SHA-256); `fortigate` only.
    Hash,
}

impl ListType {
    /// The name used in definition files.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            ListType::Ip => "ip",
            ListType::Domain => "domain",
            ListType::Url => "url",
            ListType::Hash => "hash",
        }
    }
}

/// The syntax an output is written in.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "kebab-case")]
pub enum OutputFormat {
    /// One value per line, after a `#` header with build time, task name and count.
    Plain,
    /// A MISP feed folder: `manifest.json`, one event file and `hashes.csv`.
    MispFeed,
    /// IPv4 networks, adjacent and overlapping ones merged, allow-listed ranges taken out,
    /// one CIDR per line after a `#` header.
    CidrIpv4,
    /// The same for IPv6.
    CidrIpv6,
    /// A hosts file: `0.0.0.0 <name>` per domain or host name.
    Hosts,
    /// dnsmasq configuration: `local=/<name>/` per name (the name and its subdomains).
    Dnsmasq,
    /// An Unbound include file: `local-zone: "<name>." always_nxdomain` per name.
    Unbound,
    /// A BIND response policy zone: SOA, NS, `CNAME .` for each name and its subdomains,
    /// and `rpz-ip` triggers for addresses and networks.
    Rpz,
    /// An nftables script that defines, flushes and fills an IPv4 and an IPv6 interval set.
    Nftables,
    /// An `ipset restore` file that fills temporary `hash:net` sets and swaps them in.
    Ipset,
    /// A PAN-OS external dynamic list of one type (`list`).
    PanosEdl,
    /// A FortiGate external threat feed of one type (`list`).
    Fortigate,
    /// A Suricata folder: IP reputation categories and list, a domain dataset and the rules
    /// that use them.
    Suricata,
    /// A Zeek intelligence framework file (tab-separated).
    Zeek,
    /// Comma-separated values with a header: value, type, score, last seen, feeds, IDS flag.
    Csv,
    /// A JSON document: the task, the build time and every indicator with its metadata.
    Json,
    /// Adblock-style DNS filter rules (`||<name>^`), for Pi-hole and AdGuard Home.
    Adblock,
    /// A user-defined format: a minijinja template of `templates/outputs/` (`template`),
    /// its values checked against a declared `syntax`.
    Template,
}

impl OutputFormat {
    /// The name used in definition files.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Plain => "plain",
            OutputFormat::MispFeed => "misp-feed",
            OutputFormat::CidrIpv4 => "cidr-ipv4",
            OutputFormat::CidrIpv6 => "cidr-ipv6",
            OutputFormat::Hosts => "hosts",
            OutputFormat::Dnsmasq => "dnsmasq",
            OutputFormat::Unbound => "unbound",
            OutputFormat::Rpz => "rpz",
            OutputFormat::Nftables => "nftables",
            OutputFormat::Ipset => "ipset",
            OutputFormat::PanosEdl => "panos-edl",
            OutputFormat::Fortigate => "fortigate",
            OutputFormat::Suricata => "suricata",
            OutputFormat::Zeek => "zeek",
            OutputFormat::Csv => "csv",
            OutputFormat::Json => "json",
            OutputFormat::Adblock => "adblock",
            OutputFormat::Template => "template",
        }
    }

    /// Every format, in the order the README lists them.
    pub const ALL: &'static [OutputFormat] = &[
        OutputFormat::Plain,
        OutputFormat::MispFeed,
        OutputFormat::CidrIpv4,
        OutputFormat::CidrIpv6,
        OutputFormat::Hosts,
        OutputFormat::Dnsmasq,
        OutputFormat::Unbound,
        OutputFormat::Rpz,
        OutputFormat::Nftables,
        OutputFormat::Ipset,
        OutputFormat::PanosEdl,
        OutputFormat::Fortigate,
        OutputFormat::Suricata,
        OutputFormat::Zeek,
        OutputFormat::Csv,
        OutputFormat::Json,
        OutputFormat::Adblock,
        OutputFormat::Template,
    ];
}
