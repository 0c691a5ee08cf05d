//! Region health matrix: services × regions, glyph + word + colour per cell,
//! traffic weight per region in the header.

use chrono::{DateTime, Utc};
use warroom_ui::{Align, Cell, Column, LazyRows, Level, Theme};

use super::common::{feed_badge, region_level, short_region};
use super::PaneContent;
use crate::app::view::{PaneId, ViewState};
use crate::model::{Snapshot, Tier};

pub fn build<'a>(
    snap: &'a Snapshot,
    view: &ViewState,
    now: DateTime<Utc>,
    theme: &'a Theme,
    width: u16,
) -> PaneContent<'a> {
    let f = &snap.fleet;
    let regions = f.regions.items();
    let nr = regions.len().max(1) as u16;
    let name_w = 11u16.max(width / 5).min(18);
    let col_w = (width.saturating_sub(name_w) / nr).saturating_sub(1).clamp(6, 16);
    let long_words = col_w >= 10;
    let mut columns = vec![Column::new("service", name_w, Align::Left, 0)];
    for r in regions {
        let pct = format!("{:.0}%", r.weight);
        let full = format!("{} {pct}", r.name);
        let short = format!("{} {pct}", short_region(&r.name));
        let header = if full.chars().count() <= col_w as usize {
            full
        } else if short.chars().count() <= col_w as usize {
            short
        } else {
            short_region(&r.name)
        };
        columns.push(Column::new(header, col_w, Align::Left, 1));
    }
    let stale = f.metrics.is_stale(now) && f.probes.is_stale(now);
    let items = view.visible_services(snap);
    let rows = LazyRows {
        len: items.len(),
        make: move |i: usize| {
            let s = &items[i];
            let name_style = if s.tier == Tier::Critical { theme.text.patch(theme.title) } else { theme.text };
            let mut row = vec![Cell::new(s.name.clone(), name_style)];
            for r in regions {
                let level = if stale {
                    Level::Stale
                } else {
                    snap.cell(&s.name, &r.name).map(|c| region_level(c.status)).unwrap_or(Level::Unknown)
                };
                let word = if long_words { level.word() } else { level.short_word() };
                row.push(Cell::new(format!("{} {word}", level.glyph(theme.ascii)), theme.level(level)));
            }
            row
        },
    };
    let (badge, error) = combined_badge(snap, now, theme);
    PaneContent {
        rows: Box::new(rows),
        title: "Region health".into(),
        badge: Some(badge),
        error,
        columns,
        selected: Some(view.row(PaneId::Matrix)),
        selected_col: Some(view.column + 1),
        empty: "waiting for services and regions…",
    }
}

/// The matrix is fed by metrics and probes: show the worse of the two.
fn combined_badge(
    snap: &Snapshot,
    now: DateTime<Utc>,
    theme: &Theme,
) -> ((String, ratatui::style::Style), Option<String>) {
    let f = &snap.fleet;
    let err = f
        .metrics
        .error
        .as_ref()
        .map(|e| format!("metrics: {e}"))
        .or_else(|| f.regions.error.as_ref().map(|e| format!("regions: {e}")));
    let badge = if f.metrics.error.is_some() || f.metrics.is_stale(now) {
        feed_badge(&f.metrics, now, theme)
    } else {
        feed_badge(&f.probes, now, theme)
    };
    (badge, err.or_else(|| f.probes.error.as_ref().map(|e| format!("probes: {e}"))))
}
