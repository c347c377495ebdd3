//! Tests of the pool model: seed behaviours kept, seed defects fixed, health
//! transitions, degraded routing, drain, and property tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::hash::fmix64;
use super::*;
use proptest::prelude::*;

fn t(secs: i64) -> Timestamp {
    Timestamp::from_secs(secs)
}

fn be(name: &str) -> BackendConfig {
    BackendConfig::new(name)
}

fn pool_with(cfg: PoolConfig, backends: Vec<BackendConfig>) -> Pool {
    let mut p = Pool::new(cfg);
    for b in backends {
        p.add_backend(b);
    }
    p
}

fn names(p: &Pool, r: &Route) -> Vec<String> {
    r.targets.iter().map(|id| p.name(*id).to_string()).collect()
}

fn route_names(p: &mut Pool, key: u64, size: u64, s: RoutingStrategy) -> Vec<String> {
    let r = p.route(key, size, s);
    names(p, &r)
}

fn fail(p: &mut Pool, name: &str, times: usize, at: i64) {
    let id = p.id(name).unwrap();
    for i in 0..times {
        p.record_check(id, false, None, t(at + i as i64));
    }
}

fn rf(n: usize) -> PoolConfig {
    PoolConfig {
        replication_factor: n,
        ..PoolConfig::default()
    }
}

// ---------------------------------------------------------------- seed kept

#[test]
fn seed_defaults_kept() {
    let c = PoolConfig::default();
    assert_eq!(c.strategy, RoutingStrategy::RoundRobin);
    assert_eq!(c.replication_factor, 1);
    assert_eq!(c.health_check_interval_ms, 30_000);
    assert!(c.auto_failover);
    assert_eq!(c.min_healthy_backends, 1);
    assert_eq!((c.failure_threshold, c.recovery_threshold), (3, 2));
    let b = BackendConfig::default();
    assert_eq!((b.priority, b.capacity, b.used), (100, 0, 0));
    assert!(b.read_enabled && b.write_enabled);
    assert_eq!(b.size_threshold, None);
}

#[test]
fn seed_stats_totals() {
    let mut p = Pool::default();
    p.add_backend(BackendConfig {
        capacity: 1000,
        cost_per_gb: 0.023,
        ..be("backend1")
    });
    let s = p.stats();
    assert_eq!(s.total_backends, 1);
    assert_eq!(s.healthy_backends, 1);
    assert_eq!(s.total_capacity, 1000);
    assert_eq!(s.avg_cost_per_gb, Some(0.023));
    assert!(!s.degraded);
}

#[test]
fn seed_backend_stats_record_reads_writes_errors() {
    let mut p = pool_with(PoolConfig::default(), vec![be("a"), be("b")]);
    let (a, b) = (p.id("a").unwrap(), p.id("b").unwrap());
    assert!(p.record_read(a, 100));
    assert!(p.record_read(a, 50));
    assert!(p.record_write(b, 7));
    assert!(p.record_error(b));
    assert!(!p.record_error(BackendId(99)));
    let sa = *p.backend(a).unwrap().stats();
    assert_eq!((sa.reads, sa.bytes_read, sa.writes), (2, 150, 0));
    let sb = *p.backend(b).unwrap().stats();
    assert_eq!((sb.writes, sb.bytes_written, sb.errors), (1, 7, 1));
    let s = p.stats();
    assert_eq!((s.total_reads, s.total_writes, s.total_errors), (2, 1, 1));
    p.record_write(b, u64::MAX);
    assert_eq!(p.backend(b).unwrap().stats().bytes_written, u64::MAX);
}

#[test]
fn seed_replicated_selects_all_healthy() {
    let mut p = pool_with(PoolConfig::default(), vec![be("backend2"), be("backend1")]);
    assert_eq!(
        route_names(&mut p, 1, 9, RoutingStrategy::Replicated),
        ["backend1", "backend2"]
    );
    fail(&mut p, "backend1", 3, 0);
    assert_eq!(
        route_names(&mut p, 1, 9, RoutingStrategy::Replicated),
        ["backend2"]
    );
}

#[test]
fn seed_round_robin_rotates_in_name_order() {
    let mut p = pool_with(PoolConfig::default(), vec![be("c"), be("a"), be("b")]);
    let got: Vec<_> = (0..4)
        .map(|_| route_names(&mut p, 0, 0, RoutingStrategy::RoundRobin))
        .collect();
    assert_eq!(got, [["a"], ["b"], ["c"], ["a"]]);
    let mut p = pool_with(rf(2), vec![be("c"), be("a"), be("b")]);
    assert_eq!(
        route_names(&mut p, 0, 0, RoutingStrategy::RoundRobin),
        ["a", "b"]
    );
    assert_eq!(
        route_names(&mut p, 0, 0, RoutingStrategy::RoundRobin),
        ["c", "a"]
    );
}

#[test]
fn seed_size_based_thresholds_and_priority_order() {
    let mut p = pool_with(
        rf(3),
        vec![
            BackendConfig {
                priority: 80,
                size_threshold: Some(1024),
                ..be("fast")
            },
            BackendConfig {
                priority: 50,
                size_threshold: Some(1024),
                ..be("cold")
            },
            BackendConfig {
                priority: 10,
                ..be("any")
            },
        ],
    );
    // Small blocks: priority > 50 among thresholded backends.
    assert_eq!(
        route_names(&mut p, 0, 100, RoutingStrategy::SizeBased),
        ["fast", "any"]
    );
    // Large blocks (>= threshold): priority >= 50.
    assert_eq!(
        route_names(&mut p, 0, 1024, RoutingStrategy::SizeBased),
        ["fast", "cold", "any"]
    );
}

#[test]
fn seed_least_loaded_orders_by_used_over_capacity() {
    let mut p = pool_with(
        rf(4),
        vec![
            BackendConfig {
                capacity: 100,
                used: 90,
                ..be("a")
            },
            be("b"),
            BackendConfig {
                capacity: 100,
                used: 10,
                ..be("c")
            },
            be("a0"),
        ],
    );
    // Unlimited = load 0, ties by name.
    assert_eq!(
        route_names(&mut p, 0, 0, RoutingStrategy::LeastLoaded),
        ["a0", "b", "c", "a"]
    );
    let a = p.id("a").unwrap();
    p.set_used(a, 0);
    assert_eq!(
        route_names(&mut p, 0, 0, RoutingStrategy::LeastLoaded),
        ["a", "a0", "b", "c"]
    );
}

#[test]
fn seed_cost_aware_orders_cheapest_first() {
    let mut p = pool_with(
        rf(3),
        vec![
            BackendConfig {
                cost_per_gb: 0.1,
                ..be("s3")
            },
            BackendConfig {
                cost_per_gb: 0.004,
                ..be("glacier")
            },
            BackendConfig {
                cost_per_gb: 0.023,
                ..be("disk")
            },
        ],
    );
    assert_eq!(
        route_names(&mut p, 0, 0, RoutingStrategy::CostAware),
        ["glacier", "disk", "s3"]
    );
}

#[test]
fn seed_latency_aware_routes_reads() {
    let mut p = pool_with(
        rf(2),
        vec![
            BackendConfig {
                write_enabled: false,
                ..be("replica")
            },
            BackendConfig {
                read_enabled: false,
                ..be("writer")
            },
            be("both"),
        ],
    );
    let r = p.route(0, 0, RoutingStrategy::LatencyAware);
    assert_eq!(r.op, Op::Read);
    assert_eq!(names(&p, &r), ["both", "replica"]);
    let w = p.route(0, 0, RoutingStrategy::CostAware);
    assert_eq!(w.op, Op::Write);
    assert_eq!(names(&p, &w), ["both", "writer"]);
}

#[test]
fn seed_manual_health_override_and_last_check() {
    let mut p = pool_with(PoolConfig::default(), vec![be("a"), be("b")]);
    let a = p.id("a").unwrap();
    let ev = p.set_backend_health(a, false, t(5)).unwrap();
    assert_eq!(
        (ev.from, ev.to, ev.cause),
        (
            HealthState::Healthy,
            HealthState::Down,
            TransitionCause::Manual
        )
    );
    assert_eq!(p.backend(a).unwrap().health().last_check(), Some(t(5)));
    assert_eq!(p.stats().healthy_backends, 1);
    assert_eq!(
        route_names(&mut p, 0, 0, RoutingStrategy::Replicated),
        ["b"]
    );
    assert!(p.set_backend_health(a, false, t(6)).is_none());
    p.set_backend_health(a, true, t(7));
    assert_eq!(p.stats().healthy_backends, 2);
}

#[test]
fn seed_update_backend_keeps_stats_and_health() {
    let mut p = pool_with(PoolConfig::default(), vec![be("a")]);
    let a = p.id("a").unwrap();
    p.record_read(a, 10);
    p.record_check(a, false, None, t(1));
    let id = p
        .update_backend(BackendConfig {
            priority: 7,
            ..be("a")
        })
        .unwrap();
    assert_eq!(id, a);
    let b = p.backend(a).unwrap();
    assert_eq!(b.config().priority, 7);
    assert_eq!(b.stats().reads, 1);
    assert_eq!(b.state(), HealthState::Suspect);
    assert_eq!(
        p.update_backend(be("zzz")),
        Err(PoolError::UnknownBackend("zzz".into()))
    );
}

#[test]
fn seed_add_backend_replaces_with_fresh_state_and_remove_returns_config() {
    let mut p = pool_with(PoolConfig::default(), vec![be("a"), be("b")]);
    let a = p.id("a").unwrap();
    p.record_read(a, 1);
    assert_eq!(p.add_backend(be("a")), a);
    assert_eq!(p.backend(a).unwrap().stats().reads, 0);
    assert_eq!(p.len(), 2);
    assert_eq!(p.remove_backend(a).map(|c| c.name), Some("a".into()));
    assert_eq!(p.remove_backend(a), None);
    assert_eq!(p.id("a"), None);
    assert_eq!(p.name(a), "a");
    assert_eq!(
        route_names(&mut p, 0, 0, RoutingStrategy::Replicated),
        ["b"]
    );
    assert_eq!(p.add_backend(be("a")), a, "re-added name keeps its id");
    let order: Vec<_> = p.backends().map(|(_, b)| b.config().name.clone()).collect();
    assert_eq!(order, ["a", "b"]);
}

#[test]
fn seed_writes_skip_write_disabled_backends() {
    let mut p = pool_with(
        PoolConfig::default(),
        vec![
            BackendConfig {
                write_enabled: false,
                ..be("ro")
            },
            be("rw"),
        ],
    );
    for s in RoutingStrategy::ALL {
        let r = p.route(42, 10, s);
        if r.op == Op::Write {
            assert_eq!(names(&p, &r), ["rw"], "{s:?}");
        }
    }
}

// ------------------------------------------------------------- seed defects

/// The seed's placement: `hash % n` over the healthy list.
fn seed_mod_n(key: u64, n: usize) -> usize {
    (key % n as u64) as usize
}

#[test]
fn fixes_seed_hash_mod_n_moves_most_keys() {
    let n = 10;
    let keys: Vec<u64> = (0..4000u64).map(fmix64).collect();
    let seed_moved = keys
        .iter()
        .filter(|&&k| {
            let before = seed_mod_n(k, n);
            // Removing backend 0 shifts every later index down by one.
            let after = seed_mod_n(k, n - 1) + 1;
            before != after
        })
        .count();
    assert!(
        seed_moved * 2 > keys.len(),
        "seed moves most keys: {seed_moved}"
    );

    let cfgs: Vec<_> = (0..n).map(|i| be(&format!("node-{i}"))).collect();
    let mut p = pool_with(PoolConfig::default(), cfgs);
    let before: Vec<_> = keys
        .iter()
        .map(|&k| p.route(k, 0, RoutingStrategy::ConsistentHash).targets[0])
        .collect();
    p.remove_backend(p.id("node-0").unwrap());
    let moved = keys
        .iter()
        .zip(&before)
        .filter(|&(&k, &b)| p.route(k, 0, RoutingStrategy::ConsistentHash).targets[0] != b)
        .count();
    let frac = moved as f64 / keys.len() as f64;
    assert!((0.07..0.13).contains(&frac), "rendezvous moved {frac}");
}

#[test]
fn fixes_seed_auto_failover_never_acted() {
    let mut p = pool_with(PoolConfig::default(), vec![be("a"), be("b")]);
    fail(&mut p, "a", 3, 0);
    assert_eq!(
        p.backend(p.id("a").unwrap()).unwrap().state(),
        HealthState::Down
    );
    for s in RoutingStrategy::ALL {
        for k in 0..20 {
            let r = p.route(k, 0, s);
            assert_eq!(names(&p, &r), ["b"], "{s:?}");
            assert!(!r.flags.to_down && !r.flags.to_unhealthy);
        }
    }
    p.set_auto_failover(false);
    let r = p.route(0, 0, RoutingStrategy::Replicated);
    assert_eq!(names(&p, &r), ["a", "b"]);
    assert!(r.flags.to_down && r.flags.to_unhealthy && !r.flags.last_resort);
    let a = p.id("a").unwrap();
    assert_eq!(p.routing_role(a, Op::Write), Some(RoutingRole::Routable));
    p.set_auto_failover(true);
    assert_eq!(p.routing_role(a, Op::Write), Some(RoutingRole::FailedOver));
}

#[test]
fn fixes_seed_min_healthy_backends_never_acted() {
    let cfg = PoolConfig {
        min_healthy_backends: 2,
        replication_factor: 2,
        ..PoolConfig::default()
    };
    let mut p = pool_with(cfg, vec![be("a"), be("b"), be("c")]);
    assert!(!p.is_degraded());
    fail(&mut p, "b", 1, 0); // Suspect
    fail(&mut p, "c", 3, 0); // Down
    assert!(p.is_degraded() && p.stats().degraded);
    let r = p.route(0, 0, RoutingStrategy::RoundRobin);
    assert_eq!(names(&p, &r), ["a", "b"]);
    assert!(r.flags.degraded && r.flags.last_resort && r.flags.to_unhealthy);
    assert!(!r.flags.to_down);
    let b = p.id("b").unwrap();
    assert_eq!(p.routing_role(b, Op::Write), Some(RoutingRole::LastResort));
    assert_eq!(
        p.routing_role(p.id("c").unwrap(), Op::Write),
        Some(RoutingRole::FailedOver)
    );
    // Replicated takes both tiers, never the Down one.
    assert_eq!(
        route_names(&mut p, 0, 0, RoutingStrategy::Replicated),
        ["a", "b"]
    );
    // The last resort only fills slots: with one replica the healthy one suffices.
    let mut cfg1 = p.config().clone();
    cfg1.replication_factor = 1;
    p.set_config(cfg1);
    let r = p.route(0, 0, RoutingStrategy::ConsistentHash);
    assert_eq!(names(&p, &r), ["a"]);
    assert!(r.flags.degraded && !r.flags.last_resort);
}

#[test]
fn fixes_seed_latency_configured_not_measured() {
    let mut p = pool_with(
        PoolConfig::default(),
        vec![
            BackendConfig {
                latency_prior_ms: Some(1.0),
                ..be("claims-fast")
            },
            BackendConfig {
                latency_prior_ms: Some(50.0),
                ..be("claims-slow")
            },
        ],
    );
    assert_eq!(
        route_names(&mut p, 0, 0, RoutingStrategy::LatencyAware),
        ["claims-fast"]
    );
    assert_eq!(
        p.stats().avg_latency_ms,
        None,
        "priors are not measurements"
    );
    let (f, s) = (p.id("claims-fast").unwrap(), p.id("claims-slow").unwrap());
    p.record_check(f, true, Some(100.0), t(1));
    p.record_check(s, true, Some(5.0), t(1));
    assert_eq!(
        route_names(&mut p, 0, 0, RoutingStrategy::LatencyAware),
        ["claims-slow"]
    );
    assert_eq!(p.stats().avg_latency_ms, Some(52.5));
    let lat = p.backend(f).unwrap().latency();
    assert_eq!(
        (lat.measured_ms(), lat.is_prior(), lat.samples()),
        (Some(100.0), false, 1)
    );
}

#[test]
fn fixes_seed_stats_averages_on_empty_pool() {
    let s = Pool::default().stats();
    assert_eq!(s.total_backends, 0);
    assert_eq!((s.avg_cost_per_gb, s.avg_latency_ms), (None, None));
    // Default min_healthy_backends = 1: an empty pool is degraded.
    assert!(s.degraded);
    let mut p = Pool::default();
    p.add_backend(BackendConfig {
        cost_per_gb: f64::NAN,
        ..be("x")
    });
    assert_eq!(p.stats().avg_cost_per_gb, None);
}

#[test]
fn fixes_seed_cost_nan_cast_to_zero_ranks_first() {
    // The seed's `(cost * 1000.0) as u64` turns NaN into 0: the cheapest.
    let mut p = pool_with(
        rf(2),
        vec![
            BackendConfig {
                cost_per_gb: f64::NAN,
                ..be("a-nan")
            },
            BackendConfig {
                cost_per_gb: 0.5,
                ..be("b")
            },
        ],
    );
    assert_eq!(
        route_names(&mut p, 0, 0, RoutingStrategy::CostAware),
        ["b", "a-nan"]
    );
}

#[test]
fn fixes_seed_least_loaded_truncated_percent_ties() {
    // The seed truncated load to whole percent: 10.9 % tied with 10.1 %.
    let mut p = pool_with(
        PoolConfig::default(),
        vec![
            BackendConfig {
                capacity: 1000,
                used: 109,
                ..be("a")
            },
            BackendConfig {
                capacity: 1000,
                used: 101,
                ..be("b")
            },
        ],
    );
    assert_eq!(
        route_names(&mut p, 0, 0, RoutingStrategy::LeastLoaded),
        ["b"]
    );
}

#[test]
fn fixes_seed_unordered_ties_depend_on_map_order() {
    let mk = |order: &[&str]| {
        let mut p = pool_with(rf(3), order.iter().map(|n| be(n)).collect());
        RoutingStrategy::ALL.map(|s| route_names(&mut p, 7, 0, s))
    };
    assert_eq!(mk(&["x", "y", "z"]), mk(&["z", "x", "y"]));
    let mut p = pool_with(rf(3), vec![be("z"), be("x"), be("y")]);
    assert_eq!(
        route_names(&mut p, 0, 0, RoutingStrategy::SizeBased),
        ["x", "y", "z"]
    );
}

// ---------------------------------------------------------- health machine

#[test]
fn health_healthy_suspect_down_after_threshold() {
    let mut p = pool_with(PoolConfig::default(), vec![be("a")]);
    let a = p.id("a").unwrap();
    let e1 = p.record_check(a, false, None, t(1)).unwrap();
    assert_eq!(
        (e1.from, e1.to),
        (HealthState::Healthy, HealthState::Suspect)
    );
    assert!(p.record_check(a, false, None, t(2)).is_none());
    let h = p.backend(a).unwrap().health();
    assert_eq!(
        (h.state(), h.consecutive_failures()),
        (HealthState::Suspect, 2)
    );
    let e3 = p.record_check(a, false, None, t(3)).unwrap();
    assert_eq!(
        (e3.from, e3.to, e3.at),
        (HealthState::Suspect, HealthState::Down, t(3))
    );
    assert!(p.record_check(a, false, None, t(4)).is_none());
    let h = p.backend(a).unwrap().health();
    assert_eq!(
        (h.checks(), h.failed_checks(), h.last_transition()),
        (4, 4, Some(t(3)))
    );
}

#[test]
fn health_suspect_recovers_on_one_good_check() {
    let mut p = pool_with(PoolConfig::default(), vec![be("a")]);
    let a = p.id("a").unwrap();
    fail(&mut p, "a", 2, 0);
    let e = p.record_check(a, true, Some(1.0), t(9)).unwrap();
    assert_eq!((e.from, e.to), (HealthState::Suspect, HealthState::Healthy));
    let h = p.backend(a).unwrap().health();
    assert_eq!(
        (h.consecutive_failures(), h.consecutive_successes()),
        (0, 1)
    );
    // The streak restarts: two more failures are not enough.
    fail(&mut p, "a", 2, 10);
    assert_eq!(p.backend(a).unwrap().state(), HealthState::Suspect);
}

#[test]
fn health_down_recovering_then_healthy_after_m_good_checks() {
    let mut p = pool_with(PoolConfig::default(), vec![be("a")]);
    let a = p.id("a").unwrap();
    fail(&mut p, "a", 3, 0);
    let e = p.record_check(a, true, None, t(10)).unwrap();
    assert_eq!((e.from, e.to), (HealthState::Down, HealthState::Recovering));
    // Recovering is not healthy: alone in the pool it only serves as a last resort.
    assert!(p.route(0, 0, RoutingStrategy::RoundRobin).flags.last_resort);
    let e = p.record_check(a, true, None, t(11)).unwrap();
    assert_eq!(
        (e.from, e.to),
        (HealthState::Recovering, HealthState::Healthy)
    );
    assert_eq!(
        route_names(&mut p, 0, 0, RoutingStrategy::RoundRobin),
        ["a"]
    );
}

#[test]
fn health_recovering_failure_goes_back_down() {
    let mut p = pool_with(PoolConfig::default(), vec![be("a")]);
    let a = p.id("a").unwrap();
    fail(&mut p, "a", 3, 0);
    p.record_check(a, true, None, t(10));
    let e = p.record_check(a, false, None, t(11)).unwrap();
    assert_eq!((e.from, e.to), (HealthState::Recovering, HealthState::Down));
    // Recovery needs M good checks in a row again.
    p.record_check(a, true, None, t(12));
    assert_eq!(p.backend(a).unwrap().state(), HealthState::Recovering);
}

#[test]
fn health_zero_thresholds_act_as_one() {
    let cfg = PoolConfig {
        failure_threshold: 0,
        recovery_threshold: 0,
        ..PoolConfig::default()
    };
    let mut p = pool_with(cfg, vec![be("a")]);
    let a = p.id("a").unwrap();
    let e = p.record_check(a, false, None, t(1)).unwrap();
    assert_eq!(e.to, HealthState::Down);
    let e = p.record_check(a, true, None, t(2)).unwrap();
    assert_eq!(e.to, HealthState::Healthy);
}

#[test]
fn health_event_log_is_bounded_oldest_first() {
    let cfg = PoolConfig {
        event_log_capacity: 3,
        failure_threshold: 1,
        recovery_threshold: 1,
        ..PoolConfig::default()
    };
    let mut p = pool_with(cfg, vec![be("a")]);
    let a = p.id("a").unwrap();
    for i in 0..10 {
        p.record_check(a, i % 2 == 1, None, t(i));
    }
    let at: Vec<_> = p.events().map(|e| e.at).collect();
    assert_eq!(at, [t(7), t(8), t(9)]);
    let mut cfg = p.config().clone();
    cfg.event_log_capacity = 1;
    p.set_config(cfg);
    assert_eq!(p.events().len(), 1);
}

#[test]
fn latency_ewma_first_sample_replaces_prior_and_ignores_garbage() {
    let cfg = PoolConfig {
        latency_alpha: 0.5,
        ..PoolConfig::default()
    };
    let mut p = pool_with(
        cfg,
        vec![BackendConfig {
            latency_prior_ms: Some(10.0),
            ..be("a")
        }],
    );
    let a = p.id("a").unwrap();
    assert!(p.backend(a).unwrap().latency().is_prior());
    p.record_check(a, true, Some(4.0), t(1));
    p.record_check(a, true, Some(8.0), t(2));
    for bad in [f64::NAN, f64::INFINITY, -1.0] {
        p.record_check(a, true, Some(bad), t(3));
    }
    p.record_check(a, false, Some(5000.0), t(4)); // a timeout is not a latency
    let l = p.backend(a).unwrap().latency();
    assert_eq!(
        (l.measured_ms(), l.last_ms(), l.samples()),
        (Some(6.0), Some(8.0), 2)
    );
    assert_eq!(l.effective(), Some(6.0));
}

#[test]
fn latency_order_refreshes_after_checks() {
    let mut p = pool_with(PoolConfig::default(), vec![be("a"), be("b")]);
    let (a, b) = (p.id("a").unwrap(), p.id("b").unwrap());
    // Nothing measured: name order.
    assert_eq!(
        route_names(&mut p, 0, 0, RoutingStrategy::LatencyAware),
        ["a"]
    );
    p.record_check(b, true, Some(3.0), t(1));
    assert_eq!(
        route_names(&mut p, 0, 0, RoutingStrategy::LatencyAware),
        ["b"]
    );
    p.record_check(a, true, Some(1.0), t(1));
    assert_eq!(
        route_names(&mut p, 0, 0, RoutingStrategy::LatencyAware),
        ["a"]
    );
}

#[test]
fn check_overdue_after_two_intervals() {
    let mut p = pool_with(PoolConfig::default(), vec![be("a")]);
    let a = p.id("a").unwrap();
    let iv = p.config().health_check_interval_ms;
    assert!(p.backend(a).unwrap().check_overdue(t(0), iv));
    p.record_check(a, true, None, t(100));
    assert!(!p.backend(a).unwrap().check_overdue(t(160), iv));
    assert!(p.backend(a).unwrap().check_overdue(t(161), iv));
    assert!(
        !p.backend(a).unwrap().check_overdue(t(-5), iv),
        "skew is not overdue"
    );
}

// ------------------------------------------------------ degraded and drain

#[test]
fn degraded_all_suspect_routes_last_resort() {
    let mut p = pool_with(PoolConfig::default(), vec![be("a"), be("b")]);
    fail(&mut p, "a", 1, 0);
    fail(&mut p, "b", 1, 0);
    let r = p.route(5, 0, RoutingStrategy::ConsistentHash);
    assert_eq!(r.targets.len(), 1);
    assert!(r.flags.degraded && r.flags.last_resort && r.flags.to_unhealthy);
}

#[test]
fn not_degraded_keeps_suspects_out() {
    let mut p = pool_with(PoolConfig::default(), vec![be("a"), be("b")]);
    fail(&mut p, "b", 1, 0);
    assert!(!p.is_degraded());
    for k in 0..50 {
        let r = p.route(k, 0, RoutingStrategy::ConsistentHash);
        assert_eq!(names(&p, &r), ["a"]);
        assert_eq!(r.flags, RouteFlags::default());
    }
}

#[test]
fn min_healthy_zero_never_degrades() {
    let cfg = PoolConfig {
        min_healthy_backends: 0,
        ..PoolConfig::default()
    };
    let mut p = pool_with(cfg, vec![be("a")]);
    fail(&mut p, "a", 1, 0);
    assert!(!p.is_degraded());
    assert!(
        p.route(0, 0, RoutingStrategy::RoundRobin)
            .targets
            .is_empty()
    );
}

#[test]
fn drain_takes_backend_out_of_every_strategy() {
    let mut p = pool_with(rf(3), vec![be("a"), be("b"), be("c")]);
    let b = p.id("b").unwrap();
    assert_eq!(p.toggle_drain(b), Some(true));
    assert!(p.backend(b).unwrap().is_drained());
    assert_eq!(p.routing_role(b, Op::Read), Some(RoutingRole::Drained));
    assert_eq!(p.stats().drained_backends, 1);
    for s in RoutingStrategy::ALL {
        for k in 0..20 {
            assert!(!p.route(k, 0, s).targets.contains(&b), "{s:?}");
        }
    }
    assert_eq!(p.toggle_drain(b), Some(false));
    assert!(
        p.route(0, 0, RoutingStrategy::Replicated)
            .targets
            .contains(&b)
    );
    assert_eq!(p.toggle_drain(BackendId(77)), None);
    assert!(!p.set_drained(BackendId(77), true));
}

#[test]
fn drain_counts_against_min_healthy() {
    let mut p = pool_with(PoolConfig::default(), vec![be("a"), be("b")]);
    fail(&mut p, "b", 1, 0);
    p.set_drained(p.id("a").unwrap(), true);
    assert!(p.is_degraded());
    let r = p.route(0, 0, RoutingStrategy::RoundRobin);
    assert_eq!(names(&p, &r), ["b"]);
    assert!(r.flags.last_resort);
}

#[test]
fn strategy_toggles_cycle_in_fixed_order() {
    let mut p = Pool::default();
    let walked: Vec<_> = (0..7).map(|_| p.cycle_strategy()).collect();
    assert_eq!(walked.last(), Some(&RoutingStrategy::RoundRobin));
    assert_eq!(walked[..6], RoutingStrategy::ALL[1..]);
    p.set_strategy(RoutingStrategy::Replicated);
    p.add_backend(be("a"));
    p.add_backend(be("b"));
    assert_eq!(p.preview("user:1", 10).targets.len(), 2);
    assert_eq!(RoutingStrategy::ConsistentHash.label(), "consistent-hash");
}

#[test]
fn replication_factor_zero_acts_as_one() {
    let mut p = pool_with(rf(0), vec![be("a"), be("b")]);
    for s in RoutingStrategy::ALL {
        if s != RoutingStrategy::Replicated {
            assert_eq!(p.route(3, 0, s).targets.len(), 1, "{s:?}");
        }
    }
}

#[test]
fn route_into_reuses_buffer() {
    let mut p = pool_with(rf(2), vec![be("a"), be("b"), be("c")]);
    let mut out = Route::default();
    p.route_into(1, 0, RoutingStrategy::Replicated, Op::Write, &mut out);
    assert_eq!(out.targets.len(), 3);
    p.route_into(1, 0, RoutingStrategy::ConsistentHash, Op::Read, &mut out);
    assert_eq!((out.targets.len(), out.op), (2, Op::Read));
}

#[test]
fn consistent_hash_spreads_evenly() {
    let n = 8;
    let mut p = pool_with(
        PoolConfig::default(),
        (0..n).map(|i| be(&format!("redis-{i}"))).collect(),
    );
    let mut counts = vec![0usize; n];
    for k in 0..8000u64 {
        let r = p.route(fmix64(k), 0, RoutingStrategy::ConsistentHash);
        counts[r.targets[0].index()] += 1;
    }
    for c in counts {
        assert!((850..1150).contains(&c), "{c}");
    }
}

#[test]
fn rendezvous_score_is_pinned() {
    // A change here moves keys in every recorded routing preview.
    let got = [
        rendezvous_score(0, 0),
        rendezvous_score(1, 2),
        rendezvous_score(u64::MAX, 0xa076_1d64_78bd_642f),
    ];
    assert_eq!(got, PINNED);
    // The key that zeroes the multiply still ranks backends differently.
    let k = 0xa076_1d64_78bd_642f;
    assert_ne!(rendezvous_score(k, 1), rendezvous_score(k, 2));
}

const PINNED: [u64; 3] = [
    5_650_585_516_096_373_764,
    2_335_766_830_412_267_229,
    7_487_762_221_039_143_921,
];

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
