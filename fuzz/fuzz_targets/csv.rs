//! CSV feeds: any bytes, under a few layouts (chosen by the first byte), never panic.
#![no_main]

use feedsmith::config::{Column, CsvOptions};
use feedsmith::parse::csv;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&choice, body)) = data.split_first() else { return };
    let delimiter = [",", ";", "\\t", "|", ", ", "\" \""][usize::from(choice % 6)];
    let value_columns = match choice / 6 % 4 {
        0 => vec![],
        1 => vec![Column::Number(1)],
        2 => vec![Column::Number(2), Column::Name("ioc".to_owned())],
        _ => vec![Column::Number(7)],
    };
    let opts = CsvOptions {
        delimiter: delimiter.to_owned(),
        value_columns,
        header_lines: usize::from(choice / 24 % 3),
        header: choice & 0x80 != 0,
        type_column: (choice & 0x40 != 0).then_some(Column::Number(2)),
        ..CsvOptions::default()
    };
    if let Ok(feed) = csv::parse(body, &opts, None) {
        assert_eq!(feed.stats.accepted - feed.stats.duplicates, feed.records.len() as u64);
    }
});
