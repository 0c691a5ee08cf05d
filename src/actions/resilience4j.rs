//! Resilience4j breakers, set on every instance of a service in a region
//! through each instance's actuator (`POST {actuator}/circuitbreakers/{name}`
//! `{"updateState": "FORCE_OPEN" | "CLOSE" | "DISABLE"}`). The instances
//! are read fresh from Prometheus at send time; those already in the
//! wanted state are left alone (so a repeat is "already in effect"); an
//! instance that gives no answer is read back from its actuator, never
//! sent twice. The outcome lists every instance.

use std::sync::Arc;

use serde_json::{json, Value};

use super::executor::Intent;
use super::provider::{ActionProvider, Sent};
use crate::model::{ActionStatus, CircuitState};
use crate::sources::resilience4j::{InstanceBreaker, Resilience4j};
use crate::viewer::BoxFuture;

pub struct Resilience4jActions {
    r4j: Arc<Resilience4j>,
    client: reqwest::Client,
}

/// (from, to, region, updateState) of a breaker request.
fn target(request: &Value) -> Option<(String, String, String, String)> {
    (request["kind"] == "breaker").then_some(())?;
    let s = |k: &str| request[k].as_str().map(String::from);
    Some((s("from")?, s("to")?, s("region")?, s("updateState")?))
}

fn wanted(update: &str) -> CircuitState {
    match update {
        "FORCE_OPEN" => CircuitState::ForcedOpen,
        "DISABLE" => CircuitState::Disabled,
        _ => CircuitState::Closed,
    }
}

impl Resilience4jActions {
    pub fn new(r4j: Arc<Resilience4j>, client: reqwest::Client) -> Resilience4jActions {
        Resilience4jActions { r4j, client }
    }

    async fn edge(&self, request: &Value) -> Result<(Vec<InstanceBreaker>, CircuitState, String), String> {
        let (from, to, region, update) = target(request).ok_or("not a breaker action")?;
        let all = self.r4j.instances().await?;
        let list: Vec<InstanceBreaker> =
            all.into_iter().filter(|b| b.service == from && b.name == to && b.region == region).collect();
        if list.is_empty() {
            return Err(format!("Prometheus lists no instance of {from} with a breaker {to} in {region}"));
        }
        Ok((list, wanted(&update), update))
    }

    /// The breaker's state on one instance, read from its actuator.
    async fn read_back(&self, b: &InstanceBreaker) -> Option<CircuitState> {
        let url = format!("{}/circuitbreakers", self.r4j.actuator_of(b));
        let v: Value =
            self.client.get(url).timeout(std::time::Duration::from_secs(5)).send().await.ok()?.json().await.ok()?;
        v["circuitBreakers"][&b.name]["state"].as_str().map(CircuitState::parse)
    }

    async fn send_inner(&self, intent: &Intent) -> Sent {
        let request = intent.action.request();
        let (list, want, update) = match self.edge(&request).await {
            Ok(x) => x,
            Err(e) => return Sent::Failed(format!("nothing sent: {e}")),
        };
        let mut lines = Vec::new();
        let (mut ok, mut bad) = (0usize, 0usize);
        for b in &list {
            if b.state == want {
                ok += 1;
                lines.push(format!("{}: already {}", b.instance, want.word()));
                continue;
            }
            let url = format!("{}/circuitbreakers/{}", self.r4j.actuator_of(b), b.name);
            let r = self
                .client
                .post(&url)
                .timeout(std::time::Duration::from_secs(5))
                .json(&json!({"updateState": update}))
                .send()
                .await;
            let line = match r {
                Ok(resp) if resp.status().is_success() => {
                    let v: Value = resp.json().await.unwrap_or_default();
                    let now = v["currentState"].as_str().unwrap_or("?").to_string();
                    ok += 1;
                    format!("{}: {} → {now}", b.instance, b.state.word())
                }
                Ok(resp) => {
                    bad += 1;
                    let code = resp.status().as_u16();
                    let text: String = crate::sources::alertmanager::one_line(&resp.text().await.unwrap_or_default())
                        .chars()
                        .take(80)
                        .collect();
                    format!("{}: HTTP {code} {text}", b.instance)
                }
                // No answer: read it back rather than send again.
                Err(e) => match self.read_back(b).await {
                    Some(s) if s == want => {
                        ok += 1;
                        format!("{}: {} (read back after no answer)", b.instance, s.word())
                    }
                    other => {
                        bad += 1;
                        let s = other.map(|s| s.word()).unwrap_or("unreadable");
                        format!("{}: no answer ({e}); reads {s}", b.instance)
                    }
                },
            };
            lines.push(line);
        }
        let status = if bad == 0 { "ok" } else { "partial" };
        Sent::Accepted(format!("{status}|{ok}|{}|{}", list.len(), lines.join("; ")))
    }
}

impl ActionProvider for Resilience4jActions {
    fn label(&self) -> String {
        "resilience4j actuators".into()
    }

    fn owner(&self) -> &'static str {
        "the breakers' actuators"
    }

    fn send<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, Sent> {
        Box::pin(self.send_inner(intent))
    }

    /// In effect when every instance is in the wanted state.
    fn lookup<'a>(&'a self, _key: &'a str, request: &'a Value) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            let (list, want, _) = self.edge(request).await?;
            let n = list.len();
            Ok(list.iter().all(|b| b.state == want).then(|| format!("ok|{n}|{n}|all {n} {} (read back)", want.word())))
        })
    }

    fn poll<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<(ActionStatus, String)>> {
        Box::pin(async move {
            let parts: Vec<&str> = id.splitn(4, '|').collect();
            let [status, ok, total, lines] = parts.as_slice() else {
                return Some((ActionStatus::Failed, format!("unreadable action id {id}")));
            };
            let text = format!("{ok} of {total} instances done: {lines}");
            Some((if *status == "ok" { ActionStatus::Succeeded } else { ActionStatus::Failed }, text))
        })
    }
}
