//! Alertmanager owns silences (API v2): create (`POST /api/v2/silences`,
//! `createdBy` = the operator), extend (the same `POST` with the silence's
//! `id` and a later `endsAt`) and expire (`DELETE /api/v2/silence/{id}`).
//! Alertmanager takes no idempotency key, so the key rides in the
//! silence's comment (`… [warroom KEY]`): before sending, and after a lost
//! answer, the silences are read and a silence carrying the key means the
//! request landed — it is followed, never sent again. Expire and extend are
//! reconciled by reading the silence's state and end.

use serde_json::{json, Value};

use super::executor::Intent;
use super::provider::{ActionProvider, Sent};
use crate::model::{ActionStatus, Silence};
use crate::sources::alertmanager::Alertmanager;
use crate::viewer::BoxFuture;

pub struct AlertmanagerActions {
    am: Alertmanager,
}

/// The comment as sent: the operator's words and the intent's key.
pub fn tagged(comment: &str, key: &str) -> String {
    format!("{} [warroom {key}]", comment.trim())
}

/// The comment without the key the console added to it.
pub fn untagged(comment: &str) -> String {
    match comment.rfind(" [warroom ") {
        Some(i) if comment.ends_with(']') => comment[..i].to_string(),
        _ => comment.to_string(),
    }
}

fn rfc3339(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0).unwrap_or_default().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

impl AlertmanagerActions {
    pub fn new(am: Alertmanager) -> AlertmanagerActions {
        AlertmanagerActions { am }
    }

    fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        let (base, client, token) = self.am.parts();
        let r = client.request(method, format!("{base}{path}")).timeout(std::time::Duration::from_secs(5));
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    }

    /// Every silence Alertmanager lists now (active and pending).
    async fn silences(&self) -> Result<Vec<Silence>, String> {
        self.am.silences().await.map_err(|e| e.to_string())
    }

    /// One request's answer as the executor needs it.
    async fn answer(r: Result<reqwest::Response, reqwest::Error>, ok: impl FnOnce(&str) -> String) -> Sent {
        match r {
            Ok(resp) => {
                let code = resp.status().as_u16();
                let body = resp.text().await.unwrap_or_default();
                let text: String = crate::sources::alertmanager::one_line(&body).chars().take(200).collect::<String>();
                match code {
                    200..=299 => Sent::Accepted(ok(&body)),
                    401 | 403 => Sent::Failed(format!(
                        "Alertmanager refused the credentials (HTTP {code}); check token_env under [alertmanager]"
                    )),
                    400 | 404 | 422 => Sent::Refused(format!("HTTP {code}: {text}")),
                    _ => Sent::Failed(format!("Alertmanager HTTP {code}: {text}")),
                }
            }
            // Never reached it: nothing happened.
            Err(e) if e.is_connect() => Sent::Failed(format!("Alertmanager unreachable, nothing sent: {e}")),
            Err(e) => Sent::Unknown(format!("no answer from Alertmanager: {e}")),
        }
    }

    async fn send_inner(&self, intent: &Intent) -> Sent {
        let request = intent.action.request();
        match request["kind"].as_str() {
            Some("silence") => {
                let found = match self.silences().await {
                    Ok(list) => list.into_iter().find(|s| s.comment.contains(&format!("[warroom {}]", intent.key))),
                    Err(e) => return Sent::Failed(format!("cannot read the silences, nothing sent: {e}")),
                };
                if let Some(s) = found {
                    return Sent::Accepted(format!("silence:{}", s.id));
                }
                let matchers: Vec<Value> = request["matchers"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|m| json!({"name": m[0], "value": m[1], "isRegex": false, "isEqual": true}))
                    .collect();
                let now = chrono::Utc::now().timestamp();
                let secs = request["durationSecs"].as_i64().unwrap_or(0);
                let body = json!({
                    "matchers": matchers,
                    "startsAt": rfc3339(now),
                    "endsAt": rfc3339(now + secs),
                    "createdBy": intent.operator.name,
                    "comment": tagged(request["comment"].as_str().unwrap_or(""), &intent.key),
                });
                let r = self.req(reqwest::Method::POST, "/api/v2/silences").json(&body).send().await;
                Self::answer(r, |b| {
                    let id =
                        serde_json::from_str::<Value>(b).ok().and_then(|v| v["silenceID"].as_str().map(String::from));
                    format!("silence:{}", id.unwrap_or_default())
                })
                .await
            }
            Some("expireSilence") => {
                let id = request["id"].as_str().unwrap_or("").to_string();
                match self.silences().await {
                    Ok(list) if !list.iter().any(|s| s.id == id) => {
                        return Sent::Accepted(format!("in-effect-expired:{id}"));
                    }
                    Ok(_) => {}
                    Err(e) => return Sent::Failed(format!("cannot read the silences, nothing sent: {e}")),
                }
                let r = self.req(reqwest::Method::DELETE, &format!("/api/v2/silence/{id}")).send().await;
                Self::answer(r, |_| format!("expired:{id}")).await
            }
            Some("extendSilence") => {
                let id = request["id"].as_str().unwrap_or("").to_string();
                let until = request["until"].as_i64().unwrap_or(0);
                let s = match self.silences().await {
                    Ok(list) => match list.into_iter().find(|s| s.id == id) {
                        Some(s) => s,
                        None => return Sent::Refused(format!("silence {id} is no longer active")),
                    },
                    Err(e) => return Sent::Failed(format!("cannot read the silences, nothing sent: {e}")),
                };
                if s.ends_at.is_some_and(|e| e.timestamp() >= until) {
                    return Sent::Accepted(format!("in-effect-extended:{id}:{until}"));
                }
                let matchers: Vec<Value> = s
                    .matchers
                    .iter()
                    .map(|m| json!({"name": m.name, "value": m.value, "isRegex": m.is_regex, "isEqual": m.is_equal}))
                    .collect();
                let body = json!({
                    "id": id,
                    "matchers": matchers,
                    "startsAt": s.starts_at.map(|t| rfc3339(t.timestamp())).unwrap_or_else(|| rfc3339(chrono::Utc::now().timestamp())),
                    "endsAt": rfc3339(until),
                    "createdBy": intent.operator.name,
                    "comment": s.comment,
                });
                let r = self.req(reqwest::Method::POST, "/api/v2/silences").json(&body).send().await;
                Self::answer(r, |b| {
                    let new =
                        serde_json::from_str::<Value>(b).ok().and_then(|v| v["silenceID"].as_str().map(String::from));
                    format!("extended:{}:{until}", new.unwrap_or(id.clone()))
                })
                .await
            }
            _ => Sent::Failed(format!("Alertmanager owns silences only, not '{}'", intent.action.summary())),
        }
    }
}

impl ActionProvider for AlertmanagerActions {
    fn label(&self) -> String {
        format!("alertmanager {}", self.am.parts().0)
    }

    fn owner(&self) -> &'static str {
        "Alertmanager"
    }

    fn send<'a>(&'a self, intent: &'a Intent) -> BoxFuture<'a, Sent> {
        Box::pin(self.send_inner(intent))
    }

    /// By reading: a silence carrying the key; a silence gone (expired);
    /// a silence ending at or after the wanted time (extended).
    fn lookup<'a>(&'a self, key: &'a str, request: &'a Value) -> BoxFuture<'a, Result<Option<String>, String>> {
        Box::pin(async move {
            let list = self.silences().await?;
            let id = request["id"].as_str().unwrap_or("");
            Ok(match request["kind"].as_str() {
                Some("silence") => list
                    .iter()
                    .find(|s| s.comment.contains(&format!("[warroom {key}]")))
                    .map(|s| format!("silence:{}", s.id)),
                Some("expireSilence") => (!list.iter().any(|s| s.id == id)).then(|| format!("expired:{id}")),
                Some("extendSilence") => {
                    let until = request["until"].as_i64().unwrap_or(i64::MAX);
                    list.iter()
                        .find(|s| s.id == id && s.ends_at.is_some_and(|e| e.timestamp() >= until))
                        .map(|s| format!("extended:{}:{until}", s.id))
                }
                _ => None,
            })
        })
    }

    fn poll<'a>(&'a self, id: &'a str) -> BoxFuture<'a, Option<(ActionStatus, String)>> {
        Box::pin(async move {
            let (kind, rest) = id.split_once(':')?;
            let list = self.silences().await.ok()?;
            let sid = rest.split(':').next().unwrap_or(rest);
            let live = list.iter().find(|s| s.id == sid);
            let until = |s: &Silence| {
                s.ends_at.map(|t| t.format("%Y-%m-%d %H:%M UTC").to_string()).unwrap_or_else(|| "?".into())
            };
            match (kind, live) {
                ("silence", Some(s)) => Some((
                    ActionStatus::Succeeded,
                    format!("silence {} {} until {} ({})", s.id, s.state, until(s), s.matchers_words()),
                )),
                ("silence", None) => Some((
                    ActionStatus::Failed,
                    format!("silence {sid} was accepted but Alertmanager does not list it"),
                )),
                ("expired" | "in-effect-expired", None) => {
                    let already = if kind == "expired" { "" } else { "already expired; nothing sent: " };
                    Some((ActionStatus::Succeeded, format!("{already}silence {sid} expired: its alerts notify again")))
                }
                ("extended" | "in-effect-extended", Some(s)) => {
                    let already = if kind == "extended" { "" } else { "already in effect, nothing sent: " };
                    Some((ActionStatus::Succeeded, format!("{already}silence {} now ends {}", s.id, until(s))))
                }
                // Alertmanager answered; its list catches up within a poll.
                _ => None,
            }
        })
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_key_rides_in_the_comment() {
        assert_eq!(super::tagged(" deploy 42 is bad ", "wr-1"), "deploy 42 is bad [warroom wr-1]");
        assert_eq!(super::untagged("deploy 42 is bad [warroom wr-1]"), "deploy 42 is bad");
        assert_eq!(super::untagged("set by hand"), "set by hand");
    }
}
