//! Roll-ups: what the header, the big status, the wall and the region tiles
//! may claim about the fleet, from which data. The rule (docs/design.md,
//! "Roll-ups"): only data that is present and fresh counts, a cell nobody
//! can read counts against "OK", and a problem is always named.

use chrono::{DateTime, Utc};

use super::{FeedId, FeedState, RegionStatus, Snapshot, FEEDS};

/// The fleet's overall state, worst first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Overall {
    /// A region or a service in a region is DOWN (from fresh data).
    Critical,
    /// Configured sources fail and what is left cannot vouch for the fleet.
    SourcesFailing,
    /// Something is DEGRADED (from fresh data).
    Degraded,
    /// The health data is older than its staleness window.
    Stale,
    /// Some cells cannot be read (probe refused, no traffic reported).
    Unknown,
    /// Nothing has arrived yet.
    NoData,
    /// Every cell read, fresh, and healthy; every configured source answers.
    Ok,
}

impl Overall {
    pub fn word(self) -> &'static str {
        match self {
            Overall::Critical => "CRITICAL",
            Overall::SourcesFailing => "SOURCES FAILING",
            Overall::Degraded => "DEGRADED",
            Overall::Stale => "STALE",
            Overall::Unknown => "UNKNOWN",
            Overall::NoData => "NO DATA",
            Overall::Ok => "ALL OK",
        }
    }
}

/// The overall state with what it is about.
#[derive(Debug, Clone, PartialEq)]
pub struct Rollup {
    pub state: Overall,
    /// Named problems, worst first: `us-west-2 DOWN`, `checkout/eu-west-1 DEGRADED`.
    pub places: Vec<String>,
    /// What else the state rests on: `3 of 8 sources failing`, `metrics 42s old`.
    pub detail: String,
}

impl Rollup {
    /// The reason after the word: the first `n` places and `+k more`, else the detail.
    pub fn reason(&self, n: usize) -> String {
        if self.places.is_empty() {
            return self.detail.clone();
        }
        let n = n.max(1);
        let mut s = self.places.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
        if self.places.len() > n {
            s.push_str(&format!(" +{} more", self.places.len() - n));
        }
        s
    }

    /// `WORD · reason` (or the word alone).
    pub fn text(&self, n: usize) -> String {
        let r = self.reason(n);
        if r.is_empty() {
            self.state.word().to_string()
        } else {
            format!("{} · {r}", self.state.word())
        }
    }
}

/// Feeds whose data the health of a cell rests on.
const HEALTH: [FeedId; 4] = [FeedId::Regions, FeedId::Services, FeedId::Metrics, FeedId::Probes];

/// Whether the cells can be trusted at `now`: fresh traffic, or fresh probes
/// that actually read something.
fn cells_fresh(snap: &Snapshot, now: DateTime<Utc>) -> bool {
    let f = &snap.fleet;
    let probes_read = f.probes.items().iter().any(|p| p.status != super::ProbeStatus::Unknown);
    f.metrics.is_fresh(now) || (f.probes.is_fresh(now) && probes_read)
}

/// Regions in the order every screen uses: by traffic weight, then name.
pub fn region_order(snap: &Snapshot) -> Vec<&str> {
    let mut rs: Vec<&super::Region> = snap.fleet.regions.items().iter().collect();
    rs.sort_by(|a, b| b.weight.total_cmp(&a.weight).then(a.name.cmp(&b.name)));
    let mut names: Vec<&str> = rs.into_iter().map(|r| r.name.as_str()).collect();
    // Regions only the cells know of (no region feed) come last, by name.
    let known: std::collections::HashSet<&str> = names.iter().copied().collect();
    let mut extra: Vec<&str> =
        snap.cells.values().flat_map(|m| m.keys()).map(String::as_str).filter(|r| !known.contains(r)).collect();
    extra.sort_unstable();
    extra.dedup();
    names.extend(extra);
    names
}

/// The fleet's roll-up at `now`.
pub fn fleet(snap: &Snapshot, now: DateTime<Utc>) -> Rollup {
    let f = &snap.fleet;
    let states: Vec<(FeedId, FeedState)> = FEEDS.iter().map(|id| (*id, f.feed_state(*id, now))).collect();
    let configured = states.iter().filter(|(_, s)| *s != FeedState::NotConfigured).count();
    let failing: Vec<&str> = states.iter().filter(|(_, s)| *s == FeedState::Failing).map(|(id, _)| id.name()).collect();
    let failing_detail = || format!("{} of {configured} sources failing ({})", failing.len(), failing.join(", "));
    let has_any = !(f.services.items().is_empty()
        && f.metrics.items().is_empty()
        && f.probes.items().is_empty()
        && f.regions.items().is_empty());
    if !has_any {
        return if failing.is_empty() {
            Rollup { state: Overall::NoData, places: vec![], detail: "waiting for sources".into() }
        } else {
            Rollup { state: Overall::SourcesFailing, places: vec![], detail: failing_detail() }
        };
    }
    let fresh = cells_fresh(snap, now);
    let mut places: Vec<(u8, String)> = Vec::new();
    let order = region_order(snap);
    // Regions the control plane reports DOWN: named first, whatever the cells say.
    let regions_fresh = f.regions.is_fresh(now);
    // A set, not a scan per region: linear at fleet scale.
    let down_set: std::collections::HashSet<&str> =
        f.regions.items().iter().filter(|x| x.status == RegionStatus::Down).map(|x| x.name.as_str()).collect();
    let reported_down = |r: &str| down_set.contains(r);
    if regions_fresh {
        for r in &order {
            if reported_down(r) {
                places.push((0, format!("{r} DOWN")));
            }
        }
    }
    let (mut degraded, mut unknown, mut total) = (0usize, 0usize, 0usize);
    if fresh {
        // Per service: the regions where it is DOWN / DEGRADED.
        let mut bad: std::collections::BTreeMap<&str, (Vec<&str>, Vec<&str>)> = Default::default();
        for r in &order {
            if regions_fresh && reported_down(r) {
                continue;
            }
            let cells: Vec<(&String, &super::CellHealth)> =
                snap.cells.iter().filter_map(|(s, m)| m.get(*r).map(|c| (s, c))).collect();
            let all_down = !cells.is_empty() && cells.iter().all(|(_, c)| c.status == RegionStatus::Down);
            if all_down {
                places.push((0, format!("{r} DOWN")));
                total += cells.len();
                continue;
            }
            // Every service in the region in trouble: the region is the news.
            let is_bad = |c: &super::CellHealth| matches!(c.status, RegionStatus::Down | RegionStatus::Degraded);
            if cells.len() >= 3 && cells.iter().all(|(_, c)| is_bad(c)) {
                let down = cells.iter().filter(|(_, c)| c.status == RegionStatus::Down).count();
                degraded += cells.len() - down;
                total += cells.len();
                let text = if down > 0 {
                    format!("{r} {down} DOWN, {} DEGRADED", cells.len() - down)
                } else {
                    format!("{r} DEGRADED (all {} services)", cells.len())
                };
                places.push((if down > 0 { 1 } else { 2 }, text));
                continue;
            }
            for (s, c) in cells {
                total += 1;
                match c.status {
                    RegionStatus::Down => bad.entry(s.as_str()).or_default().0.push(r),
                    RegionStatus::Degraded => {
                        degraded += 1;
                        bad.entry(s.as_str()).or_default().1.push(r)
                    }
                    RegionStatus::Unknown => unknown += 1,
                    RegionStatus::Ok => {}
                }
            }
        }
        // `payments/us-west-2 DOWN`, `checkout DEGRADED in 4 regions`.
        let mut named: Vec<(u8, usize, String)> = Vec::new();
        for (s, (down, degr)) in bad {
            for (rank, word, rs) in [(1u8, "DOWN", down), (2u8, "DEGRADED", degr)] {
                match rs.as_slice() {
                    [] => {}
                    [r] => named.push((rank, 1, format!("{s}/{r} {word}"))),
                    many => named.push((rank, many.len(), format!("{s} {word} in {} regions", many.len()))),
                }
            }
        }
        // Worst first, then the widest spread.
        named.sort_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)));
        places.extend(named.into_iter().map(|(rank, _, t)| (rank, t)));
    }
    places.sort_by_key(|(rank, _)| *rank);
    let critical = places.iter().any(|(rank, _)| *rank <= 1);
    let names: Vec<String> = places.into_iter().map(|(_, p)| p).collect();
    if critical {
        return Rollup { state: Overall::Critical, places: names, detail: String::new() };
    }
    let health_failing: Vec<&str> = states
        .iter()
        .filter(|(id, s)| HEALTH.contains(id) && matches!(s, FeedState::Failing))
        .map(|(id, _)| id.name())
        .collect();
    if !fresh {
        // Nothing fresh to judge cells by: say why, with the age of what is shown.
        let age = f.metrics.age(now).or(f.probes.age(now)).map(|a| format!(" · data {} old", fmt_secs(a)));
        let age = age.unwrap_or_default();
        return if !health_failing.is_empty() {
            Rollup { state: Overall::SourcesFailing, places: vec![], detail: format!("{}{age}", failing_detail()) }
        } else if f.metrics.observed_at.is_none() && f.probes.observed_at.is_none() {
            Rollup { state: Overall::NoData, places: vec![], detail: "waiting for metrics and probes".into() }
        } else {
            Rollup { state: Overall::Stale, places: vec![], detail: format!("health data{age}") }
        };
    }
    if degraded > 0 {
        return Rollup { state: Overall::Degraded, places: names, detail: String::new() };
    }
    if !failing.is_empty() {
        return Rollup { state: Overall::SourcesFailing, places: vec![], detail: failing_detail() };
    }
    if unknown > 0 {
        return Rollup {
            state: Overall::Unknown,
            places: vec![],
            detail: format!("{unknown} of {total} cells unknown"),
        };
    }
    if total == 0 {
        return Rollup { state: Overall::NoData, places: vec![], detail: "no service reported in any region".into() };
    }
    let stale: Vec<&str> = states.iter().filter(|(_, s)| *s == FeedState::Stale).map(|(id, _)| id.name()).collect();
    if !stale.is_empty() {
        return Rollup { state: Overall::Stale, places: vec![], detail: format!("{} stale", stale.join(", ")) };
    }
    Rollup { state: Overall::Ok, places: vec![], detail: String::new() }
}

/// One region's roll-up: its reported status made worse by its cells, and
/// only claimed OK when its cells are fresh and all read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegionRollup {
    pub status: RegionStatus,
    /// The cells are older than their staleness window (or unread).
    pub stale: bool,
    pub down: usize,
    pub degraded: usize,
    pub unknown: usize,
    pub total: usize,
}

pub fn region(snap: &Snapshot, name: &str, now: DateTime<Utc>) -> RegionRollup {
    let reported = snap.fleet.regions.items().iter().find(|r| r.name == name).map(|r| r.status);
    region_with(snap, name, reported, now)
}

/// `region` for a region already in hand (no search by name: callers that
/// go over every region stay linear, not quadratic, at fleet scale).
pub fn region_of(snap: &Snapshot, r: &crate::model::Region, now: DateTime<Utc>) -> RegionRollup {
    region_with(snap, &r.name, Some(r.status), now)
}

fn region_with(snap: &Snapshot, name: &str, reported: Option<RegionStatus>, now: DateTime<Utc>) -> RegionRollup {
    let fresh = cells_fresh(snap, now);
    let cells: Vec<RegionStatus> = snap.cells.values().filter_map(|m| m.get(name)).map(|c| c.status).collect();
    let count = |s: RegionStatus| if fresh { cells.iter().filter(|c| **c == s).count() } else { 0 };
    let (down, degraded, unknown) =
        (count(RegionStatus::Down), count(RegionStatus::Degraded), count(RegionStatus::Unknown));
    let total = if fresh { cells.len() } else { 0 };
    let status = if reported == Some(RegionStatus::Down) || (total > 0 && down == total) {
        RegionStatus::Down
    } else if down + degraded > 0 {
        RegionStatus::Degraded
    } else if !fresh || unknown > 0 || total == 0 {
        RegionStatus::Unknown
    } else {
        reported.unwrap_or(RegionStatus::Unknown)
    };
    RegionRollup { status, stale: !fresh, down, degraded, unknown, total }
}

fn fmt_secs(s: f64) -> String {
    let s = s.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        _ => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::*;
    use std::time::Duration;

    fn reg(name: &str, status: RegionStatus, weight: f64) -> Region {
        Region { name: name.into(), status, weight, base_weight: None, zones: vec![], since: None }
    }

    fn service(name: &str) -> Service {
        Service {
            name: name.into(),
            tier: Tier::Standard,
            owners: vec![],
            depends_on: vec![],
            slos: vec![],
            sla: Default::default(),
        }
    }

    fn traffic(service: &str, region: &str, err: f64) -> Traffic {
        Traffic {
            service: service.into(),
            region: region.into(),
            rps: 100.0,
            error_ratio: err,
            p50_ms: 10.0,
            p95_ms: 20.0,
            p99_ms: 30.0,
            series_step: 60.0,
            ..Traffic::default()
        }
    }

    fn probe(service: &str, region: &str, status: ProbeStatus) -> Probe {
        Probe {
            service: service.into(),
            region: region.into(),
            kind: ProbeKind::Health,
            status,
            http_status: None,
            latency_ms: 1.0,
            detail: String::new(),
        }
    }

    /// Metrics for (service, region, error ratio) at `t0`.
    fn set_traffic(f: &mut Fleet, t0: DateTime<Utc>, cells: &[(&str, &str, f64)]) {
        f.metrics.set(t0, Ok(cells.iter().map(|(s, r, e)| traffic(s, r, *e)).collect()));
    }

    /// Two regions × two services, healthy, every feed fresh at `t0`, alerts not configured.
    fn healthy(t0: DateTime<Utc>) -> Fleet {
        let mut f = Fleet::default();
        for feed in [&mut f.regions.interval, &mut f.metrics.interval, &mut f.probes.interval] {
            *feed = Duration::from_secs(2);
        }
        f.regions.set(t0, Ok(vec![reg("us-east-1", RegionStatus::Ok, 60.0), reg("us-west-2", RegionStatus::Ok, 40.0)]));
        f.services.set(t0, Ok(vec![service("a"), service("b")]));
        let mut m = vec![];
        let mut p = vec![];
        for s in ["a", "b"] {
            for r in ["us-east-1", "us-west-2"] {
                m.push(traffic(s, r, 0.0));
                p.push(probe(s, r, ProbeStatus::Up));
            }
        }
        f.metrics.set(t0, Ok(m));
        f.probes.set(t0, Ok(p));
        f.deployments.set(t0, Ok(vec![]));
        f.circuits.set(t0, Ok(vec![]));
        f.flags.set(t0, Ok(vec![]));
        f.set_not_configured(FeedId::Alerts, "not configured: add [alertmanager]".into());
        f.set_not_configured(FeedId::Traffic, "not configured: add [route53]".into());
        f.set_not_configured(FeedId::Databases, "not configured: add [[patroni]]".into());
        f
    }

    #[test]
    fn nothing_yet_is_no_data_not_ok() {
        let r = fleet(&derive(Fleet::default(), 1), Utc::now());
        assert_eq!(r.state, Overall::NoData);
    }

    #[test]
    fn every_source_failing_before_any_data_says_so_with_the_count() {
        let now = Utc::now();
        let mut f = Fleet::default();
        f.regions.set(now, Err("dns error".into()));
        f.services.set(now, Err("dns error".into()));
        f.metrics.set(now, Err("dns error".into()));
        let r = fleet(&derive(f, 1), now);
        assert_eq!(r.state, Overall::SourcesFailing);
        assert!(r.detail.starts_with("3 of 10 sources failing"), "{}", r.detail);
    }

    #[test]
    fn healthy_and_fresh_is_ok_and_an_unconfigured_source_is_not_a_failure() {
        let t0 = Utc::now();
        let r = fleet(&derive(healthy(t0), 1), t0);
        assert_eq!(r.state, Overall::Ok, "{r:?}");
    }

    #[test]
    fn a_dead_control_plane_is_never_ok() {
        // Metrics and regions fail and go stale; probes keep arriving, all refused.
        let t0 = Utc::now();
        let mut f = healthy(t0);
        let t1 = t0 + chrono::Duration::seconds(90);
        for feed in [FeedId::Regions, FeedId::Services, FeedId::Metrics, FeedId::Deployments] {
            match feed {
                FeedId::Regions => f.regions.set(t1, Err("connection refused".into())),
                FeedId::Services => f.services.set(t1, Err("connection refused".into())),
                FeedId::Metrics => f.metrics.set(t1, Err("connection refused".into())),
                _ => f.deployments.set(t1, Err("connection refused".into())),
            }
        }
        let refused: Vec<Probe> =
            f.probes.items().iter().map(|p| probe(&p.service, &p.region, ProbeStatus::Unknown)).collect();
        f.probes.set(t1, Ok(refused));
        let snap = derive(f, 2);
        let r = fleet(&snap, t1);
        assert_eq!(r.state, Overall::SourcesFailing, "{r:?}");
        assert!(r.detail.contains("metrics"), "{}", r.detail);
        let rr = super::region(&snap, "us-east-1", t1);
        assert_eq!(rr.status, RegionStatus::Unknown);
        assert!(rr.stale);
    }

    #[test]
    fn stale_health_is_stale_not_ok() {
        let t0 = Utc::now();
        let r = fleet(&derive(healthy(t0), 1), t0 + chrono::Duration::seconds(60));
        assert_eq!(r.state, Overall::Stale, "{r:?}");
        assert_eq!(r.detail, "health data · data 1m old", "says how old");
        // Probes alone (no metrics source yet): still stale, not "waiting".
        let mut f = healthy(t0);
        f.metrics = Default::default();
        let r = fleet(&derive(f, 1), t0 + chrono::Duration::seconds(60));
        assert_eq!(r.state, Overall::Stale, "{r:?}");
    }

    #[test]
    fn unknown_cells_count_against_ok() {
        let t0 = Utc::now();
        let mut f = healthy(t0);
        let mut p: Vec<Probe> = f.probes.items().to_vec();
        p[0].status = ProbeStatus::Unknown;
        f.probes.set(t0, Ok(p));
        let r = fleet(&derive(f, 1), t0);
        assert_eq!(r.state, Overall::Unknown);
        assert_eq!(r.detail, "1 of 4 cells unknown");
    }

    #[test]
    fn a_failing_side_source_is_not_ok_either() {
        let t0 = Utc::now();
        let mut f = healthy(t0);
        f.flags.set(t0, Err("HTTP 500".into()));
        let r = fleet(&derive(f, 1), t0);
        assert_eq!(r.state, Overall::SourcesFailing);
        assert_eq!(r.detail, "1 of 7 sources failing (flags)");
    }

    #[test]
    fn a_region_where_every_service_is_degraded_is_named_as_the_region() {
        let t0 = Utc::now();
        let mut f = healthy(t0);
        set_traffic(
            &mut f,
            t0,
            &[
                ("a", "us-east-1", 0.0),
                ("a", "us-west-2", 0.01),
                ("b", "us-east-1", 0.0),
                ("b", "us-west-2", 0.01),
                ("c", "us-west-2", 0.01),
            ],
        );
        let r = fleet(&derive(f, 1), t0);
        assert_eq!(r.state, Overall::Degraded);
        assert_eq!(r.text(3), "DEGRADED · us-west-2 DEGRADED (all 3 services)");
    }

    /// Found by cargo mutants (these paths had no test).
    #[test]
    fn a_region_with_every_service_bad_and_one_down_is_critical_and_says_how_many() {
        let t0 = Utc::now();
        let mut f = healthy(t0);
        set_traffic(
            &mut f,
            t0,
            &[
                ("a", "us-east-1", 0.0),
                ("a", "us-west-2", 0.9),
                ("b", "us-east-1", 0.0),
                ("b", "us-west-2", 0.01),
                ("c", "us-west-2", 0.01),
            ],
        );
        let r = fleet(&derive(f, 1), t0);
        assert_eq!(r.state, Overall::Critical);
        assert_eq!(r.text(3), "CRITICAL · us-west-2 1 DOWN, 2 DEGRADED");
    }

    #[test]
    fn a_region_no_service_reports_from_is_not_called_down() {
        let t0 = Utc::now();
        let mut f = healthy(t0);
        f.regions.set(
            t0,
            Ok(vec![
                reg("us-east-1", RegionStatus::Ok, 60.0),
                reg("us-west-2", RegionStatus::Ok, 40.0),
                reg("eu-west-1", RegionStatus::Ok, 0.0),
            ]),
        );
        let r = fleet(&derive(f, 1), t0);
        assert_eq!(r.state, Overall::Ok, "{:?}", r.text(3));
    }

    #[test]
    fn one_degraded_cell_is_degraded_and_named() {
        let t0 = Utc::now();
        let mut f = healthy(t0);
        set_traffic(
            &mut f,
            t0,
            &[("a", "us-east-1", 0.0), ("a", "us-west-2", 0.01), ("b", "us-east-1", 0.0), ("b", "us-west-2", 0.0)],
        );
        let r = fleet(&derive(f, 1), t0);
        assert_eq!(r.state, Overall::Degraded);
        assert_eq!(r.text(3), "DEGRADED · a/us-west-2 DEGRADED");
    }

    #[test]
    fn a_region_tile_is_only_ok_when_its_cells_are_fresh_and_all_read() {
        let t0 = Utc::now();
        let cells = |errs: [f64; 2]| {
            let mut f = healthy(t0);
            f.metrics.set(
                t0,
                Ok(vec![
                    traffic("a", "us-east-1", 0.0),
                    traffic("b", "us-east-1", 0.0),
                    traffic("a", "us-west-2", errs[0]),
                    traffic("b", "us-west-2", errs[1]),
                ]),
            );
            derive(f, 1)
        };
        let st = |snap: &Snapshot, at| region(snap, "us-west-2", at);
        assert_eq!(st(&cells([0.0, 0.0]), t0).status, RegionStatus::Ok);
        // Every cell down while the control plane still says OK: DOWN.
        let all_down = st(&cells([0.9, 0.9]), t0);
        assert_eq!((all_down.status, all_down.down, all_down.total), (RegionStatus::Down, 2, 2));
        // One degraded (or down) cell of two: DEGRADED.
        assert_eq!(st(&cells([0.01, 0.0]), t0).status, RegionStatus::Degraded);
        assert_eq!(st(&cells([0.9, 0.0]), t0).status, RegionStatus::Degraded);
        // Stale cells: UNKNOWN, never the OK the control plane reported.
        let old = st(&cells([0.0, 0.0]), t0 + chrono::Duration::seconds(60));
        assert_eq!((old.status, old.stale), (RegionStatus::Unknown, true));
        // An unknown cell, or no cells at all: UNKNOWN.
        let mut f = healthy(t0);
        let mut p: Vec<Probe> = f.probes.items().to_vec();
        for x in p.iter_mut().filter(|x| x.region == "us-west-2") {
            x.status = ProbeStatus::Unknown;
        }
        f.probes.set(t0, Ok(p));
        f.metrics.set(t0, Ok(vec![traffic("a", "us-east-1", 0.0), traffic("b", "us-east-1", 0.0)]));
        assert_eq!(st(&derive(f, 1), t0).status, RegionStatus::Unknown);
        assert_eq!(region(&cells([0.0, 0.0]), "eu-west-1", t0).status, RegionStatus::Unknown, "no cells");
    }

    #[test]
    fn services_and_metrics_without_probes_are_data() {
        let t0 = Utc::now();
        let mut f = healthy(t0);
        f.probes.set(t0, Ok(vec![]));
        let r = fleet(&derive(f.clone(), 1), t0);
        assert_eq!(r.state, Overall::Ok, "{:?}", r.text(3));
        // No region feed either (regions known from the cells): still data.
        f.regions.set(t0, Ok(vec![]));
        let r = fleet(&derive(f, 1), t0);
        assert_eq!(r.state, Overall::Ok, "{:?}", r.text(3));
    }

    #[test]
    fn problems_are_named_worst_first() {
        let t0 = Utc::now();
        let mut f = healthy(t0);
        f.regions
            .set(t0, Ok(vec![reg("us-east-1", RegionStatus::Ok, 60.0), reg("us-west-2", RegionStatus::Down, 0.0)]));
        let snap = derive(f.clone(), 1);
        let r = fleet(&snap, t0);
        assert_eq!(r.state, Overall::Critical);
        assert_eq!(r.text(1), "CRITICAL · us-west-2 DOWN");
        // A service degraded in both regions, another down in one.
        f.regions.set(t0, Ok(vec![reg("us-east-1", RegionStatus::Ok, 60.0), reg("us-west-2", RegionStatus::Ok, 40.0)]));
        set_traffic(
            &mut f,
            t0,
            &[("a", "us-east-1", 0.01), ("a", "us-west-2", 0.01), ("b", "us-east-1", 0.0), ("b", "us-west-2", 0.9)],
        );
        let r = fleet(&derive(f, 2), t0);
        assert_eq!(r.state, Overall::Critical);
        assert_eq!(r.places, vec!["b/us-west-2 DOWN".to_string(), "a DEGRADED in 2 regions".to_string()]);
        assert_eq!(r.text(1), "CRITICAL · b/us-west-2 DOWN +1 more");
    }
}
