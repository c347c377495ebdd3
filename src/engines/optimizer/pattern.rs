//! The workload description the optimizer ranks against, and the seed's
//! classification rules that turn an event rate and an inter-arrival
//! distribution into a pattern type.

use serde::{Deserialize, Serialize};

/// The shape of the workload over time (the seed's six classes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum PatternType {
    /// Regular arrivals at a moderate rate.
    #[default]
    Steady,
    /// Irregular arrivals (inter-arrival CV ≥ 0.5).
    Bursty,
    /// A repeating cycle in the per-interval counts (autocorrelation peak).
    Seasonal,
    /// Irregular but not bursty (the seed's rule; see [`classify`]).
    Random,
    /// Regular arrivals at a low rate (≤ 100/s): latency matters most.
    RealTime,
    /// Regular arrivals at a very high rate (> 10 000/s).
    BatchOriented,
}

impl PatternType {
    /// A display label.
    pub fn label(self) -> &'static str {
        match self {
            PatternType::Steady => "steady",
            PatternType::Bursty => "bursty",
            PatternType::Seasonal => "seasonal",
            PatternType::Random => "random",
            PatternType::RealTime => "real-time",
            PatternType::BatchOriented => "batch",
        }
    }
}

/// The inter-arrival distribution, picked by coefficient of variation
/// (the seed's bands; intervals in milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub enum TemporalDistribution {
    /// CV < 0.1, or too few events to tell (seed: fewer than 10).
    #[default]
    Uniform,
    /// 0.1 ≤ CV < 0.5.
    Normal {
        /// Mean inter-arrival interval (ms).
        mean: f64,
        /// Standard deviation of the interval (ms).
        std_dev: f64,
    },
    /// CV ≥ 0.5.
    Exponential {
        /// 1 / mean interval (per ms).
        lambda: f64,
    },
}

/// The delivery guarantee the workload needs (drives reliability targets).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum ConsistencyLevel {
    /// Loss is acceptable.
    AtMostOnce,
    /// The seed's default when no transactions are seen.
    #[default]
    AtLeastOnce,
    /// The seed's choice when transactional events are seen.
    ExactlyOnce,
    /// Session consistency.
    Session,
    /// Linearizable reads.
    Strong,
}

impl ConsistencyLevel {
    /// The seed's reliability target for this level.
    pub fn required_reliability(self) -> f64 {
        match self {
            ConsistencyLevel::ExactlyOnce => 0.999,
            ConsistencyLevel::AtLeastOnce => 0.995,
            _ => 0.99,
        }
    }
}

/// A detected cycle in the per-interval event counts.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Seasonality {
    /// Length of one cycle in seconds.
    pub period_secs: f64,
    /// Autocorrelation of the counts at that lag, in [-1, 1].
    pub autocorrelation: f64,
}

/// What the optimizer ranks backends against.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WorkloadPattern {
    /// The workload class.
    pub pattern_type: PatternType,
    /// Events per second over the analysis window (0 when idle).
    pub event_rate: f64,
    /// The seed's batch-size suggestion for this rate.
    pub batch_size: u32,
    /// Mean event size in bytes (seed default 1024 when unknown).
    pub event_size_bytes: u64,
    /// Inter-arrival distribution.
    pub temporal_distribution: TemporalDistribution,
    /// Delivery guarantee needed.
    pub consistency_requirements: ConsistencyLevel,
    /// Inter-arrival coefficient of variation, when there were enough events.
    pub inter_arrival_cv: Option<f64>,
    /// The detected cycle, when the pattern is seasonal.
    pub seasonality: Option<Seasonality>,
}

/// The seed's default event size when no size was reported.
pub const DEFAULT_EVENT_SIZE_BYTES: u64 = 1024;

impl Default for WorkloadPattern {
    /// The seed's default workload: steady, 100 events/s, 1 KiB events.
    fn default() -> Self {
        Self {
            pattern_type: PatternType::Steady,
            event_rate: 100.0,
            batch_size: 100,
            event_size_bytes: DEFAULT_EVENT_SIZE_BYTES,
            temporal_distribution: TemporalDistribution::Uniform,
            consistency_requirements: ConsistencyLevel::AtLeastOnce,
            inter_arrival_cv: None,
            seasonality: None,
        }
    }
}

impl WorkloadPattern {
    /// What an analyzer reports with no events (or a zero time span): the
    /// default pattern at rate 0, never a division by zero.
    pub fn idle(consistency: ConsistencyLevel) -> Self {
        Self {
            event_rate: 0.0,
            batch_size: batch_size_for_rate(0.0),
            consistency_requirements: consistency,
            ..Self::default()
        }
    }
}

/// The seed's batch size for an event rate (events/s).
pub fn batch_size_for_rate(event_rate: f64) -> u32 {
    if event_rate > 10_000.0 {
        1000
    } else if event_rate > 1000.0 {
        500
    } else if event_rate > 100.0 {
        100
    } else {
        10
    }
}

/// The seed's CV bands for the inter-arrival distribution. `mean` and
/// `std_dev` are of intervals in ms; a non-positive mean (every event at
/// the same instant) gives `Uniform` with no CV.
pub fn temporal_from_moments(mean: f64, std_dev: f64) -> (TemporalDistribution, Option<f64>) {
    if mean.is_nan() || mean <= 0.0 || !std_dev.is_finite() {
        return (TemporalDistribution::Uniform, None);
    }
    let cv = std_dev / mean;
    let dist = if cv < 0.1 {
        TemporalDistribution::Uniform
    } else if cv < 0.5 {
        TemporalDistribution::Normal { mean, std_dev }
    } else {
        TemporalDistribution::Exponential { lambda: 1.0 / mean }
    };
    (dist, Some(cv))
}

/// The seed's classification: Uniform → BatchOriented above 10 000/s,
/// Steady above 100/s, else RealTime; Normal → Random when std/mean > 1,
/// else Steady; Exponential → Bursty.
///
/// Kept as the seed wrote it: since the Normal band is CV < 0.5, its
/// "Random" branch cannot fire from analyzer output; only a hand-built
/// distribution reaches it.
pub fn classify(event_rate: f64, dist: &TemporalDistribution) -> PatternType {
    match *dist {
        TemporalDistribution::Uniform => {
            if event_rate > 10_000.0 {
                PatternType::BatchOriented
            } else if event_rate > 100.0 {
                PatternType::Steady
            } else {
                PatternType::RealTime
            }
        }
        TemporalDistribution::Normal { mean, std_dev } => {
            if std_dev > mean {
                PatternType::Random
            } else {
                PatternType::Steady
            }
        }
        TemporalDistribution::Exponential { .. } => PatternType::Bursty,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_batch_sizes_kept() {
        assert_eq!(batch_size_for_rate(20_000.0), 1000);
        assert_eq!(batch_size_for_rate(10_000.0), 500);
        assert_eq!(batch_size_for_rate(5000.0), 500);
        assert_eq!(batch_size_for_rate(1000.0), 100);
        assert_eq!(batch_size_for_rate(101.0), 100);
        assert_eq!(batch_size_for_rate(100.0), 10);
        assert_eq!(batch_size_for_rate(0.0), 10);
    }

    #[test]
    fn seed_cv_bands_kept() {
        assert_eq!(
            temporal_from_moments(10.0, 0.5).0,
            TemporalDistribution::Uniform
        );
        assert_eq!(
            temporal_from_moments(10.0, 3.0).0,
            TemporalDistribution::Normal {
                mean: 10.0,
                std_dev: 3.0
            }
        );
        assert_eq!(
            temporal_from_moments(10.0, 5.0).0,
            TemporalDistribution::Exponential { lambda: 0.1 }
        );
        assert_eq!(temporal_from_moments(10.0, 5.0).1, Some(0.5));
    }

    #[test]
    fn seed_classification_thresholds_kept() {
        let u = TemporalDistribution::Uniform;
        assert_eq!(classify(20_000.0, &u), PatternType::BatchOriented);
        assert_eq!(classify(10_000.0, &u), PatternType::Steady);
        assert_eq!(classify(101.0, &u), PatternType::Steady);
        assert_eq!(classify(100.0, &u), PatternType::RealTime);
        let n = TemporalDistribution::Normal {
            mean: 10.0,
            std_dev: 3.0,
        };
        assert_eq!(classify(5.0, &n), PatternType::Steady);
        let wide = TemporalDistribution::Normal {
            mean: 1.0,
            std_dev: 3.0,
        };
        assert_eq!(classify(5.0, &wide), PatternType::Random);
        let e = TemporalDistribution::Exponential { lambda: 0.1 };
        assert_eq!(classify(5.0, &e), PatternType::Bursty);
    }

    #[test]
    fn fixes_seed_zero_mean_interval_division() {
        // The seed divided std by a zero mean interval (NaN CV).
        assert_eq!(
            temporal_from_moments(0.0, 0.0),
            (TemporalDistribution::Uniform, None)
        );
        assert_eq!(
            temporal_from_moments(f64::NAN, 1.0),
            (TemporalDistribution::Uniform, None)
        );
    }

    #[test]
    fn idle_pattern_has_zero_rate() {
        let p = WorkloadPattern::idle(ConsistencyLevel::Strong);
        assert_eq!(p.event_rate, 0.0);
        assert_eq!(p.batch_size, 10);
        assert_eq!(p.consistency_requirements, ConsistencyLevel::Strong);
    }
}
