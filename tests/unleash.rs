//! Feature flags in a real Unleash: `unleash-server` 7.5.1 from npm (the
//! last line whose `engines` accept Node 20) on PostgreSQL 15 from Debian,
//! both started here on loopback once per test binary (initdb in a temp
//! dir as the `postgres` user, the admin token seeded with
//! `INIT_ADMIN_API_TOKENS`). The console lists the flags with their
//! rollouts and limits, turns one on and off and changes its gradual
//! rollout through the confirm dialog (read back through Unleash's own
//! API), a dropped answer is settled by reading (one change in Unleash's
//! event log), a wrong token is a clear error, and Unleash going down is an
//! error with a growing age that clears by itself when it is back.
//!
//! `scripts/test` installs the server under `target/unleash-server`.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::Utc;
use serde_json::{json, Value};

const TOKEN: &str = "*:*.warroom-test-admin-secret";
const PG_BIN: &str = "/usr/lib/postgresql/15/bin";

fn server_js() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("target/unleash-server/node_modules/unleash-server/dist/server.js")
}

fn rt() -> &'static tokio::runtime::Runtime {
    static RT: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    RT.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap_or_else(|e| panic!("{e}"))
    })
}

struct Stack {
    url: String,
    port: u16,
    pg_port: u16,
    dir: PathBuf,
    server: Mutex<Option<common::KillOnDrop>>,
}

/// Unleash's Admin API with the admin token: (status, JSON or null).
async fn api(base: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .header("Authorization", TOKEN)
        .timeout(Duration::from_secs(10));
    if let Some(b) = body {
        req = req.json(&b);
    }
    let r = req.send().await.unwrap_or_else(|e| panic!("{path}: {e}"));
    let code = r.status().as_u16();
    let text = r.text().await.unwrap_or_default();
    (code, serde_json::from_str(&text).unwrap_or(Value::Null))
}

fn api_sync(base: &str, method: reqwest::Method, path: &str, body: Option<Value>) -> (u16, Value) {
    rt().block_on(api(base, method, path, body))
}

fn start_server(dir: &Path, pg_port: u16, port: u16) -> common::KillOnDrop {
    let js = server_js();
    assert!(
        js.exists(),
        "{} is missing: npm install --prefix target/unleash-server unleash-server@7.5.1 (scripts/test does this)",
        js.display()
    );
    let log = std::fs::File::create(dir.join("unleash.log")).unwrap_or_else(|e| panic!("{e}"));
    let child = Command::new("node")
        .arg(&js)
        .env("TZ", "UTC")
        .env("DATABASE_URL", format!("postgres://postgres@127.0.0.1:{pg_port}/unleash"))
        .env("DATABASE_SSL", "false")
        .env("HTTP_PORT", port.to_string())
        .env("HTTP_HOST", "127.0.0.1")
        .env("INIT_ADMIN_API_TOKENS", TOKEN)
        .env("LOG_LEVEL", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(log.try_clone().unwrap_or_else(|e| panic!("{e}")))
        .stderr(log)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start node {}: {e}", js.display()));
    let server = common::KillOnDrop(child);
    common::watchdog(&[server.0.id()]);
    server
}

/// Wait until `/health` says GOOD.
fn wait_healthy(url: &str, dir: &Path) {
    let deadline = std::time::Instant::now() + Duration::from_secs(90);
    while std::time::Instant::now() < deadline {
        let ok = rt().block_on(async {
            let r = reqwest::Client::new().get(format!("{url}/health")).timeout(Duration::from_secs(2)).send().await;
            match r {
                Ok(r) => r.text().await.unwrap_or_default().contains("GOOD"),
                Err(_) => false,
            }
        });
        if ok {
            return;
        }
        std::thread::sleep(Duration::from_millis(250));
    }
    let log = std::fs::read_to_string(dir.join("unleash.log")).unwrap_or_default();
    let tail: Vec<&str> = log.lines().rev().take(20).collect();
    panic!(
        "Unleash did not become healthy at {url} within 90 s:\n{}",
        tail.into_iter().rev().collect::<Vec<_>>().join("\n")
    );
}

/// The flags every test starts from.
fn seed(url: &str) {
    use reqwest::Method;
    let p = "/api/admin/projects/default/features";
    let (c, seg) = api_sync(
        url,
        Method::POST,
        "/api/admin/segments",
        Some(json!({"name": "internal", "constraints": [
            {"contextName": "email", "operator": "STR_ENDS_WITH", "values": ["@example.com"]}]})),
    );
    assert!(c < 300, "segment: {c} {seg}");
    let internal = seg["id"].clone();
    for name in ["new-checkout", "staff-preview", "dark-mode"] {
        let (c, v) = api_sync(url, Method::POST, p, Some(json!({"name": name})));
        assert!(c < 300, "{name}: {c} {v}");
    }
    let strategy = |name: &str, body: Value| {
        let path = format!("{p}/{name}/environments/production/strategies");
        let (c, v) = api_sync(url, Method::POST, &path, Some(body));
        assert!(c < 300, "{name} strategy: {c} {v}");
    };
    strategy(
        "new-checkout",
        json!({"name": "flexibleRollout",
            "parameters": {"rollout": "10", "stickiness": "default", "groupId": "new-checkout"},
            "constraints": [{"contextName": "country", "operator": "IN", "values": ["DE", "FR"]}]}),
    );
    strategy(
        "staff-preview",
        json!({"name": "flexibleRollout",
            "parameters": {"rollout": "100", "stickiness": "default", "groupId": "staff-preview"},
            "constraints": [], "segments": [internal]}),
    );
    let (c, v) = api_sync(url, Method::POST, &format!("{p}/staff-preview/environments/production/on"), None);
    assert!(c < 300, "{c} {v}");
}

/// PostgreSQL and Unleash for the whole test binary; the tests take turns
/// (one stops the server and starts it again).
fn stack() -> &'static Stack {
    static STACK: std::sync::OnceLock<Stack> = std::sync::OnceLock::new();
    STACK.get_or_init(|| {
        common::need("node", "nodejs (Node.js 20 or later)");
        common::need("runuser", "util-linux");
        assert!(
            Path::new(PG_BIN).join("postgres").exists(),
            "PostgreSQL 15 is missing: apt-get install -y postgresql (scripts/test installs it when run as root)"
        );
        let dir = std::env::temp_dir().join(format!("warroom-unleash-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
        let _ = Command::new("chown").args(["-R", "postgres:postgres", &dir.display().to_string()]).status();
        let data = dir.join("pg");
        let d = data.display().to_string();
        let out = common::as_postgres(&[&format!("{PG_BIN}/initdb"), "-D", &d, "-A", "trust", "-U", "postgres"])
            .output()
            .unwrap_or_else(|e| panic!("initdb: {e}"));
        assert!(out.status.success(), "initdb: {}", String::from_utf8_lossy(&out.stderr));
        let pg_port = common::free_port();
        let opts = format!("-p {pg_port} -k {} -c listen_addresses=127.0.0.1", dir.display());
        let log = dir.join("pg.log").display().to_string();
        let out = common::as_postgres(&[&format!("{PG_BIN}/pg_ctl"), "-D", &d, "-o", &opts, "-l", &log, "-w", "start"])
            .output()
            .unwrap_or_else(|e| panic!("pg_ctl: {e}"));
        assert!(out.status.success(), "pg_ctl start: {}", String::from_utf8_lossy(&out.stderr));
        // The postmaster is not our child: stop it when this process exits.
        let stop = format!(
            "while kill -0 {} 2>/dev/null; do sleep 1; done; runuser -u postgres -- {PG_BIN}/pg_ctl -D {d} -m immediate stop \
             || {PG_BIN}/pg_ctl -D {d} -m immediate stop",
            std::process::id()
        );
        let _ = Command::new("sh").args(["-c", &stop]).stdout(std::process::Stdio::null()).spawn();
        let host = dir.display().to_string();
        let port = pg_port.to_string();
        let out = common::as_postgres(&["psql", "-h", &host, "-p", &port, "-U", "postgres", "-qAtc", "CREATE DATABASE unleash"])
            .output()
            .unwrap_or_else(|e| panic!("psql: {e}"));
        assert!(out.status.success(), "create database: {}", String::from_utf8_lossy(&out.stderr));
        let port = common::free_port();
        let url = format!("http://127.0.0.1:{port}");
        let server = start_server(&dir, pg_port, port);
        wait_healthy(&url, &dir);
        seed(&url);
        Stack { url, port, pg_port, dir, server: Mutex::new(Some(server)) }
    })
}

static TURNS: Mutex<()> = Mutex::new(());

fn turn() -> std::sync::MutexGuard<'static, ()> {
    TURNS.lock().unwrap_or_else(|p| p.into_inner())
}

fn config(s: &Stack, name: &str, token_var: &str, extra: &str) -> PathBuf {
    let dir = s.dir.join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let path = dir.join("warroom.toml");
    let text = format!(
        "[[region]]\nname = \"us-east-1\"\n\n[unleash]\nurl = \"{}\"\ntoken_env = \"{token_var}\"\nenvironments = [\"production\"]\n{extra}",
        s.url
    );
    std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    path
}

/// The production environment of a flag, as Unleash's own API has it.
fn production(s: &Stack, flag: &str) -> Value {
    let (c, v) = api_sync(&s.url, reqwest::Method::GET, &format!("/api/admin/projects/default/features/{flag}"), None);
    assert_eq!(c, 200, "{v}");
    v["environments"].as_array().and_then(|a| a.iter().find(|e| e["name"] == "production").cloned()).unwrap_or_default()
}

/// Unleash's events for a flag of a type, newest first.
fn events(s: &Stack, flag: &str, kind: &str) -> Vec<Value> {
    rt().block_on(events_of(s, flag, kind))
}

async fn events_of(s: &Stack, flag: &str, kind: &str) -> Vec<Value> {
    let (_, v) = api(&s.url, reqwest::Method::GET, "/api/admin/events?project=default", None).await;
    v["events"]
        .as_array()
        .map(|a| a.iter().filter(|e| e["featureName"] == flag && e["type"] == kind).cloned().collect())
        .unwrap_or_default()
}

#[test]
fn a_flag_is_toggled_and_its_rollout_changed_in_a_real_unleash_from_the_console() {
    let _turn = turn();
    let s = stack();
    let cfg = config(s, "console", "WARROOM_TEST_UNLEASH_TOKEN", "");
    let state = s.dir.join("console-state");
    let (c, st) = (cfg.display().to_string(), state.display().to_string());
    let mut pty = common::Pty::spawn_env(
        &["--config", &c, "--view", "deploy", "--poll-factor", "0.2"],
        &[("WARROOM_TEST_UNLEASH_TOKEN", TOKEN), ("WARROOM_STATE_DIR", &st), ("USER", "alice")],
        200,
        50,
    );
    // The flags pane's row (the action log names the flag too).
    let row = |screen: &str, flag: &str| {
        screen.lines().find(|l| l.contains(flag) && l.contains("unleash:default")).unwrap_or("").to_string()
    };
    let first = pty.wait_for("Unleash's flags", 60, |x| x.contains("new-checkout") && x.contains("internal only"));
    let nc = row(&first, "new-checkout");
    assert!(nc.contains("production") && nc.contains("○ OFF") && nc.contains("10% of users"), "{nc}");
    assert!(nc.contains("country in DE, FR") && nc.contains("unleash:default") && nc.contains("admin"), "{nc}");
    let sp = row(&first, "staff-preview");
    assert!(sp.contains("● ON") && sp.contains("100% of users") && sp.contains("internal only"), "{sp}");
    pty.focus("Flags");
    // Only new-checkout on screen: the keys act on the first row.
    pty.send("/new-checkout\r");
    pty.wait_for("the filter kept", 10, |x| !x.contains("staff-preview") && x.contains("new-checkout"));
    // On, then off again, each through the confirm dialog.
    for (want, on) in [("● ON", true), ("○ OFF", false)] {
        pty.send("t");
        let verb = if on { "ON" } else { "OFF" };
        let dialog =
            pty.wait_for("the flag dialog", 10, |x| x.contains(&format!("Turn new-checkout {verb} in production?")));
        assert!(dialog.contains("lives in unleash:default"), "{dialog}");
        pty.send("\t\r");
        pty.wait_for("the flag's new state", 30, |x| row(x, "new-checkout").contains(want));
        assert_eq!(production(s, "new-checkout")["enabled"], on, "Unleash's own API agrees");
    }
    // % opens the command line at the rollout's next step.
    pty.send("%");
    pty.wait_for("the rollout command", 10, |x| x.contains("flag-rollout new-checkout production 25 unleash:default"));
    pty.send("\r");
    let dialog = pty.wait_for("the rollout dialog", 10, |x| x.contains("Roll new-checkout out to 25% in production?"));
    assert!(dialog.contains("10% → 25%") && dialog.contains("country in DE, FR (kept)"), "{dialog}");
    pty.send("\t\r");
    pty.wait_for("25% on screen", 30, |x| row(x, "new-checkout").contains("25% of users"));
    let env = production(s, "new-checkout");
    let strategies = env["strategies"].as_array().cloned().unwrap_or_default();
    assert_eq!(strategies.len(), 1, "{env}");
    let p = &strategies[0]["parameters"];
    assert_eq!(
        (p["rollout"].as_str(), p["stickiness"].as_str(), p["groupId"].as_str()),
        (Some("25"), Some("default"), Some("new-checkout"))
    );
    assert_eq!(strategies[0]["constraints"][0]["values"], json!(["DE", "FR"]), "constraints kept: {env}");
    assert_eq!(events(s, "new-checkout", "feature-strategy-update").len(), 1, "one update");
    pty.send("q");
    assert_eq!(pty.wait_exit(15), 0);
    let trail = std::fs::read_to_string(state.join("audit.jsonl")).unwrap_or_default();
    let outcomes: Vec<&str> = trail.lines().filter(|l| l.contains("\"event\":\"outcome\"")).collect();
    assert_eq!(outcomes.len(), 3, "{trail}");
    assert!(
        outcomes.iter().all(|l| l.contains("\"succeeded\"") && l.contains(&format!("unleash {}", s.url))),
        "{trail}"
    );
    assert!(trail.contains("\"operator\":\"alice\""), "{trail}");
    // Leave it as seeded for the other tests.
    let base = "/api/admin/projects/default/features/new-checkout/environments/production/strategies";
    let id = strategies[0]["id"].as_str().unwrap_or("");
    let mut back = strategies[0].clone();
    back["parameters"]["rollout"] = json!("10");
    let body = json!({"name": back["name"], "parameters": back["parameters"], "constraints": back["constraints"], "segments": back["segments"]});
    assert_eq!(api_sync(&s.url, reqwest::Method::PUT, &format!("{base}/{id}"), Some(body)).0, 200);
}

/// An in-process console on Unleash (at `url`, default the stack's).
async fn console(
    s: &Stack,
    name: &str,
    token: &str,
    url: Option<&str>,
) -> (
    warroom::dataplane::DataPlane,
    warroom::actions::executor::Executor,
    tokio::sync::mpsc::Receiver<warroom::sources::Update>,
) {
    let var = format!("WARROOM_TEST_UNLEASH_{}", name.to_uppercase().replace('-', "_"));
    std::env::set_var(&var, token);
    let path = config(s, name, &var, "interval = \"1s\"\n");
    if let Some(u) = url {
        let text = std::fs::read_to_string(&path).unwrap_or_default().replace(&s.url, u);
        std::fs::write(&path, text).unwrap_or_else(|e| panic!("{e}"));
    }
    common::console_from(&path)
}

#[test]
fn a_lost_answer_is_settled_by_reading_the_flag_and_it_is_toggled_once() {
    use warroom::actions::executor::{new_key, Disposition, Intent};
    use warroom::actions::{Action, Operator, Role};
    use warroom::model::ActionStatus;
    let _turn = turn();
    let s = stack();
    rt().block_on(async {
        let posts = Arc::new(AtomicUsize::new(0));
        let upstream = format!("127.0.0.1:{}", s.port);
        let proxy =
            common::drop_first_answer(upstream, |h| h.contains("/dark-mode/environments/production/on"), posts.clone())
                .await;
        // The console talks to Unleash through the proxy.
        let (plane, exec, mut rx) = console(s, "proxy", TOKEN, Some(&proxy)).await;
        let mut snaps = plane.snapshots.clone();
        let dark = |x: &warroom::model::Snapshot| x.fleet.flags.items().iter().find(|f| f.name == "dark-mode").cloned();
        let snap = common::snapshot_where(
            &mut snaps,
            30,
            "dark-mode listed",
            |x| dark(x).is_some(),
            |x| format!("{:?}", x.fleet.flags.error_text()),
        )
        .await;
        let f = dark(&snap).unwrap_or_else(|| panic!("no dark-mode"));
        assert!(!f.enabled && f.rollout == "no strategy", "{f:?}");
        let before = events_of(s, "dark-mode", "feature-environment-enabled").await.len();
        let action = Action::SetFlag {
            flag: "dark-mode".into(),
            environment: "production".into(),
            on: true,
            source: String::new(),
        }
        .resolved(&snap);
        assert!(action.preview(&snap).is_ok());
        let intent = Intent {
            action,
            key: new_key(),
            operator: Operator { name: "bob".into(), role: Role::Operator },
            disposition: Disposition::Go,
        };
        let key = intent.key.clone();
        exec.submit(intent).unwrap_or_else(|e| panic!("{e}"));
        let e = common::action_outcome(&mut rx, &key, 60).await;
        assert_eq!(e.status, ActionStatus::Succeeded, "{}", e.message);
        assert!(e.message.contains("dark-mode is ON in production (read back from Unleash)"), "{}", e.message);
        assert_eq!(posts.load(std::sync::atomic::Ordering::SeqCst), 1, "one POST, its answer lost, never resent");
        assert_eq!(events_of(s, "dark-mode", "feature-environment-enabled").await.len(), before + 1, "toggled once");
        let (_, v) = api(&s.url, reqwest::Method::GET, "/api/admin/projects/default/features/dark-mode", None).await;
        assert!(
            v["environments"]
                .as_array()
                .is_some_and(|a| a.iter().any(|e| e["name"] == "production" && e["enabled"] == true)),
            "{v}"
        );
        // Asked again, it is already in effect: read, nothing sent.
        let again = Action::SetFlag {
            flag: "dark-mode".into(),
            environment: "production".into(),
            on: false,
            source: "unleash:default".into(),
        };
        let (c, _) = api(
            &s.url,
            reqwest::Method::POST,
            "/api/admin/projects/default/features/dark-mode/environments/production/off",
            None,
        )
        .await;
        assert_eq!(c, 200);
        let i = Intent {
            action: again,
            key: new_key(),
            operator: Operator { name: "bob".into(), role: Role::Operator },
            disposition: Disposition::Go,
        };
        let key = i.key.clone();
        exec.submit(i).unwrap_or_else(|e| panic!("{e}"));
        let e = common::action_outcome(&mut rx, &key, 60).await;
        assert_eq!(e.status, ActionStatus::Succeeded, "{}", e.message);
        assert!(e.message.contains("already in effect"), "{}", e.message);
        assert_eq!(
            events_of(s, "dark-mode", "feature-environment-disabled").await.len(),
            1,
            "only the test's own switch-off"
        );
    });
}

#[test]
fn a_wrong_token_is_a_clear_error_on_the_flags_pane() {
    let _turn = turn();
    let s = stack();
    rt().block_on(async {
        let (plane, _exec, _rx) = console(s, "wrong-token", "*:*.not-the-secret", None).await;
        let mut snaps = plane.snapshots.clone();
        let snap = common::snapshot_where(
            &mut snaps,
            30,
            "the token refused",
            |x| x.fleet.flags.error_text().is_some_and(|e| e.contains("HTTP 401")),
            |x| format!("{:?}", x.fleet.flags.error_text()),
        )
        .await;
        let text = snap.fleet.flags.error_text().unwrap_or_default();
        assert!(text.contains("Unleash refused the token"), "{text}");
        assert!(text.contains("token_env"), "says what to check: {text}");
        assert!(!text.contains("not-the-secret"), "the token is never shown: {text}");
        assert!(snap.fleet.flags.items().is_empty());
    });
}

#[test]
fn unleash_down_is_an_error_with_a_growing_age_and_it_recovers_by_itself() {
    let _turn = turn();
    let s = stack();
    rt().block_on(async {
        let (plane, _exec, _rx) = console(s, "down", TOKEN, None).await;
        let mut snaps = plane.snapshots.clone();
        let listed = |x: &warroom::model::Snapshot| {
            x.fleet.flags.error_text().is_none() && x.fleet.flags.items().iter().any(|f| f.name == "new-checkout")
        };
        common::snapshot_where(&mut snaps, 30, "flags from Unleash", listed, |x| {
            format!("{:?}", x.fleet.flags.error_text())
        })
        .await;
        let killed = s.server.lock().unwrap_or_else(|p| p.into_inner()).take();
        drop(killed);
        let down = common::snapshot_where(
            &mut snaps,
            30,
            "Unleash down",
            |x| x.fleet.flags.error_text().is_some_and(|e| e.contains("unreachable")),
            |x| format!("{:?}", x.fleet.flags.error_text()),
        )
        .await;
        assert!(
            !down.fleet.flags.items().is_empty(),
            "the last flags stay on screen, marked by the error and their age"
        );
        let age = |x: &warroom::model::Snapshot| x.fleet.flags.age(Utc::now()).unwrap_or(0.0);
        let a1 = age(&down);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let later = snaps.borrow().clone();
        assert!(later.fleet.flags.error_text().is_some(), "still failing");
        assert!(age(&later) > a1 + 2.0, "the age grows: {a1} then {}", age(&later));
        // Back on the same port: the feed recovers with no restart.
        let server = tokio::task::spawn_blocking(move || {
            let server = start_server(&s.dir, s.pg_port, s.port);
            wait_healthy(&s.url, &s.dir);
            server
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
        *s.server.lock().unwrap_or_else(|p| p.into_inner()) = Some(server);
        common::snapshot_where(&mut snaps, 60, "recovered", listed, |x| format!("{:?}", x.fleet.flags.error_text()))
            .await;
    });
}
