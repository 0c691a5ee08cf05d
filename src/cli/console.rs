//! `warroom` (no subcommand) and `warroom runbook run`: the interactive console.

use std::sync::Arc;

use warroom::app::view::ViewState;

use super::plane::{data_plane, enter_demo_if, executor, open_terminal};
use super::Cli;

pub async fn run(cli: Cli, runbook: Option<Vec<String>>) -> Result<(), String> {
    enter_demo_if(&cli);
    let theme = warroom::themes::choose(cli.theme.as_deref())?;
    let keymap = warroom::keymap::load_keymap()?;
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
    let (plane, sim, target) = data_plane(&cli, Some(&mut view)).await?;
    // Without a writable audit trail the console still runs, but every
    // action fails before anything is sent (the executor says why).
    let audit = warroom::paths::audit_file().and_then(|p| warroom::audit::AuditLog::open(&p));
    let executor = executor(&plane, target, audit);
    let mut terminal = open_terminal()?;
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
