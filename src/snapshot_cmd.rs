//! `warroom snapshot`: one rendered frame as plain text, for tests, status
//! pages and chat. With no `--api`, it runs the simulator in-process with
//! its clock frozen at `--at`, so the same arguments print the same frame.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;

use crate::app::view::{Screen, ViewState};
use crate::dataplane::{fetch_once, Intervals};
use crate::keymap::DEFAULT_KEYMAP;
use crate::sources::Clock;

#[derive(Debug, Clone)]
pub struct SnapshotArgs {
    pub view: String,
    pub width: u16,
    pub height: u16,
    pub seed: u64,
    pub scenario: warroom_sim::Scenario,
    pub at_secs: f64,
    /// Unix seconds of scenario time 0; `None` means `--at` ago.
    pub start_unix: Option<f64>,
    pub regions: usize,
    pub services: usize,
    pub api: Option<String>,
    /// A configuration file: render the configured fleet (every source
    /// fetched once) instead of the demo.
    pub config: Option<std::path::PathBuf>,
    /// A runbook (name, then key=value parameters) started at the frame's
    /// time and shown beside the view; its run is kept in a scratch
    /// directory, not the state directory.
    pub runbook: Option<Vec<String>>,
}

/// Parse "120x40" (also "120×40").
pub fn parse_size(s: &str) -> Result<(u16, u16), String> {
    let (w, h) =
        s.split_once(['x', 'X', '×']).ok_or_else(|| format!("bad size '{s}': expected WIDTHxHEIGHT, e.g. 120x40"))?;
    let w: u16 = w.trim().parse().map_err(|_| format!("bad width in '{s}'"))?;
    let h: u16 = h.trim().parse().map_err(|_| format!("bad height in '{s}'"))?;
    if w == 0 || h == 0 || w > 1000 || h > 500 {
        return Err(format!("size '{s}' out of range (1x1 to 1000x500)"));
    }
    Ok((w, h))
}

/// Parse "90s", "10m", "2h", "1d" or plain seconds.
pub fn parse_duration(s: &str) -> Result<f64, String> {
    crate::duration::parse(s).map(|d| d.as_secs_f64())
}

/// The screen a view name selects: `overview`, `region:NAME`, `slo:NAME`
/// (and `wall`, handled by `frame`).
pub fn screen_for(view: &str) -> Result<Screen, String> {
    match view.split_once(':') {
        None if view == "overview" => Ok(Screen::Overview),
        Some(("region", name)) if !name.is_empty() => Ok(Screen::Region(name.to_string())),
        Some(("slo", name)) if !name.is_empty() => Ok(Screen::Slo(name.to_string())),
        Some(("service", name)) if !name.is_empty() => Ok(Screen::Service(name.to_string())),
        Some(("deployment", id)) if !id.is_empty() => Ok(Screen::Deployment(id.to_string())),
        _ => Err(format!(
            "unknown view '{view}': expected 'overview', 'region:NAME', 'service:NAME', 'deployment:ID' or 'slo:NAME'"
        )),
    }
}

/// Text of a buffer, one line per row, trailing spaces trimmed.
pub fn buffer_to_text(buf: &Buffer) -> String {
    let mut out = String::new();
    for y in 0..buf.area.height {
        let mut line = String::new();
        for x in 0..buf.area.width {
            line.push_str(buf[(x, y)].symbol());
        }
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Render a snapshot into a buffer of the given size.
pub fn render_to_buffer(
    snap: &crate::model::Snapshot,
    view: &ViewState,
    now: DateTime<Utc>,
    theme: &warroom_ui::Theme,
    w: u16,
    h: u16,
) -> Buffer {
    let mut buf = Buffer::empty(Rect::new(0, 0, w, h));
    crate::render::render(snap, view, DEFAULT_KEYMAP, now, theme, buf.area, &mut buf);
    buf
}

/// Produce the frame text for `args`.
pub async fn run(args: &SnapshotArgs, theme: &warroom_ui::Theme) -> Result<String, String> {
    Ok(buffer_to_text(&frame(args, theme).await?))
}

/// Produce the frame for `args` as a buffer (for text or SVG output).
pub async fn frame(args: &SnapshotArgs, theme: &warroom_ui::Theme) -> Result<Buffer, String> {
    let wall = args.view == "wall";
    let catalog = crate::views::Catalog::for_user();
    // A frame shows what an operator sees (key hints included); nothing can
    // be acted on from a snapshot.
    let mut view = ViewState {
        operator: crate::actions::Operator { name: "snapshot".into(), role: crate::actions::Role::Operator },
        ..ViewState::default()
    };
    if let Some((_, lines)) = catalog.broken.iter().find(|(n, _)| *n == args.view) {
        return Err(lines.join("\n"));
    }
    if let Some(def) = catalog.get(&args.view) {
        view.def = def;
    } else if !wall {
        view.screen = screen_for(&args.view).map_err(|e| format!("{e}, or a view: {}", catalog.names().join(", ")))?;
    }
    let (snap, now) = match (&args.api, &args.config) {
        (Some(url), _) => {
            let clock: Clock = Arc::new(Utc::now);
            (fetch_once(url, &Intervals::default(), clock).await?, Utc::now())
        }
        (None, Some(path)) => {
            let cfg = crate::config::Config::load(path).map_err(|errs| {
                let lines: Vec<String> = errs.iter().map(|e| e.to_string()).collect();
                format!("invalid configuration:\n{}", lines.join("\n"))
            })?;
            let setup = crate::wiring::setup_all(&cfg).await?;
            let clock: Clock = Arc::new(Utc::now);
            let wait = std::time::Duration::from_secs(20);
            (crate::dataplane::fetch_sources_once(setup.sources, setup.intervals, clock, wait).await?, Utc::now())
        }
        (None, None) => {
            let start = args.start_unix.unwrap_or_else(|| Utc::now().timestamp_millis() as f64 / 1000.0 - args.at_secs);
            let cfg = warroom_sim::SimConfig {
                seed: args.seed,
                scenario: args.scenario,
                regions: args.regions,
                services: args.services,
                time_scale: 0.0,
                start_unix: Some(start),
                at_secs: args.at_secs,
            };
            let sim = warroom_sim::start(cfg, ([127, 0, 0, 1], 0).into())
                .await
                .map_err(|e| format!("cannot start the simulator on 127.0.0.1: {e}"))?;
            let now =
                DateTime::from_timestamp_millis(((start + args.at_secs) * 1000.0) as i64).unwrap_or_else(Utc::now);
            let clock: Clock = Arc::new(move || now);
            let snap = fetch_once(&sim.url(), &Intervals::default(), clock).await;
            sim.shutdown().await;
            view.demo = Some(format!("{} seed {}", args.scenario, args.seed));
            (snap?, now)
        }
    };
    if wall {
        let mut state =
            crate::wall::WallState::new(vec![crate::wall::WallView::Summary], std::time::Duration::from_secs(20), now);
        state.observe(&snap, now);
        let mut buf = Buffer::empty(Rect::new(0, 0, args.width, args.height));
        crate::wall::render(&snap, &state, now, theme, buf.area, &mut buf);
        return Ok(buf);
    }
    let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_nanos()).unwrap_or(0);
    let scratch = std::env::temp_dir().join(format!("warroom-snapshot-{}-{nanos}", std::process::id()));
    if let Some(rb) = &args.runbook {
        view.runs_dir = Some(scratch.clone());
        let words: Vec<&str> = rb.iter().map(String::as_str).collect();
        let started = view.start_runbook(&words, &snap, now);
        view.observe(&snap, now);
        view.message = None;
        let _ = std::fs::remove_dir_all(&scratch);
        started?;
    }
    Ok(render_to_buffer(&snap, &view, now, theme, args.width, args.height))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_sizes_durations_views() {
        assert_eq!(parse_size("120x40"), Ok((120, 40)));
        assert!(parse_size("0x5").is_err());
        assert!(parse_size("wide").is_err());
        assert_eq!(parse_duration("10m"), Ok(600.0));
        assert_eq!(parse_duration("90"), Ok(90.0));
        assert_eq!(parse_duration("1.5h"), Ok(5400.0));
        assert!(parse_duration("5y").is_err());
        // A number a Duration cannot hold is an error, never a panic (#14.11).
        assert!(parse_duration("99999999999999999999999").is_err());
        assert!(parse_duration("400d").is_err());
        assert_eq!(screen_for("region:us-east-1"), Ok(Screen::Region("us-east-1".into())));
        assert!(screen_for("nope").is_err());
    }
}
