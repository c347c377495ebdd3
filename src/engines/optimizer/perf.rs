//! Per-backend performance tracking: the seed's EWMA (α = 0.1) of latency,
//! throughput and reliability, plus latency percentiles measured from a
//! bounded window of recent samples (the seed multiplied p50 by 1.5 and 2).

use serde::{Deserialize, Serialize};

use super::kind::BackendKind;
use crate::engines::Timestamp;

/// Largest figure accepted from a measurement; larger values are clamped so
/// sums and squares in the cost model and the fit stay finite.
pub const MAX_FIGURE: f64 = 1e15;

/// Clamps a raw figure into `[0, MAX_FIGURE]`; `None` for NaN.
pub fn sane(x: f64) -> Option<f64> {
    if x.is_nan() {
        None
    } else {
        Some(x.clamp(0.0, MAX_FIGURE))
    }
}

/// One sample of a backend's behaviour, as a source reports it.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Measurement {
    /// Mean request latency over the sample (ms).
    pub latency_ms: f64,
    /// Operations per second served during the sample (also the load the
    /// latency fit regresses on).
    pub throughput_eps: f64,
    /// Fraction of successful requests, in [0, 1].
    pub success_rate: f64,
    /// Process CPU (%).
    pub cpu_percent: f64,
    /// Memory in use (MB).
    pub memory_mb: f64,
    /// Network traffic (Mbit/s).
    pub network_mbps: f64,
    /// Disk operations per second.
    pub disk_iops: f64,
    /// Open client connections.
    pub connections: u32,
    /// Mean request/value size in bytes (0 when unknown): the fit's second
    /// feature.
    pub event_size_bytes: f64,
}

/// Figures a user declares for a backend that heliostat does not monitor.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct StaticFigures {
    /// Typical latency (ms).
    pub latency_ms: f64,
    /// Tail latency (ms); the typical latency when not given (no guessing
    /// multiplier).
    pub latency_p99_ms: Option<f64>,
    /// Sustainable throughput (events/s).
    pub throughput_eps: f64,
    /// Fraction of successful requests, in [0, 1].
    pub reliability: f64,
    /// Hourly cost; replaces the kind's baseline cost.
    pub cost_per_hour: Option<f64>,
}

/// The seed's resource figures (last sample, not smoothed).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct ResourceUsage {
    /// CPU (%).
    pub cpu_usage_percent: f64,
    /// Memory (MB).
    pub memory_usage_mb: f64,
    /// Network (Mbit/s).
    pub network_usage_mbps: f64,
    /// Disk operations per second.
    pub disk_io_ops_per_sec: f64,
    /// Open connections.
    pub connection_count: u32,
}

/// Where a backend's figures come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FigureSource {
    /// Registered but nothing known yet.
    None,
    /// Declared by the user (`declare_static`).
    Declared,
    /// Measured by `observe`.
    Measured,
}

/// Measured latency percentiles (ms) over the recent-sample window.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
    /// Samples they were computed from.
    pub samples: usize,
}

/// An exponentially weighted moving average whose first sample initialises
/// it (the seed blended the first sample with a made-up prior of 100 ms,
/// 1000 events/s and 0.99 reliability).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct Ewma {
    value: Option<f64>,
}

impl Ewma {
    /// Folds in `x` with weight `alpha`; NaN is ignored.
    pub fn update(&mut self, x: f64, alpha: f64) {
        let Some(x) = sane(x) else { return };
        self.value = Some(match self.value {
            None => x,
            Some(v) => alpha * x + (1.0 - alpha) * v,
        });
    }

    /// Replaces the value (declared figures).
    pub fn set(&mut self, x: f64) {
        self.value = sane(x);
    }

    /// The current average, if any sample arrived.
    pub fn get(&self) -> Option<f64> {
        self.value
    }
}

/// A ring of the most recent latency samples. Percentiles are selected at
/// most once per data tick ([`LatencyWindow::settle`]) and kept until a new
/// sample arrives, so ranking (which reads them for every backend, every
/// frame) never sorts.
#[derive(Debug, Clone, Default)]
pub struct LatencyWindow {
    ring: Vec<f64>,
    next: usize,
    cap: usize,
    /// The percentiles of `ring` as it is, when settled since the last push.
    settled: Option<Percentiles>,
}

/// Nearest-rank index of quantile `q` in a sorted slice of `n` values.
fn rank_index(q: f64, n: usize) -> usize {
    let rank = (q * n as f64).ceil() as usize;
    rank.clamp(1, n.max(1)) - 1
}

impl LatencyWindow {
    /// An empty window holding at most `cap` samples (at least 1).
    pub fn new(cap: usize) -> Self {
        Self {
            cap: cap.max(1),
            ..Self::default()
        }
    }

    /// Adds a sample (already sanitized).
    pub fn push(&mut self, x: f64) {
        self.settled = None;
        if self.ring.len() < self.cap {
            self.ring.push(x);
        } else if let Some(slot) = self.ring.get_mut(self.next) {
            *slot = x;
        }
        self.next = (self.next + 1) % self.cap;
    }

    /// Select the percentiles now and keep them until the next sample.
    pub fn settle(&mut self) {
        if self.settled.is_none() {
            self.settled = self.select();
        }
    }

    /// The percentiles of the samples held, if any: the settled ones, else
    /// selected now.
    pub fn percentiles(&self) -> Option<Percentiles> {
        self.settled.or_else(|| self.select())
    }

    fn select(&self) -> Option<Percentiles> {
        if self.ring.is_empty() {
            return None;
        }
        let mut scratch = self.ring.clone();
        let n = scratch.len();
        let cmp = |a: &f64, b: &f64| crate::engines::cmp_f64(*a, *b);
        let (i50, i95, i99) = (
            rank_index(0.50, n),
            rank_index(0.95, n),
            rank_index(0.99, n),
        );
        // Nearest rank is monotone in q, so i50 ≤ i95 ≤ i99 < n. Each
        // selection partitions the slice: the next, lower quantile is
        // selected among the values below the previous one only.
        let (lower, v99, _) = scratch.select_nth_unstable_by(i99, cmp);
        let p99 = *v99;
        let (p95, lower) = if i95 < i99 {
            let (l, v, _) = lower.select_nth_unstable_by(i95, cmp);
            (*v, l)
        } else {
            (p99, lower)
        };
        let p50 = if i50 < i95 {
            *lower.select_nth_unstable_by(i50, cmp).1
        } else {
            p95
        };
        Some(Percentiles {
            p50,
            p95,
            p99,
            samples: n,
        })
    }

    /// Samples held.
    pub fn len(&self) -> usize {
        self.ring.len()
    }

    /// True when no sample was pushed.
    pub fn is_empty(&self) -> bool {
        self.ring.is_empty()
    }
}

/// A backend's performance as the UI and decisions see it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BackendPerformance {
    /// The backend's name.
    pub name: String,
    /// Its kind.
    pub kind: BackendKind,
    /// Where the figures come from.
    pub source: FigureSource,
    /// EWMA of the mean latency (ms) — the seed's "p50".
    pub latency_ewma_ms: Option<f64>,
    /// Measured percentiles (declared backends: the declared figures).
    pub percentiles: Option<Percentiles>,
    /// EWMA throughput (events/s).
    pub throughput_eps: Option<f64>,
    /// EWMA success rate in [0, 1].
    pub reliability: Option<f64>,
    /// Last resource sample.
    pub resource_usage: ResourceUsage,
    /// Hourly cost when known (else the kind's baseline applies).
    pub cost_per_hour: Option<f64>,
    /// The seed's setup complexity (0–10; maintenance cost = /10).
    pub setup_complexity: u8,
    /// Observations folded in.
    pub sample_count: u64,
    /// When the figures last changed.
    pub last_updated: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn settled_percentiles_hold_until_the_next_sample() {
        let mut w = LatencyWindow::new(100);
        for x in 1..=100 {
            w.push(f64::from(x));
        }
        let fresh = w.percentiles();
        w.settle();
        assert_eq!(w.settled, fresh, "settling selects the same figures");
        assert_eq!(w.percentiles().map(|p| p.p99), Some(99.0));
        w.push(1000.0);
        assert_eq!(w.settled, None, "a sample unsettles");
        // 1 left the window, 1000 came in: the 99th of 100 is now 100.
        assert_eq!(w.percentiles().map(|p| p.p99), Some(100.0));
    }

    #[test]
    fn seed_ewma_alpha_blends_after_first_sample() {
        let mut e = Ewma::default();
        e.update(50.0, 0.1);
        // First sample initialises (the seed would give 0.1*50 + 0.9*100 = 95).
        assert_eq!(e.get(), Some(50.0));
        e.update(150.0, 0.1);
        assert!((e.get().unwrap_or(0.0) - 60.0).abs() < 1e-12);
    }

    #[test]
    fn ewma_ignores_nan_and_clamps() {
        let mut e = Ewma::default();
        e.update(f64::NAN, 0.1);
        assert_eq!(e.get(), None);
        e.update(f64::INFINITY, 0.1);
        assert_eq!(e.get(), Some(MAX_FIGURE));
        e.update(-5.0, 1.0);
        assert_eq!(e.get(), Some(0.0));
    }

    #[test]
    fn fixes_seed_p99_multiplied_not_measured() {
        let mut w = LatencyWindow::new(256);
        // 97 fast samples and 3 slow ones: the seed would report p99 = 2×p50.
        for _ in 0..97 {
            w.push(1.0);
        }
        for _ in 0..3 {
            w.push(40.0);
        }
        let p = w.percentiles().unwrap_or(Percentiles {
            p50: 0.0,
            p95: 0.0,
            p99: 0.0,
            samples: 0,
        });
        assert_eq!(p.p50, 1.0);
        assert_eq!(p.p95, 1.0);
        assert_eq!(p.p99, 40.0);
        assert_eq!(p.samples, 100);
    }

    #[test]
    fn latency_window_is_bounded_and_forgets_old_samples() {
        let mut w = LatencyWindow::new(4);
        for x in [100.0, 100.0, 100.0, 100.0, 1.0, 2.0, 3.0, 4.0] {
            w.push(x);
        }
        assert_eq!(w.len(), 4);
        let p = w.percentiles().map(|p| (p.p50, p.p99));
        assert_eq!(p, Some((2.0, 4.0)));
    }

    #[test]
    fn nearest_rank_indices() {
        assert_eq!(rank_index(0.5, 1), 0);
        assert_eq!(rank_index(0.99, 100), 98);
        assert_eq!(rank_index(0.5, 100), 49);
        assert_eq!(rank_index(0.99, 0), 0);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(128))]

        #[test]
        fn percentiles_match_sorted_nearest_rank(
            xs in proptest::collection::vec(0.0..1000.0f64, 1..300),
            cap in 1usize..300,
        ) {
            let mut w = LatencyWindow::new(cap);
            for &x in &xs {
                w.push(x);
            }
            let start = xs.len().saturating_sub(cap);
            let mut kept = xs[start..].to_vec();
            kept.sort_by(|a, b| a.total_cmp(b));
            let n = kept.len();
            let want = (
                kept[rank_index(0.5, n)],
                kept[rank_index(0.95, n)],
                kept[rank_index(0.99, n)],
            );
            let got = w.percentiles().map(|p| (p.p50, p.p95, p.p99));
            proptest::prop_assert_eq!(got, Some(want));
        }
    }
}
