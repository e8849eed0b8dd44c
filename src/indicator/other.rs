//! The remaining types MISP's free-text import detects: e-mail addresses, CVE identifiers,
//! phone numbers, AS numbers and bitcoin addresses (freetext.md §5 rules 4 and 9 to 12),
//! with the form MISP stores for each (feed-format.md §9).

use super::domain::canonical_name;
use super::{RejectReason, Warnings};

/// The 32 characters of bech32 data (BIP 173).
const BECH32_CHARSET: &[u8] = b"qpzry9x8gf2tvdw0s3jn54khce6mua7l";

/// Characters RFC 5322 allows unquoted in the local part of an address ("atext").
fn is_atext(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+/=?^_`{|}~-".contains(&b)
}

/// Validates an e-mail address (unquoted local part, a domain of two labels or more) and
/// writes it lower-case with the domain in punycode.
pub(super) fn canonical_email(s: &str) -> Result<String, RejectReason> {
    let (local, domain) = s.rsplit_once('@').ok_or(RejectReason::InvalidEmail)?;
    let local_ok = !local.is_empty()
        && local.len() <= 64
        && local.bytes().all(|b| b == b'.' || is_atext(b))
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..");
    if !local_ok || domain.ends_with('.') {
        return Err(RejectReason::InvalidEmail);
    }
    let name =
        canonical_name(domain, &mut Warnings::default()).map_err(|_| RejectReason::InvalidEmail)?;
    if name.labels < 2 || !last_label_ok(&name.text) {
        return Err(RejectReason::InvalidEmail);
    }
    let mut out = String::with_capacity(local.len() + 1 + name.text.len());
    out.push_str(local);
    out.make_ascii_lowercase();
    out.push('@');
    out.push_str(&name.text);
    Ok(out)
}

/// Whether the last label could be a TLD: two characters or more, not all digits.
pub(super) fn last_label_ok(name: &str) -> bool {
    let last = name.rsplit('.').next().unwrap_or(name);
    last.len() >= 2 && !last.bytes().all(|b| b.is_ascii_digit())
}

/// `CVE-YYYY-NNNN…` (4 to 9 digits in the last group, any case), upper-cased.
pub(super) fn classify_cve(s: &str) -> Option<String> {
    let prefix = s.get(..4)?;
    if !prefix.eq_ignore_ascii_case("cve-") {
        return None;
    }
    let (year, number) = s[4..].split_once('-')?;
    let digits = |p: &str| p.bytes().all(|b| b.is_ascii_digit());
    (year.len() == 4 && digits(year) && (4..=9).contains(&number.len()) && digits(number))
        .then(|| s.to_ascii_uppercase())
}

/// Whether `s` is a `YYYY-MM-DD` date, which MISP keeps from being read as a phone number.
fn is_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b.iter().enumerate().all(|(i, c)| i == 4 || i == 7 || c.is_ascii_digit())
}

/// MISP's phone-number rule (§5 rule 10): `+` at the start or a `-` after it, not a date,
/// then an optional country code with an optional `(0)`, and at least six characters of
/// digits, `/` and `-` ending with a digit.
pub(super) fn is_phone(s: &str) -> bool {
    if !(s.starts_with('+') || s.get(1..).is_some_and(|rest| rest.contains('-'))) || is_date(s) {
        return false;
    }
    let body = s.strip_prefix('+').unwrap_or(s);
    let tail_ok = |t: &str| {
        t.len() >= 6
            && t.bytes().all(|b| b.is_ascii_digit() || b == b'/' || b == b'-')
            && t.ends_with(|c: char| c.is_ascii_digit())
    };
    if tail_ok(body) {
        return true;
    }
    // A country code of 1 to 3 digits followed by `(0)`.
    body.find("(0)").is_some_and(|i| {
        (1..=3).contains(&i)
            && body[..i].bytes().all(|b| b.is_ascii_digit())
            && tail_ok(&body[i + 3..])
    })
}

/// The stored form of a phone number: `00` prefix as `+`, `(0)` removed, only `+` and
/// digits kept.
pub(super) fn canonical_phone(s: &str) -> Result<String, RejectReason> {
    let without_trunk = s.replace("(0)", "");
    let mut kept = String::with_capacity(without_trunk.len());
    for (i, c) in without_trunk.char_indices() {
        if c.is_ascii_digit() || (c == '+' && i == 0) {
            kept.push(c);
        }
    }
    // The international `00` becomes `+` once the separators are gone, not before as in
    // MISP: `-0-0-0` would otherwise store `000`, which normalizes again to `+0`.
    let out = match kept.strip_prefix("00") {
        Some(rest) => format!("+{rest}"),
        None => kept,
    };
    if out.bytes().any(|b| b.is_ascii_digit()) { Ok(out) } else { Err(RejectReason::InvalidValue) }
}

/// `AS<number>` (any case): the number MISP stores.
pub(super) fn classify_as(s: &str) -> Option<Result<String, RejectReason>> {
    let prefix = s.get(..2)?;
    let digits = &s[2..];
    if !prefix.eq_ignore_ascii_case("as")
        || digits.is_empty()
        || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    Some(digits.parse::<u32>().map(|n| n.to_string()).map_err(|_| RejectReason::InvalidValue))
}

/// An AS number as a feed attribute: `AS64496`, `64496` or asdot `1.10`, stored as a number.
pub(super) fn canonical_as(s: &str) -> Result<String, RejectReason> {
    if let Some(result) = classify_as(s) {
        return result;
    }
    let number = |p: &str| {
        (!p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
            .then(|| p.parse::<u32>().ok())
            .flatten()
    };
    if let Some((high, low)) = s.split_once('.') {
        let (Some(high), Some(low)) = (number(high), number(low)) else {
            return Err(RejectReason::InvalidValue);
        };
        if high > 0xFFFF || low > 0xFFFF {
            return Err(RejectReason::InvalidValue);
        }
        return Ok((high * 65536 + low).to_string());
    }
    number(s).map(|n| n.to_string()).ok_or(RejectReason::InvalidValue)
}

/// A bitcoin address: legacy base58 (`1…`/`3…`, 26 to 35 characters) or bech32
/// (`bc1…`/`tb1…`, one case). Unlike MISP's pattern, both ends are anchored.
pub(super) fn is_btc(s: &str) -> bool {
    let base58 = |b: u8| b.is_ascii_alphanumeric() && !matches!(b, b'0' | b'O' | b'I' | b'l');
    if s.starts_with(['1', '3']) {
        return (26..=35).contains(&s.len()) && s.bytes().all(base58);
    }
    let lower = s.get(..3).is_some_and(|p| p == "bc1" || p == "tb1");
    let upper = s.get(..3).is_some_and(|p| p == "BC1" || p == "TB1");
    if !lower && !upper {
        return false;
    }
    let data = &s.as_bytes()[3..];
    (11..=87).contains(&data.len())
        && data.iter().all(|&b| {
            let folded = b.to_ascii_lowercase();
            BECH32_CHARSET.contains(&folded)
                && (if lower { !b.is_ascii_uppercase() } else { !b.is_ascii_lowercase() })
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(s: &str) -> Result<String, RejectReason> {
        canonical_email(s)
    }

    #[test]
    fn lower_cases_valid_email_addresses() {
        assert_eq!(email("Test@Example.COM").as_deref(), Ok("test@example.com"));
        assert_eq!(email("a.b+tag@sub.example.org").as_deref(), Ok("a.b+tag@sub.example.org"));
        assert_eq!(email("x@bücher.example").as_deref(), Ok("x@xn--bcher-kva.example"));
    }

    #[test]
    fn rejects_malformed_email_addresses() {
        for s in [
            "@example.com",
            "a@",
            "a@localhost",
            "a..b@example.com",
            ".a@example.com",
            "a b@example.com",
            "a@example..com",
            "a@1.2.3.4",
        ] {
            assert_eq!(email(s), Err(RejectReason::InvalidEmail), "{s}");
        }
    }

    #[test]
    fn upper_cases_cve_identifiers() {
        assert_eq!(classify_cve("cve-2019-16202").as_deref(), Some("CVE-2019-16202"));
        assert_eq!(classify_cve("CVE-2021-123456789").as_deref(), Some("CVE-2021-123456789"));
        assert_eq!(classify_cve("CVE-2021-123"), None);
        assert_eq!(classify_cve("CVE-21-1234"), None);
    }

    #[test]
    fn tells_phone_numbers_from_dates() {
        assert!(is_phone("+1-800-555-0100"));
        assert!(is_phone("+44(0)2071234567"));
        assert!(is_phone("0800-123-456"));
        assert!(!is_phone("2018-08-21"));
        assert!(!is_phone("a-b"));
        assert!(!is_phone("12345678"));
        assert_eq!(canonical_phone("+44(0)20-7123/4567").as_deref(), Ok("+442071234567"));
        assert_eq!(canonical_phone("0044 20 7123 4567").as_deref(), Ok("+442071234567"));
    }

    #[test]
    fn stores_as_numbers_without_prefix() {
        assert_eq!(classify_as("as0"), Some(Ok("0".into())));
        assert_eq!(classify_as("AS64496"), Some(Ok("64496".into())));
        assert_eq!(classify_as("ASX"), None);
        assert_eq!(canonical_as("1.10").as_deref(), Ok("65546"));
        assert_eq!(canonical_as("64496").as_deref(), Ok("64496"));
        assert_eq!(canonical_as("AS99999999999"), Err(RejectReason::InvalidValue));
    }

    #[test]
    fn recognises_bitcoin_addresses_anchored_at_both_ends() {
        assert!(is_btc("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa"));
        assert!(is_btc("BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4"));
        assert!(is_btc("bc1qw508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"));
        assert!(!is_btc("bc1QW508d6qejxtdg4y5r3zarvary0c5xw7kv8f3t4"));
        assert!(!is_btc("cK753n3MVw"));
        assert!(!is_btc("1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa.exe"));
    }
}
