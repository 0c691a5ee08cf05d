//! A pseudo-terminal harness: the real binary, read through a vt100 parser.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use portable_pty::{native_pty_system, Child, CommandBuilder, MasterPty, PtySize};

pub const BIN: &str = env!("CARGO_BIN_EXE_warroom");

/// A new empty directory for one spawned process's home.
pub fn temp_home() -> std::path::PathBuf {
    static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let n = N.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let dir = std::env::temp_dir().join(format!("warroom-home-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    if let Err(e) = std::fs::create_dir_all(&dir) {
        panic!("cannot create {}: {e}", dir.display());
    }
    dir
}

pub struct Pty {
    pub parser: Arc<Mutex<vt100::Parser>>,
    pub raw: Arc<Mutex<Vec<u8>>>,
    /// Makes the reader thread drop its handle on the pty after its next read.
    pub stop: Arc<std::sync::atomic::AtomicBool>,
    pub child: Box<dyn Child + Send + Sync>,
    pub writer: Box<dyn Write + Send>,
    pub _master: Box<dyn MasterPty + Send>,
}

impl Pty {
    pub fn spawn(args: &[&str], cols: u16, rows: u16) -> Pty {
        Pty::spawn_env(args, &[], cols, rows)
    }

    pub fn spawn_env(args: &[&str], env: &[(&str, &str)], cols: u16, rows: u16) -> Pty {
        Pty::spawn_program(BIN, args, env, cols, rows)
    }

    /// Any program in a pseudo-terminal.
    pub fn spawn_program(program: &str, args: &[&str], env: &[(&str, &str)], cols: u16, rows: u16) -> Pty {
        let pair = native_pty_system()
            .openpty(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 })
            .unwrap_or_else(|e| panic!("cannot open a pty: {e}"));
        let mut cmd = CommandBuilder::new(program);
        cmd.args(args);
        cmd.env("TERM", "xterm-256color");
        cmd.env_remove("NO_COLOR");
        cmd.env_remove("WARROOM_CONFIG");
        // A fresh home per spawn: never the developer's config, audit trail
        // or runbook runs (a test's own env below may point elsewhere).
        let home = temp_home();
        for var in ["XDG_CONFIG_HOME", "XDG_STATE_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"] {
            cmd.env(var, home.join(var.to_lowercase()));
        }
        cmd.env("HOME", &home);
        cmd.env("WARROOM_STATE_DIR", home.join("state"));
        cmd.env("USER", "tester");
        for (k, v) in env {
            cmd.env(k, v);
        }
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

    /// Resize the terminal (the program gets SIGWINCH), and the screen we read.
    pub fn resize(&mut self, cols: u16, rows: u16) {
        let _ = self._master.resize(PtySize { rows, cols, pixel_width: 0, pixel_height: 0 });
        if let Ok(mut p) = self.parser.lock() {
            p.screen_mut().set_size(rows, cols);
        }
    }

    /// The program's resident memory in KiB (0 if unknown).
    pub fn rss_kb(&self) -> u64 {
        self.child.process_id().map(rss_kb).unwrap_or(0)
    }

    pub fn screen(&self) -> String {
        self.parser.lock().map(|p| p.screen().contents()).unwrap_or_default()
    }

    pub fn wait_for(&self, what: &str, secs: u64, pred: impl Fn(&str) -> bool) -> String {
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

    /// `wait_for`, on a settled screen: the predicate holds on two reads
    /// 150 ms apart that show the same screen (never a half-drawn frame).
    pub fn wait_for_settled(&self, what: &str, secs: u64, pred: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            let s = self.wait_for(what, secs, &pred);
            std::thread::sleep(Duration::from_millis(150));
            if self.screen() == s {
                return s;
            }
            if Instant::now() > deadline {
                panic!("timed out after {secs}s waiting for a settled screen with {what}; screen:\n{s}");
            }
        }
    }

    /// Press Tab until the pane titled `title` has focus (`▸ title`): one
    /// Tab at a time, each waited for (the marker moves), so none is pending
    /// when it returns.
    pub fn focus(&mut self, title: &str) {
        let marked = format!("▸ {title}");
        let focused = |s: &str| s.find("▸ ").map(|i| s[i..].chars().take(24).collect::<String>());
        for _ in 0..12 {
            let before = self.screen();
            if before.contains(&marked) {
                return;
            }
            let was = focused(&before);
            self.send("\t");
            let deadline = Instant::now() + Duration::from_secs(5);
            while focused(&self.screen()) == was && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        panic!("could not focus {title}:\n{}", self.screen());
    }

    pub fn send(&mut self, keys: &str) {
        let ok = self.writer.write_all(keys.as_bytes()).and_then(|_| self.writer.flush());
        assert!(ok.is_ok(), "cannot write to the pty");
    }

    pub fn wait_exit(&mut self, secs: u64) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status.exit_code();
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                // The last bytes it wrote, escaped: what it said after the
                // screen was restored (a blank screen tells nothing).
                let tail = self.raw.lock().map(|r| r[r.len().saturating_sub(600)..].to_vec()).unwrap_or_default();
                let tail: String = String::from_utf8_lossy(&tail).escape_debug().collect();
                panic!("warroom did not exit within {secs}s; screen:\n{}\nlast bytes: {tail}", self.screen());
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn assert_restored(&self) {
        // Give the reader thread a moment to drain the last bytes.
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let alt = self.parser.lock().map(|p| p.screen().alternate_screen()).unwrap_or(true);
            let raw = self.raw.lock().map(|r| r.clone()).unwrap_or_default();
            let left_alt = raw.windows(8).any(|w| w == b"\x1b[?1049l");
            let shown = raw.windows(6).any(|w| w == b"\x1b[?25h");
            // Mouse capture, if it was turned on, is turned off again.
            let last = |pat: &[u8]| raw.windows(pat.len()).rposition(|w| w == pat);
            let mouse_released = match last(b"\x1b[?1000h") {
                None => true,
                Some(on) => last(b"\x1b[?1000l").is_some_and(|off| off > on),
            };
            if !alt && left_alt && shown && mouse_released {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "terminal not restored: alternate={alt} left_alt={left_alt} cursor_shown={shown} mouse_released={mouse_released}"
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// A child process that is killed when dropped, so a failing test never
/// leaves a simulator behind (holding the test's output open).
pub struct KillOnDrop(pub std::process::Child);

impl KillOnDrop {
    pub fn kill(&mut self) -> std::io::Result<()> {
        self.0.kill()
    }

    pub fn wait(&mut self) -> std::io::Result<std::process::ExitStatus> {
        self.0.wait()
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Start `warroom sim` as its own process on an ephemeral loopback port;
/// returns the child (killed on drop) and its base URL.
pub fn spawn_sim(args: &[&str]) -> (KillOnDrop, String) {
    let mut all = vec!["sim", "--listen", "127.0.0.1:0"];
    all.extend_from_slice(args);
    let mut sim = Command::new(BIN)
        .args(&all)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start warroom sim: {e}"));
    let mut line = String::new();
    if let Some(out) = sim.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    match line.split_whitespace().find(|w| w.starts_with("http://")) {
        Some(url) => (KillOnDrop(sim), url.to_string()),
        None => {
            let _ = sim.kill();
            panic!("warroom sim did not print its URL: {line:?}");
        }
    }
}

/// GET a JSON document (from a sync test).
pub fn get_json(url: &str) -> serde_json::Value {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let Ok(rt) = rt else { panic!("no runtime") };
    rt.block_on(async {
        match reqwest::get(url).await {
            Ok(r) => r.json().await.unwrap_or(serde_json::Value::Null),
            Err(e) => panic!("GET {url}: {e}"),
        }
    })
}

/// POST a JSON document (from a sync test); the status code.
pub fn post_json(url: &str, body: &str) -> u16 {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build();
    let Ok(rt) = rt else { panic!("no runtime") };
    rt.block_on(async {
        let r = reqwest::Client::new()
            .post(url)
            .header("content-type", "application/json")
            .body(body.to_string())
            .send()
            .await;
        match r {
            Ok(r) => r.status().as_u16(),
            Err(e) => panic!("POST {url}: {e}"),
        }
    })
}

/// The SGR colour escapes in terminal output: 30–37/90–97 (foreground),
/// 40–47/100–107 (background), 38;/48; (256 and true colour).
pub fn colour_escapes(raw: &str) -> Vec<String> {
    let mut colours = Vec::new();
    for seq in raw.split("\u{1b}[").skip(1) {
        let Some(end) = seq.find(|c: char| c.is_ascii_alphabetic()) else { continue };
        if &seq[end..=end] != "m" {
            continue;
        }
        for p in seq[..end].split(';') {
            if let Ok(n) = p.parse::<u32>() {
                if (30..=49).contains(&n) && n != 39 && n != 49 || (90..=107).contains(&n) {
                    colours.push(seq[..end].to_string());
                }
            }
        }
    }
    colours
}

/// The TCP ports process `pid` listens on, from /proc (IPv4 and IPv6).
pub fn listening_ports(pid: u32) -> Vec<u16> {
    let mut inodes = std::collections::HashSet::new();
    if let Ok(rd) = std::fs::read_dir(format!("/proc/{pid}/fd")) {
        for e in rd.flatten() {
            if let Ok(t) = std::fs::read_link(e.path()) {
                let t = t.to_string_lossy().to_string();
                if let Some(n) = t.strip_prefix("socket:[").and_then(|x| x.strip_suffix(']')) {
                    inodes.insert(n.to_string());
                }
            }
        }
    }
    let mut ports = Vec::new();
    for table in ["/proc/net/tcp", "/proc/net/tcp6"] {
        for line in std::fs::read_to_string(table).unwrap_or_default().lines().skip(1) {
            let cols: Vec<&str> = line.split_whitespace().collect();
            // local_address, rem_address, st (0A = LISTEN), …, inode (column 9).
            if cols.len() > 9 && cols[3] == "0A" && inodes.contains(cols[9]) {
                if let Some(p) = cols[1].rsplit(':').next().and_then(|h| u16::from_str_radix(h, 16).ok()) {
                    ports.push(p);
                }
            }
        }
    }
    ports.sort_unstable();
    ports.dedup();
    ports
}

/// Start a server told to listen on port 0 and wait until it does: the
/// port it got, read from /proc (never a port bound, closed and reused,
/// which another test's server could answer on). Its stderr goes to `log`;
/// a server that exits or never listens fails the test with its log's end.
pub fn start_on_port_zero(cmd: &mut Command, log: &std::path::Path, what: &str) -> (KillOnDrop, u16) {
    let err = std::fs::File::create(log).unwrap_or_else(|e| panic!("cannot create {}: {e}", log.display()));
    let child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(err)
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
    let mut server = KillOnDrop(child);
    let pid = server.0.id();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(port) = listening_ports(pid).first() {
            return (server, *port);
        }
        let tail = || {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            text.lines().rev().take(15).collect::<Vec<_>>().into_iter().rev().collect::<Vec<_>>().join("\n")
        };
        if let Ok(Some(status)) = server.0.try_wait() {
            panic!("{what} exited ({status}) before listening; {}:\n{}", log.display(), tail());
        }
        if Instant::now() > deadline {
            panic!("{what} did not listen within 30 s; {}:\n{}", log.display(), tail());
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A process's resident memory in KiB (0 if unknown).
#[allow(dead_code)]
pub fn rss_kb(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Count what a child writes on stdout, on a thread, until it closes.
#[allow(dead_code)]
pub fn count_stdout(child: &mut std::process::Child) -> Arc<std::sync::atomic::AtomicUsize> {
    let n = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    if let Some(mut out) = child.stdout.take() {
        let n = n.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 16384];
            while let Ok(k) = out.read(&mut buf) {
                if k == 0 {
                    break;
                }
                n.fetch_add(k, std::sync::atomic::Ordering::SeqCst);
            }
        });
    }
    n
}

/// Kill `pids` when this process exits, however it exits.
pub fn watchdog(pids: &[u32]) {
    let me = std::process::id();
    let list: Vec<String> = pids.iter().map(|p| p.to_string()).collect();
    let script = format!("while kill -0 {me} 2>/dev/null; do sleep 1; done; kill {} 2>/dev/null", list.join(" "));
    let spawned = Command::new("sh").args(["-c", &script]).stdin(Stdio::null()).stdout(Stdio::null()).spawn();
    if let Err(e) = spawned {
        panic!("cannot start the watchdog: {e}");
    }
}

/// Wait for the final action-log entry of `key` (anything but in flight).
pub async fn action_outcome(
    rx: &mut tokio::sync::mpsc::Receiver<warroom::sources::Update>,
    key: &str,
    secs: u64,
) -> warroom::model::ActionEntry {
    use warroom::model::ActionStatus;
    use warroom::sources::{Payload, Update};
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        match tokio::time::timeout_at(deadline, rx.recv()).await {
            Ok(Some(Update { result: Ok(Payload::Action(e)), .. }))
                if e.key == key && e.status != ActionStatus::InFlight =>
            {
                return e
            }
            Ok(Some(_)) => {}
            Ok(None) | Err(_) => panic!("no outcome for {key} within {secs}s"),
        }
    }
}

/// A TCP proxy to `upstream` that forwards everything but drops the answer
/// to the first POST whose first read (request line, headers and a small
/// body) `is_target` matches (the request
/// lands; the client sees the connection close). `posts` counts the
/// matching POSTs that went through.
#[allow(dead_code)]
pub async fn drop_first_answer(
    upstream: String,
    is_target: fn(&str) -> bool,
    posts: Arc<std::sync::atomic::AtomicUsize>,
) -> String {
    use std::sync::atomic::{AtomicBool, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap_or_else(|e| panic!("{e}"));
    let addr = l.local_addr().unwrap_or_else(|e| panic!("{e}"));
    tokio::spawn(async move {
        while let Ok((client, _)) = l.accept().await {
            let upstream = upstream.clone();
            let posts = posts.clone();
            tokio::spawn(async move {
                let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else { return };
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = server.into_split();
                let drop_next = Arc::new(AtomicBool::new(false));
                let flag = drop_next.clone();
                let up = tokio::spawn(async move {
                    let mut buf = vec![0u8; 65536];
                    while let Ok(n) = cr.read(&mut buf).await {
                        if n == 0 {
                            return;
                        }
                        let head = String::from_utf8_lossy(&buf[..n]).to_string();
                        if head.starts_with("POST ") && is_target(&head) && posts.fetch_add(1, Ordering::SeqCst) == 0 {
                            flag.store(true, Ordering::SeqCst);
                        }
                        if sw.write_all(&buf[..n]).await.is_err() {
                            return;
                        }
                    }
                });
                let mut buf = vec![0u8; 65536];
                while let Ok(n) = sr.read(&mut buf).await {
                    if n == 0 || drop_next.load(Ordering::SeqCst) {
                        break;
                    }
                    if cw.write_all(&buf[..n]).await.is_err() {
                        break;
                    }
                }
                up.abort();
            });
        }
    });
    format!("http://{addr}")
}

/// Wait (at most `secs`) for a console snapshot that satisfies `ok`; the
/// failure says `what` and the snapshot's `why`.
pub async fn snapshot_where(
    snaps: &mut tokio::sync::watch::Receiver<Arc<warroom::model::Snapshot>>,
    secs: u64,
    what: &str,
    ok: impl Fn(&warroom::model::Snapshot) -> bool,
    why: impl Fn(&warroom::model::Snapshot) -> String,
) -> Arc<warroom::model::Snapshot> {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let s = snaps.borrow_and_update().clone();
        if ok(&s) {
            return s;
        }
        assert!(tokio::time::Instant::now() < deadline, "{what} within {secs}s: {}", why(&s));
        let _ = tokio::time::timeout(Duration::from_secs(2), snaps.changed()).await;
    }
}

/// A command the tests need, or a failure with its install command.
pub fn need(cmd: &str, package: &str) {
    let found =
        Command::new("sh").args(["-c", &format!("command -v {cmd}")]).output().is_ok_and(|o| o.status.success());
    assert!(found, "{cmd} is missing: apt-get install -y {package} (scripts/test installs it when run as root)");
}

pub fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("bind: {e}"));
    l.local_addr().map(|a| a.port()).unwrap_or_else(|e| panic!("{e}"))
}

/// Run as `postgres` when we are root (PostgreSQL refuses to run as root).
pub fn as_postgres(args: &[&str]) -> Command {
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

/// An in-process console from a configuration file: its data plane (at the
/// file's own intervals), an executor with the audit trail beside the file,
/// and the receiver of the executor's action-log updates.
pub fn console_from(
    path: &std::path::Path,
) -> (
    warroom::dataplane::DataPlane,
    warroom::actions::executor::Executor,
    tokio::sync::mpsc::Receiver<warroom::sources::Update>,
) {
    let cfg = warroom::config::Config::load(path).unwrap_or_else(|e| panic!("{e:?}"));
    let setup = warroom::wiring::setup(&cfg).unwrap_or_else(|e| panic!("{e}"));
    let clock: warroom::sources::Clock = Arc::new(chrono::Utc::now);
    let plane = warroom::dataplane::spawn_sources(setup.sources, setup.intervals, clock.clone())
        .unwrap_or_else(|e| panic!("data plane: {e}"));
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    let exec = warroom::actions::executor::spawn_routed(
        setup.routes,
        warroom::audit::AuditLog::open(&path.with_file_name("audit.jsonl")),
        tx,
        clock,
        Some(plane.snapshots.clone()),
    );
    (plane, exec, rx)
}

pub fn openssl(dir: &std::path::Path, args: &[&str]) {
    let ok = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .unwrap_or_else(|e| {
            panic!("openssl is not installed ({e}): run scripts/test as root or apt-get install openssl")
        });
    assert!(ok.success(), "openssl {args:?} failed");
}

/// A CA, a server certificate for 127.0.0.1 (`srv.pem`, `srv.key`) and a
/// client certificate (`client.pem`, `client.key`), both signed by it.
pub fn tls_certificates(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("warroom-tls-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let _ = std::fs::create_dir_all(&dir);
    openssl(
        &dir,
        &[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=warroom test CA",
        ],
    );
    let sign = |who: &str, subject: &str, ext: &str| {
        let (key, csr, pem, cnf) =
            (format!("{who}.key"), format!("{who}.csr"), format!("{who}.pem"), format!("{who}.cnf"));
        openssl(&dir, &["req", "-newkey", "rsa:2048", "-nodes", "-keyout", &key, "-out", &csr, "-subj", subject]);
        let _ = std::fs::write(dir.join(&cnf), ext);
        let args = ["x509", "-req", "-in", &csr, "-CA", "ca.pem", "-CAkey", "ca.key", "-CAcreateserial"];
        openssl(&dir, &[&args[..], &["-out", &pem, "-days", "2", "-extfile", &cnf]].concat());
    };
    sign("srv", "/CN=127.0.0.1", "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n");
    sign("client", "/CN=ops", "extendedKeyUsage=clientAuth\nbasicConstraints=CA:FALSE\n");
    dir
}
