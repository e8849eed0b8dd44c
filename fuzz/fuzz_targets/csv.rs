//! CSV feeds: any bytes, under a few layouts (chosen by the first byte), never panic.
#![no_main]

use feedsmith::config::CsvOptions;
use feedsmith::parse::csv;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, body)) = data.split_first() else { return };
    let delimiter = [",", ";", "\\t", "|", ", ", "\" \""][usize::from(choice % 6)];
    let value_columns = match choice / 6 % 4 {
        0 => vec![],
        1 => vec![1],
        2 => vec![2, 3],
        _ => vec![7],
    };
    let opts = CsvOptions {
        delimiter: delimiter.to_owned(),
        value_columns,
        header_lines: usize::from(choice / 24 % 3),
        ..CsvOptions::default()
    };
    if let Ok(feed) = csv::parse(body, &opts, None) {
        assert_eq!(feed.stats.accepted - feed.stats.duplicates, feed.records.len() as u64);
    }
});
