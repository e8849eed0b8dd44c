#!/usr/bin/env bash
# Side-by-side benchmark (issue 9): feedsmith convert against the tools people use for the
# same job, on the same generated input, in one run.
#
#   benches/sidebyside/run.sh [ipv4|domains|misp|all] [RUNS]
#
# ipv4:    5,000,000 IPv4 lines aggregated to CIDRs, against `iprange --optimize`
# domains: 1,000,000 domains to an adblock list, against @adguard/hostlist-compiler
# misp:    200,000 attributes to a MISP feed, against a PyMISP script (MISPEvent.to_feed)
#
# Installs what is missing (Debian's iprange and time, hostlist-compiler from npm into
# target/sidebyside/node, PyMISP from PyPI), builds feedsmith in release, writes the inputs
# into target/sidebyside/ (kept while the generator is unchanged), and leaves the outputs,
# a table on stdout and target/sidebyside/result.json. Each command runs RUNS times
# (default 3); the best wall time counts.
set -euo pipefail
cd "$(dirname "$0")/../.."

case="${1:-all}"
runs="${2:-3}"
case "$case" in
    all) cases=(ipv4 domains misp) ;;
    ipv4 | domains | misp) cases=("$case") ;;
    *)
        echo "usage: $0 [ipv4|domains|misp|all] [RUNS]" >&2
        exit 2
        ;;
esac
dir=target/sidebyside
mkdir -p "$dir"

as_root=()
if [ "$(id -u)" -ne 0 ]; then
    as_root=(sudo)
fi
apt_install() {
    local missing=()
    for package in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$package")
        fi
    done
    if ((${#missing[@]})); then
        "${as_root[@]}" apt-get update -qq >/dev/null
        "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    fi
}

apt_install time
for c in "${cases[@]}"; do
    case "$c" in
        ipv4) apt_install iprange ;;
        domains)
            # hostlist-compiler 2.x asks for @adguard/diff-builder 1.1.4, which the registry no
            # longer serves; the override installs 1.1.7 in its place.
            if [ ! -f "$dir/node/node_modules/@adguard/hostlist-compiler/src/cli.js" ]; then
                mkdir -p "$dir/node"
                cat >"$dir/node/package.json" <<'EOF'
{
  "name": "feedsmith-sidebyside",
  "private": true,
  "dependencies": { "@adguard/hostlist-compiler": "^2.1.1" },
  "overrides": { "@adguard/diff-builder": "1.1.7" }
}
EOF
                (cd "$dir/node" && npm install --no-audit --no-fund --silent)
            fi
            ;;
        misp)
            if ! python3 -c 'import pymisp' 2>/dev/null; then
                python3 -m pip install --quiet --disable-pip-version-check 'pymisp>=2.5,<3'
            fi
            ;;
    esac
done

cargo build --release --quiet --bin feedsmith

# Inputs, made again only when the generator changed.
stamp="$(sha256sum benches/sidebyside/generate.py | cut -c1-16)"
for c in "${cases[@]}"; do
    case "$c" in
        ipv4) file="$dir/ipv4.txt" ;;
        domains) file="$dir/domains.txt" ;;
        misp) file="$dir/misp.csv" ;;
    esac
    if [ ! -f "$file" ] || [ "$(cat "$file.stamp" 2>/dev/null)" != "$stamp" ]; then
        echo "generating $file" >&2
        python3 benches/sidebyside/generate.py "$c" --out "$file"
        echo "$stamp" >"$file.stamp"
    fi
done

echo "load average before: $(cut -d' ' -f1-3 /proc/loadavg) ($(nproc) cores)" >&2
python3 benches/sidebyside/sidebyside.py --feedsmith target/release/feedsmith --dir "$dir" \
    --runs "$runs" "${cases[@]}"
