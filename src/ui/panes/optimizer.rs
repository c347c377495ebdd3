//! 4 Optimizer: backends ranked by score (bar), predicted latency,
//! throughput and cost, confidence, strengths and weaknesses, and the
//! detected workload pattern.

use crate::ui::Canvas;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::action::Pane;
use crate::app::state::State;
use crate::engines::optimizer::{PredictionSource, Recommendation, Remark};
use crate::sort::SortKey;
use crate::theme::Theme;
use crate::ui::table::{Cell, Column, Table, sorted_column};
use crate::ui::widgets::{bar, clip, empty_text, ms, open_pane, row_style, si};

/// The columns; when narrow, the prediction's source goes first, then
/// the score bar, the cost, the confidence, throughput and latency. The
/// reason a backend ranks last takes what room is left.
const COLUMNS: [Column<'static>; 9] = [
    Column::name("backend", 10, 30).middle(),
    Column::text("", 8).drop(6),
    Column::figure("score", 6),
    Column::figure("latency", 8).drop(2),
    Column::figure("thru/s", 7).drop(3),
    Column::figure("cost", 6).drop(5),
    Column::figure("conf", 5).drop(4),
    Column::text("by", 4).drop(7),
    Column::name("", 0, 80),
];

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
    let [table_area, detail] =
        Layout::vertical([Constraint::Min(2), Constraint::Length(detail_h)]).areas(inner);

    let sort = &state.ui.panes.optimizer;
    let cell = |r: &Recommendation, col: usize, selected: bool| -> Cell {
        // Not measured now: no score, its last figures not shown, the reason.
        let live = r.unavailable.is_none();
        let figure = |text: String| Cell::new(if live { text } else { "–".into() }, theme.text);
        match col {
            0 => Cell::new(r.name.clone(), row_style(focused && selected, false, theme)),
            1 if live => Cell::new(bar(r.score, 8), theme.gauge_fill),
            1 => Cell::new("", theme.text),
            2 => figure(format!("{:.2}", r.score)),
            3 => figure(ms(Some(r.predicted_latency_ms))),
            4 => figure(si(r.predicted_throughput_eps)),
            5 => figure(format!("{:.2}", r.predicted_cost)),
            6 => figure(format!("{:.0}%", r.confidence * 100.0)),
            7 if live => Cell::new(
                match r.predicted_by {
                    PredictionSource::Model => "fit",
                    PredictionSource::Ewma => "ewma",
                    PredictionSource::Declared => "decl",
                },
                theme.dim,
            ),
            7 => Cell::new("", theme.dim),
            _ => Cell::new(
                r.unavailable
                    .as_ref()
                    .map_or(String::new(), |why| format!("ranked last: {why}")),
                theme.warn,
            ),
        }
    };
    let table = Table {
        columns: &COLUMNS,
        rows: &d.ranking,
        selected: sort.selected,
        sort: sorted_column(&COLUMNS, sort.sort.column(), sort.direction()),
        head_style: theme.dim,
        cell: &cell,
    };
    let mut lines = table.lines(
        usize::from(table_area.width),
        usize::from(table_area.height),
    );
    let selected = sort.selected.min(d.ranking.len().saturating_sub(1));
    if d.ranking.is_empty() {
        lines.push(Line::from(Span::styled(
            empty_text(&state.ui, Pane::Optimizer, " no measurements yet"),
            theme.dim,
        )));
    }
    frame.render_widget(Paragraph::new(clip(lines, table_area.width)), table_area);
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
