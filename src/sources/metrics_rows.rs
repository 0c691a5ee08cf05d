//! The control plane's compact metrics shape (`GET /v1/metrics?format=rows`,
//! docs/control-plane-api.md): names once, one array per service × region,
//! series only after the instant the console already holds, and the coarse
//! windows (1 d … 30 d, month to date, the days) for one shard of the
//! services per poll. This module keeps what earlier answers said and
//! merges each answer into whole `Traffic` records, so the store sees the
//! same records as from the old shape.

use std::collections::{HashMap, VecDeque};

use serde::Deserialize;

use crate::model::{self, Counts};
use crate::sources::FeedError;

/// Rows per shard of coarse windows: at 6 × 40 every poll carries
/// everything; at 6 × 1,000 a tenth of the services per poll.
pub const ROWS_PER_SHARD: usize = 600;
/// Most shards the console asks for (the sim refuses more than 4096).
const MAX_SHARDS: usize = 4096;
/// The fine windows (`COUNT_WINDOWS`' first five: 5m … 6h), in every row.
pub const FINE_WINDOWS: usize = 5;

/// What the console holds between polls.
#[derive(Default)]
pub struct RowsCache {
    /// The server answered the old shape: keep reading it.
    pub legacy: bool,
    /// Shards of the coarse windows, and the one to ask for next.
    pub shards: usize,
    pub next: usize,
    /// The newest series instant held (unix seconds) and the step.
    series_end: Option<(f64, f64)>,
    cells: HashMap<(String, String), Cell>,
}

#[derive(Default, Clone)]
struct Cell {
    /// Coarse windows' counts (and latency counts), as last given.
    coarse: Vec<(std::sync::Arc<str>, Counts, Counts)>,
    daily: std::sync::Arc<Vec<Counts>>,
    latency_daily: std::sync::Arc<Vec<Counts>>,
    /// Step-aligned series points, oldest first: p50, p95, p99, errors.
    series: [VecDeque<f64>; 4],
}

impl RowsCache {
    /// The query string for the next poll (after `/v1/metrics?`).
    pub fn query(&self, windows: &[&str], points: usize) -> String {
        let mut q = format!("windows={}&points={points}&step=60s&days=30", windows.join(","));
        if self.legacy {
            return q;
        }
        let shards = self.shards.max(1);
        q.push_str(&format!("&format=rows&fine={FINE_WINDOWS}&shard={}/{shards}", self.next % shards));
        if let Some((end, _)) = self.series_end {
            q.push_str(&format!("&since={end}"));
        }
        q
    }

    /// A poll that failed while asking for the coarse windows of many
    /// services (the first poll asks for all): ask for fewer next time.
    pub fn failed(&mut self, e: &FeedError) {
        if matches!(e, FeedError::Timeout | FeedError::TooLarge(_)) && !self.legacy {
            self.shards = (self.shards.max(1) * 8).min(MAX_SHARDS);
        }
    }
}

/// The answer, its rows as `R`: `RowWire` when every row is well formed
/// (read straight into numbers), `serde_json::Value` to find and name the
/// bad ones when not.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RowsWire<R> {
    #[serde(default)]
    observed_at: Option<String>,
    #[serde(default)]
    history_seconds: Option<f64>,
    services: Vec<String>,
    regions: Vec<String>,
    windows: Vec<String>,
    fine: usize,
    shard: (usize, usize),
    days: usize,
    series: SeriesHead,
    rows: Vec<R>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SeriesHead {
    step_seconds: f64,
    end: f64,
    since: Option<f64>,
    points: usize,
}

/// One row: service, region, rps, errorRatio, p50, p95, p99, counts,
/// latency counts, series [p50, p95, p99, errors], daily, latency daily.
type RowWire = (usize, usize, f64, f64, f64, f64, f64, Vec<f64>, Vec<f64>, [Vec<f64>; 4], Vec<f64>, Vec<f64>);

/// `good, total` pairs, sanitised as the old shape's counts are.
fn pairs(v: &[f64]) -> Vec<Counts> {
    v.chunks_exact(2)
        .map(|p| {
            let total = super::control_plane::sane(p[1]);
            Counts { good: super::control_plane::sane(p[0]).min(total), total }
        })
        .collect()
}

/// Whether a body is the rows shape (otherwise the old one).
pub fn is_rows(body: &[u8]) -> bool {
    // The sim writes `format` first; any server may put it anywhere, so
    // look at the top-level object's keys when the prefix does not say.
    let head = &body[..body.len().min(64)];
    if head.windows(15).any(|w| w == b"\"format\":\"rows\"") {
        return true;
    }
    #[derive(Deserialize)]
    struct Probe {
        format: Option<String>,
    }
    serde_json::from_slice::<Probe>(body).ok().and_then(|p| p.format).as_deref() == Some("rows")
}

/// A merged answer: whole records, the source's time (`observedAt`), and
/// the rows dropped (named).
pub type Merged = (Vec<model::Traffic>, Option<String>, Option<String>);

/// Merge a rows answer into the cache.
pub fn merge(cache: &mut RowsCache, body: &[u8], points: usize) -> Result<Merged, FeedError> {
    let w = match serde_json::from_slice::<RowsWire<RowWire>>(body) {
        Ok(fast) => fast.map_rows(Ok),
        Err(_) => serde_json::from_slice::<RowsWire<serde_json::Value>>(body)
            .map_err(|e| FeedError::Decode(e.to_string()))?
            .map_rows(|v| serde_json::from_value::<RowWire>(v).map_err(|e| e.to_string())),
    };
    merge_rows(cache, w, points)
}

impl<R> RowsWire<R> {
    /// The same answer with each row turned into `S`.
    fn map_rows<S>(self, f: impl FnMut(R) -> S) -> RowsWire<S> {
        let RowsWire { observed_at, history_seconds, services, regions, windows, fine, shard, days, series, rows } =
            self;
        let rows = rows.into_iter().map(f).collect();
        RowsWire { observed_at, history_seconds, services, regions, windows, fine, shard, days, series, rows }
    }
}

/// Merge decoded rows (each a row or why it is not one).
fn merge_rows(cache: &mut RowsCache, w: RowsWire<Result<RowWire, String>>, points: usize) -> Result<Merged, FeedError> {
    let (k, n) = w.shard;
    let names: Vec<std::sync::Arc<str>> = w.windows.iter().map(|x| model::window(x)).collect();
    if n == 0 || k >= n || w.fine > w.windows.len() {
        return Err(FeedError::Decode(format!(
            "bad rows header: shard {k}/{n}, fine {} of {}",
            w.fine,
            w.windows.len()
        )));
    }
    let step = w.series.step_seconds;
    if !(step.is_finite() && step > 0.0 && w.series.end.is_finite()) {
        return Err(FeedError::Decode("bad rows header: series stepSeconds or end".into()));
    }
    // Appended to what is held only if it continues it exactly.
    let continues =
        w.series.since.is_some() && cache.series_end.is_some_and(|(e, s)| Some(e) == w.series.since && s == step);
    let keep = points.saturating_sub(1);
    let mut bad = Vec::new();
    let mut out = Vec::with_capacity(w.rows.len());
    let mut cells = HashMap::with_capacity(w.rows.len());
    for (i, v) in w.rows.into_iter().enumerate() {
        let row = match v {
            Ok(r) => r,
            Err(e) => {
                bad.push(format!("row {i}: {e}"));
                continue;
            }
        };
        let (s, r, rps, err, p50, p95, p99, counts, latency, series, daily, latency_daily) = row;
        let (Some(service), Some(region)) = (w.services.get(s), w.regions.get(r)) else {
            bad.push(format!("row {i}: service {s} or region {r} is not in the lists"));
            continue;
        };
        let coarse = s % n == k;
        let given = if coarse { w.windows.len() } else { w.fine };
        let days_ok =
            if coarse { daily.len() == 2 * w.days && latency_daily.len() == 2 * w.days } else { daily.is_empty() };
        if counts.len() != 2 * given || latency.len() != 2 * given || !days_ok {
            bad.push(format!("row {i}: {} counts for {given} windows", counts.len() / 2));
            continue;
        }
        if series.iter().any(|x| x.len() != w.series.points) {
            bad.push(format!("row {i}: series of other than {} points", w.series.points));
            continue;
        }
        let key = (service.clone(), region.clone());
        let mut cell = cache.cells.remove(&key).unwrap_or_default();
        let (c, l) = (pairs(&counts), pairs(&latency));
        if coarse {
            cell.coarse = (w.fine..given).map(|j| (names[j].clone(), c[j], l[j])).collect();
            cell.daily = std::sync::Arc::new(pairs(&daily));
            cell.latency_daily = std::sync::Arc::new(pairs(&latency_daily));
        }
        for (held, new) in cell.series.iter_mut().zip(series) {
            if !continues {
                held.clear();
            }
            held.extend(new.into_iter().map(|x| if x.is_finite() && x >= 0.0 { x } else { f64::NAN }));
            while held.len() > keep {
                held.pop_front();
            }
        }
        let sane = super::control_plane::sane;
        let mut t = model::Traffic {
            service: service.clone(),
            region: region.clone(),
            rps: sane(rps),
            error_ratio: sane(err).min(1.0),
            p50_ms: sane(p50),
            p95_ms: sane(p95),
            p99_ms: sane(p99),
            series_step: step,
            history_s: w.history_seconds.filter(|h| h.is_finite() && *h >= 0.0),
            daily: cell.daily.clone(),
            latency_daily: cell.latency_daily.clone(),
            ..Default::default()
        };
        for j in 0..w.fine {
            t.counts.insert(names[j].clone(), c[j]);
            t.latency_counts.insert(names[j].clone(), l[j]);
        }
        for (name, c, l) in &cell.coarse {
            t.counts.insert(name.clone(), *c);
            t.latency_counts.insert(name.clone(), *l);
        }
        // The step-aligned history, then the value now (as the old shape's
        // series, whose last point is the instantaneous one).
        let now = [t.p50_ms, t.p95_ms, t.p99_ms, t.error_ratio];
        let [a, b, c3, d] = &cell.series;
        let with_now = |h: &VecDeque<f64>, x: f64| h.iter().copied().chain(std::iter::once(x)).collect::<Vec<f64>>();
        t.p50_series = with_now(a, now[0]);
        t.p95_series = with_now(b, now[1]);
        t.p99_series = with_now(c3, now[2]);
        t.error_series = with_now(d, now[3]);
        cells.insert(key, cell);
        out.push(t);
    }
    cache.cells = cells;
    cache.series_end = Some((w.series.end, step));
    cache.shards = out.len().div_ceil(ROWS_PER_SHARD).clamp(1, MAX_SHARDS);
    cache.next = (k + 1) % cache.shards;
    let error = (!bad.is_empty()).then(|| {
        let shown: Vec<&str> = bad.iter().take(3).map(String::as_str).collect();
        let more = if bad.len() > 3 { format!(" (+{} more)", bad.len() - 3) } else { String::new() };
        format!("{} bad metrics row(s) dropped: {}{more}", bad.len(), shown.join("; "))
    });
    Ok((out, w.observed_at, error))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rows answer: two services × one region, windows 5m and 30d (one
    /// fine), one day, `pts` series points after `since`, ending at `end`.
    fn body(shard: (usize, usize), since: Option<f64>, end: f64, pts: &[f64], rps: f64) -> Vec<u8> {
        let series = format!("[{0:?},{0:?},{0:?},{1:?}]", pts, vec![0.0; pts.len()]);
        let row = |s: usize| {
            let coarse = s % shard.1 == shard.0;
            let counts = if coarse { "[99,100,990,1000]" } else { "[99,100]" };
            let daily = if coarse { "[990,1000]" } else { "[]" };
            format!("[{s},0,{rps},0.01,10,20,30,{counts},{counts},{series},{daily},{daily}]")
        };
        let since = since.map(|s| s.to_string()).unwrap_or_else(|| "null".into());
        format!(
            r#"{{"format":"rows","observedAt":"2026-12-03T10:00:00Z","services":["a","b"],"regions":["r"],
            "windows":["5m","30d"],"fine":1,"shard":[{},{}],"days":1,
            "series":{{"stepSeconds":60,"end":{end},"since":{since},"points":{}}},"rows":[{},{}]}}"#,
            shard.0,
            shard.1,
            pts.len(),
            row(0),
            row(1)
        )
        .into_bytes()
    }

    #[test]
    fn series_continue_from_the_cursor_and_a_gap_replaces_them() {
        let mut cache = RowsCache::default();
        assert!(is_rows(&body((0, 1), None, 600.0, &[1.0, 2.0], 5.0)));
        let (t, at, e) = merge(&mut cache, &body((0, 1), None, 600.0, &[1.0, 2.0, 3.0], 5.0), 4).unwrap();
        assert_eq!((at.as_deref(), e), (Some("2026-12-03T10:00:00Z"), None));
        // Three points held (points − 1), then the value now.
        assert_eq!(t[0].p99_series, vec![1.0, 2.0, 3.0, 30.0]);
        assert!(cache.query(&["5m", "30d"], 4).ends_with("&since=600"), "{}", cache.query(&["5m", "30d"], 4));
        // One new instant continues the series; the oldest falls off.
        let (t, _, _) = merge(&mut cache, &body((0, 1), Some(600.0), 660.0, &[4.0], 5.0), 4).unwrap();
        assert_eq!(t[1].p99_series, vec![2.0, 3.0, 4.0, 30.0]);
        // An answer that does not continue what is held replaces it.
        let (t, _, _) = merge(&mut cache, &body((0, 1), Some(700.0), 760.0, &[9.0], 5.0), 4).unwrap();
        assert_eq!(t[0].p99_series, vec![9.0, 30.0]);
    }

    #[test]
    fn coarse_windows_are_kept_from_the_last_shard_that_carried_them() {
        let mut cache = RowsCache::default();
        let (t, _, _) = merge(&mut cache, &body((0, 1), None, 600.0, &[], 5.0), 2).unwrap();
        assert_eq!(t[1].counts["30d"].total, 1000.0);
        // Service b (index 1) is not in shard 0 of 2: its 30d is as before.
        let (t, _, _) = merge(&mut cache, &body((0, 2), Some(600.0), 600.0, &[], 7.0), 2).unwrap();
        assert_eq!((t[1].rps, t[1].counts["30d"].total, t[1].daily.len()), (7.0, 1000.0, 1));
        assert_eq!(t[1].counts["5m"].total, 100.0);
        // A service never in a shard yet has no coarse windows, not zeros.
        let mut fresh = RowsCache::default();
        let (t, _, _) = merge(&mut fresh, &body((0, 2), None, 600.0, &[], 7.0), 2).unwrap();
        assert!(!t[1].counts.contains_key("30d") && t[1].daily.is_empty());
        assert!(t[0].counts.contains_key("30d"));
    }

    #[test]
    fn the_shard_count_follows_the_fleet_and_a_timeout_asks_for_fewer_rows() {
        let mut cache = RowsCache::default();
        assert!(cache.query(&["5m"], 60).contains("&shard=0/1"));
        cache.failed(&FeedError::Timeout);
        assert!(cache.query(&["5m"], 60).contains("&shard=0/8"));
        merge(&mut cache, &body((0, 8), None, 600.0, &[], 1.0), 2).unwrap();
        // Two rows: one shard, whatever was asked before.
        assert!(cache.query(&["5m"], 60).contains("&shard=0/1"));
        cache.legacy = true;
        assert!(!cache.query(&["5m"], 60).contains("format=rows"));
    }

    #[test]
    fn bad_rows_are_dropped_and_named_and_a_bad_header_is_an_error() {
        let mut cache = RowsCache::default();
        let good = String::from_utf8(body((0, 1), None, 600.0, &[], 1.0)).unwrap();
        let text = good.replacen("[0,0,1,", "[7,0,1,", 1);
        let (t, _, e) = merge(&mut cache, text.as_bytes(), 2).unwrap();
        assert_eq!(t.len(), 1);
        assert!(e.unwrap_or_default().contains("row 0: service 7 or region 0 is not in the lists"));
        let text = good.replacen("[99,100,990,1000]", "[99,100]", 1);
        let (t, _, e) = merge(&mut cache, text.as_bytes(), 2).unwrap();
        assert_eq!(t.len(), 1, "{e:?}");
        let text = good.replacen("[0,0,1,", "[0,0,\"x\",", 1);
        assert!(merge(&mut cache, text.as_bytes(), 2).unwrap().2.is_some());
        for bad in [r#""shard":[0,1]"#, r#""shard":[2,1]"#] {
            let text = good.replacen(r#""shard":[0,1]"#, bad.replace("[0,1]", "[0,0]").as_str(), 1);
            let text = if bad.contains("[2,1]") { good.replacen(r#""shard":[0,1]"#, bad, 1) } else { text };
            assert!(merge(&mut cache, text.as_bytes(), 2).is_err(), "{bad}");
        }
        assert!(!is_rows(br#"{"metrics":[]}"#));
        assert!(merge(&mut cache, b"{\"format\":\"rows\"", 2).is_err());
    }
}
