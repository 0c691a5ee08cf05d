//! Argo Rollouts actions as `kubectl argo rollouts` does them, as JSON
//! merge patches: abort `{"status":{"abort":true}}` and promote-full
//! `{"status":{"promoteFull":true}}` on the `status` subresource; pause
//! `{"spec":{"paused":true}}`; promote / resume clear the pause
//! (`{"status":{"pauseConditions":null}}` on status, `{"spec":{"paused":false}}`
//! when the spec holds it); retry `{"status":{"abort":false}}` starts an
//! aborted canary again; undo to a revision is a JSON patch
//! (`application/json-patch+json`) that replaces `/spec/template` with that
//! revision's ReplicaSet's template (without its `rollouts-pod-template-hash`
//! label), and has landed once `status.currentPodHash` is that hash.
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
    Undo,
}

fn op_of(request: &Value) -> Option<Op> {
    match request["kind"].as_str()? {
        "rollback" => Some(Op::Abort),
        "promoteFull" => Some(Op::PromoteFull),
        "pause" => Some(Op::Pause),
        "promote" | "resume" => Some(Op::Unpause),
        "retry" => Some(Op::Retry),
        "undo" => Some(Op::Undo),
        _ => None,
    }
}

fn paused(r: &Value) -> bool {
    r["spec"]["paused"] == Value::Bool(true) || r["status"]["pauseConditions"].as_array().is_some_and(|a| !a.is_empty())
}

/// Whether the Rollout already shows what `op` asks for; an unpause that
/// found the Rollout paused at step `from` has landed once it is past it;
/// an undo has once the Rollout's current pod template hash is `hash`.
fn in_effect(op: Op, r: &Value, from: Option<u64>, hash: Option<&str>) -> bool {
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
        Op::Undo => hash.is_some_and(|h| st["currentPodHash"].as_str() == Some(h)),
    }
}

/// GET `path` on the region's cluster: the status and the JSON body
/// (`null` when it is not JSON).
async fn get_json(w: &RegionWatch, path: &str) -> Result<(u16, Value), String> {
    let r = w
        .ctx
        .request(w.client(), reqwest::Method::GET, path)
        .timeout(std::time::Duration::from_secs(10))
        .send()
        .await
        .map_err(|e| crate::sources::redact(&e.to_string()))?;
    let code = r.status().as_u16();
    Ok((code, r.json().await.unwrap_or(Value::Null)))
}

/// The ReplicaSet of `name`'s `revision`: its pod template hash and its
/// template as the Rollout's (the hash label is the controller's to add).
async fn revision_template(w: &RegionWatch, name: &str, revision: &str) -> Result<(String, Value), String> {
    let path = format!("/apis/apps/v1/namespaces/{}/replicasets", crate::sources::unleash::seg(&w.ctx.namespace));
    let (code, v) = get_json(w, &path).await?;
    if code != 200 {
        return Err(format!("listing replicasets: HTTP {code}: {}", v["message"].as_str().unwrap_or("")));
    }
    let rs = v["items"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|rs| {
            rs["metadata"]["ownerReferences"]
                .as_array()
                .is_some_and(|o| o.iter().any(|x| x["kind"] == "Rollout" && x["name"] == name))
        })
        .find(|rs| rs["metadata"]["annotations"]["rollout.argoproj.io/revision"].as_str() == Some(revision))
        .ok_or_else(|| format!("{name} has no ReplicaSet of revision {revision}"))?;
    let hash = rs["metadata"]["labels"]["rollouts-pod-template-hash"]
        .as_str()
        .ok_or_else(|| format!("the ReplicaSet of revision {revision} has no pod template hash"))?
        .to_string();
    let mut template = rs["spec"]["template"].clone();
    if let Some(labels) = template["metadata"]["labels"].as_object_mut() {
        labels.remove("rollouts-pod-template-hash");
    }
    Ok((hash, template))
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
        let (code, v) = get_json(w, &path).await?;
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
        let undo = match op {
            Op::Undo => match revision_template(&w, &name, request["revision"].as_str().unwrap_or("")).await {
                Ok(t) => Some(t),
                Err(e) => return Sent::Failed(format!("nothing sent: {e}")),
            },
            _ => None,
        };
        let hash = undo.as_ref().map(|(h, _)| h.as_str());
        if in_effect(op, &r, from, hash) {
            return Sent::Accepted(format!("already: {}", id_of(&w.region, &name, op, from, hash)));
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
        let mut ctype = "application/merge-patch+json";
        let (sub, patch) = match op {
            Op::Undo => {
                ctype = "application/json-patch+json";
                let template = undo.as_ref().map(|(_, t)| t.clone()).unwrap_or(Value::Null);
                ("", json!([{"op": "replace", "path": "/spec/template", "value": template}]))
            }
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
            .header(reqwest::header::CONTENT_TYPE, ctype)
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
                    200..=299 => Sent::Accepted(id_of(&w.region, &name, op, Some(step), hash)),
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
        Op::Undo => "undo",
    }
}

/// `us-west-2/search unpause@1`, `us-west-2/search undo#search-6`: what a
/// poll reads back.
fn id_of(region: &str, name: &str, op: Op, from: Option<u64>, hash: Option<&str>) -> String {
    match (op, from, hash) {
        (Op::Undo, _, Some(h)) => format!("{region}/{name} undo#{h}"),
        (_, Some(f), _) => format!("{region}/{name} {}@{f}", op_word(op)),
        _ => format!("{region}/{name} {}", op_word(op)),
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
            let hash = match op {
                Op::Undo => Some(revision_template(&w, &name, request["revision"].as_str().unwrap_or("")).await?.0),
                _ => None,
            };
            Ok(in_effect(op, &r, from, hash.as_deref()).then(|| id_of(&w.region, &name, op, from, hash.as_deref())))
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
                let (op, hash) = match op.split_once('#') {
                    Some((o, h)) => (o, Some(h.to_string())),
                    None => (op, None),
                };
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
                    "undo" => Op::Undo,
                    _ => return None,
                };
                Some((region.to_string(), name.to_string(), op, from, hash))
            });
            let Some((region, name, op, from, hash)) = parsed else {
                return Some((ActionStatus::Failed, format!("unreadable action id {id}")));
            };
            let w = self.regions.get(&region)?.clone();
            let r = self.read(&w, &name).await.ok()?;
            if !in_effect(op, &r, from, hash.as_deref()) {
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
