//! A CloudWatch `GetMetricData` endpoint on the wire protocol the current
//! AWS SDK speaks (Smithy RPC v2 CBOR), computed from the simulated world:
//! `POST /service/GraniteServiceVersion20100801/operation/GetMetricData`.
//!
//! Metrics (region = the SigV4 credential scope's region):
//! - `AWS/ApplicationELB`: `TargetResponseTime` (seconds; pNN, PR(:x),
//!   Average), `RequestCount` and `HTTPCode_Target_5XX_Count` (Sum); the
//!   service is the middle of `LoadBalancer=app/<service>/<id>`.
//! - `AWS/ApiGateway`: `Latency` (ms), `Count`, `5XXError`; `ApiName=<service>`.
//! - `Warroom/Sim`: `Latency` (ms), `Requests`, `Errors`; `Service=<service>`.
//!
//! Faults (POST /v1/faults with path `/service`): `cw-throttle` (400
//! Throttling), `cw-expired` (403 ExpiredToken), `cw-result-status` (a
//! result's StatusCode = `code` for queries about `target`), `cw-page-size`
//! (`value` datapoints per page, to exercise NextToken).

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Extension;
use ciborium::Value;

use crate::server::{Fault, SimState};

const MAX_QUERIES: usize = 500;
const MAX_DATAPOINTS: usize = 100_800;

fn text(s: &str) -> Value {
    Value::Text(s.to_string())
}

fn cbor(status: StatusCode, body: Value, query_error: Option<&str>) -> Response {
    let mut out = Vec::new();
    if ciborium::into_writer(&body, &mut out).is_err() {
        return (StatusCode::INTERNAL_SERVER_ERROR, "cbor encoding failed").into_response();
    }
    let mut resp = (status, out).into_response();
    let h = resp.headers_mut();
    h.insert("content-type", axum::http::HeaderValue::from_static("application/cbor"));
    h.insert("smithy-protocol", axum::http::HeaderValue::from_static("rpc-v2-cbor"));
    if let Some(q) = query_error.and_then(|q| axum::http::HeaderValue::from_str(q).ok()) {
        h.insert("x-amzn-query-error", q);
    }
    resp
}

/// An error the way CloudWatch sends it over RPC v2 CBOR (query-compatible).
fn error(status: StatusCode, code: &str, sender: bool, message: &str) -> Response {
    let body = Value::Map(vec![
        (text("__type"), text(&format!("com.amazonaws.cloudwatch#{code}"))),
        (text("Message"), text(message)),
    ]);
    let who = if sender { "Sender" } else { "Receiver" };
    cbor(status, body, Some(&format!("{code};{who}")))
}

fn get<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    v.as_map()?.iter().find(|(k, _)| k.as_text() == Some(key)).map(|(_, v)| v)
}

fn get_text(v: &Value, key: &str) -> Option<String> {
    get(v, key)?.as_text().map(str::to_string)
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Integer(i) => i128::from(*i).to_string().parse().ok(),
        Value::Float(f) => Some(*f),
        Value::Tag(1, inner) => number(inner),
        _ => None,
    }
}

/// The region of the SigV4 credential scope: `Credential=AKID/DATE/REGION/monitoring/aws4_request`.
fn signed_region(headers: &HeaderMap) -> Option<String> {
    let auth = headers.get("authorization")?.to_str().ok()?;
    let cred = auth.split("Credential=").nth(1)?;
    cred.split('/').nth(2).map(str::to_string)
}

/// One query, understood.
struct Query {
    id: String,
    label: String,
    service: Option<String>,
    metric: String,
    namespace: String,
    stat: String,
    period: f64,
    /// `AWS/RDS`: the `DBInstanceIdentifier` dimension.
    instance: Option<String>,
}

fn parse_query(q: &Value) -> Result<Query, String> {
    let id = get_text(q, "Id").ok_or("a MetricDataQuery needs an Id")?;
    let ms = get(q, "MetricStat").ok_or_else(|| format!("query {id}: only MetricStat queries are supported"))?;
    let metric = get(ms, "Metric").ok_or_else(|| format!("query {id}: MetricStat.Metric is required"))?;
    let namespace = get_text(metric, "Namespace").unwrap_or_default();
    let name = get_text(metric, "MetricName").unwrap_or_default();
    let dims: Vec<(String, String)> = get(metric, "Dimensions")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|d| Some((get_text(d, "Name")?, get_text(d, "Value")?))).collect())
        .unwrap_or_default();
    let dim = |n: &str| dims.iter().find(|(k, _)| k == n).map(|(_, v)| v.clone());
    let service = match namespace.as_str() {
        "AWS/ApplicationELB" => dim("LoadBalancer").and_then(|lb| lb.split('/').nth(1).map(str::to_string)),
        "AWS/ApiGateway" => dim("ApiName"),
        _ => dim("Service"),
    };
    let period = get(ms, "Period").and_then(number).unwrap_or(60.0);
    if period < 1.0 || (period >= 60.0 && period % 60.0 != 0.0) {
        return Err(format!("query {id}: Period must be 1, 5, 10, 30 or a multiple of 60"));
    }
    Ok(Query {
        label: get_text(q, "Label").unwrap_or_else(|| name.clone()),
        id,
        service,
        metric: name,
        namespace,
        stat: get_text(ms, "Stat").unwrap_or_default(),
        period,
        instance: dim("DBInstanceIdentifier").or_else(|| dim("DBClusterIdentifier")),
    })
}

/// The inverse of the standard normal CDF (Acklam's rational approximation).
fn normal_quantile(p: f64) -> f64 {
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    const A: [f64; 6] = [
        -39.696_830_286_653_76,
        220.946_098_424_520_5,
        -275.928_510_446_968_7,
        138.357_751_867_269,
        -30.664_798_066_147_16,
        2.506_628_277_459_239,
    ];
    const B: [f64; 5] = [
        -54.476_098_798_224_06,
        161.585_836_858_040_9,
        -155.698_979_859_886_6,
        66.801_311_887_719_72,
        -13.280_681_552_885_72,
    ];
    const C: [f64; 6] = [
        -0.007_784_894_002_430_293,
        -0.322_396_458_041_136_5,
        -2.400_758_277_161_838,
        -2.549_732_539_343_734,
        4.374_664_141_464_968,
        2.938_163_982_698_783,
    ];
    const D: [f64; 4] =
        [0.007_784_695_709_041_462, 0.322_467_129_070_039_8, 2.445_134_137_142_996, 3.754_408_661_907_416];
    let tail = |q: f64| {
        (((((C[0] * q + C[1]) * q + C[2]) * q + C[3]) * q + C[4]) * q + C[5])
            / ((((D[0] * q + D[1]) * q + D[2]) * q + D[3]) * q + 1.0)
    };
    if p < 0.02425 {
        tail((-2.0 * p.ln()).sqrt())
    } else if p > 1.0 - 0.02425 {
        -tail((-2.0 * (1.0 - p).ln()).sqrt())
    } else {
        let q = p - 0.5;
        let r = q * q;
        (((((A[0] * r + A[1]) * r + A[2]) * r + A[3]) * r + A[4]) * r + A[5]) * q
            / (((((B[0] * r + B[1]) * r + B[2]) * r + B[3]) * r + B[4]) * r + 1.0)
    }
}

/// The value of one statistic of one metric over [a, b) (scenario seconds),
/// or None where CloudWatch would have no datapoint.
fn value(st: &SimState, q: &Query, s: usize, r: usize, a: f64, b: f64) -> Option<f64> {
    let w = &st.world;
    let c = w.counts(s, r, a, b);
    let seconds = matches!(q.namespace.as_str(), "AWS/ApplicationELB");
    let scale = if seconds { 0.001 } else { 1.0 };
    match q.metric.as_str() {
        "RequestCount" | "Count" | "Requests" => Some(c.total),
        "HTTPCode_Target_5XX_Count" | "5XXError" | "Errors" => Some(c.bad),
        "TargetResponseTime" | "Latency" => {
            if c.total <= 0.0 {
                return None;
            }
            let (median, sigma) = w.latency_shape(s, r, (a + b) / 2.0);
            let stat = q.stat.as_str();
            if let Some(p) = stat.strip_prefix('p').and_then(|x| x.parse::<f64>().ok()) {
                return Some(median * (sigma * normal_quantile(p / 100.0)).exp() * scale);
            }
            if let Some(x) =
                stat.strip_prefix("PR(:").and_then(|x| x.strip_suffix(')')).and_then(|x| x.parse::<f64>().ok())
            {
                // Percent of requests at or under x (in the metric's unit).
                return Some(100.0 * crate::model::lognormal_cdf(x / scale, median, sigma));
            }
            match stat {
                "Average" => Some(median * (sigma * sigma / 2.0).exp() * scale),
                "SampleCount" => Some(c.total),
                _ => None,
            }
        }
        _ => None,
    }
}

pub async fn get_metric_data(
    State(st): State<Arc<SimState>>,
    fault: Option<Extension<Fault>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if headers.get("smithy-protocol").and_then(|v| v.to_str().ok()) != Some("rpc-v2-cbor") {
        return error(StatusCode::BAD_REQUEST, "InvalidAction", true, "expected smithy-protocol: rpc-v2-cbor");
    }
    let Some(region) = signed_region(&headers) else {
        return error(
            StatusCode::FORBIDDEN,
            "MissingAuthenticationToken",
            true,
            "Request is missing Authentication Token",
        );
    };
    let fault = fault.map(|Extension(f)| f).filter(|f| f.region.as_deref().is_none_or(|r| r == region));
    match fault.as_ref().map(|f| f.kind.as_str()) {
        Some("cw-throttle") => return error(StatusCode::BAD_REQUEST, "Throttling", true, "Rate exceeded"),
        Some("cw-expired") => {
            return error(
                StatusCode::FORBIDDEN,
                "ExpiredToken",
                true,
                "The security token included in the request is expired",
            )
        }
        _ => {}
    }
    let req: Value = match ciborium::from_reader(body.as_ref()) {
        Ok(v) => v,
        Err(e) => return error(StatusCode::BAD_REQUEST, "SerializationException", true, &format!("bad CBOR: {e}")),
    };
    let queries = get(&req, "MetricDataQueries").and_then(Value::as_array).cloned().unwrap_or_default();
    if queries.is_empty() || queries.len() > MAX_QUERIES {
        let m = format!("The collection MetricDataQueries must have between 1 and {MAX_QUERIES} items");
        return error(StatusCode::BAD_REQUEST, "InvalidParameterValue", true, &m);
    }
    let (Some(start), Some(end)) = (get(&req, "StartTime").and_then(number), get(&req, "EndTime").and_then(number))
    else {
        return error(StatusCode::BAD_REQUEST, "MissingParameter", true, "StartTime and EndTime are required");
    };
    let parsed: Result<Vec<Query>, String> = queries.iter().map(parse_query).collect();
    let parsed = match parsed {
        Ok(p) => p,
        Err(m) => return error(StatusCode::BAD_REQUEST, "InvalidParameterValue", true, &m),
    };
    let page = fault
        .as_ref()
        .filter(|f| f.kind == "cw-page-size")
        .and_then(|f| f.value)
        .map(|v| v.max(1) as usize)
        .unwrap_or(MAX_DATAPOINTS);
    // NextToken: how many datapoints earlier pages already returned.
    let skip: usize = get_text(&req, "NextToken").and_then(|t| t.strip_prefix("dp-")?.parse().ok()).unwrap_or(0);
    let ascending = get_text(&req, "ScanBy").as_deref() == Some("TimestampAscending");
    let w = &st.world;
    let now_t = st.now();
    let r = w.fleet.region_index(&region);
    let mut results = Vec::new();
    let mut seen = 0usize;
    let mut more = false;
    for q in &parsed {
        let status_fault = fault
            .as_ref()
            .filter(|f| {
                f.kind == "cw-result-status" && f.target.as_deref().is_none_or(|t| Some(t) == q.service.as_deref())
            })
            .and_then(|f| f.code.clone());
        let mut times = Vec::new();
        let mut values = Vec::new();
        // What a bucket's value is: a service series in the signed region,
        // or an RDS instance's replica lag (the sim's database members).
        let service = match (r, q.service.as_deref().and_then(|n| w.fleet.service_index(n))) {
            (Some(r), Some(s)) => Some((s, r)),
            _ => None,
        };
        let member = (q.namespace == "AWS/RDS").then(|| q.instance.as_deref().and_then(|i| w.db_member(i))).flatten();
        let value_of = |a: f64, b: f64| match (service, member) {
            (Some((s, r)), _) => value(&st, q, s, r, a, b),
            // Per instance (a regional cluster's readers) or per member
            // cluster (an Aurora global database's secondaries).
            (None, Some((c, m))) => matches!(
                q.metric.as_str(),
                "AuroraReplicaLag" | "AuroraGlobalDBRPOLag" | "AuroraGlobalDBReplicationLag"
            )
            .then(|| w.db_lag_ms(c, m, b))
            .flatten(),
            _ => None,
        };
        if (service.is_some() || member.is_some()) && matches!(status_fault.as_deref(), None | Some("PartialData")) {
            let mut ts = (start / q.period).floor() * q.period;
            let mut buckets = Vec::new();
            while ts < end {
                let a = ts - w.start_unix;
                if a > now_t {
                    break;
                }
                buckets.push((ts, a, (a + q.period).min(now_t)));
                ts += q.period;
            }
            if !ascending {
                buckets.reverse();
            }
            for (ts, a, b) in buckets {
                if b <= a {
                    continue;
                }
                let Some(v) = value_of(a, b) else { continue };
                seen += 1;
                if seen <= skip {
                    continue;
                }
                if seen > skip + page {
                    more = true;
                    break;
                }
                times.push(Value::Tag(1, Box::new(Value::Float(ts))));
                values.push(Value::Float(v));
            }
        }
        let status = match (&status_fault, more) {
            (Some(code), _) => code.clone(),
            (None, true) => "PartialData".to_string(),
            (None, false) => "Complete".to_string(),
        };
        let messages = match status_fault.as_deref() {
            Some("Forbidden") => vec![Value::Map(vec![
                (text("Code"), text("Forbidden")),
                (text("Value"), text("not authorized to read this metric")),
            ])],
            Some("InternalError") => vec![Value::Map(vec![
                (text("Code"), text("InternalError")),
                (text("Value"), text("internal error computing this metric")),
            ])],
            _ => vec![],
        };
        if status_fault.as_deref().is_some_and(|c| c != "PartialData") {
            times.clear();
            values.clear();
        }
        results.push(Value::Map(vec![
            (text("Id"), text(&q.id)),
            (text("Label"), text(&q.label)),
            (text("Timestamps"), Value::Array(times)),
            (text("Values"), Value::Array(values)),
            (text("StatusCode"), text(&status)),
            (text("Messages"), Value::Array(messages)),
        ]));
    }
    let mut body = vec![(text("MetricDataResults"), Value::Array(results)), (text("Messages"), Value::Array(vec![]))];
    if more {
        body.push((text("NextToken"), text(&format!("dp-{}", skip + page))));
    }
    st.count_cloudwatch(parsed.len());
    cbor(StatusCode::OK, Value::Map(body), None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normal_quantiles() {
        assert!((normal_quantile(0.5)).abs() < 1e-6);
        assert!((normal_quantile(0.95) - 1.644_854).abs() < 1e-4);
        assert!((normal_quantile(0.99) - 2.326_348).abs() < 1e-4);
        assert!((normal_quantile(0.001) + 3.090_232).abs() < 1e-4);
    }
}
