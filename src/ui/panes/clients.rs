//! 5 Clients: application clients from access events (requests, successes,
//! failures, cached, rates) and the selected client's per-table breakdown.

use crate::ui::Canvas;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::action::Pane;
use crate::app::state::State;
use crate::engines::clients::{ClientView, TableView};
use crate::sort::SortKey;
use crate::theme::Theme;
use crate::ui::table::{Cell, Column, Table, sorted_column};
use crate::ui::widgets::{clip, empty_text, open_pane, pct, row_style, si};

/// The columns (the last only with a stats sink); when narrow, the
/// totals stored go first, then the cached share, the success share,
/// the total and the failures.
const COLUMNS: [Column<'static>; 7] = [
    Column::name("client", 11, 40),
    Column::figure("req/s", 7),
    Column::figure("total", 7).drop(3),
    Column::figure("ok", 6).drop(4),
    Column::figure("fail", 6).drop(2),
    Column::figure("cached", 6).drop(5),
    Column::figure("stored", 7).drop(6),
];

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

    let sort = &state.ui.panes.clients;
    let cell = |c: &ClientView, col: usize, selected: bool| -> Cell {
        match col {
            0 => Cell::new(c.name.clone(), row_style(focused && selected, false, theme)),
            1 => Cell::new(si(c.requests_per_sec), theme.text),
            2 => Cell::new(si(c.requests as f64), theme.text),
            3 => Cell::new(pct(c.success_ratio), theme.text),
            4 => Cell::new(
                si(c.failures as f64),
                if c.failures > 0 {
                    theme.warn
                } else {
                    theme.text
                },
            ),
            5 => Cell::new(pct(c.cached_ratio), theme.text),
            _ => Cell::new(
                c.stored.map_or_else(|| "-".to_string(), |n| si(n as f64)),
                theme.text,
            ),
        }
    };
    // The totals stored by every console show only with a stats sink.
    let columns = if state.sink.enabled {
        &COLUMNS[..]
    } else {
        &COLUMNS[..6]
    };
    let table = Table {
        columns,
        rows: &d.clients,
        selected: sort.selected,
        sort: sorted_column(columns, sort.sort.column(), sort.direction()),
        head_style: theme.dim,
        cell: &cell,
    };
    let mut lines = table.lines(usize::from(top.width), usize::from(top.height));
    let selected = sort.selected.min(d.clients.len().saturating_sub(1));
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
    let head = format!("{who} by table");
    let breakdown = [
        Column::name(&head, 6, 40),
        Column::text("op", 3),
        Column::figure("total", 7),
        Column::figure("err", 5).drop(1),
    ];
    let cell = |t: &TableView, col: usize, _: bool| -> Cell {
        match col {
            0 => Cell::new(t.table.clone(), theme.text),
            1 => Cell::new(t.operation.clone(), theme.dim),
            2 => Cell::new(si(t.total as f64), theme.text),
            _ => Cell::new(si(t.errors as f64), theme.text),
        }
    };
    let table = Table {
        columns: &breakdown,
        rows: &d.client_tables,
        selected: 0,
        sort: None,
        head_style: theme.dim,
        cell: &cell,
    };
    let tl = table.lines(usize::from(bottom.width), usize::from(bottom.height));
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
