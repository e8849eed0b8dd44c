//! Text from feeds and definitions as messages show it.

/// `text` for a message or a log line: control characters escaped, so that it stays on one
/// line and a terminal never runs it, invisible ones too (format characters such as a
/// right-to-left override or a zero-width space, and the line and paragraph separators), so
/// that it reads as what it holds, and cut after `max_chars` characters with `…`.
/// Everything else, the backslashes of a regular expression included, is kept as written.
///
/// ```
/// use feedsmith::text::shown;
/// assert_eq!(shown("a\nb", 80), "a\\nb");
/// assert_eq!(shown("a\u{202e}b", 80), "a\\u{202e}b");
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
        } else if is_invisible(c) {
            out.extend(c.escape_unicode());
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `c` is a character that shows nothing, or moves what follows, without being a
/// control character: what the standard library's debug escaping calls non-printable
/// (format characters, separators other than the space, unassigned code points), and the
/// Hangul fillers, letters that are drawn blank. A combining mark is printable: it is asked
/// about after a letter, as it stands in a word.
pub(crate) fn is_invisible(c: char) -> bool {
    if c.is_ascii() {
        return false;
    }
    let mut pair = [0_u8; 5];
    pair[0] = b'a';
    let written = c.encode_utf8(&mut pair[1..]).len();
    let escaped = std::str::from_utf8(&pair[..=written])
        .is_ok_and(|pair| pair.escape_debug().nth(2).is_some());
    escaped || matches!(c, '\u{115f}' | '\u{1160}' | '\u{3164}' | '\u{ffa0}')
}

/// No limit for [`shown`]: the whole text.
pub const WHOLE: usize = usize::MAX;

/// The pattern of a regular expression written as MISP writes them: PHP's delimited
/// `/pattern/flags` becomes `(?flags)pattern`; anything else is a bare pattern, taken as it
/// is. The flags `i`, `m`, `s`, `x` and `U` carry over; `u` (Unicode, which Rust regexes
/// always are) is dropped. The error names an unknown flag, or an empty pattern, which would
/// match every value.
pub fn php_pattern(raw: &str) -> Result<String, String> {
    let Some((body, flags)) = raw.strip_prefix('/').and_then(|rest| rest.rsplit_once('/')) else {
        if raw.is_empty() {
            return Err("is an empty pattern, which would match every value".to_owned());
        }
        return Ok(raw.to_owned());
    };
    let mut inline = String::new();
    for flag in flags.chars() {
        match flag {
            'i' | 'm' | 's' | 'x' | 'U' => inline.push(flag),
            'u' => {}
            other => {
                return Err(format!(
                    "has the unknown flag `{}` after its closing `/` (accepted: `i`, `m`, `s`, \
                     `x`, `U`, `u`)",
                    other.escape_default()
                ));
            }
        }
    }
    if body.is_empty() {
        return Err("is an empty pattern, which would match every value".to_owned());
    }
    Ok(if inline.is_empty() { body.to_owned() } else { format!("(?{inline}){body}") })
}

/// The reason of a regex error, without the pattern and caret lines the crate draws.
#[must_use]
pub fn regex_reason(err: &regex::Error) -> String {
    let text = err.to_string();
    text.lines()
        .find_map(|line| line.trim().strip_prefix("error: "))
        .map_or_else(|| text.split_whitespace().collect::<Vec<_>>().join(" "), str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;

    // Found by hostile-input testing: a feed's tag holding a right-to-left override reached
    // the terminal as written in `lookup`'s answer, and turned the rest of the line around;
    // a line separator broke it in two.
    #[test]
    fn invisible_characters_are_escaped_and_visible_ones_kept() {
        assert_eq!(shown("tag\u{202e}lave", WHOLE), "tag\\u{202e}lave");
        assert_eq!(shown("a\u{2028}b\u{200b}c", WHOLE), "a\\u{2028}b\\u{200b}c");
        assert_eq!(shown("bad\u{3164}.example", WHOLE), "bad\\u{3164}.example");
        // Letters with combining marks, and other scripts, show as they are.
        for word in ["b\u{301}ad", "उदाहरण", "ไทย", "bücher", "☃", "\"quoted\" 'x' \\d+"]
        {
            assert_eq!(shown(word, WHOLE), word);
        }
    }
}
