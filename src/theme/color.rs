//! Colour tiers and the nearest-colour math behind them.
//!
//! Terminals differ: some draw 24-bit colour, many only the xterm 256-colour
//! palette, some only the 16 ANSI colours, and some users want none at all
//! (`NO_COLOR`, `--color never`). A theme is written once in full colour and
//! mapped down deterministically, so the same theme looks as close as the
//! terminal allows and snapshots stay byte-identical.

use ratatui::style::Color;

/// How much colour the terminal (or the user) allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ColorMode {
    /// 24-bit colour: `Rgb` values are drawn as they are.
    TrueColor,
    /// The xterm 256-colour palette: `Rgb` maps to the nearest of its cube or grey ramp.
    Ansi256,
    /// The 16 ANSI colours.
    Ansi16,
    /// No colour: only modifiers (bold, reversed, …) carry meaning.
    None,
}

/// Picks the colour tier from `--color` (`auto`, `always`, `never`) and the environment.
///
/// The environment is passed in as a lookup so that callers (and tests) decide
/// where it comes from. Rules, in order: `never` → none; `NO_COLOR` set and
/// non-empty → none unless `always`; `TERM=dumb` → none unless `always`;
/// `COLORTERM` of `truecolor`/`24bit` → true colour; a `TERM` containing
/// `256color` → 256 colours; otherwise 16 colours. An unknown flag counts as `auto`.
pub fn detect_color_mode(color_flag: &str, env: &impl Fn(&str) -> Option<String>) -> ColorMode {
    let flag = color_flag.trim().to_ascii_lowercase();
    if flag == "never" {
        return ColorMode::None;
    }
    let always = flag == "always";
    let set = |name: &str| env(name).filter(|v| !v.is_empty());
    let term = set("TERM").unwrap_or_default().to_ascii_lowercase();
    if !always && (set("NO_COLOR").is_some() || term == "dumb") {
        return ColorMode::None;
    }
    let colorterm = set("COLORTERM").unwrap_or_default().to_ascii_lowercase();
    if colorterm == "truecolor" || colorterm == "24bit" {
        ColorMode::TrueColor
    } else if term.contains("256color") {
        ColorMode::Ansi256
    } else {
        ColorMode::Ansi16
    }
}

/// The 16 ANSI colours as ratatui names them, in xterm index order 0–15.
pub const ANSI16: [Color; 16] = [
    Color::Black,
    Color::Red,
    Color::Green,
    Color::Yellow,
    Color::Blue,
    Color::Magenta,
    Color::Cyan,
    Color::Gray,
    Color::DarkGray,
    Color::LightRed,
    Color::LightGreen,
    Color::LightYellow,
    Color::LightBlue,
    Color::LightMagenta,
    Color::LightCyan,
    Color::White,
];

/// xterm's default RGB values for indices 0–15: a fixed palette, so exports
/// and downgrades do not depend on the user's terminal settings.
const ANSI16_RGB: [(u8, u8, u8); 16] = [
    (0, 0, 0),
    (205, 0, 0),
    (0, 205, 0),
    (205, 205, 0),
    (0, 0, 238),
    (205, 0, 205),
    (0, 205, 205),
    (229, 229, 229),
    (127, 127, 127),
    (255, 0, 0),
    (0, 255, 0),
    (255, 255, 0),
    (92, 92, 255),
    (255, 0, 255),
    (0, 255, 255),
    (255, 255, 255),
];

/// Channel levels of the xterm 6×6×6 colour cube (indices 16–231).
const CUBE_LEVELS: [u8; 6] = [0, 95, 135, 175, 215, 255];

/// The xterm index (0–15) of a named ANSI colour; `None` for `Reset`, `Rgb` and `Indexed`.
pub fn ansi_index(color: Color) -> Option<u8> {
    ANSI16
        .iter()
        .position(|c| *c == color)
        .and_then(|i| u8::try_from(i).ok())
}

/// RGB of an xterm 256-colour index under the fixed xterm palette.
pub fn xterm_rgb(index: u8) -> (u8, u8, u8) {
    match index {
        0..=15 => ANSI16_RGB[usize::from(index)],
        16..=231 => {
            let i = index - 16;
            (
                CUBE_LEVELS[usize::from(i / 36)],
                CUBE_LEVELS[usize::from((i / 6) % 6)],
                CUBE_LEVELS[usize::from(i % 6)],
            )
        }
        _ => {
            let v = 8 + 10 * (index - 232);
            (v, v, v)
        }
    }
}

/// RGB of a colour under the fixed xterm palette; `None` for `Reset` (the
/// caller decides what the terminal's default is).
pub fn to_rgb(color: Color) -> Option<(u8, u8, u8)> {
    match color {
        Color::Reset => None,
        Color::Rgb(r, g, b) => Some((r, g, b)),
        Color::Indexed(i) => Some(xterm_rgb(i)),
        named => ansi_index(named).map(xterm_rgb),
    }
}

fn dist2(a: (u8, u8, u8), b: (u8, u8, u8)) -> u32 {
    let d = |x: u8, y: u8| {
        let v = u32::from(x.abs_diff(y));
        v * v
    };
    d(a.0, b.0) + d(a.1, b.1) + d(a.2, b.2)
}

/// Index (0–5) of the cube level nearest to `v` (midpoints 47.5, 115, 155, 195, 235).
fn cube_step(v: u8) -> u8 {
    match v {
        0..=47 => 0,
        48..=114 => 1,
        _ => (v - 35) / 40,
    }
}

/// The nearest xterm 256-colour index to an RGB value, chosen from the colour
/// cube and the grey ramp (indices 16–255). The 16 system colours are left out
/// on purpose: terminals redefine them, the cube and ramp are fixed.
pub fn nearest_256(rgb: (u8, u8, u8)) -> u8 {
    let (r, g, b) = rgb;
    let (cr, cg, cb) = (cube_step(r), cube_step(g), cube_step(b));
    let cube_index = 16 + 36 * cr + 6 * cg + cb;
    let cube_rgb = xterm_rgb(cube_index);

    let avg = (u16::from(r) + u16::from(g) + u16::from(b)) / 3;
    // Grey ramp: 8, 18, …, 238 at indices 232–255; round to the nearest step.
    let step = (avg.saturating_sub(3) / 10).min(23);
    let grey_index = 232 + u8::try_from(step).unwrap_or(23);
    let grey_rgb = xterm_rgb(grey_index);

    if dist2(rgb, grey_rgb) < dist2(rgb, cube_rgb) {
        grey_index
    } else {
        cube_index
    }
}

/// The nearest of the 16 ANSI colours (xterm default palette, squared RGB
/// distance; a tie goes to the lower index).
pub fn nearest_16(rgb: (u8, u8, u8)) -> Color {
    let mut best = 0;
    let mut best_d = u32::MAX;
    for (i, c) in ANSI16_RGB.iter().enumerate() {
        let d = dist2(rgb, *c);
        if d < best_d {
            best = i;
            best_d = d;
        }
    }
    ANSI16[best]
}

/// Maps one colour to what `mode` can show; `None` for [`ColorMode::None`]
/// (the caller decides whether no colour means `Reset` or "inherit").
pub fn downgrade_color(color: Color, mode: ColorMode) -> Option<Color> {
    match (mode, color) {
        (ColorMode::None, _) => None,
        (_, Color::Reset) | (ColorMode::TrueColor, _) => Some(color),
        (ColorMode::Ansi256, Color::Rgb(r, g, b)) => Some(Color::Indexed(nearest_256((r, g, b)))),
        (ColorMode::Ansi256, other) => Some(other),
        (ColorMode::Ansi16, Color::Indexed(i)) if i < 16 => Some(ANSI16[usize::from(i)]),
        (ColorMode::Ansi16, Color::Indexed(i)) => Some(nearest_16(xterm_rgb(i))),
        (ColorMode::Ansi16, Color::Rgb(r, g, b)) => Some(nearest_16((r, g, b))),
        (ColorMode::Ansi16, named) => Some(named),
    }
}

/// Relative luminance (0–255 scale, integer Rec. 601 weights) used to pick a
/// readable default foreground for a given background.
pub fn luma(rgb: (u8, u8, u8)) -> u32 {
    (299 * u32::from(rgb.0) + 587 * u32::from(rgb.1) + 114 * u32::from(rgb.2)) / 1000
}
