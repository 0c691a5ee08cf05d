//! Sources: tasks that poll backends and send typed updates to the store.
//! They never touch the UI.

pub mod alertmanager;
pub mod cloudwatch;
pub mod control_plane;
pub mod health;
mod http;
pub mod kube;
mod metrics_rows;
pub mod patroni;
pub mod prometheus;
pub mod rds;
pub mod resilience4j;
pub mod rollouts;
pub mod route53;
mod runner;
pub mod unleash;

use chrono::{DateTime, Utc};

pub use crate::model::error::{FeedError, MAX_RETRY_AFTER, RETRY_AFTER};
pub use http::{get_any_auth, get_limited, get_limited_auth, redact, send_limited};
pub use runner::{run_poll, Clock, PollSpec};

use crate::model::{
    ActionEntry, Alert, Circuit, Database, Deployment, FeedId, Flag, Probe, Region, RegionWeight, Service, Traffic,
};

/// What one fetch of a source gives.
pub type Fetch<'a> = std::pin::Pin<Box<dyn std::future::Future<Output = Result<Payload, FeedError>> + Send + 'a>>;

/// A backend the data plane polls. A source is one module implementing
/// this, plus one line where `crate::wiring` builds the registry: the
/// first source in the registry that supplies a feed polls it.
pub trait Source: Send + Sync {
    /// Its name in messages and on the data it supplies to a merged feed
    /// ("control-plane", "prometheus"; two of a kind need two names).
    fn name(&self) -> &str;
    /// The feeds it supplies.
    fn feeds(&self) -> &'static [FeedId];
    /// One poll of `feed` (one of `feeds`).
    fn fetch(&self, feed: FeedId) -> Fetch<'_>;
    /// A chart's bounded range of one service in one region (the metrics
    /// source's; None: it keeps no history to ask).
    fn range<'a>(&'a self, _q: &'a crate::model::range::RangeQuery) -> Option<RangeFetch<'a>> {
        None
    }
}

/// What one range query gives: the series, or why not.
pub type RangeFetch<'a> =
    std::pin::Pin<Box<dyn std::future::Future<Output = Result<crate::model::range::RangeSeries, String>> + Send + 'a>>;

/// Regions and services fixed by the configuration file.
#[derive(Debug, Clone)]
pub struct Fixed {
    pub regions: Vec<Region>,
    pub services: Vec<Service>,
}

impl Source for Fixed {
    fn name(&self) -> &str {
        "configuration"
    }
    fn feeds(&self) -> &'static [FeedId] {
        &[FeedId::Regions, FeedId::Services]
    }
    fn fetch(&self, feed: FeedId) -> Fetch<'_> {
        let p = match feed {
            FeedId::Regions => Ok(Payload::Regions(self.regions.clone())),
            FeedId::Services => Ok(Payload::Services(self.services.clone())),
            other => Err(FeedError::Source(format!("the configuration does not supply {}", other.name()))),
        };
        Box::pin(async move { p })
    }
}

/// New data (or an error) for one feed.
#[derive(Debug, Clone)]
pub enum Payload {
    Regions(Vec<Region>),
    Services(Vec<Service>),
    Metrics(Vec<Traffic>),
    /// Traffic from a source that can fail in part (CloudWatch: one region
    /// down, the others fine), with what it costs.
    MetricsFrom {
        traffic: Vec<Traffic>,
        error: Option<String>,
        note: Option<String>,
    },
    Deployments(Vec<Deployment>),
    Circuits(Vec<Circuit>),
    Flags(Vec<Flag>),
    Probes(Vec<Probe>),
    Alerts(Vec<Alert>),
    /// Alerts with Alertmanager's silences, read together.
    Silenced {
        alerts: Vec<Alert>,
        silences: Vec<crate::model::Silence>,
    },
    /// Per-region weights and health checks (Route 53).
    Weights(Vec<RegionWeight>),
    Databases(Vec<Database>),
    /// An action log entry from the executor.
    Action(ActionEntry),
    /// A note, or an incident opened or resolved, from a console.
    Post(crate::model::incident::Post),
    /// An event that happened here (a runbook step), for the timeline.
    Change(crate::model::changes::Change),
    /// A chart's range query answered (or failed).
    Range(std::sync::Arc<crate::model::range::RangeSeries>),
    /// No source feeds this: why, and how to add one.
    NotConfigured(String),
    /// Data with records the source sent but that could not be read: the
    /// rest is shown, and the error names the dropped ones.
    Partial {
        inner: Box<Payload>,
        error: String,
    },
    /// A payload with the source's own time of the data (`observedAt`).
    Timed {
        source_at: DateTime<Utc>,
        inner: Box<Payload>,
    },
}

#[derive(Debug, Clone)]
pub struct Update {
    /// The source that sent it, when a feed has several (merged by the
    /// store, each datum naming its source); None: the feed's only one.
    pub source: Option<std::sync::Arc<str>>,
    pub feed: FeedId,
    pub at: DateTime<Utc>,
    pub result: Result<Payload, FeedError>,
}
