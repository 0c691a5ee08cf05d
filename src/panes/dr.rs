//! Disaster-recovery posture: per database cluster, its writer and where
//! it is, its standbys against the tier's RPO (or the cluster's lag limit
//! where only bytes are known), point-in-time-recovery exposure and backup
//! retention against policy, and the last failover's measured time against
//! the RTO; per region, "can we lose it now?" — another region serves, and
//! every cluster whose writer is there has a standby elsewhere within its
//! limit.

use warroom_ui::{Align, Cell, Column, LazyRows, Level};

use super::common::feed_badge;
use super::{Ctx, Kind, Pane, PaneContent, Spec};
use crate::model::{ActionStatus, Database, DbMember, DbRole, Objective, RegionStatus, Snapshot};

/// `3600` → `1h`, `900` → `15m`, `3.4` → `3.4s`.
pub fn secs_words(s: f64) -> String {
    if s >= 86_400.0 && (s / 86_400.0).fract() == 0.0 {
        format!("{:.0}d", s / 86_400.0)
    } else if s >= 3600.0 {
        format!("{:.0}h", s / 3600.0)
    } else if s >= 60.0 {
        format!("{:.0}m", s / 60.0)
    } else {
        format!("{s:.1}s")
    }
}

pub use crate::model::infra::objective;

/// A standby's lag against the objective: seconds against the RPO where
/// the source gives seconds, bytes against the lag limit otherwise; ▲ at
/// half, ✖ over; unknown lag is a warning (nobody can say what is lost).
pub fn lag_level(m: &DbMember, db: &Database, obj: &Objective) -> Level {
    if !m.up {
        return Level::Critical;
    }
    let Some(frac) = crate::model::infra::lag_fraction(m, db, obj) else { return Level::Warn };
    if frac > 1.0 {
        Level::Critical
    } else if frac >= 0.5 {
        Level::Warn
    } else {
        Level::Ok
    }
}

/// A standby that could take over within the objective.
fn standby_ok(m: &DbMember, db: &Database, obj: &Objective) -> bool {
    m.role != DbRole::Writer
        && lag_level(m, db, obj) != Level::Critical
        && (m.lag_bytes.is_some() || m.lag_seconds.is_some())
}

/// The worse of two levels.
fn worst(a: Level, b: Level) -> Level {
    let rank = |l: Level| match l {
        Level::Ok => 0,
        Level::Info | Level::Paused | Level::Unknown | Level::Stale => 1,
        Level::Warn => 2,
        Level::Critical => 3,
    };
    if rank(b) > rank(a) {
        b
    } else {
        a
    }
}

/// One cluster's posture, in a level and words.
pub fn cluster_posture(db: &Database, snap: &Snapshot, now: chrono::DateTime<chrono::Utc>) -> (Level, String) {
    let (critical, obj) = objective(db, snap);
    let mut level = Level::Ok;
    let mut parts = Vec::new();
    let at = |m: &DbMember| m.region.as_deref().map(|r| format!(" ({r})")).unwrap_or_default();
    match db.writer() {
        Some(w) => parts.push(format!("writer {}{}", w.name, at(w))),
        None => {
            level = Level::Critical;
            parts.push("NO WRITER: writes fail".into());
        }
    }
    let standbys: Vec<&DbMember> = db.members.iter().filter(|m| m.role != DbRole::Writer).collect();
    let ok = standbys.iter().filter(|m| standby_ok(m, db, &obj)).count();
    let warn = standbys.iter().filter(|m| lag_level(m, db, &obj) == Level::Warn).count();
    let over = standbys.len() - ok;
    let mut s = format!("{ok}/{} standbys within limit", standbys.len());
    if warn > 0 {
        s.push_str(&format!(", {warn} ▲"));
        level = worst(level, Level::Warn);
    }
    if over > 0 {
        s.push_str(&format!(", {over} ✖"));
        level = worst(level, Level::Warn);
    }
    if ok == 0 {
        level = Level::Critical;
    }
    parts.push(s);
    // A backend's word for an unusual state (a global failover under way,
    // a lag it could not read) is part of the posture.
    if let Some(st) = db.status.as_deref().filter(|s| !s.is_empty() && *s != "available") {
        parts.push(st.to_string());
    }
    if let Some((writer, healthy, when)) = last_recovery(db, snap) {
        // The recovery time is to the services healthy again where that
        // was measured (the executor's stopwatch), else to the writer.
        let mark = if healthy.unwrap_or(writer) > obj.rto_secs {
            level = worst(level, Level::Warn);
            "✖"
        } else {
            "✔"
        };
        let services = match healthy {
            Some(h) => format!(", services healthy in {}", secs_words(h)),
            None => String::new(),
        };
        parts.push(format!("last switch {when}: writer in {}{services} {mark}", secs_words(writer)));
    }
    match db.latest_restorable {
        None if db.backup_retention_days.is_none() => parts.push("backups not reported".into()),
        None => parts.push("PITR not reported".into()),
        Some(t) => {
            let behind = (now - t).num_milliseconds() as f64 / 1000.0;
            let mark = if behind > obj.rpo_secs {
                level = Level::Critical;
                " ✖"
            } else {
                ""
            };
            parts.push(format!("PITR {} behind{mark}", secs_words(behind.max(0.0))));
        }
    }
    match db.backup_retention_days {
        Some(d) if d < db.objectives.retention_days => {
            level = worst(level, Level::Warn);
            parts.push(format!("retention {d}d < {}d ✖", db.objectives.retention_days));
        }
        Some(d) => parts.push(format!("retention {d}d")),
        None if db.latest_restorable.is_some() => parts.push("retention not reported".into()),
        None => {}
    }
    parts.push(format!(
        "{} RPO {} RTO {}",
        if critical { "critical" } else { "standard" },
        secs_words(obj.rpo_secs),
        secs_words(obj.rto_secs)
    ));
    (level, parts.join(" · "))
}

/// The last database action on `db` that succeeded: how long from the
/// request to the new writer accepting writes, and when.
fn last_recovery(db: &Database, snap: &Snapshot) -> Option<(f64, Option<f64>, String)> {
    let switched = format!("switch {} over", db.name);
    let failed = format!("fail {} over", db.name);
    snap.fleet
        .actions
        .iter()
        .rev()
        .filter(|e| e.status == ActionStatus::Succeeded)
        .find(|e| e.summary.starts_with(&switched) || e.summary.starts_with(&failed))
        .map(|e| {
            let secs = |t: chrono::DateTime<chrono::Utc>| (t - e.started_at).num_milliseconds().max(0) as f64 / 1000.0;
            (secs(e.updated_at), e.recovered_at.map(secs), e.started_at.format("%H:%M:%S").to_string())
        })
}

/// "Can we lose this region now?": another region serves, and every
/// cluster whose writer is here has a standby elsewhere within its limit.
pub fn region_posture(region: &str, snap: &Snapshot) -> (Level, String) {
    let regions = snap.fleet.regions.items();
    let others: Vec<_> =
        regions.iter().filter(|r| r.name != region && r.weight > 0.0 && r.status != RegionStatus::Down).collect();
    if others.is_empty() {
        return (Level::Critical, "no: no other region serves traffic".into());
    }
    let dbs = &snap.fleet.databases;
    let mut level = Level::Ok;
    // Traffic alone cannot say a region can go: what of the data there?
    let unknown = if dbs.not_configured.is_some() {
        Some("databases not configured")
    } else if dbs.error.is_some() {
        Some("databases unreadable now")
    } else {
        None
    };
    let share: f64 = others.iter().map(|r| r.weight).sum();
    let names: Vec<&str> = others.iter().map(|r| r.name.as_str()).collect();
    let mut parts = vec![format!("{} serve ({share:.0}% now)", names.join(", "))];
    let degraded: Vec<&str> =
        others.iter().filter(|r| r.status == RegionStatus::Degraded).map(|r| r.name.as_str()).collect();
    if !degraded.is_empty() {
        level = Level::Warn;
        parts.push(format!("{} DEGRADED", degraded.join(", ")));
    }
    for db in snap.fleet.databases.items() {
        let Some(w) = db.writer_member() else { continue };
        if w.region.as_deref() != Some(region) {
            continue;
        }
        let (_, obj) = objective(db, snap);
        let elsewhere = db
            .members
            .iter()
            .filter(|m| m.region.as_deref() != Some(region) && standby_ok(m, db, &obj))
            .min_by_key(|m| m.lag_bytes.unwrap_or(u64::MAX));
        match elsewhere {
            Some(m) => parts.push(format!("{} → {}", db.name, m.name)),
            None => {
                level = Level::Critical;
                parts.push(format!("{}: no standby outside {region} within its limit", db.name));
            }
        }
    }
    if let Some(why) = unknown.filter(|_| level != Level::Critical) {
        return (Level::Unknown, format!("unknown ({why}): {}", parts.join(" · ")));
    }
    let verdict = match level {
        Level::Critical => "no",
        Level::Warn => "yes, but",
        _ => "yes",
    };
    (level, format!("{verdict}: {}", parts.join(" · ")))
}

/// The rows: clusters, then regions.
enum Row<'a> {
    Cluster(&'a Database),
    Region(&'a str),
}

fn rows(snap: &Snapshot) -> Vec<Row<'_>> {
    let mut v: Vec<Row<'_>> = snap.fleet.databases.items().iter().map(Row::Cluster).collect();
    v.extend(snap.fleet.regions.items().iter().map(|r| Row::Region(r.name.as_str())));
    v
}

/// The `dr` pane kind.
pub struct DrPane;

impl Pane for DrPane {
    fn kind(&self) -> Kind {
        Kind::Dr
    }
    fn name(&self) -> &'static str {
        "dr"
    }
    fn title(&self) -> &'static str {
        "Disaster recovery"
    }
    fn len(&self, ctx: &Ctx<'_>) -> usize {
        rows(ctx.snap).len()
    }
    fn is_empty(&self, snap: &Snapshot) -> bool {
        snap.fleet.databases.items().is_empty() && snap.fleet.regions.items().is_empty()
    }
    fn content<'a>(&self, ctx: &Ctx<'a>, _spec: Spec<'_>, _width: u16) -> Option<PaneContent<'a>> {
        let (snap, theme, now) = (ctx.snap, ctx.theme, ctx.now);
        let columns = vec![
            Column::new("", 7, Align::Left, 2),
            Column::new("name", 14, Align::Left, 0),
            Column::new("posture", 12, Align::Left, 0),
            Column::new("detail", 60, Align::Left, 0).flex(),
        ];
        let items = rows(snap);
        let rows = LazyRows {
            len: items.len(),
            make: move |i: usize| {
                let (what, name, (level, text)) = match &items[i] {
                    Row::Cluster(db) => ("cluster", db.name.clone(), cluster_posture(db, snap, now)),
                    Row::Region(r) => ("region", r.to_string(), region_posture(r, snap)),
                };
                let word = match (&items[i], level) {
                    (Row::Region(_), Level::Critical) => "CAN'T LOSE",
                    (Row::Region(_), Level::Unknown) => "unknown",
                    (Row::Region(_), _) => "can lose",
                    (_, Level::Critical) => "AT RISK",
                    (_, Level::Warn) => "degraded",
                    _ => "ok",
                };
                vec![
                    Cell::new(what, theme.muted),
                    Cell::new(name, theme.text),
                    Cell::new(format!("{} {word}", level.glyph(theme.ascii)), theme.level(level)),
                    Cell::new(text, theme.text),
                ]
            },
        };
        let f = &snap.fleet;
        Some(PaneContent {
            rows: Box::new(rows),
            title: "Disaster recovery".into(),
            badge: Some(feed_badge(&f.databases, now, theme)),
            error: f.databases.error_text(),
            columns,
            selected: Some(ctx.row(Kind::Dr)),
            selected_col: None,
            empty: super::common::pane_empty(ctx, &f.databases, now, "no database clusters or regions reported"),
            sort_cols: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{derive, DrObjectives, Fleet, Region, Service, Tier};
    use chrono::Utc;

    fn snap(writer_region: &str, standby_lag: u64, writer_up: bool) -> Snapshot {
        let m = |name: &str, role, region: &str, lag, up| DbMember {
            name: name.into(),
            region: Some(region.into()),
            zone: None,
            role,
            state: "running".into(),
            up,
            timeline: Some(1),
            lag_bytes: Some(lag),
            lag_seconds: None,
        };
        let other = if writer_region == "a" { "b" } else { "a" };
        let db = Database {
            name: "orders".into(),
            engine: "postgresql".into(),
            source: "patroni:orders".into(),
            members: vec![
                m("w", DbRole::Writer, writer_region, 0, writer_up),
                m("s", DbRole::Replica, other, standby_lag, true),
            ],
            last_failover: None,
            latest_restorable: None,
            earliest_restorable: None,
            backup_retention_days: Some(7),
            status: None,
            services: vec!["checkout".into()],
            max_lag_bytes: Some(1000),
            objectives: DrObjectives::default(),
            global: false,
        };
        let mut f = Fleet::default();
        let now = Utc::now();
        let region = |n: &str| Region {
            name: n.into(),
            status: RegionStatus::Ok,
            weight: 50.0,
            base_weight: Some(50.0),
            zones: vec![],
            since: None,
        };
        f.regions.set(now, Ok(vec![region("a"), region("b")]));
        let svc = Service {
            name: "checkout".into(),
            tier: Tier::Critical,
            owners: vec![],
            depends_on: vec![],
            slos: vec![],
            sla: Default::default(),
        };
        f.services.set(now, Ok(vec![svc]));
        f.databases.set(now, Ok(vec![db]));
        derive(f, 1)
    }

    #[test]
    fn cluster_and_region_posture_in_words() {
        let s = snap("a", 100, true);
        let db = &s.fleet.databases.items()[0];
        let (level, text) = cluster_posture(db, &s, Utc::now());
        assert_eq!(
            text,
            "writer w (a) · 1/1 standbys within limit · PITR not reported · retention 7d < 30d ✖ · critical RPO 1h RTO 15m"
        );
        assert_eq!(level, Level::Warn, "short retention is a warning");
        let (level, text) = region_posture("a", &s);
        assert_eq!((level, text.as_str()), (Level::Ok, "yes: b serve (50% now) · orders → s"));
        // The only standby lags over the limit: region a cannot be lost.
        let far = snap("a", 5000, true);
        let (level, text) = region_posture("a", &far);
        assert_eq!(level, Level::Critical, "{text}");
        assert!(text.contains("orders: no standby outside a within its limit"), "{text}");
        assert_eq!(region_posture("b", &far).0, Level::Ok, "no writer in b");
        let (level, text) = cluster_posture(&far.fleet.databases.items()[0], &far, Utc::now());
        assert_eq!(level, Level::Critical, "{text}");
        // Half the limit: ▲.
        let half = snap("a", 600, true);
        let db = &half.fleet.databases.items()[0];
        assert_eq!(lag_level(&db.members[1], db, &db.objectives.critical), Level::Warn);
        let (_, text) = cluster_posture(&snap("a", 100, false).fleet.databases.items()[0], &s, Utc::now());
        assert!(text.contains("NO WRITER"), "{text}");
        let mut none = snap("a", 100, true);
        none.fleet.databases.not_configured = Some("not configured".into());
        let (level, text) = region_posture("b", &none);
        assert_eq!(level, Level::Unknown, "no database source: never 'can lose'");
        assert!(text.starts_with("unknown (databases not configured)"), "{text}");
        assert_eq!(secs_words(86_400.0), "1d");
        assert_eq!(secs_words(3.44), "3.4s");
    }

    #[test]
    fn recovery_waits_for_fresh_metrics_and_every_serving_region() {
        use crate::model::{infra::recovery, CellHealth, Recovery};
        let mut s = snap("a", 100, true);
        let writer_at = Utc::now();
        let cell = |st| CellHealth { status: st, reason: String::new() };
        let set = |s: &mut Snapshot, a, b| {
            std::sync::Arc::make_mut(&mut s.cells)
                .insert("checkout".into(), [("a".into(), cell(a)), ("b".into(), cell(b))].into_iter().collect());
        };
        set(&mut s, RegionStatus::Ok, RegionStatus::Ok);
        // Healthy cells from before the new writer prove nothing.
        s.fleet.metrics.observed_at = Some(writer_at - chrono::Duration::seconds(1));
        assert_eq!(
            recovery(&s, "orders", writer_at),
            Recovery::Waiting("no metrics observed since the new writer".into())
        );
        s.fleet.metrics.observed_at = Some(writer_at + chrono::Duration::seconds(1));
        assert_eq!(recovery(&s, "orders", writer_at), Recovery::Healthy(vec!["checkout".into()]));
        set(&mut s, RegionStatus::Ok, RegionStatus::Degraded);
        assert_eq!(recovery(&s, "orders", writer_at), Recovery::Waiting("checkout DEGRADED in b".into()));
        // A drained region does not hold the recovery back.
        let mut regions = s.fleet.regions.items().to_vec();
        regions[1].weight = 0.0;
        s.fleet.regions.data = Some(std::sync::Arc::new(regions));
        assert_eq!(recovery(&s, "orders", writer_at), Recovery::Healthy(vec!["checkout".into()]));
        assert!(matches!(recovery(&s, "nope", writer_at), Recovery::NotMeasured(_)));
    }

    #[test]
    fn a_runbook_judges_lag_in_bytes_or_seconds_the_same_way() {
        use crate::runbook::expr::{eval, parse};
        let holds = |s: &Snapshot, text: &str| {
            let c = parse(text).unwrap_or_else(|e| panic!("{e:?}"));
            eval(&c.expr, s, &Default::default()).holds
        };
        let within = "member(orders, s).lag_state == WITHIN";
        assert!(holds(&snap("a", 100, true), within), "bytes within the limit");
        assert!(holds(&snap("a", 5000, true), "member(orders, s).lag_state == OVER"));
        assert!(holds(&snap("a", 0, true), "member(orders, w).lag_state == WRITER"));
        // RDS/Aurora: seconds only, against the critical tier's 1 h RPO.
        let mut s = snap("a", 0, true);
        let mut dbs = s.fleet.databases.items().to_vec();
        dbs[0].max_lag_bytes = None;
        dbs[0].members[1].lag_bytes = None;
        dbs[0].members[1].lag_seconds = Some(2.0);
        s.fleet.databases.data = Some(std::sync::Arc::new(dbs.clone()));
        assert!(holds(&s, within), "2 s of a 1 h RPO");
        dbs[0].members[1].lag_seconds = Some(4000.0);
        s.fleet.databases.data = Some(std::sync::Arc::new(dbs.clone()));
        assert!(holds(&s, "member(orders, s).lag_state == OVER"));
        dbs[0].members[1].lag_seconds = None;
        s.fleet.databases.data = Some(std::sync::Arc::new(dbs));
        assert!(holds(&s, "member(orders, s).lag_state == UNKNOWN"), "no figure is never WITHIN");
    }
}
