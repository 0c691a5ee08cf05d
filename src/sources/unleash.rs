//! Unleash's Admin API: every flag of a project with its state per
//! environment, its strategies in words (`10% of users`), what limits it
//! (`internal only`) and who changed it last (the project's event log).
//! One source per project (`unleash:default`); the flags feed merges them
//! with the control plane's. The token is sent as `Authorization: <token>`
//! (Unleash takes no `Bearer`).
//!
//! One poll of a project: its feature list, then each feature (the list
//! has no strategies; at most 8 at a time), the segments (for their names)
//! and the project's recent events.

use std::collections::BTreeMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::Value;

use super::alertmanager::one_line;
use super::{send_limited, FeedError, Fetch, Payload, Source};
use crate::model::{FeedId, Flag};

const MAX_BYTES: usize = 16 * 1024 * 1024;
/// The most features one project poll reads.
const MAX_FEATURES: usize = 2000;
/// Feature reads in flight at once.
const CONCURRENCY: usize = 8;

/// A client of one Unleash server.
pub struct Unleash {
    base: String,
    client: reqwest::Client,
    token: String,
    /// Only these environments (empty: every one).
    pub environments: Vec<String>,
    /// Segment names that mean "our own people" (`internal`).
    pub internal_segments: Vec<String>,
}

/// One path segment, percent-encoded (names come from configuration and
/// from Unleash itself).
pub fn seg(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[derive(Deserialize)]
struct ListWire {
    #[serde(default)]
    features: Vec<Value>,
}

/// One feature as `GET /api/admin/projects/{p}/features/{f}` has it.
#[derive(Debug, Clone, Deserialize)]
pub struct FeatureWire {
    pub name: String,
    #[serde(default)]
    pub environments: Vec<EnvWire>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct EnvWire {
    pub name: String,
    #[serde(default)]
    pub enabled: bool,
    /// Kept as sent: an update sends back every field it did not change.
    #[serde(default)]
    pub strategies: Vec<Value>,
}

impl FeatureWire {
    pub fn env(&self, name: &str) -> Option<&EnvWire> {
        self.environments.iter().find(|e| e.name == name)
    }
}

impl EnvWire {
    /// Strategies in effect (not `disabled`).
    pub fn active(&self) -> impl Iterator<Item = &Value> {
        self.strategies.iter().filter(|s| s["disabled"] != Value::Bool(true))
    }

    /// The one gradual rollout in effect and its percentage, if there is
    /// exactly one.
    pub fn gradual(&self) -> Option<(&Value, u8)> {
        let mut it = self.active().filter(|s| s["name"] == "flexibleRollout");
        let one = it.next()?;
        if it.next().is_some() {
            return None;
        }
        Some((one, percent_of(&one["parameters"]["rollout"])?))
    }
}

/// `rollout` is a string ("25") in the API, a number in some exports.
fn percent_of(v: &Value) -> Option<u8> {
    let n = match v {
        Value::String(s) => s.trim().parse::<f64>().ok()?,
        Value::Number(n) => n.as_f64()?,
        _ => return None,
    };
    (0.0..=100.0).contains(&n).then_some(n.round() as u8)
}

#[derive(Deserialize)]
struct SegmentsWire {
    #[serde(default)]
    segments: Vec<SegmentWire>,
}

#[derive(Deserialize)]
struct SegmentWire {
    id: u64,
    #[serde(default)]
    name: String,
}

#[derive(Deserialize)]
struct EventsWire {
    #[serde(default)]
    events: Vec<EventWire>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct EventWire {
    #[serde(default)]
    created_by: Option<String>,
    #[serde(default)]
    created_at: Option<DateTime<Utc>>,
    #[serde(default)]
    feature_name: Option<String>,
    #[serde(default)]
    environment: Option<String>,
}

/// A strategy's audience in words.
fn strategy_words(s: &Value) -> String {
    let p = &s["parameters"];
    let count = |k: &str| p[k].as_str().map(|v| v.split(',').filter(|x| !x.trim().is_empty()).count()).unwrap_or(0);
    match s["name"].as_str().unwrap_or("") {
        "default" => "everyone".into(),
        "flexibleRollout" => {
            let pct = percent_of(&p["rollout"]).map(|n| format!("{n}%")).unwrap_or_else(|| "?%".into());
            match p["stickiness"].as_str().unwrap_or("default") {
                "default" | "" => format!("{pct} of users"),
                "userId" => format!("{pct} of users by userId"),
                "sessionId" => format!("{pct} of sessions"),
                "random" => format!("{pct} at random"),
                other => format!("{pct} by {}", one_line(other)),
            }
        }
        "userWithId" => format!("{} listed users", count("userIds")),
        "remoteAddress" => format!("{} IP ranges", count("IPs")),
        "applicationHostname" => format!("{} hosts", count("hostNames")),
        other => one_line(other),
    }
}

fn operator_words(op: &str) -> &'static str {
    match op {
        "IN" => "in",
        "NOT_IN" => "not in",
        "STR_ENDS_WITH" => "ends with",
        "STR_STARTS_WITH" => "starts with",
        "STR_CONTAINS" => "contains",
        "NUM_EQ" | "SEMVER_EQ" => "=",
        "NUM_GT" | "SEMVER_GT" => ">",
        "NUM_GTE" => "≥",
        "NUM_LT" | "SEMVER_LT" => "<",
        "NUM_LTE" => "≤",
        "DATE_AFTER" => "after",
        "DATE_BEFORE" => "before",
        _ => "?",
    }
}

/// `country in DE, FR`; at most three values named.
fn constraint_words(c: &Value) -> String {
    let ctx = one_line(c["contextName"].as_str().unwrap_or("?"));
    let mut values: Vec<String> =
        c["values"].as_array().map(|v| v.iter().filter_map(|x| x.as_str()).map(one_line).collect()).unwrap_or_default();
    if let Some(v) = c["value"].as_str() {
        values.push(one_line(v));
    }
    let shown =
        if values.len() > 3 { format!("{} +{}", values[..3].join(", "), values.len() - 3) } else { values.join(", ") };
    let not = if c["inverted"] == Value::Bool(true) { "not " } else { "" };
    format!("{ctx} {not}{} {shown}", operator_words(c["operator"].as_str().unwrap_or("")))
}

/// A list of named users (`userId`/`email` in a list) or the user-list
/// strategy: our own people, not a share of customers.
fn is_user_list(s: &Value) -> bool {
    s["name"] == "userWithId"
        || s["constraints"].as_array().is_some_and(|cs| {
            cs.iter().any(|c| {
                matches!(c["contextName"].as_str(), Some("userId" | "email"))
                    && c["operator"] == "IN"
                    && c["inverted"] != Value::Bool(true)
            })
        })
}

/// What limits one environment's flag, in words: `internal only` when
/// every strategy in effect is limited to an internal segment or a list
/// of users; else the limits named; empty when nothing limits it.
fn limits(env: &EnvWire, segments: &BTreeMap<u64, String>, internal: &[String]) -> String {
    let active: Vec<&Value> = env.active().collect();
    if active.is_empty() {
        return String::new();
    }
    let seg_names = |s: &Value| -> Vec<String> {
        s["segments"]
            .as_array()
            .map(|ids| {
                ids.iter()
                    .filter_map(|id| id.as_u64())
                    .map(|id| segments.get(&id).map(|n| one_line(n)).unwrap_or_else(|| format!("#{id}")))
                    .collect()
            })
            .unwrap_or_default()
    };
    let internal_one =
        |s: &Value| is_user_list(s) || seg_names(s).iter().any(|n| internal.iter().any(|i| i.eq_ignore_ascii_case(n)));
    if active.iter().all(|s| internal_one(s)) {
        return "internal only".into();
    }
    let mut words: Vec<String> = Vec::new();
    for s in &active {
        for n in seg_names(s) {
            words.push(format!("segment {n}"));
        }
        for c in s["constraints"].as_array().into_iter().flatten() {
            words.push(constraint_words(c));
        }
    }
    words.dedup();
    words.join("; ")
}

/// One environment's flag as the console shows it.
fn flag_of(f: &FeatureWire, env: &EnvWire, segments: &BTreeMap<u64, String>, internal: &[String]) -> Flag {
    let active: Vec<String> = env.active().map(strategy_words).collect();
    let rollout = if active.is_empty() {
        if env.strategies.is_empty() {
            "no strategy".into()
        } else {
            "every strategy disabled".into()
        }
    } else {
        active.join(" + ")
    };
    Flag {
        name: one_line(&f.name),
        environment: one_line(&env.name),
        enabled: env.enabled,
        rollout,
        source: String::new(),
        percent: env.gradual().map(|(_, p)| p),
        constraints: limits(env, segments, internal),
        changed: None,
    }
}

/// An Unleash error answer in a line: its `message`, else the start of
/// the body.
pub fn answer_words(body: &[u8]) -> String {
    let v: Option<Value> = serde_json::from_slice(body).ok();
    let text = match v.as_ref().and_then(|v| v["message"].as_str()) {
        Some(m) => m.to_string(),
        None => String::from_utf8_lossy(body).into_owned(),
    };
    one_line(&text).chars().take(160).collect()
}

impl Unleash {
    pub fn new(base: &str, client: reqwest::Client, token: String) -> Unleash {
        Unleash {
            base: base.trim_end_matches('/').to_string(),
            client,
            token,
            environments: Vec::new(),
            internal_segments: vec!["internal".into()],
        }
    }

    /// Where it is, for the audit trail (no credentials).
    pub fn base(&self) -> String {
        super::redact(&self.base)
    }

    /// A request with the token.
    pub fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.client.request(method, format!("{}{path}", self.base)).header(reqwest::header::AUTHORIZATION, &self.token)
    }

    /// GET a path and decode it; 401 and 403 are worded for the pane.
    async fn get<T: serde::de::DeserializeOwned>(&self, path: &str) -> Result<T, FeedError> {
        let (status, body, _) = send_limited(self.request(reqwest::Method::GET, path), MAX_BYTES).await?;
        match status {
            200..=299 => serde_json::from_slice(&body).map_err(|e| FeedError::Decode(e.to_string())),
            401 => Err(FeedError::Source(format!(
                "Unleash refused the token (HTTP 401: {}): check [unleash] token_env / token_file",
                answer_words(&body)
            ))),
            403 => Err(FeedError::Source(format!(
                "the token may not read this (HTTP 403: {}): an admin token or a PAT with read access is needed",
                answer_words(&body)
            ))),
            _ => Err(FeedError::Http { status, body: answer_words(&body) }),
        }
    }

    /// One feature with its strategies per environment.
    pub async fn feature(&self, project: &str, name: &str) -> Result<FeatureWire, FeedError> {
        self.get(&format!("/api/admin/projects/{}/features/{}", seg(project), seg(name))).await
    }

    /// Segment id → name (empty when segments cannot be read: ids shown).
    async fn segments(&self) -> BTreeMap<u64, String> {
        match self.get::<SegmentsWire>("/api/admin/segments").await {
            Ok(s) => s.segments.into_iter().map(|s| (s.id, s.name)).collect(),
            Err(_) => BTreeMap::new(),
        }
    }

    /// (feature, environment) → who changed it last and when, from the
    /// project's recent events (newest first); an event with no
    /// environment (created, archived) counts for every environment.
    async fn changes(&self, project: &str) -> BTreeMap<(String, Option<String>), (String, DateTime<Utc>)> {
        let mut out = BTreeMap::new();
        let Ok(ev) = self.get::<EventsWire>(&format!("/api/admin/events?project={}", seg(project))).await else {
            return out;
        };
        for e in ev.events {
            let (Some(f), Some(who), Some(at)) = (e.feature_name, e.created_by, e.created_at) else { continue };
            out.entry((f, e.environment)).or_insert((one_line(&who), at));
        }
        out
    }

    /// Every flag of a project, one per environment.
    pub async fn flags(&self, project: &str) -> Result<Payload, FeedError> {
        let list: ListWire = self.get(&format!("/api/admin/projects/{}/features", seg(project))).await?;
        let mut problems: Vec<String> = Vec::new();
        let mut names: Vec<String> =
            list.features.iter().filter_map(|f| f["name"].as_str().map(String::from)).collect();
        let unnamed = list.features.len() - names.len();
        if unnamed > 0 {
            problems.push(format!("{unnamed} features without a name dropped"));
        }
        if names.len() > MAX_FEATURES {
            problems.push(format!("{} features; the first {MAX_FEATURES} shown", names.len()));
            names.truncate(MAX_FEATURES);
        }
        let segments = self.segments().await;
        let changes = self.changes(project).await;
        let features: Vec<(String, Result<FeatureWire, FeedError>)> = futures_util::stream::iter(names)
            .map(|n| async move {
                let r = self.feature(project, &n).await;
                (n, r)
            })
            .buffered(CONCURRENCY)
            .collect()
            .await;
        let mut flags = Vec::new();
        for (name, r) in features {
            let f = match r {
                Ok(f) => f,
                Err(e) => {
                    problems.push(format!("{}: {e}", one_line(&name)));
                    continue;
                }
            };
            for env in &f.environments {
                if !self.environments.is_empty() && !self.environments.contains(&env.name) {
                    continue;
                }
                let mut flag = flag_of(&f, env, &segments, &self.internal_segments);
                flag.changed = changes
                    .get(&(f.name.clone(), Some(env.name.clone())))
                    .or_else(|| changes.get(&(f.name.clone(), None)))
                    .cloned();
                flags.push(flag);
            }
        }
        let payload = Payload::Flags(flags);
        if problems.is_empty() {
            Ok(payload)
        } else {
            Ok(Payload::Partial { inner: Box::new(payload), error: problems.join("; ") })
        }
    }
}

/// One project of an Unleash server as a source of flags.
pub struct UnleashSource {
    pub unleash: Arc<Unleash>,
    pub project: String,
    name: String,
}

impl UnleashSource {
    pub fn new(unleash: Arc<Unleash>, project: &str) -> UnleashSource {
        UnleashSource { unleash, project: project.to_string(), name: format!("unleash:{project}") }
    }
}

impl Source for UnleashSource {
    fn name(&self) -> &str {
        &self.name
    }
    fn feeds(&self) -> &'static [FeedId] {
        &[FeedId::Flags]
    }
    fn fetch(&self, feed: FeedId) -> Fetch<'_> {
        Box::pin(async move {
            match feed {
                FeedId::Flags => self.unleash.flags(&self.project).await,
                other => Err(FeedError::Source(format!("Unleash does not supply {}", other.name()))),
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn env(strategies: Value) -> EnvWire {
        serde_json::from_value(json!({"name": "production", "enabled": true, "strategies": strategies}))
            .unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn strategies_read_as_words_and_one_gradual_rollout_has_a_percentage() {
        let e = env(json!([{"id": "s1", "name": "flexibleRollout",
            "parameters": {"rollout": "10", "stickiness": "default", "groupId": "new-checkout"},
            "constraints": [], "segments": []}]));
        let f = FeatureWire { name: "new-checkout".into(), environments: vec![e.clone()] };
        let flag = flag_of(&f, &e, &BTreeMap::new(), &["internal".into()]);
        assert_eq!(flag.rollout, "10% of users");
        assert_eq!(flag.percent, Some(10));
        assert_eq!(flag.constraints, "");
        let two = env(json!([
            {"name": "flexibleRollout", "parameters": {"rollout": 50, "stickiness": "sessionId"}},
            {"name": "flexibleRollout", "parameters": {"rollout": "5"}, "disabled": true},
            {"name": "default"}
        ]));
        let flag = flag_of(&f, &two, &BTreeMap::new(), &[]);
        assert_eq!(flag.rollout, "50% of sessions + everyone");
        assert_eq!(flag.percent, Some(50), "the disabled one does not count");
        let none = env(json!([]));
        assert_eq!(flag_of(&f, &none, &BTreeMap::new(), &[]).rollout, "no strategy");
        let bad = env(json!([{"name": "flexibleRollout", "parameters": {"rollout": "150"}}]));
        assert_eq!(flag_of(&f, &bad, &BTreeMap::new(), &[]).percent, None, "150 is not a percentage");
    }

    #[test]
    fn internal_segments_and_user_lists_read_internal_only_and_other_limits_are_named() {
        let segs: BTreeMap<u64, String> = [(1, "internal".to_string()), (2, "beta".to_string())].into();
        let internal = vec!["internal".to_string()];
        let f = FeatureWire { name: "x".into(), environments: vec![] };
        let seg = env(json!([{"name": "flexibleRollout", "parameters": {"rollout": "100"}, "segments": [1]}]));
        assert_eq!(flag_of(&f, &seg, &segs, &internal).constraints, "internal only");
        let users = env(json!([{"name": "default", "constraints": [
            {"contextName": "userId", "operator": "IN", "values": ["a", "b"]}]}]));
        assert_eq!(flag_of(&f, &users, &segs, &internal).constraints, "internal only");
        let other = env(json!([{"name": "default", "segments": [2, 9], "constraints": [
            {"contextName": "country", "operator": "IN", "values": ["DE", "FR", "NL", "BE"]},
            {"contextName": "appVersion", "operator": "SEMVER_GT", "value": "2.1.0", "inverted": true}]}]));
        assert_eq!(
            flag_of(&f, &other, &segs, &internal).constraints,
            "segment beta; segment #9; country in DE, FR, NL +1; appVersion not > 2.1.0"
        );
        let hostile = env(json!([{"name": "default", "constraints": [
            {"contextName": "re\u{1b}[2Jgion", "operator": "IN", "values": ["eu\nwest"]}]}]));
        let words = flag_of(&f, &hostile, &segs, &internal).constraints;
        assert!(!words.chars().any(char::is_control), "{words:?}");
    }

    #[test]
    fn names_are_percent_encoded_in_paths() {
        assert_eq!(seg("new-checkout"), "new-checkout");
        assert_eq!(seg("a b/../c"), "a%20b%2F..%2Fc");
    }
}
