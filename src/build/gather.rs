//! Fetching every enabled feed's files, in parallel with bounded concurrency.
//!
//! A text feed is one body. A MISP feed is its `manifest.json`, read to learn which event
//! files exist, then each `<uuid>.json`. Failures are per feed and carried as messages; they
//! never stop the other feeds.

use std::time::Instant;

use futures::StreamExt as _;

use super::Reporter;
use crate::config::{Feed, FeedFormat, Project, Source};
use crate::fetch::{Body, Expect, FeedRequest, FetchError, Fetcher, Origin};
use crate::parse::misp::{Manifest, read_manifest};

/// A feed's fetched files.
#[derive(Debug)]
pub enum Gathered {
    /// A free-text or CSV body.
    Body(Body),
    /// A MISP feed: the manifest and each event file (or why it failed).
    Misp {
        /// The manifest's own body.
        manifest_body: Body,
        /// The manifest, read (boxed: it is much larger than a body).
        manifest: Box<Manifest>,
        /// `(uuid, body)` per manifest entry, in manifest order.
        events: Vec<(String, Result<Body, FetchError>)>,
        /// Time taken for every file, in milliseconds.
        elapsed_ms: u64,
    },
}

impl Gathered {
    /// Where the (main) body came from.
    #[must_use]
    pub fn origin(&self) -> Origin {
        match self {
            Gathered::Body(body) | Gathered::Misp { manifest_body: body, .. } => body.origin,
        }
    }

    /// HTTP status of the main request.
    #[must_use]
    pub fn status(&self) -> u16 {
        match self {
            Gathered::Body(body) | Gathered::Misp { manifest_body: body, .. } => body.status,
        }
    }

    /// Bytes received over every file.
    #[must_use]
    pub fn bytes(&self) -> u64 {
        match self {
            Gathered::Body(body) => body.bytes.len() as u64,
            Gathered::Misp { manifest_body, events, .. } => {
                manifest_body.bytes.len() as u64
                    + events
                        .iter()
                        .filter_map(|(_, b)| b.as_ref().ok())
                        .map(|b| b.bytes.len() as u64)
                        .sum::<u64>()
            }
        }
    }

    /// When upstream last gave or confirmed the (main) body, if before this build.
    #[must_use]
    pub fn as_of(&self) -> Option<i64> {
        match self {
            Gathered::Body(body) | Gathered::Misp { manifest_body: body, .. } => body.as_of,
        }
    }

    /// Time taken, in milliseconds.
    #[must_use]
    pub fn elapsed_ms(&self) -> u64 {
        match self {
            Gathered::Body(body) => body.elapsed.as_millis() as u64,
            Gathered::Misp { elapsed_ms, .. } => *elapsed_ms,
        }
    }
}

/// Why a feed could not be fetched: a reason code for the report and a message for people.
#[derive(Clone, Debug)]
pub(super) struct Failure {
    pub(super) code: &'static str,
    pub(super) message: String,
}

impl From<FetchError> for Failure {
    fn from(error: FetchError) -> Failure {
        Failure { code: error.reason(), message: error.to_string() }
    }
}

/// Fetches every feed in `indexes`; returns `(index, result)` in completion order.
pub(super) fn all(
    project: &Project,
    indexes: &[usize],
    fetcher: &Fetcher,
    concurrency: usize,
    reporter: &dyn Reporter,
) -> Vec<(usize, Result<Gathered, Failure>)> {
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => {
                let failure = Failure {
                    code: "runtime",
                    message: format!("cannot start the fetch runtime: {e}"),
                };
                return indexes.iter().map(|&i| (i, Err(failure.clone()))).collect();
            }
        };
    runtime.block_on(async {
        futures::stream::iter(indexes.iter().copied())
            .map(|index| async move {
                let feed = &project.feeds[index];
                let result = one(&project.root, feed, fetcher, concurrency, reporter).await;
                reporter.feed_fetched(&feed.id);
                (index, result)
            })
            .buffer_unordered(concurrency.max(1))
            .collect::<Vec<_>>()
            .await
    })
}

/// Fetches one feed.
async fn one(
    root: &std::path::Path,
    feed: &Feed,
    fetcher: &Fetcher,
    concurrency: usize,
    reporter: &dyn Reporter,
) -> Result<Gathered, Failure> {
    let request = FeedRequest::for_feed(root, feed)?;
    reporter.feed_started(&feed.id, request.received.clone());
    match feed.config.format {
        FeedFormat::Freetext | FeedFormat::Csv => {
            let body =
                get(fetcher, &feed_location(root, feed, None), &request, Expect::Text).await?;
            Ok(Gathered::Body(body))
        }
        // A JSON feed's body is an object or an array; an API error object in place of the
        // records fails in the parser, which names the missing path and the stated status.
        FeedFormat::Json => {
            let body =
                get(fetcher, &feed_location(root, feed, None), &request, Expect::Json).await?;
            Ok(Gathered::Body(body))
        }
        FeedFormat::Misp => {
            let started = Instant::now();
            let location = feed_location(root, feed, Some("manifest.json"));
            let manifest_body = get(fetcher, &location, &request, Expect::Json).await?;
            let manifest = read_manifest(&manifest_body.bytes, &feed.misp)
                .map_err(|e| Failure { code: "parse_failed", message: e.to_string() })?;
            let request = &request;
            let events = futures::stream::iter(manifest.events.iter().map(|e| e.uuid.clone()))
                .map(|uuid| async move {
                    let location = feed_location(root, feed, Some(&format!("{uuid}.json")));
                    let body = get_raw(fetcher, &location, request, Expect::Json).await;
                    (uuid, body)
                })
                .buffered(concurrency.max(1))
                .collect::<Vec<_>>()
                .await;
            let elapsed_ms = started.elapsed().as_millis() as u64;
            Ok(Gathered::Misp { manifest_body, manifest: Box::new(manifest), events, elapsed_ms })
        }
    }
}

/// Where a feed file lives: a URL, or a local path that must stay inside `root`.
enum Location<'a> {
    Url(String),
    Path { path: std::path::PathBuf, root: &'a std::path::Path },
}

fn feed_location<'a>(root: &'a std::path::Path, feed: &Feed, file: Option<&str>) -> Location<'a> {
    match (&feed.source, file) {
        (Source::Url(url), None) => Location::Url(url.clone()),
        (Source::Url(url), Some(file)) => {
            Location::Url(format!("{}/{file}", url.trim_end_matches('/')))
        }
        (Source::Path(path), None) => Location::Path { path: path.clone(), root },
        (Source::Path(path), Some(file)) => Location::Path { path: path.join(file), root },
    }
}

async fn get(
    fetcher: &Fetcher,
    location: &Location<'_>,
    request: &FeedRequest,
    expect: Expect,
) -> Result<Body, Failure> {
    Ok(get_raw(fetcher, location, request, expect).await?)
}

/// Gets one file; the fetcher opens compressed bodies and refuses HTML, JSON error objects
/// and binary data where `expect` says otherwise (bug cases 01 and 16).
async fn get_raw(
    fetcher: &Fetcher,
    location: &Location<'_>,
    request: &FeedRequest,
    expect: Expect,
) -> Result<Body, FetchError> {
    match location {
        Location::Url(url) => fetcher.get(request, url, expect).await,
        Location::Path { path, root } => fetcher.read_local(request, path, root, expect).await,
    }
}
