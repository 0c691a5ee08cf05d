//! Drawing a whole screen: a pure function of (snapshot, view state, time,
//! theme) into a buffer. The local terminal, tests and `warroom snapshot`
//! all go through here.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use warroom_ui::{centered, KeyBar, Level, TextBox, Theme};

use crate::app::keymap::{footer_hints, help_lines, Binding};
use crate::app::view::{PaneId, Screen, ViewState};
use crate::model::{RegionStatus, Snapshot, FEEDS};
use crate::panes::{self, draw_pane, PaneContent};

/// Smallest area the console draws into; below it, a one-line notice.
pub const MIN_WIDTH: u16 = 30;
pub const MIN_HEIGHT: u16 = 8;

pub fn render(
    snap: &Snapshot,
    view: &ViewState,
    keymap: &[Binding],
    now: DateTime<Utc>,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!("terminal too small ({}×{}); need {MIN_WIDTH}×{MIN_HEIGHT}", area.width, area.height);
        if area.height > 0 {
            buf.set_stringn(area.x, area.y, msg, area.width as usize, theme.warn);
        }
        return;
    }
    let header = Rect::new(area.x, area.y, area.width, 1);
    let footer = Rect::new(area.x, area.y + area.height - 1, area.width, 1);
    let body = Rect::new(area.x, area.y + 1, area.width, area.height - 2);
    draw_header(snap, view, now, theme, header, buf);
    let actions_allowed = view.operator.role == crate::actions::Role::Operator;
    KeyBar { hints: &footer_hints(keymap, actions_allowed), theme }.render(footer, buf);
    match &view.screen {
        Screen::Overview => draw_overview(snap, view, now, theme, body, buf),
        Screen::Region(name) => draw_region(snap, name, view.region_row, now, theme, body, buf),
        Screen::Slo(name) => panes::slo_detail::render(snap, name, now, theme, body, buf),
        Screen::Service(name) => panes::service::render(snap, name, now, theme, body, buf),
        Screen::Deployment(id) => panes::deployment::render(snap, id, now, theme, body, buf),
    }
    draw_toast(snap, now, theme, body, buf);
    if let Some(input) = &view.filter_input {
        buf.set_style(footer, theme.selection);
        let text = format!("/{}▏  fuzzy filter on service names · Enter keep · Esc clear", input.value());
        buf.set_stringn(footer.x, footer.y, text, footer.width as usize, theme.key.patch(theme.selection));
    }
    if let Some(d) = &view.dialog {
        draw_dialog(d, theme, body, buf);
    }
    if view.help {
        draw_help(keymap, theme, body, buf);
    }
}

/// Seconds an action's latest news stays on screen as a toast.
pub const TOAST_SECS: i64 = 8;

/// The newest action update, for a few seconds, on the line above the footer.
fn draw_toast(snap: &Snapshot, now: DateTime<Utc>, theme: &Theme, body: Rect, buf: &mut Buffer) {
    let Some(e) = snap.fleet.actions.iter().max_by_key(|e| e.updated_at) else {
        return;
    };
    if (now - e.updated_at).num_seconds() >= TOAST_SECS || body.height < 3 {
        return;
    }
    let (text, level) = panes::actions::toast_text(e, theme);
    let y = body.y + body.height - 1;
    let line = Rect::new(body.x, y, body.width, 1);
    buf.set_style(line, theme.level(level).patch(theme.selection));
    buf.set_stringn(body.x, y, format!(" {text} "), body.width as usize, theme.level(level).patch(theme.selection));
}

fn draw_dialog(d: &crate::app::view::Dialog, theme: &Theme, body: Rect, buf: &mut Buffer) {
    use crate::app::view::DialogFocus;
    let mut lines: Vec<Line> = vec![Line::from(Span::styled(d.preview.title.clone(), theme.title)), Line::from("")];
    for e in &d.preview.effect {
        lines.push(Line::from(Span::raw(format!("  {e}"))));
    }
    lines.push(Line::from(""));
    let blast = match d.preview.blast {
        crate::actions::Blast::High => {
            Span::styled(format!("{} High blast radius", Level::Warn.glyph(theme.ascii)), theme.warn)
        }
        crate::actions::Blast::Low => Span::styled("Low blast radius", theme.muted),
    };
    lines.push(Line::from(blast));
    if let Some(name) = &d.preview.type_to_confirm {
        lines.push(Line::from(vec![
            Span::raw("Type "),
            Span::styled(name.clone(), theme.title),
            Span::raw(" to confirm:"),
        ]));
        let mark = if d.armed() { Level::Ok.glyph(theme.ascii) } else { " " };
        lines.push(Line::from(vec![
            Span::styled("> ", theme.key),
            Span::styled(format!("{}▏", d.input.value()), theme.text),
            Span::styled(format!(" {mark}"), theme.ok),
        ]));
    }
    lines.push(Line::from(""));
    let button = |label: &str, focused: bool, enabled: bool| {
        let mut style = if enabled { theme.text } else { theme.muted };
        if focused {
            style = style.patch(theme.selection);
        }
        Span::styled(format!("[ {label} ]"), style)
    };
    lines.push(Line::from(vec![
        button("Cancel", d.focus == DialogFocus::Cancel, true),
        Span::raw("   "),
        button("Confirm", d.focus == DialogFocus::Confirm, d.armed()),
    ]));
    lines.push(Line::from(Span::styled("Tab switch · Enter choose · Esc cancel", theme.muted)));
    let width = lines.iter().map(|l| l.width()).max().unwrap_or(40) as u16 + 4;
    let area = centered(body, width.max(44), lines.len() as u16 + 2);
    TextBox { title: "Confirm action", lines, theme }.render(area, buf);
}

/// Worst status across the fleet, and a short reason.
pub fn global_status(snap: &Snapshot, now: DateTime<Utc>) -> (Level, String) {
    let f = &snap.fleet;
    if f.services.items().is_empty() && f.metrics.items().is_empty() {
        let level =
            if f.services.error.is_some() || f.metrics.error.is_some() { Level::Critical } else { Level::Unknown };
        return (level, "NO DATA".into());
    }
    if f.metrics.is_stale(now) && f.probes.is_stale(now) {
        return (Level::Stale, "STALE".into());
    }
    let down_regions = f.regions.items().iter().filter(|r| r.status == RegionStatus::Down).count();
    let down = snap.all_cells().filter(|c| c.status == RegionStatus::Down).count();
    let degraded = snap.all_cells().filter(|c| c.status == RegionStatus::Degraded).count();
    if down_regions > 0 {
        (Level::Critical, format!("CRITICAL · {down_regions} region down"))
    } else if down > 0 {
        (Level::Critical, format!("CRITICAL · {down} down, {degraded} degraded"))
    } else if degraded > 0 {
        (Level::Warn, format!("DEGRADED · {degraded} degraded"))
    } else {
        (Level::Ok, "ALL OK".into())
    }
}

fn draw_header(snap: &Snapshot, view: &ViewState, now: DateTime<Utc>, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let (level, text) = global_status(snap, now);
    let narrow = area.width < 110;
    let mut spans = vec![Span::styled("WARROOM ", theme.title)];
    if let Some(demo) = &view.demo {
        let label = if narrow { " DEMO ".to_string() } else { format!(" DEMO {demo} ") };
        spans.push(Span::styled(label, theme.warn.patch(theme.selection)));
        spans.push(Span::raw(" "));
    }
    let text = if narrow { text.split(" · ").next().unwrap_or("").to_string() } else { text };
    spans.push(Span::styled(format!("{} {text}", level.glyph(theme.ascii)), theme.level(level)));
    if let Some(f) = &view.filter {
        spans.push(Span::styled(format!(" │ filter /{f}"), theme.key));
    }
    spans.push(Span::styled(" │ ", theme.muted));
    let fmt = if narrow { "%H:%M:%S UTC" } else { "%Y-%m-%d %H:%M:%S UTC" };
    spans.push(Span::styled(now.format(fmt).to_string(), theme.text));
    let running = snap.fleet.actions_in_flight();
    if running > 0 {
        const FRAMES: [&str; 4] = ["◐", "◓", "◑", "◒"];
        let frame = FRAMES[(now.timestamp_millis() / 250).rem_euclid(4) as usize];
        let glyph = if theme.ascii { "*" } else { frame };
        spans.push(Span::styled(" │ ", theme.muted));
        spans.push(Span::styled(
            format!("{glyph} {running} action{} in flight", if running == 1 { "" } else { "s" }),
            theme.info,
        ));
    }
    spans.push(Span::styled(" │ ", theme.muted));
    let mut failing = Vec::new();
    let mut detail = Vec::new();
    for id in FEEDS {
        let (observed, err, stale) = snap.fleet.feed_meta(id, now);
        let l = if err.is_some() {
            Level::Critical
        } else if stale {
            Level::Stale
        } else if observed.is_none() {
            Level::Unknown
        } else {
            Level::Ok
        };
        if l != Level::Ok {
            failing.push((id.name(), l));
        }
        detail.push((id.name(), l));
    }
    let used: usize = spans.iter().map(|s| s.width()).sum();
    let full_width: usize = detail.iter().map(|(n, _)| n.len() + 3).sum();
    if (area.width as usize).saturating_sub(used) >= full_width {
        for (name, l) in detail {
            spans.push(Span::styled(format!("{}{name} ", l.glyph(theme.ascii)), theme.level(l)));
        }
    } else if failing.is_empty() {
        spans.push(Span::styled(format!("{} feeds {n}/{n}", Level::Ok.glyph(theme.ascii), n = FEEDS.len()), theme.ok));
    } else {
        for (name, l) in failing {
            spans.push(Span::styled(format!("{}{name} ", l.glyph(theme.ascii)), theme.level(l)));
        }
    }
    Paragraph::new(Line::from(spans)).render(area, buf);
}

/// Split `total` rows among panes wanting `want` rows: every pane first
/// gets a header and one row (4), then rows go round-robin to panes that
/// want more; whatever is left goes to `fill`.
pub fn split_heights(total: u16, want: &[u16], fill: usize) -> Vec<u16> {
    if want.is_empty() {
        return vec![];
    }
    let fill = fill.min(want.len() - 1);
    let want: Vec<u16> = want.iter().map(|w| (*w).max(3)).collect();
    let mut out = vec![0u16; want.len()];
    let mut left = total;
    // First pass: up to 4 rows each, top to bottom.
    for (o, w) in out.iter_mut().zip(&want) {
        let give = (*w).min(4).min(left);
        *o = give;
        left -= give;
    }
    // Then one row at a time to whoever still wants more.
    while left > 0 {
        let mut gave = false;
        for (o, w) in out.iter_mut().zip(&want) {
            if left > 0 && *o < *w {
                *o += 1;
                left -= 1;
                gave = true;
            }
        }
        if !gave {
            break;
        }
    }
    out[fill] += left;
    out
}

fn stack(area: Rect, heights: &[u16]) -> Vec<Rect> {
    let mut y = area.y;
    heights
        .iter()
        .map(|h| {
            let h = (*h).min(area.y + area.height - y);
            let r = Rect::new(area.x, y, area.width, h);
            y += h;
            r
        })
        .collect()
}

fn draw_overview(snap: &Snapshot, view: &ViewState, now: DateTime<Utc>, theme: &Theme, body: Rect, buf: &mut Buffer) {
    let f = &snap.fleet;
    let n_svc = view.visible_services(snap).len() as u16;
    let build = |p: PaneId, w: u16| -> PaneContent<'_> {
        match p {
            PaneId::Matrix => panes::matrix::build(snap, view, now, theme, w),
            PaneId::Latency => panes::latency::build(snap, view, now, theme, w),
            PaneId::Budgets => panes::budgets::build(snap, view, now, theme, w),
            PaneId::Canaries => panes::canaries::build(snap, view, now, theme, w),
            PaneId::Circuits => panes::circuits::build(snap, view, now, theme, w),
            PaneId::Flags => panes::flags::build(snap, view, now, theme, w),
            PaneId::Actions => panes::actions::build(snap, view, now, theme, w),
            PaneId::Alerts => panes::alerts::build(snap, view, now, theme, w),
        }
    };
    let want = |p: PaneId| -> u16 {
        let rows = match p {
            // Closed breakers are the norm: ask for room for the others only.
            PaneId::Circuits => {
                f.circuits.items().iter().filter(|c| c.state != crate::model::CircuitState::Closed).count() as u16 + 1
            }
            _ => crate::app::view::pane_len(p, snap, view) as u16,
        };
        rows.max(1) + 3
    };
    // Columns: two below 200 cells wide, three above. The action log joins
    // the first column once there is something in it.
    let mut first = vec![PaneId::Matrix, PaneId::Latency];
    if !f.actions.is_empty() {
        first.push(PaneId::Actions);
    }
    // Alerts join the right side while any are reported (or their source fails).
    let mut budgets = vec![PaneId::Budgets];
    if !f.alerts.items().is_empty() || f.alerts.error.is_some() {
        budgets.push(PaneId::Alerts);
    }
    let columns: Vec<(Vec<PaneId>, usize)> = if body.width >= 200 {
        budgets.push(PaneId::Canaries);
        vec![(first, 1), (budgets, 0), (vec![PaneId::Circuits, PaneId::Flags], 0)]
    } else {
        let fill = budgets.len() + 1;
        budgets.extend([PaneId::Canaries, PaneId::Circuits, PaneId::Flags]);
        vec![(first, 1), (budgets, fill)]
    };
    let widths: Vec<u16> = if columns.len() == 3 {
        let a = body.width * 2 / 5;
        let b = (body.width - a) / 2;
        vec![a, b, body.width - a - b]
    } else {
        let a = (body.width * 21 / 40).max(body.width.min(42));
        vec![a, body.width - a]
    };
    let mut x = body.x;
    for ((panes_in_col, fill), w) in columns.iter().zip(widths) {
        let col = Rect::new(x, body.y, w, body.height);
        x += w;
        let wants: Vec<u16> =
            panes_in_col.iter().map(|p| if *p == PaneId::Matrix { n_svc.max(1) + 3 } else { want(*p) }).collect();
        let heights = split_heights(col.height, &wants, *fill);
        for (p, rect) in panes_in_col.iter().zip(stack(col, &heights)) {
            if rect.height == 0 {
                continue;
            }
            let content = build(*p, rect.width.saturating_sub(2));
            draw_pane(&content, view.focus == *p, theme, rect, buf);
        }
    }
}

fn draw_region(
    snap: &Snapshot,
    name: &str,
    row: usize,
    now: DateTime<Utc>,
    theme: &Theme,
    body: Rect,
    buf: &mut Buffer,
) {
    let region = snap.fleet.regions.items().iter().find(|r| r.name == name);
    let (line, style) = panes::region::summary(region, name, theme);
    buf.set_stringn(body.x, body.y, line, body.width as usize, style);
    let rest = Rect::new(body.x, body.y + 1, body.width, body.height.saturating_sub(1));
    let content = panes::region::build(snap, name, row, now, theme);
    draw_pane(&content, true, theme, rest, buf);
}

fn draw_help(keymap: &[Binding], theme: &Theme, body: Rect, buf: &mut Buffer) {
    let mut lines: Vec<Line> = help_lines(keymap)
        .into_iter()
        .map(|(keys, what)| Line::from(vec![Span::styled(format!("{keys:>16}  "), theme.key), Span::raw(what)]))
        .collect();
    lines.push(Line::from(""));
    let legend: Vec<Span> = [Level::Ok, Level::Warn, Level::Critical, Level::Stale, Level::Paused, Level::Unknown]
        .iter()
        .map(|l| Span::styled(format!("{} {}  ", l.glyph(theme.ascii), l.word()), theme.level(*l)))
        .collect();
    lines.push(Line::from(legend));
    lines.push(Line::from(Span::styled("any key closes this help", Style::default().patch(theme.muted))));
    let h = lines.len() as u16 + 2;
    let area = centered(body, 84, h);
    TextBox { title: "Keys", lines, theme }.render(area, buf);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heights_fit_exactly() {
        assert_eq!(split_heights(22, &[11, 11], 1), vec![11, 11]);
        assert_eq!(split_heights(30, &[11, 11], 1), vec![11, 19]);
        assert_eq!(split_heights(22, &[11, 6, 7, 10], 2), vec![6, 6, 5, 5]);
        let h = split_heights(22, &[11, 6, 51, 10], 2);
        assert_eq!(h.iter().sum::<u16>(), 22, "{h:?}");
        assert!(h.iter().all(|x| *x >= 4), "{h:?}");
        let tiny = split_heights(5, &[11, 6, 51, 10], 2);
        assert!(tiny.iter().sum::<u16>() <= 5, "{tiny:?}");
    }
}
