//! Route 53 as the traffic provider, against moto (a third-party AWS
//! emulator from PyPI, run as `moto_server` on loopback; `scripts/test`
//! creates its venv under `target/moto-venv`): weights and health checks
//! into the region matrix, failover to weight 0 and restore to the weight
//! before, `GetChange` followed, and a dropped answer reconciled by reading
//! the record — exactly one change reaches Route 53. RDS/Aurora against the
//! same moto server: the writer, zones and backups on screen, the replica
//! lag from CloudWatch (the sim's: moto cannot serve CloudWatch's CBOR
//! protocol), `FailoverDBCluster` moving the writer, a dropped answer
//! reconciled by reading the cluster — one request per failover.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::sync::mpsc;
use warroom::actions::executor::{new_key, spawn_routed, Disposition, Intent};
use warroom::actions::{Action, Operator, Role};
use warroom::audit::AuditLog;
use warroom::model::{ActionEntry, ActionStatus, RegionStatus};
use warroom::sources::{Clock, Update};

mod common;

const VENV: &str = "target/moto-venv";

struct Moto {
    _child: common::KillOnDrop,
    url: String,
}

fn venv() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(VENV)
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    l.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"))
}

/// One moto server for this test binary's tests (each test uses its own zone).
fn moto() -> &'static Moto {
    static M: std::sync::OnceLock<Moto> = std::sync::OnceLock::new();
    M.get_or_init(|| {
        let bin = venv().join("bin/moto_server");
        assert!(
            bin.exists(),
            "{} is missing: run scripts/test (it creates the venv), or: python3 -m venv {VENV} && {VENV}/bin/pip install 'moto[server]==5.2.5'",
            bin.display()
        );
        let port = free_port();
        let child = common::KillOnDrop(Command::new(&bin)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display())));
        // Static: never dropped, so killed when this test binary exits.
        common::watchdog(&[child.0.id()]);
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..200 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Moto { _child: child, url };
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("moto_server did not listen on {port}");
    })
}

/// Run boto3 (from moto's venv) against moto; the script prints JSON.
fn boto(url: &str, script: &str) -> Value {
    let py = venv().join("bin/python");
    let prelude = format!(
        "import boto3, json\nr53 = boto3.client('route53', endpoint_url='{url}', region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')\n"
    );
    let out =
        Command::new(py).args(["-c", &format!("{prelude}{script}")]).output().unwrap_or_else(|e| panic!("python: {e}"));
    assert!(out.status.success(), "boto3 failed: {}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)))
}

/// A zone with three weighted records (100, 100, 50), each with a health check.
fn zone(url: &str, name: &str) -> String {
    let v = boto(
        url,
        &format!(
            r#"
z = r53.create_hosted_zone(Name='{name}.example.com', CallerReference='{name}')['HostedZone']['Id']
changes = []
for sid, w in [('use1', 100), ('usw2', 100), ('euw1', 50)]:
    hc = r53.create_health_check(CallerReference=sid + '{name}', HealthCheckConfig={{'Type': 'HTTP', 'FullyQualifiedDomainName': sid + '.{name}.example.com', 'Port': 80, 'ResourcePath': '/health'}})['HealthCheck']['Id']
    changes.append({{'Action': 'UPSERT', 'ResourceRecordSet': {{'Name': 'api.{name}.example.com', 'Type': 'CNAME', 'SetIdentifier': sid, 'Weight': w, 'TTL': 60, 'HealthCheckId': hc, 'ResourceRecords': [{{'Value': sid + '.lb.example.com'}}]}}}})
r53.change_resource_record_sets(HostedZoneId=z, ChangeBatch={{'Changes': changes}})
print(json.dumps({{'zone': z}}))
"#
        ),
    );
    v["zone"].as_str().unwrap_or_default().to_string()
}

/// The weights moto holds, by set identifier.
fn weights(url: &str, zone: &str) -> Value {
    boto(
        url,
        &format!(
            "rs = r53.list_resource_record_sets(HostedZoneId='{zone}')['ResourceRecordSets']\nprint(json.dumps({{r['SetIdentifier']: r['Weight'] for r in rs if 'SetIdentifier' in r}}))"
        ),
    )
}

fn config(dir: &Path, endpoint: &str, zone: &str, name: &str) -> warroom::config::Config {
    let text = format!(
        r#"
[[region]]
name = "us-east"
[[region]]
name = "us-west"
[[region]]
name = "eu-west"
[[service]]
name = "api"
[route53]
hosted_zone_id = "{zone}"
record_name = "api.{name}.example.com"
record_type = "CNAME"
endpoint = "{endpoint}"
interval = "1s"
[[route53.region]]
name = "us-east"
set_identifier = "use1"
[[route53.region]]
name = "us-west"
set_identifier = "usw2"
[[route53.region]]
name = "eu-west"
set_identifier = "euw1"
"#
    );
    let path = dir.join("warroom.toml");
    std::fs::create_dir_all(dir).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(&path, &text).unwrap_or_else(|e| panic!("{e}"));
    warroom::config::Config::parse(&path, &text).unwrap_or_else(|e| panic!("{e:?}"))
}

fn credentials() {
    // moto takes any key; the SDK's standard chain reads these.
    std::env::set_var("AWS_ACCESS_KEY_ID", "test");
    std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
    std::env::set_var("AWS_EC2_METADATA_DISABLED", "true");
}

async fn outcome(rx: &mut mpsc::Receiver<Update>, key: &str) -> ActionEntry {
    common::action_outcome(rx, key, 60).await
}

fn go(action: Action) -> Intent {
    Intent {
        action,
        key: new_key(),
        operator: Operator { name: "alice".into(), role: Role::Operator },
        disposition: Disposition::Go,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn weights_and_health_on_screen_failover_and_restore_in_route53() {
    credentials();
    let m = moto();
    let zone = zone(&m.url, "one");
    let dir = std::env::temp_dir().join(format!("warroom-r53-one-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = config(&dir, &m.url, &zone, "one");
    let setup = warroom::wiring::setup_all(&cfg).await.unwrap_or_else(|e| panic!("{e}"));
    let clock: Clock = Arc::new(Utc::now);
    let plane = warroom::dataplane::spawn_sources(setup.sources, setup.intervals, clock.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut snaps = plane.snapshots.clone();
    // The matrix's weights are Route 53's: 100/100/50 of 250.
    let snap = common::snapshot_where(
        &mut snaps,
        30,
        "Route 53 weights",
        |s| !s.fleet.traffic.items().is_empty(),
        |s| format!("{:?}", s.fleet.traffic.error_text()),
    )
    .await;
    let regions = snap.fleet.regions.items();
    let share = |n: &str| regions.iter().find(|r| r.name == n).map(|r| r.weight).unwrap_or(-1.0);
    assert_eq!((share("us-east"), share("us-west"), share("eu-west")), (40.0, 40.0, 20.0));
    let w = &snap.fleet.traffic.items()[0];
    let h = w.health.as_ref().unwrap_or_else(|| panic!("no health for {w:?}"));
    assert!(h.total > 0 && h.is_healthy(), "{h:?}");
    assert!(regions.iter().all(|r| r.status == RegionStatus::Ok), "healthy checks make Unknown regions OK");

    // Fail us-east over: its weight goes to 0 in Route 53, the change is followed.
    let (tx, mut rx) = mpsc::channel(64);
    let exec = spawn_routed(setup.routes.clone(), AuditLog::open(&dir.join("audit.jsonl")), tx, clock.clone(), None);
    let i = go(Action::Failover { region: "us-east".into() });
    let key = i.key.clone();
    exec.submit(i).unwrap_or_else(|e| panic!("{e}"));
    let e = outcome(&mut rx, &key).await;
    assert_eq!(e.status, ActionStatus::Succeeded, "{}", e.message);
    assert!(e.message.contains("weight 100 → 0") && e.message.contains("INSYNC"), "{}", e.message);
    assert_eq!(weights(&m.url, &zone)["use1"], 0);
    // Again: already in effect, nothing sent.
    let i = go(Action::Failover { region: "us-east".into() });
    let key = i.key.clone();
    exec.submit(i).unwrap_or_else(|e| panic!("{e}"));
    let e = outcome(&mut rx, &key).await;
    assert!(e.message.contains("already in effect"), "{}", e.message);

    // A new executor (a restart) reads the weight to put back from the trail.
    drop(exec);
    let (tx, mut rx) = mpsc::channel(64);
    let setup2 = warroom::wiring::setup_all(&cfg).await.unwrap_or_else(|e| panic!("{e}"));
    let exec = spawn_routed(setup2.routes, AuditLog::open(&dir.join("audit.jsonl")), tx, clock, None);
    let i = go(Action::Restore { region: "us-east".into() });
    let key = i.key.clone();
    exec.submit(i).unwrap_or_else(|e| panic!("{e}"));
    let e = outcome(&mut rx, &key).await;
    assert_eq!(e.status, ActionStatus::Succeeded, "{}", e.message);
    assert!(e.message.contains("weight 0 → 100"), "{}", e.message);
    assert_eq!(weights(&m.url, &zone)["use1"], 100);
    let trail = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap_or_default();
    assert!(
        trail.contains(&format!("route53 {}", zone.trim_start_matches("/hostedzone/"))),
        "the trail names Route 53"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn last_serving_record_is_refused_and_a_dropped_answer_is_reconciled_by_reading() {
    credentials();
    let m = moto();
    let zone = zone(&m.url, "two");
    let dir = std::env::temp_dir().join(format!("warroom-r53-two-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    // A proxy that forwards everything but drops the answer to the first
    // ChangeResourceRecordSets (the change lands; we never hear so).
    let changes = Arc::new(AtomicUsize::new(0));
    let proxy = common::drop_first_answer(
        m.url.trim_start_matches("http://").to_string(),
        |h| h.contains("/rrset"),
        changes.clone(),
    )
    .await;
    let cfg = config(&dir, &proxy, &zone, "two");
    let setup = warroom::wiring::setup_all(&cfg).await.unwrap_or_else(|e| panic!("{e}"));
    let (tx, mut rx) = mpsc::channel(64);
    let clock: Clock = Arc::new(Utc::now);
    let exec = spawn_routed(setup.routes, AuditLog::open(&dir.join("audit.jsonl")), tx, clock, None);
    let i = go(Action::Failover { region: "us-west".into() });
    let key = i.key.clone();
    exec.submit(i).unwrap_or_else(|e| panic!("{e}"));
    let e = outcome(&mut rx, &key).await;
    assert_eq!(e.status, ActionStatus::Succeeded, "{}", e.message);
    assert!(e.message.contains("already in effect"), "reconciled by reading the record: {}", e.message);
    assert_eq!(changes.load(Ordering::SeqCst), 1, "exactly one change reached Route 53");
    assert_eq!(weights(&m.url, &zone)["usw2"], 0);

    // Drain the others: the last record serving is refused by the provider.
    let i = go(Action::Failover { region: "eu-west".into() });
    let key = i.key.clone();
    exec.submit(i).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(outcome(&mut rx, &key).await.status, ActionStatus::Succeeded);
    let i = go(Action::Failover { region: "us-east".into() });
    let key = i.key.clone();
    exec.submit(i).unwrap_or_else(|e| panic!("{e}"));
    let e = outcome(&mut rx, &key).await;
    assert_eq!(e.status, ActionStatus::Refused, "{}", e.message);
    assert!(e.message.contains("no record with weight > 0 and a healthy check"), "{}", e.message);
    assert_eq!(weights(&m.url, &zone)["use1"], 100);
    assert_eq!(changes.load(Ordering::SeqCst), 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_garbage_answer_is_a_feed_error_not_a_panic() {
    credentials();
    // Something that is not Route 53 answers on the endpoint.
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let addr = l.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        while let Ok((mut s, _)) = l.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf).await;
                let body = "<html>\u{1b}[2J not xml";
                let head =
                    format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\ncontent-type: text/html\r\n\r\n", body.len());
                let _ = s.write_all(head.as_bytes()).await;
                let _ = s.write_all(body.as_bytes()).await;
            });
        }
    });
    let dir = std::env::temp_dir().join(format!("warroom-r53-bad-{}", std::process::id()));
    let cfg = config(&dir, &format!("http://{addr}"), "Z1", "bad");
    let r53 = warroom::wiring::route53(cfg.route53.as_ref().unwrap_or_else(|| panic!("no [route53]"))).await;
    let e = r53.read().await.err().unwrap_or_else(|| panic!("garbage read as data"));
    assert!(e.to_string().starts_with("Route 53:"), "{e}");
}

/// A console started from a configuration `text` in a fresh directory
/// named for the test: (directory, action routes, data plane, clock).
async fn console(
    name: &str,
    text: &str,
) -> (PathBuf, warroom::actions::provider::Routes, warroom::dataplane::DataPlane, Clock) {
    let dir = std::env::temp_dir().join(format!("warroom-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let cfg = warroom::config::Config::parse(&dir.join("warroom.toml"), text).unwrap_or_else(|e| panic!("{e:?}"));
    let setup = warroom::wiring::setup_all(&cfg).await.unwrap_or_else(|e| panic!("{e}"));
    let clock: Clock = Arc::new(Utc::now);
    let plane = warroom::dataplane::spawn_sources(setup.sources, setup.intervals, clock.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    (dir, setup.routes, plane, clock)
}

/// An Aurora cluster with two instances in moto (the first is the writer),
/// named as the sim's `orders` members so the sim's CloudWatch serves their
/// `AuroraReplicaLag` (moto cannot serve CloudWatch over CBOR).
fn aurora(url: &str, name: &str) {
    let v = boto(
        url,
        &format!(
            r#"
rds = boto3.client('rds', endpoint_url='{url}', region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')
rds.create_db_cluster(DBClusterIdentifier='{name}', Engine='aurora-postgresql', MasterUsername='admin', MasterUserPassword='password-123', BackupRetentionPeriod=7)
for i, az in [('orders-use1', 'us-east-1a'), ('orders-usw2', 'us-east-1b')]:
    rds.create_db_instance(DBInstanceIdentifier=i, DBClusterIdentifier='{name}', Engine='aurora-postgresql', DBInstanceClass='db.r6g.large', AvailabilityZone=az)
print(json.dumps({{'ok': True}}))
"#
        ),
    );
    assert_eq!(v["ok"], true);
}

/// Which instance moto says writes.
fn aurora_writer(url: &str, name: &str) -> String {
    let v = boto(
        url,
        &format!(
            "rds = boto3.client('rds', endpoint_url='{url}', region_name='us-east-1', aws_access_key_id='test', aws_secret_access_key='test')\nc = rds.describe_db_clusters(DBClusterIdentifier='{name}')['DBClusters'][0]\nprint(json.dumps([m['DBInstanceIdentifier'] for m in c['DBClusterMembers'] if m['IsClusterWriter']]))"
        ),
    );
    v[0].as_str().unwrap_or_default().to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aurora_writer_and_backups_on_screen_and_failover_db_cluster_moves_the_writer() {
    credentials();
    let m = moto();
    aurora(&m.url, "orders-aurora");
    // The first FailoverDBCluster's answer is dropped (it lands).
    let posts = Arc::new(AtomicUsize::new(0));
    let proxy = common::drop_first_answer(
        m.url.trim_start_matches("http://").to_string(),
        |h| h.contains("Action=FailoverDBCluster"),
        posts.clone(),
    )
    .await;
    // The sim's CloudWatch (rpc-v2-cbor, SigV4-checked) for the replica lag.
    let sim = warroom_sim::start(warroom_sim::SimConfig::default(), ([127, 0, 0, 1], 0).into())
        .await
        .unwrap_or_else(|e| panic!("sim: {e}"));
    let cw = sim.url();
    let text = format!(
        "[[region]]\nname = \"us-east\"\n[[service]]\nname = \"checkout\"\ntier = \"critical\"\n\
         [[rds]]\nname = \"orders\"\ncluster = \"orders-aurora\"\naws_region = \"us-east-1\"\nendpoint = \"{proxy}\"\n\
         cloudwatch_endpoint = \"{cw}\"\nregions = {{ \"orders-use1\" = \"us-east\", \"orders-usw2\" = \"us-east\" }}\nservices = [\"checkout\"]\ninterval = \"1s\"\n"
    );
    let (dir, routes, plane, clock) = console("rds", &text).await;
    let mut snaps = plane.snapshots.clone();
    let snap = common::snapshot_where(
        &mut snaps,
        30,
        "the RDS cluster",
        |s| !s.fleet.databases.items().is_empty(),
        |s| format!("{:?}", s.fleet.databases.error_text()),
    )
    .await;
    let db = &snap.fleet.databases.items()[0];
    assert_eq!(db.writer().map(|w| w.name.as_str()), Some("orders-use1"), "{db:?}");
    let reader = db.member("orders-usw2").unwrap_or_else(|| panic!("{db:?}"));
    assert_eq!(reader.zone.as_deref(), Some("us-east-1b"));
    // AuroraReplicaLag from CloudWatch (the sim's): a few ms.
    let lag = reader.lag_seconds.unwrap_or_else(|| panic!("no replica lag read: {db:?}"));
    assert!(lag > 0.0 && lag < 1.0, "{lag} s");
    assert_eq!(db.backup_retention_days, Some(7));
    assert!(db.latest_restorable.is_some() && db.engine == "aurora-postgresql", "{db:?}");
    // The DR posture reads the retention against the 30-day policy.
    let (_, posture) = warroom::panes::dr::cluster_posture(db, &snap, Utc::now());
    assert!(posture.contains("retention 7d < 30d ✖") && posture.contains("critical RPO 1h RTO 15m"), "{posture}");

    let (tx, mut rx) = mpsc::channel(64);
    let audit = dir.join("audit.jsonl");
    let exec = spawn_routed(routes, AuditLog::open(&audit), tx, clock, Some(plane.snapshots.clone()));
    let i = go(Action::Switchover { database: "orders".into(), candidate: "orders-usw2".into() });
    let key = i.key.clone();
    exec.submit(i).unwrap_or_else(|e| panic!("{e}"));
    let e = outcome(&mut rx, &key).await;
    assert_eq!(e.status, ActionStatus::Succeeded, "{}", e.message);
    assert!(
        e.message.contains("orders-usw2 is the writer of orders") && e.message.contains("read back"),
        "{}",
        e.message
    );
    assert_eq!(posts.load(Ordering::SeqCst), 1, "exactly one FailoverDBCluster reached RDS");
    assert_eq!(aurora_writer(&m.url, "orders-aurora"), "orders-usw2");
    let trail = std::fs::read_to_string(&audit).unwrap_or_default();
    assert!(trail.contains("\"backend\":\"rds us-east-1 orders-aurora\""), "the trail names RDS: {trail}");
    // And back, answered this time: the outcome has the time to a writer.
    while !snaps
        .borrow_and_update()
        .fleet
        .databases
        .items()
        .iter()
        .any(|d| d.writer().is_some_and(|w| w.name == "orders-usw2"))
    {
        let _ = tokio::time::timeout(Duration::from_secs(2), snaps.changed()).await;
    }
    let i = go(Action::Switchover { database: "orders".into(), candidate: "orders-use1".into() });
    let key = i.key.clone();
    exec.submit(i).unwrap_or_else(|e| panic!("{e}"));
    let e = outcome(&mut rx, &key).await;
    assert_eq!(e.status, ActionStatus::Succeeded, "{}", e.message);
    assert!(e.message.contains("after the failover request"), "{}", e.message);
    assert_eq!(aurora_writer(&m.url, "orders-aurora"), "orders-use1");
    assert_eq!(posts.load(Ordering::SeqCst), 2, "one request each");
}

/// How many of an RDS action the sim served (`RDS <Action>` in `/v1/stats`).
async fn sim_rds_count(sim: &str, action: &str) -> u64 {
    let v: Value = reqwest::get(format!("{sim}/v1/stats"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .json()
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    v["requests"][format!("RDS {action}")].as_u64().unwrap_or(0)
}

/// An Aurora global database whose writer is gone: the sim's `orders`
/// cluster served as `orders-global` in the RDS API's own wire shape (AWS
/// Query; moto has no global switchover or failover), its secondaries' RPO
/// lag from the sim's CloudWatch. A failover is refused without break-glass
/// and, with it, the preview states the data at risk; the first
/// `FailoverGlobalCluster` answer is dropped and reconciled by reading —
/// one request reaches RDS; then the services that use the cluster come
/// back and the recovery time lands in the audit trail against the RTO.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aurora_global_failover_is_break_glass_and_its_recovery_time_is_audited() {
    credentials();
    let cfg = warroom_sim::SimConfig {
        scenario: warroom_sim::Scenario::DbPrimaryFailure,
        at_secs: 65.0,
        ..warroom_sim::SimConfig::default()
    };
    let sim = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into()).await.unwrap_or_else(|e| panic!("sim: {e}"));
    let url = sim.url();
    let posts = Arc::new(AtomicUsize::new(0));
    let proxy = common::drop_first_answer(
        url.trim_start_matches("http://").to_string(),
        |h| h.contains("Action=FailoverGlobalCluster"),
        posts.clone(),
    )
    .await;
    let mut text = String::new();
    for r in ["us-east-1", "us-west-2", "eu-west-1", "ap-southeast-1"] {
        text.push_str(&format!("[[region]]\nname = \"{r}\"\n"));
    }
    for s in ["checkout", "payments"] {
        text.push_str(&format!("[[service]]\nname = \"{s}\"\ntier = \"critical\"\n"));
    }
    text.push_str(&format!(
        "[control_plane]\nurl = \"{url}\"\n\
         [[rds]]\nname = \"orders\"\nglobal_cluster = \"orders-global\"\naws_region = \"us-west-2\"\n\
         endpoint = \"{proxy}/rds\"\ncloudwatch_endpoint = \"{url}\"\nservices = [\"checkout\", \"payments\"]\ninterval = \"1s\"\n"
    ));
    let (dir, routes, plane, clock) = console("aurora-global", &text).await;
    let mut snaps = plane.snapshots.clone();
    let snap = common::snapshot_where(
        &mut snaps,
        30,
        "the global database with its secondaries' lag",
        |s| {
            s.fleet
                .databases
                .items()
                .iter()
                .any(|d| d.source == "rds:orders" && d.members.iter().any(|m| m.lag_seconds.is_some()))
        },
        |s| format!("{:?} {:?}", s.fleet.databases.error_text(), s.fleet.databases.items()),
    )
    .await;
    let db =
        snap.fleet.databases.items().iter().find(|d| d.source == "rds:orders").cloned().unwrap_or_else(|| panic!());
    assert!(db.global && db.engine == "aurora-postgresql (global)", "{db:?}");
    let w = db.writer_member().unwrap_or_else(|| panic!("{db:?}"));
    assert_eq!((w.name.as_str(), w.up, w.state.as_str()), ("orders-use1", false, "failed"), "{db:?}");
    assert_eq!(w.region.as_deref(), Some("us-east-1"), "the region comes from the member's ARN");
    let cand = db.member("orders-usw2").unwrap_or_else(|| panic!("{db:?}"));
    assert!(cand.up && cand.state == "available", "{cand:?}");
    assert!(cand.lag_seconds.is_some_and(|s| s > 0.0), "RPO lag from CloudWatch: {cand:?}");

    // Without break-glass: refused, and the reason names the loss.
    let plain = Action::DbFailover { database: "orders".into(), candidate: "orders-usw2".into(), break_glass: false };
    let why = plain.preview(&snap).err().unwrap_or_else(|| panic!("a global failover without break-glass"));
    assert!(why.contains("break-glass") && why.contains("has not received"), "{why}");
    let bg = Action::DbFailover { database: "orders".into(), candidate: "orders-usw2".into(), break_glass: true };
    let p = bg.preview(&snap).unwrap_or_else(|e| panic!("{e}"));
    let effect = p.effect.join("\n");
    assert!(
        effect.contains("data at risk: up to") && effect.contains("FailoverGlobalCluster with AllowDataLoss"),
        "{effect}"
    );
    assert_eq!(p.type_to_confirm.as_deref(), Some("orders lose data"));

    let (tx, mut rx) = mpsc::channel(64);
    let audit = dir.join("audit.jsonl");
    let exec = spawn_routed(routes, AuditLog::open(&audit), tx, clock, Some(plane.snapshots.clone()));
    let i = go(bg);
    let key = i.key.clone();
    exec.submit(i).unwrap_or_else(|e| panic!("{e}"));
    let e = outcome(&mut rx, &key).await;
    assert_eq!(e.status, ActionStatus::Succeeded, "{}", e.message);
    assert!(e.message.contains("orders-usw2 is the writer of orders (read back"), "{}", e.message);
    assert_eq!(posts.load(Ordering::SeqCst), 1, "the dropped answer was reconciled by reading, not resent");
    assert_eq!(sim_rds_count(&url, "FailoverGlobalCluster").await, 1);
    let trail = std::fs::read_to_string(&audit).unwrap_or_default();
    assert!(trail.contains("\"backend\":\"rds us-west-2 orders-global\""), "the trail names RDS: {trail}");
    // The stopwatch runs on to the services healthy again.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(90);
    let rec = loop {
        let trail = std::fs::read_to_string(&audit).unwrap_or_default();
        if let Some(l) = trail.lines().find(|l| l.contains("\"event\":\"recovery\"")) {
            break l.to_string();
        }
        assert!(tokio::time::Instant::now() < deadline, "no recovery record: {trail}");
        tokio::time::sleep(Duration::from_millis(500)).await;
    };
    assert!(rec.contains("\"result\":\"met\"") && rec.contains("critical objective 15m"), "{rec}");
    assert!(rec.contains("checkout, payments healthy in every serving region"), "{rec}");
}

/// An Aurora global database in moto: a primary cluster in us-east-1 and a
/// secondary in us-west-2, read as moto (a third-party emulator) writes
/// `DescribeGlobalClusters`, each member's status from `DescribeDBClusters`
/// in its own region, AWS regions mapped to the console's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aurora_global_database_in_moto_shows_its_primary_and_secondary_regions() {
    credentials();
    let m = moto();
    let v = boto(
        &m.url,
        &format!(
            r#"
kw = dict(endpoint_url='{url}', aws_access_key_id='test', aws_secret_access_key='test')
east = boto3.client('rds', region_name='us-east-1', **kw)
west = boto3.client('rds', region_name='us-west-2', **kw)
east.create_global_cluster(GlobalClusterIdentifier='catalog-global', Engine='aurora-postgresql')
east.create_db_cluster(DBClusterIdentifier='catalog-use1', Engine='aurora-postgresql', MasterUsername='admin', MasterUserPassword='password-123', GlobalClusterIdentifier='catalog-global')
west.create_db_cluster(DBClusterIdentifier='catalog-usw2', Engine='aurora-postgresql', GlobalClusterIdentifier='catalog-global')
print(json.dumps({{'ok': True}}))
"#,
            url = m.url
        ),
    );
    assert_eq!(v["ok"], true);
    let text = format!(
        "[[region]]\nname = \"east\"\n[[region]]\nname = \"west\"\n\
         [[rds]]\nname = \"catalog\"\nglobal_cluster = \"catalog-global\"\naws_region = \"us-west-2\"\nendpoint = \"{}\"\n\
         replica_lag = false\nregions = {{ \"us-east-1\" = \"east\", \"us-west-2\" = \"west\" }}\ninterval = \"1s\"\n",
        m.url
    );
    let (_, _, plane, _) = console("moto-global", &text).await;
    let mut snaps = plane.snapshots.clone();
    let snap = common::snapshot_where(
        &mut snaps,
        30,
        "the global database",
        |s| !s.fleet.databases.items().is_empty(),
        |s| format!("{:?}", s.fleet.databases.error_text()),
    )
    .await;
    let db = &snap.fleet.databases.items()[0];
    assert!(db.global && db.engine == "aurora-postgresql (global)", "{db:?}");
    let w = db.writer().unwrap_or_else(|| panic!("no writer up: {db:?}"));
    assert_eq!(
        (w.name.as_str(), w.region.as_deref(), w.zone.as_deref()),
        ("catalog-use1", Some("east"), Some("us-east-1"))
    );
    let s = db.member("catalog-usw2").unwrap_or_else(|| panic!("{db:?}"));
    assert!(s.role == warroom::model::DbRole::Replica && s.up && s.region.as_deref() == Some("west"), "{s:?}");
    // The DR posture: a standby in another region, its lag not read here.
    let (_, posture) = warroom::panes::dr::cluster_posture(db, &snap, Utc::now());
    assert!(posture.starts_with("writer catalog-use1 (east)"), "{posture}");
}

/// A planned switchover of an Aurora global database (the sim's, calm):
/// `SwitchoverGlobalCluster` names the target by ARN, the console follows
/// the `FailoverState` until the target is the primary; asked again, it is
/// already in effect and nothing is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_aurora_global_switchover_moves_the_primary_once() {
    credentials();
    let sim = warroom_sim::start(warroom_sim::SimConfig::default(), ([127, 0, 0, 1], 0).into())
        .await
        .unwrap_or_else(|e| panic!("sim: {e}"));
    let url = sim.url();
    let text = format!(
        "[[region]]\nname = \"us-east-1\"\n[[region]]\nname = \"us-west-2\"\n[[region]]\nname = \"eu-west-1\"\n\
         [[region]]\nname = \"ap-southeast-1\"\n\
         [[rds]]\nname = \"accounts\"\nglobal_cluster = \"accounts-global\"\naws_region = \"us-east-1\"\n\
         endpoint = \"{url}/rds\"\ncloudwatch_endpoint = \"{url}\"\ninterval = \"1s\"\n"
    );
    let (dir, routes, plane, clock) = console("aurora-switch", &text).await;
    let mut snaps = plane.snapshots.clone();
    let snap = common::snapshot_where(
        &mut snaps,
        30,
        "the global database",
        |s| !s.fleet.databases.items().is_empty(),
        |s| format!("{:?}", s.fleet.databases.error_text()),
    )
    .await;
    let sw = Action::Switchover { database: "accounts".into(), candidate: "accounts-euw1".into() };
    let p = sw.preview(&snap).unwrap_or_else(|e| panic!("{e}"));
    assert!(p.effect.iter().any(|l| l.contains("SwitchoverGlobalCluster")), "{:?}", p.effect);
    let (tx, mut rx) = mpsc::channel(64);
    let exec = spawn_routed(routes, AuditLog::open(&dir.join("audit.jsonl")), tx, clock, None);
    for round in 0..2 {
        let i = go(sw.clone());
        let key = i.key.clone();
        exec.submit(i).unwrap_or_else(|e| panic!("{e}"));
        let e = outcome(&mut rx, &key).await;
        assert_eq!(e.status, ActionStatus::Succeeded, "{}", e.message);
        let want =
            if round == 0 { "is the primary of accounts, global cluster available" } else { "already in effect" };
        assert!(e.message.contains(want), "{}", e.message);
        assert_eq!(sim_rds_count(&url, "SwitchoverGlobalCluster").await, 1);
    }
}
