//! One viewer loop for every screen: the local console, the local wall and
//! each SSH session run [`drive`], generic over where input comes from
//! ([`Inputs`]: the local terminal's events and signals, or bytes from an
//! SSH channel) and where frames go ([`Output`]: stdout, or a buffer sent
//! down the channel). One frame pacing, one tick policy, one way out.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use crossterm::event::{Event, KeyEventKind};
use ratatui::buffer::Buffer;
use tokio::sync::watch;
use tokio::time::Instant;
use warroom_ui::{ColorDepth, Theme};

use crate::actions::executor::Executor;
use crate::app::view::ViewState;
use crate::keymap::{self, Binding, Command};
use crate::model::Snapshot;
use crate::wall::WallState;

/// A boxed future, for the traits below.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// After input, the next frame follows this soon (typing echoes at once).
pub const INPUT_FRAME_GAP: Duration = Duration::from_millis(16);
/// Frames caused by data or the clock are at least this far apart: a storm
/// of snapshot changes coalesces, and a remote screen costs few bytes.
pub const DATA_FRAME_GAP: Duration = Duration::from_millis(100);
/// The in-flight spinner's step, while an action is in flight.
pub const SPINNER_STEP: Duration = Duration::from_millis(250);

/// Why a viewer loop ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exit {
    /// `q` (or Ctrl-C).
    Quit,
    /// A signal to the local process.
    Signal(&'static str),
    /// The terminal or the channel went away.
    InputClosed,
    /// No input for the idle timeout (SSH consoles).
    Idle,
    /// The executor is gone: the process is shutting down.
    Stopping,
}

/// What the viewer shows: the console (keys act) or the wall (read-only).
pub enum Face {
    Console(Box<ViewState>),
    Wall(Box<WallState>),
}

/// One wake-up's worth of input.
pub enum Input {
    Events(Vec<Event>),
    /// The terminal is now this size.
    Resize(u16, u16),
    /// Stop: the input is gone, or a signal came.
    End(Exit),
}

/// Where input comes from. `next` must be cancel-safe: the loop drops it
/// when a snapshot or a tick wakes first.
pub trait Inputs: Send {
    fn next(&mut self) -> BoxFuture<'_, Input>;
}

/// Where frames go.
pub trait Output: Send {
    /// Draw a frame (synchronized output around it); `paint` fills the buffer.
    fn draw(&mut self, paint: &mut dyn FnMut(&mut Buffer)) -> io::Result<()>;
    /// Follow a new terminal size.
    fn resize(&mut self, w: u16, h: u16) -> io::Result<()>;
    /// Send what was drawn (a remote screen waits for its client here).
    fn flush(&mut self) -> BoxFuture<'_, io::Result<()>>;
}

/// What a viewer loop needs besides its face, input and output.
pub struct Settings {
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    pub keymap: Arc<Vec<Binding>>,
    pub theme: Theme,
    pub depth: ColorDepth,
    /// Where a console's confirmed actions go (a wall has none).
    pub executor: Option<Executor>,
    /// A console with no input for this long ends (SSH).
    pub idle: Option<Duration>,
}

/// Run one viewer until it quits, its input ends or it idles out.
pub async fn drive(
    face: &mut Face,
    inputs: &mut dyn Inputs,
    out: &mut dyn Output,
    mut s: Settings,
) -> io::Result<Exit> {
    let mut snapshots_open = true;
    let mut dirty = true;
    let mut gap = INPUT_FRAME_GAP;
    let mut last_frame = Instant::now() - DATA_FRAME_GAP;
    let mut last_input = Instant::now();
    loop {
        let now_wall = Utc::now();
        if let Face::Console(view) = face {
            // A running runbook follows live state (and may re-send an
            // action confirmed before a crash).
            let snap = s.snapshots.borrow().clone();
            dirty |= view.observe(&snap, now_wall);
            if view.chart.source.is_none() {
                view.chart.source = s.executor.as_ref().and_then(|e| e.range_source()).map(String::from);
            }
            if !send_outbox(view, s.executor.as_ref()) {
                return Ok(Exit::Stopping);
            }
        }
        if dirty && last_frame.elapsed() >= gap {
            let snap = s.snapshots.borrow().clone();
            let now = Utc::now();
            let (theme, keymap, depth) = (&s.theme, &s.keymap, s.depth);
            match face {
                Face::Console(view) => out.draw(&mut |buf| {
                    let area = buf.area;
                    crate::render::render(&snap, view, keymap, now, theme, area, buf);
                    warroom_ui::downgrade(buf, depth);
                })?,
                Face::Wall(wall) => {
                    wall.observe(&snap, now);
                    out.draw(&mut |buf| {
                        let area = buf.area;
                        crate::wall::render(&snap, wall, now, theme, area, buf);
                        warroom_ui::downgrade(buf, depth);
                    })?
                }
            }
            out.flush().await?;
            if let (Face::Console(view), Some(ex)) = (&*face, s.executor.as_ref()) {
                // The ranges this frame's charts wanted: asked now, answered
                // into a later snapshot (asked again each frame until then;
                // the data plane asks its source once per refresh).
                for q in view.chart.wanted.take() {
                    ex.ask_range(q);
                }
            }
            last_frame = Instant::now();
            dirty = false;
            gap = DATA_FRAME_GAP;
        }
        // Next whole second, so the clock and ages tick exactly once a second.
        let ms_to_next_second = 1000 - Utc::now().timestamp_subsec_millis().min(999) as u64;
        let clock_tick = Instant::now() + Duration::from_millis(ms_to_next_second);
        let frame_due = last_frame + gap;
        let spinning = matches!(face, Face::Console(_)) && s.snapshots.borrow().fleet.actions_in_flight() > 0;
        let idle_at = s.idle.filter(|_| matches!(face, Face::Console(_))).map(|d| last_input + d);
        tokio::select! {
            input = inputs.next() => match input {
                Input::Events(events) => {
                    last_input = Instant::now();
                    let snap = s.snapshots.borrow().clone();
                    for ev in events {
                        match on_event(face, &ev, &s.keymap, &snap, out)? {
                            Some(exit) => return Ok(exit),
                            None => {
                                dirty = true;
                                gap = INPUT_FRAME_GAP;
                            }
                        }
                    }
                }
                Input::Resize(w, h) => {
                    out.resize(w, h)?;
                    dirty = true;
                }
                Input::End(exit) => return Ok(exit),
            },
            changed = s.snapshots.changed(), if snapshots_open => {
                if changed.is_err() {
                    snapshots_open = false;
                }
                dirty = true;
            }
            _ = tokio::time::sleep_until(clock_tick) => dirty = true,
            // The in-flight spinner turns only while something is in flight.
            _ = tokio::time::sleep(SPINNER_STEP), if spinning => dirty = true,
            _ = tokio::time::sleep_until(frame_due), if dirty => {}
            _ = sleep_until_opt(idle_at), if idle_at.is_some() => return Ok(Exit::Idle),
        }
    }
}

async fn sleep_until_opt(at: Option<Instant>) {
    match at {
        Some(t) => tokio::time::sleep_until(t).await,
        None => std::future::pending().await,
    }
}

/// Hand the intents keys produced to the executor; false once it is gone.
fn send_outbox(view: &mut ViewState, executor: Option<&Executor>) -> bool {
    let Some(ex) = executor else {
        view.outbox.clear();
        view.posts.clear();
        return true;
    };
    for p in view.posts.drain(..) {
        ex.post(p);
    }
    view.outbox.drain(..).all(|intent| ex.submit(intent).is_ok())
}

/// One input event; `Some` ends the loop.
fn on_event(
    face: &mut Face,
    ev: &Event,
    keymap: &[Binding],
    snap: &Snapshot,
    out: &mut dyn Output,
) -> io::Result<Option<Exit>> {
    if let Event::Resize(w, h) = ev {
        out.resize(*w, *h)?;
        return Ok(None);
    }
    match face {
        Face::Console(view) => {
            match ev {
                Event::Key(k) if k.kind == KeyEventKind::Press => {
                    if keymap::is_ctrl_c(k) {
                        return Ok(Some(Exit::Quit));
                    }
                    view.handle_key(k, keymap, snap);
                    if view.quit {
                        return Ok(Some(Exit::Quit));
                    }
                }
                Event::Paste(text) => {
                    view.paste(text);
                }
                Event::Mouse(m) => {
                    view.mouse(m, snap);
                }
                _ => {}
            }
            Ok(None)
        }
        // The wall binds nothing but the keymap's quit.
        Face::Wall(_) => match ev {
            Event::Key(k)
                if k.kind == KeyEventKind::Press
                    && (keymap::is_ctrl_c(k) || keymap::lookup(keymap, k) == Some(Command::Quit)) =>
            {
                Ok(Some(Exit::Quit))
            }
            _ => Ok(None),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
    use tokio::sync::mpsc;

    /// Input from a channel: what a test sends is what the loop reads.
    struct Sent(mpsc::Receiver<Input>);

    impl Inputs for Sent {
        fn next(&mut self) -> BoxFuture<'_, Input> {
            Box::pin(async move { self.0.recv().await.unwrap_or(Input::End(Exit::InputClosed)) })
        }
    }

    /// Frames into a buffer of the size last asked for.
    struct Screen {
        buf: Buffer,
        frames: usize,
        resized: Option<(u16, u16)>,
    }

    impl Output for Screen {
        fn draw(&mut self, paint: &mut dyn FnMut(&mut Buffer)) -> io::Result<()> {
            self.buf.reset();
            paint(&mut self.buf);
            self.frames += 1;
            Ok(())
        }
        fn resize(&mut self, w: u16, h: u16) -> io::Result<()> {
            self.buf = Buffer::empty(ratatui::layout::Rect::new(0, 0, w, h));
            self.resized = Some((w, h));
            Ok(())
        }
        fn flush(&mut self) -> BoxFuture<'_, io::Result<()>> {
            Box::pin(async { Ok(()) })
        }
    }

    fn screen() -> Screen {
        Screen { buf: Buffer::empty(ratatui::layout::Rect::new(0, 0, 80, 24)), frames: 0, resized: None }
    }

    fn settings(idle: Option<Duration>) -> (Settings, watch::Sender<Arc<Snapshot>>) {
        let (tx, rx) = watch::channel(Arc::new(Snapshot::default()));
        let keymap = Arc::new(crate::keymap::DEFAULT_KEYMAP.to_vec());
        let s =
            Settings { snapshots: rx, keymap, theme: Theme::mono(), depth: ColorDepth::Ansi16, executor: None, idle };
        (s, tx)
    }

    fn key(c: char) -> Input {
        Input::Events(vec![Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))])
    }

    #[tokio::test]
    async fn the_wall_draws_follows_a_resize_and_quits_on_q_only() {
        let (tx, rx) = mpsc::channel(8);
        let mut face = Face::Wall(Box::new(WallState::new(vec![], Duration::from_secs(20), Utc::now())));
        let (s, _snaps) = settings(None);
        tx.send(Input::Resize(100, 30)).await.ok();
        tx.send(key('F')).await.ok();
        tx.send(key('q')).await.ok();
        let mut out = screen();
        let exit = drive(&mut face, &mut Sent(rx), &mut out, s).await.ok();
        assert_eq!(exit, Some(Exit::Quit), "q quits; F (an action key) does nothing on a wall");
        assert!(out.frames >= 1);
        assert_eq!(out.resized, Some((100, 30)));
    }

    #[tokio::test]
    async fn a_console_without_input_idles_out_and_a_closed_input_ends_it() {
        let (_tx, rx) = mpsc::channel(8);
        let mut face = Face::Console(Box::default());
        let (s, _snaps) = settings(Some(Duration::from_millis(200)));
        let (mut out, mut input) = (screen(), Sent(rx));
        let run = drive(&mut face, &mut input, &mut out, s);
        let exit = tokio::time::timeout(Duration::from_secs(10), run).await.ok().and_then(|r| r.ok());
        assert_eq!(exit, Some(Exit::Idle), "no input for the idle timeout ends a console");
        let (tx, rx) = mpsc::channel(8);
        drop(tx);
        let mut face = Face::Console(Box::default());
        let (s, _snaps) = settings(None);
        assert_eq!(drive(&mut face, &mut Sent(rx), &mut screen(), s).await.ok(), Some(Exit::InputClosed));
    }

    #[tokio::test]
    async fn console_keys_reach_the_view_and_q_quits() {
        let (tx, rx) = mpsc::channel(8);
        let mut face = Face::Console(Box::default());
        let (s, _snaps) = settings(None);
        tx.send(key('?')).await.ok();
        tx.send(key('x')).await.ok(); // closes help (any key)
        tx.send(key('q')).await.ok();
        let mut out = screen();
        let exit = drive(&mut face, &mut Sent(rx), &mut out, s).await.ok();
        assert_eq!(exit, Some(Exit::Quit));
        let Face::Console(view) = &face else { panic!("console") };
        assert!(!view.help && view.quit, "help opened and closed, then quit");
    }
}
