//! How the heatmap's cells are drawn, and the time axis and legend that
//! say what they mean.
//!
//! Two scales, one per channel, so bursts show in every row and rows stay
//! comparable:
//! - the glyph (`░▒▓█`) is a cell's rate as a share of its own row's
//!   busiest column on screen: a burst in the hottest row shows as a peak
//!   among lower cells instead of one more solid block, and this is all a
//!   terminal without colour (NO_COLOR, `--color never`) needs;
//! - the colour is the rate itself on a logarithmic scale of four decades
//!   ending at the screen's busiest cell, so a row of 5 accesses/s and one
//!   of 5 000/s never look alike.
//!
//! Rates are accesses per second of the time a column covers: the newest
//! column, still filling, is measured over the part that has passed, so it
//! does not look cold.

use chrono::{DateTime, Utc};
use ratatui::style::Style;
use ratatui::text::Span;

use crate::engines::Timestamp;
use crate::engines::heatmap::{HeatmapView, RowView};
use crate::theme::Theme;

/// Decades the colour scale spans, ending at the busiest cell's.
pub const DECADES: i32 = 4;

/// Marks the newest column while its bucket is still filling.
pub const PARTIAL_MARK: &str = "▾";

/// What the cells of the columns `first..` are measured against.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Scale {
    /// log10 of the rate at the top of the colour scale.
    pub top_decade: i32,
    /// Some cell on screen is after its row's latest read (drawn blank).
    pub unread: bool,
}

impl Scale {
    /// The scale of `rows`' visible columns (from `first`).
    pub fn of(view: &HeatmapView, rows: &[&RowView], first: usize) -> Self {
        let max = rows
            .iter()
            .map(|r| row_peak(view, r, first).0)
            .fold(0.0, f64::max);
        let top_decade = if max > 0.0 {
            // Rates are small numbers: the cast cannot truncate.
            #[allow(clippy::cast_possible_truncation)]
            let d = max.log10().ceil() as i32;
            d
        } else {
            0
        };
        let unread = rows
            .iter()
            .any(|r| (first..view.columns).any(|c| view.row_rate(r, c).is_none()));
        Self { top_decade, unread }
    }

    /// Position of `rate` on the colour scale, 0..=1.
    fn position(self, rate: f64) -> f64 {
        if rate <= 0.0 {
            return 0.0;
        }
        let bottom = f64::from(self.top_decade - DECADES);
        ((rate.log10() - bottom) / f64::from(DECADES)).clamp(0.0, 1.0)
    }
}

/// A row's busiest visible column: accesses per second and the column.
pub fn row_peak(view: &HeatmapView, r: &RowView, first: usize) -> (f64, Option<usize>) {
    (first..view.columns)
        .filter(|&i| r.cells.get(i).is_some_and(|c| !c.gap && c.accesses > 0))
        .filter_map(|i| Some((view.row_rate(r, i)?, Some(i))))
        .fold((0.0, None), |a, b| if b.0 > a.0 { b } else { a })
}

/// Row `r`'s cell in column `col`; `peak` is its busiest visible column's
/// rate (accesses per second).
pub fn cell_span(
    view: &HeatmapView,
    (r, col): (&RowView, usize),
    peak: f64,
    scale: Scale,
    theme: &Theme,
) -> Span<'static> {
    let Some(c) = r.cells.get(col) else {
        return Span::raw(" ");
    };
    if c.gap {
        return Span::styled("╳", theme.dim);
    }
    let Some(rate) = view.row_rate(r, col) else {
        // After the row's latest read: not known yet, not idle.
        return Span::raw(" ");
    };
    if c.accesses == 0 {
        return Span::styled("·", theme.dim);
    }
    let share = if peak > 0.0 { rate / peak } else { 1.0 };
    let glyph = Theme::heat_glyph(share);
    match theme.heat_color(scale.position(rate)) {
        Some(color) => Span::styled(glyph, Style::new().fg(color)),
        None => Span::styled(glyph, theme.text),
    }
}

/// A rate at a power of ten: "0.01", "1", "100", "10k".
pub fn decade(d: i32) -> String {
    match d {
        d if d < 0 => format!("{:.*}", usize::try_from(-d).unwrap_or(0), 10f64.powi(d)),
        0..=2 => format!("{}", 10i64.pow(d.unsigned_abs())),
        3..=5 => format!("{}k", 10i64.pow(d.unsigned_abs() - 3)),
        6..=8 => format!("{}M", 10i64.pow(d.unsigned_abs() - 6)),
        _ => format!("1e{d}"),
    }
}

/// The legend: what a glyph, a colour and the marks mean.
pub fn legend(view: &HeatmapView, scale: Scale, theme: &Theme) -> Vec<Span<'static>> {
    let mut spans = vec![Span::styled(" ░<¼ ▒<½ ▓<¾ █ of the row's peak", theme.dim)];
    if view.is_partial() {
        spans.push(Span::styled(
            format!(
                "  {PARTIAL_MARK} filling {}/{}",
                short_secs(view.last_ms / 1000),
                short_secs(i64::from(view.resolution_s))
            ),
            theme.dim,
        ));
    }
    if !theme.heat_ramp.is_empty() {
        spans.push(Span::styled("  colour ", theme.dim));
        for c in &theme.heat_ramp {
            spans.push(Span::styled("█", Style::new().fg(*c)));
        }
        spans.push(Span::styled(
            format!(
                " log {}–{}/s",
                decade(scale.top_decade - DECADES),
                decade(scale.top_decade)
            ),
            theme.dim,
        ));
    }
    spans.push(Span::styled("  · none  ╳ reset", theme.dim));
    if scale.unread {
        spans.push(Span::styled("  blank: not read yet", theme.dim));
    }
    spans
}

/// Seconds as "40s", "5m", "1h", "2d" (whole units, rounded down).
pub fn short_secs(s: i64) -> String {
    match s {
        s if s >= 86_400 && s % 86_400 == 0 => format!("{}d", s / 86_400),
        s if s >= 3600 && s % 3600 == 0 => format!("{}h", s / 3600),
        s if s >= 60 && s % 60 == 0 => format!("{}m", s / 60),
        s if s >= 3600 => format!("{}h{:02}m", s / 3600, (s % 3600) / 60),
        s if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{}s", s.max(0)),
    }
}

/// How long ago `end` was at `now`: "14 min ago", "3 h ago".
fn ago(now: Timestamp, end: Timestamp) -> String {
    let s = now.millis_since(end) / 1000;
    match s {
        0..=59 => format!("{s} s ago"),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=86_399 => format!("{} h ago", s / 3600),
        _ => format!("{} d ago", s / 86_400),
    }
}

pub fn clock(t: Timestamp, fmt: &str) -> String {
    DateTime::<Utc>::from_timestamp_millis(t.as_millis())
        .map(|d| d.format(fmt).to_string())
        .unwrap_or_default()
}

/// The time axis over the visible columns (from `first`), fitted to
/// `width`: "09:10:20–09:16:40 · live", or "… · 14 min ago" when scrolled
/// back; the shorter forms when it does not fit.
pub fn axis(view: &HeatmapView, first: usize, live: bool, now: Timestamp, width: usize) -> String {
    let (start, end) = (view.column_start(first), view.end());
    let day =
        now.millis_since(start) >= 86_400_000 || start.as_secs() / 86_400 != end.as_secs() / 86_400;
    let fine = if view.resolution_s < 60 {
        "%H:%M:%S"
    } else {
        "%H:%M"
    };
    let fmt = if day { "%m-%d %H:%M" } else { fine };
    let place = if live {
        "live".to_string()
    } else {
        ago(now, end)
    };
    let candidates = [
        format!("{}–{} · {place}", clock(start, fmt), clock(end, fmt)),
        format!(
            "{}–{} · {place}",
            clock(start, "%H:%M"),
            clock(end, "%H:%M")
        ),
        format!("…–{} · {place}", clock(end, "%H:%M")),
        place,
    ];
    candidates
        .into_iter()
        .find(|c| c.chars().count() <= width)
        .unwrap_or_default()
}
