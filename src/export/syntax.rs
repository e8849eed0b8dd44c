//! The checks every blocklist writer shares: is this value safe in this syntax, and if not,
//! why. A value that fails is skipped and counted under its reason, never written.
//!
//! Indicators arrive in canonical form (lower-case punycode names, compressed addresses), so
//! most values pass. The checks still run on every value, because a canonical form is what
//! the parsers promise, not what a consumer can rely on: one line with a `"` breaks an
//! Unbound include, one with a `;` or a `$ORIGIN` rewrites a zone file, one with a newline
//! adds a rule of the feed's choosing.

use std::collections::{BTreeMap, HashSet};

use ipnet::IpNet;

use super::Entry;
use crate::indicator::{AttrType, Family, parse_net};

/// The longest DNS name in text form, without its final dot: 255 octets on the wire are 253
/// characters of labels and dots (RFC 1035 §2.3.4, RFC 2181 §11).
pub(crate) const MAX_NAME: usize = 253;

/// The longest label (RFC 1035 §2.3.4).
const MAX_LABEL: usize = 63;

/// Values left out of one output, by reason, and which ones.
#[derive(Clone, Debug, Default)]
pub(crate) struct Skips {
    counts: BTreeMap<&'static str, u64>,
    /// The keys ([`super::value_key`]) of the values the output does not hold, for the
    /// look-up index's "outputs that hold it".
    values: HashSet<u64, foldhash::fast::RandomState>,
}

impl Skips {
    /// Counts `value` left out for `reason`: the output does not hold it.
    pub(crate) fn add(&mut self, reason: &'static str, value: &str) {
        *self.counts.entry(reason).or_default() += 1;
        self.values.insert(super::value_key(value));
    }

    /// Counts a value not written as a line of its own for `reason`, although the output
    /// still holds it (a name that its listed parent covers).
    pub(crate) fn add_held(&mut self, reason: &'static str) {
        *self.counts.entry(reason).or_default() += 1;
    }

    /// How many values were left out.
    pub(crate) fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    /// The counts by reason, for the report.
    pub(crate) fn by_reason(&self) -> BTreeMap<String, u64> {
        self.counts.iter().map(|(reason, count)| ((*reason).to_owned(), *count)).collect()
    }

    /// The keys of the values left out.
    pub(crate) fn values(&self) -> &HashSet<u64, foldhash::fast::RandomState> {
        &self.values
    }
}

/// What a DNS-name syntax accepts beyond letters, digits and inner hyphens.
#[derive(Clone, Copy, Debug)]
pub(crate) struct NameRules {
    /// `_` in labels (service labels, and names resolvers answer for in practice).
    pub(crate) underscore: bool,
    /// Bytes the format appends to the name (for a zone, `.` and its origin), which count
    /// toward the 253-byte limit.
    pub(crate) suffix: usize,
}

impl NameRules {
    /// Letters, digits, hyphens and underscores, nothing appended.
    pub(crate) const RESOLVER: NameRules = NameRules { underscore: true, suffix: 0 };
    /// Letters, digits and hyphens only (RFC 952 host names, as hosts files hold them).
    pub(crate) const HOST: NameRules = NameRules { underscore: false, suffix: 0 };
}

/// Whether `name` can be written as a DNS name under `rules`; the reason when not.
///
/// A name must be ASCII letters, digits, hyphens (not at either end of a label) and, where
/// the rules allow, underscores; labels of 1 to 63 bytes; at most 253 bytes with the suffix;
/// at least two labels, because a single label (`com`, `localhost`) would block a whole
/// top-level domain in every format that covers subdomains; and a last label that is not all
/// digits, so that no name reads as an address.
pub(crate) fn check_name(name: &str, rules: NameRules) -> Result<(), &'static str> {
    if name.is_empty() {
        return Err("empty_name");
    }
    let allowed = |b: u8| b.is_ascii_alphanumeric() || b == b'-' || (rules.underscore && b == b'_');
    if !name.bytes().all(|b| allowed(b) || b == b'.') {
        return Err("invalid_character");
    }
    let mut labels = 0;
    for label in name.split('.') {
        labels += 1;
        if label.is_empty() {
            return Err("empty_label");
        }
        if label.len() > MAX_LABEL {
            return Err("label_too_long");
        }
        if label.starts_with('-') || label.ends_with('-') {
            return Err("hyphen_at_label_edge");
        }
    }
    if name.len() + rules.suffix > MAX_NAME {
        return Err("name_too_long");
    }
    if labels < 2 {
        return Err("single_label");
    }
    if name.rsplit('.').next().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit())) {
        return Err("numeric_tld");
    }
    Ok(())
}

/// Whether a value can stand as one field of a line: not empty, no white space, no control
/// character, no quote, and not starting with `#` (a comment in most of these formats).
pub(crate) fn check_token(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        return Err("empty_value");
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("white_space_or_control");
    }
    if value.contains(['"', '\'', '\\']) {
        return Err("quote_or_backslash");
    }
    if value.starts_with('#') {
        return Err("starts_with_hash");
    }
    Ok(())
}

/// Whether a value can stand on a line of its own, as `plain` writes it: not empty, no white
/// space or control character (no line break, tab or Unicode line separator), and not
/// starting with `#`, which line-based readers take for a comment.
pub(crate) fn check_line(value: &str) -> Result<(), &'static str> {
    if value.is_empty() {
        return Err("empty_value");
    }
    if value.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Err("white_space_or_control");
    }
    if value.starts_with('#') {
        return Err("starts_with_hash");
    }
    Ok(())
}

/// The name of a domain or host name entry, or the reason the entry holds none.
pub(crate) fn entry_name<'e>(entry: &'e Entry<'_>) -> Result<&'e str, &'static str> {
    match entry.indicator.kind {
        AttrType::Domain | AttrType::Hostname => Ok(&entry.indicator.value),
        AttrType::HostnamePort | AttrType::DomainIp => Err("composite_value"),
        _ => Err("unsupported_type"),
    }
}

/// The network of an address or network entry, or the reason the entry holds none.
pub(crate) fn entry_net(entry: &Entry<'_>) -> Result<IpNet, &'static str> {
    match entry.indicator.kind {
        AttrType::IpDst | AttrType::IpSrc => {
            // `parse_net` trims; a value with white space around it is not canonical.
            value_net(&entry.indicator.value).ok_or("not_an_address")
        }
        AttrType::IpDstPort | AttrType::IpSrcPort => Err("composite_value"),
        _ => Err("unsupported_type"),
    }
}

/// The address or network an `ip-dst` or `ip-src` value writes; `None` for text that is
/// none, or that has white space around it (not a canonical value).
pub(crate) fn value_net(value: &str) -> Option<IpNet> {
    // Most values are IPv4 in the classifier's form, read without `std`'s parser.
    if let Some((first, last)) = crate::indicator::canonical_v4(value.as_bytes()) {
        let prefix = (last - first).leading_zeros();
        #[expect(clippy::cast_possible_truncation, reason = "a prefix is at most 32")]
        return Some(IpNet::V4(ipnet::Ipv4Net::new_assert(first.into(), prefix as u8)));
    }
    // `parse_net` trims; a value with white space around it is not canonical.
    if value.starts_with(char::is_whitespace) || value.ends_with(char::is_whitespace) {
        return None;
    }
    parse_net(value)
}

/// A URL without its `http://` or `https://` scheme, as PAN-OS, FortiGate and Zeek match
/// them; the reason when it has another scheme or cannot stand on a line.
pub(crate) fn url_without_scheme<'e>(entry: &'e Entry<'_>) -> Result<&'e str, &'static str> {
    if entry.indicator.kind.family() != Family::Url {
        return Err("unsupported_type");
    }
    let value = &*entry.indicator.value;
    let lower = value.get(..8).unwrap_or(value).to_ascii_lowercase();
    let rest = if lower.starts_with("http://") {
        &value[7..]
    } else if lower.starts_with("https://") {
        &value[8..]
    } else {
        return Err("url_scheme");
    };
    check_token(rest)?;
    Ok(rest)
}

/// Definition text (a task name) made safe for a one-line comment: control characters and
/// the Unicode line and paragraph separators become spaces.
pub(crate) fn comment_text(text: &str) -> String {
    crate::config::template::one_line(text)
}

/// An identifier for a consumer's name space (a set, a dataset, a category) made from a
/// task id: ASCII letters, digits and `_`, every other character written as `_`, starting
/// with a letter (`s` is put in front otherwise), at most `max` bytes.
pub(crate) fn identifier(text: &str, max: usize) -> String {
    let mut out: String =
        text.chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect();
    if !out.starts_with(|c: char| c.is_ascii_alphabetic()) {
        out.insert(0, 's');
    }
    out.truncate(max);
    out
}

/// A host network is written as its bare address (`192.0.2.1`), any other with its prefix.
pub(crate) fn net_text(net: &IpNet) -> String {
    crate::indicator::net_text(net).into_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(text: &str) -> Result<(), &'static str> {
        check_name(text, NameRules::RESOLVER)
    }

    #[test]
    fn ordinary_names_pass() {
        assert_eq!(name("bad.example"), Ok(()));
        assert_eq!(name("xn--bcher-kva.example"), Ok(()));
        assert_eq!(name("_dmarc.bad.example"), Ok(()));
        assert_eq!(name("a-b.c9.example"), Ok(()));
    }

    #[test]
    fn hostile_characters_are_refused() {
        for hostile in [
            "bad.example\nevil.example",
            "bad.example;",
            "bad\".example",
            "bad'.example",
            "bad example.com",
            "$ORIGIN.example",
            "<script>.example",
            "bad.example/",
            "b\u{e4}d.example",
            "*.bad.example",
        ] {
            assert_eq!(name(hostile), Err("invalid_character"), "{hostile:?}");
        }
        assert_eq!(check_name("_x.example", NameRules::HOST), Err("invalid_character"));
    }

    #[test]
    fn label_and_name_lengths_follow_rfc_1035() {
        let label63 = "a".repeat(63);
        let label64 = "a".repeat(64);
        assert_eq!(name(&format!("{label63}.example")), Ok(()));
        assert_eq!(name(&format!("{label64}.example")), Err("label_too_long"));
        // 4 × 63 + 3 dots = 255 bytes; cut to 253 with a 61-byte first label.
        let at_limit = format!("{}.{label63}.{label63}.{label63}", "a".repeat(61));
        assert_eq!(at_limit.len(), 253);
        assert_eq!(name(&at_limit), Ok(()));
        assert_eq!(name(&format!("a{at_limit}")), Err("name_too_long"));
        let with_origin = NameRules { underscore: true, suffix: 1 };
        assert_eq!(check_name(&at_limit, with_origin), Err("name_too_long"));
    }

    #[test]
    fn empty_labels_edges_and_single_labels_are_refused() {
        assert_eq!(name(""), Err("empty_name"));
        assert_eq!(name("bad..example"), Err("empty_label"));
        assert_eq!(name("bad.example."), Err("empty_label"));
        assert_eq!(name("-bad.example"), Err("hyphen_at_label_edge"));
        assert_eq!(name("bad-.example"), Err("hyphen_at_label_edge"));
        assert_eq!(name("com"), Err("single_label"));
        assert_eq!(name("localhost"), Err("single_label"));
        assert_eq!(name("192.0.2.1"), Err("numeric_tld"));
    }

    #[test]
    fn comment_text_stays_on_one_line() {
        // Line feed, carriage return, NEL (U+0085), and the Unicode line and paragraph
        // separators, at which JavaScript and Python's `splitlines` break a line.
        assert_eq!(comment_text("a\nb\rc\u{85}d\u{2028}e\u{2029}f"), "a b c d e f");
        assert_eq!(comment_text("Bl\u{e4}ck <list>"), "Bl\u{e4}ck <list>");
    }

    #[test]
    fn identifiers_keep_to_letters_digits_and_underscores() {
        assert_eq!(identifier("ipv4-blocklist", 24), "ipv4_blocklist");
        assert_eq!(identifier("4all", 24), "s4all");
        assert_eq!(identifier("a\"b;c d", 24), "a_b_c_d");
        assert_eq!(identifier(&"x".repeat(40), 24).len(), 24);
    }
}
