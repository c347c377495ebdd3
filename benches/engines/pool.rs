//! Routing-preview benchmarks: one decision with 64 backends, per strategy.

use std::hint::black_box;

use criterion::measurement::WallTime;
use criterion::{BenchmarkGroup, Criterion};
use heliostat::engines::Timestamp;
use heliostat::engines::pool::{BackendConfig, Op, Pool, PoolConfig, Route, RoutingStrategy};

/// 64 backends with varied priority, capacity, cost, thresholds and measured
/// latency; a few suspect and down so the filters do real work.
fn pool64(replication_factor: usize) -> Pool {
    let mut p = Pool::new(PoolConfig {
        replication_factor,
        ..PoolConfig::default()
    });
    for i in 0..64u64 {
        let id = p.add_backend(BackendConfig {
            name: format!("redis-{i:02}"),
            kind: "redis".into(),
            priority: (i * 37 % 101) as u8,
            capacity: if i % 5 == 0 { 0 } else { 1 << 30 },
            used: (i * 7919 % 1000) << 20,
            cost_per_gb: (i * 13 % 17) as f64 * 0.01,
            size_threshold: (i % 3 == 0).then_some(64 * 1024),
            read_enabled: i % 11 != 0,
            write_enabled: i % 13 != 0,
            ..BackendConfig::default()
        });
        let now = Timestamp::from_secs(i as i64);
        p.record_check(id, true, Some(0.2 + (i * 31 % 64) as f64 * 0.05), now);
        if i % 16 == 7 {
            p.record_check(id, false, None, now);
        }
        if i % 32 == 9 {
            for _ in 0..3 {
                p.record_check(id, false, None, now);
            }
        }
    }
    p
}

fn bench_strategy(
    g: &mut BenchmarkGroup<'_, WallTime>,
    id: &str,
    s: RoutingStrategy,
    replicas: usize,
) {
    let mut p = pool64(replicas);
    let mut out = Route::default();
    let mut key = 0u64;
    let mut size = 0u64;
    g.bench_function(id, |b| {
        b.iter(|| {
            key = key.wrapping_add(0x9e37_79b9_7f4a_7c15);
            size = (size + 4099) % (256 * 1024);
            p.route_into(black_box(key), black_box(size), s, s.seed_op(), &mut out);
            black_box(out.targets.len())
        })
    });
}

/// The benchmarks of the `pool` group.
pub fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("pool");
    let cases = [
        ("route_round_robin", RoutingStrategy::RoundRobin),
        ("route_size_based", RoutingStrategy::SizeBased),
        ("route_least_loaded", RoutingStrategy::LeastLoaded),
        ("route_cost_aware", RoutingStrategy::CostAware),
        ("route_latency_aware", RoutingStrategy::LatencyAware),
        ("route_replicated", RoutingStrategy::Replicated),
        ("route_consistent_hash", RoutingStrategy::ConsistentHash),
    ];
    for (id, s) in cases {
        bench_strategy(&mut g, id, s, 1);
    }
    bench_strategy(
        &mut g,
        "route_consistent_hash_rf3",
        RoutingStrategy::ConsistentHash,
        3,
    );

    // Worst case: every decision follows a change that invalidates the caches.
    let mut p = pool64(1);
    let mut out = Route::default();
    let target = p.id("redis-10").map_or(Default::default(), |id| id);
    let mut key = 0u64;
    g.bench_function("route_after_drain_toggle", |b| {
        b.iter(|| {
            key = key.wrapping_add(0x9e37_79b9_7f4a_7c15);
            p.toggle_drain(target);
            p.route_into(
                black_box(key),
                0,
                RoutingStrategy::ConsistentHash,
                Op::Write,
                &mut out,
            );
            black_box(out.targets.len())
        })
    });
    let mut n = 0u64;
    g.bench_function("route_after_latency_check", |b| {
        b.iter(|| {
            n = n.wrapping_add(1);
            let ms = (n % 50) as f64 * 0.1;
            p.record_check(target, true, Some(ms), Timestamp::from_millis(n as i64));
            p.route_into(0, 0, RoutingStrategy::LatencyAware, Op::Read, &mut out);
            black_box(out.targets.len())
        })
    });
    g.finish();
}
