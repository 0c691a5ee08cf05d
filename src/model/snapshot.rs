//! The store's state (`Fleet`) and what it publishes (`Snapshot`): the raw
//! feeds plus everything derived from them once, for every viewer.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::slo::{self, AlertState, WINDOWS};
use super::*;

/// One kind of data and the source task that feeds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum FeedId {
    Regions,
    Services,
    Metrics,
    Deployments,
    Circuits,
    Flags,
    Probes,
    Alerts,
    /// Per-region weights and health checks from a DNS traffic provider.
    Traffic,
    /// Database clusters (merged from every source that has some).
    Databases,
}

pub const FEEDS: [FeedId; 10] = [
    FeedId::Regions,
    FeedId::Services,
    FeedId::Metrics,
    FeedId::Deployments,
    FeedId::Circuits,
    FeedId::Flags,
    FeedId::Probes,
    FeedId::Alerts,
    FeedId::Traffic,
    FeedId::Databases,
];

impl FeedId {
    pub fn name(self) -> &'static str {
        match self {
            FeedId::Regions => "regions",
            FeedId::Services => "services",
            FeedId::Metrics => "metrics",
            FeedId::Deployments => "deploys",
            FeedId::Circuits => "circuits",
            FeedId::Flags => "flags",
            FeedId::Probes => "probes",
            FeedId::Alerts => "alerts",
            FeedId::Traffic => "traffic",
            FeedId::Databases => "databases",
        }
    }
}

/// Where a feed stands: what the header and the roll-ups may rely on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FeedState {
    /// No source is configured for it: says so, never counts as a failure.
    NotConfigured,
    /// Nothing has arrived yet, and nothing has failed.
    Waiting,
    Fresh,
    /// Older than three intervals.
    Stale,
    /// The last attempt failed (last data, if any, kept).
    Failing,
}

/// Latest data of one feed with the time it was observed and the last error.
#[derive(Debug, Clone)]
pub struct Feed<T> {
    pub data: Option<Arc<Vec<T>>>,
    pub observed_at: Option<DateTime<Utc>>,
    pub error: Option<super::FeedError>,
    pub error_at: Option<DateTime<Utc>>,
    /// Poll interval: data older than three intervals is stale.
    pub interval: Duration,
    /// Why no source feeds this (`not configured: add [alertmanager] …`):
    /// a state, not a failure — never stale, never an error.
    pub not_configured: Option<String>,
    /// The source's clock minus ours when the data arrived (its
    /// `observedAt`): ages of the source's timestamps are counted in its
    /// clock — simulated time in the demo.
    pub source_offset: Option<chrono::Duration>,
    /// Failed attempts since start (for a server's exit summary and soaks).
    pub errors: u64,
}

impl<T> Default for Feed<T> {
    fn default() -> Self {
        Feed {
            data: None,
            observed_at: None,
            error: None,
            error_at: None,
            interval: Duration::from_secs(5),
            not_configured: None,
            source_offset: None,
            errors: 0,
        }
    }
}

impl<T> Feed<T> {
    pub fn items(&self) -> &[T] {
        self.data.as_deref().map(Vec::as_slice).unwrap_or(&[])
    }

    /// Seconds since the data was observed.
    pub fn age(&self, now: DateTime<Utc>) -> Option<f64> {
        self.observed_at.map(|t| ((now - t).num_milliseconds() as f64 / 1000.0).max(0.0))
    }

    /// Stale after three missed intervals, or when nothing has arrived and an
    /// error has.
    pub fn is_stale(&self, now: DateTime<Utc>) -> bool {
        if self.not_configured.is_some() {
            return false;
        }
        match self.age(now) {
            Some(age) => age > 3.0 * self.interval.as_secs_f64(),
            None => self.error.is_some(),
        }
    }

    /// `now` in the source's clock.
    pub fn source_now(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        now + self.source_offset.unwrap_or_else(chrono::Duration::zero)
    }

    /// Seconds from a timestamp of the source's to `now`, in its clock.
    pub fn age_of(&self, t: DateTime<Utc>, now: DateTime<Utc>) -> f64 {
        ((self.source_now(now) - t).num_milliseconds() as f64 / 1000.0).max(0.0)
    }

    /// Fresh data: observed, not stale, configured.
    pub fn is_fresh(&self, now: DateTime<Utc>) -> bool {
        self.not_configured.is_none() && self.observed_at.is_some() && !self.is_stale(now)
    }

    /// Where this feed stands at `now`, without its data type.
    pub fn state(&self, now: DateTime<Utc>) -> FeedState {
        if self.not_configured.is_some() {
            FeedState::NotConfigured
        } else if self.error.is_some() {
            FeedState::Failing
        } else if self.is_stale(now) {
            FeedState::Stale
        } else if self.observed_at.is_none() {
            FeedState::Waiting
        } else {
            FeedState::Fresh
        }
    }

    /// New data that is not the whole story: shown, with the error beside it.
    pub fn set_partial(&mut self, at: DateTime<Utc>, items: Vec<T>, error: Option<String>) {
        self.data = Some(Arc::new(items));
        self.observed_at = Some(at);
        self.error_at = error.as_ref().map(|_| at);
        self.error = error.map(super::FeedError::Source);
    }

    /// The last error in words, for a pane's error line.
    pub fn error_text(&self) -> Option<String> {
        self.error.as_ref().map(ToString::to_string)
    }

    pub fn set(&mut self, at: DateTime<Utc>, result: Result<Vec<T>, super::FeedError>) {
        match result {
            Ok(v) => {
                self.data = Some(Arc::new(v));
                self.observed_at = Some(at);
                self.error = None;
                self.error_at = None;
            }
            Err(e) => {
                self.error = Some(e);
                self.error_at = Some(at);
                self.errors = self.errors.saturating_add(1);
            }
        }
    }
}

/// Everything the store knows.
#[derive(Debug, Clone, Default)]
pub struct Fleet {
    pub regions: Feed<Region>,
    pub services: Feed<Service>,
    pub metrics: Feed<Traffic>,
    pub deployments: Feed<Deployment>,
    pub circuits: Feed<Circuit>,
    pub flags: Feed<Flag>,
    pub probes: Feed<Probe>,
    pub alerts: Feed<Alert>,
    /// Alertmanager's active and pending silences, read with the alerts
    /// (the alerts feed's age and errors are theirs too).
    pub silences: Arc<Vec<super::Silence>>,
    /// Route 53 (or another traffic provider): weights and health per region.
    pub traffic: Feed<RegionWeight>,
    pub databases: Feed<Database>,
    /// Recent operator actions, newest last (bounded).
    pub actions: Vec<ActionEntry>,
    /// Per deployment: its observed changes (phase, step, weight, verdict),
    /// newest last, bounded — the analysis history of the drill-down.
    pub rollout_history: HashMap<String, Vec<RolloutPoint>>,
    /// What the metrics source costs, if it says ("CloudWatch · 42 metrics/min ≈ $18/month").
    pub metrics_note: Option<String>,
}

/// One observed state of a rollout.
#[derive(Debug, Clone, PartialEq)]
pub struct RolloutPoint {
    pub at: DateTime<Utc>,
    pub phase: CanaryPhase,
    pub step_index: usize,
    pub weight: f64,
    pub verdict: Option<String>,
    pub canary_error_ratio: Option<f64>,
    pub canary_p99_ms: Option<f64>,
}

/// Changes kept per deployment.
pub const ROLLOUT_HISTORY_LEN: usize = 50;

/// Entries kept in the action log.
pub const ACTION_LOG_LEN: usize = 200;

impl Fleet {
    /// Record each deployment's state when it differs from the last one seen.
    pub fn note_rollouts(&mut self, at: DateTime<Utc>) {
        let items: Vec<Deployment> = self.deployments.items().to_vec();
        for d in &items {
            let point = RolloutPoint {
                at,
                phase: d.phase,
                step_index: d.step_index,
                weight: d.weight,
                verdict: d.analysis.as_ref().map(|a| a.verdict.clone()),
                canary_error_ratio: d.analysis.as_ref().map(|a| a.canary_error_ratio).filter(|x| x.is_finite()),
                canary_p99_ms: d.analysis.as_ref().map(|a| a.canary_p99_ms),
            };
            let h = self.rollout_history.entry(d.id.clone()).or_default();
            let changed = h.last().is_none_or(|p| {
                (p.phase, p.step_index, p.verdict.as_deref())
                    != (point.phase, point.step_index, point.verdict.as_deref())
                    || (p.weight - point.weight).abs() > f64::EPSILON
            });
            if changed {
                h.push(point);
                if h.len() > ROLLOUT_HISTORY_LEN {
                    h.remove(0);
                }
            }
        }
        // Forget deployments that no longer exist, so the map cannot grow.
        let ids: std::collections::HashSet<&str> = items.iter().map(|d| d.id.as_str()).collect();
        self.rollout_history.retain(|k, _| ids.contains(k.as_str()));
    }

    /// Insert or update an action entry by idempotency key.
    pub fn record_action(&mut self, e: ActionEntry) {
        match self.actions.iter_mut().find(|x| x.key == e.key) {
            Some(x) => *x = e,
            None => {
                self.actions.push(e);
                if self.actions.len() > ACTION_LOG_LEN {
                    let extra = self.actions.len() - ACTION_LOG_LEN;
                    self.actions.drain(..extra);
                }
            }
        }
    }

    pub fn actions_in_flight(&self) -> usize {
        self.actions.iter().filter(|a| a.status == ActionStatus::InFlight).count()
    }
}

impl Fleet {
    /// When a feed was last observed, its last error, and whether it is
    /// stale at `now` (the feed's own rule), without its data type.
    pub fn feed_meta(
        &self,
        id: FeedId,
        now: DateTime<Utc>,
    ) -> (Option<DateTime<Utc>>, Option<&super::FeedError>, bool) {
        fn meta<T>(f: &Feed<T>, now: DateTime<Utc>) -> (Option<DateTime<Utc>>, Option<&super::FeedError>, bool) {
            (f.observed_at, f.error.as_ref(), f.is_stale(now))
        }
        match id {
            FeedId::Regions => meta(&self.regions, now),
            FeedId::Services => meta(&self.services, now),
            FeedId::Metrics => meta(&self.metrics, now),
            FeedId::Deployments => meta(&self.deployments, now),
            FeedId::Circuits => meta(&self.circuits, now),
            FeedId::Flags => meta(&self.flags, now),
            FeedId::Probes => meta(&self.probes, now),
            FeedId::Alerts => meta(&self.alerts, now),
            FeedId::Traffic => meta(&self.traffic, now),
            FeedId::Databases => meta(&self.databases, now),
        }
    }

    /// A feed's state at `now` (see `FeedState`).
    pub fn feed_state(&self, id: FeedId, now: DateTime<Utc>) -> FeedState {
        match id {
            FeedId::Regions => self.regions.state(now),
            FeedId::Services => self.services.state(now),
            FeedId::Metrics => self.metrics.state(now),
            FeedId::Deployments => self.deployments.state(now),
            FeedId::Circuits => self.circuits.state(now),
            FeedId::Flags => self.flags.state(now),
            FeedId::Probes => self.probes.state(now),
            FeedId::Alerts => self.alerts.state(now),
            FeedId::Traffic => self.traffic.state(now),
            FeedId::Databases => self.databases.state(now),
        }
    }

    /// Failed attempts of a feed since start.
    pub fn feed_errors(&self, id: FeedId) -> u64 {
        match id {
            FeedId::Regions => self.regions.errors,
            FeedId::Services => self.services.errors,
            FeedId::Metrics => self.metrics.errors,
            FeedId::Deployments => self.deployments.errors,
            FeedId::Circuits => self.circuits.errors,
            FeedId::Flags => self.flags.errors,
            FeedId::Probes => self.probes.errors,
            FeedId::Alerts => self.alerts.errors,
            FeedId::Traffic => self.traffic.errors,
            FeedId::Databases => self.databases.errors,
        }
    }

    /// "regions 3, metrics 1" for the feeds that failed since start, or "none".
    pub fn error_summary(&self) -> String {
        let parts: Vec<String> = crate::model::FEEDS
            .iter()
            .filter_map(|id| {
                let n = self.feed_errors(*id);
                (n > 0).then(|| format!("{} {n}", id.name()))
            })
            .collect();
        if parts.is_empty() {
            "none".into()
        } else {
            parts.join(", ")
        }
    }

    /// Record the source's clock offset for a feed (deployments and
    /// circuits carry `observedAt`).
    pub fn set_source_offset(&mut self, id: FeedId, offset: chrono::Duration) {
        let o = Some(offset);
        match id {
            FeedId::Regions => self.regions.source_offset = o,
            FeedId::Services => self.services.source_offset = o,
            FeedId::Metrics => self.metrics.source_offset = o,
            FeedId::Deployments => self.deployments.source_offset = o,
            FeedId::Circuits => self.circuits.source_offset = o,
            FeedId::Flags => self.flags.source_offset = o,
            FeedId::Probes => self.probes.source_offset = o,
            FeedId::Alerts => self.alerts.source_offset = o,
            FeedId::Traffic => self.traffic.source_offset = o,
            FeedId::Databases => self.databases.source_offset = o,
        }
    }

    /// An error beside data that did arrive (bad records dropped).
    pub fn set_error(&mut self, id: FeedId, at: DateTime<Utc>, error: String) {
        fn set<T>(f: &mut Feed<T>, at: DateTime<Utc>, e: String) {
            f.error = Some(super::FeedError::Source(e));
            f.error_at = Some(at);
        }
        match id {
            FeedId::Regions => set(&mut self.regions, at, error),
            FeedId::Services => set(&mut self.services, at, error),
            FeedId::Metrics => set(&mut self.metrics, at, error),
            FeedId::Deployments => set(&mut self.deployments, at, error),
            FeedId::Circuits => set(&mut self.circuits, at, error),
            FeedId::Flags => set(&mut self.flags, at, error),
            FeedId::Probes => set(&mut self.probes, at, error),
            FeedId::Alerts => set(&mut self.alerts, at, error),
            FeedId::Traffic => set(&mut self.traffic, at, error),
            FeedId::Databases => set(&mut self.databases, at, error),
        }
    }

    /// Mark a feed as having no source configured.
    pub fn set_not_configured(&mut self, id: FeedId, why: String) {
        let w = Some(why);
        match id {
            FeedId::Regions => self.regions.not_configured = w,
            FeedId::Services => self.services.not_configured = w,
            FeedId::Metrics => self.metrics.not_configured = w,
            FeedId::Deployments => self.deployments.not_configured = w,
            FeedId::Circuits => self.circuits.not_configured = w,
            FeedId::Flags => self.flags.not_configured = w,
            FeedId::Probes => self.probes.not_configured = w,
            FeedId::Alerts => self.alerts.not_configured = w,
            FeedId::Traffic => self.traffic.not_configured = w,
            FeedId::Databases => self.databases.not_configured = w,
        }
    }
}

/// Health of one service in one region, combined from probes and traffic.
#[derive(Debug, Clone, PartialEq)]
pub struct CellHealth {
    pub status: RegionStatus,
    pub reason: String,
}

/// Budget and burn of one SLO, summed over regions.
#[derive(Debug, Clone, PartialEq)]
pub struct SloStatus {
    pub service: String,
    pub name: String,
    pub kind: SloKind,
    pub objective: f64,
    pub period: SloPeriod,
    /// Hours in the period (a calendar month's own length).
    pub period_hours: f64,
    /// Events in the period so far.
    pub total: f64,
    /// Bad events the period allows at this traffic: (1 − objective) × total.
    pub allowed_bad: Option<f64>,
    /// Bad events so far.
    pub consumed_bad: Option<f64>,
    /// Share of the budget left (negative = overspent).
    pub remaining: Option<f64>,
    /// Burn rate per window in `slo::WINDOWS` order; `None` = no data or too
    /// little traffic to say.
    pub burns: Vec<(&'static str, Option<f64>)>,
    pub state: AlertState,
    pub hours_to_exhaustion: Option<f64>,
    /// Traffic too low in the short windows to judge burn rates.
    pub low_traffic: bool,
    /// The period so far holds too few events to judge its budget (early
    /// in a calendar month): shown as counts, not as a share.
    pub early_in_period: bool,
    /// Budget left at the end of each of the last days (oldest first), for charts.
    pub daily_remaining: Vec<f64>,
    /// Hours of history behind the period's counts: the longest any region's
    /// source reports (`None`: no source says). Less than `period_hours`
    /// means the budget is that window's, not the whole period's.
    pub history_hours: Option<f64>,
    /// Hours the period's counts window spans now (a calendar month: since
    /// its first day began).
    pub period_so_far_hours: f64,
}

impl SloStatus {
    pub fn burn(&self, window: &str) -> Option<f64> {
        self.burns.iter().find(|(w, _)| *w == window).and_then(|(_, b)| *b)
    }
}

/// What viewers render: immutable, shared behind an `Arc`.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    pub fleet: Fleet,
    /// Service × region health: service → region → health.
    pub cells: Arc<HashMap<String, HashMap<String, CellHealth>>>,
    /// Index into `fleet.metrics`: service → region → position.
    pub traffic_index: Arc<HashMap<String, HashMap<String, usize>>>,
    pub slos: Arc<Vec<SloStatus>>,
    /// Bumped on every publish, so viewers can tell snapshots apart.
    pub version: u64,
    /// What changed, newest last (the store's bounded log).
    pub changes: super::changes::ChangeLog,
    /// Why some of the kept history could not be read, if so.
    pub changes_note: Option<String>,
    /// Since when the fleet has been in its current overall state (the
    /// fleet's clock), once the store has seen it change.
    pub state_since: Option<DateTime<Utc>>,
    /// The open incident, if any.
    pub incident: Option<Arc<super::incident::Incident>>,
    /// Jump-out link templates from the configuration (`[[link]]`).
    pub links: Arc<Vec<JumpLink>>,
    /// Range queries answered for charts (`[`/`]`, `c`), newest last.
    pub ranges: Vec<Arc<super::range::RangeSeries>>,
}

impl Snapshot {
    /// The newest answer to `q`, if one has arrived.
    pub fn range(&self, q: &super::range::RangeQuery) -> Option<&Arc<super::range::RangeSeries>> {
        self.ranges.iter().rev().find(|r| &r.query == q)
    }
}

/// A jump-out link template: `{service}`, `{region}`, `{from}`, `{to}`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct JumpLink {
    pub name: String,
    pub template: String,
    /// Only for this service.
    pub service: Option<String>,
}

impl Snapshot {
    /// The fleet's clock at our `now`: the control plane's (its
    /// `observedAt`, simulated time in the demo), else ours.
    pub fn source_now(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let f = &self.fleet;
        // The freshest feed's: a simulator running faster than real time
        // moves its offset on between polls.
        let offset = [
            (f.regions.observed_at, f.regions.source_offset),
            (f.deployments.observed_at, f.deployments.source_offset),
            (f.circuits.observed_at, f.circuits.source_offset),
            (f.metrics.observed_at, f.metrics.source_offset),
            (f.alerts.observed_at, f.alerts.source_offset),
        ]
        .into_iter()
        .filter_map(|(at, o)| Some((at?, o?)))
        .max_by_key(|(at, _)| *at)
        .map(|(_, o)| o);
        now + offset.unwrap_or_else(chrono::Duration::zero)
    }

    pub fn cell(&self, service: &str, region: &str) -> Option<&CellHealth> {
        self.cells.get(service)?.get(region)
    }

    /// Every cell, in no particular order.
    pub fn all_cells(&self) -> impl Iterator<Item = &CellHealth> {
        self.cells.values().flat_map(|m| m.values())
    }

    /// A service's latency SLA (the seed's when the service is not known).
    pub fn sla(&self, service: &str) -> Sla {
        self.fleet.services.items().iter().find(|s| s.name == service).map(|s| s.sla).unwrap_or_default()
    }

    pub fn traffic(&self, service: &str, region: &str) -> Option<&Traffic> {
        let i = *self.traffic_index.get(service)?.get(region)?;
        self.fleet.metrics.items().get(i)
    }

    /// Traffic of one service in every region.
    pub fn service_traffic(&self, service: &str) -> Vec<&Traffic> {
        service_traffic(&self.traffic_index, self.fleet.metrics.items(), service)
    }
}

fn service_traffic<'a>(
    index: &HashMap<String, HashMap<String, usize>>,
    items: &'a [Traffic],
    service: &str,
) -> Vec<&'a Traffic> {
    index.get(service).map(|m| m.values().filter_map(|&i| items.get(i)).collect()).unwrap_or_default()
}

/// The burn window the exhaustion estimate uses (and the pane shows).
pub const EXHAUSTION_WINDOW: &str = "1h";

/// Derive health cells and SLO status from the raw feeds. "Now" for
/// calendar periods is when the metrics were observed.
pub fn derive(fleet: Fleet, version: u64) -> Snapshot {
    derive_from(fleet, version, None)
}

/// Whether two feeds hold the very same data (the store replaces a feed's
/// `Arc` only when an update brings new data).
fn same<T>(a: &Feed<T>, b: &Feed<T>) -> bool {
    match (&a.data, &b.data) {
        (Some(x), Some(y)) => Arc::ptr_eq(x, y),
        (None, None) => true,
        _ => false,
    }
}

/// `derive`, reusing the previous snapshot's cells and SLOs when what they
/// are computed from did not change: an update of deployments, circuits,
/// flags, alerts, regions or databases derives nothing again.
pub fn derive_from(fleet: Fleet, version: u64, prev: Option<&Snapshot>) -> Snapshot {
    let inputs_same = |p: &Snapshot| same(&p.fleet.metrics, &fleet.metrics) && same(&p.fleet.services, &fleet.services);
    if let Some(p) = prev.filter(|p| inputs_same(p) && p.fleet.metrics.observed_at == fleet.metrics.observed_at) {
        let (cells, traffic_index) = if same(&p.fleet.probes, &fleet.probes) {
            (p.cells.clone(), p.traffic_index.clone())
        } else {
            let (c, t) = derive_cells(&fleet);
            (Arc::new(c), Arc::new(t))
        };
        let slos = p.slos.clone();
        return Snapshot { fleet, cells, traffic_index, slos, version, ..Snapshot::default() };
    }
    let (cells, traffic_index) = derive_cells(&fleet);
    let slos = derive_slos(&fleet, &traffic_index);
    Snapshot {
        fleet,
        cells: Arc::new(cells),
        traffic_index: Arc::new(traffic_index),
        slos: Arc::new(slos),
        version,
        ..Snapshot::default()
    }
}

type Cells = HashMap<String, HashMap<String, CellHealth>>;

/// `map[service][region] = v`, copying the service's name only when it is
/// new (not once per region).
fn insert_cell<V>(map: &mut HashMap<String, HashMap<String, V>>, t: &Traffic, v: V) {
    match map.get_mut(t.service.as_str()) {
        Some(m) => {
            m.insert(t.region.clone(), v);
        }
        None => {
            map.insert(t.service.clone(), HashMap::from([(t.region.clone(), v)]));
        }
    }
}
type TrafficIndex = HashMap<String, HashMap<String, usize>>;

/// Each service × region's health from its traffic and probes.
fn derive_cells(fleet: &Fleet) -> (Cells, TrafficIndex) {
    let mut cells: HashMap<String, HashMap<String, CellHealth>> = HashMap::new();
    let mut traffic_index: HashMap<String, HashMap<String, usize>> = HashMap::new();
    let mut probes: HashMap<(&str, &str), Vec<&Probe>> = HashMap::new();
    for p in fleet.probes.items() {
        probes.entry((p.service.as_str(), p.region.as_str())).or_default().push(p);
    }
    for ps in probes.values_mut() {
        ps.sort_by_key(|p| p.kind == ProbeKind::Ready);
    }
    let slas: HashMap<&str, Sla> = fleet.services.items().iter().map(|s| (s.name.as_str(), s.sla)).collect();
    for (i, t) in fleet.metrics.items().iter().enumerate() {
        let ps = probes.remove(&(t.service.as_str(), t.region.as_str())).unwrap_or_default();
        let sla = slas.get(t.service.as_str()).copied().unwrap_or_default();
        // The service's name is copied once per service, not per region.
        let health = cell_health(Some(t), &ps, &sla);
        insert_cell(&mut cells, t, health);
        insert_cell(&mut traffic_index, t, i);
    }
    for ((s, r), ps) in probes {
        cells.entry(s.to_string()).or_default().insert(r.to_string(), cell_health(None, &ps, &Sla::default()));
    }
    (cells, traffic_index)
}

/// Every service's SLOs from its traffic. "Now" for calendar periods is
/// when the metrics were observed.
fn derive_slos(fleet: &Fleet, traffic_index: &TrafficIndex) -> Vec<SloStatus> {
    let now = fleet.metrics.observed_at.unwrap_or_else(Utc::now);
    fleet
        .services
        .items()
        .iter()
        .flat_map(|svc| {
            let mine = service_traffic(traffic_index, fleet.metrics.items(), &svc.name);
            svc.slos.iter().map(move |spec| slo_status(&svc.name, spec, &mine, now)).collect::<Vec<_>>()
        })
        .collect()
}

/// `health DOWN: db DOWN` — unless the detail only repeats the word.
fn with_detail(head: String, detail: &str) -> String {
    let d = detail.trim();
    if d.is_empty() || d.eq_ignore_ascii_case("down") || d.eq_ignore_ascii_case("DOWN (HTTP 503)") {
        head
    } else {
        format!("{head}: {d}")
    }
}

fn cell_health(t: Option<&Traffic>, probes: &[&Probe], sla: &Sla) -> CellHealth {
    let mut reasons = Vec::new();
    let mut status = RegionStatus::Ok;
    let mut worsen = |s: RegionStatus, why: String, status: &mut RegionStatus| {
        let rank = |s: RegionStatus| match s {
            RegionStatus::Ok => 0,
            RegionStatus::Unknown => 1,
            RegionStatus::Degraded => 2,
            RegionStatus::Down => 3,
        };
        if rank(s) > rank(*status) {
            *status = s;
        }
        reasons.push(why);
    };
    for p in probes {
        let name = match p.kind {
            ProbeKind::Health => "health",
            ProbeKind::Ready => "ready",
        };
        match (p.kind, p.status) {
            // The probe's own words (failing components, checks) go with it.
            (ProbeKind::Health, ProbeStatus::Down) => {
                worsen(RegionStatus::Down, with_detail(format!("{name} DOWN"), &p.detail), &mut status)
            }
            (ProbeKind::Ready, ProbeStatus::Down) => {
                worsen(RegionStatus::Degraded, with_detail(format!("{name} failing"), &p.detail), &mut status)
            }
            (_, ProbeStatus::Warn) => worsen(RegionStatus::Degraded, format!("{name} warn: {}", p.detail), &mut status),
            (_, ProbeStatus::Unknown) => worsen(RegionStatus::Unknown, format!("{name}: {}", p.detail), &mut status),
            _ => {}
        }
    }
    if let Some(t) = t {
        if t.error_ratio >= 0.5 {
            worsen(RegionStatus::Down, format!("errors {:.1}%", t.error_ratio * 100.0), &mut status);
        } else if t.error_ratio >= ERROR_ALERT_RATIO {
            worsen(RegionStatus::Degraded, format!("errors {:.2}%", t.error_ratio * 100.0), &mut status);
        }
        // The reason names the percentile that breached, not always p99.
        let over = sla.breaches(t);
        if !over.is_empty() {
            worsen(RegionStatus::Degraded, format!("over SLA: {}", over.join(", ")), &mut status);
        }
    } else if probes.is_empty() {
        status = RegionStatus::Unknown;
    }
    CellHealth { status, reason: reasons.join(", ") }
}

fn slo_status(service: &str, spec: &SloSpec, traffic: &[&Traffic], now: DateTime<Utc>) -> SloStatus {
    let latency = matches!(spec.kind, SloKind::Latency { .. });
    let per_region: Vec<&BTreeMap<Arc<str>, Counts>> =
        traffic.iter().map(|t| if latency { &t.latency_counts } else { &t.counts }).collect();
    let sum = |w: &str| {
        let mut c = Counts::default();
        let mut any = false;
        for m in per_region.iter() {
            if let Some(x) = m.get(w) {
                c.good += x.good;
                c.total += x.total;
                any = true;
            }
        }
        any.then_some(c)
    };
    let period_h = spec.period.hours(now);
    let period = sum(&spec.period.window());
    // Short windows with too few events say nothing about burn.
    let burns: Vec<(&'static str, Option<f64>)> = WINDOWS
        .iter()
        .map(|(w, _)| {
            (*w, sum(w).filter(|c| c.total >= slo::LOW_TRAFFIC_EVENTS).and_then(|c| slo::burn_rate(c, spec.objective)))
        })
        .collect();
    let low_traffic = sum("1h").is_some_and(|c| c.total < slo::LOW_TRAFFIC_EVENTS);
    let remaining = period.and_then(|c| slo::budget_remaining(c, spec.objective));
    let lookup = |w: &str| burns.iter().find(|(n, _)| *n == w).and_then(|(_, b)| *b);
    let early_in_period = period.is_none_or(|c| c.total < slo::LOW_TRAFFIC_EVENTS);
    let burn_state = slo::alert_state(lookup, period_h);
    let state = if early_in_period { burn_state } else { slo::with_budget(burn_state, remaining, spec.low_budget) };
    // Time to exhaustion at the 1h burn: the window the budgets pane shows
    // beside it (`burn1h`), steadier than the 5m one.
    let hours = remaining.zip(lookup(EXHAUSTION_WINDOW)).and_then(|(r, b)| slo::hours_to_exhaustion(r, b, period_h));
    let budget = 1.0 - spec.objective / 100.0;
    // Running budget over the days of the window: 100% at its start.
    let days = traffic.iter().map(|t| if latency { t.latency_daily.len() } else { t.daily.len() }).max().unwrap_or(0);
    let mut daily = vec![Counts::default(); days];
    for t in traffic {
        let d = if latency { &t.latency_daily } else { &t.daily };
        for (i, c) in d.iter().enumerate() {
            daily[i].good += c.good;
            daily[i].total += c.total;
        }
    }
    let window_total: f64 = daily.iter().map(|c| c.total).sum();
    let mut bad_so_far = 0.0;
    let daily_remaining = daily
        .iter()
        .map(|c| {
            bad_so_far += (c.total - c.good).max(0.0);
            if window_total > 0.0 && budget > 0.0 {
                1.0 - bad_so_far / (budget * window_total)
            } else {
                1.0
            }
        })
        .collect();
    SloStatus {
        service: service.to_string(),
        name: spec.name.clone(),
        kind: spec.kind,
        objective: spec.objective,
        period: spec.period,
        period_hours: period_h,
        total: period.map(|c| c.total).unwrap_or(0.0),
        allowed_bad: period.filter(|c| c.total > 0.0).map(|c| budget * c.total),
        consumed_bad: period.map(|c| (c.total - c.good).max(0.0)),
        remaining,
        burns,
        state,
        hours_to_exhaustion: hours,
        low_traffic,
        early_in_period,
        daily_remaining,
        history_hours: traffic.iter().filter_map(|t| t.history_s).reduce(f64::max).map(|s| s / 3600.0),
        period_so_far_hours: spec.period.so_far_hours(now),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn traffic(service: &str, region: &str, err: f64) -> Traffic {
        let mut counts = BTreeMap::new();
        for (w, secs) in WINDOWS {
            let total = secs * 100.0;
            counts.insert(super::window(w), Counts { good: total * (1.0 - err), total });
        }
        Traffic {
            service: service.into(),
            region: region.into(),
            rps: 100.0,
            error_ratio: err,
            p50_ms: 20.0,
            p95_ms: 60.0,
            p99_ms: 120.0,
            latency_counts: counts.clone(),
            counts,
            series_step: 60.0,
            ..Traffic::default()
        }
    }

    fn svc(name: &str) -> Service {
        Service {
            name: name.into(),
            tier: Tier::Critical,
            owners: vec![],
            depends_on: vec![],
            slos: vec![SloSpec {
                name: format!("{name}-availability"),
                kind: SloKind::Availability,
                objective: 99.9,
                period: SloPeriod::Rolling { days: 30 },
                low_budget: slo::LOW_BUDGET,
            }],
            sla: Default::default(),
        }
    }

    #[test]
    fn feed_staleness_and_errors() {
        let t0 = Utc::now();
        let mut f: Feed<Flag> = Feed { interval: Duration::from_secs(2), ..Feed::default() };
        assert!(!f.is_stale(t0));
        f.set(t0, Err("refused".into()));
        assert!(f.is_stale(t0), "an error before any data is stale");
        f.set(t0, Ok(vec![]));
        assert!(f.error.is_none());
        assert!(!f.is_stale(t0 + chrono::Duration::seconds(6)));
        assert!(f.is_stale(t0 + chrono::Duration::milliseconds(6001)));
        f.set(t0 + chrono::Duration::seconds(7), Err("boom".into()));
        assert!(f.data.is_some(), "an error keeps the last data");
        assert_eq!(f.error_text().as_deref(), Some("boom"));
    }

    #[test]
    fn derive_cells_and_slo() {
        let now = Utc::now();
        let mut fleet = Fleet::default();
        fleet.services.set(now, Ok(vec![svc("a"), svc("b")]));
        fleet
            .metrics
            .set(now, Ok(vec![traffic("a", "r1", 0.0001), traffic("a", "r2", 0.0001), traffic("b", "r1", 0.02)]));
        let snap = derive(fleet, 1);
        assert_eq!(snap.cell("a", "r1").map(|c| c.status), Some(RegionStatus::Ok));
        assert_eq!(snap.cell("b", "r1").map(|c| c.status), Some(RegionStatus::Degraded));
        let a = &snap.slos[0];
        assert!((a.remaining.unwrap_or(0.0) - 0.9).abs() < 1e-9);
        assert_eq!(a.state, AlertState::Ok);
        let b = &snap.slos[1];
        assert_eq!(b.state, AlertState::Exhausted, "overspent is EXHAUSTED, whatever the burn");
        assert!(b.remaining.unwrap_or(0.0) < 0.0);
        assert_eq!(b.hours_to_exhaustion, None, "no exhaustion time once overspent");
    }

    #[test]
    fn the_state_agrees_with_the_budget() {
        let now = Utc::now();
        // 0.0947% errors against a 99.9% objective: 5.3% of the budget left,
        // burning under 1× — the burn rules alone would say OK.
        let mut fleet = Fleet::default();
        fleet.services.set(now, Ok(vec![svc("a")]));
        let mut t = traffic("a", "r1", 0.0);
        t.counts.insert("30d".into(), Counts { good: 1_000_000.0 - 947.0, total: 1_000_000.0 });
        fleet.metrics.set(now, Ok(vec![t.clone()]));
        let s = &derive(fleet.clone(), 1).slos[0];
        assert!((s.remaining.unwrap_or(0.0) - 0.053).abs() < 1e-9);
        assert_eq!(s.state, AlertState::Low, "below 10% left is at least LOW");
        t.counts.insert("30d".into(), Counts { good: 1_000_000.0 - 1055.0, total: 1_000_000.0 });
        fleet.metrics.set(now, Ok(vec![t.clone()]));
        let s = &derive(fleet.clone(), 2).slos[0];
        assert!(s.remaining.unwrap_or(0.0) < 0.0);
        assert_eq!(s.state, AlertState::Exhausted, "-5.5% is never OK");
        // Early in a period: 40 events say nothing about the share.
        t.counts.insert("30d".into(), Counts { good: 30.0, total: 40.0 });
        fleet.metrics.set(now, Ok(vec![t]));
        let s = &derive(fleet, 3).slos[0];
        assert!(s.early_in_period);
        assert_ne!(s.state, AlertState::Exhausted);
    }

    #[test]
    fn a_snapshot_derives_cells_and_slos_again_only_when_their_inputs_changed() {
        let now = Utc::now();
        let mut fleet = Fleet::default();
        fleet.services.set(now, Ok(vec![svc("a")]));
        let mut t = traffic("a", "r1", 0.0);
        t.counts.insert("30d".into(), Counts { good: 999_000.0, total: 1_000_000.0 });
        fleet.metrics.set(now, Ok(vec![t.clone()]));
        let first = derive(fleet.clone(), 1);
        // Flags changed: the cells and SLOs are the previous ones, shared.
        fleet.flags.set(now, Ok(vec![]));
        let second = derive_from(fleet.clone(), 2, Some(&first));
        assert!(Arc::ptr_eq(&first.slos, &second.slos) && Arc::ptr_eq(&first.cells, &second.cells));
        // New metrics (even the same numbers, observed later): derived again.
        t.counts.insert("30d".into(), Counts { good: 990_000.0, total: 1_000_000.0 });
        fleet.metrics.set(now + chrono::Duration::seconds(2), Ok(vec![t]));
        let third = derive_from(fleet.clone(), 3, Some(&second));
        assert!(!Arc::ptr_eq(&second.slos, &third.slos));
        assert!(third.slos[0].remaining < second.slos[0].remaining);
        // New probes: the cells again, the SLOs shared.
        fleet.probes.set(now, Ok(vec![]));
        let fourth = derive_from(fleet, 4, Some(&third));
        assert!(Arc::ptr_eq(&third.slos, &fourth.slos) && !Arc::ptr_eq(&third.cells, &fourth.cells));
    }

    #[test]
    fn low_traffic_is_said_not_computed() {
        let now = Utc::now();
        let mut fleet = Fleet::default();
        fleet.services.set(now, Ok(vec![svc("quiet")]));
        let mut t = traffic("quiet", "r1", 0.5);
        for (w, c) in t.counts.iter_mut() {
            if &**w != "30d" {
                *c = Counts { good: 5.0, total: 10.0 };
            }
        }
        fleet.metrics.set(now, Ok(vec![t]));
        let snap = derive(fleet, 1);
        let s = &snap.slos[0];
        assert!(s.low_traffic);
        assert_eq!(s.burn("1h"), None, "ten requests say nothing about burn");
        // No burn can be judged, but the 30 days overspent: the budget decides.
        assert_eq!(s.state, AlertState::Exhausted);
        assert!(s.remaining.is_some_and(|r| r.is_finite()));
    }

    #[test]
    fn latency_slos_use_latency_counts_and_calendar_months_their_length() {
        let now = chrono::DateTime::parse_from_rfc3339("2026-02-10T00:00:00Z")
            .map(|d| d.with_timezone(&Utc))
            .unwrap_or_default();
        let mut fleet = Fleet::default();
        let mut s = svc("a");
        s.slos = vec![SloSpec {
            name: "a-latency".into(),
            kind: SloKind::Latency { threshold_ms: 300.0 },
            objective: 99.0,
            period: SloPeriod::CalendarMonth,
            low_budget: slo::LOW_BUDGET,
        }];
        fleet.services.set(now, Ok(vec![s]));
        let mut t = traffic("a", "r1", 0.0);
        t.latency_counts.insert("mtd".into(), Counts { good: 995.0, total: 1000.0 });
        fleet.metrics.set(now, Ok(vec![t]));
        let snap = derive(fleet, 1);
        let st = &snap.slos[0];
        assert_eq!(st.period_hours, 28.0 * 24.0, "February 2026");
        assert!((st.remaining.unwrap_or(0.0) - 0.5).abs() < 1e-9);
        assert!((st.allowed_bad.unwrap_or(0.0) - 10.0).abs() < 1e-9);
        assert!((st.consumed_bad.unwrap_or(0.0) - 5.0).abs() < 1e-9);
    }

    #[test]
    fn the_sla_is_per_service_and_the_reason_names_the_percentile() {
        let now = Utc::now();
        let mut fleet = Fleet::default();
        let mut strict = svc("a");
        strict.sla = Sla { p50_ms: 100.0, p95_ms: 50.0, p99_ms: 500.0 };
        fleet.services.set(now, Ok(vec![strict, svc("b")]));
        // p50 20, p95 60, p99 120: over a's p95 limit only; b keeps the seed's SLA.
        fleet.metrics.set(now, Ok(vec![traffic("a", "r1", 0.0), traffic("b", "r1", 0.0)]));
        let snap = derive(fleet, 1);
        let a = snap
            .cell("a", "r1")
            .cloned()
            .unwrap_or(CellHealth { status: RegionStatus::Unknown, reason: String::new() });
        assert_eq!(a.status, RegionStatus::Degraded);
        assert_eq!(a.reason, "over SLA: p95 60 ms ≥ 50");
        assert_eq!(snap.cell("b", "r1").map(|c| c.status), Some(RegionStatus::Ok));
    }

    #[test]
    fn down_probe_marks_cell_down() {
        let now = Utc::now();
        let mut fleet = Fleet::default();
        fleet.metrics.set(now, Ok(vec![traffic("a", "r1", 0.0)]));
        fleet.probes.set(
            now,
            Ok(vec![Probe {
                service: "a".into(),
                region: "r1".into(),
                kind: ProbeKind::Health,
                status: ProbeStatus::Down,
                http_status: Some(503),
                latency_ms: 3.0,
                detail: "DOWN".into(),
            }]),
        );
        let snap = derive(fleet, 1);
        assert_eq!(snap.cell("a", "r1").map(|c| c.status), Some(RegionStatus::Down));
    }

    #[test]
    fn failed_polls_are_counted_per_feed() {
        let mut f = Fleet::default();
        let now = Utc::now();
        assert_eq!(f.error_summary(), "none");
        f.regions.set(now, Err("refused".into()));
        f.regions.set(now, Err("refused".into()));
        f.regions.set(now, Ok(vec![]));
        f.alerts.set(now, Err("HTTP 500".into()));
        assert_eq!(f.feed_errors(FeedId::Regions), 2, "a success does not reset the count");
        assert_eq!(f.error_summary(), "regions 2, alerts 1");
    }
}
