//! Panes turn domain data into widget input (never any I/O). Each pane
//! builds a `PaneContent`; `draw_pane` hands it to the table widget.

pub mod actions;
pub mod alerts;
pub mod budgets;
pub mod canaries;
pub mod circuits;
pub mod common;
pub mod deployment;
pub mod flags;
pub mod latency;
pub mod matrix;
pub mod region;
pub mod runbook;
pub mod service;
pub mod slo_detail;
pub mod tiles;

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use warroom_ui::{Column, Panel, Rows, TableView, Theme};

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
