//! RDS and Aurora clusters: `DescribeDBClusters` (members, which one
//! writes, status, restorable times, backup retention) and
//! `DescribeDBInstances` (each member's zone and status). An Aurora
//! global database (`global_cluster`) is read with `DescribeGlobalClusters`
//! (its member clusters, which region writes, a switchover or failover in
//! progress), each member cluster's own status with `DescribeDBClusters`
//! in its region, and each secondary's lag from CloudWatch in its region.
//! The same client serves the database actions (`actions::rds`:
//! `FailoverDBCluster`, `SwitchoverGlobalCluster`, `FailoverGlobalCluster`),
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
    /// An Aurora global database: its `GlobalClusterIdentifier` (then
    /// `cluster` is empty and the members are regional clusters).
    pub global: Option<String>,
    /// How to reach a member cluster's own region (a global database).
    pub(crate) reach: Reach,
    /// Per AWS region: its RDS reader and, when lag is read, its CloudWatch.
    regional: tokio::sync::Mutex<BTreeMap<String, Regional>>,
    /// A global database's member clusters by identifier → ARN (the global
    /// calls name their target by ARN), as last read.
    arns: std::sync::Mutex<BTreeMap<String, String>>,
}

/// What building another region's clients takes.
#[derive(Debug, Clone, Default)]
pub struct Reach {
    pub endpoint: Option<String>,
    pub profile: Option<String>,
    /// CloudWatch endpoint override; `lag` false: no lag is read.
    pub cloudwatch_endpoint: Option<String>,
    pub lag: bool,
}

#[derive(Clone)]
struct Regional {
    read: Client,
    write: Client,
    lag: Option<aws_sdk_cloudwatch::Client>,
}

/// `arn:aws:rds:REGION:ACCOUNT:cluster:ID` → (REGION, ID).
pub fn cluster_arn(arn: &str) -> Option<(&str, &str)> {
    let parts: Vec<&str> = arn.split(':').collect();
    match parts.as_slice() {
        ["arn", _, "rds", region, _, "cluster", id] if !region.is_empty() && !id.is_empty() => Some((region, id)),
        _ => None,
    }
}

async fn rds_clients(aws_region: &str, endpoint: Option<&str>, profile: Option<&str>) -> (Client, Client) {
    let shared = crate::sources::cloudwatch::shared_config(aws_region, profile).await;
    let build = |attempts: u32| {
        let (retry, timeout) = crate::sources::cloudwatch::sdk_limits(attempts);
        let mut conf = aws_sdk_rds::config::Builder::from(&shared).retry_config(retry).timeout_config(timeout);
        if let Some(e) = endpoint {
            conf = conf.endpoint_url(e);
        }
        Client::from_conf(conf.build())
    };
    (build(3), build(1))
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
        let (read, write) = rds_clients(aws_region, endpoint, profile).await;
        Rds {
            read,
            write,
            name: name.to_string(),
            cluster: cluster.to_string(),
            aws_region: aws_region.to_string(),
            regions: BTreeMap::new(),
            services: Vec::new(),
            objectives: DrObjectives::default(),
            lag: None,
            global: None,
            reach: Reach {
                endpoint: endpoint.map(String::from),
                profile: profile.map(String::from),
                ..Reach::default()
            },
            regional: tokio::sync::Mutex::new(BTreeMap::new()),
            arns: std::sync::Mutex::new(BTreeMap::new()),
        }
    }

    /// The clients for `aws_region` (built once, then kept).
    async fn regional(&self, aws_region: &str) -> Regional {
        let mut map = self.regional.lock().await;
        if let Some(r) = map.get(aws_region) {
            return r.clone();
        }
        let reach = &self.reach;
        let (read, write) = rds_clients(aws_region, reach.endpoint.as_deref(), reach.profile.as_deref()).await;
        let lag = match reach.lag {
            true => Some(
                crate::sources::cloudwatch::make_client(
                    aws_region,
                    reach.cloudwatch_endpoint.as_deref(),
                    reach.profile.as_deref(),
                )
                .await,
            ),
            false => None,
        };
        let r = Regional { read, write, lag };
        map.insert(aws_region.to_string(), r.clone());
        r
    }

    /// A global database's member cluster's ARN, as last read.
    pub(crate) fn arn_of(&self, cluster: &str) -> Option<String> {
        self.arns.lock().unwrap_or_else(|e| e.into_inner()).get(cluster).cloned()
    }

    /// The write client for a member cluster's region (a global database's
    /// actions are sent where the API call is made: the cluster's own
    /// `aws_region`, as AWS's global calls take any region).
    pub(crate) async fn write_client(&self, aws_region: &str) -> Client {
        if aws_region == self.aws_region {
            return self.write.clone();
        }
        self.regional(aws_region).await.write
    }

    /// Each reader's `AuroraReplicaLag` (ms, the newest minute of the last
    /// five) as seconds, by instance.
    async fn replica_lag(&self, readers: &[String]) -> Result<BTreeMap<String, f64>, String> {
        let Some(client) = &self.lag else { return Ok(BTreeMap::new()) };
        lag_seconds(client, &self.aws_region, "DBInstanceIdentifier", readers, &["AuroraReplicaLag"]).await
    }

    /// The cluster now.
    pub async fn database(&self) -> Result<Database, FeedError> {
        if let Some(g) = &self.global {
            return self.global_database(g).await;
        }
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
            global: false,
        })
    }
}

impl Rds {
    /// An Aurora global database now: one member per regional cluster,
    /// the writer the primary; each member's state from its own region
    /// (`unreachable` when that region's API does not answer: the state a
    /// regional outage leaves); each secondary's lag as
    /// `AuroraGlobalDBRPOLag` (what a failover would lose), else
    /// `AuroraGlobalDBReplicationLag`.
    async fn global_database(&self, gid: &str) -> Result<Database, FeedError> {
        let fail = |e: String| FeedError::Source(format!("RDS global cluster {gid}: {e}"));
        let out = self
            .read
            .describe_global_clusters()
            .global_cluster_identifier(gid)
            .send()
            .await
            .map_err(|e| fail(sdk_error(&e)))?;
        let g = out
            .global_clusters()
            .iter()
            .find(|g| g.global_cluster_identifier() == Some(gid))
            .ok_or_else(|| fail(format!("not found from {}", self.aws_region)))?;
        let parsed: Vec<(String, String, bool, Option<String>)> = g
            .global_cluster_members()
            .iter()
            .filter_map(|m| {
                let (region, id) = cluster_arn(m.db_cluster_arn()?)?;
                let sync = m.synchronization_status().map(|s| s.as_str().to_string());
                Some((region.to_string(), id.to_string(), m.is_writer() == Some(true), sync))
            })
            .collect();
        if parsed.is_empty() {
            return Err(fail("it lists no member clusters".into()));
        }
        {
            let mut arns = self.arns.lock().unwrap_or_else(|e| e.into_inner());
            for m in g.global_cluster_members() {
                if let Some((_, id)) = m.db_cluster_arn().and_then(cluster_arn) {
                    arns.insert(id.to_string(), m.db_cluster_arn().unwrap_or_default().to_string());
                }
            }
        }
        // Each member's own status, from its own region, all at once.
        let states = futures_util::future::join_all(parsed.iter().map(|(region, id, _, _)| async move {
            let r = self.regional(region).await;
            match r.read.describe_db_clusters().db_cluster_identifier(id).send().await {
                Ok(o) => o
                    .db_clusters()
                    .iter()
                    .find(|c| c.db_cluster_identifier() == Some(id.as_str()))
                    .and_then(|c| c.status().map(String::from))
                    .unwrap_or_else(|| "not found".into()),
                Err(e) => format!("unreachable: {}", sdk_error(&e).chars().take(80).collect::<String>()),
            }
        }))
        .await;
        // Each secondary's lag, from CloudWatch in its region.
        let lags =
            futures_util::future::join_all(parsed.iter().filter(|m| !m.2).map(|(region, id, _, _)| async move {
                let r = self.regional(region).await;
                let Some(cw) = r.lag else { return (id.clone(), Ok(None)) };
                let metrics = ["AuroraGlobalDBRPOLag", "AuroraGlobalDBReplicationLag"];
                let got = lag_seconds(&cw, region, "DBClusterIdentifier", std::slice::from_ref(id), &metrics).await;
                (id.clone(), got.map(|m| m.get(id).copied()))
            }))
            .await;
        let mut lag_error = None;
        let lag: BTreeMap<String, f64> = lags
            .into_iter()
            .filter_map(|(id, r)| match r {
                Ok(v) => v.map(|v| (id, v)),
                Err(e) => {
                    lag_error.get_or_insert(e);
                    None
                }
            })
            .collect();
        let members = parsed
            .iter()
            .zip(states)
            .map(|((region, id, writer, sync), state)| {
                let up = state == "available";
                let state = match (writer, sync) {
                    // `connected` is the normal case: only the others are news.
                    (false, Some(s)) if up && s != "connected" => format!("{state}, {s}"),
                    _ => state,
                };
                DbMember {
                    name: id.clone(),
                    region: Some(self.regions.get(id).or(self.regions.get(region)).cloned().unwrap_or(region.clone())),
                    zone: Some(region.clone()),
                    role: if *writer { DbRole::Writer } else { DbRole::Replica },
                    up,
                    state,
                    timeline: None,
                    lag_bytes: None,
                    lag_seconds: lag.get(id).copied(),
                }
            })
            .collect();
        let name_of = |arn: Option<&str>| arn.and_then(cluster_arn).map(|(_, id)| id.to_string()).unwrap_or("?".into());
        let mut status = g.status().map(String::from);
        if let Some(f) = g.failover_state() {
            if let Some(st) = f.status() {
                let loss = if f.is_data_loss_allowed() == Some(true) { ", data loss allowed" } else { "" };
                status = Some(format!(
                    "{} {} → {}{loss}",
                    st.as_str(),
                    name_of(f.from_db_cluster_arn()),
                    name_of(f.to_db_cluster_arn())
                ));
            }
        }
        if let Some(e) = lag_error {
            let e: String = e.chars().take(120).collect();
            status = Some(format!("{} (lag unreadable: {e})", status.unwrap_or_default()));
        }
        Ok(Database {
            name: self.name.clone(),
            engine: format!("{} (global)", g.engine().unwrap_or("aurora")),
            source: format!("rds:{}", self.name),
            members,
            last_failover: None,
            latest_restorable: None,
            earliest_restorable: None,
            backup_retention_days: None,
            status,
            services: self.services.clone(),
            max_lag_bytes: None,
            objectives: self.objectives,
            global: true,
        })
    }
}

/// The newest minute (of the last five) of the first of `metrics` that
/// has a point, per id (dimension `dimension`), as seconds (Aurora
/// reports these lags in milliseconds).
async fn lag_seconds(
    client: &aws_sdk_cloudwatch::Client,
    aws_region: &str,
    dimension: &str,
    ids: &[String],
    metrics: &[&str],
) -> Result<BTreeMap<String, f64>, String> {
    use crate::sources::cloudwatch::{get_metric_data, Ask, Target};
    if ids.is_empty() {
        return Ok(BTreeMap::new());
    }
    let readers = ids;
    let targets: Vec<Target> = readers
        .iter()
        .map(|id| Target {
            service: id.clone(),
            region: aws_region.to_string(),
            namespace: "AWS/RDS".into(),
            dimensions: vec![(dimension.to_string(), id.clone())],
            latency_metric: String::new(),
            latency_ms_per_unit: 1.0,
            requests_metric: String::new(),
            errors_metric: String::new(),
            slo_threshold_ms: None,
        })
        .collect();
    let refs: Vec<&Target> = targets.iter().collect();
    let asks: Vec<Ask> = metrics
        .iter()
        .enumerate()
        .flat_map(|(k, metric)| {
            (0..readers.len()).map(move |i| Ask {
                id: format!("lag{k}x{i}"),
                target: i,
                metric: metric.to_string(),
                stat: "Average".into(),
                period: 60,
            })
        })
        .collect();
    let now = chrono::Utc::now().timestamp();
    let got = get_metric_data(client, &refs, &asks, now - 300, now).await?;
    Ok(readers
        .iter()
        .enumerate()
        .filter_map(|(i, id)| {
            let p = (0..metrics.len()).find_map(|k| got.get(&format!("lag{k}x{i}"))?.points.last())?;
            Some((id.clone(), p.1 / 1000.0))
        })
        .collect())
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
