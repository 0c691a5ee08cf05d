//! Health and readiness probes per service × region, with bounded
//! concurrency. Understands plain status codes and Spring Boot actuator
//! health JSON (`status` UP / DOWN / OUT_OF_SERVICE / UNKNOWN, `components`).

use std::time::{Duration, Instant};

use futures_util::stream::{self, StreamExt};
use serde::Deserialize;

use super::http::get_any;
use crate::model::{Probe, ProbeKind, ProbeStatus};

/// Largest probe body read.
const MAX_PROBE_BYTES: usize = 256 * 1024;

/// Probe URL templates with `{service}` and `{region}` placeholders.
#[derive(Debug, Clone)]
pub struct ProbeTemplates {
    pub health: String,
    pub ready: String,
}

impl ProbeTemplates {
    /// The simulator's (and any compatible control plane's) layout.
    pub fn for_base(base: &str) -> ProbeTemplates {
        let base = base.trim_end_matches('/');
        ProbeTemplates {
            health: format!("{base}/svc/{{service}}/{{region}}/health"),
            ready: format!("{base}/svc/{{service}}/{{region}}/ready"),
        }
    }
}

fn fill(template: &str, service: &str, region: &str) -> String {
    template.replace("{service}", service).replace("{region}", region)
}

#[derive(Deserialize)]
struct HealthBody {
    status: Option<String>,
    #[serde(default)]
    components: std::collections::BTreeMap<String, Component>,
}

#[derive(Deserialize)]
struct Component {
    status: Option<String>,
}

/// Interpret a probe answer: the status code decides unless the body says more.
pub fn interpret(code: u16, body: &[u8]) -> (ProbeStatus, String) {
    let parsed: Option<HealthBody> = serde_json::from_slice(body).ok();
    let word = parsed.as_ref().and_then(|b| b.status.clone()).map(|s| s.to_ascii_uppercase());
    let failing: Vec<String> = parsed
        .as_ref()
        .map(|b| {
            b.components
                .iter()
                .filter(|(_, c)| c.status.as_deref().is_some_and(|s| s != "UP"))
                .map(|(n, c)| format!("{n} {}", c.status.as_deref().unwrap_or("?")))
                .collect()
        })
        .unwrap_or_default();
    let status = match (code, word.as_deref()) {
        (200..=299, Some("DOWN" | "OUT_OF_SERVICE")) => ProbeStatus::Down,
        (200..=299, Some("UNKNOWN")) => ProbeStatus::Unknown,
        (200..=299, _) => ProbeStatus::Up,
        (500..=599, _) => ProbeStatus::Down,
        _ => ProbeStatus::Unknown,
    };
    let mut detail = match word {
        Some(w) => format!("{code} {w}"),
        None => format!("HTTP {code}"),
    };
    if !failing.is_empty() {
        detail.push_str(&format!(" ({})", failing.join(", ")));
    }
    (status, detail)
}

async fn probe_one(
    client: &reqwest::Client,
    url: String,
    service: String,
    region: String,
    kind: ProbeKind,
    timeout: Duration,
) -> Probe {
    let start = Instant::now();
    let answer = tokio::time::timeout(timeout, get_any(client, &url, MAX_PROBE_BYTES)).await;
    let latency_ms = start.elapsed().as_secs_f64() * 1000.0;
    let (status, http_status, detail) = match answer {
        Ok(Ok((code, body))) => {
            let (s, d) = interpret(code, &body);
            (s, Some(code), d)
        }
        Ok(Err(e)) => (ProbeStatus::Unknown, None, e.to_string()),
        Err(_) => (ProbeStatus::Unknown, None, format!("timed out after {:.1}s", timeout.as_secs_f64())),
    };
    Probe { service, region, kind, status, http_status, latency_ms, detail }
}

/// Probe every (service, region) pair, both health and readiness, with at
/// most `concurrency` requests in flight.
pub async fn probe_all(
    client: &reqwest::Client,
    templates: &ProbeTemplates,
    pairs: Vec<(String, String)>,
    concurrency: usize,
    timeout: Duration,
) -> Vec<Probe> {
    let jobs = pairs.into_iter().flat_map(|(s, r)| {
        [
            (fill(&templates.health, &s, &r), s.clone(), r.clone(), ProbeKind::Health),
            (fill(&templates.ready, &s, &r), s, r, ProbeKind::Ready),
        ]
    });
    stream::iter(jobs)
        .map(|(url, s, r, kind)| probe_one(client, url, s, r, kind, timeout))
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interprets_actuator_and_plain_answers() {
        assert_eq!(interpret(200, b"").0, ProbeStatus::Up);
        assert_eq!(interpret(503, b"").0, ProbeStatus::Down);
        assert_eq!(interpret(404, b"").0, ProbeStatus::Unknown);
        let (s, d) =
            interpret(503, br#"{"status":"DOWN","components":{"db":{"status":"DOWN"},"ping":{"status":"UP"}}}"#);
        assert_eq!(s, ProbeStatus::Down);
        assert_eq!(d, "503 DOWN (db DOWN)");
        assert_eq!(interpret(200, br#"{"status":"OUT_OF_SERVICE"}"#).0, ProbeStatus::Down);
        assert_eq!(interpret(200, b"\x00\x01garbage").0, ProbeStatus::Up);
    }

    #[test]
    fn templates_fill() {
        let t = ProbeTemplates::for_base("http://h:1/");
        assert_eq!(fill(&t.health, "a", "b"), "http://h:1/svc/a/b/health");
    }
}
