//! The domain model: what the console knows about the fleet, independent of
//! where it came from. Sources produce these types; panes read them.

pub mod changes;
pub mod error;
pub mod incident;
pub mod infra;
pub mod range;
pub mod rollup;
pub mod slo;
pub mod snapshot;

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};

pub use error::FeedError;
pub use infra::{CheckHealth, Database, DbMember, DbRole, DrObjectives, Objective, Recovery, RegionWeight};
pub use snapshot::{derive, CellHealth, Feed, FeedId, FeedState, Fleet, Snapshot, FEEDS};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionStatus {
    Ok,
    Degraded,
    Down,
    Unknown,
}

impl RegionStatus {
    /// The status as runbooks and messages name it.
    pub fn word(self) -> &'static str {
        match self {
            RegionStatus::Ok => "OK",
            RegionStatus::Degraded => "DEGRADED",
            RegionStatus::Down => "DOWN",
            RegionStatus::Unknown => "UNKNOWN",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Region {
    pub name: String,
    pub status: RegionStatus,
    /// Share of global traffic, percent.
    pub weight: f64,
    /// Normal share when nothing is drained, if the backend reports it.
    pub base_weight: Option<f64>,
    pub zones: Vec<String>,
    /// Since when the region has had this status, in the source's clock
    /// (`None`: the source does not say).
    pub since: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tier {
    Critical,
    Standard,
}

/// What an SLO counts as a good event.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SloKind {
    /// Requests that did not fail.
    Availability,
    /// Requests answered within the threshold.
    Latency { threshold_ms: f64 },
}

/// The window an SLO's budget is measured over.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SloPeriod {
    Rolling {
        days: u32,
    },
    /// The current calendar month (UTC), month to date.
    CalendarMonth,
}

impl SloPeriod {
    /// Counts window name for this period.
    pub fn window(self) -> String {
        match self {
            SloPeriod::Rolling { days } => format!("{days}d"),
            SloPeriod::CalendarMonth => "mtd".into(),
        }
    }

    /// Length of the period in hours at `now` (a calendar month's own length).
    pub fn hours(self, now: DateTime<Utc>) -> f64 {
        match self {
            SloPeriod::Rolling { days } => days as f64 * 24.0,
            SloPeriod::CalendarMonth => days_in_month(now) as f64 * 24.0,
        }
    }

    /// Hours the period's counts window spans at `now`: a rolling period's
    /// whole length, a calendar month's hours since it began.
    pub fn so_far_hours(self, now: DateTime<Utc>) -> f64 {
        use chrono::{Datelike, TimeZone};
        match self {
            SloPeriod::Rolling { days } => days as f64 * 24.0,
            SloPeriod::CalendarMonth => match Utc.with_ymd_and_hms(now.year(), now.month(), 1, 0, 0, 0) {
                chrono::LocalResult::Single(start) => (now - start).num_seconds().max(0) as f64 / 3600.0,
                _ => self.hours(now),
            },
        }
    }

    pub fn label(self) -> String {
        match self {
            SloPeriod::Rolling { days } => format!("{days}d"),
            SloPeriod::CalendarMonth => "month".into(),
        }
    }
}

/// Days in `now`'s UTC month.
pub fn days_in_month(now: DateTime<Utc>) -> u32 {
    use chrono::Datelike;
    let (y, m) = (now.year(), now.month());
    let (ny, nm) = if m == 12 { (y + 1, 1) } else { (y, m + 1) };
    let first = chrono::NaiveDate::from_ymd_opt(y, m, 1);
    let next = chrono::NaiveDate::from_ymd_opt(ny, nm, 1);
    match (first, next) {
        (Some(a), Some(b)) => (b - a).num_days() as u32,
        _ => 30,
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct SloSpec {
    /// Unique name, e.g. `checkout-availability`.
    pub name: String,
    pub kind: SloKind,
    /// Objective in percent, e.g. 99.9.
    pub objective: f64,
    pub period: SloPeriod,
    /// Budget share below which the SLO is at least LOW (0.10 = 10%).
    pub low_budget: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Service {
    pub name: String,
    pub tier: Tier,
    pub owners: Vec<String>,
    pub depends_on: Vec<String>,
    pub slos: Vec<SloSpec>,
    /// Latency SLA (the seed's p50 < 100, p95 < 200, p99 < 500 ms unless configured).
    pub sla: Sla,
}

/// A latency SLA: each percentile's limit in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sla {
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
}

impl Default for Sla {
    fn default() -> Self {
        Sla { p50_ms: SLA_P50_MS, p95_ms: SLA_P95_MS, p99_ms: SLA_P99_MS }
    }
}

impl Sla {
    /// The percentiles of `t` at or over their limit, worst (highest) first:
    /// `p99 612 ms ≥ 500`.
    pub fn breaches(&self, t: &Traffic) -> Vec<String> {
        [("p99", t.p99_ms, self.p99_ms), ("p95", t.p95_ms, self.p95_ms), ("p50", t.p50_ms, self.p50_ms)]
            .iter()
            .filter(|(_, v, limit)| v.is_finite() && v >= limit)
            .map(|(p, v, limit)| format!("{p} {v:.0} ms ≥ {limit:.0}"))
            .collect()
    }
}

/// Good and total events over one window.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Counts {
    pub good: f64,
    pub total: f64,
}

/// Traffic of one service in one region.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Traffic {
    pub service: String,
    pub region: String,
    pub rps: f64,
    pub error_ratio: f64,
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// Counts keyed by window name ("5m", "1h", "30d", "mtd", ...).
    pub counts: BTreeMap<Arc<str>, Counts>,
    /// Requests within the service's latency-SLO threshold, as good/total per window.
    pub latency_counts: BTreeMap<Arc<str>, Counts>,
    /// Availability counts per day for the last 30 days, oldest first
    /// (shared: a source that gives them every few polls hands the same).
    pub daily: Arc<Vec<Counts>>,
    /// Latency-SLO counts per day for the last 30 days, oldest first.
    pub latency_daily: Arc<Vec<Counts>>,
    /// Recent p99 values, oldest first, for sparklines.
    pub p99_series: Vec<f64>,
    /// p50 and p95 over the same points (empty if the source has none).
    pub p50_series: Vec<f64>,
    pub p95_series: Vec<f64>,
    /// Error ratio over the same points.
    pub error_series: Vec<f64>,
    /// Seconds between series points.
    pub series_step: f64,
    /// How far back the source's data for these counts goes, in seconds
    /// (`None`: the source does not say). A Prometheus that started an hour
    /// ago answers a 30-day `increase()` with an hour's counts.
    pub history_s: Option<f64>,
}

/// A count window's name (`5m` … `30d`, `mtd`) as the counts maps key
/// it: the built-in windows shared, not allocated per cell and poll.
pub fn window(name: &str) -> Arc<str> {
    static NAMES: std::sync::OnceLock<Vec<Arc<str>>> = std::sync::OnceLock::new();
    let names = NAMES.get_or_init(|| slo::COUNT_WINDOWS.iter().map(|w| Arc::from(*w)).collect());
    names.iter().find(|w| &***w == name).cloned().unwrap_or_else(|| Arc::from(name))
}

/// The order circuits are listed in: state (open first), edge, region.
/// The store keeps each update in it; the panes then sort in one pass.
pub fn circuit_order(a: &Circuit, b: &Circuit) -> std::cmp::Ordering {
    (a.state, &a.from, &a.to, &a.region).cmp(&(b.state, &b.from, &b.to, &b.region))
}

/// The seed's SLA: the default for every service.
pub const SLA_P50_MS: f64 = 100.0;
pub const SLA_P95_MS: f64 = 200.0;
pub const SLA_P99_MS: f64 = 500.0;
/// Error ratio at which a series counts as degraded (alert threshold 0.5%).
pub const ERROR_ALERT_RATIO: f64 = 0.005;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CanaryPhase {
    Progressing,
    Paused,
    Degraded,
    Aborted,
    Healthy,
    Unknown,
}

impl CanaryPhase {
    /// The phase as panes, runbooks and exports name it.
    pub fn word(self) -> &'static str {
        match self {
            CanaryPhase::Progressing => "Progressing",
            CanaryPhase::Paused => "Paused",
            CanaryPhase::Degraded => "Degraded",
            CanaryPhase::Aborted => "Aborted",
            CanaryPhase::Healthy => "Healthy",
            CanaryPhase::Unknown => "Unknown",
        }
    }

    pub fn parse(s: &str) -> CanaryPhase {
        match s {
            "Progressing" => CanaryPhase::Progressing,
            "Paused" => CanaryPhase::Paused,
            "Degraded" => CanaryPhase::Degraded,
            "Aborted" => CanaryPhase::Aborted,
            "Healthy" | "Promoted" => CanaryPhase::Healthy,
            _ => CanaryPhase::Unknown,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    pub passing: bool,
    pub verdict: String,
    pub canary_error_ratio: f64,
    pub baseline_error_ratio: f64,
    pub canary_p99_ms: f64,
    pub baseline_p99_ms: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Deployment {
    pub id: String,
    pub service: String,
    pub region: String,
    pub phase: CanaryPhase,
    pub message: String,
    pub stable_revision: String,
    pub canary_revision: Option<String>,
    pub steps: Vec<f64>,
    pub step_index: usize,
    pub step_total: usize,
    pub weight: f64,
    pub since: Option<DateTime<Utc>>,
    pub analysis: Option<Analysis>,
    /// A blue-green rollout's colours (None: a canary).
    pub blue_green: Option<BlueGreen>,
    /// The weight the current step sets, when it differs from the actual
    /// weight (Argo's SetWeight vs ActualWeight).
    pub set_weight: Option<f64>,
    /// Why it is paused (`CanaryPauseStep`, `BlueGreenPause`,
    /// `InconclusiveAnalysisRun`, …), when the source says.
    pub pause_reason: Option<String>,
    /// Its analysis runs, oldest first (Argo Rollouts' AnalysisRuns).
    pub analysis_runs: Vec<AnalysisRun>,
    /// The revisions it can be undone to, newest first (Argo Rollouts'
    /// ReplicaSets); empty when the source does not say.
    pub revisions: Vec<Revision>,
}

/// One revision of a rollout (a ReplicaSet): its template and replicas.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Revision {
    pub revision: String,
    /// Pod template hash.
    pub hash: String,
    pub image: String,
    pub replicas: u32,
    pub ready: u32,
    /// When the controller scales it down (an old blue-green colour kept
    /// for a switch back: the `scale-down-deadline` annotation).
    pub scale_down_at: Option<DateTime<Utc>>,
}

/// One analysis run: its phase and each metric's measurements.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct AnalysisRun {
    pub name: String,
    /// `Pending`, `Running`, `Successful`, `Failed`, `Error`, `Inconclusive`.
    pub phase: String,
    pub message: String,
    pub started: Option<DateTime<Utc>>,
    pub metrics: Vec<MetricResult>,
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct MetricResult {
    pub name: String,
    pub phase: String,
    pub count: u32,
    pub successful: u32,
    pub failed: u32,
    pub inconclusive: u32,
    pub error: u32,
    pub message: String,
}

/// A blue-green rollout: which colour serves, which waits, and the clocks
/// that decide what happens next.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BlueGreen {
    /// The colour behind the active service (what users get).
    pub active: Colour,
    /// The new colour behind the preview service, while there is one.
    pub preview: Option<Colour>,
    /// The colour that served before the switch, while it still runs
    /// (the instant switch-back window).
    pub previous: Option<Colour>,
    pub active_service: String,
    pub preview_service: String,
    /// Pre- and post-promotion analysis run phases (`Running`,
    /// `Successful`, `Failed`, …), when there are runs.
    pub pre_analysis: Option<String>,
    pub post_analysis: Option<String>,
    pub auto_promotion: bool,
    /// When the preview is promoted by itself (`autoPromotionSeconds` after
    /// the pause began).
    pub promote_at: Option<DateTime<Utc>>,
    /// `scaleDownDelaySeconds`: how long the old colour runs after a switch.
    pub scale_down_secs: u64,
    /// When the old colour is scaled down, if the switch time is known.
    pub scale_down_at: Option<DateTime<Utc>>,
}

/// One colour of a blue-green rollout.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Colour {
    /// Pod template hash (`activeSelector` / `previewSelector`).
    pub hash: String,
    pub revision: String,
    pub image: String,
    /// Ready of desired replicas, when known.
    pub ready: Option<(u32, u32)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum CircuitState {
    Open,
    HalfOpen,
    ForcedOpen,
    Closed,
    Disabled,
    Unknown,
}

impl CircuitState {
    pub fn word(self) -> &'static str {
        match self {
            CircuitState::Open => "OPEN",
            CircuitState::HalfOpen => "HALF_OPEN",
            CircuitState::ForcedOpen => "FORCED_OPEN",
            CircuitState::Closed => "CLOSED",
            CircuitState::Disabled => "DISABLED",
            CircuitState::Unknown => "UNKNOWN",
        }
    }

    /// Worst first (what an on-call engineer needs to see first): OPEN,
    /// FORCED_OPEN, HALF_OPEN, UNKNOWN, DISABLED, CLOSED.
    pub fn rank(self) -> u8 {
        match self {
            CircuitState::Open => 0,
            CircuitState::ForcedOpen => 1,
            CircuitState::HalfOpen => 2,
            CircuitState::Unknown => 3,
            CircuitState::Disabled => 4,
            CircuitState::Closed => 5,
        }
    }

    pub fn parse(s: &str) -> CircuitState {
        match s {
            "CLOSED" => CircuitState::Closed,
            "OPEN" => CircuitState::Open,
            "HALF_OPEN" => CircuitState::HalfOpen,
            "FORCED_OPEN" => CircuitState::ForcedOpen,
            "DISABLED" => CircuitState::Disabled,
            _ => CircuitState::Unknown,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Circuit {
    pub from: String,
    pub to: String,
    pub region: String,
    pub state: CircuitState,
    pub failure_rate_pct: Option<f64>,
    pub since: Option<DateTime<Utc>>,
    /// Per-instance breakers (Resilience4j across a fleet): how many
    /// instances are in which state; `state` is then the worst of them.
    pub instances: Option<Instances>,
}

/// One edge's breakers over the instances of the calling service.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Instances {
    /// (state, instances in it), worst first.
    pub by_state: Vec<(CircuitState, u32)>,
    pub total: u32,
    /// Every instance reported `-1`: fewer calls than the breaker's
    /// minimum, no rate yet.
    pub too_few_calls: bool,
}

impl Instances {
    /// From (state, instances) pairs in any order: merged per state, worst
    /// first.
    pub fn from_counts(counts: impl IntoIterator<Item = (CircuitState, u32)>, too_few_calls: bool) -> Instances {
        let mut by: BTreeMap<u8, (CircuitState, u32)> = BTreeMap::new();
        for (st, n) in counts {
            let e = by.entry(st.rank()).or_insert((st, 0));
            e.1 = e.1.saturating_add(n);
        }
        let by_state: Vec<(CircuitState, u32)> = by.into_values().filter(|(_, n)| *n > 0).collect();
        let total = by_state.iter().fold(0u32, |a, (_, n)| a.saturating_add(*n));
        Instances { by_state, total, too_few_calls }
    }

    /// `3/12 OPEN` (the worst state's count), or `12 CLOSED`.
    pub fn words(&self) -> String {
        match self.by_state.first() {
            Some((CircuitState::Closed, n)) if *n == self.total => format!("{n} CLOSED"),
            Some((st, n)) => format!("{n}/{} {}", self.total, st.word()),
            None => "none".into(),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Default)]
pub struct Flag {
    pub name: String,
    pub environment: String,
    pub enabled: bool,
    /// Who gets it, in words (`10% of users`, `everyone`).
    pub rollout: String,
    /// The source that reported it (`control-plane`, `unleash:default`);
    /// set by the store.
    pub source: String,
    /// The percentage of its one gradual rollout (Unleash
    /// `flexibleRollout`), the number the rollout action changes; None
    /// when the flag has no such rollout or more than one.
    pub percent: Option<u8>,
    /// Who it is limited to beyond the rollout, in words (`internal only`,
    /// `country in DE, FR`); empty when nothing limits it.
    pub constraints: String,
    /// Who changed it last and when, when the source says so.
    pub changed: Option<(String, DateTime<Utc>)>,
}

impl Flag {
    /// Whether it comes from warroom's own control plane (or a source
    /// that does not say).
    pub fn from_control_plane(&self) -> bool {
        self.source.is_empty() || self.source == "control-plane"
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeKind {
    Health,
    Ready,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProbeStatus {
    Up,
    /// Answering, but reporting a warning (health+json `warn`).
    Warn,
    Down,
    Unknown,
}

/// One health or readiness probe of one service in one region.
#[derive(Debug, Clone, PartialEq)]
pub struct Probe {
    pub service: String,
    pub region: String,
    pub kind: ProbeKind,
    pub status: ProbeStatus,
    pub http_status: Option<u16>,
    pub latency_ms: f64,
    /// Short explanation: failing components, error text.
    pub detail: String,
}

/// Where an operator action stands, as every viewer sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActionStatus {
    InFlight,
    Succeeded,
    Failed,
    /// Refused by the console's own checks or by the server.
    Refused,
    /// The operator's role does not allow it; nothing was sent.
    Denied,
}

/// One entry of the action log.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionEntry {
    pub key: String,
    pub summary: String,
    pub operator: String,
    pub status: ActionStatus,
    pub message: String,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// A database action: when the services using the cluster were healthy
    /// again (the recovery stopwatch stopped), if they were.
    pub recovered_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertState {
    Firing,
    Silenced,
    Inhibited,
}

/// A firing (or suppressed) alert from Alertmanager.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub name: String,
    pub severity: String,
    pub service: Option<String>,
    pub region: Option<String>,
    pub state: AlertState,
    pub summary: String,
    pub since: Option<DateTime<Utc>>,
    /// Every label and annotation, each value made one line (a silence's
    /// matchers come from the labels; the drill-down lists both).
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
    /// The silences that mute it (Alertmanager's `silencedBy`).
    pub silenced_by: Vec<String>,
}

impl Alert {
    /// Which alert this is, across snapshots: its name and every label
    /// (Alertmanager's own identity is the label set).
    pub fn identity(&self) -> String {
        let labels: Vec<String> = self.labels.iter().map(|(k, v)| format!("{k}={v}")).collect();
        format!("{}{{{}}}", self.name, labels.join(","))
    }
}

/// One label matcher of a silence.
#[derive(Debug, Clone, PartialEq)]
pub struct Matcher {
    pub name: String,
    pub value: String,
    pub is_regex: bool,
    /// `false`: the label must not match (`!=`, `!~`).
    pub is_equal: bool,
}

impl Matcher {
    /// `name="value"`, `name!="value"`, `name=~"re"`.
    pub fn words(&self) -> String {
        let op = match (self.is_equal, self.is_regex) {
            (true, false) => "=",
            (false, false) => "!=",
            (true, true) => "=~",
            (false, true) => "!~",
        };
        format!("{}{op}\"{}\"", self.name, self.value)
    }

    /// Whether an equality matcher holds for `labels` (None for a regex
    /// matcher: the console does not evaluate Alertmanager's regexes).
    pub fn holds(&self, labels: &BTreeMap<String, String>) -> Option<bool> {
        if self.is_regex {
            return None;
        }
        let v = labels.get(&self.name).map(String::as_str).unwrap_or("");
        Some((v == self.value) == self.is_equal)
    }
}

/// An active or pending Alertmanager silence.
#[derive(Debug, Clone, PartialEq)]
pub struct Silence {
    pub id: String,
    pub matchers: Vec<Matcher>,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub created_by: String,
    pub comment: String,
    /// `active`, `pending` (or `expired`, never kept in the snapshot).
    pub state: String,
}

impl Silence {
    pub fn matchers_words(&self) -> String {
        self.matchers.iter().map(Matcher::words).collect::<Vec<_>>().join(", ")
    }
}

/// The firing alerts every matcher catches (equality matchers only).
pub fn caught<'a>(alerts: &'a [Alert], matchers: &[Matcher]) -> Vec<&'a Alert> {
    alerts
        .iter()
        .filter(|a| a.state == AlertState::Firing)
        .filter(|a| !matchers.is_empty() && matchers.iter().all(|m| m.holds(&a.labels) == Some(true)))
        .collect()
}
