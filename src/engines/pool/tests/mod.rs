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

mod health;
mod props;
