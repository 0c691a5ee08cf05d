//! Deployment drill-down: the steps with the current one marked, weight,
//! phase and message, canary vs baseline analysis, and the history of
//! changes this console has seen.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use warroom_ui::{Level, Panel, Theme};

use super::canaries::{phase_level, phase_word};
use super::common::{feed_badge, fmt_age, fmt_ms};
use crate::model::Snapshot;

pub fn render(snap: &Snapshot, id: &str, now: DateTime<Utc>, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let f = &snap.fleet;
    let Some(d) = f.deployments.items().iter().find(|d| d.id == id) else {
        super::common::not_reported("deployment", id, theme, area, buf);
        return;
    };
    let badge = Some(feed_badge(&f.deployments, now, theme));
    let inner = Panel { title: &format!("Deployment {id}"), focused: true, badge, theme }.render(area, buf);
    let bottom = inner.y + inner.height;
    let mut y = inner.y;
    let mut put = |text: String, style, y: &mut u16| {
        if *y < bottom {
            warroom_ui::put(buf, inner.x, *y, text, inner.width as usize, style);
            *y += 1;
        }
    };
    let lv = phase_level(d.phase);
    let since = d.since.map(|s| format!(" for {}", fmt_age(snap.fleet.deployments.age_of(s, now)))).unwrap_or_default();
    put(
        format!(
            "phase {} {}{since} · weight {:.0}% · {}",
            lv.glyph(theme.ascii),
            phase_word(d.phase),
            d.weight,
            d.message
        ),
        theme.level(lv),
        &mut y,
    );
    let rev = match &d.canary_revision {
        Some(c) => format!("stable revision {} · canary revision {c}", d.stable_revision),
        None => format!("stable revision {}", d.stable_revision),
    };
    put(rev, theme.text, &mut y);
    // Steps: 10% → [25%] → 50% → 100%
    let steps: Vec<String> =
        d.steps
            .iter()
            .enumerate()
            .map(|(i, w)| {
                if i == d.step_index && d.canary_revision.is_some() {
                    format!("[{w:.0}%]")
                } else {
                    format!("{w:.0}%")
                }
            })
            .collect();
    put(
        format!(
            "steps {}   (step {}/{})",
            steps.join(" → "),
            (d.step_index + 1).min(d.step_total.max(1)),
            d.step_total
        ),
        theme.text,
        &mut y,
    );
    y += 1;
    match &d.analysis {
        None => put("analysis: none running".into(), theme.muted, &mut y),
        Some(a) => {
            let (l, word) =
                if a.passing { (Level::Ok, a.verdict.as_str()) } else { (Level::Critical, a.verdict.as_str()) };
            put(format!("analysis {} {word}", l.glyph(theme.ascii)), theme.level(l), &mut y);
            // Argo Rollouts reports a run's phase, not canary-vs-baseline figures.
            if a.canary_error_ratio.is_finite() {
                put(format!("{:<10} {:>10} {:>10}", "", "canary", "baseline"), theme.header, &mut y);
                put(
                    format!(
                        "{:<10} {:>9.3}% {:>9.3}%",
                        "errors",
                        a.canary_error_ratio * 100.0,
                        a.baseline_error_ratio * 100.0
                    ),
                    theme.text,
                    &mut y,
                );
                put(
                    format!("{:<10} {:>10} {:>10}", "p99 ms", fmt_ms(a.canary_p99_ms), fmt_ms(a.baseline_p99_ms)),
                    theme.text,
                    &mut y,
                );
            }
        }
    }
    y += 1;
    put("history (what this console has seen, newest first)".into(), theme.header, &mut y);
    let history = f.rollout_history.get(id).map(Vec::as_slice).unwrap_or(&[]);
    if history.is_empty() {
        put("  nothing yet".into(), theme.muted, &mut y);
    }
    for p in history.iter().rev() {
        let l = phase_level(p.phase);
        let verdict = p.verdict.as_deref().unwrap_or("—");
        let err = p.canary_error_ratio.map(|e| format!("{:.2}%", e * 100.0)).unwrap_or_else(|| "—".into());
        put(
            format!(
                "  {}  {} {:<12} step {} weight {:>4.0}%  analysis {verdict:<8} canary errors {err}",
                p.at.format("%H:%M:%S"),
                l.glyph(theme.ascii),
                phase_word(p.phase),
                p.step_index + 1,
                p.weight
            ),
            theme.level(l),
            &mut y,
        );
    }
}
