//! Per-viewer state: which screen, which pane has focus, what is selected.
//! Every terminal (local or remote) owns one; the snapshot is shared.

use crossterm::event::{Event, KeyCode, KeyEvent};
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;

use std::sync::Arc;

use super::keymap::{lookup, Binding, Command};
use super::runbook_ui::{Prompt, PromptFor};
use crate::actions::executor::{new_key, Disposition, Intent};
use crate::actions::{Action, Operator, Preview, Role};
use crate::model::Snapshot;
use crate::runbook::run::Run;
use crate::views::{Catalog, ViewDef};
use warroom_ui::{Level, Theme};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneId {
    Matrix,
    Latency,
    Budgets,
    Canaries,
    Circuits,
    Flags,
    Actions,
    Alerts,
}

pub const PANES: [PaneId; 8] = [
    PaneId::Matrix,
    PaneId::Latency,
    PaneId::Budgets,
    PaneId::Canaries,
    PaneId::Circuits,
    PaneId::Flags,
    PaneId::Actions,
    PaneId::Alerts,
];

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
}

impl Dialog {
    /// Whether Confirm can be chosen (the typed name matches, if one is required).
    pub fn armed(&self) -> bool {
        self.preview.type_to_confirm.as_deref().is_none_or(|name| self.input.value() == name)
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    Overview,
    Region(String),
    /// One SLO's detail, by name.
    Slo(String),
    /// One service's detail, by name.
    Service(String),
    /// One deployment's detail, by id.
    Deployment(String),
}

#[derive(Debug, Clone)]
pub struct ViewState {
    pub screen: Screen,
    pub focus: PaneId,
    /// Selected row per pane (indexed like `PANES`).
    pub rows: [usize; 8],
    /// Selected region column in the matrix.
    pub column: usize,
    /// Selected row on a region screen.
    pub region_row: usize,
    pub help: bool,
    pub quit: bool,
    /// Label for the header ("DEMO calm seed 7") when running the simulator.
    pub demo: Option<String>,
    pub operator: Operator,
    pub dialog: Option<Dialog>,
    /// Intents waiting to be handed to the executor.
    pub outbox: Vec<Intent>,
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
}

/// Case-insensitive fuzzy match: the pattern's characters appear in order.
pub fn fuzzy(pattern: &str, text: &str) -> bool {
    let mut chars = text.chars().flat_map(char::to_lowercase);
    pattern.chars().flat_map(char::to_lowercase).all(|p| chars.any(|c| c == p))
}

impl ViewState {
    /// Whether a service passes the filter.
    pub fn shows(&self, service: &str) -> bool {
        self.filter.as_deref().is_none_or(|f| fuzzy(f, service))
    }

    /// The services on screen, in order, after the filter: the view's
    /// `services_first` lead (or are all there is, with `services_only`).
    pub fn visible_services<'a>(&self, snap: &'a Snapshot) -> Vec<&'a crate::model::Service> {
        let all = snap.fleet.services.items();
        let first = &self.def.services_first;
        let mut out: Vec<&crate::model::Service> =
            first.iter().filter_map(|n| all.iter().find(|s| &s.name == n)).filter(|s| self.shows(&s.name)).collect();
        if !self.def.services_only {
            let mut rest: Vec<&crate::model::Service> =
                all.iter().filter(|s| !first.contains(&s.name) && self.shows(&s.name)).collect();
            // Problems first, so a DOWN or DEGRADED service is never the row
            // a short pane cuts off (stable: the source's order otherwise).
            rest.sort_by_key(|s| std::cmp::Reverse(service_severity(snap, &s.name)));
            out.extend(rest);
        }
        out
    }

    /// Selectable panes of the current view that are on screen, in order.
    pub fn focus_order(&self, snap: &Snapshot) -> Vec<PaneId> {
        let mut out = Vec::new();
        for spec in self.def.layouts.iter().flat_map(|l| &l.groups).flat_map(|g| &g.panes) {
            let Some(id) = spec.kind.pane() else { continue };
            let hidden = spec.hide_empty && crate::render::pane_is_empty(spec.kind, snap);
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
            }
            KeyCode::Enter => {
                let v = input.value().trim().to_string();
                self.filter = (!v.is_empty()).then_some(v);
                self.filter_input = None;
                self.rows = [0; 8];
            }
            _ => {
                input.handle_event(&Event::Key(*k));
                // Live: the panes follow as you type.
                let v = input.value().trim().to_string();
                self.filter = (!v.is_empty()).then_some(v);
                self.rows = [0; 8];
            }
        }
        true
    }
}

impl Default for ViewState {
    fn default() -> Self {
        ViewState {
            screen: Screen::Overview,
            focus: PaneId::Matrix,
            rows: [0; 8],
            column: 0,
            region_row: 0,
            help: false,
            quit: false,
            demo: None,
            operator: Operator { name: "unknown".into(), role: Role::Viewer },
            dialog: None,
            outbox: Vec::new(),
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
        }
    }
}

fn pane_index(p: PaneId) -> usize {
    PANES.iter().position(|x| *x == p).unwrap_or(0)
}

impl ViewState {
    pub fn row(&self, p: PaneId) -> usize {
        self.rows[pane_index(p)]
    }

    /// Apply a command. Returns true when something visible changed.
    pub fn apply(&mut self, cmd: Command, snap: &Snapshot) -> bool {
        if self.help {
            // Any key closes help; quit still quits.
            self.help = false;
            if cmd == Command::Quit {
                self.quit = true;
            }
            return true;
        }
        if cmd.is_action() {
            return self.start_action(cmd, snap);
        }
        let regions = snap.fleet.regions.items().len().max(1);
        let services = self.visible_services(snap).len().max(1);
        match (cmd, &self.screen) {
            (Command::Quit, _) => self.quit = true,
            (Command::Filter, _) => {
                let current = self.filter.clone().unwrap_or_default();
                self.filter_input = Some(Input::new(current));
            }
            (Command::Help, _) => self.help = true,
            (Command::CommandLine, _) => self.command = Some(Input::default()),
            (Command::RunbookNext, _) => return self.runbook_next(snap, chrono::Utc::now()),
            (Command::RunbookSkip, _) => return self.runbook_prompt(PromptFor::Skip),
            (Command::RunbookAbort, _) => return self.runbook_prompt(PromptFor::Abort),
            (Command::Back, Screen::Overview) if self.runbook.as_ref().is_some_and(|r| r.finished()) => {
                self.runbook = None;
            }
            (Command::Back, Screen::Region(_) | Screen::Slo(_) | Screen::Service(_) | Screen::Deployment(_)) => {
                self.screen = Screen::Overview
            }
            (_, Screen::Slo(_) | Screen::Service(_) | Screen::Deployment(_)) => return false,
            (Command::Back, Screen::Overview) => return false,
            (Command::Up, Screen::Region(_)) => self.region_row = self.region_row.saturating_sub(1),
            (Command::Down, Screen::Region(_)) => self.region_row = (self.region_row + 1).min(services - 1),
            (
                Command::Left | Command::Right | Command::NextPane | Command::PrevPane | Command::Enter,
                Screen::Region(_),
            ) => return false,
            (Command::NextPane, Screen::Overview) => self.cycle_focus(snap, 1),
            (Command::PrevPane, Screen::Overview) => self.cycle_focus(snap, -1),
            (Command::Up, Screen::Overview) => {
                let i = pane_index(self.focus);
                self.rows[i] = self.rows[i].saturating_sub(1);
            }
            (Command::Down, Screen::Overview) => {
                let i = pane_index(self.focus);
                let max = pane_len(self.focus, snap, self).saturating_sub(1);
                self.rows[i] = (self.rows[i] + 1).min(max);
            }
            (Command::Left, Screen::Overview) => self.column = self.column.saturating_sub(1),
            (Command::Right, Screen::Overview) => self.column = (self.column + 1).min(regions - 1),
            (
                Command::Failover
                | Command::Restore
                | Command::Rollback
                | Command::Promote
                | Command::PauseResume
                | Command::ToggleFlag,
                _,
            ) => return false,
            (Command::Enter, Screen::Overview) if self.focus == PaneId::Latency => {
                let Some(s) = self.visible_services(snap).get(self.row(PaneId::Latency)).copied() else {
                    return false;
                };
                self.screen = Screen::Service(s.name.clone());
            }
            (Command::Enter, Screen::Overview) if self.focus == PaneId::Canaries => {
                let Some(d) = snap.fleet.deployments.items().get(self.row(PaneId::Canaries)) else {
                    return false;
                };
                self.screen = Screen::Deployment(d.id.clone());
            }
            (Command::Enter, Screen::Overview) if self.focus == PaneId::Budgets => {
                let sorted = crate::panes::budgets::sorted(&snap.slos);
                let Some(s) = sorted.get(self.row(PaneId::Budgets)) else {
                    return false;
                };
                self.screen = Screen::Slo(s.name.clone());
            }
            (Command::Enter, Screen::Overview) => {
                let Some(r) = snap.fleet.regions.items().get(self.column.min(regions - 1)) else {
                    return false;
                };
                self.screen = Screen::Region(r.name.clone());
                self.region_row = 0;
            }
        }
        true
    }
}

/// How bad a service's worst cell is: 3 down, 2 degraded, 0 otherwise.
pub fn service_severity(snap: &Snapshot, service: &str) -> u8 {
    snap.cells
        .get(service)
        .map(|m| {
            m.values()
                .map(|c| match c.status {
                    crate::model::RegionStatus::Down => 3,
                    crate::model::RegionStatus::Degraded => 2,
                    _ => 0,
                })
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

impl ViewState {
    /// The action a command means for the current selection.
    pub fn action_for(&self, cmd: Command, snap: &Snapshot) -> Option<Action> {
        let f = &snap.fleet;
        let region = || match &self.screen {
            Screen::Region(name) => Some(name.clone()),
            Screen::Overview | Screen::Slo(_) | Screen::Service(_) | Screen::Deployment(_) => {
                f.regions.items().get(self.column).map(|r| r.name.clone())
            }
        };
        let deployment = || f.deployments.items().get(self.row(PaneId::Canaries)).cloned();
        match cmd {
            Command::Failover => Some(Action::Failover { region: region()? }),
            Command::Restore => Some(Action::Restore { region: region()? }),
            Command::Rollback => Some(Action::Rollback { deployment: deployment()?.id }),
            Command::Promote => Some(Action::Promote { deployment: deployment()?.id, full: false }),
            Command::PauseResume => {
                let d = deployment()?;
                Some(if d.phase == crate::model::CanaryPhase::Paused {
                    Action::Resume { deployment: d.id }
                } else {
                    Action::Pause { deployment: d.id }
                })
            }
            Command::ToggleFlag => {
                let fl = f.flags.items().get(self.row(PaneId::Flags))?;
                Some(Action::SetFlag { flag: fl.name.clone(), environment: fl.environment.clone(), on: !fl.enabled })
            }
            _ => None,
        }
    }

    fn intent(&self, action: Action, disposition: Disposition) -> Intent {
        Intent { action, key: new_key(), operator: self.operator.clone(), disposition }
    }

    /// An action key: the action for the selection, proposed.
    fn start_action(&mut self, cmd: Command, snap: &Snapshot) -> bool {
        let Some(action) = self.action_for(cmd, snap) else {
            return false;
        };
        self.propose(action, snap);
        true
    }

    /// Switch the overview screen to another view; focus goes to its first pane.
    pub fn switch_view(&mut self, def: Arc<ViewDef>, snap: &Snapshot) {
        self.def = def;
        self.screen = Screen::Overview;
        self.rows = [0; 8];
        if let Some(first) = self.focus_order(snap).first() {
            self.focus = *first;
        }
    }

    /// A viewer's attempt goes straight to the executor to be audited as
    /// denied; what would be refused is refused with the reason; anything
    /// else opens the confirm gate.
    pub fn propose(&mut self, action: Action, snap: &Snapshot) {
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
                self.dialog = Some(Dialog { action, preview, input: Input::default(), focus: DialogFocus::Cancel });
            }
        }
    }

    /// One key press, whoever's terminal it came from: the command line,
    /// the filter and the dialog take keys first; everything else goes
    /// through the keymap. Returns true when something visible changed.
    pub fn handle_key(&mut self, k: &KeyEvent, keymap: &[Binding], snap: &Snapshot) -> bool {
        let had_message = self.message.take().is_some();
        let changed = if self.prompt.is_some() {
            self.prompt_key(k, chrono::Utc::now())
        } else if self.command.is_some() {
            self.command_key(k, snap)
        } else if self.filter_input.is_some() {
            self.filter_key(k)
        } else if self.dialog.is_some() && !self.help {
            self.dialog_key(k)
        } else {
            match lookup(keymap, k) {
                Some(cmd) => self.apply(cmd, snap),
                // Any key closes help, bound or not.
                None if self.help => {
                    self.help = false;
                    true
                }
                None => false,
            }
        };
        changed || had_message
    }

    /// Keys while the confirm dialog is open. Returns true if it changed.
    pub fn dialog_key(&mut self, k: &KeyEvent) -> bool {
        let Some(d) = self.dialog.as_mut() else {
            return false;
        };
        let typing = d.preview.type_to_confirm.is_some();
        match k.code {
            KeyCode::Esc => self.dialog = None,
            KeyCode::Tab | KeyCode::BackTab => {
                d.focus = if d.focus == DialogFocus::Cancel { DialogFocus::Confirm } else { DialogFocus::Cancel };
            }
            KeyCode::Left | KeyCode::Right if !typing => {
                d.focus = if d.focus == DialogFocus::Cancel { DialogFocus::Confirm } else { DialogFocus::Cancel };
            }
            KeyCode::Enter => match d.focus {
                DialogFocus::Cancel => self.dialog = None,
                DialogFocus::Confirm if d.armed() => {
                    let action = d.action.clone();
                    self.dialog = None;
                    let intent = self.intent(action, Disposition::Go);
                    // A runbook's action is recorded in the run (and saved)
                    // before it is sent, so a crash cannot lose its key.
                    if let Some(run) = self.runbook.as_mut() {
                        run.record_intent(&intent.action, &intent.key, chrono::Utc::now(), &intent.operator.name);
                    }
                    self.outbox.push(intent);
                }
                DialogFocus::Confirm => return false,
            },
            _ if typing => {
                d.input.handle_event(&Event::Key(*k));
            }
            _ => return false,
        }
        true
    }
}

/// Number of rows a pane can select among.
pub fn pane_len(p: PaneId, snap: &Snapshot, view: &ViewState) -> usize {
    let f = &snap.fleet;
    match p {
        PaneId::Matrix | PaneId::Latency => view.visible_services(snap).len(),
        PaneId::Budgets => snap.slos.len(),
        PaneId::Canaries => f.deployments.items().len(),
        PaneId::Circuits => f.circuits.items().len(),
        PaneId::Flags => f.flags.items().len(),
        PaneId::Actions => f.actions.len(),
        PaneId::Alerts => f.alerts.items().len(),
    }
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
            })
            .collect();
        f.services.set(Utc::now(), Ok(svcs));
        derive(f, 1)
    }

    #[test]
    fn fuzzy_matching() {
        assert!(fuzzy("pay", "payments"));
        assert!(fuzzy("pmt", "payments"));
        assert!(fuzzy("PAY", "payments"));
        assert!(!fuzzy("ypa", "payments"));
        assert!(fuzzy("", "anything"));
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
        v.filter_key(&KeyEvent::new(KeyCode::Enter, crossterm::event::KeyModifiers::NONE));
        assert!(v.filter_input.is_none());
        assert_eq!(v.filter.as_deref(), Some("pmt"));
        v.apply(Command::Filter, &s);
        v.filter_key(&KeyEvent::new(KeyCode::Esc, crossterm::event::KeyModifiers::NONE));
        assert!(v.filter.is_none());
        assert_eq!(v.visible_services(&s).len(), 4);
    }
}
