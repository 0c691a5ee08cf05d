//! The change timeline and incidents, scenario-driven against the
//! simulator: during `region-outage` the timeline has the region going DOWN
//! (at the simulated time it did) before its SLOs reach PAGE; a failover's
//! action comes before the weight changes it caused; an incident opened at
//! detection and resolved after the failover exports a postmortem whose
//! times are the timeline's and whose failed requests match the
//! simulator's ground truth (`/v1/truth/counts`); the history survives a
//! restart of the store.

mod common;

use std::sync::Arc;

use serde_json::Value;
use warroom::model::changes::{Change, ChangeKind};
use warroom::model::incident::Post;

fn find(s: &warroom::model::Snapshot, f: impl Fn(&Change) -> bool) -> Option<&Change> {
    s.changes.iter().find(|c| f(c))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_region_outage_from_the_timeline_to_the_postmortem() {
    use warroom::actions::{executor, Action, Operator, Role};
    let (_sim, url) = common::spawn_sim(&["--scenario", "region-outage", "--at", "40s", "--time-scale", "4"]);
    let dir = std::env::temp_dir().join(format!("warroom-changes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let history = warroom::store::History {
        file: Some(dir.join("changes.jsonl")),
        keep: 0,
        incidents: Some(dir.join("incidents")),
        business: checkout_worth(),
        ..Default::default()
    };
    let (mut sources, routes) =
        warroom::wiring::control_plane_with_databases(&url).await.unwrap_or_else(|e| panic!("{e}"));
    sources.history = history.clone();
    let clock: warroom::sources::Clock = Arc::new(chrono::Utc::now);
    let plane = warroom::dataplane::spawn_sources(sources, warroom::dataplane::Intervals::default(), clock.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    let exec = executor::spawn_routed(
        routes,
        warroom::audit::AuditLog::open(&dir.join("audit.jsonl")),
        plane.updates.clone(),
        clock,
        Some(plane.snapshots.clone()),
    );
    let mut snaps = plane.snapshots.clone();
    let down = |c: &Change| c.kind == ChangeKind::Region && c.subject == "us-west-2" && c.after == "DOWN";
    let page = |c: &Change| c.kind == ChangeKind::Slo && c.after == "PAGE";
    let snap = common::snapshot_where(
        &mut snaps,
        90,
        "us-west-2 DOWN and an SLO at PAGE in the timeline",
        |s| find(s, down).is_some() && find(s, page).is_some(),
        |s| format!("{:?}", s.changes.iter().map(|c| (c.kind, &c.subject, c.transition())).collect::<Vec<_>>()),
    )
    .await;
    let went_down = find(&snap, down).cloned().unwrap_or_else(|| panic!("no DOWN"));
    let paged = find(&snap, page).cloned().unwrap_or_else(|| panic!("no PAGE"));
    assert!(went_down.at < paged.at, "DOWN {} before PAGE {}", went_down.at, paged.at);
    // The simulated time it went down: the scenario's 60 s, in the sim's clock.
    let fleet = get_json(&format!("{url}/v1/fleet")).await;
    let sim_now = chrono::DateTime::parse_from_rfc3339(fleet["time"].as_str().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {fleet}"))
        .with_timezone(&chrono::Utc);
    let sim_secs = fleet["scenarioSeconds"].as_f64().unwrap_or(0.0);
    let start = sim_now - chrono::Duration::milliseconds((sim_secs * 1000.0) as i64);
    let at60 = start + chrono::Duration::seconds(60);
    let regions: Vec<String> = snap
        .changes
        .iter()
        .filter(|c| c.kind == ChangeKind::Region)
        .map(|c| format!("{} {} {}", c.at, c.subject, c.transition()))
        .collect();
    assert!((went_down.at - at60).num_seconds().abs() <= 1, "DOWN at {} (sim 60 s: {at60}): {regions:?}", went_down.at);
    // Open the incident at detection, then fail us-west-2 over.
    let alice = Operator { name: "alice".into(), role: Role::Operator };
    exec.post(Post::IncidentStart {
        title: "us-west-2 down".into(),
        severity: "sev1".into(),
        operator: "alice".into(),
    });
    common::snapshot_where(&mut snaps, 20, "the incident open", |s| s.incident.is_some(), |_| String::new()).await;
    let intent = executor::Intent {
        action: Action::Failover { region: "us-west-2".into() },
        key: executor::new_key(),
        operator: alice,
        disposition: executor::Disposition::Go,
    };
    exec.submit(intent).unwrap_or_else(|e| panic!("{e}"));
    let drained = |c: &Change| c.kind == ChangeKind::Traffic && c.subject == "us-west-2" && c.after == "0%";
    let snap = common::snapshot_where(
        &mut snaps,
        60,
        "us-west-2 drained",
        |s| find(s, drained).is_some(),
        |s| {
            format!(
                "{:?}",
                s.changes.newest().take(12).map(|c| (c.kind, &c.subject, c.transition())).collect::<Vec<_>>()
            )
        },
    )
    .await;
    let sent = find(&snap, |c| c.kind == ChangeKind::Action && c.subject == "fail over us-west-2")
        .cloned()
        .unwrap_or_else(|| panic!("no action event"));
    assert_eq!(sent.source, "alice");
    let first_weight = find(&snap, |c| c.kind == ChangeKind::Traffic).cloned().unwrap_or_else(|| panic!("no weight"));
    assert!(sent.at <= first_weight.at, "the action ({}) before the weights it moved ({})", sent.at, first_weight.at);
    let order: Vec<usize> = ["us-west-2"]
        .iter()
        .filter_map(|r| snap.changes.iter().position(|c| c.kind == ChangeKind::Traffic && c.subject == *r))
        .collect();
    let action_pos = snap.changes.iter().position(|c| c.kind == ChangeKind::Action).unwrap_or(usize::MAX);
    assert!(order.iter().all(|p| *p > action_pos), "in the log, the action comes first");
    let done = |c: &Change| c.kind == ChangeKind::Action && c.after.starts_with("SUCCEEDED");
    common::snapshot_where(&mut snaps, 60, "the failover done", |s| find(s, done).is_some(), |_| String::new()).await;
    exec.post(Post::Note { text: "drained us-west-2".into(), operator: "alice".into() });
    exec.post(Post::IncidentResolve { operator: "alice".into() });
    common::snapshot_where(&mut snaps, 20, "the incident resolved", |s| s.incident.is_none(), |_| String::new()).await;
    // The postmortem, through the CLI.
    let out = std::process::Command::new(common::BIN)
        .args(["incident", "export", "latest", "--format", "json", "--dir"])
        .arg(dir.join("incidents"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
    let t = |k: &str| {
        chrono::DateTime::parse_from_rfc3339(report[k].as_str().unwrap_or_else(|| panic!("no {k}: {report}")))
            .unwrap_or_else(|e| panic!("{k}: {e}"))
            .with_timezone(&chrono::Utc)
    };
    assert!(t("impact_at") <= went_down.at, "impact began by the time it went down");
    assert!(t("detected_at") <= t("opened_at"));
    assert!(t("mitigated_at") >= sent.at && t("mitigated_at") <= t("resolved_at"));
    assert_eq!(report["severity"], "sev1");
    assert!(report["downtime"].as_array().is_some_and(|d| d.iter().any(|x| x[0] == "us-west-2")), "{report}");
    // Failed requests against the simulator's ground truth, over the same
    // instants the console read its metrics at.
    let (from, to) = (t("metrics_from"), t("metrics_to"));
    let truth = get_json(&format!(
        "{url}/v1/truth/counts?from={}&to={}",
        from.timestamp_millis() as f64 / 1000.0,
        to.timestamp_millis() as f64 / 1000.0
    ))
    .await;
    let failed = report["requests_failed"].as_array().cloned().unwrap_or_default();
    assert!(!failed.is_empty(), "{report}");
    for row in failed {
        let (svc, ours) = (row[0].as_str().unwrap_or(""), row[1].as_f64().unwrap_or(-1.0));
        let theirs = truth[svc]["bad"].as_f64().unwrap_or(-1.0);
        assert!(theirs > 0.0, "{svc}: {truth}");
        // The sim's observedAt is whole seconds: each reading's instant is
        // known to a second, so the bound is 2% plus two seconds of failures.
        let per_sec = theirs / (to - from).num_milliseconds().max(1000) as f64 * 1000.0;
        assert!(
            (ours - theirs).abs() <= 0.02 * theirs + 2.0 * per_sec + 5.0,
            "{svc}: failed requests {ours:.0}, the sim says {theirs:.0} ({per_sec:.0}/s)"
        );
        eprintln!("{svc}: failed requests {ours:.0}, the sim says {theirs:.0}");
    }
    business_priced(&report);
    let md = std::process::Command::new(common::BIN)
        .args(["incident", "export", "latest", "--dir"])
        .arg(dir.join("incidents"))
        .output()
        .unwrap_or_else(|e| panic!("{e}"));
    let md = String::from_utf8_lossy(&md.stdout);
    assert!(md.contains("# INC-") && md.contains("time to detect") && md.contains("drained us-west-2"), "{md}");
    assert!(md.contains("| checkout | orders not placed |") && md.contains("0.8500 USD"), "{md}");
    // The history outlives the store: a new one reads it back.
    drop(exec);
    drop(plane);
    let mut again = warroom::store::Store::new(&warroom::dataplane::Intervals::default()).with_history(history);
    let snap = again.snapshot();
    assert!(find(&snap, down).is_some(), "the outage is still in the timeline after a restart");
}

/// The JSON body of a GET (Null when there is none).
/// A checkout is worth 0.85 USD (the business figure kept in the incident).
fn checkout_worth() -> std::sync::Arc<Vec<warroom::model::incident::BusinessRate>> {
    std::sync::Arc::new(vec![warroom::model::incident::BusinessRate {
        service: "checkout".into(),
        per_failed_request: 0.85,
        unit: "USD".into(),
        what: "orders not placed".into(),
    }])
}

/// The business figure kept with the incident prices its failed requests.
fn business_priced(report: &Value) {
    let failed_checkout = report["requests_failed"]
        .as_array()
        .and_then(|v| v.iter().find(|r| r[0] == "checkout"))
        .and_then(|r| r[1].as_f64())
        .unwrap_or_else(|| panic!("checkout failed nothing in a region outage: {report}"));
    let b = &report["business"][0];
    assert_eq!((b["service"].as_str(), b["unit"].as_str()), (Some("checkout"), Some("USD")), "{report}");
    let value = b["value"].as_f64().unwrap_or(-1.0);
    assert!((value - failed_checkout * 0.85).abs() < 1e-6, "{value} for {failed_checkout} failed requests");
}

async fn get_json(url: &str) -> Value {
    match reqwest::get(url).await {
        Ok(r) => r.json::<Value>().await.unwrap_or(Value::Null),
        Err(_) => Value::Null,
    }
}
