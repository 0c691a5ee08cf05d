//! Mutating control-plane API: `POST /v1/actions` with an `Idempotency-Key`,
//! `GET /v1/actions/{id}`, lookup by key, and execution counts per key so
//! tests can prove exactly-once.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::dynamic::{drained, restored, Manual, DRAIN_STEPS, DRAIN_STEP_SECS};
use crate::model::World;
use crate::scenario::Phase;
use crate::server::{flag_defaults, SimState};

/// What an operator asks for.
#[derive(Debug, Clone, Deserialize, serde::Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ActionRequest {
    /// failover, restore, rollback, promote, promoteFull, pause, resume, flagOn, flagOff
    pub kind: String,
    #[serde(default)]
    pub region: Option<String>,
    /// Deployment id, `service/region`.
    #[serde(default)]
    pub deployment: Option<String>,
    #[serde(default)]
    pub flag: Option<String>,
    #[serde(default)]
    pub environment: Option<String>,
    /// `undo`: the revision whose template comes back.
    #[serde(default)]
    pub revision: Option<u64>,
}

#[derive(Debug, Clone)]
pub struct ActionRecord {
    pub id: String,
    pub key: String,
    pub request: ActionRequest,
    pub operator: String,
    /// Scenario time the action was accepted.
    pub at: f64,
    /// Simulated seconds until it has fully taken effect.
    pub duration: f64,
    pub message: String,
    /// Set by the `fail-after-accept` fault: accepted, then failed, with this
    /// message (the effect was never applied).
    pub failed: Option<String>,
}

/// Accepted actions and how many times each idempotency key executed.
#[derive(Debug, Default)]
pub struct Ledger {
    pub records: Vec<ActionRecord>,
    pub executions: BTreeMap<String, u32>,
}

pub type SharedLedger = Arc<Mutex<Ledger>>;

fn err(code: StatusCode, msg: impl Into<String>) -> Response {
    (code, Json(json!({"error": msg.into()}))).into_response()
}

/// Why an action was not applied: the status to answer and the reason.
type Refusal = (StatusCode, String);

fn refusal(code: StatusCode, msg: impl Into<String>) -> Refusal {
    (code, msg.into())
}

fn record_json(w: &World, r: &ActionRecord, now: f64) -> Value {
    let done = now >= r.at + r.duration;
    let (status, message) = match &r.failed {
        Some(why) => ("failed", why.as_str()),
        None => (if done { "succeeded" } else { "running" }, r.message.as_str()),
    };
    json!({
        "id": r.id,
        "idempotencyKey": r.key,
        "request": r.request,
        "operator": r.operator,
        "status": status,
        "message": message,
        "acceptedAt": crate::server::iso(w, r.at),
        "completesAt": crate::server::iso(w, r.at + r.duration),
    })
}

fn deployment_index(w: &World, id: &str) -> Option<usize> {
    let (svc, region) = id.split_once('/')?;
    w.script
        .deployments
        .iter()
        .position(|d| w.fleet.services[d.service].name == svc && w.fleet.regions[d.region].name == region)
}

/// Check and apply one action at scenario time `t`. Returns (message,
/// duration) or an HTTP error for refusals and bad requests.
fn apply(st: &SimState, req: &ActionRequest, operator: &str, t: f64) -> Result<(String, f64), Refusal> {
    let w = &st.world;
    let base = &w.base_weights;
    match req.kind.as_str() {
        "failover" | "restore" => {
            let name = req.region.as_deref().ok_or_else(|| refusal(StatusCode::BAD_REQUEST, "region is required"))?;
            let r = w
                .fleet
                .region_index(name)
                .ok_or_else(|| refusal(StatusCode::NOT_FOUND, format!("unknown region '{name}'")))?;
            let mut dy = w.dyn_write();
            let target = dy.final_weights(base).to_vec();
            let next = if req.kind == "failover" {
                if target[r] <= 0.0 {
                    return Err(refusal(StatusCode::CONFLICT, format!("{name} is already drained")));
                }
                drained(&target, r).ok_or_else(|| {
                    refusal(StatusCode::CONFLICT, format!("refused: {name} is the last region serving traffic"))
                })?
            } else {
                if (target[r] - base[r]).abs() < 1e-9 {
                    return Err(refusal(StatusCode::CONFLICT, format!("{name} is not drained")));
                }
                restored(&target, base, r)
            };
            dy.ramp(base, t, next);
            let verb = if req.kind == "failover" { "draining" } else { "restoring" };
            Ok((format!("{verb} {name} in {DRAIN_STEPS} steps"), DRAIN_STEPS as f64 * DRAIN_STEP_SECS))
        }
        "rollback" | "promote" | "promoteFull" | "pause" | "resume" | "retry" | "undo" => {
            let id =
                req.deployment.as_deref().ok_or_else(|| refusal(StatusCode::BAD_REQUEST, "deployment is required"))?;
            // The blue-green rollout: promote switches, rollback switches back.
            if let Some(v) = crate::bluegreen::view(st, t).filter(|v| format!("{}/{}", v.service, v.region) == id) {
                let _ = v;
                let code = |c: u16| StatusCode::from_u16(c).unwrap_or(StatusCode::CONFLICT);
                return crate::bluegreen::act(st, &req.kind, t).map(|m| (m, 1.0)).map_err(|(c, m)| refusal(code(c), m));
            }
            let d = deployment_index(w, id)
                .ok_or_else(|| refusal(StatusCode::NOT_FOUND, format!("unknown deployment '{id}'")))?;
            let cur = w.deploy_state(d, t);
            let dep = &w.script.deployments[d];
            let n = dep.steps.len();
            let phase = cur.phase;
            let refuse = |why: &str| refusal(StatusCode::CONFLICT, format!("{} refused for {id}: {why}", req.kind));
            let mut m = Manual {
                phase,
                step: cur.step_index,
                since: t,
                stable_rev: cur.stable_rev,
                canary_rev: cur.canary_rev,
                advance_every: None,
                message: String::new(),
            };
            match req.kind.as_str() {
                "rollback" => {
                    if !matches!(phase, Phase::Progressing | Phase::Paused | Phase::Degraded) {
                        return Err(refuse(&format!("no canary in flight (phase {})", phase.name())));
                    }
                    m.phase = Phase::Aborted;
                    m.message = format!("RolloutAborted: rolled back by {operator}");
                }
                "promote" | "promoteFull" => {
                    if !matches!(phase, Phase::Progressing | Phase::Paused) {
                        return Err(refuse(&format!("not promotable in phase {}", phase.name())));
                    }
                    if req.kind == "promoteFull" || cur.step_index + 1 >= n {
                        m.phase = Phase::Healthy;
                        m.stable_rev = cur.canary_rev.unwrap_or(cur.stable_rev);
                        m.canary_rev = None;
                        m.message = format!("promoted to 100% by {operator}");
                    } else {
                        m.step = cur.step_index + 1;
                        m.phase = Phase::Paused;
                        m.message = format!("promoted to step {} by {operator}; paused", m.step + 1);
                    }
                }
                "pause" => {
                    if phase != Phase::Progressing {
                        return Err(refuse(&format!("only a progressing canary can pause (phase {})", phase.name())));
                    }
                    m.phase = Phase::Paused;
                    m.message = format!("paused by {operator}");
                }
                "undo" => {
                    // Argo's undo puts an earlier revision's template back:
                    // the stable one ends the canary at once (a fast
                    // rollback); an older one rolls out as a new canary.
                    let rev = req.revision.ok_or_else(|| refusal(StatusCode::BAD_REQUEST, "revision is required"))?;
                    let current = cur.canary_rev.unwrap_or(cur.stable_rev);
                    if rev == current {
                        return Err(refuse(&format!("revision {rev} is already the template")));
                    }
                    if !crate::kube::revisions(&cur).contains(&rev) {
                        return Err(refusal(StatusCode::NOT_FOUND, format!("{id} has no revision {rev}")));
                    }
                    if rev == cur.stable_rev {
                        m.phase = Phase::Healthy;
                        m.canary_rev = None;
                        m.message = format!("undone to revision {rev} by {operator}: the canary is gone");
                    } else {
                        m.phase = Phase::Progressing;
                        m.step = 0;
                        m.canary_rev = Some(rev);
                        m.advance_every = Some(120.0);
                        m.message = format!("undone to revision {rev} by {operator}: rolling out from step 1");
                    }
                }
                "retry" => {
                    // Argo's retry: the aborted revision starts again at the first step.
                    if phase != Phase::Aborted || cur.canary_rev.is_none() {
                        return Err(refuse(&format!("only an aborted canary can be retried (phase {})", phase.name())));
                    }
                    m.phase = Phase::Progressing;
                    m.step = 0;
                    m.advance_every = Some(120.0);
                    m.message = format!("retried by {operator}");
                }
                _ => {
                    if phase != Phase::Paused {
                        return Err(refuse(&format!("only a paused canary can resume (phase {})", phase.name())));
                    }
                    m.phase = Phase::Progressing;
                    m.advance_every = Some(120.0);
                    m.message = format!("resumed by {operator}");
                }
            }
            let msg = m.message.clone();
            w.dyn_write().manual.entry(d).or_default().push(m);
            Ok((msg, 2.0))
        }
        "flagOn" | "flagOff" => {
            let name = req.flag.as_deref().ok_or_else(|| refusal(StatusCode::BAD_REQUEST, "flag is required"))?;
            let env = req
                .environment
                .as_deref()
                .ok_or_else(|| refusal(StatusCode::BAD_REQUEST, "environment is required"))?;
            let Some(default) = flag_defaults().into_iter().find(|f| f.0 == name && f.1 == env).map(|f| f.2) else {
                return Err(refusal(StatusCode::NOT_FOUND, format!("unknown flag '{name}' in '{env}'")));
            };
            let on = req.kind == "flagOn";
            let mut dy = w.dyn_write();
            let current = dy.flag_at(name, env, t).unwrap_or(default);
            if current == on {
                return Err(refusal(
                    StatusCode::CONFLICT,
                    format!("{name} is already {} in {env}", if on { "on" } else { "off" }),
                ));
            }
            dy.flags.entry((name.to_string(), env.to_string())).or_default().push((t, on));
            Ok((format!("{name} turned {} in {env} by {operator}", if on { "on" } else { "off" }), 1.0))
        }
        other => Err(refusal(StatusCode::BAD_REQUEST, format!("unknown action kind '{other}'"))),
    }
}

/// Submit an action from inside the simulator (the Kubernetes API's
/// patches): applied once per key, like `POST /v1/actions`.
pub(crate) fn submit(st: &SimState, req: ActionRequest, operator: &str, key: &str) -> Result<String, Refusal> {
    let t = st.now();
    let mut ledger = st.ledger.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(existing) = ledger.records.iter().find(|r| r.key == key) {
        return Ok(existing.message.clone());
    }
    let (message, duration) = apply(st, &req, operator, t)?;
    let id = format!("act-{}", ledger.records.len() + 1);
    let rec = ActionRecord {
        id,
        key: key.to_string(),
        request: req,
        operator: operator.to_string(),
        at: t,
        duration,
        message: message.clone(),
        failed: None,
    };
    *ledger.executions.entry(key.to_string()).or_insert(0) += 1;
    ledger.records.push(rec);
    Ok(message)
}

pub async fn post_action(
    State(st): State<Arc<SimState>>,
    fault: Option<axum::Extension<crate::server::Fault>>,
    headers: HeaderMap,
    body: Result<Json<ActionRequest>, axum::extract::rejection::JsonRejection>,
) -> Response {
    let Some(key) = headers.get("idempotency-key").and_then(|v| v.to_str().ok()).filter(|k| !k.is_empty()) else {
        return err(StatusCode::BAD_REQUEST, "Idempotency-Key header is required");
    };
    let key = key.to_string();
    let operator = headers.get("x-operator").and_then(|v| v.to_str().ok()).unwrap_or("unknown").to_string();
    let Ok(Json(req)) = body else {
        return err(StatusCode::BAD_REQUEST, "body must be an action request (see docs/control-plane-api.md)");
    };
    let t = st.now();
    // One lock over check-and-apply, so two requests with the same key
    // cannot both execute.
    let mut ledger = st.ledger.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(existing) = ledger.records.iter().find(|r| r.key == key) {
        if existing.request != req {
            return err(StatusCode::UNPROCESSABLE_ENTITY, "Idempotency-Key reused with a different request");
        }
        return (StatusCode::OK, Json(record_json(&st.world, existing, t))).into_response();
    }
    // `fail-after-accept`: the request is accepted (202) and counted as an
    // execution, but the backend then reports it failed and applies nothing.
    let fails = fault.is_some_and(|f| f.kind == "fail-after-accept");
    let (message, duration, failed) = if fails {
        let why = "injected fault: failed after acceptance (nothing was changed)".to_string();
        (why.clone(), 0.0, Some(why))
    } else {
        match apply(&st, &req, &operator, t) {
            Ok((m, d)) => (m, d, None),
            Err((code, msg)) => return err(code, msg),
        }
    };
    let id = format!("act-{}", ledger.records.len() + 1);
    let rec = ActionRecord { id, key: key.clone(), request: req, operator, at: t, duration, message, failed };
    *ledger.executions.entry(key).or_insert(0) += 1;
    let body = record_json(&st.world, &rec, t);
    ledger.records.push(rec);
    (StatusCode::ACCEPTED, Json(body)).into_response()
}

pub async fn get_action(State(st): State<Arc<SimState>>, Path(id): Path<String>) -> Response {
    let ledger = st.ledger.lock().unwrap_or_else(|e| e.into_inner());
    match ledger.records.iter().find(|r| r.id == id) {
        Some(r) => Json(record_json(&st.world, r, st.now())).into_response(),
        None => err(StatusCode::NOT_FOUND, format!("no action '{id}'")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ListQuery {
    idempotency_key: Option<String>,
}

pub async fn list_actions(State(st): State<Arc<SimState>>, Query(q): Query<ListQuery>) -> Response {
    let ledger = st.ledger.lock().unwrap_or_else(|e| e.into_inner());
    let t = st.now();
    let list: Vec<Value> = ledger
        .records
        .iter()
        .filter(|r| q.idempotency_key.as_ref().is_none_or(|k| *k == r.key))
        .map(|r| record_json(&st.world, r, t))
        .collect();
    Json(json!({"actions": list})).into_response()
}

pub async fn executions(State(st): State<Arc<SimState>>) -> Response {
    let ledger = st.ledger.lock().unwrap_or_else(|e| e.into_inner());
    Json(json!({"executions": ledger.executions})).into_response()
}
