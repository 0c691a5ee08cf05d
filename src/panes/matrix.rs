//! Region health matrix: services × regions, glyph + word + colour per cell,
//! traffic weight per region in the header.

use chrono::{DateTime, Utc};
use warroom_ui::{Align, Cell, Column, LazyRows, Level, Theme};

use super::common::{feed_badge, region_level, short_region};
use super::{ActsOn, Ctx, Kind, Pane, PaneContent, Screen, Spec};
use crate::model::{Region, Snapshot, Tier};

pub fn build<'a>(
    snap: &'a Snapshot,
    view: &Ctx<'_>,
    now: DateTime<Utc>,
    theme: &'a Theme,
    width: u16,
) -> PaneContent<'a> {
    let f = &snap.fleet;
    let all = f.regions.items();
    let mut name_w = 11u16.max(width / 5).min(18);
    // Narrow: the service names give way first, so at least one region
    // column and the `+N→` marker fit.
    let least = 7 + MARKER_W + 1;
    if width.saturating_sub(name_w + 1) < least && all.len() > 1 {
        name_w = width.saturating_sub(least + 1).max(6);
    }
    let (shown, col_w) = fit_regions(snap, view.column, width.saturating_sub(name_w + 1), now);
    let regions: Vec<&Region> = shown.iter().map(|&i| &all[i]).collect();
    let hidden: Vec<&Region> = (0..all.len()).filter(|i| !shown.contains(i)).map(|i| &all[i]).collect();
    let long_words = col_w >= 10;
    let mut columns = vec![Column::new("service", name_w, Align::Left, 0)];
    for r in regions.iter() {
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
        columns.push(Column::new(header, col_w, Align::Left, 0));
    }
    if !hidden.is_empty() {
        // Regions that do not fit are counted, and their worst cell shown.
        columns.push(Column::new(format!("+{}→", hidden.len()), MARKER_W, Align::Left, 0));
    }
    // Column 0 sorts by name, a region column by that region (the `+N→`
    // marker by nothing).
    let mut sort_cols: Vec<Option<usize>> = vec![Some(0)];
    sort_cols.extend(shown.iter().map(|&i| Some(i + 1)));
    sort_cols.push(None);
    if let Some(s) = view.sort_of(Kind::Matrix) {
        // Column 0 is the service; column k the k-th region of the feed.
        let at = if s.col == 0 { Some(0) } else { shown.iter().position(|&i| i + 1 == s.col).map(|p| p + 1) };
        if let Some(c) = at.and_then(|k| columns.get_mut(k)) {
            c.header.push_str(s.mark(theme.ascii, s.col != 0));
        }
    }
    let stale = f.metrics.is_stale(now) && f.probes.is_stale(now);
    let items = view.services_in(Kind::Matrix, snap);
    let rows = LazyRows {
        len: items.len(),
        make: move |i: usize| {
            let s = &items[i];
            let name_style = if s.tier == Tier::Critical { theme.text.patch(theme.title) } else { theme.text };
            let mut row = vec![Cell::new(s.name.clone(), name_style)];
            let level_of = |r: &Region| {
                if stale {
                    Level::Stale
                } else {
                    snap.cell(&s.name, &r.name).map(|c| region_level(c.status)).unwrap_or(Level::Unknown)
                }
            };
            for r in regions.iter() {
                let level = level_of(r);
                let word = if long_words { level.word() } else { level.short_word() };
                row.push(Cell::new(format!("{} {word}", level.glyph(theme.ascii)), theme.level(level)));
            }
            if !hidden.is_empty() {
                let worst = hidden.iter().map(|r| level_of(r)).max_by_key(|l| severity(*l)).unwrap_or(Level::Unknown);
                row.push(Cell::new(worst.glyph(theme.ascii), theme.level(worst)));
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
        selected: Some(view.row(Kind::Matrix)),
        selected_col: shown.iter().position(|&i| i == view.column.min(all.len().saturating_sub(1))).map(|p| p + 1),
        empty: super::common::pane_empty(view, &snap.fleet.services, now, "waiting for services and regions…"),
        sort_cols,
    }
}

/// Width of the `+N→` column for regions that do not fit.
const MARKER_W: u16 = 4;

fn severity(l: Level) -> u8 {
    match l {
        Level::Critical => 5,
        Level::Warn => 4,
        Level::Stale => 3,
        Level::Unknown => 2,
        Level::Paused | Level::Info => 1,
        Level::Ok => 0,
    }
}

/// Which regions (indexes into the region feed, in feed order) get a
/// column in `width` cells, and the column width. When not all fit, the
/// selected region and the regions with problems are kept first, and a
/// marker column counts the rest.
pub fn fit_regions(snap: &Snapshot, selected: usize, width: u16, now: DateTime<Utc>) -> (Vec<usize>, u16) {
    let n = snap.fleet.regions.items().len();
    if n == 0 {
        return (vec![], 6);
    }
    let ideal = (width / warroom_ui::cells(n).max(1)).saturating_sub(1).clamp(6, 16);
    if (ideal as usize + 1) * n <= width as usize {
        return ((0..n).collect(), ideal);
    }
    let k = (width.saturating_sub(MARKER_W + 1) / 7).max(1) as usize;
    let col_w = (width.saturating_sub(MARKER_W + 1) / k as u16).saturating_sub(1).clamp(6, 16);
    let regions = snap.fleet.regions.items();
    let mut order: Vec<usize> = (0..n).collect();
    let selected = selected.min(n - 1);
    order.sort_by_key(|&i| {
        let st = crate::model::rollup::region_of(snap, &regions[i], now).status;
        let bad = match st {
            crate::model::RegionStatus::Down => 0,
            crate::model::RegionStatus::Degraded => 1,
            _ => 2,
        };
        // DOWN regions first, then the selected one, then DEGRADED ones.
        let rank = match bad {
            0 => 0,
            _ if i == selected => 1,
            1 => 2,
            _ => 3,
        };
        (rank, i)
    });
    let mut keep: Vec<usize> = order.into_iter().take(k.min(n)).collect();
    keep.sort_unstable();
    (keep, col_w)
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

/// The `matrix` pane kind.
pub struct MatrixPane;

impl Pane for MatrixPane {
    fn kind(&self) -> Kind {
        Kind::Matrix
    }
    fn name(&self) -> &'static str {
        "matrix"
    }
    fn title(&self) -> &'static str {
        "Region health"
    }
    fn len(&self, ctx: &Ctx<'_>) -> usize {
        ctx.visible_services(ctx.snap).len()
    }
    fn enter(&self, ctx: &Ctx<'_>) -> Option<Screen> {
        let regions = ctx.snap.fleet.regions.items();
        regions.get(ctx.column.min(regions.len().saturating_sub(1))).map(|r| Screen::Region(r.name.clone()))
    }
    fn acts_on(&self) -> Option<ActsOn> {
        Some(ActsOn::Region)
    }
    /// service, then each region (by the feed's order).
    fn sort_columns(&self, regions: usize) -> Vec<usize> {
        (0..=regions).collect()
    }
    fn column_name(&self, col: usize, snap: &Snapshot) -> String {
        match col {
            0 => "service".into(),
            k => snap.fleet.regions.items().get(k - 1).map(|r| r.name.clone()).unwrap_or_default(),
        }
    }
    fn numeric_column(&self, col: usize) -> bool {
        col != 0
    }
    fn content<'a>(&self, ctx: &Ctx<'a>, _spec: Spec<'_>, width: u16) -> Option<PaneContent<'a>> {
        Some(build(ctx.snap, ctx, ctx.now, ctx.theme, width))
    }
}
