"""Loads a MISP feed folder with PyMISP, the reference MISP client, and checks its shape.

Usage: python3 pymisp_check.py FEED_DIR
Prints one JSON object: {"events": N, "attributes": N}. Exits non-zero on any problem.
"""
import json
import os
import sys

from pymisp import MISPEvent


def main(feed_dir: str) -> None:
    with open(os.path.join(feed_dir, "manifest.json"), encoding="utf-8") as f:
        manifest = json.load(f)
    if not isinstance(manifest, dict):
        sys.exit(f"manifest.json is a {type(manifest).__name__}, not an object")
    attributes = 0
    for key, summary in manifest.items():
        event = MISPEvent()
        event.load_file(os.path.join(feed_dir, f"{key}.json"))
        if event.uuid != key:
            sys.exit(f"event file {key}.json holds event {event.uuid}")
        if int(summary["timestamp"]) != int(event.timestamp.timestamp()):
            sys.exit(f"manifest timestamp of {key} differs from the event's")
        for attribute in event.attributes:
            if not attribute.value or not attribute.type or not attribute.category:
                sys.exit(f"attribute {attribute.uuid} lacks a type, category or value")
        attributes += len(event.attributes)
        # The feed must survive PyMISP's own feed writer unchanged in size.
        feed = event.to_feed(with_meta=True)
        if len(feed["Event"]["Attribute"]) != len(event.attributes):
            sys.exit(f"PyMISP's to_feed dropped attributes of {key}")
    print(json.dumps({"events": len(manifest), "attributes": attributes}))


if __name__ == "__main__":
    main(sys.argv[1])
