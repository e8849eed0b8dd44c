//! Domain and host names in canonical form: lower-case ASCII, IDN as punycode (UTS #46),
//! exactly one trailing root dot removed, label and name lengths as DNS allows.
//!
//! Two questions are kept apart: [`looks_like_name`] says whether text is shaped like a
//! name whose last label is a known TLD (MISP's domain rule, §5 rule 7a), and
//! [`canonical_name`] validates and rewrites a name. Only a name-shaped value gets a
//! name-specific rejection reason; anything else falls through to the next rule.

use std::borrow::Cow;

use idna::AsciiDenyList;

use super::tld::{is_tld, is_tld_ignore_case};
use super::{RejectReason, Warning, Warnings};

/// The longest label DNS allows, in bytes.
const MAX_LABEL: usize = 63;
/// The longest name DNS allows in text form, without the root dot.
const MAX_NAME: usize = 253;

/// A canonical name and the number of its labels.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Name {
    /// Lower-case ASCII, punycode for IDN labels, no trailing dot.
    pub(super) text: String,
    /// How many labels: 2 makes a `domain`, 3 or more a `hostname` (as MISP counts).
    pub(super) labels: usize,
}

/// Whether a byte may appear in a label as written in feeds (LDH plus underscore).
fn is_label_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'-' || b == b'_'
}

/// Whether `s` is shaped like a host name under a known TLD: at least two labels, only
/// letters (any script), digits, hyphens, underscores and dots, and a last non-empty label
/// that is a known TLD. Empty labels and trailing dots are allowed here so that
/// [`canonical_name`] can give them their own rejection reason.
pub(super) fn looks_like_name(s: &str) -> bool {
    if !s.contains('.') {
        return false;
    }
    let shaped = s.chars().all(|c| {
        if c.is_ascii() { c == '.' || is_label_byte(c as u8) } else { c.is_alphanumeric() }
    });
    if !shaped {
        return false;
    }
    let trimmed = s.trim_end_matches('.');
    let Some((_, last)) = trimmed.rsplit_once('.') else {
        return false;
    };
    if last.is_ascii() {
        return is_tld_ignore_case(last);
    }
    // A TLD written in its own script (`рф`): look up its punycode form.
    idna::domain_to_ascii_cow(last.as_bytes(), AsciiDenyList::URL).is_ok_and(|l| is_tld(&l))
}

/// Validates a host name and writes it in canonical form.
///
/// Exactly one trailing dot is removed ([`Warning::TrailingDot`]); a second one leaves an
/// empty label. `.` alone is [`RejectReason::RootOnly`].
pub(super) fn canonical_name(s: &str, warnings: &mut Warnings) -> Result<Name, RejectReason> {
    if s == "." {
        return Err(RejectReason::RootOnly);
    }
    let name = match s.strip_suffix('.') {
        Some(stripped) => {
            warnings.insert(Warning::TrailingDot);
            stripped
        }
        None => s,
    };
    if name.is_empty() {
        return Err(RejectReason::InvalidHostname);
    }
    if name.starts_with('.') || name.ends_with('.') || name.contains("..") {
        return Err(RejectReason::EmptyLabel);
    }
    let text = if name.is_ascii() {
        if !name.bytes().all(|b| b == b'.' || is_label_byte(b)) {
            return Err(RejectReason::InvalidHostname);
        }
        let lower = name.to_ascii_lowercase();
        // Punycode labels are checked by decoding them; plain ASCII needs no IDNA pass.
        if has_ace_label(&lower) {
            check_idna(&lower)?;
        }
        lower
    } else {
        if !name.bytes().all(|b| !b.is_ascii() || b == b'.' || is_label_byte(b)) {
            return Err(RejectReason::InvalidHostname);
        }
        let ascii = check_idna(name)?.into_owned();
        // UTS #46 maps some characters to dots (`。`); the result must still be a clean name.
        if ascii.starts_with('.') || ascii.ends_with('.') || ascii.contains("..") {
            return Err(RejectReason::EmptyLabel);
        }
        if !ascii.bytes().all(|b| b == b'.' || is_label_byte(b)) {
            return Err(RejectReason::InvalidHostname);
        }
        ascii
    };
    if text.len() > MAX_NAME || text.split('.').any(|label| label.len() > MAX_LABEL) {
        return Err(RejectReason::NameTooLong);
    }
    let labels = text.bytes().filter(|&b| b == b'.').count() + 1;
    Ok(Name { text, labels })
}

/// Whether any label starts with the IDNA ACE prefix `xn--`.
fn has_ace_label(lower: &str) -> bool {
    lower.split('.').any(|label| label.starts_with("xn--"))
}

/// Runs UTS #46 `ToASCII`, mapping failure to [`RejectReason::InvalidHostname`].
fn check_idna(name: &str) -> Result<Cow<'_, str>, RejectReason> {
    idna::domain_to_ascii_cow(name.as_bytes(), AsciiDenyList::URL)
        .map_err(|_| RejectReason::InvalidHostname)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(s: &str) -> Result<String, RejectReason> {
        canonical_name(s, &mut Warnings::default()).map(|n| n.text)
    }

    #[test]
    fn lower_cases_and_strips_one_trailing_dot() {
        let mut w = Warnings::default();
        let name = canonical_name("C2.Bad.Example.", &mut w).unwrap();
        assert_eq!(name, Name { text: "c2.bad.example".into(), labels: 3 });
        assert!(w.contains(Warning::TrailingDot));
    }

    #[test]
    fn rejects_two_trailing_dots_and_empty_labels() {
        assert_eq!(canon("host.example.."), Err(RejectReason::EmptyLabel));
        assert_eq!(canon("double..dot.example"), Err(RejectReason::EmptyLabel));
        assert_eq!(canon(".example.com"), Err(RejectReason::EmptyLabel));
        assert_eq!(canon("."), Err(RejectReason::RootOnly));
    }

    #[test]
    fn converts_idn_to_punycode() {
        // Punycode of "háčkyčárky" computed with RFC 3492 (Python's `encodings.idna`).
        assert_eq!(canon("háčkyčárky.cz").as_deref(), Ok("xn--hkyrky-ptac70bc.cz"));
        assert_eq!(canon("BÜCHER.example").as_deref(), Ok("xn--bcher-kva.example"));
        assert_eq!(
            canon("xn--ghq549cb2anjl2suxo.com").as_deref(),
            Ok("xn--ghq549cb2anjl2suxo.com")
        );
    }

    #[test]
    fn rejects_broken_punycode_and_bad_characters() {
        assert_eq!(canon("xn--a.example"), Err(RejectReason::InvalidHostname));
        assert_eq!(canon("bad host.example"), Err(RejectReason::InvalidHostname));
        assert_eq!(canon("bad/host.example"), Err(RejectReason::InvalidHostname));
    }

    #[test]
    fn enforces_dns_lengths() {
        let label63 = "a".repeat(63);
        assert!(canon(&format!("{label63}.example")).is_ok());
        assert_eq!(canon(&format!("a{label63}.example")), Err(RejectReason::NameTooLong));
        // 4 labels of 63 plus 3 dots is 255 bytes, over the 253 limit.
        let long = [label63.as_str(); 4].join(".");
        assert_eq!(canon(&long), Err(RejectReason::NameTooLong));
        let fits = format!("{}.{}.{}.{}", label63, label63, label63, "a".repeat(61));
        assert_eq!(fits.len(), 253);
        assert!(canon(&fits).is_ok());
    }

    #[test]
    fn keeps_underscores_in_labels() {
        assert_eq!(canon("foo_bar.Example.com").as_deref(), Ok("foo_bar.example.com"));
    }

    #[test]
    fn recognises_names_under_known_tlds_only() {
        assert!(looks_like_name("example.com"));
        assert!(looks_like_name("EXAMPLE.COM"));
        assert!(looks_like_name("c2.bad.example."));
        assert!(looks_like_name("host.example.."));
        assert!(looks_like_name("háčkyčárky.cz"));
        assert!(looks_like_name("пример.рф"));
        assert!(!looks_like_name("setup.exe"));
        assert!(!looks_like_name("com"));
        assert!(!looks_like_name("1.2.3.4"));
        assert!(!looks_like_name("example.com/path"));
        assert!(!looks_like_name("example.com:80"));
    }
}
