//! The interactive console: one owner of terminal input, a select loop over
//! input, snapshot changes and the clock, and coalesced, synchronized frames.

pub mod command;
pub mod runbook_ui;
pub mod view;

use std::io::Write;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use crossterm::event::{Event, EventStream, KeyEventKind};
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use futures_util::StreamExt;
use tokio::sync::watch;
use tokio::time::Instant;
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

/// Frames are at least this far apart; bursts of changes coalesce.
const MIN_FRAME_GAP: Duration = Duration::from_millis(16);

/// Why the loop ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Exit {
    Quit,
    Signal(&'static str),
    InputClosed,
}

/// Run the console on the local terminal until quit, a signal, or loss of
/// the terminal. The caller has initialised the terminal.
pub async fn run(
    terminal: &mut ratatui::DefaultTerminal,
    mut snapshots: watch::Receiver<Arc<Snapshot>>,
    mut view: ViewState,
    theme: Theme,
    executor: Executor,
    keymap: Vec<keymap::Binding>,
) -> std::io::Result<Exit> {
    let mut events = EventStream::new();
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sighup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut snapshots_open = true;
    let mut dirty = true;
    let mut last_frame = Instant::now() - MIN_FRAME_GAP;
    loop {
        let now_wall = Utc::now();
        {
            // A running runbook follows live state (and may re-send an
            // action confirmed before a crash).
            let snap = snapshots.borrow().clone();
            dirty |= view.observe(&snap, now_wall);
            for intent in view.outbox.drain(..) {
                if executor.submit(intent).is_err() {
                    // Only when the runtime is shutting down.
                    return Ok(Exit::InputClosed);
                }
            }
        }
        if dirty && last_frame.elapsed() >= MIN_FRAME_GAP {
            let snap = snapshots.borrow().clone();
            draw(terminal, &snap, &view, &theme, &keymap)?;
            last_frame = Instant::now();
            dirty = false;
        }
        // Next whole second, so the clock and ages tick exactly once a second.
        let ms_to_next_second = 1000 - now_wall.timestamp_subsec_millis().min(999) as u64;
        let clock_tick = Instant::now() + Duration::from_millis(ms_to_next_second);
        let frame_due = last_frame + MIN_FRAME_GAP;
        let spinning = snapshots.borrow().fleet.actions_in_flight() > 0;
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind == KeyEventKind::Press => {
                    if keymap::is_ctrl_c(&k) {
                        return Ok(Exit::Quit);
                    }
                    let snap = snapshots.borrow().clone();
                    dirty |= view.handle_key(&k, &keymap, &snap);
                    if view.quit {
                        return Ok(Exit::Quit);
                    }
                    // Intents the key produced go out at the top of the loop.
                }
                Some(Ok(Event::Paste(text))) => dirty |= view.paste(&text),
                Some(Ok(Event::Mouse(m))) => {
                    let snap = snapshots.borrow().clone();
                    dirty |= view.mouse(&m, &snap);
                }
                Some(Ok(Event::Resize(w, h))) => {
                    follow_resize(terminal, w, h)?;
                    dirty = true;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Ok(Exit::InputClosed),
            },
            changed = snapshots.changed(), if snapshots_open => {
                if changed.is_err() {
                    snapshots_open = false;
                }
                dirty = true;
            }
            _ = tokio::time::sleep_until(clock_tick) => dirty = true,
            // The in-flight spinner turns only while something is in flight.
            _ = tokio::time::sleep(Duration::from_millis(250)), if spinning => dirty = true,
            _ = tokio::time::sleep_until(frame_due), if dirty => {}
            _ = sigterm.recv() => return Ok(Exit::Signal("SIGTERM")),
            _ = sighup.recv() => return Ok(Exit::Signal("SIGHUP")),
        }
    }
}

fn draw(
    terminal: &mut ratatui::DefaultTerminal,
    snap: &Snapshot,
    view: &ViewState,
    theme: &Theme,
    keymap: &[keymap::Binding],
) -> std::io::Result<()> {
    crossterm::queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
    let now = Utc::now();
    terminal.draw(|f| {
        let area = f.area();
        crate::render::render(snap, view, keymap, now, theme, area, f.buffer_mut());
        warroom_ui::downgrade(f.buffer_mut(), local_depth());
        // After a shrink, give the memory of the larger screen back.
        f.buffer_mut().content.shrink_to_fit();
    })?;
    crossterm::queue!(terminal.backend_mut(), EndSynchronizedUpdate)?;
    terminal.backend_mut().flush()
}

/// Run the wall on the local terminal: no action is bound; `q` or Ctrl-C
/// quits; draws on snapshot changes, once a second for the clocks, and at
/// each rotation.
pub async fn run_wall(
    terminal: &mut ratatui::DefaultTerminal,
    mut snapshots: watch::Receiver<Arc<Snapshot>>,
    mut wall: crate::wall::WallState,
    theme: Theme,
    keymap: Vec<keymap::Binding>,
) -> std::io::Result<Exit> {
    let mut events = EventStream::new();
    let mut sigterm = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let mut sighup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())?;
    let mut snapshots_open = true;
    let mut dirty = true;
    loop {
        if dirty {
            let snap = snapshots.borrow().clone();
            let now = Utc::now();
            wall.observe(&snap, now);
            crossterm::queue!(terminal.backend_mut(), BeginSynchronizedUpdate)?;
            terminal.draw(|f| {
                let area = f.area();
                crate::wall::render(&snap, &wall, now, &theme, area, f.buffer_mut());
                warroom_ui::downgrade(f.buffer_mut(), local_depth());
                f.buffer_mut().content.shrink_to_fit();
            })?;
            crossterm::queue!(terminal.backend_mut(), EndSynchronizedUpdate)?;
            terminal.backend_mut().flush()?;
            dirty = false;
        }
        let now_wall = Utc::now();
        let ms_to_next_second = 1000 - now_wall.timestamp_subsec_millis().min(999) as u64;
        let clock_tick = Instant::now() + Duration::from_millis(ms_to_next_second);
        tokio::select! {
            ev = events.next() => match ev {
                Some(Ok(Event::Key(k))) if k.kind == KeyEventKind::Press => {
                    // The wall binds nothing but the keymap's quit.
                    if keymap::is_ctrl_c(&k) || keymap::lookup(&keymap, &k) == Some(keymap::Command::Quit) {
                        return Ok(Exit::Quit);
                    }
                }
                Some(Ok(Event::Resize(w, h))) => {
                    follow_resize(terminal, w, h)?;
                    dirty = true;
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => return Ok(Exit::InputClosed),
            },
            changed = snapshots.changed(), if snapshots_open => {
                if changed.is_err() {
                    snapshots_open = false;
                }
                dirty = true;
            }
            _ = tokio::time::sleep_until(clock_tick) => dirty = true,
            _ = sigterm.recv() => return Ok(Exit::Signal("SIGTERM")),
            _ = sighup.recv() => return Ok(Exit::Signal("SIGHUP")),
        }
    }
}
