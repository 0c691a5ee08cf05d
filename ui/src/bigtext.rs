//! Large letters for wall displays: a 3×5 block font, optionally scaled, so
//! a status word reads from across a room.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

/// Rows of a 3-wide, 5-high glyph ('#' = filled).
fn glyph(c: char) -> [&'static str; 5] {
    match c.to_ascii_uppercase() {
        'A' => [".#.", "#.#", "###", "#.#", "#.#"],
        'B' => ["##.", "#.#", "##.", "#.#", "##."],
        'C' => [".##", "#..", "#..", "#..", ".##"],
        'D' => ["##.", "#.#", "#.#", "#.#", "##."],
        'E' => ["###", "#..", "##.", "#..", "###"],
        'F' => ["###", "#..", "##.", "#..", "#.."],
        'G' => [".##", "#..", "#.#", "#.#", ".##"],
        'H' => ["#.#", "#.#", "###", "#.#", "#.#"],
        'I' => ["###", ".#.", ".#.", ".#.", "###"],
        'J' => ["..#", "..#", "..#", "#.#", ".#."],
        'K' => ["#.#", "#.#", "##.", "#.#", "#.#"],
        'L' => ["#..", "#..", "#..", "#..", "###"],
        'M' => ["#.#", "###", "###", "#.#", "#.#"],
        'N' => ["##.", "#.#", "#.#", "#.#", "#.#"],
        'O' => [".#.", "#.#", "#.#", "#.#", ".#."],
        'P' => ["##.", "#.#", "##.", "#..", "#.."],
        'Q' => [".#.", "#.#", "#.#", "##.", ".##"],
        'R' => ["##.", "#.#", "##.", "#.#", "#.#"],
        'S' => [".##", "#..", ".#.", "..#", "##."],
        'T' => ["###", ".#.", ".#.", ".#.", ".#."],
        'U' => ["#.#", "#.#", "#.#", "#.#", "###"],
        'V' => ["#.#", "#.#", "#.#", "#.#", ".#."],
        'W' => ["#.#", "#.#", "###", "###", "#.#"],
        'X' => ["#.#", "#.#", ".#.", "#.#", "#.#"],
        'Y' => ["#.#", "#.#", ".#.", ".#.", ".#."],
        'Z' => ["###", "..#", ".#.", "#..", "###"],
        '0' => ["###", "#.#", "#.#", "#.#", "###"],
        '1' => [".#.", "##.", ".#.", ".#.", "###"],
        '2' => ["##.", "..#", ".#.", "#..", "###"],
        '3' => ["##.", "..#", ".#.", "..#", "##."],
        '4' => ["#.#", "#.#", "###", "..#", "..#"],
        '5' => ["###", "#..", "##.", "..#", "##."],
        '6' => [".##", "#..", "###", "#.#", "###"],
        '7' => ["###", "..#", ".#.", ".#.", ".#."],
        '8' => ["###", "#.#", "###", "#.#", "###"],
        '9' => ["###", "#.#", "###", "..#", "##."],
        ':' => ["...", ".#.", "...", ".#.", "..."],
        '-' => ["...", "...", "###", "...", "..."],
        '!' => [".#.", ".#.", ".#.", "...", ".#."],
        '/' => ["..#", "..#", ".#.", "#..", "#.."],
        '+' => ["...", ".#.", "###", ".#.", "..."],
        _ => ["...", "...", "...", "...", "..."],
    }
}

/// Height in rows of text rendered at `scale`.
pub fn big_height(scale: u16) -> u16 {
    5 * scale.max(1)
}

/// Width in cells of `text` rendered at `scale` (one blank column between letters).
pub fn big_width(text: &str, scale: u16) -> u16 {
    let n = crate::cells(text.chars().count());
    n.saturating_mul(4).saturating_sub(1).saturating_mul(scale.max(1))
}

/// Large text, left-aligned at `area`'s origin, clipped to `area`.
pub struct BigText<'a> {
    pub text: &'a str,
    pub style: Style,
    pub scale: u16,
}

impl BigText<'_> {
    pub fn render(&self, area: Rect, buf: &mut Buffer) {
        let s = self.scale.max(1);
        let mut x0 = area.x;
        for c in self.text.chars() {
            let rows = glyph(c);
            for (ry, row) in rows.iter().enumerate() {
                for (rx, cell) in row.chars().enumerate() {
                    if cell != '#' {
                        continue;
                    }
                    for dy in 0..s {
                        for dx in 0..s {
                            let x = x0 + rx as u16 * s + dx;
                            let y = area.y + ry as u16 * s + dy;
                            if x < area.x + area.width && y < area.y + area.height {
                                buf[(x, y)].set_symbol("█").set_style(self.style);
                            }
                        }
                    }
                }
            }
            x0 = x0.saturating_add(4 * s);
            if x0 >= area.x + area.width {
                break;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_and_clipping() {
        assert_eq!(big_width("OK", 1), 7);
        assert_eq!(big_width("OK", 2), 14);
        assert_eq!(big_height(2), 10);
        for w in 0..10 {
            for h in 0..7 {
                let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
                BigText { text: "DEGRADED 42", style: Style::default(), scale: 2 }.render(buf.area, &mut buf);
            }
        }
        let mut buf = Buffer::empty(Rect::new(0, 0, 7, 5));
        BigText { text: "OK", style: Style::default(), scale: 1 }.render(buf.area, &mut buf);
        let row: String = (0..7).map(|x| buf[(x, 0)].symbol().to_string()).collect();
        assert_eq!(row, " █  █ █");
    }
}
