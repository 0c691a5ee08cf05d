#![forbid(unsafe_code)]
//! The `warroom` command line.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use warroom::app::view::ViewState;
use warroom::dataplane::{self, Intervals};
use warroom::snapshot_cmd::{self, SnapshotArgs};
use warroom::sources::Clock;
use warroom_sim::{Scenario, SimConfig};

#[derive(Parser)]
#[command(name = "warroom", version, about = "Terminal operations console for multi-region services")]
struct Cli {
    /// Control-plane base URL (e.g. http://127.0.0.1:8700). Without it, an
    /// embedded simulated fleet starts on loopback (DEMO).
    #[arg(long)]
    api: Option<String>,
    /// Demo fleet: seed.
    #[arg(long, default_value_t = 7)]
    seed: u64,
    /// Demo fleet: scenario (calm, region-outage, bad-canary, dependency-storm).
    #[arg(long, default_value = "calm", value_parser = parse_scenario)]
    scenario: Scenario,
    /// Demo fleet: simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Multiply every poll interval (tests use small values).
    #[arg(long, default_value_t = 1.0, hide = true)]
    poll_factor: f64,
    /// Viewer role: no action can be run (attempts are audited as denied).
    #[arg(long)]
    read_only: bool,
    /// Leave the mouse to the terminal (no click to focus, select or sort;
    /// the terminal's own text selection works as usual).
    #[arg(long)]
    no_mouse: bool,
    /// Theme: default, light, high-contrast, colour-blind, mono, or one of
    /// yours in the config directory's themes/. NO_COLOR forces mono.
    #[arg(long)]
    theme: Option<String>,
    /// Configuration file (else $WARROOM_CONFIG, else the user config
    /// directory's warroom.toml). With a configuration no simulator starts.
    #[arg(long)]
    config: Option<std::path::PathBuf>,
    /// View to open: overview, noc, latency, slo, deploy, or one of yours
    /// in the config directory's views/ (`warroom views list`).
    #[arg(long)]
    view: Option<String>,
    #[command(subcommand)]
    command: Option<Cmd>,
}

#[derive(Subcommand)]
enum Cmd {
    /// Print where warroom keeps its state and audit trail.
    Paths,
    /// Print a shell completion script: `warroom completions bash > /etc/bash_completion.d/warroom`.
    Completions {
        /// bash, zsh, fish, elvish or powershell.
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff): `warroom man | man -l -`.
    Man,
    /// Serve the wall (user `wall` or any) and the console (user `console`) over SSH.
    ServeSsh {
        /// Address to listen on (port 0 picks a free one and prints it).
        #[arg(long, default_value = "127.0.0.1:2222")]
        listen: std::net::SocketAddr,
        /// Host key (OpenSSH format); generated once if missing, mode 0600.
        #[arg(long)]
        host_key: std::path::PathBuf,
        /// OpenSSH authorized_keys; `environment="WARROOM_ROLE=operator"` marks
        /// operators; `from=`, `expiry-time=`, `restrict`/`no-pty` are enforced.
        /// SIGHUP reads it again.
        #[arg(long)]
        authorized_keys: std::path::PathBuf,
        /// Sessions served at once; more are refused.
        #[arg(long, default_value_t = 100)]
        max_sessions: usize,
        /// Sessions one key may hold at once (default: half of --max-sessions,
        /// so a wall of many screens can share one key but no key takes them all).
        #[arg(long)]
        max_per_key: Option<usize>,
        /// Close connections with no traffic for this long.
        #[arg(long, default_value = "12h", value_parser = snapshot_cmd::parse_duration)]
        idle_timeout: f64,
        /// Time each wall view stays on screen.
        #[arg(long, default_value = "20s", value_parser = snapshot_cmd::parse_duration)]
        rotate: f64,
        /// Wall rotation: `summary` and any view names, comma-separated.
        #[arg(long, default_value = "summary,overview")]
        views: String,
    },
    /// Read-only, self-rotating wall display.
    Wall {
        /// Time each view stays on screen.
        #[arg(long, default_value = "20s", value_parser = snapshot_cmd::parse_duration)]
        rotate: f64,
        /// Views to rotate through: `summary` and any view names (noc, overview, yours), comma-separated.
        #[arg(long, default_value = "summary,overview")]
        views: String,
    },
    /// Write or check the configuration file.
    Config {
        #[command(subcommand)]
        what: ConfigCmd,
    },
    /// Guided runbooks: list, lint, run (or resume), export a run's timeline.
    Runbook {
        #[command(subcommand)]
        what: RunbookCmd,
    },
    /// List the views (built in and yours) and the errors of broken view files.
    Views {
        #[command(subcommand)]
        what: ViewsCmd,
    },
    /// Inspect the audit trail.
    Audit {
        #[command(subcommand)]
        what: AuditCmd,
    },
    /// Serve the simulated fleet over HTTP.
    Sim {
        /// Address to serve the control-plane API, metrics and health on.
        #[arg(long, default_value = "127.0.0.1:8700")]
        listen: SocketAddr,
        /// Seed of the simulated fleet (the same seed, the same world).
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// calm, region-outage, bad-canary or dependency-storm.
        #[arg(long, default_value = "calm", value_parser = parse_scenario)]
        scenario: Scenario,
        /// Number of regions.
        #[arg(long, default_value_t = 4)]
        regions: usize,
        /// Number of services.
        #[arg(long, default_value_t = 8)]
        services: usize,
        /// Simulated seconds per real second.
        #[arg(long, default_value_t = 1.0)]
        time_scale: f64,
        /// Start this far into the scenario (e.g. 10m).
        #[arg(long, default_value = "0s", value_parser = snapshot_cmd::parse_duration)]
        at: f64,
    },
    /// Print one rendered frame as plain text and exit.
    Snapshot {
        /// A view (overview, noc, latency, slo, deploy, yours), `region:NAME`,
        /// `service:NAME`, `deployment:ID`, `slo:NAME` or `wall`.
        #[arg(long, default_value = "overview")]
        view: String,
        /// `text`, `svg`, or `png` (through rsvg-convert, Debian's librsvg2-bin).
        #[arg(long, default_value = "text")]
        format: String,
        /// Write to this file instead of standard output.
        #[arg(long)]
        output: Option<std::path::PathBuf>,
        /// Terminal size COLSxROWS.
        #[arg(long, default_value = "120x40", value_parser = snapshot_cmd::parse_size)]
        size: (u16, u16),
        /// Demo fleet seed.
        #[arg(long, default_value_t = 7)]
        seed: u64,
        /// Demo scenario: calm, region-outage, bad-canary, dependency-storm.
        #[arg(long, default_value = "calm", value_parser = parse_scenario)]
        scenario: Scenario,
        /// Scenario time of the frame (e.g. 10m).
        #[arg(long, default_value = "0s", value_parser = snapshot_cmd::parse_duration)]
        at: f64,
        /// Wall-clock time of scenario start, RFC 3339 (default: `--at` ago).
        #[arg(long)]
        epoch: Option<String>,
        /// Demo fleet: number of regions.
        #[arg(long, default_value_t = 4)]
        regions: usize,
        /// Demo fleet: number of services.
        #[arg(long, default_value_t = 8)]
        services: usize,
        /// Show this runbook started at the frame's time, beside the view
        /// (e.g. `--runbook regional-failover --set region=us-west-2`).
        #[arg(long)]
        runbook: Option<String>,
        /// Runbook parameters.
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
}

#[derive(Subcommand)]
enum ConfigCmd {
    /// Write a commented example configuration (never overwrites).
    Init {
        /// Where to write it (default: the user config directory).
        path: Option<std::path::PathBuf>,
    },
    /// Validate a configuration; prints every problem as file:line:column.
    Check {
        /// The file (default: --config, $WARROOM_CONFIG, the user config directory's).
        file: Option<std::path::PathBuf>,
        /// Do not look the URLs' hosts up in DNS.
        #[arg(long)]
        offline: bool,
    },
}

#[derive(Subcommand)]
enum RunbookCmd {
    /// The runbooks (shipped and yours) and the runs kept in the state directory.
    List {
        /// The embedded demo fleet's runs instead of the real ones.
        #[arg(long)]
        demo: bool,
    },
    /// Check a runbook file (or name): kinds, expressions, actions, and the
    /// regions and services it names against the configuration (or the demo fleet).
    Lint { file: String },
    /// Open the console with this runbook running (resumes its unfinished run).
    Run {
        name: String,
        /// Parameters, e.g. --set region=us-west-2
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
    },
    /// End an unfinished run without resuming it (RUN is an id or `latest`).
    Abort {
        run: String,
        /// Why (kept in the run's timeline).
        #[arg(long)]
        reason: String,
        /// A run of the embedded demo fleet.
        #[arg(long)]
        demo: bool,
    },
    /// Write a run's timeline for the postmortem (RUN is an id or `latest`).
    Export {
        run: String,
        /// md (a Markdown timeline for the postmortem) or json (the whole
        /// run, for tools; `format: warroom-run/1`).
        #[arg(long, default_value = "md")]
        format: String,
        #[arg(long)]
        output: Option<std::path::PathBuf>,
        /// A run of the embedded demo fleet.
        #[arg(long)]
        demo: bool,
    },
}

#[derive(Subcommand)]
enum ViewsCmd {
    /// Name, source and description of every view; broken files with
    /// file:line:column (exit status 1 if any is broken).
    List,
}

#[derive(Subcommand)]
enum AuditCmd {
    /// Check the hash chain; exits non-zero naming the first bad record.
    Verify {
        /// Trail to check (default: the state directory's).
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        /// The embedded demo fleet's trail instead of the real one.
        #[arg(long)]
        demo: bool,
    },
    /// Show the most recent records.
    Tail {
        /// How many records to show.
        #[arg(short = 'n', long, default_value_t = 20)]
        lines: usize,
        /// Keep printing records as they are appended (Ctrl-C ends).
        #[arg(short = 'f', long)]
        follow: bool,
        /// The records as JSON lines, exactly as stored.
        #[arg(long)]
        json: bool,
        /// Trail to read (default: the state directory's).
        #[arg(long)]
        file: Option<std::path::PathBuf>,
        /// The embedded demo fleet's trail instead of the real one.
        #[arg(long)]
        demo: bool,
    },
}

fn audit_path(file: Option<std::path::PathBuf>, demo: bool) -> Result<std::path::PathBuf, String> {
    if demo {
        warroom::paths::set_demo();
    }
    match file {
        Some(f) => Ok(f),
        None => warroom::paths::audit_file(),
    }
}

fn parse_scenario(s: &str) -> Result<Scenario, String> {
    s.parse()
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let rt = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("warroom: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(async_main(cli));
    // Do not wait for blocked reads (the terminal input thread) on the way out.
    rt.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("warroom: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn async_main(cli: Cli) -> Result<(), String> {
    match cli.command {
        Some(Cmd::Sim { listen, seed, scenario, regions, services, time_scale, at }) => {
            let cfg = SimConfig { seed, scenario, regions, services, time_scale, start_unix: None, at_secs: at };
            let sim = warroom_sim::start(cfg, listen).await.map_err(|e| format!("cannot listen on {listen}: {e}"))?;
            println!("warroom-sim serving {} (scenario {scenario}, seed {seed}); Ctrl-C stops", sim.url());
            wait_for_stop().await;
            sim.shutdown().await;
            Ok(())
        }
        Some(Cmd::Snapshot {
            view,
            format,
            output,
            size,
            seed,
            scenario,
            at,
            epoch,
            regions,
            services,
            runbook,
            set,
        }) => {
            let start_unix = match epoch {
                None => None,
                Some(e) => Some(
                    chrono::DateTime::parse_from_rfc3339(&e)
                        .map_err(|err| {
                            format!("bad --epoch '{e}': {err} (expected RFC 3339, e.g. 2026-01-01T00:00:00Z)")
                        })?
                        .timestamp_millis() as f64
                        / 1000.0,
                ),
            };
            let args = SnapshotArgs {
                view,
                width: size.0,
                height: size.1,
                seed,
                scenario,
                at_secs: at,
                start_unix,
                regions,
                services,
                config: if cli.api.is_none() { warroom::config::locate(cli.config.as_deref()) } else { None },
                api: cli.api,
                runbook: runbook.map(|r| std::iter::once(r).chain(set).collect()),
            };
            let theme = warroom::themes::choose(cli.theme.as_deref())?;
            let buf = snapshot_cmd::frame(&args, &theme).await?;
            let out = match format.as_str() {
                "text" => snapshot_cmd::buffer_to_text(&buf),
                "svg" => warroom::svg::render(&buf),
                "png" => {
                    let path = output.ok_or("--format png needs --output FILE.png")?;
                    return warroom::svg::write_png(&warroom::svg::render(&buf), &path);
                }
                other => return Err(format!("unknown format '{other}' (text, svg or png)")),
            };
            match output {
                Some(path) => std::fs::write(&path, out).map_err(|e| format!("cannot write {}: {e}", path.display())),
                None => {
                    print!("{out}");
                    Ok(())
                }
            }
        }
        Some(Cmd::Completions { shell }) => {
            let mut cmd = <Cli as clap::CommandFactory>::command();
            clap_complete::generate(shell, &mut cmd, "warroom", &mut std::io::stdout());
            Ok(())
        }
        Some(Cmd::Man) => {
            let cmd = <Cli as clap::CommandFactory>::command();
            let mut out = Vec::new();
            clap_mangen::Man::new(cmd).render(&mut out).map_err(|e| format!("cannot render the man page: {e}"))?;
            use std::io::Write;
            std::io::stdout().write_all(&out).map_err(|e| format!("cannot write the man page: {e}"))
        }
        Some(Cmd::Paths) => {
            for line in warroom::paths::describe() {
                println!("{line}");
            }
            match warroom::config::locate(cli.config.as_deref()) {
                Some(p) => println!("config:       {}", p.display()),
                None => println!(
                    "config:       (none; `warroom config init` writes {})",
                    warroom::config::default_path().map(|p| p.display().to_string()).unwrap_or_default()
                ),
            }
            Ok(())
        }
        Some(Cmd::Config { what: ConfigCmd::Init { path } }) => {
            let path = match path.or(cli.config) {
                Some(p) => p,
                None => warroom::config::default_path()?,
            };
            if path.exists() {
                return Err(format!("{} already exists; not overwriting it", path.display()));
            }
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
            }
            std::fs::write(&path, warroom::config::EXAMPLE)
                .map_err(|e| format!("cannot write {}: {e}", path.display()))?;
            println!("wrote {}; edit it, then run `warroom config check`", path.display());
            Ok(())
        }
        Some(Cmd::Config { what: ConfigCmd::Check { file, offline } }) => {
            let path = file
                .or_else(|| warroom::config::locate(cli.config.as_deref()))
                .ok_or("no configuration found: pass a FILE, --config, or set WARROOM_CONFIG")?;
            match warroom::config::Config::load(&path) {
                Ok(cfg) => {
                    for w in cfg.tokens_in_clear(&path) {
                        println!("{w}");
                    }
                    if !offline {
                        for w in cfg.unresolved_hosts(&path) {
                            println!("{w}");
                        }
                    }
                    println!("{}: OK", path.display());
                    Ok(())
                }
                Err(errors) => {
                    for e in &errors {
                        println!("{e}");
                    }
                    Err(format!("{} problem(s) in {}", errors.len(), path.display()))
                }
            }
        }
        Some(Cmd::Runbook { what: RunbookCmd::List { demo } }) => {
            if demo {
                warroom::paths::set_demo();
            }
            let (books, broken) = warroom::runbook::catalog();
            for b in &books {
                let src = if b.source == "built-in" { "built-in" } else { "yours" };
                println!("{:<20} {:<9} {} ({} steps)", b.name, src, b.description, b.steps.len());
            }
            for (n, errs) in &broken {
                println!("{n:<20} BROKEN");
                for e in errs {
                    println!("    {e}");
                }
            }
            let dir = warroom::runbook::run::runs_dir()?;
            let runs = warroom::runbook::run::all_runs(&dir);
            if !runs.is_empty() {
                println!("\nruns in {}:", dir.display());
                for r in runs.iter().rev().take(20) {
                    let status = match r.status {
                        warroom::runbook::run::RunStatus::Running => format!("in progress at step {}", r.current + 1),
                        warroom::runbook::run::RunStatus::Completed => "completed".into(),
                        warroom::runbook::run::RunStatus::Aborted => "aborted".into(),
                    };
                    println!("  {:<44} {status} (started by {})", r.id, r.started_by);
                }
            }
            Ok(())
        }
        Some(Cmd::Runbook { what: RunbookCmd::Lint { ref file } }) => {
            let p = std::path::Path::new(file);
            let (name, path, text) = if p.is_file() {
                let text = warroom::config::read_config_file(p).map_err(|e| format!("{file}: {e}"))?;
                let name = p.file_stem().and_then(|s| s.to_str()).unwrap_or("runbook").to_string();
                (name, p.to_path_buf(), text)
            } else if let Some((n, t)) = warroom::runbook::BUILT_IN.iter().find(|(n, _)| n == file) {
                (n.to_string(), std::path::PathBuf::from(format!("runbooks/{n}.toml")), t.to_string())
            } else {
                return Err(format!("no runbook file {file}"));
            };
            let known = match warroom::config::locate(cli.config.as_deref()) {
                Some(cp) => {
                    let cfg = warroom::config::Config::load(&cp).map_err(|errs| {
                        let lines: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
                        format!("invalid configuration:\n{}", lines.join("\n"))
                    })?;
                    warroom::runbook::Known::from_config(&cfg, &cp)
                }
                None => warroom::runbook::Known::demo(),
            };
            match warroom::runbook::parse(&name, &path, &text, Some(&known)) {
                Ok(rb) => {
                    println!("{}: OK, {} steps, checked against {}", path.display(), rb.steps.len(), known.from);
                    Ok(())
                }
                Err(errs) => {
                    for e in &errs {
                        println!("{e}");
                    }
                    Err(format!("{}: {} problem(s)", path.display(), errs.len()))
                }
            }
        }
        Some(Cmd::Runbook { what: RunbookCmd::Export { ref run, ref format, ref output, demo } }) => {
            if demo {
                warroom::paths::set_demo();
            }
            let render = match format.as_str() {
                "md" | "markdown" => warroom::runbook::run::export_markdown,
                "json" => warroom::runbook::run::export_json,
                other => return Err(format!("unknown format '{other}' (md or json)")),
            };
            let dir = warroom::runbook::run::runs_dir()?;
            let rec = warroom::runbook::run::load(&dir, run)?;
            let md = render(&rec);
            match output {
                Some(p) => std::fs::write(p, md).map_err(|e| format!("cannot write {}: {e}", p.display())),
                None => {
                    print!("{md}");
                    Ok(())
                }
            }
        }
        Some(Cmd::Runbook { what: RunbookCmd::Abort { ref run, ref reason, demo } }) => {
            if demo {
                warroom::paths::set_demo();
            }
            let dir = warroom::runbook::run::runs_dir()?;
            let rec = warroom::runbook::run::load(&dir, run)?;
            let who = warroom::actions::Operator::local(false).name;
            // One writer per run: a console driving it holds its lock.
            let _lock = match warroom::runbook::run::lock_run(&dir, &rec.id, &format!("{who} (runbook abort)"))? {
                warroom::runbook::run::Lock::Got(f) => f,
                warroom::runbook::run::Lock::HeldBy(h) => {
                    return Err(format!(
                        "run {} is driven by {h}: abort it there (a), or close that console first",
                        warroom::audit::escape_terminal(&rec.id),
                        h = warroom::audit::escape_terminal(&h)
                    ))
                }
            };
            // Re-read under the lock: the last driver may have changed it.
            let rec = warroom::runbook::run::load(&dir, &rec.id)?;
            let rec = warroom::runbook::run::abort_record(rec, &who, reason, chrono::Utc::now())?;
            warroom::runbook::run::save(&dir, &rec)?;
            println!("run {} aborted at step {}", rec.id, rec.current + 1);
            Ok(())
        }
        Some(Cmd::Runbook { what: RunbookCmd::Run { ref name, ref set } }) => {
            let mut args = vec![name.clone()];
            args.extend(set.iter().cloned());
            console(cli, Some(args)).await
        }
        Some(Cmd::Views { what: ViewsCmd::List }) => {
            let catalog = warroom::views::Catalog::for_user();
            if let Some(dir) = warroom::views::user_dir() {
                println!("your views: {}", dir.display());
            }
            for v in &catalog.views {
                println!(
                    "{:<14} {:<10} {}",
                    v.name,
                    if v.source == "built-in" { "built-in" } else { "yours" },
                    v.description
                );
            }
            for (name, lines) in &catalog.broken {
                println!("{name:<14} BROKEN");
                for l in lines {
                    println!("    {l}");
                }
            }
            if catalog.broken.is_empty() {
                Ok(())
            } else {
                Err(format!(
                    "{} view file(s) broken; the console falls back to the built-in view",
                    catalog.broken.len()
                ))
            }
        }
        Some(Cmd::Audit { what: AuditCmd::Verify { file, demo } }) => {
            let path = audit_path(file, demo)?;
            match warroom::audit::verify(&path)? {
                warroom::audit::Verdict::Ok { records, .. } => {
                    println!("{}: OK, {records} records, chain intact", path.display());
                    Ok(())
                }
                warroom::audit::Verdict::Bad(why) => Err(format!("{}: TAMPERED: {why}", path.display())),
            }
        }
        Some(Cmd::Audit { what: AuditCmd::Tail { lines, file, demo, follow, json } }) => {
            let path = audit_path(file, demo)?;
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            let all: Vec<&str> = text.lines().collect();
            let show = |l: &str| if json { l.to_string() } else { warroom::audit::human(l) };
            if all.is_empty() && !follow {
                println!("no audit records yet in {}", path.display());
                return Ok(());
            }
            for l in &all[all.len().saturating_sub(lines)..] {
                println!("{}", show(l));
            }
            if follow {
                use std::io::{BufRead, Seek};
                let mut at = text.len() as u64;
                loop {
                    std::thread::sleep(std::time::Duration::from_millis(300));
                    let Ok(mut f) = std::fs::File::open(&path) else { continue };
                    let len = f.metadata().map(|m| m.len()).unwrap_or(0);
                    if len < at {
                        at = 0; // replaced (a repair): read it again from the start
                    }
                    if len == at || f.seek(std::io::SeekFrom::Start(at)).is_err() {
                        continue;
                    }
                    let mut reader = std::io::BufReader::new(f);
                    let mut line = String::new();
                    // Whole lines only: a record still being written waits.
                    while reader.read_line(&mut line).map(|n| n > 0).unwrap_or(false) && line.ends_with('\n') {
                        at += line.len() as u64;
                        println!("{}", show(line.trim_end()));
                        line.clear();
                    }
                }
            }
            Ok(())
        }
        Some(Cmd::Wall { rotate, ref views }) => {
            enter_demo_if(&cli);
            let catalog = warroom::views::Catalog::for_user();
            let views = warroom::wall::WallView::parse_list(views, &catalog)?;
            let rotate = std::time::Duration::from_secs_f64(rotate.max(1.0));
            let theme = warroom::themes::choose(cli.theme.as_deref())?;
            let (plane, sim, _) = data_plane(&cli, None).await?;
            let mut wall = warroom::wall::WallState::new(views, rotate, chrono::Utc::now());
            if sim.is_some() {
                wall.view.demo = Some(format!("{} seed {}", cli.scenario, cli.seed));
            }
            color_eyre::install().map_err(|e| format!("cannot install the panic handler: {e}"))?;
            ratatui::try_init().map_err(|e| format!("cannot open the terminal: {e}"))?;
            // Drawn in a viewport of at most 1000×400 cells, however large the terminal.
            let mut terminal = warroom::app::bounded_terminal().map_err(|e| {
                ratatui::restore();
                format!("cannot open the terminal: {e}")
            })?;
            let keymap = warroom::app::keymap::load_keymap()?;
            let result = warroom::app::run_wall(&mut terminal, plane.snapshots.clone(), wall, theme, keymap).await;
            ratatui::restore();
            drop(plane);
            if let Some(sim) = sim {
                sim.shutdown().await;
            }
            result.map(|_| ()).map_err(|e| format!("terminal error: {e}"))
        }
        Some(Cmd::ServeSsh {
            listen,
            ref host_key,
            ref authorized_keys,
            max_sessions,
            max_per_key,
            idle_timeout,
            rotate,
            ref views,
        }) => {
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
            let (plane, sim, (base, token, ca)) = data_plane(&cli, None).await?;
            // serve-ssh records every login and refusal: without a trail it
            // does not start (the console can run without one; a server cannot).
            let audit = warroom::paths::audit_file()
                .and_then(|p| warroom::audit::AuditLog::open(&p))
                .map_err(|e| format!("serve-ssh cannot keep its audit trail, so it does not start: {e}"))?;
            let audit = Ok(audit);
            let clock: Clock = Arc::new(chrono::Utc::now);
            let executor = warroom::actions::executor::spawn_with_tls(
                &base,
                token,
                ca.as_deref(),
                audit,
                plane.updates.clone(),
                clock,
                Some(plane.snapshots.clone()),
            );
            executor.reconcile_unfinished();
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
                keymap: warroom::app::keymap::load_keymap()?,
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
        None => console(cli, None).await,
    }
}

async fn wait_for_stop() {
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term => {}
    }
}

/// (Empty URL: none configured.)
/// Control-plane URL, token and CA bundle for actions.
type ActionTarget = (String, Option<String>, Option<std::path::PathBuf>);

/// The data plane for `cli`: `--api`, else a configuration file, else the
/// embedded demo fleet, and where actions go. `view`, when given, learns
/// the operator and DEMO label.
async fn data_plane(
    cli: &Cli,
    mut view: Option<&mut ViewState>,
) -> Result<(dataplane::DataPlane, Option<warroom_sim::SimHandle>, ActionTarget), String> {
    let clock: Clock = Arc::new(chrono::Utc::now);
    let config = if cli.api.is_none() { warroom::config::locate(cli.config.as_deref()) } else { None };
    // --seed, --scenario and --time-scale shape the demo fleet only: with a
    // real backend they would be silently ignored, so they are an error.
    let demo_flags = cli.seed != 7 || cli.scenario != Scenario::Calm || (cli.time_scale - 1.0).abs() > f64::EPSILON;
    if demo_flags && (cli.api.is_some() || config.is_some()) {
        let against = match (&cli.api, &config) {
            (Some(url), _) => format!("--api {url}"),
            (None, Some(p)) => format!("the configuration {}", p.display()),
            _ => String::new(),
        };
        return Err(format!(
            "--seed, --scenario and --time-scale shape the embedded demo fleet, which does not run with {against}; drop them (or run without a configuration for the demo)"
        ));
    }
    match (&cli.api, config) {
        (Some(url), _) => Ok((
            dataplane::spawn(url, Intervals::default().scaled(cli.poll_factor), clock)?,
            None,
            (url.clone(), None, None),
        )),
        (None, Some(path)) => {
            let cfg = warroom::config::Config::load(&path).map_err(|errs| {
                let lines: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
                format!("invalid configuration:\n{}", lines.join("\n"))
            })?;
            let mut setup = cfg.setup()?;
            if let Some((cw, thresholds)) = &setup.cloudwatch {
                setup.sources.cloudwatch = Some(warroom::sources::cloudwatch::CloudWatch::new(cw, thresholds).await?);
            }
            if let Some(v) = view.as_deref_mut() {
                // A token over plain http to another host: said at start, on
                // the footer, not only by `config check`.
                if let Some(w) = cfg.tokens_in_clear(&path).first() {
                    v.message = Some((warroom_ui::Level::Warn, w.to_string()));
                }
                v.operator = setup.operator.clone();
                if cli.read_only {
                    v.operator.role = warroom::actions::Role::Viewer;
                }
            }
            let target = setup.control_plane.clone().unwrap_or_default();
            Ok((dataplane::spawn_sources(setup.sources, setup.intervals.scaled(cli.poll_factor), clock)?, None, target))
        }
        (None, None) => {
            let cfg = SimConfig {
                seed: cli.seed,
                scenario: cli.scenario,
                time_scale: cli.time_scale,
                ..SimConfig::default()
            };
            let handle = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into())
                .await
                .map_err(|e| format!("cannot start the demo fleet on 127.0.0.1: {e}"))?;
            if let Some(v) = view {
                v.demo = Some(format!("{} seed {}", cli.scenario, cli.seed));
            }
            let url = handle.url();
            let plane = dataplane::spawn(&url, Intervals::default().scaled(cli.poll_factor), clock)?;
            Ok((plane, Some(handle), (url, None, None)))
        }
    }
}

/// With neither `--api` nor a configuration file this process runs the
/// embedded demo fleet: its state (audit trail, runbook runs) goes to the
/// demo's own directory, so a demo never mixes with a real fleet's trail.
fn enter_demo_if(cli: &Cli) {
    if cli.api.is_none() && warroom::config::locate(cli.config.as_deref()).is_none() {
        warroom::paths::set_demo();
    }
}

async fn console(cli: Cli, runbook: Option<Vec<String>>) -> Result<(), String> {
    enter_demo_if(&cli);
    let theme = warroom::themes::choose(cli.theme.as_deref())?;
    let keymap = warroom::app::keymap::load_keymap()?;
    let catalog = Arc::new(warroom::views::Catalog::for_user());
    let (def, why) = catalog.open(cli.view.as_deref().unwrap_or("overview"));
    // A broken view file is said at start (and by `warroom views list`).
    let why = why.or_else(|| catalog.broken.first().map(|(n, l)| format!("view '{n}' skipped: {}", l.join("; "))));
    let mut view = ViewState {
        operator: warroom::actions::Operator::local(cli.read_only),
        def,
        catalog,
        message: why.map(|w| (warroom_ui::Level::Warn, w)),
        pending_runbook: runbook,
        ..ViewState::default()
    };
    if view.pending_runbook.is_none() && view.message.is_none() {
        // An unfinished run (a crash, a dropped session) is pointed out.
        if let Some(dir) = &view.runs_dir {
            let runs = warroom::runbook::run::all_runs(dir);
            if let Some(r) = runs.iter().rev().find(|r| r.status == warroom::runbook::run::RunStatus::Running) {
                let text =
                    format!("unfinished run {} at step {}: `:runbook {}` resumes it", r.id, r.current + 1, r.runbook);
                view.message = Some((warroom_ui::Level::Warn, text));
            }
        }
    }
    let clock: Clock = Arc::new(chrono::Utc::now);
    let (plane, sim, (action_base, token, ca)) = data_plane(&cli, Some(&mut view)).await?;
    // Without a writable audit trail the console still runs, but every
    // action fails before anything is sent (the executor says why).
    let audit = warroom::paths::audit_file().and_then(|p| warroom::audit::AuditLog::open(&p));
    let executor = warroom::actions::executor::spawn_with_tls(
        &action_base,
        token,
        ca.as_deref(),
        audit,
        plane.updates.clone(),
        clock,
        Some(plane.snapshots.clone()),
    );
    // Intents a previous exit left without an outcome are settled by key.
    executor.reconcile_unfinished();
    color_eyre::install().map_err(|e| format!("cannot install the panic handler: {e}"))?;
    ratatui::try_init().map_err(|e| format!("cannot open the terminal: {e}"))?;
    // Drawn in a viewport of at most 1000×400 cells, however large the terminal.
    let mut terminal = warroom::app::bounded_terminal().map_err(|e| {
        ratatui::restore();
        format!("cannot open the terminal: {e}")
    })?;
    // A paste arrives as one event (bracketed paste), never as a storm of keys.
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::EnableBracketedPaste);
    let mouse = !cli.no_mouse;
    if mouse {
        // Released on every way out: return, panic (the hook below) and signals (the loop returns).
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::EnableMouseCapture);
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
            previous(info);
        }));
    }
    let result = warroom::app::run(&mut terminal, plane.snapshots.clone(), view, theme, executor.clone(), keymap).await;
    if mouse {
        let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableMouseCapture);
    }
    let _ = crossterm::execute!(std::io::stdout(), crossterm::event::DisableBracketedPaste);
    ratatui::restore();
    if executor.active() > 0 {
        eprintln!("warroom: waiting for {} action(s) to finish and be audited…", executor.active());
        executor.settle(std::time::Duration::from_secs(10)).await;
    }
    drop(plane);
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    match result {
        Ok(_) => Ok(()),
        Err(e) => Err(format!("terminal error: {e}")),
    }
}
