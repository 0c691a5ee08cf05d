//! `warroom serve-ssh`.

use std::sync::Arc;

use clap::Args;
use warroom::snapshot_cmd;

use super::plane::{data_plane, enter_demo_if, executor, wait_for_stop};
use super::Cli;

#[derive(Args)]
pub struct ServeSshOpts {
    /// Address to listen on (port 0 picks a free one and prints it).
    #[arg(long, default_value = "127.0.0.1:2222")]
    pub listen: std::net::SocketAddr,
    /// Host key (OpenSSH format); generated once if missing, mode 0600.
    #[arg(long)]
    pub host_key: std::path::PathBuf,
    /// OpenSSH authorized_keys; `environment="WARROOM_ROLE=operator"` marks
    /// operators; `from=`, `expiry-time=`, `restrict`/`no-pty` are enforced.
    /// SIGHUP reads it again.
    #[arg(long)]
    pub authorized_keys: std::path::PathBuf,
    /// Sessions served at once; more are refused.
    #[arg(long, default_value_t = 100)]
    pub max_sessions: usize,
    /// Sessions one key may hold at once (default: half of --max-sessions,
    /// so a wall of many screens can share one key but no key takes them all).
    #[arg(long)]
    pub max_per_key: Option<usize>,
    /// Close connections with no traffic for this long.
    #[arg(long, default_value = "12h", value_parser = snapshot_cmd::parse_duration)]
    pub idle_timeout: f64,
    /// Time each wall view stays on screen.
    #[arg(long, default_value = "20s", value_parser = snapshot_cmd::parse_duration)]
    pub rotate: f64,
    /// Wall rotation: `summary` and any view names, comma-separated.
    #[arg(long, default_value = "summary,overview")]
    pub views: String,
}

pub async fn run(cli: Cli, o: ServeSshOpts) -> Result<(), String> {
    let ServeSshOpts {
        listen,
        ref host_key,
        ref authorized_keys,
        max_sessions,
        max_per_key,
        idle_timeout,
        rotate,
        ref views,
    } = o;
    enter_demo_if(&cli);
    let views = warroom::wall::WallView::parse_list(views, &warroom::views::Catalog::for_user())?;
    let keyfile = warroom::ssh::keys::authorized_keys(authorized_keys)?;
    for r in &keyfile.refused {
        eprintln!("warroom serve-ssh: {r}");
    }
    if keyfile.keys.is_empty() {
        eprintln!(
            "warroom serve-ssh: no usable key in {}: every login will be refused (kill -HUP reloads it)",
            authorized_keys.display()
        );
    }
    let (plane, sim, target) = data_plane(&cli, None).await?;
    // serve-ssh records every login and refusal: without a trail it
    // does not start (the console can run without one; a server cannot).
    let audit = warroom::paths::audit_file()
        .and_then(|p| warroom::audit::AuditLog::open(&p))
        .map_err(|e| format!("serve-ssh cannot keep its audit trail, so it does not start: {e}"))?;
    let audit = Ok(audit);
    let executor = executor(&plane, target, audit);
    let shared = Arc::new(warroom::ssh::Shared {
        snapshots: plane.snapshots.clone(),
        keys: std::sync::RwLock::new(Arc::new(keyfile.keys)),
        keys_path: authorized_keys.clone(),
        per_key: Default::default(),
        max_per_key: max_per_key.unwrap_or(max_sessions / 2).clamp(1, max_sessions.max(1)),
        idle_timeout: std::time::Duration::from_secs_f64(idle_timeout.clamp(1.0, 1e9)),
        audit: executor.audit(),
        executor,
        active: std::sync::atomic::AtomicUsize::new(0),
        max_sessions: max_sessions.max(1),
        rotate: std::time::Duration::from_secs_f64(rotate.max(1.0)),
        views: views.clone(),
        theme: warroom::themes::choose(cli.theme.as_deref())?,
        keymap: warroom::keymap::load_keymap()?,
        catalog: Arc::new(warroom::views::Catalog::for_user()),
        demo: sim.as_ref().map(|_| format!("{} seed {}", cli.scenario, cli.seed)),
        refusals: Default::default(),
    });
    let opts = warroom::ssh::SshOptions {
        listen,
        host_key: host_key.clone(),
        authorized_keys: authorized_keys.clone(),
        max_sessions,
        idle_timeout: std::time::Duration::from_secs_f64(idle_timeout.max(1.0)),
        rotate: std::time::Duration::from_secs_f64(rotate.max(1.0)),
        views,
    };
    // SIGHUP reads authorized_keys again; SIGTERM and ^C stop.
    let reloader = shared.clone();
    let hup = tokio::spawn(async move {
        let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()) else {
            return;
        };
        while s.recv().await.is_some() {
            match reloader.reload_keys() {
                Ok(n) => eprintln!("warroom serve-ssh: authorized_keys reloaded: {n} key(s)"),
                Err(e) => eprintln!("warroom serve-ssh: reload failed, the previous keys stay: {e}"),
            }
        }
    });
    let stopping = shared.clone();
    let result = tokio::select! {
        r = warroom::ssh::serve(opts, shared) => r,
        _ = wait_for_stop() => Ok(()),
    };
    hup.abort();
    stopping.stopped(if result.is_ok() { "signal" } else { "listener failed" });
    // What the backends did while it ran, for whoever stopped it.
    let summary = plane.snapshots.borrow().fleet.error_summary();
    eprintln!("warroom serve-ssh: stopped; failed feed polls since start: {summary}");
    drop(plane);
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    result
}
