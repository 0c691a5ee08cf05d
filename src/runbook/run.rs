//! A runbook run: where it is, what each step did, who did it, which
//! actions it triggered. Persisted as JSON in the state directory after
//! every change, so a crash or a dropped SSH session resumes where it
//! stopped; exported as a Markdown timeline for the postmortem.

use std::collections::{BTreeMap, HashSet};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::expr::{self, Eval};
use super::{OnTimeout, Runbook, StepBody};
use crate::actions::Action;
use crate::model::{ActionStatus, Snapshot};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RunStatus {
    Running,
    Completed,
    Aborted,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StepResult {
    /// A manual step marked done, or an action that succeeded.
    Done,
    /// A check or wait whose condition held.
    Passed,
    Skipped,
    Failed,
    TimedOut,
    Aborted,
}

impl StepResult {
    pub fn word(self) -> &'static str {
        match self {
            StepResult::Done => "done",
            StepResult::Passed => "passed",
            StepResult::Skipped => "skipped",
            StepResult::Failed => "failed",
            StepResult::TimedOut => "timed out",
            StepResult::Aborted => "aborted",
        }
    }
}

/// An action a step triggered, by idempotency key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ActionRef {
    pub key: String,
    pub summary: String,
    /// in_flight, succeeded, failed, refused, denied.
    pub status: String,
    pub message: String,
    pub at: DateTime<Utc>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StepRecord {
    pub title: String,
    pub kind: String,
    pub started_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    pub result: Option<StepResult>,
    pub operator: Option<String>,
    /// Why it was skipped or aborted.
    pub reason: Option<String>,
    /// The live values when a check passed or a wait ended.
    pub detail: Option<String>,
    pub actions: Vec<ActionRef>,
    /// Since when the condition has held (for `for DURATION`).
    pub holding_since: Option<DateTime<Utc>>,
    /// `start` or `stop`, if the step runs the run's stopwatch.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stopwatch: Option<String>,
}

/// The run's stopwatch: seconds from the start of its `start` step to the
/// end of the `stop` step after it, with both step numbers (1-based).
pub fn stopwatch(rec: &RunRecord) -> Option<(f64, usize, usize)> {
    let (a, start) = rec
        .steps
        .iter()
        .enumerate()
        .find(|(_, s)| s.stopwatch.as_deref() == Some("start"))
        .and_then(|(i, s)| Some((i, s.started_at?)))?;
    let (b, end) = rec
        .steps
        .iter()
        .enumerate()
        .skip(a)
        .find(|(_, s)| s.stopwatch.as_deref() == Some("stop"))
        .and_then(|(i, s)| Some((i, s.ended_at?)))?;
    Some(((end - start).num_milliseconds() as f64 / 1000.0, a + 1, b + 1))
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub at: DateTime<Utc>,
    pub operator: String,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: String,
    pub runbook: String,
    pub title: String,
    pub params: BTreeMap<String, String>,
    pub started_by: String,
    pub started_at: DateTime<Utc>,
    pub ended_at: Option<DateTime<Utc>>,
    pub status: RunStatus,
    pub current: usize,
    pub steps: Vec<StepRecord>,
    pub events: Vec<Event>,
}

/// Where runs are kept.
pub fn runs_dir() -> Result<PathBuf, String> {
    Ok(crate::paths::state_dir()?.join("runbooks"))
}

/// Write a record atomically (temp file, fsync, rename).
pub fn save(dir: &Path, rec: &RunRecord) -> Result<(), String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(format!("{}.json", rec.id));
    let tmp = dir.join(format!(".{}.json.tmp", rec.id));
    let body = serde_json::to_vec_pretty(rec).map_err(|e| format!("cannot encode the run: {e}"))?;
    let mut f = std::fs::File::create(&tmp).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    f.write_all(&body).and_then(|_| f.sync_all()).map_err(|e| format!("cannot write {}: {e}", tmp.display()))?;
    std::fs::rename(&tmp, &path).map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// Every run record in `dir`, oldest first (unreadable files skipped).
pub fn all_runs(dir: &Path) -> Vec<RunRecord> {
    let Ok(rd) = std::fs::read_dir(dir) else { return vec![] };
    let mut v: Vec<RunRecord> = rd
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .filter_map(|p| std::fs::read(&p).ok())
        .filter_map(|b| serde_json::from_slice(&b).ok())
        .collect();
    v.sort_by(|a: &RunRecord, b| a.started_at.cmp(&b.started_at).then(a.id.cmp(&b.id)));
    v
}

/// The runs in progress in `dir`, read at most once every 2 s per process
/// however many walls (SSH sessions) ask: one cached list, shared.
pub fn running_cached(dir: &Path) -> Arc<Vec<RunRecord>> {
    type Cache = std::sync::Mutex<Option<(PathBuf, std::time::Instant, Arc<Vec<RunRecord>>)>>;
    static CACHE: Cache = std::sync::Mutex::new(None);
    let mut c = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some((d, at, runs)) = c.as_ref() {
        if d == dir && at.elapsed() < std::time::Duration::from_secs(2) {
            return runs.clone();
        }
    }
    let runs: Arc<Vec<RunRecord>> =
        Arc::new(all_runs(dir).into_iter().filter(|r| r.status == RunStatus::Running).collect());
    *c = Some((dir.to_path_buf(), std::time::Instant::now(), runs.clone()));
    runs
}

/// A run by id, or "latest".
pub fn load(dir: &Path, id: &str) -> Result<RunRecord, String> {
    let runs = all_runs(dir);
    let found = if id == "latest" { runs.last() } else { runs.iter().find(|r| r.id == id) };
    found.cloned().ok_or_else(|| {
        let ids: Vec<&str> = runs.iter().rev().take(10).map(|r| r.id.as_str()).collect();
        let other = if crate::paths::is_demo() { "" } else { "; runs of the demo fleet: add --demo" };
        format!(
            "no run '{id}' in {} (recent: {}{other})",
            dir.display(),
            if ids.is_empty() { "none".into() } else { ids.join(", ") }
        )
    })
}

/// "1m05s", or "2h10m" from an hour up.
/// Seconds from `since` to `src`, both in the source's clock.
fn held_secs(src: DateTime<Utc>, since: DateTime<Utc>) -> f64 {
    (src - since).num_milliseconds() as f64 / 1000.0
}

pub fn fmt_secs(s: f64) -> String {
    let s = s.max(0.0) as u64;
    if s >= 3600 {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    } else {
        format!("{}m{:02}s", s / 60, s % 60)
    }
}

/// The outcome of trying to take a run's lock.
#[derive(Debug)]
pub enum Lock {
    /// Ours until the file is dropped (or the process dies: the kernel
    /// releases it, so a crashed console never leaves a run stuck).
    Got(Arc<std::fs::File>),
    /// Another console (or session) drives the run: who, as it wrote.
    HeldBy(String),
}

/// Take the exclusive lock of run `id` (`.ID.lock` beside its record), and
/// write who holds it into the lock file for the others to read.
pub fn lock_run(dir: &Path, id: &str, who: &str) -> Result<Lock, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    let path = dir.join(format!(".{id}.lock"));
    let mut f = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(|e| format!("cannot open {}: {e}", path.display()))?;
    match f.try_lock() {
        Ok(()) => {
            let text = format!("{who}, pid {}", std::process::id());
            let _ = f.set_len(0).and_then(|_| f.write_all(text.as_bytes()));
            Ok(Lock::Got(Arc::new(f)))
        }
        Err(std::fs::TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = f.take(256).read_to_string(&mut holder);
            let holder = holder.trim();
            Ok(Lock::HeldBy(if holder.is_empty() { "another console".into() } else { holder.to_string() }))
        }
        Err(std::fs::TryLockError::Error(e)) => Err(format!("cannot lock {}: {e}", path.display())),
    }
}

/// Who changes a run.
#[derive(Debug, Clone)]
pub enum Driver {
    /// This console, holding the run's lock.
    Here(Arc<std::fs::File>),
    /// Someone else, or no one allowed to here: this console follows the
    /// record read-only. The text says why (shown on the pane).
    Watching { why: String, viewer: bool },
}

/// A run in progress in one console.
#[derive(Debug, Clone)]
pub struct Run {
    pub book: Runbook,
    pub rec: RunRecord,
    pub dir: PathBuf,
    /// The current step's condition, as last evaluated.
    pub live: Option<Eval>,
    /// Whether the current check has held long enough.
    pub satisfied: bool,
    /// The last problem saving the record, shown on the pane.
    pub save_error: Option<String>,
    /// Keys this process has sent (confirmed here, or re-sent after a resume).
    sent_here: HashSet<String>,
    /// The source's clock minus ours, as last observed: `for` durations
    /// count in the source's time (simulated time under `--time-scale`).
    clock: chrono::Duration,
    /// The newest source time seen: the source clock never runs backwards
    /// here (feeds polled at different moments, whole-second timestamps and
    /// a loaded machine make the estimate jitter by a second or more).
    src_seen: Option<DateTime<Utc>>,
    /// Driven here, or watched read-only.
    pub driver: Driver,
    /// The record file's (modified, length) as last read, while watching.
    seen: Option<(std::time::SystemTime, u64)>,
    /// When a watcher last looked at the files (at most once a second: the
    /// viewer loops call `observe` on every key and tick).
    looked: Option<std::time::Instant>,
}

impl Run {
    /// Start a new run (parameters already bound).
    pub fn start(
        book: Runbook,
        params: BTreeMap<String, String>,
        operator: &str,
        now: DateTime<Utc>,
        dir: PathBuf,
    ) -> Run {
        let id = format!("{}-{}", now.format("%Y%m%dT%H%M%SZ"), book.name);
        let steps = book
            .steps
            .iter()
            .map(|s| StepRecord {
                title: s.title.clone(),
                kind: s.kind().into(),
                stopwatch: s.stopwatch.map(|w| w.word().to_string()),
                ..StepRecord::default()
            })
            .collect();
        let rec = RunRecord {
            id,
            runbook: book.name.clone(),
            title: book.title.clone(),
            params,
            started_by: operator.into(),
            started_at: now,
            ended_at: None,
            status: RunStatus::Running,
            current: 0,
            steps,
            events: vec![],
        };
        let mut run = Run::fresh(book, rec, dir);
        match lock_run(&run.dir, &run.rec.id, operator) {
            Ok(Lock::Got(f)) => run.driver = Driver::Here(f),
            Ok(Lock::HeldBy(h)) => {
                run.save_error = Some(format!("run {} was started at the same moment by {h}", run.rec.id));
                return run;
            }
            Err(e) => {
                run.save_error = Some(e);
                return run;
            }
        }
        let params = run.rec.params.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(" ");
        run.event(now, operator, format!("started {} {params}", run.book.name));
        run.begin_step(now, operator);
        run.save();
        run
    }

    fn fresh(book: Runbook, rec: RunRecord, dir: PathBuf) -> Run {
        let (live, satisfied, save_error, sent_here) = (None, false, None, HashSet::new());
        let driver = Driver::Watching { why: "not locked yet".into(), viewer: false };
        let clock = chrono::Duration::zero();
        Run {
            book,
            rec,
            dir,
            live,
            satisfied,
            save_error,
            sent_here,
            clock,
            src_seen: None,
            driver,
            seen: None,
            looked: None,
        }
    }

    /// Follow a run read-only (a viewer, or a run another console drives).
    pub fn watch(rec: RunRecord, dir: PathBuf, why: String, viewer: bool) -> Result<Run, String> {
        let book = super::find(&rec.runbook)?;
        let mut run = Run::fresh(book, rec, dir);
        run.driver = Driver::Watching { why, viewer };
        Ok(run)
    }

    /// Why this console may not change the run, if it may not.
    pub fn read_only(&self) -> Option<&str> {
        match &self.driver {
            Driver::Here(_) => None,
            Driver::Watching { why, .. } => Some(why),
        }
    }

    fn refuse_if_watching(&self) -> Result<(), String> {
        match self.read_only() {
            Some(why) => Err(format!("read-only here: {why}")),
            None => Ok(()),
        }
    }

    /// Pick up a record again (after a crash or in another session).
    pub fn resume(rec: RunRecord, dir: PathBuf, operator: &str, now: DateTime<Utc>) -> Result<Run, String> {
        let book = super::find(&rec.runbook)?;
        let same = book.steps.len() == rec.steps.len()
            && book.steps.iter().zip(&rec.steps).all(|(s, r)| s.title == r.title && s.kind() == r.kind);
        if !same {
            return Err(format!(
                "runbook {} changed since run {} started (steps differ); end it with `warroom runbook abort {} --reason …`",
                rec.runbook, rec.id, rec.id
            ));
        }
        let mut run = Run::fresh(book, rec, dir);
        match lock_run(&run.dir, &run.rec.id, operator)? {
            Lock::Got(f) => run.driver = Driver::Here(f),
            Lock::HeldBy(h) => {
                // One driver at a time: the others follow it read-only.
                run.driver = Driver::Watching { why: format!("driven by {h}"), viewer: false };
                return Ok(run);
            }
        }
        // The record as it is now, under the lock (the last driver may have
        // changed it after it was listed).
        if let Ok(fresh) = std::fs::read(run.dir.join(format!("{}.json", run.rec.id))) {
            if let Ok(rec) = serde_json::from_slice::<RunRecord>(&fresh) {
                run.rec = rec;
            }
        }
        let step = run.rec.current + 1;
        run.event(now, operator, format!("resumed at step {step}"));
        run.save();
        Ok(run)
    }

    pub fn save(&mut self) {
        if self.read_only().is_some() {
            return;
        }
        self.save_error = save(&self.dir, &self.rec).err();
    }

    /// While watching: pick up the driver's changes to the record, and say
    /// so when no one drives the run any more. True when something changed.
    fn follow_record(&mut self) -> bool {
        if self.looked.is_some_and(|t| t.elapsed() < std::time::Duration::from_secs(1)) {
            return false;
        }
        self.looked = Some(std::time::Instant::now());
        let path = self.dir.join(format!("{}.json", self.rec.id));
        let mut changed = false;
        let stamp = std::fs::metadata(&path).ok().and_then(|m| Some((m.modified().ok()?, m.len())));
        if stamp.is_some() && stamp != self.seen {
            self.seen = stamp;
            if let Some(rec) = std::fs::read(&path).ok().and_then(|b| serde_json::from_slice::<RunRecord>(&b).ok()) {
                if rec != self.rec {
                    self.rec = rec;
                    changed = true;
                }
            }
        }
        if let Driver::Watching { why, viewer: false } = &mut self.driver {
            // The lock is free when its driver has gone (closed or crashed).
            let free = std::fs::OpenOptions::new()
                .read(true)
                .open(self.dir.join(format!(".{}.lock", self.rec.id)))
                .map(|f| f.try_lock().is_ok())
                .unwrap_or(true);
            let gone = format!("no one drives it now: `:runbook {}` takes it over", self.rec.runbook);
            let finished = self.rec.status != RunStatus::Running;
            if free && !finished && *why != gone {
                *why = gone;
                changed = true;
            }
        }
        changed
    }

    fn event(&mut self, at: DateTime<Utc>, operator: &str, text: String) {
        self.rec.events.push(Event { at, operator: operator.into(), text });
    }

    pub fn finished(&self) -> bool {
        self.rec.status != RunStatus::Running
    }

    pub fn current(&self) -> Option<(&super::Step, &StepRecord)> {
        if self.finished() {
            return None;
        }
        Some((self.book.steps.get(self.rec.current)?, self.rec.steps.get(self.rec.current)?))
    }

    fn begin_step(&mut self, now: DateTime<Utc>, operator: &str) {
        let i = self.rec.current;
        if let Some(s) = self.rec.steps.get_mut(i) {
            s.started_at = Some(now);
            s.holding_since = None;
            let title = s.title.clone();
            self.event(now, operator, format!("step {} started: {title}", i + 1));
        }
        self.live = None;
        self.satisfied = false;
    }

    /// End the current step and move on (or finish the run).
    fn end_step(&mut self, result: StepResult, now: DateTime<Utc>, operator: &str, why: Option<String>) {
        let i = self.rec.current;
        let detail = self.live.as_ref().filter(|e| !e.values.is_empty()).map(|e| e.values.join("; "));
        if let Some(s) = self.rec.steps.get_mut(i) {
            s.ended_at = Some(now);
            s.result = Some(result);
            s.operator = Some(operator.into());
            s.reason = why.clone();
            if s.detail.is_none() {
                s.detail = detail.clone();
            }
        }
        let mut text = format!("step {} {}", i + 1, result.word());
        if let Some(w) = &why {
            text.push_str(&format!(": {w}"));
        } else if let Some(d) = &detail {
            text.push_str(&format!(" ({d})"));
        }
        self.event(now, operator, text);
        let stopped = self.rec.steps.get(i).is_some_and(|s| s.stopwatch.as_deref() == Some("stop"));
        if stopped && matches!(result, StepResult::Done | StepResult::Passed) {
            if let Some((secs, a, b)) = stopwatch(&self.rec) {
                let text = format!("stopwatch: {} from the start of step {a} to the end of step {b}", fmt_secs(secs));
                self.event(now, "warroom", text);
            }
        }
        match result {
            StepResult::Aborted => {}
            StepResult::Failed => {}
            _ => {
                self.rec.current += 1;
                if self.rec.current >= self.rec.steps.len() {
                    self.rec.status = RunStatus::Completed;
                    self.rec.ended_at = Some(now);
                    self.event(now, operator, "run completed".into());
                } else {
                    self.begin_step(now, operator);
                }
            }
        }
        self.save();
    }

    /// Resolve the hold duration of a check.
    /// The source's time at our `now`, never earlier than one already seen.
    fn source_time(&mut self, snap: &Snapshot, now: DateTime<Utc>) -> DateTime<Utc> {
        let src = snap.source_now(now);
        let src = self.src_seen.map_or(src, |seen| seen.max(src));
        self.src_seen = Some(src);
        self.clock = src - now;
        src
    }

    fn hold_secs(&self, c: &expr::Check) -> f64 {
        match &c.hold_param {
            Some(p) => self.rec.params.get(p).and_then(|v| expr::parse_secs(v)).unwrap_or(0.0),
            None => c.hold_secs.unwrap_or(0.0),
        }
    }

    /// Whether the current condition was already true before its step
    /// began (the source said since when), and for how long it has held.
    pub fn held_before_step(&self, now: DateTime<Utc>) -> Option<f64> {
        let (_, rec) = self.current()?;
        let (since, started) = (rec.holding_since?, rec.started_at?);
        (since < started + self.clock).then(|| ((now + self.clock) - since).num_milliseconds() as f64 / 1000.0)
    }

    /// Seconds the current condition has held, and how long it must.
    pub fn hold_progress(&self, now: DateTime<Utc>) -> Option<(f64, f64)> {
        let (step, rec) = self.current()?;
        let c = match &step.body {
            StepBody::Check { check, .. } | StepBody::Wait { check, .. } => check,
            _ => return None,
        };
        let need = self.hold_secs(c);
        let src = now + self.clock;
        let held = rec.holding_since.map(|s| (src - s).num_milliseconds() as f64 / 1000.0).unwrap_or(0.0);
        Some((held, need))
    }

    /// Follow live state: evaluate the current condition, finish a wait
    /// that holds or times out, follow the current step's action. Intents
    /// to re-send after a resume are returned (same idempotency key).
    pub fn observe(&mut self, snap: &Snapshot, now: DateTime<Utc>) -> (bool, Vec<(Action, String)>) {
        let mut resend = Vec::new();
        if self.read_only().is_some() {
            // Watching: the driver's record, and the live values for show;
            // nothing is changed, saved or looked up from here.
            let mut changed = self.follow_record();
            if let Some((super::Step { body: StepBody::Check { check, .. } | StepBody::Wait { check, .. }, .. }, r)) =
                self.current()
            {
                let ev = expr::eval(&check.expr, snap, &self.rec.params);
                let need = self.hold_secs(check);
                let since = r.holding_since;
                let src = self.source_time(snap, now);
                let satisfied = ev.holds && (need <= 0.0 || since.is_some_and(|s| held_secs(src, s) >= need));
                changed |= self.live.as_ref() != Some(&ev) || satisfied != self.satisfied;
                self.live = Some(ev);
                self.satisfied = satisfied;
            }
            return (changed, resend);
        }
        let Some((step, _)) = self.current() else { return (false, resend) };
        let body = step.body.clone();
        let i = self.rec.current;
        match &body {
            StepBody::Check { check, .. } | StepBody::Wait { check, .. } => {
                let ev = expr::eval(&check.expr, snap, &self.rec.params);
                let need = self.hold_secs(check);
                let before = self.rec.steps[i].holding_since;
                // In the source's clock; from the source's own "since" when
                // it has one (true before this step began counts).
                let src = self.source_time(snap, now);
                let since = if ev.holds {
                    let seen = before.unwrap_or(src);
                    Some(ev.since.map_or(seen, |s| s.min(seen)))
                } else {
                    None
                };
                self.rec.steps[i].holding_since = since;
                // No `for`: true now is enough (never "not yet" because
                // the clock estimate jittered below when it turned true).
                let satisfied = since.is_some() && (need <= 0.0 || since.is_some_and(|s| held_secs(src, s) >= need));
                let changed = self.live.as_ref() != Some(&ev) || satisfied != self.satisfied || since != before;
                self.live = Some(ev);
                self.satisfied = satisfied;
                if since.is_some() != before.is_some() {
                    self.save();
                }
                if let StepBody::Wait { timeout_secs, on_timeout, .. } = body {
                    let operator = "warroom".to_string();
                    if satisfied {
                        self.end_step(StepResult::Passed, now, &operator, None);
                        return (true, resend);
                    }
                    let started = self.rec.steps[i].started_at.unwrap_or(now);
                    if (now - started).num_milliseconds() as f64 / 1000.0 >= timeout_secs {
                        let why = format!("not true within {}", fmt_secs(timeout_secs));
                        match on_timeout {
                            OnTimeout::Continue => self.end_step(StepResult::TimedOut, now, &operator, Some(why)),
                            OnTimeout::Fail => {
                                if self.rec.steps[i].result != Some(StepResult::Failed) {
                                    self.end_step(StepResult::Failed, now, &operator, Some(why));
                                }
                                return (changed, resend);
                            }
                            OnTimeout::Abort => {
                                let _ = self.abort(now, &operator, why);
                            }
                        }
                        return (true, resend);
                    }
                }
                (changed, resend)
            }
            StepBody::Action(t) => {
                let Some(last) = self.rec.steps[i].actions.last().cloned() else { return (false, resend) };
                if last.status != "in_flight" {
                    return (false, resend);
                }
                match snap.fleet.actions.iter().find(|e| e.key == last.key) {
                    Some(e) => {
                        let status = match e.status {
                            ActionStatus::InFlight => return (false, resend),
                            ActionStatus::Succeeded => "succeeded",
                            ActionStatus::Failed => "failed",
                            ActionStatus::Refused => "refused",
                            ActionStatus::Denied => "denied",
                        };
                        let operator = e.operator.clone();
                        if e.message.starts_with(crate::actions::executor::NOT_RECEIVED) {
                            // Never received: the step stays, `n` confirms again.
                            if let Some(a) = self.rec.steps[i].actions.last_mut() {
                                a.status = "not_sent".into();
                                a.message = e.message.clone();
                            }
                            let text =
                                format!("action not received by the backend (key {}); n confirms it again", e.key);
                            self.event(now, &operator, text);
                            self.save();
                            return (true, resend);
                        }
                        if let Some(a) = self.rec.steps[i].actions.last_mut() {
                            a.status = status.into();
                            a.message = e.message.clone();
                        }
                        self.event(now, &operator, format!("action {status}: {} (key {})", e.summary, e.key));
                        if status == "succeeded" {
                            self.end_step(StepResult::Done, now, &operator, None);
                        } else {
                            let why = format!("action {status}: {}", e.message);
                            self.end_step(StepResult::Failed, now, &operator, Some(why));
                        }
                        (true, resend)
                    }
                    None if !self.sent_here.contains(&last.key) => {
                        // Confirmed before a crash, outcome unknown here: look
                        // the key up (never a resend); if the backend never
                        // got it, the step waits for a new confirmation.
                        self.sent_here.insert(last.key.clone());
                        if let Ok(a) = t.resolve(&self.rec.params) {
                            resend.push((a, last.key.clone()));
                        }
                        let text = format!("looking up the action confirmed before the resume (key {})", last.key);
                        self.event(now, "warroom", text);
                        self.save();
                        (true, resend)
                    }
                    None => (false, resend),
                }
            }
            StepBody::Manual { .. } => (false, resend),
        }
    }

    /// What "next" does on the current step: mark a manual step done, pass
    /// a check that holds, or return the action to put through the confirm
    /// gate. `Err` says why nothing happened.
    pub fn next(&mut self, now: DateTime<Utc>, operator: &str) -> Result<Option<Action>, String> {
        self.refuse_if_watching()?;
        let Some((step, rec)) = self.current() else {
            return Err("the run is over".into());
        };
        match &step.body {
            StepBody::Manual { .. } => {
                self.end_step(StepResult::Done, now, operator, None);
                Ok(None)
            }
            StepBody::Check { .. } if self.satisfied => {
                self.end_step(StepResult::Passed, now, operator, None);
                Ok(None)
            }
            StepBody::Check { .. } => match self.hold_progress(now) {
                Some((held, need)) if rec.holding_since.is_some() => {
                    Err(format!("holds for {} of {}: wait, or skip with a reason", fmt_secs(held), fmt_secs(need)))
                }
                _ => Err("the check does not hold: wait for it, or skip with a reason".into()),
            },
            StepBody::Wait { .. } if rec.result == Some(StepResult::Failed) => {
                // Timed out: wait again from now.
                let i = self.rec.current;
                self.rec.steps[i].result = None;
                self.rec.steps[i].ended_at = None;
                self.begin_step(now, operator);
                self.save();
                Ok(None)
            }
            StepBody::Wait { .. } => Err("waiting for the condition (it advances by itself)".into()),
            StepBody::Action(t) => {
                if rec.actions.last().is_some_and(|a| a.status == "in_flight") {
                    return Err("the action is in flight".into());
                }
                t.resolve(&self.rec.params).map(Some)
            }
        }
    }

    /// The confirmed intent for the current action step: recorded (and
    /// saved) before it is sent.
    pub fn record_intent(&mut self, action: &Action, key: &str, now: DateTime<Utc>, operator: &str) -> bool {
        if self.read_only().is_some() {
            return false;
        }
        let Some((step, _)) = self.current() else { return false };
        let StepBody::Action(t) = &step.body else { return false };
        if !t.resolve(&self.rec.params).is_ok_and(|t| action.matches_template(&t)) {
            return false;
        }
        let i = self.rec.current;
        let summary = action.summary();
        self.rec.steps[i].result = None;
        self.rec.steps[i].actions.push(ActionRef {
            key: key.into(),
            summary: summary.clone(),
            status: "in_flight".into(),
            message: String::new(),
            at: now,
        });
        self.sent_here.insert(key.to_string());
        self.event(now, operator, format!("confirmed action: {summary} (key {key})"));
        self.save();
        true
    }

    pub fn skip(&mut self, now: DateTime<Utc>, operator: &str, reason: String) -> Result<(), String> {
        self.refuse_if_watching()?;
        if self.finished() {
            return Err("the run is over".into());
        }
        if reason.trim().is_empty() {
            return Err("a skip needs a reason".into());
        }
        if self.current().is_some_and(|(_, r)| r.actions.last().is_some_and(|a| a.status == "in_flight")) {
            return Err("the step's action is in flight; wait for its outcome".into());
        }
        self.end_step(StepResult::Skipped, now, operator, Some(reason));
        Ok(())
    }

    pub fn abort(&mut self, now: DateTime<Utc>, operator: &str, reason: String) -> Result<(), String> {
        self.refuse_if_watching()?;
        if self.finished() {
            return Ok(());
        }
        self.end_step(StepResult::Aborted, now, operator, Some(reason));
        self.rec.status = RunStatus::Aborted;
        self.rec.ended_at = Some(now);
        self.event(now, operator, "run aborted".into());
        self.save();
        Ok(())
    }
}

/// Abort a run from its record alone (the runbook file may have changed).
pub fn abort_record(mut rec: RunRecord, operator: &str, reason: &str, now: DateTime<Utc>) -> Result<RunRecord, String> {
    if rec.status != RunStatus::Running {
        return Err(format!("run {} is already over", rec.id));
    }
    if reason.trim().is_empty() {
        return Err("an abort needs a reason".into());
    }
    let i = rec.current;
    if let Some(s) = rec.steps.get_mut(i) {
        s.ended_at = Some(now);
        s.result = Some(StepResult::Aborted);
        s.operator = Some(operator.into());
        s.reason = Some(reason.into());
    }
    rec.status = RunStatus::Aborted;
    rec.ended_at = Some(now);
    rec.events.push(Event { at: now, operator: operator.into(), text: format!("run aborted: {reason}") });
    Ok(rec)
}

/// The run as a Markdown timeline for a postmortem.
/// Text from a run (titles, reasons, backend messages, operator names) made
/// safe for Markdown and terminals: control and format characters escaped,
/// newlines as spaces, and the characters Markdown would act on escaped.
pub fn md_text(s: &str) -> String {
    let one = s.replace(['\n', '\r', '\t'], " ");
    let mut out = String::with_capacity(one.len());
    for c in crate::audit::escape_terminal(&one).chars() {
        if matches!(c, '|' | '<' | '>' | '[' | ']' | '`' | '*' | '_' | '#' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

pub fn export_markdown(rec: &RunRecord) -> String {
    let t = |d: &DateTime<Utc>| d.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let mut out = String::new();
    out.push_str(&format!("# Runbook run: {}\n\n", md_text(&rec.title)));
    out.push_str(&format!("- Run: `{}` (runbook `{}`)\n", rec.id, rec.runbook));
    let params: Vec<String> = rec.params.iter().map(|(k, v)| format!("{}={}", md_text(k), md_text(v))).collect();
    out.push_str(&format!("- Parameters: {}\n", if params.is_empty() { "none".into() } else { params.join(", ") }));
    out.push_str(&format!("- Started: {} by {}\n", t(&rec.started_at), md_text(&rec.started_by)));
    let status = match rec.status {
        RunStatus::Running => "in progress".to_string(),
        RunStatus::Completed => "completed".to_string(),
        RunStatus::Aborted => "aborted".to_string(),
    };
    match &rec.ended_at {
        Some(e) => out.push_str(&format!(
            "- Ended: {} ({status}, {})\n",
            t(e),
            fmt_secs((*e - rec.started_at).num_seconds() as f64)
        )),
        None => out.push_str(&format!("- Status: {status}, at step {}\n", rec.current + 1)),
    }
    let mut operators: Vec<&str> = rec.steps.iter().filter_map(|s| s.operator.as_deref()).collect();
    operators.push(&rec.started_by);
    operators.sort();
    operators.dedup();
    let operators: Vec<String> = operators.iter().map(|o| md_text(o)).collect();
    if let Some((secs, a, b)) = stopwatch(rec) {
        out.push_str(&format!(
            "- Measured recovery time (stopwatch): {} (step {a} started → step {b} ended)\n",
            fmt_secs(secs)
        ));
    }
    out.push_str(&format!("- Operators: {}\n\n", operators.join(", ")));
    out.push_str("## Steps\n\n| # | step | kind | started | ended | took | result | by | notes |\n|---|---|---|---|---|---|---|---|---|\n");
    let hm = |d: &Option<DateTime<Utc>>| d.map(|d| d.format("%H:%M:%S").to_string()).unwrap_or_else(|| "—".into());
    for (i, s) in rec.steps.iter().enumerate() {
        let took = match (s.started_at, s.ended_at) {
            (Some(a), Some(b)) => fmt_secs((b - a).num_seconds() as f64),
            _ => "—".into(),
        };
        let mut notes: Vec<String> = Vec::new();
        if let Some(r) = &s.reason {
            notes.push(r.clone());
        }
        if let Some(d) = &s.detail {
            notes.push(d.clone());
        }
        for a in &s.actions {
            notes.push(format!("{} → {} (key `{}`)", a.summary, a.status, a.key));
        }
        let cell = md_text;
        out.push_str(&format!(
            "| {} | {} | {} | {} | {} | {} | {} | {} | {} |\n",
            i + 1,
            cell(&s.title),
            s.kind,
            hm(&s.started_at),
            hm(&s.ended_at),
            took,
            s.result.map(|r| r.word()).unwrap_or(if i == rec.current { "current" } else { "—" }),
            s.operator.as_deref().map(md_text).unwrap_or_else(|| "—".into()),
            cell(&notes.join("; "))
        ));
    }
    out.push_str("\n## Timeline\n\n");
    for e in &rec.events {
        out.push_str(&format!("- {} — {} — {}\n", t(&e.at), md_text(&e.operator), md_text(&e.text)));
    }
    out.push_str(
        "\nActions are in the audit trail under the same idempotency keys (`warroom audit tail`, `warroom audit verify`).\n",
    );
    out
}

/// The run as a JSON document for tools (an incident tracker, a
/// postmortem template): the whole record plus derived figures, under a
/// versioned `format` so a consumer can tell what it reads. Text is the
/// run's own (JSON escapes it); nothing is made safe for a terminal here.
pub fn export_json(rec: &RunRecord) -> String {
    let took = |a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>| match (a, b) {
        (Some(a), Some(b)) => Some((b - a).num_milliseconds() as f64 / 1000.0),
        _ => None,
    };
    let mut operators: Vec<&str> = rec.steps.iter().filter_map(|s| s.operator.as_deref()).collect();
    operators.push(&rec.started_by);
    operators.sort();
    operators.dedup();
    let steps: Vec<serde_json::Value> = rec
        .steps
        .iter()
        .enumerate()
        .map(|(i, s)| {
            let mut v = serde_json::to_value(s).unwrap_or(serde_json::Value::Null);
            if let Some(o) = v.as_object_mut() {
                o.insert("number".into(), (i + 1).into());
                o.insert("took_s".into(), took(s.started_at, s.ended_at).into());
                o.insert("current".into(), (i == rec.current && rec.status == RunStatus::Running).into());
            }
            v
        })
        .collect();
    let doc = serde_json::json!({
        "format": "warroom-run/1",
        "id": rec.id,
        "runbook": rec.runbook,
        "title": rec.title,
        "params": rec.params,
        "status": rec.status,
        "started_by": rec.started_by,
        "started_at": rec.started_at,
        "ended_at": rec.ended_at,
        "took_s": took(Some(rec.started_at), rec.ended_at),
        "stopwatch_s": stopwatch(rec).map(|(s, _, _)| s),
        "operators": operators,
        "steps": steps,
        "timeline": rec.events,
    });
    let mut out = serde_json::to_string_pretty(&doc).unwrap_or_else(|_| "{}".into());
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{derive, Fleet, Region, RegionStatus};
    use chrono::Duration;

    fn fleet_with(status: RegionStatus, weight: f64) -> Snapshot {
        let mut f = Fleet::default();
        let r = |n: &str, s, w| Region {
            name: n.into(),
            status: s,
            weight: w,
            base_weight: None,
            zones: vec![],
            since: None,
        };
        f.regions.set(
            Utc::now(),
            Ok(vec![r("us-east-1", RegionStatus::Ok, 100.0 - weight), r("us-west-2", status, weight)]),
        );
        derive(f, 1)
    }

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("warroom-run-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    /// The regional-failover runbook bound to us-west-2 (defaults for the rest).
    fn failover_us_west_2() -> (super::super::Runbook, BTreeMap<String, String>) {
        let book = super::super::find("regional-failover").unwrap_or_else(|e| panic!("{e}"));
        let mut given = BTreeMap::new();
        given.insert("region".to_string(), "us-west-2".to_string());
        let params = book.bind(&given, None).unwrap_or_else(|e| panic!("{e}"));
        (book, params)
    }

    #[test]
    fn markdown_export_escapes_what_backends_and_people_wrote() {
        assert_eq!(md_text("a|b"), "a\\|b");
        assert_eq!(md_text("<img src=x>"), "\\<img src=x\\>");
        assert_eq!(md_text("[click](http://x)"), "\\[click\\](http://x)");
        assert_eq!(md_text("two\nlines"), "two lines");
        let evil = md_text("evil\u{1b}]52;c;x\u{7}\u{202e}");
        assert!(!evil.chars().any(|c| c.is_control() || c == '\u{202e}'), "{evil:?}");
    }

    #[test]
    fn a_for_clause_counts_in_the_source_clock_and_from_the_sources_since() {
        let (book, params) = failover_us_west_2();
        let d = dir("since");
        let t0 = Utc::now();
        // A simulator 9 minutes ahead of us; us-west-2 DOWN for 3 minutes there.
        let src = t0 + Duration::minutes(9);
        let snap = |since: Option<DateTime<Utc>>| {
            let mut f = Fleet::default();
            let r = |n: &str, s, w, since| Region {
                name: n.into(),
                status: s,
                weight: w,
                base_weight: None,
                zones: vec![],
                since,
            };
            f.regions.set(
                t0,
                Ok(vec![r("us-east-1", RegionStatus::Ok, 75.0, None), r("us-west-2", RegionStatus::Down, 25.0, since)]),
            );
            f.set_source_offset(crate::model::FeedId::Regions, src - t0);
            derive(f, 1)
        };
        let mut run = Run::start(book.clone(), params.clone(), "alice", t0, d.clone());
        run.observe(&snap(Some(src - Duration::minutes(3))), t0);
        assert!(run.satisfied, "DOWN for 3 minutes already: `for 2m` is met at once");
        let held = run.held_before_step(t0).unwrap_or_default();
        assert!((held - 180.0).abs() < 1.0, "true for 3m in the source's clock, not 12m: {held}");
        // Without a since from the source, it counts from when it was seen,
        // in the source's clock: 10 s of ours are 10 s, not 9 minutes.
        drop(run); // the same id (same second, same book): let its lock go
        let mut run = Run::start(book, params, "alice", t0, d.clone());
        run.observe(&snap(None), t0);
        run.observe(&snap(None), t0 + Duration::seconds(10));
        assert!(!run.satisfied);
        assert_eq!(run.held_before_step(t0 + Duration::seconds(10)), None);
        let (held, need) = run.hold_progress(t0 + Duration::seconds(10)).unwrap_or_default();
        assert!((held - 10.0).abs() < 0.5 && need == 120.0, "{held} of {need}");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_check_that_holds_stays_satisfied_when_the_source_clock_estimate_jitters_back() {
        // Feeds polled at different moments, whole-second timestamps and a
        // loaded machine move the estimate of the source's clock back by a
        // second or two now and then: a check true now stays true.
        let (book, params) = failover_us_west_2();
        let d = dir("jitter");
        let t0 = Utc::now();
        let snap = |ahead: Duration| {
            let mut f = Fleet::default();
            let since = Some(t0 + Duration::minutes(9) - Duration::minutes(3));
            let r = |n: &str, s, w| Region {
                name: n.into(),
                status: s,
                weight: w,
                base_weight: None,
                zones: vec![],
                since,
            };
            f.regions.set(
                t0,
                Ok(vec![
                    r("us-east-1", RegionStatus::Ok, 50.0),
                    r("eu-west-1", RegionStatus::Ok, 25.0),
                    r("us-west-2", RegionStatus::Down, 25.0),
                ]),
            );
            f.set_source_offset(crate::model::FeedId::Regions, ahead);
            derive(f, 1)
        };
        let mut run = Run::start(book, params, "alice", t0, d.clone());
        run.observe(&snap(Duration::minutes(9)), t0);
        assert!(run.satisfied, "step 1: DOWN for 3 minutes already");
        assert!(run.next(t0, "alice").is_ok());
        // Step 2 (`fleet.serving_regions >= 2`, no `for`): true at once.
        run.observe(&snap(Duration::minutes(9)), t0);
        assert!(run.satisfied);
        // 1 s later here, but the new estimate puts the source 2 s behind.
        run.observe(&snap(Duration::minutes(9) - Duration::seconds(3)), t0 + Duration::seconds(1));
        assert!(run.satisfied, "a check with no `for` that holds is satisfied");
        let (held, _) = run.hold_progress(t0 + Duration::seconds(1)).unwrap_or_default();
        assert!(held >= 0.0, "the source clock never runs backwards here: {held}");
        assert!(run.next(t0 + Duration::seconds(1), "alice").is_ok(), "n moves on");
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn regional_failover_walks_through_and_persists() {
        let (book, params) = failover_us_west_2();
        let d = dir("walk");
        let t0 = Utc::now();
        let mut run = Run::start(book, params, "alice", t0, d.clone());
        let up = fleet_with(RegionStatus::Ok, 25.0);
        let down = fleet_with(RegionStatus::Down, 25.0);
        run.observe(&up, t0);
        assert!(run.next(t0, "alice").is_err(), "the region is not down yet");
        run.observe(&down, t0 + Duration::seconds(10));
        assert!(run.next(t0 + Duration::seconds(10), "alice").is_err_and(|e| e.contains("holds for")));
        run.observe(&down, t0 + Duration::seconds(131));
        assert_eq!(run.next(t0 + Duration::seconds(131), "alice"), Ok(None), "held 2 minutes");
        assert_eq!(run.rec.steps[0].result, Some(StepResult::Passed));
        assert!(run.rec.steps[0].detail.as_deref().is_some_and(|d| d.contains("region(us-west-2).status = DOWN")));
        // Reload from disk: the same record.
        let again = load(&d, &run.rec.id).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(again, run.rec);
        // Skipping needs a reason.
        assert!(run.skip(t0, "alice", " ".into()).is_err());
        let md = export_markdown(&run.rec);
        assert!(md.contains("| 1 | ") && md.contains("passed") && md.contains("alice"), "{md}");
        let json: serde_json::Value = serde_json::from_str(&export_json(&run.rec)).unwrap_or_default();
        assert_eq!(json["format"], "warroom-run/1");
        assert_eq!(json["steps"][0]["result"], "passed");
        assert_eq!(json["steps"][0]["number"], 1);
        assert_eq!(json["steps"][1]["current"], true);
        assert_eq!(json["operators"], serde_json::json!(["alice"]));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn one_console_drives_a_run_and_the_others_watch_it_read_only() {
        let (book, params) = failover_us_west_2();
        let d = dir("lock");
        let t0 = Utc::now();
        let mut alice = Run::start(book, params, "alice", t0, d.clone());
        assert!(alice.read_only().is_none(), "the starter drives it");
        let rec = load(&d, &alice.rec.id).unwrap_or_else(|e| panic!("{e}"));
        let mut bob = Run::resume(rec.clone(), d.clone(), "bob", t0).unwrap_or_else(|e| panic!("{e}"));
        let why = bob.read_only().unwrap_or_default().to_string();
        assert!(why.starts_with("driven by alice, pid "), "{why}");
        // Bob's console changes nothing: every change is refused, nothing saved.
        let down = fleet_with(RegionStatus::Down, 25.0);
        assert!(bob.next(t0, "bob").is_err_and(|e| e.contains("read-only here: driven by alice")));
        assert!(bob.skip(t0, "bob", "because".into()).is_err_and(|e| e.contains("read-only")));
        assert!(bob.abort(t0, "bob", "because".into()).is_err_and(|e| e.contains("read-only")));
        let (_, resend) = bob.observe(&down, t0);
        assert!(resend.is_empty());
        assert_eq!(load(&d, &rec.id).ok(), Some(alice.rec.clone()), "the watcher wrote nothing");
        assert!(bob.rec.events.iter().all(|e| e.operator != "bob"), "no 'resumed' event from the watcher");
        // The driver's progress shows on the watcher.
        alice.observe(&down, t0);
        alice.observe(&down, t0 + Duration::seconds(131));
        assert_eq!(alice.next(t0 + Duration::seconds(131), "alice"), Ok(None));
        // The record's mtime may not move within one clock tick: force a re-read.
        (bob.seen, bob.looked) = (None, None);
        let (changed, _) = bob.observe(&down, t0 + Duration::seconds(132));
        assert!(changed && bob.rec.current == 1, "the watcher follows the driver's record");
        // A CLI abort is refused while alice drives it.
        assert!(matches!(lock_run(&d, &rec.id, "carol"), Ok(Lock::HeldBy(h)) if h.starts_with("alice")));
        // Alice's console closes (or crashes): the lock is released.
        drop(alice);
        bob.looked = None;
        bob.observe(&down, t0 + Duration::seconds(133));
        let why = bob.read_only().unwrap_or_default().to_string();
        assert!(why.contains("no one drives it now") && why.contains(":runbook regional-failover"), "{why}");
        // Taking it over: bob drives from where alice left it.
        let rec = load(&d, &rec.id).unwrap_or_else(|e| panic!("{e}"));
        let mut bob = Run::resume(rec, d.clone(), "bob", t0).unwrap_or_else(|e| panic!("{e}"));
        assert!(bob.read_only().is_none());
        assert_eq!(bob.rec.current, 1);
        assert!(bob.skip(t0, "bob", "done by hand".into()).is_ok());
        assert_eq!(load(&d, &bob.rec.id).map(|r| r.current).ok(), Some(2));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_watcher_never_looks_up_or_resends_an_action_confirmed_elsewhere() {
        let (book, params) = failover_us_west_2();
        let d = dir("watch-action");
        let t0 = Utc::now();
        let mut rec = Run::start(book, params, "alice", t0, d.clone()).rec;
        // The record as a crashed driver left it: at the action step, its
        // intent confirmed and in flight.
        let i = rec.steps.iter().position(|s| s.kind == "action").unwrap_or(0);
        rec.current = i;
        rec.steps[i].actions.push(ActionRef {
            key: "k-1".into(),
            summary: "fail over us-west-2".into(),
            status: "in_flight".into(),
            message: String::new(),
            at: t0,
        });
        save(&d, &rec).unwrap_or_else(|e| panic!("{e}"));
        let mut viewer = Run::watch(rec.clone(), d.clone(), "a viewer key watches, read-only".into(), true)
            .unwrap_or_else(|e| panic!("{e}"));
        let (_, resend) = viewer.observe(&fleet_with(RegionStatus::Down, 25.0), t0);
        assert!(resend.is_empty(), "only the driver settles an intent");
        assert!(viewer.read_only().is_some_and(|w| w.contains("viewer")), "a viewer is never offered a take-over");
        // The driver, resuming the same record, looks the key up.
        let mut drv = Run::resume(rec, d.clone(), "bob", t0).unwrap_or_else(|e| panic!("{e}"));
        let (_, resend) = drv.observe(&fleet_with(RegionStatus::Down, 25.0), t0);
        assert_eq!(resend.len(), 1);
        let _ = std::fs::remove_dir_all(&d);
    }
}
