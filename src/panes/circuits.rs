//! Circuit breakers per dependency edge and region; open ones first.

use chrono::{DateTime, Utc};
use warroom_ui::{Align, Cell, Column, LazyRows, Level, Theme};

use super::common::{feed_badge, fmt_age, short_region};
use super::{Ctx, Kind, Pane, PaneContent, Spec};
use crate::model::{Circuit, CircuitState, Snapshot};

pub fn state_level(s: CircuitState) -> (Level, &'static str) {
    match s {
        CircuitState::Open => (Level::Critical, "OPEN"),
        CircuitState::ForcedOpen => (Level::Critical, "FORCED_OPEN"),
        CircuitState::HalfOpen => (Level::Warn, "HALF_OPEN"),
        CircuitState::Closed => (Level::Ok, "CLOSED"),
        CircuitState::Disabled => (Level::Paused, "DISABLED"),
        CircuitState::Unknown => (Level::Unknown, "UNKNOWN"),
    }
}

/// Circuits in display order: most severe first, then by edge and region.
pub fn sorted(circuits: &[Circuit]) -> Vec<&Circuit> {
    let mut v: Vec<&Circuit> = circuits.iter().collect();
    // The store keeps them in this order (`model::sort_circuits`): one
    // pass, no moves.
    if !v.is_sorted_by(|a, b| crate::model::circuit_order(a, b).is_le()) {
        v.sort_by(|a, b| crate::model::circuit_order(a, b));
    }
    v
}

pub fn build<'a>(
    snap: &'a Snapshot,
    view: &Ctx<'_>,
    now: DateTime<Utc>,
    theme: &'a Theme,
    width: u16,
) -> PaneContent<'a> {
    let f = &snap.fleet;
    let mut columns = vec![
        Column::new("edge", 16, Align::Left, 0),
        Column::new("region", 6, Align::Left, 0),
        Column::new("state", 11, Align::Left, 0),
        Column::new("fail%", 6, Align::Right, 2),
        Column::new("since", 6, Align::Right, 1),
    ];
    // Per-instance breakers (Resilience4j): "3/12 OPEN", when reported.
    let per_instance = f.circuits.items().iter().any(|c| c.instances.is_some());
    if per_instance {
        columns.push(Column::new("instances", 12, Align::Left, 3));
    }
    let list: Vec<&Circuit> = view.visible_circuits(snap, now);
    let open = list.iter().filter(|c| matches!(c.state, CircuitState::Open | CircuitState::ForcedOpen)).count();
    let half = list.iter().filter(|c| c.state == CircuitState::HalfOpen).count();
    let title = if list.is_empty() {
        "Circuits".to_string()
    } else if width < 56 {
        format!("Circuits · {open} open · {half} half")
    } else {
        format!("Circuits · {open} open · {half} half-open · {} closed", list.len() - open - half)
    };
    let items = list;
    let rows = LazyRows {
        len: items.len(),
        make: move |i: usize| {
            let c = items[i];
            let (level, word) = state_level(c.state);
            let since = c.since.map(|s| fmt_age(f.circuits.age_of(s, now))).unwrap_or_else(|| "—".into());
            let fail = match (c.failure_rate_pct, &c.instances) {
                (Some(p), _) => format!("{p:.1}"),
                (None, Some(i)) if i.too_few_calls => "few calls".into(),
                _ => "—".into(),
            };
            let inst = c.instances.as_ref().map(|i| i.words()).unwrap_or_default();
            let mut row = vec![
                Cell::new(format!("{}→{}", c.from, c.to), theme.text),
                Cell::new(short_region(&c.region), theme.muted),
                Cell::new(format!("{} {word}", level.glyph(theme.ascii)), theme.level(level)),
                Cell::new(fail, theme.muted),
                Cell::new(since, theme.muted),
            ];
            if per_instance {
                row.push(Cell::new(inst, theme.muted));
            }
            row
        },
    };
    PaneContent {
        rows: Box::new(rows),
        title,
        badge: Some(feed_badge(&f.circuits, now, theme)),
        error: f.circuits.error_text(),
        columns,
        selected: Some(view.row(Kind::Circuits)),
        selected_col: None,
        empty: super::common::pane_empty(view, &f.circuits, now, "no circuit breakers reported"),
        sort_cols: Vec::new(),
    }
}

/// The `circuits` pane kind.
pub struct CircuitsPane;

impl Pane for CircuitsPane {
    fn kind(&self) -> Kind {
        Kind::Circuits
    }
    fn name(&self) -> &'static str {
        "circuits"
    }
    fn title(&self) -> &'static str {
        "Circuits"
    }
    /// A count, not the sorted list (asked for on every frame).
    fn len(&self, ctx: &Ctx<'_>) -> usize {
        ctx.snap.fleet.circuits.items().iter().filter(|c| ctx.shows(&c.from) || ctx.shows(&c.to)).count()
    }
    /// Closed breakers are the norm: room for the others only.
    fn want(&self, ctx: &Ctx<'_>) -> u16 {
        let open = ctx.snap.fleet.circuits.items().iter().filter(|c| c.state != crate::model::CircuitState::Closed);
        warroom_ui::cells(open.count()).saturating_add(1)
    }
    fn is_empty(&self, snap: &Snapshot) -> bool {
        snap.fleet.circuits.items().is_empty() && snap.fleet.circuits.error.is_none()
    }
    fn sort_columns(&self, _regions: usize) -> Vec<usize> {
        vec![0, 1, 2, 3, 4]
    }
    fn column_names(&self) -> &'static [&'static str] {
        &["edge", "region", "state", "fail%", "since"]
    }
    fn numeric_column(&self, col: usize) -> bool {
        !matches!(col, 0 | 1)
    }
    fn acts_on(&self) -> Option<super::ActsOn> {
        Some(super::ActsOn::Circuit)
    }
    fn content<'a>(&self, ctx: &Ctx<'a>, _spec: Spec<'_>, width: u16) -> Option<PaneContent<'a>> {
        Some(build(ctx.snap, ctx, ctx.now, ctx.theme, width))
    }
}
