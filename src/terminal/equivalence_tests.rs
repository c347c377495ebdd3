//! `LeanBackend` against ratatui's own `CrosstermBackend`: the same frames,
//! drawn through `ratatui::Terminal` as the console draws them (a first full
//! frame, diffs, a resize that clears the screen), read back through a
//! terminal emulator (`vt100`), give the same screen cell by cell: text,
//! wide glyphs, colours and modifiers. The one difference is on purpose and
//! asserted as such: after a joined emoji the terminal draws wider than
//! ratatui counts it, the stock backend leaves a fragment of the emoji over
//! cells that did not change, `LeanBackend` sends those cells again.

use std::cell::RefCell;
use std::io::{self, Write};
use std::rc::Rc;

use ratatui::Terminal;
use ratatui::backend::{Backend, ClearType, CrosstermBackend, WindowSize};
use ratatui::buffer::{Buffer, Cell};
use ratatui::layout::{Position, Rect, Size};
use ratatui::style::{Color, Modifier, Style};

use super::LeanBackend;

/// A backend on a terminal of the size the test says (a real backend asks
/// the tty); everything that writes goes to the wrapped backend.
struct OfSize<B> {
    inner: B,
    size: Size,
    cursor: Position,
}

impl<B: Backend<Error = io::Error>> Backend for OfSize<B> {
    type Error = io::Error;

    fn draw<'a, I>(&mut self, content: I) -> io::Result<()>
    where
        I: Iterator<Item = (u16, u16, &'a Cell)>,
    {
        self.inner.draw(content)
    }
    fn hide_cursor(&mut self) -> io::Result<()> {
        self.inner.hide_cursor()
    }
    fn show_cursor(&mut self) -> io::Result<()> {
        self.inner.show_cursor()
    }
    fn get_cursor_position(&mut self) -> io::Result<Position> {
        Ok(self.cursor)
    }
    fn set_cursor_position<P: Into<Position>>(&mut self, position: P) -> io::Result<()> {
        self.cursor = position.into();
        self.inner.set_cursor_position(self.cursor)
    }
    fn clear(&mut self) -> io::Result<()> {
        self.inner.clear()
    }
    fn clear_region(&mut self, clear_type: ClearType) -> io::Result<()> {
        self.inner.clear_region(clear_type)
    }
    fn size(&self) -> io::Result<Size> {
        Ok(self.size)
    }
    fn window_size(&mut self) -> io::Result<WindowSize> {
        Ok(WindowSize {
            columns_rows: self.size,
            pixels: Size::default(),
        })
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// What a backend wrote, read by the test between frames.
#[derive(Clone, Default)]
struct Out(Rc<RefCell<Vec<u8>>>);

impl Write for Out {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.borrow_mut().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// One backend's terminal and the emulator reading what it writes.
struct Screen<B: Backend<Error = io::Error>> {
    term: Terminal<OfSize<B>>,
    vt: vt100::Parser,
    out: Out,
}

impl<B: Backend<Error = io::Error>> Screen<B> {
    fn new(new: impl FnOnce(Out) -> B, size: Size) -> Self {
        // crossterm leaves colours out under NO_COLOR (the test command sets
        // it); the console decides colours itself and forces them the same way.
        crossterm::style::force_color_output(true);
        let out = Out::default();
        let backend = OfSize {
            inner: new(out.clone()),
            size,
            cursor: Position::ORIGIN,
        };
        Self {
            term: Terminal::new(backend).unwrap(),
            vt: vt100::Parser::new(size.height, size.width, 0),
            out,
        }
    }

    /// Draws `frame` (resizing first if its size changed, as the console's
    /// `Terminal` does on its next draw) and feeds the emulator.
    fn show(&mut self, frame: &Buffer) {
        let size = frame.area.as_size();
        if size != self.term.backend().size {
            // The terminal has its new size before the program hears of it.
            self.vt.screen_mut().set_size(size.height, size.width);
            self.term.backend_mut().size = size;
        }
        self.term
            .draw(|f| f.buffer_mut().clone_from(frame))
            .unwrap();
        let bytes = std::mem::take(&mut *self.out.0.borrow_mut());
        self.vt.process(&bytes);
    }
}

/// Both backends on the same terminal.
struct Pair {
    lean: Screen<LeanBackend<Out>>,
    stock: Screen<CrosstermBackend<Out>>,
}

impl Pair {
    fn new(width: u16, height: u16) -> Self {
        let size = Size { width, height };
        Self {
            lean: Screen::new(LeanBackend::new, size),
            stock: Screen::new(CrosstermBackend::new, size),
        }
    }

    fn show(&mut self, frame: &Buffer) {
        self.lean.show(frame);
        self.stock.show(frame);
    }

    /// Every cell where the two emulated screens differ (text, width,
    /// colours, modifiers), and the cursor's visibility.
    fn differences(&self) -> Vec<String> {
        let (a, b) = (self.lean.vt.screen(), self.stock.vt.screen());
        let (rows, cols) = a.size();
        let mut out = Vec::new();
        for y in 0..rows {
            for x in 0..cols {
                if a.cell(y, x) != b.cell(y, x) {
                    out.push(format!(
                        "({x},{y}) lean {:?} / stock {:?}",
                        a.cell(y, x),
                        b.cell(y, x)
                    ));
                }
            }
        }
        if a.hide_cursor() != b.hide_cursor() {
            out.push(format!("cursor hidden: lean {}", a.hide_cursor()));
        }
        out
    }

    fn row(&self, y: u16) -> (String, String) {
        let row = |s: &vt100::Screen| {
            let cols = s.size().1;
            s.contents_between(y, 0, y, cols)
        };
        (row(self.lean.vt.screen()), row(self.stock.vt.screen()))
    }
}

/// Text and styles on every row: every colour kind and modifier, changes of
/// foreground or background alone, CJK, a one-code-point emoji, a combining
/// accent, and gaps the backends jump over.
fn styled(width: u16, height: u16) -> Buffer {
    let mut b = Buffer::empty(Rect::new(0, 0, width, height));
    let bold_red = Style::new().fg(Color::Red).add_modifier(Modifier::BOLD);
    b.set_string(0, 0, "heliostat", bold_red);
    b.set_string(
        10,
        0,
        "dim",
        Style::new().fg(Color::Red).add_modifier(Modifier::DIM),
    );
    b.set_string(14, 0, "rgb", Style::new().bg(Color::Rgb(10, 20, 30)));
    b.set_string(
        18,
        0,
        "ul",
        Style::new()
            .fg(Color::Indexed(208))
            .bg(Color::Rgb(10, 20, 30))
            .add_modifier(Modifier::UNDERLINED),
    );
    b.set_string(0, 1, "数据库", Style::new().fg(Color::LightCyan));
    b.set_string(6, 1, "🎉ok", Style::new().bg(Color::DarkGray));
    b.set_string(
        11,
        1,
        "cafe\u{301}",
        Style::new().add_modifier(Modifier::ITALIC),
    );
    b.set_string(
        0,
        2,
        "rev",
        Style::new().add_modifier(Modifier::REVERSED | Modifier::BOLD),
    );
    b.set_string(8, 2, "plain", Style::new());
    b.set_string(17, 2, "│end", Style::new().fg(Color::Blue));
    for x in 0..width {
        let style = if x % 2 == 0 {
            Style::new().bg(Color::Green)
        } else {
            Style::new().fg(Color::Yellow).bg(Color::Green)
        };
        b[(x, height - 1)].set_symbol("·").set_style(style);
    }
    b
}

#[test]
fn both_backends_draw_the_same_screen_over_frames_diffs_and_a_resize() {
    let (w, h) = (24, 5);
    let mut pair = Pair::new(w, h);

    let first = styled(w, h);
    pair.show(&first);
    assert_eq!(pair.differences(), Vec::<String>::new(), "first frame");

    // A diff: single cells in the middle of rows, a style removed, a
    // modifier swapped, only the foreground or the background changed, a
    // wide glyph replaced by narrow ones and the other way round.
    let mut second = first.clone();
    second.set_string(2, 0, "L", Style::new().fg(Color::Red));
    second.set_string(
        10,
        0,
        "DIM",
        Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
    );
    second.set_string(0, 1, "ab", Style::new());
    second.set_string(8, 1, "语", Style::new().fg(Color::Magenta));
    second.set_string(1, 2, "E", Style::new().add_modifier(Modifier::REVERSED));
    second.set_string(9, 2, "L", Style::new().bg(Color::Rgb(1, 2, 3)));
    second[(5, h - 1)].set_style(Style::new().fg(Color::White));
    second[(6, h - 1)].set_style(Style::new().bg(Color::Reset));
    // Text right of the combining accent of row 1, gone after the resize.
    second.set_string(15, 1, "stale", Style::new().fg(Color::Red));
    pair.show(&second);
    assert_eq!(pair.differences(), Vec::<String>::new(), "a diff");

    // The same frame again: nothing to draw, nothing changes.
    pair.show(&second);
    assert_eq!(pair.differences(), Vec::<String>::new(), "no change");

    // A narrower terminal: `Terminal` clears it and draws the whole frame;
    // what was on screen before must not come back (not even right of the
    // accent, where `LeanBackend` sends cells again from what it showed).
    let (w, h) = (20, 4);
    let mut resized = styled(w, h);
    resized.set_string(0, 0, "x", Style::new());
    pair.show(&resized);
    assert_eq!(pair.differences(), Vec::<String>::new(), "after a resize");

    // Wider again, everything cleared, then a diff on the new size.
    let (w, h) = (26, 6);
    let wide = styled(w, h);
    pair.show(&wide);
    assert_eq!(pair.differences(), Vec::<String>::new(), "wider");
    let mut after = wide.clone();
    after.set_string(
        20,
        4,
        "new",
        Style::new().add_modifier(Modifier::UNDERLINED),
    );
    pair.show(&after);
    assert_eq!(pair.differences(), Vec::<String>::new(), "a diff after it");
}

#[test]
fn a_joined_emoji_is_the_one_difference_and_only_lean_repairs_it() {
    // vt100, like tmux and xterm, draws 👩‍🔬 (three code points) as two wide
    // glyphs, 4 columns, where ratatui counts the cluster as 2.
    let (w, h) = (12, 2);
    let mut pair = Pair::new(w, h);
    let mut first = Buffer::empty(Rect::new(0, 0, w, h));
    first.set_string(0, 0, "ab│cdef", Style::new().fg(Color::Blue));
    first.set_string(0, 1, "ab│cdef", Style::new().fg(Color::Blue));
    pair.show(&first);
    assert_eq!(pair.differences(), Vec::<String>::new());

    // Row 0: only the emoji changes, the cells after it are the same as
    // before, so `Terminal` does not send them. Row 1: the cells after it
    // change too, so both backends send them.
    let mut second = first.clone();
    second.set_string(0, 0, "👩‍🔬", Style::new());
    second.set_string(0, 1, "👩‍🔬", Style::new());
    second.set_string(2, 1, "│CDEF", Style::new().fg(Color::Green));
    pair.show(&second);

    let (lean, stock) = pair.row(1);
    assert_eq!(lean, stock, "row 1: every cell after the emoji was sent");
    assert!(lean.ends_with("│CDEF"), "{lean:?}");

    let (lean, stock) = pair.row(0);
    assert!(
        lean.ends_with("│cdef"),
        "lean sends the cells again: {lean:?}"
    );
    assert!(
        !stock.contains('│'),
        "the stock backend leaves the emoji's second half over the border: {stock:?}"
    );
    let differ: Vec<String> = pair.differences();
    assert!(
        differ.iter().all(|d| d.contains(",0) lean")),
        "only row 0 differs: {differ:?}"
    );
}
