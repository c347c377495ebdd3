//! Configuration of the pool model: routing strategies, backends, pool policy.

use serde::{Deserialize, Serialize};

/// How a routing decision picks backends (the seed's seven strategies).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum RoutingStrategy {
    /// Rotate over the eligible backends (name order) with a counter.
    #[default]
    RoundRobin,
    /// Per-backend size thresholds: large blocks to priority ≥ 50, small to > 50.
    SizeBased,
    /// Lowest `used / capacity` first (unlimited capacity = load 0).
    LeastLoaded,
    /// Lowest `cost_per_gb` first.
    CostAware,
    /// Lowest measured (EWMA) latency first.
    LatencyAware,
    /// Every eligible backend.
    Replicated,
    /// Rendezvous (highest-random-weight) hashing of the key against names.
    ConsistentHash,
}

impl RoutingStrategy {
    /// Every strategy, in the fixed order `cycle_strategy` walks.
    pub const ALL: [RoutingStrategy; 7] = [
        RoutingStrategy::RoundRobin,
        RoutingStrategy::SizeBased,
        RoutingStrategy::LeastLoaded,
        RoutingStrategy::CostAware,
        RoutingStrategy::LatencyAware,
        RoutingStrategy::Replicated,
        RoutingStrategy::ConsistentHash,
    ];

    /// The next strategy in [`RoutingStrategy::ALL`], wrapping around.
    pub fn next(self) -> Self {
        let i = Self::ALL.iter().position(|s| *s == self).unwrap_or(0);
        Self::ALL
            .get(i.saturating_add(1))
            .copied()
            .unwrap_or(Self::ALL[0])
    }

    /// A short label for the screen.
    pub fn label(self) -> &'static str {
        match self {
            RoutingStrategy::RoundRobin => "round-robin",
            RoutingStrategy::SizeBased => "size-based",
            RoutingStrategy::LeastLoaded => "least-loaded",
            RoutingStrategy::CostAware => "cost-aware",
            RoutingStrategy::LatencyAware => "latency-aware",
            RoutingStrategy::Replicated => "replicated",
            RoutingStrategy::ConsistentHash => "consistent-hash",
        }
    }

    /// The operation the seed routed this strategy for: its latency-aware
    /// selection filtered on `read_enabled`, every other one on `write_enabled`.
    pub fn seed_op(self) -> Op {
        match self {
            RoutingStrategy::LatencyAware => Op::Read,
            _ => Op::Write,
        }
    }
}

/// Which enable flag a route honours (`read_enabled` or `write_enabled`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Op {
    /// A read: only `read_enabled` backends are eligible.
    Read,
    /// A write: only `write_enabled` backends are eligible.
    #[default]
    Write,
}

/// One monitored backend as the model sees it (the seed's `BackendConfig`).
///
/// The seed's configured `avg_latency_ms` and `healthy` flag are gone: latency
/// is measured by health checks (`latency_prior_ms` only seeds it until the
/// first check) and health comes from the check-driven state machine.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct BackendConfig {
    /// Unique name (the seed's `id`); interned to a dense id inside the pool.
    #[serde(alias = "id")]
    pub name: String,
    /// Free-form label for the screen ("redis", "postgres-replica", …).
    pub kind: String,
    /// Higher is preferred (size-based routing and its thresholds).
    pub priority: u8,
    /// Capacity in bytes; 0 means unlimited.
    pub capacity: u64,
    /// Bytes in use (fed by monitoring, e.g. Redis `used_memory`).
    pub used: u64,
    /// Cost per GB per month, for cost-aware routing (NaN or < 0 ranks last).
    pub cost_per_gb: f64,
    /// Latency assumed until the first measured check, if any.
    pub latency_prior_ms: Option<f64>,
    /// Size threshold of size-based routing (see [`RoutingStrategy::SizeBased`]).
    pub size_threshold: Option<u64>,
    /// Eligible for reads.
    pub read_enabled: bool,
    /// Eligible for writes.
    pub write_enabled: bool,
}

impl Default for BackendConfig {
    fn default() -> Self {
        Self {
            name: "default".to_string(),
            kind: String::new(),
            priority: 100,
            capacity: 0,
            used: 0,
            cost_per_gb: 0.0,
            latency_prior_ms: None,
            size_threshold: None,
            read_enabled: true,
            write_enabled: true,
        }
    }
}

impl BackendConfig {
    /// A backend with the seed's defaults and the given name.
    pub fn new(name: &str) -> Self {
        Self {
            name: name.to_string(),
            ..Self::default()
        }
    }

    /// Whether `op` may be routed here (ignoring health and drain).
    pub fn enabled_for(&self, op: Op) -> bool {
        match op {
            Op::Read => self.read_enabled,
            Op::Write => self.write_enabled,
        }
    }

    /// `used / capacity` (may exceed 1 when over capacity); `None` = unlimited.
    pub fn load(&self) -> Option<f64> {
        (self.capacity > 0).then(|| self.used as f64 / self.capacity as f64)
    }

    /// Whether a block of `size` bytes matches this backend under the seed's
    /// size-based rule: with a threshold, blocks at or above it go to
    /// priority ≥ 50 and smaller ones to priority > 50; without one, any size.
    pub fn accepts_size(&self, size: u64) -> bool {
        match self.size_threshold {
            Some(t) if size >= t => self.priority >= 50,
            Some(_) => self.priority > 50,
            None => true,
        }
    }

    /// Cost as a sort key: NaN and negative figures cannot jump the queue.
    pub(crate) fn cost_key(&self) -> f64 {
        if self.cost_per_gb.is_nan() || self.cost_per_gb < 0.0 {
            f64::INFINITY
        } else {
            self.cost_per_gb
        }
    }

    /// The latency prior if it is a usable figure.
    pub(crate) fn clean_prior(&self) -> Option<f64> {
        self.latency_prior_ms.filter(|v| v.is_finite() && *v >= 0.0)
    }
}

/// Pool-wide policy (the seed's `PoolConfig` plus the health thresholds).
///
/// * `auto_failover`: when true, `Down` backends leave routing; `Suspect` and
///   `Recovering` ones only serve as a last resort (see `min_healthy_backends`).
///   When false, health never removes a backend from routing: every enabled,
///   undrained backend stays, and a route that lands on a non-`Healthy` one
///   says so in its flags.
/// * `min_healthy_backends`: the pool is *degraded* when fewer backends than
///   this are `Healthy` and not drained. With `auto_failover`, a degraded pool
///   fills the replication slots the healthy backends cannot fill from the
///   `Suspect`/`Recovering` ones (flagged `last_resort`). 0 never degrades.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct PoolConfig {
    /// Strategy of the routing preview.
    pub strategy: RoutingStrategy,
    /// Backends per decision (every strategy but `Replicated`); 0 acts as 1.
    pub replication_factor: usize,
    /// Expected interval between health checks, in milliseconds (seed: 30 s);
    /// a backend with no check for two intervals is shown as overdue.
    pub health_check_interval_ms: u64,
    /// See the type's documentation.
    pub auto_failover: bool,
    /// See the type's documentation.
    pub min_healthy_backends: usize,
    /// Consecutive failed checks that take a backend `Down` (0 acts as 1).
    pub failure_threshold: u32,
    /// Consecutive good checks that bring a `Down` backend back (0 acts as 1).
    pub recovery_threshold: u32,
    /// Weight of a new latency sample in the EWMA, clamped to (0, 1].
    pub latency_alpha: f64,
    /// Health transitions kept for display (oldest dropped first).
    pub event_log_capacity: usize,
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            strategy: RoutingStrategy::RoundRobin,
            replication_factor: 1,
            health_check_interval_ms: 30_000,
            auto_failover: true,
            min_healthy_backends: 1,
            failure_threshold: 3,
            recovery_threshold: 2,
            latency_alpha: 0.2,
            event_log_capacity: 256,
        }
    }
}

impl PoolConfig {
    /// Backends per decision, at least 1.
    pub fn replicas(&self) -> usize {
        self.replication_factor.max(1)
    }

    /// The EWMA weight, made usable (NaN or out of range → the default 0.2).
    pub(crate) fn alpha(&self) -> f64 {
        let a = self.latency_alpha;
        if a.is_finite() && a > 0.0 {
            a.min(1.0)
        } else {
            0.2
        }
    }
}
