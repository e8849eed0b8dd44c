//! MISP's free-text type detection ([`classify`]) and the check of a value whose type is
//! already known ([`normalize`]).
//!
//! [`classify`] follows the rule order of MISP's `resolveType` (freetext.md §5): raw IP,
//! hashes, then refanging, e-mail, port split, IP/CIDR, domain or host name, URL, file name,
//! registry key, CVE, phone number, AS number, bitcoin address. Where feedsmith departs from
//! MISP on purpose, `docs/misp-differences.md` says how and why.

use super::domain::{canonical_name, looks_like_name};
use super::hash::{
    classify_filename_hash, hex_type, is_hex, is_ssdeep, looks_like_filename, normalize_hash,
};
use super::ip::{self, Net};
use super::other::{self, canonical_email};
use super::refang::refang;
use super::url::{UrlMode, canonical_url, scheme_of};
use super::{AttrType, Classified, Family, Indicator, Options, RejectReason, Warning, Warnings};

/// The longest value looked at; anything longer is refused before any other work.
pub const MAX_VALUE_LEN: usize = 4096;

/// How [`classify`] reads URLs: scheme optional, a port ending the URL dropped as MISP does.
const CLASSIFY_URL: UrlMode = UrlMode { scheme_optional: true, drop_trailing_port: true };

/// Builds the accepted result.
#[expect(
    clippy::unnecessary_wraps,
    reason = "every rule of `classify` ends in a `Result`; this keeps each one a single `return`"
)]
fn accept(
    kind: AttrType,
    value: impl Into<Box<str>>,
    warnings: Warnings,
) -> Result<Classified, RejectReason> {
    Ok(Classified { indicator: Indicator::new(kind, value), warnings })
}

/// Checks done before anything else on any value: size, truncation, control characters.
fn precheck(raw: &str) -> Result<(), RejectReason> {
    if raw.len() > MAX_VALUE_LEN {
        return Err(RejectReason::TooLong);
    }
    if raw.is_empty() {
        return Err(RejectReason::Unrecognized);
    }
    // Text copied from social media ends with an ellipsis where it was cut.
    if raw.ends_with('…') {
        return Err(RejectReason::Truncated);
    }
    let control = if raw.is_ascii() {
        raw.bytes().any(|b| b.is_ascii_control())
    } else {
        raw.chars().any(char::is_control)
    };
    if control {
        return Err(RejectReason::InvalidValue);
    }
    // Zero-width spaces, soft hyphens, bidirectional overrides and the like are invisible: a
    // value holding one is not what a reader of the feed sees, and written into a list it can
    // display as something else. MISP splits words at them, which turns
    // `login<ZWSP>.example.com` into `example.com`; feedsmith refuses the value instead.
    if !raw.is_ascii() && HIDDEN.is_match(raw) {
        return Err(RejectReason::HiddenCharacter);
    }
    Ok(())
}

/// Invisible characters: Unicode format characters, the line and paragraph separators, and
/// every other default-ignorable code point (the Hangul fillers, variation selectors, the
/// combining grapheme joiner), which IDNA drops or maps away: `bad<U+3164>.example` would
/// otherwise become `bad.example`.
static HIDDEN: std::sync::LazyLock<regex::Regex> = std::sync::LazyLock::new(|| {
    regex::Regex::new(r"[\p{Cf}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]")
        .expect("the hidden-character pattern is valid")
});

/// MISP free-text type detection of one candidate string (already trimmed by the caller),
/// with the canonical value MISP would store.
///
/// ```
/// use feedsmith::indicator::{classify, AttrType, Options, RejectReason};
/// let c = classify("hxxps://Bad[.]Example/Login", &Options::default()).unwrap();
/// assert_eq!(c.indicator.kind, AttrType::Url);
/// assert_eq!(&*c.indicator.value, "https://bad.example/Login");
/// assert_eq!(classify("meow://bad.example", &Options::default()), Err(RejectReason::UnknownScheme));
/// ```
pub fn classify(raw: &str, opts: &Options) -> Result<Classified, RejectReason> {
    // White space of any script at either end is not part of a value, as in [`normalize`];
    // without this a no-break space before a file name made a second, different value.
    let raw = raw.trim();
    precheck(raw)?;
    // A short run of digits (the hit counts beside every address of IPsum, ports, ids) is no
    // type: an address needs dots (integer addresses are refused, as PHP refuses them), a
    // hash 32 hex digits, a Bitcoin address 26 characters, a phone number a `+` or `-`. Said
    // early, because such words are as many as the indicators in some feeds.
    if raw.len() < 26 && raw.bytes().all(|b| b.is_ascii_digit()) {
        return Err(RejectReason::Unrecognized);
    }
    let mut warnings = Warnings::default();

    // Rule 1: a plain address, before any refanging.
    match ip::parse_addr(raw, *opts, &mut warnings) {
        Ok(addr) => {
            return accept(AttrType::IpDst, Net { addr, prefix: None }.to_boxed(), warnings);
        }
        Err(RejectReason::InvalidIp) => warnings = Warnings::default(),
        Err(reason) => return Err(reason),
    }

    // Rule 2: hashes, before refanging so that they are never altered.
    if raw.contains('|') {
        if let Some((kind, value)) = classify_filename_hash(raw) {
            return accept(kind, value, warnings);
        }
    } else if is_hex(raw) {
        if let Some(kind) = hex_type(raw.len()) {
            return accept(kind, raw.to_ascii_lowercase(), warnings);
        }
    } else if is_ssdeep(raw) {
        return accept(AttrType::Ssdeep, raw, warnings);
    }

    // Rule 3: refang.
    let (refanged, defanged) = refang(raw);
    if defanged {
        warnings.insert(Warning::Defanged);
    }
    let s: &str = &refanged;

    // Rule 4: e-mail.
    if s.contains('@')
        && !s.contains("://")
        && let Ok(value) = canonical_email(s)
    {
        return accept(AttrType::EmailSrc, value, warnings);
    }

    // Rule 5: a port at the very end.
    let (noport, port) = split_trailing_port(s);

    // Rule 6: addresses and networks.
    if let Some(result) = classify_ip(noport, port, *opts, warnings) {
        return result;
    }

    // Rule 7a: a domain or host name under a known TLD; a trailing port is dropped.
    if noport == "." {
        return Err(RejectReason::RootOnly);
    }
    if looks_like_name(noport) {
        let name = canonical_name(noport, &mut warnings)?;
        if let Some(port) = port {
            ip::parse_port(port)?;
            warnings.insert(Warning::PortDropped);
        }
        let kind = if name.labels == 2 { AttrType::Domain } else { AttrType::Hostname };
        return accept(kind, name.text, warnings);
    }

    // Rules 7b and 7c: URLs, with a scheme (which must be known) or without one.
    if scheme_of(s).is_some() {
        let url = canonical_url(s, CLASSIFY_URL, *opts, &mut warnings)?;
        let kind = if url.vendor_link { AttrType::Link } else { AttrType::Url };
        return accept(kind, url.text, warnings);
    }
    if noport.contains('/')
        && noport.contains('.')
        && !noport.starts_with('/')
        && let Ok(url) = canonical_url(s, CLASSIFY_URL, *opts, &mut warnings)
    {
        return accept(AttrType::Url, url.text, warnings);
    }
    // Text with `://` but no valid scheme is not a URL and is no other type either.
    if s.contains("://") {
        return Err(RejectReason::InvalidUrl);
    }

    // Rules 7d and 8: file names and registry keys, as written.
    let warnings = Warnings::default();
    if looks_like_filename(raw) {
        return accept(AttrType::Filename, raw, warnings);
    }
    if let Some(kind) = classify_backslash(raw) {
        return accept(kind, raw, warnings);
    }

    // Rules 9 to 12.
    if let Some(cve) = other::classify_cve(raw) {
        return accept(AttrType::Vulnerability, cve, warnings);
    }
    if other::is_phone(raw) {
        return accept(AttrType::PhoneNumber, other::canonical_phone(raw)?, warnings);
    }
    if let Some(asn) = other::classify_as(raw) {
        return accept(AttrType::As, asn?, warnings);
    }
    if other::is_btc(raw) {
        return accept(AttrType::Btc, raw, warnings);
    }

    if is_ip_shaped(s) { Err(RejectReason::InvalidIp) } else { Err(RejectReason::Unrecognized) }
}

/// Splits a `:port` (one or more ASCII digits) off the end. A bracketed IPv6 address keeps
/// its brackets; an unbracketed IPv6 address is never split, so `2001:db8::10:8443` stays
/// one (invalid or valid) address.
fn split_trailing_port(s: &str) -> (&str, Option<&str>) {
    let Some((head, port)) = s.rsplit_once(':') else {
        return (s, None);
    };
    let digits = !port.is_empty() && port.len() <= 10 && port.bytes().all(|b| b.is_ascii_digit());
    if !digits || head.is_empty() {
        return (s, None);
    }
    // `a:b:80` without brackets or a scheme: an IPv6 address or nothing, never `host:port`.
    let ipv6_like = head.contains(':') && !head.starts_with('[') && !head.contains("://");
    if ipv6_like { (s, None) } else { (head, Some(port)) }
}

/// Rule 6 of freetext.md §5: `ip`, `ip:port`, `[v6]:port`, `ip/len`. `None` when the text is
/// not an address at all.
fn classify_ip(
    noport: &str,
    port: Option<&str>,
    opts: Options,
    mut warnings: Warnings,
) -> Option<Result<Classified, RejectReason>> {
    let bracketed = noport.strip_prefix('[').and_then(|h| h.strip_suffix(']'));
    let host = match bracketed {
        Some(inner) if inner.contains(':') => inner,
        Some(_) => return None,
        None => noport,
    };
    match ip::parse_addr(host, opts, &mut warnings) {
        Ok(addr) => {
            return Some(match port {
                Some(port) => ip::parse_port(port).and_then(|port| {
                    accept(AttrType::IpDstPort, ip::ip_port_text(addr, port), warnings)
                }),
                None => accept(AttrType::IpDst, Net { addr, prefix: None }.to_boxed(), warnings),
            });
        }
        Err(RejectReason::InvalidIp) => {}
        Err(reason) => return Some(Err(reason)),
    }
    if bracketed.is_some() {
        return Some(Err(RejectReason::InvalidIp));
    }
    // `addr/len` with exactly one slash, an address before it and digits after it.
    let (addr_text, len_text) = noport.split_once('/')?;
    if len_text.is_empty() || !len_text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    if ip::parse_addr(addr_text, opts, &mut Warnings::default()) == Err(RejectReason::InvalidIp) {
        return None;
    }
    Some(ip::parse_net(noport, opts, &mut warnings).and_then(|net| {
        if let Some(port) = port {
            ip::parse_port(port)?;
            warnings.insert(Warning::PortDropped);
        }
        accept(AttrType::IpDst, net.to_boxed(), warnings)
    }))
}

/// Rule 8: a backslash path is a file name when its last part is one (or it starts with a
/// drive), otherwise a registry key.
fn classify_backslash(raw: &str) -> Option<AttrType> {
    if !raw.contains('\\') {
        return None;
    }
    let first = raw.split('\\').next().unwrap_or("");
    let last = raw.rsplit('\\').next().unwrap_or("");
    let drive = first.len() == 2 && first.ends_with(':');
    if last.contains('.') || drive {
        looks_like_filename(last).then_some(AttrType::Filename)
    } else {
        (!first.is_empty()).then_some(AttrType::Regkey)
    }
}

/// Whether text is made only of what addresses are made of, so that its rejection says
/// `invalid_ip` rather than `unrecognized`: four dot-separated digit groups, or hex digits,
/// colons and dots with `::` or at least three colons (a clock time such as `06:09:51` has
/// two).
fn is_ip_shaped(s: &str) -> bool {
    let s = s.split_once('/').map_or(s, |(addr, _)| addr);
    let dotted = s.split('.').count() == 4
        && s.split('.').all(|group| !group.is_empty() && group.bytes().all(|b| b.is_ascii_digit()));
    let colons = s.bytes().filter(|&b| b == b':').count();
    let v6 = (colons >= 3 || s.contains("::"))
        && s.bytes().all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    dotted || v6
}

/// The type is known (MISP feed attribute): validate `raw` for that type and canonicalize it.
///
/// The value is trimmed of surrounding white space, refanged where the type allows it, and
/// written as MISP stores it. The type is kept as given: a three-label `domain` stays a
/// `domain`, an `ip-src` stays an `ip-src`.
///
/// ```
/// use feedsmith::indicator::{normalize, AttrType, Options};
/// let c = normalize(AttrType::IpSrc, "2001:DB8:0:0::1/128", &Options::default()).unwrap();
/// assert_eq!(&*c.indicator.value, "2001:db8::1");
/// assert_eq!(c.indicator.kind, AttrType::IpSrc);
/// ```
pub fn normalize(kind: AttrType, raw: &str, opts: &Options) -> Result<Classified, RejectReason> {
    if raw.len() > MAX_VALUE_LEN {
        return Err(RejectReason::TooLong);
    }
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err(RejectReason::InvalidValue);
    }
    precheck(trimmed)?;
    let mut warnings = Warnings::default();
    let refangs =
        matches!(kind.family(), Family::Ip | Family::Domain | Family::Url | Family::Email);
    let (refanged, defanged) = if refangs { refang(trimmed) } else { (trimmed.into(), false) };
    if defanged {
        warnings.insert(Warning::Defanged);
    }
    let s: &str = &refanged;
    let value: Box<str> = match kind {
        AttrType::IpSrc | AttrType::IpDst => ip::parse_net(s, *opts, &mut warnings)?.to_boxed(),
        AttrType::IpSrcPort | AttrType::IpDstPort => {
            let (addr, port) = ip::parse_ip_port(s, *opts, &mut warnings)?;
            ip::ip_port_text(addr, port).into()
        }
        AttrType::Domain | AttrType::Hostname => stored_name(s, &mut warnings)?.into(),
        AttrType::HostnamePort => {
            let (host, port) = s
                .split_once('|')
                .or_else(|| s.rsplit_once(':'))
                .ok_or(RejectReason::InvalidValue)?;
            let name = stored_name(host, &mut warnings)?;
            format!("{name}|{}", ip::parse_port(port)?).into()
        }
        AttrType::DomainIp => {
            let (host, addr) = s.split_once('|').ok_or(RejectReason::InvalidValue)?;
            let name = stored_name(host, &mut warnings)?;
            let addr = ip::parse_addr(addr, *opts, &mut warnings)?;
            format!("{name}|{addr}").into()
        }
        AttrType::Url | AttrType::Link => {
            let mode =
                UrlMode { scheme_optional: kind == AttrType::Url, drop_trailing_port: false };
            canonical_url(s, mode, *opts, &mut warnings)?.text.into()
        }
        AttrType::EmailSrc | AttrType::EmailDst | AttrType::Email => canonical_email(s)?.into(),
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
        | AttrType::FilenameSsdeep
        | AttrType::JarmFingerprint
        | AttrType::Ja3FingerprintMd5
        | AttrType::X509FingerprintSha1
        | AttrType::X509FingerprintSha256 => normalize_hash(kind, s)?.into(),
        AttrType::As => other::canonical_as(s)?.into(),
        AttrType::Vulnerability => s.replace('\u{2013}', "-").to_uppercase().into(),
        AttrType::PhoneNumber => other::canonical_phone(s)?.into(),
        AttrType::Uri | AttrType::Filename | AttrType::Regkey | AttrType::Btc | AttrType::Text => {
            s.into()
        }
    };
    accept(kind, value, warnings)
}

/// A domain or host name as MISP's save-time check wants it: two labels or more and a last
/// label that could be a TLD (the TLD need not be known).
fn stored_name(s: &str, warnings: &mut Warnings) -> Result<String, RejectReason> {
    let name = canonical_name(s, warnings)?;
    if name.labels < 2 || !other::last_label_ok(&name.text) {
        return Err(RejectReason::InvalidHostname);
    }
    Ok(name.text)
}
