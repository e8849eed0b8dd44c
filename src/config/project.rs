//! `feedsmith.toml`: settings of the whole repository.

use serde::Deserialize;

/// The project settings as written in `feedsmith.toml`. Every key is optional.
///
/// Example:
/// ```toml
/// title = "Example threat feeds"
/// base_url = "https://example.github.io/feeds/"
/// output_dir = "site"
///
/// [fetch]
/// timeout_secs = 60
/// concurrency = 8
/// ```
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct ProjectConfig {
    /// Title of the site and organisation name of MISP events. Default: `feedsmith`.
    #[serde(default)]
    pub title: Option<String>,
    /// Public URL the output folder is served from, used in links meant to be copied.
    /// Default: none (links stay relative).
    #[serde(default)]
    pub base_url: Option<String>,
    /// Build output folder, relative to the repository root. Default: `site`.
    #[serde(default)]
    pub output_dir: Option<String>,
    /// Cache of raw responses, relative to the root. Default: `.feedsmith/cache`.
    #[serde(default)]
    pub cache_dir: Option<String>,
    /// State carried between builds (the ledger), relative to the root.
    /// Default: `.feedsmith/state`.
    #[serde(default)]
    pub state_dir: Option<String>,
    /// Builds whose counts the history keeps (for the site's charts and `plan`), 1 to
    /// 100 000. Default: 400.
    #[serde(default)]
    #[cfg_attr(feature = "schemars", schemars(range(min = 1, max = 100_000)))]
    pub history_builds: Option<usize>,
    /// Fetch defaults.
    #[serde(default)]
    pub fetch: FetchConfig,
}

/// How feeds are fetched.
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]
#[serde(deny_unknown_fields)]
pub struct FetchConfig {
    /// Time allowed for one whole request, in seconds. Default: 60.
    #[serde(default)]
    #[cfg_attr(feature = "schemars", schemars(range(min = 1)))]
    pub timeout_secs: Option<u64>,
    /// Requests in flight at once. Default: 8.
    #[serde(default)]
    #[cfg_attr(feature = "schemars", schemars(range(min = 1)))]
    pub concurrency: Option<usize>,
    /// Largest body accepted, in bytes. Default: 200 MiB.
    #[serde(default)]
    #[cfg_attr(feature = "schemars", schemars(range(min = 1)))]
    pub max_body_bytes: Option<u64>,
    /// Largest size a gzip, zip or bzip2 body may decompress to, in bytes; a feed may set a
    /// lower or higher cap of its own. Default: 1 GiB.
    #[serde(default)]
    #[cfg_attr(feature = "schemars", schemars(range(min = 1)))]
    pub max_decompressed_bytes: Option<u64>,
    /// Retries of a request after a connection error, a timeout, a 5xx or a 429, never after
    /// another 4xx. 0 turns retrying off; at most 10. Default: 3.
    #[serde(default)]
    #[cfg_attr(feature = "schemars", schemars(range(max = 10)))]
    pub retries: Option<u32>,
    /// First back-off delay between retries, in milliseconds; it doubles on each retry, with
    /// random jitter, unless the server's `Retry-After` asks for more. Default: 500.
    #[serde(default)]
    pub retry_base_ms: Option<u64>,
    /// Requests in flight at once to one host (host and port), within `concurrency`.
    /// Default: 2.
    #[serde(default)]
    #[cfg_attr(feature = "schemars", schemars(range(min = 1)))]
    pub per_host_concurrency: Option<usize>,
}
