//! Jump-outs: a service's (and region's) dashboards, logs, traces and
//! runbook from the configuration's `[[link]]` templates (`{service}`,
//! `{region}`, `{from}`, `{to}` filled in; `{from}`/`{to}` are the open
//! incident's window, else the last hour, in Unix milliseconds), and the
//! links its alerts carry in their annotations (`runbook_url`,
//! `dashboard`, …). Each is an OSC 8 hyperlink; a link that is not a plain
//! http(s) URL — a backend's `javascript:` or one with control characters
//! — is listed as refused and never emitted.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use warroom_ui::{Panel, Theme};

use crate::model::Snapshot;

/// One link: where it comes from, its name, and the URL or why not.
#[derive(Debug, Clone, PartialEq)]
pub struct JumpOut {
    pub from: String,
    pub name: String,
    pub url: Result<String, String>,
}

fn checked(url: &str) -> Result<String, String> {
    match warroom_ui::safe_url(url) {
        Some(u) => Ok(u.to_string()),
        None => Err("refused: not a plain http(s) URL".into()),
    }
}

/// The links for a service and/or region, configuration first.
pub fn links_for(snap: &Snapshot, service: Option<&str>, region: Option<&str>, now: DateTime<Utc>) -> Vec<JumpOut> {
    let to = snap.source_now(now);
    let from = snap.incident.as_ref().map(|i| i.impact_at).unwrap_or(to - chrono::Duration::hours(1));
    let mut out = Vec::new();
    for l in snap.links.iter() {
        if l.service.as_deref().is_some_and(|s| Some(s) != service) {
            continue;
        }
        let needs_service = l.template.contains("{service}");
        let needs_region = l.template.contains("{region}");
        if (needs_service && service.is_none()) || (needs_region && region.is_none()) {
            continue;
        }
        let url = crate::config::fill_link(
            &l.template,
            service.unwrap_or(""),
            region.unwrap_or(""),
            from.timestamp_millis(),
            to.timestamp_millis(),
        );
        out.push(JumpOut { from: "config".into(), name: l.name.clone(), url: checked(&url) });
    }
    for a in snap.fleet.alerts.items() {
        let mine = (service.is_none() || a.service.as_deref() == service)
            && (region.is_none() || a.region.as_deref() == region || a.region.is_none());
        if !mine || (service.is_none() && region.is_none()) {
            continue;
        }
        for (k, v) in &a.annotations {
            let looks = k.contains("url") || k.contains("runbook") || k.contains("dashboard") || v.contains("://");
            if looks {
                out.push(JumpOut { from: format!("alert {}", a.name), name: k.clone(), url: checked(v) });
            }
        }
    }
    out.dedup_by(|a, b| a.name == b.name && a.url == b.url);
    out
}

pub fn render(
    snap: &Snapshot,
    service: Option<&str>,
    region: Option<&str>,
    now: DateTime<Utc>,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let what = match (service, region) {
        (Some(s), Some(r)) => format!("{s} in {r}"),
        (Some(s), None) => s.to_string(),
        (None, Some(r)) => r.to_string(),
        (None, None) => "the fleet".to_string(),
    };
    let inner = Panel { title: &format!("Links · {what}"), focused: true, badge: None, theme }.render(area, buf);
    let (x, w, bottom) = (inner.x, inner.width as usize, inner.y + inner.height);
    let mut y = inner.y;
    let links = links_for(snap, service, region, now);
    if links.is_empty() {
        let why = if snap.links.is_empty() {
            "no links: add [[link]] name/url templates to warroom.toml (docs/configuration.md), or runbook_url / dashboard annotations to the alerts"
        } else {
            "no link applies here (a template with {service} or {region} needs one)"
        };
        warroom_ui::put(buf, x, y, why, w, theme.muted);
        return;
    }
    let name_w = links.iter().map(|l| l.name.chars().count()).max().unwrap_or(0).min(20) + 2;
    let from_w = links.iter().map(|l| l.from.chars().count()).max().unwrap_or(0).min(24) + 2;
    for l in &links {
        if y >= bottom {
            break;
        }
        warroom_ui::put(buf, x, y, &l.from, from_w, theme.muted);
        warroom_ui::put(buf, x + from_w as u16, y, &l.name, name_w, theme.text);
        let ux = x + (from_w + name_w) as u16;
        let uw = w.saturating_sub(from_w + name_w);
        match &l.url {
            Ok(u) => {
                warroom_ui::link(buf, ux, y, u, u, uw, theme.info);
            }
            Err(why) => {
                warroom_ui::put(buf, ux, y, why, uw, theme.warn);
            }
        }
        y += 1;
    }
    if y + 1 < bottom {
        let hint = "the links open from a terminal that follows OSC 8 hyperlinks (Ctrl/Cmd-click); Esc goes back";
        warroom_ui::put(buf, x, y + 1, hint, w, theme.muted);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::snapshot::JumpLink;
    use crate::model::{derive, Alert, AlertState, Fleet};
    use std::sync::Arc;

    #[test]
    fn templates_are_filled_and_hostile_links_refused() {
        let mut f = Fleet::default();
        let alert = Alert {
            name: "HighErrorRatio".into(),
            severity: "page".into(),
            service: Some("checkout".into()),
            region: Some("us-east-1".into()),
            state: AlertState::Firing,
            summary: String::new(),
            since: None,
            labels: Default::default(),
            annotations: [
                ("runbook_url", "https://runbooks.example.com/checkout"),
                ("dashboard", "javascript:alert(1)"),
                ("logs_url", "https://logs.example.com/\u{1b}]8;;https://evil/\u{7}x"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            silenced_by: vec![],
        };
        f.alerts.set(Utc::now(), Ok(vec![alert]));
        let mut snap = derive(f, 1);
        snap.links = Arc::new(vec![
            JumpLink {
                name: "dashboard".into(),
                template:
                    "https://grafana.example.com/d/svc?var-service={service}&var-region={region}&from={from}&to={to}"
                        .into(),
                service: None,
            },
            JumpLink { name: "fleet".into(), template: "https://status.example.com/".into(), service: None },
            JumpLink {
                name: "other".into(),
                template: "https://x.example.com/{service}".into(),
                service: Some("search".into()),
            },
        ]);
        let v = links_for(&snap, Some("checkout"), Some("us-east-1"), Utc::now());
        let url = |name: &str| v.iter().find(|l| l.name == name).map(|l| l.url.clone());
        let dash = v[0].url.clone().unwrap_or_default();
        assert!(
            dash.starts_with("https://grafana.example.com/d/svc?var-service=checkout&var-region=us-east-1&from="),
            "{dash}"
        );
        assert!(url("fleet").is_some_and(|u| u.is_ok()));
        assert!(url("other").is_none(), "another service's link");
        assert_eq!(url("runbook_url"), Some(Ok("https://runbooks.example.com/checkout".into())));
        assert!(url("logs_url").is_some_and(|u| u.is_err()), "control characters: refused");
        assert!(v.iter().filter(|l| l.name == "dashboard").any(|l| l.url.is_err()), "javascript: refused");
        // A hostile name cannot break out of the URL.
        let odd = links_for(&snap, Some("a b&c\u{7}"), Some("r"), Utc::now());
        assert!(odd[0].url.as_ref().is_ok_and(|u| u.contains("var-service=a%20b%26c%07")), "{odd:?}");
        // Drawn: only the safe links become hyperlinks.
        let mut buf = Buffer::empty(Rect::new(0, 0, 120, 20));
        let _ = warroom_ui::take_links();
        render(&snap, Some("checkout"), Some("us-east-1"), Utc::now(), &Theme::ansi(), buf.area, &mut buf);
        let drawn = warroom_ui::take_links();
        assert_eq!(drawn.len(), 3, "{drawn:?}");
        assert!(drawn.iter().all(|l| l.url.starts_with("https://") && !l.url.contains('\u{1b}')));
        for (w, h) in [(1, 1), (10, 3), (300, 100)] {
            let mut b = Buffer::empty(Rect::new(0, 0, w, h));
            render(&snap, None, None, Utc::now(), &Theme::ansi(), b.area, &mut b);
        }
    }
}
