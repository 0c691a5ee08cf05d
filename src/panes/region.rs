//! Region drill-down: the region's status, weight and zones, and every
//! service in it with probe details and traffic.

use chrono::{DateTime, Utc};
use warroom_ui::{Align, Cell, Column, LazyRows, Level, Theme};

use super::common::{feed_badge, fmt_ms, fmt_rps, region_level};
use super::PaneContent;
use crate::model::{Probe, ProbeKind, ProbeStatus, Region, Snapshot};

fn probe_cell(p: Option<&Probe>, theme: &Theme) -> Cell {
    match p {
        None => Cell::new("—", theme.muted),
        Some(p) => {
            let (level, word) = match p.status {
                ProbeStatus::Up => (Level::Ok, "UP"),
                ProbeStatus::Warn => (Level::Warn, "WARN"),
                ProbeStatus::Down => (Level::Critical, "DOWN"),
                ProbeStatus::Unknown => (Level::Unknown, "UNKN"),
            };
            Cell::new(format!("{} {word}", level.glyph(theme.ascii)), theme.level(level))
        }
    }
}

/// One-line summary of the region for the top of the screen.
pub fn summary(
    region: Option<&Region>,
    traffic: Option<&crate::model::RegionWeight>,
    name: &str,
    theme: &Theme,
) -> (String, ratatui::style::Style) {
    match region {
        None => (format!("Region {name}: not reported by the control plane"), theme.warn),
        Some(r) => {
            let level = region_level(r.status);
            (
                format!(
                    "Region {}  {} {}  traffic {:.0}%  zones {}{}",
                    r.name,
                    level.glyph(theme.ascii),
                    level.word(),
                    r.weight,
                    r.zones.join(", "),
                    traffic.map(route_words).unwrap_or_default()
                ),
                theme.level(level),
            )
        }
    }
}

/// What Route 53 says of the region: its record's weight, what a restore
/// puts back, its health check.
fn route_words(w: &crate::model::RegionWeight) -> String {
    let restore = match w.restore_weight {
        Some(b) if b != w.weight => format!(" (restore {b})"),
        _ => String::new(),
    };
    let check = match &w.health {
        Some(h) => format!(" · check {}", h.words()),
        None => " · no health check".into(),
    };
    format!("  · Route 53 {} weight {}{restore}{check}", w.set_identifier, w.weight)
}

pub fn build<'a>(
    snap: &'a Snapshot,
    region: &'a str,
    row: usize,
    now: DateTime<Utc>,
    theme: &'a Theme,
) -> PaneContent<'a> {
    let f = &snap.fleet;
    let columns = vec![
        Column::new("service", 13, Align::Left, 0),
        Column::new("status", 10, Align::Left, 0),
        Column::new("health", 6, Align::Left, 1),
        Column::new("ready", 6, Align::Left, 1),
        Column::new("probe", 6, Align::Right, 4),
        Column::new("rps", 6, Align::Right, 3),
        Column::new("err%", 6, Align::Right, 2),
        Column::new("p50", 5, Align::Right, 3),
        Column::new("p95", 5, Align::Right, 3),
        Column::new("p99", 6, Align::Right, 2),
        Column::new("detail", 20, Align::Left, 5).flex(),
    ];
    let probes = f.probes.items();
    let items = f.services.items();
    let rows = LazyRows {
        len: items.len(),
        make: move |i: usize| {
            let s = &items[i];
            let find = |k: ProbeKind| probes.iter().find(|p| p.service == s.name && p.region == region && p.kind == k);
            let health = find(ProbeKind::Health);
            let ready = find(ProbeKind::Ready);
            let cell = snap.cell(&s.name, region);
            let level = cell.map(|c| region_level(c.status)).unwrap_or(Level::Unknown);
            let t = snap.traffic(&s.name, region);
            let num = |v: Option<f64>, fmt: &dyn Fn(f64) -> String| v.map(fmt).unwrap_or_else(|| "—".into());
            let mut detail = cell.map(|c| c.reason.clone()).unwrap_or_default();
            if let Some(h) = health {
                if detail.is_empty() {
                    detail = h.detail.clone();
                }
            }
            let serving = t.is_some_and(|t| t.rps > 0.0);
            if t.is_some() && !serving {
                detail = if detail.is_empty() { "no traffic".into() } else { format!("no traffic; {detail}") };
            }
            // Percentiles of no requests are not numbers to show.
            let t_lat = t.filter(|_| serving);
            vec![
                Cell::new(s.name.clone(), theme.text),
                Cell::new(format!("{} {}", level.glyph(theme.ascii), level.word()), theme.level(level)),
                probe_cell(health, theme),
                probe_cell(ready, theme),
                Cell::new(
                    num(health.map(|p| p.latency_ms).filter(|v| v.is_finite() && *v > 0.0), &|v| {
                        format!("{}ms", fmt_ms(v))
                    }),
                    theme.muted,
                ),
                Cell::new(num(t.map(|t| t.rps), &fmt_rps), theme.muted),
                Cell::new(num(t_lat.map(|t| t.error_ratio * 100.0), &|v| format!("{v:.2}")), theme.text),
                Cell::new(num(t_lat.map(|t| t.p50_ms), &fmt_ms), theme.text),
                Cell::new(num(t_lat.map(|t| t.p95_ms), &fmt_ms), theme.text),
                Cell::new(
                    num(t_lat.map(|t| t.p99_ms), &fmt_ms),
                    if t.is_some_and(|t| t.p99_ms >= s.sla.p99_ms) { theme.critical } else { theme.text },
                ),
                Cell::new(detail, theme.muted),
            ]
        },
    };
    PaneContent {
        rows: Box::new(rows),
        title: format!("Services in {region}"),
        badge: Some(feed_badge(&f.probes, now, theme)),
        error: f.probes.error.clone().map(|e| format!("probes: {e}")),
        columns,
        selected: Some(row),
        selected_col: None,
        empty: super::common::feed_empty(&f.probes, now, "no services reported"),
        sort_cols: Vec::new(),
    }
}
