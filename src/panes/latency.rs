//! Latency: p50/p95/p99 per service (worst region by p99) against the SLA,
//! with a p99 sparkline.

use chrono::{DateTime, Utc};
use warroom_ui::{sparkline, Align, Cell, Column, LazyRows, Level, Theme};

use super::common::{feed_badge, fmt_ms, fmt_rps, mark_stale, short_region};
use super::{Ctx, Kind, Pane, PaneContent, Screen, Spec};
use crate::model::{Snapshot, Traffic, SLA_P50_MS, SLA_P95_MS, SLA_P99_MS};

fn value_cell(v: f64, sla: f64, theme: &Theme) -> Cell {
    if v >= sla {
        Cell::new(format!("{}{}", Level::Warn.glyph(theme.ascii), fmt_ms(v)), theme.critical)
    } else {
        Cell::new(fmt_ms(v), theme.text)
    }
}

pub fn build<'a>(
    snap: &'a Snapshot,
    view: &Ctx<'_>,
    now: DateTime<Utc>,
    theme: &'a Theme,
    width: u16,
) -> PaneContent<'a> {
    let f = &snap.fleet;
    let spark_w = (width / 5).clamp(8, 30);
    let columns = vec![
        Column::new("service", 11, Align::Left, 0),
        Column::new("worst", 6, Align::Left, 3),
        Column::new("p50", 5, Align::Right, 0),
        Column::new("p95", 5, Align::Right, 0),
        Column::new("p99", 6, Align::Right, 0),
        Column::new("trend", spark_w, Align::Left, 1),
        Column::new("rps", 6, Align::Right, 2),
    ];
    let stale = f.metrics.is_stale(now);
    let items = view.services_in(Kind::Latency, snap);
    let rows = LazyRows {
        len: items.len(),
        make: move |i: usize| {
            let s = &items[i];
            let mine: Vec<&Traffic> = snap.service_traffic(&s.name);
            let worst = mine.iter().max_by(|a, b| a.p99_ms.total_cmp(&b.p99_ms));
            let total_rps: f64 = mine.iter().map(|t| t.rps).sum();
            match worst {
                None => vec![Cell::new(s.name.clone(), theme.text), Cell::new("—", theme.muted)],
                Some(w) => {
                    let mut cells = vec![
                        Cell::new(s.name.clone(), theme.text),
                        Cell::new(short_region(&w.region), theme.muted),
                        value_cell(w.p50_ms, s.sla.p50_ms, theme),
                        value_cell(w.p95_ms, s.sla.p95_ms, theme),
                        value_cell(w.p99_ms, s.sla.p99_ms, theme),
                        Cell::new(
                            sparkline(&w.p99_series, spark_w as usize, Some(s.sla.p99_ms / 2.0), theme.ascii),
                            if w.p99_ms >= s.sla.p99_ms { theme.critical } else { theme.info },
                        ),
                        Cell::new(fmt_rps(total_rps), theme.muted),
                    ];
                    mark_stale(&mut cells, stale, theme);
                    cells
                }
            }
        },
    };
    PaneContent {
        rows: Box::new(rows),
        title: {
            let base = if width >= 64 {
                // The seed's SLA, unless a service has its own.
                let custom = f.services.items().iter().any(|s| s.sla != crate::model::Sla::default());
                let word = if custom { "default SLA" } else { "SLA" };
                format!("Latency ms · {word} p50<{SLA_P50_MS:.0} p95<{SLA_P95_MS:.0} p99<{SLA_P99_MS:.0}")
            } else {
                "Latency ms".to_string()
            };
            // What the metrics cost (CloudWatch), in full or short.
            match &f.metrics_note {
                Some(n) if base.chars().count() + n.chars().count() + 12 <= width as usize => format!("{base} · {n}"),
                Some(n) => {
                    let short =
                        n.replace("CloudWatch · ", "CW ").replace(" metrics/min", "/min").replace("/month", "/mo");
                    format!("Latency ms · {short}")
                }
                None => base,
            }
        },
        badge: Some(feed_badge(&f.metrics, now, theme)),
        error: f.metrics.error_text(),
        columns,
        selected: Some(view.row(Kind::Latency)),
        selected_col: None,
        empty: super::common::pane_empty(view, &f.metrics, now, "waiting for metrics…"),
        sort_cols: Vec::new(),
    }
}

/// The `latency` pane kind.
pub struct LatencyPane;

impl Pane for LatencyPane {
    fn kind(&self) -> Kind {
        Kind::Latency
    }
    fn name(&self) -> &'static str {
        "latency"
    }
    fn title(&self) -> &'static str {
        "Latency"
    }
    fn len(&self, ctx: &Ctx<'_>) -> usize {
        ctx.visible_services(ctx.snap).len()
    }
    fn enter(&self, ctx: &Ctx<'_>) -> Option<Screen> {
        let items = ctx.services_in(Kind::Latency, ctx.snap);
        items.get(ctx.row(Kind::Latency)).map(|s| Screen::Service(s.name.clone()))
    }
    fn sort_columns(&self, _regions: usize) -> Vec<usize> {
        vec![0, 1, 2, 3, 4, 6]
    }
    fn column_names(&self) -> &'static [&'static str] {
        &["service", "worst", "p50", "p95", "p99", "trend", "rps"]
    }
    fn numeric_column(&self, col: usize) -> bool {
        !matches!(col, 0 | 1)
    }
    fn content<'a>(&self, ctx: &Ctx<'a>, _spec: Spec<'_>, width: u16) -> Option<PaneContent<'a>> {
        Some(build(ctx.snap, ctx, ctx.now, ctx.theme, width))
    }
}
