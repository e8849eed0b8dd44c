//! The static site: an index with feed health and downloads, one page per feed, per task and
//! per decay model.
//!
//! Pages are rendered with minijinja from the templates built into the binary
//! (`templates/` in the source tree). A file of the same name in the repository's own
//! `templates/` folder replaces the built-in one, so a team can restyle its site without a
//! fork. Autoescaping is on for `.html` and undefined variables are errors, so a typo in a
//! template fails the build instead of printing nothing, and no feed-derived text reaches a
//! page unescaped. Links are relative, so the site works under any sub-path and from
//! `file://`.
//!
//! A model's page carries two charts drawn here as inline SVG (see [`chart`]): its decay
//! curves, from points the build sampled, and the histogram of the scores it gave. They reach
//! the template as markup marked safe; the chart code escapes every text inside them.
//!
//! [`chart`]: super::chart

use std::fmt::Write as _;
use std::path::Path;

use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior, context};

use super::chart::{self, Axis, Bar, BarChart, LineChart, Marker, Rule, Series};
use super::lookup_index::Written;
use super::{ExportError, rfc3339, write_file};
use crate::history::History;
use crate::report::{BuildReport, ModelReport, SCORE_BUCKETS, ScoreHistogram};

/// The built-in templates and assets, by name.
const BUILTIN: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("index.html", include_str!("../../templates/index.html")),
    ("feed.html", include_str!("../../templates/feed.html")),
    ("task.html", include_str!("../../templates/task.html")),
    ("model.html", include_str!("../../templates/model.html")),
    ("lookup.html", include_str!("../../templates/lookup.html")),
    ("changes.html", include_str!("../../templates/changes.html")),
    ("style.css", include_str!("../../templates/style.css")),
    ("lookup.js", include_str!("../../templates/lookup.js")),
];

/// The built-in files copied to the site as they are, not rendered.
const ASSETS: &[&str] = &["style.css", "lookup.js"];

/// One decay curve of a model's page: the score of one base score from 0 to τ days.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub struct Curve {
    /// Where the base score comes from: `default base score`, or the tag that gives it.
    pub label: String,
    /// The base score B.
    pub base: f64,
    /// `(days, score)` after the reference time, in order, from 0 to τ.
    #[serde(skip)]
    pub points: Vec<(f64, f64)>,
    /// Seconds after the reference time from which the score is below θ (0 when B is below
    /// θ already); none when it never is.
    pub expires_after_secs: Option<i64>,
}

/// The curves of the model with this id, the default base score first.
#[derive(Clone, Debug, PartialEq)]
pub struct ModelCurves {
    /// The model id.
    pub model: String,
    /// The curves.
    pub curves: Vec<Curve>,
}

/// Renders the site for `report` into `dir`, using overrides from `user_templates`; `curves`
/// holds the sampled decay curves of the models that have a page.
pub fn write(
    dir: &Path,
    report: &BuildReport,
    history: &History,
    curves: &[ModelCurves],
    lookup: &Written,
    user_templates: &Path,
) -> Result<u64, ExportError> {
    let env = environment(user_templates)?;
    let mut pages = 0;
    let render = |name: &str, ctx: minijinja::Value| -> Result<String, ExportError> {
        env.get_template(name)
            .and_then(|t| t.render(ctx))
            .map_err(|e| ExportError::Template { name: name.to_owned(), message: describe(&e) })
    };

    let built = rfc3339(report.now_unix);
    let report_value = Value::from(Serde(report));
    let index = render(
        "index.html",
        context! {
            report => report_value.clone(),
            root => "",
            built => built.clone(),
            changes => Value::from(Serde(changes(report, history))),
        },
    )?;
    write_file(&dir.join("index.html"), index.as_bytes())?;
    pages += 1;
    for feed in &report.feeds {
        let page = render(
            "feed.html",
            context! {
                report => report_value.clone(),
                feed => Value::from(Serde(feed)),
                history_chart => feed_history_chart(&feed.id, history).map(Value::from_safe_string),
                changed => report.changes.as_ref().map(|c| {
                    Value::from(Serde(c.feeds.iter().find(|change| change.name == feed.id)))
                }),
                changes_since => report.changes.as_ref().map(|c| c.since.clone()),
                root => "../",
                built => built.clone(),
            },
        )?;
        write_file(&dir.join("feeds").join(format!("{}.html", feed.id)), page.as_bytes())?;
        pages += 1;
    }
    for task in &report.tasks {
        let page = render(
            "task.html",
            context! {
                report => report_value.clone(),
                task => Value::from(Serde(task)),
                root => "../",
                built => built.clone(),
            },
        )?;
        write_file(&dir.join("tasks").join(format!("{}.html", task.id)), page.as_bytes())?;
        pages += 1;
    }
    for model in &report.models {
        let lines: &[Curve] =
            curves.iter().find(|c| c.model == model.id).map_or(&[], |c| c.curves.as_slice());
        let page = render(
            "model.html",
            context! {
                report => report_value.clone(),
                model => Value::from(Serde(model)),
                curves => Value::from(Serde(lines)),
                curve_chart => Value::from_safe_string(curve_chart(model, lines)),
                score_chart => Value::from_safe_string(score_chart(model)),
                threshold_bucket => (model.threshold > 0.0).then(|| ScoreHistogram::bucket(model.threshold)),
                root => "../",
                built => built.clone(),
            },
        )?;
        write_file(&dir.join("models").join(format!("{}.html", model.id)), page.as_bytes())?;
        pages += 1;
    }
    let page = render(
        "lookup.html",
        context! {
            report => report_value.clone(),
            index_values => lookup.values,
            root => "",
            built => built.clone(),
        },
    )?;
    write_file(&dir.join("lookup.html"), page.as_bytes())?;
    let page = render(
        "changes.html",
        context! {
            report => report_value.clone(),
            examples => super::lookup_index::CHANGE_EXAMPLES,
            root => "",
            built => built.clone(),
        },
    )?;
    write_file(&dir.join("changes.html"), page.as_bytes())?;
    pages += 2;
    for asset in ASSETS {
        let text = template_source(asset, user_templates).unwrap_or_default();
        write_file(&dir.join(asset), text.as_bytes())?;
    }
    Ok(pages)
}

/// The source of a template: the user's file if present, else the built-in one.
fn template_source(name: &str, user_templates: &Path) -> Option<String> {
    let user = user_templates.join(name);
    if let Ok(text) = std::fs::read_to_string(&user) {
        return Some(text);
    }
    BUILTIN.iter().find(|(n, _)| *n == name).map(|(_, s)| (*s).to_owned())
}

fn environment(user_templates: &Path) -> Result<Environment<'static>, ExportError> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_auto_escape_callback(|name| {
        let is_html = Path::new(name).extension().is_some_and(|e| e.eq_ignore_ascii_case("html"));
        if is_html { AutoEscape::Html } else { AutoEscape::None }
    });
    env.add_filter("bytes", human_bytes);
    env.add_filter("number", number);
    env.add_filter("duration", duration);
    for (name, _) in BUILTIN.iter().filter(|(name, _)| !ASSETS.contains(name)) {
        if let Some(source) = template_source(name, user_templates) {
            env.add_template_owned((*name).to_owned(), source).map_err(|e| {
                ExportError::Template { name: (*name).to_owned(), message: describe(&e) }
            })?;
        }
    }
    Ok(env)
}

/// Formats a byte count for people (`1.5 MB`).
fn human_bytes(value: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KB", "MB", "GB"];
    let mut size = value as f64;
    let mut unit = 0;
    while size >= 1000.0 && unit < UNITS.len() - 1 {
        size /= 1000.0;
        unit += 1;
    }
    if unit == 0 { format!("{value} B") } else { format!("{size:.1} {}", UNITS[unit]) }
}

/// A number with at most `decimals` decimals (2 by default), trailing zeros dropped: scores
/// and parameters read `46.88`, `80`, `2.3`.
fn number(value: f64, decimals: Option<u8>) -> String {
    chart::plain_number(value, usize::from(decimals.unwrap_or(2)))
}

/// Seconds as days, hours, minutes and seconds (`46 d 21 h 0 min 1 s`), leading zero units
/// dropped.
fn duration(secs: i64) -> String {
    let secs = secs.max(0);
    let (days, rest) = (secs / 86_400, secs % 86_400);
    let (hours, rest) = (rest / 3600, rest % 3600);
    let (minutes, seconds) = (rest / 60, rest % 60);
    let parts = [(days, "d"), (hours, "h"), (minutes, "min"), (seconds, "s")];
    let first = parts.iter().position(|(n, _)| *n > 0).unwrap_or(parts.len() - 1);
    parts[first..].iter().map(|(n, unit)| format!("{n} {unit}")).collect::<Vec<_>>().join(" ")
}

/// The decay chart of a model: its curves over 0..τ days, θ as a rule, and the default curve's
/// crossing of θ marked.
fn curve_chart(model: &ModelReport, curves: &[Curve]) -> String {
    let highest = curves.iter().map(|c| c.base).fold(model.default_base_score, f64::max);
    let y = Axis::rounded("score", highest.max(100.0), 5, false);
    let series = curves
        .iter()
        .map(|c| Series {
            name: format!("B = {} ({})", chart::plain_number(c.base, 2), c.label),
            points: c.points.clone(),
        })
        .collect();
    let mut rules = Vec::new();
    if model.threshold > 0.0 {
        rules.push(Rule {
            value: model.threshold,
            label: format!("threshold θ = {}", chart::plain_number(model.threshold, 2)),
        });
    }
    let mut markers = Vec::new();
    let mut crossing = String::new();
    if let Some(default) = curves.first()
        && let Some(secs) = default.expires_after_secs
        && secs > 0
    {
        let days = secs as f64 / 86_400.0;
        let label = format!("expired from day {}", chart::plain_number(days, 2));
        crossing = format!(
            " With the default base score it falls below the threshold after {} days.",
            chart::plain_number(days, 2)
        );
        markers.push(Marker { x: days, y: model.threshold, label });
    }
    LineChart {
        id: format!("curve-{}", model.id),
        title: format!("Decay of {}", model.name),
        desc: format!(
            "Score over the {} days of the lifetime, from the base score down to 0, with the threshold {} as a horizontal line.{crossing}",
            chart::plain_number(model.lifetime_days, 2),
            chart::plain_number(model.threshold, 2),
        ),
        x: Axis::new("days after the indicator was last seen", 0.0, model.lifetime_days, 6),
        y,
        series,
        rules,
        markers,
    }
    .to_svg()
}

/// What changed since the previous build, from the history: per type and per feed, the
/// indicators then and now, for the index.
#[derive(serde::Serialize)]
struct Changes {
    /// The previous build's time, RFC 3339; `None` on a first build.
    since: Option<String>,
    /// `(type, then, now)`, every type of either build, by name.
    types: Vec<(String, u64, u64)>,
    /// `(feed id, then, now)` of the feeds whose count moved, by feed id.
    feeds: Vec<(String, u64, u64)>,
}

fn changes(report: &BuildReport, history: &History) -> Changes {
    // The history already holds this build, at its end.
    let previous = history.builds.iter().rev().find(|b| b.now_unix < report.now_unix);
    let Some(previous) = previous else {
        return Changes { since: None, types: Vec::new(), feeds: Vec::new() };
    };
    let mut types: std::collections::BTreeMap<&str, (u64, u64)> = std::collections::BTreeMap::new();
    for (kind, &count) in &previous.by_type {
        types.entry(kind).or_default().0 = count;
    }
    for (kind, &count) in &report.by_type {
        types.entry(kind).or_default().1 = count;
    }
    let feeds = report
        .feeds
        .iter()
        .map(|f| {
            (f.id.clone(), previous.feeds.get(&f.id).map_or(0, |p| p.indicators), f.indicators)
        })
        .filter(|(_, then, now)| then != now)
        .collect();
    Changes {
        since: Some(rfc3339(previous.now_unix)),
        types: types.into_iter().map(|(k, (then, now))| (k.to_owned(), then, now)).collect(),
        feeds,
    }
}

/// The builds a feed page's chart shows, the latest last.
pub const HISTORY_CHART_BUILDS: usize = 90;

/// A feed's indicators over the last [`HISTORY_CHART_BUILDS`] builds that read it, as a line
/// chart against days before the latest; `None` before the feed's second build.
fn feed_history_chart(feed: &str, history: &History) -> Option<String> {
    let builds: Vec<(i64, u64)> = history
        .builds
        .iter()
        .filter_map(|b| b.feeds.get(feed).map(|f| (b.now_unix, f.indicators)))
        .collect();
    let builds = &builds[builds.len().saturating_sub(HISTORY_CHART_BUILDS)..];
    let (&(latest, _), &(first, _)) = (builds.last()?, builds.first()?);
    if builds.len() < 2 {
        return None;
    }
    let day = |time: i64| (time - latest) as f64 / 86_400.0;
    let most = builds.iter().map(|&(_, n)| n).max().unwrap_or(0);
    let said: Vec<String> =
        builds.iter().map(|&(time, n)| format!("{n} on {}", rfc3339(time))).collect();
    let chart = LineChart {
        id: "history".to_owned(),
        title: format!("Indicators of {feed} per build"),
        desc: format!(
            "Distinct indicators the feed gave in each of its last {} builds: {}.",
            builds.len(),
            said.join(", ")
        ),
        x: Axis::new("days before this build", day(first).min(-1.0), 0.0, 6),
        y: Axis::rounded("indicators", (most as f64).max(1.0), 5, true),
        series: vec![Series {
            name: "indicators".to_owned(),
            points: builds.iter().map(|&(time, n)| (day(time), n as f64)).collect(),
        }],
        rules: Vec::new(),
        markers: Vec::new(),
    };
    Some(chart.to_svg())
}

/// The labels of the score buckets: `0–10` … `90–100`, `≥100`.
fn bucket_labels() -> Vec<String> {
    (0..SCORE_BUCKETS)
        .map(|i| {
            if i + 1 == SCORE_BUCKETS {
                format!("≥{}", i * 10)
            } else {
                format!("{}–{}", i * 10, (i + 1) * 10)
            }
        })
        .collect()
}

/// The histogram chart of a model's scores in this build, the bucket that holds θ marked.
fn score_chart(model: &ModelReport) -> String {
    let scores = &model.scores;
    let threshold_bucket = ScoreHistogram::bucket(model.threshold);
    let highest = scores.buckets.iter().copied().max().unwrap_or(0);
    let bars = bucket_labels()
        .into_iter()
        .zip(scores.buckets)
        .enumerate()
        .map(|(i, (label, count))| Bar {
            label,
            value: count as f64,
            highlight: model.threshold > 0.0 && i == threshold_bucket,
        })
        .collect();
    BarChart {
        id: format!("scores-{}", model.id),
        title: format!("Current scores under {}", model.name),
        desc: format!(
            "How many of the {} indicators this model scored in this build have a score in each bucket of 10 points; {} are kept and {} expired.",
            scores.total(),
            scores.kept,
            scores.expired
        ),
        x_label: "score at the build time".to_owned(),
        y: Axis::rounded("indicators", highest as f64, 5, true),
        bars,
        highlight_label: if model.threshold > 0.0 {
            format!("bucket holding the threshold {}", chart::plain_number(model.threshold, 2))
        } else {
            String::new()
        },
    }
    .to_svg()
}

fn describe(error: &minijinja::Error) -> String {
    let mut message = error.to_string();
    if let Some(line) = error.line() {
        let _ = write!(message, " (line {line})");
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_counts_read_as_people_write_them() {
        assert_eq!(human_bytes(999), "999 B");
        assert_eq!(human_bytes(1500), "1.5 KB");
        assert_eq!(human_bytes(2_500_000), "2.5 MB");
    }

    #[test]
    fn durations_read_from_the_largest_unit() {
        assert_eq!(duration(4_050_001), "46 d 21 h 0 min 1 s");
        assert_eq!(duration(87_935), "1 d 0 h 25 min 35 s");
        assert_eq!(duration(61), "1 min 1 s");
        assert_eq!(duration(0), "0 s");
    }

    #[test]
    fn scores_on_pages_have_at_most_two_decimals() {
        assert_eq!(number(30.381_233_557_813_56, None), "30.38");
        assert_eq!(number(80.0, None), "80");
        assert_eq!(number(0.166_7, Some(4)), "0.1667");
    }

    #[test]
    fn buckets_are_labelled_by_their_edges() {
        let labels = bucket_labels();
        assert_eq!(labels.len(), 11);
        assert_eq!(labels[0], "0–10");
        assert_eq!(labels[9], "90–100");
        assert_eq!(labels[10], "≥100");
    }
}
