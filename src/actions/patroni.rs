//! Patroni owns database writers: a switchover is `POST /switchover
//! {leader, candidate}` (the writer hands over), a failover `POST /failover
//! {candidate}` (the writer is gone). Patroni answers when the new leader
//! holds the lock (it waits up to 20 s itself); the action then follows
//! `GET /cluster` until the new writer is `running` — accepting writes —
//! and says how long that took from the request (the RTO's first part).
//!
//! Patroni has no idempotency key. Before sending, the cluster is read: a
//! candidate that already writes is "already in effect". After a lost
//! answer the executor asks `lookup`, which reads `/cluster` again (waiting
//! out a leaderless moment mid-switch) — the POST is never resent blindly.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{json, Value};

use super::executor::Intent;
use super::provider::{ActionProvider, Sent};
use crate::model::{ActionStatus, Database};
use crate::sources::patroni::{Patroni, Posted};
use crate::viewer::BoxFuture;

/// How long `lookup` waits for a cluster with no writer (mid-switch) to
/// get one before answering.
const LEADERLESS_WAIT: Duration = Duration::from_secs(20);

pub struct PatroniActions {
    clusters: BTreeMap<String, Arc<Patroni>>,
}

/// What a database request asks: cluster, candidate, failover?, break-glass?
fn target(request: &Value) -> Option<(String, String, bool, bool)> {
    let failover = match request["kind"].as_str()? {
        "switchover" => false,
        "dbFailover" => true,
        _ => return None,
    };
    Some((
        request["database"].as_str()?.to_string(),
        request["candidate"].as_str()?.to_string(),
        failover,
        request["breakGlass"].as_bool().unwrap_or(false),
    ))
}

/// ` (region)` of a member, where known.
fn at(db: &Database, member: &str) -> String {
    db.member(member).and_then(|m| m.region.as_deref()).map(|r| format!(" ({r})")).unwrap_or_default()
}

impl PatroniActions {
    pub fn new(clusters: Vec<Arc<Patroni>>) -> PatroniActions {
        PatroniActions { clusters: clusters.into_iter().map(|c| (c.name.clone(), c)).collect() }
    }

    fn cluster(&self, name: &str) -> Result<&Arc<Patroni>, String> {
        self.clusters.get(name).ok_or_else(|| {
            let names: Vec<&str> = self.clusters.keys().map(String::as_str).collect();
            format!("no [[patroni]] cluster named {name} (configured: {})", names.join(", "))
        })
    }

    async fn send_inner(&self, intent: &Intent) -> Sent {
        let Some((name, candidate, failover, break_glass)) = target(&intent.action.request()) else {
            return Sent::Failed(format!("Patroni owns database writers only, not '{}'", intent.action.summary()));
        };
        let cluster = match self.cluster(&name) {
            Ok(c) => c,
            Err(e) => return Sent::Failed(e),
        };
        // Read first: Patroni cannot tell us later whether this was sent.
        let db = match cluster.database().await {
            Ok(db) => db,
            Err(e) => return Sent::Failed(format!("cannot read {name}'s /cluster, nothing sent: {e}")),
        };
        let started = chrono::Utc::now().timestamp_millis();
        if db.writer().is_some_and(|w| w.name == candidate) {
            return Sent::Accepted(format!("in-effect:{name}:{candidate}:{started}"));
        }
        let Some(c) = db.member(&candidate) else {
            return Sent::Refused(format!("{candidate} is not a member of {name}"));
        };
        if let (Some(lag), Some(max), false) = (c.lag_bytes, db.max_lag_bytes, break_glass) {
            if lag > max {
                return Sent::Refused(format!(
                    "{candidate} lags {} behind, over the limit of {}",
                    crate::model::infra::bytes_words(lag),
                    crate::model::infra::bytes_words(max)
                ));
            }
        }
        let (path, body) = match (failover, db.writer()) {
            (false, Some(w)) => ("/switchover", json!({"leader": w.name, "candidate": candidate})),
            (false, None) => return Sent::Refused(format!("{name} has no writer up to hand over: fail over instead")),
            (true, Some(w)) => {
                return Sent::Refused(format!("{name}'s writer {} is up: switch over instead (no data lost)", w.name))
            }
            (true, None) => ("/failover", json!({"candidate": candidate})),
        };
        let kind = if failover { "failover" } else { "switchover" };
        match cluster.post(path, &body).await {
            Posted::Answer(200..=299, _) => Sent::Accepted(format!("{kind}:{name}:{candidate}:{started}")),
            Posted::Answer(401 | 403, text) => Sent::Failed(format!(
                "Patroni refused the credentials (HTTP 401/403: {text}); check username and password_env under [[patroni]]"
            )),
            Posted::Answer(412, text) => Sent::Refused(format!("Patroni: {text}")),
            // "Switchover status unknown": Patroni itself does not know yet.
            Posted::Answer(503, text) if text.contains("unknown") => Sent::Unknown(format!("Patroni: {text}")),
            Posted::Answer(code, text) => Sent::Failed(format!("Patroni HTTP {code}: {text}")),
            Posted::Unreachable(e) => Sent::Failed(format!("no member of {name} answered, nothing sent: {e}")),
            Posted::NoAnswer(e) => Sent::Unknown(format!("no answer from Patroni: {e}")),
        }
    }
}

impl ActionProvider for PatroniActions {
    fn label(&self) -> String {
        "patroni".into()
    }

    fn owner(&self) -> &'static str {
        "Patroni"
    }

    fn send<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, Sent> {
        Box::pin(self.send_inner(intent))
    }

    /// Reads `/cluster`: in effect if the candidate is the writer. A
    /// cluster with no writer is mid-switch: read again until it has one
    /// (or `LEADERLESS_WAIT` passes).
    fn lookup<'a>(&'a self, _key: &'a str, request: &'a Value) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            let (name, candidate, _, _) = target(request).ok_or("not a database action")?;
            let cluster = self.cluster(&name)?;
            let deadline = tokio::time::Instant::now() + LEADERLESS_WAIT;
            loop {
                let db = cluster.database().await.map_err(|e| e.to_string())?;
                match db.writer_member() {
                    Some(w) if w.name == candidate => {
                        let now = chrono::Utc::now().timestamp_millis();
                        return Ok(Some(format!("found:{name}:{candidate}:{now}")));
                    }
                    Some(w) if w.up => return Ok(None),
                    _ if tokio::time::Instant::now() > deadline => return Ok(None),
                    _ => tokio::time::sleep(Duration::from_secs(1)).await,
                }
            }
        })
    }

    fn poll<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<(ActionStatus, String)>> {
        Box::pin(async move {
            let parts: Vec<&str> = id.splitn(4, ':').collect();
            let [kind, name, candidate, started] = parts.as_slice() else {
                return Some((ActionStatus::Failed, format!("unreadable action id {id}")));
            };
            let cluster = match self.cluster(name) {
                Ok(c) => c,
                Err(e) => return Some((ActionStatus::Failed, e)),
            };
            // Unreadable for a moment (the member asked is restarting): ask again.
            let db = cluster.database().await.ok()?;
            let started: i64 = started.parse().unwrap_or(0);
            let secs = (chrono::Utc::now().timestamp_millis() - started).max(0) as f64 / 1000.0;
            let w = db.writer_member()?;
            if w.name != *candidate {
                if w.up && secs > 30.0 {
                    return Some((
                        ActionStatus::Failed,
                        format!("{} is the writer of {name}, not {candidate}, {secs:.0} s after the request", w.name),
                    ));
                }
                return None;
            }
            if !w.up {
                return None;
            }
            let tl = w.timeline.map(|t| format!(", timeline {t}")).unwrap_or_default();
            let whr = at(&db, candidate);
            Some((
                ActionStatus::Succeeded,
                if *kind == "in-effect" {
                    format!("already in effect: {candidate}{whr} is the writer of {name}{tl}; nothing sent")
                } else if *kind == "found" {
                    format!("{candidate}{whr} is the writer of {name}{tl} (read from /cluster; the request is not sent again)")
                } else {
                    format!("{candidate}{whr} is the writer of {name}{tl}; accepting writes {secs:.1} s after the {kind} request (RTO to writer)")
                },
            ))
        })
    }
}
