//! Where traffic and data really live: a DNS provider's per-region
//! weights and health checks (Route 53), and database clusters (Patroni,
//! RDS/Aurora, the control plane) with their members, roles and lag.

use chrono::{DateTime, Utc};

use super::{Region, RegionStatus};

/// Share of health checkers that must report healthy for Route 53 to call a
/// check healthy: more than 18 % (Route 53 docs).
pub const HEALTHY_SHARE_PCT: u32 = 18;

/// One region's record in the traffic provider (a weighted record).
#[derive(Debug, Clone, PartialEq)]
pub struct RegionWeight {
    pub region: String,
    /// The record's `SetIdentifier`.
    pub set_identifier: String,
    /// Its weight as the provider has it (Route 53: 0–255).
    pub weight: i64,
    /// The weight a restore puts back: the weight itself while it is
    /// above 0, else the one recorded before the last failover, if known.
    pub restore_weight: Option<i64>,
    /// Its health check, if the record has one.
    pub health: Option<CheckHealth>,
}

/// A health check's latest observations.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckHealth {
    pub id: String,
    /// Checkers reporting healthy, of `total`.
    pub healthy: u32,
    pub total: u32,
}

impl CheckHealth {
    /// Healthy as Route 53 decides it: more than 18 % of checkers say so.
    pub fn is_healthy(&self) -> bool {
        self.total > 0 && self.healthy * 100 > self.total * HEALTHY_SHARE_PCT
    }

    pub fn words(&self) -> String {
        let verdict = if self.is_healthy() { "healthy" } else { "UNHEALTHY" };
        format!("{verdict} ({}/{} checkers)", self.healthy, self.total)
    }
}

/// The regions with the traffic provider's weights and health laid over
/// them: a region's share is its weight over the sum, its normal share
/// its restore weight over the sum of those, and a failing health check
/// makes it DOWN (Route 53 stops answering with it). Regions the provider
/// does not name keep what their own source said.
pub fn overlay_traffic(regions: &mut [Region], weights: &[RegionWeight]) {
    let sum: i64 = weights.iter().map(|w| w.weight.max(0)).sum();
    let restore_sum: i64 = weights.iter().map(|w| w.restore_weight.unwrap_or(0).max(0)).sum();
    for r in regions.iter_mut() {
        let Some(w) = weights.iter().find(|w| w.region == r.name) else { continue };
        r.weight = if sum > 0 { w.weight.max(0) as f64 * 100.0 / sum as f64 } else { 0.0 };
        r.base_weight = match w.restore_weight {
            Some(b) if restore_sum > 0 => Some(b.max(0) as f64 * 100.0 / restore_sum as f64),
            _ => None,
        };
        match &w.health {
            Some(h) if !h.is_healthy() => r.status = RegionStatus::Down,
            Some(_) if r.status == RegionStatus::Unknown => r.status = RegionStatus::Ok,
            _ => {}
        }
    }
}

/// A member's part in its cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum DbRole {
    /// Takes writes (Patroni `leader`, Aurora `IsClusterWriter`).
    Writer,
    /// A synchronous standby (no committed write is lost if it takes over).
    SyncStandby,
    /// An asynchronous replica.
    Replica,
    /// The leader of a standby cluster (replicates from another cluster).
    StandbyLeader,
}

impl DbRole {
    pub fn word(self) -> &'static str {
        match self {
            DbRole::Writer => "writer",
            DbRole::SyncStandby => "sync standby",
            DbRole::Replica => "replica",
            DbRole::StandbyLeader => "standby leader",
        }
    }
}

/// One member (instance) of a database cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct DbMember {
    pub name: String,
    /// Region and zone, where known (from config or the backend).
    pub region: Option<String>,
    pub zone: Option<String>,
    pub role: DbRole,
    /// The backend's word for its state (`running`, `streaming`, `stopped`, `available`).
    pub state: String,
    /// Whether it is up and doing its job (a writer accepting writes, a
    /// replica streaming).
    pub up: bool,
    pub timeline: Option<u64>,
    /// Replication lag behind the writer: bytes of WAL, and seconds.
    pub lag_bytes: Option<u64>,
    pub lag_seconds: Option<f64>,
}

/// A database cluster as the console sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Database {
    /// The cluster's name (its key in actions: `:switchover NAME MEMBER`).
    pub name: String,
    /// `postgresql (patroni)`, `aurora-postgresql`, …
    pub engine: String,
    /// Where it was read from (`patroni`, `rds us-east-1`, `control-plane`).
    pub source: String,
    pub members: Vec<DbMember>,
    /// The last failover or switchover the backend records.
    pub last_failover: Option<DateTime<Utc>>,
    /// Newest point a restore can reach (RDS `LatestRestorableTime`).
    pub latest_restorable: Option<DateTime<Utc>>,
    pub earliest_restorable: Option<DateTime<Utc>>,
    /// Backup retention in days, where the backend says.
    pub backup_retention_days: Option<u32>,
    /// The backend's cluster status (`available`, `failing-over`), if any.
    pub status: Option<String>,
    /// Services that use it (config), to verify after a failover.
    pub services: Vec<String>,
    /// The largest lag a failover candidate may have (Patroni
    /// `maximum_lag_on_failover`, bytes), where known.
    pub max_lag_bytes: Option<u64>,
    /// Recovery objectives (`[dr]`, the seed's numbers by default).
    pub objectives: DrObjectives,
    /// An Aurora global database: its members are regional clusters, and a
    /// failover without the primary (`FailoverGlobalCluster` with
    /// `AllowDataLoss`) always risks what the target has not received.
    pub global: bool,
}

/// A tier's recovery objectives.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Objective {
    /// Most data (as time) a failure may lose.
    pub rpo_secs: f64,
    /// Longest a recovery may take.
    pub rto_secs: f64,
}

/// Recovery objectives per service tier, and the backup policy.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DrObjectives {
    pub critical: Objective,
    pub standard: Objective,
    /// Backups kept at least this many days.
    pub retention_days: u32,
}

impl Default for DrObjectives {
    /// The seed's numbers: critical RPO 1 h / RTO 15 min; the rest RPO
    /// 24 h / RTO 1 h; 30 days of backups (docs/configuration.md `[dr]`
    /// says how the seed's sentence was read).
    fn default() -> DrObjectives {
        DrObjectives {
            critical: Objective { rpo_secs: 3600.0, rto_secs: 900.0 },
            standard: Objective { rpo_secs: 86_400.0, rto_secs: 3600.0 },
            retention_days: 30,
        }
    }
}

impl Database {
    /// The member taking writes, if one is up.
    pub fn writer(&self) -> Option<&DbMember> {
        self.members.iter().find(|m| m.role == DbRole::Writer && m.up)
    }

    /// The member in the writer role, up or not.
    pub fn writer_member(&self) -> Option<&DbMember> {
        self.members.iter().find(|m| m.role == DbRole::Writer)
    }

    pub fn member(&self, name: &str) -> Option<&DbMember> {
        self.members.iter().find(|m| m.name == name)
    }

    /// The best candidate to take over: an up standby with the least lag
    /// (a sync standby first).
    pub fn best_candidate(&self) -> Option<&DbMember> {
        self.members.iter().filter(|m| m.role != DbRole::Writer && m.up).min_by(|a, b| {
            let key = |m: &DbMember| (m.role != DbRole::SyncStandby, m.lag_bytes.unwrap_or(u64::MAX));
            key(a).cmp(&key(b))
        })
    }
}

/// Whether any service using the cluster is critical (then the critical
/// objectives hold), and the objective.
pub fn objective(db: &Database, snap: &super::Snapshot) -> (bool, Objective) {
    let critical = db
        .services
        .iter()
        .any(|s| snap.fleet.services.items().iter().any(|x| &x.name == s && x.tier == super::Tier::Critical));
    (critical, if critical { db.objectives.critical } else { db.objectives.standard })
}

/// A standby's lag as a share of its limit: seconds against the RPO where
/// the source gives seconds, bytes against the lag limit otherwise (0 with
/// bytes and no limit); None when no figure is known.
pub fn lag_fraction(m: &DbMember, db: &Database, obj: &Objective) -> Option<f64> {
    match (m.lag_seconds, m.lag_bytes, db.max_lag_bytes) {
        (Some(s), _, _) => Some(s / obj.rpo_secs.max(1.0)),
        (None, Some(b), Some(max)) => Some(b as f64 / max.max(1) as f64),
        (None, Some(_), None) => Some(0.0),
        (None, None, _) => None,
    }
}

/// After a writer change: are the services that use the cluster back?
#[derive(Debug, Clone, PartialEq)]
pub enum Recovery {
    /// Every service it names is OK in every serving region, on metrics
    /// observed after the new writer took over.
    Healthy(Vec<String>),
    /// Not yet, and what is still wrong (`checkout DEGRADED in us-east-1`).
    Waiting(String),
    /// Nothing to wait for: the cluster names no services (or is not
    /// reported), so the recovery time stops at the writer.
    NotMeasured(String),
}

/// `database`'s services in `snap`, judged on metrics newer than `after`.
pub fn recovery(snap: &super::Snapshot, database: &str, after: DateTime<Utc>) -> Recovery {
    let Some(db) = snap.fleet.databases.items().iter().find(|d| d.name == database) else {
        return Recovery::NotMeasured(format!("{database} is not reported by any database source"));
    };
    if db.services.is_empty() {
        return Recovery::NotMeasured(format!("{database} names no services (services = [...] in its config)"));
    }
    if snap.fleet.metrics.observed_at.is_none_or(|t| t <= after) {
        return Recovery::Waiting("no metrics observed since the new writer".into());
    }
    let serving: Vec<&str> =
        snap.fleet.regions.items().iter().filter(|r| r.weight > 0.0).map(|r| r.name.as_str()).collect();
    let mut wrong = Vec::new();
    for s in &db.services {
        let cells: Vec<(&str, RegionStatus)> = if serving.is_empty() {
            snap.cells.get(s).map(|m| m.iter().map(|(r, c)| (r.as_str(), c.status)).collect()).unwrap_or_default()
        } else {
            serving.iter().map(|r| (*r, snap.cell(s, r).map(|c| c.status).unwrap_or(RegionStatus::Unknown))).collect()
        };
        if cells.is_empty() {
            wrong.push(format!("{s} not reported"));
        }
        for (r, st) in cells {
            if st != RegionStatus::Ok {
                wrong.push(format!("{s} {} in {r}", st.word()));
            }
        }
    }
    if wrong.is_empty() {
        Recovery::Healthy(db.services.clone())
    } else {
        let more = wrong.len().saturating_sub(3);
        wrong.truncate(3);
        let tail = if more > 0 { format!(" (+{more} more)") } else { String::new() };
        Recovery::Waiting(format!("{}{tail}", wrong.join(", ")))
    }
}

/// Bytes in words: `0 B`, `12 KiB`, `3.4 MiB`.
pub fn bytes_words(b: u64) -> String {
    const K: f64 = 1024.0;
    let f = b as f64;
    if f < K {
        format!("{b} B")
    } else if f < K * K {
        format!("{:.0} KiB", f / K)
    } else if f < K * K * K {
        format!("{:.1} MiB", f / K / K)
    } else {
        format!("{:.1} GiB", f / K / K / K)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn region(name: &str) -> Region {
        Region {
            name: name.into(),
            status: RegionStatus::Unknown,
            weight: 50.0,
            base_weight: Some(50.0),
            zones: vec![],
            since: None,
        }
    }

    fn w(region: &str, weight: i64, restore: Option<i64>, healthy: Option<(u32, u32)>) -> RegionWeight {
        RegionWeight {
            region: region.into(),
            set_identifier: region.into(),
            weight,
            restore_weight: restore,
            health: healthy.map(|(h, t)| CheckHealth { id: "hc".into(), healthy: h, total: t }),
        }
    }

    #[test]
    fn weights_become_shares_and_a_failing_check_is_down() {
        let mut rs = vec![region("a"), region("b"), region("c"), region("d")];
        let ws = [
            w("a", 100, Some(100), Some((16, 16))),
            w("b", 100, Some(100), Some((3, 16))),
            w("c", 0, Some(200), Some((2, 16))),
        ];
        overlay_traffic(&mut rs, &ws);
        assert_eq!((rs[0].weight, rs[0].status), (50.0, RegionStatus::Ok));
        // 3 of 16 is 18.75 %: more than 18 %, still healthy.
        assert_eq!(rs[1].status, RegionStatus::Ok);
        // 2 of 16 is 12.5 %: unhealthy; drained, its normal share is 200/400.
        assert_eq!((rs[2].weight, rs[2].base_weight, rs[2].status), (0.0, Some(50.0), RegionStatus::Down));
        assert_eq!(rs[3].weight, 50.0, "a region the provider does not name keeps its own");
    }

    #[test]
    fn the_candidate_is_the_sync_standby_then_the_least_lag() {
        let m = |name: &str, role, up, lag| DbMember {
            name: name.into(),
            region: None,
            zone: None,
            role,
            state: "streaming".into(),
            up,
            timeline: Some(1),
            lag_bytes: Some(lag),
            lag_seconds: None,
        };
        let mut db = Database {
            name: "orders".into(),
            engine: "postgresql".into(),
            source: "patroni".into(),
            members: vec![
                m("w", DbRole::Writer, true, 0),
                m("r1", DbRole::Replica, true, 10),
                m("r2", DbRole::Replica, true, 5),
            ],
            last_failover: None,
            latest_restorable: None,
            earliest_restorable: None,
            backup_retention_days: None,
            status: None,
            services: vec![],
            max_lag_bytes: None,
            objectives: DrObjectives::default(),
            global: false,
        };
        assert_eq!(db.best_candidate().map(|m| m.name.as_str()), Some("r2"));
        db.members[1].role = DbRole::SyncStandby;
        assert_eq!(db.best_candidate().map(|m| m.name.as_str()), Some("r1"));
        db.members[0].up = false;
        assert!(db.writer().is_none() && db.writer_member().is_some());
        assert_eq!(bytes_words(3 * 1024 * 1024 + 400 * 1024), "3.4 MiB");
    }
}
