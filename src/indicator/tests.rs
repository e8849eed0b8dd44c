//! Tests of [`classify`] and [`normalize`] against the MISP spec's test vectors
//! (freetext.md §7) and the project's bug cases (`shared/bugcases/`).
//!
//! The vectors were written for MISP's 22-entry fallback TLD list; where the real IANA list
//! gives another answer, the test says so and asserts what the real list implies.

use super::*;

fn opts() -> Options {
    Options::default()
}

/// Classifies and returns (type name, value), or the rejection code.
fn c(raw: &str) -> Result<(&'static str, String), &'static str> {
    classify(raw, &opts())
        .map(|c| (c.indicator.kind.as_str(), c.indicator.value.into_string()))
        .map_err(RejectReason::code)
}

#[expect(clippy::unnecessary_wraps, reason = "compared with `c`, which returns a `Result`")]
fn ok(kind: &'static str, value: &str) -> Result<(&'static str, String), &'static str> {
    Ok((kind, value.to_owned()))
}

fn warnings(raw: &str) -> Warnings {
    classify(raw, &opts()).map(|c| c.warnings).unwrap_or_default()
}

/// Normalizes and returns the value, or the rejection code.
fn n(kind: AttrType, raw: &str) -> Result<String, &'static str> {
    normalize(kind, raw, &opts())
        .map(|c| c.indicator.value.into_string())
        .map_err(RejectReason::code)
}

mod misp_vectors {
    use super::*;

    #[test]
    fn plain_addresses_are_ip_dst() {
        assert_eq!(c("127.0.0.1"), ok("ip-dst", "127.0.0.1"));
        assert_eq!(c("2a00:1450:4005:80a::2003"), ok("ip-dst", "2a00:1450:4005:80a::2003"));
    }

    #[test]
    fn ip_with_port_becomes_ip_dst_port() {
        assert_eq!(c("127.0.0.1:8080"), ok("ip-dst|port", "127.0.0.1|8080"));
        assert_eq!(
            c("[1fff:0:a88:85a3::ac1f]:8001"),
            ok("ip-dst|port", "1fff:0:a88:85a3::ac1f|8001")
        );
    }

    #[test]
    fn full_length_prefixes_are_stored_as_bare_addresses() {
        // MISP's classifier keeps `/32` and `/128`; its save step removes them (feed-format.md §9).
        assert_eq!(c("127.0.0.1/32"), ok("ip-dst", "127.0.0.1"));
        assert_eq!(c("2a00:1450:4005:80a::2003/128"), ok("ip-dst", "2a00:1450:4005:80a::2003"));
    }

    #[test]
    fn six_group_ipv6_is_rejected() {
        assert!(c("fe80:0000:f2cd:7d80:3f37:52c6").is_err());
    }

    #[test]
    fn names_are_domains_or_hostnames_by_label_count() {
        assert_eq!(c("example.com"), ok("domain", "example.com"));
        assert_eq!(c("example.example.com"), ok("hostname", "example.example.com"));
        assert_eq!(c("example.com."), ok("domain", "example.com"));
        assert!(warnings("example.com.").contains(Warning::TrailingDot));
    }

    #[test]
    fn a_name_under_an_unknown_tld_is_a_filename() {
        // The vector uses `example.example` with the TLD set `{com}`; our set knows `example`
        // (RFC 2606), so the same rule is shown with a suffix that is no TLD.
        assert_eq!(c("example.example"), ok("domain", "example.example"));
        assert_eq!(c("example.notatld"), ok("filename", "example.notatld"));
    }

    #[test]
    fn zip_is_a_tld_in_the_iana_list() {
        // With the fallback list the vector says `filename`; with the real list `zip` is a TLD.
        assert_eq!(c("example.txt.zip"), ok("hostname", "example.txt.zip"));
    }

    #[test]
    fn paths_are_filenames_and_registry_keys() {
        assert_eq!(c("/var/log/example.txt.zip"), ok("filename", "/var/log/example.txt.zip"));
        assert_eq!(c(r"C:\example.txt.zip"), ok("filename", r"C:\example.txt.zip"));
        let key = r"HKLM:\SOFTWARE\Microsoft\Windows\CurrentVersion";
        assert_eq!(c(key), ok("regkey", key));
    }

    #[test]
    fn host_port_loses_the_port() {
        assert_eq!(c("example.com:80"), ok("domain", "example.com"));
        assert!(warnings("example.com:80").contains(Warning::PortDropped));
    }

    #[test]
    fn names_are_stored_lower_case_and_in_punycode() {
        assert_eq!(c("EXAMPLE.COM"), ok("domain", "example.com"));
        // Punycode of "háčkyčárky" by RFC 3492 (checked with Python's `idna` codec).
        assert_eq!(c("háčkyčárky.cz"), ok("domain", "xn--hkyrky-ptac70bc.cz"));
        assert_eq!(c("xn--ghq549cb2anjl2suxo.com"), ok("domain", "xn--ghq549cb2anjl2suxo.com"));
        // `xn--fiqs8s` is in the IANA list, so no special TLD set is needed here.
        assert_eq!(c("xn--lbrs59br5a.xn--fiqs8s"), ok("domain", "xn--lbrs59br5a.xn--fiqs8s"));
    }

    #[test]
    fn dates_are_not_phone_numbers() {
        assert!(c("2018-08-21").is_err());
    }

    // Found by the `indicator` fuzz target: `-0-0-0` was stored as `000`, which MISP's rule
    // (leading `00` to `+`, then separators dropped) normalizes again to `+0`.
    #[test]
    fn a_phone_number_is_stored_in_a_form_that_normalizes_to_itself() {
        assert_eq!(c("-0-0-0"), ok("phone-number", "+0"));
        assert_eq!(c("0044-20-7946-0000"), ok("phone-number", "+442079460000"));
        assert_eq!(c("+44(0)20-7946-0000"), ok("phone-number", "+442079460000"));
        for stored in ["+0", "+442079460000"] {
            let again = normalize(AttrType::PhoneNumber, stored, &Options::default());
            assert_eq!(again.map(|c| c.indicator.value.to_string()), Ok(stored.to_owned()));
        }
    }

    #[test]
    fn email_addresses_are_refanged() {
        for raw in ["test@example.com", "test[@]example.com", "test[at]example.com"] {
            assert_eq!(c(raw), ok("email-src", "test@example.com"), "{raw}");
        }
    }

    #[test]
    fn urls_keep_their_scheme_and_path() {
        assert_eq!(c("http://example.com"), ok("url", "http://example.com"));
        assert_eq!(c("https://example.com"), ok("url", "https://example.com"));
        assert_eq!(
            c("https://github.com:443/MISP/MISP"),
            ok("url", "https://github.com:443/MISP/MISP")
        );
        assert_eq!(c("github.com/MISP/MISP"), ok("url", "github.com/MISP/MISP"));
    }

    #[test]
    fn a_port_at_the_end_of_a_url_is_dropped() {
        assert_eq!(c("http://example.com:8080"), ok("url", "http://example.com"));
        assert!(warnings("http://example.com:8080").contains(Warning::PortDropped));
    }

    #[test]
    fn https_vendor_reports_are_links() {
        assert_eq!(
            c("https://www.virustotal.com/example"),
            ok("link", "https://www.virustotal.com/example")
        );
        assert_eq!(
            c("https://www.hybrid-analysis.com/example"),
            ok("link", "https://www.hybrid-analysis.com/example")
        );
    }

    #[test]
    fn defanged_schemes_are_refanged() {
        for raw in ["hxxp://example.com", "hxtp://example.com", "htxp://example.com"] {
            assert_eq!(c(raw), ok("url", "http://example.com"), "{raw}");
        }
        for raw in ["hxxps://example.com", "hxtps://example.com", "htxps://example.com"] {
            assert_eq!(c(raw), ok("url", "https://example.com"), "{raw}");
        }
    }

    #[test]
    fn bitcoin_ssdeep_and_cve_values() {
        let legacy = "1A1zP1eP5QGefi2DMPTfTL5SLmv7DivfNa";
        assert_eq!(c(legacy), ok("btc", legacy));
        let bech32 = "BC1QW508D6QEJXTDG4Y5R3ZARVARY0C5XW7KV8F3T4";
        assert_eq!(c(bech32), ok("btc", bech32));
        let ssdeep = "24:VGXGP7L5e/Ixt3af/WKPPaYpzg4m3XWMCsXNCRs0:kYDxcfPZpelCs9Cm0";
        assert_eq!(c(ssdeep), ok("ssdeep", ssdeep));
        assert_eq!(c("CVE-2019-16202"), ok("vulnerability", "CVE-2019-16202"));
        assert_eq!(c("cve-2019-16202"), ok("vulnerability", "CVE-2019-16202"));
    }

    #[test]
    fn as_numbers_are_stored_without_prefix() {
        // The classifier's value is `AS0`; MISP stores the number (feed-format.md §9).
        assert_eq!(c("as0"), ok("AS", "0"));
        assert_eq!(c("AS0"), ok("AS", "0"));
    }

    #[test]
    fn hashes_are_typed_by_length_and_stored_lower_case() {
        let md5 = "9e107d9d372bb6826bd81d3542a419d6";
        assert_eq!(c(md5), ok("md5", md5));
        assert_eq!(c(&md5.to_ascii_uppercase()), ok("md5", md5));
        let sha1 = "da39a3ee5e6b4b0d3255bfef95601890afd80709";
        assert_eq!(c(sha1), ok("sha1", sha1));
        let composite = "ahoj.txt|9e107d9d372bb6826bd81d3542a419d6";
        assert_eq!(c(composite), ok("filename|md5", composite));
    }

    #[test]
    fn junk_is_rejected() {
        for raw in [
            "cK753n3MVw",
            "|",
            "&",
            "$",
            "0",
            ":80",
            "1.2",
            "[]:80",
            r"\.",
            ".",
            ":",
            "a:b",
            "a:b:c",
        ] {
            assert!(c(raw).is_err(), "{raw} gave {:?}", c(raw));
        }
    }

    #[test]
    fn refangs_ip_src_values() {
        for raw in ["127[.]0[.]0[.]1", "127[dot]0[dot]0[dot]1", "127(dot)0(dot)0(dot)1"] {
            assert_eq!(n(AttrType::IpSrc, raw).as_deref(), Ok("127.0.0.1"), "{raw}");
        }
    }

    #[test]
    fn refangs_urls_but_not_meow() {
        assert_eq!(n(AttrType::Url, "h[tt]p://example.com").as_deref(), Ok("http://example.com"));
        // MISP turns `meow://` into `http://`; feedsmith refuses it (docs/misp-differences.md).
        assert_eq!(n(AttrType::Url, "meow://example.com"), Err("unknown_scheme"));
    }

    #[test]
    fn refangs_email_values() {
        for raw in ["admin@admin[.]test", "admin[@]admin[.]test", "admin[at]admin[dot]test"] {
            assert_eq!(n(AttrType::EmailSrc, raw).as_deref(), Ok("admin@admin.test"), "{raw}");
        }
    }

    #[test]
    fn keeps_backslashes_in_url_values() {
        // MISP issue #7214.
        let raw = r"http://h.example/html?a=b;\..\..\./x";
        assert_eq!(n(AttrType::Url, raw).as_deref(), Ok(raw));
        assert_eq!(c(raw), ok("url", raw));
    }
}

/// shared/bugcases/06-defanged-values (MISP issue #470).
mod bugcase_06_defanged_values {
    use super::*;

    #[test]
    fn every_defanging_style_is_refanged_and_flagged() {
        let cases = [
            ("hxxp://www.bad1.example/login", "url", "http://www.bad1.example/login"),
            ("hxxps://www.bad2.example/a?b=c", "url", "https://www.bad2.example/a?b=c"),
            ("h[tt]p://www.bad3.example/", "url", "http://www.bad3.example/"),
            ("h[tt]ps://www.bad4.example/", "url", "https://www.bad4.example/"),
            ("http://www[.]bad5[.]example/path", "url", "http://www.bad5.example/path"),
            ("https://www.bad6[.]example", "url", "https://www.bad6.example"),
            ("hxxp[:]//bad7.example/x", "url", "http://bad7.example/x"),
            ("bad8[.]example", "domain", "bad8.example"),
            ("bad9[dot]example", "domain", "bad9.example"),
            ("sub(.)bad10(.)example", "hostname", "sub.bad10.example"),
            ("bad11{.}example", "domain", "bad11.example"),
            ("198.51.100[.]23", "ip-dst", "198.51.100.23"),
            ("203[.]0[.]113[.]8", "ip-dst", "203.0.113.8"),
            ("user[@]phish.example", "email-src", "user@phish.example"),
        ];
        for (raw, kind, value) in cases {
            // expected.md says "domain" for `sub(.)bad10(.)example`, in the sense of a DNS
            // name; with three labels MISP's type for it is `hostname`.
            assert_eq!(c(raw), ok(kind, value), "{raw}");
            assert!(warnings(raw).contains(Warning::Defanged), "{raw}");
        }
    }

    #[test]
    fn meow_scheme_is_rejected_as_unknown() {
        assert_eq!(c("meow://www.bad12.example"), Err("unknown_scheme"));
    }
}

/// shared/bugcases/08-trailing-dot-fqdn (certtools/intelmq#369).
mod bugcase_08_trailing_dot {
    use super::*;

    #[test]
    fn one_trailing_dot_is_removed_and_case_folded() {
        for raw in ["c2.bad.example.", "c2.bad.example", "C2.Bad.Example"] {
            assert_eq!(c(raw), ok("hostname", "c2.bad.example"), "{raw}");
        }
        assert!(warnings("c2.bad.example.").contains(Warning::TrailingDot));
        assert!(!warnings("c2.bad.example").contains(Warning::TrailingDot));
    }

    #[test]
    fn malformed_names_are_rejected_with_their_reason() {
        assert_eq!(c("host.example.."), Err("empty_label"));
        assert_eq!(c("double..dot.example"), Err("empty_label"));
        assert_eq!(c("."), Err("root_only"));
    }

    #[test]
    fn allow_list_entries_normalize_the_same_way() {
        assert_eq!(n(AttrType::Hostname, "c2.bad.example.").as_deref(), Ok("c2.bad.example"));
        assert_eq!(n(AttrType::Domain, "host.example.."), Err("empty_label"));
        assert_eq!(n(AttrType::Domain, "."), Err("root_only"));
    }
}

/// shared/bugcases/09-zero-padded-octets (hagezi/dns-blocklists#2543).
mod bugcase_09_zero_padded {
    use super::*;

    #[test]
    fn padded_octets_are_read_as_decimal_with_a_warning() {
        let cases = [
            ("198.051.100.007", "198.51.100.7"),
            ("203.000.113.010", "203.0.113.10"),
            ("192.0.2.019", "192.0.2.19"),
            ("010.001.001.001", "10.1.1.1"),
        ];
        for (raw, value) in cases {
            assert_eq!(c(raw), ok("ip-dst", value), "{raw}");
            assert!(warnings(raw).contains(Warning::ZeroPadded), "{raw}");
        }
        assert_eq!(c("198.51.100.7"), ok("ip-dst", "198.51.100.7"));
        assert!(!warnings("198.51.100.7").contains(Warning::ZeroPadded));
    }

    #[test]
    fn strict_mode_rejects_padded_octets() {
        let strict = Options { strict_zero_padded: true };
        for raw in ["198.051.100.007", "203.000.113.010", "192.0.2.019", "010.001.001.001"] {
            assert_eq!(classify(raw, &strict), Err(RejectReason::ZeroPadded), "{raw}");
            assert_eq!(normalize(AttrType::IpDst, raw, &strict), Err(RejectReason::ZeroPadded));
        }
        assert!(classify("198.51.100.7", &strict).is_ok());
    }
}

/// shared/bugcases/10-ip-with-port (carbonblack/cb-taxii-connector#3).
mod bugcase_10_ip_with_port {
    use super::*;

    #[test]
    fn endpoints_split_into_ip_and_port() {
        assert_eq!(c("198.51.100.10:8080"), ok("ip-dst|port", "198.51.100.10|8080"));
        assert_eq!(c("203.0.113.5:443"), ok("ip-dst|port", "203.0.113.5|443"));
        assert_eq!(c("[2001:db8::10]:8443"), ok("ip-dst|port", "2001:db8::10|8443"));
        assert_eq!(c("192.0.2.44"), ok("ip-dst", "192.0.2.44"));
        assert_eq!(c("198.51.100.10:8081"), ok("ip-dst|port", "198.51.100.10|8081"));
    }

    #[test]
    fn a_port_out_of_range_is_rejected() {
        assert_eq!(c("192.0.2.99:99999"), Err("port_out_of_range"));
        assert_eq!(c("192.0.2.99:0"), Err("port_out_of_range"));
    }

    #[test]
    fn unbracketed_ipv6_is_never_split_on_its_last_colon() {
        assert_eq!(c("2001:db8::10:8443"), ok("ip-dst", "2001:db8::10:8443"));
        assert_eq!(c("1:2:3:4:5:6:7:8:80"), Err("invalid_ip"));
    }
}

/// shared/bugcases/11-cidr-host-bits-overlap (mozilla/MozDef#1027), the per-value part.
/// De-duplication and aggregation belong to the exports.
mod bugcase_11_cidr_host_bits {
    use super::*;

    #[test]
    fn host_bits_are_cleared_with_a_warning() {
        for raw in ["203.0.113.5/24", "203.0.113.77/24"] {
            assert_eq!(c(raw), ok("ip-dst", "203.0.113.0/24"), "{raw}");
            let w = warnings(raw);
            assert!(w.contains(Warning::HostBits), "{raw}");
            assert_eq!(Warning::HostBits.code(), "host_bits_set");
        }
    }

    #[test]
    fn a_slash_32_is_the_bare_address() {
        assert_eq!(c("198.51.100.7/32"), c("198.51.100.7"));
        assert_eq!(c("198.51.100.7/32"), ok("ip-dst", "198.51.100.7"));
    }

    #[test]
    fn aligned_networks_are_kept_without_warning() {
        for raw in ["203.0.113.0/25", "192.0.2.0/24", "192.0.2.128/25"] {
            assert_eq!(c(raw), ok("ip-dst", raw), "{raw}");
            assert!(warnings(raw).is_empty(), "{raw}");
        }
    }
}

/// shared/bugcases/13-mixed-ipv4-ipv6 (amarcu5/EdgeOS-Blacklist#2), the per-value part.
/// Link-local and other special ranges are left to the warning lists (`filter`).
mod bugcase_13_mixed_families {
    use super::*;

    #[test]
    fn each_spelling_gets_its_canonical_form() {
        let cases = [
            ("198.51.100.9", "198.51.100.9"),
            ("2001:DB8:0:0:0:0:0:1", "2001:db8::1"),
            ("2001:db8::1", "2001:db8::1"),
            ("2001:db8:abcd::/48", "2001:db8:abcd::/48"),
            ("::ffff:198.51.100.9", "198.51.100.9"),
            ("203.0.113.0/24", "203.0.113.0/24"),
            ("2001:0db8:0000:0000:0000:ff00:0042:8329", "2001:db8::ff00:42:8329"),
        ];
        for (raw, value) in cases {
            assert_eq!(c(raw), ok("ip-dst", value), "{raw}");
        }
    }

    #[test]
    fn a_mapped_address_is_written_as_ipv4_with_a_warning() {
        assert!(warnings("::ffff:198.51.100.9").contains(Warning::MappedIpv4));
        assert_eq!(Warning::MappedIpv4.code(), "ipv4_mapped");
    }

    #[test]
    fn a_zone_index_is_rejected() {
        assert_eq!(c("fe80::1%eth0"), Err("zone_index"));
        assert_eq!(n(AttrType::IpDst, "fe80::1%eth0"), Err("zone_index"));
    }
}

mod feedsmith_rules {
    use super::*;

    #[test]
    fn truncated_values_are_rejected() {
        // From criticalpathsecurity/AtomSpam.txt.
        let raw = "http://0eee38e.wcomhost.com/banking-postbank/login/privatkunden/DE/b97141a…";
        assert_eq!(c(raw), Err("truncated"));
        assert_eq!(
            c("http://acikdeniz.katil.denizbank.44-204-107-53.plesk[.]page/…"),
            Err("truncated")
        );
        assert_eq!(n(AttrType::Url, raw), Err("truncated"));
    }

    #[test]
    fn overlong_values_are_rejected_before_any_work() {
        let long = format!("http://example.com/{}", "a".repeat(MAX_VALUE_LEN));
        assert_eq!(c(&long), Err("too_long"));
        assert_eq!(n(AttrType::Text, &long), Err("too_long"));
    }

    #[test]
    fn too_broad_networks_are_rejected() {
        assert_eq!(c("10.0.0.0/7"), Err("prefix_too_short"));
        assert_eq!(c("2001::/15"), Err("prefix_too_short"));
        assert_eq!(c("1.2.3.4/99"), Err("invalid_ip"));
    }

    #[test]
    fn malformed_dotted_quads_are_invalid_ips() {
        assert_eq!(c("1.2.3.256"), Err("invalid_ip"));
        assert_eq!(c("1.2.3.4.5"), Err("unrecognized"));
        assert_eq!(c("..."), Err("unrecognized"));
        assert_eq!(c("06:09:51"), Err("unrecognized"));
        assert_eq!(c("fe80:0000:f2cd:7d80:3f37:52c6"), Err("invalid_ip"));
    }

    #[test]
    fn ip_urls_are_written_canonically() {
        assert_eq!(c("http://010.1.1.1:8080/x"), ok("url", "http://10.1.1.1:8080/x"));
        assert_eq!(c("http://[2001:DB8::1]/x"), ok("url", "http://[2001:db8::1]/x"));
        assert_eq!(c("46.151.52.197/85.exe"), ok("url", "46.151.52.197/85.exe"));
    }

    #[test]
    fn idn_urls_get_a_punycode_host() {
        assert_eq!(
            c("https://Bücher.example/Kauf"),
            ok("url", "https://xn--bcher-kva.example/Kauf")
        );
    }

    #[test]
    fn underscores_are_allowed_in_host_labels() {
        assert_eq!(c("foo_bar.example.com"), ok("hostname", "foo_bar.example.com"));
    }

    #[test]
    fn ordinary_file_names_stay_file_names() {
        assert_eq!(c("setup.exe"), ok("filename", "setup.exe"));
        // `py` is a TLD: MISP (and feedsmith) read this as a domain.
        assert_eq!(c("setup.py"), ok("domain", "setup.py"));
    }

    #[test]
    fn special_use_tlds_are_domains() {
        assert_eq!(c("bad.test"), ok("domain", "bad.test"));
        assert_eq!(c("a.b.localhost"), ok("hostname", "a.b.localhost"));
        assert_eq!(c("x.invalid"), ok("domain", "x.invalid"));
        assert_eq!(c("expyuzz4wqqyqhjn.onion"), ok("domain", "expyuzz4wqqyqhjn.onion"));
    }

    #[test]
    fn control_characters_are_rejected() {
        // White space at the ends is not part of the value; inside, a control character is.
        assert_eq!(c("bad.example\n"), ok("domain", "bad.example"));
        assert_eq!(c("bad\n.example"), Err("invalid_value"));
        assert_eq!(c("bad\u{1d}.example"), Err("invalid_value"));
    }

    #[test]
    fn long_names_are_rejected() {
        let label = "a".repeat(64);
        assert_eq!(c(&format!("{label}.example")), Err("name_too_long"));
    }

    #[test]
    fn urls_with_unknown_or_broken_schemes_are_rejected() {
        assert_eq!(c("meow://example.com/x"), Err("unknown_scheme"));
        assert_eq!(c("gopher://example.com/x"), Err("unknown_scheme"));
        assert_eq!(c("1x://example.com/x"), Err("invalid_url"));
        assert_eq!(c("tcp://1.2.3.4:443"), ok("url", "tcp://1.2.3.4"));
    }

    #[test]
    fn one_digit_ports_are_split_too() {
        assert_eq!(c("1.2.3.4:8"), ok("ip-dst|port", "1.2.3.4|8"));
        assert_eq!(c("[::ffff:1.2.3.4]:80"), ok("ip-dst|port", "1.2.3.4|80"));
    }

    #[test]
    fn a_leading_dot_is_an_empty_label() {
        assert_eq!(c(".example.com"), Err("empty_label"));
        assert_eq!(n(AttrType::Domain, "a..b"), Err("empty_label"));
    }

    #[test]
    fn names_under_a_tld_in_its_own_script_are_domains() {
        // Punycode by RFC 3492 (Python's `idna` codec): пример → xn--e1afmkfd, рф → xn--p1ai.
        assert_eq!(c("пример.рф"), ok("domain", "xn--e1afmkfd.xn--p1ai"));
    }

    #[test]
    fn brackets_that_are_not_defanging_stay() {
        assert_eq!(c("http://bad.example/a?x[0]=1"), ok("url", "http://bad.example/a?x[0]=1"));
        assert_eq!(c("bad[DOT]example"), ok("domain", "bad.example"));
    }
}

mod normalize_known_types {
    use super::*;

    #[test]
    fn ip_src_stays_ip_src() {
        let c = normalize(AttrType::IpSrc, " 203.0.113.77/24 ", &opts()).unwrap();
        assert_eq!(c.indicator, Indicator::new(AttrType::IpSrc, "203.0.113.0/24"));
        assert!(c.warnings.contains(Warning::HostBits));
    }

    #[test]
    fn ip_port_values_in_every_unambiguous_spelling() {
        assert_eq!(n(AttrType::IpDstPort, "1.2.3.4:443").as_deref(), Ok("1.2.3.4|443"));
        assert_eq!(n(AttrType::IpSrcPort, "1.2.3.4|443").as_deref(), Ok("1.2.3.4|443"));
        assert_eq!(
            n(AttrType::IpDstPort, "[2001:db8::10]:8443").as_deref(),
            Ok("2001:db8::10|8443")
        );
        assert_eq!(n(AttrType::IpDstPort, "2001:DB8::10|8443").as_deref(), Ok("2001:db8::10|8443"));
        assert_eq!(n(AttrType::IpDstPort, "1.2.3.4|65536"), Err("port_out_of_range"));
        assert_eq!(n(AttrType::IpDstPort, "2001:db8::10:8443"), Err("invalid_value"));
    }

    #[test]
    fn names_keep_their_given_type() {
        assert_eq!(n(AttrType::Domain, "WWW.Example.COM.").as_deref(), Ok("www.example.com"));
        assert_eq!(n(AttrType::Hostname, "bad8[.]example").as_deref(), Ok("bad8.example"));
        // MISP's save check wants a dot and a last label of two characters or more.
        assert_eq!(n(AttrType::Domain, "localhost"), Err("invalid_hostname"));
        assert_eq!(n(AttrType::Domain, "a.b"), Err("invalid_hostname"));
        assert_eq!(n(AttrType::Domain, "internal.corp").as_deref(), Ok("internal.corp"));
    }

    #[test]
    fn composite_name_types() {
        assert_eq!(
            n(AttrType::HostnamePort, "Bad.Example:8080").as_deref(),
            Ok("bad.example|8080")
        );
        assert_eq!(
            n(AttrType::HostnamePort, "bad.example|8080").as_deref(),
            Ok("bad.example|8080")
        );
        assert_eq!(
            n(AttrType::DomainIp, "Bad.Example|2001:DB8::1").as_deref(),
            Ok("bad.example|2001:db8::1")
        );
        assert_eq!(n(AttrType::DomainIp, "bad.example"), Err("invalid_value"));
    }

    #[test]
    fn urls_keep_their_port_and_need_a_scheme_for_link() {
        assert_eq!(
            n(AttrType::Url, "HTTP://Example.com:8080").as_deref(),
            Ok("http://example.com:8080")
        );
        assert_eq!(n(AttrType::Url, "example.com/a").as_deref(), Ok("example.com/a"));
        assert_eq!(n(AttrType::Link, "example.com/a"), Err("invalid_url"));
    }

    #[test]
    fn hashes_are_checked_and_lower_cased() {
        assert_eq!(
            n(AttrType::Sha1, "DA39A3EE5E6B4B0D3255BFEF95601890AFD80709").as_deref(),
            Ok("da39a3ee5e6b4b0d3255bfef95601890afd80709")
        );
        assert_eq!(
            n(AttrType::Sha256, "da39a3ee5e6b4b0d3255bfef95601890afd80709"),
            Err("invalid_hash")
        );
        assert_eq!(
            n(AttrType::FilenameMd5, "A.EXE|9E107D9D372BB6826BD81D3542A419D6").as_deref(),
            Ok("A.EXE|9e107d9d372bb6826bd81d3542a419d6")
        );
    }

    #[test]
    fn emails_are_lower_cased() {
        assert_eq!(n(AttrType::EmailDst, "Admin@Example.COM").as_deref(), Ok("admin@example.com"));
        assert_eq!(n(AttrType::Email, "not an address"), Err("invalid_email"));
    }

    #[test]
    fn other_types_get_light_checks() {
        assert_eq!(n(AttrType::Text, "  some text  ").as_deref(), Ok("some text"));
        let key = r"HKLM\Software\Run";
        assert_eq!(n(AttrType::Regkey, key).as_deref(), Ok(key));
        assert_eq!(
            n(AttrType::Vulnerability, "cve\u{2013}2021\u{2013}44228").as_deref(),
            Ok("CVE-2021-44228")
        );
        assert_eq!(n(AttrType::As, "AS64496").as_deref(), Ok("64496"));
        assert_eq!(n(AttrType::Text, "   "), Err("invalid_value"));
        assert_eq!(n(AttrType::Text, "two\nlines"), Err("invalid_value"));
        assert_eq!(n(AttrType::Regkey, "a\u{0}b"), Err("invalid_value"));
    }
}

/// Generated input: no panic on any mix of the characters that matter, and an accepted
/// network or hash value classifies again to itself.
mod generated {
    use super::*;

    /// Characters and fragments that steer the rules.
    const PIECES: &[&str] = &[
        "1", "0", "9", "255", "256", "a", "F", "x", "é", "ü", "рф", ".", ".", ":", "::", "/", "[",
        "]", "(", ")", "{", "}", "@", "%", "|", "\\", "-", "_", "+", "#", "?", "…", "[.]", "hxxp",
        "://", "http://", "com", "example", "xn--", "ffff", " ", "\u{0}",
    ];

    /// A small deterministic generator (64-bit LCG, Knuth's constants).
    struct Lcg(u64);

    impl Lcg {
        fn next(&mut self) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) as usize
        }
    }

    #[test]
    fn never_panics_and_is_idempotent_for_network_values() {
        let mut rng = Lcg(0x5eed);
        let mut accepted = 0;
        for _ in 0..50_000 {
            let len = 1 + rng.next() % 10;
            let text: String = (0..len).map(|_| PIECES[rng.next() % PIECES.len()]).collect();
            let Ok(first) = classify(&text, &opts()) else { continue };
            accepted += 1;
            let family = first.indicator.kind.family();
            if matches!(
                family,
                Family::Ip | Family::Domain | Family::Url | Family::Hash | Family::Email
            ) {
                let again = classify(&first.indicator.value, &opts());
                assert_eq!(
                    again.map(|c| c.indicator),
                    Ok(first.indicator.clone()),
                    "from {text:?}"
                );
            }
            let _ = normalize(first.indicator.kind, &text, &opts());
        }
        assert!(accepted > 1000, "the generator should hit some indicators, hit {accepted}");
    }

    // Found by hostile-input testing: invisible characters must never make a value that the
    // feed did not contain, nor reach an output.
    #[test]
    fn rejects_values_with_invisible_characters() {
        let opts = Options::default();
        for raw in [
            "login\u{200b}.microsoft.com",
            "ex\u{ad}ample.com",
            "http://evil.example/\u{202e}gpj.exe",
            "https://\u{ad}/x",
            "x\u{feff}.google.com",
        ] {
            assert_eq!(classify(raw, &opts), Err(RejectReason::HiddenCharacter), "{raw:?}");
        }
        assert_eq!(
            normalize(AttrType::Text, "a\u{200f}b", &opts),
            Err(RejectReason::HiddenCharacter)
        );
    }

    // Found by hostile-input testing: the Hangul fillers are letters, not format characters,
    // yet drawn blank, and IDNA maps them away, so `bad<U+3164>.example` was read as
    // `bad.example`. Every default-ignorable code point is refused as invisible.
    #[test]
    fn rejects_values_with_default_ignorable_characters() {
        let opts = Options::default();
        for filler in ['\u{115f}', '\u{1160}', '\u{3164}', '\u{ffa0}', '\u{34f}', '\u{fe0f}'] {
            for raw in [format!("bad{filler}.example"), format!("http://bad{filler}.example/x")] {
                assert_eq!(classify(&raw, &opts), Err(RejectReason::HiddenCharacter), "{raw:?}");
            }
            let raw = format!("bad{filler}.example");
            assert_eq!(
                normalize(AttrType::Domain, &raw, &opts),
                Err(RejectReason::HiddenCharacter),
                "{raw:?}"
            );
        }
        // Letters and combining marks that show are not hidden.
        let c = classify("उदाहरण.भारत", &opts).unwrap();
        assert_eq!(c.indicator.kind, AttrType::Domain);
    }
}
