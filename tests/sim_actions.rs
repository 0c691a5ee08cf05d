//! The simulator's action API over real HTTP: effects, refusals and
//! exactly-once execution per idempotency key.

use std::time::Duration;

use serde_json::{json, Value};
use warroom_sim::{Scenario, SimConfig, SimHandle};

async fn sim(scenario: Scenario, at: f64, scale: f64) -> SimHandle {
    let cfg = SimConfig {
        scenario,
        time_scale: scale,
        start_unix: Some(1_768_478_400.0),
        at_secs: at,
        ..SimConfig::default()
    };
    match warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await {
        Ok(s) => s,
        Err(e) => panic!("sim did not start: {e}"),
    }
}

async fn post(base: &str, key: &str, body: Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(format!("{base}/v1/actions"))
        .header("Idempotency-Key", key)
        .header("X-Operator", "alice")
        .json(&body)
        .timeout(Duration::from_secs(10))
        .send()
        .await;
    match r {
        Ok(r) => (r.status().as_u16(), r.json().await.unwrap_or(Value::Null)),
        Err(e) => panic!("POST failed: {e}"),
    }
}

async fn get(base: &str, path: &str) -> Value {
    match reqwest::get(format!("{base}{path}")).await {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(e) => panic!("GET {path} failed: {e}"),
    }
}

fn weights(v: &Value) -> Vec<f64> {
    v["regions"]
        .as_array()
        .map(|a| a.iter().map(|r| r["trafficWeight"].as_f64().unwrap_or(-1.0)).collect())
        .unwrap_or_default()
}

/// Poll an action until it is no longer running (10 s at most).
async fn settled(url: &str, id: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let st = get(url, &format!("/v1/actions/{id}")).await["status"].clone();
        if st != "running" && st != "pending" {
            return;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("action {id} still {st} after 10 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn failover_drains_in_steps_and_restore_brings_it_back() {
    // 100 simulated seconds per second: the 30 s drain takes 0.3 s.
    let s = sim(Scenario::Calm, 0.0, 100.0).await;
    let (code, body) = post(&s.url(), "k-failover", json!({"kind": "failover", "region": "us-east-1"})).await;
    assert_eq!(code, 202, "{body}");
    assert_eq!(body["status"], "running");
    let id = body["id"].as_str().unwrap_or_default().to_string();
    settled(&s.url(), &id).await;
    let w = weights(&get(&s.url(), "/v1/regions").await);
    assert_eq!(w[0], 0.0, "{w:?}");
    assert!((w.iter().sum::<f64>() - 100.0).abs() < 0.01, "{w:?}");
    assert!(w[1] > 25.0 && w[2] > 20.0 && w[3] > 15.0, "load moved to the others: {w:?}");
    assert_eq!(get(&s.url(), &format!("/v1/actions/{id}")).await["status"], "succeeded");
    let (code, _) = post(&s.url(), "k-again", json!({"kind": "failover", "region": "us-east-1"})).await;
    assert_eq!(code, 409, "already drained");
    let (code, body) = post(&s.url(), "k-restore", json!({"kind": "restore", "region": "us-east-1"})).await;
    assert_eq!(code, 202);
    settled(&s.url(), body["id"].as_str().unwrap_or_default()).await;
    let w = weights(&get(&s.url(), "/v1/regions").await);
    assert!((w[0] - 40.0).abs() < 0.01, "{w:?}");
    s.shutdown().await;
}

#[tokio::test]
async fn same_key_executes_once_and_other_bodies_are_rejected() {
    let s = sim(Scenario::Calm, 0.0, 1.0).await;
    let body = json!({"kind": "failover", "region": "eu-west-1"});
    let (a, first) = post(&s.url(), "k1", body.clone()).await;
    let (b, second) = post(&s.url(), "k1", body.clone()).await;
    assert_eq!((a, b), (202, 200));
    assert_eq!(first["id"], second["id"]);
    let (c, _) = post(&s.url(), "k1", json!({"kind": "failover", "region": "us-west-2"})).await;
    assert_eq!(c, 422);
    let ex = get(&s.url(), "/v1/executions").await;
    assert_eq!(ex["executions"]["k1"], 1);
    let by_key = get(&s.url(), "/v1/actions?idempotencyKey=k1").await;
    assert_eq!(by_key["actions"].as_array().map(Vec::len), Some(1));
    let missing = reqwest::Client::new().post(format!("{}/v1/actions", s.url())).json(&body).send().await;
    assert_eq!(missing.map(|r| r.status().as_u16()).ok(), Some(400), "no key, no action");
    s.shutdown().await;
}

#[tokio::test]
async fn the_last_serving_region_cannot_be_drained() {
    let s = sim(Scenario::Calm, 0.0, 1000.0).await;
    for (i, r) in ["us-east-1", "us-west-2", "eu-west-1"].iter().enumerate() {
        let (code, b) = post(&s.url(), &format!("d{i}"), json!({"kind": "failover", "region": r})).await;
        assert_eq!(code, 202, "{b}");
    }
    let (code, body) = post(&s.url(), "d3", json!({"kind": "failover", "region": "ap-southeast-1"})).await;
    assert_eq!(code, 409);
    assert!(body["error"].as_str().is_some_and(|e| e.contains("last region")), "{body}");
    s.shutdown().await;
}

#[tokio::test]
async fn rollback_stops_the_bad_canary_errors() {
    let s = sim(Scenario::BadCanary, 600.0, 0.0).await;
    let deploys = get(&s.url(), "/v1/deployments").await;
    assert_eq!(deploys["deployments"][0]["phase"], "Degraded");
    let before = get(&s.url(), "/v1/metrics?windows=5m&service=checkout").await;
    assert!(before["metrics"][0]["errorRatio"].as_f64().unwrap_or(0.0) > 0.01);
    let (code, _) = post(&s.url(), "rb", json!({"kind": "rollback", "deployment": "checkout/us-east-1"})).await;
    assert_eq!(code, 202);
    let d = get(&s.url(), "/v1/deployments").await;
    assert_eq!(d["deployments"][0]["phase"], "Aborted");
    assert_eq!(d["deployments"][0]["weight"], 0.0);
    let after = get(&s.url(), "/v1/metrics?windows=5m&service=checkout").await;
    assert!(after["metrics"][0]["errorRatio"].as_f64().unwrap_or(1.0) < 0.005, "{after}");
    let (code, _) = post(&s.url(), "rb2", json!({"kind": "promote", "deployment": "checkout/us-east-1"})).await;
    assert_eq!(code, 409, "an aborted canary is not promotable");
    s.shutdown().await;
}

#[tokio::test]
async fn promote_pause_resume_and_flags() {
    let s = sim(Scenario::Calm, 10.0, 0.0).await;
    let (code, b) = post(&s.url(), "p1", json!({"kind": "pause", "deployment": "checkout/us-east-1"})).await;
    assert_eq!(code, 202, "{b}");
    assert_eq!(get(&s.url(), "/v1/deployments").await["deployments"][0]["phase"], "Paused");
    let (code, _) = post(&s.url(), "p2", json!({"kind": "promote", "deployment": "search/us-west-2"})).await;
    assert_eq!(code, 202);
    let d = get(&s.url(), "/v1/deployments").await;
    assert_eq!(d["deployments"][1]["weight"], 50.0);
    let (code, _) = post(&s.url(), "p3", json!({"kind": "resume", "deployment": "checkout/us-east-1"})).await;
    assert_eq!(code, 202);
    let (code, _) =
        post(&s.url(), "f1", json!({"kind": "flagOff", "flag": "new-checkout-flow", "environment": "production"}))
            .await;
    assert_eq!(code, 202);
    let flags = get(&s.url(), "/v1/flags").await;
    assert_eq!(flags["flags"][0]["enabled"], false);
    let (code, _) =
        post(&s.url(), "f2", json!({"kind": "flagOff", "flag": "new-checkout-flow", "environment": "production"}))
            .await;
    assert_eq!(code, 409);
    s.shutdown().await;
}

#[tokio::test]
async fn a_dropped_response_still_executes_once() {
    let s = sim(Scenario::Calm, 0.0, 1.0).await;
    let client = reqwest::Client::new();
    let f = client
        .post(format!("{}/v1/faults", s.url()))
        .json(&json!({"path": "/v1/actions", "kind": "drop", "latencyMs": 5000, "times": 1}))
        .send()
        .await;
    assert!(f.is_ok_and(|r| r.status().as_u16() == 201));
    let lost = client
        .post(format!("{}/v1/actions", s.url()))
        .header("Idempotency-Key", "dropped")
        .json(&json!({"kind": "failover", "region": "us-west-2"}))
        .timeout(Duration::from_millis(500))
        .send()
        .await;
    assert!(lost.is_err_and(|e| e.is_timeout()));
    let found = get(&s.url(), "/v1/actions?idempotencyKey=dropped").await;
    assert_eq!(found["actions"][0]["request"]["region"], "us-west-2");
    assert_eq!(get(&s.url(), "/v1/executions").await["executions"]["dropped"], 1);
    s.shutdown().await;
}
