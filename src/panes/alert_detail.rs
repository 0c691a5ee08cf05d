//! Alert drill-down: state, where and since when, the silences that mute
//! it, every label and annotation, and its links (`runbook_url`,
//! `dashboard`, any annotation that is an http(s) URL) as OSC 8 hyperlinks.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use warroom_ui::{Panel, Theme};

use super::alerts::alert_level;
use super::common::{feed_badge, fmt_age};
use crate::model::Snapshot;

/// Annotations that name a link, first in the links list.
const LINK_ANNOTATIONS: [&str; 4] = ["runbook_url", "runbook", "dashboard", "dashboard_url"];

pub fn render(snap: &Snapshot, id: &str, now: DateTime<Utc>, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let f = &snap.fleet;
    let Some(a) = f.alerts.items().iter().find(|a| a.identity() == id) else {
        let name = id.split('{').next().unwrap_or(id);
        super::common::not_reported("alert", name, theme, area, buf);
        return;
    };
    let badge = Some(feed_badge(&f.alerts, now, theme));
    let inner = Panel { title: &format!("Alert {}", a.name), focused: true, badge, theme }.render(area, buf);
    let (x, w, bottom) = (inner.x, inner.width as usize, inner.y + inner.height);
    let mut y = inner.y;
    let (lv, word) = alert_level(a);
    let place = match (&a.service, &a.region) {
        (Some(s), Some(r)) => format!("{s} in {r}"),
        (None, Some(r)) => r.clone(),
        (Some(s), None) => s.clone(),
        (None, None) => "no service or region label".into(),
    };
    let since = a.since.map(|s| format!(" · for {}", fmt_age(f.alerts.age_of(s, now)))).unwrap_or_default();
    let sev = if a.severity.is_empty() { String::new() } else { format!(" {}", a.severity) };
    let head = format!("{} {word}{sev} · {place}{since}", lv.glyph(theme.ascii));
    {
        let mut line = |text: &str, style, y: &mut u16| {
            if *y < bottom {
                warroom_ui::put(buf, x, *y, text, w, style);
                *y += 1;
            }
        };
        line(&head, theme.level(lv), &mut y);
        if !a.summary.is_empty() {
            line(&a.summary, theme.text, &mut y);
        }
        let silenced = if a.silenced_by.is_empty() {
            "not silenced · z silences it".to_string()
        } else {
            format!("silenced by {}", a.silenced_by.join(", "))
        };
        line(&silenced, theme.muted, &mut y);
    }
    let key_w = a.labels.keys().chain(a.annotations.keys()).map(|k| k.chars().count()).max().unwrap_or(0).min(24) + 2;
    // Links first: what an on-call engineer opens next.
    let mut links: Vec<(&str, &str)> = Vec::new();
    for k in LINK_ANNOTATIONS {
        if let Some(v) = a.annotations.get(k).filter(|v| warroom_ui::safe_url(v).is_some()) {
            links.push((k, v));
        }
    }
    for (k, v) in &a.annotations {
        if !LINK_ANNOTATIONS.contains(&k.as_str()) && warroom_ui::safe_url(v).is_some() {
            links.push((k, v));
        }
    }
    let mut section = |title: &str, rows: &[(&str, &str)], as_links: bool, y: &mut u16| {
        if rows.is_empty() || *y + 1 >= bottom {
            return;
        }
        *y += 1;
        warroom_ui::put(buf, x, *y, title, w, theme.title);
        *y += 1;
        for (k, v) in rows {
            if *y >= bottom {
                return;
            }
            warroom_ui::put(buf, x + 1, *y, k, key_w, theme.muted);
            let vx = x + 1 + key_w as u16;
            let vw = w.saturating_sub(1 + key_w);
            if as_links {
                warroom_ui::link(buf, vx, *y, v, v, vw, theme.info);
            } else {
                warroom_ui::put(buf, vx, *y, v, vw, theme.text);
            }
            *y += 1;
        }
    };
    section("Links", &links, true, &mut y);
    let labels: Vec<(&str, &str)> = a.labels.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
    section("Labels", &labels, false, &mut y);
    // The rest of the annotations (the links are listed above).
    let notes: Vec<(&str, &str)> = a
        .annotations
        .iter()
        .filter(|(k, _)| !links.iter().any(|(l, _)| l == k))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    section("Annotations", &notes, false, &mut y);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{derive, Alert, AlertState, Fleet};

    fn text(buf: &Buffer) -> String {
        let a = buf.area;
        (0..a.height)
            .map(|y| (0..a.width).filter_map(|x| buf.cell((x, y)).map(|c| c.symbol().to_string())).collect::<String>())
            .collect::<Vec<_>>()
            .join("\n")
    }

    #[test]
    fn labels_annotations_and_safe_links_are_shown() {
        let mut f = Fleet::default();
        let alert = Alert {
            name: "HighErrorRatio".into(),
            severity: "page".into(),
            service: Some("checkout".into()),
            region: Some("us-east-1".into()),
            state: AlertState::Firing,
            summary: "error ratio above 1%".into(),
            since: Some(Utc::now()),
            labels: [("alertname", "HighErrorRatio"), ("service", "checkout"), ("region", "us-east-1")]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            annotations: [
                ("summary", "error ratio above 1%"),
                ("runbook_url", "https://runbooks.example.com/high-errors"),
                ("dashboard", "javascript:alert(1)"),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
            silenced_by: vec![],
        };
        let id = alert.identity();
        f.alerts.set(Utc::now(), Ok(vec![alert]));
        let snap = derive(f, 1);
        let mut buf = Buffer::empty(Rect::new(0, 0, 80, 20));
        let _ = warroom_ui::take_links();
        render(&snap, &id, Utc::now(), &Theme::ansi(), buf.area, &mut buf);
        let t = text(&buf);
        assert!(t.contains("FIRING page · checkout in us-east-1"), "{t}");
        assert!(t.contains("not silenced · z silences it"), "{t}");
        assert!(t.contains("Labels") && t.contains("alertname") && t.contains("Annotations"), "{t}");
        assert!(t.contains("javascript:alert(1)"), "shown as text: {t}");
        let links = warroom_ui::take_links();
        assert_eq!(links.len(), 1, "{links:?}");
        assert_eq!(links[0].url, "https://runbooks.example.com/high-errors");
        // Every size, tiny included, draws without a panic.
        for (w, h) in [(1, 1), (10, 3), (200, 60)] {
            let mut b = Buffer::empty(Rect::new(0, 0, w, h));
            render(&snap, &id, Utc::now(), &Theme::ansi(), b.area, &mut b);
        }
        let mut b = Buffer::empty(Rect::new(0, 0, 60, 3));
        render(&snap, "Gone{}", Utc::now(), &Theme::ansi(), b.area, &mut b);
        assert!(text(&b).contains("alert Gone is not reported"));
    }
}
