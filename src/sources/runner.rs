//! The poll loop every source shares: interval, timeout, exponential
//! backoff with jitter on failure, and one update per attempt.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

#[cfg(test)]
use super::MAX_RETRY_AFTER;
use super::{FeedError, Payload, Update};
use crate::model::FeedId;

/// Where time comes from: the wall clock live, a fixed instant in snapshots.
pub type Clock = Arc<dyn Fn() -> DateTime<Utc> + Send + Sync>;

#[derive(Debug, Clone)]
pub struct PollSpec {
    pub feed: FeedId,
    /// Set when the feed has several sources: the updates say which.
    pub source: Option<Arc<str>>,
    pub interval: Duration,
    pub timeout: Duration,
    /// Longest wait between attempts while failing.
    pub max_backoff: Duration,
}

/// Delay before the next attempt after `failures` consecutive failures,
/// with ±20% jitter from `jitter` (a number in [0, 1)).
pub fn next_delay(spec: &PollSpec, failures: u32, jitter: f64) -> Duration {
    let base = if failures == 0 {
        spec.interval
    } else {
        let exp = 2f64.powi(failures.min(16) as i32 - 1);
        spec.interval.mul_f64(exp).min(spec.max_backoff.max(spec.interval))
    };
    base.mul_f64(0.8 + 0.4 * jitter.clamp(0.0, 1.0))
}

/// The wait after an attempt: the backoff, or longer if the error asked.
pub fn wait_after(spec: &PollSpec, failures: u32, jitter: f64, error: Option<&FeedError>) -> Duration {
    let asked = error.and_then(FeedError::retry_after).unwrap_or(Duration::ZERO);
    next_delay(spec, failures, jitter).max(asked)
}

/// A cheap per-task pseudo-random sequence for jitter (no shared state).
fn xorshift(state: &mut u64) -> f64 {
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    (*state >> 11) as f64 / (1u64 << 53) as f64
}

/// Poll `fetch` forever, sending one update per attempt, until the store's
/// receiver is gone.
pub async fn run_poll<F, Fut>(spec: PollSpec, clock: Clock, tx: mpsc::Sender<Update>, fetch: F)
where
    F: Fn() -> Fut,
    Fut: Future<Output = Result<Payload, FeedError>>,
{
    let mut failures = 0u32;
    let mut seed = 0x9e37_79b9_7f4a_7c15u64 ^ (spec.feed as u64 + 1).wrapping_mul(0x1234_5678_9abc_def1);
    seed ^= clock().timestamp_subsec_nanos() as u64;
    loop {
        let result = match tokio::time::timeout(spec.timeout, fetch()).await {
            Ok(r) => r,
            Err(_) => Err(FeedError::TimedOut { secs: spec.timeout.as_secs_f64() }),
        };
        failures = if result.is_ok() { 0 } else { failures.saturating_add(1) };
        // A 429's Retry-After is honoured (up to ten minutes), never cut short.
        let wait = wait_after(&spec, failures, xorshift(&mut seed), result.as_ref().err());
        if tx.send(Update { source: spec.source.clone(), feed: spec.feed, at: clock(), result }).await.is_err() {
            return;
        }
        tokio::time::sleep(wait).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_retry_after_is_read_from_the_message_and_capped() {
        let e = FeedError::Throttled(30);
        assert_eq!(e.to_string(), "HTTP 429: rate limited; retry after 30s");
        assert_eq!(e.retry_after(), Some(Duration::from_secs(30)), "typed");
        let retry_hint = |text: &str| FeedError::from(text).retry_after();
        assert_eq!(retry_hint(&format!("Prometheus: {e}")), Some(Duration::from_secs(30)));
        assert_eq!(retry_hint("retry after 999999s"), Some(MAX_RETRY_AFTER));
        assert_eq!(FeedError::Throttled(999_999).retry_after(), Some(MAX_RETRY_AFTER));
        assert_eq!(retry_hint("HTTP 500"), None);
        assert_eq!(retry_hint("retry after soon"), None);
        let spec = PollSpec {
            feed: FeedId::Metrics,
            source: None,
            interval: Duration::from_secs(1),
            timeout: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        };
        assert_eq!(wait_after(&spec, 1, 0.5, Some(&e)), Duration::from_secs(30), "the server's 30 s, not our 1 s");
        assert_eq!(wait_after(&spec, 1, 0.5, Some(&FeedError::from("HTTP 500"))), Duration::from_secs(1));
        assert_eq!(wait_after(&spec, 0, 0.5, None), Duration::from_secs(1));
    }

    #[test]
    fn backoff_grows_and_caps_with_jitter() {
        let spec = PollSpec {
            feed: FeedId::Metrics,
            source: None,
            interval: Duration::from_secs(2),
            timeout: Duration::from_secs(1),
            max_backoff: Duration::from_secs(30),
        };
        assert_eq!(next_delay(&spec, 0, 0.5), Duration::from_secs(2));
        assert_eq!(next_delay(&spec, 1, 0.5), Duration::from_secs(2));
        assert_eq!(next_delay(&spec, 3, 0.5), Duration::from_secs(8));
        assert_eq!(next_delay(&spec, 40, 0.5), Duration::from_secs(30));
        assert!(next_delay(&spec, 0, 0.0) >= Duration::from_millis(1600));
        assert!(next_delay(&spec, 0, 0.999) <= Duration::from_millis(2400));
    }

    #[test]
    fn jitter_sequence_is_in_range() {
        let mut s = 42u64;
        for _ in 0..1000 {
            let x = xorshift(&mut s);
            assert!((0.0..1.0).contains(&x));
        }
    }
}
