//! Feature flags per environment.

use chrono::{DateTime, Utc};
use warroom_ui::{Align, Cell, Column, LazyRows, Theme};

use super::common::feed_badge;
use super::{ActsOn, Ctx, Kind, Pane, PaneContent, Spec};
use crate::model::Snapshot;

pub fn build<'a>(
    snap: &'a Snapshot,
    view: &Ctx<'_>,
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
        Column::new("limited to", 18, Align::Left, 3),
        Column::new("lives in", 15, Align::Left, 4),
        Column::new("changed", 12, Align::Left, 5),
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
                if fl.constraints == "internal only" {
                    Cell::new(fl.constraints.clone(), theme.info)
                } else {
                    Cell::new(fl.constraints.clone(), theme.muted)
                },
                Cell::new(if fl.source.is_empty() { "control-plane" } else { fl.source.as_str() }, theme.muted),
                Cell::new(changed_words(fl, now), theme.muted),
            ]
        },
    };
    PaneContent {
        rows: Box::new(rows),
        title: "Flags".into(),
        badge: Some(feed_badge(&f.flags, now, theme)),
        error: f.flags.error_text(),
        columns,
        selected: Some(view.row(Kind::Flags)),
        selected_col: None,
        empty: super::common::pane_empty(view, &f.flags, now, "no flags reported"),
        sort_cols: Vec::new(),
    }
}

/// `alice 3m` — who changed it last and how long ago, when the source says.
pub fn changed_words(fl: &crate::model::Flag, now: DateTime<Utc>) -> String {
    match &fl.changed {
        Some((who, at)) => {
            let secs = (now - *at).num_milliseconds().max(0) as f64 / 1000.0;
            format!("{who} {}", super::common::fmt_age(secs))
        }
        None => String::new(),
    }
}

/// The `flags` pane kind.
pub struct FlagsPane;

impl Pane for FlagsPane {
    fn kind(&self) -> Kind {
        Kind::Flags
    }
    fn name(&self) -> &'static str {
        "flags"
    }
    fn title(&self) -> &'static str {
        "Flags"
    }
    fn len(&self, ctx: &Ctx<'_>) -> usize {
        ctx.visible_flags(ctx.snap).len()
    }
    fn is_empty(&self, snap: &Snapshot) -> bool {
        snap.fleet.flags.items().is_empty() && snap.fleet.flags.error.is_none()
    }
    fn acts_on(&self) -> Option<ActsOn> {
        Some(ActsOn::Flag)
    }
    fn sort_columns(&self, _regions: usize) -> Vec<usize> {
        vec![0, 1, 2, 3, 4, 5, 6]
    }
    fn column_names(&self) -> &'static [&'static str] {
        &["flag", "env", "state", "rollout", "limited to", "lives in", "changed"]
    }
    fn numeric_column(&self, col: usize) -> bool {
        col == 2
    }
    fn content<'a>(&self, ctx: &Ctx<'a>, _spec: Spec<'_>, width: u16) -> Option<PaneContent<'a>> {
        Some(build(ctx.snap, ctx, ctx.now, ctx.theme, width))
    }
}
