//! Drawing a whole screen: a pure function of (snapshot, view state, time,
//! theme) into a buffer. The local terminal, tests and `warroom snapshot`
//! all go through here.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget};
use warroom_ui::{centered, ellipsize, KeyBar, Level, TextBox, Theme};

use crate::app::view::{Screen, ViewState};
use crate::keymap::{footer_hints, help_lines, Binding};
use crate::model::{FeedState, Snapshot, FEEDS};
use crate::panes::{self, draw_pane};
use crate::views::{distribute, Kind, PaneSpec, Size, Split};

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
    // Links recorded by a frame nobody laid over (an export) are dropped.
    let _ = warroom_ui::take_links();
    // Pane rectangles are recorded afresh each frame, for the mouse.
    view.hits.borrow_mut().clear();
    render_with(snap, view, Some(keymap), now, theme, area, buf)
}

/// A view as a wall page: the same screen without key hints (the wall
/// binds no keys; its own footer says so).
pub fn render_wall_page(
    snap: &Snapshot,
    view: &ViewState,
    now: DateTime<Utc>,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    render_with(snap, view, None, now, theme, area, buf)
}

fn render_with(
    snap: &Snapshot,
    view: &ViewState,
    keys: Option<&[Binding]>,
    now: DateTime<Utc>,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) {
    let keymap = keys.unwrap_or(&[]);
    let theme = view.theme.as_ref().unwrap_or(theme);
    if area.width < MIN_WIDTH || area.height < MIN_HEIGHT {
        let msg = format!("terminal too small ({}×{}); need {MIN_WIDTH}×{MIN_HEIGHT}", area.width, area.height);
        if area.height > 0 {
            warroom_ui::put(buf, area.x, area.y, msg, area.width as usize, theme.warn);
        }
        return;
    }
    let header = Rect::new(area.x, area.y, area.width, 1);
    let footer_rows = if keys.is_some() { 1 } else { 0 };
    let footer = Rect::new(area.x, area.y + area.height - 1, area.width, 1);
    let body = Rect::new(area.x, area.y + 1, area.width, area.height - 1 - footer_rows);
    draw_header(snap, view, now, theme, header, buf);
    if keys.is_some() {
        let actions_allowed = view.operator.role == crate::actions::Role::Operator;
        // A kept filter says so, and how to clear it, before the key hints.
        let mut hints_at = footer;
        if let (Some(f), None) = (&view.filter, &view.filter_input) {
            let n = view.visible_services(snap).len();
            let total = snap.fleet.services.items().len();
            let text = format!("filter: {f} · {n} of {total} services (Esc clears)  ");
            let (x, _) = warroom_ui::put(buf, footer.x, footer.y, &text, footer.width as usize, theme.key);
            hints_at = Rect::new(x, footer.y, footer.width.saturating_sub(x - footer.x), 1);
        }
        KeyBar { hints: &footer_hints(keymap, actions_allowed), theme }.render(hints_at, buf);
    }
    match &view.screen {
        Screen::Overview => match view.runbook.as_ref().filter(|_| !view.runbook_hidden) {
            // The runbook sits beside the live panes (below them when narrow).
            Some(run) => {
                let (live, side) = if body.width >= 100 {
                    let w = (body.width * 2 / 5).max(44);
                    (
                        Rect::new(body.x, body.y, body.width - w, body.height),
                        Rect::new(body.x + body.width - w, body.y, w, body.height),
                    )
                } else {
                    let h = body.height * 3 / 5;
                    (
                        Rect::new(body.x, body.y, body.width, body.height - h),
                        Rect::new(body.x, body.y + body.height - h, body.width, h),
                    )
                };
                draw_view(snap, view, now, theme, live, buf);
                panes::runbook::render(run, keymap, now, theme, side, buf);
            }
            None => draw_view(snap, view, now, theme, body, buf),
        },
        Screen::Region(name) => draw_region(snap, name, view.region_row, now, theme, body, buf),
        // A paused drill-down draws the snapshot it froze on.
        Screen::Slo(name) => panes::slo_detail::render(view.shown(snap), name, &view.chart, now, theme, body, buf),
        Screen::Service(name) => panes::service::render(view.shown(snap), name, &view.chart, now, theme, body, buf),
        Screen::Deployment(id) => panes::deployment::render(snap, id, now, theme, body, buf),
        Screen::Alert(id) => panes::alert_detail::render(snap, id, now, theme, body, buf),
        Screen::Links(s, r) => panes::links::render(snap, s.as_deref(), r.as_deref(), now, theme, body, buf),
    }
    draw_toast(snap, now, theme, body, buf);
    if let Some(input) = &view.filter_input {
        blank_line(footer, theme.selection, buf);
        let text = format!("/{}▏  fuzzy filter on service names · Enter keep · Esc clear", input.value());
        warroom_ui::put(buf, footer.x, footer.y, text, footer.width as usize, theme.key.patch(theme.selection));
    }
    if let Some(p) = &view.prompt {
        blank_line(footer, theme.selection, buf);
        let what = match p.what {
            crate::app::runbook_ui::PromptFor::Skip => "skip this step",
            crate::app::runbook_ui::PromptFor::Abort => "ABORT the run",
        };
        let text = format!("reason to {what}: {}▏  Enter confirm · Esc cancel", p.input.value());
        warroom_ui::put(buf, footer.x, footer.y, text, footer.width as usize, theme.key.patch(theme.selection));
    } else if let Some(input) = &view.command {
        draw_command_line(snap, view, input.value(), theme, footer, body, buf);
    } else if let Some((level, text)) = &view.message {
        blank_line(footer, theme.selection, buf);
        let line = format!("{} {text}", level.glyph(theme.ascii));
        warroom_ui::put(
            buf,
            footer.x,
            footer.y,
            line,
            footer.width as usize,
            theme.level(*level).patch(theme.selection),
        );
    }
    if let Some(d) = &view.dialog {
        draw_dialog(d, theme, body, buf);
    }
    if view.help {
        draw_help(keymap, theme, body, buf);
    }
}

/// Wipe a line (whatever was drawn there) and give it a style.
fn blank_line(area: Rect, style: Style, buf: &mut Buffer) {
    ratatui::widgets::Clear.render(area, buf);
    buf.set_style(area, style);
}

/// The command line over the footer, with what Tab would complete (or
/// the verb's usage) on the line above.
fn draw_command_line(
    snap: &Snapshot,
    view: &ViewState,
    line: &str,
    theme: &Theme,
    footer: Rect,
    body: Rect,
    buf: &mut Buffer,
) {
    blank_line(footer, theme.selection, buf);
    let text = format!(":{line}▏  Tab complete · Enter run · Esc cancel");
    warroom_ui::put(buf, footer.x, footer.y, text, footer.width as usize, theme.key.patch(theme.selection));
    if body.height == 0 {
        return;
    }
    let (_, cands) = crate::app::command::candidates(line, view, snap);
    let verb = line.split_whitespace().next().unwrap_or("");
    let usage = crate::app::command::Verb::parse(verb).map(|v| v.def()).filter(|_| line.contains(' '));
    let hint = match (cands.is_empty(), usage) {
        // What fits, then … (Tab cycles through every candidate).
        (false, _) if cands.len() > 1 => {
            let all = cands.join("  ");
            let room = (body.width as usize).saturating_sub(1);
            if all.chars().count() <= room {
                all
            } else {
                let tail = format!("  … {} in all, Tab cycles", cands.len());
                format!("{}{tail}", ellipsize(&all, room.saturating_sub(tail.chars().count())))
            }
        }
        (false, _) => cands.join("  "),
        (true, Some(d)) => format!("{} {} — {}", d.name, d.args, d.help),
        (true, None) => "no match".to_string(),
    };
    let y = body.y + body.height - 1;
    let row = Rect::new(body.x, y, body.width, 1);
    blank_line(row, theme.muted.patch(theme.selection), buf);
    warroom_ui::put(buf, body.x, y, format!(" {hint}"), body.width as usize, theme.text.patch(theme.selection));
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
    warroom_ui::put(
        buf,
        body.x,
        y,
        format!(" {text} "),
        body.width as usize,
        theme.level(level).patch(theme.selection),
    );
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
    if let Some(why) = &d.refused_now {
        let g = Level::Critical.glyph(theme.ascii);
        lines.push(Line::from(Span::styled(format!("{g} Would be refused now: {why}"), theme.critical)));
    } else if d.changed {
        let g = Level::Warn.glyph(theme.ascii);
        lines.push(Line::from(Span::styled(
            format!("{g} The effect changed while this was open: read it again; Tab re-arms Confirm"),
            theme.warn,
        )));
    }
    if let Some(name) = &d.preview.type_to_confirm {
        lines.push(Line::from(vec![
            Span::raw("Type "),
            Span::styled(name.clone(), theme.title),
            Span::raw(" to confirm:"),
        ]));
        let mark = if d.name_matches() { Level::Ok.glyph(theme.ascii) } else { " " };
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
    let keys = if d.preview.type_to_confirm.is_some() {
        "type the name, Enter confirms · Esc cancel"
    } else {
        "Tab switch · Enter choose · Esc cancel"
    };
    lines.push(Line::from(Span::styled(keys, theme.muted)));
    let width = warroom_ui::cells(lines.iter().map(|l| l.width()).max().unwrap_or(40)).saturating_add(4);
    let area = centered(body, width.max(44), warroom_ui::cells(lines.len()).saturating_add(2));
    TextBox { title: "Confirm action", lines, theme }.render(area, buf);
}

pub use crate::panes::common::overall_level;

/// `glyph WORD · places` in at most `width` cells: as many places as fit,
/// then the first one cut with `…`, always keeping `+N more`.
pub fn fit_status(roll: &crate::model::rollup::Rollup, glyph: &str, width: usize) -> String {
    let word = roll.state.word();
    for n in (1..=3).rev() {
        let t = format!("{glyph} {}", roll.text(n));
        if t.chars().count() <= width {
            return t;
        }
    }
    let head = format!("{glyph} {word} · ");
    let first = roll.places.first().cloned().unwrap_or_else(|| roll.detail.clone());
    let extra = roll.places.len().saturating_sub(1);
    for more in [format!(" +{extra} more"), format!(" +{extra}")] {
        let more = if extra > 0 { more } else { String::new() };
        let room = width.saturating_sub(head.chars().count() + more.chars().count());
        if room >= 6 && !first.is_empty() {
            // Cut the place's name, never its state word (`payments/us-w… DOWN`).
            let cut = match first.rsplit_once(' ') {
                Some((name, word)) if matches!(word, "DOWN" | "DEGRADED") && room > word.len() + 3 => {
                    format!("{} {word}", ellipsize(name, room - word.len() - 1))
                }
                _ => ellipsize(&first, room),
            };
            return format!("{head}{cut}{more}");
        }
    }
    ellipsize(&format!("{glyph} {word}"), width)
}

fn draw_header(snap: &Snapshot, view: &ViewState, now: DateTime<Utc>, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let roll = crate::model::rollup::fleet(snap, now);
    let level = overall_level(roll.state);
    let text = roll.text(3);
    let narrow = area.width < 110;
    let mut spans = vec![Span::styled("WARROOM ", theme.title)];
    if let Some(demo) = &view.demo {
        let label = if narrow { " DEMO ".to_string() } else { format!(" DEMO {demo} ") };
        spans.push(Span::styled(label, theme.warn.patch(theme.selection)));
        spans.push(Span::raw(" "));
    }
    let status_at = spans.len();
    if view.def.name != "overview" && view.screen == Screen::Overview {
        spans.push(Span::styled(format!(" │ view {}", view.def.name), theme.key));
    }
    if let Some(f) = &view.filter {
        spans.push(Span::styled(format!(" │ filter /{f}"), theme.key));
    }
    if let (Some((_, at)), Screen::Service(_) | Screen::Slo(_)) = (&view.chart.paused, &view.screen) {
        // The body is frozen; the header (and its status) stays live.
        let age = crate::panes::common::fmt_age((now - *at).num_seconds().max(0) as f64);
        spans.push(Span::raw(" "));
        spans.push(Span::styled(
            format!(" PAUSED {} ({age}) ", at.format("%H:%M:%S")),
            theme.warn.patch(theme.selection),
        ));
    }
    if let Some(run) = view.runbook.as_ref().filter(|r| !r.finished()) {
        let text = format!(" │ ▶ {} {}/{}", run.book.name, run.rec.current + 1, run.rec.steps.len());
        spans.push(Span::styled(text, theme.info));
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
    let mut configured = 0;
    for id in FEEDS {
        // (glyph, style); a feed with no source is muted, never a failure.
        let (glyph, style, bad) = match snap.fleet.feed_state(id, now) {
            FeedState::NotConfigured => ("–", theme.muted, false),
            FeedState::Failing => (Level::Critical.glyph(theme.ascii), theme.level(Level::Critical), true),
            FeedState::Stale => (Level::Stale.glyph(theme.ascii), theme.level(Level::Stale), true),
            FeedState::Waiting => (Level::Unknown.glyph(theme.ascii), theme.level(Level::Unknown), true),
            FeedState::Fresh => (Level::Ok.glyph(theme.ascii), theme.level(Level::Ok), false),
        };
        if glyph != "–" {
            configured += 1;
        }
        if bad {
            failing.push((id.name(), glyph, style));
        }
        detail.push((id.name(), glyph, style));
    }
    let status_text = format!("{} {}", level.glyph(theme.ascii), text);
    let used: usize = spans.iter().map(|s| s.width()).sum::<usize>() + status_text.chars().count();
    let full_width: usize = detail.iter().map(|(n, _, _)| n.len() + 3).sum();
    let room = (area.width as usize).saturating_sub(used);
    // The status word always keeps its place: the feed list shrinks first
    // (all feeds, then the failing ones, then a count).
    let status_min = format!("{} {}", level.glyph(theme.ascii), roll.state.word()).chars().count();
    let room_for_feeds = (area.width as usize).saturating_sub(
        spans.iter().map(|s| s.width()).sum::<usize>() + status_min.max(status_text.chars().count().min(40)),
    );
    let failing_width: usize = failing.iter().map(|(n, _, _)| n.len() + 2).sum();
    if room >= full_width {
        for (name, g, st) in detail {
            spans.push(Span::styled(format!("{g}{name} "), st));
        }
    } else if failing.is_empty() {
        let ok = configured - failing.len();
        spans.push(Span::styled(format!("{} feeds {ok}/{configured}", Level::Ok.glyph(theme.ascii)), theme.ok));
    } else if failing_width <= room_for_feeds {
        for (name, g, st) in failing {
            spans.push(Span::styled(format!("{g}{name} "), st));
        }
    } else {
        let worst = failing.iter().find(|(_, g, _)| *g == Level::Critical.glyph(theme.ascii)).unwrap_or(&failing[0]);
        let what = if worst.1 == Level::Critical.glyph(theme.ascii) { "failing" } else { "stale or waiting" };
        let text = format!("{} {}/{configured} feeds {what}", worst.1, failing.len());
        spans.push(Span::styled(text, worst.2));
    }
    // Since when the fleet is in this state, and the open incident, right
    // after the status.
    let src_now = snap.source_now(now);
    let mut after_status = Vec::new();
    let since = snap.state_since.map(|since| {
        let age = crate::panes::common::fmt_age((src_now - since).num_seconds().max(0) as f64);
        format!(" since {} ({age})", since.format("%H:%M"))
    });
    if let Some(i) = &snap.incident {
        let age = crate::panes::common::fmt_age((src_now - i.opened_at).num_seconds().max(0) as f64);
        let long = format!(" │ INCIDENT {} · {age} · commander {}", i.severity, i.commander);
        // The status word keeps its place: the incident says less first.
        let used: usize = spans.iter().map(|s| s.width()).sum();
        let status_min = format!("{} {}", level.glyph(theme.ascii), roll.state.word()).chars().count() + 2;
        let text = if used + long.chars().count() + status_min <= area.width as usize {
            long
        } else {
            format!(" │ INC {} {age}", i.severity)
        };
        after_status.push(Span::styled(text, theme.critical));
    }
    for (k, s) in after_status.into_iter().enumerate() {
        spans.insert(status_at + k, s);
    }
    // "since" only where the whole status (its reason) still fits.
    if let Some(since) = since {
        let used: usize = spans.iter().map(|s| s.width()).sum();
        let status = format!("{} {}", level.glyph(theme.ascii), text).chars().count();
        if used + status + since.chars().count() <= area.width as usize {
            spans.insert(status_at, Span::styled(since, theme.muted));
        }
    }
    // The status goes right after the title: cut its reason (with …)
    // before anything else on the line.
    // The status word is never cut: the view's name goes first, then the
    // incident's short form.
    let status_min = format!("{} {}", level.glyph(theme.ascii), roll.state.word()).chars().count();
    for drop in [" │ view ", " │ INC "] {
        let width: usize = spans.iter().map(|s| s.width()).sum();
        if width + status_min > area.width as usize {
            if let Some(i) = spans.iter().position(|s| s.content.starts_with(drop)) {
                spans.remove(i);
            }
        }
    }
    let rest: usize = spans[status_at..].iter().map(|s| s.width()).sum();
    let before: usize = spans[..status_at].iter().map(|s| s.width()).sum();
    let fit = (area.width as usize).saturating_sub(before + rest);
    spans.insert(status_at, Span::styled(fit_status(&roll, level.glyph(theme.ascii), fit), theme.level(level)));
    Paragraph::new(warroom_ui::fit_line(Line::from(spans), area.width as usize)).render(area, buf);
}

/// The pane's rows plus borders: what an `auto` pane asks for.
fn pane_want(kind: Kind, ctx: &panes::Ctx<'_>) -> u16 {
    kind.pane().want(ctx).max(1) + 3
}

/// Whether a `hide_empty` pane has nothing to show (and no error to tell).
pub fn pane_is_empty(kind: Kind, snap: &Snapshot) -> bool {
    kind.pane().is_empty(snap)
}

/// Draw the current view's layout into the body.
fn draw_view(snap: &Snapshot, view: &ViewState, now: DateTime<Utc>, theme: &Theme, body: Rect, buf: &mut Buffer) {
    let Some(layout) = view.def.layout_for(body.width, body.height) else {
        return;
    };
    let groups: Vec<(Size, Vec<&PaneSpec>)> = layout
        .groups
        .iter()
        .map(|g| (g.size, g.panes.iter().filter(|p| !(p.hide_empty && pane_is_empty(p.kind, snap))).collect()))
        .filter(|(_, panes): &(Size, Vec<&PaneSpec>)| !panes.is_empty())
        .collect();
    let columns = layout.split == Split::Columns;
    let (along, across) = if columns { (body.width, body.height) } else { (body.height, body.width) };
    // Heights follow content; widths are shared by size alone.
    let ctx = view.ctx(snap, now, theme);
    let wants_of = |ps: &[&PaneSpec]| -> Vec<u16> { ps.iter().map(|p| pane_want(p.kind, &ctx)).collect() };
    let group_wants: Vec<u16> = if columns {
        vec![0; groups.len()]
    } else {
        groups.iter().map(|(_, ps)| wants_of(ps).into_iter().max().unwrap_or(4)).collect()
    };
    let group_sizes: Vec<Size> = groups.iter().map(|(s, _)| *s).collect();
    let extents = distribute(along, &group_sizes, &group_wants, columns);
    let mut offset = 0u16;
    for ((_, panes), extent) in groups.iter().zip(extents) {
        let sizes: Vec<Size> = panes.iter().map(|p| p.size).collect();
        let wants = if columns { wants_of(panes) } else { vec![0; panes.len()] };
        let parts = distribute(across, &sizes, &wants, !columns);
        let mut inner = 0u16;
        for (p, part) in panes.iter().zip(parts) {
            let rect = if columns {
                Rect::new(body.x + offset, body.y + inner, extent, part)
            } else {
                Rect::new(body.x + inner, body.y + offset, part, extent)
            };
            inner += part;
            let rect = rect.intersection(body);
            if rect.width > 0 && rect.height > 0 {
                draw_spec(p, &ctx, view, rect, buf);
            }
        }
        offset += extent;
    }
}

fn draw_spec(spec: &PaneSpec, ctx: &panes::Ctx<'_>, view: &ViewState, rect: Rect, buf: &mut Buffer) {
    let opts = panes::Spec { title: spec.title.as_deref(), service: spec.service.as_deref() };
    let drawn = panes::draw(spec.kind, ctx, opts, rect, buf);
    if spec.kind.focusable() {
        let hit = crate::app::view::Hit { pane: spec.kind, area: rect, table: drawn.table, sort_cols: drawn.sort_cols };
        view.hits.borrow_mut().push(hit);
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
    let traffic = snap.fleet.traffic.items().iter().find(|w| w.region == name);
    let (line, style) = panes::region::summary(region, traffic, name, theme);
    warroom_ui::put(buf, body.x, body.y, line, body.width as usize, style);
    let rest = Rect::new(body.x, body.y + 1, body.width, body.height.saturating_sub(1));
    // The region's own changes below its services, when there is room for
    // both (the services come first: they are what the keys move through).
    let changes_h = if rest.height >= 18 { (rest.height / 3).min(12) } else { 0 };
    let list = Rect::new(rest.x, rest.y, rest.width, rest.height - changes_h);
    let content = panes::region::build(snap, name, row, now, theme);
    let _ = draw_pane(&content, true, theme, list, buf);
    if changes_h > 0 {
        let area = Rect::new(rest.x, list.y + list.height, rest.width, changes_h);
        panes::changes::render_about(snap, &[name], theme, area, buf);
    }
}

fn draw_help(keymap: &[Binding], theme: &Theme, body: Rect, buf: &mut Buffer) {
    let mut lines: Vec<Line> = help_lines(keymap)
        .into_iter()
        .map(|(keys, what)| Line::from(vec![Span::styled(format!("{keys:>16}  "), theme.key), Span::raw(what)]))
        .collect();
    // The `:` verbs, from the same table the command line parses with.
    // Wrapped to the box (84 wide; 18 go to the key column and borders).
    let mut rows: Vec<String> = Vec::new();
    for d in crate::app::command::VERBS.iter() {
        match rows.last_mut() {
            Some(r) if r.len() + 1 + d.name.len() <= 62 => {
                r.push(' ');
                r.push_str(d.name);
            }
            _ => rows.push(d.name.to_string()),
        }
    }
    for (i, r) in rows.into_iter().enumerate() {
        let key = if i == 0 { ": commands" } else { "" };
        lines.push(Line::from(vec![Span::styled(format!("{key:>16}  "), theme.key), Span::raw(r)]));
    }
    lines.push(Line::from(""));
    let legend: Vec<Span> = [Level::Ok, Level::Warn, Level::Critical, Level::Stale, Level::Paused, Level::Unknown]
        .iter()
        .map(|l| Span::styled(format!("{} {}  ", l.glyph(theme.ascii), l.word()), theme.level(*l)))
        .collect();
    lines.push(Line::from(legend));
    lines.push(Line::from(Span::styled("any key closes this help", Style::default().patch(theme.muted))));
    let h = warroom_ui::cells(lines.len()).saturating_add(2);
    let area = centered(body, 84, h);
    TextBox { title: "Keys", lines, theme }.render(area, buf);
}
