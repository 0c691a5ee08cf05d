//! Error-budget and burn-rate arithmetic (Google SRE Workbook, "Alerting on
//! SLOs"). Every function returns `None` rather than NaN when there is no data.

use super::Counts;

/// Windows the console asks every metrics source for, shortest first.
pub const WINDOWS: [(&str, f64); 8] = [
    ("5m", 300.0),
    ("30m", 1800.0),
    ("1h", 3600.0),
    ("2h", 7200.0),
    ("6h", 21_600.0),
    ("1d", 86_400.0),
    ("3d", 259_200.0),
    ("30d", 2_592_000.0),
];

/// Fewer events than this in a window is "insufficient data", not a ratio.
pub const MIN_EVENTS: f64 = 1.0;

/// Fewer events than this in a burn-rate window is too little traffic to
/// judge a burn rate (one error in ten requests is not an outage).
pub const LOW_TRAFFIC_EVENTS: f64 = 100.0;

/// Counts windows every metrics source is asked for: the burn-rate windows
/// plus the SLO periods (7, 28 and 30 days rolling, month to date).
pub const COUNT_WINDOWS: [&str; 11] = ["5m", "30m", "1h", "2h", "6h", "1d", "3d", "7d", "28d", "30d", "mtd"];

/// Error ratio over a window, if it has events.
pub fn error_ratio(c: Counts) -> Option<f64> {
    (c.total >= MIN_EVENTS && c.good.is_finite()).then(|| ((c.total - c.good) / c.total).clamp(0.0, 1.0))
}

/// Burn rate: error ratio divided by the error budget (1 − objective).
pub fn burn_rate(c: Counts, objective_pct: f64) -> Option<f64> {
    let budget = 1.0 - objective_pct / 100.0;
    if budget <= 0.0 {
        return None;
    }
    error_ratio(c).map(|e| e / budget)
}

/// Share of the period's budget left (1.0 = untouched; negative = overspent).
pub fn budget_remaining(period: Counts, objective_pct: f64) -> Option<f64> {
    burn_rate(period, objective_pct).map(|b| 1.0 - b)
}

/// Burn-rate factor that consumes `budget_share` of a `period_h` budget in
/// `long_window_h` (Workbook: 2% of 30 d in 1 h → 14.4).
pub fn alert_factor(budget_share: f64, period_h: f64, long_window_h: f64) -> f64 {
    budget_share * period_h / long_window_h
}

/// Share of a period's budget that `hours` at burn `b` consumes.
pub fn budget_consumed(b: f64, hours: f64, period_h: f64) -> f64 {
    if period_h > 0.0 {
        b * hours / period_h
    } else {
        0.0
    }
}

/// Hours until the remaining budget is gone at the current burn.
pub fn hours_to_exhaustion(remaining: f64, burn: f64, period_h: f64) -> Option<f64> {
    (remaining > 0.0 && burn > 0.0).then(|| remaining * period_h / burn)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AlertState {
    Ok,
    NoData,
    /// Budget left below the SLO's low-budget threshold (default 10%).
    Low,
    Ticket,
    Page,
    /// Budget at or below zero: overspent, whatever the burn now.
    Exhausted,
}

/// Default share of budget below which an SLO is at least LOW.
pub const LOW_BUDGET: f64 = 0.10;

/// The burn-rate state made to agree with the budget: at or below zero is
/// EXHAUSTED, below `low` at least LOW.
pub fn with_budget(burn_state: AlertState, remaining: Option<f64>, low: f64) -> AlertState {
    match remaining {
        Some(r) if r <= 0.0 => AlertState::Exhausted,
        Some(r) if r < low && burn_state < AlertState::Low => AlertState::Low,
        _ => burn_state,
    }
}

/// Multiwindow, multi-burn-rate policy for a `period_h` SLO period. `burn`
/// looks up the burn rate of a window by name.
pub fn alert_state(burn: impl Fn(&str) -> Option<f64>, period_h: f64) -> AlertState {
    let both = |long: &str, long_h: f64, short: &str, share: f64| -> Option<bool> {
        let f = alert_factor(share, period_h, long_h);
        Some(burn(long)? > f && burn(short)? > f)
    };
    let page = [both("1h", 1.0, "5m", 0.02), both("6h", 6.0, "30m", 0.05)];
    let ticket = [both("1d", 24.0, "2h", 0.10), both("3d", 72.0, "6h", 0.10)];
    if page.contains(&Some(true)) {
        AlertState::Page
    } else if ticket.contains(&Some(true)) {
        AlertState::Ticket
    } else if page.iter().chain(ticket.iter()).all(Option::is_none) {
        AlertState::NoData
    } else {
        AlertState::Ok
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(good: f64, total: f64) -> Counts {
        Counts { good, total }
    }

    #[test]
    fn workbook_numbers() {
        // 99.9% over 30 days allows 43.2 minutes of full outage: at burn 1
        // the budget lasts the window; a full outage (burn 1000) lasts 43.2 min.
        assert_eq!(hours_to_exhaustion(1.0, 1000.0, 720.0).map(|h| (h * 60.0 * 10.0).round() / 10.0), Some(43.2));
        // 2% of a 30-day budget in one hour is a burn of 14.4; 5% in 6 h is 6.
        assert!((alert_factor(0.02, 720.0, 1.0) - 14.4).abs() < 1e-9);
        assert!((alert_factor(0.05, 720.0, 6.0) - 6.0).abs() < 1e-9);
        assert!((alert_factor(0.10, 720.0, 72.0) - 1.0).abs() < 1e-9);
        // Burn 14.4 exhausts a full 30-day budget in 50 hours.
        assert_eq!(hours_to_exhaustion(1.0, 14.4, 720.0).map(|h| h.round()), Some(50.0));
        // Burn 1 exhausts exactly at the end of the window.
        assert_eq!(hours_to_exhaustion(1.0, 1.0, 720.0), Some(720.0));
        // One hour at 14.4 consumes 2% of a 30-day budget; six hours at 6, 5%.
        assert!((budget_consumed(14.4, 1.0, 720.0) - 0.02).abs() < 1e-12);
        assert!((budget_consumed(6.0, 6.0, 720.0) - 0.05).abs() < 1e-12);
        // The factors follow the period: a 28-day window pages at 13.44.
        assert!((alert_factor(0.02, 672.0, 1.0) - 13.44).abs() < 1e-9);
    }

    #[test]
    fn burn_and_remaining() {
        let b = burn_rate(c(999.0, 1000.0), 99.9).unwrap_or(f64::NAN);
        assert!((b - 1.0).abs() < 1e-9);
        let r = budget_remaining(c(998.0, 1000.0), 99.9).unwrap_or(f64::NAN);
        assert!((r + 1.0).abs() < 1e-9, "overspend shows as negative: {r}");
        assert_eq!(burn_rate(c(0.0, 0.0), 99.9), None);
        assert_eq!(burn_rate(c(5.0, 5.0), 100.0), None);
    }

    #[test]
    fn remaining_never_rises_as_errors_rise() {
        let mut last = f64::INFINITY;
        for bad in 0..200 {
            let r = budget_remaining(c(10_000.0 - bad as f64, 10_000.0), 99.9).unwrap_or(f64::NAN);
            assert!(r <= last);
            last = r;
        }
    }

    #[test]
    fn policy() {
        let page = |w: &str| Some(if w == "1h" || w == "5m" { 15.0 } else { 0.5 });
        assert_eq!(alert_state(page, 720.0), AlertState::Page);
        let only_long = |w: &str| Some(if w == "1h" { 20.0 } else { 0.5 });
        assert_eq!(alert_state(only_long, 720.0), AlertState::Ok);
        let ticket = |w: &str| Some(if w == "3d" || w == "6h" { 1.5 } else { 0.5 });
        assert_eq!(alert_state(ticket, 720.0), AlertState::Ticket);
        assert_eq!(alert_state(|_| None, 720.0), AlertState::NoData);
    }
}
