#!/usr/bin/env python3
"""Writes the deterministic inputs of the side-by-side benchmark.

Usage: generate.py {ipv4,domains,misp} --out FILE [--count N] [--seed S]

- ipv4: N lines of IPv4 text for `iprange --optimize` and `feedsmith convert --to
  cidr-ipv4`: single addresses, runs of adjacent addresses that merge into CIDR blocks,
  networks, repeats of earlier lines, `#` comment lines and blank lines, in mixed order.
- domains: N lines of domain names, one per line, as hostlist-compiler reads a hosts-style
  source and feedsmith reads free text: names, subdomains of listed names, repeats, names
  written in mixed case, `#` comment lines and blank lines.
- misp: a CSV of N attributes, `type,value`, of mixed MISP types (ip-dst, domain, hostname,
  url, md5, sha1, sha256), each value written in the canonical form MISP stores, with a few
  repeats; the PyMISP script and `feedsmith convert --from csv` read the same file.

The same arguments give the same bytes. Python standard library only.
"""

import argparse
import hashlib
import random

WORDS = (
    "alpha bravo cargo delta echo fox golf hotel india juliet kilo lima mike nova oscar papa "
    "quebec romeo sierra tango union victor whisky xray yankee zulu cdn mail login secure "
    "update pay shop cloud track stat api static img"
).split()
TLDS = ["com", "net", "org", "info", "biz", "io", "ru", "cn", "xyz", "top", "online", "co.uk"]


def public_address(rng: random.Random) -> int:
    """A random IPv4 address outside 0/8, 10/8, 127/8 and 224/3 (multicast and reserved)."""
    while True:
        first = rng.randint(1, 223)
        if first not in (10, 127):
            return (first << 24) | rng.getrandbits(24)


def dotted(n: int) -> str:
    return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


def ipv4_lines(count: int, rng: random.Random):
    """`count` lines: about 62 % single addresses, 25 % in adjacent runs, 0.5 % networks,
    10 % repeats, the rest comments and blank lines."""
    written = []
    lines = 0
    while lines < count:
        roll = rng.random()
        if roll < 0.62:
            line = dotted(public_address(rng))
            out = [line]
        elif roll < 0.87:
            # A run of adjacent addresses, shuffled a little, as a scanner list has them.
            start = public_address(rng)
            length = rng.randint(2, 40)
            run = [dotted(min(start + i, 0xDFFFFFFF)) for i in range(length)]
            if rng.random() < 0.5:
                rng.shuffle(run)
            out = run
        elif roll < 0.875:
            prefix = rng.randint(16, 30)
            base = public_address(rng) & ~((1 << (32 - prefix)) - 1) & 0xFFFFFFFF
            out = [f"{dotted(base)}/{prefix}"]
        elif roll < 0.975 and written:
            out = [written[rng.randrange(len(written))]]
        elif roll < 0.99:
            out = [f"# generated block {lines}"]
        else:
            out = [""]
        for line in out[: count - lines]:
            if line and not line.startswith("#") and len(written) < 200_000:
                written.append(line)
            elif line and not line.startswith("#") and rng.random() < 0.01:
                written[rng.randrange(len(written))] = line
            yield line
            lines += 1


def name(rng: random.Random) -> str:
    label = rng.choice(WORDS) + str(rng.randint(0, 99_999))
    if rng.random() < 0.3:
        label += "-" + rng.choice(WORDS)
    return f"{label}.{rng.choice(TLDS)}"


def domain_lines(count: int, rng: random.Random):
    """`count` lines: 70 % new names, 12 % subdomains of a listed name, 10 % repeats,
    5 % a listed name in mixed case, the rest comments and blank lines."""
    listed = []
    lines = 0
    while lines < count:
        roll = rng.random()
        if roll < 0.70 or not listed:
            line = name(rng)
            listed.append(line)
        elif roll < 0.82:
            line = f"{rng.choice(WORDS)}.{rng.choice(listed)}"
        elif roll < 0.92:
            line = rng.choice(listed)
        elif roll < 0.97:
            line = "".join(c.upper() if rng.random() < 0.5 else c for c in rng.choice(listed))
        elif roll < 0.99:
            line = f"# generated block {lines}"
        else:
            line = ""
        yield line
        lines += 1


def misp_rows(count: int, rng: random.Random):
    """`count` rows of `type,value` (after a header), canonical values, 2 % repeats."""
    yield "type,value"
    rows = []
    for i in range(count):
        if rows and rng.random() < 0.02:
            yield rows[rng.randrange(len(rows))]
            continue
        roll = rng.random()
        seed = f"{i}-{rng.getrandbits(64)}".encode()
        if roll < 0.30:
            row = f"ip-dst,{dotted(public_address(rng))}"
        elif roll < 0.45:
            row = f"domain,{name(rng)}"
        elif roll < 0.55:
            row = f"hostname,{rng.choice(WORDS)}.{name(rng)}"
        elif roll < 0.70:
            row = f"url,http://{name(rng)}/{rng.choice(WORDS)}/{rng.randint(0, 9999)}.php"
        elif roll < 0.80:
            row = f"md5,{hashlib.md5(seed).hexdigest()}"
        elif roll < 0.90:
            row = f"sha1,{hashlib.sha1(seed).hexdigest()}"
        else:
            row = f"sha256,{hashlib.sha256(seed).hexdigest()}"
        rows.append(row)
        yield row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("kind", choices=["ipv4", "domains", "misp"])
    parser.add_argument("--out", required=True)
    parser.add_argument("--count", type=int)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    defaults = {"ipv4": 5_000_000, "domains": 1_000_000, "misp": 200_000}
    count = args.count or defaults[args.kind]
    rng = random.Random(f"{args.kind}:{args.seed}")
    lines = {"ipv4": ipv4_lines, "domains": domain_lines, "misp": misp_rows}[args.kind]
    with open(args.out, "w", encoding="ascii", newline="\n") as out:
        out.writelines(line + "\n" for line in lines(count, rng))


if __name__ == "__main__":
    main()
