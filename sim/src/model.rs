//! The traffic model: request rates with a daily shape, log-normal latency,
//! error ratios, and exact counts over any window (integrated in closed form
//! piece by piece, so a 30-day window costs as little as a 5-minute one).

use std::sync::{Arc, RwLock, RwLockReadGuard, RwLockWriteGuard};

use crate::dynamic::{Dynamic, Manual};
use crate::fleet::Fleet;
use crate::rng::{hash, unit};
use crate::scenario::{self, DeployState, Phase, Plan, Scenario, Script};

const OMEGA: f64 = std::f64::consts::TAU / 86_400.0;
/// Amplitude of the daily traffic curve.
const DAILY_AMPLITUDE: f64 = 0.35;
/// Start of generated history, in scenario seconds.
pub const HISTORY_START: f64 = -31.0 * 86_400.0;
/// Error ratio at which a dependency's circuit breaker opens.
pub const CIRCUIT_OPEN_AT: f64 = 0.2;
/// Seconds a breaker stays HALF_OPEN after its dependency recovers.
pub const HALF_OPEN_SECS: f64 = 60.0;
/// Prometheus histogram bucket bounds in seconds.
pub const BUCKETS: [f64; 11] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0];

/// Conditions of one series over a piece of time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Cond {
    pub err: f64,
    pub lat_mult: f64,
    pub down: bool,
}

/// Instantaneous view of a series.
#[derive(Debug, Clone, Copy)]
pub struct Inst {
    pub rps: f64,
    pub err: f64,
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub down: bool,
}

#[derive(Debug, Clone, Copy)]
pub struct Counts {
    pub total: f64,
    pub bad: f64,
}

/// The whole simulated world: a pure function of (seed, scenario, sizes,
/// start time) evaluated at any scenario time.
#[derive(Debug, Clone)]
pub struct World {
    pub seed: u64,
    pub scenario: Scenario,
    pub start_unix: f64,
    pub fleet: Fleet,
    pub script: Script,
    /// Region weights before any operator action.
    pub base_weights: Vec<f64>,
    /// Database clusters (`databases::clusters`).
    pub databases: Vec<crate::databases::ClusterDef>,
    /// Operator changes (shared by clones of this world).
    pub dynamic: Arc<RwLock<Dynamic>>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CircuitState {
    Closed,
    Open,
    HalfOpen,
}

impl CircuitState {
    pub fn name(self) -> &'static str {
        match self {
            CircuitState::Closed => "CLOSED",
            CircuitState::Open => "OPEN",
            CircuitState::HalfOpen => "HALF_OPEN",
        }
    }
}

impl World {
    pub fn new(seed: u64, scenario: Scenario, regions: usize, services: usize, start_unix: f64) -> World {
        let fleet = Fleet::generate(seed, regions, services);
        let script = scenario::build(scenario, &fleet);
        let base_weights = fleet.regions.iter().map(|r| r.weight).collect();
        let databases = crate::databases::clusters(&fleet);
        World { seed, scenario, start_unix, fleet, script, base_weights, databases, dynamic: Arc::default() }
    }

    /// Read the operator changes (a poisoned lock still holds valid data).
    pub fn dyn_read(&self) -> RwLockReadGuard<'_, Dynamic> {
        self.dynamic.read().unwrap_or_else(|e| e.into_inner())
    }

    pub fn dyn_write(&self) -> RwLockWriteGuard<'_, Dynamic> {
        self.dynamic.write().unwrap_or_else(|e| e.into_inner())
    }

    /// Traffic weight of region r at t, in percent.
    pub fn weight(&self, r: usize, t: f64) -> f64 {
        self.dyn_read().weights_at(&self.base_weights, t).get(r).copied().unwrap_or(0.0)
    }

    fn series_rps(&self, s: usize, r: usize, t: f64) -> f64 {
        self.fleet.services[s].base_rps * self.weight(r, t) / 100.0
    }

    fn theta(&self, r: usize, t: f64) -> f64 {
        OMEGA * (self.start_unix + t) + self.fleet.regions[r].phase
    }

    /// Request rate at scenario time t, without noise.
    pub fn rate(&self, s: usize, r: usize, t: f64) -> f64 {
        self.series_rps(s, r, t) * (1.0 + DAILY_AMPLITUDE * self.theta(r, t).sin())
    }

    /// Exact number of requests in [a, b).
    pub fn requests(&self, s: usize, r: usize, a: f64, b: f64) -> f64 {
        if b <= a {
            return 0.0;
        }
        let amp = DAILY_AMPLITUDE / OMEGA;
        let mut cuts = vec![a, b];
        cuts.extend(self.dyn_read().weights.iter().map(|(t, _)| *t).filter(|t| *t > a && *t < b));
        cuts.sort_by(|x, y| x.total_cmp(y));
        cuts.windows(2)
            .map(|w| {
                let (x, y) = (w[0], w[1]);
                self.series_rps(s, r, (x + y) / 2.0)
                    * ((y - x) - amp * (self.theta(r, y).cos() - self.theta(r, x).cos()))
            })
            .sum()
    }

    /// Conditions at time t.
    pub fn cond(&self, s: usize, r: usize, t: f64) -> Cond {
        let svc = &self.fleet.services[s];
        let mut c = Cond { err: svc.base_err, lat_mult: 1.0, down: false };
        let dy = self.dyn_read();
        for e in &self.script.effects {
            // An operator's override replaces the scripted canary effect.
            if e.source.is_some_and(|d| dy.manual_at(d, t).is_some()) {
                continue;
            }
            if t >= e.start && t < e.end && e.applies(s, r) {
                let scale = e.source.map(|d| self.flag_factor(&dy, d, t)).unwrap_or(1.0);
                c.err += e.err_add * scale;
                c.lat_mult *= 1.0 + (e.lat_mult - 1.0) * scale;
                c.down |= e.down;
            }
        }
        for (d, dep) in self.script.deployments.iter().enumerate() {
            if dep.service != s || dep.region != r {
                continue;
            }
            let (Some(m), Plan::Failing { canary_err, canary_lat, .. }) = (dy.manual_at(d, t), &dep.plan) else {
                continue;
            };
            let w = manual_state(dep, m, t).weight / 100.0 * self.flag_factor(&dy, d, t);
            c.err += w * canary_err;
            c.lat_mult *= 1.0 + w * (canary_lat - 1.0);
        }
        // A service whose database has no writer fails its writes.
        if let Some(f) = &self.script.db_failure {
            let uses = self.databases.get(f.cluster).is_some_and(|d| d.services.contains(&s));
            let leader = dy.db.get(&f.cluster).and_then(|v| v.iter().rev().find(|(at, _)| *at <= t)).map(|(_, m)| *m);
            if uses && t >= f.dies_at && leader.unwrap_or(0) == f.member {
                c.err += 0.25;
                c.lat_mult *= 1.8;
            }
        }
        // Regions that take over traffic slow down with the extra load.
        let base = self.base_weights.get(r).copied().unwrap_or(0.0);
        let now = dy.weights_at(&self.base_weights, t).get(r).copied().unwrap_or(0.0);
        if base > 0.0 && now > base {
            c.lat_mult *= 1.0 + 0.6 * (now / base - 1.0);
        }
        drop(dy);
        if c.down {
            c.err = 1.0;
        }
        c.err = c.err.min(1.0);
        c
    }

    /// Split [a, b) at every effect boundary for the series.
    pub fn pieces(&self, s: usize, r: usize, a: f64, b: f64) -> Vec<(f64, f64, Cond)> {
        let mut cuts = vec![a, b];
        cuts.extend(self.dyn_read().cuts().into_iter().filter(|x| *x > a && *x < b));
        cuts.extend(self.script.db_failure.iter().map(|f| f.dies_at).filter(|x| *x > a && *x < b));
        for e in &self.script.effects {
            if e.applies(s, r) {
                for x in [e.start, e.end] {
                    if x > a && x < b {
                        cuts.push(x);
                    }
                }
            }
        }
        cuts.sort_by(|x, y| x.total_cmp(y));
        cuts.dedup();
        cuts.windows(2).map(|w| (w[0], w[1], self.cond(s, r, (w[0] + w[1]) / 2.0))).collect()
    }

    /// Every time in (a, b) at which some condition changes (scenario
    /// effects starting or ending, injected events), newest first.
    pub fn change_times(&self, a: f64, b: f64) -> Vec<f64> {
        let mut cuts: Vec<f64> = self.dyn_read().cuts().into_iter().filter(|x| *x > a && *x < b).collect();
        cuts.extend(self.script.db_failure.iter().map(|f| f.dies_at).filter(|x| *x > a && *x < b));
        for e in &self.script.effects {
            cuts.extend([e.start, e.end].into_iter().filter(|x| *x > a && *x < b));
        }
        cuts.sort_by(|x, y| y.total_cmp(x));
        cuts.dedup();
        cuts
    }

    /// Good and total counts over [a, b).
    pub fn counts(&self, s: usize, r: usize, a: f64, b: f64) -> Counts {
        let a = a.max(HISTORY_START);
        let mut c = Counts { total: 0.0, bad: 0.0 };
        for (x, y, cond) in self.pieces(s, r, a, b) {
            let n = self.requests(s, r, x, y);
            c.total += n;
            c.bad += n * cond.err;
        }
        c
    }

    /// Requests in [a, b) that succeeded within `threshold_ms`: the good
    /// events of a latency SLO (total is `counts(..).total`).
    pub fn fast(&self, s: usize, r: usize, a: f64, b: f64, threshold_ms: f64) -> f64 {
        let a = a.max(HISTORY_START);
        let svc = &self.fleet.services[s];
        self.pieces(s, r, a, b)
            .into_iter()
            .map(|(x, y, cond)| {
                let n = self.requests(s, r, x, y);
                let median = svc.median_ms * cond.lat_mult;
                n * (1.0 - cond.err) * lognormal_cdf(threshold_ms, median, svc.sigma)
            })
            .sum()
    }

    /// The latency distribution at t: (median ms, log-normal sigma).
    pub fn latency_shape(&self, s: usize, r: usize, t: f64) -> (f64, f64) {
        let svc = &self.fleet.services[s];
        let c = self.cond(s, r, t);
        (svc.median_ms * c.lat_mult, svc.sigma)
    }

    /// Cumulative histogram counts (one per bucket bound, then +Inf) and the
    /// sum of latencies in seconds, from the start of history to t.
    pub fn histogram(&self, s: usize, r: usize, t: f64) -> (Vec<f64>, f64) {
        let svc = &self.fleet.services[s];
        let mut out = vec![0.0; BUCKETS.len() + 1];
        let mut sum = 0.0;
        for (x, y, cond) in self.pieces(s, r, HISTORY_START, t) {
            let n = self.requests(s, r, x, y);
            let median_s = svc.median_ms * cond.lat_mult / 1000.0;
            for (i, le) in BUCKETS.iter().enumerate() {
                out[i] += n * lognormal_cdf(*le, median_s, svc.sigma);
            }
            out[BUCKETS.len()] += n;
            sum += n * median_s * (svc.sigma * svc.sigma / 2.0).exp();
        }
        (out, sum)
    }

    /// Instantaneous rates and percentiles, with a little deterministic noise
    /// that changes every 10 seconds of scenario time.
    pub fn inst(&self, s: usize, r: usize, t: f64) -> Inst {
        let svc = &self.fleet.services[s];
        let tick = (t / 10.0).floor() as i64 as u64;
        let u = |k: u64| unit(hash(&[self.seed, s as u64, r as u64, tick, k]));
        let c = self.cond(s, r, t);
        let median = svc.median_ms * c.lat_mult * (0.93 + 0.14 * u(1));
        let sigma = svc.sigma * (0.95 + 0.1 * u(2));
        let err = if c.down { 1.0 } else { (c.err * (0.6 + 0.8 * u(3))).min(1.0) };
        Inst {
            rps: self.rate(s, r, t) * (0.97 + 0.06 * u(4)),
            err,
            p50: median,
            p95: median * (1.645 * sigma).exp(),
            p99: median * (2.326 * sigma).exp(),
            down: c.down,
        }
    }

    pub fn deploy_state(&self, d: usize, t: f64) -> DeployState {
        let dep = &self.script.deployments[d];
        match self.dyn_read().manual_at(d, t) {
            Some(m) => manual_state(dep, m, t),
            None => dep.state_at(t),
        }
    }

    /// In the bad-canary scenario the canary's errors come from the
    /// new checkout flow: turning the flag off in production removes 90%.
    fn flag_factor(&self, dy: &Dynamic, d: usize, t: f64) -> f64 {
        if self.scenario == Scenario::BadCanary && d == 0 && dy.flag_at(FLAG_TIED, "production", t) == Some(false) {
            0.1
        } else {
            1.0
        }
    }

    /// Circuit breaker on the edge towards dependency `to` in region `r`:
    /// state and the scenario time it entered that state.
    pub fn circuit(&self, to: usize, r: usize, t: f64) -> (CircuitState, f64) {
        let look_back = HISTORY_START;
        let pieces = self.pieces(to, r, look_back, t + 1e-6);
        let tripped = |c: &Cond| c.down || c.err >= CIRCUIT_OPEN_AT;
        // Walk back over the pieces to find when the current condition began.
        let mut open_since = None;
        let mut last_open_end = None;
        for (a, b, c) in pieces.iter().rev() {
            if tripped(c) {
                if *b >= t {
                    open_since = Some(*a);
                    continue;
                }
                if open_since.is_some() {
                    open_since = Some(*a);
                    continue;
                }
                last_open_end = Some(*b);
                break;
            } else if open_since.is_some() {
                break;
            }
        }
        if let Some(since) = open_since {
            return (CircuitState::Open, since);
        }
        match last_open_end {
            Some(end) if t - end < HALF_OPEN_SECS => (CircuitState::HalfOpen, end),
            Some(end) => (CircuitState::Closed, end + HALF_OPEN_SECS),
            None => (CircuitState::Closed, HISTORY_START),
        }
    }
}

/// The flag whose value changes the bad canary's error rate.
pub const FLAG_TIED: &str = "new-checkout-flow";

/// State of a deployment under an operator override at time t.
pub fn manual_state(dep: &scenario::Deployment, m: &Manual, t: f64) -> DeployState {
    let n = dep.steps.len();
    let (canary_err, canary_lat) = match &dep.plan {
        Plan::Failing { canary_err, canary_lat, .. } => (*canary_err, *canary_lat),
        _ => (0.0, 1.0),
    };
    let mut st = DeployState {
        phase: m.phase,
        step_index: m.step.min(n.saturating_sub(1)),
        weight: 0.0,
        stable_rev: m.stable_rev,
        canary_rev: m.canary_rev,
        since: m.since,
        message: m.message.clone(),
        canary_err,
        canary_lat,
    };
    if let (Phase::Progressing, Some(every)) = (m.phase, m.advance_every) {
        let advanced = ((t - m.since) / every).floor().max(0.0) as usize;
        let step = m.step + advanced;
        if step >= n {
            st.phase = Phase::Healthy;
            st.step_index = n.saturating_sub(1);
            st.stable_rev = m.canary_rev.unwrap_or(m.stable_rev);
            st.canary_rev = None;
            st.since = m.since + (n - m.step) as f64 * every;
            st.message = "rollout completed".into();
            return st;
        }
        st.step_index = step;
        st.since = m.since + advanced as f64 * every;
    }
    st.weight = match st.phase {
        Phase::Aborted | Phase::Healthy => 0.0,
        _ => dep.steps.get(st.step_index).copied().unwrap_or(0.0),
    };
    st
}

/// CDF of a log-normal distribution with the given median and shape.
pub fn lognormal_cdf(x: f64, median: f64, sigma: f64) -> f64 {
    if x <= 0.0 {
        return 0.0;
    }
    let z = (x.ln() - median.ln()) / (sigma * std::f64::consts::SQRT_2);
    0.5 * (1.0 + erf(z))
}

/// Abramowitz–Stegun 7.1.26 approximation of the error function (|ε| < 1.5e-7).
fn erf(x: f64) -> f64 {
    let sign = if x < 0.0 { -1.0 } else { 1.0 };
    let x = x.abs();
    let t = 1.0 / (1.0 + 0.327_591_1 * x);
    let y = 1.0
        - (((((1.061_405_429 * t - 1.453_152_027) * t) + 1.421_413_741) * t - 0.284_496_736) * t + 0.254_829_592)
            * t
            * (-x * x).exp();
    sign * y
}

#[cfg(test)]
mod tests {
    use super::*;

    fn world(sc: Scenario) -> World {
        World::new(7, sc, 4, 8, 1_764_000_000.0)
    }

    #[test]
    fn requests_integral_matches_numeric_sum() {
        let w = world(Scenario::Calm);
        let exact = w.requests(0, 0, 0.0, 7200.0);
        let numeric: f64 = (0..7200).map(|i| w.rate(0, 0, i as f64 + 0.5)).sum();
        assert!((exact - numeric).abs() / numeric < 1e-6, "{exact} vs {numeric}");
    }

    #[test]
    fn counts_are_additive_over_windows() {
        let w = world(Scenario::BadCanary);
        let a = w.counts(2, 0, -3600.0, 300.0);
        let b = w.counts(2, 0, 300.0, 900.0);
        let ab = w.counts(2, 0, -3600.0, 900.0);
        assert!((a.total + b.total - ab.total).abs() < 1e-6 * ab.total);
        assert!((a.bad + b.bad - ab.bad).abs() < 1e-6 * ab.bad.max(1.0));
    }

    #[test]
    fn region_outage_takes_region_down() {
        let w = world(Scenario::RegionOutage);
        assert!(!w.cond(0, 1, 10.0).down);
        assert!(w.cond(0, 1, 120.0).down);
        assert!(!w.cond(0, 0, 120.0).down);
        assert!(!w.cond(0, 1, 2000.0).down);
    }

    #[test]
    fn calm_latency_is_within_sla() {
        let w = world(Scenario::Calm);
        for s in 0..8 {
            for r in 0..4 {
                let i = w.inst(s, r, 100.0);
                assert!(i.p50 < 100.0 && i.p95 < 200.0 && i.p99 < 500.0, "{s}/{r}: {i:?}");
            }
        }
    }

    #[test]
    fn histogram_is_cumulative_and_ends_with_total() {
        let w = world(Scenario::Calm);
        let (b, sum) = w.histogram(3, 2, 0.0);
        assert!(b.windows(2).all(|p| p[0] <= p[1]));
        let total = w.requests(3, 2, HISTORY_START, 0.0);
        assert!((b[BUCKETS.len()] - total).abs() < 1e-6 * total);
        assert!(sum > 0.0);
    }

    #[test]
    fn storm_opens_then_half_opens_then_closes_circuits() {
        let w = world(Scenario::DependencyStorm);
        assert_eq!(w.circuit(3, 0, 30.0).0, CircuitState::Closed);
        let (st, since) = w.circuit(3, 0, 300.0);
        assert_eq!((st, since), (CircuitState::Open, 60.0));
        assert_eq!(w.circuit(3, 0, 930.0).0, CircuitState::HalfOpen);
        assert_eq!(w.circuit(3, 0, 1000.0).0, CircuitState::Closed);
    }

    #[test]
    fn erf_matches_known_values() {
        assert!((erf(0.5) - 0.520_499_877_8).abs() < 1e-6);
        assert!((erf(-1.0) + 0.842_700_792_9).abs() < 1e-6);
    }
}
