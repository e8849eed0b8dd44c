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
