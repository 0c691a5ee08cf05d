//! A time-series chart of a few lines against horizontal limits (SLA lines),
//! drawn with ratatui's braille chart.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::symbols::Marker;
use ratatui::text::Span;
use ratatui::widgets::{Axis, Chart, Dataset, GraphType, Widget};

use crate::Theme;

/// One line: label, values oldest first, style.
pub struct Line<'a> {
    pub label: &'a str,
    pub values: &'a [f64],
    pub style: Style,
}

/// Lines over `span_secs` seconds ending now, with dashed limits.
pub struct SeriesChart<'a> {
    pub lines: Vec<Line<'a>>,
    /// (label, value, style) horizontal limits.
    pub limits: Vec<(&'a str, f64, Style)>,
    pub span_secs: f64,
    pub unit: &'a str,
    pub theme: &'a Theme,
    /// Annotations on the time axis: (seconds before the end, glyph, style).
    /// Each is a dotted vertical line through the blank cells of the graph
    /// with its glyph on the x axis; marks outside the span are left out.
    pub marks: Vec<(f64, char, Style)>,
}

/// `-59m`, `-3h`, `-3.5d`: a time before now in the unit that reads best.
pub fn ago_label(secs: f64) -> String {
    let (v, unit) = if secs >= 2.0 * 86_400.0 {
        (secs / 86_400.0, "d")
    } else if secs >= 2.0 * 3600.0 {
        (secs / 3600.0, "h")
    } else {
        (secs / 60.0, "m")
    };
    let v = (v * 10.0).round() / 10.0;
    if v.fract() == 0.0 || unit == "m" {
        format!("-{v:.0}{unit}")
    } else {
        format!("-{v:.1}{unit}")
    }
}

/// Where ratatui put the graph: the cells right of the y axis and above the
/// x axis, found from the axes' corner (`└`) it drew.
fn graph_area(area: Rect, buf: &Buffer) -> Option<Rect> {
    for y in (area.top()..area.bottom()).rev() {
        for x in area.left()..area.right() {
            if buf.cell((x, y)).is_some_and(|c| c.symbol() == "└") {
                let w = area.right().saturating_sub(x + 1);
                let h = y.saturating_sub(area.top());
                return (w > 1 && h > 0).then(|| Rect::new(x + 1, area.top(), w, h));
            }
        }
    }
    None
}

/// The column of a mark `secs` before the end of a span of `span` seconds.
pub fn mark_column(graph: Rect, span: f64, secs: f64) -> Option<u16> {
    if !(secs.is_finite() && span > 0.0 && (0.0..=span).contains(&secs)) || graph.width == 0 {
        return None;
    }
    let f = 1.0 - secs / span;
    Some(graph.x + (f * (graph.width - 1) as f64).round() as u16)
}

impl SeriesChart<'_> {
    pub fn render(&self, area: Rect, buf: &mut Buffer) {
        if area.width < 10 || area.height < 4 {
            return;
        }
        let points: Vec<Vec<(f64, f64)>> = self
            .lines
            .iter()
            .map(|l| {
                let n = l.values.len().max(1);
                let step = self.span_secs / (n.saturating_sub(1).max(1)) as f64;
                l.values
                    .iter()
                    .enumerate()
                    .filter(|(_, v)| v.is_finite())
                    .map(|(i, v)| (-(self.span_secs) + i as f64 * step, *v))
                    .collect()
            })
            .collect();
        let limit_points: Vec<[(f64, f64); 2]> =
            self.limits.iter().map(|(_, v, _)| [(-self.span_secs, *v), (0.0, *v)]).collect();
        let top = points
            .iter()
            .flatten()
            .map(|(_, y)| *y)
            .chain(self.limits.iter().map(|(_, v, _)| *v))
            .fold(1.0_f64, f64::max)
            * 1.1;
        let mut datasets: Vec<Dataset> = Vec::new();
        for ((label, _, style), pts) in self.limits.iter().zip(&limit_points) {
            datasets.push(
                Dataset::default().name(*label).marker(Marker::Dot).graph_type(GraphType::Line).style(*style).data(pts),
            );
        }
        for (l, pts) in self.lines.iter().zip(&points) {
            datasets.push(
                Dataset::default()
                    .name(l.label)
                    .marker(Marker::Braille)
                    .graph_type(GraphType::Line)
                    .style(l.style)
                    .data(pts),
            );
        }
        let x_labels = vec![
            Span::styled(ago_label(self.span_secs), self.theme.muted),
            Span::styled(ago_label(self.span_secs / 2.0), self.theme.muted),
            Span::styled("now", self.theme.muted),
        ];
        let y_labels = vec![
            Span::styled("0", self.theme.muted),
            Span::styled(format!("{:.0}{}", top / 2.0, self.unit), self.theme.muted),
            Span::styled(format!("{top:.0}{}", self.unit), self.theme.muted),
        ];
        Chart::new(datasets)
            .x_axis(Axis::default().bounds([-self.span_secs, 0.0]).labels(x_labels).style(self.theme.border))
            .y_axis(Axis::default().bounds([0.0, top]).labels(y_labels).style(self.theme.border))
            .render(area, buf);
        if self.marks.is_empty() {
            return;
        }
        let Some(graph) = graph_area(area, buf) else { return };
        for (secs, glyph, style) in &self.marks {
            let Some(x) = mark_column(graph, self.span_secs, *secs) else { continue };
            for y in graph.top()..graph.bottom() {
                if let Some(c) = buf.cell_mut((x, y)) {
                    if c.symbol() == " " {
                        c.set_symbol("┊").set_style(*style);
                    }
                }
            }
            if let Some(c) = buf.cell_mut((x, graph.bottom())) {
                c.set_char(*glyph).set_style(*style);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn any_size_and_empty_data() {
        let t = Theme::default();
        let v = [10.0, 20.0, f64::NAN, 15.0];
        for (w, h) in [(0, 0), (9, 3), (10, 4), (80, 20)] {
            let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
            let c = SeriesChart {
                lines: vec![
                    Line { label: "p99", values: &v, style: t.info },
                    Line { label: "p50", values: &[], style: t.ok },
                ],
                limits: vec![("SLA", 500.0, t.critical)],
                span_secs: 3600.0,
                unit: "ms",
                theme: &t,
                marks: vec![(1800.0, '1', t.warn), (7200.0, '2', t.warn)],
            };
            c.render(buf.area, &mut buf);
            let text: String = buf.content().iter().map(|c| c.symbol()).collect();
            if w >= 80 {
                // The data is drawn, the SLA line is labelled, the axis says its unit.
                assert!(text.contains("SLA") && text.contains("ms"), "{w}×{h}: {text}");
                assert!(text.chars().any(|c| ('\u{2800}'..='\u{28ff}').contains(&c) || c == '•'), "no points drawn");
                // The mark half-way is on the x axis; the one outside the span is not.
                assert!(text.contains('1') && text.contains('┊'), "{text}");
            }
        }
    }
}

#[cfg(test)]
mod mark_tests {
    use super::*;

    #[test]
    fn the_time_axis_reads_in_minutes_hours_or_days() {
        assert_eq!(ago_label(3540.0), "-59m");
        assert_eq!(ago_label(1800.0), "-30m");
        assert_eq!(ago_label(1770.0), "-30m", "half of 59 minutes: whole minutes");
        assert_eq!(ago_label(21_600.0), "-6h");
        assert_eq!(ago_label(302_400.0), "-3.5d");
        assert_eq!(ago_label(604_800.0), "-7d");
    }

    #[test]
    fn marks_land_on_the_time_axis_where_they_happened() {
        let g = Rect::new(10, 0, 61, 10);
        assert_eq!(mark_column(g, 3600.0, 0.0), Some(70), "now is the last column");
        assert_eq!(mark_column(g, 3600.0, 3600.0), Some(10), "the start is the first");
        assert_eq!(mark_column(g, 3600.0, 1800.0), Some(40));
        assert_eq!(mark_column(g, 3600.0, 3601.0), None, "before the span: not drawn");
        assert_eq!(mark_column(g, 3600.0, -1.0), None, "after the end (clock skew): not drawn");
        assert_eq!(mark_column(g, 0.0, 0.0), None);
        assert_eq!(mark_column(g, 3600.0, f64::NAN), None);
    }
}
