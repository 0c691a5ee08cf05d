//! Blue-green rollouts: both colours side by side — which one serves, which
//! waits on the preview service, which still runs after a switch (the
//! instant switch-back window) —, replicas ready, pre/post-promotion
//! analysis and the clocks (auto-promotion, old colour's scale-down).

use chrono::{DateTime, Utc};
use warroom_ui::{Align, Cell, Column, LazyRows, Level, Theme};

use super::canaries::{phase_level, phase_word};
use super::common::{feed_badge, fmt_age, short_region};
use super::{ActsOn, Ctx, Kind, Pane, PaneContent, Screen, Spec};
use crate::model::{Colour, Snapshot};

fn colour(c: &Colour) -> String {
    match c.ready {
        Some((r, d)) => format!("v{} {r}/{d}", c.revision),
        None => format!("v{}", c.revision),
    }
}

fn analysis_cell(a: Option<&str>, theme: &Theme) -> Cell {
    match a {
        None => Cell::new("—", theme.muted),
        Some("Successful") => Cell::new(format!("{} ok", Level::Ok.glyph(theme.ascii)), theme.ok),
        Some("Running" | "Pending") => Cell::new("… running", theme.info),
        Some(other) => Cell::new(format!("{} {other}", Level::Critical.glyph(theme.ascii)), theme.critical),
    }
}

pub fn build<'a>(snap: &'a Snapshot, view: &Ctx<'_>, now: DateTime<Utc>, theme: &'a Theme) -> PaneContent<'a> {
    let f = &snap.fleet;
    let columns = vec![
        Column::new("rollout", 14, Align::Left, 0),
        Column::new("serving", 10, Align::Left, 0),
        Column::new("waiting", 10, Align::Left, 0),
        Column::new("pre", 9, Align::Left, 2),
        Column::new("post", 9, Align::Left, 2),
        Column::new("old colour", 16, Align::Left, 1),
        Column::new("phase", 12, Align::Left, 1),
    ];
    let items = view.visible_blue_green(snap);
    let rows = LazyRows {
        len: items.len(),
        make: move |i: usize| {
            let d = items[i];
            let Some(bg) = &d.blue_green else { return Vec::new() };
            let old = match (&bg.previous, bg.scale_down_at) {
                (Some(p), Some(at)) => {
                    let left = (at - now).num_seconds().max(0) as f64;
                    format!("v{} runs {}", p.revision, fmt_age(left))
                }
                (Some(p), None) => format!("v{} ≤ {}", p.revision, fmt_age(bg.scale_down_secs as f64)),
                (None, _) => "—".into(),
            };
            let waiting = match (&bg.preview, bg.promote_at) {
                (Some(p), Some(at)) => {
                    format!("{} auto {}", colour(p), fmt_age((at - now).num_seconds().max(0) as f64))
                }
                (Some(p), None) => colour(p),
                (None, _) => "—".into(),
            };
            let lv = phase_level(d.phase);
            vec![
                Cell::new(format!("{}/{}", d.service, short_region(&d.region)), theme.text),
                Cell::new(colour(&bg.active), theme.ok),
                Cell::new(waiting, theme.info),
                analysis_cell(bg.pre_analysis.as_deref(), theme),
                analysis_cell(bg.post_analysis.as_deref(), theme),
                Cell::new(old, if bg.previous.is_some() { theme.warn } else { theme.muted }),
                Cell::new(format!("{} {}", lv.glyph(theme.ascii), phase_word(d.phase)), theme.level(lv)),
            ]
        },
    };
    PaneContent {
        rows: Box::new(rows),
        title: "Blue-green".into(),
        badge: Some(feed_badge(&f.deployments, now, theme)),
        error: f.deployments.error_text(),
        columns,
        selected: Some(view.row(Kind::BlueGreen)),
        selected_col: None,
        empty: super::common::pane_empty(view, &f.deployments, now, "no blue-green rollouts"),
        sort_cols: Vec::new(),
    }
}

/// The `blue-green` pane kind.
pub struct BlueGreenPane;

impl Pane for BlueGreenPane {
    fn kind(&self) -> Kind {
        Kind::BlueGreen
    }
    fn name(&self) -> &'static str {
        "blue-green"
    }
    fn title(&self) -> &'static str {
        "Blue-green"
    }
    fn len(&self, ctx: &Ctx<'_>) -> usize {
        ctx.visible_blue_green(ctx.snap).len()
    }
    fn is_empty(&self, snap: &Snapshot) -> bool {
        !snap.fleet.deployments.items().iter().any(|d| d.blue_green.is_some()) && snap.fleet.deployments.error.is_none()
    }
    fn enter(&self, ctx: &Ctx<'_>) -> Option<Screen> {
        ctx.visible_blue_green(ctx.snap).get(ctx.row(Kind::BlueGreen)).map(|d| Screen::Deployment(d.id.clone()))
    }
    fn acts_on(&self) -> Option<ActsOn> {
        Some(ActsOn::Rollout)
    }
    fn content<'a>(&self, ctx: &Ctx<'a>, _spec: Spec<'_>, _width: u16) -> Option<PaneContent<'a>> {
        Some(build(ctx.snap, ctx, ctx.now, ctx.theme))
    }
}
