//! Output templates: formats a team defines itself, as minijinja templates kept in the
//! repository's `templates/outputs/` folder and named by a task's output
//! (`format = "template"`, `template = "<name>"`, `syntax = "<syntax>"`).
//!
//! A template is part of the definitions, so it is loaded and checked with them: `check` (and
//! every build, before it fetches) reads the file, refuses one outside the repository, parses
//! it, and renders it once against a sample entry, so that a misspelt variable fails with the
//! template's file, line and column instead of in the nightly build. This module therefore
//! owns the template language as a whole, the one environment both the check and the writer
//! (`export::template`) render with:
//!
//! - what a template receives ([`TemplateContext`]);
//! - undefined variables are errors, as on the site;
//! - no auto-escaping for HTML, since the output is not HTML. A value is made safe for its
//!   output another way: each entry is checked against the output's [`TemplateSyntax`] and
//!   skipped when it cannot be written there, and under `csv` and `json` every `{{ … }}`
//!   writes a quoted CSV field or a JSON value;
//! - `trim_blocks` and `lstrip_blocks` are on, so that a `{% for %}` line writes no empty line,
//!   and the template's final newline is kept;
//! - filters: `json` (a JSON value), `csv` (a CSV field, quoted when it needs to be),
//!   `rfc3339` and `date` (Unix seconds as `2026-08-23T00:00:00Z` and `2026-08-23`).
//!
//! A template stands alone: there is no loader, so `include`, `import` and `extends` find
//! nothing (macros defined in the template itself work).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Component, Path, PathBuf};

use minijinja::value::{Serde, Value, ValueKind};
use minijinja::{AutoEscape, Environment, Error, ErrorKind, UndefinedBehavior};
use serde::{Deserialize, Serialize};

use crate::text::shown;

/// The folder of output templates, relative to the repository root.
pub const OUTPUTS_DIR: &str = "templates/outputs";

/// The name of the custom auto-escape mode of the `csv` syntax.
const CSV_ESCAPE: &str = "csv";

/// The largest template file read (1 MiB): a template is a page of text, not data.
const MAX_TEMPLATE_BYTES: u64 = 1024 * 1024;

/// The syntax a template output writes its values into: which entries it skips, and how a
/// `{{ … }}` writes a value.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum TemplateSyntax {
    /// One value on a line of its own, written as it is: a value that is empty, holds white
    /// space or a control character (a line break, a tab), or starts with `#` is skipped, as
    /// in `plain`. Quotes, `;` and `$` pass, so `line` is not for values inside a quoted
    /// string or a script's command: use `ip` or `dns` there.
    Line,
    /// Addresses and networks (`ip-dst`, `ip-src`) only, written as they are: anything that
    /// does not read as one is skipped.
    Ip,
    /// Domain and host names only, under the DNS name rules of the DNS formats: letters,
    /// digits, `-` and `_`, labels of at most 63 bytes, at most 253 bytes, two labels or more.
    Dns,
    /// CSV fields: every `{{ … }}` writes one field, quoted when it holds a comma, a quote or
    /// a line break (RFC 4180); a value with a control character, or starting with `=`, `+`,
    /// `-` or `@` (a spreadsheet formula), is skipped, as in `csv`.
    Csv,
    /// JSON: every `{{ … }}` writes a JSON value (strings quoted and escaped), so any value
    /// can be written and none is skipped.
    Json,
}

impl TemplateSyntax {
    /// The name used in definition files.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            TemplateSyntax::Line => "line",
            TemplateSyntax::Ip => "ip",
            TemplateSyntax::Dns => "dns",
            TemplateSyntax::Csv => "csv",
            TemplateSyntax::Json => "json",
        }
    }
}

/// Everything a template receives.
#[derive(Clone, Debug, Serialize)]
pub struct TemplateContext<'a> {
    /// The task.
    pub task: TemplateTask<'a>,
    /// The build time, RFC 3339 (`2026-08-23T00:00:00Z`).
    pub now: String,
    /// The build time, Unix seconds.
    pub now_unix: i64,
    /// The selection's entries that the syntax can hold, in the selection's order.
    pub entries: Vec<TemplateEntry<'a>>,
    /// How many entries there are, and how many were skipped.
    pub counts: TemplateCounts,
}

/// The task, as a template sees it.
#[derive(Clone, Debug, Serialize)]
pub struct TemplateTask<'a> {
    /// The task id.
    pub id: &'a str,
    /// The task's name, control characters written as spaces so that it stays on one line.
    pub name: String,
}

/// One selected indicator, as a template sees it.
#[derive(Clone, Debug, Serialize)]
pub struct TemplateEntry<'a> {
    /// The MISP attribute type (`ip-dst`, `domain`, …).
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// The canonical value, checked against the output's syntax.
    pub value: &'a str,
    /// The decay score rounded to two decimals; none when no model scores the type.
    pub score: Option<f64>,
    /// The first build that saw a listing feed list it (the ledger, earliest over the feeds),
    /// RFC 3339; none when the ledger does not know it.
    pub first_seen: Option<String>,
    /// [`TemplateEntry::first_seen`] in Unix seconds.
    pub first_seen_unix: Option<i64>,
    /// The decay reference time, RFC 3339: the feed's own last-seen time or timestamp, else
    /// the last build that saw it listed.
    pub last_seen: String,
    /// [`TemplateEntry::last_seen`] in Unix seconds.
    pub last_seen_unix: i64,
    /// Ids of the feeds that list it, sorted.
    pub feeds: Vec<&'a str>,
    /// The IDS flag.
    pub to_ids: bool,
}

/// Counts a template may write in a header.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TemplateCounts {
    /// Entries of the task's selection.
    pub selected: u64,
    /// Entries the template receives.
    pub entries: u64,
    /// Entries skipped because the syntax cannot hold them.
    pub skipped: u64,
    /// Entries the template receives, per type.
    pub by_type: BTreeMap<&'static str, u64>,
}

/// The environment every output template renders in, for values of `syntax`.
#[must_use]
pub fn environment(syntax: TemplateSyntax) -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    let whitespace = minijinja::syntax::SyntaxConfig::builder()
        .trim_blocks(true)
        .lstrip_blocks(true)
        .keep_trailing_newline(true)
        .build();
    // The default delimiters always build.
    if let Ok(config) = whitespace {
        env.set_syntax(config);
    }
    env.set_auto_escape_callback(move |_| match syntax {
        TemplateSyntax::Json => AutoEscape::Json,
        TemplateSyntax::Csv => AutoEscape::Custom(std::borrow::Cow::Borrowed(CSV_ESCAPE)),
        TemplateSyntax::Line | TemplateSyntax::Ip | TemplateSyntax::Dns => AutoEscape::None,
    });
    env.set_formatter(|out, state, value| {
        // A missing score writes nothing rather than `none` in the text syntaxes; JSON
        // writes `null`.
        let is_json = matches!(state.auto_escape(), AutoEscape::Json);
        if value.is_none() && !is_json {
            return Ok(());
        }
        // Booleans read `true` and `false`, as the data exports and most configurations
        // write them, rather than Jinja's `True` and `False`.
        if value.kind() == ValueKind::Bool {
            return out
                .write_str(if value.is_true() { "true" } else { "false" })
                .map_err(|_| Error::new(ErrorKind::WriteFailure, "cannot write the output"));
        }
        if matches!(state.auto_escape(), AutoEscape::Custom(name) if name == CSV_ESCAPE)
            && !value.is_safe()
        {
            let text = value.to_string();
            return out
                .write_str(&csv_field(&text))
                .map_err(|_| Error::new(ErrorKind::WriteFailure, "cannot write the output"));
        }
        minijinja::escape_formatter(out, state, value)
    });
    env.add_filter("json", minijinja::filters::tojson);
    env.add_filter("csv", |value: &Value| {
        let text = if value.is_none() { String::new() } else { value.to_string() };
        Value::from_safe_string(csv_field(&text))
    });
    env.add_filter("rfc3339", rfc3339);
    env.add_filter("date", date);
    env
}

/// `text` as one CSV field (RFC 4180): in double quotes, its quotes doubled, when it holds a
/// comma, a quote or a line break; as it is otherwise.
#[must_use]
pub fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\r', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

/// Unix seconds as RFC 3339 UTC; the number itself when out of range.
fn rfc3339(unix: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&time::format_description::well_known::Rfc3339).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// Unix seconds as a calendar date (`2026-08-23`); the number itself when out of range.
fn date(unix: i64) -> String {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::OffsetDateTime::from_unix_timestamp(unix)
        .ok()
        .and_then(|t| t.format(&format).ok())
        .unwrap_or_else(|| unix.to_string())
}

/// The build time of the sample a template is checked against: 2026-01-01T00:00:00Z.
const SAMPLE_NOW: i64 = 1_767_225_600;

/// The context a template is checked against: one entry of a type `syntax` holds, scored,
/// seen a day before the sample build time, listed by one feed.
#[must_use]
pub fn sample<'a>(
    task_id: &'a str,
    task_name: &str,
    syntax: TemplateSyntax,
) -> TemplateContext<'a> {
    let (kind, value) = match syntax {
        TemplateSyntax::Ip => ("ip-dst", "192.0.2.1"),
        _ => ("domain", "bad.example"),
    };
    let seen = SAMPLE_NOW - 86_400;
    let entry = TemplateEntry {
        kind,
        value,
        score: Some(50.0),
        first_seen: Some(rfc3339(seen)),
        first_seen_unix: Some(seen),
        last_seen: rfc3339(seen),
        last_seen_unix: seen,
        feeds: vec!["example-feed"],
        to_ids: true,
    };
    TemplateContext {
        task: TemplateTask { id: task_id, name: one_line(task_name) },
        now: rfc3339(SAMPLE_NOW),
        now_unix: SAMPLE_NOW,
        entries: vec![entry],
        counts: TemplateCounts {
            selected: 1,
            entries: 1,
            skipped: 0,
            by_type: BTreeMap::from([(kind, 1)]),
        },
    }
}

/// Definition text for one line: control characters and the Unicode line and paragraph
/// separators (U+2028, U+2029, which JavaScript, Python's `splitlines` and many editors
/// break lines at) written as spaces.
#[must_use]
pub fn one_line(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() || matches!(c, '\u{2028}' | '\u{2029}') { ' ' } else { c })
        .collect()
}

/// A problem with an output template, located in the template file when the engine gives a
/// place, else at the output's `template` key.
#[derive(Clone, Debug)]
pub(crate) struct TemplateProblem {
    /// The template file, relative to the repository root, and the 1-based line and column
    /// in it; `None` when the problem is not inside the file.
    pub(crate) at: Option<(PathBuf, usize, usize)>,
    /// What is wrong.
    pub(crate) message: String,
}

impl TemplateProblem {
    fn unlocated(message: String) -> TemplateProblem {
        TemplateProblem { at: None, message }
    }
}

/// Reads the template `name` of `root`'s `templates/outputs/` and checks it: inside the
/// repository, a UTF-8 file of at most 1 MiB, a template that parses and renders against
/// [`sample`] under `syntax`. Returns its source.
pub(crate) fn load(
    root: &Path,
    name: &str,
    task_id: &str,
    task_name: &str,
    syntax: TemplateSyntax,
) -> Result<String, TemplateProblem> {
    let shown_name = shown(name, 80);
    let relative = Path::new(name);
    let plain = !name.is_empty()
        && !relative.is_absolute()
        && relative.components().all(|c| matches!(c, Component::Normal(_)))
        && !name.contains('\\');
    if !plain {
        return Err(TemplateProblem::unlocated(format!(
            "`{shown_name}` must be a file name, or a relative path without `.` or `..`, \
             inside `{OUTPUTS_DIR}/`"
        )));
    }
    let full = root.join(OUTPUTS_DIR).join(relative);
    // A symbolic link may point elsewhere in the repository, never out of it: a definition
    // added in a pull request must not publish the build machine's files.
    let inside = match (full.canonicalize(), root.canonicalize()) {
        (Ok(resolved), Ok(root)) => resolved.starts_with(root),
        (Err(_), _) => {
            return Err(TemplateProblem::unlocated(format!(
                "no template `{shown_name}` in `{OUTPUTS_DIR}/`"
            )));
        }
        (_, Err(_)) => false,
    };
    if !inside {
        return Err(TemplateProblem::unlocated(format!(
            "`{OUTPUTS_DIR}/{shown_name}` leads outside the repository"
        )));
    }
    let file = PathBuf::from(OUTPUTS_DIR).join(relative);
    let meta = std::fs::metadata(&full).map_err(|e| {
        TemplateProblem::unlocated(format!("cannot read `{}`: {e}", file.display()))
    })?;
    if !meta.is_file() {
        return Err(TemplateProblem::unlocated(format!("`{}` is not a file", file.display())));
    }
    if meta.len() > MAX_TEMPLATE_BYTES {
        return Err(TemplateProblem::unlocated(format!(
            "`{}` is {} bytes; a template may have at most {MAX_TEMPLATE_BYTES}",
            file.display(),
            meta.len()
        )));
    }
    let bytes = std::fs::read(&full).map_err(|e| {
        TemplateProblem::unlocated(format!("cannot read `{}`: {e}", file.display()))
    })?;
    let source = String::from_utf8(bytes).map_err(|_| {
        TemplateProblem::unlocated(format!("`{}` is not UTF-8 text", file.display()))
    })?;
    let env = environment(syntax);
    let rendered = env
        .template_from_named_str(name, &source)
        .and_then(|t| t.render(Value::from(Serde(sample(task_id, task_name, syntax)))));
    match rendered {
        Ok(_) => Ok(source),
        Err(error) => {
            let (line, column) = position(&error, &source);
            Err(TemplateProblem {
                at: Some((file, line, column)),
                message: describe(&error, &source),
            })
        }
    }
}

/// Where in `source` an engine error is: 1-based line and column (of characters).
fn position(error: &Error, source: &str) -> (usize, usize) {
    if let Some(range) = error.range()
        && let Some(before) = source.get(..range.start)
    {
        let line = before.matches('\n').count() + 1;
        let column = before.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        return (line, column);
    }
    (error.line().unwrap_or(1), 1)
}

/// An engine error as one message: its kind, its detail and the text it points at (when the
/// detail does not quote it already).
#[must_use]
pub fn describe(error: &Error, source: &str) -> String {
    let text = error.range().and_then(|r| source.get(r)).filter(|text| !text.is_empty());
    // A build without debug assertions gets no detail of an undefined value from the engine:
    // the same words are made here, so that `check` says the same from every build.
    let detail = error.detail().map(str::to_owned).or_else(|| {
        let undefined = error.kind() == ErrorKind::UndefinedError;
        text.filter(|_| undefined).map(|text| format!("`{}` is undefined", shown(text, 60)))
    });
    let mut message = error.kind().to_string();
    if let Some(detail) = &detail {
        let _ = write!(message, ": {detail}");
    }
    if let Some(text) = text
        && !detail.as_ref().is_some_and(|d| d.contains(text) || d.contains(&shown(text, 60)))
    {
        let _ = write!(message, " (at `{}`)", shown(text, 60));
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(syntax: TemplateSyntax, source: &str, ctx: Value) -> Result<String, Error> {
        environment(syntax).render_str(source, ctx)
    }

    #[test]
    fn csv_fields_are_quoted_only_when_they_need_it() {
        assert_eq!(csv_field("bad.example"), "bad.example");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_field("a\nb"), "\"a\nb\"");
        assert_eq!(csv_field(""), "");
    }

    #[test]
    fn every_expression_writes_a_csv_field_under_the_csv_syntax() {
        let ctx = minijinja::context! { v => "a,\"b\"", n => 7, s => Value::from(()) };
        let out = render(TemplateSyntax::Csv, "{{ v }},{{ n }},{{ s }},{{ v | csv }}\n", ctx);
        assert_eq!(out.unwrap(), "\"a,\"\"b\"\"\",7,,\"a,\"\"b\"\"\"\n");
    }

    #[test]
    fn every_expression_writes_a_json_value_under_the_json_syntax() {
        let ctx = minijinja::context! { v => "x\"\n{{ y }}", n => 1.5, s => Value::from(()) };
        let out = render(TemplateSyntax::Json, "[{{ v }}, {{ n }}, {{ s }}, {{ v | json }}]", ctx);
        let parsed: serde_json::Value = serde_json::from_str(&out.unwrap()).unwrap();
        assert_eq!(parsed, serde_json::json!(["x\"\n{{ y }}", 1.5, null, "x\"\n{{ y }}"]));
    }

    #[test]
    fn text_syntaxes_write_values_as_they_are_and_nothing_for_none() {
        let ctx = minijinja::context! { v => "a\"b;c", s => Value::from(()) };
        assert_eq!(render(TemplateSyntax::Line, "{{ v }}|{{ s }}|", ctx).unwrap(), "a\"b;c||");
    }

    #[test]
    fn block_lines_write_no_empty_lines_and_the_final_newline_stays() {
        let ctx = minijinja::context! { xs => vec!["a", "b"] };
        let source =
            "# head\n{% for x in xs %}\n  {% if x %}\n{{ x }}\n  {% endif %}\n{% endfor %}\n";
        assert_eq!(render(TemplateSyntax::Line, source, ctx).unwrap(), "# head\na\nb\n");
    }

    #[test]
    fn times_format_as_rfc_3339_and_dates() {
        let ctx = minijinja::context! { t => 1_787_184_000_i64 };
        let out = render(TemplateSyntax::Line, "{{ t | rfc3339 }} {{ t | date }}", ctx);
        assert_eq!(out.unwrap(), "2026-08-20T00:00:00Z 2026-08-20");
    }

    #[test]
    fn an_undefined_variable_is_an_error_located_at_its_text() {
        let source = "{% for e in entries %}\n{{ e.vlaue }}\n{% endfor %}\n";
        let env = environment(TemplateSyntax::Line);
        let ctx = Value::from(Serde(sample("t", "T", TemplateSyntax::Line)));
        let error = env.render_named_str("x", source, ctx).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::UndefinedError);
        assert_eq!(position(&error, source), (2, 4));
        assert_eq!(describe(&error, source), "undefined value: `e.vlaue` is undefined");
    }

    #[test]
    fn the_sample_holds_every_documented_field() {
        let source = "{{ task.id }} {{ task.name }} {{ now }} {{ now_unix }} \
            {{ counts.selected }} {{ counts.entries }} {{ counts.skipped }} {{ counts.by_type.domain }}\n\
            {% for e in entries %}{{ e.type }} {{ e.value }} {{ e.score }} {{ e.first_seen }} \
            {{ e.first_seen_unix }} {{ e.last_seen }} {{ e.last_seen_unix }} {{ e.feeds | join(\",\") }} \
            {{ e.to_ids }}{% endfor %}\n";
        let ctx = Value::from(Serde(sample("t", "A\nname", TemplateSyntax::Line)));
        let out = render(TemplateSyntax::Line, source, ctx).unwrap();
        assert_eq!(
            out,
            "t A name 2026-01-01T00:00:00Z 1767225600 1 1 0 1\n\
             domain bad.example 50.0 2025-12-31T00:00:00Z 1767139200 2025-12-31T00:00:00Z \
             1767139200 example-feed true"
        );
    }
}
