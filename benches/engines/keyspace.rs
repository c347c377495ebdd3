//! keyspace engine benchmarks: ingesting sampler batches (ns per key) and
//! building the view, on a synthetic keyspace of 200 prefixes (Zipf(1.1)
//! over prefixes), mixed TTLs, LFU counters and sizes.

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use heliostat::engines::Timestamp;
use heliostat::engines::keyspace::{
    KeyHeat, KeyKind, KeyspaceConfig, KeyspaceEngine, KeyspaceSample, SampledKey,
};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};
use rand_distr::{Distribution, Zipf};

const PREFIXES: u64 = 200;
const BATCH: usize = 100;
const BATCHES: usize = 1000;

/// 1000 batches of 100 keys (outside the timed loop).
fn batches() -> Option<Vec<KeyspaceSample>> {
    let mut rng = StdRng::seed_from_u64(42);
    let zipf = Zipf::new(PREFIXES as f64, 1.1).ok()?;
    let out = (0..BATCHES)
        .map(|b| KeyspaceSample {
            pass: 1,
            pass_done: false,
            db_keys: 10_000_000,
            budget: 1000,
            rule: None,
            sent: b as u64 * 300,
            delimiter: ":".into(),
            refused: Vec::new(),
            keys: (0..BATCH)
                .map(|i| {
                    let p = zipf.sample(&mut rng) as u64;
                    SampledKey {
                        key: format!("p{p}:{}:profile", b * BATCH + i),
                        kind: KeyKind::Hash,
                        ttl_ms: Some(match i % 4 {
                            0 => -1,
                            1 => rng.random_range(0..600_000),
                            2 => rng.random_range(0..86_400_000),
                            _ => rng.random_range(0..30 * 86_400_000),
                        }),
                        heat: Some(KeyHeat::LfuFreq(rng.random_range(0..40))),
                        memory: Some(rng.random_range(50..5000)),
                        elements: Some(rng.random_range(1..100)),
                    }
                })
                .collect(),
        })
        .collect();
    Some(out)
}

pub fn benches(c: &mut Criterion) {
    let Some(batches) = batches() else {
        eprintln!("keyspace: bad Zipf parameters");
        return;
    };
    let t0 = Timestamp::from_secs(1_700_000_000);
    let mut g = c.benchmark_group("keyspace");
    g.sample_size(20);
    // One pass of 100k keys per iteration (a fresh pass each time, so the
    // per-prefix maps and expiry bins grow as they do in a real pass).
    g.throughput(Throughput::Elements((BATCH * BATCHES) as u64));
    g.bench_function("ingest_100k_keys", |b| {
        b.iter(|| {
            let mut e = KeyspaceEngine::new(KeyspaceConfig::default());
            for (j, s) in batches.iter().enumerate() {
                e.ingest(s, t0.add_millis(j as i64 * 100));
            }
            black_box(e)
        })
    });
    let mut e = KeyspaceEngine::new(KeyspaceConfig::default());
    for (j, s) in batches.iter().enumerate() {
        e.ingest(s, t0.add_millis(j as i64 * 100));
    }
    let now = t0.add_secs(100);
    g.throughput(Throughput::Elements(1));
    g.bench_function("view_200_prefixes", |b| b.iter(|| black_box(e.view(now))));
    g.finish();
}
