#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Engine benchmarks: `cargo bench --bench engines` (never run in CI).
//! Figures and targets: docs/PERFORMANCE.md.

mod clients;
mod heatmap;
mod keyspace;
mod optimizer;
mod pool;
mod warming;

criterion::criterion_group!(
    engines,
    heatmap::benches,
    warming::benches,
    clients::benches,
    pool::benches,
    optimizer::benches,
    keyspace::benches
);
criterion::criterion_main!(engines);
