//! The header: banner (DEMO or the context's), sources with their status,
//! badges, cache ops/s, cache hit ratio with a sparkline, the clock.

use crate::ui::Canvas;
use chrono::{DateTime, Utc};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::widgets::{pct, ratio_sparkline, si};
use crate::app::state::State;
use crate::sample::{SourceKind, SourceStatus};
use crate::theme::Theme;

/// Rows the header needs.
pub fn height(state: &State, full: bool) -> u16 {
    let banner = u16::from(state.session.demo || state.session.banner.is_some());
    banner + if full { 2 } else { 1 }
}

fn banner_color(name: &str) -> Option<Color> {
    name.parse::<Color>().ok()
}

/// Draw the header into `area`.
pub fn render(frame: &mut Canvas<'_>, area: Rect, state: &State, theme: &Theme, full: bool) {
    let rows = Layout::vertical(vec![Constraint::Length(1); area.height as usize]).split(area);
    let mut i = 0;
    if state.session.demo {
        let text = " DEMO  simulated workload, no server touched · connect: heliostat --redis URL --postgres URL (or REDIS_URL, DATABASE_URL)";
        frame.render_widget(Paragraph::new(text).style(theme.demo_banner), rows[0]);
        i = 1;
    } else if let Some((label, color)) = &state.session.banner {
        let mut style = theme.banner;
        if let Some(c) = banner_color(color) {
            style = style.bg(c);
        }
        let ctx = state.session.context.as_deref().unwrap_or("");
        frame.render_widget(
            Paragraph::new(format!(" {label} · context {ctx}")).style(style),
            rows[0],
        );
        i = 1;
    }
    let Some(&line1) = rows.get(i) else { return };
    let clock = clock_line(state, theme);
    let w = clock.width() as u16;
    let room = usize::from(line1.width.saturating_sub(w + 1));
    frame.render_widget(Paragraph::new(sources_line(state, theme, room)), line1);
    if line1.width > w {
        let r = Rect::new(line1.x + line1.width - w, line1.y, w, 1);
        frame.render_widget(Paragraph::new(clock), r);
    }
    if full {
        if let Some(&line2) = rows.get(i + 1) {
            frame.render_widget(Paragraph::new(stats_line(state, theme, line2.width)), line2);
        }
    }
}

/// The sources with their status, in `room` cells: full names if they fit,
/// else names cut to 8, else only the status dots.
fn sources_line<'a>(state: &'a State, theme: &Theme, room: usize) -> Line<'a> {
    for name_w in [usize::MAX, 8, 0] {
        let line = sources_spans(state, theme, name_w);
        if line.width() <= room || name_w == 0 {
            return line;
        }
    }
    Line::default()
}

fn sources_spans<'a>(state: &'a State, theme: &Theme, name_w: usize) -> Line<'a> {
    let mut spans = vec![Span::styled(" heliostat ", theme.title)];
    if let Some(ctx) = &state.session.context {
        spans.push(Span::styled(format!("[{ctx}] "), theme.dim));
    }
    for s in &state.sources {
        let (dot, color, note) = match &s.status {
            SourceStatus::Connected => match &s.stream {
                Some(st) => {
                    // Behind by a second or more: the reader cannot keep up.
                    let lag = st
                        .lag_ms
                        .filter(|&ms| ms >= 1000 && s.ops_per_sec > 0.0)
                        .map(|ms| format!(" {:.0}s behind", ms as f64 / 1000.0))
                        .unwrap_or_default();
                    let mut bad = if st.malformed > 0 {
                        format!(" {} malformed", st.malformed)
                    } else {
                        String::new()
                    };
                    // Past the per-event and per-flush limits.
                    if st.dropped() > 0 {
                        bad.push_str(&format!(" {} dropped", st.dropped()));
                    }
                    let color = if bad.is_empty() && lag.is_empty() {
                        theme.ok
                    } else {
                        theme.warn
                    };
                    ("●", color, format!(" {}/s{lag}{bad}", si(s.ops_per_sec)))
                }
                // A Postgres endpoint with something to act on says what.
                None => match crate::app::pg_detail::pg_alert(s) {
                    Some(a) => ("●", theme.warn, format!(" {a}")),
                    None => ("●", theme.ok, String::new()),
                },
            },
            SourceStatus::Retrying { at, .. } => {
                let secs = at.millis_since(state.derived.at).div_ceil(1000);
                ("◌", theme.warn, format!(" retrying in {secs}s"))
            }
            SourceStatus::Error(e) => ("✕", theme.error, format!(" {e}")),
        };
        spans.push(Span::styled(dot, color));
        // A source in trouble always keeps its name: the note needs it.
        let w = if note.is_empty() { name_w } else { usize::MAX };
        let name: String = s.name.chars().take(w).collect();
        let sep = if w == 0 { "" } else { " " };
        spans.push(Span::styled(format!("{name}{note}{sep}"), theme.text));
    }
    Line::from(spans)
}

fn clock_line(state: &State, theme: &Theme) -> Line<'static> {
    let mut spans = Vec::new();
    if state.ui.paused {
        spans.push(Span::styled(" PAUSED ", theme.badge));
        spans.push(Span::raw(" "));
    }
    if !state.session.writes_allowed {
        spans.push(Span::styled(" READ-ONLY ", theme.badge));
        spans.push(Span::raw(" "));
    }
    // Warming that writes by itself is never silent.
    if state.session.auto_warm {
        use ratatui::style::Modifier;
        let style = theme.warn.add_modifier(Modifier::BOLD | Modifier::REVERSED);
        spans.push(Span::styled(" AUTO-WARM ", style));
        spans.push(Span::raw(" "));
    }
    let t = DateTime::<Utc>::from_timestamp_millis(state.derived.at.as_millis())
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default();
    spans.push(Span::styled(format!("{t} "), theme.dim));
    Line::from(spans)
}

fn stats_line(state: &State, theme: &Theme, width: u16) -> Line<'static> {
    let d = &state.derived;
    let spark_w = (width as usize / 5).clamp(10, 60);
    let pool = d.pool.as_ref();
    let mut spans = vec![
        Span::styled(" cache ops/s ", theme.dim),
        Span::styled(si(d.ops_per_sec), theme.title),
        Span::styled("  cache hit ", theme.dim),
        Span::styled(pct(d.hit_ratio), theme.title),
        Span::raw(" "),
        Span::styled(ratio_sparkline(&d.hit_series, spark_w), theme.sparkline),
        Span::styled("  pg buffer hit ", theme.dim),
        Span::styled(pct(d.pg_buffer_ratio), theme.text),
    ];
    for (label, p, redis) in [
        ("cache nodes", pool, true),
        ("db", d.db_pool.as_ref(), false),
    ] {
        if let Some(p) = p.filter(|p| p.total_backends > 0) {
            // Not yet checked is not healthy (the pool model starts there).
            let unchecked = d
                .backends
                .iter()
                .filter(|b| (b.kind == SourceKind::Redis) == redis && !b.checked)
                .count();
            spans.push(Span::styled(
                format!(
                    "  {label} {}/{} healthy",
                    p.healthy_backends.saturating_sub(unchecked),
                    p.total_backends
                ),
                if p.degraded { theme.error } else { theme.dim },
            ));
        }
    }
    spans.push(Span::styled(
        format!("  refresh {:.2}s", state.refresh_ms as f64 / 1000.0),
        theme.dim,
    ));
    // Spans are in order of importance: keep whole spans while they fit.
    let mut used = 0;
    let kept: Vec<Span> = spans
        .into_iter()
        .take_while(|sp| {
            used += sp.width();
            used <= usize::from(width)
        })
        .collect();
    Line::from(kept)
}
