//! A checked configuration as model data: the fleet it fixes, its SLOs,
//! the operator. Plain data; the sources are wired in `crate::wiring`.

use super::{parse_duration, Config};
use crate::actions::{Operator, Role};
use crate::model::{Region, RegionStatus, Service, SloKind, SloPeriod, SloSpec, Tier};

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

/// Latency thresholds (seconds) per service, for the metrics sources.
pub fn latency_thresholds(services: &[Service]) -> std::collections::HashMap<String, f64> {
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

    /// The regions and services the file fixes.
    pub fn fleet(&self) -> (Vec<Region>, Vec<Service>) {
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
        (regions, services)
    }

    /// Who acts from this console, and in which role.
    pub fn operator(&self) -> Operator {
        let mut operator = Operator::local(false);
        if let Some(op) = &self.operator {
            if let Some(name) = op.name.as_ref().filter(|n| !n.is_empty()) {
                operator.name = name.clone();
            }
            if op.role.as_ref().is_some_and(|r| r.get_ref() == "viewer") {
                operator.role = Role::Viewer;
            }
        }
        operator
    }
}

/// A duration from the file, or `fallback` (the file was checked).
pub fn duration_or(s: &str, fallback: std::time::Duration) -> std::time::Duration {
    parse_duration(s).unwrap_or(fallback)
}
