//! `feeds.d/<id>.toml|yaml`: one threat-intelligence feed and how to read it.

use std::collections::BTreeMap;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, Visitor};

/// A feed definition as written in its file.
///
/// Example (TOML):
/// ```toml
/// name = "Feodo Tracker IP blocklist"
/// provider = "abuse.ch"
/// url = "https://feodotracker.abuse.ch/downloads/ipblocklist.csv"
/// format = "csv"
/// enabled = true
/// tags = ["c2", "botnet"]
/// base_score = 80
///
/// [csv]
/// value_columns = [2]
/// header_lines = 1
/// ```
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FeedConfig {
    /// Display name. Required.
    pub name: String,
    /// Who publishes the feed. Required.
    pub provider: String,
    /// Where the feed is fetched from over http(s). Exactly one of `url` and `path` is set.
    #[serde(default)]
    pub url: Option<String>,
    /// A local file (free text, CSV) or folder (MISP feed), relative to the repository root.
    #[serde(default)]
    pub path: Option<String>,
    /// How the body is parsed: `misp`, `csv`, `freetext` or `json`. Required.
    pub format: FeedFormat,
    /// Whether builds fetch and use the feed. Default: `true`.
    #[serde(default = "default_true")]
    pub enabled: bool,
    /// Free labels used by tasks to select feeds (`c2`, `phishing`, …). Default: none.
    #[serde(default)]
    pub tags: Vec<String>,
    /// MISP tags attached to everything this feed contributes to a MISP feed, such as
    /// `osint:source-type="block-or-filter-list"`. They also count for decay base scores.
    /// Default: none.
    #[serde(default)]
    pub misp_tags: Vec<String>,
    /// Base score (0–100, not clamped, as in MISP) used for this feed's indicators when no
    /// tag with a numerical value applies. Default: the decay model's `default_base_score`.
    #[serde(default)]
    pub base_score: Option<f64>,
    /// Minimum time between two requests of the feed, in seconds. Default: 0 (every build).
    #[serde(default)]
    pub refresh_secs: u64,
    /// Request headers whose values are read from environment variables:
    /// header name → variable name. The value itself never appears in a file. Default: none.
    #[serde(default)]
    pub headers_from_env: BTreeMap<String, String>,
    /// The member to read when the body is a zip archive of several files. A zip of one file
    /// needs no name. Default: none.
    #[serde(default)]
    pub zip_member: Option<String>,
    /// Largest size the feed's compressed body may decompress to, in bytes. Default: the
    /// project's `fetch.max_decompressed_bytes`.
    #[serde(default)]
    pub max_decompressed_bytes: Option<u64>,
    /// A PEM file of CA certificates, relative to the repository root, trusted for this
    /// feed's https requests on top of the system roots. Default: none.
    #[serde(default)]
    pub ca_file: Option<String>,
    /// A regular expression; values that match it are skipped (MISP `excluderegex`). MISP's
    /// delimited form `/pattern/flags` is accepted as well as a bare pattern. Default: none.
    #[serde(default)]
    pub exclude_regex: Option<String>,
    /// Accept an empty body as genuine: the feed's previous indicators are withdrawn at once.
    /// Default: `false` (an empty feed that had indicators keeps its last good data).
    #[serde(default)]
    pub allow_empty: bool,
    /// Largest accepted drop of the indicator count from one build to the next, as a fraction
    /// (0.5 = 50 %). A bigger drop is treated as a failure and the last good data is kept.
    /// Default: 0.5.
    #[serde(default = "default_max_shrink")]
    #[cfg_attr(feature = "schemars", schemars(range(min = 0, max = 1)))]
    pub max_shrink: f64,
    /// How long the last good data stands in for a failing feed, in days. Default: 7.
    #[serde(default = "default_max_stale_days")]
    pub max_stale_days: f64,
    /// Licence or terms of use of the data, shown on the feed's page. Default: none.
    #[serde(default)]
    pub licence: Option<String>,
    /// Home page of the feed, shown on the feed's page. Default: none.
    #[serde(default)]
    pub homepage: Option<String>,
    /// Settings for `format = "csv"`.
    #[serde(default)]
    pub csv: Option<CsvOptions>,
    /// Settings for `format = "freetext"`.
    #[serde(default)]
    pub freetext: Option<FreetextOptions>,
    /// Settings for `format = "misp"`.
    #[serde(default)]
    pub misp: Option<MispOptions>,
    /// Settings for `format = "json"`.
    #[serde(default)]
    pub json: Option<JsonOptions>,
}

const fn default_true() -> bool {
    true
}

const fn default_max_shrink() -> f64 {
    0.5
}

const fn default_max_stale_days() -> f64 {
    7.0
}

/// How a feed body is parsed.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, serde::Serialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(rename_all = "lowercase")]
pub enum FeedFormat {
    /// A MISP feed folder: `manifest.json` and one `<uuid>.json` per event.
    Misp,
    /// Delimited values, read as MISP reads CSV feeds.
    Csv,
    /// Free text, read as MISP's free-text import reads it.
    Freetext,
    /// A JSON array of records, an object holding them, or newline-delimited JSON.
    Json,
}

impl FeedFormat {
    /// The name used in definition files.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            FeedFormat::Misp => "misp",
            FeedFormat::Csv => "csv",
            FeedFormat::Freetext => "freetext",
            FeedFormat::Json => "json",
        }
    }
}

/// CSV settings, with MISP's meaning where MISP has the setting.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct CsvOptions {
    /// Field separator. One character, or `\t` for TAB; feedsmith also accepts a longer
    /// separator such as the `", "` of `ThreatFox` exports. Default: `,`.
    #[serde(default = "default_delimiter")]
    pub delimiter: String,
    /// The columns that hold values: 1-based numbers, as MISP numbers them, or names from the
    /// header row (with `header = true`). Default: every column.
    #[serde(default)]
    pub value_columns: Vec<Column>,
    /// A row whose first field starts with this text is a comment. Default: `#`.
    #[serde(default = "default_comment_prefix")]
    pub comment_prefix: String,
    /// Number of header rows skipped before the data, not counting comment rows (Feodo
    /// Tracker's CSV has one uncommented header row). Default: 0.
    #[serde(default)]
    pub header_lines: usize,
    /// Read the column names from a header: the last comment line before the data when it
    /// holds them (`# "first_seen_utc","ioc_id",…` in `ThreatFox` exports), else the first row
    /// after the comments and `header_lines`. Rows must then have as many fields as the header.
    /// Default: `false`.
    #[serde(default)]
    pub header: bool,
    /// The number of fields every row has. A row with another count is rejected as
    /// `schema_mismatch`, and a body where every row is is refused, so that an upstream
    /// adding a column never shifts values into the wrong columns. Default: any count (or
    /// the header's, with `header = true`).
    #[serde(default)]
    pub column_count: Option<usize>,
    /// The column holding each row's type, mapped through `type_map` or read as a MISP type
    /// name; the row's values are checked as that type instead of being detected. An empty
    /// cell leaves the values to type detection. Default: none (every value is detected).
    #[serde(default)]
    pub type_column: Option<Column>,
    /// The feed's own type names and the MISP types they stand for, such as
    /// `"ip:port" = "ip-dst|port"` or `sha256_hash = "sha256"`. A type name that is neither
    /// mapped nor a MISP type rejects the row as `unknown_type`. Default: none.
    #[serde(default)]
    pub type_map: BTreeMap<String, String>,
    /// The column holding the time the indicator was first seen. Default: none.
    #[serde(default)]
    pub first_seen_column: Option<Column>,
    /// The column holding the time the indicator was last seen, which decay starts from.
    /// Default: none.
    #[serde(default)]
    pub last_seen_column: Option<Column>,
    /// The column holding the row's tags, split on `tag_separator`. Default: none.
    #[serde(default)]
    pub tags_column: Option<Column>,
    /// What separates two tags in the tags column. Default: `,`.
    #[serde(default = "default_tag_separator")]
    pub tag_separator: String,
}

fn default_delimiter() -> String {
    ",".to_owned()
}

fn default_comment_prefix() -> String {
    "#".to_owned()
}

fn default_tag_separator() -> String {
    ",".to_owned()
}

impl Default for CsvOptions {
    fn default() -> Self {
        CsvOptions {
            delimiter: default_delimiter(),
            value_columns: Vec::new(),
            comment_prefix: default_comment_prefix(),
            header_lines: 0,
            header: false,
            column_count: None,
            type_column: None,
            type_map: BTreeMap::new(),
            first_seen_column: None,
            last_seen_column: None,
            tags_column: None,
            tag_separator: default_tag_separator(),
        }
    }
}

/// A CSV column: its 1-based number, or its name in the header row.
///
/// Written as a number (`3`) or a string (`"ioc_value"`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Column {
    /// The 1-based position, as MISP numbers columns.
    Number(usize),
    /// The name the header gives the column.
    Name(String),
}

impl fmt::Display for Column {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Column::Number(n) => write!(f, "{n}"),
            Column::Name(name) => write!(f, "`{name}`"),
        }
    }
}

impl<'de> Deserialize<'de> for Column {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct ColumnVisitor;

        impl Visitor<'_> for ColumnVisitor {
            type Value = Column;

            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a 1-based column number or a header name")
            }

            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Column, E> {
                usize::try_from(v)
                    .map(Column::Number)
                    .map_err(|_| E::invalid_value(de::Unexpected::Unsigned(v), &self))
            }

            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Column, E> {
                u64::try_from(v)
                    .map_err(|_| E::invalid_value(de::Unexpected::Signed(v), &self))
                    .and_then(|v| self.visit_u64(v))
            }

            fn visit_str<E: de::Error>(self, v: &str) -> Result<Column, E> {
                Ok(Column::Name(v.to_owned()))
            }
        }

        deserializer.deserialize_any(ColumnVisitor)
    }
}

// Written out, as the `Deserialize` impl above is: a number from 1 (0 is refused by `check`)
// or a header name.
#[cfg(feature = "schemars")]
impl schemars::JsonSchema for Column {
    fn schema_name() -> std::borrow::Cow<'static, str> {
        "Column".into()
    }

    fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
        schemars::json_schema!({
            "description": "A CSV column: its 1-based number, as MISP numbers columns, or its name in the header row (with `csv.header = true`).",
            "anyOf": [
                { "type": "integer", "minimum": 1 },
                { "type": "string", "minLength": 1 }
            ]
        })
    }
}

/// JSON settings: where the records are and which of their fields say what.
///
/// Field paths are keys joined by dots (`attributes.value` reads `value` inside the object
/// under `attributes`); a number selects an array element.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct JsonOptions {
    /// The path to the records in a JSON document: an array of records, or an object whose
    /// member is one. A `*` segment takes every member of an object or element of an array,
    /// and an array reached at the end is flattened, so `*` reads `ThreatFox`'s export, an
    /// object keyed by id with an array of records under each key. Not used with
    /// newline-delimited JSON, whose lines are the records. Default: the document itself.
    #[serde(default)]
    pub records: Option<String>,
    /// The field holding the indicator value. Default: `value`.
    #[serde(default = "default_value_field")]
    pub value_field: String,
    /// The field holding the record's type, read as `csv.type_column` is. Default: none
    /// (every value is detected).
    #[serde(default)]
    pub type_field: Option<String>,
    /// The feed's own type names and the MISP types they stand for, as `csv.type_map`.
    /// Default: none.
    #[serde(default)]
    pub type_map: BTreeMap<String, String>,
    /// The field holding the time the indicator was first seen: a date and time, or Unix
    /// seconds as a number or a string. Default: none.
    #[serde(default)]
    pub first_seen_field: Option<String>,
    /// The field holding the time the indicator was last seen. Default: none.
    #[serde(default)]
    pub last_seen_field: Option<String>,
    /// The field holding the record's tags: an array of strings, or a string split on
    /// `tag_separator`. Default: none.
    #[serde(default)]
    pub tags_field: Option<String>,
    /// What separates two tags in a string tags field. Default: `,`.
    #[serde(default = "default_tag_separator")]
    pub tag_separator: String,
}

fn default_value_field() -> String {
    "value".to_owned()
}

impl Default for JsonOptions {
    fn default() -> Self {
        JsonOptions {
            records: None,
            value_field: default_value_field(),
            type_field: None,
            type_map: BTreeMap::new(),
            first_seen_field: None,
            last_seen_field: None,
            tags_field: None,
            tag_separator: default_tag_separator(),
        }
    }
}

/// Free-text settings.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FreetextOptions {
    /// Skip lines starting with `#`, `;` or `//` and trailing ` # …` / ` ; …` comments.
    /// MISP reads comment lines as data; feedsmith does not, unless this is `false`.
    /// Default: `true`.
    #[serde(default = "default_true")]
    pub skip_comments: bool,
    /// Reject zero-padded IPv4 octets instead of reading them as decimal. Default: `false`.
    #[serde(default)]
    pub strict_zero_padded: bool,
    /// A regular expression for text that describes a line rather than a threat, such as
    /// the victim in `checking domain: shop.example --> INFECTED: http://…` (bug case 14).
    /// Each match is cut out before the line is read and counted in `context`; a line left
    /// with no indicator is counted in `context_lines`, not rejected. Default: none.
    #[serde(default)]
    pub context_regex: Option<String>,
    /// `context_regex`, compiled when the definitions are checked.
    #[serde(skip)]
    pub context: Option<regex::Regex>,
}

impl Default for FreetextOptions {
    fn default() -> Self {
        FreetextOptions {
            skip_comments: true,
            strict_zero_padded: false,
            context_regex: None,
            context: None,
        }
    }
}

/// MISP feed settings.
#[derive(Clone, Debug, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MispOptions {
    /// Accept a manifest written as a JSON array of entries with `uuid` keys, and re-key it.
    /// Default: `false` (such a manifest is an error, as bug case 17 asks).
    #[serde(default)]
    pub lenient_manifest: bool,
    /// Only take attributes with `to_ids` set. Default: `true`.
    #[serde(default = "default_true")]
    pub to_ids_only: bool,
    /// Which events to take, by tag and by creating organisation, as MISP's feed `rules`
    /// choose them. Default: every event.
    #[serde(default)]
    pub rules: MispRules,
}

impl Default for MispOptions {
    fn default() -> Self {
        MispOptions { lenient_manifest: false, to_ids_only: true, rules: MispRules::default() }
    }
}

/// A MISP feed's event filter: MISP's `rules` JSON (`{"tags": {"OR": […], "NOT": […]},
/// "orgs": {"OR": […], "NOT": […]}}`) as four lists. An empty list imposes nothing.
///
/// MISP applies the rules twice when it pulls a feed, and feedsmith does the same:
///
/// 1. on each `manifest.json` entry, by exact, case-sensitive equality: a tag name equal to
///    an entry of `tags_or` / `tags_not`, an `Orgc` name **or UUID** equal to an entry of
///    `orgs_or` / `orgs_not`. An event left out here is not fetched;
/// 2. on each event file, by case-insensitive substring: an entry of `tags_or` / `tags_not`
///    found inside one of the event's tag names (`Event.Tag`, not the attributes' tags), an
///    entry of `orgs_or` / `orgs_not` found inside `Event.Orgc.name`. feedsmith also accepts an
///    exact `Orgc` UUID here, which MISP does not (`docs/misp-differences.md`).
///
/// An event passes when, for each non-empty `_or` list, something matches, and for each
/// non-empty `_not` list, nothing does.
///
/// Example (TOML):
/// ```toml
/// [misp.rules]
/// tags_or = ["tlp:clear", "tlp:white"]
/// tags_not = ["false-positive"]
/// orgs_not = ["Untrusted Org"]
/// ```
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct MispRules {
    /// Take only events with one of these tags (MISP `tags.OR`). Default: none (no condition).
    #[serde(default)]
    pub tags_or: Vec<String>,
    /// Leave out events with any of these tags (MISP `tags.NOT`). Default: none.
    #[serde(default)]
    pub tags_not: Vec<String>,
    /// Take only events created by one of these organisations, by name or UUID (MISP
    /// `orgs.OR`). Default: none (no condition).
    #[serde(default)]
    pub orgs_or: Vec<String>,
    /// Leave out events created by any of these organisations, by name or UUID (MISP
    /// `orgs.NOT`). Default: none.
    #[serde(default)]
    pub orgs_not: Vec<String>,
}

impl MispRules {
    /// Whether no list is set, so that every event passes.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.tags_or.is_empty()
            && self.tags_not.is_empty()
            && self.orgs_or.is_empty()
            && self.orgs_not.is_empty()
    }
}
