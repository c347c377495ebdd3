//! Engine-level tests: observe → rank → decide, and property tests.

use proptest::prelude::*;

use super::*;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_secs(secs)
}

fn m(latency: f64, throughput: f64, success: f64) -> Measurement {
    Measurement {
        latency_ms: latency,
        throughput_eps: throughput,
        success_rate: success,
        cpu_percent: 10.0,
        memory_mb: 100.0,
        ..Measurement::default()
    }
}

fn names(recs: &[Recommendation]) -> Vec<&str> {
    recs.iter().map(|r| r.name.as_str()).collect()
}

#[test]
fn seed_ewma_alpha_sample_count_and_last_updated() {
    let mut o = Optimizer::default();
    let id = o.register("redis-1", BackendKind::Redis);
    assert!(o.observe(id, &m(10.0, 1000.0, 1.0), t(100)));
    let p = o.performance(id);
    // The first sample initialises (the seed blended it with a 100 ms prior).
    assert_eq!(p.as_ref().and_then(|p| p.latency_ewma_ms), Some(10.0));
    assert!(o.observe(id, &m(20.0, 2000.0, 0.0), t(160)));
    let p = o.performance(id);
    let lat = p.as_ref().and_then(|p| p.latency_ewma_ms).unwrap_or(0.0);
    assert!((lat - 11.0).abs() < 1e-12);
    let thr = p.as_ref().and_then(|p| p.throughput_eps).unwrap_or(0.0);
    assert!((thr - 1100.0).abs() < 1e-9);
    let rel = p.as_ref().and_then(|p| p.reliability).unwrap_or(0.0);
    assert!((rel - 0.9).abs() < 1e-12);
    assert_eq!(p.as_ref().map(|p| p.sample_count), Some(2));
    assert_eq!(p.as_ref().and_then(|p| p.last_updated), Some(t(160)));
    assert_eq!(
        p.as_ref().map(|p| p.resource_usage.cpu_usage_percent),
        Some(10.0)
    );
    assert!(!o.observe(99, &m(1.0, 1.0, 1.0), t(0)), "unknown id");
}

#[test]
fn seed_recommendation_ranks_observed_backends() {
    let mut o = Optimizer::new(OptimizerConfig {
        enable_ml_prediction: false,
        ..OptimizerConfig::default()
    });
    let kafka = o.register("kafka", BackendKind::Kafka);
    let nats = o.register("nats", BackendKind::Nats);
    o.register("never-seen", BackendKind::Redis);
    o.observe(kafka, &m(20.0, 5000.0, 0.999), t(0));
    o.observe(nats, &m(2.0, 5000.0, 0.999), t(0));
    let recs = o.rank(&WorkloadPattern::default(), t(0));
    assert_eq!(recs.len(), 2, "backends without figures are not ranked");
    assert!(recs[0].score >= recs[1].score);
    assert_eq!(names(&recs), vec!["nats", "kafka"]);
    assert!(
        recs.iter()
            .all(|r| r.predicted_by == PredictionSource::Ewma)
    );
}

#[test]
fn fixes_seed_partial_cmp_unwrap_panics_on_nan() {
    let mut o = Optimizer::default();
    let bad = [
        m(f64::NAN, f64::NAN, f64::NAN),
        m(f64::INFINITY, f64::NEG_INFINITY, f64::INFINITY),
        m(-5.0, -1.0, -3.0),
        m(1.0, 1e308, 2.0),
    ];
    for (i, mm) in bad.iter().enumerate() {
        let id = o.register(&format!("b{i}"), BackendKind::Redis);
        o.observe(id, &m(1.0, 1.0, 1.0), t(0));
        o.observe(id, mm, t(1));
    }
    for rate in [f64::NAN, 0.0, f64::INFINITY, -1.0, 100.0] {
        for pt in [
            PatternType::RealTime,
            PatternType::BatchOriented,
            PatternType::Bursty,
        ] {
            let p = WorkloadPattern {
                event_rate: rate,
                pattern_type: pt,
                ..WorkloadPattern::default()
            };
            let recs = o.rank(&p, t(2));
            assert_eq!(recs.len(), 4);
            for w in recs.windows(2) {
                assert!(w[0].score >= w[1].score);
            }
            assert!(
                recs.iter()
                    .all(|r| r.score.is_finite() && r.confidence.is_finite())
            );
        }
    }
}

#[test]
fn an_unavailable_backend_ranks_last_with_its_reason_whatever_its_score() {
    let mut o = Optimizer::default();
    let fast = o.register("fast", BackendKind::Redis);
    let slow = o.register("slow", BackendKind::Redis);
    o.observe(fast, &m(0.2, 9000.0, 1.0), t(0));
    o.observe(slow, &m(20.0, 100.0, 0.9), t(0));
    let recs = o.rank(&WorkloadPattern::default(), t(0));
    assert_eq!(names(&recs), vec!["fast", "slow"]);
    o.set_unavailable(fast, Some("down: connection refused".into()));
    let recs = o.rank(&WorkloadPattern::default(), t(1));
    assert_eq!(names(&recs), vec!["slow", "fast"]);
    assert_eq!(
        recs[1].unavailable.as_deref(),
        Some("down: connection refused")
    );
    assert!(
        recs[0].score < recs[1].score,
        "its last figures still score higher"
    );
    o.set_unavailable(fast, None);
    let recs = o.rank(&WorkloadPattern::default(), t(2));
    assert_eq!(names(&recs), vec!["fast", "slow"]);
    assert!(recs.iter().all(|r| r.unavailable.is_none()));
}

#[test]
fn ties_break_by_name() {
    let mut o = Optimizer::default();
    for name in ["c", "a", "b"] {
        let id = o.register(name, BackendKind::Redis);
        o.observe(id, &m(1.0, 1000.0, 1.0), t(0));
    }
    let recs = o.rank(&WorkloadPattern::default(), t(0));
    assert_eq!(names(&recs), vec!["a", "b", "c"]);
}

#[test]
fn declared_kinds_rank_with_static_figures() {
    let mut o = Optimizer::default();
    let figures = StaticFigures {
        latency_ms: 5.0,
        latency_p99_ms: Some(25.0),
        throughput_eps: 100_000.0,
        reliability: 0.9999,
        cost_per_hour: Some(2.0),
    };
    let kafka = o.declare_static("kafka-prod", BackendKind::Kafka, figures, t(0));
    let redis = o.register("redis-1", BackendKind::Redis);
    o.observe(redis, &m(1.0, 50_000.0, 1.0), t(0));
    let p = WorkloadPattern {
        consistency_requirements: ConsistencyLevel::ExactlyOnce,
        pattern_type: PatternType::RealTime,
        ..WorkloadPattern::default()
    };
    let recs = o.rank(&p, t(0));
    let Some(k) = recs.iter().find(|r| r.backend == kafka) else {
        unreachable!("declared backend is ranked")
    };
    assert_eq!(k.predicted_by, PredictionSource::Declared);
    assert_eq!(k.predicted_p99_ms, 25.0);
    assert!(
        k.strengths
            .iter()
            .any(|s| s.to_string() == "Exactly-once semantics")
    );
    assert!(
        k.weaknesses
            .iter()
            .any(|s| s.to_string() == "p99 25.0 ms > 10 ms realtime target")
    );
    assert!(
        k.weaknesses
            .iter()
            .any(|s| s.to_string() == "figures declared, not measured")
    );
    // The declared hourly cost replaces Kafka's 0.5 baseline.
    assert!(k.cost.total_cost >= 2.0);
    // A measurement replaces the declared figures (cost is kept).
    o.observe(kafka, &m(50.0, 10.0, 1.0), t(1));
    let perf = o.performance(kafka);
    assert_eq!(
        perf.as_ref().map(|p| p.source),
        Some(FigureSource::Measured)
    );
    assert_eq!(perf.as_ref().and_then(|p| p.latency_ewma_ms), Some(50.0));
    assert_eq!(perf.as_ref().and_then(|p| p.cost_per_hour), Some(2.0));
}

#[test]
fn fixes_seed_p99_multiplied_in_rankings() {
    // EWMA path (no fit): the measured p99 is reported as is.
    let mut o = Optimizer::new(OptimizerConfig {
        enable_ml_prediction: false,
        ..OptimizerConfig::default()
    });
    let id = o.register("redis-1", BackendKind::Redis);
    for i in 0..100 {
        let lat = if i % 50 == 0 { 12.0 } else { 1.0 };
        o.observe(id, &m(lat, 1000.0, 1.0), t(i));
    }
    let rt = WorkloadPattern {
        pattern_type: PatternType::RealTime,
        ..WorkloadPattern::default()
    };
    let recs = o.rank(&rt, t(100));
    assert_eq!(recs.first().map(|r| r.predicted_p99_ms), Some(12.0));
    let perf = o.performance(id).and_then(|p| p.percentiles);
    assert_eq!(perf.map(|p| (p.p50, p.p99)), Some((1.0, 12.0)));
    assert!(
        recs[0]
            .weaknesses
            .iter()
            .any(|w| w.to_string() == "p99 12.0 ms > 10 ms realtime target")
    );
}

/// Feeds `n` observations with latency = 1 + 0.001 · throughput.
fn linear_backend(o: &mut Optimizer, name: &str, n: i64) -> u32 {
    let id = o.register(name, BackendKind::PostgresReplica);
    for i in 0..n {
        let thr = 1000.0 + (i % 40) as f64 * 100.0;
        let mm = Measurement {
            event_size_bytes: 512.0 + (i % 7) as f64,
            ..m(1.0 + 0.001 * thr, thr, 1.0)
        };
        o.observe(id, &mm, t(i));
    }
    id
}

#[test]
fn model_predicts_after_min_samples_and_says_so() {
    let mut o = Optimizer::default();
    linear_backend(&mut o, "few", 50);
    linear_backend(&mut o, "many", 150);
    let p = WorkloadPattern {
        event_rate: 4000.0,
        event_size_bytes: 512,
        ..WorkloadPattern::default()
    };
    let recs = o.rank(&p, t(200));
    let by = |name: &str| recs.iter().find(|r| r.name == name).cloned();
    let few = by("few");
    assert_eq!(
        few.as_ref().map(|r| r.predicted_by),
        Some(PredictionSource::Ewma)
    );
    assert_eq!(few.as_ref().and_then(|r| r.model_r2), None);
    let many = by("many");
    assert_eq!(
        many.as_ref().map(|r| r.predicted_by),
        Some(PredictionSource::Model)
    );
    let lat = many.as_ref().map_or(0.0, |r| r.predicted_latency_ms);
    assert!((lat - 5.0).abs() < 1e-3, "{lat}");
    assert!(many.as_ref().and_then(|r| r.model_r2).unwrap_or(0.0) > 0.999);
    // Tail = the model's latency plus the measured p99 − p50 spread.
    let spread = o
        .performance(1)
        .and_then(|p| p.percentiles)
        .map_or(f64::NAN, |p| p.p99 - p.p50);
    let p99 = many.as_ref().map_or(0.0, |r| r.predicted_p99_ms);
    assert!(
        spread > 0.0 && (p99 - (lat + spread)).abs() < 1e-9,
        "{p99} {spread}"
    );

    let mut off = Optimizer::new(OptimizerConfig {
        enable_ml_prediction: false,
        ..OptimizerConfig::default()
    });
    linear_backend(&mut off, "many", 150);
    let recs = off.rank(&p, t(200));
    assert_eq!(
        recs.first().map(|r| r.predicted_by),
        Some(PredictionSource::Ewma)
    );
    assert_eq!(
        off.model(0).map(|m| m.len()),
        Some(0),
        "nothing kept when disabled"
    );
}

#[test]
fn refits_are_cached_until_new_data() {
    let mut o = Optimizer::new(OptimizerConfig {
        refit_every: 1_000_000,
        ..OptimizerConfig::default()
    });
    let id = linear_backend(&mut o, "r", 120);
    // The first fit happened once 100 points were there; 20 came after.
    assert_eq!(o.model(id).map(|m| m.is_dirty()), Some(true));
    assert_eq!(
        o.model(id).and_then(|m| m.fit()).map(|f| f.points),
        Some(100)
    );
    o.refresh();
    assert_eq!(o.model(id).map(|m| m.is_dirty()), Some(false));
    assert_eq!(
        o.model(id).and_then(|m| m.fit()).map(|f| f.points),
        Some(120)
    );
}

#[test]
fn decisions_and_stats_round_trip() {
    let mut o = Optimizer::default();
    let a = o.register("alpha", BackendKind::Redis);
    o.observe(a, &m(1.0, 1000.0, 1.0), t(0));
    let p = WorkloadPattern::default();
    let recs = o.rank(&p, t(0));
    let Some(best) = recs.first() else {
        unreachable!("one backend is ranked")
    };
    for i in 0..3 {
        o.record_decision(Decision::from_recommendation(best, &p, t(i), "best score"));
    }
    let s = o.stats();
    assert_eq!(s.total_decisions, 3);
    assert_eq!(s.active_backends, 1);
    assert_eq!(
        s.backend_usage.first().map(|u| u.name.as_str()),
        Some("alpha")
    );
    assert_eq!(s.last_optimization, Some(t(2)));
    assert_eq!(o.history().len(), 3);
}

#[test]
fn workload_feeds_ranking_end_to_end() {
    let mut o = Optimizer::default();
    for s in 0..60 {
        o.analyzer_mut().record_count(t(s), 500);
    }
    let p = o.workload(t(60));
    assert_eq!(p.pattern_type, PatternType::Steady);
    assert!((p.event_rate - 500.0).abs() < 10.0);
    let id = o.register("pg-primary", BackendKind::PostgresPrimary);
    o.observe(id, &m(4.0, 2000.0, 1.0), t(60));
    let recs = o.rank(&p, t(60));
    assert!(
        recs[0]
            .strengths
            .iter()
            .any(|s| s.to_string() == "Source of truth")
    );
}

#[test]
fn hostile_config_is_sanitized() {
    let mut o = Optimizer::new(OptimizerConfig {
        cost_weight_latency: f64::NAN,
        cost_weight_throughput: -1.0,
        cost_weight_reliability: 0.0,
        cost_weight_resource_usage: 0.0,
        ewma_alpha: f64::NAN,
        latency_window: 0,
        model_history: 0,
        refit_every: 0,
        ridge: f64::NAN,
        max_decisions: 0,
        min_samples_for_prediction: 0,
        ..OptimizerConfig::default()
    });
    assert_eq!(o.weights(), Weights::default());
    let id = o.register("x", BackendKind::Memory);
    for i in 0..10 {
        o.observe(id, &m(i as f64, i as f64, 1.0), t(i));
    }
    let recs = o.rank(&WorkloadPattern::default(), t(10));
    assert!(recs.iter().all(|r| r.score.is_finite()));
}

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(f64::NEG_INFINITY),
        Just(0.0),
        -1e6..1e6f64,
        any::<f64>(),
    ]
}

fn any_measurement() -> impl Strategy<Value = Measurement> {
    (
        any_f64(),
        any_f64(),
        any_f64(),
        any_f64(),
        any_f64(),
        any_f64(),
    )
        .prop_map(
            |(
                latency_ms,
                throughput_eps,
                success_rate,
                cpu_percent,
                memory_mb,
                event_size_bytes,
            )| {
                Measurement {
                    latency_ms,
                    throughput_eps,
                    success_rate,
                    cpu_percent,
                    memory_mb,
                    event_size_bytes,
                    ..Measurement::default()
                }
            },
        )
}

fn any_pattern_type() -> impl Strategy<Value = PatternType> {
    prop_oneof![
        Just(PatternType::Steady),
        Just(PatternType::Bursty),
        Just(PatternType::Seasonal),
        Just(PatternType::Random),
        Just(PatternType::RealTime),
        Just(PatternType::BatchOriented),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn rankings_are_nan_free_and_sorted(
        obs in prop::collection::vec((0u32..6, any_measurement()), 1..60),
        rate in any_f64(),
        size in any::<u64>(),
        pt in any_pattern_type(),
        now in any::<i64>(),
    ) {
        let mut o = Optimizer::new(OptimizerConfig {
            min_samples_for_prediction: 3,
            refit_every: 1,
            ..OptimizerConfig::default()
        });
        for i in 0..6 {
            o.register(&format!("b{i}"), BackendKind::ALL[i % BackendKind::ALL.len()]);
        }
        for (i, (id, mm)) in obs.iter().enumerate() {
            o.observe(*id, mm, Timestamp::from_millis(i as i64 * 1000));
        }
        let p = WorkloadPattern {
            event_rate: rate,
            event_size_bytes: size,
            pattern_type: pt,
            ..WorkloadPattern::default()
        };
        let recs = o.rank(&p, Timestamp::from_millis(now));
        for r in &recs {
            prop_assert!(r.score.is_finite() && (0.0..=1.0).contains(&r.score));
            prop_assert!(r.confidence.is_finite() && (0.0..=1.0).contains(&r.confidence));
            prop_assert!(r.predicted_latency_ms.is_finite() && r.predicted_latency_ms >= 0.0);
            prop_assert!(r.predicted_p99_ms.is_finite());
            prop_assert!(r.predicted_throughput_eps.is_finite());
            prop_assert!(r.predicted_cost.is_finite() && r.predicted_cost >= 0.0);
        }
        for w in recs.windows(2) {
            prop_assert!(
                w[0].score > w[1].score || (w[0].score == w[1].score && w[0].name <= w[1].name)
            );
        }
        let s = o.stats();
        prop_assert!(s.average_confidence.is_none());
    }

    #[test]
    fn pattern_rate_is_finite_and_memory_bounded(
        events in prop::collection::vec((-10_000_000i64..10_000_000, 0u64..100_000), 0..300),
        extreme in prop::option::of(any::<i64>()),
        now in -20_000_000i64..20_000_000,
    ) {
        let mut a = PatternAnalyzer::new(PatternConfig {
            max_intervals: 64,
            analysis_window_secs: 600,
            min_season_points: 6,
            ..PatternConfig::default()
        });
        for (ts, n) in &events {
            a.record_count(Timestamp::from_millis(*ts), *n);
        }
        if let Some(x) = extreme {
            a.record(Timestamp::from_millis(x));
        }
        let p = a.analyze(Timestamp::from_millis(now));
        prop_assert!(p.event_rate.is_finite() && p.event_rate >= 0.0);
        prop_assert!(p.inter_arrival_cv.is_none_or(f64::is_finite));
        if let Some(s) = p.seasonality {
            prop_assert!(s.period_secs.is_finite() && s.autocorrelation.is_finite());
        }
        prop_assert!(a.gap_count() <= 64);
        prop_assert_eq!(a.bucket_count(), 600);
    }

    #[test]
    fn decision_history_stays_bounded_and_finite(
        confs in prop::collection::vec((any_f64(), any_f64(), any_f64()), 0..80),
    ) {
        let mut h = DecisionHistory::new(25);
        for (i, (c, l, thr)) in confs.iter().enumerate() {
            h.push(Decision {
                at: Timestamp::from_secs(i as i64),
                backend: (i % 3) as u32,
                workload_pattern: WorkloadPattern::default(),
                predicted_latency_ms: *l,
                predicted_throughput_eps: *thr,
                cost_model: CostModel::default(),
                confidence: *c,
                reason: String::new(),
            });
        }
        prop_assert!(h.len() <= 25);
        let s = h.stats(3, |_| "n");
        prop_assert!(s.average_confidence.is_none_or(|c| (0.0..=1.0).contains(&c)));
        let imp = s.performance_improvements;
        prop_assert!(imp.latency_percent.is_none_or(f64::is_finite));
        prop_assert!(imp.throughput_percent.is_none_or(f64::is_finite));
    }
}
