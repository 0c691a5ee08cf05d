//! A fast table drawn straight into the buffer: columns drop by priority
//! when space is short, rows scroll to keep the selection visible, and an
//! overflow line says how many rows are hidden.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Span;

use crate::Theme;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

#[derive(Debug, Clone)]
pub struct Column {
    pub header: String,
    /// Width in cells; the first column also takes any spare width.
    pub width: u16,
    pub align: Align,
    /// 0 is always shown; higher numbers are dropped first when narrow.
    pub priority: u8,
    /// Takes the spare width (default: the first column).
    pub flex: bool,
}

impl Column {
    pub fn new(header: impl Into<String>, width: u16, align: Align, priority: u8) -> Column {
        Column { header: header.into(), width, align, priority, flex: false }
    }

    /// Make this column take the spare width instead of the first one.
    pub fn flex(mut self) -> Column {
        self.flex = true;
        self
    }
}

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Cell {
    pub text: String,
    pub style: Style,
}

impl Cell {
    pub fn new(text: impl Into<String>, style: Style) -> Cell {
        Cell { text: text.into(), style }
    }
}

/// Rows of a table, built on demand: only the rows on screen are made, so
/// a pane over thousands of items costs what a screenful costs.
pub trait Rows {
    fn len(&self) -> usize;
    fn row(&self, i: usize) -> Vec<Cell>;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl Rows for Vec<Vec<Cell>> {
    fn len(&self) -> usize {
        Vec::len(self)
    }
    fn row(&self, i: usize) -> Vec<Cell> {
        self.get(i).cloned().unwrap_or_default()
    }
}

/// Rows from a closure over an index.
pub struct LazyRows<F> {
    pub len: usize,
    pub make: F,
}

impl<F: Fn(usize) -> Vec<Cell>> Rows for LazyRows<F> {
    fn len(&self) -> usize {
        self.len
    }
    fn row(&self, i: usize) -> Vec<Cell> {
        (self.make)(i)
    }
}

/// Where a drawn table put things, for mouse hits: the header row, the
/// first body row, each shown column's x range, and the first item shown.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableGeometry {
    pub header_y: u16,
    pub first_row_y: u16,
    /// (column index, x, width) of every column drawn.
    pub columns: Vec<(usize, u16, u16)>,
    /// Index of the item on the first body row.
    pub offset: usize,
    /// Body rows drawn.
    pub visible: usize,
}

impl TableGeometry {
    /// The column under x, if any.
    pub fn column_at(&self, x: u16) -> Option<usize> {
        self.columns.iter().find(|(_, cx, w)| x >= *cx && x < cx + w).map(|(i, _, _)| *i)
    }

    /// The item under y, if a body row is drawn there.
    pub fn item_at(&self, y: u16) -> Option<usize> {
        let k = y.checked_sub(self.first_row_y)? as usize;
        (k < self.visible).then_some(self.offset + k)
    }
}

pub struct TableView<'a> {
    pub columns: &'a [Column],
    pub rows: &'a dyn Rows,
    /// Highlighted row.
    pub selected: Option<usize>,
    /// With a selected row, highlight only this column's cell.
    pub selected_col: Option<usize>,
    pub theme: &'a Theme,
}

impl TableView<'_> {
    /// Which columns fit in `width`, and the width each one gets.
    pub fn layout(&self, width: u16) -> Vec<(usize, u16)> {
        let base: Vec<u16> = self.columns.iter().map(|c| c.width).collect();
        self.layout_with(width, &base)
    }

    /// The layout when column `i` needs `need[i]` cells: right-aligned
    /// (numeric) columns widen to their widest visible cell, so a number is
    /// never cut; a lower-priority column is dropped instead.
    fn layout_with(&self, width: u16, need: &[u16]) -> Vec<(usize, u16)> {
        let mut keep: Vec<usize> = (0..self.columns.len()).collect();
        let w_of = |i: usize| need.get(i).copied().unwrap_or(self.columns[i].width);
        let total = |keep: &[usize]| -> u32 { keep.iter().map(|&i| w_of(i) as u32 + 1).sum::<u32>().saturating_sub(1) };
        while total(&keep) > width as u32 && keep.len() > 1 {
            let Some(pos) = keep
                .iter()
                .enumerate()
                .filter(|(_, &i)| self.columns[i].priority > 0)
                .max_by_key(|(pos, &i)| (self.columns[i].priority, *pos))
                .map(|(pos, _)| pos)
            else {
                break;
            };
            keep.remove(pos);
        }
        let spare = (width as u32).saturating_sub(total(&keep)) as u16;
        let flex_at = keep.iter().position(|&i| self.columns[i].flex).unwrap_or(0);
        // The flex column may grow to twice its width; the rest of the spare
        // width is shared by all columns so wide terminals spread the table
        // out instead of opening one huge gap.
        let flex_extra = spare.min(w_of(keep[flex_at]));
        let rest = spare - flex_extra;
        let each = rest / crate::cells(keep.len()).max(1);
        let leftover = rest.saturating_sub(each.saturating_mul(crate::cells(keep.len())));
        keep.iter()
            .enumerate()
            .map(|(k, &i)| {
                let extra = if k == flex_at { flex_extra + leftover } else { 0 };
                (i, w_of(i) + each + extra)
            })
            .collect()
    }

    pub fn render(&self, area: Rect, buf: &mut Buffer) -> TableGeometry {
        if area.width == 0 || area.height == 0 {
            return TableGeometry::default();
        }
        let t = self.theme;
        // The rows on screen are made first: numeric columns are sized to them.
        let body = area.height - 1;
        let n = self.rows.len();
        let (visible, overflow) = if n > body as usize && body > 1 {
            (body.saturating_sub(1) as usize, true)
        } else {
            (n.min(body as usize), false)
        };
        let sel = self.selected.map(|s| s.min(n.saturating_sub(1)));
        let offset = match sel {
            Some(s) if visible > 0 && s >= visible => s + 1 - visible,
            _ => 0,
        };
        let shown: Vec<Vec<Cell>> =
            (0..visible.min(n.saturating_sub(offset))).map(|k| self.rows.row(offset + k)).collect();
        let need: Vec<u16> = self
            .columns
            .iter()
            .enumerate()
            .map(|(i, c)| {
                if c.align != Align::Right {
                    return c.width;
                }
                let widest = shown.iter().filter_map(|r| r.get(i)).map(|x| Span::raw(x.text.as_str()).width()).max();
                c.width.max(widest.unwrap_or(0).min(u16::MAX as usize) as u16)
            })
            .collect();
        let cols = self.layout_with(area.width, &need);
        let right = area.x + area.width;
        let mut geometry = TableGeometry {
            header_y: area.y,
            first_row_y: area.y + 1,
            columns: Vec::new(),
            offset,
            visible: if body == 0 { 0 } else { shown.len() },
        };
        let mut gx = area.x;
        for &(i, w) in &cols {
            if gx >= right {
                break;
            }
            geometry.columns.push((i, gx, w.min(right - gx)));
            gx = gx.saturating_add(w + 1);
        }
        let draw_row = |buf: &mut Buffer, y: u16, cells: &[Cell], row_sel: bool| {
            let mut x = area.x;
            for &(i, w) in &cols {
                if x >= right {
                    break;
                }
                let w = w.min(right - x);
                let (text, mut style) =
                    cells.get(i).map(|c| (c.text.as_str(), c.style)).unwrap_or(("", Style::default()));
                let sel_here = row_sel && self.selected_col.is_none_or(|c| c == i);
                if sel_here {
                    style = style.patch(t.selection);
                    buf.set_style(Rect::new(x, y, w, 1), t.selection);
                }
                let tw = Span::raw(text).width() as u16;
                let tx = match self.columns[i].align {
                    Align::Right if tw < w => x + (w - tw),
                    _ => x,
                };
                // A cut cell says so with `…`, never a silent cut.
                if tw > w {
                    buf.set_stringn(tx, y, crate::ellipsize(text, w as usize), w as usize, style);
                } else {
                    buf.set_stringn(tx, y, text, (x + w - tx) as usize, style);
                }
                x = x.saturating_add(w + 1);
            }
        };
        let header: Vec<Cell> = self.columns.iter().map(|c| Cell::new(c.header.as_str(), t.header)).collect();
        draw_row(buf, area.y, &header, false);
        if body == 0 {
            return geometry;
        }
        for (k, row) in shown.iter().enumerate() {
            let y = area.y + 1 + k as u16;
            let is_sel = sel == Some(offset + k);
            draw_row(buf, y, row, is_sel);
        }
        if overflow {
            let hidden = n - visible;
            let msg = if offset > 0 {
                format!("… {hidden} more (rows {}–{} of {n})", offset + 1, offset + visible)
            } else {
                format!("… {hidden} more")
            };
            buf.set_stringn(area.x, area.y + area.height - 1, msg, area.width as usize, t.muted);
        }
        geometry
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cols() -> Vec<Column> {
        vec![
            Column::new("name", 8, Align::Left, 0),
            Column::new("a", 5, Align::Right, 1),
            Column::new("b", 5, Align::Right, 2),
        ]
    }

    fn text(buf: &Buffer, y: u16) -> String {
        (0..buf.area.width).map(|x| buf[(x, y)].symbol().to_string()).collect()
    }

    #[test]
    fn drops_highest_priority_first_and_expands_first_column() {
        let c = cols();
        let t = Theme::default();
        let tv = TableView { columns: &c, rows: &Vec::new(), selected: None, selected_col: None, theme: &t };
        assert_eq!(tv.layout(20), vec![(0, 8), (1, 5), (2, 5)]);
        assert_eq!(tv.layout(15), vec![(0, 9), (1, 5)]);
        assert_eq!(tv.layout(3), vec![(0, 8)]);
        // 30 wide: 10 spare → the name doubles (+8); 2 left, too few to share.
        assert_eq!(tv.layout(30), vec![(0, 18), (1, 5), (2, 5)]);
        assert_eq!(tv.layout(32), vec![(0, 18), (1, 6), (2, 6)]);
    }

    #[test]
    fn overflow_line_and_scroll_to_selection() {
        let c = cols();
        let t = Theme::default();
        let rows: Vec<Vec<Cell>> = (0..10)
            .map(|i| vec![Cell::new(format!("r{i}"), Style::default()), Cell::default(), Cell::default()])
            .collect();
        let mut buf = Buffer::empty(Rect::new(0, 0, 20, 5));
        TableView { columns: &c, rows: &rows, selected: Some(7), selected_col: None, theme: &t }
            .render(buf.area, &mut buf);
        assert!(text(&buf, 3).starts_with("r7"), "{}", text(&buf, 3));
        assert!(text(&buf, 4).contains("7 more"));
    }

    #[test]
    fn a_number_is_never_cut_a_column_is_dropped_instead() {
        let c = cols();
        let t = Theme::default();
        let cell = |s: &str| Cell::new(s, Style::default());
        let rows = vec![vec![cell("payments"), cell("-202.2%"), cell("59 ms")]];
        let mut buf = Buffer::empty(Rect::new(0, 0, 16, 2));
        TableView { columns: &c, rows: &rows, selected: None, selected_col: None, theme: &t }
            .render(buf.area, &mut buf);
        assert_eq!(text(&buf, 1), "payments -202.2%", "b dropped so that a is whole");
        // Wide enough for all three: nothing dropped, nothing cut.
        let mut buf = Buffer::empty(Rect::new(0, 0, 22, 2));
        TableView { columns: &c, rows: &rows, selected: None, selected_col: None, theme: &t }
            .render(buf.area, &mut buf);
        assert_eq!(text(&buf, 1), "payments -202.2% 59 ms");
        // Text (left-aligned) is cut with an ellipsis.
        let rows = vec![vec![cell("notification"), cell("1"), cell("2")]];
        let mut buf = Buffer::empty(Rect::new(0, 0, 8, 2));
        TableView { columns: &c, rows: &rows, selected: None, selected_col: None, theme: &t }
            .render(buf.area, &mut buf);
        assert_eq!(text(&buf, 1), "notific…");
    }

    #[test]
    fn any_size_is_safe() {
        let c = cols();
        let t = Theme::default();
        let rows: Vec<Vec<Cell>> = (0..3).map(|_| vec![Cell::new("ééééééééééé", Style::default())]).collect();
        for w in 0..25 {
            for h in 0..6 {
                let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
                let g = TableView { columns: &c, rows: &rows, selected: Some(9), selected_col: Some(1), theme: &t }
                    .render(buf.area, &mut buf);
                // Every column drawn lies inside the area, and a body row
                // shows the name whole or cut with `…`, never silently.
                assert!(g.columns.iter().all(|(_, x, cw)| x + cw <= w), "{w}×{h}: {:?}", g.columns);
                if h >= 2 && w >= 1 {
                    let line = text(&buf, 1);
                    let line = line.trim_end();
                    assert!(line == "ééééééééééé" || line.ends_with('…'), "{w}×{h}: {line:?}");
                }
            }
        }
    }
}
