//! Pool-wide statistics (the seed's `PoolStats`), NaN-free.

use serde::{Deserialize, Serialize};

use super::backend::Backend;
use super::health::HealthState;

/// Totals over the pool's backends.
///
/// Averages are over the backends that have the figure (a usable cost, a
/// measured latency) and are `None` ("n/a") when none has it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PoolStats {
    /// Backends in the pool.
    pub total_backends: usize,
    /// Backends in state `Healthy` (drained or not).
    pub healthy_backends: usize,
    /// Backends in state `Suspect`.
    pub suspect_backends: usize,
    /// Backends in state `Recovering`.
    pub recovering_backends: usize,
    /// Backends in state `Down`.
    pub down_backends: usize,
    /// Backends drained in the what-if model.
    pub drained_backends: usize,
    /// True when fewer than `min_healthy_backends` are healthy and undrained.
    pub degraded: bool,
    /// Sum of finite capacities (unlimited backends add nothing; see below).
    pub total_capacity: u64,
    /// Backends with unlimited capacity (capacity 0).
    pub unlimited_backends: usize,
    /// Sum of bytes used.
    pub total_used: u64,
    /// Sum of reads.
    pub total_reads: u64,
    /// Sum of writes.
    pub total_writes: u64,
    /// Sum of errors.
    pub total_errors: u64,
    /// Mean `cost_per_gb` over backends with a finite, non-negative cost.
    pub avg_cost_per_gb: Option<f64>,
    /// Mean measured (EWMA) latency over backends measured at least once.
    pub avg_latency_ms: Option<f64>,
}

/// Fold `backends` into pool statistics; `degraded` comes from the pool.
pub(crate) fn compute<'a>(
    backends: impl Iterator<Item = &'a Backend>,
    degraded: bool,
) -> PoolStats {
    let mut s = PoolStats {
        degraded,
        ..PoolStats::default()
    };
    let (mut cost_sum, mut cost_n) = (0.0_f64, 0_u64);
    let (mut lat_sum, mut lat_n) = (0.0_f64, 0_u64);
    for b in backends {
        s.total_backends += 1;
        match b.state() {
            HealthState::Healthy => s.healthy_backends += 1,
            HealthState::Suspect => s.suspect_backends += 1,
            HealthState::Recovering => s.recovering_backends += 1,
            HealthState::Down => s.down_backends += 1,
        }
        if b.is_drained() {
            s.drained_backends += 1;
        }
        let c = b.config();
        if c.capacity == 0 {
            s.unlimited_backends += 1;
        }
        s.total_capacity = s.total_capacity.saturating_add(c.capacity);
        s.total_used = s.total_used.saturating_add(c.used);
        let st = b.stats();
        s.total_reads = s.total_reads.saturating_add(st.reads);
        s.total_writes = s.total_writes.saturating_add(st.writes);
        s.total_errors = s.total_errors.saturating_add(st.errors);
        if c.cost_per_gb.is_finite() && c.cost_per_gb >= 0.0 {
            cost_sum += c.cost_per_gb;
            cost_n += 1;
        }
        if let Some(ms) = b.latency().measured_ms() {
            lat_sum += ms;
            lat_n += 1;
        }
    }
    s.avg_cost_per_gb = mean(cost_sum, cost_n);
    s.avg_latency_ms = mean(lat_sum, lat_n);
    s
}

fn mean(sum: f64, n: u64) -> Option<f64> {
    let m = sum / n as f64;
    (n > 0 && m.is_finite()).then_some(m)
}
