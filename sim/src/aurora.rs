//! The sim's database clusters as Aurora global databases, in the RDS
//! API's wire shape (AWS Query: a form-encoded `POST` with `Action=…`, XML
//! answers, `ErrorResponse` faults), at `POST /rds`: cluster `orders` is
//! global cluster `orders-global`, each member a regional cluster
//! (`orders-use1` in `us-east-1`, …), the writer its primary. The same
//! state as the Patroni view (`databases.rs`): a promotion made here shows
//! there, and `db-primary-failure` leaves the primary `failed`.
//!
//! Served: `DescribeGlobalClusters`, `DescribeDBClusters` (a member's
//! status), `SwitchoverGlobalCluster`, `FailoverGlobalCluster`
//! (`AllowDataLoss` or `Switchover`). moto (the emulator the tests use for
//! the rest of RDS) has no global switchover or failover; the element names
//! here are the ones `aws-sdk-rds` parses (`GlobalClusterMember` is the
//! list item of both lists, as in the RDS model).

use std::collections::BTreeMap;
use std::fmt::Write as _;

use crate::model::World;

/// The account the sim's ARNs name.
const ACCOUNT: &str = "000000000000";
const NS: &str = "http://rds.amazonaws.com/doc/2014-10-31/";

/// A decoded `application/x-www-form-urlencoded` body.
pub fn form(body: &str) -> BTreeMap<String, String> {
    fn decode(s: &str) -> String {
        let b = s.as_bytes();
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < b.len() => {
                    match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16) {
                        Ok(v) => {
                            out.push(v);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                c => out.push(c),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    body.split('&')
        .filter(|kv| !kv.is_empty())
        .map(|kv| match kv.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(kv), String::new()),
        })
        .collect()
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

/// An RDS fault as AWS Query writes it: (HTTP status, XML).
pub fn fault(status: u16, code: &str, message: &str) -> (u16, String) {
    let kind = if status >= 500 { "Receiver" } else { "Sender" };
    (
        status,
        format!(
            "<ErrorResponse xmlns=\"{NS}\"><Error><Type>{kind}</Type><Code>{}</Code><Message>{}</Message></Error><RequestId>sim</RequestId></ErrorResponse>",
            esc(code),
            esc(message)
        ),
    )
}

fn ok(action: &str, inner: &str) -> (u16, String) {
    (
        200,
        format!(
            "<{action}Response xmlns=\"{NS}\"><{action}Result>{inner}</{action}Result><ResponseMetadata><RequestId>sim</RequestId></ResponseMetadata></{action}Response>"
        ),
    )
}

impl World {
    fn aws_region(&self, c: usize, m: usize) -> &str {
        &self.fleet.regions[self.databases[c].members[m].1].name
    }

    fn cluster_arn(&self, c: usize, m: usize) -> String {
        format!("arn:aws:rds:{}:{ACCOUNT}:cluster:{}", self.aws_region(c, m), self.databases[c].members[m].0)
    }

    /// The cluster a global identifier names (`orders-global`).
    fn global(&self, id: &str) -> Option<usize> {
        self.databases.iter().position(|d| format!("{}-global", d.name) == id)
    }

    /// A member named by its identifier or its ARN.
    fn member_of(&self, c: usize, target: &str) -> Option<usize> {
        let id = target.rsplit(':').next().unwrap_or(target);
        self.databases[c].members.iter().position(|(n, _)| n == id)
    }

    /// A promotion recorded but not landed yet: (new writer, data loss).
    fn pending(&self, c: usize, t: f64) -> Option<(usize, usize, bool)> {
        let dy = self.dyn_read();
        let list = dy.db.get(&c)?;
        let (at, to) = *list.last()?;
        (at > t).then_some(())?;
        drop(dy);
        let (from, _) = self.db_leader(c, t);
        Some((from, to, !self.db_writer_up(c, t)))
    }

    fn global_xml(&self, c: usize, t: f64) -> String {
        let d = &self.databases[c];
        let (leader, _) = self.db_leader(c, t);
        let pending = self.pending(c, t);
        let status = match pending {
            Some((_, _, true)) => "failing-over",
            Some(_) => "switching-over",
            None => "available",
        };
        let mut x = String::new();
        let _ = write!(
            x,
            "<GlobalClusterIdentifier>{0}-global</GlobalClusterIdentifier><GlobalClusterArn>arn:aws:rds::{ACCOUNT}:global-cluster:{0}-global</GlobalClusterArn><Status>{status}</Status><Engine>aurora-postgresql</Engine><EngineVersion>15.4</EngineVersion><StorageEncrypted>true</StorageEncrypted><DeletionProtection>false</DeletionProtection><GlobalClusterMembers>",
            esc(&d.name)
        );
        let members = self.db_members(c, t);
        // The primary's `Readers` are its secondaries' ARNs (as AWS and moto list them).
        let secondaries: String = (0..members.len())
            .filter(|m| *m != leader)
            .map(|m| format!("<member>{}</member>", esc(&self.cluster_arn(c, m))))
            .collect();
        for (m, now) in members.iter().enumerate() {
            let writer = m == leader;
            let readers = if writer { secondaries.as_str() } else { "" };
            let sync = if writer {
                String::new()
            } else if now.running {
                "<SynchronizationStatus>connected</SynchronizationStatus>".to_string()
            } else {
                "<SynchronizationStatus>pending-resync</SynchronizationStatus>".to_string()
            };
            let _ = write!(
                x,
                "<GlobalClusterMember><DBClusterArn>{}</DBClusterArn><Readers>{readers}</Readers><IsWriter>{writer}</IsWriter><GlobalWriteForwardingStatus>disabled</GlobalWriteForwardingStatus>{sync}</GlobalClusterMember>",
                esc(&self.cluster_arn(c, m))
            );
        }
        x.push_str("</GlobalClusterMembers>");
        if let Some((from, to, loss)) = pending {
            let _ = write!(
                x,
                "<FailoverState><Status>{status}</Status><FromDbClusterArn>{}</FromDbClusterArn><ToDbClusterArn>{}</ToDbClusterArn><IsDataLossAllowed>{loss}</IsDataLossAllowed></FailoverState>",
                esc(&self.cluster_arn(c, from)),
                esc(&self.cluster_arn(c, to))
            );
        }
        x
    }

    /// One AWS Query request to the sim's RDS at t: (HTTP status, XML).
    pub fn rds_query(&self, t: f64, p: &BTreeMap<String, String>) -> (u16, String) {
        let action = p.get("Action").map(String::as_str).unwrap_or("");
        let global = |p: &BTreeMap<String, String>| {
            let id = p.get("GlobalClusterIdentifier").map(String::as_str).unwrap_or("");
            self.global(id).ok_or_else(|| fault(404, "GlobalClusterNotFoundFault", &format!("{id} not found")))
        };
        match action {
            "DescribeGlobalClusters" => {
                let list: Vec<usize> = match p.get("GlobalClusterIdentifier") {
                    Some(_) => match global(p) {
                        Ok(c) => vec![c],
                        Err(f) => return f,
                    },
                    None => (0..self.databases.len()).collect(),
                };
                let items: String = list
                    .into_iter()
                    .map(|c| format!("<GlobalClusterMember>{}</GlobalClusterMember>", self.global_xml(c, t)))
                    .collect();
                ok(action, &format!("<GlobalClusters>{items}</GlobalClusters>"))
            }
            "DescribeDBClusters" => {
                let id = p.get("DBClusterIdentifier").map(String::as_str).unwrap_or("");
                let Some((c, m)) = self.db_member(id) else {
                    return fault(404, "DBClusterNotFoundFault", &format!("DBCluster {id} not found."));
                };
                let up = self.db_members(c, t).get(m).is_some_and(|x| x.running);
                let status = if up { "available" } else { "failed" };
                let d = &self.databases[c];
                ok(
                    action,
                    &format!(
                        "<DBClusters><DBCluster><DBClusterIdentifier>{}</DBClusterIdentifier><DBClusterArn>{}</DBClusterArn><Status>{status}</Status><Engine>aurora-postgresql</Engine><GlobalClusterIdentifier>{}-global</GlobalClusterIdentifier><DBClusterMembers></DBClusterMembers></DBCluster></DBClusters>",
                        esc(id),
                        esc(&self.cluster_arn(c, m)),
                        esc(&d.name)
                    ),
                )
            }
            "SwitchoverGlobalCluster" | "FailoverGlobalCluster" => {
                let c = match global(p) {
                    Ok(c) => c,
                    Err(f) => return f,
                };
                let target = p.get("TargetDbClusterIdentifier").map(String::as_str).unwrap_or("");
                let Some(m) = self.member_of(c, target) else {
                    return fault(404, "DBClusterNotFoundFault", &format!("DBCluster {target} not found."));
                };
                let yes = |k: &str| p.get(k).is_some_and(|v| v == "true");
                let switchover = action == "SwitchoverGlobalCluster" || yes("Switchover");
                if !switchover && !yes("AllowDataLoss") {
                    return fault(
                        400,
                        "InvalidParameterCombination",
                        "FailoverGlobalCluster needs AllowDataLoss or Switchover",
                    );
                }
                let (leader, _) = self.db_leader(c, t);
                let name = self.databases[c].members[m].0.clone();
                let (code, text) = if switchover {
                    let l = self.databases[c].members[leader].0.clone();
                    self.patroni_switch(c, t, Some(&l), Some(&name))
                } else {
                    self.patroni_switch(c, t, None, Some(&name))
                };
                match code {
                    200 => ok(action, &format!("<GlobalCluster>{}</GlobalCluster>", self.global_xml(c, t))),
                    _ => fault(400, "InvalidGlobalClusterStateFault", &text),
                }
            }
            "" => fault(400, "MissingAction", "no Action in the request"),
            other => fault(400, "InvalidAction", &format!("the simulator does not serve {other}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Scenario;

    fn p(kv: &[(&str, &str)]) -> BTreeMap<String, String> {
        kv.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
    }

    #[test]
    fn forms_decode_and_a_switchover_lands_as_a_promotion() {
        let f = form(
            "Action=X&TargetDbClusterIdentifier=arn%3Aaws%3Ards%3Aus-west-2%3A0%3Acluster%3Aorders-usw2&A=b+c&bad=%Z",
        );
        assert_eq!(f["TargetDbClusterIdentifier"], "arn:aws:rds:us-west-2:0:cluster:orders-usw2");
        assert_eq!((f["A"].as_str(), f["bad"].as_str()), ("b c", "%Z"));
        let w = World::new(7, Scenario::Calm, 4, 8, 1.7e9);
        let (code, xml) = w.rds_query(5.0, &p(&[("Action", "DescribeGlobalClusters")]));
        assert_eq!(code, 200);
        assert!(xml.contains("<GlobalClusterIdentifier>orders-global</GlobalClusterIdentifier>"), "{xml}");
        assert!(xml.contains("cluster:orders-use1</DBClusterArn><Readers><member>arn:aws:rds:us-west-2"), "{xml}");
        let fo = p(&[
            ("Action", "FailoverGlobalCluster"),
            ("GlobalClusterIdentifier", "orders-global"),
            ("TargetDbClusterIdentifier", "orders-usw2"),
        ]);
        assert_eq!(w.rds_query(5.0, &fo).0, 400, "neither AllowDataLoss nor Switchover");
        let sw = p(&[
            ("Action", "SwitchoverGlobalCluster"),
            ("GlobalClusterIdentifier", "orders-global"),
            ("TargetDbClusterIdentifier", "arn:aws:rds:us-west-2:0:cluster:orders-usw2"),
        ]);
        let (code, xml) = w.rds_query(5.0, &sw);
        assert_eq!(code, 200, "{xml}");
        assert!(xml.contains("<Status>switching-over</Status>"), "{xml}");
        let (_, later) = w.rds_query(5.0 + crate::databases::SWITCH_SECS, &p(&[("Action", "DescribeGlobalClusters")]));
        assert!(later.contains("cluster:orders-usw2</DBClusterArn><Readers><member>"), "{later}");
        assert!(later.contains("cluster:orders-use1</DBClusterArn><Readers></Readers><IsWriter>false"), "{later}");
        assert_eq!(w.rds_query(5.0, &p(&[("Action", "Nope")])).0, 400);
    }
}
