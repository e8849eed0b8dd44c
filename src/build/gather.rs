//! Fetching every enabled feed's files, in parallel with bounded concurrency.
//!
//! A text feed is one body. A MISP feed is its `manifest.json`, read to learn which event
//! files exist, then each `<uuid>.json`. Failures are per feed and carried as messages; they
//! never stop the other feeds.

use std::time::Instant;

use futures::StreamExt as _;

use super::Reporter;
use crate::config::{Feed, FeedFormat, Project, Source};
use crate::fetch::{Body, FetchError, Fetcher, Origin, read_capped};
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

    /// Time taken, in milliseconds.
    #[must_use]
    pub fn elapsed_ms(&self) -> u64 {
        match self {
            Gathered::Body(body) => body.elapsed.as_millis() as u64,
            Gathered::Misp { elapsed_ms, .. } => *elapsed_ms,
        }
    }
}

/// Fetches every feed in `indexes`; returns `(index, result)` in completion order.
pub(super) fn all(
    project: &Project,
    indexes: &[usize],
    fetcher: &Fetcher,
    concurrency: usize,
    reporter: &dyn Reporter,
) -> Vec<(usize, Result<Gathered, String>)> {
    let runtime =
        match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
            Ok(runtime) => runtime,
            Err(e) => {
                let message = format!("cannot start the fetch runtime: {e}");
                return indexes.iter().map(|&i| (i, Err(message.clone()))).collect();
            }
        };
    runtime.block_on(async {
        futures::stream::iter(indexes.iter().copied())
            .map(|index| async move {
                let feed = &project.feeds[index];
                let result = one(feed, fetcher, concurrency).await;
                reporter.feed_fetched(&feed.id);
                (index, result)
            })
            .buffer_unordered(concurrency.max(1))
            .collect::<Vec<_>>()
            .await
    })
}

/// Fetches one feed.
async fn one(feed: &Feed, fetcher: &Fetcher, concurrency: usize) -> Result<Gathered, String> {
    let headers = headers(feed).map_err(|e| e.to_string())?;
    match feed.config.format {
        FeedFormat::Freetext | FeedFormat::Csv => {
            let body = get(feed, fetcher, &feed_location(feed, None), &headers).await?;
            check_not_html(&body)?;
            Ok(Gathered::Body(body))
        }
        FeedFormat::Misp => {
            let started = Instant::now();
            let manifest_body =
                get(feed, fetcher, &feed_location(feed, Some("manifest.json")), &headers).await?;
            check_not_html(&manifest_body)?;
            let manifest =
                read_manifest(&manifest_body.bytes, &feed.misp).map_err(|e| e.to_string())?;
            let headers = &headers;
            let events = futures::stream::iter(manifest.events.iter().map(|e| e.uuid.clone()))
                .map(|uuid| async move {
                    let location = feed_location(feed, Some(&format!("{uuid}.json")));
                    let body = get_raw(feed, fetcher, &location, headers).await;
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

/// Where a feed file lives: a URL, or a local path (absolute, as a string).
enum Location {
    Url(String),
    Path(std::path::PathBuf),
}

fn feed_location(feed: &Feed, file: Option<&str>) -> Location {
    match (&feed.source, file) {
        (Source::Url(url), None) => Location::Url(url.clone()),
        (Source::Url(url), Some(file)) => {
            Location::Url(format!("{}/{file}", url.trim_end_matches('/')))
        }
        (Source::Path(path), None) => Location::Path(path.clone()),
        (Source::Path(path), Some(file)) => Location::Path(path.join(file)),
    }
}

async fn get(
    feed: &Feed,
    fetcher: &Fetcher,
    location: &Location,
    headers: &[(String, String)],
) -> Result<Body, String> {
    get_raw(feed, fetcher, location, headers).await.map_err(|e| e.to_string())
}

async fn get_raw(
    feed: &Feed,
    fetcher: &Fetcher,
    location: &Location,
    headers: &[(String, String)],
) -> Result<Body, FetchError> {
    match location {
        Location::Url(url) => fetcher.get(&feed.id, url, headers, feed.config.refresh_secs).await,
        Location::Path(path) => {
            let started = Instant::now();
            let display = path.display().to_string();
            let bytes = read_capped(path, u64::MAX, &display).await?;
            Ok(Body {
                bytes,
                status: 200,
                content_type: None,
                origin: Origin::Local,
                elapsed: started.elapsed(),
            })
        }
    }
}

/// Resolves the feed's headers from the environment. The error names the variable, never a
/// value.
fn headers(feed: &Feed) -> Result<Vec<(String, String)>, FetchError> {
    feed.config
        .headers_from_env
        .iter()
        .map(|(header, variable)| match std::env::var(variable) {
            Ok(value) if !value.is_empty() => Ok((header.clone(), value)),
            _ => Err(FetchError::MissingSecret {
                header: header.clone(),
                variable: variable.clone(),
            }),
        })
        .collect()
}

/// Refuses an HTML page served where a list was expected (bug case 01): its markup would be
/// read as indicators.
fn check_not_html(body: &Body) -> Result<(), String> {
    let is_html_type = body
        .content_type
        .as_deref()
        .is_some_and(|t| t.trim_start().to_ascii_lowercase().starts_with("text/html"));
    let start: Vec<u8> = body
        .bytes
        .iter()
        .skip_while(|b| b.is_ascii_whitespace() || **b == 0xEF || **b == 0xBB || **b == 0xBF)
        .take(15)
        .map(u8::to_ascii_lowercase)
        .collect();
    if is_html_type || start.starts_with(b"<!doctype html") || start.starts_with(b"<html") {
        return Err("the server sent an HTML page instead of a feed; body not parsed".to_owned());
    }
    Ok(())
}
