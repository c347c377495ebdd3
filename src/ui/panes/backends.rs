//! 3 Backends: each Redis node and Postgres endpoint with health state,
//! measured round trips (p50/p99, sparkline), ops/s, errors and a usage
//! gauge; the pool model's routing strategy and a routing preview. Below
//! the rows, the selected Redis node's detail: the console's own command
//! rate and share (the observer effect), its key sampler (budget, actual
//! rate, coverage) and the per-prefix estimates with their intervals; or
//! the selected Postgres endpoint's alert, sessions, waits, rates and
//! replication.

use crate::ui::Canvas;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::keyspace;
use crate::action::Pane;
use crate::app::derive::BackendRow;
use crate::app::source::age as age_text;
use crate::app::state::State;
use crate::engines::Timestamp;
use crate::engines::pool::{HealthState, RoutingRole};
use crate::sample::{RedisRole, SourceKind, SourceStatus};
use crate::sort::SortKey;
use crate::theme::Theme;
use crate::ui::table::{Cell, Column, Table, sorted_column};
use crate::ui::widgets::{
    bar, bytes, clip, empty_text, key_label, ms, open_pane, pct, row_style, si, si_or_dash,
    sparkline,
};

fn health_color(h: HealthState, theme: &Theme) -> Style {
    match h {
        HealthState::Healthy => theme.ok,
        HealthState::Suspect | HealthState::Recovering => theme.warn,
        HealthState::Down => theme.error,
    }
}

fn role(r: &BackendRow) -> &'static str {
    match r.kind {
        SourceKind::Redis => match r.redis_role {
            Some(RedisRole::Primary) => "primary",
            Some(RedisRole::Replica) => "replica",
            None => "cache",
        },
        SourceKind::PgPrimary => "primary",
        SourceKind::PgReplica => "replica",
        SourceKind::Events => "events",
    }
}

/// The columns; the notes take what room is left; when narrow, the ping
/// sparkline goes first, then the gauge, errors, p99, the role, p50 and
/// ops/s.
const COLUMNS: [Column<'static>; 10] = [
    Column::name("backend", 13, 40).middle(),
    Column::text("role", 7).drop(4),
    Column::text("health", 10),
    Column::figure("p50", 7).drop(3),
    Column::figure("p99", 7).drop(5),
    Column::text("ping rtt", 12).drop(8),
    Column::figure("ops/s", 7).drop(2),
    Column::figure("err", 4).drop(6),
    Column::text("used", 17).drop(7),
    Column::name("", 0, 90),
];

/// The health column: drained and failed-over states first, then the
/// health state machine's (before the first check: connecting).
fn health(r: &BackendRow, theme: &Theme) -> (String, Style) {
    if r.drained {
        ("drained".to_string(), theme.frozen)
    } else if matches!(r.routing, Some(RoutingRole::FailedOver)) && r.health == HealthState::Down {
        ("down·out".to_string(), theme.error)
    } else if !r.checked {
        ("connecting".to_string(), theme.warn)
    } else {
        (r.health.label().to_string(), health_color(r.health, theme))
    }
}

/// The last column: how old the figures of a stale row are (never shown
/// as if current), else the node's eviction and client figures, or the
/// endpoint's buffer hit ratio and replication lag.
fn notes(r: &BackendRow) -> String {
    if let Some((_, age)) = &r.stale {
        let age = age.map_or("none yet".to_string(), |ms| format!("{} old", age_text(ms)));
        return format!("figures {age}");
    }
    let mut out = r.redis_detail.clone().unwrap_or_default();
    if r.kind != SourceKind::Redis {
        out.push_str(&format!("buf {}", pct(r.buffer_ratio)));
        if r.kind == SourceKind::PgReplica {
            out.push_str(&format!(" lag {}", bytes(r.lag_bytes)));
        }
    }
    out
}

/// Draw the pane.
pub fn render(frame: &mut Canvas<'_>, area: Rect, state: &State, theme: &Theme, focused: bool) {
    let d = &state.derived;
    let extra = format!(
        " keys {} · reads {} ",
        state.pool.strategy().label(),
        state.db_pool.strategy().label()
    );
    let extra_style = theme.dim;
    let inner = open_pane(
        frame,
        area,
        Pane::Backends,
        &extra,
        extra_style,
        focused,
        theme,
    );
    let rows_h = d.backends.len().max(1) as u16 + 1;
    let room = inner.height.saturating_sub(2 + rows_h + 1);
    let mut detail = node_detail(state, theme, usize::from(room));
    detail.truncate(usize::from(room));
    let detail_h = detail.len() as u16;
    // With a detail, it sits right under the rows (after a blank line).
    let [table_area, detail_area, _, footer] = if detail_h > 0 {
        Layout::vertical([
            Constraint::Length(rows_h + 1),
            Constraint::Length(detail_h),
            Constraint::Min(0),
            Constraint::Length(2),
        ])
        .areas(inner)
    } else {
        let [table, footer] =
            Layout::vertical([Constraint::Min(2), Constraint::Length(2)]).areas(inner);
        [table, Rect::default(), Rect::default(), footer]
    };

    let sort = &state.ui.panes.backends;
    let cell = |r: &BackendRow, col: usize, selected: bool| -> Cell {
        match col {
            0 => Cell::new(r.name.clone(), row_style(focused && selected, false, theme)),
            1 => Cell::new(role(r), theme.dim),
            2 => {
                let (text, style) = health(r, theme);
                Cell::new(text, style)
            }
            3 => Cell::new(ms(r.p50_ms), theme.text),
            4 => Cell::new(ms(r.p99_ms), theme.text),
            5 => Cell::new(sparkline(&r.rtt_us, 12), theme.sparkline),
            6 => Cell::new(si_or_dash(r.ops_per_sec), theme.text),
            7 => Cell::new(r.errors.to_string(), theme.text),
            // A gauge of a source that is down or silent would be history.
            8 if r.stale.is_some() => Cell::new("–", theme.dim),
            8 => {
                let (frac, label) = if r.capacity > 0 {
                    let f = r.used as f64 / r.capacity as f64;
                    (f, format!("{:>4.0}%", 100.0 * f))
                } else {
                    (0.0, bytes(r.used))
                };
                Cell::spans(vec![
                    (bar(frac, 8), theme.gauge_fill),
                    (format!(" {label}"), theme.dim),
                ])
            }
            _ => Cell::new(notes(r), theme.dim),
        }
    };
    let table = Table {
        columns: &COLUMNS,
        rows: &d.backends,
        selected: sort.selected,
        sort: sorted_column(&COLUMNS, sort.sort.column(), sort.direction()),
        head_style: theme.dim,
        cell: &cell,
    };
    let mut lines = table.lines(
        usize::from(table_area.width),
        usize::from(table_area.height),
    );
    if d.backends.is_empty() {
        lines.push(Line::from(Span::styled(
            empty_text(&state.ui, Pane::Backends, " no backends yet"),
            theme.dim,
        )));
    }
    frame.render_widget(Paragraph::new(clip(lines, table_area.width)), table_area);
    if detail_h > 0 {
        frame.render_widget(Paragraph::new(clip(detail, detail_area.width)), detail_area);
    }

    let long = " what-if model only: d drains, r changes routing; no server or traffic is touched";
    let note = if long.len() <= usize::from(footer.width) {
        long
    } else {
        " what-if model only: d drain · r routing"
    };
    let mut foot = vec![Line::from(vec![Span::styled(note, theme.dim)])];
    if let Some((key, route)) = &d.route {
        let targets: Vec<&str> = route.targets.iter().map(|b| state.pool.name(*b)).collect();
        let reads: Vec<&str> = d
            .db_route
            .as_ref()
            .map(|r| r.targets.iter().map(|b| state.db_pool.name(*b)).collect())
            .unwrap_or_default();
        let mut spans = vec![
            Span::styled(" preview ", theme.dim),
            Span::styled(
                key_label(key, state.session.redact_keys, &state.session.key_delimiter),
                theme.text,
            ),
            Span::styled(" (1 KiB) → ", theme.dim),
            Span::styled(
                if targets.is_empty() {
                    "no eligible backend".to_string()
                } else {
                    targets.join(", ")
                },
                theme.accent,
            ),
        ];
        if !reads.is_empty() {
            spans.push(Span::styled(" · its miss reads from ", theme.dim));
            spans.push(Span::styled(reads.join(", "), theme.accent));
        }
        if route.flags.degraded {
            spans.push(Span::styled(" · pool degraded", theme.error));
        }
        if route.flags.last_resort {
            spans.push(Span::styled(" · last resort", theme.warn));
        }
        foot.push(Line::from(spans));
    } else {
        foot.push(Line::from(Span::styled(
            " preview: select a key in Warming to see where the model routes it",
            theme.dim,
        )));
    }
    frame.render_widget(Paragraph::new(clip(foot, footer.width)), footer);
}

/// The selected Redis node's observer effect, sampler and prefix table, or
/// the selected Postgres endpoint's detail (nothing before there is
/// anything to say).
fn node_detail(state: &State, theme: &Theme, room: usize) -> Vec<Line<'static>> {
    let d = &state.derived;
    let sel = state
        .ui
        .selected(Pane::Backends)
        .min(d.backends.len().saturating_sub(1));
    let Some(r) = d.backends.get(sel) else {
        return Vec::new();
    };
    // Why it is down or silent, and what part of it fails, first.
    let mut out = trouble_lines(r, d.at, theme);
    if r.kind != SourceKind::Redis {
        // A Postgres endpoint: its alert first, then its sessions, waits,
        // rates and replication.
        let alert = r
            .alert
            .iter()
            .map(|a| Line::from(Span::styled(format!(" alert: {a}"), theme.warn)));
        let lines = r
            .detail
            .iter()
            .map(|l| Line::from(Span::styled(format!(" {l}"), theme.dim)));
        out.extend(alert.chain(lines));
        return out;
    }
    let view = d.keyspace_of(r.source);
    if view.is_none() && r.own_ops_per_sec <= 0.0 {
        return out;
    }
    out.push(keyspace::own_line(
        &r.name,
        r.own_ops_per_sec,
        r.ops_per_sec.unwrap_or(0.0),
        theme,
    ));
    let mine: Vec<Line<'static>> = r
        .detail
        .iter()
        .map(|l| Line::from(Span::styled(format!(" {l}"), theme.dim)))
        .collect();
    let Some(v) = view else {
        out.extend(mine);
        return out;
    };
    let node = r.ops_per_sec.map(|o| o + r.own_ops_per_sec);
    out.push(keyspace::sampler_line(v, node, state.now, theme));
    out.push(keyspace::keys_line(v, state.session.redact_keys, theme));
    // Diagnostics first, but never at the cost of the prefix table's first rows.
    let table = (v.prefixes.len() + 1).min(4);
    let n = mine.len().min(room.saturating_sub(out.len() + table));
    out.extend(mine.into_iter().take(n));
    out.push(keyspace::prefix_header(theme));
    let left = room.saturating_sub(out.len());
    out.extend(
        v.prefixes
            .iter()
            .take(left)
            .map(|p| keyspace::prefix_row(p, &v.delimiter, theme)),
    );
    out
}

/// The selected row's trouble: why it is down or silent (the reason in
/// the server's words, when the next attempt is due, how old its last
/// figures are), what part of it fails, and the event stream's traffic
/// taken out of its figures.
fn trouble_lines(r: &BackendRow, now: Timestamp, theme: &Theme) -> Vec<Line<'static>> {
    let mut out = Vec::new();
    if let Some((why, age)) = &r.stale {
        let next = match &r.status {
            SourceStatus::Retrying { at, .. } => {
                format!(
                    " · next attempt in {}s",
                    at.millis_since(now).div_ceil(1000)
                )
            }
            _ => String::new(),
        };
        let age = age.map_or(" · no figures yet".to_string(), |ms| {
            format!(" · figures {} old, not shown", age_text(ms))
        });
        out.push(Line::from(Span::styled(
            format!(" {}: {why}{next}{age}", r.name),
            theme.error,
        )));
    }
    for p in &r.problems {
        out.push(Line::from(Span::styled(format!(" {p}"), theme.warn)));
    }
    if r.stream_xadd_per_sec > 0.0 && r.stale.is_none() {
        out.push(Line::from(Span::styled(
            format!(
                " event stream here: {} XADD/s, its own traffic, taken out of ops/s",
                si(r.stream_xadd_per_sec)
            ),
            theme.dim,
        )));
    }
    out
}
