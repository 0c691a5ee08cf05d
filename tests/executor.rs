//! The action executor against the simulator over loopback: exactly-once
//! execution through retries and lost responses, refusals and denials that
//! send nothing, and an audit trail that verifies afterwards.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::{json, Value};
use tokio::sync::mpsc;
use warroom::actions::executor::{new_key, spawn, Disposition, Executor, Intent};
use warroom::actions::{Action, Operator, Role};
use warroom::audit::{verify, AuditLog, Verdict};
use warroom::model::{ActionEntry, ActionStatus};
use warroom::sources::{Clock, Payload, Update};
use warroom_sim::{Scenario, SimConfig, SimHandle};

mod common;

struct Rig {
    sim: SimHandle,
    exec: Executor,
    rx: mpsc::Receiver<Update>,
    audit: PathBuf,
}

async fn rig(name: &str, scenario: Scenario, at: f64, scale: f64) -> Rig {
    let cfg = SimConfig { scenario, time_scale: scale, at_secs: at, ..SimConfig::default() };
    let Ok(sim) = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await else { panic!("sim did not start") };
    let dir = std::env::temp_dir().join(format!("warroom-exec-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let audit = dir.join("audit.jsonl");
    let (tx, rx) = mpsc::channel(64);
    let clock: Clock = Arc::new(Utc::now);
    let exec = spawn(&sim.url(), AuditLog::open(&audit), tx, clock);
    Rig { sim, exec, rx, audit }
}

fn alice() -> Operator {
    Operator { name: "alice".into(), role: Role::Operator }
}

fn go(action: Action) -> Intent {
    Intent { action, key: new_key(), operator: alice(), disposition: Disposition::Go }
}

/// Wait for the final entry of `key` (anything but in flight).
async fn outcome(rx: &mut mpsc::Receiver<Update>, key: &str, secs: u64) -> ActionEntry {
    common::action_outcome(rx, key, secs).await
}

/// Final entries for several keys, in the order of `keys`, whatever order
/// they arrive in.
async fn outcomes(rx: &mut mpsc::Receiver<Update>, keys: &[&str], secs: u64) -> Vec<ActionEntry> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    let mut found: Vec<Option<ActionEntry>> = vec![None; keys.len()];
    while found.iter().any(Option::is_none) {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(Update { result: Ok(Payload::Action(e)), .. })) if e.status != ActionStatus::InFlight => {
                if let Some(i) = keys.iter().position(|k| *k == e.key) {
                    found[i] = Some(e);
                }
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => panic!("not every outcome arrived within {secs}s: {found:?}"),
        }
    }
    found.into_iter().flatten().collect()
}

async fn get(base: &str, path: &str) -> Value {
    match reqwest::get(format!("{base}{path}")).await {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(e) => panic!("GET {path}: {e}"),
    }
}

fn audit_records(path: &PathBuf) -> Vec<Value> {
    std::fs::read_to_string(path).unwrap_or_default().lines().filter_map(|l| serde_json::from_str(l).ok()).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lost_response_is_reconciled_not_resent() {
    let mut r = rig("lost", Scenario::Calm, 0.0, 10.0).await;
    let client = reqwest::Client::new();
    let fault = json!({"path": "/v1/actions", "kind": "drop", "latencyMs": 8000, "times": 1});
    let ok = client.post(format!("{}/v1/faults", r.sim.url())).json(&fault).send().await;
    assert!(ok.is_ok_and(|x| x.status().as_u16() == 201));
    let intent = go(Action::Failover { region: "eu-west-1".into() });
    let key = intent.key.clone();
    assert!(r.exec.submit(intent).is_ok());
    let e = outcome(&mut r.rx, &key, 60).await;
    assert_eq!(e.status, ActionStatus::Succeeded, "{e:?}");
    let ex = get(&r.sim.url(), "/v1/executions").await;
    assert_eq!(ex["executions"][&key], 1, "{ex}");
    assert_eq!(ex["executions"].as_object().map(|m| m.len()), Some(1), "no second key was used: {ex}");
    // Exactly one POST: the timeout was followed by a lookup of the key, not a resend.
    let stats = get(&r.sim.url(), "/v1/stats").await;
    assert_eq!(stats["requests"][format!("POST /v1/actions key={key}")], 1, "{stats}");
    assert_eq!(stats["requests"][format!("GET /v1/actions key={key}")], 1, "{stats}");
    assert!(matches!(verify(&r.audit), Ok(Verdict::Ok { records: 2, .. })));
    r.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_send_is_retried_with_the_same_key() {
    let mut r = rig("retry", Scenario::Calm, 0.0, 10.0).await;
    let client = reqwest::Client::new();
    let fault = json!({"path": "/v1/actions", "kind": "status", "status": 503, "times": 2});
    assert!(client.post(format!("{}/v1/faults", r.sim.url())).json(&fault).send().await.is_ok());
    let intent = go(Action::SetFlag {
        flag: "recommendations".into(),
        environment: "production".into(),
        on: false,
        source: String::new(),
    });
    let key = intent.key.clone();
    assert!(r.exec.submit(intent).is_ok());
    let e = outcome(&mut r.rx, &key, 60).await;
    assert_eq!(e.status, ActionStatus::Succeeded, "{e:?}");
    let ex = get(&r.sim.url(), "/v1/executions").await;
    assert_eq!(ex["executions"][&key], 1);
    let stats = get(&r.sim.url(), "/v1/stats").await;
    // The fault answers two requests: the first POST and the key lookup
    // after it; the second POST, with the same key, succeeds.
    assert_eq!(stats["requests"][format!("POST /v1/actions key={key}")], 2, "{stats}");
    assert_eq!(stats["requests"]["POST /v1/actions"], 2, "no other key was used: {stats}");
    r.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sends_stop_after_four_attempts_with_one_key() {
    let mut r = rig("cap", Scenario::Calm, 0.0, 10.0).await;
    let client = reqwest::Client::new();
    let fault = json!({"path": "/v1/actions", "kind": "status", "status": 503, "times": 50});
    assert!(client.post(format!("{}/v1/faults", r.sim.url())).json(&fault).send().await.is_ok());
    let intent = go(Action::SetFlag {
        flag: "recommendations".into(),
        environment: "production".into(),
        on: false,
        source: String::new(),
    });
    let key = intent.key.clone();
    assert!(r.exec.submit(intent).is_ok());
    let e = outcome(&mut r.rx, &key, 60).await;
    assert_eq!(e.status, ActionStatus::Failed, "{e:?}");
    assert!(e.message.contains("gave up after 4 attempts"), "{e:?}");
    let stats = get(&r.sim.url(), "/v1/stats").await;
    assert_eq!(stats["requests"][format!("POST /v1/actions key={key}")], 4, "at most 4 sends: {stats}");
    let posts = stats["requests"]["POST /v1/actions"].as_u64().unwrap_or(0);
    assert_eq!(posts, 4, "no other key was used: {stats}");
    r.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn confirming_twice_quickly_executes_once() {
    let mut r = rig("twice", Scenario::Calm, 0.0, 20.0).await;
    let first = go(Action::Failover { region: "us-west-2".into() });
    let second = go(Action::Failover { region: "us-west-2".into() });
    let (k1, k2) = (first.key.clone(), second.key.clone());
    assert!(r.exec.submit(first).is_ok());
    assert!(r.exec.submit(second).is_ok());
    let both = outcomes(&mut r.rx, &[&k1, &k2], 60).await;
    let (a, b) = (both[0].clone(), both[1].clone());
    let statuses = [a.status, b.status];
    assert!(statuses.contains(&ActionStatus::Succeeded), "{a:?} {b:?}");
    assert!(statuses.contains(&ActionStatus::Refused), "{a:?} {b:?}");
    let ex = get(&r.sim.url(), "/v1/executions").await;
    let total: u64 = ex["executions"].as_object().map(|m| m.values().filter_map(Value::as_u64).sum()).unwrap_or(0);
    assert_eq!(total, 1, "{ex}");
    // The console's own guard refused it (not the server's 409): the
    // message names the action in flight, and only one intent was recorded.
    let refused = if a.status == ActionStatus::Refused { &a } else { &b };
    let ran = if a.status == ActionStatus::Refused { &k2 } else { &k1 };
    assert!(refused.message.contains("fail over us-west-2 is in flight on region us-west-2"), "{refused:?}");
    assert!(refused.message.contains(ran.as_str()), "names the key in flight: {refused:?}");
    let intents = audit_records(&r.audit).iter().filter(|x| x["event"] == "intent").count();
    assert_eq!(intents, 1, "one intent, one refusal");
    let stats = get(&r.sim.url(), "/v1/stats").await;
    assert_eq!(stats["requests"]["POST /v1/actions"], 1, "the second was never sent: {stats}");
    r.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_viewer_is_denied_and_nothing_is_sent() {
    let mut r = rig("viewer", Scenario::Calm, 0.0, 1.0).await;
    let intent = Intent {
        action: Action::Failover { region: "us-east-1".into() },
        key: new_key(),
        operator: Operator { name: "wall".into(), role: Role::Viewer },
        disposition: Disposition::Go,
    };
    let key = intent.key.clone();
    assert!(r.exec.submit(intent).is_ok());
    let e = outcome(&mut r.rx, &key, 10).await;
    assert_eq!(e.status, ActionStatus::Denied);
    let stats = get(&r.sim.url(), "/v1/stats").await;
    assert!(stats["requests"].get("/v1/actions").is_none(), "no request reached the control plane: {stats}");
    let recs = audit_records(&r.audit);
    assert_eq!(recs.len(), 1);
    assert_eq!(recs[0]["event"], "denied");
    assert_eq!(recs[0]["role"], "viewer");
    r.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_refusals_and_local_refusals_are_audited() {
    let mut r = rig("refuse", Scenario::BadCanary, 600.0, 1.0).await;
    // The Degraded canary cannot be promoted: the server says 409.
    let promote = go(Action::Promote { deployment: "checkout/us-east-1".into(), full: false });
    let k = promote.key.clone();
    assert!(r.exec.submit(promote).is_ok());
    let e = outcome(&mut r.rx, &k, 20).await;
    assert_eq!(e.status, ActionStatus::Refused);
    assert!(e.message.contains("not promotable"), "{e:?}");
    // A local refusal sends nothing.
    let local = Intent {
        disposition: Disposition::Refused("us-east-1 is the last region serving traffic".into()),
        ..go(Action::Failover { region: "us-east-1".into() })
    };
    let k = local.key.clone();
    assert!(r.exec.submit(local).is_ok());
    assert_eq!(outcome(&mut r.rx, &k, 10).await.status, ActionStatus::Refused);
    let ex = get(&r.sim.url(), "/v1/executions").await;
    assert_eq!(ex["executions"].as_object().map(|m| m.len()), Some(0));
    // Rollback works and the canary is aborted.
    let rollback = go(Action::Rollback { deployment: "checkout/us-east-1".into() });
    let k = rollback.key.clone();
    assert!(r.exec.submit(rollback).is_ok());
    assert_eq!(outcome(&mut r.rx, &k, 20).await.status, ActionStatus::Succeeded);
    assert_eq!(get(&r.sim.url(), "/v1/deployments").await["deployments"][0]["phase"], "Aborted");
    let events: Vec<String> =
        audit_records(&r.audit).iter().map(|v| v["event"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(events, ["intent", "outcome", "refused", "intent", "outcome"]);
    // Each record says how it ended (found by cargo mutants: unchecked).
    let results: Vec<String> =
        audit_records(&r.audit).iter().map(|v| v["result"].as_str().unwrap_or("").to_string()).collect();
    assert_eq!(results, ["pending", "refused", "refused", "pending", "succeeded"]);
    assert!(matches!(verify(&r.audit), Ok(Verdict::Ok { records: 5, .. })));
    r.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn local_refusals_are_checked_again_at_send_time() {
    use warroom::model::{derive, Fleet, Region, RegionStatus};
    let cfg = SimConfig { scenario: Scenario::Calm, ..SimConfig::default() };
    let Ok(sim) = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await else { panic!("sim did not start") };
    let dir = std::env::temp_dir().join(format!("warroom-exec-sendtime-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let audit = dir.join("audit.jsonl");
    // What the console sees by the time the intent reaches the executor:
    // us-east-1 is the only region still serving.
    let mut f = Fleet::default();
    let r = |n: &str, w: f64, st| Region {
        name: n.into(),
        status: st,
        weight: w,
        base_weight: None,
        zones: vec![],
        since: None,
    };
    f.regions
        .set(Utc::now(), Ok(vec![r("us-east-1", 100.0, RegionStatus::Ok), r("us-west-2", 0.0, RegionStatus::Down)]));
    let (_wtx, wrx) = tokio::sync::watch::channel(Arc::new(derive(f, 1)));
    let (tx, mut rx) = mpsc::channel(64);
    let clock: Clock = Arc::new(Utc::now);
    let exec =
        warroom::actions::executor::spawn_with_token(&sim.url(), None, AuditLog::open(&audit), tx, clock, Some(wrx));
    let intent = go(Action::Failover { region: "us-east-1".into() });
    let key = intent.key.clone();
    assert!(exec.submit(intent).is_ok());
    let e = outcome(&mut rx, &key, 20).await;
    assert_eq!(e.status, ActionStatus::Refused, "{e:?}");
    assert!(e.message.contains("refused at send time") && e.message.contains("last region serving"), "{e:?}");
    let stats = get(&sim.url(), "/v1/stats").await;
    assert!(stats["requests"].get("POST /v1/actions").is_none(), "no POST: {stats}");
    assert_eq!(stats["requests"]["GET /v1/actions"], 1, "one key lookup: {stats}");
    let ex = get(&sim.url(), "/v1/executions").await;
    assert!(ex["executions"].as_object().is_none_or(|m| m.is_empty()), "nothing executed: {ex}");
    let records = audit_records(&audit);
    assert_eq!(records.len(), 1, "one refusal record, no intent");
    assert_eq!(records[0]["event"], "refused");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn intents_left_without_an_outcome_are_reconciled_by_key_at_the_next_start() {
    let cfg = SimConfig { scenario: Scenario::Calm, time_scale: 20.0, ..SimConfig::default() };
    let Ok(sim) = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await else { panic!("sim did not start") };
    let dir = std::env::temp_dir().join(format!("warroom-exec-orphans-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let audit = dir.join("audit.jsonl");
    // A previous console: two intents audited, then it quit. The first
    // reached the backend, the second never left.
    let sent = Action::SetFlag {
        flag: "new-checkout-flow".into(),
        environment: "staging".into(),
        on: false,
        source: String::new(),
    };
    let lost = Action::Failover { region: "us-east-1".into() };
    let (k1, k2, k3) = (new_key(), new_key(), new_key());
    // A third went to another control plane: only that one can say what
    // became of it, so this one never looks it up (found by cargo mutants).
    let elsewhere = "http://127.0.0.1:9".to_string();
    {
        let Ok(mut log) = AuditLog::open(&audit) else { panic!("cannot open the trail") };
        for (a, k, backend) in [(&sent, &k1, sim.url()), (&lost, &k2, sim.url()), (&lost, &k3, elsewhere)] {
            let e = warroom::audit::Entry {
                event: "intent",
                operator: "alice".into(),
                role: "operator".into(),
                action: a.request(),
                summary: a.summary(),
                key: k.clone(),
                result: "pending",
                message: String::new(),
                backend,
            };
            assert!(log.append(e).is_ok());
        }
    }
    let r = reqwest::Client::new()
        .post(format!("{}/v1/actions", sim.url()))
        .header("Idempotency-Key", &k1)
        .header("X-Operator", "alice")
        .json(&sent.request())
        .send()
        .await;
    assert!(r.is_ok_and(|r| r.status().is_success()));
    let posts = |v: &Value| v["requests"]["POST /v1/actions"].as_u64().unwrap_or(0);
    let before = posts(&get(&sim.url(), "/v1/stats").await);
    assert_eq!(before, 1);
    // The next start.
    let (tx, mut rx) = mpsc::channel(64);
    let clock: Clock = Arc::new(Utc::now);
    let exec = spawn(&sim.url(), AuditLog::open(&audit), tx, clock);
    exec.reconcile_unfinished();
    let got = outcomes(&mut rx, &[&k1, &k2], 30).await;
    assert_eq!(got[0].status, ActionStatus::Succeeded, "{:?}", got[0]);
    assert!(got[0].message.contains("reconciled after a restart"), "{:?}", got[0]);
    assert_eq!(got[1].status, ActionStatus::Failed, "{:?}", got[1]);
    assert!(got[1].message.contains("never received it"), "{:?}", got[1]);
    assert!(
        got[1].message.starts_with(warroom::actions::executor::NOT_RECEIVED),
        "a runbook waits, not fails: {:?}",
        got[1]
    );
    // Looked up (and followed), never sent again.
    let ex = get(&sim.url(), "/v1/executions").await;
    let counts: Vec<u64> =
        ex["executions"].as_object().map(|m| m.values().filter_map(|v| v.as_u64()).collect()).unwrap_or_default();
    assert_eq!(counts, vec![1], "the sent one ran once, the lost one never: {ex}");
    let stats = get(&sim.url(), "/v1/stats").await;
    assert_eq!(posts(&stats), before, "nothing was sent again: {stats}");
    assert!(stats["requests"]["GET /v1/actions"].as_u64().unwrap_or(0) >= 2, "both keys looked up: {stats}");
    assert!(stats["requests"][format!("GET /v1/actions key={k3}")].is_null(), "not ours to look up: {stats}");
    let left = warroom::audit::unfinished(&warroom::audit::records(&audit).unwrap_or_default());
    assert_eq!(left.iter().map(|r| r.key.clone()).collect::<Vec<_>>(), vec![k3.clone()], "left for its own backend");
    let records = audit_records(&audit);
    assert_eq!(records.len(), 5, "three intents, two outcomes (the third is another backend's)");
    let result_of = |k: &str| {
        records
            .iter()
            .find(|v| v["event"] == "outcome" && v["key"] == k)
            .map(|v| v["result"].clone())
            .unwrap_or_default()
    };
    assert_eq!((result_of(&k1), result_of(&k2)), (json!("succeeded"), json!("failed")), "the outcomes as recorded");
    assert!(matches!(verify(&audit), Ok(Verdict::Ok { records: 5, .. })));
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_intent_is_looked_up_never_sent() {
    let mut r = rig("lookup", Scenario::Calm, 0.0, 10.0).await;
    let intent = Intent {
        action: Action::Failover { region: "eu-west-1".into() },
        key: new_key(),
        operator: alice(),
        disposition: Disposition::LookupOnly,
    };
    let key = intent.key.clone();
    assert!(r.exec.submit(intent).is_ok());
    let e = outcome(&mut r.rx, &key, 20).await;
    assert_eq!(e.status, ActionStatus::Failed, "{e:?}");
    assert!(e.message.starts_with(warroom::actions::executor::NOT_RECEIVED), "{e:?}");
    let stats = get(&r.sim.url(), "/v1/stats").await;
    assert!(stats["requests"].get("POST /v1/actions").is_none(), "a resumed intent is never sent: {stats}");
    assert_eq!(stats["requests"][format!("GET /v1/actions key={key}")], 1, "{stats}");
    // One the backend did get (sent before the crash): found, followed,
    // recorded as succeeded — and still not sent again.
    let flag = Action::SetFlag {
        flag: "recommendations".into(),
        environment: "production".into(),
        on: false,
        source: String::new(),
    };
    let k2 = new_key();
    let sent = reqwest::Client::new()
        .post(format!("{}/v1/actions", r.sim.url()))
        .header("Idempotency-Key", &k2)
        .header("X-Operator", "alice")
        .json(&flag.request())
        .send()
        .await;
    assert!(sent.is_ok_and(|s| s.status().is_success()));
    let again = Intent { action: flag, key: k2.clone(), operator: alice(), disposition: Disposition::LookupOnly };
    assert!(r.exec.submit(again).is_ok());
    let e = outcome(&mut r.rx, &k2, 20).await;
    assert_eq!(e.status, ActionStatus::Succeeded, "{e:?}");
    let rec = audit_records(&r.audit).into_iter().find(|v| v["event"] == "outcome" && v["key"] == k2.as_str());
    assert_eq!(rec.map(|v| v["result"].clone()), Some(json!("succeeded")), "recorded as it ended");
    let stats = get(&r.sim.url(), "/v1/stats").await;
    assert_eq!(
        stats["requests"][format!("POST /v1/actions key={k2}")],
        1,
        "sent once, by the earlier console: {stats}"
    );
    r.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_intent_is_on_disk_before_the_request_leaves_and_no_trail_means_no_action() {
    let mut r = rig("fsync", Scenario::Calm, 0.0, 10.0).await;
    let client = reqwest::Client::new();
    // The POST hangs for 3 s: while it does, the intent must already be durable.
    let fault = json!({"path": "/v1/actions", "kind": "latency", "latencyMs": 3000, "times": 1});
    assert!(client.post(format!("{}/v1/faults", r.sim.url())).json(&fault).send().await.is_ok());
    let intent = go(Action::SetFlag {
        flag: "recommendations".into(),
        environment: "production".into(),
        on: false,
        source: String::new(),
    });
    let key = intent.key.clone();
    assert!(r.exec.submit(intent).is_ok());
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let stats = get(&r.sim.url(), "/v1/stats").await;
        if stats["requests"][format!("POST /v1/actions key={key}")].as_u64() == Some(1) {
            break; // the request has reached the server and is hanging there
        }
        assert!(tokio::time::Instant::now() < deadline, "the POST never arrived: {stats}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let records = audit_records(&r.audit);
    assert!(
        records.iter().any(|x| x["event"] == "intent" && x["key"] == key.as_str()),
        "the intent is on disk while the request is in flight: {records:?}"
    );
    let e = outcome(&mut r.rx, &key, 30).await;
    assert_eq!(e.status, ActionStatus::Succeeded, "{e:?}");
    r.sim.shutdown().await;

    // No trail: the executor refuses before anything is sent.
    let cfg = SimConfig { scenario: Scenario::Calm, ..SimConfig::default() };
    let Ok(sim) = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await else { panic!("sim did not start") };
    let (tx, mut rx) = mpsc::channel(64);
    let clock: Clock = Arc::new(Utc::now);
    let exec = spawn(&sim.url(), AuditLog::open(std::path::Path::new("/dev/null/audit.jsonl")), tx, clock);
    let intent = go(Action::Failover { region: "eu-west-1".into() });
    let key = intent.key.clone();
    assert!(exec.submit(intent).is_ok());
    let e = outcome(&mut rx, &key, 20).await;
    assert_eq!(e.status, ActionStatus::Failed, "{e:?}");
    assert!(e.message.starts_with("not sent:"), "{e:?}");
    let stats = get(&sim.url(), "/v1/stats").await;
    assert!(stats["requests"].get("POST /v1/actions").is_none(), "nothing was sent: {stats}");
    sim.shutdown().await;
}

/// How the executor reads each kind of answer to its POST (cargo mutants
/// found these arms untested): an accepted action is followed by its id
/// with no lookup; a 4xx fails at once with one send; an unreachable
/// control plane says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_answer_to_a_send_is_read_for_what_it_is() {
    let mut r = rig("answers", Scenario::Calm, 0.0, 10.0).await;
    let flag = |on| {
        go(Action::SetFlag {
            flag: "recommendations".into(),
            environment: "production".into(),
            on,
            source: String::new(),
        })
    };
    // 202: followed by id, never looked up by key.
    let i = flag(false);
    let k = i.key.clone();
    assert!(r.exec.submit(i).is_ok());
    let e = outcome(&mut r.rx, &k, 30).await;
    assert_eq!(e.status, ActionStatus::Succeeded, "{e:?}");
    let stats = get(&r.sim.url(), "/v1/stats").await;
    assert_eq!(stats["requests"][format!("POST /v1/actions key={k}")], 1, "{stats}");
    assert!(
        stats["requests"][format!("GET /v1/actions key={k}")].is_null(),
        "an accepted action is not looked up: {stats}"
    );
    // 422: the control plane said no; one send, failed at once.
    let client = reqwest::Client::new();
    let fault = json!({"path": "/v1/actions", "kind": "status", "status": 422, "times": 1});
    assert!(client.post(format!("{}/v1/faults", r.sim.url())).json(&fault).send().await.is_ok());
    let i = flag(true);
    let k = i.key.clone();
    assert!(r.exec.submit(i).is_ok());
    let e = outcome(&mut r.rx, &k, 30).await;
    assert_eq!(e.status, ActionStatus::Failed, "{e:?}");
    assert!(e.message.contains("HTTP 422"), "{e:?}");
    let stats = get(&r.sim.url(), "/v1/stats").await;
    assert_eq!(stats["requests"][format!("POST /v1/actions key={k}")], 1, "a 4xx is not retried: {stats}");
    // Nothing listening: the operator reads that it could not be reached.
    let (tx, mut rx) = mpsc::channel(64);
    let clock: Clock = Arc::new(Utc::now);
    let dead = spawn("http://127.0.0.1:9", AuditLog::open(&r.audit), tx, clock);
    let i = flag(true);
    let k = i.key.clone();
    assert!(dead.submit(i).is_ok());
    let e = outcome(&mut rx, &k, 60).await;
    assert_eq!(e.status, ActionStatus::Failed, "{e:?}");
    assert!(e.message.contains("cannot reach the control plane"), "{e:?}");
    r.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failure_reported_after_acceptance_is_failed_at_once() {
    let mut r = rig("failed-later", Scenario::Calm, 0.0, 10.0).await;
    let client = reqwest::Client::new();
    let fault = json!({"path": "/v1/actions", "kind": "fail-after-accept", "times": 1});
    let ok = client.post(format!("{}/v1/faults", r.sim.url())).json(&fault).send().await;
    assert!(ok.is_ok_and(|x| x.status().as_u16() == 201));
    let intent = go(Action::SetFlag {
        flag: "recommendations".into(),
        environment: "production".into(),
        on: false,
        source: String::new(),
    });
    let key = intent.key.clone();
    assert!(r.exec.submit(intent).is_ok());
    // Well inside the follow deadline (180 s): the backend's word is read at
    // the first poll, not waited out.
    let e = outcome(&mut r.rx, &key, 20).await;
    assert_eq!(e.status, ActionStatus::Failed, "{e:?}");
    assert!(e.message.contains("failed after acceptance"), "the backend's reason is shown: {e:?}");
    let stats = get(&r.sim.url(), "/v1/stats").await;
    assert_eq!(
        stats["requests"][format!("POST /v1/actions key={key}")],
        1,
        "a reported failure is not resent: {stats}"
    );
    let text = std::fs::read_to_string(&r.audit).unwrap_or_default();
    let last = text.lines().last().unwrap_or("");
    assert!(last.contains("\"result\":\"failed\""), "the outcome is recorded as failed: {last}");
    r.sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_storm_of_denied_attempts_costs_the_trail_a_few_records() {
    let sim = warroom_sim::start(SimConfig::default(), ([127, 0, 0, 1], 0).into()).await;
    let Ok(sim) = sim else { panic!("sim did not start") };
    let dir = std::env::temp_dir().join(format!("warroom-exec-denials-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let audit = dir.join("audit.jsonl");
    let (tx, mut rx) = mpsc::channel(256);
    // One fixed minute, then the next: the count carried over is recorded.
    let minute = Arc::new(std::sync::atomic::AtomicI64::new(0));
    let m = minute.clone();
    let base = Utc::now();
    let clock: Clock = Arc::new(move || base + chrono::Duration::minutes(m.load(std::sync::atomic::Ordering::SeqCst)));
    let exec = spawn(&sim.url(), AuditLog::open(&audit), tx, clock);
    let deny = || Intent {
        action: Action::Failover { region: "us-east-1".into() },
        key: new_key(),
        operator: Operator { name: "wall".into(), role: Role::Viewer },
        disposition: Disposition::Go,
    };
    let mut keys = Vec::new();
    for _ in 0..40 {
        let i = deny();
        keys.push(i.key.clone());
        assert!(exec.submit(i).is_ok());
    }
    let refs: Vec<&str> = keys.iter().map(String::as_str).collect();
    let all = outcomes(&mut rx, &refs, 30).await;
    assert!(all.iter().all(|e| e.status == ActionStatus::Denied), "every attempt is denied on screen");
    let n = warroom::actions::executor::DENIALS_RECORDED_PER_MINUTE as usize;
    let counted = all.iter().filter(|e| e.message.contains("counted in the audit trail")).count();
    assert_eq!(counted, 40 - n, "the screen says which were only counted");
    let recs = audit_records(&audit);
    assert_eq!(recs.len(), n + 1, "five one by one and one notice: {recs:?}");
    minute.store(1, std::sync::atomic::Ordering::SeqCst);
    let i = deny();
    let k = i.key.clone();
    assert!(exec.submit(i).is_ok());
    let _ = outcome(&mut rx, &k, 10).await;
    let recs = audit_records(&audit);
    assert_eq!(recs.len(), n + 3, "the carried count, then the new minute's first: {recs:?}");
    assert!(recs[n + 1]["message"].as_str().is_some_and(|m| m.starts_with(&format!("{} more denied", 40 - n))));
    assert!(matches!(verify(&audit), Ok(Verdict::Ok { .. })));
    let stats = get(&sim.url(), "/v1/stats").await;
    assert!(stats["requests"].get("/v1/actions").is_none(), "nothing was sent: {stats}");
    sim.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_action_that_never_finishes_is_failed_at_the_follow_deadline() {
    // A failover drains in 3 steps of 10 simulated seconds: at time scale 1
    // it is still running after the 2 s this executor follows it for.
    let cfg = SimConfig { scenario: Scenario::Calm, time_scale: 1.0, ..SimConfig::default() };
    let Ok(sim) = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await else { panic!("sim did not start") };
    let dir = std::env::temp_dir().join(format!("warroom-exec-deadline-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let audit = dir.join("audit.jsonl");
    let (tx, mut rx) = mpsc::channel(64);
    let clock: Clock = Arc::new(Utc::now);
    let exec = warroom::actions::executor::spawn_following(
        &sim.url(),
        AuditLog::open(&audit),
        tx,
        clock,
        Duration::from_secs(2),
    );
    let intent = go(Action::Failover { region: "eu-west-1".into() });
    let key = intent.key.clone();
    assert!(exec.submit(intent).is_ok());
    let e = outcome(&mut rx, &key, 20).await;
    assert_eq!(e.status, ActionStatus::Failed, "{e:?}");
    assert!(e.message.contains("still not finished after 2s"), "{e:?}");
    // The target is free again: the in-flight guard does not hold forever.
    let again = go(Action::Restore { region: "eu-west-1".into() });
    let k2 = again.key.clone();
    assert!(exec.submit(again).is_ok());
    let e2 = outcome(&mut rx, &k2, 20).await;
    assert!(!e2.message.contains("in flight"), "{e2:?}");
    sim.shutdown().await;
}

/// A server that answers everything with `reply`, counting connections.
async fn canned(reply: String) -> (u16, Arc<std::sync::atomic::AtomicUsize>) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(l) = tokio::net::TcpListener::bind("127.0.0.1:0").await else { panic!("bind") };
    let port = l.local_addr().map(|a| a.port()).unwrap_or(0);
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = n.clone();
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let reply = reply.clone();
            tokio::spawn(async move {
                let mut buf = [0u8; 8192];
                let _ = s.read(&mut buf).await;
                let _ = s.write_all(reply.as_bytes()).await;
                let _ = s.shutdown().await;
            });
        }
    });
    (port, n)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_never_carries_an_action_to_another_host() {
    // The other host, which must never see the body, key or operator.
    let (other, hits) = canned("HTTP/1.1 202 Accepted\r\ncontent-length: 2\r\n\r\n{}".into()).await;
    for code in ["307 Temporary Redirect", "308 Permanent Redirect"] {
        let reply = format!(
            "HTTP/1.1 {code}\r\nlocation: http://127.0.0.1:{other}/v1/actions\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
        );
        let (port, _) = canned(reply).await;
        let dir = std::env::temp_dir().join(format!("warroom-exec-redirect-{}-{port}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let (tx, mut rx) = mpsc::channel(64);
        let clock: Clock = Arc::new(Utc::now);
        let exec = spawn(&format!("http://127.0.0.1:{port}"), AuditLog::open(&dir.join("audit.jsonl")), tx, clock);
        let intent =
            go(Action::SetFlag { flag: "f".into(), environment: "production".into(), on: true, source: String::new() });
        let key = intent.key.clone();
        assert!(exec.submit(intent).is_ok());
        let e = outcome(&mut rx, &key, 30).await;
        assert_ne!(e.status, ActionStatus::Succeeded, "{code}: {e:?}");
        assert!(e.message.contains(&code[..3]), "{code}: the answer is named: {e:?}");
    }
    assert_eq!(hits.load(std::sync::atomic::Ordering::SeqCst), 0, "the other host saw nothing");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_action_goes_to_the_provider_that_owns_its_target() {
    use warroom::actions::provider::{ControlPlaneActions, Routes};
    use warroom::actions::TargetKind;
    // Two backends: traffic and rollouts on the first, flags on the second.
    let cfg = || SimConfig { time_scale: 20.0, ..SimConfig::default() };
    let Ok(main) = warroom_sim::start(cfg(), ([127, 0, 0, 1], 0).into()).await else { panic!("sim") };
    let Ok(flags) = warroom_sim::start(cfg(), ([127, 0, 0, 1], 0).into()).await else { panic!("sim") };
    let dir = std::env::temp_dir().join(format!("warroom-exec-routes-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let audit = dir.join("audit.jsonl");
    let routes = Routes::all(Arc::new(ControlPlaneActions::new(&main.url(), None, None)))
        .with(TargetKind::Flag, Arc::new(ControlPlaneActions::new(&flags.url(), None, None)));
    let (tx, mut rx) = mpsc::channel(64);
    let clock: Clock = Arc::new(Utc::now);
    let exec = warroom::actions::executor::spawn_routed(routes, AuditLog::open(&audit), tx, clock, None);
    let flip = go(Action::SetFlag {
        flag: "new-checkout-flow".into(),
        environment: "production".into(),
        on: false,
        source: String::new(),
    });
    let fail = go(Action::Failover { region: "us-west-2".into() });
    let (kf, ko) = (flip.key.clone(), fail.key.clone());
    assert!(exec.submit(flip).is_ok() && exec.submit(fail).is_ok());
    let done = outcomes(&mut rx, &[&kf, &ko], 60).await;
    assert!(done.iter().all(|e| e.status == ActionStatus::Succeeded), "{done:?}");
    let posts = |s: &Value| s["requests"]["POST /v1/actions"].as_u64().unwrap_or(0);
    let (m, f) = (get(&main.url(), "/v1/stats").await, get(&flags.url(), "/v1/stats").await);
    assert_eq!((posts(&m), posts(&f)), (1, 1), "one action each: {m} {f}");
    // The trail names the provider each intent went to.
    let recs = audit_records(&audit);
    let backend =
        |key: &str| recs.iter().find(|r| r["event"] == "intent" && r["key"] == key).map(|r| r["backend"].clone());
    assert_eq!(backend(&kf), Some(json!(flags.url().trim_end_matches('/'))), "{recs:?}");
    assert_eq!(backend(&ko), Some(json!(main.url().trim_end_matches('/'))), "{recs:?}");
    assert!(matches!(verify(&audit), Ok(Verdict::Ok { .. })));
    main.shutdown().await;
    flags.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kind_of_action_turned_off_is_refused_audited_and_never_sent() {
    use warroom::actions::provider::{ControlPlaneActions, Routes};
    use warroom::actions::TargetKind;
    let Ok(sim) = warroom_sim::start(SimConfig::default(), ([127, 0, 0, 1], 0).into()).await else { panic!("sim") };
    let dir = std::env::temp_dir().join(format!("warroom-exec-off-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let audit = dir.join("audit.jsonl");
    let routes = Routes::all(Arc::new(ControlPlaneActions::new(&sim.url(), None, None)))
        .without(TargetKind::Flag, "flag actions are turned off here ([actions] flag = \"none\")");
    let (tx, mut rx) = mpsc::channel(64);
    let clock: Clock = Arc::new(Utc::now);
    let exec = warroom::actions::executor::spawn_routed(routes, AuditLog::open(&audit), tx, clock, None);
    let flip = go(Action::SetFlag {
        flag: "new-checkout-flow".into(),
        environment: "production".into(),
        on: false,
        source: String::new(),
    });
    let key = flip.key.clone();
    assert!(exec.submit(flip).is_ok());
    let e = outcome(&mut rx, &key, 20).await;
    assert_eq!(e.status, ActionStatus::Refused, "{e:?}");
    assert!(e.message.contains("turned off here ([actions] flag = \"none\")"), "{e:?}");
    let stats = get(&sim.url(), "/v1/stats").await;
    assert_eq!(stats["requests"]["POST /v1/actions"].as_u64().unwrap_or(0), 0, "nothing sent: {stats}");
    let recs = audit_records(&audit);
    assert!(recs.iter().any(|r| r["key"] == key.as_str() && r["result"] == "refused"), "{recs:?}");
    sim.shutdown().await;
}
