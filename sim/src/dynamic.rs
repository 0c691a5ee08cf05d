//! What operators change at run time: region traffic weights (failover and
//! restore), canary overrides (rollback, promote, pause, resume) and flag
//! values. Each change is stamped with the scenario time it happened, so the
//! model stays a function of time plus this list of changes.

use std::collections::BTreeMap;

use crate::scenario::Phase;

/// Simulated seconds between drain steps of a failover or restore.
pub const DRAIN_STEP_SECS: f64 = 10.0;
/// Number of steps a drain or restore takes.
pub const DRAIN_STEPS: usize = 3;

/// An operator's override of a deployment, in force from `since`.
#[derive(Debug, Clone, PartialEq)]
pub struct Manual {
    pub phase: Phase,
    pub step: usize,
    pub since: f64,
    pub stable_rev: u64,
    pub canary_rev: Option<u64>,
    /// Progressing canaries advance one step this often.
    pub advance_every: Option<f64>,
    pub message: String,
}

#[derive(Debug, Clone, Default)]
pub struct Dynamic {
    /// (time, weight of every region), sorted by time.
    pub weights: Vec<(f64, Vec<f64>)>,
    /// Overrides per deployment, latest last.
    pub manual: BTreeMap<usize, Vec<Manual>>,
    /// (flag, environment) → changes (time, enabled), latest last.
    pub flags: BTreeMap<(String, String), Vec<(f64, bool)>>,
    /// Database cluster → promotions (time, new writer member), latest last.
    pub db: BTreeMap<usize, Vec<(f64, usize)>>,
}

impl Dynamic {
    /// Every time something changed, for splitting integrals.
    pub fn cuts(&self) -> Vec<f64> {
        let mut v: Vec<f64> = self.weights.iter().map(|(t, _)| *t).collect();
        v.extend(self.manual.values().flatten().map(|m| m.since));
        v.extend(self.flags.values().flatten().map(|(t, _)| *t));
        v.extend(self.db.values().flatten().map(|(t, _)| *t));
        v
    }

    /// Region weights in force at t (or `base`).
    pub fn weights_at<'a>(&'a self, base: &'a [f64], t: f64) -> &'a [f64] {
        self.weights.iter().rev().find(|(at, _)| *at <= t).map(|(_, w)| w.as_slice()).unwrap_or(base)
    }

    /// The override of deployment `d` in force at t.
    pub fn manual_at(&self, d: usize, t: f64) -> Option<&Manual> {
        self.manual.get(&d)?.iter().rev().find(|m| m.since <= t)
    }

    pub fn flag_at(&self, name: &str, env: &str, t: f64) -> Option<bool> {
        self.flags.get(&(name.to_string(), env.to_string()))?.iter().rev().find(|(at, _)| *at <= t).map(|(_, on)| *on)
    }

    /// Schedule a move from the current weights to `target` in equal steps.
    pub fn ramp(&mut self, base: &[f64], t0: f64, target: Vec<f64>) {
        let from = self.weights_at(base, t0).to_vec();
        // Changes scheduled after t0 (an earlier ramp still running) are replaced.
        self.weights.retain(|(t, _)| *t <= t0);
        for k in 1..=DRAIN_STEPS {
            let f = k as f64 / DRAIN_STEPS as f64;
            let w: Vec<f64> = from.iter().zip(&target).map(|(a, b)| a + (b - a) * f).collect();
            self.weights.push((t0 + (k - 1) as f64 * DRAIN_STEP_SECS, w));
        }
    }

    /// The weights a ramp ends with (the target of the last change).
    pub fn final_weights<'a>(&'a self, base: &'a [f64]) -> &'a [f64] {
        self.weights.last().map(|(_, w)| w.as_slice()).unwrap_or(base)
    }
}

/// Weights after draining region `r`: its share goes to the others in
/// proportion to their current weight. `None` if no other region serves.
pub fn drained(current: &[f64], r: usize) -> Option<Vec<f64>> {
    let others: f64 = current.iter().enumerate().filter(|(i, _)| *i != r).map(|(_, w)| *w).sum();
    if others <= 0.0 {
        return None;
    }
    let moved = current[r];
    Some(current.iter().enumerate().map(|(i, w)| if i == r { 0.0 } else { w + moved * w / others }).collect())
}

/// Weights after restoring region `r` to its base share, taken back from the
/// others in proportion to their current weight.
pub fn restored(current: &[f64], base: &[f64], r: usize) -> Vec<f64> {
    let want = base[r] - current[r];
    let others: f64 = current.iter().enumerate().filter(|(i, _)| *i != r).map(|(_, w)| *w).sum();
    current
        .iter()
        .enumerate()
        .map(|(i, w)| {
            if i == r {
                base[r]
            } else if others > 0.0 {
                w - want * w / others
            } else {
                *w
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn drain_and_restore_keep_the_total() {
        let base = vec![40.0, 25.0, 20.0, 15.0];
        let d = drained(&base, 0).unwrap_or_default();
        assert_eq!(d[0], 0.0);
        assert!((d.iter().sum::<f64>() - 100.0).abs() < 1e-9);
        assert!((d[1] - 25.0 - 40.0 * 25.0 / 60.0).abs() < 1e-9);
        let r = restored(&d, &base, 0);
        for (a, b) in r.iter().zip(&base) {
            assert!((a - b).abs() < 1e-9, "{r:?}");
        }
        assert_eq!(drained(&[100.0, 0.0], 0), None, "the last serving region cannot drain");
    }

    #[test]
    fn ramp_steps_then_holds() {
        let base = vec![50.0, 50.0];
        let mut dy = Dynamic::default();
        dy.ramp(&base, 100.0, vec![0.0, 100.0]);
        assert_eq!(dy.weights_at(&base, 99.0), &[50.0, 50.0]);
        assert!((dy.weights_at(&base, 100.0)[0] - 50.0 * 2.0 / 3.0).abs() < 1e-9);
        assert_eq!(dy.weights_at(&base, 1000.0), &[0.0, 100.0]);
        assert_eq!(dy.final_weights(&base), &[0.0, 100.0]);
    }
}
