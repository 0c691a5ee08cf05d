//! The item lists panes draw and keys act on: filtered by the fuzzy
//! service filter and ordered by the pane's sort. A viewer (local, wall,
//! SSH) lends its filter and sorts; nothing here knows about a terminal.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};

use super::sort::Sort;
use super::Kind;
use crate::model::Snapshot;

/// Case-insensitive fuzzy match: the pattern's characters appear in order.
/// Longest filter pattern kept (a paste is cut here, so matching stays cheap).
pub const MAX_FILTER_CHARS: usize = 64;

/// Score of the best alignment of `pattern` in `text` (case-insensitive),
/// if every pattern character appears in order: 16 per character, +8 when
/// it follows the previous match or starts a word (`-`, `_`, `.`, `/`,
/// space), −2 per character skipped between matches. Dynamic programming
/// over pattern × text: O(m·n), both short.
pub fn fuzzy_score(pattern: &str, text: &str) -> Option<i32> {
    let p: Vec<char> = pattern.chars().flat_map(char::to_lowercase).take(MAX_FILTER_CHARS).collect();
    let t: Vec<char> = text.chars().flat_map(char::to_lowercase).collect();
    if p.is_empty() {
        return Some(0);
    }
    const NONE: i32 = i32::MIN / 2;
    let word_start = |j: usize| j == 0 || matches!(t[j - 1], '-' | '_' | '.' | '/' | ' ');
    // prev[j]: best score with the previous pattern char matched at t[j].
    let mut prev = vec![NONE; t.len()];
    for (i, pc) in p.iter().enumerate() {
        let mut cur = vec![NONE; t.len()];
        // carry: best prev[k] − 2·(j−k−1) over k < j−1 (a gap before j).
        let mut carry = NONE;
        for j in 0..t.len() {
            if j >= 2 && prev[j - 2] > NONE {
                carry = carry.max(prev[j - 2]);
            }
            if j >= 2 && carry > NONE {
                carry -= 2;
            }
            if t[j] != *pc {
                continue;
            }
            let bonus = if word_start(j) { 8 } else { 0 };
            cur[j] = if i == 0 {
                16 + bonus
            } else {
                let consecutive = if j > 0 && prev[j - 1] > NONE { prev[j - 1] + 24 } else { NONE };
                let gapped = if carry > NONE { carry + 16 + bonus } else { NONE };
                consecutive.max(gapped)
            };
        }
        prev = cur;
    }
    prev.into_iter().filter(|s| *s > NONE).max()
}

/// Whether `pattern` matches `text` well enough to keep it: on average no
/// worse than a plain in-order match with its gaps paid for by bonuses
/// (`pay` keeps `payments`, not `api-gateway`; `pmt` keeps `payments`).
pub fn fuzzy(pattern: &str, text: &str) -> bool {
    let m = pattern.chars().take(MAX_FILTER_CHARS).count() as i32;
    fuzzy_score(pattern, text).is_some_and(|s| s >= 16 * m)
}

/// How bad a service's worst cell is: 3 down, 2 degraded, 0 otherwise.
pub fn service_severity(snap: &Snapshot, service: &str) -> u8 {
    snap.cells
        .get(service)
        .map(|m| {
            m.values()
                .map(|c| match c.status {
                    crate::model::RegionStatus::Down => 3,
                    crate::model::RegionStatus::Degraded => 2,
                    _ => 0,
                })
                .max()
                .unwrap_or(0)
        })
        .unwrap_or(0)
}

/// A viewer's filter and sorts, borrowed: the lists it sees.
#[derive(Debug, Clone, Copy)]
pub struct Lists<'v> {
    /// The kept fuzzy filter on service (and flag) names.
    pub filter: Option<&'v str>,
    /// The sort chosen per pane kind (`s`/`S`, a header click).
    pub sort: &'v BTreeMap<Kind, Sort>,
    /// The view's services that lead the lists.
    pub services_first: &'v [String],
    /// Only `services_first` are listed.
    pub services_only: bool,
}

impl Lists<'_> {
    /// Whether a service (or a flag's name) passes the filter.
    pub fn shows(&self, service: &str) -> bool {
        self.filter.is_none_or(|f| fuzzy(f, service))
    }

    /// The pane's sort, if one was chosen.
    pub fn sort_of(&self, p: Kind) -> Option<super::sort::Sort> {
        self.sort.get(&p).copied()
    }

    /// Rollouts on screen after the filter (by service), in feed order or
    /// the chosen sort.
    pub fn visible_deployments<'a>(&self, snap: &'a Snapshot) -> Vec<&'a crate::model::Deployment> {
        let mut v: Vec<_> = snap.fleet.deployments.items().iter().filter(|d| self.shows(&d.service)).collect();
        super::sort::apply(&mut v, self.sort_of(Kind::Canaries), super::sort::deployment_key);
        v
    }

    /// Blue-green rollouts on screen after the filter, in the canaries'
    /// order.
    pub fn visible_blue_green<'a>(&self, snap: &'a Snapshot) -> Vec<&'a crate::model::Deployment> {
        self.visible_deployments(snap).into_iter().filter(|d| d.blue_green.is_some()).collect()
    }

    /// Flags on screen after the filter (by flag name), in feed order or
    /// the chosen sort.
    pub fn visible_flags<'a>(&self, snap: &'a Snapshot) -> Vec<&'a crate::model::Flag> {
        let mut v: Vec<_> = snap.fleet.flags.items().iter().filter(|f| self.shows(&f.name)).collect();
        super::sort::apply(&mut v, self.sort_of(Kind::Flags), super::sort::flag_key);
        v
    }

    /// SLOs on screen after the filter (by service): worst first, or the
    /// chosen sort. The budgets pane draws these and Enter opens them.
    pub fn visible_slos<'a>(&self, snap: &'a Snapshot) -> Vec<&'a crate::model::snapshot::SloStatus> {
        let mut v: Vec<_> = super::budgets::sorted(&snap.slos).into_iter().filter(|s| self.shows(&s.service)).collect();
        super::sort::apply(&mut v, self.sort_of(Kind::Budgets), super::sort::slo_key);
        v
    }

    /// Circuits on screen after the filter (either end): open first, or the
    /// chosen sort.
    pub fn visible_circuits<'a>(&self, snap: &'a Snapshot, now: DateTime<Utc>) -> Vec<&'a crate::model::Circuit> {
        let f = &snap.fleet;
        let mut v: Vec<_> = super::circuits::sorted(f.circuits.items())
            .into_iter()
            .filter(|c| self.shows(&c.from) || self.shows(&c.to))
            .collect();
        let src = f.circuits.source_now(now);
        super::sort::apply(&mut v, self.sort_of(Kind::Circuits), |c, col| super::sort::circuit_key(c, col, src));
        v
    }

    /// Alerts on screen after the filter (alerts of no service always
    /// show): the source's order (severity, then age), or the chosen sort.
    pub fn visible_alerts<'a>(&self, snap: &'a Snapshot, now: DateTime<Utc>) -> Vec<&'a crate::model::Alert> {
        let f = &snap.fleet;
        let mut v: Vec<_> =
            f.alerts.items().iter().filter(|a| a.service.as_deref().is_none_or(|s| self.shows(s))).collect();
        let src = f.alerts.source_now(now);
        super::sort::apply(&mut v, self.sort_of(Kind::Alerts), |a, col| super::sort::alert_key(a, col, src));
        v
    }

    /// The action log: newest first, or the chosen sort.
    pub fn visible_actions<'a>(&self, snap: &'a Snapshot) -> Vec<&'a crate::model::ActionEntry> {
        let mut v: Vec<_> = snap.fleet.actions.iter().rev().collect();
        super::sort::apply(&mut v, self.sort_of(Kind::Actions), super::sort::action_key);
        v
    }

    /// The services a pane lists: `visible_services`, in the pane's sort.
    pub fn services_in<'a>(&self, pane: Kind, snap: &'a Snapshot) -> Vec<&'a crate::model::Service> {
        let mut v = self.visible_services(snap);
        super::sort::apply(&mut v, self.sort_of(pane), |s, col| super::sort::service_key(snap, pane, s, col));
        v
    }

    /// The services on screen, in order, after the filter: the view's
    /// `services_first` lead (or are all there is, with `services_only`).
    pub fn visible_services<'a>(&self, snap: &'a Snapshot) -> Vec<&'a crate::model::Service> {
        let all = snap.fleet.services.items();
        let first = self.services_first;
        let mut out: Vec<&crate::model::Service> =
            first.iter().filter_map(|n| all.iter().find(|s| &s.name == n)).filter(|s| self.shows(&s.name)).collect();
        if !self.services_only {
            let mut rest: Vec<&crate::model::Service> =
                all.iter().filter(|s| !first.contains(&s.name) && self.shows(&s.name)).collect();
            // Problems first, so a DOWN or DEGRADED service is never the row
            // a short pane cuts off (stable: the source's order otherwise).
            rest.sort_by_key(|s| std::cmp::Reverse(service_severity(snap, &s.name)));
            out.extend(rest);
        }
        out
    }
}
