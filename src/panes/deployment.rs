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

/// A blue-green rollout's colours, one line each, and its clocks.
fn blue_green_lines(
    bg: &crate::model::BlueGreen,
    now: DateTime<Utc>,
    theme: &Theme,
    put: &mut dyn FnMut(String, ratatui::style::Style),
) {
    let c = |c: &crate::model::Colour| {
        let ready = c.ready.map(|(r, n)| format!(", {r}/{n} ready")).unwrap_or_default();
        let image = if c.image.is_empty() { String::new() } else { format!(" {}", c.image) };
        format!("revision {}{image}{ready}", c.revision)
    };
    let left = |at: DateTime<Utc>| fmt_age((at - now).num_seconds().max(0) as f64);
    put(format!("serving   {} ← {}", c(&bg.active), bg.active_service), theme.ok);
    match &bg.preview {
        Some(p) => put(format!("waiting   {} ← {}", c(p), bg.preview_service), theme.info),
        None => put("waiting   nothing on the preview service".into(), theme.muted),
    }
    match (&bg.previous, bg.scale_down_at) {
        (Some(p), Some(at)) => {
            put(format!("old       {} still runs for {}: b switches back", c(p), left(at)), theme.warn)
        }
        (Some(p), None) => put(
            format!(
                "old       {} still runs (at most {} after the switch): b switches back",
                c(p),
                fmt_age(bg.scale_down_secs as f64)
            ),
            theme.warn,
        ),
        (None, _) => {}
    }
    let a = |x: &Option<String>| x.clone().unwrap_or_else(|| "—".into());
    let auto = match (bg.auto_promotion, bg.promote_at) {
        (true, Some(at)) => format!("auto-promotion in {}", left(at)),
        (true, None) => "auto-promotion on".into(),
        (false, _) => "auto-promotion off: p switches".into(),
    };
    put(
        format!("analysis  pre-promotion {} · post-promotion {} · {auto}", a(&bg.pre_analysis), a(&bg.post_analysis)),
        theme.text,
    );
}

/// The revisions a rollout can be undone to, newest first.
fn revision_lines(
    d: &crate::model::Deployment,
    now: DateTime<Utc>,
    theme: &Theme,
    put: &mut dyn FnMut(String, ratatui::style::Style),
) {
    put(format!("revisions (newest first): :undo {} REVISION puts one back", d.id), theme.header);
    let template = d.canary_revision.as_deref().unwrap_or(&d.stable_revision);
    for r in &d.revisions {
        let role = match () {
            _ if r.revision == template && r.revision == d.stable_revision => "stable, the template",
            _ if r.revision == template => "the template (canary)",
            _ if r.revision == d.stable_revision => "stable",
            _ => "",
        };
        let down = r
            .scale_down_at
            .map(|at| format!(" · scaled down in {}", fmt_age((at - now).num_seconds().max(0) as f64)))
            .unwrap_or_default();
        let style = if r.replicas == 0 { theme.muted } else { theme.text };
        let pods =
            if r.replicas == 0 { "scaled to 0".to_string() } else { format!("{:>3}/{:<3} ready", r.ready, r.replicas) };
        put(format!("  {:>4}  {:<40} {pods:<13}  {role}{down}", r.revision, r.image), style);
    }
}

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
    let reason = d.pause_reason.as_ref().map(|r| format!(" ({r})")).unwrap_or_default();
    let set = d.set_weight.map(|w| format!(" (step sets {w:.0}%)")).unwrap_or_default();
    put(
        format!(
            "phase {} {}{reason}{since} · weight {:.0}%{set} · {}",
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
    if let Some(bg) = &d.blue_green {
        blue_green_lines(bg, now, theme, &mut |t, s| put(t, s, &mut y));
    }
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
    if !d.steps.is_empty() {
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
    }
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
    if !d.analysis_runs.is_empty() {
        y += 1;
        put("analysis runs (newest first): ✔ successful ✖ failed ? inconclusive".into(), theme.header, &mut y);
        for run in d.analysis_runs.iter().rev() {
            let l = match run.phase.as_str() {
                "Successful" => Level::Ok,
                "Running" | "Pending" => Level::Info,
                _ => Level::Critical,
            };
            let metrics: Vec<String> = run
                .metrics
                .iter()
                .map(|m| {
                    let why = if m.message.is_empty() { String::new() } else { format!(": {}", m.message) };
                    format!("{} {} ✔{} ✖{} ?{}{why}", m.name, m.phase, m.successful, m.failed, m.inconclusive)
                })
                .collect();
            put(
                format!("  {} {:<12} {:<24} {}", l.glyph(theme.ascii), run.phase, run.name, metrics.join(" · ")),
                theme.level(l),
                &mut y,
            );
        }
    }
    if !d.revisions.is_empty() {
        y += 1;
        revision_lines(d, now, theme, &mut |t, st| put(t, st, &mut y));
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
