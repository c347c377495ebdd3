use super::stats::{scaled_count, scaled_total, wilson};
use super::ttl::{ExpiryBins, find_cliffs};
use super::*;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{RngExt, SeedableRng};

const T0: Timestamp = Timestamp::from_secs(1_700_000_000);
const MIN: i64 = 60_000;

fn key(name: &str, ttl_ms: i64) -> SampledKey {
    SampledKey {
        key: name.to_string(),
        kind: KeyKind::String,
        ttl_ms: Some(ttl_ms),
        heat: None,
        memory: None,
        elements: None,
    }
}

fn batch(pass: u64, done: bool, db_keys: u64, sent: u64, keys: Vec<SampledKey>) -> KeyspaceSample {
    KeyspaceSample {
        pass,
        pass_done: done,
        db_keys,
        budget: 1000,
        rule: None,
        sent,
        delimiter: ":".into(),
        keys,
        refused: Vec::new(),
    }
}

fn prefix<'a>(v: &'a KeyspaceView, name: &str) -> &'a PrefixView {
    v.prefixes
        .iter()
        .find(|p| p.name == name)
        .unwrap_or_else(|| panic!("no prefix {name} in {:?}", v.prefixes))
}

#[test]
fn prefixes_are_first_segments() {
    assert_eq!(prefix_of("user:42:profile", ":"), Some("user"));
    assert_eq!(prefix_of("counter", ":"), None);
    assert_eq!(prefix_of("a::b::c", "::"), Some("a"));
    assert_eq!(prefix_of(":x", ":"), Some(""));
    assert_eq!(prefix_of("a:b", ""), None);
    assert_eq!(row_name("user", ":"), "user:*");
    assert_eq!(row_name(NO_PREFIX, ":"), NO_PREFIX);
}

#[test]
fn a_key_without_the_delimiter_is_never_its_own_row_or_label() {
    assert_eq!(key_row("user:42", ":"), "user:*");
    assert_eq!(key_row("user/42", "/"), "user/*");
    assert_eq!(key_row("sess_9f2a", ":"), NO_PREFIX);
    assert_eq!(
        key_row("user:42", "/"),
        NO_PREFIX,
        "the configured delimiter"
    );
    assert_eq!(redacted("user:42", true, ":"), "user:…");
    assert_eq!(redacted("a::b", true, "::"), "a::…");
    assert_eq!(redacted("sess_9f2a", true, ":"), "…");
    assert_eq!(redacted("user:42", true, "/"), "…");
    assert_eq!(redacted("sess_9f2a", false, ":"), "sess_9f2a");
}

#[test]
fn heat_readings_become_low_rate_estimates() {
    assert_eq!(KeyHeat::LfuFreq(5).est_rate(), 0.0);
    assert_eq!(KeyHeat::LfuFreq(0).est_rate(), 0.0);
    assert!((KeyHeat::LfuFreq(6).est_rate() - 1.0 / 60.0).abs() < 1e-12);
    assert!((KeyHeat::LfuFreq(255).est_rate() - 2491.0 / 60.0).abs() < 1e-9);
    assert!((KeyHeat::IdleSecs(0).est_rate() - 1.0 / 60.0).abs() < 1e-12);
    assert_eq!(KeyHeat::IdleSecs(60).est_rate(), 0.0);
    assert!(KeyHeat::LfuFreq(6).recent() && !KeyHeat::LfuFreq(5).recent());
    assert!(KeyHeat::IdleSecs(59).recent() && !KeyHeat::IdleSecs(60).recent());
    assert!(KeyHeat::IdleSecs(0).hot_score() > KeyHeat::IdleSecs(30).hot_score());
    assert!(KeyHeat::LfuFreq(9).hot_score() > KeyHeat::LfuFreq(6).hot_score());
}

#[test]
fn wilson_intervals_close_on_a_census_and_open_on_nothing() {
    assert_eq!(wilson(0, 0, 100, Z95), (0.0, 0.0, 1.0));
    assert_eq!(wilson(30, 100, 100, Z95), (0.3, 0.3, 0.3));
    let (p, lo, hi) = wilson(30, 100, 1_000_000, Z95);
    assert!(lo < p && p < hi);
    // Textbook value for 30/100 (infinite population): 0.2189 .. 0.3958.
    assert!(
        (lo - 0.2189).abs() < 1e-3 && (hi - 0.3958).abs() < 1e-3,
        "{lo} {hi}"
    );
    // Sampling most of a small population narrows the interval.
    let (_, lo2, hi2) = wilson(300, 1000, 1100, Z95);
    assert!(hi2 - lo2 < (hi - lo) / 5.0);
    let (p0, lo0, hi0) = wilson(0, 50, 1000, Z95);
    assert_eq!((p0, lo0), (0.0, 0.0));
    assert!(hi0 > 0.0 && hi0 < 0.1);
}

#[test]
fn scaled_counts_respect_what_the_sample_proves() {
    let e = scaled_count(10, 100, 10_000, Z95);
    assert!((e.value - 1000.0).abs() < 1e-9);
    assert!(e.lo >= 10.0 && e.lo < 1000.0 && e.hi > 1000.0 && e.hi <= 9910.0);
    assert_eq!(scaled_count(7, 20, 20, Z95), Estimate::exact(7.0));
    // A census bigger than DBSIZE (keys added meanwhile) scales to itself.
    assert_eq!(scaled_count(7, 25, 20, Z95), Estimate::exact(7.0));
    assert_eq!(scaled_count(0, 0, 50, Z95).hi, 50.0);
    let t = scaled_total(500.0, 500.0 * 100.0, 5, 5, Z95);
    assert_eq!((t.value, t.lo, t.hi), (500.0, 500.0, 500.0));
    let t = scaled_total(1000.0, 100_000.0, 100, 1000, Z95);
    assert!((t.value - 10_000.0).abs() < 1e-6 && t.lo >= 1000.0 && t.hi > t.value);
}

/// Sampling without replacement from a known population: the 95%
/// intervals hold the truth about 95% of the time (seeded, so exact).
#[test]
fn intervals_cover_the_truth_at_their_confidence() {
    let mut rng = StdRng::seed_from_u64(7);
    let population: Vec<u8> = (0..10_000).map(|i| (i % 100 < 7) as u8).collect();
    let truth = 700.0;
    let mut covered = 0;
    let trials = 400;
    for _ in 0..trials {
        let mut p = population.clone();
        p.shuffle(&mut rng);
        let n = rng.random_range(200..3000);
        let k = p[..n].iter().filter(|&&x| x == 1).count() as u64;
        let e = scaled_count(k, n as u64, 10_000, Z95);
        covered += usize::from(e.lo <= truth && truth <= e.hi);
    }
    let rate = covered as f64 / trials as f64;
    assert!((0.92..=0.985).contains(&rate), "coverage {rate}");
}

#[test]
fn ttl_histogram_is_relative_to_now() {
    let mut b = ExpiryBins::default();
    for ttl in [
        -1,
        20_000,
        5 * MIN,
        30 * MIN,
        5 * 60 * MIN,
        3 * 24 * 60 * MIN,
        40 * 24 * 60 * MIN,
    ] {
        b.add(T0, ttl);
    }
    b.add(T0, -2); // ignored
    assert_eq!(b.histogram(T0), [1, 1, 1, 1, 1, 2, 0]);
    // Ten minutes later the first two are gone and the 30-minute key is < 1 h.
    assert_eq!(b.histogram(T0.add_secs(600)), [1, 0, 0, 1, 1, 2, 2]);
    assert!(b.bins() <= 5);
}

#[test]
fn a_bulk_write_with_one_ttl_is_a_cliff_and_a_steady_stream_is_not() {
    let mut steady = ExpiryBins::default();
    for i in 0..3000 {
        steady.add(T0, (i % 120) * MIN + 1000);
    }
    assert!(find_cliffs(&steady, T0, 10.0, &CliffRule::default()).is_empty());
    let mut b = steady.clone();
    // 400 keys written at once with a 45-minute TTL (17 times the 25 a
    // minute that expire anyway).
    for _ in 0..400 {
        b.add(T0, 45 * MIN + 30_000);
    }
    let c = find_cliffs(&b, T0, 10.0, &CliffRule::default());
    assert_eq!(c.len(), 1, "{c:?}");
    let minute = (T0.as_millis() + 45 * MIN + 30_000).div_euclid(MIN) * MIN;
    assert_eq!(c[0].0, minute);
    assert!(c[0].1 >= 400);
    // Past cliffs are not reported; too few keys (scaled) is not a cliff.
    assert!(find_cliffs(&b, T0.add_secs(50 * 60), 10.0, &CliffRule::default()).is_empty());
    assert!(find_cliffs(&b, T0, 0.1, &CliffRule::default()).is_empty());
}

#[test]
fn a_cliff_straddling_a_minute_boundary_is_one_cliff() {
    let mut b = ExpiryBins::default();
    let base = (T0.as_millis() + 10 * MIN).div_euclid(MIN) * MIN - T0.as_millis();
    for i in 0..100 {
        b.add(T0, base - 500 + i * 10);
    }
    let c = find_cliffs(&b, T0, 10.0, &CliffRule::default());
    assert_eq!(c.len(), 1, "{c:?}");
    assert_eq!((c[0].1, c[0].2), (100, 2));
}

#[test]
fn a_complete_pass_is_a_census_and_a_partial_one_a_sample() {
    let mut e = KeyspaceEngine::new(KeyspaceConfig::default());
    let keys = |from: usize, to: usize| -> Vec<SampledKey> {
        (from..to)
            .map(|i| {
                let p = if i % 4 == 0 { "user" } else { "session" };
                key(&format!("{p}:{i}"), if p == "user" { -1 } else { 90 * MIN })
            })
            .collect()
    };
    e.ingest(&batch(1, false, 1000, 100, keys(0, 200)), T0);
    let v = e.view(T0);
    assert_eq!(v.basis, Basis::Partial);
    assert!((v.coverage - 0.2).abs() < 1e-9);
    let user = prefix(&v, "user:*");
    assert_eq!(user.sampled, 50);
    assert!((user.keys.value - 250.0).abs() < 1e-9);
    assert!(user.keys.lo < 250.0 && user.keys.hi > 250.0);
    assert_eq!(v.prefixes[0].name, "session:*", "most keys first");
    e.ingest(&batch(1, true, 1000, 500, keys(200, 1000)), T0.add_secs(5));
    let v = e.view(T0.add_secs(5));
    assert_eq!(
        v.basis,
        Basis::Complete {
            done_at: T0.add_secs(5),
            took_ms: 5000
        }
    );
    let user = prefix(&v, "user:*");
    assert_eq!(user.keys, Estimate::exact(250.0));
    assert_eq!(user.ttl[0], Estimate::exact(250.0), "no TTL");
    let session = prefix(&v, "session:*");
    assert_eq!(session.ttl[4], Estimate::exact(750.0), "< 1 day");
    assert_eq!(v.coverage, 1.0);
    assert!(session.memory.is_none() && session.avg_elements.is_none());
    // A new pass in progress does not replace the census until it completes.
    e.ingest(&batch(2, false, 1000, 600, keys(0, 10)), T0.add_secs(6));
    let v = e.view(T0.add_secs(6));
    assert_eq!(prefix(&v, "user:*").keys, Estimate::exact(250.0));
    assert_eq!((v.pass, v.passes_done), (2, 1));
    assert!((v.pass_progress - 0.01).abs() < 1e-9);
    assert!((e.revisit_secs(T0.add_secs(6)) - 5.0).abs() < 1e-9);
}

#[test]
fn an_unfinished_pass_is_dropped_when_a_new_one_starts() {
    let mut e = KeyspaceEngine::new(KeyspaceConfig::default());
    e.ingest(&batch(1, false, 100, 10, vec![key("a:1", -1)]), T0);
    e.ingest(
        &batch(2, false, 100, 20, vec![key("b:1", -1)]),
        T0.add_secs(1),
    );
    let v = e.view(T0.add_secs(1));
    assert_eq!(v.sampled, 1);
    assert_eq!(v.prefixes.len(), 1);
    assert_eq!(v.prefixes[0].name, "b:*");
}

#[test]
fn missing_keys_are_not_part_of_the_sample() {
    let mut e = KeyspaceEngine::new(KeyspaceConfig::default());
    let mut gone = key("a:1", -1);
    gone.kind = KeyKind::Missing;
    gone.ttl_ms = None;
    e.ingest(&batch(1, true, 1, 10, vec![gone, key("a:2", -1)]), T0);
    assert_eq!(e.view(T0).sampled, 1);
}

#[test]
fn memory_and_elements_are_estimated_only_when_measured() {
    let mut e = KeyspaceEngine::new(KeyspaceConfig::default());
    let keys: Vec<SampledKey> = (0..100)
        .map(|i| SampledKey {
            memory: Some(if i % 2 == 0 { 100 } else { 300 }),
            elements: Some(10),
            kind: KeyKind::Hash,
            ..key(&format!("h:{i}"), -1)
        })
        .collect();
    e.ingest(&batch(1, false, 1000, 10, keys), T0);
    let v = e.view(T0);
    assert!(v.memory_measured);
    let h = prefix(&v, "h:*");
    let m = h.memory.expect("measured");
    assert!((m.value - 200_000.0).abs() < 1e-6);
    assert!(m.lo < m.value && m.hi > m.value && m.lo >= 20_000.0);
    assert_eq!(h.avg_elements, Some(10.0));
    assert_eq!(v.big.len(), 10);
    assert_eq!(v.big[0].memory, Some(300));
}

#[test]
fn hot_keys_are_recent_ones_hottest_first() {
    let mut e = KeyspaceEngine::new(KeyspaceConfig::default());
    let keys: Vec<SampledKey> = [(1u8, "cold"), (6, "warm"), (40, "hot"), (5, "new")]
        .iter()
        .map(|&(c, n)| SampledKey {
            heat: Some(KeyHeat::LfuFreq(c)),
            ..key(&format!("k:{n}"), -1)
        })
        .collect();
    e.ingest(&batch(1, true, 4, 10, keys), T0);
    let v = e.view(T0);
    assert_eq!(v.heat, Some(HeatMode::LfuCounter));
    let names: Vec<&str> = v.hot.iter().map(|h| h.key.as_str()).collect();
    assert_eq!(names, ["k:hot", "k:warm"]);
    let k = prefix(&v, "k:*");
    assert_eq!(k.recent, Estimate::exact(2.0));
    let expected = KeyHeat::LfuFreq(40).est_rate() + KeyHeat::LfuFreq(6).est_rate();
    assert!((k.est_rate - expected).abs() < 1e-9);
    assert_eq!(e.prefix_rates(), vec![("k:*".to_string(), expected)]);
    let mut cold = KeyspaceEngine::new(KeyspaceConfig::default());
    cold.ingest(&batch(1, true, 1, 1, vec![key("c:1", -1)]), T0);
    assert_eq!(
        cold.prefix_rates(),
        vec![("c:*".to_string(), 0.0)],
        "unused prefixes read 0"
    );
}

#[test]
fn prefixes_beyond_the_limit_share_one_group() {
    let mut e = KeyspaceEngine::new(KeyspaceConfig {
        max_prefixes: 3,
        ..KeyspaceConfig::default()
    });
    let keys: Vec<SampledKey> = (0..10).map(|i| key(&format!("p{i}:x"), -1)).collect();
    e.ingest(
        &batch(1, true, 11, 10, [keys, vec![key("plain", -1)]].concat()),
        T0,
    );
    let v = e.view(T0);
    assert_eq!(v.prefixes.len(), 5);
    assert_eq!(prefix(&v, OTHER_PREFIXES).sampled, 7);
    assert_eq!(prefix(&v, NO_PREFIX).sampled, 1);
}

#[test]
fn a_million_distinct_prefixes_and_huge_keys_stay_bounded() {
    let mut e = KeyspaceEngine::new(KeyspaceConfig::default());
    let huge = format!("{}:{}", "p".repeat(5000), "k".repeat(1 << 20));
    for chunk in 0..100 {
        let keys: Vec<SampledKey> = (0..10_000)
            .map(|i| {
                let mut k = key(&format!("p{}:x", chunk * 10_000 + i), 60_000);
                k.memory = Some(100);
                k
            })
            .chain([SampledKey {
                memory: Some(u64::MAX / 2),
                ..key(&huge, 60_000)
            }])
            .collect();
        e.ingest(&batch(1, false, 2_000_000, 10_001, keys), T0);
    }
    let v = e.view(T0);
    // The configured 500 prefixes, then one group for the rest.
    assert_eq!(v.prefixes.len(), 501);
    assert_eq!(prefix(&v, OTHER_PREFIXES).sampled, 1_000_100 - 500);
    assert!(v.prefixes.iter().all(|p| p.name.len() <= 128));
    // The huge key is the biggest, shown cut.
    let big = &v.big[0].key;
    assert!(
        big.len() <= 1024 && crate::engines::bounded::is_cut(big),
        "{}",
        big.len()
    );
}

#[test]
fn the_command_rate_is_measured_over_the_window() {
    let mut e = KeyspaceEngine::new(KeyspaceConfig::default());
    assert_eq!(e.command_rate(T0), None);
    for s in 0..=20 {
        e.ingest(&batch(1, false, 10, s * 500, vec![]), T0.add_secs(s as i64));
    }
    let r = e.command_rate(T0.add_secs(20)).expect("rate");
    assert!((r - 500.0).abs() < 1e-6, "{r}");
    // Quiet for longer than the window: it sends nothing now.
    assert_eq!(e.command_rate(T0.add_secs(40)), Some(0.0));
    // A restarted sampler (counter went down) starts over.
    e.ingest(&batch(2, false, 10, 5, vec![]), T0.add_secs(41));
    assert_eq!(e.command_rate(T0.add_secs(41)), None);
}

#[test]
fn cliffs_surface_in_the_view_with_their_estimate() {
    let mut e = KeyspaceEngine::new(KeyspaceConfig::default());
    let mut keys: Vec<SampledKey> = (0..60).map(|i| key(&format!("s:{i}"), 20 * MIN)).collect();
    keys.extend((0..40).map(|i| key(&format!("u:{i}"), -1)));
    e.ingest(&batch(1, false, 1000, 10, keys), T0);
    let v = e.view(T0);
    assert_eq!(v.cliffs.len(), 1);
    let c = &v.cliffs[0];
    assert_eq!((c.prefix.as_str(), c.sampled), ("s:*", 60));
    assert!((c.keys.value - 600.0).abs() < 1e-9 && c.keys.lo < 600.0);
}

#[test]
fn many_random_batches_never_break_the_invariants() {
    let mut rng = StdRng::seed_from_u64(3);
    let mut e = KeyspaceEngine::new(KeyspaceConfig::default());
    let mut t = T0;
    for pass in 1..4u64 {
        for step in 0..30 {
            let keys = (0..rng.random_range(0..50))
                .map(|_| {
                    let p = rng.random_range(0..5);
                    SampledKey {
                        heat: Some(KeyHeat::IdleSecs(rng.random_range(0..200))),
                        ..key(
                            &format!("p{p}:{}", rng.random::<u32>()),
                            rng.random_range(-1..3_600_000),
                        )
                    }
                })
                .collect();
            t = t.add_millis(rng.random_range(0..500));
            e.ingest(&batch(pass, step == 29, 2000, 0, keys), t);
            let v = e.view(t);
            let total: u64 = v.prefixes.iter().map(|p| p.sampled).sum();
            assert_eq!(total, v.sampled);
            for p in &v.prefixes {
                assert!(p.keys.lo <= p.keys.value && p.keys.value <= p.keys.hi);
                let ttl: u64 = p.ttl.iter().map(|e| e.value.round() as u64).sum();
                assert!(ttl.abs_diff(p.keys.value.round() as u64) <= TTL_BUCKETS as u64);
            }
        }
    }
}

#[test]
fn a_refused_dbsize_leaves_the_size_unknown_and_says_so() {
    let mut e = KeyspaceEngine::new(KeyspaceConfig::default());
    let mut b = batch(
        1,
        false,
        0,
        10,
        (0..40).map(|i| key(&format!("user:{i}"), -1)).collect(),
    );
    b.refused =
        vec!["DBSIZE: NOPERM this user has no permissions to run the 'dbsize' command".into()];
    e.ingest(&b, T0);
    let v = e.view(T0);
    assert!(v.size_unknown);
    assert_eq!(v.refused, b.refused);
    assert_eq!(v.sampled, 40);
    // Allowed again (a reconnect under a wider ACL): known again.
    let ok = batch(
        2,
        true,
        40,
        20,
        (0..40).map(|i| key(&format!("user:{i}"), -1)).collect(),
    );
    e.ingest(&ok, T0.add_secs(1));
    let v = e.view(T0.add_secs(1));
    assert!(!v.size_unknown && v.refused.is_empty());
}

#[test]
fn a_smaller_budget_samples_less_and_widens_the_intervals() {
    // 100k keys, a third under each prefix; a sampler at the floor sees
    // 300 of them in the time one at the cap sees 3000.
    let keys = |n: usize| -> Vec<SampledKey> {
        (0..n)
            .map(|i| key(&format!("{}:{i}", ["a", "b", "c"][i % 3]), -1))
            .collect()
    };
    let view = |n: usize| {
        let mut e = KeyspaceEngine::new(KeyspaceConfig::default());
        e.ingest(&batch(1, false, 100_000, 10, keys(n)), T0);
        prefix(&e.view(T0), "a:*").keys
    };
    let (small, big) = (view(300), view(3000));
    let truth = 100_000.0 / 3.0;
    for e in [small, big] {
        assert!(e.lo < truth && truth < e.hi, "{e:?}");
    }
    let (ws, wb) = (small.hi - small.lo, big.hi - big.lo);
    assert!(ws > 2.5 * wb, "{ws:.0} vs {wb:.0}");
}
