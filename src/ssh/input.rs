//! Terminal input bytes from an SSH channel → key events. Covers what the
//! console binds: printable characters, Enter, Tab, Shift-Tab, Backspace,
//! Esc, Ctrl-C and the arrow keys (CSI and SS3 forms), and bracketed
//! paste (`ESC [200~ … ESC [201~`, across packets) as one paste event.

use crossterm::event::{Event, KeyCode, KeyEvent, KeyModifiers};

/// Most of one paste kept (the view caps it further); the rest is dropped,
/// never turned into keys.
pub const MAX_PASTE_BYTES: usize = 64 * 1024;

const PASTE_START: &str = "\x1b[200~";
const PASTE_END: &str = "\x1b[201~";

/// Input of one session: keys, and pastes that may span packets.
#[derive(Debug, Default)]
pub struct Parser {
    /// Inside a paste: what it held so far (capped), and whether some was cut.
    paste: Option<(String, bool)>,
    /// The last bytes of a paste packet, in case the end marker is split.
    tail: String,
}

impl Parser {
    /// One packet in, the events it completes out.
    pub fn feed(&mut self, bytes: &[u8]) -> Vec<Event> {
        let mut cur = String::from_utf8_lossy(bytes).into_owned();
        let mut out = Vec::new();
        loop {
            let rest: &str = &cur;
            if let Some((buf, cut)) = self.paste.as_mut() {
                // What is not yet in the paste: the held-back tail and this
                // packet; the end marker may straddle the two.
                let pending = format!("{}{rest}", std::mem::take(&mut self.tail));
                match pending.find(PASTE_END) {
                    Some(at) => {
                        push_capped(buf, cut, &pending[..at]);
                        let text = std::mem::take(buf);
                        self.paste = None;
                        out.push(Event::Paste(text));
                        cur = pending[at + PASTE_END.len()..].to_string();
                        continue;
                    }
                    None => {
                        // Hold back what could be the start of the marker.
                        let mut keep = pending.len().saturating_sub(PASTE_END.len() - 1);
                        while !pending.is_char_boundary(keep) {
                            keep += 1;
                        }
                        push_capped(buf, cut, &pending[..keep]);
                        self.tail = pending[keep..].to_string();
                        return out;
                    }
                }
            }
            match rest.find(PASTE_START) {
                Some(at) => {
                    out.extend(parse(&rest.as_bytes()[..at]).into_iter().map(Event::Key));
                    self.paste = Some((String::new(), false));
                    self.tail.clear();
                    cur = rest[at + PASTE_START.len()..].to_string();
                    if cur.is_empty() {
                        return out;
                    }
                }
                None => {
                    out.extend(parse(rest.as_bytes()).into_iter().map(Event::Key));
                    return out;
                }
            }
        }
    }
}

fn push_capped(buf: &mut String, cut: &mut bool, more: &str) {
    let room = MAX_PASTE_BYTES.saturating_sub(buf.len());
    if more.len() <= room {
        buf.push_str(more);
    } else {
        let end = (0..=room).rev().find(|&i| more.is_char_boundary(i)).unwrap_or(0);
        buf.push_str(&more[..end]);
        *cut = true;
    }
}

/// Parse one packet of input. A lone trailing ESC is Esc.
pub fn parse(bytes: &[u8]) -> Vec<KeyEvent> {
    let mut out = Vec::new();
    let text = String::from_utf8_lossy(bytes);
    let chars: Vec<char> = text.chars().collect();
    let mut i = 0;
    let key = |c: KeyCode| KeyEvent::new(c, KeyModifiers::NONE);
    while i < chars.len() {
        let c = chars[i];
        match c {
            '\x1b' => {
                let next = chars.get(i + 1).copied();
                let third = chars.get(i + 2).copied();
                match (next, third) {
                    (Some('[' | 'O'), Some(k)) => {
                        let code = match k {
                            'A' => Some(KeyCode::Up),
                            'B' => Some(KeyCode::Down),
                            'C' => Some(KeyCode::Right),
                            'D' => Some(KeyCode::Left),
                            'Z' => Some(KeyCode::BackTab),
                            'H' => Some(KeyCode::Home),
                            'F' => Some(KeyCode::End),
                            _ => None,
                        };
                        match code {
                            Some(KeyCode::BackTab) => out.push(KeyEvent::new(KeyCode::BackTab, KeyModifiers::SHIFT)),
                            Some(code) => out.push(key(code)),
                            None => {
                                // Skip an unknown CSI sequence up to its final byte.
                                let mut j = i + 2;
                                while j < chars.len() && !('@'..='~').contains(&chars[j]) {
                                    j += 1;
                                }
                                i = j + 1;
                                continue;
                            }
                        }
                        i += 3;
                        continue;
                    }
                    _ => out.push(key(KeyCode::Esc)),
                }
            }
            '\r' | '\n' => out.push(key(KeyCode::Enter)),
            '\t' => out.push(key(KeyCode::Tab)),
            '\x7f' | '\x08' => out.push(key(KeyCode::Backspace)),
            '\x03' => out.push(KeyEvent::new(KeyCode::Char('c'), KeyModifiers::CONTROL)),
            c if (c as u32) < 0x20 => {
                let letter = char::from(b'a' + (c as u8) - 1);
                out.push(KeyEvent::new(KeyCode::Char(letter), KeyModifiers::CONTROL));
            }
            c => out.push(key(KeyCode::Char(c))),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(b: &[u8]) -> Vec<KeyCode> {
        parse(b).into_iter().map(|k| k.code).collect()
    }

    #[test]
    fn keys() {
        assert_eq!(codes(b"q"), vec![KeyCode::Char('q')]);
        assert_eq!(codes(b"\x1b[A\x1bOB\x1b[Z"), vec![KeyCode::Up, KeyCode::Down, KeyCode::BackTab]);
        assert_eq!(codes(b"\x1b"), vec![KeyCode::Esc]);
        assert_eq!(codes(b"ab\r\t"), vec![KeyCode::Char('a'), KeyCode::Char('b'), KeyCode::Enter, KeyCode::Tab]);
        assert_eq!(codes(b"\x1b[1;5Cx"), vec![KeyCode::Char('x')], "unknown sequences are skipped");
        let cc = parse(b"\x03");
        assert_eq!((cc[0].code, cc[0].modifiers), (KeyCode::Char('c'), KeyModifiers::CONTROL));
        assert_eq!(codes("é".as_bytes()), vec![KeyCode::Char('é')]);
        assert!(parse(b"").is_empty());
    }

    #[test]
    fn a_bracketed_paste_is_one_event_even_split_across_packets() {
        let mut p = Parser::default();
        let ev = p.feed(b"a\x1b[200~FFFF");
        assert_eq!(ev, vec![Event::Key(KeyEvent::new(KeyCode::Char('a'), KeyModifiers::NONE))]);
        assert!(p.feed(b"FF\x1b[20").is_empty(), "no key while pasting");
        let ev = p.feed(b"1~q");
        assert_eq!(
            ev,
            vec![Event::Paste("FFFFFF".into()), Event::Key(KeyEvent::new(KeyCode::Char('q'), KeyModifiers::NONE))]
        );
        // 3,000 F pasted: one event, not 3,000 action keys.
        let mut p = Parser::default();
        let ev = p.feed(format!("\x1b[200~{}\x1b[201~", "F".repeat(3000)).as_bytes());
        assert_eq!(ev.len(), 1);
        assert!(matches!(&ev[0], Event::Paste(t) if t.len() == 3000));
        // A huge paste is capped, and what follows is read normally.
        let mut p = Parser::default();
        let mut n = 0;
        assert!(p.feed(b"\x1b[200~").is_empty());
        for _ in 0..100 {
            n += p.feed("é".repeat(2000).as_bytes()).len();
        }
        assert_eq!(n, 0);
        let ev = p.feed(b"\x1b[201~\r");
        assert!(matches!(&ev[0], Event::Paste(t) if t.len() <= MAX_PASTE_BYTES && t.len() > 60_000), "{}", ev.len());
        assert_eq!(ev[1], Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)));
        // Thousands of empty pastes in one packet: a loop, not a deep stack.
        let mut p = Parser::default();
        let ev = p.feed("\x1b[200~\x1b[201~".repeat(5000).as_bytes());
        assert_eq!(ev.len(), 5000);
    }
}
