//! `heatmap/…`: ingest of access events over 10k rows, Zipf(1.1); one view.

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use heliostat::engines::Timestamp;
use heliostat::engines::heatmap::{Heatmap, Measure, RowId, RowKind};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand_distr::{Distribution, Zipf};

const ROWS: usize = 10_000;
const EVENTS: usize = 1_000_000;

fn zipf_rows(seed: u64) -> Vec<u32> {
    let mut rng = StdRng::seed_from_u64(seed);
    let z = Zipf::new(ROWS as f64, 1.1).expect("valid zipf");
    (0..EVENTS)
        .map(|_| (z.sample(&mut rng) as u32).saturating_sub(1))
        .collect()
}

pub fn benches(c: &mut Criterion) {
    let picks = zipf_rows(7);
    let mut g = c.benchmark_group("heatmap");
    g.throughput(Throughput::Elements(EVENTS as u64));
    g.bench_function("ingest_zipf_10k_rows", |b| {
        let mut h = Heatmap::default();
        let ids: Vec<RowId> = (0..ROWS)
            .map(|i| h.row(RowKind::Table, Measure::Cache, &format!("table_{i}")))
            .collect();
        let mut t = 1_700_000_000_000i64;
        b.iter(|| {
            // 1 M events spread over 100 s: ten base buckets roll per iteration.
            for (i, &r) in picks.iter().enumerate() {
                let ts = Timestamp(t + (i as i64) / 10);
                h.record(ids[r as usize], 1, u32::from(i % 4 != 0), 250, ts);
            }
            t += 100_000;
            black_box(&h);
        });
    });
    g.throughput(Throughput::Elements(1));
    g.bench_function("view_10k_rows_60_cols", |b| {
        let mut h = Heatmap::default();
        let ids: Vec<RowId> = (0..ROWS)
            .map(|i| h.row(RowKind::Table, Measure::Cache, &format!("table_{i}")))
            .collect();
        for (i, &r) in picks.iter().enumerate() {
            let ts = Timestamp(1_700_000_000_000 + (i as i64) * 3);
            h.record(ids[r as usize], 1, 1, 250, ts);
        }
        let now = Timestamp(1_700_000_000_000 + EVENTS as i64 * 3);
        b.iter(|| black_box(h.view(now, 60, 60)));
    });
    g.finish();
}
