//! What changed: events the store derives from successive snapshots (never
//! from a second poll), plus the actions, runbook steps, notes and
//! incidents that happen here. Each event has the fleet's time (the
//! source's clock where it says), a subject, before → after, its source and
//! a severity. Kept in a bounded log that is cheap to share with every
//! snapshot (`ChangeLog`: chunks behind `Arc`s, so a new event copies at
//! most one chunk).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::{slo::AlertState as SloState, Feed, RegionStatus, Snapshot};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeKind {
    /// The fleet's overall state (the header's word).
    Fleet,
    Region,
    Traffic,
    Health,
    Slo,
    Alert,
    Canary,
    BlueGreen,
    Circuit,
    Flag,
    Database,
    Action,
    Runbook,
    Note,
    Incident,
}

impl ChangeKind {
    pub const ALL: [ChangeKind; 15] = [
        ChangeKind::Fleet,
        ChangeKind::Region,
        ChangeKind::Traffic,
        ChangeKind::Health,
        ChangeKind::Slo,
        ChangeKind::Alert,
        ChangeKind::Canary,
        ChangeKind::BlueGreen,
        ChangeKind::Circuit,
        ChangeKind::Flag,
        ChangeKind::Database,
        ChangeKind::Action,
        ChangeKind::Runbook,
        ChangeKind::Note,
        ChangeKind::Incident,
    ];

    pub fn word(self) -> &'static str {
        match self {
            ChangeKind::Fleet => "fleet",
            ChangeKind::Region => "region",
            ChangeKind::Traffic => "traffic",
            ChangeKind::Health => "health",
            ChangeKind::Slo => "slo",
            ChangeKind::Alert => "alert",
            ChangeKind::Canary => "canary",
            ChangeKind::BlueGreen => "bluegreen",
            ChangeKind::Circuit => "circuit",
            ChangeKind::Flag => "flag",
            ChangeKind::Database => "database",
            ChangeKind::Action => "action",
            ChangeKind::Runbook => "runbook",
            ChangeKind::Note => "note",
            ChangeKind::Incident => "incident",
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Back to good.
    Ok,
    Info,
    Warn,
    Critical,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// The fleet's time (the source's clock where the source says when).
    pub at: DateTime<Utc>,
    pub kind: ChangeKind,
    /// What changed: `us-west-2`, `checkout/us-east-1`, `checkout→payments us-east-1`.
    pub subject: String,
    #[serde(default)]
    pub before: String,
    pub after: String,
    /// Where it was seen (`regions`, `metrics`, `alice`, …).
    pub source: String,
    pub severity: Severity,
    /// For grouping: the subject without its region (`checkout→payments`),
    /// and the region, where there is one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group: Option<String>,
}

impl Change {
    /// An event with no before (a note, an incident step, a runbook step).
    pub fn new(
        at: DateTime<Utc>,
        kind: ChangeKind,
        subject: String,
        after: String,
        source: &str,
        severity: Severity,
    ) -> Change {
        Change {
            at,
            kind,
            subject,
            before: String::new(),
            after,
            source: source.to_string(),
            severity,
            region: None,
            group: None,
        }
    }

    /// `before → after`, or the after alone when there is no before.
    pub fn transition(&self) -> String {
        if self.before.is_empty() {
            self.after.clone()
        } else {
            format!("{} → {}", self.before, self.after)
        }
    }

    /// Text the filter matches: kind, subject, transition, source.
    pub fn haystack(&self) -> String {
        format!("{} {} {} {}", self.kind.word(), self.subject, self.transition(), self.source)
    }
}

const CHUNK: usize = 256;

/// The bounded log: newest last, at most `cap` events (rounded up to a
/// chunk), shared between snapshots chunk by chunk.
#[derive(Debug, Clone)]
pub struct ChangeLog {
    chunks: Vec<Arc<Vec<Change>>>,
    len: usize,
    cap: usize,
}

impl Default for ChangeLog {
    fn default() -> ChangeLog {
        ChangeLog::new(DEFAULT_KEEP)
    }
}

/// Events kept by default.
pub const DEFAULT_KEEP: usize = 10_000;

impl ChangeLog {
    pub fn new(cap: usize) -> ChangeLog {
        ChangeLog { chunks: Vec::new(), len: 0, cap: cap.max(1) }
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    pub fn push(&mut self, c: Change) {
        match self.chunks.last_mut() {
            Some(last) if last.len() < CHUNK => Arc::make_mut(last).push(c),
            _ => self.chunks.push(Arc::new(vec![c])),
        }
        self.len += 1;
        // Whole chunks go once the rest still hold `cap`.
        while self.chunks.first().is_some_and(|f| self.len - f.len() >= self.cap) {
            let gone = self.chunks.remove(0);
            self.len -= gone.len();
        }
    }

    /// Oldest first.
    pub fn iter(&self) -> impl DoubleEndedIterator<Item = &Change> {
        self.chunks.iter().flat_map(|c| c.iter())
    }

    /// Newest first.
    pub fn newest(&self) -> impl Iterator<Item = &Change> {
        self.chunks.iter().rev().flat_map(|c| c.iter().rev())
    }
}

/// A feed's data time in the fleet's clock: its source's where the source
/// says (`observedAt`), else `fleet`, the offset another feed's source
/// gives (a simulator at 10× runs ahead of ours for every feed alike).
fn feed_time<T>(f: &Feed<T>, fleet: chrono::Duration) -> Option<DateTime<Utc>> {
    Some(f.observed_at? + f.source_offset.unwrap_or(fleet))
}

/// Whether a feed brought new data since `prev` (and both have some).
fn renewed<T>(prev: &Feed<T>, next: &Feed<T>) -> bool {
    prev.data.is_some() && next.data.is_some() && prev.observed_at != next.observed_at
}

fn status_severity(s: RegionStatus) -> Severity {
    match s {
        RegionStatus::Ok => Severity::Ok,
        RegionStatus::Degraded | RegionStatus::Unknown => Severity::Warn,
        RegionStatus::Down => Severity::Critical,
    }
}

pub fn slo_word(s: SloState) -> &'static str {
    match s {
        SloState::Ok => "OK",
        SloState::NoData => "NO DATA",
        SloState::Low => "LOW",
        SloState::Ticket => "TICKET",
        SloState::Page => "PAGE",
        SloState::Exhausted => "EXHAUSTED",
    }
}

fn slo_severity(s: SloState) -> Severity {
    match s {
        SloState::Ok => Severity::Ok,
        SloState::NoData => Severity::Info,
        SloState::Low | SloState::Ticket => Severity::Warn,
        SloState::Page | SloState::Exhausted => Severity::Critical,
    }
}

struct Out<'a> {
    v: &'a mut Vec<Change>,
    /// The fleet's clock minus ours.
    offset: chrono::Duration,
    now: DateTime<Utc>,
}

impl Out<'_> {
    fn time<T>(&self, f: &Feed<T>) -> DateTime<Utc> {
        feed_time(f, self.offset).unwrap_or(self.now + self.offset)
    }

    /// The time of a feed's previous data: an event's own `since` older
    /// than that happened before we could see it, and is dated when we
    /// first could.
    fn prev_time<T>(&self, f: &Feed<T>) -> DateTime<Utc> {
        feed_time(f, self.offset).unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        at: DateTime<Utc>,
        kind: ChangeKind,
        subject: String,
        before: String,
        after: String,
        source: &str,
        severity: Severity,
        place: Option<(&str, &str)>,
    ) {
        self.v.push(Change {
            at,
            kind,
            subject,
            before,
            after,
            source: source.to_string(),
            severity,
            group: place.map(|(g, _)| g.to_string()),
            region: place.map(|(_, r)| r.to_string()),
        });
    }
}

/// The events between two snapshots, oldest first. A feed that had no
/// data before gives none (that is its baseline, not a change).
pub fn diff(prev: &Snapshot, next: &Snapshot, now: DateTime<Utc>) -> Vec<Change> {
    let mut v = Vec::new();
    let mut out = Out { v: &mut v, offset: next.source_now(now) - now, now };
    let (p, n) = (&prev.fleet, &next.fleet);
    if renewed(&p.regions, &n.regions) {
        regions(prev, next, &mut out);
    }
    if renewed(&p.metrics, &n.metrics) {
        health_and_slos(prev, next, &mut out);
    }
    if renewed(&p.alerts, &n.alerts) {
        alerts(prev, next, &mut out);
    }
    if renewed(&p.deployments, &n.deployments) {
        deployments(prev, next, &mut out);
    }
    if renewed(&p.circuits, &n.circuits) {
        let at = out.time(&n.circuits);
        let before: HashMap<(&str, &str, &str), _> =
            p.circuits.items().iter().map(|c| ((c.from.as_str(), c.to.as_str(), c.region.as_str()), c.state)).collect();
        for c in n.circuits.items() {
            let Some(old) = before.get(&(c.from.as_str(), c.to.as_str(), c.region.as_str())) else { continue };
            if *old != c.state {
                let sev = match c.state {
                    super::CircuitState::Open | super::CircuitState::ForcedOpen => Severity::Critical,
                    super::CircuitState::HalfOpen => Severity::Warn,
                    _ => Severity::Ok,
                };
                let edge = format!("{}→{}", c.from, c.to);
                out.push(
                    c.since.unwrap_or(at).max(out.prev_time(&p.circuits)),
                    ChangeKind::Circuit,
                    format!("{edge} {}", c.region),
                    old.word().into(),
                    c.state.word().into(),
                    "circuits",
                    sev,
                    Some((&edge, &c.region)),
                );
            }
        }
    }
    if renewed(&p.flags, &n.flags) {
        flags(prev, next, &mut out);
    }
    if renewed(&p.databases, &n.databases) {
        databases(prev, next, &mut out);
    }
    actions(prev, next, &mut out);
    v.sort_by_key(|c| c.at);
    v
}

fn regions(prev: &Snapshot, next: &Snapshot, out: &mut Out) {
    let (p, n) = (&prev.fleet.regions, &next.fleet.regions);
    let at = out.time(n);
    let before: HashMap<&str, &super::Region> = p.items().iter().map(|r| (r.name.as_str(), r)).collect();
    for r in n.items() {
        let Some(old) = before.get(r.name.as_str()) else { continue };
        if old.status != r.status {
            let when = r.since.unwrap_or(at).max(out.prev_time(p)).min(at);
            let sev = status_severity(r.status);
            let (b, a) = (old.status.word().to_string(), r.status.word().to_string());
            out.push(when, ChangeKind::Region, r.name.clone(), b, a, "regions", sev, Some(("region", &r.name)));
        }
        if (old.weight - r.weight).abs() >= 0.5 {
            out.push(
                at,
                ChangeKind::Traffic,
                r.name.clone(),
                format!("{:.0}%", old.weight),
                format!("{:.0}%", r.weight),
                "regions",
                Severity::Info,
                Some(("traffic", &r.name)),
            );
        }
    }
}

fn health_and_slos(prev: &Snapshot, next: &Snapshot, out: &mut Out) {
    let at = out.time(&next.fleet.metrics);
    let mut cells: Vec<(&String, &String, &super::CellHealth)> =
        next.cells.iter().flat_map(|(s, m)| m.iter().map(move |(r, c)| (s, r, c))).collect();
    cells.sort_by(|a, b| (a.0, a.1).cmp(&(b.0, b.1)));
    for (svc, region, c) in cells {
        let Some(old) = prev.cell(svc, region) else { continue };
        if old.status != c.status {
            out.push(
                at,
                ChangeKind::Health,
                format!("{svc}/{region}"),
                old.status.word().into(),
                c.status.word().into(),
                "metrics",
                status_severity(c.status),
                Some((svc, region)),
            );
        }
    }
    let before: HashMap<(&str, &str), SloState> =
        prev.slos.iter().map(|s| ((s.service.as_str(), s.name.as_str()), s.state)).collect();
    for s in next.slos.iter() {
        let Some(old) = before.get(&(s.service.as_str(), s.name.as_str())) else { continue };
        if *old != s.state {
            out.push(
                at,
                ChangeKind::Slo,
                s.name.clone(),
                slo_word(*old).into(),
                slo_word(s.state).into(),
                "metrics",
                slo_severity(s.state),
                None,
            );
        }
    }
}

fn alert_severity(a: &super::Alert) -> Severity {
    match a.severity.to_ascii_lowercase().as_str() {
        "page" | "critical" => Severity::Critical,
        _ => Severity::Warn,
    }
}

fn alerts(prev: &Snapshot, next: &Snapshot, out: &mut Out) {
    let at = out.time(&next.fleet.alerts);
    let before: BTreeMap<String, &super::Alert> = prev.fleet.alerts.items().iter().map(|a| (a.identity(), a)).collect();
    let after: BTreeMap<String, &super::Alert> = next.fleet.alerts.items().iter().map(|a| (a.identity(), a)).collect();
    let word = |s: super::AlertState| match s {
        super::AlertState::Firing => "firing",
        super::AlertState::Silenced => "silenced",
        super::AlertState::Inhibited => "inhibited",
    };
    let subject = |a: &super::Alert| {
        let place: Vec<&str> = [a.service.as_deref(), a.region.as_deref()].into_iter().flatten().collect();
        if place.is_empty() {
            a.name.clone()
        } else {
            format!("{} {}", a.name, place.join("/"))
        }
    };
    for (id, a) in &after {
        let when = a.since.unwrap_or(at).max(out.prev_time(&prev.fleet.alerts)).min(at);
        match before.get(id) {
            None => out.push(
                when,
                ChangeKind::Alert,
                subject(a),
                String::new(),
                word(a.state).into(),
                "alerts",
                if a.state == super::AlertState::Firing { alert_severity(a) } else { Severity::Info },
                Some((&a.name, a.region.as_deref().unwrap_or(""))),
            ),
            Some(old) if old.state != a.state => out.push(
                at,
                ChangeKind::Alert,
                subject(a),
                word(old.state).into(),
                word(a.state).into(),
                "alerts",
                Severity::Info,
                Some((&a.name, a.region.as_deref().unwrap_or(""))),
            ),
            Some(_) => {}
        }
    }
    for (id, a) in &before {
        if !after.contains_key(id) {
            out.push(
                at,
                ChangeKind::Alert,
                subject(a),
                word(a.state).into(),
                "resolved".into(),
                "alerts",
                Severity::Ok,
                Some((&a.name, a.region.as_deref().unwrap_or(""))),
            );
        }
    }
}

fn deployments(prev: &Snapshot, next: &Snapshot, out: &mut Out) {
    let at = out.time(&next.fleet.deployments);
    let before: HashMap<&str, &super::Deployment> =
        prev.fleet.deployments.items().iter().map(|d| (d.id.as_str(), d)).collect();
    let state = |d: &super::Deployment| {
        if d.canary_revision.is_some() && d.step_total > 0 {
            format!("{} step {}/{} {:.0}%", d.phase.word(), d.step_index + 1, d.step_total, d.weight)
        } else {
            format!("{} r{}", d.phase.word(), d.stable_revision)
        }
    };
    for d in next.fleet.deployments.items() {
        let Some(old) = before.get(d.id.as_str()) else { continue };
        if let (Some(a), Some(b)) = (&old.blue_green, &d.blue_green) {
            if a.active.revision != b.active.revision {
                out.push(
                    at,
                    ChangeKind::BlueGreen,
                    d.id.clone(),
                    format!("serving r{}", a.active.revision),
                    format!("serving r{}", b.active.revision),
                    "deployments",
                    Severity::Info,
                    Some((&d.service, &d.region)),
                );
            }
        }
        let (b, a) = (state(old), state(d));
        if b != a
            && (old.phase != d.phase || old.step_index != d.step_index || old.canary_revision != d.canary_revision)
        {
            let sev = match d.phase {
                super::CanaryPhase::Degraded | super::CanaryPhase::Aborted => Severity::Critical,
                super::CanaryPhase::Healthy => Severity::Ok,
                _ => Severity::Info,
            };
            out.push(at, ChangeKind::Canary, d.id.clone(), b, a, "deployments", sev, Some((&d.service, &d.region)));
        }
    }
}

fn flags(prev: &Snapshot, next: &Snapshot, out: &mut Out) {
    let at = out.time(&next.fleet.flags);
    let before: HashMap<(&str, &str, &str), &super::Flag> = prev
        .fleet
        .flags
        .items()
        .iter()
        .map(|f| ((f.name.as_str(), f.environment.as_str(), f.source.as_str()), f))
        .collect();
    let on = |b: bool| if b { "on" } else { "off" };
    for f in next.fleet.flags.items() {
        let Some(old) = before.get(&(f.name.as_str(), f.environment.as_str(), f.source.as_str())) else { continue };
        let subject = format!("{}/{}", f.name, f.environment);
        if old.enabled != f.enabled {
            let (b, a) = (on(old.enabled).to_string(), on(f.enabled).to_string());
            out.push(at, ChangeKind::Flag, subject.clone(), b, a, &f.source, Severity::Info, None);
        }
        if old.percent != f.percent || (f.percent.is_none() && old.rollout != f.rollout) {
            let words = |x: &super::Flag| x.percent.map(|p| format!("{p}%")).unwrap_or_else(|| x.rollout.clone());
            out.push(at, ChangeKind::Flag, subject, words(old), words(f), &f.source, Severity::Info, None);
        }
    }
}

fn databases(prev: &Snapshot, next: &Snapshot, out: &mut Out) {
    let at = out.time(&next.fleet.databases);
    let before: HashMap<&str, &super::Database> =
        prev.fleet.databases.items().iter().map(|d| (d.name.as_str(), d)).collect();
    for db in next.fleet.databases.items() {
        let Some(old) = before.get(db.name.as_str()) else { continue };
        let writer = |d: &super::Database| d.writer().map(|m| m.name.clone()).unwrap_or_else(|| "none".into());
        let (b, a) = (writer(old), writer(db));
        if b != a {
            let sev = if a == "none" { Severity::Critical } else { Severity::Warn };
            out.push(at, ChangeKind::Database, format!("{} writer", db.name), b, a, &db.source, sev, None);
        }
        let (_, obj) = super::infra::objective(db, next);
        for m in &db.members {
            let Some(om) = old.members.iter().find(|x| x.name == m.name) else { continue };
            let over = |x: &super::DbMember, d: &super::Database| {
                super::infra::lag_fraction(x, d, &obj).is_some_and(|f| f > 1.0)
            };
            let (was, is) = (over(om, old), over(m, db));
            if was != is {
                let lag = m.lag_seconds.map(|s| format!("lag {s:.0}s")).unwrap_or_else(|| "lag".into());
                let (b, a, sev) = if is {
                    ("within RPO".to_string(), format!("{lag} beyond RPO"), Severity::Critical)
                } else {
                    (String::from("beyond RPO"), format!("{lag} within RPO"), Severity::Ok)
                };
                out.push(at, ChangeKind::Database, format!("{}/{}", db.name, m.name), b, a, &db.source, sev, None);
            }
        }
    }
}

/// Actions: a new entry, and each change of its status, dated in the
/// fleet's clock (the operator's time plus the source's offset).
fn actions(prev: &Snapshot, next: &Snapshot, out: &mut Out) {
    let offset = out.offset;
    let before: HashMap<&str, &super::ActionEntry> = prev.fleet.actions.iter().map(|a| (a.key.as_str(), a)).collect();
    for a in &next.fleet.actions {
        let old = before.get(a.key.as_str());
        if old.is_some_and(|o| o.status == a.status) {
            continue;
        }
        let sev = match a.status {
            super::ActionStatus::Failed => Severity::Critical,
            super::ActionStatus::Succeeded => Severity::Ok,
            _ => Severity::Info,
        };
        let word = format!("{:?}", a.status).to_uppercase();
        let after = if a.message.is_empty() { word } else { format!("{word}: {}", a.message) };
        out.push(
            a.updated_at + offset,
            ChangeKind::Action,
            a.summary.clone(),
            old.map(|o| format!("{:?}", o.status).to_uppercase()).unwrap_or_default(),
            after,
            &a.operator,
            sev,
            None,
        );
    }
}

/// Events grouped for the pane: a run of three or more events (newest
/// first) with the same kind and transition within a minute of each other
/// is one line (`checkout→payments in 4 regions`, `12 circuits in
/// us-west-2`); shorter runs stay one line each.
pub struct Grouped<'a> {
    pub first: &'a Change,
    pub members: Vec<&'a Change>,
}

/// Fewest events a line stands for.
const GROUP_AT: usize = 3;

pub fn grouped<'a>(newest_first: impl Iterator<Item = &'a Change>) -> Vec<Grouped<'a>> {
    let mut runs: Vec<Vec<&'a Change>> = Vec::new();
    for c in newest_first {
        if let Some(run) = runs.last_mut() {
            let f = run[0];
            let last = run[run.len() - 1];
            if f.kind == c.kind
                && f.before == c.before
                && f.after == c.after
                && (last.at - c.at).num_seconds().abs() <= 60
            {
                run.push(c);
                continue;
            }
        }
        runs.push(vec![c]);
    }
    let mut out = Vec::new();
    for run in runs {
        if run.len() >= GROUP_AT {
            out.push(Grouped { first: run[0], members: run });
        } else {
            out.extend(run.into_iter().map(|c| Grouped { first: c, members: vec![c] }));
        }
    }
    out
}

impl Grouped<'_> {
    pub fn count(&self) -> usize {
        self.members.len()
    }

    /// The subject as the pane shows it: one event's, or the group's.
    pub fn subject(&self) -> String {
        let n = self.members.len();
        if n == 1 {
            return self.first.subject.clone();
        }
        let mut regions: Vec<&str> = self.members.iter().filter_map(|c| c.region.as_deref()).collect();
        regions.sort_unstable();
        regions.dedup();
        let same_group = self.first.group.is_some() && self.members.iter().all(|c| c.group == self.first.group);
        let kind = self.first.kind.word();
        match (same_group, regions.as_slice()) {
            (true, rs) if rs.len() > 1 => {
                format!("{} in {} regions", self.first.group.as_deref().unwrap_or(""), rs.len())
            }
            (true, _) => format!("{} ×{n}", self.first.group.as_deref().unwrap_or("")),
            (false, [r]) if self.members.iter().all(|c| c.region.as_deref() == Some(*r)) => {
                format!("{n} {kind} changes in {r}")
            }
            _ => format!("{n} {kind} changes"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ev(i: usize) -> Change {
        let at = DateTime::<Utc>::from_timestamp(1_700_000_000 + i as i64, 0).unwrap_or_default();
        Change::new(at, ChangeKind::Note, format!("n{i}"), "x".into(), "t", Severity::Info)
    }

    #[test]
    fn the_log_is_bounded_and_shares_its_chunks() {
        let mut log = ChangeLog::new(1000);
        for i in 0..10_500 {
            log.push(ev(i));
        }
        assert!(log.len() >= 1000 && log.len() < 1000 + CHUNK, "{}", log.len());
        assert_eq!(log.newest().next().map(|c| c.subject.as_str()), Some("n10499"));
        let shared = log.clone();
        log.push(ev(99_999));
        assert_eq!(shared.newest().next().map(|c| c.subject.as_str()), Some("n10499"), "a snapshot's copy stays");
        let order: Vec<i64> = log.iter().map(|c| c.at.timestamp()).collect();
        assert!(order.windows(2).all(|w| w[0] <= w[1]), "oldest first");
    }

    #[test]
    fn a_storm_is_one_line() {
        let mut v: Vec<Change> = (0..4)
            .map(|i| Change {
                kind: ChangeKind::Circuit,
                subject: format!("checkout→payments r{i}"),
                before: "CLOSED".into(),
                after: "OPEN".into(),
                group: Some("checkout→payments".into()),
                region: Some(format!("r{i}")),
                ..ev(i)
            })
            .collect();
        v.push(ev(10));
        let g = grouped(v.iter().rev());
        assert_eq!(g.len(), 2);
        assert_eq!(g[1].subject(), "checkout→payments in 4 regions");
        // Two alike are two lines; other edges in one region are counted.
        let two = grouped(v[..2].iter());
        assert_eq!(two.len(), 2);
        let one_region: Vec<Change> = (0..5)
            .map(|i| Change { group: Some(format!("e{i}")), region: Some("r1".into()), ..v[0].clone() })
            .collect();
        assert_eq!(grouped(one_region.iter()).first().map(|g| g.subject()).as_deref(), Some("5 circuit changes in r1"));
    }
}
