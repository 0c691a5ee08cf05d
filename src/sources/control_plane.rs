//! The control-plane HTTP API (docs/control-plane-api.md): regions,
//! services, metrics, deployments, circuits and flags. The wire types here
//! are the console's own reading of the contract; the simulator has its own.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::de::DeserializeOwned;
use serde::Deserialize;

use super::metrics_rows::{self, RowsCache};
use super::{get_limited_auth, Payload};
use crate::model::range::{RangeQuery, RangeSeries};
use crate::model::{self, slo::COUNT_WINDOWS, FeedId};
use crate::sources::FeedError;

/// Largest response the console accepts from the control plane.
pub const MAX_RESPONSE_BYTES: usize = 32 * 1024 * 1024;

/// A client for one control plane.
#[derive(Clone)]
pub struct ControlPlane {
    base: String,
    client: reqwest::Client,
    token: Option<String>,
    /// What earlier metrics answers said (the rows shape is incremental).
    rows: std::sync::Arc<std::sync::Mutex<RowsCache>>,
}

/// Series points per cell on the metrics feed.
const SERIES_POINTS: usize = 60;

impl ControlPlane {
    pub fn new(base: &str, client: reqwest::Client) -> ControlPlane {
        ControlPlane { base: base.trim_end_matches('/').to_string(), client, token: None, rows: Default::default() }
    }

    /// Send `Authorization: Bearer <token>` with every request.
    pub fn with_token(mut self, token: Option<String>) -> ControlPlane {
        self.token = token;
        self
    }

    pub fn base(&self) -> &str {
        &self.base
    }

    fn path(feed: FeedId) -> String {
        match feed {
            FeedId::Regions => "/v1/regions".into(),
            FeedId::Services => "/v1/services".into(),
            FeedId::Metrics => format!("/v1/metrics?windows={}&points=60&step=60s&days=30", COUNT_WINDOWS.join(",")),
            FeedId::Deployments => "/v1/deployments".into(),
            FeedId::Circuits => "/v1/circuits".into(),
            FeedId::Flags => "/v1/flags".into(),
            FeedId::Probes | FeedId::Alerts | FeedId::Traffic | FeedId::Databases => String::new(),
        }
    }

    /// Fetch and decode one feed.
    pub async fn fetch(&self, feed: FeedId) -> Result<Payload, FeedError> {
        if feed == FeedId::Metrics {
            return self.fetch_metrics().await;
        }
        let url = format!("{}{}", self.base, Self::path(feed));
        let (_, body) = get_limited_auth(&self.client, &url, MAX_RESPONSE_BYTES, self.token.as_deref()).await?;
        decode(feed, &body)
    }
}

impl ControlPlane {
    /// The metrics feed: the rows shape, merged into what earlier answers
    /// said; the old shape if that is what the server answers.
    async fn fetch_metrics(&self) -> Result<Payload, FeedError> {
        let lock = || self.rows.lock().unwrap_or_else(|e| e.into_inner());
        let query = lock().query(&COUNT_WINDOWS, SERIES_POINTS);
        let url = format!("{}/v1/metrics?{query}", self.base);
        let mut req = self.client.get(&url).header(reqwest::header::ACCEPT_ENCODING, "gzip");
        if let Some(t) = self.token.as_deref() {
            req = req.bearer_auth(t);
        }
        let body = match super::http::send_limited(req, MAX_RESPONSE_BYTES).await {
            Ok((200..=299, body, _)) => body,
            Ok((status, body, _)) => return Err(super::http::http_error(status, &body)),
            Err(e) => {
                lock().failed(&e);
                return Err(e);
            }
        };
        if !metrics_rows::is_rows(&body) {
            lock().legacy = true;
            return decode(FeedId::Metrics, &body);
        }
        rows_payload(&mut lock(), &body)
    }
}

/// A rows answer merged into `cache`, as the feed's payload.
fn rows_payload(cache: &mut RowsCache, body: &[u8]) -> Result<Payload, FeedError> {
    let (v, at, e) = metrics_rows::merge(cache, body, SERIES_POINTS)?;
    Ok(timed(at.as_deref(), partial(Payload::Metrics(v), e)))
}

fn parse<T: DeserializeOwned>(body: &[u8]) -> Result<T, FeedError> {
    serde_json::from_slice(body).map_err(|e| FeedError::Decode(e.to_string()))
}

fn time(s: Option<&str>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|d| d.with_timezone(&Utc))
}

fn timed(at: Option<&str>, p: Payload) -> Payload {
    match time(at) {
        Some(at) => Payload::Timed { source_at: at, inner: Box::new(p) },
        None => p,
    }
}

/// One list element: decoded, or why not (with its id or name if it has one).
/// A bad record is dropped and named; the rest of the list is kept.
enum Lenient<T> {
    Good(T),
    Bad(String),
}

impl<'de, T: DeserializeOwned> Deserialize<'de> for Lenient<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let v = serde_json::Value::deserialize(d)?;
        let name = ["id", "name"].iter().find_map(|k| v.get(*k).and_then(|x| x.as_str()).map(String::from));
        Ok(match serde_json::from_value::<T>(v) {
            Ok(t) => Lenient::Good(t),
            Err(e) => Lenient::Bad(match name {
                Some(n) => format!("{}: {e}", crate::audit::escape_terminal(&n)),
                None => e.to_string(),
            }),
        })
    }
}

/// The good records converted, and the bad ones named (at most three).
fn split<T, U: From<T>>(items: Vec<Lenient<T>>, what: &str) -> (Vec<U>, Option<String>) {
    let mut good = Vec::with_capacity(items.len());
    let mut bad = Vec::new();
    for i in items {
        match i {
            Lenient::Good(t) => good.push(U::from(t)),
            Lenient::Bad(e) => bad.push(e),
        }
    }
    let error = (!bad.is_empty()).then(|| {
        let shown: Vec<&str> = bad.iter().take(3).map(String::as_str).collect();
        let more = if bad.len() > 3 { format!(" (+{} more)", bad.len() - 3) } else { String::new() };
        format!("{} bad {what} record(s) dropped: {}{more}", bad.len(), shown.join("; "))
    });
    (good, error)
}

fn partial(p: Payload, error: Option<String>) -> Payload {
    match error {
        Some(error) => Payload::Partial { inner: Box::new(p), error },
        None => p,
    }
}

/// Decode a control-plane response body for `feed`.
pub fn decode(feed: FeedId, body: &[u8]) -> Result<Payload, FeedError> {
    Ok(match feed {
        FeedId::Regions => {
            let w = parse::<RegionsWire>(body)?;
            let (v, e) = split(w.regions, "region");
            timed(w.observed_at.as_deref(), partial(Payload::Regions(v), e))
        }
        FeedId::Services => {
            let (v, e) = split(parse::<ServicesWire>(body)?.services, "service");
            partial(Payload::Services(v), e)
        }
        // The rows shape on its own (no earlier answers to merge with).
        FeedId::Metrics if metrics_rows::is_rows(body) => rows_payload(&mut RowsCache::default(), body)?,
        FeedId::Metrics => {
            let w = parse::<MetricsWire>(body)?;
            let (v, e) = split(w.metrics, "metrics");
            timed(w.observed_at.as_deref(), partial(Payload::Metrics(v), e))
        }
        // With the server's own time of the data, so ages on screen are
        // counted in the source's clock (a simulator at 10× too).
        FeedId::Deployments => {
            let w = parse::<DeploymentsWire>(body)?;
            let (v, e) = split(w.deployments, "deployment");
            timed(w.observed_at.as_deref(), partial(Payload::Deployments(v), e))
        }
        FeedId::Circuits => {
            let w = parse::<CircuitsWire>(body)?;
            let (v, e) = split(w.circuits, "circuit");
            timed(w.observed_at.as_deref(), partial(Payload::Circuits(v), e))
        }
        FeedId::Flags => {
            let (v, e) = split(parse::<FlagsWire>(body)?.flags, "flag");
            partial(Payload::Flags(v), e)
        }
        FeedId::Probes | FeedId::Alerts | FeedId::Traffic | FeedId::Databases => {
            return Err("not served by the control-plane API".into())
        }
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegionsWire {
    regions: Vec<Lenient<RegionWire>>,
    #[serde(default)]
    observed_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RegionWire {
    name: String,
    #[serde(default)]
    status: String,
    #[serde(default)]
    traffic_weight: f64,
    #[serde(default)]
    base_weight: Option<f64>,
    #[serde(default)]
    zones: Vec<String>,
    /// Since when it has had this status (RFC 3339, the source's clock).
    #[serde(default)]
    status_since: Option<String>,
}

impl From<RegionWire> for model::Region {
    fn from(w: RegionWire) -> Self {
        let status = match w.status.as_str() {
            "ok" => model::RegionStatus::Ok,
            "degraded" => model::RegionStatus::Degraded,
            "down" => model::RegionStatus::Down,
            _ => model::RegionStatus::Unknown,
        };
        model::Region {
            name: w.name,
            status,
            weight: weight(w.traffic_weight),
            base_weight: w.base_weight.map(weight),
            zones: w.zones,
            since: time(w.status_since.as_deref()),
        }
    }
}

#[derive(Deserialize)]
struct ServicesWire {
    services: Vec<Lenient<ServiceWire>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ServiceWire {
    name: String,
    #[serde(default)]
    tier: String,
    #[serde(default)]
    owners: Vec<String>,
    #[serde(default)]
    depends_on: Vec<String>,
    /// One SLO (older form).
    #[serde(default)]
    slo: Option<SloWire>,
    #[serde(default)]
    slos: Vec<SloWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SloWire {
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    kind: Option<String>,
    objective: f64,
    #[serde(default)]
    threshold_ms: Option<f64>,
    #[serde(default)]
    window_days: Option<u32>,
    /// `"month"` for a calendar-month budget.
    #[serde(default)]
    calendar: Option<String>,
}

impl SloWire {
    fn spec(self, service: &str) -> Option<model::SloSpec> {
        if !(self.objective > 0.0 && self.objective < 100.0) {
            return None;
        }
        let kind = match (self.kind.as_deref(), self.threshold_ms) {
            (Some("latency"), Some(ms)) if ms > 0.0 && ms.is_finite() => model::SloKind::Latency { threshold_ms: ms },
            (Some("latency"), _) => return None,
            _ => model::SloKind::Availability,
        };
        let period = match (self.calendar.as_deref(), self.window_days) {
            (Some("month"), _) => model::SloPeriod::CalendarMonth,
            (_, Some(d)) if d > 0 => model::SloPeriod::Rolling { days: d },
            _ => model::SloPeriod::Rolling { days: 30 },
        };
        let suffix = if matches!(kind, model::SloKind::Latency { .. }) { "latency" } else { "availability" };
        let name = self.name.unwrap_or_else(|| format!("{service}-{suffix}"));
        Some(model::SloSpec { name, kind, objective: self.objective, period, low_budget: model::slo::LOW_BUDGET })
    }
}

impl From<ServiceWire> for model::Service {
    fn from(w: ServiceWire) -> Self {
        model::Service {
            name: w.name.clone(),
            tier: if w.tier == "critical" { model::Tier::Critical } else { model::Tier::Standard },
            owners: w.owners,
            depends_on: w.depends_on,
            slos: w.slo.into_iter().chain(w.slos).filter_map(|s| s.spec(&w.name)).collect(),
            sla: Default::default(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MetricsWire {
    metrics: Vec<Lenient<TrafficWire>>,
    #[serde(default)]
    observed_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct TrafficWire {
    service: String,
    region: String,
    #[serde(default)]
    rps: f64,
    #[serde(default)]
    error_ratio: f64,
    #[serde(default)]
    p50_ms: f64,
    #[serde(default)]
    p95_ms: f64,
    #[serde(default)]
    p99_ms: f64,
    #[serde(default)]
    counts: BTreeMap<String, CountsWire>,
    /// Requests within the service's latency-SLO threshold, per window.
    #[serde(default)]
    latency_counts: BTreeMap<String, CountsWire>,
    /// Per-day counts, oldest first.
    #[serde(default)]
    daily: Vec<CountsWire>,
    #[serde(default)]
    latency_daily: Vec<CountsWire>,
    #[serde(default)]
    series: Option<SeriesWire>,
    /// How far back the counts' data goes (absent: not reported).
    #[serde(default)]
    history_seconds: Option<f64>,
}

fn counts(c: &CountsWire) -> model::Counts {
    let total = sane(c.total);
    model::Counts { good: sane(c.good).min(total), total }
}

#[derive(Deserialize)]
struct CountsWire {
    good: f64,
    total: f64,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeriesWire {
    #[serde(default)]
    step_seconds: f64,
    #[serde(default)]
    p50_ms: Vec<f64>,
    #[serde(default)]
    p95_ms: Vec<f64>,
    #[serde(default)]
    p99_ms: Vec<f64>,
    #[serde(default)]
    error_ratio: Vec<f64>,
}

/// Replace NaN/∞ and negatives from a confused backend with 0.
pub(crate) fn sane(x: f64) -> f64 {
    // `x > 0.0` also turns -0.0 into 0 (it would print as "-0").
    if x.is_finite() && x > 0.0 {
        x
    } else {
        0.0
    }
}

/// A traffic weight is a percentage: 0 to 100.
fn weight(x: f64) -> f64 {
    sane(x).min(100.0)
}

impl From<TrafficWire> for model::Traffic {
    fn from(w: TrafficWire) -> Self {
        model::Traffic {
            service: w.service,
            region: w.region,
            rps: sane(w.rps),
            error_ratio: sane(w.error_ratio).min(1.0),
            p50_ms: sane(w.p50_ms),
            p95_ms: sane(w.p95_ms),
            p99_ms: sane(w.p99_ms),
            counts: w.counts.iter().map(|(k, c)| (model::window(k), counts(c))).collect(),
            latency_counts: w.latency_counts.iter().map(|(k, c)| (model::window(k), counts(c))).collect(),
            daily: std::sync::Arc::new(w.daily.iter().map(counts).collect()),
            latency_daily: std::sync::Arc::new(w.latency_daily.iter().map(counts).collect()),
            series_step: w.series.as_ref().map(|s| sane(s.step_seconds)).unwrap_or(0.0),
            p50_series: w.series.as_ref().map(|s| s.p50_ms.clone()).unwrap_or_default(),
            p95_series: w.series.as_ref().map(|s| s.p95_ms.clone()).unwrap_or_default(),
            error_series: w.series.as_ref().map(|s| s.error_ratio.clone()).unwrap_or_default(),
            p99_series: w.series.map(|s| s.p99_ms).unwrap_or_default(),
            history_s: w.history_seconds.filter(|h| h.is_finite() && *h >= 0.0),
        }
    }
}

#[derive(Deserialize)]
struct DeploymentsWire {
    deployments: Vec<Lenient<DeploymentWire>>,
    #[serde(default, rename = "observedAt")]
    observed_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DeploymentWire {
    id: String,
    service: String,
    region: String,
    phase: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    revision: RevisionWire,
    #[serde(default)]
    steps: Vec<f64>,
    #[serde(default)]
    step: StepWire,
    #[serde(default)]
    weight: f64,
    #[serde(default)]
    since: Option<String>,
    #[serde(default)]
    analysis: Option<AnalysisWire>,
    #[serde(default, rename = "blueGreen")]
    blue_green: Option<BlueGreenWire>,
}

/// A blue-green deployment's colours (docs/control-plane-api.md).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct BlueGreenWire {
    #[serde(default)]
    active_service: String,
    #[serde(default)]
    preview_service: String,
    #[serde(default)]
    active: Option<ColourWire>,
    #[serde(default)]
    preview: Option<ColourWire>,
    #[serde(default)]
    previous: Option<ColourWire>,
    #[serde(default)]
    pre_promotion_analysis: Option<String>,
    #[serde(default)]
    post_promotion_analysis: Option<String>,
    #[serde(default)]
    auto_promotion_enabled: bool,
    #[serde(default)]
    auto_promotion_at: Option<String>,
    #[serde(default)]
    scale_down_delay_seconds: u64,
    #[serde(default)]
    scale_down_at: Option<String>,
}

#[derive(Deserialize, Default)]
struct ColourWire {
    #[serde(default)]
    revision: String,
    #[serde(default)]
    image: String,
    #[serde(default)]
    ready: Option<u32>,
    #[serde(default)]
    desired: Option<u32>,
}

impl ColourWire {
    fn colour(self) -> model::Colour {
        let one = crate::sources::alertmanager::one_line;
        model::Colour {
            hash: String::new(),
            revision: one(&self.revision),
            image: one(&self.image),
            ready: self.ready.zip(self.desired),
        }
    }
}

#[derive(Deserialize, Default)]
struct RevisionWire {
    #[serde(default)]
    stable: String,
    #[serde(default)]
    canary: Option<String>,
}

#[derive(Deserialize, Default)]
struct StepWire {
    #[serde(default)]
    index: usize,
    #[serde(default)]
    total: usize,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AnalysisWire {
    verdict: String,
    #[serde(default)]
    canary_error_ratio: f64,
    #[serde(default)]
    baseline_error_ratio: f64,
    #[serde(default)]
    canary_p99_ms: f64,
    #[serde(default)]
    baseline_p99_ms: f64,
}

impl From<DeploymentWire> for model::Deployment {
    fn from(w: DeploymentWire) -> Self {
        model::Deployment {
            id: w.id,
            service: w.service,
            region: w.region,
            phase: model::CanaryPhase::parse(&w.phase),
            message: w.message,
            stable_revision: w.revision.stable,
            canary_revision: w.revision.canary,
            steps: w.steps,
            step_index: w.step.index,
            step_total: w.step.total,
            weight: sane(w.weight).min(100.0),
            since: time(w.since.as_deref()),
            analysis: w.analysis.map(|a| model::Analysis {
                passing: a.verdict == "Passing",
                verdict: a.verdict,
                canary_error_ratio: sane(a.canary_error_ratio),
                baseline_error_ratio: sane(a.baseline_error_ratio),
                canary_p99_ms: sane(a.canary_p99_ms),
                baseline_p99_ms: sane(a.baseline_p99_ms),
            }),
            blue_green: w.blue_green.map(|b| model::BlueGreen {
                active: b.active.map(ColourWire::colour).unwrap_or_default(),
                preview: b.preview.map(ColourWire::colour),
                previous: b.previous.map(ColourWire::colour),
                active_service: crate::sources::alertmanager::one_line(&b.active_service),
                preview_service: crate::sources::alertmanager::one_line(&b.preview_service),
                pre_analysis: b.pre_promotion_analysis,
                post_analysis: b.post_promotion_analysis,
                auto_promotion: b.auto_promotion_enabled,
                promote_at: time(b.auto_promotion_at.as_deref()),
                scale_down_secs: b.scale_down_delay_seconds,
                scale_down_at: time(b.scale_down_at.as_deref()),
            }),
            set_weight: None,
            pause_reason: None,
            analysis_runs: Vec::new(),
            revisions: Vec::new(),
        }
    }
}

#[derive(Deserialize)]
struct CircuitsWire {
    circuits: Vec<Lenient<CircuitWire>>,
    #[serde(default, rename = "observedAt")]
    observed_at: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CircuitWire {
    from: String,
    to: String,
    region: String,
    state: String,
    #[serde(default)]
    failure_rate_pct: Option<f64>,
    #[serde(default)]
    since: Option<String>,
    /// Instances per state (`{"OPEN": 2, "HALF_OPEN": 1}`), when the
    /// control plane counts them.
    #[serde(default)]
    instances: Option<std::collections::BTreeMap<String, u32>>,
    #[serde(default)]
    too_few_calls: bool,
}

impl From<CircuitWire> for model::Circuit {
    fn from(w: CircuitWire) -> Self {
        model::Circuit {
            from: w.from,
            to: w.to,
            region: w.region,
            state: model::CircuitState::parse(&w.state),
            failure_rate_pct: w.failure_rate_pct.filter(|x| x.is_finite() && *x >= 0.0),
            since: time(w.since.as_deref()),
            instances: w
                .instances
                .map(|m| {
                    model::Instances::from_counts(
                        m.iter().map(|(k, n)| (model::CircuitState::parse(k), *n)),
                        w.too_few_calls,
                    )
                })
                .filter(|i| i.total > 0),
        }
    }
}

#[derive(Deserialize)]
struct FlagsWire {
    flags: Vec<Lenient<FlagWire>>,
}

#[derive(Deserialize)]
struct FlagWire {
    name: String,
    environment: String,
    enabled: bool,
    #[serde(default)]
    rollout: String,
}

impl From<FlagWire> for model::Flag {
    fn from(w: FlagWire) -> Self {
        model::Flag {
            name: w.name,
            environment: w.environment,
            enabled: w.enabled,
            rollout: w.rollout,
            ..Default::default()
        }
    }
}

impl crate::sources::Source for ControlPlane {
    fn name(&self) -> &str {
        "control-plane"
    }
    fn feeds(&self) -> &'static [FeedId] {
        &[FeedId::Regions, FeedId::Services, FeedId::Deployments, FeedId::Circuits, FeedId::Flags, FeedId::Metrics]
    }
    fn fetch(&self, feed: FeedId) -> crate::sources::Fetch<'_> {
        Box::pin(ControlPlane::fetch(self, feed))
    }
    fn range<'a>(&'a self, q: &'a RangeQuery) -> Option<crate::sources::RangeFetch<'a>> {
        Some(Box::pin(async move {
            let enc = |s: &str| url::form_urlencoded::byte_serialize(s.as_bytes()).collect::<String>();
            let mut url = format!(
                "{}/v1/metrics/range?service={}&region={}&span={}&ago={}&points={}",
                self.base,
                enc(&q.service),
                enc(&q.region),
                q.span_secs,
                q.ago_secs,
                q.points
            );
            if let crate::model::range::RangeKind::Slow(ms) = q.kind {
                url.push_str(&format!("&slowMs={ms}"));
            }
            let (_, body) = get_limited_auth(&self.client, &url, MAX_RESPONSE_BYTES, self.token.as_deref())
                .await
                .map_err(|e| e.to_string())?;
            decode_range(q, &body, Utc::now())
        }))
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RangeWire {
    end: Option<String>,
    step_seconds: f64,
    #[serde(default)]
    p50_ms: Vec<Option<f64>>,
    #[serde(default)]
    p95_ms: Vec<Option<f64>>,
    #[serde(default)]
    p99_ms: Vec<Option<f64>>,
    #[serde(default)]
    error_ratio: Vec<Option<f64>>,
    #[serde(default)]
    slow_ratio: Option<Vec<Option<f64>>>,
}

/// Decode `/v1/metrics/range`: nulls, negatives and non-numbers are gaps;
/// more points than asked for is a bad answer, not a longer chart.
pub fn decode_range(q: &RangeQuery, body: &[u8], at: DateTime<Utc>) -> Result<RangeSeries, String> {
    let w: RangeWire = serde_json::from_slice(body).map_err(|e| format!("range: {e}"))?;
    let n = q.points as usize;
    let slow = w.slow_ratio.unwrap_or_default();
    if [&w.p50_ms, &w.p95_ms, &w.p99_ms, &w.error_ratio, &slow].iter().any(|v| v.len() > n) {
        return Err(format!("range: more than the {n} points asked for"));
    }
    if !(w.step_seconds.is_finite() && w.step_seconds > 0.0) {
        return Err("range: stepSeconds is not a positive number".into());
    }
    let clean = |v: Vec<Option<f64>>| -> Vec<f64> {
        v.into_iter().map(|x| x.filter(|x| x.is_finite() && *x >= 0.0).unwrap_or(f64::NAN)).collect()
    };
    Ok(RangeSeries {
        query: q.clone(),
        end: time(w.end.as_deref()),
        step_secs: w.step_seconds,
        p50: clean(w.p50_ms),
        p95: clean(w.p95_ms),
        p99: clean(w.p99_ms),
        err: {
            let bad = match q.kind {
                crate::model::range::RangeKind::Slow(_) => slow,
                _ => w.error_ratio,
            };
            clean(bad).into_iter().map(|x| if x > 1.0 { f64::NAN } else { x }).collect()
        },
        source: "control-plane".into(),
        fetched_at: at,
        error: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn circuits_carry_their_instance_counts_worst_first() {
        let body = br#"{"circuits":[
            {"from":"a","to":"b","region":"r","state":"OPEN","instances":{"CLOSED":1,"OPEN":2}},
            {"from":"a","to":"c","region":"r","state":"CLOSED","instances":{"CLOSED":3},"tooFewCalls":true},
            {"from":"a","to":"d","region":"r","state":"CLOSED","instances":{}},
            {"from":"a","to":"e","region":"r","state":"CLOSED"}]}"#;
        let Ok(Payload::Circuits(c)) = decode(FeedId::Circuits, body) else { panic!("not circuits") };
        let words: Vec<Option<String>> = c.iter().map(|x| x.instances.as_ref().map(|i| i.words())).collect();
        assert_eq!(words, [Some("2/3 OPEN".to_string()), Some("3 CLOSED".to_string()), None, None]);
        assert!(c[1].instances.as_ref().is_some_and(|i| i.too_few_calls));
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for feed in [FeedId::Regions, FeedId::Metrics, FeedId::Deployments, FeedId::Circuits, FeedId::Flags] {
            for body in [&b""[..], b"{", b"null", b"{\"regions\": [ \x01garbage", b"[]", b"{\"metrics\":7}"] {
                let r = decode(feed, body);
                assert!(r.is_err(), "{feed:?} accepted {body:?}");
            }
        }
    }

    #[test]
    fn one_bad_metrics_record_is_dropped_and_named_the_rest_kept() {
        let body = br#"{"metrics":[{"service":"a","region":"r","rps":5},
            {"service":"b","region":"r","rps":"fast"},{"region":"r"}]}"#;
        let Ok(Payload::Partial { inner, error }) = decode(FeedId::Metrics, body) else {
            panic!("not a partial answer");
        };
        let Payload::Metrics(m) = *inner else { panic!("not metrics") };
        assert_eq!(m.len(), 1);
        assert_eq!(m[0].service, "a");
        assert!(error.starts_with("2 bad metrics record(s) dropped"), "{error}");
        assert!(error.contains("missing field `service`"), "{error}");
    }

    #[test]
    fn metrics_are_sanitised() {
        let body = br#"{"metrics":[{"service":"a","region":"r","rps":-3,"errorRatio":7,"p99Ms":12,
            "counts":{"1h":{"good":200,"total":100}}}]}"#;
        let Ok(Payload::Metrics(m)) = decode(FeedId::Metrics, body) else {
            panic!("decode failed");
        };
        assert_eq!(m[0].rps, 0.0);
        assert_eq!(m[0].error_ratio, 1.0);
        assert_eq!(m[0].counts["1h"], model::Counts { good: 100.0, total: 100.0 });
    }
}
