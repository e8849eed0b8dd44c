//! The set of top-level domains that decides whether `a.b` is a domain or a file name.
//!
//! The set is IANA's root zone as MISP ships it (the warning list "TLDs as known by IANA",
//! vendored in `data/tlds.txt`), plus `onion`, which MISP always adds, plus the special-use
//! names of RFC 2606 and RFC 6761 (`example`, `test`, `invalid`, `localhost`) so that test
//! and documentation names classify like real ones. See `docs/misp-differences.md`.

use std::collections::HashSet;
use std::sync::LazyLock;

/// The vendored list: a comment line naming its source, then one lower-case TLD per line.
const IANA_LIST: &str = include_str!("../../data/tlds.txt");

/// Names that are not in the root zone but are treated as top-level domains all the same.
const EXTRA_TLDS: &[&str] = &["onion", "example", "test", "invalid", "localhost"];

/// The longest entry of the set, so that longer labels are refused without hashing.
const MAX_TLD_LEN: usize = 63;

static TLDS: LazyLock<HashSet<&'static str>> = LazyLock::new(|| {
    IANA_LIST
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .chain(EXTRA_TLDS.iter().copied())
        .collect()
});

/// Whether `label` (lower-case ASCII, without dots) is a known top-level domain.
#[must_use]
pub fn is_tld(label: &str) -> bool {
    !label.is_empty() && label.len() <= MAX_TLD_LEN && TLDS.contains(label)
}

/// Whether `label` (ASCII, any case) is a known top-level domain, without allocating.
pub(super) fn is_tld_ignore_case(label: &str) -> bool {
    if label.is_empty() || label.len() > MAX_TLD_LEN || !label.is_ascii() {
        return false;
    }
    if !label.bytes().any(|b| b.is_ascii_uppercase()) {
        return TLDS.contains(label);
    }
    let mut buf = [0u8; MAX_TLD_LEN];
    let lower = &mut buf[..label.len()];
    lower.copy_from_slice(label.as_bytes());
    lower.make_ascii_lowercase();
    std::str::from_utf8(lower).is_ok_and(|l| TLDS.contains(l))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn knows_common_and_new_generic_tlds() {
        for tld in ["com", "org", "uk", "top", "xyz", "zip", "mov", "xn--p1ai", "xn--fiqs8s"] {
            assert!(is_tld(tld), "{tld}");
        }
    }

    #[test]
    fn adds_onion_and_special_use_names() {
        for tld in ["onion", "example", "test", "invalid", "localhost"] {
            assert!(is_tld(tld), "{tld}");
        }
    }

    #[test]
    fn refuses_file_extensions_that_are_not_tlds() {
        for ext in ["exe", "txt", "dll", "php", "", "local", "123"] {
            assert!(!is_tld(ext), "{ext}");
        }
    }

    #[test]
    fn the_vendored_list_has_the_size_of_the_iana_warning_list() {
        // The warning list at the vendored commit holds 1445 entries (its `list` array).
        let vendored = IANA_LIST.lines().filter(|l| !l.starts_with('#') && !l.is_empty());
        assert_eq!(vendored.count(), 1445);
    }

    #[test]
    fn matches_upper_case_labels_without_allocating() {
        assert!(is_tld_ignore_case("COM"));
        assert!(is_tld_ignore_case("Example"));
        assert!(!is_tld_ignore_case("EXE"));
        assert!(!is_tld_ignore_case("ко"));
    }
}
