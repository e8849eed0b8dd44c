#!/usr/bin/env python3
"""The competitor of `feedsmith convert --to misp-feed`: a MISP feed written with PyMISP.

Usage: pymisp_feed.py INPUT.csv OUT_DIR

Reads a CSV of `type,value` rows (after a header), keeps each distinct (type, value) once,
adds them to one MISPEvent and writes the feed folder as a MISP feed generator does:
`<uuid>.json` from `MISPEvent.to_feed(with_meta=True)`, `manifest.json` from the event's
manifest, and `hashes.csv` with one `md5,event uuid` line per hashed value.
"""

import csv
import json
import os
import sys

from pymisp import MISPEvent, MISPOrganisation


def main(source: str, out_dir: str) -> None:
    event = MISPEvent()
    event.info = "side-by-side benchmark"
    event.threat_level_id = 4
    event.analysis = 2
    event.published = True
    org = MISPOrganisation()
    org.name = "feedsmith"
    org.uuid = "6e1a7b0e-4c56-4a55-9c44-7d9a3d9c5a10"
    event.Orgc = org
    event.add_tag("tlp:clear")
    seen = set()
    with open(source, newline="", encoding="utf-8") as f:
        for row in csv.DictReader(f):
            key = (row["type"], row["value"])
            if key in seen:
                continue
            seen.add(key)
            event.add_attribute(row["type"], row["value"])
    feed = event.to_feed(with_meta=True)
    hashes = feed["Event"].pop("_hashes")
    manifest = feed["Event"].pop("_manifest")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, f"{event.uuid}.json"), "w", encoding="utf-8") as f:
        json.dump(feed, f)
    with open(os.path.join(out_dir, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f)
    with open(os.path.join(out_dir, "hashes.csv"), "w", encoding="utf-8") as f:
        f.writelines(f"{h},{event.uuid}\n" for h in hashes)


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
