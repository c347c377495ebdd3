//! 6 Sessions: who is connected. Postgres sessions from every endpoint's
//! `pg_stat_activity` (pid, user, application, client, state, wait,
//! duration, who blocks them, the query fingerprinted with its literals
//! out), idle-in-transaction and blocked sessions marked; or Redis clients
//! from every node's `CLIENT LIST`, grouped by name (or host) or one row
//! each, sorted by what they cost the server: the clients that make a node
//! run out of memory. heliostat's own sessions are dimmed and say so. Lists
//! come every 5 s; a list that stopped coming says how old it is.

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::action::Pane;
use crate::app::panes::SessionsList;
use crate::app::sessions::SessionRows;
use crate::app::state::State;
use crate::engines::sessions::{ClientGroup, PgSession, RedisClient};
use crate::sample::SourceId;
use crate::sort::SortKey;
use crate::theme::Theme;
use crate::ui::Canvas;
use crate::ui::table::{Cell, Column, Table, sorted_column};
use crate::ui::widgets::{bytes, clip, duration, empty_text, open_pane, row_style, si};

/// Postgres columns; when narrow, the endpoint goes first, then the
/// client address, the application, the user, the query, the wait and
/// who blocks the session.
const PG: [Column<'static>; 10] = [
    Column::name("endpoint", 10, 24).middle().drop(8),
    Column::figure("pid", 7),
    Column::name("user", 6, 14).drop(4),
    Column::name("application", 6, 24).drop(5),
    Column::name("client", 7, 21).drop(7),
    Column::name("state", 8, 12),
    Column::name("wait", 6, 24).drop(2),
    Column::figure("duration", 8),
    Column::name("blocked by", 6, 16).drop(1),
    Column::name("query", 12, 200).drop(3),
];

/// Redis client groups; when narrow, the age goes first, then the node
/// count, `tot-mem`, `omem` and the idle time.
const GROUPS: [Column<'static>; 8] = [
    Column::name("group", 8, 40),
    Column::figure("clients", 7),
    Column::figure("nodes", 5).drop(4),
    Column::figure("memory", 9),
    Column::figure("omem", 9).drop(2),
    Column::figure("tot-mem", 9).drop(3),
    Column::figure("idle", 7).drop(1),
    Column::figure("age", 7).drop(5),
];

/// Redis clients; when narrow, the flags go first, then the age, the id,
/// the address, the command, the idle time and `omem`.
const CLIENTS: [Column<'static>; 10] = [
    Column::name("node", 6, 22).middle(),
    Column::figure("id", 7).drop(5),
    Column::name("client", 6, 30),
    Column::name("addr", 9, 21).drop(4),
    Column::figure("age", 7).drop(6),
    Column::figure("idle", 7).drop(2),
    Column::name("cmd", 4, 12).drop(3),
    Column::figure("omem", 9).drop(1),
    Column::figure("memory", 9),
    Column::text("flags", 5).drop(7),
];

/// Draw the pane.
pub fn render(frame: &mut Canvas<'_>, area: Rect, state: &State, theme: &Theme, focused: bool) {
    let rows = &state.derived.sessions;
    let ui = &state.ui.panes.sessions;
    let kind = match (rows.list, rows.sources.len()) {
        (SessionsList::Postgres, 1) => "endpoint",
        (SessionsList::Postgres, _) => "endpoints",
        (_, 1) => "node",
        _ => "nodes",
    };
    let extra = format!(
        " {} · {} on {} {kind} · v: {} ",
        rows.list.label(),
        rows.len(),
        rows.sources.len(),
        rows.list.next().label()
    );
    // One source: its name is in every row and says nothing; the column goes.
    let single = rows.sources.len() + rows.waiting <= 1;
    let pg_cols = if single { &PG[1..] } else { &PG[..] };
    let client_cols = if single { &CLIENTS[1..] } else { &CLIENTS[..] };
    let skip = usize::from(single);
    let inner = open_pane(
        frame,
        area,
        Pane::Sessions,
        &extra,
        theme.dim,
        focused,
        theme,
    );
    let notes = source_notes(rows, theme);
    let notes_h = (notes.len() as u16).min(inner.height / 3);
    // The selected row in full under the table, where there is room.
    let detail = if inner.height >= 12 {
        detail_lines(state, rows, theme)
    } else {
        Vec::new()
    };
    let detail_h = detail.len() as u16;
    let [notes_area, table_area, detail_area] = Layout::vertical([
        Constraint::Length(notes_h),
        Constraint::Min(2),
        Constraint::Length(detail_h),
    ])
    .areas(inner);
    if detail_h > 0 {
        frame.render_widget(Paragraph::new(clip(detail, detail_area.width)), detail_area);
    }
    if notes_h > 0 {
        frame.render_widget(Paragraph::new(clip(notes, notes_area.width)), notes_area);
    }
    let (w, h) = (
        usize::from(table_area.width),
        usize::from(table_area.height),
    );
    // Rows of a list that stopped coming are history: drawn dim (the note
    // above says how old).
    let stale = |id: SourceId| rows.sources.iter().any(|(_, s)| s.source == id && s.stale);
    let name = |id: SourceId| {
        state
            .source(id)
            .map_or_else(|| format!("source {}", id.0), |s| s.name.clone())
    };
    let mut lines = match rows.list {
        SessionsList::Postgres => {
            let cell = |r: &(SourceId, PgSession), col: usize, sel: bool| {
                let row = Row {
                    source: &name(r.0),
                    dim: stale(r.0),
                    selected: focused && sel,
                };
                pg_cell(&row, &r.1, col + skip, theme)
            };
            Table {
                columns: pg_cols,
                rows: &rows.pg,
                selected: ui.pg.selected,
                sort: sorted_column(pg_cols, ui.pg.sort.column(), ui.pg.direction()),
                head_style: theme.dim,
                cell: &cell,
            }
            .lines(w, h)
        }
        SessionsList::RedisGroups => {
            let cell =
                |g: &ClientGroup, col: usize, sel: bool| group_cell(g, col, focused && sel, theme);
            Table {
                columns: &GROUPS,
                rows: &rows.groups,
                selected: ui.groups.selected,
                sort: sorted_column(&GROUPS, ui.groups.sort.column(), ui.groups.direction()),
                head_style: theme.dim,
                cell: &cell,
            }
            .lines(w, h)
        }
        SessionsList::RedisClients => {
            let cell = |r: &(SourceId, RedisClient), col: usize, sel: bool| {
                let row = Row {
                    source: &name(r.0),
                    dim: stale(r.0),
                    selected: focused && sel,
                };
                client_cell(&row, &r.1, col + skip, theme)
            };
            Table {
                columns: client_cols,
                rows: &rows.clients,
                selected: ui.clients.selected,
                sort: sorted_column(
                    client_cols,
                    ui.clients.sort.column(),
                    ui.clients.direction(),
                ),
                head_style: theme.dim,
                cell: &cell,
            }
            .lines(w, h)
        }
    };
    if rows.is_empty() {
        lines.push(Line::from(Span::styled(
            empty_text(&state.ui, Pane::Sessions, &nothing_yet(rows)),
            theme.dim,
        )));
    }
    frame.render_widget(Paragraph::new(clip(lines, table_area.width)), table_area);
}

/// The selected session in full: its query (the fingerprint, never a
/// literal), its transaction's age, and who blocks it (the blocker's
/// application, state and how long); a Redis client's flags, buffers and
/// subscriptions.
fn detail_lines(state: &State, rows: &SessionRows, theme: &Theme) -> Vec<Line<'static>> {
    let ui = &state.ui.panes.sessions;
    let mut out = Vec::new();
    match rows.list {
        SessionsList::Postgres => {
            let Some((src, s)) = rows
                .pg
                .get(ui.pg.selected.min(rows.pg.len().saturating_sub(1)))
            else {
                return out;
            };
            let xact = s.xact_ms.map_or_else(
                || "no open transaction".to_string(),
                |ms| format!("transaction open {}", duration(ms)),
            );
            out.push(Line::from(Span::styled(
                format!(
                    " pid {} · {} · {} · {xact}",
                    s.pid,
                    s.database.as_deref().unwrap_or("–"),
                    s.state.label()
                ),
                theme.dim,
            )));
            for b in &s.blocked_by {
                let who = rows.pg.iter().find(|(o, x)| o == src && x.pid == *b);
                let what = who.map_or_else(
                    || "not in the list".to_string(),
                    |(_, x)| {
                        format!(
                            "{} · {} for {}",
                            x.application,
                            x.state.label(),
                            ms(x.duration_ms())
                        )
                    },
                );
                out.push(Line::from(Span::styled(
                    format!(" blocked by pid {b}: {what}"),
                    theme.error,
                )));
            }
            if let Some(q) = &s.query {
                out.push(Line::from(Span::styled(format!(" {q}"), theme.text)));
            }
        }
        SessionsList::RedisClients => {
            let Some((_, c)) = rows.clients.get(
                ui.clients
                    .selected
                    .min(rows.clients.len().saturating_sub(1)),
            ) else {
                return out;
            };
            out.push(Line::from(Span::styled(
                format!(
                    " id {} · db {} · flags {} · query buffer {} · output {} · subscriptions {} + {} patterns{}",
                    c.id,
                    c.db,
                    c.flags,
                    bytes(c.qbuf),
                    bytes(c.omem),
                    c.sub,
                    c.psub,
                    c.user.as_deref().map_or(String::new(), |u| format!(" · user {u}"))
                ),
                theme.dim,
            )));
        }
        SessionsList::RedisGroups => {}
    }
    out
}

/// Why the list is empty.
fn nothing_yet(rows: &SessionRows) -> String {
    match (rows.list, rows.sources.len() + rows.waiting) {
        (SessionsList::Postgres, 0) => " no Postgres endpoint (--postgres URL)".into(),
        (_, 0) => " no Redis node (--redis URL)".into(),
        (SessionsList::Postgres, _) if rows.sources.is_empty() => {
            " no list yet: each endpoint's pg_stat_activity is read every 5 s".into()
        }
        (_, _) if rows.sources.is_empty() => {
            " no list yet: each node's CLIENT LIST is read every 5 s".into()
        }
        _ => " no sessions".into(),
    }
}

/// Per source, what makes its list not current or not whole: stale (how
/// old), skipped or refused (the reader's words), rows the cap left out.
fn source_notes(rows: &SessionRows, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    for (name, s) in &rows.sources {
        if s.stale {
            out.push(Line::from(Span::styled(
                format!(" {name}: list {} old, not current", duration(s.age_ms)),
                theme.warn,
            )));
        }
        if let Some(note) = &s.note {
            out.push(Line::from(Span::styled(
                format!(" {name}: {note}"),
                theme.warn,
            )));
        }
        if s.cut > 0 {
            out.push(Line::from(Span::styled(
                format!(
                    " {name}: {} listed, {} kept (the most memory or the longest running first)",
                    si(f64::from(s.total)),
                    si(f64::from(s.total.saturating_sub(s.cut)))
                ),
                theme.dim,
            )));
        }
    }
    out
}

/// The style of a row's first cell, and of the rest: heliostat's own
/// sessions, and rows of a list that is not current, are dimmed.
fn styles(own: bool, selected: bool, theme: &Theme) -> (Style, Style) {
    let rest = if own { theme.dim } else { theme.text };
    let first = if selected {
        row_style(true, false, theme)
    } else {
        rest
    };
    (first, rest)
}

fn ms(v: Option<u64>) -> String {
    v.map_or_else(|| "–".to_string(), duration)
}

/// A row's source and how it is drawn.
struct Row<'a> {
    /// The endpoint's or node's name.
    source: &'a str,
    /// Its list is not current: the row is history, drawn dim.
    dim: bool,
    selected: bool,
}

fn pg_cell(row: &Row<'_>, s: &PgSession, col: usize, theme: &Theme) -> Cell {
    let (endpoint, selected) = (row.source, row.selected);
    let (first, rest) = styles(s.own || row.dim, selected, theme);
    let opt = |v: &Option<String>| v.clone().unwrap_or_else(|| "–".to_string());
    match col {
        0 => Cell::new(endpoint, first),
        // The pid carries the selection too: the endpoint goes first when narrow.
        1 => Cell::new(s.pid.to_string(), first),
        2 => Cell::new(opt(&s.user), rest),
        3 if s.own => Cell::new(format!("{} (this console)", s.application), rest),
        3 => Cell::new(s.application.clone(), rest),
        4 => Cell::new(opt(&s.client), rest),
        // Idle in a transaction: it holds locks and a snapshot doing nothing.
        5 if s.state.idle_in_transaction() => Cell::new(s.state.label(), theme.warn),
        5 => Cell::new(s.state.label(), rest),
        6 => Cell::new(
            s.wait
                .as_ref()
                .map_or_else(|| "–".to_string(), |(t, e)| format!("{t}:{e}")),
            if s.blocked() { theme.warn } else { rest },
        ),
        7 => Cell::new(ms(s.duration_ms()), rest),
        8 if s.blocked_by.is_empty() => Cell::new("", rest),
        8 => Cell::new(
            s.blocked_by
                .iter()
                .map(u32::to_string)
                .collect::<Vec<_>>()
                .join(","),
            theme.error,
        ),
        _ => Cell::new(opt(&s.query), rest),
    }
}

fn group_cell(g: &ClientGroup, col: usize, selected: bool, theme: &Theme) -> Cell {
    let (first, rest) = styles(g.own, selected, theme);
    match col {
        0 => {
            let label = match (g.own, g.by_host) {
                (true, _) => format!("{} (this console)", g.label),
                (false, true) => format!("host {}", g.label),
                (false, false) => g.label.clone(),
            };
            Cell::new(label, first)
        }
        1 => Cell::new(g.clients.to_string(), rest),
        2 => Cell::new(g.nodes.to_string(), rest),
        3 => Cell::new(bytes(g.memory), rest),
        4 => Cell::new(bytes(g.omem), rest),
        5 => Cell::new(g.tot_mem.map_or_else(|| "–".to_string(), bytes), rest),
        6 => Cell::new(duration(g.max_idle_s * 1000), rest),
        _ => Cell::new(duration(g.max_age_s * 1000), rest),
    }
}

fn client_cell(row: &Row<'_>, c: &RedisClient, col: usize, theme: &Theme) -> Cell {
    let (node, selected) = (row.source, row.selected);
    let (first, rest) = styles(c.own || row.dim, selected, theme);
    match col {
        0 => Cell::new(node, first),
        // The id carries the selection too: the node goes when there is one.
        1 => Cell::new(c.id.to_string(), first),
        2 if c.name.is_empty() => Cell::new("–", rest),
        2 if c.own => Cell::new(format!("{} (this console)", c.name), rest),
        2 => Cell::new(c.name.clone(), rest),
        3 => Cell::new(c.addr.clone(), rest),
        4 => Cell::new(duration(c.age_s * 1000), rest),
        5 => Cell::new(duration(c.idle_s * 1000), rest),
        6 => Cell::new(c.cmd.clone(), rest),
        7 => Cell::new(bytes(c.omem), rest),
        8 => Cell::new(bytes(c.memory()), rest),
        _ => Cell::new(c.flags.clone(), rest),
    }
}
