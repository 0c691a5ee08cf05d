//! HTTP surface of the simulator (documented in docs/control-plane-api.md).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::extract::{Path, Query, Request, State};
use axum::http::{header, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::model::{World, BUCKETS};
use crate::scenario::Phase;
use crate::SimClock;

/// A fault injected on every request whose path starts with `path`.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Fault {
    pub path: String,
    /// `latency`, `status`, `garbage` or `hang`.
    pub kind: String,
    #[serde(default)]
    pub latency_ms: Option<u64>,
    #[serde(default)]
    pub status: Option<u16>,
    /// Apply to this many requests, then remove itself (default: forever).
    #[serde(default)]
    pub times: Option<u32>,
    /// CloudWatch faults: only for this region (the SigV4 scope's).
    #[serde(default)]
    pub region: Option<String>,
    /// CloudWatch `cw-result-status`: only queries about this service.
    #[serde(default)]
    pub target: Option<String>,
    /// CloudWatch `cw-result-status`: PartialData, InternalError or Forbidden.
    #[serde(default)]
    pub code: Option<String>,
    /// CloudWatch `cw-page-size`: datapoints per page.
    #[serde(default)]
    pub value: Option<u64>,
}

/// Shared state of a running simulator.
pub struct SimState {
    pub world: World,
    pub clock: SimClock,
    faults: Mutex<Vec<Fault>>,
    requests: Mutex<BTreeMap<String, u64>>,
    /// Metrics requested through CloudWatch GetMetricData, in all.
    cloudwatch_metrics: std::sync::atomic::AtomicU64,
    pub(crate) ledger: crate::actions::SharedLedger,
    /// Alertmanager-style silences (v2 JSON), newest last.
    silences: Mutex<Vec<Value>>,
    /// Operators' updates to instances' circuit breakers.
    breakers: Mutex<crate::breakers::Overrides>,
    /// The Kubernetes API's Rollouts (a projection of the deployments).
    pub kube: crate::kube::Kube,
    /// The blue-green rollout's operator actions (`blue-green`, `bad-green`).
    pub bluegreen: Mutex<crate::bluegreen::Ops>,
}

impl SimState {
    pub fn new(world: World, clock: SimClock) -> SimState {
        SimState {
            world,
            clock,
            faults: Mutex::new(Vec::new()),
            requests: Mutex::new(BTreeMap::new()),
            cloudwatch_metrics: Default::default(),
            ledger: Default::default(),
            silences: Mutex::new(Vec::new()),
            breakers: Mutex::new(Default::default()),
            kube: Default::default(),
            bluegreen: Mutex::new(Default::default()),
        }
    }

    /// Requests served so far, by path family (e.g. `/v1/metrics`, `/svc`).
    pub fn request_counts(&self) -> BTreeMap<String, u64> {
        self.requests.lock().map(|m| m.clone()).unwrap_or_default()
    }

    pub fn set_fault(&self, f: Fault) {
        if let Ok(mut v) = self.faults.lock() {
            v.retain(|x| x.path != f.path);
            v.push(f);
        }
    }

    pub fn clear_faults(&self) {
        if let Ok(mut v) = self.faults.lock() {
            v.clear();
        }
    }

    /// The fault for `path`, counting one use of it.
    fn fault_for(&self, path: &str) -> Option<Fault> {
        let mut v = self.faults.lock().ok()?;
        let i = v.iter().enumerate().filter(|(_, f)| path.starts_with(&f.path)).max_by_key(|(_, f)| f.path.len())?.0;
        let f = v[i].clone();
        if let Some(n) = v[i].times.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                v.remove(i);
            }
        }
        Some(f)
    }

    pub(crate) fn count_cloudwatch(&self, metrics: usize) {
        self.cloudwatch_metrics.fetch_add(metrics as u64, std::sync::atomic::Ordering::Relaxed);
    }

    /// Current scenario time.
    pub fn now(&self) -> f64 {
        self.clock.now()
    }
}

type St = State<Arc<SimState>>;

pub fn router(state: Arc<SimState>) -> Router {
    Router::new()
        .route("/v1/fleet", get(fleet_info))
        .route("/v1/regions", get(regions))
        .route("/v1/services", get(services))
        .route("/v1/metrics", get(metrics))
        .route("/v1/metrics/range", get(metrics_range))
        .route("/v1/deployments", get(deployments))
        .route("/v1/circuits", get(circuits))
        .route("/v1/flags", get(flags))
        .route("/v1/stats", get(stats))
        .route("/v1/truth/counts", get(truth_counts))
        .route("/v1/faults", get(list_faults).post(add_fault).delete(delete_faults))
        .route("/v1/actions", get(crate::actions::list_actions).post(crate::actions::post_action))
        .route("/v1/actions/{id}", get(crate::actions::get_action))
        .route("/v1/executions", get(crate::actions::executions))
        .route("/svc/{service}/{region}/health", get(health))
        .route("/svc/{service}/{region}/ready", get(ready))
        .route("/metrics", get(prometheus))
        .route("/api/v2/alerts", get(alerts))
        .route("/api/v2/silences", get(list_silences).post(post_silence))
        .route("/r4j/{pod}/actuator/circuitbreakers", get(r4j_list))
        .route("/r4j/{pod}/actuator/circuitbreakers/{name}", axum::routing::post(r4j_update))
        .route("/api/v2/silence/{id}", get(get_silence).delete(delete_silence))
        .route("/v1/databases", get(databases_index))
        .route("/patroni/{cluster}/cluster", get(patroni_cluster))
        .route("/patroni/{cluster}/history", get(patroni_history))
        .route("/patroni/{cluster}/switchover", axum::routing::post(patroni_switchover))
        .route("/patroni/{cluster}/failover", axum::routing::post(patroni_failover))
        .route("/k8s/{cluster}/version", get(crate::kube::version))
        .route("/k8s/{cluster}/api", get(crate::kube::core_versions))
        .route("/k8s/{cluster}/api/v1", get(crate::kube::core_resources))
        .route("/k8s/{cluster}/apis", get(crate::kube::groups))
        .route("/k8s/{cluster}/apis/argoproj.io/v1alpha1", get(crate::kube::rollout_resources))
        .route("/k8s/{cluster}/apis/argoproj.io/v1alpha1/rollouts", get(crate::kube::list))
        .route("/k8s/{cluster}/apis/argoproj.io/v1alpha1/namespaces/{ns}/rollouts", get(crate::kube::list))
        .route(
            "/k8s/{cluster}/apis/argoproj.io/v1alpha1/namespaces/{ns}/rollouts/{name}",
            get(crate::kube::get_one).patch(crate::kube::patch),
        )
        .route(
            "/k8s/{cluster}/apis/argoproj.io/v1alpha1/namespaces/{ns}/rollouts/{name}/status",
            get(crate::kube::get_one).patch(crate::kube::patch),
        )
        .route("/k8s/{cluster}/apis/argoproj.io/v1alpha1/namespaces/{ns}/analysisruns", get(crate::kube::list_runs))
        .route("/k8s/{cluster}/apis/apps/v1", get(crate::kube::apps_resources))
        .route("/k8s/{cluster}/apis/apps/v1/replicasets", get(crate::kube::list_replica_sets))
        .route("/k8s/{cluster}/apis/apps/v1/namespaces/{ns}/replicasets", get(crate::kube::list_replica_sets))
        .route("/v1/kube/expire", axum::routing::post(crate::kube::expire))
        .route("/rds", axum::routing::post(rds_query))
        .route("/rds/", axum::routing::post(rds_query))
        .route(
            "/service/GraniteServiceVersion20100801/operation/GetMetricData",
            axum::routing::post(crate::cloudwatch::get_metric_data),
        )
        .layer(middleware::from_fn_with_state(state.clone(), faults_and_counts))
        .layer(middleware::from_fn_with_state(state.clone(), simulated_date))
        .with_state(state)
}

/// Every answer's `Date` header is the simulated clock's, as a server in
/// that world would send it: clients that read the source's time from it
/// (Alertmanager alert ages) see simulated time under `--time-scale`.
async fn simulated_date(State(st): St, req: Request, next: Next) -> Response {
    let mut resp = next.run(req).await;
    let ms = ((st.world.start_unix + st.now()) * 1000.0).round() as i64;
    if let Some(d) = chrono::DateTime::from_timestamp_millis(ms) {
        let text = d.format("%a, %d %b %Y %H:%M:%S GMT").to_string();
        if let Ok(v) = header::HeaderValue::from_str(&text) {
            resp.headers_mut().insert(header::DATE, v);
        }
    }
    resp
}

async fn faults_and_counts(State(st): St, mut req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let family = path_family(&path);
    // Counted by path family, by method and family ("POST /v1/actions"),
    // and for requests with an idempotency key by method, family and key,
    // so tests can tell a lookup from a resend.
    let method = req.method().as_str().to_string();
    let key = req.headers().get("idempotency-key").and_then(|v| v.to_str().ok()).map(String::from).or_else(|| {
        let q = req.uri().query().unwrap_or("");
        q.split('&').find_map(|kv| kv.strip_prefix("idempotencyKey=")).map(String::from)
    });
    if let Ok(mut m) = st.requests.lock() {
        *m.entry(format!("{method} {family}")).or_insert(0) += 1;
        if let Some(k) = key {
            *m.entry(format!("{method} {family} key={k}")).or_insert(0) += 1;
        }
        *m.entry(family).or_insert(0) += 1;
    }
    // Fault control itself is never faulted, so a test can always undo a fault.
    let fault = if path.starts_with("/v1/faults") { None } else { st.fault_for(&path) };
    match fault.as_ref().map(|f| f.kind.as_str()) {
        Some("latency") => {
            let ms = fault.and_then(|f| f.latency_ms).unwrap_or(1000);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            next.run(req).await
        }
        Some("status") => {
            let code = fault.and_then(|f| f.status).unwrap_or(503);
            let code = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
            (code, Json(json!({"error": "injected fault", "status": code.as_u16()}))).into_response()
        }
        Some("garbage") => {
            ([(header::CONTENT_TYPE, "application/json")], "{\"regions\": [ \u{1}\u{2}garbage<<<").into_response()
        }
        Some("hang") => {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            next.run(req).await
        }
        // CloudWatch faults and `fail-after-accept` are the endpoint's to
        // apply (per region, per result; after the request is accepted).
        Some(kind) if kind.starts_with("cw-") || kind == "fail-after-accept" => {
            if let Some(f) = fault {
                req.extensions_mut().insert(f);
            }
            next.run(req).await
        }
        Some("drop") => {
            // The request takes effect, but its answer never arrives in time.
            let _ = next.run(req).await;
            let ms = fault.and_then(|f| f.latency_ms).unwrap_or(60_000);
            tokio::time::sleep(Duration::from_millis(ms)).await;
            (StatusCode::GATEWAY_TIMEOUT, Json(json!({"error": "injected fault: response dropped"}))).into_response()
        }
        _ => next.run(req).await,
    }
}

fn path_family(path: &str) -> String {
    if path.starts_with("/v1/metrics/range") {
        return "/v1/metrics/range".into();
    }
    let mut parts = path.split('/').filter(|p| !p.is_empty());
    match (parts.next(), parts.next()) {
        (Some("v1"), Some(x)) => format!("/v1/{x}"),
        (Some(x), _) => format!("/{x}"),
        _ => "/".into(),
    }
}

/// `iso` to the millisecond (a range's end, which tests check against the
/// model at that instant).
fn iso_ms(world: &World, t: f64) -> String {
    let ms = ((world.start_unix + t) * 1000.0).round() as i64;
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Millis, true))
        .unwrap_or_default()
}

pub(crate) fn iso(world: &World, t: f64) -> String {
    let ms = ((world.start_unix + t) * 1000.0).round() as i64;
    chrono::DateTime::from_timestamp_millis(ms)
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

fn round(x: f64, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (x * p).round() / p
}

#[derive(Deserialize)]
struct TruthQuery {
    /// Unix seconds (the fleet's clock, as `/v1/fleet`'s `time`).
    from: f64,
    to: f64,
}

/// `GET /v1/truth/counts?from=UNIX&to=UNIX`: the ground truth a test
/// checks the console's figures against — each service's requests and
/// failed requests between the two instants, over every region (what
/// happened, including the operator's actions, not a window's estimate).
async fn truth_counts(State(st): St, Query(q): Query<TruthQuery>) -> Response {
    let w = &st.world;
    let (a, b) = (q.from - w.start_unix, q.to - w.start_unix);
    if !(a.is_finite() && b.is_finite()) || b < a || b - a > 86_400.0 * 31.0 {
        return bad_request("from and to: Unix seconds, from ≤ to, at most 31 days apart".into());
    }
    let mut out = serde_json::Map::new();
    for (s, svc) in w.fleet.services.iter().enumerate() {
        let (mut total, mut bad) = (0.0, 0.0);
        for r in 0..w.fleet.regions.len() {
            let c = w.counts(s, r, a, b);
            total += c.total;
            bad += c.bad;
        }
        out.insert(svc.name.clone(), json!({"total": round(total, 1), "bad": round(bad, 1)}));
    }
    Json(Value::Object(out)).into_response()
}

async fn fleet_info(State(st): St) -> Json<Value> {
    let w = &st.world;
    let t = st.now();
    Json(json!({
        "name": "warroom-sim",
        "demo": true,
        "seed": w.seed,
        "scenario": w.scenario.name(),
        "time": iso(w, t),
        "scenarioSeconds": round(t, 3),
        "timeScale": st.clock.scale(),
        "regions": w.fleet.regions.len(),
        "services": w.fleet.services.len(),
    }))
}

/// Status of a region: down when every service in it is down, degraded when
/// any service breaches the alert error ratio or the p99 SLA.
fn region_status(w: &World, r: usize, t: f64) -> &'static str {
    let mut all_down = true;
    let mut degraded = false;
    for s in 0..w.fleet.services.len() {
        let i = w.inst(s, r, t);
        all_down &= i.down;
        degraded |= i.down || i.err >= 0.005 || i.p99 >= 500.0;
    }
    if all_down {
        "down"
    } else if degraded {
        "degraded"
    } else {
        "ok"
    }
}

/// Since when region `r` has had its status at `t`: the latest condition
/// change that moved it there, or a day back at most ("at least a day").
fn status_since(w: &World, r: usize, t: f64) -> f64 {
    let now = region_status(w, r, t);
    let floor = t - 86_400.0;
    for c in w.change_times(floor, t) {
        if region_status(w, r, c - 0.5) != now {
            return c;
        }
    }
    floor
}

async fn regions(State(st): St) -> Json<Value> {
    let w = &st.world;
    let t = st.now();
    let regions: Vec<Value> = w
        .fleet
        .regions
        .iter()
        .enumerate()
        .map(|(r, reg)| {
            json!({
                "name": reg.name,
                "status": region_status(w, r, t),
                "statusSince": iso(w, status_since(w, r, t)),
                "trafficWeight": round(w.weight(r, t), 3),
                "baseWeight": reg.weight,
                "zones": reg.zones,
            })
        })
        .collect();
    Json(json!({"observedAt": iso(w, t), "regions": regions}))
}

async fn services(State(st): St) -> Json<Value> {
    let w = &st.world;
    let svcs: Vec<Value> = w
        .fleet
        .services
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let deps: Vec<&str> = s.depends_on.iter().map(|&d| w.fleet.services[d].name.as_str()).collect();
            json!({
                "name": s.name,
                "tier": if s.critical { "critical" } else { "standard" },
                "owners": s.owners,
                "dependsOn": deps,
                "slos": slos_of(w, i, s),
            })
        })
        .collect();
    Json(json!({"observedAt": iso(w, st.now()), "services": svcs}))
}

/// Latency-SLO threshold of a service: 300 ms for critical, 500 ms otherwise.
pub(crate) fn latency_threshold_ms(svc: &crate::fleet::Service) -> f64 {
    if svc.critical {
        300.0
    } else {
        500.0
    }
}

/// The SLOs of a service: availability (payments' over the calendar month,
/// the others rolling 30 days) and latency (99% within the threshold).
fn slos_of(_w: &World, i: usize, s: &crate::fleet::Service) -> Value {
    let mut avail = json!({"name": format!("{}-availability", s.name), "kind": "availability", "objective": s.objective, "windowDays": 30});
    if i == 3 {
        avail["calendar"] = json!("month");
    }
    json!([
        avail,
        {"name": format!("{}-latency", s.name), "kind": "latency", "objective": 99.0,
         "thresholdMs": latency_threshold_ms(s), "windowDays": 30}
    ])
}

/// Seconds since the start of the UTC month at scenario time t.
fn month_to_date(w: &World, t: f64) -> f64 {
    use chrono::Datelike;
    let ms = ((w.start_unix + t) * 1000.0) as i64;
    let Some(now) = chrono::DateTime::from_timestamp_millis(ms) else { return 86_400.0 };
    let start = now.date_naive().with_day(1).and_then(|d| d.and_hms_opt(0, 0, 0)).map(|d| d.and_utc());
    start.map(|s| (now - s).num_milliseconds() as f64 / 1000.0).unwrap_or(86_400.0).max(1.0)
}

#[derive(Deserialize)]
struct MetricsQuery {
    windows: Option<String>,
    points: Option<usize>,
    step: Option<String>,
    service: Option<String>,
    /// Per-day counts for this many past days (≤ 31).
    days: Option<usize>,
    /// `rows`: the compact shape (docs/control-plane-api.md).
    format: Option<String>,
    /// Rows shape: how many of `windows` (the first ones) every row has;
    /// the rest, and the days, only the rows of the services in `shard`.
    fine: Option<usize>,
    /// Rows shape: `K/N`, the services whose index is K modulo N.
    shard: Option<String>,
    /// Rows shape: unix seconds of the newest series instant the client
    /// holds; only later instants are sent.
    since: Option<f64>,
}

/// Parse a duration like `90s`, `5m`, `1h`, `3d`.
fn parse_window(s: &str) -> Option<f64> {
    let s = s.trim();
    let (num, unit) = s.split_at(s.find(|c: char| !c.is_ascii_digit())?);
    let n: f64 = num.parse().ok()?;
    let mult = match unit {
        "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => return None,
    };
    let secs = n * mult;
    (secs > 0.0 && secs <= 31.0 * 86_400.0).then_some(secs)
}

fn bad_request(msg: String) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({"error": msg}))).into_response()
}

async fn metrics(State(st): St, headers: header::HeaderMap, Query(q): Query<MetricsQuery>) -> Response {
    let w = &st.world;
    let t = st.now();
    let spec = q.windows.unwrap_or_else(|| "5m,1h,30d".into());
    let mut windows = Vec::new();
    for name in spec.split(',').filter(|x| !x.is_empty()) {
        if name.trim() == "mtd" {
            windows.push(("mtd".to_string(), month_to_date(w, t)));
            continue;
        }
        match parse_window(name) {
            Some(secs) => windows.push((name.trim().to_string(), secs)),
            None => return bad_request(format!("bad window '{name}': use e.g. 5m, 1h, 30d (max 31d)")),
        }
    }
    if windows.len() > 16 {
        return bad_request("at most 16 windows".into());
    }
    let points = q.points.unwrap_or(30).min(240);
    let step = match q.step.as_deref().map(parse_window) {
        None => 60.0,
        Some(Some(s)) => s,
        Some(None) => return bad_request("bad step".into()),
    };
    let only = match q.service.as_deref() {
        None => None,
        Some(name) => match w.fleet.service_index(name) {
            Some(i) => Some(i),
            None => {
                return (StatusCode::NOT_FOUND, Json(json!({"error": format!("unknown service '{name}'")})))
                    .into_response()
            }
        },
    };
    let days = q.days.unwrap_or(0).min(31);
    if q.format.as_deref() == Some("rows") {
        let fine = q.fine.unwrap_or(windows.len()).min(windows.len());
        let shard = match q.shard.as_deref().map(parse_shard) {
            None => (0, 1),
            Some(Some(s)) => s,
            Some(None) => return bad_request("bad shard: use K/N with 0 <= K < N <= 4096".into()),
        };
        let rows = RowsQuery { windows: &windows, fine, shard, days, points, step, since: q.since, only };
        let body = metrics_rows(w, t, &rows);
        return gzipped(&headers, body);
    }
    let mut out = Vec::new();
    for (s, svc) in w.fleet.services.iter().enumerate() {
        if only.is_some_and(|o| o != s) {
            continue;
        }
        for (r, reg) in w.fleet.regions.iter().enumerate() {
            let i = w.inst(s, r, t);
            let mut counts = serde_json::Map::new();
            let mut latency = serde_json::Map::new();
            let thr = latency_threshold_ms(svc);
            for (name, secs) in &windows {
                let c = w.counts(s, r, t - secs, t);
                counts.insert(name.clone(), json!({"good": round(c.total - c.bad, 1), "total": round(c.total, 1)}));
                let fast = w.fast(s, r, t - secs, t, thr);
                latency.insert(name.clone(), json!({"good": round(fast, 1), "total": round(c.total, 1)}));
            }
            let mut daily = Vec::with_capacity(days);
            let mut latency_daily = Vec::with_capacity(days);
            for k in (0..days).rev() {
                let (a, b) = (t - (k + 1) as f64 * 86_400.0, t - k as f64 * 86_400.0);
                let c = w.counts(s, r, a, b);
                daily.push(json!({"good": round(c.total - c.bad, 1), "total": round(c.total, 1)}));
                latency_daily.push(json!({"good": round(w.fast(s, r, a, b, thr), 1), "total": round(c.total, 1)}));
            }
            let mut p99 = Vec::with_capacity(points);
            let mut p95 = Vec::with_capacity(points);
            let mut p50 = Vec::with_capacity(points);
            let mut rps = Vec::with_capacity(points);
            let mut err = Vec::with_capacity(points);
            for k in (0..points).rev() {
                let x = w.inst(s, r, t - k as f64 * step);
                p99.push(round(x.p99, 1));
                p95.push(round(x.p95, 1));
                p50.push(round(x.p50, 1));
                rps.push(round(x.rps, 1));
                err.push(round(x.err, 6));
            }
            out.push(json!({
                "service": svc.name,
                "region": reg.name,
                "rps": round(i.rps, 2),
                "errorRatio": round(i.err, 6),
                "p50Ms": round(i.p50, 2),
                "p95Ms": round(i.p95, 2),
                "p99Ms": round(i.p99, 2),
                "counts": counts,
                "latencyCounts": latency,
                "daily": daily,
                "latencyDaily": latency_daily,
                "historySeconds": round(t - crate::model::HISTORY_START, 0),
                "series": {"stepSeconds": step, "p50Ms": p50, "p95Ms": p95, "p99Ms": p99, "rps": rps, "errorRatio": err},
            }));
        }
    }
    let body = json!({"observedAt": iso(w, t), "metrics": out}).to_string();
    gzipped(&headers, body)
}

/// `K/N` with 0 ≤ K < N ≤ 4096.
fn parse_shard(s: &str) -> Option<(usize, usize)> {
    let (k, n) = s.split_once('/')?;
    let (k, n): (usize, usize) = (k.trim().parse().ok()?, n.trim().parse().ok()?);
    ((1..=4096).contains(&n) && k < n).then_some((k, n))
}

/// A JSON body, gzip-compressed (fastest level) when the client accepts it.
fn gzipped(headers: &header::HeaderMap, body: String) -> Response {
    use std::io::Write as _;
    let accepts = headers
        .get_all(header::ACCEPT_ENCODING)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|e| e.split(';').next().is_some_and(|n| n.trim().eq_ignore_ascii_case("gzip")));
    let json = [(header::CONTENT_TYPE, "application/json")];
    if !accepts {
        return (json, body).into_response();
    }
    let mut enc = flate2::write::GzEncoder::new(Vec::with_capacity(body.len() / 4), flate2::Compression::fast());
    match enc.write_all(body.as_bytes()).and_then(|_| enc.finish()) {
        Ok(bytes) => (json, [(header::CONTENT_ENCODING, "gzip")], bytes).into_response(),
        Err(_) => (json, body).into_response(),
    }
}

/// What a rows-shape metrics request asks for.
struct RowsQuery<'a> {
    windows: &'a [(String, f64)],
    fine: usize,
    shard: (usize, usize),
    days: usize,
    points: usize,
    step: f64,
    since: Option<f64>,
    only: Option<usize>,
}

/// A number as JSON, at most `digits` decimals (and never NaN).
fn num(out: &mut String, x: f64, digits: i32) {
    let x = round(x, digits);
    if x.is_finite() {
        let _ = write!(out, "{x}");
    } else {
        out.push('0');
    }
}

/// One interval's `good,total`: availability into `out`, within the
/// latency threshold into `latency`, each after a comma unless `first`.
fn count_pairs(
    w: &World,
    (s, r): (usize, usize),
    (a, b): (f64, f64),
    thr: f64,
    first: bool,
    out: &mut String,
    latency: &mut String,
) {
    if !first {
        out.push(',');
        latency.push(',');
    }
    let c = w.counts(s, r, a, b);
    num(out, c.total - c.bad, 1);
    out.push(',');
    num(out, c.total, 1);
    num(latency, w.fast(s, r, a, b, thr), 1);
    latency.push(',');
    num(latency, c.total, 1);
}

/// `GET /v1/metrics?format=rows…`: one array per service × region, names
/// once, series only after `since` on step-aligned instants, the coarse
/// windows and days only for the services of one shard.
fn metrics_rows(w: &World, t: f64, q: &RowsQuery) -> String {
    let step = q.step;
    // Series instants are multiples of the step on the fleet's unix clock,
    // the newest strictly before now (the client appends the value now).
    let end_unix = (((w.start_unix + t) / step).ceil() - 1.0) * step;
    let all = q.points.saturating_sub(1);
    let fresh = match q.since {
        Some(since) if since.is_finite() && since <= end_unix => {
            (((end_unix - since) / step).round() as usize).min(all)
        }
        _ => all,
    };
    let mut out = String::with_capacity(256 * w.fleet.services.len() * w.fleet.regions.len());
    let names = |v: Vec<&str>| serde_json::to_string(&v).unwrap_or_else(|_| "[]".into());
    let _ = write!(
        out,
        "{{\"format\":\"rows\",\"observedAt\":\"{}\",\"historySeconds\":{},\"services\":{},\"regions\":{},\"windows\":{},\"fine\":{},\"shard\":[{},{}],\"days\":{},",
        iso(w, t),
        round(t - crate::model::HISTORY_START, 0),
        names(w.fleet.services.iter().map(|s| s.name.as_str()).collect()),
        names(w.fleet.regions.iter().map(|r| r.name.as_str()).collect()),
        names(q.windows.iter().map(|(n, _)| n.as_str()).collect()),
        q.fine,
        q.shard.0,
        q.shard.1,
        q.days,
    );
    let since = if fresh < all { format!("{}", end_unix - fresh as f64 * step) } else { "null".into() };
    let _ = write!(
        out,
        "\"series\":{{\"stepSeconds\":{step},\"end\":{end_unix},\"since\":{since},\"points\":{fresh}}},\"rows\":["
    );
    let mut first = true;
    for (s, svc) in w.fleet.services.iter().enumerate() {
        if q.only.is_some_and(|o| o != s) {
            continue;
        }
        let coarse = s % q.shard.1 == q.shard.0;
        let thr = latency_threshold_ms(svc);
        for r in 0..w.fleet.regions.len() {
            if !first {
                out.push(',');
            }
            first = false;
            let i = w.inst(s, r, t);
            let _ = write!(out, "[{s},{r},");
            for (x, d) in [(i.rps, 2), (i.err, 6), (i.p50, 2), (i.p95, 2), (i.p99, 2)] {
                num(&mut out, x, d);
                out.push(',');
            }
            let given = if coarse { q.windows.len() } else { q.fine };
            let mut latency = String::new();
            out.push('[');
            latency.push('[');
            for (k, (_, secs)) in q.windows.iter().take(given).enumerate() {
                count_pairs(w, (s, r), (t - secs, t), thr, k == 0, &mut out, &mut latency);
            }
            out.push_str("],");
            out.push_str(&latency);
            out.push_str("],[");
            // p50, p95, p99, error ratio at the fresh instants, oldest first.
            let insts: Vec<_> =
                (0..fresh).rev().map(|k| w.inst(s, r, end_unix - w.start_unix - k as f64 * step)).collect();
            for (j, pick) in [0usize, 1, 2, 3].iter().enumerate() {
                if j > 0 {
                    out.push(',');
                }
                out.push('[');
                for (k, x) in insts.iter().enumerate() {
                    if k > 0 {
                        out.push(',');
                    }
                    let (v, d) = match pick {
                        0 => (x.p50, 1),
                        1 => (x.p95, 1),
                        2 => (x.p99, 1),
                        _ => (x.err, 6),
                    };
                    num(&mut out, v, d);
                }
                out.push(']');
            }
            out.push_str("],[");
            let mut latency = String::from("[");
            if coarse {
                for k in (0..q.days).rev() {
                    let day = (t - (k + 1) as f64 * 86_400.0, t - k as f64 * 86_400.0);
                    count_pairs(w, (s, r), day, thr, k + 1 == q.days, &mut out, &mut latency);
                }
            }
            out.push_str("],");
            out.push_str(&latency);
            out.push_str("]]");
        }
    }
    out.push_str("]}");
    out
}

#[derive(Deserialize)]
struct RangeQuery {
    service: String,
    /// Absent or empty: every region together (errorRatio weighted by
    /// requests; no percentiles, which do not add up across regions).
    #[serde(default)]
    region: String,
    /// The window's length and how long before now it ends, in seconds.
    span: f64,
    #[serde(default)]
    ago: f64,
    points: usize,
    /// Also the share of requests slower than this (ms) over each step.
    #[serde(default, rename = "slowMs")]
    slow_ms: Option<f64>,
}

/// A chart's window of one service in one region: p50/p95/p99 and the
/// error ratio at `points` even steps over `span` seconds ending `ago`
/// seconds before the sim's now (`null` before the sim's history begins,
/// 31 days back); with no region, the error ratio over every region.
async fn metrics_range(State(st): St, Query(q): Query<RangeQuery>) -> Response {
    let w = &st.world;
    let t = st.now();
    let Some(s) = w.fleet.service_index(&q.service) else {
        return (StatusCode::NOT_FOUND, Json(json!({"error": format!("unknown service '{}'", q.service)})))
            .into_response();
    };
    let r = if q.region.is_empty() {
        None
    } else {
        match w.fleet.regions.iter().position(|x| x.name == q.region) {
            Some(r) => Some(r),
            None => {
                return (StatusCode::NOT_FOUND, Json(json!({"error": format!("unknown region '{}'", q.region)})))
                    .into_response()
            }
        }
    };
    let finite = q.span.is_finite() && q.ago.is_finite();
    if !finite || q.span < 60.0 || q.span > 31.0 * 86_400.0 || q.ago < 0.0 || q.ago > 31.0 * 86_400.0 {
        return bad_request("span must be 60 s to 31 days, and ago 0 to 31 days".into());
    }
    if !(2..=1_000).contains(&q.points) {
        return bad_request("points must be 2 to 1000".into());
    }
    let end = t - q.ago;
    let step = q.span / (q.points - 1) as f64;
    let null = serde_json::Value::Null;
    let (mut p50, mut p95, mut p99, mut err) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    let mut slow = Vec::new();
    let slow_ms = q.slow_ms.filter(|x| x.is_finite() && *x > 0.0);
    let regions: Vec<usize> = match r {
        Some(r) => vec![r],
        None => (0..w.fleet.regions.len()).collect(),
    };
    for k in (0..q.points).rev() {
        let at = end - k as f64 * step;
        if at < crate::model::HISTORY_START {
            for v in [&mut p50, &mut p95, &mut p99, &mut err, &mut slow] {
                v.push(null.clone());
            }
            continue;
        }
        if let Some(thr) = slow_ms {
            // Over the step that ends here: requests, and those within.
            let (mut total, mut fast) = (0.0, 0.0);
            for &r in &regions {
                total += w.counts(s, r, at - step, at).total;
                fast += w.fast(s, r, at - step, at, thr);
            }
            slow.push(if total > 0.0 {
                json!(round(((total - fast) / total).clamp(0.0, 1.0), 6))
            } else {
                null.clone()
            });
        }
        match r {
            Some(r) => {
                let x = w.inst(s, r, at);
                p50.push(json!(round(x.p50, 1)));
                p95.push(json!(round(x.p95, 1)));
                p99.push(json!(round(x.p99, 1)));
                err.push(json!(round(x.err, 6)));
            }
            None => {
                let all: Vec<_> = (0..w.fleet.regions.len()).map(|r| w.inst(s, r, at)).collect();
                let rps: f64 = all.iter().map(|x| x.rps).sum();
                let bad: f64 = all.iter().map(|x| x.rps * x.err).sum();
                for v in [&mut p50, &mut p95, &mut p99] {
                    v.push(null.clone());
                }
                err.push(if rps > 0.0 { json!(round(bad / rps, 6)) } else { null.clone() });
            }
        }
    }
    Json(json!({
        "observedAt": iso(w, t),
        "end": iso_ms(w, end),
        "stepSeconds": step,
        "p50Ms": p50,
        "p95Ms": p95,
        "p99Ms": p99,
        "errorRatio": err,
        "slowRatio": if slow_ms.is_some() { json!(slow) } else { serde_json::Value::Null },
    }))
    .into_response()
}

/// The stable version's error ratio: the series' error ratio without the
/// canary's share (never below the service's background ratio).
fn world_base_err(w: &World, s: usize, r: usize, t: f64, canary_share: f64) -> f64 {
    let c = w.cond(s, r, t);
    (c.err - canary_share).max(w.fleet.services[s].base_err)
}

async fn deployments(State(st): St) -> Json<Value> {
    let w = &st.world;
    let t = st.now();
    let list: Vec<Value> = w
        .script
        .deployments
        .iter()
        .enumerate()
        .map(|(d, dep)| {
            let s = w.deploy_state(d, t);
            let svc = &w.fleet.services[dep.service].name;
            let region = &w.fleet.regions[dep.region].name;
            let base = w.inst(dep.service, dep.region, t);
            let in_flight = s.canary_rev.is_some() && !matches!(s.phase, Phase::Healthy | Phase::Aborted);
            let analysis = if in_flight {
                // The service's numbers include the canary's share; take it
                // out to get the stable (baseline) version's behaviour.
                let frac = s.weight / 100.0;
                let b_err = world_base_err(w, dep.service, dep.region, t, frac * s.canary_err);
                let b_p99 = base.p99 / (1.0 + frac * (s.canary_lat - 1.0));
                let c_err = (b_err + s.canary_err).min(1.0);
                let c_p99 = b_p99 * s.canary_lat;
                let failing = c_err > b_err * 2.0 + 0.001 || c_p99 > b_p99 * 1.2;
                json!({
                    "verdict": if failing { "Failing" } else { "Passing" },
                    "canaryErrorRatio": round(c_err, 6),
                    "baselineErrorRatio": round(b_err, 6),
                    "canaryP99Ms": round(c_p99, 1),
                    "baselineP99Ms": round(b_p99, 1),
                })
            } else {
                Value::Null
            };
            json!({
                "id": format!("{svc}/{region}"),
                "service": svc,
                "region": region,
                "strategy": "canary",
                "phase": s.phase.name(),
                "message": s.message,
                "revision": {"stable": s.stable_rev.to_string(), "canary": s.canary_rev.map(|r| r.to_string())},
                "steps": dep.steps,
                "step": {"index": s.step_index, "total": dep.steps.len()},
                "weight": s.weight,
                "since": if s.since.is_finite() { Value::from(iso(w, s.since)) } else { Value::Null },
                "analysis": analysis,
            })
        })
        .collect();
    let mut list = list;
    list.extend(crate::bluegreen::control_plane(&st, t));
    Json(json!({"observedAt": iso(w, t), "deployments": list}))
}

async fn circuits(State(st): St) -> Json<Value> {
    let w = &st.world;
    let t = st.now();
    let mut list = Vec::new();
    let ov = st.breakers.lock().map(|m| m.clone()).unwrap_or_default();
    for (r, reg) in w.fleet.regions.iter().enumerate() {
        for (s, svc) in w.fleet.services.iter().enumerate() {
            for &d in &svc.depends_on {
                let (state, since) = w.circuit(d, r, t);
                let dep = w.inst(d, r, t);
                // The caller's instances, as their actuators report them.
                let mut instances = serde_json::Map::new();
                let mut few = true;
                for i in 0..crate::breakers::PODS {
                    let b = crate::breakers::breaker(w, &ov, s, d, r, i, t);
                    few &= b.failure_rate < 0.0;
                    let n = instances.get(b.state).and_then(Value::as_u64).unwrap_or(0);
                    instances.insert(b.state.to_string(), json!(n + 1));
                }
                list.push(json!({
                    "from": svc.name,
                    "to": w.fleet.services[d].name,
                    "region": reg.name,
                    "state": state.name(),
                    "failureRatePct": round(dep.err * 100.0, 3),
                    "thresholdPct": crate::model::CIRCUIT_OPEN_AT * 100.0,
                    "since": iso(w, since),
                    "instances": instances,
                    "tooFewCalls": few,
                }));
            }
        }
    }
    Json(json!({"observedAt": iso(w, t), "circuits": list}))
}

/// Flags and their values before any operator change:
/// (name, environment, enabled, rollout).
pub(crate) fn flag_defaults() -> Vec<(&'static str, &'static str, bool, &'static str)> {
    vec![
        (crate::model::FLAG_TIED, "production", true, "10% of users"),
        (crate::model::FLAG_TIED, "staging", true, "100%"),
        ("search-v2-ranking", "production", false, "internal only"),
        ("search-v2-ranking", "staging", true, "internal only"),
        ("payments-3ds-fallback", "production", true, "100%"),
        ("recommendations", "production", true, "50% of users"),
        ("kill-switch-notifications", "production", false, "100%"),
    ]
}

async fn flags(State(st): St) -> Json<Value> {
    let w = &st.world;
    let t = st.now();
    let dy = w.dyn_read();
    let list: Vec<Value> = flag_defaults()
        .into_iter()
        .map(|(name, env, on, rollout)| {
            let on = dy.flag_at(name, env, t).unwrap_or(on);
            json!({"name": name, "environment": env, "enabled": on, "rollout": rollout})
        })
        .collect();
    Json(json!({"observedAt": iso(w, t), "flags": list}))
}

/// Alerts in Alertmanager's v2 shape, derived from the current state: what
/// a rule set over this fleet would be firing.
async fn alerts(State(st): St) -> Json<Value> {
    let w = &st.world;
    let t = st.now();
    let mut out = Vec::new();
    let since = |s: usize, r: usize| {
        let pieces = w.pieces(s, r, t - 86_400.0, t + 1e-6);
        let cur = pieces.last().map(|p| p.2);
        let start = pieces.iter().rev().take_while(|p| Some(p.2) == cur).last().map(|p| p.0).unwrap_or(t);
        iso(w, start)
    };
    let alert = |name: &str, sev: &str, svc: Option<&str>, region: &str, summary: String, starts: String| {
        let mut labels = serde_json::Map::new();
        labels.insert("alertname".into(), name.into());
        labels.insert("severity".into(), sev.into());
        labels.insert("region".into(), region.into());
        if let Some(svc) = svc {
            labels.insert("service".into(), svc.into());
        }
        // Where an on-call engineer goes next (links in the drill-down).
        let dashboard = match svc {
            Some(svc) => format!("https://grafana.example.com/d/service?var-service={svc}&var-region={region}"),
            None => format!("https://grafana.example.com/d/region?var-region={region}"),
        };
        json!({
            "labels": labels,
            "annotations": {
                "summary": summary,
                "runbook_url": format!("https://runbooks.example.com/alerts/{name}"),
                "dashboard": dashboard,
            },
            "startsAt": starts,
            "status": {"state": "active", "silencedBy": [], "inhibitedBy": []},
        })
    };
    for (r, reg) in w.fleet.regions.iter().enumerate() {
        if region_status(w, r, t) == "down" {
            out.push(alert("RegionDown", "page", None, &reg.name, format!("{} is down", reg.name), since(0, r)));
            continue;
        }
        for (s, svc) in w.fleet.services.iter().enumerate() {
            let c = w.cond(s, r, t);
            if c.err >= 0.005 {
                let sev = if c.err >= 0.05 { "page" } else { "ticket" };
                let summary = format!("5xx ratio {:.2}% (alert at 0.5%)", c.err * 100.0);
                out.push(alert("HighErrorRate", sev, Some(&svc.name), &reg.name, summary, since(s, r)));
            }
            let i = w.inst(s, r, t);
            if i.p99 >= 500.0 {
                let summary = format!("p99 {:.0} ms over the 500 ms SLA", i.p99);
                out.push(alert("LatencySLABreach", "ticket", Some(&svc.name), &reg.name, summary, since(s, r)));
            }
        }
    }
    // Muted by an active silence whose every matcher holds, as Alertmanager does.
    let silences = st.silences.lock().map(|v| v.clone()).unwrap_or_default();
    for a in out.iter_mut() {
        let by: Vec<Value> = silences
            .iter()
            .filter(|s| silence_state(s) == "active" && silence_catches(s, &a["labels"]))
            .map(|s| s["id"].clone())
            .collect();
        if !by.is_empty() {
            a["status"] = json!({"state": "suppressed", "silencedBy": by, "inhibitedBy": []});
        }
    }
    Json(Value::Array(out))
}

/// A silence's state now, by the wall clock (as Alertmanager's).
fn silence_state(s: &Value) -> &'static str {
    let at = |k: &str| s[k].as_str().and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok());
    let now = chrono::Utc::now();
    if s["expired"] == true || at("endsAt").is_some_and(|e| e <= now) {
        "expired"
    } else if at("startsAt").is_some_and(|b| b > now) {
        "pending"
    } else {
        "active"
    }
}

fn silence_catches(s: &Value, labels: &Value) -> bool {
    let ms = s["matchers"].as_array().cloned().unwrap_or_default();
    !ms.is_empty()
        && ms.iter().all(|m| {
            let v = labels[m["name"].as_str().unwrap_or("")].as_str().unwrap_or("");
            (v == m["value"].as_str().unwrap_or("")) == (m["isEqual"] != false)
        })
}

fn silence_out(s: &Value) -> Value {
    let mut v = s.clone();
    if let Some(o) = v.as_object_mut() {
        o.remove("expired");
        o.insert("status".into(), json!({"state": silence_state(s)}));
    }
    v
}

async fn list_silences(State(st): St) -> Json<Value> {
    let v = st.silences.lock().map(|v| v.iter().map(silence_out).collect()).unwrap_or_default();
    Json(Value::Array(v))
}

async fn get_silence(State(st): St, Path(id): Path<String>) -> Response {
    let found = st.silences.lock().ok().and_then(|v| v.iter().find(|s| s["id"] == id.as_str()).map(silence_out));
    match found {
        Some(s) => Json(s).into_response(),
        None => (StatusCode::NOT_FOUND, "silence not found").into_response(),
    }
}

/// `POST /api/v2/silences`: a new silence, or an update of one by `id`
/// (as Alertmanager: the same id back), → `{"silenceID"}`.
async fn post_silence(State(st): St, body: Result<Json<Value>, axum::extract::rejection::JsonRejection>) -> Response {
    let Ok(Json(mut s)) = body else { return bad_request("a JSON silence is required".into()) };
    let ms = s["matchers"].as_array().map(Vec::len).unwrap_or(0);
    let text = |k: &str| s[k].as_str().is_some_and(|v| !v.trim().is_empty());
    if ms == 0 || !text("createdBy") || !text("comment") || !text("endsAt") {
        return bad_request("silence invalid: matchers, createdBy, comment and endsAt are required".into());
    }
    let Ok(mut list) = st.silences.lock() else { return bad_request("busy".into()) };
    let id = match s["id"].as_str().filter(|i| !i.is_empty()) {
        Some(id) => match list.iter_mut().find(|x| x["id"] == id) {
            Some(old) => {
                *old = s.clone();
                id.to_string()
            }
            None => return (StatusCode::NOT_FOUND, format!("silence {id} not found")).into_response(),
        },
        None => {
            let id = format!("sim-{:04}", list.len() + 1);
            s["id"] = json!(id);
            if s["startsAt"].as_str().is_none() {
                s["startsAt"] = json!(chrono::Utc::now().to_rfc3339());
            }
            list.push(s);
            id
        }
    };
    Json(json!({"silenceID": id})).into_response()
}

/// `DELETE /api/v2/silence/{id}`: expire it (kept, as Alertmanager keeps it).
async fn delete_silence(State(st): St, Path(id): Path<String>) -> Response {
    let Ok(mut list) = st.silences.lock() else { return bad_request("busy".into()) };
    match list.iter_mut().find(|x| x["id"] == id.as_str()) {
        Some(s) => {
            s["expired"] = json!(true);
            s["endsAt"] = json!(chrono::Utc::now().to_rfc3339());
            StatusCode::OK.into_response()
        }
        None => (StatusCode::NOT_FOUND, "silence not found").into_response(),
    }
}

async fn stats(State(st): St) -> Json<Value> {
    let cw = st.cloudwatch_metrics.load(std::sync::atomic::Ordering::Relaxed);
    Json(json!({"requests": st.request_counts(), "cloudwatchMetrics": cw}))
}

async fn list_faults(State(st): St) -> Json<Value> {
    let v = st.faults.lock().map(|v| v.clone()).unwrap_or_default();
    Json(json!({"faults": v}))
}

async fn add_fault(State(st): St, body: Result<Json<Fault>, axum::extract::rejection::JsonRejection>) -> Response {
    let Ok(Json(f)) = body else {
        return bad_request("body must be {\"path\":\"/v1/...\",\"kind\":\"latency|status|garbage|hang\"}".into());
    };
    let cw = ["cw-throttle", "cw-expired", "cw-result-status", "cw-page-size"];
    if !matches!(f.kind.as_str(), "latency" | "status" | "garbage" | "hang" | "drop" | "fail-after-accept")
        && !cw.contains(&f.kind.as_str())
    {
        return bad_request(format!("unknown fault kind '{}'", f.kind));
    }
    st.set_fault(f.clone());
    (StatusCode::CREATED, Json(json!({"fault": f}))).into_response()
}

async fn delete_faults(State(st): St) -> StatusCode {
    st.clear_faults();
    StatusCode::NO_CONTENT
}

fn lookup(w: &World, service: &str, region: &str) -> Option<(usize, usize)> {
    Some((w.fleet.service_index(service)?, w.fleet.region_index(region)?))
}

async fn health(State(st): St, Path((service, region)): Path<(String, String)>) -> Response {
    let w = &st.world;
    let t = st.now();
    let Some((s, r)) = lookup(w, &service, &region) else {
        return (StatusCode::NOT_FOUND, Json(json!({"status": "UNKNOWN", "error": "no such service/region"})))
            .into_response();
    };
    let i = w.inst(s, r, t);
    let up = !i.down && i.err < 0.5;
    let mut components = serde_json::Map::new();
    components.insert("ping".into(), json!({"status": if i.down { "DOWN" } else { "UP" }}));
    for &d in &w.fleet.services[s].depends_on {
        let di = w.inst(d, r, t);
        let ds = if di.down || di.err >= crate::model::CIRCUIT_OPEN_AT { "DOWN" } else { "UP" };
        components.insert(w.fleet.services[d].name.clone(), json!({"status": ds}));
    }
    let code = if up { StatusCode::OK } else { StatusCode::SERVICE_UNAVAILABLE };
    let body = json!({"status": if up { "UP" } else { "DOWN" }, "components": components});
    (code, [(header::CONTENT_TYPE, "application/vnd.spring-boot.actuator.v3+json")], body.to_string()).into_response()
}

async fn ready(State(st): St, Path((service, region)): Path<(String, String)>) -> Response {
    let w = &st.world;
    let t = st.now();
    let Some((s, r)) = lookup(w, &service, &region) else {
        return (StatusCode::NOT_FOUND, "unknown service or region\n").into_response();
    };
    let i = w.inst(s, r, t);
    if i.down || i.err >= 0.2 {
        (StatusCode::SERVICE_UNAVAILABLE, Json(json!({"status": "OUT_OF_SERVICE"}))).into_response()
    } else {
        (StatusCode::OK, Json(json!({"status": "UP"}))).into_response()
    }
}

/// Prometheus text exposition: cumulative request counters by status class
/// and a latency histogram per service × region.
async fn prometheus(State(st): St) -> Response {
    let w = &st.world;
    let t = st.now();
    let mut out = String::with_capacity(1024 * w.fleet.services.len() * w.fleet.regions.len());
    out.push_str("# HELP http_requests_total Requests served, by status class.\n# TYPE http_requests_total counter\n");
    for (s, svc) in w.fleet.services.iter().enumerate() {
        for (r, reg) in w.fleet.regions.iter().enumerate() {
            let c = w.counts(s, r, crate::model::HISTORY_START, t);
            let l = format!("service=\"{}\",region=\"{}\"", svc.name, reg.name);
            let _ = writeln!(out, "http_requests_total{{{l},code=\"2xx\"}} {:.0}", c.total - c.bad);
            let _ = writeln!(out, "http_requests_total{{{l},code=\"5xx\"}} {:.0}", c.bad);
        }
    }
    out.push_str(
        "# HELP http_request_duration_seconds Request latency.\n# TYPE http_request_duration_seconds histogram\n",
    );
    for (s, svc) in w.fleet.services.iter().enumerate() {
        for (r, reg) in w.fleet.regions.iter().enumerate() {
            let (buckets, sum) = w.histogram(s, r, t);
            let l = format!("service=\"{}\",region=\"{}\"", svc.name, reg.name);
            for (i, le) in BUCKETS.iter().enumerate() {
                // Bounds written as the Python and Java clients write them
                // ("1.0", not "1"): Prometheus 2.x keeps the spelling, so a
                // console must match bounds by value.
                let _ = writeln!(out, "http_request_duration_seconds_bucket{{{l},le=\"{le:?}\"}} {:.0}", buckets[i]);
            }
            let total = buckets[BUCKETS.len()];
            let _ = writeln!(out, "http_request_duration_seconds_bucket{{{l},le=\"+Inf\"}} {total:.0}");
            let _ = writeln!(out, "http_request_duration_seconds_sum{{{l}}} {sum:.3}");
            let _ = writeln!(out, "http_request_duration_seconds_count{{{l}}} {total:.0}");
        }
    }
    let ov = st.breakers.lock().map(|m| m.clone()).unwrap_or_default();
    crate::breakers::metrics(w, &ov, t, &mut out);
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], out).into_response()
}

/// One instance's Resilience4j actuator: its breakers.
async fn r4j_list(State(st): St, Path(pod): Path<String>) -> Response {
    let w = &st.world;
    let Some((s, r, i)) = crate::breakers::parse_pod(w, &pod) else {
        return (StatusCode::NOT_FOUND, format!("no instance {pod}")).into_response();
    };
    let ov = st.breakers.lock().map(|m| m.clone()).unwrap_or_default();
    Json(crate::breakers::actuator(w, &ov, s, r, i, st.now())).into_response()
}

/// `POST …/circuitbreakers/{name}` `{"updateState": …}` on one instance.
async fn r4j_update(
    State(st): St,
    Path((pod, name)): Path<(String, String)>,
    body: Result<Json<Value>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let w = &st.world;
    let Some((s, r, i)) = crate::breakers::parse_pod(w, &pod) else {
        return (StatusCode::NOT_FOUND, format!("no instance {pod}")).into_response();
    };
    let Ok(Json(body)) = body else { return bad_request("body must be {\"updateState\": …}".into()) };
    let op = body["updateState"].as_str().unwrap_or("");
    if let Ok(mut m) = st.requests.lock() {
        *m.entry(format!("R4J {op}")).or_insert(0) += 1;
    }
    let Ok(mut ov) = st.breakers.lock() else { return bad_request("busy".into()) };
    let (code, v) = crate::breakers::update(w, &mut ov, (s, r, i), &name, op, st.now());
    (StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST), Json(v)).into_response()
}

async fn databases_index(State(st): St) -> Json<Value> {
    Json(st.world.databases_index())
}

fn cluster_index(w: &World, name: &str) -> Result<usize, Box<Response>> {
    w.databases
        .iter()
        .position(|d| d.name == name)
        .ok_or_else(|| Box::new((StatusCode::NOT_FOUND, format!("no cluster {name}")).into_response()))
}

async fn patroni_cluster(State(st): St, Path(cluster): Path<String>) -> Response {
    match cluster_index(&st.world, &cluster) {
        Ok(c) => Json(st.world.patroni_cluster(c, st.now(), &format!("/patroni/{cluster}"))).into_response(),
        Err(r) => *r,
    }
}

async fn patroni_history(State(st): St, Path(cluster): Path<String>) -> Response {
    match cluster_index(&st.world, &cluster) {
        Ok(c) => Json(st.world.patroni_history(c, st.now())).into_response(),
        Err(r) => *r,
    }
}

/// A switchover or failover as Patroni answers it: after the switch (it
/// waits for the new leader before answering), in plain text.
async fn patroni_switch(st: Arc<SimState>, cluster: String, body: Value, switchover: bool) -> Response {
    let c = match cluster_index(&st.world, &cluster) {
        Ok(c) => c,
        Err(r) => return *r,
    };
    let leader = body["leader"].as_str().filter(|_| switchover);
    if switchover && leader.is_none() {
        return (StatusCode::BAD_REQUEST, "Switchover could be performed only from a specific leader").into_response();
    }
    let candidate = body["candidate"].as_str().or(body["member"].as_str());
    let (code, text) = st.world.patroni_switch(c, st.now(), leader, candidate);
    if code == 200 {
        // Patroni answers once the new leader holds the lock.
        let scale = st.clock.scale().max(0.01);
        let real = (crate::databases::SWITCH_SECS / scale).min(crate::databases::SWITCH_SECS);
        tokio::time::sleep(Duration::from_secs_f64(real)).await;
    }
    (StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), text).into_response()
}

/// The RDS API (AWS Query) for the clusters as Aurora global databases;
/// each action is counted (`RDS <Action>` in `/v1/stats`), so a test can
/// tell a read from a write.
async fn rds_query(State(st): St, body: String) -> Response {
    let p = crate::aurora::form(&body);
    let action = p.get("Action").cloned().unwrap_or_default();
    if let Ok(mut m) = st.requests.lock() {
        *m.entry(format!("RDS {action}")).or_insert(0) += 1;
    }
    let (code, xml) = st.world.rds_query(st.now(), &p);
    (StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), [(header::CONTENT_TYPE, "text/xml")], xml)
        .into_response()
}

async fn patroni_switchover(State(st): St, Path(cluster): Path<String>, body: Option<Json<Value>>) -> Response {
    let Some(Json(body)) = body else { return (StatusCode::BAD_REQUEST, "a JSON body is required").into_response() };
    patroni_switch(st, cluster, body, true).await
}

async fn patroni_failover(State(st): St, Path(cluster): Path<String>, body: Option<Json<Value>>) -> Response {
    let Some(Json(body)) = body else { return (StatusCode::BAD_REQUEST, "a JSON body is required").into_response() };
    patroni_switch(st, cluster, body, false).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_parse() {
        assert_eq!(parse_window("5m"), Some(300.0));
        assert_eq!(parse_window("30d"), Some(2_592_000.0));
        assert_eq!(parse_window("40d"), None);
        assert_eq!(parse_window("m"), None);
        assert_eq!(parse_window("5x"), None);
    }

    #[test]
    fn families() {
        assert_eq!(path_family("/v1/metrics"), "/v1/metrics");
        assert_eq!(path_family("/svc/a/b/health"), "/svc");
        assert_eq!(path_family("/metrics"), "/metrics");
    }
}
