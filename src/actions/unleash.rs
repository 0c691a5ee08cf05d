//! Flags in Unleash: turn a flag on or off in an environment (`POST
//! …/environments/{env}/on|off`) and change a gradual rollout's percentage
//! (`PUT …/strategies/{id}` with the strategy as read, only `rollout`
//! changed: stickiness, group, constraints, segments and variants kept).
//!
//! Unleash has no idempotency key, so every send reads the flag first and
//! treats "already in that state" as done; an answer that never came is
//! settled by reading the flag (`lookup`), never by a blind resend; an
//! accepted change is read back until Unleash shows it.
//!
//! The accepted id is `PROJECT/FLAG/ENV ON|OFF|N%` (Unleash names are
//! URL-friendly: no spaces, no slashes); `already: …` when nothing was sent.

use std::sync::Arc;

use serde_json::{json, Value};

use super::executor::Intent;
use super::provider::{ActionProvider, Sent};
use crate::model::ActionStatus;
use crate::sources::unleash::{answer_words, seg, Unleash};
use crate::viewer::BoxFuture;

pub struct UnleashActions {
    unleash: Arc<Unleash>,
}

/// What a flag request wants.
#[derive(Debug, Clone, PartialEq)]
enum Want {
    On(bool),
    Percent(u8),
}

impl Want {
    fn words(&self) -> String {
        match self {
            Want::On(true) => "ON".into(),
            Want::On(false) => "OFF".into(),
            Want::Percent(p) => format!("{p}%"),
        }
    }

    /// Whether an environment already is as wanted.
    fn holds(&self, e: &crate::sources::unleash::EnvWire) -> bool {
        match self {
            Want::On(on) => e.enabled == *on,
            Want::Percent(p) => e.gradual().is_some_and(|(_, now)| now == *p),
        }
    }

    fn parse(w: &str) -> Option<Want> {
        match w {
            "ON" => Some(Want::On(true)),
            "OFF" => Some(Want::On(false)),
            p => p.strip_suffix('%')?.parse().ok().map(Want::Percent),
        }
    }
}

/// (project, flag, environment, want) of a request.
fn target(request: &Value) -> Result<(String, String, String, Want), String> {
    let project = request["source"]
        .as_str()
        .and_then(|s| s.strip_prefix("unleash:"))
        .ok_or("not an Unleash flag (its source is not unleash:PROJECT)")?;
    let s = |k: &str| request[k].as_str().map(String::from).ok_or(format!("the request has no {k}"));
    let want = match request["kind"].as_str() {
        Some("flagOn") => Want::On(true),
        Some("flagOff") => Want::On(false),
        Some("flagRollout") => {
            let p = request["percent"].as_u64().filter(|p| *p <= 100).ok_or("the request has no percentage")?;
            Want::Percent(p as u8)
        }
        _ => return Err("not a flag action".into()),
    };
    Ok((project.to_string(), s("flag")?, s("environment")?, want))
}

fn id_of(project: &str, flag: &str, env: &str, want: &Want) -> String {
    format!("{project}/{flag}/{env} {}", want.words())
}

impl UnleashActions {
    pub fn new(unleash: Arc<Unleash>) -> UnleashActions {
        UnleashActions { unleash }
    }

    /// Whether the flag is as wanted now, read from Unleash.
    async fn in_effect(&self, project: &str, flag: &str, env: &str, want: &Want) -> Result<bool, String> {
        let f = self.unleash.feature(project, flag).await.map_err(|e| e.to_string())?;
        let e = f.env(env).ok_or_else(|| format!("{flag} has no environment {env} in Unleash"))?;
        Ok(want.holds(e))
    }

    /// The change itself, once the flag has been read and is not yet as
    /// wanted: the request to send.
    fn change(
        &self,
        project: &str,
        flag: &str,
        env: &crate::sources::unleash::EnvWire,
        want: &Want,
    ) -> Result<reqwest::RequestBuilder, String> {
        let base =
            format!("/api/admin/projects/{}/features/{}/environments/{}", seg(project), seg(flag), seg(&env.name));
        match want {
            Want::On(on) => {
                let path = format!("{base}/{}", if *on { "on" } else { "off" });
                Ok(self.unleash.request(reqwest::Method::POST, &path))
            }
            Want::Percent(p) => {
                let n = env.active().filter(|s| s["name"] == "flexibleRollout").count();
                let (s, _) = env.gradual().ok_or_else(|| {
                    format!("{flag} in {} has {n} gradual rollouts in effect; exactly one can be changed", env.name)
                })?;
                let id = s["id"].as_str().ok_or("the gradual rollout has no id")?;
                let mut body = json!({});
                for k in ["name", "title", "disabled", "sortOrder", "constraints", "parameters", "segments", "variants"]
                {
                    if !s[k].is_null() || k == "title" {
                        body[k] = s[k].clone();
                    }
                }
                body["parameters"]["rollout"] = json!(p.to_string());
                let path = format!("{base}/strategies/{}", seg(id));
                Ok(self.unleash.request(reqwest::Method::PUT, &path).json(&body))
            }
        }
    }

    async fn send_inner(&self, intent: &Intent) -> Sent {
        let (project, flag, env, want) = match target(&intent.action.request()) {
            Ok(t) => t,
            Err(e) => return Sent::Failed(format!("nothing sent: {e}")),
        };
        // Read first: Unleash has no idempotency key.
        let f = match self.unleash.feature(&project, &flag).await {
            Ok(f) => f,
            Err(e) => return Sent::Failed(format!("nothing sent: reading {flag} from Unleash: {e}")),
        };
        let Some(e) = f.env(&env) else {
            return Sent::Failed(format!("nothing sent: {flag} has no environment {env} in Unleash"));
        };
        if want.holds(e) {
            return Sent::Accepted(format!("already: {flag} is {} in {env} (read before sending)", want.words()));
        }
        let req = match self.change(&project, &flag, e, &want) {
            Ok(r) => r,
            Err(why) => return Sent::Failed(format!("nothing sent: {why}")),
        };
        match req.timeout(std::time::Duration::from_secs(5)).send().await {
            Ok(resp) => {
                let code = resp.status().as_u16();
                let body = resp.bytes().await.unwrap_or_default();
                match code {
                    200..=299 => Sent::Accepted(id_of(&project, &flag, &env, &want)),
                    // A server error may or may not have applied it: read.
                    500..=599 => Sent::Unknown(format!("HTTP {code}: {}", answer_words(&body))),
                    404 => Sent::Failed(format!("HTTP 404: {}", answer_words(&body))),
                    _ => Sent::Refused(format!("HTTP {code}: {}", answer_words(&body))),
                }
            }
            // Never reached Unleash: nothing happened.
            Err(e) if e.is_connect() => Sent::Failed(format!("nothing sent: Unleash unreachable ({e})")),
            Err(e) => Sent::Unknown(crate::sources::redact(&e.to_string())),
        }
    }
}

impl ActionProvider for UnleashActions {
    fn label(&self) -> String {
        format!("unleash {}", self.unleash.base())
    }

    fn owner(&self) -> &'static str {
        "Unleash"
    }

    fn send<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, Sent> {
        Box::pin(self.send_inner(intent))
    }

    /// In effect when Unleash shows the flag as wanted (read, never resent).
    fn lookup<'a>(&'a self, _key: &'a str, request: &'a Value) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            let (project, flag, env, want) = target(request)?;
            let yes = self.in_effect(&project, &flag, &env, &want).await?;
            Ok(yes.then(|| id_of(&project, &flag, &env, &want)))
        })
    }

    /// Done once Unleash reads back as wanted.
    fn poll<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<(ActionStatus, String)>> {
        Box::pin(async move {
            if let Some(text) = id.strip_prefix("already: ") {
                return Some((ActionStatus::Succeeded, format!("already in effect: {text}")));
            }
            let parsed = id.split_once(' ').and_then(|(path, w)| {
                let mut p = path.splitn(3, '/');
                Some((p.next()?, p.next()?, p.next()?, Want::parse(w)?))
            });
            let Some((project, flag, env, want)) = parsed else {
                return Some((ActionStatus::Failed, format!("unreadable action id {id}")));
            };
            match self.in_effect(project, flag, env, &want).await {
                Ok(true) => Some((
                    ActionStatus::Succeeded,
                    format!("{flag} is {} in {env} (read back from Unleash)", want.words()),
                )),
                _ => None,
            }
        })
    }
}

/// Flag actions by where the flag lives: an Unleash flag (`source` =
/// `unleash:PROJECT`) goes to Unleash, every other to the control plane
/// (when one owns flags).
pub struct FlagActions {
    pub unleash: Arc<UnleashActions>,
    pub control_plane: Option<Arc<dyn ActionProvider>>,
}

/// Which backend a flag request goes to.
enum Which<'a> {
    Unleash(&'a UnleashActions),
    ControlPlane(&'a dyn ActionProvider),
}

impl Which<'_> {
    fn provider(&self) -> &dyn ActionProvider {
        match self {
            Which::Unleash(u) => *u,
            Which::ControlPlane(c) => *c,
        }
    }

    /// The id poll reads: prefixed with the backend.
    fn tag(&self, id: String) -> String {
        match self {
            Which::Unleash(_) => format!("unleash:{id}"),
            Which::ControlPlane(_) => format!("cp:{id}"),
        }
    }
}

impl FlagActions {
    fn of(&self, request: &Value) -> Result<Which<'_>, String> {
        let to_unleash =
            request["source"].as_str().is_some_and(|s| s.starts_with("unleash:")) || request["kind"] == "flagRollout";
        if to_unleash {
            return Ok(Which::Unleash(&self.unleash));
        }
        self.control_plane
            .as_deref()
            .map(Which::ControlPlane)
            .ok_or_else(|| "this flag is not in Unleash and no control plane owns flags here".to_string())
    }
}

impl ActionProvider for FlagActions {
    fn label(&self) -> String {
        match &self.control_plane {
            Some(c) => format!("{}, {}", self.unleash.label(), c.label()),
            None => self.unleash.label(),
        }
    }

    fn label_for(&self, request: &Value) -> String {
        self.of(request).map(|w| w.provider().label_for(request)).unwrap_or_else(|_| self.label())
    }

    fn answers_to(&self, label: &str) -> bool {
        self.unleash.answers_to(label) || self.control_plane.as_ref().is_some_and(|c| c.answers_to(label))
    }

    fn owner(&self) -> &'static str {
        "the flag's backend"
    }

    fn send<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, Sent> {
        Box::pin(async move {
            let request = intent.action.request();
            match self.of(&request) {
                Ok(w) => match w.provider().send(intent).await {
                    Sent::Accepted(id) => Sent::Accepted(w.tag(id)),
                    other => other,
                },
                Err(e) => Sent::Failed(e),
            }
        })
    }

    fn lookup<'a>(&'a self, key: &'a str, request: &'a Value) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            let w = self.of(request)?;
            let found = w.provider().lookup(key, request).await?;
            Ok(found.map(|id| w.tag(id)))
        })
    }

    fn poll<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<(ActionStatus, String)>> {
        Box::pin(async move {
            if let Some(inner) = id.strip_prefix("unleash:") {
                return self.unleash.poll(inner).await;
            }
            match (id.strip_prefix("cp:"), &self.control_plane) {
                (Some(inner), Some(c)) => c.poll(inner).await,
                _ => Some((ActionStatus::Failed, format!("unreadable action id {id}"))),
            }
        })
    }

    fn attach_audit(&self, records: &[crate::audit::Record]) {
        if let Some(c) = &self.control_plane {
            c.attach_audit(records);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::actions::Action;

    #[test]
    fn requests_name_their_project_and_ids_read_back() {
        let a = Action::SetRollout {
            flag: "new-checkout".into(),
            environment: "production".into(),
            source: "unleash:default".into(),
            percent: 25,
        };
        let t = target(&a.request()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(t, ("default".into(), "new-checkout".into(), "production".into(), Want::Percent(25)));
        let id = id_of(&t.0, &t.1, &t.2, &t.3);
        assert_eq!(id, "default/new-checkout/production 25%");
        assert_eq!(Want::parse("25%"), Some(Want::Percent(25)));
        assert_eq!(Want::parse("OFF"), Some(Want::On(false)));
        let cp =
            Action::SetFlag { flag: "f".into(), environment: "prod".into(), on: true, source: "control-plane".into() };
        assert!(target(&cp.request()).is_err(), "a control-plane flag is not Unleash's");
        assert!(cp.request().get("source").is_none(), "the control plane's body is unchanged");
    }
}
