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
use crate::theme::Theme;
use crate::ui::widgets::{
    bar, bytes, clip, empty_text, fit, fit_middle, key_label, ms, open_pane, pct, row_style, si,
    si_or_dash, sparkline, text_width, visible,
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
    let [table, detail_area, _, footer] = if detail_h > 0 {
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

    let w = table.width as usize;
    let wide = w >= 90;
    let spark_w = if wide { 12 } else { 0 };
    let gauge_w = if w >= 70 { 8 } else { 0 };
    let longest = d
        .backends
        .iter()
        .map(|b| text_width(&b.name))
        .max()
        .unwrap_or(0);
    // Names get what the columns leave, up to 30 cells.
    let mut fixed = 9 + 11 + 14 + 12;
    if spark_w > 0 {
        fixed += 1 + spark_w;
    }
    if gauge_w > 0 {
        fixed += 2 + gauge_w + 6;
    }
    let name_w = longest.clamp(13, w.saturating_sub(fixed).clamp(13, 30));
    // The error count goes first when the pane is too narrow for it.
    let err_w = if name_w + fixed <= w { 5 } else { 0 };
    let mut head = format!(
        "{} {:<8}{:<11}{:>7}{:>7}",
        fit("backend", name_w),
        "role",
        "health",
        "p50",
        "p99"
    );
    if spark_w > 0 {
        head.push_str(&format!(" {:<spark_w$}", "ping rtt"));
    }
    head.push_str(&format!(
        "{:>7}{:>err_w$}",
        "ops/s",
        if err_w > 0 { "err" } else { "" }
    ));
    if gauge_w > 0 {
        head.push_str(&format!("  {:<w$}", "used", w = gauge_w + 9));
    }
    let mut lines = vec![Line::from(Span::styled(head, theme.dim))];
    let body_h = table.height.saturating_sub(1) as usize;
    let (selected, rows) = visible(&d.backends, state.ui.selected(Pane::Backends), body_h);
    for (i, r) in rows {
        let style = row_style(focused && i == selected, false, theme);
        let health = if r.drained {
            ("drained".to_string(), theme.frozen)
        } else if matches!(r.routing, Some(RoutingRole::FailedOver))
            && r.health == HealthState::Down
        {
            ("down·out".to_string(), theme.error)
        } else if !r.checked {
            ("connecting".to_string(), theme.warn)
        } else {
            (r.health.label().to_string(), health_color(r.health, theme))
        };
        let mut spans = vec![
            Span::styled(fit_middle(&r.name, name_w), style),
            Span::styled(format!(" {:<8}", role(r)), theme.dim),
            Span::styled(format!("{:<11}", health.0), health.1),
            Span::styled(
                format!("{:>7}{:>7}", ms(r.p50_ms), ms(r.p99_ms)),
                theme.text,
            ),
        ];
        if spark_w > 0 {
            spans.push(Span::styled(
                format!(" {:<spark_w$}", sparkline(&r.rtt_us, spark_w)),
                theme.sparkline,
            ));
        }
        let ops = si_or_dash(r.ops_per_sec);
        spans.push(Span::styled(
            if err_w > 0 {
                format!("{ops:>7}{:>err_w$}", r.errors)
            } else {
                format!("{ops:>7}")
            },
            theme.text,
        ));
        if gauge_w > 0 && r.stale.is_some() {
            // A gauge of a source that is down or silent would be history.
            spans.push(Span::raw("  "));
            spans.push(Span::styled(
                format!("{:<w$}", "–", w = gauge_w + 9),
                theme.dim,
            ));
        } else if gauge_w > 0 {
            let (frac, label) = if r.capacity > 0 {
                (
                    r.used as f64 / r.capacity as f64,
                    format!("{:>4.0}%", 100.0 * r.used as f64 / r.capacity as f64),
                )
            } else {
                (0.0, fit(&bytes(r.used), 8))
            };
            spans.push(Span::raw("  "));
            spans.push(Span::styled(bar(frac, gauge_w), theme.gauge_fill));
            spans.push(Span::styled(format!(" {label}"), theme.dim));
        }
        if let (true, Some((_, age))) = (wide, &r.stale) {
            // Old figures are not shown as if current: only their age.
            let age = age.map_or("none yet".to_string(), |ms| format!("{} old", age_text(ms)));
            spans.push(Span::styled(format!(" figures {age}"), theme.dim));
        } else if let (true, Some(detail)) = (wide, &r.redis_detail) {
            spans.push(Span::styled(format!(" {detail}"), theme.dim));
        }
        if wide && r.kind != SourceKind::Redis && r.stale.is_none() {
            spans.push(Span::styled(
                format!(" buf {}", pct(r.buffer_ratio)),
                theme.dim,
            ));
            if r.kind == SourceKind::PgReplica {
                spans.push(Span::styled(
                    format!(" lag {}", bytes(r.lag_bytes)),
                    theme.dim,
                ));
            }
        }
        lines.push(Line::from(spans));
    }
    if d.backends.is_empty() {
        lines.push(Line::from(Span::styled(
            empty_text(&state.ui, Pane::Backends, " no backends yet"),
            theme.dim,
        )));
    }
    frame.render_widget(Paragraph::new(clip(lines, table.width)), table);
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
