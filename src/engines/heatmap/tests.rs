use super::*;
use proptest::prelude::*;

fn t(s: i64) -> Timestamp {
    Timestamp::from_secs(1_699_999_200 + s)
}

#[test]
fn seed_record_access_updates_tables_and_fingerprint() {
    let mut h = Heatmap::default();
    let q = h.query("SELECT * FROM users");
    h.record_query(q, true, 10_000, t(0));
    h.record_query(q, true, 15_000, t(1));
    h.record_query(q, false, 0, t(2));
    let v = h.view(t(2), 10, 6);
    let users = v
        .rows
        .iter()
        .find(|r| r.name == "users")
        .expect("users row");
    assert_eq!(users.totals.accesses, 3);
    assert_eq!(users.totals.saved_us, 25_000);
    let hr = users.hit_ratio.expect("ratio");
    assert!((hr - 2.0 / 3.0).abs() < 1e-9);
    assert_eq!(v.top_fingerprints[0].text, "SELECT * FROM users");
}

#[test]
fn fixes_seed_bucket_hit_ratio_mixes_all_time_totals() {
    let mut h = Heatmap::default();
    let r = h.row(RowKind::Table, Measure::Cache, "t");
    h.record(r, 100, 100, 0, t(0)); // bucket 0: all hits
    h.record(r, 100, 0, 0, t(10)); // bucket 1: all misses
    let v = h.view(t(10), 10, 2);
    let row = &v.rows[0];
    assert_eq!(row.cells[0].hit_ratio(), Some(1.0));
    assert_eq!(row.cells[1].hit_ratio(), Some(0.0));
    assert_eq!(row.hit_ratio, Some(0.5));
}

#[test]
fn fixes_seed_idle_system_is_a_quarter_hot() {
    let mut h = Heatmap::default();
    for i in 0..8 {
        let r = h.row(RowKind::Table, Measure::Cache, &format!("t{i}"));
        h.record(r, i + 1, 0, 0, t(0)); // a handful of accesses in an hour
    }
    let v = h.view(t(3600), 60, 60);
    assert!(v.rows.iter().all(|r| r.temperature != Temperature::Hot));
    assert!(v.rows.iter().all(|r| r.temperature != Temperature::Warm));
}

#[test]
fn rate_floors_use_the_first_access_not_the_last() {
    // 64 accesses spread over 40 minutes (1.6/min) are not Hot (floor 60/min),
    // even when the last one is "now".
    let mut h = Heatmap::default();
    for i in 0..4 {
        let r = h.row(RowKind::Table, Measure::Cache, &format!("t{i}"));
        for m in 0..64 {
            h.record(r, 1, 1, 0, t(m * 2400 / 64));
        }
    }
    let v = h.view(t(2400), 60, 60);
    assert!(v.rows.iter().all(|r| r.temperature != Temperature::Hot));
}

#[test]
fn a_future_stamped_sample_cannot_erase_history() {
    let mut h = Heatmap::default();
    let r = h.row(RowKind::Table, Measure::Cache, "t");
    for s in 0..60 {
        h.record(r, 100, 90, 0, t(s));
        h.advance(t(s));
    }
    h.record(r, 5, 5, 0, t(2 * 86_400)); // a clock two days ahead
    assert_eq!(h.dropped_future(), 1);
    for s in 60..66 {
        h.record(r, 100, 90, 0, t(s));
    }
    let v = h.view(t(65), 10, 7);
    assert_eq!(v.rows[0].window.accesses, 6600);
}

#[test]
fn seed_temperature_classification_by_quartiles() {
    let mut h = Heatmap::default();
    for i in 0..10u32 {
        let r = h.row(RowKind::Table, Measure::Cache, &format!("table_{i}"));
        h.record(r, (i + 1) * 1000, (i + 1) * 900, 0, t(0));
    }
    let v = h.view(t(30), 10, 6);
    let temp = |n: &str| v.rows.iter().find(|r| r.name == n).map(|r| r.temperature);
    assert_eq!(temp("table_9"), Some(Temperature::Hot));
    assert_eq!(temp("table_5"), Some(Temperature::Warm));
    assert_eq!(temp("table_0"), Some(Temperature::Frozen));
    let q = v
        .quartiles
        .iter()
        .find(|(k, _)| *k == RowKind::Table)
        .expect("q")
        .1;
    assert!(q.p25 <= q.p50 && q.p50 <= q.p75);
}

#[test]
fn seed_recommendations_low_hit_ratio_and_cold_data() {
    let mut h = Heatmap::default();
    let slow = h.row(RowKind::Table, Measure::Cache, "slow_table");
    h.record(slow, 200, 50, 0, t(0));
    let idle = h.row(RowKind::Table, Measure::Cache, "idle_table");
    h.record(idle, 150, 140, 0, t(0));
    let few = h.row(RowKind::Table, Measure::Cache, "few");
    h.record(few, 99, 0, 0, t(0)); // below 100 accesses: no advice
    let recs = h.recommendations(t(2 * 3600));
    assert_eq!(recs[0].priority, Priority::High);
    assert_eq!(recs[0].name, "slow_table");
    assert!(recs[0].suggestion.contains("25.0%"));
    assert!(
        recs.iter()
            .any(|r| r.name == "idle_table" && r.issue == "Cold data in cache")
    );
    assert!(recs.iter().all(|r| r.name != "few"));
}

#[test]
fn fixes_seed_clock_skew_underflow_panics() {
    let mut h = Heatmap::default();
    let r = h.row(RowKind::Table, Measure::Cache, "t");
    h.record(r, 500, 10, 0, t(1000));
    // "now" earlier than the last access: no panic, no idle advice.
    let recs = h.recommendations(t(0));
    assert!(recs.iter().all(|r| r.issue != "Cold data in cache"));
    let _ = h.view(t(0), 10, 10);
    let _ = h.view(Timestamp(i64::MIN), 10, 10);
    let _ = h.view(Timestamp(i64::MAX), 3600, 4096);
}

#[test]
fn cumulative_counters_reset_is_a_gap_not_traffic() {
    let mut h = Heatmap::default();
    let r = h.row(RowKind::Table, Measure::Buffer, "orders");
    h.record_cumulative(r, 1000, 100, 7, t(0));
    h.record_cumulative(r, 1900, 200, 7, t(10));
    h.record_cumulative(r, 50, 5, 7, t(20)); // restart: counters dropped
    h.record_cumulative(r, 150, 5, 7, t(30));
    let v = h.view(t(30), 10, 4);
    let row = &v.rows[0];
    assert_eq!(row.window.accesses, 1000 + 100);
    assert_eq!(row.window.hits, 900 + 100);
    assert!(row.cells[2].gap);
    assert_eq!(row.cells[2].accesses, 0);
}

#[test]
fn sampled_rows_have_no_hit_ratio() {
    let mut h = Heatmap::default();
    let r = h.row(RowKind::Prefix, Measure::Sampled, "user:");
    h.record(r, 40, 40, 0, t(0));
    let v = h.view(t(0), 10, 1);
    assert_eq!(v.rows[0].hit_ratio, None);
    assert_eq!(v.rows[0].window.hits, 0);
}

#[test]
fn zoom_uses_base_then_rollup() {
    let mut h = Heatmap::default();
    let r = h.row(RowKind::Table, Measure::Cache, "t");
    for s in 0..600 {
        h.record(r, 1, 1, 0, t(s));
    }
    let v = h.view(t(599), 60, 10);
    assert_eq!(v.resolution_s, 60);
    assert_eq!(v.rows[0].window.accesses, 600);
    assert!(v.rows[0].cells.iter().all(|c| c.accesses == 60));
    // A week of 5-minute columns comes from the roll-up level.
    let w = h.view(t(599), 300, 2016);
    assert_eq!(w.rows[0].window.accesses, 600);
    assert_eq!(h.zoom_levels(), vec![10, 30, 60, 300, 900, 3600]);
}

#[test]
fn aggregated_query_counts_match_single_events() {
    let mut a = Heatmap::default();
    let mut b = Heatmap::default();
    let qa = a.query("SELECT * FROM t WHERE id = 1");
    let qb = b.query("SELECT * FROM t WHERE id = 2");
    for i in 0..10 {
        a.record_query(qa, i < 7, 100, t(0));
    }
    b.record_query_n(qb, 10, 7, 700, t(0));
    assert_eq!(a.view(t(0), 10, 1).rows, b.view(t(0), 10, 1).rows);
}

#[test]
fn rows_beyond_cap_evict_the_least_recently_used() {
    let mut h = Heatmap::new(HeatmapConfig {
        max_rows: 8,
        ..HeatmapConfig::default()
    });
    h.advance(t(0));
    let keep = h.row(RowKind::Table, Measure::Cache, "keep");
    for i in 0..20 {
        let r = h.row(RowKind::Prefix, Measure::Sampled, &format!("p{i}"));
        h.record(r, 1, 0, 0, t(i));
        // `keep` is used all along: it is never the least recently used.
        h.record(keep, 1, 1, 0, t(i));
        h.advance(t(i));
        assert!(h.row_count() <= 8);
    }
    assert_eq!(h.describe(keep).map(|d| d.0), Some("keep"));
    assert_eq!(h.evicted(), 20 + 1 - 8);
    let v = h.view(t(20), 10, 3);
    let names: Vec<&str> = v.rows.iter().map(|r| r.name.as_str()).collect();
    assert!(
        names.contains(&"p19") && !names.contains(&"p0"),
        "{names:?}"
    );
}

#[test]
fn a_reused_row_shows_none_of_its_former_names_figures() {
    let mut h = Heatmap::new(HeatmapConfig {
        max_rows: 2,
        ..HeatmapConfig::default()
    });
    let old = h.row(RowKind::Table, Measure::Cache, "old");
    h.record(old, 50, 50, 0, t(0));
    h.advance(t(25));
    let b = h.row(RowKind::Table, Measure::Cache, "b");
    h.record(b, 1, 1, 0, t(25));
    // A third name: "old" is the least recently used and gives its id.
    let new = h.row(RowKind::Table, Measure::Cache, "new");
    assert_eq!(new, old, "the id is reused");
    h.record(new, 3, 0, 0, t(27));
    let v = h.view(t(30), 10, 6);
    let row = v.rows.iter().find(|r| r.name == "new").expect("new");
    assert_eq!(row.window.accesses, 3, "not the 50 of 'old'");
    assert_eq!(row.totals.accesses, 3);
    assert_eq!(row.cells.iter().map(|c| c.accesses).sum::<u32>(), 3);
    assert!(v.rows.iter().all(|r| r.name != "old"));
}

#[test]
fn a_million_distinct_tables_and_queries_stay_under_the_caps() {
    let cfg = HeatmapConfig {
        max_rows: 1_000,
        base_cells_per_bucket: 200,
        rollup_cells_per_bucket: 50,
        max_fingerprints: 500,
        ..HeatmapConfig::default()
    };
    let mut h = Heatmap::new(cfg);
    // Half a million tables and half a million queries, ten per second of
    // a week: every bucket of both levels fills.
    for i in 0..500_000i64 {
        let at = t(i * 6 / 5);
        if i % 10 == 0 {
            h.advance(at);
        }
        let r = h.row(RowKind::Table, Measure::Cache, &format!("table_{i}"));
        h.record(r, 2, 1, 10, at);
        let q = h.query(&format!("SELECT * FROM q_{i} WHERE id = {i}"));
        h.record_query_n(q, 2, 1, 10, at);
        assert!(h.row_count() <= 1_000);
    }
    assert!(h.evicted() >= 1_000_000 - 1_000, "{}", h.evicted());
    assert!(h.fingerprints_evicted() >= 500_000 - 500);
    assert!(h.dropped_cells() > 0);
    // Buckets: 360 × 200 + 2016 × 50 cells of 32 bytes; rows, names,
    // fingerprints and the open buckets on top.
    let bytes = h.approx_bytes();
    assert!(bytes < 8 << 20, "{bytes}");
    let v = h.view_rows(t(600_000), t(600_000), 10, 240);
    assert!(v.rows.len() <= 1_000);
    assert!(v.rows.iter().any(|r| r.name == "table_499999"));
    let fp = "SELECT * FROM q_499999 WHERE id = ?";
    assert!(
        v.rows.iter().any(|r| r.name == fp),
        "the newest query has its row"
    );
}

#[test]
fn only_the_rows_drawn_get_cells() {
    let mut h = Heatmap::default();
    for i in 0..2_000 {
        let r = h.row(RowKind::Table, Measure::Cache, &format!("t{i}"));
        h.record(r, i + 1, 0, 0, t(0));
    }
    let mut v = h.view_rows(t(5), t(5), 10, 240);
    assert!(v.rows.iter().all(|r| r.cells.is_empty()));
    h.fill_cells(&mut v, 10);
    assert_eq!((v.rows.len(), v.more_rows), (10, 1_990));
    assert_eq!(v.rows[0].name, "t1999", "busiest first");
    assert_eq!(v.rows[0].cells.len(), 240);
    assert_eq!(
        v.rows[0].cells.iter().map(|c| c.accesses).sum::<u32>(),
        2_000
    );
    assert_eq!(v, {
        let mut full = h.view(t(5), 10, 240);
        full.more_rows = 1_990;
        full.rows.truncate(10);
        full
    });
}

#[test]
fn totals_rows_count_each_access_once() {
    let mut h = Heatmap::default();
    let q = h.query("SELECT * FROM a JOIN b ON a.id = b.id");
    h.record_query(q, true, 5, t(0));
    let v = h.view(t(0), 10, 1);
    let cache = v
        .totals
        .iter()
        .find(|(m, _)| *m == Measure::Cache)
        .expect("cache");
    assert_eq!(cache.1[0].accesses, 1);
    assert_eq!(v.rows.len(), 3); // a, b and the fingerprint; totals are hidden
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Ratios stay in [0, 1] and every counted access is in some column.
    #[test]
    fn ratios_bounded_and_totals_preserved(
        events in proptest::collection::vec((0u8..6, 0i64..3000, 1u32..50, 0u32..60), 1..200)
    ) {
        let mut h = Heatmap::default();
        let ids: Vec<RowId> = (0..6)
            .map(|i| h.row(RowKind::Table, Measure::Cache, &format!("r{i}")))
            .collect();
        let mut sum = 0u64;
        for (r, s, n, hits) in events {
            h.record(ids[r as usize], n, hits, 1, t(s));
            sum += u64::from(n);
        }
        let v = h.view(t(3000), 10, 360);
        let seen: u64 = v.rows.iter().map(|r| u64::from(r.window.accesses)).sum();
        prop_assert_eq!(seen, sum);
        for r in &v.rows {
            if let Some(x) = r.hit_ratio { prop_assert!((0.0..=1.0).contains(&x)); }
            for c in &r.cells {
                if let Some(x) = c.hit_ratio() { prop_assert!((0.0..=1.0).contains(&x)); }
            }
        }
    }

    /// Any sequence of calls at any times never panics.
    #[test]
    fn never_panics(ops in proptest::collection::vec((any::<i64>(), any::<u32>(), any::<u32>(), any::<u64>()), 0..50)) {
        let mut h = Heatmap::default();
        let r = h.row(RowKind::Table, Measure::Buffer, "x");
        for (ts, a, b, c) in ops {
            h.record(r, a, b, c, Timestamp(ts));
            h.record_cumulative(r, c, u64::from(a), u64::from(b % 2), Timestamp(ts));
            let _ = h.view(Timestamp(ts), a % 5000, (b % 100) as usize);
        }
    }
}
