//! Error budgets: remaining share of the period's budget, current burn rate
//! and the multiwindow alert state per service.

use chrono::{DateTime, Utc};
use warroom_ui::{bar, Align, Cell, Column, LazyRows, Level, Theme};

use super::common::{feed_badge, fmt_hours, mark_stale};
use super::{Ctx, Kind, Pane, PaneContent, Screen, Spec};
use crate::model::slo::AlertState;
use crate::model::snapshot::SloStatus;
use crate::model::{SloKind, Snapshot};

pub fn state_badge(s: AlertState) -> (Level, &'static str) {
    match s {
        AlertState::Exhausted => (Level::Critical, "EXHAUSTED"),
        AlertState::Page => (Level::Critical, "PAGE"),
        AlertState::Low => (Level::Warn, "LOW"),
        AlertState::Ticket => (Level::Warn, "TICKET"),
        AlertState::Ok => (Level::Ok, "OK"),
        AlertState::NoData => (Level::Unknown, "NO DATA"),
    }
}

/// "avail" or "lat".
pub fn kind_word(k: SloKind) -> &'static str {
    match k {
        SloKind::Availability => "avail",
        SloKind::Latency { .. } => "lat",
    }
}

/// "99.9 avail 30d", "99 <300ms 30d", "99.95 avail month".
pub fn slo_label(s: &SloStatus) -> String {
    let kind = match s.kind {
        SloKind::Availability => "avail".to_string(),
        SloKind::Latency { threshold_ms } => format!("<{threshold_ms:.0}ms"),
    };
    format!("{} {kind} {}", s.objective, s.period.label())
}

/// Worst first: alert state, then least budget left.
pub fn sorted(slos: &[SloStatus]) -> Vec<&SloStatus> {
    let mut v: Vec<&SloStatus> = slos.iter().collect();
    v.sort_by(|a, b| {
        b.state
            .cmp(&a.state)
            .then(a.remaining.unwrap_or(f64::INFINITY).total_cmp(&b.remaining.unwrap_or(f64::INFINITY)))
    });
    v
}

pub fn build<'a>(
    snap: &'a Snapshot,
    view: &Ctx<'_>,
    now: DateTime<Utc>,
    theme: &'a Theme,
    width: u16,
) -> PaneContent<'a> {
    let bar_w = if width >= 60 { 10 } else { 5 };
    let columns = vec![
        Column::new("slo", 15, Align::Left, 0),
        Column::new("objective", 16, Align::Left, 3),
        // Room for the bar and "-427.0%": a number is never cut.
        Column::new("budget left", bar_w as u16 + 8, Align::Left, 0),
        Column::new("burn1h", 6, Align::Right, 1),
        Column::new("state", 11, Align::Left, 0),
        Column::new("exhaust", 7, Align::Right, 2),
    ];
    let stale = snap.fleet.metrics.is_stale(now);
    let items: Vec<&SloStatus> = view.visible_slos(snap);
    let rows = LazyRows {
        len: items.len(),
        make: move |i: usize| {
            let s = items[i];
            let (rem_text, rem_style) = match s.remaining {
                None => ("no data".to_string(), theme.muted),
                // Too few events so far to say a share: the counts instead.
                Some(_) if s.early_in_period => {
                    (format!("early {:.0}/{:.0}", s.consumed_bad.unwrap_or(0.0), s.total), theme.muted)
                }
                Some(r) => {
                    let style = if r < 0.0 {
                        theme.critical
                    } else if r < 0.25 {
                        theme.warn
                    } else {
                        theme.ok
                    };
                    (format!("{} {:>5.1}%", bar(r, bar_w, theme.ascii), r * 100.0), Theme::solid(style))
                }
            };
            let burn = s.burn("1h");
            let burn_text = burn.map(|b| format!("{b:.1}×")).unwrap_or_else(|| "—".into());
            let (level, word) = if s.low_traffic && s.state < AlertState::Low {
                (Level::Unknown, "LOW TRAF")
            } else {
                state_badge(s.state)
            };
            let exhaust = match (s.remaining, s.hours_to_exhaustion) {
                (Some(r), _) if r <= 0.0 => "spent".to_string(),
                _ if s.early_in_period => "—".to_string(),
                (_, Some(h)) if h > s.period_hours => format!(">{}", s.period.label()),
                (_, Some(h)) => fmt_hours(h),
                _ => "—".into(),
            };
            let mut row = vec![
                Cell::new(format!("{} {}", s.service, kind_word(s.kind)), theme.text),
                Cell::new(slo_label(s), theme.muted),
                Cell::new(rem_text, rem_style),
                Cell::new(burn_text, if burn.unwrap_or(0.0) > 1.0 { theme.warn } else { theme.text }),
                Cell::new(format!("{} {word}", level.glyph(theme.ascii)), theme.level(level)),
                Cell::new(exhaust, theme.muted),
            ];
            mark_stale(&mut row, stale, theme);
            row
        },
    };
    PaneContent {
        rows: Box::new(rows),
        title: "Error budgets".into(),
        badge: Some(feed_badge(&snap.fleet.metrics, now, theme)),
        error: snap.fleet.metrics.error_text(),
        columns,
        selected: Some(view.row(Kind::Budgets)),
        selected_col: None,
        empty: super::common::pane_empty(view, &snap.fleet.metrics, now, "waiting for SLOs and counts…"),
        sort_cols: Vec::new(),
    }
}

/// The `budgets` pane kind.
pub struct BudgetsPane;

impl Pane for BudgetsPane {
    fn kind(&self) -> Kind {
        Kind::Budgets
    }
    fn name(&self) -> &'static str {
        "budgets"
    }
    fn title(&self) -> &'static str {
        "Error budgets"
    }
    fn len(&self, ctx: &Ctx<'_>) -> usize {
        ctx.visible_slos(ctx.snap).len()
    }
    fn is_empty(&self, snap: &Snapshot) -> bool {
        snap.slos.is_empty()
    }
    fn enter(&self, ctx: &Ctx<'_>) -> Option<Screen> {
        ctx.visible_slos(ctx.snap).get(ctx.row(Kind::Budgets)).map(|s| Screen::Slo(s.name.clone()))
    }
    fn sort_columns(&self, _regions: usize) -> Vec<usize> {
        vec![0, 1, 2, 3, 4, 5]
    }
    fn column_names(&self) -> &'static [&'static str] {
        &["slo", "objective", "budget left", "burn1h", "state", "exhaust"]
    }
    fn numeric_column(&self, col: usize) -> bool {
        col != 0
    }
    fn content<'a>(&self, ctx: &Ctx<'a>, _spec: Spec<'_>, width: u16) -> Option<PaneContent<'a>> {
        Some(build(ctx.snap, ctx, ctx.now, ctx.theme, width))
    }
}
