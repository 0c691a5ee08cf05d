//! CloudWatch through the real AWS SDK (aws-sdk-cloudwatch, Smithy RPC v2
//! CBOR) against the simulator's GetMetricData endpoint on loopback, which
//! computes percentiles and sums from its simulated fleet. Nothing here
//! talks to AWS except `real_aws_when_asked`, which is `#[ignore]`d and
//! runs only with `-- --ignored`.

use std::collections::HashMap;
use std::path::Path;

use warroom::config::Config;
use warroom::sources::cloudwatch::{asks, get_metric_data, make_client, CloudWatch, Target};
use warroom::sources::Payload;
use warroom_sim::{Scenario, SimConfig};

const REGIONS: [&str; 4] = ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1"];

fn fake_credentials() {
    // The SDK signs every request; the simulator reads the region from the
    // signature's scope. These keys are not secrets and reach nothing but
    // 127.0.0.1. Set once, by whichever test comes first, while the others
    // wait here: every test calls this before the SDK reads the
    // environment, so no thread reads it while it is written.
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        std::env::set_var("AWS_ACCESS_KEY_ID", "AKIDWARROOMTEST");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "warroom-test-secret");
        std::env::remove_var("AWS_PROFILE");
    });
}

async fn sim(scenario: Scenario) -> warroom_sim::SimHandle {
    let cfg = SimConfig { scenario, time_scale: 1.0, at_secs: 3600.0, ..SimConfig::default() };
    match warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await {
        Ok(s) => s,
        Err(e) => panic!("cannot start the simulator on 127.0.0.1: {e}"),
    }
}

/// A configuration with CloudWatch for the four regions, all pointed at the sim.
fn config(url: &str, extra_region: &str) -> Config {
    let mut text = String::new();
    for r in REGIONS {
        text.push_str(&format!("[[region]]\nname = \"{r}\"\n"));
    }
    text.push_str(extra_region);
    for s in ["checkout", "payments", "search"] {
        text.push_str(&format!("[[service]]\nname = \"{s}\"\n"));
    }
    text.push_str("[service.slo]\nkind = \"latency\"\nobjective = 99.0\nthreshold_ms = 300.0\n");
    text.push_str("[cloudwatch]\ninterval = \"60s\"\n");
    for r in REGIONS {
        text.push_str(&format!("[[cloudwatch.region]]\nname = \"{r}\"\nendpoint = \"{url}\"\n"));
        text.push_str(&format!(
            "[[cloudwatch.target]]\nservice = \"checkout\"\nregion = \"{r}\"\npreset = \"alb\"\nload_balancer = \"app/checkout/50dc6c495c0c9188\"\n"
        ));
    }
    text.push_str("[[cloudwatch.target]]\nservice = \"payments\"\nregion = \"us-east-1\"\npreset = \"apigateway\"\napi_name = \"payments\"\nstage = \"prod\"\n");
    text.push_str("[[cloudwatch.target]]\nservice = \"search\"\nregion = \"eu-west-1\"\npreset = \"custom\"\nnamespace = \"Warroom/Sim\"\nlatency_metric = \"Latency\"\nlatency_unit = \"ms\"\nrequests_metric = \"Requests\"\nerrors_metric = \"Errors\"\ndimensions = { Service = \"search\" }\n");
    match Config::parse(Path::new("warroom.toml"), &text) {
        Ok(c) => c,
        Err(e) => panic!("{e:?}\n{text}"),
    }
}

async fn source(cfg: &Config) -> CloudWatch {
    let Some(cw) = &cfg.cloudwatch else { panic!("no [cloudwatch]") };
    let setup = match warroom::wiring::setup(cfg) {
        Ok(s) => s,
        Err(e) => panic!("{e}"),
    };
    let thresholds = setup.cloudwatch.map(|(_, t)| t).unwrap_or_default();
    warroom::wiring::cloudwatch(cw, &thresholds).await
}

async fn fetch(cw: &CloudWatch) -> (Vec<warroom::model::Traffic>, Option<String>, Option<String>) {
    match cw.fetch().await {
        Ok(Payload::MetricsFrom { traffic, error, note }) => (traffic, error, note),
        Ok(_) => panic!("unexpected payload"),
        Err(e) => panic!("fetch failed: {e}"),
    }
}

async fn stats(url: &str) -> (u64, u64) {
    let v: serde_json::Value = match reqwest::get(format!("{url}/v1/stats")).await {
        Ok(r) => r.json().await.unwrap_or_default(),
        Err(e) => panic!("{e}"),
    };
    (v["requests"]["/service"].as_u64().unwrap_or(0), v["cloudwatchMetrics"].as_u64().unwrap_or(0))
}

async fn fault(url: &str, body: serde_json::Value) {
    let c = reqwest::Client::new();
    match c.post(format!("{url}/v1/faults")).json(&body).send().await {
        Ok(r) if r.status().is_success() => {}
        Ok(r) => panic!("fault refused: {}", r.status()),
        Err(e) => panic!("{e}"),
    }
}

#[tokio::test]
async fn four_regions_side_by_side_with_units_and_cost() {
    fake_credentials();
    let sim = sim(Scenario::Calm).await;
    let cfg = config(&sim.url(), "");
    let cw = source(&cfg).await;
    let (traffic, error, note) = fetch(&cw).await;
    assert_eq!(error, None);
    let fleet = warroom_sim::fleet::Fleet::generate(7, 4, 8);
    let svc = |n: &str| fleet.services.iter().find(|s| s.name == n).cloned().unwrap_or_else(|| panic!("{n}"));
    let checkout = svc("checkout");
    // In the calm scenario latency does not move: p50 is the median,
    // p99 the log-normal's 99th percentile — TargetResponseTime comes in
    // seconds and is shown in ms.
    let p99 = checkout.median_ms * (checkout.sigma * 2.326_347_9).exp();
    let mut rps = HashMap::new();
    for r in REGIONS {
        let t = traffic
            .iter()
            .find(|t| t.service == "checkout" && t.region == r)
            .unwrap_or_else(|| panic!("checkout in {r}: {traffic:?}"));
        assert!((t.p50_ms - checkout.median_ms).abs() < 1e-6, "{r}: p50 {} vs {}", t.p50_ms, checkout.median_ms);
        assert!((t.p99_ms - p99).abs() / p99 < 1e-4, "{r}: p99 {} vs {p99}", t.p99_ms);
        assert!(t.rps > 0.0 && t.error_ratio < 0.01, "{r}: {} rps, {} errors", t.rps, t.error_ratio);
        let h1 = t.counts.get("1h").copied().unwrap_or_default();
        assert!(h1.total > 0.0 && h1.good <= h1.total, "{r}: {h1:?}");
        let d30 = t.counts.get("30d").copied().unwrap_or_default();
        assert!(d30.total > 100.0 * h1.total, "30 days from the hour series: {d30:?} vs {h1:?}");
        assert!(t.latency_counts.is_empty(), "checkout has no latency SLO here");
        assert_eq!(t.p99_series.len(), 60, "{r}: an hour of minutes for the chart");
        rps.insert(r, t.rps);
    }
    // Each region's own series (the sim's traffic follows the weights and
    // each region's time of day, so their order depends on the hour).
    let mut v: Vec<f64> = rps.values().copied().collect();
    v.sort_by(f64::total_cmp);
    assert!(v.windows(2).all(|w| w[1] - w[0] > 1e-6 * w[1]), "{rps:?}");
    // API Gateway latency is already in ms; the custom namespace too.
    let payments = svc("payments");
    let pay = traffic.iter().find(|t| t.service == "payments").unwrap_or_else(|| panic!("payments"));
    assert!((pay.p50_ms - payments.median_ms).abs() < 1e-6, "{} vs {}", pay.p50_ms, payments.median_ms);
    let search = traffic.iter().find(|t| t.service == "search").unwrap_or_else(|| panic!("search"));
    assert!((search.p50_ms - svc("search").median_ms).abs() < 1e-6);
    assert!(!search.latency_counts.is_empty(), "search has a latency SLO: PR(:0.3) gives its good events");
    let fast = search.latency_counts.get("1h").copied().unwrap_or_default();
    assert!(fast.good > 0.0 && fast.good <= fast.total, "{fast:?}");
    // 4 ALB × 5 + payments 5 + search 6 = 31 a minute, and 4 × 2 + 2 + 3 = 13 an hour:
    // 31.22 metrics/min × 43,200 min × $0.01/1000 = $13.49 a month.
    let note = note.unwrap_or_default();
    assert!(note.starts_with("CloudWatch · 31 metrics/min ≈ $13.49/month"), "{note}");
    // The hour series are fetched once per hour, not every poll.
    let (calls, metrics) = stats(&sim.url()).await;
    assert_eq!((calls, metrics), (8, 44), "4 regions × (fine + hourly) calls; 31 + 13 metrics");
    let _ = fetch(&cw).await;
    let (calls, metrics) = stats(&sim.url()).await;
    assert_eq!((calls, metrics), (12, 75), "the second poll asks only the fine series");
    sim.shutdown().await;
}

#[tokio::test]
async fn twelve_hundred_queries_take_three_calls_and_pages_are_followed() {
    fake_credentials();
    let sim = sim(Scenario::Calm).await;
    let cfg = config(&sim.url(), "");
    let _ = cfg;
    let client = make_client("us-east-1", Some(&sim.url()), None).await;
    let t = Target::alb("checkout", "us-east-1", "app/checkout/1", Some(300.0));
    let targets: Vec<&Target> = (0..200).map(|_| &t).collect();
    let q = asks(&targets, false);
    assert_eq!(q.len(), 1200);
    let end = chrono::Utc::now().timestamp();
    let (c0, m0) = stats(&sim.url()).await;
    let got = match get_metric_data(&client, &targets, &q, end - 600, end).await {
        Ok(g) => g,
        Err(e) => panic!("{e}"),
    };
    let (c1, m1) = stats(&sim.url()).await;
    assert_eq!((c1 - c0, m1 - m0), (3, 1200), "500 + 500 + 200");
    assert_eq!(got.len(), 1200);
    // Pages: 50 datapoints a page; 3 series × 180 minutes come back whole.
    fault(&sim.url(), serde_json::json!({"path": "/service", "kind": "cw-page-size", "value": 50})).await;
    let three: Vec<&Target> = vec![&t];
    let q: Vec<_> = asks(&three, false).into_iter().filter(|a| a.id.starts_with('p')).collect();
    let got = match get_metric_data(&client, &three, &q, end - 3 * 3600, end).await {
        Ok(g) => g,
        Err(e) => panic!("{e}"),
    };
    let (c2, _) = stats(&sim.url()).await;
    for a in &q {
        let s = got.get(&a.id).cloned().unwrap_or_default();
        assert!(s.points.len() >= 179, "{}: {} points", a.id, s.points.len());
        assert!(s.points.windows(2).all(|w| w[0].0 < w[1].0), "ascending, no duplicates");
    }
    assert!(c2 - c1 >= 10, "NextToken followed over {} calls", c2 - c1);
    // A backend that never stops paging is stopped: 540 points at 2 a page
    // would be 270 pages; we follow at most MAX_PAGES and say so.
    fault(&sim.url(), serde_json::json!({"path": "/service", "kind": "cw-page-size", "value": 2})).await;
    let r = get_metric_data(&client, &three, &q, end - 3 * 3600, end).await;
    assert!(r.as_ref().is_err_and(|e| e.contains("still paging after 50 pages")), "{:?}", r.map(|m| m.len()));
    let (c3, _) = stats(&sim.url()).await;
    assert_eq!(c3 - c2, warroom::sources::cloudwatch::MAX_PAGES as u64, "no call past the cap");
    sim.shutdown().await;
}

#[tokio::test]
async fn failures_stay_on_their_region_and_say_why() {
    fake_credentials();
    let sim = sim(Scenario::Calm).await;
    let url = sim.url();
    let cfg = config(&url, "");
    let cw = source(&cfg).await;
    // Forbidden for checkout in us-west-2 only: the others update.
    fault(&url, serde_json::json!({"path": "/service", "kind": "cw-result-status", "code": "Forbidden", "region": "us-west-2", "target": "checkout"})).await;
    let (traffic, error, _) = fetch(&cw).await;
    let error = error.unwrap_or_default();
    assert!(error.starts_with("us-west-2: checkout: TargetResponseTime p50 Forbidden"), "{error}");
    assert!(!error.contains("us-east-1"), "{error}");
    assert!(traffic.iter().any(|t| t.region == "us-east-1"), "other regions keep updating");
    // InternalError likewise; PartialData keeps the values.
    fault(&url, serde_json::json!({"path": "/service", "kind": "cw-result-status", "code": "InternalError", "region": "eu-west-1", "target": "search"})).await;
    let (_, error, _) = fetch(&cw).await;
    assert!(error.unwrap_or_default().contains("eu-west-1: search: Latency p50 InternalError"));
    fault(&url, serde_json::json!({"path": "/service", "kind": "cw-result-status", "code": "PartialData", "region": "eu-west-1"})).await;
    let (traffic, error, _) = fetch(&cw).await;
    assert!(!error.unwrap_or_default().contains("eu-west-1"), "partial data is data");
    assert!(traffic.iter().any(|t| t.region == "eu-west-1" && t.p50_ms.is_finite()));
    // Throttling twice: the SDK backs off and retries, the poll succeeds.
    reqwest::Client::new().delete(format!("{url}/v1/faults")).send().await.ok();
    fault(&url, serde_json::json!({"path": "/service", "kind": "cw-throttle", "times": 2})).await;
    let (_, error, _) = fetch(&cw).await;
    assert_eq!(error, None, "retried after throttling");
    // Throttled for good in one region: its error says so.
    fault(&url, serde_json::json!({"path": "/service", "kind": "cw-throttle", "region": "ap-southeast-1"})).await;
    let (_, error, _) = fetch(&cw).await;
    let error = error.unwrap_or_default();
    assert!(error.contains("ap-southeast-1: throttled by CloudWatch"), "{error}");
    // Expired credentials.
    reqwest::Client::new().delete(format!("{url}/v1/faults")).send().await.ok();
    fault(&url, serde_json::json!({"path": "/service", "kind": "cw-expired", "region": "us-east-1"})).await;
    let (_, error, _) = fetch(&cw).await;
    let error = error.unwrap_or_default();
    assert!(error.contains("us-east-1: AWS credentials for us-east-1") && error.contains("ExpiredToken"), "{error}");
    sim.shutdown().await;
}

/// Needs AWS credentials and a network: never run by `scripts/test`, and
/// listed as ignored (not as passed). Run it with
/// `cargo test --test cloudwatch -- --ignored real_aws` where both exist.
#[tokio::test]
#[ignore = "talks to real AWS: needs credentials and a network (cargo test --test cloudwatch -- --ignored)"]
async fn real_aws_when_asked() {
    let region = std::env::var("AWS_REGION").unwrap_or_else(|_| "us-east-1".into());
    let client = make_client(&region, None, None).await;
    let t = Target::alb("any", &region, "", None);
    let end = chrono::Utc::now().timestamp();
    match get_metric_data(&client, &[&t], &asks(&[&t], false), end - 3600, end).await {
        Ok(r) => assert_eq!(r.len(), 5, "every query answered by real CloudWatch in {region}"),
        Err(e) => panic!("real CloudWatch in {region}: {e}"),
    }
}

#[tokio::test]
async fn an_unknown_region_is_a_clear_error() {
    fake_credentials();
    // No endpoint override: the SDK resolves monitoring.mars-1.amazonaws.com,
    // which does not exist (and this machine has no network anyway).
    let client = make_client("mars-1", None, None).await;
    let t = Target::alb("checkout", "mars-1", "", None);
    let end = chrono::Utc::now().timestamp();
    let started = std::time::Instant::now();
    let e = get_metric_data(&client, &[&t], &asks(&[&t], false), end - 600, end).await.err().unwrap_or_default();
    let shown = warroom::sources::cloudwatch::explain("mars-1", &e);
    assert!(shown.starts_with("cannot reach CloudWatch in mars-1"), "{shown}");
    println!("unknown region answered in {:?}: {shown}", started.elapsed());
}

#[tokio::test]
async fn a_chart_range_is_one_call_for_one_target_at_whole_minutes() {
    use warroom::model::range::RangeQuery;
    fake_credentials();
    let sim = sim(Scenario::Calm).await;
    let cfg = config(&sim.url(), "");
    let cw = source(&cfg).await;
    let (_, calls_before) = stats(&sim.url()).await;
    let q = RangeQuery::new("checkout", "us-east-1", 21_600, 0, 100);
    let r = match cw.chart_range(&q).await {
        Ok(r) => r,
        Err(e) => panic!("range failed: {e}"),
    };
    assert_eq!((r.source.as_str(), r.error.clone()), ("cloudwatch", None));
    // 6 h in 200 points is 108 s a point: CloudWatch's period is whole minutes.
    assert_eq!(r.step_secs, 120.0);
    assert_eq!(r.p99.len(), 21_600 / 120 + 1);
    let finite: Vec<f64> = r.p99.iter().copied().filter(|v| v.is_finite()).collect();
    assert!(finite.len() >= r.p99.len() - 2, "{} of {} points", finite.len(), r.p99.len());
    // TargetResponseTime is in seconds; the chart is in ms.
    let mut sorted = finite.clone();
    sorted.sort_by(f64::total_cmp);
    let median = sorted[sorted.len() / 2];
    assert!((10.0..5_000.0).contains(&median), "p99 in ms: {median}");
    assert!(r.p50.iter().zip(&r.p99).all(|(a, b)| !(a.is_finite() && b.is_finite()) || a <= b), "p50 ≤ p99");
    let (_, calls_after) = stats(&sim.url()).await;
    assert_eq!(calls_after - calls_before, 3, "three metrics (p50, p95, p99) for one chart");
    // An SLO's burn: checkout's requests and 5XX summed over its four
    // regions' load balancers, then divided.
    let burn = RangeQuery::errors("checkout", 21_600, 100);
    let b = match cw.chart_range(&burn).await {
        Ok(b) => b,
        Err(e) => panic!("error range failed: {e}"),
    };
    assert_eq!((b.step_secs, b.err.len()), (120.0, 181));
    let finite = b.err.iter().filter(|v| v.is_finite()).count();
    assert!(finite >= 179 && b.err.iter().filter(|v| v.is_finite()).all(|v| (0.0..0.05).contains(v)), "{:?}", b.err);
    let (_, calls_burn) = stats(&sim.url()).await;
    assert_eq!(calls_burn - calls_after, 8, "requests and errors for each of the four regions' targets");
    // A latency SLO's burn: PR(:0.3) of each load balancer, weighted by its
    // requests.
    let slow = RangeQuery::slow("checkout", 300.0, 21_600, 100);
    let b = match cw.chart_range(&slow).await {
        Ok(b) => b,
        Err(e) => panic!("slow range failed: {e}"),
    };
    let shares: Vec<f64> = b.err.iter().copied().filter(|v| v.is_finite()).collect();
    assert!(shares.len() >= 179 && shares.iter().all(|v| (0.0..=1.0).contains(v)), "{:?}", b.err);
    // A service with no target here says so.
    let none = RangeQuery::new("inventory", "us-east-1", 21_600, 0, 100);
    match cw.chart_range(&none).await {
        Err(e) => assert!(e.contains("no CloudWatch target for inventory in us-east-1"), "{e}"),
        Ok(r) => panic!("a range for a service CloudWatch does not read: {r:?}"),
    }
}
