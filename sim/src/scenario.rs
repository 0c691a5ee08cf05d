//! Scenarios: scripted effects over scenario time (seconds since the
//! simulator's start; negative times are history), and deployment schedules.

use std::fmt;
use std::str::FromStr;

use crate::fleet::Fleet;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    Calm,
    RegionOutage,
    BadCanary,
    DependencyStorm,
    DbPrimaryFailure,
    /// A blue-green rollout: green deploys, health checks pass, it waits
    /// for the operator to switch traffic.
    BlueGreen,
    /// The same, but green's post-promotion analysis fails: switch back.
    BadGreen,
}

impl Scenario {
    pub const ALL: [Scenario; 7] = [
        Scenario::Calm,
        Scenario::RegionOutage,
        Scenario::BadCanary,
        Scenario::DependencyStorm,
        Scenario::DbPrimaryFailure,
        Scenario::BlueGreen,
        Scenario::BadGreen,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::Calm => "calm",
            Scenario::RegionOutage => "region-outage",
            Scenario::BadCanary => "bad-canary",
            Scenario::DependencyStorm => "dependency-storm",
            Scenario::DbPrimaryFailure => "db-primary-failure",
            Scenario::BlueGreen => "blue-green",
            Scenario::BadGreen => "bad-green",
        }
    }
}

impl fmt::Display for Scenario {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Scenario {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Scenario::ALL.into_iter().find(|sc| sc.name() == s).ok_or_else(|| {
            let names: Vec<&str> = Scenario::ALL.iter().map(|s| s.name()).collect();
            format!("unknown scenario '{s}' (expected one of: {})", names.join(", "))
        })
    }
}

/// Which series an effect applies to.
#[derive(Debug, Clone, PartialEq)]
pub enum Target {
    All,
    One(usize),
    Many(Vec<usize>),
}

impl Target {
    fn has(&self, i: usize) -> bool {
        match self {
            Target::All => true,
            Target::One(x) => *x == i,
            Target::Many(v) => v.contains(&i),
        }
    }
}

/// A change to traffic over a time interval [start, end) of scenario seconds.
#[derive(Debug, Clone)]
pub struct Effect {
    pub start: f64,
    pub end: f64,
    pub services: Target,
    pub regions: Target,
    /// Added to the error ratio.
    pub err_add: f64,
    /// Multiplies the median latency.
    pub lat_mult: f64,
    /// The series fails every request (region or service down).
    pub down: bool,
    /// Deployment whose canary causes this effect, if any: operator actions
    /// on that deployment replace it.
    pub source: Option<usize>,
}

impl Effect {
    pub fn applies(&self, s: usize, r: usize) -> bool {
        self.services.has(s) && self.regions.has(r)
    }
}

/// Phase of a canary deployment, in Argo Rollouts' vocabulary plus Aborted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    Progressing,
    Paused,
    Degraded,
    Aborted,
    Healthy,
}

impl Phase {
    pub fn name(self) -> &'static str {
        match self {
            Phase::Progressing => "Progressing",
            Phase::Paused => "Paused",
            Phase::Degraded => "Degraded",
            Phase::Aborted => "Aborted",
            Phase::Healthy => "Healthy",
        }
    }
}

/// How a deployment behaves over time.
#[derive(Debug, Clone)]
pub enum Plan {
    /// Steps advance every `step_secs`; after the last step the rollout is
    /// Healthy for `rest_secs`, then a new revision starts (repeats forever).
    Cycling { step_secs: f64, rest_secs: f64 },
    /// Paused at the given step index by a manual gate.
    PausedAt { step: usize },
    /// Advances every `step_secs` until step `fail_step`, where analysis fails
    /// after `detect_secs`; the canary then stays Degraded at that weight.
    Failing { step_secs: f64, fail_step: usize, detect_secs: f64, canary_err: f64, canary_lat: f64 },
    /// No rollout in flight.
    Stable,
}

#[derive(Debug, Clone)]
pub struct Deployment {
    pub service: usize,
    pub region: usize,
    pub steps: Vec<f64>,
    pub base_revision: u64,
    pub plan: Plan,
}

/// State of a deployment at one instant.
#[derive(Debug, Clone)]
pub struct DeployState {
    pub phase: Phase,
    pub step_index: usize,
    pub weight: f64,
    pub stable_rev: u64,
    pub canary_rev: Option<u64>,
    pub since: f64,
    pub message: String,
    pub canary_err: f64,
    pub canary_lat: f64,
}

impl Deployment {
    pub fn state_at(&self, t: f64) -> DeployState {
        let n = self.steps.len();
        let mut st = DeployState {
            phase: Phase::Healthy,
            step_index: n,
            weight: 0.0,
            stable_rev: self.base_revision,
            canary_rev: None,
            since: f64::NEG_INFINITY,
            message: "stable".into(),
            canary_err: 0.0,
            canary_lat: 1.0,
        };
        match &self.plan {
            Plan::Stable => {}
            Plan::PausedAt { step } => {
                let i = (*step).min(n.saturating_sub(1));
                st.phase = Phase::Paused;
                st.step_index = i;
                st.weight = self.steps[i];
                st.canary_rev = Some(self.base_revision + 1);
                st.since = -600.0;
                st.message = "CanaryPauseStep: waiting for manual promotion".into();
            }
            Plan::Cycling { step_secs, rest_secs } => {
                let cycle = step_secs * n as f64 + rest_secs;
                let k = (t / cycle).floor();
                let within = t - k * cycle;
                let rev = self.base_revision + k.max(-1000.0) as i64 as u64;
                let i = (within / step_secs).floor() as usize;
                if i < n {
                    st.phase = Phase::Progressing;
                    st.step_index = i;
                    st.weight = self.steps[i];
                    st.stable_rev = rev;
                    st.canary_rev = Some(rev + 1);
                    st.since = k * cycle + i as f64 * step_secs;
                    st.message = format!("setWeight {}", self.steps[i]);
                } else {
                    st.stable_rev = rev + 1;
                    st.since = k * cycle + n as f64 * step_secs;
                    st.message = "rollout completed".into();
                }
            }
            Plan::Failing { step_secs, fail_step, detect_secs, canary_err, canary_lat } => {
                if t < 0.0 {
                    return st;
                }
                let fail_at = *fail_step as f64 * step_secs + detect_secs;
                let i = ((t / step_secs).floor() as usize).min(*fail_step);
                st.step_index = i;
                st.weight = self.steps[i.min(n - 1)];
                st.canary_rev = Some(self.base_revision + 1);
                st.canary_err = *canary_err;
                st.canary_lat = *canary_lat;
                if t >= fail_at {
                    st.phase = Phase::Degraded;
                    st.since = fail_at;
                    st.message = "analysis failed: canary error rate and p99 above baseline".into();
                } else {
                    st.phase = Phase::Progressing;
                    st.since = i as f64 * step_secs;
                    st.message = format!("setWeight {}", st.weight);
                }
            }
        }
        st
    }

    /// The error/latency effects this deployment's canary adds to its series.
    pub fn effects(&self) -> Vec<Effect> {
        let Plan::Failing { step_secs, fail_step, canary_err, canary_lat, .. } = &self.plan else {
            return Vec::new();
        };
        (0..=*fail_step)
            .map(|i| {
                let w = self.steps[i.min(self.steps.len() - 1)] / 100.0;
                Effect {
                    start: i as f64 * step_secs,
                    end: if i == *fail_step { f64::INFINITY } else { (i + 1) as f64 * step_secs },
                    services: Target::One(self.service),
                    regions: Target::One(self.region),
                    err_add: w * canary_err,
                    lat_mult: 1.0 + w * (canary_lat - 1.0),
                    down: false,
                    source: None,
                }
            })
            .collect()
    }
}

/// Everything scripted for one run: effects over time and deployments.
#[derive(Debug, Clone)]
pub struct Script {
    pub effects: Vec<Effect>,
    pub deployments: Vec<Deployment>,
    /// Service whose errors drive the dependency storm, if any.
    pub storm_service: Option<usize>,
    /// The database writer that dies, if any (`db-primary-failure`).
    pub db_failure: Option<crate::databases::DbFailure>,
}

const DAY: f64 = 86_400.0;

pub fn build(scenario: Scenario, fleet: &Fleet) -> Script {
    let ns = fleet.services.len();
    let nr = fleet.regions.len();
    let last_region = nr - 1;
    let pick = |want: usize| want.min(ns - 1);
    // History: a few past incidents so that budgets differ from the first second.
    let mut effects = vec![
        Effect {
            start: -20.0 * DAY,
            end: -20.0 * DAY + 7200.0,
            services: Target::One(pick(1)),
            regions: Target::All,
            err_add: 0.004,
            lat_mult: 1.3,
            down: false,
            source: None,
        },
        Effect {
            start: -9.0 * DAY,
            end: -9.0 * DAY + 2700.0,
            services: Target::One(pick(2)),
            regions: Target::One(0),
            err_add: 0.03,
            lat_mult: 2.0,
            down: false,
            source: None,
        },
        Effect {
            start: -3.0 * DAY,
            end: -3.0 * DAY + 1200.0,
            services: Target::One(pick(5)),
            regions: Target::One(last_region),
            err_add: 0.2,
            lat_mult: 3.0,
            down: false,
            source: None,
        },
    ];
    let steps = vec![10.0, 25.0, 50.0, 100.0];
    let checkout = pick(2);
    let mut deployments = vec![Deployment {
        service: checkout,
        region: 0,
        steps: steps.clone(),
        base_revision: 41,
        plan: Plan::Cycling { step_secs: 120.0, rest_secs: 240.0 },
    }];
    if ns > 5 && nr > 1 {
        deployments.push(Deployment {
            service: 5,
            region: 1,
            steps: steps.clone(),
            base_revision: 17,
            plan: Plan::PausedAt { step: 1 },
        });
    }
    deployments.push(Deployment {
        service: pick(1),
        region: last_region,
        steps: steps.clone(),
        base_revision: 88,
        plan: Plan::Stable,
    });
    let mut storm_service = None;
    match scenario {
        // The database failure is scripted below (`db_failure`); its effect
        // on services depends on the promotions operators make.
        Scenario::Calm | Scenario::DbPrimaryFailure | Scenario::BlueGreen | Scenario::BadGreen => {}
        Scenario::RegionOutage => {
            let r = if nr > 1 { 1 } else { 0 };
            effects.push(Effect {
                start: 30.0,
                end: 60.0,
                services: Target::All,
                regions: Target::One(r),
                err_add: 0.05,
                lat_mult: 3.0,
                down: false,
                source: None,
            });
            effects.push(Effect {
                start: 60.0,
                end: 1800.0,
                services: Target::All,
                regions: Target::One(r),
                err_add: 0.0,
                lat_mult: 1.0,
                down: true,
                source: None,
            });
        }
        Scenario::BadCanary => {
            deployments[0].plan =
                Plan::Failing { step_secs: 90.0, fail_step: 1, detect_secs: 60.0, canary_err: 0.12, canary_lat: 4.0 };
        }
        Scenario::DependencyStorm => {
            let dep = pick(3);
            storm_service = Some(dep);
            effects.push(Effect {
                start: 60.0,
                end: 900.0,
                services: Target::One(dep),
                regions: Target::All,
                err_add: 0.45,
                lat_mult: 6.0,
                down: false,
                source: None,
            });
            let callers: Vec<usize> = fleet
                .services
                .iter()
                .enumerate()
                .filter(|(_, s)| s.depends_on.contains(&dep))
                .map(|(i, _)| i)
                .collect();
            if !callers.is_empty() {
                effects.push(Effect {
                    start: 60.0,
                    end: 900.0,
                    services: Target::Many(callers),
                    regions: Target::All,
                    err_add: 0.08,
                    lat_mult: 1.8,
                    down: false,
                    source: None,
                });
            }
        }
    }
    for (i, d) in deployments.iter().enumerate() {
        effects.extend(d.effects().into_iter().map(|e| Effect { source: Some(i), ..e }));
    }
    // The first cluster's writer: replication stalls at 45 s, it dies at 60 s.
    let db_failure = (scenario == Scenario::DbPrimaryFailure && !crate::databases::clusters(fleet).is_empty())
        .then_some(crate::databases::DbFailure { cluster: 0, member: 0, lag_from: 45.0, dies_at: 60.0 });
    Script { effects, deployments, storm_service, db_failure }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenario_names_round_trip() {
        for s in Scenario::ALL {
            assert_eq!(s.name().parse::<Scenario>(), Ok(s));
        }
        assert!("nope".parse::<Scenario>().unwrap_err().contains("calm"));
    }

    #[test]
    fn cycling_canary_advances_through_steps() {
        let d = Deployment {
            service: 0,
            region: 0,
            steps: vec![10.0, 25.0, 50.0, 100.0],
            base_revision: 1,
            plan: Plan::Cycling { step_secs: 100.0, rest_secs: 100.0 },
        };
        let w: Vec<f64> = [10.0, 110.0, 210.0, 310.0].iter().map(|&t| d.state_at(t).weight).collect();
        assert_eq!(w, vec![10.0, 25.0, 50.0, 100.0]);
        assert_eq!(d.state_at(450.0).phase, Phase::Healthy);
        assert_eq!(d.state_at(510.0).phase, Phase::Progressing);
        assert_eq!(d.state_at(510.0).stable_rev, 2);
    }

    #[test]
    fn failing_canary_degrades_and_holds() {
        let d = Deployment {
            service: 0,
            region: 0,
            steps: vec![10.0, 25.0, 50.0, 100.0],
            base_revision: 1,
            plan: Plan::Failing { step_secs: 90.0, fail_step: 1, detect_secs: 60.0, canary_err: 0.1, canary_lat: 3.0 },
        };
        assert_eq!(d.state_at(10.0).phase, Phase::Progressing);
        assert_eq!(d.state_at(149.0).phase, Phase::Progressing);
        let s = d.state_at(151.0);
        assert_eq!((s.phase, s.weight), (Phase::Degraded, 25.0));
        assert_eq!(d.state_at(5000.0).weight, 25.0);
    }
}
