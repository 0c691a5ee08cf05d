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
