//! Alertmanager v2 API: `GET /api/v2/alerts`. Silenced and inhibited alerts
//! are kept and marked, so the pane can show them as such.

use chrono::{DateTime, Utc};
use serde::Deserialize;

use super::Payload;
use crate::model::{Alert, AlertState, FeedId, Matcher, Silence};
use crate::sources::FeedError;

const MAX_BYTES: usize = 16 * 1024 * 1024;

#[derive(Clone)]
pub struct Alertmanager {
    base: String,
    client: reqwest::Client,
    token: Option<String>,
    labels: AlertLabels,
}

/// Which labels say where an alert is: the first present wins.
#[derive(Debug, Clone, PartialEq)]
pub struct AlertLabels {
    pub region: Vec<String>,
    pub service: Vec<String>,
}

impl Default for AlertLabels {
    fn default() -> Self {
        AlertLabels { region: vec!["region".into()], service: vec!["service".into(), "job".into()] }
    }
}

/// A backend's string made fit for one terminal line: newlines, tabs and
/// other control or format characters become spaces.
pub fn one_line(s: &str) -> String {
    let out: String = s
        .chars()
        .map(|c| {
            if c.is_control()
                || ('\u{200b}'..='\u{200f}').contains(&c)
                || ('\u{202a}'..='\u{202e}').contains(&c)
                || ('\u{2066}'..='\u{2069}').contains(&c)
            {
                ' '
            } else {
                c
            }
        })
        .collect();
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Severity order: pages first.
fn severity_rank(s: &str) -> u8 {
    match s {
        "page" | "critical" => 0,
        "ticket" | "warning" | "error" => 1,
        _ => 2,
    }
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

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SilenceWire {
    #[serde(default)]
    id: String,
    #[serde(default)]
    status: Option<StatusWire>,
    #[serde(default)]
    matchers: Vec<MatcherWire>,
    #[serde(default)]
    starts_at: Option<String>,
    #[serde(default)]
    ends_at: Option<String>,
    #[serde(default)]
    created_by: String,
    #[serde(default)]
    comment: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct MatcherWire {
    #[serde(default)]
    name: String,
    #[serde(default)]
    value: String,
    #[serde(default)]
    is_regex: bool,
    #[serde(default = "yes")]
    is_equal: bool,
}

fn yes() -> bool {
    true
}

fn time(s: Option<&str>) -> Option<DateTime<Utc>> {
    s.and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|d| d.with_timezone(&Utc))
}

/// Decode a v2 silences body: the active and pending ones (expired
/// silences are history), ending soonest first; every string one line.
pub fn decode_silences(body: &[u8]) -> Result<Vec<Silence>, FeedError> {
    let wire: Vec<SilenceWire> = serde_json::from_slice(body).map_err(|e| FeedError::Decode(e.to_string()))?;
    let mut out: Vec<Silence> = wire
        .into_iter()
        .filter_map(|w| {
            let state = w.status.map(|s| s.state).unwrap_or_default();
            (state == "active" || state == "pending").then(|| Silence {
                id: one_line(&w.id),
                matchers: w
                    .matchers
                    .into_iter()
                    .map(|m| Matcher {
                        name: one_line(&m.name),
                        value: one_line(&m.value),
                        is_regex: m.is_regex,
                        is_equal: m.is_equal,
                    })
                    .collect(),
                starts_at: time(w.starts_at.as_deref()),
                ends_at: time(w.ends_at.as_deref()),
                created_by: one_line(&w.created_by),
                comment: one_line(&w.comment),
                state,
            })
        })
        .collect();
    out.sort_by(|a, b| a.ends_at.cmp(&b.ends_at).then(a.id.cmp(&b.id)));
    Ok(out)
}

/// Decode a v2 alerts body with the default labels.
pub fn decode(body: &[u8]) -> Result<Vec<Alert>, FeedError> {
    decode_with(body, &AlertLabels::default())
}

/// Decode a v2 alerts body: firing before suppressed, then by severity
/// (pages first), then newest first; region and service from `labels`.
pub fn decode_with(body: &[u8], labels: &AlertLabels) -> Result<Vec<Alert>, FeedError> {
    let wire: Vec<AlertWire> = serde_json::from_slice(body).map_err(|e| FeedError::Decode(e.to_string()))?;
    let mut out: Vec<Alert> = wire
        .into_iter()
        .map(|a| {
            let label = |k: &str| a.labels.get(k).map(|v| one_line(v)).filter(|v| !v.is_empty());
            let first = |keys: &[String]| keys.iter().find_map(|k| label(k));
            let clean = |m: &std::collections::BTreeMap<String, String>| {
                m.iter().map(|(k, v)| (one_line(k), one_line(v))).collect::<std::collections::BTreeMap<_, _>>()
            };
            let silenced_by: Vec<String> =
                a.status.as_ref().map(|s| s.silenced_by.iter().map(|x| one_line(x)).collect()).unwrap_or_default();
            let state = match &a.status {
                Some(s) if !s.silenced_by.is_empty() => AlertState::Silenced,
                Some(s) if !s.inhibited_by.is_empty() => AlertState::Inhibited,
                Some(s) if s.state == "suppressed" => AlertState::Silenced,
                _ => AlertState::Firing,
            };
            Alert {
                name: label("alertname").unwrap_or_else(|| "(unnamed)".into()),
                severity: label("severity").unwrap_or_default(),
                service: first(&labels.service),
                region: first(&labels.region),
                state,
                summary: a
                    .annotations
                    .get("summary")
                    .or_else(|| a.annotations.get("description"))
                    .map(|s| one_line(s))
                    .unwrap_or_default(),
                since: time(a.starts_at.as_deref()),
                labels: clean(&a.labels),
                annotations: clean(&a.annotations),
                silenced_by,
            }
        })
        .collect();
    out.sort_by(|x, y| {
        (x.state, severity_rank(&x.severity))
            .cmp(&(y.state, severity_rank(&y.severity)))
            .then(y.since.cmp(&x.since))
            .then((&x.name, &x.region, &x.service).cmp(&(&y.name, &y.region, &y.service)))
    });
    Ok(out)
}

impl Alertmanager {
    pub fn new(base: &str, client: reqwest::Client, token: Option<String>) -> Alertmanager {
        Alertmanager { base: base.trim_end_matches('/').to_string(), client, token, labels: AlertLabels::default() }
    }

    /// Map other label names to region and service (`dc`, `app`).
    pub fn with_labels(mut self, labels: AlertLabels) -> Alertmanager {
        self.labels = labels;
        self
    }

    pub async fn fetch(&self) -> Result<Payload, FeedError> {
        let url = format!("{}/api/v2/alerts", self.base);
        let (status, body, date) =
            super::http::get_dated_auth(&self.client, &url, MAX_BYTES, self.token.as_deref()).await?;
        if !(200..300).contains(&status) {
            let text: String = String::from_utf8_lossy(&body).chars().filter(|c| !c.is_control()).take(120).collect();
            return Err(FeedError::Http { status, body: text });
        }
        let alerts = decode_with(&body, &self.labels)?;
        // The silences with them: unreadable, the alerts still show and
        // the pane says why the silences are missing.
        let alerts = match self.silences().await {
            Ok(silences) => Payload::Silenced { alerts, silences },
            Err(e) => Payload::Partial {
                inner: Box::new(Payload::Silenced { alerts, silences: Vec::new() }),
                error: format!("silences unreadable: {e}"),
            },
        };
        // Alert ages are in Alertmanager's clock (`startsAt`): its `Date`
        // header says what time it is there (the demo's simulated time).
        Ok(match date {
            Some(at) => Payload::Timed { source_at: at, inner: Box::new(alerts) },
            None => alerts,
        })
    }
}

impl Alertmanager {
    /// `GET /api/v2/silences`: the active and pending ones.
    pub async fn silences(&self) -> Result<Vec<Silence>, FeedError> {
        let url = format!("{}/api/v2/silences", self.base);
        let (status, body, _) =
            super::http::get_dated_auth(&self.client, &url, MAX_BYTES, self.token.as_deref()).await?;
        if !(200..300).contains(&status) {
            let text: String = String::from_utf8_lossy(&body).chars().filter(|c| !c.is_control()).take(120).collect();
            return Err(FeedError::Http { status, body: text });
        }
        decode_silences(&body)
    }

    /// Its base URL, client and credentials, for the actions.
    pub fn parts(&self) -> (&str, &reqwest::Client, Option<&str>) {
        (&self.base, &self.client, self.token.as_deref())
    }
}

impl crate::sources::Source for Alertmanager {
    fn name(&self) -> &str {
        "alertmanager"
    }
    fn feeds(&self) -> &'static [FeedId] {
        &[FeedId::Alerts]
    }
    fn fetch(&self, _feed: FeedId) -> crate::sources::Fetch<'_> {
        Box::pin(Alertmanager::fetch(self))
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
        // Firing first, then silenced, then inhibited.
        assert_eq!(a[0].state, AlertState::Firing);
        assert_eq!(a[0].summary, "5xx above 0.5%");
        assert!(a[0].since.is_some());
        assert_eq!(a[1].state, AlertState::Silenced);
        assert_eq!(a[2].name, "Noisy");
        assert_eq!(a[2].state, AlertState::Inhibited);
        assert!(decode(b"{\"not\":\"a list\"}").is_err());
        assert!(decode(b"\x00garbage").is_err());
    }

    #[test]
    fn other_label_names_severity_then_newest_and_one_line_text() {
        let body = br#"[
          {"labels":{"alertname":"Old","app":"checkout","dc":"us-east-1","severity":"warning"},"startsAt":"2026-11-26T11:00:00Z"},
          {"labels":{"alertname":"New","app":"checkout","dc":"us-east-1","severity":"warning"},"startsAt":"2026-11-26T12:00:00Z"},
          {"labels":{"alertname":"Page","app":"pay\nments","dc":"eu-west-1","severity":"critical"},
           "annotations":{"summary":"line one\nline two\u001b[2J\u202eevil"},"startsAt":"2026-11-26T10:00:00Z"}
        ]"#;
        let labels = AlertLabels { region: vec!["dc".into()], service: vec!["app".into()] };
        let a = decode_with(body, &labels).unwrap_or_default();
        let names: Vec<&str> = a.iter().map(|x| x.name.as_str()).collect();
        assert_eq!(names, vec!["Page", "New", "Old"], "severity, then newest first");
        assert_eq!(a[1].region.as_deref(), Some("us-east-1"));
        assert_eq!(a[1].service.as_deref(), Some("checkout"));
        assert_eq!(a[0].service.as_deref(), Some("pay ments"), "newlines in labels become spaces");
        assert_eq!(a[0].summary, "line one line two [2J evil", "no control or bidi characters reach the screen");
        // Without the mapping, these alerts say nothing about where.
        assert!(decode(body).unwrap_or_default().iter().all(|x| x.region.is_none()));
    }

    #[test]
    fn silences_keep_the_live_ones_and_alerts_their_labels() {
        let body = br#"[
          {"id":"b","status":{"state":"active"},"matchers":[{"name":"alertname","value":"X","isRegex":false,"isEqual":true}],
           "startsAt":"2026-11-26T12:00:00Z","endsAt":"2026-11-26T14:00:00Z","createdBy":"alice","comment":"why\u001b[2J"},
          {"id":"a","status":{"state":"expired"},"matchers":[],"createdBy":"bob","comment":"old"},
          {"id":"c","status":{"state":"pending"},"matchers":[{"name":"region","value":"eu.*","isRegex":true}],
           "startsAt":"2026-11-27T12:00:00Z","endsAt":"2026-11-26T13:00:00Z","createdBy":"carol","comment":"later"}
        ]"#;
        let s = decode_silences(body).unwrap_or_default();
        let ids: Vec<&str> = s.iter().map(|x| x.id.as_str()).collect();
        assert_eq!(ids, ["c", "b"], "expired dropped, ending soonest first");
        assert_eq!(s[1].comment, "why [2J", "no control characters");
        assert_eq!(s[0].matchers_words(), "region=~\"eu.*\"");
        assert!(decode_silences(b"{}").is_err());
        let a = decode(
            br#"[{"labels":{"alertname":"X","region":"r"},"status":{"state":"suppressed","silencedBy":["b"]}}]"#,
        )
        .unwrap_or_default();
        assert_eq!(a[0].silenced_by, ["b"]);
        assert_eq!(a[0].labels.get("region").map(String::as_str), Some("r"));
        let m = |n: &str, v: &str| Matcher { name: n.into(), value: v.into(), is_regex: false, is_equal: true };
        let mut firing = a.clone();
        firing[0].state = AlertState::Firing;
        assert_eq!(crate::model::caught(&firing, &[m("alertname", "X")]).len(), 1);
        assert_eq!(crate::model::caught(&firing, &[m("alertname", "X"), m("region", "other")]).len(), 0);
        assert_eq!(crate::model::caught(&firing, &[]).len(), 0, "no matchers catch nothing");
    }
}
