//! Route 53 as the traffic provider: each region's weighted record
//! (`ListResourceRecordSets`) and its health check (`GetHealthCheckStatus`:
//! the share of checkers reporting healthy). The same client is used by
//! the traffic actions (`actions::route53`), which write with the SDK's
//! retries off: Route 53 has no idempotency token, so a retry is decided
//! by reading the record, never by resending.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use aws_sdk_route53::types::{ResourceRecordSet, RrType};
use aws_sdk_route53::Client;

use super::{FeedError, Fetch, Payload, Source};
use crate::model::{CheckHealth, FeedId, RegionWeight};

/// Records read per page (Route 53's maximum is 300).
const PAGE: i32 = 100;

/// One region's record, as configured.
#[derive(Debug, Clone)]
pub struct RegionRecord {
    /// The region's name in the console.
    pub region: String,
    /// The record's `SetIdentifier`.
    pub set_identifier: String,
    /// What a restore puts back when no earlier failover is recorded.
    pub restore_weight: Option<i64>,
}

/// A hosted zone's weighted record set, one record per region.
pub struct Route53 {
    /// Reads: the SDK's standard retries.
    read: Client,
    /// Writes: one attempt each (no blind resend).
    write: Client,
    pub zone: String,
    /// The record's name, lower case with the trailing dot (as Route 53 returns it).
    pub record_name: String,
    pub record_type: String,
    pub regions: Vec<RegionRecord>,
    /// Region → the weight it had before the last failover (from the
    /// audit trail and this process's own failovers).
    remembered: Mutex<BTreeMap<String, i64>>,
}

/// A record's name the way Route 53 lists it.
pub fn normalise_name(name: &str) -> String {
    let n = name.trim().to_ascii_lowercase();
    if n.ends_with('.') {
        n
    } else {
        format!("{n}.")
    }
}

/// An SDK error in words, without its Debug dump.
pub fn sdk_error<E: std::error::Error + 'static>(e: &aws_sdk_route53::error::SdkError<E>) -> String {
    crate::sources::cloudwatch::sdk_error("Route 53", e)
}

impl Route53 {
    /// Clients for Route 53 (a global service, signed for us-east-1),
    /// credentials from the standard chain or `profile`, HTTPS on
    /// rustls/ring, `endpoint` overriding the address (an emulator).
    pub async fn new(
        zone: &str,
        record_name: &str,
        record_type: &str,
        regions: Vec<RegionRecord>,
        endpoint: Option<&str>,
        profile: Option<&str>,
    ) -> Route53 {
        let shared = crate::sources::cloudwatch::shared_config("us-east-1", profile).await;
        let build = |attempts: u32| {
            let (retry, timeout) = crate::sources::cloudwatch::sdk_limits(attempts);
            let mut conf = aws_sdk_route53::config::Builder::from(&shared).retry_config(retry).timeout_config(timeout);
            if let Some(e) = endpoint {
                conf = conf.endpoint_url(e);
            }
            Client::from_conf(conf.build())
        };
        Route53 {
            read: build(3),
            write: build(1),
            zone: zone.trim_start_matches("/hostedzone/").to_string(),
            record_name: normalise_name(record_name),
            record_type: record_type.to_ascii_uppercase(),
            regions,
            remembered: Mutex::new(BTreeMap::new()),
        }
    }

    /// The records of our name and type (every set identifier).
    pub async fn records(&self) -> Result<Vec<ResourceRecordSet>, FeedError> {
        let mut out = Vec::new();
        let mut start: Option<(String, RrType, Option<String>)> =
            Some((self.record_name.clone(), RrType::from(self.record_type.as_str()), None));
        while let Some((name, ty, id)) = start.take() {
            let mut req = self
                .read
                .list_resource_record_sets()
                .hosted_zone_id(&self.zone)
                .start_record_name(name)
                .start_record_type(ty)
                .max_items(PAGE);
            if let Some(id) = id {
                req = req.start_record_identifier(id);
            }
            let page = req.send().await.map_err(|e| FeedError::Source(format!("Route 53: {}", sdk_error(&e))))?;
            let mut past = false;
            for r in page.resource_record_sets() {
                if normalise_name(r.name()) != self.record_name || r.r#type().as_str() != self.record_type {
                    past = true;
                    break;
                }
                out.push(r.clone());
            }
            if !past && page.is_truncated() {
                if let (Some(n), Some(t)) = (page.next_record_name(), page.next_record_type()) {
                    start = Some((n.to_string(), t.clone(), page.next_record_identifier().map(String::from)));
                }
            }
        }
        Ok(out)
    }

    /// The record of `region`, from `records`.
    pub fn record_of<'a>(&self, records: &'a [ResourceRecordSet], region: &str) -> Option<&'a ResourceRecordSet> {
        let id = &self.regions.iter().find(|r| r.region == region)?.set_identifier;
        records.iter().find(|r| r.set_identifier.as_deref() == Some(id.as_str()))
    }

    /// A health check's latest observations.
    pub async fn health(&self, id: &str) -> Result<CheckHealth, String> {
        let out = self.read.get_health_check_status().health_check_id(id).send().await.map_err(|e| sdk_error(&e))?;
        let obs = out.health_check_observations();
        let healthy = obs
            .iter()
            .filter(|o| o.status_report().and_then(|s| s.status()).is_some_and(|s| s.starts_with("Success")))
            .count();
        Ok(CheckHealth { id: id.to_string(), healthy: healthy as u32, total: obs.len() as u32 })
    }

    /// Each configured region's weight and health; regions without a
    /// record are named in the error beside the rest.
    pub async fn read(&self) -> Result<Payload, FeedError> {
        let records = self.records().await?;
        let mut out = Vec::new();
        let mut problems = Vec::new();
        let checks: Vec<Option<String>> = self
            .regions
            .iter()
            .map(|r| self.record_of(&records, &r.region).and_then(|x| x.health_check_id.clone()))
            .collect();
        let health = futures_util::future::join_all(checks.iter().map(|c| async move {
            match c {
                Some(id) => Some(self.health(id).await),
                None => None,
            }
        }))
        .await;
        for (r, h) in self.regions.iter().zip(health) {
            let Some(rec) = self.record_of(&records, &r.region) else {
                problems.push(format!(
                    "{}: no {} record {} with SetIdentifier {}",
                    r.region, self.record_type, self.record_name, r.set_identifier
                ));
                continue;
            };
            let weight = rec.weight.unwrap_or(0);
            let health = match h {
                Some(Ok(h)) => Some(h),
                Some(Err(e)) => {
                    problems.push(format!("{}: health check: {e}", r.region));
                    None
                }
                None => None,
            };
            out.push(RegionWeight {
                region: r.region.clone(),
                set_identifier: r.set_identifier.clone(),
                weight,
                restore_weight: if weight > 0 { Some(weight) } else { self.restore_weight(&r.region) },
                health,
            });
        }
        let p = Payload::Weights(out);
        Ok(if problems.is_empty() { p } else { Payload::Partial { inner: Box::new(p), error: problems.join("; ") } })
    }

    /// The weight a restore of `region` puts back: the one it had before
    /// the last failover, else the configured one.
    pub fn restore_weight(&self, region: &str) -> Option<i64> {
        let remembered = self.remembered.lock().unwrap_or_else(|e| e.into_inner()).get(region).copied();
        remembered.or_else(|| self.regions.iter().find(|r| r.region == region).and_then(|r| r.restore_weight))
    }

    /// Remember the weight `region` had before a failover.
    pub fn remember(&self, region: &str, weight: i64) {
        self.remembered.lock().unwrap_or_else(|e| e.into_inner()).insert(region.to_string(), weight);
    }

    /// UPSERT `region`'s record with `weight` (everything else as read).
    /// Returns the change id.
    pub async fn set_weight(&self, record: &ResourceRecordSet, weight: i64, comment: &str) -> Result<String, String> {
        use aws_sdk_route53::types::{Change, ChangeAction, ChangeBatch};
        let mut rec = record.clone();
        rec.weight = Some(weight);
        let change = Change::builder()
            .action(ChangeAction::Upsert)
            .resource_record_set(rec)
            .build()
            .map_err(|e| e.to_string())?;
        let batch = ChangeBatch::builder().changes(change).comment(comment).build().map_err(|e| e.to_string())?;
        let out = self
            .write
            .change_resource_record_sets()
            .hosted_zone_id(&self.zone)
            .change_batch(batch)
            .send()
            .await
            .map_err(|e| sdk_error(&e))?;
        out.change_info().map(|c| c.id().to_string()).ok_or_else(|| "Route 53 answered without a change id".into())
    }

    /// A change's status: `true` once `INSYNC`.
    pub async fn change_in_sync(&self, id: &str) -> Result<bool, String> {
        let out = self.read.get_change().id(id).send().await.map_err(|e| sdk_error(&e))?;
        Ok(out.change_info().is_some_and(|c| c.status().as_str() == "INSYNC"))
    }
}

/// The source: one feed, the regions' weights and health.
pub struct Route53Source(pub Arc<Route53>);

impl Source for Route53Source {
    fn name(&self) -> &str {
        "route53"
    }
    fn feeds(&self) -> &'static [FeedId] {
        &[FeedId::Traffic]
    }
    fn fetch(&self, _feed: FeedId) -> Fetch<'_> {
        Box::pin(self.0.read())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_compare_as_route53_lists_them() {
        assert_eq!(normalise_name("API.example.com"), "api.example.com.");
        assert_eq!(normalise_name("api.example.com."), "api.example.com.");
    }
}
