//! Free-text feeds: MISP's free-text import, read line by line.
//!
//! Tokens are found as MISP's `checkFreeText` finds them (`shared/misp/freetext.md` §3): the
//! text is split on white space, control and format characters, no-break space, `,`, `;`, `<`
//! and `>`; every non-empty `"…"` substring is also a candidate; each candidate is trimmed of
//! `'"().,` and white space, skipped if the feed's exclude pattern matches, and classified by
//! [`indicator::classify`]. Values are de-duplicated on the canonical indicator, the first
//! occurrence kept.
//!
//! Unlike MISP, the text is read one line at a time so that the report can count lines, and
//! (with `skip_comments`, the default) lines starting with `#`, `;` or `//` are comments, and a
//! trailing ` # …` or ` ; …` is cut off, as in Spamhaus DROP (`192.0.2.0/24 ; SBL123`). And a
//! word that starts with a URL scheme is cut at `,` or `;` only where another URL follows:
//! both are URL characters, and cutting there would publish a prefix of the URL.
//!
//! A feed that names victims beside the threats (`checking domain: shop.example --> INFECTED:
//! http://cdn.bad.example/x.js`) sets `context_regex`: each match is cut out of the line before
//! it is read, so the victim is no indicator, and a line left with nothing is a clean data line
//! ([`ParseStats::context_lines`]), not a rejection.
//!
//! A word that is not an indicator is not an error in prose: it is counted in
//! [`ParseStats::ignored_words`]. A line that yields neither an indicator nor a specific
//! rejection is rejected as a whole: with its only word's reason when it has one word, as
//! [`UNPARSED_LINE`](super::UNPARSED_LINE) otherwise.

use std::borrow::Cow;
use std::collections::HashSet;
use std::sync::LazyLock;

use regex::Regex;

use super::collect::{self, Collector, Taken};
use super::{ParseStats, ParsedFeed, UNPARSED_LINE, text};
use crate::config::FreetextOptions;
use crate::indicator::{self, RejectReason};

/// Splits text that is not ASCII: white space, controls, private-use and unassigned code
/// points (the ASCII separators are handled before). Unlike MISP, format characters
/// (zero-width space, soft hyphen) do not split a word: splitting `login<ZWSP>.example.com`
/// would publish `example.com`. The word stays whole and the classifier rejects it as
/// `hidden_character`.
static UNICODE_SEPARATORS: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"[\s\p{Cc}\p{Co}\p{Cn}\u{A0}]+").expect("the separator pattern is valid")
});

/// Reads a free-text body.
///
/// ```
/// use feedsmith::config::FreetextOptions;
/// use feedsmith::parse::freetext;
///
/// let feed = freetext::parse(b"; header\n192.0.2.1 ; SBL1\n", &FreetextOptions::default(), None);
/// assert_eq!(feed.stats.comments, 1);
/// assert_eq!(&*feed.records[0].indicator.value, "192.0.2.1");
/// ```
#[must_use]
pub fn parse(body: &[u8], opts: &FreetextOptions, exclude: Option<&Regex>) -> ParsedFeed {
    let mut stats = ParseStats::default();
    let body = text::strip_bom(body, &mut stats);
    let (collector, stats) = read_lines(body, opts, exclude, Collector::new(), stats);
    collector.finish(stats)
}

/// The size under which [`parse_parallel`] reads a body on one thread: splitting it would
/// cost more than it saves.
const PARALLEL_MIN_BYTES: usize = 1 << 20;

/// Reads a free-text body as [`parse`] does, on every thread of the rayon pool: the body is
/// cut into line-aligned chunks, each chunk is read on its own, and the chunks are merged in
/// input order.
///
/// The result equals [`parse`]'s: the same records in the same order, the same counts, and
/// the same rejection examples with the same line numbers. A free-text line is read without
/// looking at any other line, so only de-duplication spans chunks: it is done once the chunks
/// are read, over all of them, in parallel by the values' hashes.
///
/// ```
/// use feedsmith::config::FreetextOptions;
/// use feedsmith::parse::freetext;
///
/// let body = b"192.0.2.1\n192.0.2.1\nbad.example\n";
/// let opts = FreetextOptions::default();
/// let one = freetext::parse(body, &opts, None);
/// let many = freetext::parse_parallel(body, &opts, None);
/// assert_eq!(one.records, many.records);
/// assert_eq!(one.stats, many.stats);
/// ```
#[must_use]
pub fn parse_parallel(body: &[u8], opts: &FreetextOptions, exclude: Option<&Regex>) -> ParsedFeed {
    if body.len() < PARALLEL_MIN_BYTES || rayon::current_num_threads() < 2 {
        return parse(body, opts, exclude);
    }
    parse_chunked(body, opts, exclude, chunk_bytes(body.len()))
}

/// The size of the chunks a body of `len` bytes is read in on every thread: a few chunks per
/// thread, so that a thread that finishes early takes another.
fn chunk_bytes(len: usize) -> usize {
    len.div_ceil(rayon::current_num_threads() * 4).max(PARALLEL_MIN_BYTES / 4)
}

/// [`parse_parallel`] with chunks of about `chunk_bytes` (each one ends at a line end, so it
/// may be longer), whatever the body's size.
pub(crate) fn parse_chunked(
    body: &[u8],
    opts: &FreetextOptions,
    exclude: Option<&Regex>,
    chunk_bytes: usize,
) -> ParsedFeed {
    use rayon::prelude::*;

    let mut stats = ParseStats::default();
    let body = text::strip_bom(body, &mut stats);
    let chunks = text::line_chunks(body, chunk_bytes.max(1));
    // Each chunk keeps every value it accepts; `dedup_parts` then de-duplicates them all at
    // once, on every thread, as one collector over the whole body would.
    let parsed: Vec<(Collector, ParseStats)> = chunks
        .par_iter()
        .map(|chunk| {
            // Room for a value per line, which a list of values has.
            #[expect(clippy::naive_bytecount, reason = "a capacity hint, counted once per chunk")]
            let lines = chunk.iter().filter(|&&b| b == b'\n').count() + 1;
            read_lines(chunk, opts, exclude, Collector::keeping_all(lines), ParseStats::default())
        })
        .collect();
    let mut parts = Vec::with_capacity(parsed.len());
    for (collector, chunk_stats) in parsed {
        let offset = stats.lines;
        stats.absorb(chunk_stats, offset);
        parts.push(collector.finish(ParseStats::default()).records);
    }
    let records = collect::dedup_parts(parts, &mut stats);
    ParsedFeed { records, stats }
}

/// A free-text body of IPv4 addresses and networks, read as address intervals.
#[derive(Debug)]
pub struct Ipv4Intervals {
    /// Each distinct value's first and last address, sorted.
    pub intervals: Vec<(u32, u32)>,
    /// The counts [`parse_parallel`] gives for the same body.
    pub stats: ParseStats,
}

/// Reads a body of IPv4 addresses and networks without a record per value, for a writer that
/// only needs their addresses (an aggregated CIDR list of millions of lines).
///
/// Lines, comments, blank lines, accepted values and repeats are counted as
/// [`parse_parallel`] counts them, and the intervals are those of its records. Only bodies
/// whose every line is blank, a comment or one value in the form the parser writes
/// (`192.0.2.1`, `192.0.2.0/24`: no zero-padded octet, no host bit set, a prefix of /8 to /31)
/// are read this way: `None` for any other line (a defanged address, a trailing comment, a
/// domain), and for options under which such a line reads otherwise (comments kept as data,
/// a context pattern). The caller then parses the body in full.
#[must_use]
pub fn ipv4_intervals(body: &[u8], opts: &FreetextOptions) -> Option<Ipv4Intervals> {
    if !opts.skip_comments || opts.context.is_some() {
        return None;
    }
    ipv4_intervals_chunked(body, chunk_bytes(body.len()))
}

/// [`ipv4_intervals`] in chunks of about `chunk_bytes`.
fn ipv4_intervals_chunked(body: &[u8], chunk_bytes: usize) -> Option<Ipv4Intervals> {
    use rayon::prelude::*;

    let mut stats = ParseStats::default();
    let body = text::strip_bom(body, &mut stats);
    let chunks = text::line_chunks(body, chunk_bytes.max(1));
    let read: Option<Vec<(Vec<u64>, ParseStats)>> =
        chunks.par_iter().map(|chunk| chunk_intervals(chunk)).collect();
    let mut keys = Vec::new();
    for (part, part_stats) in read? {
        let offset = stats.lines;
        stats.absorb(part_stats, offset);
        keys.extend(part);
    }
    // Each interval as one integer, the first address in the high half: integers sort in
    // the intervals' order, faster than pairs.
    keys.par_sort_unstable();
    keys.dedup();
    stats.duplicates = stats.accepted - keys.len() as u64;
    #[expect(clippy::cast_possible_truncation, reason = "each half is one address")]
    let intervals = keys.par_iter().map(|&key| ((key >> 32) as u32, key as u32)).collect();
    Some(Ipv4Intervals { intervals, stats })
}

/// The intervals and counts of one chunk of lines; `None` at the first line that is not blank,
/// a comment or a canonical IPv4 value.
fn chunk_intervals(chunk: &[u8]) -> Option<(Vec<u64>, ParseStats)> {
    let mut stats = ParseStats::default();
    // About one value per 14 bytes, the length of an address and its newline.
    let mut intervals = Vec::with_capacity(chunk.len() / 14);
    for (_, line) in text::lines(chunk) {
        stats.lines += 1;
        if let Some((first, last)) = indicator::canonical_v4(line) {
            intervals.push(u64::from(first) << 32 | u64::from(last));
            stats.accepted += 1;
        } else if text::is_blank(line) {
            stats.blank += 1;
        } else if is_comment_line(line) {
            stats.comments += 1;
        } else {
            return None;
        }
    }
    Some((intervals, stats))
}

/// Reads the lines of `body` (its byte-order mark already removed) into `collector`,
/// counting in `stats`.
fn read_lines(
    body: &[u8],
    opts: &FreetextOptions,
    exclude: Option<&Regex>,
    collector: Collector,
    stats: ParseStats,
) -> (Collector, ParseStats) {
    let mut reader = Reader {
        collector,
        stats,
        exclude,
        opts: indicator::Options { strict_zero_padded: opts.strict_zero_padded },
    };
    for (number, line) in text::lines(body) {
        reader.stats.lines += 1;
        if text::is_blank(line) {
            reader.stats.blank += 1;
            continue;
        }
        let content = if opts.skip_comments {
            if is_comment_line(line) {
                reader.stats.comments += 1;
                continue;
            }
            cut_inline_comment(line)
        } else {
            line
        };
        match cut_context(content, opts.context.as_ref()) {
            Some((rest, cuts)) => {
                reader.stats.context += cuts;
                reader.read_line(number, rest.as_bytes(), true);
            }
            None => reader.read_line(number, content, false),
        }
    }
    let Reader { collector, stats, .. } = reader;
    (collector, stats)
}

/// Whether a line's first non-blank characters are `#`, `;` or `//`.
fn is_comment_line(line: &[u8]) -> bool {
    let start = line.iter().position(|b| !b.is_ascii_whitespace()).unwrap_or(line.len());
    let rest = &line[start..];
    rest.starts_with(b"#") || rest.starts_with(b";") || rest.starts_with(b"//")
}

/// The line up to a ` #` or ` ;` comment (white space before the marker).
fn cut_inline_comment(line: &[u8]) -> &[u8] {
    let cut =
        line.windows(2).position(|w| w[0].is_ascii_whitespace() && (w[1] == b'#' || w[1] == b';'));
    match cut {
        Some(at) => &line[..at],
        None => line,
    }
}

/// The line with every match of the context pattern replaced by a space, and the number of
/// matches; `None` when there is no pattern, no match, or the line is not UTF-8 (its words
/// are then rejected as such).
fn cut_context<'l>(line: &'l [u8], context: Option<&Regex>) -> Option<(Cow<'l, str>, u64)> {
    let context = context?;
    let line = std::str::from_utf8(line).ok()?;
    let cuts = context.find_iter(line).count() as u64;
    (cuts > 0).then(|| (context.replace_all(line, " "), cuts))
}

/// The ASCII bytes that always separate words: white space and other controls, `<` and `>`
/// (which no URL, name or address holds).
fn is_word_break(b: u8) -> bool {
    b.is_ascii_control() || matches!(b, b' ' | b'<' | b'>')
}

/// The items of a word separated by `,` or `;`, as MISP separates them; except that in a word
/// that starts with a URL scheme, both are URL characters (RFC 3986 sub-delimiters, and the
/// `;` of `&amp;` in a copied query string), and cut only where the next item is a URL too.
/// Cutting a URL there would publish a prefix of it: `…?a=1&amp` from `…?a=1&amp;b=2…`.
fn list_items(word: &str) -> impl Iterator<Item = &str> {
    let in_url = starts_with_scheme(word.trim_start_matches(is_trimmed));
    let mut rest = Some(word);
    std::iter::from_fn(move || {
        let text = rest?;
        let mut from = 0;
        loop {
            let Some(at) = text[from..].find([',', ';']).map(|i| i + from) else {
                rest = None;
                return Some(text);
            };
            let after = &text[at + 1..];
            if !in_url || starts_with_scheme(after.trim_start_matches(is_trimmed)) {
                rest = Some(after);
                return Some(&text[..at]);
            }
            from = at + 1;
        }
    })
}

/// Whether text starts with a URL scheme and `://`, plain or defanged (`hxxp://`,
/// `h[tt]ps://`, `hxxp[:]//`, `http[://]`).
fn starts_with_scheme(text: &str) -> bool {
    let head = &text.as_bytes()[..text.len().min(24)];
    if !head.first().is_some_and(u8::is_ascii_alphabetic) {
        return false;
    }
    for at in 1..head.len() {
        let rest = &head[at..];
        if rest.starts_with(b"://") || rest.starts_with(b"[:]//") || rest.starts_with(b"[://]") {
            return true;
        }
        let b = head[at];
        if !(b.is_ascii_alphanumeric() || matches!(b, b'+' | b'.' | b'-' | b'[' | b']')) {
            return false;
        }
    }
    false
}

/// The characters MISP trims from both ends of a candidate.
fn is_trimmed(c: char) -> bool {
    matches!(c, '\'' | '"' | '.' | ',' | '(' | ')' | ' ' | '\t' | '\n' | '\r' | '\0' | '\x0B')
}

///
/// One departure from MISP: dots right next to the value are given back, so that the
/// classifier sees `host.example.` (one root dot, removed with a warning), `host.example..`
/// (an empty label, rejected) and `.` (only the root, rejected) as they were written (bug
/// case 08), and `.example.com` as the broken name it is. Trimming that leading dot is how
/// MISP turns `login<LINE SEPARATOR>.microsoft.com`, split at the separator, into
/// `microsoft.com`: a blocklist entry for the parent domain that no feed listed. A dot on the
/// far side of other trimmed punctuation, as in `(192.0.2.1).`, still goes.
fn trim(token: &str) -> &str {
    let core = token.trim_matches(is_trimmed);
    if core.is_empty() {
        return if !token.is_empty() && token.bytes().all(|b| b == b'.') { token } else { core };
    }
    // `core` is a sub-slice of `token`: find where it is and take the dots on either side.
    let start = token.len() - token.trim_start_matches(is_trimmed).len();
    let end = start + core.len();
    let before = token[..start].bytes().rev().take_while(|&b| b == b'.').count();
    let after = token[end..].bytes().take_while(|&b| b == b'.').count();
    &token[start - before..end + after]
}

/// What the tokens of one line gave.
#[derive(Default)]
struct LineTally {
    candidates: u64,
    accepted: u64,
    specific: u64,
    excluded: u64,
    unrecognized: u64,
}

struct Reader<'r> {
    collector: Collector,
    stats: ParseStats,
    exclude: Option<&'r Regex>,
    opts: indicator::Options,
}

impl Reader<'_> {
    /// Reads one line; `had_context` says that context was cut out of it, so that a line
    /// left without an indicator is a clean data line rather than an unparsed one.
    fn read_line(&mut self, number: u64, line: &[u8], had_context: bool) {
        let mut tally = LineTally::default();
        let mut last_unrecognized: Option<&str> = None;
        let has_quote = line.contains(&b'"');
        let mut seen: HashSet<&str> = HashSet::new();

        for piece in line.split(|&b| is_word_break(b)) {
            if piece.is_empty() {
                continue;
            }
            let Ok(piece) = std::str::from_utf8(piece) else {
                tally.specific += 1;
                self.stats.reject(RejectReason::NonUtf8, number, &text::lossy(piece));
                continue;
            };
            let mut word = |word| {
                for item in list_items(word) {
                    self.candidate(number, trim(item), &mut tally, &mut last_unrecognized);
                    if has_quote {
                        seen.insert(trim(item));
                    }
                }
            };
            if piece.is_ascii() {
                word(piece);
            } else {
                UNICODE_SEPARATORS.split(piece).for_each(word);
            }
        }

        // MISP also tries every "quoted substring" whole, so that a quoted value with spaces
        // is a candidate. One that is already a token would only count as a duplicate.
        if has_quote && let Ok(line) = std::str::from_utf8(line) {
            for quoted in quoted_substrings(line) {
                let candidate = trim(quoted);
                if !seen.contains(candidate) {
                    seen.insert(candidate);
                    self.candidate(number, candidate, &mut tally, &mut last_unrecognized);
                }
            }
        }

        if tally.accepted > 0 || tally.specific > 0 || tally.excluded > 0 {
            self.stats.ignored_words += tally.unrecognized;
        } else if had_context {
            self.stats.context_lines += 1;
            self.stats.ignored_words += tally.unrecognized;
        } else if let (1, Some(token)) = (tally.candidates, last_unrecognized) {
            self.stats.reject(RejectReason::Unrecognized, number, token);
        } else {
            self.stats.reject_with(UNPARSED_LINE, number, || text::lossy(line).into_owned());
        }
    }

    fn candidate<'t>(
        &mut self,
        number: u64,
        candidate: &'t str,
        tally: &mut LineTally,
        last_unrecognized: &mut Option<&'t str>,
    ) {
        if candidate.is_empty() {
            return;
        }
        tally.candidates += 1;
        match self.collector.take(candidate, self.exclude, self.opts, &mut self.stats) {
            Taken::Excluded => tally.excluded += 1,
            Taken::Accepted => tally.accepted += 1,
            Taken::Rejected(RejectReason::Unrecognized) => {
                tally.unrecognized += 1;
                *last_unrecognized = Some(candidate);
            }
            Taken::Rejected(reason) => {
                tally.specific += 1;
                self.stats.reject(reason, number, candidate);
            }
        }
    }
}

/// Every non-empty `"…"` substring without an inner quote, left to right, as PCRE's
/// `/"([^"]+)"/` finds them.
fn quoted_substrings(line: &str) -> impl Iterator<Item = &str> {
    let mut rest = line;
    std::iter::from_fn(move || {
        loop {
            let open = rest.find('"')?;
            let after = &rest[open + 1..];
            let close = after.find('"')?;
            if close == 0 {
                // `""`: the second quote may open the next match.
                rest = after;
                continue;
            }
            rest = &after[close + 1..];
            return Some(&after[..close]);
        }
    })
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::indicator::{AttrType, Indicator};
    use crate::parse::MAX_EXAMPLES;

    fn read(body: &[u8]) -> ParsedFeed {
        parse(body, &FreetextOptions::default(), None)
    }

    fn misp_mode() -> FreetextOptions {
        FreetextOptions { skip_comments: false, ..FreetextOptions::default() }
    }

    fn values(feed: &ParsedFeed) -> Vec<&str> {
        feed.records.iter().map(|r| &*r.indicator.value).collect()
    }

    // Bug case 03 (pi-hole/FTL#2703): a BOM, CRLF lines, a comment, no final newline.
    #[test]
    fn bom_crlf_and_missing_final_newline_give_three_ips_and_no_rejects() {
        let feed = read(include_bytes!("../../tests/fixtures/bugcases/03-utf8-bom/list.txt"));
        assert_eq!(values(&feed), ["198.51.100.1", "198.51.100.2", "198.51.100.3"]);
        assert_eq!(feed.stats.lines, 4);
        assert_eq!(feed.stats.accepted, 3);
        assert_eq!(feed.stats.comments, 1);
        assert_eq!(feed.stats.rejected_total(), 0);
        assert!(feed.stats.bom);
    }

    // Bug case 14 (certtools/intelmq#992): bare `run started: …` lines among the data.
    #[test]
    fn metadata_lines_without_comment_marker_are_counted_as_unparsed_and_yield_nothing() {
        let feed = read(include_bytes!(
            "../../tests/fixtures/bugcases/14-uncommented-metadata-lines/infected-sites.txt"
        ));
        assert_eq!(feed.stats.lines, 7);
        assert_eq!(feed.stats.comments, 2);
        let unparsed = &feed.stats.rejected[UNPARSED_LINE];
        assert_eq!(unparsed.count, 2);
        assert_eq!(unparsed.examples[0].line, 3);
        assert_eq!(unparsed.examples[1].line, 7);
        assert_eq!(feed.stats.rejected_total(), 2);
        let values = values(&feed);
        for malicious in [
            "http://cdn.bad.example/x.js",
            "cdn.bad.example",
            "http://198.51.100.66/j.php",
            "198.51.100.66",
        ] {
            assert!(values.contains(&malicious), "{malicious} missing from {values:?}");
        }
        for noise in ["run", "Mon", "00:00:01", "2024"] {
            assert!(!values.contains(&noise), "{noise} taken as an indicator");
        }
    }

    // Bug case 14, as its expected.md asks: victims are context, not indicators, and the
    // clean site's line is a data line that gave nothing.
    #[test]
    fn metadata_lines_are_unparsed_and_victims_cut_as_context() {
        let opts = FreetextOptions {
            context: Some(Regex::new(r"checking domain: \S+").unwrap()),
            ..FreetextOptions::default()
        };
        let feed = parse(
            include_bytes!(
                "../../tests/fixtures/bugcases/14-uncommented-metadata-lines/infected-sites.txt"
            ),
            &opts,
            None,
        );
        assert_eq!(
            values(&feed),
            [
                "http://cdn.bad.example/x.js",
                "cdn.bad.example",
                "http://198.51.100.66/j.php",
                "198.51.100.66"
            ]
        );
        assert_eq!(feed.stats.lines, 7);
        assert_eq!(feed.stats.comments, 2);
        assert_eq!(feed.stats.rejected_count(UNPARSED_LINE), 2);
        assert_eq!(feed.stats.rejected_total(), 2);
        assert_eq!(feed.stats.context, 3);
        assert_eq!(feed.stats.context_lines, 1);
    }

    #[test]
    fn context_is_cut_only_where_the_pattern_matches() {
        let opts = FreetextOptions {
            context: Some(Regex::new(r"victim: \S+").unwrap()),
            ..FreetextOptions::default()
        };
        let body = b"victim: a.example c2: b.example\nc.example\nvictim: d.example --> OK\nok\n";
        let feed = parse(body, &opts, None);
        assert_eq!(values(&feed), ["b.example", "c.example"]);
        assert_eq!(feed.stats.context, 2);
        assert_eq!(feed.stats.context_lines, 1);
        assert_eq!(feed.stats.rejected_count("unrecognized"), 1, "`ok` has no context cut");
    }

    // Spamhaus DROP: `;` comments, `CIDR ; SBLnnn` data, CRLF. Counted with
    // `grep -c '^;'` (5 comment lines) and `grep -vc '^;'` (1,360 data lines); the CIDRs were
    // checked with Python's `ipaddress` to have no host bits set and no duplicates.
    #[test]
    fn spamhaus_drop_gives_every_cidr_and_ignores_the_sbl_comments() {
        let feed = read(include_bytes!("../../tests/fixtures/parse/spamhaus_drop.txt"));
        assert_eq!(feed.stats.lines, 1365);
        assert_eq!(feed.stats.comments, 5);
        assert_eq!(feed.records.len(), 1360);
        assert_eq!(feed.stats.duplicates, 0);
        assert_eq!(feed.stats.rejected_total(), 0);
        assert_eq!(feed.stats.ignored_words, 0);
        assert_eq!(feed.records[0].indicator, Indicator::new(AttrType::IpDst, "1.10.16.0/20"));
    }

    // FireHOL level 1, first 100 lines (`head -100`): 33 `#` lines (`grep -c '^#'`), then 32
    // CIDRs and 35 bare addresses, all distinct (checked with Python's `ipaddress`).
    #[test]
    fn firehol_head_gives_every_address_and_network() {
        let feed = read(include_bytes!("../../tests/fixtures/parse/firehol_level1_head.netset"));
        assert_eq!(feed.stats.lines, 100);
        assert_eq!(feed.stats.comments, 33);
        assert_eq!(feed.records.len(), 67);
        assert_eq!(feed.stats.rejected_total(), 0);
        assert_eq!(values(&feed)[..3], ["0.0.0.0/8", "1.10.16.0/20", "1.19.0.0/16"]);
    }

    // MISP's own free-text test (freetext.md §7): header words yield nothing, five addresses.
    #[test]
    fn misp_separators_and_trimming_give_five_addresses() {
        let body = b"# LAST 1000 # UTC UPDATE 2020-07-13 08:15:00\n\
                     127.0.0.1,(127.0.0.2),  <127.0.0.3>; \"127.0.0.4\" \"'127.0.0.5'\"";
        let feed = parse(body, &misp_mode(), None);
        assert_eq!(
            values(&feed),
            ["127.0.0.1", "127.0.0.2", "127.0.0.3", "127.0.0.4", "127.0.0.5"]
        );
        assert_eq!(feed.stats.duplicates, 0, "quoted values already seen are not tried twice");
        assert_eq!(feed.stats.rejected_count(UNPARSED_LINE), 1);
    }

    #[test]
    fn no_break_space_and_control_characters_separate_tokens() {
        let feed =
            read("127.0.0.1\u{A0}127.0.0.2\u{1D}127.0.0.3 127.0.0.4\u{200B}127.0.0.5".as_bytes());
        assert_eq!(values(&feed), ["127.0.0.1", "127.0.0.2", "127.0.0.3"]);
        // A zero-width space is not a separator (MISP splits there): the word holding it is
        // rejected whole.
        assert_eq!(feed.stats.rejected["hidden_character"].count, 1);
    }

    #[test]
    fn repeated_values_are_counted_as_duplicates_and_kept_once() {
        let feed = read(b"192.0.2.1 192.0.2.1\n192.0.2.2\n192.0.2.1\n");
        assert_eq!(values(&feed), ["192.0.2.1", "192.0.2.2"]);
        assert_eq!(feed.stats.accepted, 4);
        assert_eq!(feed.stats.duplicates, 2);
    }

    #[test]
    fn comment_lines_and_trailing_comments_are_skipped() {
        let body = b"# a.example\n; b.example\n// c.example\n  # d.example\n\
                     192.0.2.0/24 ; SBL123 e.example\n192.0.2.9 # f.example\n\
                     http://g.example/#frag\n\n   \n";
        let feed = read(body);
        assert_eq!(values(&feed), ["192.0.2.0/24", "192.0.2.9", "http://g.example/#frag"]);
        assert_eq!(feed.stats.comments, 4);
        assert_eq!(feed.stats.blank, 2);
        assert_eq!(feed.stats.lines, 9);
    }

    #[test]
    fn without_skip_comments_comment_lines_are_read_as_misp_reads_them() {
        let feed = parse(b"# seen at bad.example\n", &misp_mode(), None);
        assert_eq!(values(&feed), ["bad.example"]);
        assert_eq!(feed.stats.comments, 0);
        assert_eq!(feed.stats.ignored_words, 3);
    }

    #[test]
    fn a_line_that_is_not_utf8_is_rejected_and_the_others_are_read() {
        let feed = read(b"192.0.2.1\nbad\xff.example\n192.0.2.2");
        assert_eq!(values(&feed), ["192.0.2.1", "192.0.2.2"]);
        let rejected = &feed.stats.rejected["non_utf8"];
        assert_eq!(rejected.count, 1);
        assert_eq!(rejected.examples[0].line, 2);
        assert_eq!(rejected.examples[0].text, "bad\u{FFFD}.example");
    }

    #[test]
    fn a_single_bad_token_is_rejected_with_its_own_reason() {
        let feed = read(b"qwertyuiop\n192.0.2.1/4\n");
        assert_eq!(feed.stats.rejected_count("unrecognized"), 1);
        assert_eq!(feed.stats.rejected["unrecognized"].examples[0].text, "qwertyuiop");
        assert_eq!(feed.stats.rejected_count(UNPARSED_LINE), 0);
        assert_eq!(feed.stats.rejected_total(), 2);
        assert!(feed.records.is_empty());
    }

    #[test]
    fn excluded_candidates_are_counted_not_rejected() {
        let exclude = Regex::new(r"^192\.0\.2\.").unwrap();
        let feed = parse(b"192.0.2.1\n198.51.100.1\n", &FreetextOptions::default(), Some(&exclude));
        assert_eq!(values(&feed), ["198.51.100.1"]);
        assert_eq!(feed.stats.excluded, 1);
        assert_eq!(feed.stats.rejected_total(), 0);
    }

    #[test]
    fn commas_and_semicolons_separate_items_but_not_the_parts_of_a_url() {
        let items = |word| list_items(word).collect::<Vec<_>>();
        assert_eq!(items("a.example,b.example;c.example"), ["a.example", "b.example", "c.example"]);
        assert_eq!(
            items("https://x.example/a?b=1&amp;c=2,d"),
            ["https://x.example/a?b=1&amp;c=2,d"]
        );
        assert_eq!(
            items("http://a.example/x,http://b.example/y;hxxps://c[.]example"),
            ["http://a.example/x", "http://b.example/y", "hxxps://c[.]example"]
        );
        assert_eq!(items("\"hxxp[:]//a[.]example/x;y\","), ["\"hxxp[:]//a[.]example/x;y\","]);
        assert_eq!(items("(http://a.example/),(b.example)"), ["(http://a.example/),(b.example)"]);
        assert_eq!(items(""), [""]);
        assert!(starts_with_scheme("h[tt]ps://x") && starts_with_scheme("http[://]x"));
        assert!(!starts_with_scheme("1http://x") && !starts_with_scheme("mailto:a@b"));
    }

    // criticalpathsecurity/AtomSpam.txt: a truncated URL whose query holds `&amp;` gave the
    // prefix before the `;` as a URL of its own.
    #[test]
    fn a_truncated_url_with_an_escaped_ampersand_gives_no_prefix_of_itself() {
        let feed = read("https://h.example/p.php?_do=layout&amp;email=…\n".as_bytes());
        assert!(feed.records.is_empty(), "{:?}", values(&feed));
        assert_eq!(feed.stats.rejected_count("truncated"), 1);
        let feed = read(b"https://h.example/a,b;c/ see also http://i.example/x, and more\n");
        assert_eq!(values(&feed), ["https://h.example/a,b;c/", "http://i.example/x"]);
    }

    #[test]
    fn quoted_substrings_follow_pcre_left_to_right_matching() {
        let found: Vec<_> = quoted_substrings(r#"a "b c" d ""e" "f"#).collect();
        assert_eq!(found, ["b c", "e"]);
        assert_eq!(quoted_substrings(r#""x""y""#).collect::<Vec<_>>(), ["x", "y"]);
    }

    #[test]
    fn an_empty_body_gives_nothing() {
        let feed = read(b"");
        assert!(feed.records.is_empty());
        assert_eq!(feed.stats, ParseStats::default());
    }

    #[test]
    fn dots_right_after_a_value_reach_the_classifier() {
        assert_eq!(trim("host.example.."), "host.example..");
        assert_eq!(trim("(192.0.2.1)."), "192.0.2.1");
        assert_eq!(trim("\"c2.bad.example.\","), "c2.bad.example.");
        assert_eq!(trim("."), ".");
        assert_eq!(trim("'..'"), "");
    }

    #[test]
    fn a_separator_before_a_dot_never_gives_the_parent_domain() {
        // Each of these splits `login?.microsoft.com` into `login` and `.microsoft.com`; MISP
        // trims the dot and lists `microsoft.com`, which the feed never named.
        for separator in ['\u{2028}', '\u{2029}', '\u{85}', '\u{A0}', '\u{E000}', '\x01', ' '] {
            let body = format!("login{separator}.microsoft.com\n");
            let feed = read(body.as_bytes());
            assert!(values(&feed).is_empty(), "{separator:?} gave {:?}", values(&feed));
            assert_eq!(
                feed.stats.rejected_count("empty_label"),
                1,
                "{separator:?}: {:?}",
                feed.stats
            );
        }
        for line in [".microsoft.com", "..microsoft.com", "(.microsoft.com)"] {
            let feed = read(format!("{line}\n").as_bytes());
            assert!(values(&feed).is_empty(), "{line} gave {:?}", values(&feed));
            assert_eq!(feed.stats.rejected_count("empty_label"), 1, "{line}");
        }
        // Other punctuation before the value is still trimmed as MISP trims it.
        assert_eq!(values(&read(b"('c2.example')\n")), ["c2.example"]);
    }

    #[test]
    fn format_characters_do_not_split_a_word_into_a_parent_domain() {
        let feed = parse(
            "login\u{200b}.microsoft.com\nphish\u{ad}.paypal.com\n".as_bytes(),
            &FreetextOptions::default(),
            None,
        );
        assert!(feed.records.is_empty(), "{:?}", feed.records);
        assert_eq!(feed.stats.rejected["hidden_character"].count, 2);
    }

    /// A body with a byte-order mark, CRLF and LF lines, comment lines and trailing
    /// comments, blank lines, values repeated far apart (across any chunk boundary), more
    /// rejections of one reason than a report keeps examples of, a line that is not UTF-8,
    /// a defanged value (a warning) and no final newline.
    fn mixed_body() -> Vec<u8> {
        let mut body = b"\xEF\xBB\xBF# list\r\n".to_vec();
        for i in 0..80 {
            let line = match i % 8 {
                0 => format!("198.51.100.{}\r\n", i % 5),
                1 => format!("bad{}.example ; comment\n", i % 3),
                2 => "\n".to_owned(),
                3 => format!("not-a-value-{i}\n"),
                4 => format!("hxxp://c2[.]example/{}\n", i % 2),
                5 => "; comment\r\n".to_owned(),
                6 => format!("203.0.113.0/24, 192.0.2.{i}\n"),
                _ => format!("word and words {i}\n"),
            };
            body.extend_from_slice(line.as_bytes());
        }
        body.extend_from_slice(b"\xFF\xFE.example\n198.51.100.1");
        body
    }

    #[test]
    fn a_chunked_parse_equals_the_single_threaded_parse_at_every_chunk_size() {
        let body = mixed_body();
        let opts = FreetextOptions::default();
        let whole = parse(&body, &opts, None);
        // The body is what the test means it to be: a value of each kind, repeats, and more
        // rejections than examples.
        assert!(whole.stats.bom);
        assert!(whole.stats.duplicates > 0);
        assert!(whole.stats.rejected_count(UNPARSED_LINE) > MAX_EXAMPLES as u64);
        assert_eq!(whole.stats.rejected_count("non_utf8"), 1);
        for size in 1..=body.len() + 1 {
            let chunked = parse_chunked(&body, &opts, None, size);
            assert_eq!(chunked.records, whole.records, "chunks of {size} bytes");
            assert_eq!(chunked.stats, whole.stats, "chunks of {size} bytes");
        }
    }

    #[test]
    fn a_chunked_parse_counts_lines_as_the_body_has_them() {
        // Computed by hand: 3 lines (the BOM line, a CRLF line, a last line without a newline),
        // one comment, two values of which one repeats across the chunk boundary.
        let body = b"\xEF\xBB\xBF# c\n192.0.2.1\r\n192.0.2.1";
        let feed = parse_chunked(body, &FreetextOptions::default(), None, 8);
        assert_eq!(feed.stats.lines, 3);
        assert_eq!(feed.stats.comments, 1);
        assert_eq!((feed.stats.accepted, feed.stats.duplicates), (2, 1));
        assert_eq!(values(&feed), ["192.0.2.1"]);
    }

    /// A line of an address list, and whether it is one [`ipv4_intervals`] reads itself.
    fn ipv4_line() -> impl Strategy<Value = (String, bool)> {
        let address = any::<u32>().prop_map(|a| (std::net::Ipv4Addr::from(a).to_string(), true));
        let network = (any::<u32>(), 8u32..=31).prop_map(|(a, len)| {
            let masked = a & !(u32::MAX >> len);
            (format!("{}/{len}", std::net::Ipv4Addr::from(masked)), true)
        });
        // Lines the full parse reads otherwise than as written, or not as one address.
        let other = prop_oneof![
            any::<u32>().prop_map(|a| format!("{}/32", std::net::Ipv4Addr::from(a))),
            (any::<u32>(), 8u32..=31)
                .prop_map(|(a, len)| { format!("{}/{len}", std::net::Ipv4Addr::from(a | 1)) }),
            (0u8..=9, any::<u8>()).prop_map(|(a, b)| format!("0{a}.1.2.{b}")),
            any::<u8>().prop_map(|a| format!("198.51.100[.]{a}")),
            any::<u8>().prop_map(|a| format!("192.0.2.{a} # scanner")),
            any::<u8>().prop_map(|a| format!(" 192.0.2.{a}")),
            Just("10.0.0.0/7".to_owned()),
            Just("256.1.1.1".to_owned()),
            Just("1.2.3".to_owned()),
            Just("bad.example".to_owned()),
        ]
        .prop_map(|line| (line, false));
        let skipped = prop_oneof![
            Just("# generated".to_owned()),
            Just("; comment".to_owned()),
            Just("// comment".to_owned()),
            Just(String::new()),
            Just(" \t".to_owned()),
        ]
        .prop_map(|line| (line, true));
        prop_oneof![4 => address, 2 => network, 1 => skipped, 1 => other]
    }

    proptest! {
        #[test]
        fn an_address_list_read_as_intervals_gives_the_counts_and_addresses_of_a_full_parse(
            lines in proptest::collection::vec(ipv4_line(), 0..60),
            repeats in proptest::collection::vec(any::<prop::sample::Index>(), 0..10),
            crlf in any::<bool>(),
            chunk in 1usize..200,
        ) {
            let mut lines = lines;
            for index in &repeats {
                if !lines.is_empty() {
                    let line = lines[index.index(lines.len())].clone();
                    lines.push(line);
                }
            }
            let end = if crlf { "\r\n" } else { "\n" };
            let body: String = lines.iter().flat_map(|(line, _)| [line.as_str(), end]).collect();
            let full = parse(body.as_bytes(), &FreetextOptions::default(), None);
            let read = ipv4_intervals_chunked(body.as_bytes(), chunk);
            let readable = lines.iter().all(|(_, own)| *own);
            prop_assert_eq!(read.is_some(), readable);
            let Some(read) = read else { return Ok(()) };
            prop_assert_eq!(&read.stats, &full.stats);
            // The records' networks, read by `ipnet`, as intervals.
            let mut expected: Vec<(u32, u32)> = full
                .records
                .iter()
                .map(|record| {
                    let net: ipnet::Ipv4Net = match record.indicator.value.parse() {
                        Ok(net) => net,
                        Err(_) => ipnet::Ipv4Net::from(
                            record.indicator.value.parse::<std::net::Ipv4Addr>().unwrap(),
                        ),
                    };
                    (u32::from(net.network()), u32::from(net.broadcast()))
                })
                .collect();
            expected.sort_unstable();
            prop_assert_eq!(read.intervals, expected);
        }
    }

    #[test]
    fn a_list_read_as_intervals_is_refused_under_options_that_read_its_lines_otherwise() {
        let body = b"# header\n192.0.2.1\n";
        assert!(ipv4_intervals(body, &FreetextOptions::default()).is_some());
        let keep_comments = FreetextOptions { skip_comments: false, ..FreetextOptions::default() };
        assert!(ipv4_intervals(body, &keep_comments).is_none());
        let context = FreetextOptions {
            context: Some(Regex::new("victim").unwrap()),
            ..FreetextOptions::default()
        };
        assert!(ipv4_intervals(body, &context).is_none());
    }
}
