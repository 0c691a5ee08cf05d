//! The theme model: semantic styles, never raw colours in widgets.
//!
//! Defaults use named ANSI colours so the user's terminal palette (light or
//! dark) applies; backgrounds stay `Reset` so transparency is kept.

use ratatui::style::{Color, Modifier, Style};

use crate::Level;

/// Semantic styles used by every widget.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    pub text: Style,
    pub muted: Style,
    pub ok: Style,
    pub warn: Style,
    pub critical: Style,
    pub stale: Style,
    pub paused: Style,
    pub info: Style,
    pub selection: Style,
    pub border: Style,
    pub border_focus: Style,
    pub title: Style,
    pub header: Style,
    pub key: Style,
    /// Use ASCII glyphs instead of Unicode symbols.
    pub ascii: bool,
}

impl Default for Theme {
    fn default() -> Self {
        Theme::ansi()
    }
}

impl Theme {
    /// Named ANSI colours: follows the terminal's own palette.
    pub fn ansi() -> Theme {
        Theme {
            name: "default".into(),
            text: Style::default(),
            muted: Style::default().fg(Color::DarkGray),
            ok: Style::default().fg(Color::Green),
            warn: Style::default().fg(Color::Yellow).add_modifier(Modifier::BOLD),
            critical: Style::default().fg(Color::Red).add_modifier(Modifier::BOLD),
            stale: Style::default().fg(Color::Magenta),
            paused: Style::default().fg(Color::Cyan),
            info: Style::default().fg(Color::Blue),
            selection: Style::default().add_modifier(Modifier::REVERSED),
            border: Style::default().fg(Color::DarkGray),
            border_focus: Style::default().fg(Color::Cyan),
            title: Style::default().add_modifier(Modifier::BOLD),
            header: Style::default().add_modifier(Modifier::BOLD),
            key: Style::default().fg(Color::Cyan).add_modifier(Modifier::BOLD),
            ascii: false,
        }
    }

    /// No colour at all (NO_COLOR): meaning is carried by glyphs, words and
    /// bold/reverse only.
    pub fn mono() -> Theme {
        let plain = Style::default();
        let bold = Style::default().add_modifier(Modifier::BOLD);
        Theme {
            name: "mono".into(),
            text: plain,
            muted: plain,
            ok: plain,
            warn: bold,
            critical: bold.add_modifier(Modifier::UNDERLINED),
            stale: plain.add_modifier(Modifier::DIM),
            paused: plain,
            info: plain,
            selection: plain.add_modifier(Modifier::REVERSED),
            border: plain,
            border_focus: bold,
            title: bold,
            header: bold,
            key: bold,
            ascii: false,
        }
    }

    /// A style for block glyphs (bars, big letters) in the colour of
    /// `style`: a filled badge style (colour on a background) becomes its
    /// background colour, so blocks are never drawn in the badge's text colour.
    pub fn solid(style: Style) -> Style {
        match style.bg {
            Some(bg) if bg != Color::Reset => Style::default().fg(bg),
            _ => Style { bg: None, ..style },
        }
    }

    /// Style for a status level.
    pub fn level(&self, level: Level) -> Style {
        match level {
            Level::Ok => self.ok,
            Level::Warn => self.warn,
            Level::Critical => self.critical,
            Level::Stale => self.stale,
            Level::Unknown => self.muted,
            Level::Paused => self.paused,
            Level::Info => self.info,
        }
    }
}
