//! Wiring: spawn one task per source and the store, and hand viewers a
//! watch receiver of snapshots. Backend load does not depend on viewers.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::model::{FeedId, Snapshot, FEEDS};
use crate::sources::alertmanager::Alertmanager;
use crate::sources::control_plane::ControlPlane;
use crate::sources::health::{probe_all, ProbeTemplates};
use crate::sources::{run_poll, Clock, Payload, PollSpec, Update};
use crate::store::{run_store, Store};

/// Poll interval per feed.
#[derive(Debug, Clone)]
pub struct Intervals {
    base: [Duration; 8],
}

impl Default for Intervals {
    fn default() -> Self {
        let s = Duration::from_secs;
        Intervals { base: [s(5), s(30), s(2), s(3), s(3), s(10), s(10), s(5)] }
    }
}

impl Intervals {
    pub fn get(&self, feed: FeedId) -> Duration {
        self.base.get(feed as usize).copied().unwrap_or(Duration::from_secs(10))
    }

    /// Replace one feed's interval.
    pub fn with(mut self, feed: FeedId, d: Duration) -> Intervals {
        if let Some(slot) = self.base.get_mut(feed as usize) {
            *slot = d;
        }
        self
    }

    /// Every interval multiplied by `factor` (tests use small factors).
    pub fn scaled(&self, factor: f64) -> Intervals {
        let f = if factor.is_finite() && factor > 0.0 { factor } else { 1.0 };
        Intervals { base: self.base.map(|d| d.mul_f64(f).max(Duration::from_millis(50))) }
    }
}

/// Concurrent probes in flight at most.
const PROBE_CONCURRENCY: usize = 32;

/// A running data plane; dropping it stops every task.
pub struct DataPlane {
    pub snapshots: watch::Receiver<Arc<Snapshot>>,
    /// Where the action executor sends action-log entries.
    pub updates: mpsc::Sender<Update>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for DataPlane {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

pub fn http_client() -> Result<reqwest::Client, String> {
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(3))
        .user_agent(concat!("warroom/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| format!("cannot build HTTP client: {e}"))
}

fn spec(intervals: &Intervals, feed: FeedId) -> PollSpec {
    let interval = intervals.get(feed);
    PollSpec {
        feed,
        interval,
        timeout: interval.mul_f64(0.8).clamp(Duration::from_millis(200), Duration::from_secs(10)),
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

/// Start the sources and the store against a control plane at `base`.
pub fn spawn(base: &str, intervals: Intervals, clock: Clock) -> Result<DataPlane, String> {
    let client = http_client()?;
    let cp = ControlPlane::new(base, client.clone());
    let (tx, rx) = mpsc::channel::<Update>(64);
    let (wtx, wrx) = watch::channel(Arc::new(Snapshot::default()));
    let mut tasks = Vec::new();
    tasks.push(tokio::spawn(run_store(Store::new(&intervals), rx, wtx)));
    for feed in FEEDS.into_iter().filter(|f| !matches!(f, FeedId::Probes | FeedId::Alerts)) {
        let cp = cp.clone();
        let fetch = move || {
            let cp = cp.clone();
            async move { cp.fetch(feed).await }
        };
        tasks.push(tokio::spawn(run_poll(spec(&intervals, feed), clock.clone(), tx.clone(), fetch)));
    }
    // The simulator serves Alertmanager's v2 API too.
    let am = Alertmanager::new(base, client.clone(), None);
    let fetch = move || {
        let am = am.clone();
        async move { am.fetch().await }
    };
    tasks.push(tokio::spawn(run_poll(spec(&intervals, FeedId::Alerts), clock.clone(), tx.clone(), fetch)));
    let templates = ProbeTemplates::for_base(base);
    let probe_spec = spec(&intervals, FeedId::Probes);
    let snaps = wrx.clone();
    let fetch = move || {
        let client = client.clone();
        let templates = templates.clone();
        let pairs = probe_pairs(&snaps.borrow());
        async move {
            if pairs.is_empty() {
                return Err("waiting for the service and region lists".to_string());
            }
            let per_probe = probe_spec.timeout.mul_f64(0.9);
            Ok(Payload::Probes(probe_all(&client, &templates, pairs, PROBE_CONCURRENCY, per_probe).await))
        }
    };
    let mut ready = wrx.clone();
    let probe_tx = tx.clone();
    tasks.push(tokio::spawn(async move {
        // Probing needs the service and region lists: wait for them rather
        // than reporting a spurious error at startup.
        if ready.wait_for(|s| !probe_pairs(s).is_empty()).await.is_err() {
            return;
        }
        run_poll(probe_spec, clock, probe_tx, fetch).await
    }));
    Ok(DataPlane { snapshots: wrx, updates: tx, tasks })
}

/// Fetch every feed once and return the resulting snapshot (for
/// `warroom snapshot`): no background tasks, no timers.
pub async fn fetch_once(base: &str, intervals: &Intervals, clock: Clock) -> Result<Arc<Snapshot>, String> {
    let client = http_client()?;
    let cp = ControlPlane::new(base, client.clone());
    let mut store = Store::new(intervals);
    let feeds: Vec<FeedId> = FEEDS.into_iter().filter(|f| !matches!(f, FeedId::Probes | FeedId::Alerts)).collect();
    let results = futures_util::future::join_all(feeds.iter().map(|f| cp.fetch(*f))).await;
    for (feed, result) in feeds.into_iter().zip(results) {
        store.apply(Update { feed, at: clock(), result });
    }
    let alerts = Alertmanager::new(base, client.clone(), None).fetch().await;
    store.apply(Update { feed: FeedId::Alerts, at: clock(), result: alerts });
    let pairs = probe_pairs(&store.snapshot());
    let probes =
        probe_all(&client, &ProbeTemplates::for_base(base), pairs, PROBE_CONCURRENCY, Duration::from_secs(5)).await;
    store.apply(Update { feed: FeedId::Probes, at: clock(), result: Ok(Payload::Probes(probes)) });
    Ok(store.snapshot())
}
