#!/usr/bin/env bash
# The benchmark harness (issue #9): times a whole `feedsmith build` on a synthetic project.
#
#     benches/harness/run.sh [INDICATORS] [SEED]          # default: 1000000 and seed 1
#
# 1. builds feedsmith in release (`cargo build --release`);
# 2. generates the project (benches/harness/generate.py) into
#    target/bench/project-INDICATORS-sSEED/, or reuses it when its bench.json says the same
#    indicators, seed and generator version;
# 3. removes the project's output, cache and state, then runs, each under `/usr/bin/time -v`:
#    - "build":   a first build (`build --offline --now NOW --no-progress`; the feeds are local
#                 files, so no network is needed, and --offline makes sure of it);
#    - "rebuild": the same command again with nothing changed (the build finds that nothing
#                 changed and keeps its outputs, src/build/unchanged.rs);
#    - "next-day": a build one day later (`--now` NOW + 1 day) with no feed changed: every
#                 parse is taken from the cache, everything after it runs, as decay and
#                 expiry moved;
# 4. prints wall time and peak memory of both, the figures of the site that issue #7 bounds
#    (largest file and number of files under site/lookup/, size of site/index.html), and
#    writes them all to target/bench/result-INDICATORS.json.
#
# Environment: FEEDSMITH_BENCH_NOW (default 2026-08-23T00:00:00Z) is the build's --now and
# the generator's reference time; FEEDSMITH_BENCH_JOBS the generator's worker processes.
# Each build's log goes to target/bench/{build,rebuild}-INDICATORS.log. The build's exit code
# is recorded, not fatal: 3 (some feeds failed) still times a whole build.
set -euo pipefail

indicators="${1:-1000000}"
seed="${2:-1}"
now="${FEEDSMITH_BENCH_NOW:-2026-08-23T00:00:00Z}"
jobs="${FEEDSMITH_BENCH_JOBS:-$(nproc)}"

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
bench="$repo/target/bench"
project="$bench/project-$indicators-s$seed"
result="$bench/result-$indicators.json"
harness="$repo/benches/harness"

if [[ ! -x /usr/bin/time ]]; then
    echo "run.sh: /usr/bin/time is missing: apt-get install -y time" >&2
    exit 1
fi
mkdir -p "$bench"

echo "==> cargo build --release" >&2
(cd "$repo" && cargo build --release --quiet)
feedsmith="$repo/target/release/feedsmith"

generator_version="$(python3 -c "
import sys; sys.path.insert(0, '$harness')
import generate; print(generate.GENERATOR_VERSION)")"
if python3 - "$project/bench.json" "$indicators" "$seed" "$now" "$generator_version" <<'EOF'
import json, sys
path, indicators, seed, now, version = sys.argv[1:]
try:
    done = json.load(open(path))
except (OSError, ValueError):
    sys.exit(1)
same = (done["indicators"], done["seed"], done["now"], done["generator_version"]) == (
    int(indicators), int(seed), now, int(version))
sys.exit(0 if same else 1)
EOF
then
    echo "==> reusing $project" >&2
else
    echo "==> generating $indicators indicators (seed $seed) into $project" >&2
    python3 "$harness/generate.py" --indicators "$indicators" --seed "$seed" --now "$now" \
        --jobs "$jobs" --out "$project"
fi

# A first build: no output, cache or state of an earlier run.
rm -rf "$project/site" "$project/.feedsmith"

next_day="$(python3 -c "
import datetime as dt, sys
t = dt.datetime.fromisoformat(sys.argv[1].replace('Z', '+00:00')) + dt.timedelta(days=1)
print(t.strftime('%Y-%m-%dT%H:%M:%SZ'))" "$now")"

# Runs one build at time $2 under /usr/bin/time -v; writes its log and the time report.
timed_build() {
    local name="$1"
    local at="$2"
    local log="$bench/$name-$indicators.log"
    echo "==> feedsmith build ($name)" >&2
    local code=0
    # The machine may be shared: the load before the build says how much it competed.
    cut -d' ' -f1-3 /proc/loadavg >"$bench/$name-$indicators.load"
    /usr/bin/time -v -o "$bench/$name-$indicators.time" \
        "$feedsmith" --root "$project" --no-progress build --offline --now "$at" \
        >"$log" 2>&1 || code=$?
    echo "$code" >"$bench/$name-$indicators.code"
    if [[ "$code" != 0 ]]; then
        echo "    exit code $code; the last lines of $log:" >&2
        tail -n 5 "$log" | sed 's/^/    /' >&2
    fi
}
timed_build build "$now"
timed_build rebuild "$now"
timed_build next-day "$next_day"

python3 "$harness/report.py" --bench "$bench" --project "$project" \
    --indicators "$indicators" --out "$result"
