//! Route 53 owns traffic: failover UPSERTs the region's weighted record
//! to weight 0, restore puts back the weight it had before (kept in the
//! action record, so a restore works after a restart), and `GetChange` is
//! followed from `PENDING` to `INSYNC`.
//!
//! Route 53 has no idempotency token. Before sending, the record is read:
//! if it already has the wanted weight the action is "already in effect";
//! after a dropped answer or a timeout the executor asks `lookup`, which
//! reads the record again — the change is never resent blindly (the write
//! client has the SDK's retries off).

use std::sync::Arc;

use serde_json::Value;

use super::executor::Intent;
use super::provider::{ActionProvider, Sent};
use super::Action;
use crate::model::ActionStatus;
use crate::sources::route53::Route53;
use crate::viewer::BoxFuture;

/// What an outcome message says so a later restore can find the weight.
const RESTORE_MARK: &str = "restore puts back weight ";

pub struct Route53Actions {
    r53: Arc<Route53>,
}

impl Route53Actions {
    pub fn new(r53: Arc<Route53>) -> Route53Actions {
        Route53Actions { r53 }
    }

    /// The region and whether the action drains it, from an action or its request.
    fn target(request: &Value) -> Option<(String, bool)> {
        let region = request["region"].as_str()?.to_string();
        match request["kind"].as_str()? {
            "failover" => Some((region, true)),
            "restore" => Some((region, false)),
            _ => None,
        }
    }

    async fn send_inner(&self, intent: &Intent) -> Sent {
        let (region, drain) = match &intent.action {
            Action::Failover { region } => (region.clone(), true),
            Action::Restore { region } => (region.clone(), false),
            other => return Sent::Failed(format!("Route 53 owns traffic only, not '{}'", other.summary())),
        };
        // Read first: Route 53 cannot tell us later whether this was sent.
        let records = match self.r53.records().await {
            Ok(r) => r,
            Err(e) => return Sent::Failed(format!("cannot read the record set, nothing sent: {e}")),
        };
        let Some(record) = self.r53.record_of(&records, &region) else {
            return Sent::Failed(format!(
                "no record for {region} in {} (check [route53] set_identifier)",
                self.r53.zone
            ));
        };
        let now = record.weight.unwrap_or(0);
        let want = if drain {
            0
        } else {
            match self.r53.restore_weight(&region) {
                Some(w) => w,
                None if now > 0 => return Sent::Accepted(format!("in-effect:{region}:{now}")),
                None => {
                    return Sent::Refused(format!(
                        "no earlier failover of {region} is recorded, so the weight to restore is unknown: set restore_weight under [[route53.region]]"
                    ))
                }
            }
        };
        if now == want || (!drain && now > 0) {
            return Sent::Accepted(format!("in-effect:{region}:{now}"));
        }
        if drain {
            // Never leave no record serving with a healthy check.
            let mut others = Vec::new();
            for r in &self.r53.regions {
                if r.region == region {
                    continue;
                }
                let Some(rec) = self.r53.record_of(&records, &r.region) else { continue };
                if rec.weight.unwrap_or(0) <= 0 {
                    continue;
                }
                let healthy = match &rec.health_check_id {
                    Some(id) => self.r53.health(id).await.map(|h| h.is_healthy()).unwrap_or(false),
                    None => true,
                };
                if healthy {
                    others.push(r.region.clone());
                }
            }
            if others.is_empty() {
                return Sent::Refused(format!(
                    "draining {region} would leave no record with weight > 0 and a healthy check"
                ));
            }
            self.r53.remember(&region, now);
        }
        let comment = format!("warroom {} by {}: {}", intent.key, intent.operator.name, intent.action.summary());
        match self.r53.set_weight(record, want, &comment).await {
            Ok(id) => Sent::Accepted(format!("{id}:{region}:{now}:{want}")),
            // No answer: the change may have landed. The executor reads
            // the record (`lookup`) before anything else.
            Err(e) if no_answer(&e) => Sent::Unknown(format!("Route 53: {e}")),
            Err(e) => Sent::Failed(format!("Route 53 refused the change: {e}")),
        }
    }
}

/// Whether an SDK error means the request may have landed unanswered
/// (a timeout, a dropped connection, a cut answer).
fn no_answer(e: &str) -> bool {
    let low = e.to_ascii_lowercase();
    ["timed out", "cannot reach", "dispatch", "response", "io error"].iter().any(|m| low.contains(m))
}

impl ActionProvider for Route53Actions {
    fn label(&self) -> String {
        format!("route53 {}", self.r53.zone)
    }

    fn owner(&self) -> &'static str {
        "Route 53"
    }

    fn send<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, Sent> {
        Box::pin(self.send_inner(intent))
    }

    /// Reads the record: the action is in effect if the weight is what it
    /// wanted (0 for a failover, above 0 for a restore).
    fn lookup<'a>(&'a self, _key: &'a str, request: &'a Value) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            let (region, drain) = Self::target(request).ok_or("not a traffic action")?;
            let records = self.r53.records().await.map_err(|e| e.to_string())?;
            let rec = self.r53.record_of(&records, &region).ok_or_else(|| format!("no record for {region}"))?;
            let w = rec.weight.unwrap_or(0);
            Ok(((drain && w == 0) || (!drain && w > 0)).then(|| format!("in-effect:{region}:{w}")))
        })
    }

    fn poll<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<(ActionStatus, String)>> {
        Box::pin(async move {
            let parts: Vec<&str> = id.split(':').collect();
            if let ["in-effect", region, w] = parts.as_slice() {
                return Some((
                    ActionStatus::Succeeded,
                    format!("already in effect: {region} has weight {w} in Route 53"),
                ));
            }
            let [change, region, before, after] = parts.as_slice() else {
                return Some((ActionStatus::Failed, format!("unreadable change id {id}")));
            };
            match self.r53.change_in_sync(change).await {
                Ok(true) => {
                    let mut msg = format!("{region} weight {before} → {after}, change {change} INSYNC");
                    if *after == "0" {
                        msg.push_str(&format!("; {RESTORE_MARK}{before}"));
                    }
                    Some((ActionStatus::Succeeded, msg))
                }
                // PENDING, or GetChange unreachable for a moment: ask again.
                _ => None,
            }
        })
    }

    /// The weights earlier failovers recorded, so a restore after a
    /// restart puts back the right one.
    fn attach_audit(&self, records: &[crate::audit::Record]) {
        let label = self.label();
        for r in records.iter().filter(|r| r.event == "outcome" && r.result == "succeeded" && r.backend == label) {
            let Some((region, true)) = Self::target(&r.action) else { continue };
            let Some(at) = r.message.find(RESTORE_MARK) else { continue };
            let digits: String =
                r.message[at + RESTORE_MARK.len()..].chars().take_while(char::is_ascii_digit).collect();
            if let Ok(w) = digits.parse::<i64>() {
                if w > 0 {
                    self.r53.remember(&region, w);
                }
            }
        }
    }
}
