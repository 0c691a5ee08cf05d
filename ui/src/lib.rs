#![forbid(unsafe_code)]
//! warroom-ui: widgets and the theme model.
//!
//! This crate knows nothing of backends, tokio or the operations domain: it
//! draws what it is given. Every widget is a pure `render(&self, area, buf)`.

mod bigtext;
mod chart;
mod depth;
mod links;
mod panel;
mod status;
mod table;
mod text;
mod theme;

pub use bigtext::{big_height, big_width, BigText};
pub use chart::{Line as ChartLine, SeriesChart};
pub use depth::{downgrade, map_color, ColorDepth};
pub use links::{link, safe_url, take_links, Link};
pub use panel::{centered, Panel, TextBox};
pub use status::{Badge, Level};
pub use table::{Align, Cell, Column, LazyRows, Rows, TableGeometry, TableView};
pub use text::{bar, ellipsize, fit_line, join_fit, put, sparkline, KeyBar};
pub use theme::Theme;

/// A count of things (rows, regions, characters) as a number of cells:
/// saturating, never wrapping (65,536 regions once became 0 and a divisor).
pub fn cells(n: usize) -> u16 {
    n.min(u16::MAX as usize) as u16
}
