//! Terminal input bytes from an SSH channel → key events. Covers what the
//! console binds: printable characters, Enter, Tab, Shift-Tab, Backspace,
//! Esc, Ctrl-C and the arrow keys (CSI and SS3 forms).

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

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
}
