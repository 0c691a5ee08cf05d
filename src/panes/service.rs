//! Service drill-down: p50/p95/p99 over the last hour against the SLA in the
//! worst region, traffic per region, its SLOs, the circuits to its
//! dependencies and its canaries.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use warroom_ui::{ChartLine, Level, Panel, SeriesChart, Theme};

use super::budgets::{slo_label, state_badge};
use super::canaries::{phase_level, phase_word};
use super::chart::ChartView;
use super::circuits::state_level;
use super::common::{feed_badge, fmt_ms, fmt_rps, region_level};
use crate::model::{Snapshot, Tier, Traffic};

pub fn render(
    snap: &Snapshot,
    name: &str,
    chart: &ChartView,
    now: DateTime<Utc>,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let f = &snap.fleet;
    let Some(svc) = f.services.items().iter().find(|s| s.name == name) else {
        super::common::not_reported("service", name, theme, area, buf);
        return;
    };
    let badge = Some(feed_badge(&f.metrics, now, theme));
    let inner = Panel { title: &format!("Service {name}"), focused: true, badge, theme }.render(area, buf);
    if inner.height < 2 {
        return;
    }
    let tier = if svc.tier == Tier::Critical { "critical" } else { "standard" };
    let head = format!(
        "tier {tier} · owners {} · depends on {}",
        if svc.owners.is_empty() { "—".into() } else { svc.owners.join(", ") },
        if svc.depends_on.is_empty() { "nothing".into() } else { svc.depends_on.join(", ") }
    );
    warroom_ui::put(buf, inner.x, inner.y, head, inner.width as usize, theme.text);
    // Regions in the order every screen uses (by traffic weight).
    let mine: Vec<&Traffic> = {
        let order = crate::model::rollup::region_order(snap);
        let mut v = snap.service_traffic(name);
        v.sort_by_key(|t| order.iter().position(|r| *r == t.region).unwrap_or(usize::MAX));
        v
    };
    let mut y = inner.y + 1;
    let bottom = inner.y + inner.height;
    // The chart, for the region with the worst p99 among those with traffic.
    if let Some(w) = mine.iter().filter(|t| t.rps > 0.0).max_by(|a, b| a.p99_ms.total_cmp(&b.p99_ms)) {
        let h = (inner.height / 2).clamp(0, 16);
        if h >= 6 && y + h < bottom {
            let sla = snap.sla(name);
            let data = chart_data(snap, w, chart, inner.width);
            let title = format!(
                "latency in {} (worst p99), last {}, ms{}  ·  [ ] window · c week earlier · Space pause",
                w.region, data.label, data.note
            );
            let style = if data.problem { theme.warn } else { theme.muted };
            warroom_ui::put(buf, inner.x, y, title, inner.width as usize, style);
            // What happened in the window, numbered on the time axis.
            let marks = data
                .end
                .map(|e| super::changes::marks_for(snap, name, &w.region, e, data.span_secs(), 9))
                .unwrap_or_default();
            let glyphs = super::changes::marks_glyphs(&marks, theme);
            let area = Rect::new(inner.x, y + 1, inner.width, (h + 1).min(bottom - y - 1));
            draw_latency(&data, &sla, &glyphs, theme, area, buf);
            y += h + 2;
            if !marks.is_empty() && y < bottom {
                let text = super::changes::marks_legend(&marks, data.span_secs(), inner.width as usize);
                warroom_ui::put(buf, inner.x, y, text, inner.width as usize, theme.warn);
            }
            y += 1;
        }
    }
    let mut line = |text: String, style, y: &mut u16| {
        if *y < bottom {
            warroom_ui::put(buf, inner.x, *y, text, inner.width as usize, style);
            *y += 1;
        }
    };
    line(
        format!(
            "{:<16} {:<12} {:>7} {:>7} {:>6} {:>6} {:>6}  {}",
            "region", "status", "rps", "err%", "p50", "p95", "p99", "why"
        ),
        theme.header,
        &mut y,
    );
    for t in &mine {
        let cell = snap.cell(name, &t.region);
        let lv = cell.map(|c| region_level(c.status)).unwrap_or(Level::Unknown);
        // No traffic, no percentiles: `—` rather than numbers from nothing.
        let (p50, p95, p99, err) = if t.rps > 0.0 {
            (fmt_ms(t.p50_ms), fmt_ms(t.p95_ms), fmt_ms(t.p99_ms), format!("{:.2}", t.error_ratio * 100.0))
        } else {
            ("—".into(), "—".into(), "—".into(), "—".into())
        };
        let mut why = cell.map(|c| c.reason.clone()).unwrap_or_default();
        if t.rps <= 0.0 {
            why = if why.is_empty() { "no traffic".into() } else { format!("no traffic; {why}") };
        }
        let text = format!(
            "{:<16} {:<12} {:>7} {:>7} {:>6} {:>6} {:>6}  {why}",
            t.region,
            format!("{} {}", lv.glyph(theme.ascii), lv.word()),
            fmt_rps(t.rps),
            err,
            p50,
            p95,
            p99
        );
        line(text, theme.level(lv), &mut y);
    }
    y += 1;
    for s in snap.slos.iter().filter(|s| s.service == name) {
        let (lv, word) = state_badge(s.state);
        let left = s.remaining.map(|r| format!("{:.1}% left", r * 100.0)).unwrap_or_else(|| "no data".into());
        line(format!("SLO {} · {left} · {} {word}", slo_label(s), lv.glyph(theme.ascii)), theme.level(lv), &mut y);
    }
    for c in f.circuits.items().iter().filter(|c| c.from == name) {
        let (lv, word) = state_level(c.state);
        line(format!("circuit → {} in {}: {} {word}", c.to, c.region, lv.glyph(theme.ascii)), theme.level(lv), &mut y);
    }
    for d in f.deployments.items().iter().filter(|d| d.service == name) {
        let lv = phase_level(d.phase);
        line(
            format!(
                "canary {} · {} {} · weight {:.0}% · {}",
                d.id,
                lv.glyph(theme.ascii),
                phase_word(d.phase),
                d.weight,
                d.message
            ),
            theme.level(lv),
            &mut y,
        );
    }
    let room = bottom.saturating_sub(y + 2) as usize;
    let changes = super::changes::about(snap, &[name], room.min(12), theme);
    if !changes.is_empty() {
        y += 1;
        line(format!("changes to {name} (newest first; :view changes has them all)"), theme.header, &mut y);
        for (text, style) in changes {
            line(text, style, &mut y);
        }
    }
}

/// What the chart draws: the live hour from the snapshot, or a range
/// query's answer; the week-earlier overlay when asked for and arrived.
pub struct ChartData<'a> {
    pub p50: &'a [f64],
    pub p95: &'a [f64],
    pub p99: &'a [f64],
    pub step: f64,
    /// The last point's time (the source's clock).
    pub end: Option<DateTime<Utc>>,
    pub overlay: Option<&'a [f64]>,
    /// The window shown ("1h", "6h", …).
    pub label: &'static str,
    /// What is missing or failed, for the title (" · asking prometheus…").
    pub note: String,
    pub problem: bool,
}

impl ChartData<'_> {
    pub fn span_secs(&self) -> f64 {
        self.step.max(1.0) * (self.p99.len().saturating_sub(1).max(1)) as f64
    }
}

/// Pick the chart's data for `w` and note the range queries it wants
/// (`chart.wanted`, asked for by the viewer after the frame).
pub fn chart_data<'a>(snap: &'a Snapshot, w: &'a Traffic, chart: &ChartView, width: u16) -> ChartData<'a> {
    use crate::model::range::{RangeQuery, LIVE_SPAN, SPANS, WEEK_SECS};
    let f = &snap.fleet;
    let live_end = f.metrics.observed_at.map(|t| t + f.metrics.source_offset.unwrap_or_default());
    let live = |note: String, problem: bool| ChartData {
        p50: &w.p50_series,
        p95: &w.p95_series,
        p99: &w.p99_series,
        step: w.series_step,
        end: live_end,
        overlay: None,
        label: SPANS[LIVE_SPAN].1,
        note,
        problem,
    };
    let plot_w = width.saturating_sub(8);
    let span = chart.span_secs();
    let mut wanted = Vec::new();
    let asking = |what: &str| match &chart.source {
        Some(s) => format!(" · asking {s} for {what}…"),
        None => String::new(),
    };
    let mut data = if chart.span == LIVE_SPAN {
        live(String::new(), false)
    } else if chart.source.is_none() {
        live(format!(" ({} asked: no metrics source here keeps a range to ask)", chart.span_label()), true)
    } else {
        let q = RangeQuery::new(&w.service, &w.region, span, 0, plot_w);
        let got = snap.range(&q);
        wanted.push(q);
        match got {
            Some(r) if r.error.is_none() && r.has_points() => ChartData {
                p50: &r.p50,
                p95: &r.p95,
                p99: &r.p99,
                step: r.step_secs,
                end: r.end,
                overlay: None,
                label: chart.span_label(),
                note: format!(" (from {})", r.source),
                problem: false,
            },
            Some(r) => {
                let why = r.error.clone().unwrap_or_else(|| "no points in that window".into());
                live(format!(" ({} unavailable: {why})", chart.span_label()), true)
            }
            None => live(asking(&format!("the last {}", chart.span_label())), false),
        }
    };
    if chart.compare {
        if chart.source.is_none() {
            data.note.push_str(" · no week-earlier data: no metrics source here keeps a range to ask");
            data.problem = true;
        } else {
            // The overlay covers the window shown (the live hour when a
            // longer one has not arrived yet).
            let shown = SPANS.iter().find(|(_, l)| *l == data.label).map(|(s, _)| *s).unwrap_or(span);
            let q = RangeQuery::new(&w.service, &w.region, shown, WEEK_SECS, plot_w);
            match snap.range(&q) {
                Some(r) if r.error.is_none() && r.has_points() => {
                    data.overlay = Some(&r.p99);
                    data.note.push_str(" · dim: p99 a week earlier");
                }
                Some(r) => {
                    let why = r.error.clone().unwrap_or_else(|| "no points a week back".into());
                    data.note.push_str(&format!(" · week earlier unavailable: {why}"));
                    data.problem = true;
                }
                None => data.note.push_str(&asking("a week earlier")),
            }
            wanted.push(q);
        }
    }
    *chart.wanted.borrow_mut() = wanted;
    data
}

/// The chart from `ChartData`: p50/p95/p99 against the SLA lines, the week
/// earlier dim behind them, marks on the time axis, a legend below.
pub fn draw_latency(
    d: &ChartData<'_>,
    sla: &crate::model::Sla,
    marks: &[(f64, char, ratatui::style::Style)],
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    if area.height < 2 {
        return;
    }
    let h = area.height - 1;
    let labels = [
        format!("SLA p50 {:.0}", sla.p50_ms),
        format!("SLA p95 {:.0}", sla.p95_ms),
        format!("SLA p99 {:.0}", sla.p99_ms),
    ];
    let mut lines = Vec::new();
    if let Some(o) = d.overlay {
        lines.push(ChartLine { label: "p99 week ago", values: o, style: theme.muted });
    }
    lines.push(ChartLine { label: "p50", values: d.p50, style: theme.ok });
    lines.push(ChartLine { label: "p95", values: d.p95, style: theme.warn });
    lines.push(ChartLine { label: "p99", values: d.p99, style: theme.info });
    SeriesChart {
        lines,
        limits: vec![
            (labels[0].as_str(), sla.p50_ms, theme.muted),
            (labels[1].as_str(), sla.p95_ms, theme.muted),
            (labels[2].as_str(), sla.p99_ms, theme.critical),
        ],
        span_secs: d.span_secs(),
        unit: "",
        theme,
        marks: marks.to_vec(),
    }
    .render(Rect::new(area.x, area.y, area.width, h), buf);
    // The service's own SLA, not the seed's.
    let sla_legend = format!("  ··· SLA {:.0} / {:.0} / {:.0} ms", sla.p50_ms, sla.p95_ms, sla.p99_ms);
    let mut legend = vec![("p50", theme.ok), ("  p95", theme.warn), ("  p99", theme.info)];
    if d.overlay.is_some() {
        legend.push(("  p99 a week earlier", theme.muted));
    }
    legend.push((sla_legend.as_str(), theme.muted));
    let mut x = area.x;
    for (text, style) in legend {
        let (nx, _) =
            warroom_ui::put(buf, x, area.y + h, text, (area.x + area.width).saturating_sub(x) as usize, style);
        x = nx;
    }
}

/// p50/p95/p99 of one service in one region over the live hour, against
/// the SLA lines, with a legend on the last row of `area` (the overview's
/// chart tile).
pub fn latency_chart(w: &Traffic, sla: &crate::model::Sla, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let d = ChartData {
        p50: &w.p50_series,
        p95: &w.p95_series,
        p99: &w.p99_series,
        step: w.series_step,
        end: None,
        overlay: None,
        label: "1h",
        note: String::new(),
        problem: false,
    };
    draw_latency(&d, sla, &[], theme, area, buf);
}
