//! Canaries: step, weight, phase and analysis verdict per rollout.

use chrono::{DateTime, Utc};
use warroom_ui::{Align, Cell, Column, LazyRows, Level, Theme};

use super::common::{feed_badge, short_region};
use super::{ActsOn, Ctx, Kind, Pane, PaneContent, Screen, Spec};
use crate::model::{CanaryPhase, Snapshot};

pub fn phase_level(p: CanaryPhase) -> Level {
    match p {
        CanaryPhase::Progressing => Level::Info,
        CanaryPhase::Paused => Level::Paused,
        CanaryPhase::Degraded => Level::Critical,
        CanaryPhase::Aborted => Level::Warn,
        CanaryPhase::Healthy => Level::Ok,
        CanaryPhase::Unknown => Level::Unknown,
    }
}

pub fn phase_word(p: CanaryPhase) -> &'static str {
    p.word()
}

pub fn build<'a>(
    snap: &'a Snapshot,
    view: &Ctx<'_>,
    now: DateTime<Utc>,
    theme: &'a Theme,
    _width: u16,
) -> PaneContent<'a> {
    let f = &snap.fleet;
    let columns = vec![
        Column::new("rollout", 14, Align::Left, 0),
        Column::new("step", 4, Align::Right, 2),
        Column::new("wt", 4, Align::Right, 0),
        Column::new("phase", 13, Align::Left, 0),
        Column::new("analysis", 10, Align::Left, 1),
        Column::new("rev", 7, Align::Left, 3),
    ];
    let items = view.visible_deployments(snap);
    let rows = LazyRows {
        len: items.len(),
        make: move |i: usize| {
            let d = &items[i];
            let level = phase_level(d.phase);
            let step = if d.step_total == 0 {
                "—".into()
            } else {
                format!("{}/{}", (d.step_index + 1).min(d.step_total), d.step_total)
            };
            let analysis = match &d.analysis {
                None => Cell::new("—", theme.muted),
                Some(a) if a.passing => Cell::new(format!("{} {}", Level::Ok.glyph(theme.ascii), a.verdict), theme.ok),
                Some(a) => Cell::new(format!("{} {}", Level::Critical.glyph(theme.ascii), a.verdict), theme.critical),
            };
            let rev = match &d.canary_revision {
                Some(c) if d.phase != CanaryPhase::Healthy => format!("{}→{c}", d.stable_revision),
                _ => d.stable_revision.clone(),
            };
            vec![
                Cell::new(format!("{}/{}", d.service, short_region(&d.region)), theme.text),
                Cell::new(step, theme.muted),
                Cell::new(format!("{:.0}%", d.weight), theme.text),
                Cell::new(format!("{} {}", level.glyph(theme.ascii), phase_word(d.phase)), theme.level(level)),
                analysis,
                Cell::new(rev, theme.muted),
            ]
        },
    };
    PaneContent {
        rows: Box::new(rows),
        title: "Canaries".into(),
        badge: Some(feed_badge(&f.deployments, now, theme)),
        error: f.deployments.error_text(),
        columns,
        selected: Some(view.row(Kind::Canaries)),
        selected_col: None,
        empty: super::common::pane_empty(view, &f.deployments, now, "no rollouts in flight"),
        sort_cols: Vec::new(),
    }
}

/// The `canaries` pane kind.
pub struct CanariesPane;

impl Pane for CanariesPane {
    fn kind(&self) -> Kind {
        Kind::Canaries
    }
    fn name(&self) -> &'static str {
        "canaries"
    }
    fn title(&self) -> &'static str {
        "Canaries"
    }
    fn len(&self, ctx: &Ctx<'_>) -> usize {
        ctx.visible_deployments(ctx.snap).len()
    }
    fn is_empty(&self, snap: &Snapshot) -> bool {
        snap.fleet.deployments.items().is_empty() && snap.fleet.deployments.error.is_none()
    }
    fn enter(&self, ctx: &Ctx<'_>) -> Option<Screen> {
        ctx.visible_deployments(ctx.snap).get(ctx.row(Kind::Canaries)).map(|d| Screen::Deployment(d.id.clone()))
    }
    fn acts_on(&self) -> Option<ActsOn> {
        Some(ActsOn::Rollout)
    }
    fn sort_columns(&self, _regions: usize) -> Vec<usize> {
        vec![0, 1, 2, 3, 4, 5]
    }
    fn column_names(&self) -> &'static [&'static str] {
        &["rollout", "step", "wt", "phase", "analysis", "rev"]
    }
    fn numeric_column(&self, col: usize) -> bool {
        !matches!(col, 0 | 4 | 5)
    }
    fn content<'a>(&self, ctx: &Ctx<'a>, _spec: Spec<'_>, width: u16) -> Option<PaneContent<'a>> {
        Some(build(ctx.snap, ctx, ctx.now, ctx.theme, width))
    }
}
