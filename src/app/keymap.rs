//! The one key table: key handling, the footer hints and the help screen are
//! all generated from it, so they cannot disagree.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Command {
    Quit,
    Help,
    Up,
    Down,
    Left,
    Right,
    NextPane,
    PrevPane,
    Enter,
    Back,
    Failover,
    Restore,
    Rollback,
    Promote,
    PauseResume,
    ToggleFlag,
    Filter,
}

impl Command {
    pub fn describe(self) -> &'static str {
        match self {
            Command::Quit => "quit",
            Command::Help => "help",
            Command::Up => "move up",
            Command::Down => "move down",
            Command::Left => "move left (region column)",
            Command::Right => "move right (region column)",
            Command::NextPane => "next pane",
            Command::PrevPane => "previous pane",
            Command::Enter => "drill down: region (matrix), service (latency), SLO (budgets), canary",
            Command::Back => "back / close",
            Command::Failover => "fail over the selected region (drain its traffic)",
            Command::Restore => "restore the selected region's traffic",
            Command::Rollback => "roll back the selected canary",
            Command::Promote => "promote the selected canary one step",
            Command::PauseResume => "pause / resume the selected canary",
            Command::ToggleFlag => "toggle the selected flag",
            Command::Filter => "filter services (fuzzy; Enter keeps it, Esc clears)",
        }
    }

    /// Short label for the footer, if the command earns a place there.
    pub fn hint(self) -> Option<&'static str> {
        match self {
            Command::Quit => Some("quit"),
            Command::Help => Some("help"),
            Command::NextPane => Some("pane"),
            Command::Enter => Some("drill down"),
            Command::Back => Some("back"),
            Command::Failover => Some("failover"),
            Command::Restore => Some("restore"),
            Command::Rollback => Some("rollback"),
            Command::Promote => Some("promote"),
            Command::PauseResume => Some("pause"),
            Command::ToggleFlag => Some("flag"),
            Command::Filter => Some("filter"),
            Command::Up | Command::Down | Command::Left | Command::Right | Command::PrevPane => None,
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Binding {
    pub code: KeyCode,
    pub mods: KeyModifiers,
    pub command: Command,
}

const fn key(code: KeyCode, command: Command) -> Binding {
    Binding { code, mods: KeyModifiers::NONE, command }
}

/// Default bindings, in the order help lists them.
pub const DEFAULT_KEYMAP: &[Binding] = &[
    key(KeyCode::Char('q'), Command::Quit),
    Binding { code: KeyCode::Char('c'), mods: KeyModifiers::CONTROL, command: Command::Quit },
    key(KeyCode::Char('?'), Command::Help),
    key(KeyCode::Up, Command::Up),
    key(KeyCode::Char('k'), Command::Up),
    key(KeyCode::Down, Command::Down),
    key(KeyCode::Char('j'), Command::Down),
    key(KeyCode::Left, Command::Left),
    key(KeyCode::Char('h'), Command::Left),
    key(KeyCode::Right, Command::Right),
    key(KeyCode::Char('l'), Command::Right),
    key(KeyCode::Tab, Command::NextPane),
    Binding { code: KeyCode::BackTab, mods: KeyModifiers::SHIFT, command: Command::PrevPane },
    key(KeyCode::Enter, Command::Enter),
    key(KeyCode::Esc, Command::Back),
    key(KeyCode::Char('F'), Command::Failover),
    key(KeyCode::Char('R'), Command::Restore),
    key(KeyCode::Char('b'), Command::Rollback),
    key(KeyCode::Char('p'), Command::Promote),
    key(KeyCode::Char(' '), Command::PauseResume),
    key(KeyCode::Char('t'), Command::ToggleFlag),
    key(KeyCode::Char('/'), Command::Filter),
];

impl Command {
    /// Whether the command changes something in a backend.
    pub fn is_action(self) -> bool {
        matches!(
            self,
            Command::Failover
                | Command::Restore
                | Command::Rollback
                | Command::Promote
                | Command::PauseResume
                | Command::ToggleFlag
        )
    }
}

/// The command bound to a key event, ignoring Shift on characters (so `?`
/// works whether or not the terminal reports Shift).
pub fn lookup(keymap: &[Binding], ev: &KeyEvent) -> Option<Command> {
    let mods = match ev.code {
        KeyCode::Char(_) | KeyCode::BackTab => ev.modifiers - KeyModifiers::SHIFT,
        _ => ev.modifiers,
    };
    keymap.iter().find(|b| b.code == ev.code && (b.mods - KeyModifiers::SHIFT) == mods).map(|b| b.command)
}

/// Display name of a key, e.g. "Ctrl-c", "Tab", "↑".
pub fn key_name(b: &Binding) -> String {
    let base = match b.code {
        KeyCode::Char(' ') => "Space".to_string(),
        KeyCode::Char(c) => c.to_string(),
        KeyCode::Up => "↑".into(),
        KeyCode::Down => "↓".into(),
        KeyCode::Left => "←".into(),
        KeyCode::Right => "→".into(),
        KeyCode::Tab => "Tab".into(),
        KeyCode::BackTab => "S-Tab".into(),
        KeyCode::Enter => "Enter".into(),
        KeyCode::Esc => "Esc".into(),
        other => format!("{other:?}"),
    };
    if b.mods.contains(KeyModifiers::CONTROL) {
        format!("Ctrl-{base}")
    } else {
        base
    }
}

/// (keys, description) per command, in table order, for the help screen.
pub fn help_lines(keymap: &[Binding]) -> Vec<(String, &'static str)> {
    let mut out: Vec<(Command, Vec<String>)> = Vec::new();
    for b in keymap {
        match out.iter_mut().find(|(c, _)| *c == b.command) {
            Some((_, keys)) => keys.push(key_name(b)),
            None => out.push((b.command, vec![key_name(b)])),
        }
    }
    out.into_iter().map(|(c, keys)| (keys.join(" / "), c.describe())).collect()
}

/// (key, label) pairs for the footer: the first key of each hinted command.
/// Without `actions` (viewer role), action keys are listed as disabled.
pub fn footer_hints(keymap: &[Binding], actions: bool) -> Vec<(String, String)> {
    let mut seen = Vec::new();
    let mut out = Vec::new();
    if !actions {
        out.push(("read-only:".to_string(), "actions disabled (viewer)".to_string()));
    }
    for b in keymap {
        if !actions && b.command.is_action() {
            continue;
        }
        if let Some(h) = b.command.hint() {
            if !seen.contains(&b.command) {
                seen.push(b.command);
                out.push((key_name(b), h.to_string()));
            }
        }
    }
    out.insert(out.len().min(5 + usize::from(!actions)), ("hjkl/↑↓←→".into(), "move".into()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_handles_shift_and_ctrl() {
        let q = KeyEvent::new(KeyCode::Char('?'), KeyModifiers::SHIFT);
        assert_eq!(lookup(DEFAULT_KEYMAP, &q), Some(Command::Help));
        let cc = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(lookup(DEFAULT_KEYMAP, &cc), Some(Command::Quit));
        let c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE);
        assert_eq!(lookup(DEFAULT_KEYMAP, &c), None);
    }

    #[test]
    fn help_covers_every_command_once() {
        let lines = help_lines(DEFAULT_KEYMAP);
        assert_eq!(lines.len(), 17);
        assert!(lines.iter().any(|(k, d)| k == "q / Ctrl-c" && *d == "quit"));
        let hints = footer_hints(DEFAULT_KEYMAP, true);
        assert_eq!(hints[0], ("q".to_string(), "quit".to_string()));
        assert!(hints.iter().any(|(k, l)| k == "F" && l == "failover"));
        let ro = footer_hints(DEFAULT_KEYMAP, false);
        assert!(!ro.iter().any(|(k, _)| k == "F"));
        assert!(ro[0].1.contains("actions disabled"));
    }
}
