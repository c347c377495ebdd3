//! One frame without a terminal: the `snapshot` subcommand, the `S` key and
//! the screen tests all render through here, into an in-memory buffer.

use ratatui::buffer::Buffer;

use crate::action::Pane;
use crate::app::driver::DemoDriver;
use crate::app::state::{SessionInfo, State};
use crate::config::DeclaredBackend;
use crate::export::{SvgFont, to_ansi, to_svg, to_text};
use crate::sources::demo::DEMO_EPOCH;
use crate::theme::Theme;
use crate::ui::{Canvas, Chrome, render_canvas};

/// Output format of a saved screen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// Plain text.
    Txt,
    /// Text with ANSI colours.
    Ansi,
    /// A self-contained SVG picture.
    Svg,
}

/// Render `state` at `width`×`height` into a buffer.
pub fn render_buffer(
    state: &State,
    theme: &Theme,
    chrome: &Chrome,
    width: u16,
    height: u16,
) -> Buffer {
    let area = ratatui::layout::Rect::new(0, 0, width.max(1), height.max(1));
    let mut buf = Buffer::empty(area);
    render_canvas(&mut Canvas::new(&mut buf, area), state, theme, chrome);
    buf
}

/// Encode a buffer in `format`.
pub fn encode(buf: &Buffer, theme: &Theme, format: Format) -> String {
    match format {
        Format::Txt => to_text(buf),
        Format::Ansi => to_ansi(buf),
        Format::Svg => to_svg(buf, theme.background, &SvgFont::default()),
    }
}

/// The demo's state `at_secs` seconds after its epoch, with `pane` zoomed
/// (or the full screen): deterministic for identical arguments.
pub fn demo_state(
    seed: u64,
    at_secs: u64,
    pane: Option<Pane>,
    session: SessionInfo,
    declared: &[DeclaredBackend],
) -> State {
    let mut d = DemoDriver::new(seed, session, 1000);
    d.state.declare(declared, DEMO_EPOCH);
    d.advance_to(DEMO_EPOCH.add_secs(i64::try_from(at_secs).unwrap_or(i64::MAX / 1000)));
    let mut state = d.state;
    if let Some(p) = pane {
        state.ui.focus = p;
        state.ui.zoomed = true;
    }
    state
}
