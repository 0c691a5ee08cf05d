//! Action providers: the backends that own targets. The executor keeps
//! the safety promises (roles, local refusals, the audit trail before the
//! request, one action per target, retries with one key, reconciliation by
//! key) and asks the provider that owns the action's target to send, look
//! up and follow. A provider is one module implementing
//! [`ActionProvider`] plus one line where the routes are configured.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use super::executor::Intent;
use super::TargetKind;
use crate::model::ActionStatus;
use crate::viewer::BoxFuture;

/// Per-request timeout.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// Largest answer read from a control plane's action endpoints.
const MAX_ACTION_BODY: usize = 1024 * 1024;

/// How one delivery attempt ended.
pub enum Sent {
    /// Accepted under the backend's id for it.
    Accepted(String),
    /// The backend said no (a conflict, a rule of its own).
    Refused(String),
    /// A definite failure: nothing happened.
    Failed(String),
    /// No answer we can trust: the action may or may not have happened.
    Unknown(String),
}

/// A backend that owns a kind of target.
pub trait ActionProvider: Send + Sync {
    /// Where actions go, for the audit trail (no credentials).
    fn label(&self) -> String;
    /// Who refused, in words ("the control plane").
    fn owner(&self) -> &'static str;
    /// Send once, carrying the intent's idempotency key.
    fn send<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, Sent>;
    /// Look an action up: `Some(id)` if the backend has it. A backend with
    /// idempotency keys looks the key up; one without (Route 53, Patroni)
    /// reads the target's state and answers whether the `request`
    /// (`Action::request`) is in effect — reconciling by reading, never by
    /// sending again.
    fn lookup<'a>(&'a self, key: &'a str, request: &'a Value) -> BoxFuture<'a, Result<Option<String>, String>>;
    /// One read of an accepted action: its outcome once it has one.
    fn poll<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<(ActionStatus, String)>>;
    /// Where this particular action goes (a provider that fronts several
    /// backends names the one that owns the request's target).
    fn label_for(&self, _request: &Value) -> String {
        self.label()
    }
    /// Whether an audit record naming `label` was sent through this provider.
    fn answers_to(&self, label: &str) -> bool {
        self.label() == label
    }
    /// The audit trail the executor writes, for a provider that keeps what
    /// it needs in the action records (Route 53: the weight a restore puts
    /// back). Called once when the executor starts.
    fn attach_audit(&self, _records: &[crate::audit::Record]) {}
}

/// Which provider owns which kind of target.
#[derive(Clone, Default)]
pub struct Routes {
    by_kind: BTreeMap<TargetKind, Arc<dyn ActionProvider>>,
    /// Why a kind has no provider, when it was turned off on purpose.
    off: BTreeMap<TargetKind, String>,
}

impl Routes {
    /// One provider for every kind of target.
    pub fn all(p: Arc<dyn ActionProvider>) -> Routes {
        let mut r = Routes::default();
        for k in TargetKind::ALL {
            r.by_kind.insert(k, p.clone());
        }
        r
    }

    /// `kind` goes to `p` instead.
    pub fn with(mut self, kind: TargetKind, p: Arc<dyn ActionProvider>) -> Routes {
        self.off.remove(&kind);
        self.by_kind.insert(kind, p);
        self
    }

    /// `kind` has no provider, for this reason.
    pub fn without(mut self, kind: TargetKind, why: impl Into<String>) -> Routes {
        self.by_kind.remove(&kind);
        self.off.insert(kind, why.into());
        self
    }

    pub fn get(&self, kind: TargetKind) -> Option<&Arc<dyn ActionProvider>> {
        self.by_kind.get(&kind)
    }

    /// Every provider once.
    pub fn providers(&self) -> Vec<Arc<dyn ActionProvider>> {
        let mut out: Vec<Arc<dyn ActionProvider>> = Vec::new();
        for p in self.by_kind.values() {
            if !out.iter().any(|q| Arc::ptr_eq(q, p)) {
                out.push(p.clone());
            }
        }
        out
    }

    /// Whether `kind` was turned off on purpose.
    pub fn is_off(&self, kind: TargetKind) -> bool {
        self.off.contains_key(&kind)
    }

    /// Why nothing owns `kind`.
    pub fn why_not(&self, kind: TargetKind) -> String {
        self.off.get(&kind).cloned().unwrap_or_else(|| match kind {
            TargetKind::Database => "no database cluster is configured: add [[patroni]] to warroom.toml".into(),
            _ => "no control plane configured: add [control_plane] to warroom.toml".into(),
        })
    }

    /// The provider an audit record names (a record that names none: the
    /// one that owns regions, where the first actions went).
    pub fn by_label(&self, label: &str) -> Option<&Arc<dyn ActionProvider>> {
        if label.is_empty() {
            return self.get(TargetKind::Traffic);
        }
        self.by_kind.values().find(|p| p.answers_to(label))
    }
}

async fn json_limited(mut r: reqwest::Response) -> Result<Value, String> {
    let mut body = Vec::new();
    while let Some(chunk) =
        r.chunk().await.map_err(|e| format!("reading the answer: {}", crate::sources::redact(&e.to_string())))?
    {
        if body.len() + chunk.len() > MAX_ACTION_BODY {
            return Err(format!("answer larger than {} KiB refused", MAX_ACTION_BODY / 1024));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| format!("bad answer: {e}"))
}

/// warroom's own control-plane API (`POST /v1/actions` with an
/// `Idempotency-Key`, `GET /v1/actions?idempotencyKey=`, `GET /v1/actions/{id}`).
pub struct ControlPlaneActions {
    base: String,
    token: Option<String>,
    client: reqwest::Client,
}

impl ControlPlaneActions {
    pub fn new(base: &str, token: Option<String>, ca_bundle: Option<&std::path::Path>) -> ControlPlaneActions {
        // Mutating calls never follow a redirect: a 307/308 would re-send the
        // body, the idempotency key and the operator to another host.
        let builder = || {
            reqwest::Client::builder()
                .connect_timeout(Duration::from_secs(3))
                .redirect(reqwest::redirect::Policy::none())
                .user_agent(concat!("warroom/", env!("CARGO_PKG_VERSION")))
        };
        // The bundle was checked when the configuration was loaded; if it went
        // bad since, the platform's roots alone are used and TLS says why.
        let builder = crate::sources::health::with_ca_bundle(builder(), ca_bundle).unwrap_or_else(|_| builder());
        let client = builder.build().unwrap_or_default();
        ControlPlaneActions { base: base.trim_end_matches('/').to_string(), token, client }
    }

    fn req(&self, r: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        let r = r.timeout(REQUEST_TIMEOUT);
        match &self.token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }
}

impl ActionProvider for ControlPlaneActions {
    /// The URL without credentials or query, marked `demo` for the
    /// embedded simulator.
    fn label(&self) -> String {
        let url = crate::sources::redact(&self.base).trim_end_matches('/').to_string();
        if crate::paths::is_demo() {
            format!("demo {url}")
        } else {
            url
        }
    }

    fn owner(&self) -> &'static str {
        "the control plane"
    }

    fn send<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, Sent> {
        Box::pin(async move {
            let resp = self
                .req(self.client.post(format!("{}/v1/actions", self.base)))
                .header("Idempotency-Key", &intent.key)
                .header("X-Operator", &intent.operator.name)
                .json(&intent.action.request())
                .send()
                .await;
            match resp {
                Ok(r) => {
                    let code = r.status().as_u16();
                    if (300..400).contains(&code) {
                        return Sent::Failed(format!(
                            "HTTP {code}: a redirect, not followed for an action (check the control-plane URL)"
                        ));
                    }
                    let body: Value = json_limited(r).await.unwrap_or(Value::Null);
                    let msg = body["error"].as_str().or(body["message"].as_str()).unwrap_or("").to_string();
                    match code {
                        200..=299 => match body["id"].as_str() {
                            Some(id) => Sent::Accepted(id.to_string()),
                            None => Sent::Unknown("accepted without an action id".into()),
                        },
                        409 => Sent::Refused(msg),
                        400..=499 => Sent::Failed(format!("HTTP {code}: {msg}")),
                        _ => Sent::Unknown(format!("HTTP {code}: {msg}")),
                    }
                }
                Err(e) if e.is_connect() => {
                    Sent::Unknown(format!("cannot reach the control plane: {}", crate::sources::redact(&e.to_string())))
                }
                Err(e) => Sent::Unknown(format!("no answer: {}", crate::sources::redact(&e.to_string()))),
            }
        })
    }

    fn lookup<'a>(&'a self, key: &'a str, _request: &'a Value) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            let resp = self
                .req(self.client.get(format!("{}/v1/actions", self.base)))
                .query(&[("idempotencyKey", key)])
                .send()
                .await
                .map_err(|e| format!("cannot read action status: {}", crate::sources::redact(&e.to_string())))?;
            let body: Value = json_limited(resp).await.map_err(|e| format!("bad action status: {e}"))?;
            Ok(body["actions"].get(0).and_then(|a| a["id"].as_str()).map(String::from))
        })
    }

    fn poll<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<(ActionStatus, String)>> {
        Box::pin(async move {
            let r = self.req(self.client.get(format!("{}/v1/actions/{id}", self.base))).send().await.ok()?;
            let body: Value = json_limited(r).await.unwrap_or(Value::Null);
            let msg = body["message"].as_str().unwrap_or("").to_string();
            match body["status"].as_str() {
                Some("succeeded") => Some((ActionStatus::Succeeded, msg)),
                Some("failed") => Some((ActionStatus::Failed, msg)),
                _ => None,
            }
        })
    }
}
