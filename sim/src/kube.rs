//! The Argo Rollouts part of the Kubernetes API, one cluster per region at
//! `/k8s/{region}` (so a kubeconfig with one context per region points at
//! the same simulator): discovery (`/api`, `/apis`, the `argoproj.io/v1alpha1`
//! resource list, `/version`), list and get, **watch** (newline-delimited
//! events from a `resourceVersion`, `BOOKMARK`s when asked, an `ERROR` with
//! `410 Expired` when the version is older than the kept history), and
//! merge patches on a Rollout and its `status` subresource (`409 Conflict`
//! when the patch names a stale `metadata.resourceVersion`).
//!
//! The Rollouts are a projection of the simulated deployments: every
//! request (and every watch, twice a second) brings them up to date, and
//! each change gets the next resourceVersion. A patch is carried out the
//! way Argo Rollouts' controller would: `status.abort` aborts (the sim's
//! rollback), clearing `pauseConditions` or `spec.paused` promotes or
//! resumes, `status.promoteFull` promotes to the end, `spec.paused: true`
//! pauses — through the same ledger as the control plane's actions.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};

use std::time::Duration;

use axum::body::Body;
use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Deserialize;
use serde_json::{json, Value};

use crate::scenario::Phase;
use crate::server::SimState;

/// Events kept for watches that resume from a resourceVersion.
const HISTORY: usize = 500;
/// The one namespace the simulated Rollouts live in.
pub const NAMESPACE: &str = "default";

#[derive(Default)]
struct Inner {
    rv: u64,
    /// (cluster, name) → the object.
    objects: BTreeMap<(String, String), Value>,
    /// (rv, cluster, type, object), oldest first.
    log: VecDeque<(u64, String, &'static str, Value)>,
    /// Watches resuming from before this version get 410.
    oldest: u64,
}

/// The store behind the API: objects, versions, the event history.
#[derive(Default)]
pub struct Kube {
    inner: Mutex<Inner>,
    /// Patches so far (for tests: never twice).
    pub patches: std::sync::atomic::AtomicU64,
}

fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code})
}

fn fail(code: StatusCode, reason: &str, message: &str) -> Response {
    (code, Json(status(code.as_u16(), reason, message))).into_response()
}

/// A deployment's Rollout as Argo Rollouts would show it.
fn project(st: &SimState, d: usize, t: f64) -> (String, String, Value) {
    let w = &st.world;
    let dep = &w.script.deployments[d];
    let s = w.deploy_state(d, t);
    let svc = &w.fleet.services[dep.service].name;
    let region = w.fleet.regions[dep.region].name.clone();
    let image = |rev: u64| format!("registry.example.com/{svc}:v1.{rev}");
    let rev = s.canary_rev.unwrap_or(s.stable_rev);
    let in_flight = s.canary_rev.is_some() && !matches!(s.phase, Phase::Healthy | Phase::Aborted);
    let steps: Vec<Value> = dep.steps.iter().map(|w| json!({"setWeight": *w as i64})).collect();
    let (phase, abort) = match s.phase {
        Phase::Aborted => ("Degraded", true),
        p => (p.name(), false),
    };
    let message = if abort && !s.message.starts_with("RolloutAborted") {
        format!("RolloutAborted: {}", s.message)
    } else {
        s.message.clone()
    };
    let since = crate::server::iso(w, s.since.min(t).max(0.0));
    let pause =
        if s.phase == Phase::Paused { json!([{"reason": "CanaryPauseStep", "startTime": since}]) } else { Value::Null };
    let weight = if in_flight { s.weight.round() as i64 } else { 0 };
    let analysis = if in_flight {
        let failing = matches!(s.phase, Phase::Degraded);
        json!({"name": format!("{svc}-{rev}-analysis"), "status": if failing { "Failed" } else { "Running" },
            "message": if failing { "metric \"error-rate\" assessed Failed" } else { "" }})
    } else {
        Value::Null
    };
    let obj = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {
            "name": svc,
            "namespace": NAMESPACE,
            "uid": format!("sim-{region}-{svc}"),
            "labels": {"app": svc, "warroom.io/region": region},
            "annotations": {"rollout.argoproj.io/revision": rev.to_string()},
        },
        "spec": {
            "replicas": 10,
            // A user's pause is `spec.paused`; a step's is only a pause condition.
            "paused": s.phase == Phase::Paused && s.message.starts_with("paused by"),
            "selector": {"matchLabels": {"app": svc}},
            "template": {"metadata": {"labels": {"app": svc}},
                "spec": {"containers": [{"name": svc, "image": image(rev)}]}},
            "strategy": {"canary": {"steps": steps}},
        },
        "status": {
            "phase": phase,
            "message": message,
            "abort": abort,
            "currentStepIndex": s.step_index,
            "pauseConditions": pause,
            "stableRS": format!("{svc}-{}", s.stable_rev),
            "currentPodHash": format!("{svc}-{rev}"),
            "replicas": 10,
            "updatedReplicas": if in_flight { (s.weight / 10.0).ceil() as i64 } else { 10 },
            "readyReplicas": 10,
            "availableReplicas": 10,
            "canary": {
                "weights": {"canary": {"weight": weight}, "stable": {"weight": 100 - weight}},
                "currentStepAnalysisRunStatus": analysis,
            },
        },
    });
    (region, svc.clone(), obj)
}

impl Kube {
    /// Bring every Rollout up to date with the simulation; changed ones get
    /// the next resourceVersion and an event.
    pub fn sync(&self, st: &SimState) {
        let t = st.now();
        let mut all: Vec<(String, String, Value)> =
            (0..st.world.script.deployments.len()).map(|d| project(st, d, t)).collect();
        all.extend(crate::bluegreen::rollout(st, t));
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        for (cluster, name, mut obj) in all {
            let key = (cluster.clone(), name);
            let kind = match g.objects.get(&key) {
                Some(old) if old["spec"] == obj["spec"] && old["status"] == obj["status"] => continue,
                Some(_) => "MODIFIED",
                None => "ADDED",
            };
            g.rv += 1;
            let rv = g.rv;
            let generation = g.objects.get(&key).and_then(|o| o["metadata"]["generation"].as_u64()).unwrap_or(0);
            let spec_changed = g.objects.get(&key).is_none_or(|o| o["spec"] != obj["spec"]);
            let generation = if spec_changed { generation + 1 } else { generation };
            obj["metadata"]["resourceVersion"] = json!(rv.to_string());
            obj["metadata"]["generation"] = json!(generation);
            obj["metadata"]["creationTimestamp"] = json!(crate::server::iso(&st.world, 0.0));
            obj["status"]["observedGeneration"] = json!(generation.to_string());
            g.objects.insert(key, obj.clone());
            g.log.push_back((rv, cluster, kind, obj));
            while g.log.len() > HISTORY {
                if let Some((old, ..)) = g.log.pop_front() {
                    g.oldest = old;
                }
            }
        }
    }

    /// Forget the history: every watch resuming from an older version gets
    /// `410 Expired` (a test's way to expire a watch mid-run).
    pub fn expire(&self) {
        let mut g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.log.clear();
        g.oldest = g.rv;
    }

    fn list(&self, cluster: &str) -> (u64, Vec<Value>) {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        let items = g.objects.iter().filter(|((c, _), _)| c == cluster).map(|(_, o)| o.clone()).collect();
        (g.rv, items)
    }

    /// Events after `rv` for `cluster`, or None when `rv` is too old.
    fn since(&self, cluster: &str, rv: u64) -> Option<(u64, Vec<(&'static str, Value)>)> {
        let g = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        if rv < g.oldest {
            return None;
        }
        let ev =
            g.log.iter().filter(|(v, c, ..)| *v > rv && c == cluster).map(|(_, _, k, o)| (*k, o.clone())).collect();
        Some((g.rv, ev))
    }
}

fn cluster_known(st: &SimState, cluster: &str) -> bool {
    st.world.fleet.region_index(cluster).is_some()
}

pub async fn version() -> Json<Value> {
    Json(json!({"major": "1", "minor": "30", "gitVersion": "v1.30.0-warroom-sim", "platform": "linux/amd64"}))
}

pub async fn core_versions() -> Json<Value> {
    Json(json!({"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": []}))
}

pub async fn core_resources() -> Json<Value> {
    Json(json!({"kind": "APIResourceList", "groupVersion": "v1", "resources": []}))
}

pub async fn groups() -> Json<Value> {
    let v = json!({"groupVersion": "argoproj.io/v1alpha1", "version": "v1alpha1"});
    let apps = json!({"groupVersion": "apps/v1", "version": "v1"});
    Json(json!({"kind": "APIGroupList", "apiVersion": "v1",
        "groups": [{"name": "apps", "versions": [apps], "preferredVersion": apps},
            {"name": "argoproj.io", "versions": [v], "preferredVersion": v}]}))
}

pub async fn apps_resources() -> Json<Value> {
    Json(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "apps/v1",
    "resources": [{"name": "replicasets", "singularName": "replicaset", "namespaced": true, "kind": "ReplicaSet",
        "verbs": ["get", "list"], "shortNames": ["rs"], "categories": ["all"]}]}))
}

pub async fn rollout_resources() -> Json<Value> {
    let verbs = ["get", "list", "watch", "patch"];
    Json(json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": "argoproj.io/v1alpha1",
    "resources": [
        {"name": "rollouts", "singularName": "rollout", "namespaced": true, "kind": "Rollout",
         "verbs": verbs, "shortNames": ["ro"], "categories": ["all"]},
        {"name": "rollouts/status", "singularName": "", "namespaced": true, "kind": "Rollout",
         "verbs": ["get", "patch"]},
        {"name": "analysisruns", "singularName": "analysisrun", "namespaced": true, "kind": "AnalysisRun",
         "verbs": ["get", "list"], "shortNames": ["ar"]}
    ]}))
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
pub struct ListParams {
    #[serde(default)]
    watch: Option<String>,
    #[serde(default)]
    resource_version: Option<String>,
    #[serde(default)]
    allow_watch_bookmarks: Option<String>,
    #[serde(default)]
    timeout_seconds: Option<u64>,
}

fn list_body(rv: u64, items: Vec<Value>) -> Value {
    json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "RolloutList",
        "metadata": {"resourceVersion": rv.to_string()}, "items": items})
}

/// `GET …/rollouts` (a cluster's, all namespaces or `default`): a list, or
/// with `watch` a stream of events.
pub async fn list(
    State(st): State<Arc<SimState>>,
    Path(p): Path<Vec<(String, String)>>,
    Query(q): Query<ListParams>,
) -> Response {
    let cluster = p.iter().find(|(k, _)| k == "cluster").map(|(_, v)| v.clone()).unwrap_or_default();
    let ns = p.iter().find(|(k, _)| k == "ns").map(|(_, v)| v.clone());
    if !cluster_known(&st, &cluster) {
        return fail(StatusCode::NOT_FOUND, "NotFound", &format!("no cluster {cluster}"));
    }
    st.kube.sync(&st);
    let other_ns = ns.as_deref().is_some_and(|n| n != NAMESPACE);
    // Go's ParseBool, as the API server reads it (Python sends "True").
    let watching = q.watch.as_deref().is_some_and(|w| matches!(w, "1" | "t" | "T" | "true" | "TRUE" | "True"));
    if !watching {
        let (rv, items) = st.kube.list(&cluster);
        return Json(list_body(rv, if other_ns { Vec::new() } else { items })).into_response();
    }
    // No version: what exists now, as ADDED, then the changes after it.
    let (from, initial): (u64, Vec<Value>) = match q.resource_version.as_deref() {
        None | Some("") | Some("0") => st.kube.list(&cluster),
        Some(v) => match v.parse() {
            Ok(n) => (n, Vec::new()),
            Err(_) => return fail(StatusCode::BAD_REQUEST, "BadRequest", &format!("invalid resourceVersion {v}")),
        },
    };
    let (tx, rx) = tokio::sync::mpsc::channel::<Result<Vec<u8>, std::convert::Infallible>>(64);
    let bookmarks =
        q.allow_watch_bookmarks.as_deref().is_some_and(|w| matches!(w, "1" | "t" | "T" | "true" | "TRUE" | "True"));
    let deadline = tokio::time::Instant::now() + Duration::from_secs(q.timeout_seconds.unwrap_or(1800).min(3600));
    tokio::spawn(async move {
        let line = |v: Value| {
            let mut b = serde_json::to_vec(&v).unwrap_or_default();
            b.push(b'\n');
            Ok(b)
        };
        for obj in initial {
            if !other_ns && tx.send(line(json!({"type": "ADDED", "object": obj}))).await.is_err() {
                return;
            }
        }
        let mut at = from;
        let mut last_bookmark = tokio::time::Instant::now();
        loop {
            st.kube.sync(&st);
            let Some((now, events)) = st.kube.since(&cluster, at) else {
                let e = status(410, "Expired", &format!("too old resource version: {at}"));
                let _ = tx.send(line(json!({"type": "ERROR", "object": e}))).await;
                return;
            };
            for (kind, obj) in events {
                if !other_ns && tx.send(line(json!({"type": kind, "object": obj}))).await.is_err() {
                    return;
                }
            }
            at = now;
            if bookmarks && last_bookmark.elapsed() >= Duration::from_secs(1) {
                let b = json!({"type": "BOOKMARK", "object": {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                    "metadata": {"resourceVersion": at.to_string()}}});
                if tx.send(line(b)).await.is_err() {
                    return;
                }
                last_bookmark = tokio::time::Instant::now();
            }
            if tokio::time::Instant::now() >= deadline || tx.is_closed() {
                return;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    });
    let stream = futures_util::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|b| (b, rx)) });
    ([(header::CONTENT_TYPE, "application/json")], Body::from_stream(stream)).into_response()
}

/// `GET …/rollouts/{name}`.
pub async fn get_one(
    State(st): State<Arc<SimState>>,
    Path((cluster, ns, name)): Path<(String, String, String)>,
) -> Response {
    st.kube.sync(&st);
    let g = st.kube.inner.lock().unwrap_or_else(|e| e.into_inner());
    match g.objects.get(&(cluster, name.clone())).filter(|_| ns == NAMESPACE) {
        Some(o) => Json(o.clone()).into_response(),
        None => fail(StatusCode::NOT_FOUND, "NotFound", &format!("rollouts.argoproj.io \"{name}\" not found")),
    }
}

/// One AnalysisRun (`argoproj.io/v1alpha1`), owned by its Rollout.
fn analysis_run(name: &str, rollout: &str, phase: &str, step: usize, failed: u32, message: &str, at: String) -> Value {
    let count = 5u32;
    let (successful, failed) = match phase {
        "Running" => (2, 0),
        "Failed" => (count - failed, failed),
        _ => (count, 0),
    };
    json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "AnalysisRun",
        "metadata": {"name": name, "namespace": NAMESPACE, "labels": {"step-index": step.to_string()},
            "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": rollout}],
            "creationTimestamp": at},
        "spec": {"metrics": [{"name": "error-rate", "interval": "30s", "count": count, "failureLimit": 1}]},
        "status": {"phase": phase, "message": message, "startedAt": at,
            "metricResults": [{"name": "error-rate", "phase": phase, "count": if phase == "Running" { 2 } else { count },
                "successful": successful, "failed": failed, "inconclusive": 0, "error": 0,
                "message": message}]},
    })
}

/// The canary deployments of a cluster (region) and their state at `t`.
fn in_cluster<'a>(
    st: &'a SimState,
    cluster: &'a str,
    t: f64,
) -> impl Iterator<Item = (usize, crate::scenario::DeployState)> + 'a {
    let w = &st.world;
    (0..w.script.deployments.len())
        .filter(move |d| w.fleet.regions[w.script.deployments[*d].region].name == cluster)
        .map(move |d| (d, w.deploy_state(d, t)))
}

/// A cluster's AnalysisRuns: one per step a canary has reached (the
/// current one running or failed), and a blue-green rollout's pre- and
/// post-promotion runs.
fn analysis_runs(st: &SimState, cluster: &str) -> Vec<Value> {
    let w = &st.world;
    let t = st.now();
    let mut out = Vec::new();
    for (d, s) in in_cluster(st, cluster, t) {
        let dep = &w.script.deployments[d];
        let Some(rev) = s.canary_rev else { continue };
        let svc = &w.fleet.services[dep.service].name;
        let at = crate::server::iso(w, s.since.min(t).max(0.0));
        for step in 0..=s.step_index.min(dep.steps.len().saturating_sub(1)) {
            let current = step == s.step_index;
            let (phase, failed, msg) = match (current, s.phase) {
                (true, Phase::Degraded | Phase::Aborted) => (
                    "Failed",
                    3,
                    format!("error rate {:.1}% above the 1% limit in 3 of 5 measurements", s.canary_err * 100.0),
                ),
                (true, Phase::Progressing | Phase::Paused) => ("Running", 0, String::new()),
                _ => ("Successful", 0, String::new()),
            };
            out.push(analysis_run(&format!("{svc}-{rev}-{step}"), svc, phase, step, failed, &msg, at.clone()));
        }
    }
    if let Some(v) = crate::bluegreen::view(st, t).filter(|v| v.region == cluster) {
        let at = crate::server::iso(w, 0.0);
        let g = crate::bluegreen::GREEN;
        out.push(analysis_run(&format!("{}-{g}-pre", v.service), &v.service, v.pre, 0, 0, "", at.clone()));
        if let Some(p) = v.post {
            let msg = if p == "Failed" { "error rate 4.2% above the 1% limit" } else { "" };
            out.push(analysis_run(&format!("{}-{g}-post", v.service), &v.service, p, 0, 2, msg, at));
        }
    }
    out
}

/// `GET …/analysisruns`: a list (not watched by the console).
pub async fn list_runs(State(st): State<Arc<SimState>>, Path(p): Path<Vec<(String, String)>>) -> Response {
    let cluster = p.iter().find(|(k, _)| k == "cluster").map(|(_, v)| v.clone()).unwrap_or_default();
    if !cluster_known(&st, &cluster) {
        return fail(StatusCode::NOT_FOUND, "NotFound", &format!("no cluster {cluster}"));
    }
    let rv = st.kube.list(&cluster).0;
    Json(json!({"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisRunList",
        "metadata": {"resourceVersion": rv.to_string()}, "items": analysis_runs(&st, &cluster)}))
    .into_response()
}

/// What a patch asks the controller for, in the sim's action words.
fn intent_of(patch: &Value, current: &Value) -> Result<Option<&'static str>, String> {
    let status = &patch["status"];
    let spec = &patch["spec"];
    if status["abort"] == Value::Bool(true) {
        return Ok(Some("rollback"));
    }
    if status["promoteFull"] == Value::Bool(true) {
        return Ok(Some("promoteFull"));
    }
    if spec["paused"] == Value::Bool(true) {
        return Ok(Some("pause"));
    }
    // Unpausing the spec resumes; clearing the pause conditions promotes
    // past the pause (to the next step, where the canary pauses again).
    if spec["paused"] == Value::Bool(false) && current["spec"]["paused"] == Value::Bool(true) {
        return Ok(Some("resume"));
    }
    if status.get("pauseConditions").is_some_and(Value::is_null) {
        return Ok(Some("promote"));
    }
    if status["abort"] == Value::Bool(false) && current["status"]["abort"] == Value::Bool(true) {
        return Ok(Some("retry"));
    }
    Ok(None)
}

/// The revision a JSON patch (`kubectl argo rollouts undo`'s
/// `replace /spec/template`) brings back, found by the template's image
/// among the Rollout's ReplicaSets.
fn undo_target(st: &SimState, cluster: &str, name: &str, ops: &Value) -> Result<u64, String> {
    let ops = ops.as_array().ok_or("a JSON patch is an array of operations")?;
    let op = ops
        .iter()
        .find(|o| o["path"] == "/spec/template" && matches!(o["op"].as_str(), Some("replace" | "add")))
        .ok_or("the sim's controller only carries out a JSON patch that replaces /spec/template (an undo)")?;
    let image = op["value"]["spec"]["containers"][0]["image"].as_str().ok_or("the template has no container image")?;
    replica_sets(st, cluster)
        .iter()
        .filter(|rs| rs["metadata"]["ownerReferences"][0]["name"] == name)
        .find(|rs| rs["spec"]["template"]["spec"]["containers"][0]["image"] == image)
        .and_then(|rs| rs["metadata"]["annotations"]["rollout.argoproj.io/revision"].as_str()?.parse().ok())
        .ok_or_else(|| format!("no ReplicaSet of {name} runs {image}: the sim rolls back only to revisions it has"))
}

/// `PATCH …/rollouts/{name}[/status]` with a JSON merge patch, or (on the
/// object) a JSON patch that replaces the template.
pub async fn patch(
    State(st): State<Arc<SimState>>,
    Path(p): Path<Vec<(String, String)>>,
    headers: axum::http::HeaderMap,
    body: axum::body::Bytes,
) -> Response {
    let get = |k: &str| p.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone()).unwrap_or_default();
    let (cluster, ns, name) = (get("cluster"), get("ns"), get("name"));
    let ctype = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let json_patch = ctype.starts_with("application/json-patch+json");
    if !json_patch
        && !ctype.starts_with("application/merge-patch+json")
        && !ctype.starts_with("application/strategic-merge-patch+json")
    {
        return fail(StatusCode::UNSUPPORTED_MEDIA_TYPE, "UnsupportedMediaType", &format!("the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json (got {ctype})"));
    }
    let Ok(patch) = serde_json::from_slice::<Value>(&body) else {
        return fail(StatusCode::BAD_REQUEST, "BadRequest", "the patch is not JSON");
    };
    st.kube.sync(&st);
    let current = {
        let g = st.kube.inner.lock().unwrap_or_else(|e| e.into_inner());
        g.objects.get(&(cluster.clone(), name.clone())).filter(|_| ns == NAMESPACE).cloned()
    };
    let Some(current) = current else {
        return fail(StatusCode::NOT_FOUND, "NotFound", &format!("rollouts.argoproj.io \"{name}\" not found"));
    };
    if let Some(rv) = patch["metadata"]["resourceVersion"].as_str() {
        if Some(rv) != current["metadata"]["resourceVersion"].as_str() {
            let msg = format!("Operation cannot be fulfilled on rollouts.argoproj.io \"{name}\": the object has been modified; please apply your changes to the latest version and try again");
            return fail(StatusCode::CONFLICT, "Conflict", &msg);
        }
    }
    let blue_green = crate::bluegreen::view(&st, st.now()).is_some_and(|v| v.service == name && v.region == cluster);
    let mut revision = None;
    if json_patch {
        if blue_green {
            return fail(
                StatusCode::UNPROCESSABLE_ENTITY,
                "Invalid",
                "the sim does not model undo of a blue-green rollout: switch back (abort) while the old colour runs",
            );
        }
        match undo_target(&st, &cluster, &name, &patch) {
            Ok(r) => revision = Some(r),
            Err(why) => return fail(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", &why),
        }
    }
    st.kube.patches.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let action = match (revision, intent_of(&patch, &current)) {
        (Some(_), _) => Some("undo"),
        (None, Ok(a)) => a,
        (None, Err(why)) => return fail(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", &why),
    };
    if let (Some(kind), true) = (action, blue_green) {
        if let Err((code, msg)) = crate::bluegreen::act(&st, kind, st.now()) {
            if code != 409 {
                return fail(StatusCode::UNPROCESSABLE_ENTITY, "Invalid", &msg);
            }
        }
    } else if let Some(kind) = action {
        let req = crate::actions::ActionRequest {
            kind: kind.into(),
            region: None,
            deployment: Some(format!("{name}/{cluster}")),
            flag: None,
            environment: None,
            revision,
        };
        let key = format!("kube-patch-{}", st.kube.patches.load(std::sync::atomic::Ordering::SeqCst));
        if let Err((code, msg)) = crate::actions::submit(&st, req, "kubernetes", &key) {
            // Already in that state: the patch is a no-op, as on a real
            // cluster; anything else is the controller's refusal.
            if code != StatusCode::CONFLICT {
                return fail(code, "Invalid", &msg);
            }
        }
    }
    st.kube.sync(&st);
    let g = st.kube.inner.lock().unwrap_or_else(|e| e.into_inner());
    match g.objects.get(&(cluster, name)) {
        Some(o) => Json(o.clone()).into_response(),
        None => fail(StatusCode::NOT_FOUND, "NotFound", "gone"),
    }
}

/// `POST /v1/kube/expire`: drop the watch history (tests).
pub async fn expire(State(st): State<Arc<SimState>>) -> Json<Value> {
    st.kube.expire();
    Json(json!({"expired": true}))
}

/// The revisions a canary deployment has ReplicaSets for: the two before
/// the newest, the stable one and the canary.
pub fn revisions(s: &crate::scenario::DeployState) -> Vec<u64> {
    let top = s.canary_rev.unwrap_or(0).max(s.stable_rev);
    let mut v: Vec<u64> = (top.saturating_sub(2).max(1)..=top).collect();
    v.extend([s.stable_rev].into_iter().chain(s.canary_rev));
    v.sort_unstable();
    v.dedup();
    v
}

/// One ReplicaSet (`apps/v1`) of a Rollout, named by its pod template hash.
fn replica_set(svc: &str, rev: u64, replicas: u32, ready: u32, scale_down: Option<String>) -> Value {
    let hash = format!("{svc}-{rev}");
    let mut annotations = json!({"rollout.argoproj.io/revision": rev.to_string()});
    if let Some(at) = scale_down {
        annotations["scale-down-deadline"] = json!(at);
    }
    let labels = json!({"app": svc, "rollouts-pod-template-hash": hash});
    json!({
        "apiVersion": "apps/v1",
        "kind": "ReplicaSet",
        "metadata": {"name": hash, "namespace": NAMESPACE, "labels": labels, "annotations": annotations,
            "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "name": svc,
                "uid": "", "controller": true}]},
        "spec": {"replicas": replicas, "selector": {"matchLabels": labels},
            "template": {"metadata": {"labels": labels},
                "spec": {"containers": [{"name": svc, "image": crate::bluegreen::image(svc, rev)}]}}},
        "status": {"replicas": replicas, "readyReplicas": ready, "availableReplicas": ready},
    })
}

/// A cluster's ReplicaSets: a canary's stable (all replicas), its canary
/// (the weight's share) and the older revisions (scaled to zero); a
/// blue-green rollout's two colours, the old one annotated with its
/// `scale-down-deadline` while it is kept for a switch back.
fn replica_sets(st: &SimState, cluster: &str) -> Vec<Value> {
    let w = &st.world;
    let t = st.now();
    let mut out = Vec::new();
    for (d, s) in in_cluster(st, cluster, t) {
        let dep = &w.script.deployments[d];
        let svc = &w.fleet.services[dep.service].name;
        let in_flight = s.canary_rev.is_some() && !matches!(s.phase, Phase::Healthy | Phase::Aborted);
        for rev in revisions(&s) {
            let n = match (rev == s.stable_rev, Some(rev) == s.canary_rev) {
                (true, _) => 10,
                (false, true) if in_flight => (s.weight / 10.0).ceil() as u32,
                _ => 0,
            };
            out.push(replica_set(svc, rev, n, n, None));
        }
    }
    if let Some(v) = crate::bluegreen::view(st, t).filter(|v| v.region == cluster) {
        use crate::bluegreen::{BLUE, GREEN, SCALE_DOWN};
        let blue_runs = v.active == BLUE || v.previous == Some(BLUE);
        let deadline = st
            .bluegreen
            .lock()
            .ok()
            .and_then(|o| o.promoted_at)
            .filter(|_| v.previous == Some(BLUE))
            .map(|p| crate::server::iso(w, p + SCALE_DOWN));
        let blue = if blue_runs { 10 } else { 0 };
        out.push(replica_set(&v.service, BLUE, blue, blue, deadline));
        out.push(replica_set(&v.service, GREEN, 10, v.green_ready, None));
    }
    out
}

/// `GET /apis/apps/v1[/namespaces/{ns}]/replicasets`: a list.
pub async fn list_replica_sets(State(st): State<Arc<SimState>>, Path(p): Path<Vec<(String, String)>>) -> Response {
    let cluster = p.iter().find(|(k, _)| k == "cluster").map(|(_, v)| v.clone()).unwrap_or_default();
    let ns = p.iter().find(|(k, _)| k == "ns").map(|(_, v)| v.clone());
    if !cluster_known(&st, &cluster) {
        return fail(StatusCode::NOT_FOUND, "NotFound", &format!("no cluster {cluster}"));
    }
    let rv = st.kube.list(&cluster).0;
    let items = if ns.as_deref().is_some_and(|n| n != NAMESPACE) { Vec::new() } else { replica_sets(&st, &cluster) };
    Json(json!({"apiVersion": "apps/v1", "kind": "ReplicaSetList",
        "metadata": {"resourceVersion": rv.to_string()}, "items": items}))
    .into_response()
}
