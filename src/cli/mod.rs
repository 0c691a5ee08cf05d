//! The `warroom` command line: one file per subcommand.

pub mod audit;
pub mod config;
pub mod console;
pub mod incident;
pub mod info;
pub mod plane;
pub mod runbook;
pub mod serve_ssh;
pub mod sim;
pub mod snapshot;
pub mod views;
pub mod wall;

use clap::{Parser, Subcommand};
use warroom_sim::Scenario;

#[derive(Parser)]
#[command(name = "warroom", version, about = "Terminal operations console for multi-region services")]
pub struct Cli {
    /// Control-plane base URL (e.g. http://127.0.0.1:8700). Without it, an
    /// embedded simulated fleet starts on loopback (DEMO).
    #[arg(long)]
    pub api: Option<String>,
    /// Demo fleet: seed.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Demo fleet: scenario (calm, region-outage, bad-canary, dependency-storm, db-primary-failure).
    #[arg(long, default_value = "calm", value_parser = parse_scenario)]
    pub scenario: Scenario,
    /// Demo fleet: simulated seconds per real second.
    #[arg(long, default_value_t = 1.0)]
    pub time_scale: f64,
    /// With --api: how long one read of each feed may take (e.g. 5s; default
    /// 0.8 × the feed's poll interval, 200 ms..10 s). A large fleet's
    /// metrics can take longer than that.
    #[arg(long, value_parser = parse_timeout)]
    pub timeout: Option<std::time::Duration>,
    /// Multiply every poll interval (tests use small values).
    #[arg(long, default_value_t = 1.0, hide = true)]
    pub poll_factor: f64,
    /// Viewer role: no action can be run (attempts are audited as denied).
    #[arg(long)]
    pub read_only: bool,
    /// Leave the mouse to the terminal (no click to focus, select or sort;
    /// the terminal's own text selection works as usual).
    #[arg(long)]
    pub no_mouse: bool,
    /// Theme: default, light, high-contrast, colour-blind, mono, or one of
    /// yours in the config directory's themes/. NO_COLOR forces mono.
    #[arg(long)]
    pub theme: Option<String>,
    /// Configuration file (else $WARROOM_CONFIG, else the user config
    /// directory's warroom.toml). With a configuration no simulator starts.
    #[arg(long)]
    pub config: Option<std::path::PathBuf>,
    /// View to open: overview, noc, latency, slo, deploy, or one of yours
    /// in the config directory's views/ (`warroom views list`).
    #[arg(long)]
    pub view: Option<String>,
    #[command(subcommand)]
    pub command: Option<Cmd>,
}

#[derive(Subcommand)]
pub enum Cmd {
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
    ServeSsh(serve_ssh::ServeSshOpts),
    /// Read-only, self-rotating wall display.
    Wall(wall::WallOpts),
    /// Write or check the configuration file.
    Config {
        #[command(subcommand)]
        what: config::ConfigCmd,
    },
    /// Guided runbooks: list, lint, run (or resume), export a run's timeline.
    Runbook {
        #[command(subcommand)]
        what: runbook::RunbookCmd,
    },
    /// List the views (built in and yours) and the errors of broken view files.
    Views {
        #[command(subcommand)]
        what: views::ViewsCmd,
    },
    /// Inspect the audit trail.
    Audit {
        #[command(subcommand)]
        what: audit::AuditCmd,
    },
    /// Incidents: list them, export one's postmortem draft.
    Incident {
        #[command(subcommand)]
        what: incident::IncidentCmd,
    },
    /// Serve the simulated fleet over HTTP.
    Sim(sim::SimOpts),
    /// Print one rendered frame as plain text and exit.
    Snapshot(snapshot::SnapshotOpts),
}

pub fn parse_timeout(s: &str) -> Result<std::time::Duration, String> {
    warroom::config::timeout_of(s)
}

pub fn parse_scenario(s: &str) -> Result<Scenario, String> {
    s.parse()
}

/// Run the subcommand (none: the console).
pub async fn run(mut cli: Cli) -> Result<(), String> {
    match cli.command.take() {
        Some(Cmd::Sim(o)) => sim::run(o).await,
        Some(Cmd::Snapshot(o)) => snapshot::run(cli, o).await,
        Some(Cmd::Completions { shell }) => info::completions(shell),
        Some(Cmd::Man) => info::man(),
        Some(Cmd::Paths) => info::paths(&cli),
        Some(Cmd::Config { what }) => config::run(&cli, what),
        Some(Cmd::Runbook { what }) => runbook::run(cli, what).await,
        Some(Cmd::Views { what }) => views::run(what),
        Some(Cmd::Audit { what }) => audit::run(what),
        Some(Cmd::Incident { what }) => incident::run(what),
        Some(Cmd::Wall(o)) => wall::run(cli, o).await,
        Some(Cmd::ServeSsh(o)) => serve_ssh::run(cli, o).await,
        None => console::run(cli, None).await,
    }
}
