//! The action log: who did what, when, and how it ended. Part of the
//! snapshot, so every viewer (the wall too) sees the same log.

use chrono::{DateTime, Utc};
use warroom_ui::{Align, Cell, Column, LazyRows, Level, Theme};

use super::{Ctx, Kind, Pane, PaneContent, Spec};
use crate::model::{ActionEntry, ActionStatus, Snapshot};

pub fn status_level(s: ActionStatus) -> (Level, &'static str) {
    match s {
        ActionStatus::InFlight => (Level::Info, "RUNNING"),
        ActionStatus::Succeeded => (Level::Ok, "DONE"),
        ActionStatus::Failed => (Level::Critical, "FAILED"),
        ActionStatus::Refused => (Level::Warn, "REFUSED"),
        ActionStatus::Denied => (Level::Warn, "DENIED"),
    }
}

/// "✔ DONE fail over us-east-1 — draining us-east-1 in 3 steps"
pub fn toast_text(e: &ActionEntry, theme: &Theme) -> (String, Level) {
    let (level, word) = status_level(e.status);
    let msg = if e.message.is_empty() { String::new() } else { format!(" — {}", e.message) };
    (format!("{} {word} {}{msg}", level.glyph(theme.ascii), e.summary), level)
}

pub fn build<'a>(
    snap: &'a Snapshot,
    view: &Ctx<'_>,
    _now: DateTime<Utc>,
    theme: &'a Theme,
    _width: u16,
) -> PaneContent<'a> {
    let columns = vec![
        Column::new("time", 8, Align::Left, 1),
        Column::new("who", 8, Align::Left, 2),
        Column::new("action", 24, Align::Left, 0),
        Column::new("result", 9, Align::Left, 0),
        Column::new("detail", 20, Align::Left, 3).flex(),
    ];
    // Newest first, or the chosen sort.
    let items = view.visible_actions(snap);
    let n = items.len();
    let rows = LazyRows {
        len: n,
        make: move |i: usize| {
            let e = items[i];
            let (level, word) = status_level(e.status);
            vec![
                Cell::new(e.started_at.format("%H:%M:%S").to_string(), theme.muted),
                Cell::new(e.operator.clone(), theme.muted),
                Cell::new(e.summary.clone(), theme.text),
                Cell::new(format!("{} {word}", level.glyph(theme.ascii)), theme.level(level)),
                Cell::new(e.message.clone(), theme.muted),
            ]
        },
    };
    PaneContent {
        rows: Box::new(rows),
        title: "Actions".into(),
        badge: None,
        error: None,
        columns,
        selected: Some(view.row(Kind::Actions)),
        selected_col: None,
        empty: "no actions yet".into(),
        sort_cols: Vec::new(),
    }
}

/// The `action-log` pane kind.
pub struct ActionsPane;

impl Pane for ActionsPane {
    fn kind(&self) -> Kind {
        Kind::Actions
    }
    fn name(&self) -> &'static str {
        "action-log"
    }
    fn title(&self) -> &'static str {
        "Actions"
    }
    fn len(&self, ctx: &Ctx<'_>) -> usize {
        ctx.snap.fleet.actions.len()
    }
    fn is_empty(&self, snap: &Snapshot) -> bool {
        snap.fleet.actions.is_empty()
    }
    fn sort_columns(&self, _regions: usize) -> Vec<usize> {
        vec![0, 1, 2, 3]
    }
    fn column_names(&self) -> &'static [&'static str] {
        &["time", "who", "action", "result"]
    }
    fn numeric_column(&self, col: usize) -> bool {
        col == 0
    }
    fn content<'a>(&self, ctx: &Ctx<'a>, _spec: Spec<'_>, width: u16) -> Option<PaneContent<'a>> {
        Some(build(ctx.snap, ctx, ctx.now, ctx.theme, width))
    }
}
