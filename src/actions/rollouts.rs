//! Argo Rollouts actions as `kubectl argo rollouts` does them, as JSON
//! merge patches: abort `{"status":{"abort":true}}` and promote-full
//! `{"status":{"promoteFull":true}}` on the `status` subresource; pause
//! `{"spec":{"paused":true}}`; promote / resume clear the pause
//! (`{"status":{"pauseConditions":null}}` on status, `{"spec":{"paused":false}}`
//! when the spec holds it); retry `{"status":{"abort":false}}` starts an
//! aborted canary again.
//!
//! Kubernetes has no idempotency key either: each send reads the Rollout
//! first ("already in effect" sends nothing), and an answer that never
//! came is settled by reading the Rollout. The patches carry no
//! `resourceVersion` precondition, as the plugin's do: each sets a value
//! (abort, paused, promoteFull, no pause conditions), so applying one twice
//! changes nothing, while a precondition would fail against a controller
//! that writes the status every few seconds. A `409` is still reported as
//! "nothing applied". Promote acts on a pause, as Argo's does: a Rollout that is
//! not paused has nothing to promote (promote full skips the remaining
//! steps).

use std::collections::BTreeMap;
use std::sync::Arc;

use serde_json::{json, Value};

use super::executor::Intent;
use super::provider::{ActionProvider, Sent};
use crate::model::ActionStatus;
use crate::sources::rollouts::{normalise, rollouts_path, RegionWatch};
use crate::viewer::BoxFuture;

pub struct RolloutActions {
    /// Region → its cluster.
    pub regions: BTreeMap<String, Arc<RegionWatch>>,
    /// The step each promote found its Rollout paused at, by idempotency
    /// key: a promote has landed once the Rollout is past that step (it may
    /// pause again at the next one), so a lost answer is never promoted twice.
    pub seen: std::sync::Mutex<BTreeMap<String, u64>>,
}

impl RolloutActions {
    pub fn new(regions: BTreeMap<String, Arc<RegionWatch>>) -> RolloutActions {
        RolloutActions { regions, seen: Default::default() }
    }
}

/// What a request wants of a Rollout.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Op {
    Abort,
    PromoteFull,
    Pause,
    Unpause,
    Retry,
}

fn op_of(request: &Value) -> Option<Op> {
    match request["kind"].as_str()? {
        "rollback" => Some(Op::Abort),
        "promoteFull" => Some(Op::PromoteFull),
        "pause" => Some(Op::Pause),
        "promote" | "resume" => Some(Op::Unpause),
        "retry" => Some(Op::Retry),
        _ => None,
    }
}

fn paused(r: &Value) -> bool {
    r["spec"]["paused"] == Value::Bool(true) || r["status"]["pauseConditions"].as_array().is_some_and(|a| !a.is_empty())
}

/// Whether the Rollout already shows what `op` asks for; an unpause that
/// found the Rollout paused at step `from` has landed once it is past it.
fn in_effect(op: Op, r: &Value, from: Option<u64>) -> bool {
    let st = &r["status"];
    match op {
        Op::Abort => st["abort"] == Value::Bool(true),
        Op::PromoteFull => st["promoteFull"] == Value::Bool(true) || st["phase"] == "Healthy",
        Op::Pause => r["spec"]["paused"] == Value::Bool(true),
        Op::Unpause => {
            let step = st["currentStepIndex"].as_u64().unwrap_or(0);
            !paused(r) || from.is_some_and(|f| step > f) || st["phase"] == "Healthy"
        }
        Op::Retry => st["abort"] != Value::Bool(true),
    }
}

impl RolloutActions {
    /// (region watch, Rollout name) of a request's deployment id.
    fn target(&self, request: &Value) -> Result<(Arc<RegionWatch>, String), String> {
        let id = request["deployment"].as_str().ok_or("the request names no deployment")?;
        let (service, region) = id.rsplit_once('/').ok_or_else(|| format!("{id} is not SERVICE/REGION"))?;
        let w = self.regions.get(region).ok_or_else(|| format!("no Kubernetes context for region {region}"))?;
        Ok((w.clone(), service.to_string()))
    }

    async fn read(&self, w: &RegionWatch, name: &str) -> Result<Value, String> {
        let path = format!("{}/{}", rollouts_path(&w.ctx.namespace), crate::sources::unleash::seg(name));
        let r = w
            .ctx
            .request(w.client(), reqwest::Method::GET, &path)
            .timeout(std::time::Duration::from_secs(10))
            .send()
            .await
            .map_err(|e| crate::sources::redact(&e.to_string()))?;
        let code = r.status().as_u16();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        match code {
            200 => Ok(v),
            404 => Err(format!("rollout {name} is not in {} ({})", w.ctx.namespace, w.ctx.name)),
            _ => Err(format!("HTTP {code}: {}", v["message"].as_str().unwrap_or(""))),
        }
    }

    async fn send_inner(&self, intent: &Intent) -> Sent {
        let request = intent.action.request();
        let Some(op) = op_of(&request) else { return Sent::Failed("not a rollout action".into()) };
        let (w, name) = match self.target(&request) {
            Ok(t) => t,
            Err(e) => return Sent::Failed(format!("nothing sent: {e}")),
        };
        let r = match self.read(&w, &name).await {
            Ok(r) => r,
            Err(e) => return Sent::Failed(format!("nothing sent: reading the rollout: {e}")),
        };
        let from = self.seen.lock().ok().and_then(|m| m.get(&intent.key).copied());
        if in_effect(op, &r, from) {
            return Sent::Accepted(format!("already: {}", id_of(&w.region, &name, op, from)));
        }
        let step = r["status"]["currentStepIndex"].as_u64().unwrap_or(0);
        if let Ok(mut m) = self.seen.lock() {
            m.insert(intent.key.clone(), step);
        }
        if op == Op::Unpause && !paused(&r) {
            return Sent::Refused(format!(
                "{name} is not paused at a step: nothing to promote (promote full skips the remaining steps)"
            ));
        }
        let (sub, patch) = match op {
            Op::Abort => ("/status", json!({"status": {"abort": true}})),
            Op::PromoteFull => ("/status", json!({"status": {"promoteFull": true}})),
            Op::Pause => ("", json!({"spec": {"paused": true}})),
            Op::Unpause if r["spec"]["paused"] == Value::Bool(true) => ("", json!({"spec": {"paused": false}})),
            Op::Unpause => ("/status", json!({"status": {"pauseConditions": null}})),
            Op::Retry => ("/status", json!({"status": {"abort": false}})),
        };
        let path = format!("{}/{}{sub}", rollouts_path(&w.ctx.namespace), crate::sources::unleash::seg(&name));
        let resp = w
            .ctx
            .request(w.client(), reqwest::Method::PATCH, &path)
            .header(reqwest::header::CONTENT_TYPE, "application/merge-patch+json")
            .timeout(std::time::Duration::from_secs(10))
            .body(patch.to_string())
            .send()
            .await;
        match resp {
            Ok(r) => {
                let code = r.status().as_u16();
                let v: Value = r.json().await.unwrap_or(Value::Null);
                let msg = crate::sources::alertmanager::one_line(v["message"].as_str().unwrap_or(""));
                match code {
                    200..=299 => Sent::Accepted(id_of(&w.region, &name, op, Some(step))),
                    409 => Sent::Refused(format!("the rollout changed while the patch was on its way (HTTP 409, nothing applied): look again and confirm again ({msg})")),
                    500..=599 => Sent::Unknown(format!("HTTP {code}: {msg}")),
                    _ => Sent::Refused(format!("HTTP {code}: {msg}")),
                }
            }
            Err(e) if e.is_connect() => Sent::Failed(format!("nothing sent: cluster unreachable ({e})")),
            Err(e) => Sent::Unknown(crate::sources::redact(&e.to_string())),
        }
    }
}

fn op_word(op: Op) -> &'static str {
    match op {
        Op::Abort => "abort",
        Op::PromoteFull => "promote-full",
        Op::Pause => "pause",
        Op::Unpause => "unpause",
        Op::Retry => "retry",
    }
}

/// `us-west-2/search unpause@1`: what a poll reads back.
fn id_of(region: &str, name: &str, op: Op, from: Option<u64>) -> String {
    match from {
        Some(f) => format!("{region}/{name} {}@{f}", op_word(op)),
        None => format!("{region}/{name} {}", op_word(op)),
    }
}

impl ActionProvider for RolloutActions {
    fn label(&self) -> String {
        let mut v: Vec<String> = self.regions.values().map(|w| format!("{}={}", w.region, w.ctx.name)).collect();
        v.sort();
        format!("argo-rollouts {}", v.join(","))
    }

    fn owner(&self) -> &'static str {
        "Kubernetes"
    }

    fn send<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, Sent> {
        Box::pin(self.send_inner(intent))
    }

    /// Read the Rollout: in effect means landed (never patched again).
    fn lookup<'a>(&'a self, key: &'a str, request: &'a Value) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            let op = op_of(request).ok_or("not a rollout action")?;
            let (w, name) = self.target(request)?;
            let r = self.read(&w, &name).await?;
            let from = self.seen.lock().ok().and_then(|m| m.get(key).copied());
            Ok(in_effect(op, &r, from).then(|| id_of(&w.region, &name, op, from)))
        })
    }

    fn poll<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<(ActionStatus, String)>> {
        Box::pin(async move {
            let (already, id) = match id.strip_prefix("already: ") {
                Some(rest) => (true, rest),
                None => (false, id),
            };
            let parsed = id.split_once(' ').and_then(|(path, op)| {
                let (region, name) = path.split_once('/')?;
                let (op, from) = match op.split_once('@') {
                    Some((o, f)) => (o, f.parse::<u64>().ok()),
                    None => (op, None),
                };
                let op = match op {
                    "abort" => Op::Abort,
                    "promote-full" => Op::PromoteFull,
                    "pause" => Op::Pause,
                    "unpause" => Op::Unpause,
                    "retry" => Op::Retry,
                    _ => return None,
                };
                Some((region.to_string(), name.to_string(), op, from))
            });
            let Some((region, name, op, from)) = parsed else {
                return Some((ActionStatus::Failed, format!("unreadable action id {id}")));
            };
            let w = self.regions.get(&region)?.clone();
            let r = self.read(&w, &name).await.ok()?;
            if !in_effect(op, &r, from) {
                return None;
            }
            let d = normalise(&region, &r);
            let state = d
                .map(|d| format!("{} step {}/{} at {:.0}%", d.phase.word(), d.step_index + 1, d.step_total, d.weight))
                .unwrap_or_default();
            let head = if already { "already in effect" } else { "done" };
            Some((ActionStatus::Succeeded, format!("{head}: {name} in {region} ({}): {state}", w.ctx.name)))
        })
    }
}
