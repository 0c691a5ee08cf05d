//! `warroom serve-ssh` with the real OpenSSH client (Debian openssh-client):
//! keys made by ssh-keygen, a known_hosts entry for the persisted host key,
//! the simulator as the backend.

mod common;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{get_json, spawn_sim, Pty, BIN};

use common::KillOnDrop as Proc;

fn need(bin: &str) {
    let ok = Command::new(bin).arg("-V").stdout(Stdio::null()).stderr(Stdio::null()).status().is_ok();
    assert!(ok, "{bin} is not installed: run scripts/test as root, or `sudo apt-get install -y openssh-client`");
}

struct Rig {
    dir: PathBuf,
    port: u16,
    sim_url: String,
    _sim: common::KillOnDrop,
    server: Proc,
}

fn keygen(dir: &Path, name: &str, comment: &str) {
    let ok = Command::new("ssh-keygen")
        .args(["-q", "-t", "ed25519", "-N", "", "-C", comment, "-f"])
        .arg(dir.join(name))
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "ssh-keygen failed");
}

fn rig(name: &str, extra: &[&str]) -> Rig {
    need("ssh");
    let dir = std::env::temp_dir().join(format!("warroom-ssh-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);
    keygen(&dir, "viewer", "wally");
    keygen(&dir, "op", "alice");
    keygen(&dir, "stranger", "eve");
    let read = |f: &str| std::fs::read_to_string(dir.join(f)).unwrap_or_default();
    let auth = format!("{}environment=\"WARROOM_ROLE=operator\" {}", read("viewer.pub"), read("op.pub"));
    let _ = std::fs::write(dir.join("authorized_keys"), auth);
    let (sim, sim_url) = spawn_sim(&[]);
    let host = dir.join("host_key");
    let mut args = vec![
        "--api".to_string(),
        sim_url.clone(),
        "--poll-factor".into(),
        "0.2".into(),
        "serve-ssh".into(),
        "--listen".into(),
        "127.0.0.1:0".into(),
        "--host-key".into(),
        host.display().to_string(),
        "--authorized-keys".into(),
        dir.join("authorized_keys").display().to_string(),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let mut server = Command::new(BIN)
        .args(&args)
        .env("WARROOM_STATE_DIR", dir.join("state"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start serve-ssh: {e}"));
    let mut line = String::new();
    if let Some(out) = server.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let port: u16 =
        line.rsplit(':').next().and_then(|p| p.trim().parse().ok()).unwrap_or_else(|| panic!("no address in {line:?}"));
    // The host key was generated once, private to its owner.
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(&host).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
    assert_eq!(mode, 0o600, "host key mode");
    let pubkey =
        Command::new("ssh-keygen").arg("-y").arg("-f").arg(&host).output().map(|o| o.stdout).unwrap_or_default();
    let _ = std::fs::write(dir.join("known_hosts"), format!("[127.0.0.1]:{port} {}", String::from_utf8_lossy(&pubkey)));
    Rig { dir, port, sim_url, _sim: sim, server: Proc(server) }
}

impl Rig {
    fn ssh_args(&self, key: &str, user: &str) -> Vec<String> {
        vec![
            "-tt".into(),
            "-i".into(),
            self.dir.join(key).display().to_string(),
            "-o".into(),
            "IdentitiesOnly=yes".into(),
            "-o".into(),
            format!("UserKnownHostsFile={}", self.dir.join("known_hosts").display()),
            "-o".into(),
            "StrictHostKeyChecking=yes".into(),
            "-o".into(),
            "BatchMode=yes".into(),
            "-p".into(),
            self.port.to_string(),
            format!("{user}@127.0.0.1"),
        ]
    }

    fn pty(&self, key: &str, user: &str) -> Pty {
        let args = self.ssh_args(key, user);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        Pty::spawn_program("ssh", &refs, &[], 100, 30)
    }

    /// An ssh client with its output counted (no local terminal needed with -tt).
    fn counted(&self, key: &str, user: &str) -> (Proc, Arc<AtomicUsize>) {
        let mut child = Command::new("ssh")
            .args(self.ssh_args(key, user))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start ssh: {e}"));
        let n = common::count_stdout(&mut child);
        (Proc(child), n)
    }

    fn audit(&self) -> String {
        std::fs::read_to_string(self.dir.join("state").join("audit.jsonl")).unwrap_or_default()
    }

    fn requests(&self) -> u64 {
        let s = get_json(&format!("{}/v1/stats", self.sim_url));
        s["requests"].as_object().map(|m| m.values().filter_map(|v| v.as_u64()).sum()).unwrap_or(0)
    }
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < deadline, "timed out after {secs}s waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn a_real_ssh_client_sees_the_wall_and_leaves_cleanly() {
    let r = rig("wall", &[]);
    let mut pty = r.pty("viewer", "wall");
    pty.wait_for("the wall", 30, |s| s.contains("WALL read-only") && s.contains("us-east-1"));
    // F then q: keys are read in order, and an open dialog would swallow
    // the q, so a clean exit proves F opened nothing (no fixed sleep).
    pty.send("Fq");
    assert_eq!(pty.wait_exit(15), 0);
    let raw = pty.raw.lock().map(|r| String::from_utf8_lossy(&r).to_string()).unwrap_or_default();
    assert!(!raw.contains("Confirm action"), "the wall binds no action");
    wait_until("logout audited", 10, || r.audit().contains("\"event\":\"logout\""));
    let audit = r.audit();
    assert!(audit.contains("\"event\":\"login\"") && audit.contains("\"role\":\"viewer\""), "{audit}");
}

#[test]
fn unknown_keys_and_passwords_are_refused() {
    let r = rig("refuse", &[]);
    let out = Command::new("ssh").args(r.ssh_args("stranger", "wall")).stdin(Stdio::null()).output();
    let Ok(out) = out else { panic!("ssh did not run") };
    assert_eq!(out.status.code(), Some(255));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Permission denied"));
    let mut args = r.ssh_args("viewer", "wall");
    args.splice(
        0..0,
        ["-o".to_string(), "PreferredAuthentications=password".into(), "-o".into(), "PubkeyAuthentication=no".into()],
    );
    let out = Command::new("ssh").args(&args).stdin(Stdio::null()).output();
    let Ok(out) = out else { panic!("ssh did not run") };
    assert_eq!(out.status.code(), Some(255));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("Permission denied (publickey)"),
        "only public keys are offered"
    );
    wait_until("refusal audited", 10, || r.audit().contains("not in authorized_keys"));
}

#[test]
fn a_flood_of_refused_keys_costs_the_trail_a_few_records() {
    let r = rig("flood", &[]);
    let attempts = 20;
    for _ in 0..attempts {
        let out = Command::new("ssh").args(r.ssh_args("stranger", "wall")).stdin(Stdio::null()).output();
        assert!(out.is_ok_and(|o| o.status.code() == Some(255)), "refused");
    }
    wait_until("the notice", 10, || r.audit().contains("further ones are counted"));
    let refused = r.audit().lines().filter(|l| l.contains("\"event\":\"refused\"")).count();
    // Five a minute one by one, one notice (a minute boundary during the
    // test can at most double that, plus the carried count).
    let cap = 2 * (warroom::ssh::REFUSALS_RECORDED_PER_MINUTE as usize + 1) + 1;
    assert!(refused <= cap && refused < attempts, "{refused} records for {attempts} refusals");
}

#[test]
fn no_color_sent_by_the_ssh_client_gives_a_monochrome_session() {
    let r = rig("nocolor", &[]);
    // The same session with and without NO_COLOR (sent with SendEnv).
    let session = |no_color: bool| {
        let mut args = r.ssh_args("viewer", "console");
        args.splice(0..0, ["-o".to_string(), "SendEnv=NO_COLOR".to_string()]);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let env: &[(&str, &str)] = if no_color { &[("NO_COLOR", "1")] } else { &[] };
        let mut pty = Pty::spawn_program("ssh", &refs, env, 100, 30);
        pty.wait_for("the console", 30, |s| s.contains("actions disabled") && s.contains("use1"));
        let raw = pty.raw.lock().map(|r| String::from_utf8_lossy(&r).to_string()).unwrap_or_default();
        pty.send("q");
        assert_eq!(pty.wait_exit(15), 0);
        common::colour_escapes(&raw)
    };
    assert!(!session(false).is_empty(), "without NO_COLOR the session has colour");
    let mono = session(true);
    assert!(mono.is_empty(), "NO_COLOR over SSH: no colour escapes, found {mono:?}");
}

#[test]
fn a_command_or_a_subsystem_is_refused_at_once_not_left_hanging() {
    let r = rig("exec", &[]);
    for extra in [vec!["uptime"], vec!["-s", "sftp"]] {
        let mut args: Vec<String> = r.ssh_args("viewer", "console").into_iter().filter(|a| a != "-tt").collect();
        let dest = args.pop().unwrap_or_default();
        let subsystem = extra[0] == "-s";
        if subsystem {
            args.push("-s".into());
        }
        args.push(dest);
        args.push(extra[extra.len() - 1].to_string());
        let child =
            Command::new("ssh").args(&args).stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).spawn();
        let Ok(mut child) = child else { panic!("cannot run ssh") };
        let deadline = std::time::Instant::now() + Duration::from_secs(15);
        let status = loop {
            if let Ok(Some(s)) = child.try_wait() {
                break s;
            }
            if std::time::Instant::now() > deadline {
                let _ = child.kill();
                panic!("ssh {extra:?} still waiting after 15 s: the request got no answer");
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        let mut err = String::new();
        if let Some(mut e) = child.stderr.take() {
            use std::io::Read;
            let _ = e.read_to_string(&mut err);
        }
        assert!(!status.success(), "{extra:?}: {err}");
        let said = if subsystem { "no subsystems here" } else { "commands are not run over SSH" };
        assert!(err.contains(said) || err.contains("request failed"), "{extra:?}: {err}");
    }
}

#[test]
fn a_viewer_key_cannot_act_from_the_console() {
    let r = rig("viewer", &[]);
    let mut pty = r.pty("viewer", "console");
    pty.wait_for("the console", 30, |s| s.contains("actions disabled") && s.contains("use1"));
    pty.send("F");
    pty.wait_for("the denial", 15, |s| s.contains("DENIED"));
    let stats = get_json(&format!("{}/v1/stats", r.sim_url));
    assert!(stats["requests"].get("/v1/actions").is_none(), "nothing reached the control plane: {stats}");
    pty.send("q");
    assert_eq!(pty.wait_exit(15), 0);
    wait_until("denial audited", 10, || r.audit().contains("\"event\":\"denied\""));
}

#[test]
fn an_operator_key_can_act_from_the_console_and_is_audited() {
    let r = rig("operator", &[]);
    let mut pty = r.pty("op", "console");
    pty.wait_for("the console", 30, |s| s.contains("F failover") && s.contains("use1"));
    pty.send("F");
    pty.wait_for("the confirm gate", 15, |s| s.contains("Type us-east-1 to confirm"));
    pty.send("us-east-1\r");
    pty.wait_for("the failover done", 40, |s| s.contains("use1 0%") && s.contains("DONE"));
    let ex = get_json(&format!("{}/v1/executions", r.sim_url));
    let counts: Vec<u64> =
        ex["executions"].as_object().map(|m| m.values().filter_map(|v| v.as_u64()).collect()).unwrap_or_default();
    assert_eq!(counts, vec![1], "{ex}");
    pty.send("q");
    assert_eq!(pty.wait_exit(15), 0);
    let audit = r.audit();
    assert!(
        audit.contains("\"event\":\"intent\"") && audit.contains("\"role\":\"operator\"") && audit.contains("alice"),
        "the operator's intent, under the key's name: {audit}"
    );
    // With the key's fingerprint and the connection's session id (#14.13).
    assert!(audit.contains("alice [ssh SHA256:") && audit.contains(" session "), "{audit}");
}

#[test]
fn fifty_sessions_cost_the_backend_nothing_more() {
    let r = rig("fifty", &[]);
    // Baseline: the data plane alone.
    std::thread::sleep(Duration::from_secs(2));
    let rss0 = common::rss_kb(r.server.0.id());
    let a = r.requests();
    std::thread::sleep(Duration::from_secs(5));
    let baseline = r.requests() - a;
    let clients: Vec<(Proc, Arc<AtomicUsize>)> = (0..50).map(|_| r.counted("viewer", "wall")).collect();
    wait_until("50 walls drawn", 60, || clients.iter().all(|(_, n)| n.load(Ordering::SeqCst) > 2000));
    let rss50 = common::rss_kb(r.server.0.id());
    let before: Vec<usize> = clients.iter().map(|(_, n)| n.load(Ordering::SeqCst)).collect();
    let b = r.requests();
    std::thread::sleep(Duration::from_secs(5));
    let with_viewers = r.requests() - b;
    let bytes: usize = clients.iter().zip(&before).map(|((_, n), b)| n.load(Ordering::SeqCst) - b).sum();
    println!(
        "ssh: backend requests per 5 s: {baseline} alone, {with_viewers} with 50 sessions; \
         {:.0} B/s per wall viewer; RSS {rss0} kB → {rss50} kB ({:.0} kB per session)",
        bytes as f64 / 50.0 / 5.0,
        (rss50 as f64 - rss0 as f64) / 50.0
    );
    assert!(
        with_viewers as f64 <= baseline as f64 * 1.3 + 10.0,
        "backend load grew with viewers: {baseline} → {with_viewers}"
    );
}

#[test]
fn the_session_limit_holds_and_a_disconnect_frees_a_slot() {
    let r = rig("limit", &["--max-sessions", "2", "--max-per-key", "2"]);
    let (first, n1) = r.counted("viewer", "wall");
    let (_second, n2) = r.counted("viewer", "wall");
    wait_until("two sessions", 30, || n1.load(Ordering::SeqCst) > 1000 && n2.load(Ordering::SeqCst) > 1000);
    let out = Command::new("ssh").args(r.ssh_args("viewer", "wall")).stdin(Stdio::null()).output();
    let text = out.map(|o| String::from_utf8_lossy(&o.stdout).to_string()).unwrap_or_default();
    assert!(text.contains("too many sessions (limit 2)"), "{text}");
    drop(first);
    let mut pty = r.pty("viewer", "wall");
    pty.wait_for("a freed slot", 30, |s| s.contains("WALL read-only"));
    pty.send("q");
    assert_eq!(pty.wait_exit(15), 0);
}

#[test]
fn authorized_keys_options_are_enforced_and_sighup_reloads_them() {
    let r = rig("options", &["--max-per-key", "1"]);
    let read = |f: &str| std::fs::read_to_string(r.dir.join(f)).unwrap_or_default();
    let hup = |n: usize| {
        let pid = r.server.0.id().to_string();
        assert!(Command::new("kill").args(["-HUP", &pid]).status().is_ok_and(|s| s.success()));
        wait_until("the reload", 10, || r.audit().matches("authorized_keys reloaded").count() >= n);
    };
    let refused = |key: &str| {
        let out = Command::new("ssh").args(r.ssh_args(key, "wall")).stdin(Stdio::null()).output();
        let Ok(out) = out else { panic!("ssh did not run") };
        (out.status.code(), format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)))
    };
    let keys = format!(
        "from=\"10.9.9.9\" {}expiry-time=\"20200101\",environment=\"WARROOM_ROLE=operator\" {}restrict {}",
        read("viewer.pub"),
        read("op.pub"),
        read("stranger.pub")
    );
    assert!(std::fs::write(r.dir.join("authorized_keys"), keys).is_ok());
    hup(1);
    // from= names another address: refused, and the trail says why.
    let (code, text) = refused("viewer");
    assert_eq!(code, Some(255), "{text}");
    wait_until("from= refusal", 10, || r.audit().contains("127.0.0.1 is not allowed by from="));
    // expiry-time in the past: refused.
    let (code, text) = refused("op");
    assert_eq!(code, Some(255), "{text}");
    wait_until("expiry refusal", 10, || r.audit().contains("key expired at 2020-01-01"));
    // restrict (no pty): logs in, but no terminal and so no console.
    let (_, text) = refused("stranger");
    assert!(text.contains("may not open a terminal"), "{text}");
    // One session per key here: the second is refused, the first goes on.
    assert!(std::fs::write(r.dir.join("authorized_keys"), read("viewer.pub")).is_ok());
    hup(2);
    let (_first, n1) = r.counted("viewer", "wall");
    wait_until("the first session", 30, || n1.load(Ordering::SeqCst) > 1000);
    let (_, text) = refused("viewer");
    assert!(text.contains("too many sessions for this key (limit 1)"), "{text}");
    wait_until("per-key refusal audited", 10, || r.audit().contains("sessions per key"));
    // Stopped by a signal with that session open: the trail says so.
    let pid = r.server.0.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().is_ok_and(|s| s.success()));
    wait_until("the stop audited", 10, || r.audit().contains("serve-ssh stopped (signal) with 1 session(s) open"));
}

#[test]
fn eof_keeps_a_wall_idle_closes_a_console_and_a_paste_is_not_keys() {
    let r = rig("idle", &["--idle-timeout", "4s"]);
    // A wall started with no input at all (EOF at once) goes on drawing,
    // past the idle timeout: walls are watched, not typed at.
    let child = Command::new("ssh")
        .args(r.ssh_args("viewer", "wall"))
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn();
    let Ok(mut child) = child else { panic!("cannot start ssh") };
    let n = common::count_stdout(&mut child);
    let _wall = Proc(child);
    wait_until("the wall drawn", 30, || n.load(Ordering::SeqCst) > 1000);
    // A viewer's console: 3,000 F pasted is one paste, not 3,000 denied actions.
    let mut pty = r.pty("viewer", "console");
    pty.wait_for("the console", 30, |s| s.contains("Region health"));
    let raw = pty.raw.lock().map(|r| String::from_utf8_lossy(&r).to_string()).unwrap_or_default();
    assert!(raw.contains("\u{1b}[?2004h"), "bracketed paste is asked for");
    pty.send(&format!("\u{1b}[200~{}\u{1b}[201~", "F".repeat(3000)));
    // Then nothing: the console closes itself after 4 s without input.
    assert_eq!(pty.wait_exit(30), 0);
    let raw = pty.raw.lock().map(|r| String::from_utf8_lossy(&r).to_string()).unwrap_or_default();
    assert!(raw.contains("console closed after 0m04s without input"), "the reason is said");
    assert!(raw.contains("\u{1b}[?2004l"), "bracketed paste is turned off again");
    assert!(!r.audit().contains("\"event\":\"denied\""), "no action key was read from the paste");
    let before = n.load(Ordering::SeqCst);
    wait_until("the wall still drawing after the idle timeout", 10, || n.load(Ordering::SeqCst) > before + 100);
}

#[test]
fn kill_9_while_twenty_sessions_write_the_trail_leaves_it_verifiable() {
    let mut r = rig("crash", &["--max-per-key", "40"]);
    // Twenty clients log in (each a login record, fsynced) while the server
    // is killed without warning.
    let mut clients = Vec::new();
    let mut counters = Vec::new();
    for _ in 0..20 {
        let (c, n) = r.counted("viewer", "wall");
        clients.push(c);
        counters.push(n);
    }
    wait_until("some logins recorded", 30, || r.audit().matches("\"event\":\"login\"").count() >= 5);
    let pid = r.server.0.id().to_string();
    assert!(Command::new("kill").args(["-9", &pid]).status().is_ok_and(|s| s.success()));
    let _ = r.server.0.wait();
    drop(clients);
    let verify = || {
        let out = Command::new(BIN).args(["audit", "verify"]).env("WARROOM_STATE_DIR", r.dir.join("state")).output();
        let Ok(out) = out else { panic!("cannot run warroom audit verify") };
        (
            out.status.success(),
            format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr)),
        )
    };
    // The trail verifies as it was left, or is repaired to its last durable
    // record by the next writer, and says so; never a broken chain.
    let (ok, text) = verify();
    let logins = r.audit().matches("\"event\":\"login\"").count();
    if !ok {
        assert!(text.contains("partial") || text.contains("incomplete"), "only a cut-off last line may fail: {text}");
    }
    // The next start opens it (repairing a cut-off tail) and appends.
    let host = r.dir.join("host_key");
    let mut again = Command::new(BIN)
        .args(["--api", &r.sim_url, "serve-ssh", "--listen", "127.0.0.1:0", "--host-key"])
        .arg(&host)
        .arg("--authorized-keys")
        .arg(r.dir.join("authorized_keys"))
        .env("WARROOM_STATE_DIR", r.dir.join("state"))
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot restart serve-ssh: {e}"));
    let mut line = String::new();
    if let Some(out) = again.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    assert!(line.contains("listening on"), "serve-ssh starts again on the same trail: {line:?}");
    let _again = Proc(again);
    let (ok, text) = verify();
    assert!(ok, "after the restart the trail verifies: {text}");
    let after = r.audit().matches("\"event\":\"login\"").count();
    assert!(logins >= 5 && after >= logins - 1, "at most a cut-off last record is lost: {logins} then {after}");
}
