//! One file per pane; each draws from `State::derived` only.

mod backends;
mod clients;
mod heat_grid;
mod heatmap;
mod keyspace;
mod optimizer;
mod sessions;
mod warming;

use crate::ui::Canvas;
use ratatui::layout::Rect;

use crate::action::Pane;
use crate::app::state::State;
use crate::theme::Theme;

/// Draw `pane` into `area`.
pub fn render(
    frame: &mut Canvas<'_>,
    area: Rect,
    pane: Pane,
    state: &State,
    theme: &Theme,
    focused: bool,
) {
    match pane {
        Pane::Heatmap => heatmap::render(frame, area, state, theme, focused),
        Pane::Warming => warming::render(frame, area, state, theme, focused),
        Pane::Backends => backends::render(frame, area, state, theme, focused),
        Pane::Optimizer => optimizer::render(frame, area, state, theme, focused),
        Pane::Clients => clients::render(frame, area, state, theme, focused),
        Pane::Sessions => sessions::render(frame, area, state, theme, focused),
    }
}

#[cfg(test)]
mod tests;
