//! Properties: routing against a reference model, spread, stability.

use super::*;

// ------------------------------------------------------------ properties

fn key_at(seed: u64, i: u64) -> u64 {
    fmix64(seed ^ fmix64(i.wrapping_add(1)))
}

/// Binomial tolerance around `p` for `n` trials: 5 sd plus a little slack.
fn tolerance(p: f64, n: usize) -> f64 {
    5.0 * (p * (1.0 - p) / n as f64).sqrt() + 0.005
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn prop_rendezvous_removal_moves_only_its_keys(
        n in 2usize..16,
        seed in any::<u64>(),
        removed in any::<prop::sample::Index>(),
        replicas in 1usize..3,
        via_drain in any::<bool>(),
    ) {
        let keys = 3000;
        let cfgs: Vec<_> = (0..n).map(|i| be(&format!("be-{seed:x}-{i}"))).collect();
        let mut p = pool_with(rf(replicas), cfgs);
        let gone = BackendId(removed.index(n) as u32);
        let before: Vec<Route> = (0..keys)
            .map(|i| p.route(key_at(seed, i), 0, RoutingStrategy::ConsistentHash))
            .collect();
        if via_drain {
            p.set_drained(gone, true);
        } else {
            p.remove_backend(gone);
        }
        let mut moved = 0usize;
        for (i, b) in before.iter().enumerate() {
            let a = p.route(key_at(seed, i as u64), 0, RoutingStrategy::ConsistentHash);
            let had = b.targets.contains(&gone);
            if had {
                moved += 1;
                // The survivors keep their slots, in order; one new one fills in.
                let kept: Vec<_> = b.targets.iter().filter(|x| **x != gone).collect();
                prop_assert_eq!(kept, a.targets.iter().take(replicas - 1).collect::<Vec<_>>());
            } else {
                prop_assert_eq!(&a.targets, &b.targets);
            }
        }
        let expect = replicas.min(n) as f64 / n as f64;
        let frac = moved as f64 / keys as f64;
        prop_assert!((frac - expect).abs() <= tolerance(expect, keys as usize),
            "n={} frac={} expect={}", n, frac, expect);
    }
}

#[derive(Debug, Clone)]
enum Action {
    Add(u8, u8, u64, u64, f64, Option<u64>, bool, bool, Option<f64>),
    Remove(u8),
    Check(u8, bool, Option<f64>, i64),
    Force(u8, bool),
    Drain(u8),
    Used(u8, u64),
    Route(u64, u64, bool),
    Failover(bool),
    Policy(usize, usize, u32, u32),
    Cycle,
    Stats(u8),
}

fn any_f64() -> impl Strategy<Value = f64> {
    prop_oneof![
        Just(f64::NAN),
        Just(f64::INFINITY),
        Just(-1.0),
        0.0..1000.0f64,
    ]
}

fn action() -> impl Strategy<Value = Action> {
    let id = 0u8..8;
    prop_oneof![
        3 => (id.clone(), any::<u8>(), prop_oneof![Just(0u64), 1u64..1000, Just(u64::MAX)],
            prop_oneof![0u64..1000, Just(u64::MAX)], any_f64(),
            prop::option::of(0u64..2048), any::<bool>(), any::<bool>(), prop::option::of(any_f64()))
            .prop_map(|(a, b, c, d, e, f, g, h, i)| Action::Add(a, b, c, d, e, f, g, h, i)),
        1 => id.clone().prop_map(Action::Remove),
        3 => (id.clone(), prop_oneof![3 => Just(true), 1 => Just(false)],
            prop::option::of(prop_oneof![3 => 0.0..1000.0f64, 1 => any_f64()]), -5i64..100)
            .prop_map(|(a, b, c, d)| Action::Check(a, b, c, d)),
        1 => (id.clone(), any::<bool>()).prop_map(|(a, b)| Action::Force(a, b)),
        1 => id.clone().prop_map(Action::Drain),
        2 => (id.clone(), prop_oneof![0u64..1000, Just(u64::MAX)]).prop_map(|(a, b)| Action::Used(a, b)),
        4 => (any::<u64>(), 0u64..4096, any::<bool>()).prop_map(|(a, b, c)| Action::Route(a, b, c)),
        1 => any::<bool>().prop_map(Action::Failover),
        1 => (0usize..4, 0usize..5, 0u32..4, 0u32..4).prop_map(|(a, b, c, d)| Action::Policy(a, b, c, d)),
        1 => Just(Action::Cycle),
        1 => id.prop_map(Action::Stats),
    ]
}

/// An independent, uncached reference of the deterministic strategies.
fn reference(p: &Pool, key: u64, size: u64, s: RoutingStrategy, op: Op) -> Vec<BackendId> {
    let cfg = p.config();
    let degraded = p
        .backends()
        .filter(|(_, b)| !b.is_drained() && b.state() == HealthState::Healthy)
        .count()
        < cfg.min_healthy_backends;
    let tier = |fallback: bool| -> Vec<BackendId> {
        p.backends()
            .filter(|(_, b)| !b.is_drained() && b.config().enabled_for(op))
            .filter(|(_, b)| match (cfg.auto_failover, fallback, b.state()) {
                (false, f, _) => !f,
                (true, false, st) => st == HealthState::Healthy,
                (true, true, HealthState::Suspect | HealthState::Recovering) => degraded,
                (true, true, _) => false,
            })
            .map(|(id, _)| id)
            .collect()
    };
    let need = if s == RoutingStrategy::Replicated {
        usize::MAX
    } else {
        cfg.replicas()
    };
    let cf = |id: BackendId| p.backend(id).unwrap().config().clone();
    let pick = |mut ids: Vec<BackendId>, need: usize| -> Vec<BackendId> {
        match s {
            RoutingStrategy::SizeBased => {
                ids.sort_by_key(|&i| std::cmp::Reverse(cf(i).priority));
                ids.retain(|&i| cf(i).accepts_size(size));
            }
            RoutingStrategy::LeastLoaded => {
                ids.sort_by(|&a, &b| {
                    cf(a)
                        .load()
                        .unwrap_or(0.0)
                        .total_cmp(&cf(b).load().unwrap_or(0.0))
                });
            }
            RoutingStrategy::CostAware => {
                ids.sort_by(|&a, &b| cf(a).cost_key().total_cmp(&cf(b).cost_key()))
            }
            RoutingStrategy::LatencyAware => {
                let l = |i: BackendId| {
                    p.backend(i)
                        .unwrap()
                        .latency()
                        .effective()
                        .unwrap_or(f64::INFINITY)
                };
                ids.sort_by(|&a, &b| l(a).total_cmp(&l(b)));
            }
            RoutingStrategy::ConsistentHash => {
                ids.sort_by_key(|&i| {
                    std::cmp::Reverse(rendezvous_score(key, p.backend(i).unwrap().name_hash()))
                });
            }
            RoutingStrategy::Replicated | RoutingStrategy::RoundRobin => {}
        }
        ids.truncate(need);
        ids
    };
    let mut out = pick(tier(false), need);
    if out.len() < need {
        out.extend(pick(tier(true), need - out.len()));
    }
    out
}

/// Invariants of one decision, and agreement with the uncached reference.
fn check_route(
    p: &mut Pool,
    key: u64,
    size: u64,
    s: RoutingStrategy,
    op: Op,
) -> Result<(), TestCaseError> {
    let mut r = Route::default();
    p.route_into(key, size, s, op, &mut r);
    let cfg = p.config().clone();
    prop_assert_eq!(r.flags.degraded, p.is_degraded());
    if s != RoutingStrategy::Replicated {
        prop_assert!(r.targets.len() <= cfg.replicas());
    }
    let mut seen = std::collections::BTreeSet::new();
    for id in &r.targets {
        prop_assert!(seen.insert(*id), "duplicate target");
        let b = p.backend(*id).unwrap();
        prop_assert!(!b.is_drained() && b.config().enabled_for(op));
        let strict = b.state() == HealthState::Healthy;
        prop_assert!(strict || r.flags.to_unhealthy);
        if cfg.auto_failover {
            prop_assert!(b.state() != HealthState::Down);
            prop_assert!(strict || r.flags.last_resort);
        }
    }
    prop_assert!(!r.flags.last_resort || (cfg.auto_failover && r.flags.degraded));
    prop_assert!(!r.flags.to_down || !cfg.auto_failover);
    let want = reference(p, key, size, s, op);
    if s == RoutingStrategy::RoundRobin {
        prop_assert_eq!(r.targets.len(), want.len());
    } else {
        prop_assert_eq!(r.targets, want, "{:?}", s);
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    #[test]
    fn prop_random_ops_never_panic_and_route_only_eligible(actions in prop::collection::vec(action(), 1..60)) {
        let mut p = pool_with(PoolConfig { event_log_capacity: 8, ..PoolConfig::default() }, vec![]);
        let name = |i: u8| format!("n{i}");
        let id_of = |p: &Pool, i: u8| p.id(&name(i)).unwrap_or(BackendId(u32::from(i) + 100));
        for a in actions {
            match a {
                Action::Add(i, prio, cap, used, cost, thr, r, w, prior) => {
                    p.add_backend(BackendConfig {
                        name: name(i), kind: "redis".into(), priority: prio, capacity: cap, used,
                        cost_per_gb: cost, latency_prior_ms: prior, size_threshold: thr,
                        read_enabled: r, write_enabled: w,
                    });
                }
                Action::Remove(i) => { p.remove_backend(id_of(&p, i)); }
                Action::Check(i, ok, lat, at) => { p.record_check(id_of(&p, i), ok, lat, t(at)); }
                Action::Force(i, h) => { p.set_backend_health(id_of(&p, i), h, t(0)); }
                Action::Drain(i) => { p.toggle_drain(id_of(&p, i)); }
                Action::Used(i, u) => { p.set_used(id_of(&p, i), u); }
                Action::Failover(on) => p.set_auto_failover(on),
                Action::Policy(min, rf, fail_n, ok_m) => {
                    let mut c = p.config().clone();
                    c.min_healthy_backends = min;
                    c.replication_factor = rf;
                    c.failure_threshold = fail_n;
                    c.recovery_threshold = ok_m;
                    p.set_config(c);
                }
                Action::Cycle => { p.cycle_strategy(); }
                Action::Stats(i) => {
                    let s = p.stats();
                    prop_assert!(s.avg_cost_per_gb.is_none_or(f64::is_finite));
                    prop_assert!(s.avg_latency_ms.is_none_or(f64::is_finite));
                    prop_assert_eq!(s.total_backends, p.len());
                    prop_assert!(p.events().len() <= 8);
                    let _ = p.routing_role(id_of(&p, i), Op::Read);
                }
                Action::Route(key, size, read) => {
                    let op = if read { Op::Read } else { Op::Write };
                    for s in RoutingStrategy::ALL {
                        check_route(&mut p, key, size, s, op)?;
                    }
                }
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// The cached orders stay coherent under the frequent monitoring updates
    /// (bytes used, measured latency) that do not change eligibility.
    #[test]
    fn prop_cached_orders_follow_load_and_latency_updates(
        steps in prop::collection::vec((0u8..3, 0usize..6, 0u64..1000, any::<u64>()), 1..80),
    ) {
        let cfgs = (0..6).map(|i| BackendConfig { capacity: 100 + i * 50, ..be(&format!("b{i}")) }).collect();
        let mut p = pool_with(rf(2), cfgs);
        for (kind, i, v, key) in steps {
            let id = BackendId(i as u32);
            match kind {
                0 => { p.set_used(id, v); }
                1 => { p.record_check(id, true, Some(v as f64 / 10.0), t(0)); }
                _ => {
                    for s in RoutingStrategy::ALL {
                        check_route(&mut p, key, v, s, s.seed_op())?;
                    }
                }
            }
        }
    }
}
