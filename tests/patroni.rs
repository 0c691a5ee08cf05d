//! Database clusters from a real Patroni (Debian `patroni`, `etcd-server`
//! and PostgreSQL 15), started here on loopback with ephemeral ports as
//! the `postgres` user: the source reads the leader and the replica with
//! its lag (also after rows are written on the leader), and follows a
//! switchover (writer and timeline change, the history records it).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use warroom::model::{Database, DbRole};
use warroom::sources::patroni::Patroni;
use warroom::sources::Payload;

mod common;

const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

fn need(cmd: &str, package: &str) {
    let found =
        Command::new("sh").args(["-c", &format!("command -v {cmd}")]).output().is_ok_and(|o| o.status.success());
    assert!(found, "{cmd} is missing: apt-get install -y {package} (scripts/test installs it when run as root)");
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    l.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"))
}

/// Run as `postgres` when we are root (PostgreSQL refuses to run as root).
fn as_postgres(args: &[&str]) -> Command {
    let root = Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout.starts_with(b"0"));
    if root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).args(args);
        c
    } else {
        let mut c = Command::new(args[0]);
        c.args(&args[1..]);
        c
    }
}

struct Node {
    name: String,
    api: String,
    pg_port: u16,
    _proc: common::KillOnDrop,
}

fn node(dir: &Path, name: &str, etcd: &str) -> Node {
    let (api_port, pg_port) = (free_port(), free_port());
    let data = dir.join(format!("{name}-data"));
    let yml = format!(
        r#"scope: wr-test
name: {name}
restapi:
  listen: 127.0.0.1:{api_port}
  connect_address: 127.0.0.1:{api_port}
etcd3:
  hosts: {etcd}
bootstrap:
  dcs:
    ttl: 20
    loop_wait: 2
    retry_timeout: 5
    maximum_lag_on_failover: 1048576
    postgresql:
      use_pg_rewind: false
      parameters:
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
    let child = as_postgres(&["patroni", &cfg_s])
        .stdout(Stdio::from(log))
        .stderr(Stdio::from(err))
        .spawn()
        .unwrap_or_else(|e| panic!("patroni: {e}"));
    let proc = common::KillOnDrop(child);
    common::watchdog(&[proc.0.id()]);
    Node { name: name.into(), api: format!("http://127.0.0.1:{api_port}"), pg_port, _proc: proc }
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
    let out = as_postgres(&["psql", "-h", &host, "-p", &port, "-U", "postgres", "-d", "postgres", "-qAtc", sql])
        .output()
        .unwrap_or_else(|e| panic!("psql: {e}"));
    assert!(out.status.success(), "psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leader_and_replica_with_lag_and_a_switchover_from_real_patroni() {
    need("patroni", "patroni");
    need("etcd", "etcd-server");
    need("psql", "postgresql-client");
    assert!(Path::new(PG_BIN).join("postgres").exists(), "PostgreSQL 15 is missing: apt-get install -y postgresql");
    let dir: PathBuf = std::env::temp_dir().join(format!("warroom-patroni-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let _ = Command::new("chown").args(["-R", "postgres:postgres", &dir.display().to_string()]).status();
    // etcd, one member.
    let (client, peer) = (free_port(), free_port());
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
    let etcd_addr = format!("127.0.0.1:{client}");
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

    // A switchover (as an operator would from patronictl): the source sees
    // the writer move to pg2 on a new timeline, and the history says when.
    let before = read(&p).await.and_then(|d| d.last_failover);
    let r = client
        .post(format!("{}/switchover", pg1.api))
        .json(&serde_json::json!({"leader": pg1.name, "candidate": pg2.name}))
        .send()
        .await
        .unwrap_or_else(|e| panic!("switchover: {e}"));
    assert!(r.status().is_success(), "switchover: {} {}", r.status(), r.text().await.unwrap_or_default());
    let db =
        wait_for(&p, &dir, 60, "pg2 leads", |db| db.writer().is_some_and(|w| w.name == "pg2" && w.timeline == Some(2)))
            .await;
    assert_eq!(db.writer().and_then(|w| w.timeline), Some(2));
    // Patroni writes the timeline switch to its history a loop or two later.
    wait_for(&p, &dir, 60, "the switchover in /history", |db| db.last_failover.is_some() && db.last_failover != before)
        .await;
    // The old leader rejoins as a replica.
    wait_for(&p, &dir, 90, "pg1 rejoins", |db| db.member("pg1").is_some_and(|m| m.up && m.role != DbRole::Writer))
        .await;
}
