//! A chart's time range beyond the live hour: `[`/`]` step through 15m, 1h,
//! 6h, 24h and 7d, and `c` lays the same window a week earlier over it.
//! The live snapshot carries the last hour; other windows are bounded range
//! queries against the metrics source, asked for by a viewer and answered
//! into the store (`Snapshot::ranges`), never awaited by the UI.

use chrono::{DateTime, Utc};

/// The spans `[`/`]` step through: (seconds, label).
pub const SPANS: [(u32, &str); 5] = [(900, "15m"), (3600, "1h"), (21_600, "6h"), (86_400, "24h"), (604_800, "7d")];
/// The span the live snapshot has (no range query needed).
pub const LIVE_SPAN: usize = 1;
/// How far back `c` looks: the same window a week earlier.
pub const WEEK_SECS: u32 = 604_800;
/// Points asked for at most and at least, whatever the width.
pub const MAX_POINTS: u16 = 400;
pub const MIN_POINTS: u16 = 30;
/// Results kept in the store (oldest asked first out).
pub const KEEP: usize = 16;

/// One chart's range: a service in a region over `span_secs` ending
/// `ago_secs` before the source's now, in `points` evenly spaced points.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RangeQuery {
    pub service: String,
    /// The region; empty: every region together (an SLO's burn).
    pub region: String,
    pub span_secs: u32,
    pub ago_secs: u32,
    pub points: u16,
    pub kind: RangeKind,
}

/// What a range is of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RangeKind {
    /// p50/p95/p99 (and the error ratio where the source gives it).
    Latency,
    /// The error ratio only (failed ÷ all requests): an availability
    /// SLO's burn.
    Errors,
    /// The share of requests slower than this many ms: a latency SLO's burn.
    Slow(u32),
}

impl RangeQuery {
    /// A query for a chart `width` cells wide: two points a cell (braille),
    /// rounded to twenty so that a small resize does not ask again, and a
    /// step of whole seconds (never below 10 s: what scrapes resolve).
    pub fn new(service: &str, region: &str, span_secs: u32, ago_secs: u32, width: u16) -> RangeQuery {
        let by_width = (width.saturating_mul(2) / 20).saturating_mul(20);
        let by_step = (span_secs / 10).saturating_add(1).min(u16::MAX as u32) as u16;
        let points = by_width.clamp(MIN_POINTS, MAX_POINTS).min(by_step.max(MIN_POINTS));
        RangeQuery {
            service: service.into(),
            region: region.into(),
            span_secs,
            ago_secs,
            points,
            kind: RangeKind::Latency,
        }
    }

    /// A service's error ratio over every region together (an
    /// availability SLO's burn over the window).
    pub fn errors(service: &str, span_secs: u32, width: u16) -> RangeQuery {
        RangeQuery { kind: RangeKind::Errors, ..RangeQuery::new(service, "", span_secs, 0, width) }
    }

    /// A service's share of requests slower than `threshold_ms` over every
    /// region together (a latency SLO's burn over the window).
    pub fn slow(service: &str, threshold_ms: f64, span_secs: u32, width: u16) -> RangeQuery {
        let ms = threshold_ms.round().clamp(1.0, u32::MAX as f64) as u32;
        RangeQuery { kind: RangeKind::Slow(ms), ..RangeQuery::new(service, "", span_secs, 0, width) }
    }

    /// Seconds between points (whole seconds, at least 10).
    pub fn step_secs(&self) -> u32 {
        (self.span_secs / (self.points.max(2) as u32 - 1)).max(10)
    }

    /// How often a live window is asked again: a point's worth, between 10 s
    /// and 5 min. A window a week back changes no faster.
    pub fn refresh_secs(&self) -> u32 {
        self.step_secs().clamp(10, 300)
    }

    pub fn label(&self) -> String {
        let span = SPANS.iter().find(|(s, _)| *s == self.span_secs).map(|(_, l)| l.to_string());
        let span = span.unwrap_or_else(|| format!("{}s", self.span_secs));
        if self.ago_secs == 0 {
            span
        } else {
            format!("{span} a week earlier")
        }
    }
}

/// What a range query gave: p50/p95/p99 in ms, oldest first, NaN where the
/// source had no point; or why not.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeSeries {
    pub query: RangeQuery,
    /// The last point's time, in the source's clock.
    pub end: Option<DateTime<Utc>>,
    pub step_secs: f64,
    pub p50: Vec<f64>,
    pub p95: Vec<f64>,
    pub p99: Vec<f64>,
    /// Bad ÷ all requests (0..1): failed ones (`Errors`, and `Latency`
    /// where the source gives it) or slower than the threshold (`Slow`).
    pub err: Vec<f64>,
    /// Which source answered ("control-plane", "prometheus", "cloudwatch").
    pub source: String,
    /// When it arrived here (our clock).
    pub fetched_at: DateTime<Utc>,
    pub error: Option<String>,
}

impl RangeSeries {
    pub fn failed(query: RangeQuery, source: &str, at: DateTime<Utc>, error: String) -> RangeSeries {
        RangeSeries {
            query,
            end: None,
            step_secs: 0.0,
            p50: vec![],
            p95: vec![],
            p99: vec![],
            err: vec![],
            source: source.into(),
            fetched_at: at,
            error: Some(error),
        }
    }

    /// Whether it has any point to draw.
    pub fn has_points(&self) -> bool {
        self.p99.iter().chain(&self.p95).chain(&self.p50).chain(&self.err).any(|v| v.is_finite())
    }
}

/// Values on an even grid from (unix seconds, value) points: the point at
/// or nearest before each grid time within one step, else NaN.
pub fn on_grid(points: &[(i64, f64)], start: i64, step: i64, n: usize) -> Vec<f64> {
    let mut out = vec![f64::NAN; n];
    if step <= 0 {
        return out;
    }
    let mut sorted: Vec<(i64, f64)> = points.iter().copied().filter(|(_, v)| v.is_finite()).collect();
    sorted.sort_by_key(|p| p.0);
    let mut j = 0;
    for (i, slot) in out.iter_mut().enumerate() {
        let t = start + i as i64 * step;
        while j + 1 < sorted.len() && sorted[j + 1].0 <= t {
            j += 1;
        }
        if let Some((pt, v)) = sorted.get(j) {
            if *pt <= t && t - pt < step {
                *slot = *v;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_fits_the_width_and_never_asks_for_too_many_points() {
        let q = RangeQuery::new("checkout", "us-east-1", 604_800, 0, 100);
        assert_eq!(q.points, 200, "two points a cell");
        assert_eq!(q.step_secs(), 604_800 / 199);
        assert_eq!(
            RangeQuery::new("a", "b", 604_800, 0, 105).points,
            200,
            "rounded: a resize by a few cells is the same query"
        );
        assert_eq!(RangeQuery::new("a", "b", 604_800, 0, 1_000).points, MAX_POINTS);
        assert_eq!(RangeQuery::new("a", "b", 604_800, 0, 3).points, MIN_POINTS);
        // 15 minutes at 10 s a point at most: 91 points, whatever the width.
        let q = RangeQuery::new("a", "b", 900, 0, 300);
        assert_eq!(q.points, 91);
        assert_eq!(q.step_secs(), 10);
        assert_eq!(q.refresh_secs(), 10);
        assert_eq!(RangeQuery::new("a", "b", 604_800, WEEK_SECS, 100).label(), "7d a week earlier");
    }

    #[test]
    fn points_land_on_the_grid_and_gaps_stay_gaps() {
        let pts = [(100, 1.0), (160, 2.0), (400, 5.0), (130, f64::NAN)];
        let g = on_grid(&pts, 100, 60, 6);
        assert_eq!(g[0], 1.0);
        assert_eq!(g[1], 2.0);
        assert!(g[2].is_nan() && g[3].is_nan(), "no point within a step: a gap, not the last value: {g:?}");
        assert!(g[4].is_nan(), "400 is after 340: {g:?}");
        assert_eq!(g[5], 5.0);
        assert!(on_grid(&pts, 0, 0, 3).iter().all(|v| v.is_nan()));
    }
}
