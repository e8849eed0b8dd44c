//! Every output of the repository's own tasks, built from the recorded responses, read by
//! the program that consumes it: BIND's `named-checkzone` loads the response policy zone,
//! `unbound-checkconf` a configuration that includes the Unbound file, `dnsmasq --test` the
//! dnsmasq file, `nft -c -f` the nftables script and `ipset restore` the ipset file (both in
//! a network namespace of their own, so the machine's firewall is never touched), Python's
//! `ipaddress` module the CIDR lists and its `csv` and `json` modules the tables.
//!
//! `.ci/run` installs the tools from Debian's packages. Outside CI (`CI` unset) a missing
//! tool skips its check with a message; in CI it fails the test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{build_replay, copy_root_definitions};

const NOW: &str = "2026-08-23T00:00:00Z";

/// Formats no program packaged in Debian reads: they are checked by the format tests only.
/// Every other format of the root's tasks must have a consumer below.
const NO_CONSUMER: &[(&str, &str)] = &[
    ("plain", "one value per line; every reader takes it"),
    ("misp-feed", "loaded by PyMISP in the end-to-end test"),
    ("hosts", "read by the C library's resolver, which has no checking mode"),
    ("adblock", "read by AdGuard Home and browser blockers, not packaged"),
    ("panos-edl", "read by PAN-OS firewalls"),
    ("fortigate", "read by FortiGate firewalls"),
    ("suricata", "Suricata is not in Debian 12's main archive"),
    ("zeek", "Zeek is not in Debian's archive"),
    ("template", "the root's is a MikroTik RouterOS script; RouterOS is not packaged"),
];

/// A tool a check needs, and the Debian package that brings it.
struct Tool {
    name: &'static str,
    package: &'static str,
}

const NAMED_CHECKZONE: Tool = Tool { name: "named-checkzone", package: "bind9-utils" };
const UNBOUND_CHECKCONF: Tool = Tool { name: "unbound-checkconf", package: "unbound" };
const DNSMASQ: Tool = Tool { name: "dnsmasq", package: "dnsmasq-base" };
const NFT: Tool = Tool { name: "nft", package: "nftables" };
const IPSET: Tool = Tool { name: "ipset", package: "ipset" };
const UNSHARE: Tool = Tool { name: "unshare", package: "util-linux" };
const PYTHON: Tool = Tool { name: "python3", package: "python3" };

/// The checks' results: what failed, and what was skipped outside CI.
#[derive(Default)]
struct Checks {
    /// In CI a missing tool fails instead of skipping.
    ci: bool,
    failures: Vec<String>,
    /// Commands run, and how many of them exited with an error.
    ran: usize,
    refused: usize,
    /// Where the checks write their own files (Unbound configurations).
    scratch: Option<tempfile::TempDir>,
}

impl Checks {
    fn new() -> Checks {
        Checks {
            ci: std::env::var_os("CI").is_some(),
            scratch: Some(tempfile::tempdir().unwrap()),
            ..Checks::default()
        }
    }

    /// The tool's path; `None` (a failure in CI, a printed skip elsewhere) when it is missing.
    fn tool(&mut self, tool: &Tool, check: &str) -> Option<PathBuf> {
        let found = find(tool.name);
        if found.is_none() {
            self.missing(&format!("`{}` (Debian package {})", tool.name, tool.package), check);
        }
        found
    }

    fn missing(&mut self, what: &str, check: &str) {
        if self.ci {
            self.failures.push(format!("{check}: {what} is required in CI (.ci/run installs it)"));
        } else {
            #[expect(clippy::print_stderr, reason = "a skipped check must say so in the test log")]
            {
                eprintln!("skipping {check}: {what} is not available");
            }
        }
    }

    /// Runs `command`; a failure to start or a non-zero exit is recorded under `check`.
    /// Returns its standard output when it succeeded.
    fn run(&mut self, check: &str, command: &mut Command) -> Option<String> {
        let output = command.output();
        self.judge(check, command, output)
    }

    /// Records the outcome of `command`, run already.
    fn judge(
        &mut self,
        check: &str,
        command: &Command,
        output: std::io::Result<std::process::Output>,
    ) -> Option<String> {
        self.ran += 1;
        match output {
            Err(e) => {
                self.failures.push(format!("{check}: could not run {command:?}: {e}"));
                None
            }
            Ok(output) if !output.status.success() => {
                self.refused += 1;
                self.failures.push(format!(
                    "{check}: {command:?} exited with {:?}\n{}{}",
                    output.status.code(),
                    tail(&String::from_utf8_lossy(&output.stdout)),
                    tail(&String::from_utf8_lossy(&output.stderr)),
                ));
                None
            }
            Ok(output) => Some(String::from_utf8_lossy(&output.stdout).into_owned()),
        }
    }

    fn assert_none_failed(self) {
        assert!(self.failures.is_empty(), "{}", self.failures.join("\n\n"));
    }
}

/// The last lines of a tool's output, enough to see why it refused a file.
fn tail(text: &str) -> String {
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(20);
    let mut out = String::new();
    for line in &lines[start..] {
        out.push_str("  ");
        out.push_str(line);
        out.push('\n');
    }
    out
}

/// `name` on the `PATH` or in the `sbin` folders, which a user's `PATH` often lacks.
fn find(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/local/sbin", "/usr/sbin", "/sbin"].map(PathBuf::from))
        .map(|dir| dir.join(name))
        .find(|candidate| candidate.is_file())
}

/// The prefix that runs a command in a new network namespace: `unshare -n` for root,
/// `unshare -rn` (a user namespace mapping the caller to root) for anyone else. `None` when
/// neither works here.
fn namespace(checks: &mut Checks, check: &str) -> Option<Vec<PathBuf>> {
    let unshare = checks.tool(&UNSHARE, check)?;
    for flags in ["-n", "-rn"] {
        let works = Command::new(&unshare)
            .args([flags, "true"])
            .output()
            .is_ok_and(|output| output.status.success());
        if works {
            return Some(vec![unshare, PathBuf::from(flags)]);
        }
    }
    checks.missing("a network namespace (`unshare -n` as root, or `unshare -rn`)", check);
    None
}

/// `program args…`, inside a namespace when `prefix` is given.
fn command(prefix: &[PathBuf], program: &Path) -> Command {
    match prefix.split_first() {
        Some((first, rest)) => {
            let mut command = Command::new(first);
            command.args(rest).arg(program);
            command
        }
        None => Command::new(program),
    }
}

/// The `zone` of the `rpz` output at `path` in `tasks.d/<task>.toml`, or its default,
/// `<task id>.rpz`.
fn rpz_zone(root: &Path, task: &str, path: &str) -> String {
    let text = std::fs::read_to_string(root.join(format!("tasks.d/{task}.toml"))).unwrap();
    let definition: toml::Value = toml::from_str(&text).unwrap();
    definition["outputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|output| output["path"].as_str() == Some(path))
        .and_then(|output| output.get("zone"))
        .and_then(toml::Value::as_str)
        .map_or_else(|| format!("{task}.rpz"), str::to_owned)
}

/// Loads `zone_file` as zone `zone` with `named-checkzone`.
fn check_rpz(checks: &mut Checks, check: &str, zone: &str, zone_file: &Path) {
    let Some(tool) = checks.tool(&NAMED_CHECKZONE, check) else { return };
    checks.run(check, Command::new(tool).arg(zone).arg(zone_file));
}

/// Checks an Unbound configuration whose `server:` clause includes `file`.
fn check_unbound(checks: &mut Checks, check: &str, file: &Path) {
    let Some(tool) = checks.tool(&UNBOUND_CHECKCONF, check) else { return };
    let scratch = checks.scratch.as_ref().unwrap().path();
    let dir = scratch.join(format!("unbound-{}", checks.ran));
    std::fs::create_dir_all(&dir).unwrap();
    // No chroot, no user switch, no pid file: the check then needs no privileges and no
    // installed configuration, and reads only this file and the included one.
    let config = format!(
        "server:\n\tchroot: \"\"\n\tusername: \"\"\n\tdirectory: \"{}\"\n\tpidfile: \"\"\n\
         \tuse-syslog: no\ninclude: \"{}\"\n",
        dir.display(),
        file.display()
    );
    let config_file = dir.join("unbound.conf");
    std::fs::write(&config_file, config).unwrap();
    checks.run(check, Command::new(tool).arg(&config_file));
}

/// `dnsmasq --test` with `file` as its only configuration.
fn check_dnsmasq(checks: &mut Checks, check: &str, file: &Path) {
    let Some(tool) = checks.tool(&DNSMASQ, check) else { return };
    let mut conf_file = std::ffi::OsString::from("--conf-file=");
    conf_file.push(file);
    checks.run(check, Command::new(tool).arg("--test").arg(conf_file));
}

/// `nft -c -f file`: the whole script as one transaction, checked by the kernel and not
/// committed, in a network namespace of its own.
///
/// As root, nft sizes its netlink socket buffer to the transaction (`SO_SNDBUFFORCE`). In a
/// user namespace it may not, and a transaction larger than `net.core.wmem_max` fails with
/// "Message too long" whatever the script says. Then the script is checked with every
/// `add element` block cut to its first elements: the same syntax, a smaller transaction.
fn check_nftables(checks: &mut Checks, check: &str, file: &Path) {
    let Some(tool) = checks.tool(&NFT, check) else { return };
    let Some(prefix) = namespace(checks, check) else { return };
    let mut nft = command(&prefix, &tool);
    nft.arg("-c").arg("-f").arg(file);
    let in_user_namespace = prefix.get(1).is_some_and(|flags| flags.as_os_str() == "-rn");
    let output = nft.output();
    if in_user_namespace
        && let Ok(output) = &output
        && String::from_utf8_lossy(&output.stderr).contains("Message too long")
    {
        #[expect(clippy::print_stderr, reason = "a reduced check must say so in the test log")]
        {
            eprintln!("{check}: too large for an unprivileged netlink buffer; checking a sample");
        }
        let text = std::fs::read_to_string(file).unwrap();
        let sample = file.with_extension("sample.nft");
        std::fs::write(&sample, nft_sample(&text, 64)).unwrap();
        let mut nft = command(&prefix, &tool);
        nft.arg("-c").arg("-f").arg(&sample);
        let output = nft.output();
        checks.judge(check, &nft, output);
        return;
    }
    checks.judge(check, &nft, output);
}

/// An nftables script with each `add element … {` block cut to its first `keep` elements,
/// the last one kept without its comma; every other line as it is.
fn nft_sample(text: &str, keep: usize) -> String {
    let mut out = String::new();
    let mut block: Option<Vec<&str>> = None;
    for line in text.lines() {
        match &mut block {
            None if line.starts_with("add element ") && line.ends_with('{') => {
                out.push_str(line);
                out.push('\n');
                block = Some(Vec::new());
            }
            None => {
                out.push_str(line);
                out.push('\n');
            }
            Some(elements) if line == "}" => {
                let kept = &elements[..elements.len().min(keep)];
                for (index, element) in kept.iter().enumerate() {
                    let element = element.trim_end_matches(',');
                    let comma = if index + 1 < kept.len() { "," } else { "" };
                    out.push_str(element);
                    out.push_str(comma);
                    out.push('\n');
                }
                out.push_str("}\n");
                block = None;
            }
            Some(elements) => elements.push(line),
        }
    }
    out
}

/// `ipset restore -f file` in a network namespace of its own, then the sets it left: each
/// live set must hold the networks the file adds to its temporary set.
fn check_ipset(checks: &mut Checks, check: &str, file: &Path) {
    let Some(tool) = checks.tool(&IPSET, check) else { return };
    let Some(prefix) = namespace(checks, check) else { return };
    // The restore and the listing in one namespace, joined by a shell that gets the tool
    // and the file as `$0` and `$1`.
    let mut shell = command(&prefix, Path::new("/bin/sh"));
    shell.args(["-c", "\"$0\" restore -f \"$1\" && \"$0\" save"]).arg(&tool).arg(file);
    let Some(saved) = checks.run(check, &mut shell) else { return };
    // What the file adds to each `<set>_tmp`, counted from the file itself.
    let text = std::fs::read_to_string(file).unwrap();
    let mut expected: BTreeMap<String, usize> = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("add ") {
            let set = rest.split(' ').next().unwrap();
            *expected.entry(set.trim_end_matches("_tmp").to_owned()).or_default() += 1;
        }
        if let Some(rest) = line.strip_prefix("create ") {
            let set = rest.split(' ').next().unwrap();
            expected.entry(set.trim_end_matches("_tmp").to_owned()).or_default();
        }
    }
    let mut loaded: BTreeMap<String, usize> = BTreeMap::new();
    for line in saved.lines() {
        let mut words = line.split(' ');
        match (words.next(), words.next()) {
            (Some("create"), Some(set)) => {
                loaded.entry(set.to_owned()).or_default();
            }
            (Some("add"), Some(set)) => *loaded.entry(set.to_owned()).or_default() += 1,
            _ => {}
        }
    }
    if loaded != expected {
        checks.failures.push(format!(
            "{check}: the sets after the restore hold {loaded:?}, the file adds {expected:?}"
        ));
    }
}

/// Python's `ipaddress` module reads each line of `file` as a network of IP `version` with
/// its host bits clear, and finds none that overlaps or adjoins another (the list is
/// aggregated: collapsing it changes nothing).
fn check_cidr(checks: &mut Checks, check: &str, file: &Path, version: u8, entries: u64) {
    let script = format!(
        "import ipaddress, sys\n\
         with open(sys.argv[1], encoding='ascii') as f:\n\
         \x20   lines = [l.rstrip('\\n') for l in f if not l.startswith('#')]\n\
         nets = [ipaddress.ip_network(l, strict=True) for l in lines]\n\
         assert all(n.version == {version} for n in nets)\n\
         assert len(list(ipaddress.collapse_addresses(nets))) == len(nets), 'not aggregated'\n\
         print(len(nets))\n"
    );
    check_python(checks, check, &script, file, entries);
}

/// Python's `csv` module reads `file` strictly: every row has the header's fields.
fn check_csv(checks: &mut Checks, check: &str, file: &Path, entries: u64) {
    let script = "import csv, sys\n\
                  with open(sys.argv[1], newline='', encoding='utf-8') as f:\n\
                  \x20   rows = list(csv.reader(f, strict=True))\n\
                  header = rows[0]\n\
                  bad = [r for r in rows[1:] if len(r) != len(header)]\n\
                  assert not bad, bad[:3]\n\
                  print(len(rows) - 1)\n";
    check_python(checks, check, script, file, entries);
}

/// Python's `json` module reads `file`: an object with an `indicators` array.
fn check_json(checks: &mut Checks, check: &str, file: &Path, entries: u64) {
    let script = "import json, sys\n\
                  with open(sys.argv[1], encoding='utf-8') as f:\n\
                  \x20   document = json.load(f)\n\
                  print(len(document['indicators']))\n";
    check_python(checks, check, script, file, entries);
}

/// Runs a Python check that prints the number of records it read, which must be the
/// number the report says the output holds.
fn check_python(checks: &mut Checks, check: &str, script: &str, file: &Path, entries: u64) {
    let Some(python) = checks.tool(&PYTHON, check) else { return };
    let Some(out) = checks.run(check, Command::new(python).arg("-c").arg(script).arg(file)) else {
        return;
    };
    if out.trim() != entries.to_string() {
        checks
            .failures
            .push(format!("{check}: read {} records, the report says {entries}", out.trim()));
    }
}

#[test]
fn every_output_of_the_root_tasks_passes_its_consumer() {
    let root = copy_root_definitions();
    let report = build_replay(root.path(), NOW);
    let site = root.path().join("site");
    let mut checks = Checks::new();
    let mut checked = std::collections::BTreeSet::new();
    for task in report["tasks"].as_array().unwrap() {
        let id = task["id"].as_str().unwrap();
        for output in task["outputs"].as_array().unwrap() {
            let format = output["format"].as_str().unwrap();
            let path = output["path"].as_str().unwrap();
            let entries = output["entries"].as_u64().unwrap();
            let file = site.join(path);
            let check = format!("{id}: {path} ({format})");
            match format {
                "rpz" => check_rpz(&mut checks, &check, &rpz_zone(root.path(), id, path), &file),
                "unbound" => check_unbound(&mut checks, &check, &file),
                "dnsmasq" => check_dnsmasq(&mut checks, &check, &file),
                "nftables" => check_nftables(&mut checks, &check, &file),
                "ipset" => check_ipset(&mut checks, &check, &file),
                "cidr-ipv4" => check_cidr(&mut checks, &check, &file, 4, entries),
                "cidr-ipv6" => check_cidr(&mut checks, &check, &file, 6, entries),
                "csv" => check_csv(&mut checks, &check, &file, entries),
                "json" => check_json(&mut checks, &check, &file, entries),
                other => {
                    assert!(
                        NO_CONSUMER.iter().any(|(name, _)| *name == other),
                        "{check}: format `{other}` has no consumer check; add one or list it in NO_CONSUMER"
                    );
                    continue;
                }
            }
            checked.insert(format.to_owned());
        }
    }
    // The root's tasks write every format that has a consumer.
    for format in ["rpz", "unbound", "dnsmasq", "nftables", "ipset", "cidr-ipv4", "csv", "json"] {
        assert!(checked.contains(format), "no output of the root's tasks is in `{format}`");
    }
    checks.assert_none_failed();
}

#[test]
fn each_consumer_refuses_a_broken_file() {
    // The checks above mean something only if each tool, run the same way, refuses a file
    // its product would refuse.
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, text: &str| {
        let path = dir.path().join(name);
        std::fs::write(&path, text).unwrap();
        path
    };
    let cases = [
        // No SOA record.
        ("rpz", write("broken.rpz", "$TTL 300\n@ IN NS localhost.\nbad.example CNAME .\n")),
        // An unknown zone type.
        ("unbound", write("broken.conf", "server:\nlocal-zone: \"bad.example.\" blackhole\n")),
        // An unknown option.
        ("dnsmasq", write("broken.dnsmasq", "local=/bad.example/\nblock-everything\n")),
        // A set in a table the script never declares.
        ("nftables", write("broken.nft", "add element inet nowhere cti_v4 { 192.0.2.1 }\n")),
        // An address added to a set that was never created.
        ("ipset", write("broken.ipset", "add nowhere 192.0.2.1\n")),
    ];
    let mut failures = Vec::new();
    for (format, file) in &cases {
        let mut probe = Checks::new();
        let check = format!("broken {format}");
        match *format {
            "rpz" => check_rpz(&mut probe, &check, "broken.rpz", file),
            "unbound" => check_unbound(&mut probe, &check, file),
            "dnsmasq" => check_dnsmasq(&mut probe, &check, file),
            "nftables" => check_nftables(&mut probe, &check, file),
            _ => check_ipset(&mut probe, &check, file),
        }
        if probe.ran == 0 {
            // A missing tool: a failure in CI, already printed as a skip elsewhere.
            failures.extend(probe.failures);
        } else if probe.refused == 0 {
            failures.push(format!("{check}: the consumer accepted it"));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
