//! The fault matrix (issue 14.21): every source kind against every fault a
//! backend or the network can produce, served by a hostile HTTP server in
//! this test on 127.0.0.1. Each cell must end (bounded by the poll loop's
//! timeout), as an error with words an on-call engineer can act on, or as
//! sanitised data; never a panic, a hang of the runtime or an unbounded
//! read; and the source must read good data again once the fault clears.
//!
//! The store turns any error of any feed into the pane's error badge and a
//! growing age, through one code path (`tests/dataplane.rs`,
//! `tests/e2e_pty.rs` prove that on screen with keys answering); this file
//! proves each source turns each fault into such an error.
//!
//! Run with `--nocapture` to print the table kept in docs/reliability.md.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Debug, Clone, Copy, PartialEq)]
enum Fault {
    None,
    Refused,
    Timeout,
    SlowBody,
    Http500,
    TooMany,
    InvalidJson,
    Truncated,
    Huge,
    DeepNesting,
    Tls,
    BadNumbers,
}

const FAULTS: [Fault; 11] = [
    Fault::Refused,
    Fault::Timeout,
    Fault::SlowBody,
    Fault::Http500,
    Fault::TooMany,
    Fault::InvalidJson,
    Fault::Truncated,
    Fault::Huge,
    Fault::DeepNesting,
    Fault::Tls,
    Fault::BadNumbers,
];

fn name(f: Fault) -> &'static str {
    match f {
        Fault::None => "none",
        Fault::Refused => "connection refused",
        Fault::Timeout => "timeout (no answer)",
        Fault::SlowBody => "slow body (1 B/s)",
        Fault::Http500 => "HTTP 500",
        Fault::TooMany => "429 + Retry-After: 7",
        Fault::InvalidJson => "invalid JSON",
        Fault::Truncated => "truncated body",
        Fault::Huge => "50 MB body",
        Fault::DeepNesting => "JSON nested 100,000 deep",
        Fault::Tls => "TLS to a plain server",
        Fault::BadNumbers => "NaN/Inf/negative numbers",
    }
}

/// A good answer and one with hostile numbers, per source.
#[derive(Clone)]
struct Bodies {
    good: Vec<u8>,
    bad_numbers: Vec<u8>,
}

/// The hostile server: the current fault and the bodies are shared with the test.
struct Server {
    port: u16,
    fault: Arc<Mutex<Fault>>,
}

async fn serve(bodies: Bodies) -> Server {
    let Ok(listener) = TcpListener::bind("127.0.0.1:0").await else { panic!("cannot bind") };
    let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
    let fault = Arc::new(Mutex::new(Fault::None));
    let f = fault.clone();
    tokio::spawn(async move {
        while let Ok((mut sock, _)) = listener.accept().await {
            let fault = *f.lock().unwrap_or_else(|e| e.into_inner());
            let bodies = bodies.clone();
            tokio::spawn(async move {
                // Read the request head (the body of a POST, if any, is ignored).
                let mut head = Vec::new();
                let mut buf = [0u8; 4096];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 65536 {
                    match sock.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                    // A TLS ClientHello to this plain server: answered as a
                    // plain HTTP server answers garbage, then closed.
                    if head.first() == Some(&0x16) {
                        let _ = sock.write_all(b"HTTP/1.1 400 Bad Request\r\nconnection: close\r\n\r\n").await;
                        let _ = sock.shutdown().await;
                        return;
                    }
                }
                let ok = |body: &[u8], ctype: &str| {
                    let mut v = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        body.len()
                    )
                    .into_bytes();
                    v.extend_from_slice(body);
                    v
                };
                let cbor = head.windows(4).any(|w| w == b"cbor");
                let ctype = if cbor { "application/cbor" } else { "application/json" };
                let reply: Vec<u8> = match fault {
                    Fault::None | Fault::Refused | Fault::Tls => ok(&bodies.good, ctype),
                    Fault::BadNumbers => ok(&bodies.bad_numbers, ctype),
                    Fault::Timeout => {
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                        return;
                    }
                    Fault::SlowBody => {
                        let headv = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\n\r\n",
                            bodies.good.len()
                        );
                        if sock.write_all(headv.as_bytes()).await.is_err() {
                            return;
                        }
                        for b in &bodies.good {
                            if sock.write_all(&[*b]).await.is_err() {
                                return;
                            }
                            tokio::time::sleep(Duration::from_secs(1)).await;
                        }
                        return;
                    }
                    Fault::Http500 => b"HTTP/1.1 500 Internal Server Error\r\ncontent-length: 20\r\nconnection: close\r\n\r\nupstream fell over\r\n"
                        .to_vec(),
                    Fault::TooMany => b"HTTP/1.1 429 Too Many Requests\r\nretry-after: 7\r\ncontent-length: 0\r\nconnection: close\r\n\r\n".to_vec(),
                    Fault::InvalidJson => ok(b"{\"regions\": [ {\"name\": \x01\x02 garbage <<<", ctype),
                    Fault::Truncated => {
                        let headv = format!(
                            "HTTP/1.1 200 OK\r\ncontent-type: {ctype}\r\ncontent-length: {}\r\n\r\n",
                            bodies.good.len() + 1000
                        );
                        let mut v = headv.into_bytes();
                        v.extend_from_slice(&bodies.good[..bodies.good.len() / 2]);
                        let _ = sock.write_all(&v).await;
                        let _ = sock.shutdown().await;
                        return;
                    }
                    Fault::Huge => {
                        // No length announced: the reader must stop on its own.
                        let headv = format!("HTTP/1.1 200 OK\r\ncontent-type: {ctype}\r\nconnection: close\r\n\r\n");
                        if sock.write_all(headv.as_bytes()).await.is_err() {
                            return;
                        }
                        let chunk = vec![b' '; 1 << 20];
                        for _ in 0..50 {
                            if sock.write_all(&chunk).await.is_err() {
                                return;
                            }
                        }
                        return;
                    }
                    Fault::DeepNesting => ok(&"[".repeat(100_000).into_bytes(), ctype),
                };
                let _ = sock.write_all(&reply).await;
                let _ = sock.shutdown().await;
            });
        }
    });
    Server { port, fault }
}

impl Server {
    fn set(&self, f: Fault) {
        *self.fault.lock().unwrap_or_else(|e| e.into_inner()) = f;
    }

    /// The base URL a source should use under `f`.
    fn base(&self, f: Fault) -> String {
        match f {
            // Nothing listens on port 9 (discard) here.
            Fault::Refused => "http://127.0.0.1:9".into(),
            Fault::Tls => format!("https://127.0.0.1:{}", self.port),
            _ => format!("http://127.0.0.1:{}", self.port),
        }
    }
}

/// What one cell gave: "error: …" or "data: …".
type Outcome = Result<String, String>;

/// The poll loop's bound on one attempt, as `runner::run_poll` applies it.
const ATTEMPT: Duration = Duration::from_secs(4);

async fn bounded<F: std::future::Future<Output = Outcome>>(f: F) -> Outcome {
    match tokio::time::timeout(ATTEMPT, f).await {
        Ok(r) => r,
        Err(_) => Err(format!("timed out after {}s (the poll loop's timeout)", ATTEMPT.as_secs())),
    }
}

/// What each fault must give: an error whose words fit it, or data.
fn check(source: &str, f: Fault, got: &Outcome, data_ok: &[Fault]) {
    let e = match got {
        Ok(data) => {
            assert!(
                f == Fault::BadNumbers || data_ok.contains(&f),
                "{source} / {}: data under a fault: {data}",
                name(f)
            );
            return;
        }
        Err(e) => e.to_lowercase(),
    };
    assert!(!e.chars().any(|c| c.is_control()), "{source} / {}: control characters in {e:?}", name(f));
    assert!(e.len() < 600, "{source} / {}: a message for a pane, not a dump: {} bytes", name(f), e.len());
    let fits = match f {
        Fault::Refused => e.contains("refused") || e.contains("unreachable") || e.contains("connect"),
        Fault::Timeout | Fault::SlowBody => e.contains("timed out") || e.contains("timeout"),
        Fault::Http500 => e.contains("500"),
        Fault::TooMany => e.contains("429") || e.contains("throttl") || e.contains("rate"),
        Fault::InvalidJson | Fault::DeepNesting => {
            e.contains("bad response")
                || e.contains("expected")
                || e.contains("invalid")
                || e.contains("recursion")
                || e.contains("decode")
                || e.contains("not json")
                || e.contains("syntax")
                || e.contains("deserializ")
        }
        Fault::Truncated => {
            e.contains("eof")
                || e.contains("closed")
                || e.contains("body")
                || e.contains("unexpected")
                || e.contains("incomplete")
                || e.contains("decod")
                || e.contains("connect")
        }
        Fault::Huge => e.contains("larger than") || e.contains("too large") || e.contains("timed out"),
        Fault::Tls => {
            e.contains("tls")
                || e.contains("ssl")
                || e.contains("handshake")
                || e.contains("record")
                || e.contains("unreachable")
                || e.contains("connect")
                || e.contains("dispatch")
        }
        Fault::BadNumbers | Fault::None => true,
    };
    assert!(fits, "{source} / {}: the message does not say what happened: {e}", name(f));
}

/// Run the matrix for one source: each fault, then recovery.
async fn matrix<G, Fut>(source: &str, bodies: Bodies, data_ok: &[Fault], fetch: G) -> Vec<(String, Fault, Outcome)>
where
    G: Fn(String) -> Fut,
    Fut: std::future::Future<Output = Outcome>,
{
    let server = serve(bodies).await;
    server.set(Fault::None);
    let first = bounded(fetch(server.base(Fault::None))).await;
    assert!(first.is_ok(), "{source}: the good answer is read: {first:?}");
    let mut rows = Vec::new();
    for f in FAULTS {
        server.set(f);
        let got = bounded(fetch(server.base(f))).await;
        check(source, f, &got, data_ok);
        // The fault clears: the next attempt reads good data again.
        server.set(Fault::None);
        let again = bounded(fetch(server.base(Fault::None))).await;
        assert!(again.is_ok(), "{source}: no recovery after {}: {again:?}", name(f));
        rows.push((source.to_string(), f, got));
    }
    rows
}

fn summary(p: &warroom::sources::Payload) -> String {
    use warroom::sources::Payload;
    match p {
        Payload::Regions(r) => {
            format!("{} region(s), weights {:?}", r.len(), r.iter().map(|x| x.weight).collect::<Vec<_>>())
        }
        Payload::Metrics(m) => format!(
            "{} row(s), rps {:?} p99 {:?}",
            m.len(),
            m.iter().map(|t| t.rps).collect::<Vec<_>>(),
            m.iter().map(|t| t.p99_ms).collect::<Vec<_>>()
        ),
        Payload::MetricsFrom { traffic, .. } => format!("{} row(s)", traffic.len()),
        Payload::Alerts(a) => format!("{} alert(s)", a.len()),
        Payload::Flags(f) => format!(
            "{} flag(s), rollouts {:?}",
            f.len(),
            f.iter().map(|x| format!("{} {:?}", x.rollout, x.percent)).collect::<Vec<_>>()
        ),
        Payload::Deployments(d) => format!(
            "{} rollout(s), weights {:?} steps {:?}",
            d.len(),
            d.iter().map(|x| x.weight).collect::<Vec<_>>(),
            d.iter().map(|x| format!("{}/{} {:?}", x.step_index + 1, x.step_total, x.steps)).collect::<Vec<_>>()
        ),
        Payload::Partial { inner, error } => format!("{} and: {error}", summary(inner)),
        Payload::Timed { inner, .. } => summary(inner),
        other => format!("{:?}", std::mem::discriminant(other)),
    }
}

fn assert_sane(source: &str, p: &warroom::sources::Payload) {
    use warroom::sources::Payload;
    match p {
        Payload::Regions(r) => {
            assert!(
                r.iter().all(|x| (0.0..=100.0).contains(&x.weight) && !x.weight.is_sign_negative()),
                "{source}: {r:?}"
            )
        }
        Payload::Metrics(m) | Payload::MetricsFrom { traffic: m, .. } => {
            for t in m {
                for v in [t.rps, t.error_ratio, t.p50_ms, t.p95_ms, t.p99_ms] {
                    assert!(v.is_nan() || (v.is_finite() && v >= 0.0), "{source}: {t:?}");
                }
            }
        }
        Payload::Flags(f) => {
            assert!(f.iter().all(|x| x.percent.is_none_or(|p| p <= 100)), "{source}: {f:?}")
        }
        Payload::Deployments(d) => {
            for x in d {
                let pct = |w: f64| (0.0..=100.0).contains(&w);
                assert!(pct(x.weight) && x.steps.iter().all(|w| pct(*w)), "{source}: {x:?}");
                assert!(x.step_index <= x.step_total, "{source}: {x:?}");
            }
        }
        Payload::Partial { inner, .. } | Payload::Timed { inner, .. } => assert_sane(source, inner),
        _ => {}
    }
}

async fn payload_outcome(source: &str, r: Result<warroom::sources::Payload, warroom::sources::FeedError>) -> Outcome {
    match r {
        Ok(p) => {
            assert_sane(source, &p);
            Ok(summary(&p))
        }
        Err(e) => Err(e.to_string()),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_source_survives_every_fault_and_recovers() {
    let client = warroom::dataplane::http_client().unwrap_or_else(|e| panic!("{e}"));
    let mut rows = Vec::new();

    // Control plane: the regions feed and the metrics feed.
    let good = br#"{"regions":[{"name":"r1","status":"ok","trafficWeight":60},{"name":"r2","status":"ok","trafficWeight":40}]}"#;
    let bad = br#"{"regions":[{"name":"r1","status":"ok","trafficWeight":-40},{"name":"r2","status":"ok","trafficWeight":1e308},{"name":"r3","trafficWeight":-0.0}]}"#;
    let c = client.clone();
    rows.extend(
        matrix(
            "control plane /v1/regions",
            Bodies { good: good.to_vec(), bad_numbers: bad.to_vec() },
            &[],
            move |base| {
                let cp = warroom::sources::control_plane::ControlPlane::new(&base, c.clone());
                async move { payload_outcome("control plane", cp.fetch(warroom::model::FeedId::Regions).await).await }
            },
        )
        .await,
    );
    let good =
        br#"{"metrics":[{"service":"a","region":"r1","rps":12,"errorRatio":0.01,"p50Ms":20,"p95Ms":80,"p99Ms":120}]}"#;
    let bad = br#"{"metrics":[{"service":"a","region":"r1","rps":-5,"errorRatio":7,"p50Ms":-1,"p95Ms":1e308,"p99Ms":-1e308}]}"#;
    let c = client.clone();
    rows.extend(
        matrix(
            "control plane /v1/metrics",
            Bodies { good: good.to_vec(), bad_numbers: bad.to_vec() },
            &[],
            move |base| {
                let cp = warroom::sources::control_plane::ControlPlane::new(&base, c.clone());
                async move { payload_outcome("control plane", cp.fetch(warroom::model::FeedId::Metrics).await).await }
            },
        )
        .await,
    );

    // Prometheus: every query answered with the same vector.
    let good = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"service":"a","region":"r1"},"value":[1700000000,"12.5"]}]}}"#;
    let bad = br#"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"service":"a","region":"r1"},"value":[1700000000,"NaN"]},{"metric":{"service":"b","region":"r1"},"value":[1700000000,"+Inf"]},{"metric":{"service":"c","region":"r1"},"value":[1700000000,"-7"]}]}}"#;
    let c = client.clone();
    rows.extend(
        matrix("Prometheus", Bodies { good: good.to_vec(), bad_numbers: bad.to_vec() }, &[], move |base| {
            let p = warroom::sources::prometheus::Prometheus::new(&base, c.clone(), None, Default::default());
            async move { payload_outcome("Prometheus", p.fetch().await).await }
        })
        .await,
    );

    // Alertmanager: numbers are not part of its alerts; a start date far
    // in the future and an empty label set stand in for hostile values.
    let good = br#"[{"labels":{"alertname":"HighErrorRate","service":"a","region":"r1","severity":"page"},"annotations":{"summary":"errors"},"startsAt":"2026-12-01T00:00:00Z","endsAt":"2026-12-01T01:00:00Z","status":{"state":"active","silencedBy":[],"inhibitedBy":[]},"fingerprint":"1"}]"#;
    let bad = br#"[{"labels":{},"annotations":{},"startsAt":"9999-12-31T23:59:59Z","endsAt":"0001-01-01T00:00:00Z","status":{"state":"active","silencedBy":[],"inhibitedBy":[]},"fingerprint":"2"}]"#;
    let c = client.clone();
    rows.extend(
        matrix("Alertmanager", Bodies { good: good.to_vec(), bad_numbers: bad.to_vec() }, &[], move |base| {
            let a = warroom::sources::alertmanager::Alertmanager::new(&base, c.clone(), None);
            async move { payload_outcome("Alertmanager", a.fetch().await).await }
        })
        .await,
    );

    // Unleash: one body that reads as the feature list, a feature, the
    // segments and the events alike (the server answers every path with it).
    let good = br#"{"version":2,"features":[{"name":"f"}],"name":"f","environments":[{"name":"production","enabled":true,"strategies":[{"id":"s","name":"flexibleRollout","parameters":{"rollout":"10","stickiness":"default"}}]}],"segments":[],"events":[]}"#;
    let bad = br#"{"features":[{"name":"f"},{"name":"g"}],"name":"f","environments":[{"name":"production","enabled":true,"strategies":[{"name":"flexibleRollout","parameters":{"rollout":"NaN"}},{"name":"flexibleRollout","parameters":{"rollout":-5}}]},{"name":"staging","enabled":true,"strategies":[{"name":"flexibleRollout","parameters":{"rollout":1e308}}]}]}"#;
    let c = client.clone();
    rows.extend(
        matrix("Unleash", Bodies { good: good.to_vec(), bad_numbers: bad.to_vec() }, &[], move |base| {
            let u = warroom::sources::unleash::Unleash::new(&base, c.clone(), "*:*.t".into());
            async move { payload_outcome("Unleash", u.flags("default").await).await }
        })
        .await,
    );

    // Argo Rollouts: the list a region's watch starts from (the watch
    // itself resumes from it, and re-lists on every error).
    let good = br#"{"kind":"RolloutList","metadata":{"resourceVersion":"7"},"items":[{"metadata":{"name":"checkout","labels":{"app":"checkout"},"annotations":{"rollout.argoproj.io/revision":"7"}},"spec":{"strategy":{"canary":{"steps":[{"setWeight":10},{"setWeight":50}]}}},"status":{"phase":"Paused","currentStepIndex":0,"stableRS":"checkout-6","currentPodHash":"checkout-7","canary":{"weights":{"canary":{"weight":10}}}}}]}"#;
    let bad = br#"{"kind":"RolloutList","metadata":{"resourceVersion":"7"},"items":[{"metadata":{"name":"checkout"},"spec":{"strategy":{"canary":{"steps":[{"setWeight":-5},{"setWeight":1e308}]}}},"status":{"phase":"Paused","currentStepIndex":-1,"stableRS":"a","currentPodHash":"b","canary":{"weights":{"canary":{"weight":1e308}}}}},{"metadata":{"name":"green"},"spec":{"strategy":{"blueGreen":{"autoPromotionSeconds":9223372036854775807,"previewReplicaCount":-3,"scaleDownDelaySeconds":-1}}},"status":{"phase":"Paused","currentStepIndex":99999999999,"readyReplicas":1e308,"updatedReplicas":-2,"pauseConditions":[{"reason":"BlueGreenPause","startTime":"2026-12-01T00:00:00Z"}],"blueGreen":{"activeSelector":"g-1","previewSelector":"g-2"}}}]}"#;
    rows.extend(
        matrix(
            "Argo Rollouts (Kubernetes list)",
            Bodies { good: good.to_vec(), bad_numbers: bad.to_vec() },
            &[],
            |base| async move {
                let ctx = warroom::sources::kube::Context {
                    name: "fault".into(),
                    server: base,
                    namespace: "default".into(),
                    token: Some("t".into()),
                    ca_pem: None,
                    identity_pem: None,
                    insecure: false,
                };
                let w = warroom::sources::rollouts::RegionWatch::new("r1", ctx)?;
                let p = w.list_now().await.map(warroom::sources::Payload::Deployments)?;
                payload_outcome("Argo Rollouts", Ok(p)).await
            },
        )
        .await,
    );

    // Health probes: an actuator answer; hostile numbers mean nothing to a
    // probe, so that row reads a body that is all numbers.
    let good = br#"{"status":"UP"}"#;
    let bad = br#"{"status":-1e999}"#;
    let c = client.clone();
    rows.extend(
        matrix(
            "health probe",
            Bodies { good: good.to_vec(), bad_numbers: bad.to_vec() },
            // A probe judges by status: a 200 whose body is not actuator
            // JSON is UP (plain endpoints answer "ok").
            &[Fault::InvalidJson, Fault::DeepNesting],
            move |base| {
                let c = c.clone();
                async move {
                    let t = warroom::sources::health::ProbeTemplates {
                        health: Some(format!("{base}/{{service}}/{{region}}/livez")),
                        ready: None,
                        insecure: false,
                    };
                    let p = warroom::sources::health::probe_all(
                        &c,
                        &t,
                        vec![("a".into(), "r1".into())],
                        1,
                        Duration::from_secs(2),
                        Duration::ZERO,
                    )
                    .await;
                    let p = p.into_iter().next().ok_or("no probe result")?;
                    match p.status {
                        warroom::model::ProbeStatus::Up => Ok(format!("UP: {}", p.detail)),
                        _ => Err(format!("{:?}: {}", p.status, p.detail)),
                    }
                }
            },
        )
        .await,
    );

    println!("\n| source | fault | outcome |\n|---|---|---|");
    for (source, f, got) in &rows {
        let text = match got {
            Ok(d) => format!("data, sanitised: {d}"),
            Err(e) => format!("error: {e}"),
        };
        let text: String = text.replace('|', "\\|").chars().take(160).collect();
        println!("| {source} | {} | {text} |", name(*f));
    }
}
