//! 1 Heatmap: rows (tables, key prefixes, fingerprints) × time buckets,
//! hit ratios in separate cache / buffer columns, temperature, and the
//! selected row's detail with recommendations.

use crate::ui::Canvas;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::action::Pane;
use crate::app::state::State;
use crate::engines::heatmap::{Cell, Measure, RowKind, RowView, Temperature};
use crate::theme::Theme;
use crate::ui::widgets::{
    clip, duration, empty_text, fit, open_pane, pane_block, pct, row_style, si, visible,
};

const NAME_W: usize = 22;

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

/// One grid cell: a block whose colour grows with accesses (log scale).
fn cell_span(c: &Cell, max: u32, theme: &Theme) -> Span<'static> {
    if c.gap {
        return Span::styled("╳", theme.dim);
    }
    if c.accesses == 0 {
        return Span::styled("·", theme.dim);
    }
    let f = (f64::from(c.accesses).ln_1p() / f64::from(max.max(1)).ln_1p()).clamp(0.0, 1.0);
    match theme.heat_color(f) {
        Some(color) => Span::styled("█", Style::new().fg(color)),
        // No colour (mono, NO_COLOR): intensity by glyph density instead.
        None => Span::styled(Theme::heat_glyph(f), theme.text),
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
    let evicted = state.heatmap.evicted();
    let dropped = if evicted > 0 {
        format!(" · {} dropped", si(evicted as f64))
    } else {
        String::new()
    };
    let extra = format!(
        " {}s/col · sort {} · {} rows{drawn}{dropped} ",
        view.resolution_s,
        state.ui.sort_label(Pane::Heatmap),
        view.rows.len() + view.more_rows
    );
    let extra_style = if evicted > 0 { theme.warn } else { theme.dim };
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
    let [grid_area, detail_area] =
        Layout::vertical([Constraint::Min(2), Constraint::Length(detail_h)]).areas(inner);

    // name | tag | grid… | cache | buffer | temp
    let fixed = NAME_W + 7 + 1 + 7 + 7 + 7;
    let cols = (grid_area.width as usize)
        .saturating_sub(fixed)
        .min(view.columns);
    let first_col = view.columns - cols;
    let max = state.derived.heat_max;
    let mut lines = vec![Line::from(vec![
        Span::styled(fit("row", NAME_W + 7), theme.dim),
        Span::styled(
            fit(
                &format!(
                    "← {} min",
                    (cols as u64 * u64::from(view.resolution_s)) / 60
                ),
                cols + 1,
            ),
            theme.dim,
        ),
        Span::styled(" cache ", theme.dim),
        Span::styled(" buffer", theme.dim),
        Span::styled("  temp ", theme.dim),
    ])];
    let body_h = grid_area.height.saturating_sub(1) as usize;
    let (selected, rows) = visible(&view.rows, state.ui.selected(Pane::Heatmap), body_h);
    for (i, r) in rows {
        let style = row_style(focused && i == selected, false, theme);
        let mut spans = vec![
            Span::styled(fit(&r.name, NAME_W), style),
            Span::styled(format!(" {} ", kind_tag(r)), theme.dim),
        ];
        spans.extend(
            r.cells[first_col..]
                .iter()
                .map(|c| cell_span(c, max, theme)),
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
    if detail_h > 0 {
        if let Some(r) = view.rows.get(selected) {
            detail(frame, detail_area, state, r, theme);
        }
    }
}

fn detail(frame: &mut Canvas<'_>, area: Rect, state: &State, r: &RowView, theme: &Theme) {
    let t = &r.totals;
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
                " window: {} accesses, {} hits, {} misses, {} · all time: {} accesses, saved {}, last access {} ago",
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
    if let Some(v) = view {
        lines.push(Line::from(Span::styled(
            " top fingerprints by time saved:",
            theme.dim,
        )));
        for fp in v
            .top_fingerprints
            .iter()
            .take(5usize.saturating_sub(recs.len().min(2) + extra))
        {
            lines.push(Line::from(vec![
                Span::styled(format!("  {:>8} ", duration(fp.saved_us / 1000)), theme.ok),
                Span::styled(fp.text.clone(), theme.text),
            ]));
        }
    }
    frame.render_widget(Paragraph::new(clip(lines, area.width)), area);
}
