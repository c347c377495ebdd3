//! The heatmap in time: the bucket still filling, the place a scrolled view
//! keeps across zoom levels, and counter deltas spread over the time they
//! cover. Time is a parameter throughout (`t(s)`: a whole hour at `t(0)`).

use super::*;
use crate::engines::counters::SetDelta;
use proptest::prelude::*;

fn t(s: i64) -> Timestamp {
    // 1_699_999_200 is a multiple of 10, 300 and 3600.
    Timestamp::from_secs(1_699_999_200 + s)
}

#[test]
fn the_bucket_still_filling_is_drawn_and_counted_in_the_ratio() {
    let mut h = Heatmap::default();
    let r = h.row(RowKind::Table, Measure::Cache, "t");
    h.record(r, 10, 8, 0, t(1));
    h.advance(t(5));
    // Fed 4 s ago, 5 s into a 10 s bucket: the ratio shows now.
    let v = h.view(t(5), 10, 6);
    let row = &v.rows[0];
    assert_eq!(row.hit_ratio, Some(0.8));
    assert!(v.is_partial());
    assert_eq!(v.last_ms, 5_000);
    assert_eq!(row.cells[5].accesses, 10, "the newest column holds it");
    // Its rate is over the 5 s that passed, not the whole 10.
    assert!((v.rate(5, &row.cells[5]) - 2.0).abs() < 1e-9);
    assert_eq!(v.end(), t(5));
    // At an hour per column the same row shows at once, not in an hour.
    let hour = h.view(t(5), 3600, 24);
    assert_eq!(hour.resolution_s, 3600);
    assert_eq!(hour.rows[0].hit_ratio, Some(0.8));
    assert_eq!(hour.rows[0].cells[23].accesses, 10);
    assert_eq!(hour.last_ms, 5_000);
    // A complete bucket is not partial.
    let done = h.view(t(10), 10, 6);
    assert!(!done.is_partial() || done.last_ms == 0);
    assert_eq!(done.rows[0].cells[4].accesses, 10);
    assert!((done.rate(4, &done.rows[0].cells[4]) - 1.0).abs() < 1e-9);
}

#[test]
fn a_bucket_a_moment_old_is_measured_over_at_least_a_second() {
    let mut h = Heatmap::default();
    let r = h.row(RowKind::Table, Measure::Cache, "t");
    h.record(r, 3, 3, 0, t(10));
    let v = h.view(t(10).add_millis(20), 10, 2);
    assert_eq!(v.last_ms, 20);
    assert!((v.column_secs(1) - 1.0).abs() < 1e-9);
    assert!((v.column_secs(0) - 10.0).abs() < 1e-9);
}

#[test]
fn a_held_screen_knows_the_bucket_went_on_filling() {
    let mut h = Heatmap::default();
    let r = h.row(RowKind::Table, Measure::Cache, "t");
    h.record(r, 8, 8, 0, t(1));
    h.advance(t(8));
    // The screen was held at t(2); the bucket holds 8 s of data by now.
    let v = h.view(t(2), 10, 3);
    assert_eq!(v.last_ms, 8_000);
    // The bucket closed after the screen was held: a whole column.
    h.advance(t(12));
    let v = h.view(t(2), 10, 3);
    assert!(!v.is_partial());
}

/// Four hours of one access a second.
fn four_hours() -> (Heatmap, RowId) {
    let mut h = Heatmap::default();
    let r = h.row(RowKind::Table, Measure::Cache, "t");
    for s in 0..4 * 3600 {
        h.record(r, 10, 9, 0, t(s));
        if s % 10 == 0 {
            h.advance(t(s));
        }
    }
    h.advance(t(4 * 3600));
    (h, r)
}

#[test]
fn scrolling_keeps_its_place_in_time_across_zoom_levels() {
    let (h, _) = four_hours();
    let now = t(4 * 3600 - 5);
    // Three columns back at 10 s a column …
    let mut end = now;
    for _ in 0..3 {
        end = scroll_back(end, 10, h.first_seen());
    }
    assert_eq!(end, t(4 * 3600 - 30).add_millis(-1));
    // … then zoomed out to an hour a column: the newest column is the
    // hour holding that time, not three hours back.
    let mut v = h.view_rows(end, now, 3600, 24);
    h.fill_cells(&mut v, usize::MAX);
    let newest = v.column_start(23);
    assert!(newest <= end && end < newest.add_secs(3600), "{newest:?}");
    assert!(v.rows[0].hit_ratio.is_some(), "rows keep their ratio");
    // Three hours back at an hour a column, zoomed in to 10 s: the time is
    // older than the base level keeps, so the columns are the roll-up's
    // 5 minutes, holding data and saying so.
    let mut end = now;
    for _ in 0..3 {
        end = scroll_back(end, 3600, h.first_seen());
    }
    assert_eq!(end, t(3600).add_millis(-1));
    let mut v = h.view_rows(end, now, 10, 240);
    h.fill_cells(&mut v, usize::MAX);
    assert_eq!((v.asked_s, v.resolution_s), (10, 300));
    let newest = v.column_start(v.columns - 1);
    assert!(newest <= end && end < newest.add_secs(300));
    assert!(!v.is_partial());
    assert_eq!(v.rows[0].cells[v.columns - 1].accesses, 3000);
    assert_eq!(v.rows[0].hit_ratio, Some(0.9));
    // Within the base level's hour, 10 s columns stay 10 s.
    let recent = scroll_back(now, 10, h.first_seen());
    let mut v = h.view_rows(recent, now, 10, 240);
    h.fill_cells(&mut v, usize::MAX);
    assert_eq!(v.resolution_s, 10);
    assert_eq!(v.rows[0].cells[v.columns - 1].accesses, 100);
}

#[test]
fn scrolling_forward_returns_to_now_and_back_stops_at_the_first_data() {
    let now = t(1003);
    let end = t(950).add_millis(-1);
    assert_eq!(scroll_forward(end, 10, now), Some(t(960).add_millis(-1)));
    let last = scroll_forward(t(985), 10, now);
    assert_eq!(
        last,
        Some(t(1000).add_millis(-1)),
        "the last complete column"
    );
    // The next column holds now: follow now again.
    assert_eq!(scroll_forward(t(1000).add_millis(-1), 10, now), None);
    // Nothing before the first data.
    assert_eq!(scroll_back(t(105), 10, Some(t(100))), t(105));
    assert_eq!(scroll_back(t(115), 10, Some(t(100))), t(110).add_millis(-1));
    assert_eq!(scroll_back(t(115), 10, None), t(115));
}

#[test]
fn a_delta_is_spread_over_the_time_it_covers() {
    let mut h = Heatmap::default();
    let r = h.row(RowKind::Table, Measure::Buffer, "t");
    // Read at t(3) and t(33): 30 s of 30 blocks a second, 10 % misses.
    h.record_delta_over(r, SetDelta::Values([810, 90]), Some(t(3)), t(33));
    let v = h.view(t(33), 10, 4);
    let cells: Vec<u32> = v.rows[0].cells.iter().map(|c| c.accesses).collect();
    assert_eq!(cells, vec![210, 300, 300, 90]);
    assert_eq!(v.rows[0].window.hits, 810);
    assert_eq!(v.rows[0].window.misses, 90);
    assert_eq!(h.totals(r).map(|x| x.accesses), Some(900));
    // Without a previous read, and for a reset, at the read.
    let q = h.row(RowKind::Table, Measure::Buffer, "q");
    h.record_delta_over(q, SetDelta::Values([5, 5]), None, t(33));
    h.record_delta_over(q, SetDelta::Reset, Some(t(3)), t(43));
    let v = h.view(t(43), 10, 2);
    let row = v.rows.iter().find(|x| x.name == "q").expect("q");
    assert_eq!(row.cells[0].accesses, 10);
    assert!(row.cells[1].gap);
}

#[test]
fn a_steady_load_read_every_ten_seconds_leaves_no_false_gaps() {
    // 100 blocks a second, read every 10.3 s (the reads drift across the
    // buckets, as a poller's do).
    let run = |spread: bool| {
        let mut h = Heatmap::default();
        let r = h.row(RowKind::Table, Measure::Buffer, "pgbench_accounts");
        let mut prev: Option<Timestamp> = None;
        for k in 0..60 {
            let at = t(5).add_millis(k * 10_300);
            if let Some(p) = prev {
                let blocks = at.millis_since(p) / 10;
                let d = SetDelta::Values([blocks, 0]);
                if spread {
                    h.record_delta_over(r, d, prev, at);
                } else {
                    h.record_delta(r, d, at);
                }
            }
            h.advance(at);
            prev = Some(at);
        }
        let end = t(5).add_millis(59 * 10_300);
        // The complete columns between the first read and the last.
        let v = h.view(end, 10, 58);
        v.rows[0].cells[1..57]
            .iter()
            .map(|c| c.accesses)
            .collect::<Vec<_>>()
    };
    let at_read = run(false);
    assert!(
        at_read.contains(&0),
        "counted at the read, a column is empty now and then"
    );
    let spread = run(true);
    assert!(spread.iter().all(|&a| a == 1000), "{spread:?}");
}

#[test]
fn a_delta_older_than_every_level_still_counts_in_the_totals() {
    let mut h = Heatmap::default();
    let r = h.row(RowKind::Table, Measure::Buffer, "t");
    let from = t(0);
    let to = t(30 * 86_400);
    h.record_delta_over(r, SetDelta::Values([30 * 86_400, 0]), Some(from), to);
    assert_eq!(h.totals(r).map(|x| x.accesses), Some(30 * 86_400));
    // A week of 5-minute pieces at most, plus the one before it.
    assert!(h.pieces(from, to, [1, 1]).len() <= 2017);
    let v = h.view(to, 300, 12);
    assert!(v.rows[0].cells[..11].iter().all(|c| c.accesses == 300));
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn spread_pieces_sum_to_the_delta(
        from in 0i64..10_000_000,
        len in 1i64..20_000_000,
        hits in 0u64..u64::from(u32::MAX),
        misses in 0u64..1_000_000,
    ) {
        let h = Heatmap::default();
        let (a, b) = (t(0).add_millis(from), t(0).add_millis(from + len));
        let pieces = h.pieces(a, b, [hits, misses]);
        let sum = pieces.iter().fold([0u64; 2], |s, (_, p)| [s[0] + p[0], s[1] + p[1]]);
        prop_assert_eq!(sum, [hits, misses]);
        prop_assert!(pieces.windows(2).all(|w| w[0].0 < w[1].0));
        prop_assert!(pieces.iter().all(|(at, _)| *at >= a && *at < b));
    }
}
