//! Themes as TOML files: semantic styles over the default (named ANSI)
//! theme, so a file only names what it changes. Built-in themes live in
//! `themes/` and are embedded; users add their own in the config
//! directory's `themes/`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use toml::Spanned;
use warroom_ui::Theme;

use crate::config::ConfigError;

/// (name, file text) of every built-in theme.
pub const BUILT_IN: [(&str, &str); 5] = [
    ("default", include_str!("../themes/default.toml")),
    ("light", include_str!("../themes/light.toml")),
    ("high-contrast", include_str!("../themes/high-contrast.toml")),
    ("colour-blind", include_str!("../themes/colour-blind.toml")),
    ("mono", include_str!("../themes/mono.toml")),
];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    name: String,
    #[serde(default)]
    ascii: bool,
    #[serde(default)]
    styles: BTreeMap<Spanned<String>, Spanned<StyleSpec>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StyleSpec {
    #[serde(default)]
    fg: Option<String>,
    #[serde(default)]
    bg: Option<String>,
    #[serde(default)]
    modifiers: Vec<String>,
}

/// Parse a colour: a named ANSI colour, `#rrggbb`, or `color(N)` (0–255).
pub fn parse_color(s: &str) -> Result<Color, String> {
    let named = match s {
        "reset" | "default" => Some(Color::Reset),
        "black" => Some(Color::Black),
        "red" => Some(Color::Red),
        "green" => Some(Color::Green),
        "yellow" => Some(Color::Yellow),
        "blue" => Some(Color::Blue),
        "magenta" => Some(Color::Magenta),
        "cyan" => Some(Color::Cyan),
        "gray" | "grey" => Some(Color::Gray),
        "dark-gray" | "dark-grey" => Some(Color::DarkGray),
        "light-red" => Some(Color::LightRed),
        "light-green" => Some(Color::LightGreen),
        "light-yellow" => Some(Color::LightYellow),
        "light-blue" => Some(Color::LightBlue),
        "light-magenta" => Some(Color::LightMagenta),
        "light-cyan" => Some(Color::LightCyan),
        "white" => Some(Color::White),
        _ => None,
    };
    if let Some(c) = named {
        return Ok(c);
    }
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() == 6 {
            if let Ok(v) = u32::from_str_radix(hex, 16) {
                return Ok(Color::Rgb((v >> 16) as u8, (v >> 8) as u8, v as u8));
            }
        }
        return Err(format!("bad colour '{s}': use #rrggbb"));
    }
    if let Some(n) = s.strip_prefix("color(").and_then(|r| r.strip_suffix(')')) {
        return n.parse::<u8>().map(Color::Indexed).map_err(|_| format!("bad colour '{s}': color(N) takes 0–255"));
    }
    Err(format!("unknown colour '{s}' (named ANSI colour, #rrggbb or color(N))"))
}

fn parse_modifier(s: &str) -> Result<Modifier, String> {
    Ok(match s {
        "bold" => Modifier::BOLD,
        "dim" => Modifier::DIM,
        "italic" => Modifier::ITALIC,
        "underlined" => Modifier::UNDERLINED,
        "reversed" => Modifier::REVERSED,
        "crossed-out" => Modifier::CROSSED_OUT,
        other => {
            return Err(format!("unknown modifier '{other}' (bold, dim, italic, underlined, reversed, crossed-out)"))
        }
    })
}

/// The style slot a key names.
fn slot<'a>(t: &'a mut Theme, key: &str) -> Option<&'a mut Style> {
    Some(match key {
        "text" => &mut t.text,
        "muted" => &mut t.muted,
        "ok" => &mut t.ok,
        "warn" => &mut t.warn,
        "critical" => &mut t.critical,
        "stale" => &mut t.stale,
        "paused" => &mut t.paused,
        "info" => &mut t.info,
        "selection" => &mut t.selection,
        "border" => &mut t.border,
        "border_focus" => &mut t.border_focus,
        "title" => &mut t.title,
        "header" => &mut t.header,
        "key" => &mut t.key,
        _ => return None,
    })
}

/// Parse a theme file over the default theme. All problems, with places.
pub fn parse(file: &Path, text: &str) -> Result<Theme, Vec<ConfigError>> {
    let err = |span: std::ops::Range<usize>, message: String| ConfigError::at(file, text, span, message);
    let tf: ThemeFile = crate::config::from_toml(file, text)?;
    let mut theme = Theme::ansi();
    theme.name = tf.name.clone();
    theme.ascii = tf.ascii;
    let mut errors = Vec::new();
    for (key, spec) in &tf.styles {
        let span = spec.span();
        let spec = spec.get_ref();
        let mut style = Style::default();
        match spec.fg.as_deref().map(parse_color) {
            Some(Ok(c)) => style = style.fg(c),
            Some(Err(e)) => errors.push(err(span.clone(), e)),
            None => {}
        }
        match spec.bg.as_deref().map(parse_color) {
            Some(Ok(c)) => style = style.bg(c),
            Some(Err(e)) => errors.push(err(span.clone(), e)),
            None => {}
        }
        for m in &spec.modifiers {
            match parse_modifier(m) {
                Ok(m) => style = style.add_modifier(m),
                Err(e) => errors.push(err(span.clone(), e)),
            }
        }
        match slot(&mut theme, key.get_ref()) {
            Some(s) => *s = style,
            None => errors.push(err(
                key.span(),
                format!("unknown style '{}' (text, muted, ok, warn, critical, stale, paused, info, selection, border, border_focus, title, header, key)", key.get_ref()),
            )),
        }
    }
    if errors.is_empty() {
        Ok(theme)
    } else {
        Err(errors)
    }
}

/// Names of the built-in themes and of the user's.
pub fn names() -> Vec<String> {
    let mut v: Vec<String> = BUILT_IN.iter().map(|(n, _)| n.to_string()).collect();
    if let Some(dir) = user_dir() {
        v.extend(crate::config::toml_files(&dir).into_iter().map(|(name, _)| name));
    }
    v
}

fn user_dir() -> Option<PathBuf> {
    directories::ProjectDirs::from("", "", "warroom").map(|d| d.config_dir().join("themes"))
}

/// Load a theme by name: the user's file first (so it can override a
/// built-in), then the built-in.
pub fn load(name: &str) -> Result<Theme, String> {
    let show = |errs: Vec<ConfigError>| errs.iter().map(|e| e.to_string()).collect::<Vec<_>>().join("\n");
    if let Some(p) = user_dir().map(|d| d.join(format!("{name}.toml"))).filter(|p| p.is_file()) {
        let text = crate::config::read_config_file(&p).map_err(|e| format!("{}: {e}", p.display()))?;
        return parse(&p, &text).map_err(show);
    }
    match BUILT_IN.iter().find(|(n, _)| *n == name) {
        Some((n, text)) => parse(Path::new(&format!("themes/{n}.toml")), text).map_err(show),
        None => Err(format!("unknown theme '{name}' (built in: {})", names().join(", "))),
    }
}

/// The theme to use: `NO_COLOR` forces mono; otherwise `requested` or default.
pub fn choose(requested: Option<&str>) -> Result<Theme, String> {
    match std::env::var("NO_COLOR") {
        Ok(v) if !v.is_empty() => load("mono"),
        _ => load(requested.unwrap_or("default")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use warroom_ui::Level;

    #[test]
    fn every_built_in_theme_parses() {
        for (name, text) in BUILT_IN {
            let t = parse(Path::new(name), text).unwrap_or_else(|e| panic!("{name}: {e:?}"));
            assert_eq!(t.name, name);
        }
        assert_eq!(load("default").map(|t| t.ok), Ok(Theme::ansi().ok));
    }

    #[test]
    fn every_colour_theme_tells_ok_warn_and_critical_apart_by_style() {
        // The glyph and word carry the status in every theme (status.rs);
        // a colour theme's files must also give OK, WARN and CRITICAL three
        // different styles, or a theme file edit could make red look green.
        for (name, _) in BUILT_IN {
            let t = load(name).unwrap_or_else(|e| panic!("{e}"));
            let styles = [t.level(Level::Ok), t.level(Level::Warn), t.level(Level::Critical)];
            if name == "mono" {
                assert!(
                    styles.iter().all(|s| s.fg.is_none() || s.fg == styles[0].fg),
                    "mono has no colours: {styles:?}"
                );
                continue;
            }
            for (i, a) in styles.iter().enumerate() {
                for b in &styles[i + 1..] {
                    assert_ne!(a, b, "{name}: two status levels look the same");
                }
            }
        }
    }

    #[test]
    fn colour_blind_has_no_red_green_pair() {
        let t = load("colour-blind").unwrap_or_else(|e| panic!("{e}"));
        let reds = [Some(Color::Red), Some(Color::LightRed)];
        let greens = [Some(Color::Green), Some(Color::LightGreen)];
        for s in [t.ok, t.warn, t.critical, t.stale, t.paused, t.info] {
            assert!(!reds.contains(&s.fg) && !greens.contains(&s.fg), "{s:?}");
        }
    }

    #[test]
    fn errors_name_the_place() {
        let text =
            "name = \"x\"\n[styles]\nok = { fg = \"chartreuse\" }\nnope = {}\nwarn = { modifiers = [\"blink\"] }\n";
        let e: Vec<String> =
            parse(Path::new("t.toml"), text).err().unwrap_or_default().iter().map(|e| e.to_string()).collect();
        assert!(e.iter().any(|x| x.starts_with("t.toml:3:6: unknown colour 'chartreuse'")), "{e:?}");
        assert!(e.iter().any(|x| x.starts_with("t.toml:4:1: unknown style 'nope'")), "{e:?}");
        assert!(e.iter().any(|x| x.starts_with("t.toml:5:8: unknown modifier 'blink'")), "{e:?}");
        let e = parse(Path::new("t.toml"), "name = \"x\"\ncolour = 1\n").err().unwrap_or_default();
        assert!(e[0].to_string().starts_with("t.toml:2:1: unknown field `colour`"), "{e:?}");
        assert_eq!(parse_color("#ff8700"), Ok(Color::Rgb(255, 135, 0)));
        assert_eq!(parse_color("color(208)"), Ok(Color::Indexed(208)));
        assert!(load("nonexistent").is_err_and(|e| e.contains("built in: default")));
    }
}
