//! Per-viewer state: which screen, which pane has focus, what is selected.
//! Every terminal (local or remote) owns one; the snapshot is shared.

use crossterm::event::{Event, KeyCode, KeyEvent};
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;

use std::sync::Arc;

use super::runbook_ui::{Prompt, PromptFor};
use crate::actions::executor::{new_key, Disposition, Intent};
use crate::actions::{Action, Operator, Preview, Role};
use crate::keymap::{lookup, Binding, Command};
use crate::model::Snapshot;
pub use crate::panes::lists::{fuzzy, fuzzy_score, service_severity, MAX_FILTER_CHARS};
use crate::panes::sort::Sort;
pub use crate::panes::Screen;
use crate::panes::{ActsOn, Ctx, Kind, Lists};
use crate::runbook::run::Run;
use crate::views::{Catalog, ViewDef};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use warroom_ui::{Level, Theme};

/// What a key goes to: the modal input on top, in precedence order. One
/// place decides it (`ViewState::mode`) for keys, the mouse and drawing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// `q` with actions in flight: the next key answers y/N.
    ConfirmQuit,
    /// A reason is being typed (runbook skip / abort).
    Prompt,
    /// The `:` line.
    Command,
    /// The `/` filter being typed.
    Filter,
    /// The key help (over a dialog too): any key closes it.
    Help,
    /// The confirm dialog.
    Dialog,
    /// Keys go to the keymap.
    Normal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DialogFocus {
    Cancel,
    Confirm,
}

/// The confirm gate: what will happen, and (for high-blast actions) the
/// name to type. Focus starts on Cancel.
#[derive(Debug, Clone)]
pub struct Dialog {
    pub action: Action,
    pub preview: Preview,
    pub input: Input,
    pub focus: DialogFocus,
    /// The effect changed while the dialog was open: Confirm is disarmed
    /// until the operator has read it again (Tab).
    pub changed: bool,
    /// The console would refuse this action now (e.g. it became the last
    /// serving region): Confirm stays disarmed.
    pub refused_now: Option<String>,
}

impl Dialog {
    pub fn new(action: Action, preview: Preview) -> Dialog {
        Dialog {
            action,
            preview,
            input: Input::default(),
            focus: DialogFocus::Cancel,
            changed: false,
            refused_now: None,
        }
    }

    /// Whether the typed name matches (or none is required).
    pub fn name_matches(&self) -> bool {
        self.preview.type_to_confirm.as_deref().is_none_or(|name| self.input.value() == name)
    }

    /// Whether Confirm can be chosen.
    pub fn armed(&self) -> bool {
        self.name_matches() && !self.changed && self.refused_now.is_none()
    }

    /// Follow live state: a new effect disarms Confirm; a local refusal blocks it.
    pub fn refresh(&mut self, snap: &Snapshot) -> bool {
        match self.action.preview(snap) {
            Ok(p) if p != self.preview => {
                self.preview = p;
                self.changed = true;
                self.refused_now = None;
                self.focus = DialogFocus::Cancel;
                true
            }
            Ok(_) => std::mem::take(&mut self.refused_now).is_some(),
            Err(why) => {
                let was = self.refused_now.replace(why.clone());
                was.as_deref() != Some(why.as_str())
            }
        }
    }
}

/// What the footer says when a dialog closes without sending.
pub const CANCELLED: &str = "cancelled — nothing sent";

/// Where a pane was drawn on the last frame, for mouse clicks.
#[derive(Debug, Clone)]
pub struct Hit {
    pub pane: Kind,
    pub area: ratatui::layout::Rect,
    pub table: Option<warroom_ui::TableGeometry>,
    pub sort_cols: Vec<Option<usize>>,
}

#[derive(Debug, Clone)]
pub struct ViewState {
    pub screen: Screen,
    pub focus: Kind,
    /// Selected row per pane kind (absent: the first).
    pub rows: BTreeMap<Kind, usize>,
    /// Sort per pane kind: `s` cycles the column, `S` reverses; absent is
    /// the pane's own order (problems first).
    pub sort: BTreeMap<Kind, Sort>,
    /// Selected region column in the matrix.
    pub column: usize,
    /// Selected row on a region screen.
    pub region_row: usize,
    pub help: bool,
    pub quit: bool,
    /// `q` was pressed with actions in flight: the next key answers y/N.
    pub confirm_quit: bool,
    /// The runbook pane is hidden (Esc) while its run goes on.
    pub runbook_hidden: bool,
    /// Tab cycling on the command line: (line before cycling, index, line shown).
    pub tab_cycle: Option<(String, usize, String)>,
    /// Label for the header ("DEMO calm seed 7") when running the simulator.
    pub demo: Option<String>,
    pub operator: Operator,
    pub dialog: Option<Dialog>,
    /// Intents waiting to be handed to the executor.
    pub outbox: Vec<Intent>,
    /// The PAGE this console last offered an incident for.
    pub offered_incident: Option<String>,
    /// Where Esc goes from the links screen.
    pub back_from_links: Option<Screen>,
    /// Notes and incident steps waiting to be posted to the store.
    pub posts: Vec<crate::model::incident::Post>,
    /// The run whose events this console has posted to the timeline, and
    /// how many.
    pub runbook_posted: Option<(String, usize)>,
    /// Fuzzy filter on service names across panes (applied).
    pub filter: Option<String>,
    /// The filter being typed, while `/` is open.
    pub filter_input: Option<Input>,
    /// The view drawn on the overview screen.
    pub def: Arc<ViewDef>,
    /// Every view `:view` can switch to.
    pub catalog: Arc<Catalog>,
    /// The command line, while `:` is open.
    pub command: Option<Input>,
    /// The answer to the last command, until the next key.
    pub message: Option<(Level, String)>,
    /// A theme chosen with `:theme` (else the process's).
    pub theme: Option<Theme>,
    /// The runbook run this viewer is following, if any.
    pub runbook: Option<Run>,
    /// The reason prompt (skip / abort), while open.
    pub prompt: Option<Prompt>,
    /// Where runs are kept (the state directory's runbooks/).
    pub runs_dir: Option<std::path::PathBuf>,
    /// `warroom runbook run NAME k=v…`: started once the fleet is known.
    pub pending_runbook: Option<Vec<String>>,
    /// The panes of the last frame, for the mouse.
    pub hits: std::cell::RefCell<Vec<Hit>>,
    /// The latency chart's window, overlay and pause.
    pub chart: ChartView,
}

pub use crate::panes::chart::ChartView;

impl ViewState {
    /// This viewer's filter and sorts, as the panes' item lists see them.
    pub fn lists(&self) -> Lists<'_> {
        Lists {
            filter: self.filter.as_deref(),
            sort: &self.sort,
            services_first: &self.def.services_first,
            services_only: self.def.services_only,
        }
    }

    /// Whether a service (or a flag's name) passes the filter.
    pub fn shows(&self, service: &str) -> bool {
        self.lists().shows(service)
    }

    /// The pane's sort, if one was chosen.
    pub fn sort_of(&self, p: Kind) -> Option<Sort> {
        self.sort.get(&p).copied()
    }

    pub fn visible_deployments<'a>(&self, snap: &'a Snapshot) -> Vec<&'a crate::model::Deployment> {
        self.lists().visible_deployments(snap)
    }

    pub fn visible_flags<'a>(&self, snap: &'a Snapshot) -> Vec<&'a crate::model::Flag> {
        self.lists().visible_flags(snap)
    }

    pub fn visible_slos<'a>(&self, snap: &'a Snapshot) -> Vec<&'a crate::model::snapshot::SloStatus> {
        self.lists().visible_slos(snap)
    }

    pub fn visible_actions<'a>(&self, snap: &'a Snapshot) -> Vec<&'a crate::model::ActionEntry> {
        self.lists().visible_actions(snap)
    }

    pub fn services_in<'a>(&self, pane: Kind, snap: &'a Snapshot) -> Vec<&'a crate::model::Service> {
        self.lists().services_in(pane, snap)
    }

    pub fn visible_services<'a>(&self, snap: &'a Snapshot) -> Vec<&'a crate::model::Service> {
        self.lists().visible_services(snap)
    }

    /// A mouse event on the overview: a click focuses the pane under it and
    /// selects the row (a matrix cell also picks its region column); a
    /// click on a column header sorts by it (again: reversed); the wheel
    /// moves the selection of the pane under it. Never an action: with a
    /// dialog, a prompt or an input open the mouse does nothing.
    pub fn mouse(&mut self, ev: &crossterm::event::MouseEvent, snap: &Snapshot) -> bool {
        use crossterm::event::{MouseButton, MouseEventKind};
        match self.mode() {
            Mode::Help if matches!(ev.kind, MouseEventKind::Down(_)) => {
                self.help = false;
                return true;
            }
            Mode::Normal => {}
            _ => return false,
        }
        if self.screen != Screen::Overview {
            return false;
        }
        let (x, y) = (ev.column, ev.row);
        let hit = {
            let hits = self.hits.borrow();
            hits.iter()
                .find(|h| x >= h.area.x && x < h.area.x + h.area.width && y >= h.area.y && y < h.area.y + h.area.height)
                .cloned()
        };
        let Some(hit) = hit else { return false };
        let p = hit.pane;
        let len = self.pane_len(p, snap);
        match ev.kind {
            MouseEventKind::Down(MouseButton::Left) => {
                self.focus = hit.pane;
                let Some(t) = hit.table.as_ref() else { return true };
                let col = t.column_at(x);
                let sort_col =
                    |c: usize| if hit.sort_cols.is_empty() { Some(c) } else { hit.sort_cols.get(c).copied().flatten() };
                if y == t.header_y {
                    let regions = snap.fleet.regions.items().len();
                    let sortable = crate::panes::sort::columns(p, regions);
                    if let Some(c) = col.and_then(sort_col).filter(|c| sortable.contains(c)) {
                        let next = match self.sort.get(&p) {
                            Some(s) if s.col == c => Sort { col: c, reversed: !s.reversed },
                            _ => Sort { col: c, reversed: false },
                        };
                        self.sort.insert(p, next);
                        self.set_row(p, 0);
                        let name = crate::panes::sort::column_name(p, c, snap);
                        let text = format!("{} sorted by {name} (click again: reverse)", p.title());
                        self.message = Some((Level::Info, text));
                    }
                } else if let Some(item) = t.item_at(y).filter(|k| *k < len) {
                    self.set_row(p, item);
                    if p == Kind::Matrix {
                        if let Some(r) = col.and_then(sort_col).filter(|c| *c > 0) {
                            self.column = r - 1;
                        }
                    }
                }
                true
            }
            MouseEventKind::ScrollDown => {
                self.focus = hit.pane;
                self.set_row(p, (self.row(p) + 1).min(len.saturating_sub(1)));
                true
            }
            MouseEventKind::ScrollUp => {
                self.focus = hit.pane;
                self.set_row(p, self.row(p).saturating_sub(1));
                true
            }
            _ => false,
        }
    }

    /// `s`: sort the focused pane by its next sortable column (after the
    /// last one: back to the pane's own order). `S`: reverse it.
    fn cycle_sort(&mut self, snap: &Snapshot, reverse: bool) {
        let p = self.focus;
        let cols = crate::panes::sort::columns(p, snap.fleet.regions.items().len());
        let next = match (self.sort.get(&p).copied(), reverse) {
            (Some(s), true) => Some(Sort { reversed: !s.reversed, ..s }),
            (None, true) => cols.first().map(|&col| Sort { col, reversed: true }),
            (None, false) => cols.first().map(|&col| Sort { col, reversed: false }),
            (Some(s), false) => {
                let at = cols.iter().position(|c| *c == s.col);
                at.and_then(|k| cols.get(k + 1)).map(|&col| Sort { col, reversed: false })
            }
        };
        match next {
            Some(s) => self.sort.insert(p, s),
            None => self.sort.remove(&p),
        };
        self.set_row(p, 0);
        self.message = Some((
            Level::Info,
            match next {
                Some(s) => format!(
                    "{} sorted by {} (s next column, S reverse)",
                    p.title(),
                    crate::panes::sort::column_name(p, s.col, snap)
                ),
                None => format!("{}: its own order again (problems first)", p.title()),
            },
        ));
    }

    /// Selectable panes of the current view that are on screen, in order.
    pub fn focus_order(&self, snap: &Snapshot) -> Vec<Kind> {
        let mut out = Vec::new();
        for spec in self.def.layouts.iter().flat_map(|l| &l.groups).flat_map(|g| &g.panes) {
            let id = spec.kind;
            if !id.focusable() {
                continue;
            }
            let hidden = spec.hide_empty && id.pane().is_empty(snap);
            if !hidden && !out.contains(&id) {
                out.push(id);
            }
        }
        out
    }

    /// Move focus by `step` (±1) among the panes on screen.
    fn cycle_focus(&mut self, snap: &Snapshot, step: isize) {
        let order = self.focus_order(snap);
        if order.is_empty() {
            return;
        }
        let n = order.len() as isize;
        let i = order.iter().position(|p| *p == self.focus).map(|i| i as isize).unwrap_or(-step.min(0) - 1);
        self.focus = order[(i + step).rem_euclid(n) as usize];
    }

    /// Keys while the filter is being typed. Returns true if it changed.
    pub fn filter_key(&mut self, k: &KeyEvent) -> bool {
        let Some(input) = self.filter_input.as_mut() else {
            return false;
        };
        match k.code {
            KeyCode::Esc => {
                self.filter_input = None;
                self.filter = None;
                self.message = Some((Level::Info, "filter cleared".into()));
            }
            KeyCode::Enter => {
                let v = input.value().trim().to_string();
                self.filter = (!v.is_empty()).then_some(v);
                self.filter_input = None;
                self.rows.clear();
            }
            _ => {
                if input.value().chars().count() >= MAX_FILTER_CHARS && matches!(k.code, KeyCode::Char(_)) {
                    return false;
                }
                input.handle_event(&Event::Key(*k));
                // Live: the panes follow as you type.
                let v = input.value().trim().to_string();
                self.filter = (!v.is_empty()).then_some(v);
                self.rows.clear();
            }
        }
        true
    }
}

impl Default for ViewState {
    fn default() -> Self {
        ViewState {
            screen: Screen::Overview,
            focus: Kind::Matrix,
            rows: BTreeMap::new(),
            sort: BTreeMap::new(),
            column: 0,
            region_row: 0,
            help: false,
            quit: false,
            confirm_quit: false,
            runbook_hidden: false,
            tab_cycle: None,
            demo: None,
            operator: Operator { name: "unknown".into(), role: Role::Viewer },
            dialog: None,
            outbox: Vec::new(),
            posts: Vec::new(),
            back_from_links: None,
            offered_incident: None,
            runbook_posted: None,
            filter: None,
            filter_input: None,
            def: crate::views::overview(),
            catalog: Arc::new(Catalog::load(None)),
            command: None,
            message: None,
            theme: None,
            runbook: None,
            prompt: None,
            runs_dir: crate::runbook::run::runs_dir().ok(),
            pending_runbook: None,
            hits: Default::default(),
            chart: ChartView::default(),
        }
    }
}

impl ViewState {
    /// The modal input keys go to now.
    pub fn mode(&self) -> Mode {
        if self.confirm_quit {
            Mode::ConfirmQuit
        } else if self.prompt.is_some() {
            Mode::Prompt
        } else if self.command.is_some() {
            Mode::Command
        } else if self.filter_input.is_some() {
            Mode::Filter
        } else if self.help {
            Mode::Help
        } else if self.dialog.is_some() {
            Mode::Dialog
        } else {
            Mode::Normal
        }
    }

    pub fn row(&self, p: Kind) -> usize {
        self.rows.get(&p).copied().unwrap_or(0)
    }

    fn set_row(&mut self, p: Kind, row: usize) {
        self.rows.insert(p, row);
    }

    /// What a pane sees of this viewer.
    pub fn ctx<'a>(&'a self, snap: &'a Snapshot, now: DateTime<Utc>, theme: &'a warroom_ui::Theme) -> Ctx<'a> {
        Ctx { snap, now, theme, lists: self.lists(), rows: &self.rows, column: self.column, focus: self.focus }
    }

    /// What a pane sees for keys and the mouse (no drawing: any theme).
    fn key_ctx<'a>(&'a self, snap: &'a Snapshot) -> Ctx<'a> {
        static MONO: std::sync::LazyLock<warroom_ui::Theme> = std::sync::LazyLock::new(warroom_ui::Theme::mono);
        self.ctx(snap, chrono::Utc::now(), &MONO)
    }

    /// The service and region whose links `o` opens: the screen's, or on
    /// the overview the selected row's (what Enter would open; in the
    /// matrix, its region column too).
    fn link_target(&self, screen: Screen, snap: &Snapshot) -> Option<(Option<String>, Option<String>)> {
        let on_overview = screen == Screen::Overview;
        let screen = if on_overview { self.focus.pane().enter(&self.key_ctx(snap))? } else { screen };
        let alert = |id: &str| snap.fleet.alerts.items().iter().find(|a| a.identity() == id);
        Some(match screen {
            Screen::Service(s) => {
                let region = (on_overview && self.focus == Kind::Matrix)
                    .then(|| crate::model::rollup::region_order(snap).get(self.column).map(|r| r.to_string()))
                    .flatten();
                (Some(s), region)
            }
            Screen::Region(r) => (None, Some(r)),
            Screen::Deployment(id) => {
                let (s, r) = id.rsplit_once('/').map(|(s, r)| (s.to_string(), r.to_string()))?;
                (Some(s), Some(r))
            }
            Screen::Alert(id) => {
                let a = alert(&id)?;
                (a.service.clone(), a.region.clone())
            }
            Screen::Slo(name) => (snap.slos.iter().find(|s| s.name == name).map(|s| s.service.clone()), None),
            Screen::Links(s, r) => (s, r),
            Screen::Overview => return None,
        })
    }

    /// The rows a pane's selection moves among.
    pub fn pane_len(&self, p: Kind, snap: &Snapshot) -> usize {
        p.pane().len(&self.key_ctx(snap))
    }

    /// `[`, `]`, `c` and Space on a drill-down with a chart; None: not a
    /// chart key here (Space on a canary pauses the rollout).
    fn chart_key(&mut self, cmd: Command, snap: &Snapshot) -> Option<bool> {
        use crate::model::range::SPANS;
        let charted = matches!(self.screen, Screen::Service(_) | Screen::Slo(_));
        let frozen = matches!(self.screen, Screen::Service(_) | Screen::Slo(_));
        let say = |level, text: String| Some((level, text));
        match cmd {
            Command::RangeShorter | Command::RangeLonger | Command::Compare if !charted => {
                self.message = say(
                    Level::Info,
                    "[ ] and c change a service's latency chart: Enter on a latency or matrix row first".into(),
                );
            }
            Command::RangeShorter | Command::RangeLonger => {
                let next = match cmd {
                    Command::RangeShorter => self.chart.span.saturating_sub(1),
                    _ => (self.chart.span + 1).min(SPANS.len() - 1),
                };
                if next == self.chart.span {
                    let end = if cmd == Command::RangeShorter { "shortest" } else { "longest" };
                    self.message = say(Level::Info, format!("{} is the {end} window", self.chart.span_label()));
                } else {
                    self.chart.span = next;
                    self.message = say(Level::Info, format!("latency chart: last {}", self.chart.span_label()));
                }
            }
            Command::Compare => {
                self.chart.compare = !self.chart.compare;
                let text = if self.chart.compare {
                    "latency chart: the same window a week earlier laid over it (dim)"
                } else {
                    "latency chart: the week-earlier overlay is off"
                };
                self.message = say(Level::Info, text.into());
            }
            Command::PauseResume if frozen => {
                let now = chrono::Utc::now();
                self.chart.paused = match self.chart.paused.take() {
                    Some(_) => {
                        self.message = say(Level::Info, "live again".into());
                        None
                    }
                    None => {
                        self.message = say(
                            Level::Warn,
                            "PAUSED: this drill-down stays as it was; Space resumes, Esc leaves".into(),
                        );
                        Some((Arc::new(snap.clone()), now))
                    }
                };
            }
            Command::Back if self.chart.paused.is_some() => {
                // Leaving a paused drill-down: the next screen is live.
                self.chart.paused = None;
                return None;
            }
            _ => return None,
        }
        Some(true)
    }

    /// The snapshot a drill-down draws: the frozen one while paused.
    pub fn shown<'a>(&'a self, live: &'a Snapshot) -> &'a Snapshot {
        match (&self.chart.paused, &self.screen) {
            (Some((s, _)), Screen::Service(_) | Screen::Slo(_)) => s,
            _ => live,
        }
    }

    /// Apply a command. Returns true when something visible changed.
    pub fn apply(&mut self, cmd: Command, snap: &Snapshot) -> bool {
        if self.help {
            // Any key closes help, as help says (quit included: it only closes).
            self.help = false;
            return true;
        }
        if let Some(changed) = self.chart_key(cmd, snap) {
            return changed;
        }
        if cmd.is_action() {
            return self.start_action(cmd, snap);
        }
        let regions = snap.fleet.regions.items().len().max(1);
        let services = self.visible_services(snap).len().max(1);
        match (cmd, &self.screen) {
            // Handled by `chart_key` above.
            (Command::RangeShorter | Command::RangeLonger | Command::Compare, _) => return false,
            (Command::Quit, _) => {
                // Quitting with an action in flight leaves an intent with no
                // outcome: ask first (the next start reconciles it by key).
                let n = snap.fleet.actions_in_flight();
                if n > 0 {
                    self.confirm_quit = true;
                    let s = if n == 1 { "" } else { "s" };
                    self.message = Some((Level::Warn, format!("{n} action{s} in flight: quit anyway? y/N")));
                } else {
                    self.quit = true;
                }
            }
            (Command::Filter, _) => {
                let current = self.filter.clone().unwrap_or_default();
                self.filter_input = Some(Input::new(current));
            }
            (Command::Help, _) => self.help = true,
            (Command::CommandLine, _) => self.command = Some(Input::default()),
            (Command::Silence | Command::Breaker | Command::FlagRollout, _) => self.prefill(cmd, snap),
            // Keys never act on a runbook that is not on screen.
            (Command::RunbookNext | Command::RunbookSkip | Command::RunbookAbort, _)
                if self.runbook.is_some() && self.runbook_hidden =>
            {
                self.message = Some((Level::Warn, "the runbook is hidden: `:runbook` shows it".into()));
            }
            (Command::RunbookNext, _) => return self.runbook_next(snap, chrono::Utc::now()),
            (Command::RunbookSkip, _) => return self.runbook_prompt(PromptFor::Skip),
            (Command::RunbookAbort, _) => return self.runbook_prompt(PromptFor::Abort),
            // Esc on the overview clears a kept filter first.
            (Command::Back, Screen::Overview) if self.filter.is_some() => {
                self.filter = None;
                self.rows.clear();
                self.message = Some((Level::Info, "filter cleared".into()));
            }
            (Command::Back, Screen::Overview) if self.runbook.as_ref().is_some_and(|r| r.finished()) => {
                self.runbook = None;
            }
            // A run in progress is hidden, not ended: `:runbook` shows it again.
            (Command::Back, Screen::Overview) if self.runbook.is_some() && !self.runbook_hidden => {
                self.runbook_hidden = true;
                self.message = Some((Level::Info, "runbook hidden; the run goes on (`:runbook` shows it)".into()));
            }
            (Command::Links, screen) => {
                let Some((s, r)) = self.link_target(screen.clone(), snap) else {
                    self.message =
                        Some((Level::Info, "o opens a service's or a region's links: select a row first".into()));
                    return true;
                };
                self.back_from_links = Some(self.screen.clone());
                self.screen = Screen::Links(s, r);
            }
            (Command::Back, Screen::Links(..)) => self.screen = self.back_from_links.take().unwrap_or(Screen::Overview),
            (
                Command::Back,
                Screen::Region(_) | Screen::Slo(_) | Screen::Service(_) | Screen::Deployment(_) | Screen::Alert(_),
            ) => self.screen = Screen::Overview,
            (_, Screen::Slo(_) | Screen::Service(_) | Screen::Deployment(_) | Screen::Alert(_) | Screen::Links(..)) => {
                return false
            }
            (Command::Back, Screen::Overview) => return false,
            (Command::Up, Screen::Region(_)) => self.region_row = self.region_row.saturating_sub(1),
            (Command::Down, Screen::Region(_)) => self.region_row = (self.region_row + 1).min(services - 1),
            (Command::Enter, Screen::Region(_)) => {
                let Some(s) = snap.fleet.services.items().get(self.region_row) else {
                    return false;
                };
                self.screen = Screen::Service(s.name.clone());
            }
            (Command::Left | Command::Right | Command::NextPane | Command::PrevPane, Screen::Region(_)) => {
                return false
            }
            (Command::NextPane, Screen::Overview) => self.cycle_focus(snap, 1),
            (Command::PrevPane, Screen::Overview) => self.cycle_focus(snap, -1),
            (Command::Up, Screen::Overview) => self.set_row(self.focus, self.row(self.focus).saturating_sub(1)),
            (Command::Down, Screen::Overview) => {
                let max = self.pane_len(self.focus, snap).saturating_sub(1);
                self.set_row(self.focus, (self.row(self.focus) + 1).min(max));
            }
            (Command::Sort, Screen::Overview) => self.cycle_sort(snap, false),
            (Command::SortReverse, Screen::Overview) => self.cycle_sort(snap, true),
            (Command::Sort | Command::SortReverse, _) => {
                self.message = Some((Level::Info, "sorting is for the overview's tables".into()));
            }
            (Command::Left, Screen::Overview) => self.column = self.column.saturating_sub(1),
            (Command::Right, Screen::Overview) => self.column = (self.column + 1).min(regions - 1),
            (
                Command::Failover
                | Command::Restore
                | Command::Rollback
                | Command::Promote
                | Command::PauseResume
                | Command::ToggleFlag
                | Command::Switchover
                | Command::ExpireSilence,
                _,
            ) => return false,
            (Command::Enter, Screen::Overview) => {
                let opened = self.focus.pane().enter(&self.key_ctx(snap));
                match opened {
                    Some(screen) => {
                        self.region_row = 0;
                        self.screen = screen;
                    }
                    // Enter on a pane with no detail says so (it used to
                    // open the matrix's region, which nobody asked for).
                    None if self.pane_len(self.focus, snap) == 0 => return false,
                    None => {
                        let what = format!("{}: Enter opens nothing here (Tab to another pane)", self.focus.title());
                        self.message = Some((Level::Info, what));
                    }
                }
            }
        }
        true
    }
}

impl ViewState {
    /// The action a command means for the focused pane's selection, or
    /// what to select first (`select a flag first (Tab to Flags)`). An
    /// action key never acts on a pane that is not focused.
    pub fn action_for(&self, cmd: Command, snap: &Snapshot) -> Result<Action, String> {
        let f = &snap.fleet;
        let overview = self.screen == Screen::Overview && self.dialog.is_none();
        let region = || match &self.screen {
            Screen::Region(name) => Ok(name.clone()),
            _ if overview && self.focus.pane().acts_on() == Some(ActsOn::Region) => f
                .regions
                .items()
                .get(self.column)
                .map(|r| r.name.clone())
                .ok_or_else(|| "no region is known yet".to_string()),
            _ => Err("select a region first (Tab to Region health)".to_string()),
        };
        let deployment = || match &self.screen {
            Screen::Deployment(id) => f
                .deployments
                .items()
                .iter()
                .find(|d| &d.id == id)
                .cloned()
                .ok_or_else(|| format!("{id} is not reported")),
            _ if overview && self.focus == crate::panes::Kind::BlueGreen => self
                .lists()
                .visible_blue_green(snap)
                .get(self.row(self.focus))
                .map(|d| (*d).clone())
                .ok_or_else(|| "no rollout is selected".to_string()),
            _ if overview && self.focus.pane().acts_on() == Some(ActsOn::Rollout) => self
                .visible_deployments(snap)
                .get(self.row(self.focus))
                .map(|d| (*d).clone())
                .ok_or_else(|| "no rollout is selected".to_string()),
            _ => Err("select a rollout first (Tab to Canaries)".to_string()),
        };
        match cmd {
            Command::Failover => Ok(Action::Failover { region: region()? }),
            Command::Restore => Ok(Action::Restore { region: region()? }),
            Command::Rollback => Ok(Action::Rollback { deployment: deployment()?.id }),
            Command::Promote => Ok(Action::Promote { deployment: deployment()?.id, full: false }),
            Command::PauseResume => {
                let d = deployment()?;
                Ok(if d.phase == crate::model::CanaryPhase::Paused {
                    Action::Resume { deployment: d.id }
                } else {
                    Action::Pause { deployment: d.id }
                })
            }
            Command::ToggleFlag => {
                if !(overview && self.focus.pane().acts_on() == Some(ActsOn::Flag)) {
                    return Err("select a flag first (Tab to Flags)".into());
                }
                let flags = self.visible_flags(snap);
                let fl = flags.get(self.row(self.focus)).ok_or_else(|| "no flag is selected".to_string())?;
                Ok(Action::SetFlag {
                    flag: fl.name.clone(),
                    environment: fl.environment.clone(),
                    on: !fl.enabled,
                    source: fl.source.clone(),
                })
            }
            Command::Switchover => {
                if !(overview && self.focus.pane().acts_on() == Some(ActsOn::Database)) {
                    return Err("select a database member first (Tab to Databases)".into());
                }
                let rows = crate::panes::databases::rows(snap);
                let (db, member) =
                    rows.get(self.row(self.focus)).ok_or_else(|| "no database is selected".to_string())?;
                db_action(db, *member)
            }
            Command::ExpireSilence => {
                if !(overview && self.focus.pane().acts_on() == Some(ActsOn::Silence)) {
                    return Err("select a silence first (Tab to Silences)".into());
                }
                let s = crate::panes::silences::rows(snap)
                    .get(self.row(self.focus))
                    .ok_or_else(|| "no silence is selected".to_string())?;
                Ok(Action::ExpireSilence { id: s.id.clone() })
            }
            _ => Err("not an action".into()),
        }
    }

    /// The keys that open the command line filled in from the selection
    /// (`z` silence, `O` breaker, `%` rollout), or say what to select.
    fn prefill(&mut self, cmd: Command, snap: &Snapshot) {
        match (cmd, &self.screen) {
            (Command::Silence, Screen::Overview) if self.focus.pane().acts_on() == Some(ActsOn::Alert) => {
                let alerts = self.lists().visible_alerts(snap, chrono::Utc::now());
                match alerts.get(self.row(self.focus)) {
                    Some(a) => self.command = Some(Input::new(silence_line(a))),
                    None => self.message = Some((Level::Warn, "no alert is selected".into())),
                }
            }
            (Command::Breaker, Screen::Overview) if self.focus.pane().acts_on() == Some(ActsOn::Circuit) => {
                let list = self.lists().visible_circuits(snap, chrono::Utc::now());
                match list.get(self.row(self.focus)) {
                    Some(c) => {
                        let op = if matches!(
                            c.state,
                            crate::model::CircuitState::Open | crate::model::CircuitState::ForcedOpen
                        ) {
                            "close"
                        } else {
                            "force-open"
                        };
                        self.command = Some(Input::new(format!("breaker {} {} {} {op}", c.from, c.to, c.region)));
                    }
                    None => self.message = Some((Level::Warn, "no breaker is selected".into())),
                }
            }
            (Command::FlagRollout, Screen::Overview) if self.focus.pane().acts_on() == Some(ActsOn::Flag) => {
                let flags = self.visible_flags(snap);
                match flags.get(self.row(self.focus)) {
                    Some(fl) => {
                        let next = fl.percent.map(crate::actions::next_rollout_step).unwrap_or(100);
                        let src = if fl.from_control_plane() { String::new() } else { format!(" {}", fl.source) };
                        self.command =
                            Some(Input::new(format!("flag-rollout {} {} {next}{src}", fl.name, fl.environment)));
                    }
                    None => self.message = Some((Level::Warn, "no flag is selected".into())),
                }
            }
            (Command::FlagRollout, _) => {
                self.message = Some((Level::Warn, "rollout: select a flag first (Tab to Flags)".into()));
            }
            (Command::Breaker, _) => {
                self.message = Some((Level::Warn, "breaker: select a circuit first (Tab to Circuits)".into()));
            }
            (Command::Silence, Screen::Alert(id)) => {
                match snap.fleet.alerts.items().iter().find(|a| &a.identity() == id) {
                    Some(a) => self.command = Some(Input::new(silence_line(a))),
                    None => self.message = Some((Level::Warn, "the alert is no longer reported".into())),
                }
            }
            (Command::Silence, _) => {
                self.message = Some((Level::Warn, "silence: select an alert first (Tab to Alerts)".into()));
            }
            _ => {}
        }
    }

    fn intent(&self, action: Action, disposition: Disposition) -> Intent {
        Intent { action, key: new_key(), operator: self.operator.clone(), disposition }
    }

    /// An action key: the action for the selection, proposed.
    fn start_action(&mut self, cmd: Command, snap: &Snapshot) -> bool {
        match self.action_for(cmd, snap) {
            Ok(action) => self.propose(action, snap),
            Err(why) => {
                let what = cmd.hint().unwrap_or("action");
                self.message = Some((Level::Warn, format!("{what}: {why}")));
            }
        }
        true
    }

    /// Switch the overview screen to another view; focus goes to its first pane.
    pub fn switch_view(&mut self, def: Arc<ViewDef>, snap: &Snapshot) {
        self.def = def;
        self.screen = Screen::Overview;
        self.rows.clear();
        if let Some(first) = self.focus_order(snap).first() {
            self.focus = *first;
        }
    }

    /// A viewer's attempt goes straight to the executor to be audited as
    /// denied; what would be refused is refused with the reason; anything
    /// else opens the confirm gate.
    pub fn propose(&mut self, action: Action, snap: &Snapshot) {
        let action = action.resolved(snap);
        if self.operator.role == Role::Viewer {
            let intent = self.intent(action, Disposition::Go);
            self.outbox.push(intent);
            return;
        }
        match action.preview(snap) {
            Err(why) => {
                let intent = self.intent(action, Disposition::Refused(why));
                self.outbox.push(intent);
            }
            Ok(preview) => {
                self.dialog = Some(Dialog::new(action, preview));
            }
        }
    }

    /// A paste (bracketed): one edit of whatever input is open, on one line,
    /// without control characters, and capped — never a key per character.
    pub fn paste(&mut self, text: &str) -> bool {
        const MAX_PASTE: usize = 256;
        let clean: String =
            text.chars().map(|c| if c.is_control() { ' ' } else { c }).take(MAX_PASTE).collect::<String>();
        let join = |input: &Input, cap: usize| {
            let v: String = format!("{}{}", input.value(), clean).chars().take(cap).collect();
            Input::new(v)
        };
        if let Some(i) = self.prompt.as_mut().map(|p| &mut p.input) {
            *i = join(i, MAX_PASTE);
        } else if let Some(i) = self.command.as_mut() {
            *i = join(i, MAX_PASTE);
        } else if let Some(i) = self.filter_input.as_mut() {
            *i = join(i, MAX_FILTER_CHARS);
            let v = i.value().trim().to_string();
            self.filter = (!v.is_empty()).then_some(v);
            self.rows.clear();
        } else if let Some(d) = self.dialog.as_mut().filter(|d| d.preview.type_to_confirm.is_some()) {
            d.input = join(&d.input, MAX_PASTE);
        } else {
            return false;
        }
        true
    }

    /// One key press, whoever's terminal it came from: the command line,
    /// the filter and the dialog take keys first; everything else goes
    /// through the keymap. Returns true when something visible changed.
    pub fn handle_key(&mut self, k: &KeyEvent, keymap: &[Binding], snap: &Snapshot) -> bool {
        let had_message = self.message.take().is_some();
        let changed = match self.mode() {
            Mode::ConfirmQuit => {
                self.confirm_quit = false;
                if matches!(k.code, KeyCode::Char('y') | KeyCode::Char('Y')) {
                    self.quit = true;
                } else {
                    self.message = Some((Level::Info, "not quitting: the action is still followed".into()));
                }
                return true;
            }
            Mode::Prompt => self.prompt_key(k, chrono::Utc::now()),
            Mode::Command => self.command_key(k, snap),
            Mode::Filter => self.filter_key(k),
            // Any key closes help, bound or not.
            Mode::Help => {
                self.help = false;
                true
            }
            Mode::Dialog => self.dialog_key(k),
            Mode::Normal => lookup(keymap, k).is_some_and(|cmd| self.apply(cmd, snap)),
        };
        changed || had_message
    }

    /// Keys while the confirm dialog is open. Returns true if it changed.
    pub fn dialog_key(&mut self, k: &KeyEvent) -> bool {
        let Some(d) = self.dialog.as_mut() else {
            return false;
        };
        let typing = d.preview.type_to_confirm.is_some();
        let cancelled = |why: &str| {
            let text = if why.is_empty() { CANCELLED.to_string() } else { format!("{CANCELLED} ({why})") };
            Some((Level::Warn, text))
        };
        match k.code {
            KeyCode::Esc => {
                self.dialog = None;
                self.message = cancelled("");
            }
            KeyCode::Tab | KeyCode::BackTab => {
                // Tab after a change means "read it": Confirm re-arms.
                d.changed = false;
                d.focus = if d.focus == DialogFocus::Cancel { DialogFocus::Confirm } else { DialogFocus::Cancel };
            }
            KeyCode::Left | KeyCode::Right if !typing => {
                d.focus = if d.focus == DialogFocus::Cancel { DialogFocus::Confirm } else { DialogFocus::Cancel };
            }
            KeyCode::Enter => {
                // With a name to type, Enter after typing it confirms (the
                // focus is on the input, not the buttons).
                let wants_confirm = if typing {
                    d.name_matches() || d.focus == DialogFocus::Confirm
                } else {
                    d.focus == DialogFocus::Confirm
                };
                if let Some(why) = d.refused_now.clone() {
                    self.dialog = None;
                    self.message = cancelled(&format!("refused: {why}"));
                } else if !wants_confirm {
                    let why = if typing && !d.input.value().is_empty() { "the typed name does not match" } else { "" };
                    self.dialog = None;
                    self.message = cancelled(why);
                } else if d.changed {
                    self.message =
                        Some((Level::Warn, "the effect changed while this was open: read it, Tab to re-arm".into()));
                } else if !d.name_matches() {
                    self.message = Some((Level::Warn, "type the name to confirm first".into()));
                } else {
                    let action = d.action.clone();
                    self.dialog = None;
                    let intent = self.intent(action, Disposition::Go);
                    self.message =
                        Some((Level::Info, format!("sent: {} (key {})", intent.action.summary(), intent.key)));
                    // A runbook's action is recorded in the run (and saved)
                    // before it is sent, so a crash cannot lose its key.
                    if let Some(run) = self.runbook.as_mut() {
                        run.record_intent(&intent.action, &intent.key, chrono::Utc::now(), &intent.operator.name);
                    }
                    self.outbox.push(intent);
                }
            }
            _ if typing => {
                d.input.handle_event(&Event::Key(*k));
            }
            _ => return false,
        }
        true
    }
}

/// The standby to promote: `member` if it is a streaming standby, else the
/// best one.
pub fn db_candidate(db: &crate::model::Database, member: Option<&crate::model::DbMember>) -> Result<String, String> {
    let chosen = member.filter(|m| m.role != crate::model::DbRole::Writer && m.up).or_else(|| db.best_candidate());
    chosen.map(|m| m.name.clone()).ok_or_else(|| format!("{} has no standby streaming that could take over", db.name))
}

/// The database action for a selected row: the selected standby if it is
/// streaming, else the best one; a switchover while the writer is up, a
/// failover (never break-glass from a key) when it is not.
/// The command line a silence of `a` starts from: every label as a
/// matcher (drop some to widen it), two hours, and room for the comment.
/// Labels whose name or value holds a space or `=` cannot be typed back:
/// they are left out (the dialog's count says what the rest catch).
pub fn silence_line(a: &crate::model::Alert) -> String {
    let mut words = vec!["silence".to_string()];
    for (k, v) in &a.labels {
        if !k.is_empty() && !v.is_empty() && !k.contains([' ', '=']) && !v.contains(' ') {
            words.push(format!("{k}={v}"));
        }
    }
    words.push("for 2h --".into());
    format!("{} ", words.join(" "))
}

pub fn db_action(db: &crate::model::Database, member: Option<&crate::model::DbMember>) -> Result<Action, String> {
    let candidate = db_candidate(db, member)?;
    Ok(if db.writer().is_some() {
        Action::Switchover { database: db.name.clone(), candidate }
    } else {
        Action::DbFailover { database: db.name.clone(), candidate, break_glass: false }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{derive, Fleet, Service, Tier};
    use chrono::Utc;

    fn snap(names: &[&str]) -> Snapshot {
        let mut f = Fleet::default();
        let svcs = names
            .iter()
            .map(|n| Service {
                name: n.to_string(),
                tier: Tier::Standard,
                owners: vec![],
                depends_on: vec![],
                slos: vec![],
                sla: Default::default(),
            })
            .collect();
        f.services.set(Utc::now(), Ok(svcs));
        derive(f, 1)
    }

    #[test]
    fn chart_keys_step_the_window_overlay_a_week_and_space_freezes_the_drill_down() {
        use crate::model::range::LIVE_SPAN;
        let live = snap(&["checkout"]);
        let mut v = ViewState::default();
        // Not on a chart: a message that says where they work.
        assert!(v.apply(Command::RangeLonger, &live));
        assert_eq!(v.chart.span, LIVE_SPAN);
        assert!(v.message.as_ref().is_some_and(|(_, m)| m.contains("latency chart")), "{:?}", v.message);
        v.screen = Screen::Service("checkout".into());
        v.apply(Command::RangeLonger, &live);
        assert_eq!((v.chart.span_label(), v.chart.needs_range()), ("6h", true));
        for _ in 0..3 {
            v.apply(Command::RangeShorter, &live);
        }
        assert_eq!(v.chart.span_label(), "15m");
        assert!(v.message.as_ref().is_some_and(|(_, m)| m == "15m is the shortest window"), "{:?}", v.message);
        v.apply(Command::Compare, &live);
        assert!(v.chart.compare);
        // Space freezes the drill-down on the snapshot of that moment.
        v.apply(Command::PauseResume, &live);
        assert!(v.chart.paused.is_some() && v.dialog.is_none(), "a pause, not a rollout action");
        let newer = snap(&["checkout", "payments"]);
        assert_eq!(v.shown(&newer).fleet.services.items().len(), 1, "still the frozen one");
        v.apply(Command::PauseResume, &live);
        assert_eq!(v.shown(&newer).fleet.services.items().len(), 2, "live again");
        // Leaving a paused drill-down leaves it live.
        v.apply(Command::PauseResume, &live);
        v.apply(Command::Back, &live);
        assert!(v.chart.paused.is_none() && v.screen == Screen::Overview);
        // On a rollout's screen, Space is still the rollout's pause (an action).
        v.screen = Screen::Deployment("checkout/us-east-1".into());
        v.apply(Command::PauseResume, &live);
        assert!(v.chart.paused.is_none());
    }

    #[test]
    fn fuzzy_matching() {
        assert!(fuzzy("pay", "payments"));
        assert!(fuzzy("pmt", "payments"));
        assert!(fuzzy("PAY", "payments"));
        assert!(!fuzzy("ypa", "payments"));
        assert!(fuzzy("", "anything"));
        // Scored: a scattered match is no match (#13.14).
        assert!(!fuzzy("pay", "api-gateway"));
        assert!(fuzzy("gw", "api-gateway"), "word starts count");
        assert!(fuzzy("chk", "checkout"));
        assert!(fuzzy_score("pay", "payments") > fuzzy_score("pmt", "payments"));
        // Long input costs m·n, never more: a pasted 100k-character line is cut.
        let long = "p".repeat(100_000);
        assert!(!fuzzy(&long, "payments"));
    }

    #[test]
    fn the_filter_narrows_services_as_you_type_and_clears_on_esc() {
        let s = snap(&["api-gateway", "auth", "payments", "checkout"]);
        let mut v = ViewState::default();
        assert!(v.apply(Command::Filter, &s));
        for c in "pmt".chars() {
            v.filter_key(&KeyEvent::new(KeyCode::Char(c), crossterm::event::KeyModifiers::NONE));
        }
        let names: Vec<&str> = v.visible_services(&s).iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, vec!["payments"], "fuzzy: p…m…t");
        assert_eq!(v.visible_deployments(&s).len(), 0, "canaries follow the filter too");
        v.filter_key(&KeyEvent::new(KeyCode::Enter, crossterm::event::KeyModifiers::NONE));
        assert!(v.filter_input.is_none());
        assert_eq!(v.filter.as_deref(), Some("pmt"));
        v.apply(Command::Filter, &s);
        v.filter_key(&KeyEvent::new(KeyCode::Esc, crossterm::event::KeyModifiers::NONE));
        assert!(v.filter.is_none());
        assert_eq!(v.visible_services(&s).len(), 4);
    }

    fn key(c: KeyCode) -> KeyEvent {
        KeyEvent::new(c, crossterm::event::KeyModifiers::NONE)
    }

    fn fleet_with_regions(down: &[&str]) -> Snapshot {
        use crate::model::{Flag, Region, RegionStatus};
        let mut f = Fleet::default();
        let r = |n: &str, w: f64| Region {
            name: n.into(),
            status: if down.contains(&n) { RegionStatus::Down } else { RegionStatus::Ok },
            weight: w,
            base_weight: None,
            zones: vec![],
            since: None,
        };
        f.regions.set(Utc::now(), Ok(vec![r("us-east-1", 50.0), r("us-west-2", 30.0), r("eu-west-1", 20.0)]));
        let flag = Flag { name: "f".into(), environment: "prod".into(), enabled: true, ..Default::default() };
        f.flags.set(Utc::now(), Ok(vec![flag]));
        derive(f, 1)
    }

    fn operator() -> ViewState {
        ViewState { operator: Operator { name: "alice".into(), role: Role::Operator }, ..ViewState::default() }
    }

    fn type_text(v: &mut ViewState, text: &str, s: &Snapshot) {
        for c in text.chars() {
            v.handle_key(&key(KeyCode::Char(c)), &[], s);
        }
    }

    #[test]
    fn typing_the_name_and_enter_confirms() {
        let s = fleet_with_regions(&[]);
        let mut v = operator();
        v.propose(Action::Failover { region: "us-east-1".into() }, &s);
        type_text(&mut v, "us-east-1", &s);
        v.handle_key(&key(KeyCode::Enter), &[], &s);
        assert!(v.dialog.is_none());
        assert_eq!(v.outbox.len(), 1, "Enter after the name sends");
        assert!(v.message.as_ref().is_some_and(|(_, m)| m.starts_with("sent: ")), "{:?}", v.message);
    }

    #[test]
    fn enter_on_cancel_esc_and_a_mismatch_say_nothing_was_sent() {
        let s = fleet_with_regions(&[]);
        for keys in [vec![KeyCode::Enter], vec![KeyCode::Esc], vec![KeyCode::Char('u'), KeyCode::Enter]] {
            let mut v = operator();
            v.propose(Action::Failover { region: "us-east-1".into() }, &s);
            for k in &keys {
                v.handle_key(&key(*k), &[], &s);
            }
            assert!(v.dialog.is_none() && v.outbox.is_empty(), "{keys:?}");
            let msg = v.message.clone().map(|(_, m)| m).unwrap_or_default();
            assert!(msg.starts_with(CANCELLED), "{keys:?}: {msg}");
        }
        // A low-blast action: Enter on the initial focus (Cancel) cancels, saying so.
        let mut v = operator();
        v.propose(
            Action::SetFlag { flag: "f".into(), environment: "prod".into(), on: false, source: String::new() },
            &s,
        );
        v.handle_key(&key(KeyCode::Enter), &[], &s);
        assert!(v.outbox.is_empty());
        assert_eq!(v.message.map(|(_, m)| m).as_deref(), Some(CANCELLED));
    }

    #[test]
    fn a_preview_that_changes_while_open_disarms_confirm_until_read() {
        let s = fleet_with_regions(&[]);
        let mut v = operator();
        v.propose(Action::Failover { region: "us-east-1".into() }, &s);
        type_text(&mut v, "us-east-1", &s);
        let later = fleet_with_regions(&["us-west-2"]);
        assert!(v.observe(&later, Utc::now()), "the dialog redraws");
        let d = v.dialog.as_ref().map(|d| (d.changed, d.armed()));
        assert_eq!(d, Some((true, false)));
        assert!(v.dialog.as_ref().is_some_and(|d| d.preview.effect.iter().any(|l| l.contains("(DOWN)"))));
        v.handle_key(&key(KeyCode::Enter), &[], &s);
        assert!(v.outbox.is_empty() && v.dialog.is_some(), "not sent while the change is unread");
        v.handle_key(&key(KeyCode::Tab), &[], &s);
        v.handle_key(&key(KeyCode::Enter), &[], &s);
        assert_eq!(v.outbox.len(), 1);
    }

    #[test]
    fn action_keys_act_only_on_the_focused_pane() {
        let s = fleet_with_regions(&[]);
        let mut v = operator();
        v.focus = Kind::Latency;
        assert!(v.apply(Command::ToggleFlag, &s));
        assert!(v.dialog.is_none() && v.outbox.is_empty());
        assert_eq!(v.message.clone().map(|(_, m)| m).as_deref(), Some("flag: select a flag first (Tab to Flags)"));
        v.apply(Command::Failover, &s);
        assert!(v.dialog.is_none());
        v.apply(Command::Rollback, &s);
        assert!(v.message.as_ref().is_some_and(|(_, m)| m.contains("Tab to Canaries")));
        v.focus = Kind::Flags;
        v.apply(Command::ToggleFlag, &s);
        assert!(v.dialog.is_some(), "focused: the dialog opens");
    }

    #[test]
    fn a_sorted_table_acts_on_the_row_it_shows() {
        use crate::model::Flag;
        let mut f = Fleet::default();
        let flag =
            |n: &str, on: bool| Flag { name: n.into(), environment: "prod".into(), enabled: on, ..Default::default() };
        f.flags.set(Utc::now(), Ok(vec![flag("zeta", false), flag("alpha", true), flag("mid", false)]));
        let s = derive(f, 1);
        let mut v = operator();
        v.focus = Kind::Flags;
        let names = |v: &ViewState| v.visible_flags(&s).iter().map(|f| f.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&v), ["zeta", "alpha", "mid"], "the source's order");
        assert!(v.handle_key(&key(KeyCode::Char('s')), super::super::keymap::DEFAULT_KEYMAP, &s));
        assert_eq!(names(&v), ["alpha", "mid", "zeta"], "by name, A→Z");
        assert!(v.message.as_ref().is_some_and(|(_, m)| m.contains("Flags sorted by flag")), "{:?}", v.message);
        v.handle_key(&key(KeyCode::Char('S')), super::super::keymap::DEFAULT_KEYMAP, &s);
        assert_eq!(names(&v), ["zeta", "mid", "alpha"], "reversed");
        // The selected (first) row is the flag the action goes to.
        v.apply(Command::ToggleFlag, &s);
        let target = v.dialog.as_ref().map(|d| format!("{:?}", d.action)).unwrap_or_default();
        assert!(target.contains("zeta"), "{target}");
        v.dialog = None;
        // Through every column and back to the pane's own order.
        for _ in 0..7 {
            v.handle_key(&key(KeyCode::Char('s')), super::super::keymap::DEFAULT_KEYMAP, &s);
        }
        assert_eq!(v.sort_of(Kind::Flags), None);
        assert_eq!(names(&v), ["zeta", "alpha", "mid"]);
    }

    #[test]
    fn the_mouse_focuses_selects_and_sorts_where_it_clicks() {
        use crossterm::event::{MouseButton, MouseEvent, MouseEventKind};
        use ratatui::{buffer::Buffer, layout::Rect};
        let mut s = fleet_with_regions(&["us-west-2"]);
        let mut f = s.fleet.clone();
        let flag = |n: &str| crate::model::Flag {
            name: n.into(),
            environment: "prod".into(),
            enabled: true,
            ..Default::default()
        };
        f.flags.set(Utc::now(), Ok(vec![flag("zeta"), flag("alpha"), flag("mid")]));
        s = derive(f, 1);
        let mut v = operator();
        let area = Rect::new(0, 0, 160, 48);
        let frame = |v: &ViewState| {
            let mut buf = Buffer::empty(area);
            crate::render::render(
                &s,
                v,
                super::super::keymap::DEFAULT_KEYMAP,
                Utc::now(),
                &Theme::default(),
                area,
                &mut buf,
            );
        };
        frame(&v);
        let flags = v.hits.borrow().iter().find(|h| h.pane == Kind::Flags).cloned();
        let Some(flags) = flags else { panic!("the overview draws the Flags pane") };
        let Some(t) = flags.table.clone() else { panic!("a table") };
        let click = |x: u16, y: u16| MouseEvent {
            kind: MouseEventKind::Down(MouseButton::Left),
            column: x,
            row: y,
            modifiers: crossterm::event::KeyModifiers::NONE,
        };
        // A click on the third row focuses Flags and selects "mid".
        let x = t.columns[0].1 + 1;
        assert!(v.mouse(&click(x, t.first_row_y + 2), &s));
        assert_eq!((v.focus, v.row(Kind::Flags)), (Kind::Flags, 2));
        // A click on the "flag" header sorts by name; again reverses.
        v.mouse(&click(x, t.header_y), &s);
        assert_eq!(v.sort_of(Kind::Flags), Some(crate::panes::sort::Sort { col: 0, reversed: false }));
        assert_eq!(v.visible_flags(&s)[0].name, "alpha");
        v.mouse(&click(x, t.header_y), &s);
        assert_eq!(v.visible_flags(&s)[0].name, "zeta");
        // The wheel moves the selection of the pane under it.
        let wheel = MouseEvent { kind: MouseEventKind::ScrollDown, ..click(x, t.first_row_y) };
        v.mouse(&wheel, &s);
        assert_eq!(v.row(Kind::Flags), 1);
        // With a dialog open the mouse does nothing (never confirms).
        v.apply(Command::ToggleFlag, &s);
        assert!(v.dialog.is_some());
        assert!(!v.mouse(&click(x, t.first_row_y), &s));
        assert!(v.dialog.is_some() && v.outbox.is_empty());
    }

    #[test]
    fn any_key_closes_help_and_q_does_not_quit_from_it() {
        let s = snap(&["a"]);
        let mut v = ViewState { help: true, ..ViewState::default() };
        v.apply(Command::Quit, &s);
        assert!(!v.help && !v.quit);
    }

    #[test]
    fn quitting_with_an_action_in_flight_asks_first() {
        use crate::model::{ActionEntry, ActionStatus};
        let mut f = Fleet::default();
        let now = Utc::now();
        f.record_action(ActionEntry {
            key: "k".into(),
            summary: "fail over us-east-1".into(),
            operator: "alice".into(),
            status: ActionStatus::InFlight,
            message: String::new(),
            started_at: now,
            updated_at: now,
            recovered_at: None,
        });
        let s = derive(f, 1);
        let mut v = operator();
        v.apply(Command::Quit, &s);
        assert!(!v.quit && v.confirm_quit);
        assert_eq!(v.message.clone().map(|(_, m)| m).as_deref(), Some("1 action in flight: quit anyway? y/N"));
        v.handle_key(&key(KeyCode::Char('n')), &[], &s);
        assert!(!v.quit && !v.confirm_quit, "anything but y keeps the console");
        v.apply(Command::Quit, &s);
        v.handle_key(&key(KeyCode::Char('y')), &[], &s);
        assert!(v.quit);
    }

    #[test]
    fn enter_on_a_service_in_the_region_screen_opens_the_service() {
        let s = snap(&["api-gateway", "auth"]);
        let mut v = ViewState { screen: Screen::Region("us-west-2".into()), region_row: 1, ..ViewState::default() };
        assert!(v.apply(Command::Enter, &s));
        assert_eq!(v.screen, Screen::Service("auth".into()));
    }

    #[test]
    fn a_paste_is_one_capped_edit() {
        let s = snap(&["payments"]);
        let mut v = ViewState { filter_input: Some(Input::default()), ..ViewState::default() };
        assert!(v.paste(&"pay\nments".repeat(20_000)));
        assert_eq!(v.filter_input.as_ref().map(|i| i.value().chars().count()), Some(MAX_FILTER_CHARS));
        assert!(v.filter.as_deref().is_some_and(|f| !f.contains('\n')));
        let mut idle = ViewState::default();
        assert!(!idle.paste("F"), "a paste with no input open does nothing (no action key)");
        assert!(idle.dialog.is_none() && idle.outbox.is_empty());
        let _ = s;
    }
}
