//! Patroni clusters through their REST API: `GET /cluster` (members,
//! roles, states, timelines, lag in bytes) and `GET /history` (timeline
//! switches: the last failover or switchover). Any member answers for the
//! cluster; the configured addresses are tried in turn.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::Deserialize;
use serde_json::Value;

use super::{get_limited_auth, FeedError, Fetch, Payload, Source};
use crate::model::{Database, DbMember, DbRole, FeedId};

/// Largest answer read from a member (a cluster of hundreds is ~100 KiB).
const MAX_BODY: usize = 4 * 1024 * 1024;

/// One Patroni cluster.
pub struct Patroni {
    pub name: String,
    /// Member REST API base URLs (`http://10.0.0.1:8008`).
    pub urls: Vec<String>,
    client: reqwest::Client,
    /// Member name → region.
    pub regions: BTreeMap<String, String>,
    pub services: Vec<String>,
    pub max_lag_bytes: Option<u64>,
    /// Recovery objectives (`[dr]`).
    pub objectives: crate::model::DrObjectives,
    /// Basic auth for the unsafe endpoints (`restapi.authentication`).
    pub auth: Option<(String, String)>,
    /// Client for POSTs: no redirects, a timeout past Patroni's own wait.
    post_client: reqwest::Client,
}

/// How long Patroni itself waits for a switchover it accepted before it
/// answers (`poll_failover_result`: twice max(10 s, loop_wait)), plus room.
pub const POST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(45);

/// How one POST ended.
#[derive(Debug)]
pub enum Posted {
    /// Patroni answered: status and its text.
    Answer(u16, String),
    /// No member could be reached: nothing was sent.
    Unreachable(String),
    /// Sent, but no answer came (a timeout, a cut connection): it may
    /// have happened.
    NoAnswer(String),
}

#[derive(Deserialize)]
struct ClusterWire {
    #[serde(default)]
    members: Vec<MemberWire>,
}

#[derive(Deserialize)]
struct MemberWire {
    name: String,
    #[serde(default)]
    role: String,
    #[serde(default)]
    state: String,
    #[serde(default)]
    timeline: Option<u64>,
    /// Bytes, or the string "unknown".
    #[serde(default)]
    lag: Option<Value>,
}

impl Patroni {
    pub fn new(name: &str, urls: Vec<String>, client: reqwest::Client) -> Patroni {
        Patroni {
            name: name.to_string(),
            urls: urls.into_iter().map(|u| u.trim_end_matches('/').to_string()).collect(),
            client,
            regions: BTreeMap::new(),
            services: Vec::new(),
            max_lag_bytes: None,
            objectives: Default::default(),
            auth: None,
            post_client: reqwest::Client::builder()
                .connect_timeout(std::time::Duration::from_secs(3))
                .timeout(POST_TIMEOUT)
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("warroom/", env!("CARGO_PKG_VERSION")))
                .build()
                .unwrap_or_default(),
        }
    }

    /// The cluster now, as one `Database`.
    pub async fn database(&self) -> Result<Database, FeedError> {
        match self.read().await? {
            Payload::Databases(mut v) if !v.is_empty() => Ok(v.remove(0)),
            _ => Err(FeedError::Decode("Patroni /cluster: no cluster".into())),
        }
    }

    /// POST `body` to `path` on the first member that can be reached. A
    /// member that refuses the connection got nothing, so the next is
    /// tried; once one was reached, its answer (or its silence) stands.
    pub async fn post(&self, path: &str, body: &Value) -> Posted {
        let mut last = "no member URL configured".to_string();
        for base in &self.urls {
            let mut req = self.post_client.post(format!("{base}{path}")).json(body);
            if let Some((user, pass)) = &self.auth {
                req = req.basic_auth(user, Some(pass));
            }
            match req.send().await {
                Ok(r) => {
                    let code = r.status().as_u16();
                    let text = r.text().await.unwrap_or_default();
                    let text: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
                    return Posted::Answer(code, text.trim().to_string());
                }
                Err(e) if e.is_connect() => last = format!("{base}: {}", super::redact(&e.to_string())),
                Err(e) => return Posted::NoAnswer(format!("{base}: {}", super::redact(&e.to_string()))),
            }
        }
        Posted::Unreachable(last)
    }

    /// GET `path` from the first member that answers.
    async fn get(&self, path: &str) -> Result<Vec<u8>, FeedError> {
        let mut last = FeedError::Source("no member URL configured".into());
        for base in &self.urls {
            match get_limited_auth(&self.client, &format!("{base}{path}"), MAX_BODY, None).await {
                Ok((_, body)) => return Ok(body),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// The cluster as the console sees it.
    pub async fn read(&self) -> Result<Payload, FeedError> {
        let body = self.get("/cluster").await?;
        let history = self.history().await;
        decode(self, &body, history.as_deref())
    }

    /// `/history` from the member that knows most of it: a member whose
    /// PostgreSQL is down (or still rejoining) answers with fewer rows.
    async fn history(&self) -> Option<Vec<u8>> {
        let answers = futures_util::future::join_all(
            self.urls
                .iter()
                .map(|b| async move { get_limited_auth(&self.client, &format!("{b}/history"), MAX_BODY, None).await }),
        )
        .await;
        answers
            .into_iter()
            .filter_map(|r| r.ok().map(|(_, body)| body))
            .filter_map(|b| serde_json::from_slice::<Vec<Value>>(&b).ok().map(|rows| (rows.len(), b)))
            .max_by_key(|(n, _)| *n)
            .map(|(_, b)| b)
    }
}

/// The clusters a control plane lists at `GET /v1/databases` (the sim
/// does; docs/control-plane-api.md), each read through its Patroni API. A
/// control plane without the endpoint has none.
pub async fn discover(base: &str, client: &reqwest::Client) -> Vec<Patroni> {
    let base = base.trim_end_matches('/');
    let Ok((_, body)) = get_limited_auth(client, &format!("{base}/v1/databases"), MAX_BODY, None).await else {
        return Vec::new();
    };
    let Ok(v) = serde_json::from_slice::<Value>(&body) else { return Vec::new() };
    let mut out = Vec::new();
    for d in v["databases"].as_array().into_iter().flatten() {
        let (Some(name), Some(path)) = (d["name"].as_str(), d["patroni"].as_str()) else { continue };
        let url = if path.starts_with("http://") || path.starts_with("https://") {
            path.to_string()
        } else {
            format!("{base}/{}", path.trim_start_matches('/'))
        };
        let mut p = Patroni::new(name, vec![url], client.clone());
        if let Some(m) = d["regions"].as_object() {
            p.regions = m.iter().filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string()))).collect();
        }
        p.services =
            d["services"].as_array().into_iter().flatten().filter_map(|s| s.as_str()).map(String::from).collect();
        p.max_lag_bytes = d["maximumLagOnFailover"].as_u64();
        out.push(p);
    }
    out
}

/// A member's role in Patroni's words, as ours.
fn role(word: &str) -> DbRole {
    match word {
        "leader" | "master" | "primary" => DbRole::Writer,
        "sync_standby" | "quorum_standby" => DbRole::SyncStandby,
        "standby_leader" => DbRole::StandbyLeader,
        _ => DbRole::Replica,
    }
}

/// Decode `/cluster` (and `/history`, if read) into one `Database`.
fn decode(p: &Patroni, cluster: &[u8], history: Option<&[u8]>) -> Result<Payload, FeedError> {
    let w: ClusterWire =
        serde_json::from_slice(cluster).map_err(|e| FeedError::Decode(format!("Patroni /cluster: {e}")))?;
    let members = w
        .members
        .into_iter()
        .map(|m| {
            let role = role(&m.role);
            let up = match role {
                DbRole::Writer | DbRole::StandbyLeader => m.state == "running",
                _ => m.state == "streaming" || m.state == "running",
            };
            let lag_bytes = match (&m.lag, role) {
                (_, DbRole::Writer) => Some(0),
                (Some(Value::Number(n)), _) => n.as_u64(),
                _ => None,
            };
            DbMember {
                region: p.regions.get(&m.name).cloned(),
                zone: None,
                name: m.name,
                role,
                state: m.state,
                up,
                timeline: m.timeline,
                lag_bytes,
                lag_seconds: None,
            }
        })
        .collect();
    // History rows: [timeline, lsn, reason, timestamp, new leader].
    let last_failover = history.and_then(|h| serde_json::from_slice::<Vec<Vec<Value>>>(h).ok()).and_then(|rows| {
        rows.iter()
            .filter_map(|r| r.get(3)?.as_str().and_then(|t| DateTime::parse_from_rfc3339(t).ok()))
            .map(|t| t.with_timezone(&Utc))
            .max()
    });
    Ok(Payload::Databases(vec![Database {
        name: p.name.clone(),
        engine: "postgresql (patroni)".into(),
        source: format!("patroni:{}", p.name),
        members,
        last_failover,
        latest_restorable: None,
        earliest_restorable: None,
        backup_retention_days: None,
        status: None,
        services: p.services.clone(),
        max_lag_bytes: p.max_lag_bytes,
        objectives: p.objectives,
        global: false,
    }]))
}

/// The source: one Patroni cluster, one part of the merged databases feed.
pub struct PatroniSource {
    pub cluster: std::sync::Arc<Patroni>,
    label: String,
}

impl PatroniSource {
    pub fn new(cluster: std::sync::Arc<Patroni>) -> PatroniSource {
        let label = format!("patroni:{}", cluster.name);
        PatroniSource { cluster, label }
    }
}

impl Source for PatroniSource {
    fn name(&self) -> &str {
        &self.label
    }
    fn feeds(&self) -> &'static [FeedId] {
        &[FeedId::Databases]
    }
    fn fetch(&self, _feed: FeedId) -> Fetch<'_> {
        Box::pin(self.cluster.read())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_and_history_as_patroni_3_writes_them() {
        let mut p = Patroni::new("orders", vec!["http://127.0.0.1:1".into()], reqwest::Client::new());
        p.regions.insert("pg2".into(), "us-west".into());
        let cluster = br#"{"members":[
            {"name":"pg1","role":"leader","state":"running","api_url":"http://127.0.0.1:8008/patroni","host":"127.0.0.1","port":5432,"timeline":2},
            {"name":"pg2","role":"replica","state":"streaming","host":"127.0.0.1","port":5433,"timeline":2,"lag":4096},
            {"name":"pg3","role":"replica","state":"stopped","timeline":1,"lag":"unknown"}],"scope":"orders"}"#;
        let history = br#"[[1,25165984,"no recovery target specified","2026-12-02T10:00:00.123456+00:00","pg1"]]"#;
        let Ok(Payload::Databases(dbs)) = decode(&p, cluster, Some(history)) else { panic!("not decoded") };
        let db = &dbs[0];
        assert_eq!(db.writer().map(|m| m.name.as_str()), Some("pg1"));
        let pg2 = db.member("pg2").unwrap_or_else(|| panic!("pg2"));
        assert_eq!((pg2.lag_bytes, pg2.up, pg2.region.as_deref()), (Some(4096), true, Some("us-west")));
        let pg3 = db.member("pg3").unwrap_or_else(|| panic!("pg3"));
        assert_eq!((pg3.lag_bytes, pg3.up), (None, false));
        assert!(db.last_failover.is_some());
        assert!(decode(&p, b"<html>", None).is_err(), "garbage is a decode error, not a panic");
    }
}
