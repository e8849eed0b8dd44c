//! Warning lists: known-good values (public resolvers, special-use ranges, popular domains,
//! empty-file hashes) that must not reach a blocklist.
//!
//! A list is a MISP `list.json` file (`name`, `version`, `description`, `type`, `list`,
//! `matching_attributes`), read by [`WarningList::from_json`]. [`WarningList::matches`] tells
//! whether a canonical [`Indicator`] is on the list, the way MISP decides it
//! (`misp/warninglists.md` §3), with the repairs listed in `docs/misp-differences.md`:
//!
//! - A list applies to the attribute types in `matching_attributes`, or to every type when
//!   the key is missing or empty.
//! - A composite value (`domain|ip`, `ip-dst|port`, `filename|sha256`) is split at its first
//!   `|`, and it matches when either part does.
//! - `string`: an entry equals the value. `substring`: an entry occurs inside it. Both are
//!   case-sensitive, except for parts whose canonical form is lower-case (names, addresses,
//!   hex hashes), which are compared without case.
//! - `hostname`: the value's host, or a parent domain that owns it, is listed.
//! - `cidr`: the value is an address, or a network, inside the listed ranges. A network that
//!   merely holds a listed address is kept, as in MISP.
//! - `regex`: a PCRE-style pattern (`/^foo/i`) matches the value.
//!
//! Every structure is built once, for builds that check millions of indicators against lists
//! of tens of thousands of entries: hash sets for `string` and `hostname`, sorted merged
//! ranges for `cidr`, one Aho-Corasick automaton for `substring` and one `RegexSet` for
//! `regex`.
//!
//! ```
//! use feedsmith::filter::WarningList;
//! use feedsmith::indicator::{AttrType, Indicator};
//! let list = WarningList::from_json(r#"{
//!     "name": "Resolvers", "version": 1, "description": "", "type": "cidr",
//!     "matching_attributes": ["ip-dst", "ip-dst|port"], "list": ["8.8.8.8", "1.1.1.0/24"]
//! }"#).unwrap();
//! assert!(list.matches(&Indicator::new(AttrType::IpDst, "1.1.1.1")));
//! assert!(list.matches(&Indicator::new(AttrType::IpDstPort, "8.8.8.8|53")));
//! assert!(!list.matches(&Indicator::new(AttrType::IpSrc, "8.8.8.8")));
//! ```
//!
//! # Architecture
//! - `host`: host extraction and the walk up parent domains; `cidr` lists are
//!   [`AddressSet`]s of the indicator floor.

mod host;

use std::borrow::Cow;
use std::cell::OnceCell;
use std::collections::HashSet;
use std::fmt;

use aho_corasick::AhoCorasick;
use ipnet::IpNet;
use regex::RegexSet;
use serde::Deserialize;

use crate::indicator::{AddressSet, AttrType, Indicator, parse_net};
use crate::text::regex_reason;

use host::{HostChain, Hosts};

pub use host::host_of_url;

/// How a list's entries are compared with a value (MISP's `type`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase", deny_unknown_fields)]
pub enum ListKind {
    /// The value equals an entry.
    String,
    /// An entry occurs inside the value.
    Substring,
    /// The value's host, or a parent domain that owns it, is an entry.
    Hostname,
    /// The value is an address or network inside the listed ranges.
    Cidr,
    /// An entry, a regular expression, matches the value.
    Regex,
}

impl ListKind {
    /// The name used in list files.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            ListKind::String => "string",
            ListKind::Substring => "substring",
            ListKind::Hostname => "hostname",
            ListKind::Cidr => "cidr",
            ListKind::Regex => "regex",
        }
    }
}

/// Why a list file cannot be used.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ListError {
    /// The text is not JSON, or a key is missing, unknown or holds the wrong type of value.
    #[error("{message}")]
    Json {
        /// 1-based line of the problem (0 when the parser gives none).
        line: usize,
        /// 1-based column of the problem (0 when the parser gives none).
        column: usize,
        /// What is wrong, without the position.
        message: String,
    },
    /// A key holds a value the list cannot use.
    #[error("{message}")]
    Key {
        /// The key (`name`).
        key: &'static str,
        /// What is wrong.
        message: String,
    },
    /// An entry of `list` that the list's type cannot use.
    #[error("`{entry}` {reason}")]
    Entry {
        /// 0-based index into `list`.
        index: usize,
        /// The entry, as a message shows it (control characters escaped, long ones cut).
        entry: String,
        /// What is wrong with it.
        reason: String,
    },
}

/// A list file as written; [`ListFile`] keys follow MISP's `schema.json`.
#[derive(Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub(crate) struct ListFile {
    /// Display name. Required.
    name: String,
    /// Version; MISP's generated lists use `YYYYMMDD`. Default: 1, as in MISP.
    #[serde(default = "default_version")]
    version: u64,
    /// What the list holds. Default: empty.
    #[serde(default)]
    description: String,
    /// How entries are compared. Required.
    #[serde(rename = "type")]
    kind: ListKind,
    /// The entries. Required; empty entries are skipped, as MISP skips them.
    list: Vec<String>,
    /// MISP attribute types the list applies to. Default: every type.
    #[serde(default)]
    matching_attributes: Vec<String>,
}

const fn default_version() -> u64 {
    1
}

/// A loaded warning list, ready to match.
#[derive(Clone)]
pub struct WarningList {
    name: String,
    version: u64,
    description: String,
    kind: ListKind,
    /// The types the list applies to, as bits by [`type_bit`]; `None` for every type.
    types: Option<u128>,
    /// `matching_attributes` as written, types feedsmith does not know included.
    matching_attributes: Vec<String>,
    /// Entries kept (non-empty, distinct).
    entries: usize,
    matcher: Matcher,
}

/// The structure that answers a list's look-ups.
#[derive(Clone)]
enum Matcher {
    String(Strings),
    Substring(Substrings),
    Hostname(Hosts),
    Cidr(AddressSet),
    Regex(RegexSet),
}

/// Entries as written, and lower-cased when some of them are not.
#[derive(Clone, Default)]
struct Strings {
    exact: HashSet<Box<str>>,
    folded: Option<HashSet<Box<str>>>,
}

/// One automaton over the entries as written, and one over their lower-cased forms when some
/// of them are not lower-case.
#[derive(Clone)]
struct Substrings {
    exact: AhoCorasick,
    folded: Option<AhoCorasick>,
}

impl fmt::Debug for WarningList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WarningList")
            .field("name", &self.name)
            .field("version", &self.version)
            .field("kind", &self.kind)
            .field("matching_attributes", &self.matching_attributes)
            .field("entries", &self.entries)
            .finish_non_exhaustive()
    }
}

/// The bit of a type in [`WarningList::types`].
fn type_bit(kind: AttrType) -> u128 {
    1u128 << (kind as u32)
}

/// The longest entry a message quotes, in characters.
const SHOWN_ENTRY_CHARS: usize = 80;

/// An entry as a message shows it: control characters escaped, long entries cut.
fn shown(entry: &str) -> String {
    crate::text::shown(entry, SHOWN_ENTRY_CHARS)
}

impl WarningList {
    /// Reads a MISP `list.json` text and builds its look-up structure.
    ///
    /// `name`, `type` and `list` are required; `version` defaults to 1 and `description` to
    /// empty, as in MISP; any other key is an error, as in MISP's `schema.json`. Empty entries
    /// are skipped. A `cidr` entry that is not an address or network, or a `regex` entry that
    /// does not compile, is an error naming the entry.
    pub fn from_json(text: &str) -> Result<WarningList, ListError> {
        let file: ListFile = serde_json::from_str(text).map_err(|err| {
            let message = err.to_string();
            let suffix = format!(" at line {} column {}", err.line(), err.column());
            let message = message.strip_suffix(&suffix).unwrap_or(&message).to_owned();
            ListError::Json { line: err.line(), column: err.column(), message }
        })?;
        WarningList::from_file(file)
    }

    fn from_file(file: ListFile) -> Result<WarningList, ListError> {
        if file.name.trim().is_empty() {
            return Err(ListError::Key { key: "name", message: "must not be empty".to_owned() });
        }
        let types = if file.matching_attributes.is_empty() {
            None
        } else {
            Some(
                file.matching_attributes
                    .iter()
                    .filter_map(|name| AttrType::from_name(name))
                    .fold(0, |bits, kind| bits | type_bit(kind)),
            )
        };
        let entries = || file.list.iter().enumerate().filter(|(_, e)| !e.trim().is_empty());
        let bad = |index: usize, entry: &str, reason: String| ListError::Entry {
            index,
            entry: shown(entry),
            reason,
        };
        let matcher = match file.kind {
            ListKind::String => {
                let exact: HashSet<Box<str>> = entries().map(|(_, e)| e.as_str().into()).collect();
                let folded = exact
                    .iter()
                    .any(|e| e.chars().any(char::is_uppercase))
                    .then(|| exact.iter().map(|e| e.to_lowercase().into()).collect());
                Matcher::String(Strings { exact, folded })
            }
            ListKind::Substring => {
                let patterns: Vec<&str> = entries().map(|(_, e)| e.as_str()).collect();
                let build = |patterns: &[String]| {
                    AhoCorasick::new(patterns).map_err(|err| ListError::Key {
                        key: "list",
                        message: format!("the entries cannot be compiled: {err}"),
                    })
                };
                let exact: Vec<String> = patterns.iter().map(|&p| p.to_owned()).collect();
                let folded = if patterns.iter().any(|p| p.chars().any(char::is_uppercase)) {
                    let lower: Vec<String> = patterns.iter().map(|p| p.to_lowercase()).collect();
                    Some(build(&lower)?)
                } else {
                    None
                };
                Matcher::Substring(Substrings { exact: build(&exact)?, folded })
            }
            ListKind::Hostname => {
                let mut hosts = Hosts::default();
                for (_, entry) in entries() {
                    hosts.insert(entry);
                }
                Matcher::Hostname(hosts)
            }
            ListKind::Cidr => {
                let mut nets = Vec::with_capacity(file.list.len());
                for (index, entry) in entries() {
                    let net = parse_net(entry).ok_or_else(|| {
                        bad(index, entry, "is not an IPv4 or IPv6 address or network".to_owned())
                    })?;
                    nets.push(net);
                }
                Matcher::Cidr(AddressSet::from_nets(&nets))
            }
            ListKind::Regex => {
                let mut patterns = Vec::with_capacity(file.list.len());
                for (index, entry) in entries() {
                    let pattern =
                        crate::text::php_pattern(entry).map_err(|why| bad(index, entry, why))?;
                    regex::Regex::new(&pattern).map_err(|err| {
                        bad(
                            index,
                            entry,
                            format!("is not a valid regular expression: {}", regex_reason(&err)),
                        )
                    })?;
                    patterns.push(pattern);
                }
                let set = RegexSet::new(&patterns).map_err(|err| ListError::Key {
                    key: "list",
                    message: format!("the expressions cannot be compiled together: {err}"),
                })?;
                Matcher::Regex(set)
            }
        };
        let entries = match &matcher {
            Matcher::String(strings) => strings.exact.len(),
            Matcher::Hostname(hosts) => hosts.len(),
            _ => entries().count(),
        };
        Ok(WarningList {
            name: file.name,
            version: file.version,
            description: file.description,
            kind: file.kind,
            types,
            matching_attributes: file.matching_attributes,
            entries,
            matcher,
        })
    }

    /// The list's display name.
    #[must_use]
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The list's version.
    #[must_use]
    pub fn version(&self) -> u64 {
        self.version
    }

    /// What the list holds.
    #[must_use]
    pub fn description(&self) -> &str {
        &self.description
    }

    /// How entries are compared.
    #[must_use]
    pub fn kind(&self) -> ListKind {
        self.kind
    }

    /// `matching_attributes` as written (empty: every type).
    #[must_use]
    pub fn matching_attributes(&self) -> &[String] {
        &self.matching_attributes
    }

    /// `matching_attributes` names that are not attribute types feedsmith knows.
    pub fn unknown_attributes(&self) -> impl Iterator<Item = &str> {
        self.matching_attributes
            .iter()
            .map(String::as_str)
            .filter(|name| AttrType::from_name(name).is_none())
    }

    /// The number of distinct entries kept.
    #[must_use]
    pub fn len(&self) -> usize {
        self.entries
    }

    /// Whether the list kept no entry.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// The ranges of a `cidr` list; `None` for a list of another type. The aggregated IP
    /// blocklists take them out of the networks they write, so that a listed network that
    /// merely holds an allow-listed address (which the list does not match) is cut around it.
    #[must_use]
    pub fn ranges(&self) -> Option<&AddressSet> {
        match &self.matcher {
            Matcher::Cidr(ranges) => Some(ranges),
            _ => None,
        }
    }

    /// Whether the list is consulted for indicators of this type.
    #[must_use]
    pub fn applies_to(&self, kind: AttrType) -> bool {
        self.types.is_none_or(|bits| bits & type_bit(kind) != 0)
    }

    /// Whether the indicator is on the list: its type is one the list applies to, and its
    /// value, or one part of a composite value, matches an entry.
    #[must_use]
    pub fn matches(&self, indicator: &Indicator) -> bool {
        self.matches_subject(&Subject::new(indicator))
    }

    /// [`WarningList::matches`] for an indicator prepared once for many lists.
    #[must_use]
    pub fn matches_subject(&self, subject: &Subject<'_>) -> bool {
        if !self.applies_to(subject.kind) {
            return false;
        }
        subject.parts.iter().flatten().any(|part| self.matches_part(part))
    }

    fn matches_part(&self, part: &Part<'_>) -> bool {
        match &self.matcher {
            Matcher::String(strings) => {
                if part.role.folds() {
                    let value = part.lower();
                    strings.folded.as_ref().unwrap_or(&strings.exact).contains(value)
                } else {
                    strings.exact.contains(part.text)
                }
            }
            Matcher::Substring(substrings) => {
                if part.role.folds() {
                    let value = part.lower();
                    substrings.folded.as_ref().unwrap_or(&substrings.exact).is_match(value)
                } else {
                    substrings.exact.is_match(part.text)
                }
            }
            Matcher::Hostname(hosts) => hosts.contains_chain(part.host_chain()),
            Matcher::Cidr(ranges) => part.net().is_some_and(|net| ranges.contains(net)),
            Matcher::Regex(set) => set.is_match(part.text),
        }
    }
}

/// An indicator prepared for matching against many lists: split into its parts, each read
/// (lower-cased, parsed as an address, its host and parent domains found) at most once.
///
/// ```
/// use feedsmith::filter::{Subject, WarningList};
/// use feedsmith::indicator::{AttrType, Indicator};
/// let list = WarningList::from_json(
///     r#"{"name": "Top", "type": "hostname", "list": ["example.org"]}"#,
/// ).unwrap();
/// let indicator = Indicator::new(AttrType::Url, "https://www.example.org/login");
/// assert!(list.matches_subject(&Subject::new(&indicator)));
/// ```
#[derive(Debug)]
pub struct Subject<'a> {
    kind: AttrType,
    parts: [Option<Part<'a>>; 2],
}

impl<'a> Subject<'a> {
    /// Splits the indicator into the parts MISP checks: the whole value, or for a composite
    /// type both sides of the first `|`.
    #[must_use]
    pub fn new(indicator: &'a Indicator) -> Subject<'a> {
        let (first, second) = roles(indicator.kind);
        let value = &*indicator.value;
        let parts = match (indicator.kind.is_composite(), value.split_once('|')) {
            (true, Some((left, right))) => {
                [Some(Part::new(left, first)), Some(Part::new(right, second))]
            }
            _ => [Some(Part::new(value, first)), None],
        };
        Subject { kind: indicator.kind, parts }
    }
}

/// What one part of a value is, which decides case folding and host extraction.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Role {
    /// An address or network (canonical form: lower-case hex for IPv6).
    Ip,
    /// A domain or host name (canonical form: lower-case).
    Host,
    /// A URL or URI (case matters after the host).
    Url,
    /// A hex hash (canonical form: lower-case).
    Hash,
    /// Anything else: a port, a file name, free text, an `ssdeep` hash.
    Other,
}

impl Role {
    /// Whether the part's canonical form is lower-case, so that case carries no meaning.
    const fn folds(self) -> bool {
        matches!(self, Role::Ip | Role::Host | Role::Hash)
    }
}

/// One part of a value with its role, and what the lists' look-ups read from it, each
/// worked out on first use.
#[derive(Debug)]
struct Part<'a> {
    text: &'a str,
    role: Role,
    lower: OnceCell<Cow<'a, str>>,
    net: OnceCell<Option<IpNet>>,
    hosts: OnceCell<HostChain<'a>>,
}

impl<'a> Part<'a> {
    fn new(text: &'a str, role: Role) -> Part<'a> {
        Part { text, role, lower: OnceCell::new(), net: OnceCell::new(), hosts: OnceCell::new() }
    }

    /// The text, lower-cased.
    fn lower(&self) -> &str {
        self.lower.get_or_init(|| lower(self.text))
    }

    /// The text as an address or network.
    fn net(&self) -> Option<&IpNet> {
        self.net.get_or_init(|| parse_net(self.text)).as_ref()
    }

    /// The host the text names and its parent domains.
    fn host_chain(&self) -> &HostChain<'a> {
        self.hosts.get_or_init(|| {
            let host = match self.role {
                Role::Url => host::host_of_url(self.text),
                _ => host::host_of_text(self.text),
            };
            HostChain::new(host)
        })
    }
}

/// The roles of the parts of a type's values (the second is used by composite types only).
fn roles(kind: AttrType) -> (Role, Role) {
    match kind {
        AttrType::IpSrc | AttrType::IpDst | AttrType::IpSrcPort | AttrType::IpDstPort => {
            (Role::Ip, Role::Other)
        }
        AttrType::Domain | AttrType::Hostname | AttrType::HostnamePort => (Role::Host, Role::Other),
        AttrType::DomainIp => (Role::Host, Role::Ip),
        AttrType::Url | AttrType::Uri | AttrType::Link => (Role::Url, Role::Other),
        AttrType::Md5
        | AttrType::Sha1
        | AttrType::Sha224
        | AttrType::Sha256
        | AttrType::Sha384
        | AttrType::Sha512
        | AttrType::Imphash
        | AttrType::Tlsh
        | AttrType::JarmFingerprint
        | AttrType::Ja3FingerprintMd5
        | AttrType::X509FingerprintSha1
        | AttrType::X509FingerprintSha256 => (Role::Hash, Role::Other),
        AttrType::FilenameMd5
        | AttrType::FilenameSha1
        | AttrType::FilenameSha224
        | AttrType::FilenameSha256
        | AttrType::FilenameSha384
        | AttrType::FilenameSha512 => (Role::Other, Role::Hash),
        _ => (Role::Other, Role::Other),
    }
}

fn lower(text: &str) -> Cow<'_, str> {
    if text.chars().any(char::is_uppercase) {
        Cow::Owned(text.to_lowercase())
    } else {
        Cow::Borrowed(text)
    }
}

#[cfg(test)]
mod tests;
