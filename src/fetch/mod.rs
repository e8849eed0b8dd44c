//! Getting a feed's bytes: from the network, a local path, the cache or recorded responses.
//!
//! Every answer is a [`Body`]. The [`Fetcher`] is built once per build with one HTTP client
//! (rustls, a `feedsmith/<version>` User-Agent) and one of three [`Mode`]s:
//!
//! - `Online`: http(s) requests, with the cached `ETag` and `Last-Modified` sent back so an
//!   unchanged feed costs a `304`; every 200 body is written to the cache.
//! - `Offline`: the cache only; a URL never fetched before is an error for that feed.
//! - `Replay`: a folder of recorded responses ([`Replay`]) answers every request and is never
//!   written; bodies still go to the cache so that a later `--offline` build can use them.
//!
//! Local `path` sources are read directly in every mode.
//!
//! Header values come from environment variables named in the feed definition; they are sent
//! and never logged, cached or written into an error message.
//!
//! # Architecture
//! - `cache`: raw bodies and their validators on disk, written atomically.
//! - `replay`: the index of recorded responses.

mod cache;
mod replay;

pub use cache::Cache;
pub use replay::Replay;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde::Serialize;

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

/// An answer to one request.
#[derive(Clone, Debug)]
pub struct Body {
    /// The bytes.
    pub bytes: Vec<u8>,
    /// HTTP status (200 for local files and the cache).
    pub status: u16,
    /// The Content-Type header, if any.
    pub content_type: Option<String>,
    /// Where the bytes came from.
    pub origin: Origin,
    /// Time taken.
    pub elapsed: Duration,
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
    /// The request failed before a status arrived (DNS, TLS, timeout, reset).
    #[error("request to {url} failed: {message}")]
    Request {
        /// The URL.
        url: String,
        /// The client's message, without header values.
        message: String,
    },
    /// The body is larger than the limit.
    #[error("body of {url} is larger than {limit} bytes")]
    TooLarge {
        /// The URL.
        url: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// A header's environment variable is not set.
    #[error("environment variable `{variable}` for header `{header}` is not set")]
    MissingSecret {
        /// The header name.
        header: String,
        /// The variable name.
        variable: String,
    },
}

/// Answers requests for one build.
#[derive(Debug)]
pub struct Fetcher {
    client: reqwest::Client,
    mode: Mode,
    cache: Cache,
    max_body_bytes: u64,
}

impl Fetcher {
    /// Builds the fetcher with its HTTP client.
    pub fn new(
        mode: Mode,
        cache: Cache,
        timeout: Duration,
        max_body_bytes: u64,
    ) -> Result<Fetcher, FetchError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!("feedsmith/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(30)))
            .build()
            .map_err(|e| FetchError::Request { url: String::new(), message: e.to_string() })?;
        Ok(Fetcher { client, mode, cache, max_body_bytes })
    }

    /// Whether requests go to the network.
    #[must_use]
    pub fn is_online(&self) -> bool {
        matches!(self.mode, Mode::Online)
    }

    /// Gets `url` for `feed`, with the given request headers (name, value). Online, a body
    /// cached less than `refresh_secs` ago is used without a request.
    pub async fn get(
        &self,
        feed: &str,
        url: &str,
        headers: &[(String, String)],
        refresh_secs: u64,
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
                let bytes = read_capped(&recorded.file, self.max_body_bytes, url).await?;
                let body = Body {
                    bytes,
                    status: 200,
                    content_type: recorded.content_type,
                    origin: Origin::Replay,
                    elapsed: started.elapsed(),
                };
                self.cache.store(feed, url, &body, None, None)?;
                Ok(body)
            }
            Mode::Offline => {
                let cached = self
                    .cache
                    .load(feed, url)?
                    .ok_or_else(|| FetchError::NotCached { url: url.into() })?;
                Ok(Body {
                    bytes: cached.bytes,
                    status: 200,
                    content_type: cached.meta.content_type,
                    origin: Origin::Cache,
                    elapsed: started.elapsed(),
                })
            }
            Mode::Online => self.get_online(feed, url, headers, refresh_secs, started).await,
        }
    }

    async fn get_online(
        &self,
        feed: &str,
        url: &str,
        headers: &[(String, String)],
        refresh_secs: u64,
        started: Instant,
    ) -> Result<Body, FetchError> {
        let cached = self.cache.load(feed, url)?;
        if let Some(cached) = &cached {
            let age = time::OffsetDateTime::now_utc().unix_timestamp() - cached.meta.fetched_at;
            if refresh_secs > 0 && age >= 0 && age.unsigned_abs() < refresh_secs {
                tracing::debug!(feed, age_secs = age, "Cached body is fresh; not requested");
                return Ok(Body {
                    bytes: cached.bytes.clone(),
                    status: 200,
                    content_type: cached.meta.content_type.clone(),
                    origin: Origin::Cache,
                    elapsed: started.elapsed(),
                });
            }
        }
        let mut request = self.client.get(url);
        for (name, value) in headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(cached) = &cached {
            if let Some(etag) = &cached.meta.etag {
                request = request.header(reqwest::header::IF_NONE_MATCH, etag.as_str());
            }
            if let Some(modified) = &cached.meta.last_modified {
                request = request.header(reqwest::header::IF_MODIFIED_SINCE, modified.as_str());
            }
        }
        let request_error =
            |e: reqwest::Error| FetchError::Request { url: url.into(), message: describe(&e) };
        let mut response = request.send().await.map_err(request_error)?;
        let status = response.status().as_u16();
        if status == 304
            && let Some(cached) = cached
        {
            {
                return Ok(Body {
                    bytes: cached.bytes,
                    status,
                    content_type: cached.meta.content_type,
                    origin: Origin::Cache,
                    elapsed: started.elapsed(),
                });
            }
        }
        if status != 200 {
            return Err(FetchError::Status { url: url.into(), status });
        }
        let header = |name: reqwest::header::HeaderName| {
            response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
        };
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let etag = header(reqwest::header::ETAG);
        let last_modified = header(reqwest::header::LAST_MODIFIED);
        if response.content_length().is_some_and(|len| len > self.max_body_bytes) {
            return Err(FetchError::TooLarge { url: url.into(), limit: self.max_body_bytes });
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(request_error)? {
            if (bytes.len() + chunk.len()) as u64 > self.max_body_bytes {
                return Err(FetchError::TooLarge { url: url.into(), limit: self.max_body_bytes });
            }
            bytes.extend_from_slice(&chunk);
        }
        let body = Body {
            bytes,
            status,
            content_type,
            origin: Origin::Network,
            elapsed: started.elapsed(),
        };
        self.cache.store(feed, url, &body, etag, last_modified)?;
        Ok(body)
    }
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

/// The client's message with its chain of causes, which never holds header values.
fn describe(error: &reqwest::Error) -> String {
    use std::error::Error as _;
    let mut message = if error.is_timeout() { "timed out".to_owned() } else { error.to_string() };
    let mut source = error.source();
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    message
}
