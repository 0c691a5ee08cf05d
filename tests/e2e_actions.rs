//! Operator actions end to end: the real console in a pseudo-terminal
//! against a real simulator process, with a real audit trail on disk.

mod common;

use std::path::PathBuf;
use std::process::Command;

use common::{get_json, spawn_sim, Pty, BIN};

fn state_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("warroom-e2e-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn audit_verify(dir: &PathBuf) -> (bool, String) {
    let out = Command::new(BIN).args(["audit", "verify"]).env("WARROOM_STATE_DIR", dir).output();
    let Ok(out) = out else { panic!("cannot run warroom audit verify") };
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.success(), text)
}

#[test]
fn failover_through_the_confirm_gate_moves_traffic_once() {
    let (mut sim, url) = spawn_sim(&["--time-scale", "10"]);
    let dir = state_dir("failover");
    let d = dir.to_string_lossy().to_string();
    let mut pty = Pty::spawn_env(
        &["--api", &url, "--poll-factor", "0.2"],
        &[("WARROOM_STATE_DIR", &d), ("USER", "alice")],
        120,
        40,
    );
    pty.wait_for("overview with weights", 30, |s| s.contains("use1 40%") && s.contains("F failover"));
    pty.send("F");
    let dialog = pty.wait_for("the confirm gate", 10, |s| s.contains("Type us-east-1 to confirm"));
    assert!(dialog.contains("us-east-1           40% →     0%"), "{dialog}");
    assert!(dialog.contains("us-west-2           25% →  41.7%"), "{dialog}");
    // Enter on the initial focus (Cancel) closes without acting.
    pty.send("\r");
    pty.wait_for("dialog closed, saying so", 10, |s| {
        !s.contains("Confirm action") && s.contains("cancelled — nothing sent")
    });
    pty.send("F");
    pty.wait_for("the confirm gate again", 10, |s| s.contains("Type us-east-1 to confirm"));
    // Confirm is not armed until the name is typed.
    pty.send("\t\r");
    pty.wait_for("still open", 10, |s| s.contains("Confirm action"));
    pty.send("us-east-1");
    pty.wait_for("name typed", 10, |s| s.contains("> us-east-1"));
    // Enter after typing the name confirms (the focus was never moved).
    pty.send("\r");
    pty.wait_for("traffic moved", 40, |s| s.contains("use1 0%") && s.contains("DONE"));
    let ex = get_json(&format!("{url}/v1/executions"));
    let counts: Vec<u64> =
        ex["executions"].as_object().map(|m| m.values().filter_map(|v| v.as_u64()).collect()).unwrap_or_default();
    assert_eq!(counts, vec![1], "{ex}");
    let regions = get_json(&format!("{url}/v1/regions"));
    assert_eq!(regions["regions"][0]["trafficWeight"], 0.0);
    pty.send("q");
    assert_eq!(pty.wait_exit(15), 0);
    let (ok, text) = audit_verify(&dir);
    assert!(ok, "{text}");
    assert!(text.contains("2 records"), "{text}");
    let _ = sim.kill();
}

#[test]
fn rolling_back_the_bad_canary() {
    let (mut sim, url) = spawn_sim(&["--scenario", "bad-canary", "--at", "5m"]);
    let dir = state_dir("rollback");
    let d = dir.to_string_lossy().to_string();
    let mut pty = Pty::spawn_env(&["--api", &url, "--poll-factor", "0.2"], &[("WARROOM_STATE_DIR", &d)], 120, 40);
    pty.wait_for("the degraded canary", 30, |s| s.contains("Degraded"));
    // With the matrix focused, `b` does not act: it says what to select.
    pty.send("b");
    pty.wait_for("a hint, no dialog", 10, |s| s.contains("select a rollout first (Tab to Canaries)"));
    assert!(!pty.screen().contains("Confirm action"));
    pty.focus("Canaries");
    pty.send("b");
    let dialog = pty.wait_for("rollback preview", 10, |s| s.contains("Type checkout to confirm"));
    assert!(dialog.contains("canary weight 25% → 0%"), "{dialog}");
    assert!(dialog.contains("phase Degraded → Aborted"), "{dialog}");
    pty.send("checkout\r");
    pty.wait_for("aborted canary", 30, |s| s.contains("Aborted") && s.contains("DONE"));
    pty.send("q");
    assert_eq!(pty.wait_exit(15), 0);
    let _ = sim.kill();
}

#[test]
fn a_viewer_cannot_act_and_the_attempt_is_audited() {
    let (mut sim, url) = spawn_sim(&[]);
    let dir = state_dir("viewer");
    let d = dir.to_string_lossy().to_string();
    let mut pty =
        Pty::spawn_env(&["--api", &url, "--read-only", "--poll-factor", "0.2"], &[("WARROOM_STATE_DIR", &d)], 120, 40);
    pty.wait_for("read-only footer", 30, |s| s.contains("actions disabled") && s.contains("use1 40%"));
    pty.send("F");
    pty.wait_for("denial", 10, |s| s.contains("DENIED"));
    assert!(!pty.screen().contains("Confirm action"), "no dialog for a viewer");
    let stats = get_json(&format!("{url}/v1/stats"));
    assert!(stats["requests"].get("/v1/actions").is_none(), "nothing sent: {stats}");
    pty.send("q");
    assert_eq!(pty.wait_exit(15), 0);
    let trail = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap_or_default();
    assert!(trail.contains("\"event\":\"denied\"") && trail.contains("\"role\":\"viewer\""), "{trail}");
    let _ = sim.kill();
}

#[test]
fn audit_verify_fails_on_a_tampered_trail() {
    let (mut sim, url) = spawn_sim(&["--time-scale", "50"]);
    let dir = state_dir("tamper");
    let d = dir.to_string_lossy().to_string();
    let mut pty = Pty::spawn_env(&["--api", &url, "--poll-factor", "0.2"], &[("WARROOM_STATE_DIR", &d)], 120, 40);
    pty.wait_for("flags", 30, |s| s.contains("new-checkout-flow"));
    pty.focus("Flags");
    // Toggle the first flag off and on again: two actions, four records.
    let path = dir.join("audit.jsonl");
    for (i, state) in ["○ OFF", "● ON"].iter().enumerate() {
        pty.send("t");
        pty.wait_for("flag dialog", 10, |s| s.contains("Confirm action"));
        pty.send("\t\r");
        let records = 2 * (i + 1);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::fs::read_to_string(&path).unwrap_or_default().lines().count() < records {
            assert!(std::time::Instant::now() < deadline, "the outcome was never audited");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let row = format!("production {state}");
        pty.wait_for("the flag's new value", 30, |s| {
            s.lines().any(|l| l.contains("new-checkout-flow") && l.contains(&row))
        });
    }
    pty.send("q");
    assert_eq!(pty.wait_exit(15), 0);
    let _ = sim.kill();
    let (ok, text) = audit_verify(&dir);
    assert!(ok && text.contains("4 records"), "{text}");
    let original = std::fs::read_to_string(&path).unwrap_or_default();
    let edited = original.replacen("\"result\":\"succeeded\"", "\"result\":\"failed\"", 1);
    let _ = std::fs::write(&path, edited);
    let (ok, text) = audit_verify(&dir);
    assert!(!ok && text.contains("record 2 was modified"), "{text}");
    let _ = std::fs::write(&path, &original);
    assert!(audit_verify(&dir).0);
    let fewer: String = original.lines().skip(1).map(|l| format!("{l}\n")).collect();
    let _ = std::fs::write(&path, fewer);
    let (ok, text) = audit_verify(&dir);
    assert!(!ok && text.contains("record 2 where record 1 was expected"), "{text}");
}

#[test]
fn a_database_failover_from_the_databases_pane_promotes_the_standby_once() {
    // The sim's orders writer dies at 60 s: the databases pane says so, W
    // on the standby opens the failover preview, and confirming promotes
    // it through the sim's Patroni API.
    let (_sim, url) = spawn_sim(&["--scenario", "db-primary-failure", "--time-scale", "10"]);
    let dir = state_dir("db-failover");
    let d = dir.to_string_lossy().to_string();
    let mut pty = Pty::spawn_env(
        &["--api", &url, "--poll-factor", "0.2", "--view", "dr"],
        &[("WARROOM_STATE_DIR", &d), ("USER", "alice")],
        160,
        44,
    );
    pty.wait_for("no writer", 60, |s| s.contains("✖ NO WRITER"));
    pty.send(":db-failover orders orders-usw2\r");
    let dialog = pty.wait_for("the confirm gate", 10, |s| s.contains("Type orders to confirm"));
    assert!(dialog.contains("writer: orders-use1 (us-east-1) (stopped) → orders-usw2 (us-west-2)"), "{dialog}");
    assert!(dialog.contains("data at risk: up to"), "{dialog}");
    assert!(dialog.contains("sent to patroni:orders"), "{dialog}");
    pty.send("orders");
    pty.wait_for("name typed", 10, |s| s.contains("> orders"));
    pty.send("\r");
    // The row first says who writes, then (once every service using the
    // cluster is healthy, which at this time scale can be at once) the
    // recovery time: either may be on screen, and the outcome is in the trail.
    let done = pty.wait_for("promoted", 40, |s| {
        s.contains("DONE") && (s.contains("is the writer of orders") || s.contains("RTO "))
    });
    assert!(done.contains("orders-usw2"), "{done}");
    let outcome = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap_or_default();
    assert!(
        outcome
            .lines()
            .any(|l| l.contains("\"event\":\"outcome\"")
                && l.contains("orders-usw2 (us-west-2) is the writer of orders")),
        "{outcome}"
    );
    let history = get_json(&format!("{url}/patroni/orders/history"));
    assert_eq!(history.as_array().map(Vec::len), Some(1), "exactly one promotion: {history}");
    // Once the pane has the new writer, a failover is refused: the writer
    // is up, so it is a switchover's job.
    pty.wait_for("the new writer on screen", 20, |s| {
        s.lines().any(|l| l.contains("orders-usw2") && l.contains("writer") && l.contains("● running"))
    });
    pty.send(":db-failover orders orders-aps1\r");
    pty.wait_for("refused", 10, |s| s.contains("writer orders-usw2 is up: use a switchover"));
    pty.send("q");
    assert_eq!(pty.wait_exit(15), 0);
    let trail = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap_or_default();
    assert!(trail.contains("\"backend\":\"patroni\""), "{trail}");
    let _ = std::fs::remove_dir_all(&dir);
}
