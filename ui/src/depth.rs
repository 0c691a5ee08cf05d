//! Colour depth: a frame drawn with truecolor or 256-colour styles is mapped
//! down to what the terminal can show, so a theme's `#rrggbb` never arrives
//! as garbage on a 16-colour console.

use ratatui::buffer::Buffer;
use ratatui::style::Color;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColorDepth {
    TrueColor,
    Ansi256,
    Ansi16,
}

impl ColorDepth {
    /// From `TERM` and `COLORTERM` (as a local shell or an SSH pty request
    /// and env request report them).
    pub fn detect(term: &str, colorterm: Option<&str>) -> ColorDepth {
        match colorterm {
            Some(c) if c.eq_ignore_ascii_case("truecolor") || c.eq_ignore_ascii_case("24bit") => ColorDepth::TrueColor,
            _ if term.contains("256color") || term.contains("direct") => ColorDepth::Ansi256,
            _ => ColorDepth::Ansi16,
        }
    }
}

const NAMED: [(Color, (u8, u8, u8)); 16] = [
    (Color::Black, (0, 0, 0)),
    (Color::Red, (205, 49, 49)),
    (Color::Green, (13, 188, 121)),
    (Color::Yellow, (229, 229, 16)),
    (Color::Blue, (36, 114, 200)),
    (Color::Magenta, (188, 63, 188)),
    (Color::Cyan, (17, 168, 205)),
    (Color::Gray, (160, 160, 160)),
    (Color::DarkGray, (102, 102, 102)),
    (Color::LightRed, (241, 76, 76)),
    (Color::LightGreen, (35, 209, 139)),
    (Color::LightYellow, (245, 245, 67)),
    (Color::LightBlue, (59, 142, 234)),
    (Color::LightMagenta, (214, 112, 214)),
    (Color::LightCyan, (41, 184, 219)),
    (Color::White, (229, 229, 229)),
];

fn rgb_of_index(i: u8) -> (u8, u8, u8) {
    match i {
        0..=15 => NAMED[i as usize].1,
        16..=231 => {
            let v = i - 16;
            let level = |x: u8| if x == 0 { 0 } else { 55 + x * 40 };
            (level(v / 36), level((v / 6) % 6), level(v % 6))
        }
        _ => {
            let g = 8 + (i - 232) * 10;
            (g, g, g)
        }
    }
}

fn nearest_named(r: u8, g: u8, b: u8) -> Color {
    let d = |(x, y, z): (u8, u8, u8)| {
        let (dr, dg, db) = (x as i32 - r as i32, y as i32 - g as i32, z as i32 - b as i32);
        dr * dr + dg * dg + db * db
    };
    NAMED.iter().min_by_key(|(_, rgb)| d(*rgb)).map(|(c, _)| *c).unwrap_or(Color::Reset)
}

/// Nearest entry of the xterm 6×6×6 cube (levels 0, 95, 135, 175, 215, 255).
fn to_256(r: u8, g: u8, b: u8) -> u8 {
    const LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];
    let q = |x: u8| {
        LEVELS.iter().enumerate().min_by_key(|(_, l)| (**l as i32 - x as i32).abs()).map(|(i, _)| i as u8).unwrap_or(0)
    };
    16 + 36 * q(r) + 6 * q(g) + q(b)
}

/// One colour at `depth`.
pub fn map_color(c: Color, depth: ColorDepth) -> Color {
    match (c, depth) {
        (_, ColorDepth::TrueColor) => c,
        (Color::Rgb(r, g, b), ColorDepth::Ansi256) => Color::Indexed(to_256(r, g, b)),
        (Color::Rgb(r, g, b), ColorDepth::Ansi16) => nearest_named(r, g, b),
        (Color::Indexed(i), ColorDepth::Ansi16) => {
            let (r, g, b) = rgb_of_index(i);
            nearest_named(r, g, b)
        }
        _ => c,
    }
}

/// Map every cell of a drawn frame to `depth`.
pub fn downgrade(buf: &mut Buffer, depth: ColorDepth) {
    if depth == ColorDepth::TrueColor {
        return;
    }
    for cell in buf.content.iter_mut() {
        cell.fg = map_color(cell.fg, depth);
        cell.bg = map_color(cell.bg, depth);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn detection_and_mapping() {
        assert_eq!(ColorDepth::detect("xterm-256color", Some("truecolor")), ColorDepth::TrueColor);
        assert_eq!(ColorDepth::detect("xterm-256color", None), ColorDepth::Ansi256);
        assert_eq!(ColorDepth::detect("vt100", None), ColorDepth::Ansi16);
        assert_eq!(map_color(Color::Rgb(255, 135, 0), ColorDepth::Ansi256), Color::Indexed(208));
        assert_eq!(map_color(Color::Rgb(250, 0, 0), ColorDepth::Ansi16), Color::Red);
        assert_eq!(map_color(Color::Indexed(21), ColorDepth::Ansi16), Color::Blue);
        assert_eq!(map_color(Color::Green, ColorDepth::Ansi16), Color::Green, "named colours stay");
        let mut buf = Buffer::empty(Rect::new(0, 0, 2, 1));
        buf.set_string(0, 0, "x", Style::default().fg(Color::Rgb(0, 0, 255)).bg(Color::Rgb(255, 255, 255)));
        downgrade(&mut buf, ColorDepth::Ansi16);
        assert_eq!((buf[(0, 0)].fg, buf[(0, 0)].bg), (Color::Blue, Color::White));
    }
}
