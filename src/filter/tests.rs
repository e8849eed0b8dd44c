//! The matching rules of `misp/warninglists.md` §3, one test per rule, and the lists shipped
//! in `warninglists.d/`.

use super::*;

/// A list of `kind` over `entries` for `types` (empty: every type).
fn list(kind: &str, types: &[&str], entries: &[&str]) -> WarningList {
    let json = serde_json::json!({
        "name": format!("test {kind}"),
        "version": 1,
        "description": "",
        "type": kind,
        "matching_attributes": types,
        "list": entries,
    });
    WarningList::from_json(&json.to_string()).unwrap()
}

fn ind(kind: &str, value: &str) -> Indicator {
    Indicator::new(AttrType::from_name(kind).unwrap(), value)
}

#[test]
fn every_attribute_type_has_a_bit() {
    assert!(AttrType::ALL.len() <= 128);
    let bits: HashSet<u128> = AttrType::ALL.iter().map(|&k| type_bit(k)).collect();
    assert_eq!(bits.len(), AttrType::ALL.len());
}

#[test]
fn a_list_applies_only_to_its_matching_attributes() {
    let l = list("string", &["domain"], &["example.com"]);
    assert!(l.matches(&ind("domain", "example.com")));
    assert!(!l.matches(&ind("hostname", "example.com")));
}

#[test]
fn a_list_without_matching_attributes_applies_to_every_type() {
    let l = list("string", &[], &["example.com"]);
    assert!(l.matches(&ind("domain", "example.com")));
    assert!(l.matches(&ind("hostname", "example.com")));
    assert!(l.matches(&ind("text", "example.com")));
    assert!(l.matching_attributes().is_empty());
}

#[test]
fn unknown_matching_attributes_are_kept_but_match_nothing() {
    let l = list("string", &["whois-registrant-email"], &["a@example.com"]);
    assert_eq!(l.unknown_attributes().collect::<Vec<_>>(), ["whois-registrant-email"]);
    assert!(!l.matches(&ind("email-src", "a@example.com")));
}

#[test]
fn string_lists_compare_whole_values_exactly() {
    // warninglists.md §3: the RFC 6761 list is a `string` list, so `www.example.com` does
    // not match `example.com`.
    let l = list("string", &["hostname", "domain", "domain|ip"], &["example.com"]);
    assert!(l.matches(&ind("domain", "example.com")));
    assert!(!l.matches(&ind("hostname", "www.example.com")));
}

#[test]
fn a_string_list_of_bare_domains_never_matches_a_url() {
    // warninglists.md §3: Cisco's top-1000 list is `string` and names `url`, so a URL only
    // matches when it equals a bare domain entry.
    let l = list("string", &["hostname", "domain", "url", "domain|ip"], &["google.com"]);
    assert!(!l.matches(&ind("url", "https://google.com/")));
    assert!(l.matches(&ind("url", "google.com")));
}

#[test]
fn string_lists_ignore_case_only_where_the_canonical_form_is_lower_case() {
    // The IANA TLD list is written in upper case; MISP would never match a stored `com`.
    let tlds = list("string", &["domain"], &["COM", "NET"]);
    assert!(tlds.matches(&ind("domain", "com")));
    let names = list("string", &["filename"], &["Setup.EXE"]);
    assert!(names.matches(&ind("filename", "Setup.EXE")));
    assert!(!names.matches(&ind("filename", "setup.exe")));
}

#[test]
fn composite_values_match_when_either_part_matches() {
    // warninglists.md §3: `domain|ip` is checked as a domain and as an IP against one list.
    let cidr = list("cidr", &["domain|ip", "ip-dst|port"], &["8.8.8.8"]);
    assert!(cidr.matches(&ind("domain|ip", "dns.example|8.8.8.8")));
    assert!(cidr.matches(&ind("ip-dst|port", "8.8.8.8|53")));
    assert!(!cidr.matches(&ind("ip-dst|port", "8.8.4.4|53")));
    let hosts = list("hostname", &["domain|ip"], &["example.com"]);
    assert!(hosts.matches(&ind("domain|ip", "www.example.com|192.0.2.1")));
    let hashes = list("string", &["filename|md5"], &["d41d8cd98f00b204e9800998ecf8427e"]);
    assert!(hashes.matches(&ind("filename|md5", "empty.txt|d41d8cd98f00b204e9800998ecf8427e")));
}

#[test]
fn a_port_alone_never_matches_an_address_list() {
    let l = list("cidr", &["ip-dst|port"], &["10.0.0.0/8"]);
    assert!(!l.matches(&ind("ip-dst|port", "192.0.2.1|10")));
}

#[test]
fn substring_lists_find_an_entry_anywhere_in_the_value() {
    let l = list("substring", &["url", "domain"], &["virustotal", "Analysis"]);
    assert!(l.matches(&ind("url", "https://www.virustotal.com/gui/file/x")));
    assert!(l.matches(&ind("domain", "hybrid-analysis.com")));
    assert!(!l.matches(&ind("url", "https://hybrid-analysis.com/")));
    assert!(!l.matches(&ind("domain", "example.com")));
}

#[test]
fn an_empty_substring_entry_is_skipped_rather_than_matching_everything() {
    let l = list("substring", &[], &["", "  ", "evil"]);
    assert_eq!(l.len(), 1);
    assert!(!l.matches(&ind("domain", "example.com")));
}

#[test]
fn hostname_lists_hold_subdomains_of_their_entries() {
    // warninglists.md §3: entries lose leading and trailing dots (`.zapto.org`, `dns.google.`)
    // and the host and each parent domain are looked up.
    let l = list(
        "hostname",
        &["hostname", "domain", "url", "domain|ip"],
        &["dns.google.", "example.org", ".zapto.org"],
    );
    assert!(l.matches(&ind("hostname", "dns.google")));
    assert!(l.matches(&ind("hostname", "a.b.example.org")));
    assert!(l.matches(&ind("domain", "evil.zapto.org")));
    assert!(!l.matches(&ind("domain", "google")));
    assert!(!l.matches(&ind("domain", "myexample.org")));
    assert!(l.matches(&ind("url", "http://www.example.org/login")));
    assert!(l.matches(&ind("url", "example.org/login")));
}

#[test]
fn a_url_with_a_port_or_user_name_still_names_its_host() {
    // MISP reads the host of `http://example.com:8080/` as `example.com:8080`: no match.
    let l = list("hostname", &["url"], &["example.com"]);
    assert!(l.matches(&ind("url", "http://example.com:8080/")));
    assert!(l.matches(&ind("url", "ftp://user@example.com/file")));
    assert!(!l.matches(&ind("url", "http://evil.example/?u=example.com")));
}

#[test]
fn a_popular_public_suffix_does_not_hold_the_names_registered_under_it() {
    // Tranco lists `duckdns.org`; `evil.duckdns.org` belongs to someone else.
    let l = list("hostname", &["domain"], &["duckdns.org", "google.com"]);
    assert!(l.matches(&ind("domain", "duckdns.org")));
    assert!(!l.matches(&ind("domain", "evil.duckdns.org")));
    assert!(l.matches(&ind("domain", "mail.google.com")));
}

#[test]
fn cidr_lists_hold_addresses_inside_their_ranges() {
    let l = list("cidr", &["ip-src", "ip-dst"], &["10.0.0.0/8", "8.8.8.8", "2001:db8::/32"]);
    assert!(l.matches(&ind("ip-dst", "10.1.2.3")));
    assert!(l.matches(&ind("ip-src", "8.8.8.8")));
    assert!(!l.matches(&ind("ip-dst", "8.8.8.9")));
    assert!(l.matches(&ind("ip-dst", "2001:db8:1::1")));
    assert!(!l.matches(&ind("ip-dst", "2001:db9::1")));
}

#[test]
fn a_network_inside_a_listed_range_matches_as_in_misp() {
    // MISP: a value CIDR matches when its mask is at least the entry's (inside the range).
    let l = list("cidr", &["ip-dst"], &["10.0.0.0/8", "2001:db8::/32"]);
    assert!(l.matches(&ind("ip-dst", "10.20.0.0/16")));
    assert!(l.matches(&ind("ip-dst", "2001:db8:ff00::/40")));
}

#[test]
fn a_network_holding_a_listed_address_is_kept_as_in_misp() {
    // MISP computes the network of the value at each prefix length from the list's shortest
    // prefix up to the value's own mask and looks each up: a /16 holding 8.8.8.8 never meets
    // the /32 entry, so MISP keeps it. feedsmith does too: dropping the whole network would
    // lose, say, a Spamhaus DROP netblock because one open resolver sits in it.
    let l = list("cidr", &["ip-dst"], &["8.8.8.8", "2001:4860:4860::8888", "10.0.0.0/8"]);
    assert!(!l.matches(&ind("ip-dst", "8.8.0.0/16")));
    assert!(!l.matches(&ind("ip-dst", "2001:4860::/32")));
    // A network wider than a listed one is kept as well.
    assert!(!l.matches(&ind("ip-dst", "10.0.0.0/7")));
}

#[test]
fn a_listed_network_with_host_bits_set_matches_as_its_network() {
    // MISP looks entries up by exact network text, so `10.0.0.1/8` never matches there.
    let l = list("cidr", &["ip-dst"], &["10.0.0.1/8"]);
    assert!(l.matches(&ind("ip-dst", "10.200.0.1")));
}

#[test]
fn values_that_are_not_addresses_never_match_a_cidr_list() {
    let l = list("cidr", &[], &["0.0.0.0/8"]);
    assert!(!l.matches(&ind("domain", "0.example")));
    assert!(!l.matches(&ind("text", "0.0.0.0/8 is reserved")));
    assert!(l.matches(&ind("text", "0.1.2.3")));
}

#[test]
fn regex_lists_take_misp_delimiters_and_flags() {
    let l = list("regex", &["url", "filename"], &["/^https?:\\/\\/[^/]*\\.local\\//i", "^tmp"]);
    assert!(l.matches(&ind("url", "HTTP://printer.local/")));
    assert!(l.matches(&ind("filename", "tmp123.exe")));
    assert!(!l.matches(&ind("filename", "a-tmp.exe")));
}

#[test]
fn version_and_description_default_as_in_misp() {
    let l = WarningList::from_json(r#"{"name": "n", "type": "string", "list": ["a"]}"#).unwrap();
    assert_eq!(l.version(), 1);
    assert_eq!(l.description(), "");
    assert_eq!(l.kind(), ListKind::String);
}

#[test]
fn malformed_files_are_errors_with_a_position() {
    let err =
        WarningList::from_json("{\n  \"name\": \"n\",\n  \"type\": \"strng\",\n  \"list\": []\n}")
            .unwrap_err();
    let ListError::Json { line, message, .. } = err else { panic!("{err:?}") };
    assert_eq!(line, 3);
    assert!(message.starts_with("unknown variant `strng`"), "{message}");
    assert!(!message.contains("line 3"), "{message}");

    let err = WarningList::from_json(r#"{"name": "n", "type": "string"}"#).unwrap_err();
    assert!(err.to_string().contains("missing field `list`"), "{err}");

    let err = WarningList::from_json(r#"{"name": "n", "type": "string", "list": [], "x": 1}"#)
        .unwrap_err();
    assert!(err.to_string().contains("unknown field `x`"), "{err}");

    let err = WarningList::from_json(r#"{"name": " ", "type": "string", "list": []}"#).unwrap_err();
    assert_eq!(err, ListError::Key { key: "name", message: "must not be empty".to_owned() });
}

#[test]
fn a_bad_cidr_or_regex_entry_is_an_error_naming_it() {
    let err = WarningList::from_json(
        r#"{"name": "n", "type": "cidr", "list": ["10.0.0.0/8", "", "ten"]}"#,
    )
    .unwrap_err();
    assert_eq!(
        err,
        ListError::Entry {
            index: 2,
            entry: "ten".to_owned(),
            reason: "is not an IPv4 or IPv6 address or network".to_owned()
        }
    );
    let err =
        WarningList::from_json(r#"{"name": "n", "type": "regex", "list": ["/(a/"]}"#).unwrap_err();
    assert!(err.to_string().starts_with("`/(a/` is not a valid regular expression"), "{err}");
    let err =
        WarningList::from_json(r#"{"name": "n", "type": "regex", "list": ["/a/q"]}"#).unwrap_err();
    assert!(err.to_string().contains("unknown flag `q`"), "{err}");
}

/// The lists shipped in the repository's `warninglists.d/`.
fn shipped() -> Vec<(String, WarningList)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("warninglists.d");
    let mut lists = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.extension().is_some_and(|e| e == "json") {
            let text = std::fs::read_to_string(&path).unwrap();
            let list =
                WarningList::from_json(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            let id = path.file_stem().unwrap().to_string_lossy().into_owned();
            lists.push((id, list));
        }
    }
    lists.sort_by(|a, b| a.0.cmp(&b.0));
    lists
}

#[test]
fn every_shipped_list_loads_with_all_its_entries() {
    let lists = shipped();
    assert!(lists.len() >= 15, "{} lists", lists.len());
    for (id, list) in &lists {
        // Count the distinct non-empty entries straight from the JSON.
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join(format!("warninglists.d/{id}.json"));
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        let written: HashSet<&str> = json["list"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e.as_str().unwrap())
            .filter(|e| !e.trim().is_empty())
            .collect();
        assert!(!list.is_empty(), "{id}");
        if list.kind() != ListKind::Hostname {
            assert_eq!(list.len(), written.len(), "{id}");
        }
    }
}

#[test]
fn shipped_lists_hold_what_a_blocklist_must_not_block() {
    let lists = shipped();
    let get = |id: &str| &lists.iter().find(|(i, _)| i == id).unwrap().1;
    assert!(get("public-dns-v4").matches(&ind("ip-dst", "8.8.8.8")));
    assert!(get("public-dns-v4").matches(&ind("ip-src", "1.1.1.1")));
    assert!(get("public-dns-v6").matches(&ind("ip-dst", "2001:4860:4860::8888")));
    assert!(get("rfc1918").matches(&ind("ip-dst", "192.168.1.1")));
    assert!(get("rfc5735").matches(&ind("ip-dst", "127.0.0.1")));
    assert!(get("rfc6598").matches(&ind("ip-dst", "100.64.0.1")));
    assert!(get("rfc3849").matches(&ind("ip-dst", "2001:db8::1")));
    assert!(get("ipv6-linklocal").matches(&ind("ip-dst", "fe80::1")));
    assert!(get("multicast").matches(&ind("ip-dst", "239.1.1.1")));
    assert!(get("tranco10k").matches(&ind("domain", "www.google.com")));
    assert!(get("cisco_top1000").matches(&ind("domain", "google.com")));
    assert!(get("public-dns-hostname").matches(&ind("hostname", "dns.google")));
    assert!(get("rfc6761").matches(&ind("domain", "example.com")));
    assert!(get("second-level-tlds").matches(&ind("domain", "co.uk")));
    assert!(get("empty-hashes").matches(&ind(
        "sha256",
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    )));
    assert!(!get("public-dns-v4").matches(&ind("ip-dst", "192.0.2.1")));
}
