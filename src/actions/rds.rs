//! RDS/Aurora owns its clusters' writers: a switchover or failover is
//! `FailoverDBCluster` with the target instance (Aurora promotes it; the
//! old writer becomes a reader). RDS takes no idempotency token: the
//! cluster is read before sending (target already writing → "already in
//! effect"), the write client has the SDK's retries off, and after a lost
//! answer `lookup` reads the cluster again — never a blind resend. The
//! action follows `DescribeDBClusters` until the target is the writer and
//! the cluster `available`, and says how long that took.
//!
//! An Aurora global database: a switchover is `SwitchoverGlobalCluster`
//! (planned: the primary waits for the target), a failover
//! `FailoverGlobalCluster` with `AllowDataLoss` — only ever as break-glass,
//! the preview having said what the target has not received. Both name the
//! target by its ARN and are sent to the target's region (the one that is
//! up when the primary's is not); done when the target is the writer and
//! the global cluster `available` with no failover in progress.

use std::sync::Arc;

use serde_json::Value;

use super::executor::Intent;
use super::provider::{ActionProvider, Sent};
use crate::model::ActionStatus;
use crate::sources::rds::{sdk_error, Rds};
use crate::viewer::BoxFuture;

pub struct RdsActions {
    cluster: Arc<Rds>,
}

/// (cluster, candidate) of a database request.
fn target(request: &Value) -> Option<(String, String)> {
    matches!(request["kind"].as_str()?, "switchover" | "dbFailover")
        .then(|| Some((request["database"].as_str()?.to_string(), request["candidate"].as_str()?.to_string())))?
}

/// What RDS answered a write, as the executor needs it.
fn sent_of<E: std::error::Error + 'static>(
    r: Result<(), aws_sdk_rds::error::SdkError<E>>,
    id: String,
    what: &str,
) -> Sent {
    match r {
        Ok(()) => Sent::Accepted(id),
        Err(e) => {
            let text = sdk_error(&e);
            let low = text.to_ascii_lowercase();
            if matches!(e, aws_sdk_rds::error::SdkError::ServiceError(_)) {
                if low.contains("state") {
                    Sent::Refused(format!("RDS: {text}"))
                } else {
                    Sent::Failed(format!("RDS refused the {what}: {text}"))
                }
            } else if matches!(e, aws_sdk_rds::error::SdkError::ConstructionFailure(_)) {
                Sent::Failed(format!("not sent: {text}"))
            } else {
                // No answer: it may have landed; the executor reads first.
                Sent::Unknown(format!("RDS: {text}"))
            }
        }
    }
}

impl RdsActions {
    pub fn new(cluster: Arc<Rds>) -> RdsActions {
        RdsActions { cluster }
    }

    async fn send_inner(&self, intent: &Intent) -> Sent {
        if let Some(gid) = &self.cluster.global {
            return self.send_global(intent, gid).await;
        }
        let Some((_, candidate)) = target(&intent.action.request()) else {
            return Sent::Failed(format!("RDS owns database writers only, not '{}'", intent.action.summary()));
        };
        let db = match self.cluster.database().await {
            Ok(db) => db,
            Err(e) => return Sent::Failed(format!("cannot read the cluster, nothing sent: {e}")),
        };
        let started = chrono::Utc::now().timestamp_millis();
        if db.writer().is_some_and(|w| w.name == candidate) {
            return Sent::Accepted(format!("in-effect:{candidate}:{started}"));
        }
        if db.member(&candidate).is_none() {
            return Sent::Refused(format!("{candidate} is not an instance of {}", self.cluster.cluster));
        }
        let r = self
            .cluster
            .write
            .failover_db_cluster()
            .db_cluster_identifier(&self.cluster.cluster)
            .target_db_instance_identifier(&candidate)
            .send()
            .await
            .map(|_| ());
        sent_of(r, format!("failover:{candidate}:{started}"), "failover")
    }

    /// A global database's switchover or (break-glass) failover.
    async fn send_global(&self, intent: &Intent, gid: &str) -> Sent {
        let request = intent.action.request();
        let Some((_, candidate)) = target(&request) else {
            return Sent::Failed(format!("RDS owns database writers only, not '{}'", intent.action.summary()));
        };
        let db = match self.cluster.database().await {
            Ok(db) => db,
            Err(e) => return Sent::Failed(format!("cannot read the global cluster, nothing sent: {e}")),
        };
        let started = chrono::Utc::now().timestamp_millis();
        if db.writer().is_some_and(|w| w.name == candidate) {
            return Sent::Accepted(format!("in-effect:{candidate}:{started}"));
        }
        let (Some(m), Some(arn)) = (db.member(&candidate), self.cluster.arn_of(&candidate)) else {
            return Sent::Refused(format!("{candidate} is not a member cluster of {gid}"));
        };
        let region = m.zone.clone().unwrap_or_else(|| self.cluster.aws_region.clone());
        let client = self.cluster.write_client(&region).await;
        if request["kind"] == "switchover" {
            let r = client
                .switchover_global_cluster()
                .global_cluster_identifier(gid)
                .target_db_cluster_identifier(&arn)
                .send()
                .await
                .map(|_| ());
            return sent_of(r, format!("global-switchover:{candidate}:{started}"), "switchover");
        }
        if request["breakGlass"] != true {
            return Sent::Refused(format!(
                "a global failover may lose what {candidate} has not received: it is sent only as break-glass"
            ));
        }
        let r = client
            .failover_global_cluster()
            .global_cluster_identifier(gid)
            .target_db_cluster_identifier(&arn)
            .allow_data_loss(true)
            .send()
            .await
            .map(|_| ());
        sent_of(r, format!("global-failover:{candidate}:{started}"), "failover")
    }
}

impl ActionProvider for RdsActions {
    fn label(&self) -> String {
        let id = self.cluster.global.as_deref().unwrap_or(&self.cluster.cluster);
        format!("rds {} {id}", self.cluster.aws_region)
    }

    fn owner(&self) -> &'static str {
        "RDS"
    }

    fn send<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, Sent> {
        Box::pin(self.send_inner(intent))
    }

    /// Reads the cluster: in effect if the candidate is the writer.
    fn lookup<'a>(&'a self, _key: &'a str, request: &'a Value) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            let (_, candidate) = target(request).ok_or("not a database action")?;
            let db = self.cluster.database().await.map_err(|e| e.to_string())?;
            let now = chrono::Utc::now().timestamp_millis();
            // A global cluster mid-switch says where to (`switching-over a → b`):
            // the request landed; follow it, never send it again.
            let heading = db.global
                && db.status.as_deref().is_some_and(|s| {
                    (s.starts_with("switching-over") || s.starts_with("failing-over"))
                        && s.split(" → ").nth(1).is_some_and(|to| to.split(',').next() == Some(candidate.as_str()))
                });
            let found = heading || db.writer_member().is_some_and(|w| w.name == candidate);
            Ok(found.then(|| format!("found:{candidate}:{now}")))
        })
    }

    fn poll<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<(ActionStatus, String)>> {
        Box::pin(async move {
            let parts: Vec<&str> = id.splitn(3, ':').collect();
            let [kind, candidate, started] = parts.as_slice() else {
                return Some((ActionStatus::Failed, format!("unreadable action id {id}")));
            };
            let db = self.cluster.database().await.ok()?;
            let w = db.writer_member()?;
            // A global cluster says `available` with no failover in progress.
            let available = db.status.as_deref() == Some("available");
            if w.name != *candidate || !w.up || !available {
                return None;
            }
            let secs =
                (chrono::Utc::now().timestamp_millis() - started.parse::<i64>().unwrap_or(0)).max(0) as f64 / 1000.0;
            let name = &self.cluster.name;
            Some((
                ActionStatus::Succeeded,
                match *kind {
                    "in-effect" => format!("already in effect: {candidate} is the writer of {name}; nothing sent"),
                    "found" => format!("{candidate} is the writer of {name} (read back; the request is not sent again)"),
                    "global-switchover" | "global-failover" => format!(
                        "{candidate}{} is the primary of {name}, global cluster available {secs:.1} s after the {} request (RTO to writer)",
                        w.region.as_deref().map(|r| format!(" ({r})")).unwrap_or_default(),
                        kind.trim_start_matches("global-")
                    ),
                    _ => format!("{candidate} is the writer of {name}, cluster available {secs:.1} s after the failover request (RTO to writer)"),
                },
            ))
        })
    }
}
