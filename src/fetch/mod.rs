//! Getting a feed's bytes: from the network, a local path, the cache or recorded responses.
//!
//! Every answer is a [`Body`]. The [`Fetcher`] is built once per build with one HTTP client
//! (rustls, a `feedsmith/<version>` User-Agent, proxies from `HTTP_PROXY`, `HTTPS_PROXY`,
//! `ALL_PROXY` and `NO_PROXY`) and one of three [`Mode`]s:
//!
//! - `Online`: http(s) requests, with the cached `ETag` and `Last-Modified` sent back so an
//!   unchanged feed costs a `304`; every good 200 body is written to the cache.
//! - `Offline`: the cache only; a URL never fetched before is an error for that feed.
//! - `Replay`: a folder of recorded responses ([`Replay`]) answers every request and is never
//!   written; bodies still go to the cache so that a later `--offline` build can use them.
//!
//! Local `path` sources are read through [`Fetcher::read_local`] in every mode.
//!
//! Whatever its origin, a body goes through the same two steps before it is returned:
//! compressed files are opened by their magic bytes ([`decode_body`]), then the content is
//! checked against what the caller expects ([`Expect`]): an HTML page, a JSON error object or
//! binary data fails the feed with a reason, and the body is never parsed. The cache keeps
//! bodies as received, so a body that fails these checks never replaces a good one.
//!
//! Header values come from environment variables named in the feed definition
//! ([`FeedRequest::for_feed`]); they are sent, marked sensitive, and never logged, cached or
//! written into an error message. They are not sent on a redirect to another origin.
//!
//! # Architecture
//! - `cache`: raw bodies and their validators on disk, written atomically.
//! - `decode`: gzip, zip and bzip2 files inside bodies, with a decompressed-size cap.
//! - `limits`: retry delays (`Retry-After`, back-off with jitter) and per-host concurrency.
//! - `online`: one request over the network: redirects, retries, timeouts and size caps.
//! - `replay`: the index of recorded responses.
//! - `sniff`: refusing HTML, JSON error objects and binary data where a list was expected.

mod cache;
mod decode;
mod limits;
mod online;
mod replay;
mod sniff;

pub use cache::Cache;
pub use decode::decode_body;
pub use replay::Replay;
pub use sniff::{ContentKind, Expect};

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderName, HeaderValue};
use serde::Serialize;

use crate::config::{Feed, Settings};

/// Where a body came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Origin {
    /// A request over the network answered 200.
    Network,
    /// A request answered 304, or an offline build: the cached body.
    Cache,
    /// A recorded response.
    Replay,
    /// A local file.
    Local,
}

/// An answer to one request, decompressed and checked.
#[derive(Clone, Debug)]
pub struct Body {
    /// The bytes, after any gzip, zip or bzip2 container was opened.
    pub bytes: Vec<u8>,
    /// HTTP status (200 for local files and the cache).
    pub status: u16,
    /// The Content-Type header, if any.
    pub content_type: Option<String>,
    /// Where the bytes came from.
    pub origin: Origin,
    /// Time taken.
    pub elapsed: Duration,
    /// Unix seconds at which upstream last gave or confirmed these bytes, when that was
    /// before this build: a body from the cache, in an `--offline` build or within the feed's
    /// `refresh_secs`. `None`: this build got or confirmed them.
    pub as_of: Option<i64>,
}

/// How the fetcher answers requests.
#[derive(Debug)]
pub enum Mode {
    /// Requests over the network.
    Online,
    /// The cache only.
    Offline,
    /// Recorded responses only.
    Replay(Replay),
}

/// What one feed's requests carry: its id, secret headers and body settings.
///
/// Header values are kept as sensitive [`HeaderValue`]s, whose `Debug` output hides them.
#[derive(Clone, Debug)]
pub struct FeedRequest {
    /// The feed id: the cache folder and the field of log lines.
    pub feed: String,
    /// Request headers; values come from the environment.
    pub headers: Vec<(HeaderName, HeaderValue)>,
    /// A body cached less than this many seconds ago is used without a request.
    pub refresh_secs: u64,
    /// The member to read from a zip archive of several files.
    pub zip_member: Option<String>,
    /// The feed's own decompressed-size cap, in bytes, instead of the project's.
    pub max_decompressed_bytes: Option<u64>,
    /// A PEM file of extra CA certificates for this feed's https requests.
    pub ca_file: Option<PathBuf>,
    /// Bytes of the current body received so far, for a progress display.
    pub received: std::sync::Arc<std::sync::atomic::AtomicU64>,
}

impl FeedRequest {
    /// A request with no headers and default settings, for `feed`.
    #[must_use]
    pub fn new(feed: &str) -> FeedRequest {
        FeedRequest {
            feed: feed.to_owned(),
            headers: Vec::new(),
            refresh_secs: 0,
            zip_member: None,
            max_decompressed_bytes: None,
            ca_file: None,
            received: std::sync::Arc::default(),
        }
    }

    /// The request settings of a feed, its header values read from the environment
    /// variables the definition names. `root` is the repository root `ca_file` is relative
    /// to. A missing or empty variable, or a value that cannot be a header, is an error
    /// naming the variable, never the value.
    pub fn for_feed(root: &Path, feed: &Feed) -> Result<FeedRequest, FetchError> {
        let mut headers = Vec::with_capacity(feed.config.headers_from_env.len());
        for (header, variable) in &feed.config.headers_from_env {
            let missing =
                || FetchError::MissingSecret { header: header.clone(), variable: variable.clone() };
            let value =
                std::env::var(variable).ok().filter(|v| !v.is_empty()).ok_or_else(missing)?;
            let bad =
                || FetchError::BadSecret { header: header.clone(), variable: variable.clone() };
            let name = HeaderName::from_bytes(header.as_bytes()).map_err(|_| bad())?;
            let mut value = HeaderValue::from_str(&value).map_err(|_| bad())?;
            value.set_sensitive(true);
            headers.push((name, value));
        }
        Ok(FeedRequest {
            feed: feed.id.clone(),
            headers,
            refresh_secs: feed.config.refresh_secs,
            zip_member: feed.config.zip_member.clone(),
            max_decompressed_bytes: feed.config.max_decompressed_bytes,
            ca_file: feed.config.ca_file.as_ref().map(|f| root.join(f)),
            received: std::sync::Arc::default(),
        })
    }
}

/// Why a request failed. Messages never contain header values.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// A file could not be read or written.
    #[error("cannot access {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The replay index does not parse.
    #[error("bad replay index {}: {message}", path.display())]
    ReplayIndex {
        /// The index file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// No recorded response for a URL.
    #[error("no recorded response for {url}")]
    NotRecorded {
        /// The URL.
        url: String,
    },
    /// An offline build asked for a URL that is not in the cache.
    #[error("{url} is not in the cache (offline build)")]
    NotCached {
        /// The URL.
        url: String,
    },
    /// The server answered with an error status.
    #[error("HTTP {status} from {url}")]
    Status {
        /// The URL.
        url: String,
        /// The status code.
        status: u16,
    },
    /// The request failed before a status arrived (DNS, TLS, connection refused or reset).
    #[error("request to {url} failed: {message}")]
    Request {
        /// The URL.
        url: String,
        /// The client's message, without header values.
        message: String,
    },
    /// No answer, or no more body bytes, within the timeout.
    #[error("{url} timed out after {secs} s: {what}")]
    Timeout {
        /// The URL.
        url: String,
        /// The timeout, in seconds.
        secs: u64,
        /// What was missing: the response, or the rest of the body.
        what: String,
    },
    /// The connection closed before the body announced by `Content-Length` was complete.
    #[error("the body of {url} was cut off after {received} of {expected} bytes")]
    Truncated {
        /// The URL.
        url: String,
        /// Bytes received.
        received: u64,
        /// Bytes announced.
        expected: u64,
    },
    /// Redirects that loop, go on too long, or leave https.
    #[error("{message} (from {url})")]
    Redirect {
        /// The URL first requested.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// The body is larger than the limit.
    #[error("body of {url} is larger than {limit} bytes (`max_body_bytes`)")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// A compressed body inflates past the cap.
    #[error(
        "the {container} body of {url} decompresses to more than {limit} bytes \
         (`max_decompressed_bytes`); not read further"
    )]
    DecompressedTooLarge {
        /// The URL or path.
        url: String,
        /// `gzip`, `zip` or `bzip2`.
        container: &'static str,
        /// The cap in bytes.
        limit: u64,
    },
    /// A compressed body is damaged.
    #[error("cannot decompress the {container} body of {url}: {message}")]
    Corrupt {
        /// The URL or path.
        url: String,
        /// `gzip`, `zip` or `bzip2`.
        container: &'static str,
        /// The decompressor's message.
        message: String,
    },
    /// The URL names a `.gz` file and the body is not gzip data (bug case 16).
    #[error("{url} names a gzip file, but the body is not gzip data (it starts with {found})")]
    NotGzip {
        /// The URL or path.
        url: String,
        /// The first bytes, printable.
        found: String,
    },
    /// A zip archive without the one member to read.
    #[error("cannot choose a member of the zip body of {url}: {message}")]
    ZipMember {
        /// The URL or path.
        url: String,
        /// What is wrong, with the member names found.
        message: String,
    },
    /// The body is not what the feed promised; it is not parsed.
    #[error(
        "unexpected content from {url}: {} ({}){}; HTTP {status}, Content-Type {}, \
         the body starts with {start}; body not parsed",
        kind.describe(),
        kind.reason(),
        detail.as_deref().map(|d| format!(", {d}")).unwrap_or_default(),
        content_type.as_deref().map_or_else(|| "none".to_owned(), |t| format!("`{t}`"))
    )]
    UnexpectedContent {
        /// The URL or path.
        url: String,
        /// What the body is.
        kind: ContentKind,
        /// HTTP status.
        status: u16,
        /// The Content-Type, if any.
        content_type: Option<String>,
        /// The first 80 bytes, printable.
        start: String,
        /// More about the content (the error a JSON object holds).
        detail: Option<String>,
    },
    /// A header's environment variable is not set.
    #[error("environment variable `{variable}` for header `{header}` is not set")]
    MissingSecret {
        /// The header name.
        header: String,
        /// The variable name.
        variable: String,
    },
    /// A header's environment variable holds a value that cannot be sent.
    #[error(
        "environment variable `{variable}` for header `{header}` holds a value that is not a \
         valid header value (control characters or a line break)"
    )]
    BadSecret {
        /// The header name.
        header: String,
        /// The variable name.
        variable: String,
    },
    /// A feed's `ca_file` cannot be read or holds no certificate.
    #[error("cannot use the CA file {}: {message}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// The HTTP client could not be built.
    #[error("cannot set up the HTTP client: {message}")]
    Client {
        /// The client's message.
        message: String,
    },
    /// A local feed file resolves outside the folder it must stay in: a symbolic link in a
    /// MISP feed folder that points at `/proc/self/environ`, say. Its bytes are not read, so
    /// they can never reach a report or the site.
    #[error(
        "`{}` resolves outside the repository (through a symbolic link?); local feed files stay inside it",
        path.display()
    )]
    OutsideRoot {
        /// The file as the feed names it.
        path: PathBuf,
    },
    /// A local feed file that is not a regular file (a folder, a FIFO, a device).
    #[error("`{}` is not a regular file", path.display())]
    NotAFile {
        /// The file as the feed names it.
        path: PathBuf,
    },
    /// A request kept failing; the last failure is the source.
    #[error("{source} (gave up after {attempts} attempts{note})")]
    GaveUp {
        /// Requests made.
        attempts: u32,
        /// Why the retries stopped early, when they did (`, Retry-After …`).
        note: String,
        /// The last failure.
        #[source]
        source: Box<FetchError>,
    },
}

impl FetchError {
    /// A stable code for the report and for tests (`timeout`, `http_status`,
    /// `html_content`, …).
    #[must_use]
    pub fn reason(&self) -> &'static str {
        match self {
            FetchError::Io { .. } => "io",
            FetchError::ReplayIndex { .. } => "replay_index",
            FetchError::NotRecorded { .. } => "not_recorded",
            FetchError::NotCached { .. } => "not_cached",
            FetchError::Status { .. } => "http_status",
            FetchError::Request { .. } => "connection",
            FetchError::Timeout { .. } => "timeout",
            FetchError::Truncated { .. } => "truncated",
            FetchError::Redirect { .. } => "redirect",
            FetchError::TooLarge { .. } => "too_large",
            FetchError::DecompressedTooLarge { .. } => "decompressed_too_large",
            FetchError::Corrupt { .. } => "corrupt_archive",
            FetchError::NotGzip { .. } => "not_gzip",
            FetchError::ZipMember { .. } => "zip_member",
            FetchError::UnexpectedContent { kind, .. } => kind.reason(),
            FetchError::MissingSecret { .. } => "missing_secret",
            FetchError::BadSecret { .. } => "bad_secret",
            FetchError::CaFile { .. } => "ca_file",
            FetchError::Client { .. } => "client",
            FetchError::OutsideRoot { .. } => "outside_repository",
            FetchError::NotAFile { .. } => "not_a_file",
            FetchError::GaveUp { source, .. } => source.reason(),
        }
    }
}

/// The limits every request of a build shares.
#[derive(Clone, Copy, Debug)]
struct Limits {
    timeout: Duration,
    max_body_bytes: u64,
    max_decompressed_bytes: u64,
    retries: u32,
    retry_base: Duration,
}

/// Answers requests for one build.
#[derive(Debug)]
pub struct Fetcher {
    client: reqwest::Client,
    /// Clients that also trust a feed's `ca_file`, built on first use.
    ca_clients: Mutex<HashMap<PathBuf, reqwest::Client>>,
    hosts: limits::Hosts,
    mode: Mode,
    cache: Cache,
    limits: Limits,
}

impl Fetcher {
    /// Builds the fetcher with its HTTP client, from the project's fetch settings.
    pub fn new(mode: Mode, cache: Cache, settings: &Settings) -> Result<Fetcher, FetchError> {
        let limits = Limits {
            timeout: settings.timeout,
            max_body_bytes: settings.max_body_bytes,
            max_decompressed_bytes: settings.max_decompressed_bytes,
            retries: settings.retries,
            retry_base: settings.retry_base,
        };
        Ok(Fetcher {
            client: online::client(limits.timeout, None)?,
            ca_clients: Mutex::new(HashMap::new()),
            hosts: limits::Hosts::new(settings.per_host_concurrency),
            mode,
            cache,
            limits,
        })
    }

    /// Whether requests go to the network.
    #[must_use]
    pub fn is_online(&self) -> bool {
        matches!(self.mode, Mode::Online)
    }

    /// Gets `url` for a feed and returns its decoded, checked body. Online, a body cached
    /// less than `refresh_secs` ago is used without a request.
    pub async fn get(
        &self,
        request: &FeedRequest,
        url: &str,
        expect: Expect,
    ) -> Result<Body, FetchError> {
        let started = Instant::now();
        match &self.mode {
            Mode::Replay(replay) => {
                let recorded = replay
                    .lookup(url)
                    .ok_or_else(|| FetchError::NotRecorded { url: url.into() })?;
                if recorded.status != 200 {
                    return Err(FetchError::Status { url: url.into(), status: recorded.status });
                }
                let raw = read_capped(&recorded.file, self.limits.max_body_bytes, url).await?;
                let content_type = recorded.content_type;
                let opened =
                    self.open_checked(request, url, expect, &raw, 200, content_type.as_deref())?;
                self.cache.store(&request.feed, url, &raw, content_type.as_deref(), None, None)?;
                Ok(Body {
                    bytes: opened.unwrap_or(raw),
                    status: 200,
                    content_type,
                    origin: Origin::Replay,
                    elapsed: started.elapsed(),
                    as_of: None,
                })
            }
            Mode::Offline => {
                let cached = self
                    .cache
                    .load(&request.feed, url)?
                    .ok_or_else(|| FetchError::NotCached { url: url.into() })?;
                self.cached_body(request, url, expect, cached, started)
            }
            Mode::Online => self.get_online(request, url, expect, started).await,
        }
    }

    /// Reads a local file for a feed, capped at `max_body_bytes`, decoded and checked like
    /// a response. The file, once every symbolic link is resolved, must be a regular file
    /// inside `root` (the repository): a definition checked in a pull request must not be
    /// able to publish the build machine's files as rejected lines.
    pub async fn read_local(
        &self,
        request: &FeedRequest,
        path: &Path,
        root: &Path,
        expect: Expect,
    ) -> Result<Body, FetchError> {
        let started = Instant::now();
        let display = path.display().to_string();
        let resolved = confined(path, root).await?;
        let raw = read_capped(&resolved, self.limits.max_body_bytes, &display).await?;
        let opened = self.open_checked(request, &display, expect, &raw, 200, None)?;
        Ok(Body {
            bytes: opened.unwrap_or(raw),
            status: 200,
            content_type: None,
            origin: Origin::Local,
            elapsed: started.elapsed(),
            as_of: None,
        })
    }

    /// A cached entry as a body (origin: the cache), decoded and checked.
    fn cached_body(
        &self,
        request: &FeedRequest,
        url: &str,
        expect: Expect,
        cached: cache::Cached,
        started: Instant,
    ) -> Result<Body, FetchError> {
        let content_type = cached.meta.content_type;
        let opened =
            self.open_checked(request, url, expect, &cached.bytes, 200, content_type.as_deref())?;
        Ok(Body {
            bytes: opened.unwrap_or(cached.bytes),
            status: 200,
            content_type,
            origin: Origin::Cache,
            elapsed: started.elapsed(),
            // Entries written before the cache kept the time read as 0: no date known.
            as_of: (cached.meta.fetched_at > 0).then_some(cached.meta.fetched_at),
        })
    }

    /// Opens a compressed body and checks its content. `None`: the raw bytes are the body.
    /// `status` and `content_type` are what the answer said, for messages.
    fn open_checked(
        &self,
        request: &FeedRequest,
        url: &str,
        expect: Expect,
        raw: &[u8],
        status: u16,
        content_type: Option<&str>,
    ) -> Result<Option<Vec<u8>>, FetchError> {
        let max = request.max_decompressed_bytes.unwrap_or(self.limits.max_decompressed_bytes);
        let opened = decode::open(raw, url, request.zip_member.as_deref(), max)?;
        sniff::check(opened.as_deref().unwrap_or(raw), status, content_type, url, expect)?;
        Ok(opened)
    }

    /// The client for a feed: the shared one, or one that also trusts its CA file.
    fn client_for(&self, request: &FeedRequest) -> Result<reqwest::Client, FetchError> {
        let Some(ca_file) = &request.ca_file else { return Ok(self.client.clone()) };
        let mut clients = self.ca_clients.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(client) = clients.get(ca_file) {
            return Ok(client.clone());
        }
        let client = online::client(self.limits.timeout, Some(ca_file))?;
        clients.insert(ca_file.clone(), client.clone());
        Ok(client)
    }
}

/// `path` with every link resolved, when it is a regular file inside `root`.
async fn confined(path: &Path, root: &Path) -> Result<PathBuf, FetchError> {
    let io_error = |source| FetchError::Io { path: path.to_owned(), source };
    let resolved = tokio::fs::canonicalize(path).await.map_err(io_error)?;
    let root = tokio::fs::canonicalize(root)
        .await
        .map_err(|source| FetchError::Io { path: root.to_owned(), source })?;
    if !resolved.starts_with(&root) {
        return Err(FetchError::OutsideRoot { path: path.to_owned() });
    }
    let meta = tokio::fs::metadata(&resolved).await.map_err(io_error)?;
    if !meta.is_file() {
        return Err(FetchError::NotAFile { path: path.to_owned() });
    }
    Ok(resolved)
}

/// Reads a local file, refusing one larger than `limit`.
pub async fn read_capped(
    path: &std::path::Path,
    limit: u64,
    url: &str,
) -> Result<Vec<u8>, FetchError> {
    let io_error = |source| FetchError::Io { path: path.to_owned(), source };
    let meta = tokio::fs::metadata(path).await.map_err(io_error)?;
    if meta.len() > limit {
        return Err(FetchError::TooLarge { url: url.into(), limit });
    }
    tokio::fs::read(path).await.map_err(io_error)
}

/// Text from a response or an archive as a message shows it (see [`crate::text::shown`]).
fn shown(text: &str, max: usize) -> String {
    crate::text::shown(text, max)
}
