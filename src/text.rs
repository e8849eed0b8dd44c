//! Text from feeds and definitions as messages show it.

/// `text` for a message or a log line: control characters escaped, so that it stays on one
/// line and a terminal never runs it, and cut after `max_chars` characters with `…`.
/// Everything else, the backslashes of a regular expression included, is kept as written.
///
/// ```
/// use feedsmith::text::shown;
/// assert_eq!(shown("a\nb", 80), "a\\nb");
/// assert_eq!(shown("abcdef", 3), "abc…");
/// ```
#[must_use]
pub fn shown(text: &str, max_chars: usize) -> String {
    let mut out = String::with_capacity(text.len().min(max_chars.saturating_mul(4)));
    for (count, c) in text.chars().enumerate() {
        if count == max_chars {
            out.push('…');
            break;
        }
        if c.is_control() {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

/// No limit for [`shown`]: the whole text.
pub const WHOLE: usize = usize::MAX;
