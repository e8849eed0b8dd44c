//! `tasks.d/<id>.toml|yaml`: a selection of indicators and the outputs made from it.

use serde::Deserialize;

/// A task as written in its file.
///
/// Example (TOML):
/// ```toml
/// name = "IPv4 firewall blocklist"
///
/// [select]
/// feed_tags = ["c2"]
/// types = ["ip-dst", "ip-src"]
/// ip_version = 4
///
/// [[outputs]]
/// format = "plain"
/// path = "ipv4.txt"
/// ```
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TaskConfig {
    /// Display name. Required.
    pub name: String,
    /// What the task is for, shown on its page. Default: empty.
    #[serde(default)]
    pub description: String,
    /// Which indicators the task takes.
    #[serde(default)]
    pub select: SelectConfig,
    /// The files written from the selection. Required, at least one.
    pub outputs: Vec<OutputConfig>,
}

/// Which indicators a task takes. Every condition must hold.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SelectConfig {
    /// Feed ids. With neither `feeds` nor `feed_tags`, every enabled feed. Default: none.
    #[serde(default)]
    pub feeds: Vec<String>,
    /// Feeds carrying any of these tags are taken too. Default: none.
    #[serde(default)]
    pub feed_tags: Vec<String>,
    /// MISP attribute types. Default: every type.
    #[serde(default)]
    pub types: Vec<String>,
    /// 4 or 6: keep only addresses and networks of that IP version. Default: both.
    #[serde(default)]
    pub ip_version: Option<u8>,
    /// The decay model id, or `auto` for the model whose `attribute_types` hold the
    /// indicator's type (the first such model by id). Default: `auto`.
    #[serde(default = "default_model")]
    pub model: String,
    /// Keep indicators whose score is at least this. Default: the model's threshold, so that
    /// expired indicators are left out as MISP leaves them out.
    #[serde(default)]
    pub min_score: Option<f64>,
    /// Leave out addresses and networks that overlap special-purpose ranges (RFC 6890:
    /// private, loopback, link-local, shared, documentation, benchmarking, multicast and
    /// reserved space, in IPv4 and IPv6): a firewall that blocks them cuts off its own
    /// network. Default: `true`.
    #[serde(default = "default_true")]
    pub exclude_reserved: bool,
    /// Keep indicators that no model covers (they have no score). Default: `true`.
    #[serde(default = "default_true")]
    pub keep_unscored: bool,
    /// Ids of the warning lists (`warninglists.d/<id>.json`) whose matches are left out of
    /// the outputs. Default: every list in `warninglists.d/`; `[]` applies none.
    #[serde(default)]
    pub warninglists: Option<Vec<String>>,
}

// Written out rather than derived: a task without `[select]` must get the same defaults as
// one with an empty `[select]` (`model = "auto"`, `keep_unscored = true`).
impl Default for SelectConfig {
    fn default() -> Self {
        SelectConfig {
            feeds: Vec::new(),
            feed_tags: Vec::new(),
            types: Vec::new(),
            ip_version: None,
            model: default_model(),
            min_score: None,
            exclude_reserved: true,
            keep_unscored: true,
            warninglists: None,
        }
    }
}

fn default_model() -> String {
    "auto".to_owned()
}

const fn default_true() -> bool {
    true
}

/// One output file or folder of a task.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputConfig {
    /// The output format: `plain` or `misp-feed`. Required.
    pub format: OutputFormat,
    /// Path inside the output folder: a file for `plain`, a folder for `misp-feed`. Required.
    pub path: String,
    /// For `misp-feed`: the event's `info`. Default: the task's name.
    #[serde(default)]
    pub event_info: Option<String>,
    /// For `misp-feed`: the organisation that creates the event. Default: the project title.
    #[serde(default)]
    pub org_name: Option<String>,
    /// For `misp-feed`: `threat_level_id`, 1 (high) to 4 (undefined). Default: 4.
    #[serde(default)]
    pub threat_level: Option<u8>,
    /// For `misp-feed`: the TLP tag put on the event. Default: `tlp:clear`.
    #[serde(default)]
    pub tlp: Option<String>,
}

/// The syntax an output is written in.
#[derive(Clone, Copy, Debug, Deserialize, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OutputFormat {
    /// One value per line, after a `#` header with build time, task name and count.
    Plain,
    /// A MISP feed folder: `manifest.json`, one event file and `hashes.csv`.
    MispFeed,
}

impl OutputFormat {
    /// The name used in definition files.
    #[must_use]
    pub const fn as_str(self) -> &'static str {
        match self {
            OutputFormat::Plain => "plain",
            OutputFormat::MispFeed => "misp-feed",
        }
    }
}
