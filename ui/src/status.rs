//! Status levels with glyph + word, so status is never colour alone.

/// Severity of a status, independent of any domain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Level {
    Ok,
    Info,
    Paused,
    Unknown,
    Stale,
    Warn,
    Critical,
}

impl Level {
    /// Every level, for tests and legends.
    pub const ALL: [Level; 7] =
        [Level::Ok, Level::Info, Level::Paused, Level::Unknown, Level::Stale, Level::Warn, Level::Critical];

    /// Glyph for the level; `ascii` selects a fallback for limited terminals.
    pub fn glyph(self, ascii: bool) -> &'static str {
        match (self, ascii) {
            (Level::Ok, false) => "✔",
            (Level::Info, false) => "●",
            (Level::Paused, false) => "⏸",
            (Level::Unknown, false) => "?",
            (Level::Stale, false) => "◌",
            (Level::Warn, false) => "▲",
            (Level::Critical, false) => "✖",
            (Level::Ok, true) => "+",
            (Level::Info, true) => "*",
            (Level::Paused, true) => "=",
            (Level::Unknown, true) => "?",
            (Level::Stale, true) => "~",
            (Level::Warn, true) => "!",
            (Level::Critical, true) => "X",
        }
    }

    /// Default word for the level.
    pub fn word(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Info => "INFO",
            Level::Paused => "PAUSED",
            Level::Unknown => "UNKNOWN",
            Level::Stale => "STALE",
            Level::Warn => "DEGRADED",
            Level::Critical => "DOWN",
        }
    }

    /// Short word (at most 4 characters) for narrow cells.
    pub fn short_word(self) -> &'static str {
        match self {
            Level::Ok => "OK",
            Level::Info => "INFO",
            Level::Paused => "PAUS",
            Level::Unknown => "UNKN",
            Level::Stale => "STAL",
            Level::Warn => "DEGR",
            Level::Critical => "DOWN",
        }
    }
}

/// A status to show: a level and the word to print next to its glyph.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    pub level: Level,
    pub word: String,
}

impl Badge {
    pub fn new(level: Level, word: impl Into<String>) -> Badge {
        Badge { level, word: word.into() }
    }

    /// The level's own word.
    pub fn of(level: Level) -> Badge {
        Badge::new(level, level.word())
    }

    /// "glyph word", e.g. "✔ OK".
    pub fn text(&self, ascii: bool) -> String {
        format!("{} {}", self.level.glyph(ascii), self.word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_level_has_distinct_glyph_and_word() {
        for ascii in [false, true] {
            let glyphs: HashSet<_> = Level::ALL.iter().map(|l| l.glyph(ascii)).collect();
            assert_eq!(glyphs.len(), Level::ALL.len());
        }
        let words: HashSet<_> = Level::ALL.iter().map(|l| l.word()).collect();
        assert_eq!(words.len(), Level::ALL.len());
        let short: HashSet<_> = Level::ALL.iter().map(|l| l.short_word()).collect();
        assert_eq!(short.len(), Level::ALL.len());
        assert!(Level::ALL.iter().all(|l| l.short_word().chars().count() <= 4));
    }
}
