//! MISP attribute types: their names, default categories and default `to_ids` flags.
//!
//! The table follows MISP's `describeTypes.json` (feed-format.md §8). Only the types that a
//! network or file blocklist can carry are listed; a MISP feed attribute of any other type is
//! counted as rejected with the reason `unsupported_type` rather than silently dropped.

use std::fmt;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

macro_rules! attr_types {
    ($( $variant:ident => $name:literal, $category:literal, $to_ids:literal; )*) => {
        /// One MISP attribute type.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        #[non_exhaustive]
        pub enum AttrType {
            $(
                #[doc = concat!("MISP type `", $name, "`.")]
                $variant,
            )*
        }

        impl AttrType {
            /// Every known type, in table order.
            pub const ALL: &'static [AttrType] = &[$(AttrType::$variant),*];

            /// The MISP name of the type, such as `ip-dst` or `filename|sha256`.
            #[must_use]
            pub const fn as_str(self) -> &'static str {
                match self { $(AttrType::$variant => $name,)* }
            }

            /// The category MISP gives an attribute of this type when none is set.
            #[must_use]
            pub const fn default_category(self) -> &'static str {
                match self { $(AttrType::$variant => $category,)* }
            }

            /// Whether MISP marks attributes of this type for IDS use by default.
            #[must_use]
            pub const fn default_to_ids(self) -> bool {
                match self { $(AttrType::$variant => $to_ids,)* }
            }

            /// Looks a type up by its MISP name (exact, case-sensitive as in MISP).
            #[must_use]
            pub fn from_name(name: &str) -> Option<AttrType> {
                match name { $($name => Some(AttrType::$variant),)* _ => None }
            }
        }
    };
}

attr_types! {
    IpSrc => "ip-src", "Network activity", true;
    IpDst => "ip-dst", "Network activity", true;
    IpSrcPort => "ip-src|port", "Network activity", true;
    IpDstPort => "ip-dst|port", "Network activity", true;
    Domain => "domain", "Network activity", true;
    DomainIp => "domain|ip", "Network activity", true;
    Hostname => "hostname", "Network activity", true;
    HostnamePort => "hostname|port", "Network activity", true;
    Url => "url", "Network activity", true;
    Uri => "uri", "Network activity", true;
    Link => "link", "External analysis", false;
    As => "AS", "Network activity", false;
    EmailSrc => "email-src", "Payload delivery", true;
    EmailDst => "email-dst", "Network activity", true;
    Email => "email", "Social network", true;
    Md5 => "md5", "Payload delivery", true;
    Sha1 => "sha1", "Payload delivery", true;
    Sha224 => "sha224", "Payload delivery", true;
    Sha256 => "sha256", "Payload delivery", true;
    Sha384 => "sha384", "Payload delivery", true;
    Sha512 => "sha512", "Payload delivery", true;
    Ssdeep => "ssdeep", "Payload delivery", true;
    Imphash => "imphash", "Payload delivery", true;
    Tlsh => "tlsh", "Payload delivery", true;
    Filename => "filename", "Payload delivery", true;
    FilenameMd5 => "filename|md5", "Payload delivery", true;
    FilenameSha1 => "filename|sha1", "Payload delivery", true;
    FilenameSha224 => "filename|sha224", "Payload delivery", true;
    FilenameSha256 => "filename|sha256", "Payload delivery", true;
    FilenameSha384 => "filename|sha384", "Payload delivery", true;
    FilenameSha512 => "filename|sha512", "Payload delivery", true;
    FilenameSsdeep => "filename|ssdeep", "Payload delivery", true;
    JarmFingerprint => "jarm-fingerprint", "Network activity", true;
    Ja3FingerprintMd5 => "ja3-fingerprint-md5", "Network activity", true;
    X509FingerprintSha1 => "x509-fingerprint-sha1", "Network activity", true;
    X509FingerprintSha256 => "x509-fingerprint-sha256", "Network activity", true;
    Regkey => "regkey", "Persistence mechanism", true;
    Vulnerability => "vulnerability", "External analysis", false;
    PhoneNumber => "phone-number", "Person", false;
    Btc => "btc", "Financial fraud", true;
    Text => "text", "Other", false;
}

impl AttrType {
    /// The family a blocklist groups this type under.
    #[must_use]
    pub const fn family(self) -> Family {
        match self {
            AttrType::IpSrc | AttrType::IpDst | AttrType::IpSrcPort | AttrType::IpDstPort => {
                Family::Ip
            }
            AttrType::Domain | AttrType::Hostname | AttrType::HostnamePort | AttrType::DomainIp => {
                Family::Domain
            }
            AttrType::Url | AttrType::Uri | AttrType::Link => Family::Url,
            AttrType::Md5
            | AttrType::Sha1
            | AttrType::Sha224
            | AttrType::Sha256
            | AttrType::Sha384
            | AttrType::Sha512
            | AttrType::Ssdeep
            | AttrType::Imphash
            | AttrType::Tlsh
            | AttrType::FilenameMd5
            | AttrType::FilenameSha1
            | AttrType::FilenameSha224
            | AttrType::FilenameSha256
            | AttrType::FilenameSha384
            | AttrType::FilenameSha512
            | AttrType::FilenameSsdeep => Family::Hash,
            AttrType::EmailSrc | AttrType::EmailDst | AttrType::Email => Family::Email,
            _ => Family::Other,
        }
    }

    /// Whether the value is two parts joined by `|`.
    #[must_use]
    pub fn is_composite(self) -> bool {
        self.as_str().contains('|')
    }

    /// Whether the type is `<something>|port`, whose port MISP leaves out of its lookup cache.
    #[must_use]
    pub fn has_port(self) -> bool {
        self.as_str().ends_with("|port")
    }
}

/// Coarse groups of types, for counting and for the site.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Family {
    /// Addresses and networks, with or without a port.
    Ip,
    /// Domain and host names.
    Domain,
    /// URLs.
    Url,
    /// File hashes.
    Hash,
    /// E-mail addresses.
    Email,
    /// Everything else.
    Other,
}

impl fmt::Display for AttrType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl Serialize for AttrType {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for AttrType {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let name = String::deserialize(deserializer)?;
        AttrType::from_name(&name).ok_or_else(|| {
            serde::de::Error::custom(format!("unknown MISP attribute type `{name}`"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_through_from_name() {
        for &kind in AttrType::ALL {
            assert_eq!(AttrType::from_name(kind.as_str()), Some(kind));
        }
    }

    #[test]
    fn port_types_are_composite() {
        assert!(AttrType::IpDstPort.has_port());
        assert!(AttrType::IpDstPort.is_composite());
        assert!(!AttrType::IpDst.is_composite());
        assert!(AttrType::FilenameSha256.is_composite());
        assert!(!AttrType::FilenameSha256.has_port());
    }
}
