//! The static site: an index with feed health and downloads, an overlap page, and one page
//! per feed, per task and per decay model.
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
//! Feed and task pages chart their counts over the last [`HISTORY_CHART_BUILDS`] builds of the
//! history, through one function that takes the series to draw. The overlap page draws the
//! report's pairs of feeds as a heat map; each feed page lists the feeds it shares
//! indicators with.
//!
//! [`chart`]: super::chart

use std::fmt::Write as _;
use std::path::Path;

use minijinja::value::{Serde, Value};
use minijinja::{AutoEscape, Environment, UndefinedBehavior, context};

use super::chart::{self, Axis, Bar, BarChart, HeatCell, HeatMap, LineChart, Marker, Rule, Series};
use super::lookup_index::Written;
use super::{ExportError, rfc3339, write_file};
use crate::history::History;
use crate::report::{BuildReport, FeedReport, ModelReport, SCORE_BUCKETS, ScoreHistogram};

/// The built-in templates and assets, by name.
const BUILTIN: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/base.html")),
    ("index.html", include_str!("../../templates/index.html")),
    ("feed.html", include_str!("../../templates/feed.html")),
    ("task.html", include_str!("../../templates/task.html")),
    ("model.html", include_str!("../../templates/model.html")),
    ("overlap.html", include_str!("../../templates/overlap.html")),
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
            current => "index.html",
            built => built.clone(),
            changes => Value::from(Serde(changes(report, history))),
        },
    )?;
    write_file(&dir.join("index.html"), index.as_bytes())?;
    pages += 1;
    let overlap = Overlap::new(report);
    let page = render(
        "overlap.html",
        context! {
            report => report_value.clone(),
            root => "",
            current => "overlap.html",
            built => built.clone(),
            overlap => Value::from(Serde(overlap.page())),
            heat_map => overlap.heat_map().map(Value::from_safe_string),
        },
    )?;
    write_file(&dir.join("overlap.html"), page.as_bytes())?;
    pages += 1;
    for feed in &report.feeds {
        let page = render(
            "feed.html",
            context! {
                report => report_value.clone(),
                feed => Value::from(Serde(feed)),
                history_chart => feed_history_chart(&feed.id, history).map(Value::from_safe_string),
                overlap => Value::from(Serde(overlap.of_feed(&feed.id))),
                changed => report.changes.as_ref().map(|c| {
                    Value::from(Serde(c.feeds.iter().find(|change| change.name == feed.id)))
                }),
                changes_since => report.changes.as_ref().map(|c| c.since.clone()),
                root => "../",
                current => "",
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
                history_chart => task_history_chart(&task.id, history).map(Value::from_safe_string),
                root => "../",
                current => "",
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
                current => "",
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
            current => "lookup.html",
            built => built.clone(),
        },
    )?;
    write_file(&dir.join("lookup.html"), page.as_bytes())?;
    let page = render(
        "changes.html",
        context! {
            report => report_value.clone(),
            examples => super::index_compare::CHANGE_EXAMPLES,
            root => "",
            current => "changes.html",
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
    // Rejected lines are shown as the CLI shows them: a right-to-left override or a line
    // separator inside one would otherwise reorder or break what the reader sees.
    env.add_filter("shown", |text: &str| crate::text::shown(text, crate::text::WHOLE));
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
    let builds: Vec<(i64, Vec<u64>)> = history
        .builds
        .iter()
        .filter_map(|b| b.feeds.get(feed).map(|f| (b.now_unix, vec![f.indicators])))
        .collect();
    history_chart(
        &format!("Indicators of {feed} per build"),
        "Distinct indicators the feed gave",
        &["indicators"],
        &builds,
    )
}

/// A task's selected, expired and warning-listed indicators over the last
/// [`HISTORY_CHART_BUILDS`] builds that ran it, one line each; `None` before its second build.
fn task_history_chart(task: &str, history: &History) -> Option<String> {
    let builds: Vec<(i64, Vec<u64>)> = history
        .builds
        .iter()
        .filter_map(|b| {
            b.tasks.get(task).map(|t| (b.now_unix, vec![t.selected, t.expired, t.warninglisted]))
        })
        .collect();
    history_chart(
        &format!("Indicators of {task} per build"),
        "Indicators the task selected, left out as expired and left out by warning lists",
        &["selected", "expired", "warning-listed"],
        &builds,
    )
}

/// Counts over builds as a line chart against days before the latest build: `builds` holds
/// `(time, counts)` in time order, `counts[i]` the value of the series named `names[i]`. Only
/// the last [`HISTORY_CHART_BUILDS`] are drawn, and nothing before the second build. The
/// description says every count with its build time, after `what`.
fn history_chart(
    title: &str,
    what: &str,
    names: &[&str],
    builds: &[(i64, Vec<u64>)],
) -> Option<String> {
    let builds = &builds[builds.len().saturating_sub(HISTORY_CHART_BUILDS)..];
    let (latest, first) = (builds.last()?.0, builds.first()?.0);
    if builds.len() < 2 {
        return None;
    }
    let day = |time: i64| (time - latest) as f64 / 86_400.0;
    let most = builds.iter().flat_map(|(_, counts)| counts.iter().copied()).max().unwrap_or(0);
    let said: Vec<String> = builds
        .iter()
        .map(|(time, counts)| {
            if let ([_], [n]) = (names, counts.as_slice()) {
                return format!("{n} on {}", rfc3339(*time));
            }
            let counts: Vec<String> =
                names.iter().zip(counts).map(|(name, n)| format!("{n} {name}")).collect();
            format!("on {}, {}", rfc3339(*time), counts.join(", "))
        })
        .collect();
    let separator = if names.len() == 1 { ", " } else { "; " };
    let series = names
        .iter()
        .enumerate()
        .map(|(i, name)| Series {
            name: (*name).to_owned(),
            points: builds
                .iter()
                .map(|(time, counts)| (day(*time), counts.get(i).copied().unwrap_or(0) as f64))
                .collect(),
        })
        .collect();
    let chart = LineChart {
        id: "history".to_owned(),
        title: title.to_owned(),
        desc: format!(
            "{what} in each of its last {} builds: {}.",
            builds.len(),
            said.join(separator)
        ),
        x: Axis::new("days before this build", day(first).min(-1.0), 0.0, 6),
        y: Axis::rounded("indicators", (most as f64).max(1.0), 5, true),
        series,
        rules: Vec::new(),
        markers: Vec::new(),
    };
    Some(chart.to_svg())
}

/// How many pairs the overlap page's table shows, the most shared first.
pub const OVERLAP_TOP_PAIRS: usize = 50;

/// How many pairs the heat map's description names, the most shared first; each feed's page
/// lists all of its own.
const OVERLAP_DESC_PAIRS: usize = 100;

/// What the site says about the indicators feeds share, from the report's pairs.
struct Overlap<'a> {
    /// Every feed, in report order.
    feeds: &'a [FeedReport],
    /// `(a, b, shared)` by position in `feeds`, the most shared first, then in feed order.
    pairs: Vec<(usize, usize, u64)>,
}

/// One pair of feeds in the overlap page's table.
#[derive(serde::Serialize)]
struct PairRow<'a> {
    a: SharedWith<'a>,
    b: SharedWith<'a>,
    shared: u64,
}

/// A feed seen from another one: how many indicators they share and what part of each.
#[derive(serde::Serialize)]
struct SharedWith<'a> {
    id: &'a str,
    name: &'a str,
    /// Its distinct indicators.
    indicators: u64,
    /// Indicators it shares with the other feed.
    shared: u64,
    /// `shared` in percent of the other feed's indicators (the page's feed, on a feed page).
    percent_of_this: f64,
    /// `shared` in percent of its own indicators.
    percent_of_it: f64,
}

/// The overlap page's data besides the heat map.
#[derive(serde::Serialize)]
struct OverlapPage<'a> {
    /// The feeds in the matrix: those with indicators.
    drawn: usize,
    /// The feeds left out of it, having no indicators in this build.
    left_out: Vec<(&'a str, &'a str)>,
    /// How many pairs share at least one indicator.
    pairs: usize,
    /// The first [`OVERLAP_TOP_PAIRS`] of them.
    top: Vec<PairRow<'a>>,
}

/// `part` in percent of `whole`; 0 of nothing.
fn percent(part: u64, whole: u64) -> f64 {
    if whole == 0 { 0.0 } else { part as f64 * 100.0 / whole as f64 }
}

impl<'a> Overlap<'a> {
    fn new(report: &'a BuildReport) -> Overlap<'a> {
        let position: std::collections::HashMap<&str, usize> =
            report.feeds.iter().enumerate().map(|(i, f)| (f.id.as_str(), i)).collect();
        let mut pairs: Vec<(usize, usize, u64)> = report
            .overlap
            .iter()
            .filter_map(|p| {
                Some((*position.get(p.a.as_str())?, *position.get(p.b.as_str())?, p.shared))
            })
            .collect();
        pairs.sort_by(|x, y| y.2.cmp(&x.2).then((x.0, x.1).cmp(&(y.0, y.1))));
        Overlap { feeds: &report.feeds, pairs }
    }

    /// Feed `other` as seen from feed `this`, sharing `shared`.
    fn seen_from(&self, this: usize, other: usize, shared: u64) -> SharedWith<'a> {
        let (this, other) = (&self.feeds[this], &self.feeds[other]);
        SharedWith {
            id: &other.id,
            name: &other.name,
            indicators: other.indicators,
            shared,
            percent_of_this: percent(shared, this.indicators),
            percent_of_it: percent(shared, other.indicators),
        }
    }

    /// The feeds that share indicators with feed `id`, the most shared first.
    fn of_feed(&self, id: &str) -> Vec<SharedWith<'a>> {
        let Some(this) = self.feeds.iter().position(|f| f.id == id) else {
            return Vec::new();
        };
        self.pairs
            .iter()
            .filter_map(|&(a, b, shared)| match (a == this, b == this) {
                (true, _) => Some(self.seen_from(this, b, shared)),
                (_, true) => Some(self.seen_from(this, a, shared)),
                _ => None,
            })
            .collect()
    }

    fn page(&self) -> OverlapPage<'a> {
        let top = self
            .pairs
            .iter()
            .take(OVERLAP_TOP_PAIRS)
            .map(|&(a, b, shared)| PairRow {
                a: self.seen_from(b, a, shared),
                b: self.seen_from(a, b, shared),
                shared,
            })
            .collect();
        OverlapPage {
            drawn: self.feeds.iter().filter(|f| f.indicators > 0).count(),
            left_out: self
                .feeds
                .iter()
                .filter(|f| f.indicators == 0)
                .map(|f| (f.id.as_str(), f.name.as_str()))
                .collect(),
            pairs: self.pairs.len(),
            top,
        }
    }

    /// The feed-by-feed heat map of the feeds with indicators, shaded by the share of the row
    /// feed's indicators that the column feed lists too; `None` with fewer than two such
    /// feeds.
    fn heat_map(&self) -> Option<String> {
        let drawn: Vec<usize> =
            (0..self.feeds.len()).filter(|&i| self.feeds[i].indicators > 0).collect();
        if drawn.len() < 2 {
            return None;
        }
        let place = |feed: usize| drawn.iter().position(|&d| d == feed);
        let mut cells = Vec::with_capacity(self.pairs.len() * 2);
        for &(a, b, shared) in &self.pairs {
            let (Some(ra), Some(rb)) = (place(a), place(b)) else { continue };
            for (row, column, feed, other) in [(ra, rb, a, b), (rb, ra, b, a)] {
                let (this, that) = (&self.feeds[feed], &self.feeds[other]);
                let share = percent(shared, this.indicators);
                cells.push(HeatCell {
                    row,
                    column,
                    level: share / 100.0,
                    text: compact_count(shared),
                    title: format!(
                        "{} and {}: {shared} shared, {} % of the row feed",
                        this.id,
                        that.id,
                        chart::plain_number(share, 1),
                    ),
                });
            }
        }
        let named: Vec<String> = self
            .pairs
            .iter()
            .take(OVERLAP_DESC_PAIRS)
            .map(|&(a, b, shared)| {
                format!("{} and {}: {shared}", self.feeds[a].id, self.feeds[b].id)
            })
            .collect();
        let pairs = match self.pairs.len() {
            0 => "No two of them share an indicator.".to_owned(),
            1 => format!("1 pair shares indicators: {}.", named.join("; ")),
            n if n > named.len() => format!(
                "{n} pairs share indicators; the {} that share the most: {}; each feed's page lists all of its pairs.",
                named.len(),
                named.join("; ")
            ),
            n => format!("{n} pairs share indicators: {}.", named.join("; ")),
        };
        let chart = HeatMap {
            id: "overlap".to_owned(),
            title: "Indicators shared by each pair of feeds".to_owned(),
            desc: format!(
                "A matrix of the {} feeds with indicators in this build, by feed id; the cell of a row and a column is shaded by the share of the row feed's indicators that the column feed lists too. {pairs}",
                drawn.len()
            ),
            labels: drawn.iter().map(|&i| self.feeds[i].id.clone()).collect(),
            cells,
            level_label: "share of the row feed's indicators".to_owned(),
        };
        Some(chart.to_svg())
    }
}

/// A count in at most four characters: `950`, `1.2k`, `12k`, `3.4M`.
fn compact_count(count: u64) -> String {
    let mut value = count as f64;
    for suffix in ["", "k", "M", "G"] {
        if value < 999.5 {
            let decimals = usize::from(!suffix.is_empty() && value < 9.95);
            return format!("{}{suffix}", chart::plain_number(value, decimals));
        }
        value /= 1000.0;
    }
    format!("{}T", chart::plain_number(value, 0))
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

    #[test]
    fn counts_in_heat_map_cells_take_at_most_four_characters() {
        let cases = [
            (0, "0"),
            (999, "999"),
            (1000, "1k"),
            (1234, "1.2k"),
            (9_960, "10k"),
            (123_456, "123k"),
            (999_600, "1M"),
            (3_456_789, "3.5M"),
            (12_000_000_000, "12G"),
        ];
        for (count, text) in cases {
            assert_eq!(compact_count(count), text, "{count}");
            assert!(compact_count(count).chars().count() <= 4);
        }
    }

    /// A report of `feeds` feeds (every third failing with a long message, every sixth of
    /// those stale) and `outputs` outputs over five tasks, every pair of feeds sharing some
    /// indicators; with a history of two builds.
    fn big_report(feeds: usize, outputs: usize) -> (BuildReport, History) {
        use crate::report::{FeedStatus, OutputReport, OverlapPair, TaskReport};
        use std::collections::BTreeMap;
        let now = 1_787_443_200;
        let feed_reports: Vec<FeedReport> = (0..feeds)
            .map(|i| {
                let failed = i % 3 == 2;
                FeedReport {
                    id: format!("provider-feed-number-{i:03}"),
                    name: format!("A provider's blocklist of bad addresses, number {i}"),
                    provider: "A provider of threat intelligence".to_owned(),
                    format: crate::config::FeedFormat::Freetext,
                    source: format!("https://feeds.example.com/lists/{i}/addresses.txt"),
                    licence: Some("CC BY-SA 4.0".to_owned()),
                    homepage: None,
                    status: if failed { FeedStatus::Error } else { FeedStatus::Ok },
                    reason: failed.then(|| "http_status".to_owned()),
                    error: failed.then(|| format!("HTTP status 503 Service Unavailable from https://feeds.example.com/lists/{i}/addresses.txt after 3 attempts; the server said to retry after 3600 seconds")),
                    stale: failed && i % 6 == 5,
                    last_success: Some(rfc3339(now - 86_400 * 3)),
                    failing_since: failed.then(|| rfc3339(now - 86_400 * 2)),
                    origin: Some(crate::fetch::Origin::Network),
                    http_status: Some(if failed { 503 } else { 200 }),
                    bytes: 1_234_567,
                    duration_ms: 0,
                    parse_reused: false,
                    stats: crate::parse::ParseStats::default(),
                    rejected: 12,
                    indicators: 5_000_000 + i as u64,
                    by_type: [("ip-dst".to_owned(), 5_000_000 + i as u64)].into(),
                    tags: vec!["ip".to_owned()],
                }
            })
            .collect();
        let tasks: Vec<TaskReport> = (0..5)
            .map(|t| TaskReport {
                id: format!("task-{t}"),
                name: format!("Firewall blocklist {t}"),
                description: String::new(),
                feeds: feed_reports.iter().map(|f| f.id.clone()).collect(),
                types: Vec::new(),
                selected: 1_000_000,
                expired: 10,
                unscored: 0,
                unscored_dropped: 0,
                reserved: 0,
                other_ip_version: 0,
                in_several_feeds: 0,
                by_feed: BTreeMap::new(),
                warninglisted: 3,
                warninglists: BTreeMap::new(),
                by_type: BTreeMap::new(),
                outputs: (0..outputs / 5)
                    .map(|o| OutputReport {
                        path: format!("task-{t}/blocklist-{o}.txt"),
                        format: crate::config::OutputFormat::Plain,
                        entries: 1_000_000,
                        skipped: 0,
                        skipped_reasons: BTreeMap::new(),
                        bytes: 15_000_000,
                        sha256: "ab".repeat(32),
                        cut: 0,
                        cut_reasons: BTreeMap::new(),
                        cut_file: None,
                        cut_examples: Vec::new(),
                        error: None,
                        left_out: crate::export::LeftOut::default(),
                    })
                    .collect(),
            })
            .collect();
        let mut overlap = Vec::new();
        for a in 0..feeds {
            for b in a + 1..feeds {
                let shared = (a * b % 1000) as u64 + 1;
                overlap.push(OverlapPair {
                    a: feed_reports[a].id.clone(),
                    b: feed_reports[b].id.clone(),
                    shared,
                });
            }
        }
        let report = BuildReport {
            version: "0",
            now: rfc3339(now),
            now_unix: now,
            title: "Blocklists".to_owned(),
            feeds: feed_reports,
            tasks,
            models: Vec::new(),
            by_type: [("ip-dst".to_owned(), 9_000_000)].into(),
            overlap,
            changes: None,
            notes: Vec::new(),
        };
        let mut history = History::default();
        for (when, grow) in [(now - 86_400, 0), (now, 1)] {
            let mut counts = crate::history::BuildCounts {
                now: rfc3339(when),
                now_unix: when,
                ..Default::default()
            };
            for feed in &report.feeds {
                let feed_counts = crate::history::FeedCounts {
                    indicators: feed.indicators - 1 + grow,
                    ..Default::default()
                };
                counts.feeds.insert(feed.id.clone(), feed_counts);
            }
            history.record(counts, 90);
        }
        (report, history)
    }

    #[test]
    fn the_index_of_110_feeds_and_50_outputs_stays_under_200_kb() {
        let (report, history) = big_report(110, 50);
        let dir = tempfile::tempdir().unwrap();
        let lookup = Written { digits: 1, values: 0, shards: 0 };
        let pages =
            write(dir.path(), &report, &history, &[], &lookup, &dir.path().join("none")).unwrap();
        // Index, overlap, look-up and changes, then the feeds and the tasks.
        assert_eq!(pages, 4 + 110 + 5);
        let index = std::fs::read_to_string(dir.path().join("index.html")).unwrap();
        assert!(index.len() < 200_000, "the index is {} bytes", index.len());
        // Every failing feed is in the table of feeds that need a look, and every output in
        // the downloads.
        let attention = &index[index.find("<table class=\"attention\">").unwrap()..];
        let attention = &attention[..attention.find("</table>").unwrap()];
        assert_eq!(attention.matches("<tr>").count(), 1 + 110 / 3);
        assert_eq!(index.matches("<code>abab").count(), 50);
        // The overlap page draws every feed, and its SVG is XML.
        let overlap = std::fs::read_to_string(dir.path().join("overlap.html")).unwrap();
        let start = overlap.find("<svg").unwrap();
        let end = overlap.find("</svg>").unwrap() + "</svg>".len();
        let doc = roxmltree::Document::parse(&overlap[start..end]).expect("the heat map is XML");
        let cells = doc
            .descendants()
            .filter(|n| n.attribute("class").is_some_and(|c| c.starts_with("heat heat-")))
            .count();
        assert_eq!(cells, 110 * 109);
    }
}
