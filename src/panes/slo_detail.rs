//! One SLO in detail: the budget in events, every window's burn rate
//! against the multiwindow thresholds, and the budget over the window as a
//! chart.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use warroom_ui::{Level, Panel, Theme};

use super::budgets::{slo_label, state_badge};
use super::chart::ChartView;
use super::common::{feed_badge, fmt_hours};
use crate::model::slo::alert_factor;
use crate::model::snapshot::SloStatus;
use crate::model::Snapshot;

/// The policy rows: (severity, long window, hours, short window, budget share).
pub const RULES: [(&str, &str, f64, &str, f64); 4] = [
    ("page", "1h", 1.0, "5m", 0.02),
    ("page", "6h", 6.0, "30m", 0.05),
    ("ticket", "1d", 24.0, "2h", 0.10),
    ("ticket", "3d", 72.0, "6h", 0.10),
];

fn events(x: f64) -> String {
    if x >= 1e9 {
        format!("{:.2}G", x / 1e9)
    } else if x >= 1e6 {
        format!("{:.2}M", x / 1e6)
    } else if x >= 1e3 {
        format!("{:.1}k", x / 1e3)
    } else {
        format!("{x:.0}")
    }
}

const BURN_BY_WINDOW: &str = "burn by window: ";

fn burn_text(b: Option<f64>) -> String {
    b.map(|b| format!("{b:.2}×")).unwrap_or_else(|| "no data".into())
}

/// What the period's counts cover: a Prometheus that started an hour ago
/// answers a 30-day window with an hour of data.
fn coverage(s: &SloStatus) -> (String, Level) {
    let period = s.period.label();
    match s.history_hours {
        // Within a minute of the period (or beyond it): the whole period.
        Some(h) if h * 3600.0 + 60.0 >= s.period_so_far_hours * 3600.0 => {
            (format!("history covers the whole {period}"), Level::Info)
        }
        Some(h) => (
            format!("history covers {} of {period}: the budget is that window's, not the whole period's", fmt_hours(h)),
            Level::Unknown,
        ),
        None => (format!("history: the source does not say how much of {period} its counts cover"), Level::Unknown),
    }
}

/// Text lines of the detail (also what tests read).
pub fn lines(s: &SloStatus) -> Vec<(String, Level)> {
    let (level, word) = state_badge(s.state);
    let mut out = vec![(format!("{} {}  ({})", s.name, slo_label(s), s.service), Level::Info)];
    out.push((format!("state {} {word}", level.glyph(false)), level));
    let budget = match (s.allowed_bad, s.consumed_bad, s.remaining) {
        (Some(a), Some(c), Some(r)) => format!(
            "left {:.1}%{} · used {} of {} allowed bad events ({} events, {})",
            r * 100.0,
            if r < 0.0 { " OVERSPENT" } else { "" },
            events(c),
            events(a),
            events(s.total),
            s.period.label()
        ),
        _ => "budget: no data for the period".into(),
    };
    out.push((budget, if s.remaining.is_some_and(|r| r < 0.0) { Level::Critical } else { Level::Ok }));
    out.push(coverage(s));
    let exhaust = match (s.remaining, s.hours_to_exhaustion) {
        (Some(r), _) if r <= 0.0 => "budget exhausted".to_string(),
        (_, Some(h)) if h > s.period_hours => {
            format!(
                "at the {w} burn it outlasts the {}",
                s.period.label(),
                w = crate::model::snapshot::EXHAUSTION_WINDOW
            )
        }
        (_, Some(h)) => {
            format!("at the {} burn it is gone in {}", crate::model::snapshot::EXHAUSTION_WINDOW, fmt_hours(h))
        }
        _ => "no burn: time to exhaustion not defined".into(),
    };
    out.push((exhaust, Level::Info));
    if s.early_in_period {
        out.push((
            format!("early in period: {:.0} events so far, too few to judge the budget as a share", s.total),
            Level::Unknown,
        ));
    }
    if s.low_traffic {
        out.push(("too little traffic in the last hour to judge burn rates".into(), Level::Unknown));
    }
    out.push((String::new(), Level::Info));
    out.push((
        format!("{:<8}{:>8} {:>10} {:>8} {:>10} {:>8}  firing", "rule", "long", "burn", "short", "burn", "factor"),
        Level::Info,
    ));
    for (sev, long, long_h, short, share) in RULES {
        let f = alert_factor(share, s.period_hours, long_h);
        let (bl, bs) = (s.burn(long), s.burn(short));
        let firing = bl.zip(bs).is_some_and(|(a, b)| a > f && b > f);
        let level = match (firing, sev) {
            (true, "page") => Level::Critical,
            (true, _) => Level::Warn,
            _ => Level::Ok,
        };
        out.push((
            format!(
                "{sev:<8}{long:>8} {:>10} {short:>8} {:>10} {:>7.1}×  {}",
                burn_text(bl),
                burn_text(bs),
                f,
                if firing { format!("{} YES", level.glyph(false)) } else { "no".into() }
            ),
            level,
        ));
    }
    out.push((String::new(), Level::Info));
    let windows: Vec<String> = s.burns.iter().map(|(w, b)| format!("{w} {}", burn_text(*b))).collect();
    out.push((format!("{BURN_BY_WINDOW}{}", windows.join(" · ")), Level::Info));
    out
}

/// The burn rate over the chart's window (`[`/`]`): the service's error
/// ratio over every region, asked of the metrics source, as a multiple of
/// the budget's pace, against the two page thresholds. Returns the rows
/// used.
fn burn_chart(snap: &Snapshot, s: &SloStatus, chart: &ChartView, theme: &Theme, area: Rect, buf: &mut Buffer) -> u16 {
    use crate::model::range::RangeQuery;
    if area.height < 7 {
        return 0;
    }
    let span = chart.span_label();
    let put = |buf: &mut Buffer, y: u16, text: String, style| {
        warroom_ui::put(buf, area.x, y, text, area.width as usize, style);
    };
    let Some(source) = &chart.source else {
        put(
            buf,
            area.y,
            "burn over a window: asked of the metrics source by a live console only (not in this render)".into(),
            theme.muted,
        );
        return 1;
    };
    let width = area.width.saturating_sub(8);
    let (q, what) = match s.kind {
        crate::model::SloKind::Availability => (RangeQuery::errors(&s.service, chart.span_secs(), width), "failed"),
        crate::model::SloKind::Latency { threshold_ms } => {
            (RangeQuery::slow(&s.service, threshold_ms, chart.span_secs(), width), "slow")
        }
    };
    let got = snap.range(&q).cloned();
    *chart.wanted.borrow_mut() = vec![q];
    let budget = (1.0 - s.objective / 100.0).max(1e-9);
    let (fast, slow) =
        (alert_factor(RULES[0].4, s.period_hours, RULES[0].2), alert_factor(RULES[1].4, s.period_hours, RULES[1].2));
    let title = |note: &str| {
        format!(
            "burn rate of {} ({what} requests) over every region, last {span} (× the budget's pace){note}  ·  [ ] window · Space pause",
            s.service
        )
    };
    let Some(r) = got else {
        put(buf, area.y, title(&format!(" · asking {source}…")), theme.muted);
        return 1;
    };
    // An answer with no points is said as such, never "still asking".
    let why =
        r.error.clone().or_else(|| (!r.has_points()).then(|| format!("{} has no requests in that window", r.source)));
    if let Some(e) = why {
        put(buf, area.y, title(&format!(" · unavailable: {e}")), theme.warn);
        return 1;
    }
    put(buf, area.y, title(&format!(" (from {})", r.source)), theme.muted);
    let burn: Vec<f64> = r.err.iter().map(|e| e / budget).collect();
    let labels = [format!("page 1h {fast:.1}×"), format!("page 6h {slow:.1}×"), "pace 1×".to_string()];
    let h = area.height.min(12);
    let span_secs = r.step_secs.max(1.0) * (burn.len().saturating_sub(1).max(1)) as f64;
    let end = r.end;
    let found = end.map(|e| super::changes::marks_for(snap, &s.service, "", e, span_secs, 9)).unwrap_or_default();
    let marks = super::changes::marks_glyphs(&found, theme);
    warroom_ui::SeriesChart {
        lines: vec![warroom_ui::ChartLine { label: "burn", values: &burn, style: theme.info }],
        limits: vec![
            (labels[0].as_str(), fast, theme.critical),
            (labels[1].as_str(), slow, theme.warn),
            (labels[2].as_str(), 1.0, theme.muted),
        ],
        span_secs,
        unit: "×",
        theme,
        marks,
    }
    .render(Rect::new(area.x, area.y + 1, area.width, h - 3), buf);
    let legend = format!("burn   ···· page 1h {fast:.1}× · page 6h {slow:.1}× · budget pace 1×");
    put(buf, area.y + h - 2, legend, theme.muted);
    if !found.is_empty() {
        let text = super::changes::marks_legend(&found, span_secs, area.width as usize);
        put(buf, area.y + h - 1, text, theme.warn);
    }
    h
}

pub fn render(
    snap: &Snapshot,
    name: &str,
    chart: &ChartView,
    now: DateTime<Utc>,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let Some(s) = snap.slos.iter().find(|s| s.name == name) else {
        super::common::not_reported("SLO", name, theme, area, buf);
        return;
    };
    let badge = Some(feed_badge(&snap.fleet.metrics, now, theme));
    let inner = Panel { title: &format!("SLO {name}"), focused: true, badge, theme }.render(area, buf);
    if inner.height == 0 {
        return;
    }
    let text = lines(s);
    let mut y = inner.y;
    for (line, level) in &text {
        if y >= inner.y + inner.height {
            return;
        }
        let style = if *level == Level::Info { theme.text } else { theme.level(*level) };
        if line.starts_with(BURN_BY_WINDOW) {
            // Cut between windows, never through a figure.
            let items: Vec<String> = s.burns.iter().map(|(w, b)| format!("{w} {}", burn_text(*b))).collect();
            let fitted = warroom_ui::join_fit(BURN_BY_WINDOW, &items, " · ", inner.width as usize);
            warroom_ui::put(buf, inner.x, y, fitted, inner.width as usize, style);
            y += 1;
            continue;
        }
        warroom_ui::put(buf, inner.x, y, line, inner.width as usize, style);
        y += 1;
    }
    // The SLO's own changes (state, and what its service went through) at
    // the bottom when there is room; the chart takes what is between.
    let bottom = inner.y + inner.height;
    let changes_h = if bottom.saturating_sub(y) >= 12 { (bottom.saturating_sub(y) / 3).min(8) } else { 0 };
    if changes_h > 0 {
        let area = Rect::new(inner.x, bottom - changes_h, inner.width, changes_h);
        super::changes::render_about(snap, &[name, s.service.as_str()], theme, area, buf);
    }
    let bottom = bottom - changes_h;
    // The burn over the chosen window, then the budget per day.
    if bottom.saturating_sub(y) >= 14 {
        let h = (bottom.saturating_sub(y + 1) / 2).min(12);
        y += 1 + burn_chart(snap, s, chart, theme, Rect::new(inner.x, y + 1, inner.width, h), buf);
    }
    // The chart: budget left at the end of each day of the window.
    let room = bottom.saturating_sub(y + 2);
    if room < 3 || s.daily_remaining.is_empty() {
        return;
    }
    y += 1;
    let title = format!("budget left, last {} days (▼ = overspent)", s.daily_remaining.len());
    warroom_ui::put(buf, inner.x, y, title, inner.width as usize, theme.muted);
    y += 1;
    let h = room.min(12);
    let n = warroom_ui::cells(s.daily_remaining.len());
    let col_w = (inner.width.saturating_sub(6) / n.max(1)).clamp(1, 4);
    for (i, r) in s.daily_remaining.iter().enumerate() {
        let x = inner.x + 5 + i as u16 * col_w;
        if x + col_w > inner.x + inner.width {
            break;
        }
        let style = if *r < 0.0 {
            theme.critical
        } else if *r < 0.25 {
            theme.warn
        } else {
            theme.ok
        };
        let style = Theme::solid(style);
        let filled = (r.clamp(0.0, 1.0) * h as f64).round() as u16;
        for k in 0..h {
            let yy = y + h - 1 - k;
            let glyph = if k < filled { "█" } else { " " };
            for dx in 0..col_w.saturating_sub(1).max(1) {
                buf.set_stringn(x + dx, yy, glyph, 1, style);
            }
        }
        if *r < 0.0 {
            buf.set_stringn(x, y + h - 1, "▼", 1, theme.critical);
        }
    }
    buf.set_stringn(inner.x, y, "100%", 4, theme.muted);
    buf.set_stringn(inner.x, y + h - 1, "  0%", 4, theme.muted);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{slo::AlertState, SloKind, SloPeriod};

    fn slo(history_hours: Option<f64>, period: SloPeriod, so_far: f64) -> SloStatus {
        SloStatus {
            service: "checkout".into(),
            name: "checkout-availability".into(),
            kind: SloKind::Availability,
            objective: 99.9,
            period,
            period_hours: 720.0,
            total: 50_000.0,
            allowed_bad: Some(50.0),
            consumed_bad: Some(5.0),
            remaining: Some(0.9),
            burns: vec![],
            state: AlertState::Ok,
            hours_to_exhaustion: None,
            low_traffic: false,
            early_in_period: false,
            daily_remaining: vec![],
            history_hours,
            period_so_far_hours: so_far,
        }
    }

    fn said(s: &SloStatus) -> Vec<String> {
        lines(s).into_iter().map(|(l, _)| l).collect()
    }

    #[test]
    fn the_detail_says_how_much_of_the_period_the_counts_cover() {
        let rolling = SloPeriod::Rolling { days: 30 };
        let young = said(&slo(Some(0.2), rolling, 720.0));
        assert!(
            young.iter().any(|l| l.starts_with("history covers 12m of 30d: the budget is that window's")),
            "{young:?}"
        );
        let full = said(&slo(Some(31.0 * 24.0), rolling, 720.0));
        assert!(full.iter().any(|l| l == "history covers the whole 30d"), "{full:?}");
        let unknown = said(&slo(None, rolling, 720.0));
        assert!(unknown.iter().any(|l| l.contains("the source does not say how much of 30d")), "{unknown:?}");
        // A calendar month on its third day needs only those three days.
        let month = said(&slo(Some(72.5), SloPeriod::CalendarMonth, 72.0));
        assert!(month.iter().any(|l| l == "history covers the whole month"), "{month:?}");
        let (_, level) = coverage(&slo(Some(0.2), rolling, 720.0));
        assert_eq!(level, Level::Unknown, "a short history is not shown as healthy");
    }
}
