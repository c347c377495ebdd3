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
use serde::{Deserialize, Serialize};

use super::config::{WarmingConfig, WarmingStrategy};
use super::estimate::KeyEstimate;
use super::tracker::AccessTracker;
use crate::engines::intern::key_hash;
use crate::engines::{Timestamp, cmp_f64};

/// Most keys held in the preload list (a rule's hot-keys query is bounded).
pub const MAX_PRELOAD_KEYS: usize = 1 << 20;

/// What the sampler learned about a key (from `PTTL`, or `EXISTS`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TtlState {
    /// The key does not exist (`PTTL` −2).
    Missing,
    /// The key exists without an expiry (`PTTL` −1).
    Persistent,
    /// The key expires in this many milliseconds.
    ExpiresIn(u64),
}

impl TtlState {
    /// Decode a `PTTL` reply: −1 is persistent, ≥ 0 a TTL, anything else
    /// (−2, or a value no server sends) missing.
    pub fn from_pttl(pttl: i64) -> Self {
        match pttl {
            -1 => TtlState::Persistent,
            n if n >= 0 => TtlState::ExpiresIn(n.unsigned_abs()),
            _ => TtlState::Missing,
        }
    }
}

/// Why a key is in the warming queue.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub enum CandidateReason {
    /// Hot key whose TTL (as observed, minus time since) is under the
    /// refresh threshold; refreshed in place (BackgroundRefresh).
    Expiring {
        /// Estimated milliseconds until expiry.
        time_left_ms: u64,
    },
    /// Hot key whose presence is unknown (not probed lately); safe to warm
    /// with `SET NX` (Predictive).
    Predicted {
        /// Decayed access rate (accesses/s).
        rate: f64,
    },
    /// Listed for preload (Preload).
    Preload,
    /// Hot key observed missing, or whose observed TTL has run out since; every
    /// access misses now (part of Predictive: the seed ignored these).
    MissingHot {
        /// Decayed access rate (accesses/s).
        rate: f64,
    },
}

impl CandidateReason {
    /// Tie-break rank: missing before expiring before predicted before preload.
    fn rank(&self) -> u8 {
        match self {
            CandidateReason::MissingHot { .. } => 0,
            CandidateReason::Expiring { .. } => 1,
            CandidateReason::Predicted { .. } => 2,
            CandidateReason::Preload => 3,
        }
    }

    /// Short label for the queue's reason column.
    pub fn label(&self) -> &'static str {
        match self {
            CandidateReason::Expiring { .. } => "expiring",
            CandidateReason::Predicted { .. } => "predicted",
            CandidateReason::Preload => "preload",
            CandidateReason::MissingHot { .. } => "missing-hot",
        }
    }
}

/// One key to warm, with why and how much it is expected to help.
///
/// Heuristics (rates are decayed accesses/s, I = refresh interval):
/// * MissingHot: score = rate; misses avoided ≈ rate · I (it stays missing
///   until the application or our next round refills it).
/// * Expiring: score = rate · urgency, urgency = 1 − time_left/threshold
///   (at least 0.1); misses avoided ≈ rate · max(0, I − time_left) (the gap
///   between expiry and our next round).
/// * Predicted: presence unknown, counted as a coin flip: score = rate / 2,
///   misses avoided ≈ rate · I / 2.
/// * Preload: score = rate / 4 (rate 0 when untracked), misses ≈ rate · I / 2.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// Stable key hash.
    pub key_hash: u64,
    /// Key name; a candidate without one can be shown but not warmed.
    pub name: Option<String>,
    /// Why the key is queued.
    pub reason: CandidateReason,
    /// Decayed access rate (accesses/s), 0 when untracked.
    pub rate: f64,
    /// Ranking score (higher first).
    pub score: f64,
    /// Estimated cache misses avoided by warming now.
    pub est_misses_avoided: f64,
}

/// Last thing known about a probed key.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Probe {
    Ttl(TtlState),
    /// We wrote it ourselves; no candidate until a newer probe or staleness.
    Warmed,
}

#[derive(Debug, Clone)]
struct Observation {
    probe: Probe,
    at: Timestamp,
    name: Option<Box<str>>,
}

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
        self.tracker.set_name(key_hash, name);
        let name = Some(Box::<str>::from(name));
        self.observe(key_hash, Probe::Ttl(state), name, now);
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
        self.observe(key_hash, Probe::Warmed, name, now);
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
        let mut out = Vec::new();
        let mut seen = FxHashSet::default();

        if refresh || predictive {
            for (&hash, obs) in &self.observations {
                if self.is_stale(obs, now) {
                    continue;
                }
                let Some(est) = self.hot_estimate(hash, now) else {
                    continue;
                };
                let reason = match obs.probe {
                    Probe::Warmed | Probe::Ttl(TtlState::Persistent) => continue,
                    Probe::Ttl(TtlState::Missing) => CandidateReason::MissingHot { rate: est.rate },
                    Probe::Ttl(TtlState::ExpiresIn(ms)) => {
                        match ms.saturating_sub(now.millis_since(obs.at)) {
                            0 => CandidateReason::MissingHot { rate: est.rate },
                            left if left < threshold_ms => {
                                CandidateReason::Expiring { time_left_ms: left }
                            }
                            _ => continue,
                        }
                    }
                };
                let allowed = match reason {
                    CandidateReason::Expiring { .. } => refresh,
                    _ => predictive,
                };
                if allowed {
                    let name = obs.name.as_deref().map(str::to_owned).or(est.name.clone());
                    seen.insert(hash);
                    out.push(make_candidate(
                        hash,
                        name,
                        reason,
                        est.rate,
                        interval_ms,
                        threshold_ms,
                    ));
                }
            }
        }

        if predictive {
            for est in self.hot_keys(now) {
                let fresh = self
                    .observations
                    .get(&est.key_hash)
                    .is_some_and(|o| !self.is_stale(o, now));
                if fresh || est.refreshes_since_access >= cfg.max_refreshes_without_access {
                    continue;
                }
                seen.insert(est.key_hash);
                let reason = CandidateReason::Predicted { rate: est.rate };
                out.push(make_candidate(
                    est.key_hash,
                    est.name,
                    reason,
                    est.rate,
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
                let name = Some(name.to_string());
                let reason = CandidateReason::Preload;
                out.push(make_candidate(
                    *hash,
                    name,
                    reason,
                    rate,
                    interval_ms,
                    threshold_ms,
                ));
            }
        }

        out.sort_by(|a, b| {
            cmp_f64(b.score, a.score)
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

    /// Observations older than two refresh intervals say nothing reliable.
    fn is_stale(&self, obs: &Observation, now: Timestamp) -> bool {
        now.millis_since(obs.at) > self.config.refresh_interval_ms().saturating_mul(2)
    }

    fn observe(&mut self, hash: u64, probe: Probe, name: Option<Box<str>>, now: Timestamp) {
        self.observations.insert(
            hash,
            Observation {
                probe,
                at: now,
                name,
            },
        );
        let cap = self.config.hot_key_limit.saturating_mul(2).max(256);
        if self.observations.len() > cap.saturating_mul(2) {
            self.prune_observations(cap, now);
        }
    }

    /// Drop stale observations, then keep the `cap` newest (ties by hash).
    fn prune_observations(&mut self, cap: usize, now: Timestamp) {
        let stale_ms = self.config.refresh_interval_ms().saturating_mul(2);
        self.observations
            .retain(|_, o| now.millis_since(o.at) <= stale_ms);
        if self.observations.len() <= cap {
            return;
        }
        let mut ages: Vec<(Timestamp, u64)> =
            self.observations.iter().map(|(h, o)| (o.at, *h)).collect();
        ages.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        for (_, h) in ages.iter().skip(cap) {
            self.observations.remove(h);
        }
    }
}

fn make_candidate(
    key_hash: u64,
    name: Option<String>,
    reason: CandidateReason,
    rate: f64,
    interval_ms: f64,
    threshold_ms: u64,
) -> Candidate {
    let interval_s = interval_ms / 1e3;
    let (score, misses) = match reason {
        CandidateReason::MissingHot { .. } => (rate, rate * interval_s),
        CandidateReason::Expiring { time_left_ms } => {
            let urgency = if threshold_ms == 0 {
                1.0
            } else {
                (1.0 - time_left_ms as f64 / threshold_ms as f64).clamp(0.1, 1.0)
            };
            let gap_s = (interval_ms - time_left_ms as f64).max(0.0) / 1e3;
            (rate * urgency, rate * gap_s)
        }
        CandidateReason::Predicted { .. } => (rate * 0.5, rate * interval_s * 0.5),
        CandidateReason::Preload => (rate * 0.25, rate * interval_s * 0.5),
    };
    let clean = |x: f64| if x.is_finite() && x > 0.0 { x } else { 0.0 };
    Candidate {
        key_hash,
        name,
        reason,
        rate: clean(rate),
        score: clean(score),
        est_misses_avoided: clean(misses),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const T0: Timestamp = Timestamp::from_secs(1_700_000_000);

    fn engine(strategy: WarmingStrategy) -> WarmingEngine {
        WarmingEngine::new(&WarmingConfig {
            strategy,
            ..WarmingConfig::default()
        })
    }

    /// Four hot keys (expiring, missing, unprobed, persistent) and a preload key.
    fn scenario(strategy: WarmingStrategy) -> WarmingEngine {
        let mut e = engine(strategy);
        for _ in 0..100 {
            for k in ["hot:exp", "hot:miss", "hot:unknown", "hot:persist"] {
                e.record_named(k, T0);
            }
        }
        e.observe_ttl(
            key_hash("hot:exp"),
            "hot:exp",
            TtlState::ExpiresIn(30_000),
            T0,
        );
        e.observe_ttl(key_hash("hot:miss"), "hot:miss", TtlState::Missing, T0);
        e.observe_ttl(
            key_hash("hot:persist"),
            "hot:persist",
            TtlState::Persistent,
            T0,
        );
        e.queue_preload(["pre:1"]);
        e
    }

    fn reasons(plan: &[Candidate]) -> Vec<(&str, &'static str)> {
        plan.iter()
            .map(|c| (c.name.as_deref().unwrap_or("?"), c.reason.label()))
            .collect()
    }

    #[test]
    fn seed_strategy_gating_in_plan() {
        let expect: [(WarmingStrategy, &[&str]); 5] = [
            (WarmingStrategy::None, &[]),
            (WarmingStrategy::Preload, &["pre:1"]),
            (WarmingStrategy::BackgroundRefresh, &["hot:exp"]),
            (WarmingStrategy::Predictive, &["hot:miss", "hot:unknown"]),
            (
                WarmingStrategy::All,
                &["hot:miss", "hot:exp", "hot:unknown", "pre:1"],
            ),
        ];
        for (s, keys) in expect {
            let plan = scenario(s).plan(T0);
            let got: Vec<&str> = reasons(&plan).iter().map(|r| r.0).collect();
            assert_eq!(got, keys, "{s}");
        }
        let all = scenario(WarmingStrategy::All).plan(T0);
        assert_eq!(
            reasons(&all),
            [
                ("hot:miss", "missing-hot"),
                ("hot:exp", "expiring"),
                ("hot:unknown", "predicted"),
                ("pre:1", "preload"),
            ]
        );
        assert!(matches!(
            all[1].reason,
            CandidateReason::Expiring {
                time_left_ms: 30_000
            }
        ));
    }

    #[test]
    fn seed_enable_prediction_off_keeps_refresh_only() {
        let mut e = scenario(WarmingStrategy::All);
        e.set_enable_prediction(false);
        let plan = e.plan(T0);
        let got: Vec<&str> = reasons(&plan).iter().map(|r| r.0).collect();
        assert_eq!(got, ["hot:exp", "pre:1"]);
    }

    #[test]
    fn seed_refresh_threshold_is_strict_and_needs_positive_ttl() {
        let mut e = engine(WarmingStrategy::BackgroundRefresh);
        let mk = |s: &str| s.to_string();
        let keys = [mk("a"), mk("b"), mk("c")];
        for _ in 0..50 {
            for k in &keys {
                e.record_named(k, T0);
            }
        }
        e.observe_ttl(key_hash("a"), "a", TtlState::ExpiresIn(299_999), T0);
        e.observe_ttl(key_hash("b"), "b", TtlState::ExpiresIn(300_000), T0);
        e.observe_ttl(key_hash("c"), "c", TtlState::Persistent, T0);
        let plan = e.plan(T0);
        assert_eq!(reasons(&plan), [("a", "expiring")]);
        // Time passes: b drops under the threshold.
        let later = e.plan(T0.add_secs(1));
        assert_eq!(later.len(), 2);
        assert_eq!(TtlState::from_pttl(-2), TtlState::Missing);
        assert_eq!(TtlState::from_pttl(-1), TtlState::Persistent);
        assert_eq!(TtlState::from_pttl(5), TtlState::ExpiresIn(5));
        assert_eq!(TtlState::from_pttl(-7), TtlState::Missing);
    }

    #[test]
    fn fixes_seed_missing_hot_keys_ignored() {
        let mut e = engine(WarmingStrategy::Predictive);
        for _ in 0..10 {
            e.record_named("gone", T0);
            e.record_named("expired", T0);
        }
        e.observe_ttl(key_hash("gone"), "gone", TtlState::Missing, T0);
        e.observe_ttl(key_hash("expired"), "expired", TtlState::ExpiresIn(500), T0);
        let plan = e.plan(T0.add_secs(1));
        assert_eq!(reasons(&plan).len(), 2);
        for c in &plan {
            assert!(matches!(c.reason, CandidateReason::MissingHot { rate } if rate > 0.0));
            assert!(c.est_misses_avoided > 0.0 && c.score > 0.0);
        }
    }

    #[test]
    fn fixes_seed_refresh_makes_keys_immortal() {
        let mut e = engine(WarmingStrategy::BackgroundRefresh);
        let h = e.record_named("k", T0);
        for _ in 0..10 {
            e.record(h, T0);
        }
        let mut now = T0;
        for round in 1..=3u8 {
            e.observe_ttl(h, "k", TtlState::ExpiresIn(10_000), now);
            assert_eq!(e.plan(now).len(), 1, "round {round}");
            assert_eq!(e.note_refreshed(h, now), Some(round));
            assert!(e.plan(now).is_empty(), "warmed keys wait for a new probe");
            now = now.add_secs(60);
        }
        e.observe_ttl(h, "k", TtlState::ExpiresIn(10_000), now);
        assert!(e.plan(now).is_empty(), "3 refreshes without access: stop");
        e.record(h, now);
        assert_eq!(e.plan(now).len(), 1, "a real access resets the cap");
    }

    #[test]
    fn cold_and_stale_keys_and_preload_bookkeeping() {
        let mut e = engine(WarmingStrategy::All);
        let cold = e.record_named("cold", T0);
        e.observe_ttl(cold, "cold", TtlState::Missing, T0);
        // One access long ago decays below min_hot_rate.
        let later = T0.add_secs(6 * 3600);
        assert!(e.plan(later).is_empty());

        let h = e.record_named("hot", later);
        for _ in 0..20 {
            e.record(h, later);
        }
        e.observe_ttl(h, "hot", TtlState::Persistent, later);
        assert!(e.plan(later).is_empty());
        // Observations older than two intervals are stale: back to Predicted.
        let stale = later.add_secs(121);
        let plan = e.plan(stale);
        assert_eq!(reasons(&plan), [("hot", "predicted")]);

        assert_eq!(e.queue_preload(["p1", "p2", "p1"]), 2);
        assert_eq!(e.preload_pending(), 2);
        e.note_refreshed(key_hash("p1"), stale);
        assert_eq!(e.preload_pending(), 1);
        e.clear_preload();
        assert_eq!(e.preload_pending(), 0);

        // Warming a large preload list key by key, then re-queueing one.
        let names: Vec<String> = (0..5_000).map(|i| format!("pre:{i}")).collect();
        e.queue_preload(names.iter().map(String::as_str));
        for n in names.iter().skip(1) {
            e.note_refreshed(key_hash(n), stale);
        }
        assert!(e.preload.len() < 200);
        assert_eq!(e.queue_preload(["pre:7", "pre:0"]), 1);
        e.set_strategy(WarmingStrategy::Preload);
        let plan = e.plan(stale);
        assert_eq!(reasons(&plan), [("pre:0", "preload"), ("pre:7", "preload")]);
    }

    #[test]
    fn rounds_probe_list_and_strategy_cycling() {
        let mut e = WarmingEngine::new(&WarmingConfig {
            hot_key_limit: 2,
            ..WarmingConfig::default()
        });
        assert!(e.refresh_due(T0));
        e.begin_round(T0);
        assert!(!e.refresh_due(T0.add_secs(59)));
        assert!(e.refresh_due(T0.add_secs(60)));
        assert!(!e.refresh_due(T0.add_secs(-5)));
        for (k, n) in [("a", 3), ("b", 2), ("c", 1)] {
            for _ in 0..n {
                e.record_named(k, T0);
            }
        }
        e.record(42, T0);
        e.record(42, T0);
        e.record(42, T0);
        e.record(42, T0);
        let probe: Vec<Option<String>> = e.probe_list(T0).into_iter().map(|k| k.name).collect();
        assert_eq!(
            probe,
            [Some("a".to_string())],
            "unnamed 42 cannot be probed"
        );
        e.observe_ttl(42, "forty-two", TtlState::Missing, T0);
        assert_eq!(e.tracker().name(42), Some("forty-two"));
        assert_eq!(e.cycle_strategy(), WarmingStrategy::None);
        assert!(e.plan(T0).is_empty());
        assert_eq!(e.cycle_strategy(), WarmingStrategy::Preload);
    }

    #[test]
    fn observations_stay_bounded() {
        let mut e = WarmingEngine::new(&WarmingConfig {
            hot_key_limit: 10,
            ..WarmingConfig::default()
        });
        for i in 0..10_000 {
            let name = format!("k{i}");
            e.observe_ttl(key_hash(&name), &name, TtlState::Missing, T0.add_millis(i));
        }
        assert!(e.observations.len() <= 4 * 256);
        assert!(e.approx_bytes() > 0);
    }

    #[test]
    fn plan_is_deterministic_and_ties_break_by_name() {
        let build = |order: &[&str]| {
            let mut e = engine(WarmingStrategy::Predictive);
            for k in order {
                e.record_named(k, T0);
            }
            e.plan(T0)
        };
        let a = build(&["z", "m", "a"]);
        let b = build(&["a", "z", "m"]);
        assert_eq!(a, b);
        let names: Vec<_> = a.iter().filter_map(|c| c.name.clone()).collect();
        assert_eq!(names, ["a", "m", "z"]);
    }

    #[derive(Debug, Clone)]
    enum Op {
        Access(u8, i64),
        Observe(u8, i64, i64),
        Refreshed(u8, i64),
        Preload(u8),
        Cycle,
        Plan(i64),
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => (0u8..30, -2_000i64..30_000).prop_map(|(k, dt)| Op::Access(k, dt)),
            2 => (0u8..30, -3i64..400_000, -2_000i64..30_000)
                .prop_map(|(k, ttl, dt)| Op::Observe(k, ttl, dt)),
            1 => (0u8..30, -2_000i64..30_000).prop_map(|(k, dt)| Op::Refreshed(k, dt)),
            1 => (0u8..30).prop_map(Op::Preload),
            1 => Just(Op::Cycle),
            1 => (-100_000i64..400_000).prop_map(Op::Plan),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        #[test]
        fn prop_engine_never_panics_and_plans_are_sorted_and_gated(
            ops in proptest::collection::vec(op(), 0..150),
            cap in 1usize..12,
            max_refresh in 0u8..4,
        ) {
            let mut e = WarmingEngine::new(&WarmingConfig {
                tracker_capacity: cap,
                max_refreshes_without_access: max_refresh,
                ..WarmingConfig::default()
            });
            let mut now = T0;
            for op in ops {
                match op {
                    Op::Access(k, dt) => { now = now.add_millis(dt); e.record_named(&format!("k{k}"), now); }
                    Op::Observe(k, ttl, dt) => {
                        now = now.add_millis(dt);
                        let name = format!("k{k}");
                        e.observe_ttl(key_hash(&name), &name, TtlState::from_pttl(ttl), now);
                    }
                    Op::Refreshed(k, dt) => { now = now.add_millis(dt); e.note_refreshed(key_hash(&format!("k{k}")), now); }
                    Op::Preload(k) => { e.queue_preload([format!("k{k}").as_str()]); }
                    Op::Cycle => { e.cycle_strategy(); }
                    Op::Plan(dt) => {
                        let at = now.add_millis(dt);
                        let plan = e.plan(at);
                        let s = e.config().strategy;
                        let mut hashes = FxHashSet::default();
                        for w in plan.windows(2) {
                            prop_assert!(w[0].score >= w[1].score);
                        }
                        for c in &plan {
                            prop_assert!(hashes.insert(c.key_hash), "one candidate per key");
                            prop_assert!(c.score.is_finite() && c.score >= 0.0);
                            prop_assert!(c.rate.is_finite() && c.est_misses_avoided.is_finite());
                            let ok = match c.reason {
                                CandidateReason::Expiring { time_left_ms } => {
                                    s.includes_refresh() && time_left_ms > 0 && time_left_ms < 300_000
                                }
                                CandidateReason::Preload => s.includes_preload(),
                                _ => s.includes_predictive(),
                            };
                            prop_assert!(ok, "{:?} under {:?}", c.reason, s);
                            if !matches!(c.reason, CandidateReason::Preload) {
                                let r = e.tracker().refreshes(c.key_hash).unwrap_or(0);
                                prop_assert!(r < max_refresh.max(1));
                            }
                        }
                    }
                }
            }
            prop_assert_eq!(e.tracker().check_invariants(), Ok(()));
        }
    }
}
