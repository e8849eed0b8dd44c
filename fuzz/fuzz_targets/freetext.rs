//! Free-text feeds: any bytes, with and without comment handling, never panic, and every
//! accepted value is counted.
#![no_main]

use feedsmith::config::FreetextOptions;
use feedsmith::parse::freetext;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|body: &[u8]| {
    for skip_comments in [true, false] {
        let opts = FreetextOptions {
            skip_comments,
            strict_zero_padded: !skip_comments,
            ..FreetextOptions::default()
        };
        let feed = freetext::parse(body, &opts, None);
        assert!(feed.records.len() as u64 <= feed.stats.accepted);
        assert_eq!(feed.stats.accepted - feed.stats.duplicates, feed.records.len() as u64);
    }
});
