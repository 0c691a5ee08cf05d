//! `warroom snapshot`.

use clap::Args;
use warroom::snapshot_cmd::{self, SnapshotArgs};
use warroom_sim::Scenario;

use super::{parse_scenario, Cli};

#[derive(Args)]
pub struct SnapshotOpts {
    /// A view (overview, noc, latency, slo, deploy, yours), `region:NAME`,
    /// `service:NAME`, `deployment:ID`, `slo:NAME` or `wall`.
    #[arg(long, default_value = "overview")]
    pub view: String,
    /// `text`, `svg`, or `png` (through rsvg-convert, Debian's librsvg2-bin).
    #[arg(long, default_value = "text")]
    pub format: String,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub output: Option<std::path::PathBuf>,
    /// Terminal size COLSxROWS.
    #[arg(long, default_value = "120x40", value_parser = snapshot_cmd::parse_size)]
    pub size: (u16, u16),
    /// Demo fleet seed.
    #[arg(long, default_value_t = 7)]
    pub seed: u64,
    /// Demo scenario: calm, region-outage, bad-canary, dependency-storm, db-primary-failure.
    #[arg(long, default_value = "calm", value_parser = parse_scenario)]
    pub scenario: Scenario,
    /// Scenario time of the frame (e.g. 10m).
    #[arg(long, default_value = "0s", value_parser = snapshot_cmd::parse_duration)]
    pub at: f64,
    /// Wall-clock time of scenario start, RFC 3339 (default: `--at` ago).
    #[arg(long)]
    pub epoch: Option<String>,
    /// Demo fleet: number of regions.
    #[arg(long, default_value_t = 4)]
    pub regions: usize,
    /// Demo fleet: number of services.
    #[arg(long, default_value_t = 8)]
    pub services: usize,
    /// Show this runbook started at the frame's time, beside the view
    /// (e.g. `--runbook regional-failover --set region=us-west-2`).
    #[arg(long)]
    pub runbook: Option<String>,
    /// Runbook parameters.
    #[arg(long = "set", value_name = "KEY=VALUE")]
    pub set: Vec<String>,
}

pub async fn run(cli: Cli, o: SnapshotOpts) -> Result<(), String> {
    let SnapshotOpts { view, format, output, size, seed, scenario, at, epoch, regions, services, runbook, set } = o;
    let start_unix = match epoch {
        None => None,
        Some(e) => Some(
            chrono::DateTime::parse_from_rfc3339(&e)
                .map_err(|err| format!("bad --epoch '{e}': {err} (expected RFC 3339, e.g. 2026-01-01T00:00:00Z)"))?
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
