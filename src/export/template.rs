//! `template`: an output in a format the team defines, rendered from a minijinja template of
//! the repository's `templates/outputs/` (the language is [`crate::config::template`]'s).
//!
//! The output is not HTML, so nothing is HTML-escaped; values are made safe for the file
//! another way. Each entry is checked against the output's declared syntax first, and one
//! that cannot be written there (a line break in a `line` output, a `;` in a `dns` one, a
//! URL in an `ip` one) is skipped and counted under its reason, as every blocklist format
//! does; under `csv` and `json` the environment also writes every `{{ … }}` as a CSV field or
//! a JSON value. The template only ever sees values that passed. A value holding `{{` or
//! `{%` is text to the engine: output is never rendered again.
//!
//! `check` renders every template against a sample entry, so a misspelt variable never
//! reaches a build. What fails only on real data (a filter given an unscored entry's empty
//! score, say) fails this output alone: the error is logged and reported, the previous
//! build's file is kept in its place, and every other output is written as usual.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use minijinja::value::{Enumerator, Object, ObjectRepr, Serde, Value};

use super::syntax::{NameRules, Skips, check_line, check_name, entry_name, entry_net};
use super::{Entry, ExportError, Target, file_report, finish, rfc3339, write_file};
#[cfg(doc)]
use crate::config::template::TemplateEntry;
use crate::config::template::{
    TemplateCounts, TemplateSyntax, TemplateTask, describe, environment, one_line,
};
use crate::report::OutputReport;

/// Why `entry` cannot be written in `syntax`, if it cannot.
fn check(syntax: TemplateSyntax, entry: &Entry<'_>) -> Result<(), &'static str> {
    match syntax {
        TemplateSyntax::Line => check_line(&entry.indicator.value),
        TemplateSyntax::Ip => entry_net(entry).map(drop),
        TemplateSyntax::Dns => check_name(entry_name(entry)?, NameRules::RESOLVER),
        TemplateSyntax::Csv => super::table::check_csv(&entry.indicator.value),
        TemplateSyntax::Json => Ok(()),
    }
}

/// A score rounded to two decimals, as the data exports write it.
fn rounded(score: Option<f64>) -> Option<f64> {
    score.filter(|s| s.is_finite()).map(|s| (s * 100.0).round() / 100.0)
}

/// The context of `entries` for the template, and what was skipped.
///
/// The entries go in as a sequence whose items are made into template values one at a time,
/// as the template reads them: made all at once, the values of a selection of millions took
/// gigabytes and most of the output's time.
fn context(target: &Target<'_>, syntax: TemplateSyntax, entries: &[Entry<'_>]) -> (Value, Skips) {
    let mut skips = Skips::default();
    let mut by_type: BTreeMap<&'static str, u64> = BTreeMap::new();
    let mut feed_names: BTreeMap<&str, Arc<str>> = BTreeMap::new();
    let mut written = Vec::with_capacity(entries.len());
    for entry in entries {
        if let Err(reason) = check(syntax, entry) {
            skips.add(reason, &entry.indicator.value);
            continue;
        }
        *by_type.entry(entry.indicator.kind.as_str()).or_default() += 1;
        let feeds = entry
            .feeds
            .iter()
            .map(|&feed| Arc::clone(feed_names.entry(feed).or_insert_with(|| Arc::from(feed))))
            .collect();
        written.push(OwnedEntry {
            kind: entry.indicator.kind.as_str(),
            value: Box::from(&*entry.indicator.value),
            score: rounded(entry.score),
            first_seen: entry.first_seen,
            last_seen: entry.reference_time,
            feeds,
            to_ids: entry.to_ids,
        });
    }
    let counts = TemplateCounts {
        selected: entries.len() as u64,
        entries: written.len() as u64,
        skipped: skips.total(),
        by_type,
    };
    let context = minijinja::context! {
        task => Value::from(Serde(TemplateTask {
            id: target.task_id,
            name: one_line(target.task_name),
        })),
        now => rfc3339(target.now),
        now_unix => target.now,
        entries => Value::from_object(Entries(written)),
        counts => Value::from(Serde(&counts)),
    };
    (context, skips)
}

/// The entries of a template's context; each is a view into the list, whose fields become
/// template values as the template reads them.
#[derive(Debug)]
struct Entries(Vec<OwnedEntry>);

/// What the template reads of an entry; the times are formatted when read.
#[derive(Debug)]
struct OwnedEntry {
    kind: &'static str,
    value: Box<str>,
    score: Option<f64>,
    first_seen: Option<i64>,
    last_seen: i64,
    feeds: Vec<Arc<str>>,
    to_ids: bool,
}

impl Object for Entries {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Seq
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let index = key.as_usize().filter(|&index| index < self.0.len())?;
        Some(Value::from_object(EntryView { list: Arc::clone(self), index }))
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Seq(self.0.len())
    }
}

/// One entry of [`Entries`], with the fields of a [`TemplateEntry`] in its order (the check
/// of a template renders a [`TemplateEntry`] itself; a test holds the two to each other).
#[derive(Debug)]
struct EntryView {
    list: Arc<Entries>,
    index: usize,
}

/// The fields of a [`TemplateEntry`], in the order it serializes them.
const ENTRY_FIELDS: [&str; 9] = [
    "type",
    "value",
    "score",
    "first_seen",
    "first_seen_unix",
    "last_seen",
    "last_seen_unix",
    "feeds",
    "to_ids",
];

impl Object for EntryView {
    fn repr(self: &Arc<Self>) -> ObjectRepr {
        ObjectRepr::Map
    }

    fn get_value(self: &Arc<Self>, key: &Value) -> Option<Value> {
        let entry = &self.list.0[self.index];
        Some(match key.as_str()? {
            "type" => Value::from(entry.kind),
            "value" => Value::from(&*entry.value),
            "score" => Value::from(entry.score),
            "first_seen" => Value::from(entry.first_seen.map(rfc3339)),
            "first_seen_unix" => Value::from(entry.first_seen),
            "last_seen" => Value::from(rfc3339(entry.last_seen)),
            "last_seen_unix" => Value::from(entry.last_seen),
            "feeds" => entry.feeds.iter().map(|feed| Value::from(&**feed)).collect(),
            "to_ids" => Value::from(entry.to_ids),
            _ => return None,
        })
    }

    fn enumerate(self: &Arc<Self>) -> Enumerator {
        Enumerator::Str(&ENTRY_FIELDS)
    }
}

/// Writes a `template` output: the template named by the output, from `templates` (the
/// task's, read and checked with the definitions), rendered over the entries its syntax
/// holds. On a render error the file of `previous` (the previous build's output folder) is
/// kept, and the report carries the error.
pub(crate) fn write(
    target: &Target<'_>,
    previous: &Path,
    templates: &BTreeMap<String, String>,
    entries: &[Entry<'_>],
) -> Result<OutputReport, ExportError> {
    let output = target.output;
    let invalid = |message: &str| ExportError::Invalid {
        path: target.relative.to_owned(),
        message: message.to_owned(),
    };
    let (Some(name), Some(syntax)) = (output.template.as_deref(), output.syntax) else {
        return Err(invalid("a `template` output needs `template` and `syntax`"));
    };
    let Some(source) = templates.get(name) else {
        return Err(invalid("its template was not loaded with the definitions"));
    };
    let (context, skips) = context(target, syntax, entries);
    let written = entries.len() - usize::try_from(skips.total()).unwrap_or(usize::MAX);
    let env = environment(syntax);
    let rendered = env.template_from_named_str(name, source).and_then(|t| t.render(&context));
    drop(context);
    match rendered {
        Ok(text) => finish(target, &text, written, &skips),
        Err(error) => keep_previous(target, previous, name, &describe(&error, source), &skips),
    }
}

/// The report of a template that failed on this build's data: the previous build's file, if
/// there is one, is copied into place (a consumer keeps its last good list rather than none).
fn keep_previous(
    target: &Target<'_>,
    previous: &Path,
    name: &str,
    message: &str,
    skips: &Skips,
) -> Result<OutputReport, ExportError> {
    let kept = std::fs::read(previous.join(target.relative)).ok();
    let line = match &kept {
        Some(_) => "the previous build's file is kept",
        None => "no previous file, so none is written",
    };
    tracing::error!(
        task = target.task_id,
        output = target.relative,
        template = name,
        error = message,
        "Template failed on this build's data; {line}"
    );
    let bytes = kept.unwrap_or_default();
    let mut report = file_report(target.relative, target.output.format, 0, skips.total(), &bytes);
    if report.bytes > 0 {
        write_file(&target.dir.join(target.relative), &bytes)?;
    } else {
        report.sha256 = String::new();
    }
    report.skipped_reasons = skips.by_reason();
    report.error = Some(format!("template `{name}` failed: {message}; {line}"));
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::super::tests::{entry, read, target_with};
    use super::*;
    use crate::config::OutputFormat;
    use crate::indicator::{AddressSet, AttrType, Indicator};

    /// Renders `source` under `syntax` over `indicators` into a fresh folder, with the
    /// previous build's folder `previous`; returns the text written (empty when none) and the
    /// report.
    fn render_in(
        previous: &Path,
        syntax: TemplateSyntax,
        source: &str,
        indicators: &[Indicator],
        change: impl Fn(&mut Entry<'_>),
    ) -> (String, OutputReport) {
        let dir = tempfile::tempdir().unwrap();
        let mut entries: Vec<Entry<'_>> = indicators.iter().map(entry).collect();
        entries.iter_mut().for_each(change);
        let allowed = AddressSet::default();
        let t = target_with(dir.path(), "out.txt", OutputFormat::Template, &allowed, |o| {
            o.template = Some("t.txt".to_owned());
            o.syntax = Some(syntax);
        });
        let templates = BTreeMap::from([("t.txt".to_owned(), source.to_owned())]);
        let report = write(&t, previous, &templates, &entries).unwrap();
        let path = dir.path().join("out.txt");
        let text = if path.exists() { read(dir.path(), "out.txt") } else { String::new() };
        (text, report)
    }

    fn render(
        syntax: TemplateSyntax,
        source: &str,
        indicators: &[Indicator],
    ) -> (String, OutputReport) {
        let none = tempfile::tempdir().unwrap();
        render_in(none.path(), syntax, source, indicators, |_| {})
    }

    const VALUES: &str = "{% for e in entries %}{{ e.value }}\n{% endfor %}";

    // The context a build renders (entries read one field at a time) says what the context
    // `check` renders says (every entry serialized): each field, every field in order, the
    // entry as JSON, and the list's length, index and sort.
    #[test]
    fn the_lazy_entries_read_as_the_serialized_ones() {
        use crate::config::template::{TemplateContext, TemplateEntry};
        let dir = tempfile::tempdir().unwrap();
        let indicators = [
            Indicator::new(AttrType::IpDst, "198.51.100.7"),
            Indicator::new(AttrType::Domain, "bad.example"),
            Indicator::new(AttrType::Url, "http://bad.example/\"\u{1}"),
        ];
        let mut entries: Vec<Entry<'_>> = indicators.iter().map(entry).collect();
        entries[0].score = Some(42.125);
        entries[0].first_seen = Some(1_700_000_000);
        entries[1].feeds = vec!["a", "b"];
        entries[2].to_ids = true;
        let allowed = AddressSet::default();
        let t = target_with(dir.path(), "out.txt", OutputFormat::Template, &allowed, |_| {});
        let source = "{{ entries | length }} {{ entries[1].value }}\n\
                      {% for e in entries %}{{ loop.index }} {{ e.type }} {{ e.value }} \
                      {{ e.score }} {{ e.first_seen }} {{ e.first_seen_unix }} {{ e.last_seen }} \
                      {{ e.last_seen_unix }} {{ e.feeds }} {{ e.to_ids }} {{ e | tojson }} \
                      {% for k, v in e | items %}{{ k }}={{ v }};{% endfor %}\n{% endfor %}\
                      {{ entries | map(attribute='value') | sort | join(',') }}";
        let (lazy, skips) = context(&t, TemplateSyntax::Json, &entries);
        assert_eq!(skips.total(), 0);
        let serialized = TemplateContext {
            task: TemplateTask { id: t.task_id, name: one_line(t.task_name) },
            now: rfc3339(t.now),
            now_unix: t.now,
            entries: entries
                .iter()
                .map(|e| TemplateEntry {
                    kind: e.indicator.kind.as_str(),
                    value: &e.indicator.value,
                    score: rounded(e.score),
                    first_seen: e.first_seen.map(rfc3339),
                    first_seen_unix: e.first_seen,
                    last_seen: rfc3339(e.reference_time),
                    last_seen_unix: e.reference_time,
                    feeds: e.feeds.clone(),
                    to_ids: e.to_ids,
                })
                .collect(),
            counts: TemplateCounts {
                selected: 3,
                entries: 3,
                skipped: 0,
                by_type: BTreeMap::from([("domain", 1), ("ip-dst", 1), ("url", 1)]),
            },
        };
        for syntax in [TemplateSyntax::Json, TemplateSyntax::Line] {
            let env = environment(syntax);
            let template = env.template_from_str(source).unwrap();
            let from_lazy = template.render(&lazy).unwrap();
            let from_serialized = template.render(Value::from(Serde(&serialized))).unwrap();
            assert_eq!(from_lazy, from_serialized, "{syntax:?}");
            assert!(from_lazy.contains("42.13") && from_lazy.contains("2023-11-14T22:13:20Z"));
        }
        let env = environment(TemplateSyntax::Line);
        let counts =
            env.template_from_str("{{ counts }} {{ task }} {{ now }} {{ now_unix }}").unwrap();
        assert_eq!(
            counts.render(&lazy).unwrap(),
            counts.render(Value::from(Serde(&serialized))).unwrap()
        );
    }

    /// Values from feeds that a syntax may have to refuse: line breaks, a Unicode line
    /// separator, spaces, a tab, `;`, quotes, template syntax, markup, a comment mark, a
    /// spreadsheet formula and an empty value.
    const HOSTILE: [&str; 15] = [
        "bad.example",
        "bad.example\nevil.example",
        "bad.example\r",
        "bad\u{2028}example",
        "bad example",
        "bad.example\t",
        "bad.example;reboot",
        "\"bad.example\"",
        "bad'.example",
        "{{now}}.example",
        "{%raw%}.example",
        "<script>alert(1)</script>",
        "#bad.example",
        "=cmd|'/C'!A0",
        "",
    ];

    fn hostile(kind: AttrType) -> Vec<Indicator> {
        HOSTILE.iter().map(|v| Indicator::new(kind, *v)).collect()
    }

    #[test]
    fn a_template_receives_the_task_the_time_the_entries_and_the_counts() {
        let dir = tempfile::tempdir().unwrap();
        let indicators =
            [Indicator::new(AttrType::IpDst, "198.51.100.7"), Indicator::new(AttrType::Url, "x")];
        let source = "# {{ task.name }} ({{ task.id }}) {{ now }} {{ now_unix }} \
                      {{ counts.selected }}/{{ counts.entries }}/{{ counts.skipped }}\n\
                      {% for e in entries %}{{ e.type }} {{ e.value }} {{ e.score }} \
                      {{ e.first_seen }} {{ e.last_seen_unix | date }} {{ e.feeds | join(\"+\") }}\n\
                      {% endfor %}";
        let (text, report) = render_in(dir.path(), TemplateSyntax::Ip, source, &indicators, |e| {
            e.score = Some(74.125_1);
            e.first_seen = Some(3_600);
            e.reference_time = 86_400;
            e.feeds = vec!["a", "b"];
        });
        assert_eq!(
            text,
            "# Test list (t) 1970-01-01T00:00:00Z 0 2/1/1\n\
             ip-dst 198.51.100.7 74.13 1970-01-01T01:00:00Z 1970-01-02 a+b\n"
        );
        assert_eq!((report.entries, report.skipped), (1, 1));
        assert_eq!(report.skipped_reasons["unsupported_type"], 1);
        assert_eq!(report.format, OutputFormat::Template);
        assert!(report.error.is_none());
    }

    #[test]
    fn line_skips_white_space_control_characters_empty_values_and_comments() {
        let (text, report) = render(TemplateSyntax::Line, VALUES, &hostile(AttrType::Text));
        // What passes is written as it is, template syntax included: output is never
        // rendered again.
        let expected: Vec<&str> = [0, 6, 7, 8, 9, 10, 11, 13].iter().map(|&i| HOSTILE[i]).collect();
        assert_eq!(text.lines().collect::<Vec<_>>(), expected);
        assert_eq!(report.skipped_reasons["white_space_or_control"], 5);
        assert_eq!(report.skipped_reasons["starts_with_hash"], 1);
        assert_eq!(report.skipped_reasons["empty_value"], 1);
        assert_eq!((report.entries, report.skipped), (8, 7));
    }

    #[test]
    fn csv_quotes_each_field_and_skips_control_characters_and_formulas() {
        let source = "value,type\n{% for e in entries %}{{ e.value }},{{ e.type }}\n{% endfor %}";
        let (text, report) = render(TemplateSyntax::Csv, source, &hostile(AttrType::Text));
        // Read back by a CSV parser, each row holds the value whole, in two fields.
        let mut reader = ::csv::Reader::from_reader(text.as_bytes());
        let read: Vec<String> = reader
            .records()
            .map(|r| {
                let r = r.unwrap();
                assert_eq!(r.len(), 2, "{r:?}");
                r[0].to_owned()
            })
            .collect();
        let expected: Vec<&str> =
            [0, 3, 4, 6, 7, 8, 9, 10, 11, 12, 14].iter().map(|&i| HOSTILE[i]).collect();
        assert_eq!(read, expected);
        assert_eq!(report.skipped_reasons["control_character"], 3);
        assert_eq!(report.skipped_reasons["spreadsheet_formula"], 1);
        assert!(text.contains("\n\"\"\"bad.example\"\"\",text\n"), "{text}");
    }

    #[test]
    fn json_writes_every_value_escaped() {
        let source = "[{% for e in entries %}{{ e.value }}{% if not loop.last %}, {% endif %}\
                      {% endfor %}]\n";
        let mut indicators = hostile(AttrType::Text);
        let long = "x".repeat(100_000);
        indicators.push(Indicator::new(AttrType::Text, long.as_str()));
        let (text, report) = render(TemplateSyntax::Json, source, &indicators);
        let parsed: Vec<String> = serde_json::from_str(&text).unwrap();
        let mut expected: Vec<String> = HOSTILE.iter().map(|v| (*v).to_owned()).collect();
        expected.push(long);
        assert_eq!(parsed, expected);
        assert_eq!(report.skipped, 0);
        assert_eq!(text.lines().count(), 1, "no value breaks the line");
    }

    #[test]
    fn dns_writes_names_only_under_the_dns_name_rules() {
        let mut indicators = hostile(AttrType::Domain);
        let label = "a".repeat(63);
        for value in [
            format!("{}.example", "a".repeat(64)),
            format!("{label}.{label}.{label}.{label}"),
            "$ORIGIN.example".to_owned(),
            "com".to_owned(),
        ] {
            indicators.push(Indicator::new(AttrType::Domain, value));
        }
        indicators.push(Indicator::new(AttrType::Hostname, "cdn.bad.example"));
        indicators.push(Indicator::new(AttrType::Url, "http://bad.example/"));
        let (text, report) = render(TemplateSyntax::Dns, VALUES, &indicators);
        assert_eq!(text, "bad.example\ncdn.bad.example\n");
        assert_eq!(report.skipped_reasons["label_too_long"], 1);
        assert_eq!(report.skipped_reasons["name_too_long"], 1);
        assert_eq!(report.skipped_reasons["single_label"], 1);
        assert_eq!(report.skipped_reasons["unsupported_type"], 1);
        assert_eq!(report.skipped_reasons["empty_name"], 1);
        assert_eq!((report.entries, report.skipped), (2, indicators.len() as u64 - 2));
    }

    #[test]
    fn ip_writes_addresses_and_networks_only() {
        let indicators: Vec<Indicator> = [
            "198.51.100.7",
            "203.0.113.0/24",
            "2001:db8::1",
            "198.51.100.7\n10.0.0.0/8",
            " 198.51.100.7",
            "198.51.100.7;",
            "{{now}}",
            &format!("198.51.100.{}", "7".repeat(100_000)),
        ]
        .iter()
        .map(|v| Indicator::new(AttrType::IpDst, *v))
        .chain([Indicator::new(AttrType::IpDstPort, "198.51.100.7|80")])
        .collect();
        let (text, report) = render(TemplateSyntax::Ip, VALUES, &indicators);
        assert_eq!(text, "198.51.100.7\n203.0.113.0/24\n2001:db8::1\n");
        assert_eq!(report.skipped_reasons["not_an_address"], 5);
        assert_eq!(report.skipped_reasons["composite_value"], 1);
    }

    #[test]
    fn a_very_long_value_is_written_whole_on_one_line() {
        let long = format!("http://bad.example/{}", "a".repeat(100_000));
        let indicators = [Indicator::new(AttrType::Url, long.as_str())];
        let (text, _) = render(TemplateSyntax::Line, VALUES, &indicators);
        assert_eq!(text, format!("{long}\n"));
    }

    #[test]
    fn the_same_entries_and_time_give_the_same_bytes() {
        let source = "{{ now }}\n{% for e in entries %}{{ e.value }} {{ e.score }}\n{% endfor %}";
        let indicators = hostile(AttrType::Text);
        let once = |_: u8| {
            let none = tempfile::tempdir().unwrap();
            render_in(none.path(), TemplateSyntax::Line, source, &indicators, |e| {
                e.score = Some(1.0 / 3.0);
            })
        };
        let (first, a) = once(1);
        let (second, b) = once(2);
        assert_eq!(first, second);
        assert_eq!(a.sha256, b.sha256);
        assert!(first.contains(" 0.33\n"), "{first}");
    }

    #[test]
    fn a_template_that_fails_on_the_data_keeps_the_previous_file() {
        // The check's sample has one entry; this build has none, so `first` is undefined.
        let source = "{{ (entries | first).value }}\n";
        let previous = tempfile::tempdir().unwrap();
        std::fs::write(previous.path().join("out.txt"), "old.example\n").unwrap();
        let (text, report) = render_in(previous.path(), TemplateSyntax::Line, source, &[], |_| {});
        assert_eq!(text, "old.example\n");
        assert_eq!(report.entries, 0);
        assert_eq!(report.bytes, 12);
        let error = report.error.unwrap();
        assert!(error.starts_with("template `t.txt` failed: undefined value"), "{error}");
        assert!(error.ends_with("the previous build's file is kept"), "{error}");

        // Without a previous file, none is written: an empty list is never published.
        let (text, report) = render(TemplateSyntax::Line, source, &[]);
        assert_eq!(text, "");
        assert_eq!((report.bytes, report.sha256.as_str()), (0, ""));
        assert!(report.error.unwrap().ends_with("none is written"));
    }
}
