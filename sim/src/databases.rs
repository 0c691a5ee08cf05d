//! Database clusters: one PostgreSQL member per region, served in
//! Patroni's REST shape (`/patroni/{cluster}/cluster`, `/history`, `POST
//! /switchover`, `POST /failover`), with streaming lag that moves over
//! time and the `db-primary-failure` scenario (replication stalls, then the
//! writer dies; the services that use it fail writes until a standby is
//! promoted). The model stays a function of time plus the promotions
//! operators made (`Dynamic::db`).

use serde_json::{json, Value};

use crate::fleet::Fleet;
use crate::model::World;

/// Patroni's default `maximum_lag_on_failover`, the sim's too.
pub const MAX_LAG_BYTES: u64 = 1_048_576;
/// Simulated seconds a switchover takes (Patroni: ~3 s here).
pub const SWITCH_SECS: f64 = 2.0;

#[derive(Debug, Clone)]
pub struct ClusterDef {
    pub name: String,
    /// Services that use it (indices into the fleet).
    pub services: Vec<usize>,
    /// (member name, region index), the first the writer at the start.
    pub members: Vec<(String, usize)>,
}

/// The scripted failure of a cluster's writer.
#[derive(Debug, Clone)]
pub struct DbFailure {
    pub cluster: usize,
    /// The member that dies (the writer at the start).
    pub member: usize,
    /// Replication stalls from here (lag grows)…
    pub lag_from: f64,
    /// …and the writer dies here, for good.
    pub dies_at: f64,
}

/// `us-east-1` → `use1`.
fn short(region: &str) -> String {
    region
        .split('-')
        .enumerate()
        .map(|(i, p)| if i == 0 { p.to_string() } else { p.chars().take(1).collect() })
        .collect()
}

/// The clusters of a fleet: `orders` behind checkout and payments,
/// `accounts` behind auth (those the fleet has).
pub fn clusters(fleet: &Fleet) -> Vec<ClusterDef> {
    let find = |n: &str| fleet.services.iter().position(|s| s.name == n);
    let mut out = Vec::new();
    for (name, uses) in [("orders", &["checkout", "payments"][..]), ("accounts", &["auth"][..])] {
        let services: Vec<usize> = uses.iter().filter_map(|n| find(n)).collect();
        if services.is_empty() {
            continue;
        }
        let members = fleet
            .regions
            .iter()
            .enumerate()
            .map(|(r, reg)| {
                let s = short(&reg.name);
                let s = if s.len() > 1 { s } else { format!("r{}", r + 1) };
                (format!("{name}-{s}"), r)
            })
            .collect();
        out.push(ClusterDef { name: name.to_string(), services, members });
    }
    out
}

/// One member at a moment.
#[derive(Debug, Clone, PartialEq)]
pub struct MemberNow {
    pub name: String,
    pub region: usize,
    pub leader: bool,
    pub running: bool,
    /// Bytes behind the writer (None: not replicating).
    pub lag: Option<u64>,
}

impl World {
    /// The writer of cluster `c` at t (member index) and the promotions so
    /// far (time, new writer).
    pub fn db_leader(&self, c: usize, t: f64) -> (usize, Vec<(f64, usize)>) {
        let dy = self.dyn_read();
        let done: Vec<(f64, usize)> =
            dy.db.get(&c).map(|v| v.iter().filter(|(at, _)| *at <= t).copied().collect()).unwrap_or_default();
        (done.last().map(|(_, m)| *m).unwrap_or(0), done)
    }

    fn dead(&self, c: usize, m: usize, t: f64) -> bool {
        self.script.db_failure.as_ref().is_some_and(|f| f.cluster == c && f.member == m && t >= f.dies_at)
    }

    /// Whether cluster `c` has a writer accepting writes at t.
    pub fn db_writer_up(&self, c: usize, t: f64) -> bool {
        let (leader, _) = self.db_leader(c, t);
        !self.dead(c, leader, t)
    }

    /// Lag of member `m` of cluster `c` at t: a few KiB that move, more
    /// across regions; while replication stalls before the failure it
    /// grows (faster the farther the member), and it stays where it was
    /// when the writer died.
    fn db_lag(&self, c: usize, m: usize, leader: usize, t: f64) -> u64 {
        let def = &self.databases[c];
        let far = def.members[m].1 != def.members[leader].1;
        let wobble = ((t * 0.37 + m as f64 * 1.7 + c as f64).sin() + 1.0) / 2.0;
        let base = if far { 6_000.0 + 30_000.0 * wobble } else { 1_000.0 + 4_000.0 * wobble };
        let stall = match &self.script.db_failure {
            // Only while the failing writer still leads: a new writer's
            // standbys stream from it afresh.
            Some(f) if f.cluster == c && t >= f.lag_from && leader == f.member => {
                let until = t.min(f.dies_at);
                // Bytes per second of the stall: 10 KiB/s for the first
                // standby, then 80, 150 … (some end over the limit, one not).
                let rate = 10_240.0 + 71_680.0 * m.saturating_sub(1) as f64;
                (until - f.lag_from) * rate
            }
            _ => 0.0,
        };
        (base + stall) as u64
    }

    /// Every member of cluster `c` at t.
    pub fn db_members(&self, c: usize, t: f64) -> Vec<MemberNow> {
        let (leader, _) = self.db_leader(c, t);
        self.databases[c]
            .members
            .iter()
            .enumerate()
            .map(|(m, (name, region))| {
                let running = !self.dead(c, m, t);
                MemberNow {
                    name: name.clone(),
                    region: *region,
                    leader: m == leader,
                    running,
                    lag: (m != leader && running).then(|| self.db_lag(c, m, leader, t)),
                }
            })
            .collect()
    }

    /// The (cluster, member) an instance name is.
    pub fn db_member(&self, name: &str) -> Option<(usize, usize)> {
        self.databases
            .iter()
            .enumerate()
            .find_map(|(c, d)| d.members.iter().position(|(n, _)| n == name).map(|m| (c, m)))
    }

    /// CloudWatch's `AuroraReplicaLag` of a member at t, in milliseconds
    /// (the sim streams 1 MiB/s: a byte of lag is a microsecond, roughly);
    /// none for the writer or a stopped member, as Aurora reports none.
    pub fn db_lag_ms(&self, c: usize, m: usize, t: f64) -> Option<f64> {
        let now = self.db_members(c, t);
        now.get(m)?.lag.map(|b| b as f64 / 1048.576)
    }

    /// `GET /cluster` as Patroni 3 writes it.
    pub fn patroni_cluster(&self, c: usize, t: f64, api: &str) -> Value {
        let (_, done) = self.db_leader(c, t);
        let timeline = 1 + done.len() as u64;
        let members: Vec<Value> = self
            .db_members(c, t)
            .into_iter()
            .enumerate()
            .map(|(i, m)| {
                let mut v = json!({
                    "name": m.name,
                    "role": if m.leader { "leader" } else { "replica" },
                    "state": if !m.running { "stopped" } else if m.leader { "running" } else { "streaming" },
                    "api_url": format!("{api}/patroni"),
                    "host": "127.0.0.1",
                    "port": 5432 + i,
                });
                if m.running {
                    v["timeline"] = json!(timeline);
                }
                if !m.leader {
                    v["lag"] = m.lag.map(|l| json!(l)).unwrap_or(json!("unknown"));
                }
                v
            })
            .collect();
        json!({"members": members, "scope": self.databases[c].name})
    }

    /// `GET /history`: [timeline, lsn, reason, timestamp, new leader] per promotion.
    pub fn patroni_history(&self, c: usize, t: f64) -> Value {
        let (_, done) = self.db_leader(c, t);
        let rows: Vec<Value> = done
            .iter()
            .enumerate()
            .map(|(i, (at, m))| {
                json!([
                    i + 1,
                    50_331_648 + i * 16_777_216,
                    "no recovery target specified",
                    crate::server::iso(self, *at),
                    self.databases[c].members[*m].0
                ])
            })
            .collect();
        Value::Array(rows)
    }

    /// A switchover (`leader` named) or failover request, as Patroni
    /// answers it: (HTTP status, text). On success the promotion is
    /// recorded to land `SWITCH_SECS` later.
    pub fn patroni_switch(&self, c: usize, t: f64, leader: Option<&str>, candidate: Option<&str>) -> (u16, String) {
        let action = if leader.is_some() { "switchover" } else { "failover" };
        let def = &self.databases[c];
        let (now, _) = self.db_leader(c, t);
        let Some(cand) = candidate else {
            return match leader {
                None => (400, "Failover could be performed only to a specific candidate".into()),
                Some(_) => (412, format!("{action} is not possible: the simulator needs a candidate")),
            };
        };
        if let Some(l) = leader {
            if def.members[now].0 != l {
                return (412, "leader name does not match".into());
            }
            if !self.db_writer_up(c, t) {
                return (503, "Switchover failed".into());
            }
        }
        let Some(m) = def.members.iter().position(|(n, _)| n == cand) else {
            return (412, "candidate does not exists".into());
        };
        if m == now {
            return (412, format!("{action} is not possible: {cand} is already the leader"));
        }
        if self.dead(c, m, t) {
            return (412, format!("{action} is not possible: no good candidates have been found"));
        }
        if leader.is_some() && self.db_lag(c, m, now, t) > MAX_LAG_BYTES {
            return (412, format!("{action} is not possible: no good candidates have been found"));
        }
        let mut dy = self.dyn_write();
        let list = dy.db.entry(c).or_default();
        if list.last().is_some_and(|(at, _)| *at > t) {
            return (503, format!("{action} is already in progress"));
        }
        list.push((t + SWITCH_SECS, m));
        let verb = if leader.is_some() { "switched" } else { "failed" };
        (200, format!("Successfully {verb} over to \"{cand}\""))
    }

    /// `GET /v1/databases`: where the clusters' Patroni APIs are and what
    /// the console needs to place them.
    pub fn databases_index(&self) -> Value {
        let list: Vec<Value> = self
            .databases
            .iter()
            .map(|d| {
                let regions: serde_json::Map<String, Value> =
                    d.members.iter().map(|(n, r)| (n.clone(), json!(self.fleet.regions[*r].name))).collect();
                json!({
                    "name": d.name,
                    "engine": "postgresql (patroni)",
                    "patroni": format!("/patroni/{}", d.name),
                    "regions": regions,
                    "services": d.services.iter().map(|s| self.fleet.services[*s].name.clone()).collect::<Vec<_>>(),
                    "maximumLagOnFailover": MAX_LAG_BYTES,
                })
            })
            .collect();
        json!({ "databases": list })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scenario;

    #[test]
    fn names_and_a_failure_that_a_failover_ends() {
        assert_eq!(short("us-east-1"), "use1");
        assert_eq!(short("ap-southeast-1"), "aps1");
        let w = World::new(7, Scenario::DbPrimaryFailure, 4, 8, 1.7e9);
        assert_eq!(w.databases.iter().map(|d| d.name.as_str()).collect::<Vec<_>>(), ["orders", "accounts"]);
        assert_eq!(w.databases[0].members[0].0, "orders-use1");
        let f = w.script.db_failure.clone().unwrap_or_else(|| panic!("no failure scripted"));
        assert!(w.db_writer_up(0, f.dies_at - 1.0));
        assert!(!w.db_writer_up(0, f.dies_at + 1.0));
        // The stall left one standby within the limit, the others over it.
        let lags: Vec<Option<u64>> = w.db_members(0, f.dies_at + 5.0).iter().map(|m| m.lag).collect();
        assert!(lags[0].is_none(), "the dead writer has no lag");
        assert!(lags[1].is_some_and(|l| l < MAX_LAG_BYTES), "{lags:?}");
        assert!(lags[2].is_some_and(|l| l > MAX_LAG_BYTES), "{lags:?}");
        // A switchover needs a writer; a failover to the good standby works.
        let t = f.dies_at + 10.0;
        assert_eq!(w.patroni_switch(0, t, Some("orders-use1"), Some("orders-usw2")).0, 503);
        assert_eq!(w.patroni_switch(0, t, None, Some("orders-usw2")).0, 200);
        assert!(w.db_writer_up(0, t + SWITCH_SECS));
        let after: Vec<Option<u64>> = w.db_members(0, t + SWITCH_SECS).iter().map(|m| m.lag).collect();
        assert!(after[2].is_some_and(|l| l < MAX_LAG_BYTES), "the new writer's standbys catch up: {after:?}");
        let c = w.patroni_cluster(0, t + SWITCH_SECS, "http://x");
        assert_eq!(c["members"][1]["role"], "leader");
        assert_eq!(c["members"][0]["state"], "stopped");
        assert_eq!(w.patroni_history(0, t + SWITCH_SECS).as_array().map(Vec::len), Some(1));
        // Calm: a switchover with a standby in sync.
        let calm = World::new(7, Scenario::Calm, 4, 8, 1.7e9);
        assert_eq!(calm.patroni_switch(1, 5.0, Some("accounts-use1"), Some("accounts-use1")).0, 412);
        assert_eq!(calm.patroni_switch(1, 5.0, Some("accounts-usw2"), Some("accounts-euw1")).0, 412);
        assert_eq!(calm.patroni_switch(1, 5.0, Some("accounts-use1"), Some("accounts-euw1")).0, 200);
    }
}
