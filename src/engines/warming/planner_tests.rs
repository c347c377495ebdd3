use super::*;
use proptest::prelude::*;

const T0: Timestamp = Timestamp::from_secs(1_700_000_000);

fn engine(strategy: WarmingStrategy) -> WarmingEngine {
    WarmingEngine::new(&WarmingConfig {
        strategy,
        ..WarmingConfig::default()
    })
}

/// Four hot keys (expiring, missing, unprobed, persistent) and a preload key.
fn scenario(strategy: WarmingStrategy) -> WarmingEngine {
    let mut e = engine(strategy);
    for _ in 0..100 {
        for k in ["hot:exp", "hot:miss", "hot:unknown", "hot:persist"] {
            e.record_named(k, T0);
        }
    }
    e.observe_ttl(
        key_hash("hot:exp"),
        "hot:exp",
        TtlState::ExpiresIn(30_000),
        T0,
    );
    e.observe_ttl(key_hash("hot:miss"), "hot:miss", TtlState::Missing, T0);
    e.observe_ttl(
        key_hash("hot:persist"),
        "hot:persist",
        TtlState::Persistent,
        T0,
    );
    e.queue_preload(["pre:1"]);
    e
}

fn reasons(plan: &[Candidate]) -> Vec<(&str, &'static str)> {
    plan.iter()
        .map(|c| (c.name.as_deref().unwrap_or("?"), c.reason.label()))
        .collect()
}

#[test]
fn seed_strategy_gating_in_plan() {
    let expect: [(WarmingStrategy, &[&str]); 5] = [
        (WarmingStrategy::None, &[]),
        (WarmingStrategy::Preload, &["pre:1"]),
        (WarmingStrategy::BackgroundRefresh, &["hot:exp"]),
        (WarmingStrategy::Predictive, &["hot:miss", "hot:unknown"]),
        (
            WarmingStrategy::All,
            &["hot:miss", "hot:exp", "hot:unknown", "pre:1"],
        ),
    ];
    for (s, keys) in expect {
        let plan = scenario(s).plan(T0);
        let got: Vec<&str> = reasons(&plan).iter().map(|r| r.0).collect();
        assert_eq!(got, keys, "{s}");
    }
    let all = scenario(WarmingStrategy::All).plan(T0);
    assert_eq!(
        reasons(&all),
        [
            ("hot:miss", "missing-hot"),
            ("hot:exp", "expiring"),
            ("hot:unknown", "predicted"),
            ("pre:1", "preload"),
        ]
    );
    assert!(matches!(
        all[1].reason,
        CandidateReason::Expiring {
            time_left_ms: 30_000
        }
    ));
}

#[test]
fn seed_enable_prediction_off_keeps_refresh_only() {
    let mut e = scenario(WarmingStrategy::All);
    e.set_enable_prediction(false);
    let plan = e.plan(T0);
    let got: Vec<&str> = reasons(&plan).iter().map(|r| r.0).collect();
    assert_eq!(got, ["hot:exp", "pre:1"]);
}

#[test]
fn seed_refresh_threshold_is_strict_and_needs_positive_ttl() {
    let mut e = engine(WarmingStrategy::BackgroundRefresh);
    let mk = |s: &str| s.to_string();
    let keys = [mk("a"), mk("b"), mk("c")];
    for _ in 0..50 {
        for k in &keys {
            e.record_named(k, T0);
        }
    }
    e.observe_ttl(key_hash("a"), "a", TtlState::ExpiresIn(299_999), T0);
    e.observe_ttl(key_hash("b"), "b", TtlState::ExpiresIn(300_000), T0);
    e.observe_ttl(key_hash("c"), "c", TtlState::Persistent, T0);
    let plan = e.plan(T0);
    assert_eq!(reasons(&plan), [("a", "expiring")]);
    // Time passes: b drops under the threshold.
    let later = e.plan(T0.add_secs(1));
    assert_eq!(later.len(), 2);
    assert_eq!(TtlState::from_pttl(-2), TtlState::Missing);
    assert_eq!(TtlState::from_pttl(-1), TtlState::Persistent);
    assert_eq!(TtlState::from_pttl(5), TtlState::ExpiresIn(5));
    assert_eq!(TtlState::from_pttl(-7), TtlState::Missing);
}

#[test]
fn fixes_seed_missing_hot_keys_ignored() {
    let mut e = engine(WarmingStrategy::Predictive);
    for _ in 0..10 {
        e.record_named("gone", T0);
        e.record_named("expired", T0);
    }
    e.observe_ttl(key_hash("gone"), "gone", TtlState::Missing, T0);
    e.observe_ttl(key_hash("expired"), "expired", TtlState::ExpiresIn(500), T0);
    let plan = e.plan(T0.add_secs(1));
    assert_eq!(reasons(&plan).len(), 2);
    for c in &plan {
        assert!(matches!(c.reason, CandidateReason::MissingHot { rate } if rate > 0.0));
        assert!(c.misses_per_s > 0.0 && c.score > 0.0);
    }
}

#[test]
fn fixes_seed_refresh_makes_keys_immortal() {
    let mut e = engine(WarmingStrategy::BackgroundRefresh);
    let h = e.record_named("k", T0);
    for _ in 0..10 {
        e.record(h, T0);
    }
    let mut now = T0;
    for round in 1..=3u8 {
        e.observe_ttl(h, "k", TtlState::ExpiresIn(10_000), now);
        assert_eq!(e.plan(now).len(), 1, "round {round}");
        assert_eq!(e.note_refreshed(h, now), Some(round));
        assert!(e.plan(now).is_empty(), "warmed keys wait for a new probe");
        now = now.add_secs(60);
    }
    e.observe_ttl(h, "k", TtlState::ExpiresIn(10_000), now);
    assert!(e.plan(now).is_empty(), "3 refreshes without access: stop");
    e.record(h, now);
    assert_eq!(e.plan(now).len(), 1, "a real access resets the cap");
}

#[test]
fn cold_and_stale_keys_and_preload_bookkeeping() {
    let mut e = engine(WarmingStrategy::All);
    let cold = e.record_named("cold", T0);
    e.observe_ttl(cold, "cold", TtlState::Missing, T0);
    // One access long ago decays below min_hot_rate.
    let later = T0.add_secs(6 * 3600);
    assert!(e.plan(later).is_empty());

    let h = e.record_named("hot", later);
    for _ in 0..100 {
        e.record(h, later);
    }
    e.observe_ttl(h, "hot", TtlState::Persistent, later);
    assert!(e.plan(later).is_empty());
    // A key seen present stays known for the decay half-life (not only
    // two intervals, or every sampler pass would flip it)...
    assert!(e.plan(later.add_secs(121)).is_empty());
    // ...then its presence is unknown: Predicted.
    let stale = later.add_secs(601);
    let plan = e.plan(stale);
    assert_eq!(reasons(&plan), [("hot", "predicted")]);

    assert_eq!(e.queue_preload(["p1", "p2", "p1"]), 2);
    assert_eq!(e.preload_pending(), 2);
    e.note_refreshed(key_hash("p1"), stale);
    assert_eq!(e.preload_pending(), 1);
    e.clear_preload();
    assert_eq!(e.preload_pending(), 0);

    // Warming a large preload list key by key, then re-queueing one.
    let names: Vec<String> = (0..5_000).map(|i| format!("pre:{i}")).collect();
    e.queue_preload(names.iter().map(String::as_str));
    for n in names.iter().skip(1) {
        e.note_refreshed(key_hash(n), stale);
    }
    assert!(e.preload.len() < 200);
    assert_eq!(e.queue_preload(["pre:7", "pre:0"]), 1);
    e.set_strategy(WarmingStrategy::Preload);
    let plan = e.plan(stale);
    assert_eq!(reasons(&plan), [("pre:0", "preload"), ("pre:7", "preload")]);
}

#[test]
fn rounds_probe_list_and_strategy_cycling() {
    let mut e = WarmingEngine::new(&WarmingConfig {
        hot_key_limit: 2,
        ..WarmingConfig::default()
    });
    assert!(e.refresh_due(T0));
    e.begin_round(T0);
    assert!(!e.refresh_due(T0.add_secs(59)));
    assert!(e.refresh_due(T0.add_secs(60)));
    assert!(!e.refresh_due(T0.add_secs(-5)));
    for (k, n) in [("a", 3), ("b", 2), ("c", 1)] {
        for _ in 0..n {
            e.record_named(k, T0);
        }
    }
    e.record(42, T0);
    e.record(42, T0);
    e.record(42, T0);
    e.record(42, T0);
    let probe: Vec<Option<String>> = e.probe_list(T0).into_iter().map(|k| k.name).collect();
    assert_eq!(
        probe,
        [Some("a".to_string())],
        "unnamed 42 cannot be probed"
    );
    e.observe_ttl(42, "forty-two", TtlState::Missing, T0);
    assert_eq!(e.tracker().name(42), Some("forty-two"));
    assert_eq!(e.cycle_strategy(), WarmingStrategy::None);
    assert!(e.plan(T0).is_empty());
    assert_eq!(e.cycle_strategy(), WarmingStrategy::Preload);
}

#[test]
fn observations_stay_bounded() {
    let mut e = WarmingEngine::new(&WarmingConfig {
        hot_key_limit: 10,
        ..WarmingConfig::default()
    });
    for i in 0..10_000 {
        let name = format!("k{i}");
        e.observe_ttl(key_hash(&name), &name, TtlState::Missing, T0.add_millis(i));
    }
    assert!(e.observations.len() <= 4 * 256);
    assert!(e.approx_bytes() > 0);
}

#[test]
fn plan_is_deterministic_and_ties_break_by_name() {
    let build = |order: &[&str]| {
        let mut e = engine(WarmingStrategy::Predictive);
        for k in order {
            e.record_named(k, T0);
        }
        e.plan(T0)
    };
    let a = build(&["z", "m", "a"]);
    let b = build(&["a", "z", "m"]);
    assert_eq!(a, b);
    let names: Vec<_> = a.iter().filter_map(|c| c.name.clone()).collect();
    assert_eq!(names, ["a", "m", "z"]);
}

#[derive(Debug, Clone)]
enum Op {
    Access(u8, i64),
    Observe(u8, i64, i64),
    Refreshed(u8, i64),
    Preload(u8),
    Cycle,
    Plan(i64),
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0u8..30, -2_000i64..30_000).prop_map(|(k, dt)| Op::Access(k, dt)),
        2 => (0u8..30, -3i64..400_000, -2_000i64..30_000)
            .prop_map(|(k, ttl, dt)| Op::Observe(k, ttl, dt)),
        1 => (0u8..30, -2_000i64..30_000).prop_map(|(k, dt)| Op::Refreshed(k, dt)),
        1 => (0u8..30).prop_map(Op::Preload),
        1 => Just(Op::Cycle),
        1 => (-100_000i64..400_000).prop_map(Op::Plan),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    #[test]
    fn prop_engine_never_panics_and_plans_are_sorted_and_gated(
        ops in proptest::collection::vec(op(), 0..150),
        cap in 1usize..12,
        max_refresh in 0u8..4,
    ) {
        let mut e = WarmingEngine::new(&WarmingConfig {
            tracker_capacity: cap,
            max_refreshes_without_access: max_refresh,
            ..WarmingConfig::default()
        });
        let mut now = T0;
        for op in ops {
            match op {
                Op::Access(k, dt) => { now = now.add_millis(dt); e.record_named(&format!("k{k}"), now); }
                Op::Observe(k, ttl, dt) => {
                    now = now.add_millis(dt);
                    let name = format!("k{k}");
                    e.observe_ttl(key_hash(&name), &name, TtlState::from_pttl(ttl), now);
                }
                Op::Refreshed(k, dt) => { now = now.add_millis(dt); e.note_refreshed(key_hash(&format!("k{k}")), now); }
                Op::Preload(k) => { e.queue_preload([format!("k{k}").as_str()]); }
                Op::Cycle => { e.cycle_strategy(); }
                Op::Plan(dt) => {
                    let at = now.add_millis(dt);
                    let plan = e.plan(at);
                    let s = e.config().strategy;
                    let mut hashes = FxHashSet::default();
                    for w in plan.windows(2) {
                        prop_assert!(w[0].score >= w[1].score);
                    }
                    for c in &plan {
                        prop_assert!(hashes.insert(c.key_hash), "one candidate per key");
                        prop_assert!(c.score.is_finite() && c.score >= 0.0);
                        prop_assert!(c.rate.is_finite() && c.misses_per_s.is_finite());
                        let ok = match c.reason {
                            CandidateReason::Expiring { time_left_ms } => {
                                s.includes_refresh() && time_left_ms > 0 && time_left_ms < 300_000
                            }
                            CandidateReason::Preload => s.includes_preload(),
                            _ => s.includes_predictive(),
                        };
                        prop_assert!(ok, "{:?} under {:?}", c.reason, s);
                        if !matches!(c.reason, CandidateReason::Preload) {
                            let r = e.tracker().refreshes(c.key_hash).unwrap_or(0);
                            prop_assert!(r < max_refresh.max(1));
                        }
                    }
                }
            }
        }
        prop_assert_eq!(e.tracker().check_invariants(), Ok(()));
    }
}

#[test]
fn a_key_that_expired_while_read_is_missing_found_by_the_samplers_ttl() {
    // Sighted once with 200 s left while read ~100/s (the sampler's
    // estimate), never again: its TTL ran out long after the sighting.
    let mut e = engine(WarmingStrategy::All);
    let h = e.record_via("ux:product:2", 6_000, Signal::SamplerHeat, T0);
    e.observe_ttl(h, "ux:product:2", TtlState::ExpiresIn(200_000), T0);
    let after = T0.add_secs(210);
    let plan = e.plan(after);
    assert_eq!(reasons(&plan), [("ux:product:2", "missing-hot")]);
    assert_eq!(plan[0].signal, Signal::SamplerTtl);
    assert!(plan[0].misses_per_s > 1.0, "{:?}", plan[0]);
}

#[test]
fn the_queue_does_not_swing_with_sampler_passes() {
    // 288 hot keys seen present, 6 expiring soon, 5 000 cold keys: a
    // sampler pass every 150 s sights them all (the cold ones last, so
    // they are the newest sightings when the map is pruned).
    let mut e = engine(WarmingStrategy::All);
    let hot: Vec<String> = (0..288).map(|i| format!("ux:session:{i}")).collect();
    let soon: Vec<String> = (0..6).map(|i| format!("ux:cart:{i}")).collect();
    let mut counts = Vec::new();
    for pass in 0..6i64 {
        let at = T0.add_secs(pass * 150);
        for k in &hot {
            let h = e.record_via(k, 10, Signal::SamplerHeat, at);
            e.observe_ttl(h, k, TtlState::Persistent, at);
        }
        for k in &soon {
            let h = e.record_via(k, 10, Signal::SamplerHeat, at);
            e.observe_ttl(h, k, TtlState::ExpiresIn(200_000), at);
        }
        for i in 0..5_000 {
            let k = format!("cold:{i}");
            e.observe_ttl(key_hash(&k), &k, TtlState::Persistent, at);
        }
        for s in (0..150).step_by(10) {
            counts.push(e.plan(at.add_secs(s)).len());
        }
    }
    // Only the expiring keys, all the time: seen-present keys do not turn
    // "predicted" 120 s after each sighting, and the cold keys' sightings
    // do not push the hot keys' out.
    assert!(counts.iter().all(|&n| n == 6), "{counts:?}");
}

#[test]
fn miss_events_lead_the_queue_and_a_warmed_key_leaves_it() {
    let mut e = engine(WarmingStrategy::All);
    let big = e.record_via("big", 5_000, Signal::SamplerHeat, T0);
    e.observe_ttl(big, "big", TtlState::Missing, T0);
    let m = e.record_via("missed", 10, Signal::MissEvents, T0);
    e.observe_via(m, "missed", TtlState::Missing, Signal::MissEvents, T0);
    let plan = e.plan(T0);
    assert_eq!(
        reasons(&plan),
        [("missed", "missing-hot"), ("big", "missing-hot")]
    );
    assert!(
        plan[1].score > plan[0].score,
        "led by the signal, not the score"
    );
    // Warmed: out of the queue, and it stays out past two intervals.
    e.note_refreshed(m, T0.add_secs(1));
    for s in [1, 130, 500] {
        let names: Vec<_> = e
            .plan(T0.add_secs(s))
            .into_iter()
            .filter_map(|c| c.name)
            .collect();
        assert!(!names.contains(&"missed".to_string()), "{s}: {names:?}");
    }
    // Missing again: back in, first.
    e.record_via("missed", 10, Signal::MissEvents, T0.add_secs(501));
    e.observe_via(
        m,
        "missed",
        TtlState::Missing,
        Signal::MissEvents,
        T0.add_secs(501),
    );
    assert_eq!(e.plan(T0.add_secs(501))[0].name.as_deref(), Some("missed"));
}

#[test]
fn a_predicted_key_names_the_signal_that_reported_its_accesses() {
    let mut e = engine(WarmingStrategy::All);
    e.record_via("via:stream", 10, Signal::EventStream, T0);
    e.record_named_n("via:default", 10, T0);
    let plan = e.plan(T0);
    let by: Vec<(&str, Signal)> = plan
        .iter()
        .map(|c| (c.name.as_deref().unwrap_or("?"), c.signal))
        .collect();
    assert_eq!(
        by,
        [
            ("via:default", Signal::SamplerHeat),
            ("via:stream", Signal::EventStream)
        ]
    );
    for s in Signal::ALL {
        assert_eq!(Signal::from_code(s.code()), s);
    }
    assert_eq!(Signal::from_code(200), Signal::SamplerTtl);
}
