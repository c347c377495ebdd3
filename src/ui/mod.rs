//! Rendering: a pure function of state, theme and key hints. No IO, no locks.
//!
//! ```text
//! ┌ header: banner (DEMO / context), sources, ops/s, hit ratio, clock ──────┐
//! ├──────────────────────────────────┬──────────────────────────────────────┤
//! │ 1 Heatmap                        │ 2 Warming                            │
//! ├─────────────────────┬────────────┴─────────────┬────────────────────────┤
//! │ 3 Backends          │ 4 Optimizer              │ 5 Clients / 6 Sessions │
//! ├─────────────────────┴──────────────────────────┴────────────────────────┤
//! │ status line                                                             │
//! │ key hints                                                               │
//! └─────────────────────────────────────────────────────────────────────────┘
//! ```
//! Below 120×35 one pane at a time with a tab bar; below 60×15 a message.

mod header;
mod overlay;
pub mod panes;
pub mod table;
pub mod widgets;

use ratatui::buffer::Buffer;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Widget;
use ratatui::widgets::{Block, Paragraph, Wrap};

use crate::action::Pane;
use crate::app::state::State;
use crate::theme::Theme;

/// Smallest usable terminal.
pub const MIN_SIZE: (u16, u16) = (60, 15);
/// Smallest terminal for the full layout (five places; Clients and
/// Sessions share the last, the one focused last shows).
pub const FULL_SIZE: (u16, u16) = (120, 35);

/// Key hints and help text, built from the keymap by the caller (so the UI
/// never holds its own copy of the bindings).
#[derive(Debug, Clone, Default)]
pub struct Chrome {
    /// Hint bar entries: (keys, label).
    pub hints: Vec<(String, String)>,
    /// Help overlay sections: (title, rows of (keys, description)).
    pub help: Vec<(String, Vec<(String, String)>)>,
}

/// What the panes draw on: a buffer and the area to fill. The live loop
/// wraps ratatui's `Frame` buffer; `snapshot::render_buffer` a bare `Buffer`
/// (no terminal, no diff, no copy).
#[derive(Debug)]
pub struct Canvas<'a> {
    buf: &'a mut Buffer,
    area: Rect,
}

impl<'a> Canvas<'a> {
    /// Draw into `buf` over `area`.
    pub fn new(buf: &'a mut Buffer, area: Rect) -> Self {
        Self { buf, area }
    }
    /// The whole area.
    pub fn area(&self) -> Rect {
        self.area
    }
    /// Render a widget.
    pub fn render_widget<W: Widget>(&mut self, w: W, area: Rect) {
        w.render(area, self.buf);
    }
}

/// Draw the whole screen.
pub fn render(frame: &mut ratatui::Frame, state: &State, theme: &Theme, chrome: &Chrome) {
    let area = frame.area();
    render_canvas(
        &mut Canvas::new(frame.buffer_mut(), area),
        state,
        theme,
        chrome,
    );
}

/// Draw the whole screen into a canvas.
pub fn render_canvas(frame: &mut Canvas<'_>, state: &State, theme: &Theme, chrome: &Chrome) {
    let area = frame.area();
    frame.render_widget(Block::default().style(theme.base_style()), area);
    if area.width < MIN_SIZE.0 || area.height < MIN_SIZE.1 {
        too_small(frame, area, theme);
        return;
    }
    let full = area.width >= FULL_SIZE.0 && area.height >= FULL_SIZE.1;
    let header_h = header::height(state, full);
    let [head, body, foot] = Layout::vertical([
        Constraint::Length(header_h),
        Constraint::Min(5),
        Constraint::Length(2),
    ])
    .areas(area);
    header::render(frame, head, state, theme, full);
    if state.ui.zoomed {
        panes::render(frame, body, state.ui.focus, state, theme, true);
    } else if full {
        full_layout(frame, body, state, theme);
    } else {
        let [tabs, pane] =
            Layout::vertical([Constraint::Length(1), Constraint::Min(3)]).areas(body);
        tab_bar(frame, tabs, state.ui.focus, theme);
        panes::render(frame, pane, state.ui.focus, state, theme, true);
    }
    footer(frame, foot, state, theme, chrome);
    if state.ui.help {
        overlay::help(frame, area, theme, chrome, state.ui.help_scroll);
    }
    if let Some(c) = &state.ui.confirm {
        overlay::confirm(frame, area, theme, c);
    }
}

fn full_layout(frame: &mut Canvas<'_>, body: Rect, state: &State, theme: &Theme) {
    let [top, bottom] =
        Layout::vertical([Constraint::Percentage(55), Constraint::Percentage(45)]).areas(body);
    let [heat, warm] =
        Layout::horizontal([Constraint::Percentage(58), Constraint::Percentage(42)]).areas(top);
    let [back, opt, cli] = Layout::horizontal([
        Constraint::Percentage(48),
        Constraint::Percentage(28),
        Constraint::Percentage(24),
    ])
    .areas(bottom);
    for (pane, rect) in [
        (Pane::Heatmap, heat),
        (Pane::Warming, warm),
        (Pane::Backends, back),
        (Pane::Optimizer, opt),
        (corner(state), cli),
    ] {
        panes::render(frame, rect, pane, state, theme, state.ui.focus == pane);
    }
}

/// Clients or Sessions in the bottom-right place: the one focused last;
/// before either was, Clients while there are clients (access events),
/// else Sessions.
fn corner(state: &State) -> Pane {
    state
        .ui
        .corner
        .unwrap_or(if state.derived.clients.is_empty() {
            Pane::Sessions
        } else {
            Pane::Clients
        })
}

fn tab_bar(frame: &mut Canvas<'_>, area: Rect, focus: Pane, theme: &Theme) {
    let mut spans = Vec::new();
    for p in Pane::ALL {
        let style = if p == focus {
            theme.border_focused.patch(theme.selection)
        } else {
            theme.dim
        };
        spans.push(Span::styled(format!(" {} ", p.title()), style));
        spans.push(Span::raw(" "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

fn footer(frame: &mut Canvas<'_>, area: Rect, state: &State, theme: &Theme, chrome: &Chrome) {
    let [status, hints] =
        Layout::vertical([Constraint::Length(1), Constraint::Length(1)]).areas(area);
    let ui = &state.ui;
    let line = if ui.mode == crate::app::ui_state::Mode::Filter {
        Line::from(vec![
            Span::styled(" filter: ", theme.title),
            Span::styled(format!("{}▏", ui.filter(ui.focus)), theme.text),
            Span::styled("  Enter keep · Esc clear", theme.dim),
        ])
    } else if let Some(s) = &ui.status {
        let style = if s.error { theme.error } else { theme.text };
        Line::from(Span::styled(format!(" {}", s.text), style))
    } else if !ui.filter(ui.focus).is_empty() {
        Line::from(Span::styled(
            format!(" filter: {}  (Esc clears)", ui.filter(ui.focus)),
            theme.dim,
        ))
    } else {
        Line::from("")
    };
    frame.render_widget(
        Paragraph::new(widgets::clip(vec![line], status.width)),
        status,
    );
    // Whole hints only: the ones that do not fit are left out, not cut.
    let mut spans = Vec::new();
    let mut used = 0;
    for (k, label) in &chrome.hints {
        let (k, label) = (format!(" {k}"), format!(" {label} "));
        used += widgets::text_width(&k) + widgets::text_width(&label);
        if used > usize::from(hints.width) {
            break;
        }
        spans.push(Span::styled(k, theme.title));
        spans.push(Span::styled(label, theme.dim));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), hints);
}

fn too_small(frame: &mut Canvas<'_>, area: Rect, theme: &Theme) {
    let text = format!(
        "terminal too small (need {}×{}, have {}×{})\nenlarge the window or press q to quit",
        MIN_SIZE.0, MIN_SIZE.1, area.width, area.height
    );
    let p = Paragraph::new(text)
        .style(theme.warn)
        .wrap(Wrap { trim: true });
    frame.render_widget(p, area);
}
