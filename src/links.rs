//! OSC 8 hyperlinks laid over a drawn frame. Panes record links with
//! `warroom_ui::link` (only URLs `warroom_ui::safe_url` accepts); after the
//! frame's cells are written, the output rewrites each link's cells with
//! the same symbols and styles inside `ESC ] 8 ; ; URL ESC \` … `ESC ] 8 ;
//! ; ESC \`, so the text and colours on screen are the frame's own. A link
//! whose cells did not change since the last frame is not sent again (the
//! terminal keeps it: the frame diff did not touch those cells).

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};
use warroom_ui::Link;

/// What was laid over the last frame, to send only what changed.
#[derive(Default)]
pub struct LinkLayer {
    last: Vec<(Link, Vec<(String, ratatui::style::Style)>)>,
}

fn sgr_colour(c: Color, fg: bool) -> String {
    let base = if fg { 30 } else { 40 };
    match c {
        Color::Reset => format!("{}", base + 9),
        Color::Black => format!("{base}"),
        Color::Red => format!("{}", base + 1),
        Color::Green => format!("{}", base + 2),
        Color::Yellow => format!("{}", base + 3),
        Color::Blue => format!("{}", base + 4),
        Color::Magenta => format!("{}", base + 5),
        Color::Cyan => format!("{}", base + 6),
        Color::Gray => format!("{}", base + 7),
        Color::DarkGray => format!("{}", base + 60),
        Color::LightRed => format!("{}", base + 61),
        Color::LightGreen => format!("{}", base + 62),
        Color::LightYellow => format!("{}", base + 63),
        Color::LightBlue => format!("{}", base + 64),
        Color::LightMagenta => format!("{}", base + 65),
        Color::LightCyan => format!("{}", base + 66),
        Color::White => format!("{}", base + 67),
        Color::Indexed(i) => format!("{};5;{i}", base + 8),
        Color::Rgb(r, g, b) => format!("{};2;{r};{g};{b}", base + 8),
    }
}

/// One cell's style as an SGR sequence (from a reset).
fn sgr(style: ratatui::style::Style) -> String {
    let mut parts = vec!["0".to_string()];
    let m = style.add_modifier;
    for (flag, code) in [
        (Modifier::BOLD, "1"),
        (Modifier::DIM, "2"),
        (Modifier::ITALIC, "3"),
        (Modifier::UNDERLINED, "4"),
        (Modifier::REVERSED, "7"),
        (Modifier::CROSSED_OUT, "9"),
    ] {
        if m.contains(flag) {
            parts.push(code.into());
        }
    }
    if let Some(fg) = style.fg {
        parts.push(sgr_colour(fg, true));
    }
    if let Some(bg) = style.bg {
        parts.push(sgr_colour(bg, false));
    }
    format!("\x1b[{}m", parts.join(";"))
}

impl LinkLayer {
    /// Forget what was sent (after a resize or a clear, every cell is new).
    pub fn reset(&mut self) {
        self.last.clear();
    }

    /// The bytes that lay this frame's links (taken from the ui's record)
    /// over `buf`; empty when nothing changed since the last frame.
    pub fn overlay(&mut self, buf: &Buffer) -> Vec<u8> {
        let links = warroom_ui::take_links();
        let area = buf.area;
        let now: Vec<(Link, Vec<(String, ratatui::style::Style)>)> = links
            .into_iter()
            .filter(|l| l.y < area.y + area.height && l.x < area.x + area.width)
            .map(|l| {
                let end = (l.x + l.width).min(area.x + area.width);
                let cells = (l.x..end)
                    .filter_map(|x| buf.cell((x, l.y)))
                    .map(|c| (c.symbol().to_string(), c.style()))
                    .collect();
                (l, cells)
            })
            .collect();
        if now == self.last {
            return Vec::new();
        }
        let mut out = String::new();
        for (l, cells) in &now {
            // Links are safe (no control characters); checked again here,
            // where the bytes are made.
            let Some(url) = warroom_ui::safe_url(&l.url) else { continue };
            out.push_str(&format!("\x1b[{};{}H\x1b]8;;{url}\x1b\\", l.y + 1, l.x + 1));
            let mut current = None;
            for (symbol, style) in cells {
                if current != Some(*style) {
                    out.push_str(&sgr(*style));
                    current = Some(*style);
                }
                let clean: String = symbol.chars().filter(|c| !c.is_control()).collect();
                out.push_str(if clean.is_empty() { " " } else { &clean });
            }
            out.push_str("\x1b]8;;\x1b\\\x1b[0m");
        }
        self.last = now;
        out.into_bytes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn links_are_laid_once_with_the_cells_own_text_and_style() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 30, 3));
        let _ = warroom_ui::take_links();
        let style = Style::default().fg(Color::Rgb(1, 2, 3));
        warroom_ui::link(&mut buf, 4, 1, "https://r.example/a", "https://r.example/a", 19, style);
        let mut layer = LinkLayer::default();
        let bytes = String::from_utf8(layer.overlay(&buf)).unwrap_or_default();
        assert_eq!(
            bytes,
            "\x1b[2;5H\x1b]8;;https://r.example/a\x1b\\\x1b[0;38;2;1;2;3;49mhttps://r.example/a\x1b]8;;\x1b\\\x1b[0m"
        );
        // The same frame again: nothing to send.
        warroom_ui::link(&mut buf, 4, 1, "https://r.example/a", "https://r.example/a", 19, style);
        assert!(layer.overlay(&buf).is_empty());
        // A hostile annotation is drawn as text, never a sequence.
        let evil = "https://x.example/\u{1b}]8;;javascript:alert(1)\u{7}";
        warroom_ui::link(&mut buf, 0, 2, evil, evil, 30, style);
        let bytes = String::from_utf8(layer.overlay(&buf)).unwrap_or_default();
        assert!(bytes.is_empty(), "no link recorded for it: {bytes:?}");
        assert!(!buf.content.iter().any(|c| c.symbol().contains('\u{1b}')), "put drops controls");
    }
}
