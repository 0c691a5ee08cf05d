//! The data plane a subcommand runs against: `--api`, a configuration, or the demo fleet.

use std::sync::Arc;

use warroom::app::view::ViewState;
use warroom::dataplane::{self, Intervals};
use warroom::sources::Clock;
use warroom_sim::{Scenario, SimConfig};

use super::Cli;

pub async fn wait_for_stop() {
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

use warroom::actions::provider::Routes;

/// Where this fleet's change timeline and incidents are kept: the state
/// directory, one journal per fleet (`what` names it); and the jump-out
/// links of the configuration.
fn history(what: &str, cfg: Option<&warroom::config::Config>) -> warroom::store::History {
    let links = cfg
        .map(|c| {
            c.links
                .iter()
                .map(|l| warroom::model::snapshot::JumpLink {
                    name: l.name.clone(),
                    template: l.url.get_ref().clone(),
                    service: l.service.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let business = cfg
        .map(|c| {
            c.business
                .iter()
                .map(|b| warroom::model::incident::BusinessRate {
                    service: b.service.get_ref().clone(),
                    per_failed_request: *b.per_failed_request.get_ref(),
                    unit: b.unit.clone(),
                    what: b.what.clone(),
                })
                .collect()
        })
        .unwrap_or_default();
    let mut h = warroom::store::History {
        links: std::sync::Arc::new(links),
        business: std::sync::Arc::new(business),
        ..Default::default()
    };
    if let Ok(dir) = warroom::paths::state_dir() {
        h.file = Some(warroom::history::journal_path(&dir, what));
        h.keep = cfg.and_then(|c| c.changes.as_ref()).map(|c| (*c.keep.get_ref()).max(1) as usize).unwrap_or(0);
        h.incidents = Some(dir.join("incidents"));
    }
    h
}

/// The default intervals with `--timeout` for every feed (`--api` and the
/// demo; a configuration sets its sources' timeouts itself).
fn cli_intervals(cli: &Cli) -> Intervals {
    let mut intervals = Intervals::default();
    for feed in warroom::model::FEEDS {
        intervals = intervals.with_timeout(feed, cli.timeout);
    }
    intervals.scaled(cli.poll_factor)
}

/// The data plane for `cli`: `--api`, else a configuration file, else the
/// embedded demo fleet, and where actions go. `view`, when given, learns
/// the operator and DEMO label.
pub async fn data_plane(
    cli: &Cli,
    mut view: Option<&mut ViewState>,
) -> Result<(dataplane::DataPlane, Option<warroom_sim::SimHandle>, Routes), String> {
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
        (Some(url), _) => {
            let (mut sources, routes) = warroom::wiring::control_plane_with_databases(url).await?;
            sources.history = history(url, None);
            Ok((dataplane::spawn_sources(sources, cli_intervals(cli), clock)?, None, routes))
        }
        (None, Some(path)) => {
            if cli.timeout.is_some() {
                return Err(format!(
                    "--timeout is for --api and the demo; with the configuration {} set `timeout` in [control_plane], [prometheus] or [alertmanager]",
                    path.display()
                ));
            }
            let cfg = warroom::config::Config::load(&path).map_err(|errs| {
                let lines: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
                format!("invalid configuration:\n{}", lines.join("\n"))
            })?;
            let setup = warroom::wiring::setup_all(&cfg).await?;
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
            let mut sources = setup.sources;
            let what = std::fs::canonicalize(&path).unwrap_or(path.clone());
            sources.history = history(&what.display().to_string(), Some(&cfg));
            let plane = dataplane::spawn_sources(sources, setup.intervals.scaled(cli.poll_factor), clock)?;
            Ok((plane, None, setup.routes))
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
            let (mut sources, routes) = warroom::wiring::control_plane_with_databases(&url).await?;
            // The demo's own directory; its fleet is new at each start.
            // A new simulated fleet at each start: its timeline starts
            // empty (incidents are still written, for `incident export --demo`).
            sources.history = history(&format!("demo {} {}", cli.scenario, cli.seed), None);
            sources.history.file = None;
            let plane = dataplane::spawn_sources(sources, cli_intervals(cli), clock)?;
            Ok((plane, Some(handle), routes))
        }
    }
}

/// With neither `--api` nor a configuration file this process runs the
/// embedded demo fleet: its state (audit trail, runbook runs) goes to the
/// demo's own directory, so a demo never mixes with a real fleet's trail.
pub fn enter_demo_if(cli: &Cli) {
    if cli.api.is_none() && warroom::config::locate(cli.config.as_deref()).is_none() {
        warroom::paths::set_demo();
    }
}

/// The executor every action of this process goes through, reconciled:
/// intents a previous exit left without an outcome are settled by key.
pub fn executor(
    plane: &dataplane::DataPlane,
    routes: Routes,
    audit: Result<warroom::audit::AuditLog, String>,
) -> warroom::actions::executor::Executor {
    let clock: Clock = Arc::new(chrono::Utc::now);
    let snapshots = Some(plane.snapshots.clone());
    let executor = warroom::actions::executor::spawn_routed(routes, audit, plane.updates.clone(), clock, snapshots)
        .with_ranges(plane.ranges.clone());
    executor.reconcile_unfinished();
    executor
}

/// The local terminal, raw, in a viewport of at most 1000×400 cells
/// however large the terminal (panics restore it: color-eyre's hook).
pub fn open_terminal() -> Result<ratatui::DefaultTerminal, String> {
    color_eyre::install().map_err(|e| format!("cannot install the panic handler: {e}"))?;
    ratatui::try_init().map_err(|e| format!("cannot open the terminal: {e}"))?;
    warroom::app::bounded_terminal().map_err(|e| {
        ratatui::restore();
        format!("cannot open the terminal: {e}")
    })
}
