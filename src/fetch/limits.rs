//! How hard and how often feedsmith knocks on one server's door.
//!
//! - [`Hosts`]: a semaphore per host (and port), so that a project of many feeds on one
//!   server (every abuse.ch list, every file of a MISP feed) never has more than
//!   `per_host_concurrency` requests in flight there, whatever the global concurrency.
//! - [`delay`]: the wait before a retry. Exponential back-off from `retry_base`, with random
//!   jitter so that parallel builds do not retry in step, unless the server said how long to
//!   wait with `Retry-After` (seconds or an HTTP date), which is honoured up to
//!   [`MAX_RETRY_DELAY`]. A server that asks for longer is not retried: its answer is the
//!   feed's error.

use std::collections::HashMap;
use std::hash::{BuildHasher as _, Hasher as _};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use tokio::sync::Semaphore;

/// Longest wait before one retry, asked by `Retry-After` or reached by back-off.
pub(crate) const MAX_RETRY_DELAY: Duration = Duration::from_mins(1);
/// Longest total wait over the retries of one request.
pub(crate) const RETRY_BUDGET: Duration = Duration::from_mins(3);

/// One semaphore per host.
#[derive(Debug)]
pub(crate) struct Hosts {
    per_host: usize,
    semaphores: Mutex<HashMap<String, Arc<Semaphore>>>,
}

impl Hosts {
    /// Allows `per_host` requests at once to each host (at least one).
    pub(crate) fn new(per_host: usize) -> Hosts {
        Hosts { per_host: per_host.max(1), semaphores: Mutex::new(HashMap::new()) }
    }

    /// The semaphore of `url`'s host and port.
    pub(crate) fn semaphore(&self, url: &reqwest::Url) -> Arc<Semaphore> {
        let key = format!(
            "{}:{}",
            url.host_str().unwrap_or_default(),
            url.port_or_known_default().unwrap_or_default()
        );
        let mut map = self.semaphores.lock().unwrap_or_else(PoisonError::into_inner);
        map.entry(key).or_insert_with(|| Arc::new(Semaphore::new(self.per_host))).clone()
    }
}

/// The `Retry-After` of a response as a duration from now: delay seconds or an HTTP date
/// (a date in the past is zero). `None` when absent or unreadable.
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let value = headers.get(reqwest::header::RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = httpdate::parse_http_date(value).ok()?;
    Some(when.duration_since(SystemTime::now()).unwrap_or(Duration::ZERO))
}

/// Why no retry follows a failure that could be retried.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// The server asked for a longer wait than [`MAX_RETRY_DELAY`].
    RetryAfterTooLong(Duration),
    /// The waits so far and this one would pass [`RETRY_BUDGET`].
    BudgetSpent,
}

impl Refusal {
    /// A note for the error message.
    pub(crate) fn note(&self) -> String {
        match self {
            Refusal::RetryAfterTooLong(wait) => format!(
                "; the server asked to retry after {} s, more than the {} s cap",
                wait.as_secs(),
                MAX_RETRY_DELAY.as_secs()
            ),
            Refusal::BudgetSpent => {
                format!("; the retries would wait more than {} s in all", RETRY_BUDGET.as_secs())
            }
        }
    }
}

/// The wait before retry number `retry` (0 for the first), given what the server asked for
/// and the time already spent waiting.
pub(crate) fn delay(
    base: Duration,
    retry: u32,
    asked: Option<Duration>,
    waited: Duration,
) -> Result<Duration, Refusal> {
    let wait = match asked {
        Some(asked) if asked > MAX_RETRY_DELAY => return Err(Refusal::RetryAfterTooLong(asked)),
        Some(asked) => asked,
        None => {
            let backoff = base.saturating_mul(1u32 << retry.min(16)).min(MAX_RETRY_DELAY);
            // Half the back-off is fixed, the other half random ("equal jitter").
            let half = backoff / 2;
            half + half.mul_f64(random_unit())
        }
    };
    if waited + wait > RETRY_BUDGET {
        return Err(Refusal::BudgetSpent);
    }
    Ok(wait)
}

/// A number in [0, 1) that differs between calls; jitter needs no better randomness.
fn random_unit() -> f64 {
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    hasher.write_u128(
        SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default().as_nanos(),
    );
    (hasher.finish() >> 11) as f64 / (1u64 << 53) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn back_off_doubles_and_stays_between_half_and_whole() {
        let base = Duration::from_millis(100);
        for retry in 0..4 {
            let full = base * (1 << retry);
            let wait = delay(base, retry, None, Duration::ZERO).unwrap();
            assert!(wait >= full / 2 && wait <= full, "retry {retry}: {wait:?}");
        }
    }

    #[test]
    fn back_off_is_capped() {
        let wait = delay(Duration::from_secs(10), 12, None, Duration::ZERO).unwrap();
        assert!(wait <= MAX_RETRY_DELAY, "{wait:?}");
    }

    #[test]
    fn retry_after_is_honoured_up_to_the_cap() {
        let asked = Some(Duration::from_secs(7));
        assert_eq!(
            delay(Duration::from_millis(1), 0, asked, Duration::ZERO),
            Ok(Duration::from_secs(7))
        );
        let asked = Duration::from_hours(1);
        assert_eq!(
            delay(Duration::from_millis(1), 0, Some(asked), Duration::ZERO),
            Err(Refusal::RetryAfterTooLong(asked))
        );
    }

    #[test]
    fn the_total_budget_stops_retries() {
        let asked = Some(Duration::from_secs(30));
        assert_eq!(
            delay(Duration::ZERO, 3, asked, RETRY_BUDGET.saturating_sub(Duration::from_secs(10))),
            Err(Refusal::BudgetSpent)
        );
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(reqwest::header::RETRY_AFTER, "120".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::from_mins(2)));
        let soon = SystemTime::now() + Duration::from_secs(30);
        headers
            .insert(reqwest::header::RETRY_AFTER, httpdate::fmt_http_date(soon).parse().unwrap());
        let wait = retry_after(&headers).unwrap();
        assert!(wait > Duration::from_secs(27) && wait <= Duration::from_secs(30), "{wait:?}");
        headers
            .insert(reqwest::header::RETRY_AFTER, "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(retry_after(&headers), Some(Duration::ZERO));
        headers.insert(reqwest::header::RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&headers), None);
    }

    #[test]
    fn hosts_share_a_semaphore_per_host_and_port() {
        let hosts = Hosts::new(2);
        let a = hosts.semaphore(&"https://a.example/x".parse().unwrap());
        let b = hosts.semaphore(&"https://a.example:443/y".parse().unwrap());
        let c = hosts.semaphore(&"http://a.example/x".parse().unwrap());
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
        assert_eq!(a.available_permits(), 2);
    }
}
