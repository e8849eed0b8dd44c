//! Every blocklist format through a whole build of a one-feed project: the outputs are
//! written where the task says, twice the same bytes for the same inputs and `--now`, the
//! aggregated lists take the warning list's ranges out, and the zone serial rises.

use std::fmt::Write as _;
use std::path::Path;

use crate::util::feedsmith;

/// Every format but `plain` and `misp-feed`, by its definition name.
const FORMATS: &[&str] = &[
    "cidr-ipv4",
    "cidr-ipv6",
    "hosts",
    "dnsmasq",
    "unbound",
    "rpz",
    "nftables",
    "ipset",
    "panos-edl",
    "fortigate",
    "suricata",
    "zeek",
    "csv",
    "json",
    "adblock",
];

/// A project with one local freetext feed and one task writing every format to `out/`,
/// with a `cidr` warning list holding 185.220.101.64/26.
fn project() -> tempfile::TempDir {
    let root = tempfile::tempdir().unwrap();
    let write = |path: &str, text: &str| crate::util::write_file(root.path(), path, text);
    write("feedsmith.toml", "");
    write(
        "feeds.d/f.toml",
        "name = \"f\"\nprovider = \"test\"\npath = \"input.txt\"\nformat = \"freetext\"\n",
    );
    write(
        "input.txt",
        "45.9.148.0/25\n45.9.148.128/25\n45.9.148.7\n185.220.101.0/24\n2a0e:1c80::/32\n\
         bad-domain.example.com\ncdn.bad-domain.example.com\nmalware-host.net\n\
         http://malware-host.net/gate.php\n44d88612fea8a8f36de82e1278abb02f\n",
    );
    write(
        "warninglists.d/allow.json",
        r#"{"name": "allow", "version": 1, "description": "", "type": "cidr",
            "list": ["185.220.101.64/26"], "matching_attributes": ["ip-dst", "ip-src"]}"#,
    );
    let mut task = String::from("name = \"All formats\"\n");
    for format in FORMATS {
        let _ = write!(task, "[[outputs]]\nformat = \"{format}\"\npath = \"out/{format}\"\n");
    }
    write("tasks.d/every.toml", &task);
    root
}

fn build(root: &Path, out: &str, now: &str) {
    let out = root.join(out);
    let output = feedsmith(root, &["build", "--out", out.to_str().unwrap(), "--now", now]);
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}

fn data_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.starts_with('#')).collect()
}

#[test]
fn every_format_is_written_and_two_builds_give_the_same_bytes() {
    let root = project();
    build(root.path(), "a", "2026-05-01T00:00:00Z");
    build(root.path(), "b", "2026-05-01T00:00:00Z");
    let a = crate::util::tree(&root.path().join("a/out"));
    let b = crate::util::tree(&root.path().join("b/out"));
    assert_eq!(a, b);
    for format in FORMATS {
        assert!(
            a.keys().any(|name| name == format || name.starts_with(&format!("{format}/"))),
            "{format} missing"
        );
    }
    let text = |name: &str| String::from_utf8(a[name].clone()).unwrap();
    // The two /25 halves and the address inside them are one /24; the allow-listed /26 is
    // cut out of 185.220.101.0/24.
    assert_eq!(
        data_lines(&text("cidr-ipv4")),
        ["45.9.148.0/24", "185.220.101.0/26", "185.220.101.128/25"]
    );
    assert_eq!(data_lines(&text("cidr-ipv6")), ["2a0e:1c80::/32"]);
    // `local=/bad-domain.example.com/` answers for `cdn.` below it too, which is left out.
    assert_eq!(
        data_lines(&text("dnsmasq")),
        ["local=/bad-domain.example.com/", "local=/malware-host.net/"]
    );
    let report: serde_json::Value =
        serde_json::from_slice(&std::fs::read(root.path().join("a/report.json")).unwrap()).unwrap();
    let outputs = report["tasks"][0]["outputs"].as_array().unwrap();
    let hosts = outputs.iter().find(|o| o["format"] == "hosts").unwrap();
    assert_eq!(hosts["entries"], 3);
    let dnsmasq = outputs.iter().find(|o| o["format"] == "dnsmasq").unwrap();
    assert_eq!(dnsmasq["skipped_reasons"]["covered_by_parent"], 1);
    // Five addresses, one URL and one hash: no hosts line can hold them.
    assert_eq!(hosts["skipped_reasons"]["unsupported_type"], 7);
}

#[test]
fn the_zone_serial_rises_from_one_build_to_the_next() {
    let root = project();
    build(root.path(), "a", "2026-05-01T00:00:00Z");
    build(root.path(), "b", "2026-05-02T00:00:00Z");
    let serial = |dir: &str| -> u32 {
        let text = std::fs::read_to_string(root.path().join(dir).join("out/rpz")).unwrap();
        let soa = text.lines().find(|l| l.starts_with("@ IN SOA ")).unwrap();
        soa.split(' ').nth(5).unwrap().parse().unwrap()
    };
    // 2026-05-01T00:00:00Z is 1777593600 in Unix seconds.
    assert_eq!(serial("a"), 1_777_593_600);
    assert_eq!(serial("b"), 1_777_593_600 + 86_400);
}
