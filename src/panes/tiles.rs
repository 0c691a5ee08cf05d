//! Panes that are not tables: the latency chart, the big status and the
//! clock. They draw straight into the buffer.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use warroom_ui::{big_height, big_width, BigText, Panel, Theme};

use super::common::feed_badge;
use super::{Ctx, Kind, Pane, Spec};
use crate::model::Snapshot;

/// The largest scale (1–4) at which `text` fits `area`, if any.
fn fit_scale(text: &str, area: Rect, reserve_rows: u16) -> Option<u16> {
    (1..=4u16).rev().find(|s| big_width(text, *s) <= area.width && big_height(*s) + reserve_rows <= area.height)
}

/// Which service the chart follows: the pane's own, else the one selected
/// in the latency table while it has focus, else the worst p99 in the fleet.
fn chart_service(spec: Spec<'_>, snap: &Snapshot, view: &Ctx<'_>) -> Option<String> {
    if let Some(s) = spec.service {
        return Some(s.to_string());
    }
    if view.focus == Kind::Latency {
        if let Some(s) = view.services_in(Kind::Latency, snap).get(view.row(Kind::Latency)) {
            return Some(s.name.clone());
        }
    }
    snap.fleet.metrics.items().iter().max_by(|a, b| a.p99_ms.total_cmp(&b.p99_ms)).map(|t| t.service.clone())
}

fn latency_chart(
    spec: Spec<'_>,
    snap: &Snapshot,
    view: &Ctx<'_>,
    now: DateTime<Utc>,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let service = chart_service(spec, snap, view);
    let worst = service.as_deref().and_then(|name| {
        snap.service_traffic(name)
            .into_iter()
            .max_by(|a, b| a.p99_ms.total_cmp(&b.p99_ms).then(b.region.cmp(&a.region)))
    });
    let title = match (spec.title, &service, worst) {
        (Some(t), _, _) => t.to_string(),
        (None, Some(s), Some(w)) => format!("Latency {s} · {} (worst p99) · last hour, ms", w.region),
        (None, Some(s), None) => format!("Latency {s}"),
        (None, None, _) => "Latency".to_string(),
    };
    let badge = Some(feed_badge(&snap.fleet.metrics, now, theme));
    let inner = Panel { title: &title, focused: false, badge, theme }.render(area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    match worst {
        Some(w) if inner.height >= 4 && inner.width >= 10 => {
            let sla = snap.sla(&w.service);
            super::service::latency_chart(w, &sla, theme, inner, buf)
        }
        Some(_) => {
            warroom_ui::put(buf, inner.x, inner.y, "too small for the chart", inner.width as usize, theme.muted);
        }
        None => {
            let msg = match service {
                Some(s) => format!("no latency reported for {s}"),
                None => "no latency data".to_string(),
            };
            warroom_ui::put(buf, inner.x, inner.y, msg, inner.width as usize, theme.muted);
        }
    }
}

fn big_status(spec: Spec<'_>, snap: &Snapshot, now: DateTime<Utc>, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let roll = crate::model::rollup::fleet(snap, now);
    let level = super::common::overall_level(roll.state);
    let word = roll.state.word().to_string();
    let reason = roll.reason(3);
    let style = theme.level(level);
    let title = spec.title.unwrap_or("Status");
    let inner = Panel { title, focused: false, badge: None, theme }.render(area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let glyph = format!("{} ", level.glyph(theme.ascii));
    let text_area = Rect::new(inner.x + 2, inner.y, inner.width.saturating_sub(2), inner.height);
    match fit_scale(&word, text_area, 1) {
        Some(scale) => {
            buf.set_stringn(inner.x, inner.y, &glyph, 2, style);
            BigText { text: &word, style: Theme::solid(style), scale }.render(text_area, buf);
            let y = inner.y + big_height(scale);
            if y < inner.y + inner.height {
                let w = inner.width as usize;
                buf.set_stringn(inner.x, y, warroom_ui::ellipsize(&reason, w), w, theme.title);
            }
        }
        None => {
            let line = if reason.is_empty() { format!("{glyph}{word}") } else { format!("{glyph}{word} · {reason}") };
            let w = inner.width as usize;
            buf.set_stringn(inner.x, inner.y, warroom_ui::ellipsize(&line, w), w, style);
        }
    }
}

fn clock(spec: Spec<'_>, now: DateTime<Utc>, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let title = spec.title.unwrap_or("Clock (UTC)");
    let inner = Panel { title, focused: false, badge: None, theme }.render(area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let below = now.format("%A %Y-%m-%d · UTC").to_string();
    let time = now.format("%H:%M:%S").to_string();
    match fit_scale(&time, inner, 1) {
        Some(scale) => {
            BigText { text: &time, style: Theme::solid(theme.title), scale }.render(inner, buf);
            let y = inner.y + big_height(scale);
            if y < inner.y + inner.height {
                warroom_ui::put(buf, inner.x, y, below, inner.width as usize, theme.muted);
            }
        }
        None => {
            warroom_ui::put(buf, inner.x, inner.y, format!("{time} UTC"), inner.width as usize, theme.title);
            if inner.height > 1 {
                warroom_ui::put(buf, inner.x, inner.y + 1, below, inner.width as usize, theme.muted);
            }
        }
    }
}

/// The `latency-chart` pane kind: one service's latency over the last hour.
pub struct LatencyChartPane;

impl Pane for LatencyChartPane {
    fn kind(&self) -> Kind {
        Kind::LatencyChart
    }
    fn name(&self) -> &'static str {
        "latency-chart"
    }
    fn title(&self) -> &'static str {
        "Latency"
    }
    fn focusable(&self) -> bool {
        false
    }
    fn want(&self, _ctx: &Ctx<'_>) -> u16 {
        12
    }
    fn draw_tile(&self, ctx: &Ctx<'_>, spec: Spec<'_>, area: Rect, buf: &mut Buffer) {
        latency_chart(spec, ctx.snap, ctx, ctx.now, ctx.theme, area, buf)
    }
}

/// The `big-status` pane kind: the fleet's state in big letters.
pub struct BigStatusPane;

impl Pane for BigStatusPane {
    fn kind(&self) -> Kind {
        Kind::BigStatus
    }
    fn name(&self) -> &'static str {
        "big-status"
    }
    fn title(&self) -> &'static str {
        "Status"
    }
    fn focusable(&self) -> bool {
        false
    }
    fn want(&self, _ctx: &Ctx<'_>) -> u16 {
        big_height(1) + 1
    }
    fn draw_tile(&self, ctx: &Ctx<'_>, spec: Spec<'_>, area: Rect, buf: &mut Buffer) {
        big_status(spec, ctx.snap, ctx.now, ctx.theme, area, buf)
    }
}

/// The `clock` pane kind: UTC time in big digits.
pub struct ClockPane;

impl Pane for ClockPane {
    fn kind(&self) -> Kind {
        Kind::Clock
    }
    fn name(&self) -> &'static str {
        "clock"
    }
    fn title(&self) -> &'static str {
        "Clock (UTC)"
    }
    fn focusable(&self) -> bool {
        false
    }
    fn want(&self, _ctx: &Ctx<'_>) -> u16 {
        big_height(1) + 1
    }
    fn draw_tile(&self, ctx: &Ctx<'_>, spec: Spec<'_>, area: Rect, buf: &mut Buffer) {
        clock(spec, ctx.now, ctx.theme, area, buf)
    }
}
