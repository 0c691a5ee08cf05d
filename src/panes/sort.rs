//! Sort by column (`s` cycles the column, `S` reverses). The sort reorders
//! the pane's *item list* — the one the pane draws, Enter opens and the
//! action keys act on — never only what is drawn, so the selected row is
//! always the item an action goes to.

use std::cmp::Ordering;

use chrono::{DateTime, Utc};

use super::Kind;
use crate::model::snapshot::SloStatus;
use crate::model::{
    ActionEntry, Alert, AlertState, CanaryPhase, Circuit, CircuitState, Deployment, Flag, RegionStatus, Service,
    Snapshot,
};

/// A pane's sort: a column of its table, and the direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sort {
    pub col: usize,
    /// Ascending (▲) instead of the column's natural order: names A→Z,
    /// figures and states worst (largest) first (▼).
    pub reversed: bool,
}

impl Sort {
    /// The glyph after the column's header.
    pub fn mark(self, ascii: bool, natural_desc: bool) -> &'static str {
        let desc = natural_desc != self.reversed;
        match (desc, ascii) {
            (true, false) => " ▼",
            (false, false) => " ▲",
            (true, true) => " v",
            (false, true) => " ^",
        }
    }
}

/// A value to order rows by.
#[derive(Debug, Clone, PartialEq)]
pub enum Key {
    /// Names: A→Z by default.
    Text(String),
    /// Figures and severities: largest (worst) first by default; `None`
    /// (no data) always last.
    Num(Option<f64>),
}

fn compare(a: &Key, b: &Key, reversed: bool) -> Ordering {
    match (a, b) {
        (Key::Text(x), Key::Text(y)) => {
            let o = x.to_lowercase().cmp(&y.to_lowercase());
            if reversed {
                o.reverse()
            } else {
                o
            }
        }
        (Key::Num(x), Key::Num(y)) => match (x, y) {
            (Some(x), Some(y)) => {
                let o = y.total_cmp(x);
                if reversed {
                    o.reverse()
                } else {
                    o
                }
            }
            (Some(_), None) => Ordering::Less,
            (None, Some(_)) => Ordering::Greater,
            (None, None) => Ordering::Equal,
        },
        (Key::Num(_), Key::Text(_)) => Ordering::Less,
        (Key::Text(_), Key::Num(_)) => Ordering::Greater,
    }
}

/// Stable sort: ties keep the pane's default order (problems first).
pub fn apply<T>(items: &mut [&T], sort: Option<Sort>, key: impl Fn(&T, usize) -> Option<Key>) {
    let Some(s) = sort else { return };
    items.sort_by(|a, b| match (key(a, s.col), key(b, s.col)) {
        (Some(x), Some(y)) => compare(&x, &y, s.reversed),
        _ => Ordering::Equal,
    });
}

/// Whether a column's natural order is descending (figures) or not (names).
pub fn natural_desc(pane: Kind, col: usize) -> bool {
    pane.pane().numeric_column(col)
}

/// The sortable columns of a pane's table, in `s` order.
pub fn columns(pane: Kind, regions: usize) -> Vec<usize> {
    pane.pane().sort_columns(regions)
}

/// The column's name as its header says it (a matrix column: the region).
pub fn column_name(pane: Kind, col: usize, snap: &Snapshot) -> String {
    pane.pane().column_name(col, snap)
}

fn region_rank(s: RegionStatus) -> f64 {
    match s {
        RegionStatus::Down => 3.0,
        RegionStatus::Degraded => 2.0,
        RegionStatus::Unknown => 1.0,
        RegionStatus::Ok => 0.0,
    }
}

fn age(t: Option<DateTime<Utc>>, source_now: DateTime<Utc>) -> Key {
    Key::Num(t.map(|t| (source_now - t).num_milliseconds() as f64))
}

/// Services in the matrix (column 0 the name, column k the k-th region's
/// cell) or the latency pane (the worst region's figures, as drawn).
pub fn service_key(snap: &Snapshot, pane: Kind, s: &Service, col: usize) -> Option<Key> {
    if col == 0 {
        return Some(Key::Text(s.name.clone()));
    }
    match pane {
        Kind::Matrix => {
            let r = snap.fleet.regions.items().get(col - 1)?;
            Some(Key::Num(Some(snap.cell(&s.name, &r.name).map(|c| region_rank(c.status)).unwrap_or(1.0))))
        }
        _ => {
            let mine = snap.service_traffic(&s.name);
            let worst = mine.iter().max_by(|a, b| a.p99_ms.total_cmp(&b.p99_ms));
            let fin = |x: f64| Key::Num(x.is_finite().then_some(x));
            Some(match col {
                1 => Key::Text(worst.map(|w| w.region.clone()).unwrap_or_default()),
                2 => fin(worst.map(|w| w.p50_ms).unwrap_or(f64::NAN)),
                3 => fin(worst.map(|w| w.p95_ms).unwrap_or(f64::NAN)),
                4 => fin(worst.map(|w| w.p99_ms).unwrap_or(f64::NAN)),
                _ => Key::Num(Some(mine.iter().map(|t| t.rps).sum())),
            })
        }
    }
}

pub fn slo_key(s: &SloStatus, col: usize) -> Option<Key> {
    use crate::model::slo::AlertState as B;
    Some(match col {
        0 => Key::Text(format!("{} {}", s.service, s.name)),
        1 => Key::Num(Some(s.objective)),
        // Least budget left is the worst: ordered by budget used.
        2 => Key::Num(s.remaining.map(|r| -r)),
        3 => Key::Num(s.burn("1h")),
        4 => Key::Num(Some(match s.state {
            B::Exhausted => 5.0,
            B::Page => 4.0,
            B::Ticket => 3.0,
            B::Low => 2.0,
            B::NoData => 1.0,
            B::Ok => 0.0,
        })),
        // Soonest exhaustion first.
        _ => Key::Num(s.hours_to_exhaustion.map(|h| -h)),
    })
}

pub fn deployment_key(d: &Deployment, col: usize) -> Option<Key> {
    Some(match col {
        0 => Key::Text(d.id.clone()),
        1 => Key::Num(Some(d.step_index as f64)),
        2 => Key::Num(Some(d.weight)),
        3 => Key::Num(Some(match d.phase {
            CanaryPhase::Degraded | CanaryPhase::Aborted => 3.0,
            CanaryPhase::Paused => 2.0,
            CanaryPhase::Unknown => 1.5,
            CanaryPhase::Progressing => 1.0,
            CanaryPhase::Healthy => 0.0,
        })),
        4 => Key::Text(d.analysis.as_ref().map(|a| format!("{a:?}")).unwrap_or_default()),
        _ => Key::Text(d.canary_revision.clone().unwrap_or_else(|| d.stable_revision.clone())),
    })
}

pub fn circuit_key(c: &Circuit, col: usize, source_now: DateTime<Utc>) -> Option<Key> {
    Some(match col {
        0 => Key::Text(format!("{}→{}", c.from, c.to)),
        1 => Key::Text(c.region.clone()),
        2 => Key::Num(Some(match c.state {
            CircuitState::Open | CircuitState::ForcedOpen => 3.0,
            CircuitState::HalfOpen => 2.0,
            CircuitState::Unknown => 1.0,
            CircuitState::Closed | CircuitState::Disabled => 0.0,
        })),
        3 => Key::Num(c.failure_rate_pct),
        _ => age(c.since, source_now),
    })
}

pub fn flag_key(f: &Flag, col: usize) -> Option<Key> {
    Some(match col {
        0 => Key::Text(f.name.clone()),
        1 => Key::Text(f.environment.clone()),
        2 => Key::Num(Some(if f.enabled { 1.0 } else { 0.0 })),
        3 => Key::Text(f.rollout.clone()),
        4 => Key::Text(f.constraints.clone()),
        5 => Key::Text(f.source.clone()),
        // Most recently changed first.
        _ => Key::Num(f.changed.as_ref().map(|(_, at)| at.timestamp_millis() as f64)),
    })
}

pub fn action_key(a: &ActionEntry, col: usize) -> Option<Key> {
    Some(match col {
        0 => Key::Num(Some(a.started_at.timestamp_millis() as f64)),
        1 => Key::Text(a.operator.clone()),
        2 => Key::Text(a.summary.clone()),
        _ => Key::Text(format!("{:?}", a.status)),
    })
}

pub fn alert_key(a: &Alert, col: usize, source_now: DateTime<Utc>) -> Option<Key> {
    Some(match col {
        0 => Key::Num(Some(match (a.state, a.severity.as_str()) {
            (AlertState::Firing, "critical" | "page") => 3.0,
            (AlertState::Firing, _) => 2.0,
            _ => 1.0,
        })),
        1 => Key::Text(a.name.clone()),
        2 => Key::Text(format!("{}/{}", a.service.as_deref().unwrap_or(""), a.region.as_deref().unwrap_or(""))),
        _ => age(a.since, source_now),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_go_worst_first_names_a_to_z_and_no_data_last() {
        let vals = [Some(3.0), None, Some(10.0), Some(1.0)];
        let mut v: Vec<&Option<f64>> = vals.iter().collect();
        apply(&mut v, Some(Sort { col: 0, reversed: false }), |x, _| Some(Key::Num(*x)));
        assert_eq!(v, vec![&Some(10.0), &Some(3.0), &Some(1.0), &None]);
        apply(&mut v, Some(Sort { col: 0, reversed: true }), |x, _| Some(Key::Num(*x)));
        assert_eq!(v, vec![&Some(1.0), &Some(3.0), &Some(10.0), &None], "no data stays last both ways");
        let names = ["search", "Auth", "checkout"];
        let mut n: Vec<&&str> = names.iter().collect();
        apply(&mut n, Some(Sort { col: 0, reversed: false }), |x, _| Some(Key::Text(x.to_string())));
        assert_eq!(n, vec![&"Auth", &"checkout", &"search"]);
        assert_eq!(Sort { col: 0, reversed: false }.mark(false, true), " ▼");
        assert_eq!(Sort { col: 0, reversed: true }.mark(false, true), " ▲");
    }
}
