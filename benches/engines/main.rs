#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! Engine benchmarks: `cargo bench --bench engines` (never run in CI).
//! Figures and targets: docs/PERFORMANCE.md.

mod heatmap;

criterion::criterion_group!(engines, heatmap::benches);
criterion::criterion_main!(engines);
