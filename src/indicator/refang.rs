//! Undoing defanged spellings (`hxxp://`, `example[.]com`, `user[at]example.com`).
//!
//! Analysts break indicators on purpose so that nobody clicks them; feeds copy those reports.
//! [`refang`] puts the characters back. It knows MISP's spellings (freetext.md §2) and a few
//! that MISP misses (`(.)`, `{.}`, `[DOT]`, `(at)`, `[://]`, `fxp://`), and it deliberately
//! leaves out two of MISP's rules: `meow://` is not turned into `http://`, and trailing dots
//! are not stripped here (a host name loses exactly one root dot later, in `domain`).
//!
//! The scan is one pass over the bytes and allocates only when something changes.

use std::borrow::Cow;

/// Spellings replaced wherever they appear, matched ASCII case-insensitively.
/// Each starts with an opening bracket, so the scan only looks at bracket bytes.
const ANYWHERE: &[(&str, &str)] = &[
    ("[.]", "."),
    ("(.)", "."),
    ("{.}", "."),
    ("[dot]", "."),
    ("(dot)", "."),
    ("{dot}", "."),
    ("[@]", "@"),
    ("(@)", "@"),
    ("{@}", "@"),
    ("[at]", "@"),
    ("(at)", "@"),
    ("{at}", "@"),
    ("[:]", ":"),
    ("[://]", "://"),
    ("[/]", "/"),
    ("[hxxp://]", "http://"),
];

/// Scheme spellings replaced at the very start, ASCII case-insensitively, when a scheme
/// separator follows (so that a word such as `hxxpfoo` is left alone).
const SCHEMES: &[(&str, &str)] = &[
    ("hxxp", "http"),
    ("hxtp", "http"),
    ("htxp", "http"),
    ("h[tt]p", "http"),
    ("hxxxp", "http"),
    ("fxp", "ftp"),
];

/// Undoes defanging. Returns the refanged text and whether anything changed.
///
/// ```
/// use feedsmith::indicator::refang;
/// assert_eq!(refang("hxxps://bad[.]example/a").0, "https://bad.example/a");
/// assert!(!refang("https://example.com").1);
/// ```
#[must_use]
pub fn refang(raw: &str) -> (Cow<'_, str>, bool) {
    let bytes = raw.as_bytes();
    let scheme = scheme_prefix(raw);
    let needs_scan = bytes.iter().any(|&b| matches!(b, b'[' | b'(' | b'{'));
    if scheme.is_none() && !needs_scan {
        return (Cow::Borrowed(raw), false);
    }
    let mut out = String::new();
    let mut copied = 0;
    let mut i = 0;
    if let Some((len, replacement)) = scheme {
        out.reserve(raw.len());
        out.push_str(replacement);
        copied = len;
        i = len;
    }
    while i < bytes.len() {
        if matches!(bytes[i], b'[' | b'(' | b'{')
            && let Some((len, replacement)) = match_anywhere(&bytes[i..])
        {
            if out.capacity() == 0 {
                out.reserve(raw.len());
            }
            out.push_str(&raw[copied..i]);
            out.push_str(replacement);
            i += len;
            copied = i;
            continue;
        }
        i += 1;
    }
    if copied == 0 {
        return (Cow::Borrowed(raw), false);
    }
    out.push_str(&raw[copied..]);
    (Cow::Owned(out), true)
}

/// The defanged scheme at the start of `raw`, as (length in bytes, replacement).
fn scheme_prefix(raw: &str) -> Option<(usize, &'static str)> {
    let bytes = raw.as_bytes();
    let first = bytes.first()?.to_ascii_lowercase();
    if first != b'h' && first != b'f' {
        return None;
    }
    SCHEMES.iter().find_map(|&(pattern, replacement)| {
        let head = bytes.get(..pattern.len())?;
        if !head.eq_ignore_ascii_case(pattern.as_bytes()) {
            return None;
        }
        let mut rest = &bytes[pattern.len()..];
        if rest.first().is_some_and(|b| b.eq_ignore_ascii_case(&b's')) {
            rest = &rest[1..];
        }
        matches!(rest.first(), Some(b':' | b'[')).then_some((pattern.len(), replacement))
    })
}

/// The bracketed spelling at the start of `bytes`, as (length in bytes, replacement).
fn match_anywhere(bytes: &[u8]) -> Option<(usize, &'static str)> {
    ANYWHERE.iter().find_map(|&(pattern, replacement)| {
        let head = bytes.get(..pattern.len())?;
        head.eq_ignore_ascii_case(pattern.as_bytes()).then_some((pattern.len(), replacement))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refanged(raw: &str) -> String {
        refang(raw).0.into_owned()
    }

    #[test]
    fn leaves_plain_values_untouched_and_borrowed() {
        for raw in ["https://example.com/a?b=c", "1.2.3.4", "bad.example", ""] {
            let (out, changed) = refang(raw);
            assert!(!changed);
            assert!(matches!(out, Cow::Borrowed(_)));
            assert_eq!(out, raw);
        }
    }

    #[test]
    fn undoes_misp_scheme_spellings_at_the_start() {
        assert_eq!(refanged("hxxp://example.com"), "http://example.com");
        assert_eq!(refanged("hXXps://example.com"), "https://example.com");
        assert_eq!(refanged("hxtp://example.com"), "http://example.com");
        assert_eq!(refanged("htxps://example.com"), "https://example.com");
        assert_eq!(refanged("h[tt]p://example.com"), "http://example.com");
        assert_eq!(refanged("h[tt]ps://example.com"), "https://example.com");
        assert_eq!(refanged("fxp://example.com/a"), "ftp://example.com/a");
    }

    #[test]
    fn leaves_meow_and_scheme_like_words_alone() {
        assert_eq!(refang("meow://example.com"), (Cow::Borrowed("meow://example.com"), false));
        assert_eq!(refanged("hxxpfoo.example"), "hxxpfoo.example");
    }

    #[test]
    fn undoes_dot_spellings_anywhere() {
        assert_eq!(refanged("127[.]0[.]0[.]1"), "127.0.0.1");
        assert_eq!(refanged("127[dot]0[dot]0[dot]1"), "127.0.0.1");
        assert_eq!(refanged("127(dot)0(dot)0(dot)1"), "127.0.0.1");
        assert_eq!(refanged("sub(.)bad10(.)example"), "sub.bad10.example");
        assert_eq!(refanged("bad11{.}example"), "bad11.example");
        assert_eq!(refanged("bad[DOT]example"), "bad.example");
    }

    #[test]
    fn undoes_at_and_colon_spellings() {
        assert_eq!(refanged("admin[@]admin[.]test"), "admin@admin.test");
        assert_eq!(refanged("admin[at]admin[dot]test"), "admin@admin.test");
        assert_eq!(refanged("hxxp[:]//bad7.example/x"), "http://bad7.example/x");
        assert_eq!(refanged("http[://]bad.example"), "http://bad.example");
        assert_eq!(refanged("x [hxxp://]bad.example"), "x http://bad.example");
    }

    #[test]
    fn keeps_backslashes_in_url_paths() {
        // MISP issue #7214: `\.` sequences are part of the path, not a defanged dot.
        let raw = r"http://h.example/html?a=b;\..\..\./x";
        assert_eq!(refang(raw), (Cow::Borrowed(raw), false));
    }

    #[test]
    fn reports_a_change_only_when_something_was_replaced() {
        assert!(!refang("a[b]c(d){e}").1);
        assert!(refang("a[.]b").1);
        assert_eq!(refanged("x[.]"), "x.");
        assert_eq!(refanged("[.]"), ".");
    }

    #[test]
    fn keeps_non_ascii_text_around_replacements() {
        assert_eq!(refanged("háčky[.]cz"), "háčky.cz");
    }
}
