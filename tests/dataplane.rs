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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_range_is_asked_of_the_metrics_source_once_and_answered_into_the_snapshot() {
    use warroom::model::range::{RangeQuery, WEEK_SECS};
    let cfg = SimConfig { scenario: Scenario::Calm, ..SimConfig::default() };
    let Ok(sim) = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await else { panic!("sim did not start") };
    let clock: Clock = Arc::new(Utc::now);
    let plane = match spawn(&sim.url(), Intervals::default().scaled(0.25), clock) {
        Ok(p) => p,
        Err(e) => panic!("data plane: {e}"),
    };
    let mut rx = plane.snapshots.clone();
    let Some(asker) = plane.ranges.clone() else { panic!("the control plane feeds metrics: ranges can be asked") };
    assert_eq!(&*asker.source, "control-plane");
    let q = RangeQuery::new("checkout", "us-east-1", 21_600, 0, 100);
    let week = RangeQuery::new("checkout", "us-east-1", 21_600, WEEK_SECS, 100);
    // Asked five times (five frames), answered once: one query per refresh.
    for _ in 0..5 {
        asker.ask(q.clone());
        asker.ask(week.clone());
    }
    let snap = wait_for(&mut rx, "both windows", 20, |s| s.range(&q).is_some() && s.range(&week).is_some()).await;
    let (Some(r), Some(w)) = (snap.range(&q), snap.range(&week)) else { unreachable!() };
    assert_eq!((r.error.clone(), r.source.as_str()), (None, "control-plane"));
    assert_eq!(r.p99.len(), q.points as usize, "the points asked for");
    assert!(r.p99.iter().chain(&r.p95).chain(&r.p50).all(|v| v.is_finite()), "the sim has 31 days of history");
    assert!((r.step_secs - 21_600.0 / (q.points as f64 - 1.0)).abs() < 1e-6, "{}", r.step_secs);
    // The last point is the sim's model at the window's end.
    let world = &sim.state.world;
    let Some(end) = r.end else { panic!("no end time") };
    let t = end.timestamp_millis() as f64 / 1000.0 - world.start_unix;
    let s = world.fleet.service_index("checkout").unwrap_or(usize::MAX);
    let reg = world.fleet.regions.iter().position(|x| x.name == "us-east-1").unwrap_or(usize::MAX);
    let truth = world.inst(s, reg, t);
    let last = r.p99.last().copied().unwrap_or(f64::NAN);
    assert!((last - truth.p99).abs() <= 0.05 + 1e-9, "p99 {last} vs the model's {}", truth.p99);
    // The week-earlier window ends a week before.
    let Some(wend) = w.end else { panic!("no end time") };
    let gap = (end - wend).num_seconds() - WEEK_SECS as i64;
    assert!(gap.abs() <= 5, "a week apart (±the seconds between the two asks): {gap}");
    let asked = || {
        let n = sim.state.request_counts().get("/v1/metrics/range").copied().unwrap_or(0);
        n
    };
    assert_eq!(asked(), 2, "each window once, not once per ask");
    // An SLO's burn: the error ratio over every region, weighted by requests.
    let burn = RangeQuery::errors("checkout", 3_600, 100);
    asker.ask(burn.clone());
    let snap = wait_for(&mut rx, "the burn window", 20, |s| s.range(&burn).is_some()).await;
    let Some(b) = snap.range(&burn) else { unreachable!() };
    assert_eq!((b.error.clone(), b.err.len()), (None, burn.points as usize));
    assert!(b.p99.iter().all(|v| v.is_nan()), "no percentiles across regions");
    let Some(bend) = b.end else { panic!("no end time") };
    let t = bend.timestamp_millis() as f64 / 1000.0 - world.start_unix;
    let all: Vec<_> = (0..world.fleet.regions.len()).map(|r| world.inst(s, r, t)).collect();
    let ratio = all.iter().map(|x| x.rps * x.err).sum::<f64>() / all.iter().map(|x| x.rps).sum::<f64>();
    let last = b.err.last().copied().unwrap_or(f64::NAN);
    assert!((last - ratio).abs() <= 1e-6, "error ratio {last} vs the model's {ratio}");
    // A latency SLO's burn: the share slower than its threshold, per step.
    let slow = RangeQuery::slow("checkout", 120.0, 3_600, 100);
    asker.ask(slow.clone());
    let snap = wait_for(&mut rx, "the slow window", 20, |s| s.range(&slow).is_some()).await;
    let Some(b) = snap.range(&slow) else { unreachable!() };
    assert_eq!(b.error, None);
    let (Some(end), last) = (b.end, b.err.last().copied().unwrap_or(f64::NAN)) else { panic!("no end time") };
    let t = end.timestamp_millis() as f64 / 1000.0 - world.start_unix;
    let (mut total, mut fast) = (0.0, 0.0);
    for r in 0..world.fleet.regions.len() {
        total += world.counts(s, r, t - b.step_secs, t).total;
        fast += world.fast(s, r, t - b.step_secs, t, 120.0);
    }
    let truth = (total - fast) / total;
    assert!((last - truth).abs() <= 2e-6, "slow share {last} vs the model's {truth}");
    assert!(b.err.iter().all(|v| (0.0..=1.0).contains(v)), "{:?}", b.err);
    // A failing source: the answer says why (and the chart shows it), once.
    assert_eq!(inject(&sim.url(), r#"{"path":"/v1/metrics/range","kind":"status","status":503}"#).await, 201);
    let bad = RangeQuery::new("checkout", "us-east-1", 86_400, 0, 100);
    asker.ask(bad.clone());
    let snap = wait_for(&mut rx, "the failed window", 20, |s| s.range(&bad).is_some()).await;
    let e = snap.range(&bad).and_then(|r| r.error.clone()).unwrap_or_default();
    assert!(e.contains("503"), "{e}");
    // An unknown service is the backend's 404, not an empty chart.
    let _ = reqwest::Client::new().delete(format!("{}/v1/faults", sim.url())).send().await;
    let ghost = RangeQuery::new("no-such-service", "us-east-1", 900, 0, 100);
    asker.ask(ghost.clone());
    let snap = wait_for(&mut rx, "the unknown service", 20, |s| s.range(&ghost).is_some()).await;
    let e = snap.range(&ghost).and_then(|r| r.error.clone()).unwrap_or_default();
    assert!(e.contains("404") || e.contains("unknown service"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_feed_slower_than_its_default_timeout_is_read_with_a_longer_one() {
    let cfg = SimConfig { scenario: Scenario::Calm, ..SimConfig::default() };
    let Ok(sim) = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await else { panic!("sim did not start") };
    // Every metrics answer takes 700 ms: longer than 0.8 × a 500 ms interval.
    let slow = r#"{"path":"/v1/metrics","kind":"latency","latencyMs":700}"#;
    assert_eq!(inject(&sim.url(), slow).await, 201);
    let clock: Clock = Arc::new(Utc::now);
    let short = Intervals::default().scaled(0.25);
    assert_eq!(short.timeout(warroom::model::FeedId::Metrics), Duration::from_millis(400));
    let plane = match spawn(&sim.url(), short, clock.clone()) {
        Ok(p) => p,
        Err(e) => panic!("data plane: {e}"),
    };
    let mut rx = plane.snapshots.clone();
    let snap = wait_for(&mut rx, "the metrics feed timing out", 20, |s| s.fleet.metrics.error.is_some()).await;
    let e = snap.fleet.metrics.error_text().unwrap_or_default();
    assert!(e.contains("timed out") || e.contains("timeout"), "{e}");
    assert!(snap.fleet.metrics.items().is_empty(), "nothing read within 400 ms");
    drop(plane);
    // The same feed with its own timeout: read, fresh, no error.
    let long =
        Intervals::default().scaled(0.25).with_timeout(warroom::model::FeedId::Metrics, Some(Duration::from_secs(2)));
    let plane = match spawn(&sim.url(), long, clock) {
        Ok(p) => p,
        Err(e) => panic!("data plane: {e}"),
    };
    let mut rx = plane.snapshots.clone();
    let snap = wait_for(&mut rx, "metrics read with a 2 s timeout", 20, |s| !s.fleet.metrics.items().is_empty()).await;
    assert_eq!(snap.fleet.metrics.error, None);
}

/// A fleet with more probes than the budget of a round is probed a slice
/// per round, in turn: the requests per round stay within the budget, and
/// every round answers with each probe's latest result, those from an
/// earlier round saying when they were checked.
#[tokio::test]
async fn probes_over_the_budget_are_probed_in_turn_and_say_when_they_were_checked() {
    use warroom::sources::health::{probe_client, ProbeRounds, ProbeTemplates};
    let cfg = SimConfig { time_scale: 0.0, start_unix: Some(1_768_478_400.0), ..SimConfig::default() };
    let Ok(sim) = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await else { panic!("sim") };
    let Ok(client) = probe_client(None, false) else { panic!("client") };
    let t = ProbeTemplates::for_base(&sim.url());
    // 3 services × 2 regions × (health, ready) = 12 probes, 5 per round.
    let pairs: Vec<(String, String)> = ["auth", "checkout", "search"]
        .iter()
        .flat_map(|s| ["us-east-1", "eu-west-1"].map(|r| (s.to_string(), r.to_string())))
        .collect();
    let rounds = std::sync::Mutex::new(ProbeRounds::default());
    let run = (4, Duration::from_secs(5), Duration::ZERO);
    let asked = || sim.state.request_counts().get("/svc").copied().unwrap_or(0);
    let mut seen = Vec::new();
    for round in 1..=3u64 {
        let before = asked();
        let out = ProbeRounds::round(&rounds, &client, &t, pairs.clone(), 5, run, Utc::now()).await;
        assert_eq!(asked() - before, 5, "round {round}: five requests");
        // Round 1 knows 5 probes, round 2 ten, round 3 all twelve.
        assert_eq!(out.len(), (5 * round as usize).min(12), "round {round}");
        let old = out.iter().filter(|p| p.detail.contains("checked ")).count();
        assert_eq!(old, out.len() - 5, "round {round}: only this round's five are fresh");
        seen.push(out);
    }
    // Within the budget: everything every round, nothing marked old.
    let before = asked();
    let out = ProbeRounds::round(&rounds, &client, &t, pairs, 12, run, Utc::now()).await;
    assert_eq!((out.len(), asked() - before), (12, 12));
    assert!(out.iter().all(|p| !p.detail.contains("checked ")));
    sim.shutdown().await;
}
