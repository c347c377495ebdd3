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
    cells, clip, empty_text, fit, fit_columns, open_pane, pct, row_style, si, visible,
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
    // Clients, table rows and names forgotten or refused past the caps.
    let capped = state.clients.cap_stats().dropped();
    let over_cap = if capped > 0 {
        format!(" · {} dropped (caps)", si(capped as f64))
    } else {
        String::new()
    };
    let (sink, sink_bad) = sink_text(state);
    // The rates' window is stated: a rate is over a window ending now.
    let extra = format!(
        " {} clients · req/s over {}s{dropped}{over_cap}{sink} ",
        d.clients.len(),
        crate::engines::clients::RATE_WINDOW_SECS
    );
    let extra_style = if fs.dropped_deltas > 0 || capped > 0 || sink_bad {
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
    let widths = [7, 7, 7, 7, 7, 8];
    let shown = if state.sink.enabled { 6 } else { 5 };
    // Names get what the columns leave, between 11 and 24 characters.
    let name_w = w
        .saturating_sub(widths[..shown].iter().sum::<usize>())
        .clamp(11, 24);
    let ncols = fit_columns(w.saturating_sub(name_w), &widths[..shown]);
    let widths = &widths[..ncols];
    let heads = ["req/s", "total", "ok", "fail", "cached", "stored"].map(String::from);
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
            c.stored.map_or_else(|| "-".to_string(), |n| si(n as f64)),
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
    frame.render_widget(Paragraph::new(clip(lines, top.width)), top);

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
    frame.render_widget(Paragraph::new(clip(tl, bottom.width)), bottom);
}

/// The sink's state for the title: written batches, or the retry and why.
fn sink_text(state: &State) -> (String, bool) {
    if !state.sink.enabled {
        return (String::new(), false);
    }
    let fs = state.clients.flush_stats();
    if let Some(e) = &fs.last_error {
        let retry = fs.next_retry_at.map_or(String::new(), |at| {
            let s = at.as_millis().saturating_sub(state.now.as_millis()).max(0) / 1000;
            format!(", retry in {s} s")
        });
        return (format!(" · sink failing{retry}: {e}"), true);
    }
    if let Some(e) = &state.sink.read_error {
        return (format!(" · sink: {e}"), true);
    }
    (format!(" · sink: {} batches stored", fs.batches_ok), false)
}
