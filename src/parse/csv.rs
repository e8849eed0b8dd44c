//! CSV feeds: MISP's CSV feed semantics on an RFC 4180 reader.
//!
//! What MISP does (`shared/misp/freetext.md` §4, `feed-format.md` §6.2–6.3), feedsmith does
//! too: `value_columns` are 1-based and empty means every column; a row whose first field
//! starts with the comment prefix is a comment; each selected cell is trimmed of white space
//! and quotes, skipped when empty or `0`, and classified whole by [`indicator::classify`].
//!
//! What MISP's `fgetcsv` reading lacks, feedsmith adds:
//! - RFC 4180 quoting: `""` inside a quoted field is one `"`, delimiters and line breaks inside
//!   quotes do not split, and a `\r` before the line end never reaches a value (bug case 04).
//! - A separator longer than one character, such as the `, ` of `ThreatFox` between quoted fields
//!   (bug case 05). A separator that contains `"` turns quoting off and splits on it as is.
//! - `header_lines` rows skipped after the comment rows (Feodo Tracker's uncommented header).
//! - The literal `None` is a null, like an empty cell.
//! - Line numbers in rejection examples, counts of comment and blank lines, and
//!   de-duplication on the canonical indicator (the first occurrence kept).
//!
//! The reader is this module's own rather than the `csv` crate's: the crate skips blank lines
//! without reporting them and numbers the records after them from the blank line, and it has
//! no way to treat a whole physical line as a comment before its quotes are read. A comment
//! line with one stray `"` would otherwise swallow the data rows after it.
//!
//! A row that has fewer fields than a selected column is rejected as
//! [`SHORT_ROW`](super::SHORT_ROW); a row of words only, when every column is read, as
//! [`UNPARSED_LINE`](super::UNPARSED_LINE).

use regex::Regex;

use super::collect::{Collector, Taken};
use super::{ParseError, ParseStats, ParsedFeed, SHORT_ROW, UNPARSED_LINE, text};
use crate::config::CsvOptions;
use crate::indicator::{self, RejectReason};

/// Reads a CSV body.
///
/// ```
/// use feedsmith::config::CsvOptions;
/// use feedsmith::parse::csv;
///
/// let opts = CsvOptions { value_columns: vec![2], ..CsvOptions::default() };
/// let feed = csv::parse(b"# when,ip\r\n\"2024-05-01\",\"192.0.2.1\"\r\n", &opts, None).unwrap();
/// assert_eq!(&*feed.records[0].indicator.value, "192.0.2.1");
/// assert_eq!(feed.stats.comments, 1);
/// ```
///
/// # Errors
/// [`ParseError::CsvSchema`] when the options cannot describe a CSV layout: a value column
/// numbered 0, or a separator holding a line break.
pub fn parse(
    body: &[u8],
    opts: &CsvOptions,
    exclude: Option<&Regex>,
) -> Result<ParsedFeed, ParseError> {
    if opts.value_columns.contains(&0) {
        return Err(ParseError::CsvSchema {
            line: 0,
            message: "value column 0 does not exist: columns are numbered from 1".to_owned(),
        });
    }
    let delimiter: &[u8] = match opts.delimiter.as_str() {
        "\\t" => b"\t",
        "" => b",",
        other => other.as_bytes(),
    };
    if delimiter.contains(&b'\n') || delimiter.contains(&b'\r') {
        return Err(ParseError::CsvSchema {
            line: 0,
            message: format!("the delimiter {:?} holds a line break", opts.delimiter),
        });
    }

    let mut stats = ParseStats::default();
    let body = text::strip_bom(body, &mut stats);
    let mut rows = Rows {
        body,
        pos: 0,
        line: 1,
        delimiter,
        quoting: !delimiter.contains(&b'"'),
        quotes_unreliable: false,
    };
    let mut reader = RowReader {
        collector: Collector::new(),
        stats,
        exclude,
        opts: indicator::Options::default(),
        comment_prefix: opts.comment_prefix.as_bytes(),
        value_columns: &opts.value_columns,
        headers_left: opts.header_lines,
    };
    let mut fields = Fields::default();

    while rows.pos < body.len() {
        let (start, end) = rows.current_line();
        let line = &body[start..end];
        if text::is_blank(line) {
            reader.stats.lines += 1;
            reader.stats.blank += 1;
            rows.skip_line();
            continue;
        }
        if reader.is_comment(line) {
            reader.stats.lines += 1;
            reader.stats.comments += 1;
            rows.skip_line();
            continue;
        }
        let number = rows.line;
        let (raw, spanned) = rows.read(&mut fields);
        reader.stats.lines += spanned;
        reader.read_row(number, raw, &fields);
    }

    let RowReader { collector, stats, .. } = reader;
    Ok(collector.finish(stats))
}

/// The fields of one row: their bytes, unescaped, end to end, and where each ends.
#[derive(Default)]
struct Fields {
    bytes: Vec<u8>,
    ends: Vec<usize>,
}

impl Fields {
    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
    }

    fn end_field(&mut self) {
        self.ends.push(self.bytes.len());
    }

    fn len(&self) -> usize {
        self.ends.len()
    }

    /// Field `i` (0-based), if the row has it.
    fn get(&self, i: usize) -> Option<&[u8]> {
        let end = *self.ends.get(i)?;
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        Some(&self.bytes[start..end])
    }
}

/// The reader's position in the body.
struct Rows<'a> {
    body: &'a [u8],
    pos: usize,
    /// 1-based number of the line `pos` is on.
    line: u64,
    delimiter: &'a [u8],
    quoting: bool,
    /// Set once a quoted field ran to the end of the body unterminated: from then on a quoted
    /// field ends at its line's end, so one stray quote cannot make the rest of a large body
    /// be scanned again for every row.
    quotes_unreliable: bool,
}

impl<'a> Rows<'a> {
    /// The span of the line at `pos`, without its line end.
    fn current_line(&self) -> (usize, usize) {
        let rest = &self.body[self.pos..];
        let end = rest.iter().position(|&b| b == b'\n').map_or(self.body.len(), |n| self.pos + n);
        let content_end = if end > self.pos && self.body[end - 1] == b'\r' { end - 1 } else { end };
        (self.pos, content_end)
    }

    /// Moves past the line at `pos`.
    fn skip_line(&mut self) {
        let rest = &self.body[self.pos..];
        match rest.iter().position(|&b| b == b'\n') {
            Some(n) => {
                self.pos += n + 1;
                self.line += 1;
            }
            None => self.pos = self.body.len(),
        }
    }

    /// Reads one record into `fields` and returns its raw bytes (for examples) and the number
    /// of lines it took. Afterwards `pos` is at the start of the next line.
    fn read(&mut self, fields: &mut Fields) -> (&'a [u8], u64) {
        fields.clear();
        let start = self.pos;
        let first_line = self.line;
        loop {
            let at_line_end = if self.quoting && self.body.get(self.pos) == Some(&b'"') {
                self.quoted_field(fields)
            } else {
                self.plain_field(fields)
            };
            fields.end_field();
            if at_line_end {
                break;
            }
        }
        let mut end = self.pos;
        // `pos` is now past the line end, or at the end of a body without a final newline.
        let spanned = if end > start && self.body[end - 1] == b'\n' {
            end -= 1;
            self.line += 1;
            self.line - first_line
        } else {
            self.line - first_line + 1
        };
        if end > start && self.body[end - 1] == b'\r' {
            end -= 1;
        }
        (&self.body[start..end], spanned)
    }

    /// Reads an unquoted field at `pos`. Returns whether the record ended with it; `pos` is
    /// then past the line end, else past the delimiter.
    fn plain_field(&mut self, fields: &mut Fields) -> bool {
        let body = self.body;
        let mut i = self.pos;
        while i < body.len() {
            if body[i] == b'\n' {
                let content_end = if i > self.pos && body[i - 1] == b'\r' { i - 1 } else { i };
                fields.bytes.extend_from_slice(&body[self.pos..content_end]);
                self.pos = i + 1;
                return true;
            }
            if body[i..].starts_with(self.delimiter) {
                fields.bytes.extend_from_slice(&body[self.pos..i]);
                self.pos = i + self.delimiter.len();
                return false;
            }
            i += 1;
        }
        let content_end = if i > self.pos && body[i - 1] == b'\r' { i - 1 } else { i };
        fields.bytes.extend_from_slice(&body[self.pos..content_end]);
        self.pos = body.len();
        true
    }

    /// Reads a quoted field whose opening quote is at `pos`, then whatever follows the closing
    /// quote up to the delimiter (kept as is, like most lenient readers do).
    fn quoted_field(&mut self, fields: &mut Fields) -> bool {
        let body = self.body;
        let field_start = fields.bytes.len();
        let (line_before, pos_before) = (self.line, self.pos);
        let mut i = self.pos + 1;
        loop {
            let Some(&b) = body.get(i) else {
                // Unterminated: read the quote as a plain character instead, to the line end.
                fields.bytes.truncate(field_start);
                self.line = line_before;
                self.pos = pos_before;
                self.quotes_unreliable = true;
                return self.plain_field(fields);
            };
            match b {
                b'"' if body.get(i + 1) == Some(&b'"') => {
                    fields.bytes.push(b'"');
                    i += 2;
                }
                b'"' => {
                    i += 1;
                    break;
                }
                b'\n' if self.quotes_unreliable => {
                    fields.bytes.truncate(field_start);
                    self.pos = pos_before;
                    return self.plain_field(fields);
                }
                b'\n' => {
                    // A line break inside quotes is kept as `\n`, without the `\r` before it.
                    if fields.bytes.last() == Some(&b'\r') {
                        fields.bytes.pop();
                    }
                    fields.bytes.push(b'\n');
                    self.line += 1;
                    i += 1;
                }
                _ => {
                    fields.bytes.push(b);
                    i += 1;
                }
            }
        }
        self.pos = i;
        // After the closing quote: delimiter, line end, end of body, or stray text.
        if self.pos >= body.len() {
            return true;
        }
        if body[self.pos..].starts_with(self.delimiter) {
            self.pos += self.delimiter.len();
            return false;
        }
        if body[self.pos] == b'\n' || body[self.pos..].starts_with(b"\r\n") {
            self.pos += if body[self.pos] == b'\n' { 1 } else { 2 };
            return true;
        }
        self.plain_field(fields)
    }
}

/// What the cells of one row gave.
#[derive(Default)]
struct RowTally {
    accepted: u64,
    specific: u64,
    excluded: u64,
    unrecognized: u64,
}

struct RowReader<'r> {
    collector: Collector,
    stats: ParseStats,
    exclude: Option<&'r Regex>,
    opts: indicator::Options,
    comment_prefix: &'r [u8],
    value_columns: &'r [usize],
    headers_left: usize,
}

impl RowReader<'_> {
    /// Whether a physical line is a comment: its first non-blank bytes are the prefix.
    fn is_comment(&self, line: &[u8]) -> bool {
        !self.comment_prefix.is_empty() && trim_start(line).starts_with(self.comment_prefix)
    }

    fn read_row(&mut self, number: u64, raw: &[u8], fields: &Fields) {
        // A quoted first field such as `"# note"` also makes a comment row, as in MISP.
        if fields.get(0).is_some_and(|first| self.is_comment(first)) {
            self.stats.comments += 1;
            return;
        }
        if (0..fields.len()).all(|i| fields.get(i).is_none_or(|f| cell(f).is_none())) {
            self.stats.blank += 1;
            return;
        }
        if self.headers_left > 0 {
            self.headers_left -= 1;
            self.stats.header_rows += 1;
            return;
        }

        let mut tally = RowTally::default();
        if self.value_columns.is_empty() {
            for i in 0..fields.len() {
                if let Some(value) = fields.get(i) {
                    self.cell(number, value, false, &mut tally);
                }
            }
            if tally.accepted > 0 || tally.specific > 0 || tally.excluded > 0 {
                self.stats.ignored_words += tally.unrecognized;
            } else if tally.unrecognized > 0 {
                self.stats.reject_with(UNPARSED_LINE, number, || text::lossy(raw).into_owned());
            }
        } else {
            let mut short = false;
            for &column in self.value_columns {
                match fields.get(column - 1) {
                    Some(value) => self.cell(number, value, true, &mut tally),
                    None => short = true,
                }
            }
            if short {
                self.stats.reject_with(SHORT_ROW, number, || text::lossy(raw).into_owned());
            }
        }
    }

    /// Classifies one cell. With `strict`, a cell that is not an indicator is a rejection;
    /// otherwise (every column read) it is only a word.
    fn cell(&mut self, number: u64, value: &[u8], strict: bool, tally: &mut RowTally) {
        let Some(value) = cell(value) else { return };
        let Ok(value) = std::str::from_utf8(value) else {
            tally.specific += 1;
            self.stats.reject(RejectReason::NonUtf8, number, &text::lossy(value));
            return;
        };
        match self.collector.take(value, self.exclude, self.opts, &mut self.stats) {
            Taken::Excluded => tally.excluded += 1,
            Taken::Accepted => tally.accepted += 1,
            Taken::Rejected(RejectReason::Unrecognized) if !strict => tally.unrecognized += 1,
            Taken::Rejected(reason) => {
                tally.specific += 1;
                self.stats.reject(reason, number, value);
            }
        }
    }
}

/// A cell's value: trimmed of white space, NUL and quotes as MISP trims it, or `None` when
/// it is a null (empty, `0` as PHP's `empty()` has it, or the literal `None`).
fn cell(bytes: &[u8]) -> Option<&[u8]> {
    let trimmed =
        |b: &u8| matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\0' | b'\x0B' | b'"' | b'\'');
    let start = bytes.iter().position(|b| !trimmed(b))?;
    let end = bytes.iter().rposition(|b| !trimmed(b)).map_or(start, |e| e + 1);
    let value = &bytes[start..end];
    (value != b"0" && value != b"None").then_some(value)
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != b' ' && *b != b'\t').unwrap_or(bytes.len());
    &bytes[start..]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicator::{AttrType, Indicator};

    /// Every row of `body` as field strings, read with the given delimiter.
    fn rows(body: &[u8], delimiter: &[u8]) -> Vec<(u64, Vec<String>)> {
        let mut rows = Rows {
            body,
            pos: 0,
            line: 1,
            delimiter,
            quoting: !delimiter.contains(&b'"'),
            quotes_unreliable: false,
        };
        let mut fields = Fields::default();
        let mut out = Vec::new();
        while rows.pos < body.len() {
            let line = rows.line;
            rows.read(&mut fields);
            let row = (0..fields.len())
                .map(|i| String::from_utf8(fields.get(i).unwrap().to_vec()).unwrap())
                .collect();
            out.push((line, row));
        }
        out
    }

    fn columns(columns: &[usize], delimiter: &str) -> CsvOptions {
        CsvOptions {
            value_columns: columns.to_vec(),
            delimiter: delimiter.to_owned(),
            ..CsvOptions::default()
        }
    }

    fn values(feed: &ParsedFeed) -> Vec<&str> {
        feed.records.iter().map(|r| &*r.indicator.value).collect()
    }

    // Bug case 04 (OpenCTI-Platform/opencti#8324): `\r` after a closing quote, `""` escapes,
    // commas inside quotes, a banner and a commented header.
    #[test]
    fn urlhaus_crlf_quoted_rows_read_as_rfc_4180_fields() {
        let body =
            include_bytes!("../../tests/fixtures/bugcases/04-csv-crlf-quoted/urlhaus_recent.csv");
        let data: Vec<_> = rows(body, b",").into_iter().skip(6).collect();
        assert_eq!(data.len(), 3);
        let (line, first) = &data[0];
        assert_eq!(*line, 7);
        assert_eq!(first[2], "http://198.51.100.20:40112/i");
        assert_eq!(first[4], "2024-05-02 09:58:11");
        assert_eq!(first[6], "32-bit,elf,mips");
        assert_eq!(first[8], "reporter_a", "no \\r at the end of the last field");
        assert_eq!(data[1].1[2], r#"https://files.bad.example/dl?id=7,8&x="q""#);
        assert_eq!(data[1].1[4], "");
        assert_eq!(data[2].1[2], "http://203.0.113.9/bins/x86");
        assert_eq!(data[2].1[6], "");
        assert!(data.iter().all(|(_, row)| row.len() == 9));

        let feed = parse(body, &columns(&[3], ","), None).unwrap();
        assert_eq!(feed.stats.comments, 6);
        assert_eq!(feed.stats.lines, 9);
        assert_eq!(feed.stats.accepted, 3);
        assert_eq!(feed.stats.rejected_total(), 0);
        assert_eq!(values(&feed)[0], "http://198.51.100.20:40112/i");
        assert_eq!(values(&feed)[2], "http://203.0.113.9/bins/x86");
        assert!(feed.records.iter().all(|r| r.indicator.kind == AttrType::Url));
    }

    // Bug case 05 (OpenCTI-Platform/connectors#5581): a column inserted after
    // `confidence_level` must not change what the value column gives.
    #[test]
    fn threatfox_files_with_14_and_15_columns_give_identical_records() {
        let opts = columns(&[3], ", ");
        let old = parse(
            include_bytes!(
                "../../tests/fixtures/bugcases/05-csv-column-added/threatfox_old_14cols.csv"
            ),
            &opts,
            None,
        )
        .unwrap();
        let new = parse(
            include_bytes!(
                "../../tests/fixtures/bugcases/05-csv-column-added/threatfox_new_15cols.csv"
            ),
            &opts,
            None,
        )
        .unwrap();
        assert_eq!(old.records, new.records);
        // Three labels make a `hostname` in MISP's detection (freetext.md §5.3); the case's
        // table calls it a domain in the everyday sense.
        assert_eq!(
            old.records.iter().map(|r| r.indicator.clone()).collect::<Vec<_>>(),
            [
                Indicator::new(AttrType::Hostname, "c2.bad.example"),
                Indicator::new(AttrType::IpDstPort, "198.51.100.77|4443"),
            ]
        );
        for feed in [&old, &new] {
            assert_eq!(feed.stats.lines, 8);
            assert_eq!(feed.stats.comments, 6, "banner, commented header and footer");
            assert_eq!(feed.stats.rejected_total(), 0);
        }
    }

    #[test]
    fn threatfox_separator_splits_quoted_fields_without_leading_spaces() {
        let body = include_bytes!(
            "../../tests/fixtures/bugcases/05-csv-column-added/threatfox_new_15cols.csv"
        );
        let (_, row) = &rows(body, b", ")[5];
        assert_eq!(row.len(), 15);
        assert_eq!(row[0], "2024-05-02 10:01:00");
        assert_eq!(row[6], "None");
        assert_eq!(row[11], "https://ref.example/a");
        assert_eq!(row[12], "c2,rat");
        assert_eq!(row[14], "reporter_a");
    }

    #[test]
    fn a_separator_written_with_its_quotes_gives_the_same_values() {
        let body = include_bytes!(
            "../../tests/fixtures/bugcases/05-csv-column-added/threatfox_old_14cols.csv"
        );
        let plain = parse(body, &columns(&[3], ", "), None).unwrap();
        let quoted = parse(body, &columns(&[3], "\", \""), None).unwrap();
        assert_eq!(plain.records, quoted.records);
        assert_eq!(quoted.records.len(), 2);
    }

    // ThreatFox `full_urls.csv`, first 50 lines plus its footer (`head -50`, then the last
    // line): 9 banner/header comment lines and the footer (`grep -c '^#'` = 10), 41 data
    // rows (`grep -vc '^#'`), whose third fields (`awk -F'", "' '{print $3}'`) are 41 distinct
    // URLs, none ending in a port.
    #[test]
    fn threatfox_full_urls_head_gives_every_url() {
        let body = include_bytes!("../../tests/fixtures/parse/threatfox_full_urls_head.csv");
        let feed = parse(body, &columns(&[3], ", "), None).unwrap();
        assert_eq!(feed.stats.lines, 51);
        assert_eq!(feed.stats.comments, 10);
        assert_eq!(feed.stats.accepted, 41);
        assert_eq!(feed.records.len(), 41);
        assert_eq!(feed.stats.rejected_total(), 0);
        assert!(feed.records.iter().all(|r| r.indicator.kind == AttrType::Url));
        assert_eq!(values(&feed)[0], "http://195.133.9.204/skare.odd");
    }

    // Feodo Tracker: 8 banner lines and a `# END 28 entries` footer (`grep -c '^#'` = 9), one
    // uncommented quoted header, 28 rows whose second field is an address, all distinct
    // (`cut -d, -f2 | sort | uniq -d` is empty); 38 lines, the last without a newline.
    #[test]
    fn feodo_csv_with_an_uncommented_header_gives_28_addresses() {
        let body = include_bytes!("../../tests/fixtures/parse/feodo_ipblocklist.csv");
        let opts = CsvOptions { header_lines: 1, ..columns(&[2], ",") };
        let feed = parse(body, &opts, None).unwrap();
        assert_eq!(feed.stats.lines, 38);
        assert_eq!(feed.stats.comments, 9);
        assert_eq!(feed.stats.header_rows, 1);
        assert_eq!(feed.records.len(), 28);
        assert_eq!(feed.stats.rejected_total(), 0);
        assert_eq!(feed.records[0].indicator, Indicator::new(AttrType::IpDst, "192.9.135.73"));
        assert_eq!(feed.records[27].indicator, Indicator::new(AttrType::IpDst, "172.233.221.61"));
    }

    #[test]
    fn feodo_header_without_header_lines_is_rejected_not_dropped() {
        let body = include_bytes!("../../tests/fixtures/parse/feodo_ipblocklist.csv");
        let feed = parse(body, &columns(&[2], ","), None).unwrap();
        assert_eq!(feed.records.len(), 28);
        assert_eq!(feed.stats.rejected_count("unrecognized"), 1);
        assert_eq!(feed.stats.rejected["unrecognized"].examples[0].text, "dst_ip");
    }

    // MISP's own CSV tests (freetext.md §7).
    #[test]
    fn misp_tab_separated_tests_pass() {
        let body = b"# comment\n# another\n#\n127.0.0.1\t127.0.0.3\n\"127.0.0.2\"\n  127.0.0.4\n\t127.0.0.5\n";
        let feed = parse(body, &columns(&[], "\\t"), None).unwrap();
        assert_eq!(
            values(&feed),
            ["127.0.0.1", "127.0.0.3", "127.0.0.2", "127.0.0.4", "127.0.0.5"]
        );

        let body = b"127.0.0.1\t127.0.0.2\n127.0.0.3\t127.0.0.4";
        let feed = parse(body, &columns(&[1], "\\t"), None).unwrap();
        assert_eq!(values(&feed), ["127.0.0.1", "127.0.0.3"]);

        let feed = parse(b",,,\t\n,,,,,", &columns(&[], ","), None).unwrap();
        assert!(feed.records.is_empty());
        assert_eq!(feed.stats.blank, 2);
        assert_eq!(feed.stats.rejected_total(), 0);
    }

    #[test]
    fn null_cells_are_skipped_and_short_rows_rejected() {
        let body = b"None,192.0.2.1\n0,192.0.2.2\n\"\",192.0.2.3\n192.0.2.4\n";
        let feed = parse(body, &columns(&[1, 2], ","), None).unwrap();
        assert_eq!(values(&feed), ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]);
        let short = &feed.stats.rejected[SHORT_ROW];
        assert_eq!(short.count, 1);
        assert_eq!(short.examples[0].line, 4);
        assert_eq!(short.examples[0].text, "192.0.2.4");
    }

    #[test]
    fn a_quoted_first_field_starting_with_the_prefix_is_a_comment() {
        let feed = parse(b"\"# note\",192.0.2.1\n192.0.2.2\n", &columns(&[], ","), None).unwrap();
        assert_eq!(values(&feed), ["192.0.2.2"]);
        assert_eq!(feed.stats.comments, 1);
    }

    #[test]
    fn a_stray_quote_in_a_comment_line_does_not_swallow_data() {
        let body = b"# he said, \"hi\n192.0.2.1\n192.0.2.2\n";
        let feed = parse(body, &columns(&[1], ","), None).unwrap();
        assert_eq!(values(&feed), ["192.0.2.1", "192.0.2.2"]);
    }

    #[test]
    fn quoted_fields_may_span_lines_and_line_numbers_follow() {
        let body = b"\"a\r\nb\",192.0.2.1\r\n\r\nbad,qwerty\r\n";
        let read = rows(body, b",");
        assert_eq!(read[0], (1, vec!["a\nb".to_owned(), "192.0.2.1".to_owned()]));
        let feed = parse(body, &columns(&[2], ","), None).unwrap();
        assert_eq!(feed.stats.lines, 4);
        assert_eq!(feed.stats.blank, 1);
        assert_eq!(feed.stats.rejected["unrecognized"].examples[0].line, 4);
    }

    #[test]
    fn an_unterminated_quote_is_read_as_text_to_the_end_of_its_line() {
        let read = rows(b"\"192.0.2.1,x\n192.0.2.2,y\n", b",");
        assert_eq!(read.len(), 2);
        assert_eq!(read[0].1, ["\"192.0.2.1", "x"]);
        assert_eq!(read[1].1, ["192.0.2.2", "y"]);
    }

    #[test]
    fn text_after_a_closing_quote_is_kept_in_the_field() {
        assert_eq!(rows(b"\"a\"b,c", b",")[0].1, ["ab", "c"]);
    }

    #[test]
    fn a_bom_is_stripped_before_the_first_field() {
        let feed = parse(b"\xEF\xBB\xBF192.0.2.1,x\n", &columns(&[1], ","), None).unwrap();
        assert!(feed.stats.bom);
        assert_eq!(values(&feed), ["192.0.2.1"]);
    }

    #[test]
    fn a_non_utf8_cell_is_rejected() {
        let feed = parse(b"192.0.2.1,caf\xe9\n", &columns(&[1, 2], ","), None).unwrap();
        assert_eq!(feed.stats.rejected_count("non_utf8"), 1);
        assert_eq!(feed.records.len(), 1);
    }

    #[test]
    fn column_zero_is_a_schema_error() {
        let err = parse(b"x", &columns(&[0], ","), None).unwrap_err();
        assert!(matches!(err, ParseError::CsvSchema { line: 0, .. }));
    }

    #[test]
    fn duplicates_are_counted_and_kept_once() {
        let feed = parse(b"192.0.2.1\n192.0.2.1\n", &columns(&[1], ","), None).unwrap();
        assert_eq!(feed.records.len(), 1);
        assert_eq!(feed.stats.duplicates, 1);
    }
}
