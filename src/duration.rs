//! The one duration syntax, for CLI flags, the configuration, runbook `for`
//! clauses and CloudWatch windows: a number and a unit — `500ms`, `10s`,
//! `5m`, `1.5h`, `1d` — or a bare number of seconds. At most 366 days (a
//! bigger number is a typo, and would not fit a `Duration`). Zero is a
//! duration; callers that need a positive one say so.

use std::time::Duration;

/// The longest duration accepted, in seconds.
pub const MAX_SECS: f64 = 366.0 * 86_400.0;

/// Parse `s`, or say why not in words for a CLI or a configuration error.
pub fn parse(s: &str) -> Result<Duration, String> {
    let s = s.trim();
    let split = s.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(s.len());
    let (num, unit) = s.split_at(split);
    let n: f64 = num.parse().map_err(|_| format!("bad duration '{s}': expected e.g. 500ms, 90s, 10m, 2h"))?;
    let mult = match unit {
        "ms" => 0.001,
        "" | "s" => 1.0,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86_400.0,
        _ => return Err(format!("bad duration unit in '{s}': use ms, s, m, h or d")),
    };
    let secs = n * mult;
    if !secs.is_finite() || secs > MAX_SECS {
        return Err(format!("duration '{s}' is out of range (at most 366d)"));
    }
    Ok(Duration::from_secs_f64(secs))
}

/// `parse`, for what must last a while (intervals, timeouts, `for`).
pub fn positive(s: &str) -> Option<Duration> {
    parse(s).ok().filter(|d| !d.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_syntax_for_every_duration() {
        assert_eq!(parse("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse("1.5h"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse("0s"), Ok(Duration::ZERO));
        assert_eq!(positive("0s"), None);
        assert_eq!(positive("2m"), Some(Duration::from_secs(120)));
        assert!(parse("5y").is_err_and(|e| e.contains("unit")));
        assert!(parse("soon").is_err());
        assert!(parse("ms").is_err(), "a unit alone is no duration");
        assert!(parse("99999999999999999999999s").is_err_and(|e| e.contains("out of range")));
        assert!(parse("367d").is_err());
        assert!(parse("-5s").is_err());
    }
}
