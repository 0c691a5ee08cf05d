//! Feature flags per environment.

use chrono::{DateTime, Utc};
use warroom_ui::{Align, Cell, Column, LazyRows, Theme};

use super::common::feed_badge;
use super::PaneContent;
use crate::app::view::{PaneId, ViewState};
use crate::model::Snapshot;

pub fn build<'a>(
    snap: &'a Snapshot,
    view: &ViewState,
    now: DateTime<Utc>,
    theme: &'a Theme,
    _width: u16,
) -> PaneContent<'a> {
    let f = &snap.fleet;
    let columns = vec![
        Column::new("flag", 16, Align::Left, 0),
        Column::new("env", 10, Align::Left, 1),
        Column::new("state", 5, Align::Left, 0),
        Column::new("rollout", 13, Align::Left, 2),
    ];
    let (on, off) = if theme.ascii { ("* ON", "- OFF") } else { ("● ON", "○ OFF") };
    let items = view.visible_flags(snap);
    let rows = LazyRows {
        len: items.len(),
        make: move |i: usize| {
            let fl = &items[i];
            vec![
                Cell::new(fl.name.clone(), theme.text),
                Cell::new(fl.environment.clone(), theme.muted),
                if fl.enabled { Cell::new(on, theme.info) } else { Cell::new(off, theme.muted) },
                Cell::new(fl.rollout.clone(), theme.muted),
            ]
        },
    };
    PaneContent {
        rows: Box::new(rows),
        title: "Flags".into(),
        badge: Some(feed_badge(&f.flags, now, theme)),
        error: f.flags.error.clone(),
        columns,
        selected: Some(view.row(PaneId::Flags)),
        selected_col: None,
        empty: super::common::pane_empty(view, &f.flags, now, "no flags reported"),
        sort_cols: Vec::new(),
    }
}
