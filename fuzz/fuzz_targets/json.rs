//! JSON feeds: any bytes, as an array, a records path or newline-delimited JSON, never panic.
#![no_main]

use feedsmith::config::JsonOptions;
use feedsmith::parse::json;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, body)) = data.split_first() else { return };
    let records = [None, Some("data"), Some("*"), Some("data.*")][usize::from(choice % 4)];
    let opts = JsonOptions {
        records: records.map(str::to_owned),
        value_field: "ioc".to_owned(),
        type_field: (choice & 0x10 != 0).then(|| "type".to_owned()),
        last_seen_field: (choice & 0x20 != 0).then(|| "seen.last".to_owned()),
        tags_field: (choice & 0x40 != 0).then(|| "tags".to_owned()),
        ..JsonOptions::default()
    };
    if let Ok(feed) = json::parse(body, &opts, None) {
        assert_eq!(feed.stats.accepted - feed.stats.duplicates, feed.records.len() as u64);
    }
});
