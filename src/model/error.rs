//! Why a feed has no fresh data: typed at the boundary, kept as data in
//! the feed, and worded for an on-call engineer in one place (`Display`).

use std::time::Duration;

/// Why a fetch failed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeedError {
    /// The backend could not be reached (DNS, refused, TLS, reset).
    #[error("unreachable: {0}")]
    Unreachable(String),
    /// One request took longer than its timeout.
    #[error("timed out")]
    Timeout,
    /// The whole poll took longer than the feed allows.
    #[error("timed out after {secs:.1}s")]
    TimedOut { secs: f64 },
    /// A non-2xx answer with the start of its body.
    #[error("{}", http(.status, .body))]
    Http { status: u16, body: String },
    /// The answer was larger than the feed reads.
    #[error("response larger than {0} bytes")]
    TooLarge(usize),
    /// The answer could not be read.
    #[error("bad response: {0}")]
    Decode(String),
    /// 429 Too Many Requests, with the seconds its Retry-After asked for
    /// (the poll loop waits that long).
    #[error("HTTP 429: rate limited; {RETRY_AFTER}{0}s")]
    Throttled(u64),
    /// A source's own words (a query Prometheus refused, a region of
    /// CloudWatch that failed, …).
    #[error("{0}")]
    Source(String),
}

fn http(status: &u16, body: &str) -> String {
    if body.is_empty() {
        format!("HTTP {status}")
    } else {
        format!("HTTP {status}: {body}")
    }
}

/// The words with which an error asks for a wait ("retry after 30s").
pub const RETRY_AFTER: &str = "retry after ";

/// The longest wait a backend may ask for: past it we try anyway.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

impl FeedError {
    /// The wait the backend asked for, if it did: a 429's Retry-After, or
    /// the same words inside a source's own message (a source that words
    /// its errors itself keeps the hint).
    pub fn retry_after(&self) -> Option<Duration> {
        let secs = match self {
            FeedError::Throttled(s) => *s,
            FeedError::Source(text) => {
                let at = text.find(RETRY_AFTER)? + RETRY_AFTER.len();
                let digits: String = text[at..].chars().take_while(|c| c.is_ascii_digit()).collect();
                digits.parse().ok()?
            }
            _ => return None,
        };
        Some(Duration::from_secs(secs).min(MAX_RETRY_AFTER))
    }
}

impl From<String> for FeedError {
    fn from(s: String) -> FeedError {
        FeedError::Source(s)
    }
}

impl From<&str> for FeedError {
    fn from(s: &str) -> FeedError {
        FeedError::Source(s.to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_error_is_worded_in_one_place_and_only_a_429_asks_for_a_wait() {
        let cases = [
            (FeedError::Unreachable("connection refused".into()), "unreachable: connection refused"),
            (FeedError::Timeout, "timed out"),
            (FeedError::TimedOut { secs: 1.6 }, "timed out after 1.6s"),
            (FeedError::Http { status: 503, body: String::new() }, "HTTP 503"),
            (FeedError::Http { status: 500, body: "boom".into() }, "HTTP 500: boom"),
            (FeedError::TooLarge(1000), "response larger than 1000 bytes"),
            (FeedError::Decode("EOF".into()), "bad response: EOF"),
            (FeedError::Throttled(30), "HTTP 429: rate limited; retry after 30s"),
            (FeedError::Source("Prometheus 400 bad_data: parse error".into()), "Prometheus 400 bad_data: parse error"),
        ];
        for (e, text) in &cases {
            assert_eq!(e.to_string(), *text);
            let asks = matches!(e, FeedError::Throttled(_));
            assert_eq!(e.retry_after().is_some(), asks, "{e:?}");
        }
    }
}
