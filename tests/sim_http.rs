//! The simulator over real HTTP: determinism, the documented endpoints, and
//! fault injection.

use std::time::Duration;

use serde_json::Value;
use warroom_sim::{Scenario, SimConfig};

fn frozen(seed: u64, scenario: Scenario, at: f64) -> SimConfig {
    SimConfig {
        seed,
        scenario,
        time_scale: 0.0,
        start_unix: Some(1_768_478_400.0),
        at_secs: at,
        ..SimConfig::default()
    }
}

async fn get(base: &str, path: &str) -> (u16, String) {
    let client = reqwest::Client::new();
    match client.get(format!("{base}{path}")).timeout(Duration::from_secs(10)).send().await {
        Ok(r) => {
            let code = r.status().as_u16();
            (code, r.text().await.unwrap_or_default())
        }
        Err(e) => panic!("GET {path} failed: {e}"),
    }
}

const PATHS: [&str; 9] = [
    "/v1/fleet",
    "/v1/regions",
    "/v1/services",
    "/v1/metrics?windows=5m,1h,30d",
    "/v1/deployments",
    "/v1/circuits",
    "/v1/flags",
    "/svc/checkout/us-east-1/health",
    "/metrics",
];

async fn dump(cfg: SimConfig) -> Vec<String> {
    let sim = match warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await {
        Ok(s) => s,
        Err(e) => panic!("sim did not start: {e}"),
    };
    let mut out = Vec::new();
    for p in PATHS {
        out.push(get(&sim.url(), p).await.1);
    }
    sim.shutdown().await;
    out
}

#[tokio::test]
async fn same_seed_scenario_and_time_give_same_data() {
    for sc in Scenario::ALL {
        let a = dump(frozen(7, sc, 600.0)).await;
        let b = dump(frozen(7, sc, 600.0)).await;
        assert_eq!(a, b, "scenario {sc}");
    }
    let c = dump(frozen(8, Scenario::Calm, 600.0)).await;
    let d = dump(frozen(7, Scenario::Calm, 600.0)).await;
    assert_ne!(c[3], d[3], "another seed gives other metrics");
}

#[tokio::test]
async fn fleet_shape_and_weights() {
    let sim = warroom_sim::start(frozen(7, Scenario::Calm, 0.0), ([127, 0, 0, 1], 0).into()).await;
    let Ok(sim) = sim else { panic!("sim did not start") };
    let (_, body) = get(&sim.url(), "/v1/regions").await;
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let regions = v["regions"].as_array().cloned().unwrap_or_default();
    assert_eq!(regions.len(), 4);
    let sum: f64 = regions.iter().map(|r| r["trafficWeight"].as_f64().unwrap_or(0.0)).sum();
    assert!((sum - 100.0).abs() < 1e-9);
    assert_eq!(regions[0]["zones"].as_array().map(Vec::len), Some(3));
    let (_, body) = get(&sim.url(), "/v1/metrics?windows=30d").await;
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    assert_eq!(v["metrics"].as_array().map(Vec::len), Some(32));
    let c = &v["metrics"][0]["counts"]["30d"];
    assert!(c["total"].as_f64().unwrap_or(0.0) > 1e8, "30 days of history: {c}");
    let (code, _) = get(&sim.url(), "/v1/metrics?windows=5y").await;
    assert_eq!(code, 400);
    let (_, prom) = get(&sim.url(), "/metrics").await;
    assert!(prom.contains("http_request_duration_seconds_bucket{service=\"auth\",region=\"eu-west-1\",le=\"0.1\"}"));
    assert!(prom.contains("region=\"eu-west-1\",le=\"1.0\"}"), "integer bounds spelled as Python clients do");
    sim.shutdown().await;
}

#[tokio::test]
async fn large_fleet_is_bounded() {
    let cfg = SimConfig { regions: 9, services: 5000, ..frozen(1, Scenario::Calm, 0.0) };
    let Ok(sim) = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await else { panic!("sim did not start") };
    let (_, body) = get(&sim.url(), "/v1/fleet").await;
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    assert_eq!((v["regions"].as_u64(), v["services"].as_u64()), (Some(6), Some(1000)));
    sim.shutdown().await;
}

#[tokio::test]
async fn faults_apply_per_path_and_clear() {
    let Ok(sim) = warroom_sim::start(frozen(7, Scenario::Calm, 0.0), ([127, 0, 0, 1], 0).into()).await else {
        panic!("sim did not start")
    };
    let client = reqwest::Client::new();
    let post = |body: &'static str| {
        client.post(format!("{}/v1/faults", sim.url())).header("content-type", "application/json").body(body).send()
    };
    assert_eq!(
        post(r#"{"path":"/v1/flags","kind":"status","status":502}"#).await.map(|r| r.status().as_u16()).ok(),
        Some(201)
    );
    assert_eq!(get(&sim.url(), "/v1/flags").await.0, 502);
    assert_eq!(get(&sim.url(), "/v1/regions").await.0, 200, "other paths unaffected");
    assert!(post(r#"{"path":"/v1/regions","kind":"garbage"}"#).await.is_ok());
    let (_, body) = get(&sim.url(), "/v1/regions").await;
    assert!(serde_json::from_str::<Value>(&body).is_err());
    assert!(post(r#"{"path":"/v1/circuits","kind":"hang"}"#).await.is_ok());
    let hung = client.get(format!("{}/v1/circuits", sim.url())).timeout(Duration::from_millis(300)).send().await;
    assert!(hung.is_err_and(|e| e.is_timeout()));
    assert_eq!(post(r#"{"path":"/v1/x","kind":"explode"}"#).await.map(|r| r.status().as_u16()).ok(), Some(400));
    let cleared = client.delete(format!("{}/v1/faults", sim.url())).send().await.map(|r| r.status().as_u16()).ok();
    assert_eq!(cleared, Some(204));
    assert_eq!(get(&sim.url(), "/v1/flags").await.0, 200);
    let (_, stats) = get(&sim.url(), "/v1/stats").await;
    assert!(stats.contains("\"/v1/flags\""), "{stats}");
    sim.shutdown().await;
}

#[tokio::test]
async fn time_scale_lives_an_hour_in_seconds() {
    let cfg = SimConfig { time_scale: 3600.0, ..frozen(7, Scenario::Calm, 0.0) };
    let Ok(sim) = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await else { panic!("sim did not start") };
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let (_, body) = get(&sim.url(), "/v1/fleet").await;
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    assert!(v["scenarioSeconds"].as_f64().unwrap_or(0.0) >= 3600.0, "{v}");
    sim.shutdown().await;
}

#[tokio::test]
async fn alert_ages_are_in_the_sources_clock() {
    // A frozen simulator ten months in the past: `startsAt` is in its clock,
    // and its `Date` header says what time it is there.
    let sim = match warroom_sim::start(frozen(7, Scenario::RegionOutage, 600.0), ([127, 0, 0, 1], 0).into()).await {
        Ok(s) => s,
        Err(e) => panic!("sim did not start: {e}"),
    };
    let Ok(client) = warroom::dataplane::http_client() else { panic!("client") };
    let am = warroom::sources::alertmanager::Alertmanager::new(&sim.url(), client, None);
    let p = am.fetch().await;
    assert!(matches!(p, Ok(warroom::sources::Payload::Timed { .. })), "the Date header is read");
    let mut store = warroom::store::Store::new(&warroom::dataplane::Intervals::default());
    let now = chrono::Utc::now();
    store.apply(warroom::sources::Update { source: None, feed: warroom::model::FeedId::Alerts, at: now, result: p });
    let snap = store.snapshot();
    let a = &snap.fleet.alerts;
    let down = a.items().iter().find(|x| x.name == "RegionDown").and_then(|x| x.since);
    let Some(since) = down else { panic!("no RegionDown alert with a start time") };
    let age = a.age_of(since, now);
    assert!(age > 0.0 && age <= 600.0, "the outage's age in simulated time, not ten months: {age} s");
    sim.shutdown().await;
}

#[tokio::test]
async fn a_region_says_since_when_it_has_its_status() {
    // Region outage: us-west-2 degrades 30 s into the scenario, is down from 60 s.
    let sim = match warroom_sim::start(frozen(7, Scenario::RegionOutage, 600.0), ([127, 0, 0, 1], 0).into()).await {
        Ok(s) => s,
        Err(e) => panic!("sim did not start: {e}"),
    };
    let (_, body) = get(&sim.url(), "/v1/regions").await;
    let v: Value = serde_json::from_str(&body).unwrap_or_default();
    let at = |name: &str, key: &str| -> String {
        v["regions"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|r| r["name"] == name)
            .map(|r| r[key].to_string())
            .unwrap_or_default()
    };
    let start = 1_768_478_400.0;
    let iso = |t: f64| {
        chrono::DateTime::from_timestamp(t as i64, 0).map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
    };
    assert_eq!(at("us-west-2", "status"), "\"down\"");
    assert_eq!(at("us-west-2", "statusSince"), format!("\"{}\"", iso(start + 60.0).unwrap_or_default()));
    // OK all along: at least a day (the most the simulator looks back).
    assert_eq!(at("us-east-1", "statusSince"), format!("\"{}\"", iso(start + 600.0 - 86_400.0).unwrap_or_default()));
    sim.shutdown().await;
}
