//! Per-viewer state: which screen, which pane has focus, what is selected.
//! Every terminal (local or remote) owns one; the snapshot is shared.

use super::keymap::Command;
use crate::model::Snapshot;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PaneId {
    Matrix,
    Latency,
    Budgets,
    Canaries,
    Circuits,
    Flags,
}

pub const PANES: [PaneId; 6] =
    [PaneId::Matrix, PaneId::Latency, PaneId::Budgets, PaneId::Canaries, PaneId::Circuits, PaneId::Flags];

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    Overview,
    Region(String),
}

#[derive(Debug, Clone)]
pub struct ViewState {
    pub screen: Screen,
    pub focus: PaneId,
    /// Selected row per pane (indexed like `PANES`).
    pub rows: [usize; 6],
    /// Selected region column in the matrix.
    pub column: usize,
    /// Selected row on a region screen.
    pub region_row: usize,
    pub help: bool,
    pub quit: bool,
    /// Label for the header ("DEMO calm seed 7") when running the simulator.
    pub demo: Option<String>,
}

impl Default for ViewState {
    fn default() -> Self {
        ViewState {
            screen: Screen::Overview,
            focus: PaneId::Matrix,
            rows: [0; 6],
            column: 0,
            region_row: 0,
            help: false,
            quit: false,
            demo: None,
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
        let regions = snap.fleet.regions.items().len().max(1);
        let services = snap.fleet.services.items().len().max(1);
        match (cmd, &self.screen) {
            (Command::Quit, _) => self.quit = true,
            (Command::Help, _) => self.help = true,
            (Command::Back, Screen::Region(_)) => self.screen = Screen::Overview,
            (Command::Back, Screen::Overview) => return false,
            (Command::Up, Screen::Region(_)) => self.region_row = self.region_row.saturating_sub(1),
            (Command::Down, Screen::Region(_)) => self.region_row = (self.region_row + 1).min(services - 1),
            (
                Command::Left | Command::Right | Command::NextPane | Command::PrevPane | Command::Enter,
                Screen::Region(_),
            ) => return false,
            (Command::NextPane, Screen::Overview) => {
                self.focus = PANES[(pane_index(self.focus) + 1) % PANES.len()];
            }
            (Command::PrevPane, Screen::Overview) => {
                self.focus = PANES[(pane_index(self.focus) + PANES.len() - 1) % PANES.len()];
            }
            (Command::Up, Screen::Overview) => {
                let i = pane_index(self.focus);
                self.rows[i] = self.rows[i].saturating_sub(1);
            }
            (Command::Down, Screen::Overview) => {
                let i = pane_index(self.focus);
                let max = pane_len(self.focus, snap).saturating_sub(1);
                self.rows[i] = (self.rows[i] + 1).min(max);
            }
            (Command::Left, Screen::Overview) => self.column = self.column.saturating_sub(1),
            (Command::Right, Screen::Overview) => self.column = (self.column + 1).min(regions - 1),
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

/// Number of rows a pane can select among.
pub fn pane_len(p: PaneId, snap: &Snapshot) -> usize {
    let f = &snap.fleet;
    match p {
        PaneId::Matrix | PaneId::Latency => f.services.items().len(),
        PaneId::Budgets => snap.slos.len(),
        PaneId::Canaries => f.deployments.items().len(),
        PaneId::Circuits => f.circuits.items().len(),
        PaneId::Flags => f.flags.items().len(),
    }
}
