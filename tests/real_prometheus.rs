//! Against the real servers: Prometheus and Alertmanager from Debian's
//! packages, started here on ephemeral loopback ports with generated
//! configuration. Prometheus scrapes the simulator's `/metrics`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::Value;
use warroom::app::view::ViewState;
use warroom::dataplane::{http_client, spawn_sources, Intervals, Sources};
use warroom::model::AlertState;
use warroom::snapshot_cmd::{buffer_to_text, render_to_buffer};
use warroom::sources::alertmanager::Alertmanager;
use warroom::sources::prometheus::{PromQueries, Prometheus};
use warroom::sources::Clock;
use warroom_sim::model::BUCKETS;
use warroom_sim::{Scenario, SimConfig};

fn need(bin: &str) -> PathBuf {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).map(|d| d.join(bin)).find(|f| f.is_file()))
        .unwrap_or_default();
    found.unwrap_or_else(|| {
        panic!("{bin} is not installed: run scripts/test as root, or `sudo apt-get install -y prometheus prometheus-alertmanager`")
    })
}

fn tmp(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("warroom-real-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    let _ = std::fs::create_dir_all(&d);
    d
}

fn write(path: &Path, text: &str) {
    if let Err(e) = std::fs::write(path, text) {
        panic!("cannot write {}: {e}", path.display());
    }
}

async fn wait_ready(url: &str, what: &str) {
    let client = reqwest::Client::new();
    for _ in 0..300 {
        if let Ok(r) = client.get(url).timeout(Duration::from_secs(1)).send().await {
            if r.status().is_success() {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("{what} did not become ready at {url}");
}

struct Stack {
    sim_url: String,
    sim: Arc<warroom_sim::SimState>,
    prom_url: String,
    am_url: String,
}

const RULES: &str = r#"groups:
  - name: warroom-test
    rules:
      - alert: HighErrorRatio
        expr: sum by (service, region) (rate(http_requests_total{code="5xx"}[15s])) / sum by (service, region) (rate(http_requests_total[15s])) > 0.01
        labels:
          severity: page
        annotations:
          summary: error ratio above 1%
"#;

/// One simulator, Alertmanager and Prometheus for the whole test binary
/// (they take seconds to start and the tests only read from them). The
/// simulator runs on its own thread's runtime, so it outlives each test's;
/// both servers listen on port 0 (the port read from /proc), log to files
/// in the stack's directory, and are killed by a watchdog when this test
/// process exits (a static is never dropped).
fn stack() -> &'static Stack {
    static STACK: std::sync::OnceLock<Stack> = std::sync::OnceLock::new();
    STACK.get_or_init(|| {
        let prom_bin = need("prometheus");
        let am_bin = need("prometheus-alertmanager");
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(1).enable_all().build();
            let Ok(rt) = rt else { panic!("no runtime for the simulator") };
            rt.block_on(async move {
                let cfg = SimConfig { scenario: Scenario::BadCanary, at_secs: 600.0, ..SimConfig::default() };
                let Ok(sim) = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await else {
                    panic!("sim did not start")
                };
                let _ = tx.send((sim.url(), sim.addr, sim.state.clone()));
                std::future::pending::<()>().await;
            });
        });
        let Ok((sim_url, sim_addr, sim)) = rx.recv() else { panic!("the simulator's thread died") };
        let dir = tmp("stack");
        write(&dir.join("rules.yml"), RULES);
        write(
            &dir.join("am.yml"),
            "route:\n  receiver: 'null'\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 1h\nreceivers:\n  - name: 'null'\n",
        );
        let mut am = Command::new(am_bin);
        am.arg(format!("--config.file={}", dir.join("am.yml").display()))
            .arg(format!("--storage.path={}", dir.join("am-data").display()))
            .arg("--web.listen-address=127.0.0.1:0")
            .arg("--cluster.listen-address=");
        let (am, ap) = common::start_on_port_zero(&mut am, &dir.join("alertmanager.log"), "alertmanager");
        write(
            &dir.join("prometheus.yml"),
            &format!(
                "global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [rules.yml]\n\
                 alerting:\n  alertmanagers:\n    - static_configs:\n        - targets: ['127.0.0.1:{ap}']\n\
                 scrape_configs:\n  - job_name: sim\n    static_configs:\n      - targets: ['{sim_addr}']\n"
            ),
        );
        let mut prom = Command::new(prom_bin);
        prom.arg(format!("--config.file={}", dir.join("prometheus.yml").display()))
            .arg(format!("--storage.tsdb.path={}", dir.join("prom-data").display()))
            .arg("--web.listen-address=127.0.0.1:0");
        let (prom, pp) = common::start_on_port_zero(&mut prom, &dir.join("prometheus.log"), "prometheus");
        common::watchdog(&[am.0.id(), prom.0.id()]);
        std::mem::forget(am);
        std::mem::forget(prom);
        let prom_url = format!("http://127.0.0.1:{pp}");
        let am_url = format!("http://127.0.0.1:{ap}");
        let (p, a) = (prom_url.clone(), am_url.clone());
        let ready = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
            let Ok(rt) = rt else { panic!("no runtime") };
            rt.block_on(async {
                wait_ready(&format!("{p}/-/ready"), "prometheus").await;
                wait_ready(&format!("{a}/-/ready"), "alertmanager").await;
            })
        });
        if ready.join().is_err() {
            panic!("the servers did not become ready; logs in {}", dir.display());
        }
        Stack { sim_url, sim, prom_url, am_url }
    })
}

fn queries() -> PromQueries {
    PromQueries {
        error_matcher: "code=\"5xx\"".into(),
        rate_window: "15s".into(),
        // 1 s: the exposition spells it "1.0", which le="1" would miss.
        // 0.3 s is no bucket bound: the feed says so and names 0.25 and 0.5.
        latency_thresholds: [
            ("checkout".to_string(), 0.25),
            ("payments".to_string(), 1.0),
            ("search".to_string(), 0.3),
        ]
        .into_iter()
        .collect(),
        ..PromQueries::default()
    }
}

fn prometheus(url: &str) -> Prometheus {
    let Ok(client) = http_client() else { panic!("client") };
    Prometheus::new(url, client, None, queries())
}

/// Wait (up to a minute) until Prometheus has the samples for a p99 of
/// `key` over the 15 s rate window; the instant (a second ago) it has them.
async fn p99_ready(prom: &Prometheus, key: &(String, String)) -> f64 {
    let mut t = 0.0;
    for _ in 0..120 {
        t = Utc::now().timestamp_millis() as f64 / 1000.0 - 1.0;
        let v = prom.instant(&prom.q.quantile(0.99), Some(t)).await.unwrap_or_default();
        if v.get(key).is_some_and(|x| x.is_finite()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    t
}

async fn direct(prom_url: &str, query: &str, time: f64) -> Vec<Value> {
    let r = reqwest::Client::new()
        .get(format!("{prom_url}/api/v1/query"))
        .query(&[("query", query), ("time", &format!("{time:.3}"))])
        .send()
        .await;
    let v: Value = match r {
        Ok(r) => r.json().await.unwrap_or(Value::Null),
        Err(e) => panic!("direct query failed: {e}"),
    };
    v["data"]["result"].as_array().cloned().unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn p99_matches_prometheus_and_the_ground_truth() {
    let s = stack();
    let prom = prometheus(&s.prom_url);
    // Wait until Prometheus has enough samples for rate() over 15s.
    let key = ("checkout".to_string(), "us-east-1".to_string());
    let t = p99_ready(&prom, &key).await;
    let traffic = match prom.traffic(Some(t)).await {
        Ok(v) => v,
        Err(e) => panic!("console query failed: {e}"),
    };
    assert_eq!(traffic.len(), 32, "every service × region");
    let mine = traffic.iter().find(|x| x.service == key.0 && x.region == key.1).cloned();
    let Some(mine) = mine else { panic!("checkout/us-east-1 missing") };
    // The same query, asked of Prometheus directly at the same instant.
    let theirs = direct(&s.prom_url, &prom.q.quantile(0.99), t).await;
    let theirs = theirs
        .iter()
        .find(|r| r["metric"]["service"] == "checkout" && r["metric"]["region"] == "us-east-1")
        .and_then(|r| r["value"][1].as_str())
        .and_then(|v| v.parse::<f64>().ok())
        .unwrap_or(f64::NAN);
    assert_eq!(mine.p99_ms, theirs * 1000.0, "console p99 equals Prometheus's answer");
    // Ground truth from the simulator's model: within the bucket Prometheus interpolated in.
    let w = &s.sim.world;
    let svc = w.fleet.service_index("checkout").unwrap_or(0);
    let cond = w.cond(svc, 0, s.sim.now());
    let params = &w.fleet.services[svc];
    let truth_s = params.median_ms * cond.lat_mult * (2.326 * params.sigma).exp() / 1000.0;
    let est_s = mine.p99_ms / 1000.0;
    let upper = BUCKETS.iter().copied().find(|b| *b >= truth_s).unwrap_or(f64::INFINITY);
    let lower = BUCKETS.iter().copied().filter(|b| *b < truth_s).fold(0.0, f64::max);
    assert!(
        est_s >= lower && est_s <= upper,
        "p99 {est_s}s outside the bucket ({lower}, {upper}] of the truth {truth_s}s"
    );
    assert!(mine.error_ratio > 0.01, "the bad canary's errors show: {}", mine.error_ratio);
    let c = mine.counts.get("1h").copied().unwrap_or_default();
    assert!(c.total > 0.0 && c.good < c.total, "counts over the budget windows: {c:?}");
    assert!(!mine.p99_series.is_empty(), "range query for the sparkline");
    // Latency-SLO counts: requests within 250 ms (a bucket bound) over the budget windows.
    let fast = mine.latency_counts.get("1h").copied().unwrap_or_default();
    assert!(fast.total > 0.0 && fast.good > 0.0 && fast.good <= fast.total, "{fast:?}");
    assert!(mine.counts.contains_key("mtd"), "month-to-date counts");
    // Prometheus started seconds ago: its 30-day counts cover only that,
    // and the console knows it (the oldest sample, not the window asked).
    // (A Prometheus younger than one subquery step cannot say yet: ask again.)
    let mut age = mine.history_s;
    for _ in 0..10 {
        if age.is_some() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
        let again = prom.traffic(None).await.unwrap_or_default();
        age = again.iter().find(|x| x.service == key.0 && x.region == key.1).and_then(|x| x.history_s);
    }
    let age = age.unwrap_or_else(|| panic!("no history coverage from Prometheus"));
    assert!(age > 0.0 && age < 600.0, "history covers {age} s of a Prometheus started in this test");
    // A threshold of 1 s matches the bucket spelled "1.0".
    let pay = traffic.iter().find(|x| x.service == "payments" && x.region == "us-east-1");
    let within = pay.and_then(|p| p.latency_counts.get("1h").copied()).unwrap_or_default();
    assert!(within.total > 0.0 && within.good > 0.9 * within.total, "payments within 1 s: {within:?}");
    // 0.3 s matches no bucket: no counts (never "nothing was fast"), and the feed names the nearest bounds.
    let search = traffic.iter().find(|x| x.service == "search").map(|x| x.latency_counts.is_empty());
    assert_eq!(search, Some(true));
    match prom.fetch().await {
        Ok(warroom::sources::Payload::MetricsFrom { error: Some(e), .. }) => {
            assert!(
                e.contains("latency SLO of search: 0.3 s is no bucket bound") && e.contains("(nearest: 0.25, 0.5)"),
                "{e}"
            )
        }
        Ok(_) => panic!("no error for a threshold that is no bucket bound"),
        Err(e) => panic!("fetch failed: {e}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rule_alert_reaches_the_alerts_pane() {
    let _one = ONE_ALERT.lock().await;
    let s = stack();
    let Ok(client) = http_client() else { panic!("client") };
    let am = Alertmanager::new(&s.am_url, client.clone(), None);
    let mut firing = false;
    for _ in 0..120 {
        // Alertmanager sends `Date`: the alerts come with its clock.
        let p = am.fetch().await;
        let p = match p {
            Ok(warroom::sources::Payload::Timed { inner, source_at }) => {
                let skew = (source_at - Utc::now()).num_seconds().abs();
                assert!(skew <= 2, "Alertmanager's Date is this machine's clock: {skew} s apart");
                Ok(*inner)
            }
            Ok(other) => panic!("no Date header read from Alertmanager: {:?}", std::mem::discriminant(&other)),
            Err(e) => Err(e),
        };
        if let Ok(warroom::sources::Payload::Silenced { alerts: list, .. }) = p {
            firing = list.iter().any(|a| {
                a.name == "HighErrorRatio"
                    && a.service.as_deref() == Some("checkout")
                    && a.region.as_deref() == Some("us-east-1")
                    && a.state == AlertState::Firing
            });
            if firing {
                break;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert!(firing, "HighErrorRatio never reached Alertmanager");
    // The console, configured from a warroom.toml for the real servers, shows it.
    let sim = s.sim_url.clone();
    let toml = format!(
        "[[region]]\nname = \"us-east-1\"\n[[region]]\nname = \"us-west-2\"\n\
         [[service]]\nname = \"checkout\"\ntier = \"critical\"\nslo = {{ objective = 99.95 }}\n\
         [[service]]\nname = \"auth\"\n\
         [health]\nliveness = \"{sim}/svc/{{service}}/{{region}}/health\"\nreadiness = \"{sim}/svc/{{service}}/{{region}}/ready\"\n\
         [prometheus]\nurl = \"{}\"\nerror_matcher = 'code=\"5xx\"'\nrate_window = \"15s\"\n\
         [alertmanager]\nurl = \"{}\"\n\
         [control_plane]\nurl = \"{sim}\"\n",
        s.prom_url, s.am_url
    );
    let cfg_path = tmp("alert-config").join("warroom.toml");
    write(&cfg_path, &toml);
    let cfg = match warroom::config::Config::load(&cfg_path) {
        Ok(c) => c,
        Err(e) => panic!("{e:?}"),
    };
    let setup = match warroom::wiring::setup(&cfg) {
        Ok(x) => x,
        Err(e) => panic!("{e}"),
    };
    let clock: Clock = Arc::new(Utc::now);
    let Ok(plane) = spawn_sources(setup.sources, setup.intervals.scaled(0.1), clock) else { panic!("data plane") };
    let mut rx = plane.snapshots.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let snap = rx.borrow().clone();
        if !snap.fleet.alerts.items().is_empty()
            && !snap.fleet.metrics.items().is_empty()
            && !snap.fleet.probes.items().is_empty()
        {
            assert_eq!(snap.fleet.services.items().len(), 2, "services come from the file");
            let text = buffer_to_text(&render_to_buffer(
                &snap,
                &ViewState::default(),
                Utc::now(),
                &warroom_ui::Theme::ansi(),
                160,
                50,
            ));
            assert!(text.contains("HighErrorRatio"), "{text}");
            assert!(text.contains("checkout/use1"), "{text}");
            assert!(text.contains("Latency ms"), "{text}");
            let _ = am;
            break;
        }
        assert!(tokio::time::timeout_at(deadline, rx.changed()).await.is_ok(), "no alerts in the console");
    }
    drop(plane);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn prometheus_errors_are_shown_on_the_pane() {
    let s = stack();
    let prom = prometheus(&s.prom_url);
    let e = prom.instant("sum(", None).await.err().unwrap_or_default();
    assert!(e.starts_with("Prometheus 400 bad_data"), "{e}");
    let Ok(client) = http_client() else { panic!("client") };
    let broken = Prometheus::new(&s.prom_url, client, None, PromQueries { rate_window: "soon".into(), ..queries() });
    let mut src = match Sources::control_plane(&s.sim_url) {
        Ok(x) => x,
        Err(e) => panic!("{e}"),
    };
    src.list.insert(0, Arc::new(broken));
    let clock: Clock = Arc::new(Utc::now);
    let Ok(plane) = spawn_sources(src, Intervals::default().scaled(0.1), clock) else { panic!("data plane") };
    let mut rx = plane.snapshots.clone();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let snap = rx.borrow().clone();
        // (A timeout while the shared Prometheus is busy with another test
        // is an error too, but not this one: wait for Prometheus's answer.)
        // The control plane's feeds keep working beside the failing one.
        let others_fine = !snap.fleet.deployments.items().is_empty() && snap.fleet.deployments.error.is_none();
        if let Some(err) = snap.fleet.metrics.error_text().filter(|e| !e.contains("timed out") && others_fine) {
            assert!(err.contains("bad_data"), "{err}");
            let text = buffer_to_text(&render_to_buffer(
                &snap,
                &ViewState::default(),
                Utc::now(),
                &warroom_ui::Theme::ansi(),
                160,
                50,
            ));
            assert!(text.contains("Prometheus 400 bad_data"), "{text}");
            assert!(text.contains("Canaries") && text.contains("checkout/use1"), "the deployments still show: {text}");
            break;
        }
        assert!(
            tokio::time::timeout_at(deadline, rx.changed()).await.is_ok(),
            "no metrics error beside working deployments"
        );
    }
    drop(plane);
}

/// A console from `toml` (four regions prepended) in a fresh directory:
/// its data plane at a tenth of the intervals, and an executor whose
/// updates arrive on the receiver; the audit trail's path.
async fn console(
    name: &str,
    toml: &str,
) -> (
    warroom::dataplane::DataPlane,
    warroom::actions::executor::Executor,
    tokio::sync::mpsc::Receiver<warroom::sources::Update>,
    PathBuf,
) {
    let mut text = String::new();
    for r in ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1"] {
        text.push_str(&format!("[[region]]\nname = \"{r}\"\n"));
    }
    text.push_str(toml);
    let cfg_path = tmp(name).join("warroom.toml");
    write(&cfg_path, &text);
    let cfg = warroom::config::Config::load(&cfg_path).unwrap_or_else(|e| panic!("{e:?}"));
    let setup = warroom::wiring::setup(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let clock: Clock = Arc::new(Utc::now);
    let plane = spawn_sources(setup.sources, setup.intervals.scaled(0.1), clock.clone())
        .unwrap_or_else(|e| panic!("data plane: {e}"));
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let audit = cfg_path.with_file_name("audit.jsonl");
    let exec = warroom::actions::executor::spawn_routed(
        setup.routes,
        warroom::audit::AuditLog::open(&audit),
        tx,
        clock,
        Some(plane.snapshots.clone()),
    );
    (plane, exec, rx, audit)
}

/// The tests that watch (or silence) the rule's checkout/us-east-1 alert
/// take turns.
static ONE_ALERT: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Wait until the real Alertmanager has `name` firing.
async fn wait_firing(am: &Alertmanager, name: &str) {
    for _ in 0..120 {
        let p = am.fetch().await.map(|p| match p {
            warroom::sources::Payload::Timed { inner, .. } => *inner,
            other => other,
        });
        if let Ok(warroom::sources::Payload::Silenced { alerts, .. }) = p {
            if alerts.iter().any(|a| a.name == name && a.state == AlertState::Firing) {
                return;
            }
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let last = am.fetch().await.map(|p| format!("{p:?}"));
    panic!("{name} never fired: {last:?}");
}

/// A real Prometheus rule's alert, silenced from the console in the real
/// Alertmanager: the first answer to the POST is dropped and the request
/// reconciled by reading the silences (the key rides in the comment) — one
/// silence made; Alertmanager's API shows the operator and the comment;
/// the console shows the alert SILENCED and the silence; expiring it brings
/// the alert back to FIRING.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alert_is_silenced_and_expired_in_the_real_alertmanager() {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use warroom::actions::executor::{new_key, Disposition, Intent};
    use warroom::actions::{Action, Operator, Role};
    let s = stack();
    let Ok(client) = http_client() else { panic!("client") };
    let am = Alertmanager::new(&s.am_url, client.clone(), None);
    let _one = ONE_ALERT.lock().await;
    wait_firing(&am, "HighErrorRatio").await;
    let (service, region) = ("checkout".to_string(), "us-east-1".to_string());
    let posts = Arc::new(AtomicUsize::new(0));
    let proxy = common::drop_first_answer(
        s.am_url.trim_start_matches("http://").to_string(),
        |h| h.contains("/api/v2/silences"),
        posts.clone(),
    )
    .await;
    let (plane, exec, mut rx, audit) = console("silence-config", &format!("[alertmanager]\nurl = \"{proxy}\"\n")).await;
    let go = |action: Action| Intent {
        action,
        key: new_key(),
        operator: Operator { name: "alice".into(), role: Role::Operator },
        disposition: Disposition::Go,
    };
    let matchers = vec![
        ("alertname".to_string(), "HighErrorRatio".to_string()),
        ("service".to_string(), service.clone()),
        ("region".to_string(), region.clone()),
    ];
    let silence = Action::Silence { matchers, duration_secs: 3600, comment: "checked by the test".into() };
    // The preview counts what the matchers catch, from the console's snapshot.
    let mut snaps = plane.snapshots.clone();
    let snap = common::snapshot_where(
        &mut snaps,
        30,
        "the alert in the console",
        |x| x.fleet.alerts.items().iter().any(|a| a.region.as_deref() == Some(region.as_str())),
        |x| format!("{:?}", x.fleet.alerts.error_text()),
    )
    .await;
    let p = silence.preview(&snap).unwrap_or_else(|e| panic!("{e}"));
    assert!(p.effect.iter().any(|l| l.starts_with("catches 1 firing alert now: HighErrorRatio")), "{:?}", p.effect);
    let i = go(silence);
    let key = i.key.clone();
    exec.submit(i).unwrap_or_else(|e| panic!("{e}"));
    let e = common::action_outcome(&mut rx, &key, 60).await;
    assert_eq!(e.status, warroom::model::ActionStatus::Succeeded, "{}", e.message);
    assert_eq!(posts.load(Ordering::SeqCst), 1, "the dropped answer was reconciled by reading, not resent");
    // Alertmanager's own API: one active silence, by the operator, with the comment.
    let all: Vec<Value> = reqwest::get(format!("{}/api/v2/silences", s.am_url))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let ours: Vec<&Value> = all.iter().filter(|x| x["comment"].as_str().is_some_and(|c| c.contains(&key))).collect();
    assert_eq!(ours.len(), 1, "{all:?}");
    assert_eq!(ours[0]["createdBy"], "alice");
    assert_eq!(ours[0]["status"]["state"], "active");
    assert!(ours[0]["comment"].as_str().is_some_and(|c| c.starts_with("checked by the test")));
    let id = ours[0]["id"].as_str().unwrap_or_default().to_string();
    let state_of = |x: &warroom::model::Snapshot| {
        x.fleet
            .alerts
            .items()
            .iter()
            .find(|a| {
                a.name == "HighErrorRatio"
                    && a.service.as_deref() == Some(&service)
                    && a.region.as_deref() == Some(&region)
            })
            .map(|a| a.state)
    };
    common::snapshot_where(
        &mut snaps,
        30,
        "the alert SILENCED and the silence listed",
        |x| state_of(x) == Some(AlertState::Silenced) && x.fleet.silences.iter().any(|si| si.id == id),
        |x| format!("{:?} {:?}", state_of(x), x.fleet.silences),
    )
    .await;
    // Expire it from the console: the alert fires again.
    let i = go(Action::ExpireSilence { id: id.clone() });
    let key = i.key.clone();
    exec.submit(i).unwrap_or_else(|e| panic!("{e}"));
    let e = common::action_outcome(&mut rx, &key, 60).await;
    assert_eq!(e.status, warroom::model::ActionStatus::Succeeded, "{}", e.message);
    let one: Value = reqwest::get(format!("{}/api/v2/silence/{id}", s.am_url))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(one["status"]["state"], "expired", "{one}");
    common::snapshot_where(
        &mut snaps,
        30,
        "the alert FIRING again",
        |x| state_of(x) == Some(AlertState::Firing) && !x.fleet.silences.iter().any(|si| si.id == id),
        |x| format!("{:?}", state_of(x)),
    )
    .await;
    let trail = std::fs::read_to_string(&audit).unwrap_or_default();
    assert!(trail.contains("\"backend\":\"alertmanager "), "the trail names Alertmanager: {trail}");
}

/// Resilience4j across a fleet (the sim's instances: a JVM cannot be
/// fetched here): a real Prometheus scrapes the Micrometer series, the
/// console aggregates them per edge and region ("3 CLOSED"), forces one
/// edge's breakers open on every instance through their actuators (one
/// `updateState` per instance, each listed in the outcome), sees "3/3
/// FORCED_OPEN" after the next scrape, refuses doing it again, and closes
/// them.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn breakers_are_counted_per_instance_and_forced_open_and_closed_through_actuators() {
    use warroom::actions::executor::{new_key, Disposition, Intent};
    use warroom::actions::{Action, BreakerOp, Operator, Role};
    use warroom::model::{ActionStatus, CircuitState};
    let s = stack();
    let sim = s.sim_url.clone();
    let toml = format!(
        "[prometheus]\nurl = \"{}\"\n[resilience4j]\ninstance_label = \"pod\"\nactuator = \"{sim}/r4j/{{instance}}/actuator\"\n",
        s.prom_url
    );
    let (plane, exec, mut rx, audit) = console("r4j-config", &toml).await;
    let edge = |x: &warroom::model::Snapshot| {
        x.fleet
            .circuits
            .items()
            .iter()
            .find(|c| c.from == "checkout" && c.to == "payments" && c.region == "us-east-1")
            .cloned()
    };
    let mut snaps = plane.snapshots.clone();
    let snap = common::snapshot_where(
        &mut snaps,
        60,
        "checkout→payments per instance",
        |x| edge(x).and_then(|c| c.instances).is_some_and(|i| i.total == 3),
        |x| format!("{:?} {:?}", x.fleet.circuits.error_text(), edge(x)),
    )
    .await;
    let c = edge(&snap).unwrap_or_else(|| panic!("no edge"));
    assert_eq!(c.instances.as_ref().map(|i| i.words()), Some("3 CLOSED".to_string()), "{c:?}");
    let force = Action::SetBreaker {
        from: "checkout".into(),
        to: "payments".into(),
        region: "us-east-1".into(),
        op: BreakerOp::ForceOpen,
    };
    let p = force.preview(&snap).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(p.title, "Force open checkout→payments in us-east-1 on 3 of 3 instances?");
    assert_eq!(p.type_to_confirm.as_deref(), Some("payments"));
    let go = |action: Action| Intent {
        action,
        key: new_key(),
        operator: Operator { name: "alice".into(), role: Role::Operator },
        disposition: Disposition::Go,
    };
    let stats = || async {
        let v: Value = reqwest::get(format!("{sim}/v1/stats")).await.ok()?.json().await.ok()?;
        v["requests"]["R4J FORCE_OPEN"].as_u64()
    };
    let before = stats().await.unwrap_or(0);
    let i = go(force.clone());
    let key = i.key.clone();
    exec.submit(i).unwrap_or_else(|e| panic!("{e}"));
    let e = common::action_outcome(&mut rx, &key, 60).await;
    assert_eq!(e.status, ActionStatus::Succeeded, "{}", e.message);
    assert!(e.message.starts_with("3 of 3 instances done"), "{}", e.message);
    assert!(e.message.contains("checkout-use1-0: CLOSED → FORCED_OPEN"), "{}", e.message);
    assert_eq!(stats().await.unwrap_or(0) - before, 3, "one updateState per instance");
    let snap = common::snapshot_where(
        &mut snaps,
        30,
        "3/3 FORCED_OPEN after the next scrape",
        |x| {
            edge(x).is_some_and(|c| {
                c.state == CircuitState::ForcedOpen && c.instances.is_some_and(|i| i.words() == "3/3 FORCED_OPEN")
            })
        },
        |x| format!("{:?}", edge(x)),
    )
    .await;
    assert!(force.preview(&snap).is_err_and(|e| e.contains("already FORCED_OPEN on all 3 instances")));
    let close = Action::SetBreaker {
        from: "checkout".into(),
        to: "payments".into(),
        region: "us-east-1".into(),
        op: BreakerOp::Close,
    };
    let i = go(close);
    let key = i.key.clone();
    exec.submit(i).unwrap_or_else(|e| panic!("{e}"));
    let e = common::action_outcome(&mut rx, &key, 60).await;
    assert_eq!(e.status, ActionStatus::Succeeded, "{}", e.message);
    common::snapshot_where(
        &mut snaps,
        30,
        "3 CLOSED again",
        |x| edge(x).is_some_and(|c| c.instances.is_some_and(|i| i.words() == "3 CLOSED")),
        |x| format!("{:?}", edge(x)),
    )
    .await;
    let trail = std::fs::read_to_string(&audit).unwrap_or_default();
    assert!(trail.contains("\"backend\":\"resilience4j actuators\""), "{trail}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_chart_range_is_three_range_queries_for_one_series_on_an_even_grid() {
    use warroom::model::range::RangeQuery;
    let s = stack();
    let prom = prometheus(&s.prom_url);
    let key = ("checkout".to_string(), "us-east-1".to_string());
    for _ in 0..240 {
        // Data for the last two steps at least (the window ends on a step).
        let t = Utc::now().timestamp_millis() as f64 / 1000.0 - 25.0;
        let v = prom.instant(&prom.q.quantile(0.99), Some(t)).await.unwrap_or_default();
        if v.get(&key).is_some_and(|x| x.is_finite()) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // 15 minutes at 10 s: Prometheus has only seconds of samples, so the
    // early points are gaps (NaN), never zeros.
    let q = RangeQuery::new("checkout", "us-east-1", 900, 0, 140);
    let r = match prom.chart_range(&q).await {
        Ok(r) => r,
        Err(e) => panic!("range failed: {e}"),
    };
    assert_eq!((r.source.as_str(), r.error.clone()), ("prometheus", None));
    assert_eq!(r.p99.len(), q.points as usize);
    assert_eq!(r.step_secs, 10.0);
    assert!(r.p99[0].is_nan(), "no samples 15 minutes back: a gap, not 0: {:?}", &r.p99[..3]);
    let last = r.p99.last().copied().unwrap_or(f64::NAN);
    assert!(last.is_finite(), "the newest point has data: {:?}", &r.p99[r.p99.len() - 5..]);
    // The same expression asked of Prometheus directly at the last point.
    let Some(end) = r.end else { panic!("no end") };
    let expr = prom.q.quantile_of(0.99, "checkout", "us-east-1", "15s");
    let theirs = direct(&s.prom_url, &expr, end.timestamp() as f64).await;
    let theirs = theirs.first().and_then(|r| r["value"][1].as_str()).and_then(|v| v.parse::<f64>().ok());
    assert_eq!(Some(last), theirs.map(|v| v * 1000.0), "the chart's last point is Prometheus's answer, in ms");
    // An SLO's burn: the error ratio over every region, one series; no
    // failed series at all is 0, not a gap.
    let burn = RangeQuery::errors("checkout", 900, 140);
    let b = match prom.chart_range(&burn).await {
        Ok(b) => b,
        Err(e) => panic!("error range failed: {e}"),
    };
    let last = b.err.last().copied().unwrap_or(f64::NAN);
    let expr = prom.q.error_ratio_of("checkout", "", "15s");
    let theirs = direct(&s.prom_url, &expr, b.end.map(|e| e.timestamp()).unwrap_or(0) as f64).await;
    let theirs = theirs.first().and_then(|r| r["value"][1].as_str()).and_then(|v| v.parse::<f64>().ok());
    assert_eq!(Some(last), theirs, "the burn chart's last point is Prometheus's answer");
    assert!((0.0..=1.0).contains(&last), "{last}");
    // A latency SLO's burn: the share slower than 0.25 s (a bucket bound).
    let slow = RangeQuery::slow("checkout", 250.0, 900, 140);
    let b = match prom.chart_range(&slow).await {
        Ok(b) => b,
        Err(e) => panic!("slow range failed: {e}"),
    };
    let last = b.err.last().copied().unwrap_or(f64::NAN);
    let expr = prom.q.slow_ratio_of("checkout", "", 0.25, "15s");
    let theirs = direct(&s.prom_url, &expr, b.end.map(|e| e.timestamp()).unwrap_or(0) as f64).await;
    let theirs = theirs.first().and_then(|r| r["value"][1].as_str()).and_then(|v| v.parse::<f64>().ok());
    assert_eq!(Some(last), theirs, "the latency burn's last point is Prometheus's answer");
    assert!((0.0..=1.0).contains(&last), "{last}");
    // A hostile name is a literal in the query, not PromQL: no match, no error.
    let evil = RangeQuery::new("x\"} or vector(1) or {a=\"", "us-east-1", 900, 0, 140);
    match prom.chart_range(&evil).await {
        Ok(r) => assert!(!r.has_points(), "{:?}", r.p99),
        Err(e) => panic!("a quoted name broke the query: {e}"),
    }
}

/// A proxy in front of the real Prometheus that answers every query over a
/// window of a day or more with Prometheus's own timeout error, while
/// `fail` is set; everything else goes through.
async fn coarse_failing_proxy(prom_url: String, fail: Arc<std::sync::atomic::AtomicBool>) -> String {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let Ok(listener) = tokio::net::TcpListener::bind("127.0.0.1:0").await else { panic!("bind") };
    let Ok(addr) = listener.local_addr() else { panic!("addr") };
    tokio::spawn(async move {
        let client = reqwest::Client::new();
        while let Ok((mut sock, _)) = listener.accept().await {
            let (client, prom_url, fail) = (client.clone(), prom_url.clone(), fail.clone());
            tokio::spawn(async move {
                let mut buf = vec![0u8; 16384];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let head = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
                let coarse =
                    ["%5B1d%5D", "%5B3d%5D", "%5B7d%5D", "%5B28d%5D", "%5B30d%5D"].iter().any(|w| path.contains(w));
                let (status, body) = if coarse && fail.load(std::sync::atomic::Ordering::SeqCst) {
                    (503, r#"{"status":"error","errorType":"timeout","error":"query timed out in expression evaluation"}"#.to_string())
                } else {
                    match client.get(format!("{prom_url}{path}")).send().await {
                        Ok(r) => (r.status().as_u16(), r.text().await.unwrap_or_default()),
                        Err(e) => (502, format!("{{\"status\":\"error\",\"error\":\"{e}\"}}")),
                    }
                };
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    format!("http://{addr}")
}

/// A slow or failing 30-day query blanks neither latency nor errors: the
/// fine figures are whole, the coarse windows keep their last counts and
/// the pane says what failed and since when; with no counts yet, the
/// budgets have none (never zeros) and the pane says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_coarse_query_leaves_latency_and_errors_whole() {
    let s = stack();
    let fail = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let url = coarse_failing_proxy(s.prom_url.clone(), fail.clone()).await;
    let prom = prometheus(&url);
    let key = ("checkout".to_string(), "us-east-1".to_string());
    let t = p99_ready(&prom, &key).await;
    let find = |v: &[warroom::model::Traffic]| v.iter().find(|x| x.service == key.0 && x.region == key.1).cloned();
    let good = match prom.traffic_noted(Some(t)).await {
        Ok((v, None)) => find(&v).unwrap_or_else(|| panic!("no checkout/us-east-1")),
        other => panic!("the good read: {other:?}"),
    };
    assert!(good.counts.contains_key("30d") && good.counts.contains_key("5m"));
    fail.store(true, std::sync::atomic::Ordering::SeqCst);
    // Asked again (a fixed instant asks the coarse windows every time).
    let (v, note) = match prom.traffic_noted(Some(t + 1.0)).await {
        Ok(x) => x,
        Err(e) => panic!("a coarse failure failed the whole read: {e}"),
    };
    let mine = find(&v).unwrap_or_else(|| panic!("no checkout/us-east-1"));
    assert!(mine.p99_ms.is_finite() && mine.rps > 0.0 && mine.counts.contains_key("5m"), "{mine:?}");
    assert_eq!(mine.counts.get("30d"), good.counts.get("30d"), "the last 30d counts are kept");
    let note = note.unwrap_or_default();
    assert!(
        note.contains("1d…30d windows") && note.contains("timed out") && note.contains("showing those read at"),
        "{note}"
    );
    // A console with no coarse counts yet: none, and the pane says why.
    let fresh = prometheus(&url);
    match fresh.fetch().await {
        Ok(warroom::sources::Payload::MetricsFrom { traffic, error: Some(e), .. }) => {
            let mine = find(&traffic).unwrap_or_else(|| panic!("no checkout/us-east-1"));
            assert!(mine.p99_ms.is_finite() && !mine.counts.contains_key("30d") && mine.counts.contains_key("1h"));
            assert!(e.contains("1d…30d windows (error budgets)"), "{e}");
        }
        other => panic!("no error for a failing coarse read: {other:?}"),
    }
    fail.store(false, std::sync::atomic::Ordering::SeqCst);
}
