#!/usr/bin/env python3
"""Reads what benches/harness/run.sh measured and prints it as a table and as JSON.

Inputs, in the bench folder (target/bench/): `{build,rebuild,next-day}-N.time` (the report of
`/usr/bin/time -v`), `{build,rebuild,next-day}-N.code` (the exit code), and the built project: its
bench.json (what the generator wrote), site/report.json, site/index.html and site/lookup/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import subprocess
import sys
from pathlib import Path

RUNS = ("build", "rebuild", "next-day")


def read_time(path: Path) -> dict:
    """Wall seconds, CPU seconds and peak RSS from a `/usr/bin/time -v` report."""
    fields = {}
    for line in path.read_text().splitlines():
        key, _, value = line.strip().rpartition(": ")
        fields[key] = value
    wall = 0.0
    for part in fields["Elapsed (wall clock) time (h:mm:ss or m:ss)"].split(":"):
        wall = wall * 60 + float(part)
    return {
        "wall_secs": round(wall, 2),
        "user_secs": float(fields["User time (seconds)"]),
        "system_secs": float(fields["System time (seconds)"]),
        "cpu_percent": fields["Percent of CPU this job got"],
        "peak_rss_mib": round(int(fields["Maximum resident set size (kbytes)"]) / 1024, 1),
    }


def log_stages(path: Path) -> dict:
    """The stage times the build logs at INFO (fetch, parse) and its closing line."""
    stages = {}
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return stages
    for line in lines:
        if "elapsed_ms=" in line and ("Fetched feeds" in line or "Parsed feeds" in line):
            stage = "fetch_ms" if "Fetched feeds" in line else "parse_ms"
            stages[stage] = int(line.rsplit("elapsed_ms=", 1)[1].split()[0])
        elif line.startswith("Built "):
            stages["summary"] = line
    return stages


def site_figures(site: Path) -> dict:
    """The sizes issue #7 bounds: the look-up shards and the index page."""
    index = site / "index.html"
    figures = {"index_html_bytes": index.stat().st_size if index.is_file() else None,
               "lookup_index": False, "lookup_shards": 0, "lookup_largest_bytes": None,
               "lookup_largest_file": None, "lookup_total_bytes": 0}
    lookup = site / "lookup"
    if lookup.is_dir():
        files = [p for p in lookup.rglob("*") if p.is_file()]
        figures["lookup_index"] = True
        figures["lookup_shards"] = len(files)
        figures["lookup_total_bytes"] = sum(p.stat().st_size for p in files)
        if files:
            largest = max(files, key=lambda p: (p.stat().st_size, str(p)))
            figures["lookup_largest_bytes"] = largest.stat().st_size
            figures["lookup_largest_file"] = str(largest.relative_to(site))
    figures["site_bytes"] = sum(p.stat().st_size for p in site.rglob("*") if p.is_file()) \
        if site.is_dir() else None
    return figures


def task_counts(site: Path) -> dict:
    """Per task, the selected indicators and those in several feeds, from report.json."""
    try:
        report = json.loads((site / "report.json").read_text())
    except (OSError, ValueError):
        return {}
    tasks = report.get("tasks", [])
    if isinstance(tasks, dict):
        tasks = [dict(value, id=key) for key, value in tasks.items()]
    return {task.get("id"): {key: task.get(key) for key in ("selected", "in_several_feeds")}
            for task in tasks}


def machine() -> dict:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
        memory_kib = next(int(line.split()[1]) for line in
                          Path("/proc/meminfo").read_text().splitlines()
                          if line.startswith("MemTotal"))
    except (OSError, StopIteration):
        memory_kib = 0
    return {"cores": os.cpu_count(), "cpu": model, "memory_gib": round(memory_kib / 2**20, 1),
            "system": f"{platform.system()} {platform.release()}"}


def commit(repo: Path) -> str:
    try:
        head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
                              capture_output=True, text=True, check=True).stdout.strip()
        dirty = subprocess.run(["git", "-C", str(repo), "status", "--porcelain",
                                "--untracked-files=no"], capture_output=True, text=True,
                               check=True).stdout.strip()
        return head + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--bench", type=Path, required=True)
    parser.add_argument("--project", type=Path, required=True)
    parser.add_argument("--indicators", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    generated = json.loads((args.project / "bench.json").read_text())
    result = {
        "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "commit": commit(Path(__file__).resolve().parents[2]),
        "machine": machine(),
        "indicators": args.indicators,
        "seed": generated["seed"],
        "feeds": generated["feeds"],
        "input_mib": round(generated["bytes"] / 2**20, 1),
        "values_by_kind": generated["values_by_kind"],
    }
    for run in RUNS:
        figures = read_time(args.bench / f"{run}-{args.indicators}.time")
        figures["exit_code"] = int((args.bench / f"{run}-{args.indicators}.code").read_text())
        figures.update(log_stages(args.bench / f"{run}-{args.indicators}.log"))
        load = args.bench / f"{run}-{args.indicators}.load"
        figures["load_average_before"] = load.read_text().strip() if load.is_file() else None
        result[run] = figures
    site = args.project / "site"
    result["site"] = site_figures(site)
    result["tasks"] = task_counts(site)
    args.out.write_text(json.dumps(result, indent=2) + "\n")

    print(f"\nfeedsmith build on {args.indicators:,} indicators ({result['feeds']} feeds, "
          f"{result['input_mib']} MiB), {result['machine']['cores']} cores, "
          f"commit {result['commit']}, {result['date']}")
    print(f"{'run':<10} {'indicators':>12} {'wall s':>8} {'CPU s':>8} {'peak RSS MiB':>13} "
          f"{'exit':>5} {'fetch s':>8} {'parse s':>8}  load before")
    for run in RUNS:
        r = result[run]
        fetch = f"{r['fetch_ms'] / 1000:.2f}" if "fetch_ms" in r else "-"
        parse = f"{r['parse_ms'] / 1000:.2f}" if "parse_ms" in r else "-"
        print(f"{run:<10} {args.indicators:>12,} {r['wall_secs']:>8.2f} "
              f"{r['user_secs'] + r['system_secs']:>8.2f} {r['peak_rss_mib']:>13.1f} "
              f"{r['exit_code']:>5} {fetch:>8} {parse:>8}  {r['load_average_before']}")
    s = result["site"]
    print()
    if s["index_html_bytes"] is None:
        print("site/index.html: missing")
    else:
        print(f"site/index.html: {s['index_html_bytes'] / 1024:.1f} KiB")
    if s["lookup_index"]:
        largest = s["lookup_largest_bytes"] or 0
        print(f"look-up index: {s['lookup_shards']} shard files, largest "
              f"{largest / 1024:.1f} KiB ({s['lookup_largest_file']}), total "
              f"{s['lookup_total_bytes'] / 2**20:.1f} MiB")
    else:
        print("no look-up index (site/lookup/ does not exist)")
    for task, counts in result["tasks"].items():
        print(f"task {task}: {counts['selected']} selected, "
              f"{counts['in_several_feeds']} in several feeds")
    print(f"\nwritten to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
