//! The one table of every tabular pane: columns with a minimum and a
//! natural width and a drop priority, the sorted column marked (and never
//! dropped), cells elided by display width, rows scrolled so the selection
//! stays visible.
//!
//! A pane declares its columns once and gives a function from a row and a
//! column index to the cell's text and style; the table decides which
//! columns fit the width it is given (a zoomed pane gets the whole screen,
//! so it shows more columns and longer names) and lays out the lines.

use ratatui::style::Style;
use ratatui::text::{Line, Span};

use super::widgets::{fit, fit_middle, scroll_offset, text_width};
pub use crate::sort::Direction;

/// Where a cell's text sits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    /// Text from the left (names).
    Left,
    /// Text to the right (figures, so digits line up).
    Right,
}

/// Where a too-long text is cut.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Elide {
    /// Keep the start: `search_res…`.
    End,
    /// Keep both ends (endpoint names differ at their end): `10.0…:7001`.
    Middle,
}

/// One column of a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column<'h> {
    /// Header text.
    pub head: &'h str,
    /// Narrowest width worth showing (cells); narrower, the column goes.
    pub min: u16,
    /// Widest it grows to for its content (cells).
    pub max: u16,
    /// Which columns go first when the table is narrow: the highest number
    /// first; 0 is never dropped.
    pub drop: u8,
    /// Alignment of the header and cells.
    pub align: Align,
    /// Where long text is cut.
    pub elide: Elide,
}

impl<'h> Column<'h> {
    /// A left-aligned column (a name), never dropped.
    pub const fn name(head: &'h str, min: u16, max: u16) -> Self {
        Self {
            head,
            min,
            max,
            drop: 0,
            align: Align::Left,
            elide: Elide::End,
        }
    }

    /// A right-aligned figure of fixed width.
    pub const fn figure(head: &'h str, width: u16) -> Self {
        Self {
            head,
            min: width,
            max: width,
            drop: 0,
            align: Align::Right,
            elide: Elide::End,
        }
    }

    /// A left-aligned text of fixed width.
    pub const fn text(head: &'h str, width: u16) -> Self {
        Self {
            head,
            min: width,
            max: width,
            drop: 0,
            align: Align::Left,
            elide: Elide::End,
        }
    }

    /// The same column, dropped in turn `n` when narrow (higher first).
    pub const fn drop(mut self, n: u8) -> Self {
        self.drop = n;
        self
    }

    /// The same column, cut in the middle.
    pub const fn middle(mut self) -> Self {
        self.elide = Elide::Middle;
        self
    }
}

/// A cell: its text and style.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// One or more styled pieces (a gauge and its label).
    pub spans: Vec<(String, Style)>,
}

impl Cell {
    /// One piece of text in one style.
    pub fn new(text: impl Into<String>, style: Style) -> Self {
        Self {
            spans: vec![(text.into(), style)],
        }
    }

    /// Several styled pieces.
    pub fn spans(spans: Vec<(String, Style)>) -> Self {
        Self { spans }
    }

    fn width(&self) -> usize {
        self.spans.iter().map(|(t, _)| text_width(t)).sum()
    }
}

/// How wide every column may grow before any grows further.
const COMFORTABLE: usize = 24;

/// The fewest cells an optional column (minimum 0) is shown in.
const OPTIONAL_MIN: usize = 8;

/// Which columns show and how wide each is: one entry per shown column,
/// `(column index, width)`, left to right, a space between columns.
///
/// `natural[i]` is the width column `i`'s content asks for (its widest
/// cell). Columns are dropped highest `drop` first (the rightmost of a
/// tie) until the minimums fit; the `pinned` column (the sorted one) stays.
/// The room left grows the columns toward their natural width, the
/// never-dropped ones first.
pub fn layout(
    columns: &[Column<'_>],
    natural: &[usize],
    width: usize,
    pinned: Option<usize>,
) -> Vec<(usize, usize)> {
    let mut shown: Vec<usize> = (0..columns.len()).collect();
    let need = |shown: &[usize]| -> usize {
        shown
            .iter()
            .map(|&i| usize::from(columns[i].min))
            .sum::<usize>()
            + shown.len().saturating_sub(1)
    };
    while need(&shown) > width {
        let victim = shown
            .iter()
            .enumerate()
            .filter(|(_, i)| columns[**i].drop > 0 && Some(**i) != pinned)
            .max_by_key(|(pos, i)| (columns[**i].drop, *pos))
            .map(|(pos, _)| pos);
        match victim {
            Some(pos) => {
                shown.remove(pos);
            }
            None => break,
        }
    }
    // The sorted column stays only where it fits beside the names.
    if need(&shown) > width
        && let Some(pos) = shown
            .iter()
            .position(|&i| Some(i) == pinned && columns[i].drop > 0)
    {
        shown.remove(pos);
    }
    let mut widths: Vec<usize> = shown.iter().map(|&i| usize::from(columns[i].min)).collect();
    let mut spare = width.saturating_sub(need(&shown));
    let mut order: Vec<usize> = (0..shown.len()).collect();
    order.sort_by_key(|&k| columns[shown[k]].drop);
    // Two rounds: every column up to a comfortable width first, so one
    // long text (a query) does not take the room a short one needs to be
    // read whole; then the rest, the most important first.
    for cap in [COMFORTABLE, usize::MAX] {
        for &k in &order {
            let c = &columns[shown[k]];
            let want = natural
                .get(shown[k])
                .copied()
                .unwrap_or(0)
                .clamp(usize::from(c.min), usize::from(c.max.max(c.min)))
                .min(cap);
            let grow = want.saturating_sub(widths[k]).min(spare);
            // An optional column (no minimum) shows only where a few cells
            // of it fit, not as a lone ellipsis.
            if c.min == 0 && widths[k] == 0 && grow < want.min(OPTIONAL_MIN) {
                continue;
            }
            widths[k] += grow;
            spare -= grow;
        }
    }
    shown
        .into_iter()
        .zip(widths)
        .filter(|&(_, w)| w > 0)
        .collect()
}

/// A table to lay out: columns, rows and how to draw a cell.
pub struct Table<'a, T> {
    /// The columns, in display order.
    pub columns: &'a [Column<'a>],
    /// The rows, already filtered and sorted.
    pub rows: &'a [T],
    /// The selected row (kept inside the rows).
    pub selected: usize,
    /// The sorted column (its header carries the arrow) and direction.
    pub sort: Option<(usize, Direction)>,
    /// Header style.
    pub head_style: Style,
    /// A row's cell in a column: `(row, column index, selected)`.
    pub cell: &'a dyn Fn(&T, usize, bool) -> Cell,
}

impl<T> std::fmt::Debug for Table<'_, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Table")
            .field("columns", &self.columns)
            .field("rows", &self.rows.len())
            .field("selected", &self.selected)
            .field("sort", &self.sort)
            .finish()
    }
}

impl<T> Table<'_, T> {
    /// The header and the rows that fit in `height` lines (header
    /// included), `width` cells wide; the selection stays in view.
    pub fn lines(&self, width: usize, height: usize) -> Vec<Line<'static>> {
        let body = height.saturating_sub(1);
        let selected = self.selected.min(self.rows.len().saturating_sub(1));
        let first = scroll_offset(selected, body);
        let visible: Vec<(usize, Vec<Cell>)> = self
            .rows
            .iter()
            .enumerate()
            .skip(first)
            .take(body)
            .map(|(i, r)| {
                let cells = (0..self.columns.len())
                    .map(|c| (self.cell)(r, c, i == selected))
                    .collect();
                (i, cells)
            })
            .collect();
        let natural: Vec<usize> = self
            .columns
            .iter()
            .enumerate()
            .map(|(c, col)| {
                let head = text_width(col.head) + usize::from(self.sorted(c));
                visible
                    .iter()
                    .map(|(_, cells)| cells[c].width())
                    .fold(head, usize::max)
            })
            .collect();
        // A header (with its arrow) is never cut for want of a wider max.
        let columns: Vec<Column<'_>> = self
            .columns
            .iter()
            .enumerate()
            .map(|(c, col)| {
                let head = text_width(col.head) + usize::from(self.sorted(c));
                let head = u16::try_from(head).unwrap_or(u16::MAX);
                // The sorted column's header is read whole, arrow included.
                let min = if self.sorted(c) {
                    col.min.max(head)
                } else {
                    col.min
                };
                Column {
                    min,
                    max: col.max.max(head),
                    ..*col
                }
            })
            .collect();
        let shown = layout(&columns, &natural, width, self.sort.map(|s| s.0));
        let mut out = Vec::with_capacity(visible.len() + 1);
        let head: Vec<Cell> = self
            .columns
            .iter()
            .enumerate()
            .map(|(c, col)| {
                let arrow = self.sort.filter(|s| s.0 == c).map_or("", |s| s.1.arrow());
                Cell::new(format!("{}{arrow}", col.head), self.head_style)
            })
            .collect();
        out.push(self.line(&shown, &head));
        for (_, cells) in &visible {
            out.push(self.line(&shown, cells));
        }
        out
    }

    fn sorted(&self, c: usize) -> bool {
        self.sort.is_some_and(|s| s.0 == c)
    }

    fn line(&self, shown: &[(usize, usize)], cells: &[Cell]) -> Line<'static> {
        let mut spans = Vec::new();
        for (k, &(c, w)) in shown.iter().enumerate() {
            if k > 0 {
                spans.push(Span::raw(" "));
            }
            place(&mut spans, &self.columns[c], &cells[c], w);
        }
        // Trailing padding only makes a line wider than the text it holds.
        while let Some(last) = spans.last_mut() {
            let trimmed = last.content.trim_end_matches(' ').len();
            if trimmed == last.content.len() {
                break;
            }
            if trimmed == 0 {
                spans.pop();
            } else {
                let keep = last.content[..trimmed].to_string();
                last.content = keep.into();
                break;
            }
        }
        Line::from(spans)
    }
}

/// The index of the column headed `head` with the sort's direction, for
/// [`Table::sort`] (`None` when no column has that header).
pub fn sorted_column(
    columns: &[Column<'_>],
    head: &str,
    dir: Direction,
) -> Option<(usize, Direction)> {
    columns
        .iter()
        .position(|c| c.head == head)
        .map(|i| (i, dir))
}

/// Put `cell` into `width` cells: cut with an ellipsis where it does not
/// fit (by display width), padded on the side its alignment leaves.
fn place(spans: &mut Vec<Span<'static>>, col: &Column<'_>, cell: &Cell, width: usize) {
    let total = cell.width();
    if total > width {
        // Too long: one piece, cut, in the style of the first piece.
        let text: String = cell.spans.iter().map(|(t, _)| t.as_str()).collect();
        let style = cell.spans.first().map_or_else(Style::default, |s| s.1);
        let cut = match col.elide {
            Elide::End => fit(&text, width),
            Elide::Middle => fit_middle(&text, width),
        };
        spans.push(Span::styled(cut, style));
        return;
    }
    let pad = " ".repeat(width - total);
    if col.align == Align::Right && !pad.is_empty() {
        spans.push(Span::raw(pad.clone()));
    }
    for (t, s) in &cell.spans {
        spans.push(Span::styled(t.clone(), *s));
    }
    if col.align == Align::Left && !pad.is_empty() {
        spans.push(Span::raw(pad));
    }
}

#[cfg(test)]
#[path = "table_tests.rs"]
mod tests;
