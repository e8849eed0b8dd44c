//! URLs: scheme and host in canonical form, everything after the host kept byte for byte.
//!
//! MISP stores URLs as written. feedsmith lower-cases the scheme and the host, writes IDN
//! hosts as punycode and IP hosts canonically (so that the same URL from two feeds is one
//! indicator), and never touches the path, query or fragment, whose case and escapes can
//! matter to the server. A scheme outside [`KNOWN_SCHEMES`] is refused rather than guessed.

use std::fmt::Write as _;
use std::net::IpAddr;

use super::domain::canonical_name;
use super::ip::{parse_port, parse_v4};
use super::tld::is_tld;
use super::{Options, RejectReason, Warning, Warnings};

/// Schemes seen in threat feeds for real network locations. `meow://` and friends are not
/// here on purpose: a scheme that is not known is an error in the feed, not a web link.
pub(super) const KNOWN_SCHEMES: &[&str] = &[
    "http", "https", "ftp", "ftps", "sftp", "ws", "wss", "ldap", "ldaps", "rmi", "smb", "tcp",
    "udp", "ssh", "telnet", "irc", "ircs", "rtsp", "tftp",
];

/// Hosts whose `https://` URLs are analysis reports (MISP's `link` type). MISP reads these
/// from a warning list and falls back to exactly these two when the list is missing.
const VENDOR_DOMAINS: &[&str] = &["virustotal.com", "hybrid-analysis.com"];

/// Whether a URL needs a scheme, and whether a port at the very end is dropped as MISP's
/// free-text import drops it.
#[derive(Clone, Copy, Debug)]
pub(super) struct UrlMode {
    /// Accept `host/path` without `scheme://` (the host must then be an IP or end in a TLD).
    pub(super) scheme_optional: bool,
    /// Drop a `:port` that ends the URL ([`Warning::PortDropped`]).
    pub(super) drop_trailing_port: bool,
}

/// A canonical URL.
#[derive(Debug)]
pub(super) struct CanonicalUrl {
    /// The URL text.
    pub(super) text: String,
    /// Whether it is an `https://` URL of a security vendor (MISP's `link`).
    pub(super) vendor_link: bool,
}

/// Whether `scheme` has the syntax of RFC 3986 §3.1.
fn is_scheme_syntax(scheme: &str) -> bool {
    let mut bytes = scheme.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphabetic())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'-' | b'.'))
}

/// The scheme before `://`, when `s` starts with one (known or not).
pub(super) fn scheme_of(s: &str) -> Option<&str> {
    let (scheme, _) = s.split_once("://")?;
    is_scheme_syntax(scheme).then_some(scheme)
}

/// A character of a private-use area: its glyph, if any, depends on the reader's fonts.
fn is_private_use(c: char) -> bool {
    matches!(c, '\u{E000}'..='\u{F8FF}' | '\u{F0000}'..='\u{FFFFD}' | '\u{100000}'..='\u{10FFFD}')
}

/// Validates a URL and writes it in canonical form.
pub(super) fn canonical_url(
    s: &str,
    mode: UrlMode,
    opts: Options,
    warnings: &mut Warnings,
) -> Result<CanonicalUrl, RejectReason> {
    let (scheme, rest) = match s.split_once("://") {
        Some((scheme, rest)) => {
            if !is_scheme_syntax(scheme) {
                return Err(RejectReason::InvalidUrl);
            }
            let known = KNOWN_SCHEMES
                .iter()
                .copied()
                .find(|k| k.eq_ignore_ascii_case(scheme))
                .ok_or(RejectReason::UnknownScheme)?;
            (Some(known), rest)
        }
        None if mode.scheme_optional => (None, s),
        None => return Err(RejectReason::InvalidUrl),
    };
    // No white space of any script (an ideographic space reads as a gap, and every consumer
    // splits there), no controls and no private-use characters, which display as nothing.
    let unfit = if s.is_ascii() {
        s.bytes().any(|b| b.is_ascii_whitespace() || b.is_ascii_control())
    } else {
        s.chars().any(|c| c.is_whitespace() || c.is_control() || is_private_use(c))
    };
    if unfit {
        return Err(RejectReason::InvalidUrl);
    }
    let authority_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let (userinfo, host_port) = match authority.rsplit_once('@') {
        Some((user, host_port)) => (Some(user), host_port),
        None => (None, authority),
    };
    let (host, port) = split_host_port(host_port)?;

    let mut local = Warnings::default();
    let mut out = String::with_capacity(s.len() + 8);
    if let Some(scheme) = scheme {
        out.push_str(scheme);
        out.push_str("://");
    }
    if let Some(user) = userinfo {
        out.push_str(user);
        out.push('@');
    }
    let host_start = out.len();
    write_host(host, scheme.is_none(), opts, &mut local, &mut out)?;
    let host_end = out.len();
    if let Some(port) = port {
        let number = parse_port(port).map_err(|r| match r {
            RejectReason::PortOutOfRange => r,
            _ => RejectReason::InvalidUrl,
        })?;
        if tail.is_empty() && mode.drop_trailing_port {
            local.insert(Warning::PortDropped);
        } else {
            let _ = write!(out, ":{number}");
        }
    }
    out.push_str(tail);

    let vendor_link = scheme == Some("https") && is_vendor_host(&out[host_start..host_end]);
    for w in local.iter() {
        warnings.insert(w);
    }
    Ok(CanonicalUrl { text: out, vendor_link })
}

/// Splits `host[:port]` or `[v6][:port]`.
fn split_host_port(host_port: &str) -> Result<(&str, Option<&str>), RejectReason> {
    if let Some(inner) = host_port.strip_prefix('[') {
        let (v6, after) = inner.split_once(']').ok_or(RejectReason::InvalidUrl)?;
        // Keep the brackets on the host so that `write_host` knows it is IPv6.
        let host = &host_port[..v6.len() + 2];
        return match after {
            "" => Ok((host, None)),
            _ => after.strip_prefix(':').map(|p| (host, Some(p))).ok_or(RejectReason::InvalidUrl),
        };
    }
    match host_port.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => Ok((host, Some(port))),
        Some(_) => Err(RejectReason::InvalidUrl),
        None => Ok((host_port, None)),
    }
}

/// Writes the canonical host. Without a scheme, the host must be an IP address or a name
/// under a known TLD, or the text is not taken for a URL at all.
fn write_host(
    host: &str,
    schemeless: bool,
    opts: Options,
    warnings: &mut Warnings,
    out: &mut String,
) -> Result<(), RejectReason> {
    if host.is_empty() {
        return Err(RejectReason::InvalidUrl);
    }
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        let mut w = Warnings::default();
        let addr = super::ip::parse_addr(v6, opts, &mut w)?;
        if !v6.contains(':') {
            return Err(RejectReason::InvalidUrl);
        }
        for warning in w.iter() {
            warnings.insert(warning);
        }
        let _ = match addr {
            IpAddr::V4(v4) => write!(out, "{v4}"),
            IpAddr::V6(v6) => write!(out, "[{v6}]"),
        };
        return Ok(());
    }
    if host.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        let v4 = parse_v4(host, opts, warnings)?;
        let _ = write!(out, "{v4}");
        return Ok(());
    }
    let name = canonical_name(host, warnings)?;
    // IDNA deletes some code points outright; a host made only of them is no host.
    if name.text.is_empty() {
        return Err(RejectReason::InvalidUrl);
    }
    if schemeless && (name.labels < 2 || !name.text.rsplit('.').next().is_some_and(is_tld)) {
        return Err(RejectReason::InvalidUrl);
    }
    out.push_str(&name.text);
    Ok(())
}

/// Whether the host, or a parent domain of it by whole labels, is a security vendor's.
fn is_vendor_host(host: &str) -> bool {
    VENDOR_DOMAINS.iter().any(|vendor| {
        host == *vendor || host.strip_suffix(vendor).is_some_and(|prefix| prefix.ends_with('.'))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLASSIFY: UrlMode = UrlMode { scheme_optional: true, drop_trailing_port: true };
    const STORED: UrlMode = UrlMode { scheme_optional: false, drop_trailing_port: false };

    fn canon(s: &str, mode: UrlMode) -> Result<String, RejectReason> {
        canonical_url(s, mode, Options::default(), &mut Warnings::default()).map(|u| u.text)
    }

    #[test]
    fn lower_cases_scheme_and_host_but_keeps_the_rest() {
        assert_eq!(
            canon("HTTPS://WWW.Bad.Example/Login?Next=/A%2F#Frag", STORED).as_deref(),
            Ok("https://www.bad.example/Login?Next=/A%2F#Frag")
        );
        let raw = r"http://h.example/html?a=b;\..\..\./x";
        assert_eq!(canon(raw, STORED).as_deref(), Ok(raw));
    }

    #[test]
    fn writes_ip_hosts_canonically() {
        assert_eq!(
            canon("http://[2001:DB8:0::1]:8080/x", STORED).as_deref(),
            Ok("http://[2001:db8::1]:8080/x")
        );
        assert_eq!(canon("http://010.1.1.1/x", STORED).as_deref(), Ok("http://10.1.1.1/x"));
        assert_eq!(canon("http://[::ffff:1.2.3.4]/x", STORED).as_deref(), Ok("http://1.2.3.4/x"));
        assert_eq!(canon("http://[fe80::1%eth0]/", STORED), Err(RejectReason::ZoneIndex));
    }

    #[test]
    fn converts_idn_hosts_to_punycode() {
        assert_eq!(
            canon("http://Bücher.example/Straße", STORED).as_deref(),
            Ok("http://xn--bcher-kva.example/Straße")
        );
    }

    #[test]
    fn drops_only_a_port_that_ends_the_url_in_classify_mode() {
        let mut w = Warnings::default();
        let url = canonical_url("http://example.com:8080", CLASSIFY, Options::default(), &mut w);
        assert_eq!(url.unwrap().text, "http://example.com");
        assert!(w.contains(Warning::PortDropped));
        assert_eq!(
            canon("https://github.com:443/MISP/MISP", CLASSIFY).as_deref(),
            Ok("https://github.com:443/MISP/MISP")
        );
        assert_eq!(
            canon("http://example.com:8080", STORED).as_deref(),
            Ok("http://example.com:8080")
        );
        assert_eq!(canon("http://example.com:99999/", STORED), Err(RejectReason::PortOutOfRange));
    }

    #[test]
    fn refuses_unknown_schemes() {
        assert_eq!(canon("meow://www.bad12.example", CLASSIFY), Err(RejectReason::UnknownScheme));
        assert_eq!(canon("javascript://x.example/", STORED), Err(RejectReason::UnknownScheme));
        assert_eq!(canon("FTP://files.example/a", STORED).as_deref(), Ok("ftp://files.example/a"));
    }

    #[test]
    fn accepts_schemeless_urls_only_under_known_tlds_or_ips() {
        assert_eq!(canon("GitHub.com/MISP/MISP", CLASSIFY).as_deref(), Ok("github.com/MISP/MISP"));
        assert_eq!(canon("46.151.52.197/85.exe", CLASSIFY).as_deref(), Ok("46.151.52.197/85.exe"));
        assert_eq!(canon("path/to/file.txt", CLASSIFY), Err(RejectReason::InvalidUrl));
        assert_eq!(canon("github.com/MISP", STORED), Err(RejectReason::InvalidUrl));
        for odd in ['\u{3000}', '\u{A0}', '\u{2003}', '\u{E000}', '\u{10FFFD}'] {
            let url = format!("http://evil.example/a{odd}b");
            assert_eq!(canon(&url, STORED), Err(RejectReason::InvalidUrl), "{odd:?}");
        }
        assert!(canon("http://evil.example/caf\u{e9}", STORED).is_ok(), "letters stay");
    }

    #[test]
    fn rejects_broken_urls() {
        for s in ["http://", "http:///path", "http://a b.example/", "http://host:x/", "1http://a.b"]
        {
            assert!(canon(s, STORED).is_err(), "{s}");
        }
    }

    #[test]
    fn marks_https_vendor_reports_as_links() {
        let link = |s: &str| {
            canonical_url(s, CLASSIFY, Options::default(), &mut Warnings::default())
                .unwrap()
                .vendor_link
        };
        assert!(link("https://www.virustotal.com/example"));
        assert!(link("https://www.hybrid-analysis.com/example"));
        assert!(!link("http://www.virustotal.com/example"));
        assert!(!link("https://notvirustotal.com/example"));
    }
}
