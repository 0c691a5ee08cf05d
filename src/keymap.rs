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
    Switchover,
    Silence,
    ExpireSilence,
    Breaker,
    FlagRollout,
    Filter,
    CommandLine,
    RunbookNext,
    RunbookSkip,
    RunbookAbort,
    Sort,
    SortReverse,
    Links,
    RangeShorter,
    RangeLonger,
    Compare,
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
            Command::Enter => "drill down: region (matrix), service (latency), SLO (budgets), canary, alert (labels, annotations, links)",
            Command::Back => "back / close",
            Command::Failover => "fail over the selected region (drain its traffic)",
            Command::Restore => "restore the selected region's traffic",
            Command::Rollback => "roll back the selected canary",
            Command::Promote => "promote the selected canary one step",
            Command::PauseResume => "pause / resume the selected canary; on a service or SLO drill-down: pause live updates",
            Command::ToggleFlag => "toggle the selected flag",
            Command::Switchover => {
                "database: move the writer to the selected standby (switchover; failover if the writer is down)"
            }
            Command::Silence => {
                "alerts: silence the selected alert (the command line opens with its labels: drop some to widen it, add a comment)"
            }
            Command::ExpireSilence => "silences: expire the selected silence",
            Command::Breaker => {
                "circuits: set the selected breaker on every instance (the command line opens: force-open, close or disable)"
            }
            Command::FlagRollout => {
                "flags: change the selected flag's gradual rollout (the command line opens with the next step: 10 → 25 → 50 → 100)"
            }
            Command::Filter => "filter services (fuzzy; Enter keeps it, Esc clears)",
            Command::CommandLine => "command line: view, theme, region, failover, runbook, … (Tab completes)",
            Command::RunbookNext => "runbook: do / confirm the current step",
            Command::RunbookSkip => "runbook: skip the current step (asks for a reason)",
            Command::Sort => "sort the focused table by its next column (▼ in the header)",
            Command::SortReverse => "reverse the focused table's sort",
            Command::RunbookAbort => "runbook: abort the run (asks for a reason)",
            Command::Links => "links of the selected row's service and region: dashboards, logs, traces, runbook (OSC 8)",
            Command::RangeShorter => "service drill-down: the latency chart's window shorter (7d → 24h → 6h → 1h → 15m)",
            Command::RangeLonger => "service drill-down: the latency chart's window longer (15m → 1h → 6h → 24h → 7d)",
            Command::Compare => "service drill-down: lay the same window a week earlier over the chart (again: off)",
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
            // Only in the databases pane: help lists it, the footer does not.
            Command::Switchover
            | Command::Silence
            | Command::ExpireSilence
            | Command::Breaker
            | Command::FlagRollout => None,
            Command::Filter => Some("filter"),
            Command::CommandLine => Some("command"),
            Command::RunbookNext | Command::RunbookSkip | Command::RunbookAbort => None,
            Command::Sort | Command::SortReverse => None,
            Command::Links => Some("links"),
            Command::RangeShorter | Command::RangeLonger | Command::Compare => None,
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
    key(KeyCode::Char('o'), Command::Links),
    key(KeyCode::Esc, Command::Back),
    key(KeyCode::Char('F'), Command::Failover),
    key(KeyCode::Char('R'), Command::Restore),
    key(KeyCode::Char('b'), Command::Rollback),
    key(KeyCode::Char('p'), Command::Promote),
    key(KeyCode::Char(' '), Command::PauseResume),
    key(KeyCode::Char('t'), Command::ToggleFlag),
    key(KeyCode::Char('W'), Command::Switchover),
    key(KeyCode::Char('z'), Command::Silence),
    key(KeyCode::Char('Z'), Command::ExpireSilence),
    key(KeyCode::Char('O'), Command::Breaker),
    key(KeyCode::Char('%'), Command::FlagRollout),
    key(KeyCode::Char('/'), Command::Filter),
    key(KeyCode::Char(':'), Command::CommandLine),
    key(KeyCode::Char('n'), Command::RunbookNext),
    key(KeyCode::Char('x'), Command::RunbookSkip),
    key(KeyCode::Char('s'), Command::Sort),
    key(KeyCode::Char('S'), Command::SortReverse),
    key(KeyCode::Char('A'), Command::RunbookAbort),
    key(KeyCode::Char('['), Command::RangeShorter),
    key(KeyCode::Char(']'), Command::RangeLonger),
    key(KeyCode::Char('c'), Command::Compare),
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
                | Command::Switchover
                | Command::ExpireSilence
        )
    }
}

/// Ctrl-C: always quits, whatever the keymap or an open dialog says.
pub fn is_ctrl_c(k: &KeyEvent) -> bool {
    k.code == KeyCode::Char('c') && k.modifiers.contains(KeyModifiers::CONTROL)
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

/// Every command with its name in a keymap file.
pub const COMMANDS: [(&str, Command); 32] = [
    ("quit", Command::Quit),
    ("help", Command::Help),
    ("up", Command::Up),
    ("down", Command::Down),
    ("left", Command::Left),
    ("right", Command::Right),
    ("next_pane", Command::NextPane),
    ("prev_pane", Command::PrevPane),
    ("enter", Command::Enter),
    ("back", Command::Back),
    ("failover", Command::Failover),
    ("restore", Command::Restore),
    ("rollback", Command::Rollback),
    ("promote", Command::Promote),
    ("pause_resume", Command::PauseResume),
    ("toggle_flag", Command::ToggleFlag),
    ("switchover", Command::Switchover),
    ("silence", Command::Silence),
    ("expire_silence", Command::ExpireSilence),
    ("breaker", Command::Breaker),
    ("flag_rollout", Command::FlagRollout),
    ("filter", Command::Filter),
    ("command", Command::CommandLine),
    ("runbook_next", Command::RunbookNext),
    ("runbook_skip", Command::RunbookSkip),
    ("sort", Command::Sort),
    ("sort_reverse", Command::SortReverse),
    ("runbook_abort", Command::RunbookAbort),
    ("links", Command::Links),
    ("range_shorter", Command::RangeShorter),
    ("range_longer", Command::RangeLonger),
    ("compare", Command::Compare),
];

/// Parse a key as written in a keymap file: `q`, `F`, `/`, `space`,
/// `enter`, `esc`, `tab`, `shift-tab`, `up`, `down`, `left`, `right`,
/// `ctrl-c`.
pub fn parse_key(s: &str) -> Result<(KeyCode, KeyModifiers), String> {
    let (mods, rest) = match s.strip_prefix("ctrl-") {
        Some(r) => (KeyModifiers::CONTROL, r),
        None => (KeyModifiers::NONE, s),
    };
    let code = match rest {
        "space" => KeyCode::Char(' '),
        "enter" => KeyCode::Enter,
        "esc" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "shift-tab" | "backtab" => return Ok((KeyCode::BackTab, KeyModifiers::SHIFT)),
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        r if r.chars().count() == 1 => KeyCode::Char(r.chars().next().unwrap_or(' ')),
        other => {
            return Err(format!(
                "unknown key '{other}' (a character, space, enter, esc, tab, shift-tab, arrows, ctrl-X)"
            ))
        }
    };
    Ok((code, mods))
}

/// A keymap file: `[keys]` with `command = ["key", ...]`. Commands not
/// listed keep their default keys; a key may serve only one command.
pub fn parse_keymap(file: &std::path::Path, text: &str) -> Result<Vec<Binding>, Vec<crate::config::ConfigError>> {
    use crate::config::ConfigError;
    use toml::Spanned;
    #[derive(serde::Deserialize)]
    #[serde(deny_unknown_fields)]
    struct KeymapFile {
        #[serde(default)]
        keys: std::collections::BTreeMap<Spanned<String>, Vec<Spanned<String>>>,
    }
    let err = |span: std::ops::Range<usize>, message: String| ConfigError::at(file, text, span, message);
    let parsed: KeymapFile = crate::config::from_toml(file, text)?;
    let mut errors = Vec::new();
    let mut rebound: Vec<Command> = Vec::new();
    let mut custom: Vec<Binding> = Vec::new();
    for (name, keys) in &parsed.keys {
        let Some((_, cmd)) = COMMANDS.iter().find(|(n, _)| n == name.get_ref()) else {
            let names: Vec<&str> = COMMANDS.iter().map(|(n, _)| *n).collect();
            errors
                .push(err(name.span(), format!("unknown command '{}' (one of: {})", name.get_ref(), names.join(", "))));
            continue;
        };
        rebound.push(*cmd);
        for k in keys {
            match parse_key(k.get_ref()) {
                Ok((code, mods)) => custom.push(Binding { code, mods, command: *cmd }),
                Err(e) => errors.push(err(k.span(), e)),
            }
        }
    }
    let mut all: Vec<Binding> = DEFAULT_KEYMAP.iter().filter(|b| !rebound.contains(&b.command)).copied().collect();
    all.extend(custom);
    for (i, a) in all.iter().enumerate() {
        if let Some(b) = all[..i].iter().find(|b| b.code == a.code && b.mods == a.mods && b.command != a.command) {
            errors.push(err(0..0, format!("key {} is bound to both {:?} and {:?}", key_name(a), b.command, a.command)));
        }
    }
    if errors.is_empty() {
        Ok(all)
    } else {
        Err(errors)
    }
}

/// The keymap in use: `keymap.toml` in the user config directory if there
/// is one, else the defaults.
pub fn load_keymap() -> Result<Vec<Binding>, String> {
    let Some(path) = directories::ProjectDirs::from("", "", "warroom").map(|d| d.config_dir().join("keymap.toml"))
    else {
        return Ok(DEFAULT_KEYMAP.to_vec());
    };
    if !path.is_file() {
        return Ok(DEFAULT_KEYMAP.to_vec());
    }
    let text = crate::config::read_config_file(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_keymap(&path, &text).map_err(|errs| errs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n"))
}

#[cfg(test)]
mod keymap_file_tests {
    use super::*;

    #[test]
    fn keymap_files_rebind_and_report_errors() {
        let p = std::path::Path::new("k.toml");
        let km = parse_keymap(p, "[keys]\nquit = [\"g\"]\nfailover = [\"ctrl-f\"]\n").unwrap_or_default();
        let x = KeyEvent::new(KeyCode::Char('g'), KeyModifiers::NONE);
        let q = KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE);
        assert_eq!(lookup(&km, &x), Some(Command::Quit));
        assert_eq!(lookup(&km, &q), None, "quit no longer on q");
        let cf = KeyEvent::new(KeyCode::Char('f'), KeyModifiers::CONTROL);
        assert_eq!(lookup(&km, &cf), Some(Command::Failover));
        assert!(help_lines(&km).iter().any(|(k, d)| k == "g" && *d == "quit"), "help follows the keymap");
        let e: Vec<String> = parse_keymap(p, "[keys]\nexplode = [\"e\"]\nhelp = [\"ctrl-\"]\nback = [\"q\"]\n")
            .err()
            .unwrap_or_default()
            .iter()
            .map(|e| e.to_string())
            .collect();
        assert!(e.iter().any(|x| x.starts_with("k.toml:2:1: unknown command 'explode'")), "{e:?}");
        assert!(e.iter().any(|x| x.starts_with("k.toml:3:9: unknown key ''")), "{e:?}");
        assert!(e.iter().any(|x| x.contains("key q is bound to both Quit and Back")), "{e:?}");
    }

    #[test]
    fn lookup_handles_shift_and_ctrl() {
        let q = KeyEvent::new(KeyCode::Char('?'), KeyModifiers::SHIFT);
        assert_eq!(lookup(DEFAULT_KEYMAP, &q), Some(Command::Help));
        let cc = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL);
        assert_eq!(lookup(DEFAULT_KEYMAP, &cc), Some(Command::Quit));
        // Plain c is the chart's week-earlier overlay, never Ctrl-C's quit.
        let c = KeyEvent::new(KeyCode::Char('c'), KeyModifiers::NONE);
        assert_eq!(lookup(DEFAULT_KEYMAP, &c), Some(Command::Compare));
    }

    #[test]
    fn help_covers_every_command_once() {
        let lines = help_lines(DEFAULT_KEYMAP);
        assert_eq!(lines.len(), 32);
        assert_eq!(lines.len(), COMMANDS.len(), "every command has its line");
        assert!(lines.iter().any(|(k, d)| k == "q / Ctrl-c" && *d == "quit"));
        let hints = footer_hints(DEFAULT_KEYMAP, true);
        assert_eq!(hints[0], ("q".to_string(), "quit".to_string()));
        assert!(hints.iter().any(|(k, l)| k == "F" && l == "failover"));
        let ro = footer_hints(DEFAULT_KEYMAP, false);
        assert!(!ro.iter().any(|(k, _)| k == "F"));
        assert!(ro[0].1.contains("actions disabled"));
    }
}
