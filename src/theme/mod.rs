//! Themes: colours and styles named by what they mean, not by where they go.
//!
//! A [`Theme`] is what the UI draws with: one ratatui `Style` (or `Color`) per
//! meaning (hot, cold, selection, error, …). Themes come from TOML files
//! ([`ThemeFile`]) in which every key is optional: a file patches a built-in
//! base (`default` unless it says `base = "…"`), as gitui's theme files do.
//! Built-ins live in `themes/*.toml` and are embedded in the binary.
//!
//! After loading, [`Theme::downgrade`] maps the theme to what the terminal can
//! show ([`ColorMode`], chosen by [`detect_color_mode`]).

/// Calls `$m!` with the theme's field lists, so that the runtime theme, the
/// file format, patching and downgrading cannot disagree on which fields exist.
macro_rules! with_theme_fields {
    ($m:ident) => {
        $m! {
            colors {
                /// Screen background behind every pane.
                background,
                /// Background of the header bar at the top.
                header_bg,
                /// A heat-grid cell with no data in its time bucket.
                heat_empty,
            }
            styles {
                /// Ordinary text.
                text,
                /// Secondary text: units, hints, timestamps.
                dim,
                /// Pane borders.
                border,
                /// The focused pane's border.
                border_focused,
                /// Pane titles.
                title,
                /// Column headers of tables.
                table_header,
                /// Hot data (top quartile of accesses).
                hot,
                /// Warm data.
                warm,
                /// Cold data.
                cold,
                /// Frozen data (idle, bottom quartile).
                frozen,
                /// Healthy, succeeded, connected.
                ok,
                /// Degraded, suspect, retrying.
                warn,
                /// Down, failed, error messages.
                error,
                /// The selected row.
                selection,
                /// Rows marked for an action (Space in the Warming pane).
                marked,
                /// Emphasis that carries no status (numbers to notice, links).
                accent,
                /// The filled part of gauges and progress bars.
                gauge_fill,
                /// The empty part of gauges and progress bars.
                gauge_empty,
                /// Sparklines.
                sparkline,
                /// The context banner (e.g. a context's name) when the context sets no colour.
                banner,
                /// The DEMO banner: must be impossible to miss.
                demo_banner,
                /// PAUSED / READ-ONLY badges.
                badge,
                /// Tab bar entries that are not focused.
                tab,
                /// The focused tab.
                tab_active,
                /// Keys in the hint bar and help overlay.
                key_hint,
                /// Overlays: help, confirm dialogs.
                popup,
            }
        }
    };
}

mod color;
mod error;
mod file;

use std::path::Path;
use std::sync::LazyLock;

use ratatui::style::{Color, Modifier, Style};

pub use color::{
    ANSI16, ColorMode, ansi_index, detect_color_mode, downgrade_color, luma, nearest_16,
    nearest_256, to_rgb, xterm_rgb,
};
pub use error::{InvalidTheme, ThemeError};
pub use file::{ColorValue, StyleValue, ThemeFile, parse_color};

/// Built-in themes: name and embedded TOML text.
const BUILTINS: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    (
        "high-contrast",
        include_str!("../../themes/high-contrast.toml"),
    ),
    ("mono", include_str!("../../themes/mono.toml")),
    ("dracula", include_str!("../../themes/dracula.toml")),
    ("gruvbox", include_str!("../../themes/gruvbox.toml")),
];

/// The names `t` cycles through, in order; `default` first.
const BUILTIN_NAMES: &[&str] = &[
    "default",
    "light",
    "high-contrast",
    "mono",
    "dracula",
    "gruvbox",
];

/// Shading glyphs from empty to full, for heat cells when there is no colour.
pub const HEAT_GLYPHS: [&str; 5] = [" ", "░", "▒", "▓", "█"];

/// Modifiers that keep a meaning visible once colours are stripped
/// ([`ColorMode::None`]); `themes/mono.toml` carries at least these too.
const COLORLESS_EMPHASIS: &[(&str, Modifier)] = &[
    ("dim", Modifier::DIM),
    ("border_focused", Modifier::BOLD),
    ("title", Modifier::BOLD),
    ("table_header", Modifier::BOLD),
    ("hot", Modifier::BOLD),
    ("frozen", Modifier::DIM),
    ("warn", Modifier::BOLD),
    ("error", Modifier::BOLD.union(Modifier::REVERSED)),
    ("selection", Modifier::REVERSED),
    ("marked", Modifier::BOLD.union(Modifier::UNDERLINED)),
    ("gauge_empty", Modifier::DIM),
    ("banner", Modifier::BOLD.union(Modifier::REVERSED)),
    ("demo_banner", Modifier::BOLD.union(Modifier::REVERSED)),
    ("badge", Modifier::BOLD.union(Modifier::REVERSED)),
    ("tab_active", Modifier::BOLD.union(Modifier::REVERSED)),
    ("key_hint", Modifier::BOLD),
];

/// How deep `base` may chain (a built-in patching a built-in patching …).
const MAX_BASE_DEPTH: usize = 4;

macro_rules! define_theme {
    (
        colors { $( $(#[$cm:meta])* $c:ident, )* }
        styles { $( $(#[$sm:meta])* $s:ident, )* }
    ) => {
        /// The runtime theme: a value for every meaning, ready to draw with.
        #[derive(Debug, Clone, PartialEq)]
        pub struct Theme {
            /// Display name (shown when `t` cycles themes).
            pub name: String,
            $( $(#[$cm])* pub $c: Color, )*
            $( $(#[$sm])* pub $s: Style, )*
            /// Heat-grid colours from cold to hot; empty when colours are off
            /// (draw [`HEAT_GLYPHS`] instead).
            pub heat_ramp: Vec<Color>,
        }

        impl Theme {
            /// A theme with nothing set: the starting point `default.toml` patches.
            fn blank(name: &str) -> Self {
                Self {
                    name: name.to_owned(),
                    $( $c: Color::Reset, )*
                    $( $s: Style::new(), )*
                    heat_ramp: Vec::new(),
                }
            }

            /// Every plain colour field with its key.
            pub fn named_colors(&self) -> Vec<(&'static str, Color)> {
                vec![$( (stringify!($c), self.$c), )*]
            }

            /// Every style field with its key, in file order.
            pub fn named_styles(&self) -> Vec<(&'static str, Style)> {
                vec![$( (stringify!($s), self.$s), )*]
            }

            /// The style field called `key`, for tables keyed by name.
            fn style_mut(&mut self, key: &str) -> Option<&mut Style> {
                match key {
                    $( stringify!($s) => Some(&mut self.$s), )*
                    _ => None,
                }
            }

            /// Applies `map` to every colour; `None` from it means "no colour".
            fn map_colors(&self, map: impl Fn(Color) -> Option<Color>) -> Self {
                let style = |s: Style| {
                    let mut out = s;
                    out.fg = s.fg.and_then(&map);
                    out.bg = s.bg.and_then(&map);
                    out
                };
                Self {
                    name: self.name.clone(),
                    $( $c: map(self.$c).unwrap_or(Color::Reset), )*
                    $( $s: style(self.$s), )*
                    heat_ramp: self.heat_ramp.iter().filter_map(|c| map(*c)).collect(),
                }
            }
        }
    };
}

with_theme_fields!(define_theme);

static DEFAULT: LazyLock<Theme> =
    LazyLock::new(|| Theme::builtin("default").unwrap_or_else(|_| Theme::blank("default")));

impl Default for Theme {
    /// The dark default theme (`themes/default.toml`).
    fn default() -> Self {
        DEFAULT.clone()
    }
}

/// Names of the built-in themes, in the order `t` cycles them.
pub fn builtin_names() -> &'static [&'static str] {
    BUILTIN_NAMES
}

impl Theme {
    /// Loads a theme: a built-in name, else the path of a TOML theme file.
    ///
    /// A built-in name wins over a file of the same name; write `./light` for the file.
    pub fn load(spec: &str) -> Result<Self, ThemeError> {
        if BUILTINS.iter().any(|(name, _)| *name == spec) {
            return Self::builtin(spec);
        }
        let path = Path::new(spec);
        let text = crate::files::read_text(path, crate::files::MAX_CONFIG_BYTES, "theme").map_err(
            |e| ThemeError::NotFound {
                spec: spec.to_owned(),
                builtins: BUILTIN_NAMES.join(", "),
                cause: match e {
                    crate::files::ReadError::Io(e) => e,
                    other => std::io::Error::other(other.to_string()),
                },
            },
        )?;
        let name = path
            .file_stem()
            .map_or_else(|| spec.to_owned(), |s| s.to_string_lossy().into_owned());
        Self::from_toml(&text, &path.display().to_string(), &name)
    }

    /// A built-in theme by name.
    pub fn builtin(name: &str) -> Result<Self, ThemeError> {
        Self::builtin_at_depth(name, 0)
    }

    fn builtin_at_depth(name: &str, depth: usize) -> Result<Self, ThemeError> {
        let file = format!("builtin:{name}");
        let Some((_, text)) = BUILTINS.iter().find(|(n, _)| *n == name) else {
            return Err(ThemeError::Invalid(InvalidTheme {
                file,
                line: None,
                key: None,
                reason: format!("no built-in theme `{name}`"),
            }));
        };
        if name == "default" {
            // The root of every chain: patches the blank theme.
            let parsed = parse_file(text, &file)?;
            let mut theme = Self::blank(name);
            parsed.patch(&mut theme);
            return Ok(theme);
        }
        Self::from_toml_at_depth(text, &file, name, depth)
    }

    /// Builds a theme from TOML text: its `base` (default `default`) patched by it.
    ///
    /// `file` names the source in errors; `name` is used when the text sets none.
    pub fn from_toml(text: &str, file: &str, name: &str) -> Result<Self, ThemeError> {
        Self::from_toml_at_depth(text, file, name, 0)
    }

    fn from_toml_at_depth(
        text: &str,
        file: &str,
        name: &str,
        depth: usize,
    ) -> Result<Self, ThemeError> {
        let parsed = parse_file(text, file)?;
        let base_name = parsed.base.as_deref().unwrap_or("default");
        let invalid_base =
            |reason: String| ThemeError::Invalid(InvalidTheme::at_key(file, text, "base", reason));
        if !BUILTIN_NAMES.contains(&base_name) {
            return Err(invalid_base(format!(
                "`{base_name}` is not a built-in theme: use one of {}",
                BUILTIN_NAMES.join(", ")
            )));
        }
        if depth >= MAX_BASE_DEPTH {
            return Err(invalid_base(format!(
                "`base` chains more than {MAX_BASE_DEPTH} themes deep"
            )));
        }
        let mut theme = if base_name == "default" {
            Self::default()
        } else {
            Self::builtin_at_depth(base_name, depth + 1)?
        };
        name.clone_into(&mut theme.name);
        parsed.patch(&mut theme);
        Ok(theme)
    }

    /// The whole-screen style: text colour on the theme background.
    pub fn base_style(&self) -> Style {
        let mut style = self.text;
        style.bg = Some(self.background);
        style
    }

    /// The heat-ramp colour for intensity `t` in 0..=1 (clamped; NaN counts as 0);
    /// `None` when the theme has no ramp (colours off): use [`Theme::heat_glyph`].
    pub fn heat_color(&self, t: f64) -> Option<Color> {
        let n = self.heat_ramp.len();
        if n == 0 {
            return None;
        }
        self.heat_ramp.get(ramp_index(t, n)).copied()
    }

    /// A shading glyph for intensity `t`: blank only for no activity (`t <= 0`).
    pub fn heat_glyph(t: f64) -> &'static str {
        if t.is_nan() || t <= 0.0 {
            return HEAT_GLYPHS[0];
        }
        HEAT_GLYPHS[1 + ramp_index(t, HEAT_GLYPHS.len() - 1)]
    }

    /// Whether any colour is set (false for `mono` and after downgrading to none).
    pub fn uses_color(&self) -> bool {
        let colored = |c: Option<Color>| c.is_some_and(|c| c != Color::Reset);
        self.named_colors().iter().any(|(_, c)| colored(Some(*c)))
            || self
                .named_styles()
                .iter()
                .any(|(_, s)| colored(s.fg) || colored(s.bg))
            || !self.heat_ramp.is_empty()
    }

    /// This theme as the terminal can show it.
    ///
    /// True colour keeps it as is; 256 and 16 colours map each RGB value to the
    /// nearest palette entry; none removes every colour and adds the modifiers
    /// that keep selection, badges and banners visible.
    pub fn downgrade(&self, mode: ColorMode) -> Self {
        let mut theme = self.map_colors(|c| downgrade_color(c, mode));
        if mode == ColorMode::None {
            for (key, modifier) in COLORLESS_EMPHASIS {
                if let Some(style) = theme.style_mut(key) {
                    style.add_modifier.insert(*modifier);
                    style.sub_modifier.remove(*modifier);
                }
            }
        }
        theme
    }
}

/// Index into a list of `n` entries for a 0..=1 value.
fn ramp_index(t: f64, n: usize) -> usize {
    let t = if t.is_nan() { 0.0 } else { t.clamp(0.0, 1.0) };
    // Truncation is intended: `t * n` lies in 0..=n.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let i = (t * n as f64) as usize;
    i.min(n - 1)
}

/// Parses theme TOML, turning TOML errors into located [`InvalidTheme`]s.
fn parse_file(text: &str, file: &str) -> Result<ThemeFile, ThemeError> {
    toml::from_str::<ThemeFile>(text)
        .map_err(|e| ThemeError::Invalid(InvalidTheme::from_toml(file, text, &e)))
}

#[cfg(test)]
mod tests;
