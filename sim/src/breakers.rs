//! Resilience4j as a fleet runs it: every service has `PODS` instances per
//! region, each with its own circuit breaker per dependency (named after
//! the dependency, as Spring apps usually name them). The sim serves them
//! twice, as the real thing does: Micrometer's metric names on `/metrics`
//! (`resilience4j_circuitbreaker_state{application,name,region,pod,state}`,
//! `…_failure_rate`, `…_slow_call_rate`, `…_not_permitted_calls_total`) and
//! each instance's actuator (`GET /r4j/{pod}/actuator/circuitbreakers`,
//! `POST /r4j/{pod}/actuator/circuitbreakers/{name}` with
//! `{"updateState": "FORCE_OPEN" | "CLOSE" | "DISABLE"}`).
//!
//! An instance's state follows the edge's simulated state (`World::circuit`):
//! while it is OPEN, the last instance is probing (HALF_OPEN) and the rest
//! OPEN; an operator's update holds for that instance until changed (a
//! CLOSE lasts until the dependency trips it again).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use serde_json::{json, Value};

use crate::model::{CircuitState, World};

/// Instances per service per region.
pub const PODS: usize = 3;
/// Below this many calls a second per instance, Resilience4j has fewer
/// than `minimumNumberOfCalls` in its window: rates are -1.
const FEW_CALLS_RPS: f64 = 30.0;

/// Operator overrides: (pod, breaker name) → (state, scenario time set).
pub type Overrides = BTreeMap<(String, String), (&'static str, f64)>;

/// `checkout-use1-0`: service, short region, index.
pub fn pod(w: &World, s: usize, r: usize, i: usize) -> String {
    let reg = &w.fleet.regions[r].name;
    let short: String = reg
        .split('-')
        .enumerate()
        .map(|(k, p)| if k == 0 { p.to_string() } else { p.chars().take(1).collect() })
        .collect();
    format!("{}-{short}-{i}", w.fleet.services[s].name)
}

/// (service, region, index) of a pod name.
pub fn parse_pod(w: &World, name: &str) -> Option<(usize, usize, usize)> {
    for s in 0..w.fleet.services.len() {
        for r in 0..w.fleet.regions.len() {
            for i in 0..PODS {
                if pod(w, s, r, i) == name {
                    return Some((s, r, i));
                }
            }
        }
    }
    None
}

/// One instance's breaker towards dependency `d`.
pub struct Breaker {
    pub state: &'static str,
    /// Percent, or -1 with too few calls.
    pub failure_rate: f64,
    pub slow_call_rate: f64,
    pub not_permitted: f64,
}

pub fn breaker(w: &World, ov: &Overrides, s: usize, d: usize, r: usize, i: usize, t: f64) -> Breaker {
    let caller = w.inst(s, r, t);
    let dep = w.inst(d, r, t);
    let (edge, since) = w.circuit(d, r, t);
    let natural = match edge {
        CircuitState::Open if i + 1 == PODS => "HALF_OPEN",
        CircuitState::Open => "OPEN",
        CircuitState::HalfOpen => "HALF_OPEN",
        CircuitState::Closed => "CLOSED",
    };
    let name = w.fleet.services[d].name.clone();
    let state = match ov.get(&(pod(w, s, r, i), name)) {
        // A CLOSE holds until the dependency trips it again.
        Some(("CLOSED", at)) if edge != CircuitState::Closed && since > *at => natural,
        Some((st, _)) => st,
        None => natural,
    };
    let few = caller.rps / PODS as f64 <= FEW_CALLS_RPS;
    let rate = |x: f64| if few { -1.0 } else { (x * 100.0 * 1000.0).round() / 1000.0 };
    let slow = if dep.p99 > 500.0 { 0.35 } else { 0.01 };
    let blocked = matches!(state, "OPEN" | "FORCED_OPEN");
    Breaker {
        state,
        failure_rate: rate(dep.err),
        slow_call_rate: rate(slow),
        not_permitted: if blocked { (t - since.min(t)).max(0.0) * caller.rps / PODS as f64 } else { 0.0 },
    }
}

/// The Micrometer series for every instance's breakers.
pub fn metrics(w: &World, ov: &Overrides, t: f64, out: &mut String) {
    out.push_str("# HELP resilience4j_circuitbreaker_state The states of the circuit breaker\n# TYPE resilience4j_circuitbreaker_state gauge\n");
    let mut rates = String::new();
    let mut slow = String::new();
    let mut np = String::new();
    for (s, svc) in w.fleet.services.iter().enumerate() {
        for &d in &svc.depends_on {
            for (r, reg) in w.fleet.regions.iter().enumerate() {
                for i in 0..PODS {
                    let b = breaker(w, ov, s, d, r, i, t);
                    let l = format!(
                        "application=\"{}\",name=\"{}\",region=\"{}\",pod=\"{}\"",
                        svc.name,
                        w.fleet.services[d].name,
                        reg.name,
                        pod(w, s, r, i)
                    );
                    for st in ["closed", "open", "half_open", "forced_open", "disabled", "metrics_only"] {
                        let v = u8::from(b.state.eq_ignore_ascii_case(st));
                        let _ = writeln!(out, "resilience4j_circuitbreaker_state{{{l},state=\"{st}\"}} {v}");
                    }
                    let _ = writeln!(rates, "resilience4j_circuitbreaker_failure_rate{{{l}}} {}", b.failure_rate);
                    let _ = writeln!(slow, "resilience4j_circuitbreaker_slow_call_rate{{{l}}} {}", b.slow_call_rate);
                    let _ = writeln!(
                        np,
                        "resilience4j_circuitbreaker_not_permitted_calls_total{{{l},kind=\"not_permitted\"}} {:.0}",
                        b.not_permitted
                    );
                }
            }
        }
    }
    out.push_str("# TYPE resilience4j_circuitbreaker_failure_rate gauge\n");
    out.push_str(&rates);
    out.push_str("# TYPE resilience4j_circuitbreaker_slow_call_rate gauge\n");
    out.push_str(&slow);
    out.push_str("# TYPE resilience4j_circuitbreaker_not_permitted_calls_total counter\n");
    out.push_str(&np);
}

/// `GET /actuator/circuitbreakers` of one instance, as the Spring Boot
/// endpoint writes it (rates as strings with `%`, sorted by name).
pub fn actuator(w: &World, ov: &Overrides, s: usize, r: usize, i: usize, t: f64) -> Value {
    let mut m = serde_json::Map::new();
    let mut deps: Vec<usize> = w.fleet.services[s].depends_on.clone();
    deps.sort_by_key(|d| w.fleet.services[*d].name.clone());
    for d in deps {
        let b = breaker(w, ov, s, d, r, i, t);
        m.insert(
            w.fleet.services[d].name.clone(),
            json!({
                "failureRate": format!("{:.1}%", b.failure_rate),
                "slowCallRate": format!("{:.1}%", b.slow_call_rate),
                "failureRateThreshold": "50.0%",
                "slowCallRateThreshold": "100.0%",
                "bufferedCalls": if b.failure_rate < 0.0 { 3 } else { 100 },
                "failedCalls": (b.failure_rate.max(0.0)).round() as u64,
                "slowCalls": 0,
                "slowFailedCalls": 0,
                "notPermittedCalls": b.not_permitted.round() as u64,
                "state": b.state,
            }),
        );
    }
    json!({ "circuitBreakers": m })
}

/// An `updateState` on one instance's breaker: (HTTP status, body).
pub fn update(w: &World, ov: &mut Overrides, at: (usize, usize, usize), name: &str, op: &str, t: f64) -> (u16, Value) {
    let (s, r, i) = at;
    if !w.fleet.services[s].depends_on.iter().any(|d| w.fleet.services[*d].name == name) {
        return (404, json!({"error": format!("no circuit breaker {name}")}));
    }
    let state = match op {
        "FORCE_OPEN" => "FORCED_OPEN",
        "CLOSE" => "CLOSED",
        "DISABLE" => "DISABLED",
        other => return (400, json!({"error": format!("updateState {other}: FORCE_OPEN, CLOSE or DISABLE")})),
    };
    ov.insert((pod(w, s, r, i), name.to_string()), (state, t));
    (
        200,
        json!({
            "circuitBreakerName": name,
            "currentState": state,
            "message": format!("{name} state has been changed successfully"),
        }),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scenario;

    #[test]
    fn instances_follow_the_edge_and_an_update_holds() {
        let w = World::new(7, Scenario::DependencyStorm, 4, 8, 1.7e9);
        let mut ov = Overrides::new();
        let s = w.fleet.service_index("checkout").unwrap_or(0);
        let d = w.fleet.services[s].depends_on[0];
        let name = w.fleet.services[d].name.clone();
        assert_eq!(parse_pod(&w, &pod(&w, s, 1, 2)), Some((s, 1, 2)));
        assert_eq!(breaker(&w, &ov, s, d, 0, 0, 5.0).state, "CLOSED");
        assert_eq!(update(&w, &mut ov, (s, 0, 0), &name, "FORCE_OPEN", 5.0).0, 200);
        assert_eq!(breaker(&w, &ov, s, d, 0, 0, 6.0).state, "FORCED_OPEN");
        assert_eq!(breaker(&w, &ov, s, d, 0, 1, 6.0).state, "CLOSED", "one instance only");
        assert_eq!(update(&w, &mut ov, (s, 0, 0), &name, "EXPLODE", 5.0).0, 400);
        assert_eq!(update(&w, &mut ov, (s, 0, 0), "nope", "CLOSE", 5.0).0, 404);
        let a = actuator(&w, &ov, s, 0, 0, 6.0);
        assert_eq!(a["circuitBreakers"][&name]["state"], "FORCED_OPEN");
        assert!(a["circuitBreakers"][&name]["failureRate"].as_str().is_some_and(|r| r.ends_with('%')));
        let mut m = String::new();
        metrics(&w, &ov, 6.0, &mut m);
        assert!(m.contains(&format!(
            "name=\"{name}\",region=\"us-east-1\",pod=\"checkout-use1-0\",state=\"forced_open\"}} 1"
        )));
    }
}
