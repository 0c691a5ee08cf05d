//! End to end: the real binary in a pseudo-terminal, read through a vt100
//! parser. Waits are for visible effects, never fixed sleeps before asserts.

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};

const BIN: &str = env!("CARGO_BIN_EXE_warroom");

struct Pty {
    parser: Arc<Mutex<vt100::Parser>>,
    raw: Arc<Mutex<Vec<u8>>>,
    /// Makes the reader thread drop its handle on the pty after its next read.
    stop: Arc<std::sync::atomic::AtomicBool>,
    child: Box<dyn Child + Send + Sync>,
    writer: Box<dyn Write + Send>,
    _master: Box<dyn MasterPty + Send>,
}

impl Pty {
    fn spawn(args: &[&str], cols: u16, rows: u16) -> Pty {
        let pair = native_pty_system()
            .openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 })
            .unwrap_or_else(|e| panic!("cannot open a pty: {e}"));
        let mut cmd = CommandBuilder::new(BIN);
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        let child = pair.slave.spawn_command(cmd).unwrap_or_else(|e| panic!("cannot start warroom: {e}"));
        drop(pair.slave);
        let mut reader = pair.master.try_clone_reader().unwrap_or_else(|e| panic!("pty reader: {e}"));
        let writer = pair.master.take_writer().unwrap_or_else(|e| panic!("pty writer: {e}"));
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let raw = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (p, r, st) = (parser.clone(), raw.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut buf = [0u8; 8192];
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 || st.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                if let Ok(mut p) = p.lock() {
                    p.process(&buf[..n]);
                }
                if let Ok(mut r) = r.lock() {
                    r.extend_from_slice(&buf[..n]);
                }
            }
        });
        Pty { parser, raw, stop, child, writer, _master: pair.master }
    }

    fn screen(&self) -> String {
        self.parser.lock().map(|p| p.screen().contents()).unwrap_or_default()
    }

    fn wait_for(&self, what: &str, secs: u64, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.screen();
            if pred(&s) {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out after {secs}s waiting for {what}; screen:\n{s}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn send(&mut self, keys: &str) {
        let ok = self.writer.write_all(keys.as_bytes()).and_then(|_| self.writer.flush());
        assert!(ok.is_ok(), "cannot write to the pty");
    }

    fn wait_exit(&mut self, secs: u64) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.exit_code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!("warroom did not exit within {secs}s; screen:\n{}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn assert_restored(&self) {
        // Give the reader thread a moment to drain the last bytes.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let alt = self.parser.lock().map(|p| p.screen().alternate_screen()).unwrap_or(true);
            let raw = self.raw.lock().map(|r| r.clone()).unwrap_or_default();
            let left_alt = raw.windows(8).any(|w| w == b"\x1b[?1049l");
            let shown = raw.windows(6).any(|w| w == b"\x1b[?25h");
            if !alt && left_alt && shown {
                return;
            }
            if Instant::now() > deadline {
                panic!("terminal not restored: alternate={alt} left_alt={left_alt} cursor_shown={shown}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// The row of `service` in the latency pane (left column only).
fn latency_row(screen: &str, service: &str) -> Option<String> {
    let lines: Vec<&str> = screen.lines().collect();
    let start = lines.iter().position(|l| l.contains("Latency ms"))?;
    lines[start..].iter().find(|l| l.starts_with(&format!("│{service} "))).map(|l| l.chars().take(60).collect())
}

#[test]
fn demo_console_updates_and_quits_cleanly() {
    let mut pty = Pty::spawn(&["--time-scale", "30", "--poll-factor", "0.25"], 120, 40);
    let first = pty.wait_for("the overview with live latency", 30, |s| {
        s.contains("DEMO") && latency_row(s, "auth").is_some_and(|r| r.contains("usw2") || r.contains("use1"))
    });
    for pane in ["Region health", "Latency ms", "Error budgets", "Canaries", "Circuits", "Flags"] {
        assert!(first.contains(pane), "pane {pane} missing:\n{first}");
    }
    let before = latency_row(&first, "auth").unwrap_or_default();
    pty.wait_for("latency values to change", 30, |s| latency_row(s, "auth").is_some_and(|r| r != before));
    // Drill into a region and back.
    pty.send("l\r");
    pty.wait_for("region screen", 10, |s| s.contains("Services in us-west-2"));
    pty.send("\x1b");
    pty.wait_for("overview again", 10, |s| s.contains("Region health"));
    pty.send("?");
    pty.wait_for("help", 10, |s| s.contains("drill into region"));
    pty.send("x");
    pty.wait_for("help closed", 10, |s| !s.contains("drill into region"));
    pty.send("q");
    assert_eq!(pty.wait_exit(15), 0);
    pty.assert_restored();
}

#[test]
fn killed_backend_goes_stale_and_the_ui_keeps_responding() {
    let mut sim = Command::new(BIN)
        .args(["sim", "--listen", "127.0.0.1:0", "--scenario", "calm"])
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start warroom sim: {e}"));
    let mut line = String::new();
    if let Some(out) = sim.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let url = line.split_whitespace().find(|w| w.starts_with("http://")).map(str::to_string);
    let Some(url) = url else {
        let _ = sim.kill();
        panic!("warroom sim did not print its URL: {line:?}");
    };
    let mut pty = Pty::spawn(&["--api", &url, "--poll-factor", "0.2"], 120, 40);
    let live = pty.wait_for("live data", 30, |s| latency_row(s, "auth").is_some());
    assert!(!live.contains("DEMO"), "--api is not a demo:\n{live}");
    assert!(!live.contains("STALE"));
    let _ = sim.kill();
    let _ = sim.wait();
    let stale = pty.wait_for("STALE and ERROR marks", 30, |s| s.contains("STALE") && s.contains("ERROR"));
    assert!(stale.contains("Latency ms"), "panes stay on screen:\n{stale}");
    pty.send("?");
    pty.wait_for("help while the backend is dead", 10, |s| s.contains("drill into region"));
    pty.send("q");
    assert_eq!(pty.wait_exit(15), 0);
    pty.assert_restored();
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("sh").args(["-c", &format!("kill -{sig} {pid}")]).status().is_ok_and(|s| s.success());
    assert!(ok, "could not send SIG{sig} to {pid}");
}

#[test]
fn sigterm_and_sighup_exit_cleanly() {
    for sig in ["TERM", "HUP"] {
        let mut pty = Pty::spawn(&["--poll-factor", "0.5"], 100, 30);
        pty.wait_for("the overview", 30, |s| s.contains("Region health") && s.contains("api-gateway"));
        let Some(pid) = pty.child.process_id() else { panic!("no pid") };
        signal(pid, sig);
        assert_eq!(pty.wait_exit(15), 0, "SIG{sig}");
        pty.assert_restored();
    }
}

#[test]
fn losing_the_terminal_ends_the_process() {
    let Pty { parser, child, writer, _master, stop, .. } = Pty::spawn(&["--poll-factor", "0.5"], 100, 30);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !parser.lock().map(|p| p.screen().contents().contains("Region health")).unwrap_or(false) {
        assert!(Instant::now() < deadline, "overview never appeared");
        std::thread::sleep(Duration::from_millis(50));
    }
    let mut child = child;
    // Close every handle on the pty's master side: the terminal is gone.
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    drop(writer);
    drop(_master);
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        if let Ok(Some(_)) = child.try_wait() {
            break;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("warroom kept running after its terminal went away");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
