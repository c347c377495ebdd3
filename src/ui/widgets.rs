//! Small shared drawing helpers: number formats, text sparklines and bars,
//! pane blocks and scrolling tables.

use ratatui::buffer::CellWidth as _;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, BorderType, Borders};
use unicode_segmentation::UnicodeSegmentation as _;

use crate::theme::Theme;

const SPARK: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

/// A text sparkline of the last `width` values, scaled to their maximum.
pub fn sparkline(values: &[u64], width: usize) -> String {
    let tail = &values[values.len().saturating_sub(width)..];
    let max = tail.iter().copied().max().unwrap_or(0).max(1);
    tail.iter()
        .map(|&v| SPARK[((v.saturating_mul(7)) / max).min(7) as usize])
        .collect()
}

/// A sparkline of ratios in [0, 1] scaled between their min and max, with a
/// space for gaps (no data, or a counter reset).
pub fn ratio_sparkline(values: &[Option<f64>], width: usize) -> String {
    let tail = &values[values.len().saturating_sub(width)..];
    let (lo, hi) = tail
        .iter()
        .flatten()
        .fold((1.0f64, 0.0f64), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let span = (hi - lo).max(0.01);
    tail.iter()
        .map(|v| match v {
            Some(v) => SPARK[(((v - lo) / span) * 7.0).round().clamp(0.0, 7.0) as usize],
            None => ' ',
        })
        .collect()
}

/// A horizontal bar of `width` cells filled to `fraction`.
pub fn bar(fraction: f64, width: usize) -> String {
    let f = if fraction.is_finite() {
        fraction.clamp(0.0, 1.0)
    } else {
        0.0
    };
    let eighths = (f * width as f64 * 8.0).round() as usize;
    let full = eighths / 8;
    let part = eighths % 8;
    let mut s: String = "█".repeat(full);
    if full < width && part > 0 {
        s.push([' ', '▏', '▎', '▍', '▌', '▋', '▊', '▉'][part]);
    }
    let used = s.chars().count();
    s.push_str(&" ".repeat(width.saturating_sub(used)));
    s
}

pub use crate::units::{bytes, duration, ms, pct, si, si_or_dash};

/// A key name as shown: with `redact`, only up to its prefix by the
/// configured delimiter, so `--redact-keys` hides the same part the
/// sampler's grouping would.
pub fn key_label(name: &str, redact: bool, delim: &str) -> String {
    crate::engines::keyspace::redacted(name, redact, delim)
}

/// Cells a grapheme cluster takes, measured as ratatui's buffer measures
/// it when drawing (an emoji joined with zero-width joiners is one
/// cluster, not four characters); control characters take none.
fn cells_of(g: &str) -> usize {
    if g.contains(char::is_control) {
        0
    } else {
        usize::from(g.cell_width())
    }
}

/// Display cells of `s` (a wide character takes two), per grapheme cluster.
pub fn text_width(s: &str) -> usize {
    s.graphemes(true).map(cells_of).sum()
}

/// The longest start of `s` that takes at most `width` cells.
pub fn head(s: &str, width: usize) -> &str {
    let mut used = 0;
    for (i, g) in s.grapheme_indices(true) {
        used += cells_of(g);
        if used > width {
            return &s[..i];
        }
    }
    s
}

/// The longest end of `s` that takes at most `width` cells.
fn tail(s: &str, width: usize) -> &str {
    let mut used = 0;
    for (i, g) in s.grapheme_indices(true).rev() {
        used += cells_of(g);
        if used > width {
            return &s[i + g.len()..];
        }
    }
    s
}

fn pad(mut s: String, width: usize) -> String {
    let n = text_width(&s);
    s.extend(std::iter::repeat_n(' ', width.saturating_sub(n)));
    s
}

/// Cut `s` to `width` display cells, with an ellipsis when cut; padded
/// with spaces to `width`.
pub fn fit(s: &str, width: usize) -> String {
    if text_width(s) <= width {
        pad(s.to_string(), width)
    } else if width == 0 {
        String::new()
    } else {
        pad(format!("{}…", head(s, width - 1)), width)
    }
}

/// Like [`fit`], but the ellipsis goes in the middle: endpoint and node
/// names differ at their end (`10.0.0.12:7001`, `10.0.0.12:7002`), so the
/// part from the last `:` is kept whole when it leaves room for a start.
pub fn fit_middle(s: &str, width: usize) -> String {
    if text_width(s) <= width || width < 5 {
        return fit(s, width);
    }
    let half = (width - 1) / 2;
    let back = s
        .rfind(':')
        .map_or(half, |i| text_width(&s[i..]).clamp(half, width - 4));
    let front = width - 1 - back;
    pad(format!("{}…{}", head(s, front), tail(s, back)), width)
}

/// Lines cut to `width` cells, with an ellipsis where text was cut, so a
/// detail line that does not fit says so instead of stopping mid-word.
/// Trailing spaces do not count.
pub fn clip(lines: Vec<Line<'_>>, width: u16) -> Vec<Line<'_>> {
    let width = usize::from(width);
    lines.into_iter().map(|l| clip_line(l, width)).collect()
}

fn clip_line(line: Line<'_>, width: usize) -> Line<'_> {
    let total: usize = line.spans.iter().map(|s| text_width(&s.content)).sum();
    if total <= width {
        return line;
    }
    let trailing: usize = {
        let mut n = 0;
        for s in line.spans.iter().rev() {
            let t = s.content.trim_end_matches(' ');
            n += s.content.len() - t.len();
            if !t.is_empty() {
                break;
            }
        }
        n
    };
    if total - trailing <= width {
        return line;
    }
    let mut room = width.saturating_sub(1);
    let mut spans = Vec::with_capacity(line.spans.len());
    let mut last_style = line.style;
    for s in line.spans {
        if room == 0 {
            break;
        }
        let w = text_width(&s.content);
        last_style = s.style;
        if w <= room {
            room -= w;
            spans.push(s);
        } else {
            spans.push(Span::styled(head(&s.content, room).to_string(), s.style));
            room = 0;
        }
    }
    if width > 0 {
        spans.push(Span::styled("…", last_style));
    }
    Line {
        spans,
        style: line.style,
        alignment: line.alignment,
    }
}

/// The bordered block of a pane, highlighted when focused; the right-hand
/// `extra` text is cut so it never covers the title.
pub fn pane_block(
    title: &str,
    extra: &str,
    extra_style: Style,
    width: u16,
    focused: bool,
    theme: &Theme,
) -> Block<'static> {
    let border = if focused {
        theme.border_focused
    } else {
        theme.border
    };
    let title_style = if focused {
        theme.border_focused
    } else {
        theme.title
    };
    let room = (width as usize).saturating_sub(text_width(title) + 8);
    let extra = if room >= 6 {
        format!(" {} ", fit(extra.trim(), room - 2).trim_end())
    } else {
        String::new()
    };
    Block::default()
        .borders(Borders::ALL)
        .border_type(if focused {
            BorderType::Thick
        } else {
            BorderType::Plain
        })
        .border_style(border)
        .title(Line::from(Span::styled(format!(" {title} "), title_style)))
        .title(Line::from(Span::styled(extra, extra_style)).right_aligned())
}

/// What an empty pane says: that the filter hides everything, or why
/// there is nothing yet.
pub fn empty_text(
    ui: &crate::app::ui_state::UiState,
    pane: crate::action::Pane,
    otherwise: &str,
) -> String {
    let f = ui.filter(pane);
    if f.is_empty() {
        otherwise.to_string()
    } else {
        format!(" no rows match /{f} (Esc clears)")
    }
}

/// How many of the optional columns (widths in priority order) fit in
/// `avail` cells; columns are dropped from the end when the pane is narrow.
pub fn fit_columns(avail: usize, widths: &[usize]) -> usize {
    let mut used = 0;
    widths
        .iter()
        .take_while(|w| {
            used += **w;
            used <= avail
        })
        .count()
}

/// Right-aligned cells of the given widths, joined.
pub fn cells(values: &[String], widths: &[usize]) -> String {
    values
        .iter()
        .zip(widths)
        .map(|(v, w)| format!("{:>w$}", fit(v, *w).trim_end(), w = *w))
        .collect()
}

/// Draw a pane's block (title, right-hand `extra`, focus highlight) and
/// return the area inside it.
pub fn open_pane(
    frame: &mut crate::ui::Canvas<'_>,
    area: Rect,
    pane: crate::action::Pane,
    extra: &str,
    extra_style: Style,
    focused: bool,
    theme: &Theme,
) -> Rect {
    let block = pane_block(pane.title(), extra, extra_style, area.width, focused, theme);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    inner
}

/// The selected row (kept inside `items`) and the rows that fit in
/// `height` lines, scrolled so the selection stays visible, with indices.
pub fn visible<T>(
    items: &[T],
    selected: usize,
    height: usize,
) -> (usize, impl Iterator<Item = (usize, &T)>) {
    let selected = selected.min(items.len().saturating_sub(1));
    let rows = items
        .iter()
        .enumerate()
        .skip(scroll_offset(selected, height))
        .take(height);
    (selected, rows)
}

/// First row to show so that `selected` stays visible in `height` rows.
pub fn scroll_offset(selected: usize, height: usize) -> usize {
    if height == 0 {
        0
    } else {
        selected.saturating_sub(height - 1)
    }
}

/// Style of a row: selection wins over marking.
pub fn row_style(selected: bool, marked: bool, theme: &Theme) -> Style {
    if selected {
        theme.selection
    } else if marked {
        theme.marked
    } else {
        theme.text
    }
}

/// A rect shrunk to at most `w`×`h`, centred in `area`.
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect::new(
        area.x + (area.width - w) / 2,
        area.y + (area.height - h) / 2,
        w,
        h,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(l: &Line<'_>) -> String {
        l.spans.iter().map(|s| s.content.as_ref()).collect()
    }

    #[test]
    fn fit_counts_display_cells() {
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("ab", 4), "ab  ");
        assert_eq!(fit("表表表", 4), "表… ");
        assert_eq!(text_width(&fit("表表表", 4)), 4);
        assert_eq!(fit("abc", 0), "");
    }

    /// Where the buffer puts a `|` after `s`: the cells `s` really took.
    fn drawn_width(s: &str) -> usize {
        let mut buf = ratatui::buffer::Buffer::empty(Rect::new(0, 0, 40, 1));
        buf.set_string(0, 0, format!("{s}|"), Style::default());
        (0..40u16)
            .find(|&x| buf[(x, 0)].symbol() == "|")
            .map_or(99, usize::from)
    }

    #[test]
    fn fitted_names_take_the_cells_they_are_drawn_in() {
        let family = "👩\u{200d}👩\u{200d}👧\u{200d}👦";
        for name in [
            format!("{family}orders"),
            format!("orders{family}x"),
            format!("a\u{301}b\u{301}c{family}{family}"),
            "表表表表".to_string(),
            "flag 🇫🇷 table".to_string(),
        ] {
            for w in 1..12 {
                let f = fit(&name, w);
                assert_eq!(drawn_width(&f), w, "fit({name:?}, {w}) = {f:?}");
                assert_eq!(text_width(&f), w, "{f:?}");
                let m = fit_middle(&name, w);
                assert_eq!(drawn_width(&m), w, "fit_middle({name:?}, {w}) = {m:?}");
            }
        }
    }

    #[test]
    fn fit_middle_keeps_both_ends() {
        assert_eq!(fit_middle("10.0.0.12:7001", 10), "10.0…:7001");
        assert_eq!(fit_middle("127.0.0.1:6379", 13), "127.0.…1:6379");
        assert_eq!(fit_middle("127.0.0.1:5432/test", 13), "127…5432/test");
        assert_eq!(fit_middle("127.0.0.1:5432/test", 10), "127…2/test");
        assert_eq!(fit_middle("pg-replica-1", 10), "pg-re…ca-1");
        assert_eq!(fit_middle("short", 10), "short     ");
        assert_eq!(fit_middle("abcdef", 4), "abc…");
        assert_eq!(text_width(&fit_middle("ключ:表表表表:end", 9)), 9);
    }

    #[test]
    fn clip_marks_cut_lines_and_keeps_styles() {
        let bold = Style::default().add_modifier(ratatui::style::Modifier::BOLD);
        let l = Line::from(vec![Span::raw(" rows "), Span::styled("read 9.8k/s", bold)]);
        let out = clip(vec![l.clone()], 10);
        assert_eq!(plain(&out[0]), " rows rea…");
        assert_eq!(out[0].spans[1].style, bold);
        assert_eq!(out[0].spans[2].style, bold);
        assert_eq!(clip(vec![l.clone()], 40), vec![l]);
        let padded = Line::from(vec![Span::raw("abc"), Span::raw("      ")]);
        assert_eq!(clip(vec![padded.clone()], 4), vec![padded]);
        assert_eq!(plain(&clip(vec![Line::from("表表表")], 4)[0]), "表…");
        assert!(clip(vec![Line::from("abc")], 0)[0].spans.is_empty());
    }

    #[test]
    fn formats() {
        assert_eq!(si(2450.0), "2.5k");
        assert_eq!(si(3.25), "3.2");
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(pct(None), "n/a");
        assert_eq!(pct(Some(0.9312)), "93.1%");
        assert_eq!(duration(65_000), "1m05s");
        assert_eq!(key_label("user:123", true, ":"), "user:…");
        assert_eq!(key_label("sess_9f2a", true, ":"), "…");
        assert_eq!(fit("abcdef", 4), "abc…");
        assert_eq!(fit("ab", 4), "ab  ");
    }

    #[test]
    fn bars_and_sparks_have_fixed_width() {
        assert_eq!(bar(0.5, 10).chars().count(), 10);
        assert_eq!(bar(f64::NAN, 4), "    ");
        assert_eq!(sparkline(&[0, 1, 2, 7], 3).chars().count(), 3);
        assert_eq!(
            ratio_sparkline(&[Some(0.5), None, Some(0.9)], 10)
                .chars()
                .nth(1),
            Some(' ')
        );
    }
}
