//! IP addresses, networks and `ip|port` pairs in the form MISP stores.
//!
//! - IPv4 is dotted decimal. Zero-padded octets (`010.001.001.001`) are read as decimal, never
//!   as octal, and flagged ([`Warning::ZeroPadded`]), or rejected in strict mode.
//! - IPv6 is written as RFC 5952 says (lower-case, longest zero run compressed); an
//!   IPv4-mapped address (`::ffff:1.2.3.4`) is written as the IPv4 address it maps.
//! - Networks have their host bits cleared; `/32` and `/128` become bare addresses; prefixes
//!   shorter than /8 (IPv4) or /16 (IPv6) are refused as too broad to block.
//! - A port is written after a `|` (`1.2.3.4|443`, `2001:db8::1|443`), and must be 1..=65535.

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use super::{Options, RejectReason, Warning, Warnings};

/// The shortest IPv4 prefix accepted.
const MIN_V4_PREFIX: u8 = 8;
/// The shortest IPv6 prefix accepted.
const MIN_V6_PREFIX: u8 = 16;

/// An address or network in canonical form (host bits cleared, mapped IPv4 unmapped).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Net {
    /// The network address.
    pub(super) addr: IpAddr,
    /// The prefix length, `None` for a single address.
    pub(super) prefix: Option<u8>,
}

impl Net {
    /// Writes the canonical text into `out`.
    #[cfg(test)]
    pub(super) fn write_to(self, out: &mut String) {
        // Writing into a String cannot fail.
        let _ = match self.prefix {
            Some(len) => write!(out, "{}/{len}", self.addr),
            None => write!(out, "{}", self.addr),
        };
    }

    /// The canonical text.
    #[cfg(test)]
    pub(super) fn to_text(self) -> String {
        let mut out = String::with_capacity(48);
        self.write_to(&mut out);
        out
    }

    /// The canonical text in a box of exactly its length: formatted on the stack, so the
    /// box is the only allocation.
    pub(super) fn to_boxed(self) -> Box<str> {
        let mut buf = StackText::default();
        // The longest form, an IPv6 network, is 43 bytes; the buffer holds 64.
        match self.addr {
            // Most values of most feeds: written digit by digit, without the `fmt` machinery.
            std::net::IpAddr::V4(v4) => {
                for (i, octet) in v4.octets().into_iter().enumerate() {
                    if i > 0 {
                        buf.push(b'.');
                    }
                    buf.push_decimal(octet);
                }
                if let Some(len) = self.prefix {
                    buf.push(b'/');
                    buf.push_decimal(len);
                }
            }
            std::net::IpAddr::V6(_) => {
                let _ = match self.prefix {
                    Some(len) => write!(buf, "{}/{len}", self.addr),
                    None => write!(buf, "{}", self.addr),
                };
            }
        }
        buf.as_str().into()
    }
}

/// The text of an address or network as MISP writes it (`192.0.2.1`, `192.0.2.0/24`,
/// `2001:db8::/32`): a single address without its prefix length.
#[must_use]
pub fn net_text(net: &ipnet::IpNet) -> Box<str> {
    let prefix = (net.prefix_len() < net.max_prefix_len()).then_some(net.prefix_len());
    Net { addr: net.addr(), prefix }.to_boxed()
}

/// The first and last address of `text` when it is an IPv4 address or network exactly as
/// the classifier writes one: no zero-padded octet, no host bit set, a prefix of /8 to /31
/// (`192.0.2.1`, `192.0.2.0/24`); `None` for any other text, which may still be an address.
#[must_use]
pub fn canonical_v4(text: &[u8]) -> Option<(u32, u32)> {
    // One pass over the bytes: this runs once per line of lists of millions.
    let (mut value, mut octet, mut digits, mut dots) = (0u32, 0u32, 0, 0);
    let mut end = text.len();
    for (at, &byte) in text.iter().enumerate() {
        match byte {
            b'0'..=b'9' => {
                // A second digit after a leading zero is a zero-padded octet.
                if digits == 1 && octet == 0 {
                    return None;
                }
                octet = octet * 10 + u32::from(byte - b'0');
                digits += 1;
                if octet > 255 {
                    return None;
                }
            }
            b'.' if digits > 0 && dots < 3 => {
                value = (value << 8) | octet;
                (octet, digits, dots) = (0, 0, dots + 1);
            }
            b'/' => {
                end = at;
                break;
            }
            _ => return None,
        }
    }
    if digits == 0 || dots != 3 {
        return None;
    }
    let value = (value << 8) | octet;
    let Some(prefix) = text.get(end + 1..) else { return Some((value, value)) };
    let length = canonical_number(prefix, 31)?;
    if length < 8 {
        return None;
    }
    let host = u32::MAX >> length;
    (value & host == 0).then_some((value, value | host))
}

/// A decimal number of one to three digits without a leading zero, at most `max`.
fn canonical_number(digits: &[u8], max: u32) -> Option<u32> {
    let leading_zero = digits.len() > 1 && digits[0] == b'0';
    if digits.is_empty() || digits.len() > 3 || leading_zero {
        return None;
    }
    let mut number = 0;
    for &digit in digits {
        if !digit.is_ascii_digit() {
            return None;
        }
        number = number * 10 + u32::from(digit - b'0');
    }
    (number <= max).then_some(number)
}

/// A fixed buffer that formats short text without allocating.
struct StackText {
    buf: [u8; 64],
    len: usize,
}

impl Default for StackText {
    fn default() -> Self {
        StackText { buf: [0; 64], len: 0 }
    }
}

impl StackText {
    /// Appends one ASCII byte (the buffer is large enough for any address text).
    fn push(&mut self, byte: u8) {
        if self.len < self.buf.len() {
            self.buf[self.len] = byte;
            self.len += 1;
        }
    }

    /// Appends `n` in decimal, without leading zeros.
    fn push_decimal(&mut self, n: u8) {
        if n >= 100 {
            self.push(b'0' + n / 100);
        }
        if n >= 10 {
            self.push(b'0' + n / 10 % 10);
        }
        self.push(b'0' + n % 10);
    }

    fn as_str(&self) -> &str {
        // Only whole `&str`s and ASCII digits and punctuation are copied in: the bytes are UTF-8.
        std::str::from_utf8(&self.buf[..self.len]).unwrap_or_default()
    }
}

impl std::fmt::Write for StackText {
    fn write_str(&mut self, s: &str) -> std::fmt::Result {
        let end = self.len + s.len();
        let slot = self.buf.get_mut(self.len..end).ok_or(std::fmt::Error)?;
        slot.copy_from_slice(s.as_bytes());
        self.len = end;
        Ok(())
    }
}

/// Parses a single address. `Err(InvalidIp)` means the text is not an address at all; any
/// other reason means it is one, but refused (zone index, zero padding in strict mode).
pub(super) fn parse_addr(
    s: &str,
    opts: Options,
    warnings: &mut Warnings,
) -> Result<IpAddr, RejectReason> {
    if s.contains(':') {
        parse_v6(s, warnings)
    } else {
        parse_v4(s, opts, warnings).map(IpAddr::V4)
    }
}

/// Parses dotted-decimal IPv4, reading zero-padded octets as decimal.
pub(super) fn parse_v4(
    s: &str,
    opts: Options,
    warnings: &mut Warnings,
) -> Result<Ipv4Addr, RejectReason> {
    let mut octets = [0u8; 4];
    let mut count = 0;
    let mut padded = false;
    for part in s.split('.') {
        let slot = octets.get_mut(count).ok_or(RejectReason::InvalidIp)?;
        let digits = part.as_bytes();
        if digits.is_empty() || digits.len() > 3 || !digits.iter().all(u8::is_ascii_digit) {
            return Err(RejectReason::InvalidIp);
        }
        let value = digits.iter().fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
        *slot = u8::try_from(value).map_err(|_| RejectReason::InvalidIp)?;
        padded |= digits.len() > 1 && digits[0] == b'0';
        count += 1;
    }
    if count != 4 {
        return Err(RejectReason::InvalidIp);
    }
    if padded {
        if opts.strict_zero_padded {
            return Err(RejectReason::ZeroPadded);
        }
        warnings.insert(Warning::ZeroPadded);
    }
    Ok(Ipv4Addr::from(octets))
}

/// Parses IPv6 (any spelling `std` accepts); a mapped IPv4 address comes back as IPv4.
fn parse_v6(s: &str, warnings: &mut Warnings) -> Result<IpAddr, RejectReason> {
    if let Some((addr, _zone)) = s.split_once('%') {
        return match addr.parse::<Ipv6Addr>() {
            Ok(_) => Err(RejectReason::ZoneIndex),
            Err(_) => Err(RejectReason::InvalidIp),
        };
    }
    let v6 = s.parse::<Ipv6Addr>().map_err(|_| RejectReason::InvalidIp)?;
    Ok(match v6.to_ipv4_mapped() {
        Some(v4) => {
            warnings.insert(Warning::MappedIpv4);
            IpAddr::V4(v4)
        }
        None => IpAddr::V6(v6),
    })
}

/// Parses an address or a network `addr/len` into canonical form.
pub(super) fn parse_net(
    s: &str,
    opts: Options,
    warnings: &mut Warnings,
) -> Result<Net, RejectReason> {
    let Some((addr_text, len_text)) = s.split_once('/') else {
        return parse_addr(s, opts, warnings).map(|addr| Net { addr, prefix: None });
    };
    let len_bytes = len_text.as_bytes();
    if len_bytes.is_empty() || len_bytes.len() > 3 || !len_bytes.iter().all(u8::is_ascii_digit) {
        return Err(RejectReason::InvalidIp);
    }
    let len = len_bytes.iter().fold(0u16, |acc, d| acc * 10 + u16::from(d - b'0'));
    let mut local = Warnings::default();
    let addr = parse_addr(addr_text, opts, &mut local)?;
    // A mapped network is only IPv4 when its prefix stays inside the mapped range.
    let (addr, len) = match addr {
        IpAddr::V4(v4) if local.contains(Warning::MappedIpv4) => {
            if len < 96 {
                (IpAddr::V6(v4.to_ipv6_mapped()), len)
            } else {
                (addr, len - 96)
            }
        }
        _ => (addr, len),
    };
    let canonical = match addr {
        IpAddr::V4(v4) => {
            let len = u8::try_from(len).ok().filter(|&l| l <= 32).ok_or(RejectReason::InvalidIp)?;
            if len < MIN_V4_PREFIX {
                return Err(RejectReason::PrefixTooShort);
            }
            let bits = u32::from(v4);
            let masked = if len == 0 { 0 } else { bits & (u32::MAX << (32 - len)) };
            if masked != bits {
                local.insert(Warning::HostBits);
            }
            Net { addr: IpAddr::V4(Ipv4Addr::from(masked)), prefix: (len < 32).then_some(len) }
        }
        IpAddr::V6(v6) => {
            let len =
                u8::try_from(len).ok().filter(|&l| l <= 128).ok_or(RejectReason::InvalidIp)?;
            if len < MIN_V6_PREFIX {
                return Err(RejectReason::PrefixTooShort);
            }
            let bits = u128::from(v6);
            let masked = if len == 0 { 0 } else { bits & (u128::MAX << (128 - len)) };
            if masked != bits {
                local.insert(Warning::HostBits);
            }
            Net { addr: IpAddr::V6(Ipv6Addr::from(masked)), prefix: (len < 128).then_some(len) }
        }
    };
    *warnings = merge(*warnings, local);
    Ok(canonical)
}

/// Parses a port: 1 to 5 ASCII digits with a value in 1..=65535.
pub(super) fn parse_port(s: &str) -> Result<u16, RejectReason> {
    let bytes = s.as_bytes();
    if bytes.is_empty() || !bytes.iter().all(u8::is_ascii_digit) {
        return Err(RejectReason::InvalidValue);
    }
    if bytes.len() > 5 {
        return Err(RejectReason::PortOutOfRange);
    }
    let value = bytes.iter().fold(0u32, |acc, d| acc * 10 + u32::from(d - b'0'));
    u16::try_from(value).ok().filter(|&p| p != 0).ok_or(RejectReason::PortOutOfRange)
}

/// Writes `ip|port`.
pub(super) fn ip_port_text(addr: IpAddr, port: u16) -> String {
    let mut out = String::with_capacity(48);
    let _ = write!(out, "{addr}|{port}");
    out
}

/// Parses an `ip|port` value in any spelling MISP accepts on save that is not ambiguous:
/// `ip:port`, `ip|port`, `[v6]:port`, `[v6]|port`, `v6|port`. A bare `v6:port` is refused,
/// because the last group of an IPv6 address cannot be told from a port.
pub(super) fn parse_ip_port(
    s: &str,
    opts: Options,
    warnings: &mut Warnings,
) -> Result<(IpAddr, u16), RejectReason> {
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']').ok_or(RejectReason::InvalidIp)?;
        let port = after
            .strip_prefix(':')
            .or_else(|| after.strip_prefix('|'))
            .ok_or(RejectReason::InvalidValue)?;
        if !host.contains(':') {
            return Err(RejectReason::InvalidIp);
        }
        (host, port)
    } else if let Some(split) = s.split_once('|') {
        split
    } else {
        let (host, port) = s.rsplit_once(':').ok_or(RejectReason::InvalidValue)?;
        if host.contains(':') {
            return Err(RejectReason::InvalidValue);
        }
        (host, port)
    };
    let addr = parse_addr(host, opts, warnings)?;
    Ok((addr, parse_port(port)?))
}

fn merge(a: Warnings, b: Warnings) -> Warnings {
    let mut out = a;
    for w in b.iter() {
        out.insert(w);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Result<(String, Warnings), RejectReason> {
        let mut w = Warnings::default();
        parse_net(s, Options::default(), &mut w).map(|n| (n.to_text(), w))
    }

    fn text(s: &str) -> String {
        net(s).map_or_else(|r| format!("rejected {r}"), |(t, _)| t)
    }

    #[test]
    fn reads_zero_padded_octets_as_decimal() {
        let (v, w) = net("010.001.001.001").unwrap();
        assert_eq!(v, "10.1.1.1");
        assert!(w.contains(Warning::ZeroPadded));
        assert_eq!(text("192.0.2.019"), "192.0.2.19");
        assert!(!net("10.1.1.1").unwrap().1.contains(Warning::ZeroPadded));
    }

    #[test]
    fn rejects_zero_padded_octets_in_strict_mode() {
        let opts = Options { strict_zero_padded: true };
        let r = parse_net("198.051.100.007", opts, &mut Warnings::default());
        assert_eq!(r, Err(RejectReason::ZeroPadded));
        assert!(parse_net("198.51.100.7", opts, &mut Warnings::default()).is_ok());
    }

    #[test]
    fn rejects_malformed_ipv4() {
        for s in ["1.2.3", "1.2.3.4.5", "1.2.3.256", "1.2.3.", "1..2.3", "1.2.3.0004", "a.b.c.d"] {
            assert_eq!(text(s), "rejected invalid_ip", "{s}");
        }
    }

    #[test]
    fn writes_ipv6_in_rfc_5952_form() {
        assert_eq!(text("2001:DB8:0:0:0:0:0:1"), "2001:db8::1");
        assert_eq!(text("2001:0db8:0000:0000:0000:ff00:0042:8329"), "2001:db8::ff00:42:8329");
        // RFC 5952 §4.2.2: a single zero group is not compressed.
        assert_eq!(text("2001:db8:0:1:1:1:1:1"), "2001:db8:0:1:1:1:1:1");
        // §4.2.3: of two equal runs the first is compressed.
        assert_eq!(text("2001:db8:0:0:1:0:0:1"), "2001:db8::1:0:0:1");
        // §4.2.3: the longest run wins.
        assert_eq!(text("2001:0:0:1:0:0:0:1"), "2001:0:0:1::1");
    }

    #[test]
    fn writes_mapped_ipv4_as_ipv4() {
        let (v, w) = net("::ffff:198.51.100.9").unwrap();
        assert_eq!(v, "198.51.100.9");
        assert!(w.contains(Warning::MappedIpv4));
        assert_eq!(text("::FFFF:c633:6409"), "198.51.100.9");
        assert_eq!(text("::ffff:198.51.100.0/120"), "198.51.100.0/24");
    }

    #[test]
    fn rejects_zone_index() {
        assert_eq!(text("fe80::1%eth0"), "rejected zone_index");
        assert_eq!(text("fe80::1%25"), "rejected zone_index");
        assert_eq!(text("nothing%eth0:"), "rejected invalid_ip");
    }

    #[test]
    fn clears_host_bits_with_a_warning() {
        let (v, w) = net("203.0.113.77/24").unwrap();
        assert_eq!(v, "203.0.113.0/24");
        assert!(w.contains(Warning::HostBits));
        let (v, w) = net("203.0.113.0/25").unwrap();
        assert_eq!(v, "203.0.113.0/25");
        assert!(!w.contains(Warning::HostBits));
        assert_eq!(text("2001:db8:abcd:1::/48"), "2001:db8:abcd::/48");
    }

    #[test]
    fn drops_full_length_prefixes() {
        assert_eq!(text("198.51.100.7/32"), "198.51.100.7");
        assert_eq!(text("2a00:1450:4005:80a::2003/128"), "2a00:1450:4005:80a::2003");
    }

    #[test]
    fn rejects_prefixes_too_short_or_out_of_range() {
        assert_eq!(text("10.0.0.0/7"), "rejected prefix_too_short");
        assert_eq!(text("0.0.0.0/0"), "rejected prefix_too_short");
        assert_eq!(text("10.0.0.0/8"), "10.0.0.0/8");
        assert_eq!(text("2001::/15"), "rejected prefix_too_short");
        assert_eq!(text("2001::/16"), "2001::/16");
        assert_eq!(text("1.2.3.4/33"), "rejected invalid_ip");
        assert_eq!(text("1.2.3.4/99"), "rejected invalid_ip");
        assert_eq!(text("::1/129"), "rejected invalid_ip");
        assert_eq!(text("1.2.3.4/"), "rejected invalid_ip");
        assert_eq!(text("1.2.3.4/x"), "rejected invalid_ip");
    }

    #[test]
    fn parses_ports_in_range_only() {
        assert_eq!(parse_port("443"), Ok(443));
        assert_eq!(parse_port("65535"), Ok(65535));
        assert_eq!(parse_port("0"), Err(RejectReason::PortOutOfRange));
        assert_eq!(parse_port("65536"), Err(RejectReason::PortOutOfRange));
        assert_eq!(parse_port("99999"), Err(RejectReason::PortOutOfRange));
        assert_eq!(parse_port("1234567"), Err(RejectReason::PortOutOfRange));
        assert_eq!(parse_port(""), Err(RejectReason::InvalidValue));
    }

    #[test]
    fn parses_ip_port_spellings() {
        let parse = |s: &str| {
            parse_ip_port(s, Options::default(), &mut Warnings::default())
                .map(|(a, p)| ip_port_text(a, p))
        };
        assert_eq!(parse("1.2.3.4:443").as_deref(), Ok("1.2.3.4|443"));
        assert_eq!(parse("1.2.3.4|443").as_deref(), Ok("1.2.3.4|443"));
        assert_eq!(parse("[2001:DB8::10]:8443").as_deref(), Ok("2001:db8::10|8443"));
        assert_eq!(parse("2001:db8::10|8443").as_deref(), Ok("2001:db8::10|8443"));
        assert_eq!(parse("2001:db8::10:8443"), Err(RejectReason::InvalidValue));
        assert_eq!(parse("1.2.3.4:0"), Err(RejectReason::PortOutOfRange));
        assert_eq!(parse("[1.2.3.4]:80"), Err(RejectReason::InvalidIp));
    }

    proptest::proptest! {
        #[test]
        fn the_canonical_reader_agrees_with_ipnet_on_every_address_and_network(
            address in proptest::prelude::any::<u32>(),
            len in 0u8..=33,
        ) {
            let text = if len == 33 {
                std::net::Ipv4Addr::from(address).to_string()
            } else {
                format!("{}/{len}", std::net::Ipv4Addr::from(address))
            };
            let net: ipnet::Ipv4Net = match text.parse() {
                Ok(net) => net,
                Err(_) => ipnet::Ipv4Net::from(text.parse::<Ipv4Addr>().unwrap()),
            };
            // The form the classifier writes: no host bit, a prefix of 8 to 31, or no prefix.
            let canonical = len == 33 || ((8..=31).contains(&len) && net.network() == net.addr());
            let expected =
                canonical.then(|| (u32::from(net.network()), u32::from(net.broadcast())));
            proptest::prop_assert_eq!(canonical_v4(text.as_bytes()), expected, "{}", text);
        }
    }
}
