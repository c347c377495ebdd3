//! 4 Optimizer: backends ranked by score (bar), predicted latency,
//! throughput and cost, confidence, strengths and weaknesses, and the
//! detected workload pattern.

use crate::ui::Canvas;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::action::Pane;
use crate::app::state::State;
use crate::engines::optimizer::{PredictionSource, Remark};
use crate::theme::Theme;
use crate::ui::widgets::{
    bar, cells, clip, empty_text, fit, fit_columns, fit_middle, ms, open_pane, row_style, si,
    visible,
};

/// Draw the pane.
pub fn render(frame: &mut Canvas<'_>, area: Rect, state: &State, theme: &Theme, focused: bool) {
    let d = &state.derived;
    let pattern = d.workload.as_ref().map_or("–".to_string(), |w| {
        let cv = w
            .inter_arrival_cv
            .map_or(String::new(), |c| format!(" cv {c:.2}"));
        let season = w
            .seasonality
            .as_ref()
            .map_or(String::new(), |s| format!(" period {}s", s.period_secs));
        format!(
            "{} {}/s{cv}{season}",
            w.pattern_type.label(),
            si(w.event_rate)
        )
    });
    let extra = format!("workload {pattern}");
    let inner = open_pane(
        frame,
        area,
        Pane::Optimizer,
        &extra,
        theme.dim,
        focused,
        theme,
    );
    let detail_h = if inner.height >= 9 { 3 } else { 0 };
    let [table, detail] =
        Layout::vertical([Constraint::Min(2), Constraint::Length(detail_h)]).areas(inner);

    let w = table.width as usize;
    let bar_w = if w >= 56 { 8 } else { 4 };
    let name_w = if w < 40 { 10 } else { 13 };
    let widths = [8, 8, 7, 5, 5];
    let ncols = fit_columns(w.saturating_sub(name_w + bar_w + 7), &widths);
    let widths = &widths[..ncols];
    let heads = ["latency", "thru/s", "cost", "conf", "by"].map(String::from);
    let mut lines = vec![Line::from(Span::styled(
        format!(
            "{} {:<sw$}{}",
            fit("backend", name_w),
            "score",
            cells(&heads[..ncols], widths),
            sw = bar_w + 6
        ),
        theme.dim,
    ))];
    let body_h = table.height.saturating_sub(1) as usize;
    let (selected, rows) = visible(&d.ranking, state.ui.selected(Pane::Optimizer), body_h);
    for (i, r) in rows {
        let style = row_style(focused && i == selected, false, theme);
        // Not measured now: no score, its last figures not shown, the reason.
        if let Some(why) = &r.unavailable {
            lines.push(Line::from(vec![
                Span::styled(fit_middle(&r.name, name_w), style),
                Span::raw(" "),
                Span::raw(" ".repeat(bar_w)),
                Span::styled("  –   ", theme.text),
                Span::styled(format!("ranked last: {why}"), theme.warn),
            ]));
            continue;
        }
        let src = match r.predicted_by {
            PredictionSource::Model => "fit",
            PredictionSource::Ewma => "ewma",
            PredictionSource::Declared => "decl",
        };
        let values = [
            ms(Some(r.predicted_latency_ms)),
            si(r.predicted_throughput_eps),
            format!("{:.2}", r.predicted_cost),
            format!("{:.0}%", r.confidence * 100.0),
            src.to_string(),
        ];
        lines.push(Line::from(vec![
            Span::styled(fit_middle(&r.name, name_w), style),
            Span::raw(" "),
            Span::styled(bar(r.score, bar_w), theme.gauge_fill),
            Span::styled(format!(" {:.2} ", r.score), theme.text),
            Span::styled(cells(&values[..ncols], widths), theme.text),
        ]));
    }
    if d.ranking.is_empty() {
        lines.push(Line::from(Span::styled(
            empty_text(&state.ui, Pane::Optimizer, " no measurements yet"),
            theme.dim,
        )));
    }
    frame.render_widget(Paragraph::new(clip(lines, table.width)), table);
    if detail_h == 0 {
        return;
    }
    if let Some(r) = d.ranking.get(selected) {
        let plus = remarks(&r.strengths, r.kind.label());
        let minus = remarks(&r.weaknesses, r.kind.label());
        if let Some(why) = &r.unavailable {
            let lines = vec![
                Line::from(Span::styled(format!(" {} ", r.name), theme.title)),
                Line::from(Span::styled(
                    format!(" ranked last, its figures are not current: {why}"),
                    theme.warn,
                )),
            ];
            frame.render_widget(Paragraph::new(clip(lines, detail.width)), detail);
            return;
        }
        let lines = vec![
            Line::from(vec![
                Span::styled(format!(" {} ", r.name), theme.title),
                Span::styled(
                    format!(
                        "{} · cost {:.2} · p99 {}",
                        r.kind.label(),
                        r.predicted_cost,
                        ms(Some(r.predicted_p99_ms))
                    ),
                    theme.dim,
                ),
            ]),
            Line::from(vec![
                Span::styled(" + ", theme.ok),
                Span::styled(plus, theme.text),
            ]),
            Line::from(vec![
                Span::styled(" − ", theme.error),
                Span::styled(minus, theme.text),
            ]),
        ];
        frame.render_widget(Paragraph::new(clip(lines, detail.width)), detail);
    }
}

/// Measured remarks first; the fixed text of a backend kind says it is the
/// same for every backend of that kind, so it does not read as a finding.
fn remarks(all: &[Remark], kind: &str) -> String {
    let (fixed, measured): (Vec<&Remark>, Vec<&Remark>) =
        all.iter().partition(|r| matches!(r, Remark::Text(_)));
    let mut parts: Vec<String> = measured.iter().take(3).map(|r| r.to_string()).collect();
    if !fixed.is_empty() {
        let fixed: Vec<String> = fixed.iter().take(3).map(|r| r.to_string()).collect();
        parts.push(format!("as any {kind}: {}", fixed.join(", ")));
    }
    parts.join(" · ")
}
