//! Screen export: a rendered frame (a ratatui [`Buffer`]) as plain text, as
//! text with ANSI colour escapes, or as a self-contained SVG picture.
//!
//! Used by `heliostat snapshot` and the `S` key. Every output is a pure
//! function of the buffer (and, for SVG, of the theme background and font):
//! the same frame gives the same bytes, so screenshots can be committed and
//! compared.
//!
//! Wide characters: ratatui writes a wide grapheme (e.g. `界`) into one cell
//! and resets the cells it covers to blanks (`Buffer::set_stringn`). Like
//! ratatui's own `Debug` for `Buffer`, the exporters skip the cells hidden
//! behind a multi-width symbol, so each row keeps its on-screen width.

use std::fmt::Write as _;

use ratatui::buffer::{Buffer, Cell, CellWidth};
use ratatui::style::{Color, Modifier};

use crate::theme::{ansi_index, luma, to_rgb};

/// One cell that is visible on screen: its column and how many columns it spans.
struct Visible<'a> {
    col: usize,
    width: usize,
    cell: &'a Cell,
}

impl Visible<'_> {
    /// The symbol to print; an empty symbol prints as a blank so columns stay aligned.
    fn symbol(&self) -> &str {
        match self.cell.symbol() {
            "" => " ",
            s => s,
        }
    }
}

/// The rows of a buffer, each as its visible cells (cells hidden behind a
/// wide symbol are left out).
fn rows(buf: &Buffer) -> Vec<Vec<Visible<'_>>> {
    let width = usize::from(buf.area.width);
    if width == 0 {
        return Vec::new();
    }
    buf.content
        .chunks(width)
        .map(|row| {
            let mut out = Vec::with_capacity(row.len());
            let mut hidden = 0usize;
            for (col, cell) in row.iter().enumerate() {
                if hidden > 0 {
                    hidden -= 1;
                    continue;
                }
                let w = usize::from(cell.cell_width()).max(1).min(width - col);
                hidden = w - 1;
                out.push(Visible {
                    col,
                    width: w,
                    cell,
                });
            }
            out
        })
        .collect()
}

/// The frame as plain text: one line per row, trailing blanks trimmed, each
/// line ending in `\n`.
pub fn to_text(buf: &Buffer) -> String {
    let mut out = String::new();
    for row in rows(buf) {
        let mut line = String::new();
        for v in &row {
            line.push_str(v.symbol());
        }
        out.push_str(line.trim_end_matches(' '));
        out.push('\n');
    }
    out
}

/// Modifiers that make a blank cell visible (so it is not trimmed).
const SHOWS_ON_BLANK: Modifier = Modifier::REVERSED
    .union(Modifier::UNDERLINED)
    .union(Modifier::CROSSED_OUT);

/// The look of a cell as the ANSI exporter compares it.
type Look = (Color, Color, Modifier);

const PLAIN: Look = (Color::Reset, Color::Reset, Modifier::empty());

fn look(cell: &Cell) -> Look {
    (cell.fg, cell.bg, cell.modifier)
}

/// The frame with SGR escape sequences, for `cat` in a terminal.
///
/// An escape is written only where the style changes; each one starts with a
/// reset (`0`) so it never depends on the one before. Lines end in a reset.
/// Trailing blanks are trimmed only where they have no visible style.
pub fn to_ansi(buf: &Buffer) -> String {
    let mut out = String::new();
    for row in rows(buf) {
        let keep = row
            .iter()
            .rposition(|v| {
                v.symbol() != " "
                    || v.cell.bg != Color::Reset
                    || v.cell.modifier.intersects(SHOWS_ON_BLANK)
            })
            .map_or(0, |i| i + 1);
        let mut current = PLAIN;
        for v in &row[..keep] {
            let next = look(v.cell);
            if next != current {
                push_sgr(&mut out, next);
                current = next;
            }
            out.push_str(v.symbol());
        }
        if current != PLAIN {
            out.push_str("\x1b[0m");
        }
        out.push('\n');
    }
    out
}

/// Writes one SGR sequence that sets exactly `look` from a reset state.
fn push_sgr(out: &mut String, (fg, bg, modifier): Look) {
    out.push_str("\x1b[0");
    const CODES: [(Modifier, u8); 9] = [
        (Modifier::BOLD, 1),
        (Modifier::DIM, 2),
        (Modifier::ITALIC, 3),
        (Modifier::UNDERLINED, 4),
        (Modifier::SLOW_BLINK, 5),
        (Modifier::RAPID_BLINK, 6),
        (Modifier::REVERSED, 7),
        (Modifier::HIDDEN, 8),
        (Modifier::CROSSED_OUT, 9),
    ];
    for (m, code) in CODES {
        if modifier.contains(m) {
            let _ = write!(out, ";{code}");
        }
    }
    push_color(out, fg, 30);
    push_color(out, bg, 40);
    out.push('m');
}

/// Colour parameters: `base` is 30 for foreground, 40 for background.
fn push_color(out: &mut String, color: Color, base: u8) {
    match color {
        Color::Reset => {}
        Color::Rgb(r, g, b) => {
            let _ = write!(out, ";{};2;{r};{g};{b}", base + 8);
        }
        Color::Indexed(i) => {
            let _ = write!(out, ";{};5;{i}", base + 8);
        }
        named => {
            if let Some(i) = ansi_index(named) {
                // 0–7 → 30–37 / 40–47; 8–15 → 90–97 / 100–107.
                let code = if i < 8 { base + i } else { base + 60 + i - 8 };
                let _ = write!(out, ";{code}");
            }
        }
    }
}

/// Font and cell geometry of an SVG export.
#[derive(Debug, Clone, PartialEq)]
pub struct SvgFont {
    /// CSS font-family list; monospace fonts only, or columns drift.
    pub family: String,
    /// Font size in px.
    pub size_px: f64,
    /// Width of one terminal cell in px.
    pub cell_width_px: f64,
    /// Height of one terminal cell (line height) in px.
    pub cell_height_px: f64,
}

impl Default for SvgFont {
    /// 14 px text in 8.4 × 17 px cells, common monospace fonts first.
    fn default() -> Self {
        Self {
            family: "'DejaVu Sans Mono', 'Menlo', 'Consolas', 'Liberation Mono', monospace"
                .to_owned(),
            size_px: 14.0,
            cell_width_px: 8.4,
            cell_height_px: 17.0,
        }
    }
}

type Rgb = (u8, u8, u8);

/// Text attributes that split SVG text runs.
#[derive(Clone, Copy, PartialEq, Eq)]
struct TextLook {
    fill: Rgb,
    bold: bool,
    italic: bool,
    underline: bool,
    strike: bool,
    dim: bool,
}

impl TextLook {
    /// Whether a blank in this look still draws something (a line).
    fn draws_blank(self) -> bool {
        self.underline || self.strike
    }
}

/// Resolves cell colours against the export's default foreground and background.
struct Palette {
    fg: Rgb,
    bg: Rgb,
}

impl Palette {
    fn new(theme_background: Color) -> Self {
        let bg = to_rgb(theme_background).unwrap_or((0, 0, 0));
        // A readable default text colour for `Reset` foregrounds.
        let fg = if luma(bg) > 128 {
            (0, 0, 0)
        } else {
            (229, 229, 229)
        };
        Self { fg, bg }
    }

    /// Effective (text colour, background) of a cell, reverse video applied.
    fn colors(&self, cell: &Cell) -> (Rgb, Rgb) {
        let fg = to_rgb(cell.fg).unwrap_or(self.fg);
        let bg = to_rgb(cell.bg).unwrap_or(self.bg);
        if cell.modifier.contains(Modifier::REVERSED) {
            (bg, fg)
        } else {
            (fg, bg)
        }
    }

    fn text_look(&self, cell: &Cell) -> TextLook {
        let m = cell.modifier;
        TextLook {
            fill: self.colors(cell).0,
            bold: m.contains(Modifier::BOLD),
            italic: m.contains(Modifier::ITALIC),
            underline: m.contains(Modifier::UNDERLINED),
            strike: m.contains(Modifier::CROSSED_OUT),
            dim: m.contains(Modifier::DIM),
        }
    }
}

/// A stable number format: at most two decimals, no trailing zeros.
fn num(v: f64) -> String {
    let s = format!("{v:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" {
        "0".to_owned()
    } else {
        s.to_owned()
    }
}

fn hex((r, g, b): Rgb) -> String {
    format!("#{r:02x}{g:02x}{b:02x}")
}

/// Escapes text for XML content and attribute values; characters XML 1.0
/// forbids become U+FFFD.
fn xml_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if u32::from(c) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => {
                out.push('\u{FFFD}');
            }
            c => out.push(c),
        }
    }
    out
}

/// Cell geometry in px.
struct Grid {
    w: f64,
    h: f64,
    baseline: f64,
}

impl Grid {
    fn x(&self, col: usize) -> String {
        num(col as f64 * self.w)
    }
    fn y(&self, row: usize) -> String {
        num(row as f64 * self.h)
    }
    fn span(&self, cols: usize) -> String {
        num(cols as f64 * self.w)
    }
}

/// The frame as a self-contained SVG: a background, one `<rect>` per run of
/// equal background colour in a row, one `<text>` per run of equal text
/// style in a row.
///
/// Named and indexed colours use the fixed xterm palette; `Reset` uses
/// `theme_background` (black when that is `Reset` too) and a text colour that
/// reads on it. Output is byte-for-byte deterministic.
pub fn to_svg(buf: &Buffer, theme_background: Color, font: &SvgFont) -> String {
    let palette = Palette::new(theme_background);
    let grid = Grid {
        w: font.cell_width_px,
        h: font.cell_height_px,
        baseline: (font.cell_height_px - font.size_px) / 2.0 + 0.8 * font.size_px,
    };
    let cols = usize::from(buf.area.width);
    let rows = rows(buf);
    let width = grid.span(cols);
    let height = num(rows.len() as f64 * grid.h);

    let mut out = String::new();
    let _ = writeln!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{width}\" height=\"{height}\" \
         viewBox=\"0 0 {width} {height}\" font-family=\"{}\" font-size=\"{}\">",
        xml_escape(&font.family),
        num(font.size_px)
    );
    let _ = writeln!(
        out,
        "<rect width=\"{width}\" height=\"{height}\" fill=\"{}\"/>",
        hex(palette.bg)
    );

    out.push_str("<g shape-rendering=\"crispEdges\">\n");
    for (y, row) in rows.iter().enumerate() {
        push_bg_runs(&mut out, &palette, &grid, y, row);
    }
    out.push_str("</g>\n");

    for (y, row) in rows.iter().enumerate() {
        push_text_runs(&mut out, &palette, &grid, y, row);
    }
    out.push_str("</svg>\n");
    out
}

/// One `<rect>` per run of equal background that differs from the page's.
fn push_bg_runs(out: &mut String, palette: &Palette, grid: &Grid, y: usize, row: &[Visible<'_>]) {
    let mut run: Option<(usize, usize, Rgb)> = None; // (start col, end col, colour)
    let flush = |out: &mut String, run: Option<(usize, usize, Rgb)>| {
        if let Some((start, end, color)) = run
            && color != palette.bg
        {
            let _ = writeln!(
                out,
                "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{}\"/>",
                grid.x(start),
                grid.y(y),
                grid.span(end - start),
                num(grid.h),
                hex(color)
            );
        }
    };
    for v in row {
        let bg = palette.colors(v.cell).1;
        match &mut run {
            Some((_, end, color)) if *color == bg && *end == v.col => *end = v.col + v.width,
            _ => {
                flush(out, run);
                run = Some((v.col, v.col + v.width, bg));
            }
        }
    }
    flush(out, run);
}

/// A run of text in one look.
struct TextRun {
    start: usize,
    end: usize,
    look: TextLook,
    text: String,
}

/// One `<text>` per run of equal text style. Blanks without underline join
/// the run around them; runs are trimmed of blanks at both ends.
fn push_text_runs(out: &mut String, palette: &Palette, grid: &Grid, y: usize, row: &[Visible<'_>]) {
    let mut run: Option<TextRun> = None;
    for v in row {
        let look = palette.text_look(v.cell);
        let hidden = v.cell.modifier.contains(Modifier::HIDDEN);
        let symbol = if hidden { " " } else { v.symbol() };
        let blank = symbol.chars().all(|c| c == ' ');
        if blank && !look.draws_blank() {
            // A plain blank joins a run whose blanks draw nothing; it never
            // starts one, and it ends an underlined or struck-through run.
            match &mut run {
                Some(r) if !r.look.draws_blank() => {
                    r.text.push_str(symbol);
                    r.end = v.col + v.width;
                }
                Some(_) => {
                    if let Some(r) = run.take() {
                        push_text(out, grid, y, r);
                    }
                }
                None => {}
            }
            continue;
        }
        match &mut run {
            Some(r) if r.look == look => {
                r.text.push_str(symbol);
                r.end = v.col + v.width;
            }
            _ => {
                if let Some(r) = run.take() {
                    push_text(out, grid, y, r);
                }
                run = Some(TextRun {
                    start: v.col,
                    end: v.col + v.width,
                    look,
                    text: symbol.to_owned(),
                });
            }
        }
    }
    if let Some(r) = run {
        push_text(out, grid, y, r);
    }
}

fn push_text(out: &mut String, grid: &Grid, y: usize, mut run: TextRun) {
    if !run.look.draws_blank() {
        let trimmed = run.text.trim_end_matches(' ').len();
        run.end -= run.text.len() - trimmed;
        run.text.truncate(trimmed);
    }
    if run.text.is_empty() {
        return;
    }
    let look = run.look;
    let _ = write!(
        out,
        "<text x=\"{}\" y=\"{}\" fill=\"{}\"",
        grid.x(run.start),
        num(y as f64 * grid.h + grid.baseline),
        hex(look.fill)
    );
    if look.bold {
        out.push_str(" font-weight=\"bold\"");
    }
    if look.italic {
        out.push_str(" font-style=\"italic\"");
    }
    match (look.underline, look.strike) {
        (true, true) => out.push_str(" text-decoration=\"underline line-through\""),
        (true, false) => out.push_str(" text-decoration=\"underline\""),
        (false, true) => out.push_str(" text-decoration=\"line-through\""),
        (false, false) => {}
    }
    if look.dim {
        out.push_str(" opacity=\"0.6\"");
    }
    if !run.text.is_ascii() {
        // Box drawing and wide glyphs may come from a fallback font with other
        // advances: pin the run to its cells so later columns stay aligned.
        let _ = write!(
            out,
            " textLength=\"{}\" lengthAdjust=\"spacingAndGlyphs\"",
            grid.span(run.end - run.start)
        );
    }
    let _ = writeln!(
        out,
        " xml:space=\"preserve\">{}</text>",
        xml_escape(&run.text)
    );
}

#[cfg(test)]
mod tests {
    use ratatui::buffer::Buffer;
    use ratatui::layout::Rect;
    use ratatui::style::{Color, Modifier, Style};

    use super::*;

    /// A 12×3 frame: styled text, a wide character, XML-special characters.
    fn sample() -> Buffer {
        let mut buf = Buffer::empty(Rect::new(0, 0, 12, 3));
        let hot = Style::new()
            .fg(Color::Rgb(255, 95, 79))
            .add_modifier(Modifier::BOLD);
        buf.set_string(0, 0, "hot", hot);
        buf.set_string(4, 0, "cold", Style::new().fg(Color::Indexed(75)));
        buf.set_string(0, 1, "界x", Style::new().fg(Color::LightRed));
        buf.set_string(
            4,
            1,
            "sel",
            Style::new()
                .bg(Color::Blue)
                .add_modifier(Modifier::REVERSED),
        );
        buf.set_string(
            0,
            2,
            "<a&b>\"'",
            Style::new().add_modifier(Modifier::UNDERLINED),
        );
        buf
    }

    #[test]
    fn text_skips_wide_char_continuations_and_trims() {
        assert_eq!(to_text(&sample()), "hot cold\n界x sel\n<a&b>\"'\n");
        assert_eq!(to_text(&Buffer::empty(Rect::new(0, 0, 3, 2))), "\n\n");
        assert_eq!(to_text(&Buffer::empty(Rect::new(0, 0, 0, 0))), "");
    }

    #[test]
    fn text_of_a_wide_char_at_the_last_column_stays_in_the_row() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 3, 1));
        buf.set_string(0, 0, "ab", Style::new());
        // Too wide for the one column left: ratatui leaves it out.
        buf.set_string(2, 0, "界", Style::new());
        assert_eq!(to_text(&buf), "ab\n");
    }

    #[test]
    fn ansi_has_the_expected_sequences() {
        let ansi = to_ansi(&sample());
        let lines: Vec<&str> = ansi.lines().collect();
        assert_eq!(
            lines[0],
            "\x1b[0;1;38;2;255;95;79mhot\x1b[0m \x1b[0;38;5;75mcold\x1b[0m"
        );
        assert_eq!(lines[1], "\x1b[0;91m界x\x1b[0m \x1b[0;7;44msel\x1b[0m");
        assert_eq!(lines[2], "\x1b[0;4m<a&b>\"'\x1b[0m");
        assert!(ansi.ends_with('\n'));
        // Plain text outside the escapes equals the text export.
        let stripped: String = strip_escapes(&ansi);
        assert_eq!(stripped, to_text(&sample()));
    }

    #[test]
    fn ansi_keeps_trailing_blanks_that_show() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 4, 1));
        buf.set_string(0, 0, "a   ", Style::new().bg(Color::Gray));
        assert_eq!(to_ansi(&buf), "\x1b[0;47ma   \x1b[0m\n");
        let plain = Buffer::empty(Rect::new(0, 0, 4, 1));
        assert_eq!(to_ansi(&plain), "\n");
    }

    #[test]
    fn ansi_named_colour_codes() {
        let mut out = String::new();
        push_color(&mut out, Color::Black, 30);
        push_color(&mut out, Color::Gray, 30);
        push_color(&mut out, Color::DarkGray, 30);
        push_color(&mut out, Color::White, 40);
        push_color(&mut out, Color::Reset, 40);
        assert_eq!(out, ";30;37;90;107");
    }

    fn strip_escapes(s: &str) -> String {
        let mut out = String::new();
        let mut in_escape = false;
        for c in s.chars() {
            match (in_escape, c) {
                (false, '\x1b') => in_escape = true,
                (true, 'm') => in_escape = false,
                (true, _) => {}
                (false, c) => out.push(c),
            }
        }
        out
    }

    /// A small well-formedness check: tags balance, attributes are quoted,
    /// text has no raw `<` or stray `&`.
    fn assert_well_formed(xml: &str) {
        let mut stack: Vec<String> = Vec::new();
        let mut rest = xml;
        while let Some(open) = rest.find('<') {
            check_text(&rest[..open]);
            let close = rest[open..].find('>').expect("unclosed tag") + open;
            let tag = &rest[open + 1..close];
            assert!(!tag.contains('<'), "'<' inside tag: {tag}");
            if let Some(name) = tag.strip_prefix('/') {
                assert_eq!(stack.pop().as_deref(), Some(name), "mismatched </{name}>");
            } else {
                let self_closing = tag.ends_with('/');
                let body = tag.trim_end_matches('/');
                let name = body.split_whitespace().next().expect("tag name");
                check_attributes(&body[name.len()..]);
                if !self_closing {
                    stack.push(name.to_owned());
                }
            }
            rest = &rest[close + 1..];
        }
        check_text(rest);
        assert!(stack.is_empty(), "unclosed: {stack:?}");
    }

    fn check_text(text: &str) {
        assert!(!text.contains('>'), "raw '>' in text: {text}");
        let mut parts = text.split('&');
        parts.next();
        for part in parts {
            let entity = part.split(';').next().unwrap_or("");
            assert!(
                ["amp", "lt", "gt", "quot", "apos"].contains(&entity),
                "bad entity in {text}"
            );
        }
    }

    fn check_attributes(mut attrs: &str) {
        loop {
            attrs = attrs.trim_start();
            if attrs.is_empty() {
                return;
            }
            let eq = attrs.find('=').expect("attribute without value");
            assert!(!attrs[..eq].contains(char::is_whitespace), "{attrs}");
            assert_eq!(&attrs[eq + 1..eq + 2], "\"", "unquoted attribute: {attrs}");
            let end = attrs[eq + 2..].find('"').expect("unterminated attribute") + eq + 2;
            check_text(&attrs[eq + 2..end]);
            attrs = &attrs[end + 1..];
        }
    }

    #[test]
    fn the_checker_rejects_broken_xml() {
        for bad in ["<a><b></a></b>", "<a>x & y</a>", "<a x=1/>", "<a>"] {
            let result = std::panic::catch_unwind(|| assert_well_formed(bad));
            assert!(result.is_err(), "{bad} passed");
        }
    }

    #[test]
    fn svg_is_well_formed_escaped_and_deterministic() {
        let buf = sample();
        let font = SvgFont::default();
        let svg = to_svg(&buf, Color::Rgb(0x14, 0x18, 0x1f), &font);
        assert_well_formed(&svg);
        assert_eq!(svg, to_svg(&buf, Color::Rgb(0x14, 0x18, 0x1f), &font));
        assert!(svg.starts_with(
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"100.8\" height=\"51\""
        ));
        assert!(svg.contains("<rect width=\"100.8\" height=\"51\" fill=\"#14181f\"/>"));
        assert!(svg.contains(">&lt;a&amp;b&gt;&quot;&apos;</text>"), "{svg}");
        assert!(svg.contains("font-family=\"&apos;DejaVu Sans Mono&apos;"));
    }

    #[test]
    fn svg_runs_carry_style() {
        let svg = to_svg(&sample(), Color::Rgb(0x14, 0x18, 0x1f), &SvgFont::default());
        let texts: Vec<&str> = svg.lines().filter(|l| l.starts_with("<text")).collect();
        assert_eq!(
            texts,
            [
                "<text x=\"0\" y=\"12.7\" fill=\"#ff5f4f\" font-weight=\"bold\" xml:space=\"preserve\">hot</text>",
                "<text x=\"33.6\" y=\"12.7\" fill=\"#5fafff\" xml:space=\"preserve\">cold</text>",
                // The wide char spans two cells: "界x" covers 3 columns.
                "<text x=\"0\" y=\"29.7\" fill=\"#ff0000\" textLength=\"25.2\" lengthAdjust=\"spacingAndGlyphs\" xml:space=\"preserve\">界x</text>",
                // Reversed: text in the blue background, on the default text colour.
                "<text x=\"33.6\" y=\"29.7\" fill=\"#0000ee\" xml:space=\"preserve\">sel</text>",
                "<text x=\"0\" y=\"46.7\" fill=\"#e5e5e5\" text-decoration=\"underline\" xml:space=\"preserve\">&lt;a&amp;b&gt;&quot;&apos;</text>",
            ]
        );
        let rects: Vec<&str> = svg.lines().filter(|l| l.starts_with("<rect x")).collect();
        // The reversed cells swap: background becomes the default text colour.
        assert_eq!(
            rects,
            ["<rect x=\"33.6\" y=\"17\" width=\"25.2\" height=\"17\" fill=\"#e5e5e5\"/>"]
        );
    }

    #[test]
    fn svg_merges_runs_across_plain_blanks() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 10, 1));
        let s = Style::new().fg(Color::Green).bg(Color::Red);
        buf.set_string(0, 0, "a b  c", s);
        let svg = to_svg(&buf, Color::Reset, &SvgFont::default());
        assert_eq!(svg.matches("<text").count(), 1, "{svg}");
        assert!(svg.contains(">a b  c</text>"));
        assert_eq!(svg.matches("<rect x").count(), 1, "{svg}");
        assert!(svg.contains("width=\"50.4\" height=\"17\" fill=\"#cd0000\""));
    }

    #[test]
    fn svg_on_a_light_background_uses_dark_default_text() {
        let mut buf = Buffer::empty(Rect::new(0, 0, 2, 1));
        buf.set_string(0, 0, "x", Style::new());
        let svg = to_svg(&buf, Color::Rgb(250, 250, 250), &SvgFont::default());
        assert!(
            svg.contains("fill=\"#000000\" xml:space=\"preserve\">x</text>"),
            "{svg}"
        );
    }

    #[test]
    fn numbers_are_formatted_stably() {
        assert_eq!(num(3.0 * 8.4), "25.2");
        assert_eq!(num(17.0), "17");
        assert_eq!(num(0.0), "0");
        assert_eq!(num(1.0 / 3.0), "0.33");
    }
}
