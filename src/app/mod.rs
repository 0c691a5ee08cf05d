//! The interactive console: one owner of terminal input, a select loop over
//! input, snapshot changes and the clock, and coalesced, synchronized frames.

pub mod command;
pub mod runbook_ui;
pub mod view;

use std::io::Write;
use std::sync::Arc;

use crossterm::event::EventStream;
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use futures_util::StreamExt;
use tokio::sync::watch;
use warroom_ui::Theme;

use crate::actions::executor::Executor;
use crate::keymap;
use crate::model::Snapshot;
use view::ViewState;

/// The local terminal's colour depth, from `TERM` and `COLORTERM`.
fn local_depth() -> warroom_ui::ColorDepth {
    let term = std::env::var("TERM").unwrap_or_default();
    warroom_ui::ColorDepth::detect(&term, std::env::var("COLORTERM").ok().as_deref())
}

/// The largest screen drawn on the local terminal: beyond it the cells are
/// left blank. Two buffers of 1000×400 cells are a few tens of MB; a
/// 4,000×1,000 terminal once cost 400 MB and 40% of a core idle.
pub const MAX_LOCAL_COLS: u16 = 1000;
pub const MAX_LOCAL_ROWS: u16 = 400;

/// The area drawn for a terminal of `w`×`h`.
pub fn bounded(w: u16, h: u16) -> ratatui::layout::Rect {
    ratatui::layout::Rect::new(0, 0, w.min(MAX_LOCAL_COLS), h.min(MAX_LOCAL_ROWS))
}

/// The local terminal with a fixed viewport of at most
/// `MAX_LOCAL_COLS`×`MAX_LOCAL_ROWS`, resized by the loops on every resize
/// event (the caller has entered raw mode and the alternate screen).
pub fn bounded_terminal() -> std::io::Result<ratatui::DefaultTerminal> {
    use ratatui::backend::Backend;
    let backend = ratatui::backend::CrosstermBackend::new(std::io::stdout());
    let size = backend.size()?;
    let viewport = ratatui::Viewport::Fixed(bounded(size.width, size.height));
    ratatui::Terminal::with_options(backend, ratatui::TerminalOptions { viewport })
}

/// Follow a resize: the bounded area, and buffers that shrink with it.
fn follow_resize(terminal: &mut ratatui::DefaultTerminal, w: u16, h: u16) -> std::io::Result<()> {
    terminal.resize(bounded(w, h))
}

pub use crate::viewer::Exit;
use crate::viewer::{drive, BoxFuture, Face, Input, Inputs, Output, Settings};

/// The local terminal's input: its events, and the signals that end it.
struct LocalInputs {
    events: EventStream,
    sigterm: tokio::signal::unix::Signal,
    sighup: tokio::signal::unix::Signal,
}

impl LocalInputs {
    fn new() -> std::io::Result<LocalInputs> {
        use tokio::signal::unix::{signal, SignalKind};
        Ok(LocalInputs {
            events: EventStream::new(),
            sigterm: signal(SignalKind::terminate())?,
            sighup: signal(SignalKind::hangup())?,
        })
    }
}

impl Inputs for LocalInputs {
    fn next(&mut self) -> BoxFuture<'_, Input> {
        Box::pin(async move {
            tokio::select! {
                ev = self.events.next() => match ev {
                    Some(Ok(ev)) => Input::Events(vec![ev]),
                    Some(Err(_)) | None => Input::End(Exit::InputClosed),
                },
                _ = self.sigterm.recv() => Input::End(Exit::Signal("SIGTERM")),
                _ = self.sighup.recv() => Input::End(Exit::Signal("SIGHUP")),
            }
        })
    }
}

/// Frames to the local terminal, in its bounded viewport.
struct LocalOutput<'t> {
    terminal: &'t mut ratatui::DefaultTerminal,
    links: crate::links::LinkLayer,
}

impl Output for LocalOutput<'_> {
    fn draw(&mut self, paint: &mut dyn FnMut(&mut ratatui::buffer::Buffer)) -> std::io::Result<()> {
        crossterm::queue!(self.terminal.backend_mut(), BeginSynchronizedUpdate)?;
        let links = &mut self.links;
        let mut overlay = Vec::new();
        self.terminal.draw(|f| {
            paint(f.buffer_mut());
            overlay = links.overlay(f.buffer_mut());
            // After a shrink, give the memory of the larger screen back.
            f.buffer_mut().content.shrink_to_fit();
        })?;
        std::io::Write::write_all(self.terminal.backend_mut(), &overlay)?;
        crossterm::queue!(self.terminal.backend_mut(), EndSynchronizedUpdate)?;
        self.terminal.backend_mut().flush()
    }

    fn resize(&mut self, w: u16, h: u16) -> std::io::Result<()> {
        self.links.reset();
        follow_resize(self.terminal, w, h)
    }

    fn flush(&mut self) -> BoxFuture<'_, std::io::Result<()>> {
        Box::pin(async { Ok(()) })
    }
}

/// Run the console on the local terminal until quit, a signal, or loss of
/// the terminal. The caller has initialised the terminal.
pub async fn run(
    terminal: &mut ratatui::DefaultTerminal,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    view: ViewState,
    theme: Theme,
    executor: Executor,
    keymap: Vec<keymap::Binding>,
) -> std::io::Result<Exit> {
    let settings = Settings {
        snapshots,
        keymap: Arc::new(keymap),
        theme,
        depth: local_depth(),
        executor: Some(executor),
        idle: None,
    };
    let mut face = Face::Console(Box::new(view));
    drive(&mut face, &mut LocalInputs::new()?, &mut LocalOutput { terminal, links: Default::default() }, settings).await
}

/// Run the wall on the local terminal: no action is bound; `q` or Ctrl-C
/// quits; draws on snapshot changes, once a second for the clocks, and at
/// each rotation.
pub async fn run_wall(
    terminal: &mut ratatui::DefaultTerminal,
    snapshots: watch::Receiver<Arc<Snapshot>>,
    wall: crate::wall::WallState,
    theme: Theme,
    keymap: Vec<keymap::Binding>,
) -> std::io::Result<Exit> {
    let settings =
        Settings { snapshots, keymap: Arc::new(keymap), theme, depth: local_depth(), executor: None, idle: None };
    let mut face = Face::Wall(Box::new(wall));
    drive(&mut face, &mut LocalInputs::new()?, &mut LocalOutput { terminal, links: Default::default() }, settings).await
}
