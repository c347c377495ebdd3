//! warming engine benchmarks: access tracking throughput on a Zipf(1.1)
//! stream over 1 M distinct keys with a 100k-key tracker, top-k and plan.

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use heliostat::engines::Timestamp;
use heliostat::engines::warming::{AccessTracker, TtlState, WarmingConfig, WarmingEngine};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Zipf};

const DISTINCT: u64 = 1_000_000;
const STREAM: usize = 1 << 21;
const CHUNK: usize = 1 << 16;
const CAPACITY: usize = 100_000;

/// Precomputed key hashes (outside the timed loop).
fn zipf_hashes() -> Option<Vec<u64>> {
    let mut rng = StdRng::seed_from_u64(42);
    let zipf = Zipf::new(DISTINCT as f64, 1.1).ok()?;
    let hashes = (0..STREAM)
        .map(|_| {
            let k = zipf.sample(&mut rng) as u64;
            xxhash_rust::xxh3::xxh3_64(&k.to_le_bytes())
        })
        .collect();
    Some(hashes)
}

pub fn benches(c: &mut Criterion) {
    let Some(hashes) = zipf_hashes() else {
        eprintln!("warming: bad Zipf parameters");
        return;
    };
    let mut g = c.benchmark_group("warming");
    g.sample_size(20);

    // Steady state: the tracker is full before timing starts. Virtual time
    // advances 1 ms per 1024 accesses (≈ 1 M accesses/s of traffic).
    let mut tracker = AccessTracker::new(CAPACITY, 600);
    let mut i = 0usize;
    let tick = |i: usize| Timestamp::from_millis(1_700_000_000_000 + (i >> 10) as i64);
    for (j, h) in hashes.iter().enumerate() {
        tracker.record(*h, tick(j));
    }
    i += hashes.len();
    eprintln!(
        "warming: tracker holds {} keys in {} bytes ({:.2} MiB), {} evictions",
        tracker.len(),
        tracker.approx_bytes(),
        tracker.approx_bytes() as f64 / (1024.0 * 1024.0),
        tracker.error_bound(tick(i)).evictions
    );
    g.throughput(Throughput::Elements(CHUNK as u64));
    g.bench_function("track_zipf", |b| {
        b.iter(|| {
            let start = i % STREAM;
            for (j, h) in hashes[start..start + CHUNK].iter().enumerate() {
                tracker.record(*h, tick(i + j));
            }
            i += CHUNK;
        })
    });
    let now = tick(i);
    let bytes = tracker.approx_bytes();
    eprintln!(
        "warming: after timing, {} keys tracked, {} bytes ({:.2} MiB)",
        tracker.len(),
        bytes,
        bytes as f64 / (1024.0 * 1024.0)
    );

    g.throughput(Throughput::Elements(1));
    g.bench_function("top_k_1000_of_100k", |b| {
        b.iter(|| black_box(tracker.top_k(black_box(1000), now)))
    });

    // A refresh round's planning: 1000 probed hot keys of a full tracker.
    let mut engine = WarmingEngine::new(&WarmingConfig::default());
    for (j, h) in hashes.iter().enumerate() {
        engine.record(*h, tick(j));
    }
    let t = tick(hashes.len());
    for (n, key) in engine.tracker().top_k(1000, t).iter().enumerate() {
        let state = match n % 3 {
            0 => TtlState::Missing,
            1 => TtlState::ExpiresIn(60_000),
            _ => TtlState::Persistent,
        };
        engine.observe_ttl(key.key_hash, &format!("key:{n}"), state, t);
    }
    g.bench_function("plan_1000_hot", |b| b.iter(|| black_box(engine.plan(t))));
    g.finish();
}
