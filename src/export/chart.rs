//! Charts drawn at build time as inline SVG: a line chart (decay curves, counts over builds),
//! a bar chart (score histograms) and a heat map (indicators shared by feeds).
//!
//! A chart is a plain `<svg>` string with no script, meant to sit inside an HTML page. Every
//! text in it (title, description, labels) is escaped here, so a caller may pass any string.
//! Colours are not written into the markup: elements carry classes (`series-0`, `rule`,
//! `marker`, `bar`, `highlight`, …) that `style.css` colours from its variables, so the light
//! and the dark scheme both work. Every coordinate is written with two fixed decimals, so the
//! same data gives the same bytes.
//!
//! The line and the bar chart share one frame: a [`WIDTH`] × [`HEIGHT`] view box (taller when the legend
//! needs more than one row) with the plot area inside
//! the margins ([`PLOT_LEFT`]..[`PLOT_RIGHT`], [`PLOT_TOP`]..[`PLOT_BOTTOM`]). A value `v` of
//! an axis from `min` to `max` sits at `PLOT_LEFT + (v − min) / (max − min) × (PLOT_RIGHT −
//! PLOT_LEFT)` across, and at `PLOT_BOTTOM − (v − min) / (max − min) × (PLOT_BOTTOM −
//! PLOT_TOP)` up.

use std::fmt::Write as _;

/// Width of the view box.
pub const WIDTH: f64 = 640.0;
/// Height of the view box with one row of legend; each further row adds [`LEGEND_ROW`].
pub const HEIGHT: f64 = 340.0;
/// Height of one row of legend.
pub const LEGEND_ROW: f64 = 16.0;
/// Left edge of the plot area (room for the y tick labels and the y axis label).
pub const PLOT_LEFT: f64 = 64.0;
/// Right edge of the plot area.
pub const PLOT_RIGHT: f64 = 616.0;
/// Top edge of the plot area.
pub const PLOT_TOP: f64 = 16.0;
/// Bottom edge of the plot area: the x axis (below it the tick labels, the axis label and
/// the legend).
pub const PLOT_BOTTOM: f64 = 256.0;

/// A linear map from an axis' values to positions in the view box.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Scale {
    domain: (f64, f64),
    range: (f64, f64),
}

impl Scale {
    /// Maps `domain.0` to `range.0` and `domain.1` to `range.1`.
    #[must_use]
    pub fn new(domain: (f64, f64), range: (f64, f64)) -> Scale {
        Scale { domain, range }
    }

    /// The position of a value; the start of the range when the domain is empty.
    #[must_use]
    pub fn at(&self, value: f64) -> f64 {
        let span = self.domain.1 - self.domain.0;
        if span == 0.0 || !span.is_finite() {
            return self.range.0;
        }
        self.range.0 + (value - self.domain.0) / span * (self.range.1 - self.range.0)
    }
}

/// One labelled tick of an axis.
#[derive(Clone, Debug, PartialEq)]
pub struct Tick {
    /// Where the tick sits, in axis values.
    pub value: f64,
    /// What it says.
    pub label: String,
}

/// An axis: its label, its range of values and its ticks.
#[derive(Clone, Debug, PartialEq)]
pub struct Axis {
    /// What the axis measures, with its unit (`days`, `score`).
    pub label: String,
    /// The value at the start of the axis (left, or bottom).
    pub min: f64,
    /// The value at the end of the axis (right, or top).
    pub max: f64,
    /// The labelled ticks, in order.
    pub ticks: Vec<Tick>,
}

impl Axis {
    /// An axis from `min` to `max` with ticks at a round step (1, 2 or 5 times a power of
    /// ten) that gives about `target` intervals; the ends stay where they are.
    #[must_use]
    pub fn new(label: &str, min: f64, max: f64, target: usize) -> Axis {
        let step = nice_step(max - min, target);
        Axis { label: label.to_owned(), min, max, ticks: ticks(min, max, step) }
    }

    /// An axis from 0 to `max` rounded up to its tick step, so that the top tick is the top of
    /// the axis; at least 0 to 1. With `whole`, the step is a whole number (counts).
    #[must_use]
    pub fn rounded(label: &str, max: f64, target: usize, whole: bool) -> Axis {
        let max = if max.is_finite() && max > 0.0 { max } else { 1.0 };
        let mut step = nice_step(max, target);
        if whole {
            step = step.max(1.0).round();
        }
        let top = (max / step).ceil() * step;
        Axis { label: label.to_owned(), min: 0.0, max: top, ticks: ticks(0.0, top, step) }
    }
}

/// The round step for `span` cut in about `target` intervals: 1, 2 or 5 × 10^k.
fn nice_step(span: f64, target: usize) -> f64 {
    let target = target.max(1) as f64;
    if !span.is_finite() || span <= 0.0 {
        return 1.0;
    }
    let raw = span / target;
    let magnitude = 10_f64.powf(raw.log10().floor());
    let normalized = raw / magnitude;
    let factor = if normalized <= 1.0 {
        1.0
    } else if normalized <= 2.0 {
        2.0
    } else if normalized <= 5.0 {
        5.0
    } else {
        10.0
    };
    factor * magnitude
}

/// Ticks at every multiple of `step` from `min` to `max`, labelled with as many decimals as the
/// step needs.
fn ticks(min: f64, max: f64, step: f64) -> Vec<Tick> {
    let decimals = if step >= 1.0 { 0 } else { (-step.log10().floor()) as usize };
    let first = (min / step).ceil() as i64;
    let last = (max / step + 1e-9).floor() as i64;
    // A bounded count: a caller's odd range never makes thousands of ticks.
    (first..=last)
        .take(64)
        .map(|i| {
            let value = i as f64 * step;
            Tick { value, label: plain_number(value, decimals) }
        })
        .collect()
}

/// A number with at most `decimals` decimals, trailing zeros (and a lone point) dropped, and
/// no negative zero: `46.88`, `80`, `0.5`.
#[must_use]
pub fn plain_number(value: f64, decimals: usize) -> String {
    if !value.is_finite() {
        return if value.is_nan() { "NaN".to_owned() } else { format!("{value}") };
    }
    let mut text = format!("{value:.decimals$}");
    if text.contains('.') {
        let trimmed = text.trim_end_matches('0').trim_end_matches('.').len();
        text.truncate(trimmed);
    }
    if text == "-0" { "0".to_owned() } else { text }
}

/// One line of a line chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Series {
    /// The name shown in the legend.
    pub name: String,
    /// `(x, y)` in axis values, in drawing order.
    pub points: Vec<(f64, f64)>,
}

/// A horizontal line across the plot at one y value (a threshold), with its label.
#[derive(Clone, Debug, PartialEq)]
pub struct Rule {
    /// The y value.
    pub value: f64,
    /// What it says, at its right end.
    pub label: String,
}

/// A marked point (a crossing), with a dashed drop line to the x axis and a label.
#[derive(Clone, Debug, PartialEq)]
pub struct Marker {
    /// x, in axis values.
    pub x: f64,
    /// y, in axis values.
    pub y: f64,
    /// What it says, beside the point.
    pub label: String,
}

/// A line chart: one polyline per series, horizontal rules and marked points.
#[derive(Clone, Debug, PartialEq)]
pub struct LineChart {
    /// A prefix for the ids of the title and description, unique on the page (characters
    /// other than ASCII letters, digits and `_` become `-`).
    pub id: String,
    /// The accessible name (`<title>`).
    pub title: String,
    /// The accessible description (`<desc>`): what the chart shows, in words.
    pub desc: String,
    /// The horizontal axis.
    pub x: Axis,
    /// The vertical axis.
    pub y: Axis,
    /// The lines; the i-th carries the class `series-i` (colours cycle in `style.css`).
    pub series: Vec<Series>,
    /// Horizontal rules.
    pub rules: Vec<Rule>,
    /// Marked points.
    pub markers: Vec<Marker>,
}

/// One bar of a bar chart.
#[derive(Clone, Debug, PartialEq)]
pub struct Bar {
    /// The label under the bar.
    pub label: String,
    /// The bar's height, in y axis values.
    pub value: f64,
    /// Whether the bar stands out (class `highlight`), as the bucket holding a threshold.
    pub highlight: bool,
}

/// A bar chart: bars of equal width side by side, each with its value above it.
#[derive(Clone, Debug, PartialEq)]
pub struct BarChart {
    /// A prefix for the ids of the title and description, unique on the page.
    pub id: String,
    /// The accessible name (`<title>`).
    pub title: String,
    /// The accessible description (`<desc>`).
    pub desc: String,
    /// What the bars stand for, under their labels.
    pub x_label: String,
    /// The vertical axis.
    pub y: Axis,
    /// The bars, left to right.
    pub bars: Vec<Bar>,
    /// What a highlighted bar means, for the legend; no legend entry when empty.
    pub highlight_label: String,
}

/// The two scales of a frame.
fn scales(x: &Axis, y: &Axis) -> (Scale, Scale) {
    (
        Scale::new((x.min, x.max), (PLOT_LEFT, PLOT_RIGHT)),
        Scale::new((y.min, y.max), (PLOT_BOTTOM, PLOT_TOP)),
    )
}

impl LineChart {
    /// The scales from axis values to view box positions, across and up.
    #[must_use]
    pub fn scales(&self) -> (Scale, Scale) {
        scales(&self.x, &self.y)
    }

    /// The chart as an `<svg>` element.
    #[must_use]
    pub fn to_svg(&self) -> String {
        let (sx, sy) = self.scales();
        let mut svg = String::new();
        y_axis(&mut svg, &self.y, sy);
        x_axis(&mut svg, &self.x, sx, true);
        for rule in &self.rules {
            let y = sy.at(rule.value);
            let _ = write!(
                svg,
                r#"<line class="rule" x1="{}" y1="{y}" x2="{}" y2="{y}"/><text class="rule-label" x="{}" y="{}" text-anchor="end">{}</text>"#,
                num(PLOT_LEFT),
                num(PLOT_RIGHT),
                num(PLOT_RIGHT - 4.0),
                num(sy.at(rule.value) - 5.0),
                escape(&rule.label),
                y = num(y),
            );
        }
        for (i, series) in self.series.iter().enumerate() {
            let points: Vec<String> = series
                .points
                .iter()
                .filter(|(x, y)| x.is_finite() && y.is_finite())
                .map(|&(x, y)| format!("{},{}", num(sx.at(x)), num(sy.at(y))))
                .collect();
            let _ = write!(
                svg,
                r#"<polyline class="series series-{}" fill="none" points="{}"><title>{}</title></polyline>"#,
                i % SERIES_COLOURS,
                points.join(" "),
                escape(&series.name),
            );
        }
        for marker in &self.markers {
            let (x, y) = (sx.at(marker.x), sy.at(marker.y));
            // The label goes right of the point, or left of it in the right third of the plot.
            let (label_x, anchor) = if x > PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * 2.0 / 3.0 {
                (x - 8.0, "end")
            } else {
                (x + 8.0, "start")
            };
            let _ = write!(
                svg,
                r#"<line class="drop" x1="{x}" y1="{y}" x2="{x}" y2="{}"/><circle class="marker" cx="{x}" cy="{y}" r="4"/><text class="marker-label" x="{}" y="{}" text-anchor="{anchor}">{}</text>"#,
                num(PLOT_BOTTOM),
                num(label_x),
                num(y - 8.0),
                escape(&marker.label),
                x = num(x),
                y = num(y),
            );
        }
        let names: Vec<(String, String)> = self
            .series
            .iter()
            .enumerate()
            .map(|(i, s)| (format!("series series-{}", i % SERIES_COLOURS), s.name.clone()))
            .collect();
        let rows = legend(&mut svg, &names);
        close_svg(&self.id, &self.title, &self.desc, rows, &svg)
    }
}

impl BarChart {
    /// The scale from y axis values to view box positions, up.
    #[must_use]
    pub fn y_scale(&self) -> Scale {
        Scale::new((self.y.min, self.y.max), (PLOT_BOTTOM, PLOT_TOP))
    }

    /// The left edge and the width of the `index`-th bar: each bar takes 80 % of its equal
    /// share of the plot width, centred in it.
    #[must_use]
    pub fn bar_span(&self, index: usize) -> (f64, f64) {
        let slot = (PLOT_RIGHT - PLOT_LEFT) / self.bars.len().max(1) as f64;
        let width = slot * 0.8;
        (PLOT_LEFT + slot * index as f64 + (slot - width) / 2.0, width)
    }

    /// The chart as an `<svg>` element.
    #[must_use]
    pub fn to_svg(&self) -> String {
        let sy = self.y_scale();
        let mut svg = String::new();
        // The band of a highlighted slot goes first, under the grid and the bars, so that it
        // shows even when the bar has no height.
        let slot = (PLOT_RIGHT - PLOT_LEFT) / self.bars.len().max(1) as f64;
        for (i, bar) in self.bars.iter().enumerate() {
            if bar.highlight {
                let _ = write!(
                    svg,
                    r#"<rect class="band" x="{}" y="{}" width="{}" height="{}"/>"#,
                    num(PLOT_LEFT + slot * i as f64),
                    num(PLOT_TOP),
                    num(slot),
                    num(PLOT_BOTTOM - PLOT_TOP),
                );
            }
        }
        y_axis(&mut svg, &self.y, sy);
        baseline(&mut svg);
        for (i, bar) in self.bars.iter().enumerate() {
            let (left, width) = self.bar_span(i);
            let value = if bar.value.is_finite() { bar.value.max(0.0) } else { 0.0 };
            let top = sy.at(value);
            let class = if bar.highlight { "bar highlight" } else { "bar" };
            let centre = left + width / 2.0;
            let _ = write!(
                svg,
                r#"<rect class="{class}" x="{}" y="{}" width="{}" height="{}"><title>{}: {}</title></rect><text class="value" x="{c}" y="{}" text-anchor="middle">{}</text><text class="tick" x="{c}" y="{}" text-anchor="middle">{}</text>"#,
                num(left),
                num(top),
                num(width),
                num(PLOT_BOTTOM - top),
                escape(&bar.label),
                plain_number(value, 2),
                num(top - 4.0),
                plain_number(value, 2),
                num(PLOT_BOTTOM + 16.0),
                escape(&bar.label),
                c = num(centre),
            );
        }
        axis_label_below(&mut svg, &self.x_label);
        let rows = if self.highlight_label.is_empty() {
            1
        } else {
            legend(&mut svg, &[("swatch highlight".to_owned(), self.highlight_label.clone())])
        };
        close_svg(&self.id, &self.title, &self.desc, rows, &svg)
    }
}

/// How many shades a heat map has for values above 0 (classes `heat-1` … `heat-5`).
pub const HEAT_LEVELS: usize = 5;

/// One filled cell of a [`HeatMap`].
#[derive(Clone, Debug, PartialEq)]
pub struct HeatCell {
    /// The row, from 0 at the top.
    pub row: usize,
    /// The column, from 0 at the left.
    pub column: usize,
    /// The value on a scale of 0 to 1 (a share): it picks the shade.
    pub level: f64,
    /// What the cell says when it is large enough to say it: a short number.
    pub text: String,
    /// The cell's own `<title>`: its value in words, shown on hover.
    pub title: String,
}

/// A square matrix of shaded cells, the same labels along the rows (left) and the columns
/// (top, turned upright): a heat map of something between every two things, such as the
/// indicators two feeds share.
///
/// The cell size follows the number of labels ([`HeatMap::cell_size`]), from
/// [`HEAT_CELL_MAX`] for a few down to [`HEAT_CELL_MIN`] for a hundred and more, and the view
/// box grows with the matrix, so the picture scales to the page as a whole. A cell shows its
/// text only where it fits at a readable size; its `<title>` always holds the value. The
/// diagonal (a label against itself) is drawn with the class `heat-self`, cells without a
/// value are left in the background's shade (`heat-0`).
#[derive(Clone, Debug, PartialEq)]
pub struct HeatMap {
    /// A prefix for the ids of the title and description, unique on the page.
    pub id: String,
    /// The accessible name (`<title>`).
    pub title: String,
    /// The accessible description (`<desc>`).
    pub desc: String,
    /// The labels of the rows, top to bottom, which are also those of the columns, left to
    /// right. Labels longer than [`HEAT_LABEL_CHARS`] are cut, with the whole label as their
    /// `<title>`.
    pub labels: Vec<String>,
    /// The cells that have a value, in any order; a cell outside the matrix is left out.
    pub cells: Vec<HeatCell>,
    /// What the shades measure, written before their legend.
    pub level_label: String,
}

/// The largest cell of a heat map, for a few labels.
pub const HEAT_CELL_MAX: f64 = 40.0;
/// The smallest cell of a heat map, for many labels.
pub const HEAT_CELL_MIN: f64 = 10.0;
/// The longest label a heat map writes whole.
pub const HEAT_LABEL_CHARS: usize = 24;
/// The width a heat map's matrix aims at, shared out among its columns.
const HEAT_MATRIX: f64 = 560.0;
/// The smallest font a cell's text is written at; below it the cell stays without text.
const HEAT_TEXT_MIN: f64 = 7.0;

impl HeatMap {
    /// The side of one cell: [`HEAT_MATRIX`] shared among the labels, kept between
    /// [`HEAT_CELL_MIN`] and [`HEAT_CELL_MAX`].
    #[must_use]
    pub fn cell_size(&self) -> f64 {
        (HEAT_MATRIX / self.labels.len().max(1) as f64).clamp(HEAT_CELL_MIN, HEAT_CELL_MAX)
    }

    /// The top left corner of the matrix: right of the row labels, under the column labels.
    #[must_use]
    pub fn origin(&self) -> (f64, f64) {
        let font = self.label_font();
        let longest = self.labels.iter().map(|l| l.chars().count().min(HEAT_LABEL_CHARS)).max();
        // A rough width of the text at this size, as for the legends of the other charts.
        let room = 8.0 + text_width(longest.unwrap_or(0), font);
        (room, room)
    }

    /// The font size of the labels: 11 units, smaller when the cells are smaller.
    fn label_font(&self) -> f64 {
        (self.cell_size() * 0.85).min(11.0)
    }

    /// The shade class of a value on the 0..1 scale: `heat-1` for up to 1/[`HEAT_LEVELS`], …,
    /// `heat-5` for the last step; 0 and values that are not numbers take `heat-0`.
    #[must_use]
    pub fn level_class(level: f64) -> usize {
        if level.is_nan() || level <= 0.0 {
            0
        } else {
            ((level * HEAT_LEVELS as f64).ceil() as usize).clamp(1, HEAT_LEVELS)
        }
    }

    /// The heat map as an `<svg>` element.
    #[must_use]
    pub fn to_svg(&self) -> String {
        let n = self.labels.len();
        let cell = self.cell_size();
        let (left, top) = self.origin();
        let side = cell * n as f64;
        let font = self.label_font();
        let mut svg = String::new();
        let _ = write!(
            svg,
            r#"<rect class="heat-0" x="{}" y="{}" width="{s}" height="{s}"/>"#,
            num(left),
            num(top),
            s = num(side),
        );
        for i in 0..n {
            let _ = write!(
                svg,
                r#"<rect class="heat-self" x="{}" y="{}" width="{c}" height="{c}"/>"#,
                num(left + cell * i as f64),
                num(top + cell * i as f64),
                c = num(cell),
            );
        }
        for (i, label) in self.labels.iter().enumerate() {
            let middle = cell * (i as f64 + 0.5);
            let (short, whole) = cut_label(label);
            let _ = write!(
                svg,
                r#"<text class="tick" x="{}" y="{}" text-anchor="end" font-size="{f}">{}{}</text>"#,
                num(left - 4.0),
                num(top + middle + font * 0.35),
                escape(&short),
                whole,
                f = num(font),
            );
            let (x, y) = (left + middle + font * 0.35, top - 4.0);
            let _ = write!(
                svg,
                r#"<text class="tick" x="{x}" y="{y}" transform="rotate(-90 {x} {y})" font-size="{f}">{}{}</text>"#,
                escape(&short),
                whole,
                x = num(x),
                y = num(y),
                f = num(font),
            );
        }
        let text_font = (cell * 0.36).min(11.0);
        for c in self.cells.iter().filter(|c| c.row < n && c.column < n) {
            let level = HeatMap::level_class(c.level);
            let (x, y) = (left + cell * c.column as f64, top + cell * c.row as f64);
            let _ = write!(
                svg,
                r#"<rect class="heat heat-{level}" x="{}" y="{}" width="{s}" height="{s}"><title>{}</title></rect>"#,
                num(x),
                num(y),
                escape(&c.title),
                s = num(cell),
            );
            let fits = text_font >= HEAT_TEXT_MIN
                && text_width(c.text.chars().count(), text_font) <= cell - 3.0;
            if fits && !c.text.is_empty() {
                let _ = write!(
                    svg,
                    r#"<text class="cell-value on-heat-{level}" x="{}" y="{}" text-anchor="middle" font-size="{}" aria-hidden="true">{}</text>"#,
                    num(x + cell / 2.0),
                    num(y + cell / 2.0 + text_font * 0.35),
                    num(text_font),
                    escape(&c.text),
                );
            }
        }
        let legend_top = top + side + 24.0;
        let width = self.legend(&mut svg, left, legend_top);
        let view = ((left + side + 16.0).max(width + 16.0), legend_top + 28.0);
        svg_element("chart heatmap", &self.id, &self.title, &self.desc, view, &svg)
    }

    /// The legend under the matrix: what the shades measure, then a swatch per shade and
    /// one for the diagonal. Returns where its right end is.
    fn legend(&self, svg: &mut String, left: f64, top: f64) -> f64 {
        let _ = write!(
            svg,
            r#"<text class="legend" x="{}" y="{}">{}</text>"#,
            num(left),
            num(top),
            escape(&self.level_label),
        );
        let step = 100.0 / HEAT_LEVELS as f64;
        let mut entries: Vec<(String, String)> = vec![("heat-0".to_owned(), "none".to_owned())];
        for level in 1..=HEAT_LEVELS {
            let (from, to) = (step * (level - 1) as f64, step * level as f64);
            let range = format!("{}–{} %", plain_number(from, 1), plain_number(to, 1));
            entries.push((format!("heat-{level}"), range));
        }
        entries.push(("heat-self".to_owned(), "itself".to_owned()));
        let mut x = left + text_width(self.level_label.chars().count(), 11.0) + 8.0;
        let mut right = x;
        for (class, name) in &entries {
            let _ = write!(
                svg,
                r#"<rect class="{}" x="{}" y="{}" width="12.00" height="12.00"/><text class="legend" x="{}" y="{}">{}</text>"#,
                escape(class),
                num(x),
                num(top - 10.0),
                num(x + 16.0),
                num(top),
                escape(name),
            );
            x += 24.0 + text_width(name.chars().count(), 11.0);
            right = x;
        }
        right
    }
}

/// A rough width of `chars` characters at `font` units.
fn text_width(chars: usize, font: f64) -> f64 {
    chars as f64 * font * 0.6
}

/// A label cut to [`HEAT_LABEL_CHARS`] characters, and, when it was cut, a `<title>` element
/// with the whole label (escaped).
fn cut_label(label: &str) -> (String, String) {
    if label.chars().count() <= HEAT_LABEL_CHARS {
        return (label.to_owned(), String::new());
    }
    let short = label.chars().take(HEAT_LABEL_CHARS - 1).chain(['…']).collect();
    (short, format!("<title>{}</title>", escape(label)))
}

/// How many series colours `style.css` defines (`series-0` …).
pub const SERIES_COLOURS: usize = 4;

/// The whole `<svg>` of a line or bar chart: its opening with the accessible name and
/// description, sized for `rows` rows of legend, then `body`.
fn close_svg(id: &str, title: &str, desc: &str, rows: usize, body: &str) -> String {
    let height = HEIGHT + LEGEND_ROW * rows.saturating_sub(1) as f64;
    svg_element("chart", id, title, desc, (WIDTH, height), body)
}

/// An `<svg>` of class `class` with a view box of `size`, its accessible name and
/// description first, then `body`.
fn svg_element(
    class: &str,
    id: &str,
    title: &str,
    desc: &str,
    size: (f64, f64),
    body: &str,
) -> String {
    // An id is one token of `aria-labelledby`: letters, digits, `-` and `_` only.
    let id: String =
        id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' }).collect();
    format!(
        r#"<svg class="{}" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {} {}" role="img" aria-labelledby="{id}-title {id}-desc"><title id="{id}-title">{}</title><desc id="{id}-desc">{}</desc>{body}</svg>"#,
        escape(class),
        num(size.0),
        num(size.1),
        escape(title),
        escape(desc),
    )
}

/// The y axis: its line, grid lines and labels at the ticks, and its label along it.
fn y_axis(svg: &mut String, axis: &Axis, sy: Scale) {
    for tick in &axis.ticks {
        let y = num(sy.at(tick.value));
        let _ = write!(
            svg,
            r#"<line class="grid" x1="{}" y1="{y}" x2="{}" y2="{y}"/><text class="tick" x="{}" y="{}" text-anchor="end">{}</text>"#,
            num(PLOT_LEFT),
            num(PLOT_RIGHT),
            num(PLOT_LEFT - 6.0),
            num(sy.at(tick.value) + 4.0),
            escape(&tick.label),
        );
    }
    let middle = f64::midpoint(PLOT_TOP, PLOT_BOTTOM);
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{l}" y1="{}" x2="{l}" y2="{}"/><text class="axis-label" x="16.00" y="{m}" text-anchor="middle" transform="rotate(-90 16.00 {m})">{}</text>"#,
        num(PLOT_TOP),
        num(PLOT_BOTTOM),
        escape(&axis.label),
        l = num(PLOT_LEFT),
        m = num(middle),
    );
}

/// The line along the bottom of the plot.
fn baseline(svg: &mut String) {
    let _ = write!(
        svg,
        r#"<line class="axis" x1="{}" y1="{b}" x2="{}" y2="{b}"/>"#,
        num(PLOT_LEFT),
        num(PLOT_RIGHT),
        b = num(PLOT_BOTTOM),
    );
}

/// The x axis: its line, tick marks and labels, and its label under them.
fn x_axis(svg: &mut String, axis: &Axis, sx: Scale, label: bool) {
    baseline(svg);
    for tick in &axis.ticks {
        let x = num(sx.at(tick.value));
        let _ = write!(
            svg,
            r#"<line class="axis" x1="{x}" y1="{}" x2="{x}" y2="{}"/><text class="tick" x="{x}" y="{}" text-anchor="middle">{}</text>"#,
            num(PLOT_BOTTOM),
            num(PLOT_BOTTOM + 5.0),
            num(PLOT_BOTTOM + 18.0),
            escape(&tick.label),
        );
    }
    if label {
        axis_label_below(svg, &axis.label);
    }
}

fn axis_label_below(svg: &mut String, label: &str) {
    let _ = write!(
        svg,
        r#"<text class="axis-label" x="{}" y="{}" text-anchor="middle">{}</text>"#,
        num(f64::midpoint(PLOT_LEFT, PLOT_RIGHT)),
        num(PLOT_BOTTOM + 38.0),
        escape(label),
    );
}

/// Swatches and names under the axis label, `(class, name)` each, in rows that wrap at the
/// plot's width; returns the number of rows (at least 1).
fn legend(svg: &mut String, entries: &[(String, String)]) -> usize {
    /// Longer names are cut (a line's own `<title>` keeps the whole name).
    const MAX_CHARS: usize = 80;
    let mut row = 0;
    let mut x = PLOT_LEFT;
    for (class, name) in entries {
        let name: String = if name.chars().count() > MAX_CHARS {
            name.chars().take(MAX_CHARS - 1).chain(['…']).collect()
        } else {
            name.clone()
        };
        // A rough width of the text at the legend's size, so entries do not overlap.
        let width = 40.0 + 6.5 * name.chars().count() as f64;
        if x > PLOT_LEFT && x + width > PLOT_RIGHT {
            row += 1;
            x = PLOT_LEFT;
        }
        let y = PLOT_BOTTOM + 62.0 + LEGEND_ROW * row as f64;
        let _ = write!(
            svg,
            r#"<rect class="{}" x="{}" y="{}" width="14.00" height="4.00"/><text class="legend" x="{}" y="{}">{}</text>"#,
            escape(class),
            num(x),
            num(y - 6.0),
            num(x + 20.0),
            num(y),
            escape(&name),
        );
        x += width;
    }
    row + 1
}

/// A coordinate with two fixed decimals; a value that is not finite is written as 0.
fn num(value: f64) -> String {
    let value = if value.is_finite() { value } else { 0.0 };
    let text = format!("{value:.2}");
    if text == "-0.00" { "0.00".to_owned() } else { text }
}

/// Text escaped for SVG content and attribute values.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            // Characters XML 1.0 forbids (control characters but tab, LF and CR, and the
            // non-characters U+FFFE and U+FFFF) would make the page's SVG unreadable; they go.
            c if (c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r') => {}
            '\u{fffe}' | '\u{ffff}' => {}
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
#[expect(clippy::float_cmp, reason = "axis ends and scale ends are exact")]
mod tests {
    use super::*;

    fn close(actual: f64, expected: f64) {
        assert!((actual - expected).abs() < 0.006, "{actual} is not {expected}");
    }

    fn parse_points(text: &str) -> Vec<(f64, f64)> {
        text.split(' ')
            .map(|pair| {
                let (x, y) = pair.split_once(',').unwrap();
                (x.parse().unwrap(), y.parse().unwrap())
            })
            .collect()
    }

    /// The NIDS default curve: B = 80, τ = 120 days, δ = 2, θ = 30, sampled every 10 days.
    fn nids_chart() -> LineChart {
        let points = (0..=12)
            .map(|i| {
                let t = f64::from(i) * 10.0;
                (t, 80.0 * (1.0 - (t / 120.0).sqrt()))
            })
            .collect();
        LineChart {
            id: "nids".to_owned(),
            title: "NIDS".to_owned(),
            desc: "Score over days".to_owned(),
            x: Axis::new("days", 0.0, 120.0, 6),
            y: Axis::rounded("score", 100.0, 5, false),
            series: vec![Series { name: "B = 80".to_owned(), points }],
            rules: vec![Rule { value: 30.0, label: "θ = 30".to_owned() }],
            markers: vec![Marker { x: 46.875, y: 30.0, label: "day 46.88".to_owned() }],
        }
    }

    #[test]
    fn the_curve_starts_at_the_base_score_and_ends_on_the_axis() {
        let svg = nids_chart().to_svg();
        let doc = roxmltree::Document::parse(&svg).expect("the SVG is XML");
        let line = doc.descendants().find(|n| n.has_tag_name("polyline")).unwrap();
        let points = parse_points(line.attribute("points").unwrap());
        assert_eq!(points.len(), 13);
        // y axis 0..100: B = 80 sits 80 % up the plot.
        let height = PLOT_BOTTOM - PLOT_TOP;
        close(points[0].0, PLOT_LEFT);
        close(points[0].1, PLOT_BOTTOM - 0.8 * height);
        // At τ = 120 days the score is 0: the right end of the x axis.
        close(points[12].0, PLOT_RIGHT);
        close(points[12].1, PLOT_BOTTOM);
        // At 30 days the score is 40 (decay.md §8 example 1), a quarter across.
        close(points[3].0, PLOT_LEFT + 0.25 * (PLOT_RIGHT - PLOT_LEFT));
        close(points[3].1, PLOT_BOTTOM - 0.4 * height);
    }

    #[test]
    fn the_threshold_line_and_the_crossing_sit_where_the_scales_put_them() {
        let svg = nids_chart().to_svg();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let rule = doc.descendants().find(|n| n.attribute("class") == Some("rule")).unwrap();
        let y = |name| rule.attribute(name).unwrap().parse::<f64>().unwrap();
        // θ = 30 on an axis of 0..100 over 240 units: 72 units above the bottom.
        close(y("y1"), PLOT_BOTTOM - 30.0 / 100.0 * (PLOT_BOTTOM - PLOT_TOP));
        close(y("y1"), 184.0);
        assert_eq!(rule.attribute("y1"), rule.attribute("y2"));
        close(y("x1"), PLOT_LEFT);
        close(y("x2"), PLOT_RIGHT);
        let marker = doc.descendants().find(|n| n.has_tag_name("circle")).unwrap();
        let cx: f64 = marker.attribute("cx").unwrap().parse().unwrap();
        let cy: f64 = marker.attribute("cy").unwrap().parse().unwrap();
        // t_θ = 120 × (1 − 30/80)² = 46.875 days of 120.
        close(cx, PLOT_LEFT + 46.875 / 120.0 * (PLOT_RIGHT - PLOT_LEFT));
        close(cy, 184.0);
        let label = doc.descendants().find(|n| n.attribute("class") == Some("marker-label"));
        assert_eq!(label.unwrap().text(), Some("day 46.88"));
    }

    #[test]
    fn the_chart_has_a_title_a_description_and_labelled_ticks() {
        let svg = nids_chart().to_svg();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let root = doc.root_element();
        assert_eq!(root.attribute("role"), Some("img"));
        assert_eq!(root.attribute("aria-labelledby"), Some("nids-title nids-desc"));
        let first = root.first_element_child().unwrap();
        assert!(first.has_tag_name("title"));
        assert_eq!(first.text(), Some("NIDS"));
        assert_eq!(first.attribute("id"), Some("nids-title"));
        let ticks: Vec<&str> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("tick"))
            .filter_map(|n| n.text())
            .collect();
        // Days 0, 20, …, 120 and scores 0, 20, …, 100.
        for label in ["0", "20", "40", "60", "80", "100", "120"] {
            assert!(ticks.contains(&label), "{label} in {ticks:?}");
        }
        assert_eq!(ticks.len(), 7 + 6);
    }

    #[test]
    fn every_text_is_escaped() {
        let hostile = "<script>alert(\"x\")</script> & 'quoted'";
        let mut chart = nids_chart();
        chart.id = hostile.to_owned();
        chart.title = hostile.to_owned();
        chart.desc = hostile.to_owned();
        chart.series[0].name = hostile.to_owned();
        chart.rules[0].label = hostile.to_owned();
        chart.markers[0].label = hostile.to_owned();
        chart.x.label = hostile.to_owned();
        let bars = BarChart {
            id: hostile.to_owned(),
            title: hostile.to_owned(),
            desc: hostile.to_owned(),
            x_label: hostile.to_owned(),
            y: Axis::rounded(hostile, 3.0, 3, true),
            bars: vec![Bar { label: hostile.to_owned(), value: 2.0, highlight: true }],
            highlight_label: hostile.to_owned(),
        };
        for svg in [chart.to_svg(), bars.to_svg()] {
            assert!(!svg.contains("<script"), "{svg}");
            assert!(!svg.contains("\"x\""), "{svg}");
            let doc = roxmltree::Document::parse(&svg).expect("still XML");
            let title = doc.root_element().first_element_child().unwrap();
            assert_eq!(title.text(), Some(hostile));
        }
    }

    // Found by hostile-input testing: a model named with U+FFFE or U+FFFF (TOML allows both)
    // made its page's SVG invalid XML.
    #[test]
    fn characters_xml_forbids_are_dropped() {
        let mut chart = nids_chart();
        chart.title = "a\u{fffe}b\u{ffff}c\u{1}d".to_owned();
        let svg = chart.to_svg();
        let doc = roxmltree::Document::parse(&svg).expect("still XML");
        let title = doc.root_element().first_element_child().unwrap();
        assert_eq!(title.text(), Some("abcd"));
    }

    #[test]
    fn a_long_legend_wraps_and_the_view_box_grows_with_it() {
        let mut chart = nids_chart();
        assert!(chart.to_svg().contains(r#"viewBox="0 0 640.00 340.00""#));
        // Each name takes 40 + 6.5 × 60 = 430 units: one per row in a plot 552 wide.
        let name = "n".repeat(60);
        chart.series = vec![Series { name, points: vec![(0.0, 80.0)] }; 3];
        let svg = chart.to_svg();
        assert!(svg.contains(r#"viewBox="0 0 640.00 372.00""#), "{svg}");
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let rows: Vec<&str> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("legend"))
            .map(|n| n.attribute("y").unwrap())
            .collect();
        assert_eq!(rows, ["318.00", "334.00", "350.00"]);
    }

    #[test]
    fn the_same_chart_gives_the_same_bytes() {
        assert_eq!(nids_chart().to_svg(), nids_chart().to_svg());
        assert!(!nids_chart().to_svg().contains("-0.00"));
    }

    #[test]
    fn bars_stand_in_equal_slots_with_heights_on_the_count_scale() {
        let chart = BarChart {
            id: "h".to_owned(),
            title: "Scores".to_owned(),
            desc: "Counts".to_owned(),
            x_label: "score".to_owned(),
            y: Axis::rounded("indicators", 7.0, 4, true),
            bars: vec![
                Bar { label: "0–10".to_owned(), value: 7.0, highlight: false },
                Bar { label: "10–20".to_owned(), value: 0.0, highlight: false },
                Bar { label: "20–30".to_owned(), value: 3.5, highlight: true },
                Bar { label: "≥100".to_owned(), value: 2.0, highlight: false },
            ],
            highlight_label: "holds θ".to_owned(),
        };
        // 7 cut in about 4 steps: a step of 2, up to 8.
        assert_eq!(chart.y.max, 8.0);
        let svg = chart.to_svg();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let rects: Vec<roxmltree::Node<'_, '_>> = doc
            .descendants()
            .filter(|n| n.has_tag_name("rect"))
            .filter(|n| n.attribute("class").is_some_and(|c| c.starts_with("bar")))
            .collect();
        assert_eq!(rects.len(), 4);
        let slot = (PLOT_RIGHT - PLOT_LEFT) / 4.0;
        let height = PLOT_BOTTOM - PLOT_TOP;
        for (i, (rect, value)) in rects.iter().zip([7.0, 0.0, 3.5, 2.0]).enumerate() {
            let attr = |name| rect.attribute(name).unwrap().parse::<f64>().unwrap();
            close(attr("x"), PLOT_LEFT + slot * i as f64 + slot * 0.1);
            close(attr("width"), slot * 0.8);
            close(attr("y"), PLOT_BOTTOM - value / 8.0 * height);
            close(attr("y") + attr("height"), PLOT_BOTTOM);
        }
        assert_eq!(rects[2].attribute("class"), Some("bar highlight"));
        assert_eq!(rects[0].attribute("class"), Some("bar"));
        // The highlighted slot also has a band over the plot's height, so that it shows with no
        // bar in it.
        let band = doc.descendants().find(|n| n.attribute("class") == Some("band")).unwrap();
        let attr = |name| band.attribute(name).unwrap().parse::<f64>().unwrap();
        close(attr("x"), PLOT_LEFT + 2.0 * slot);
        close(attr("width"), slot);
        close(attr("y"), PLOT_TOP);
        close(attr("height"), height);
    }

    #[test]
    fn axis_steps_are_round_and_stay_inside_the_range() {
        let days = Axis::new("days", 0.0, 3.0, 6);
        let labels: Vec<&str> = days.ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["0", "0.5", "1", "1.5", "2", "2.5", "3"]);
        let days = Axis::new("days", 0.0, 10.0, 6);
        let labels: Vec<&str> = days.ticks.iter().map(|t| t.label.as_str()).collect();
        assert_eq!(labels, ["0", "2", "4", "6", "8", "10"]);
        // An axis for B = 365 rounds up to 400 in steps of 100.
        let score = Axis::rounded("score", 365.0, 5, false);
        assert_eq!(score.max, 400.0);
        assert_eq!(score.ticks.len(), 5);
        // Counts never get a step below 1; an empty histogram still has an axis of 0..1.
        let counts = Axis::rounded("n", 2.0, 5, true);
        assert_eq!(counts.ticks.iter().map(|t| t.value).collect::<Vec<_>>(), [0.0, 1.0, 2.0]);
        assert_eq!(Axis::rounded("n", 0.0, 5, true).max, 1.0);
    }

    fn heat_map(labels: &[&str], cells: &[(usize, usize, f64, &str)]) -> HeatMap {
        HeatMap {
            id: "overlap".to_owned(),
            title: "Shared".to_owned(),
            desc: "Pairs".to_owned(),
            labels: labels.iter().map(|&l| l.to_owned()).collect(),
            cells: cells
                .iter()
                .map(|&(row, column, level, text)| HeatCell {
                    row,
                    column,
                    level,
                    text: text.to_owned(),
                    title: format!("{row} and {column}: {text}"),
                })
                .collect(),
            level_label: "share of the row".to_owned(),
        }
    }

    fn view_box(doc: &roxmltree::Document<'_>) -> Vec<f64> {
        let text = doc.root_element().attribute("viewBox").unwrap();
        text.split(' ').map(|v| v.parse().unwrap()).collect()
    }

    #[test]
    fn a_heat_map_puts_each_cell_in_its_row_and_column_with_its_shade() {
        let chart = heat_map(&["a", "bb", "c"], &[(0, 1, 0.5, "12"), (1, 0, 0.05, "12")]);
        // Three labels share 560 units, at most 40 each.
        assert_eq!(chart.cell_size(), 40.0);
        let (left, top) = chart.origin();
        let svg = chart.to_svg();
        let doc = roxmltree::Document::parse(&svg).expect("the heat map is XML");
        let root = doc.root_element();
        assert_eq!(root.attribute("role"), Some("img"));
        assert_eq!(root.attribute("aria-labelledby"), Some("overlap-title overlap-desc"));
        let cells: Vec<roxmltree::Node<'_, '_>> = doc
            .descendants()
            .filter(|n| n.attribute("class").is_some_and(|c| c.starts_with("heat ")))
            .collect();
        assert_eq!(cells.len(), 2);
        let attr = |node: roxmltree::Node<'_, '_>, name| {
            node.attribute(name).unwrap().parse::<f64>().unwrap()
        };
        // Row 0, column 1: one cell right of the corner; half: the third of five shades.
        close(attr(cells[0], "x"), left + 40.0);
        close(attr(cells[0], "y"), top);
        assert_eq!(cells[0].attribute("class"), Some("heat heat-3"));
        close(attr(cells[1], "x"), left);
        close(attr(cells[1], "y"), top + 40.0);
        assert_eq!(cells[1].attribute("class"), Some("heat heat-1"));
        let title = cells[0].first_element_child().unwrap();
        assert_eq!(title.text(), Some("0 and 1: 12"));
        // Each cell says its number, centred in it.
        let values: Vec<roxmltree::Node<'_, '_>> = doc
            .descendants()
            .filter(|n| n.attribute("class").is_some_and(|c| c.starts_with("cell-value")))
            .collect();
        assert_eq!(values.len(), 2);
        assert_eq!(values[0].text(), Some("12"));
        close(attr(values[0], "x"), left + 60.0);
        // The diagonal, and every label twice (rows and columns).
        assert_eq!(
            doc.descendants().filter(|n| n.attribute("class") == Some("heat-self")).count(),
            4
        );
        let ticks: Vec<&str> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("tick"))
            .filter_map(|n| n.text())
            .collect();
        assert_eq!(ticks, ["a", "a", "bb", "bb", "c", "c"]);
    }

    #[test]
    fn shades_step_by_a_fifth_and_zero_has_none() {
        assert_eq!(HeatMap::level_class(0.0), 0);
        assert_eq!(HeatMap::level_class(f64::NAN), 0);
        assert_eq!(HeatMap::level_class(0.000_1), 1);
        assert_eq!(HeatMap::level_class(0.2), 1);
        assert_eq!(HeatMap::level_class(0.200_1), 2);
        assert_eq!(HeatMap::level_class(0.8), 4);
        assert_eq!(HeatMap::level_class(1.0), 5);
        assert_eq!(HeatMap::level_class(3.0), 5);
    }

    #[test]
    fn a_heat_map_of_110_labels_has_small_cells_cut_labels_and_no_cramped_numbers() {
        let labels: Vec<String> =
            (0..110).map(|i| format!("feed-with-a-rather-long-id-{i:03}")).collect();
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        let chart = heat_map(&labels, &[(3, 100, 0.9, "1.2k")]);
        assert_eq!(chart.cell_size(), HEAT_CELL_MIN);
        let svg = chart.to_svg();
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let (left, top) = chart.origin();
        // The view box holds the labels and the 1 100 units of the matrix.
        let size = view_box(&doc);
        assert!(size[2] >= left + 1100.0 && size[3] >= top + 1100.0, "{size:?}");
        assert!(size[2] < 1500.0, "{size:?}");
        // A cell of 10 units has no room for a readable number; its title keeps the value.
        assert!(!svg.contains("cell-value"));
        assert!(svg.contains("<title>3 and 100: 1.2k</title>"));
        // Labels are cut to 24 characters, the whole one in their title.
        let first = doc.descendants().find(|n| n.attribute("class") == Some("tick")).unwrap();
        let shown: String =
            first.children().filter(roxmltree::Node::is_text).filter_map(|c| c.text()).collect();
        assert_eq!(shown.chars().count(), HEAT_LABEL_CHARS);
        assert!(shown.ends_with('…'));
        assert_eq!(first.first_element_child().unwrap().text(), Some(labels[0]));
    }

    #[test]
    fn a_number_too_wide_for_its_cell_is_left_to_the_title() {
        let chart = heat_map(&["a", "b"], &[(0, 1, 0.5, "123456789"), (1, 0, 0.5, "99")]);
        let svg = chart.to_svg();
        assert!(!svg.contains(">123456789</text>"), "{svg}");
        assert!(svg.contains(">99</text>"), "{svg}");
        assert!(svg.contains("<title>0 and 1: 123456789</title>"));
    }

    #[test]
    fn every_text_of_a_heat_map_is_escaped() {
        let hostile = "<script>alert(\"x\")</script> & 'q'";
        // A label short enough to be written whole, and one that is cut.
        let short = "<script>&\"'</script>";
        let long_hostile = format!("{hostile}{}", "&<".repeat(20));
        let mut chart = heat_map(&[short, &long_hostile], &[(0, 1, 0.5, hostile)]);
        chart.id = hostile.to_owned();
        chart.title = hostile.to_owned();
        chart.desc = hostile.to_owned();
        chart.cells[0].title = hostile.to_owned();
        chart.level_label = hostile.to_owned();
        let svg = chart.to_svg();
        assert!(!svg.contains("<script"), "{svg}");
        let doc = roxmltree::Document::parse(&svg).expect("still XML");
        let root = doc.root_element();
        assert_eq!(root.first_element_child().unwrap().text(), Some(hostile));
        let ids = root.attribute("aria-labelledby").unwrap();
        assert!(ids.chars().all(|c| c.is_ascii_alphanumeric() || "-_ ".contains(c)), "{ids}");
        let ticks: Vec<String> = doc
            .descendants()
            .filter(|n| n.attribute("class") == Some("tick"))
            .map(|n| {
                n.children().filter(roxmltree::Node::is_text).filter_map(|c| c.text()).collect()
            })
            .collect();
        assert_eq!(ticks[0], short);
        // The long label is cut, and its title holds it whole.
        let cut =
            doc.descendants().filter(|n| n.attribute("class") == Some("tick")).nth(2).unwrap();
        assert_eq!(cut.first_element_child().unwrap().text(), Some(long_hostile.as_str()));
        let legend = doc.descendants().find(|n| n.attribute("class") == Some("legend")).unwrap();
        assert_eq!(legend.text(), Some(hostile));
    }

    #[test]
    fn plain_numbers_drop_trailing_zeros() {
        assert_eq!(plain_number(80.0, 2), "80");
        assert_eq!(plain_number(46.875_1, 2), "46.88");
        assert_eq!(plain_number(2.3, 2), "2.3");
        assert_eq!(plain_number(0.166_7, 4), "0.1667");
        assert_eq!(plain_number(-0.000_1, 2), "0");
        assert_eq!(plain_number(30.381_233_557_813_56, 2), "30.38");
    }

    #[test]
    fn a_scale_maps_its_ends_and_an_empty_domain_to_its_start() {
        let scale = Scale::new((0.0, 100.0), (256.0, 16.0));
        assert_eq!(scale.at(0.0), 256.0);
        assert_eq!(scale.at(100.0), 16.0);
        assert_eq!(scale.at(50.0), 136.0);
        assert_eq!(Scale::new((5.0, 5.0), (1.0, 2.0)).at(5.0), 1.0);
    }
}
