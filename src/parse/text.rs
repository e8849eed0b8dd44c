//! Bytes to lines, shared by the text formats.
//!
//! A feed body is bytes, not text: it may start with a UTF-8 byte-order mark, use CRLF or LF
//! line ends, miss its final newline, or hold a line in another encoding. This module removes
//! one byte-order mark, splits lines on `\n` and drops the `\r` before it. It never converts
//! bytes lossily into a value; [`lossy`] exists only to write rejection examples.

use std::borrow::Cow;

use super::ParseStats;

/// The UTF-8 encoding of U+FEFF.
const BOM: &[u8] = b"\xEF\xBB\xBF";

/// Removes one UTF-8 byte-order mark from the start of `body`, noting it in `stats`.
pub(crate) fn strip_bom<'a>(body: &'a [u8], stats: &mut ParseStats) -> &'a [u8] {
    match body.strip_prefix(BOM) {
        Some(rest) => {
            stats.bom = true;
            rest
        }
        None => body,
    }
}

/// The lines of `body` with their 1-based numbers, without `\n` and without a `\r` before it.
///
/// A final line without a newline is still a line; the empty text after a final newline is not.
pub(crate) fn lines(body: &[u8]) -> Lines<'_> {
    Lines { rest: body, number: 0 }
}

/// Iterator returned by [`lines`].
pub(crate) struct Lines<'a> {
    rest: &'a [u8],
    number: u64,
}

impl<'a> Iterator for Lines<'a> {
    type Item = (u64, &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        if self.rest.is_empty() {
            return None;
        }
        let (line, rest) = match self.rest.iter().position(|&b| b == b'\n') {
            Some(end) => (&self.rest[..end], &self.rest[end + 1..]),
            None => (self.rest, &[][..]),
        };
        self.rest = rest;
        self.number += 1;
        Some((self.number, line.strip_suffix(b"\r").unwrap_or(line)))
    }
}

/// `body` cut into pieces of about `size` bytes, each ending just after a `\n` (the last one
/// at the end of the body), so that every line, its `\r` included, lies in one piece and
/// [`lines`] over the pieces in order gives the lines of the whole body.
pub(crate) fn line_chunks(body: &[u8], size: usize) -> Vec<&[u8]> {
    let mut chunks = Vec::with_capacity(body.len() / size.max(1) + 1);
    let mut rest = body;
    while !rest.is_empty() {
        let end = match rest.get(size..).and_then(|after| after.iter().position(|&b| b == b'\n')) {
            Some(at) => size + at + 1,
            None => rest.len(),
        };
        let (chunk, after) = rest.split_at(end);
        chunks.push(chunk);
        rest = after;
    }
    chunks
}

/// Whether a line holds only ASCII white space.
pub(crate) fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

/// `bytes` as text for a rejection example, with invalid sequences replaced.
pub(crate) fn lossy(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn collect(body: &[u8]) -> Vec<(u64, &[u8])> {
        lines(body).collect()
    }

    #[test]
    fn splits_crlf_and_lf_lines_and_keeps_a_last_line_without_newline() {
        assert_eq!(collect(b"a\r\nb\nc"), vec![(1, &b"a"[..]), (2, &b"b"[..]), (3, &b"c"[..])]);
    }

    #[test]
    fn a_final_newline_does_not_make_an_extra_line() {
        assert_eq!(collect(b"a\n\n"), vec![(1, &b"a"[..]), (2, &b""[..])]);
        assert!(collect(b"").is_empty());
    }

    #[test]
    fn strips_exactly_one_bom_and_notes_it() {
        let mut stats = ParseStats::default();
        assert_eq!(strip_bom(b"\xEF\xBB\xBF\xEF\xBB\xBFx", &mut stats), b"\xEF\xBB\xBFx");
        assert!(stats.bom);
        let mut stats = ParseStats::default();
        assert_eq!(strip_bom(b"x", &mut stats), b"x");
        assert!(!stats.bom);
    }

    #[test]
    fn line_chunks_end_at_line_ends_and_give_the_same_lines() {
        let body = b"one\r\ntwo\nthree\n\nfour";
        for size in 1..body.len() + 2 {
            let chunks = line_chunks(body, size);
            assert_eq!(chunks.concat(), body, "size {size}");
            for chunk in &chunks[..chunks.len() - 1] {
                assert_eq!(chunk.last(), Some(&b'\n'), "size {size}");
            }
            let whole: Vec<&[u8]> = lines(body).map(|(_, l)| l).collect();
            let pieces: Vec<&[u8]> = chunks.iter().flat_map(|c| lines(c).map(|(_, l)| l)).collect();
            assert_eq!(pieces, whole, "size {size}");
        }
        assert!(line_chunks(b"", 4).is_empty());
    }

    #[test]
    fn a_lone_carriage_return_inside_a_line_is_kept() {
        assert_eq!(collect(b"a\rb\r\n"), vec![(1, &b"a\rb"[..])]);
    }
}
