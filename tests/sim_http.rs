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

/// The compact metrics shape, merged by the console over polls that each
/// carry one shard of the coarse windows, gives the same records as the
/// old shape (a frozen clock, on a step-aligned instant, so the series
/// instants are the same too); gzip is asked for and inflated.
#[tokio::test]
async fn the_rows_shape_merged_over_shards_equals_the_full_shape() {
    use warroom::model::FeedId;
    use warroom::sources::{control_plane, Payload};
    // 6 × 200 = 1,200 rows: two shards of coarse windows.
    let cfg = SimConfig { regions: 6, services: 200, ..frozen(3, Scenario::DependencyStorm, 600.0) };
    let Ok(sim) = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await else { panic!("sim did not start") };
    let windows = warroom::model::slo::COUNT_WINDOWS.join(",");
    let (_, old) = get(&sim.url(), &format!("/v1/metrics?windows={windows}&points=60&step=60s&days=30")).await;
    let traffic = |p: Payload| match p {
        Payload::Timed { inner, .. } => match *inner {
            Payload::Metrics(m) => m,
            other => panic!("not metrics: {other:?}"),
        },
        other => panic!("not timed: {other:?}"),
    };
    let want = match control_plane::decode(FeedId::Metrics, old.as_bytes()) {
        Ok(p) => traffic(p),
        Err(e) => panic!("old shape: {e}"),
    };
    assert_eq!(want.len(), 1200);
    let client = reqwest::Client::new();
    let cp = control_plane::ControlPlane::new(&sim.url(), client);
    // Poll 1 carries everything; polls 2 and 3 one shard each, the other
    // half's coarse windows coming from what poll 1 said.
    for poll in 1..=3 {
        let got = match cp.fetch(FeedId::Metrics).await {
            Ok(p) => traffic(p),
            Err(e) => panic!("poll {poll}: {e}"),
        };
        assert_eq!(got.len(), want.len(), "poll {poll}");
        for (g, w) in got.iter().zip(&want) {
            // The last point is the value now: to 2 decimals in the rows
            // shape (the instantaneous field), to 1 in the old series.
            let (mut g, mut w) = (g.clone(), w.clone());
            for (a, b) in [
                (&mut g.p50_series, &mut w.p50_series),
                (&mut g.p95_series, &mut w.p95_series),
                (&mut g.p99_series, &mut w.p99_series),
                (&mut g.error_series, &mut w.error_series),
            ] {
                let (x, y) = (a.pop().unwrap_or(-1.0), b.pop().unwrap_or(-2.0));
                assert!((x - y).abs() <= 0.050_001, "poll {poll}: {} {}: now {x} vs {y}", g.service, g.region);
            }
            assert_eq!(format!("{g:?}"), format!("{w:?}"), "poll {poll}");
        }
    }
    let asked = sim.state.request_counts().get("/v1/metrics").copied().unwrap_or(0);
    assert_eq!(asked, 4);
    // The server compresses when asked; the answer is a fraction.
    let r = reqwest::Client::new()
        .get(format!(
            "{}/v1/metrics?windows={windows}&points=60&step=60s&days=30&format=rows&fine=5&shard=0/2&since=0",
            sim.url()
        ))
        .header("accept-encoding", "gzip")
        .send()
        .await;
    let Ok(r) = r else { panic!("rows request") };
    assert_eq!(r.headers().get("content-encoding").and_then(|v| v.to_str().ok()), Some("gzip"));
    let zipped = r.bytes().await.map(|b| b.len()).unwrap_or(0);
    assert!(zipped > 0 && zipped * 3 < old.len() / 2, "{zipped} gzip bytes vs {} old", old.len());
    sim.shutdown().await;
}

/// A control plane that only knows the old shape (it ignores `format`,
/// `fine`, `shard` and `since` and never compresses) is still read whole.
#[tokio::test]
async fn a_control_plane_with_only_the_old_shape_is_read_as_before() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use warroom::model::FeedId;
    use warroom::sources::{control_plane, Payload};
    let body = r#"{"metrics":[{"service":"a","region":"r","rps":5,"p99Ms":12,"counts":{"30d":{"good":9,"total":10}},
        "series":{"stepSeconds":60,"p99Ms":[1,2,3]}}]}"#;
    let Ok(listener) = tokio::net::TcpListener::bind("127.0.0.1:0").await else { panic!("bind") };
    let Ok(addr) = listener.local_addr() else { panic!("addr") };
    let server = tokio::spawn(async move {
        let mut asked = Vec::new();
        for _ in 0..2 {
            let Ok((mut sock, _)) = listener.accept().await else { break };
            let mut buf = vec![0u8; 8192];
            let n = sock.read(&mut buf).await.unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..n]).to_string();
            asked.push(head.lines().next().unwrap_or("").to_string());
            let resp = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = sock.write_all(resp.as_bytes()).await;
        }
        asked
    });
    let cp = control_plane::ControlPlane::new(&format!("http://{addr}"), reqwest::Client::new());
    for _ in 0..2 {
        let Ok(Payload::Metrics(m)) = cp.fetch(FeedId::Metrics).await else { panic!("not metrics") };
        assert_eq!((m.len(), m[0].p99_series.clone(), m[0].counts["30d"].total), (1, vec![1.0, 2.0, 3.0], 10.0));
    }
    let asked = server.await.unwrap_or_default();
    assert!(asked[0].contains("format=rows"), "{asked:?}");
    // Once it answered the old shape, the console asks in the old shape.
    assert!(!asked[1].contains("format=rows") && asked[1].contains("days=30"), "{asked:?}");
}
