//! The seed's blue-green pattern in the `blue-green` and `bad-green`
//! scenarios: `v1.7` (blue) serves; `v1.8` (green) deploys on standby
//! behind the preview service; its pre-promotion health checks pass after
//! `READY_AT` seconds and it waits for the operator (auto-promotion off);
//! promote switches the active service to green, blue keeps running for
//! `SCALE_DOWN` seconds (the instant switch-back window) while green's
//! post-promotion analysis runs — in `bad-green` it fails, and the
//! operator switches back. One state, served by the control plane's
//! `/v1/deployments` and by the Kubernetes API as an Argo Rollout.

use serde_json::{json, Value};

use crate::scenario::Scenario;
use crate::server::SimState;

/// Seconds until green's pre-promotion checks have passed.
pub const READY_AT: f64 = 30.0;
/// Seconds green's post-promotion analysis runs.
pub const POST_ANALYSIS: f64 = 30.0;
/// Seconds blue keeps running after the switch (`scaleDownDelaySeconds`).
pub const SCALE_DOWN: f64 = 300.0;
pub const BLUE: u64 = 7;
pub const GREEN: u64 = 8;

/// What the operator did, in scenario time.
#[derive(Debug, Default, Clone)]
pub struct Ops {
    pub promoted_at: Option<f64>,
    pub switched_back_at: Option<f64>,
}

/// Where a blue-green rollout stands at `t`.
#[derive(Debug, Clone, PartialEq)]
pub struct View {
    pub service: String,
    pub region: String,
    /// Serving revision; the waiting one; the one kept running.
    pub active: u64,
    pub preview: Option<u64>,
    pub previous: Option<u64>,
    pub green_ready: u32,
    pub pre: &'static str,
    pub post: Option<&'static str>,
    pub phase: &'static str,
    pub message: String,
    pub paused_since: Option<f64>,
    pub aborted: bool,
}

/// The service and region the blue-green rollout belongs to: the first
/// service with no canary in the first region.
pub fn target(st: &SimState) -> Option<(usize, usize)> {
    let w = &st.world;
    if !matches!(w.scenario, Scenario::BlueGreen | Scenario::BadGreen) {
        return None;
    }
    let r = 0;
    let s =
        (0..w.fleet.services.len()).find(|s| !w.script.deployments.iter().any(|d| d.service == *s && d.region == r))?;
    Some((s, r))
}

pub fn view(st: &SimState, t: f64) -> Option<View> {
    let (s, r) = target(st)?;
    let w = &st.world;
    let bad = w.scenario == Scenario::BadGreen;
    let ops = st.bluegreen.lock().map(|o| o.clone()).unwrap_or_default();
    let green_ready = ((t / READY_AT) * 10.0).clamp(0.0, 10.0) as u32;
    let pre = if t < READY_AT { "Running" } else { "Successful" };
    let mut v = View {
        service: w.fleet.services[s].name.clone(),
        region: w.fleet.regions[r].name.clone(),
        active: BLUE,
        preview: Some(GREEN),
        previous: None,
        green_ready,
        pre,
        post: None,
        phase: if t < READY_AT { "Progressing" } else { "Paused" },
        message: if t < READY_AT {
            format!("green v1.{GREEN} scaling up on standby ({green_ready}/10 ready)")
        } else {
            format!("green v1.{GREEN} ready on standby, health checks passed: waiting for promotion")
        },
        paused_since: (t >= READY_AT).then_some(READY_AT),
        aborted: false,
    };
    let Some(p) = ops.promoted_at.filter(|p| *p <= t) else { return Some(v) };
    // Switched: green serves, blue is kept for the window.
    v.active = GREEN;
    v.preview = None;
    v.paused_since = None;
    let blue_running = t < p + SCALE_DOWN;
    let post_done = t >= p + POST_ANALYSIS;
    v.post = Some(match (post_done, bad) {
        (false, _) => "Running",
        (true, false) => "Successful",
        (true, true) => "Failed",
    });
    v.previous = ((bad || !post_done) && blue_running).then_some(BLUE);
    (v.phase, v.message) = match v.post {
        Some("Running") => ("Progressing", format!("green v1.{GREEN} serving; post-promotion analysis running")),
        Some("Failed") => {
            ("Degraded", format!("green v1.{GREEN} serving; post-promotion analysis failed: error-rate 4.2% > 1%"))
        }
        _ => ("Healthy", format!("green v1.{GREEN} serving")),
    };
    if let Some(b) = ops.switched_back_at.filter(|b| *b <= t) {
        v.active = BLUE;
        v.preview = Some(GREEN);
        v.previous = None;
        v.aborted = true;
        v.phase = "Degraded";
        v.message = format!("RolloutAborted: switched back to blue v1.{BLUE} {:.0}s after the switch", b - p);
    }
    Some(v)
}

/// An operator's promote (switch) or abort (switch back); Err with the
/// reason it cannot be done now.
pub fn act(st: &SimState, kind: &str, t: f64) -> Result<String, (u16, String)> {
    let v = view(st, t).ok_or((404, "no blue-green rollout".to_string()))?;
    let mut ops = st.bluegreen.lock().unwrap_or_else(|e| e.into_inner());
    match kind {
        "promote" | "resume" | "promoteFull" => {
            if ops.promoted_at.is_some() {
                return Err((409, format!("green v1.{GREEN} already serves")));
            }
            if v.pre != "Successful" {
                return Err((409, "green's pre-promotion checks have not passed yet".into()));
            }
            ops.promoted_at = Some(t);
            Ok(format!("switched {} to green v1.{GREEN}; blue v1.{BLUE} kept for {SCALE_DOWN:.0}s", v.service))
        }
        "rollback" => {
            if v.aborted {
                return Err((409, "already switched back".into()));
            }
            if ops.promoted_at.is_some() && v.previous.is_none() {
                return Err((409, format!("blue v1.{BLUE} is no longer running: roll back by deploying it again")));
            }
            if ops.promoted_at.is_none() {
                // Aborting before the switch: green is dropped, blue serves on.
                ops.promoted_at = Some(t);
            }
            ops.switched_back_at = Some(t);
            Ok(format!("switched {} back to blue v1.{BLUE}", v.service))
        }
        other => Err((422, format!("{other} is not a blue-green action"))),
    }
}

/// The control plane's `/v1/deployments` entry.
pub fn control_plane(st: &SimState, t: f64) -> Option<Value> {
    let v = view(st, t)?;
    let w = &st.world;
    Some(json!({
        "id": format!("{}/{}", v.service, v.region),
        "service": v.service,
        "region": v.region,
        "strategy": "blueGreen",
        "phase": if v.aborted { "Aborted" } else { v.phase },
        "message": v.message,
        "revision": {"stable": v.active.to_string(), "canary": v.preview.map(|p| p.to_string())},
        "steps": [],
        "step": {"index": 0, "total": 0},
        "weight": if v.active == GREEN { 100.0 } else { 0.0 },
        "since": v.paused_since.map(|p| crate::server::iso(w, p)),
        "analysis": Value::Null,
        "blueGreen": {
            "activeService": format!("{}-active", v.service),
            "previewService": format!("{}-preview", v.service),
            "active": {"revision": v.active.to_string(), "image": image(&v.service, v.active), "ready": 10, "desired": 10},
            "preview": v.preview.map(|p| json!({"revision": p.to_string(), "image": image(&v.service, p), "ready": v.green_ready, "desired": 10})),
            "previous": v.previous.map(|p| json!({"revision": p.to_string(), "image": image(&v.service, p), "ready": 10, "desired": 10})),
            "prePromotionAnalysis": v.pre,
            "postPromotionAnalysis": v.post,
            "autoPromotionEnabled": false,
            "scaleDownDelaySeconds": SCALE_DOWN as u64,
            "scaleDownAt": st.bluegreen.lock().ok().and_then(|o| o.promoted_at).filter(|_| v.previous.is_some()).map(|p| crate::server::iso(w, p + SCALE_DOWN)),
        },
    }))
}

pub fn image(service: &str, rev: u64) -> String {
    format!("registry.example.com/{service}:v1.{rev}")
}

/// The Argo Rollout (`strategy.blueGreen`), for the Kubernetes API.
pub fn rollout(st: &SimState, t: f64) -> Option<(String, String, Value)> {
    let v = view(st, t)?;
    let w = &st.world;
    let hash = |rev: u64| format!("{}-{rev}", v.service);
    let newest = GREEN;
    let pause = v.paused_since.map(|p| json!([{"reason": "BlueGreenPause", "startTime": crate::server::iso(w, p)}]));
    let stable = if v.post == Some("Successful") && !v.aborted { GREEN } else { BLUE };
    let obj = json!({
        "apiVersion": "argoproj.io/v1alpha1",
        "kind": "Rollout",
        "metadata": {
            "name": v.service,
            "namespace": crate::kube::NAMESPACE,
            "uid": format!("sim-{}-{}", v.region, v.service),
            "labels": {"app": v.service, "warroom.io/region": v.region},
            "annotations": {"rollout.argoproj.io/revision": newest.to_string()},
        },
        "spec": {
            "replicas": 10,
            "paused": false,
            "selector": {"matchLabels": {"app": v.service}},
            "template": {"metadata": {"labels": {"app": v.service}},
                "spec": {"containers": [{"name": v.service, "image": image(&v.service, newest)}]}},
            "strategy": {"blueGreen": {
                "activeService": format!("{}-active", v.service),
                "previewService": format!("{}-preview", v.service),
                "autoPromotionEnabled": false,
                "scaleDownDelaySeconds": SCALE_DOWN as u64,
                "prePromotionAnalysis": {"templates": [{"templateName": "smoke"}]},
                "postPromotionAnalysis": {"templates": [{"templateName": "error-rate"}]},
            }},
        },
        "status": {
            "phase": v.phase,
            "message": v.message,
            "abort": v.aborted,
            "pauseConditions": pause,
            "currentPodHash": hash(newest),
            "stableRS": hash(stable),
            "replicas": 10,
            "updatedReplicas": v.green_ready,
            "readyReplicas": 10,
            "availableReplicas": 10,
            "blueGreen": {
                "activeSelector": hash(v.active),
                "previewSelector": hash(v.preview.unwrap_or(v.active)),
                "prePromotionAnalysisRunStatus": {"name": format!("{}-{newest}-pre", v.service), "status": v.pre},
                "postPromotionAnalysisRunStatus": v.post.map(|p| json!({"name": format!("{}-{newest}-post", v.service), "status": p})),
            },
        },
    });
    Some((v.region, v.service, obj))
}
