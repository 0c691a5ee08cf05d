//! `warroom serve-ssh`: one data plane, many SSH viewers.
//!
//! Public-key authentication only, against an OpenSSH authorized_keys file
//! with a role per key. Each session owns its view state, size and terminal;
//! all share one snapshot stream, so backend requests do not grow with
//! sessions. Log in as `console` for the operator console; any other user
//! name gets the wall.

pub mod input;
pub mod keys;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use crossterm::terminal::{BeginSynchronizedUpdate, EndSynchronizedUpdate};
use ratatui::backend::CrosstermBackend;
use ratatui::layout::Rect;
use ratatui::{Terminal, TerminalOptions, Viewport};
use russh::keys::ssh_key::PublicKey;
use russh::server::{Auth, Config, Handler, Msg, Server, Session};
use russh::{Channel, ChannelId, MethodKind, MethodSet, Pty};
use tokio::sync::{mpsc, watch};
use warroom_ui::Theme;

use crate::actions::executor::Executor;
use crate::actions::{Operator, Role};
use crate::app::view::ViewState;
use crate::audit::Entry;
use crate::model::Snapshot;
use crate::viewer::{drive, BoxFuture, Exit, Face, Input, Inputs, Output, Settings};
use crate::wall::{WallState, WallView};
use keys::AllowedKey;

/// Largest terminal a client may claim (two buffers of cells are kept per
/// session: 500×200 is about 100,000 cells, a few MB; a 4K screen in a small
/// font is about 400×120).
pub const MAX_COLS: u16 = 500;
pub const MAX_ROWS: u16 = 200;

pub struct SshOptions {
    pub listen: SocketAddr,
    pub host_key: PathBuf,
    pub authorized_keys: PathBuf,
    pub max_sessions: usize,
    pub idle_timeout: Duration,
    pub rotate: Duration,
    pub views: Vec<WallView>,
}

/// Everything sessions share.
pub struct Shared {
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    /// The authorized keys as last read (replaced on SIGHUP).
    pub keys: std::sync::RwLock<Arc<Vec<AllowedKey>>>,
    /// Where they are read from.
    pub keys_path: PathBuf,
    /// Sessions open per key (by fingerprint), against `max_per_key`.
    pub per_key: std::sync::Mutex<HashMap<String, usize>>,
    pub max_per_key: usize,
    /// A console session with no input for this long is closed (walls are
    /// watched, not typed at: they are kept alive by keepalives only).
    pub idle_timeout: Duration,
    pub audit: crate::actions::executor::SharedAudit,
    pub executor: Executor,
    pub active: AtomicUsize,
    pub max_sessions: usize,
    pub rotate: Duration,
    pub views: Vec<WallView>,
    /// Theme for sessions that do not send NO_COLOR.
    pub theme: Theme,
    /// Keys for console sessions (the server's keymap.toml, else defaults).
    pub keymap: Vec<crate::keymap::Binding>,
    /// Views for console sessions' `:view`.
    pub catalog: Arc<crate::views::Catalog>,
    /// The DEMO label when the sessions watch the embedded demo fleet.
    pub demo: Option<String>,
    /// Refused attempts per peer address in the current minute, so a flood
    /// of unknown keys or passwords costs the trail a few records.
    pub refusals: std::sync::Mutex<HashMap<std::net::IpAddr, (i64, u32)>>,
}

/// Refusals from one peer recorded one by one in a minute; the rest are
/// counted and recorded as one line when the minute is over.
pub const REFUSALS_RECORDED_PER_MINUTE: u32 = 5;

impl Shared {
    /// Record that the server stops, with the sessions still open (they get
    /// no logout record of their own when the process ends).
    pub fn stopped(&self, why: &str) {
        let open = self.active.load(Ordering::SeqCst);
        let text = format!("serve-ssh stopped ({why}) with {open} session(s) open");
        self.audit("logout", "", Role::Viewer, text, String::new());
    }

    /// The keys in force now.
    pub fn keys(&self) -> Arc<Vec<AllowedKey>> {
        self.keys.read().map(|k| k.clone()).unwrap_or_else(|e| e.into_inner().clone())
    }

    /// Read authorized_keys again (SIGHUP). On an error the keys in force
    /// stay; either way the trail says what happened. Sessions already open
    /// are not closed (as with sshd).
    pub fn reload_keys(&self) -> Result<usize, String> {
        match keys::authorized_keys(&self.keys_path) {
            Ok(file) => {
                for r in &file.refused {
                    eprintln!("warroom serve-ssh: {r}");
                }
                let n = file.keys.len();
                let text = format!(
                    "ssh authorized_keys reloaded from {}: {n} key(s), {} line(s) refused",
                    self.keys_path.display(),
                    file.refused.len()
                );
                match self.keys.write() {
                    Ok(mut k) => *k = Arc::new(file.keys),
                    Err(e) => *e.into_inner() = Arc::new(file.keys),
                }
                self.audit("reload", "", Role::Viewer, text, file.refused.join("; "));
                Ok(n)
            }
            Err(e) => {
                let text = format!("ssh authorized_keys reload failed, the previous keys stay: {e}");
                self.audit("reload", "", Role::Viewer, text, String::new());
                Err(e)
            }
        }
    }

    /// Record a refused attempt, at most `REFUSALS_RECORDED_PER_MINUTE` a
    /// minute per peer; past that, one notice, and the count when the
    /// peer's next minute begins.
    fn refuse(&self, peer: Option<std::net::SocketAddr>, user: &str, summary: String, message: String) {
        let minute = chrono::Utc::now().timestamp().div_euclid(60);
        let ip = peer.map(|p| p.ip()).unwrap_or(std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED));
        let (n, carried) = {
            let mut m = self.refusals.lock().unwrap_or_else(|e| e.into_inner());
            if m.len() > 4096 {
                m.retain(|_, (at, _)| *at >= minute - 1);
            }
            let e = m.entry(ip).or_insert((minute, 0));
            let carried = if e.0 != minute { std::mem::replace(e, (minute, 0)).1 } else { 0 };
            e.1 += 1;
            (e.1, carried)
        };
        if carried > REFUSALS_RECORDED_PER_MINUTE {
            let more = carried - REFUSALS_RECORDED_PER_MINUTE;
            let text = format!(
                "{more} more refused attempt(s) from {ip} in the previous minute, counted, not recorded one by one"
            );
            self.audit("refused", "", Role::Viewer, text, String::new());
        }
        if n <= REFUSALS_RECORDED_PER_MINUTE {
            self.audit("refused", user, Role::Viewer, summary, message);
        } else if n == REFUSALS_RECORDED_PER_MINUTE + 1 {
            let text = format!("refused attempts from {ip}: more than {REFUSALS_RECORDED_PER_MINUTE} this minute, further ones are counted");
            self.audit("refused", "", Role::Viewer, text, String::new());
        }
    }

    fn audit(&self, event: &'static str, operator: &str, role: Role, summary: String, message: String) {
        // A client picks its user name: capped and made printable before it
        // is recorded (a 30,000-character name once made a 60 KB record).
        let clean = client_name(operator);
        let summary = if operator.is_empty() { summary } else { summary.replace(operator, &clean) };
        let operator = clean;
        let mut guard = self.audit.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(log) = guard.as_mut() {
            let written = log.append(Entry {
                event,
                operator: operator.clone(),
                role: role.name().into(),
                action: serde_json::json!({"kind": "ssh"}),
                summary,
                key: String::new(),
                result: match event {
                    "refused" => "refused",
                    _ => "succeeded",
                },
                message,
                backend: String::new(),
            });
            // Loudly: an unrecorded login must not pass unnoticed.
            if let Err(e) = written {
                eprintln!("warroom serve-ssh: AUDIT WRITE FAILED ({event} {operator}): {e}");
            }
        } else {
            eprintln!("warroom serve-ssh: NO AUDIT TRAIL: {event} {operator} not recorded");
        }
    }
}

/// 64 random bits as hex: one per SSH connection.
fn session_id() -> String {
    use ring::rand::SecureRandom;
    let mut b = [0u8; 8];
    let _ = ring::rand::SystemRandom::new().fill(&mut b);
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Longest client-chosen user name kept, in characters.
pub const MAX_CLIENT_NAME: usize = 64;

/// A client-chosen name as recorded: control and format characters
/// escaped, at most `MAX_CLIENT_NAME` characters (then `…`).
pub fn client_name(name: &str) -> String {
    let escaped = crate::audit::escape_terminal(name);
    let mut out: String = escaped.chars().take(MAX_CLIENT_NAME).collect();
    if escaped.chars().count() > MAX_CLIENT_NAME {
        out.push('…');
    }
    out
}

#[derive(Clone)]
struct SshServer {
    shared: Arc<Shared>,
}

impl Server for SshServer {
    type Handler = Conn;
    fn new_client(&mut self, peer: Option<SocketAddr>) -> Conn {
        Conn {
            shared: self.shared.clone(),
            peer,
            user: String::new(),
            who: None,
            session: session_id(),
            channels: HashMap::new(),
        }
    }
}

/// Per-channel state until and while its session runs.
#[derive(Default)]
struct Chan {
    channel: Option<Channel<Msg>>,
    size: (u16, u16),
    no_color: bool,
    term: String,
    colorterm: Option<String>,
    input: Option<mpsc::Sender<Vec<u8>>>,
    size_tx: Option<watch::Sender<(u16, u16)>>,
}

/// One SSH connection.
pub struct Conn {
    shared: Arc<Shared>,
    peer: Option<SocketAddr>,
    user: String,
    who: Option<AllowedKey>,
    /// Random id of this connection, in its login record and every action it sends.
    session: String,
    channels: HashMap<ChannelId, Chan>,
}

impl Drop for Conn {
    fn drop(&mut self) {
        if let Some(k) = &self.who {
            let peer = self.peer.map(|p| p.to_string()).unwrap_or_default();
            self.shared.audit(
                "logout",
                &self.user,
                k.role,
                format!("ssh logout from {peer}"),
                keys::fingerprint(&k.key),
            );
        }
    }
}

fn clamp(cols: u32, rows: u32) -> (u16, u16) {
    (cols.min(MAX_COLS as u32) as u16, rows.min(MAX_ROWS as u32) as u16)
}

impl Handler for Conn {
    type Error = russh::Error;

    async fn auth_publickey_offered(&mut self, user: &str, key: &PublicKey) -> Result<Auth, Self::Error> {
        // Only keys that may log in now, from here, get PK_OK, so clients
        // do not try to sign with others.
        let peer = self.peer.map(|p| p.to_string()).unwrap_or_default();
        let keys = self.shared.keys();
        let why = match keys::find(&keys, key) {
            Some(k) => match k.admits(self.peer.map(|p| p.ip()), Utc::now()) {
                Ok(()) => return Ok(Auth::Accept),
                Err(why) => why,
            },
            None => "not in authorized_keys".into(),
        };
        let summary = format!("ssh key refused for {user} from {peer}: {why}");
        self.shared.refuse(self.peer, user, summary, keys::fingerprint(key));
        Ok(Auth::reject())
    }

    async fn auth_publickey(&mut self, user: &str, key: &PublicKey) -> Result<Auth, Self::Error> {
        let peer = self.peer.map(|p| p.to_string()).unwrap_or_default();
        let keys = self.shared.keys();
        let found = keys::find(&keys, key).map(|k| (k, k.admits(self.peer.map(|p| p.ip()), Utc::now())));
        match found {
            Some((k, Ok(()))) => {
                self.user = user.to_string();
                self.who = Some(k.clone());
                let summary = format!("ssh login as {user} from {peer}");
                let detail = format!("{} session {}", keys::fingerprint(key), self.session);
                self.shared.audit("login", user, k.role, summary, detail);
                Ok(Auth::Accept)
            }
            other => {
                let why = match other {
                    Some((_, Err(why))) => why,
                    _ => "unknown key".into(),
                };
                let summary = format!("ssh login refused for {user} from {peer}: {why}");
                self.shared.refuse(self.peer, user, summary, keys::fingerprint(key));
                Ok(Auth::reject())
            }
        }
    }

    async fn auth_password(&mut self, user: &str, _password: &str) -> Result<Auth, Self::Error> {
        let peer = self.peer.map(|p| p.to_string()).unwrap_or_default();
        self.shared.refuse(
            self.peer,
            user,
            format!("ssh password login refused for {user} from {peer}"),
            String::new(),
        );
        Ok(Auth::reject())
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: russh::server::ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let id = channel.id();
        self.channels.insert(id, Chan { channel: Some(channel), size: (80, 24), ..Chan::default() });
        reply.accept().await;
        Ok(())
    }

    #[allow(clippy::too_many_arguments)]
    async fn pty_request(
        &mut self,
        channel: ChannelId,
        term: &str,
        cols: u32,
        rows: u32,
        _pw: u32,
        _ph: u32,
        _modes: &[(Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        // A key with `no-pty` (or `restrict` without `pty`) is refused at the
        // shell request, with words: a client told "PTY allocation failed"
        // under `-tt` exits before it could read why.
        if let Some(c) = self.channels.get_mut(&channel) {
            c.size = clamp(cols, rows);
            c.term = term.chars().take(64).collect();
        }
        session.channel_success(channel)?;
        Ok(())
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(c) = self.channels.get_mut(&channel) {
            match name {
                "NO_COLOR" if !value.is_empty() => c.no_color = true,
                "COLORTERM" => c.colorterm = Some(value.chars().take(32).collect()),
                _ => {}
            }
        }
        session.channel_success(channel)?;
        Ok(())
    }

    async fn shell_request(&mut self, channel: ChannelId, session: &mut Session) -> Result<(), Self::Error> {
        let Some(who) = self.who.clone() else {
            session.channel_failure(channel)?;
            return Ok(());
        };
        let Some(c) = self.channels.get_mut(&channel) else {
            session.channel_failure(channel)?;
            return Ok(());
        };
        let Some(ch) = c.channel.take() else {
            session.channel_failure(channel)?;
            return Ok(());
        };
        session.channel_success(channel)?;
        let shared = self.shared.clone();
        if !who.pty {
            let summary = format!("ssh session refused for {}: the key may not have a terminal", self.user);
            shared.audit("refused", &self.user, who.role, summary, keys::fingerprint(&who.key));
            let msg = format!(
                "warroom: this key may not open a terminal (no-pty or restrict, authorized_keys line {}), and the console needs one\r\n",
                who.line
            );
            let _ = ch.data(msg.as_bytes()).await;
            let _ = ch.exit_status(1).await;
            let _ = ch.eof().await;
            let _ = ch.close().await;
            return Ok(());
        }
        // Claim a session slot; refuse past the limit.
        if shared.active.fetch_add(1, Ordering::SeqCst) >= shared.max_sessions {
            shared.active.fetch_sub(1, Ordering::SeqCst);
            let summary = format!("ssh session refused for {}: limit of {} sessions", self.user, shared.max_sessions);
            shared.audit("refused", &self.user, who.role, summary, String::new());
            let msg = format!("warroom: too many sessions (limit {})\r\n", shared.max_sessions);
            let _ = ch.data(msg.as_bytes()).await;
            let _ = ch.exit_status(1).await;
            let _ = ch.eof().await;
            let _ = ch.close().await;
            return Ok(());
        }
        // And per key: one key cannot take every slot.
        let fp = keys::fingerprint(&who.key);
        let per_key = {
            let mut m = shared.per_key.lock().unwrap_or_else(|e| e.into_inner());
            let n = m.entry(fp.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let slot = Slot(shared.clone(), fp.clone());
        if per_key > shared.max_per_key {
            drop(slot);
            let summary = format!(
                "ssh session refused for {}: limit of {} sessions per key ({fp})",
                self.user, shared.max_per_key
            );
            shared.audit("refused", &self.user, who.role, summary, String::new());
            let msg = format!("warroom: too many sessions for this key (limit {})\r\n", shared.max_per_key);
            let _ = ch.data(msg.as_bytes()).await;
            let _ = ch.exit_status(1).await;
            let _ = ch.eof().await;
            let _ = ch.close().await;
            return Ok(());
        }
        let (in_tx, in_rx) = mpsc::channel(64);
        let (size_tx, size_rx) = watch::channel(c.size);
        c.input = Some(in_tx);
        c.size_tx = Some(size_tx);
        let theme = if c.no_color { Theme::mono() } else { shared.theme.clone() };
        let depth = warroom_ui::ColorDepth::detect(&c.term, c.colorterm.as_deref());
        let console = self.user == "console";
        // Who acted, as the trail needs it: the key's comment, its
        // fingerprint and this connection's session id.
        let base = if who.comment.is_empty() { self.user.clone() } else { who.comment.clone() };
        let name = format!("{} [ssh {} session {}]", client_name(&base), keys::fingerprint(&who.key), self.session);
        let operator = Operator { name, role: who.role };
        tokio::spawn(async move {
            let _slot = slot;
            run_session(shared, ch, in_rx, size_rx, SessionSpec { console, operator, theme, depth }).await;
        });
        Ok(())
    }

    async fn data(&mut self, channel: ChannelId, data: &[u8], _session: &mut Session) -> Result<(), Self::Error> {
        if let Some(tx) = self.channels.get(&channel).and_then(|c| c.input.as_ref()) {
            // A client that types faster than we read loses keys, not memory.
            let _ = tx.try_send(data.to_vec());
        }
        Ok(())
    }

    async fn window_change_request(
        &mut self,
        channel: ChannelId,
        cols: u32,
        rows: u32,
        _pw: u32,
        _ph: u32,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        if let Some(tx) = self.channels.get(&channel).and_then(|c| c.size_tx.as_ref()) {
            let _ = tx.send(clamp(cols, rows));
        }
        Ok(())
    }

    /// `ssh host command`: nothing is run here (the console is a shell
    /// session). Refused with a word on stderr, an exit status and a close,
    /// so the client ends at once instead of waiting for a reply.
    async fn exec_request(
        &mut self,
        channel: ChannelId,
        _data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        refuse_channel(channel, session, "warroom: commands are not run over SSH; connect without one for the console")
    }

    /// `ssh -s host sftp` and other subsystems: refused the same way.
    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        _name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        refuse_channel(
            channel,
            session,
            "warroom: no subsystems here (no sftp, no scp); connect without one for the console",
        )
    }

    /// The client will send no more input (`ssh host < /dev/null`): the
    /// session goes on drawing; only a close ends it.
    async fn channel_eof(&mut self, channel: ChannelId, _session: &mut Session) -> Result<(), Self::Error> {
        if let Some(c) = self.channels.get_mut(&channel) {
            c.input = None;
        }
        Ok(())
    }

    async fn channel_close(&mut self, channel: ChannelId, _session: &mut Session) -> Result<(), Self::Error> {
        self.channels.remove(&channel);
        Ok(())
    }
}

/// Refuse a channel request: failure, a line on stderr, exit status 1, close.
fn refuse_channel(channel: ChannelId, session: &mut Session, why: &str) -> Result<(), russh::Error> {
    // The words first: a client may exit as soon as it reads the failure.
    session.extended_data(channel, 1, format!("{why}\r\n").into_bytes())?;
    session.exit_status_request(channel, 1)?;
    session.channel_failure(channel)?;
    session.eof(channel)?;
    session.close(channel)
}

/// Releases a session slot (and the key's) when the session task ends,
/// however it ends.
struct Slot(Arc<Shared>, String);

impl Drop for Slot {
    fn drop(&mut self) {
        self.0.active.fetch_sub(1, Ordering::SeqCst);
        let mut m = self.0.per_key.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = m.get_mut(&self.1) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                m.remove(&self.1);
            }
        }
    }
}

type Term = Terminal<CrosstermBackend<Vec<u8>>>;

/// What a session shows and how: console or wall, as whom, in which theme
/// and colour depth.
struct SessionSpec {
    console: bool,
    operator: Operator,
    theme: Theme,
    depth: warroom_ui::ColorDepth,
}

fn terminal(size: (u16, u16)) -> std::io::Result<Term> {
    let rect = Rect::new(0, 0, size.0, size.1);
    Terminal::with_options(CrosstermBackend::new(Vec::new()), TerminalOptions { viewport: Viewport::Fixed(rect) })
}

/// An SSH session's input: bytes from the channel (parsed into keys and
/// pastes) and the client's window size. EOF from the client ends input,
/// not the screen; a closed channel (its size sender dropped) ends it.
struct SshInputs {
    input: mpsc::Receiver<Vec<u8>>,
    size: watch::Receiver<(u16, u16)>,
    parser: input::Parser,
    input_open: bool,
}

impl Inputs for SshInputs {
    fn next(&mut self) -> BoxFuture<'_, Input> {
        Box::pin(async move {
            loop {
                tokio::select! {
                    bytes = self.input.recv(), if self.input_open => match bytes {
                        Some(bytes) => return Input::Events(self.parser.feed(&bytes)),
                        // EOF from the client: no more input, the screen goes on.
                        None => self.input_open = false,
                    },
                    changed = self.size.changed() => {
                        if changed.is_err() {
                            return Input::End(Exit::InputClosed);
                        }
                        // A burst of window changes is one resize: the watch
                        // keeps only the latest size.
                        let (w, h) = *self.size.borrow_and_update();
                        return Input::Resize(w, h);
                    }
                }
            }
        })
    }
}

/// Frames drawn into a buffer and sent down the channel. Writes wait for
/// the client's SSH window, so a stalled client stalls only its own frames.
struct SshOutput {
    term: Term,
    ch: Channel<Msg>,
    pending: Vec<u8>,
    links: crate::links::LinkLayer,
}

impl Output for SshOutput {
    fn draw(&mut self, paint: &mut dyn FnMut(&mut ratatui::buffer::Buffer)) -> std::io::Result<()> {
        crossterm::queue!(self.term.backend_mut(), BeginSynchronizedUpdate)?;
        let links = &mut self.links;
        let mut overlay = Vec::new();
        self.term.draw(|f| {
            paint(f.buffer_mut());
            overlay = links.overlay(f.buffer_mut());
        })?;
        std::io::Write::write_all(self.term.backend_mut(), &overlay)?;
        crossterm::queue!(self.term.backend_mut(), EndSynchronizedUpdate)?;
        self.pending.append(self.term.backend_mut().writer_mut());
        Ok(())
    }

    fn resize(&mut self, w: u16, h: u16) -> std::io::Result<()> {
        self.links.reset();
        self.term.resize(Rect::new(0, 0, w, h))
    }

    fn flush(&mut self) -> BoxFuture<'_, std::io::Result<()>> {
        Box::pin(async move {
            let bytes = std::mem::take(&mut self.pending);
            if bytes.is_empty() {
                return Ok(());
            }
            self.ch.data(&bytes[..]).await.map_err(|_| std::io::Error::other("the SSH channel closed"))
        })
    }
}

/// One viewer: owns its terminal and view state; the only shared thing is
/// the snapshot stream (the watch channel keeps just the latest snapshot,
/// so memory stays flat whatever a client does).
async fn run_session(
    shared: Arc<Shared>,
    ch: Channel<Msg>,
    input: mpsc::Receiver<Vec<u8>>,
    size: watch::Receiver<(u16, u16)>,
    spec: SessionSpec,
) {
    let SessionSpec { console, operator, theme, depth } = spec;
    let Ok(term) = terminal(*size.borrow()) else { return };
    let mut face = if console {
        let view =
            ViewState { operator, catalog: shared.catalog.clone(), demo: shared.demo.clone(), ..ViewState::default() };
        Face::Console(Box::new(view))
    } else {
        let mut wall = WallState::new(shared.views.clone(), shared.rotate, Utc::now());
        wall.view.demo = shared.demo.clone();
        Face::Wall(Box::new(wall))
    };
    // Alternate screen, hidden cursor, bracketed paste (a paste is one
    // event, never a storm of keys).
    if ch.data(&b"\x1b[?1049h\x1b[?25l\x1b[?2004h"[..]).await.is_err() {
        return;
    }
    let settings = Settings {
        snapshots: shared.snapshots.clone(),
        keymap: Arc::new(shared.keymap.clone()),
        theme,
        depth,
        executor: Some(shared.executor.clone()),
        idle: Some(shared.idle_timeout),
    };
    let mut inputs = SshInputs { input, size, parser: input::Parser::default(), input_open: true };
    let mut out = SshOutput { term, ch, pending: Vec::new(), links: Default::default() };
    let exit = drive(&mut face, &mut inputs, &mut out, settings).await;
    let ch = out.ch;
    let _ = ch.data(&b"\x1b[?2004l\x1b[?25h\x1b[?1049l"[..]).await;
    if matches!(exit, Ok(Exit::Idle)) {
        let secs = shared.idle_timeout.as_secs();
        let msg =
            format!("warroom: console closed after {} without input\r\n", crate::runbook::run::fmt_secs(secs as f64));
        let _ = ch.data(msg.as_bytes()).await;
    }
    let _ = ch.exit_status(0).await;
    let _ = ch.eof().await;
    let _ = ch.close().await;
}

/// Serve until the listener fails or the process is stopped.
pub async fn serve(opts: SshOptions, shared: Arc<Shared>) -> Result<(), String> {
    let key = keys::host_key(&opts.host_key)?;
    let config = Config {
        methods: MethodSet::from(&[MethodKind::PublicKey][..]),
        keys: vec![key],
        inactivity_timeout: Some(opts.idle_timeout),
        keepalive_interval: Some(Duration::from_secs(30)),
        keepalive_max: 3,
        auth_rejection_time: Duration::from_millis(300),
        auth_rejection_time_initial: Some(Duration::ZERO),
        // Attempts per connection before it is closed (OpenSSH's MaxAuthTries).
        max_auth_attempts: 6,
        nodelay: true,
        ..Config::default()
    };
    let mut server = SshServer { shared };
    let listener = tokio::net::TcpListener::bind(opts.listen)
        .await
        .map_err(|e| format!("cannot listen on {}: {e}", opts.listen))?;
    let addr = listener.local_addr().map_err(|e| e.to_string())?;
    println!("warroom serve-ssh listening on {addr}");
    server.run_on_socket(Arc::new(config), &listener).await.map_err(|e| format!("ssh server failed: {e}"))
}

#[cfg(test)]
mod name_tests {
    #[test]
    fn client_names_are_capped_and_printable() {
        let evil = format!("evil\u{1b}[2K\u{1b}]52;c;x\u{7}{}", "A".repeat(30_000));
        let n = super::client_name(&evil);
        assert!(n.chars().count() <= super::MAX_CLIENT_NAME + 1 && n.ends_with('…'), "{n}");
        assert!(!n.chars().any(|c| c.is_control()), "{n:?}");
        assert_eq!(super::client_name("alice"), "alice");
    }
}
