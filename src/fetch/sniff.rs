//! Refusing bodies that are not what the feed promised, before anything parses them.
//!
//! Upstreams that break rarely answer with an error status. They answer `200` with an HTML
//! page ("this list has moved", a login wall, a CDN challenge), a JSON error object from an
//! API (`{"query_status": "unknown_auth_key"}`) or a binary file. A free-text parser would
//! happily find "domains" in any of them (bug case 01), so each is refused here with the
//! reason, and the feed fails instead of publishing garbage.
//!
//! The checks run on the body *after* decompression and look at the `Content-Type` and the
//! first KiB only, so their cost does not grow with the body.

use super::decode::describe_start;
use super::{FetchError, shown};

/// What the caller is going to parse a body as.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expect {
    /// A text list: free text or CSV. A JSON error object is refused.
    Text,
    /// A JSON document: a MISP manifest or event, or a `json` feed. JSON objects, error keys
    /// and all, are expected; the parser decides whether the records are there.
    Json,
}

/// What kind of unexpected content a body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ContentKind {
    /// An HTML page, by its `Content-Type` or its first bytes.
    Html,
    /// A JSON object with an error field, where a text list was expected.
    JsonError,
    /// NUL bytes in the first KiB, or a UTF-16 byte order mark. Invalid UTF-8 alone is not
    /// binary: a Latin-1 comment must not fail a text feed, and the parsers reject such lines
    /// one by one.
    Binary,
    /// A `Content-Type` no list is served as (images, audio, video, fonts, PDF).
    ContentType,
}

impl ContentKind {
    /// The stable reason code of the report (`html_content`, …).
    #[must_use]
    pub const fn reason(self) -> &'static str {
        match self {
            ContentKind::Html => "html_content",
            ContentKind::JsonError => "json_error",
            ContentKind::Binary => "binary_data",
            ContentKind::ContentType => "unexpected_content_type",
        }
    }

    /// A few words for messages.
    #[must_use]
    pub const fn describe(self) -> &'static str {
        match self {
            ContentKind::Html => "an HTML page",
            ContentKind::JsonError => "a JSON error object",
            ContentKind::Binary => "binary data",
            ContentKind::ContentType => "a content type that is not a list",
        }
    }
}

/// What the reason says about a body that opens with a UTF-16 byte order mark.
const UTF16_DETAIL: &str = "UTF-16 is not supported; convert the feed to UTF-8";
/// Bytes looked at for HTML markup and binary data.
const SNIFF_LEN: usize = 1024;
/// Largest body read as a possible JSON error object; error objects are small, lists are not.
const MAX_ERROR_OBJECT: usize = 64 * 1024;
/// Keys an API puts its error in.
const ERROR_KEYS: &[&str] =
    &["error", "errors", "message", "detail", "query_status", "msg", "error_message", "fault"];
/// Content types that never hold a list.
const NOT_LIST_TYPES: &[&str] = &["image/", "audio/", "video/", "font/", "application/pdf"];

/// Checks a decoded body against what the caller expects; `url`, `status` and
/// `content_type` are what the answer said, for messages.
pub(crate) fn check(
    bytes: &[u8],
    status: u16,
    content_type: Option<&str>,
    url: &str,
    expect: Expect,
) -> Result<(), FetchError> {
    let raw_type = content_type;
    let content_type = raw_type.map(|t| t.trim().to_ascii_lowercase());
    let fail = |kind: ContentKind, detail: Option<String>| {
        Err(FetchError::UnexpectedContent {
            url: url.to_owned(),
            kind,
            status,
            content_type: raw_type.map(|t| shown(t, 120)),
            start: describe_start(bytes),
            detail,
        })
    };
    let start = skip_blank(bytes);
    let head = start.get(..SNIFF_LEN).unwrap_or(start);
    if content_type
        .as_deref()
        .is_some_and(|t| t.starts_with("text/html") || t.starts_with("application/xhtml+xml"))
        || looks_like_html(head)
    {
        return fail(ContentKind::Html, None);
    }
    if let Some(t) = &content_type
        && NOT_LIST_TYPES.iter().any(|p| t.starts_with(p))
    {
        return fail(ContentKind::ContentType, None);
    }
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return fail(ContentKind::Binary, Some(UTF16_DETAIL.to_owned()));
    }
    if head.contains(&0) {
        return fail(ContentKind::Binary, None);
    }
    if expect == Expect::Text
        && let Some(message) = json_error(start)
    {
        return fail(ContentKind::JsonError, Some(message));
    }
    Ok(())
}

/// The body after a UTF-8 byte order mark and leading white space.
fn skip_blank(bytes: &[u8]) -> &[u8] {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    let blank = bytes.iter().take_while(|b| b.is_ascii_whitespace()).count();
    bytes.get(blank..).unwrap_or_default()
}

/// Whether the first non-blank bytes open an HTML document (case-insensitive).
fn looks_like_html(start: &[u8]) -> bool {
    const OPENINGS: &[&[u8]] = &[b"<!doctype html", b"<html", b"<head", b"<body"];
    OPENINGS
        .iter()
        .any(|opening| start.get(..opening.len()).is_some_and(|s| s.eq_ignore_ascii_case(opening)))
}

/// The error text of a small JSON object with an error key, if the body is one.
fn json_error(start: &[u8]) -> Option<String> {
    if start.first() != Some(&b'{') || start.len() > MAX_ERROR_OBJECT {
        return None;
    }
    let serde_json::Value::Object(object) = serde_json::from_slice(start).ok()? else {
        return None;
    };
    let (key, value) = ERROR_KEYS.iter().find_map(|k| object.get_key_value(*k))?;
    let text = match value {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Some(format!("`{key}`: {}", shown(&text, 120)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(bytes: &[u8], content_type: Option<&str>, expect: Expect) -> Option<&'static str> {
        check(bytes, 200, content_type, "https://a.example/l", expect).err().map(|e| e.reason())
    }

    #[test]
    fn a_plain_list_passes() {
        assert_eq!(reason(b"198.51.100.1\nbad.example\n", Some("text/plain"), Expect::Text), None);
        assert_eq!(reason(b"", None, Expect::Text), None);
    }

    #[test]
    fn html_is_refused_by_content_type_or_first_bytes() {
        let list = b"c2.example\n";
        assert_eq!(
            reason(list, Some("Text/HTML; charset=utf-8"), Expect::Text),
            Some("html_content")
        );
        let page = b"\xEF\xBB\xBF\n  <!DOCTYPE HTML>\n<p>moved</p>";
        assert_eq!(reason(page, Some("text/plain"), Expect::Text), Some("html_content"));
        assert_eq!(reason(b"<html lang=en>", None, Expect::Json), Some("html_content"));
    }

    #[test]
    fn a_json_error_object_is_refused_only_where_text_is_expected() {
        let error = br#"{"query_status": "unknown_auth_key"}"#;
        assert_eq!(reason(error, Some("application/json"), Expect::Text), Some("json_error"));
        assert_eq!(reason(error, Some("application/json"), Expect::Json), None);
        let err = check(error, 200, None, "u", Expect::Text).unwrap_err().to_string();
        assert!(err.contains("unknown_auth_key"), "{err}");
    }

    #[test]
    fn a_json_array_or_an_object_without_error_keys_passes_as_text() {
        assert_eq!(reason(br#"["198.51.100.1"]"#, None, Expect::Text), None);
        assert_eq!(reason(br#"{"ips": ["198.51.100.1"]}"#, None, Expect::Text), None);
    }

    #[test]
    fn binary_bytes_are_refused() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(
            reason(png, Some("application/octet-stream"), Expect::Text),
            Some("binary_data")
        );
        assert_eq!(reason(b"a\0b", None, Expect::Json), Some("binary_data"));
        assert_eq!(
            reason(b"198.51.100.1", Some("image/png"), Expect::Text),
            Some("unexpected_content_type")
        );
    }

    #[test]
    fn a_latin1_comment_at_the_top_does_not_fail_a_text_feed() {
        assert_eq!(reason(b"# Liste \xE9t\xE9\n1.2.3.4\n", None, Expect::Text), None);
        assert_eq!(reason(b"\xFF\xFF\xFF\n", Some("text/plain"), Expect::Text), None);
    }

    #[test]
    fn a_utf16_body_is_refused_with_a_hint_to_convert_it() {
        // "1.2\n" in UTF-16 LE and BE, each after its byte order mark.
        let le = b"\xFF\xFE1\x00.\x002\x00\n\x00";
        let be = b"\xFE\xFF\x001\x00.\x002\x00\n";
        for body in [&le[..], &be[..]] {
            let err = check(body, 200, None, "u", Expect::Text).unwrap_err();
            assert_eq!(err.reason(), "binary_data");
            assert!(err.to_string().contains(UTF16_DETAIL), "{err}");
        }
        // Without a byte order mark, the NUL bytes of UTF-16 text still refuse it.
        assert_eq!(reason(b"1\x00.\x002\x00", None, Expect::Text), Some("binary_data"));
    }

    #[test]
    fn a_multibyte_character_cut_by_the_window_is_not_binary() {
        let mut text = vec![b'a'; SNIFF_LEN - 1];
        text.extend_from_slice("é\n".as_bytes());
        assert_eq!(reason(&text, None, Expect::Text), None);
    }

    #[test]
    fn the_message_names_the_kind_status_type_and_first_bytes() {
        let page = b"<!doctype html><title>x</title>";
        let err = check(page, 200, Some("text/html"), "https://a.example/l", Expect::Text)
            .unwrap_err()
            .to_string();
        assert!(err.contains("an HTML page"), "{err}");
        assert!(err.contains("HTTP 200"), "{err}");
        assert!(err.contains("text/html"), "{err}");
        assert!(err.contains("<!doctype html>"), "{err}");
        assert!(err.contains("body not parsed"), "{err}");
    }
}
