//! Overlays: the help (generated from the keymap) and the confirm dialog.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

use super::Chrome;
use super::widgets::centered;
use crate::app::ui_state::Confirm;
use crate::theme::Theme;

/// The help overlay.
pub fn help(frame: &mut Frame, area: Rect, theme: &Theme, chrome: &Chrome) {
    let mut lines = Vec::new();
    for (title, rows) in &chrome.help {
        lines.push(Line::from(Span::styled(title.clone(), theme.title)));
        for (keys, desc) in rows {
            lines.push(Line::from(vec![
                Span::styled(format!("  {keys:<16}"), theme.border_focused),
                Span::styled(desc.clone(), theme.text),
            ]));
        }
        lines.push(Line::from(""));
    }
    let h = (lines.len() as u16 + 2).min(area.height.saturating_sub(2));
    let rect = centered(area, 72, h);
    frame.render_widget(Clear, rect);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.border_focused)
        .title(" help · ? or Esc to close ");
    frame.render_widget(Paragraph::new(lines).block(block).style(theme.text), rect);
}

/// The y/n dialog for an action that writes.
pub fn confirm(frame: &mut Frame, area: Rect, theme: &Theme, c: &Confirm) {
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
