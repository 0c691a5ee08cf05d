//! HTTP GET with a response-size limit and error messages fit for a pane.

use crate::model::error::FeedError;

/// A message with every URL in it stripped of credentials and query
/// string (`https://user:secret@cp/v1/actions?token=x` → `https://cp/v1/actions`),
/// for panes and the audit trail.
pub fn redact(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    // "http" starts both schemes: each match that is followed by "://" or "s://" is a URL.
    while let Some(i) = rest.match_indices("http").map(|(i, _)| i).find(|&i| {
        let after = &rest[i + 4..];
        after.starts_with("://") || after.starts_with("s://")
    }) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        let end = tail.find(|c: char| c.is_whitespace() || matches!(c, ')' | '"' | '\'' | '>')).unwrap_or(tail.len());
        let (raw, after) = tail.split_at(end);
        match url::Url::parse(raw) {
            Ok(mut u) => {
                let _ = u.set_username("");
                let _ = u.set_password(None);
                u.set_query(None);
                u.set_fragment(None);
                out.push_str(u.as_str());
            }
            Err(_) => out.push_str(raw),
        }
        rest = after;
    }
    out.push_str(rest);
    out
}

fn describe(e: &reqwest::Error) -> String {
    if e.is_connect() {
        // The innermost cause is the useful part ("Connection refused").
        let mut src: &dyn std::error::Error = e;
        while let Some(next) = src.source() {
            src = next;
        }
        return src.to_string();
    }
    e.to_string()
}

/// GET `url` and return (status, body), reading at most `limit` bytes.
/// Non-2xx answers become `FeedError::Http` with the start of the body.
pub async fn get_limited(client: &reqwest::Client, url: &str, limit: usize) -> Result<(u16, Vec<u8>), FeedError> {
    get_limited_auth(client, url, limit, None).await
}

/// `get_limited` with an optional bearer token.
pub async fn get_limited_auth(
    client: &reqwest::Client,
    url: &str,
    limit: usize,
    token: Option<&str>,
) -> Result<(u16, Vec<u8>), FeedError> {
    let (status, body) = get_any_auth(client, url, limit, token).await?;
    if !(200..300).contains(&status) {
        return Err(http_error(status, &body));
    }
    Ok((status, body))
}

/// A non-2xx answer as an error: the status and the start of the body,
/// without control characters.
pub fn http_error(status: u16, body: &[u8]) -> FeedError {
    let text = String::from_utf8_lossy(body);
    FeedError::Http { status, body: text.chars().filter(|c| !c.is_control()).take(120).collect() }
}

/// GET `url` and return (status, body) whatever the status.
pub async fn get_any(client: &reqwest::Client, url: &str, limit: usize) -> Result<(u16, Vec<u8>), FeedError> {
    get_any_auth(client, url, limit, None).await
}

/// `get_any` with an optional bearer token (never logged or shown).
pub async fn get_any_auth(
    client: &reqwest::Client,
    url: &str,
    limit: usize,
    token: Option<&str>,
) -> Result<(u16, Vec<u8>), FeedError> {
    get_dated_auth(client, url, limit, token).await.map(|(s, b, _)| (s, b))
}

/// The source's clock from a response's `Date` header (RFC 9110 §6.6.1:
/// every origin server with a clock sends it), to the second.
pub fn date_header(h: &reqwest::header::HeaderMap) -> Option<chrono::DateTime<chrono::Utc>> {
    let v = h.get(reqwest::header::DATE)?.to_str().ok()?;
    chrono::DateTime::parse_from_rfc2822(v).ok().map(|d| d.with_timezone(&chrono::Utc))
}

/// `get_any_auth`, with the answer's `Date` header when it has one.
pub async fn get_dated_auth(
    client: &reqwest::Client,
    url: &str,
    limit: usize,
    token: Option<&str>,
) -> Result<(u16, Vec<u8>, Option<chrono::DateTime<chrono::Utc>>), FeedError> {
    let mut req = client.get(url);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    send_limited(req, limit).await
}

/// Send a prepared request (any method, any headers) and return (status,
/// body, `Date`), reading at most `limit` bytes; the errors are those of
/// `get_dated_auth`.
pub async fn send_limited(
    req: reqwest::RequestBuilder,
    limit: usize,
) -> Result<(u16, Vec<u8>, Option<chrono::DateTime<chrono::Utc>>), FeedError> {
    let mut resp = req.send().await.map_err(|e| {
        if e.is_timeout() {
            FeedError::Timeout
        } else {
            FeedError::Unreachable(describe(&e))
        }
    })?;
    let status = resp.status().as_u16();
    let date = date_header(resp.headers());
    if status == 429 {
        // Retry-After (RFC 9110 §10.2.3): seconds, or an HTTP date.
        let secs = resp.headers().get(reqwest::header::RETRY_AFTER).and_then(|v| v.to_str().ok()).and_then(|v| {
            v.trim().parse::<u64>().ok().or_else(|| {
                let at = chrono::DateTime::parse_from_rfc2822(v).ok()?.with_timezone(&chrono::Utc);
                let from = date.unwrap_or_else(chrono::Utc::now);
                Some((at - from).num_seconds().max(0) as u64)
            })
        });
        return Err(FeedError::Throttled(secs.unwrap_or(0)));
    }
    let gzipped = resp
        .headers()
        .get(reqwest::header::CONTENT_ENCODING)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("gzip"));
    if resp.content_length().is_some_and(|n| n as usize > limit) {
        return Err(FeedError::TooLarge(limit));
    }
    let mut body = Vec::new();
    loop {
        match resp.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() + chunk.len() > limit {
                    return Err(FeedError::TooLarge(limit));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            Err(e) if e.is_timeout() => return Err(FeedError::Timeout),
            // The server was reached; its answer stopped short.
            Err(e) if e.is_body() || e.is_decode() => {
                let mut src: &dyn std::error::Error = &e;
                while let Some(next) = src.source() {
                    src = next;
                }
                return Err(FeedError::Decode(format!("the answer was cut off mid-body ({src})")));
            }
            Err(e) => return Err(FeedError::Unreachable(describe(&e))),
        }
    }
    if gzipped {
        body = gunzip(&body, limit)?;
    }
    Ok((status, body, date))
}

/// Inflate a gzip body (sent because the request said `Accept-Encoding:
/// gzip`), refusing to grow past `limit` bytes: a small hostile body
/// cannot become a huge one in memory.
fn gunzip(body: &[u8], limit: usize) -> Result<Vec<u8>, FeedError> {
    use std::io::Read as _;
    let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(limit));
    let mut dec = flate2::read::GzDecoder::new(body).take(limit as u64 + 1);
    dec.read_to_end(&mut out).map_err(|e| FeedError::Decode(format!("the gzip body does not inflate: {e}")))?;
    if out.len() > limit {
        return Err(FeedError::TooLarge(limit));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_gzip_body_inflates_within_the_limit_and_no_further() {
        use std::io::Write as _;
        let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
        let _ = enc.write_all(&vec![b'a'; 1 << 20]);
        let bomb = enc.finish().unwrap_or_default();
        assert!(bomb.len() < 4096, "a megabyte of one byte is a small body");
        assert_eq!(super::gunzip(&bomb, 1 << 20).map(|b| b.len()).ok(), Some(1 << 20));
        assert!(matches!(super::gunzip(&bomb, 1000), Err(super::FeedError::TooLarge(1000))));
        assert!(matches!(super::gunzip(b"not gzip", 1000), Err(super::FeedError::Decode(_))));
    }

    #[test]
    fn urls_in_messages_lose_credentials_and_queries() {
        let m = "error sending request for url (https://ops:s3cret@cp.internal:8443/v1/actions?token=abc): refused";
        assert_eq!(super::redact(m), "error sending request for url (https://cp.internal:8443/v1/actions): refused");
        assert_eq!(super::redact("no url here"), "no url here");
        assert_eq!(super::redact("a http://h/x?q=1 and https://u:p@k/y"), "a http://h/x and https://k/y");
    }
}
