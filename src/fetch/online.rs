//! One feed file over the network: conditional GET, redirects, retries, timeouts and caps.
//!
//! A request is made of *attempts*. An attempt follows redirects by hand (at most
//! [`MAX_REDIRECTS`]) so that a loop is named as such, a redirect from https to http is
//! refused, and a feed's secret headers are only sent to the origin its definition names.
//! It then reads the body in chunks under two watches: the size cap (`max_body_bytes`) and
//! the stall timer (no byte for `timeout`), on top of the client's total timeout. A body
//! shorter than its `Content-Length` is an error, never partial data.
//!
//! A failed attempt is retried when retrying can help: connection errors, timeouts, cut-off
//! bodies, `408`, `429` and `5xx`. Another `4xx`, a redirect problem, a body over a cap or
//! content that fails the checks is final at once. Waits come from [`super::limits`].
//! While an attempt runs it holds a permit of its host's semaphore; a wait holds none.

use std::path::Path;
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, IF_MODIFIED_SINCE, IF_NONE_MATCH, LOCATION};

use super::cache::Cached;
use super::limits;
use super::{Body, Expect, FeedRequest, FetchError, Fetcher, Origin};

/// Most redirects followed by one attempt.
pub(crate) const MAX_REDIRECTS: usize = 10;
/// Largest buffer reserved up front from a `Content-Length`, which the server may inflate.
const MAX_PREALLOCATION: u64 = 16 * 1024 * 1024;

/// The HTTP client: rustls, a User-Agent naming feedsmith, proxies from the environment
/// (reqwest reads `HTTP_PROXY`, `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY` by default),
/// redirects handled by the caller, and the CA certificates of `ca_file` trusted on top of
/// the system's.
pub(crate) fn client(
    timeout: Duration,
    ca_file: Option<&Path>,
) -> Result<reqwest::Client, FetchError> {
    let mut builder = reqwest::Client::builder()
        .user_agent(concat!("feedsmith/", env!("CARGO_PKG_VERSION")))
        .timeout(timeout)
        .read_timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(30)))
        .redirect(reqwest::redirect::Policy::none());
    if let Some(path) = ca_file {
        let ca_error = |message: String| FetchError::CaFile { path: path.to_owned(), message };
        let pem = std::fs::read(path).map_err(|e| ca_error(e.to_string()))?;
        let certificates =
            reqwest::Certificate::from_pem_bundle(&pem).map_err(|e| ca_error(describe(e)))?;
        if certificates.is_empty() {
            return Err(ca_error("no PEM certificate in the file".to_owned()));
        }
        builder = builder.tls_certs_merge(certificates);
    }
    builder.build().map_err(|e| FetchError::Client { message: describe(e) })
}

/// What one attempt got.
enum Answer {
    /// `304`: the cached body is current.
    NotModified,
    /// `200` and its whole body, as received.
    Fresh {
        raw: Vec<u8>,
        content_type: Option<String>,
        etag: Option<String>,
        last_modified: Option<String>,
    },
}

/// A failed attempt, and whether another one may help.
struct Failure {
    error: FetchError,
    retry: bool,
    /// What the server's `Retry-After` asked for.
    retry_after: Option<Duration>,
}

impl Failure {
    fn last(error: FetchError) -> Failure {
        Failure { error, retry: false, retry_after: None }
    }

    fn again(error: FetchError) -> Failure {
        Failure { error, retry: true, retry_after: None }
    }
}

impl Fetcher {
    /// Gets `url` over the network, or from the cache when it is fresh or unchanged.
    pub(super) async fn get_online(
        &self,
        request: &FeedRequest,
        url: &str,
        expect: Expect,
        started: Instant,
    ) -> Result<Body, FetchError> {
        let cached = self.cache.load(&request.feed, url)?;
        if let Some(entry) = &cached {
            let age = time::OffsetDateTime::now_utc().unix_timestamp() - entry.meta.fetched_at;
            if request.refresh_secs > 0 && age >= 0 && age.unsigned_abs() < request.refresh_secs {
                tracing::debug!(feed = %request.feed, age_secs = age, "Cached body is fresh; not requested");
                return self.cached_body(request, url, expect, entry.clone(), started);
            }
        }
        let client = self.client_for(request)?;
        let max = self.limits.max_body_bytes;
        match self.retrying(&client, request, url, cached.as_ref(), max).await? {
            Answer::NotModified => {
                let Some(entry) = cached else {
                    return Err(FetchError::Status { url: url.to_owned(), status: 304 });
                };
                if let Err(e) = self.cache.touch(&request.feed, url, entry.meta.clone()) {
                    tracing::warn!(feed = %request.feed, error = %e, "Could not update the cache entry");
                }
                let mut body = self.cached_body(request, url, expect, entry, started)?;
                body.status = 304;
                // The server confirmed the cached bytes just now.
                body.as_of = None;
                Ok(body)
            }
            Answer::Fresh { raw, content_type, etag, last_modified } => {
                let opened =
                    self.open_checked(request, url, expect, &raw, 200, content_type.as_deref())?;
                let feed = &request.feed;
                self.cache.store(feed, url, &raw, content_type.as_deref(), etag, last_modified)?;
                Ok(Body {
                    bytes: opened.unwrap_or(raw),
                    status: 200,
                    content_type,
                    origin: Origin::Network,
                    elapsed: started.elapsed(),
                    as_of: None,
                })
            }
        }
    }

    /// Gets `url` over the network as it is, whatever the fetch mode: no cache, no
    /// decompression of the body and no content checks, with the project's timeout and
    /// retries and a cap of `max_bytes`. For files that are not feeds, such as the state a
    /// previous build published.
    pub async fn download(&self, url: &str, max_bytes: u64) -> Result<Vec<u8>, FetchError> {
        let request = FeedRequest::new("state");
        match self.retrying(&self.client, &request, url, None, max_bytes).await? {
            Answer::Fresh { raw, .. } => Ok(raw),
            // Without validators sent, a 304 is the server's error.
            Answer::NotModified => Err(FetchError::Status { url: url.to_owned(), status: 304 }),
        }
    }

    /// Attempts a request until it succeeds, fails for good or runs out of retries.
    async fn retrying(
        &self,
        client: &reqwest::Client,
        request: &FeedRequest,
        url: &str,
        cached: Option<&Cached>,
        max_bytes: u64,
    ) -> Result<Answer, FetchError> {
        let parsed = reqwest::Url::parse(url)
            .map_err(|e| FetchError::Request { url: url.to_owned(), message: e.to_string() })?;
        let semaphore = self.hosts.semaphore(&parsed);
        let mut waited = Duration::ZERO;
        let mut attempts: u32 = 0;
        loop {
            attempts += 1;
            let result = {
                // The semaphore is never closed, so acquiring only fails if it were.
                let _permit = semaphore.acquire().await.ok();
                self.attempt(client, request, &parsed, url, cached, max_bytes).await
            };
            let failure = match result {
                Ok(answer) => return Ok(answer),
                Err(failure) => failure,
            };
            if !failure.retry || attempts > self.limits.retries {
                return Err(gave_up(failure.error, attempts, String::new()));
            }
            match limits::delay(self.limits.retry_base, attempts - 1, failure.retry_after, waited) {
                Ok(wait) => {
                    tracing::warn!(
                        feed = %request.feed,
                        attempt = attempts,
                        wait_ms = wait.as_millis() as u64,
                        reason = failure.error.reason(),
                        error = %failure.error,
                        "Retrying a failed request"
                    );
                    tokio::time::sleep(wait).await;
                    waited += wait;
                }
                Err(refusal) => return Err(gave_up(failure.error, attempts, refusal.note())),
            }
        }
    }

    /// One attempt: follows redirects, checks the status and reads the whole body.
    async fn attempt(
        &self,
        client: &reqwest::Client,
        request: &FeedRequest,
        start: &reqwest::Url,
        url: &str,
        cached: Option<&Cached>,
        max: u64,
    ) -> Result<Answer, Failure> {
        let timeout_secs = self.limits.timeout.as_secs();
        let mut current = start.clone();
        let mut visited = vec![start.clone()];
        let mut response = loop {
            let mut builder = client.get(current.clone());
            if current.origin() == start.origin() {
                for (name, value) in &request.headers {
                    builder = builder.header(name.clone(), value.clone());
                }
            }
            if let Some(entry) = cached {
                if let Some(etag) = &entry.meta.etag {
                    builder = builder.header(IF_NONE_MATCH, etag.as_str());
                }
                if let Some(modified) = &entry.meta.last_modified {
                    builder = builder.header(IF_MODIFIED_SINCE, modified.as_str());
                }
            }
            let response = builder.send().await.map_err(|e| {
                if e.is_timeout() {
                    let what = "no response arrived".to_owned();
                    return Failure::again(FetchError::Timeout {
                        url: url.to_owned(),
                        secs: timeout_secs,
                        what,
                    });
                }
                let failure = if e.is_builder() { Failure::last } else { Failure::again };
                failure(FetchError::Request { url: url.to_owned(), message: describe(e) })
            })?;
            if !matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
                break response;
            }
            let next =
                next_location(&current, response.headers(), &visited).map_err(|message| {
                    Failure::last(FetchError::Redirect { url: url.to_owned(), message })
                })?;
            if next.origin() != start.origin() && !request.headers.is_empty() {
                tracing::warn!(
                    feed = %request.feed,
                    to = %next,
                    "Redirected to another origin; the feed's secret headers are not sent there"
                );
            }
            visited.push(next.clone());
            current = next;
        };

        let status = response.status().as_u16();
        match status {
            200 => {}
            304 if cached.is_some() => return Ok(Answer::NotModified),
            408 | 429 | 500..=599 => {
                return Err(Failure {
                    error: FetchError::Status { url: url.to_owned(), status },
                    retry: true,
                    retry_after: limits::retry_after(response.headers()),
                });
            }
            _ => return Err(Failure::last(FetchError::Status { url: url.to_owned(), status })),
        }
        let header =
            |name| response.headers().get(name).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let content_type = header(reqwest::header::CONTENT_TYPE);
        let etag = header(reqwest::header::ETAG);
        let last_modified = header(reqwest::header::LAST_MODIFIED);

        // Known only when the body is not being decompressed on the way in.
        let expected = response.content_length();
        let too_large = || Failure::last(FetchError::TooLarge { url: url.to_owned(), limit: max });
        if expected.is_some_and(|len| len > max) {
            return Err(too_large());
        }
        let mut raw = Vec::with_capacity(expected.unwrap_or(0).min(MAX_PREALLOCATION) as usize);
        loop {
            let received = raw.len() as u64;
            let stalled = || {
                Failure::again(FetchError::Timeout {
                    url: url.to_owned(),
                    secs: timeout_secs,
                    what: format!("the body stalled after {received} bytes"),
                })
            };
            let chunk = match tokio::time::timeout(self.limits.timeout, response.chunk()).await {
                Err(_) => return Err(stalled()),
                Ok(Err(e)) if e.is_timeout() => return Err(stalled()),
                Ok(Err(e)) => {
                    let error = match expected {
                        Some(expected) => {
                            FetchError::Truncated { url: url.to_owned(), received, expected }
                        }
                        None => FetchError::Request { url: url.to_owned(), message: describe(e) },
                    };
                    return Err(Failure::again(error));
                }
                Ok(Ok(None)) => break,
                Ok(Ok(Some(chunk))) => chunk,
            };
            if received + chunk.len() as u64 > max {
                return Err(too_large());
            }
            raw.extend_from_slice(&chunk);
            request.received.store(raw.len() as u64, std::sync::atomic::Ordering::Relaxed);
        }
        if let Some(expected) = expected
            && raw.len() as u64 != expected
        {
            let received = raw.len() as u64;
            return Err(Failure::again(FetchError::Truncated {
                url: url.to_owned(),
                received,
                expected,
            }));
        }
        Ok(Answer::Fresh { raw, content_type, etag, last_modified })
    }
}

/// Where a redirect leads, or why it is not followed.
fn next_location(
    current: &reqwest::Url,
    headers: &HeaderMap,
    visited: &[reqwest::Url],
) -> Result<reqwest::Url, String> {
    let location = headers
        .get(LOCATION)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| format!("a redirect from {current} without a usable `Location`"))?;
    let next = current
        .join(location)
        .map_err(|e| format!("a redirect from {current} to an unreadable location: {e}"))?;
    if visited.contains(&next) {
        let chain: Vec<String> = visited.iter().map(ToString::to_string).collect();
        return Err(format!("redirect loop: {} → {next}", chain.join(" → ")));
    }
    if visited.len() > MAX_REDIRECTS {
        return Err(format!("more than {MAX_REDIRECTS} redirects, the last to {next}"));
    }
    if !matches!(next.scheme(), "http" | "https") {
        return Err(format!("a redirect to {next}, which is not http or https"));
    }
    if current.scheme() == "https" && next.scheme() == "http" {
        return Err(format!("a redirect from https to plain http ({next}), refused"));
    }
    Ok(next)
}

/// The last failure, said to come after several attempts when there were.
fn gave_up(error: FetchError, attempts: u32, note: String) -> FetchError {
    if attempts <= 1 && note.is_empty() {
        return error;
    }
    FetchError::GaveUp { attempts, note, source: Box::new(error) }
}

/// The client's message with its chain of causes, without the URL (the caller's message
/// has it) and never with header values.
fn describe(error: reqwest::Error) -> String {
    use std::error::Error as _;
    let error = error.without_url();
    let mut message = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        // hyper and reqwest often repeat the inner message in the outer one.
        if !message.contains(&text) {
            message.push_str(": ");
            message.push_str(&text);
        }
        source = cause.source();
    }
    message
}

#[cfg(test)]
mod tests {
    use super::*;

    fn location(to: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(LOCATION, to.parse().unwrap());
        headers
    }

    #[test]
    fn a_relative_redirect_is_resolved_against_the_current_url() {
        let here: reqwest::Url = "https://a.example/feeds/list.txt".parse().unwrap();
        let next =
            next_location(&here, &location("../v2/list.txt"), std::slice::from_ref(&here)).unwrap();
        assert_eq!(next.as_str(), "https://a.example/v2/list.txt");
    }

    #[test]
    fn a_redirect_back_to_a_visited_url_is_a_loop() {
        let a: reqwest::Url = "http://a.example/a".parse().unwrap();
        let b: reqwest::Url = "http://a.example/b".parse().unwrap();
        let err = next_location(&b, &location("/a"), &[a.clone(), b.clone()]).unwrap_err();
        assert_eq!(
            err,
            "redirect loop: http://a.example/a → http://a.example/b → http://a.example/a"
        );
    }

    #[test]
    fn a_downgrade_to_http_and_odd_schemes_are_refused() {
        let here: reqwest::Url = "https://a.example/x".parse().unwrap();
        let err =
            next_location(&here, &location("http://a.example/x"), std::slice::from_ref(&here));
        assert!(err.unwrap_err().contains("plain http"));
        let err =
            next_location(&here, &location("file:///etc/passwd"), std::slice::from_ref(&here));
        assert!(err.unwrap_err().contains("not http or https"));
        assert!(next_location(&here, &HeaderMap::new(), std::slice::from_ref(&here)).is_err());
    }

    #[test]
    fn the_chain_is_cut_after_the_redirect_limit() {
        let visited: Vec<reqwest::Url> =
            (0..=MAX_REDIRECTS).map(|i| format!("http://a.example/{i}").parse().unwrap()).collect();
        let last = visited.last().unwrap().clone();
        let err = next_location(&last, &location("/next"), &visited).unwrap_err();
        assert!(err.starts_with("more than 10 redirects"), "{err}");
    }

    #[test]
    fn a_ca_file_without_certificates_is_an_error_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("ca.pem");
        std::fs::write(&path, "not a certificate\n").unwrap();
        let err = client(Duration::from_secs(1), Some(&path)).unwrap_err();
        assert_eq!(err.reason(), "ca_file");
        assert!(err.to_string().contains("ca.pem"), "{err}");
        let missing = dir.path().join("missing.pem");
        assert_eq!(client(Duration::from_secs(1), Some(&missing)).unwrap_err().reason(), "ca_file");
    }
}
