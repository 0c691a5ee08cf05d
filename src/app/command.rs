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

/// Verbs, their argument shapes and what they do (for help and completion).
pub const VERBS: [(&str, &str, &str); 18] = [
    ("view", "NAME", "switch the overview to a view (views/*.toml)"),
    ("theme", "NAME", "switch theme"),
    ("overview", "", "back to the overview"),
    ("region", "NAME", "open a region"),
    ("service", "NAME", "open a service"),
    ("slo", "NAME", "open an SLO"),
    ("deployment", "ID", "open a deployment"),
    ("failover", "REGION", "drain a region's traffic (confirm)"),
    ("restore", "REGION", "restore a region's traffic (confirm)"),
    ("rollback", "ID", "roll back a canary (confirm)"),
    ("promote", "ID", "promote a canary one step (confirm)"),
    ("pause", "ID", "pause a canary (confirm)"),
    ("resume", "ID", "resume a canary (confirm)"),
    ("flag", "NAME ENV on|off", "set a feature flag (confirm)"),
    ("filter", "[TEXT]", "fuzzy filter on services; no text clears"),
    ("runbook", "NAME [key=value …]", "start a runbook, or resume its unfinished run"),
    ("help", "", "the key help"),
    ("quit", "", "leave warroom"),
];

/// The candidates for the word being typed at the end of `line`, and where
/// that word starts.
pub fn candidates(line: &str, view: &ViewState, snap: &Snapshot) -> (usize, Vec<String>) {
    let start = line.rfind(' ').map(|i| i + 1).unwrap_or(0);
    let word = &line[start..];
    let done: Vec<&str> = line[..start].split_whitespace().collect();
    let f = &snap.fleet;
    let all: Vec<String> = match done.as_slice() {
        [] => VERBS.iter().map(|(v, _, _)| v.to_string()).collect(),
        ["view"] => view.catalog.names(),
        ["theme"] => cached("themes", crate::themes::names),
        ["region" | "failover" | "restore"] => f.regions.items().iter().map(|r| r.name.clone()).collect(),
        ["service"] => f.services.items().iter().map(|s| s.name.clone()).collect(),
        ["slo"] => snap.slos.iter().map(|s| s.name.clone()).collect(),
        ["deployment" | "rollback" | "promote" | "pause" | "resume"] => {
            f.deployments.items().iter().map(|d| d.id.clone()).collect()
        }
        ["flag"] => {
            let mut v: Vec<String> = f.flags.items().iter().map(|x| x.name.clone()).collect();
            v.dedup();
            v
        }
        ["flag", name] => f.flags.items().iter().filter(|x| x.name == *name).map(|x| x.environment.clone()).collect(),
        ["flag", _, _] => vec!["on".into(), "off".into()],
        ["filter"] => f.services.items().iter().map(|s| s.name.clone()).collect(),
        ["runbook"] => cached("runbooks", || crate::runbook::catalog().0.into_iter().map(|r| r.name).collect()),
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
        let words: Vec<&str> = line.split_whitespace().collect();
        // Views, themes and runbooks are named, never given as paths: a
        // console (an SSH viewer's too) must not open files by path.
        if let (Some(&("view" | "theme" | "runbook")), Some(name)) = (words.first(), words.get(1)) {
            if name.contains(['/', '\\']) || name.starts_with('.') || name.contains("..") {
                return Err(format!("'{name}' is a path: give a name (Tab lists them)"));
            }
        }
        let f = &snap.fleet;
        let need = |what: &str, known: Vec<String>, name: Option<&&str>| -> Result<String, String> {
            let Some(name) = name else {
                return Err(format!("which {what}? (Tab completes)"));
            };
            if known.iter().any(|k| k == name) {
                Ok(name.to_string())
            } else {
                Err(format!("unknown {what} '{name}'"))
            }
        };
        let regions = || f.regions.items().iter().map(|r| r.name.clone()).collect::<Vec<_>>();
        let deployments = || f.deployments.items().iter().map(|d| d.id.clone()).collect::<Vec<_>>();
        let Some(verb) = words.first() else { return Ok(()) };
        match *verb {
            "view" => {
                let name = words.get(1).ok_or("which view? (Tab completes)")?;
                let (def, why) = self.catalog.open(name);
                if let Some(why) = why {
                    if self.catalog.get(name).is_none() && !self.catalog.broken.iter().any(|(n, _)| n == name) {
                        return Err(format!("unknown view '{name}' (known: {})", self.catalog.names().join(", ")));
                    }
                    self.message = Some((Level::Warn, why));
                } else {
                    self.message = Some((Level::Ok, format!("view {} — {}", def.name, def.title)));
                }
                self.switch_view(def, snap);
            }
            "theme" => {
                let name = words.get(1).ok_or("which theme? (Tab completes)")?;
                if std::env::var("NO_COLOR").is_ok_and(|v| !v.is_empty()) {
                    return Err("NO_COLOR is set: the console stays monochrome".into());
                }
                let theme = crate::themes::load(name)?;
                self.message = Some((Level::Ok, format!("theme {name}")));
                self.theme = Some(theme);
            }
            "overview" => self.screen = Screen::Overview,
            "region" => {
                self.screen = Screen::Region(need("region", regions(), words.get(1))?);
                self.region_row = 0;
            }
            "service" => {
                let known = f.services.items().iter().map(|s| s.name.clone()).collect();
                self.screen = Screen::Service(need("service", known, words.get(1))?);
            }
            "slo" => {
                let known = snap.slos.iter().map(|s| s.name.clone()).collect();
                self.screen = Screen::Slo(need("SLO", known, words.get(1))?);
            }
            "deployment" => self.screen = Screen::Deployment(need("deployment", deployments(), words.get(1))?),
            "failover" => self.propose(Action::Failover { region: need("region", regions(), words.get(1))? }, snap),
            "restore" => self.propose(Action::Restore { region: need("region", regions(), words.get(1))? }, snap),
            "rollback" | "promote" | "pause" | "resume" => {
                let deployment = need("deployment", deployments(), words.get(1))?;
                let action = match *verb {
                    "rollback" => Action::Rollback { deployment },
                    "promote" => Action::Promote { deployment, full: false },
                    "pause" => Action::Pause { deployment },
                    _ => Action::Resume { deployment },
                };
                self.propose(action, snap);
            }
            "flag" => {
                let (Some(name), Some(env), Some(state)) = (words.get(1), words.get(2), words.get(3)) else {
                    return Err("usage: flag NAME ENV on|off".into());
                };
                if !f.flags.items().iter().any(|x| x.name == *name && x.environment == *env) {
                    return Err(format!("unknown flag '{name}' in '{env}'"));
                }
                let on = match *state {
                    "on" => true,
                    "off" => false,
                    other => return Err(format!("'{other}': a flag is set on or off")),
                };
                self.propose(Action::SetFlag { flag: name.to_string(), environment: env.to_string(), on }, snap);
            }
            "filter" => {
                let text = words[1..].join(" ");
                self.filter = (!text.is_empty()).then_some(text);
                self.rows.clear();
            }
            "runbook" => self.start_runbook(&words[1..], snap, chrono::Utc::now())?,
            "help" => self.help = true,
            "quit" | "q" => self.quit = true,
            other => {
                return Err(format!(
                    "unknown command '{other}' (one of: {})",
                    VERBS.iter().map(|(v, _, _)| *v).collect::<Vec<_>>().join(", ")
                ))
            }
        }
        Ok(())
    }
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
}
