//! The action executor: the only path to a mutating backend call.
//!
//! role check → audit(intent, fsynced) → send with an idempotency key to
//! the provider that owns the target (`provider::Routes`) → follow to a
//! terminal state → audit(outcome) → action-log update into the store, so
//! every viewer sees it. Network failures retry with the same key; a
//! timeout is reconciled by looking the key up, never by a blind resend.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::mpsc;

use super::provider::{ActionProvider, ControlPlaneActions, Routes, Sent};
use super::{Action, Operator, Role};
use crate::audit::{AuditLog, Entry};
use chrono::{DateTime, Utc};

use crate::model::{ActionEntry, ActionStatus, FeedId};
use crate::sources::{Clock, Payload, Update};

/// Attempts at delivering one intent before giving up.
const MAX_ATTEMPTS: u32 = 4;
/// How long to follow an accepted action before reporting it unfinished.
const FOLLOW_FOR: Duration = Duration::from_secs(180);

/// What the console decided before anything is sent.
#[derive(Debug, Clone, PartialEq)]
pub enum Disposition {
    /// Confirmed by the operator: execute.
    Go,
    /// Refused by the console's own checks, with the reason.
    Refused(String),
    /// An intent confirmed in an earlier session (a resumed runbook step):
    /// look its key up and follow it if the backend has it; never send it.
    /// If the backend never received it, say so (`NOT_RECEIVED`): sending
    /// it now needs a new confirmation against a fresh preview.
    LookupOnly,
}

/// How a `LookupOnly` outcome starts when the backend never got the intent.
pub const NOT_RECEIVED: &str = "not received by the backend; nothing sent";

/// One confirmed (or refused) intent.
#[derive(Debug, Clone)]
pub struct Intent {
    pub action: Action,
    /// Idempotency key, fixed when the operator confirmed.
    pub key: String,
    pub operator: Operator,
    pub disposition: Disposition,
}

/// Handle for submitting intents.
/// The audit trail shared by everything that writes to it in one process
/// (one writer keeps the hash chain whole).
pub type SharedAudit = Arc<Mutex<Option<AuditLog>>>;

#[derive(Clone)]
pub struct Executor {
    ctx: Arc<Ctx>,
    audit: SharedAudit,
    /// Intents being worked on (for a clean exit).
    active: Arc<std::sync::atomic::AtomicUsize>,
    // Unbounded on purpose: intents come from people pressing keys, so the
    // rate is human, and a confirmed action must never be dropped or block
    // the UI.
    tx: mpsc::UnboundedSender<Intent>,
    /// Where a chart asks for a range beyond the live hour (None: this
    /// process has no metrics source to ask).
    ranges: Option<crate::dataplane::RangeAsker>,
}

impl Executor {
    /// Ask the metrics source for charts' ranges through `asker`.
    pub fn with_ranges(mut self, asker: Option<crate::dataplane::RangeAsker>) -> Executor {
        self.ranges = asker;
        self
    }

    /// Ask for a chart's range (never waits); false: nothing to ask.
    pub fn ask_range(&self, q: crate::model::range::RangeQuery) -> bool {
        match &self.ranges {
            Some(a) => {
                a.ask(q);
                true
            }
            None => false,
        }
    }

    /// The metrics source a range is asked of, if any.
    pub fn range_source(&self) -> Option<&str> {
        self.ranges.as_ref().map(|a| &*a.source)
    }

    /// Queue an intent without blocking. Fails only if the executor is gone.
    pub fn submit(&self, intent: Intent) -> Result<(), String> {
        self.tx.send(intent).map_err(|_| "the action executor has stopped".to_string())
    }

    /// Post a note or an incident step to the store (never blocks: a full
    /// queue is waited on in a task).
    pub fn post(&self, p: crate::model::incident::Post) {
        let u = Update { source: None, feed: FeedId::Metrics, at: (self.ctx.clock)(), result: Ok(Payload::Post(p)) };
        if let Err(mpsc::error::TrySendError::Full(u)) = self.ctx.updates.try_send(u) {
            let tx = self.ctx.updates.clone();
            tokio::spawn(async move {
                let _ = tx.send(u).await;
            });
        }
    }

    /// Actions still being worked on.
    pub fn active(&self) -> usize {
        self.active.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Wait (at most `max`) for actions in flight to finish and be audited,
    /// so quitting never cuts an outcome record in half.
    pub async fn settle(&self, max: Duration) {
        let deadline = tokio::time::Instant::now() + max;
        while self.active() > 0 && tokio::time::Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Reconcile every intent in the trail that has no outcome (the console
    /// quit or crashed before it): look its key up at the backend — never
    /// resend —, follow it to the end if the backend has it, and record the
    /// outcome. Runs in the background; each result shows in the action log.
    pub fn reconcile_unfinished(&self) {
        let ctx = self.ctx.clone();
        tokio::spawn(async move { reconcile_all(&ctx).await });
    }

    /// The audit trail this executor writes, for other events (SSH logins).
    pub fn audit(&self) -> SharedAudit {
        self.audit.clone()
    }
}

/// Counts an intent as finished when dropped, however its task ends.
struct Done(Arc<std::sync::atomic::AtomicUsize>);

impl Drop for Done {
    fn drop(&mut self) {
        self.0.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
    }
}

/// A fresh idempotency key: the time (for people reading the trail) and
/// 128 random bits from the system's generator (nobody can guess another
/// console's next key).
pub fn new_key() -> String {
    use ring::rand::SecureRandom;
    let mut bits = [0u8; 16];
    if ring::rand::SystemRandom::new().fill(&mut bits).is_err() {
        // No system randomness: still unique in this process, never reused.
        use std::sync::atomic::{AtomicU64, Ordering};
        static COUNTER: AtomicU64 = AtomicU64::new(0);
        let n = COUNTER.fetch_add(1, Ordering::Relaxed);
        bits[..8].copy_from_slice(&n.to_le_bytes());
        bits[8..12].copy_from_slice(&std::process::id().to_le_bytes());
    }
    let hex: String = bits.iter().map(|b| format!("{b:02x}")).collect();
    format!("wr-{}-{hex}", chrono::Utc::now().format("%Y%m%dT%H%M%S"))
}

struct Ctx {
    /// The provider that owns each kind of target.
    routes: Routes,
    audit: SharedAudit,
    audit_error: Option<String>,
    updates: mpsc::Sender<Update>,
    clock: Clock,
    /// Target → (summary, key) of the action in flight on it.
    in_flight: Mutex<std::collections::HashMap<String, (String, String)>>,
    /// Live state, to re-check the local refusals at send time.
    snapshots: Option<tokio::sync::watch::Receiver<Arc<crate::model::Snapshot>>>,
    /// Denials per operator in the current minute: (minute, count).
    denials: Mutex<std::collections::HashMap<String, (i64, u32)>>,
    /// How long an accepted action is followed before it is called failed.
    follow_for: Duration,
}

/// A viewer's denied attempts recorded one by one per minute; the rest are
/// counted and recorded as one line when their next minute begins (a
/// viewer that pasted 3,000 action keys once wrote 3,000 fsynced records).
pub const DENIALS_RECORDED_PER_MINUTE: u32 = 5;

/// Start the executor for the control plane at `base`.
pub fn spawn(base: &str, audit: Result<AuditLog, String>, updates: mpsc::Sender<Update>, clock: Clock) -> Executor {
    spawn_with_token(base, None, audit, updates, clock, None)
}

/// `spawn` with a bearer token for the control plane (`base` may be empty:
/// then every action fails with "no control plane configured").
pub fn spawn_with_token(
    base: &str,
    token: Option<String>,
    audit: Result<AuditLog, String>,
    updates: mpsc::Sender<Update>,
    clock: Clock,
    snapshots: Option<tokio::sync::watch::Receiver<Arc<crate::model::Snapshot>>>,
) -> Executor {
    spawn_inner(control_plane_routes(base, token, None), audit, updates, clock, snapshots, FOLLOW_FOR)
}

/// `spawn`, following an accepted action for `follow_for` instead of 180 s
/// (to prove the deadline without waiting three minutes).
pub fn spawn_following(
    base: &str,
    audit: Result<AuditLog, String>,
    updates: mpsc::Sender<Update>,
    clock: Clock,
    follow_for: Duration,
) -> Executor {
    spawn_inner(control_plane_routes(base, None, None), audit, updates, clock, None, follow_for)
}

/// The routes for one control plane at `base` (empty: none configured).
pub fn control_plane_routes(base: &str, token: Option<String>, ca_bundle: Option<&std::path::Path>) -> Routes {
    if base.is_empty() {
        return Routes::default();
    }
    Routes::all(Arc::new(ControlPlaneActions::new(base, token, ca_bundle)))
}

/// Start the executor with a provider per kind of target.
pub fn spawn_routed(
    routes: Routes,
    audit: Result<AuditLog, String>,
    updates: mpsc::Sender<Update>,
    clock: Clock,
    snapshots: Option<tokio::sync::watch::Receiver<Arc<crate::model::Snapshot>>>,
) -> Executor {
    spawn_inner(routes, audit, updates, clock, snapshots, FOLLOW_FOR)
}

fn spawn_inner(
    routes: Routes,
    audit: Result<AuditLog, String>,
    updates: mpsc::Sender<Update>,
    clock: Clock,
    snapshots: Option<tokio::sync::watch::Receiver<Arc<crate::model::Snapshot>>>,
    follow_for: Duration,
) -> Executor {
    let (tx, mut rx) = mpsc::unbounded_channel::<Intent>();
    let (audit, audit_error) = match audit {
        Ok(a) => (Some(a), None),
        Err(e) => (None, Some(e)),
    };
    if let Some(records) = audit.as_ref().and_then(|a| crate::audit::records(a.path()).ok()) {
        for p in routes.providers() {
            p.attach_audit(&records);
        }
    }
    let audit: SharedAudit = Arc::new(Mutex::new(audit));
    let ctx = Arc::new(Ctx {
        routes,
        denials: Mutex::new(std::collections::HashMap::new()),
        follow_for,
        audit: audit.clone(),
        audit_error,
        updates,
        clock,
        in_flight: Mutex::new(std::collections::HashMap::new()),
        snapshots,
    });
    let active = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = active.clone();
    let handle = ctx.clone();
    tokio::spawn(async move {
        while let Some(intent) = rx.recv().await {
            let ctx = ctx.clone();
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let done = Done(counter.clone());
            tokio::spawn(async move {
                let recover = {
                    let _done = done;
                    run(&ctx, intent).await
                };
                // Not counted as active: quitting does not wait for it.
                if let Some((intent, started, writer_at, outcome)) = recover {
                    watch_recovery(&ctx, &intent, started, writer_at, &outcome).await;
                }
            });
        }
    });
    Executor { ctx: handle, audit, active, tx, ranges: None }
}

impl Ctx {
    /// Audit, and the message to show: as given when it was recorded, with
    /// the failure appended when it was not (never shown as if recorded).
    fn audited(&self, intent: &Intent, event: &'static str, result: &'static str, message: &str) -> String {
        match self.audit(intent, event, result, message) {
            Ok(()) => message.to_string(),
            Err(e) => format!("{message} (NOT in the audit trail: {e})"),
        }
    }

    /// The provider that owns the action's target, if one is configured.
    fn provider(&self, action: &Action) -> Option<&Arc<dyn ActionProvider>> {
        self.routes.get(action.target_kind())
    }

    /// Where an action goes, for the audit trail (its provider's label).
    fn backend_label(&self, action: &Action) -> String {
        self.provider(action).map(|p| p.label_for(&action.request())).unwrap_or_else(|| "none configured".into())
    }

    /// Append to the audit trail; `Err` if it cannot be written.
    fn audit(&self, intent: &Intent, event: &'static str, result: &'static str, message: &str) -> Result<(), String> {
        let mut guard = self.audit.lock().unwrap_or_else(|e| e.into_inner());
        let Some(log) = guard.as_mut() else {
            return Err(self.audit_error.clone().unwrap_or_else(|| "audit trail unavailable".into()));
        };
        log.append(Entry {
            event,
            operator: intent.operator.name.clone(),
            role: intent.operator.role.name().into(),
            action: intent.action.request(),
            summary: intent.action.summary(),
            key: intent.key.clone(),
            result,
            message: message.to_string(),
            backend: self.backend_label(&intent.action),
        })
        .map(|_| ())
    }

    async fn publish(
        &self,
        intent: &Intent,
        status: ActionStatus,
        message: &str,
        started: chrono::DateTime<chrono::Utc>,
    ) {
        let entry = ActionEntry {
            key: intent.key.clone(),
            summary: intent.action.summary(),
            operator: intent.operator.name.clone(),
            status,
            message: message.to_string(),
            started_at: started,
            updated_at: (self.clock)(),
            recovered_at: None,
        };
        // The store routes action entries by payload; the feed id is not used.
        let _ = self
            .updates
            .send(Update {
                source: None,
                feed: FeedId::Metrics,
                at: (self.clock)(),
                result: Ok(Payload::Action(entry)),
            })
            .await;
    }
}

/// Poll an accepted action until it succeeds or fails (or the deadline).
async fn follow(p: &dyn ActionProvider, follow_for: Duration, id: &str) -> (ActionStatus, String) {
    let deadline = tokio::time::Instant::now() + follow_for;
    loop {
        if let Some(done) = p.poll(id).await {
            return done;
        }
        if tokio::time::Instant::now() > deadline {
            let secs = follow_for.as_secs();
            return (ActionStatus::Failed, format!("still not finished after {secs}s (action {id})"));
        }
        tokio::time::sleep(Duration::from_millis(400)).await;
    }
}

async fn reconcile_all(ctx: &Ctx) {
    let path = {
        let guard = ctx.audit.lock().unwrap_or_else(|e| e.into_inner());
        match guard.as_ref() {
            Some(log) => log.path().to_path_buf(),
            None => return,
        }
    };
    let Ok(records) = crate::audit::records(&path) else { return };
    for rec in crate::audit::unfinished(&records) {
        // Only the backend it was sent to can say what became of it (an
        // old record that names none: the default provider).
        let Some(provider) = ctx.routes.by_label(&rec.backend) else { continue };
        let ours = provider.label_for(&rec.action);
        let started = chrono::DateTime::parse_from_rfc3339(&rec.ts)
            .map(|t| t.with_timezone(&chrono::Utc))
            .unwrap_or_else(|_| (ctx.clock)());
        let (status, result, message) = match provider.lookup(&rec.key, &rec.action).await {
            Ok(Some(id)) => {
                let (status, msg) = follow(provider.as_ref(), ctx.follow_for, &id).await;
                let result = if status == ActionStatus::Succeeded { "succeeded" } else { "failed" };
                (status, result, format!("reconciled after a restart by key: {msg}"))
            }
            Ok(None) => (
                ActionStatus::Failed,
                "failed",
                // NOT_RECEIVED first: a runbook step that confirmed it waits
                // for a new confirmation instead of failing.
                format!("{NOT_RECEIVED}: reconciled after a restart, the backend never received it; confirm it again to send it"),
            ),
            // The backend cannot say now: leave the intent for the next start.
            Err(_) => continue,
        };
        let entry = Entry {
            event: "outcome",
            operator: rec.operator.clone(),
            role: rec.role.clone(),
            action: rec.action.clone(),
            summary: rec.summary.clone(),
            key: rec.key.clone(),
            result,
            message: message.clone(),
            backend: ours.clone(),
        };
        let written = {
            let mut guard = ctx.audit.lock().unwrap_or_else(|e| e.into_inner());
            guard.as_mut().map(|log| log.append(entry))
        };
        let message = match written {
            Some(Ok(_)) => message,
            Some(Err(e)) => format!("{message}; audit write failed: {e}"),
            None => continue,
        };
        let e = ActionEntry {
            key: rec.key.clone(),
            summary: format!("{} (unfinished at the last exit)", rec.summary),
            operator: rec.operator.clone(),
            status,
            message,
            started_at: started,
            updated_at: (ctx.clock)(),
            recovered_at: None,
        };
        let _ = ctx
            .updates
            .send(Update { source: None, feed: FeedId::Metrics, at: (ctx.clock)(), result: Ok(Payload::Action(e)) })
            .await;
    }
}

/// Runs one intent; returns it when a database action changed the writer
/// (with the confirm and writer times), for the recovery stopwatch.
/// What a database action that changed the writer hands to the recovery
/// watch: the intent, when it started, when the writer changed, and the
/// outcome's message (kept on screen beside the recovery time).
type Changed = (Intent, DateTime<Utc>, DateTime<Utc>, String);

async fn run(ctx: &Ctx, intent: Intent) -> Option<Changed> {
    let started = (ctx.clock)();
    let summary = intent.action.summary();
    // Role check first: a viewer's attempt is audited and nothing is sent.
    if intent.operator.role != intent.action.required_role() && intent.operator.role == Role::Viewer {
        let why = format!("{} is a viewer; {summary} needs the operator role", intent.operator.name);
        let minute = (ctx.clock)().timestamp().div_euclid(60);
        let (n, carried) = {
            let mut m = ctx.denials.lock().unwrap_or_else(|e| e.into_inner());
            if m.len() > 1024 {
                m.retain(|_, (at, _)| *at >= minute - 1);
            }
            let e = m.entry(intent.operator.name.clone()).or_insert((minute, 0));
            let carried = if e.0 != minute { std::mem::replace(e, (minute, 0)).1 } else { 0 };
            e.1 += 1;
            (e.1, carried)
        };
        if carried > DENIALS_RECORDED_PER_MINUTE {
            let more = carried - DENIALS_RECORDED_PER_MINUTE;
            let text =
                format!("{more} more denied attempt(s) in the previous minute, counted, not recorded one by one");
            ctx.audited(&intent, "denied", "denied", &text);
        }
        let shown = if n <= DENIALS_RECORDED_PER_MINUTE {
            ctx.audited(&intent, "denied", "denied", &why)
        } else {
            if n == DENIALS_RECORDED_PER_MINUTE + 1 {
                let text = format!(
                    "more than {DENIALS_RECORDED_PER_MINUTE} denied attempts by {} this minute; further ones are counted",
                    intent.operator.name
                );
                ctx.audited(&intent, "denied", "denied", &text);
            }
            format!("{why} (counted in the audit trail: more than {DENIALS_RECORDED_PER_MINUTE} this minute)")
        };
        ctx.publish(&intent, ActionStatus::Denied, &shown, started).await;
        return None;
    }
    if let Disposition::Refused(why) = &intent.disposition {
        let shown = ctx.audited(&intent, "refused", "refused", why);
        ctx.publish(&intent, ActionStatus::Refused, &shown, started).await;
        return None;
    }
    if intent.disposition == Disposition::LookupOnly {
        let looked = match ctx.provider(&intent.action) {
            Some(p) => p.lookup(&intent.key, &intent.action.request()).await,
            None => Err(ctx.routes.why_not(intent.action.target_kind())),
        };
        let (status, result, message) = match looked {
            Ok(Some(id)) => {
                let (status, msg) = match ctx.provider(&intent.action) {
                    Some(p) => follow(p.as_ref(), ctx.follow_for, &id).await,
                    None => (ActionStatus::Failed, ctx.routes.why_not(intent.action.target_kind())),
                };
                let result = if status == ActionStatus::Succeeded { "succeeded" } else { "failed" };
                (status, result, format!("found by key after resume: {msg}"))
            }
            Ok(None) => {
                (ActionStatus::Failed, "failed", format!("{NOT_RECEIVED}: confirm it again to send it (fresh preview)"))
            }
            Err(e) => (ActionStatus::Failed, "failed", format!("cannot look the key up: {e}; nothing sent")),
        };
        let shown = ctx.audited(&intent, "outcome", result, &message);
        ctx.publish(&intent, status, &shown, started).await;
        return None;
    }
    // The dialog's preview may be old: re-check the local refusals (last
    // serving region, already drained, …) against live state now.
    let now_refused = ctx.snapshots.as_ref().and_then(|rx| intent.action.preview(&rx.borrow()).err());
    // A key the backend already knows (a resumed runbook step) is followed
    // as before: its effect is why the preview refuses now.
    let known = match (&now_refused, ctx.provider(&intent.action)) {
        (Some(_), Some(p)) => matches!(p.lookup(&intent.key, &intent.action.request()).await, Ok(Some(_))),
        _ => false,
    };
    if let (Some(why), false) = (now_refused, known) {
        let why = format!("refused at send time: {why}");
        let shown = ctx.audited(&intent, "refused", "refused", &why);
        ctx.publish(&intent, ActionStatus::Refused, &shown, started).await;
        return None;
    }
    let target = intent.action.target();
    let busy = {
        let mut m = ctx.in_flight.lock().unwrap_or_else(|e| e.into_inner());
        match m.get(&target) {
            Some(other) => Some(other.clone()),
            None => {
                m.insert(target.clone(), (intent.action.summary(), intent.key.clone()));
                None
            }
        }
    };
    if let Some((other, other_key)) = busy {
        let why = format!("{other} is in flight on {target} (key {other_key}); wait for its outcome");
        let shown = ctx.audited(&intent, "refused", "refused", &why);
        ctx.publish(&intent, ActionStatus::Refused, &shown, started).await;
        return None;
    }
    let (status, message) = execute(ctx, &intent, started).await;
    ctx.in_flight.lock().unwrap_or_else(|e| e.into_inner()).remove(&target);
    let result = match status {
        ActionStatus::Succeeded => "succeeded",
        ActionStatus::Refused => "refused",
        _ => "failed",
    };
    if let Err(e) = ctx.audit(&intent, "outcome", result, &message) {
        ctx.publish(&intent, ActionStatus::Failed, &format!("{message}; audit write failed: {e}"), started).await;
        return None;
    }
    ctx.publish(&intent, status, &message, started).await;
    let changed = status == ActionStatus::Succeeded
        && intent.action.target_kind() == super::TargetKind::Database
        && !message.starts_with("already in effect");
    changed.then(|| (intent, started, (ctx.clock)(), message))
}

/// Longest the recovery stopwatch runs: twice the objective, within these.
const RECOVERY_WATCH_MIN: f64 = 120.0;
const RECOVERY_WATCH_MAX: f64 = 7200.0;

/// After a database's writer changed: the stopwatch runs on from the
/// confirm until every service using the cluster is healthy in every
/// serving region (on metrics observed after the new writer), and that
/// recovery time, against the tier's RTO, lands in the audit trail
/// (event `recovery`: `met`, `missed` or `unmeasured`) and the action log.
/// The action log's entry keeps the outcome after the recovery time, so
/// the row still says who writes now once the stopwatch stops.
async fn watch_recovery(ctx: &Ctx, intent: &Intent, started: DateTime<Utc>, writer_at: DateTime<Utc>, outcome: &str) {
    use crate::model::infra::{objective, recovery, Recovery};
    let Some(mut rx) = ctx.snapshots.clone() else { return };
    let request = intent.action.request();
    let database = request["database"].as_str().unwrap_or("").to_string();
    let obj = {
        let snap = rx.borrow();
        snap.fleet.databases.items().iter().find(|d| d.name == database).map(|d| objective(d, &snap))
    };
    let secs = |t: DateTime<Utc>| (t - started).num_milliseconds().max(0) as f64 / 1000.0;
    let words = crate::panes::dr::secs_words;
    let candidate = request["candidate"].as_str().unwrap_or("");
    let writer = format!("new writer {candidate} {} after confirm", words(secs(writer_at)));
    let limit = obj.map(|(_, o)| (o.rto_secs * 2.0).clamp(RECOVERY_WATCH_MIN, RECOVERY_WATCH_MAX));
    let deadline = tokio::time::Instant::now() + Duration::from_secs_f64(limit.unwrap_or(RECOVERY_WATCH_MIN));
    let (result, message, recovered) = loop {
        let state = recovery(&rx.borrow(), &database, writer_at);
        match (state, obj) {
            (Recovery::Healthy(services), Some((critical, o))) => {
                let now = (ctx.clock)();
                let rto = secs(now);
                let tier = if critical { "critical" } else { "standard" };
                let (result, verdict) = if rto <= o.rto_secs { ("met", "met") } else { ("missed", "MISSED") };
                break (
                    result,
                    format!(
                        "RTO {} ({tier} objective {}: {verdict}): {writer}, {} healthy in every serving region",
                        words(rto),
                        words(o.rto_secs),
                        services.join(", ")
                    ),
                    Some(now),
                );
            }
            (Recovery::NotMeasured(why), _) => {
                break ("unmeasured", format!("RTO to the writer only ({writer}): {why}"), None);
            }
            (Recovery::Healthy(_), None) => {
                let why = format!("{database} was not reported when the action ended");
                break ("unmeasured", format!("RTO to the writer only ({writer}): {why}"), None);
            }
            (Recovery::Waiting(what), _) if tokio::time::Instant::now() > deadline => {
                let waited = words(limit.unwrap_or(RECOVERY_WATCH_MIN));
                break ("missed", format!("services not healthy {waited} after confirm ({writer}): {what}"), None);
            }
            _ => {}
        }
        tokio::select! {
            _ = rx.changed() => {}
            _ = tokio::time::sleep(Duration::from_secs(1)) => {}
        }
    };
    let shown = ctx.audited(intent, "recovery", result, &message);
    let entry = ActionEntry {
        key: intent.key.clone(),
        summary: intent.action.summary(),
        operator: intent.operator.name.clone(),
        status: ActionStatus::Succeeded,
        message: format!("{shown} · {outcome}"),
        started_at: started,
        updated_at: writer_at,
        recovered_at: recovered,
    };
    let _ = ctx
        .updates
        .send(Update { source: None, feed: FeedId::Metrics, at: (ctx.clock)(), result: Ok(Payload::Action(entry)) })
        .await;
}

async fn execute(ctx: &Ctx, intent: &Intent, started: chrono::DateTime<chrono::Utc>) -> (ActionStatus, String) {
    let kind = intent.action.target_kind();
    let Some(provider) = ctx.provider(&intent.action).cloned() else {
        // Turned off on purpose is a refusal; nothing configured, a failure.
        let status = if ctx.routes.is_off(kind) { ActionStatus::Refused } else { ActionStatus::Failed };
        return (status, ctx.routes.why_not(kind));
    };
    let p = provider.as_ref();
    // No audit record, no request.
    if let Err(e) = ctx.audit(intent, "intent", "pending", "") {
        return (ActionStatus::Failed, format!("not sent: {e}"));
    }
    ctx.publish(intent, ActionStatus::InFlight, "sending", started).await;
    let mut last = String::new();
    for attempt in 1..=MAX_ATTEMPTS {
        match p.send(intent).await {
            Sent::Accepted(id) => {
                ctx.publish(intent, ActionStatus::InFlight, &format!("accepted as {id}"), started).await;
                return follow(p, ctx.follow_for, &id).await;
            }
            Sent::Refused(why) => return (ActionStatus::Refused, format!("refused by {}: {why}", p.owner())),
            Sent::Failed(why) => return (ActionStatus::Failed, why),
            Sent::Unknown(why) => {
                last = why;
                // The request may have landed: ask before sending again.
                match p.lookup(&intent.key, &intent.action.request()).await {
                    Ok(Some(id)) => return follow(p, ctx.follow_for, &id).await,
                    Ok(None) => {}
                    Err(e) => last = format!("{last}; {e}"),
                }
                let msg = format!("attempt {attempt} of {MAX_ATTEMPTS}: {last}; retrying with the same key");
                ctx.publish(intent, ActionStatus::InFlight, &msg, started).await;
                tokio::time::sleep(Duration::from_millis(300 * 2u64.pow(attempt - 1))).await;
            }
        }
    }
    (ActionStatus::Failed, format!("gave up after {MAX_ATTEMPTS} attempts: {last}"))
}
