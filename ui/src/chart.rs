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
        let minutes = self.span_secs / 60.0;
        let x_labels = vec![
            Span::styled(format!("-{minutes:.0}m"), self.theme.muted),
            Span::styled(format!("-{:.0}m", minutes / 2.0), self.theme.muted),
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
            };
            c.render(buf.area, &mut buf);
            let text: String = buf.content().iter().map(|c| c.symbol()).collect();
            if w >= 80 {
                // The data is drawn, the SLA line is labelled, the axis says its unit.
                assert!(text.contains("SLA") && text.contains("ms"), "{w}×{h}: {text}");
                assert!(text.chars().any(|c| ('\u{2800}'..='\u{28ff}').contains(&c) || c == '•'), "no points drawn");
            }
        }
    }
}
