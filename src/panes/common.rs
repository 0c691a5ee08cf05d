//! Helpers shared by panes: ages, badges, number formats, status mapping.

use chrono::{DateTime, Utc};
use ratatui::style::Style;
use warroom_ui::{Level, Theme};

use crate::model::{Feed, RegionStatus};

/// "4s", "3m", "2h05m", "3d".
/// A drill-down's target that the snapshot does not have: one line, and
/// the way back.
pub fn not_reported(
    what: &str,
    name: &str,
    theme: &Theme,
    area: ratatui::layout::Rect,
    buf: &mut ratatui::buffer::Buffer,
) {
    let text = format!("{what} {name} is not reported (Esc to go back)");
    warroom_ui::put(buf, area.x, area.y, text, area.width as usize, theme.warn);
}

pub fn fmt_age(secs: f64) -> String {
    let s = secs.max(0.0).round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        _ => format!("{}d", s / 86_400),
    }
}

/// Hours as "50h", "5d", "35m".
pub fn fmt_hours(h: f64) -> String {
    if !h.is_finite() {
        return "—".into();
    }
    if h < 1.0 {
        format!("{}m", (h * 60.0).round() as u64)
    } else if h < 72.0 {
        format!("{}h", h.round() as u64)
    } else {
        format!("{}d", (h / 24.0).round() as u64)
    }
}

/// Milliseconds with sensible precision.
pub fn fmt_ms(ms: f64) -> String {
    if !ms.is_finite() {
        "—".into()
    } else if ms < 10.0 {
        format!("{ms:.1}")
    } else {
        format!("{ms:.0}")
    }
}

pub fn fmt_rps(rps: f64) -> String {
    if rps >= 10_000.0 {
        format!("{:.0}k", rps / 1000.0)
    } else if rps >= 1000.0 {
        format!("{:.1}k", rps / 1000.0)
    } else {
        format!("{rps:.0}")
    }
}

pub fn region_level(s: RegionStatus) -> Level {
    match s {
        RegionStatus::Ok => Level::Ok,
        RegionStatus::Degraded => Level::Warn,
        RegionStatus::Down => Level::Critical,
        RegionStatus::Unknown => Level::Unknown,
    }
}

/// Short region code: "us-east-1" → "use1", "ap-southeast-1" → "apse1".
pub fn short_region(name: &str) -> String {
    let mut parts = name.split('-');
    let (Some(a), Some(mid), Some(n), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return name.chars().take(6).collect();
    };
    let mut out = String::with_capacity(8);
    out.push_str(a);
    let mut rest = mid;
    // Compass words shrink to their initials: southeast → se, central → c.
    for (word, short) in [("north", 'n'), ("south", 's'), ("east", 'e'), ("west", 'w'), ("central", 'c')] {
        if let Some(r) = rest.strip_prefix(word) {
            out.push(short);
            rest = r;
        }
    }
    out.push_str(rest);
    out.push_str(n);
    out
}

/// Draw a row in the stale style when its data is stale.
pub fn mark_stale(row: &mut [warroom_ui::Cell], stale: bool, theme: &Theme) {
    if stale {
        for c in row {
            c.style = theme.stale;
        }
    }
}

/// What a pane with no rows says: the healthy empty text only when the
/// source answered and is fresh; otherwise why nothing is known.
pub fn feed_empty<T>(feed: &Feed<T>, now: DateTime<Utc>, healthy: &str) -> String {
    use crate::model::FeedState;
    let age = feed.age(now).map(fmt_age);
    match (feed.state(now), age) {
        (FeedState::NotConfigured, _) => feed.not_configured.clone().unwrap_or_else(|| "not configured".into()),
        (FeedState::Failing, None) => "nothing known: the source has not answered".into(),
        (FeedState::Failing, Some(a)) => format!("{healthy} when last read {a} ago; the source is failing now"),
        (FeedState::Stale, Some(a)) => format!("{healthy} when last read {a} ago"),
        (FeedState::Waiting, _) | (FeedState::Stale, None) => "waiting for the first answer…".into(),
        (FeedState::Fresh, _) => healthy.to_string(),
    }
}

/// The level a roll-up is drawn in.
pub fn overall_level(o: crate::model::rollup::Overall) -> Level {
    use crate::model::rollup::Overall;
    match o {
        Overall::Critical | Overall::SourcesFailing => Level::Critical,
        Overall::Degraded => Level::Warn,
        Overall::Stale => Level::Stale,
        Overall::Unknown | Overall::NoData => Level::Unknown,
        Overall::Ok => Level::Ok,
    }
}

/// `feed_empty`, but a filter that hides every row says so.
pub fn pane_empty<T>(view: &super::Ctx<'_>, feed: &Feed<T>, now: DateTime<Utc>, healthy: &str) -> String {
    match view.filter {
        Some(f) if !feed.items().is_empty() => format!("nothing matches /{f} (Esc clears the filter)"),
        _ => feed_empty(feed, now, healthy),
    }
}

/// Badge for a pane's top border: age, or STALE with age, or the error.
pub fn feed_badge<T>(feed: &Feed<T>, now: DateTime<Utc>, theme: &Theme) -> (String, Style) {
    if feed.not_configured.is_some() {
        return ("not configured".into(), theme.muted);
    }
    let age = feed.age(now);
    let g = |l: Level| l.glyph(theme.ascii);
    match (&feed.error, feed.is_stale(now), age) {
        (Some(_), true, Some(a)) => {
            (format!("{} STALE {} · {} ERROR", g(Level::Stale), fmt_age(a), g(Level::Critical)), theme.critical)
        }
        (Some(_), _, None) => (format!("{} ERROR · no data", g(Level::Critical)), theme.critical),
        (Some(_), false, Some(a)) => (format!("{} ERROR · {}", g(Level::Critical), fmt_age(a)), theme.critical),
        (None, true, Some(a)) => (format!("{} STALE {}", g(Level::Stale), fmt_age(a)), theme.stale),
        (None, _, Some(a)) => (fmt_age(a), theme.muted),
        (None, _, None) => ("waiting…".into(), theme.muted),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(fmt_age(4.4), "4s");
        assert_eq!(fmt_age(125.0), "2m");
        assert_eq!(fmt_age(3600.0 * 2.0 + 300.0), "2h05m");
        assert_eq!(fmt_hours(50.2), "50h");
        assert_eq!(fmt_hours(0.5), "30m");
        assert_eq!(fmt_hours(120.0), "5d");
        assert_eq!(fmt_ms(4.25), "4.2");
        assert_eq!(fmt_ms(f64::NAN), "—");
        assert_eq!(short_region("us-east-1"), "use1");
        assert_eq!(short_region("ap-southeast-1"), "apse1");
        assert_eq!(short_region("eu-central-1"), "euc1");
        assert_eq!(fmt_rps(12_345.0), "12k");
    }
}
