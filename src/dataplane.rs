//! Wiring: spawn one task per source and the store, and hand viewers a
//! watch receiver of snapshots. Backend load does not depend on viewers,
//! but for chart ranges beyond the live hour (`[`/`]`): one query per
//! window per refresh interval, however many viewers look at it.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::model::range::{RangeQuery, RangeSeries};
use crate::model::{FeedId, Snapshot, FEEDS};
use crate::sources::alertmanager::Alertmanager;
use crate::sources::control_plane::ControlPlane;
use crate::sources::health::{probe_all, ProbeRounds, ProbeTemplates};
use crate::sources::{run_poll, Clock, FeedError, Payload, PollSpec, Source, Update};
use crate::store::{run_store, Store};

/// Poll interval per feed: a feed's own when set, else its default.
#[derive(Debug, Clone, Default)]
pub struct Intervals {
    set: BTreeMap<FeedId, Duration>,
    /// Per-feed request timeouts the configuration (or `--timeout`) sets;
    /// the rest follow their interval (`Intervals::timeout`).
    timeouts: BTreeMap<FeedId, Duration>,
    /// Every interval is multiplied by this (tests use small factors).
    factor: Option<f64>,
}

/// A feed's default poll interval (exhaustive: a new feed must say its own).
pub fn default_interval(feed: FeedId) -> Duration {
    let s = Duration::from_secs;
    match feed {
        FeedId::Regions => s(5),
        FeedId::Services => s(30),
        FeedId::Metrics => s(2),
        FeedId::Deployments => s(3),
        FeedId::Circuits => s(3),
        FeedId::Flags => s(10),
        FeedId::Probes => s(10),
        FeedId::Alerts => s(5),
        // A weight change is a human act; a health check flips in 30 s.
        FeedId::Traffic => s(10),
        FeedId::Databases => s(5),
    }
}

impl Intervals {
    pub fn get(&self, feed: FeedId) -> Duration {
        let d = self.set.get(&feed).copied().unwrap_or_else(|| default_interval(feed));
        match self.factor {
            Some(f) => d.mul_f64(f).max(Duration::from_millis(50)),
            None => d,
        }
    }

    /// Replace one feed's interval.
    pub fn with(mut self, feed: FeedId, d: Duration) -> Intervals {
        self.set.insert(feed, d);
        self
    }

    /// Every interval multiplied by `factor` (tests use small factors);
    /// a timeout set explicitly is not scaled.
    pub fn scaled(&self, factor: f64) -> Intervals {
        let f = if factor.is_finite() && factor > 0.0 { factor } else { 1.0 };
        Intervals {
            set: self.set.clone(),
            timeouts: self.timeouts.clone(),
            factor: Some(self.factor.unwrap_or(1.0) * f),
        }
    }

    /// Set one feed's request timeout (None: back to the default).
    pub fn with_timeout(mut self, feed: FeedId, d: Option<Duration>) -> Intervals {
        match d {
            Some(d) => self.timeouts.insert(feed, d),
            None => self.timeouts.remove(&feed),
        };
        self
    }

    /// How long one request of `feed` may take: its own timeout when set,
    /// else 0.8 × its interval within 200 ms..10 s (a poll ends before the
    /// next is due). A failure then backs off exponentially from the
    /// interval up to 30 s, ±20 % jitter.
    pub fn timeout(&self, feed: FeedId) -> Duration {
        match self.timeouts.get(&feed) {
            Some(d) => *d,
            None => self.get(feed).mul_f64(0.8).clamp(Duration::from_millis(200), Duration::from_secs(10)),
        }
    }
}

/// Concurrent probes in flight at most.
const PROBE_CONCURRENCY: usize = 32;

/// A running data plane; dropping it stops every task.
pub struct DataPlane {
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    /// Where the action executor sends action-log entries.
    pub updates: mpsc::Sender<Update>,
    /// Where viewers ask for chart ranges (None: no metrics source).
    pub ranges: Option<RangeAsker>,
    tasks: Vec<JoinHandle<()>>,
}

/// Where a viewer asks for a chart's range: never waits (a full queue
/// drops the ask; the viewer asks again on its next frame). Answers come
/// back in the snapshots (`Snapshot::range`).
#[derive(Clone)]
pub struct RangeAsker {
    tx: mpsc::Sender<RangeQuery>,
    /// The metrics source's name, for "asking prometheus for 6h…".
    pub source: Arc<str>,
}

impl RangeAsker {
    pub fn ask(&self, q: RangeQuery) {
        let _ = self.tx.try_send(q);
    }
}

/// How long one range query may take before it is shown as failed.
pub const RANGE_TIMEOUT: Duration = Duration::from_secs(15);

/// The range task: asks the metrics source for each query at most once per
/// its refresh interval (answered or not), each in a task of its own, and
/// sends the answers to the store.
fn spawn_ranges(source: Arc<dyn Source>, updates: mpsc::Sender<Update>, clock: Clock) -> (RangeAsker, JoinHandle<()>) {
    let (tx, mut rx) = mpsc::channel::<RangeQuery>(32);
    let name: Arc<str> = Arc::from(source.name());
    let task = tokio::spawn(async move {
        let mut asked: HashMap<RangeQuery, std::time::Instant> = HashMap::new();
        while let Some(q) = rx.recv().await {
            let due = Duration::from_secs(q.refresh_secs() as u64);
            if asked.get(&q).is_some_and(|t| t.elapsed() < due) {
                continue;
            }
            asked.retain(|_, t| t.elapsed() < Duration::from_secs(600));
            asked.insert(q.clone(), std::time::Instant::now());
            let (source, updates, clock) = (source.clone(), updates.clone(), clock.clone());
            tokio::spawn(async move {
                let name = source.name().to_string();
                let got = match source.range(&q) {
                    None => Err(format!("{name} keeps no history to ask for a range")),
                    Some(f) => match tokio::time::timeout(RANGE_TIMEOUT, f).await {
                        Ok(r) => r,
                        Err(_) => Err(format!("{name} did not answer within {} s", RANGE_TIMEOUT.as_secs())),
                    },
                };
                let at = clock();
                let series = got
                    .unwrap_or_else(|e| RangeSeries::failed(q.clone(), &name, at, crate::audit::escape_terminal(&e)));
                let u =
                    Update { source: None, feed: FeedId::Metrics, at, result: Ok(Payload::Range(Arc::new(series))) };
                let _ = updates.send(u).await;
            });
        }
    });
    (RangeAsker { tx, source: name }, task)
}

impl Drop for DataPlane {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

pub fn http_client() -> Result<reqwest::Client, String> {
    http_client_with(None)
}

/// The sources' HTTP client: rustls with the platform's roots (and the
/// webpki roots), plus the certificates of `ca_bundle` when given.
pub fn http_client_with(ca_bundle: Option<&std::path::Path>) -> Result<reqwest::Client, String> {
    let b = reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(3))
        .user_agent(concat!("warroom/", env!("CARGO_PKG_VERSION")));
    crate::sources::health::with_ca_bundle(b, ca_bundle)?.build().map_err(|e| format!("cannot build HTTP client: {e}"))
}

fn spec(intervals: &Intervals, feed: FeedId) -> PollSpec {
    let interval = intervals.get(feed);
    PollSpec {
        feed,
        source: None,
        interval,
        timeout: intervals.timeout(feed),
        max_backoff: Duration::from_secs(30).max(interval),
    }
}

/// (service, region) pairs known from the latest snapshot.
fn probe_pairs(snap: &Snapshot) -> Vec<(String, String)> {
    let regions: BTreeSet<&str> = snap.fleet.regions.items().iter().map(|r| r.name.as_str()).collect();
    let mut pairs = Vec::new();
    for s in snap.fleet.services.items() {
        for r in &regions {
            pairs.push((s.name.clone(), r.to_string()));
        }
    }
    pairs
}

/// Health probing: client, URL templates, concurrency and per-probe timeout.
#[derive(Clone)]
pub struct ProbeSource {
    pub client: reqwest::Client,
    pub templates: ProbeTemplates,
    pub concurrency: usize,
    pub timeout: Option<Duration>,
    /// Probes per second at most, over a round (`[health] max_rate`).
    pub max_rate: f64,
}

/// Probes per second at most by default: 6 × 40 with health and
/// readiness (48/s at 10 s) is probed whole every round.
pub const PROBE_MAX_RATE: f64 = 200.0;

/// Where every feed comes from.
#[derive(Clone)]
pub struct Sources {
    /// The registry, in precedence order: the first that supplies a feed polls it.
    pub list: Vec<Arc<dyn Source>>,
    /// Health probes (they follow the fleet the other feeds report).
    pub probes: Option<ProbeSource>,
    /// Where the store keeps the change timeline and incidents (memory only
    /// by default; the CLI points it at the state directory).
    pub history: crate::store::History,
}

impl Sources {
    /// Everything from one control plane (the simulator or `--api`).
    pub fn control_plane(base: &str) -> Result<Sources, String> {
        let client = http_client()?;
        Ok(Sources {
            list: vec![
                Arc::new(ControlPlane::new(base, client.clone())),
                // The simulator serves Alertmanager's v2 API too.
                Arc::new(Alertmanager::new(base, client.clone(), None)),
            ],
            probes: Some(ProbeSource {
                client,
                templates: ProbeTemplates::for_base(base),
                concurrency: PROBE_CONCURRENCY,
                timeout: None,
                max_rate: PROBE_MAX_RATE,
            }),
            history: Default::default(),
        })
    }

    /// The source that polls `feed`, if any.
    pub fn for_feed(&self, feed: FeedId) -> Option<&Arc<dyn Source>> {
        self.list.iter().find(|s| s.feeds().contains(&feed))
    }
}

/// Whether every source of a feed is polled and their data merged (each
/// datum naming its source), or only the first source in the registry.
pub fn merges(feed: FeedId) -> bool {
    match feed {
        FeedId::Flags | FeedId::Databases => true,
        FeedId::Regions
        | FeedId::Traffic
        | FeedId::Services
        | FeedId::Metrics
        | FeedId::Deployments
        | FeedId::Circuits
        | FeedId::Probes
        | FeedId::Alerts => false,
    }
}

/// What a feed with no source says: how to add one (exhaustive).
pub fn not_configured(feed: FeedId) -> &'static str {
    match feed {
        FeedId::Regions | FeedId::Services => "not configured: add [control_plane] or [[regions]] to warroom.toml",
        FeedId::Deployments | FeedId::Circuits | FeedId::Flags => "not configured: add [control_plane] to warroom.toml",
        FeedId::Metrics => "not configured: add [prometheus] or [cloudwatch] to warroom.toml",
        FeedId::Alerts => "not configured: add [alertmanager] to warroom.toml",
        FeedId::Probes => "not configured: add [health] to warroom.toml",
        FeedId::Traffic => "not configured: add [route53] to warroom.toml",
        FeedId::Databases => "not configured: add [[patroni]] to warroom.toml",
    }
}

/// Start the sources and the store against a control plane at `base`.
pub fn spawn(base: &str, intervals: Intervals, clock: Clock) -> Result<DataPlane, String> {
    spawn_sources(Sources::control_plane(base)?, intervals, clock)
}

/// Start one poll task per configured feed, and the store.
pub fn spawn_sources(src: Sources, intervals: Intervals, clock: Clock) -> Result<DataPlane, String> {
    let (tx, rx) = mpsc::channel::<Update>(64);
    let (wtx, wrx) = watch::channel(Arc::new(Snapshot::default()));
    let store = Store::new(&intervals).with_history(src.history.clone());
    let mut tasks = vec![tokio::spawn(run_store(store, rx, wtx))];
    let mut poll = |spec: PollSpec, fetch: Fetcher| {
        let f = move || fetch();
        tasks.push(tokio::spawn(run_poll(spec, clock.clone(), tx.clone(), f)));
    };
    // A feed with no source is told so once: a state, not a failing poll.
    let missing = |feed: FeedId, what: &str| {
        let u = Update { source: None, feed, at: clock(), result: Ok(Payload::NotConfigured(what.to_string())) };
        let _ = tx.try_send(u);
    };
    for feed in FEEDS {
        if feed == FeedId::Probes {
            continue;
        }
        if merges(feed) {
            // Every source of a merged feed polls on its own; the store
            // merges their answers, each datum naming its source.
            let all: Vec<&Arc<dyn Source>> = src.list.iter().filter(|s| s.feeds().contains(&feed)).collect();
            if all.is_empty() {
                missing(feed, not_configured(feed));
            }
            for source in all {
                let mut s = spec(&intervals, feed);
                s.source = Some(Arc::from(source.name()));
                poll(s, fetcher(source.clone(), feed));
            }
            continue;
        }
        match src.for_feed(feed) {
            Some(source) => poll(spec(&intervals, feed), fetcher(source.clone(), feed)),
            None => missing(feed, not_configured(feed)),
        }
    }
    let ranges = src.for_feed(FeedId::Metrics).map(|m| {
        let (asker, task) = spawn_ranges(m.clone(), tx.clone(), clock.clone());
        tasks.push(task);
        asker
    });
    match src.probes {
        Some(ps) => tasks.push(spawn_probes(ps, &intervals, clock, tx.clone(), wrx.clone())),
        None => missing(FeedId::Probes, not_configured(FeedId::Probes)),
    }
    Ok(DataPlane { snapshots: wrx, updates: tx, ranges, tasks })
}

type Fetcher = Arc<
    dyn Fn() -> std::pin::Pin<Box<dyn std::future::Future<Output = Result<Payload, FeedError>> + Send>> + Send + Sync,
>;

fn fetcher(source: Arc<dyn Source>, feed: FeedId) -> Fetcher {
    Arc::new(move || {
        let source = source.clone();
        Box::pin(async move { source.fetch(feed).await })
    })
}

fn spawn_probes(
    ps: ProbeSource,
    intervals: &Intervals,
    clock: Clock,
    tx: mpsc::Sender<Update>,
    snaps: watch::Receiver<Arc<Snapshot>>,
) -> JoinHandle<()> {
    let probe_spec = spec(intervals, FeedId::Probes);
    let mut ready = snaps.clone();
    let clock_for_probes = clock.clone();
    let rounds = Arc::new(std::sync::Mutex::new(ProbeRounds::default()));
    let fetch = move || {
        let ps = ps.clone();
        let pairs = probe_pairs(&snaps.borrow());
        let (rounds, clock) = (rounds.clone(), clock_for_probes.clone());
        async move {
            if pairs.is_empty() {
                return Err(FeedError::from("waiting for the service and region lists"));
            }
            let per_probe = ps.timeout.unwrap_or(probe_spec.timeout.mul_f64(0.9));
            let spread = probe_spec.interval.mul_f64(0.5);
            let budget = (ps.max_rate * probe_spec.interval.as_secs_f64()).floor().max(1.0) as usize;
            let run = (ps.concurrency, per_probe, spread);
            Ok(Payload::Probes(
                ProbeRounds::round(&rounds, &ps.client, &ps.templates, pairs, budget, run, clock()).await,
            ))
        }
    };
    tokio::spawn(async move {
        // Probing needs the service and region lists: wait for them rather
        // than reporting a spurious error at startup.
        if ready.wait_for(|s| !probe_pairs(s).is_empty()).await.is_err() {
            return;
        }
        run_poll(probe_spec, clock, tx, fetch).await
    })
}

/// Run the configured sources until every feed has answered once (data,
/// an error, or "not configured"), or `wait` has passed, and return that
/// snapshot: `warroom snapshot --config FILE`. Feeds still waiting then
/// show as such on the frame.
pub async fn fetch_sources_once(
    src: Sources,
    intervals: Intervals,
    clock: Clock,
    wait: Duration,
) -> Result<Arc<Snapshot>, String> {
    let plane = spawn_sources(src, intervals, clock.clone())?;
    let mut rx = plane.snapshots.clone();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let snap = rx.borrow().clone();
        let now = clock();
        if FEEDS.iter().all(|id| snap.fleet.feed_state(*id, now) != crate::model::FeedState::Waiting) {
            return Ok(snap);
        }
        match tokio::time::timeout_at(deadline, rx.changed()).await {
            Ok(Ok(())) => {}
            // Past the deadline, or the store is gone: what we have.
            _ => return Ok(rx.borrow().clone()),
        }
    }
}

/// Fetch every feed once and return the resulting snapshot (for
/// `warroom snapshot`): no background tasks, no timers.
pub async fn fetch_once(base: &str, intervals: &Intervals, clock: Clock) -> Result<Arc<Snapshot>, String> {
    let client = http_client()?;
    let cp = ControlPlane::new(base, client.clone());
    let mut store = Store::new(intervals);
    let feeds: Vec<FeedId> = FEEDS
        .into_iter()
        .filter(|f| !matches!(f, FeedId::Probes | FeedId::Alerts | FeedId::Traffic | FeedId::Databases))
        .collect();
    let results = futures_util::future::join_all(feeds.iter().map(|f| cp.fetch(*f))).await;
    for (feed, result) in feeds.into_iter().zip(results) {
        store.apply(Update { source: None, feed, at: clock(), result });
    }
    let result = Ok(Payload::NotConfigured(not_configured(FeedId::Traffic).into()));
    store.apply(Update { source: None, feed: FeedId::Traffic, at: clock(), result });
    // The clusters the control plane lists, read once through Patroni.
    let clusters = crate::sources::patroni::discover(base, &client).await;
    if clusters.is_empty() {
        let result = Ok(Payload::NotConfigured(not_configured(FeedId::Databases).into()));
        store.apply(Update { source: None, feed: FeedId::Databases, at: clock(), result });
    }
    for c in &clusters {
        let source: Option<Arc<str>> = Some(format!("patroni:{}", c.name).into());
        store.apply(Update { source, feed: FeedId::Databases, at: clock(), result: c.read().await });
    }
    let alerts = Alertmanager::new(base, client.clone(), None).fetch().await;
    store.apply(Update { source: None, feed: FeedId::Alerts, at: clock(), result: alerts });
    let pairs = probe_pairs(&store.snapshot());
    let probes = probe_all(
        &client,
        &ProbeTemplates::for_base(base),
        pairs,
        PROBE_CONCURRENCY,
        Duration::from_secs(5),
        Duration::ZERO,
    )
    .await;
    store.apply(Update { source: None, feed: FeedId::Probes, at: clock(), result: Ok(Payload::Probes(probes)) });
    Ok(store.snapshot())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_feed_has_one_slot_and_its_own_interval() {
        let listed = |f: FeedId| match f {
            FeedId::Regions
            | FeedId::Services
            | FeedId::Metrics
            | FeedId::Deployments
            | FeedId::Circuits
            | FeedId::Flags
            | FeedId::Probes
            | FeedId::Alerts
            | FeedId::Traffic
            | FeedId::Databases => FEEDS.iter().filter(|x| **x == f).count(),
        };
        let i = Intervals::default();
        for f in FEEDS {
            assert_eq!(listed(f), 1, "{f:?} is in FEEDS once");
            assert_eq!(i.get(f), default_interval(f));
        }
        let changed = i.with(FeedId::Flags, Duration::from_secs(1));
        assert_eq!(changed.get(FeedId::Flags), Duration::from_secs(1));
        assert_eq!(changed.get(FeedId::Probes), default_interval(FeedId::Probes), "only that feed");
    }
}

#[cfg(test)]
mod timeout_tests {
    use super::*;

    #[test]
    fn a_timeout_follows_the_interval_unless_set_and_a_set_one_is_not_scaled() {
        let i = Intervals::default();
        assert_eq!(i.timeout(FeedId::Metrics), Duration::from_millis(1600), "0.8 × 2 s");
        assert_eq!(i.timeout(FeedId::Services), Duration::from_secs(10), "at most 10 s by default");
        assert_eq!(i.scaled(0.01).timeout(FeedId::Metrics), Duration::from_millis(200), "at least 200 ms");
        let set = i.with_timeout(FeedId::Metrics, Some(Duration::from_secs(8)));
        assert_eq!(set.scaled(0.25).timeout(FeedId::Metrics), Duration::from_secs(8), "the operator's, unscaled");
        assert_eq!(set.with_timeout(FeedId::Metrics, None).timeout(FeedId::Metrics), Duration::from_millis(1600));
    }
}
