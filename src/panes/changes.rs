//! What changed, newest first: region and service health, SLO states,
//! alerts, canaries and blue-green switches, circuits, flags, databases,
//! actions with who did them, runbook steps, notes and incidents. A storm
//! of the same change in several regions is one line. The filter (`/`)
//! keeps events whose text has every word typed (`/circuit open`).

use chrono::{DateTime, Utc};
use warroom_ui::{Align, Cell, Column, LazyRows, Level, Theme};

use super::common::fmt_age;
use super::{Ctx, Kind, Pane, PaneContent, Spec};
use crate::model::changes::{grouped, Change, Grouped, Severity};
use crate::model::Snapshot;

/// Events the pane looks through without a filter (the newest).
const SCAN: usize = 2_000;

pub fn level(s: Severity) -> Level {
    match s {
        Severity::Ok => Level::Ok,
        Severity::Info => Level::Info,
        Severity::Warn => Level::Warn,
        Severity::Critical => Level::Critical,
    }
}

/// Whether an event passes the filter: every word in its text.
pub fn passes(c: &Change, filter: Option<&str>) -> bool {
    let Some(f) = filter.filter(|f| !f.trim().is_empty()) else { return true };
    let hay = c.haystack().to_lowercase();
    f.split_whitespace().all(|w| hay.contains(&w.to_lowercase()))
}

/// The newest `n` events about a service, region or SLO (by subject, group
/// or region), for the drill-downs, as one line each.
pub fn about(snap: &Snapshot, whats: &[&str], n: usize, theme: &Theme) -> Vec<(String, ratatui::style::Style)> {
    let mine = |c: &&Change| {
        whats.iter().any(|what| {
            c.region.as_deref() == Some(*what)
                || c.group.as_deref() == Some(*what)
                || c.subject == *what
                || c.subject.split(['/', ' ', '→']).any(|w| w == *what)
        })
    };
    let mut v: Vec<&Change> = snap.changes.newest().take(SCAN).filter(mine).collect();
    v.sort_by_key(|c| std::cmp::Reverse(c.at));
    v.into_iter()
        .take(n)
        .map(|c| {
            let l = level(c.severity);
            let text = format!(
                "  {}  {:<9} {:<24} {} {}  ({})",
                c.at.format("%H:%M:%S"),
                c.kind.word(),
                c.subject,
                l.glyph(theme.ascii),
                c.transition(),
                c.source
            );
            (text, theme.level(l))
        })
        .collect()
}

/// Causes worth a mark on a chart of `service` in `region`: what people
/// and rollouts did (actions, canary steps, blue-green switches, weights),
/// every flag flip, notes and incidents; not the symptoms the chart shows.
/// An empty `region` is every region.
pub fn marks_for<'a>(
    snap: &'a Snapshot,
    service: &str,
    region: &str,
    end: DateTime<Utc>,
    span_secs: f64,
    max: usize,
) -> Vec<(f64, &'a Change)> {
    use crate::model::changes::ChangeKind as K;
    let names = |c: &Change, w: &str| {
        c.subject == w || c.group.as_deref() == Some(w) || c.subject.split(['/', ' ', '→']).any(|x| x == w)
    };
    // No region: the service in every region (an SLO), so every region's
    // actions, weights and status count.
    let any = region.is_empty();
    let mine = |c: &Change| match c.kind {
        K::Flag | K::Note | K::Incident => true,
        K::Action => any || names(c, service) || names(c, region),
        K::Canary | K::BlueGreen => names(c, service),
        K::Traffic | K::Region | K::Database => any || c.region.as_deref() == Some(region) || names(c, region),
        _ => false,
    };
    let mut v: Vec<(f64, &Change)> = snap
        .changes
        .newest()
        .take(SCAN)
        .filter(|c| mine(c))
        .map(|c| ((end - c.at).num_milliseconds() as f64 / 1000.0, c))
        .filter(|(secs, _)| (0.0..=span_secs).contains(secs))
        .collect();
    // The newest `max`, oldest first (numbered left to right).
    v.sort_by(|a, b| a.0.total_cmp(&b.0));
    v.truncate(max);
    v.reverse();
    v
}

/// A chart's marks: the glyphs on its time axis (1…9, oldest first), and
/// the line under it that says what each is.
pub fn marks_glyphs(found: &[(f64, &Change)], theme: &Theme) -> Vec<(f64, char, ratatui::style::Style)> {
    found.iter().enumerate().map(|(i, (secs, _))| (*secs, char::from(b'1' + (i % 9) as u8), theme.warn)).collect()
}

pub fn marks_legend(found: &[(f64, &Change)], span_secs: f64, width: usize) -> String {
    let when = if span_secs > 86_400.0 { "%a %H:%M" } else { "%H:%M" };
    let items: Vec<String> = found
        .iter()
        .enumerate()
        .map(|(i, (_, c))| {
            format!("{} {} {} {} {}", i + 1, c.at.format(when), c.kind.word(), c.subject, c.transition())
        })
        .collect();
    warroom_ui::join_fit("marks: ", &items, " · ", width)
}

/// A drill-down's own changes in a box of their own: the newest that fit,
/// or a line saying there are none yet (never an empty box).
pub fn render_about(
    snap: &Snapshot,
    whats: &[&str],
    theme: &Theme,
    area: ratatui::layout::Rect,
    buf: &mut ratatui::buffer::Buffer,
) {
    let title = format!("Changes to {} · newest first · :view changes has them all", whats.join(", "));
    let inner = warroom_ui::Panel { title: &title, focused: false, badge: None, theme }.render(area, buf);
    if inner.height == 0 {
        return;
    }
    let lines = about(snap, whats, inner.height as usize, theme);
    if lines.is_empty() {
        let text = if snap.changes.is_empty() {
            "nothing has changed since this console started watching"
        } else {
            "no change to it among the newest events"
        };
        warroom_ui::put(buf, inner.x, inner.y, text, inner.width as usize, theme.muted);
    }
    for (i, (text, style)) in lines.into_iter().enumerate() {
        warroom_ui::put(buf, inner.x, inner.y + i as u16, text.trim_start(), inner.width as usize, style);
    }
}

/// The pane's lines: the events after the filter, grouped, newest first.
pub fn visible<'a>(snap: &'a Snapshot, filter: Option<&str>) -> Vec<Grouped<'a>> {
    let scan = if filter.is_some() { usize::MAX } else { SCAN };
    // Newest first by the events' own times (feeds report at different moments).
    let mut v: Vec<&Change> = snap.changes.newest().take(scan).filter(|c| passes(c, filter)).collect();
    v.sort_by_key(|c| std::cmp::Reverse(c.at));
    grouped(v.into_iter())
}

pub fn build<'a>(snap: &'a Snapshot, view: &Ctx<'_>, now: DateTime<Utc>, theme: &'a Theme) -> PaneContent<'a> {
    let columns = vec![
        Column::new("time", 8, Align::Left, 0),
        Column::new("ago", 5, Align::Right, 3),
        Column::new("kind", 9, Align::Left, 2),
        Column::new("subject", 22, Align::Left, 0),
        Column::new("change", 24, Align::Left, 0).flex(),
        Column::new("by", 10, Align::Left, 1),
    ];
    let items = visible(snap, view.lists.filter);
    let src = snap.source_now(now);
    let total = snap.changes.len();
    let shown = items.len();
    let rows = LazyRows {
        len: items.len(),
        make: move |i: usize| {
            let g = &items[i];
            let c = g.first;
            let l = level(c.severity);
            vec![
                Cell::new(c.at.format("%H:%M:%S").to_string(), theme.muted),
                Cell::new(fmt_age((src - c.at).num_seconds().max(0) as f64), theme.muted),
                Cell::new(c.kind.word(), theme.muted),
                Cell::new(g.subject(), theme.text),
                Cell::new(format!("{} {}", l.glyph(theme.ascii), c.transition()), theme.level(l)),
                Cell::new(c.source.clone(), theme.muted),
            ]
        },
    };
    PaneContent {
        rows: Box::new(rows),
        title: match view.lists.filter {
            Some(f) => format!("Changes · {shown} matching '{f}' of {total}"),
            None => format!("Changes · {total} kept"),
        },
        badge: None,
        error: snap.changes_note.clone(),
        columns,
        selected: Some(view.row(Kind::Changes)),
        selected_col: None,
        empty: if total == 0 {
            "nothing has changed since this console started watching".into()
        } else {
            "no change matches the filter".into()
        },
        sort_cols: Vec::new(),
    }
}

/// The `changes` pane kind.
pub struct ChangesPane;

impl Pane for ChangesPane {
    fn kind(&self) -> Kind {
        Kind::Changes
    }
    fn name(&self) -> &'static str {
        "changes"
    }
    fn title(&self) -> &'static str {
        "Changes"
    }
    fn len(&self, ctx: &Ctx<'_>) -> usize {
        visible(ctx.snap, ctx.lists.filter).len()
    }
    fn is_empty(&self, snap: &Snapshot) -> bool {
        snap.changes.is_empty()
    }
    fn content<'a>(&self, ctx: &Ctx<'a>, _spec: Spec<'_>, _width: u16) -> Option<PaneContent<'a>> {
        Some(build(ctx.snap, ctx, ctx.now, ctx.theme))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::changes::{ChangeKind, ChangeLog};

    #[test]
    fn a_drill_down_lists_its_own_changes_and_the_filter_keeps_words() {
        let t = Utc::now();
        let mut log = ChangeLog::new(100);
        let mut c = Change::new(
            t,
            ChangeKind::Circuit,
            "checkout→payments us-west-2".into(),
            "OPEN".into(),
            "circuits",
            Severity::Critical,
        );
        c.group = Some("checkout→payments".into());
        c.region = Some("us-west-2".into());
        log.push(c);
        log.push(Change::new(
            t,
            ChangeKind::Health,
            "search/us-east-1".into(),
            "DOWN".into(),
            "metrics",
            Severity::Critical,
        ));
        log.push(Change::new(
            t,
            ChangeKind::Note,
            "note by alice".into(),
            "checkout looks fine".into(),
            "alice",
            Severity::Info,
        ));
        let snap = Snapshot { changes: log, ..Snapshot::default() };
        let theme = Theme::ansi();
        let mine = about(&snap, &["payments"], 10, &theme);
        assert_eq!(mine.len(), 1, "{mine:?}");
        assert!(mine[0].0.contains("checkout→payments us-west-2"));
        assert_eq!(about(&snap, &["us-west-2"], 10, &theme).len(), 1);
        assert_eq!(visible(&snap, Some("circuit open")).len(), 1);
        assert_eq!(visible(&snap, Some("alice")).len(), 1);
        assert_eq!(visible(&snap, None).len(), 3);
    }
}
