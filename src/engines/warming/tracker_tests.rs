use super::*;
use proptest::prelude::*;

const T0: Timestamp = Timestamp::from_secs(1_700_000_000);

fn names(top: &[KeyEstimate]) -> Vec<&str> {
    top.iter().filter_map(|e| e.name.as_deref()).collect()
}

#[test]
fn seed_record_counts_accesses() {
    let mut t = AccessTracker::new(100, 600);
    t.record_named("key1", T0);
    t.record_named("key1", T0);
    t.record_named("key2", T0);
    assert_eq!(t.events(), 3);
    assert_eq!(t.len(), 2);
    let r1 = t
        .estimate(key_hash("key1"), T0)
        .map(|e| e.rate)
        .unwrap_or(0.0);
    let r2 = t
        .estimate(key_hash("key2"), T0)
        .map(|e| e.rate)
        .unwrap_or(0.0);
    assert!((r1 / r2 - 2.0).abs() < 1e-9, "{r1} vs {r2}");
}

#[test]
fn seed_top_keys_by_frequency() {
    let mut t = AccessTracker::new(100, 600);
    for _ in 0..10 {
        t.record_named("key1", T0);
    }
    for _ in 0..5 {
        t.record_named("key2", T0);
    }
    t.record_named("key3", T0);
    let top = t.top_k(2, T0);
    assert_eq!(names(&top), ["key1", "key2"]);
    assert_eq!(t.top_k(10, T0).len(), 3);
    assert!(t.top_k(0, T0).is_empty());
}

#[test]
fn fixes_seed_frequency_is_count_over_hours_since_last() {
    // Seed: two accesses in the same second leave frequency at 0, and a
    // burst two hours ago outranks steady current traffic forever.
    let mut t = AccessTracker::new(100, 600);
    t.record_named("same-second", T0);
    t.record_named("same-second", T0);
    assert!(
        t.estimate(key_hash("same-second"), T0)
            .is_some_and(|e| e.rate > 0.0)
    );

    let mut t = AccessTracker::new(100, 600);
    for _ in 0..1000 {
        t.record_named("old-burst", T0);
    }
    let mut now = T0;
    for _ in 0..720 {
        now = now.add_secs(10);
        t.record_named("steady", now);
    }
    assert_eq!(names(&t.top_k(2, now)), ["steady", "old-burst"]);
}

#[test]
fn decayed_rate_tracks_a_steady_stream_and_halves_per_half_life() {
    let mut t = AccessTracker::new(10, 600);
    let h = key_hash("k");
    for i in 0..36_000 {
        t.record(h, T0.add_millis(i * 100)); // 10/s for an hour
    }
    let end = T0.add_secs(3600);
    let rate = t.estimate(h, end).map_or(0.0, |e| e.rate);
    assert!((rate - 10.0).abs() < 0.5, "rate {rate}");
    let later = t.estimate(h, end.add_secs(600)).map_or(0.0, |e| e.rate);
    assert!((later - 5.0).abs() < 0.25, "after one half-life {later}");
    // A young tracker reports count / elapsed (at least 1 s), no warm-up dip.
    let mut young = AccessTracker::new(10, 600);
    for i in 0..20 {
        young.record(h, T0.add_millis(i * 100));
    }
    let r = young.estimate(h, T0.add_secs(2)).map_or(0.0, |e| e.rate);
    assert!((r - 10.0).abs() < 0.5, "young {r}");
}

#[test]
fn fixes_seed_unbounded_key_memory() {
    let mut t = AccessTracker::new(1000, 600);
    let hot = key_hash("hot");
    for i in 0..200_000u64 {
        t.record(xxhash_rust::xxh3::xxh3_64(&i.to_le_bytes()), T0);
        if i % 10 == 0 {
            t.record(hot, T0);
        }
    }
    assert_eq!(t.len(), 1000);
    assert!(t.is_tracked(hot));
    assert!(t.approx_bytes() < 200 * 1024, "{}", t.approx_bytes());
    let b = t.error_bound(T0);
    assert_eq!(b.evictions, 200_001 - 1000);
    assert!(b.untracked_max_rate > 0.0 && b.untracked_max_rate <= b.max_error_rate + 1e-9);
    assert!(t.check_invariants().is_ok());
}

#[test]
fn tracker_bytes_at_100k_tracked_keys_within_24_mib() {
    let mut t = AccessTracker::new(100_000, 600);
    for i in 0..100_000 {
        t.record_named(&format!("user:{i}:profile"), T0);
    }
    assert_eq!(t.len(), 100_000);
    let bytes = t.approx_bytes();
    println!("tracker bytes at 100k named keys: {bytes}");
    assert!(bytes <= 24 * 1024 * 1024, "{bytes}");
}

#[test]
fn space_saving_error_is_min_count_at_entry_and_names_leave_with_slots() -> Result<(), &'static str>
{
    let mut t = AccessTracker::new(2, 600);
    for _ in 0..3 {
        t.record_named("a", T0);
    }
    t.record_named("b", T0);
    t.record_named("c", T0); // evicts b (count 1): c gets 1 + 1, ε = 1
    assert_eq!(t.name(key_hash("b")), None);
    assert!(!t.is_tracked(key_hash("b")));
    let c = t.estimate(key_hash("c"), T0).ok_or("c tracked")?;
    let a = t.estimate(key_hash("a"), T0).ok_or("a tracked")?;
    assert_eq!(c.name.as_deref(), Some("c"));
    assert!((c.rate / a.rate - 2.0 / 3.0).abs() < 1e-9);
    assert!((c.error / c.rate - 0.5).abs() < 1e-9);
    assert!((c.guaranteed_rate - (c.rate - c.error)).abs() < 1e-12);
    assert_eq!(a.error, 0.0);
    let b = t.error_bound(T0);
    assert_eq!((b.tracked, b.capacity, b.events, b.evictions), (2, 2, 5, 1));
    assert!((b.max_error_rate - b.total_rate / 2.0).abs() < 1e-9);
    Ok(())
}

#[test]
fn rescales_before_overflow_and_keeps_order() {
    // 1 s half-life over 20 minutes: λ·t ≈ 830, far past one rescale.
    let mut t = AccessTracker::new(8, 1);
    let mut now = T0;
    for i in 0..=1200 {
        now = now.add_secs(1);
        t.record_named("steady", now);
        if i % 3 == 0 {
            t.record_named("third", now);
        }
        t.record(i as u64, now);
    }
    assert!(t.check_invariants().is_ok());
    // Unnamed one-off keys may rank between them (a 1 s half-life
    // favours the newest access); the named order must hold.
    let top = t.top_k(8, now);
    assert_eq!(names(&top), ["steady", "third"]);
    assert!(top.iter().all(|e| e.rate.is_finite() && e.rate > 0.0));
    assert!(t.landmark > T0.as_millis());
}

#[test]
fn weighted_records_ignore_nan_and_negative() {
    let mut t = AccessTracker::new(4, 600);
    t.record_weighted(1, f64::NAN, T0);
    t.record_weighted(1, -3.0, T0);
    t.record_weighted(1, f64::INFINITY, T0);
    assert!(t.is_empty());
    t.record_weighted(2, 10.0, T0);
    t.record(3, T0);
    assert_eq!(t.events(), 11);
    let top = t.top_k(2, T0);
    assert_eq!(top.first().map(|e| e.key_hash), Some(2));
}

#[test]
fn refresh_count_resets_on_real_access() {
    let mut t = AccessTracker::new(4, 600);
    assert_eq!(t.note_refreshed(9), None);
    t.record(9, T0);
    assert_eq!(t.note_refreshed(9), Some(1));
    assert_eq!(t.note_refreshed(9), Some(2));
    assert_eq!(t.refreshes(9), Some(2));
    t.record(9, T0);
    assert_eq!(t.refreshes(9), Some(0));
}

#[test]
fn ties_rank_by_name_then_hash_and_reset_forgets() {
    let mut t = AccessTracker::new(10, 600);
    for n in ["b", "a", "c"] {
        t.record_named(n, T0);
    }
    t.record(5, T0);
    t.record(4, T0);
    let top = t.top_k(5, T0);
    assert_eq!(names(&top), ["a", "b", "c"]);
    let tail: Vec<u64> = top.iter().skip(3).map(|e| e.key_hash).collect();
    assert_eq!(tail, [4, 5]);
    t.reset();
    assert!(t.is_empty());
    assert_eq!(t.capacity(), 10);
    assert_eq!(t.total_rate(T0), 0.0);
}

#[test]
fn time_going_backwards_keeps_rates_finite() {
    let mut t = AccessTracker::new(4, 600);
    t.record(1, T0);
    t.record(1, Timestamp(i64::MIN));
    t.record(2, Timestamp(i64::MAX));
    t.record(3, T0);
    t.record(1, Timestamp(0));
    for e in t.top_k(4, T0) {
        assert!(e.rate.is_finite() && e.rate >= 0.0);
    }
    assert!(t.check_invariants().is_ok());
}

#[derive(Debug, Clone)]
enum Op {
    Record(u8, i64),
    Named(u8, i64),
    Weighted(u8, f64, i64),
    Refresh(u8),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (0u8..40, -5_000i64..20_000).prop_map(|(k, dt)| Op::Record(k, dt)),
        (0u8..40, -5_000i64..20_000).prop_map(|(k, dt)| Op::Named(k, dt)),
        (0u8..40, proptest::num::f64::ANY, -5_000i64..20_000)
            .prop_map(|(k, w, dt)| Op::Weighted(k, w, dt)),
        (0u8..40).prop_map(Op::Refresh),
    ]
}

fn run(t: &mut AccessTracker, ops: &[Op]) -> Timestamp {
    let mut now = T0;
    for op in ops {
        match *op {
            Op::Record(k, dt) => {
                now = now.add_millis(dt);
                t.record(u64::from(k), now);
            }
            Op::Named(k, dt) => {
                now = now.add_millis(dt);
                t.record_named(&format!("key:{k}"), now);
            }
            Op::Weighted(k, w, dt) => {
                now = now.add_millis(dt);
                t.record_weighted(u64::from(k), w, now);
            }
            Op::Refresh(k) => {
                t.note_refreshed(u64::from(k));
            }
        }
    }
    now
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn prop_bounded_and_heap_invariant_hold(
        cap in 1usize..16,
        half_life in 1u64..120,
        ops in proptest::collection::vec(op(), 0..200),
    ) {
        let mut t = AccessTracker::new(cap, half_life);
        let now = run(&mut t, &ops);
        prop_assert!(t.len() <= cap);
        prop_assert_eq!(t.check_invariants(), Ok(()));
        for e in t.top_k(cap, now) {
            prop_assert!(e.rate.is_finite() && e.rate >= 0.0);
            prop_assert!(e.error.is_finite() && e.error >= 0.0 && e.error <= e.rate);
        }
        let b = t.error_bound(now);
        for x in [b.untracked_max_rate, b.max_error_rate, b.total_rate] {
            prop_assert!(x.is_finite() && x >= 0.0);
        }
    }

    #[test]
    fn prop_extreme_times_never_panic(
        times in proptest::collection::vec(any::<i64>(), 1..60),
        keys in proptest::collection::vec(0u64..8, 60),
    ) {
        let mut t = AccessTracker::new(4, 600);
        for (i, ts) in times.iter().enumerate() {
            t.record(keys[i], Timestamp(*ts));
            let q = Timestamp(times[(i * 7) % times.len()]);
            for e in t.top_k(4, q) {
                prop_assert!(e.rate.is_finite() && e.rate >= 0.0);
            }
            prop_assert!(t.total_rate(q).is_finite());
        }
        prop_assert_eq!(t.check_invariants(), Ok(()));
    }

    #[test]
    fn prop_true_heavy_hitters_always_tracked(
        cap in 1usize..12,
        stream in proptest::collection::vec((0u32..60, 0u32..60), 1..400),
        step_ms in 0i64..3_000,
        half_life in 1u64..30,
    ) {
        // Skewed keys (min of two uniforms), forward-decayed weights
        // computed independently; long streams with short half-lives rescale.
        let mut t = AccessTracker::new(cap, half_life);
        let lambda = std::f64::consts::LN_2 / (half_life as f64 * 1e3);
        let at = |i: usize| T0.add_millis(step_ms.saturating_mul(i as i64));
        for (i, (a, b)) in stream.iter().enumerate() {
            t.record(u64::from(*a.min(b)), at(i));
        }
        let now = at(stream.len().saturating_sub(1));
        // Reference shares at the end: Σ exp(−λ(now − t_i)) per key.
        let mut truth: FxHashMap<u64, f64> = FxHashMap::default();
        let mut total = 0.0;
        for (i, (a, b)) in stream.iter().enumerate() {
            let w = (-lambda * now.millis_since(at(i)) as f64).exp();
            *truth.entry(u64::from(*a.min(b))).or_insert(0.0) += w;
            total += w;
        }
        let est_total = t.total_rate(now);
        prop_assert!(est_total > 0.0);
        let eps = 1e-9;
        for (key, w) in &truth {
            let share = w / total;
            match t.estimate(*key, now) {
                Some(e) => {
                    let est = e.rate / est_total;
                    let err = e.error / est_total;
                    prop_assert!(est + eps >= share, "under: {} < {}", est, share);
                    prop_assert!(est - err <= share + eps, "lower bound {} > {}", est - err, share);
                }
                None => {
                    prop_assert!(share <= 1.0 / cap as f64 + eps, "heavy {} untracked", share);
                    let b = t.error_bound(now);
                    prop_assert!(share <= b.untracked_max_rate / est_total + eps);
                }
            }
        }
    }
}
