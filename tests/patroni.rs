//! Database clusters from a real Patroni (Debian `patroni`, `etcd-server`
//! and PostgreSQL 15), started here on loopback with ephemeral ports as
//! the `postgres` user: the source reads the leader and the replica with
//! its lag (also after rows are written on the leader); the console's
//! switchover goes through Patroni's REST API with basic auth, a dropped
//! answer is reconciled by reading `/cluster` (exactly one switchover in
//! `/history`), and after the writer's PostgreSQL is killed the cluster
//! shows no writer and a failover promotes the replica.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use warroom::actions::executor::{new_key, spawn_routed, Disposition, Intent};
use warroom::actions::{Action, Operator, Role};
use warroom::audit::AuditLog;
use warroom::model::{ActionStatus, Database, DbRole};
use warroom::sources::patroni::Patroni;
use warroom::sources::Payload;

/// Patroni's REST API credentials in these tests (`restapi.authentication`).
const API_USER: &str = "warroom";
const API_PASSWORD: &str = "wr-test-secret";

mod common;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

struct Node {
    api: String,
    pg_port: u16,
    data: PathBuf,
    _proc: common::KillOnDrop,
}

fn node(dir: &Path, name: &str, etcd: &str) -> Node {
    let (api_port, pg_port) = (common::free_port(), common::free_port());
    let data = dir.join(format!("{name}-data"));
    let yml = format!(
        r#"scope: wr-test
name: {name}
restapi:
  listen: 127.0.0.1:{api_port}
  connect_address: 127.0.0.1:{api_port}
  authentication:
    username: {API_USER}
    password: {API_PASSWORD}
etcd3:
  hosts: {etcd}
bootstrap:
  dcs:
    ttl: 20
    loop_wait: 2
    retry_timeout: 5
    maximum_lag_on_failover: 1048576
    postgresql:
      use_pg_rewind: true
      parameters:
        wal_log_hints: "on"
        wal_level: replica
        max_wal_senders: 5
        max_replication_slots: 5
        hot_standby: "on"
  initdb:
    - encoding: UTF8
postgresql:
  listen: 127.0.0.1:{pg_port}
  connect_address: 127.0.0.1:{pg_port}
  data_dir: {data}
  bin_dir: {PG_BIN}
  pgpass: {dir}/{name}.pgpass
  authentication:
    replication:
      username: postgres
    superuser:
      username: postgres
  pg_hba:
    - local all all trust
    - host all all 127.0.0.1/32 trust
    - host replication all 127.0.0.1/32 trust
  parameters:
    unix_socket_directories: {dir}
"#,
        dir = dir.display(),
        data = data.display(),
    );
    let cfg = dir.join(format!("{name}.yml"));
    std::fs::write(&cfg, yml).unwrap_or_else(|e| panic!("{e}"));
    let log = std::fs::File::create(dir.join(format!("{name}.log"))).unwrap_or_else(|e| panic!("{e}"));
    let err = log.try_clone().unwrap_or_else(|e| panic!("{e}"));
    let cfg_s = cfg.display().to_string();
    let child = common::as_postgres(&["patroni", &cfg_s])
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err))
        .spawn()
        .unwrap_or_else(|e| panic!("patroni: {e}"));
    let proc = common::KillOnDrop(child);
    common::watchdog(&[proc.0.id()]);
    Node { api: format!("http://127.0.0.1:{api_port}"), pg_port, data, _proc: proc }
}

async fn read(p: &Patroni) -> Option<Database> {
    match p.read().await {
        Ok(Payload::Databases(mut v)) => v.pop(),
        _ => None,
    }
}

/// Wait until `ok` holds for the cluster (or fail, naming the logs).
async fn wait_for(p: &Patroni, dir: &Path, secs: u64, what: &str, ok: impl Fn(&Database) -> bool) -> Database {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(db) = read(p).await {
            if ok(&db) {
                return db;
            }
            assert!(Instant::now() < deadline, "{what} within {secs}s: {db:?}; logs in {}", dir.display());
        } else {
            assert!(Instant::now() < deadline, "{what}: Patroni never answered; logs in {}", dir.display());
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn psql(dir: &Path, port: u16, sql: &str) {
    let host = dir.display().to_string();
    let port = port.to_string();
    let out =
        common::as_postgres(&["psql", "-h", &host, "-p", &port, "-U", "postgres", "-d", "postgres", "-qAtc", sql])
            .output()
            .unwrap_or_else(|e| panic!("psql: {e}"));
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
}

/// One etcd member on loopback: the process and its client address.
fn etcd(dir: &Path) -> (common::KillOnDrop, String) {
    let (client, peer) = (common::free_port(), common::free_port());
    let etcd_log = std::fs::File::create(dir.join("etcd.log")).unwrap_or_else(|e| panic!("{e}"));
    let etcd = common::KillOnDrop(
        Command::new("etcd")
            .args([
                "--data-dir",
                &dir.join("etcd").display().to_string(),
                "--listen-client-urls",
                &format!("http://127.0.0.1:{client}"),
                "--advertise-client-urls",
                &format!("http://127.0.0.1:{client}"),
                "--listen-peer-urls",
                &format!("http://127.0.0.1:{peer}"),
                "--initial-advertise-peer-urls",
                &format!("http://127.0.0.1:{peer}"),
                "--initial-cluster",
                &format!("default=http://127.0.0.1:{peer}"),
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::from(etcd_log))
            .spawn()
            .unwrap_or_else(|e| panic!("etcd: {e}")),
    );
    common::watchdog(&[etcd.0.id()]);
    (etcd, format!("127.0.0.1:{client}"))
}

/// Wait until the console's snapshot satisfies `ok`.
async fn until_seen(
    snaps: &mut tokio::sync::watch::Receiver<Arc<warroom::model::Snapshot>>,
    secs: u64,
    what: &str,
    ok: impl Fn(&[Database]) -> bool,
) {
    let seen = |s: &warroom::model::Snapshot| ok(s.fleet.databases.items());
    common::snapshot_where(snaps, secs, &format!("the console seeing {what}"), seen, |s| {
        format!("{:?}", s.fleet.databases.items())
    })
    .await;
}

/// Patroni's maintenance mode on or off (`PATCH /config`, with auth).
async fn set_pause(api: &str, on: bool) {
    let r = reqwest::Client::new()
        .patch(format!("{api}/config"))
        .basic_auth(API_USER, Some(API_PASSWORD))
        .json(&serde_json::json!({ "pause": on }))
        .send()
        .await
        .unwrap_or_else(|e| panic!("pause: {e}"));
    assert!(r.status().is_success(), "pause {on}: {}", r.status());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_and_replica_with_lag_and_a_switchover_from_real_patroni() {
    common::need("patroni", "patroni");
    common::need("etcd", "etcd-server");
    common::need("psql", "postgresql-client");
    assert!(Path::new(PG_BIN).join("postgres").exists(), "PostgreSQL 15 is missing: apt-get install -y postgresql");
    let dir: PathBuf = std::env::temp_dir().join(format!("warroom-patroni-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let _ = Command::new("chown").args(["-R", "postgres:postgres", &dir.display().to_string()]).status();
    let (_etcd, etcd_addr) = etcd(&dir);
    let pg1 = node(&dir, "pg1", &etcd_addr);
    let client = reqwest::Client::new();
    let mut p = Patroni::new("orders", vec![pg1.api.clone()], client.clone());
    p.max_lag_bytes = Some(1_048_576);
    wait_for(&p, &dir, 90, "pg1 leads", |db| db.writer().is_some_and(|w| w.name == "pg1")).await;
    let pg2 = node(&dir, "pg2", &etcd_addr);
    p.urls.push(pg2.api.clone());
    let db = wait_for(&p, &dir, 120, "pg2 streams", |db| {
        db.member("pg2").is_some_and(|m| m.up && m.role != DbRole::Writer && m.lag_bytes.is_some())
    })
    .await;
    assert_eq!(db.writer().map(|w| w.timeline), Some(Some(1)), "{db:?}");

    // Writes on the leader: the replica's lag is read as Patroni reports it
    // (bytes behind the leader's WAL position).
    psql(
        &dir,
        pg1.pg_port,
        "create table t (x text); insert into t select repeat('x', 1000) from generate_series(1, 20000)",
    );
    let db = read(&p).await.unwrap_or_else(|| panic!("no answer"));
    let lag = db.member("pg2").and_then(|m| m.lag_bytes);
    assert!(lag.is_some(), "{db:?}");
    // It catches up (Patroni's figure is refreshed each loop): a switchover
    // right after a burst would promote a replica that has not got it.
    wait_for(&p, &dir, 60, "pg2 catches up", |db| db.member("pg2").is_some_and(|m| m.lag_bytes == Some(0))).await;

    // The console, from a config file: Patroni owns the database actions,
    // with basic auth by reference. pg1's API sits behind a proxy that
    // drops the answer to the first POST /switchover (it lands).
    let posts = Arc::new(AtomicUsize::new(0));
    let proxied = common::drop_first_answer(
        pg1.api.trim_start_matches("http://").to_string(),
        |h| h.contains("/switchover"),
        posts.clone(),
    )
    .await;
    std::env::set_var("WR_TEST_PATRONI_PASSWORD", API_PASSWORD);
    let text = format!(
        "[[region]]\nname = \"us-east\"\n[[region]]\nname = \"us-west\"\n[[service]]\nname = \"checkout\"\n\
         [[patroni]]\nname = \"orders\"\nurls = [\"{proxied}\", \"{}\"]\nregions = {{ pg1 = \"us-east\", pg2 = \"us-west\" }}\n\
         maximum_lag_on_failover = 1048576\nusername = \"{API_USER}\"\npassword_env = \"WR_TEST_PATRONI_PASSWORD\"\ninterval = \"1s\"\n",
        pg2.api
    );
    let cfg = warroom::config::Config::parse(&dir.join("warroom.toml"), &text).unwrap_or_else(|e| panic!("{e:?}"));
    let setup = warroom::wiring::setup_all(&cfg).await.unwrap_or_else(|e| panic!("{e}"));
    let clock: warroom::sources::Clock = Arc::new(chrono::Utc::now);
    let plane = warroom::dataplane::spawn_sources(setup.sources, setup.intervals, clock.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let audit = dir.join("audit.jsonl");
    let exec = spawn_routed(setup.routes, AuditLog::open(&audit), tx, clock, Some(plane.snapshots.clone()));
    let go = |action: Action| Intent {
        action,
        key: new_key(),
        operator: Operator { name: "alice".into(), role: Role::Operator },
        disposition: Disposition::Go,
    };
    let history = || async {
        let body = reqwest::get(format!("{}/history", pg2.api)).await.ok()?.text().await.ok()?;
        serde_json::from_str::<Vec<serde_json::Value>>(&body).ok().map(|v| v.len())
    };
    let rows_before = history().await.unwrap_or(0);
    // Wait until the console's snapshot has the replica streaming within
    // the lag limit (the send-time re-check reads it; on a loaded machine
    // the rows written above can keep it over 1 MiB for a while, and then
    // the switchover is rightly refused).
    let mut snaps = plane.snapshots.clone();
    until_seen(&mut snaps, 60, "pg2 streaming within the lag limit", |d| {
        d.iter().any(|d| d.member("pg2").is_some_and(|m| m.up && m.lag_bytes.is_some_and(|b| b <= 1_048_576)))
    })
    .await;
    let sw = go(Action::Switchover { database: "orders".into(), candidate: "pg2".into() });
    let key = sw.key.clone();
    exec.submit(sw).unwrap_or_else(|e| panic!("{e}"));
    let e = common::action_outcome(&mut rx, &key, 120).await;
    assert_eq!(e.status, ActionStatus::Succeeded, "{}", e.message);
    assert!(e.message.contains("pg2 (us-west) is the writer of orders"), "{}", e.message);
    assert!(e.message.contains("read from /cluster"), "reconciled by reading, not resent: {}", e.message);
    assert_eq!(posts.load(Ordering::SeqCst), 1, "exactly one POST /switchover reached Patroni");
    let db =
        wait_for(&p, &dir, 60, "pg2 leads", |db| db.writer().is_some_and(|w| w.name == "pg2" && w.timeline == Some(2)))
            .await;
    assert_eq!(db.writer().and_then(|w| w.timeline), Some(2));
    // Patroni writes the timeline switch to its history a loop or two later:
    // exactly one switchover.
    let deadline = Instant::now() + Duration::from_secs(60);
    while history().await != Some(rows_before + 1) {
        assert!(
            Instant::now() < deadline,
            "one switchover in /history: {:?} rows, {rows_before} before",
            history().await
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    // The old leader rejoins as a replica.
    wait_for(&p, &dir, 90, "pg1 rejoins on timeline 2", |db| {
        db.member("pg1")
            .is_some_and(|m| m.up && m.role != DbRole::Writer && m.timeline == Some(2) && m.lag_bytes == Some(0))
    })
    .await;
    until_seen(&mut snaps, 30, "pg1 back", |d| d.iter().any(|d| d.member("pg1").is_some_and(|m| m.up))).await;

    // Back to pg1, answered this time: the outcome carries the stopwatch
    // (request → new writer accepting writes), and the trail keeps it.
    let back = go(Action::Switchover { database: "orders".into(), candidate: "pg1".into() });
    let key = back.key.clone();
    exec.submit(back).unwrap_or_else(|e| panic!("{e}"));
    let e = common::action_outcome(&mut rx, &key, 120).await;
    assert_eq!(e.status, ActionStatus::Succeeded, "{}", e.message);
    assert!(
        e.message.contains("accepting writes") && e.message.contains("after the switchover request"),
        "{}",
        e.message
    );
    let trail = std::fs::read_to_string(&audit).unwrap_or_default();
    assert!(trail.contains("accepting writes") && trail.contains("\"backend\":\"patroni\""), "{trail}");
    assert!(!trail.contains(API_PASSWORD), "the password never reaches the trail");
    // Again: already in effect, nothing sent.
    let again = go(Action::Switchover { database: "orders".into(), candidate: "pg1".into() });
    let key = again.key.clone();
    exec.submit(again).unwrap_or_else(|e| panic!("{e}"));
    let e = common::action_outcome(&mut rx, &key, 60).await;
    assert!(
        e.status == ActionStatus::Refused || e.message.contains("already in effect"),
        "{:?} {}",
        e.status,
        e.message
    );

    // pg2 follows pg1 on the new timeline before anything else happens.
    wait_for(&p, &dir, 90, "pg2 follows on timeline 3", |db| {
        db.member("pg2").is_some_and(|m| m.timeline == Some(3) && m.lag_bytes.is_some_and(|l| l < 1_048_576))
    })
    .await;
    // Maintenance mode (Patroni neither restarts PostgreSQL nor fails over
    // by itself), then the writer's PostgreSQL dies: no writer.
    set_pause(&pg2.api, true).await;
    tokio::time::sleep(Duration::from_secs(3)).await;
    let data = pg1.data.display().to_string();
    let out = common::as_postgres(&[&format!("{PG_BIN}/pg_ctl"), "stop", "-m", "immediate", "-D", &data])
        .output()
        .unwrap_or_else(|e| panic!("pg_ctl: {e}"));
    assert!(out.status.success(), "pg_ctl stop: {}", String::from_utf8_lossy(&out.stderr));
    until_seen(&mut snaps, 15, "no writer", |d| d.iter().all(|d| d.writer().is_none())).await;
    // The console's failover promotes pg2.
    let fo = go(Action::DbFailover { database: "orders".into(), candidate: "pg2".into(), break_glass: false });
    let key = fo.key.clone();
    exec.submit(fo).unwrap_or_else(|e| panic!("{e}"));
    let e = common::action_outcome(&mut rx, &key, 120).await;
    assert_eq!(e.status, ActionStatus::Succeeded, "{}", e.message);
    assert!(
        e.message.contains("pg2 (us-west) is the writer") && e.message.contains("failover request"),
        "{}",
        e.message
    );
    set_pause(&pg2.api, false).await;
}
