//! Command mode (`:`): a line with completion over verbs, views, themes,
//! regions, services, SLOs, deployments and flags. Actions typed here go
//! through the same confirm gate, roles and audit trail as their keys.

use std::collections::HashMap;

use crossterm::event::{Event, KeyCode, KeyEvent};
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;
use warroom_ui::Level;

use super::view::{Screen, ViewState};
use crate::actions::Action;
use crate::model::Snapshot;

/// A `:` verb.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    View,
    Theme,
    Overview,
    Region,
    Service,
    Slo,
    Deployment,
    Failover,
    Restore,
    Rollback,
    Promote,
    Pause,
    Resume,
    Retry,
    Undo,
    Flag,
    FlagRollout,
    Switchover,
    DbFailover,
    Silence,
    SilenceExpire,
    SilenceExtend,
    Breaker,
    Filter,
    Runbook,
    Note,
    Incident,
    Help,
    Quit,
}

/// What a verb's first argument names (for completion).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Arg {
    None,
    View,
    Theme,
    Region,
    Service,
    Slo,
    Deployment,
    Flag,
    Database,
    Silence,
    Runbook,
}

/// One row of the verb table: parsing, completion and help read it.
pub struct VerbDef {
    pub verb: Verb,
    pub name: &'static str,
    /// The argument shape, for help and the command line's usage hint.
    pub args: &'static str,
    pub help: &'static str,
    pub completes: Arg,
}

const fn def(verb: Verb, name: &'static str, args: &'static str, help: &'static str, completes: Arg) -> VerbDef {
    VerbDef { verb, name, args, help, completes }
}

/// The verbs: one table for parsing, completion and help.
pub static VERBS: [VerbDef; 29] = [
    def(Verb::View, "view", "NAME", "switch the overview to a view (views/*.toml)", Arg::View),
    def(Verb::Theme, "theme", "NAME", "switch theme", Arg::Theme),
    def(Verb::Overview, "overview", "", "back to the overview", Arg::None),
    def(Verb::Region, "region", "NAME", "open a region", Arg::Region),
    def(Verb::Service, "service", "NAME", "open a service", Arg::Service),
    def(Verb::Slo, "slo", "NAME", "open an SLO", Arg::Slo),
    def(Verb::Deployment, "deployment", "ID", "open a deployment", Arg::Deployment),
    def(Verb::Failover, "failover", "REGION", "drain a region's traffic (confirm)", Arg::Region),
    def(Verb::Restore, "restore", "REGION", "restore a region's traffic (confirm)", Arg::Region),
    def(Verb::Rollback, "rollback", "ID", "roll back a canary (confirm)", Arg::Deployment),
    def(Verb::Promote, "promote", "ID", "promote a canary one step (confirm)", Arg::Deployment),
    def(Verb::Pause, "pause", "ID", "pause a canary (confirm)", Arg::Deployment),
    def(Verb::Resume, "resume", "ID", "resume a canary (confirm)", Arg::Deployment),
    def(Verb::Retry, "retry", "ID", "start an aborted canary again from its first step (confirm)", Arg::Deployment),
    def(Verb::Undo, "undo", "ID REVISION", "put an earlier revision's template back (confirm)", Arg::Deployment),
    def(Verb::Flag, "flag", "NAME ENV on|off [SOURCE]", "set a feature flag (confirm)", Arg::Flag),
    def(
        Verb::FlagRollout,
        "flag-rollout",
        "NAME ENV PERCENT [SOURCE]",
        "change a flag's gradual rollout, e.g. 10 → 25 (% on a flag fills it in; confirm)",
        Arg::Flag,
    ),
    def(
        Verb::Switchover,
        "switchover",
        "DATABASE [MEMBER]",
        "move a database's writer to a standby, the best one by default (confirm)",
        Arg::Database,
    ),
    def(
        Verb::DbFailover,
        "db-failover",
        "DATABASE [MEMBER] [break-glass]",
        "promote a standby when the writer is gone; break-glass accepts data loss (confirm)",
        Arg::Database,
    ),
    def(
        Verb::Silence,
        "silence",
        "LABEL=VALUE … [for DURATION] -- COMMENT",
        "silence the alerts every matcher catches in Alertmanager (z on an alert fills it in; confirm)",
        Arg::None,
    ),
    def(Verb::SilenceExpire, "silence-expire", "ID", "expire a silence now (confirm)", Arg::Silence),
    def(
        Verb::SilenceExtend,
        "silence-extend",
        "ID DURATION",
        "make a silence end DURATION from now (confirm)",
        Arg::Silence,
    ),
    def(
        Verb::Breaker,
        "breaker",
        "FROM TO REGION force-open|close|disable",
        "set a circuit breaker on every instance of FROM in REGION (O on a circuit fills it in; confirm)",
        Arg::Service,
    ),
    def(Verb::Filter, "filter", "[TEXT]", "fuzzy filter on services; no text clears", Arg::Service),
    def(Verb::Runbook, "runbook", "NAME [key=value …]", "start a runbook, or resume its unfinished run", Arg::Runbook),
    def(Verb::Note, "note", "TEXT", "add a timestamped note to the change timeline (every console sees it)", Arg::None),
    def(
        Verb::Incident,
        "incident",
        "start TITLE [sev1|sev2|sev3] | resolve",
        "open the fleet's incident (one at a time), or resolve it: warroom incident export writes the postmortem",
        Arg::None,
    ),
    def(Verb::Help, "help", "", "the key help", Arg::None),
    def(Verb::Quit, "quit", "", "leave warroom", Arg::None),
];

impl Verb {
    /// The verb a word names (`q` is quit).
    pub fn parse(word: &str) -> Option<Verb> {
        match word {
            "q" => Some(Verb::Quit),
            w => VERBS.iter().find(|d| d.name == w).map(|d| d.verb),
        }
    }

    /// Its row of the table.
    pub fn def(self) -> &'static VerbDef {
        // Every verb has a row (a test proves it); the first row otherwise.
        VERBS.iter().find(|d| d.verb == self).unwrap_or(&VERBS[0])
    }
}

/// What a `:` line means once parsed: the same effects keys have.
#[derive(Debug, Clone, PartialEq)]
pub enum Typed {
    /// Open a screen.
    Open(Screen),
    /// Propose an action: the same confirm gate, roles and audit as its key.
    Propose(Action),
    /// Switch the overview's view.
    View(String),
    Theme(String),
    /// Keep (or clear) the fuzzy filter.
    Filter(Option<String>),
    /// Start or resume a runbook with its arguments.
    Runbook(Vec<String>),
    /// What the key of the same name does.
    Key(crate::keymap::Command),
    /// A note or an incident step for the store.
    Post(crate::model::incident::Post),
}

/// The candidates for the word being typed at the end of `line`, and where
/// that word starts.
pub fn candidates(line: &str, view: &ViewState, snap: &Snapshot) -> (usize, Vec<String>) {
    let start = line.rfind(' ').map(|i| i + 1).unwrap_or(0);
    let word = &line[start..];
    let done: Vec<&str> = line[..start].split_whitespace().collect();
    let f = &snap.fleet;
    let all: Vec<String> = match done.as_slice() {
        [] => VERBS.iter().map(|d| d.name.to_string()).collect(),
        [verb] => match Verb::parse(verb).map(|v| v.def().completes).unwrap_or(Arg::None) {
            Arg::None => vec![],
            Arg::View => view.catalog.names(),
            Arg::Theme => cached("themes", crate::themes::names),
            Arg::Region => f.regions.items().iter().map(|r| r.name.clone()).collect(),
            Arg::Service => f.services.items().iter().map(|s| s.name.clone()).collect(),
            Arg::Slo => snap.slos.iter().map(|s| s.name.clone()).collect(),
            Arg::Deployment => f.deployments.items().iter().map(|d| d.id.clone()).collect(),
            Arg::Flag => {
                let mut v: Vec<String> = f.flags.items().iter().map(|x| x.name.clone()).collect();
                v.dedup();
                v
            }
            Arg::Database => f.databases.items().iter().map(|d| d.name.clone()).collect(),
            Arg::Silence => f.silences.iter().map(|s| s.id.clone()).collect(),
            Arg::Runbook => cached("runbooks", || crate::runbook::catalog().0.into_iter().map(|r| r.name).collect()),
        },
        ["flag" | "flag-rollout", name] => {
            f.flags.items().iter().filter(|x| x.name == *name).map(|x| x.environment.clone()).collect()
        }
        ["flag", _, _] => vec!["on".into(), "off".into()],
        ["flag", name, env, _] | ["flag-rollout", name, env, _] => f
            .flags
            .items()
            .iter()
            .filter(|x| x.name == *name && x.environment == *env)
            .map(|x| x.source.clone())
            .collect(),
        ["switchover" | "db-failover", db] => f
            .databases
            .items()
            .iter()
            .filter(|d| d.name == *db)
            .flat_map(|d| d.members.iter().filter(|m| m.role != crate::model::DbRole::Writer).map(|m| m.name.clone()))
            .collect(),
        ["db-failover", _, _] => vec!["break-glass".into()],
        ["runbook", name, given @ ..] => runbook_params(name, given, word, snap),
        _ => vec![],
    };
    let mut out: Vec<String> = all.into_iter().filter(|c| c.starts_with(word)).collect();
    out.sort();
    out.dedup();
    (start, out)
}

/// How long completion reuses what it read from files: the command line is
/// drawn on every frame, and drawing reads no file more than this often.
const CATALOG_TTL: std::time::Duration = std::time::Duration::from_secs(2);

/// A list read from files (theme names, runbook names), at most every
/// `CATALOG_TTL` per process.
fn cached(key: &str, read: impl FnOnce() -> Vec<String>) -> Vec<String> {
    type Lists = std::sync::Mutex<HashMap<String, (std::time::Instant, Vec<String>)>>;
    static LISTS: std::sync::LazyLock<Lists> = std::sync::LazyLock::new(Default::default);
    let mut m = LISTS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((at, v)) = m.get(key) {
        if at.elapsed() < CATALOG_TTL {
            return v.clone();
        }
    }
    let v = read();
    m.insert(key.to_string(), (std::time::Instant::now(), v.clone()));
    v
}

/// A runbook by name for completion, parsed at most every `CATALOG_TTL`.
fn cached_runbook(name: &str) -> Option<crate::runbook::Runbook> {
    type Books = std::sync::Mutex<HashMap<String, (std::time::Instant, Option<crate::runbook::Runbook>)>>;
    static BOOKS: std::sync::LazyLock<Books> = std::sync::LazyLock::new(Default::default);
    let mut m = BOOKS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((at, b)) = m.get(name) {
        if at.elapsed() < CATALOG_TTL {
            return b.clone();
        }
    }
    if m.len() > 256 {
        m.clear();
    }
    let b = crate::runbook::find(name).ok();
    m.insert(name.to_string(), (std::time::Instant::now(), b.clone()));
    b
}

/// `key=` for a runbook's parameters not given yet, or `key=value` for the
/// values a parameter of that kind can take.
fn runbook_params(name: &str, given: &[&str], word: &str, snap: &Snapshot) -> Vec<String> {
    use crate::runbook::expr::ArgKind;
    use crate::runbook::ParamKind;
    let Some(book) = cached_runbook(name) else { return vec![] };
    let f = &snap.fleet;
    match word.split_once('=') {
        None => book
            .params
            .iter()
            .filter(|p| !given.iter().any(|g| g.starts_with(&format!("{}=", p.name))))
            .map(|p| format!("{}=", p.name))
            .collect(),
        Some((key, _)) => {
            let Some(p) = book.params.iter().find(|p| p.name == key) else { return vec![] };
            let values: Vec<String> = match p.kind {
                ParamKind::Arg(ArgKind::Region) => f.regions.items().iter().map(|r| r.name.clone()).collect(),
                ParamKind::Arg(ArgKind::Service) => f.services.items().iter().map(|s| s.name.clone()).collect(),
                ParamKind::Arg(ArgKind::Slo) => snap.slos.iter().map(|s| s.name.clone()).collect(),
                ParamKind::Arg(ArgKind::Deployment) => f.deployments.items().iter().map(|d| d.id.clone()).collect(),
                ParamKind::Arg(ArgKind::Flag) => f.flags.items().iter().map(|x| x.name.clone()).collect(),
                ParamKind::Arg(ArgKind::Environment) => f.flags.items().iter().map(|x| x.environment.clone()).collect(),
                ParamKind::Arg(ArgKind::Database) => f.databases.items().iter().map(|d| d.name.clone()).collect(),
                ParamKind::Arg(ArgKind::Member) => {
                    f.databases.items().iter().flat_map(|d| d.members.iter().map(|m| m.name.clone())).collect()
                }
                ParamKind::Duration | ParamKind::Text => p.default.iter().cloned().collect(),
            };
            values.into_iter().map(|v| format!("{key}={v}")).collect()
        }
    }
}

/// Longest common prefix of the candidates.
fn common_prefix(c: &[String]) -> String {
    let Some(first) = c.first() else { return String::new() };
    let mut n = first.len();
    for s in &c[1..] {
        n = n.min(first.bytes().zip(s.bytes()).take_while(|(a, b)| a == b).count());
    }
    while !first.is_char_boundary(n) {
        n -= 1;
    }
    first[..n].to_string()
}

/// Tab: complete the word being typed — the whole candidate (and a space,
/// unless it is a `key=` waiting for its value) when only one fits, else as
/// far as all candidates agree. When that is no further, `command_key`
/// cycles through the candidates.
pub fn complete(input: &Input, view: &ViewState, snap: &Snapshot) -> Option<Input> {
    let line = input.value();
    let (start, cands) = candidates(line, view, snap);
    let head = &line[..start];
    let completed = match cands.len() {
        0 => return None,
        1 if cands[0].ends_with('=') => format!("{head}{}", cands[0]),
        1 => format!("{head}{} ", cands[0]),
        _ => format!("{head}{}", common_prefix(&cands)),
    };
    (completed != line).then(|| Input::new(completed))
}

impl ViewState {
    /// Keys while the command line is open. Returns true if it changed.
    pub fn command_key(&mut self, k: &KeyEvent, snap: &Snapshot) -> bool {
        if k.code == KeyCode::Tab {
            let line = self.command.as_ref().map(|i| i.value().to_string()).unwrap_or_default();
            // Tab again after a cycling Tab: the next candidate of the original word.
            if let Some((orig, i, last)) = self.tab_cycle.take() {
                if last == line {
                    let (start, cands) = candidates(&orig, self, snap);
                    if !cands.is_empty() {
                        let j = (i + 1) % cands.len();
                        let out = format!("{}{}", &orig[..start], cands[j]);
                        self.command = Some(Input::new(out.clone()));
                        self.tab_cycle = Some((orig, j, out));
                        return true;
                    }
                }
            }
            if let Some(next) = self.command.as_ref().and_then(|input| complete(input, self, snap)) {
                self.command = Some(next);
            } else {
                let (start, cands) = candidates(&line, self, snap);
                if cands.len() > 1 {
                    let out = format!("{}{}", &line[..start], cands[0]);
                    self.command = Some(Input::new(out.clone()));
                    self.tab_cycle = Some((line, 0, out));
                }
            }
            return true;
        }
        let Some(input) = self.command.as_mut() else {
            return false;
        };
        match k.code {
            KeyCode::Esc => self.command = None,
            KeyCode::Enter => {
                let line = input.value().trim().to_string();
                self.command = None;
                if !line.is_empty() {
                    if let Err(e) = self.execute(&line, snap) {
                        self.message = Some((Level::Critical, e));
                    }
                }
            }
            _ => {
                input.handle_event(&Event::Key(*k));
            }
        }
        true
    }

    /// Run one command line.
    pub fn execute(&mut self, line: &str, snap: &Snapshot) -> Result<(), String> {
        match parse_line(line, snap)? {
            None => Ok(()),
            Some(typed) => self.run_typed(typed, snap),
        }
    }

    /// Do what a parsed line means.
    fn run_typed(&mut self, typed: Typed, snap: &Snapshot) -> Result<(), String> {
        match typed {
            Typed::View(name) => {
                let (def, why) = self.catalog.open(&name);
                if let Some(why) = why {
                    if self.catalog.get(&name).is_none() && !self.catalog.broken.iter().any(|(n, _)| *n == name) {
                        return Err(format!("unknown view '{name}' (known: {})", self.catalog.names().join(", ")));
                    }
                    self.message = Some((Level::Warn, why));
                } else {
                    self.message = Some((Level::Ok, format!("view {} — {}", def.name, def.title)));
                }
                self.switch_view(def, snap);
            }
            Typed::Theme(name) => {
                if std::env::var("NO_COLOR").is_ok_and(|v| !v.is_empty()) {
                    return Err("NO_COLOR is set: the console stays monochrome".into());
                }
                let theme = crate::themes::load(&name)?;
                self.message = Some((Level::Ok, format!("theme {name}")));
                self.theme = Some(theme);
            }
            Typed::Open(screen) => {
                self.region_row = 0;
                self.screen = screen;
            }
            Typed::Propose(action) => self.propose(action, snap),
            Typed::Filter(text) => {
                self.filter = text;
                self.rows.clear();
            }
            Typed::Runbook(words) => {
                let words: Vec<&str> = words.iter().map(String::as_str).collect();
                self.start_runbook(&words, snap, chrono::Utc::now())?
            }
            Typed::Post(p) => {
                if self.operator.role != crate::actions::Role::Operator {
                    return Err(format!(
                        "{} is a viewer: notes and incidents need the operator role",
                        self.operator.name
                    ));
                }
                use crate::model::incident::Post;
                let who = self.operator.name.clone();
                let (p, said) = match p {
                    Post::Note { text, .. } => {
                        (Post::Note { text, operator: who }, "note added to the timeline".to_string())
                    }
                    Post::IncidentStart { title, severity, .. } => {
                        let said = format!("incident opened: {severity} {title} (commander {who})");
                        (Post::IncidentStart { title, severity, operator: who }, said)
                    }
                    Post::Change(c) => (Post::Change(c), String::new()),
                    Post::IncidentResolve { .. } => (
                        Post::IncidentResolve { operator: who },
                        "incident resolved: `warroom incident export ID` writes the postmortem draft".to_string(),
                    ),
                };
                self.posts.push(p);
                self.message = Some((Level::Ok, said));
            }
            Typed::Key(crate::keymap::Command::Help) => self.help = true,
            Typed::Key(crate::keymap::Command::Quit) => self.quit = true,
            Typed::Key(cmd) => {
                self.apply(cmd, snap);
            }
        }
        Ok(())
    }
}

/// Parse a `:` line against live state (None: an empty line).
pub fn parse_line(line: &str, snap: &Snapshot) -> Result<Option<Typed>, String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let Some(first) = words.first() else { return Ok(None) };
    let Some(verb) = Verb::parse(first) else {
        let names: Vec<&str> = VERBS.iter().map(|d| d.name).collect();
        return Err(format!("unknown command '{first}' (one of: {})", names.join(", ")));
    };
    // Views, themes and runbooks are named, never given as paths: a
    // console (an SSH viewer's too) must not open files by path.
    if let (Verb::View | Verb::Theme | Verb::Runbook, Some(name)) = (verb, words.get(1)) {
        if name.contains(['/', '\\']) || name.starts_with('.') || name.contains("..") {
            return Err(format!("'{name}' is a path: give a name (Tab lists them)"));
        }
    }
    let f = &snap.fleet;
    let need = |what: &str, known: Vec<String>| -> Result<String, String> {
        let Some(name) = words.get(1) else {
            return Err(format!("which {what}? (Tab completes)"));
        };
        if known.iter().any(|k| k == name) {
            Ok(name.to_string())
        } else {
            Err(format!("unknown {what} '{name}'"))
        }
    };
    let named = |what: &str| words.get(1).map(|s| s.to_string()).ok_or(format!("which {what}? (Tab completes)"));
    let regions = || f.regions.items().iter().map(|r| r.name.clone()).collect::<Vec<_>>();
    let deployments = || f.deployments.items().iter().map(|d| d.id.clone()).collect::<Vec<_>>();
    let typed = match verb {
        Verb::View => Typed::View(named("view")?),
        Verb::Theme => Typed::Theme(named("theme")?),
        Verb::Overview => Typed::Open(Screen::Overview),
        Verb::Region => Typed::Open(Screen::Region(need("region", regions())?)),
        Verb::Service => {
            Typed::Open(Screen::Service(need("service", f.services.items().iter().map(|s| s.name.clone()).collect())?))
        }
        Verb::Slo => Typed::Open(Screen::Slo(need("SLO", snap.slos.iter().map(|s| s.name.clone()).collect())?)),
        Verb::Deployment => Typed::Open(Screen::Deployment(need("deployment", deployments())?)),
        Verb::Failover => Typed::Propose(Action::Failover { region: need("region", regions())? }),
        Verb::Restore => Typed::Propose(Action::Restore { region: need("region", regions())? }),
        Verb::Rollback | Verb::Promote | Verb::Pause | Verb::Resume | Verb::Retry => {
            let deployment = need("deployment", deployments())?;
            Typed::Propose(match verb {
                Verb::Rollback => Action::Rollback { deployment },
                Verb::Promote => Action::Promote { deployment, full: false },
                Verb::Pause => Action::Pause { deployment },
                Verb::Retry => Action::Retry { deployment },
                _ => Action::Resume { deployment },
            })
        }
        Verb::Undo => {
            let deployment = need("deployment", deployments())?;
            let Some(revision) = words.get(2) else {
                let known = f
                    .deployments
                    .items()
                    .iter()
                    .find(|d| d.id == deployment)
                    .map(|d| d.revisions.iter().map(|r| r.revision.clone()).collect::<Vec<_>>().join(", "))
                    .unwrap_or_default();
                let known = if known.is_empty() { "none known".to_string() } else { known };
                return Err(format!("which revision? (the deployment drill-down lists them: {known})"));
            };
            Typed::Propose(Action::Undo { deployment, revision: revision.to_string() })
        }
        Verb::Flag | Verb::FlagRollout => {
            let (Some(name), Some(env), Some(value)) = (words.get(1), words.get(2), words.get(3)) else {
                return Err(format!("usage: {} {}", verb.def().name, verb.def().args));
            };
            let source = words.get(4).map(|s| s.to_string()).unwrap_or_default();
            if !f
                .flags
                .items()
                .iter()
                .any(|x| x.name == *name && x.environment == *env && (source.is_empty() || x.source == source))
            {
                return Err(format!("unknown flag '{name}' in '{env}'"));
            }
            let (flag, environment) = (name.to_string(), env.to_string());
            Typed::Propose(if verb == Verb::Flag {
                let on = match *value {
                    "on" => true,
                    "off" => false,
                    other => return Err(format!("'{other}': a flag is set on or off")),
                };
                Action::SetFlag { flag, environment, on, source }
            } else {
                let percent = value.trim_end_matches('%');
                let percent: u8 = match percent.parse() {
                    Ok(p) if p <= 100 => p,
                    _ => return Err(format!("'{value}': a rollout is a percentage from 0 to 100")),
                };
                Action::SetRollout { flag, environment, source, percent }
            })
        }
        Verb::Switchover | Verb::DbFailover => {
            let dbs = f.databases.items();
            let name = need("database", dbs.iter().map(|d| d.name.clone()).collect())?;
            let db = dbs.iter().find(|d| d.name == name).ok_or(format!("unknown database '{name}'"))?;
            let rest: Vec<&str> = words[2..].to_vec();
            let break_glass = rest.contains(&"break-glass");
            if break_glass && verb == Verb::Switchover {
                return Err("break-glass is for db-failover: a switchover loses nothing".into());
            }
            // A member named is taken as typed (the preview says why it
            // cannot take over); none named, the best standby.
            let candidate = match rest.iter().find(|w| **w != "break-glass") {
                Some(m) => m.to_string(),
                None => super::view::db_candidate(db, None)?,
            };
            let database = name.clone();
            let a = match verb {
                Verb::Switchover => Action::Switchover { database, candidate },
                _ => Action::DbFailover { database, candidate, break_glass },
            };
            Typed::Propose(a)
        }
        Verb::Silence => Typed::Propose(parse_silence(&words[1..])?),
        Verb::Breaker => {
            let usage = "usage: breaker FROM TO REGION force-open|close|disable";
            let (Some(from), Some(to), Some(region), Some(op)) =
                (words.get(1), words.get(2), words.get(3), words.get(4))
            else {
                return Err(usage.into());
            };
            let op = crate::actions::BreakerOp::parse(op).ok_or(format!("'{op}': {usage}"))?;
            let (from, to, region) = (from.to_string(), to.to_string(), region.to_string());
            Typed::Propose(Action::SetBreaker { from, to, region, op })
        }
        Verb::SilenceExpire | Verb::SilenceExtend => {
            let id = need("silence", f.silences.iter().map(|s| s.id.clone()).collect())?;
            if verb == Verb::SilenceExpire {
                Typed::Propose(Action::ExpireSilence { id })
            } else {
                let d = words.get(2).ok_or("usage: silence-extend ID DURATION (e.g. 4h)")?;
                let d = crate::duration::positive(d).ok_or(format!("'{d}' is not a duration (e.g. 30m, 4h)"))?;
                let until = chrono::Utc::now().timestamp() + d.as_secs() as i64;
                Typed::Propose(Action::ExtendSilence { id, until })
            }
        }
        Verb::Filter => {
            let text = words[1..].join(" ");
            Typed::Filter((!text.is_empty()).then_some(text))
        }
        Verb::Runbook => Typed::Runbook(words[1..].iter().map(|w| w.to_string()).collect()),
        Verb::Note | Verb::Incident => Typed::Post(post(verb, &words, snap)?),
        Verb::Help => Typed::Key(crate::keymap::Command::Help),
        Verb::Quit => Typed::Key(crate::keymap::Command::Quit),
    };
    Ok(Some(typed))
}

/// `:note TEXT`, `:incident start TITLE [SEV]`, `:incident resolve` (the
/// operator is filled in by the console).
fn post(verb: Verb, words: &[&str], snap: &Snapshot) -> Result<crate::model::incident::Post, String> {
    use crate::model::incident::{Post, SEVERITIES};
    let text = |from: usize| crate::sources::alertmanager::one_line(&words[from.min(words.len())..].join(" "));
    if verb == Verb::Note {
        let t = text(1);
        if t.is_empty() {
            return Err("usage: note TEXT".into());
        }
        return Ok(Post::Note { text: t.chars().take(500).collect(), operator: String::new() });
    }
    match words.get(1).copied() {
        Some("start") => {
            if let Some(i) = &snap.incident {
                return Err(format!("{} is open ({}): resolve it first — one incident at a time", i.id, i.title));
            }
            let mut rest: Vec<&str> = words[2..].to_vec();
            let severity = match rest.last() {
                Some(s) if SEVERITIES.contains(s) => rest.pop().unwrap_or("sev2").to_string(),
                _ => "sev2".to_string(),
            };
            let title = crate::sources::alertmanager::one_line(&rest.join(" "));
            if title.is_empty() {
                return Err("usage: incident start TITLE [sev1|sev2|sev3]".into());
            }
            Ok(Post::IncidentStart { title: title.chars().take(200).collect(), severity, operator: String::new() })
        }
        Some("resolve") => {
            if snap.incident.is_none() {
                return Err("no incident is open".into());
            }
            Ok(Post::IncidentResolve { operator: String::new() })
        }
        _ => Err("usage: incident start TITLE [sev1|sev2|sev3] | incident resolve".into()),
    }
}

/// `k=v … [for DURATION] -- COMMENT` → a silence (two hours by default).
fn parse_silence(words: &[&str]) -> Result<Action, String> {
    let usage = "usage: silence LABEL=VALUE … [for DURATION] -- COMMENT";
    let (head, comment) = match words.iter().position(|w| *w == "--") {
        Some(i) => (&words[..i], words[i + 1..].join(" ")),
        None => (words, String::new()),
    };
    let mut matchers = Vec::new();
    let mut secs = 7200;
    let mut i = 0;
    while i < head.len() {
        let w = head[i];
        if w == "for" {
            let d = head.get(i + 1).ok_or(format!("for what duration? {usage}"))?;
            secs = crate::duration::positive(d).ok_or(format!("'{d}' is not a duration (e.g. 30m, 2h)"))?.as_secs();
            i += 2;
            continue;
        }
        match w.split_once('=') {
            Some((k, v)) if !k.is_empty() && !v.is_empty() => matchers.push((k.to_string(), v.to_string())),
            _ => return Err(format!("'{w}' is not LABEL=VALUE; {usage}")),
        }
        i += 1;
    }
    if matchers.is_empty() {
        return Err(usage.into());
    }
    Ok(Action::Silence { matchers, duration_secs: secs, comment })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{derive, Fleet, Region, RegionStatus, Service, Tier};
    use chrono::Utc;

    fn snap() -> Snapshot {
        let mut f = Fleet::default();
        let svc = |n: &str| Service {
            name: n.into(),
            tier: Tier::Standard,
            owners: vec![],
            depends_on: vec![],
            slos: vec![],
            sla: Default::default(),
        };
        f.services.set(Utc::now(), Ok(vec![svc("payments"), svc("checkout"), svc("catalog")]));
        let region = |n: &str| Region {
            name: n.into(),
            status: RegionStatus::Ok,
            weight: 50.0,
            base_weight: None,
            zones: vec![],
            since: None,
        };
        f.regions.set(Utc::now(), Ok(vec![region("us-east-1"), region("us-west-2")]));
        derive(f, 1)
    }

    fn typed(line: &str) -> Input {
        Input::new(line.to_string())
    }

    #[test]
    fn completion_follows_the_position() {
        let s = snap();
        let v = ViewState::default();
        assert_eq!(candidates("vi", &v, &s).1, vec!["view"]);
        assert_eq!(complete(&typed("vi"), &v, &s).map(|i| i.value().to_string()), Some("view ".into()));
        let views = candidates("view ", &v, &s).1;
        assert!(views.contains(&"noc".to_string()) && views.contains(&"overview".to_string()), "{views:?}");
        assert_eq!(candidates("region us-", &v, &s).1, vec!["us-east-1", "us-west-2"]);
        assert!(complete(&typed("region us-"), &v, &s).is_none(), "both agree only as far as us-");
        // Then Tab cycles through them.
        let mut c = ViewState { command: Some(typed("region us-")), ..ViewState::default() };
        let tab = KeyEvent::new(KeyCode::Tab, crossterm::event::KeyModifiers::NONE);
        let line = |c: &ViewState| c.command.as_ref().map(|i| i.value().to_string()).unwrap_or_default();
        c.command_key(&tab, &s);
        assert_eq!(line(&c), "region us-east-1");
        c.command_key(&tab, &s);
        assert_eq!(line(&c), "region us-west-2");
        c.command_key(&tab, &s);
        assert_eq!(line(&c), "region us-east-1");
        // A runbook parameter's key waits for its value: no space after `=`.
        let t = complete(&typed("runbook regional-failover reg"), &v, &s).map(|i| i.value().to_string());
        assert_eq!(t.as_deref(), Some("runbook regional-failover region="));
        assert_eq!(
            complete(&typed("failover us-e"), &v, &s).map(|i| i.value().to_string()),
            Some("failover us-east-1 ".into())
        );
        assert_eq!(candidates("service c", &v, &s).1, vec!["catalog", "checkout"]);
        assert_eq!(
            complete(&typed("service ch"), &v, &s).map(|i| i.value().to_string()),
            Some("service checkout ".into())
        );
        assert!(candidates("theme ", &v, &s).1.contains(&"high-contrast".to_string()));
        assert_eq!(common_prefix(&["us-east-1".into(), "us-west-2".into()]), "us-");
    }

    #[test]
    fn every_verb_has_one_row_and_parses_from_its_name() {
        for d in &VERBS {
            assert_eq!(Verb::parse(d.name), Some(d.verb), "{}", d.name);
            assert_eq!(VERBS.iter().filter(|x| x.verb == d.verb).count(), 1, "{}", d.name);
            assert!(std::ptr::eq(d.verb.def(), d), "{}", d.name);
        }
        assert_eq!(Verb::parse("q"), Some(Verb::Quit));
        assert_eq!(Verb::parse("frobnicate"), None);
    }

    #[test]
    fn commands_switch_views_screens_and_refuse_nonsense() {
        let s = snap();
        let mut v = ViewState::default();
        assert_eq!(v.execute("view noc", &s), Ok(()));
        assert_eq!(v.def.name, "noc");
        assert!(v.execute("view nope", &s).is_err_and(|e| e.contains("unknown view 'nope'")));
        assert_eq!(v.def.name, "noc", "a bad name leaves the view alone");
        assert_eq!(v.execute("region us-west-2", &s), Ok(()));
        assert_eq!(v.screen, Screen::Region("us-west-2".into()));
        assert!(v.execute("region mars-1", &s).is_err_and(|e| e.contains("unknown region 'mars-1'")));
        assert!(v.execute("explode", &s).is_err_and(|e| e.starts_with("unknown command 'explode'")));
        assert_eq!(v.execute("theme high-contrast", &s), Ok(()));
        assert_eq!(v.theme.as_ref().map(|t| t.name.as_str()), Some("high-contrast"));
        assert!(v.execute("theme nope", &s).is_err());
        // Names only, never paths (#14.5).
        for bad in ["theme ../../etc/passwd", "runbook /tmp/x.toml", "view ./mine", "theme .."] {
            assert!(v.execute(bad, &s).is_err_and(|e| e.contains("is a path")), "{bad}");
        }
        assert_eq!(v.execute("filter pay", &s), Ok(()));
        assert_eq!(v.visible_services(&s).len(), 1);
        assert_eq!(v.execute("filter", &s), Ok(()));
        assert_eq!(v.visible_services(&s).len(), 3);
        v.operator.role = crate::actions::Role::Operator;
        assert_eq!(v.execute("failover us-east-1", &s), Ok(()));
        let d = v.dialog.as_ref().map(|d| d.action.clone());
        assert_eq!(d, Some(Action::Failover { region: "us-east-1".into() }), "the same confirm gate as the key");
        assert!(v.outbox.is_empty(), "nothing is sent before confirmation");
    }

    #[test]
    fn a_silence_is_typed_with_matchers_a_duration_and_a_comment() {
        fn w(t: &str) -> Vec<&str> {
            t.split_whitespace().collect()
        }
        let a = parse_silence(&w("alertname=HighErrorRate region=us-east-1 for 30m -- bad deploy, rolling back"));
        assert_eq!(
            a,
            Ok(Action::Silence {
                matchers: vec![("alertname".into(), "HighErrorRate".into()), ("region".into(), "us-east-1".into())],
                duration_secs: 1800,
                comment: "bad deploy, rolling back".into(),
            })
        );
        assert!(matches!(parse_silence(&w("alertname=X")), Ok(Action::Silence { duration_secs: 7200, .. })));
        assert!(parse_silence(&w("-- just words")).is_err(), "no matchers");
        assert!(parse_silence(&w("alertname")).unwrap_err().contains("not LABEL=VALUE"));
        assert!(parse_silence(&w("a=b for soon")).unwrap_err().contains("not a duration"));
        // The preview refuses what Alertmanager would (or should) not take.
        let s = snap();
        let p = |comment: &str, secs| {
            Action::Silence { matchers: vec![("a".into(), "b".into())], duration_secs: secs, comment: comment.into() }
                .preview(&s)
        };
        assert!(p("", 60).unwrap_err().contains("needs a comment"));
        assert!(p("why", 30 * 86_400).is_err(), "a month-long silence");
        let ok = p("why", 3600).unwrap_or_else(|e| panic!("{e}"));
        assert!(ok.effect.iter().any(|l| l.starts_with("catches no firing alert")), "{:?}", ok.effect);
    }
}
