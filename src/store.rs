//! The store: the one owner of the fleet model. It applies updates, derives
//! what is expensive once, and publishes an immutable snapshot to every
//! viewer through a watch channel.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use tokio::sync::{mpsc, watch};

use crate::dataplane::Intervals;
use crate::model::changes::{Change, ChangeKind, ChangeLog, Severity};
use crate::model::incident::{Incident, Post};
use crate::model::rollup::Overall;
use crate::model::{Database, FeedError, FeedId, Flag, Fleet, Snapshot};
use crate::sources::{Payload, Update};

/// Where the change timeline and the incidents are kept.
#[derive(Debug, Clone, Default)]
pub struct History {
    /// The timeline's journal (JSON lines); None: memory only.
    pub file: Option<std::path::PathBuf>,
    /// Events kept (`changes::DEFAULT_KEEP` when 0).
    pub keep: usize,
    /// The incidents' directory; None: incidents are not written.
    pub incidents: Option<std::path::PathBuf>,
    /// Jump-out links from the configuration, handed to every snapshot.
    pub links: Arc<Vec<crate::model::snapshot::JumpLink>>,
    /// What a failed request is worth per service (`[[business]]`): kept
    /// in each incident opened, so its postmortem says what was used.
    pub business: Arc<Vec<crate::model::incident::BusinessRate>>,
}

/// One source's share of a merged feed: its last data and its last error.
#[derive(Debug, Clone)]
struct Part<T> {
    data: Option<(DateTime<Utc>, Vec<T>)>,
    error: Option<FeedError>,
}

pub struct Store {
    fleet: Fleet,
    version: u64,
    /// Flags per source (a feed with several sources: the control plane and
    /// a flag service), merged into `fleet.flags`.
    flag_parts: BTreeMap<Arc<str>, Part<Flag>>,
    /// Database clusters per source, merged into `fleet.databases`.
    db_parts: BTreeMap<Arc<str>, Part<Database>>,
    /// The regions as their own source last sent them (before the traffic
    /// provider's weights are laid over them).
    raw_regions: Option<Vec<crate::model::Region>>,
    /// The last snapshot published: the next is compared with it.
    prev: Option<Arc<Snapshot>>,
    changes: ChangeLog,
    changes_note: Option<String>,
    /// Events that happened here, for the next snapshot.
    pending: Vec<Change>,
    posts: Vec<Post>,
    /// Chart range answers, newest last (at most `range::KEEP`).
    ranges: Vec<Arc<crate::model::range::RangeSeries>>,
    incident: Option<Incident>,
    /// The fleet's overall state and since when (None: since before we
    /// looked, and no source says).
    overall: Option<(Overall, Option<DateTime<Utc>>)>,
    history: History,
    journal: Option<crate::history::Journal>,
    /// The data plane's clock: the newest update's time (events and ages
    /// follow it, so a test's fixed clock gives fixed frames).
    last_at: Option<DateTime<Utc>>,
}

/// One source's data (or failure) merged with the other sources' of the
/// same feed: each datum names its source (`stamp`); the feed's age is its
/// oldest part's and its error names the sources that fail.
fn merge<T: Clone>(
    parts: &mut BTreeMap<Arc<str>, Part<T>>,
    feed: &mut crate::model::Feed<T>,
    source: Arc<str>,
    at: DateTime<Utc>,
    result: Result<Vec<T>, FeedError>,
    stamp: impl Fn(&mut T, &str),
) {
    let failed = result.is_err();
    let part = parts.entry(source.clone()).or_insert_with(|| Part { data: None, error: None });
    match result {
        Ok(mut v) => {
            for x in &mut v {
                stamp(x, &source);
            }
            *part = Part { data: Some((at, v)), error: None };
        }
        Err(e) => part.error = Some(e),
    }
    let many = parts.len() > 1;
    let failing: Vec<String> = parts
        .iter()
        .filter_map(|(s, p)| p.error.as_ref().map(|e| if many { format!("{s}: {e}") } else { e.to_string() }))
        .collect();
    let error = (!failing.is_empty()).then(|| failing.join(" · "));
    let with_data: Vec<&(DateTime<Utc>, Vec<T>)> = parts.values().filter_map(|p| p.data.as_ref()).collect();
    match with_data.iter().map(|(t, _)| *t).min() {
        None => feed.set(at, Err(FeedError::Source(error.unwrap_or_default()))),
        Some(oldest) => {
            let items: Vec<T> = with_data.iter().flat_map(|(_, v)| v.iter().cloned()).collect();
            let failing_now = error.is_some();
            feed.set_partial(oldest, items, error);
            if failing_now {
                feed.error_at = Some(at);
            }
            if failed {
                feed.errors = feed.errors.saturating_add(1);
            }
        }
    }
}

impl Store {
    pub fn new(intervals: &Intervals) -> Store {
        let mut fleet = Fleet::default();
        fleet.regions.interval = intervals.get(FeedId::Regions);
        fleet.services.interval = intervals.get(FeedId::Services);
        fleet.metrics.interval = intervals.get(FeedId::Metrics);
        fleet.deployments.interval = intervals.get(FeedId::Deployments);
        fleet.circuits.interval = intervals.get(FeedId::Circuits);
        fleet.flags.interval = intervals.get(FeedId::Flags);
        fleet.probes.interval = intervals.get(FeedId::Probes);
        fleet.alerts.interval = intervals.get(FeedId::Alerts);
        fleet.traffic.interval = intervals.get(FeedId::Traffic);
        fleet.databases.interval = intervals.get(FeedId::Databases);
        Store {
            fleet,
            version: 0,
            flag_parts: BTreeMap::new(),
            db_parts: BTreeMap::new(),
            raw_regions: None,
            prev: None,
            changes: ChangeLog::default(),
            changes_note: None,
            pending: Vec::new(),
            posts: Vec::new(),
            ranges: Vec::new(),
            incident: None,
            overall: None,
            history: History::default(),
            journal: None,
            last_at: None,
        }
    }

    /// Keep the timeline (and incidents) where `history` says: the kept
    /// events and an open incident are read back first.
    pub fn with_history(mut self, history: History) -> Store {
        let keep = if history.keep == 0 { crate::model::changes::DEFAULT_KEEP } else { history.keep };
        self.changes = ChangeLog::new(keep);
        if let Some(path) = &history.file {
            let (events, note) = crate::history::load(path, keep);
            for c in events {
                self.changes.push(c);
            }
            self.changes_note = note;
            match crate::history::Journal::open(path, keep) {
                Ok(j) => self.journal = Some(j),
                Err(e) => self.changes_note = Some(e),
            }
        }
        // An open incident is picked up where the timeline is kept too (a
        // restarted console of the same fleet), not by a fresh demo.
        if let (Some(dir), Some(_)) = (&history.incidents, &history.file) {
            self.incident = crate::history::open_incident(dir);
        }
        self.history = history;
        self
    }

    pub fn fleet(&self) -> &Fleet {
        &self.fleet
    }

    /// Apply one update to the model.
    pub fn apply(&mut self, u: Update) {
        self.last_at = Some(self.last_at.map_or(u.at, |t| t.max(u.at)));
        if let Ok(Payload::Timed { source_at, inner }) = u.result {
            let offset = source_at - u.at;
            self.apply(Update { source: u.source, feed: u.feed, at: u.at, result: Ok(*inner) });
            self.fleet.set_source_offset(u.feed, offset);
            return;
        }
        if let Ok(Payload::Partial { inner, error }) = u.result {
            self.apply(Update { source: u.source, feed: u.feed, at: u.at, result: Ok(*inner) });
            self.fleet.set_error(u.feed, u.at, error);
            return;
        }
        if let (FeedId::Flags, Some(source)) = (u.feed, &u.source) {
            if matches!(u.result, Ok(Payload::Flags(_)) | Err(_)) {
                return self.merge_flags(source.clone(), u.at, u.result);
            }
        }
        if let (FeedId::Databases, Some(source)) = (u.feed, &u.source) {
            if matches!(u.result, Ok(Payload::Databases(_)) | Err(_)) {
                return self.merge_databases(source.clone(), u.at, u.result);
            }
        }
        let f = &mut self.fleet;
        let at = u.at;
        match (u.feed, u.result) {
            (_, Ok(Payload::Regions(v))) => {
                self.raw_regions = Some(v.clone());
                f.regions.set(at, Ok(v));
                self.overlay_regions();
            }
            (_, Ok(Payload::Weights(v))) => {
                f.traffic.set(at, Ok(v));
                self.overlay_regions();
            }
            (_, Ok(Payload::Databases(v))) => f.databases.set(at, Ok(v)),
            (_, Ok(Payload::Services(v))) => f.services.set(at, Ok(v)),
            (_, Ok(Payload::Metrics(v))) => f.metrics.set(at, Ok(v)),
            (_, Ok(Payload::MetricsFrom { traffic, error, note })) => {
                f.metrics.set_partial(at, traffic, error);
                f.metrics_note = note;
            }
            (_, Ok(Payload::Deployments(v))) => {
                f.deployments.set(at, Ok(v));
                f.note_rollouts(at);
            }
            // In the panes' order once here, not on every frame.
            (_, Ok(Payload::Circuits(mut v))) => {
                v.sort_by(crate::model::circuit_order);
                f.circuits.set(at, Ok(v))
            }
            (_, Ok(Payload::Flags(v))) => f.flags.set(at, Ok(v)),
            (_, Ok(Payload::Probes(v))) => f.probes.set(at, Ok(v)),
            (_, Ok(Payload::Alerts(v))) => f.alerts.set(at, Ok(v)),
            (_, Ok(Payload::Silenced { alerts, silences })) => {
                f.alerts.set(at, Ok(alerts));
                f.silences = Arc::new(silences);
            }
            (_, Ok(Payload::Action(e))) => f.record_action(e),
            (_, Ok(Payload::Post(p))) => self.posts.push(p),
            (_, Ok(Payload::Change(c))) => self.pending.push(c),
            (_, Ok(Payload::Range(r))) => {
                self.ranges.retain(|x| x.query != r.query);
                self.ranges.push(r);
                let extra = self.ranges.len().saturating_sub(crate::model::range::KEEP);
                self.ranges.drain(..extra);
            }
            (feed, Ok(Payload::NotConfigured(why))) => f.set_not_configured(feed, why),
            (_, Ok(Payload::Timed { .. } | Payload::Partial { .. })) => {}
            (FeedId::Regions, Err(e)) => f.regions.set(at, Err(e)),
            (FeedId::Services, Err(e)) => f.services.set(at, Err(e)),
            (FeedId::Metrics, Err(e)) => f.metrics.set(at, Err(e)),
            (FeedId::Deployments, Err(e)) => f.deployments.set(at, Err(e)),
            (FeedId::Circuits, Err(e)) => f.circuits.set(at, Err(e)),
            (FeedId::Flags, Err(e)) => f.flags.set(at, Err(e)),
            (FeedId::Probes, Err(e)) => f.probes.set(at, Err(e)),
            (FeedId::Alerts, Err(e)) => f.alerts.set(at, Err(e)),
            (FeedId::Traffic, Err(e)) => f.traffic.set(at, Err(e)),
            (FeedId::Databases, Err(e)) => f.databases.set(at, Err(e)),
        }
    }

    /// One source's flags (or its failure), merged with the others'.
    fn merge_flags(&mut self, source: Arc<str>, at: DateTime<Utc>, result: Result<Payload, FeedError>) {
        let result = match result {
            Ok(Payload::Flags(v)) => Ok(v),
            Err(e) => Err(e),
            Ok(_) => return,
        };
        merge(&mut self.flag_parts, &mut self.fleet.flags, source, at, result, |f, s| f.source = s.to_string());
    }

    /// One source's database clusters (or its failure), merged likewise.
    fn merge_databases(&mut self, source: Arc<str>, at: DateTime<Utc>, result: Result<Payload, FeedError>) {
        let result = match result {
            Ok(Payload::Databases(v)) => Ok(v),
            Err(e) => Err(e),
            Ok(_) => return,
        };
        merge(&mut self.db_parts, &mut self.fleet.databases, source, at, result, |d, s| {
            if d.source.is_empty() {
                d.source = s.to_string()
            }
        });
    }

    /// The regions as their source said, with the traffic provider's
    /// weights and health laid over them.
    fn overlay_regions(&mut self) {
        let (Some(raw), Some(weights)) = (&self.raw_regions, self.fleet.traffic.data.as_ref()) else { return };
        let mut v = raw.clone();
        crate::model::infra::overlay_traffic(&mut v, weights);
        self.fleet.regions.data = Some(Arc::new(v));
    }

    /// Derive and return a new snapshot of the current model, with what
    /// changed since the last one.
    pub fn snapshot(&mut self) -> Arc<Snapshot> {
        self.version += 1;
        let mut snap = crate::model::snapshot::derive_from(self.fleet.clone(), self.version, self.prev.as_deref());
        let now = self.last_at.unwrap_or_else(Utc::now);
        let at = snap.source_now(now);
        let mut new = match &self.prev {
            Some(p) => crate::model::changes::diff(p, &snap, now),
            None => Vec::new(),
        };
        let state = crate::model::rollup::fleet(&snap, now).state;
        match self.overall {
            Some((s, _)) if s == state => {}
            prev => {
                // From nothing-yet to the first state is the baseline, not a
                // change: since when is what the regions say, if they do.
                let baseline = prev.is_none_or(|(s, _)| s == Overall::NoData);
                let since = if baseline { baseline_since(&snap, state) } else { Some(at) };
                if let Some((s, _)) = prev.filter(|_| !baseline) {
                    new.push(Change {
                        at,
                        kind: ChangeKind::Fleet,
                        subject: "fleet".into(),
                        before: s.word().into(),
                        after: state.word().into(),
                        source: "warroom".into(),
                        severity: overall_severity(state),
                        region: None,
                        group: None,
                    });
                }
                self.overall = Some((state, since));
            }
        }
        new.append(&mut self.pending);
        new.sort_by_key(|c| c.at);
        for c in &new {
            self.changes.push(c.clone());
        }
        let posts = std::mem::take(&mut self.posts);
        let mut incident_changed = !new.is_empty() && self.incident.is_some();
        if let Some(inc) = self.incident.as_mut() {
            inc.timeline.extend(new.iter().filter(|c| c.at >= inc.impact_at).cloned());
        }
        for p in posts {
            if let Some(c) = self.post(p, &snap, now) {
                self.changes.push(c.clone());
                if let Some(inc) = self.incident.as_mut() {
                    inc.timeline.push(c.clone());
                }
                new.push(c);
                incident_changed = true;
            }
        }
        if let Some(j) = self.journal.as_mut() {
            if let Err(e) = j.append(&new, &self.changes) {
                self.changes_note = Some(e);
            }
        }
        if incident_changed {
            self.write_incident();
        }
        snap.changes = self.changes.clone();
        snap.changes_note = self.changes_note.clone();
        snap.state_since = self.overall.and_then(|(_, t)| t);
        snap.incident = self.incident.as_ref().map(|i| Arc::new(i.clone()));
        snap.links = self.history.links.clone();
        snap.ranges = self.ranges.clone();
        let snap = Arc::new(snap);
        self.prev = Some(snap.clone());
        snap
    }

    /// A console's note or incident step: the event it makes (`now` in
    /// our clock; events are dated in the fleet's).
    fn post(&mut self, p: Post, snap: &Snapshot, now: DateTime<Utc>) -> Option<Change> {
        let at = snap.source_now(now);
        let ev = |kind, subject: String, after: String, source: &str, severity| {
            Change::new(at, kind, subject, after, source, severity)
        };
        match p {
            Post::Change(mut c) => {
                c.at += at - now;
                Some(c)
            }
            Post::Note { text, operator } => {
                Some(ev(ChangeKind::Note, format!("note by {operator}"), text, &operator, Severity::Info))
            }
            Post::IncidentStart { title, severity, operator } => {
                if self.incident.is_some() {
                    return None;
                }
                // The impact began with the earliest warning since the fleet
                // was last all OK (within a day).
                let mut impact_at = at;
                let mut recent: Vec<&Change> =
                    self.changes.newest().take_while(|c| (at - c.at).num_hours() < 24).collect();
                recent.sort_by_key(|c| std::cmp::Reverse(c.at));
                for c in recent {
                    if c.kind == ChangeKind::Fleet && c.after == Overall::Ok.word() {
                        break;
                    }
                    if c.severity >= Severity::Warn {
                        impact_at = impact_at.min(c.at);
                    }
                }
                let (slos_open, metrics_open_at) = crate::model::incident::marks(snap, now);
                let down_at_impact = snap
                    .fleet
                    .regions
                    .items()
                    .iter()
                    .filter(|r| r.status == crate::model::RegionStatus::Down)
                    .filter_map(|r| {
                        let since = r.since.unwrap_or(impact_at);
                        (since <= impact_at)
                            .then(|| crate::model::incident::DownSince { region: r.name.clone(), since })
                    })
                    .collect();
                let id = format!("INC-{}", at.format("%Y%m%d-%H%M%S"));
                let timeline = self.changes.iter().filter(|c| c.at >= impact_at).cloned().collect();
                self.incident = Some(Incident {
                    id: id.clone(),
                    title: title.clone(),
                    severity: severity.clone(),
                    commander: operator.clone(),
                    opened_at: at,
                    impact_at,
                    resolved_at: None,
                    resolved_by: None,
                    slos_open,
                    slos_end: Vec::new(),
                    metrics_open_at,
                    metrics_end_at: None,
                    down_at_impact,
                    timeline,
                    business: self.history.business.to_vec(),
                });
                Some(ev(ChangeKind::Incident, id, format!("opened {severity}: {title}"), &operator, Severity::Warn))
            }
            Post::IncidentResolve { operator } => {
                let inc = self.incident.as_mut()?;
                let (slos_end, metrics_end_at) = crate::model::incident::marks(snap, now);
                inc.resolved_at = Some(at);
                inc.resolved_by = Some(operator.clone());
                inc.slos_end = slos_end;
                inc.metrics_end_at = metrics_end_at;
                let c = ev(ChangeKind::Incident, inc.id.clone(), "resolved".into(), &operator, Severity::Ok);
                inc.timeline.push(c.clone());
                self.write_incident();
                // Closed: the caller puts the event in the log only.
                self.incident = None;
                Some(c)
            }
        }
    }

    /// Write the open (or just resolved) incident's file.
    fn write_incident(&mut self) {
        let (Some(dir), Some(inc)) = (&self.history.incidents, &self.incident) else { return };
        if let Err(e) = crate::history::write_incident(dir, inc) {
            self.changes_note = Some(e);
        }
    }
}

/// Since when the fleet has been in `state` before this console looked: the
/// regions' own `since` for a DOWN or DEGRADED fleet, where they say.
fn baseline_since(snap: &Snapshot, state: Overall) -> Option<DateTime<Utc>> {
    use crate::model::RegionStatus;
    let status = match state {
        Overall::Critical => RegionStatus::Down,
        Overall::Degraded => RegionStatus::Degraded,
        _ => return None,
    };
    snap.fleet.regions.items().iter().filter(|r| r.status == status).filter_map(|r| r.since).min()
}

fn overall_severity(s: Overall) -> Severity {
    match s {
        Overall::Ok => Severity::Ok,
        Overall::Critical => Severity::Critical,
        Overall::NoData => Severity::Info,
        _ => Severity::Warn,
    }
}

/// Run the store until every sender is gone: apply all queued updates, then
/// publish one snapshot (bursts of updates cost one derive).
pub async fn run_store(mut store: Store, mut rx: mpsc::Receiver<Update>, tx: watch::Sender<Arc<Snapshot>>) {
    while let Some(u) = rx.recv().await {
        store.apply(u);
        while let Ok(more) = rx.try_recv() {
            store.apply(more);
        }
        if tx.send(store.snapshot()).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Flag;
    use chrono::Utc;

    fn flag(on: bool) -> Payload {
        Payload::Flags(vec![Flag { name: "f".into(), environment: "prod".into(), enabled: on, ..Default::default() }])
    }

    #[test]
    fn apply_sets_data_and_errors_per_feed() {
        let mut s = Store::new(&Intervals::default());
        let now = Utc::now();
        s.apply(Update { source: None, feed: FeedId::Flags, at: now, result: Ok(flag(true)) });
        s.apply(Update { source: None, feed: FeedId::Metrics, at: now, result: Err("HTTP 503".into()) });
        let snap = s.snapshot();
        assert_eq!(snap.fleet.flags.items().len(), 1);
        assert_eq!(snap.fleet.metrics.error_text().as_deref(), Some("HTTP 503"));
        assert!(snap.fleet.flags.error.is_none());
        assert_eq!(snap.version, 1);
        assert_eq!(s.snapshot().version, 2);
    }

    #[test]
    fn flags_from_several_sources_are_merged_each_naming_its_source() {
        let mut s = Store::new(&Intervals::default());
        let t0 = Utc::now();
        let t1 = t0 + chrono::Duration::seconds(20);
        let from = |src: &str, at, result| Update { source: Some(Arc::from(src)), feed: FeedId::Flags, at, result };
        s.apply(from("control-plane", t0, Ok(flag(true))));
        s.apply(from("unleash:default", t1, Ok(flag(false))));
        let snap = s.snapshot();
        let f = &snap.fleet.flags;
        let sources: Vec<(&str, bool)> = f.items().iter().map(|x| (x.source.as_str(), x.enabled)).collect();
        assert_eq!(sources, vec![("control-plane", true), ("unleash:default", false)]);
        assert_eq!(f.observed_at, Some(t0), "the age is the oldest part's");
        assert!(f.error.is_none());
        // One source fails: its flags stay (marked by the error), the other's are fresh.
        s.apply(from("unleash:default", t1, Err(FeedError::Http { status: 500, body: String::new() })));
        s.apply(from("control-plane", t1, Ok(flag(true))));
        let snap = s.snapshot();
        let f = &snap.fleet.flags;
        assert_eq!(f.items().len(), 2, "a failing source's last flags are kept");
        assert_eq!(f.error_text().as_deref(), Some("unleash:default: HTTP 500"));
        assert_eq!(f.errors, 1);
        // Both fail and none ever answered: the feed fails.
        let mut s = Store::new(&Intervals::default());
        s.apply(from("a", t0, Err("refused".into())));
        s.apply(from("b", t0, Err("refused".into())));
        let snap = s.snapshot();
        assert!(snap.fleet.flags.items().is_empty());
        assert_eq!(snap.fleet.flags.error_text().as_deref(), Some("a: refused · b: refused"));
    }

    #[test]
    fn one_bad_record_is_dropped_and_named_the_rest_kept() {
        let mut s = Store::new(&Intervals::default());
        let good = |id: &str, total: i64| {
            serde_json::json!({
                "id": id, "service": "checkout", "region": "us-east-1", "strategy": "canary", "phase": "Paused",
                "message": "", "revision": {"stable": "41", "canary": "42"}, "steps": [10.0, 100.0],
                "step": {"index": 0, "total": total}, "weight": 10.0
            })
        };
        let body = serde_json::json!({"deployments": [good("a/use1", 2), good("b/use1", -1), good("c/use1", 2)]});
        let p = crate::sources::control_plane::decode(FeedId::Deployments, body.to_string().as_bytes());
        s.apply(Update { source: None, feed: FeedId::Deployments, at: Utc::now(), result: p });
        let snap = s.snapshot();
        let d = &snap.fleet.deployments;
        assert_eq!(d.items().iter().map(|x| x.id.as_str()).collect::<Vec<_>>(), vec!["a/use1", "c/use1"]);
        let e = d.error_text().unwrap_or_default();
        assert!(e.starts_with("1 bad deployment record(s) dropped: b/use1: invalid value"), "{e}");
    }

    #[test]
    fn ages_count_in_the_source_clock() {
        // A simulator at 10×: its clock runs 9 minutes ahead of ours.
        let mut s = Store::new(&Intervals::default());
        let now = Utc::now();
        let source_at = now + chrono::Duration::minutes(9);
        let body = serde_json::json!({
            "observedAt": source_at.to_rfc3339(),
            "circuits": [{"from": "a", "to": "b", "region": "r1", "state": "OPEN",
                          "since": (source_at - chrono::Duration::minutes(2)).to_rfc3339()}]
        });
        let p = crate::sources::control_plane::decode(FeedId::Circuits, body.to_string().as_bytes());
        assert!(matches!(p, Ok(Payload::Timed { .. })));
        s.apply(Update { source: None, feed: FeedId::Circuits, at: now, result: p });
        let snap = s.snapshot();
        let c = &snap.fleet.circuits;
        let since = c.items()[0].since.unwrap_or(now);
        assert!((c.age_of(since, now) - 120.0).abs() < 1.0, "2 minutes in the source's clock, not 0s");
    }

    #[test]
    fn ten_thousand_events_stay_bounded_and_survive_a_restart() {
        use crate::model::changes::{Change, ChangeKind, Severity};
        let dir = std::env::temp_dir().join(format!("warroom-store-history-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let history = History {
            file: Some(dir.join("changes.jsonl")),
            keep: 2_000,
            incidents: Some(dir.join("incidents")),
            ..Default::default()
        };
        let mut s = Store::new(&Intervals::default()).with_history(history.clone());
        let t0 = Utc::now();
        for i in 0..10_500 {
            let at = t0 + chrono::Duration::milliseconds(i);
            let c = Change::new(at, ChangeKind::Note, format!("n{i}"), "x".into(), "t", Severity::Info);
            s.apply(Update { source: None, feed: FeedId::Metrics, at: t0, result: Ok(Payload::Change(c)) });
            if i % 100 == 99 {
                s.snapshot();
            }
        }
        let snap = s.snapshot();
        assert!(snap.changes.len() >= 2_000 && snap.changes.len() < 2_000 + 256, "{}", snap.changes.len());
        let lines = std::fs::read_to_string(dir.join("changes.jsonl")).unwrap_or_default().lines().count();
        assert!(lines <= 2 * 2_000 + 100, "the journal is compacted: {lines} lines");
        drop(s);
        let mut again = Store::new(&Intervals::default()).with_history(history);
        let snap = again.snapshot();
        assert_eq!(snap.changes.newest().next().map(|c| c.subject.as_str()), Some("n10499"));
        assert!(snap.changes.len() >= 2_000, "{}", snap.changes.len());
        assert!(snap.changes_note.is_none(), "{:?}", snap.changes_note);
    }

    #[tokio::test]
    async fn run_store_publishes_after_updates() {
        let (tx, rx) = mpsc::channel(8);
        let (wtx, mut wrx) = watch::channel(Arc::new(Snapshot::default()));
        let task = tokio::spawn(run_store(Store::new(&Intervals::default()), rx, wtx));
        let sent = tx.send(Update { source: None, feed: FeedId::Flags, at: Utc::now(), result: Ok(flag(false)) }).await;
        assert!(sent.is_ok());
        assert!(wrx.changed().await.is_ok());
        assert_eq!(wrx.borrow().fleet.flags.items().len(), 1);
        drop(tx);
        assert!(task.await.is_ok());
    }
}
