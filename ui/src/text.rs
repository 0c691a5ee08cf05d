//! Small text helpers: sparklines, bars and the key-hint bar.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;

use crate::Theme;

const SPARK: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
const SPARK_ASCII: [char; 4] = ['_', '.', '-', '^'];

/// The last `width` values as a one-line sparkline scaled between the
/// series' minimum and maximum (or `ceiling` if given and larger).
/// Non-finite values are drawn as a space.
pub fn sparkline(values: &[f64], width: usize, ceiling: Option<f64>, ascii: bool) -> String {
    let tail = &values[values.len().saturating_sub(width)..];
    let finite = tail.iter().copied().filter(|v| v.is_finite());
    let lo = finite.clone().fold(f64::INFINITY, f64::min);
    let hi = finite.fold(f64::NEG_INFINITY, f64::max).max(ceiling.unwrap_or(f64::NEG_INFINITY));
    let glyphs: &[char] = if ascii { &SPARK_ASCII } else { &SPARK };
    let top = glyphs.len() - 1;
    tail.iter()
        .map(|&v| {
            if !v.is_finite() {
                ' '
            } else if hi - lo <= f64::EPSILON {
                glyphs[top / 2]
            } else {
                let i = (((v - lo) / (hi - lo)) * top as f64).round() as usize;
                glyphs[i.min(top)]
            }
        })
        .collect()
}

/// A horizontal bar of `width` cells filled to `frac` (clamped to 0..=1).
pub fn bar(frac: f64, width: usize, ascii: bool) -> String {
    let frac = if frac.is_finite() { frac.clamp(0.0, 1.0) } else { 0.0 };
    let full = (frac * width as f64).round() as usize;
    let (on, off) = if ascii { ('#', '.') } else { ('█', '░') };
    std::iter::repeat_n(on, full).chain(std::iter::repeat_n(off, width - full)).collect()
}

/// `text` cut to `width` cells, ending in `…` when anything was cut.
/// Widths are terminal cells (wide characters count two).
pub fn ellipsize(text: &str, width: usize) -> String {
    use ratatui::text::Span;
    if Span::raw(text).width() <= width {
        return text.to_string();
    }
    if width == 0 {
        return String::new();
    }
    let mut out = String::new();
    let mut used = 0;
    let mut tmp = [0u8; 4];
    for c in text.chars() {
        let w = Span::raw(&*c.encode_utf8(&mut tmp)).width();
        if used + w > width - 1 {
            break;
        }
        used += w;
        out.push(c);
    }
    out.push('…');
    out
}

/// Draw one line of text in at most `width` cells, ending in `…` when it
/// had to be cut: the one way panes put free text on screen, so no cut is
/// ever silent. Returns where the text ended, as `Buffer::set_stringn`.
pub fn put(buf: &mut Buffer, x: u16, y: u16, text: impl AsRef<str>, width: usize, style: Style) -> (u16, u16) {
    let text = text.as_ref();
    if ratatui::text::Span::raw(text).width() > width {
        buf.set_stringn(x, y, ellipsize(text, width), width, style)
    } else {
        buf.set_stringn(x, y, text, width, style)
    }
}

/// `prefix` then as many whole `items` as fit in `width` cells, joined by
/// `sep`, ending in `…` when any were left out: a list of figures is cut
/// between figures, never through one.
pub fn join_fit(prefix: &str, items: &[String], sep: &str, width: usize) -> String {
    use ratatui::text::Span;
    let w = |s: &str| Span::raw(s).width();
    let mut out = prefix.to_string();
    for (i, item) in items.iter().enumerate() {
        let piece = if i == 0 { item.clone() } else { format!("{sep}{item}") };
        let last = i + 1 == items.len();
        // Room for the piece, and for ` …` unless it is the last one.
        if w(&out) + w(&piece) + if last { 0 } else { 2 } > width {
            let mut out = out.trim_end().to_string();
            out.push_str(" …");
            return ellipsize(&out, width);
        }
        out.push_str(&piece);
    }
    ellipsize(&out, width)
}

/// A styled line cut to `width` cells, ending in `…` (in the style of the
/// last span kept) when anything was cut.
pub fn fit_line(line: ratatui::text::Line<'_>, width: usize) -> ratatui::text::Line<'_> {
    use ratatui::text::{Line, Span};
    if line.width() <= width {
        return line;
    }
    let mut spans: Vec<Span> = Vec::new();
    let mut used = 0;
    let mut last = line.style;
    for span in line.spans {
        let w = span.width();
        last = span.style;
        if used + w < width {
            used += w;
            spans.push(span);
            continue;
        }
        // More follows this span, so it ends in `…` even when it would fit.
        let room = width - used;
        let cut =
            if w <= room { ellipsize(&format!("{}…", span.content), room) } else { ellipsize(&span.content, room) };
        spans.push(Span::styled(cut, span.style));
        return Line { spans, style: line.style, alignment: line.alignment };
    }
    // Only reached when the spans fit but the last cell is needed for `…`.
    spans.push(Span::styled("…", last));
    Line { spans, style: line.style, alignment: line.alignment }
}

/// One line of key hints, e.g. "q quit  ? help".
pub struct KeyBar<'a> {
    pub hints: &'a [(String, String)],
    pub theme: &'a Theme,
}

impl KeyBar<'_> {
    pub fn render(&self, area: Rect, buf: &mut Buffer) {
        if area.width == 0 || area.height == 0 {
            return;
        }
        let mut x = area.x;
        let end = area.x + area.width;
        for (key, label) in self.hints {
            let need = (key.chars().count() + label.chars().count() + 3) as u16;
            if x + need > end {
                break;
            }
            let (nx, _) = buf.set_stringn(x, area.y, key, (end - x) as usize, self.theme.key);
            let (nx, _) = buf.set_stringn(nx + 1, area.y, label, (end - nx - 1) as usize, self.theme.muted);
            x = nx + 2;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ellipsize_marks_every_cut() {
        assert_eq!(ellipsize("notification", 12), "notification");
        assert_eq!(ellipsize("notification", 8), "notific…");
        assert_eq!(ellipsize("✖ PAGE", 3), "✖ …");
        assert_eq!(ellipsize("abc", 1), "…");
        assert_eq!(ellipsize("abc", 0), "");
        assert_eq!(ellipsize("日本語", 4), "日…", "wide characters count two cells");
    }

    #[test]
    fn put_marks_a_cut_line() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 8, 1));
        put(&mut buf, 0, 0, "notification", 8, Style::default());
        let line: String = (0..8).map(|x| buf[(x, 0)].symbol().to_string()).collect();
        assert_eq!(line, "notific…");
        let mut buf = Buffer::empty(Rect::new(0, 0, 8, 1));
        put(&mut buf, 0, 0, "ok", 8, Style::default());
        assert_eq!(buf[(1, 0)].symbol(), "k");
    }

    #[test]
    fn fit_line_cuts_across_spans_with_one_ellipsis() {
        use ratatui::text::{Line, Span};
        let l = Line::from(vec![Span::raw("abc "), Span::raw("defgh")]);
        let cut = fit_line(l.clone(), 6);
        assert_eq!(cut.to_string(), "abc d…");
        assert_eq!(cut.width(), 6);
        assert_eq!(fit_line(l.clone(), 9).to_string(), "abc defgh");
        assert_eq!(fit_line(l, 4).to_string(), "abc…");
    }

    #[test]
    fn join_fit_keeps_whole_figures() {
        let items: Vec<String> = ["5m 0.45×", "1h 0.45×", "30d 0.45×"].iter().map(|s| s.to_string()).collect();
        assert_eq!(join_fit("burn: ", &items, " · ", 80), "burn: 5m 0.45× · 1h 0.45× · 30d 0.45×");
        assert_eq!(join_fit("burn: ", &items, " · ", 30), "burn: 5m 0.45× · 1h 0.45× …");
        assert_eq!(join_fit("burn: ", &items, " · ", 10), "burn: …");
    }

    #[test]
    fn sparkline_scales_and_handles_edge_cases() {
        assert_eq!(sparkline(&[1.0, 2.0, 3.0], 3, None, false), "▁▅█");
        assert_eq!(sparkline(&[5.0, 5.0], 5, None, false), "▄▄");
        assert_eq!(sparkline(&[], 5, None, false), "");
        assert_eq!(sparkline(&[f64::NAN, 1.0, 2.0], 3, None, false), " ▁█");
        assert_eq!(sparkline(&[1.0, 2.0, 3.0, 4.0], 2, None, true), "_^");
    }

    #[test]
    fn bar_clamps() {
        assert_eq!(bar(0.5, 4, true), "##..");
        assert_eq!(bar(2.0, 3, true), "###");
        assert_eq!(bar(f64::NAN, 2, true), "..");
        assert_eq!(bar(-1.0, 2, false), "░░");
    }
}
