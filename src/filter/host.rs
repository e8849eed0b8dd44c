//! `hostname` lists: the host a value names, and the walk up its parent domains.
//!
//! MISP takes the host of a value with a rough rule (the text between the second and third
//! `/` when the value holds `//`, else the text before the first `/`) and looks the host and
//! each parent domain up among the entries. feedsmith does the same, with three repairs
//! listed in `docs/misp-differences.md`: a URL's host loses its user name and port, the host is
//! lower-cased, and a parent that is a public suffix (`duckdns.org`, `github.io`) does not
//! stand for the unrelated names registered under it unless the entry asks for that by being
//! written with a leading dot (`.duckdns.org`).

use std::borrow::Cow;
use std::collections::HashSet;

use super::lower;
use crate::indicator::{AttrType, is_public_suffix, normalize};

/// The names of a `hostname` list.
#[derive(Clone, Debug, Default)]
pub(super) struct Hosts {
    /// Every entry, lower-case, without leading or trailing dots.
    names: HashSet<Box<str>>,
    /// The entries written with a leading dot: they hold every name below them, public
    /// suffix or not.
    subtrees: HashSet<Box<str>>,
}

impl Hosts {
    /// Adds an entry as written in the list; an entry of only dots and spaces is skipped.
    pub(super) fn insert(&mut self, entry: &str) {
        let entry = entry.trim();
        let subtree = entry.starts_with('.');
        let name = entry.trim_matches('.');
        if name.is_empty() {
            return;
        }
        let name: Box<str> = if name.is_ascii() {
            name.to_ascii_lowercase().into()
        } else {
            // A name in its own script: compare it in the punycode form indicators have.
            normalize(AttrType::Hostname, name, &crate::indicator::Options::default())
                .map_or_else(|_| name.to_lowercase().into(), |c| c.indicator.value)
        };
        if subtree {
            self.subtrees.insert(name.clone());
        }
        self.names.insert(name);
    }

    /// The number of distinct names.
    pub(super) fn len(&self) -> usize {
        self.names.len()
    }

    /// Whether `host` (lower-case, no trailing dot) or a parent domain of it is listed.
    #[cfg(test)]
    fn contains(&self, host: &str) -> bool {
        self.contains_chain(&HostChain::new(Cow::Borrowed(host)))
    }

    /// Whether the chain's host or one of its parent domains is listed.
    ///
    /// The host itself matches an entry equal to it. A parent matches when it is listed and
    /// no public suffix lies between it and the host, the parent included (it owns the host),
    /// or when it was written with a leading dot.
    pub(super) fn contains_chain(&self, chain: &HostChain<'_>) -> bool {
        if chain.host.is_empty() {
            return false;
        }
        if self.names.contains(&*chain.host) {
            return true;
        }
        for &(start, owns) in &chain.parents {
            if !owns && self.subtrees.is_empty() {
                // Every parent from here up lies beyond a public suffix.
                return false;
            }
            let parent = &chain.host[start..];
            if self.subtrees.contains(parent) || (owns && self.names.contains(parent)) {
                return true;
            }
        }
        false
    }
}

/// A host and its parent domains (by whole labels), worked out once for every list.
#[derive(Debug)]
pub(super) struct HostChain<'a> {
    host: Cow<'a, str>,
    /// Where each parent domain starts in `host`, and whether a listed parent there owns the
    /// host: it is not a public suffix, and no public suffix lies below it.
    parents: Vec<(usize, bool)>,
}

impl<'a> HostChain<'a> {
    /// The chain of `host` (lower-case, no trailing dot).
    pub(super) fn new(host: Cow<'a, str>) -> HostChain<'a> {
        let mut parents = Vec::new();
        let mut crossed_suffix = false;
        let mut offset = 0;
        while let Some(dot) = host[offset..].find('.') {
            let start = offset + dot + 1;
            let parent = &host[start..];
            if parent.is_empty() {
                break;
            }
            let suffix = is_public_suffix(parent);
            parents.push((start, !crossed_suffix && !suffix));
            crossed_suffix |= suffix;
            offset = start;
        }
        HostChain { host, parents }
    }
}

/// The host MISP reads from a value that is not a URL: the text between the second and third
/// `/` when the value holds `//`, else the text before the first `/`; then without trailing
/// dots, and lower-cased.
pub(super) fn host_of_text(value: &str) -> Cow<'_, str> {
    let host = if value.contains("//") {
        value.split('/').nth(2).unwrap_or_default()
    } else {
        value.split('/').next().unwrap_or_default()
    };
    lower(host.trim_end_matches('.'))
}

/// The host of a URL (with or without a scheme): the authority without user name, port or
/// the brackets of an IPv6 address, without trailing dots, and lower-cased.
///
/// ```
/// use feedsmith::filter::host_of_url;
/// assert_eq!(host_of_url("https://user@Bad.Example.:8443/x"), "bad.example");
/// ```
#[must_use]
pub fn host_of_url(url: &str) -> Cow<'_, str> {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let authority = &rest[..rest.find(['/', '?', '#', '\\']).unwrap_or(rest.len())];
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, host)| host);
    let host = if let Some(inner) = host_port.strip_prefix('[') {
        inner.split_once(']').map_or(inner, |(v6, _)| v6)
    } else {
        host_port.split_once(':').map_or(host_port, |(host, _)| host)
    };
    lower(host.trim_end_matches('.'))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hosts(entries: &[&str]) -> Hosts {
        let mut hosts = Hosts::default();
        for entry in entries {
            hosts.insert(entry);
        }
        hosts
    }

    #[test]
    fn misp_reads_the_host_between_the_second_and_third_slash() {
        assert_eq!(host_of_text("example.com/path"), "example.com");
        assert_eq!(host_of_text("http://example.com/path"), "example.com");
        assert_eq!(host_of_text("Example.COM."), "example.com");
        assert_eq!(host_of_text("/only/a/path"), "");
    }

    #[test]
    fn a_url_host_loses_its_user_name_port_and_brackets() {
        assert_eq!(host_of_url("http://example.com:8080/"), "example.com");
        assert_eq!(host_of_url("https://user:pw@Example.com./x"), "example.com");
        assert_eq!(host_of_url("http://[2001:db8::1]:443/x"), "2001:db8::1");
        assert_eq!(host_of_url("http://example.com?q=a/b"), "example.com");
        assert_eq!(host_of_url("example.com/x"), "example.com");
        assert_eq!(host_of_url("/gate.php"), "");
    }

    #[test]
    fn entries_are_lower_cased_and_stripped_of_dots() {
        let h = hosts(&["Dns.Google.", "..", ""]);
        assert!(h.contains("dns.google"));
        assert_eq!(h.names.len(), 1);
    }

    #[test]
    fn a_listed_name_holds_its_subdomains_but_not_its_parents() {
        let h = hosts(&["google.com"]);
        assert!(h.contains("google.com"));
        assert!(h.contains("mail.google.com"));
        assert!(h.contains("a.b.google.com"));
        assert!(!h.contains("com"));
        assert!(!h.contains("notgoogle.com"));
        assert!(!h.contains("google.com.evil.example"));
    }

    #[test]
    fn a_listed_public_suffix_holds_only_itself() {
        let h = hosts(&["duckdns.org", "github.io"]);
        assert!(h.contains("duckdns.org"));
        assert!(!h.contains("evil.duckdns.org"));
        assert!(!h.contains("a.b.github.io"));
    }

    #[test]
    fn a_leading_dot_entry_holds_everything_below_it() {
        let h = hosts(&[".duckdns.org"]);
        assert!(h.contains("evil.duckdns.org"));
        assert!(h.contains("duckdns.org"));
    }

    #[test]
    fn a_name_beyond_a_public_suffix_is_not_owned_by_the_domain_above_it() {
        // `s3.amazonaws.com` is a public suffix: a bucket under it belongs to a customer,
        // not to the owner of `amazonaws.com`.
        assert!(is_public_suffix("s3.amazonaws.com"));
        let h = hosts(&["amazonaws.com"]);
        assert!(h.contains("ec2.amazonaws.com"));
        assert!(!h.contains("bucket.s3.amazonaws.com"));
    }

    #[test]
    fn names_in_their_own_script_match_their_punycode_form() {
        let h = hosts(&["bücher.example"]);
        assert!(h.contains("xn--bcher-kva.example"));
    }
}
