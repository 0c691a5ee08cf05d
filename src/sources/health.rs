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
    /// Liveness (shown as "health").
    pub health: Option<String>,
    pub ready: Option<String>,
    /// TLS verification is off for these probes; every result says so.
    pub insecure: bool,
}

impl ProbeTemplates {
    /// The simulator's (and any compatible control plane's) layout.
    pub fn for_base(base: &str) -> ProbeTemplates {
        let base = base.trim_end_matches('/');
        ProbeTemplates {
            health: Some(format!("{base}/svc/{{service}}/{{region}}/health")),
            ready: Some(format!("{base}/svc/{{service}}/{{region}}/ready")),
            insecure: false,
        }
    }
}

fn fill(template: &str, service: &str, region: &str) -> String {
    template.replace("{service}", service).replace("{region}", region)
}

#[derive(Deserialize)]
struct HealthBody {
    status: Option<String>,
    /// Spring Boot actuator: name → {status}.
    #[serde(default)]
    components: std::collections::BTreeMap<String, Component>,
    /// `application/health+json`: name → [{status, output}].
    #[serde(default)]
    checks: std::collections::BTreeMap<String, Vec<Component>>,
}

#[derive(Deserialize)]
struct Component {
    status: Option<String>,
    #[serde(default)]
    output: Option<String>,
}

/// Map the status words of Spring Boot and health+json to a probe status.
fn word_status(w: &str) -> Option<ProbeStatus> {
    match w.to_ascii_lowercase().as_str() {
        "up" | "pass" | "ok" => Some(ProbeStatus::Up),
        "warn" => Some(ProbeStatus::Warn),
        "down" | "fail" | "out_of_service" => Some(ProbeStatus::Down),
        "unknown" => Some(ProbeStatus::Unknown),
        _ => None,
    }
}

/// Interpret a probe answer. Understands plain status codes, Spring Boot
/// actuator health (UP / DOWN / OUT_OF_SERVICE / UNKNOWN with components),
/// `application/health+json` (pass / warn / fail with checks) and the
/// Kubernetes `/livez` `/readyz` text (`[+]check ok`, `[-]check failed`).
pub fn interpret(code: u16, body: &[u8]) -> (ProbeStatus, String) {
    let parsed: Option<HealthBody> = serde_json::from_slice(body).ok();
    let mut failing: Vec<String> = Vec::new();
    let mut word = None;
    if let Some(b) = &parsed {
        word = b.status.clone();
        for (n, c) in &b.components {
            if let Some(st) = c.status.as_deref().filter(|s| !s.eq_ignore_ascii_case("up")) {
                failing.push(format!("{n} {st}"));
            }
        }
        for (n, list) in &b.checks {
            for c in list {
                if let Some(st) = c.status.as_deref().filter(|s| !s.eq_ignore_ascii_case("pass")) {
                    let out = c.output.as_deref().map(|o| format!(": {o}")).unwrap_or_default();
                    failing.push(format!("{n} {st}{out}"));
                }
            }
        }
    } else if let Ok(text) = std::str::from_utf8(body) {
        // Kubernetes verbose health text.
        for line in text.lines() {
            if let Some(rest) = line.trim().strip_prefix("[-]") {
                failing.push(rest.chars().take(60).collect());
            }
        }
    }
    let from_word = word.as_deref().and_then(word_status);
    let status = match (code, from_word) {
        (200..=299, Some(s)) => s,
        (200..=299, None) => ProbeStatus::Up,
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

/// One probe to run: URL, service, region, kind.
type Job = (String, String, String, ProbeKind);

fn jobs(templates: &ProbeTemplates, pairs: Vec<(String, String)>) -> Vec<Job> {
    let mut jobs = Vec::new();
    for (s, r) in pairs {
        if let Some(t) = &templates.health {
            jobs.push((fill(t, &s, &r), s.clone(), r.clone(), ProbeKind::Health));
        }
        if let Some(t) = &templates.ready {
            jobs.push((fill(t, &s, &r), s, r, ProbeKind::Ready));
        }
    }
    jobs
}

/// Probe every (service, region) pair, health and readiness, with at most
/// `concurrency` requests in flight, starting them evenly over `spread` so
/// targets never see a burst.
pub async fn probe_all(
    client: &reqwest::Client,
    templates: &ProbeTemplates,
    pairs: Vec<(String, String)>,
    concurrency: usize,
    timeout: Duration,
    spread: Duration,
) -> Vec<Probe> {
    probe_jobs(client, templates.insecure, jobs(templates, pairs), concurrency, timeout, spread).await
}

/// Rounds of probes within a budget: a fleet with more probes than
/// `budget` per round is probed a `budget`-sized slice per round, in turn,
/// and each round answers with every probe's latest result; one from an
/// earlier round says when it was checked (`· checked 12:04:10`). At 6 ×
/// 1,000 with health and readiness and the default 200/s over 10 s, each
/// cell is probed once a minute instead of 1,200 requests a second.
#[derive(Default)]
pub struct ProbeRounds {
    cursor: usize,
    last: std::collections::HashMap<(String, String, bool), (Probe, chrono::DateTime<chrono::Utc>)>,
}

impl ProbeRounds {
    /// One round: probe this round's slice, answer with everything known.
    pub async fn round(
        rounds: &std::sync::Mutex<ProbeRounds>,
        client: &reqwest::Client,
        templates: &ProbeTemplates,
        pairs: Vec<(String, String)>,
        budget: usize,
        (concurrency, timeout, spread): (usize, Duration, Duration),
        now: chrono::DateTime<chrono::Utc>,
    ) -> Vec<Probe> {
        let all = jobs(templates, pairs);
        if all.len() <= budget.max(1) {
            let out = probe_jobs(client, templates.insecure, all, concurrency, timeout, spread).await;
            let mut r = rounds.lock().unwrap_or_else(|e| e.into_inner());
            r.last.clear();
            return out;
        }
        let keys: Vec<(String, String, bool)> =
            all.iter().map(|(_, s, r, k)| (s.clone(), r.clone(), *k == ProbeKind::Ready)).collect();
        let start = rounds.lock().unwrap_or_else(|e| e.into_inner()).cursor % all.len();
        let slice: Vec<Job> = all.iter().cycle().skip(start).take(budget.max(1)).cloned().collect();
        let fresh = probe_jobs(client, templates.insecure, slice, concurrency, timeout, spread).await;
        let mut r = rounds.lock().unwrap_or_else(|e| e.into_inner());
        r.cursor = (start + budget.max(1)) % all.len();
        let mut this_round = std::collections::HashSet::new();
        for p in fresh {
            let key = (p.service.clone(), p.region.clone(), p.kind == ProbeKind::Ready);
            this_round.insert(key.clone());
            r.last.insert(key, (p, now));
        }
        // Forget cells the fleet no longer has.
        let wanted: std::collections::HashSet<&(String, String, bool)> = keys.iter().collect();
        r.last.retain(|k, _| wanted.contains(k));
        keys.iter()
            .filter_map(|k| {
                let (p, at) = r.last.get(k)?;
                let mut p = p.clone();
                if !this_round.contains(k) {
                    p.detail = format!("{} · checked {}", p.detail, at.format("%H:%M:%S"))
                        .trim_start_matches(" · ")
                        .to_string();
                }
                Some(p)
            })
            .collect()
    }
}

async fn probe_jobs(
    client: &reqwest::Client,
    insecure: bool,
    jobs: Vec<Job>,
    concurrency: usize,
    timeout: Duration,
    spread: Duration,
) -> Vec<Probe> {
    let n = jobs.len().max(1) as u32;
    let start = tokio::time::Instant::now();
    let mut out: Vec<Probe> = stream::iter(jobs.into_iter().enumerate())
        .map(|(i, (url, s, r, kind))| async move {
            tokio::time::sleep_until(start + spread.mul_f64(i as f64 / n as f64)).await;
            probe_one(client, url, s, r, kind, timeout).await
        })
        .buffer_unordered(concurrency.max(1))
        .collect()
        .await;
    if insecure {
        for p in &mut out {
            p.detail = format!("TLS NOT VERIFIED · {}", p.detail);
        }
    }
    out
}

/// An HTTP client for probes: rustls with the platform roots, plus an
/// optional PEM bundle; verification stays on unless `insecure`.
pub fn probe_client(ca_bundle: Option<&std::path::Path>, insecure: bool) -> Result<reqwest::Client, String> {
    let b = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(3))
        .user_agent(concat!("warroom/", env!("CARGO_PKG_VERSION")));
    let mut b = with_ca_bundle(b, ca_bundle)?;
    if insecure {
        b = b.danger_accept_invalid_certs(true);
    }
    b.build().map_err(|e| format!("cannot build the probe client: {e}"))
}

/// Trust the certificates of a PEM bundle as well as the platform's roots.
pub fn with_ca_bundle(
    mut b: reqwest::ClientBuilder,
    ca_bundle: Option<&std::path::Path>,
) -> Result<reqwest::ClientBuilder, String> {
    if let Some(path) = ca_bundle {
        let pem = std::fs::read(path).map_err(|e| format!("cannot read CA bundle {}: {e}", path.display()))?;
        let certs = reqwest::Certificate::from_pem_bundle(&pem)
            .map_err(|e| format!("CA bundle {} is not valid PEM: {e}", path.display()))?;
        if certs.is_empty() {
            return Err(format!("CA bundle {} contains no certificates", path.display()));
        }
        for c in certs {
            b = b.add_root_certificate(c);
        }
    }
    Ok(b)
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
        assert_eq!(interpret(200, br#"{"status":"UNKNOWN"}"#).0, ProbeStatus::Unknown);
    }

    #[test]
    fn interprets_health_json_and_kubernetes_text() {
        let body = br#"{"status":"warn","checks":{"db:latency":[{"status":"warn","output":"slow"}],"cpu":[{"status":"pass"}]}}"#;
        let (s, d) = interpret(200, body);
        assert_eq!(s, ProbeStatus::Warn);
        assert_eq!(d, "200 warn (db:latency warn: slow)");
        assert_eq!(interpret(503, br#"{"status":"fail"}"#).0, ProbeStatus::Down);
        assert_eq!(interpret(200, br#"{"status":"pass"}"#).0, ProbeStatus::Up);
        let (s, d) = interpret(500, b"[+]ping ok\n[-]etcd failed: reason withheld\nreadyz check failed\n");
        assert_eq!(s, ProbeStatus::Down);
        assert_eq!(d, "HTTP 500 (etcd failed: reason withheld)");
        assert_eq!(interpret(200, b"ok").0, ProbeStatus::Up);
    }

    #[test]
    fn templates_fill() {
        let t = ProbeTemplates::for_base("http://h:1/");
        assert_eq!(fill(t.health.as_deref().unwrap_or(""), "a", "b"), "http://h:1/svc/a/b/health");
    }
}
