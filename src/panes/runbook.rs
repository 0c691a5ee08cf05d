//! The runbook pane: every step with its result, the current step's
//! instructions, its live check values turning ✔ as state changes, and
//! the keys that move it on.

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Paragraph, Widget, Wrap};
use warroom_ui::{Level, Panel, Theme};

use crate::keymap::{key_name, Binding, Command};
use crate::runbook::run::{fmt_secs, Run, RunStatus, StepResult};
use crate::runbook::StepBody;

fn result_level(r: StepResult) -> Level {
    match r {
        StepResult::Done | StepResult::Passed => Level::Ok,
        StepResult::Skipped | StepResult::TimedOut => Level::Paused,
        StepResult::Failed | StepResult::Aborted => Level::Critical,
    }
}

/// Rows the lines take when wrapped at `width`.
fn rows_of(lines: &[Line], width: u16) -> usize {
    lines.iter().map(|l| l.width().max(1).div_ceil(width.max(1) as usize)).sum()
}

/// The first key bound to a command, for hints.
fn key_for(keymap: &[Binding], c: Command) -> String {
    keymap.iter().find(|b| b.command == c).map(key_name).unwrap_or_else(|| "?".into())
}

pub fn render(run: &Run, keymap: &[Binding], now: DateTime<Utc>, theme: &Theme, area: Rect, buf: &mut Buffer) {
    let rec = &run.rec;
    let n = rec.steps.len();
    let (badge, badge_style) = match rec.status {
        RunStatus::Running => (format!("step {}/{n}", rec.current + 1), theme.info),
        RunStatus::Completed => (format!("{} COMPLETED", Level::Ok.glyph(theme.ascii)), theme.ok),
        RunStatus::Aborted => (format!("{} ABORTED", Level::Critical.glyph(theme.ascii)), theme.critical),
    };
    let title = format!("Runbook · {}", rec.title);
    let inner = Panel { title: &title, focused: true, badge: Some((badge, badge_style)), theme }.render(area, buf);
    if inner.width == 0 || inner.height == 0 {
        return;
    }
    let mut head_lines: Vec<Line> = Vec::new();
    let params: Vec<String> = rec.params.iter().map(|(k, v)| format!("{k}={v}")).collect();
    head_lines.push(Line::from(Span::styled(params.join(" · "), theme.muted)));
    if let Some(e) = &run.save_error {
        head_lines.push(Line::from(Span::styled(format!("✖ not saved: {e}"), theme.critical)));
    }
    if let Some(why) = run.read_only() {
        let glyph = Level::Info.glyph(theme.ascii);
        head_lines.push(Line::from(Span::styled(format!("{glyph} READ-ONLY · {why}"), theme.warn)));
    }
    let mut steps: Vec<Line> = Vec::new();
    for (i, s) in rec.steps.iter().enumerate() {
        let (glyph, style) = match s.result {
            Some(r) => (result_level(r).glyph(theme.ascii).to_string(), theme.level(result_level(r))),
            None if i == rec.current && rec.status == RunStatus::Running => ("▶".into(), theme.title),
            None => ("·".into(), theme.muted),
        };
        let word = s.result.map(|r| format!("  {}", r.word())).unwrap_or_default();
        let mut style = style;
        if i == rec.current && rec.status == RunStatus::Running {
            style = style.patch(theme.selection);
        }
        steps.push(Line::from(vec![
            Span::styled(format!("{glyph} {}. {}", i + 1, s.title), style),
            Span::styled(word, theme.muted),
        ]));
    }
    let head = rows_of(&head_lines, inner.width);
    let mut detail: Vec<Line> = vec![Line::from("")];
    let lines = &mut detail;
    match run.current() {
        None => {
            let took = rec.ended_at.map(|e| fmt_secs((e - rec.started_at).num_seconds() as f64)).unwrap_or_default();
            lines.push(Line::from(Span::styled(format!("Run {} ended after {took}.", rec.id), theme.text)));
            lines.push(Line::from(Span::styled(
                format!("Timeline: warroom runbook export {} --format md", rec.id),
                theme.key,
            )));
            lines.push(Line::from(Span::styled("Esc closes this pane", theme.muted)));
        }
        Some((step, srec)) => {
            lines.push(Line::from(Span::styled(
                format!("{} · {}", step.kind().to_uppercase(), step.title),
                theme.title,
            )));
            let next = match &step.body {
                StepBody::Manual { .. } => "mark done",
                StepBody::Check { .. } => "confirm",
                StepBody::Action(_) => "run (confirm dialog)",
                StepBody::Wait { .. } => "wait again",
            };
            if run.read_only().is_some() {
                lines.push(Line::from(Span::styled("watching: keys here do not change the run", theme.muted)));
            } else {
                lines.push(Line::from(vec![
                    Span::styled(key_for(keymap, Command::RunbookNext), theme.key),
                    Span::styled(format!(" {next} · "), theme.muted),
                    Span::styled(key_for(keymap, Command::RunbookSkip), theme.key),
                    Span::styled(" skip · ", theme.muted),
                    Span::styled(key_for(keymap, Command::RunbookAbort), theme.key),
                    Span::styled(" abort", theme.muted),
                ]));
            }
            match &step.body {
                StepBody::Manual { instructions } => lines.push(Line::from(instructions.clone())),
                StepBody::Check { text, .. } | StepBody::Wait { text, .. } => {
                    check_lines(run, step, srec, text, now, theme, lines)
                }
                StepBody::Action(t) => {
                    let what = t
                        .resolve(&rec.params)
                        .map(|a| a.summary())
                        .unwrap_or_else(|e| format!("cannot build the action: {e}"));
                    lines.push(Line::from(Span::styled(what, theme.key)));
                    for a in &srec.actions {
                        let lv = match a.status.as_str() {
                            "succeeded" => Level::Ok,
                            "in_flight" => Level::Info,
                            _ => Level::Critical,
                        };
                        let msg = if a.message.is_empty() { String::new() } else { format!(": {}", a.message) };
                        lines.push(Line::from(Span::styled(
                            format!("{} {}{msg}", lv.glyph(theme.ascii), a.status.replace('_', " ")),
                            theme.level(lv),
                        )));
                    }
                }
            }
            if !step.notes.is_empty() {
                lines.push(Line::from(Span::styled(step.notes.clone(), theme.muted)));
            }
            for l in &step.links {
                lines.push(Line::from(Span::styled(format!("↗ {l}"), theme.info)));
            }
        }
    }
    // When the pane is short, the current step's details matter more than
    // the whole list: keep the steps around the current one.
    let rows = |ls: &[Line]| rows_of(ls, inner.width);
    let room = (inner.height as usize).saturating_sub(head + rows(&detail));
    let steps = if rows(&steps) <= room || steps.len() <= 3 {
        steps
    } else {
        let keep = room.saturating_sub(1).max(1);
        let cur = rec.current.min(steps.len() - 1);
        let start = cur.saturating_sub(keep / 3).min(steps.len().saturating_sub(keep));
        let end = (start + keep).min(steps.len());
        let mut v: Vec<Line> = steps[start..end].to_vec();
        v.push(Line::from(Span::styled(
            format!("… {} before, {} after (of {})", start, steps.len() - end, steps.len()),
            theme.muted,
        )));
        v
    };
    let mut all = head_lines;
    all.extend(steps);
    all.extend(detail);
    Paragraph::new(all).wrap(Wrap { trim: false }).render(inner, buf);
}

/// A check or wait step: its expression, whether it holds now, for how
/// long, and (a wait) how long it has waited.
fn check_lines(
    run: &Run,
    step: &crate::runbook::Step,
    srec: &crate::runbook::run::StepRecord,
    text: &str,
    now: DateTime<Utc>,
    theme: &Theme,
    lines: &mut Vec<Line<'static>>,
) {
    lines.push(Line::from(Span::styled(text.to_string(), theme.key)));
    if let Some(ev) = &run.live {
        let (lv, word) = if run.satisfied {
            (Level::Ok, "holds")
        } else if ev.error.is_some() {
            (Level::Unknown, "no data")
        } else if ev.holds {
            (Level::Info, "holds, not long enough yet")
        } else {
            (Level::Warn, "does not hold")
        };
        lines.push(Line::from(Span::styled(format!("{} {word}", lv.glyph(theme.ascii)), theme.level(lv))));
        for v in &ev.values {
            lines.push(Line::from(Span::styled(format!("  {v}"), theme.text)));
        }
        if let Some(e) = &ev.error {
            lines.push(Line::from(Span::styled(format!("  {e}"), theme.muted)));
        }
    }
    if let Some(held) = run.held_before_step(now) {
        lines.push(Line::from(Span::styled(
            format!("  true for {} (since before this step began)", fmt_secs(held)),
            theme.info,
        )));
    }
    if let Some((held, need)) = run.hold_progress(now) {
        if need > 0.0 && srec.holding_since.is_some() && !run.satisfied {
            lines
                .push(Line::from(Span::styled(format!("  held {} of {}", fmt_secs(held), fmt_secs(need)), theme.info)));
        }
    }
    if let StepBody::Wait { timeout_secs, .. } = &step.body {
        let waited = srec.started_at.map(|s| (now - s).num_milliseconds() as f64 / 1000.0).unwrap_or(0.0);
        let line = if srec.result == Some(StepResult::Failed) {
            Span::styled(format!("✖ timed out: {}", srec.reason.clone().unwrap_or_default()), theme.critical)
        } else {
            Span::styled(
                format!("  waiting {} of {} (advances by itself)", fmt_secs(waited), fmt_secs(*timeout_secs)),
                theme.muted,
            )
        };
        lines.push(Line::from(line));
    }
}
