//! A rendered frame as an SVG image: one rectangle per run of background
//! colour and one text element per run of identical style, on a fixed
//! palette for the named colours. Deterministic, so screenshots can be
//! regenerated and diffed.

use std::fmt::Write as _;

use ratatui::buffer::Buffer;
use ratatui::style::{Color, Modifier};

const CELL_W: f64 = 8.4;
const CELL_H: f64 = 17.0;
const BG: &str = "#1e1e1e";
const FG: &str = "#d4d4d4";

/// The palette named colours are drawn with (a dark terminal's).
fn hex(c: Color, default: &str) -> String {
    let named = match c {
        Color::Reset => return default.to_string(),
        Color::Black => "#000000",
        Color::Red => "#cd3131",
        Color::Green => "#0dbc79",
        Color::Yellow => "#e5e510",
        Color::Blue => "#2472c8",
        Color::Magenta => "#bc3fbc",
        Color::Cyan => "#11a8cd",
        Color::Gray => "#a0a0a0",
        Color::DarkGray => "#666666",
        Color::LightRed => "#f14c4c",
        Color::LightGreen => "#23d18b",
        Color::LightYellow => "#f5f543",
        Color::LightBlue => "#3b8eea",
        Color::LightMagenta => "#d670d6",
        Color::LightCyan => "#29b8db",
        Color::White => "#e5e5e5",
        Color::Rgb(r, g, b) => return format!("#{r:02x}{g:02x}{b:02x}"),
        Color::Indexed(i) => return indexed(i),
    };
    named.to_string()
}

/// xterm 256-colour palette for indices 16–255 (0–15 as the named ones).
fn indexed(i: u8) -> String {
    match i {
        0..=15 => {
            let named = [
                Color::Black,
                Color::Red,
                Color::Green,
                Color::Yellow,
                Color::Blue,
                Color::Magenta,
                Color::Cyan,
                Color::Gray,
                Color::DarkGray,
                Color::LightRed,
                Color::LightGreen,
                Color::LightYellow,
                Color::LightBlue,
                Color::LightMagenta,
                Color::LightCyan,
                Color::White,
            ];
            hex(named[i as usize], FG)
        }
        16..=231 => {
            let v = i - 16;
            let level = |x: u8| if x == 0 { 0 } else { 55 + x * 40 };
            format!("#{:02x}{:02x}{:02x}", level(v / 36), level((v / 6) % 6), level(v % 6))
        }
        _ => {
            let g = 8 + (i - 232) * 10;
            format!("#{g:02x}{g:02x}{g:02x}")
        }
    }
}

fn escape(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The buffer as a standalone SVG document.
pub fn render(buf: &Buffer) -> String {
    let (w, h) = (buf.area.width, buf.area.height);
    let mut out = String::new();
    let _ = writeln!(
        out,
        r#"<svg xmlns="http://www.w3.org/2000/svg" width="{:.0}" height="{:.0}" viewBox="0 0 {:.1} {:.1}">"#,
        w as f64 * CELL_W + 16.0,
        h as f64 * CELL_H + 16.0,
        w as f64 * CELL_W + 16.0,
        h as f64 * CELL_H + 16.0
    );
    let _ = writeln!(out, r#"<rect width="100%" height="100%" fill="{BG}"/>"#);
    let _ = writeln!(
        out,
        r#"<g transform="translate(8,8)" font-family="DejaVu Sans Mono, Menlo, Consolas, monospace" font-size="14px" xml:space="preserve">"#
    );
    for y in 0..h {
        // Background runs.
        let mut x = 0;
        while x < w {
            let cell = &buf[(x, y)];
            let reversed = cell.modifier.contains(Modifier::REVERSED);
            let bg = if reversed { hex(cell.fg, FG) } else { hex(cell.bg, BG) };
            let start = x;
            while x < w {
                let c = &buf[(x, y)];
                let r = c.modifier.contains(Modifier::REVERSED);
                let b = if r { hex(c.fg, FG) } else { hex(c.bg, BG) };
                if b != bg {
                    break;
                }
                x += 1;
            }
            if bg != BG {
                let _ = writeln!(
                    out,
                    r#"<rect x="{:.1}" y="{:.1}" width="{:.1}" height="{:.1}" fill="{bg}"/>"#,
                    start as f64 * CELL_W,
                    y as f64 * CELL_H,
                    (x - start) as f64 * CELL_W,
                    CELL_H
                );
            }
        }
        // Text runs: one <text> per cell keeps wide glyphs and box drawing aligned.
        for x in 0..w {
            let c = &buf[(x, y)];
            // ⏸ is in no font of the stack (DejaVu has none): the double bar,
            // which every one has, draws the same meaning.
            let sym = if c.symbol() == "⏸" { "‖" } else { c.symbol() };
            if sym.trim().is_empty() {
                continue;
            }
            let reversed = c.modifier.contains(Modifier::REVERSED);
            let fg = if reversed { hex(c.bg, BG) } else { hex(c.fg, FG) };
            let weight = if c.modifier.contains(Modifier::BOLD) { r#" font-weight="bold""# } else { "" };
            let deco = if c.modifier.contains(Modifier::UNDERLINED) { r#" text-decoration="underline""# } else { "" };
            let dim = if c.modifier.contains(Modifier::DIM) { r#" opacity="0.6""# } else { "" };
            let _ = writeln!(
                out,
                r#"<text x="{:.1}" y="{:.1}" fill="{fg}"{weight}{deco}{dim}>{}</text>"#,
                x as f64 * CELL_W,
                y as f64 * CELL_H + 13.0,
                escape(sym)
            );
        }
    }
    out.push_str("</g>\n</svg>\n");
    out
}

/// Write an SVG as PNG through `rsvg-convert` (Debian's librsvg2-bin), the
/// one rasteriser here that draws the box and braille glyphs faithfully.
pub fn write_png(svg: &str, path: &std::path::Path) -> Result<(), String> {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let mut child = Command::new("rsvg-convert")
        .args(["--format", "png", "--output"])
        .arg(path)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| {
            format!("PNG output needs rsvg-convert ({e}); install it with `apt-get install librsvg2-bin`, or use --format svg")
        })?;
    if let Some(mut stdin) = child.stdin.take() {
        stdin.write_all(svg.as_bytes()).map_err(|e| format!("rsvg-convert: {e}"))?;
    }
    let out = child.wait_with_output().map_err(|e| format!("rsvg-convert: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!("rsvg-convert failed: {}", String::from_utf8_lossy(&out.stderr).trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;
    use ratatui::style::Style;

    #[test]
    fn renders_text_colours_and_escapes() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 6, 2));
        buf.set_string(0, 0, "a<b", Style::default().fg(Color::Red));
        buf.set_string(0, 1, "ok", Style::default().add_modifier(Modifier::REVERSED));
        let svg = render(&buf);
        assert!(svg.starts_with("<svg"));
        assert!(svg.contains(r##"fill="#cd3131">a</text>"##), "{svg}");
        assert!(svg.contains("&lt;"));
        assert!(svg.contains(r##"<rect x="0.0" y="17.0" width="16.8" height="17.0" fill="#d4d4d4"/>"##), "{svg}");
        assert_eq!(indexed(208), "#ff8700");
        assert_eq!(svg, render(&buf), "deterministic");
    }
}
