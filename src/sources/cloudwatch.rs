//! AWS CloudWatch as the latency and error source: one SDK client per
//! region, `GetMetricData` with p50/p95/p99 (and `PR(:threshold)` for
//! latency SLOs) and `Sum` of requests and 5XX, batched 500 queries to a
//! call with `NextToken` paging. A region that fails keeps its last good
//! numbers and puts its error on the pane; the others keep updating.
//!
//! Cost: GetMetricData is billed per metric requested; the source counts
//! what it asks for and publishes metrics/minute and a monthly estimate.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_sdk_cloudwatch::primitives::DateTime as AwsTime;
use aws_sdk_cloudwatch::types::{Dimension, Metric, MetricDataQuery, MetricStat, ScanBy, StatusCode};
use aws_sdk_cloudwatch::Client;
use chrono::{DateTime, Datelike, Utc};

use super::Payload;
use crate::model::{Counts, FeedId, Traffic};
use crate::sources::FeedError;

/// At most this many queries in one GetMetricData call (the API's limit).
pub const MAX_QUERIES_PER_CALL: usize = 500;
/// USD per 1,000 metrics requested with GetMetricData (AWS pricing page,
/// CloudWatch "API requests"; see docs/configuration.md).
pub const USD_PER_1000_METRICS: f64 = 0.01;
/// Minutes in a 30-day month.
const MINUTES_PER_MONTH: f64 = 43_200.0;
/// The fine series: one-minute points over the last three hours.
const FINE_PERIOD: i32 = 60;
const FINE_SPAN_SECS: i64 = 3 * 3600;
/// The coarse series: one-hour points over the last 31 days (refreshed once an hour).
const COARSE_PERIOD: i32 = 3600;
const COARSE_SPAN_SECS: i64 = 31 * 86_400;

/// What one target reads.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub service: String,
    pub region: String,
    pub namespace: String,
    pub dimensions: Vec<(String, String)>,
    pub latency_metric: String,
    /// Milliseconds per unit of the latency metric (1000 for seconds).
    pub latency_ms_per_unit: f64,
    pub requests_metric: String,
    pub errors_metric: String,
    /// The service's latency-SLO threshold, if it has one (ms).
    pub slo_threshold_ms: Option<f64>,
}

impl Target {
    /// An Application Load Balancer target (TargetResponseTime in seconds).
    pub fn alb(service: &str, region: &str, load_balancer: &str, slo_threshold_ms: Option<f64>) -> Target {
        Target {
            service: service.into(),
            region: region.into(),
            namespace: "AWS/ApplicationELB".into(),
            dimensions: if load_balancer.is_empty() {
                vec![]
            } else {
                vec![("LoadBalancer".into(), load_balancer.into())]
            },
            latency_metric: "TargetResponseTime".into(),
            latency_ms_per_unit: 1000.0,
            requests_metric: "RequestCount".into(),
            errors_metric: "HTTPCode_Target_5XX_Count".into(),
            slo_threshold_ms,
        }
    }
}

/// One metric statistic to ask for.
#[derive(Debug, Clone, PartialEq)]
pub struct Ask {
    pub id: String,
    pub target: usize,
    pub metric: String,
    pub stat: String,
    pub period: i32,
}

/// The queries for `targets` (indexes into the region's list): fine ones
/// every poll, coarse ones when the hour has turned.
pub fn asks(targets: &[&Target], coarse: bool) -> Vec<Ask> {
    let mut out = Vec::new();
    for (i, t) in targets.iter().enumerate() {
        let mut push = |kind: &str, metric: &str, stat: String, period: i32| {
            out.push(Ask { id: format!("{kind}_{i}"), target: i, metric: metric.to_string(), stat, period });
        };
        let pr = t.slo_threshold_ms.map(|ms| format!("PR(:{})", fmt_threshold(ms / t.latency_ms_per_unit)));
        if coarse {
            push("hreq", &t.requests_metric, "Sum".into(), COARSE_PERIOD);
            push("herr", &t.errors_metric, "Sum".into(), COARSE_PERIOD);
            if let Some(pr) = pr {
                push("hfast", &t.latency_metric, pr, COARSE_PERIOD);
            }
        } else {
            for p in ["p50", "p95", "p99"] {
                push(p, &t.latency_metric, p.into(), FINE_PERIOD);
            }
            push("req", &t.requests_metric, "Sum".into(), FINE_PERIOD);
            push("err", &t.errors_metric, "Sum".into(), FINE_PERIOD);
            if let Some(pr) = pr {
                push("fast", &t.latency_metric, pr, FINE_PERIOD);
            }
        }
    }
    out
}

fn fmt_threshold(x: f64) -> String {
    let s = format!("{x:.6}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// Metrics requested per minute by this set of targets polled every
/// `interval`, and the monthly cost that implies.
pub fn cost(targets: &[Target], interval: Duration) -> (f64, f64) {
    let refs: Vec<&Target> = targets.iter().collect();
    let fine = asks(&refs, false).len() as f64;
    let coarse = asks(&refs, true).len() as f64;
    let per_min = fine * 60.0 / interval.as_secs_f64().max(60.0) + coarse / 60.0;
    (per_min, per_min * MINUTES_PER_MONTH * USD_PER_1000_METRICS / 1000.0)
}

/// A result: timestamps (unix seconds, ascending) and values, its status.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Series {
    pub points: Vec<(i64, f64)>,
    pub status: String,
    pub messages: Vec<String>,
}

/// The region's client and what it reads.
/// One region's client settings.
#[derive(Debug, Clone)]
pub struct RegionSpec {
    /// The region's name in the fleet.
    pub name: String,
    pub aws_region: String,
    /// Endpoint override (a local emulator).
    pub endpoint: Option<String>,
    pub profile: Option<String>,
}

struct RegionSource {
    name: String,
    aws_region: String,
    client: Client,
    targets: Vec<Target>,
}

#[derive(Default)]
struct Cache {
    /// Per region: the hour (unix / 3600) the coarse series were fetched, and them.
    coarse: HashMap<String, (i64, HashMap<String, Series>)>,
    /// Last good traffic per (service, region).
    last: HashMap<(String, String), Traffic>,
    /// Per region: the last error, if its last poll failed.
    errors: BTreeMap<String, String>,
}

#[derive(Clone)]
pub struct CloudWatch {
    regions: Arc<Vec<RegionSource>>,
    cache: Arc<Mutex<Cache>>,
    note: String,
    pub interval: Duration,
}

impl CloudWatch {
    /// One client per configured region (credentials from the standard
    /// chain, or the region's profile), HTTPS on rustls/ring.
    pub async fn new(interval: Duration, regions: Vec<RegionSpec>, targets: Vec<Target>) -> CloudWatch {
        let mut sources = Vec::new();
        for r in regions {
            let client = make_client(&r.aws_region, r.endpoint.as_deref(), r.profile.as_deref()).await;
            let mine = targets.iter().filter(|t| t.region == r.name).cloned().collect();
            sources.push(RegionSource { name: r.name, aws_region: r.aws_region, client, targets: mine });
        }
        let (per_min, usd) = cost(&targets, interval);
        let note = format!("CloudWatch · {per_min:.0} metrics/min ≈ ${usd:.2}/month");
        CloudWatch { regions: Arc::new(sources), cache: Arc::default(), note, interval }
    }

    /// "CloudWatch · N metrics/min ≈ $X/month".
    pub fn note(&self) -> &str {
        &self.note
    }

    /// Poll every region at once; a failing region keeps its last numbers.
    pub async fn fetch(&self) -> Result<Payload, FeedError> {
        let now = Utc::now();
        let polls = self.regions.iter().map(|r| self.poll_region(r, now));
        let results = futures_util::future::join_all(polls).await;
        let mut cache = self.cache.lock().map_err(|_| "CloudWatch cache poisoned".to_string())?;
        for (r, res) in self.regions.iter().zip(results) {
            let (traffic, problem) = match res {
                Ok(polled) => polled,
                Err(e) => (vec![], Some(e)),
            };
            for t in traffic {
                cache.last.insert((t.service.clone(), t.region.clone()), t);
            }
            match problem {
                Some(e) => cache.errors.insert(r.name.clone(), e),
                None => cache.errors.remove(&r.name),
            };
        }
        let mut traffic: Vec<Traffic> = cache.last.values().cloned().collect();
        traffic.sort_by(|a, b| (&a.service, &a.region).cmp(&(&b.service, &b.region)));
        let error = (!cache.errors.is_empty())
            .then(|| cache.errors.iter().map(|(r, e)| format!("{r}: {e}")).collect::<Vec<_>>().join(" · "));
        if traffic.is_empty() {
            if let Some(e) = error {
                return Err(FeedError::Source(e));
            }
        }
        Ok(Payload::MetricsFrom { traffic, error, note: Some(self.note.clone()) })
    }

    /// One region's traffic, and the problem with the targets that failed
    /// (the good ones still update).
    async fn poll_region(
        &self,
        r: &RegionSource,
        now: DateTime<Utc>,
    ) -> Result<(Vec<Traffic>, Option<String>), String> {
        let targets: Vec<&Target> = r.targets.iter().collect();
        if targets.is_empty() {
            return Ok((vec![], None));
        }
        let end = now.timestamp();
        let fine = get_metric_data(&r.client, &targets, &asks(&targets, false), end - FINE_SPAN_SECS, end)
            .await
            .map_err(|e| explain(&r.aws_region, &e))?;
        let hour = end / 3600;
        let cached = self.cache.lock().ok().and_then(|c| c.coarse.get(&r.name).cloned());
        let coarse = match cached {
            Some((h, series)) if h == hour => series,
            _ => {
                let series = get_metric_data(&r.client, &targets, &asks(&targets, true), end - COARSE_SPAN_SECS, end)
                    .await
                    .map_err(|e| explain(&r.aws_region, &e))?;
                if let Ok(mut c) = self.cache.lock() {
                    c.coarse.insert(r.name.clone(), (hour, series.clone()));
                }
                series
            }
        };
        let mut out = Vec::new();
        let mut problems = Vec::new();
        for (i, t) in targets.iter().enumerate() {
            match traffic(t, i, &fine, &coarse, now) {
                Ok(tr) => out.push(tr),
                Err(e) => problems.push(format!("{}: {e}", t.service)),
            }
        }
        Ok((out, (!problems.is_empty()).then(|| problems.join("; "))))
    }
}

/// A CloudWatch client for one region: credentials from the standard
/// chain (or `profile`), HTTPS on rustls/ring, standard retries with
/// backoff (throttling included), bounded timeouts.
pub async fn make_client(aws_region: &str, endpoint: Option<&str>, profile: Option<&str>) -> Client {
    let shared = shared_config(aws_region, profile).await;
    let mut conf = aws_sdk_cloudwatch::config::Builder::from(&shared)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(4))
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(Duration::from_secs(5))
                .operation_attempt_timeout(Duration::from_secs(15))
                .operation_timeout(Duration::from_secs(40))
                .build(),
        );
    if let Some(e) = endpoint {
        conf = conf.endpoint_url(e);
    }
    Client::from_conf(conf.build())
}

/// The AWS SDK's shared configuration for one region: credentials from
/// the standard chain (or `profile`), HTTPS on rustls/ring (every AWS
/// client here shares this one HTTP stack).
pub async fn shared_config(aws_region: &str, profile: Option<&str>) -> aws_config::SdkConfig {
    let http = aws_smithy_http_client::Builder::new()
        .tls_provider(aws_smithy_http_client::tls::Provider::Rustls(
            aws_smithy_http_client::tls::rustls_provider::CryptoMode::Ring,
        ))
        .build_https();
    let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(aws_region.to_string()))
        .http_client(http);
    if let Some(p) = profile {
        loader = loader.profile_name(p);
    }
    loader.load().await
}

/// Retries and timeouts of the Route 53 and RDS clients: `attempts` of
/// at most 10 s each, 30 s in all (1 attempt for writes with no
/// idempotency token: a retry is decided by reading, never by resending).
pub fn sdk_limits(attempts: u32) -> (aws_config::retry::RetryConfig, aws_config::timeout::TimeoutConfig) {
    (
        aws_config::retry::RetryConfig::standard().with_max_attempts(attempts),
        aws_config::timeout::TimeoutConfig::builder()
            .connect_timeout(Duration::from_secs(5))
            .operation_attempt_timeout(Duration::from_secs(10))
            .operation_timeout(Duration::from_secs(30))
            .build(),
    )
}

/// An AWS SDK error in words, without its Debug dump (`service` names who
/// could not be reached). Every AWS SDK crate re-exports this one type.
pub fn sdk_error<E: std::error::Error + 'static>(service: &str, e: &aws_sdk_cloudwatch::error::SdkError<E>) -> String {
    use aws_sdk_cloudwatch::error::{DisplayErrorContext, SdkError};
    match e {
        SdkError::ServiceError(s) => {
            let err = s.err();
            let mut text = err.to_string();
            if let Some(src) = err.source() {
                text = format!("{text}: {src}");
            }
            text
        }
        SdkError::TimeoutError(_) => "timed out".into(),
        SdkError::DispatchFailure(_) => format!("cannot reach {service}: {}", DisplayErrorContext(e)),
        other => format!("{}", DisplayErrorContext(other)),
    }
}

/// What an SDK error means to an operator.
pub fn explain(region: &str, e: &str) -> String {
    // The SDK's message, without its Debug dump of the same error.
    let cut = ["DispatchFailure(", "ServiceError(", "ConstructionFailure(", "TimeoutError(", "ResponseError("]
        .iter()
        .filter_map(|m| e.find(&format!(" ({m}")))
        .min()
        .unwrap_or(e.len());
    let e = &e[..cut];
    let low = e.to_ascii_lowercase();
    if low.contains("credential") || low.contains("expiredtoken") || low.contains("expired") {
        format!("AWS credentials for {region}: {e}")
    } else if low.contains("throttl") {
        format!("throttled by CloudWatch in {region} (retried with backoff): {e}")
    } else if low.contains("dispatch") || low.contains("dns") || low.contains("connect") {
        format!("cannot reach CloudWatch in {region} (unknown region or no network?): {e}")
    } else {
        format!("CloudWatch in {region}: {e}")
    }
}

/// Pages followed per call of 500 queries. CloudWatch pages by data points
/// (100,800 per page); our windows need one or two. A backend that keeps
/// answering with a NextToken (or the same one) is stopped here.
pub const MAX_PAGES: usize = 50;

/// Run `asks` in calls of at most 500 queries, following NextToken.
pub async fn get_metric_data(
    client: &Client,
    targets: &[&Target],
    asks: &[Ask],
    start: i64,
    end: i64,
) -> Result<HashMap<String, Series>, String> {
    let mut out: HashMap<String, Series> = HashMap::new();
    for chunk in asks.chunks(MAX_QUERIES_PER_CALL) {
        let mut queries = Vec::with_capacity(chunk.len());
        for a in chunk {
            let t = targets.get(a.target).ok_or("internal: target index")?;
            let dims: Vec<Dimension> =
                t.dimensions.iter().map(|(k, v)| Dimension::builder().name(k).value(v).build()).collect();
            let metric =
                Metric::builder().namespace(&t.namespace).metric_name(&a.metric).set_dimensions(Some(dims)).build();
            let stat = MetricStat::builder().metric(metric).period(a.period).stat(&a.stat).build();
            queries.push(MetricDataQuery::builder().id(&a.id).metric_stat(stat).return_data(true).build());
        }
        let mut token: Option<String> = None;
        let mut pages = 0;
        loop {
            pages += 1;
            if pages > MAX_PAGES {
                return Err(format!("GetMetricData still paging after {MAX_PAGES} pages; stopped (a NextToken loop?)"));
            }
            let resp = client
                .get_metric_data()
                .set_metric_data_queries(Some(queries.clone()))
                .start_time(AwsTime::from_secs(start))
                .end_time(AwsTime::from_secs(end))
                .scan_by(ScanBy::TimestampAscending)
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| format!("{}", aws_sdk_cloudwatch::error::DisplayErrorContext(&e)))?;
            for r in resp.metric_data_results() {
                let id = r.id().unwrap_or_default().to_string();
                let s = out.entry(id).or_default();
                s.points.extend(r.timestamps().iter().map(|t| t.secs()).zip(r.values().iter().copied()));
                let status = match r.status_code() {
                    Some(StatusCode::Complete) | None => "Complete".to_string(),
                    Some(other) => other.as_str().to_string(),
                };
                // A later page's Complete does not hide an earlier problem
                // other than paging's own PartialData.
                if s.status.is_empty() || s.status == "PartialData" || s.status == "Complete" {
                    s.status = status;
                }
                s.messages.extend(
                    r.messages().iter().map(|m| format!("{}: {}", m.code().unwrap_or(""), m.value().unwrap_or(""))),
                );
            }
            let next = resp.next_token().map(str::to_string);
            if next.is_some() && next == token {
                return Err("GetMetricData answered with the same NextToken again; stopped".into());
            }
            token = next;
            if token.is_none() {
                break;
            }
        }
    }
    for s in out.values_mut() {
        s.points.sort_by_key(|p| p.0);
        s.points.dedup_by_key(|p| p.0);
    }
    Ok(out)
}

fn series<'a>(m: &'a HashMap<String, Series>, kind: &str, i: usize) -> Option<&'a Series> {
    m.get(&format!("{kind}_{i}"))
}

/// Build one target's traffic from its fine (1 min) and coarse (1 h) series.
pub fn traffic(
    t: &Target,
    i: usize,
    fine: &HashMap<String, Series>,
    coarse: &HashMap<String, Series>,
    now: DateTime<Utc>,
) -> Result<Traffic, String> {
    let mut fine_kinds = vec!["p50", "p95", "p99", "req", "err"];
    if t.slo_threshold_ms.is_some() {
        fine_kinds.push("fast");
    }
    for kind in fine_kinds {
        let s = series(fine, kind, i).ok_or_else(|| format!("no {kind} result"))?;
        if matches!(s.status.as_str(), "InternalError" | "Forbidden") {
            let why = if s.messages.is_empty() { String::new() } else { format!(" ({})", s.messages.join("; ")) };
            return Err(format!("{} {}{why}", t.latency_metric_for(kind), s.status));
        }
    }
    let empty = Series::default();
    let get = |m: &'_ HashMap<String, Series>, kind: &str| series(m, kind, i).cloned().unwrap_or_else(|| empty.clone());
    let (req, err, fast) = (get(fine, "req"), get(fine, "err"), get(fine, "fast"));
    let (p50, p95, p99) = (get(fine, "p50"), get(fine, "p95"), get(fine, "p99"));
    let (hreq, herr, hfast) = (get(coarse, "hreq"), get(coarse, "herr"), get(coarse, "hfast"));
    let end = now.timestamp();
    // The last complete minute.
    let complete = |s: &Series| s.points.iter().rev().find(|(ts, _)| *ts + FINE_PERIOD as i64 <= end).copied();
    let lookup = |s: &Series, ts: i64| s.points.iter().find(|(x, _)| *x == ts).map(|(_, v)| *v);
    let last_req = complete(&req);
    let (rps, error_ratio) = match last_req {
        Some((ts, n)) if n > 0.0 => (n / FINE_PERIOD as f64, (lookup(&err, ts).unwrap_or(0.0) / n).clamp(0.0, 1.0)),
        _ => (0.0, 0.0),
    };
    let ms = t.latency_ms_per_unit;
    let latest = |s: &Series| s.points.last().map(|(_, v)| v * ms).unwrap_or(f64::NAN);
    // Window counts: the fine series for windows it covers, the coarse one
    // (hour buckets) plus the fine minutes after its last bucket for longer.
    let coarse_end = hreq.points.last().map(|(ts, _)| ts + COARSE_PERIOD as i64).unwrap_or(end - FINE_SPAN_SECS);
    let sum_since = |fine: &Series, coarse: &Series, since: i64| -> f64 {
        if end - since <= FINE_SPAN_SECS {
            fine.points.iter().filter(|(ts, _)| *ts >= since).map(|(_, v)| v).sum()
        } else {
            let c: f64 = coarse.points.iter().filter(|(ts, _)| *ts >= since).map(|(_, v)| v).sum();
            c + fine.points.iter().filter(|(ts, _)| *ts >= coarse_end).map(|(_, v)| v).sum::<f64>()
        }
    };
    // Good (fast) counts from PR: percent of requests under the threshold.
    let fast_counts = |pr: &Series, reqs: &Series| -> Series {
        Series {
            points: pr.points.iter().filter_map(|(ts, p)| Some((*ts, p / 100.0 * lookup(reqs, *ts)?))).collect(),
            ..Series::default()
        }
    };
    let (fine_fast, coarse_fast) = (fast_counts(&fast, &req), fast_counts(&hfast, &hreq));
    let month_start = now
        .date_naive()
        .with_day(1)
        .and_then(|d| d.and_hms_opt(0, 0, 0))
        .map(|d| d.and_utc().timestamp())
        .unwrap_or(end - 86_400);
    let mut counts = BTreeMap::new();
    let mut latency_counts = BTreeMap::new();
    for w in crate::model::slo::COUNT_WINDOWS {
        let since = if w == "mtd" {
            month_start
        } else {
            match crate::duration::parse(w).map(|d| d.as_secs_f64()) {
                Ok(s) => end - s as i64,
                Err(_) => continue,
            }
        };
        let total = sum_since(&req, &hreq, since);
        let bad = sum_since(&err, &herr, since);
        counts.insert(crate::model::window(w), Counts { good: (total - bad).max(0.0), total });
        if t.slo_threshold_ms.is_some() {
            let good = sum_since(&fine_fast, &coarse_fast, since);
            latency_counts.insert(crate::model::window(w), Counts { good: good.min(total), total });
        }
    }
    // Daily counts for the last 30 days, oldest first, from the hour buckets.
    let day = 86_400;
    let daily: Vec<Counts> = (0..30)
        .map(|k| {
            let (a, b) = (end - (30 - k) * day, end - (29 - k) * day);
            let in_day =
                |s: &Series| s.points.iter().filter(|(ts, _)| *ts >= a && *ts < b).map(|(_, v)| v).sum::<f64>();
            let total = in_day(&hreq);
            Counts { good: (total - in_day(&herr)).max(0.0), total }
        })
        .collect();
    let last_hour =
        |s: &Series| -> Vec<f64> { s.points.iter().filter(|(ts, _)| *ts >= end - 3600).map(|(_, v)| v * ms).collect() };
    let error_series: Vec<f64> = req
        .points
        .iter()
        .filter(|(ts, _)| *ts >= end - 3600)
        .map(|(ts, n)| if *n > 0.0 { lookup(&err, *ts).unwrap_or(0.0) / n } else { 0.0 })
        .collect();
    Ok(Traffic {
        service: t.service.clone(),
        region: t.region.clone(),
        rps,
        error_ratio,
        p50_ms: latest(&p50),
        p95_ms: latest(&p95),
        p99_ms: latest(&p99),
        counts,
        latency_counts,
        daily: std::sync::Arc::new(daily),
        latency_daily: Default::default(),
        p99_series: last_hour(&p99),
        p50_series: last_hour(&p50),
        p95_series: last_hour(&p95),
        error_series,
        series_step: FINE_PERIOD as f64,
        // GetMetricData says nothing of where a metric's data begins.
        history_s: None,
    })
}

impl Target {
    fn latency_metric_for(&self, kind: &str) -> String {
        match kind {
            "req" => self.requests_metric.clone(),
            "err" => self.errors_metric.clone(),
            _ => format!("{} {kind}", self.latency_metric),
        }
    }
}

impl crate::sources::Source for CloudWatch {
    fn name(&self) -> &str {
        "cloudwatch"
    }
    fn feeds(&self) -> &'static [FeedId] {
        &[FeedId::Metrics]
    }
    fn fetch(&self, _feed: FeedId) -> crate::sources::Fetch<'_> {
        Box::pin(CloudWatch::fetch(self))
    }
    fn range<'a>(&'a self, q: &'a crate::model::range::RangeQuery) -> Option<crate::sources::RangeFetch<'a>> {
        Some(Box::pin(self.chart_range(q)))
    }
}

/// A chart's period: the query's step rounded up to whole minutes (what
/// CloudWatch keeps beyond three hours), so the window is at most as many
/// points as asked for.
pub fn chart_period(step_secs: u32) -> i32 {
    (step_secs.div_ceil(60).max(1) * 60).min(86_400) as i32
}

/// A chart's window in CloudWatch's terms: whole periods (`p` seconds),
/// the last one complete, `n` points from `start` to `end` (Unix seconds).
struct ChartWindow {
    period: i32,
    p: i64,
    now: DateTime<Utc>,
    end: i64,
    n: usize,
    start: i64,
}

impl ChartWindow {
    fn of(q: &crate::model::range::RangeQuery) -> ChartWindow {
        let period = chart_period(q.step_secs());
        let p = period as i64;
        let now = Utc::now();
        let end = (now.timestamp() - q.ago_secs as i64) / p * p;
        let n = ((q.span_secs as i64 / p) + 1).max(2) as usize;
        ChartWindow { period, p, now, end, n, start: end - (n as i64 - 1) * p }
    }
}

impl CloudWatch {
    /// A chart's window for one target: p50/p95/p99 in one GetMetricData
    /// call at `chart_period`, ending `ago` before now (3 metrics a window:
    /// the cost of one chart is that of one poll of one target's latency).
    pub async fn chart_range(
        &self,
        q: &crate::model::range::RangeQuery,
    ) -> Result<crate::model::range::RangeSeries, String> {
        if q.kind != crate::model::range::RangeKind::Latency {
            return self.chart_errors(q).await;
        }
        let r = self
            .regions
            .iter()
            .find(|r| r.targets.iter().any(|t| t.service == q.service && t.region == q.region))
            .ok_or_else(|| format!("no CloudWatch target for {} in {}", q.service, q.region))?;
        let t = r.targets.iter().find(|t| t.service == q.service && t.region == q.region).ok_or("internal: target")?;
        let ChartWindow { period, p, now, end, n, start } = ChartWindow::of(q);
        let asks: Vec<Ask> = ["p50", "p95", "p99"]
            .iter()
            .map(|k| Ask {
                id: format!("{k}_0"),
                target: 0,
                metric: t.latency_metric.clone(),
                stat: k.to_string(),
                period,
            })
            .collect();
        // GetMetricData's end is exclusive: one period past the last point.
        let got =
            get_metric_data(&r.client, &[t], &asks, start, end + p).await.map_err(|e| explain(&r.aws_region, &e))?;
        let ms = t.latency_ms_per_unit;
        let grid = |k: &str| -> Vec<f64> {
            let pts: Vec<(i64, f64)> =
                series(&got, k, 0).map(|s| s.points.iter().map(|(ts, v)| (*ts, v * ms)).collect()).unwrap_or_default();
            crate::model::range::on_grid(&pts, start, p, n)
        };
        Ok(crate::model::range::RangeSeries {
            query: q.clone(),
            end: DateTime::from_timestamp(end, 0),
            step_secs: p as f64,
            p50: grid("p50"),
            p95: grid("p95"),
            p99: grid("p99"),
            err: vec![],
            source: "cloudwatch".into(),
            fetched_at: now,
            error: None,
        })
    }

    /// A service's share of bad requests over the window, every region's
    /// targets together (or one region's): `Sum` of requests per period in
    /// each region, and of errors (`Errors`) or the requests within the
    /// threshold (`Slow`: `PR(:threshold)` × requests), added up, then
    /// divided.
    async fn chart_errors(
        &self,
        q: &crate::model::range::RangeQuery,
    ) -> Result<crate::model::range::RangeSeries, String> {
        let ChartWindow { period, p, now, end, n, start } = ChartWindow::of(q);
        let mine = |t: &&Target| t.service == q.service && (q.region.is_empty() || t.region == q.region);
        let polls = self.regions.iter().filter(|r| r.targets.iter().any(|t| mine(&t))).map(|r| async move {
            let targets: Vec<&Target> = r.targets.iter().filter(mine).collect();
            let mut asks = Vec::new();
            for (i, t) in targets.iter().enumerate() {
                let req = ("req", t.requests_metric.clone(), "Sum".to_string());
                let bad = match q.kind {
                    crate::model::range::RangeKind::Slow(ms) => {
                        let thr = fmt_threshold(ms as f64 / t.latency_ms_per_unit);
                        ("err", t.latency_metric.clone(), format!("PR(:{thr})"))
                    }
                    _ => ("err", t.errors_metric.clone(), "Sum".to_string()),
                };
                for (k, metric, stat) in [req, bad] {
                    asks.push(Ask { id: format!("{k}_{i}"), target: i, metric, stat, period });
                }
            }
            let got = get_metric_data(&r.client, &targets, &asks, start, end + p)
                .await
                .map_err(|e| explain(&r.aws_region, &e))?;
            Ok::<_, String>((targets.len(), got))
        });
        let answers = futures_util::future::join_all(polls).await;
        if answers.is_empty() {
            return Err(format!("no CloudWatch target for {}", q.service));
        }
        let (mut req, mut bad) = (vec![0.0; n], vec![0.0; n]);
        let mut seen = vec![false; n];
        for a in answers {
            let (count, got) = a?;
            for i in 0..count {
                let grid = |k: &str| {
                    let pts: Vec<(i64, f64)> = series(&got, k, i).map(|s| s.points.clone()).unwrap_or_default();
                    crate::model::range::on_grid(&pts, start, p, n)
                };
                let (r, e) = (grid("req"), grid("err"));
                let slow = matches!(q.kind, crate::model::range::RangeKind::Slow(_));
                for j in 0..n {
                    if r[j].is_finite() {
                        req[j] += r[j];
                        // PR is the percent within the threshold; no point
                        // is no request, or (for errors) none failed.
                        bad[j] += match (slow, e[j].is_finite()) {
                            (true, true) => r[j] * (1.0 - e[j] / 100.0).clamp(0.0, 1.0),
                            (false, true) => e[j],
                            (_, false) => 0.0,
                        };
                        seen[j] = true;
                    }
                }
            }
        }
        let err = (0..n)
            .map(|j| if seen[j] && req[j] > 0.0 { (bad[j] / req[j]).clamp(0.0, 1.0) } else { f64::NAN })
            .collect();
        Ok(crate::model::range::RangeSeries {
            query: q.clone(),
            end: DateTime::from_timestamp(end, 0),
            step_secs: p as f64,
            p50: vec![],
            p95: vec![],
            p99: vec![],
            err,
            source: "cloudwatch".into(),
            fetched_at: now,
            error: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn target(threshold: Option<f64>) -> Target {
        Target::alb("checkout", "us-east-1", "app/checkout/1", threshold)
    }

    #[test]
    fn queries_and_cost() {
        let t = target(Some(300.0));
        let fine = asks(&[&t], false);
        let ids: Vec<&str> = fine.iter().map(|a| a.id.as_str()).collect();
        assert_eq!(ids, vec!["p50_0", "p95_0", "p99_0", "req_0", "err_0", "fast_0"]);
        assert_eq!(fine[5].stat, "PR(:0.3)", "TargetResponseTime is in seconds");
        assert_eq!(asks(&[&t], true).len(), 3);
        // 6 fine per minute + 3 coarse per hour.
        let (per_min, usd) = cost(std::slice::from_ref(&t), Duration::from_secs(60));
        assert!((per_min - 6.05).abs() < 1e-9, "{per_min}");
        assert!((usd - 6.05 * 43_200.0 * 0.01 / 1000.0).abs() < 1e-9, "{usd}");
        // Polling every 5 minutes asks a fifth as often.
        let (slow, _) = cost(&[t], Duration::from_secs(300));
        assert!((slow - (6.0 / 5.0 + 3.0 / 60.0)).abs() < 1e-9, "{slow}");
    }

    #[test]
    fn traffic_from_series_in_seconds_and_windows() {
        let now = DateTime::from_timestamp(1_800_000_000, 0).unwrap_or_default();
        let end = now.timestamp();
        let minutes = |v: f64| Series {
            points: (1..=180).map(|k| (end - end % 60 - k * 60, v)).rev().collect(),
            status: "Complete".into(),
            messages: vec![],
        };
        let mut fine = HashMap::new();
        fine.insert("p50_0".to_string(), minutes(0.05));
        fine.insert("p95_0".to_string(), minutes(0.2));
        fine.insert("p99_0".to_string(), minutes(0.4));
        fine.insert("req_0".to_string(), minutes(600.0));
        fine.insert("err_0".to_string(), minutes(6.0));
        let t = target(None);
        let tr = traffic(&t, 0, &fine, &HashMap::new(), now).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((tr.p50_ms, tr.p95_ms, tr.p99_ms), (50.0, 200.0, 400.0), "seconds → ms");
        assert!((tr.rps - 10.0).abs() < 1e-9 && (tr.error_ratio - 0.01).abs() < 1e-9);
        let h1 = tr.counts.get("1h").copied().unwrap_or_default();
        assert_eq!((h1.total, h1.total - h1.good), (36_000.0, 360.0));
        assert_eq!(tr.p99_series.len(), 60);
        let mut bad = fine.clone();
        bad.insert("p99_0".to_string(), Series { status: "Forbidden".into(), ..Series::default() });
        let e = traffic(&t, 0, &bad, &HashMap::new(), now).err().unwrap_or_default();
        assert!(e.contains("TargetResponseTime p99 Forbidden"), "{e}");
    }
}
