//! One SLO in detail: the budget in events, every window's burn rate
//! against the multiwindow thresholds, and the budget over the window as a
//! chart.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use warroom_ui::{Level, Panel, Theme};

use super::budgets::{slo_label, state_badge};
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

fn burn_text(b: Option<f64>) -> String {
    b.map(|b| format!("{b:.2}×")).unwrap_or_else(|| "no data".into())
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
    out.push((format!("burn by window: {}", windows.join(" · ")), Level::Info));
    out
}

pub fn render(snap: &Snapshot, name: &str, now: DateTime<Utc>, theme: &Theme, area: Rect, buf: &mut Buffer) {
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
        buf.set_stringn(inner.x, y, line, inner.width as usize, style);
        y += 1;
    }
    // The chart: budget left at the end of each day of the window.
    let room = (inner.y + inner.height).saturating_sub(y + 2);
    if room < 3 || s.daily_remaining.is_empty() {
        return;
    }
    y += 1;
    let title = format!("budget left, last {} days (▼ = overspent)", s.daily_remaining.len());
    buf.set_stringn(inner.x, y, title, inner.width as usize, theme.muted);
    y += 1;
    let h = room.min(12);
    let n = s.daily_remaining.len() as u16;
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
