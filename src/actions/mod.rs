//! The action catalog: every mutating operation is a value of `Action`, and
//! the only way to run one is the confirm gate and the executor.

pub mod alertmanager;
pub mod databases;
pub mod executor;
pub mod patroni;
pub mod provider;
pub mod rds;
pub mod resilience4j;
pub mod rollouts;
pub mod route53;
pub mod unleash;

use serde_json::{json, Value};

use crate::model::{CanaryPhase, Flag, RegionStatus, Snapshot, Tier};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Viewer,
    Operator,
}

impl Role {
    pub fn name(self) -> &'static str {
        match self {
            Role::Viewer => "viewer",
            Role::Operator => "operator",
        }
    }
}

/// Who is acting.
#[derive(Debug, Clone, PartialEq)]
pub struct Operator {
    pub name: String,
    pub role: Role,
}

impl Operator {
    /// The local user (`$USER`, `$LOGNAME`, or the passwd entry of our
    /// uid) as operator, unless `read_only`.
    pub fn local(read_only: bool) -> Operator {
        let name = ["USER", "LOGNAME"]
            .iter()
            .find_map(|v| std::env::var(v).ok().filter(|u| !u.is_empty()))
            .or_else(user_from_passwd)
            .unwrap_or_else(|| "unknown".into());
        Operator { name, role: if read_only { Role::Viewer } else { Role::Operator } }
    }
}

/// Name of the current uid from /etc/passwd (no libc needed).
fn user_from_passwd() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let uid = std::fs::metadata("/proc/self").ok()?.uid();
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let mut f = l.split(':');
        let name = f.next()?;
        let id: u32 = f.nth(1)?.parse().ok()?;
        (id == uid).then(|| name.to_string())
    })
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Blast {
    Low,
    High,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Action {
    Failover {
        region: String,
    },
    Restore {
        region: String,
    },
    Rollback {
        deployment: String,
    },
    Promote {
        deployment: String,
        full: bool,
    },
    Pause {
        deployment: String,
    },
    Resume {
        deployment: String,
    },
    /// Start an aborted canary again from its first step (Argo's retry).
    Retry {
        deployment: String,
    },
    /// Put an earlier revision's template back (Argo's undo).
    Undo {
        deployment: String,
        revision: String,
    },
    SetFlag {
        flag: String,
        environment: String,
        on: bool,
        /// Where the flag lives (`unleash:default`); empty: the one source
        /// that reports it (`Action::resolved` fills it in).
        source: String,
    },
    /// Set a flag's gradual rollout to `percent` (Unleash `flexibleRollout`
    /// `rollout`, keeping its stickiness, group and constraints).
    SetRollout {
        flag: String,
        environment: String,
        source: String,
        percent: u8,
    },
    /// A planned move of a database cluster's writer to `candidate`
    /// (Patroni `POST /switchover`): the writer is up and hands over.
    Switchover {
        database: String,
        candidate: String,
    },
    /// Promote `candidate` when the writer is gone (Patroni `POST
    /// /failover`). `break_glass` allows a candidate whose lag is over the
    /// cluster's limit: the data it has not received is lost.
    DbFailover {
        database: String,
        candidate: String,
        break_glass: bool,
    },
    /// Mute the alerts every matcher (`label = value`) catches, for a while
    /// (Alertmanager `POST /api/v2/silences`, `createdBy` = the operator).
    Silence {
        matchers: Vec<(String, String)>,
        duration_secs: u64,
        comment: String,
    },
    /// End a silence now (`DELETE /api/v2/silence/{id}`).
    ExpireSilence {
        id: String,
    },
    /// Move a silence's end to `until` (unix seconds).
    ExtendSilence {
        id: String,
        until: i64,
    },
    /// Set the breaker `to` on every instance of `from` in `region`
    /// (Resilience4j actuator `updateState`).
    SetBreaker {
        from: String,
        to: String,
        region: String,
        op: BreakerOp,
    },
}

/// What an operator may do to a breaker (the actuator's `updateState`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakerOp {
    /// FORCED_OPEN: every call is refused, whatever the rates.
    ForceOpen,
    /// CLOSED: calls flow; the breaker judges again from now.
    Close,
    /// DISABLED: calls flow and the breaker never opens.
    Disable,
}

impl BreakerOp {
    pub fn parse(s: &str) -> Option<BreakerOp> {
        match s {
            "force-open" => Some(BreakerOp::ForceOpen),
            "close" => Some(BreakerOp::Close),
            "disable" => Some(BreakerOp::Disable),
            _ => None,
        }
    }
    /// Its word on the command line.
    pub fn word(self) -> &'static str {
        match self {
            BreakerOp::ForceOpen => "force-open",
            BreakerOp::Close => "close",
            BreakerOp::Disable => "disable",
        }
    }
    /// The actuator's `updateState`.
    pub fn update_state(self) -> &'static str {
        match self {
            BreakerOp::ForceOpen => "FORCE_OPEN",
            BreakerOp::Close => "CLOSE",
            BreakerOp::Disable => "DISABLE",
        }
    }
    /// The state an instance is in once done.
    pub fn target(self) -> crate::model::CircuitState {
        match self {
            BreakerOp::ForceOpen => crate::model::CircuitState::ForcedOpen,
            BreakerOp::Close => crate::model::CircuitState::Closed,
            BreakerOp::Disable => crate::model::CircuitState::Disabled,
        }
    }
}

/// What the confirm dialog shows, or why the action is refused locally.
#[derive(Debug, Clone, PartialEq)]
pub struct Preview {
    pub title: String,
    /// Exact effect, one line per change, "before → after".
    pub effect: Vec<String>,
    pub blast: Blast,
    /// For high-blast actions, the name the operator must type.
    pub type_to_confirm: Option<String>,
}

/// The kinds of target an action acts on; each is owned by one provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum TargetKind {
    /// A region's share of traffic (failover, restore).
    Traffic,
    /// A rollout (rollback, promote, pause, resume).
    Rollout,
    /// A feature flag.
    Flag,
    /// A database cluster's writer (switchover, failover). Owned by the
    /// cluster's own source (Patroni), never by the control plane.
    Database,
    /// Alert silences. Owned by Alertmanager, never by the control plane.
    Alert,
    /// Per-instance circuit breakers (Resilience4j actuators).
    Circuit,
}

impl TargetKind {
    pub const ALL: [TargetKind; 3] = [TargetKind::Traffic, TargetKind::Rollout, TargetKind::Flag];

    /// Its key in `[actions]`.
    pub fn key(self) -> &'static str {
        match self {
            TargetKind::Traffic => "traffic",
            TargetKind::Rollout => "rollout",
            TargetKind::Flag => "flag",
            TargetKind::Database => "database",
            TargetKind::Alert => "alert",
            TargetKind::Circuit => "circuit",
        }
    }
}

impl Action {
    /// Which kind of target it acts on (and so which provider sends it).
    pub fn target_kind(&self) -> TargetKind {
        match self {
            Action::Failover { .. } | Action::Restore { .. } => TargetKind::Traffic,
            Action::Rollback { .. }
            | Action::Promote { .. }
            | Action::Pause { .. }
            | Action::Resume { .. }
            | Action::Retry { .. }
            | Action::Undo { .. } => TargetKind::Rollout,
            Action::SetFlag { .. } | Action::SetRollout { .. } => TargetKind::Flag,
            Action::Switchover { .. } | Action::DbFailover { .. } => TargetKind::Database,
            Action::Silence { .. } | Action::ExpireSilence { .. } | Action::ExtendSilence { .. } => TargetKind::Alert,
            Action::SetBreaker { .. } => TargetKind::Circuit,
        }
    }

    /// The action with what the snapshot knows filled in: a flag action
    /// that names no source gets the one source that reports the flag.
    pub fn resolved(self, snap: &Snapshot) -> Action {
        match self {
            Action::SetFlag { flag, environment, on, source } if source.is_empty() => {
                let source = find_flag(snap, &flag, &environment, "").map(|f| f.source.clone()).unwrap_or_default();
                Action::SetFlag { flag, environment, on, source }
            }
            Action::SetRollout { flag, environment, percent, source } if source.is_empty() => {
                let source = find_flag(snap, &flag, &environment, "").map(|f| f.source.clone()).unwrap_or_default();
                Action::SetRollout { flag, environment, percent, source }
            }
            other => other,
        }
    }

    /// Whether this (resolved) action is what `template` asks for: equal,
    /// except that a template naming no flag source matches any source.
    pub fn matches_template(&self, template: &Action) -> bool {
        match (self, template) {
            (
                Action::SetFlag { flag, environment, on, source },
                Action::SetFlag { flag: f, environment: e, on: o, source: s },
            ) => flag == f && environment == e && on == o && (s.is_empty() || s == source),
            (
                Action::SetRollout { flag, environment, percent, source },
                Action::SetRollout { flag: f, environment: e, percent: p, source: s },
            ) => flag == f && environment == e && percent == p && (s.is_empty() || s == source),
            (a, t) => a == t,
        }
    }

    /// The target, used to refuse a second action on it while one is in flight.
    pub fn target(&self) -> String {
        match self {
            Action::Failover { region } | Action::Restore { region } => format!("region {region}"),
            Action::Rollback { deployment }
            | Action::Promote { deployment, .. }
            | Action::Pause { deployment }
            | Action::Resume { deployment }
            | Action::Retry { deployment }
            | Action::Undo { deployment, .. } => format!("deployment {deployment}"),
            Action::SetFlag { flag, environment, .. } | Action::SetRollout { flag, environment, .. } => {
                format!("flag {flag}/{environment}")
            }
            Action::Switchover { database, .. } | Action::DbFailover { database, .. } => {
                format!("database {database}")
            }
            Action::Silence { matchers, .. } => format!("silence {}", matchers_words(matchers)),
            Action::ExpireSilence { id } | Action::ExtendSilence { id, .. } => format!("silence {id}"),
            Action::SetBreaker { from, to, region, .. } => format!("breaker {from}→{to} in {region}"),
        }
    }

    pub fn summary(&self) -> String {
        match self {
            Action::Failover { region } => format!("fail over {region}"),
            Action::Restore { region } => format!("restore {region}"),
            Action::Rollback { deployment } => format!("roll back {deployment}"),
            Action::Promote { deployment, full: false } => format!("promote {deployment}"),
            Action::Promote { deployment, full: true } => format!("promote {deployment} fully"),
            Action::Pause { deployment } => format!("pause {deployment}"),
            Action::Resume { deployment } => format!("resume {deployment}"),
            Action::Retry { deployment } => format!("retry {deployment}"),
            Action::Undo { deployment, revision } => format!("undo {deployment} to revision {revision}"),
            Action::SetFlag { flag, environment, on, .. } => {
                format!("turn {flag} {} in {environment}", if *on { "on" } else { "off" })
            }
            Action::SetRollout { flag, environment, percent, .. } => {
                format!("roll {flag} out to {percent}% in {environment}")
            }
            Action::Switchover { database, candidate } => format!("switch {database} over to {candidate}"),
            Action::DbFailover { database, candidate, break_glass } => {
                let bg = if *break_glass { " (break-glass: data loss allowed)" } else { "" };
                format!("fail {database} over to {candidate}{bg}")
            }
            Action::Silence { matchers, duration_secs, .. } => {
                format!(
                    "silence {} for {}",
                    matchers_words(matchers),
                    crate::panes::dr::secs_words(*duration_secs as f64)
                )
            }
            Action::ExpireSilence { id } => format!("expire silence {id}"),
            Action::ExtendSilence { id, until } => format!("extend silence {id} to {}", utc_words(*until)),
            Action::SetBreaker { from, to, region, op } => format!("{} breaker {from}→{to} in {region}", op.word()),
        }
    }

    /// Role needed to run it.
    pub fn required_role(&self) -> Role {
        Role::Operator
    }

    /// Endpoint body (POST /v1/actions).
    pub fn request(&self) -> Value {
        match self {
            Action::Failover { region } => json!({"kind": "failover", "region": region}),
            Action::Restore { region } => json!({"kind": "restore", "region": region}),
            Action::Rollback { deployment } => json!({"kind": "rollback", "deployment": deployment}),
            Action::Promote { deployment, full } => {
                json!({"kind": if *full { "promoteFull" } else { "promote" }, "deployment": deployment})
            }
            Action::Pause { deployment } => json!({"kind": "pause", "deployment": deployment}),
            Action::Resume { deployment } => json!({"kind": "resume", "deployment": deployment}),
            Action::Retry { deployment } => json!({"kind": "retry", "deployment": deployment}),
            Action::Undo { deployment, revision } => {
                json!({"kind": "undo", "deployment": deployment, "revision": revision})
            }
            Action::SetFlag { flag, environment, on, source } => {
                let mut v =
                    json!({"kind": if *on { "flagOn" } else { "flagOff" }, "flag": flag, "environment": environment});
                // The control plane's body stays as it always was.
                if !source.is_empty() && source != "control-plane" {
                    v["source"] = json!(source);
                }
                v
            }
            Action::SetRollout { flag, environment, source, percent } => {
                json!({"kind": "flagRollout", "flag": flag, "environment": environment, "source": source, "percent": percent})
            }
            Action::Switchover { database, candidate } => {
                json!({"kind": "switchover", "database": database, "candidate": candidate})
            }
            Action::DbFailover { database, candidate, break_glass } => {
                json!({"kind": "dbFailover", "database": database, "candidate": candidate, "breakGlass": break_glass})
            }
            Action::Silence { matchers, duration_secs, comment } => {
                json!({"kind": "silence", "matchers": matchers, "durationSecs": duration_secs, "comment": comment})
            }
            Action::ExpireSilence { id } => json!({"kind": "expireSilence", "id": id}),
            Action::ExtendSilence { id, until } => json!({"kind": "extendSilence", "id": id, "until": until}),
            Action::SetBreaker { from, to, region, op } => {
                json!({"kind": "breaker", "from": from, "to": to, "region": region, "updateState": op.update_state()})
            }
        }
    }

    /// The exact effect against the current snapshot, or the reason the
    /// server would refuse (so it is refused here first).
    pub fn preview(&self, snap: &Snapshot) -> Result<Preview, String> {
        match self {
            Action::Failover { region } => preview_failover(snap, region),
            Action::Restore { region } => preview_restore(snap, region),
            Action::SetFlag { flag, environment, on, source } => {
                let f = find_flag(snap, flag, environment, source)?;
                if f.enabled == *on {
                    return Err(format!("{flag} is already {} in {environment}", on_off(*on)));
                }
                let mut effect = vec![format!("{flag} ({environment}): {} → {}", on_off(f.enabled), on_off(*on))];
                effect.extend(flag_context(f));
                Ok(Preview {
                    title: format!("Turn {flag} {} in {environment}?", on_off(*on)),
                    effect,
                    blast: Blast::Low,
                    type_to_confirm: None,
                })
            }
            Action::SetRollout { flag, environment, source, percent } => {
                preview_rollout(find_flag(snap, flag, environment, source)?, *percent)
            }
            Action::Rollback { deployment }
            | Action::Promote { deployment, .. }
            | Action::Pause { deployment }
            | Action::Resume { deployment }
            | Action::Retry { deployment } => preview_deployment(self, snap, deployment),
            Action::Undo { deployment, revision } => preview_undo(snap, deployment, revision),
            Action::Switchover { database, candidate } => preview_database(snap, database, candidate, None),
            Action::DbFailover { database, candidate, break_glass } => {
                preview_database(snap, database, candidate, Some(*break_glass))
            }
            Action::Silence { matchers, duration_secs, comment } => {
                preview_silence(snap, matchers, *duration_secs, comment)
            }
            Action::ExpireSilence { id } => {
                let s = silence(snap, id)?;
                let ends = format!("ends: {} → now; the alerts it mutes notify again", until_words(s.ends_at));
                Ok(silence_preview(format!("Expire silence {id}?"), s, ends))
            }
            Action::SetBreaker { from, to, region, op } => preview_breaker(snap, from, to, region, *op),
            Action::ExtendSilence { id, until } => {
                let s = silence(snap, id)?;
                if s.ends_at.is_some_and(|e| e.timestamp() >= *until) {
                    return Err(format!("silence {id} already ends at {}", until_words(s.ends_at)));
                }
                let ends = format!("ends: {} → {}", until_words(s.ends_at), utc_words(*until));
                Ok(silence_preview(format!("Extend silence {id}?"), s, ends))
            }
        }
    }
}

/// `alertname="X", region="Y"`.
pub fn matchers_words(matchers: &[(String, String)]) -> String {
    equality_matchers(matchers).iter().map(crate::model::Matcher::words).collect::<Vec<_>>().join(", ")
}

/// `label = value` pairs as Alertmanager equality matchers.
fn equality_matchers(matchers: &[(String, String)]) -> Vec<crate::model::Matcher> {
    matchers
        .iter()
        .map(|(k, v)| crate::model::Matcher { name: k.clone(), value: v.clone(), is_regex: false, is_equal: true })
        .collect()
}

fn utc_words(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_default()
}

fn until_words(t: Option<chrono::DateTime<chrono::Utc>>) -> String {
    t.map(|t| utc_words(t.timestamp())).unwrap_or_else(|| "?".into())
}

/// An existing silence's dialog: what it mutes, whose it is, its end.
fn silence_preview(title: String, s: &crate::model::Silence, ends: String) -> Preview {
    Preview {
        title,
        effect: vec![
            format!("matchers: {}", s.matchers_words()),
            format!("by {}: {}", s.created_by, alertmanager::untagged(&s.comment)),
            ends,
        ],
        blast: Blast::Low,
        type_to_confirm: None,
    }
}

fn silence<'a>(snap: &'a Snapshot, id: &str) -> Result<&'a crate::model::Silence, String> {
    snap.fleet.silences.iter().find(|s| s.id == id).ok_or_else(|| format!("no active silence {id}"))
}

/// What setting a breaker on every instance does: how many instances
/// change, from which states, and what that means for the calls.
fn preview_breaker(snap: &Snapshot, from: &str, to: &str, region: &str, op: BreakerOp) -> Result<Preview, String> {
    let c = snap
        .fleet
        .circuits
        .items()
        .iter()
        .find(|c| c.from == from && c.to == to && c.region == region)
        .ok_or_else(|| format!("no breaker {from}→{to} in {region}"))?;
    let inst = c.instances.as_ref().ok_or_else(|| {
        format!("{from}→{to} is not reported per instance: breakers are set through [resilience4j] actuators")
    })?;
    let target = op.target();
    let already: u32 = inst.by_state.iter().filter(|(s, _)| *s == target).map(|(_, n)| n).sum();
    let change = inst.total - already;
    if change == 0 {
        return Err(format!("{from}→{to} in {region} is already {} on all {} instances", target.word(), inst.total));
    }
    let before: Vec<String> =
        inst.by_state.iter().filter(|(s, _)| *s != target).map(|(s, n)| format!("{n} {}", s.word())).collect();
    let meaning = match op {
        BreakerOp::ForceOpen => format!("every call from {from} to {to} in {region} is refused until closed"),
        BreakerOp::Close => format!("calls flow again; the breakers judge {to} afresh"),
        BreakerOp::Disable => format!("calls flow and the breakers never open, however {to} fails"),
    };
    Ok(Preview {
        title: format!(
            "{} {from}→{to} in {region} on {change} of {} instances?",
            match op {
                BreakerOp::ForceOpen => "Force open",
                BreakerOp::Close => "Close",
                BreakerOp::Disable => "Disable",
            },
            inst.total
        ),
        effect: vec![
            format!(
                "{} → {} on {change} instance{}",
                before.join(", "),
                target.word(),
                if change == 1 { "" } else { "s" }
            ),
            format!("{already} already {}", target.word()),
            meaning,
            "sent to each instance's actuator; the outcome lists every instance".to_string(),
        ],
        blast: if op == BreakerOp::Close { Blast::Low } else { Blast::High },
        type_to_confirm: (op != BreakerOp::Close).then(|| to.to_string()),
    })
}

/// Longest silence the console sets: a silence nobody remembers is an
/// outage nobody hears about.
pub const MAX_SILENCE_SECS: u64 = 7 * 86_400;

/// What a silence mutes: the matchers, the firing alerts they catch now
/// (drop a label to widen it), until when, and why.
fn preview_silence(
    snap: &Snapshot,
    matchers: &[(String, String)],
    secs: u64,
    comment: &str,
) -> Result<Preview, String> {
    if matchers.is_empty() {
        return Err("a silence needs at least one label = value matcher".into());
    }
    if comment.trim().is_empty() {
        return Err("a silence needs a comment: say why (after --)".into());
    }
    if secs == 0 || secs > MAX_SILENCE_SECS {
        return Err(format!("a silence lasts from 1s to {}", crate::panes::dr::secs_words(MAX_SILENCE_SECS as f64)));
    }
    let ms = equality_matchers(matchers);
    let caught = crate::model::caught(snap.fleet.alerts.items(), &ms);
    let mut names: Vec<String> = caught
        .iter()
        .map(|a| match (&a.service, &a.region) {
            (Some(s), Some(r)) => format!("{} {s}/{r}", a.name),
            (None, Some(r)) => format!("{} {r}", a.name),
            _ => a.name.clone(),
        })
        .collect();
    names.sort();
    names.dedup();
    let more = names.len().saturating_sub(4);
    names.truncate(4);
    let list = if more > 0 { format!("{} (+{more} more)", names.join(", ")) } else { names.join(", ") };
    let n = caught.len();
    let s = if n == 1 { "" } else { "s" };
    Ok(Preview {
        title: format!("Silence {n} firing alert{s}?"),
        effect: vec![
            format!("matchers: {}", matchers_words(matchers)),
            if n == 0 {
                "catches no firing alert now (it will mute future ones that match)".to_string()
            } else {
                format!("catches {n} firing alert{s} now: {list}")
            },
            // Not the clock time: a line that moves every minute would
            // disarm the dialog while it is read.
            format!("for {} from the confirm", crate::panes::dr::secs_words(secs as f64)),
            format!("comment: {comment}"),
            "sent to Alertmanager; drop a label on the command line to widen it".to_string(),
        ],
        // Many alerts at once: read it before confirming.
        blast: if n > 10 { Blast::High } else { Blast::Low },
        type_to_confirm: None,
    })
}

/// `b` rounded up to a power of two, in words (`0 B`, `256 KiB`).
fn bytes_bound(b: u64) -> String {
    if b == 0 {
        return "0 B".into();
    }
    crate::model::infra::bytes_words(b.checked_next_power_of_two().unwrap_or(u64::MAX))
}

/// Seconds rounded up to a step people read (1, 2, 5, 10, 30 s, 1, 2, 5,
/// 10, 30 min, then hours).
fn secs_bound(s: f64) -> String {
    const STEPS: [f64; 10] = [1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0];
    match STEPS.iter().find(|x| s <= **x) {
        Some(x) if *x < 60.0 => format!("{x:.0} s"),
        Some(x) => format!("{:.0} min", x / 60.0),
        None => format!("{:.0} h", (s / 3600.0).ceil()),
    }
}

/// What a database action does: who writes before → after, where, the
/// data the candidate has not received (lost if the old writer never comes
/// back), and refusals — a switchover needs a writer up, a failover needs
/// it gone, and a candidate over the cluster's lag limit needs break-glass.
/// `failover`: `None` for a switchover, else whether break-glass was asked.
fn preview_database(snap: &Snapshot, name: &str, candidate: &str, failover: Option<bool>) -> Result<Preview, String> {
    let db = snap
        .fleet
        .databases
        .items()
        .iter()
        .find(|d| d.name == name)
        .ok_or_else(|| format!("database {name} is not known"))?;
    let c = db.member(candidate).ok_or_else(|| format!("{candidate} is not a member of {name}"))?;
    let at = |m: &crate::model::DbMember| m.region.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
    if c.role == crate::model::DbRole::Writer {
        return Err(format!("{candidate} is already the writer of {name}"));
    }
    if !c.up {
        return Err(format!("{candidate} is not streaming (state {}): it cannot take over", c.state));
    }
    let writer = db.writer();
    let from = match (failover, writer) {
        (None, None) => {
            return Err(format!("{name} has no writer up: a switchover needs one to hand over; use a failover"))
        }
        (Some(_), Some(w)) => return Err(format!("{name}'s writer {} is up: use a switchover (no data lost)", w.name)),
        (None, Some(w)) => format!("{}{}", w.name, at(w)),
        (Some(_), None) => match db.writer_member() {
            Some(w) => format!("{}{} ({})", w.name, at(w), if w.state.is_empty() { "down" } else { &w.state }),
            None => "none".to_string(),
        },
    };
    // As a bound that moves only when the lag crosses a power of two (or
    // a step of seconds): a lag that wobbles every poll must not disarm
    // the dialog on every frame, and the bound is what the decision needs.
    let lag = match (c.lag_bytes, c.lag_seconds) {
        (Some(b), Some(s)) => format!("up to {} / {}", bytes_bound(b), secs_bound(s)),
        (Some(b), None) => format!("up to {}", bytes_bound(b)),
        (None, Some(s)) => format!("up to {}", secs_bound(s)),
        (None, None) => "unknown".to_string(),
    };
    let rpo = crate::model::infra::objective(db, snap).1.rpo_secs;
    let over = match (c.lag_bytes, db.max_lag_bytes, c.lag_seconds) {
        (Some(b), Some(max), _) => b > max,
        // Seconds only (RDS/Aurora from CloudWatch): against the tier's RPO.
        (None, _, Some(secs)) => secs > rpo,
        // Unknown lag on a failover: nobody can say what is lost.
        (None, _, None) => failover.is_some(),
        _ => false,
    };
    // Bytes against Patroni's limit; otherwise the tier's RPO is the limit
    // the decision is made against.
    let limit = match db.max_lag_bytes {
        Some(b) => crate::model::infra::bytes_words(b),
        None => format!("RPO {}", crate::panes::dr::secs_words(rpo)),
    };
    let mut effect = vec![
        format!("writer: {from} → {candidate}{}", at(c)),
        match failover {
            None => format!("lag of {candidate}: {lag} (the writer waits for it: nothing is lost)"),
            Some(_) => format!("data at risk: {lag} not on {candidate} (limit {limit})"),
        },
    ];
    if !db.services.is_empty() {
        let what = if failover.is_some() { "writes resume for" } else { "writes pause for" };
        effect.push(format!("{what}: {}", db.services.join(", ")));
    }
    if db.global {
        effect.push(format!(
            "sent to {} as {}",
            db.source,
            match failover {
                None => "SwitchoverGlobalCluster (the primary waits for the target to catch up)",
                Some(_) => "FailoverGlobalCluster with AllowDataLoss",
            }
        ));
    } else {
        effect.push(format!("sent to {}", db.source));
    }
    match failover {
        // Aurora promotes the target with whatever it has: never without
        // the operator saying, in words, that the rest may be lost.
        Some(false) if db.global => Err(format!(
            "failing {name} over to {candidate} loses what {candidate} has not received ({lag}): fail over with break-glass to accept that"
        )),
        None if over => Err(format!(
            "{candidate}'s lag {lag} is over {name}'s limit ({limit}): the backend would not pick it; wait for it to catch up"
        )),
        Some(false) if over => Err(format!(
            "{candidate}'s lag {lag} is over {name}'s limit ({limit}): fail over with break-glass to accept the loss"
        )),
        Some(true) => {
            effect.push(format!("BREAK-GLASS: what {candidate} has not received is lost"));
            Ok(Preview {
                title: format!("Fail {name} over to {candidate}, accepting data loss?"),
                effect,
                blast: Blast::High,
                type_to_confirm: Some(format!("{name} lose data")),
            })
        }
        _ => Ok(Preview {
            title: match failover {
                None => format!("Switch {name} over to {candidate}?"),
                Some(_) => format!("Fail {name} over to {candidate}?"),
            },
            effect,
            blast: Blast::High,
            type_to_confirm: Some(name.to_string()),
        }),
    }
}

/// The flag an action names: by name and environment, and by source when
/// the action names one (two sources may report the same name).
fn find_flag<'a>(snap: &'a Snapshot, flag: &str, environment: &str, source: &str) -> Result<&'a Flag, String> {
    let all: Vec<&Flag> = snap
        .fleet
        .flags
        .items()
        .iter()
        .filter(|f| f.name == flag && f.environment == environment && (source.is_empty() || f.source == source))
        .collect();
    match all.as_slice() {
        [] if source.is_empty() => Err(format!("flag {flag} in {environment} is not known")),
        [] => Err(format!("flag {flag} in {environment} is not known to {source}")),
        [one] => Ok(one),
        many => {
            let names: Vec<&str> = many.iter().map(|f| f.source.as_str()).collect();
            Err(format!(
                "{flag} in {environment} is reported by {}: name the source (flag {flag} {environment} on|off SOURCE)",
                names.join(" and ")
            ))
        }
    }
}

/// The lines a flag preview adds: where it lives, who it reaches, who
/// changed it last.
fn flag_context(f: &Flag) -> Vec<String> {
    let mut v = Vec::new();
    if !f.source.is_empty() {
        v.push(format!("lives in {}", f.source));
    }
    if !f.rollout.is_empty() {
        v.push(format!("rollout: {}", f.rollout));
    }
    if !f.constraints.is_empty() {
        v.push(format!("limited to: {} (kept)", f.constraints));
    }
    if let Some((who, at)) = &f.changed {
        v.push(format!("last changed by {who} at {}", utc_words(at.timestamp())));
    }
    v
}

/// A gradual rollout's new percentage: refused where there is no single
/// rollout to change, for a no-op, and past 100.
fn preview_rollout(f: &Flag, percent: u8) -> Result<Preview, String> {
    let (flag, environment) = (&f.name, &f.environment);
    if percent > 100 {
        return Err(format!("{percent}% is not a percentage (0–100)"));
    }
    if f.from_control_plane() {
        return Err(format!(
            "{flag} lives in warroom's control plane, which has no rollout percentage; gradual rollouts are changed in Unleash"
        ));
    }
    let Some(now) = f.percent else {
        let what = if f.rollout.is_empty() { "none".to_string() } else { f.rollout.clone() };
        return Err(format!("{flag} in {environment} has no single gradual rollout to change (its rollout: {what})"));
    };
    if now == percent {
        return Err(format!("{flag} is already rolled out to {percent}% in {environment}"));
    }
    let mut effect = vec![format!("{flag} ({environment}): {now}% → {percent}%")];
    if !f.enabled {
        effect.push(format!("{flag} is OFF in {environment}: nobody gets it until it is turned on"));
    }
    effect.extend(flag_context(f));
    Ok(Preview {
        title: format!("Roll {flag} out to {percent}% in {environment}?"),
        effect,
        blast: Blast::Low,
        type_to_confirm: None,
    })
}

/// The next step of a gradual rollout (10 → 25 → 50 → 100).
pub fn next_rollout_step(now: u8) -> u8 {
    [1, 5, 10, 25, 50, 100].into_iter().find(|s| *s > now).unwrap_or(100)
}

fn on_off(on: bool) -> &'static str {
    if on {
        "ON"
    } else {
        "OFF"
    }
}

fn pct(x: f64) -> String {
    if (x - x.round()).abs() < 0.05 {
        format!("{x:.0}%")
    } else {
        format!("{x:.1}%")
    }
}

/// Weights after draining `r`, as the control plane computes them: its
/// share goes to the others in proportion to their weight.
pub fn drained_weights(weights: &[f64], r: usize) -> Option<Vec<f64>> {
    let others: f64 = weights.iter().enumerate().filter(|(i, _)| *i != r).map(|(_, w)| *w).sum();
    (others > 0.0).then(|| {
        weights.iter().enumerate().map(|(i, w)| if i == r { 0.0 } else { w + weights[r] * w / others }).collect()
    })
}

fn preview_failover(snap: &Snapshot, region: &str) -> Result<Preview, String> {
    let regions = snap.fleet.regions.items();
    let r = regions.iter().position(|x| x.name == region).ok_or_else(|| format!("region {region} is not known"))?;
    if regions[r].weight <= 0.0 {
        return Err(format!("{region} is already drained"));
    }
    let serving_elsewhere =
        regions.iter().enumerate().any(|(i, x)| i != r && x.weight > 0.0 && x.status != RegionStatus::Down);
    if !serving_elsewhere {
        return Err(format!("{region} is the last region serving traffic"));
    }
    let weights: Vec<f64> = regions.iter().map(|x| x.weight).collect();
    let after = drained_weights(&weights, r).ok_or_else(|| format!("{region} is the last region serving traffic"))?;
    let effect = regions
        .iter()
        .zip(weights.iter().zip(&after))
        .map(|(x, (b, a))| {
            // A region's state is part of the effect: if one goes down while
            // the dialog is open, the preview changes and Confirm disarms.
            let state = if x.status == RegionStatus::Down { "  (DOWN)" } else { "" };
            format!("{:<16} {:>6} → {:>6}{state}", x.name, pct(*b), pct(*a))
        })
        .collect();
    let mut effect: Vec<String> = effect;
    via_route53(snap, &mut effect);
    Ok(Preview {
        title: format!("Fail over {region}: drain all its traffic?"),
        effect,
        blast: Blast::High,
        type_to_confirm: Some(region.to_string()),
    })
}

/// Where a traffic change goes, when it is not the control plane.
fn via_route53(snap: &Snapshot, effect: &mut Vec<String>) {
    if !snap.fleet.traffic.items().is_empty() {
        effect.push("weights as Route 53 holds them (its weighted records)".into());
    }
}

fn preview_restore(snap: &Snapshot, region: &str) -> Result<Preview, String> {
    let regions = snap.fleet.regions.items();
    let r = regions.iter().position(|x| x.name == region).ok_or_else(|| format!("region {region} is not known"))?;
    if regions[r].base_weight.is_none() && regions[r].weight <= 0.0 {
        return Err(format!(
            "{region} is drained and the share to give back is unknown (no earlier failover recorded: set restore_weight)"
        ));
    }
    let base: Vec<f64> = regions.iter().map(|x| x.base_weight.unwrap_or(x.weight)).collect();
    if (regions[r].weight - base[r]).abs() < 0.05 {
        return Err(format!("{region} is not drained (traffic {})", pct(regions[r].weight)));
    }
    let want = base[r] - regions[r].weight;
    let others: f64 = regions.iter().enumerate().filter(|(i, _)| *i != r).map(|(_, x)| x.weight).sum();
    let effect = regions
        .iter()
        .enumerate()
        .map(|(i, x)| {
            let after = if i == r {
                base[r]
            } else if others > 0.0 {
                x.weight - want * x.weight / others
            } else {
                x.weight
            };
            format!("{:<16} {:>6} → {:>6}", x.name, pct(x.weight), pct(after))
        })
        .collect();
    let mut effect: Vec<String> = effect;
    via_route53(snap, &mut effect);
    Ok(Preview {
        title: format!("Restore {region} to its normal traffic share?"),
        effect,
        blast: Blast::Low,
        type_to_confirm: None,
    })
}

/// `v1.8 (registry/app:v1.8)`.
fn colour_words(c: &crate::model::Colour) -> String {
    let ready = c.ready.map(|(r, d)| format!(", {r}/{d} ready")).unwrap_or_default();
    if c.image.is_empty() {
        format!("revision {}{ready}", c.revision)
    } else {
        format!("revision {} ({}{ready})", c.revision, c.image)
    }
}

/// A blue-green promote switches the active service to the preview colour
/// (the old one keeps running for the scale-down delay: the instant
/// switch-back window); a rollback switches back while it runs.
fn preview_blue_green(
    action: &Action,
    d: &crate::model::Deployment,
    bg: &crate::model::BlueGreen,
    critical: bool,
) -> Result<Preview, String> {
    let id = &d.id;
    let window = crate::panes::dr::secs_words(bg.scale_down_secs as f64);
    match action {
        Action::Promote { .. } | Action::Resume { .. } => {
            let Some(p) = &bg.preview else {
                return Err(format!("{id}: no preview colour waiting ({} serves)", colour_words(&bg.active)));
            };
            if bg.pre_analysis.as_deref().is_some_and(|a| a != "Successful") {
                let a = bg.pre_analysis.as_deref().unwrap_or("");
                return Err(format!("{id}: the preview's pre-promotion analysis is {a}, not Successful"));
            }
            if let Some((r, want)) = p.ready.filter(|(r, want)| r < want) {
                return Err(format!("{id}: the preview has {r}/{want} replicas ready"));
            }
            Ok(Preview {
                title: format!("Switch {id} to the preview colour?"),
                effect: vec![
                    format!("starts serving: {} (behind {})", colour_words(p), bg.active_service),
                    format!("keeps running for {window}: {} — switch back is instant until then", colour_words(&bg.active)),
                    "post-promotion analysis runs after the switch".into(),
                ],
                blast: if critical { Blast::High } else { Blast::Low },
                type_to_confirm: critical.then(|| d.service.clone()),
            })
        }
        Action::Rollback { .. } => match &bg.previous {
            Some(prev) => Ok(Preview {
                title: format!("Switch {id} back?"),
                effect: vec![
                    format!("starts serving again: {} (still running)", colour_words(prev)),
                    format!("stops serving: {}", colour_words(&bg.active)),
                    "phase → Aborted".into(),
                ],
                blast: if critical { Blast::High } else { Blast::Low },
                type_to_confirm: critical.then(|| d.service.clone()),
            }),
            None if bg.preview.is_some() && d.phase != CanaryPhase::Aborted => Ok(Preview {
                title: format!("Abort {id}'s preview colour?"),
                effect: vec![
                    format!("{} keeps serving", colour_words(&bg.active)),
                    format!("the preview {} is dropped", bg.preview.as_ref().map(colour_words).unwrap_or_default()),
                ],
                blast: Blast::Low,
                type_to_confirm: None,
            }),
            None => Err(format!(
                "{id}: the old colour is no longer running, so there is no instant switch back (deploy the old revision again)"
            )),
        },
        _ => Err(format!("{id} is blue-green: promote switches, rollback switches back")),
    }
}

fn find_deployment<'a>(snap: &'a Snapshot, id: &str) -> Result<&'a crate::model::Deployment, String> {
    snap.fleet.deployments.items().iter().find(|d| d.id == id).ok_or_else(|| format!("deployment {id} is not known"))
}

/// Undo to a revision: what comes back and what it replaces.
fn preview_undo(snap: &Snapshot, id: &str, revision: &str) -> Result<Preview, String> {
    let d = find_deployment(snap, id)?;
    if d.revisions.is_empty() {
        return Err(format!(
            "{id}'s source lists no revisions to undo to (undo needs Argo Rollouts' ReplicaSets: [kubernetes])"
        ));
    }
    let Some(r) = d.revisions.iter().find(|r| r.revision == revision) else {
        let known: Vec<&str> = d.revisions.iter().map(|r| r.revision.as_str()).collect();
        return Err(format!("{id} has no revision {revision} (it has {})", known.join(", ")));
    };
    let template = d.canary_revision.as_deref().unwrap_or(&d.stable_revision);
    if revision == template {
        return Err(format!("revision {revision} is already {id}'s template"));
    }
    let critical = snap.fleet.services.items().iter().any(|s| s.name == d.service && s.tier == Tier::Critical);
    let image = if r.image.is_empty() { String::new() } else { format!(" ({})", r.image) };
    let mut effect = vec![format!("template: revision {template} → revision {revision}{image}")];
    let old_colour = d.blue_green.as_ref().and_then(|bg| bg.previous.as_ref()).is_some_and(|p| p.revision == revision);
    if old_colour {
        effect.push(format!("revision {revision} still runs: the active service goes back to it at once"));
    } else if revision == d.stable_revision {
        effect.push(format!("the canary of revision {template} is dropped; revision {revision} keeps serving"));
        effect.push("nothing new rolls out: the rollout is complete at once".into());
    } else {
        effect.push(format!(
            "revision {revision} rolls out again as a new canary from step 1 ({}/{} of its pods ready now)",
            r.ready, r.replicas
        ));
        effect.push(format!("revision {} keeps serving until it is promoted", d.stable_revision));
    }
    Ok(Preview {
        title: format!("Undo {id} to revision {revision}?"),
        effect,
        blast: Blast::High,
        type_to_confirm: critical.then(|| d.service.clone()),
    })
}

fn preview_deployment(action: &Action, snap: &Snapshot, id: &str) -> Result<Preview, String> {
    let d = find_deployment(snap, id)?;
    let phase = format!("{:?}", d.phase);
    let critical = snap.fleet.services.items().iter().any(|s| s.name == d.service && s.tier == Tier::Critical);
    let canary = d.canary_revision.clone().unwrap_or_else(|| "?".into());
    let next_weight = d.steps.get(d.step_index + 1).copied();
    if let Some(bg) = &d.blue_green {
        return preview_blue_green(action, d, bg, critical);
    }
    match action {
        Action::Rollback { .. } => {
            if !matches!(d.phase, CanaryPhase::Progressing | CanaryPhase::Paused | CanaryPhase::Degraded) {
                return Err(format!("{id} has no canary in flight (phase {phase})"));
            }
            Ok(Preview {
                title: format!("Roll back the canary of {id}?"),
                effect: vec![
                    format!("canary weight {} → 0%", pct(d.weight)),
                    format!("phase {phase} → Aborted"),
                    format!("revision {canary} abandoned; {} keeps serving", d.stable_revision),
                ],
                blast: if critical { Blast::High } else { Blast::Low },
                type_to_confirm: critical.then(|| d.service.clone()),
            })
        }
        Action::Promote { full, .. } => {
            if !matches!(d.phase, CanaryPhase::Progressing | CanaryPhase::Paused) {
                return Err(format!("{id} is not promotable in phase {phase}"));
            }
            let effect = match (full, next_weight) {
                // A step promote holds at the next step until promoted again.
                (false, Some(w)) => vec![
                    format!("canary weight {} → {}", pct(d.weight), pct(w)),
                    format!("step {}/{} → {}/{}", d.step_index + 1, d.step_total, d.step_index + 2, d.step_total),
                    format!("phase {phase} → Paused (waits at the new step for the next promote)"),
                ],
                _ => vec![
                    format!("canary weight {} → 100% (promoted)", pct(d.weight)),
                    format!("phase {phase} → Healthy"),
                    format!("revision {canary} becomes stable (was {})", d.stable_revision),
                ],
            };
            Ok(Preview { title: format!("Promote {id}?"), effect, blast: Blast::Low, type_to_confirm: None })
        }
        Action::Pause { .. } => {
            if d.phase != CanaryPhase::Progressing {
                return Err(format!("{id} is not progressing (phase {phase})"));
            }
            Ok(Preview {
                title: format!("Pause {id}?"),
                effect: vec![format!("phase Progressing → Paused at {}", pct(d.weight))],
                blast: Blast::Low,
                type_to_confirm: None,
            })
        }
        Action::Retry { .. } => {
            if d.phase != CanaryPhase::Aborted || d.canary_revision.is_none() {
                return Err(format!("{id} has no aborted canary to retry (phase {phase})"));
            }
            Ok(Preview {
                title: format!("Retry the canary of {id}?"),
                effect: vec![
                    format!("revision {canary} starts again at step 1/{}", d.step_total),
                    format!("phase {phase} → Progressing"),
                ],
                blast: if critical { Blast::High } else { Blast::Low },
                type_to_confirm: critical.then(|| d.service.clone()),
            })
        }
        _ => {
            if d.phase != CanaryPhase::Paused {
                return Err(format!("{id} is not paused (phase {phase})"));
            }
            Ok(Preview {
                title: format!("Resume {id}?"),
                effect: vec![format!("phase Paused → Progressing from {}", pct(d.weight))],
                blast: Blast::Low,
                type_to_confirm: None,
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{derive, Fleet, Region};
    use chrono::Utc;

    fn snap(weights: &[(f64, RegionStatus)]) -> Snapshot {
        let mut f = Fleet::default();
        let regions = weights
            .iter()
            .enumerate()
            .map(|(i, (w, s))| Region {
                name: format!("r{i}"),
                status: *s,
                weight: *w,
                base_weight: Some(25.0),
                zones: vec![],
                since: None,
            })
            .collect();
        f.regions.set(Utc::now(), Ok(regions));
        derive(f, 1)
    }

    #[test]
    fn failover_preview_states_weights_and_needs_the_name() {
        let s = snap(&[(40.0, RegionStatus::Ok), (60.0, RegionStatus::Ok)]);
        let p = Action::Failover { region: "r0".into() }.preview(&s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.type_to_confirm.as_deref(), Some("r0"));
        assert!(p.effect[0].contains("40% →     0%"), "{:?}", p.effect);
        assert!(p.effect[1].contains("60% →   100%"), "{:?}", p.effect);
    }

    #[test]
    fn the_last_serving_region_is_refused_locally() {
        let s = snap(&[(100.0, RegionStatus::Ok), (0.0, RegionStatus::Ok)]);
        let e = Action::Failover { region: "r0".into() }.preview(&s);
        assert!(e.is_err_and(|e| e.contains("last region")));
        let down = snap(&[(50.0, RegionStatus::Ok), (50.0, RegionStatus::Down)]);
        let e = Action::Failover { region: "r0".into() }.preview(&down);
        assert!(e.is_err_and(|e| e.contains("last region")), "a down region does not count as serving");
        let drained = snap(&[(0.0, RegionStatus::Ok), (100.0, RegionStatus::Ok)]);
        assert!(Action::Failover { region: "r0".into() }.preview(&drained).is_err());
    }

    #[test]
    fn restore_preview_returns_the_base_share() {
        let s = snap(&[(0.0, RegionStatus::Ok), (50.0, RegionStatus::Ok), (50.0, RegionStatus::Ok)]);
        let p = Action::Restore { region: "r0".into() }.preview(&s).unwrap_or_else(|e| panic!("{e}"));
        assert!(p.effect[0].contains("0% →    25%"), "{:?}", p.effect);
        assert!(p.effect[1].contains("50% →  37.5%"), "{:?}", p.effect);
        let full = snap(&[(25.0, RegionStatus::Ok), (75.0, RegionStatus::Ok)]);
        assert!(Action::Restore { region: "r0".into() }.preview(&full).is_err());
    }

    #[test]
    fn requests_match_the_api() {
        let a = Action::SetFlag { flag: "f".into(), environment: "prod".into(), on: false, source: String::new() };
        assert_eq!(a.request(), json!({"kind": "flagOff", "flag": "f", "environment": "prod"}));
        assert_eq!(Action::Promote { deployment: "d".into(), full: true }.request()["kind"], "promoteFull");
    }

    fn fleet_with_canary(phase: CanaryPhase, tier: Tier) -> Snapshot {
        use crate::model::{Deployment, Flag, Service};
        let mut f = Fleet::default();
        let now = Utc::now();
        let svc = |n: &str, tier| Service {
            name: n.into(),
            tier,
            owners: vec![],
            depends_on: vec![],
            slos: vec![],
            sla: Default::default(),
        };
        // Another service of the other tier with the same region: the
        // tier that counts is the deployment's own service's.
        let other = if tier == Tier::Critical { Tier::Standard } else { Tier::Critical };
        f.services.set(now, Ok(vec![svc("checkout", tier), svc("search", other)]));
        let d = Deployment {
            id: "checkout/r0".into(),
            service: "checkout".into(),
            region: "r0".into(),
            phase,
            message: String::new(),
            stable_revision: "v1".into(),
            canary_revision: Some("v2".into()),
            steps: vec![10.0, 25.0, 50.0, 100.0],
            step_index: 0,
            step_total: 4,
            weight: 10.0,
            since: None,
            analysis: None,
            blue_green: None,
            set_weight: None,
            pause_reason: None,
            analysis_runs: Vec::new(),
            revisions: Vec::new(),
        };
        f.deployments.set(now, Ok(vec![d]));
        let flag =
            Flag { name: "new-checkout".into(), environment: "production".into(), enabled: true, ..Default::default() };
        f.flags.set(now, Ok(vec![flag]));
        derive(f, 1)
    }

    #[test]
    fn canary_previews_say_what_changes_and_refuse_the_wrong_phase() {
        let dep = || "checkout/r0".to_string();
        let s = fleet_with_canary(CanaryPhase::Progressing, Tier::Critical);
        let p = Action::Rollback { deployment: dep() }.preview(&s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.effect[0], "canary weight 10% → 0%");
        assert_eq!(p.effect[1], "phase Progressing → Aborted");
        assert_eq!(p.effect[2], "revision v2 abandoned; v1 keeps serving");
        assert_eq!((p.blast, p.type_to_confirm.as_deref()), (Blast::High, Some("checkout")), "a critical service");
        let p = Action::Promote { deployment: dep(), full: false }.preview(&s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.effect[0], "canary weight 10% → 25%");
        assert_eq!(p.effect[1], "step 1/4 → 2/4");
        assert!(p.effect[2].starts_with("phase Progressing → Paused"), "{:?}", p.effect);
        let p = Action::Promote { deployment: dep(), full: true }.preview(&s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.effect[0], "canary weight 10% → 100% (promoted)");
        assert_eq!(p.effect[2], "revision v2 becomes stable (was v1)");
        let p = Action::Pause { deployment: dep() }.preview(&s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.effect, vec!["phase Progressing → Paused at 10%".to_string()]);
        assert!(Action::Resume { deployment: dep() }.preview(&s).is_err_and(|e| e.contains("is not paused")));
        let standard = fleet_with_canary(CanaryPhase::Paused, Tier::Standard);
        let p = Action::Rollback { deployment: dep() }.preview(&standard).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((p.blast, p.type_to_confirm), (Blast::Low, None), "not critical: no name to type");
        let p = Action::Resume { deployment: dep() }.preview(&standard).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.effect, vec!["phase Paused → Progressing from 10%".to_string()]);
        assert!(Action::Pause { deployment: dep() }.preview(&standard).is_err_and(|e| e.contains("not progressing")));
        let degraded = fleet_with_canary(CanaryPhase::Degraded, Tier::Standard);
        assert!(
            Action::Rollback { deployment: dep() }.preview(&degraded).is_ok(),
            "a degraded canary can be rolled back"
        );
        let e = Action::Promote { deployment: dep(), full: false }.preview(&degraded);
        assert!(e.is_err_and(|e| e.contains("not promotable in phase Degraded")));
        let done = fleet_with_canary(CanaryPhase::Healthy, Tier::Standard);
        assert!(Action::Rollback { deployment: dep() }
            .preview(&done)
            .is_err_and(|e| e.contains("no canary in flight")));
        assert!(Action::Rollback { deployment: "nope/r9".into() }
            .preview(&done)
            .is_err_and(|e| e.contains("not known")));
    }

    #[test]
    fn a_template_without_a_source_matches_the_resolved_flag_action() {
        let flag = |on: bool, source: &str| Action::SetFlag {
            flag: "f".into(),
            environment: "prod".into(),
            on,
            source: source.into(),
        };
        let t = flag(false, "");
        let resolved = flag(false, "unleash:default");
        assert!(resolved.matches_template(&t));
        assert!(!flag(true, "unleash:default").matches_template(&t), "another state is another action");
        assert!(!resolved.matches_template(&flag(false, "control-plane")), "a named source must match");
        assert!(Action::Failover { region: "r".into() }.matches_template(&Action::Failover { region: "r".into() }));
    }

    #[test]
    fn flag_previews_name_the_change_and_refuse_a_no_op() {
        let s = fleet_with_canary(CanaryPhase::Healthy, Tier::Standard);
        let off = Action::SetFlag {
            flag: "new-checkout".into(),
            environment: "production".into(),
            on: false,
            source: String::new(),
        };
        let p = off.preview(&s).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.title, "Turn new-checkout OFF in production?");
        assert_eq!(p.effect, vec!["new-checkout (production): ON → OFF".to_string()]);
        let on = Action::SetFlag {
            flag: "new-checkout".into(),
            environment: "production".into(),
            on: true,
            source: String::new(),
        };
        assert_eq!(on.preview(&s).err().as_deref(), Some("new-checkout is already ON in production"));
        let staging = Action::SetFlag {
            flag: "new-checkout".into(),
            environment: "staging".into(),
            on: false,
            source: String::new(),
        };
        assert!(staging.preview(&s).is_err_and(|e| e.contains("not known")), "the environment is part of the flag");
    }

    #[test]
    fn failover_never_sends_traffic_to_a_down_region_and_marks_it() {
        // The only other region with weight is DOWN; the drained one is not serving.
        let s = snap(&[(50.0, RegionStatus::Ok), (0.0, RegionStatus::Ok), (50.0, RegionStatus::Down)]);
        let e = Action::Failover { region: "r0".into() }.preview(&s);
        assert!(e.is_err_and(|e| e.contains("last region")), "a drained region is not serving");
        let s = snap(&[(50.0, RegionStatus::Ok), (30.0, RegionStatus::Ok), (20.0, RegionStatus::Down)]);
        let p = Action::Failover { region: "r0".into() }.preview(&s).unwrap_or_else(|e| panic!("{e}"));
        assert!(p.effect[2].ends_with("(DOWN)") && !p.effect[1].contains("DOWN"), "{:?}", p.effect);
        assert_eq!(drained_weights(&[100.0, 0.0], 0), None, "nowhere to send it");
        assert_eq!(pct(12.5), "12.5%");
        assert_eq!(pct(12.0), "12%");
    }

    #[test]
    fn restore_takes_back_only_what_is_missing_and_never_divides_by_zero() {
        // r0 at 10 of its 25: 15 comes back, from the others in proportion.
        let s = snap(&[(10.0, RegionStatus::Ok), (45.0, RegionStatus::Ok), (45.0, RegionStatus::Ok)]);
        let p = Action::Restore { region: "r0".into() }.preview(&s).unwrap_or_else(|e| panic!("{e}"));
        assert!(p.effect[0].contains("10% →    25%"), "{:?}", p.effect);
        assert!(p.effect[1].contains("45% →  37.5%"), "{:?}", p.effect);
        let empty = snap(&[(0.0, RegionStatus::Ok), (0.0, RegionStatus::Ok)]);
        let p = Action::Restore { region: "r0".into() }.preview(&empty).unwrap_or_else(|e| panic!("{e}"));
        assert!(p.effect.iter().all(|l| !l.contains("NaN")), "{:?}", p.effect);
        assert!(p.effect[1].contains("0% →     0%"), "{:?}", p.effect);
    }

    fn cluster(writer_up: bool, lag: u64) -> Snapshot {
        use crate::model::{Database, DbMember, DbRole};
        let m = |name: &str, role, up, lag, region: &str| DbMember {
            name: name.into(),
            region: Some(region.into()),
            zone: None,
            role,
            state: if up { "running".into() } else { "stopped".into() },
            up,
            timeline: Some(1),
            lag_bytes: Some(lag),
            lag_seconds: None,
        };
        let db = Database {
            name: "orders".into(),
            engine: "postgresql (patroni)".into(),
            source: "patroni:orders".into(),
            members: vec![
                m("pg1", DbRole::Writer, writer_up, 0, "use1"),
                m("pg2", DbRole::Replica, true, lag, "usw2"),
                m("pg3", DbRole::Replica, false, 0, "usw2"),
            ],
            last_failover: None,
            latest_restorable: None,
            earliest_restorable: None,
            backup_retention_days: None,
            status: None,
            services: vec!["checkout".into()],
            max_lag_bytes: Some(1024 * 1024),
            objectives: Default::default(),
            global: false,
        };
        let mut f = Fleet::default();
        f.databases.set(Utc::now(), Ok(vec![db]));
        derive(f, 1)
    }

    #[test]
    fn database_previews_name_the_new_writer_the_data_at_risk_and_the_limit() {
        let sw = |c: &str| Action::Switchover { database: "orders".into(), candidate: c.into() };
        let fo = |c: &str, bg| Action::DbFailover { database: "orders".into(), candidate: c.into(), break_glass: bg };
        let up = cluster(true, 4096);
        let p = sw("pg2").preview(&up).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.effect[0], "writer: pg1 (use1) → pg2 (usw2)");
        assert!(p.effect[1].contains("up to 4 KiB") && p.effect[1].contains("nothing is lost"), "{:?}", p.effect);
        assert_eq!(p.effect[2], "writes pause for: checkout");
        assert_eq!(p.effect[3], "sent to patroni:orders");
        assert_eq!((p.blast, p.type_to_confirm.as_deref()), (Blast::High, Some("orders")));
        assert!(sw("pg1").preview(&up).is_err_and(|e| e.contains("already the writer")));
        assert!(sw("pg3").preview(&up).is_err_and(|e| e.contains("not streaming")));
        assert!(sw("pg9").preview(&up).is_err_and(|e| e.contains("not a member")));
        assert!(fo("pg2", false).preview(&up).is_err_and(|e| e.contains("use a switchover")));
        let down = cluster(false, 4096);
        assert!(sw("pg2").preview(&down).is_err_and(|e| e.contains("use a failover")));
        let p = fo("pg2", false).preview(&down).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.effect[0], "writer: pg1 (use1) (stopped) → pg2 (usw2)");
        assert!(p.effect[1].starts_with("data at risk: up to 4 KiB not on pg2"), "{:?}", p.effect);
        assert_eq!(
            (bytes_bound(4097), bytes_bound(0), secs_bound(0.4), secs_bound(90.0)),
            ("8 KiB".into(), "0 B".into(), "1 s".into(), "2 min".into())
        );
        // Over the limit: refused, unless break-glass, which says what is lost.
        let far = cluster(false, 5 * 1024 * 1024);
        assert!(fo("pg2", false).preview(&far).is_err_and(|e| e.contains("break-glass")));
        let p = fo("pg2", true).preview(&far).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(p.type_to_confirm.as_deref(), Some("orders lose data"));
        assert!(p.effect.iter().any(|l| l.starts_with("BREAK-GLASS")), "{:?}", p.effect);
        let far_up = cluster(true, 5 * 1024 * 1024);
        assert!(sw("pg2").preview(&far_up).is_err_and(|e| e.contains("catch up")));
        assert_eq!(sw("pg2").target(), "database orders", "one action per cluster at a time");
        assert_eq!(fo("pg2", true).request()["breakGlass"], true);
    }

    #[test]
    fn the_local_identity_is_an_operator_unless_read_only() {
        assert_eq!(Operator::local(true).role, Role::Viewer);
        assert_eq!(Operator::local(false).role, Role::Operator);
        // The passwd entry of our uid is the name `id -un` prints.
        let id = std::process::Command::new("id")
            .arg("-un")
            .output()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string());
        if let Some(name) = id.ok().filter(|n| !n.is_empty()) {
            assert_eq!(user_from_passwd().as_deref(), Some(name.as_str()));
        }
    }
}
