//! The seed's cost model, score and confidence, made total: every input is
//! clamped to a finite, non-negative range, a zero event rate has a defined
//! meaning, and no NaN or infinity can reach an output.

use serde::{Deserialize, Serialize};

use super::kind::BackendKind;
use super::pattern::{PatternType, WorkloadPattern};
use super::perf::{ResourceUsage, sane};
use super::remark::{REALTIME_P99_TARGET_MS, Remark};
use crate::engines::Timestamp;

/// Weights of the four score terms (seed: 0.3 / 0.3 / 0.3 / 0.1).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Weights {
    /// Latency.
    pub latency: f64,
    /// Throughput.
    pub throughput: f64,
    /// Reliability.
    pub reliability: f64,
    /// Resource usage (the cost term of the score).
    pub resource_usage: f64,
}

impl Default for Weights {
    fn default() -> Self {
        Self {
            latency: 0.3,
            throughput: 0.3,
            reliability: 0.3,
            resource_usage: 0.1,
        }
    }
}

impl Weights {
    /// Negative or NaN weights become 0; if nothing positive is left the
    /// seed's defaults apply (the score divides by the sum).
    pub fn sanitized(self) -> Self {
        let f = |x: f64| sane(x).unwrap_or(0.0).min(1e6);
        let w = Self {
            latency: f(self.latency),
            throughput: f(self.throughput),
            reliability: f(self.reliability),
            resource_usage: f(self.resource_usage),
        };
        if w.sum() > 0.0 { w } else { Self::default() }
    }

    fn sum(&self) -> f64 {
        self.latency + self.throughput + self.reliability + self.resource_usage
    }
}

/// The seed's cost breakdown for one backend under one workload.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct CostModel {
    /// Base cost plus the weighted terms below.
    pub total_cost: f64,
    /// Latency penalty (latency / target, capped at 2).
    pub latency_cost: f64,
    /// Shortfall against 1.5× the event rate, as a fraction.
    pub throughput_cost: f64,
    /// Shortfall against the consistency level's reliability target × 10.
    pub reliability_cost: f64,
    /// CPU, memory and network usage.
    pub resource_cost: f64,
    /// The kind's scaling factor, for bursty or random workloads only.
    pub scaling_cost: f64,
    /// Setup complexity / 10.
    pub maintenance_cost: f64,
}

/// The (predicted) figures a backend is scored on.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Figures {
    /// Kind of the backend.
    pub kind: BackendKind,
    /// Typical latency (ms).
    pub latency_ms: f64,
    /// Tail latency (ms).
    pub p99_ms: f64,
    /// Throughput (events/s).
    pub throughput_eps: f64,
    /// Success rate in [0, 1].
    pub reliability: f64,
    /// Last resource sample.
    pub resources: ResourceUsage,
    /// Hourly base cost (declared or the kind's baseline).
    pub base_cost: f64,
    /// Seed's setup complexity (0–10).
    pub setup_complexity: u8,
}

/// The pattern's event rate as a finite, non-negative number.
fn demand(pattern: &WorkloadPattern) -> f64 {
    sane(pattern.event_rate).unwrap_or(0.0)
}

/// The seed's cost model.
pub fn cost(f: &Figures, pattern: &WorkloadPattern, w: &Weights) -> CostModel {
    let latency = sane(f.latency_ms).unwrap_or(0.0);
    let divisor = match pattern.pattern_type {
        PatternType::RealTime => 10.0,
        PatternType::Bursty => 50.0,
        _ => 100.0,
    };
    let latency_cost = (latency / divisor).min(2.0);
    let required = demand(pattern) * 1.5;
    let throughput = sane(f.throughput_eps).unwrap_or(0.0);
    // A zero rate requires nothing: no shortfall (the seed divided by it).
    let throughput_cost = if required > 0.0 && throughput < required {
        (required - throughput) / required
    } else {
        0.0
    };
    let reliability = sane(f.reliability).unwrap_or(0.0).min(1.0);
    let target = pattern.consistency_requirements.required_reliability();
    let reliability_cost = if reliability < target {
        (target - reliability) * 10.0
    } else {
        0.0
    };
    let r = &f.resources;
    let resource_cost = sane(r.cpu_usage_percent).unwrap_or(0.0) / 100.0 * 0.1
        + sane(r.memory_usage_mb).unwrap_or(0.0) / 1000.0 * 0.05
        + sane(r.network_usage_mbps).unwrap_or(0.0) / 100.0 * 0.02;
    let scaling_cost = match pattern.pattern_type {
        PatternType::Bursty | PatternType::Random => f.kind.scaling_factor(),
        _ => 0.0,
    };
    let maintenance_cost = f64::from(f.setup_complexity) / 10.0;
    let total_cost = sane(f.base_cost).unwrap_or(0.0)
        + latency_cost * w.latency
        + throughput_cost * w.throughput
        + reliability_cost * w.reliability
        + resource_cost * w.resource_usage
        + scaling_cost * 0.1
        + maintenance_cost * 0.1;
    CostModel {
        total_cost: sane(total_cost).unwrap_or(0.0),
        latency_cost,
        throughput_cost,
        reliability_cost,
        resource_cost,
        scaling_cost,
        maintenance_cost,
    }
}

/// The seed's throughput score. With a zero event rate any backend meets
/// the demand, so the score is 1 (the seed divided by the zero rate).
pub fn throughput_score(throughput_eps: f64, pattern: &WorkloadPattern) -> f64 {
    let rate = demand(pattern);
    let thr = sane(throughput_eps).unwrap_or(0.0);
    if rate <= 0.0 {
        return 1.0;
    }
    match pattern.pattern_type {
        PatternType::BatchOriented => (thr / rate).min(2.0) / 2.0,
        _ => (thr / (rate * 1.2)).min(1.0),
    }
}

/// The seed's weighted score in [0, 1].
pub fn score(f: &Figures, c: &CostModel, pattern: &WorkloadPattern, w: &Weights) -> f64 {
    let latency_score = match pattern.pattern_type {
        PatternType::RealTime => {
            let p99 = sane(f.p99_ms).unwrap_or(f64::MAX);
            if p99 < 10.0 {
                1.0
            } else if p99 < 50.0 {
                0.7
            } else {
                0.3
            }
        }
        _ => (100.0 / (sane(f.latency_ms).unwrap_or(0.0) + 1.0)).min(1.0),
    };
    let reliability_score = sane(f.reliability).unwrap_or(0.0).min(1.0);
    let cost_score = 1.0 / (sane(c.total_cost).unwrap_or(0.0) + 1.0);
    let s = (latency_score * w.latency
        + throughput_score(f.throughput_eps, pattern) * w.throughput
        + reliability_score * w.reliability
        + cost_score * w.resource_usage)
        / w.sum().max(f64::MIN_POSITIVE);
    sane(s).unwrap_or(0.0).min(1.0)
}

/// The seed's confidence: the mean of a sample term (count / 1000, at most
/// one) and a recency term (1 / (whole hours of age / 24 + 1), at least
/// 0.1). Age is taken against `now`; a future `last_updated` is fresh.
pub fn confidence(sample_count: u64, last_updated: Option<Timestamp>, now: Timestamp) -> f64 {
    let samples = (sample_count as f64 / 1000.0).min(1.0);
    let recency = match last_updated {
        Some(t) => {
            let hours = (now.millis_since(t) / 3_600_000) as f64;
            (1.0 / (hours / 24.0 + 1.0)).max(0.1)
        }
        None => 0.1,
    };
    (samples + recency) / 2.0
}

/// Remarks from the figures themselves (the seed listed only per-kind
/// folklore): tail latency against the real-time target, reliability
/// against the consistency target, throughput against demand, CPU.
pub fn measured_remarks(
    f: &Figures,
    pattern: &WorkloadPattern,
    strengths: &mut Vec<Remark>,
    weaknesses: &mut Vec<Remark>,
) {
    if pattern.pattern_type == PatternType::RealTime {
        let p99_ms = sane(f.p99_ms).unwrap_or(0.0);
        let r = Remark::P99VsRealtimeTarget { p99_ms };
        if p99_ms > REALTIME_P99_TARGET_MS {
            weaknesses.push(r);
        } else {
            strengths.push(r);
        }
    }
    let rate = sane(f.reliability).unwrap_or(0.0).min(1.0);
    let target = pattern.consistency_requirements.required_reliability();
    let r = Remark::Reliability { rate, target };
    if rate < target {
        weaknesses.push(r);
    } else {
        strengths.push(r);
    }
    let demand = demand(pattern);
    if demand > 0.0 {
        let eps = sane(f.throughput_eps).unwrap_or(0.0);
        let needed_eps = demand * 1.5;
        let r = Remark::ThroughputVsDemand { eps, needed_eps };
        if eps < needed_eps {
            weaknesses.push(r);
        } else {
            strengths.push(r);
        }
    }
    let percent = sane(f.resources.cpu_usage_percent).unwrap_or(0.0);
    if percent > 80.0 {
        weaknesses.push(Remark::Cpu { percent });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::optimizer::pattern::ConsistencyLevel;

    /// The seed's `BackendPerformance::new` figures for Kafka.
    fn seed_kafka() -> Figures {
        Figures {
            kind: BackendKind::Kafka,
            latency_ms: 100.0,
            p99_ms: 500.0,
            throughput_eps: 1000.0,
            reliability: 0.99,
            resources: ResourceUsage {
                cpu_usage_percent: 10.0,
                memory_usage_mb: 100.0,
                network_usage_mbps: 1.0,
                disk_io_ops_per_sec: 100.0,
                connection_count: 10,
            },
            base_cost: BackendKind::Kafka.baseline_cost(),
            setup_complexity: 5,
        }
    }

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    #[test]
    fn seed_weights_kept() {
        let w = Weights::default();
        assert_eq!(
            (w.latency, w.throughput, w.reliability, w.resource_usage),
            (0.3, 0.3, 0.3, 0.1)
        );
        let bad = Weights {
            latency: f64::NAN,
            throughput: -1.0,
            reliability: 0.0,
            resource_usage: 0.0,
        };
        assert_eq!(bad.sanitized(), Weights::default());
    }

    #[test]
    fn seed_cost_model_terms_kept() {
        let c = cost(
            &seed_kafka(),
            &WorkloadPattern::default(),
            &Weights::default(),
        );
        assert!(close(c.latency_cost, 1.0));
        assert!(close(c.throughput_cost, 0.0));
        assert!(close(c.reliability_cost, 0.05));
        assert!(close(c.resource_cost, 0.0152));
        assert!(close(c.scaling_cost, 0.0));
        assert!(close(c.maintenance_cost, 0.5));
        // 0.5 + 1·0.3 + 0 + 0.05·0.3 + 0.0152·0.1 + 0 + 0.5·0.1
        assert!(close(c.total_cost, 0.86652), "{}", c.total_cost);
        let bursty = WorkloadPattern {
            pattern_type: PatternType::Bursty,
            event_rate: 1000.0,
            ..WorkloadPattern::default()
        };
        let c = cost(&seed_kafka(), &bursty, &Weights::default());
        assert!(close(c.latency_cost, 2.0), "latency / 50 capped at 2");
        assert!(close(c.throughput_cost, 500.0 / 1500.0));
        assert!(close(c.scaling_cost, 0.5));
    }

    #[test]
    fn seed_realtime_latency_bands_kept() {
        let rt = WorkloadPattern {
            pattern_type: PatternType::RealTime,
            ..WorkloadPattern::default()
        };
        let w = Weights {
            latency: 1.0,
            throughput: 0.0,
            reliability: 0.0,
            resource_usage: 0.0,
        };
        let at = |p99: f64| {
            let f = Figures {
                p99_ms: p99,
                ..seed_kafka()
            };
            score(&f, &cost(&f, &rt, &w), &rt, &w)
        };
        assert_eq!(at(9.9), 1.0);
        assert_eq!(at(10.0), 0.7);
        assert_eq!(at(49.0), 0.7);
        assert_eq!(at(50.0), 0.3);
        // Other patterns: min(100 / (latency + 1), 1).
        let d = WorkloadPattern::default();
        let f = Figures {
            latency_ms: 199.0,
            ..seed_kafka()
        };
        assert!(close(score(&f, &cost(&f, &d, &w), &d, &w), 0.5));
    }

    #[test]
    fn fixes_seed_zero_event_rate_division() {
        let idle = WorkloadPattern {
            event_rate: 0.0,
            ..WorkloadPattern::default()
        };
        assert_eq!(throughput_score(0.0, &idle), 1.0);
        assert_eq!(throughput_score(500.0, &idle), 1.0);
        let c = cost(&seed_kafka(), &idle, &Weights::default());
        assert_eq!(c.throughput_cost, 0.0);
        let s = score(&seed_kafka(), &c, &idle, &Weights::default());
        assert!(s.is_finite() && (0.0..=1.0).contains(&s));
        for rate in [f64::NAN, f64::INFINITY, -5.0, f64::MIN_POSITIVE] {
            let p = WorkloadPattern {
                event_rate: rate,
                ..WorkloadPattern::default()
            };
            let c = cost(&seed_kafka(), &p, &Weights::default());
            let s = score(&seed_kafka(), &c, &p, &Weights::default());
            assert!(c.total_cost.is_finite() && s.is_finite(), "{rate}");
        }
    }

    #[test]
    fn seed_batch_throughput_score_kept() {
        let batch = WorkloadPattern {
            pattern_type: PatternType::BatchOriented,
            event_rate: 1000.0,
            ..WorkloadPattern::default()
        };
        assert!(close(throughput_score(1000.0, &batch), 0.5));
        assert!(close(throughput_score(3000.0, &batch), 1.0));
        let steady = WorkloadPattern {
            event_rate: 1000.0,
            ..WorkloadPattern::default()
        };
        assert!(close(throughput_score(600.0, &steady), 0.5));
    }

    #[test]
    fn seed_confidence_from_samples_and_recency() {
        let now = Timestamp::from_secs(1_000_000);
        assert!(close(confidence(500, Some(now), now), 0.75));
        assert!(close(confidence(5000, Some(now), now), 1.0));
        let two_days = now.add_secs(-48 * 3600);
        assert!(close(confidence(0, Some(two_days), now), 1.0 / 6.0));
        // Whole hours, as the seed's num_hours(): 23h59m is 23 h.
        let almost = now.add_secs(-(24 * 3600 - 60));
        assert!(close(
            confidence(0, Some(almost), now),
            0.5 / (23.0 / 24.0 + 1.0)
        ));
        let ancient = Timestamp::from_secs(0);
        assert!(close(confidence(0, Some(ancient), now), 0.05));
        assert!(close(confidence(0, None, now), 0.05));
        // A future timestamp (clock skew) counts as fresh, not negative age.
        assert!(close(confidence(0, Some(now.add_secs(3600)), now), 0.5));
    }

    #[test]
    fn measured_remarks_name_the_figures() {
        let rt = WorkloadPattern {
            pattern_type: PatternType::RealTime,
            event_rate: 1000.0,
            ..WorkloadPattern::default()
        };
        let f = Figures {
            p99_ms: 12.0,
            reliability: 0.972,
            ..seed_kafka()
        };
        let (mut s, mut w) = (Vec::new(), Vec::new());
        measured_remarks(&f, &rt, &mut s, &mut w);
        assert!(
            w.iter()
                .any(|r| r.to_string() == "p99 12.0 ms > 10 ms realtime target"),
            "{w:?}"
        );
        assert!(
            w.iter()
                .any(|r| r.to_string() == "reliability 97.2 % < 99.5 % target"),
            "{w:?}"
        );
        assert!(
            w.iter()
                .any(|r| r.to_string() == "throughput 1000/s < 1.5× demand (1500/s)"),
            "{w:?}"
        );
        let good = Figures {
            p99_ms: 3.0,
            reliability: 0.9999,
            throughput_eps: 5000.0,
            ..seed_kafka()
        };
        let exact = WorkloadPattern {
            consistency_requirements: ConsistencyLevel::ExactlyOnce,
            ..rt
        };
        let (mut s, mut w) = (Vec::new(), Vec::new());
        measured_remarks(&good, &exact, &mut s, &mut w);
        assert!(w.is_empty(), "{w:?}");
        assert!(
            s.iter()
                .any(|r| r.to_string() == "p99 3.0 ms within 10 ms realtime target")
        );
        assert!(s.iter().any(|r| r.to_string() == "reliability 99.99 %"));
    }
}
