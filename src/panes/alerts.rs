//! Firing alerts, grouped by region and service; silenced and inhibited
//! alerts stay visible and say so.

use chrono::{DateTime, Utc};
use warroom_ui::{Align, Cell, Column, LazyRows, Level, Theme};

use super::common::{feed_badge, fmt_age, short_region};
use super::{Ctx, Kind, Pane, PaneContent, Spec};
use crate::model::{Alert, AlertState, Snapshot};

pub fn alert_level(a: &Alert) -> (Level, &'static str) {
    match a.state {
        AlertState::Silenced => (Level::Paused, "SILENCED"),
        AlertState::Inhibited => (Level::Unknown, "INHIBITED"),
        AlertState::Firing if matches!(a.severity.as_str(), "page" | "critical") => (Level::Critical, "FIRING"),
        AlertState::Firing => (Level::Warn, "FIRING"),
    }
}

pub fn build<'a>(
    snap: &'a Snapshot,
    view: &Ctx<'_>,
    now: DateTime<Utc>,
    theme: &'a Theme,
    _width: u16,
) -> PaneContent<'a> {
    let f = &snap.fleet;
    let columns = vec![
        Column::new("state", 10, Align::Left, 0),
        Column::new("alert", 14, Align::Left, 0),
        // The *where* is the last column to go.
        Column::new("where", 12, Align::Left, 1),
        Column::new("for", 5, Align::Right, 2),
        Column::new("summary", 16, Align::Left, 3).flex(),
    ];
    let items: Vec<&Alert> = view.visible_alerts(snap, now);
    let firing = items.iter().filter(|a| a.state == AlertState::Firing).count();
    let rows = LazyRows {
        len: items.len(),
        make: move |i: usize| {
            let a = items[i];
            let (level, word) = alert_level(a);
            let place = match (&a.service, &a.region) {
                (Some(s), Some(r)) => format!("{s}/{}", short_region(r)),
                (None, Some(r)) => r.clone(),
                (Some(s), None) => s.clone(),
                (None, None) => "—".into(),
            };
            // In the source's clock (Alertmanager's `Date`; simulated time in the demo).
            let age = a.since.map(|s| fmt_age(snap.fleet.alerts.age_of(s, now))).unwrap_or_else(|| "—".into());
            vec![
                Cell::new(format!("{} {word}", level.glyph(theme.ascii)), theme.level(level)),
                Cell::new(a.name.clone(), theme.text),
                Cell::new(place, theme.muted),
                Cell::new(age, theme.muted),
                Cell::new(a.summary.clone(), theme.muted),
            ]
        },
    };
    PaneContent {
        rows: Box::new(rows),
        title: match f.alerts.state(now) {
            crate::model::FeedState::NotConfigured => "Alerts · not configured".to_string(),
            _ if f.alerts.observed_at.is_none() => "Alerts".to_string(),
            _ => format!("Alerts · {firing} firing"),
        },
        badge: Some(feed_badge(&f.alerts, now, theme)),
        error: f.alerts.error_text(),
        columns,
        selected: Some(view.row(Kind::Alerts)),
        selected_col: None,
        empty: super::common::pane_empty(view, &f.alerts, now, "no alerts firing"),
        sort_cols: Vec::new(),
    }
}

/// The `alerts` pane kind.
pub struct AlertsPane;

impl Pane for AlertsPane {
    fn kind(&self) -> Kind {
        Kind::Alerts
    }
    fn name(&self) -> &'static str {
        "alerts"
    }
    fn title(&self) -> &'static str {
        "Alerts"
    }
    /// A count, not the sorted list (asked for on every frame).
    fn len(&self, ctx: &Ctx<'_>) -> usize {
        let alerts = ctx.snap.fleet.alerts.items();
        alerts.iter().filter(|a| a.service.as_deref().is_none_or(|s| ctx.shows(s))).count()
    }
    fn is_empty(&self, snap: &Snapshot) -> bool {
        snap.fleet.alerts.items().is_empty() && snap.fleet.alerts.error.is_none()
    }
    fn sort_columns(&self, _regions: usize) -> Vec<usize> {
        vec![0, 1, 2, 3]
    }
    fn column_names(&self) -> &'static [&'static str] {
        &["state", "alert", "where", "for"]
    }
    fn numeric_column(&self, col: usize) -> bool {
        matches!(col, 0 | 3)
    }
    fn acts_on(&self) -> Option<super::ActsOn> {
        Some(super::ActsOn::Alert)
    }
    fn enter(&self, ctx: &Ctx<'_>) -> Option<super::Screen> {
        let list = ctx.visible_alerts(ctx.snap, ctx.now);
        list.get(ctx.row(Kind::Alerts)).map(|a| super::Screen::Alert(a.identity()))
    }
    fn content<'a>(&self, ctx: &Ctx<'a>, _spec: Spec<'_>, width: u16) -> Option<PaneContent<'a>> {
        Some(build(ctx.snap, ctx, ctx.now, ctx.theme, width))
    }
}
