//! MISP feeds: any bytes as a manifest and as an event file never panic.
#![no_main]

use feedsmith::config::MispOptions;
use feedsmith::parse::misp;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    for lenient_manifest in [false, true] {
        let opts = MispOptions { lenient_manifest, to_ids_only: !lenient_manifest, ..MispOptions::default() };
        let _ = misp::read_manifest(body, &opts);
        let events = [("5f0c2a6e-1b2d-4c3e-8f9a-0b1c2d3e4f50".to_owned(), body.to_vec())];
        let feed = misp::parse_events(&events, &opts);
        assert_eq!(feed.stats.accepted - feed.stats.duplicates, feed.records.len() as u64);
    }
});
