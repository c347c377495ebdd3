//! Backend kinds and what is known about each kind before any measurement:
//! baseline hourly cost, how costly it is to scale for bursts, and the
//! qualitative strengths and weaknesses the seed listed per kind.

use serde::{Deserialize, Serialize};

use super::pattern::{ConsistencyLevel, PatternType, WorkloadPattern};
use super::remark::Remark;

/// What a backend is. The seed's streaming kinds are ranked from figures a
/// user declares; the Redis and Postgres kinds are the instances heliostat
/// monitors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum BackendKind {
    /// Apache Kafka (seed kind).
    Kafka,
    /// NATS (seed kind).
    Nats,
    /// A Redis node (seed kind; heliostat monitors these).
    Redis,
    /// AWS Kinesis (seed kind).
    Kinesis,
    /// Apache Pulsar (seed kind).
    Pulsar,
    /// In-process memory (seed kind).
    Memory,
    /// A PostgreSQL primary (ours).
    PostgresPrimary,
    /// A PostgreSQL streaming replica (ours).
    PostgresReplica,
}

impl BackendKind {
    /// Every kind, in declaration order (for pickers in the UI).
    pub const ALL: [BackendKind; 8] = [
        BackendKind::Kafka,
        BackendKind::Nats,
        BackendKind::Redis,
        BackendKind::Kinesis,
        BackendKind::Pulsar,
        BackendKind::Memory,
        BackendKind::PostgresPrimary,
        BackendKind::PostgresReplica,
    ];

    /// A display label.
    pub fn label(self) -> &'static str {
        match self {
            BackendKind::Kafka => "Kafka",
            BackendKind::Nats => "NATS",
            BackendKind::Redis => "Redis",
            BackendKind::Kinesis => "Kinesis",
            BackendKind::Pulsar => "Pulsar",
            BackendKind::Memory => "Memory",
            BackendKind::PostgresPrimary => "Postgres primary",
            BackendKind::PostgresReplica => "Postgres replica",
        }
    }

    /// The seed's baseline cost per kind (an hourly figure, used when no
    /// `cost_per_hour` is known for the instance). Postgres figures are ours:
    /// a primary's capacity is the scarcest in the platform, a replica's is
    /// cheaper to add.
    pub fn baseline_cost(self) -> f64 {
        match self {
            BackendKind::Memory => 0.0,
            BackendKind::Redis => 0.1,
            BackendKind::Nats => 0.2,
            BackendKind::Kafka => 0.5,
            BackendKind::Pulsar => 0.4,
            BackendKind::Kinesis => 0.8,
            BackendKind::PostgresPrimary => 0.6,
            BackendKind::PostgresReplica => 0.3,
        }
    }

    /// The seed's scaling cost factor, charged only for bursty or random
    /// workloads. A primary scales only vertically (ours: 0.8); a replica
    /// scales out like the seed's default (0.3).
    pub fn scaling_factor(self) -> f64 {
        match self {
            BackendKind::Kinesis => 0.1,
            BackendKind::Kafka => 0.5,
            BackendKind::Memory => 1.0,
            BackendKind::PostgresPrimary => 0.8,
            _ => 0.3,
        }
    }

    /// Qualitative strengths of the kind for this workload (the seed's list,
    /// plus Postgres entries of our own).
    pub fn strengths(self, pattern: &WorkloadPattern, out: &mut Vec<Remark>) {
        let s = |out: &mut Vec<Remark>, t: &'static str| out.push(Remark::text(t));
        match self {
            BackendKind::Kafka => {
                s(out, "High throughput");
                s(out, "Strong durability");
                s(out, "Excellent ordering guarantees");
                if pattern.consistency_requirements == ConsistencyLevel::ExactlyOnce {
                    s(out, "Exactly-once semantics");
                }
            }
            BackendKind::Nats => {
                s(out, "Low latency");
                s(out, "Simple setup");
                s(out, "Built-in clustering");
                if pattern.pattern_type == PatternType::RealTime {
                    s(out, "Real-time performance");
                }
            }
            BackendKind::Redis => {
                s(out, "In-memory speed");
                s(out, "Low latency");
                s(out, "Rich data structures");
            }
            BackendKind::Kinesis => {
                s(out, "AWS native integration");
                s(out, "Auto-scaling");
                s(out, "Pay-per-use model");
            }
            BackendKind::Pulsar => {
                s(out, "Multi-tenancy");
                s(out, "Geo-replication");
                s(out, "Unified messaging");
            }
            BackendKind::Memory => {
                s(out, "Zero latency");
                s(out, "Perfect for testing");
            }
            BackendKind::PostgresPrimary => {
                s(out, "Source of truth");
                s(out, "ACID transactions");
                if matches!(
                    pattern.consistency_requirements,
                    ConsistencyLevel::Strong | ConsistencyLevel::ExactlyOnce
                ) {
                    s(out, "Strongly consistent reads");
                }
            }
            BackendKind::PostgresReplica => {
                s(out, "Offloads reads from the primary");
                s(out, "Scales reads horizontally");
            }
        }
    }

    /// Qualitative weaknesses of the kind for this workload (the seed's
    /// list, plus Postgres entries of our own).
    pub fn weaknesses(self, pattern: &WorkloadPattern, out: &mut Vec<Remark>) {
        let s = |out: &mut Vec<Remark>, t: &'static str| out.push(Remark::text(t));
        match self {
            BackendKind::Kafka => {
                s(out, "Complex setup");
                s(out, "Higher resource usage");
                if pattern.pattern_type == PatternType::RealTime {
                    s(out, "Higher latency than NATS");
                }
            }
            BackendKind::Nats => {
                if pattern.consistency_requirements == ConsistencyLevel::Strong {
                    s(out, "Limited durability options");
                }
                if pattern.event_rate > 100_000.0 {
                    s(out, "May not handle extreme throughput");
                }
            }
            BackendKind::Redis => {
                s(out, "Memory-bound");
                s(out, "Limited durability");
                if pattern.event_size_bytes > 1_000_000 {
                    s(out, "Not suitable for large events");
                }
            }
            BackendKind::Kinesis => {
                s(out, "AWS vendor lock-in");
                s(out, "Cost can scale quickly");
                s(out, "Regional limitations");
            }
            BackendKind::Pulsar => {
                s(out, "Newer ecosystem");
                s(out, "Complex architecture");
            }
            BackendKind::Memory => {
                s(out, "No persistence");
                s(out, "Single node only");
                s(out, "Memory limitations");
            }
            BackendKind::PostgresPrimary => {
                s(out, "Disk-bound latency");
                s(out, "Scales only vertically");
                if pattern.event_rate > 10_000.0 {
                    s(out, "Read load competes with writes");
                }
            }
            BackendKind::PostgresReplica => {
                s(out, "Replication lag (stale reads)");
                if pattern.consistency_requirements == ConsistencyLevel::Strong {
                    s(out, "Not strongly consistent");
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn has(v: &[Remark], t: &str) -> bool {
        v.iter().any(|r| r.to_string() == t)
    }

    #[test]
    fn seed_baseline_costs_and_scaling_factors_kept() {
        assert_eq!(BackendKind::Memory.baseline_cost(), 0.0);
        assert_eq!(BackendKind::Redis.baseline_cost(), 0.1);
        assert_eq!(BackendKind::Nats.baseline_cost(), 0.2);
        assert_eq!(BackendKind::Kafka.baseline_cost(), 0.5);
        assert_eq!(BackendKind::Pulsar.baseline_cost(), 0.4);
        assert_eq!(BackendKind::Kinesis.baseline_cost(), 0.8);
        assert_eq!(BackendKind::Kinesis.scaling_factor(), 0.1);
        assert_eq!(BackendKind::Kafka.scaling_factor(), 0.5);
        assert_eq!(BackendKind::Memory.scaling_factor(), 1.0);
        assert_eq!(BackendKind::Nats.scaling_factor(), 0.3);
    }

    #[test]
    fn seed_strengths_kafka_exactly_once_and_nats_realtime() {
        let p = WorkloadPattern {
            pattern_type: PatternType::RealTime,
            consistency_requirements: ConsistencyLevel::ExactlyOnce,
            ..WorkloadPattern::default()
        };
        let mut v = Vec::new();
        BackendKind::Kafka.strengths(&p, &mut v);
        assert!(has(&v, "Exactly-once semantics"));
        v.clear();
        BackendKind::Nats.strengths(&p, &mut v);
        assert!(has(&v, "Real-time performance"));
        v.clear();
        BackendKind::Kafka.strengths(&WorkloadPattern::default(), &mut v);
        assert!(!has(&v, "Exactly-once semantics"));
    }

    #[test]
    fn seed_weaknesses_conditional_on_workload() {
        let big = WorkloadPattern {
            event_size_bytes: 2_000_000,
            event_rate: 200_000.0,
            consistency_requirements: ConsistencyLevel::Strong,
            ..WorkloadPattern::default()
        };
        let mut v = Vec::new();
        BackendKind::Redis.weaknesses(&big, &mut v);
        assert!(has(&v, "Not suitable for large events"));
        v.clear();
        BackendKind::Nats.weaknesses(&big, &mut v);
        assert!(has(&v, "Limited durability options"));
        assert!(has(&v, "May not handle extreme throughput"));
        v.clear();
        BackendKind::Nats.weaknesses(&WorkloadPattern::default(), &mut v);
        assert!(v.is_empty());
        v.clear();
        BackendKind::PostgresReplica.weaknesses(&big, &mut v);
        assert!(has(&v, "Not strongly consistent"));
    }
}
