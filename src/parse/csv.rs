//! CSV feeds: MISP's CSV feed semantics on an RFC 4180 reader, with columns by header name.
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
//! - Columns named by the header (`header = true`), which is the last comment line before the
//!   data when it holds the names (`URLhaus` and `ThreatFox` comment their header out), else the
//!   first row. With a header, or with `column_count`, a row with another number of fields
//!   is rejected as [`SCHEMA_MISMATCH`] rather than read with its columns shifted, and a body
//!   where every row is rejected so fails as a whole: the layout changed (bug case 05).
//! - A type column, whose names go through the feed's `type_map`, so that each value is
//!   checked as the type the feed declares ([`indicator::normalize`]) instead of detected;
//!   first-seen, last-seen and tags columns (see `meta`).
//! - Line numbers in rejection examples, counts of comment and blank lines, and
//!   de-duplication on the canonical indicator (of two rows, the one last seen most recently
//!   is kept; without times, the first).
//!
//! The reader is this module's own rather than the `csv` crate's: the crate skips blank lines
//! without reporting them and numbers the records after them from the blank line, and it has
//! no way to treat a whole physical line as a comment before its quotes are read. A comment
//! line with one stray `"` would otherwise swallow the data rows after it.
//!
//! A row that has fewer fields than a selected column is rejected as
//! [`SHORT_ROW`](super::SHORT_ROW); a row of words only, when every column is read, as
//! [`UNPARSED_LINE`](super::UNPARSED_LINE); a row whose value cells are all empty, as
//! [`MISSING_VALUE`](super::MISSING_VALUE); a row whose type is not known, as
//! [`UNKNOWN_TYPE`](super::UNKNOWN_TYPE).

use regex::Regex;

use super::collect::{Collector, Taken};
use super::meta::{Details, Tags, TypeMap, time_or_warn};
use super::{
    INVALID_TAG, INVALID_TIME, MISSING_COLUMN, MISSING_VALUE, ParseError, ParseStats, ParsedFeed,
    SCHEMA_MISMATCH, SHORT_ROW, UNKNOWN_TYPE, UNPARSED_LINE, text,
};
use crate::config::{Column, CsvOptions};
use crate::indicator::{self, RejectReason};

/// Reads a CSV body.
///
/// ```
/// use feedsmith::config::{Column, CsvOptions};
/// use feedsmith::parse::csv;
///
/// let opts = CsvOptions { value_columns: vec![Column::Number(2)], ..CsvOptions::default() };
/// let feed = csv::parse(b"# when,ip\r\n\"2024-05-01\",\"192.0.2.1\"\r\n", &opts, None).unwrap();
/// assert_eq!(&*feed.records[0].indicator.value, "192.0.2.1");
/// assert_eq!(feed.stats.comments, 1);
///
/// // The same body, its columns named by the commented header.
/// let opts = CsvOptions {
///     header: true,
///     value_columns: vec![Column::Name("ip".into())],
///     first_seen_column: Some(Column::Name("when".into())),
///     ..CsvOptions::default()
/// };
/// let feed = csv::parse(b"# when,ip\r\n\"2024-05-01\",\"192.0.2.1\"\r\n", &opts, None).unwrap();
/// assert_eq!(&*feed.records[0].indicator.value, "192.0.2.1");
/// assert_eq!(feed.records[0].first_seen, Some(1_714_521_600));
/// ```
///
/// # Errors
/// [`ParseError::CsvSchema`] when the options cannot describe a CSV layout (a column
/// numbered 0, a separator holding a line break, a column name the header does not have, a
/// type mapped to no MISP type), or when every data row has another number of fields than
/// the header or `column_count`.
pub fn parse(
    body: &[u8],
    opts: &CsvOptions,
    exclude: Option<&Regex>,
) -> Result<ParsedFeed, ParseError> {
    let setup = Setup::new(opts)?;
    let mut stats = ParseStats::default();
    let body = text::strip_bom(body, &mut stats);
    let mut reader = setup.reader(exclude, Collector::new(), stats);
    let mut layout = setup.layout.clone();
    let mut rows = Rows::new(body, setup.delimiter);
    let mut fields = Fields::default();
    while rows.pos < body.len() {
        reader.step(&mut rows, &mut layout, &mut fields)?;
    }
    reader.finish()
}

/// The size under which [`parse_parallel`] reads a body on one thread.
const PARALLEL_MIN_BYTES: usize = 1 << 20;

/// Reads a CSV body as [`parse`] does, on every thread of the rayon pool, with the same
/// result: the same records in the same order, the same counts and rejection examples with
/// the same line numbers, and the same errors.
///
/// A row may span lines (a quoted field holds line breaks), so where a row starts depends on
/// every quote before it. The reader therefore reads the body up to its header on one thread,
/// cuts the rest into chunks at line ends, and reads each chunk on its own as if a row started
/// there; then it keeps a chunk's reading only where it is the one [`parse`] makes:
///
/// - the reading of [`parse`] at a row start depends only on the position and on whether a
///   quote ran to the end of the body before (after which quoted fields end at their line);
/// - a chunk is read from its start while its rows start inside it, and stops, keeping the
///   rows before, at a row whose quoted field runs past its end;
/// - chunks are taken in order: a chunk is kept when the reading before it ended exactly at
///   its start with no quote run to the end; else it is read again, on one thread, from where
///   the reading before it ended, with that reading's state.
///
/// So every row kept starts where [`parse`] starts one, with the same state, and is read the
/// same way; a body whose quoted fields span chunk ends is partly read twice, never wrongly.
/// Repeated values are merged once the chunks are read, over all of them, as one reader would
/// (`collect::dedup_parts`).
///
/// # Errors
/// As [`parse`].
pub fn parse_parallel(
    body: &[u8],
    opts: &CsvOptions,
    exclude: Option<&Regex>,
) -> Result<ParsedFeed, ParseError> {
    if body.len() < PARALLEL_MIN_BYTES || rayon::current_num_threads() < 2 {
        return parse(body, opts, exclude);
    }
    let chunk_bytes = body.len().div_ceil(rayon::current_num_threads() * 4);
    parse_chunked(body, opts, exclude, chunk_bytes.max(PARALLEL_MIN_BYTES / 4))
}

/// [`parse_parallel`] with chunks of about `chunk_bytes` (each one ends at a line end, so it
/// may be longer), whatever the body's size.
pub(crate) fn parse_chunked(
    body: &[u8],
    opts: &CsvOptions,
    exclude: Option<&Regex>,
    chunk_bytes: usize,
) -> Result<ParsedFeed, ParseError> {
    use rayon::prelude::*;

    let setup = Setup::new(opts)?;
    let mut stats = ParseStats::default();
    let body = text::strip_bom(body, &mut stats);
    // Up to the first data row on this thread: the layout, a header and the header rows
    // to skip are only known there.
    let mut head = setup.reader(exclude, Collector::keeping_all(0), stats);
    let mut layout = setup.layout.clone();
    let mut rows = Rows::new(body, setup.delimiter);
    let mut fields = Fields::default();
    while rows.pos < body.len() && (layout.is_none() || head.headers_left > 0) {
        head.step(&mut rows, &mut layout, &mut fields)?;
    }
    let Some(layout) = layout else { return head.finish_parts(Vec::new()) };
    let start = rows.pos;
    let mut at = State { pos: start, quotes_unreliable: rows.quotes_unreliable };
    let read = |from: State, stop: usize, limited: bool| {
        // Room for a value per line, which a list of values has.
        #[expect(clippy::naive_bytecount, reason = "a capacity hint, counted once per part")]
        let lines =
            body.get(from.pos..stop).map_or(0, |part| part.iter().filter(|&&b| b == b'\n').count());
        let collector = Collector::keeping_all(lines + 1);
        let reader = setup.reader(exclude, collector, ParseStats::default());
        reader.read_span(body, from, stop, limited, &layout)
    };
    if at.quotes_unreliable || start == body.len() {
        // A quote ran to the end of the body before: no chunk can start as a row does.
        let lines = head.stats.lines;
        let rest = read(at, body.len(), false).map_err(|error| after_lines(error, lines))?;
        return head.finish_parts(vec![rest]);
    }

    let mut bounds = vec![start];
    for chunk in text::line_chunks(&body[start..], chunk_bytes.max(1)) {
        bounds.push(bounds[bounds.len() - 1] + chunk.len());
    }
    let chunks: Vec<Result<Span, ParseError>> = bounds
        .par_windows(2)
        .map(|ends| read(State { pos: ends[0], quotes_unreliable: false }, ends[1], true))
        .collect();

    // The lines before the part being read, to number its errors as the whole body's.
    let mut lines = head.stats.lines;
    let mut parts: Vec<Span> = Vec::with_capacity(chunks.len() + 1);
    let mut keep = |span: Result<Span, ParseError>, parts: &mut Vec<Span>| {
        let span = span.map_err(|error| after_lines(error, lines))?;
        lines += span.tally.stats.lines;
        let end = span.end;
        let crossed = span.crossed;
        parts.push(span);
        Ok::<_, ParseError>((end, crossed))
    };
    for (chunk, ends) in chunks.into_iter().zip(bounds.windows(2)) {
        let stop = ends[1];
        if at.pos >= stop {
            // Read already, by a row of the chunks before that ran into this one.
            continue;
        }
        let usable = at.pos == ends[0] && !at.quotes_unreliable;
        let (end, crossed) = keep(if usable { chunk } else { read(at, stop, false) }, &mut parts)?;
        at = end;
        if crossed {
            // The chunk's last row runs past its end: read from that row on one thread.
            (at, _) = keep(read(at, stop, false), &mut parts)?;
        }
    }
    if at.pos < body.len() {
        // The chunks end at the body's end, so this is only reached if they were all cut.
        (at, _) = keep(read(at, body.len(), false), &mut parts)?;
    }
    debug_assert_eq!(at.pos, body.len());
    head.finish_parts(parts)
}

/// `error`, raised in a part of a body after `lines` lines, numbered as the body's.
fn after_lines(error: ParseError, lines: u64) -> ParseError {
    match error {
        ParseError::CsvSchema { line, message } if line > 0 => {
            ParseError::CsvSchema { line: line + lines, message }
        }
        other => other,
    }
}

/// Where a reading stands between rows: the position, and whether a quoted field ran to the
/// end of the body before it ([`Rows::quotes_unreliable`]).
#[derive(Clone, Copy, Debug)]
struct State {
    pos: usize,
    quotes_unreliable: bool,
}

/// What reading a span of rows gave: its records and counts (its line numbers from 1 at its
/// start), where the reading stopped, and whether it stopped at a row running past its end.
struct Span {
    tally: Tally,
    collector: Collector,
    end: State,
    crossed: bool,
}

/// The counts of a reader that a later part of a body adds to an earlier one.
struct Tally {
    stats: ParseStats,
    data_rows: u64,
    mismatched: u64,
    first_mismatch: Option<(u64, usize, usize)>,
}

/// The options, checked once, that every reader of a body shares.
struct Setup<'o> {
    opts: &'o CsvOptions,
    delimiter: &'o [u8],
    types: TypeMap,
    /// The layout, when it is known without a header.
    layout: Option<Layout>,
}

impl<'o> Setup<'o> {
    fn new(opts: &'o CsvOptions) -> Result<Setup<'o>, ParseError> {
        let schema = |message: String| ParseError::CsvSchema { line: 0, message };
        if opts.value_columns.contains(&Column::Number(0)) {
            return Err(schema(
                "value column 0 does not exist: columns are numbered from 1".to_owned(),
            ));
        }
        let delimiter: &[u8] = match opts.delimiter.as_str() {
            "\\t" => b"\t",
            "" => b",",
            other => other.as_bytes(),
        };
        if delimiter.contains(&b'\n') || delimiter.contains(&b'\r') {
            return Err(schema(format!("the delimiter {:?} holds a line break", opts.delimiter)));
        }
        if opts.value_columns.is_empty() && Layout::meta_columns(opts).any(|c| c.is_some()) {
            return Err(schema(
                "type, time and tags columns need `value_columns`: when every column is read \
                 as a value, they would be read as values too"
                    .to_owned(),
            ));
        }
        if opts.tag_separator.is_empty() {
            return Err(schema("`tag_separator` is empty".to_owned()));
        }
        let types = TypeMap::new(&opts.type_map).map_err(schema)?;
        // Without a header the layout is known now; with one, at the first row after the
        // comments.
        let layout =
            if opts.header { None } else { Some(Layout::resolve(opts, None).map_err(schema)?) };
        Ok(Setup { opts, delimiter, types, layout })
    }

    /// A reader at the start of a body or of a part of one.
    fn reader<'r>(
        &'r self,
        exclude: Option<&'r Regex>,
        collector: Collector,
        stats: ParseStats,
    ) -> RowReader<'r> {
        RowReader {
            collector,
            stats,
            exclude,
            opts: indicator::Options::default(),
            csv: self.opts,
            delimiter: self.delimiter,
            types: &self.types,
            tags: Tags::default(),
            comment_prefix: self.opts.comment_prefix.as_bytes(),
            headers_left: self.opts.header_lines,
            last_comment: None,
            data_rows: 0,
            mismatched: 0,
            first_mismatch: None,
        }
    }
}

/// Where each thing a row holds is (0-based), once the header, if any, is known.
#[derive(Clone, Debug)]
struct Layout {
    /// The value columns; empty means every column.
    values: Vec<usize>,
    kind: Option<usize>,
    first_seen: Option<usize>,
    last_seen: Option<usize>,
    tags: Option<usize>,
    /// The number of fields every row must have, if known.
    width: Option<usize>,
}

impl Layout {
    /// The type, time and tags column settings, in that order.
    fn meta_columns(opts: &CsvOptions) -> impl Iterator<Item = Option<&Column>> {
        [
            opts.type_column.as_ref(),
            opts.first_seen_column.as_ref(),
            opts.last_seen_column.as_ref(),
            opts.tags_column.as_ref(),
        ]
        .into_iter()
    }

    /// Every column the settings name by their header name.
    fn names(opts: &CsvOptions) -> impl Iterator<Item = &str> {
        opts.value_columns.iter().chain(Layout::meta_columns(opts).flatten()).filter_map(
            |c| match c {
                Column::Name(name) => Some(name.trim()),
                Column::Number(_) => None,
            },
        )
    }

    /// Maps the settings' columns onto `header` (the column names) or, without one, onto
    /// 1-based numbers only.
    fn resolve(opts: &CsvOptions, header: Option<&[String]>) -> Result<Layout, String> {
        let width = match (header.map(<[String]>::len), opts.column_count) {
            (Some(names), Some(count)) if names != count => {
                return Err(format!(
                    "the header has {names} columns, and `column_count` says {count}"
                ));
            }
            (names, count) => names.or(count),
        };
        let index = |column: &Column| -> Result<usize, String> {
            match (column, header) {
                (Column::Number(0), _) => {
                    Err("column 0 does not exist: columns are numbered from 1".to_owned())
                }
                (Column::Number(n), _) if width.is_some_and(|w| *n > w) => Err(format!(
                    "column {n} is beyond the {} columns of {}",
                    width.unwrap_or_default(),
                    if header.is_some() { "the header" } else { "`column_count`" }
                )),
                (Column::Number(n), _) => Ok(n - 1),
                (Column::Name(name), None) => Err(format!(
                    "column `{}` is named, and there is no header to find it in: set \
                     `header = true`",
                    shown(name)
                )),
                (Column::Name(name), Some(names)) => {
                    let at = position(names, name).ok_or_else(|| {
                        format!("no column `{}` in the header ({})", shown(name), listing(names))
                    })?;
                    // Two columns of one name: reading either would lose the other's values
                    // without a word.
                    if names[at + 1..].iter().any(|n| n.eq_ignore_ascii_case(name.trim())) {
                        return Err(format!(
                            "the header names two columns `{}`; name the one to read by number",
                            shown(name)
                        ));
                    }
                    Ok(at)
                }
            }
        };
        let optional = |column: &Option<Column>| column.as_ref().map(index).transpose();
        Ok(Layout {
            values: opts.value_columns.iter().map(index).collect::<Result<_, _>>()?,
            kind: optional(&opts.type_column)?,
            first_seen: optional(&opts.first_seen_column)?,
            last_seen: optional(&opts.last_seen_column)?,
            tags: optional(&opts.tags_column)?,
            width,
        })
    }
}

/// Where a header name is, compared without surrounding white space and ignoring ASCII case.
fn position(names: &[String], name: &str) -> Option<usize> {
    let name = name.trim();
    names.iter().position(|n| n.eq_ignore_ascii_case(name))
}

/// Header names for a message: the first 20, each cut to 40 characters and escaped.
fn listing(names: &[String]) -> String {
    let mut out: Vec<String> = names
        .iter()
        .take(20)
        .map(|n| {
            let mut cut: String = n.chars().take(40).collect();
            if n.chars().count() > 40 {
                cut.push('…');
            }
            format!("`{}`", shown(&cut))
        })
        .collect();
    if names.len() > 20 {
        out.push(format!("and {} more", names.len() - 20));
    }
    if out.is_empty() { "it is empty".to_owned() } else { out.join(", ") }
}

/// The column names a header line holds: its fields, trimmed of white space and quotes.
///
/// A header is read with the delimiter's spaces removed, because `ThreatFox` writes `","`
/// between header names and `", "` between data fields.
fn header_names(line: &[u8], delimiter: &[u8]) -> Vec<String> {
    let trimmed_len = delimiter.iter().rposition(|&b| b != b' ').map_or(delimiter.len(), |e| e + 1);
    let delimiter = &delimiter[..trimmed_len];
    let mut rows = Rows::new(line, delimiter);
    let mut fields = Fields::default();
    rows.read(&mut fields);
    (0..fields.len())
        .map(|i| {
            let field = fields.get(i).unwrap_or_default();
            text::lossy(field)
                .trim_matches(|c: char| c.is_whitespace() || c == '"' || c == '\'')
                .to_owned()
        })
        .collect()
}

/// The fields of one row: their bytes, unescaped, end to end, where each ends, and whether
/// it was quoted.
#[derive(Default)]
struct Fields {
    bytes: Vec<u8>,
    ends: Vec<usize>,
    quoted: Vec<bool>,
    /// Whether the field being read opened and closed with a quote.
    current_quoted: bool,
}

impl Fields {
    fn clear(&mut self) {
        self.bytes.clear();
        self.ends.clear();
        self.quoted.clear();
        self.current_quoted = false;
    }

    fn end_field(&mut self) {
        self.ends.push(self.bytes.len());
        self.quoted.push(std::mem::take(&mut self.current_quoted));
    }

    /// Field `i` as a value ([`cell`]).
    fn cell(&self, i: usize) -> Cell<'_> {
        match self.get(i) {
            None => Cell::Absent,
            Some(field) => cell(field, self.quoted[i]).map_or(Cell::Null, Cell::Value),
        }
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

/// What a row holds at a column.
#[derive(Clone, Copy)]
enum Cell<'a> {
    /// The row has no such field.
    Absent,
    /// The field is a null: empty, `0` or `None`.
    Null,
    /// The field's value, trimmed.
    Value(&'a [u8]),
}

impl<'a> Cell<'a> {
    /// The value, if there is one.
    fn value(self) -> Option<&'a [u8]> {
        match self {
            Cell::Value(value) => Some(value),
            Cell::Absent | Cell::Null => None,
        }
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
    /// A line break inside quotes at this position or later ends the reading of the row and
    /// sets `crossed`: the row runs past the part of the body a reader was given.
    cross_at: usize,
    /// Set when a row ran past `cross_at`; the row's fields are then not to be read.
    crossed: bool,
}

impl<'a> Rows<'a> {
    /// A reader at the start of `body`; a delimiter holding `"` turns quoting off.
    fn new(body: &'a [u8], delimiter: &'a [u8]) -> Rows<'a> {
        Rows {
            body,
            pos: 0,
            line: 1,
            delimiter,
            quoting: !delimiter.contains(&b'"'),
            quotes_unreliable: false,
            cross_at: usize::MAX,
            crossed: false,
        }
    }

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
            // The first byte first: a call to compare the whole delimiter at every byte of
            // the body was a tenth of the time of reading a large list.
            if body[i] == self.delimiter[0] && body[i..].starts_with(self.delimiter) {
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
                b'\n' if i >= self.cross_at => {
                    self.crossed = true;
                    self.pos = i + 1;
                    return true;
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
        fields.current_quoted = true;
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
    csv: &'r CsvOptions,
    delimiter: &'r [u8],
    types: &'r TypeMap,
    tags: Tags,
    comment_prefix: &'r [u8],
    headers_left: usize,
    /// The last physical comment line before the layout was known: maybe a commented header.
    last_comment: Option<&'r [u8]>,
    /// Rows that reached the column-count check.
    data_rows: u64,
    /// Rows rejected as [`SCHEMA_MISMATCH`].
    mismatched: u64,
    /// The line, field count and expected count of the first of them.
    first_mismatch: Option<(u64, usize, usize)>,
}

impl<'r> RowReader<'r> {
    /// Reads the physical line (blank or a comment) or the row at `rows.pos`. Returns `false`,
    /// having read nothing, when the row runs past the limit of `rows` ([`Rows::cross_at`]).
    fn step(
        &mut self,
        rows: &mut Rows<'r>,
        layout: &mut Option<Layout>,
        fields: &mut Fields,
    ) -> Result<bool, ParseError> {
        let (start, end) = rows.current_line();
        let line = &rows.body[start..end];
        if text::is_blank(line) {
            self.stats.lines += 1;
            self.stats.blank += 1;
            rows.skip_line();
            return Ok(true);
        }
        if self.is_comment(line) {
            self.stats.lines += 1;
            self.stats.comments += 1;
            if layout.is_none() {
                self.last_comment = Some(line);
            }
            rows.skip_line();
            return Ok(true);
        }
        let (pos, number, unreliable) = (rows.pos, rows.line, rows.quotes_unreliable);
        let (raw, spanned) = rows.read(fields);
        if rows.crossed {
            (rows.pos, rows.line, rows.quotes_unreliable) = (pos, number, unreliable);
            rows.crossed = false;
            return Ok(false);
        }
        self.stats.lines += spanned;
        self.read_row(layout, number, raw, fields)?;
        Ok(true)
    }

    /// Reads the rows of `body` from `from` while they start before `stop`, as a reader
    /// that reached `from` in the state `from` gives, with the header and the rows to skip
    /// behind it. With `limited`, stops at a row running past `stop` instead of reading it.
    /// Line numbers count from 1 at `from.pos`.
    fn read_span(
        mut self,
        body: &'r [u8],
        from: State,
        stop: usize,
        limited: bool,
        layout: &Layout,
    ) -> Result<Span, ParseError> {
        self.headers_left = 0;
        let mut rows = Rows::new(&body[from.pos..], self.delimiter);
        rows.quotes_unreliable = from.quotes_unreliable;
        let stop = stop.saturating_sub(from.pos);
        if limited {
            // A line break in quotes at the last byte of the span or later continues the row
            // past it.
            rows.cross_at = stop.saturating_sub(1);
        }
        let mut layout = Some(layout.clone());
        let mut fields = Fields::default();
        let mut crossed = false;
        while rows.pos < stop {
            if !self.step(&mut rows, &mut layout, &mut fields)? {
                crossed = true;
                break;
            }
        }
        let end = State { pos: from.pos + rows.pos, quotes_unreliable: rows.quotes_unreliable };
        let RowReader { collector, stats, data_rows, mismatched, first_mismatch, .. } = self;
        let tally = Tally { stats, data_rows, mismatched, first_mismatch };
        Ok(Span { tally, collector, end, crossed })
    }

    /// The parsed feed of a reader of a body's start, a collector keeping all, and `parts`,
    /// the spans read after it, in order: as [`RowReader::finish`] gives it for one reader
    /// of the whole body.
    fn finish_parts(self, parts: Vec<Span>) -> Result<ParsedFeed, ParseError> {
        let RowReader {
            collector,
            mut stats,
            mut data_rows,
            mut mismatched,
            mut first_mismatch,
            ..
        } = self;
        let mut records = Vec::with_capacity(parts.len() + 1);
        records.push(collector.finish(ParseStats::default()).records);
        for Span { tally, collector, .. } in parts {
            let offset = stats.lines;
            let shifted =
                tally.first_mismatch.map(|(line, got, width)| (line + offset, got, width));
            first_mismatch = first_mismatch.or(shifted);
            data_rows += tally.data_rows;
            mismatched += tally.mismatched;
            stats.absorb(tally.stats, offset);
            records.push(collector.finish(ParseStats::default()).records);
        }
        if let Some(error) = every_row_mismatched(first_mismatch, mismatched, data_rows) {
            return Err(error);
        }
        let records = super::collect::dedup_parts(records, &mut stats);
        Ok(ParsedFeed { records, stats })
    }

    /// Whether a physical line is a comment: its first non-blank bytes are the prefix.
    fn is_comment(&self, line: &[u8]) -> bool {
        let Some(&first) = self.comment_prefix.first() else { return false };
        let line = trim_start(line);
        line.first() == Some(&first) && line.starts_with(self.comment_prefix)
    }

    fn read_row(
        &mut self,
        layout: &mut Option<Layout>,
        number: u64,
        raw: &[u8],
        fields: &Fields,
    ) -> Result<(), ParseError> {
        // A quoted first field such as `"# note"` also makes a comment row, as in MISP.
        if fields.get(0).is_some_and(|first| self.is_comment(first)) {
            self.stats.comments += 1;
            return Ok(());
        }
        if (0..fields.len()).all(|i| fields.cell(i).value().is_none()) {
            self.stats.blank += 1;
            return Ok(());
        }
        if self.headers_left > 0 {
            self.headers_left -= 1;
            self.stats.header_rows += 1;
            return Ok(());
        }
        if layout.is_none() {
            let schema = |message: String| ParseError::CsvSchema { line: number, message };
            let commented = self
                .last_comment
                .map(|line| {
                    let line = trim_start(line);
                    header_names(&line[self.comment_prefix.len()..], self.delimiter)
                })
                .filter(|names| self.holds_header(names, fields.len()));
            let from_row = commented.is_none();
            // Without a commented header, this row is the header.
            let names = commented.unwrap_or_else(|| header_names(raw, self.delimiter));
            *layout = Some(Layout::resolve(self.csv, Some(&names)).map_err(schema)?);
            if from_row {
                self.stats.header_rows += 1;
                return Ok(());
            }
        }
        if let Some(layout) = layout {
            self.data_row(layout, number, raw, fields);
        }
        Ok(())
    }

    /// Whether a commented line's fields are the header: two names or more, among them every
    /// name the settings use, or, when they use numbers only, as many as the first row has.
    fn holds_header(&self, names: &[String], row_width: usize) -> bool {
        if names.len() < 2 {
            return false;
        }
        let mut wanted = Layout::names(self.csv).peekable();
        if wanted.peek().is_none() {
            return names.len() == row_width;
        }
        wanted.all(|name| position(names, name).is_some())
    }

    fn data_row(&mut self, layout: &Layout, number: u64, raw: &[u8], fields: &Fields) {
        self.data_rows += 1;
        if let Some(width) = layout.width
            && fields.len() != width
        {
            self.mismatched += 1;
            self.first_mismatch.get_or_insert((number, fields.len(), width));
            self.stats.reject_with(SCHEMA_MISMATCH, number, || {
                format!("{} fields, expected {width}: {}", fields.len(), text::lossy(raw))
            });
            return;
        }

        let mut tally = RowTally::default();
        if layout.values.is_empty() {
            for i in 0..fields.len() {
                if let Cell::Value(value) = fields.cell(i) {
                    self.cell(number, value, false, &Details::default(), &mut tally);
                }
            }
            if tally.accepted > 0 || tally.specific > 0 || tally.excluded > 0 {
                self.stats.ignored_words += tally.unrecognized;
            } else if tally.unrecognized > 0 {
                self.stats.reject_with(UNPARSED_LINE, number, || text::lossy(raw).into_owned());
            }
            return;
        }

        let Some(details) = self.details(layout, number, raw, fields) else { return };
        let mut short = false;
        let mut any = false;
        for &column in &layout.values {
            match fields.cell(column) {
                Cell::Value(value) => {
                    any = true;
                    self.cell(number, value, true, &details, &mut tally);
                }
                Cell::Null => {}
                Cell::Absent => short = true,
            }
        }
        match (any, short) {
            (true, false) => {}
            (true, true) => self.stats.warn_code(MISSING_COLUMN),
            (false, true) => {
                self.stats.reject_with(SHORT_ROW, number, || text::lossy(raw).into_owned());
            }
            (false, false) => {
                self.stats.reject_with(MISSING_VALUE, number, || text::lossy(raw).into_owned());
            }
        }
    }

    /// The row's type, times and tags. `None` when the row is rejected for its type.
    fn details(
        &mut self,
        layout: &Layout,
        number: u64,
        raw: &[u8],
        fields: &Fields,
    ) -> Option<Details> {
        let kind = match layout.kind {
            None => None,
            Some(column) => {
                let field = match fields.cell(column) {
                    Cell::Absent => {
                        self.stats.reject_with(SHORT_ROW, number, || text::lossy(raw).into_owned());
                        return None;
                    }
                    other => other.value(),
                };
                match field.map(|f| (f, std::str::from_utf8(f))) {
                    // An empty type cell leaves the values to detection.
                    None => None,
                    Some((field, Err(_))) => {
                        self.stats.reject(RejectReason::NonUtf8, number, &text::lossy(field));
                        return None;
                    }
                    Some((_, Ok(name))) => {
                        let Some(kind) = self.types.resolve(name) else {
                            self.stats.reject_code(UNKNOWN_TYPE, number, name);
                            return None;
                        };
                        Some(kind)
                    }
                }
            }
        };
        let time = |column: Option<usize>, stats: &mut ParseStats| {
            let value = fields.cell(column?).value()?;
            let Ok(value) = std::str::from_utf8(value) else {
                stats.warn_code(INVALID_TIME);
                return None;
            };
            time_or_warn(value, stats)
        };
        let first_seen = time(layout.first_seen, &mut self.stats);
        let last_seen = time(layout.last_seen, &mut self.stats);
        let tags = match layout.tags.map(|column| fields.cell(column).value()) {
            None | Some(None) => Box::default(),
            Some(Some(bytes)) => {
                if let Ok(text) = std::str::from_utf8(bytes) {
                    let pieces = text.split(self.csv.tag_separator.as_str()).map(Some);
                    self.tags.collect(pieces, &mut self.stats)
                } else {
                    self.stats.warn_code(INVALID_TAG);
                    Box::default()
                }
            }
        };
        Some(Details { kind, first_seen, last_seen, tags })
    }

    /// Classifies one non-null cell value, or checks it as the row's declared type. With
    /// `strict`, a cell that is not an indicator is a rejection; otherwise (every column read)
    /// it is only a word.
    fn cell(
        &mut self,
        number: u64,
        value: &[u8],
        strict: bool,
        details: &Details,
        tally: &mut RowTally,
    ) {
        let Ok(value) = std::str::from_utf8(value) else {
            tally.specific += 1;
            self.stats.reject(RejectReason::NonUtf8, number, &text::lossy(value));
            return;
        };
        match self.collector.take_detailed(value, details, self.exclude, self.opts, &mut self.stats)
        {
            Taken::Excluded => tally.excluded += 1,
            Taken::Accepted => tally.accepted += 1,
            Taken::Rejected(RejectReason::Unrecognized) if !strict => tally.unrecognized += 1,
            Taken::Rejected(reason) => {
                tally.specific += 1;
                self.stats.reject(reason, number, value);
            }
        }
    }

    /// The parsed feed, or the schema error of a body whose every row had another number of
    /// fields than its layout: its columns changed, and no row can be read.
    fn finish(self) -> Result<ParsedFeed, ParseError> {
        if let Some(error) =
            every_row_mismatched(self.first_mismatch, self.mismatched, self.data_rows)
        {
            return Err(error);
        }
        let RowReader { collector, stats, .. } = self;
        Ok(collector.finish(stats))
    }
}

/// The schema error of a body whose every data row had another number of fields than its
/// layout, given the first such row's line, field count and expected count.
fn every_row_mismatched(
    first_mismatch: Option<(u64, usize, usize)>,
    mismatched: u64,
    rows: u64,
) -> Option<ParseError> {
    let (line, got, expected) = first_mismatch?;
    (mismatched == rows).then(|| ParseError::CsvSchema {
        line,
        message: format!(
            "expected {expected} columns, got {got}: every data row ({rows} read, 0 \
             accepted, {rows} `{SCHEMA_MISMATCH}`) has another number of fields than \
             the feed's layout, so no column can be trusted; map the columns by header \
             name or update `csv.column_count`"
        ),
    })
}

/// A cell's value: trimmed of white space, NUL and quotes as MISP trims it, or `None` when
/// it is a null (empty, `0` as PHP's `empty()` has it, or the literal `None`).
///
/// A field that was quoted keeps the quotes it holds: after RFC 4180 unescaping they are
/// part of the value (`…&x="q"` in bug case 04), so only white space is trimmed.
fn cell(bytes: &[u8], quoted: bool) -> Option<&[u8]> {
    let trimmed = |b: &u8| {
        matches!(b, b' ' | b'\t' | b'\n' | b'\r' | b'\0' | b'\x0B')
            || (!quoted && matches!(b, b'"' | b'\''))
    };
    let start = bytes.iter().position(|b| !trimmed(b))?;
    let end = bytes.iter().rposition(|b| !trimmed(b)).map_or(start, |e| e + 1);
    let value = &bytes[start..end];
    (value != b"0" && value != b"None").then_some(value)
}

fn trim_start(bytes: &[u8]) -> &[u8] {
    let start = bytes.iter().position(|b| *b != b' ' && *b != b'\t').unwrap_or(bytes.len());
    &bytes[start..]
}

/// Text from a feed or a definition as a message shows it (see [`crate::text::shown`]).
fn shown(text: &str) -> String {
    crate::text::shown(text, crate::text::WHOLE)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::indicator::{AttrType, Indicator};

    /// Every row of `body` as field strings, read with the given delimiter.
    fn rows(body: &[u8], delimiter: &[u8]) -> Vec<(u64, Vec<String>)> {
        let mut rows = Rows::new(body, delimiter);
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
            value_columns: columns.iter().map(|&n| Column::Number(n)).collect(),
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

    // Found by hostile-input testing: the second `value` column was dropped uncounted.
    #[test]
    fn a_name_the_header_gives_two_columns_is_a_schema_error() {
        let opts = CsvOptions {
            header: true,
            value_columns: vec![Column::Name("value".to_owned())],
            ..CsvOptions::default()
        };
        let err = parse(b"value,VALUE,type\n192.0.2.1,192.0.2.2,ip-dst\n", &opts, None)
            .unwrap_err()
            .to_string();
        assert!(err.contains("the header names two columns `value`"), "{err}");
        let by_number =
            CsvOptions { value_columns: vec![Column::Number(1), Column::Number(2)], ..opts };
        let feed =
            parse(b"value,VALUE,type\n192.0.2.1,192.0.2.2,ip-dst\n", &by_number, None).unwrap();
        assert_eq!(values(&feed), ["192.0.2.1", "192.0.2.2"]);
    }

    #[test]
    fn null_cells_are_skipped_and_short_rows_rejected() {
        let body = b"None,192.0.2.1\n0,192.0.2.2\n\"\",192.0.2.3\n192.0.2.4\n";
        let feed = parse(body, &columns(&[1, 2], ","), None).unwrap();
        assert_eq!(values(&feed), ["192.0.2.1", "192.0.2.2", "192.0.2.3", "192.0.2.4"]);
        // The last row lacks column 2 but gave its value from column 1: nothing was lost.
        assert_eq!(feed.stats.rejected_count(SHORT_ROW), 0);
        assert_eq!(feed.stats.warnings[MISSING_COLUMN], 1);

        let feed = parse(b"192.0.2.1,\n192.0.2.5\n", &columns(&[2, 3], ","), None).unwrap();
        let short = &feed.stats.rejected[SHORT_ROW];
        assert_eq!(short.count, 2, "no row has column 3, and column 2 gives no value");
        assert_eq!(short.examples[1].line, 2);
        assert_eq!(short.examples[1].text, "192.0.2.5");
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

    /// Unix seconds of a UTC date and time, from `time`'s calendar.
    fn utc(year: i32, month: u8, day: u8, hms: (u8, u8, u8)) -> i64 {
        time::Date::from_calendar_date(year, time::Month::try_from(month).unwrap(), day)
            .unwrap()
            .with_hms(hms.0, hms.1, hms.2)
            .unwrap()
            .assume_utc()
            .unix_timestamp()
    }

    fn name(name: &str) -> Column {
        Column::Name(name.to_owned())
    }

    fn tags(record: &crate::parse::Record) -> Vec<&str> {
        record.tags.iter().map(|t| &**t).collect()
    }

    /// `ThreatFox`'s layout by header names, like `feeds.d/threatfox-*.toml` (which leave
    /// `last_seen_utc` out, for the reason given there).
    fn threatfox() -> CsvOptions {
        CsvOptions {
            delimiter: ", ".to_owned(),
            header: true,
            value_columns: vec![name("ioc_value")],
            type_column: Some(name("ioc_type")),
            type_map: [("ip:port", "ip-dst|port"), ("sha256_hash", "sha256")]
                .into_iter()
                .map(|(a, b)| (a.to_owned(), b.to_owned()))
                .collect(),
            first_seen_column: Some(name("first_seen_utc")),
            last_seen_column: Some(name("last_seen_utc")),
            tags_column: Some(name("tags")),
            ..CsvOptions::default()
        }
    }

    // Bug case 04 (OpenCTI-Platform/opencti#8324): the header is the last comment line, and
    // the table of expected.md gives every record's value, last_online and tags.
    #[test]
    fn urlhaus_columns_are_found_by_name_in_the_commented_header() {
        let body =
            include_bytes!("../../tests/fixtures/bugcases/04-csv-crlf-quoted/urlhaus_recent.csv");
        let opts = CsvOptions {
            header: true,
            value_columns: vec![name("url")],
            first_seen_column: Some(name("dateadded")),
            last_seen_column: Some(name("last_online")),
            tags_column: Some(name("tags")),
            ..CsvOptions::default()
        };
        let feed = parse(body, &opts, None).unwrap();
        assert_eq!(
            values(&feed),
            [
                "http://198.51.100.20:40112/i",
                r#"https://files.bad.example/dl?id=7,8&x="q""#,
                "http://203.0.113.9/bins/x86"
            ]
        );
        let [first, second, third] = &feed.records[..] else { panic!("three records") };
        assert_eq!(first.last_seen, Some(utc(2024, 5, 2, (9, 58, 11))));
        assert_eq!(first.first_seen, Some(utc(2024, 5, 2, (9, 58, 11))));
        assert_eq!(second.last_seen, None, "an empty quoted field is null");
        assert_eq!(second.first_seen, Some(utc(2024, 5, 2, (9, 51, 40))));
        assert_eq!(third.last_seen, None);
        assert_eq!(tags(first), ["32-bit", "elf", "mips"]);
        assert_eq!(tags(second), ["zip"]);
        assert!(third.tags.is_empty());
        assert_eq!(feed.stats.comments, 6);
        assert_eq!(feed.stats.header_rows, 0, "the header was a comment, not a row");
        assert_eq!(feed.stats.accepted, 3);
        assert_eq!(feed.stats.rejected_total(), 0);
        assert!(feed.stats.warnings.is_empty());
    }

    // Bug case 05 (OpenCTI-Platform/connectors#5581): mapped by name, the 14- and 15-column
    // files give the records of expected.md's table, identical in both.
    #[test]
    fn threatfox_by_header_name_gives_identical_typed_records_for_14_and_15_columns() {
        let old = parse(
            include_bytes!(
                "../../tests/fixtures/bugcases/05-csv-column-added/threatfox_old_14cols.csv"
            ),
            &threatfox(),
            None,
        )
        .unwrap();
        let new = parse(
            include_bytes!(
                "../../tests/fixtures/bugcases/05-csv-column-added/threatfox_new_15cols.csv"
            ),
            &threatfox(),
            None,
        )
        .unwrap();
        assert_eq!(old.records, new.records);
        let [domain, ip] = &old.records[..] else { panic!("two records") };
        assert_eq!(domain.indicator, Indicator::new(AttrType::Domain, "c2.bad.example"));
        assert_eq!(ip.indicator, Indicator::new(AttrType::IpDstPort, "198.51.100.77|4443"));
        assert_eq!(domain.first_seen, Some(utc(2024, 5, 2, (10, 1, 0))));
        assert_eq!(ip.first_seen, Some(utc(2024, 5, 2, (9, 30, 0))));
        assert_eq!((domain.last_seen, ip.last_seen), (None, None));
        assert_eq!(tags(domain), ["c2", "rat"]);
        assert_eq!(tags(ip), ["RAT"]);
        for feed in [&old, &new] {
            assert_eq!(feed.stats.comments, 6, "banner, commented header and footer");
            assert_eq!(feed.stats.rejected_total(), 0);
            assert!(feed.stats.warnings.is_empty());
        }
    }

    // Bug case 05, rule 4: no header, and a row of 15 fields where the layout has 14.
    #[test]
    fn a_headerless_file_whose_rows_have_another_column_count_fails() {
        let body = include_bytes!(
            "../../tests/fixtures/bugcases/05-csv-column-added/threatfox_new_no_header.csv"
        );
        let opts = CsvOptions { column_count: Some(14), ..columns(&[3], ", ") };
        let err = parse(body, &opts, None).unwrap_err();
        let ParseError::CsvSchema { line, message } = &err else { panic!("{err}") };
        assert_eq!(*line, 1);
        assert!(message.starts_with("expected 14 columns, got 15"), "{message}");
        assert!(message.contains("1 read, 0 accepted, 1 `schema_mismatch`"), "{message}");
        // With the count it has, the same row is read.
        let opts = CsvOptions { column_count: Some(15), ..columns(&[3], ", ") };
        assert_eq!(values(&parse(body, &opts, None).unwrap()), ["c2.bad.example"]);
    }

    #[test]
    fn a_row_with_another_count_than_the_header_is_rejected_and_the_others_kept() {
        let body = b"# a,ip,b\n1,192.0.2.1,x\n2,192.0.2.2\n3,x,192.0.2.3,y\n4,192.0.2.4,z\n";
        let opts =
            CsvOptions { header: true, value_columns: vec![name("ip")], ..columns(&[], ",") };
        let feed = parse(body, &opts, None).unwrap();
        assert_eq!(values(&feed), ["192.0.2.1", "192.0.2.4"], "never read shifted");
        let mismatch = &feed.stats.rejected[SCHEMA_MISMATCH];
        assert_eq!(mismatch.count, 2);
        assert_eq!(mismatch.examples[0].line, 3);
        assert_eq!(mismatch.examples[0].text, "2 fields, expected 3: 2,192.0.2.2");
        assert_eq!(mismatch.examples[1].line, 4);
    }

    #[test]
    fn an_uncommented_header_row_names_the_columns() {
        let body = include_bytes!("../../tests/fixtures/parse/feodo_ipblocklist.csv");
        let opts = CsvOptions {
            header: true,
            value_columns: vec![name("dst_ip")],
            first_seen_column: Some(name("first_seen_utc")),
            ..columns(&[], ",")
        };
        let feed = parse(body, &opts, None).unwrap();
        assert_eq!(feed.stats.header_rows, 1);
        assert_eq!(feed.records.len(), 28);
        assert_eq!(feed.stats.rejected_total(), 0);
        assert_eq!(feed.records[0].indicator, Indicator::new(AttrType::IpDst, "192.9.135.73"));
        assert!(feed.records.iter().all(|r| r.first_seen.is_some()));
    }

    #[test]
    fn numbered_columns_with_a_header_use_its_count_and_skip_it() {
        let body = b"ip,port\n192.0.2.1,80\n192.0.2.2\n";
        let opts = CsvOptions { header: true, ..columns(&[1], ",") };
        let feed = parse(body, &opts, None).unwrap();
        assert_eq!(values(&feed), ["192.0.2.1"]);
        assert_eq!(feed.stats.header_rows, 1);
        assert_eq!(feed.stats.rejected_count(SCHEMA_MISMATCH), 1);
    }

    #[test]
    fn a_name_the_header_lacks_is_a_schema_error_listing_its_columns() {
        let opts =
            CsvOptions { header: true, value_columns: vec![name("ioc")], ..columns(&[], ",") };
        let err = parse(b"# banner\nwhen,ip\n2024-05-01,192.0.2.1\n", &opts, None).unwrap_err();
        assert_eq!(
            err.to_string(),
            "CSV schema error at line 2: no column `ioc` in the header (`when`, `ip`)"
        );
        // A header that is not there: the first data row is read as one, and fails the same way.
        let err = parse(b"192.0.2.1,x\n", &opts, None).unwrap_err();
        assert!(err.to_string().contains("no column `ioc` in the header (`192.0.2.1`, `x`)"));
        let opts = CsvOptions { header: true, ..columns(&[3], ",") };
        let err = parse(b"a,b\n1,2\n", &opts, None).unwrap_err();
        assert!(err.to_string().contains("column 3 is beyond the 2 columns of the header"));
    }

    #[test]
    fn names_need_a_header_and_meta_columns_need_value_columns() {
        let opts = CsvOptions { value_columns: vec![name("ip")], ..columns(&[], ",") };
        assert!(matches!(parse(b"x", &opts, None), Err(ParseError::CsvSchema { line: 0, .. })));
        let opts = CsvOptions { tags_column: Some(Column::Number(2)), ..columns(&[], ",") };
        assert!(matches!(parse(b"x", &opts, None), Err(ParseError::CsvSchema { line: 0, .. })));
        let opts = CsvOptions {
            type_column: Some(Column::Number(2)),
            type_map: [("ip".to_owned(), "ipv4".to_owned())].into_iter().collect(),
            ..columns(&[1], ",")
        };
        assert!(matches!(parse(b"x", &opts, None), Err(ParseError::CsvSchema { line: 0, .. })));
    }

    #[test]
    fn the_type_column_checks_each_value_as_the_declared_type() {
        let sha = "a".repeat(64);
        let body = format!(
            "{sha},sha256_hash\n\
             {},sha256_hash\n\
             198.51.100.7:8080,ip:port\n\
             bad.example:8080,ip:port\n\
             x.example,domain\n\
             c2.bad.example,sha3_384_hash\n\
             192.0.2.9,\n\
             \"192.0.2.10\",\"ip-src\"\n",
            "a".repeat(63)
        );
        let opts = CsvOptions {
            type_column: Some(Column::Number(2)),
            type_map: threatfox().type_map,
            ..columns(&[1], ",")
        };
        let feed = parse(body.as_bytes(), &opts, None).unwrap();
        let indicators: Vec<_> = feed.records.iter().map(|r| r.indicator.clone()).collect();
        assert_eq!(
            indicators,
            [
                Indicator::new(AttrType::Sha256, sha.as_str()),
                Indicator::new(AttrType::IpDstPort, "198.51.100.7|8080"),
                // Declared a domain: kept as one, though detection would say `hostname`.
                Indicator::new(AttrType::Domain, "x.example"),
                // No type given: detected.
                Indicator::new(AttrType::IpDst, "192.0.2.9"),
                Indicator::new(AttrType::IpSrc, "192.0.2.10"),
            ]
        );
        assert_eq!(feed.stats.rejected_count("invalid_hash"), 1);
        assert_eq!(feed.stats.rejected_count("invalid_ip"), 1);
        assert_eq!(feed.stats.rejected[UNKNOWN_TYPE].examples[0].text, "sha3_384_hash");
        assert_eq!(feed.stats.rejected[UNKNOWN_TYPE].examples[0].line, 6);
        assert_eq!(feed.stats.rejected_total(), 3);
    }

    #[test]
    fn times_in_common_forms_are_read_and_a_bad_one_is_a_warning() {
        let noon = utc(2024, 5, 1, (12, 0, 0));
        let body = format!(
            "192.0.2.1,2024-05-01 12:00:00\n\
             192.0.2.2,2024-05-01T14:00:00+02:00\n\
             192.0.2.3,{noon}\n\
             192.0.2.4,last tuesday\n\
             192.0.2.5,None\n"
        );
        let opts = CsvOptions { last_seen_column: Some(Column::Number(2)), ..columns(&[1], ",") };
        let feed = parse(body.as_bytes(), &opts, None).unwrap();
        let seen: Vec<_> = feed.records.iter().map(|r| r.last_seen).collect();
        assert_eq!(seen, [Some(noon), Some(noon), Some(noon), None, None]);
        assert_eq!(feed.stats.warnings[INVALID_TIME], 1, "kept, with a warning");
        assert_eq!(feed.stats.rejected_total(), 0);
    }

    #[test]
    fn tags_split_on_the_configured_separator() {
        let body = b"192.0.2.1;c2| rat |c2\n192.0.2.2;\n";
        let opts = CsvOptions {
            tags_column: Some(Column::Number(2)),
            tag_separator: "|".to_owned(),
            ..columns(&[1], ";")
        };
        let feed = parse(body, &opts, None).unwrap();
        assert_eq!(tags(&feed.records[0]), ["c2", "rat"]);
        assert!(feed.records[1].tags.is_empty());
    }

    #[test]
    fn the_most_recently_seen_of_two_rows_is_kept() {
        let body = b"192.0.2.1,2024-01-01\n192.0.2.1,2024-03-01\n192.0.2.1,2024-02-01\n";
        let opts = CsvOptions { last_seen_column: Some(Column::Number(2)), ..columns(&[1], ",") };
        let feed = parse(body, &opts, None).unwrap();
        assert_eq!(feed.records.len(), 1);
        assert_eq!(feed.records[0].last_seen, Some(utc(2024, 3, 1, (0, 0, 0))));
        assert_eq!(feed.stats.duplicates, 2);
    }

    #[test]
    fn comments_and_the_exclusion_pattern_still_apply_with_a_header() {
        let body =
            b"# when,ip\n\"# a quoted comment\",x\n2024-05-01,192.0.2.1\n2024-05-01,192.0.2.99\n";
        let opts =
            CsvOptions { header: true, value_columns: vec![name("ip")], ..columns(&[], ",") };
        let exclude = Regex::new(r"\.99$").unwrap();
        let feed = parse(body, &opts, Some(&exclude)).unwrap();
        assert_eq!(values(&feed), ["192.0.2.1"]);
        assert_eq!(feed.stats.comments, 2);
        assert_eq!(feed.stats.excluded, 1);
    }

    #[test]
    fn a_row_whose_value_cell_is_empty_is_a_missing_value() {
        let feed = parse(b"None,x\n192.0.2.1,y\n", &columns(&[1], ","), None).unwrap();
        assert_eq!(values(&feed), ["192.0.2.1"]);
        assert_eq!(feed.stats.rejected[MISSING_VALUE].examples[0].line, 1);
    }

    #[test]
    fn a_hostile_header_is_escaped_and_cut_in_messages() {
        let body = format!("\u{1b}[31m{},b\n1,2\n", "n".repeat(100));
        let opts =
            CsvOptions { header: true, value_columns: vec![name("ip")], ..columns(&[], ",") };
        let message = parse(body.as_bytes(), &opts, None).unwrap_err().to_string();
        assert!(!message.contains('\u{1b}'), "{message}");
        // 40 characters kept: the escape, `[31m` and 35 letters.
        assert!(message.contains(&format!("`\\u{{1b}}[31m{}…`", "n".repeat(35))), "{message}");
    }

    /// A plain reading of a recorded `ThreatFox` export: the header names from the commented
    /// line, and each data line cut at `", "` after its outer quotes are removed.
    fn threatfox_plain(body: &str) -> (Vec<String>, Vec<Vec<String>>) {
        let header = body
            .lines()
            .rfind(|l| l.starts_with("# \""))
            .unwrap()
            .trim_start_matches("# ")
            .split(',')
            .map(|n| n.trim_matches('"').to_owned())
            .collect();
        let rows = body
            .lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|l| {
                l.strip_prefix('"')
                    .and_then(|l| l.strip_suffix('"'))
                    .unwrap()
                    .split("\", \"")
                    .map(str::to_owned)
                    .collect()
            })
            .collect();
        (header, rows)
    }

    // The recorded ThreatFox exports (tests/fixtures/recorded/threatfox/), read by header
    // names: the counts and values match a plain reading of the same files.
    #[test]
    fn recorded_threatfox_exports_match_a_plain_reading() {
        for (body, kind) in [
            (
                &include_bytes!("../../tests/fixtures/recorded/threatfox/full_urls.csv")[..],
                AttrType::Url,
            ),
            (
                &include_bytes!("../../tests/fixtures/recorded/threatfox/full_sha256.csv")[..],
                AttrType::Sha256,
            ),
        ] {
            let text = std::str::from_utf8(body).unwrap();
            let (header, rows) = threatfox_plain(text);
            let at = |n: &str| header.iter().position(|h| h == n).unwrap();
            let (value, last_seen, tags_at) = (at("ioc_value"), at("last_seen_utc"), at("tags"));
            assert!(rows.iter().all(|r| r.len() == header.len()));
            let distinct: std::collections::HashSet<&str> =
                rows.iter().map(|r| r[value].as_str()).collect();

            let feed = parse(body, &threatfox(), None).unwrap();
            assert_eq!(feed.stats.rejected_total(), 0, "{:?}", feed.stats.rejected);
            assert_eq!(feed.stats.accepted, rows.len() as u64);
            assert_eq!(feed.records.len(), distinct.len());
            assert_eq!(
                feed.stats.comments,
                text.lines().filter(|l| l.starts_with('#')).count() as u64
            );
            assert!(feed.records.iter().all(|r| r.indicator.kind == kind));
            let with_last_seen = rows.iter().filter(|r| !r[last_seen].is_empty()).count();
            assert_eq!(
                feed.records.iter().filter(|r| r.last_seen.is_some()).count(),
                with_last_seen
            );
            assert!(feed.records.iter().all(|r| r.first_seen.is_some()));
            let untagged = rows.iter().filter(|r| r[tags_at] == "None" || r[tags_at].is_empty());
            assert_eq!(feed.records.iter().filter(|r| r.tags.is_empty()).count(), untagged.count());
            assert!(feed.stats.warnings.is_empty(), "{:?}", feed.stats.warnings);
        }
    }

    /// Both readings of `body`, compared: the records, the counts and examples, or the error.
    fn assert_chunked_reads_as_one(body: &[u8], opts: &CsvOptions, chunk: usize) {
        let whole = parse(body, opts, None);
        let chunked = parse_chunked(body, opts, None, chunk);
        match (&whole, &chunked) {
            (Ok(whole), Ok(chunked)) => {
                assert_eq!(chunked.records, whole.records, "chunks of {chunk}");
                assert_eq!(chunked.stats, whole.stats, "chunks of {chunk}");
            }
            (Err(whole), Err(chunked)) => {
                assert_eq!(chunked.to_string(), whole.to_string(), "chunks of {chunk}");
            }
            _ => panic!("chunks of {chunk}: {chunked:?} where one reader gives {whole:?}"),
        }
    }

    /// A body with a BOM, CRLF and LF lines, comments, blank lines, quoted fields spanning
    /// lines, rows of another width, repeats, a stray quote near the end and no final newline.
    fn spanning_body() -> Vec<u8> {
        let mut body = b"\xEF\xBB\xBF# feed\r\n# when,ip,type\r\n".to_vec();
        for i in 0..60 {
            let row = match i % 9 {
                0 => format!("2024-05-0{},192.0.2.{},ip-dst\r\n", i % 9 + 1, i),
                1 => format!("\"2024-05-01\",\"198.51.100.{}\",\"ip-src\"\n", i % 4),
                2 => format!("\"a\nlong\r\nnote {i}\",192.0.2.{i},ip-dst\n"),
                3 => "\n  \n".to_owned(),
                4 => format!("x,\"http://bad.example/{i}?q=\"\"a,b\"\"\",url\n"),
                5 => format!("# comment with a \" quote {i}\n"),
                6 => format!("short,192.0.2.{i}\n"),
                7 => format!("\"#quoted comment\",x,y\n\"\",\"\",\"\"\n{i},None,0\n"),
                _ => format!("y,bad.example{i},sha256\n"),
            };
            body.extend_from_slice(row.as_bytes());
        }
        body.extend_from_slice(b"z,\"192.0.2.200,ip-dst\nlast,192.0.2.201,ip-dst");
        body
    }

    fn typed() -> CsvOptions {
        CsvOptions {
            header: true,
            value_columns: vec![name("ip")],
            type_column: Some(name("type")),
            first_seen_column: Some(name("when")),
            ..columns(&[], ",")
        }
    }

    #[test]
    fn a_chunked_parse_equals_the_single_threaded_parse_at_every_chunk_size() {
        let body = spanning_body();
        let whole = parse(&body, &typed(), None).unwrap();
        // The body is what the test means it to be.
        assert!(whole.stats.bom);
        assert!(whole.stats.duplicates > 0);
        assert!(whole.stats.rejected_count(SCHEMA_MISMATCH) > crate::parse::MAX_EXAMPLES as u64);
        assert!(whole.records.iter().any(|r| r.indicator.kind == AttrType::Url));
        for chunk in 1..=body.len() + 1 {
            assert_chunked_reads_as_one(&body, &typed(), chunk);
        }
        // Every column read, no header, and a delimiter holding a quote (quoting off).
        for opts in [columns(&[], ","), columns(&[2], "\","), columns(&[2], ", ")] {
            for chunk in [1, 2, 3, 5, 8, 13, 40, 200] {
                assert_chunked_reads_as_one(&body, &opts, chunk);
            }
        }
    }

    #[test]
    fn a_chunk_starting_inside_a_quoted_field_is_read_again_from_its_row() {
        // Every line after the first is inside one quoted field: read alone, each chunk would
        // find rows that are not there.
        let mut body = b"ip,note\n192.0.2.1,\"".to_vec();
        for i in 0..50 {
            body.extend_from_slice(format!("198.51.100.{i},\"\"x\"\"\n").as_bytes());
        }
        body.extend_from_slice(b"\"\n192.0.2.2,done\n");
        let opts =
            CsvOptions { header: true, value_columns: vec![name("ip")], ..columns(&[], ",") };
        let whole = parse(&body, &opts, None).unwrap();
        assert_eq!(values(&whole), ["192.0.2.1", "192.0.2.2"]);
        assert_eq!(whole.stats.lines, 53);
        for chunk in [1, 7, 16, 64, 300] {
            assert_chunked_reads_as_one(&body, &opts, chunk);
        }
        // A quote that never closes: from it on, quoted fields end at their line.
        let mut open = b"ip,note\n192.0.2.1,\"never closed\n".to_vec();
        for i in 0..40 {
            open.extend_from_slice(format!("198.51.100.{i},\"a,b\"\n").as_bytes());
        }
        for chunk in [1, 9, 30, 100] {
            assert_chunked_reads_as_one(&open, &opts, chunk);
        }
    }

    #[test]
    fn a_chunked_parse_fails_as_one_reader_does() {
        let opts = CsvOptions { column_count: Some(3), ..columns(&[1], ",") };
        let body = b"# c\n192.0.2.1,2\n\n192.0.2.2,x,y,z\n";
        for chunk in 1..=body.len() {
            assert_chunked_reads_as_one(body, &opts, chunk);
        }
        let err = parse_chunked(body, &opts, None, 5).unwrap_err();
        assert!(matches!(err, ParseError::CsvSchema { line: 2, .. }), "{err}");
        let named =
            CsvOptions { header: true, value_columns: vec![name("ioc")], ..columns(&[], ",") };
        assert_chunked_reads_as_one(b"# x\n\nwhen,ip\n1,2\n", &named, 3);
    }

    /// One piece of a CSV body: values, words, quotes, delimiters and line ends, so that
    /// random bodies hold quoted fields spanning lines, escaped and stray quotes, comments,
    /// blank lines and rows of every width.
    fn csv_piece() -> impl proptest::strategy::Strategy<Value = &'static str> {
        proptest::sample::select(vec![
            "192.0.2.1",
            "198.51.100.7",
            "bad.example",
            "http://x.example/a?b=c",
            "ip-dst",
            "domain",
            "url",
            "sha256",
            "md5",
            "None",
            "0",
            "word",
            " ",
            "\t",
            ",",
            ",",
            ",",
            ";",
            ", ",
            "\"",
            "\"",
            "\"\"",
            "\n",
            "\n",
            "\n",
            "\r\n",
            "\r",
            "#",
            "# note\n",
            "ip",
            "type",
            "when",
            "2024-05-01",
            "\u{feff}",
            "é",
            "\u{0}",
        ])
    }

    proptest::proptest! {
        #[test]
        fn random_bodies_read_in_chunks_as_one_reader_reads_them(
            pieces in proptest::collection::vec(csv_piece(), 0..120),
            bom in proptest::prelude::any::<bool>(),
            layout in 0..6_usize,
            delimiter in proptest::sample::select(vec![",", ";", ", ", "\","]),
            header_lines in 0..2_usize,
            chunk in 1..48_usize,
        ) {
            let mut body = if bom { b"\xEF\xBB\xBF".to_vec() } else { Vec::new() };
            body.extend(pieces.iter().flat_map(|piece| piece.bytes()));
            let base = CsvOptions { header_lines, ..columns(&[], delimiter) };
            let opts = match layout {
                0 => base,
                1 => CsvOptions { value_columns: vec![Column::Number(1)], ..base },
                2 => CsvOptions { value_columns: vec![Column::Number(2)], column_count: Some(2), ..base },
                3 => CsvOptions { header: true, value_columns: vec![name("ip")], ..base },
                4 => CsvOptions {
                    header: true,
                    value_columns: vec![name("ip")],
                    type_column: Some(name("type")),
                    last_seen_column: Some(name("when")),
                    ..base
                },
                _ => CsvOptions { header: true, value_columns: vec![Column::Number(1)], ..base },
            };
            assert_chunked_reads_as_one(&body, &opts, chunk);
        }
    }
}
