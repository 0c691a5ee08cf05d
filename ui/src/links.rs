//! Hyperlinks (OSC 8) without control characters in the cells: a widget
//! draws the link's text like any text and records where it went and its
//! URL; after the frame is drawn the output lays the link over those cells
//! (`links_overlay` in the console). Only URLs that `safe_url` accepts are
//! ever recorded, so nothing a backend sends becomes a control sequence.

use std::cell::RefCell;

use ratatui::buffer::Buffer;
use ratatui::style::Style;

/// One link on screen: `width` cells from (`x`, `y`) open `url`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    pub x: u16,
    pub y: u16,
    pub width: u16,
    pub url: String,
}

thread_local! {
    static LINKS: RefCell<Vec<Link>> = const { RefCell::new(Vec::new()) };
}

/// The longest URL made a link (terminals cap them; 2083 is the old
/// browser limit and plenty for a runbook or a dashboard).
const MAX_URL: usize = 2083;

/// The most links one frame records.
const MAX_LINKS: usize = 1024;

/// `text` as an http(s) URL fit to be sent inside an OSC 8 sequence: the
/// scheme is `http` or `https`, there is a host, there are no user
/// credentials (a link that hides where it goes), and every character is
/// printable ASCII without spaces (so no ESC, BEL or C1 control can end
/// the sequence early). Anything else is not a link.
pub fn safe_url(text: &str) -> Option<&str> {
    let t = text.trim();
    if t.len() > MAX_URL || !t.chars().all(|c| c.is_ascii_graphic()) {
        return None;
    }
    let rest = t.strip_prefix("https://").or_else(|| t.strip_prefix("http://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = match authority.rsplit_once(':') {
        Some((h, port)) if port.chars().all(|c| c.is_ascii_digit()) => h,
        _ => authority,
    };
    let host_ok =
        !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '[' | ']' | ':'));
    (host_ok && !authority.contains('@')).then_some(t)
}

/// Draw `text` like `put` and, when `url` is a safe http(s) URL, record a
/// link over the cells it took. Returns where the text ended.
pub fn link(buf: &mut Buffer, x: u16, y: u16, text: &str, url: &str, width: usize, style: Style) -> (u16, u16) {
    let end = crate::put(buf, x, y, text, width, style);
    if let Some(u) = safe_url(url) {
        let w = end.0.saturating_sub(x);
        if w > 0 && y < buf.area.y + buf.area.height {
            LINKS.with(|l| {
                let mut l = l.borrow_mut();
                // A frame nobody lays links over (an export) must not grow it.
                if l.len() < MAX_LINKS {
                    l.push(Link { x, y, width: w, url: u.to_string() });
                }
            });
        }
    }
    end
}

/// The links recorded since the last call (a frame's), taken.
pub fn take_links() -> Vec<Link> {
    LINKS.with(|l| std::mem::take(&mut *l.borrow_mut()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use ratatui::layout::Rect;

    #[test]
    fn only_plain_http_urls_are_links() {
        for ok in [
            "https://runbooks.example.com/high-errors",
            "http://grafana:3000/d/abc?var-region=us-east-1&from=now-1h",
            "https://[::1]:8443/x#frag",
        ] {
            assert_eq!(safe_url(ok), Some(ok), "{ok}");
        }
        for bad in [
            "javascript:alert(1)",
            "file:///etc/passwd",
            "https://",
            "https://exa mple.com/",
            "https://evil.example/\u{1b}]8;;https://other\u{1b}\\",
            "https://evil.example/\u{7}",
            "https://ops:secret@grafana.example/",
            "https://good.example\u{202e}moc.live/",
            "ftp://files.example/",
        ] {
            assert_eq!(safe_url(bad), None, "{bad:?}");
        }
        assert_eq!(safe_url(&format!("https://a.example/{}", "x".repeat(3000))), None, "too long");
    }

    #[test]
    fn a_link_is_recorded_over_the_cells_it_took_and_a_hostile_one_is_text() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 20, 2));
        let _ = take_links();
        link(&mut buf, 2, 0, "https://a.example/runbook", "https://a.example/runbook", 10, Style::default());
        link(&mut buf, 0, 1, "javascript:x", "javascript:x", 20, Style::default());
        let links = take_links();
        assert_eq!(links, vec![Link { x: 2, y: 0, width: 10, url: "https://a.example/runbook".into() }]);
        assert!(take_links().is_empty(), "taken once");
    }
}
