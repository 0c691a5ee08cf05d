//! Panes turn domain data into widget input (never any I/O). A pane kind
//! is one module implementing [`Pane`] plus one line in [`Kind::pane`]
//! (and its name in [`Kind::ALL`]); panes see a viewer only through the
//! narrow [`Ctx`] and never import the app.

pub mod actions;
pub mod alert_detail;
pub mod alerts;
pub mod bluegreen;
pub mod budgets;
pub mod canaries;
pub mod changes;
pub mod chart;
pub mod circuits;
pub mod common;
pub mod databases;
pub mod deployment;
pub mod dr;
pub mod flags;
pub mod latency;
pub mod links;
pub mod lists;
pub mod matrix;
pub mod region;
pub mod runbook;
pub mod service;
pub mod silences;
pub mod slo_detail;
pub mod sort;
pub mod tiles;

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use warroom_ui::{Column, Panel, Rows, TableView, Theme};

pub use lists::Lists;

use crate::model::Snapshot;

/// A pane kind: what a view's `[[…panes]] kind = "…"` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Kind {
    Matrix,
    Latency,
    LatencyChart,
    Budgets,
    Canaries,
    Circuits,
    Flags,
    Alerts,
    Actions,
    BigStatus,
    Clock,
    Databases,
    Dr,
    Silences,
    BlueGreen,
    Changes,
}

impl Kind {
    /// Every kind, in the order `views` lists them.
    pub const ALL: [Kind; 16] = [
        Kind::Matrix,
        Kind::Latency,
        Kind::LatencyChart,
        Kind::Budgets,
        Kind::Canaries,
        Kind::Circuits,
        Kind::Flags,
        Kind::Alerts,
        Kind::Actions,
        Kind::BigStatus,
        Kind::Clock,
        Kind::Databases,
        Kind::Dr,
        Kind::Silences,
        Kind::BlueGreen,
        Kind::Changes,
    ];

    /// The registry: the module that draws this kind.
    pub fn pane(self) -> &'static dyn Pane {
        match self {
            Kind::Matrix => &matrix::MatrixPane,
            Kind::Latency => &latency::LatencyPane,
            Kind::LatencyChart => &tiles::LatencyChartPane,
            Kind::Budgets => &budgets::BudgetsPane,
            Kind::Canaries => &canaries::CanariesPane,
            Kind::Circuits => &circuits::CircuitsPane,
            Kind::Flags => &flags::FlagsPane,
            Kind::Alerts => &alerts::AlertsPane,
            Kind::Actions => &actions::ActionsPane,
            Kind::BigStatus => &tiles::BigStatusPane,
            Kind::Clock => &tiles::ClockPane,
            Kind::Databases => &databases::DatabasesPane,
            Kind::Dr => &dr::DrPane,
            Kind::Silences => &silences::SilencesPane,
            Kind::BlueGreen => &bluegreen::BlueGreenPane,
            Kind::Changes => &changes::ChangesPane,
        }
    }

    /// Its name in view files.
    pub fn name(self) -> &'static str {
        self.pane().name()
    }

    /// The kind a view file names.
    pub fn parse(name: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.name() == name)
    }

    /// Whether it has rows to select (focus, keys, mouse).
    pub fn focusable(self) -> bool {
        self.pane().focusable()
    }

    /// Its title (and the name keys and messages use).
    pub fn title(self) -> &'static str {
        self.pane().title()
    }
}

/// What the selection of a pane is, for the action keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ActsOn {
    /// failover / restore: the matrix's region column.
    Region,
    /// rollback / promote / pause: the selected rollout.
    Rollout,
    /// toggle: the selected flag.
    Flag,
    /// switchover / failover: the selected database member.
    Database,
    /// silence: the selected alert's labels.
    Alert,
    /// expire: the selected silence.
    Silence,
    /// force-open / close / disable: the selected breaker edge.
    Circuit,
}

/// A screen a viewer can be on (Enter opens the detail ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Screen {
    Overview,
    Region(String),
    /// One SLO's detail, by name.
    Slo(String),
    /// One service's detail, by name.
    Service(String),
    /// One deployment's detail, by id.
    Deployment(String),
    /// One alert's labels, annotations and links, by `Alert::identity`.
    Alert(String),
    /// The jump-out links of a service and/or region.
    Links(Option<String>, Option<String>),
}

/// A view file's per-pane settings a pane may use.
#[derive(Debug, Clone, Copy, Default)]
pub struct Spec<'s> {
    /// A title replacing the pane's own.
    pub title: Option<&'s str>,
    /// latency-chart: which service.
    pub service: Option<&'s str>,
}

/// What a pane sees of its viewer: the snapshot, the time, the theme, the
/// item lists (filter, sorts), the selection and the focus.
pub struct Ctx<'a> {
    pub snap: &'a Snapshot,
    pub now: DateTime<Utc>,
    pub theme: &'a Theme,
    pub lists: Lists<'a>,
    /// The selected row per pane kind (absent: the first).
    pub rows: &'a BTreeMap<Kind, usize>,
    /// The selected region column in the matrix.
    pub column: usize,
    pub focus: Kind,
}

impl<'a> std::ops::Deref for Ctx<'a> {
    type Target = Lists<'a>;
    fn deref(&self) -> &Lists<'a> {
        &self.lists
    }
}

impl Ctx<'_> {
    /// The selected row of a pane.
    pub fn row(&self, k: Kind) -> usize {
        self.rows.get(&k).copied().unwrap_or(0)
    }
}

/// What drawing a pane left behind, for the mouse.
#[derive(Debug, Clone, Default)]
pub struct Drawn {
    pub table: Option<warroom_ui::TableGeometry>,
    pub sort_cols: Vec<Option<usize>>,
}

/// One pane kind. Table panes give [`Pane::content`]; the others draw
/// themselves in [`Pane::draw_tile`].
pub trait Pane: Sync {
    fn kind(&self) -> Kind;
    /// The name in view files (`matrix`, `latency-chart`, …).
    fn name(&self) -> &'static str;
    /// The title (and the pane's name in messages).
    fn title(&self) -> &'static str;
    /// Whether it has rows to select.
    fn focusable(&self) -> bool {
        true
    }
    /// How many rows the selection moves among.
    fn len(&self, _ctx: &Ctx<'_>) -> usize {
        0
    }
    /// Rows an `auto` pane asks for inside its borders (at least one).
    fn want(&self, ctx: &Ctx<'_>) -> u16 {
        warroom_ui::cells(self.len(ctx))
    }
    /// A `hide_empty` pane has nothing to show (and no error to tell).
    fn is_empty(&self, _snap: &Snapshot) -> bool {
        false
    }
    /// A table pane's content for an inner width.
    fn content<'a>(&self, _ctx: &Ctx<'a>, _spec: Spec<'_>, _width: u16) -> Option<PaneContent<'a>> {
        None
    }
    /// A pane that is not a table draws itself.
    fn draw_tile(&self, _ctx: &Ctx<'_>, _spec: Spec<'_>, _area: Rect, _buf: &mut Buffer) {}
    /// What Enter opens on the selected row (None: nothing).
    fn enter(&self, _ctx: &Ctx<'_>) -> Option<Screen> {
        None
    }
    /// The sortable columns of its table, in `s` order (none: not sortable).
    fn sort_columns(&self, _regions: usize) -> Vec<usize> {
        Vec::new()
    }
    /// Its columns' names as the headers say them.
    fn column_names(&self) -> &'static [&'static str] {
        &[]
    }
    /// A column's name for messages ("sorted by p99").
    fn column_name(&self, col: usize, _snap: &Snapshot) -> String {
        self.column_names().get(col).map(|s| s.to_string()).unwrap_or_else(|| format!("column {}", col + 1))
    }
    /// Whether a column holds figures (sorted largest first) rather than names.
    fn numeric_column(&self, _col: usize) -> bool {
        false
    }
    /// Which action keys act on its selection.
    fn acts_on(&self) -> Option<ActsOn> {
        None
    }
}

/// Draw one pane of a view: its content, title override, sort mark, focus.
pub fn draw(kind: Kind, ctx: &Ctx<'_>, spec: Spec<'_>, rect: Rect, buf: &mut Buffer) -> Drawn {
    let pane = kind.pane();
    let Some(mut content) = pane.content(ctx, spec, rect.width.saturating_sub(2)) else {
        pane.draw_tile(ctx, spec, rect, buf);
        return Drawn::default();
    };
    if let Some(t) = spec.title {
        content.title = t.to_string();
    }
    // The sorted column says so (the matrix marks its own region columns).
    if kind != Kind::Matrix {
        if let Some(s) = ctx.sort_of(kind) {
            if let Some(c) = content.columns.get_mut(s.col) {
                c.header.push_str(s.mark(ctx.theme.ascii, sort::natural_desc(kind, s.col)));
            }
        }
    }
    let table = draw_pane(&content, kind == ctx.focus, ctx.theme, rect, buf);
    Drawn { table, sort_cols: content.sort_cols }
}

/// What a pane shows: a titled table with an age badge and maybe an error.
pub struct PaneContent<'a> {
    pub title: String,
    pub badge: Option<(String, Style)>,
    /// Error text shown as the first line inside the pane.
    pub error: Option<String>,
    pub columns: Vec<Column>,
    pub rows: Box<dyn Rows + 'a>,
    pub selected: Option<usize>,
    pub selected_col: Option<usize>,
    /// Shown when there are no rows: what an empty answer means, or why
    /// there is no answer (not configured, failing, waiting).
    pub empty: String,
    /// The sort column (`s`, a header click) of each table column, where
    /// they differ (the matrix: column k is a region of the feed); empty:
    /// the same index, every column.
    pub sort_cols: Vec<Option<usize>>,
}

/// Draw a pane; where its table went (for mouse hits), if one was drawn.
pub fn draw_pane(
    p: &PaneContent<'_>,
    focused: bool,
    theme: &Theme,
    area: Rect,
    buf: &mut Buffer,
) -> Option<warroom_ui::TableGeometry> {
    // Focus is marked in text too (not colour alone): action keys act on
    // the focused pane, so the operator must see which one it is.
    let title =
        if focused { format!("{} {}", if theme.ascii { ">" } else { "▸" }, p.title) } else { p.title.clone() };
    let inner = Panel { title: &title, focused, badge: p.badge.clone(), theme }.render(area, buf);
    if inner.width == 0 || inner.height == 0 {
        return None;
    }
    let mut body = inner;
    if let Some(err) = &p.error {
        let g = warroom_ui::Level::Critical.glyph(theme.ascii);
        warroom_ui::put(buf, inner.x, inner.y, format!("{g} {err}"), inner.width as usize, theme.critical);
        body = Rect::new(inner.x, inner.y + 1, inner.width, inner.height - 1);
    }
    if body.height == 0 {
        return None;
    }
    if p.rows.is_empty() {
        warroom_ui::put(buf, body.x, body.y, &p.empty, body.width as usize, theme.muted);
        return None;
    }
    let geometry = TableView {
        columns: &p.columns,
        rows: p.rows.as_ref(),
        selected: if focused { p.selected } else { None },
        selected_col: p.selected_col,
        theme,
    }
    .render(body, buf);
    Some(geometry)
}
