//! Argo Rollouts through the Kubernetes API, one context per region: each
//! region's Rollouts are **listed once and then watched**
//! (`?watch=true&resourceVersion=RV&allowWatchBookmarks=true`), a
//! background task per region keeping a local copy; `BOOKMARK`s move the
//! version on, an `ERROR` with `410` (the version expired) re-lists, a
//! dropped stream resumes from the last version with backoff. The feed's
//! poll only reads that copy (no request), so the deployments pane is as
//! fresh as the watch.
//!
//! Normalised into `model::Deployment`: step `i/n` from
//! `status.currentStepIndex` and the `setWeight` steps, weight from
//! `status.canary.weights.canary.weight`, phase (`status.abort` → Aborted,
//! since Argo has no such phase), message, stable vs canary revision, and
//! the current step's analysis run.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::Value;

use super::kube::Context;
use super::{FeedError, Fetch, Payload, Source};
use crate::model::{Analysis, CanaryPhase, Deployment, FeedId};

const MAX_LIST: usize = 32 * 1024 * 1024;

/// The path of a namespace's Rollouts.
pub fn rollouts_path(namespace: &str) -> String {
    format!("/apis/argoproj.io/v1alpha1/namespaces/{}/rollouts", super::unleash::seg(namespace))
}

/// What one region's watch has.
#[derive(Default)]
struct Cache {
    objects: BTreeMap<String, Value>,
    /// The version the copy is at (the last list, event or bookmark).
    version: String,
    listed: bool,
    error: Option<String>,
    /// Times the watch had to re-list (410).
    pub relists: u64,
}

/// One region's cluster.
pub struct RegionWatch {
    pub region: String,
    pub ctx: Context,
    client: reqwest::Client,
    cache: Mutex<Cache>,
    /// The namespace's AnalysisRuns, listed every few seconds (runs are
    /// not watched: they only matter beside their Rollout).
    runs: Mutex<Vec<Value>>,
    /// The namespace's ReplicaSets (`apps/v1`), listed with the runs: the
    /// revisions a Rollout can be undone to and each colour's replicas.
    replica_sets: Mutex<Vec<Value>>,
    started: std::sync::Once,
}

impl RegionWatch {
    pub fn new(region: &str, ctx: Context) -> Result<RegionWatch, String> {
        let client = ctx.client()?;
        Ok(RegionWatch {
            region: region.into(),
            ctx,
            client,
            cache: Mutex::new(Cache::default()),
            runs: Mutex::new(Vec::new()),
            replica_sets: Mutex::new(Vec::new()),
            started: std::sync::Once::new(),
        })
    }

    fn set_error(&self, e: String) {
        let mut c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        c.error = Some(e);
    }

    /// A list: the copy is replaced and the version is the list's.
    async fn list(&self) -> Result<(), String> {
        let path = rollouts_path(&self.ctx.namespace);
        let req = self.ctx.request(&self.client, reqwest::Method::GET, &path).timeout(Duration::from_secs(10));
        let (status, body, _) = super::send_limited(req, MAX_LIST).await.map_err(|e| e.to_string())?;
        if status != 200 {
            return Err(kube_error(status, &body));
        }
        let v: Value = serde_json::from_slice(&body).map_err(|e| format!("bad list: {e}"))?;
        let mut objects = BTreeMap::new();
        for item in v["items"].as_array().into_iter().flatten() {
            if let Some(name) = item["metadata"]["name"].as_str() {
                objects.insert(name.to_string(), item.clone());
            }
        }
        let mut c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        c.objects = objects;
        c.version = v["metadata"]["resourceVersion"].as_str().unwrap_or("").to_string();
        c.listed = true;
        c.error = None;
        Ok(())
    }

    /// One watch stream from the copy's version, until it ends. `Ok(true)`:
    /// the version expired (re-list).
    async fn watch_once(&self) -> Result<bool, String> {
        let version = self.cache.lock().unwrap_or_else(|p| p.into_inner()).version.clone();
        let path = format!(
            "{}?watch=true&allowWatchBookmarks=true&timeoutSeconds=300&resourceVersion={}",
            rollouts_path(&self.ctx.namespace),
            super::unleash::seg(&version)
        );
        let mut resp = self
            .ctx
            .request(&self.client, reqwest::Method::GET, &path)
            .send()
            .await
            .map_err(|e| super::redact(&e.to_string()))?;
        let status = resp.status().as_u16();
        if status == 410 {
            return Ok(true);
        }
        if status != 200 {
            let body = resp.bytes().await.unwrap_or_default();
            return Err(kube_error(status, &body));
        }
        {
            self.cache.lock().unwrap_or_else(|p| p.into_inner()).error = None;
        }
        let mut buf: Vec<u8> = Vec::new();
        loop {
            let chunk = match tokio::time::timeout(Duration::from_secs(330), resp.chunk()).await {
                Ok(Ok(Some(c))) => c,
                Ok(Ok(None)) => return Ok(false),
                Ok(Err(e)) => return Err(format!("watch broke off: {}", super::redact(&e.to_string()))),
                Err(_) => return Err("watch silent for 330 s".into()),
            };
            buf.extend_from_slice(&chunk);
            if buf.len() > MAX_LIST {
                return Err("a watch event larger than 32 MiB".into());
            }
            while let Some(i) = buf.iter().position(|b| *b == b'\n') {
                let line: Vec<u8> = buf.drain(..=i).collect();
                if line.iter().all(u8::is_ascii_whitespace) {
                    continue;
                }
                let ev: Value = serde_json::from_slice(&line).map_err(|e| format!("bad watch event: {e}"))?;
                if self.apply(&ev)? {
                    return Ok(true);
                }
            }
        }
    }

    /// One event into the copy; `Ok(true)` when it says the version expired.
    fn apply(&self, ev: &Value) -> Result<bool, String> {
        let obj = &ev["object"];
        let rv = obj["metadata"]["resourceVersion"].as_str().unwrap_or("").to_string();
        let mut c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        match ev["type"].as_str() {
            Some("ADDED" | "MODIFIED") => {
                if let Some(name) = obj["metadata"]["name"].as_str() {
                    c.objects.insert(name.to_string(), obj.clone());
                }
            }
            Some("DELETED") => {
                if let Some(name) = obj["metadata"]["name"].as_str() {
                    c.objects.remove(name);
                }
            }
            Some("BOOKMARK") => {}
            Some("ERROR") if obj["code"] == 410 => {
                c.relists += 1;
                return Ok(true);
            }
            Some("ERROR") => {
                let msg = super::alertmanager::one_line(obj["message"].as_str().unwrap_or("watch error"));
                return Err(format!("watch error: {msg}"));
            }
            other => return Err(format!("unknown watch event {other:?}")),
        }
        if !rv.is_empty() {
            c.version = rv;
        }
        Ok(false)
    }

    /// List, then watch for as long as the process lives.
    async fn run(self: Arc<Self>) {
        let mut backoff = Duration::from_millis(500);
        let mut need_list = true;
        loop {
            if need_list {
                match self.list().await {
                    Ok(()) => {
                        need_list = false;
                        backoff = Duration::from_millis(500);
                    }
                    Err(e) => {
                        self.set_error(e);
                        tokio::time::sleep(backoff).await;
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                        continue;
                    }
                }
            }
            match self.watch_once().await {
                Ok(true) => need_list = true,
                Ok(false) => backoff = Duration::from_millis(500),
                Err(e) => {
                    self.set_error(e);
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// The AnalysisRuns and ReplicaSets every 5 s (neither is watched: they
    /// only matter beside their Rollout); a cluster without them (404) or
    /// that does not let us list them (403) has none.
    async fn list_runs(self: Arc<Self>) {
        let ns = super::unleash::seg(&self.ctx.namespace);
        let runs = format!("/apis/argoproj.io/v1alpha1/namespaces/{ns}/analysisruns");
        let sets = format!("/apis/apps/v1/namespaces/{ns}/replicasets");
        loop {
            for (path, into) in [(&runs, &self.runs), (&sets, &self.replica_sets)] {
                let req = self.ctx.request(&self.client, reqwest::Method::GET, path).timeout(Duration::from_secs(10));
                if let Ok((code, body, _)) = super::send_limited(req, MAX_LIST).await {
                    let items = match code {
                        200 => serde_json::from_slice::<Value>(&body).ok().map(|v| v["items"].as_array().cloned()),
                        403 | 404 => Some(Some(Vec::new())),
                        _ => None,
                    };
                    if let Some(items) = items {
                        *into.lock().unwrap_or_else(|p| p.into_inner()) = items.unwrap_or_default();
                    }
                }
            }
            tokio::time::sleep(Duration::from_secs(5)).await;
        }
    }

    /// Start the watch task once (from the first poll, inside the runtime).
    fn ensure_started(self: &Arc<Self>) {
        let (me, runs) = (self.clone(), self.clone());
        self.started.call_once(move || {
            tokio::spawn(me.run());
            tokio::spawn(runs.list_runs());
        });
    }

    /// List now (as the watch does before it starts) and read the copy as
    /// the feed would: the fault matrix's way in.
    pub async fn list_now(&self) -> Result<Vec<Deployment>, String> {
        self.list().await?;
        let c = self.cache.lock().unwrap_or_else(|p| p.into_inner());
        Ok(c.objects.values().filter_map(|r| normalise(&self.region, r)).collect())
    }

    /// The HTTP client for this region's cluster (built once).
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// How many times this region's watch re-listed after an expiry.
    pub fn relists(&self) -> u64 {
        self.cache.lock().unwrap_or_else(|p| p.into_inner()).relists
    }
}

fn kube_error(status: u16, body: &[u8]) -> String {
    let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    // A Status's message, or (a proxy in front of the API server) the body's start.
    let msg = match v["message"].as_str() {
        Some(m) => super::alertmanager::one_line(m),
        None => super::alertmanager::one_line(&String::from_utf8_lossy(&body[..body.len().min(200)])),
    };
    match status {
        401 => format!("HTTP 401: the cluster refused the credentials ({msg})"),
        403 => format!("HTTP 403: not allowed to list rollouts.argoproj.io ({msg})"),
        404 => format!("HTTP 404: no rollouts.argoproj.io here — is Argo Rollouts installed? ({msg})"),
        _ => format!("HTTP {status}: {msg}"),
    }
}

fn time(v: &Value) -> Option<DateTime<Utc>> {
    v.as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|d| d.with_timezone(&Utc))
}

/// The weight the steps up to the current one set (Argo's SetWeight: the
/// last `setWeight` at or before `currentStepIndex`).
fn set_weight(r: &Value) -> Option<f64> {
    let steps = r["spec"]["strategy"]["canary"]["steps"].as_array()?;
    let index = r["status"]["currentStepIndex"].as_u64().unwrap_or(0) as usize;
    steps.iter().take(index + 1).rev().find_map(|s| s["setWeight"].as_f64()).map(|w| w.clamp(0.0, 100.0))
}

/// The runs a Rollout owns, oldest first.
fn runs_of(name: &str, runs: &[Value]) -> Vec<crate::model::AnalysisRun> {
    use crate::model::{AnalysisRun, MetricResult};
    let one = super::alertmanager::one_line;
    let n = |v: &Value| v.as_u64().unwrap_or(0).min(u32::MAX as u64) as u32;
    let mut out: Vec<AnalysisRun> = runs
        .iter()
        .filter(|r| owned_by(r, "Rollout", name))
        .map(|r| AnalysisRun {
            name: one(r["metadata"]["name"].as_str().unwrap_or("")),
            phase: one(r["status"]["phase"].as_str().unwrap_or("Pending")),
            message: one(r["status"]["message"].as_str().unwrap_or("")),
            started: time(&r["status"]["startedAt"]).or_else(|| time(&r["metadata"]["creationTimestamp"])),
            metrics: r["status"]["metricResults"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|m| MetricResult {
                    name: one(m["name"].as_str().unwrap_or("")),
                    phase: one(m["phase"].as_str().unwrap_or("")),
                    count: n(&m["count"]),
                    successful: n(&m["successful"]),
                    failed: n(&m["failed"]),
                    inconclusive: n(&m["inconclusive"]),
                    error: n(&m["error"]),
                    message: one(m["message"].as_str().unwrap_or("")),
                })
                .collect(),
        })
        .collect();
    out.sort_by(|a, b| (a.started, &a.name).cmp(&(b.started, &b.name)));
    out
}

fn owned_by(o: &Value, kind: &str, name: &str) -> bool {
    o["metadata"]["ownerReferences"]
        .as_array()
        .is_some_and(|o| o.iter().any(|x| x["kind"] == kind && x["name"] == name))
}

/// The revisions (ReplicaSets) a Rollout owns, newest first.
pub fn revisions_of(name: &str, sets: &[Value]) -> Vec<crate::model::Revision> {
    let one = super::alertmanager::one_line;
    let n = |v: &Value| v.as_u64().unwrap_or(0).min(u32::MAX as u64) as u32;
    let mut out: Vec<crate::model::Revision> = sets
        .iter()
        .filter(|rs| owned_by(rs, "Rollout", name))
        .filter_map(|rs| {
            let meta = &rs["metadata"];
            let revision = meta["annotations"]["rollout.argoproj.io/revision"].as_str()?;
            let deadline = meta["annotations"]
                .get("scale-down-deadline")
                .or_else(|| meta["annotations"].get("argo-rollouts.argoproj.io/scale-down-deadline"));
            Some(crate::model::Revision {
                revision: one(revision),
                hash: one(meta["labels"]["rollouts-pod-template-hash"]
                    .as_str()
                    .or(meta["name"].as_str())
                    .unwrap_or("")),
                image: one(rs["spec"]["template"]["spec"]["containers"][0]["image"].as_str().unwrap_or("")),
                replicas: n(&rs["spec"]["replicas"]),
                ready: n(&rs["status"]["readyReplicas"]),
                scale_down_at: deadline.and_then(time),
            })
        })
        .collect();
    let num = |r: &crate::model::Revision| r.revision.parse::<u64>().unwrap_or(0);
    out.sort_by(|a, b| num(b).cmp(&num(a)).then_with(|| b.revision.cmp(&a.revision)));
    out
}

/// Lay a blue-green rollout's ReplicaSets over its colours: each colour's
/// revision, image and ready replicas are its own ReplicaSet's, and the
/// old colour's scale-down deadline is the annotation on it.
pub fn with_revisions(mut d: Deployment, revisions: Vec<crate::model::Revision>) -> Deployment {
    if let Some(bg) = d.blue_green.as_mut() {
        let fill = |c: &mut crate::model::Colour| {
            if let Some(r) = revisions.iter().find(|r| r.hash == c.hash) {
                c.revision = r.revision.clone();
                c.image = r.image.clone();
                c.ready = Some((r.ready, r.replicas));
            }
        };
        fill(&mut bg.active);
        bg.preview.iter_mut().for_each(fill);
        bg.previous.iter_mut().for_each(fill);
        if let Some(p) = &bg.previous {
            bg.scale_down_at = revisions.iter().find(|r| r.hash == p.hash).and_then(|r| r.scale_down_at);
        }
    }
    d.revisions = revisions;
    d
}

/// A Rollout in the console's words.
pub fn normalise(region: &str, r: &Value) -> Option<Deployment> {
    let name = r["metadata"]["name"].as_str()?;
    let service = r["metadata"]["labels"]["app"].as_str().unwrap_or(name);
    let st = &r["status"];
    let steps: Vec<f64> = r["spec"]["strategy"]["canary"]["steps"]
        .as_array()
        .map(|a| a.iter().filter_map(|s| s["setWeight"].as_f64()).map(|w| w.clamp(0.0, 100.0)).collect())
        .unwrap_or_default();
    let total = r["spec"]["strategy"]["canary"]["steps"].as_array().map(Vec::len).unwrap_or(0);
    let index = st["currentStepIndex"].as_u64().unwrap_or(0) as usize;
    let aborted = st["abort"] == Value::Bool(true);
    let phase = if aborted {
        CanaryPhase::Aborted
    } else {
        match st["phase"].as_str() {
            Some("Progressing") => CanaryPhase::Progressing,
            Some("Paused") => CanaryPhase::Paused,
            Some("Degraded") => CanaryPhase::Degraded,
            Some("Healthy") => CanaryPhase::Healthy,
            _ => CanaryPhase::Unknown,
        }
    };
    let stable = st["stableRS"].as_str().unwrap_or("").to_string();
    let current = st["currentPodHash"].as_str().unwrap_or("").to_string();
    let revision = r["metadata"]["annotations"]["rollout.argoproj.io/revision"].as_str().unwrap_or("");
    let rev_of = |hash: &str| hash.rsplit('-').next().unwrap_or(hash).to_string();
    let in_flight = !current.is_empty() && current != stable;
    let canary = in_flight.then(|| if revision.is_empty() { rev_of(&current) } else { revision.to_string() });
    let run = &st["canary"]["currentStepAnalysisRunStatus"];
    let analysis = run["status"].as_str().map(|phase| Analysis {
        passing: !matches!(phase, "Failed" | "Error" | "Inconclusive"),
        verdict: phase.to_string(),
        canary_error_ratio: f64::NAN,
        baseline_error_ratio: f64::NAN,
        canary_p99_ms: f64::NAN,
        baseline_p99_ms: f64::NAN,
    });
    let mut message = super::alertmanager::one_line(st["message"].as_str().unwrap_or(""));
    if let Some(m) = run["message"].as_str().filter(|m| !m.is_empty()) {
        let m = super::alertmanager::one_line(m);
        message = if message.is_empty() { format!("analysis: {m}") } else { format!("{message} · analysis: {m}") };
    }
    let actual = st["canary"]["weights"]["canary"]["weight"].as_f64().unwrap_or(0.0).clamp(0.0, 100.0);
    let since =
        st["pauseConditions"][0]["startTime"].as_str().and_then(|_| time(&st["pauseConditions"][0]["startTime"]));
    Some(Deployment {
        id: format!("{service}/{region}"),
        service: service.to_string(),
        region: region.to_string(),
        phase,
        message,
        stable_revision: rev_of(&stable),
        canary_revision: canary,
        steps,
        step_index: index.min(total.saturating_sub(1)),
        step_total: total,
        weight: actual,
        since,
        analysis,
        blue_green: blue_green(r),
        // Only while a canary is in flight: a finished rollout's canary weight is 0.
        set_weight: set_weight(r).filter(|w| in_flight && (w - actual).abs() > 0.5),
        pause_reason: st["pauseConditions"][0]["reason"].as_str().map(super::alertmanager::one_line),
        analysis_runs: Vec::new(),
        revisions: Vec::new(),
    })
}

/// A blue-green Rollout's colours: `activeSelector` serves, `previewSelector`
/// waits; while `stableRS` is not the active colour (the switch is not yet
/// confirmed by post-promotion analysis) the old colour still runs and a
/// switch back is instant. Each colour's replicas and the scale-down
/// deadline are on its ReplicaSet, not the Rollout: `with_revisions` lays
/// them on (until then the active colour shows the Rollout's counts).
fn blue_green(r: &Value) -> Option<crate::model::BlueGreen> {
    use crate::model::{BlueGreen, Colour};
    let spec = r["spec"]["strategy"].get("blueGreen")?;
    let st = &r["status"];
    let bg = &st["blueGreen"];
    let current = st["currentPodHash"].as_str().unwrap_or("");
    let image = r["spec"]["template"]["spec"]["containers"][0]["image"].as_str().unwrap_or("");
    let revision = r["metadata"]["annotations"]["rollout.argoproj.io/revision"].as_str().unwrap_or("");
    let colour = |hash: &str| Colour {
        hash: hash.to_string(),
        revision: if hash == current && !revision.is_empty() {
            revision.to_string()
        } else {
            hash.rsplit('-').next().unwrap_or(hash).to_string()
        },
        image: if hash == current { super::alertmanager::one_line(image) } else { String::new() },
        ready: None,
    };
    let active = bg["activeSelector"].as_str().unwrap_or("");
    let preview = bg["previewSelector"].as_str().unwrap_or("");
    let stable = st["stableRS"].as_str().unwrap_or("");
    let phase = |v: &Value| v["status"].as_str().map(String::from);
    let auto = spec["autoPromotionEnabled"].as_bool().unwrap_or(true);
    let pause_start = st["pauseConditions"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["reason"] == "BlueGreenPause"))
        .and_then(|p| time(&p["startTime"]));
    let promote_at = match (auto, spec["autoPromotionSeconds"].as_i64(), pause_start) {
        // At most ten years: a hostile number never overflows the clock.
        (true, Some(secs), Some(at)) => at.checked_add_signed(chrono::Duration::seconds(secs.clamp(0, 315_360_000))),
        _ => None,
    };
    // The Rollout's ready count is both colours' pods together: the active
    // colour's own comes from its ReplicaSet (`with_revisions`) or not at all.
    Some(BlueGreen {
        active: colour(active),
        preview: (!preview.is_empty() && preview != active).then(|| {
            let mut p = colour(preview);
            let n = |v: &Value| v.as_u64().map(|n| n.min(u32::MAX as u64) as u32);
            let up = n(&st["updatedReplicas"]).unwrap_or(0);
            p.ready = Some((
                up.min(n(&st["readyReplicas"]).unwrap_or(0)),
                n(&spec["previewReplicaCount"]).unwrap_or(n(&st["replicas"]).unwrap_or(0)),
            ));
            p
        }),
        previous: (!stable.is_empty() && stable != active).then(|| colour(stable)),
        active_service: super::alertmanager::one_line(spec["activeService"].as_str().unwrap_or("")),
        preview_service: super::alertmanager::one_line(spec["previewService"].as_str().unwrap_or("")),
        pre_analysis: phase(&bg["prePromotionAnalysisRunStatus"]),
        post_analysis: phase(&bg["postPromotionAnalysisRunStatus"]),
        auto_promotion: auto,
        promote_at,
        scale_down_secs: spec["scaleDownDelaySeconds"].as_u64().unwrap_or(30),
        scale_down_at: None,
    })
}

/// Every configured region's Rollouts, as one deployments source.
pub struct RolloutsSource {
    pub regions: Vec<Arc<RegionWatch>>,
}

impl Source for RolloutsSource {
    fn name(&self) -> &str {
        "argo-rollouts"
    }
    fn feeds(&self) -> &'static [FeedId] {
        &[FeedId::Deployments]
    }
    fn fetch(&self, _feed: FeedId) -> Fetch<'_> {
        Box::pin(async move {
            let mut out = Vec::new();
            let mut errors = Vec::new();
            let mut listed = 0;
            for w in &self.regions {
                w.ensure_started();
                let c = w.cache.lock().unwrap_or_else(|p| p.into_inner());
                if let Some(e) = &c.error {
                    errors.push(format!("{} ({}): {e}", w.region, w.ctx.name));
                }
                if c.listed {
                    listed += 1;
                    let runs = w.runs.lock().unwrap_or_else(|p| p.into_inner()).clone();
                    let sets = w.replica_sets.lock().unwrap_or_else(|p| p.into_inner()).clone();
                    out.extend(c.objects.values().filter_map(|r| {
                        let name = r["metadata"]["name"].as_str().unwrap_or("");
                        let mut d = normalise(&w.region, r)?;
                        d.analysis_runs = runs_of(name, &runs);
                        Some(with_revisions(d, revisions_of(name, &sets)))
                    }));
                }
            }
            if listed == 0 {
                return Err(match errors.is_empty() {
                    true => FeedError::Source("waiting for the first list of rollouts".into()),
                    false => FeedError::Source(errors.join("; ")),
                });
            }
            out.sort_by(|a, b| a.id.cmp(&b.id));
            let p = Payload::Deployments(out);
            Ok(if errors.is_empty() { p } else { Payload::Partial { inner: Box::new(p), error: errors.join("; ") } })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_canary_and_a_blue_green_rollout_read_as_argo_shows_them() {
        let canary = json!({
            "metadata": {"name": "checkout", "labels": {"app": "checkout"},
                "annotations": {"rollout.argoproj.io/revision": "42"}},
            "spec": {"strategy": {"canary": {"steps": [
                {"setWeight": 10}, {"pause": {}}, {"setWeight": 25}, {"pause": {"duration": "5m"}}]}}},
            "status": {"phase": "Paused", "currentStepIndex": 3, "stableRS": "checkout-41",
                "currentPodHash": "checkout-42", "abort": false,
                "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "2026-12-03T07:00:00Z"}],
                "canary": {"weights": {"canary": {"weight": 20}},
                    "currentStepAnalysisRunStatus": {"name": "r", "status": "Inconclusive", "message": "m\u{1b}[2J"}}}
        });
        let d = normalise("us-east-1", &canary).unwrap_or_else(|| panic!("not read"));
        assert_eq!(
            (d.id.as_str(), d.phase, d.step_total, d.step_index),
            ("checkout/us-east-1", CanaryPhase::Paused, 4, 3)
        );
        assert_eq!((d.weight, d.set_weight), (20.0, Some(25.0)), "actual vs set");
        assert_eq!(d.pause_reason.as_deref(), Some("CanaryPauseStep"));
        assert_eq!((d.stable_revision.as_str(), d.canary_revision.as_deref()), ("41", Some("42")));
        assert!(d.analysis.as_ref().is_some_and(|a| !a.passing && a.verdict == "Inconclusive"));
        assert!(!d.message.chars().any(char::is_control), "{:?}", d.message);
        let mut aborted = canary.clone();
        aborted["status"]["abort"] = json!(true);
        aborted["status"]["phase"] = json!("Degraded");
        assert_eq!(
            normalise("us-east-1", &aborted).map(|d| d.phase),
            Some(CanaryPhase::Aborted),
            "abort, not Degraded"
        );
        let bg = json!({
            "metadata": {"name": "web", "annotations": {"rollout.argoproj.io/revision": "8"}},
            "spec": {"template": {"spec": {"containers": [{"image": "reg/web:v1.8"}]}},
                "strategy": {"blueGreen": {"activeService": "web-active", "previewService": "web-preview",
                    "autoPromotionEnabled": true, "autoPromotionSeconds": 120, "scaleDownDelaySeconds": 600}}},
            "status": {"phase": "Paused", "currentPodHash": "web-8", "stableRS": "web-7", "replicas": 4,
                "readyReplicas": 4, "updatedReplicas": 4,
                "pauseConditions": [{"reason": "BlueGreenPause", "startTime": "2026-12-03T07:00:00Z"}],
                "blueGreen": {"activeSelector": "web-7", "previewSelector": "web-8",
                    "prePromotionAnalysisRunStatus": {"status": "Successful"}}}
        });
        let d = normalise("eu-west-1", &bg).unwrap_or_else(|| panic!("not read"));
        let b = d.blue_green.unwrap_or_default();
        assert_eq!(b.active.revision, "7");
        assert_eq!(b.preview.as_ref().map(|p| (p.revision.as_str(), p.image.as_str())), Some(("8", "reg/web:v1.8")));
        assert_eq!(b.promote_at.map(|t| t.to_rfc3339()), Some("2026-12-03T07:02:00+00:00".into()));
        assert_eq!((b.scale_down_secs, b.pre_analysis.as_deref()), (600, Some("Successful")));
        assert!(b.previous.is_none(), "stable is the active colour: nothing switched yet");
        let mut done = canary.clone();
        done["status"]["currentPodHash"] = json!("checkout-41");
        done["status"]["phase"] = json!("Healthy");
        done["status"]["canary"]["weights"]["canary"]["weight"] = json!(0);
        let d = normalise("us-east-1", &done).unwrap_or_else(|| panic!("not read"));
        assert_eq!((d.canary_revision, d.set_weight), (None, None), "no canary in flight, no set weight");
    }
}
