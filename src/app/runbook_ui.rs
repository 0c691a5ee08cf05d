//! The runbook runner's side of a viewer: starting or resuming a run,
//! the next / skip / abort commands, the reason prompt, and following
//! live state. Actions go through the same confirm gate as their keys.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use crossterm::event::{Event, KeyCode, KeyEvent};
use tui_input::backend::crossterm::EventHandler;
use tui_input::Input;
use warroom_ui::Level;

use super::view::ViewState;
use crate::actions::executor::{Disposition, Intent};
use crate::model::Snapshot;
use crate::runbook::run::{all_runs, Run, RunStatus};
use crate::runbook::Known;

/// What a reason prompt is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptFor {
    Skip,
    Abort,
}

#[derive(Debug, Clone)]
pub struct Prompt {
    pub what: PromptFor,
    pub input: Input,
}

/// The live fleet's names, to check a runbook's parameters against.
pub fn known_from(snap: &Snapshot) -> Option<Known> {
    let f = &snap.fleet;
    if f.regions.items().is_empty() && f.services.items().is_empty() {
        return None;
    }
    Some(Known {
        regions: f.regions.items().iter().map(|r| r.name.clone()).collect(),
        services: f.services.items().iter().map(|s| s.name.clone()).collect(),
        slos: snap.slos.iter().map(|s| s.name.clone()).collect(),
        from: "the live fleet".into(),
    })
}

impl ViewState {
    /// `:runbook NAME key=value…`: resume the unfinished run of NAME if
    /// there is one, else start a new run.
    pub fn start_runbook(&mut self, args: &[&str], snap: &Snapshot, now: DateTime<Utc>) -> Result<(), String> {
        let viewer = self.operator.role == crate::actions::Role::Viewer;
        if let Some(r) = &self.runbook {
            // `:runbook` (or its own name) shows a hidden run again.
            let same = args.first().is_none_or(|a| *a == r.book.name);
            let watching = r.read_only().is_some();
            if !r.finished() && self.runbook_hidden && same && !watching {
                self.runbook_hidden = false;
                return Ok(());
            }
            // A run driven here must end first; one only watched can be
            // left, or taken over (its own name again) once its driver left.
            if !r.finished() && !watching {
                return Err(format!("runbook {} is in progress; finish or abort it first", r.book.name));
            }
        }
        // `:runbook` alone on a watched run means that run (to take it over).
        let current = self.runbook.as_ref().map(|r| r.rec.runbook.clone());
        let args: Vec<&str> = match (args.is_empty(), &current) {
            (true, Some(name)) => vec![name.as_str()],
            _ => args.to_vec(),
        };
        let name = args.first().ok_or("which runbook? (Tab completes)")?;
        let mut given = BTreeMap::new();
        for a in &args[1..] {
            let (k, v) = a.split_once('=').ok_or_else(|| format!("'{a}': parameters are written key=value"))?;
            given.insert(k.to_string(), v.to_string());
        }
        let dir = self.runs_dir.clone().ok_or("no state directory: runs cannot be kept")?;
        let who = self.operator.name.clone();
        if let Some(rec) =
            all_runs(&dir).into_iter().rev().find(|r| r.runbook == *name && r.status == RunStatus::Running)
        {
            if given.iter().any(|(k, v)| rec.params.get(k) != Some(v)) {
                return Err(format!(
                    "run {} of {name} is in progress with other parameters; resume it with `:runbook {name}` or abort it",
                    rec.id
                ));
            }
            let id = rec.id.clone();
            let run = if viewer {
                Run::watch(rec, dir, "a viewer key watches, read-only".into(), true)?
            } else {
                Run::resume(rec, dir, &who, now)?
            };
            let text = match run.read_only() {
                Some(why) => format!("watching run {id} at step {} ({why})", run.rec.current + 1),
                None => format!("resumed run {id} at step {}", run.rec.current + 1),
            };
            self.message = Some((Level::Info, text));
            self.runbook = Some(run);
            self.runbook_hidden = false;
            return Ok(());
        }
        if viewer {
            return Err(format!(
                "read-only: a viewer cannot start a runbook (no run of {name} is in progress to watch)"
            ));
        }
        let book = crate::runbook::find(name)?;
        // A region parameter not given defaults to the region that is DOWN,
        // else the matrix's selected column; the run's first line shows it.
        for p in &book.params {
            if p.kind == crate::runbook::ParamKind::Arg(crate::runbook::expr::ArgKind::Region)
                && p.default.is_none()
                && !given.contains_key(&p.name)
            {
                let regions = snap.fleet.regions.items();
                let down = regions.iter().find(|r| r.status == crate::model::RegionStatus::Down);
                if let Some(r) = down.or_else(|| regions.get(self.column)) {
                    given.insert(p.name.clone(), r.name.clone());
                }
            }
        }
        let params = book.bind(&given, known_from(snap).as_ref())?;
        let run = Run::start(book, params, &who, now, dir);
        if let Some(e) = &run.save_error {
            return Err(format!("cannot keep the run: {e}"));
        }
        self.message = Some((Level::Info, format!("started run {}", run.rec.id)));
        self.runbook = Some(run);
        self.runbook_hidden = false;
        Ok(())
    }

    /// Follow live state for the runbook (called on every snapshot and tick).
    pub fn observe(&mut self, snap: &Snapshot, now: DateTime<Utc>) -> bool {
        // An open dialog follows live state (new effect → disarmed).
        let dialog_changed = self.dialog.as_mut().is_some_and(|d| d.refresh(snap));
        self.observe_runbook(snap, now) || dialog_changed || self.offer_incident(snap)
    }

    /// An SLO newly at PAGE with no incident open: the footer offers one
    /// (once per page; an operator's console only).
    fn offer_incident(&mut self, snap: &Snapshot) -> bool {
        use crate::model::changes::ChangeKind;
        let src = snap.source_now(chrono::Utc::now());
        let newest = snap
            .changes
            .newest()
            .take(200)
            .find(|c| c.kind == ChangeKind::Slo && c.after == "PAGE" && (src - c.at).num_minutes() < 10);
        let Some(c) = newest else { return false };
        let key = format!("{}@{}", c.subject, c.at.timestamp());
        if self.offered_incident.as_deref() == Some(key.as_str()) {
            return false;
        }
        self.offered_incident = Some(key);
        if snap.incident.is_some() || self.operator.role != crate::actions::Role::Operator || self.message.is_some() {
            return false;
        }
        self.message = Some((
            Level::Critical,
            format!("{} is at PAGE: `:incident start TITLE sev2` opens an incident (commander: you)", c.subject),
        ));
        true
    }

    fn observe_runbook(&mut self, snap: &Snapshot, now: DateTime<Utc>) -> bool {
        if self.pending_runbook.is_some() && !snap.fleet.regions.items().is_empty() {
            let args = self.pending_runbook.take().unwrap_or_default();
            let refs: Vec<&str> = args.iter().map(String::as_str).collect();
            if let Err(e) = self.start_runbook(&refs, snap, now) {
                self.message = Some((Level::Critical, e));
            }
            return true;
        }
        let Some(run) = self.runbook.as_mut() else { return false };
        let (changed, resend) = run.observe(snap, now);
        // The driving console posts the run's new events to the timeline (a
        // run resumed later starts from where it is, never posted twice).
        if run.read_only().is_none() {
            let (id, n) = (run.rec.id.clone(), run.rec.events.len());
            let from = match &self.runbook_posted {
                Some((seen, k)) if *seen == id => *k,
                _ if (now - run.rec.started_at).num_seconds() < 10 => 0,
                _ => n,
            };
            for e in run.rec.events.iter().skip(from) {
                use crate::model::changes::{Change, ChangeKind, Severity};
                let text = crate::sources::alertmanager::one_line(&e.text);
                let c =
                    Change::new(e.at, ChangeKind::Runbook, run.book.name.clone(), text, &e.operator, Severity::Info);
                self.posts.push(crate::model::incident::Post::Change(c));
            }
            self.runbook_posted = Some((id, n));
        }
        for (action, key) in resend {
            // Confirmed in an earlier session: looked up by key, never re-sent
            // (where the flag lives is filled in, as when it was confirmed).
            let action = action.resolved(snap);
            let intent = Intent { action, key, operator: self.operator.clone(), disposition: Disposition::LookupOnly };
            self.outbox.push(intent);
        }
        changed
    }

    /// The runbook's "next": done / passed, or the action's confirm gate.
    pub fn runbook_next(&mut self, snap: &Snapshot, now: DateTime<Utc>) -> bool {
        let who = self.operator.name.clone();
        let Some(run) = self.runbook.as_mut() else {
            self.message = Some((Level::Warn, "no runbook is running (:runbook NAME)".into()));
            return true;
        };
        match run.next(now, &who) {
            Ok(Some(action)) => self.propose(action, snap),
            Ok(None) => {}
            Err(e) => self.message = Some((Level::Warn, e)),
        }
        true
    }

    /// Open the reason prompt for skip or abort.
    pub fn runbook_prompt(&mut self, what: PromptFor) -> bool {
        match &self.runbook {
            Some(r) if r.read_only().is_some() => {
                let why = r.read_only().unwrap_or_default();
                self.message = Some((Level::Warn, format!("read-only here: {why}")));
            }
            Some(r) if !r.finished() => {
                self.prompt = Some(Prompt { what, input: Input::default() });
            }
            _ => self.message = Some((Level::Warn, "no runbook is running (:runbook NAME)".into())),
        }
        true
    }

    /// Keys while the reason prompt is open.
    pub fn prompt_key(&mut self, k: &KeyEvent, now: DateTime<Utc>) -> bool {
        let Some(p) = self.prompt.as_mut() else { return false };
        match k.code {
            KeyCode::Esc => self.prompt = None,
            KeyCode::Enter => {
                let reason = p.input.value().trim().to_string();
                let what = p.what;
                if reason.is_empty() {
                    self.message = Some((Level::Warn, "a reason is required (Esc to cancel)".into()));
                    return true;
                }
                self.prompt = None;
                let who = self.operator.name.clone();
                if let Some(run) = self.runbook.as_mut() {
                    let result = match what {
                        PromptFor::Skip => run.skip(now, &who, reason),
                        PromptFor::Abort => run.abort(now, &who, reason),
                    };
                    if let Err(e) = result {
                        self.message = Some((Level::Warn, e));
                    }
                }
            }
            _ => {
                p.input.handle_event(&Event::Key(*k));
            }
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::{Operator, Role};
    use crate::runbook::run::load;

    fn state(name: &str, role: Role, dir: &std::path::Path) -> ViewState {
        ViewState {
            operator: Operator { name: name.into(), role },
            runs_dir: Some(dir.to_path_buf()),
            ..ViewState::default()
        }
    }

    #[test]
    fn a_viewer_watches_runs_and_changes_none() {
        let dir = std::env::temp_dir().join(format!("warroom-rbui-viewer-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let snap = Snapshot::default();
        let now = Utc::now();
        let mut viewer = state("wall", Role::Viewer, &dir);
        let e = viewer.start_runbook(&["regional-failover", "region=us-west-2"], &snap, now);
        assert!(e.is_err_and(|e| e.contains("a viewer cannot start a runbook")), "nothing to watch yet");
        assert!(crate::runbook::run::all_runs(&dir).is_empty(), "no run was created");
        let mut op = state("alice", Role::Operator, &dir);
        assert_eq!(op.start_runbook(&["regional-failover", "region=us-west-2"], &snap, now), Ok(()));
        let id = op.runbook.as_ref().map(|r| r.rec.id.clone()).unwrap_or_default();
        let before = load(&dir, &id).unwrap_or_else(|e| panic!("{e}"));
        // The viewer opens the operator's run read-only.
        assert_eq!(viewer.start_runbook(&["regional-failover"], &snap, now), Ok(()));
        assert!(viewer.message.as_ref().is_some_and(|(_, m)| m.contains("watching run")), "{:?}", viewer.message);
        viewer.runbook_next(&snap, now);
        assert!(viewer.message.as_ref().is_some_and(|(_, m)| m.contains("read-only here")), "{:?}", viewer.message);
        viewer.runbook_prompt(PromptFor::Abort);
        assert!(viewer.prompt.is_none(), "no reason prompt opens for a watcher");
        assert_eq!(load(&dir, &id).ok(), Some(before), "the record is untouched");
        // A second operator console watches too while alice drives it.
        let mut bob = state("bob", Role::Operator, &dir);
        assert_eq!(bob.start_runbook(&["regional-failover"], &snap, now), Ok(()));
        assert!(bob.runbook.as_ref().and_then(|r| r.read_only()).is_some_and(|w| w.contains("driven by alice")));
        // Alice closes; bob takes it over with the runbook's name (or none).
        op.runbook = None;
        assert_eq!(bob.start_runbook(&[], &snap, now), Ok(()));
        assert!(bob.runbook.as_ref().is_some_and(|r| r.read_only().is_none()), "{:?}", bob.message);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
