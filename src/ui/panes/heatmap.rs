//! 1 Heatmap: rows (tables, key prefixes, fingerprints) × time buckets,
//! hit ratios in separate cache / buffer columns, temperature, and the
//! selected row's detail with recommendations.

use crate::ui::Canvas;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::heat_grid::{self, PARTIAL_MARK, Scale};
use crate::action::Pane;
use crate::app::state::State;
use crate::app::ui_state::TableNav;
use crate::engines::heatmap::{Measure, RowKind, RowView, Temperature};
use crate::theme::Theme;
use crate::ui::widgets::{
    clip, duration, empty_text, fit, open_pane, pane_block, pct, row_style, si, text_width, visible,
};

const NAME_W: usize = 22;
/// The widest a row name grows when the pane has room.
const NAME_MAX: usize = 60;
/// Grid columns kept before names grow past [`NAME_W`].
const GRID_KEEP: usize = 60;
/// Rows whose names decide the name column's width.
const HEAT_NAMES: usize = 500;

/// The colour of a temperature.
pub fn temp_color(t: Temperature, theme: &Theme) -> Style {
    match t {
        Temperature::Hot => theme.hot,
        Temperature::Warm => theme.warm,
        Temperature::Cold => theme.cold,
        Temperature::Frozen => theme.frozen,
    }
}

fn kind_tag(r: &RowView) -> &'static str {
    match (r.kind, r.measure) {
        (RowKind::Fingerprint, _) => "query",
        (RowKind::Prefix, _) => "keys ",
        (_, Measure::Buffer) => "db   ",
        _ => "cache",
    }
}

/// Draw the pane.
pub fn render(frame: &mut Canvas<'_>, area: Rect, state: &State, theme: &Theme, focused: bool) {
    let Some(view) = state.derived.heatmap.as_ref() else {
        let block = pane_block(
            Pane::Heatmap.title(),
            "",
            theme.dim,
            area.width,
            focused,
            theme,
        );
        frame.render_widget(
            Paragraph::new(" waiting for data…")
                .style(theme.dim)
                .block(block),
            area,
        );
        return;
    };
    let drawn = if view.more_rows > 0 {
        format!(" (first {})", view.rows.len())
    } else {
        String::new()
    };
    // Rows forgotten past the row cap (least recently used first).
    // Cells past a closed bucket's row cap (its quietest rows) are history
    // lost too: both are said, not only the rows.
    let evicted = state.heatmap.evicted();
    let cells = state.heatmap.dropped_cells();
    let dropped = match (evicted, cells) {
        (0, 0) => String::new(),
        (r, 0) => format!(" · {} rows dropped", si(r as f64)),
        (0, c) => format!(" · {} cells dropped", si(c as f64)),
        (r, c) => format!(" · {} rows, {} cells dropped", si(r as f64), si(c as f64)),
    };
    // Wider columns than the zoom asks for: that time is only kept coarser.
    let coarse = if view.resolution_s > view.asked_s {
        format!(
            " (kept at {})",
            heat_grid::short_secs(i64::from(view.resolution_s))
        )
    } else {
        String::new()
    };
    // The event stream's own key met by the sampler is no key row.
    let stream = state
        .session
        .event_stream
        .as_deref()
        .filter(|_| !state.keyspace.own_stream.seen_on.is_empty())
        .map(|s| {
            format!(
                " · {} (event stream) left out",
                crate::text::escape_controls(s)
            )
        })
        .unwrap_or_default();
    let extra = format!(
        " {}/col{coarse} · sort {} · {} rows{drawn}{dropped}{stream} ",
        heat_grid::short_secs(i64::from(view.asked_s)),
        state.ui.panes.heatmap.sort_label(),
        view.rows.len() + view.more_rows
    );
    let extra_style = if evicted + cells > 0 {
        theme.warn
    } else {
        theme.dim
    };
    let inner = open_pane(
        frame,
        area,
        Pane::Heatmap,
        &extra,
        extra_style,
        focused,
        theme,
    );
    let detail_h = if inner.height >= 16 { 6 } else { 0 };
    let legend_h = u16::from(inner.height >= 6);
    let [grid_area, legend_area, detail_area] = Layout::vertical([
        Constraint::Min(2),
        Constraint::Length(legend_h),
        Constraint::Length(detail_h),
    ])
    .areas(inner);

    // name | tag | grid… | cache | buffer | temp
    // Names get more room where the grid keeps enough columns (a zoomed
    // or wide pane): up to the longest name shown, at most NAME_MAX.
    let longest = view
        .rows
        .iter()
        .take(HEAT_NAMES)
        .map(|r| text_width(&r.name))
        .max();
    let others = 7 + 1 + 7 + 7 + 7;
    let room = (grid_area.width as usize).saturating_sub(others + GRID_KEEP);
    let name_w = longest
        .unwrap_or(0)
        .clamp(NAME_W, NAME_MAX)
        .min(room.max(NAME_W));
    let fixed = name_w + others;
    let cols = (grid_area.width as usize)
        .saturating_sub(fixed)
        .min(view.columns);
    let first_col = view.columns - cols;
    let body_h = grid_area.height.saturating_sub(1) as usize;
    let (selected, rows) = visible(&view.rows, state.ui.selected(Pane::Heatmap), body_h);
    let rows: Vec<(usize, &RowView)> = rows.collect();
    let shown: Vec<&RowView> = rows.iter().map(|(_, r)| *r).collect();
    let scale = Scale::of(view, &shown, first_col);
    let live = state.ui.heat_end.is_none();
    // The newest column, still filling, is marked above it.
    let mark = view.is_partial() && cols > 0;
    let axis_w = cols.saturating_sub(usize::from(mark) + 1);
    let mut axis = fit(
        &heat_grid::axis(view, first_col, live, state.derived.at, axis_w),
        axis_w,
    );
    if mark {
        axis.push(' ');
        axis.push_str(PARTIAL_MARK);
    } else if cols > 0 {
        axis.push(' ');
    }
    let mut lines = vec![Line::from(vec![
        Span::styled(fit("row", name_w + 7), theme.dim),
        Span::styled(format!("{axis} "), theme.dim),
        Span::styled(" cache ", theme.dim),
        Span::styled(" buffer", theme.dim),
        // Not "temp": that reads like Postgres temp files.
        Span::styled("  heat ", theme.dim),
    ])];
    for (i, r) in rows {
        let style = row_style(focused && i == selected, false, theme);
        let mut spans = vec![
            Span::styled(fit(&r.name, name_w), style),
            Span::styled(format!(" {} ", kind_tag(r)), theme.dim),
        ];
        let (peak, _) = heat_grid::row_peak(view, r, first_col);
        spans.extend(
            (first_col..view.columns)
                .map(|col| heat_grid::cell_span(view, (r, col), peak, scale, theme)),
        );
        let (cache, buffer) = match r.measure {
            Measure::Cache => (pct(r.hit_ratio), String::new()),
            Measure::Buffer => (String::new(), pct(r.hit_ratio)),
            // Sampled rows have no hit data: the ratio is not defined.
            Measure::Sampled => ("–".to_string(), String::new()),
        };
        spans.push(Span::styled(format!(" {cache:>6}"), theme.text));
        spans.push(Span::styled(format!(" {buffer:>6}"), theme.text));
        let t = format!(" {:<6}", format!("{:?}", r.temperature).to_lowercase());
        spans.push(Span::styled(t, temp_color(r.temperature, theme)));
        lines.push(Line::from(spans));
    }
    if view.rows.is_empty() {
        lines.push(Line::from(Span::styled(
            empty_text(
                &state.ui,
                Pane::Heatmap,
                " no rows yet: access events, key sampling and table statistics fill this",
            ),
            theme.dim,
        )));
    }
    frame.render_widget(Paragraph::new(clip(lines, grid_area.width)), grid_area);
    if legend_h > 0 {
        let spans = heat_grid::legend(view, scale, theme);
        let legend = vec![Line::from(spans)];
        frame.render_widget(Paragraph::new(clip(legend, legend_area.width)), legend_area);
    }
    if detail_h > 0 {
        if let Some(r) = view.rows.get(selected) {
            detail(frame, detail_area, state, (r, first_col), theme);
        }
    }
}

fn detail(
    frame: &mut Canvas<'_>,
    area: Rect,
    state: &State,
    (r, first_col): (&RowView, usize),
    theme: &Theme,
) {
    let t = &r.totals;
    // The row's busiest column on screen: what its full block stands for.
    let est = if r.measure == Measure::Sampled {
        "~"
    } else {
        ""
    };
    let peak = state
        .derived
        .heatmap
        .as_ref()
        .and_then(|v| match heat_grid::row_peak(v, r, first_col) {
            (rate, Some(col)) => Some(format!(
                "peak {est}{}/s at {}, ",
                si(rate),
                heat_grid::clock(v.column_start(col), "%H:%M:%S")
            )),
            _ => None,
        })
        .unwrap_or_default();
    let what = match (r.kind, r.measure) {
        (_, Measure::Buffer) => "Postgres shared buffers (block hits/reads)",
        (_, Measure::Sampled) => "Redis key sampling (accesses estimated, no hit data)",
        (RowKind::Fingerprint, _) => "query fingerprint, cache lookups",
        _ => "cache lookups from access events",
    };
    let idle = t.last_access.map(|l| duration(state.now.millis_since(l)));
    let views: Vec<(&str, &crate::engines::keyspace::KeyspaceView)> = state
        .derived
        .keyspace
        .iter()
        .map(|k| (k.name.as_str(), &k.view))
        .collect();
    let sampled = (r.measure == Measure::Sampled)
        .then(|| super::keyspace::prefix_summary(&views, &r.name, theme))
        .flatten();
    let mut lines = vec![
        Line::from(vec![
            Span::styled(format!(" {} ", r.name), theme.title),
            Span::styled(format!("— {what}"), theme.dim),
        ]),
        Line::from(Span::styled(
            format!(
                " window: {est}{} accesses, {peak}{} hits, {} misses, {} · all time: {} accesses, saved {}, last access {} ago",
                si(f64::from(r.window.accesses)),
                si(f64::from(r.window.hits)),
                si(f64::from(r.window.misses)),
                pct(r.hit_ratio),
                si(t.accesses as f64),
                duration(t.saved_us / 1000),
                idle.unwrap_or_else(|| "–".into()),
            ),
            theme.text,
        )),
    ];
    let statement = (r.kind == RowKind::Fingerprint && r.measure == Measure::Buffer)
        .then(|| state.pg_statements.rates.get(&r.name))
        .flatten()
        .map(|s| {
            Line::from(Span::styled(
                format!(
                    " pg_stat_statements: {} calls/s · mean {:.2} ms · {} rows/call",
                    si(s.calls_per_s),
                    s.mean_ms,
                    si(s.rows_per_call)
                ),
                theme.text,
            ))
        });
    let extra = usize::from(sampled.is_some()) + usize::from(statement.is_some());
    lines.extend(sampled);
    lines.extend(statement);
    let view = state.derived.heatmap.as_ref();
    let recs: Vec<_> = view
        .map(|v| v.recommendations.iter().filter(|x| x.row == r.id).collect())
        .unwrap_or_default();
    for rec in recs.iter().take(2) {
        lines.push(Line::from(vec![
            Span::styled(format!(" ▲ {:?}: ", rec.priority), theme.warn),
            Span::styled(rec.suggestion.clone(), theme.text),
        ]));
    }
    let room = 5usize.saturating_sub(recs.len().min(2) + extra);
    if let Some(v) = view.filter(|_| room > 0) {
        // Older fingerprints are forgotten past the cap: the heading says
        // how many, and an empty list says where they would come from.
        let forgotten = state.heatmap.fingerprints_evicted();
        let heading = match (v.top_fingerprints.is_empty(), forgotten) {
            (true, _) => " no query fingerprints yet (from access events with a query, or \
                          pg_stat_statements)"
                .to_string(),
            (false, 0) => " top fingerprints by time saved:".to_string(),
            (false, n) => format!(
                " top fingerprints by time saved ({} less used forgotten):",
                si(n as f64)
            ),
        };
        lines.push(Line::from(Span::styled(heading, theme.dim)));
        for fp in v.top_fingerprints.iter().take(room) {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:>8} ", duration(fp.saved_us / 1000)), theme.ok),
                Span::styled(fp.text.clone(), theme.text),
            ]));
        }
    }
    frame.render_widget(Paragraph::new(clip(lines, area.width)), area);
}
