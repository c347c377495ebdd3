//! The storage pool as a what-if model of the monitored backends.
//!
//! heliostat routes no traffic: this engine keeps the seed's backends, stats
//! and seven routing strategies so the Backends pane can preview where a key
//! *would* go, driven by measured health checks. Draining a backend or
//! changing the strategy changes only this model.
//!
//! Routing rules (`route_into`), precisely:
//! * a backend is a candidate when it is present, enabled for the operation
//!   (`read_enabled` / `write_enabled`) and not drained;
//! * with `auto_failover`, only `Healthy` candidates are in the primary tier;
//!   `Down` ones never route; `Suspect`/`Recovering` ones form a last-resort
//!   tier used only while the pool is degraded, and only for the replication
//!   slots the primary tier cannot fill (`Replicated` takes both tiers);
//! * without `auto_failover`, every candidate is in the primary tier whatever
//!   its health, and the route's flags say when it lands on a non-`Healthy`
//!   or `Down` backend;
//! * degraded = fewer than `min_healthy_backends` backends are `Healthy` and
//!   not drained.

mod backend;
mod config;
mod hash;
mod health;
mod route;
mod stats;

pub use backend::{Backend, BackendId, BackendStats};
pub use config::{BackendConfig, Op, PoolConfig, RoutingStrategy};
pub use hash::rendezvous_score;
pub use health::{Health, HealthEvent, HealthState, Latency, TransitionCause};
pub use route::{Route, RouteFlags};
pub use stats::PoolStats;

use serde::{Deserialize, Serialize};

use self::health::EventLog;
use self::route::{DIRTY_LATENCY, DIRTY_LOAD, DIRTY_SETS, Request, RouteCache};
use super::Timestamp;
use super::intern::{Interner, key_hash};

/// Errors of the pool model.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PoolError {
    /// No backend by that name is in the pool.
    #[error("backend not found: {0}")]
    UnknownBackend(String),
}

/// Where a backend stands for routing right now, for one operation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RoutingRole {
    /// In the primary tier (may be non-`Healthy` when auto-failover is off).
    Routable,
    /// `Suspect`/`Recovering` in a degraded pool: used as a last resort.
    LastResort,
    /// Drained in the what-if model.
    Drained,
    /// Not enabled for this operation.
    Disabled,
    /// Taken out of routing by auto-failover (not `Healthy`).
    FailedOver,
}

/// The pool model: backends by dense id, health, stats and routing caches.
#[derive(Debug, Clone)]
pub struct Pool {
    config: PoolConfig,
    names: Interner,
    slots: Vec<Option<Backend>>,
    /// Present backend ids, sorted by name.
    by_name: Vec<u32>,
    degraded: bool,
    events: EventLog,
    cache: RouteCache,
    rr_counter: u64,
    scratch: Vec<(u64, u32)>,
}

impl Default for Pool {
    fn default() -> Self {
        Self::new(PoolConfig::default())
    }
}

impl Pool {
    /// An empty pool.
    pub fn new(config: PoolConfig) -> Self {
        let mut pool = Self {
            events: EventLog::new(config.event_log_capacity),
            config,
            names: Interner::new(),
            slots: Vec::new(),
            by_name: Vec::new(),
            degraded: false,
            cache: RouteCache::default(),
            rr_counter: 0,
            scratch: Vec::new(),
        };
        pool.touch_sets();
        pool
    }

    /// Pool policy.
    pub fn config(&self) -> &PoolConfig {
        &self.config
    }

    /// Replace the pool policy (thresholds apply from the next check).
    pub fn set_config(&mut self, config: PoolConfig) {
        self.events.set_capacity(config.event_log_capacity);
        self.config = config;
        self.touch_sets();
    }

    /// What-if: turn auto-failover on or off.
    pub fn set_auto_failover(&mut self, on: bool) {
        self.config.auto_failover = on;
        self.touch_sets();
    }

    /// The strategy of the preview.
    pub fn strategy(&self) -> RoutingStrategy {
        self.config.strategy
    }

    /// What-if: choose the preview's strategy.
    pub fn set_strategy(&mut self, strategy: RoutingStrategy) {
        self.config.strategy = strategy;
    }

    /// What-if: the next strategy in [`RoutingStrategy::ALL`]; returns it.
    pub fn cycle_strategy(&mut self) -> RoutingStrategy {
        self.config.strategy = self.config.strategy.next();
        self.config.strategy
    }

    /// Add a backend, or replace one of the same name with fresh health and
    /// stats (the seed's `add_backend`). New backends start `Healthy`.
    pub fn add_backend(&mut self, config: BackendConfig) -> BackendId {
        let id = self.names.intern(&config.name);
        let idx = id as usize;
        if self.slots.len() <= idx {
            self.slots.resize_with(idx.saturating_add(1), || None);
        }
        if self.slots.get(idx).is_some_and(Option::is_none) {
            let names = &self.names;
            let at = self
                .by_name
                .partition_point(|&other| names.name(other) < config.name.as_str());
            self.by_name.insert(at, id);
        }
        if let Some(s) = self.slots.get_mut(idx) {
            *s = Some(Backend::new(config));
        }
        self.touch_sets();
        BackendId(id)
    }

    /// Replace a backend's configuration, keeping its health, latency and
    /// stats (the seed's `update_backend_config`).
    pub fn update_backend(&mut self, config: BackendConfig) -> Result<BackendId, PoolError> {
        let id = self
            .id(&config.name)
            .ok_or_else(|| PoolError::UnknownBackend(config.name.clone()))?;
        let b = self
            .slot_mut(id)
            .ok_or_else(|| PoolError::UnknownBackend(config.name.clone()))?;
        b.latency.set_prior(config.clean_prior());
        b.config = config;
        self.touch_sets();
        Ok(id)
    }

    /// Remove a backend; returns its configuration. Its id stays reserved for
    /// its name, so past events still resolve.
    pub fn remove_backend(&mut self, id: BackendId) -> Option<BackendConfig> {
        let b = self.slots.get_mut(id.index()).and_then(Option::take)?;
        self.by_name.retain(|&x| x != id.0);
        self.touch_sets();
        Some(b.config)
    }

    /// The id of a present backend by name.
    pub fn id(&self, name: &str) -> Option<BackendId> {
        let id = BackendId(self.names.get(name)?);
        self.backend(id).map(|_| id)
    }

    /// The name behind an id ("" if never seen).
    pub fn name(&self, id: BackendId) -> &str {
        self.names.name(id.0)
    }

    /// A present backend.
    pub fn backend(&self, id: BackendId) -> Option<&Backend> {
        self.slots.get(id.index()).and_then(Option::as_ref)
    }

    fn slot_mut(&mut self, id: BackendId) -> Option<&mut Backend> {
        self.slots.get_mut(id.index()).and_then(Option::as_mut)
    }

    /// Present backends in name order.
    pub fn backends(&self) -> impl Iterator<Item = (BackendId, &Backend)> + '_ {
        self.by_name
            .iter()
            .filter_map(|&id| self.backend(BackendId(id)).map(|b| (BackendId(id), b)))
    }

    /// Number of present backends.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    /// True when the pool has no backend.
    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Monitoring update of a backend's bytes in use; false if unknown.
    pub fn set_used(&mut self, id: BackendId, used: u64) -> bool {
        let Some(b) = self.slot_mut(id) else {
            return false;
        };
        if b.config.used != used {
            b.config.used = used;
            self.cache.mark(DIRTY_LOAD);
        }
        true
    }

    /// Feed one measured health check. `latency_ms` is the round trip of a
    /// good check (a failed check's latency, often a timeout, is ignored).
    /// Returns the transition it caused, if any (`None` for unknown ids too).
    pub fn record_check(
        &mut self,
        id: BackendId,
        ok: bool,
        latency_ms: Option<f64>,
        now: Timestamp,
    ) -> Option<HealthEvent> {
        let (fail_n, ok_m, alpha) = (
            self.config.failure_threshold,
            self.config.recovery_threshold,
            self.config.alpha(),
        );
        let b = self.slot_mut(id)?;
        let moved = b.health.observe(ok, now, fail_n, ok_m);
        let latency_moved = ok && latency_ms.is_some_and(|ms| b.latency.observe(ms, alpha));
        if latency_moved {
            self.cache.mark(DIRTY_LATENCY);
        }
        self.transition(id, moved, now, TransitionCause::Check)
    }

    /// The seed's manual health override: straight to `Healthy` or `Down`.
    pub fn set_backend_health(
        &mut self,
        id: BackendId,
        healthy: bool,
        now: Timestamp,
    ) -> Option<HealthEvent> {
        let moved = self.slot_mut(id)?.health.force(healthy, now);
        self.transition(id, moved, now, TransitionCause::Manual)
    }

    fn transition(
        &mut self,
        id: BackendId,
        moved: Option<(HealthState, HealthState)>,
        now: Timestamp,
        cause: TransitionCause,
    ) -> Option<HealthEvent> {
        let (from, to) = moved?;
        let ev = HealthEvent {
            at: now,
            backend: id,
            from,
            to,
            cause,
        };
        self.events.push(ev);
        self.touch_sets();
        Some(ev)
    }

    /// Count a read of `bytes` on a backend; false if unknown.
    pub fn record_read(&mut self, id: BackendId, bytes: u64) -> bool {
        self.slot_mut(id)
            .map(|b| b.stats.record_read(bytes))
            .is_some()
    }

    /// Count a write of `bytes` on a backend; false if unknown.
    pub fn record_write(&mut self, id: BackendId, bytes: u64) -> bool {
        self.slot_mut(id)
            .map(|b| b.stats.record_write(bytes))
            .is_some()
    }

    /// Count an error on a backend; false if unknown.
    pub fn record_error(&mut self, id: BackendId) -> bool {
        self.slot_mut(id).map(|b| b.stats.record_error()).is_some()
    }

    /// What-if: drain (no new routes) or undrain a backend; false if unknown.
    pub fn set_drained(&mut self, id: BackendId, drained: bool) -> bool {
        let Some(b) = self.slot_mut(id) else {
            return false;
        };
        if b.drained != drained {
            b.drained = drained;
            self.touch_sets();
        }
        true
    }

    /// What-if: flip a backend's drain; returns the new state.
    pub fn toggle_drain(&mut self, id: BackendId) -> Option<bool> {
        let next = !self.backend(id)?.drained;
        self.set_drained(id, next);
        Some(next)
    }

    /// True when fewer than `min_healthy_backends` are healthy and undrained.
    pub fn is_degraded(&self) -> bool {
        self.degraded
    }

    /// Where a backend stands for routing `op` right now (`None` if unknown).
    pub fn routing_role(&self, id: BackendId, op: Op) -> Option<RoutingRole> {
        let b = self.backend(id)?;
        Some(if b.drained {
            RoutingRole::Drained
        } else if !b.config.enabled_for(op) {
            RoutingRole::Disabled
        } else if !self.config.auto_failover || b.state() == HealthState::Healthy {
            RoutingRole::Routable
        } else if self.degraded
            && matches!(b.state(), HealthState::Suspect | HealthState::Recovering)
        {
            RoutingRole::LastResort
        } else {
            RoutingRole::FailedOver
        })
    }

    /// Pool-wide statistics.
    pub fn stats(&self) -> PoolStats {
        stats::compute(self.backends().map(|(_, b)| b), self.degraded)
    }

    /// Recent health transitions, oldest first (bounded by `event_log_capacity`).
    pub fn events(&self) -> impl DoubleEndedIterator<Item = &HealthEvent> + ExactSizeIterator {
        self.events.iter()
    }

    /// Routing preview of a key (hashed with [`key_hash`]) under the pool's
    /// current strategy and that strategy's seed operation.
    pub fn preview(&mut self, key: &str, size: u64) -> Route {
        let strategy = self.config.strategy;
        self.route(key_hash(key), size, strategy)
    }

    /// Routing preview for a key hash and block size, for the operation the
    /// seed used with `strategy` (reads for latency-aware, writes otherwise).
    pub fn route(&mut self, key_hash: u64, size: u64, strategy: RoutingStrategy) -> Route {
        let mut out = Route::default();
        self.route_into(key_hash, size, strategy, strategy.seed_op(), &mut out);
        out
    }

    /// The allocation-free form of [`Pool::route`]: fills `out` (its target
    /// buffer is reused). Picks `replication_factor` backends (all candidates
    /// for `Replicated`) by the rules in the module documentation.
    pub fn route_into(
        &mut self,
        key_hash: u64,
        size: u64,
        strategy: RoutingStrategy,
        op: Op,
        out: &mut Route,
    ) {
        self.cache
            .refresh(&self.slots, &self.by_name, &self.config, self.degraded);
        let need = match strategy {
            RoutingStrategy::Replicated => usize::MAX,
            _ => self.config.replicas(),
        };
        let req = Request {
            key_hash,
            size,
            strategy,
            rr_base: self.rr_counter,
        };
        if strategy == RoutingStrategy::RoundRobin {
            self.rr_counter = self.rr_counter.wrapping_add(need as u64);
        }
        out.strategy = strategy;
        out.op = op;
        out.targets.clear();
        let tiers = self.cache.tiers(op);
        let got = tiers
            .primary
            .pick(&req, need, &self.slots, &mut self.scratch, &mut out.targets);
        let mut flags = RouteFlags {
            degraded: self.degraded,
            ..RouteFlags::default()
        };
        let mut check_states = tiers.primary.any_unhealthy();
        if got < need && !tiers.fallback.is_empty() {
            let more = tiers.fallback.pick(
                &req,
                need - got,
                &self.slots,
                &mut self.scratch,
                &mut out.targets,
            );
            flags.last_resort = more > 0;
            check_states |= more > 0;
        }
        if check_states {
            for t in &out.targets {
                let state = self.backend(*t).map_or(HealthState::Down, Backend::state);
                flags.to_unhealthy |= state != HealthState::Healthy;
                flags.to_down |= state == HealthState::Down;
            }
        }
        out.flags = flags;
    }

    /// Recompute the degraded status and invalidate every routing order.
    fn touch_sets(&mut self) {
        self.degraded = route::is_degraded(&self.slots, &self.by_name, &self.config);
        self.cache.mark(DIRTY_SETS);
    }
}

#[cfg(test)]
mod tests;
