//! The warming engine: access tracking, TTL observations from the key
//! sampler, the preload list and the refresh cap, turned into a ranked
//! candidate queue by [`WarmingEngine::plan`].
//!
//! Round protocol for the IO side: when [`WarmingEngine::refresh_due`],
//! call [`WarmingEngine::begin_round`], probe [`WarmingEngine::probe_list`]
//! with pipelined `PTTL` and feed each reply to
//! [`WarmingEngine::observe_ttl`], then warm what [`WarmingEngine::plan`]
//! returns and report each written key with
//! [`WarmingEngine::note_refreshed`]. The access sampler must not count the
//! console's own `PTTL` / `SET` traffic as accesses, or refreshes would look
//! like real use.

use rustc_hash::{FxHashMap, FxHashSet};

use super::candidate::{Candidate, CandidateReason, Signal, TtlState, Why, make_candidate};
use super::config::{WarmingConfig, WarmingStrategy};
use super::estimate::KeyEstimate;
use super::observe::{Horizon, Known, Observation, Probe};
use super::tracker::AccessTracker;
use crate::engines::intern::key_hash;
use crate::engines::{Timestamp, cmp_f64};

/// Most keys held in the preload list (a rule's hot-keys query is bounded).
pub const MAX_PRELOAD_KEYS: usize = 1 << 20;

/// The warming engine (pure: the IO that probes and writes keys lives elsewhere).
#[derive(Debug, Clone)]
pub struct WarmingEngine {
    config: WarmingConfig,
    tracker: AccessTracker,
    observations: FxHashMap<u64, Observation>,
    preload: Vec<(u64, Box<str>)>,
    preload_set: FxHashSet<u64>,
    last_round: Option<Timestamp>,
}

impl WarmingEngine {
    /// An engine with `config` (sanitized first).
    pub fn new(config: &WarmingConfig) -> Self {
        let mut config = config.sanitized();
        config.max_refreshes_without_access = config.max_refreshes_without_access.max(1);
        let tracker = AccessTracker::new(config.tracker_capacity, config.decay_half_life_secs);
        Self {
            config,
            tracker,
            observations: FxHashMap::default(),
            preload: Vec::new(),
            preload_set: FxHashSet::default(),
            last_round: None,
        }
    }

    /// The (sanitized) configuration in force.
    pub fn config(&self) -> &WarmingConfig {
        &self.config
    }

    /// Switch strategy at run time.
    pub fn set_strategy(&mut self, strategy: WarmingStrategy) {
        self.config.strategy = strategy;
    }

    /// Move to the next strategy (the console's `m`) and return it.
    pub fn cycle_strategy(&mut self) -> WarmingStrategy {
        self.config.strategy = self.config.strategy.next();
        self.config.strategy
    }

    /// Switch prediction on or off at run time.
    pub fn set_enable_prediction(&mut self, on: bool) {
        self.config.enable_prediction = on;
    }

    /// The access tracker (for the hot-keys view and its error bound).
    pub fn tracker(&self) -> &AccessTracker {
        &self.tracker
    }

    /// Record a real access by hash (the hot path). Tracking runs whatever
    /// the strategy: background refresh needs it too.
    #[inline]
    pub fn record(&mut self, key_hash: u64, now: Timestamp) {
        self.tracker.record(key_hash, now);
    }

    /// Record a real access by name; returns the key hash.
    pub fn record_named(&mut self, name: &str, now: Timestamp) -> u64 {
        self.tracker.record_named(name, now)
    }

    /// Record `n` real accesses of a named key seen since the last sample
    /// (aggregated input, e.g. from a key sampler); returns the key hash.
    pub fn record_named_n(&mut self, name: &str, n: u32, now: Timestamp) -> u64 {
        let hash = self.tracker.record_named(name, now);
        if n > 1 {
            self.tracker.record_weighted(hash, f64::from(n - 1), now);
        }
        hash
    }

    /// Record `n` real accesses of a key known only by its hash (its name
    /// is not known, so it is never warmed).
    pub fn record_n(&mut self, key_hash: u64, n: u32, now: Timestamp) {
        self.tracker.record(key_hash, now);
        if n > 1 {
            self.tracker
                .record_weighted(key_hash, f64::from(n - 1), now);
        }
    }

    /// True when a refresh round is due (first call, or an interval passed).
    pub fn refresh_due(&self, now: Timestamp) -> bool {
        self.last_round
            .is_none_or(|t| now.millis_since(t) >= self.config.refresh_interval_ms())
    }

    /// Mark the start of a refresh round.
    pub fn begin_round(&mut self, now: Timestamp) {
        self.last_round = Some(now);
    }

    /// The named hot keys the sampler should probe this round (hottest
    /// first, at most `hot_key_limit`, rate ≥ `min_hot_rate`).
    pub fn probe_list(&self, now: Timestamp) -> Vec<KeyEstimate> {
        self.hot_keys(now)
            .into_iter()
            .filter(|e| e.name.is_some())
            .collect()
    }

    /// Feed one probe result. The name is attached to the tracked key if
    /// it had none.
    pub fn observe_ttl(&mut self, key_hash: u64, name: &str, state: TtlState, now: Timestamp) {
        self.observe_via(key_hash, name, state, Signal::SamplerTtl, now);
    }

    /// Feed what `signal` learned about a key (a miss event: missing).
    pub fn observe_via(
        &mut self,
        key_hash: u64,
        name: &str,
        state: TtlState,
        signal: Signal,
        now: Timestamp,
    ) {
        self.tracker.set_name(key_hash, name);
        let name = Some(Box::<str>::from(name));
        self.observe(key_hash, Probe::Ttl(state), name, signal, now);
    }

    /// Record `n` accesses of a named key that `signal` reported; the
    /// key's rate is then said to come from it. Returns the key hash.
    pub fn record_via(&mut self, name: &str, n: u32, signal: Signal, now: Timestamp) -> u64 {
        let hash = self.record_named_n(name, n, now);
        self.tracker.set_via(hash, signal.code());
        hash
    }

    /// Add keys to the preload list (duplicates ignored, at most
    /// [`MAX_PRELOAD_KEYS`] pending). Returns how many were added.
    pub fn queue_preload<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) -> usize {
        let mut added = 0;
        for name in names {
            if self.preload_set.len() >= MAX_PRELOAD_KEYS {
                break;
            }
            let hash = key_hash(name);
            if self.preload_set.insert(hash) {
                self.preload.push((hash, name.into()));
                added += 1;
            }
        }
        added
    }

    /// Drop the pending preload list.
    pub fn clear_preload(&mut self) {
        self.preload.clear();
        self.preload_set.clear();
    }

    /// Preload keys not yet warmed.
    pub fn preload_pending(&self) -> usize {
        self.preload_set.len()
    }

    /// Warmed preload keys leave `preload_set` at once and the list lazily
    /// (amortised O(1) per key, so warming a 100k-key preload stays linear).
    fn compact_preload(&mut self) {
        if self.preload.len() <= self.preload_set.len().saturating_mul(2).saturating_add(64) {
            return;
        }
        let mut kept = FxHashSet::default();
        let live = &self.preload_set;
        self.preload
            .retain(|(h, _)| live.contains(h) && kept.insert(*h));
    }

    /// Report that warming wrote `key_hash`: it leaves the preload list, its
    /// refresh count (since the last real access) goes up, and it is not
    /// planned again until a newer probe. Returns that refresh count.
    pub fn note_refreshed(&mut self, key_hash: u64, now: Timestamp) -> Option<u8> {
        if self.preload_set.remove(&key_hash) {
            self.compact_preload();
        }
        let count = self.tracker.note_refreshed(key_hash)?;
        let name = self
            .observations
            .get_mut(&key_hash)
            .and_then(|o| o.name.take())
            .or_else(|| self.tracker.name(key_hash).map(Box::from));
        let signal = self
            .observations
            .get(&key_hash)
            .map_or(Signal::Probe, |o| o.signal);
        self.observe(key_hash, Probe::Warmed, name, signal, now);
        Some(count)
    }

    /// The candidate queue at `now`, best first (score desc, then reason,
    /// then name, then hash), one candidate per key, gated by the strategy:
    /// Expiring needs BackgroundRefresh; Predicted and MissingHot need
    /// Predictive and `enable_prediction`; Preload needs Preload. `None`
    /// plans nothing. A key warmed `max_refreshes_without_access` times with
    /// no real access since is left out of every tracking-based reason
    /// (only an explicit preload list may still name it).
    pub fn plan(&self, now: Timestamp) -> Vec<Candidate> {
        let cfg = &self.config;
        let refresh = cfg.strategy.includes_refresh();
        let predictive = cfg.strategy.includes_predictive() && cfg.enable_prediction;
        let interval_ms = cfg.refresh_interval_ms() as f64;
        let threshold_ms = cfg.refresh_threshold_ms();
        let horizon = self.horizon();
        let mut out = Vec::new();
        let mut seen = FxHashSet::default();

        if refresh || predictive {
            for (&hash, obs) in &self.observations {
                let Some(est) = self.hot_estimate(hash, now) else {
                    continue;
                };
                let reason = match obs.known(now, horizon) {
                    Known::Missing => CandidateReason::MissingHot { rate: est.rate },
                    Known::Expiring(left) => CandidateReason::Expiring { time_left_ms: left },
                    Known::Present | Known::Unknown => continue,
                };
                let allowed = match reason {
                    CandidateReason::Expiring { .. } => refresh,
                    _ => predictive,
                };
                if allowed {
                    let name = obs.name.as_deref().map(str::to_owned).or(est.name.clone());
                    seen.insert(hash);
                    let why = Why {
                        reason,
                        signal: obs.signal,
                        rate: est.rate,
                    };
                    out.push(make_candidate(hash, name, why, interval_ms, threshold_ms));
                }
            }
        }

        if predictive {
            for est in self.hot_keys(now) {
                let known = self
                    .observations
                    .get(&est.key_hash)
                    .is_some_and(|o| o.known(now, horizon) != Known::Unknown);
                if known || est.refreshes_since_access >= cfg.max_refreshes_without_access {
                    continue;
                }
                seen.insert(est.key_hash);
                let why = Why {
                    reason: CandidateReason::Predicted { rate: est.rate },
                    signal: self
                        .tracker
                        .via(est.key_hash)
                        .map_or(Signal::SamplerHeat, Signal::from_code),
                    rate: est.rate,
                };
                out.push(make_candidate(
                    est.key_hash,
                    est.name,
                    why,
                    interval_ms,
                    threshold_ms,
                ));
            }
        }

        if cfg.strategy.includes_preload() {
            for (hash, name) in &self.preload {
                if !self.preload_set.contains(hash) || !seen.insert(*hash) {
                    continue;
                }
                let rate = self.tracker.estimate(*hash, now).map_or(0.0, |e| e.rate);
                let why = Why {
                    reason: CandidateReason::Preload,
                    signal: Signal::Postgres,
                    rate,
                };
                let name = Some(name.to_string());
                out.push(make_candidate(*hash, name, why, interval_ms, threshold_ms));
            }
        }

        // Keys that miss by the server's own word lead, then by score.
        let exact = |c: &Candidate| {
            !(matches!(c.reason, CandidateReason::MissingHot { .. })
                && c.signal == Signal::MissEvents)
        };
        out.sort_by(|a, b| {
            exact(a)
                .cmp(&exact(b))
                .then_with(|| cmp_f64(b.score, a.score))
                .then_with(|| a.reason.rank().cmp(&b.reason.rank()))
                .then_with(|| match (&a.name, &b.name) {
                    (Some(x), Some(y)) => x.cmp(y),
                    (x, y) => y.is_some().cmp(&x.is_some()),
                })
                .then_with(|| a.key_hash.cmp(&b.key_hash))
        });
        out
    }

    /// Approximate heap memory held by the engine, in bytes.
    pub fn approx_bytes(&self) -> usize {
        let obs =
            self.observations.capacity() * (std::mem::size_of::<(u64, Observation)>() + 1 + 32);
        let preload = self.preload.capacity() * (std::mem::size_of::<(u64, Box<str>)>() + 32)
            + self.preload_set.capacity() * 9;
        self.tracker.approx_bytes() + obs + preload
    }

    // ----- internals -----

    /// Hot keys: top `hot_key_limit` with rate ≥ `min_hot_rate`.
    fn hot_keys(&self, now: Timestamp) -> Vec<KeyEstimate> {
        let mut top = self.tracker.top_k(self.config.hot_key_limit, now);
        top.retain(|e| e.rate >= self.config.min_hot_rate && e.rate > 0.0);
        top
    }

    /// A tracked key that is hot and under the refresh cap.
    fn hot_estimate(&self, hash: u64, now: Timestamp) -> Option<KeyEstimate> {
        let est = self.tracker.estimate(hash, now)?;
        let hot = est.rate >= self.config.min_hot_rate && est.rate > 0.0;
        let capped = est.refreshes_since_access >= self.config.max_refreshes_without_access;
        (hot && !capped).then_some(est)
    }

    /// How long each kind of knowledge about a key holds.
    fn horizon(&self) -> Horizon {
        let interval = self.config.refresh_interval_ms();
        Horizon {
            missing_ms: interval.saturating_mul(2),
            present_ms: interval
                .saturating_mul(2)
                .max(self.config.decay_half_life_secs.saturating_mul(1000)),
            threshold_ms: self.config.refresh_threshold_ms(),
        }
    }

    fn observe(
        &mut self,
        hash: u64,
        probe: Probe,
        name: Option<Box<str>>,
        signal: Signal,
        now: Timestamp,
    ) {
        let obs = Observation {
            probe,
            at: now,
            name,
            signal,
        };
        self.observations.insert(hash, obs);
        let cap = self.config.hot_key_limit.saturating_mul(2).max(256);
        if self.observations.len() > cap.saturating_mul(2) {
            self.prune_observations(cap, now);
        }
    }

    /// Drop what says nothing any more, then keep `cap`: hot keys' first
    /// (a key sampler sights every key, cold ones too; they must not push
    /// out what the queue is built from), then the newest (ties by hash).
    fn prune_observations(&mut self, cap: usize, now: Timestamp) {
        let horizon = self.horizon();
        self.observations
            .retain(|_, o| o.known(now, horizon) != Known::Unknown);
        if self.observations.len() <= cap {
            return;
        }
        let mut ranked: Vec<(bool, Timestamp, u64)> = self
            .observations
            .iter()
            .map(|(h, o)| (self.hot_estimate(*h, now).is_none(), o.at, *h))
            .collect();
        ranked.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(b.1.cmp(&a.1)).then(a.2.cmp(&b.2)));
        for (_, _, h) in ranked.iter().skip(cap) {
            self.observations.remove(h);
        }
    }
}

#[cfg(test)]
#[path = "planner_tests.rs"]
mod tests;
