//! The theme file format: every field optional, so a file patches a base theme.
//!
//! Kept apart from the runtime [`Theme`](super::Theme) (as trippy does): the
//! file speaks in strings and optional fields, the runtime theme in ratatui
//! `Style`s that always have a value.

use std::fmt;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};

use super::Theme;

/// What a colour value may look like, for error messages.
const COLOR_FORMS: &str = "\"#rrggbb\", \"rgb(r, g, b)\", a name such as \"red\", \
     \"light-blue\" or \"dark-gray\", \"reset\" (the terminal's default), \
     \"none\" (no colour of its own) or a 256-colour index 0-255";

/// Parses one colour as written in a theme file; `Ok(None)` for `"none"`.
///
/// Accepts `#rrggbb`, `rgb(r, g, b)`, ANSI names (`-`, `_` and spaces ignored,
/// `grey` = `gray`, `bright` = `light`), `reset`, `none` and `0`–`255`.
pub fn parse_color(text: &str) -> Result<Option<Color>, String> {
    let s = text.trim();
    let bad = || format!("`{text}` is not a colour: use {COLOR_FORMS}");
    if let Some(hex) = s.strip_prefix('#') {
        if hex.len() != 6 || !hex.chars().all(|c| c.is_ascii_hexdigit()) {
            return Err(bad());
        }
        let ch = |i: usize| u8::from_str_radix(&hex[i..i + 2], 16).map_err(|_| bad());
        return Ok(Some(Color::Rgb(ch(0)?, ch(2)?, ch(4)?)));
    }
    let lower = s.to_ascii_lowercase();
    if let Some(inner) = lower
        .strip_prefix("rgb(")
        .and_then(|rest| rest.strip_suffix(')'))
    {
        let parts: Vec<&str> = inner.split(',').map(str::trim).collect();
        let [r, g, b] = parts.as_slice() else {
            return Err(bad());
        };
        let ch = |p: &str| p.parse::<u8>().map_err(|_| bad());
        return Ok(Some(Color::Rgb(ch(r)?, ch(g)?, ch(b)?)));
    }
    if let Ok(index) = lower.parse::<u8>() {
        return Ok(Some(Color::Indexed(index)));
    }
    let name: String = lower
        .chars()
        .filter(|c| !matches!(c, '-' | '_' | ' '))
        .collect::<String>()
        .replace("grey", "gray")
        .replace("bright", "light");
    let color = match name.as_str() {
        "none" => return Ok(None),
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" => Color::Gray,
        "darkgray" | "lightblack" => Color::DarkGray,
        "lightred" => Color::LightRed,
        "lightgreen" => Color::LightGreen,
        "lightyellow" => Color::LightYellow,
        "lightblue" => Color::LightBlue,
        "lightmagenta" => Color::LightMagenta,
        "lightcyan" => Color::LightCyan,
        "white" | "lightwhite" => Color::White,
        _ => return Err(bad()),
    };
    Ok(Some(color))
}

/// A colour in a theme file: a string (see [`parse_color`]) or an integer index.
///
/// `None` inside means "no colour of its own": an unset style colour, or the
/// terminal default (`Reset`) for plain colour fields.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ColorValue(pub Option<Color>);

impl ColorValue {
    /// The colour for a plain colour field, where "no colour" means the terminal default.
    pub fn or_reset(self) -> Color {
        self.0.unwrap_or(Color::Reset)
    }
}

struct ColorVisitor;

impl Visitor<'_> for ColorVisitor {
    type Value = ColorValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "a colour: {COLOR_FORMS}")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<ColorValue, E> {
        parse_color(v).map(ColorValue).map_err(E::custom)
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<ColorValue, E> {
        u8::try_from(v)
            .map(|i| ColorValue(Some(Color::Indexed(i))))
            .map_err(|_| E::custom(format!("colour index {v} is out of range: use 0-255")))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<ColorValue, E> {
        self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
    }
}

impl<'de> Deserialize<'de> for ColorValue {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(ColorVisitor)
    }
}

/// A style in a theme file: a bare colour (the foreground) or a table.
///
/// The derived `Deserialize` reads the table form; theme fields also accept a
/// bare colour through `style_value`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct StyleValue {
    /// Text colour.
    pub fg: Option<ColorValue>,
    /// Background colour.
    pub bg: Option<ColorValue>,
    /// `true` adds bold, `false` removes it from the base; unset keeps the base.
    pub bold: Option<bool>,
    /// As `bold`, for dim (faint) text.
    pub dim: Option<bool>,
    /// As `bold`, for italics.
    pub italic: Option<bool>,
    /// As `bold`, for underlining.
    pub underlined: Option<bool>,
    /// As `bold`, for reverse video (swaps fg and bg).
    pub reversed: Option<bool>,
}

impl StyleValue {
    /// Patches `style`: only what this value names changes.
    pub fn apply(&self, mut style: Style) -> Style {
        if let Some(fg) = self.fg {
            style.fg = fg.0;
        }
        if let Some(bg) = self.bg {
            style.bg = bg.0;
        }
        let flags = [
            (self.bold, Modifier::BOLD),
            (self.dim, Modifier::DIM),
            (self.italic, Modifier::ITALIC),
            (self.underlined, Modifier::UNDERLINED),
            (self.reversed, Modifier::REVERSED),
        ];
        for (flag, modifier) in flags {
            // Edit `add_modifier` directly: a theme style never *removes* a
            // modifier from what it is patched onto at render time.
            match flag {
                Some(true) => style.add_modifier.insert(modifier),
                Some(false) => style.add_modifier.remove(modifier),
                None => {}
            }
        }
        style
    }
}

struct StyleVisitor;

impl<'de> Visitor<'de> for StyleVisitor {
    type Value = StyleValue;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a colour or a table such as {{ fg = \"#ffffff\", bg = \"blue\", bold = true }}"
        )
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<StyleValue, E> {
        let fg = ColorVisitor.visit_str(v)?;
        Ok(StyleValue {
            fg: Some(fg),
            ..StyleValue::default()
        })
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<StyleValue, E> {
        let fg = ColorVisitor.visit_i64(v)?;
        Ok(StyleValue {
            fg: Some(fg),
            ..StyleValue::default()
        })
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<StyleValue, E> {
        self.visit_i64(i64::try_from(v).unwrap_or(i64::MAX))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<StyleValue, A::Error> {
        StyleValue::deserialize(de::value::MapAccessDeserializer::new(map))
    }
}

/// Reads a style from either a bare colour or a table.
fn style_value<'de, D: Deserializer<'de>>(d: D) -> Result<Option<StyleValue>, D::Error> {
    d.deserialize_any(StyleVisitor).map(Some)
}

macro_rules! define_theme_file {
    (
        colors { $( $(#[$cm:meta])* $c:ident, )* }
        styles { $( $(#[$sm:meta])* $s:ident, )* }
    ) => {
        /// A theme file: every field optional; what it names patches its base.
        ///
        /// `base` picks the built-in theme to patch (default: `default`).
        /// Style fields take a colour (the foreground) or a table
        /// `{ fg, bg, bold, dim, italic, underlined, reversed }`.
        #[derive(Debug, Clone, Default, PartialEq, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct ThemeFile {
            /// The built-in theme this file patches.
            pub base: Option<String>,
            /// A display name (default: the file's stem or the built-in's name).
            pub name: Option<String>,
            $( $(#[$cm])* pub $c: Option<ColorValue>, )*
            $(
                $(#[$sm])*
                #[serde(default, deserialize_with = "style_value")]
                pub $s: Option<StyleValue>,
            )*
            /// Heat-grid colours from cold to hot; replaces the base's list.
            pub heat_ramp: Option<Vec<ColorValue>>,
        }

        impl ThemeFile {
            /// Patches `theme` with every field this file sets.
            pub fn patch(&self, theme: &mut Theme) {
                if let Some(name) = &self.name {
                    theme.name.clone_from(name);
                }
                $( if let Some(v) = self.$c { theme.$c = v.or_reset(); } )*
                $( if let Some(v) = &self.$s { theme.$s = v.apply(theme.$s); } )*
                if let Some(ramp) = &self.heat_ramp {
                    theme.heat_ramp = ramp.iter().filter_map(|c| c.0).collect();
                }
            }

            /// Keys this file leaves unset (a complete theme leaves none).
            pub fn unset_keys(&self) -> Vec<&'static str> {
                let mut out = Vec::new();
                $( if self.$c.is_none() { out.push(stringify!($c)); } )*
                $( if self.$s.is_none() { out.push(stringify!($s)); } )*
                if self.heat_ramp.is_none() { out.push("heat_ramp"); }
                out
            }
        }
    };
}

with_theme_fields!(define_theme_file);
