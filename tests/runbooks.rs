//! Runbooks end to end: the real console in a pseudo-terminal against a
//! real simulator process in the region-outage scenario, with the run and
//! the audit trail on disk; a crash mid-run and the resume; lint.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{get_json, post_json, spawn_sim, Pty, BIN};

fn state_dir(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("warroom-rb-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn warroom(args: &[&str], dir: &Path) -> (bool, String) {
    let out = Command::new(BIN).args(args).env("WARROOM_STATE_DIR", dir).output();
    let Ok(out) = out else { panic!("cannot run warroom {args:?}") };
    (out.status.success(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
}

fn failover_executions(url: &str) -> Vec<u64> {
    let ex = get_json(&format!("{url}/v1/executions"));
    ex["executions"].as_object().map(|m| m.values().filter_map(|v| v.as_u64()).collect()).unwrap_or_default()
}

const RUN: [&str; 9] =
    ["runbook", "run", "regional-failover", "--set", "region=us-west-2", "--set", "down_for=5s", "--set", "settle=3s"];

/// Start the console on the runbook, and take it through steps 1–3 as the
/// outage unfolds: the first check is red, then turns green.
fn first_three_steps(url: &str, dir: &str) -> Pty {
    let mut args = vec!["--api", url, "--poll-factor", "0.25"];
    args.extend_from_slice(&RUN);
    let mut pty = Pty::spawn_env(&args, &[("WARROOM_STATE_DIR", dir), ("USER", "alice")], 140, 44);
    let red = pty.wait_for("the first check, not yet true", 30, |s| {
        s.contains("▶ 1. The region is down") && s.contains("region(us-west-2).status = ")
    });
    assert!(red.contains("does not hold"), "before the outage the region is up:\n{red}");
    pty.wait_for("the check green after the outage has lasted 5 s", 60, |s| {
        s.contains("✔ holds") && s.contains("region(us-west-2).status = DOWN")
    });
    pty.send("n");
    pty.wait_for("step 2", 10, |s| s.contains("✔ 1. The region is down  passed") && s.contains("▶ 2."));
    pty.wait_for("step 2's check", 10, |s| s.contains("fleet.serving_regions = 3") && s.contains("✔ holds"));
    pty.send("n");
    pty.wait_for("step 3 (manual)", 10, |s| s.contains("▶ 3. Announce the failover"));
    pty.send("n");
    pty.wait_for("step 4 (action)", 10, |s| s.contains("▶ 4. Drain the region") && s.contains("run (confirm dialog)"));
    pty.send("n");
    let dialog = pty.wait_for("the same confirm gate as F", 10, |s| s.contains("Type us-west-2 to confirm"));
    assert!(dialog.contains("us-west-2           25% →     0%"), "{dialog}");
    pty.send("us-west-2");
    pty.wait_for("name typed", 10, |s| s.contains("> us-west-2"));
    pty.send("\t\r");
    pty.wait_for("the dialog closed", 10, |s| !s.contains("Confirm action"));
    pty
}

#[test]
fn regional_failover_runs_end_to_end_against_a_region_outage() {
    let (mut sim, url) = spawn_sim(&["--scenario", "region-outage", "--time-scale", "5"]);
    let dir = state_dir("e2e");
    let d = dir.to_string_lossy().to_string();
    let mut pty = first_three_steps(&url, &d);
    pty.wait_for("the drain done and the wait passed by itself", 40, |s| {
        s.contains("✔ 4. Drain the region  done") && s.contains("✔ 5. Traffic has left the region  passed")
    });
    pty.wait_for("the verification green after 3 s", 40, |s| {
        s.contains("▶ 6. The takeover region holds the SLA") && s.contains("✔ holds")
    });
    pty.send("n");
    pty.wait_for("the last step", 10, |s| s.contains("▶ 7. Plan the restore"));
    pty.send("n");
    let done = pty.wait_for("the run complete", 10, |s| s.contains("COMPLETED"));
    assert!(done.contains("warroom runbook export"), "{done}");
    pty.send("q");
    assert_eq!(pty.wait_exit(15), 0);
    assert_eq!(failover_executions(&url), vec![1], "the failover ran exactly once");
    let (ok, text) = warroom(&["audit", "verify"], &dir);
    assert!(ok && text.contains("OK, 2 records"), "intent + outcome, chain intact: {text}");
    let (ok, md) = warroom(&["runbook", "export", "latest", "--format", "md"], &dir);
    assert!(ok, "{md}");
    assert!(md.contains("# Runbook run: Regional failover"), "{md}");
    assert!(
        md.contains("| 1 | The region is down | check |") && md.contains("region(us-west-2).status = DOWN"),
        "{md}"
    );
    let drain = md.lines().find(|l| l.starts_with("| 4 |")).unwrap_or_default();
    assert!(drain.contains("| done | alice |") && drain.contains("fail over us-west-2 → succeeded"), "{drain}");
    assert!(md.contains("- Ended:") && md.contains("completed"), "{md}");
    assert!(md.contains("run completed"), "the timeline: {md}");
    let (ok, json) = warroom(&["runbook", "export", "latest", "--format", "json"], &dir);
    assert!(ok, "{json}");
    let doc: serde_json::Value = serde_json::from_str(&json).unwrap_or_else(|e| panic!("{e}: {json}"));
    assert_eq!(doc["format"], "warroom-run/1");
    assert_eq!(doc["status"], "completed");
    assert_eq!(doc["params"]["region"], "us-west-2");
    assert_eq!(doc["steps"][3]["result"], "done");
    assert_eq!(doc["steps"][3]["actions"][0]["status"], "succeeded", "{json}");
    assert!(doc["took_s"].as_f64().is_some_and(|t| t > 0.0), "{json}");
    let (ok, bad) = warroom(&["runbook", "export", "latest", "--format", "yaml"], &dir);
    assert!(!ok && bad.contains("md or json"), "{bad}");
    let _ = sim.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_crash_mid_run_resumes_where_it_stopped_and_the_action_runs_once() {
    let (mut sim, url) = spawn_sim(&["--scenario", "region-outage", "--time-scale", "5"]);
    let dir = state_dir("resume");
    let d = dir.to_string_lossy().to_string();
    let mut pty = first_three_steps(&url, &d);
    // Killed right after the failover was confirmed: the run file holds the
    // action's idempotency key; whether the request left is unknown.
    let _ = pty.child.kill();
    let _ = pty.wait_exit(10);
    // The wall shows the run in progress.
    let mut wall =
        Pty::spawn_env(&["--api", &url, "wall", "--views", "summary"], &[("WARROOM_STATE_DIR", &d)], 120, 30);
    wall.wait_for("the run on the wall", 20, |s| {
        s.contains("▶ RUNBOOK Regional failover · step 4/7: Drain the region")
    });
    let _ = wall.child.kill();
    let (_, list) = warroom(&["runbook", "list"], &dir);
    assert!(list.contains("regional-failover") && list.contains("in progress at step 4"), "{list}");
    // Resume: no parameters needed, the run has them.
    let mut pty = Pty::spawn_env(
        &["--api", &url, "--poll-factor", "0.25", "runbook", "run", "regional-failover"],
        &[("WARROOM_STATE_DIR", &d), ("USER", "bob")],
        140,
        44,
    );
    pty.wait_for("resumed at step 4", 30, |s| s.contains("resumed run") && s.contains("at step 4"));
    pty.wait_for("the action found by its key, the wait passed", 40, |s| {
        s.contains("✔ 4. Drain the region  done") && s.contains("✔ 5. Traffic has left the region  passed")
    });
    pty.wait_for("the verification", 40, |s| s.contains("▶ 6.") && s.contains("✔ holds"));
    pty.send("n");
    pty.wait_for("step 7", 10, |s| s.contains("▶ 7."));
    pty.send("x");
    pty.wait_for("the reason prompt", 10, |s| s.contains("reason to skip this step"));
    pty.send("restore planned in the incident doc\r");
    pty.wait_for("the run complete", 10, |s| s.contains("COMPLETED"));
    pty.send("q");
    assert_eq!(pty.wait_exit(15), 0);
    assert_eq!(failover_executions(&url), vec![1], "confirmed once, looked up after the crash, executed once");
    let (_, md) = warroom(&["runbook", "export", "latest"], &dir);
    assert!(md.contains("resumed at step 4"), "{md}");
    assert!(md.contains("looking up the action confirmed before the resume"), "{md}");
    let trail = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap_or_default();
    assert!(trail.contains("found by key after resume"), "looked up, never re-sent: {trail}");
    assert!(md.contains("skipped: restore planned in the incident doc"), "{md}");
    assert!(md.contains("Operators: alice, bob"), "{md}");
    let (ok, text) = warroom(&["audit", "verify"], &dir);
    assert!(ok, "{text}");
    // An unfinished run can also be ended without resuming it.
    let mut pty = Pty::spawn_env(
        &["--api", &url, "--poll-factor", "0.25", "runbook", "run", "open-circuit"],
        &[("WARROOM_STATE_DIR", &d), ("USER", "bob")],
        140,
        44,
    );
    pty.wait_for("the run started", 30, |s| s.contains("started run"));
    let _ = pty.child.kill();
    let _ = pty.wait_exit(10);
    let (ok, out) = warroom(&["runbook", "abort", "latest", "--reason", "wrong runbook"], &dir);
    assert!(ok && out.contains("aborted at step 1"), "{out}");
    let (_, list) = warroom(&["runbook", "list"], &dir);
    assert!(!list.contains("in progress"), "{list}");
    let (_, md) = warroom(&["runbook", "export", "latest"], &dir);
    assert!(md.contains("run aborted: wrong runbook") && md.contains("aborted"), "{md}");
    let _ = sim.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn killed_while_the_action_hangs_unsent_then_confirmed_again_runs_once() {
    // The first request to /v1/actions (the failover's POST) never reaches
    // the handler: the key is saved and audited, the action never ran.
    let (mut sim, url) = spawn_sim(&["--scenario", "region-outage", "--time-scale", "5"]);
    let code = post_json(&format!("{url}/v1/faults"), r#"{"path":"/v1/actions","kind":"hang","times":1}"#);
    assert_eq!(code, 201, "fault injected");
    let dir = state_dir("hang");
    let d = dir.to_string_lossy().to_string();
    let mut pty = first_three_steps(&url, &d);
    pty.wait_for("the action in flight", 10, |s| s.contains("in flight"));
    let trail = std::fs::read_to_string(dir.join("audit.jsonl")).unwrap_or_default();
    assert!(trail.contains("\"intent\"") && trail.contains("us-west-2"), "the intent is on disk first: {trail}");
    let posts = || get_json(&format!("{url}/v1/stats"))["requests"]["POST /v1/actions"].as_u64().unwrap_or(0);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while posts() == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    assert_eq!(posts(), 1, "sent once (and hanging)");
    assert!(failover_executions(&url).is_empty(), "never executed");
    let _ = pty.child.kill();
    let _ = pty.wait_exit(10);
    // Resume: the key is looked up, the backend never got it, the step
    // waits for a new confirmation; confirmed again, it runs once.
    let mut pty = Pty::spawn_env(
        &["--api", &url, "--poll-factor", "0.25", "runbook", "run", "regional-failover"],
        &[("WARROOM_STATE_DIR", &d), ("USER", "bob")],
        140,
        44,
    );
    pty.wait_for("not received: the step waits for n", 40, |s| s.contains("✖ not sent: not received by the backend"));
    assert!(failover_executions(&url).is_empty(), "the lookup sent nothing");
    pty.send("n");
    pty.wait_for("the confirm gate again", 10, |s| s.contains("Type us-west-2 to confirm"));
    pty.send("us-west-2");
    pty.wait_for("name typed", 10, |s| s.contains("> us-west-2"));
    pty.send("\t\r");
    pty.wait_for("the drain done", 40, |s| s.contains("✔ 4. Drain the region  done"));
    let _ = pty.child.kill();
    let _ = pty.wait_exit(10);
    assert_eq!(failover_executions(&url), vec![1], "executed exactly once");
    assert_eq!(posts(), 2, "the hung send and the new confirmation");
    let _ = sim.kill();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn lint_names_file_line_and_column() {
    let dir = state_dir("lint");
    std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("{e}"));
    let file = dir.join("broken.toml");
    let text = "title = \"Broken\"\n\n[[step]]\nkind = \"pray\"\ntitle = \"hope\"\n\n[[step]]\nkind = \"check\"\ntitle = \"p99\"\ncheck = \"latency(checkout, us-west-2).p99 < 500 parsecs\"\n\n[[step]]\nkind = \"action\"\ntitle = \"boom\"\naction = \"reboot\"\n\n[[step]]\nkind = \"check\"\ntitle = \"where\"\ncheck = \"region(us-west-9).status == DOWN\"\n";
    std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
    let f = file.to_string_lossy().to_string();
    let (ok, out) = warroom(&["runbook", "lint", &f], &dir);
    assert!(!ok, "{out}");
    assert!(out.contains(&format!("{f}:4:9: unknown step kind 'pray'")), "{out}");
    assert!(out.contains(&format!("{f}:10:49: unexpected 'p'")), "{out}");
    assert!(out.contains(&format!("{f}:15:11: unknown action 'reboot'")), "{out}");
    assert!(out.contains(&format!("{f}:20:17: region 'us-west-9' is not in the demo fleet")), "{out}");
    // Against a configuration, names come from it.
    let cfg = dir.join("warroom.toml");
    std::fs::write(&cfg, "[[region]]\nname = \"eu-central-1\"\n\n[[service]]\nname = \"checkout\"\n")
        .unwrap_or_else(|e| panic!("{e}"));
    let c = cfg.to_string_lossy().to_string();
    let (ok, out) = warroom(&["--config", &c, "runbook", "lint", "regional-failover"], &dir);
    assert!(!ok, "{out}");
    assert!(out.contains("default of takeover: region 'us-east-1' is not in"), "{out}");
    assert!(out.contains(&format!("region 'us-east-1' is not in {c} (known: eu-central-1)")), "{out}");
    for name in ["regional-failover", "canary-rollback", "flag-kill-switch", "open-circuit", "database-failover"] {
        let (ok, out) = warroom(&["runbook", "lint", name], &dir);
        assert!(ok && out.contains("OK"), "{name}: {out}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

/// Drive a shipped runbook in the demo console to the end: `n` on every
/// step that waits for the operator, the confirm dialog answered (typing
/// the name when asked).
fn run_to_the_end(scenario: &str, scale: &str, runbook: &str, type_name: Option<&str>, steps: usize) -> String {
    let words: Vec<&str> = runbook.split_whitespace().collect();
    let runbook = words[0];
    let dir = state_dir(runbook);
    let d = dir.to_string_lossy().to_string();
    let mut args = vec!["--scenario", scenario, "--time-scale", scale, "--poll-factor", "0.25", "runbook", "run"];
    args.extend(&words);
    let mut pty = Pty::spawn_env(&args, &[("WARROOM_STATE_DIR", &d), ("USER", "carol")], 140, 44);
    pty.wait_for("the runbook pane", 30, |s| s.contains("▶ 1."));
    for i in 1..=steps {
        let marker = format!("▶ {i}.");
        let screen = pty.wait_for(&format!("step {i} ready"), 90, |s| {
            !s.contains(&marker)
                || s.contains("✔ holds")
                || s.contains("mark done")
                || s.contains("run (confirm dialog)")
                || s.contains("COMPLETED")
        });
        if screen.contains("COMPLETED") {
            break;
        }
        if !screen.contains(&marker) {
            continue; // a wait step advanced by itself
        }
        let action = screen.contains("run (confirm dialog)");
        pty.send("n");
        if action {
            pty.wait_for("the confirm gate", 10, |s| s.contains("Confirm action"));
            if let Some(name) = type_name {
                pty.send(name);
                pty.wait_for("name typed", 10, |s| s.contains(&format!("> {name}")));
            }
            pty.send("\t\r");
        }
        pty.wait_for(&format!("step {i} over"), 90, |s| !s.contains(&marker) || s.contains("COMPLETED"));
    }
    pty.wait_for("the run complete", 90, |s| s.contains("COMPLETED"));
    pty.send("q");
    assert_eq!(pty.wait_exit(15), 0);
    // The demo's runs are its own (`--demo`), never beside a real fleet's.
    let (_, md) = warroom(&["runbook", "export", "latest", "--demo"], &dir);
    assert!(md.contains("run completed") && !md.contains("| failed |"), "{md}");
    let actions = find_runbook_actions(runbook);
    assert_eq!(md.matches("→ succeeded").count(), actions, "every action step ran once: {md}");
    let _ = std::fs::remove_dir_all(&dir);
    md
}

/// How many action steps a shipped runbook has.
fn find_runbook_actions(name: &str) -> usize {
    let text =
        std::fs::read_to_string(format!("{}/runbooks/{name}.toml", env!("CARGO_MANIFEST_DIR"))).unwrap_or_default();
    text.matches("kind = \"action\"").count()
}

#[test]
fn the_other_shipped_runbooks_run_to_the_end_against_their_scenarios() {
    run_to_the_end("bad-canary", "20", "canary-rollback", Some("checkout"), 5);
    run_to_the_end("bad-canary", "20", "flag-kill-switch", None, 5);
    run_to_the_end("dependency-storm", "60", "open-circuit", None, 5);
    // The database switchover through the sim's Patroni API, with the
    // recovery time measured by the run's stopwatch.
    let md = run_to_the_end(
        "calm",
        "1",
        "database-failover --set database=orders --set candidate=orders-usw2 --set settle=5s",
        Some("orders"),
        6,
    );
    assert!(md.contains("switch orders over to orders-usw2 → succeeded"), "{md}");
    assert!(md.contains("Measured recovery time (stopwatch):"), "{md}");
}
