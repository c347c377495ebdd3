//! Overlays: the help (generated from the keymap) and the confirm dialog.

use crate::ui::Canvas;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::Chrome;
use super::widgets::centered;
use crate::app::ui_state::Confirm;
use crate::theme::Theme;

/// Width of a help column, and of its key column inside it.
const HELP_COL_W: u16 = 52;
const HELP_KEYS_W: usize = 14;

/// The help overlay: sections flow into as many columns as the height
/// needs; when those do not fit side by side, one column that scrolls
/// (↑/↓, PgUp/PgDn while the help is open).
pub fn help(frame: &mut Canvas<'_>, area: Rect, theme: &Theme, chrome: &Chrome, scroll: usize) {
    let mut sections: Vec<Vec<Line>> = Vec::new();
    for (title, rows) in &chrome.help {
        let mut sec = vec![Line::from(Span::styled(title.clone(), theme.title))];
        for (keys, desc) in rows {
            sec.push(Line::from(vec![
                Span::styled(format!(" {keys:<HELP_KEYS_W$}"), theme.accent),
                Span::styled(desc.clone(), theme.text),
            ]));
        }
        sec.push(Line::from(""));
        sections.push(sec);
    }
    let max_h = usize::from(area.height.saturating_sub(4)).max(1);
    let col_w = HELP_COL_W;
    let mut columns: Vec<Vec<Line>> = vec![Vec::new()];
    for sec in &sections {
        let cur = columns.last().map_or(0, Vec::len);
        if cur > 0 && cur + sec.len() > max_h {
            columns.push(Vec::new());
        }
        if let Some(col) = columns.last_mut() {
            col.extend(sec.iter().cloned());
        }
    }
    let fits = (col_w as usize) * columns.len() + 2 <= usize::from(area.width);
    if !fits {
        let all: Vec<Line> = sections.into_iter().flatten().collect();
        let total = all.len();
        let start = scroll.min(total.saturating_sub(max_h));
        let shown: Vec<Line> = all.into_iter().skip(start).take(max_h).collect();
        columns = vec![shown];
        let more = start + max_h < total;
        return draw_help(frame, area, theme, columns, area.width.min(col_w + 2), more);
    }
    draw_help(frame, area, theme, columns, col_w, false);
}

fn draw_help(
    frame: &mut Canvas<'_>,
    area: Rect,
    theme: &Theme,
    columns: Vec<Vec<Line>>,
    col_w: u16,
    more: bool,
) {
    let h = columns.iter().map(Vec::len).max().unwrap_or(0) as u16 + 2;
    let w = (col_w * columns.len() as u16 + 2).min(area.width);
    let rect = centered(area, w, h);
    frame.render_widget(Clear, rect);
    let title = if more {
        " help · ↓ more · ? or Esc to close "
    } else {
        " help · ? or Esc to close "
    };
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(title);
    let inner = block.inner(rect);
    frame.render_widget(block.style(theme.popup), rect);
    for (i, col) in columns.into_iter().enumerate() {
        let x = inner.x + (i as u16) * col_w;
        if x >= inner.x + inner.width {
            break;
        }
        let r = Rect::new(
            x,
            inner.y,
            col_w.min(inner.x + inner.width - x),
            inner.height,
        );
        frame.render_widget(Paragraph::new(col).style(theme.popup), r);
    }
}

/// The y/n dialog for an action that writes.
pub fn confirm(frame: &mut Canvas<'_>, area: Rect, theme: &Theme, c: &Confirm) {
    let lines: Vec<Line> = c.lines.iter().map(|l| Line::from(l.as_str())).collect();
    let rect = centered(area, 76, lines.len() as u16 + 4);
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(Span::styled(format!(" {} ", c.title), theme.title));
    frame.render_widget(
        Paragraph::new(lines)
            .block(block)
            .style(theme.text)
            .wrap(Wrap { trim: true }),
        rect,
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::action::Action;

    #[test]
    fn every_description_fits_a_help_column() {
        // One space before the keys, one gap before the next column.
        let room = usize::from(HELP_COL_W) - HELP_KEYS_W - 2;
        for a in Action::ALL {
            let d = a.description();
            assert!(d.chars().count() <= room, "`{d}` is cut in the help");
        }
    }
}
