#!/usr/bin/env python3
"""Runs feedsmith and the tool people use for the same job on the same input, times both,
checks that their results agree, and prints a table (run.sh installs the tools first).

Usage: sidebyside.py --feedsmith BIN --dir DIR --runs N CASE...

CASE is ipv4 (against `iprange --optimize`), domains (against hostlist-compiler) or misp
(against a PyMISP script). Each command runs N times under `/usr/bin/time -v`; the best wall
time counts, with its CPU time and peak memory. The results, the load average before and
after, and the ratios against issue 9's targets go to DIR/result.json.
"""

import argparse
import ipaddress
import json
import os
import re
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
NOW = "2026-12-04T00:00:00Z"
TARGETS = {"ipv4": 2.0, "domains": 20.0, "misp": 50.0}
COMPETITORS = {"ipv4": "iprange --optimize", "domains": "hostlist-compiler", "misp": "PyMISP to_feed"}


def loadavg() -> str:
    with open("/proc/loadavg", encoding="ascii") as f:
        return " ".join(f.read().split()[:3])


def timed(command, stdout_path=None, prepare=None, runs=3):
    """Runs `command` `runs` times; returns the best run's wall and CPU seconds and peak RSS."""
    best = None
    every = []
    for _ in range(runs):
        if prepare:
            prepare()
        stats_path = os.path.join(ARGS.dir, "time.txt")
        out = open(stdout_path, "wb") if stdout_path else subprocess.DEVNULL
        started = time.monotonic()
        done = subprocess.run(
            ["/usr/bin/time", "-v", "-o", stats_path, *command],
            stdout=out,
            stderr=subprocess.PIPE,
            check=False,
        )
        wall = time.monotonic() - started
        if stdout_path:
            out.close()
        if done.returncode != 0:
            sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr.decode(errors='replace')}")
        with open(stats_path, encoding="utf-8") as f:
            text = f.read()
        user = float(re.search(r"User time \(seconds\): ([\d.]+)", text).group(1))
        system = float(re.search(r"System time \(seconds\): ([\d.]+)", text).group(1))
        rss_kib = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", text).group(1))
        run = {"wall_s": round(wall, 3), "cpu_s": round(user + system, 3), "peak_rss_mib": round(rss_kib / 1024, 1)}
        every.append(run)
        if best is None or run["wall_s"] < best["wall_s"]:
            best = run
        stderr = done.stderr.decode(errors="replace")
    return {**best, "runs": every, "stderr_tail": stderr.strip().splitlines()[-3:]}


def intervals(lines):
    """Sorted, merged (start, end) integer intervals of IPv4 addresses and networks."""
    ranges = []
    for line in lines:
        line = line.strip()
        if not line or line[0] in "#;":
            continue
        net = ipaddress.IPv4Network(line, strict=False)
        ranges.append((int(net.network_address), int(net.broadcast_address)))
    ranges.sort()
    merged = []
    for start, end in ranges:
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def read_lines(path):
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read().splitlines()


def case_ipv4():
    source = os.path.join(ARGS.dir, "ipv4.txt")
    theirs_out = os.path.join(ARGS.dir, "ipv4.iprange.txt")
    ours_out = os.path.join(ARGS.dir, "ipv4.feedsmith.txt")
    theirs = timed(["iprange", "--optimize", source], stdout_path=theirs_out, runs=ARGS.runs)
    ours = timed(
        [ARGS.feedsmith, "convert", "--to", "cidr-ipv4", "--now", NOW, "-o", ours_out, source],
        runs=ARGS.runs,
    )
    expected = intervals(read_lines(source))
    got_theirs = intervals(read_lines(theirs_out))
    got_ours = intervals(read_lines(ours_out))
    addresses = sum(end - start + 1 for start, end in expected)
    ours_lines = [l for l in read_lines(ours_out) if l and not l.startswith("#")]
    theirs_lines = [l for l in read_lines(theirs_out) if l and not l.startswith("#")]
    equal = got_ours == got_theirs == expected
    details = {
        "input_lines": len(read_lines(source)),
        "addresses": addresses,
        "intervals": len(expected),
        "feedsmith_cidrs": len(ours_lines),
        "iprange_cidrs": len(theirs_lines),
        "same_cidr_lines": ours_lines == theirs_lines,
    }
    if not equal:
        details["difference"] = difference_text(got_ours, got_theirs, expected)
    return theirs, ours, equal, details


def difference_text(ours, theirs, expected):
    a, b, e = set(map(tuple, ours)), set(map(tuple, theirs)), set(map(tuple, expected))
    return {
        "feedsmith_not_expected": sorted(a - e)[:10],
        "expected_not_feedsmith": sorted(e - a)[:10],
        "iprange_not_expected": sorted(b - e)[:10],
        "expected_not_iprange": sorted(e - b)[:10],
    }


def adblock_names(path):
    names = []
    for line in read_lines(path):
        if line.startswith("||") and line.endswith("^"):
            names.append(line[2:-1])
    return names


def drop_covered(names):
    """Names without those below another name of the set (what `||parent^` blocks)."""
    listed = set(names)
    kept = set()
    for name in listed:
        labels = name.split(".")
        if not any(".".join(labels[i:]) in listed for i in range(1, len(labels))):
            kept.add(name)
    return kept


def case_domains():
    source = os.path.join(ARGS.dir, "domains.txt")
    node = os.path.join(ARGS.dir, "node")
    config = os.path.join(ARGS.dir, "hostlist-compiler.json")
    with open(config, "w", encoding="utf-8") as f:
        json.dump(
            {
                "name": "side-by-side benchmark",
                "sources": [{"name": "domains", "source": source, "type": "hosts"}],
                "transformations": ["RemoveComments", "Compress", "Validate", "Deduplicate"],
            },
            f,
        )
    theirs_out = os.path.join(ARGS.dir, "domains.hostlist-compiler.txt")
    ours_out = os.path.join(ARGS.dir, "domains.feedsmith.txt")
    cli = os.path.join(node, "node_modules", "@adguard", "hostlist-compiler", "src", "cli.js")
    theirs = timed(["node", cli, "-c", config, "-o", theirs_out], runs=ARGS.runs)
    ours = timed(
        [ARGS.feedsmith, "convert", "--to", "adblock", "--now", NOW, "-o", ours_out, source],
        runs=ARGS.runs,
    )
    # Independently: the input's names, lower-cased (DNS names ignore case), distinct, those
    # below another listed name dropped.
    inputs = [l.strip().lower() for l in read_lines(source) if l.strip() and not l.startswith("#")]
    expected = drop_covered(inputs)
    ours_names = adblock_names(ours_out)
    theirs_names = adblock_names(theirs_out)
    # hostlist-compiler compares names as written: `Bad.Example` and `bad.example` are two
    # rules to it, and a subdomain whose parent is written in another case stays.
    theirs_lower = [n.lower() for n in theirs_names]
    case_repeats = len(theirs_lower) - len(set(theirs_lower))
    theirs_normalized = drop_covered(theirs_lower)
    covered_by_other_case = len(set(theirs_lower)) - len(theirs_normalized)
    equal = set(ours_names) == expected == theirs_normalized and len(ours_names) == len(set(ours_names))
    details = {
        "input_lines": len(read_lines(source)),
        "input_names": len(inputs),
        "distinct_names_lowercase": len(set(inputs)),
        "expected": len(expected),
        "feedsmith_rules": len(ours_names),
        "hostlist_compiler_rules": len(theirs_names),
        "hostlist_compiler_case_repeats": case_repeats,
        "hostlist_compiler_kept_below_a_parent_in_other_case": covered_by_other_case,
        "hostlist_compiler_after_lowercasing_and_parent_rule": len(theirs_normalized),
        "why_the_counts_differ": (
            "hostlist-compiler compares names case-sensitively: a name listed in two spellings "
            "gives two rules, and a subdomain of a parent written in another case is kept; "
            "feedsmith lower-cases names first, as DNS compares them. With its rules "
            "lower-cased and the same parent rule applied, hostlist-compiler keeps the same names."
        ),
    }
    if not equal:
        details["feedsmith_not_expected"] = sorted(set(ours_names) - expected)[:10]
        details["expected_not_feedsmith"] = sorted(expected - set(ours_names))[:10]
        details["hostlist_compiler_not_expected"] = sorted(theirs_normalized - expected)[:10]
        details["expected_not_hostlist_compiler"] = sorted(expected - theirs_normalized)[:10]
    return theirs, ours, equal, details


def pymisp_values(folder):
    """The (type, value) pairs of the live attributes of a feed folder, as PyMISP loads it."""
    from pymisp import MISPEvent

    with open(os.path.join(folder, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    values = []
    for uuid in manifest:
        event = MISPEvent()
        event.load_file(os.path.join(folder, f"{uuid}.json"))
        if event.uuid != uuid:
            sys.exit(f"{folder}: event file {uuid}.json holds {event.uuid}")
        values.extend((a.type, a.value) for a in event.attributes if not getattr(a, "deleted", False))
    return len(manifest), values


def case_misp():
    source = os.path.join(ARGS.dir, "misp.csv")
    theirs_out = os.path.join(ARGS.dir, "misp-pymisp")
    ours_out = os.path.join(ARGS.dir, "misp-feedsmith")

    def clean(folder):
        return lambda: shutil.rmtree(folder, ignore_errors=True)

    theirs = timed(
        [sys.executable, os.path.join(HERE, "pymisp_feed.py"), source, theirs_out],
        prepare=clean(theirs_out),
        runs=ARGS.runs,
    )
    ours = timed(
        [
            ARGS.feedsmith, "convert", "--from", "csv", "--header", "--column", "value",
            "--type-column", "type", "--to", "misp-feed", "--event-info", "side-by-side benchmark",
            "--now", NOW, "-o", ours_out, source,
        ],
        prepare=clean(ours_out),
        runs=ARGS.runs,
    )
    with open(source, encoding="utf-8") as f:
        rows = [tuple(line.rstrip("\n").split(",", 1)) for line in f.readlines()[1:]]
    expected = set(rows)
    ours_events, ours_values = pymisp_values(ours_out)
    theirs_events, theirs_values = pymisp_values(theirs_out)
    equal = (
        set(ours_values) == set(theirs_values) == expected
        and len(ours_values) == len(expected) == len(theirs_values)
    )
    details = {
        "input_rows": len(rows),
        "distinct_attributes": len(expected),
        "feedsmith": {"events": ours_events, "attributes": len(ours_values)},
        "pymisp": {"events": theirs_events, "attributes": len(theirs_values)},
    }
    if not equal:
        details["feedsmith_not_expected"] = sorted(set(ours_values) - expected)[:10]
        details["expected_not_feedsmith"] = sorted(expected - set(ours_values))[:10]
        details["pymisp_not_expected"] = sorted(set(theirs_values) - expected)[:10]
    return theirs, ours, equal, details


def main() -> None:
    cases = {"ipv4": case_ipv4, "domains": case_domains, "misp": case_misp}
    result = {
        "feedsmith": subprocess.run(
            ["git", "-C", HERE, "rev-parse", "--short", "HEAD"], capture_output=True, text=True
        ).stdout.strip(),
        "cores": os.cpu_count(),
        "runs": ARGS.runs,
        "cases": {},
    }
    path = os.path.join(ARGS.dir, "result.json")
    if os.path.exists(path):
        with open(path, encoding="utf-8") as f:
            previous = json.load(f)
        if previous.get("feedsmith") == result["feedsmith"]:
            result["cases"] = previous.get("cases", {})
    for name in ARGS.cases:
        before = loadavg()
        theirs, ours, equal, details = cases[name]()
        ratio = theirs["wall_s"] / ours["wall_s"] if ours["wall_s"] else float("inf")
        result["cases"][name] = {
            "competitor": COMPETITORS[name],
            "competitor_run": theirs,
            "feedsmith_run": ours,
            "ratio": round(ratio, 2),
            "cpu_ratio": round(theirs["cpu_s"] / ours["cpu_s"], 2) if ours["cpu_s"] else None,
            "target": TARGETS[name],
            "target_met": ratio >= TARGETS[name],
            "results_agree": equal,
            "details": details,
            "loadavg_before": before,
            "loadavg_after": loadavg(),
        }
        with open(path, "w", encoding="utf-8") as f:
            json.dump(result, f, indent=2)
    print(f"{'case':8} {'competitor':20} {'their wall s':>12} {'our wall s':>10} {'ratio':>7} "
          f"{'target':>6} {'met':>4} {'their MiB':>9} {'our MiB':>8} {'agree':>5}  load")
    for name, case in result["cases"].items():
        t, o = case["competitor_run"], case["feedsmith_run"]
        print(f"{name:8} {case['competitor']:20} {t['wall_s']:12.2f} {o['wall_s']:10.2f} "
              f"{case['ratio']:7.2f} {case['target']:6.0f} {'yes' if case['target_met'] else 'no':>4} "
              f"{t['peak_rss_mib']:9.0f} {o['peak_rss_mib']:8.0f} {'yes' if case['results_agree'] else 'NO':>5}  "
              f"{case['loadavg_before']}")
    print(f"written: {path}")
    if not all(case["results_agree"] for case in result["cases"].values()):
        for name, case in result["cases"].items():
            if not case["results_agree"]:
                print(f"{name}: results differ: {json.dumps(case['details'], indent=2)}")
        sys.exit(1)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feedsmith", required=True)
    parser.add_argument("--dir", required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("cases", nargs="+", choices=["ipv4", "domains", "misp"])
    ARGS = parser.parse_args()
    main()
