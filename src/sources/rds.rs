//! RDS and Aurora clusters: `DescribeDBClusters` (members, which one
//! writes, status, restorable times, backup retention) and
//! `DescribeDBInstances` (each member's zone and status). The same client
//! serves the database actions (`actions::rds`: `FailoverDBCluster`),
//! which write with the SDK's retries off: RDS takes no idempotency token,
//! so a retry is decided by reading the cluster, never by resending.

use std::collections::BTreeMap;

use aws_sdk_rds::Client;

use super::{FeedError, Fetch, Payload, Source};
use crate::model::{Database, DbMember, DbRole, DrObjectives, FeedId};

/// An SDK error in words, without its Debug dump.
pub fn sdk_error<E: std::error::Error + 'static>(e: &aws_sdk_rds::error::SdkError<E>) -> String {
    crate::sources::cloudwatch::sdk_error("RDS", e)
}

/// One RDS/Aurora cluster.
pub struct Rds {
    /// Reads: the SDK's standard retries.
    read: Client,
    /// Writes: one attempt each (no blind resend).
    pub(crate) write: Client,
    /// The name on screen and in actions.
    pub name: String,
    /// `DBClusterIdentifier`.
    pub cluster: String,
    /// The AWS region of its API.
    pub aws_region: String,
    /// Instance → console region (default: none, shown as `?`).
    pub regions: BTreeMap<String, String>,
    pub services: Vec<String>,
    pub objectives: DrObjectives,
    /// CloudWatch, for each reader's `AuroraReplicaLag` (None: not read).
    pub lag: Option<aws_sdk_cloudwatch::Client>,
}

fn chrono_of(t: &aws_sdk_rds::primitives::DateTime) -> Option<chrono::DateTime<chrono::Utc>> {
    chrono::DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

impl Rds {
    /// Clients for the cluster's region, credentials from the standard
    /// chain or `profile`, HTTPS on rustls/ring, `endpoint` overriding the
    /// address (an emulator).
    pub async fn new(
        name: &str,
        cluster: &str,
        aws_region: &str,
        endpoint: Option<&str>,
        profile: Option<&str>,
    ) -> Rds {
        let shared = crate::sources::cloudwatch::shared_config(aws_region, profile).await;
        let build = |attempts: u32| {
            let (retry, timeout) = crate::sources::cloudwatch::sdk_limits(attempts);
            let mut conf = aws_sdk_rds::config::Builder::from(&shared).retry_config(retry).timeout_config(timeout);
            if let Some(e) = endpoint {
                conf = conf.endpoint_url(e);
            }
            Client::from_conf(conf.build())
        };
        Rds {
            read: build(3),
            write: build(1),
            name: name.to_string(),
            cluster: cluster.to_string(),
            aws_region: aws_region.to_string(),
            regions: BTreeMap::new(),
            services: Vec::new(),
            objectives: DrObjectives::default(),
            lag: None,
        }
    }

    /// Each reader's `AuroraReplicaLag` (ms, the newest minute of the last
    /// five) as seconds, by instance.
    async fn replica_lag(&self, readers: &[String]) -> Result<BTreeMap<String, f64>, String> {
        use crate::sources::cloudwatch::{get_metric_data, Ask, Target};
        let Some(client) = &self.lag else { return Ok(BTreeMap::new()) };
        if readers.is_empty() {
            return Ok(BTreeMap::new());
        }
        let targets: Vec<Target> = readers
            .iter()
            .map(|id| Target {
                service: id.clone(),
                region: self.aws_region.clone(),
                namespace: "AWS/RDS".into(),
                dimensions: vec![("DBInstanceIdentifier".into(), id.clone())],
                latency_metric: String::new(),
                latency_ms_per_unit: 1.0,
                requests_metric: String::new(),
                errors_metric: String::new(),
                slo_threshold_ms: None,
            })
            .collect();
        let refs: Vec<&Target> = targets.iter().collect();
        let asks: Vec<Ask> = (0..readers.len())
            .map(|i| Ask {
                id: format!("lag{i}"),
                target: i,
                metric: "AuroraReplicaLag".into(),
                stat: "Average".into(),
                period: 60,
            })
            .collect();
        let now = chrono::Utc::now().timestamp();
        let got = get_metric_data(client, &refs, &asks, now - 300, now).await?;
        Ok(readers
            .iter()
            .enumerate()
            .filter_map(|(i, id)| {
                let p = got.get(&format!("lag{i}"))?.points.last()?;
                Some((id.clone(), p.1 / 1000.0))
            })
            .collect())
    }

    /// The cluster now.
    pub async fn database(&self) -> Result<Database, FeedError> {
        let out = self
            .read
            .describe_db_clusters()
            .db_cluster_identifier(&self.cluster)
            .send()
            .await
            .map_err(|e| FeedError::Source(format!("RDS {}: {}", self.cluster, sdk_error(&e))))?;
        let c = out
            .db_clusters()
            .iter()
            .find(|c| c.db_cluster_identifier() == Some(self.cluster.as_str()))
            .ok_or_else(|| FeedError::Source(format!("RDS: no cluster {} in {}", self.cluster, self.aws_region)))?;
        let filter = aws_sdk_rds::types::Filter::builder().name("db-cluster-id").values(&self.cluster).build();
        let instances = self
            .read
            .describe_db_instances()
            .filters(filter)
            .send()
            .await
            .map_err(|e| FeedError::Source(format!("RDS {}: {}", self.cluster, sdk_error(&e))))?;
        let inst: BTreeMap<&str, &aws_sdk_rds::types::DbInstance> =
            instances.db_instances().iter().filter_map(|i| Some((i.db_instance_identifier()?, i))).collect();
        let members = c
            .db_cluster_members()
            .iter()
            .filter_map(|m| {
                let id = m.db_instance_identifier()?;
                let i = inst.get(id);
                let state = i.and_then(|i| i.db_instance_status()).unwrap_or("unknown").to_string();
                Some(DbMember {
                    name: id.to_string(),
                    region: self.regions.get(id).cloned(),
                    zone: i.and_then(|i| i.availability_zone()).map(String::from),
                    role: if m.is_cluster_writer() == Some(true) { DbRole::Writer } else { DbRole::Replica },
                    up: state == "available",
                    state,
                    timeline: None,
                    lag_bytes: None,
                    lag_seconds: None,
                })
            })
            .collect::<Vec<DbMember>>();
        let readers: Vec<String> =
            members.iter().filter(|m| m.role != DbRole::Writer && m.up).map(|m| m.name.clone()).collect();
        let mut members = members;
        let mut status = c.status().map(String::from);
        match self.replica_lag(&readers).await {
            Ok(lags) => {
                for m in members.iter_mut() {
                    m.lag_seconds = lags.get(&m.name).copied();
                }
            }
            // The cluster is still read; its lag is unknown, and it says why.
            Err(e) => {
                let e: String = e.chars().take(120).collect();
                status = Some(format!("{} (replica lag unreadable: {e})", status.unwrap_or_default()));
            }
        }
        Ok(Database {
            name: self.name.clone(),
            engine: c.engine().unwrap_or("rds").to_string(),
            source: format!("rds:{}", self.name),
            members,
            last_failover: None,
            latest_restorable: c.latest_restorable_time().and_then(chrono_of),
            earliest_restorable: c.earliest_restorable_time().and_then(chrono_of),
            backup_retention_days: c.backup_retention_period().and_then(|d| u32::try_from(d).ok()),
            status,
            services: self.services.clone(),
            max_lag_bytes: None,
            objectives: self.objectives,
        })
    }
}

/// The source: one RDS/Aurora cluster, one part of the merged databases feed.
pub struct RdsSource {
    pub cluster: std::sync::Arc<Rds>,
    label: String,
}

impl RdsSource {
    pub fn new(cluster: std::sync::Arc<Rds>) -> RdsSource {
        let label = format!("rds:{}", cluster.name);
        RdsSource { cluster, label }
    }
}

impl Source for RdsSource {
    fn name(&self) -> &str {
        &self.label
    }
    fn feeds(&self) -> &'static [FeedId] {
        &[FeedId::Databases]
    }
    fn fetch(&self, _feed: FeedId) -> Fetch<'_> {
        Box::pin(async move { self.database().await.map(|d| Payload::Databases(vec![d])) })
    }
}

impl std::ops::Deref for RdsSource {
    type Target = Rds;
    fn deref(&self) -> &Rds {
        &self.cluster
    }
}
