#![forbid(unsafe_code)]
//! warroom: a terminal operations console for multi-region services.
//!
//! Sources (tasks) → store (one task) → `Arc<Snapshot>` over a watch
//! channel → viewers, each with its own `ViewState`. See
//! `../shared/ARCHITECTURE.md` and `docs/`.

pub mod actions;
pub mod app;
pub mod audit;
pub mod checkpoint;
pub mod config;
pub mod dataplane;
pub mod duration;
pub mod history;
pub mod keymap;
pub mod links;
pub mod model;
pub mod panes;
pub mod paths;
pub mod render;
pub mod runbook;
pub mod snapshot_cmd;
pub mod sources;
pub mod ssh;
pub mod store;
pub mod svg;
pub mod themes;
pub mod viewer;
pub mod views;
pub mod wall;
pub mod wiring;

/// The default theme for this process (`NO_COLOR` gives mono).
pub fn theme_from_env() -> warroom_ui::Theme {
    themes::choose(None).unwrap_or_else(|_| warroom_ui::Theme::ansi())
}
