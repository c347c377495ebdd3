//! 5 Clients: application clients from access events (requests, successes,
//! failures, cached, rates) and the selected client's per-table breakdown.

use crate::ui::Canvas;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::action::Pane;
use crate::app::state::State;
use crate::theme::Theme;
use crate::ui::widgets::{
    cells, empty_text, fit, fit_columns, open_pane, pct, row_style, si, visible,
};

/// Draw the pane.
pub fn render(frame: &mut Canvas<'_>, area: Rect, state: &State, theme: &Theme, focused: bool) {
    let d = &state.derived;
    let fs = state.clients.flush_stats();
    let dropped = if fs.dropped_deltas > 0 {
        format!(" · {} dropped (channel full)", fs.dropped_deltas)
    } else {
        String::new()
    };
    let extra = format!(" {} clients{dropped} ", d.clients.len());
    let extra_style = if fs.dropped_deltas > 0 {
        theme.warn
    } else {
        theme.dim
    };
    let inner = open_pane(
        frame,
        area,
        Pane::Clients,
        &extra,
        extra_style,
        focused,
        theme,
    );
    let split = (inner.height / 2).max(3);
    let [top, bottom] =
        Layout::vertical([Constraint::Length(split), Constraint::Min(0)]).areas(inner);

    let w = top.width as usize;
    let name_w = 11;
    let widths = [7, 7, 7, 7, 7];
    let ncols = fit_columns(w.saturating_sub(name_w), &widths);
    let widths = &widths[..ncols];
    let heads = ["req/s", "total", "ok", "fail", "cached"].map(String::from);
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{}{}",
            fit("client", name_w),
            cells(&heads[..ncols], widths)
        ),
        theme.dim,
    ))];
    let body_h = top.height.saturating_sub(1) as usize;
    let (selected, rows) = visible(&d.clients, state.ui.selected(Pane::Clients), body_h);
    for (i, c) in rows {
        let style = row_style(focused && i == selected, false, theme);
        let values = [
            si(c.requests_per_sec),
            si(c.requests as f64),
            pct(c.success_ratio),
            si(c.failures as f64),
            pct(c.cached_ratio),
        ];
        let fail_style = if c.failures > 0 {
            theme.warn
        } else {
            theme.text
        };
        let mut spans = vec![Span::styled(fit(&c.name, name_w), style)];
        for (k, (v, w)) in values.iter().zip(widths).enumerate() {
            let st = if k == 3 { fail_style } else { theme.text };
            spans.push(Span::styled(cells(std::slice::from_ref(v), &[*w]), st));
        }
        lines.push(Line::from(spans));
    }
    if d.clients.is_empty() {
        lines.push(Line::from(Span::styled(
            empty_text(
                &state.ui,
                Pane::Clients,
                " no access events yet (see --events)",
            ),
            theme.dim,
        )));
    }
    frame.render_widget(Paragraph::new(lines), top);

    let who = d.clients.get(selected).map_or("", |c| c.name.as_str());
    let tw = bottom.width as usize;
    let table_w = tw.saturating_sub(4 + 7 + 6).clamp(6, 18);
    let mut tl = vec![Line::from(Span::styled(
        format!(
            "{}{:<4}{:>7}{:>6}",
            fit(&format!("{who} by table"), table_w),
            " op",
            "total",
            "err"
        ),
        theme.dim,
    ))];
    for t in d
        .client_tables
        .iter()
        .take(bottom.height.saturating_sub(1) as usize)
    {
        tl.push(Line::from(vec![
            Span::styled(fit(&t.table, table_w), theme.text),
            Span::styled(format!(" {:<3}", fit(&t.operation, 3)), theme.dim),
            Span::styled(
                format!("{:>7}{:>6}", si(t.total as f64), si(t.errors as f64)),
                theme.text,
            ),
        ]));
    }
    frame.render_widget(Paragraph::new(tl), bottom);
}
