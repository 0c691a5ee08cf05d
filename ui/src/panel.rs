//! A bordered pane with a title, focus, and an age / stale / error badge.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Widget};

use crate::Theme;

/// A framed pane. `render` returns the inner area left for content.
pub struct Panel<'a> {
    pub title: &'a str,
    pub focused: bool,
    /// Right-aligned text in the top border (age, STALE, error marker).
    pub badge: Option<(String, Style)>,
    pub theme: &'a Theme,
}

impl Panel<'_> {
    pub fn render(&self, area: Rect, buf: &mut Buffer) -> Rect {
        if area.width < 4 || area.height < 2 {
            return Rect::new(area.x, area.y, 0, 0);
        }
        let t = self.theme;
        let border = if self.focused { t.border_focus } else { t.border };
        let title_style = if self.focused { t.title.patch(t.border_focus) } else { t.title };
        let mut block = Block::default().borders(Borders::ALL).border_style(border).title(Line::from(Span::styled(
            format!(" {} ", crate::ellipsize(self.title, (area.width as usize).saturating_sub(4))),
            title_style,
        )));
        if let Some((text, style)) = &self.badge {
            // Keep the title readable: the badge gets what is left of the border.
            let room = (area.width as usize).saturating_sub(self.title.chars().count() + 6);
            if room > 3 {
                let text: String = text.chars().take(room).collect();
                block = block.title_top(Line::from(Span::styled(format!(" {text} "), *style)).right_aligned());
            }
        }
        let inner = block.inner(area);
        block.render(area, buf);
        inner
    }
}

/// A centred rectangle of at most `w` × `h` inside `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(area.x + (area.width - w) / 2, area.y + (area.height - h) / 2, w, h)
}

/// A popup with a title and lines of text, drawn over what is beneath.
pub struct TextBox<'a> {
    pub title: &'a str,
    pub lines: Vec<Line<'a>>,
    pub theme: &'a Theme,
}

impl TextBox<'_> {
    pub fn render(self, area: Rect, buf: &mut Buffer) {
        if area.width < 4 || area.height < 3 {
            return;
        }
        Clear.render(area, buf);
        let inner = Panel { title: self.title, focused: true, badge: None, theme: self.theme }.render(area, buf);
        let width = inner.width as usize;
        let lines: Vec<Line> = self.lines.into_iter().map(|l| crate::text::fit_line(l, width)).collect();
        Paragraph::new(lines).render(inner, buf);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tiny_areas_do_not_panic() {
        let theme = Theme::default();
        for w in 0..6 {
            for h in 0..4 {
                let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
                let p =
                    Panel { title: "Latency", focused: true, badge: Some(("3s".into(), theme.muted)), theme: &theme };
                let inner = p.render(buf.area, &mut buf);
                assert!(inner.width <= w && inner.height <= h);
                TextBox { title: "Help", lines: vec![Line::from("x")], theme: &theme }.render(buf.area, &mut buf);
            }
        }
    }

    #[test]
    fn badge_is_drawn_in_border() {
        let theme = Theme::default();
        let mut buf = Buffer::empty(Rect::new(0, 0, 30, 3));
        let p =
            Panel { title: "Flags", focused: false, badge: Some(("◌ STALE 9s".into(), theme.stale)), theme: &theme };
        p.render(buf.area, &mut buf);
        let top: String = (0..30).map(|x| buf[(x, 0)].symbol().to_string()).collect();
        assert!(top.contains("Flags") && top.contains("STALE 9s"), "{top}");
    }
}
