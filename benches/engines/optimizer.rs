//! optimizer benchmarks: ranking 64 backends that have history, folding
//! measurements in, and analysing an hour of workload.

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use heliostat::engines::Timestamp;
use heliostat::engines::optimizer::{
    BackendKind, Measurement, Optimizer, OptimizerConfig, PatternType, StaticFigures,
    WorkloadPattern,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

const BACKENDS: usize = 64;
const HISTORY: i64 = 300;

fn measurement(rng: &mut StdRng, base: f64) -> Measurement {
    let thr = rng.random_range(500.0..20_000.0);
    Measurement {
        latency_ms: base + thr * 0.0005 + rng.random_range(0.0..2.0),
        throughput_eps: thr,
        success_rate: rng.random_range(0.98..1.0),
        cpu_percent: rng.random_range(5.0..95.0),
        memory_mb: rng.random_range(100.0..8000.0),
        network_mbps: rng.random_range(1.0..100.0),
        disk_iops: rng.random_range(10.0..1000.0),
        connections: rng.random_range(1..500),
        event_size_bytes: rng.random_range(100.0..4000.0),
    }
}

/// 64 backends: 56 monitored instances with 300 observations each (fitted
/// models, full latency windows) and 8 declared streaming backends.
fn populated() -> Optimizer {
    let mut rng = StdRng::seed_from_u64(42);
    let mut o = Optimizer::new(OptimizerConfig::default());
    let monitored = [
        BackendKind::Redis,
        BackendKind::PostgresPrimary,
        BackendKind::PostgresReplica,
    ];
    for i in 0..BACKENDS - 8 {
        let kind = monitored[i % monitored.len()];
        let id = o.register(&format!("{}-{i}", kind.label()), kind);
        let base = 0.5 + (i % 7) as f64;
        for s in 0..HISTORY {
            o.observe(id, &measurement(&mut rng, base), Timestamp::from_secs(s));
        }
    }
    let declared = [
        BackendKind::Kafka,
        BackendKind::Nats,
        BackendKind::Kinesis,
        BackendKind::Pulsar,
    ];
    for i in 0..8 {
        let kind = declared[i % declared.len()];
        let figures = StaticFigures {
            latency_ms: 2.0 + i as f64,
            latency_p99_ms: Some(10.0 + i as f64 * 3.0),
            throughput_eps: 50_000.0,
            reliability: 0.999,
            cost_per_hour: Some(0.5),
        };
        o.declare_static(
            &format!("{}-{i}", kind.label()),
            kind,
            figures,
            Timestamp::from_secs(0),
        );
    }
    o.refresh();
    o
}

/// Registers the optimizer benchmarks.
pub fn benches(c: &mut Criterion) {
    let mut g = c.benchmark_group("optimizer");

    // As in the console: samples arrive, the data tick refreshes, panes rank.
    let mut o = populated();
    o.refresh();
    let now = Timestamp::from_secs(HISTORY);
    let steady = WorkloadPattern {
        event_rate: 5000.0,
        ..WorkloadPattern::default()
    };
    let realtime = WorkloadPattern {
        pattern_type: PatternType::RealTime,
        event_rate: 80.0,
        ..WorkloadPattern::default()
    };
    g.bench_function("rank_64", |b| {
        b.iter(|| black_box(o.rank(black_box(&steady), now)))
    });
    g.bench_function("rank_64_realtime", |b| {
        b.iter(|| black_box(o.rank(black_box(&realtime), now)))
    });

    let mut o = populated();
    let mut rng = StdRng::seed_from_u64(7);
    let samples: Vec<Measurement> = (0..1024).map(|_| measurement(&mut rng, 1.0)).collect();
    g.throughput(Throughput::Elements(samples.len() as u64));
    g.bench_function("observe", |b| {
        let mut t = HISTORY;
        b.iter(|| {
            for (i, m) in samples.iter().enumerate() {
                t += 1;
                o.observe((i % BACKENDS) as u32, m, Timestamp::from_secs(t));
            }
        })
    });

    let mut o = Optimizer::default();
    let mut t = 0i64;
    let mut rng = StdRng::seed_from_u64(9);
    for _ in 0..36_000 {
        t += rng.random_range(0..200);
        o.analyzer_mut()
            .record_count(Timestamp::from_millis(t), rng.random_range(1..50));
    }
    g.throughput(Throughput::Elements(1));
    g.bench_function("analyze_1h", |b| {
        b.iter(|| black_box(o.workload(black_box(Timestamp::from_millis(t)))))
    });
    g.finish();
}
