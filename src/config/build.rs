//! Turning a checked configuration into running sources.

use std::path::Path;

use super::{parse_duration, Config};
use crate::actions::{Operator, Role};
use crate::dataplane::{http_client, http_client_with, Intervals, ProbeSource, Sources};
use crate::model::{FeedId, Region, RegionStatus, Service, SloKind, SloPeriod, SloSpec, Tier};
use crate::sources::alertmanager::Alertmanager;
use crate::sources::control_plane::ControlPlane;
use crate::sources::health::{probe_client, ProbeTemplates};
use crate::sources::prometheus::{PromQueries, Prometheus};

/// What the console runs with a configuration file.
pub struct Setup {
    pub sources: Sources,
    pub intervals: Intervals,
    pub operator: Operator,
    /// Control plane for actions, if configured: URL, token, CA bundle.
    pub control_plane: Option<(String, Option<String>, Option<std::path::PathBuf>)>,
    /// CloudWatch, to be built (its SDK clients load asynchronously) with
    /// the latency-SLO thresholds per service (seconds).
    pub cloudwatch: Option<(super::CloudWatchCfg, std::collections::HashMap<String, f64>)>,
}

fn dur(s: &str, fallback: std::time::Duration) -> std::time::Duration {
    parse_duration(s).unwrap_or(fallback)
}

fn slo_spec(service: &str, o: &super::SloCfg) -> SloSpec {
    let kind = match (o.kind.as_ref().map(|k| k.get_ref().as_str()), &o.threshold_ms) {
        (Some("latency"), Some(t)) => SloKind::Latency { threshold_ms: *t.get_ref() },
        _ => SloKind::Availability,
    };
    let period = if o.calendar.is_some() {
        SloPeriod::CalendarMonth
    } else {
        SloPeriod::Rolling { days: *o.window_days.get_ref() }
    };
    let suffix = if matches!(kind, SloKind::Latency { .. }) { "latency" } else { "availability" };
    let name = o.name.clone().unwrap_or_else(|| format!("{service}-{suffix}"));
    let low_budget = o.low_budget_pct.as_ref().map(|p| *p.get_ref() / 100.0).unwrap_or(crate::model::slo::LOW_BUDGET);
    SloSpec { name, kind, objective: *o.objective.get_ref(), period, low_budget }
}

/// Latency thresholds (seconds) per service, for the Prometheus source.
fn latency_thresholds(services: &[Service]) -> std::collections::HashMap<String, f64> {
    services
        .iter()
        .filter_map(|s| {
            s.slos.iter().find_map(|o| match o.kind {
                SloKind::Latency { threshold_ms } => Some((s.name.clone(), threshold_ms / 1000.0)),
                SloKind::Availability => None,
            })
        })
        .collect()
}

impl Config {
    /// Every SLO's name, as the store will call it.
    pub fn slo_names(&self) -> Vec<String> {
        self.services
            .iter()
            .flat_map(|s| s.slo.iter().chain(&s.slos).map(|o| slo_spec(s.name.get_ref(), o).name))
            .collect()
    }

    pub fn setup(&self) -> Result<Setup, String> {
        let client = http_client()?;
        let n = self.regions.len().max(1) as f64;
        let regions: Vec<Region> = self
            .regions
            .iter()
            .map(|r| {
                let w = r.weight.as_ref().map(|w| *w.get_ref()).unwrap_or(100.0 / n);
                Region {
                    name: r.name.get_ref().clone(),
                    status: RegionStatus::Unknown,
                    weight: w,
                    base_weight: Some(w),
                    zones: r.zones.clone(),
                    since: None,
                }
            })
            .collect();
        let services: Vec<Service> = self
            .services
            .iter()
            .map(|s| Service {
                name: s.name.get_ref().clone(),
                tier: match s.tier.as_ref().map(|t| t.get_ref().as_str()) {
                    Some("critical") => Tier::Critical,
                    _ => Tier::Standard,
                },
                owners: s.owners.clone(),
                depends_on: s.depends_on.iter().map(|d| d.get_ref().clone()).collect(),
                slos: s.slo.iter().chain(&s.slos).map(|o| slo_spec(s.name.get_ref(), o)).collect(),
                sla: s.sla.as_ref().map(|c| c.to_sla()).unwrap_or_default(),
            })
            .collect();
        let mut intervals = Intervals::default();
        let control_plane = match &self.control_plane {
            Some(cp) => {
                let token = Config::secret(cp.token_env.as_deref(), cp.token_file.as_deref())?;
                let ca = cp.ca_bundle.as_ref().map(|c| std::path::PathBuf::from(c.get_ref()));
                Some((cp.url.get_ref().clone(), token, ca))
            }
            None => None,
        };
        let cp = match &control_plane {
            Some((url, token, ca)) => {
                let c = if ca.is_some() { http_client_with(ca.as_deref())? } else { client.clone() };
                Some(ControlPlane::new(url, c).with_token(token.clone()))
            }
            None => None,
        };
        let prometheus = match &self.prometheus {
            Some(p) => {
                let token = Config::secret(p.bearer_token_env.as_deref(), None)?;
                intervals = intervals.with(FeedId::Metrics, dur(p.interval.get_ref(), intervals.get(FeedId::Metrics)));
                let q = PromQueries {
                    latency_metric: p.latency_metric.clone(),
                    requests_metric: p.requests_metric.clone(),
                    error_matcher: p.error_matcher.clone(),
                    selector: p.selector.clone(),
                    service_label: p.service_label.clone(),
                    region_label: p.region_label.clone(),
                    rate_window: p.rate_window.get_ref().clone(),
                    latency_thresholds: latency_thresholds(&services),
                };
                let c = match &p.ca_bundle {
                    Some(ca) => http_client_with(Some(Path::new(ca.get_ref())))?,
                    None => client.clone(),
                };
                Some(Prometheus::new(p.url.get_ref(), c, token, q))
            }
            None => None,
        };
        let alertmanager = match &self.alertmanager {
            Some(a) => {
                let token = Config::secret(a.bearer_token_env.as_deref(), None)?;
                intervals = intervals.with(FeedId::Alerts, dur(a.interval.get_ref(), intervals.get(FeedId::Alerts)));
                let mut labels = crate::sources::alertmanager::AlertLabels::default();
                if let Some(r) = &a.region_labels {
                    labels.region = r.clone();
                }
                if let Some(s) = &a.service_labels {
                    labels.service = s.clone();
                }
                let c = match &a.ca_bundle {
                    Some(ca) => http_client_with(Some(Path::new(ca.get_ref())))?,
                    None => client.clone(),
                };
                Some(Alertmanager::new(a.url.get_ref(), c, token).with_labels(labels))
            }
            None => None,
        };
        let probes = match &self.health {
            Some(h) => {
                intervals = intervals.with(FeedId::Probes, dur(h.interval.get_ref(), intervals.get(FeedId::Probes)));
                let ca = h.ca_bundle.as_ref().map(|c| Path::new(c.get_ref()));
                Some(ProbeSource {
                    client: probe_client(ca, h.insecure_skip_verify)?,
                    templates: ProbeTemplates {
                        health: h.liveness.as_ref().map(|t| t.get_ref().clone()),
                        ready: h.readiness.as_ref().map(|t| t.get_ref().clone()),
                        insecure: h.insecure_skip_verify,
                    },
                    concurrency: h.concurrency.max(1),
                    timeout: parse_duration(h.timeout.get_ref()),
                })
            }
            None => None,
        };
        let mut operator = Operator::local(false);
        if let Some(op) = &self.operator {
            if let Some(name) = op.name.as_ref().filter(|n| !n.is_empty()) {
                operator.name = name.clone();
            }
            if op.role.as_ref().is_some_and(|r| r.get_ref() == "viewer") {
                operator.role = Role::Viewer;
            }
        }
        Ok(Setup {
            cloudwatch: self.cloudwatch.clone().map(|c| (c, latency_thresholds(&services))),
            sources: Sources {
                fixed: Some((regions, services)),
                control_plane: cp,
                prometheus,
                cloudwatch: None,
                alertmanager,
                probes,
            },
            intervals: match &self.cloudwatch {
                Some(c) => {
                    intervals.with(FeedId::Metrics, dur(c.interval.get_ref(), std::time::Duration::from_secs(60)))
                }
                None => intervals,
            },
            operator,
            control_plane,
        })
    }
}
