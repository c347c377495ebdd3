//! `LeanBackend` writes fewer bytes than the stock backend; these tests read
//! what it writes back through a terminal emulator (`vt100`) and check the
//! screen equals the frame ratatui asked for, cell by cell: text, wide
//! glyphs, colours and modifiers, over a first frame and the diff after it.

use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::{Terminal, TerminalOptions, Viewport};

use super::LeanBackend;
use crate::app::driver::DemoDriver;
use crate::app::run::chrome;
use crate::keymap::Keymap;
use crate::snapshot::render_buffer;
use crate::theme::Theme;

fn vt_color(c: Color) -> vt100::Color {
    match c {
        Color::Reset => vt100::Color::Default,
        Color::Black => vt100::Color::Idx(0),
        Color::Red => vt100::Color::Idx(1),
        Color::Green => vt100::Color::Idx(2),
        Color::Yellow => vt100::Color::Idx(3),
        Color::Blue => vt100::Color::Idx(4),
        Color::Magenta => vt100::Color::Idx(5),
        Color::Cyan => vt100::Color::Idx(6),
        Color::Gray => vt100::Color::Idx(7),
        Color::DarkGray => vt100::Color::Idx(8),
        Color::LightRed => vt100::Color::Idx(9),
        Color::LightGreen => vt100::Color::Idx(10),
        Color::LightYellow => vt100::Color::Idx(11),
        Color::LightBlue => vt100::Color::Idx(12),
        Color::LightMagenta => vt100::Color::Idx(13),
        Color::LightCyan => vt100::Color::Idx(14),
        Color::White => vt100::Color::Idx(15),
        Color::Indexed(i) => vt100::Color::Idx(i),
        Color::Rgb(r, g, b) => vt100::Color::Rgb(r, g, b),
    }
}

/// Draws each buffer in turn through a `LeanBackend`, as the console does.
fn written(frames: &[Buffer]) -> Vec<u8> {
    // crossterm leaves colours out under NO_COLOR (the test command sets
    // it); the console decides colours itself and forces them the same way.
    crossterm::style::force_color_output(true);
    let area = frames[0].area;
    let opts = TerminalOptions {
        viewport: Viewport::Fixed(area),
    };
    let mut term = Terminal::with_options(LeanBackend::new(Vec::new()), opts).unwrap();
    for f in frames {
        term.draw(|frame| frame.buffer_mut().clone_from(f)).unwrap();
    }
    std::mem::take(&mut term.backend_mut().writer)
}

/// Every difference between what the emulator shows and `want`.
fn differences(bytes: &[u8], want: &Buffer) -> Vec<String> {
    let area = want.area;
    let mut vt = vt100::Parser::new(area.height, area.width, 0);
    vt.process(bytes);
    let screen = vt.screen();
    let mut out = Vec::new();
    for y in 0..area.height {
        let mut skip = 0;
        for x in 0..area.width {
            let cell = &want[(x, y)];
            if skip > 0 {
                // The columns a wide glyph covers.
                skip -= 1;
                continue;
            }
            skip = crate::ui::widgets::text_width(cell.symbol()).saturating_sub(1);
            let Some(got) = screen.cell(y, x) else {
                out.push(format!("({x},{y}) missing"));
                continue;
            };
            let text = if got.has_contents() {
                got.contents()
            } else {
                " "
            };
            let m = cell.modifier;
            let checks = [
                ("text", text == cell.symbol()),
                ("fg", got.fgcolor() == vt_color(cell.fg)),
                ("bg", got.bgcolor() == vt_color(cell.bg)),
                ("bold", got.bold() == m.contains(Modifier::BOLD)),
                ("dim", got.dim() == m.contains(Modifier::DIM)),
                ("italic", got.italic() == m.contains(Modifier::ITALIC)),
                (
                    "underline",
                    got.underline() == m.contains(Modifier::UNDERLINED),
                ),
                ("inverse", got.inverse() == m.contains(Modifier::REVERSED)),
            ];
            for (what, ok) in checks {
                if !ok {
                    out.push(format!(
                        "({x},{y}) {what}: want {:?} {:?} {:?} {m:?}, got {text:?} {:?} {:?}",
                        cell.symbol(),
                        cell.fg,
                        cell.bg,
                        got.fgcolor(),
                        got.bgcolor()
                    ));
                }
            }
        }
    }
    out
}

fn demo_frame(secs: i64, w: u16, h: u16) -> Buffer {
    let mut d = DemoDriver::new(42, DemoDriver::demo_session(), 1000);
    d.advance(secs);
    let keymap = Keymap::default();
    render_buffer(
        &d.state,
        &Theme::default(),
        &chrome(&keymap, d.state.ui.focus),
        w,
        h,
    )
}

#[test]
fn the_demo_screen_reads_back_as_drawn_and_so_does_the_next_frame() {
    let first = demo_frame(1200, 120, 40);
    let second = demo_frame(1260, 120, 40);
    assert_ne!(
        first, second,
        "the second frame must differ to test the diff"
    );
    let one = written(std::slice::from_ref(&first));
    assert_eq!(differences(&one, &first), Vec::<String>::new());
    let both = written(&[first, second.clone()]);
    assert!(both.len() > one.len());
    assert_eq!(differences(&both, &second), Vec::<String>::new());
}

#[test]
fn modifiers_and_colours_change_exactly_across_cells() {
    let area = Rect::new(0, 0, 16, 2);
    let mut b = Buffer::empty(area);
    let styles = [
        Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        Style::new().fg(Color::Red).add_modifier(Modifier::DIM),
        // (Not BOLD | DIM: vt100 keeps one intensity, as many terminals do.)
        Style::new().add_modifier(Modifier::BOLD),
        Style::new()
            .bg(Color::Rgb(1, 2, 3))
            .add_modifier(Modifier::BOLD),
        Style::new().bg(Color::Rgb(1, 2, 3)),
        Style::new().add_modifier(Modifier::REVERSED | Modifier::ITALIC),
        Style::new().add_modifier(Modifier::ITALIC),
        Style::new()
            .fg(Color::Indexed(208))
            .add_modifier(Modifier::UNDERLINED),
        Style::new().fg(Color::Indexed(208)),
        Style::new().fg(Color::LightCyan).bg(Color::DarkGray),
        Style::new(),
    ];
    for (i, st) in styles.iter().enumerate() {
        let x = u16::try_from(i).unwrap();
        b[(x, 0)].set_symbol("x").set_style(*st);
        // The same styles backwards on the second row: every change both ways.
        b[(15 - x, 1)].set_symbol("y").set_style(*st);
    }
    let bytes = written(std::slice::from_ref(&b));
    assert_eq!(differences(&bytes, &b), Vec::<String>::new());
}

#[test]
fn wide_glyphs_and_gaps_keep_later_cells_in_their_columns() {
    let area = Rect::new(0, 0, 20, 3);
    let mut first = Buffer::empty(area);
    first.set_string(0, 0, "数据库 ok", Style::new());
    first.set_string(0, 1, "ae\u{301}b", Style::new().fg(Color::Green));
    first.set_string(12, 2, "end", Style::new());
    let mut second = first.clone();
    // Only cells after a wide glyph change: the backend jumps to them.
    second.set_string(7, 0, "OK", Style::new().fg(Color::Yellow));
    second.set_string(17, 2, "!", Style::new());
    let bytes = written(&[first, second.clone()]);
    assert_eq!(differences(&bytes, &second), Vec::<String>::new());
}

#[test]
fn a_joined_emoji_drawn_too_wide_leaves_no_fragment_of_the_last_frame() {
    // vt100, like tmux and xterm, draws 👩‍🔬 as two wide glyphs (4 columns)
    // where ratatui counts the cluster as 2.
    let area = Rect::new(0, 0, 12, 1);
    let mut first = Buffer::empty(area);
    first.set_string(0, 0, "ab│cdef", Style::new().fg(Color::Blue));
    let mut second = first.clone();
    second.set_string(0, 0, "👩‍🔬", Style::new());
    let bytes = written(&[first, second.clone()]);
    let mut vt = vt100::Parser::new(1, 12, 0);
    vt.process(&bytes);
    let row = vt.screen().contents();
    // Whatever the terminal did with the cluster, the cells after it are the
    // frame's, in their columns: the border is where it was.
    assert_eq!(row.chars().rev().take(5).collect::<String>(), "fedc│");
    assert_eq!(text_cols(&vt, 2), "│");
}

fn text_cols(vt: &vt100::Parser, x: u16) -> String {
    vt.screen()
        .cell(0, x)
        .map(|c| c.contents().to_string())
        .unwrap_or_default()
}
