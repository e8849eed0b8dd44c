"""Loads a MISP feed folder with PyMISP, the reference MISP client, and checks its shape.

Usage: python3 pymisp_check.py FEED_DIR
Prints one JSON object: {"events": N, "attributes": N, "deleted": N}, where `attributes`
counts the attributes that are not deleted. Exits non-zero on any problem.
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
    deleted = 0
    for key, summary in manifest.items():
        event = MISPEvent()
        event.load_file(os.path.join(feed_dir, f"{key}.json"))
        if event.uuid != key:
            sys.exit(f"event file {key}.json holds event {event.uuid}")
        if int(summary["timestamp"]) != int(event.timestamp.timestamp()):
            sys.exit(f"manifest timestamp of {key} differs from the event's")
        if not event.info or int(event.threat_level_id) not in range(1, 5):
            sys.exit(f"event {key} lacks an info or a threat level MISP accepts")
        if event.published and not event.attributes:
            sys.exit(f"event {key} is published but empty, which MISP refuses")
        for attribute in event.attributes:
            if not attribute.value or not attribute.type or not attribute.category:
                sys.exit(f"attribute {attribute.uuid} lacks a type, category or value")
            if attribute.timestamp > event.timestamp:
                sys.exit(f"attribute {attribute.uuid} is newer than its event {key}")
            if attribute.deleted:
                deleted += 1
            else:
                attributes += 1
        # The feed must survive PyMISP's own feed writer unchanged in size.
        feed = event.to_feed(with_meta=True)
        if len(feed["Event"]["Attribute"]) != len(event.attributes):
            sys.exit(f"PyMISP's to_feed dropped attributes of {key}")
    print(json.dumps({"events": len(manifest), "attributes": attributes, "deleted": deleted}))


if __name__ == "__main__":
    main(sys.argv[1])
