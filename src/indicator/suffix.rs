//! Public suffixes: the names under which anyone may register a name of their own.
//!
//! `duckdns.org`, `github.io` and `co.uk` are such names: `a.duckdns.org` and `b.duckdns.org`
//! belong to two unrelated people. The multi-label suffixes come from the MISP warning list
//! "Second level TLDs as known by Mozilla Foundation" (the Public Suffix List, both its ICANN
//! and private sections), vendored in `data/public-suffixes.txt`; every top-level domain is a
//! public suffix too. The warning-list filter uses this to stop a listed name from standing
//! for the unrelated names registered under it.

use std::collections::HashSet;
use std::sync::LazyLock;

/// The vendored list: a comment line naming its source, then one lower-case suffix per line.
const SUFFIX_LIST: &str = include_str!("../../data/public-suffixes.txt");

static SUFFIXES: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    SUFFIX_LIST
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect()
});

/// Whether `name` (lower-case ASCII, no trailing dot) is a public suffix: a single label (a
/// top-level domain, known or not) or a multi-label suffix of the Public Suffix List.
#[must_use]
pub fn is_public_suffix(name: &str) -> bool {
    !name.is_empty() && (!name.contains('.') || SUFFIXES.contains(name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dynamic_dns_and_hosting_namespaces_are_public_suffixes() {
        for name in ["duckdns.org", "github.io", "blogspot.com", "co.uk", "herokuapp.com"] {
            assert!(is_public_suffix(name), "{name}");
        }
    }

    #[test]
    fn single_labels_are_public_suffixes_and_registered_names_are_not() {
        assert!(is_public_suffix("com"));
        assert!(is_public_suffix("lan"));
        for name in ["google.com", "example.co.uk", "evil.duckdns.org", ""] {
            assert!(!is_public_suffix(name), "{name}");
        }
    }

    #[test]
    fn the_vendored_list_has_the_size_of_the_warning_list() {
        // The `list` array of second-level-tlds version 20260811 holds 10231 entries.
        let vendored = SUFFIX_LIST.lines().filter(|l| !l.starts_with('#') && !l.is_empty());
        assert_eq!(vendored.count(), 10231);
    }
}
