use ratatui::style::{Color, Modifier, Style};

use super::*;

fn fixture(kind: &str, name: &str) -> String {
    format!(
        "{}/src/theme/fixtures/{kind}/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

fn invalid(name: &str) -> InvalidTheme {
    match Theme::load(&fixture("invalid", name)) {
        Err(ThemeError::Invalid(e)) => e,
        other => panic!("{name}: expected an invalid-theme error, got {other:?}"),
    }
}

fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
    move |k| {
        pairs
            .iter()
            .find(|(name, _)| *name == k)
            .map(|(_, v)| (*v).to_owned())
    }
}

#[test]
fn every_builtin_loads_and_sets_every_key() {
    assert_eq!(builtin_names().len(), BUILTINS.len());
    for name in builtin_names() {
        let theme = Theme::load(name).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(theme.name, *name);
        let (_, text) = BUILTINS.iter().find(|(n, _)| n == name).unwrap();
        let file: ThemeFile = toml::from_str(text).unwrap();
        // A built-in that leaves keys unset would leak the dark default's
        // colours into, e.g., the light theme.
        assert_eq!(file.unset_keys(), Vec::<&str>::new(), "{name}");
    }
}

#[test]
fn default_is_the_dark_builtin() {
    let theme = Theme::default();
    assert_eq!(theme, Theme::load("default").unwrap());
    assert_eq!(theme.background, Color::Rgb(0x14, 0x18, 0x1f));
    assert_eq!(theme.hot.fg, Some(Color::Rgb(0xff, 0x5f, 0x4f)));
    assert!(theme.hot.add_modifier.contains(Modifier::BOLD));
    assert_eq!(theme.heat_ramp.len(), 8);
    assert!(theme.uses_color());
}

#[test]
fn builtins_differ_where_they_should() {
    let dark = Theme::default();
    let light = Theme::load("light").unwrap();
    assert!(super::luma(to_rgb(light.background).unwrap()) > 200);
    assert!(super::luma(to_rgb(dark.background).unwrap()) < 50);
    assert_ne!(light.selection, dark.selection);
}

#[test]
fn a_partial_file_patches_only_what_it_names() {
    let theme = Theme::load(&fixture("valid", "partial.toml")).unwrap();
    let base = Theme::default();
    assert_eq!(theme.name, "partial");
    assert_eq!(theme.hot.fg, Some(Color::Rgb(255, 0, 0)));
    // `hot` keeps the base's bold: only fg was named.
    assert_eq!(theme.hot.add_modifier, base.hot.add_modifier);
    assert_eq!(theme.selection.bg, Some(Color::Rgb(1, 2, 3)));
    assert_eq!(theme.selection.fg, base.selection.fg);
    let changed: Vec<&str> = theme
        .named_styles()
        .iter()
        .zip(base.named_styles())
        .filter(|(a, b)| a.1 != b.1)
        .map(|(a, _)| a.0)
        .collect();
    assert_eq!(changed, ["hot", "selection"]);
    assert_eq!(theme.named_colors(), base.named_colors());
    assert_eq!(theme.heat_ramp, base.heat_ramp);
}

#[test]
fn base_picks_the_builtin_to_patch() {
    let theme = Theme::load(&fixture("valid", "based.toml")).unwrap();
    let light = Theme::load("light").unwrap();
    assert_eq!(theme.name, "my light");
    assert_eq!(theme.background, light.background);
    assert_eq!(theme.error.fg, Some(Color::LightRed));
    assert!(theme.error.add_modifier.contains(Modifier::UNDERLINED));
    assert!(
        theme.error.add_modifier.contains(Modifier::BOLD),
        "kept from light"
    );
    assert_eq!(theme.text, light.text);
}

#[test]
fn false_removes_a_modifier_and_none_unsets_a_colour() {
    let theme = Theme::from_toml(
        "hot = { bold = false }\nselection = { bg = \"none\" }\nbackground = \"none\"",
        "inline",
        "t",
    )
    .unwrap();
    assert!(!theme.hot.add_modifier.contains(Modifier::BOLD));
    assert!(!theme.hot.sub_modifier.contains(Modifier::BOLD));
    assert_eq!(theme.selection.bg, None);
    assert_eq!(theme.background, Color::Reset);
}

#[test]
fn colour_forms() {
    let ok = |s: &str| parse_color(s).unwrap();
    assert_eq!(ok("#FF8000"), Some(Color::Rgb(255, 128, 0)));
    assert_eq!(ok("rgb(1, 2,3)"), Some(Color::Rgb(1, 2, 3)));
    assert_eq!(ok("light-blue"), Some(Color::LightBlue));
    assert_eq!(ok("Dark Grey"), Some(Color::DarkGray));
    assert_eq!(ok("bright_red"), Some(Color::LightRed));
    assert_eq!(ok("reset"), Some(Color::Reset));
    assert_eq!(ok("none"), None);
    assert_eq!(ok("208"), Some(Color::Indexed(208)));
    for bad in [
        "#fff",
        "#gggggg",
        "rgb(1,2)",
        "rgb(1,2,300)",
        "256",
        "purple-ish",
        "",
    ] {
        assert!(parse_color(bad).is_err(), "{bad} should be rejected");
    }
    let theme = Theme::from_toml("accent = 33\nborder = { fg = 240 }", "inline", "t").unwrap();
    assert_eq!(theme.accent.fg, Some(Color::Indexed(33)));
    assert_eq!(theme.border.fg, Some(Color::Indexed(240)));
}

#[test]
fn invalid_files_name_file_line_and_key() {
    let cases = [
        ("bad_colour.toml", 4, "hot.fg", "`#ff00zz` is not a colour"),
        ("unknown_key.toml", 3, "hotness", "unknown field `hotness`"),
        (
            "unknown_style_key.toml",
            2,
            "selection.blink",
            "unknown field `blink`",
        ),
        ("wrong_type.toml", 2, "warn.bold", "expected a boolean"),
        ("syntax.toml", 2, "cold", "invalid basic string"),
        (
            "bad_base.toml",
            3,
            "base",
            "`solarized` is not a built-in theme",
        ),
        ("index_range.toml", 2, "sparkline.fg", "out of range"),
        (
            "ramp_entry.toml",
            3,
            "heat_ramp",
            "`#12345` is not a colour",
        ),
    ];
    for (name, line, key, reason) in cases {
        let e = invalid(name);
        assert!(e.file.ends_with(name), "{name}: file {}", e.file);
        assert_eq!(e.line, Some(line), "{name}");
        assert_eq!(e.key.as_deref(), Some(key), "{name}");
        assert!(e.reason.contains(reason), "{name}: {}", e.reason);
        let shown = e.to_string();
        assert!(shown.contains(&format!("line {line}")), "{shown}");
        assert!(shown.contains(&format!("key `{key}`")), "{shown}");
    }
}

#[test]
fn a_style_of_the_wrong_type_says_what_is_expected() {
    let Err(ThemeError::Invalid(e)) = Theme::from_toml("\n\ntext = 12.5\n", "x.toml", "x") else {
        panic!("expected an error");
    };
    assert_eq!((e.line, e.key.as_deref()), (Some(3), Some("text")));
    assert!(
        e.reason.contains("expected a colour or a table"),
        "{}",
        e.reason
    );
}

#[test]
fn an_unknown_spec_lists_the_builtins() {
    let missing = fixture("valid", "does-not-exist.toml");
    let Err(e) = Theme::load(&missing) else {
        panic!("expected an error");
    };
    let shown = e.to_string();
    assert!(shown.contains("does-not-exist.toml"), "{shown}");
    assert!(shown.contains("default, light, high-contrast"), "{shown}");
}

#[test]
fn downgrade_to_256_uses_cube_and_grey_ramp() {
    assert_eq!(nearest_256((255, 0, 0)), 196);
    assert_eq!(nearest_256((0, 0, 0)), 16);
    assert_eq!(nearest_256((255, 255, 255)), 231);
    assert_eq!(nearest_256((128, 128, 128)), 244);
    assert_eq!(nearest_256((0x30, 0x30, 0x30)), 236);
    assert_eq!(nearest_256((0x5f, 0x87, 0xaf)), 67);
    for i in 16..=255u8 {
        assert_eq!(nearest_256(xterm_rgb(i)), i, "index {i} maps to itself");
    }
    let theme = Theme::default().downgrade(ColorMode::Ansi256);
    for (key, style) in theme.named_styles() {
        for c in [style.fg, style.bg].into_iter().flatten() {
            assert!(matches!(c, Color::Indexed(_)), "{key}: {c:?}");
        }
    }
}

#[test]
fn downgrade_to_16_picks_the_nearest_ansi_colour() {
    assert!(matches!(
        nearest_16((255, 0, 0)),
        Color::Red | Color::LightRed
    ));
    assert_eq!(nearest_16((255, 0, 0)), Color::LightRed);
    assert_eq!(nearest_16((10, 12, 20)), Color::Black);
    assert_eq!(nearest_16((128, 128, 128)), Color::DarkGray);
    assert_eq!(nearest_16((200, 200, 200)), Color::Gray);
    assert_eq!(
        downgrade_color(Color::Indexed(9), ColorMode::Ansi16),
        Some(Color::LightRed)
    );
    assert_eq!(
        downgrade_color(Color::Indexed(196), ColorMode::Ansi16),
        Some(Color::LightRed)
    );
    assert_eq!(
        downgrade_color(Color::Reset, ColorMode::Ansi16),
        Some(Color::Reset)
    );
    let theme = Theme::default().downgrade(ColorMode::Ansi16);
    assert_eq!(theme.background, Color::Black);
    for (key, style) in theme.named_styles() {
        for c in [style.fg, style.bg].into_iter().flatten() {
            assert!(ansi_index(c).is_some() || c == Color::Reset, "{key}: {c:?}");
        }
    }
    assert_eq!(
        Theme::default().downgrade(ColorMode::TrueColor),
        Theme::default()
    );
}

#[test]
fn downgrade_to_none_keeps_meaning_visible() {
    for name in builtin_names() {
        let theme = Theme::load(name).unwrap().downgrade(ColorMode::None);
        assert!(!theme.uses_color(), "{name}");
        assert!(theme.heat_ramp.is_empty());
        assert!(theme.selection.add_modifier.contains(Modifier::REVERSED));
        assert!(theme.badge.add_modifier.contains(Modifier::REVERSED));
        assert!(theme.demo_banner.add_modifier.contains(Modifier::REVERSED));
        // Marked rows look different from the selected row.
        assert_ne!(theme.marked.add_modifier, theme.selection.add_modifier);
    }
}

#[test]
fn mono_already_carries_the_colourless_emphasis() {
    let mono = Theme::load("mono").unwrap();
    assert!(!mono.uses_color());
    assert_eq!(mono.downgrade(ColorMode::None), mono);
}

#[test]
fn heat_ramp_and_glyphs() {
    let theme = Theme::default();
    let ramp = &theme.heat_ramp;
    assert_eq!(theme.heat_color(0.0), Some(ramp[0]));
    assert_eq!(theme.heat_color(1.0), ramp.last().copied());
    assert_eq!(theme.heat_color(7.0), ramp.last().copied());
    assert_eq!(theme.heat_color(f64::NAN), Some(ramp[0]));
    assert_eq!(theme.heat_color(0.5), Some(ramp[4]));
    assert_eq!(Theme::load("mono").unwrap().heat_color(0.9), None);
    assert_eq!(Theme::heat_glyph(0.0), " ");
    assert_eq!(Theme::heat_glyph(0.01), "░");
    assert_eq!(Theme::heat_glyph(1.0), "█");
    assert_eq!(Theme::heat_glyph(f64::NAN), " ");
}

#[test]
fn base_style_is_text_on_background() {
    let theme = Theme::default();
    let base = theme.base_style();
    assert_eq!(base.fg, theme.text.fg);
    assert_eq!(base.bg, Some(theme.background));
    assert_ne!(base, Style::new());
}

#[test]
fn color_mode_detection() {
    use ColorMode::*;
    type Env = &'static [(&'static str, &'static str)];
    let cases: [(&str, Env, ColorMode); 12] = [
        ("auto", &[], Ansi16),
        ("auto", &[("TERM", "xterm")], Ansi16),
        ("auto", &[("TERM", "xterm-256color")], Ansi256),
        (
            "auto",
            &[("TERM", "xterm-256color"), ("COLORTERM", "truecolor")],
            TrueColor,
        ),
        ("auto", &[("COLORTERM", "24bit")], TrueColor),
        ("auto", &[("TERM", "dumb")], None),
        (
            "auto",
            &[("NO_COLOR", "1"), ("COLORTERM", "truecolor")],
            None,
        ),
        (
            "auto",
            &[("NO_COLOR", ""), ("TERM", "xterm-256color")],
            Ansi256,
        ),
        ("never", &[("COLORTERM", "truecolor")], None),
        ("always", &[("NO_COLOR", "1")], Ansi16),
        (
            "always",
            &[("NO_COLOR", "1"), ("COLORTERM", "truecolor")],
            TrueColor,
        ),
        ("always", &[("TERM", "dumb")], Ansi16),
    ];
    for (flag, env, want) in cases {
        assert_eq!(
            detect_color_mode(flag, &env_of(env)),
            want,
            "{flag} {env:?}"
        );
    }
}

#[test]
fn every_fixture_file_is_judged_as_its_folder_says() {
    for (kind, should_load) in [("valid", true), ("invalid", false)] {
        let dir = fixture(kind, "");
        let mut names: Vec<_> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        assert!(names.len() >= 2, "{dir}");
        for path in names {
            let result = Theme::load(&path.display().to_string());
            assert_eq!(
                result.is_ok(),
                should_load,
                "{}: {result:?}",
                path.display()
            );
        }
    }
}
