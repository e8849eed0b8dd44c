//! Indicators and their canonical forms.
//!
//! This module knows nothing about feeds, files or builds. It answers two questions about a
//! string taken from a feed:
//!
//! - [`classify`]: what MISP attribute type is this text, and what is its canonical value? This
//!   is MISP's free-text type detection (`ComplexTypeTool`), with the improvements listed in
//!   `docs/misp-differences.md`.
//! - [`normalize`]: the type is already known (a MISP feed attribute, a typed CSV column); check
//!   the value and bring it to the form MISP stores.
//!
//! Both return either a [`Classified`] value with the warnings raised on the way, or the
//! [`RejectReason`] that says why the text is not an indicator. Callers count both.
//!
//! ```
//! use feedsmith::indicator::{classify, AttrType, Options, Warning};
//! let c = classify("198.051.100.007:8080", &Options::default()).unwrap();
//! assert_eq!(c.indicator.kind, AttrType::IpDstPort);
//! assert_eq!(&*c.indicator.value, "198.51.100.7|8080");
//! assert!(c.warnings.contains(Warning::ZeroPadded));
//! ```
//!
//! Link-local, private, reserved and other special ranges are valid indicators here; the
//! warning lists of the `filter` stage decide whether they are published.
//!
//! # Architecture
//! - `types`: the table of MISP attribute types.
//! - `refang`: undoing defanged spellings (`hxxp`, `[.]`, …).
//! - `classify`: the rule order of MISP's detection, and [`normalize`] for known types.
//! - `ip`, `domain`, `url`, `hash`: canonical forms per family; `other` for e-mail, CVE,
//!   phone, AS and bitcoin values.
//! - `tld`: the set of top-level domains that decides domain versus file name.
//! - `suffix`: public suffixes (`co.uk`, `duckdns.org`), under which names belong to others.

mod classify;
mod domain;
mod hash;
mod ip;
mod other;
mod ranges;
mod refang;
mod suffix;
mod tld;
mod types;
mod url;

pub use classify::{MAX_VALUE_LEN, classify, normalize};
pub use ip::{canonical_v4, net_text};
pub use ranges::{AddressSet, parse_net};
pub use refang::refang;
pub use suffix::is_public_suffix;
pub use tld::is_tld;
pub use types::{AttrType, Family};

use std::fmt;

use serde::Serialize;

/// One typed, canonical indicator value.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Indicator {
    /// The MISP attribute type.
    pub kind: AttrType,
    /// The canonical value, exactly as MISP stores it.
    pub value: Box<str>,
}

impl Indicator {
    /// The indicator as a selection of `types` takes it: itself when `types` is empty or
    /// holds its type; the address or name of a `…|port` value when `types` holds the plain
    /// type but not the `|port` one (`ip-dst` takes the address of an `ip-dst|port`); else
    /// `None`.
    #[must_use]
    pub fn as_one_of(&self, types: &[AttrType]) -> Option<std::borrow::Cow<'_, Indicator>> {
        use std::borrow::Cow;
        if types.is_empty() || types.contains(&self.kind) {
            return Some(Cow::Borrowed(self));
        }
        let plain = match self.kind {
            AttrType::IpDstPort => AttrType::IpDst,
            AttrType::IpSrcPort => AttrType::IpSrc,
            AttrType::HostnamePort => AttrType::Hostname,
            _ => return None,
        };
        if !types.contains(&plain) {
            return None;
        }
        // A canonical `…|port` value holds one `|`, and what stands before it is canonical.
        let (host, _port) = self.value.rsplit_once('|')?;
        Some(Cow::Owned(Indicator::new(plain, host)))
    }

    /// Builds an indicator from a type and an already canonical value.
    #[must_use]
    pub fn new(kind: AttrType, value: impl Into<Box<str>>) -> Indicator {
        Indicator { kind, value: value.into() }
    }
}

impl fmt::Display for Indicator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.kind, self.value)
    }
}

/// Why a piece of feed text is not accepted as an indicator.
///
/// Every variant has a stable `snake_case` code ([`RejectReason::code`]) used in the build
/// report and on the site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum RejectReason {
    /// No indicator type matches the text.
    Unrecognized,
    /// The text is not valid UTF-8.
    NonUtf8,
    /// The text is longer than any indicator may be.
    TooLong,
    /// An address or network that does not parse.
    InvalidIp,
    /// An IPv4 prefix shorter than /8 or an IPv6 prefix shorter than /16.
    PrefixTooShort,
    /// A zero-padded IPv4 octet, in strict mode.
    ZeroPadded,
    /// An IPv6 address with a zone index (`%eth0`).
    ZoneIndex,
    /// A port outside 1..=65535.
    PortOutOfRange,
    /// A host name with an empty label (`a..b`, or two trailing dots).
    EmptyLabel,
    /// A host name that is only the root (`.`).
    RootOnly,
    /// A label longer than 63 bytes or a name longer than 253 bytes.
    NameTooLong,
    /// A host name whose characters are not allowed, or that IDNA refuses.
    InvalidHostname,
    /// A URL whose scheme feedsmith does not know (`meow://`).
    UnknownScheme,
    /// A URL that does not parse.
    InvalidUrl,
    /// A hash with the wrong length or non-hex digits for its type.
    InvalidHash,
    /// An e-mail address that does not parse.
    InvalidEmail,
    /// A value with a `…` or other sign of truncation.
    Truncated,
    /// A MISP attribute type that feedsmith does not export.
    UnsupportedType,
    /// A value of a known type that fails the type's format check.
    InvalidValue,
    /// An invisible character (zero-width space, soft hyphen, bidirectional override).
    HiddenCharacter,
    /// A MISP event file that cannot be read; its attributes are not taken.
    InvalidEvent,
    /// A MISP manifest key that is not a UUID; its event is not requested.
    InvalidEventUuid,
}

impl RejectReason {
    /// The stable code of the reason, as written in reports.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            RejectReason::Unrecognized => "unrecognized",
            RejectReason::NonUtf8 => "non_utf8",
            RejectReason::TooLong => "too_long",
            RejectReason::InvalidIp => "invalid_ip",
            RejectReason::PrefixTooShort => "prefix_too_short",
            RejectReason::ZeroPadded => "zero_padded",
            RejectReason::ZoneIndex => "zone_index",
            RejectReason::PortOutOfRange => "port_out_of_range",
            RejectReason::EmptyLabel => "empty_label",
            RejectReason::RootOnly => "root_only",
            RejectReason::NameTooLong => "name_too_long",
            RejectReason::InvalidHostname => "invalid_hostname",
            RejectReason::UnknownScheme => "unknown_scheme",
            RejectReason::InvalidUrl => "invalid_url",
            RejectReason::InvalidHash => "invalid_hash",
            RejectReason::InvalidEmail => "invalid_email",
            RejectReason::Truncated => "truncated",
            RejectReason::UnsupportedType => "unsupported_type",
            RejectReason::InvalidValue => "invalid_value",
            RejectReason::HiddenCharacter => "hidden_character",
            RejectReason::InvalidEvent => "invalid_event",
            RejectReason::InvalidEventUuid => "invalid_event_uuid",
        }
    }
}

impl fmt::Display for RejectReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.code())
    }
}

impl Serialize for RejectReason {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.code())
    }
}

/// Something worth telling about an accepted value: it was changed on its way in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Warning {
    /// Defanged spelling undone (`hxxp`, `[.]`).
    Defanged,
    /// Zero-padded IPv4 octets read as decimal (`010.001.001.001` is `10.1.1.1`).
    ZeroPadded,
    /// Host bits of a network cleared (`10.0.0.1/8` is `10.0.0.0/8`).
    HostBits,
    /// An IPv4-mapped IPv6 address written as IPv4.
    MappedIpv4,
    /// A trailing root dot removed from a host name.
    TrailingDot,
    /// A port after a host name or URL dropped, as MISP does.
    PortDropped,
}

impl Warning {
    /// The stable code of the warning, as written in reports.
    #[must_use]
    pub const fn code(self) -> &'static str {
        match self {
            Warning::Defanged => "defanged",
            Warning::ZeroPadded => "zero_padded",
            Warning::HostBits => "host_bits_set",
            Warning::MappedIpv4 => "ipv4_mapped",
            Warning::TrailingDot => "trailing_dot",
            Warning::PortDropped => "port_dropped",
        }
    }

    const fn bit(self) -> u8 {
        1 << (self as u8)
    }
}

/// A small set of [`Warning`]s, stored as bits so that an accepted value costs no allocation.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Warnings(u8);

impl Warnings {
    /// Adds a warning to the set.
    pub fn insert(&mut self, warning: Warning) {
        self.0 |= warning.bit();
    }

    /// Whether the set holds the warning.
    #[must_use]
    pub fn contains(self, warning: Warning) -> bool {
        self.0 & warning.bit() != 0
    }

    /// Whether the set is empty.
    #[must_use]
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// The warnings in the set, in declaration order.
    pub fn iter(self) -> impl Iterator<Item = Warning> {
        [
            Warning::Defanged,
            Warning::ZeroPadded,
            Warning::HostBits,
            Warning::MappedIpv4,
            Warning::TrailingDot,
            Warning::PortDropped,
        ]
        .into_iter()
        .filter(move |w| self.contains(*w))
    }
}

/// An accepted value: the indicator and what was changed to get it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Classified {
    /// The typed canonical indicator.
    pub indicator: Indicator,
    /// What normalization changed on the way.
    pub warnings: Warnings,
}

/// Choices that change how text is read.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    /// Reject zero-padded IPv4 octets instead of reading them as decimal.
    pub strict_zero_padded: bool,
}

#[cfg(test)]
mod tests;
