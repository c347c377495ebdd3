use proptest::prelude::*;

use super::stats::{scaled_count, scaled_total, wilson};
use super::ttl::{ExpiryBins, find_cliffs};
use super::*;

proptest! {
    /// Intervals hold their point estimate, stay within what the sample
    /// proves, and close on a census.
    #[test]
    fn scaled_counts_are_well_formed(
        n in 0u64..5000,
        extra in 0u64..100_000,
        k_frac in 0.0f64..=1.0,
        z in 0.0f64..5.0,
    ) {
        let k = (n as f64 * k_frac).round() as u64;
        let pop = n + extra;
        let e = scaled_count(k, n, pop, z);
        prop_assert!(e.lo <= e.value && e.value <= e.hi);
        prop_assert!(e.lo >= k as f64 && e.hi <= (pop - (n - k)) as f64 + 1e-9);
        let (p, lo, hi) = wilson(k, n, pop, z);
        prop_assert!((0.0..=1.0).contains(&lo) && lo <= p && p <= hi && hi <= 1.0);
        if extra == 0 {
            prop_assert_eq!(e, Estimate::exact(k as f64));
        }
    }

    /// Point estimates of a partition add up to the keyspace.
    #[test]
    fn a_partition_scales_to_the_whole(
        parts in proptest::collection::vec(0u64..500, 1..8),
        extra in 0u64..50_000,
    ) {
        let n: u64 = parts.iter().sum();
        prop_assume!(n > 0);
        let pop = n + extra;
        let sum: f64 = parts.iter().map(|&k| scaled_count(k, n, pop, Z95).value).sum();
        prop_assert!((sum - pop as f64).abs() < 1e-6 * pop as f64);
    }

    /// Totals never fall below what was seen, and are exact on a census.
    #[test]
    fn scaled_totals_are_well_formed(
        ys in proptest::collection::vec(0u32..1_000_000, 1..200),
        extra in 0u64..10_000,
    ) {
        let n = ys.len() as u64;
        let sum: f64 = ys.iter().map(|&y| f64::from(y)).sum();
        let sq: f64 = ys.iter().map(|&y| f64::from(y) * f64::from(y)).sum();
        let t = scaled_total(sum, sq, n, n + extra, Z95);
        prop_assert!(t.lo <= t.value + 1e-6 && t.value <= t.hi + 1e-6);
        prop_assert!(t.lo + 1e-6 >= sum.min(t.value));
        if extra == 0 {
            prop_assert!((t.hi - t.lo).abs() < 1e-6 * (1.0 + sum));
        }
    }

    /// Every key lands in exactly one TTL bucket, whatever `now` is.
    #[test]
    fn histograms_count_every_key_once(
        ttls in proptest::collection::vec(-3i64..(60i64 * 86_400_000), 0..300),
        later in -100_000_000i64..100_000_000_000,
    ) {
        let t0 = Timestamp::from_secs(1_700_000_000);
        let mut b = ExpiryBins::default();
        for &t in &ttls {
            b.add(t0, t);
        }
        let kept = ttls.iter().filter(|&&t| t >= -1).count() as u64;
        let h = b.histogram(t0.add_millis(later));
        prop_assert_eq!(h.iter().sum::<u64>(), kept);
        let cliffs = find_cliffs(&b, t0.add_millis(later), 3.0, &CliffRule::default());
        let in_cliffs: u64 = cliffs.iter().map(|c| c.1).sum();
        prop_assert!(in_cliffs <= kept);
    }

    /// Arbitrary batches (odd names, odd delimiters, any readings) never
    /// panic, and the groups always partition the sample.
    #[test]
    fn ingest_accepts_anything(
        names in proptest::collection::vec("[a-c:/]{0,6}", 0..60),
        delim in "[:/]{0,2}",
        db_keys in 0u64..200,
        done in any::<bool>(),
        heat in 0u8..=255,
    ) {
        let tree = TreeRules { max_rows: 6, min_keys: 1, ..TreeRules::default() };
        let mut e = KeyspaceEngine::new(KeyspaceConfig { max_prefixes: 4, tree, ..KeyspaceConfig::default() });
        let keys = names
            .iter()
            .enumerate()
            .map(|(i, n)| SampledKey {
                key: n.clone(),
                kind: if i % 7 == 3 { KeyKind::Missing } else { KeyKind::Set },
                ttl_ms: if i % 7 == 3 { None } else { Some(i as i64 * 1000 - 1) },
                heat: Some(if i % 2 == 0 { KeyHeat::LfuFreq(heat) } else { KeyHeat::IdleSecs(u64::from(heat)) }),
                memory: (i % 3 == 0).then_some(i as u64 * 17),
                elements: Some(i as u64),
            })
            .collect();
        let s = KeyspaceSample { pass: 1, pass_done: done, db_keys, budget: 10, rule: None, sent: 5, delimiter: delim, keys, refused: Vec::new() };
        let t = Timestamp::from_secs(1_700_000_000);
        e.ingest(&s, t);
        let v = e.view(t);
        // max(first segments, rows after splits), (none) and (other).
        prop_assert!(v.prefixes.len() <= 8, "{:?}", v.prefixes);
        prop_assert_eq!(v.prefixes.iter().map(|p| p.sampled).sum::<u64>(), v.sampled);
        prop_assert!((0.0..=1.0).contains(&v.coverage));
    }
}
