//! The header: banner (DEMO or the context's), sources with their status,
//! badges, cache ops/s, cache hit ratio with a sparkline, the clock.

use crate::ui::Canvas;
use chrono::{DateTime, Utc};
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::style::Color;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use super::widgets::{head, pct, ratio_sparkline, si, si_or_dash, text_width};
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

/// The sources with their status, in `room` cells: full names and reasons
/// if they fit, else names cut to 8, else only the status dots of healthy
/// sources, then shorter reasons (a source in trouble keeps its name and
/// a reason: it matters more than a healthy one's name).
fn sources_line<'a>(state: &'a State, theme: &Theme, room: usize) -> Line<'a> {
    let tries = [(usize::MAX, 72), (8, 72)]
        .into_iter()
        .chain([72, 48, 40, 32, 28, 24, 20, 16, 12].map(|r| (0, r)));
    let mut line = Line::default();
    for (name_w, reason_w) in tries {
        line = sources_spans(state, theme, name_w, reason_w);
        if line.width() <= room {
            break;
        }
    }
    line
}

/// `text` in at most `n` cells (the Backends detail has it whole).
fn clipped(text: &str, n: usize) -> String {
    if text_width(text) <= n {
        return text.to_string();
    }
    format!("{}…", head(text, n.saturating_sub(1)))
}

fn sources_spans<'a>(state: &'a State, theme: &Theme, name_w: usize, reason_w: usize) -> Line<'a> {
    let clipped = |t: &str| clipped(t, reason_w);
    let mut spans = vec![Span::styled(" heliostat ", theme.title)];
    if let Some(ctx) = &state.session.context {
        spans.push(Span::styled(format!("[{ctx}] "), theme.dim));
    }
    let now = state.derived.at;
    // The Backends pane's selected source also says what part of it fails.
    let d = &state.derived;
    let selected = d
        .backends
        .get(
            state
                .ui
                .selected(crate::action::Pane::Backends)
                .min(d.backends.len().saturating_sub(1)),
        )
        .map(|b| b.source);
    for s in &state.sources {
        let stale = s.stale(now, state.refresh_ms);
        let (dot, color, note) = match (&s.status, stale) {
            (SourceStatus::Retrying { at, reason }, _) => {
                let secs = at.millis_since(now).div_ceil(1000);
                let reason = clipped(reason);
                (
                    "◌",
                    theme.error,
                    format!(" down: {reason} · retry in {secs}s"),
                )
            }
            (SourceStatus::Error(e), _) => ("✕", theme.error, format!(" {}", clipped(e))),
            (SourceStatus::Connected, Some(why)) => ("◌", theme.warn, format!(" {why}")),
            (SourceStatus::Connected, None) => match &s.stream {
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
                    let rate = si_or_dash(s.live_ops(now, state.refresh_ms));
                    ("●", color, format!(" {rate}/s{lag}{bad}"))
                }
                None => match (s.problems().first(), crate::app::pg_detail::pg_alert(s)) {
                    // A part of the selected source that fails says why.
                    (Some(p), _) if selected == Some(s.id) => {
                        ("●", theme.warn, format!(" {}", clipped(p)))
                    }
                    // A Postgres endpoint with something to act on says what.
                    (_, Some(a)) => ("●", theme.warn, format!(" {a}")),
                    (Some(_), None) => ("●", theme.warn, String::new()),
                    (None, None) => ("●", theme.ok, String::new()),
                },
            },
        };
        spans.push(Span::styled(dot, color));
        // A source in trouble always keeps its name: the note needs it.
        let w = if note.is_empty() { name_w } else { usize::MAX };
        // Cut by display cells: a wide name must not push the clock off.
        let name = head(&s.name, w);
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
    let nodes = state.sources.iter().any(|s| s.kind == SourceKind::Redis);
    // With no live node there is no current figure (not "no traffic").
    let hit = if nodes && d.ops_per_sec.is_none() {
        "–".to_string()
    } else {
        pct(d.hit_ratio)
    };
    let mut spans = vec![
        Span::styled(" cache ops/s ", theme.dim),
        Span::styled(si_or_dash(d.ops_per_sec), theme.title),
    ];
    if d.stale_nodes > 0 {
        let n = d.stale_nodes;
        let s = if n == 1 { "" } else { "s" };
        spans.push(Span::styled(
            format!(" ({n} down node{s} left out)"),
            theme.warn,
        ));
    }
    if d.stream_xadd_per_sec > 0.0 {
        spans.push(Span::styled("  event XADD/s ", theme.dim));
        spans.push(Span::styled(si(d.stream_xadd_per_sec), theme.text));
    }
    spans.extend([
        Span::styled("  cache hit ", theme.dim),
        Span::styled(hit, theme.title),
        Span::raw(" "),
        Span::styled(ratio_sparkline(&d.hit_series, spark_w), theme.sparkline),
        Span::styled("  pg buffer hit ", theme.dim),
        Span::styled(pct(d.pg_buffer_ratio), theme.text),
    ]);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_clipped_note_counts_display_cells_not_characters() {
        // Each of these takes two cells: six characters are twelve cells.
        assert_eq!(clipped("数据库节点一", 12), "数据库节点一");
        let cut = clipped("数据库节点一", 7);
        assert!(text_width(&cut) <= 7, "{cut}");
        assert!(cut.ends_with('…'), "{cut}");
        assert_eq!(clipped("plain", 3), "pl…");
    }
}
