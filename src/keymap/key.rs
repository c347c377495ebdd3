//! Key specs: one chord in canonical form, parsed from and shown as the
//! config file's syntax (`q`, `S`, `ctrl-c`, `shift-tab`, `pgdn`, `f5`).

use std::fmt;
use std::str::FromStr;

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Modifiers that take part in a binding; the rest (hyper, meta) are ignored.
const MODS: KeyModifiers = KeyModifiers::CONTROL
    .union(KeyModifiers::ALT)
    .union(KeyModifiers::SUPER)
    .union(KeyModifiers::SHIFT);

/// A key chord in canonical form: Shift is folded into the character
/// (terminals send `S`, `S`+Shift or `s`+Shift for the same key) and into
/// BackTab, so a config spec and a terminal event compare equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    code: KeyCode,
    mods: KeyModifiers,
}

impl Key {
    /// A normalised key.
    pub fn new(code: KeyCode, mods: KeyModifiers) -> Key {
        let mut mods = mods & MODS;
        let code = match code {
            KeyCode::Char(c) => {
                let c = if mods.contains(KeyModifiers::SHIFT) {
                    single_uppercase(c)
                } else {
                    c
                };
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::Char(c)
            }
            KeyCode::Tab if mods.contains(KeyModifiers::SHIFT) => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            KeyCode::BackTab => {
                mods.remove(KeyModifiers::SHIFT);
                KeyCode::BackTab
            }
            other => other,
        };
        Key { code, mods }
    }

    /// The key of a terminal event.
    pub fn from_event(ev: &KeyEvent) -> Key {
        Key::new(ev.code, ev.modifiers)
    }

    /// The key code.
    pub fn code(&self) -> KeyCode {
        self.code
    }

    /// The modifiers that count (Ctrl, Alt, Super; Shift only for non-characters).
    pub fn modifiers(&self) -> KeyModifiers {
        self.mods
    }
}

/// `c` in upper case when that is a single character, else `c`.
fn single_uppercase(c: char) -> char {
    let mut up = c.to_uppercase();
    match (up.next(), up.next()) {
        (Some(u), None) => u,
        _ => c,
    }
}

/// A key spec that cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot read key `{spec}`: {reason}")]
pub struct KeyParseError {
    /// The spec as written.
    pub spec: String,
    /// What is wrong with it.
    pub reason: String,
}

impl FromStr for Key {
    type Err = KeyParseError;

    /// Parses specs like `q`, `Q`, `ctrl-c`, `shift-tab`, `pgdn`, `f5`, `?`.
    fn from_str(spec: &str) -> Result<Self, Self::Err> {
        let err = |reason: &str| KeyParseError {
            spec: spec.to_string(),
            reason: reason.to_string(),
        };
        let mut mods = KeyModifiers::NONE;
        let mut rest = spec;
        loop {
            let lower = rest.to_ascii_lowercase();
            let found = [
                ("ctrl-", KeyModifiers::CONTROL),
                ("alt-", KeyModifiers::ALT),
                ("super-", KeyModifiers::SUPER),
                ("shift-", KeyModifiers::SHIFT),
            ]
            .into_iter()
            .find(|(p, _)| lower.starts_with(p) && lower.len() > p.len());
            match found {
                Some((p, m)) => {
                    mods |= m;
                    rest = &rest[p.len()..];
                }
                None => break,
            }
        }
        let code = base_code(rest).map_err(|r| err(&r))?;
        Ok(Key::new(code, mods))
    }
}

/// The key code named by a spec without its modifiers.
fn base_code(s: &str) -> Result<KeyCode, String> {
    let mut chars = s.chars();
    match (chars.next(), chars.next()) {
        (None, _) => return Err("the key is empty".into()),
        (Some(' '), None) => return Err("write a space as `space`".into()),
        (Some(c), None) if c.is_control() => return Err("not a printable character".into()),
        (Some(c), None) => return Ok(KeyCode::Char(c)),
        _ => {}
    }
    let lower = s.to_ascii_lowercase();
    let code = match lower.as_str() {
        "space" => KeyCode::Char(' '),
        "enter" | "return" => KeyCode::Enter,
        "esc" | "escape" => KeyCode::Esc,
        "tab" => KeyCode::Tab,
        "backtab" => KeyCode::BackTab,
        "up" => KeyCode::Up,
        "down" => KeyCode::Down,
        "left" => KeyCode::Left,
        "right" => KeyCode::Right,
        "pgup" | "pageup" => KeyCode::PageUp,
        "pgdn" | "pagedown" => KeyCode::PageDown,
        "home" => KeyCode::Home,
        "end" => KeyCode::End,
        "backspace" => KeyCode::Backspace,
        "delete" | "del" => KeyCode::Delete,
        "insert" | "ins" => KeyCode::Insert,
        f => match f.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()) {
            Some(n @ 1..=12) => KeyCode::F(n),
            _ => {
                return Err(
                    "expected one character (like `q`, `?`, `S`) or a key name: space, \
                     enter, esc, tab, backtab, up, down, left, right, pgup, pgdn, home, end, \
                     backspace, delete, insert, f1..f12, with optional ctrl-, alt-, shift- \
                     prefixes"
                        .into(),
                );
            }
        },
    };
    Ok(code)
}

impl fmt::Display for Key {
    /// The canonical spec: `parse(display(k)) == k`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (m, p) in [
            (KeyModifiers::CONTROL, "ctrl-"),
            (KeyModifiers::ALT, "alt-"),
            (KeyModifiers::SUPER, "super-"),
            (KeyModifiers::SHIFT, "shift-"),
        ] {
            if self.mods.contains(m) {
                f.write_str(p)?;
            }
        }
        match self.code {
            KeyCode::Char(' ') => f.write_str("space"),
            KeyCode::Char(c) => write!(f, "{c}"),
            KeyCode::Enter => f.write_str("enter"),
            KeyCode::Esc => f.write_str("esc"),
            KeyCode::Tab => f.write_str("tab"),
            KeyCode::BackTab => f.write_str("backtab"),
            KeyCode::Up => f.write_str("up"),
            KeyCode::Down => f.write_str("down"),
            KeyCode::Left => f.write_str("left"),
            KeyCode::Right => f.write_str("right"),
            KeyCode::PageUp => f.write_str("pgup"),
            KeyCode::PageDown => f.write_str("pgdn"),
            KeyCode::Home => f.write_str("home"),
            KeyCode::End => f.write_str("end"),
            KeyCode::Backspace => f.write_str("backspace"),
            KeyCode::Delete => f.write_str("delete"),
            KeyCode::Insert => f.write_str("insert"),
            KeyCode::F(n) => write!(f, "f{n}"),
            other => write!(f, "{}", format!("{other:?}").to_ascii_lowercase()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn key_specs_parse() {
        let k = |s: &str| s.parse::<Key>().unwrap();
        assert_eq!(k("q"), Key::new(KeyCode::Char('q'), KeyModifiers::NONE));
        assert_eq!(k("Q"), Key::new(KeyCode::Char('Q'), KeyModifiers::NONE));
        assert_ne!(k("q"), k("Q"));
        assert_eq!(k("shift-q"), k("Q"));
        assert_eq!(
            k("ctrl-c"),
            Key::new(KeyCode::Char('c'), KeyModifiers::CONTROL)
        );
        assert_eq!(k("CTRL-c"), k("ctrl-c"));
        assert_eq!(k("space"), Key::new(KeyCode::Char(' '), KeyModifiers::NONE));
        assert_eq!(k("Enter"), Key::new(KeyCode::Enter, KeyModifiers::NONE));
        assert_eq!(k("shift-tab"), k("backtab"));
        assert_eq!(k("pgdn"), k("pagedown"));
        assert_eq!(k("f12"), Key::new(KeyCode::F(12), KeyModifiers::NONE));
        assert_eq!(k("F1"), Key::new(KeyCode::F(1), KeyModifiers::NONE));
        assert_eq!(k("f"), Key::new(KeyCode::Char('f'), KeyModifiers::NONE));
        assert_eq!(k("-"), Key::new(KeyCode::Char('-'), KeyModifiers::NONE));
        assert_eq!(
            k("ctrl--"),
            Key::new(KeyCode::Char('-'), KeyModifiers::CONTROL)
        );
        assert_eq!(k("shift-up"), Key::new(KeyCode::Up, KeyModifiers::SHIFT));
        for bad in [
            "",
            " ",
            "f13",
            "f0",
            "ctrl-",
            "qq",
            "ctrl-shift",
            "\u{7}",
            "hyper-x",
        ] {
            let e = bad.parse::<Key>().unwrap_err();
            assert_eq!(e.spec, bad);
        }
        assert!(
            "qq".parse::<Key>()
                .unwrap_err()
                .to_string()
                .contains("pgdn")
        );
        assert!(
            " ".parse::<Key>()
                .unwrap_err()
                .to_string()
                .contains("`space`")
        );
    }

    #[test]
    fn display_is_canonical() {
        let d = |s: &str| s.parse::<Key>().unwrap().to_string();
        assert_eq!(d("shift-tab"), "backtab");
        assert_eq!(d("shift-s"), "S");
        assert_eq!(d("PageUp"), "pgup");
        assert_eq!(d("alt-ctrl-x"), "ctrl-alt-x");
        assert_eq!(d("space"), "space");
        assert_eq!(d("ctrl--"), "ctrl--");
    }

    fn arb_key() -> impl Strategy<Value = Key> {
        let code = prop_oneof![
            any::<char>()
                .prop_filter("printable", |c| !c.is_control())
                .prop_map(KeyCode::Char),
            (1u8..=12).prop_map(KeyCode::F),
            Just(KeyCode::Enter),
            Just(KeyCode::Esc),
            Just(KeyCode::Tab),
            Just(KeyCode::BackTab),
            Just(KeyCode::Up),
            Just(KeyCode::PageDown),
            Just(KeyCode::Home),
            Just(KeyCode::Backspace),
            Just(KeyCode::Delete),
            Just(KeyCode::Insert),
        ];
        (code, 0u8..16).prop_map(|(c, m)| Key::new(c, KeyModifiers::from_bits_truncate(m)))
    }

    proptest! {
        #[test]
        fn parse_display_round_trip(k in arb_key()) {
            let shown = k.to_string();
            prop_assert_eq!(shown.parse::<Key>(), Ok(k), "{}", shown);
        }
    }
}
