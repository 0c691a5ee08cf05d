//! The live data plane against the simulator over loopback HTTP: a dead
//! backend turns into errors and STALE marks, a broken feed stays local.

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use warroom::app::view::ViewState;
use warroom::dataplane::{spawn, Intervals};
use warroom::model::Snapshot;
use warroom::snapshot_cmd::{buffer_to_text, render_to_buffer};
use warroom::sources::Clock;
use warroom_sim::{Scenario, SimConfig};

async fn wait_for(
    rx: &mut tokio::sync::watch::Receiver<Arc<Snapshot>>,
    what: &str,
    secs: u64,
    pred: impl Fn(&Snapshot) -> bool,
) -> Arc<Snapshot> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let snap = rx.borrow().clone();
        if pred(&snap) {
            return snap;
        }
        if tokio::time::timeout_at(deadline, rx.changed()).await.is_err() {
            panic!("timed out after {secs}s waiting for {what}");
        }
    }
}

/// Inject a fault into the simulator; returns the HTTP status.
async fn inject(sim: &str, body: &str) -> u16 {
    let r = reqwest::Client::new()
        .post(format!("{sim}/v1/faults"))
        .header("content-type", "application/json")
        .body(body.to_string())
        .send()
        .await;
    match r {
        Ok(r) => r.status().as_u16(),
        Err(e) => panic!("cannot inject a fault: {e}"),
    }
}

fn screen(snap: &Snapshot) -> String {
    let view = ViewState::default();
    buffer_to_text(&render_to_buffer(snap, &view, Utc::now(), &warroom_ui::Theme::ansi(), 120, 40))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dead_backend_marks_panes_error_then_stale() {
    let cfg = SimConfig { scenario: Scenario::Calm, ..SimConfig::default() };
    let Ok(sim) = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await else { panic!("sim did not start") };
    let clock: Clock = Arc::new(Utc::now);
    // Metrics every 100 ms: stale after 300 ms without data.
    let plane = match spawn(&sim.url(), Intervals::default().scaled(0.05), clock) {
        Ok(p) => p,
        Err(e) => panic!("data plane: {e}"),
    };
    let mut rx = plane.snapshots.clone();
    let snap = wait_for(&mut rx, "first metrics and probes", 20, |s| {
        !s.fleet.metrics.items().is_empty() && !s.fleet.probes.items().is_empty()
    })
    .await;
    let live = screen(&snap);
    assert!(!live.contains("STALE") && !live.contains("ERROR"), "{live}");

    sim.shutdown().await;
    let snap = wait_for(&mut rx, "metrics error", 20, |s| s.fleet.metrics.error.is_some()).await;
    assert!(snap.fleet.metrics.data.is_some(), "the last good data is kept");
    let snap = wait_for(&mut rx, "metrics stale", 20, |s| s.fleet.metrics.is_stale(Utc::now())).await;
    let text = screen(&snap);
    assert!(text.contains("STALE"), "panes show STALE:\n{text}");
    assert!(text.contains("ERROR"), "panes show the error:\n{text}");
    assert!(text.contains("refused") || text.contains("unreachable"), "the reason is shown:\n{text}");
    // Probes keep arriving (all refused, so UNKNOWN) while everything else
    // fails: the header must not claim OK, and must say sources fail.
    let snap = wait_for(&mut rx, "refused probes", 20, |s| {
        s.fleet.probes.items().iter().all(|p| p.status == warroom::model::ProbeStatus::Unknown)
            && s.fleet.probes.is_fresh(Utc::now())
    })
    .await;
    let text = screen(&snap);
    let header = text.lines().next().unwrap_or_default();
    assert!(!header.contains("OK"), "a dead control plane is never OK: {header}");
    assert!(header.contains("✖ SOURCES FAILING"), "the header says sources fail: {header}");
    drop(plane);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_on_one_feed_leaves_the_others_working() {
    let Ok(sim) = warroom_sim::start(SimConfig::default(), ([127, 0, 0, 1], 0).into()).await else {
        panic!("sim did not start")
    };
    assert_eq!(inject(&sim.url(), r#"{"path":"/v1/flags","kind":"garbage"}"#).await, 201);
    let clock: Clock = Arc::new(Utc::now);
    let plane = match spawn(&sim.url(), Intervals::default().scaled(0.05), clock) {
        Ok(p) => p,
        Err(e) => panic!("data plane: {e}"),
    };
    let mut rx = plane.snapshots.clone();
    let snap = wait_for(&mut rx, "flags error and live metrics", 20, |s| {
        s.fleet.flags.error.is_some() && !s.fleet.metrics.items().is_empty() && !s.fleet.deployments.items().is_empty()
    })
    .await;
    assert!(snap.fleet.flags.error_text().as_deref().is_some_and(|e| e.contains("bad response")));
    assert!(snap.fleet.metrics.error.is_none());
    let text = screen(&snap);
    assert!(text.contains("bad response"), "{text}");
    assert!(text.contains("checkout/use1"), "canaries still shown:\n{text}");
    drop(plane);
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_endpoint_times_out_instead_of_freezing() {
    let Ok(sim) = warroom_sim::start(SimConfig::default(), ([127, 0, 0, 1], 0).into()).await else {
        panic!("sim did not start")
    };
    inject(&sim.url(), r#"{"path":"/v1/circuits","kind":"hang"}"#).await;
    let clock: Clock = Arc::new(Utc::now);
    let Ok(plane) = spawn(&sim.url(), Intervals::default().scaled(0.1), clock) else { panic!("data plane") };
    let mut rx = plane.snapshots.clone();
    let snap = wait_for(&mut rx, "circuits timeout", 20, |s| s.fleet.circuits.error.is_some()).await;
    assert!(
        snap.fleet.circuits.error_text().as_deref().is_some_and(|e| e.contains("timed out")),
        "{:?}",
        snap.fleet.circuits.error
    );
    drop(plane);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_and_garbage_answers_are_errors() {
    let Ok(sim) = warroom_sim::start(SimConfig::default(), ([127, 0, 0, 1], 0).into()).await else {
        panic!("sim did not start")
    };
    let client = reqwest::Client::new();
    let big = warroom::sources::get_limited(&client, &format!("{}/metrics", sim.url()), 1000).await;
    assert!(matches!(big, Err(warroom::sources::FeedError::TooLarge(1000))), "{big:?}");
    // Alertmanager source against a garbage body.
    inject(&sim.url(), r#"{"path":"/api/v2/alerts","kind":"garbage"}"#).await;
    let am = warroom::sources::alertmanager::Alertmanager::new(&sim.url(), client.clone(), None);
    let e = am.fetch().await.err().map(|e| e.to_string()).unwrap_or_default();
    assert!(e.starts_with("bad response"), "{e}");
    // A slow answer times out in the poll loop rather than stalling anything.
    inject(&sim.url(), r#"{"path":"/api/v2/alerts","kind":"latency","latencyMs":3000}"#).await;
    let clock: Clock = Arc::new(Utc::now);
    let Ok(plane) = spawn(&sim.url(), Intervals::default().scaled(0.05), clock) else { panic!("data plane") };
    let mut rx = plane.snapshots.clone();
    let snap = wait_for(&mut rx, "alerts timeout and live metrics", 20, |s| {
        s.fleet.alerts.error_text().as_deref().is_some_and(|e| e.contains("timed out"))
            && !s.fleet.metrics.items().is_empty()
    })
    .await;
    assert!(snap.fleet.metrics.error.is_none());
    drop(plane);
}
