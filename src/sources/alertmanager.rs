//! Alertmanager v2 API: `GET /api/v2/alerts`. Silenced and inhibited alerts
//! are kept and marked, so the pane can show them as such.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::{get_limited_auth, Payload};
use crate::model::{Alert, AlertState};

const MAX_BYTES: usize = 16 * 1024 * 1024;

#[derive(Clone)]
pub struct Alertmanager {
    base: String,
    client: reqwest::Client,
    token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AlertWire {
    #[serde(default)]
    labels: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    annotations: std::collections::BTreeMap<String, String>,
    #[serde(default)]
    starts_at: Option<String>,
    #[serde(default)]
    status: Option<StatusWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StatusWire {
    #[serde(default)]
    state: String,
    #[serde(default)]
    silenced_by: Vec<String>,
    #[serde(default)]
    inhibited_by: Vec<String>,
}

/// Decode a v2 alerts body, sorted by region, service, then name.
pub fn decode(body: &[u8]) -> Result<Vec<Alert>, String> {
    let wire: Vec<AlertWire> = serde_json::from_slice(body).map_err(|e| format!("bad response: {e}"))?;
    let mut out: Vec<Alert> = wire
        .into_iter()
        .map(|a| {
            let label = |k: &str| a.labels.get(k).cloned();
            let state = match &a.status {
                Some(s) if !s.silenced_by.is_empty() => AlertState::Silenced,
                Some(s) if !s.inhibited_by.is_empty() => AlertState::Inhibited,
                Some(s) if s.state == "suppressed" => AlertState::Silenced,
                _ => AlertState::Firing,
            };
            Alert {
                name: label("alertname").unwrap_or_else(|| "(unnamed)".into()),
                severity: label("severity").unwrap_or_default(),
                service: label("service").or_else(|| label("job")),
                region: label("region"),
                state,
                summary: a
                    .annotations
                    .get("summary")
                    .or_else(|| a.annotations.get("description"))
                    .cloned()
                    .unwrap_or_default(),
                since: a
                    .starts_at
                    .as_deref()
                    .and_then(|s| DateTime::parse_from_rfc3339(s).ok())
                    .map(|d| d.with_timezone(&Utc)),
            }
        })
        .collect();
    out.sort_by(|x, y| (&x.region, &x.service, x.state, &x.name).cmp(&(&y.region, &y.service, y.state, &y.name)));
    Ok(out)
}

impl Alertmanager {
    pub fn new(base: &str, client: reqwest::Client, token: Option<String>) -> Alertmanager {
        Alertmanager { base: base.trim_end_matches('/').to_string(), client, token }
    }

    pub async fn fetch(&self) -> Result<Payload, String> {
        let url = format!("{}/api/v2/alerts", self.base);
        let (_, body) =
            get_limited_auth(&self.client, &url, MAX_BYTES, self.token.as_deref()).await.map_err(|e| e.to_string())?;
        decode(&body).map(Payload::Alerts)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_states_and_groups() {
        let body = br#"[
          {"labels":{"alertname":"HighErrorRate","service":"checkout","region":"us-east-1","severity":"page"},
           "annotations":{"summary":"5xx above 0.5%"},"startsAt":"2026-11-26T12:00:00Z",
           "status":{"state":"active","silencedBy":[],"inhibitedBy":[]}},
          {"labels":{"alertname":"Latency","service":"auth","region":"eu-west-1"},
           "status":{"state":"suppressed","silencedBy":["abc"],"inhibitedBy":[]}},
          {"labels":{"alertname":"Noisy"},"status":{"state":"suppressed","silencedBy":[],"inhibitedBy":["x"]}}
        ]"#;
        let a = decode(body).unwrap_or_default();
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].name, "Noisy");
        assert_eq!(a[0].state, AlertState::Inhibited);
        assert_eq!(a[1].state, AlertState::Silenced);
        assert_eq!(a[2].state, AlertState::Firing);
        assert_eq!(a[2].summary, "5xx above 0.5%");
        assert!(a[2].since.is_some());
        assert!(decode(b"{\"not\":\"a list\"}").is_err());
        assert!(decode(b"\x00garbage").is_err());
    }
}
