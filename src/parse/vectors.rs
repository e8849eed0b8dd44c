//! MISP's own type-detection test vectors (`shared/misp/freetext.md` §7, with the quirks of §8
//! and the spec's §5), run through feedsmith's readers, one table row per vector.
//!
//! Each row gives what MISP **stores** for the input: the type its detector gives and the
//! value after its save-time normalisation (feed-format.md §9), since feedsmith returns that
//! stored form at once. A row is either the same in feedsmith, or a documented difference:
//! then it names the section of `docs/misp-differences.md` that says why, and that file's
//! table of test vectors must list it.
//!
//! The vectors were written for MISP's 22-entry fallback TLD list; MISP's feeds use the IANA
//! list (freetext.md §5.3), and so does feedsmith, so rows whose answer depends on the list
//! give the IANA answer and say so.

use crate::config::{CsvOptions, FreetextOptions};
use crate::indicator::{self, AttrType, Options};
use crate::parse::{self, ParsedFeed};

/// How a vector's input reaches feedsmith.
#[derive(Clone, Copy, Debug)]
enum Via {
    /// One candidate, classified alone (the spec's default).
    Candidate,
    /// A free-text body, with feedsmith's defaults (comment lines skipped).
    Freetext,
    /// A free-text body read as MISP reads it (`skip_comments = false`).
    FreetextAsMisp,
    /// A CSV body with this delimiter and these 1-based value columns (empty: all).
    Csv(&'static str, &'static [usize]),
    /// A value of a known type, as MISP saves an attribute (refanging and normalisation).
    Saved(AttrType),
}

/// What feedsmith gives compared with MISP.
#[derive(Clone, Copy, Debug)]
enum Outcome {
    /// The same as MISP stores.
    Same,
    /// Deliberately different: feedsmith's result, the heading of the section of
    /// `docs/misp-differences.md` that explains it, and how that file's vector table writes
    /// the input.
    Differs {
        feedsmith: &'static [(&'static str, &'static str)],
        section: &'static str,
        shown: &'static str,
    },
}

struct Vector {
    input: &'static str,
    via: Via,
    /// What MISP stores: `(type, value)` per attribute, in order; empty when MISP keeps
    /// nothing.
    misp: &'static [(&'static str, &'static str)],
    outcome: Outcome,
}

const fn same(
    input: &'static str,
    via: Via,
    misp: &'static [(&'static str, &'static str)],
) -> Vector {
    Vector { input, via, misp, outcome: Outcome::Same }
}

const fn differs(
    input: &'static str,
    via: Via,
    misp: &'static [(&'static str, &'static str)],
    feedsmith: &'static [(&'static str, &'static str)],
    section: &'static str,
    shown: &'static str,
) -> Vector {
    Vector { input, via, misp, outcome: Outcome::Differs { feedsmith, section, shown } }
}

use Via::{Candidate, Csv, Freetext, FreetextAsMisp, Saved};

const NONE: &[(&str, &str)] = &[];
const TLD: &str = "The TLD set is always the IANA list, plus special-use names";
const ZERO_PADDED: &str = "Zero-padded IPv4 octets are read as decimal";
const MAPPED: &str = "IPv4-mapped IPv6, zone indexes and too-broad networks";
const HOST_BITS: &str = "Host bits are cleared and masks are checked";
const PORTS: &str = "Ports: checked, and an unbracketed IPv6 address is never split";
const REFANG: &str = "Refanging: more spellings, no `meow`, no guessing of schemes";
const TRAILING_DOT: &str = "Exactly one trailing dot is removed";
const UNDERSCORES: &str = "Names in other scripts and underscores";
const TRUNCATED: &str = "Truncated and oversized values are rejected";
const HIDDEN: &str = "Invisible characters";
const COMMENTS: &str = "Comment lines and trailing comments are skipped";
const URLS: &str = "URLs: canonical scheme and host, stricter without a scheme";
const URL_ITEMS: &str = "URLs in free text keep their commas and semicolons";

/// freetext.md §7, row by row, then the §5 and §8 behaviour the issue names.
const VECTORS: &[Vector] = &[
    // §7: addresses.
    same("127.0.0.1", Candidate, &[("ip-dst", "127.0.0.1")]),
    same("we also saw an IP address (8.8.8.8).", Freetext, &[("ip-dst", "8.8.8.8")]),
    same("127.0.0.1:8080", Candidate, &[("ip-dst|port", "127.0.0.1|8080")]),
    // Detected as `127.0.0.1/32`, stored as the bare address.
    same("127.0.0.1/32", Candidate, &[("ip-dst", "127.0.0.1")]),
    same("2a00:1450:4005:80a::2003", Candidate, &[("ip-dst", "2a00:1450:4005:80a::2003")]),
    same("fe80:0000:f2cd:7d80:3f37:52c6", Candidate, NONE),
    same("2a00:1450:4005:80a::2003/128", Candidate, &[("ip-dst", "2a00:1450:4005:80a::2003")]),
    same(
        "[1fff:0:a88:85a3::ac1f]:8001",
        Candidate,
        &[("ip-dst|port", "1fff:0:a88:85a3::ac1f|8001")],
    ),
    // §7: names.
    same("example.com", Candidate, &[("domain", "example.com")]),
    same("example.example.com", Candidate, &[("hostname", "example.example.com")]),
    same("example.com.", Candidate, &[("domain", "example.com")]),
    // With the TLD set `{com}` MISP gives `filename`; feedsmith's set always holds the
    // special-use name `example`.
    differs(
        "example.example",
        Candidate,
        &[("filename", "example.example")],
        &[("domain", "example.example")],
        TLD,
        "example.example",
    ),
    // With a suffix that is no TLD the rule is the same in both.
    same("example.notatld", Candidate, &[("filename", "example.notatld")]),
    // The vector says `filename` for the fallback list; with the IANA list MISP's feeds use,
    // `zip` is a TLD and the answer is `hostname` (the spec's own note).
    same("example.txt.zip", Candidate, &[("hostname", "example.txt.zip")]),
    same("/var/log/example.txt.zip", Candidate, &[("filename", "/var/log/example.txt.zip")]),
    same(r"C:\example.txt.zip", Candidate, &[("filename", r"C:\example.txt.zip")]),
    same(
        r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion",
        Candidate,
        &[("regkey", r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion")],
    ),
    same("example.com:80", Candidate, &[("domain", "example.com")]),
    same("EXAMPLE.COM", Candidate, &[("domain", "example.com")]),
    // Stored in punycode (RFC 3492, checked with Python's `idna` codec).
    same("háčkyčárky.cz", Candidate, &[("domain", "xn--hkyrky-ptac70bc.cz")]),
    same("xn--ghq549cb2anjl2suxo.com", Candidate, &[("domain", "xn--ghq549cb2anjl2suxo.com")]),
    // The vector's TLD set `{xn--fiqs8s}` is part of the IANA list.
    same("xn--lbrs59br5a.xn--fiqs8s", Candidate, &[("domain", "xn--lbrs59br5a.xn--fiqs8s")]),
    same("2018-08-21", Candidate, NONE),
    // §7: e-mail.
    same("test@example.com", Candidate, &[("email-src", "test@example.com")]),
    same("test[@]example.com", Candidate, &[("email-src", "test@example.com")]),
    same("test[at]example.com", Candidate, &[("email-src", "test@example.com")]),
    // §7: URLs.
    same("http://example.com", Candidate, &[("url", "http://example.com")]),
    same("https://example.com", Candidate, &[("url", "https://example.com")]),
    same(
        "https://github.com:443/MISP/MISP",
        Candidate,
        &[("url", "https://github.com:443/MISP/MISP")],
    ),
    same("http://example.com:8080", Candidate, &[("url", "http://example.com")]),
    same("github.com/MISP/MISP", Candidate, &[("url", "github.com/MISP/MISP")]),
    same(
        "https://www.virustotal.com/example",
        Candidate,
        &[("link", "https://www.virustotal.com/example")],
    ),
    same(
        "https://www.hybrid-analysis.com/example",
        Candidate,
        &[("link", "https://www.hybrid-analysis.com/example")],
    ),
    same("hxxp://example.com", Candidate, &[("url", "http://example.com")]),
    same("hxtp://example.com", Candidate, &[("url", "http://example.com")]),
    same("htxp://example.com", Candidate, &[("url", "http://example.com")]),
    same("hxxps://example.com", Candidate, &[("url", "https://example.com")]),
    same("hxtps://example.com", Candidate, &[("url", "https://example.com")]),
    same("htxps://example.com", Candidate, &[("url", "https://example.com")]),
    // §7: other types.
    same(
        "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa",
        Candidate,
        &[("btc", "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa")],
    ),
    same(
        "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4",
        Candidate,
        &[("btc", "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4")],
    ),
    same(
        "24:VGXGP7L5e/Ixt3af/WKPPaYpzg4m3XWMCsXNCRs0:kYDxcfPZpelCs9Cm0",
        Candidate,
        &[("ssdeep", "24:VGXGP7L5e/Ixt3af/WKPPaYpzg4m3XWMCsXNCRs0:kYDxcfPZpelCs9Cm0")],
    ),
    same("CVE-2019-16202", Candidate, &[("vulnerability", "CVE-2019-16202")]),
    same("cve-2019-16202", Candidate, &[("vulnerability", "CVE-2019-16202")]),
    // Detected as `AS0` once after de-duplication, stored as the number.
    same("as0 AS0", FreetextAsMisp, &[("AS", "0")]),
    // §7: hashes, stored lower-case.
    same(
        "9e107d9d372bb6826bd81d3542a419d6",
        Candidate,
        &[("md5", "9e107d9d372bb6826bd81d3542a419d6")],
    ),
    same(
        "9E107D9D372BB6826BD81D3542A419D6",
        Candidate,
        &[("md5", "9e107d9d372bb6826bd81d3542a419d6")],
    ),
    same(
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        Candidate,
        &[("sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709")],
    ),
    same(
        "ahoj.txt|9e107d9d372bb6826bd81d3542a419d6",
        Candidate,
        &[("filename|md5", "ahoj.txt|9e107d9d372bb6826bd81d3542a419d6")],
    ),
    // §7: junk.
    same("cK753n3MVw", Candidate, NONE),
    same("|", Candidate, NONE),
    same("&", Candidate, NONE),
    same("$", Candidate, NONE),
    same("0", Candidate, NONE),
    same(":80", Candidate, NONE),
    same("1.2", Candidate, NONE),
    same("[]:80", Candidate, NONE),
    same(r"\.", Candidate, NONE),
    same(".", Candidate, NONE),
    same(":", Candidate, NONE),
    same("a:b", Candidate, NONE),
    same("a:b:c", Candidate, NONE),
    // §7: free-text separators, quotes and de-duplication.
    same(
        "127.0.0.1\u{A0}127.0.0.2",
        FreetextAsMisp,
        &[("ip-dst", "127.0.0.1"), ("ip-dst", "127.0.0.2")],
    ),
    same(
        "127.0.0.1\u{1D}127.0.0.2",
        FreetextAsMisp,
        &[("ip-dst", "127.0.0.1"), ("ip-dst", "127.0.0.2")],
    ),
    same(
        "=\"127.0.0.1\",=\"127.0.0.2\",\"\",\"1\"",
        FreetextAsMisp,
        &[("ip-dst", "127.0.0.1"), ("ip-dst", "127.0.0.2")],
    ),
    same("1.2.3.4 1.2.3.4", FreetextAsMisp, &[("ip-dst", "1.2.3.4")]),
    same(
        "# LAST 1000 # UTC UPDATE 2020-07-13 08:15:00\n\
         127.0.0.1,(127.0.0.2),  <127.0.0.3>; \"127.0.0.4\" \"'127.0.0.5'\"",
        FreetextAsMisp,
        FIVE_LOOPBACKS,
    ),
    // feedsmith's default reads the header as a comment line; the result is the same.
    same(
        "# LAST 1000 # UTC UPDATE 2020-07-13 08:15:00\n\
         127.0.0.1,(127.0.0.2),  <127.0.0.3>; \"127.0.0.4\" \"'127.0.0.5'\"",
        Freetext,
        FIVE_LOOPBACKS,
    ),
    // §7: CSV.
    same(
        "# Downloaded from 1.1.1.1\n\n127.0.0.1\n\"127.0.0.2\"",
        Csv(",", &[]),
        &[("ip-dst", "127.0.0.1"), ("ip-dst", "127.0.0.2")],
    ),
    same(
        "#####\n# Downloaded from 1.1.1.1\n#####\n127.0.0.1\t127.0.0.3\n\"127.0.0.2\"\n   \
         192.0.2.10\n   192.0.2.11",
        Csv("\t", &[]),
        &[
            ("ip-dst", "127.0.0.1"),
            ("ip-dst", "127.0.0.3"),
            ("ip-dst", "127.0.0.2"),
            ("ip-dst", "192.0.2.10"),
            ("ip-dst", "192.0.2.11"),
        ],
    ),
    same(
        "127.0.0.1\t127.0.0.2\n127.0.0.3\t127.0.0.4",
        Csv("\t", &[1]),
        &[("ip-dst", "127.0.0.1"), ("ip-dst", "127.0.0.3")],
    ),
    same(",,,\t\n,,,,,", Csv(",", &[]), NONE),
    // §7: refanging on save, per type.
    same("127[.]0[.]0[.]1", Saved(AttrType::IpSrc), &[("ip-src", "127.0.0.1")]),
    same("127[dot]0[dot]0[dot]1", Saved(AttrType::IpSrc), &[("ip-src", "127.0.0.1")]),
    same("127(dot)0(dot)0(dot)1", Saved(AttrType::IpSrc), &[("ip-src", "127.0.0.1")]),
    differs(
        "meow://example.com",
        Saved(AttrType::Url),
        &[("url", "http://example.com")],
        NONE,
        REFANG,
        "meow://example.com",
    ),
    same("h[tt]p://example.com", Saved(AttrType::Url), &[("url", "http://example.com")]),
    same("admin@admin[.]test", Saved(AttrType::EmailSrc), &[("email-src", "admin@admin.test")]),
    same("admin[@]admin[.]test", Saved(AttrType::EmailSrc), &[("email-src", "admin@admin.test")]),
    same(
        "admin[at]admin[dot]test",
        Saved(AttrType::EmailSrc),
        &[("email-src", "admin@admin.test")],
    ),
    same(
        r"http://h.example/html?a=b;\..\..\./x",
        Saved(AttrType::Url),
        &[("url", r"http://h.example/html?a=b;\..\..\./x")],
    ),
    // §8: ports are 2 to 5 digits and range-checked only on save.
    same("1.2.3.4:99999", Candidate, NONE),
    differs("1.2.3.4:8", Candidate, NONE, &[("ip-dst|port", "1.2.3.4|8")], PORTS, "1.2.3.4:8"),
    // §8: CIDR masks are checked only on save.
    same("1.2.3.4/99", Candidate, NONE),
    // §8: pre-composed `ip|port` and `domain|ip` strings are not recognised.
    same("1.2.3.4|80", Candidate, NONE),
    same("example.com|1.2.3.4", Candidate, NONE),
    // §3 and §5: behaviour the issue asks feedsmith to improve on.
    differs(
        "# c2 at bad.example\n192.0.2.1 # seen 2024\n",
        Freetext,
        &[("domain", "bad.example"), ("ip-dst", "192.0.2.1")],
        &[("ip-dst", "192.0.2.1")],
        COMMENTS,
        "# c2 at bad.example",
    ),
    differs(
        "198.051.100.007",
        Candidate,
        NONE,
        &[("ip-dst", "198.51.100.7")],
        ZERO_PADDED,
        "198.051.100.007",
    ),
    differs("10.0.0.0/7", Candidate, &[("ip-dst", "10.0.0.0/7")], NONE, MAPPED, "10.0.0.0/7"),
    differs("2000::/15", Candidate, &[("ip-dst", "2000::/15")], NONE, MAPPED, "2000::/15"),
    differs(
        "::ffff:198.51.100.9",
        Candidate,
        &[("ip-dst", "::ffff:198.51.100.9")],
        &[("ip-dst", "198.51.100.9")],
        MAPPED,
        "::ffff:198.51.100.9",
    ),
    same("fe80::1%eth0", Candidate, NONE),
    differs(
        "203.0.113.77/24",
        Candidate,
        &[("ip-dst", "203.0.113.77/24")],
        &[("ip-dst", "203.0.113.0/24")],
        HOST_BITS,
        "203.0.113.77/24",
    ),
    differs(
        "bad.example..",
        Candidate,
        &[("domain", "bad.example")],
        NONE,
        TRAILING_DOT,
        "bad.example..",
    ),
    differs(
        "bad[DOT]example",
        Candidate,
        NONE,
        &[("domain", "bad.example")],
        REFANG,
        "bad[DOT]example",
    ),
    // MISP's answer here is the spec's belief ("we believe it ends up as `filename`").
    differs(
        "foo_bar.example.com",
        Candidate,
        &[("filename", "foo_bar.example.com")],
        &[("hostname", "foo_bar.example.com")],
        UNDERSCORES,
        "foo_bar.example.com",
    ),
    differs(
        "http://bad.example/login/privatkunden/DE/b97141a…",
        Candidate,
        &[("url", "http://bad.example/login/privatkunden/DE/b97141a…")],
        NONE,
        TRUNCATED,
        "http://bad.example/login/privatkunden/DE/b97141a…",
    ),
    differs(
        "login\u{200B}.microsoft.com",
        FreetextAsMisp,
        &[("domain", "microsoft.com")],
        NONE,
        HIDDEN,
        "login<U+200B>.microsoft.com",
    ),
    differs(
        "http://bad.example/p?a=1&amp;b=2",
        FreetextAsMisp,
        &[("url", "http://bad.example/p?a=1&amp")],
        &[("url", "http://bad.example/p?a=1&amp;b=2")],
        URL_ITEMS,
        "http://bad.example/p?a=1&amp;b=2",
    ),
    // A value MISP stores in canonical form only on save, which feedsmith gives at once.
    same("2001:DB8:0:0:0:0:0:1", Candidate, &[("ip-dst", "2001:db8::1")]),
    // feed-format.md §9: what MISP's save step stores, per type.
    same("2001:DB8:0:0:0:0:0:1/128", Saved(AttrType::IpDst), &[("ip-dst", "2001:db8::1")]),
    same("10.0.0.0/8", Saved(AttrType::IpSrc), &[("ip-src", "10.0.0.0/8")]),
    same("1.2.3.4:80", Saved(AttrType::IpDstPort), &[("ip-dst|port", "1.2.3.4|80")]),
    same("[2001:DB8::1]:443", Saved(AttrType::IpSrcPort), &[("ip-src|port", "2001:db8::1|443")]),
    same("2001:db8::1|443", Saved(AttrType::IpDstPort), &[("ip-dst|port", "2001:db8::1|443")]),
    differs(
        "2001:db8::1#443",
        Saved(AttrType::IpDstPort),
        &[("ip-dst|port", "2001:db8::1|443")],
        NONE,
        PORTS,
        "2001:db8::1#443",
    ),
    same("WWW.Example.COM.", Saved(AttrType::Domain), &[("domain", "www.example.com")]),
    same("Bücher.example", Saved(AttrType::Domain), &[("domain", "xn--bcher-kva.example")]),
    same("Host.Example.com", Saved(AttrType::Hostname), &[("hostname", "host.example.com")]),
    differs(
        "c2.bad.example.",
        Saved(AttrType::Hostname),
        NONE,
        &[("hostname", "c2.bad.example")],
        TRAILING_DOT,
        "c2.bad.example.",
    ),
    same(
        "Example.com|2001:DB8::1",
        Saved(AttrType::DomainIp),
        &[("domain|ip", "example.com|2001:db8::1")],
    ),
    same(
        "Bad.Example:8080",
        Saved(AttrType::HostnamePort),
        &[("hostname|port", "bad.example|8080")],
    ),
    same("Admin@Example.COM", Saved(AttrType::EmailDst), &[("email-dst", "admin@example.com")]),
    same(
        "9E107D9D372BB6826BD81D3542A419D6",
        Saved(AttrType::Md5),
        &[("md5", "9e107d9d372bb6826bd81d3542a419d6")],
    ),
    same(
        "A.EXE|9E107D9D372BB6826BD81D3542A419D6",
        Saved(AttrType::FilenameMd5),
        &[("filename|md5", "A.EXE|9e107d9d372bb6826bd81d3542a419d6")],
    ),
    same(
        "DA:39:A3:EE:5E:6B:4B:0D:32:55:BF:EF:95:60:18:90:AF:D8:07:09",
        Saved(AttrType::X509FingerprintSha1),
        &[("x509-fingerprint-sha1", "da39a3ee5e6b4b0d3255bfef95601890afd80709")],
    ),
    same("AS64496", Saved(AttrType::As), &[("AS", "64496")]),
    // asdot `1.10` is 1 × 65536 + 10.
    same("1.10", Saved(AttrType::As), &[("AS", "65546")]),
    same(
        "cve\u{2013}2021\u{2013}44228",
        Saved(AttrType::Vulnerability),
        &[("vulnerability", "CVE-2021-44228")],
    ),
    same("0049 (0)30 1234567", Saved(AttrType::PhoneNumber), &[("phone-number", "+49301234567")]),
    // MISP stores URLs as written.
    differs(
        "HTTP://Bad.Example/A",
        Saved(AttrType::Url),
        &[("url", "HTTP://Bad.Example/A")],
        &[("url", "http://bad.example/A")],
        URLS,
        "HTTP://Bad.Example/A",
    ),
];

const FIVE_LOOPBACKS: &[(&str, &str)] = &[
    ("ip-dst", "127.0.0.1"),
    ("ip-dst", "127.0.0.2"),
    ("ip-dst", "127.0.0.3"),
    ("ip-dst", "127.0.0.4"),
    ("ip-dst", "127.0.0.5"),
];

fn records(feed: &ParsedFeed) -> Vec<(String, String)> {
    feed.records
        .iter()
        .map(|r| (r.indicator.kind.as_str().to_owned(), r.indicator.value.to_string()))
        .collect()
}

/// What feedsmith gives for a vector, as `(type, value)` pairs in order.
fn feedsmith(vector: &Vector) -> Vec<(String, String)> {
    let opts = Options::default();
    let one = |result: Result<indicator::Classified, indicator::RejectReason>| {
        result
            .map(|c| vec![(c.indicator.kind.as_str().to_owned(), c.indicator.value.to_string())])
            .unwrap_or_default()
    };
    match vector.via {
        Candidate => one(indicator::classify(vector.input, &opts)),
        Saved(kind) => one(indicator::normalize(kind, vector.input, &opts)),
        Freetext => records(&parse::freetext::parse(
            vector.input.as_bytes(),
            &FreetextOptions::default(),
            None,
        )),
        FreetextAsMisp => {
            let misp = FreetextOptions { skip_comments: false, ..FreetextOptions::default() };
            records(&parse::freetext::parse(vector.input.as_bytes(), &misp, None))
        }
        Csv(delimiter, columns) => {
            let opts = CsvOptions {
                delimiter: delimiter.to_owned(),
                value_columns: columns.iter().copied().map(crate::config::Column::Number).collect(),
                ..CsvOptions::default()
            };
            let feed = parse::csv::parse(vector.input.as_bytes(), &opts, None)
                .unwrap_or_else(|e| panic!("{:?}: {e}", vector.input));
            records(&feed)
        }
    }
}

fn owned(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
    pairs.iter().map(|(t, v)| ((*t).to_owned(), (*v).to_owned())).collect()
}

const DIFFERENCES: &str = include_str!("../../docs/misp-differences.md");

/// The rows of the vector table in `docs/misp-differences.md`.
fn documented_vectors() -> Vec<&'static str> {
    let table = DIFFERENCES
        .split("\n## ")
        .find(|section| section.starts_with("MISP's test vectors where feedsmith differs"))
        .expect("docs/misp-differences.md has a section of test vectors");
    table.lines().filter(|line| line.starts_with("| `")).collect()
}

#[test]
fn every_misp_vector_gives_what_misp_stores_or_a_documented_difference() {
    let mut failures = Vec::new();
    for vector in VECTORS {
        let got = feedsmith(vector);
        let misp = owned(vector.misp);
        match vector.outcome {
            Outcome::Same => {
                if got != misp {
                    failures.push(format!(
                        "{:?} ({:?}): MISP {misp:?}, feedsmith {got:?}",
                        vector.input, vector.via
                    ));
                }
            }
            Outcome::Differs { feedsmith, .. } => {
                let expected = owned(feedsmith);
                assert_ne!(
                    expected, misp,
                    "{:?} is listed as a difference but is not one",
                    vector.input
                );
                if got != expected {
                    failures.push(format!(
                        "{:?} ({:?}): expected {expected:?}, feedsmith {got:?}",
                        vector.input, vector.via
                    ));
                }
            }
        }
    }
    assert!(failures.is_empty(), "{} vectors fail:\n{}", failures.len(), failures.join("\n"));
}

#[test]
fn every_difference_is_explained_and_listed_in_the_vector_table() {
    let rows = documented_vectors();
    let mut listed = 0;
    for vector in VECTORS {
        let Outcome::Differs { section, shown, .. } = vector.outcome else { continue };
        listed += 1;
        assert!(
            DIFFERENCES.contains(&format!("\n## {section}\n")),
            "no section `## {section}` in docs/misp-differences.md"
        );
        let cell = format!("| `{}` |", shown.replace('|', "\\|"));
        let row = rows.iter().find(|row| row.starts_with(&cell));
        let row = row.unwrap_or_else(|| panic!("{cell} is not in the vector table"));
        assert!(row.contains(section), "the row of {shown:?} does not name `{section}`");
    }
    assert_eq!(rows.len(), listed, "the vector table lists rows that no test vector has");
}
