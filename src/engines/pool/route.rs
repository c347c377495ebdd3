//! Routing preview: cached candidate orders per operation and the seven
//! strategies picking from them.
//!
//! Candidates come in two tiers. The *primary* tier holds the backends a
//! route may use normally; the *fallback* tier (only with `auto_failover`
//! and only while the pool is degraded) holds the `Suspect`/`Recovering`
//! ones, used as a last resort for the slots the primary tier cannot fill.
//! Every order is rebuilt only when configuration, health, drain, load or
//! latency change, so a decision is a walk over at most the candidates.

use serde::{Deserialize, Serialize};

use super::backend::{Backend, BackendId};
use super::config::{Op, PoolConfig, RoutingStrategy};
use super::hash::rendezvous_score;
use super::health::HealthState;
use crate::engines::cmp_f64;

/// What a route had to do beyond the normal rules, for the screen to show.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteFlags {
    /// The pool is degraded (fewer than `min_healthy_backends` healthy, undrained).
    pub degraded: bool,
    /// Some target came from the last-resort tier (`Suspect`/`Recovering`
    /// while degraded, with `auto_failover`).
    pub last_resort: bool,
    /// Some target is `Down`: only possible with `auto_failover` off.
    pub to_down: bool,
    /// Some target is not `Healthy` (last resort, or failover off).
    pub to_unhealthy: bool,
}

/// One routing decision of the what-if model.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Route {
    /// Strategy used.
    pub strategy: RoutingStrategy,
    /// Operation routed (which enable flag was honoured).
    pub op: Op,
    /// Chosen backends, best first; empty when nothing is eligible.
    pub targets: Vec<BackendId>,
    /// See [`RouteFlags`].
    pub flags: RouteFlags,
}

/// Parameters of one decision.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Request {
    pub key_hash: u64,
    pub size: u64,
    pub strategy: RoutingStrategy,
    pub rr_base: u64,
}

pub(crate) const DIRTY_SETS: u8 = 1;
pub(crate) const DIRTY_LOAD: u8 = 2;
pub(crate) const DIRTY_LATENCY: u8 = 4;

/// The orders of one tier, all over the same set of backend ids.
#[derive(Debug, Clone, Default)]
pub(crate) struct Orders {
    by_name: Vec<u32>,
    by_priority: Vec<u32>,
    by_load: Vec<u32>,
    by_cost: Vec<u32>,
    by_latency: Vec<u32>,
    /// Name hashes parallel to `by_name`, so hashing never touches a backend.
    name_hashes: Vec<u64>,
    /// Some backend in the tier is not `Healthy` (else flags need no lookups).
    any_unhealthy: bool,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct Tiers {
    pub primary: Orders,
    pub fallback: Orders,
}

/// Candidate orders per operation, rebuilt lazily from dirty bits.
#[derive(Debug, Clone)]
pub(crate) struct RouteCache {
    read: Tiers,
    write: Tiers,
    dirty: u8,
}

impl Default for RouteCache {
    fn default() -> Self {
        Self {
            read: Tiers::default(),
            write: Tiers::default(),
            dirty: DIRTY_SETS,
        }
    }
}

fn slot(slots: &[Option<Backend>], id: u32) -> Option<&Backend> {
    slots.get(id as usize).and_then(Option::as_ref)
}

fn load_of(slots: &[Option<Backend>], id: u32) -> f64 {
    slot(slots, id).and_then(|b| b.config.load()).unwrap_or(0.0)
}

fn latency_of(slots: &[Option<Backend>], id: u32) -> Option<f64> {
    slot(slots, id).and_then(|b| b.latency.effective())
}

impl Orders {
    fn clear(&mut self) {
        self.by_name.clear();
        self.by_priority.clear();
        self.by_load.clear();
        self.by_cost.clear();
        self.by_latency.clear();
        self.name_hashes.clear();
        self.any_unhealthy = false;
    }

    /// Rebuild every order from `by_name` (stable sorts keep name order on ties).
    fn sort_all(&mut self, slots: &[Option<Backend>]) {
        self.name_hashes.clear();
        self.name_hashes.extend(
            self.by_name
                .iter()
                .map(|&id| slot(slots, id).map_or(0, |b| b.name_hash)),
        );
        self.any_unhealthy = self
            .by_name
            .iter()
            .any(|&id| slot(slots, id).is_none_or(|b| b.state() != HealthState::Healthy));
        self.by_priority.clone_from(&self.by_name);
        self.by_priority
            .sort_by_key(|&id| std::cmp::Reverse(slot(slots, id).map_or(0, |b| b.config.priority)));
        self.by_cost.clone_from(&self.by_name);
        self.by_cost.sort_by(|&a, &b| {
            let key = |id| slot(slots, id).map_or(f64::INFINITY, |b| b.config.cost_key());
            cmp_f64(key(a), key(b))
        });
        self.sort_load(slots);
        self.sort_latency(slots);
    }

    fn sort_load(&mut self, slots: &[Option<Backend>]) {
        self.by_load.clone_from(&self.by_name);
        self.by_load
            .sort_by(|&a, &b| cmp_f64(load_of(slots, a), load_of(slots, b)));
    }

    /// Measured (or prior) latency ascending; backends without one go last.
    fn sort_latency(&mut self, slots: &[Option<Backend>]) {
        self.by_latency.clone_from(&self.by_name);
        self.by_latency.sort_by(
            |&a, &b| match (latency_of(slots, a), latency_of(slots, b)) {
                (Some(x), Some(y)) => cmp_f64(x, y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            },
        );
    }

    /// True when some backend of the tier is not `Healthy`.
    pub(crate) fn any_unhealthy(&self) -> bool {
        self.any_unhealthy
    }

    /// True when the tier has no backend.
    pub(crate) fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }

    /// Append up to `need` picks of `req.strategy` to `out`; returns how many.
    pub(crate) fn pick(
        &self,
        req: &Request,
        need: usize,
        slots: &[Option<Backend>],
        scratch: &mut Vec<(u64, u32)>,
        out: &mut Vec<BackendId>,
    ) -> usize {
        let before = out.len();
        let take_first = |order: &[u32], out: &mut Vec<BackendId>| {
            out.extend(order.iter().take(need).map(|&id| BackendId(id)));
        };
        match req.strategy {
            RoutingStrategy::RoundRobin => {
                let n = self.by_name.len() as u64;
                if n > 0 {
                    for i in 0..need.min(self.by_name.len()) {
                        let idx = (req.rr_base.wrapping_add(i as u64) % n) as usize;
                        if let Some(&id) = self.by_name.get(idx) {
                            out.push(BackendId(id));
                        }
                    }
                }
            }
            RoutingStrategy::SizeBased => {
                let fits =
                    |id: &&u32| slot(slots, **id).is_some_and(|b| b.config.accepts_size(req.size));
                out.extend(
                    self.by_priority
                        .iter()
                        .filter(fits)
                        .take(need)
                        .map(|&id| BackendId(id)),
                );
            }
            RoutingStrategy::LeastLoaded => take_first(&self.by_load, out),
            RoutingStrategy::CostAware => take_first(&self.by_cost, out),
            RoutingStrategy::LatencyAware => take_first(&self.by_latency, out),
            RoutingStrategy::Replicated => take_first(&self.by_name, out),
            RoutingStrategy::ConsistentHash => self.top_scores(req.key_hash, need, scratch, out),
        }
        out.len().saturating_sub(before)
    }

    /// Rendezvous hashing: the `need` highest scores, ties to the smaller name.
    fn top_scores(
        &self,
        key_hash: u64,
        need: usize,
        scratch: &mut Vec<(u64, u32)>,
        out: &mut Vec<BackendId>,
    ) {
        let pairs = self.by_name.iter().zip(&self.name_hashes);
        if need == 1 {
            let mut best: Option<(u64, u32)> = None;
            for (&id, &h) in pairs {
                let s = rendezvous_score(key_hash, h);
                if best.is_none_or(|(b, _)| s > b) {
                    best = Some((s, id));
                }
            }
            out.extend(best.map(|(_, id)| BackendId(id)));
            return;
        }
        if need == 0 {
            return;
        }
        scratch.clear();
        for (&id, &h) in pairs {
            let s = rendezvous_score(key_hash, h);
            if scratch.len() >= need {
                match scratch.last() {
                    Some(&(worst, _)) if s > worst => {
                        scratch.pop();
                    }
                    _ => continue,
                }
            }
            let at = scratch.partition_point(|e| e.0 >= s);
            scratch.insert(at, (s, id));
        }
        out.extend(scratch.iter().map(|&(_, id)| BackendId(id)));
    }
}

impl RouteCache {
    /// Note that something routing depends on changed.
    pub(crate) fn mark(&mut self, bits: u8) {
        self.dirty |= bits;
    }

    /// The tiers for `op` (valid after [`RouteCache::refresh`]).
    pub(crate) fn tiers(&self, op: Op) -> &Tiers {
        match op {
            Op::Read => &self.read,
            Op::Write => &self.write,
        }
    }

    /// Bring the cache up to date; a no-op when nothing changed.
    /// `degraded` is the pool's current status (kept by the pool).
    pub(crate) fn refresh(
        &mut self,
        slots: &[Option<Backend>],
        by_name: &[u32],
        cfg: &PoolConfig,
        degraded: bool,
    ) {
        if self.dirty == 0 {
            return;
        }
        if self.dirty & DIRTY_SETS != 0 {
            for op in [Op::Read, Op::Write] {
                let tiers = match op {
                    Op::Read => &mut self.read,
                    Op::Write => &mut self.write,
                };
                tiers.primary.clear();
                tiers.fallback.clear();
                for &id in by_name {
                    let Some(b) = slot(slots, id) else { continue };
                    if b.drained || !b.config.enabled_for(op) {
                        continue;
                    }
                    match (cfg.auto_failover, b.state()) {
                        (false, _) | (true, HealthState::Healthy) => tiers.primary.by_name.push(id),
                        (true, HealthState::Suspect | HealthState::Recovering) if degraded => {
                            tiers.fallback.by_name.push(id);
                        }
                        (true, _) => {}
                    }
                }
                tiers.primary.sort_all(slots);
                tiers.fallback.sort_all(slots);
            }
        } else {
            for tiers in [&mut self.read, &mut self.write] {
                for orders in [&mut tiers.primary, &mut tiers.fallback] {
                    if self.dirty & DIRTY_LOAD != 0 {
                        orders.sort_load(slots);
                    }
                    if self.dirty & DIRTY_LATENCY != 0 {
                        orders.sort_latency(slots);
                    }
                }
            }
        }
        self.dirty = 0;
    }
}

/// Degraded: fewer than `min_healthy_backends` backends are `Healthy` and
/// not drained (enable flags do not matter: this is the pool's status).
pub(crate) fn is_degraded(slots: &[Option<Backend>], by_name: &[u32], cfg: &PoolConfig) -> bool {
    let healthy = by_name
        .iter()
        .filter_map(|&id| slot(slots, id))
        .filter(|b| !b.drained && b.state() == HealthState::Healthy)
        .count();
    healthy < cfg.min_healthy_backends
}
