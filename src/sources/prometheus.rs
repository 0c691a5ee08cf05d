//! Prometheus as the source of latency, request and error rates and SLO
//! counts: `histogram_quantile` over the latency histogram, `rate()` and
//! `increase()` over the request counter, all grouped by service and region
//! in one query each. Instant queries for the panes, a range query for the
//! p99 sparkline. Prometheus's own error bodies are shown on the pane.

use std::collections::{BTreeMap, HashMap};

use serde::Deserialize;

use super::http::get_any_auth;
use super::Payload;
use chrono::Datelike;

use crate::model::slo::COUNT_WINDOWS;
use crate::model::{Counts, FeedId, Traffic};
use crate::sources::FeedError;

const MAX_BYTES: usize = 32 * 1024 * 1024;

/// What to query and how the series are labelled.
#[derive(Debug, Clone)]
pub struct PromQueries {
    pub latency_metric: String,
    pub requests_metric: String,
    pub error_matcher: String,
    pub selector: String,
    pub service_label: String,
    pub region_label: String,
    pub rate_window: String,
    /// Latency-SLO threshold per service, in seconds (must be a bucket bound).
    pub latency_thresholds: HashMap<String, f64>,
}

impl Default for PromQueries {
    fn default() -> Self {
        PromQueries {
            latency_metric: "http_request_duration_seconds_bucket".into(),
            requests_metric: "http_requests_total".into(),
            error_matcher: "code=~\"5..\"".into(),
            selector: String::new(),
            service_label: "service".into(),
            region_label: "region".into(),
            rate_window: "5m".into(),
            latency_thresholds: HashMap::new(),
        }
    }
}

impl PromQueries {
    fn matchers(&self, extra: &str) -> String {
        let parts: Vec<&str> = [self.selector.as_str(), extra].into_iter().filter(|s| !s.trim().is_empty()).collect();
        format!("{{{}}}", parts.join(","))
    }

    fn by(&self) -> String {
        format!("{}, {}", self.service_label, self.region_label)
    }

    /// `histogram_quantile(q, …)` per service and region.
    pub fn quantile(&self, q: f64) -> String {
        format!(
            "histogram_quantile({q}, sum by (le, {}) (rate({}{}[{}])))",
            self.by(),
            self.latency_metric,
            self.matchers(""),
            self.rate_window
        )
    }

    /// `histogram_quantile(q, …)` of one service in one region, with the
    /// rate over `window` (a chart's step, when longer than the rate
    /// window: a 5m rate sampled every hour would miss the spikes between).
    pub fn quantile_of(&self, q: f64, service: &str, region: &str, window: &str) -> String {
        let m = format!(
            "{}=\"{}\",{}=\"{}\"",
            self.service_label,
            label_value(service),
            self.region_label,
            label_value(region)
        );
        format!(
            "histogram_quantile({q}, sum by (le, {}) (rate({}{}[{window}])))",
            self.by(),
            self.latency_metric,
            self.matchers(&m)
        )
    }

    /// Failed ÷ all requests of one service (in one region, or in every
    /// region when `region` is empty), over `window`: one series. No
    /// failed series at all is 0, not a gap (`or vector(0)`); no requests
    /// at all stays a gap.
    pub fn error_ratio_of(&self, service: &str, region: &str, window: &str) -> String {
        let mut m = format!("{}=\"{}\"", self.service_label, label_value(service));
        if !region.is_empty() {
            m.push_str(&format!(",{}=\"{}\"", self.region_label, label_value(region)));
        }
        let bad = self.matchers(&format!("{m},{}", self.error_matcher));
        let all = self.matchers(&m);
        format!(
            "(sum(rate({r}{bad}[{window}])) or vector(0)) / sum(rate({r}{all}[{window}]))",
            r = self.requests_metric
        )
    }

    /// The share of one service's requests slower than `le` seconds (a
    /// bucket bound, matched in every spelling), over `window`: one series.
    pub fn slow_ratio_of(&self, service: &str, region: &str, le: f64, window: &str) -> String {
        let mut m = format!("{}=\"{}\"", self.service_label, label_value(service));
        if !region.is_empty() {
            m.push_str(&format!(",{}=\"{}\"", self.region_label, label_value(region)));
        }
        let within = self.matchers(&format!("{m},{}", le_matcher(le)));
        let all = self.matchers(&m);
        format!(
            "clamp_min(1 - sum(rate({}{within}[{window}])) / sum(rate({}{all}[{window}])), 0)",
            self.latency_metric, self.requests_metric
        )
    }

    pub fn request_rate(&self) -> String {
        format!("sum by ({}) (rate({}{}[{}]))", self.by(), self.requests_metric, self.matchers(""), self.rate_window)
    }

    pub fn error_rate(&self) -> String {
        format!(
            "sum by ({}) (rate({}{}[{}]))",
            self.by(),
            self.requests_metric,
            self.matchers(&self.error_matcher),
            self.rate_window
        )
    }

    /// Requests within `le` seconds over a window, for latency SLOs. The
    /// bound is matched by value: every spelling exporters use for it.
    pub fn within(&self, window: &str, le: f64) -> String {
        let m = self.matchers(&le_matcher(le));
        format!("sum by ({}) (increase({}{m}[{window}]))", self.by(), self.latency_metric)
    }

    /// Total (or failed) requests over a window, for error budgets.
    pub fn count(&self, window: &str, errors: bool) -> String {
        let m = if errors { self.matchers(&self.error_matcher) } else { self.matchers("") };
        format!("sum by ({}) (increase({}{m}[{window}]))", self.by(), self.requests_metric)
    }
}

/// A PromQL string literal's content: backslashes and quotes escaped, and
/// no line breaks (a service name is configuration, but never trusted).
pub fn label_value(v: &str) -> String {
    v.replace('\\', "\\\\").replace('"', "\\\"").replace(['\n', '\r'], " ")
}

/// `le=~"1|1\\.0"`: a bucket bound in each spelling exporters write
/// (Go "1", "1e+06"; Python and Java "1.0"; "0.25" in all).
pub fn le_matcher(le: f64) -> String {
    let mut forms = vec![format!("{le}"), format!("{le:?}")];
    if le != 0.0 && (le.abs() >= 1e21 || le.abs() < 1e-4 || le.abs() >= 1e6) {
        // Go's strconv 'g' form for large and small bounds.
        let e = format!("{le:e}");
        if let Some((m, x)) = e.split_once('e') {
            let (sign, digits) = x.strip_prefix('-').map(|d| ("-", d)).unwrap_or(("+", x));
            forms.push(format!("{m}e{sign}{digits:0>2}"));
        }
    }
    forms.sort();
    forms.dedup();
    let escaped: Vec<String> = forms.iter().map(|f| f.replace('.', "\\\\.").replace('+', "\\\\+")).collect();
    format!("le=~\"{}\"", escaped.join("|"))
}

#[derive(Deserialize)]
struct Resp {
    status: String,
    #[serde(default)]
    data: Option<Data>,
    #[serde(default, rename = "errorType")]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct Data {
    #[serde(default)]
    result: Vec<Series>,
}

#[derive(Deserialize)]
struct Series {
    #[serde(default)]
    metric: BTreeMap<String, String>,
    #[serde(default)]
    value: Option<(f64, String)>,
    #[serde(default)]
    values: Option<Vec<(f64, String)>>,
}

/// A result keyed by (service, region).
pub type Vector = HashMap<(String, String), f64>;

/// Decode an API answer (any status): the series, or Prometheus's error.
fn decode(code: u16, body: &[u8]) -> Result<Vec<Series>, String> {
    let resp: Resp = serde_json::from_slice(body).map_err(|e| {
        if (200..300).contains(&code) {
            format!("bad response: {e}")
        } else {
            let text: String = String::from_utf8_lossy(body).chars().filter(|c| !c.is_control()).take(120).collect();
            format!("HTTP {code}: {text}")
        }
    })?;
    if resp.status != "success" {
        let kind = resp.error_type.unwrap_or_else(|| "error".into());
        return Err(format!("Prometheus {code} {kind}: {}", resp.error.unwrap_or_default()));
    }
    Ok(resp.data.map(|d| d.result).unwrap_or_default())
}

/// A sample value: every figure asked for (rates, counts, quantiles,
/// timestamps) is finite and not negative; anything else is no value.
fn parse_value(s: &str) -> Option<f64> {
    s.parse::<f64>().ok().filter(|v| v.is_finite() && *v >= 0.0)
}

/// (unix seconds, value) points per (service, region), oldest first.
pub type TimedSeries = HashMap<(String, String), Vec<(f64, f64)>>;

#[derive(Clone)]
pub struct Prometheus {
    base: String,
    client: reqwest::Client,
    token: Option<String>,
    pub q: PromQueries,
    /// When the oldest request sample per (service, region) was taken, and
    /// when that was asked (Unix seconds): what the SLO counts can cover.
    first_samples: std::sync::Arc<std::sync::Mutex<Option<(f64, Vector)>>>,
    /// The coarse windows' counts, when they were asked, and for which
    /// latency thresholds (`Coarse`).
    coarse: std::sync::Arc<std::sync::Mutex<Option<Coarse>>>,
}

/// The first windows of `COUNT_WINDOWS` (5m … 6h) are asked on every poll;
/// the rest (1d … 30d, mtd) are the coarse ones.
const FINE_WINDOWS: usize = 5;

/// The coarse windows move by minutes a day: they are asked at most every
/// five minutes, on their own, so that a slow 30-day `increase()` can
/// neither blank latency and errors nor slow every poll down. A failed
/// coarse read keeps the last counts and says so on the pane.
const COARSE_TTL_S: f64 = 300.0;
/// After a failed coarse read, wait this long before asking again.
const COARSE_RETRY_S: f64 = 30.0;

/// The coarse windows' vectors: per window total then bad, then per
/// threshold per window the requests within it.
#[derive(Clone)]
struct Coarse {
    asked: f64,
    thresholds: Vec<f64>,
    vectors: Vec<Vector>,
    /// The last failure (with when), while the vectors are older.
    failed: Option<(f64, String)>,
}

/// How long the oldest-sample times are reused before they are asked again
/// (they move only when retention drops old blocks).
const FIRST_SAMPLES_TTL_S: f64 = 600.0;

fn enc(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

impl Prometheus {
    pub fn new(base: &str, client: reqwest::Client, token: Option<String>, q: PromQueries) -> Prometheus {
        Prometheus {
            base: base.trim_end_matches('/').to_string(),
            client,
            token,
            q,
            first_samples: Default::default(),
            coarse: Default::default(),
        }
    }

    async fn get(&self, url: &str) -> Result<(u16, Vec<u8>), String> {
        get_any_auth(&self.client, url, MAX_BYTES, self.token.as_deref()).await.map_err(|e| e.to_string())
    }

    fn key(&self, m: &BTreeMap<String, String>) -> Option<(String, String)> {
        Some((m.get(&self.q.service_label)?.clone(), m.get(&self.q.region_label)?.clone()))
    }

    /// One instant query, at `time` (Unix seconds) or now.
    pub async fn instant(&self, query: &str, time: Option<f64>) -> Result<Vector, String> {
        let mut url = format!("{}/api/v1/query?query={}", self.base, enc(query));
        if let Some(t) = time {
            url.push_str(&format!("&time={t:.3}"));
        }
        let (code, body) = self.get(&url).await?;
        let series = decode(code, &body)?;
        Ok(series
            .into_iter()
            .filter_map(|s| {
                let v = s.value.as_ref().and_then(|(_, v)| parse_value(v))?;
                Some((self.key(&s.metric)?, v))
            })
            .collect())
    }

    /// One instant query with every series' labels and value (negative
    /// values kept: Resilience4j reports `-1` for "too few calls").
    pub async fn series(&self, query: &str) -> Result<Vec<(BTreeMap<String, String>, f64)>, String> {
        let url = format!("{}/api/v1/query?query={}", self.base, enc(query));
        let (code, body) = self.get(&url).await?;
        let series = decode(code, &body)?;
        Ok(series
            .into_iter()
            .filter_map(|s| {
                let v = s.value.as_ref().and_then(|(_, v)| v.parse::<f64>().ok()).filter(|v| v.is_finite())?;
                Some((s.metric, v))
            })
            .collect())
    }

    /// One range query: values per (service, region), oldest first (NaN
    /// for a value that does not parse).
    pub async fn range(
        &self,
        query: &str,
        start: f64,
        end: f64,
        step: f64,
    ) -> Result<HashMap<(String, String), Vec<f64>>, String> {
        let points = self.range_points(query, start, end, step).await?;
        Ok(points.into_iter().map(|(k, v)| (k, v.into_iter().map(|(_, v)| v).collect())).collect())
    }

    /// One range query with each point's time: (unix seconds, value) per
    /// (service, region), oldest first; a value that does not parse is NaN.
    pub async fn range_points(&self, query: &str, start: f64, end: f64, step: f64) -> Result<TimedSeries, String> {
        let url =
            format!("{}/api/v1/query_range?query={}&start={start:.3}&end={end:.3}&step={step}", self.base, enc(query));
        let (code, body) = self.get(&url).await?;
        let series = decode(code, &body)?;
        Ok(series
            .into_iter()
            .filter_map(|s| {
                let vals = s
                    .values
                    .unwrap_or_default()
                    .iter()
                    .map(|(t, v)| (*t, parse_value(v).unwrap_or(f64::NAN)))
                    .collect();
                Some((self.key(&s.metric)?, vals))
            })
            .collect())
    }

    /// The oldest request sample per (service, region), as Unix time: to
    /// within 1 s over the last 10 minutes, 5 min over the day, an hour before
    /// that (31 days back). Reused for ten minutes once known; a failure or
    /// a Prometheus younger than one step is "coverage unknown", never an
    /// error on the pane.
    pub async fn first_samples(&self, end: f64) -> Vector {
        if let Ok(cache) = self.first_samples.lock() {
            if let Some((asked, v)) = cache.as_ref() {
                if (end - asked).abs() < FIRST_SAMPLES_TTL_S {
                    return v.clone();
                }
            }
        }
        let sel = format!("{}{}", self.q.requests_metric, self.q.matchers(""));
        let q = |range: &str| format!("min by ({}) (min_over_time(timestamp({sel})[{range}]))", self.q.by());
        // Subquery steps are aligned to multiples of their resolution and
        // each looks back 5 minutes: 1 s steps over the last 10 minutes (a
        // Prometheus that just started), 5 min over the day, 1 h over the
        // month (within an hour there).
        let (a, b, c) = (q("10m:1s"), q("1d:5m"), q("31d:1h"));
        let (a, b, c) =
            futures_util::join!(self.instant(&a, Some(end)), self.instant(&b, Some(end)), self.instant(&c, Some(end)));
        let mut out = Vector::new();
        for (k, t) in [a, b, c].into_iter().flat_map(|r| r.unwrap_or_default()) {
            let e = out.entry(k).or_insert(t);
            *e = e.min(t);
        }
        if out.is_empty() {
            return out;
        }
        if let Ok(mut cache) = self.first_samples.lock() {
            *cache = Some((end, out.clone()));
        }
        out
    }

    /// Every traffic figure for every service × region at `time` (or now).
    pub async fn traffic(&self, time: Option<f64>) -> Result<Vec<Traffic>, String> {
        self.traffic_noted(time).await.map(|(t, _)| t)
    }

    /// The coarse windows' vectors: asked now when `time` is given (a
    /// test's fixed instant) or the cached ones are older than
    /// `COARSE_TTL_S`, else the cached ones; with what went wrong, if the
    /// counts shown are older than asked for (or missing).
    async fn coarse_counts(
        &self,
        time: Option<f64>,
        end: f64,
        thresholds: &[f64],
        range: &(dyn Fn(&str) -> String + Sync),
    ) -> (Option<Vec<Vector>>, Option<String>) {
        let cached = self.coarse.lock().ok().and_then(|c| c.clone()).filter(|c| c.thresholds == thresholds);
        if time.is_none() {
            if let Some(c) = &cached {
                let fresh = match &c.failed {
                    Some((at, _)) => end < at + COARSE_RETRY_S,
                    None => end - c.asked < COARSE_TTL_S,
                };
                if fresh {
                    let vectors = (!c.vectors.is_empty()).then(|| c.vectors.clone());
                    return (vectors, c.failed.as_ref().map(|(_, e)| e.clone()));
                }
            }
        }
        let coarse = &COUNT_WINDOWS[FINE_WINDOWS..];
        let mut queries = Vec::new();
        for w in coarse {
            queries.push(self.q.count(&range(w), false));
            queries.push(self.q.count(&range(w), true));
        }
        for le in thresholds {
            for w in coarse {
                queries.push(self.q.within(&range(w), *le));
            }
        }
        let results = futures_util::future::join_all(queries.iter().map(|q| self.instant(q, time))).await;
        match results.into_iter().collect::<Result<Vec<Vector>, String>>() {
            Ok(vectors) => {
                if let Ok(mut c) = self.coarse.lock() {
                    *c = Some(Coarse {
                        asked: end,
                        thresholds: thresholds.to_vec(),
                        vectors: vectors.clone(),
                        failed: None,
                    });
                }
                (Some(vectors), None)
            }
            Err(e) => {
                let stale = cached.filter(|c| !c.vectors.is_empty());
                let when = |t: f64| {
                    chrono::DateTime::from_timestamp_millis((t * 1000.0) as i64)
                        .map(|d| d.format("%H:%M:%S").to_string())
                        .unwrap_or_default()
                };
                let why = match &stale {
                    Some(c) => format!("1d…30d windows: {e}; showing those read at {}", when(c.asked)),
                    None => format!("1d…30d windows (error budgets): {e}"),
                };
                let failed = Some((end, why.clone()));
                let kept = match stale.clone() {
                    Some(c) => Coarse { failed, ..c },
                    None => Coarse { asked: end, thresholds: thresholds.to_vec(), vectors: Vec::new(), failed },
                };
                if let Ok(mut slot) = self.coarse.lock() {
                    *slot = Some(kept);
                }
                (stale.map(|c| c.vectors), Some(why))
            }
        }
    }

    /// `traffic`, and what went wrong with the coarse windows if anything
    /// (the fine figures are whole either way).
    pub async fn traffic_noted(&self, time: Option<f64>) -> Result<(Vec<Traffic>, Option<String>), String> {
        let mut queries = vec![
            self.q.quantile(0.5),
            self.q.quantile(0.95),
            self.q.quantile(0.99),
            self.q.request_rate(),
            self.q.error_rate(),
        ];
        let end = time.unwrap_or_else(|| chrono::Utc::now().timestamp_millis() as f64 / 1000.0);
        let range = |w: &str| -> String {
            if w == "mtd" {
                // PromQL has no month: the seconds since the month began.
                let now =
                    chrono::DateTime::from_timestamp_millis((end * 1000.0) as i64).unwrap_or_else(chrono::Utc::now);
                let start = now.date_naive().with_day(1).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc());
                let secs = start.map(|s| (now - s).num_seconds().max(60)).unwrap_or(86_400);
                format!("{secs}s")
            } else {
                w.to_string()
            }
        };
        let fine = &COUNT_WINDOWS[..FINE_WINDOWS];
        for w in fine {
            queries.push(self.q.count(&range(w), false));
            queries.push(self.q.count(&range(w), true));
        }
        let mut thresholds: Vec<f64> = self.q.latency_thresholds.values().copied().collect();
        thresholds.sort_by(|a, b| a.total_cmp(b));
        thresholds.dedup();
        let base = queries.len();
        for le in &thresholds {
            for w in fine {
                queries.push(self.q.within(&range(w), *le));
            }
        }
        let (results, (coarse, coarse_note)) = futures_util::join!(
            futures_util::future::join_all(queries.iter().map(|q| self.instant(q, time))),
            self.coarse_counts(time, end, &thresholds, &range)
        );
        let mut vectors = Vec::with_capacity(results.len());
        for r in results {
            vectors.push(r?);
        }
        let n_coarse = COUNT_WINDOWS.len() - FINE_WINDOWS;
        // Window i's (total, bad, within the threshold at ti) vectors.
        let total_of = |i: usize| -> Option<&Vector> {
            if i < FINE_WINDOWS {
                vectors.get(5 + 2 * i)
            } else {
                coarse.as_ref().and_then(|c| c.get(2 * (i - FINE_WINDOWS)))
            }
        };
        let bad_of = |i: usize| -> Option<&Vector> {
            if i < FINE_WINDOWS {
                vectors.get(6 + 2 * i)
            } else {
                coarse.as_ref().and_then(|c| c.get(2 * (i - FINE_WINDOWS) + 1))
            }
        };
        let within_of = |ti: usize, i: usize| -> Option<&Vector> {
            if i < FINE_WINDOWS {
                vectors.get(base + ti * FINE_WINDOWS + i)
            } else {
                coarse.as_ref().and_then(|c| c.get(2 * n_coarse + ti * n_coarse + (i - FINE_WINDOWS)))
            }
        };
        // The sparkline and the daily budget chart are niceties: their
        // failure does not hide the numbers.
        let (q50, q95, q99) = (self.q.quantile(0.5), self.q.quantile(0.95), self.q.quantile(0.99));
        let q_err = format!("({}) / ({})", self.q.error_rate(), self.q.request_rate());
        let start = end - 59.0 * 60.0;
        let (s50, s95, series, s_err) = futures_util::join!(
            self.range(&q50, start, end, 60.0),
            self.range(&q95, start, end, 60.0),
            self.range(&q99, start, end, 60.0),
            self.range(&q_err, start, end, 60.0)
        );
        let (s50, s95, series, s_err) =
            (s50.unwrap_or_default(), s95.unwrap_or_default(), series.unwrap_or_default(), s_err.unwrap_or_default());
        let ms_series = |m: &HashMap<(String, String), Vec<f64>>, k: &(String, String)| -> Vec<f64> {
            m.get(k).map(|v| v.iter().map(|x| x * 1000.0).collect()).unwrap_or_default()
        };
        let day = 86_400.0;
        let (q_total, q_bad) = (self.q.count("1d", false), self.q.count("1d", true));
        let (daily_total, daily_bad) = futures_util::join!(
            self.range(&q_total, end - 29.0 * day, end, day),
            self.range(&q_bad, end - 29.0 * day, end, day)
        );
        let (daily_total, daily_bad) = (daily_total.unwrap_or_default(), daily_bad.unwrap_or_default());
        let first = self.first_samples(end).await;
        let mut keys: Vec<(String, String)> = vectors[3].keys().chain(vectors[2].keys()).cloned().collect();
        keys.sort();
        keys.dedup();
        let ms = |v: &Vector, k: &(String, String)| v.get(k).map(|x| x * 1000.0).unwrap_or(f64::NAN);
        let traffic = keys
            .into_iter()
            .map(|k| {
                let rps = vectors[3].get(&k).copied().unwrap_or(0.0);
                let err = vectors[4].get(&k).copied().unwrap_or(0.0);
                let mut counts = BTreeMap::new();
                let mut latency_counts = BTreeMap::new();
                let threshold =
                    self.q.latency_thresholds.get(&k.0).and_then(|t| thresholds.iter().position(|x| x == t));
                for (i, w) in COUNT_WINDOWS.iter().enumerate() {
                    let total = total_of(i).and_then(|v| v.get(&k)).copied();
                    let bad = bad_of(i).and_then(|v| v.get(&k)).copied().unwrap_or(0.0);
                    if let Some(total) = total {
                        counts.insert(crate::model::window(w), Counts { good: (total - bad).max(0.0), total });
                        // No series for the threshold's bucket is no data,
                        // never "0 requests were fast" (fetch says why).
                        if let Some(ti) = threshold {
                            if let Some(fast) = within_of(ti, i).and_then(|v| v.get(&k)).copied() {
                                latency_counts.insert(crate::model::window(w), Counts { good: fast.min(total), total });
                            }
                        }
                    }
                }
                Traffic {
                    service: k.0.clone(),
                    region: k.1.clone(),
                    rps,
                    error_ratio: if rps > 0.0 { (err / rps).clamp(0.0, 1.0) } else { 0.0 },
                    p50_ms: ms(&vectors[0], &k),
                    p95_ms: ms(&vectors[1], &k),
                    p99_ms: ms(&vectors[2], &k),
                    counts,
                    latency_counts,
                    daily: daily_total
                        .get(&k)
                        .map(|tot| {
                            let bad = daily_bad.get(&k);
                            tot.iter()
                                .enumerate()
                                .map(|(i, t)| {
                                    let t = if t.is_finite() { *t } else { 0.0 };
                                    let b =
                                        bad.and_then(|v| v.get(i)).copied().filter(|x| x.is_finite()).unwrap_or(0.0);
                                    Counts { good: (t - b).max(0.0), total: t }
                                })
                                .collect::<Vec<Counts>>()
                        })
                        .map(std::sync::Arc::new)
                        .unwrap_or_default(),
                    latency_daily: Default::default(),
                    p99_series: ms_series(&series, &k),
                    p50_series: ms_series(&s50, &k),
                    p95_series: ms_series(&s95, &k),
                    error_series: s_err.get(&k).cloned().unwrap_or_default(),
                    series_step: 60.0,
                    history_s: first.get(&k).map(|t| (end - t).max(0.0)),
                }
            })
            .collect();
        Ok((traffic, coarse_note))
    }

    pub async fn fetch(&self) -> Result<Payload, FeedError> {
        let (traffic, coarse_note) = self.traffic_noted(None).await?;
        // A latency threshold that is no bucket bound counts nothing: name
        // the nearest bounds (asked of Prometheus only in that case).
        let mut missing: Vec<(String, f64)> = Vec::new();
        for t in &traffic {
            let Some(th) = self.q.latency_thresholds.get(&t.service) else { continue };
            let has_traffic = t.counts.get("1h").is_some_and(|c| c.total > 0.0);
            if has_traffic && t.latency_counts.is_empty() && !missing.iter().any(|(s, _)| *s == t.service) {
                missing.push((t.service.clone(), *th));
            }
        }
        let mut why: Vec<String> = coarse_note.into_iter().collect();
        if missing.is_empty() {
            if why.is_empty() {
                return Ok(Payload::Metrics(traffic));
            }
            return Ok(Payload::MetricsFrom { traffic, error: Some(why.join("; ")), note: None });
        }
        for (svc, th) in missing.iter().take(3) {
            let bounds = self.bucket_bounds(svc).await.unwrap_or_default();
            let below = bounds.iter().copied().filter(|b| b < th).fold(f64::NAN, f64::max);
            let above = bounds.iter().copied().filter(|b| b > th).fold(f64::NAN, f64::min);
            let near: Vec<String> = [below, above].iter().filter(|b| b.is_finite()).map(|b| format!("{b}")).collect();
            let near = if near.is_empty() { "none found".to_string() } else { near.join(", ") };
            why.push(format!(
                "latency SLO of {svc}: {th} s is no bucket bound of {} (nearest: {near}); set threshold_ms to one",
                self.q.latency_metric
            ));
        }
        Ok(Payload::MetricsFrom { traffic, error: Some(why.join("; ")), note: None })
    }

    /// The `le` bounds the latency histogram has for `service`.
    async fn bucket_bounds(&self, service: &str) -> Result<Vec<f64>, String> {
        let sel = format!("{}=\"{}\"", self.q.service_label, service.replace('\\', "\\\\").replace('"', "\\\""));
        let query = format!("count by (le) ({}{})", self.q.latency_metric, self.q.matchers(&sel));
        let url = format!("{}/api/v1/query?query={}", self.base, enc(&query));
        let (code, body) = self.get(&url).await?;
        let mut out: Vec<f64> = decode(code, &body)?
            .iter()
            .filter_map(|s| s.metric.get("le").and_then(|v| v.parse::<f64>().ok()))
            .filter(|b| b.is_finite())
            .collect();
        out.sort_by(|a, b| a.total_cmp(b));
        out.dedup();
        Ok(out)
    }
}

impl crate::sources::Source for Prometheus {
    fn name(&self) -> &str {
        "prometheus"
    }
    fn feeds(&self) -> &'static [FeedId] {
        &[FeedId::Metrics]
    }
    fn fetch(&self, _feed: FeedId) -> crate::sources::Fetch<'_> {
        Box::pin(Prometheus::fetch(self))
    }
    fn range<'a>(&'a self, q: &'a crate::model::range::RangeQuery) -> Option<crate::sources::RangeFetch<'a>> {
        Some(Box::pin(self.chart_range(q)))
    }
}

impl Prometheus {
    /// A chart's window: three `query_range`s (p50, p95, p99) for one
    /// service in one region, at the query's step, ending `ago` before now.
    pub async fn chart_range(
        &self,
        q: &crate::model::range::RangeQuery,
    ) -> Result<crate::model::range::RangeSeries, String> {
        let step = q.step_secs() as f64;
        let now = chrono::Utc::now();
        // Aligned to the step, so that the same window asked again gives
        // the same points (Prometheus evaluates at start + k·step).
        let end = ((now.timestamp() - q.ago_secs as i64) as f64 / step).floor() * step;
        let start = end - step * (q.points as f64 - 1.0);
        let rate = crate::duration::parse(&self.q.rate_window).map(|d| d.as_secs_f64()).unwrap_or(300.0);
        let window = format!("{}s", rate.max(step).round() as i64);
        let bad_ratio = match q.kind {
            crate::model::range::RangeKind::Errors => Some(self.q.error_ratio_of(&q.service, &q.region, &window)),
            crate::model::range::RangeKind::Slow(ms) => {
                Some(self.q.slow_ratio_of(&q.service, &q.region, ms as f64 / 1000.0, &window))
            }
            crate::model::range::RangeKind::Latency => None,
        };
        if let Some(expr) = bad_ratio {
            let url = format!(
                "{}/api/v1/query_range?query={}&start={start:.3}&end={end:.3}&step={step}",
                self.base,
                enc(&expr)
            );
            let (code, body) = self.get(&url).await?;
            let series = decode(code, &body)?;
            // One series (summed); none: no requests in the window.
            let pts: Vec<(i64, f64)> = series
                .into_iter()
                .next()
                .map(|s| {
                    let v = s.values.unwrap_or_default();
                    v.iter().filter_map(|(t, v)| Some((t.round() as i64, parse_value(v)?))).collect()
                })
                .unwrap_or_default();
            let err = crate::model::range::on_grid(&pts, start as i64, step as i64, q.points as usize);
            return Ok(crate::model::range::RangeSeries {
                query: q.clone(),
                end: chrono::DateTime::from_timestamp(end as i64, 0),
                step_secs: step,
                p50: vec![],
                p95: vec![],
                p99: vec![],
                err,
                source: "prometheus".into(),
                fetched_at: now,
                error: None,
            });
        }
        let ask = |p: f64| self.q.quantile_of(p, &q.service, &q.region, &window);
        let (q50, q95, q99) = (ask(0.5), ask(0.95), ask(0.99));
        let (a, b, c) = futures_util::join!(
            self.range_points(&q50, start, end, step),
            self.range_points(&q95, start, end, step),
            self.range_points(&q99, start, end, step)
        );
        let key = (q.service.clone(), q.region.clone());
        let pick = |r: Result<TimedSeries, String>| -> Result<Vec<f64>, String> {
            let m = r?;
            let pts: Vec<(i64, f64)> = m
                .get(&key)
                .map(|v| v.iter().map(|(t, v)| (t.round() as i64, v * 1000.0)).collect())
                .unwrap_or_default();
            Ok(crate::model::range::on_grid(&pts, start as i64, step as i64, q.points as usize))
        };
        let (p50, p95, p99) = (pick(a)?, pick(b)?, pick(c)?);
        Ok(crate::model::range::RangeSeries {
            query: q.clone(),
            end: chrono::DateTime::from_timestamp(end as i64, 0),
            step_secs: step,
            p50,
            p95,
            p99,
            err: vec![],
            source: "prometheus".into(),
            fetched_at: now,
            error: None,
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn bucket_bounds_match_by_value_in_every_spelling() {
        assert_eq!(super::le_matcher(1.0), r#"le=~"1|1\\.0""#);
        assert_eq!(super::le_matcher(0.25), r#"le=~"0\\.25""#);
        assert_eq!(super::le_matcher(1e6), r#"le=~"1000000|1000000\\.0|1e\\+06""#);
    }

    use super::*;

    #[test]
    fn queries_group_by_service_and_region() {
        let q = PromQueries { selector: "job=\"api\"".into(), ..PromQueries::default() };
        assert_eq!(
            q.quantile(0.99),
            "histogram_quantile(0.99, sum by (le, service, region) (rate(http_request_duration_seconds_bucket{job=\"api\"}[5m])))"
        );
        assert_eq!(
            q.count("30d", true),
            "sum by (service, region) (increase(http_requests_total{job=\"api\",code=~\"5..\"}[30d]))"
        );
        let plain = PromQueries::default();
        assert_eq!(plain.request_rate(), "sum by (service, region) (rate(http_requests_total{}[5m]))");
    }

    #[test]
    fn errors_from_prometheus_are_kept() {
        let body = br#"{"status":"error","errorType":"bad_data","error":"1:5: parse error: unexpected"}"#;
        let e = decode(400, body).err().unwrap_or_default();
        assert_eq!(e, "Prometheus 400 bad_data: 1:5: parse error: unexpected");
        let e = decode(503, b"Service Unavailable").err().unwrap_or_default();
        assert_eq!(e, "HTTP 503: Service Unavailable");
        assert!(decode(200, b"{").is_err());
        let ok = br#"{"status":"success","data":{"resultType":"vector","result":[
            {"metric":{"service":"a","region":"r"},"value":[1.5,"0.25"]},
            {"metric":{"service":"b","region":"r"},"value":[1.5,"NaN"]}]}}"#;
        assert_eq!(decode(200, ok).map(|v| v.len()).ok(), Some(2));
        assert_eq!(parse_value("NaN"), None);
        assert_eq!(parse_value("+Inf"), None);
        assert_eq!(parse_value("-7"), None, "no figure asked of Prometheus is negative");
        assert_eq!(parse_value("0"), Some(0.0));
    }
}
