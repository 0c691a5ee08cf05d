//! `warroom wall`.

use clap::Args;
use warroom::snapshot_cmd;

use super::plane::{data_plane, enter_demo_if, open_terminal};
use super::Cli;

#[derive(Args)]
pub struct WallOpts {
    /// Time each view stays on screen.
    #[arg(long, default_value = "20s", value_parser = snapshot_cmd::parse_duration)]
    pub rotate: f64,
    /// Views to rotate through: `summary` and any view names (noc, overview, yours), comma-separated.
    #[arg(long, default_value = "summary,overview")]
    pub views: String,
}

pub async fn run(cli: Cli, o: WallOpts) -> Result<(), String> {
    let WallOpts { rotate, ref views } = o;
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
    let mut terminal = open_terminal()?;
    let keymap = warroom::keymap::load_keymap()?;
    let result = warroom::app::run_wall(&mut terminal, plane.snapshots.clone(), wall, theme, keymap).await;
    ratatui::restore();
    drop(plane);
    if let Some(sim) = sim {
        sim.shutdown().await;
    }
    result.map(|_| ()).map_err(|e| format!("terminal error: {e}"))
}
