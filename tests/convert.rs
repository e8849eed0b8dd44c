//! `feedsmith convert`: one file in, one output out, checked against values computed here
//! from the input (integer intervals, name sets) and against the output formats' syntax
//! (OUTPUT-FORMATS.md §13 hosts, §14 adblock), and the MISP feed loaded by PyMISP.

use std::collections::{BTreeSet, HashSet};
use std::fmt::Write as _;
use std::path::Path;
use std::process::Output;

use crate::util::pymisp_check;

const NOW: &str = "2026-12-04T00:00:00Z";

/// Runs `feedsmith convert --now NOW ARGS` in the folder `dir`, which needs no project.
fn convert(dir: &Path, args: &[&str]) -> Output {
    assert_cmd::Command::cargo_bin("feedsmith")
        .unwrap()
        .args(["convert", "--now", NOW])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_ok(output: &Output) {
    assert!(output.status.success(), "exit {:?}\n{}", output.status.code(), stderr(output));
}

/// An IPv4 address as an integer, computed by hand from its four numbers.
fn v4(text: &str) -> u32 {
    let parts: Vec<u32> = text.split('.').map(|p| p.parse().unwrap()).collect();
    assert_eq!(parts.len(), 4, "{text}");
    (parts[0] << 24) | (parts[1] << 16) | (parts[2] << 8) | parts[3]
}

/// `a.b.c.d` or `a.b.c.d/n` as the inclusive interval of its addresses.
fn interval(text: &str) -> (u64, u64) {
    let (address, prefix) = match text.split_once('/') {
        Some((address, prefix)) => (address, prefix.parse::<u32>().unwrap()),
        None => (text, 32),
    };
    let start = u64::from(v4(address));
    let size = 1u64 << (32 - prefix);
    assert_eq!(start % size, 0, "{text} has host bits set");
    (start, start + size - 1)
}

/// Sorted intervals with overlapping and adjacent ones joined.
fn merged(mut ranges: Vec<(u64, u64)>) -> Vec<(u64, u64)> {
    ranges.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for (start, end) in ranges {
        match out.last_mut() {
            Some(last) if start <= last.1 + 1 => last.1 = last.1.max(end),
            _ => out.push((start, end)),
        }
    }
    out
}

/// How many CIDR blocks at least cover exactly `[start, end]`: the largest aligned block
/// that starts at `start` and fits, again and again.
fn least_blocks(mut start: u64, end: u64) -> usize {
    let mut blocks = 0;
    while start <= end {
        let mut size = if start == 0 { 1u64 << 32 } else { 1u64 << start.trailing_zeros().min(32) };
        while start + size - 1 > end {
            size /= 2;
        }
        start += size;
        blocks += 1;
    }
    blocks
}

/// The data lines of a `#`-commented output.
fn data_lines(text: &str) -> Vec<&str> {
    text.lines().filter(|l| !l.starts_with('#')).collect()
}

/// A list of 3,000 addresses in runs that merge, networks, repeats, comments and CRLF.
fn address_list() -> (String, Vec<(u64, u64)>) {
    let mut text = String::from("# a scanner list\r\n; another comment\r\n\r\n");
    let mut ranges = Vec::new();
    // Runs of adjacent addresses, written last to first: 198.18.x.y from .0 up.
    for run in 0u32..100 {
        let base = (100 << 24) | (run * 1000);
        for offset in (0..=(run % 37)).rev() {
            let address = base + offset;
            let _ = write!(
                text,
                "{}.{}.{}.{}\r\n",
                address >> 24,
                (address >> 16) & 255,
                (address >> 8) & 255,
                address & 255
            );
            ranges.push((u64::from(address), u64::from(address)));
        }
    }
    // Networks, one overlapping an address run, one holding another network.
    for net in ["100.0.0.0/30", "45.64.0.0/16", "45.64.128.0/17", "8.8.4.0/24"] {
        text.push_str(net);
        text.push_str(" # listed network\n");
        ranges.push(interval(net));
    }
    // Repeats.
    text.push_str("100.0.3.5\n100.0.3.5\n8.8.4.4\n");
    ranges.push(interval("100.0.3.5"));
    ranges.push(interval("8.8.4.4"));
    (text, merged(ranges))
}

#[test]
fn an_ipv4_list_aggregates_to_the_least_cidrs_of_the_same_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let (list, expected) = address_list();
    std::fs::write(dir.path().join("list.txt"), &list).unwrap();
    let output = convert(dir.path(), &["--to", "cidr-ipv4", "-o", "out.txt", "list.txt"]);
    assert_ok(&output);
    let text = std::fs::read_to_string(dir.path().join("out.txt")).unwrap();
    let lines = data_lines(&text);
    let got = merged(lines.iter().map(|l| interval(l)).collect());
    assert_eq!(got, expected);
    // The least blocks: none can be merged with another.
    let least: usize = expected.iter().map(|&(s, e)| least_blocks(s, e)).sum();
    assert_eq!(lines.len(), least);
    // Blocks in address order, each written once.
    let starts: Vec<u64> = lines.iter().map(|l| interval(l).0).collect();
    assert!(starts.windows(2).all(|w| w[0] < w[1]));
    assert!(text.contains(&format!("# built: {NOW}\n")), "{text}");
    assert!(text.contains(&format!("# entries: {least}\n")), "{text}");
}

#[test]
fn a_plain_address_list_and_the_same_list_with_notes_give_the_same_file_and_counts() {
    // Without its trailing ` # …` notes every line is an address, a network, a comment or
    // blank, which convert reads as intervals; with them each value goes through the full
    // parse. Both must give the same blocks, header and counts.
    let dir = tempfile::tempdir().unwrap();
    let (noted, expected) = address_list();
    let plain = noted.replace(" # listed network", "");
    assert_ne!(plain, noted);
    std::fs::write(dir.path().join("noted.txt"), &noted).unwrap();
    std::fs::write(dir.path().join("plain.txt"), &plain).unwrap();
    let mut runs = Vec::new();
    for name in ["noted", "plain"] {
        let output = convert(
            dir.path(),
            &["--name", "list", "--to", "cidr-ipv4", "-o", name, &format!("{name}.txt")],
        );
        assert_ok(&output);
        let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
        let read_line =
            stderr(&output).lines().next().unwrap().replace(&format!("{name}.txt"), "list");
        runs.push((text, read_line));
    }
    assert_eq!(runs[0], runs[1]);
    let got = merged(data_lines(&runs[1].0).iter().map(|l| interval(l)).collect());
    assert_eq!(got, expected);
    // Counted here: two comment lines and a blank one above the values, one line per value,
    // and one repeat (`100.0.3.5`; `8.8.4.4` is not `8.8.4.0/24`).
    let values: u64 = (0u64..100).map(|run| run % 37 + 1).sum::<u64>() + 4 + 3;
    let lines = plain.lines().count();
    assert_eq!(values as usize + 3, lines);
    let expected_line = format!(
        "Read {lines} lines from list: {values} values accepted ({} distinct, 1 repeats), 2 comments, 1 blank, 0 rejected.",
        values - 1
    );
    assert_eq!(runs[1].1, expected_line);
}

#[test]
fn a_list_read_from_stdin_is_written_to_stdout() {
    let dir = tempfile::tempdir().unwrap();
    let output = assert_cmd::Command::cargo_bin("feedsmith")
        .unwrap()
        .args(["convert", "--now", NOW, "--to", "cidr-ipv4", "-"])
        .write_stdin("192.0.2.1\n192.0.2.0\n192.0.2.2\n192.0.2.3\n")
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_ok(&output);
    let text = String::from_utf8(output.stdout.clone()).unwrap();
    assert_eq!(data_lines(&text), ["192.0.2.0/30"]);
    assert!(stderr(&output).contains("Read 4 lines from standard input"), "{}", stderr(&output));
}

/// Names with repeats, mixed case, subdomains of listed names, comments and hostile lines.
const NAMES: &str = "# names\n\
bad.example\n\
cdn.bad.example\n\
CDN.Bad.Example\n\
Other.Example\n\
deep.sub.other.example\n\
free.example ! a note\n\
solo.test\n\
solo.test\n\
www.unlisted.example\n\
bad..example\n\
-bad.example\n";

#[test]
fn a_domain_list_becomes_a_hosts_file_with_every_name_on_its_own_line() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("names.txt"), NAMES).unwrap();
    let output = convert(dir.path(), &["--to", "hosts", "-o", "hosts", "names.txt"]);
    assert_ok(&output);
    let text = std::fs::read_to_string(dir.path().join("hosts")).unwrap();
    // OUTPUT-FORMATS.md §13: `<sink> <name>`, no wildcards, so each subdomain is a line;
    // `#` comments; LF line ends and a final newline (cross-cutting rules).
    let lines = data_lines(&text);
    let names: Vec<&str> = lines.iter().map(|l| l.strip_prefix("0.0.0.0 ").unwrap()).collect();
    let expected: BTreeSet<&str> = [
        "bad.example",
        "cdn.bad.example",
        "other.example",
        "deep.sub.other.example",
        "free.example",
        "solo.test",
        "www.unlisted.example",
    ]
    .into();
    assert_eq!(names.iter().copied().collect::<BTreeSet<_>>(), expected);
    assert_eq!(names.len(), expected.len(), "a name is written twice: {names:?}");
    assert!(!text.contains('\r') && text.ends_with('\n'));
}

#[test]
fn a_domain_list_becomes_adblock_rules_without_the_names_a_parent_blocks() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("names.txt"), NAMES).unwrap();
    let output = convert(dir.path(), &["--to", "adblock", "-o", "list.txt", "names.txt"]);
    assert_ok(&output);
    let text = std::fs::read_to_string(dir.path().join("list.txt")).unwrap();
    // OUTPUT-FORMATS.md §14: `||name^` blocks the name and its subdomains, `!` comments.
    let rules: Vec<&str> = text.lines().filter(|l| !l.starts_with('!')).collect();
    let names: BTreeSet<&str> =
        rules.iter().map(|r| r.strip_prefix("||").unwrap().strip_suffix('^').unwrap()).collect();
    let expected: BTreeSet<&str> =
        ["bad.example", "other.example", "free.example", "solo.test", "www.unlisted.example"]
            .into();
    assert_eq!(names, expected);
    assert_eq!(rules.len(), expected.len());
    assert!(text.starts_with("! Title: feedsmith convert of names.txt\n"), "{text}");
    let summary = stderr(&output);
    assert!(summary.contains("left out covered_by_parent: 2"), "{summary}");
}

#[test]
fn hostile_lines_are_counted_as_rejected_with_their_line_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let mut body = b"198.51.100.7\n300.1.2.3\nbad..example\n".to_vec();
    body.extend_from_slice(b"\xff\xfe.example\n<script>alert(1)</script>\nrun started at noon\n");
    std::fs::write(dir.path().join("list.txt"), &body).unwrap();
    let output = convert(dir.path(), &["--to", "plain", "-o", "out.txt", "list.txt"]);
    assert_ok(&output);
    let text = std::fs::read_to_string(dir.path().join("out.txt")).unwrap();
    assert_eq!(data_lines(&text), ["198.51.100.7"]);
    let summary = stderr(&output);
    assert!(summary.contains("Read 6 lines from list.txt: 1 values accepted"), "{summary}");
    assert!(summary.contains("5 rejected"), "{summary}");
    assert!(summary.contains("line 2: `300.1.2.3`"), "{summary}");
    assert!(summary.contains("line 3: `bad..example`"), "{summary}");
    assert!(summary.contains("rejected non_utf8: 1 (line 4:"), "{summary}");
    // `<` and `>` split words, so the script line is words that are no indicators.
    assert!(
        summary.contains(
            "rejected unparsed_line: 2 (line 5: `<script>alert(1)</script>`, line 6: `run started at noon`)"
        ),
        "{summary}"
    );
}

#[test]
fn the_output_does_not_depend_on_the_input_order() {
    let dir = tempfile::tempdir().unwrap();
    let (list, _) = address_list();
    let mut lines: Vec<&str> = list.lines().collect();
    std::fs::write(dir.path().join("a.txt"), lines.join("\n")).unwrap();
    lines.reverse();
    std::fs::write(dir.path().join("b.txt"), lines.join("\n")).unwrap();
    for format in ["cidr-ipv4", "plain", "nftables"] {
        let read = |name: &str| {
            let out = format!("{name}.{format}");
            assert_ok(&convert(dir.path(), &["--to", format, "--name", "l", "-o", &out, name]));
            std::fs::read(dir.path().join(out)).unwrap()
        };
        assert_eq!(read("a.txt"), read("b.txt"), "{format}");
    }
}

#[test]
fn a_typed_csv_becomes_a_misp_feed_that_pymisp_loads() {
    let dir = tempfile::tempdir().unwrap();
    let csv = "type,value\n\
ip-dst,198.51.100.7\n\
domain,bad.example\n\
url,http://bad.example/gate.php\n\
sha256,aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n\
domain,bad.example\n\
md5,not-a-hash\n";
    std::fs::write(dir.path().join("in.csv"), csv).unwrap();
    let args = [
        "--from",
        "csv",
        "--header",
        "--column",
        "value",
        "--type-column",
        "type",
        "--to",
        "misp-feed",
        "--event-info",
        "Test feed",
        "-o",
        "feed",
        "in.csv",
    ];
    let output = convert(dir.path(), &args);
    assert_ok(&output);
    let summary = stderr(&output);
    assert!(summary.contains("1 rejected"), "{summary}");
    let feed = dir.path().join("feed");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(feed.join("manifest.json")).unwrap()).unwrap();
    let (uuid, head) = manifest.as_object().unwrap().iter().next().unwrap();
    assert_eq!(head["info"], "Test feed");
    let event: serde_json::Value =
        serde_json::from_slice(&std::fs::read(feed.join(format!("{uuid}.json"))).unwrap()).unwrap();
    let values: HashSet<(String, String)> = event["Event"]["Attribute"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["type"].as_str().unwrap().to_owned(), a["value"].as_str().unwrap().to_owned()))
        .collect();
    let expected: HashSet<(String, String)> = [
        ("ip-dst", "198.51.100.7"),
        ("domain", "bad.example"),
        ("url", "http://bad.example/gate.php"),
        ("sha256", &"a".repeat(64)[..]),
    ]
    .iter()
    .map(|(t, v)| ((*t).to_owned(), (*v).to_owned()))
    .collect();
    assert_eq!(values, expected);
    if let Some(loaded) = pymisp_check(&feed) {
        assert_eq!(loaded["events"], 1);
        assert_eq!(loaded["attributes"], 4);
    }

    // Converted again without one value: it stays as a deleted attribute, so that a
    // subscribing MISP revokes it, and the event keeps its UUID.
    std::fs::write(dir.path().join("in.csv"), csv.replace("ip-dst,198.51.100.7\n", "")).unwrap();
    assert_ok(&convert(dir.path(), &args));
    let again: serde_json::Value =
        serde_json::from_slice(&std::fs::read(feed.join(format!("{uuid}.json"))).unwrap()).unwrap();
    let deleted: Vec<&str> = again["Event"]["Attribute"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| a["deleted"] == true)
        .map(|a| a["value"].as_str().unwrap())
        .collect();
    assert_eq!(deleted, ["198.51.100.7"]);
}

#[test]
fn a_conversion_it_cannot_make_is_a_usage_error() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("list.txt"), "192.0.2.1\n").unwrap();
    let output = convert(dir.path(), &["--to", "misp-feed", "list.txt"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("writes a folder: give it with `--output DIR`"));
    let output = convert(dir.path(), &["--to", "no-such-format", "list.txt"]);
    assert_eq!(output.status.code(), Some(1));
    let output = convert(dir.path(), &["--to", "plain", "missing.txt"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("cannot read missing.txt"), "{}", stderr(&output));
}

#[test]
fn settings_a_definition_file_would_be_refused_for_are_usage_errors() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("list.txt"), "192.0.2.1\n").unwrap();
    let refused = |args: &[&str], says: &str| {
        let output = convert(dir.path(), args);
        assert_eq!(output.status.code(), Some(1), "{args:?}");
        assert!(stderr(&output).contains(says), "{args:?}: {}", stderr(&output));
    };
    // A set name is written into nft and ipset commands: only an identifier is taken.
    refused(
        &["--to", "nftables", "--set-name", "a b", "-o", "out.nft", "list.txt"],
        "`--set-name`: `a b` must be a letter",
    );
    refused(
        &["--to", "ipset", "--set-name", "x\n}\nflush ruleset", "-o", "out.ipset", "list.txt"],
        "`--set-name`",
    );
    refused(&["--to", "hosts", "--zone", "x.rpz", "list.txt"], "`--zone`: only used with");
    refused(&["--to", "suricata", "list.txt"], "`--to suricata` writes a folder");
    assert!(!dir.path().join("out.nft").exists() && !dir.path().join("out.ipset").exists());
}

#[cfg(unix)]
#[test]
fn an_output_that_would_replace_a_pipe_or_a_folder_of_other_files_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("list.txt"), "192.0.2.1\n").unwrap();
    let made = std::process::Command::new("mkfifo").arg(dir.path().join("pipe")).status().unwrap();
    assert!(made.success());
    let output = convert(dir.path(), &["--to", "cidr-ipv4", "-o", "pipe", "list.txt"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(stderr(&output).contains("is not a regular file"), "{}", stderr(&output));
    let kind = std::fs::symlink_metadata(dir.path().join("pipe")).unwrap().file_type();
    assert!(std::os::unix::fs::FileTypeExt::is_fifo(&kind));

    // A folder of someone's files is no MISP feed: it stays as it is.
    std::fs::create_dir_all(dir.path().join("notes/sub")).unwrap();
    std::fs::write(dir.path().join("notes/todo.txt"), "keep me\n").unwrap();
    for format in ["misp-feed", "suricata"] {
        let output = convert(dir.path(), &["--to", format, "-o", "notes", "list.txt"]);
        assert_eq!(output.status.code(), Some(1), "{format}");
        assert!(stderr(&output).contains("it would be replaced whole"), "{}", stderr(&output));
    }
    assert_eq!(std::fs::read_to_string(dir.path().join("notes/todo.txt")).unwrap(), "keep me\n");
    assert!(dir.path().join("notes/sub").is_dir());

    // The folder of an earlier conversion is replaced, as each run replaces its own.
    for _ in 0..2 {
        let output = convert(dir.path(), &["--to", "misp-feed", "-o", "feed", "list.txt"]);
        assert_ok(&output);
    }
    assert!(dir.path().join("feed/manifest.json").is_file());
}

#[test]
fn entries_an_ipset_cannot_hold_are_counted_as_cut_in_the_summary() {
    // 100,000 addresses 4 apart: no two merge, so each is one block; an ipset set holds
    // 65,536 by default (`maxelem`), so 34,464 are cut.
    let dir = tempfile::tempdir().unwrap();
    let mut list = String::new();
    for i in 0u32..100_000 {
        let address = (10 << 24) | (i * 4);
        let _ = writeln!(
            list,
            "{}.{}.{}.{}",
            address >> 24,
            (address >> 16) & 255,
            (address >> 8) & 255,
            address & 255
        );
    }
    std::fs::write(dir.path().join("list.txt"), &list).unwrap();
    let output = convert(dir.path(), &["--to", "ipset", "-o", "out.ipset", "list.txt"]);
    assert_ok(&output);
    let text = stderr(&output);
    assert!(text.contains("Wrote 65536 entries (ipset)"), "{text}");
    assert!(text.contains("  34464 entries cut, the lowest-ranked"), "{text}");
    assert!(text.contains("  cut maxelem: 34464"), "{text}");
}
