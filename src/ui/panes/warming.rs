//! 2 Warming: strategy, what the automatic round would do (or does, with
//! AUTO-WARM), whether miss events arrive (or which flags would add them),
//! the candidate queue (key, reason, the signal that found it, time left,
//! rate, benefit in misses/s avoided), TTL cliffs the key samplers found,
//! running jobs with progress and ETA, recent results counted as
//! `heliostat warm` counts them.

use crate::ui::Canvas;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::keyspace::cliff_line;
use crate::action::Pane;
use crate::app::state::State;
use crate::engines::keyspace::prefix_of;
use crate::engines::warming::Candidate;
use crate::engines::warming::{CandidateReason, JobState, WarmJob};
use crate::sort::SortKey;
use crate::theme::Theme;
use crate::ui::table::{Cell, Column, Table, sorted_column};
use crate::ui::widgets::{
    bar, clip, duration, empty_text, fit, key_label, open_pane, row_style, si,
};

/// Draw the pane.
pub fn render(frame: &mut Canvas<'_>, area: Rect, state: &State, theme: &Theme, focused: bool) {
    let d = &state.derived;
    let strategy = state.warming.config().strategy;
    // The tracker's error bound in words: a key it does not track is read
    // less often than this (Space-Saving's guarantee).
    // Nothing evicted yet: every key seen is tracked, no bound to state.
    let bound = d.bound.as_ref().map_or(String::new(), |b| {
        let others = if b.untracked_max_rate > 0.0 {
            format!(" (others < {}/s)", si(b.untracked_max_rate))
        } else {
            String::new()
        };
        format!(
            " · {}/{} keys tracked{others}",
            si(b.tracked as f64),
            si(b.capacity as f64),
        )
    });
    // A filter (or the 500-row cut) hides some: say how many are shown.
    let shown = d.candidates.len();
    let queued = if shown == d.queue_len {
        format!("{} queued", d.queue_len)
    } else {
        format!("{shown} of {} shown", d.queue_len)
    };
    let extra = format!(" {} · {queued}{bound} ", strategy.label());
    let extra_style = theme.dim;
    let inner = open_pane(
        frame,
        area,
        Pane::Warming,
        &extra,
        extra_style,
        focused,
        theme,
    );

    let running: Vec<&WarmJob> = d.jobs.iter().filter(|j| !j.state.is_terminal()).collect();
    let recent: Vec<&WarmJob> = d
        .jobs
        .iter()
        .filter(|j| j.state.is_terminal())
        .take(3)
        .collect();
    let jobs_h = (running.len() + recent.len()).min(6) as u16 + u16::from(!d.jobs.is_empty());
    // Many keys of one prefix expiring in the same minute: worth a look
    // before the misses arrive (at most 3 lines).
    let cliffs_h = d.cliffs.len().min(3) as u16;
    let mut plan: Vec<Line> = plan_line(state, theme).into_iter().collect();
    if let Some(m) = state.miss_events_line(state.now) {
        let style = if m.warn { theme.warn } else { theme.dim };
        // Too wide for one line: what is off, then what it would add.
        let text = format!(" {}", m.text);
        match text.split_once(" — ") {
            Some((what, adds)) if text.chars().count() > area.width.saturating_sub(2) as usize => {
                plan.push(Line::from(Span::styled(what.to_string(), style)));
                plan.push(Line::from(Span::styled(format!("  {adds}"), style)));
            }
            _ => plan.push(Line::from(Span::styled(text, style))),
        }
    }
    let [plan_area, queue, cliffs, jobs] = Layout::vertical([
        Constraint::Length(plan.len() as u16),
        Constraint::Min(3),
        Constraint::Length(cliffs_h),
        Constraint::Length(jobs_h),
    ])
    .areas(inner);
    if !plan.is_empty() {
        frame.render_widget(Paragraph::new(clip(plan, plan_area.width)), plan_area);
    }
    if cliffs_h > 0 {
        let lines: Vec<Line> = d
            .cliffs
            .iter()
            .take(3)
            .map(|c| cliff_line(&c.node, &c.cliff, &c.delimiter, state.now, theme))
            .collect();
        frame.render_widget(Paragraph::new(clip(lines, cliffs.width)), cliffs);
    }

    let delim = state.session.key_delimiter.as_str();
    let sort = &state.ui.panes.warming;
    let cell = |c: &Candidate, col: usize, selected: bool| -> Cell {
        let marked = state.ui.marked.contains(&c.key_hash);
        match col {
            0 => Cell::new(if marked { "✓" } else { " " }, theme.marked),
            1 => {
                let name = c.name.as_deref().map_or_else(
                    || format!("#{:016x}", c.key_hash),
                    |n| key_label(n, state.session.redact_keys, delim),
                );
                Cell::new(name, row_style(focused && selected, marked, theme))
            }
            2 => {
                let color = match c.reason {
                    CandidateReason::MissingHot { .. } => theme.hot,
                    CandidateReason::Expiring { .. } => theme.warm,
                    CandidateReason::Predicted { .. } => theme.cold,
                    CandidateReason::Preload => theme.accent,
                };
                Cell::new(c.reason.label(), color)
            }
            3 => Cell::new(si(c.score), theme.dim),
            4 => Cell::new(c.signal.label(), theme.dim),
            5 => Cell::new(
                match c.reason {
                    CandidateReason::MissingHot { .. } => "missing".to_string(),
                    CandidateReason::Expiring { time_left_ms } => duration(time_left_ms),
                    _ => "–".to_string(),
                },
                theme.text,
            ),
            6 => Cell::new(benefit(c.misses_per_s), theme.text),
            7 => Cell::new(si(c.rate), theme.text),
            // The key's prefix: what a warm rule would match it by.
            _ => Cell::new(
                c.name
                    .as_deref()
                    .and_then(|n| prefix_of(n, delim))
                    .map_or_else(|| "–".to_string(), |p| format!("{p}{delim}*")),
                theme.dim,
            ),
        }
    };
    let table = Table {
        columns: &QUEUE,
        rows: &d.candidates,
        selected: sort.selected,
        sort: sorted_column(&QUEUE, sort.sort.column(), sort.direction()),
        head_style: theme.dim,
        cell: &cell,
    };
    let mut lines = table.lines(usize::from(queue.width), usize::from(queue.height));
    if d.candidates.is_empty() {
        lines.push(Line::from(Span::styled(
            empty_text(
                &state.ui,
                Pane::Warming,
                "  queue empty: no hot key known to be missing or about to expire",
            ),
            theme.dim,
        )));
    }
    frame.render_widget(Paragraph::new(clip(lines, queue.width)), queue);

    if jobs_h == 0 {
        return;
    }
    let mut jl = vec![Line::from(Span::styled(" jobs", theme.dim))];
    for j in running.iter().chain(recent.iter()) {
        jl.push(job_line(j, state, theme, jobs.width as usize));
    }
    frame.render_widget(Paragraph::new(clip(jl, jobs.width)), jobs);
}

/// The queue's columns; when narrow, the score goes first (unless the
/// queue is sorted by it), then the prefix, the signal that found the
/// key, the rate, the benefit and the time left.
const QUEUE: [Column<'static>; 9] = [
    Column::text("", 1),
    Column::name("key", 16, 60),
    Column::text("reason", 11),
    Column::figure("score", 6).drop(6),
    Column::text("found by", 13).drop(4),
    Column::figure("time left", 9).drop(1),
    Column::figure("benefit", 11).drop(2),
    Column::figure("rate/s", 6).drop(3),
    Column::name("prefix", 8, 24).drop(5),
];

/// A candidate's benefit with its unit: misses avoided per second.
fn benefit(misses_per_s: f64) -> String {
    if misses_per_s > 0.0 && misses_per_s < 0.1 {
        "<0.1 miss/s".to_string()
    } else {
        format!("{} miss/s", si(misses_per_s))
    }
}

/// What the automatic round would do (auto-warm off: it only plans) or
/// does (AUTO-WARM); `None` where no round runs (the demo, read-only, no
/// warm rules).
fn plan_line(state: &State, theme: &Theme) -> Option<Line<'static>> {
    let s = &state.session;
    if s.demo || !s.writes_allowed || state.warm.rules.is_empty() {
        return None;
    }
    let every = duration(state.warming.config().refresh_interval_ms());
    let auto = &state.warm.auto;
    let ago = |at| duration(state.now.millis_since(at));
    if !s.auto_warm {
        let text = match &auto.plan {
            Some(p) => format!(
                " auto-warm off · round {} ago would refresh {} keys, would fill {} · w / W warm them after y/n",
                ago(p.at),
                p.refresh,
                p.fill
            ),
            None => {
                format!(" auto-warm off · rounds (every {every}) only plan; w / W warm after y/n")
            }
        };
        return Some(Line::from(Span::styled(text, theme.dim)));
    }
    let mut text = match &auto.plan {
        Some(p) => format!(
            " AUTO-WARM · round {} ago: refreshing {} keys, filling {}",
            ago(p.at),
            p.refresh,
            p.fill
        ),
        None => format!(" AUTO-WARM · rounds every {every}, the first after the hot keys' probe"),
    };
    let held = auto.plan.map_or(0, |p| p.held_back);
    if held > 0 {
        text.push_str(&format!(" · {held} keys held back after failing"));
    }
    let waiting = auto.plan.map_or(0, |p| p.rules_waiting);
    if waiting > 0 {
        text.push_str(&format!(" · {waiting} rules backing off"));
    }
    Some(Line::from(Span::styled(text, theme.warn)))
}

fn job_line(j: &WarmJob, state: &State, theme: &Theme, width: usize) -> Line<'static> {
    let p = &j.progress;
    let now = state.now;
    let (color, status) = match &j.state {
        JobState::Running | JobState::Queued => {
            let rate = j.keys_per_sec(now).map_or("–".into(), si);
            let eta = match j.eta_ms(now) {
                Some(ms) => duration(ms),
                None if !p.total_known => "? (keys still coming)".into(),
                None => "–".into(),
            };
            (theme.accent, format!("{rate} keys/s · ETA {eta}"))
        }
        JobState::Done => (theme.ok, "done".to_string()),
        JobState::Failed { .. } => (theme.error, "failed".to_string()),
        JobState::Cancelled => (theme.warn, "cancelled".to_string()),
    };
    let total = if p.total_known {
        p.total.to_string()
    } else {
        "?".into()
    };
    let bar_w = (width / 12).clamp(4, 10);
    let mut spans = vec![
        Span::styled(format!(" #{} {} ", j.id, fit(&j.label, 18)), theme.text),
        Span::styled(bar(j.fraction().unwrap_or(0.0), bar_w), theme.gauge_fill),
        Span::styled(format!(" {}/{total} · ", p.done), theme.text),
        Span::styled(status, color),
        Span::styled(format!(" · {}", p.tally.describe()), theme.text),
    ];
    if let JobState::Failed { reason } = &j.state {
        spans.push(Span::styled(format!(" · {reason}"), theme.error));
    }
    Line::from(spans)
}
