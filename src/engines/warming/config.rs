//! Warming strategies and configuration (the seed's defaults, plus the
//! tracker's bounds and the refresh cap).

use serde::{Deserialize, Serialize};

/// Which warming mechanisms are switched on; `All` combines the three.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum WarmingStrategy {
    /// No warming at all: `plan` yields nothing.
    None,
    /// Load the preload list (e.g. a rule's hot-keys query) once.
    Preload,
    /// Refresh tracked hot keys before their TTL runs out.
    BackgroundRefresh,
    /// Load hot keys that are missing or not known to be cached.
    Predictive,
    /// Preload, background refresh and prediction together (the seed's default).
    #[default]
    All,
}

impl WarmingStrategy {
    /// Every strategy, in the order `next` cycles through them.
    pub const ALL: [WarmingStrategy; 5] = [
        WarmingStrategy::None,
        WarmingStrategy::Preload,
        WarmingStrategy::BackgroundRefresh,
        WarmingStrategy::Predictive,
        WarmingStrategy::All,
    ];

    /// True when preload candidates are planned.
    pub const fn includes_preload(self) -> bool {
        matches!(self, WarmingStrategy::Preload | WarmingStrategy::All)
    }

    /// True when expiring hot keys are refreshed.
    pub const fn includes_refresh(self) -> bool {
        matches!(
            self,
            WarmingStrategy::BackgroundRefresh | WarmingStrategy::All
        )
    }

    /// True when predicted and missing-hot keys are planned (still subject to
    /// `WarmingConfig::enable_prediction`).
    pub const fn includes_predictive(self) -> bool {
        matches!(self, WarmingStrategy::Predictive | WarmingStrategy::All)
    }

    /// The next strategy in the cycle (the console's `m` key).
    pub const fn next(self) -> Self {
        match self {
            WarmingStrategy::None => WarmingStrategy::Preload,
            WarmingStrategy::Preload => WarmingStrategy::BackgroundRefresh,
            WarmingStrategy::BackgroundRefresh => WarmingStrategy::Predictive,
            WarmingStrategy::Predictive => WarmingStrategy::All,
            WarmingStrategy::All => WarmingStrategy::None,
        }
    }

    /// Short label for the status line.
    pub const fn label(self) -> &'static str {
        match self {
            WarmingStrategy::None => "none",
            WarmingStrategy::Preload => "preload",
            WarmingStrategy::BackgroundRefresh => "background-refresh",
            WarmingStrategy::Predictive => "predictive",
            WarmingStrategy::All => "all",
        }
    }
}

impl std::fmt::Display for WarmingStrategy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.label())
    }
}

/// Upper bound on tracked keys: slot ids are `u32` and memory must stay sane.
pub const MAX_TRACKER_CAPACITY: usize = 1 << 26;

/// Longest accepted decay half-life (10 years), so λ never underflows to 0.
pub const MAX_HALF_LIFE_SECS: u64 = 10 * 365 * 24 * 3600;

/// Warming configuration. Field names and defaults of the first five follow
/// the seed; the rest bound the tracker and the refresh loop.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WarmingConfig {
    /// Which mechanisms are on.
    pub strategy: WarmingStrategy,
    /// How often the background refresh round runs (seconds).
    pub refresh_interval_secs: u64,
    /// A hot key whose remaining TTL is below this is refreshed (seconds).
    pub refresh_threshold_secs: u64,
    /// Keys per load/write batch (one pipelined round trip each).
    pub batch_size: usize,
    /// Master switch for prediction (`Predicted` and `MissingHot` candidates).
    pub enable_prediction: bool,
    /// Most keys the access tracker follows; memory is bounded by this,
    /// whatever the key cardinality.
    pub tracker_capacity: usize,
    /// Half-life of the decayed access rate (seconds). 10 minutes: long
    /// enough to smooth sampling noise over several 60 s refresh rounds,
    /// short enough that yesterday's hot keys stop being refreshed within
    /// an hour (1/64 of their rate after 60 min).
    pub decay_half_life_secs: u64,
    /// A key refreshed this many times with no real access in between is no
    /// longer refreshed, so refreshing cannot keep a dead key alive forever.
    pub max_refreshes_without_access: u8,
    /// How many of the hottest keys are probed (PTTL / EXISTS) and may be
    /// predicted per round.
    pub hot_key_limit: usize,
    /// Decayed rate (accesses/s) below which a key is not "hot".
    pub min_hot_rate: f64,
}

impl Default for WarmingConfig {
    fn default() -> Self {
        Self {
            strategy: WarmingStrategy::All,
            refresh_interval_secs: 60,
            refresh_threshold_secs: 300,
            batch_size: 100,
            enable_prediction: true,
            tracker_capacity: 100_000,
            decay_half_life_secs: 600,
            max_refreshes_without_access: 3,
            hot_key_limit: 1_000,
            min_hot_rate: 1.0 / 60.0,
        }
    }
}

impl WarmingConfig {
    /// A copy with every field forced into a usable range (hostile or
    /// mistyped config files must not make the engine panic or divide by 0).
    pub fn sanitized(&self) -> Self {
        let min_hot_rate = if self.min_hot_rate.is_finite() && self.min_hot_rate >= 0.0 {
            self.min_hot_rate
        } else {
            0.0
        };
        Self {
            strategy: self.strategy,
            refresh_interval_secs: self.refresh_interval_secs.clamp(1, MAX_HALF_LIFE_SECS),
            refresh_threshold_secs: self.refresh_threshold_secs.min(MAX_HALF_LIFE_SECS),
            batch_size: self.batch_size.max(1),
            enable_prediction: self.enable_prediction,
            tracker_capacity: self.tracker_capacity.clamp(1, MAX_TRACKER_CAPACITY),
            decay_half_life_secs: self.decay_half_life_secs.clamp(1, MAX_HALF_LIFE_SECS),
            max_refreshes_without_access: self.max_refreshes_without_access,
            hot_key_limit: self.hot_key_limit.min(self.tracker_capacity.max(1)),
            min_hot_rate,
        }
    }

    /// Refresh interval in milliseconds.
    pub fn refresh_interval_ms(&self) -> u64 {
        self.refresh_interval_secs.saturating_mul(1000)
    }

    /// Refresh threshold in milliseconds.
    pub fn refresh_threshold_ms(&self) -> u64 {
        self.refresh_threshold_secs.saturating_mul(1000)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_defaults_kept() {
        let c = WarmingConfig::default();
        assert_eq!(c.strategy, WarmingStrategy::All);
        assert_eq!(c.refresh_interval_secs, 60);
        assert_eq!(c.refresh_threshold_secs, 300);
        assert_eq!(c.batch_size, 100);
        assert!(c.enable_prediction);
        assert_eq!(c.tracker_capacity, 100_000);
        assert_eq!(c.decay_half_life_secs, 600);
        assert_eq!(c.max_refreshes_without_access, 3);
        assert_eq!(c.sanitized(), c);
    }

    #[test]
    fn seed_strategy_equality_and_gating() {
        use WarmingStrategy as S;
        assert_eq!(S::None, S::None);
        assert_ne!(S::None, S::Preload);
        let pre: Vec<_> = S::ALL.iter().map(|s| s.includes_preload()).collect();
        let refr: Vec<_> = S::ALL.iter().map(|s| s.includes_refresh()).collect();
        let pred: Vec<_> = S::ALL.iter().map(|s| s.includes_predictive()).collect();
        assert_eq!(pre, [false, true, false, false, true]);
        assert_eq!(refr, [false, false, true, false, true]);
        assert_eq!(pred, [false, false, false, true, true]);
    }

    #[test]
    fn next_cycles_through_every_strategy() {
        let mut s = WarmingStrategy::None;
        let mut seen = Vec::new();
        for _ in 0..5 {
            seen.push(s);
            s = s.next();
        }
        assert_eq!(seen, WarmingStrategy::ALL);
        assert_eq!(s, WarmingStrategy::None);
        assert_eq!(
            WarmingStrategy::BackgroundRefresh.to_string(),
            "background-refresh"
        );
    }

    #[test]
    fn fixes_seed_zero_batch_size_and_hostile_config() {
        let c = WarmingConfig {
            batch_size: 0,
            tracker_capacity: 0,
            decay_half_life_secs: 0,
            refresh_interval_secs: 0,
            min_hot_rate: f64::NAN,
            ..WarmingConfig::default()
        }
        .sanitized();
        assert_eq!(c.batch_size, 1);
        assert_eq!(c.tracker_capacity, 1);
        assert_eq!(c.decay_half_life_secs, 1);
        assert_eq!(c.refresh_interval_secs, 1);
        assert_eq!(c.min_hot_rate, 0.0);
        assert!(c.hot_key_limit <= 1);
    }
}
