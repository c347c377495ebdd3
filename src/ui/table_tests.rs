use super::*;
use crate::ui::widgets::text_width;

const COLS: [Column<'static>; 4] = [
    Column::name("name", 6, 20),
    Column::figure("ops/s", 7),
    Column::figure("p99", 7).drop(2),
    Column::figure("err", 5).drop(1),
];

fn plain(l: &Line<'_>) -> String {
    l.spans.iter().map(|s| s.content.as_ref()).collect()
}

type Row<'a> = (&'a str, u32);
type CellFn<'a> = dyn Fn(&Row<'_>, usize, bool) -> Cell + 'a;

fn table<'a>(rows: &'a [Row<'a>], cell: &'a CellFn<'a>) -> Table<'a, Row<'a>> {
    Table {
        columns: &COLS,
        rows,
        selected: 0,
        sort: None,
        head_style: Style::default(),
        cell,
    }
}

fn cell(r: &(&str, u32), c: usize, _: bool) -> Cell {
    let t = match c {
        0 => r.0.to_string(),
        1 => r.1.to_string(),
        2 => format!("{}ms", r.1 % 97),
        _ => "0".to_string(),
    };
    Cell::new(t, Style::default())
}

#[test]
fn columns_go_highest_drop_first_and_the_pinned_one_stays() {
    let natural = [10, 7, 7, 5];
    // Everything fits: 10 + 7 + 7 + 5 + 3 gaps.
    let all = layout(&COLS, &natural, 32, None);
    assert_eq!(all, vec![(0, 10), (1, 7), (2, 7), (3, 5)]);
    // One cell short: p99 (drop 2) goes before err (drop 1).
    let less = layout(&COLS, &natural, 24, None);
    assert_eq!(less.iter().map(|c| c.0).collect::<Vec<_>>(), vec![0, 1, 3]);
    // Sorted by p99: it stays, err goes instead.
    let pinned = layout(&COLS, &natural, 24, Some(2));
    assert_eq!(
        pinned.iter().map(|c| c.0).collect::<Vec<_>>(),
        vec![0, 1, 2]
    );
    // Narrower than the never-dropped minimums: nothing more to drop.
    let tiny = layout(&COLS, &natural, 3, None);
    assert_eq!(tiny.iter().map(|c| c.0).collect::<Vec<_>>(), vec![0, 1]);
}

#[test]
fn room_grows_names_to_their_content_and_no_further() {
    let wide = layout(&COLS, &[14, 7, 7, 5], 200, None);
    assert_eq!(wide[0], (0, 14));
    // Capped at the column's max however long the name.
    let long = layout(&COLS, &[80, 7, 7, 5], 200, None);
    assert_eq!(long[0], (0, 20));
    // Never narrower than the minimum, even for short content.
    let short = layout(&COLS, &[2, 7, 7, 5], 200, None);
    assert_eq!(short[0], (0, 6));
}

#[test]
fn a_zoomed_table_shows_what_a_narrow_one_drops() {
    let rows = [("search_results:2024", 445), ("users", 12)];
    let narrow = table(&rows, &cell).lines(16, 10);
    assert_eq!(plain(&narrow[0]), "name       ops/s");
    assert_eq!(plain(&narrow[1]), "search_…     445");
    let zoomed = table(&rows, &cell).lines(60, 10);
    assert_eq!(
        plain(&zoomed[0]),
        "name                  ops/s     p99   err"
    );
    assert_eq!(
        plain(&zoomed[1]),
        "search_results:2024     445    57ms     0"
    );
    // Columns never run into each other: a space between every two.
    for l in narrow.iter().chain(&zoomed) {
        assert!(!plain(l).contains("445search"), "{}", plain(l));
    }
}

#[test]
fn cells_are_cut_by_display_width() {
    let family = "👨\u{200d}👩\u{200d}👧 table 表格";
    let rows = [(family, 1), ("ok", 2)];
    for width in 14..40 {
        let lines = table(&rows, &cell).lines(width, 5);
        for l in &lines {
            assert!(
                text_width(&plain(l)) <= width,
                "{width}: {:?} is {} wide",
                plain(l),
                text_width(&plain(l))
            );
        }
        // Rows of one table line up: the figure ends in the same cell.
        let ends: Vec<usize> = lines[1..].iter().map(|l| text_width(&plain(l))).collect();
        assert_eq!(ends[0], ends[1], "{width}: {lines:?}");
    }
}

#[test]
fn middle_elision_keeps_the_port() {
    let cols = [Column::name("backend", 8, 12).middle()];
    let rows = [("10.0.0.12:7001", 0)];
    let t = Table {
        columns: &cols,
        rows: &rows,
        selected: 0,
        sort: None,
        head_style: Style::default(),
        cell: &cell,
    };
    let l = t.lines(12, 3);
    assert!(plain(&l[1]).ends_with(":7001"), "{:?}", plain(&l[1]));
    assert!(plain(&l[1]).contains('…'));
}

#[test]
fn the_sorted_column_is_marked_and_kept() {
    let rows = [("a", 1)];
    let mut t = table(&rows, &cell);
    t.sort = Some((2, Direction::Ascending));
    let l = t.lines(24, 3);
    assert_eq!(plain(&l[0]), "name     ops/s    p99▲");
    // Too narrow even for it: the names come first.
    assert_eq!(plain(&t.lines(16, 3)[0]), "name     ops/s");
    t.sort = Some((1, Direction::Descending));
    assert!(plain(&t.lines(60, 3)[0]).contains("ops/s▼"));
}

#[test]
fn scrolling_keeps_the_selection_in_view_and_clamps_to_the_rows() {
    let names: Vec<String> = (0..50).map(|i| format!("row{i:02}")).collect();
    let rows: Vec<(&str, u32)> = names.iter().map(|n| (n.as_str(), 1)).collect();
    let mut t = table(&rows, &cell);
    let first = |t: &Table<'_, (&str, u32)>| plain(&t.lines(40, 6)[1])[..5].to_string();
    assert_eq!(first(&t), "row00");
    t.selected = 4;
    assert_eq!(first(&t), "row00");
    t.selected = 5;
    assert_eq!(first(&t), "row01");
    t.selected = 49;
    assert_eq!(first(&t), "row45");
    // Rows went away since the selection was made: still in range.
    t.selected = 500;
    let lines = t.lines(40, 6);
    assert_eq!(lines.len(), 6);
    assert!(plain(&lines[5]).starts_with("row49"));
    // No rows at all: only the header.
    let empty: [(&str, u32); 0] = [];
    assert_eq!(table(&empty, &cell).lines(40, 6).len(), 1);
}

#[test]
fn the_cell_knows_it_is_selected() {
    let rows = [("a", 1), ("b", 2)];
    let mark = |r: &(&str, u32), c: usize, sel: bool| {
        let mut x = cell(r, c, sel);
        if sel && c == 0 {
            x.spans[0].0.insert(0, '>');
        }
        x
    };
    let mut t = table(&rows, &mark);
    t.selected = 1;
    let l = t.lines(40, 5);
    assert!(plain(&l[2]).starts_with(">b"), "{:?}", plain(&l[2]));
    assert!(plain(&l[1]).starts_with("a "));
}

#[test]
fn the_sorted_header_is_read_whole_even_when_tight() {
    let cols = [
        Column::figure("pid", 5),
        Column::figure("duration", 8),
        Column::name("blocked by", 6, 10).drop(1),
    ];
    let rows = [("1", 1)];
    let cell =
        |_: &Row<'_>, c: usize, _: bool| Cell::new(["7300", "4m55s", ""][c], Style::default());
    let t = Table {
        columns: &cols,
        rows: &rows,
        selected: 0,
        sort: Some((1, Direction::Descending)),
        head_style: Style::default(),
        cell: &cell,
    };
    // 5 + 8 + 6 + 2 gaps = 21 would fit, but the arrow needs one more:
    // the optional column goes, the sorted header stays whole.
    let head = plain(&t.lines(21, 3)[0]);
    assert_eq!(head, "  pid duration▼");
}
